# SPDX-License-Identifier: GPL-2.0
#
# Shell helpers shared by tools/run-tests and tools/vm/*: messages, the
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
