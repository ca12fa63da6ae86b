#!/usr/bin/env bash
# Folder models put on disk (issue 14): checkout of a version restores the
# exact tree (files, bytes, modes; files of other versions removed), a file
# in no version refuses it (listed, nothing changed) unless --force,
# rollback restores the production folder, and a checkout killed midway
# (fault shim) is finished by running it again.
. "$(dirname "$0")/lib.sh"
. "$P4REG_SRC/tests/fault/lib.sh"

# tree DIR: every file below DIR with its mode and bytes' hash, sorted.
tree() { (cd "$1" && find . -type f -printf '%P %m\n' | sort | while read -r p m; do
	echo "$p $m $(sha256sum "$p" | cut -c1-16)"; done); }
assert_tree() { assert_eq "$(tree "$1")" "$(tree "$2")" "tree of $1"; }

# hf_v1: a Hugging Face style folder at models/minilm, version 1.
hf_v1() {
	local d=models/minilm
	mkdir -p "$d/onnx"
	printf '{"hidden_size": 384}\n' >"$d/config.json"
	printf '{"model": "wordpiece"}\n' >"$d/tokenizer.json"
	printf '*.safetensors filter=lfs\n' >"$d/.gitattributes"
	random_file "$d/model-00001-of-00002.safetensors" 64
	random_file "$d/model-00002-of-00002.safetensors" 64
	random_file "$d/onnx/model.onnx" 16
	printf '#!/bin/sh\necho serve\n' >"$d/serve.sh" && chmod 755 "$d/serve.sh"
}

# hf_v2: config changed, the second shard new bytes, one file added.
hf_v2() {
	local d=models/minilm
	printf '{"hidden_size": 768}\n' >"$d/config.json"
	random_file "$d/model-00002-of-00002.safetensors" 64
	printf '{"pad": "[PAD]"}\n' >"$d/special_tokens_map.json"
}

begin "add v1 and v2 of a folder"
fresh_repo
hf_v1
run 0 p4reg add models/minilm
cp -a models/minilm "$ROOT_TMP/minilm-v1"
hf_v2
run 0 p4reg add models/minilm
cp -a models/minilm "$ROOT_TMP/minilm-v2"
assert_eq "$(db "SELECT number, kind, files FROM versions ORDER BY number")" $'1|dir|7\n2|dir|8'

begin "checkout v1 restores the exact tree"
run 0 p4reg checkout minilm@1
assert_eq "$OUT" "checked out models/minilm/ (minilm@1, 7 files: 2 written, 5 unchanged, 1 removed)"
assert_tree models/minilm "$ROOT_TMP/minilm-v1"
assert_no_file models/minilm/special_tokens_map.json
assert_contains "$(cat models/minilm.p4reg)" $'version 1\n'
assert_contains "$(cat models/minilm.p4reg)" $'kind dir\nfiles 7'
assert_eq "$(cat models/.gitignore)" "/minilm/"

begin "checkout by folder, trailing slash, pointer, and every pointer"
for a in models/minilm models/minilm/ models/minilm.p4reg; do
	run 0 p4reg checkout "$a"
	assert_eq "$OUT" "up to date models/minilm/ (minilm@1, 7 files: 0 written, 7 unchanged, 0 removed)"
done
run 0 p4reg checkout
assert_eq "$OUT" "up to date models/minilm/ (minilm@1, 7 files: 0 written, 7 unchanged, 0 removed)"
run 0 p4reg --json checkout minilm@2
assert_eq "$(echo "$OUT" | jq -c '.checked_out[0] | [.file, .model, .version, .action, .kind, .files, .written, .unchanged, .removed]')" \
	'["models/minilm","minilm",2,"written","dir",8,3,5,0]'
assert_tree models/minilm "$ROOT_TMP/minilm-v2"

begin "a file in no version refuses the checkout, nothing changed"
printf 'my notes\n' >models/minilm/notes.txt
printf 'edited\n' >models/minilm/config.json
snap=$(snapshot)
run 1 p4reg checkout minilm@1
assert_eq "$ERR" "p4reg: 'models/minilm/config.json' and 1 more file are in no version of 'minilm'; use --force to overwrite or remove them
  models/minilm/config.json
  models/minilm/notes.txt"
assert_eq "$OUT" ""
assert_eq "$(snapshot)" "$snap" "snapshot after the refusal"
run 1 p4reg --json checkout minilm@1
assert_eq "$(echo "$OUT" | jq -r .error.code)" "error"
assert_eq "$(snapshot)" "$snap" "snapshot after the JSON refusal"

begin "--force overwrites and removes them"
run 0 p4reg checkout --force minilm@1
assert_eq "$OUT" "checked out models/minilm/ (minilm@1, 7 files: 2 written, 5 unchanged, 2 removed)"
assert_tree models/minilm "$ROOT_TMP/minilm-v1"

begin "a file .p4regignore excludes is left alone"
printf '*.log\n' >models/minilm/.p4regignore
run 0 p4reg add models/minilm
printf 'train\n' >models/minilm/train.log
run 0 p4reg checkout minilm@2
assert_eq "$(cat models/minilm/train.log)" "train"
run 0 p4reg checkout minilm@3
assert_eq "$(cat models/minilm/train.log)" "train"
rm models/minilm/train.log

begin "rollback of production restores the folder"
run 0 p4reg promote minilm@1 --to production --force
run 0 p4reg promote minilm@2 --to production --force
run 0 p4reg checkout minilm@2
assert_tree models/minilm "$ROOT_TMP/minilm-v2"
run 0 p4reg rollback minilm
assert_tree models/minilm "$ROOT_TMP/minilm-v1"
assert_contains "$(cat models/minilm.p4reg)" $'version 1\n'
assert_eq "$(db "SELECT number FROM versions WHERE stage = 'production'")" "1"

begin "a checkout killed midway is finished by a rerun"
mkdir -p models/big
for i in 1 2 3 4 5 6; do random_file "models/big/shard-$i.bin" 1024; done
run 0 p4reg add models/big
cp -a models/big "$ROOT_TMP/big-v1"
for i in 2 4 6; do random_file "models/big/shard-$i.bin" 1024; done
run 0 p4reg add models/big
for spec in kill:write:2 kill:rename:2; do
	run 0 p4reg checkout --link copy big@2
	# the shim counts writes into, and renames of, the shards' temporary files
	P4REG_FAULT_PATH=.shard- faulty "$spec" checkout --link copy big@1 >/dev/null 2>&1
	st=$?
	[ "$st" -eq 137 ] || fail "$spec: checkout exited $st, expected to be killed"
	[ "$(tree models/big)" != "$(tree "$ROOT_TMP/big-v1")" ] || fail "$spec: the kill came too late"
	run 0 p4reg checkout --link copy big@1
	assert_tree models/big "$ROOT_TMP/big-v1"
done

finish
