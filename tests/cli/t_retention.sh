#!/usr/bin/env bash
# End-to-end: gc --keep-last N [--keep-stages] [MODEL...], a retention
# policy. Every version older than a model's newest N goes as p4reg rm
# would delete it, except what rm's rule keeps (a stage, an alias,
# rollback's target: listed as kept, with the reason); --keep-stages also
# keeps what ever entered validation, staging or production. The dry run
# prints exactly what the real run does and changes nothing; the bytes
# freed count each object once and never one a live version shares; a
# second run deletes nothing; each deletion is a delete event (actor,
# reason); deletions travel to a clone.
. "$(dirname "$0")/lib.sh"

objpath() { echo ".p4reg/objects/${1:0:2}/${1:2:2}/$1"; }
deleted() { db "SELECT group_concat(m.name || '@' || v.number, ' ') FROM (SELECT * FROM versions WHERE deleted_ms IS NOT NULL ORDER BY model_id, number) v JOIN models m ON m.id = v.model_id"; }
json_get() { printf '%s' "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# real_words: a dry run's lines as the real run prints them
real_words() { sed 's/^would delete/deleted/; s/would delete/deleted/; s/they would free/they free/; s/^would remove/removed/'; }

fresh_repo
for i in 1 2 3 4 5 6 7; do random_file m.bin "$i"; cp m.bin "$ROOT_TMP/m$i"; p4reg add -q m.bin || fail "add $i"; done
p4reg promote -q m@2 --to production --force
p4reg promote -q m@3 --to production --force   # m@2 archived: rollback's target
p4reg promote -q m@4 --to staging --force
p4reg alias m champion 1 >/dev/null
o5=$(sha "$ROOT_TMP/m5")

begin "--dry-run: the rule's keepers listed with their reasons, the rest and the bytes it frees; nothing changes"
before=$(snapshot)
run 0 p4reg gc --keep-last 2 --dry-run --grace 0
assert_eq "$OUT" "kept m@1: alias 'champion' names it
kept m@2: rollback would return to it
kept m@3: it is in production
kept m@4: it is in staging
would delete m@5 (frees 5.0 KiB)
gc --keep-last 2: would delete 1 version, kept 4; they would free 1 object (5.0 KiB)
would remove object $o5 (5.0 KiB)
would remove 1 unreferenced object (5.0 KiB) and 0 temporary files (0 B)"
dry_text=$OUT
run 0 p4reg --json gc --keep-last 2 --dry-run --grace 0
dry_json=$(json_get 'd["retention"], d["objects"]')
assert_eq "$(json_get 'd["dry_run"], d["retention"]["deleted"], d["retention"]["freed"]["bytes"]')" \
	"True [{'model': 'm', 'version': 5, 'stage': 'development', 'freed_objects': 1, 'freed_bytes': 5120, 'files_unknown': False}] 5120"
assert_eq "$(json_get '[(k["version"], k["rules"], k["kept_by"]) for k in d["retention"]["kept"]]')" \
	"[(1, ['alias'], \"alias 'champion' names it\"), (2, ['rollback-target'], 'rollback would return to it'), (3, ['stage'], 'it is in production'), (4, ['stage'], 'it is in staging')]"
assert_eq "$(snapshot)" "$before" "a dry run changed something"
assert_eq "$(deleted)" ""

begin "the real run does what the dry run said: a delete event each, the object gone"
run 0 p4reg gc --keep-last 2 --grace 0
assert_eq "$OUT" "$(printf '%s\n' "$dry_text" | real_words)"
assert_eq "$(deleted)" "m@5"
assert_no_file "$(objpath "$o5")"
assert_file "$(objpath "$(sha "$ROOT_TMP/m1")")"
assert_eq "$(db "SELECT kind, from_stage, to_stage, forced, actor, reason FROM events WHERE kind = 'delete'")" \
	"delete|development|archived|0|Test Runner <test@example.com>|gc --keep-last 2"
run 0 p4reg history m -n 1
assert_eq "$(printf '%s\n' "$OUT" | grep -cE 'm@5 +delete +development -> archived +Test Runner <test@example.com>  gc --keep-last 2$')" "1"
run 1 p4reg show m@5 && assert_one_line_error "version 5 of model 'm' was deleted"
run 0 p4reg fsck && assert_contains "$OUT" "registry consistent"

begin "a second run deletes nothing"
before=$(snapshot)
run 0 p4reg gc --keep-last 2 --grace 0
assert_contains "$OUT" "gc --keep-last 2: deleted 0 versions, kept 4; they free 0 objects (0 B)"
assert_contains "$OUT" "removed 0 unreferenced objects (0 B)"
assert_eq "$(snapshot)" "$before" "a second run changed something"

begin "--keep-stages keeps what ever served; a shared object frees nothing; a checked-out version's file stays"
random_file m.bin 8 && p4reg add -q m.bin
p4reg promote -q m@4 --to production --force     # m@3 archived (rollback's target), m@2 archived
cp "$ROOT_TMP/m6" n.bin && p4reg add -q n.bin     # n@1 shares m@6's bytes
run 0 p4reg checkout m@6 && assert_same_bytes m.bin "$ROOT_TMP/m6"
run 0 p4reg gc --keep-last 2 --keep-stages --dry-run --grace 0
assert_eq "$(printf '%s\n' "$OUT" | head -6)" "kept m@1: alias 'champion' names it
kept m@2: it was in production (--keep-stages)
kept m@3: rollback would return to it
kept m@4: it is in production
would delete m@6 (frees 0 B)
gc --keep-last 2 --keep-stages: would delete 1 version, kept 4; they would free 0 objects (0 B)"
assert_eq "$ERR" "'m.bin' holds m@6, which gc would delete: the file and its pointer stay (p4reg checkout m replaces them)"
run 0 p4reg gc --keep-last 2 --dry-run --grace 0
assert_contains "$OUT" "would delete m@2 (frees 2.0 KiB)"
assert_contains "$OUT" "gc --keep-last 2: would delete 2 versions, kept 3; they would free 1 object (2.0 KiB)"
run 0 p4reg gc --keep-last 2 --keep-stages --grace 0
assert_eq "$ERR" "'m.bin' holds m@6, which gc deleted: the file and its pointer stay (p4reg checkout m replaces them)"
assert_eq "$(deleted)" "m@5 m@6"
assert_same_bytes m.bin "$ROOT_TMP/m6"
assert_file "$(objpath "$(sha "$ROOT_TMP/m6")")"   # n@1 has the bytes
assert_eq "$(db "SELECT reason FROM events WHERE kind = 'delete' ORDER BY id DESC LIMIT 1")" "gc --keep-last 2 --keep-stages"

begin "MODEL names: only those; a folder model's freed bytes count its own files and manifest, not shared ones"
mkdir -p d
random_file d/shared.bin 4; random_file d/own.bin 3
p4reg add -q d/ || fail "add d 1"
random_file d/own.bin 2
p4reg add -q d/ || fail "add d 2"
m1=$(db "SELECT v.size FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'd' AND v.number = 1")
run 0 p4reg --json gc --keep-last 1 d d --dry-run --grace 0
assert_eq "$(json_get 'd["retention"]["models"], [(x["model"], x["version"], x["freed_objects"], x["freed_bytes"]) for x in d["retention"]["deleted"]]')" \
	"1 [('d', 1, 2, $((m1 + 3072)))]"
run 0 p4reg gc --keep-last 1 d --grace 0
assert_contains "$OUT" "gc --keep-last 1: deleted 1 version, kept 0; they free 2 objects ($(python3 -c "
b = $m1 + 3072; print('%.1f KiB' % (b / 1024))"))"
assert_eq "$(deleted)" "m@5 m@6 d@1"
assert_file "$(objpath "$(sha d/shared.bin)")"
run 0 p4reg fsck && assert_contains "$OUT" "registry consistent"

begin "bad input: exit 2 or 1, one line, nothing changed"
before=$(snapshot)
run 2 p4reg gc --keep-last 0 && assert_one_line_error "--keep-last"
run 2 p4reg gc --keep-last -3 && assert_one_line_error "--keep-last"
run 2 p4reg gc --keep-last many && assert_one_line_error "--keep-last"
run 2 p4reg gc --keep-last && assert_one_line_error "needs a value"
run 2 p4reg gc m && assert_one_line_error "gc takes no arguments"
run 2 p4reg gc --keep-stages && assert_one_line_error "--keep-stages needs --keep-last"
run 2 p4reg gc --keep-last 1 'Bad Name' && assert_one_line_error "invalid model name 'Bad Name'"
run 1 p4reg gc --keep-last 1 m nope && assert_one_line_error "unknown model 'nope'"
run 1 p4reg --json gc --keep-last 1 nope && assert_eq "$OUT" '{"error":{"code":"not_found","message":"unknown model '"'"'nope'"'"'"}}'
assert_eq "$(snapshot)" "$before" "a refused gc changed something"
run 0 p4reg gc --help && assert_contains "$OUT" "usage: p4reg gc [--keep-last N [--keep-stages] [MODEL...]]"

begin "deletions travel: push, then a clone's fetch has them, with who and why"
R="$ROOT_TMP/remote"
run 0 p4reg remote add origin "$R"
run 0 p4reg push
B="$ROOT_TMP/B"
mkdir -p "$B" && cd "$B" && p4reg init >/dev/null && p4reg remote add origin "$R" >/dev/null 2>&1 || fail "init B"
run 0 p4reg fetch
assert_eq "$(deleted)" "m@5 m@6 d@1"
assert_eq "$(db "SELECT group_concat(reason, ', ') FROM (SELECT reason FROM events WHERE kind = 'delete' ORDER BY id)")" \
	"gc --keep-last 2, gc --keep-last 2 --keep-stages, gc --keep-last 1"
run 1 p4reg show m@6 && assert_one_line_error "version 6 of model 'm' was deleted"
# the clone's own retention agrees: nothing more to delete
run 0 p4reg gc --keep-last 2 --keep-stages m --dry-run
assert_contains "$OUT" "gc --keep-last 2 --keep-stages: would delete 0 versions, kept 4"

finish
