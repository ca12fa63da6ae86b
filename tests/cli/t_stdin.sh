#!/usr/bin/env bash
# End-to-end: input from standard input (issue 16). `log-metric --file -`
# reads the metrics file from stdin; `add -n NAME -` streams a model's bytes
# into its work-tree file and adds them as its next version (a new model
# needs --path). Bytes on disk, registry rows and pointers are checked; bad
# input changes nothing.
. "$(dirname "$0")/lib.sh"

BLOB=$ROOT_TMP/blob
head -c 3000000 /dev/urandom >"$BLOB"
json() { printf '%s' "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

begin "log-metric --file - reads the metrics file from standard input"
fresh_repo
random_file models/emb.onnx 8
p4reg add -q models/emb.onnx
run 0 p4reg log-metric emb@1 --file - --time 2026-02-18T09:30:00Z <<<'{"metrics": {"f1": 0.81, "loss": 0.2}, "params": {"lr": "0.01"}, "step": 3}'
assert_eq "$OUT" "logged 2 metrics and 1 param on emb@1
run 20260218_emb_default_v1 (experiment default, step 3, 2026-02-18T09:30:00Z)
  f1 = 0.81
  loss = 0.2
  param lr = 0.01"
assert_eq "$(db 'SELECT key, value, step FROM metrics ORDER BY key')" "f1|0.81|3
loss|0.2|3"
# command-line pairs win; the flat form works too
run 0 p4reg log-metric emb@1 f1=0.9 --file - --run r2 <<<'{"recall": 0.5}'
assert_eq "$(db "SELECT m.key, m.value FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.name = 'r2' ORDER BY m.key")" "f1|0.9
recall|0.5"

begin "log-metric --file -: bad input is exit 2 naming standard input, nothing recorded"
before=$(db 'SELECT count(*) FROM metrics')
run 2 p4reg log-metric emb@1 --file - <<<'{"f1": 0.8' && assert_one_line_error "'standard input' is not valid JSON"
run 2 p4reg log-metric emb@1 --file - </dev/null && assert_one_line_error "'standard input' is not valid JSON (near byte 0)"
run 2 p4reg log-metric emb@1 --file - <<<'{"f1": "high"}' && assert_one_line_error "'standard input': "
run 2 p4reg log-metric emb@1 --file - --file x.json <<<'{}' && assert_one_line_error "--file given twice"
head -c $((16 * 1024 * 1024 + 1)) /dev/zero >"$ROOT_TMP/big.json"
run 2 p4reg log-metric emb@1 --file - <"$ROOT_TMP/big.json" && assert_one_line_error "'standard input' is larger than 16777216 bytes"
assert_eq "$(db 'SELECT count(*) FROM metrics')" "$before"
# a file named '-' is reached as ./-
printf '{"f1": 0.1}' >./-
run 0 p4reg log-metric emb@1 --file ./- && assert_contains "$OUT" "f1 = 0.1"

begin "add -n NAME --path P -: a new model from standard input"
fresh_git_repo
mkdir models
run 0 p4reg add -n minilm --path models/minilm.onnx - <"$BLOB"
assert_eq "$OUT" "added models/minilm.onnx as minilm@1 ($(sha "$BLOB" | cut -c1-12), 2.9 MiB)"
assert_same_bytes "$BLOB" models/minilm.onnx
assert_eq "$(db "SELECT m.name, m.path, v.number, v.oid, v.size FROM versions v JOIN models m ON m.id = v.model_id")" \
	"minilm|models/minilm.onnx|1|$(sha "$BLOB")|3000000"
assert_contains "$(cat models/minilm.onnx.p4reg)" "oid sha256:$(sha "$BLOB")"
assert_eq "$(cat models/.gitignore)" "/minilm.onnx"
assert_eq "$(git diff --cached --name-only | sort | tr '\n' ' ')" "models/.gitignore models/minilm.onnx.p4reg "
assert_file ".p4reg/objects/$(sha "$BLOB" | cut -c1-2)/$(sha "$BLOB" | cut -c3-4)/$(sha "$BLOB")"
assert_eq "$(find models -name '.*p4reg-tmp*' | wc -l)" "0" "a temporary file left"

begin "add -n NAME -: the next version of an existing model, at its path"
head -c 70000 /dev/urandom >"$ROOT_TMP/v2"
run 0 p4reg --json add -n minilm -m "from a pipe" - <"$ROOT_TMP/v2"
assert_eq "$(json 'd["added"][0]["file"], d["added"][0]["version"], d["added"][0]["unchanged"], d["added"][0]["message"]')" \
	"models/minilm.onnx 2 False from a pipe"
assert_same_bytes "$ROOT_TMP/v2" models/minilm.onnx
assert_eq "$(db 'SELECT number, size FROM versions ORDER BY number')" "1|3000000
2|70000"
# the same bytes again: unchanged, nothing registered
run 0 p4reg add -n minilm - < <(cat "$ROOT_TMP/v2")
assert_eq "$OUT" "unchanged models/minilm.onnx (minilm@2)"
assert_eq "$(db 'SELECT count(*) FROM versions')" "2"
run 0 p4reg status && assert_eq "$OUT" "clean          models/minilm.onnx (minilm@2)"
# an empty stdin is a version of 0 bytes
run 0 p4reg add -n minilm - </dev/null && assert_contains "$OUT" "as minilm@3"
assert_eq "$(stat -c %s models/minilm.onnx)" "0"

begin "add -: bad input is refused before anything is written"
base=$(snapshot)
unchanged() { assert_eq "$(snapshot)" "$base" "state changed after bad input"; }
run 2 p4reg add - <"$BLOB" && assert_one_line_error "add - reads one file from standard input: name its model with -n NAME"
unchanged
run 1 p4reg add -n minlm - <"$BLOB"
assert_eq "$ERR" "p4reg: unknown model 'minlm'; a new model needs --path PATH, where its file goes
hint: did you mean 'minilm'?"
unchanged
run 2 p4reg add -n minilm --path other.onnx - <"$BLOB"
assert_one_line_error "model 'minilm' is bound to 'models/minilm.onnx'; --path is for a new model ('p4reg mv' moves one)"
run 2 p4reg add -n other --path models/minilm.onnx - <"$BLOB"
assert_one_line_error "'models/minilm.onnx' is bound to model 'minilm'"
run 2 p4reg add -n other --path nowhere/x.onnx - <"$BLOB"
assert_one_line_error "the folder of --path 'nowhere/x.onnx' does not exist; create it first"
run 2 p4reg add -n other --path ../x.onnx - <"$BLOB" && assert_one_line_error "is outside the repository"
run 2 p4reg add -n other --path models/x.onnx.p4reg - <"$BLOB" && assert_one_line_error "is a pointer file's path"
run 2 p4reg add -n 'a b' --path models/x.onnx - <"$BLOB" && assert_one_line_error "invalid model name 'a b'"
run 2 p4reg add -n minilm - models/other <"$BLOB" && assert_one_line_error "'-' (standard input) must be the only PATH"
run 2 p4reg add -n minilm --exclude '*.tmp' - <"$BLOB" && assert_one_line_error "--exclude applies to folders"
run 2 p4reg add -n minilm --path x models/minilm.onnx && assert_one_line_error "--path goes with '-' (standard input)"
unchanged
# a folder model takes no stdin; a file in no version is not replaced
mkdir -p folder && printf 'a' >folder/a.txt && p4reg add -q folder
base=$(snapshot)
run 2 p4reg add -n folder - <"$BLOB" && assert_one_line_error "model 'folder' is a folder model; standard input holds one file"
run 2 p4reg add -n x --path folder/x.bin - <"$BLOB" && assert_one_line_error "is inside the folder of model 'folder'"
unchanged
printf 'my unsaved work' >models/minilm.onnx
base=$(snapshot)
run 1 p4reg add -n minilm - <"$BLOB"
assert_one_line_error "'models/minilm.onnx' has changes that are in no version; 'p4reg add' it first, or move it away"
assert_eq "$(cat models/minilm.onnx)" "my unsaved work"
unchanged
rm models/minilm.onnx && ln -s ../x models/minilm.onnx
run 2 p4reg add -n minilm - <"$BLOB" && assert_one_line_error "'models/minilm.onnx' is not a regular file; p4reg does not replace it"
rm models/minilm.onnx

begin "add -: standard input a terminal is refused (script gives one)"
if command -v script >/dev/null 2>&1; then
	script -qec "$P4REG_BIN add -n minilm -" /dev/null >"$ROOT_TMP/tty.out" 2>&1 </dev/null
	assert_contains "$(cat "$ROOT_TMP/tty.out")" "standard input is a terminal: pipe the model's bytes into 'p4reg add -n minilm -'"
fi

begin "add - in a folder below the root, and from a pipe that delivers slowly"
cd models || exit 1
run 0 p4reg add -n minilm - < <(head -c 1000 "$BLOB"; sleep 1; tail -c +1001 "$BLOB")
assert_eq "$OUT" "unchanged models/minilm.onnx (identical to minilm@1)"
cd .. || exit 1
assert_same_bytes "$BLOB" models/minilm.onnx
assert_contains "$(cat models/minilm.onnx.p4reg)" "oid sha256:$(sha "$BLOB")"
run 0 p4reg status && assert_contains "$OUT" "clean          models/minilm.onnx (minilm@1)"

finish
