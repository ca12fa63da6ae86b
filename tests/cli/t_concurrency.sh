#!/usr/bin/env bash
# Concurrency: 8 processes adding versions, logging metrics and promoting at
# once, several rounds: every command succeeds (no "database is locked"),
# version numbers are unique and dense, one production holder, fsck clean.
. "$(dirname "$0")/lib.sh"

PROCS=8
ROUNDS=${P4REG_CONCURRENCY_ROUNDS:-3}

begin "8 writers at once, $ROUNDS rounds"
fresh_repo
# a shared model with one version per worker and round, to promote
# concurrently: every promotion names a version not yet in production (a
# version already there would be a no-op with no event, and whether that
# happens would depend on which worker of the last round came last)
for i in $(seq 1 $(( PROCS * ROUNDS ))); do random_file shared.bin 8; p4reg add -q shared.bin; done

# worker I ROUND: a new version of its own model, metrics on it and on the
# shared model, and a forced promotion of its own shared version to production.
worker() {
	local i=$1 r=$2 log="$ROOT_TMP/w$1.$2.log"
	{
		random_file "own$i.bin" $(( 16 + r )) &&
		p4reg add -q "own$i.bin" &&
		p4reg log-metric -q "own$i@latest" f1=0.$i$r loss=0.$r --step "$r" &&
		p4reg log-metric -q shared@1 "w$i=$r" --step "$r" &&
		p4reg promote -q "shared@$(( (r - 1) * PROCS + i ))" --to production --force -m "worker $i round $r"
	} >"$log" 2>&1
	echo $? >>"$log.rc"
}

for r in $(seq 1 "$ROUNDS"); do
	pids=()
	for i in $(seq 1 $PROCS); do worker "$i" "$r" & pids+=($!); done
	wait "${pids[@]}"
	for i in $(seq 1 $PROCS); do
		[ "$(cat "$ROOT_TMP/w$i.$r.log.rc")" = 0 ] || fail "worker $i round $r failed: $(cat "$ROOT_TMP/w$i.$r.log")"
		assert_not_contains "$(cat "$ROOT_TMP/w$i.$r.log")" "locked"
	done
done

for i in $(seq 1 $PROCS); do
	assert_eq "$(db "SELECT group_concat(number) FROM (SELECT v.number FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'own$i' ORDER BY v.number)")" \
		"$(seq -s, 1 "$ROUNDS")" "versions of own$i"
	assert_eq "$(db "SELECT count(*) FROM metrics mt JOIN versions v ON v.id = mt.version_id JOIN models m ON m.id = v.model_id WHERE m.name = 'own$i'")" \
		"$(( 2 * ROUNDS ))" "metrics of own$i"
done
assert_eq "$(db "SELECT count(*) FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'shared' AND v.stage = 'production'")" "1" "production holders"
# which worker came last is up to the scheduler; what is not: every version
# was promoted exactly once, and the holder is the one the last promotion
# (in the order the registry committed them) named
assert_eq "$(db "SELECT group_concat(n) FROM (SELECT v.number AS n FROM events e JOIN versions v ON v.id = e.version_id WHERE e.kind = 'promote' AND e.to_stage = 'production' ORDER BY v.number)")" \
	"$(seq -s, 1 $(( PROCS * ROUNDS )))" "each shared version promoted once"
assert_eq "$(db "SELECT v.number FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'shared' AND v.stage = 'production'")" \
	"$(db "SELECT v.number FROM events e JOIN versions v ON v.id = e.version_id WHERE e.kind = 'promote' AND e.to_stage = 'production' ORDER BY e.id DESC LIMIT 1")" \
	"the production holder is the last one promoted"
assert_eq "$(db "SELECT count(*) FROM metrics WHERE key GLOB 'w*'")" "$(( PROCS * ROUNDS ))" "shared metrics"
assert_eq "$(db "SELECT count(*) FROM events WHERE kind = 'promote' AND to_stage = 'production'")" "$(( PROCS * ROUNDS ))" "promotion events"
run 0 p4reg fsck

begin "8 adds of distinct files in one repository at the same moment"
fresh_repo
for i in $(seq 1 $PROCS); do random_file "d$i.bin" 256; done
pids=()
for i in $(seq 1 $PROCS); do p4reg add -q "d$i.bin" -n same-time-$i 2>"$ROOT_TMP/e$i" & pids+=($!); done
for i in "${!pids[@]}"; do wait "${pids[$i]}" || fail "add $((i + 1)) failed: $(cat "$ROOT_TMP/e$((i + 1))")"; done
assert_eq "$(db 'SELECT count(*) FROM versions')" "$PROCS"
assert_eq "$(db 'SELECT count(DISTINCT model_id) FROM versions')" "$PROCS"
run 0 p4reg fsck

finish
