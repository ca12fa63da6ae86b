#!/usr/bin/env bash
# bench/dedup.sh: the figures of issue 19 (store and transfer only the bytes
# that changed). One run generates a safetensors-like series (about 1 GiB,
# 24 layers of random F16 tensors; bench/gen_safetensors.py, seeded):
#
#   v1 base, v2 = 3 layers rewritten, v3 = ~100 bytes more header metadata
#   (every data offset shifts), v4 = one tensor appended, v5 = v1 again,
#   v6 = a full fine-tune (every weight changed: where dedup cannot help)
#
# and, in one repository, adds each version (timed beside `openssl dgst
# -sha256` of the same file) and pushes it to a folder remote as p4reg
# writes it by default and to one with `remote.NAME.format 1` (whole
# objects: the git-lfs / DVC way), then to the same two kinds of remote on a
# throw-away Ceph RGW (tests/s3/ceph.sh, started through bench/s3.sh's
# s3_start) when radosgw is installed. Per push: bytes uploaded (push
# --json "bytes_sent") and the bytes each remote holds after it (the sum of
# the sizes of every file under the folder, or of every key under the S3
# prefix, as listed: event log and format marker included). Then a second
# clone that has v2 pulls v1 from each remote; the bytes it moved are the
# bytes the p4reg process read from the remote (strace -yy: the return
# values of read/pread/recv... on descriptors open on a file under the
# remote folder or on a TCP connection to RGW, HTTP headers included),
# shown beside the pull's own "bytes_received". Each pull is timed in one
# run and counted in a second, identical one (strace slows it).
#
# Targets (issue 19): remote bytes after v5 <= 1.15 x (v1 + the bytes v2..v5
# changed, as the generator counts them); v2's push uploads <= 15 % of v1's;
# a v1 pull on a machine with v2 moves <= 15 % of v1's bytes; add slows
# <= 10 % (measured against DEDUP_BASE=/path/to/older/p4reg when set, in the
# same rounds; else add / openssl is shown, unjudged). v6 is information.
#
# bench/run.sh sources this file and calls dedup_measure, then dedup_rows in
# its table and dedup_table under it. Run alone:
#
#   P4REG_BIN=build-rel/p4reg bash bench/dedup.sh [--smoke] [--size MIB] [--keep]
#
# --smoke: ~8 MiB, the same shape (seconds; bench/run.sh --smoke runs it).

DEDUP_SEED=${DEDUP_SEED:-19}
DEDUP_VERSIONS="1 2 3 4 5 6"
DEDUP_SKIP=""        # why nothing was measured
DEDUP_RGW_SKIP=""    # why the RGW part was not
DEDUP_STRACE=0
declare -A DD=()     # figures: DD[size_1], DD[sent_f2_1], DD[stored_r1_6], ...

# The remotes: folder and RGW, p4reg's default format and whole objects.
dedup_remotes() { echo "f2 f1"; [ -n "$DEDUP_RGW_SKIP" ] || echo "r2 r1"; }
dedup_label() {
	case $1 in
	f2) echo "folder, p4reg" ;; f1) echo "folder, whole-file" ;;
	r2) echo "RGW, p4reg" ;; r1) echo "RGW, whole-file" ;;
	esac
}

# The figures p4reg and the generator printed: one JSON document per step
# in $W/dedup-json/ (gen_V, push_R_V, pull_R), read in one pass at the end
# (an interpreter per number would cost seconds) into DD[size_V],
# DD[changed_V], DD[what_V], DD[sent_R_V], DD[received_R].
dedup_collect() {
	local k v
	while IFS=$'\t' read -r k v; do DD[$k]=$v; done < <("$DEDUP_PY" - "$W/dedup-json" <<'PY'
import json, os, sys
d = sys.argv[1]
for name in sorted(os.listdir(d)):
    doc = json.load(open(os.path.join(d, name)))
    step, key = name[:-5].split("_", 1)
    if step == "gen":
        for f in ("size", "changed", "what"):
            print(f"{f}_{key}\t{doc[f]}")
    elif step == "push":
        print(f"sent_{key}\t{doc['objects']['bytes_sent']}")
    elif step == "pull":
        print(f"received_{key}\t{doc['objects']['bytes_received']}")
PY
	)
}

# dedup_p4reg STEP ARGS...: p4reg --json ARGS, its document kept as STEP.
dedup_p4reg() {
	local step=$1
	shift
	"$P4REG" --json "$@" >"$W/dedup-json/$step.json"
}

# The S3 listing: boto3 in one process for the run, which answers each line
# of prefixes with their bytes (importing boto3 takes ~0.3 s); else the aws
# CLI, once per prefix.
DEDUP_LS_PY='
import os, sys
try:
    import boto3
except ImportError:
    print("no")
    sys.exit(0)
s3 = boto3.client("s3", endpoint_url=os.environ["RGW_ENDPOINT"], region_name="us-east-1")
print("ready")
for line in sys.stdin:
    sizes = []
    for prefix in line.split():
        n = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[1], Prefix=prefix):
            n += sum(o["Size"] for o in page.get("Contents", []))
        sizes.append(str(n))
    print(" ".join(sizes))
'
dedup_lister_start() {
	local ok=""
	DEDUP_LIST=aws
	coproc DEDUP_LS { exec "$DEDUP_PY" -u -c "$DEDUP_LS_PY" "$S3_BUCKET" 2>>"$LOG"; }
	read -r ok <&"${DEDUP_LS[0]}" || true
	# shellcheck disable=SC2153 # (coproc sets DEDUP_LS_PID)
	if [ "$ok" = ready ]; then DEDUP_LIST=boto3; else wait "$DEDUP_LS_PID" 2>/dev/null || true; fi
}
dedup_lister_stop() {
	[ "${DEDUP_LIST:-}" = boto3 ] || return 0
	local pid=$DEDUP_LS_PID
	eval "exec ${DEDUP_LS[1]}>&-"
	wait "$pid" 2>/dev/null || true
	DEDUP_LIST=aws
}

# Bytes held by remote NAME...: every file under the folder, every key
# under the S3 prefix; one line each.
dedup_stored() {
	local r s3=() sizes
	for r in "$@"; do
		case $r in
		f*) find "$W/dedup-remote-$r" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }' ;;
		r*) s3+=("dedup-$r/") ;;
		esac
	done
	[ ${#s3[@]} -gt 0 ] || return 0
	if [ "$DEDUP_LIST" = boto3 ]; then
		echo "${s3[*]}" >&"${DEDUP_LS[1]}"
		read -r sizes <&"${DEDUP_LS[0]}" || die "the S3 listing (boto3) failed (see $LOG)"
		# shellcheck disable=SC2086 # (one number a line)
		printf '%s\n' $sizes
	else
		for r in "${s3[@]}"; do
			s3_peer s3 ls --recursive --summarize "s3://$S3_BUCKET/$r" 2>>"$LOG" |
				awk '/Total Size:/ { print $3 }'
		done
	fi
}

# The bytes the traced process read from descriptors whose strace -yy
# annotation contains PATTERN (a folder "</path/" or a socket "->ip:port]"):
# read, pread64, readv, preadv(2), recvfrom, recvmsg, copy_file_range and
# splice from it, sendfile's source, and an mmap of it (its length).
dedup_traced_bytes() {
	"$DEDUP_PY" - "$1" "$2" <<'PY'
import re, sys
trace, pat = sys.argv[1], sys.argv[2]
pending, total = {}, 0
call = re.compile(r'^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+|0x[0-9a-f]+)')
for line in open(trace, errors="replace"):
    line = line.rstrip("\n")
    m = re.match(r'^(\d+)\s+(.*) <unfinished \.\.\.>$', line)
    if m:
        pending[m.group(1)] = m.group(2)
        continue
    m = re.match(r'^(\d+)\s+<\.\.\. \w+ resumed>(.*)$', line)
    if m:
        line = m.group(1) + " " + pending.pop(m.group(1), "") + m.group(2)
    m = call.match(line)
    if not m:
        continue
    name, args, ret = m.group(2), m.group(3), m.group(4)
    # an annotation ends at the ">" before ", " or the end ("->" is inside a socket's)
    fds = re.findall(r'(\d+)<(.*?)>(?=, |$)', args)
    if name in ("read", "pread64", "readv", "preadv", "preadv2", "recvfrom", "recvmsg",
                "copy_file_range", "splice"):
        src = fds[0][1] if fds else ""
    elif name == "sendfile":
        src = fds[1][1] if len(fds) > 1 else ""
    elif name == "mmap":
        src = fds[0][1] if fds else ""
        if pat in "<" + src and not ret.startswith("-"):
            total += int(args.split(",")[1])
        continue
    else:
        continue
    if pat in "<" + src and not ret.startswith("-") and not ret.startswith("0x"):
        total += int(ret)
print(total)
PY
}

# The remote's pattern for dedup_traced_bytes.
dedup_pattern() {
	case $1 in
	f*) echo "<$W/dedup-remote-$1/" ;;
	r*) echo "->127.0.0.1:$RGW_PORT]" ;;
	esac
}

# The store object (and chunk list) of OID in the repository REPO, removed.
dedup_drop() {
	local p=${2:0:2}/${2:2:2}/$2
	rm -f "$1/.p4reg/objects/$p" "$1/.p4reg/chunks/$p"
}

# The series: generate each version into the work tree, add, push everywhere.
dedup_series() {
	local dev=$W/dedup-dev base=$W/dedup-base v f r obj oid
	f=$dev/models/m.safetensors
	for v in $DEDUP_VERSIONS; do
		say "bench: dedup v$v of $((DEDUP_SIZE / MiB)) MiB: generate, add, push to $(dedup_remotes | xargs)"
		"$DEDUP_PY" "$HERE/gen_safetensors.py" --size "$DEDUP_SIZE" --seed "$DEDUP_SEED" \
			--version "$v" "$f" >"$W/dedup-json/gen_$v.json" || die "gen_safetensors.py failed"
		timed "dedup_ssl_$v" openssl dgst -sha256 "$f"
		timed "dedup_add_$v" "$P4REG" -C "$dev" -q add models/m.safetensors
		if [ -n "${DEDUP_BASE:-}" ]; then
			rm -f "$base/models/m.safetensors"
			ln "$f" "$base/models/m.safetensors"
			timed "dedup_add_base_$v" "$DEDUP_BASE" -C "$base" -q add models/m.safetensors
		fi
		oid=$(s3_oid "$f.p4reg")
		DD[oid_$v]=$oid
		obj=$dev/.p4reg/objects/${oid:0:2}/${oid:2:2}/$oid
		for r in $(dedup_remotes); do
			# add wrote the object around the page cache: warm for every push alike
			cat "$obj" >/dev/null
			timed "dedup_push_${r}_$v" dedup_p4reg "push_${r}_$v" -C "$dev" push -r "$r"
			case $r in f*) DD[stored_${r}_$v]=$(dedup_stored "$r") ;; esac
		done
		if [ -z "$DEDUP_RGW_SKIP" ]; then
			# after both pushes: each has its own prefix
			{ read -r "DD[stored_r2_$v]"; read -r "DD[stored_r1_$v]"; } < <(dedup_stored r2 r1)
		fi
	done
	if [ -f "$W/dedup-remote-f2/p4reg-format.json" ]; then
		DD[format_f2]=$(tr -d ' \n' <"$W/dedup-remote-f2/p4reg-format.json")
	else
		DD[format_f2]="no p4reg-format.json: whole objects (format 1)"
	fi
	git -C "$dev" add -A >/dev/null 2>&1
	git -C "$dev" commit -qm "the series" >/dev/null 2>&1 || die "git commit of the series failed"
}

# A clone with v2 (pulled from the first remote, checked out) pulls v1 from
# each remote: timed, then counted under strace after putting v2 back.
dedup_pulls() {
	local dev=$W/dedup-dev c=$W/dedup-clone r first=1 trace=$W/dedup-trace
	rm -rf "$c"
	git clone -q "$dev" "$c" || die "git clone of the series failed"
	git -C "$c" config user.name bench
	git -C "$c" config user.email bench@example.invalid
	# credentials' trust (remote add --endpoint) is machine-local: the same here
	[ ! -f "$dev/.p4reg/config.local" ] || cp "$dev/.p4reg/config.local" "$c/.p4reg/"
	for r in $(dedup_remotes); do
		if [ "$first" = 1 ]; then
			say "bench: dedup: a second clone pulls v2, then v1 from each remote"
			"$P4REG" -C "$c" -q pull -r "$r" m@2 >/dev/null 2>>"$LOG" || die "pull m@2 failed (see $LOG)"
			first=0
		fi
		dedup_reset "$c"
		timed "dedup_pull_$r" dedup_p4reg "pull_$r" -C "$c" pull -r "$r" m@1
		[ "$(sha256sum <"$c/models/m.safetensors" | cut -d' ' -f1)" = "${DD[oid_1]}" ] ||
			die "pull of m@1 from '$r' wrote other bytes"
		if [ "$DEDUP_STRACE" = 1 ]; then
			dedup_reset "$c"
			# (a sanitized build's leak check cannot run under ptrace)
			ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -yy -s 0 -e signal=none \
				-e trace=read,pread64,readv,preadv,preadv2,recvfrom,recvmsg,copy_file_range,sendfile,splice,mmap \
				-o "$trace" "$P4REG" -C "$c" -q pull -r "$r" m@1 >/dev/null 2>>"$LOG" ||
				die "pull of m@1 from '$r' failed under strace (see $LOG)"
			DD[read_$r]=$(dedup_traced_bytes "$trace" "$(dedup_pattern "$r")")
			rm -f "$trace"
		fi
	done
	rm -rf "$c"
}

# The clone C back to "has v2, not v1": v2 checked out, v1's object gone.
dedup_reset() {
	"$P4REG" -C "$1" -q checkout m@2 >/dev/null 2>>"$LOG" || die "checkout m@2 failed (see $LOG)"
	dedup_drop "$1" "${DD[oid_1]}"
}

# Starts the RGW through bench/s3.sh (memstore sized for both remotes'
# bytes); DEDUP_RGW_SKIP says why not. S3_SKIP is s3.sh's own: kept.
dedup_rgw_start() {
	local keep_skip=${S3_SKIP:-}
	# s3_start's cluster folder; a run of s3_measure before left it (stopped)
	rm -rf "$W/s3-ceph"
	if ! BIG=$((3 * DEDUP_SIZE)) s3_start; then
		DEDUP_RGW_SKIP=$S3_SKIP
		S3_SKIP=$keep_skip
		return 1
	fi
	S3_SKIP=$keep_skip
	dedup_lister_start
}

dedup_measure() {
	local dev=$W/dedup-dev base=$W/dedup-base need_kb prev r
	DEDUP_SIZE=${DEDUP_SIZE:-$([ "$SMOKE" = 1 ] && echo $((8 * MiB)) || echo $((1024 * MiB)))}
	command -v python3 >/dev/null 2>&1 || { DEDUP_SKIP="python3 is missing (the generator)"; return 0; }
	# the interpreter itself: a version manager's shim costs ~0.15 s a call
	DEDUP_PY=$(python3 -c 'import sys; print(sys.executable)')
	# the store (5 distinct versions), the work file, the remotes (whole-file:
	# 5 versions, p4reg: up to as many), the clone (2 versions, 1 file), base
	need_kb=$(( (5 + 1 + 10 + 3) * DEDUP_SIZE / 1024 + 262144 ))
	[ -z "${DEDUP_BASE:-}" ] || need_kb=$((need_kb + 5 * DEDUP_SIZE / 1024))
	if [ "$(df -Pk "$W" | awk 'NR == 2 { print $4 }')" -lt "$need_kb" ]; then
		DEDUP_SKIP="needs about $((need_kb / 1024)) MiB free in $W"
		say "bench: SKIP the dedup rows: $DEDUP_SKIP"
		return 0
	fi
	DEDUP_STRACE=0
	command -v strace >/dev/null 2>&1 && DEDUP_STRACE=1
	rm -rf "$W/dedup-json"
	mkdir -p "$W/dedup-json"
	new_repo "$dev"
	mkdir -p "$dev/models"
	"$P4REG" -C "$dev" -q remote add f2 "$W/dedup-remote-f2" >/dev/null 2>&1 || die "remote add f2 failed"
	"$P4REG" -C "$dev" -q remote add f1 "$W/dedup-remote-f1" >/dev/null 2>&1 || die "remote add f1 failed"
	"$P4REG" -C "$dev" config remote.f1.format 1 >/dev/null || die "config remote.f1.format 1 failed"
	if [ -n "${DEDUP_BASE:-}" ]; then
		new_repo "$base"
		mkdir -p "$base/models"
	fi
	prev=$(trap -p EXIT | sed "s/^trap -- '\(.*\)' EXIT\$/\1/")
	DEDUP_RGW_SKIP=""
	if dedup_rgw_start; then
		# the cluster goes with the benchmark, whichever way it ends
		# shellcheck disable=SC2064 # (the trap there was before, now)
		trap "ceph_stop || true; $prev" EXIT
		for r in r2 r1; do
			"$P4REG" -C "$dev" -q remote add --endpoint "$RGW_ENDPOINT" --path-style "$r" \
				"s3://$S3_BUCKET/dedup-$r" >/dev/null 2>&1 || die "remote add $r failed"
		done
		"$P4REG" -C "$dev" config remote.r1.format 1 >/dev/null || die "config remote.r1.format 1 failed"
	else
		say "bench: dedup: SKIP the RGW part: $DEDUP_RGW_SKIP"
	fi
	dedup_series
	dedup_pulls
	dedup_collect
	if [ -z "$DEDUP_RGW_SKIP" ]; then
		dedup_lister_stop
		# (|| true: ceph.sh's functions are not written for set -e)
		ceph_stop || true
		# shellcheck disable=SC2064
		trap "$prev" EXIT
	fi
	if [ "${KEEP:-0}" = 0 ]; then rm -rf "$dev" "$base" "$W"/dedup-remote-* "$W/dedup-json"; fi
}

# ---- the figures ----------------------------------------------------------------

# Bytes as KiB, MiB or GiB.
dedup_b() {
	awk -v b="$1" 'BEGIN { if (b == "") print "-"; else if (b < 1048576) printf "%.1f KiB\n", b / 1024;
		else if (b < 1073741824) printf "%.1f MiB\n", b / 1048576; else printf "%.2f GiB\n", b / 1073741824 }'
}
dedup_pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.1f %%\n", 100 * a / b }'; }
# What a perfect dedup stores after version V: v1 + the bytes v2..V changed.
dedup_ideal() {
	local v n=0
	for v in $DEDUP_VERSIONS; do
		[ "$v" -le "$1" ] && n=$((n + ${DD[changed_$v]}))
	done
	echo "$n"
}
dedup_sum() {
	local v n=0
	for v in $DEDUP_VERSIONS; do n=$((n + ${SAMPLES[$1_$v]%% *})); done
	awk -v n="$n" 'BEGIN { printf "%.1f\n", n / 1000 }'
}

# The target rows, in bench/run.sh's table.
dedup_rows() {
	local p w kind ideal r v a s where
	if [ -n "$DEDUP_SKIP" ]; then
		echo "| dedup (issue 19) | skipped: $DEDUP_SKIP | | | | - |"
		return 0
	fi
	ideal=$(dedup_ideal 5)
	for kind in f r; do
		p=${kind}2 w=${kind}1
		if [ "$kind" = r ] && [ -n "$DEDUP_RGW_SKIP" ]; then
			echo "| dedup on Ceph RGW | skipped: $DEDUP_RGW_SKIP | | | | - |"
			continue
		fi
		where=$([ "$kind" = f ] && echo "folder" || echo "RGW")
		r=$(ratio "${DD[stored_${p}_5]}" "$ideal")
		echo "| dedup: $where remote bytes after v1..v5 | $(dedup_b "${DD[stored_${p}_5]}") | v1 + changed $(dedup_b "$ideal") | ${r}× | ≤ 1.15× | $(verdict "$r" "<=" 1.15) |"
		echo "| ↳ whole-file (remote.NAME.format 1: git-lfs, DVC) | | $(dedup_b "${DD[stored_${w}_5]}") | $(ratio "${DD[stored_${w}_5]}" "$ideal")× | | |"
		r=$(ratio "${DD[sent_${p}_2]}" "${DD[sent_${p}_1]}")
		echo "| dedup: $where v2 push (3 layers changed) uploads | $(dedup_b "${DD[sent_${p}_2]}") | v1's push $(dedup_b "${DD[sent_${p}_1]}") | ${r}× | ≤ 0.15× | $(verdict "$r" "<=" 0.15) |"
		echo "| ↳ whole-file | | $(dedup_b "${DD[sent_${w}_2]}") of $(dedup_b "${DD[sent_${w}_1]}") | $(ratio "${DD[sent_${w}_2]}" "${DD[sent_${w}_1]}")× | | |"
		if [ -n "${DD[read_$p]:-}" ]; then
			r=$(ratio "${DD[read_$p]}" "${DD[size_1]}")
			echo "| dedup: $where v1 pull on a machine with v2 reads | $(dedup_b "${DD[read_$p]}") (strace) | v1 $(dedup_b "${DD[size_1]}") | ${r}× | ≤ 0.15× | $(verdict "$r" "<=" 0.15) |"
			echo "| ↳ whole-file | | $(dedup_b "${DD[read_$w]}") | $(ratio "${DD[read_$w]}" "${DD[size_1]}")× | | |"
		else
			r=$(ratio "${DD[received_$p]}" "${DD[size_1]}")
			echo "| dedup: $where v1 pull on a machine with v2 receives | $(dedup_b "${DD[received_$p]}") (its own count; strace missing) | v1 $(dedup_b "${DD[size_1]}") | ${r}× | ≤ 0.15× | $(verdict "$r" "<=" 0.15) |"
		fi
		a=$(dedup_sum "dedup_push_$p"); v=$(dedup_sum "dedup_push_$w")
		echo "| dedup: $where pushes v1..v6 (sum) | $a ms | whole-file $v ms | $(ratio "$a" "$v")× | - | - |"
		a=$(median "dedup_pull_$p"); v=$(median "dedup_pull_$w")
		echo "| dedup: $where v1 pull on a machine with v2 | $a ms | whole-file $v ms | $(ratio "$a" "$v")× | - | - |"
		r=$(ratio "${DD[sent_${p}_6]}" "${DD[size_6]}")
		echo "| dedup: $where v6 push, full fine-tune (information) | $(dedup_b "${DD[sent_${p}_6]}") | v6 $(dedup_b "${DD[size_6]}") | ${r}× | - | - |"
	done
	a=$(dedup_sum dedup_add); s=$(dedup_sum dedup_ssl)
	if [ -n "${DEDUP_BASE:-}" ]; then
		v=$(dedup_sum dedup_add_base); r=$(ratio "$a" "$v")
		echo "| dedup: add v1..v6 (sum) | $a ms | before ($(basename "$DEDUP_BASE")) $v ms | ${r}× | ≤ 1.10× | $(verdict "$r" "<=" 1.10) |"
		echo "| ↳ vs openssl dgst -sha256 | | $s ms | $(ratio "$a" "$s")× | | |"
	else
		echo "| dedup: add v1..v6 (sum; DEDUP_BASE unset: no before) | $a ms | openssl dgst -sha256 $s ms | $(ratio "$a" "$s")× | slows ≤ 10 % | - |"
	fi
}

# The per-version tables, under bench/run.sh's table.
dedup_table() {
	local v kind p w r add bound
	[ -z "$DEDUP_SKIP" ] || return 0
	echo
	echo "dedup series (bench/gen_safetensors.py --seed $DEDUP_SEED, 24 layers; \"changed\": bytes in no earlier version)."
	echo "f2: folder remote, p4reg's default format (${DD[format_f2]}); f1: remote.f1.format 1, whole objects as git-lfs/DVC store them."
	echo "stored: every file (folder) or key (S3) under the remote, as listed after the push; bound: 1.15 × (v1 + changed so far)."
	for kind in f r; do
		[ "$kind" = r ] && [ -n "$DEDUP_RGW_SKIP" ] && { echo; echo "RGW: skipped: $DEDUP_RGW_SKIP"; continue; }
		p=${kind}2 w=${kind}1
		echo
		if [ "$kind" = f ]; then
			echo "| folder remotes | change | file | changed | add (openssl) | uploaded p4reg / whole-file | stored p4reg / whole-file | bound | push p4reg / whole-file |"
			echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
		else
			echo "| Ceph RGW remotes | change | file | changed | uploaded p4reg / whole-file | stored p4reg / whole-file | bound | push p4reg / whole-file |"
			echo "|---|---|---:|---:|---:|---:|---:|---:|"
		fi
		for v in $DEDUP_VERSIONS; do
			add=""
			[ "$kind" = f ] && add=" $(median "dedup_add_$v") ms ($(median "dedup_ssl_$v") ms) |"
			bound=$(awk -v n="$(dedup_ideal "$v")" 'BEGIN { printf "%.0f", 1.15 * n }')
			echo "| v$v | ${DD[what_$v]} | $(dedup_b "${DD[size_$v]}") | $(dedup_b "${DD[changed_$v]}") |$add $(dedup_b "${DD[sent_${p}_$v]}") / $(dedup_b "${DD[sent_${w}_$v]}") | $(dedup_b "${DD[stored_${p}_$v]}") / $(dedup_b "${DD[stored_${w}_$v]}") | $(dedup_b "$bound") | $(median "dedup_push_${p}_$v") / $(median "dedup_push_${w}_$v") ms |"
		done
	done
	echo
	echo "| pull v1 on a clone that has v2 | bytes read from the remote (strace) | bytes_received (p4reg's count) | of v1's bytes | time |"
	echo "|---|---:|---:|---:|---:|"
	for r in $(dedup_remotes); do
		echo "| $(dedup_label "$r") | $(dedup_b "${DD[read_$r]:-}") | $(dedup_b "${DD[received_$r]}") | $(dedup_pct "${DD[read_$r]:-${DD[received_$r]}}" "${DD[size_1]}") | $(median "dedup_pull_$r") ms |"
	done
}

# ---- run alone ------------------------------------------------------------------

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	SMOKE=0 KEEP=0 MiB=$((1024 * 1024)) DEDUP_SIZE=""
	while [ $# -gt 0 ]; do
		case "$1" in
		--smoke) SMOKE=1 ;;
		--size) DEDUP_SIZE=$(( ${2:?--size needs MiB} * MiB )); shift ;;
		--keep) KEEP=1 ;;
		*) echo "usage: P4REG_BIN=... bash bench/dedup.sh [--smoke] [--size MIB] [--keep]" >&2; exit 2 ;;
		esac
		shift
	done
	[ -n "$DEDUP_SIZE" ] || unset DEDUP_SIZE
	HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	ROOT=$(dirname "$HERE")
	P4REG=$(realpath "${P4REG_BIN:?P4REG_BIN must name the p4reg binary}")
	[ -z "${DEDUP_BASE:-}" ] || DEDUP_BASE=$(realpath "$DEDUP_BASE")
	DATA=$(mktemp -d "${TMPDIR:-/tmp}/p4reg-dedup.XXXXXX")
	W=$DATA/work
	mkdir -p "$W"
	LOG=$W/bench.log
	if [ "$KEEP" = 0 ]; then trap 'rm -rf "$DATA"' EXIT; else trap 'say "bench: kept $DATA"' EXIT; fi
	# shellcheck source=lib.sh
	. "$HERE/lib.sh"
	# s3_start, s3_peer, s3_oid (only defines functions when sourced)
	# shellcheck source=s3.sh
	. "$HERE/s3.sh"
	new_repo() {
		mkdir -p "$1" && git -C "$1" init -q && git -C "$1" config user.name bench &&
			git -C "$1" config user.email bench@example.invalid && "$P4REG" -C "$1" -q init
	}
	command -v openssl >/dev/null || die "openssl is required"
	dedup_measure
	print_header
	dedup_rows
	dedup_table
	echo
	echo "p4reg $("$P4REG" --version | awk '{ print $2 }') ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)$([ "$SMOKE" = 1 ] && echo ', SMOKE: the times mean nothing')"
	print_samples
fi
