#!/usr/bin/env bash
# bench/s3.sh: the S3 rows of the benchmark (issue 18): push and pull of one
# BIG file to and from a throw-away Ceph RADOS Gateway on 127.0.0.1
# (tests/s3/ceph.sh, memstore) against `aws s3 cp` -- boto3's upload_file and
# download_file when the aws CLI is missing -- on the same bucket and bytes.
# Each round times p4reg and its peer back to back, the local file read into
# the page cache before each. Then one untimed pull and push each count the
# connections p4reg opened (strace) and the requests RGW served (its log),
# and peak memory (/usr/bin/time). Without radosgw the rows say so.
#
# bench/run.sh sources this file and calls s3_measure, then s3_rows inside
# its table. Run alone it measures only these cases:
#
#   P4REG_BIN=build-rel/p4reg bash bench/s3.sh [--runs N] [--size MIB] [--smoke]
#
# S3_BASE=/path/to/older/p4reg (alone only) times that binary too, in the
# same rounds against the same peer samples: a before/after on equal terms.

S3_BUCKET=bench
S3_SKIP=""

# The binaries timed, and the sample key of each (as datapath.sh).
s3_bins() { echo "$P4REG"; [ -z "${S3_BASE:-}" ] || echo "$S3_BASE"; }
s3_key() { if [ "$2" = "$P4REG" ]; then echo "$1"; else echo "${1}_base"; fi; }
s3_tag() { if record "$1"; then echo "$2"; else echo warmup; fi; }
s3_oid() { sed -n 's/^oid sha256:\([0-9a-f]*\)$/\1/p' "$1"; }
s3_objkey() { printf 'p4/objects/%s/%s/%s' "${1:0:2}" "${1:2:2}" "$1"; }

# The peer: the aws CLI, else boto3 (both with the same keys, no profile).
s3_peer() {
	if [ "$S3_PEER" = aws ]; then
		aws --endpoint-url "$RGW_ENDPOINT" "$@"
	else
		python3 - "$@" <<'PY'
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["RGW_ENDPOINT"], region_name="us-east-1")
op, a, b = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else ""
strip = lambda u: u[len("s3://bench/"):]
if op == "mb": s3.create_bucket(Bucket="bench")
elif op == "up": s3.upload_file(a, "bench", strip(b))
elif op == "down": s3.download_file("bench", strip(a), b)
elif op == "rm": s3.delete_object(Bucket="bench", Key=strip(a))
PY
	fi
}
s3_up() { if [ "$S3_PEER" = aws ]; then s3_peer s3 cp --quiet "$1" "s3://$S3_BUCKET/$2"; else s3_peer up "$1" "s3://$S3_BUCKET/$2"; fi; }
s3_down() { if [ "$S3_PEER" = aws ]; then s3_peer s3 cp --quiet "s3://$S3_BUCKET/$1" "$2"; else s3_peer down "s3://$S3_BUCKET/$1" "$2"; fi; }
s3_mb() { if [ "$S3_PEER" = aws ]; then s3_peer s3 mb "s3://$S3_BUCKET"; else s3_peer mb "s3://$S3_BUCKET"; fi; }
s3_rm() { if [ "$S3_PEER" = aws ]; then s3_peer s3 rm --quiet "s3://$S3_BUCKET/$1"; else s3_peer rm "s3://$S3_BUCKET/$1"; fi; }

# A repository whose default remote is the bucket (smoke: the multipart
# and ranged paths from 1 MiB, so they run too).
s3_repo() {
	new_repo "$1"
	"$P4REG" -C "$1" -q remote add -d --endpoint "$RGW_ENDPOINT" --path-style origin "s3://$S3_BUCKET/p4" >/dev/null 2>&1
	# whole objects (format 1): these rows race aws s3 cp on one object; chunked
	# remotes have their own rows (bench/dedup.sh)
	"$P4REG" -C "$1" config remote.origin.format 1 >/dev/null
	[ "$SMOKE" = 1 ] && "$P4REG" -C "$1" config remote.origin.multipartThreshold 1m
	true
}

# Removes KEYs from the bucket, and their data from RADOS now: RGW's
# garbage collector would free it hours later, and the memstore is small.
s3_drop() {
	local k
	for k in "$@"; do s3_rm "$k" >>"$LOG" 2>&1; done
	radosgw-admin -c "$CEPH_CONF" gc process --include-all >>"$LOG" 2>&1
}

# The requests RGW has logged so far (one "beast:" line each).
s3_requests() { local n; n=$(grep -c ' beast: ' "$CEPH_DIR/log/client.rgw.log" 2>/dev/null) || true; echo "${n:-0}"; }

# s3_count NAME CMD...: runs CMD once under strace; S3_CONN[NAME] gets the
# connections to RGW it opened, S3_REQS[NAME] the requests RGW logged.
declare -A S3_CONN=() S3_REQS=() S3_PEAK=()
s3_count() {
	local name=$1 n0 trace=$W/s3-trace
	shift
	command -v strace >/dev/null 2>&1 || return 0
	n0=$(s3_requests)
	# (a sanitized build's leak check cannot run under ptrace)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -e trace=connect -o "$trace" "$@" \
		>/dev/null 2>>"$LOG" || die "'$*' failed under strace (see $LOG)"
	sleep 0.5   # RGW logs a request as it ends
	S3_CONN[$name]=$(grep -c "htons($RGW_PORT)" "$trace") || true
	S3_REQS[$name]=$(( $(s3_requests) - n0 ))
}
# s3_peak NAME CMD...: the peak memory (MiB) of CMD (a program, or one of
# this file's peer functions) into S3_PEAK[NAME].
s3_peak() {
	local name=$1
	shift
	[ -x /usr/bin/time ] || return 0
	export -f s3_peer s3_up s3_down
	export S3_PEER S3_BUCKET
	/usr/bin/time -f %M -o "$W/s3-time" bash -c '"$@"' s3_peak "$@" >/dev/null 2>>"$LOG" ||
		die "'$*' failed (see $LOG)"
	S3_PEAK[$name]=$(awk '{ printf "%.1f", $1 / 1024 }' "$W/s3-time")
}

# Starts the cluster and makes the bucket; S3_SKIP says why not.
s3_start() {
	local need_kb avail_kb
	if ! command -v radosgw >/dev/null 2>&1; then
		S3_SKIP="radosgw is not installed (apt-get install radosgw ceph-mon ceph-osd ceph-mgr)"
		return 1
	fi
	if command -v aws >/dev/null 2>&1; then
		S3_PEER=aws
	elif python3 -c 'import boto3' 2>/dev/null; then
		S3_PEER=boto3
	else
		S3_SKIP="neither the aws CLI nor python3-boto3 is installed"
		return 1
	fi
	# memstore keeps the objects in memory: the two copies of a round, and slack
	CEPH_MEMSTORE_BYTES=$((3 * BIG + 1024 * MiB))
	need_kb=$((CEPH_MEMSTORE_BYTES / 1024 + 1024 * 1024))
	avail_kb=$(awk '/MemAvailable/ { print $2 }' /proc/meminfo)
	if [ "$avail_kb" -lt "$need_kb" ]; then
		S3_SKIP="needs $((need_kb / 1024 / 1024)) GiB of free memory for the Ceph memstore"
		return 1
	fi
	. "$HERE/../tests/s3/ceph.sh"
	say "bench: starting a one-node Ceph cluster with RGW (tests/s3/ceph.sh)"
	if ! ceph_start "$W/s3-ceph" >>"$LOG" 2>&1; then
		ceph_stop || true
		S3_SKIP="the Ceph cluster did not start (logs in $W/s3-ceph/log)"
		return 1
	fi
	export RGW_ENDPOINT AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$S3_SECRET
	export AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
	unset AWS_SESSION_TOKEN AWS_PROFILE
	s3_mb >>"$LOG" 2>&1 || { S3_SKIP="cannot create the bucket (see $LOG)"; return 1; }
}

# s3_version REPO: a new version of model.bin (its own oid) in REPO, its
# store object read into the page cache; its oid and object in OID, OBJ.
s3_version() {
	freshen "$1/model.bin"
	"$P4REG" -C "$1" -q add model.bin >/dev/null || die "add before the S3 push failed"
	oid=$(s3_oid "$1/model.bin.p4reg")
	obj=$1/.p4reg/objects/${oid:0:2}/${oid:2:2}/$oid
	cat "$obj" >/dev/null
}
# s3_clone REPO FROM: a fresh clone REPO with FROM's pointer (what git carries).
s3_clone() { rm -rf "$1"; s3_repo "$1"; cp "$2/model.bin.p4reg" "$1/"; }

s3_rounds() {
	local a=$W/s3-a b=$W/s3-b out=$W/s3-out.bin r bin oid obj s m e
	s3_repo "$a"
	cp "$DATA/big.bin" "$a/model.bin"
	say "bench: push and pull of $((BIG / MiB)) MiB to Ceph RGW vs $S3_PEER"
	for r in $(rounds); do
		for bin in $(s3_bins); do
			s3_version "$a"
			timed "$(s3_tag "$r" "$(s3_key s3_push "$bin")")" "$bin" -C "$a" -q push
			cat "$obj" >/dev/null
			[ "$bin" = "$P4REG" ] && timed "$(s3_tag "$r" s3_push_peer)" s3_up "$obj" "peer/$oid"
			# pull of that version into a fresh clone (copy mode)
			s3_clone "$b" "$a"
			timed "$(s3_tag "$r" "$(s3_key s3_pull "$bin")")" "$bin" -C "$b" -q pull
			cmp -s "$b/model.bin" "$obj" || die "S3 pull wrote other bytes"
			if [ "$bin" = "$P4REG" ]; then
				# the peer's download, then the same made durable
				rm -f "$out"
				s=$(date +%s%N)
				s3_down "peer/$oid" "$out" >/dev/null 2>>"$LOG" || die "the peer's download failed (see $LOG)"
				m=$(date +%s%N)
				sync "$out"
				e=$(date +%s%N)
				cmp -s "$out" "$obj" || die "the peer downloaded other bytes"
				SAMPLES[$(s3_tag "$r" s3_pull_peer)]+="$(( (m - s) / 1000 )) "
				SAMPLES[$(s3_tag "$r" s3_pull_peer_sync)]+="$(( (e - s) / 1000 )) "
				rm -f "$out"
				s3_drop "peer/$oid"
			fi
			# the memstore holds a round's objects only
			s3_drop "$(s3_objkey "$oid")"
			rm -f "$obj"
		done
	done
	# connections and requests, then peak memory: a push and a pull each, untimed
	s3_version "$a"
	s3_count push "$P4REG" -C "$a" -q push
	s3_clone "$b" "$a"
	s3_count pull "$P4REG" -C "$b" -q pull
	s3_drop "$(s3_objkey "$oid")"
	rm -f "$obj"
	s3_version "$a"
	s3_peak push "$P4REG" -C "$a" -q push
	s3_clone "$b" "$a"
	s3_peak pull "$P4REG" -C "$b" -q pull
	s3_peak peer_up s3_up "$obj" "peer/$oid"
	s3_peak peer_down s3_down "peer/$oid" "$out"
	s3_drop "peer/$oid" "$(s3_objkey "$oid")"
	rm -rf "$a" "$b" "$out"
}

s3_measure() {
	local prev
	if ! s3_start; then
		say "bench: SKIP the S3 rows: $S3_SKIP"
		return 0
	fi
	# the cluster goes with the benchmark, whichever way it ends
	prev=$(trap -p EXIT | sed "s/^trap -- '\(.*\)' EXIT\$/\1/")
	trap "ceph_stop || true; $prev" EXIT
	s3_rounds
	# (|| true: ceph.sh's functions are not written for set -e)
	ceph_stop || true
	trap "$prev" EXIT
}

# One row: LABEL P4REG_KEY PEER_LABEL PEER_KEY TARGET (e.g. "≤ 1.0", or "-").
s3_row() {
	local v p r shown target=$5 verdict=-
	v=$(median "$2"); p=$(median "$4"); r=$(ratio "$v" "$p")
	shown="$v ms"
	case "$1" in ↳*) shown="" ;; esac
	if [ "$target" != - ]; then
		verdict=$(verdict "$r" "<=" "${target#≤ }")
		target="$target×"
	fi
	echo "| $1 | $shown | $3 $p ms | ${r}× | $target | $verdict |"
}

s3_rows() {
	local mb=$((BIG / MiB)) x tag c v jobs=4
	if [ -n "$S3_SKIP" ]; then
		echo "| S3 push/pull $mb MiB vs aws s3 cp | skipped: $S3_SKIP | | | ≤ 1.0× | - |"
		return 0
	fi
	for x in "" _base; do
		[ "$x" = _base ] && [ -z "${S3_BASE:-}" ] && continue
		tag=""; [ "$x" = _base ] && tag=" [before: $(basename "$S3_BASE")]"
		s3_row "S3 push $mb MiB to Ceph RGW$tag" "s3_push$x" "$S3_PEER upload" s3_push_peer -
		s3_row "S3 pull $mb MiB from Ceph RGW (copy)$tag" "s3_pull$x" "$S3_PEER download" s3_pull_peer "≤ 1.0"
		s3_row "↳ vs $S3_PEER download + sync" "s3_pull$x" "$S3_PEER download + sync" s3_pull_peer_sync -
	done
	if [ -n "${S3_CONN[pull]:-}" ]; then
		c=$(max "${S3_CONN[pull]}" "${S3_CONN[push]}")
		v=$(awk -v c="$c" -v j="$jobs" 'BEGIN { print c <= j ? "met" : "unmet" }')
		echo "| S3 connections: pull / push | ${S3_CONN[pull]} for ${S3_REQS[pull]} requests / ${S3_CONN[push]} for ${S3_REQS[push]} requests | | | reused: ≤ jobs ($jobs) | $v |"
	else
		echo "| S3 connections: pull / push | strace missing | | | reused: ≤ jobs ($jobs) | - |"
	fi
	if [ -n "${S3_PEAK[pull]:-}" ]; then
		c=$(max "${S3_PEAK[pull]}" "${S3_PEAK[push]}")
		echo "| peak memory, S3 pull / push $mb MiB | ${S3_PEAK[pull]} / ${S3_PEAK[push]} MiB | $S3_PEER ${S3_PEAK[peer_down]} / ${S3_PEAK[peer_up]} MiB | | ≤ 32 MiB | $(verdict "$c" "<=" 32) |"
	fi
}

# ---- run alone ------------------------------------------------------------------

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	RUNS=5 WARMUP=1 SMOKE=0 MiB=$((1024 * 1024)) BIG=$((1024 * 1024 * 1024))
	while [ $# -gt 0 ]; do
		case "$1" in
		--runs) RUNS=${2:?--runs needs a number}; shift ;;
		--smoke) RUNS=1 WARMUP=0 SMOKE=1 BIG=$((4 * MiB)) ;;
		--size) BIG=$(( ${2:?--size needs MiB} * MiB )); shift ;;
		*) echo "usage: P4REG_BIN=... bash bench/s3.sh [--runs N] [--size MIB] [--smoke]" >&2; exit 2 ;;
		esac
		shift
	done
	HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	# shellcheck source=lib.sh
	. "$HERE/lib.sh"
	alone_setup s3 "${S3_DATA:-}"
	s3_measure
	print_header
	s3_rows
	print_samples
	echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
fi
