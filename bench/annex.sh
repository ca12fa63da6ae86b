#!/usr/bin/env bash
# bench/annex.sh: git-annex as a peer beside git-lfs (issue 18). Each round
# gives p4reg and git-annex the same new BIG file and times, back to back:
# p4reg add vs `git annex add`, p4reg push to a folder remote vs `git annex
# copy --to` a directory special remote, and p4reg pull of the dropped
# object back vs `git annex get`; each side's input is read into the page
# cache first. The rows print git-annex's time divided by p4reg's (above 1:
# p4reg is faster); the issue sets no target for them.
#
# bench/run.sh sources this file and calls annex_measure after the add
# cases, then annex_rows in its table beside the git-lfs row. git-annex is
# the Debian package git-annex: a full run installs it (as root, through
# scripts/deps.sh); a smoke run (the test suite) never installs anything and
# skips these rows, saying so, when it is missing. Run alone it measures
# only these cases:
#
#   P4REG_BIN=build-rel/p4reg bash bench/annex.sh [--runs N] [--size MIB] [--smoke]

# Installs git-annex when a full run may (root, apt-get); true when present.
annex_ready() {
	git annex version >/dev/null 2>&1 && return 0
	if [ "$SMOKE" = 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		say "bench: installing git-annex (scripts/deps.sh)"
		# shellcheck source=../scripts/deps.sh
		. "$ROOT/scripts/deps.sh"
		p4reg_install_deps git-annex >&2 || true
	fi
	git annex version >/dev/null 2>&1
}

# A git repository at DIR for git-annex, with a directory special remote
# "dir" at REMOTE.
annex_repo() {
	local dir=$1 remote=$2
	# git-annex leaves its object folders read-only
	[ ! -d "$dir" ] || chmod -R u+w "$dir"
	rm -rf "$dir" "$remote"
	mkdir -p "$dir" "$remote"
	git -C "$dir" init -q
	git -C "$dir" config user.name bench
	git -C "$dir" config user.email bench@example.invalid
	git -C "$dir" annex init -q bench >/dev/null 2>&1 || die "git annex init failed"
	git -C "$dir" annex initremote dir type=directory directory="$remote" encryption=none \
		>/dev/null 2>&1 || die "git annex initremote failed"
}

# Reads every file under the folders given into the page cache.
annex_warm() { find "$@" -type f -exec cat {} + >/dev/null; }

annex_measure() {
	local r pr=$W/annex-p4reg premote=$W/annex-p4reg-remote ar=$W/annex-repo aremote=$W/annex-remote src=$W/annex-src.bin
	ANNEX_SKIPPED=0
	if ! annex_ready; then
		ANNEX_SKIPPED=1
		if [ "$SMOKE" = 1 ]; then
			say "bench: git-annex is not installed, its rows are skipped (a smoke run installs nothing; a full run as root installs it)"
		else
			say "bench: git-annex is not installed and could not be (not root, or apt-get failed): its rows are skipped"
		fi
		return 0
	fi
	# the file, p4reg's copy, store object and remote copy, git-annex's
	# object and remote copy
	if [ "$(df -Pk "$W" | awk 'NR == 2 { print $4 }')" -lt $((6 * BIG / 1024 + 262144)) ]; then
		ANNEX_SKIPPED=1
		say "bench: git-annex rows skipped: they need about $((6 * BIG / MiB + 256)) MiB free in $W"
		return 0
	fi
	ANNEX_VERSION=$(git annex version --raw 2>/dev/null || git annex version | awk 'NR == 1 { print $NF }')
	say "bench: git-annex $ANNEX_VERSION: add, copy --to, get of $((BIG / MiB)) MiB vs p4reg add, push, pull"
	for r in $(rounds); do
		tag() { if record "$r"; then echo "$1"; else echo warmup; fi; }
		# new bytes for both, written before either is timed
		rm -rf "$pr" "$premote"
		new_repo "$pr"
		"$P4REG" -C "$pr" -q remote add -d origin "$premote" >/dev/null 2>&1
		# whole objects, as git-annex's directory special remote keeps them
		"$P4REG" -C "$pr" config remote.origin.format 1
		annex_repo "$ar" "$aremote"
		cp "$DATA/big.bin" "$src"
		freshen "$src"
		cp "$src" "$pr/model.bin"
		cp "$src" "$ar/model.bin"
		cat "$pr/model.bin" "$ar/model.bin" >/dev/null
		timed "$(tag annex_p4reg_add)" "$P4REG" -C "$pr" -q add model.bin
		timed "$(tag annex_add)" git -C "$ar" annex add -q model.bin
		# each side's stored copy read into the page cache (p4reg's add
		# wrote its object around the cache, O_DIRECT)
		annex_warm "$pr/.p4reg/objects" "$ar/.git/annex/objects"
		timed "$(tag annex_p4reg_push)" "$P4REG" -C "$pr" -q push
		timed "$(tag annex_copy)" git -C "$ar" annex copy -q --to dir model.bin
		# the bytes leave this repository; only the remotes have them
		rm -f "$pr/model.bin"
		drop_objects "$pr"
		git -C "$ar" annex drop -q model.bin >/dev/null 2>>"$LOG" || die "git annex drop failed"
		annex_warm "$premote" "$aremote"
		timed "$(tag annex_p4reg_pull)" "$P4REG" -C "$pr" -q pull
		timed "$(tag annex_get)" git -C "$ar" annex get -q model.bin
		cmp -s "$pr/model.bin" "$src" || die "p4reg pull wrote other bytes"
		cmp -s "$ar/model.bin" "$src" || die "git annex get wrote other bytes"
		chmod -R u+w "$ar"   # run.sh's cleanup can remove it whatever comes next
	done
	unset -f tag
	chmod -R u+w "$ar" 2>/dev/null || true
	rm -rf "$pr" "$premote" "$ar" "$aremote" "$src"
}

# One row: LABEL P4REG_KEY PEER_LABEL PEER_KEY, the ratio peer / p4reg
# (above 1: p4reg is faster).
annex_row() {
	local v p r
	v=$(median "$2"); p=$(median "$4"); r=$(ratio "$p" "$v")
	echo "| $1 | $v ms | $3 $p ms | ${r}× | - | - |"
}

annex_rows() {
	local mb=$((BIG / MiB))
	if [ "${ANNEX_SKIPPED:-1}" = 1 ]; then
		echo "| ↳ git annex add, copy --to, get | | not installed | - | - | - |"
		return
	fi
	annex_row "↳ add $mb MiB vs git annex add (peer ÷ p4reg, own rounds)" annex_p4reg_add "git annex add" annex_add
	annex_row "↳ push $mb MiB to a folder remote vs git annex copy --to a directory remote (peer ÷ p4reg)" \
		annex_p4reg_push "git annex copy" annex_copy
	annex_row "↳ pull $mb MiB back vs git annex get from it (peer ÷ p4reg)" annex_p4reg_pull "git annex get" annex_get
}

# ---- run alone ------------------------------------------------------------------

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	SMOKE=0 RUNS=5 WARMUP=1 MiB=$((1024 * 1024)) BIG=$((1024 * 1024 * 1024))
	while [ $# -gt 0 ]; do
		case "$1" in
		--runs) RUNS=${2:?--runs needs a number}; shift ;;
		--smoke) SMOKE=1 RUNS=1 WARMUP=0 BIG=$((4 * MiB)) ;;
		--size) BIG=$(( ${2:?--size needs MiB} * MiB )); shift ;;
		*) echo "usage: P4REG_BIN=... bash bench/annex.sh [--runs N] [--size MIB] [--smoke]" >&2; exit 2 ;;
		esac
		shift
	done
	HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	ROOT=$(dirname "$HERE")
	P4REG=$(realpath "${P4REG_BIN:?P4REG_BIN must name the p4reg binary}")
	DATA=$(mktemp -d "${TMPDIR:-/tmp}/p4reg-annex.XXXXXX")
	W=$DATA/work
	mkdir -p "$W"
	LOG=$W/bench.log
	trap 'chmod -R u+w "$DATA" 2>/dev/null; rm -rf "$DATA"' EXIT
	# shellcheck source=lib.sh
	. "$HERE/lib.sh"
	head -c "$BIG" /dev/urandom >"$DATA/big.bin"
	new_repo() {
		mkdir -p "$1" && git -C "$1" init -q && git -C "$1" config user.name bench &&
			git -C "$1" config user.email bench@example.invalid && "$P4REG" -C "$1" -q init
	}
	NONCE=0
	freshen() { NONCE=$((NONCE + 1)); printf 'annex %s %s %s\n' "$$" "$NONCE" "$(date +%s%N)" >>"$1"; }
	drop_objects() { find "$1/.p4reg/objects" -type f -delete; }
	annex_measure
	print_header
	annex_rows
	print_samples
	echo "git-annex ${ANNEX_VERSION:-not installed}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
fi
