#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs in the test VM (tools/testing/vm/init): the kernel's own GUP selftests, built
# by build.sh from the kernel's own source, against
# /sys/kernel/debug/gup_test.
#
# When the kernel has no such file (no CONFIG_GUP_TEST), the file is upin's:
# run.sh checks that upin adds none without its gup_test parameter, reloads
# upin with gup_test=1, runs the tests, and checks that unloading upin
# removes the file. When the kernel has its own (a reference kernel, such
# as the debug kernel of tools/testing/debug-kernel), run.sh checks that upin loaded
# with gup_test=1 leaves it alone, unloads upin and runs the same tests
# against the real gup_test.
#
# Output, read by the host (selftests/gup/compare.sh): each line a program
# prints, as "# gup[LABEL] LINE", then "# gup[LABEL] exit STATUS". LABEL is
# the command line; run.sh's own checks are the TAP of program "upin", or
# "reference" on a reference kernel. gup_test runs with sizes that are quick
# under TCG, over the matrix of the kernel's run_vmtests.sh. Program
# "guest" lists what the cases depend on in this guest (huge page sizes and
# reservations, swap, THP settings), which must be the same where the
# reference ran; "# upin: gup/... took N s" lines give the run times.
# With UPIN_GUP=checks (upin_gup=checks on the kernel command line), only
# run.sh's own checks run.
cd "$(dirname "$0")" || exit 1
DIR=$(pwd)
MODULE=${UPIN_MODULE:-/upin/upin.ko}
FILE=/sys/kernel/debug/gup_test

lsmod | grep -q '^upin ' && rmmod upin
reference=0
[ -e "$FILE" ] && reference=1

# run LABEL COMMAND...: run COMMAND, its output and status tagged LABEL.
run()
{
	label=$1
	shift
	{
		"$@" 2>&1 </dev/null
		echo "exit $?"
	} | awk -v tag="# gup[$label] " '{ print tag $0; fflush() }'
}

# The checks of run.sh itself, as TAP.
checks=0
check()
{
	checks=$((checks + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $checks $2"
	else
		echo "not ok $checks $2"
	fi
}

upin_checks()
{
	if [ "$reference" -eq 1 ]; then
		echo "1..2"
		said='the kernel has its own /sys/kernel/debug/gup_test'
		n=$(dmesg | grep -c "$said")
		insmod "$MODULE" gup_test=1
		[ "$(dmesg | grep -c "$said")" -gt "$n" ]
		check $? "gup_test=1 says it leaves the kernel's $FILE alone"
		rmmod upin
		test -e "$FILE"
		check $? "$FILE is still there after rmmod upin"
		return
	fi
	echo "1..2"
	insmod "$MODULE" && test ! -e "$FILE"
	check $? "upin without gup_test=1 adds no $FILE"
	rmmod upin && insmod "$MODULE" gup_test=1 && test -e "$FILE"
	check $? "upin with gup_test=1 adds $FILE"
	# Unloading is checked at the end ("upin unload").
}

# What decides how the cases end, besides the kernel: "KEY VALUE" lines,
# compare.sh shows what is in parentheses and compares the rest.
guest()
{
	echo "cpus $(grep -c '^processor' /proc/cpuinfo)"
	echo "memory ($(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo) MiB)"
	for d in /sys/kernel/mm/hugepages/hugepages-*; do
		[ -d "$d" ] || continue
		echo "hugetlb ${d##*-} $(cat "$d/nr_hugepages") pages" \
			"($(cat "$d/free_hugepages") free)"
	done
	awk 'NR > 1 { kb += $3 } END {
		print kb ? "swap on (" kb " kB)" : "swap off" }' /proc/swaps
	thp=/sys/kernel/mm/transparent_hugepage
	for f in enabled defrag shmem_enabled use_zero_page "$thp"/hugepages-*; do
		case "$f" in
		/*) [ -r "$f/enabled" ] && echo "thp ${f##*-} $(cat "$f/enabled")" ;;
		*) [ -r "$thp/$f" ] && echo "thp $f $(cat "$thp/$f")" ;;
		esac
	done
}

# took NAME START: how long NAME ran since START (date +%s).
took()
{
	echo "# upin: gup/$1 took $(($(date +%s) - $2)) s"
}

begin=$(date +%s)
echo "# upin: running gup/run.sh's checks"
if [ "$reference" -eq 1 ]; then
	run reference upin_checks
else
	run upin upin_checks
fi
programs=1
[ "${UPIN_GUP:-}" = checks ] && programs=0
[ "$programs" -eq 0 ] || run guest guest

if [ "$programs" -eq 1 ] && [ -x ./gup_test ]; then
	t=$(date +%s)
	echo "# upin: running gup/gup_test: 184 command lines"
	# run_vmtests.sh: the benchmarks, and the dump of pages 0, 19 and
	# 0x1000 (so at least 17 MB).
	run "gup_test -u -m 32" ./gup_test -u -m 32
	run "gup_test -a -m 32" ./gup_test -a -m 32
	run "gup_test -m 32 -ct -F 0x1 0 19 0x1000" \
		./gup_test -m 32 -ct -F 0x1 0 19 0x1000
	run "gup_test -m 32 -ct -p -F 0x1 0 19 0x1000" \
		./gup_test -m 32 -ct -p -F 0x1 0 19 0x1000
	# run_gup_matrix: -t THP, -T no THP, -H hugetlb; -u GUP-fast, -U GUP,
	# -a PIN-fast, -b PIN, -L PIN longterm; -w/-W write or not; -S
	# shared; -n pages per call (512: one THP; 123: calls across one).
	for huge in -t -T -H; do
		for cmd in -u -U -a -b -L; do
			for write in -w -W; do
				for share in "" -S; do
					for num in 1 512 123; do
						set -- $huge $cmd $write $share -n $num -m 4
						run "gup_test $*" ./gup_test "$@"
					done
				done
			done
		done
	done
	took gup_test "$t"
fi

if [ "$programs" -eq 1 ] && [ -x ./cow ]; then
	t=$(date +%s)
	echo "# upin: running gup/cow"
	run cow ./cow
	took cow "$t"
fi

if [ "$programs" -eq 1 ] && [ -x ./gup_longterm ]; then
	# Its "local tmpfile" is made in the working directory: on ext4, a
	# file system that refuses writable longterm pins.
	cd "${UPIN_EXT4_DIR:-/tmp}" 2>/dev/null || cd /tmp
	t=$(date +%s)
	echo "# upin: running gup/gup_longterm"
	run gup_longterm "$DIR/gup_longterm"
	took gup_longterm "$t"
	cd "$DIR" || exit 1
fi

if [ "$reference" -eq 0 ]; then
	run "upin unload" sh -c "echo 1..1; rmmod upin && test ! -e $FILE &&
		echo 'ok 1 rmmod upin removes $FILE' ||
		echo 'not ok 1 rmmod upin removes $FILE'"
fi
took run.sh "$begin"
exit 0
