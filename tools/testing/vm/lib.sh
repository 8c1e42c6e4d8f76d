# SPDX-License-Identifier: GPL-2.0
#
# Shell helpers shared by tools/testing/run-tests and tools/testing/vm/*: messages, the
# cache location and installing Debian packages on demand. Sourced, not run.

UPIN_CACHE=${UPIN_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/upin}
export DEBIAN_FRONTEND=noninteractive

# The name of the sourcing tool, for messages.
: "${UPIN_TOOL:=$(basename "$0")}"

upin_log()
{
	printf '%s: %s\n' "$UPIN_TOOL" "$*" >&2
}

upin_die()
{
	printf '%s: error: %s\n' "$UPIN_TOOL" "$*" >&2
	exit 1
}

# upin_accel KERNEL: print kvm when guests can run on KVM, else tcg
# (UPIN_VM_ACCEL=tcg forces tcg). A /dev/kvm that opens is not enough:
# under nested virtualization it can be there and a guest kernel never
# start on it (seen on this project's CI machines: silence after SeaBIOS,
# every guest killed at its timeout). So boot KERNEL on KVM once, without
# an initramfs: a working KVM prints "Linux version" at once and panics
# within a second for want of a root file system. The verdict is kept for
# the host's boot (its boot_id) in UPIN_CACHE.
upin_accel()
{
	local kernel=$1 boot_id stamp out

	if [ "${UPIN_VM_ACCEL:-}" = tcg ] || [ ! -c /dev/kvm ] ||
	   ! (exec 3<>/dev/kvm) 2>/dev/null; then
		echo tcg
		return
	fi
	boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)
	stamp=$UPIN_CACHE/kvm-probe.$boot_id
	if [ ! -f "$stamp" ]; then
		mkdir -p "$UPIN_CACHE"
		out=$(timeout -k 5 30 qemu-system-x86_64 -m 256M -smp 1 \
			-nographic -no-reboot -nic none -monitor none \
			-accel kvm -cpu host -kernel "$kernel" \
			-append "console=ttyS0 panic=-1" -serial stdio \
			</dev/null 2>&1)
		if grep -aq 'Linux version' <<<"$out"; then
			echo kvm >"$stamp"
		else
			echo tcg >"$stamp"
			upin_log "/dev/kvm is there but a kernel does not start on it: using TCG (UPIN_CACHE/${stamp##*/})"
		fi
	fi
	cat "$stamp"
}

# Root runs apt itself; anyone else goes through sudo when it is there.
upin_as_root()
{
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n env DEBIAN_FRONTEND=noninteractive "$@"
	else
		upin_die "need root to run: $*"
	fi
}

_upin_apt_updated=0

# apt-get update, at most once per run.
upin_apt_update()
{
	[ "$_upin_apt_updated" -eq 0 ] || return 0
	_upin_apt_updated=1
	upin_log "apt-get update"
	upin_as_root apt-get update -q >&2 ||
		upin_die "apt-get update failed"
}

# upin_pkg_installed PKG: true when dpkg has PKG fully installed.
upin_pkg_installed()
{
	dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null |
		grep -q '^install ok installed$'
}

# upin_pkg_candidate PKG: print the version apt would install, if any.
upin_pkg_candidate()
{
	apt-cache policy "$1" 2>/dev/null |
		awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }'
}

# upin_apt_install PKG...: install the packages that are not installed yet.
# The package lists are refreshed only when apt does not know a package or
# the install fails (a stale list names files the mirror no longer has).
upin_apt_install()
{
	local p missing=() unknown=0

	for p in "$@"; do
		upin_pkg_installed "$p" || missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	for p in "${missing[@]}"; do
		[ -n "$(upin_pkg_candidate "$p")" ] || unknown=1
	done
	[ "$unknown" -eq 0 ] || upin_apt_update
	upin_log "installing ${missing[*]}"
	if ! upin_as_root apt-get install -y -q --no-install-recommends \
			"${missing[@]}" >&2; then
		[ "$_upin_apt_updated" -eq 0 ] ||
			upin_die "apt-get install ${missing[*]} failed"
		upin_apt_update
		upin_as_root apt-get install -y -q --no-install-recommends \
			"${missing[@]}" >&2 ||
			upin_die "apt-get install ${missing[*]} failed"
	fi
}

# upin_pkg_depends PKG PREFIX: print the first dependency of PKG whose name
# starts with PREFIX (how a meta package names the versioned one).
upin_pkg_depends()
{
	apt-cache depends "$1" 2>/dev/null |
		awk -v p="$2" '$1 ~ /^\|?Depends:$/ && index($2, p) == 1 { print $2; exit }'
}

# upin_usage: print the comment block at the top of the running script,
# from after the SPDX line and the blank comment line below it.
upin_usage()
{
	awk 'NR > 3 && /^#/ { sub(/^# ?/, ""); print; next } NR > 3 { exit }' "$0"
}

# --- kernel suites: the host's release, and sid and experimental through
# the Debian root of tools/testing/vm/sid-root.

UPIN_VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# upin_apt_download DIR PKG=VERSION...: apt-get download from the host's
# apt into DIR (its log in DIR/download.log). A stale package list names a
# version the mirror dropped: on failure the lists are refreshed once and
# the download tried again. Returns 1, the log shown, when it still fails.
upin_apt_download()
{
	local to=$1

	shift
	(cd "$to" && apt-get download "$@") >"$to/download.log" 2>&1 && return
	upin_apt_update
	(cd "$to" && apt-get download "$@") >"$to/download.log" 2>&1 && return
	cat "$to/download.log" >&2
	return 1
}

# upin_host_headers HPKG: unpack the host release's kernel headers package
# HPKG (linux-headers-KREL) with the packages of the same build it needs
# (linux-headers-*-common, linux-kbuild-*) into the cache, once per
# version, and print the directory to build against (KDIR). Nothing is
# installed on the host: Debian's headers of 6.12 and later depend on their
# image, whose installation would change the host's boot. The kernel's
# Makefile includes the -common one by its absolute path; the unpacked
# copy is pointed at the unpacked -common.
upin_host_headers()
{
	local hpkg=$1 ver p deb dir tmp want

	ver=$(upin_pkg_candidate "$hpkg")
	[ -n "$ver" ] || { upin_apt_update; ver=$(upin_pkg_candidate "$hpkg"); }
	[ -n "$ver" ] || upin_die "apt knows no $hpkg"
	dir=$UPIN_CACHE/headers/${hpkg}_$ver
	if [ ! -e "$dir/.complete" ]; then
		mkdir -p "$UPIN_CACHE/headers"
		tmp=$(mktemp -d "$UPIN_CACHE/headers/.fetch.XXXXXX")
		want=("$hpkg=$ver")
		while read -r p; do
			want+=("$p=$(upin_pkg_candidate "$p")")
		done < <(upin_suite_deps host "$hpkg" |
			awk '$1 ~ /^linux-(headers-.*-common|kbuild-)/ { print $1 }')
		upin_log "fetching ${want[*]}"
		upin_apt_download "$tmp" "${want[@]}" ||
			{ rm -rf "$tmp"; upin_die "apt-get download ${want[*]} failed"; }
		for deb in "$tmp"/*.deb; do
			dpkg -x "$deb" "$tmp/root" ||
				{ rm -rf "$tmp"; upin_die "dpkg -x $deb failed"; }
		done
		[ -f "$tmp/root/usr/src/$hpkg/Makefile" ] ||
			{ rm -rf "$tmp"; upin_die "$hpkg has no usr/src/$hpkg/Makefile"; }
		sed -i "s|^include /usr/src/|include $dir/usr/src/|" \
			"$tmp/root/usr/src/$hpkg/Makefile"
		touch "$tmp/root/.complete"
		rm -rf "$dir"
		mv "$tmp/root" "$dir" 2>/dev/null || [ -e "$dir/.complete" ] ||
			{ rm -rf "$tmp"; upin_die "cannot move the headers to $dir"; }
		rm -rf "$tmp"
		# Older versions of the same package.
		for p in "$UPIN_CACHE/headers/${hpkg}"_*; do
			[ "$p" = "$dir" ] || rm -rf "$p"
		done
	fi
	echo "$dir/usr/src/$hpkg"
}

# upin_suite_apt_cache SUITE ARGS...: apt-cache of SUITE (host, sid or
# experimental; the last two ask the root's apt, making the root first).
upin_suite_apt_cache()
{
	local suite=$1

	shift
	case "$suite" in
	host) apt-cache "$@" ;;
	sid|experimental) "$UPIN_VM_DIR/sid-root" apt-cache "$@" ;;
	*) upin_die "unknown suite $suite" ;;
	esac
}

# upin_suite_show SUITE PKG FIELD: FIELD of the version of PKG that SUITE
# offers (experimental: PKG/experimental; empty when there is none).
upin_suite_show()
{
	local name=$2

	[ "$1" != experimental ] || name=$2/experimental
	upin_suite_apt_cache "$1" show --no-all-versions "$name" 2>/dev/null |
		awk -v f="$3:" '$1 == f { sub(/^[^:]*: */, ""); print; exit }'
}

# upin_suite_deps SUITE PKG: the dependencies of PKG in SUITE, one "name
# version" per line (version "-" when not an exact one); alternatives are
# left out.
upin_suite_deps()
{
	upin_suite_show "$1" "$2" Depends | tr ',' '\n' | awk '
		/\|/ { next }
		{ v = "-" }
		match($0, /\(= [^)]*\)/) { v = substr($0, RSTART + 3, RLENGTH - 4) }
		NF { print $1, v }'
}

# upin_suite_archive SUITE PKG VERSION: the archive PKG VERSION comes from
# (bookworm-security, sid, experimental...).
upin_suite_archive()
{
	upin_suite_apt_cache "$1" madison "$2" 2>/dev/null |
		awk -F'|' -v v="$3" '{ gsub(/^ +| +$/, "", $2) }
			$2 == v { split($3, a, " "); sub(/\/.*/, "", a[2]); print a[2]; exit }'
}

# upin_kernel_suite SERIES: find where Debian carries a kernel series; set
# UPIN_SUITE (host, sid or experimental) and UPIN_INFIX, so that the meta
# packages are linux-image-${UPIN_INFIX}amd64 and
# linux-headers-${UPIN_INFIX}amd64 (and -FLAVOUR-amd64). Looked for, in
# order: the host's linux-image-SERIES-amd64 (bookworm's 6.12), then the
# linux-image-amd64 of the host, of sid and of experimental whose version
# is SERIES (bookworm's 6.1, sid's 7.2). SERIES sid and rc name sid's and
# experimental's linux-image-amd64, whatever their version.
upin_kernel_suite()
{
	local series=$1 s v

	UPIN_SUITE= UPIN_INFIX=
	# Package lists are missing on a fresh machine.
	[ -n "$(upin_pkg_candidate linux-image-amd64)" ] || upin_apt_update
	case "$series" in
	sid) UPIN_SUITE=sid; return 0 ;;
	rc) UPIN_SUITE=experimental; return 0 ;;
	esac
	if [ -n "$(upin_pkg_candidate "linux-image-$series-amd64")" ]; then
		UPIN_SUITE=host UPIN_INFIX=$series-
		return 0
	fi
	for s in host sid experimental; do
		v=$(upin_suite_show "$s" linux-image-amd64 Version)
		case "$v" in
		"$series".*|"$series"-*|"$series"~*) UPIN_SUITE=$s; return 0 ;;
		esac
	done
	return 1
}

# upin_suite_name SUITE: what to call it in messages (the host's codename).
upin_suite_name()
{
	case "$1" in
	host) (. /etc/os-release && echo "${VERSION_CODENAME:-host}") ;;
	*) echo "$1" ;;
	esac
}

# upin_source_version SERIES: print "SUITE VERSION" of linux-source-SERIES:
# the host's apt first, then, once tools/testing/vm/sid-root has made its root, sid
# and experimental (linux-source-7.2, -7.3); nothing when none has it.
upin_source_version()
{
	local pkg=linux-source-$1 s v

	v=$(upin_pkg_candidate "$pkg")
	if [ -n "$v" ]; then
		echo "host $v"
		return 0
	fi
	[ -f "$UPIN_CACHE/roots/sid/.upin-root" ] || return 0
	for s in sid experimental; do
		v=$(upin_suite_show "$s" "$pkg" Version)
		if [ -n "$v" ]; then
			echo "$s $v"
			return 0
		fi
	done
}
