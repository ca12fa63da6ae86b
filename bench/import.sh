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
# A second row, without a target: `p4reg import dvc` of a directory output
# of IMPORT_FILES files of IMPORT_MIB MiB in DVC's cache (DVC 3 layout,
# linked), which checks DVC's MD5 of each file as stored besides the
# SHA-256, against `openssl dgst -sha256` and `md5sum` of the same bytes.
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

# The folder output data/ of $2 files of $3 MiB at $1, as `dvc add` leaves
# it: data.dvc, the files and the listing in .dvc/cache/files/md5.
import_dvc_repo() {
	local dir=$1 n=$2 mib=$3 i md5 list="" sep="" total=0 c
	rm -rf "$dir"
	mkdir -p "$dir/data" "$dir/.dvc/cache/files/md5"
	for i in $(seq 1 "$n"); do
		head -c "$((mib * 1024 * 1024))" /dev/zero |
			openssl enc -aes-128-ctr -pass "pass:file$i" -nosalt -pbkdf2 2>/dev/null >"$dir/data/f$i.bin"
		md5=$(md5sum "$dir/data/f$i.bin" | cut -d' ' -f1)
		mkdir -p "$dir/.dvc/cache/files/md5/${md5:0:2}"
		ln "$dir/data/f$i.bin" "$dir/.dvc/cache/files/md5/${md5:0:2}/${md5:2}"
		list="$list$sep{\"md5\": \"$md5\", \"relpath\": \"f$i.bin\"}"
		sep=", "
		total=$((total + mib * 1024 * 1024))
	done
	printf '[%s]' "$list" >"$dir/list.tmp"
	md5=$(md5sum "$dir/list.tmp" | cut -d' ' -f1)
	c=$dir/.dvc/cache/files/md5/${md5:0:2}
	mkdir -p "$c" && mv "$dir/list.tmp" "$c/${md5:2}.dir"
	printf 'outs:\n- md5: %s.dir\n  size: %s\n  nfiles: %s\n  hash: md5\n  path: data\n' "$md5" "$total" "$n" \
		>"$dir/data.dvc"
}

# Every file of the DVC folder output at $1 hashed once, as the peers.
import_dvc_sha() { openssl dgst -sha256 "$1"/data/*.bin >/dev/null; }
import_dvc_md5() { md5sum "$1"/data/*.bin >/dev/null; }

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
	[ "${KEEP:-0}" = 1 ] || rm -rf "$dir"
	IMPORT_FILES=${IMPORT_FILES:-$([ "$SMOKE" = 1 ] && echo 3 || echo 10)}
	say "bench: import dvc of a folder of $IMPORT_FILES x $IMPORT_MIB MiB (hard links) vs openssl dgst -sha256, md5sum"
	dir=$W/import-dvc
	import_dvc_repo "$dir" "$IMPORT_FILES" "$IMPORT_MIB"
	for r in $(rounds); do
		import_reset "$dir"
		cat "$dir"/data/*.bin >/dev/null
		timed "$(tag import_dvc_ssl)" import_dvc_sha "$dir"
		timed "$(tag import_dvc_md5)" import_dvc_md5 "$dir"
		timed "$(tag import_dvc)" "$P4REG" -C "$dir" -q import dvc
		"$P4REG" -C "$dir" --json show data | grep -q '"kind":"dir"' || die "import dvc made no folder version"
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
	v=$(median import_dvc); p=$(median import_dvc_ssl); r=$(ratio "$v" "$p")
	echo "| import dvc, a folder of $IMPORT_FILES × $IMPORT_MIB MiB (hard links; MD5 + SHA-256) | $v ms | openssl dgst -sha256 $p ms | ${r}× | - | - |"
	p=$(median import_dvc_md5); r=$(ratio "$v" "$p")
	echo "| import dvc, the same | $v ms | md5sum $p ms | ${r}× | - | - |"
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
