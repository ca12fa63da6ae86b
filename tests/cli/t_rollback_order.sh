#!/usr/bin/env bash
# Rollback after a sync (issue #21): the version production "replaced" is
# read in the shared log's order (published events by batch and position,
# then this machine's unpushed ones), never in local event ids, which a
# fetch interleaves differently on each machine. Three clones of one folder
# remote interleave promotions, pushes and fetches, then each rolls back:
# same target everywhere, before and after a push; history lists the same
# order everywhere; two clones that both roll back converge by the
# existing rule (the later one in the log wins), whoever pushes second.
. "$(dirname "$0")/lib.sh"

R=$ROOT_TMP/remote
A=$ROOT_TMP/A
B=$ROOT_TMP/B
C=$ROOT_TMP/C
mkdir -p "$R" "$A" "$B" "$C"
for d in "$A" "$B" "$C"; do (cd "$d" && p4reg init >/dev/null) || fail "init $d"; done

# as WHO CMD...: runs p4reg as another actor (each machine has its own).
as() { local who=$1; shift; P4REG_AUTHOR="$who <$who@example.com>" p4reg "$@"; }
# prod: the production holder of m in the current clone.
prod() { db "SELECT v.number FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'm' AND v.stage = 'production'"; }
# target DIR: the version 'p4reg rollback m' restores in DIR, found in a
# throwaway copy of DIR so that DIR itself is untouched.
target() {
	local t=$ROOT_TMP/trial
	rm -rf "$t" && cp -a "$1" "$t" || fail "copy of $1"
	(cd "$t" && p4reg rollback m --no-checkout -m trial 2>&1) |
		sed -n 's/^rolled back m: production is now v\([0-9]*\) .*/\1/p'
	rm -rf "$t"
}
# hist DIR: the text history of m in DIR (every column travels with the event).
hist() { (cd "$1" && p4reg history m); }
# ids DIR: m's production entries in local event id order.
ids() {
	(cd "$1" && db "SELECT group_concat(n, ' ') FROM (SELECT v.number AS n FROM events e
		JOIN versions v ON v.id = e.version_id WHERE e.to_stage = 'production' ORDER BY e.id)")
}

begin "A registers four versions, v1 in production; B and C fetch them"
cd "$A"
run 0 p4reg remote add -d origin "$R"
mkdir -p models
for i in 1 2 3 4; do
	printf 'weights %s' "$i" >models/m.bin
	as A add -q models/m.bin -m "v$i" || fail "add v$i"
done
run 0 as A promote m@1 --to production --force -m "first release"
run 0 p4reg push
for d in "$B" "$C"; do
	cd "$d"
	run 0 p4reg remote add -d origin "$R"
	run 0 p4reg fetch
	assert_eq "$(prod)" "1" "production on $d after fetch"
done

begin "interleaving: A promotes v2 (unpushed), B promotes v3 and pushes, A fetches, promotes v4"
cd "$A" && run 0 as A promote m@2 --to production --force -m "A: v2"
cd "$B" && run 0 as B promote m@3 --to production --force -m "B: v3" && run 0 p4reg push
cd "$A" && run 0 p4reg fetch
# The log says v1, v3 (batch 2), then A's unpushed v2: v2 holds production.
assert_eq "$(prod)" "2" "A's unpushed promotion comes after the fetched one"
run 0 as A promote m@4 --to production --force -m "A: v4"
assert_eq "$(prod)" "4"
# Local ids on A put v3's entry (fetched last) after v2's: the order that misled rollback.
assert_eq "$(ids "$A")" "1 2 3 4" "A's local id order"

begin "A, before its push: the version v4 replaced in the log is v2, not v3"
assert_eq "$(target "$A")" "2" "A's rollback target before push"
run 0 p4reg history m
assert_eq "$(printf '%s\n' "$OUT" | grep -c ' -> production ')" "4"

begin "after A's push, on every clone: the same target, the same history"
cd "$A" && run 0 p4reg push
assert_contains "$OUT" "published as batch 3"
assert_eq "$(target "$A")" "2" "A's rollback target after push"
for d in "$B" "$C"; do
	cd "$d" && run 0 p4reg fetch
	assert_eq "$(prod)" "4" "production on $d"
	assert_eq "$(target "$d")" "2" "rollback target on $d"
	assert_eq "$(hist "$d")" "$(hist "$A")" "history on $d and on A"
	# v3 left production with no event of its own (A's v2 came later in the log)
	run 0 p4reg fsck --offline
done
cd "$A" && run 0 p4reg fsck
assert_eq "$(ids "$B")" "1 3 2 4" "B's local id order is the log's"
# every line of A's history, oldest first, in log order
assert_eq "$(hist "$A" | awk '$5 == "->" && $6 == "production" { print $2 }' | tr '\n' ' ')" "m@1 m@3 m@2 m@4 " \
	"production entries in log order"

begin "A and B both roll back to v2; B pushes second: one log, the same state everywhere"
cd "$A" && run 0 as A rollback m --no-checkout -m "A: v4 is bad"
assert_contains "$OUT" "production is now v2 (v4 archived, marked rolled back)"
cd "$B" && run 0 as B rollback m --no-checkout -m "B: v4 is bad"
assert_contains "$OUT" "production is now v2 (v4 archived, marked rolled back)"
cd "$A" && run 0 p4reg push && assert_contains "$OUT" "2 events published as batch 4"
cd "$B" && run 0 p4reg push && assert_contains "$OUT" "2 events published as batch 5"
for d in "$A" "$B" "$C"; do
	cd "$d" && run 0 p4reg fetch
	assert_eq "$(prod)" "2" "production on $d"
	assert_eq "$(db "SELECT group_concat(number || ':' || stage || ':' || rolled_back, ' ') FROM (SELECT v.number, v.stage, v.rolled_back FROM versions v ORDER BY v.number)")" \
		"1:archived:0 2:production:0 3:archived:0 4:archived:1" "stages on $d"
	assert_eq "$(hist "$d")" "$(hist "$A")" "history on $d and on A"
	# the next rollback walks past v4 (rolled back) to v3: v2 replaced v3 in the log
	assert_eq "$(target "$d")" "3" "next rollback target on $d"
done
assert_eq "$(hist "$A" | grep -c ' rollback ')" "4" "both rollbacks are in the history"

begin "A and B roll back to different versions and push at once: the later one in the log wins everywhere"
cd "$A" && run 0 as A promote m@4 --to production --force -m "A: v4 again" && run 0 p4reg push
for d in "$B" "$C"; do cd "$d" && run 0 p4reg fetch && assert_eq "$(prod)" "4" "production on $d"; done
cd "$A" && run 0 as A rollback m --no-checkout -m "A: back"
assert_contains "$OUT" "production is now v2 (v4 archived"
cd "$B" && run 0 as B rollback m --no-checkout --to 1 -m "B: further back"
assert_contains "$OUT" "production is now v1 (v4 archived"
(cd "$A" && p4reg push) >"$ROOT_TMP/pa" 2>&1 &
pa=$!
(cd "$B" && p4reg push) >"$ROOT_TMP/pb" 2>&1 &
pb=$!
wait $pa; ca=$?
wait $pb; cb=$?
assert_eq "$ca $cb" "0 0" "both pushes: $(cat "$ROOT_TMP/pa" "$ROOT_TMP/pb")"
last=$(ls "$R/log" | tail -1)
case "$(cat "$R/log/$last")" in
*'"reason":"B: further back"'*) want=1 ;;
*'"reason":"A: back"'*) want=2 ;;
*) want=none; fail "the last batch $last holds neither rollback" ;;
esac
for d in "$A" "$B" "$C"; do
	cd "$d" && run 0 p4reg fetch
	assert_eq "$(prod)" "$want" "production on $d (the rollback last in the log)"
	assert_eq "$(db "SELECT count(*) FROM versions WHERE stage = 'production'")" "1" "holders on $d"
	assert_eq "$(hist "$d")" "$(hist "$A")" "history on $d and on A"
	assert_eq "$(target "$d")" "$(target "$A")" "next rollback target on $d and on A"
	run 0 p4reg fsck
done

finish
