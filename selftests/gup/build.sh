#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the kernel's own GUP selftests from Debian's linux-source-SERIES
# package, statically, for the test VM (tools/testing/vm/init runs run.sh there).
#
#   selftests/gup/build.sh --series SERIES --out DIR
#
# From tools/testing/selftests/mm (tools/testing/selftests/vm before 6.3)
# of that kernel's own source, never copied into this tree, it builds the
# tests that use /sys/kernel/debug/gup_test: gup_test, and cow and
# gup_longterm where the source has them (6.2 and 6.5). They are built as
# the kernel's Makefile builds them, without liburing (its io_uring cases
# are left out; they do not use gup_test) and without libnuma (no test here
# needs it), against the uapi headers of the same source, installed with its
# own scripts/headers_install.sh. DIR gets the binaries, run.sh and a
# SOURCE file naming the package and version. Nothing is rebuilt when DIR
# already holds a build of the same source with the same scripts.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
UPIN_TOOL=gup/build.sh
. "$top/tools/testing/vm/lib.sh"

usage()
{
	upin_usage
}

series= out=
while [ $# -gt 0 ]; do
	case "$1" in
	--series) series=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) upin_die "unknown argument $1 (see --help)" ;;
	esac
done
[ -n "$series" ] && [ -n "$out" ] || { usage >&2; exit 2; }

pkg=linux-source-$series
ver=$(upin_source_version "$series")
ver=${ver#* }
[ -n "$ver" ] || upin_die "apt knows no $pkg"

common=(mm/gup_test.h tools/testing/selftests/kselftest.h
	tools/include/uapi include/uapi arch/x86/include/uapi
	scripts/headers_install.sh scripts/unifdef.c)
# The selftests directory was renamed from vm to mm in 6.3.
for dir in mm vm; do
	if src=$("$top/tools/testing/kernel-source" --series "$series" "${common[@]}" \
			"tools/testing/selftests/$dir" 2>/dev/null); then
		break
	fi
	src=
done
[ -n "$src" ] || upin_die "$pkg $ver has no tools/testing/selftests/mm or vm"
tests=$src/tools/testing/selftests/$dir

stamp="$pkg $ver $(cat "$0" "$here/run.sh" | sha256sum | cut -c1-16)"
if [ -f "$out/SOURCE" ] && [ "$(cat "$out/SOURCE")" = "$stamp" ]; then
	exit 0
fi

# The uapi headers, as "make headers" installs them into usr/include of the
# source tree, where the selftests' Makefile looks for them.
hdr=$src/usr/include
if [ ! -f "$hdr/.installed" ]; then
	upin_log "installing the uapi headers of $pkg $ver"
	rm -rf "$hdr"
	mkdir -p "$hdr/asm" "$src/scripts"
	gcc -O2 -o "$src/scripts/unifdef" "$src/scripts/unifdef.c" ||
		upin_die "cannot build scripts/unifdef"
	(cd "$src" &&
	 find include/uapi arch/x86/include/uapi -name '*.h' | while read -r f; do
		case "$f" in
		arch/*) to=$hdr/${f#arch/x86/include/uapi/} ;;
		*) to=$hdr/${f#include/uapi/} ;;
		esac
		mkdir -p "$(dirname "$to")"
		sh scripts/headers_install.sh "$f" "$to" || exit 1
	 done) || upin_die "scripts/headers_install.sh failed"
	# asm/ headers an architecture takes from asm-generic unchanged.
	sed -n 's/^mandatory-y += //p' "$src/include/uapi/asm-generic/Kbuild" |
	while read -r h; do
		[ -e "$hdr/asm/$h" ] ||
			echo "#include <asm-generic/$h>" >"$hdr/asm/$h"
	done
	# asm/unistd_64.h and its siblings are generated from the syscall
	# tables; the host's (linux-libc-dev) serve these tests.
	touch "$hdr/.installed"
fi

rm -rf "$out"
mkdir -p "$out/include"
# The kernel's check_config.sh writes this when liburing is missing
# (local_config.h_gen since 7.3).
echo '// No liburing support found' >"$out/include/local_config.h"
cp "$out/include/local_config.h" "$out/include/local_config.h_gen"

build()
{
	local t=$1 f extra=()

	if grep -q '^#include "vm_util.h"' "$tests/$t.c"; then
		extra+=(vm_util.c)
		# thp_settings.c became hugepage_settings.c in 7.x.
		for f in thp_settings.c hugepage_settings.c; do
			[ -f "$tests/$f" ] && extra+=("$f")
		done
	fi
	# Relative file names, as in the kernel's build: gup_longterm makes
	# its "local tmpfile" next to __FILE__, in the directory it runs in.
	(cd "$tests" &&
	 gcc -Wall -O2 -I "$src" -I "$src/tools/testing/selftests" \
		-I "$out/include" -isystem "$hdr" \
		-isystem "$src/tools/include/uapi" -U_FORTIFY_SOURCE \
		-D_GNU_SOURCE= -static -o "$out/$t" "$t.c" "${extra[@]}" \
		-lrt -lpthread -lm) || upin_die "building $t from $pkg $ver failed"
}

built=()
for t in gup_test cow gup_longterm; do
	[ -f "$tests/$t.c" ] || continue
	build "$t"
	built+=("$t")
done
rm -rf "$out/include"
install -m 0755 "$here/run.sh" "$out/run.sh"
echo "$stamp" >"$out/SOURCE"
upin_log "built ${built[*]} from $pkg $ver (tools/testing/selftests/$dir)"
