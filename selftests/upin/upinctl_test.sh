#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# upinctl golden-output tests, run in the guest by run.sh with the static
# upinctl next to this script: info, pin of each memory type, stat, usage
# errors and the errors of the kernel, each compared line by line with the
# output a user sees (stdout, then stderr) and the exit status.
#
# What varies from run to run is masked before the comparison: addresses
# (ADDR), segment counts (N) and process ids (PID). Needs root, the module
# loaded with its default parameters, /mnt/ext4 (UPIN_EXT4_DIR) and free
# huge pages, as tools/testing/vm/init sets up.
cd "$(dirname "$0")" || exit 1
UPINCTL=$PWD/upinctl
EXT4=${UPIN_EXT4_DIR:-/mnt/ext4}
T=$(mktemp -d) || exit 1
n=0
failed=0

echo "TAP version 13"

mask()
{
	sed -e 's/0x[0-9a-f]\{6,\}/ADDR/g' -e 's/^segments  [0-9]*$/segments  N/' \
	    -e 's/^metadata  [1-9][0-9]* bytes$/metadata  N bytes/'
}

# result OK NAME: one TAP line; a failure shows the difference.
result()
{
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n upinctl: $2"
	else
		echo "not ok $n upinctl: $2"
		failed=$((failed + 1))
		sed 's/^/# /' "$T/why"
	fi
}

# compare NAME WANT-STATUS STATUS: $T/got against $T/want.
compare()
{
	: >"$T/why"
	[ "$3" -eq "$2" ] || echo "exit status $3, expected $2" >"$T/why"
	diff -u "$T/want" "$T/got" >>"$T/why"
	[ -s "$T/why" ]
	result $((1 - $?)) "$1"
}

# check NAME WANT-STATUS CMD...: run CMD, mask its stdout and stderr and
# compare them with the expected lines on stdin.
check()
{
	name=$1 want_rc=$2
	shift 2
	cat >"$T/want"
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	cat "$T/out" "$T/err" | mask >"$T/got"
	compare "$name" "$want_rc" "$rc"
}

# check_help NAME CMD...: exit 0, and the usage line expected on stdin first.
check_help()
{
	name=$1
	shift
	cat >"$T/want"
	"$@" >"$T/out" 2>&1
	rc=$?
	head -n 1 "$T/out" >"$T/got"
	compare "$name" 0 "$rc"
}

# --- help and usage errors (exit 2) ---------------------------------------

check_help "--help" "$UPINCTL" --help <<'EOF'
Usage: upinctl [--device PATH] COMMAND [OPTIONS]
EOF
check_help "info --help" "$UPINCTL" info --help <<'EOF'
Usage: upinctl info
EOF
check_help "pin --help" "$UPINCTL" pin --help <<'EOF'
Usage: upinctl pin --size SIZE [MEMORY] [--write] [--short] [--hold SECONDS]
EOF
check_help "stat --help" "$UPINCTL" stat -h <<'EOF'
Usage: upinctl stat [--file PATH]
EOF

check "no command" 2 "$UPINCTL" <<'EOF'
upinctl: no command (see upinctl --help)
EOF
check "unknown command" 2 "$UPINCTL" frob <<'EOF'
upinctl: unknown command 'frob' (see upinctl --help)
EOF
check "pin without --size" 2 "$UPINCTL" pin --write <<'EOF'
upinctl: pin: --size is required (see upinctl pin --help)
EOF
check "pin --size 12Q" 2 "$UPINCTL" pin --size 12Q <<'EOF'
upinctl: pin: --size 12Q: not a size such as 4096, 64K, 64M or 1G (see upinctl pin --help)
EOF
check "pin with two memory types" 2 "$UPINCTL" pin --size 1M --anon --thp <<'EOF'
upinctl: pin: give one of --anon, --thp, --hugetlb, --memfd, --file (see upinctl pin --help)
EOF
check "pin --hold without a value" 2 "$UPINCTL" pin --size 1M --hold <<'EOF'
upinctl: pin: option --hold needs a value (see upinctl pin --help)
EOF
check "pin --short --longterm" 2 "$UPINCTL" pin --size 1M --short --longterm <<'EOF'
upinctl: pin: give one of --longterm, --short (see upinctl pin --help)
EOF
check "pin -l --short" 2 "$UPINCTL" pin --size 1M -l --short <<'EOF'
upinctl: pin: give one of --longterm, --short (see upinctl pin --help)
EOF
check "info with an unknown option" 2 "$UPINCTL" info --all <<'EOF'
upinctl: info: unknown option --all (see upinctl info --help)
EOF

# --- info ------------------------------------------------------------------

check "info" 0 "$UPINCTL" info <<'EOF'
device               /dev/upin
abi_version          2
page_size            4096
features             0xf (pin_write pin_longterm access_write segments)
max_regions          65536 per context
global_pinned_pages  0
global_max_pages     0 (no cap)
EOF
check "info, a device that is missing" 1 "$UPINCTL" --device /nonexistent info <<'EOF'
upinctl: open /nonexistent: No such file or directory (is the upin module loaded?)
EOF
check "info, UPIN_DEVICE not a upin device" 1 \
	env UPIN_DEVICE=/dev/null "$UPINCTL" info <<'EOF'
upinctl: open /dev/null: Inappropriate ioctl for device (not a upin device)
EOF

# --- pin -------------------------------------------------------------------

# Longterm by default; root sees the segments.
check "pin --size 1M --write" 0 "$UPINCTL" pin --size 1M --write <<'EOF'
range     ADDR+1M
memory    anonymous
flags     write,longterm
handle    1
pages     256
segments  N
metadata  N bytes
VmPin     1024 kB
unpinned  VmPin 0 kB
EOF
# The short-term diagnostic, for root.
check "pin --size 64K --write --short" 0 \
	"$UPINCTL" pin --size 64K --write --short <<'EOF'
range     ADDR+64K
memory    anonymous
flags     write,short-term
handle    1
pages     16
segments  N
metadata  N bytes
VmPin     64 kB
unpinned  VmPin 0 kB
EOF
check "pin --memfd --size 64K --short" 0 \
	"$UPINCTL" pin --memfd --size 64K --short <<'EOF'
range     ADDR+64K
memory    memfd
flags     read,short-term
handle    1
pages     16
segments  N
metadata  N bytes
VmPin     64 kB
unpinned  VmPin 0 kB
EOF
check "pin --thp --size 4M --write --longterm" 0 \
	"$UPINCTL" pin --thp --size 4M --write --longterm <<'EOF'
range     ADDR+4M
memory    anonymous THP
flags     write,longterm
handle    1
pages     1024
segments  N
metadata  N bytes
VmPin     4096 kB
unpinned  VmPin 0 kB
EOF
check "pin --hugetlb --size 2M --longterm" 0 \
	"$UPINCTL" pin --hugetlb --size 2M --longterm <<'EOF'
range     ADDR+2M
memory    hugetlb
flags     read,longterm
handle    1
pages     512
segments  N
metadata  N bytes
VmPin     2048 kB
unpinned  VmPin 0 kB
EOF
check "pin --memfd --size 64K -w -l" 0 \
	"$UPINCTL" pin --memfd --size 64K -w -l <<'EOF'
range     ADDR+64K
memory    memfd
flags     write,longterm
handle    1
pages     16
segments  N
metadata  N bytes
VmPin     64 kB
unpinned  VmPin 0 kB
EOF
# 1G: more than the guest's 64 huge pages, and within a 32-bit size_t.
check "pin --hugetlb, more than the free huge pages" 1 \
	"$UPINCTL" pin --hugetlb --size 1G <<'EOF'
upinctl: pin: mmap of 1G of hugetlb memory: Cannot allocate memory (not enough free huge pages? see vm.nr_hugepages)
EOF

if [ -d "$EXT4" ] && dd if=/dev/zero of="$EXT4/upinctl.data" bs=64k count=16 2>/dev/null; then
	f=$EXT4/upinctl.data
	check "pin --file on ext4 --longterm (read-only)" 0 \
		"$UPINCTL" pin --file "$f" --longterm <<EOF
range     ADDR+1M
memory    file $f
flags     read,longterm
handle    1
pages     256
segments  N
metadata  N bytes
VmPin     1024 kB
unpinned  VmPin 0 kB
EOF
	check "pin --file on ext4 --short (read-only)" 0 \
		"$UPINCTL" pin --file "$f" --size 64K --short <<EOF
range     ADDR+64K
memory    file $f
flags     read,short-term
handle    1
pages     16
segments  N
metadata  N bytes
VmPin     64 kB
unpinned  VmPin 0 kB
EOF
	# The file rule: every write pin, longterm or short-term.
	check "pin --file on ext4 --write --longterm: EOPNOTSUPP" 1 \
		"$UPINCTL" pin --file "$f" --size 64K --write --longterm <<'EOF'
upinctl: pin ADDR+64K: Operation not supported (write pin of a shared ext4 mapping: the file system tracks dirty pages)
EOF
	check "pin --file on ext4 --write: EOPNOTSUPP" 1 \
		"$UPINCTL" pin --file "$f" --write <<'EOF'
upinctl: pin ADDR+1M: Operation not supported (write pin of a shared ext4 mapping: the file system tracks dirty pages)
EOF
	check "pin --file on ext4 --write --short: EOPNOTSUPP" 1 \
		"$UPINCTL" pin --file "$f" --size 64K --write --short <<'EOF'
upinctl: pin ADDR+64K: Operation not supported (write pin of a shared ext4 mapping: the file system tracks dirty pages)
EOF
	check "pin --file shorter than --size" 1 \
		"$UPINCTL" pin --file "$f" --size 2M <<EOF
upinctl: pin: $f is 1048576 bytes, shorter than --size
EOF
	rm -f "$f"
else
	n=$((n + 1))
	echo "ok $n upinctl: pin --file on ext4 # SKIP no ext4 at $EXT4"
fi

# As nobody: the node is root's (EACCES); through a node of its own, a pin
# past RLIMIT_MEMLOCK (ENOMEM), a longterm pin within it that works but
# shows no segments, and a short-term pin (EPERM: CAP_SYS_ADMIN only).
dev=$(cat /sys/class/misc/upin/dev 2>/dev/null)
if [ -n "$dev" ] && mknod "$T/upin" c "${dev%:*}" "${dev#*:}" &&
   chmod 0666 "$T/upin" && chmod 0755 "$T"; then
	check "info as nobody: EACCES" 1 \
		su -s /bin/sh nobody -c "$UPINCTL info" <<'EOF'
upinctl: open /dev/upin: Permission denied (the upin device node is root's by default: see the mode= module parameter and the udev rule example)
EOF
	check "pin as nobody past RLIMIT_MEMLOCK: ENOMEM" 1 \
		su -s /bin/sh nobody -c \
		"ulimit -l 512 && $UPINCTL --device $T/upin pin --size 1M" <<'EOF'
upinctl: pin ADDR+1M: Cannot allocate memory (the pin would take the process's pinned memory past RLIMIT_MEMLOCK: raise ulimit -l, or pin with CAP_IPC_LOCK)
EOF
	check "pin as nobody: longterm, segments withheld" 0 \
		su -s /bin/sh nobody -c \
		"ulimit -l 512 && $UPINCTL --device $T/upin pin --size 64K" <<'EOF'
range     ADDR+64K
memory    anonymous
flags     read,longterm
handle    1
pages     16
segments  (needs CAP_SYS_ADMIN)
metadata  N bytes
VmPin     64 kB
unpinned  VmPin 0 kB
EOF
	check "pin --short as nobody: EPERM" 1 \
		su -s /bin/sh nobody -c \
		"ulimit -l 512 && $UPINCTL --device $T/upin pin --size 64K --short" <<'EOF'
upinctl: pin ADDR+64K: Operation not permitted (a short-term pin, without UPIN_PIN_LONGTERM, is a diagnostic that needs CAP_SYS_ADMIN: every region is held across calls, so it is a longterm pin; or the context belongs to another process)
EOF
	rm -f "$T/upin"
else
	n=$((n + 1))
	echo "ok $n upinctl: errors as nobody # SKIP cannot make a device node"
fi

# --- stat ------------------------------------------------------------------

cat >"$T/regions" <<'EOF'
context pid=212 comm=upin_abi_test regions=2 pinned_pages=528
region pid=212 handle=1 addr=0x7f5a3c000000 length=65536 flags=write,longterm npages=16 segments=3
region pid=212 handle=3 addr=0x7f5a3c200000 length=2097152 flags=read npages=512 segments=1
context pid=300 comm=two words regions=0 pinned_pages=0
EOF
# debugfs says "read" or "write" for a short-term pin: stat says so.
check "stat --file" 0 "$UPINCTL" stat --file "$T/regions" <<'EOF'
PID     COMMAND          HANDLE ADDRESS              LENGTH FLAGS               PAGES SEGMENTS
212     upin_abi_test         1 ADDR          64K write,longterm         16        3
212     upin_abi_test         3 ADDR           2M read,short-term       512        1
300     two words             - -                         - -                       0        -
2 contexts, 2 regions, 528 pages pinned
EOF
check "stat, no such file" 1 "$UPINCTL" stat --file "$T/none" <<EOF
upinctl: stat: open $T/none: No such file or directory
EOF

# A pin held in the background shows in stat, and SIGTERM ends the hold
# with an unpin. The holder announces the hold before waiting.
mkfifo "$T/fifo"
"$UPINCTL" pin --size 64K --write --hold 600 >"$T/fifo" 2>&1 &
pid=$!
exec 3<"$T/fifo"
: >"$T/held"
while read -r line <&3; do
	echo "$line" >>"$T/held"
	case "$line" in holding*) break ;; esac
done
"$UPINCTL" stat >"$T/out" 2>"$T/err"
rc=$?
kill -TERM "$pid" 2>/dev/null
wait "$pid"
hold_rc=$?
cat <&3 >>"$T/held"
exec 3<&-
cat "$T/out" "$T/err" | mask |
	awk -v pid="$pid" '$1 == pid { $1 = "PID"; $NF = "N" } { print }' >"$T/got"
cat >"$T/want" <<'EOF'
PID     COMMAND          HANDLE ADDRESS              LENGTH FLAGS               PAGES SEGMENTS
PID upinctl 1 ADDR 64K write,longterm 16 N
1 context, 1 region, 16 pages pinned
EOF
compare "stat while upinctl pin --hold holds a region" 0 "$rc"
mask <"$T/held" >"$T/got"
cat >"$T/want" <<'EOF'
range     ADDR+64K
memory    anonymous
flags     write,longterm
handle    1
pages     16
segments  N
metadata  N bytes
VmPin     64 kB
holding   600 s (SIGINT or SIGTERM unpin now)
unpinned  VmPin 0 kB
EOF
compare "pin --hold, ended by SIGTERM" 0 "$hold_rc"

rm -rf "$T"
echo "1..$n"
[ "$failed" -eq 0 ]
