#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The install test, guest half. selftests/upin/Makefile ran `make install`
# into a staging root and built examples/libupin/example.c against it with
# nothing but `pkg-config --static --cflags --libs upin`, statically; here
# that program runs against the module: it pins a buffer, lets the kernel
# write into it through the pin, reads it back and unpins.
cd "$(dirname "$0")" || exit 1

echo "TAP version 13"
echo "1..1"
out=$(./upin-example 2>&1)
rc=$?
want='pinned 65536 bytes: handle 1, 16 pages
the device wrote; the buffer reads "written by the device"
unpinned'
if [ "$rc" -eq 0 ] && [ "$out" = "$want" ]; then
	echo "ok 1 install: upin-example, built with pkg-config against make install DESTDIR=, pins, writes through the pin and unpins"
	exit 0
fi
echo "not ok 1 install: upin-example, built with pkg-config against make install DESTDIR= (exit $rc)"
printf '%s\n' "$out" | sed 's/^/# /'
exit 1
