#!/usr/bin/env bash
# End-to-end: a Hugging Face folder is one model. add v1, change a shard,
# remove a file, add one, add v2: the store grows by the changed bytes
# only; status names exactly the changed files; show lists the files; cat
# REF PATH gives old bytes; refusals exit 2 and change nothing.
. "$(dirname "$0")/lib.sh"

fresh_repo
mkdir -p models/minilm
printf '{"hidden_size": 384}\n' >models/minilm/config.json
printf '{"tokens": []}\n' >models/minilm/tokenizer.json
printf '*.safetensors filter=lfs\n' >models/minilm/.gitattributes
random_file models/minilm/model-00001-of-00002.safetensors 256
random_file models/minilm/model-00002-of-00002.safetensors 128
store_bytes() { find .p4reg/objects -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }

begin "add DIR: one model, one version, a dir pointer and a /NAME/ line"
run 0 p4reg add models/minilm/
oid1=$(p4reg --json show minilm@1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["oid"])')
assert_eq "$OUT" "added models/minilm/ as minilm@1 (${oid1:0:12}, 5 files, 384.1 KiB)"
assert_eq "$(db "SELECT kind, files, tree_size FROM versions")" "dir|5|$(( 384 * 1024 + 21 + 15 + 25 ))"
assert_eq "$(db "SELECT count(*) FROM manifest_files")" 5
assert_eq "$(sed -n '6,7p' models/minilm.p4reg)" "kind dir
files 5"
assert_eq "$(cat models/.gitignore)" "/minilm/"
run 0 p4reg status
assert_eq "$OUT" "clean          models/minilm/ (minilm@1)"
run 0 p4reg add models/minilm
assert_eq "$OUT" "unchanged models/minilm/ (minilm@1)"
cp models/minilm/model-00001-of-00002.safetensors "$ROOT_TMP/shard1.v1"

begin "status: exactly the changed files"
before=$(store_bytes)
random_file models/minilm/model-00001-of-00002.safetensors 256
rm models/minilm/tokenizer.json
printf '{}\n' >models/minilm/special_tokens_map.json
run 0 p4reg status
assert_eq "$OUT" "modified       models/minilm/model-00001-of-00002.safetensors (minilm@1)
added          models/minilm/special_tokens_map.json (minilm@1)
deleted        models/minilm/tokenizer.json (minilm@1)"
run 0 p4reg --json status
assert_contains "$OUT" '{"file":"models/minilm/tokenizer.json","state":"deleted","model":"minilm","version":1}'

begin "add v2: the store grows by the changed bytes only"
run 0 p4reg add models/minilm
assert_contains "$OUT" "as minilm@2 ("
assert_contains "$OUT" ", 5 files, "
after=$(store_bytes)
manifest2=$(db "SELECT size FROM versions WHERE number = 2")
assert_eq "$(( after - before ))" "$(( 256 * 1024 + 3 + manifest2 ))" "store growth"
run 0 p4reg status
assert_eq "$OUT" "clean          models/minilm/ (minilm@2)"

begin "show lists the files; cat REF PATH writes old bytes"
run 0 p4reg show minilm@1
assert_contains "$OUT" "folder:   5 files, 384.1 KiB"
assert_contains "$OUT" "  $(sha models/minilm/config.json | cut -c1-12)  644        21 B  config.json"
assert_contains "$OUT" "tokenizer.json"
run 0 p4reg --json show minilm@2
assert_contains "$OUT" '"kind":"dir"'
assert_contains "$OUT" '{"path":"config.json","size":21,"oid":"'"$(sha models/minilm/config.json)"'","exec":false}'
p4reg cat minilm@1 model-00001-of-00002.safetensors >"$ROOT_TMP/cat.out" || fail "cat failed"
assert_same_bytes "$ROOT_TMP/cat.out" "$ROOT_TMP/shard1.v1"
run 2 p4reg cat minilm@1 && assert_one_line_error "cat of a folder version needs a file path inside it"
run 1 p4reg cat minilm@2 tokenizer.json && assert_one_line_error "'tokenizer.json' is not a file of minilm@2"

begin "refusals exit 2 and change nothing"
base=$(snapshot)
run 2 p4reg add models/minilm/config.json && assert_one_line_error "is inside the folder of model 'minilm'"
mkdir -p models/minilm/sub && printf x >models/minilm/sub/f
run 2 p4reg add models/minilm/sub && assert_one_line_error "is inside the folder of model 'minilm'"
rm -r models/minilm/sub
mkdir -p other/m && printf y >other/m/a.bin && random_file other/m.onnx 1
p4reg add -q other/m.onnx || fail "setup add of a file failed"
base=$(snapshot)
run 2 p4reg add other && assert_one_line_error "is a directory that holds a pointer file"
run 2 p4reg add -n m other/m && assert_one_line_error "model 'm' is a file model"
ln -s ../config.json models/minilm/link.json
run 2 p4reg add models/minilm && assert_one_line_error "'models/minilm/link.json' is a symbolic link"
rm models/minilm/link.json
assert_eq "$(snapshot)" "$base" "state changed after refusals"
run 2 p4reg mv models/minilm models/mini2 && assert_one_line_error "is a folder model (minilm)"
assert_eq "$(snapshot)" "$base" "state changed after mv refusal"

begin "--exclude and .p4regignore"
mkdir -p models/x/logs
printf a >models/x/w.bin
printf b >models/x/notes.tmp
printf c >models/x/logs/run.log
printf 'logs/\n' >models/x/.p4regignore
run 0 p4reg add --exclude '*.tmp' models/x
assert_contains "$OUT" "as x@1 ("
assert_contains "$OUT" ", 2 files, "
assert_eq "$(db "SELECT m.path FROM manifest_files m JOIN versions v ON v.oid = m.manifest JOIN models o ON o.id = v.model_id WHERE o.name = 'x' ORDER BY m.path")" ".p4regignore
w.bin"
printf changed >models/x/logs/run.log
run 0 p4reg status
# .p4regignore stays with the folder; --exclude was that add's alone
assert_contains "$OUT" "added          models/x/notes.tmp (x@1)"
assert_not_contains "$OUT" "run.log"
rm models/x/notes.tmp
run 0 p4reg status
assert_contains "$OUT" "clean          models/x/ (x@1)"
finish
