#!/usr/bin/env bash
# bench/import.sh: the figure of issue 20. `p4reg import git-lfs` of a
# history of IMPORT_REVISIONS revisions of one IMPORT_MIB MiB model whose
# objects git-lfs holds in .git/lfs/objects, linked into the store
# (core.cacheType hardlink), against `openssl dgst -sha256` of the same
# bytes once. The history is written as git-lfs leaves it (a pointer per
# commit, the object under .git/lfs/objects/ab/cd/OID), without running
# git-lfs. Each round starts from a fresh registry and store, with the
# objects read into the page cache first; the import is checked to have
# registered every revision with its bytes linked.
#
# Target (issue 20): import <= 2 x the time of hashing the bytes once.
#
# bench/run.sh sources this file and calls import_measure, then import_rows
# in its table. Run alone:
#
#   P4REG_BIN=build-rel/p4reg bash bench/import.sh [--smoke] [--revisions N] [--size MIB] [--keep]
#
# --smoke: 3 revisions of 1 MiB, one round (bench/run.sh --smoke runs it).

IMPORT_SKIP=""   # why nothing was measured

# The git repository at $1 with N revisions of MIB MiB (distinct bytes
# each: AES-CTR of zeros under a per-revision key).
import_history() {
	local dir=$1 n=$2 mib=$3 i oid size obj
	rm -rf "$dir"
	mkdir -p "$dir"
	git -C "$dir" init -q
	git -C "$dir" config user.name bench
	git -C "$dir" config user.email bench@example.invalid
	printf '*.bin filter=lfs diff=lfs merge=lfs -text\n' >"$dir/.gitattributes"
	git -C "$dir" add .gitattributes && git -C "$dir" commit -qm "track *.bin"
	for i in $(seq 1 "$n"); do
		obj=$dir/obj.tmp
		head -c "$((mib * 1024 * 1024))" /dev/zero |
			openssl enc -aes-128-ctr -pass "pass:rev$i" -nosalt -pbkdf2 2>/dev/null >"$obj"
		oid=$(openssl dgst -sha256 -r "$obj" | cut -d' ' -f1)
		size=$(stat -c %s "$obj")
		mkdir -p "$dir/.git/lfs/objects/${oid:0:2}/${oid:2:2}"
		mv "$obj" "$dir/.git/lfs/objects/${oid:0:2}/${oid:2:2}/$oid"
		printf 'version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %s\n' "$oid" "$size" >"$dir/m.bin"
		git -C "$dir" add m.bin && git -C "$dir" commit -qm "rev $i" || die "commit of revision $i failed"
	done
}

# Every Git LFS object of $1 hashed once, as the peer.
import_hash() { find "$1/.git/lfs/objects" -type f -print0 | xargs -0 openssl dgst -sha256 >/dev/null; }

# A fresh registry and store in $1 (the history stays), linked.
import_reset() {
	rm -rf "$1/.p4reg"
	"$P4REG" -C "$1" -q init >/dev/null 2>>"$LOG" || die "p4reg init failed (see $LOG)"
	git config --file "$1/.p4reg/config.local" core.cacheType hardlink || die "setting core.cacheType failed"
}

import_measure() {
	local dir=$W/import-repo r need linked
	IMPORT_REVISIONS=${IMPORT_REVISIONS:-$([ "$SMOKE" = 1 ] && echo 3 || echo 100)}
	IMPORT_MIB=${IMPORT_MIB:-$([ "$SMOKE" = 1 ] && echo 1 || echo 100)}
	need=$((IMPORT_REVISIONS * IMPORT_MIB + 256))
	if [ "$(df -Pk "$W" | awk 'NR == 2 { print $4 }')" -lt $((need * 1024)) ]; then
		IMPORT_SKIP="needs about $need MiB free in $W"
		say "bench: import rows skipped: $IMPORT_SKIP"
		return 0
	fi
	say "bench: import git-lfs of $IMPORT_REVISIONS revisions x $IMPORT_MIB MiB (hard links) vs openssl dgst -sha256"
	import_history "$dir" "$IMPORT_REVISIONS" "$IMPORT_MIB"
	for r in $(rounds); do
		tag() { if record "$r"; then echo "$1"; else echo warmup; fi; }
		import_reset "$dir"
		find "$dir/.git/lfs/objects" -type f -exec cat {} + >/dev/null
		timed "$(tag import_ssl)" import_hash "$dir"
		timed "$(tag import_lfs)" "$P4REG" -C "$dir" -q import git-lfs
		linked=$(find "$dir/.p4reg/objects" -type f -links +1 | wc -l)
		[ "$linked" = "$IMPORT_REVISIONS" ] || die "import linked $linked of $IMPORT_REVISIONS objects"
	done
	unset -f tag
	[ "${KEEP:-0}" = 1 ] || rm -rf "$dir"
}

import_rows() {
	local v p r
	if [ -n "$IMPORT_SKIP" ]; then
		echo "| import git-lfs history | skipped: $IMPORT_SKIP | | | ≤ 2× | - |"
		return
	fi
	v=$(median import_lfs); p=$(median import_ssl); r=$(ratio "$v" "$p")
	echo "| import git-lfs, $IMPORT_REVISIONS revisions × $IMPORT_MIB MiB (hard links) | $v ms | openssl dgst -sha256 $p ms | ${r}× | ≤ 2× | $(verdict "$r" "<=" 2) |"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	SMOKE=0 KEEP=0 RUNS=${RUNS:-3} WARMUP=0 MiB=$((1024 * 1024))
	while [ $# -gt 0 ]; do
		case "$1" in
		--smoke) SMOKE=1 ;;
		--revisions) IMPORT_REVISIONS=${2:?--revisions needs a number}; shift ;;
		--size) IMPORT_MIB=${2:?--size needs MiB}; shift ;;
		--keep) KEEP=1 ;;
		*) echo "usage: P4REG_BIN=... bash bench/import.sh [--smoke] [--revisions N] [--size MIB] [--keep]" >&2; exit 2 ;;
		esac
		shift
	done
	[ "$SMOKE" = 0 ] || RUNS=1
	HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	ROOT=$(dirname "$HERE")
	P4REG=$(realpath "${P4REG_BIN:?P4REG_BIN must name the p4reg binary}")
	DATA=$(mktemp -d "${TMPDIR:-/tmp}/p4reg-import.XXXXXX")
	W=$DATA/work
	mkdir -p "$W"
	LOG=$W/bench.log
	if [ "$KEEP" = 0 ]; then trap 'rm -rf "$DATA"' EXIT; else trap 'say "bench: kept $DATA"' EXIT; fi
	# shellcheck source=lib.sh
	. "$HERE/lib.sh"
	command -v openssl >/dev/null || die "openssl is required"
	command -v git >/dev/null || die "git is required"
	import_measure
	print_header
	import_rows
	echo
	echo "p4reg $("$P4REG" --version | awk '{ print $2 }') ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)$([ "$SMOKE" = 1 ] && echo ', SMOKE: the times mean nothing')"
	print_samples
fi
