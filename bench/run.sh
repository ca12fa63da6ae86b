#!/usr/bin/env bash
# bench/run.sh: p4reg's benchmark (DESIGN.md §8, issue 8). Creates its own
# data, times p4reg and its peers (openssl, cp, dd conv=fsync, git-lfs) in the
# same run, and prints a table of medians and ratios. Nothing here asserts a
# timing: --smoke runs every case once on tiny data so the script cannot rot.
#
#   bash bench/run.sh            # full run: ~5 GiB of data, ~10 minutes
#   bash bench/run.sh --smoke    # tiny sizes, one run each (the test suite)
#
# P4REG_BIN names the binary; without it a Release build is made in
# build-bench/. Data goes to bench/data/ (gitignored), or to a temporary
# folder under $TMPDIR in smoke mode, and is removed at the end unless --keep.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bash bench/run.sh [--smoke] [--runs N] [--data DIR] [--out FILE] [--keep]

  --smoke      tiny sizes, one run per case, no warm-up (seconds; used by ctest)
  --runs N     measured runs per large-file case (default 5; small commands 20)
  --data DIR   where to create the data (default bench/data, smoke: $TMPDIR)
  --out FILE   also write the table (markdown) to FILE
  --keep       keep the generated data and scratch repositories
EOF
}

SMOKE=0 RUNS=5 DATA="" OUT="" KEEP=0
while [ $# -gt 0 ]; do
	case "$1" in
	--smoke) SMOKE=1 ;;
	--runs) RUNS=${2:?--runs needs a number}; shift ;;
	--data) DATA=${2:?--data needs a folder}; shift ;;
	--out) OUT=${2:?--out needs a file}; shift ;;
	--keep) KEEP=1 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "bench: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
MiB=$((1024 * 1024))

if [ "$SMOKE" = 1 ]; then
	BIG=$((4 * MiB)); HUGE=$((6 * MiB)); SMALL=$((1 * MiB)); NSMALL=8
	SHARD=$((1 * MiB)); NTINY=100
	NMODELS=5; VPER=4; NMETRICS=5; NWHERE=20
	RUNS=1; FAST_RUNS=2; WARMUP=0
else
	BIG=$((1024 * MiB)); HUGE=$((3072 * MiB)); SMALL=$((128 * MiB)); NSMALL=8
	SHARD=$((256 * MiB)); NTINY=10000
	NMODELS=100; VPER=100; NMETRICS=100; NWHERE=10000
	FAST_RUNS=20; WARMUP=1
fi

# say, die, timed, median, fast, ratio, verdict ...: one copy for every bench
# shellcheck source=lib.sh
. "$HERE/lib.sh"

# ---- dependencies -----------------------------------------------------------

# A missing tool means the benchmark cannot run here: SKIP (exit 77, ctest's
# SKIP_RETURN_CODE), not a failure and not a pass.
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	say "SKIP bench: '$1' is required (apt-get install $2)"
	exit 77
}
need openssl openssl
need git git
need dd coreutils
HAVE_HYPERFINE=0; command -v hyperfine >/dev/null 2>&1 && HAVE_HYPERFINE=1
HAVE_LFS=0; git lfs version >/dev/null 2>&1 && HAVE_LFS=1
if [ ! -x /usr/bin/time ] && [ "$SMOKE" = 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	say "bench: installing package 'time' for peak memory (/usr/bin/time -v)"
	apt-get install -y -qq time >/dev/null 2>&1 || true
fi
HAVE_TIME=0; [ -x /usr/bin/time ] && HAVE_TIME=1
# The big registry is written with SQL: the sqlite3 shell, else Python's module.
if command -v sqlite3 >/dev/null 2>&1; then
	run_sql() { sqlite3 "$1"; }
elif command -v python3 >/dev/null 2>&1 && python3 -c 'import sqlite3' 2>/dev/null; then
	run_sql() { python3 -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1], isolation_level=None).executescript(sys.stdin.read())' "$1"; }
else
	die "the registry case needs the sqlite3 shell (apt-get install sqlite3) or python3"
fi

if [ -z "${P4REG_BIN:-}" ]; then
	say "bench: building a Release binary in build-bench/"
	cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release \
		-DP4REG_SANITIZE=OFF -DP4REG_TESTS=OFF >/dev/null
	cmake --build "$ROOT/build-bench" --target p4reg -j"$(nproc)" >/dev/null
	P4REG_BIN=$ROOT/build-bench/p4reg
fi
P4REG=$(realpath "$P4REG_BIN")
[ -x "$P4REG" ] || die "'$P4REG' is not executable"

# ---- data -------------------------------------------------------------------

if [ -z "$DATA" ]; then
	if [ "$SMOKE" = 1 ]; then
		DATA=$(mktemp -d "${TMPDIR:-/tmp}/p4reg-bench.XXXXXX")
	else
		DATA=$HERE/data
	fi
fi
mkdir -p "$DATA"
DATA=$(realpath "$DATA")
W=$DATA/work
rm -rf "$W"
mkdir -p "$W"
cleanup() {
	if [ "$KEEP" = 0 ]; then
		rm -rf "$W"
		if [ "$SMOKE" = 1 ]; then rm -rf "$DATA"; else rm -f "$DATA"/*.bin; fi
	fi
}
trap cleanup EXIT

# inputs + a store copy of each + peers' outputs, with slack
# (get: two versions on the remote, in the cache, the deployed file, cp's copy)
NEED_KB=$(( (2 * (BIG + HUGE + NSMALL * SMALL + 4 * SHARD + NTINY * 4096) + 2 * BIG + 7 * BIG + 6 * BIG) / 1024 + 1024 * 1024 ))
AVAIL_KB=$(df -Pk "$DATA" | awk 'NR == 2 { print $4 }')
[ "$AVAIL_KB" -ge "$NEED_KB" ] || die "needs about $((NEED_KB / 1024 / 1024)) GiB free in $DATA"

# Random bytes (so no file system can compress or share them), reused when
# an earlier --keep run left a file of the right size.
gen() {
	local f=$1 size=$2
	if [ ! -f "$f" ] || [ "$(stat -c %s "$f")" != "$size" ]; then
		say "bench: creating $(basename "$f") ($((size / MiB)) MiB)"
		head -c "$size" /dev/urandom >"$f.tmp"
		mv "$f.tmp" "$f"
	fi
}
gen "$DATA/big.bin" "$BIG"
gen "$DATA/huge.bin" "$HUGE"
for i in $(seq 1 "$NSMALL"); do gen "$DATA/small$i.bin" "$SMALL"; done
for i in 1 2 3 4; do gen "$DATA/shard$i.bin" "$SHARD"; done

# A scratch repository: its own git work tree, so p4reg's root is here.
new_repo() {
	mkdir -p "$1"
	git -C "$1" init -q
	git -C "$1" config user.name bench
	git -C "$1" config user.email bench@example.invalid
	"$P4REG" -C "$1" -q init
}

# Appends a few bytes no run has written before: a new oid every time.
NONCE=0
freshen() {
	local f
	for f in "$@"; do
		NONCE=$((NONCE + 1))
		printf 'p4reg-bench %s %s %s\n' "$$" "$NONCE" "$(date +%s%N)" >>"$f"
	done
}

fstype() { findmnt -no FSTYPE -T "$1" 2>/dev/null || stat -f -c %T "$1"; }
drop_objects() { find "$1/.p4reg/objects" -type f -delete; }

# ---- timing -----------------------------------------------------------------

LOG=$W/bench.log
# timed, median, fast, rounds, record: bench/lib.sh
. "$HERE/startup.sh"

say "bench: p4reg $("$P4REG" --version | awk '{ print $2 }'), data in $DATA"

# ---- add of a new file vs openssl, cp, dd conv=fsync, git-lfs ----------------

RA=$W/add
new_repo "$RA"
cp "$DATA/big.bin" "$RA/model.bin"
# the same with core.cacheType = hardlink: the store links the file, so add
# costs the hash alone (the work tree file becomes the read-only object)
RH=$W/hardlink
new_repo "$RH"
"$P4REG" -C "$RH" config --local core.cacheType hardlink
cp "$DATA/big.bin" "$RH/model.bin"
if [ "$HAVE_LFS" = 1 ]; then
	RL=$W/lfs
	mkdir -p "$RL"
	git -C "$RL" init -q
	git -C "$RL" lfs install --local >/dev/null
	git -C "$RL" lfs track '*.bin' >/dev/null
	ln "$RA/model.bin" "$RL/model.bin"   # the same bytes, run after run
fi
say "bench: add of a new $((BIG / MiB)) MiB file"
for r in $(rounds); do
	freshen "$RA/model.bin"
	tag() { if record "$r"; then echo "$1"; else echo warmup; fi; }
	timed "$(tag add_new)" "$P4REG" -C "$RA" -q add model.bin
	# a new stat, bytes already stored: hashed, nothing written
	touch "$RA/model.bin"
	timed "$(tag add_stored)" "$P4REG" -C "$RA" -q add model.bin
	drop_objects "$RA"
	chmod u+w "$RH/model.bin"
	freshen "$RH/model.bin"
	timed "$(tag add_hardlink)" "$P4REG" -C "$RH" -q add model.bin
	drop_objects "$RH"
	timed "$(tag openssl)" openssl dgst -sha256 "$RA/model.bin"
	timed "$(tag cp)" cp "$RA/model.bin" "$W/out.bin"
	rm -f "$W/out.bin"
	timed "$(tag dd_fsync)" dd if="$RA/model.bin" of="$W/out.bin" bs=4M conv=fsync status=none
	rm -f "$W/out.bin"
	if [ "$HAVE_LFS" = 1 ]; then
		timed "$(tag lfs_add)" git -C "$RL" add model.bin
		rm -rf "$RL/.git/lfs/objects"
	fi
done
unset -f tag

# ---- git-annex beside git-lfs: add, copy --to, get (bench/annex.sh) ------------

. "$HERE/annex.sh"
annex_measure

# ---- unchanged 3 GiB: add and status answered by the stat cache ---------------

RU=$W/unchanged
new_repo "$RU"
ln "$DATA/huge.bin" "$RU/huge.bin"
# link() moved its ctime; a file changed in the last 2 s is never cached
sleep 2.1
say "bench: first add of the $((HUGE / MiB)) MiB file (peak memory)"
if [ "$HAVE_TIME" = 1 ]; then
	/usr/bin/time -v -o "$W/time.txt" "$P4REG" -C "$RU" -q add huge.bin >/dev/null 2>>"$LOG" ||
		die "add of huge.bin failed (see $LOG)"
	PEAK_KB=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$W/time.txt")
else
	"$P4REG" -C "$RU" -q add huge.bin >/dev/null
	PEAK_KB=""
fi
say "bench: unchanged $((HUGE / MiB)) MiB file"
fast add_unchanged "$P4REG" -C "$RU" -q add huge.bin
fast status_unchanged "$P4REG" -C "$RU" status

# ---- checkout per link type vs cp ----------------------------------------------

RC=$W/checkout
new_repo "$RC"
ln "$DATA/big.bin" "$RC/model.bin"
"$P4REG" -C "$RC" -q add model.bin >/dev/null
REFLINK=unsupported
rm -f "$RC/model.bin"
if "$P4REG" -C "$RC" -q checkout --link reflink model.bin >/dev/null 2>&1; then REFLINK=ok; fi
say "bench: checkout of $((BIG / MiB)) MiB (reflink: $REFLINK)"
for r in $(rounds); do
	tag() { if record "$r"; then echo "$1"; else echo warmup; fi; }
	rm -f "$RC/model.bin"
	timed "$(tag co_copy)" "$P4REG" -C "$RC" -q checkout --link copy model.bin
	timed "$(tag co_cp)" cp "$DATA/big.bin" "$W/out.bin"
	rm -f "$W/out.bin" "$RC/model.bin"
	timed "$(tag co_hardlink)" "$P4REG" -C "$RC" -q checkout --link hardlink model.bin
	if [ "$REFLINK" = ok ]; then
		rm -f "$RC/model.bin"
		timed "$(tag co_reflink)" "$P4REG" -C "$RC" -q checkout --link reflink model.bin
	fi
done
unset -f tag

# ---- get on a deploy box vs cp + sync; rollback with a warm cache ---------------

RG=$W/get-dev
GREMOTE=$W/get-remote
GCACHE=$W/get-cache
GBOX=$W/get-box
new_repo "$RG"
mkdir -p "$GBOX"
"$P4REG" -C "$RG" -q remote add -d origin "$GREMOTE" >/dev/null 2>&1
# whole objects (format 1): this row is the data path against cp; chunked
# remotes have their own rows (bench/dedup.sh)
"$P4REG" -C "$RG" config remote.origin.format 1
cp "$DATA/big.bin" "$RG/model.bin"
"$P4REG" -C "$RG" -q add model.bin >/dev/null
freshen "$RG/model.bin"
"$P4REG" -C "$RG" -q add model.bin >/dev/null
"$P4REG" -C "$RG" -q push >/dev/null
GOBJ=$(find "$GREMOTE/objects" -type f -size "$(stat -c %s "$DATA/big.bin")c" | head -1)
cp_sync() { cp "$GOBJ" "$W/out.bin" && sync "$W/out.bin"; }
# how the cache reaches the deployed file here: reflink or copy
GLINK=$("$P4REG" get --cache "$GCACHE" "$GREMOTE" model@1 -o "$GBOX/model.bin" 2>&1 >/dev/null |
	sed -n 's/^from the cache (\(.*\)).*/\1/p; s/^downloaded into the cache, then \(.*\)/\1/p')
say "bench: get of $((BIG / MiB)) MiB from a folder remote (cache to file: ${GLINK:-?})"
for r in $(rounds); do
	tag() { if record "$r"; then echo "$1"; else echo warmup; fi; }
	rm -rf "$GCACHE" "$GBOX/model.bin"
	timed "$(tag get_cold)" "$P4REG" get --cache "$GCACHE" "$GREMOTE" model@1 -o "$GBOX/model.bin"
	rm -f "$GBOX/model.bin"
	timed "$(tag get_nocache)" "$P4REG" get --no-cache "$GREMOTE" model@1 -o "$GBOX/model.bin"
	timed "$(tag get_cp_sync)" cp_sync
	rm -f "$W/out.bin"
	# production moves on, then back: the older version is in the cache
	"$P4REG" get -q --cache "$GCACHE" "$GREMOTE" model@2 -o "$GBOX/model.bin" || die "get model@2 failed"
	timed "$(tag get_rollback)" "$P4REG" get --cache "$GCACHE" "$GREMOTE" model@1 -o "$GBOX/model.bin"
done
unset -f tag

# ---- pull, push and a copy checkout vs cp + sync, dd conv=fsync (issue 18) -----

. "$HERE/datapath.sh"
datapath_measure

# ---- S3 push and pull vs aws s3 cp on a local Ceph RGW (issue 18) --------------

. "$HERE/s3.sh"
s3_measure

# ---- dedup: bytes stored and moved per version, p4reg vs whole files (issue 19) -

. "$HERE/dedup.sh"
dedup_measure

# ---- import git-lfs of a model's history vs hashing its bytes (issue 20) -------

. "$HERE/import.sh"
import_measure

# ---- 8 files in one call vs one call each -------------------------------------

RM=$W/multi
new_repo "$RM"
FILES=()
for i in $(seq 1 "$NSMALL"); do
	cp "$DATA/small$i.bin" "$RM/part$i.bin"
	FILES+=("part$i.bin")
done
add_serial() { local f; for f in "${FILES[@]}"; do "$P4REG" -C "$RM" -q add "$f" || return 1; done; }
say "bench: add of $NSMALL x $((SMALL / MiB)) MiB, one call vs serial"
for r in $(rounds); do
	tag() { if record "$r"; then echo "$1"; else echo warmup; fi; }
	freshen "${FILES[@]/#/$RM/}"
	timed "$(tag multi_one_call)" "$P4REG" -C "$RM" -q add "${FILES[@]}"
	drop_objects "$RM"
	freshen "${FILES[@]/#/$RM/}"
	timed "$(tag multi_serial)" add_serial
	drop_objects "$RM"
done
unset -f tag

# ---- folder models: four shards, and many small files (issue 14) ----------------

RD=$W/folder
new_repo "$RD"
mkdir -p "$RD/m"
SHARDS=()
for i in 1 2 3 4; do
	cp "$DATA/shard$i.bin" "$RD/m/model-0000$i-of-00004.safetensors"
	SHARDS+=("$RD/m/model-0000$i-of-00004.safetensors")
done
printf '{"hidden_size": 384}\n' >"$RD/m/config.json"
say "bench: add of a folder of 4 x $((SHARD / MiB)) MiB vs openssl dgst -sha256 of the same files"
for r in $(rounds); do
	tag() { if record "$r"; then echo "$1"; else echo warmup; fi; }
	freshen "${SHARDS[@]}"
	timed "$(tag dir_ssl)" openssl dgst -sha256 "${SHARDS[@]}"
	timed "$(tag dir_add)" "$P4REG" -C "$RD" -q add m
	drop_objects "$RD"
done
unset -f tag

RT=$W/tiny
say "bench: add of $NTINY files of 4 KiB vs tar c | sha256sum"
mkdir -p "$W/tinysrc/m"
head -c $((NTINY * 4096)) /dev/urandom | (cd "$W/tinysrc/m" && split -b 4096 -a 5 - f)
tar_sum() { tar c -C "$RT" m | sha256sum; }
for r in $(rounds); do
	tag() { if record "$r"; then echo "$1"; else echo warmup; fi; }
	rm -rf "$RT"
	new_repo "$RT"
	cp -r "$W/tinysrc/m" "$RT/m"
	timed "$(tag tiny_tar)" tar_sum
	timed "$(tag tiny_add)" "$P4REG" -C "$RT" -q add m
	# the floor of writing as many files: a copy of the folder, made durable
	rm -rf "$W/tinycp"
	timed "$(tag tiny_cp)" sh -c "cp -r '$RT/m' '$W/tinycp' && sync"
done
unset -f tag
# the stat cache vouches only for files older than the racy window
sleep 2.1
"$P4REG" -C "$RT" -q status >/dev/null 2>>"$LOG" || true
say "bench: unchanged status of a folder of $NTINY files"
fast tiny_status "$P4REG" -C "$RT" status

# ---- registry queries at 10,000 versions x 100 metrics --------------------------

RR=$W/registry
new_repo "$RR"
NVERSIONS=$((NMODELS * VPER))
QM=$(printf "m%03d" $((NMODELS / 2)))   # the model log, show and metrics ask about
say "bench: registry of $NVERSIONS versions x $NMETRICS metrics"
T0=1767225600000
run_sql "$RR/.p4reg/registry.db" <<EOF
PRAGMA foreign_keys = ON;
BEGIN;
WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < $NMODELS - 1)
INSERT INTO models(id, name, path, created_ms)
	SELECT i + 1, printf('m%03d', i), printf('m%03d.bin', i), $T0 FROM k;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $VPER)
INSERT INTO versions(model_id, number, oid, size, author, created_ms, message, source_path,
		     git_commit, git_branch, git_dirty)
	SELECT m.id, n.i, lower(hex(randomblob(32))), 1000000 + n.i, 'bench', $T0 + n.i * 60000,
	       'version ' || n.i, m.path, lower(hex(randomblob(20))), 'main', 0
	FROM models m, n ORDER BY m.id, n.i;
UPDATE versions SET stage = 'production' WHERE number = $VPER - 2;
UPDATE versions SET stage = 'staging' WHERE number = $VPER - 1;
INSERT INTO events(model_id, version_id, kind, from_stage, to_stage, forced, actor, at_ms, reason)
	SELECT model_id, id, 'register', NULL, 'development', 0, 'bench', created_ms, message
	FROM versions ORDER BY id;
INSERT INTO runs(version_id, name, experiment, created_ms)
	SELECT id, 'run_' || id, 'default', created_ms FROM versions ORDER BY id;
WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < $NMETRICS - 1)
INSERT INTO metrics(version_id, run_id, key, value, step, at_ms)
	SELECT r.version_id, r.id,
	       CASE k.i WHEN 0 THEN 'accuracy' WHEN 1 THEN 'f1' WHEN 2 THEN 'loss'
			WHEN 3 THEN 'latency_ms' ELSE printf('metric_%02d', k.i) END,
	       (abs(random()) % 100000) / 100000.0, 0, r.created_ms
	FROM runs r, k ORDER BY r.id, k.i;
COMMIT;
EOF
fast list "$P4REG" -C "$RR" list
fast log "$P4REG" -C "$RR" log "$QM"
fast show "$P4REG" -C "$RR" show "$QM"
HAVE_METRICS=0
if "$P4REG" help 2>/dev/null | grep -q '^  metrics '; then
	HAVE_METRICS=1
	fast metrics "$P4REG" -C "$RR" metrics "$QM"
fi

# ---- log --where: one model of 10,000 versions x 100 metrics (issue 16) ----------

# The search is SQL (registry/metrics_sql.c): the newest versions whose f1
# (the value gates read) passes, stopping at -n; values are uniform in
# [0, 1), so about one version in five matches.
RW=$W/where
new_repo "$RW"
say "bench: log --where on one model of $NWHERE versions x $NMETRICS metrics"
run_sql "$RW/.p4reg/registry.db" <<EOF
PRAGMA foreign_keys = ON;
BEGIN;
INSERT INTO models(id, name, path, created_ms) VALUES (1, 'big', 'big.bin', $T0);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $NWHERE)
INSERT INTO versions(model_id, number, oid, size, author, created_ms, message, source_path,
		     git_commit, git_branch, git_dirty)
	SELECT 1, n.i, lower(hex(randomblob(32))), 1000000 + n.i, 'bench', $T0 + n.i * 60000,
	       'version ' || n.i, 'big.bin', lower(hex(randomblob(20))), 'main', 0 FROM n;
INSERT INTO events(model_id, version_id, kind, from_stage, to_stage, forced, actor, at_ms, reason)
	SELECT model_id, id, 'register', NULL, 'development', 0, 'bench', created_ms, message
	FROM versions ORDER BY id;
INSERT INTO runs(version_id, name, experiment, created_ms)
	SELECT id, 'run_' || id, 'default', created_ms FROM versions ORDER BY id;
WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < $NMETRICS - 1)
INSERT INTO metrics(version_id, run_id, key, value, step, at_ms)
	SELECT r.version_id, r.id,
	       CASE k.i WHEN 0 THEN 'accuracy' WHEN 1 THEN 'f1' WHEN 2 THEN 'loss'
			WHEN 3 THEN 'latency_ms' ELSE printf('metric_%02d', k.i) END,
	       (abs(random()) % 100000) / 100000.0, 0, r.created_ms
	FROM runs r, k ORDER BY r.id, k.i;
COMMIT;
EOF
fast log_where "$P4REG" -C "$RW" log big --where 'f1>=0.8' -n 10

# ---- registry scale: 10,000 models, 1,000,000 versions (bench/registry.sh) -------

. "$HERE/registry.sh"
registry_measure

# ---- start-up ------------------------------------------------------------------

say "bench: start-up"
fast version "$P4REG" --version
fast true /bin/true   # the cost of starting any process here
startup_count_libs
startup_first_status

# Instructions per small command (callgrind): unlike wall time on a shared
# machine, these do not move with the load.
declare -A INSNS=()
if [ "$SMOKE" = 0 ] && command -v valgrind >/dev/null 2>&1; then
	say "bench: instruction counts (valgrind --tool=callgrind)"
	insns() {
		local name=$1
		shift
		INSNS[$name]=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
			awk '/refs:/ { gsub(/,/, "", $NF); printf "%.1f M", $NF / 1e6 }')
	}
	insns version "$P4REG" --version
	insns add_unchanged "$P4REG" -C "$RU" -q add huge.bin
	insns status_unchanged "$P4REG" -C "$RU" status
	insns list "$P4REG" -C "$RR" list
	insns log "$P4REG" -C "$RR" log "$QM"
	insns show "$P4REG" -C "$RR" show "$QM"
	[ "$HAVE_METRICS" = 1 ] && insns metrics "$P4REG" -C "$RR" metrics "$QM"
	insns log_where "$P4REG" -C "$RW" log big --where 'f1>=0.8' -n 10
fi
insn() { [ -n "${INSNS[$1]:-}" ] && echo " (${INSNS[$1]} instr)"; true; }

# ---- the table -------------------------------------------------------------------

# ratio, verdict, max: bench/lib.sh

ADD=$(median add_new); SSL=$(median openssl); CP=$(median cp); DD=$(median dd_fsync)
LFS=$(median lfs_add)
ADD_LIMIT=$(max "$SSL" "$DD")
COPY=$(median co_copy); COCP=$(median co_cp); HL=$(median co_hardlink); RL_MS=$(median co_reflink)
ONE=$(median multi_one_call); SER=$(median multi_serial)
PEAK_MIB=""; [ -n "$PEAK_KB" ] && PEAK_MIB=$(awk -v k="$PEAK_KB" 'BEGIN { printf "%.1f", k / 1024 }')

TABLE=$W/table.md
{
	echo "| case | p4reg (median) | peer (median) | ratio | target | |"
	echo "|---|---:|---:|---:|---|---|"
	r=$(ratio "$ADD" "$ADD_LIMIT")
	echo "| add new $((BIG / MiB)) MiB (copy) | $ADD ms | max(openssl, dd fsync) $ADD_LIMIT ms | ${r}× | ≤ 1.3× | $(verdict "$r" "<=" 1.3) |"
	echo "| ↳ vs openssl dgst -sha256 | | $SSL ms | $(ratio "$ADD" "$SSL")× | | |"
	echo "| ↳ vs dd bs=4M conv=fsync | | $DD ms | $(ratio "$ADD" "$DD")× | | |"
	echo "| ↳ vs cp | | $CP ms | $(ratio "$ADD" "$CP")× | | |"
	v=$(median add_hardlink); r=$(ratio "$v" "$SSL")
	echo "| add new $((BIG / MiB)) MiB (hardlink) | $v ms | openssl $SSL ms | ${r}× | ≤ 1.3× | $(verdict "$r" "<=" 1.3) |"
	v=$(median add_stored); r=$(ratio "$v" "$SSL")
	echo "| add $((BIG / MiB)) MiB, object already stored | $v ms | openssl $SSL ms | ${r}× | ≤ 1.3× | $(verdict "$r" "<=" 1.3) |"
	if [ -n "$LFS" ]; then
		r=$(ratio "$LFS" "$ADD")
		echo "| ↳ git add via git-lfs (peer ÷ p4reg) | | $LFS ms | ${r}× faster | ≥ 3× | $(verdict "$r" ">=" 3) |"
	else
		echo "| ↳ git add via git-lfs | | not installed | - | ≥ 3× | - |"
	fi
	annex_rows
	r=$(ratio "$COPY" "$COCP")
	# a hard-linked copy was removed before: the guard re-hashes first (the target row is datapath's)
	echo "| checkout $((BIG / MiB)) MiB, copy, after \`rm\` of a hard link | $COPY ms | cp $COCP ms | ${r}× | - | - |"
	echo "| ↳ vs dd bs=4M conv=fsync (durable copy) | | $DD ms | $(ratio "$COPY" "$DD")× | | |"
	# O(1): a small fraction of what copying the same bytes costs
	r=$(ratio "$HL" "$COPY")
	echo "| checkout $((BIG / MiB)) MiB, hardlink | $HL ms | checkout copy $COPY ms | ${r}× | O(1): ≤ 0.1× copy | $(verdict "$r" "<=" 0.1) |"
	if [ "$REFLINK" = ok ]; then
		r=$(ratio "$RL_MS" "$COPY")
		echo "| checkout $((BIG / MiB)) MiB, reflink | $RL_MS ms | checkout copy $COPY ms | ${r}× | O(1): ≤ 0.1× copy | $(verdict "$r" "<=" 0.1) |"
	else
		echo "| checkout $((BIG / MiB)) MiB, reflink | unsupported ($(fstype "$W")) | | | O(1) | - |"
	fi
	v=$(median get_cold); c=$(median get_cp_sync); r=$(ratio "$v" "$c")
	echo "| get $((BIG / MiB)) MiB from a folder remote, cold cache | $v ms | cp + sync $c ms | ${r}× | ≤ 1.3× | $(verdict "$r" "<=" 1.3) |"
	v=$(median get_nocache); r=$(ratio "$v" "$c")
	echo "| ↳ get --no-cache | $v ms | cp + sync $c ms | ${r}× | ≤ 1.3× | $(verdict "$r" "<=" 1.3) |"
	v=$(median get_rollback)
	echo "| rollback on a deploy box, warm cache (${GLINK:-?}) | $v ms | | | O(1): ≤ 50 ms | $(verdict "$v" "<=" 50) |"
	datapath_rows
	s3_rows
	dedup_rows
	import_rows
	r=$(ratio "$SER" "$ONE")
	echo "| add $NSMALL × $((SMALL / MiB)) MiB, one call | $ONE ms | serial sum $SER ms | ${r}× faster | ≥ 1.6× | $(verdict "$r" ">=" 1.6) |"
	r=$(ratio "$(median dir_add)" "$(median dir_ssl)")
	echo "| add folder of 4 × $((SHARD / MiB)) MiB | $(median dir_add) ms | openssl dgst -sha256 $(median dir_ssl) ms | ${r}× | ≤ 1.3× | $(verdict "$r" "<=" 1.3) |"
	r=$(ratio "$(median tiny_add)" "$(median tiny_tar)")
	echo "| add folder of $NTINY × 4 KiB | $(median tiny_add) ms | tar c \| sha256sum $(median tiny_tar) ms | ${r}× | ≤ 2× | $(verdict "$r" "<=" 2) |"
	echo "| ↳ vs cp -r + sync of the folder (writing as many files) | | $(median tiny_cp) ms | $(ratio "$(median tiny_add)" "$(median tiny_cp)")× | | |"
	v=$(median tiny_status)
	echo "| status, unchanged folder of $NTINY files | $v ms | | | ≤ 50 ms | $(verdict "$v" "<=" 50) |"
	for q in list log show metrics; do
		if [ "$q" = metrics ] && [ "$HAVE_METRICS" = 0 ]; then
			echo "| metrics $QM | not available | | | < 50 ms | - |"
			continue
		fi
		v=$(median "$q")
		arg=" ($NMODELS models)"; [ "$q" != list ] && arg=" $QM ($VPER versions)"
		echo "| $q$arg, registry of $NVERSIONS versions × $NMETRICS metrics | $v ms$(insn "$q") | | | < 50 ms | $(verdict "$v" "<" 50) |"
	done
	v=$(median log_where)
	echo "| log big --where 'f1>=0.8' -n 10, one model of $NWHERE versions × $NMETRICS metrics | $v ms$(insn log_where) | | | ≤ 50 ms | $(verdict "$v" "<=" 50) |"
	registry_rows
	startup_rows
	if [ -n "$PEAK_MIB" ]; then
		echo "| peak memory, add of $((HUGE / MiB)) MiB | $PEAK_MIB MiB | | | < 32 MiB | $(verdict "$PEAK_MIB" "<" 32) |"
	else
		echo "| peak memory, add of $((HUGE / MiB)) MiB | /usr/bin/time missing | | | < 32 MiB | - |"
	fi
} >"$TABLE"
dedup_table >>"$TABLE"

CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
FLAGS=$(grep -m1 -w flags /proc/cpuinfo 2>/dev/null | grep -o -w -E 'sha_ni|avx2' | sort -u | paste -sd, - || true)
DEV=$(df -P "$DATA" | awk 'NR == 2 { print $1 }')
{
	echo
	echo "p4reg $("$P4REG" --version | awk '{ print $2 }') ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')), $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "machine: $(nproc) cores, $CPU ${FLAGS:+($FLAGS)}, $(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo),"
	echo "  kernel $(uname -r), data on $DEV ($(fstype "$DATA")), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	if [ "$SMOKE" = 1 ]; then
		echo "mode: SMOKE (tiny sizes, one run): the figures mean nothing"
	else
		echo "mode: $RUNS runs per large case after $WARMUP warm-up, $FAST_RUNS per small command"
	fi
	echo "page cache: warm for p4reg and peers alike (inputs read before; caches not dropped)"
	echo "tools: $(openssl version | cut -d' ' -f1-2), $(cp --version | head -1)$( [ "$HAVE_LFS" = 1 ] && echo ", $(git lfs version | cut -d' ' -f1)")$( [ "$HAVE_HYPERFINE" = 1 ] && echo ", $(hyperfine --version)")"
	print_samples
} >>"$TABLE"

cat "$TABLE"
if [ -n "$OUT" ]; then cp "$TABLE" "$OUT"; fi
