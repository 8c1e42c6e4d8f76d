#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Read what selftests/gup/run.sh printed in a test VM, and compare it, case
# by case, with the same binaries run on a reference kernel that has the
# real gup_test (CONFIG_GUP_TEST).
#
#   selftests/gup/compare.sh results GUEST-LOG
#   selftests/gup/compare.sh compare --upin RESULTS [--reference RESULTS]
#                            [--why TEXT] [--known FILE] [--series S]
#                            [--table FILE]
#
# "results" prints one line per case, tab-separated: program, number,
# outcome (pass, skip, xfail or fail), case and detail. A gup_test command
# line is one case; cow, gup_longterm and run.sh's own checks ("upin ...",
# "reference ...") give one case per TAP result, named by the "[RUN]" line
# announcing it (TAP numbers shift with what a kernel offers, such as its
# huge page sizes; names do not), plus case "end": the program ran every
# case it planned. Program "guest" gives what the guest offered the cases,
# its outcome the value compared.
#
# "compare" prints TAP, one result per case:
#  - with --reference: the case must end the same way through upin as on
#    the reference kernel, and not fail on both; skip and xfail on both are
#    reported as skipped (never as passed); every "guest" line must be the
#    same in both guests;
#  - without it: the case must pass; --why says why there is no reference
#    (the kernel has none, or it is missing) and, if given, skipped and
#    xfail cases are reported as skipped instead of failing.
# run.sh's own checks must pass and are never compared. A case that fails
# these rules but matches a line of the --known file (default
# selftests/gup/known-differences) is reported as skipped, with the reason
# the file gives. The whole table goes to --table; a summary per program,
# the number of cases each reason of the --known file explained, and every
# case that failed go to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

usage()
{
	awk 'NR > 3 && /^#/ { sub(/^# ?/, ""); print; next } NR > 3 { exit }' "$0"
}

results()
{
	awk '
	function flush_prog(   o) {
		if (prog == "")
			return
		if (prog == "guest") {
			prog = ""
			return
		}
		if (prog ~ /^gup_test /) {
			o = "pass"
			if (status == "" || (status != 0 && status != 4) || nfail)
				o = "fail"
			else if (status == 4 || nskip)
				o = "skip"
			print prog "\t-\t" o "\t-\t"
		} else {
			o = (plan != "" && nres == plan && !bail && status != "") ? "pass" : "fail"
			printf "%s\t-\t%s\tend\tran %d of %s planned cases, exit %s%s\n",
				prog, o, nres, plan == "" ? "?" : plan,
				status == "" ? "?" : status, bail ? ", bailed out" : ""
		}
		prog = ""
	}
	{ sub(/\r$/, "") }
	!/^# gup\[/ { next }
	{
		label = substr($0, 7)
		i = index(label, "] ")
		if (!i) {
			if (label !~ /\]$/)
				next
			line = ""
			label = substr(label, 1, length(label) - 1)
		} else {
			line = substr(label, i + 2)
			label = substr(label, 1, i - 1)
		}
		if (label != prog) {
			flush_prog()
			prog = label; plan = ""; nres = 0; nfail = 0; nskip = 0
			bail = 0; status = ""; run = ""
			split("", named)
		}
		if (line ~ /^exit [0-9]+$/) {
			status = substr(line, 6) + 0
			flush_prog()
			next
		}
		if (prog == "guest") {
			# "KEY VALUE": the key is the first word, or the first
			# two for hugetlb and thp; in the value, what is in
			# parentheses is shown but not compared.
			n = split(line, w, " ")
			if (n < 2)
				next
			key = w[1]
			j = 2
			if (key == "hugetlb" || key == "thp")
				key = key " " w[j++]
			v = ""
			for (; j <= n; j++)
				v = v (v == "" ? "" : " ") w[j]
			o = v
			gsub(/ *\([^)]*\)/, "", o)
			gsub(/ /, "_", o)
			print "guest\t-\t" (o == "" ? "-" : o) "\t" key "\t" v
			next
		}
		if (line ~ /^1\.\.[0-9]+/) {
			plan = substr(line, 4) + 0
			next
		}
		if (line ~ /^Bail out!/)
			bail = 1
		if (line ~ /^# \[RUN\] /) {
			run = substr(line, 9)
			next
		}
		if (line !~ /^(not )?ok [0-9]+/)
			next
		nres++
		o = "pass"
		if (line ~ /^not ok/) {
			o = "fail"; nfail++
		} else if (toupper(line) ~ /# *SKIP/) {
			o = "skip"; nskip++
		} else if (toupper(line) ~ /# *XFAIL/) {
			o = "xfail"
		}
		d = line
		sub(/^(not )?ok /, "", d)
		num = d
		sub(/ .*/, "", num)
		sub(/^[0-9]+ ?/, "", d)
		sub(/^# *(SKIP|XFAIL|skip|xfail) */, "", d)
		# The case: the "[RUN]" line before the result, as cow and
		# gup_longterm announce each case, else the description. The
		# numbers shift with what a kernel offers (1 GiB huge pages,
		# mTHP sizes), the names do not.
		name = run != "" ? run : d
		run = ""
		if (++named[name] > 1)
			name = name " (#" named[name] ")"
		if (prog !~ /^gup_test /)
			print prog "\t" num "\t" o "\t" name "\t" d
	}
	END { flush_prog() }' "$1"
}

compare()
{
	local upin= ref= why= known=$here/known-differences series=- table=/dev/null

	while [ $# -gt 0 ]; do
		case "$1" in
		--upin) upin=$2; shift 2 ;;
		--reference) ref=$2; shift 2 ;;
		--why) why=$2; shift 2 ;;
		--known) known=$2; shift 2 ;;
		--series) series=$2; shift 2 ;;
		--table) table=$2; shift 2 ;;
		*) echo "compare.sh: unknown argument $1" >&2; exit 2 ;;
		esac
	done
	[ -n "$upin" ] || { usage >&2; exit 2; }

	[ -r "$upin" ] || { echo "compare.sh: cannot read $upin" >&2; exit 2; }
	awk -F '\t' -v upin="$upin" -v ref="$ref" -v why="$why" \
	    -v known="$known" -v series="$series" -v table="$table" '
	function glob2re(g) {
		gsub(/[][\\.^$+(){}|]/, "\\\\&", g)
		gsub(/\*/, ".*", g)
		gsub(/\?/, ".", g)
		return "^" g "$"
	}
	function explained(prog, k, outcomes,   i) {
		for (i = 1; i <= nknown; i++)
			if (series ~ kseries[i] && prog ~ kprog[i] &&
			    outcomes ~ kout[i] &&
			    (casename(k, "u") ~ kcase[i] ||
			     (k in rd) && casename(k, "r") ~ kcase[i])) {
				kused[i]++
				return kwhy[i]
			}
		return ""
	}
	# casename(K, SIDE): "CASE: DETAIL" of K as side u (upin) or r (the
	# reference) saw it.
	function casename(k, side,   c, d) {
		c = cname[k]
		d = side == "u" ? ud[k] : rd[k]
		if (c == "-")
			return d
		return (d == "" || d == c) ? c : c ": " d
	}
	function add(side, line,   f, k) {
		split(line, f, "\t")
		k = f[1] SUBSEP f[4]
		if (!(k in seen)) {
			seen[k] = 1
			order[++n_order] = k
			pname[k] = f[1]
			cname[k] = f[4]
		}
		if (side == "u") {
			u[k] = f[3]; ud[k] = f[5]; unum[k] = f[2]
		} else {
			r[k] = f[3]; rd[k] = f[5]; rnum[k] = f[2]
		}
	}
	function row(s) {
		print s > table
	}
	BEGIN {
		# known-differences: SERIES, PROGRAM, UPIN/REFERENCE outcomes,
		# CASE (globs) and REASON, separated by tabs.
		while (known != "" && (getline l < known) > 0) {
			if (l ~ /^[ \t]*(#|$)/)
				continue
			n = split(l, f, /\t+/)
			if (n < 5) {
				print "compare.sh: " known ": not 5 fields: " l > "/dev/stderr"
				continue
			}
			nknown++
			kseries[nknown] = glob2re(f[1])
			kprog[nknown] = glob2re(f[2])
			kout[nknown] = glob2re(f[3])
			kcase[nknown] = glob2re(f[4])
			kwhy[nknown] = f[5]
			kline[nknown] = l
		}
		# Cases in the order upin ran them, then those only the
		# reference ran. Its run.sh checks are its own, not cases.
		while ((getline l < upin) > 0)
			add("u", l)
		if (ref != "")
			while ((getline l < ref) > 0)
				if (l !~ /^(upin|reference)/)
					add("r", l)
		row(sprintf("%-6s %-6s %-8s %s", "upin", "ref", "verdict", "case"))
		for (i = 1; i <= n_order; i++) {
			k = order[i]
			prog = pname[k]
			guest = prog == "guest"
			own = prog ~ /^(upin|reference)/
			uo = (k in u) ? u[k] : "none"
			ro = (ref == "" || own) ? "-" : ((k in r) ? r[k] : "none")
			num = (k in unum) ? unum[k] : rnum[k]
			name = prog (num == "-" ? "" : " " num) ": " casename(k, (k in u) ? "u" : "r")
			if (cname[k] == "-")
				name = prog
			if ((k in rd) && (k in ud) && rd[k] != ud[k] && !guest)
				name = name " [reference: " rd[k] "]"
			if (guest) {
				# The guests the two sides ran in: what the cases
				# find there must be the same; what is only shown
				# ("-") is no test.
				name = prog " " cname[k] ": " ((k in u) ? ud[k] : "none")
				if (ref != "")
					name = name " [reference: " ((k in r) ? rd[k] : "none") "]"
				if (ref == "" || (uo == "-" && ro == "-")) {
					row(sprintf("%-6s %-6s %-8s %s", "-", "-", "info", name))
					continue
				}
				v = uo == ro ? "same" : "DIFFERS"
			} else if (own || ref == "") {
				if (uo == "pass")
					v = "pass"
				else if (!own && why != "" && (uo == "skip" || uo == "xfail"))
					v = uo
				else
					v = "FAIL"
			} else if (uo != ro) {
				v = "DIFFERS"
			} else if (uo == "fail") {
				v = "FAIL"
			} else {
				v = (uo == "pass") ? "same" : uo
			}
			reason = ""
			if (v == "DIFFERS" || v == "FAIL") {
				reason = explained(prog, k, uo "/" ro)
				if (reason != "")
					v = "known"
			}
			if (guest)
				uo = ro = "-"
			row(sprintf("%-6s %-6s %-8s %s", uo, ro, v, name))
			if (guest)
				tap = "gup/guest " cname[k] (v == "same" ? " is the same in both guests (" ud[k] ")" : ": " ((k in u) ? ud[k] : "none") ", reference guest: " ((k in r) ? rd[k] : "none"))
			else
				tap = "gup/" name (ro == "-" ? " (" uo ")" : " (upin " uo ", reference " ro ")")
			nt++
			if (v == "pass" || v == "same")
				print "ok " nt " " tap
			else if (v == "skip" || v == "xfail")
				print "ok " nt " " tap " # SKIP " (v == "xfail" ? "expected failure (XFAIL) on both" : "skipped")
			else if (v == "known")
				print "ok " nt " " tap " # SKIP listed in selftests/gup/known-differences: " reason
			else
				print "not ok " nt " " tap
			b = prog
			sub(/ .*/, "", b)
			if (!(b in bseen)) {
				bseen[b] = 1
				border[++nb] = b
			}
			cnt[b]++
			cu[b, uo]++
			cr[b, ro]++
			cv[b, v]++
			if (v == "FAIL" || v == "DIFFERS")
				bad[++nbad] = sprintf("  %-6s %-6s %-8s %s%s", uo, ro, v, name,
					reason != "" ? " [" reason "]" : "")
		}
		if (ref == "" && why != "") {
			nt++
			print "ok " nt " gup: comparison with the real gup_test # SKIP " why
		}
		printf "  %-13s %5s | %-25s | %-30s | %4s %6s %6s\n", "program", "cases",
			"upin pass skip xfail fail", ref == "" ? "reference: none" : "reference pass skip xfail fail",
			"ok", "listed", "failed" > "/dev/stderr"
		for (i = 1; i <= nb; i++) {
			b = border[i]
			if (b == "guest") {
				printf "  %-13s %5d | %-56s | %4d %6d %6d\n", "guest", cnt[b],
					"what the cases find in the guest, on both sides",
					cv[b, "same"], cv[b, "known"], cv[b, "DIFFERS"] > "/dev/stderr"
				continue
			}
			printf "  %-13s %5d | %9d %4d %5d %4d | ", b, cnt[b],
				cu[b, "pass"], cu[b, "skip"], cu[b, "xfail"],
				cu[b, "fail"] + cu[b, "none"] > "/dev/stderr"
			if (ref == "")
				printf "%-30s | ", "-" > "/dev/stderr"
			else
				printf "%14d %4d %5d %4d | ", cr[b, "pass"], cr[b, "skip"],
					cr[b, "xfail"], cr[b, "fail"] + cr[b, "none"] > "/dev/stderr"
			printf "%4d %6d %6d\n", cv[b, "same"] + cv[b, "pass"] + cv[b, "skip"] + cv[b, "xfail"],
				cv[b, "known"], cv[b, "FAIL"] + cv[b, "DIFFERS"] > "/dev/stderr"
		}
		for (i = 1; i <= nknown; i++)
			if (kused[i])
				printf "  listed %4d: %s\n", kused[i], kwhy[i] > "/dev/stderr"
		for (i = 1; i <= nbad; i++)
			print bad[i] > "/dev/stderr"
		for (i = 1; i <= nknown; i++)
			if (!kused[i])
				row("(known-differences entry not needed here: " kline[i] ")")
		print "1.." nt
	}'
}

case "${1:-}" in
results) [ $# -eq 2 ] || { usage >&2; exit 2; }; results "$2" ;;
compare) shift; compare "$@" ;;
-h|--help) usage ;;
*) usage >&2; exit 2 ;;
esac
