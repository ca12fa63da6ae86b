#!/usr/bin/env bash
# End-to-end: a folder model (Hugging Face layout) across a folder remote:
# push of two versions, pull and checkout on a clone, get of a folder
# version onto a box, gc/fsck on the clone, a corrupt file object.
. "$(dirname "$0")/lib.sh"

R="$ROOT_TMP/remote"
A="$ROOT_TMP/A"
B="$ROOT_TMP/B"
mkdir -p "$A" "$B"
(cd "$A" && p4reg init >/dev/null) || fail "init A"
(cd "$B" && p4reg init >/dev/null) || fail "init B"
remote_bytes() { find "$R/objects" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
obj() { echo "$R/objects/${1:0:2}/${1:2:2}/$1"; }

begin "two versions of a folder pushed: the second costs the changed shard only"
cd "$A"
M=models/minilm
mkdir -p $M
printf '{"hidden_size": 384}\n' >$M/config.json
printf '{"tokens": []}\n' >$M/tokenizer.json
printf '*.safetensors filter=lfs\n' >$M/.gitattributes
random_file $M/model-00001-of-00002.safetensors 256
random_file $M/model-00002-of-00002.safetensors 128
cp -a $M "$ROOT_TMP/v1"
run 0 p4reg add $M/ -m one
run 0 p4reg remote add origin "$R"
run 0 p4reg push
before=$(remote_bytes)
random_file $M/model-00002-of-00002.safetensors 128
cp -a $M "$ROOT_TMP/v2"
run 0 p4reg add $M/ -m two
run 0 p4reg push
after=$(remote_bytes)
grown=$((after - before))
# the changed shard (128 KiB) and the new manifest (a few hundred bytes)
[ "$grown" -ge $((128 * 1024)) ] && [ "$grown" -lt $((128 * 1024 + 2048)) ] ||
	fail "the remote grew by $grown bytes, not by one shard and a manifest"

begin "a clone pulls both versions: v2 on disk, checkout minilm@1 gives v1"
cd "$B"
run 0 p4reg remote add origin "$R"
mkdir -p models && cp "$A"/models/minilm.p4reg models/
run 0 p4reg pull
diff -r "$ROOT_TMP/v2" models/minilm >/dev/null || fail "pull: the folder is not v2"
run 0 p4reg checkout minilm@1
diff -r "$ROOT_TMP/v1" models/minilm >/dev/null || fail "checkout minilm@1: the folder is not v1"
run 0 p4reg checkout minilm@2
diff -r "$ROOT_TMP/v2" models/minilm >/dev/null || fail "checkout minilm@2: the folder is not v2"

begin "get of a folder version: exact tree, foreign files refused, --force"
BOX="$ROOT_TMP/box"
mkdir -p "$BOX"
cd "$BOX"
run 0 p4reg get "$R" minilm@1 -o out --cache "$ROOT_TMP/cache"
assert_contains "$OUT" "got minilm@1"
assert_contains "$OUT" "5 files: 5 written, 0 unchanged, 0 removed"
diff -r "$ROOT_TMP/v1" out >/dev/null || fail "get: out is not v1"
run 0 p4reg --json get "$R" minilm@1 -o out --cache "$ROOT_TMP/cache"
assert_contains "$OUT" '"changed":false,"kind":"dir","files":5,"written":0,"unchanged":5,"removed":0'
echo foreign >out/notes.txt
snap=$(find out -type f -exec sha256sum {} + | sort)
run 1 p4reg get "$R" minilm@2 -o out --no-cache
assert_contains "$ERR" "'out' holds 2 files not in minilm@2 or with other bytes, first 'model-00002-of-00002.safetensors'; nothing was changed"
assert_contains "$ERR" "use --force"
assert_eq "$(find out -type f -exec sha256sum {} + | sort)" "$snap" "a refused get changed out/"
run 0 p4reg --json get "$R" minilm@2 -o out --no-cache --force
assert_contains "$OUT" '"files":5,"written":1,"unchanged":4,"removed":1'
diff -r "$ROOT_TMP/v2" out >/dev/null || fail "get --force: out is not v2"
# a user's file shaped like get's temporary file, beside nothing of the
# version: kept and refused; a real leftover beside config.json: removed
echo precious >out/.notes.p4reg-tmp.abc123
run 1 p4reg get "$R" minilm@2 -o out --no-cache
assert_eq "$(cat out/.notes.p4reg-tmp.abc123)" "precious" "get removed a user's file"
rm out/.notes.p4reg-tmp.abc123
echo half >out/.config.json.p4reg-tmp.Qw3rty
run 0 p4reg get "$R" minilm@2 -o out --no-cache
assert_no_file out/.config.json.p4reg-tmp.Qw3rty
# a fresh folder from the cache alone
run 0 p4reg get "$R" minilm@1 -o fresh --cache "$ROOT_TMP/cache"
diff -r "$ROOT_TMP/v1" fresh >/dev/null || fail "get from the cache: fresh is not v1"

begin "gc on the clone keeps every file of both versions; fsck clean"
cd "$B"
run 0 p4reg gc
run 0 p4reg fsck
run 0 p4reg checkout minilm@1
diff -r "$ROOT_TMP/v1" models/minilm >/dev/null || fail "after gc: v1 lost"
run 0 p4reg checkout minilm@2
diff -r "$ROOT_TMP/v2" models/minilm >/dev/null || fail "after gc: v2 lost"

begin "a corrupt file object on the remote: pull exits 4 and writes none of it"
cd "$A"
random_file $M/model-00001-of-00002.safetensors 64
run 0 p4reg add $M/ -m three
cp -a $M "$ROOT_TMP/v3"
run 0 p4reg push
o3=$(sha $M/model-00001-of-00002.safetensors)
flip_byte "$(obj "$o3")" 10
cd "$B"
cp "$A"/models/minilm.p4reg models/
run 4 p4reg pull
diff -r "$ROOT_TMP/v2" models/minilm >/dev/null || fail "a corrupt version reached the folder"
assert_no_file ".p4reg/objects/${o3:0:2}/${o3:2:2}/$o3"
cd "$BOX"
run 4 p4reg get "$R" minilm@3 -o out --no-cache --force
diff -r "$ROOT_TMP/v2" out >/dev/null || fail "get of a corrupt version changed out/"

begin "get switching versions: what the last get put there is replaced without --force, nothing else"
cd "$A"
rm $M/tokenizer.json
printf '{"pad": 0}\n' >$M/special_tokens_map.json
random_file $M/model-00001-of-00002.safetensors 64
cp -a $M "$ROOT_TMP/v4"
run 0 p4reg add $M/ -m four
run 0 p4reg push
cd "$BOX"
C="$ROOT_TMP/cache2"
run 0 p4reg get "$R" minilm@1 -o sw --cache "$C"
run 0 p4reg --json get "$R" minilm@4 -o sw --cache "$C"
assert_contains "$OUT" '"files":5,"written":3,"unchanged":2,"removed":1'
diff -r "$ROOT_TMP/v4" sw >/dev/null || fail "switch to v4: sw is not v4"
run 0 p4reg get "$R" minilm@1 -o sw --cache "$C"
diff -r "$ROOT_TMP/v1" sw >/dev/null || fail "switch back to v1: sw is not v1"
# a file the user changed, or added, is still foreign
echo edited >>sw/config.json
echo mine >sw/mine.txt
snap=$(find sw -type f -exec sha256sum {} + | sort)
run 1 p4reg get "$R" minilm@2 -o sw --cache "$C"
assert_contains "$ERR" "'sw' holds 2 files not in minilm@2 or with other bytes, first 'config.json'"
assert_eq "$(find sw -type f -exec sha256sum {} + | sort)" "$snap" "a refused get changed sw/"
# the record is only a hint: one naming another folder counts for nothing
rm sw/mine.txt; cp "$ROOT_TMP/v1/config.json" sw/config.json
for f in "$C"/placed/*; do sed -i 's#"path":"[^"]*"#"path":"/elsewhere"#' "$f"; done
run 1 p4reg get "$R" minilm@2 -o sw --cache "$C"
assert_contains "$ERR" "not in minilm@2 or with other bytes"
run 0 p4reg get "$R" minilm@2 -o sw --cache "$C" --force
diff -r "$ROOT_TMP/v2" sw >/dev/null || fail "get --force: sw is not v2"

begin "a file already in PATH with a version's bytes is never get's own, however many gets follow"
C3="$ROOT_TMP/cache3"
mkdir own && cp "$ROOT_TMP/v1/tokenizer.json" own/tokenizer.json && chmod 600 own/tokenizer.json
run 0 p4reg --json get "$R" minilm@1 -o own --cache "$C3"
assert_contains "$OUT" '"unchanged":1'
assert_contains "$(cat "$C3"/placed/*)" '"kept":["tokenizer.json"]'
# again the same version: still kept, still not get's
run 0 p4reg get "$R" minilm@1 -o own --cache "$C3"
assert_contains "$(cat "$C3"/placed/*)" '"kept":["tokenizer.json"]'
# v4 has no tokenizer.json: the user's file is foreign, the get refused
run 1 p4reg get "$R" minilm@4 -o own --cache "$C3"
assert_eq "$ERR" "p4reg: 'own' holds 1 file not in minilm@4 or with other bytes, first 'tokenizer.json'; nothing was changed
hint: use --force to overwrite or remove them"
assert_eq "$(stat -c %a own/tokenizer.json)" "600"
cmp -s own/tokenizer.json "$ROOT_TMP/v1/tokenizer.json" || fail "the user's file changed"
# a record whose "kept" is malformed counts for nothing (every file foreign)
for f in "$C3"/placed/*; do sed -i 's#"kept":\[[^]]*\]#"kept":7#' "$f"; done
run 1 p4reg get "$R" minilm@4 -o own --cache "$C3"
run 0 p4reg get "$R" minilm@4 -o own --cache "$C3" --force
diff -r "$ROOT_TMP/v4" own >/dev/null || fail "get --force: own is not v4"
assert_contains "$(cat "$C3"/placed/*)" '"kept":[]'

finish
