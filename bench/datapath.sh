#!/usr/bin/env bash
# bench/datapath.sh: the data path rows of the benchmark (issue 18): pull and
# push of one BIG file against a folder remote vs `cp` + `sync`, and a copy
# checkout vs `dd conv=fsync` and `cp`. Each round times p4reg and its peer
# back to back on the same bytes, both read from a warm page cache.
#
# bench/run.sh sources this file and calls datapath_measure, then
# datapath_rows inside its table. Run alone it measures only these cases:
#
#   P4REG_BIN=build-bench/p4reg bash bench/datapath.sh [--runs N] [--size MIB] [--smoke]
#
# DP_BASE=/path/to/older/p4reg (alone only) times that binary too, in the
# same rounds against the same peer samples: a before/after on equal terms.

# The folder remote object of OID below REMOTE (its remotes are format 1,
# whole objects: these rows are the data path against cp; chunked remotes
# have their own rows, bench/dedup.sh).
dp_remote_obj() { printf '%s/objects/%s/%s/%s' "$1" "${2:0:2}" "${2:2:2}" "$2"; }
# The store object of OID in the repository REPO.
dp_store_obj() { dp_remote_obj "$1/.p4reg" "$2"; }
# The oid a pointer file records.
dp_pointer_oid() { sed -n 's/^oid sha256:\([0-9a-f]*\)$/\1/p' "$1"; }
# Reads FILE into the page cache, so every contestant starts warm.
dp_warm() { cat "$1" >/dev/null; }
# The durable copy a user would make by hand: cp, then fsync of the copy.
dp_cp_sync() { cp "$1" "$2" && sync "$2"; }

# The binaries timed: p4reg, and DP_BASE too when set (a before/after in
# the same rounds, run alone only); their samples are KEY and KEY_base.
dp_bins() { echo "$P4REG"; [ -z "${DP_BASE:-}" ] || echo "$DP_BASE"; }
dp_key() { if [ "$2" = "$P4REG" ]; then echo "$1"; else echo "${1}_base"; fi; }

# pull: a second clone pulls one version from the folder remote, in the
# default link mode (copy where the file system cannot clone) and with
# core.cacheType hardlink; the peer copies the remote's object and syncs it.
dp_pull() {
	local a=$W/dp-pull-a remote=$W/dp-pull-remote b=$W/dp-pull-b oid obj r mode
	new_repo "$a"
	"$P4REG" -C "$a" -q remote add -d origin "$remote" >/dev/null 2>&1
	"$P4REG" -C "$a" config remote.origin.format 1   # whole objects: see dp_remote_obj
	cp "$DATA/big.bin" "$a/model.bin"
	"$P4REG" -C "$a" -q add model.bin >/dev/null
	"$P4REG" -C "$a" -q push >/dev/null
	oid=$(dp_pointer_oid "$a/model.bin.p4reg")
	obj=$(dp_remote_obj "$remote" "$oid")
	say "bench: pull of $((BIG / MiB)) MiB from a folder remote"
	for r in $(rounds); do
		for mode in copy hardlink; do
			for bin in $(dp_bins); do
				rm -rf "$b"
				new_repo "$b"
				"$P4REG" -C "$b" -q remote add -d origin "$remote" >/dev/null 2>&1
				[ "$mode" = hardlink ] && "$P4REG" -C "$b" config --local core.cacheType hardlink
				cp "$a/model.bin.p4reg" "$b/"   # what git would carry
				dp_warm "$obj"
				timed "$(dp_tag "$r" "$(dp_key "dp_pull_$mode" "$bin")")" "$bin" -C "$b" -q pull
				cmp -s "$b/model.bin" "$DATA/big.bin" || die "pull ($mode) wrote other bytes"
			done
			dp_warm "$obj"
			timed "$(dp_tag "$r" "dp_pull_cp_$mode")" dp_cp_sync "$obj" "$W/dp-out.bin"
			rm -f "$W/dp-out.bin"
		done
	done
	rm -rf "$a" "$b" "$remote"
}

# push: a new version each round (its own oid), pushed to a folder remote;
# the peer copies the same store object and syncs it. Both objects are
# dropped afterwards, so every round uploads exactly one new file.
dp_push() {
	local a=$W/dp-push-a remote=$W/dp-push-remote oid obj r
	new_repo "$a"
	"$P4REG" -C "$a" -q remote add -d origin "$remote" >/dev/null 2>&1
	"$P4REG" -C "$a" config remote.origin.format 1   # whole objects: see dp_remote_obj
	cp "$DATA/big.bin" "$a/model.bin"
	say "bench: push of $((BIG / MiB)) MiB to a folder remote"
	for r in $(rounds); do
		for bin in $(dp_bins); do
			freshen "$a/model.bin"
			"$P4REG" -C "$a" -q add model.bin >/dev/null || die "add before push failed"
			oid=$(dp_pointer_oid "$a/model.bin.p4reg")
			obj=$(dp_store_obj "$a" "$oid")
			dp_warm "$obj"
			timed "$(dp_tag "$r" "$(dp_key dp_push "$bin")")" "$bin" -C "$a" -q push
			cmp -s "$(dp_remote_obj "$remote" "$oid")" "$obj" || die "push wrote other bytes"
			dp_warm "$obj"
			timed "$(dp_tag "$r" dp_push_cp)" dp_cp_sync "$obj" "$W/dp-out.bin"
			rm -f "$W/dp-out.bin" "$(dp_remote_obj "$remote" "$oid")" "$obj"
		done
	done
	rm -rf "$a" "$remote"
}

# checkout --link copy of a stored version vs dd conv=fsync and cp of its
# object (the work file removed between rounds is a copy, so the object's
# fingerprint stays put and the guard reads nothing).
dp_checkout() {
	local a=$W/dp-co oid obj r
	new_repo "$a"
	cp "$DATA/big.bin" "$a/model.bin"
	"$P4REG" -C "$a" -q add model.bin >/dev/null
	oid=$(dp_pointer_oid "$a/model.bin.p4reg")
	obj=$(dp_store_obj "$a" "$oid")
	say "bench: checkout (copy) of $((BIG / MiB)) MiB"
	for r in $(rounds); do
		for bin in $(dp_bins); do
			rm -f "$a/model.bin"
			dp_warm "$obj"
			timed "$(dp_tag "$r" "$(dp_key dp_co_copy "$bin")")" "$bin" -C "$a" -q checkout --link copy model.bin
			cmp -s "$a/model.bin" "$obj" || die "checkout wrote other bytes"
		done
		dp_warm "$obj"
		timed "$(dp_tag "$r" dp_co_dd)" dd if="$obj" of="$W/dp-out.bin" bs=4M conv=fsync status=none
		rm -f "$W/dp-out.bin"
		dp_warm "$obj"
		timed "$(dp_tag "$r" dp_co_cp)" cp "$obj" "$W/dp-out.bin"
		rm -f "$W/dp-out.bin"
	done
	rm -rf "$a"
}

dp_tag() { if record "$1"; then echo "$2"; else echo warmup; fi; }

datapath_measure() {
	dp_pull
	dp_push
	dp_checkout
}

# One table row: LABEL P4REG_KEY PEER_LABEL PEER_KEY OP LIMIT; a LABEL
# starting with "↳" compares the row above with another peer.
dp_row() {
	local v p r shown
	v=$(median "$2"); p=$(median "$4"); r=$(ratio "$v" "$p")
	shown="$v ms"
	case "$1" in ↳*) shown="" ;; esac
	echo "| $1 | $shown | $3 $p ms | ${r}× | $5 $6× | $(verdict "$r" "<=" "$6") |"
}

# The rows of the binary whose samples end in SUFFIX ("" or "_base"),
# labelled with TAG.
dp_rows() {
	local mb=$((BIG / MiB)) x=$1 tag=$2
	dp_row "pull $mb MiB from a folder remote (copy)$tag" "dp_pull_copy$x" "cp + sync" dp_pull_cp_copy "≤" 1.3
	dp_row "pull $mb MiB from a folder remote (hardlink)$tag" "dp_pull_hardlink$x" "cp + sync" dp_pull_cp_hardlink "≤" 1.3
	dp_row "push $mb MiB to a folder remote$tag" "dp_push$x" "cp + sync" dp_push_cp "≤" 1.2
	dp_row "checkout $mb MiB, copy (object's fingerprint holds)$tag" "dp_co_copy$x" "dd bs=4M conv=fsync" dp_co_dd "≤" 1.0
	dp_row "↳ vs cp" "dp_co_copy$x" "cp" dp_co_cp "≤" 1.2
}

datapath_rows() {
	dp_rows "" ""
	[ -z "${DP_BASE:-}" ] || dp_rows _base " [before: $(basename "$DP_BASE")]"
}

# ---- run alone ------------------------------------------------------------------

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	RUNS=5 WARMUP=1 MiB=$((1024 * 1024)) BIG=$((1024 * 1024 * 1024))
	while [ $# -gt 0 ]; do
		case "$1" in
		--runs) RUNS=${2:?--runs needs a number}; shift ;;
		--smoke) RUNS=1 WARMUP=0 BIG=$((4 * MiB)) ;;
		--size) BIG=$(( ${2:?--size needs MiB} * MiB )); shift ;;
		*) echo "usage: P4REG_BIN=... bash bench/datapath.sh [--runs N] [--size MIB] [--smoke]" >&2; exit 2 ;;
		esac
		shift
	done
	HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	# shellcheck source=lib.sh
	. "$HERE/lib.sh"
	alone_setup dp "${DP_DATA:-}"
	datapath_measure
	print_header
	datapath_rows
	print_samples
	echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
fi
