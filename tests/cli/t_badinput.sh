#!/usr/bin/env bash
# End-to-end: every bad input gets its exit code, a one-line error, and
# changes nothing.
. "$(dirname "$0")/lib.sh"

fresh_repo
random_file models/m.onnx 64
p4reg add -q models/m.onnx || fail "setup add failed"
oid=$(sha models/m.onnx)
base=$(snapshot)

unchanged() { assert_eq "$(snapshot)" "$base" "state changed after bad input"; }

begin "usage errors exit 2"
run 2 p4reg add && assert_one_line_error "nothing to add"
run 2 p4reg add --bogus models/m.onnx && assert_one_line_error "unknown option '--bogus'"
run 2 p4reg add -m && assert_one_line_error "option '-m' needs a value"
run 2 p4reg list extra && assert_one_line_error "list takes no arguments"
run 2 p4reg --json add --bogus && assert_eq "$OUT" '{"error":{"code":"usage","message":"unknown option '"'"'--bogus'"'"'"}}'
unchanged

begin "a missing file"
run 1 p4reg add models/nope.onnx && assert_eq "$ERR" "p4reg: cannot open 'models/nope.onnx': No such file or directory"
unchanged

begin "a path outside the repository or inside .p4reg"
echo x >"$ROOT_TMP/outside.bin"
run 2 p4reg add "$ROOT_TMP/outside.bin" && assert_one_line_error "is outside the repository"
run 2 p4reg add ../outside.bin && assert_one_line_error "outside the repository"
run 2 p4reg add .p4reg/config && assert_one_line_error "inside .p4reg/"
ln -s "$ROOT_TMP/outside.bin" escape.bin
run 2 p4reg add escape.bin && assert_one_line_error "symbolic link that leads outside"
rm escape.bin
unchanged

begin "a directory, a pointer file, an invalid name"
run 2 p4reg add models && assert_one_line_error "is a directory"
run 2 p4reg add models/m.onnx.p4reg && assert_one_line_error "is a pointer file"
run 2 p4reg add -n "a/b" models/m.onnx && assert_one_line_error "invalid model name 'a/b'"
run 2 p4reg add -n ".." models/m.onnx && assert_one_line_error "invalid model name '..'"
unchanged

begin "a model bound to another path"
random_file other/m.onnx 8
run 1 p4reg add other/m.onnx && assert_one_line_error "model 'm' is bound to 'models/m.onnx'"
rm -r other
unchanged

begin "unknown models and versions"
run 2 p4reg show m@0 && assert_one_line_error "unknown version, stage or alias '0'"
run 2 p4reg show m@-1 && assert_one_line_error "unknown version, stage or alias '-1'"
run 2 p4reg show m@Abc && assert_one_line_error "unknown version, stage or alias 'Abc'"
run 1 p4reg show m@abc && assert_eq "$ERR" "p4reg: model 'm' has no alias 'abc'"
run 1 p4reg show m@99 && assert_eq "$ERR" "p4reg: model 'm' has no version 99"
run 1 p4reg show nosuch@1 && assert_eq "$ERR" "p4reg: unknown model 'nosuch'"
run 1 p4reg log nosuch && assert_eq "$ERR" "p4reg: unknown model 'nosuch'"
run 1 p4reg --json show m@99 && assert_eq "$OUT" '{"error":{"code":"not_found","message":"model '"'"'m'"'"' has no version 99"}}'
run 1 p4reg checkout nosuch@1
unchanged

begin "corrupt pointer files are rejected with file and line"
cp models/m.onnx.p4reg "$ROOT_TMP/good.ptr"
check_ptr() { # content, expected message
	printf '%b' "$1" >models/m.onnx.p4reg
	run 4 p4reg show models/m.onnx && assert_one_line_error "$2"
	run 4 p4reg checkout models/m.onnx && assert_one_line_error "$2"
}
check_ptr "p4reg-pointer 1\nmodel m\n" "line 3: missing 'version' line (truncated)"
check_ptr "p4reg-pointer 2\nmodel m\nversion 1\noid sha256:$oid\nsize 65536\n" "line 1: unknown format version '2'"
check_ptr "p4reg-pointer 1\nmodel m\nversion 1\noid sha256:${oid:0:63}X\nsize 65536\n" "line 4: malformed oid"
check_ptr "p4reg-pointer 1\nmodel m\nversion 1\noid sha256:$oid\nsize -5\n" "line 5: negative size"
check_ptr "p4reg-pointer 1\nmodel m\nversion 1\noid sha256:$oid\nsize 99999999999999999999\n" "line 5: malformed or absurd size"
check_ptr "p4reg-pointer 1\nmodel ../m\nversion 1\noid sha256:$oid\nsize 65536\n" "line 2: invalid model name '../m'"
check_ptr "p4reg-pointer 1\nmodel a/b\nversion 1\noid sha256:$oid\nsize 65536\n" "line 2: invalid model name 'a/b'"
check_ptr "p4reg-pointer 1\nmodel m\nversion 1\noid sha256:$oid\nsize 65536" "line 5: missing final newline"
check_ptr "p4reg-pointer 1\nmodel m\nversion 01\noid sha256:$oid\nsize 65536\n" "line 3: malformed version"
run 4 p4reg status && assert_contains "$OUT" "invalid        models/m.onnx"
cp "$ROOT_TMP/good.ptr" models/m.onnx.p4reg
unchanged

begin "a corrupt store object: checkout and cat exit 4, work tree untouched"
obj=.p4reg/objects/${oid:0:2}/${oid:2:2}/$oid
chmod u+w "$obj"; flip_byte "$obj" 10; chmod 444 "$obj"
rm models/m.onnx
# its stat moved: the guard re-hashes it before the checkout and moves it out
run 4 p4reg checkout models/m.onnx && assert_one_line_error "the stored bytes of m@1 changed in place"
assert_no_file models/m.onnx
assert_no_file "$obj"
assert_file ".p4reg/quarantine/$oid"
assert_eq "$(ls -A models | grep -c p4reg-tmp)" "0" "temp file left in the work tree"
p4reg cat m@1 >/dev/null 2>"$ROOT_TMP/err"; assert_eq "$?" "4"

begin "a registry that is not a database"
fresh_repo
echo "this is not sqlite, not at all, definitely not" >.p4reg/registry.db
run 4 p4reg list && assert_one_line_error "is not a p4reg registry"

begin "a registry from a newer p4reg"
fresh_repo
sqlite3 .p4reg/registry.db 'PRAGMA user_version=999'
run 1 p4reg list && assert_one_line_error "newer p4reg"

finish
