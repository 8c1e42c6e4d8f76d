#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs in the guest (see tools/testing/vm/init): loads upin (unless loaded) with
# room for the scaling case, and the bench-only upin_bench_raw and
# upin_bench_dma, then runs upin-bench with the given arguments (--smoke in
# make check, none for make bench). Unloads them afterwards.
#
# With --profile SPEC... (tools/testing/run-tests --profile), runs
# upin-bench --loop SPEC under perf (software cpu-clock sampling, which
# works under TCG, with kernel call chains) for each SPEC, and prints its
# profile as "# prof[SPEC] " lines (perf report) and its stacks as
# "# fold[SPEC] STACK COUNT" lines (folded, for a flame graph).
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
# profile SPEC: one --loop under perf.
profile()
{
	perf=/upin/perf/usr/bin/perf
	data=/tmp/perf.data
	echo -1 >/proc/sys/kernel/perf_event_paranoid
	echo 0 >/proc/sys/kernel/kptr_restrict
	"$perf" record -q -e cpu-clock -F 2000 -a -g -o "$data" -- \
		./upin-bench --loop "$1" --seconds "${UPIN_PROFILE_SECONDS:-10}" ||
		return 1
	"$perf" report -i "$data" --stdio --no-children --sort symbol \
		--percent-limit 0.5 -g none 2>/dev/null |
		grep -v '^$' | sed "s/^/# prof[$1] /"
	"$perf" script -i "$data" -F comm,ip,sym 2>/dev/null | awk -v spec="$1" '
		function flush(  i, s) {
			if (n == 0)
				return
			s = comm
			for (i = n; i > 0; i--)
				s = s ";" f[i]
			count[s]++
			n = 0
		}
		/^[^ \t]/ { flush(); comm = $1; next }
		/^[ \t]+[0-9a-f]+ / { sym = $2; sub(/\+0x[0-9a-f]+$/, "", sym)
			f[++n] = sym; next }
		/^$/ { flush() }
		END { flush(); for (s in count) print "# fold[" spec "] " s, count[s] }'
}

if [ "${1:-}" = --profile ]; then
	shift
	rc=0
	for spec in "$@"; do
		profile "$spec" || rc=1
	done
else
	./upin-bench "$@"
	rc=$?
fi
rmmod upin_bench_dma
rmmod upin_bench_raw
exit $rc
