#!/usr/bin/env bash
# End-to-end: init, add, checkout, status, list, log, show, cat, config, help.
. "$(dirname "$0")/lib.sh"

begin "help works outside a repository"
cd "$ROOT_TMP"
run 0 p4reg --help && assert_contains "$OUT" "Commands:"
run 0 p4reg help add && assert_contains "$OUT" "usage: p4reg add"
run 0 p4reg add --help && assert_contains "$OUT" "usage: p4reg add"
run 0 p4reg --version && assert_eq "$OUT" "p4reg 0.1.0"
run 0 p4reg --json --version && assert_eq "$OUT" '{"version":"0.1.0"}'
run 2 p4reg frobnicate && assert_one_line_error "'frobnicate' is not a p4reg command"
run 2 p4reg && assert_contains "$ERR" "usage: p4reg"

begin "commands outside a repository fail with exit 1"
cd "$ROOT_TMP"
run 1 p4reg list && assert_one_line_error "not a p4reg repository"
run 1 p4reg --json list && assert_eq "$OUT" '{"error":{"code":"not_found","message":"not a p4reg repository (or any parent up to /)"}}'

begin "init creates the layout and refuses a second time or nested"
fresh_repo
for f in .p4reg/config .p4reg/registry.db .p4reg/.gitignore; do assert_file "$f"; done
[ -d .p4reg/objects ] && [ -d .p4reg/tmp ] || fail "objects/ or tmp/ missing"
assert_eq "$(db 'PRAGMA application_id')" "$((0x50345247))"
before=$(snapshot)
run 1 p4reg init && assert_one_line_error "already a p4reg repository"
mkdir sub && cd sub
run 3 p4reg init && assert_one_line_error "do not nest"
cd ..
assert_eq "$(snapshot)" "$before" "second init changed something"

begin "init in a git subfolder goes to the git root"
d=$(mktemp -d "$ROOT_TMP/g-XXXXXX"); cd "$d"; git init -q .; mkdir -p a/b; cd a/b
run 0 p4reg init && [ -d "$d/.p4reg" ] || fail "init did not go to the git root"

begin "add stores, registers, writes pointer and gitignore"
fresh_repo
random_file models/emb.onnx 300
oid=$(sha models/emb.onnx)
run 0 p4reg add models/emb.onnx -m "first" && assert_contains "$OUT" "added models/emb.onnx as emb@1"
obj=.p4reg/objects/${oid:0:2}/${oid:2:2}/$oid
assert_same_bytes "$obj" models/emb.onnx
assert_eq "$(stat -c %a "$obj")" "444" "object mode"
assert_eq "$(cat models/emb.onnx.p4reg)" "p4reg-pointer 1
model emb
version 1
oid sha256:$oid
size 307200"
assert_eq "$(cat models/.gitignore)" "/emb.onnx"
assert_eq "$(db "SELECT number, oid, size, stage, message, source_path FROM versions")" "1|$oid|307200|development|first|models/emb.onnx"
assert_eq "$(db "SELECT kind, to_stage FROM events")" "register|development"
assert_eq "$(ls .p4reg/tmp | wc -l)" "0" "tmp/ not empty"

begin "add of the same bytes is unchanged; new bytes make version 2"
run 0 p4reg add models/emb.onnx && assert_eq "$OUT" "unchanged models/emb.onnx (emb@1)"
assert_eq "$(db 'SELECT count(*) FROM versions')" "1"
touch models/emb.onnx   # new mtime: the cache misses, the hash says unchanged
run 0 p4reg add models/emb.onnx && assert_contains "$OUT" "unchanged"
random_file models/emb.onnx 200
oid2=$(sha models/emb.onnx)
run 0 p4reg --json add models/emb.onnx
assert_eq "$(echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin)["added"][0]; print(d["version"], d["oid"], d["unchanged"], d["stage"])')" "2 $oid2 False development"
assert_eq "$(grep -c emb.onnx models/.gitignore)" "1" "gitignore line duplicated"

begin "add several paths in one call; names from file names"
random_file a/x.bin 64; random_file b/y.tar.gz 64
run 0 p4reg add a/x.bin b/y.tar.gz
assert_contains "$OUT" "as x@1"
assert_contains "$OUT" "as y.tar@1"

begin "status: clean, modified, missing, object-missing"
run 0 p4reg status
assert_contains "$OUT" "clean          models/emb.onnx (emb@2)"
echo "changed" >>a/x.bin
rm b/y.tar.gz
run 0 p4reg --json status
assert_contains "$OUT" '{"file":"a/x.bin","state":"modified","model":"x","version":1}'
assert_contains "$OUT" '{"file":"b/y.tar.gz","state":"missing","model":"y.tar","version":1}'

begin "checkout restores a missing file and an old version, updating the pointer"
run 0 p4reg checkout b/y.tar.gz && assert_contains "$OUT" "checked out b/y.tar.gz (y.tar@1)"
run 0 p4reg checkout emb@1 && assert_eq "$(sha models/emb.onnx)" "$oid"
assert_contains "$(cat models/emb.onnx.p4reg)" "version 1"
run 0 p4reg checkout emb@latest && assert_eq "$(sha models/emb.onnx)" "$oid2"
assert_contains "$(cat models/emb.onnx.p4reg)" "version 2"
run 0 p4reg checkout models/emb.onnx && assert_contains "$OUT" "up to date"

begin "checkout refuses to overwrite bytes that are in no version"
before=$(sha a/x.bin)
run 1 p4reg checkout a/x.bin && assert_one_line_error "has changes that are in no version"
assert_eq "$(sha a/x.bin)" "$before" "modified file was overwritten"
run 0 p4reg checkout --force a/x.bin
run 0 p4reg status && assert_contains "$OUT" "clean          a/x.bin"

begin "checkout with no argument restores every pointer"
rm models/emb.onnx a/x.bin
run 0 p4reg checkout
assert_eq "$(sha models/emb.onnx)" "$oid2"
assert_file a/x.bin

begin "checkout --link hardlink shares the object"
run 0 p4reg checkout --link hardlink emb@1
assert_eq "$(stat -c %i models/emb.onnx)" "$(stat -c %i .p4reg/objects/${oid:0:2}/${oid:2:2}/$oid)"

begin "list, log, show, cat"
run 0 p4reg list && assert_contains "$OUT" "emb"
run 0 p4reg --json list
assert_contains "$OUT" '{"name":"emb","path":"models/emb.onnx","versions":2,"latest":2,"staging":null,"production":null'
run 0 p4reg log emb
assert_eq "$(echo "$OUT" | head -1 | cut -c1-6)" "emb@2 "
run 0 p4reg --json log emb
assert_eq "$(echo "$OUT" | python3 -c 'import json,sys; print([v["version"] for v in json.load(sys.stdin)["history"]])')" "[2, 1]"
run 0 p4reg show emb@v1 && assert_contains "$OUT" "oid:      sha256:$oid"
run 0 p4reg show models/emb.onnx && assert_contains "$OUT" "version:  1"
run 0 p4reg --json show emb && assert_contains "$OUT" "\"version\":2"
p4reg cat emb@1 >"$ROOT_TMP/catted"; assert_eq "$?" "0"
assert_eq "$(sha "$ROOT_TMP/catted")" "$oid"

begin "config get, set, local, unset, list"
run 1 p4reg config foo.bar && assert_one_line_error "config key 'foo.bar' is not set"
run 0 p4reg config foo.bar baz
run 0 p4reg config foo.bar && assert_eq "$OUT" "baz"
run 0 p4reg config --local foo.bar secret
run 0 p4reg config foo.bar && assert_eq "$OUT" "secret"
assert_not_contains "$(cat .p4reg/config)" "secret"
run 0 p4reg config --local --unset foo.bar
run 0 p4reg config foo.bar && assert_eq "$OUT" "baz"
run 0 p4reg --json config --list && assert_contains "$OUT" '"foo.bar":"baz"'

begin "-C and P4REG_DIR select the repository"
repo=$PWD
cd "$ROOT_TMP"
run 0 p4reg -C "$repo" list && assert_contains "$OUT" "emb"
P4REG_DIR=$repo run 0 p4reg list && assert_contains "$OUT" "emb"

begin "hardlink cache type makes the work tree file read-only"
fresh_repo
# the committed config cannot choose hard links: the file stays a copy
p4reg config core.cacheType hardlink
random_file c.bin 100
run 0 p4reg add c.bin
oid=$(sha c.bin)
assert_eq "$(stat -c %h c.bin)" "1" "a committed hardlink setting was obeyed"
p4reg config --unset core.cacheType
p4reg config --local core.cacheType hardlink
random_file m.bin 100
run 0 p4reg add m.bin
oid=$(sha m.bin)
assert_eq "$(stat -c %i m.bin)" "$(stat -c %i .p4reg/objects/${oid:0:2}/${oid:2:2}/$oid)"
assert_eq "$(stat -c %a m.bin)" "444"

finish
