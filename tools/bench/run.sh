#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs in the guest (see tools/testing/vm/init): loads upin (unless loaded) with
# room for the scaling case, and the bench-only upin_bench_raw and
# upin_bench_dma, then runs upin-bench with the given arguments (--smoke in
# make check, none for make bench). Unloads them afterwards.
cd "$(dirname "$0")" || exit 1
MODULE=${UPIN_MODULE:-/upin/upin.ko}

if ! lsmod | grep -q '^upin '; then
	insmod "$MODULE" max_regions=1048576 || {
		echo "not ok 1 bench: load $MODULE"
		exit 1
	}
fi
insmod ./upin_bench_raw.ko || {
	echo "not ok 1 bench: load upin_bench_raw.ko"
	exit 1
}
insmod ./upin_bench_dma.ko || {
	echo "not ok 1 bench: load upin_bench_dma.ko"
	rmmod upin_bench_raw
	exit 1
}
./upin-bench "$@"
rc=$?
rmmod upin_bench_dma
rmmod upin_bench_raw
exit $rc
