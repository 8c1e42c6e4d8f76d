#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# upin module parameters and unloading, in the guest (busybox sh, root).
#
#   upin_params_test.sh [-h|--help]
#
# Reloads upin with max_regions=4 max_pages=64 mode=0660 and runs
# upin_limits_test (next to this script) against those limits; checks the
# node's mode, that rmmod is refused while /dev/upin is open and works once
# it is closed, and that no FOLL_PIN reference is left after rmmod. Ends with
# the module loaded with its default parameters, as run.sh left it. Prints
# TAP; exits 0 when every check passed, 1 otherwise.
#
# UPIN_MODULE: the module to load (default /upin/upin.ko).

case "${1:-}" in
-h|--help)
	sed -n '3,15p' "$0" | sed 's/^# \{0,1\}//'
	exit 0 ;;
esac

set -u
cd "$(dirname "$0")" || exit 1
MODULE=${UPIN_MODULE:-/upin/upin.ko}
PARAMS=/sys/module/upin/parameters
NTESTS=18
n=0
failed=0

echo "TAP version 13"
echo "1..$NTESTS"

ok()
{
	n=$((n + 1))
	echo "ok $n $*"
}

not_ok()
{
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n $*"
}

# check NAME CMD...: one TAP line for CMD's status.
check()
{
	name=$1
	shift
	if "$@"; then
		ok "$name"
	else
		not_ok "$name"
	fi
}

diag()
{
	echo "$*" | sed 's/^/# /'
}

loaded()
{
	[ -d /sys/module/upin ]
}

# pins_balanced: nr_foll_pin_acquired == nr_foll_pin_released.
pins_balanced()
{
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	acq=$(grep '^nr_foll_pin_acquired ' /proc/vmstat | cut -d' ' -f2)
	rel=$(grep '^nr_foll_pin_released ' /proc/vmstat | cut -d' ' -f2)
	if [ -z "$acq" ] || [ "$acq" != "$rel" ]; then
		diag "nr_foll_pin_acquired=$acq nr_foll_pin_released=$rel"
		return 1
	fi
}

unload()
{
	out=$(rmmod upin 2>&1)
	rc=$?
	[ -z "$out" ] || diag "rmmod: $out"
	[ $rc -eq 0 ] && ! loaded
}

# shellcheck disable=SC2120 # called with arguments through check()
load()
{
	out=$(insmod "$MODULE" "$@" 2>&1)
	rc=$?
	[ -z "$out" ] || diag "insmod: $out"
	[ $rc -eq 0 ] && loaded && [ -c /dev/upin ]
}

# load_refused NAME VALUE: insmod NAME=VALUE fails, nothing stays loaded,
# and the kernel log says which parameter was wrong.
load_refused()
{
	out=$(insmod "$MODULE" "$1=$2" 2>&1)
	rc=$?
	[ -z "$out" ] || diag "insmod: $out"
	if [ $rc -eq 0 ]; then
		rmmod upin
		return 1
	fi
	! loaded && dmesg | tail -n 5 | grep -q "upin: $1=" && return 0
	diag "no 'upin: $1=' line in the kernel log"
	return 1
}

# node_mode OCTAL: /dev/upin is a character device with these permissions.
node_mode()
{
	m=$(stat -c %a /dev/upin 2>/dev/null)
	[ "$m" = "$1" ] && [ -c /dev/upin ] && return 0
	diag "/dev/upin mode: ${m:-missing} (want $1)"
	return 1
}

# param NAME VALUE: /sys/module/upin/parameters/NAME reads VALUE.
param()
{
	v=$(cat "$PARAMS/$1" 2>/dev/null)
	[ "$v" = "$2" ] && return 0
	diag "$PARAMS/$1: ${v:-unreadable} (want $2)"
	return 1
}

# limits ARGS...: run upin_limits_test, its TAP nested as diagnostics.
limits()
{
	if [ ! -x ./upin_limits_test ]; then
		diag "upin_limits_test not found next to $0"
		return 1
	fi
	out=$(./upin_limits_test "$@" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/# /'
	[ $rc -eq 0 ]
}

# rmmod_refused: with /dev/upin open, rmmod fails and the module stays.
rmmod_refused()
{
	refcnt=$(cat /sys/module/upin/refcnt 2>/dev/null)
	diag "refcnt with /dev/upin open: ${refcnt:-?}"
	out=$(rmmod upin 2>&1)
	rc=$?
	diag "rmmod: ${out:-(no message)}"
	[ $rc -ne 0 ] && loaded && [ -c /dev/upin ] &&
		[ "${refcnt:-0}" -ge 1 ]
}

if ! loaded; then
	load || diag "cannot load $MODULE"
fi

# 1-2: unload what run.sh loaded; nothing stays pinned.
check "rmmod upin with no file open" unload
check "no FOLL_PIN reference left after rmmod" pins_balanced

# 3-7: small limits and a group-accessible node.
check "insmod max_regions=4 max_pages=64 mode=0660" \
	load max_regions=4 max_pages=64 mode=0660
check "/dev/upin has mode 0660" node_mode 660
check "parameters read back as loaded" \
	eval 'param max_regions 4 && param max_pages 64 && param mode 432'
if UPIN_TEST_EXPECT_MAX_REGIONS=4 UPIN_TEST_EXPECT_MAX_PAGES=64 \
   UPIN_TEST_EXPECT_MODE=0660 limits; then
	ok "upin_limits_test with max_regions=4 max_pages=64"
else
	not_ok "upin_limits_test with max_regions=4 max_pages=64"
fi
check "no FOLL_PIN reference left after upin_limits_test" pins_balanced

# 8-11: rmmod is refused while a file is open and works after close.
if [ -c /dev/upin ] && (exec 3</dev/upin) 2>/dev/null; then
	exec 3</dev/upin
	check "rmmod refused while /dev/upin is open" rmmod_refused
	exec 3<&-
else
	not_ok "rmmod refused while /dev/upin is open (cannot open /dev/upin)"
fi
check "rmmod works once /dev/upin is closed" unload
check "/dev/upin gone after rmmod" eval '[ ! -e /dev/upin ]'
check "no FOLL_PIN reference left after rmmod" pins_balanced

# 12-14: parameters out of range are refused at load, with a reason.
check "insmod max_regions=2147483648 (above INT_MAX) refused" \
	load_refused max_regions 2147483648
check "insmod max_regions=4294967295 refused" \
	load_refused max_regions 4294967295
check "insmod mode=01777 refused" load_refused mode 01777

# 15-18: the defaults again, as later programs expect them.
check "insmod with default parameters" load
check "/dev/upin has mode 0600 by default" node_mode 600
check "default parameters read back" \
	eval 'param max_regions 65536 && param max_pages 0 && param mode 384'
if UPIN_TEST_EXPECT_MAX_REGIONS=65536 UPIN_TEST_EXPECT_MAX_PAGES=0 \
   UPIN_TEST_EXPECT_MODE=0600 limits -t info_matches_parameters; then
	ok "GET_INFO reports the default limits"
else
	not_ok "GET_INFO reports the default limits"
fi

# Whatever failed above, leave upin loaded with its defaults.
if ! loaded || ! param max_regions 65536 >/dev/null ||
   ! param max_pages 0 >/dev/null || ! param mode 384 >/dev/null; then
	diag "restoring upin with default parameters"
	rmmod upin 2>/dev/null
	insmod "$MODULE" || diag "cannot reload $MODULE"
fi

if [ $n -ne $NTESTS ]; then
	diag "planned $NTESTS checks, ran $n"
	failed=$((failed + 1))
fi
[ $failed -eq 0 ]
