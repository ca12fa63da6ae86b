#!/usr/bin/env bash
# End-to-end: p4reg rm. A deleted version's number is never reused; it
# leaves list, log, show, metrics and every reference (naming it says it
# was deleted); a stage holder, an alias holder and rollback's target are
# kept (exit 3, nothing changed) unless --force; --dry-run changes
# nothing; its object is garbage for gc unless a live version has the same
# bytes; a checked-out file stays (a note); deletions travel to a clone.
. "$(dirname "$0")/lib.sh"

deleted() { db "SELECT group_concat(number, ' ') FROM (SELECT number FROM versions WHERE deleted_ms IS NOT NULL ORDER BY number)"; }
objpath() { echo ".p4reg/objects/${1:0:2}/${1:2:2}/$1"; }

begin "delete the latest: the next add still takes max+1"
fresh_repo
for i in 1 2 3; do random_file m.bin 4; cp m.bin "$ROOT_TMP/v$i"; p4reg add -q m.bin || fail "add $i"; done
p4reg log-metric m@3 f1=0.9 --run leaky -q || fail "log-metric"
run 0 p4reg runs m && assert_contains "$OUT" "leaky"
run 0 p4reg rm m@3 -m "trained on leaked data"
assert_eq "$OUT" "deleted m@3; its object is now garbage: p4reg gc removes it"
assert_eq "$ERR" "'m.bin' holds m@3, which is deleted now: the file and its pointer stay (p4reg checkout m replaces them)"
assert_same_bytes m.bin "$ROOT_TMP/v3"
assert_file m.bin.p4reg
assert_eq "$(deleted)" "3"
assert_eq "$(db "SELECT kind, from_stage, to_stage, forced, reason, actor FROM events WHERE kind = 'delete'")" \
	"delete|development|archived|0|trained on leaked data|Test Runner <test@example.com>"
random_file m.bin 4
run 0 p4reg add m.bin && assert_contains "$OUT" "added m.bin as m@4"
# the deleted version's own bytes come back as a new number too
cp "$ROOT_TMP/v3" m.bin
run 0 p4reg add m.bin && assert_contains "$OUT" "added m.bin as m@5"
assert_eq "$(db "SELECT count(*) FROM versions")" "5"

begin "a deleted version leaves every list and reference"
run 0 p4reg list && assert_contains "$OUT" "m                        4        5"
run 0 p4reg log m && assert_not_contains "$OUT" "m@3 "
assert_eq "$(printf '%s\n' "$OUT" | grep -c '^m@')" "4"
run 0 p4reg --json log m && assert_not_contains "$OUT" '"version":3,'
run 0 p4reg metrics m && assert_not_contains "$OUT" "3 "
run 0 p4reg runs m && assert_not_contains "$OUT" "leaky"
run 1 p4reg show m@3 && assert_eq "$ERR" "p4reg: version 3 of model 'm' was deleted (p4reg rm); 'p4reg history m' says by whom and why"
run 1 p4reg --json show m@3 && assert_contains "$OUT" '{"error":{"code":"not_found","message":"version 3 of model'
run 1 p4reg cat m@3 && assert_one_line_error "was deleted"
run 1 p4reg checkout m@3 && assert_one_line_error "was deleted"
run 1 p4reg promote m@3 --to validation && assert_one_line_error "was deleted"
run 1 p4reg log-metric m@3 f1=1 && assert_one_line_error "was deleted"
run 1 p4reg alias m champion 3 && assert_one_line_error "was deleted"
run 1 p4reg tag m@3 a=1 && assert_one_line_error "was deleted"
run 1 p4reg rm m@3 && assert_one_line_error "was deleted"
run 0 p4reg history m
assert_eq "$(printf '%s\n' "$OUT" | grep -cE 'm@3 +delete +development -> archived +Test Runner <test@example.com>  trained on leaked data$')" "1"

begin "refused for a stage, an alias or rollback's target: exit 3, nothing changed"
run 0 p4reg promote m@1 --to production --force -q
run 0 p4reg promote m@2 --to production --force -q
run 0 p4reg promote m@4 --to staging --force -q
run 0 p4reg alias m champion 5
before=$(snapshot)
run 3 p4reg rm m@2 && assert_eq "$ERR" "p4reg: cannot delete 'm@2': it is in production; --force deletes it anyway"
run 3 p4reg rm m@4 && assert_eq "$ERR" "p4reg: cannot delete 'm@4': it is in staging; --force deletes it anyway"
run 3 p4reg rm m@champion && assert_eq "$ERR" "p4reg: cannot delete 'm@5': alias 'champion' names it; --force deletes it anyway"
run 3 p4reg rm m@1 && assert_eq "$ERR" "p4reg: cannot delete 'm@1': rollback would return to it; --force deletes it anyway"
run 3 p4reg rm m@1 --dry-run && assert_one_line_error "rollback would return to it"
run 3 p4reg --json rm m@2 && assert_eq "$OUT" '{"error":{"code":"refused","message":"cannot delete '"'"'m@2'"'"': it is in production; --force deletes it anyway"}}'
assert_eq "$(snapshot)" "$before" "a refused rm changed something"

begin "--dry-run says what would happen and changes nothing"
run 0 p4reg rm m@production --force --dry-run
assert_eq "$OUT" "would delete m@2 (forced: it is in production); its object would be garbage: p4reg gc removes it"
run 0 p4reg --json rm m@5 --force --dry-run
assert_eq "$OUT" '{"model":"m","version":5,"stage":"development","deleted":false,"dry_run":true,"forced":true,"kept_by":"alias '"'"'champion'"'"' names it","aliases":["champion"],"rollback_target":false,"object_kept":false,"checked_out":"m.bin","reason":null}'
assert_eq "$(snapshot)" "$before" "a dry run changed something"

begin "--force deletes a holder: archived, its alias gone, recorded as forced"
run 0 p4reg rm m@champion --force -m "bad eval"
assert_eq "$OUT" "deleted m@5 (forced: alias 'champion' names it); its object is now garbage: p4reg gc removes it"
assert_eq "$(db "SELECT count(*) FROM aliases")" "0"
run 0 p4reg rm m@production --force
assert_eq "$(db "SELECT stage FROM versions WHERE number = 2")" "archived"
assert_eq "$(db "SELECT from_stage || ' ' || forced FROM events WHERE kind = 'delete' ORDER BY id DESC LIMIT 1")" "production 1"
run 1 p4reg show m@production && assert_eq "$ERR" "p4reg: model 'm' has no version in production"
run 3 p4reg rollback m --no-checkout && assert_one_line_error "no production version"
run 0 p4reg --json list && assert_contains "$OUT" '"versions":2,"latest":4,"staging":4,"production":null'

begin "the object is garbage unless a live version has the same bytes"
cp "$ROOT_TMP/v1" other.bin
run 0 p4reg add other.bin && assert_contains "$OUT" "added other.bin as other@1"
run 0 p4reg rm m@1 --force && assert_eq "$OUT" "deleted m@1; its object stays: another version has the same bytes"
o1=$(sha "$ROOT_TMP/v1"); o2=$(sha "$ROOT_TMP/v2"); o3=$(sha "$ROOT_TMP/v3")
run 0 p4reg gc --grace 0
assert_file "$(objpath "$o1")"
assert_no_file "$(objpath "$o2")"
assert_no_file "$(objpath "$o3")"  # m@3 and m@5 had these bytes: both deleted
assert_same_bytes m.bin "$ROOT_TMP/v3"  # the work file is no object
run 0 p4reg fsck && assert_eq "$OUT" "deleted-version: 'm.bin.p4reg' names m@5, which was deleted (p4reg rm)
ok: 2 objects (8.0 KiB) re-hashed, 2 pointers checked, registry consistent"
run 0 p4reg --json fsck && assert_contains "$OUT" '"notes":[{"kind":"deleted-version"'
run 0 p4reg status && assert_eq "$OUT" "unknown-version m.bin (m@5)
clean          other.bin (other@1)"
assert_contains "$ERR" "pointer 'm.bin.p4reg' names m@5, which was deleted (p4reg rm); 'p4reg checkout m' puts a live version there"

begin "bad input: exit 2 or 1, one line, nothing changed"
before=$(snapshot)
run 2 p4reg rm && assert_one_line_error "rm needs a REF"
assert_contains "$ERR" "usage: p4reg rm REF [-m REASON] [--force] [--dry-run]"
run 2 p4reg rm m@4 m@1 && assert_one_line_error "rm takes one REF"
run 2 p4reg rm m@Bad && assert_one_line_error "invalid reference 'm@Bad'"
run 2 p4reg rm 'a b@1' && assert_one_line_error "invalid reference"
run 1 p4reg rm nope@1 && assert_eq "$ERR" "p4reg: unknown model 'nope'"
run 1 p4reg rm m@99 && assert_eq "$ERR" "p4reg: model 'm' has no version 99"
run 1 p4reg rm m@ghost && assert_eq "$ERR" "p4reg: model 'm' has no alias 'ghost'"
run 2 p4reg rm m@4 --frob && assert_one_line_error "unknown option '--frob'"
run 2 p4reg rm m@4 -m "$(head -c 65537 /dev/zero | tr '\0' x)" --force && assert_one_line_error "the reason is too long"
assert_eq "$(snapshot)" "$before" "a refused rm changed something"
run 0 p4reg rm --help && assert_contains "$OUT" "usage: p4reg rm REF [-m REASON] [--force] [--dry-run]"

begin "deletions travel to a clone; numbers are never reused there either"
R="$ROOT_TMP/remote"
run 0 p4reg remote add origin "$R"
run 0 p4reg push
assert_eq "$(grep -c '"format":4' "$R/log/0000000001.json")" "1"
B="$ROOT_TMP/B"
mkdir -p "$B" && cd "$B" && p4reg init >/dev/null && p4reg remote add origin "$R" >/dev/null 2>&1 || fail "init B"
run 0 p4reg fetch --objects
assert_eq "$(deleted)" "1 2 3 5"
run 1 p4reg show m@2 && assert_one_line_error "version 2 of model 'm' was deleted"
random_file m.bin 4
run 0 p4reg add m.bin && assert_contains "$OUT" "added m.bin as m@6"
run 0 p4reg rm m@6 -m "oops" && run 0 p4reg push
cd - >/dev/null
run 0 p4reg fetch
assert_eq "$(deleted)" "1 2 3 5 6"
assert_eq "$(db "SELECT reason FROM events WHERE kind = 'delete' ORDER BY id DESC LIMIT 1")" "oops"
run 0 p4reg fsck && assert_contains "$OUT" "registry consistent"
(cd "$B" && p4reg fsck >/dev/null) || fail "fsck on B"
mkdir -p "$ROOT_TMP/box"
run 1 p4reg get "$R" m@5 -o "$ROOT_TMP/box/m.bin" --no-cache && assert_one_line_error "version 5 of model 'm' was deleted"
run 0 p4reg get "$R" m -o "$ROOT_TMP/box/m.bin" --no-cache && assert_contains "$OUT" "got m@4"

finish
