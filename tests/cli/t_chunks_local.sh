#!/usr/bin/env bash
# End-to-end: the local chunk lists (.p4reg/chunks/ab/cd/<oid>, #19). fsck
# reports a damaged list and anything p4reg does not write there, and is
# silent about a whole list and about an orphan; gc removes the lists of
# the objects it deletes, damaged lists, old orphans and stale temporary
# files, prints nothing more about them, and leaves strangers alone; a
# symbolic link in place of the folder is refused like objects/ and tmp/.
. "$(dirname "$0")/lib.sh"

obj_path() { echo ".p4reg/objects/${1:0:2}/${1:2:2}/$1"; }
list_path() { echo ".p4reg/chunks/${1:0:2}/${1:2:2}/$1"; }
json_get() { printf '%s' "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# write_list FILE OID: the chunk list of FILE (below 16 KiB: one chunk, the
# whole file) under OID's name, written from the format docs/remotes.md
# documents, 0444 like p4reg's.
write_list() {
	mkdir -p "$(dirname "$(list_path "$2")")"
	python3 - "$1" "$2" "$(list_path "$2")" <<'EOF'
import hashlib, struct, sys
data = open(sys.argv[1], 'rb').read()
out = b'P4RCHL1\n' + bytes.fromhex(sys.argv[2]) + struct.pack('<QII', len(data), 0, 1)
out += hashlib.sha256(data).digest() + struct.pack('<IIQ', 0xffffffff, len(data), 0)
open(sys.argv[3], 'wb').write(out)
EOF
	chmod 444 "$(list_path "$2")"
}

begin "whole lists and orphans are no finding"
fresh_repo
random_file m.bin 10 && p4reg add -q m.bin && oid=$(sha m.bin)
write_list m.bin "$oid"
random_file "$ROOT_TMP/gone.bin" 3 && gone=$(sha "$ROOT_TMP/gone.bin")
write_list "$ROOT_TMP/gone.bin" "$gone"
run 0 p4reg fsck
assert_eq "$OUT" "ok: 1 objects (10.0 KiB) re-hashed, 1 pointers checked, registry consistent"

begin "a damaged list is a problem, exit 4, with its repair"
chmod u+w "$(list_path "$oid")" && flip_byte "$(list_path "$oid")" 40
run 4 p4reg fsck
assert_eq "$OUT" "bad-chunk-list: chunk list of $oid is damaged: its chunks hold 10240 bytes, not the object's 10495
  fix: p4reg gc removes it; p4reg computes it again from the object when it needs it
1 problem found: 1 objects (10.0 KiB) re-hashed, 0 quarantined, 1 pointers checked"
assert_eq "$ERR" ""
run 4 p4reg --json fsck
assert_eq "$(json_get '[(p["kind"], p["object"], p["path"], p["model"]) for p in d["problems"]]')" \
	"[('bad-chunk-list', '$oid', '$(list_path "$oid")', None)]"
printf 'x' >"$(list_path "$oid")"
run 4 p4reg fsck
assert_contains "$OUT" "bad-chunk-list: chunk list of $oid is damaged: 1 bytes are too few for its header"

begin "gc removes the damaged list, keeps the young orphan, says nothing of them"
run 0 p4reg gc
assert_eq "$OUT" "removed 0 unreferenced objects (0 B) and 0 temporary files (0 B)"
assert_eq "$ERR" ""
assert_no_file "$(list_path "$oid")"
assert_file "$(list_path "$gone")"
run 0 p4reg fsck

begin "gc --grace 0 removes the orphan and stale temporary files, not strangers"
tmpname=$(dirname "$(list_path "$gone")")/.$gone.Ab12Cd
echo partial >"$tmpname"
echo mine >"$(dirname "$(list_path "$gone")")/notes.txt"
run 0 p4reg gc --dry-run --grace 0
assert_file "$(list_path "$gone")" && assert_file "$tmpname"
run 0 p4reg gc --grace 0
assert_eq "$OUT" "removed 0 unreferenced objects (0 B) and 0 temporary files (0 B)"
assert_no_file "$(list_path "$gone")"
assert_no_file "$tmpname"
assert_file "$(dirname "$(list_path "$gone")")/notes.txt"

begin "fsck reports what p4reg does not write in .p4reg/chunks"
run 4 p4reg fsck
assert_eq "$OUT" "stray-file: '$(dirname "$(list_path "$gone")")/notes.txt' is not a chunk list of p4reg (gc leaves it alone)
  fix: p4reg never writes such an entry: move it out of .p4reg/chunks
1 problem found: 1 objects (10.0 KiB) re-hashed, 0 quarantined, 1 pointers checked"
rm "$(dirname "$(list_path "$gone")")/notes.txt"
# the folder's own .gitignore is p4reg's
printf '*\n' >.p4reg/chunks/.gitignore
run 0 p4reg fsck

begin "gc removes a list with its object"
write_list m.bin "$oid"
run 0 p4reg rm m@1
run 0 p4reg gc --grace 0
assert_eq "$OUT" "removed object $oid (10.0 KiB)
removed 1 unreferenced object (10.0 KiB) and 0 temporary files (0 B)"
assert_no_file "$(obj_path "$oid")"
assert_no_file "$(list_path "$oid")"

begin "a symbolic link in place of .p4reg/chunks is refused"
fresh_repo
mkdir -p "$ROOT_TMP/elsewhere"
ln -s "$ROOT_TMP/elsewhere" .p4reg/chunks
run 3 p4reg fsck
assert_one_line_error "'.p4reg/chunks' is a symbolic link; p4reg does not trust it: remove the link"
run 3 p4reg gc

finish
