#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs every *_test binary and every *_test.sh script in this directory, in
# name order, with upin loaded: in the guests of tools/testing/run-tests
# (tools/testing/vm/init), or on any machine by `make -C selftests/upin
# run_tests`. Each prints TAP; the VM runner counts the "ok"/"not ok" lines.
# Exit status: 0 when every program exited 0 (kselftest: 0 = pass, 4 = skip
# only).
#
# UPIN_MODULE is the module to load when upin is not loaded, and to reload
# with other parameters (upin_params_test.sh): by default /upin/upin.ko (the
# guests'), else the installed one (modinfo -n upin).
# UPIN_TESTS="a_test b_test" runs only those; UPIN_EXCLUDE leaves those out.
cd "$(dirname "$0")" || exit 1
if [ -z "${UPIN_MODULE:-}" ]; then
	UPIN_MODULE=/upin/upin.ko
	[ -e "$UPIN_MODULE" ] ||
		UPIN_MODULE=$(modinfo -n upin 2>/dev/null || echo /upin/upin.ko)
fi
export UPIN_MODULE
MODULE=$UPIN_MODULE
rc=0

if ! lsmod | grep -q '^upin '; then
	if ! insmod "$MODULE"; then
		echo "not ok 1 load $MODULE (upin is not loaded: set UPIN_MODULE)"
		exit 1
	fi
fi

for t in ./*_test ./*_test.sh; do
	[ -x "$t" ] || continue
	name=${t#./}
	if [ -n "${UPIN_TESTS:-}" ]; then
		case " $UPIN_TESTS " in *" $name "*) ;; *) continue ;; esac
	fi
	case " ${UPIN_EXCLUDE:-} " in *" $name "*) continue ;; esac
	echo "# upin: running ${t#./}"
	t0=$(date +%s)
	"$t"
	s=$?
	if [ "$s" -ne 0 ] && [ "$s" -ne 4 ]; then
		echo "# upin: ${t#./} exited $s"
		rc=1
	fi
	echo "# upin: ${t#./} took $(($(date +%s) - t0)) s"
done
exit $rc
