#!/usr/bin/env bash
# End-to-end: fsck finds corrupt and missing objects, bad pointers and broken
# registry invariants, quarantines, reports each problem with its fix, and
# exits 4; a healthy repository is exit 0.
. "$(dirname "$0")/lib.sh"

obj_path() { echo ".p4reg/objects/${1:0:2}/${1:2:2}/$1"; }
# json_get EXPR: evaluates a Python expression on the JSON in $OUT as d.
json_get() { printf '%s' "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

setup() {
	fresh_repo
	random_file models/emb.onnx 200
	oid1=$(sha models/emb.onnx)
	p4reg add -q models/emb.onnx
	random_file models/emb.onnx 100
	oid2=$(sha models/emb.onnx)
	p4reg add -q models/emb.onnx
	random_file llm.bin 50
	oid3=$(sha llm.bin)
	p4reg add -q llm.bin
}

begin "a healthy repository is clean: exit 0"
setup
run 0 p4reg fsck && assert_contains "$OUT" "ok: 3 objects"
assert_contains "$OUT" "2 pointers checked"
run 0 p4reg --json fsck
assert_eq "$(json_get 'd["ok"], d["objects_checked"], d["problems"]')" "True 3 []"
run 0 p4reg fsck --help && assert_contains "$OUT" "usage: p4reg fsck"
run 2 p4reg fsck extra && assert_one_line_error "fsck takes no arguments"
run 2 p4reg fsck --frob && assert_one_line_error "unknown option"
[ ! -e .p4reg/quarantine ] || fail "quarantine created for nothing"

begin "tmp/ leftovers and unreferenced objects are not problems"
echo partial >.p4reg/tmp/.object.abc123
printf 'orphan' >orphan && p4reg add -q orphan && orphan_oid=$(sha orphan)
sqlite3 .p4reg/registry.db "PRAGMA foreign_keys=ON; DROP TRIGGER events_no_delete; DELETE FROM events WHERE version_id IN (SELECT id FROM versions WHERE oid='$orphan_oid'); DELETE FROM versions WHERE oid='$orphan_oid'; DELETE FROM stat_cache; DELETE FROM models WHERE name='orphan'; CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
rm orphan orphan.p4reg
run 0 p4reg fsck

begin "a corrupt object is quarantined and reported, exit 4"
o=$(obj_path "$oid1")
chmod u+w "$o"; flip_byte "$o" 100; chmod 444 "$o"
run 4 p4reg fsck
assert_contains "$OUT" "corrupt-object: object $oid1 is corrupt"
assert_contains "$OUT" "moved to '.p4reg/quarantine/$oid1'"
assert_contains "$OUT" "damaged-object: object $oid1 of emb@1 is damaged: its bytes changed in place (they hashed to "
assert_contains "$OUT" "fix: "
assert_contains "$OUT" "2 problems found"
assert_eq "$ERR" "" "fsck printed an error besides its report"
assert_no_file "$o"
assert_file ".p4reg/quarantine/$oid1"
# the quarantine is outside the store: checkout of that version now fails
# cleanly instead of serving bad bytes, naming the damaged version
run 4 p4reg checkout emb@1 && assert_one_line_error "the stored bytes of emb@1 were found damaged earlier"
assert_contains "$ERR" "not repaired (no remote is configured)"
run 4 p4reg --json fsck
assert_eq "$(json_get 'd["ok"], [(p["kind"], p.get("object"), p.get("model")) for p in d["problems"]]')" \
	"False [('damaged-object', '$oid1', 'emb')]"
assert_eq "$(json_get 'sorted(d["problems"][0].keys())')" "['fix', 'kind', 'message', 'model', 'object', 'path']"

begin "re-adding the original bytes repairs a missing object"
setup
cp "$(obj_path "$oid2")" good2
rm -f "$(obj_path "$oid2")"
run 4 p4reg fsck && assert_contains "$OUT" "missing-object: object $oid2 of emb@2"
cp good2 models/emb.onnx
run 0 p4reg add models/emb.onnx && assert_contains "$OUT" "unchanged"
# add says unchanged because the registry has it; the store insert put the
# object back (the copy is hashed on the way in)
run 0 p4reg fsck

begin "a second corrupt copy does not overwrite the first in quarantine"
o=$(obj_path "$oid3")
chmod u+w "$o"; flip_byte "$o" 10; chmod 444 "$o"
run 4 p4reg fsck
cp ".p4reg/quarantine/$oid3" "$o"
run 4 p4reg fsck
assert_file ".p4reg/quarantine/$oid3"
assert_file ".p4reg/quarantine/$oid3.1"
assert_no_file "$o"

begin "stray files in the store are reported"
setup
echo junk >.p4reg/objects/junk
mkdir -p .p4reg/objects/ab/cd && echo x >".p4reg/objects/ab/cd/$oid1"
run 4 p4reg --json fsck
assert_eq "$(json_get 'sorted((p["kind"], p["path"]) for p in d["problems"])')" \
	"[('stray-file', '.p4reg/objects/ab/cd/$oid1'), ('stray-file', '.p4reg/objects/junk')]"

begin "wrong bytes no version names and no fingerprint vouched for (a crashed batch's) are a note; a fingerprinted object's are a problem"
setup
printf 'the bytes a crash lost' >torn && t=$(sha torn) && rm torn
mkdir -p "$(dirname "$(obj_path "$t")")" && : >"$(obj_path "$t")"
run 0 p4reg --json fsck
assert_eq "$(json_get '[n["kind"] for n in d["notes"]], [p["kind"] for p in d["problems"]], d["quarantined"]')" "['torn-object'] [] 1"
assert_file ".p4reg/quarantine/$t" && assert_no_file "$(obj_path "$t")"
assert_eq "$(db "SELECT count(*) FROM object_damage")" "0" "a torn leftover was marked damaged"
: >"$(obj_path "$t")"
run 0 p4reg fsck
assert_contains "$OUT" "torn-object: object $t was never completed (a crash inside an add; no version references it); moved to '.p4reg/quarantine/$t.1'"
assert_contains "$OUT" "notes: 1 torn by a crash"
# a deleted version's object: unreferenced, but the guard vouched for it once
run 0 p4reg rm llm@1
o=$(obj_path "$oid3")
chmod u+w "$o"; flip_byte "$o" 10; chmod 444 "$o"
run 4 p4reg fsck && assert_contains "$OUT" "corrupt-object: object $oid3 is corrupt"

begin "bad, unknown and mismatched pointers"
setup
printf 'p4reg-pointer 9\n' >models/bad.onnx.p4reg
printf 'p4reg-pointer 1\nmodel emb\nversion 7\noid sha256:%s\nsize 204800\n' "$oid1" >models/ghost.onnx.p4reg
printf 'p4reg-pointer 1\nmodel emb\nversion 1\noid sha256:%s\nsize 102400\n' "$oid2" >models/liar.onnx.p4reg
run 4 p4reg fsck
assert_contains "$OUT" "bad-pointer: invalid pointer 'models/bad.onnx.p4reg' line 1"
assert_contains "$OUT" "unknown-version: 'models/ghost.onnx.p4reg' names emb@7"
assert_contains "$OUT" "pointer-mismatch: 'models/liar.onnx.p4reg' says emb@1 is $oid2"
run 4 p4reg --json fsck
assert_eq "$(json_get '[(p["kind"], p["path"]) for p in d["problems"]]')" \
	"[('bad-pointer', 'models/bad.onnx.p4reg'), ('unknown-version', 'models/ghost.onnx.p4reg'), ('pointer-mismatch', 'models/liar.onnx.p4reg')]"

begin "registry invariants: two production holders, stage history, numbering, triggers"
setup
p4reg promote -q emb@1 --to validation && p4reg promote -q emb@1 --to staging && p4reg promote -q emb@1 --to production
run 0 p4reg fsck
sqlite3 .p4reg/registry.db "DROP INDEX one_production; UPDATE versions SET stage='production' WHERE number=2 AND model_id=(SELECT id FROM models WHERE name='emb')"
run 4 p4reg fsck
assert_contains "$OUT" "model 'emb' has 2 versions in production (v1, v2); at most one may hold it"
assert_contains "$OUT" "version 2 of model 'emb' is in production but its latest stage event moved it to development"
setup
sqlite3 .p4reg/registry.db "DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete; DELETE FROM events WHERE version_id=(SELECT id FROM versions WHERE number=1 AND model_id=(SELECT id FROM models WHERE name='emb')); DELETE FROM versions WHERE number=1 AND model_id=(SELECT id FROM models WHERE name='emb')"
run 4 p4reg --json fsck
kinds=$(json_get '" ".join(sorted(set(p["kind"] for p in d["problems"])))')
assert_eq "$kinds" "registry-invariant"
assert_contains "$OUT" "versions of model 'emb' are not numbered 1..1 (lowest 2, highest 2)"
assert_contains "$OUT" "the triggers that keep events append-only are missing"

begin "a damaged registry file is an integrity failure"
setup
size=$(stat -c %s .p4reg/registry.db)
rm -f .p4reg/registry.db-wal .p4reg/registry.db-shm
dd if=/dev/urandom of=.p4reg/registry.db bs=1024 seek=2 count=$(( size / 1024 - 2 )) conv=notrunc 2>/dev/null
run 4 p4reg fsck
assert_contains "$OUT" "registry-corrupt: "
# a file that is not a database at all: still a report on everything else
printf 'not a database at all, just text padding it out............' >.p4reg/registry.db
run 4 p4reg fsck
assert_contains "$OUT" "registry-corrupt: '$PWD/.p4reg/registry.db' is not a p4reg registry (not a SQLite database)"
assert_contains "$OUT" "fix: restore .p4reg/registry.db from a backup, or replace it with an empty registry (p4reg fsck --new-registry)"
assert_contains "$OUT" "1 problem found: 3 objects"
assert_contains "$OUT" "2 pointers checked"
assert_eq "$ERR" "" "fsck printed an error besides its report"

begin "--repair fetches a good copy from the remote"
setup
run 0 p4reg remote add origin "$ROOT_TMP/remote-$$" && run 0 p4reg push
o=$(obj_path "$oid2")
chmod u+w "$o"; flip_byte "$o" 7; chmod 444 "$o"
run 0 p4reg fsck --repair && assert_contains "$OUT" "repaired: 1 object fetched from the remote and verified"
assert_eq "$(sha "$o")" "$oid2" "repaired object"
assert_file ".p4reg/quarantine/$oid2"
run 0 p4reg fsck
rm -rf "$ROOT_TMP/remote-$$/objects"
chmod u+w "$o"; flip_byte "$o" 7; chmod 444 "$o"
run 4 p4reg --json fsck --repair
assert_eq "$(json_get '[p["kind"] for p in d["problems"]], d["repaired"]')" "['corrupt-object', 'damaged-object'] 0"
assert_contains "$(json_get 'd["problems"][1]["fix"]')" "could not fetch it"

finish
