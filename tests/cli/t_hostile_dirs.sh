#!/usr/bin/env bash
# Folder models against a hostile clone, remote or co-worker and a careless
# user (issue 14): the folder, a subfolder or a file planted as a symbolic
# link, a hard link out of the repository, a folder replaced by a file, a
# user's file that merely looks like a checkout's temporary file, a file
# that becomes a folder between versions; FIFOs, .git and links at add.
. "$(dirname "$0")/lib.sh"

# two_versions: models/m at v1 (a.txt, sub/b.txt) and v2 (a.txt changed).
two_versions() {
	fresh_repo
	mkdir -p models/m/sub && echo a >models/m/a.txt && echo b >models/m/sub/b.txt
	p4reg add -q models/m 2>/dev/null || fail "add v1"
	echo A2 >models/m/a.txt && p4reg add -q models/m 2>/dev/null || fail "add v2"
}

begin "a user's file shaped like a checkout temporary is in no version: refused, kept"
two_versions
echo precious >models/m/.x.p4reg-tmp.abcdef
run 1 p4reg checkout m@1
assert_contains "$ERR" "p4reg: 'models/m/.x.p4reg-tmp.abcdef' is in no version of 'm'; use --force to overwrite or remove it"
assert_eq "$(cat models/m/.x.p4reg-tmp.abcdef)" "precious" "the user's file was removed"
assert_eq "$(cat models/m/a.txt)" "A2" "the refused checkout wrote"
echo half >models/m/.a.txt.p4reg-tmp.Qw3rty
run 1 p4reg checkout m@1
rm models/m/.x.p4reg-tmp.abcdef
run 0 p4reg checkout m@1
assert_no_file models/m/.a.txt.p4reg-tmp.Qw3rty
assert_eq "$(cat models/m/a.txt)" "a" "v1's bytes"

begin "a file that becomes a folder between versions, both ways"
fresh_repo
mkdir -p models/m && echo a >models/m/a && echo k >models/m/k
p4reg add -q models/m 2>/dev/null
rm models/m/a && mkdir models/m/a && echo b >models/m/a/b
p4reg add -q models/m 2>/dev/null
run 0 p4reg checkout m@1
assert_eq "$(cat models/m/a)" "a" "v1's file a"
run 0 p4reg checkout m@2
assert_eq "$(cat models/m/a/b)" "b" "v2's file a/b"
run 0 p4reg checkout m@1
echo mine >models/m/a
run 1 p4reg checkout m@2
assert_contains "$ERR" "p4reg: 'models/m/a' is in no version of 'm'; use --force to overwrite or remove it"
assert_eq "$(cat models/m/a)" "mine" "the user's file a"

begin "a subfolder or the folder planted as a symbolic link, the folder a file: refused, nothing written"
two_versions
mkdir -p "$ROOT_TMP/outside" && echo out >"$ROOT_TMP/outside/b.txt"
rm -r models/m/sub && ln -s "$ROOT_TMP/outside" models/m/sub
run 2 p4reg checkout m@1
assert_contains "$ERR" "p4reg: 'models/m/sub' is a symbolic link: a model folder holds regular files only"
assert_eq "$(cat "$ROOT_TMP/outside/b.txt")" "out" "written through the link"
assert_eq "$(ls "$ROOT_TMP/outside")" "b.txt" "the outside folder changed"
rm -r models/m && ln -s "$ROOT_TMP/outside" models/m
run 2 p4reg checkout m@1
assert_eq "$(ls "$ROOT_TMP/outside")" "b.txt" "the outside folder changed"
rm models/m && echo x >models/m
run 2 p4reg checkout m@1
assert_eq "$(cat models/m)" "x" "the file in the folder's place"

begin "a file hard-linked to one outside: refused; with --force replaced, the outside file intact"
two_versions
echo secret >"$ROOT_TMP/h" && rm models/m/a.txt && ln "$ROOT_TMP/h" models/m/a.txt
run 1 p4reg checkout m@1
run 0 p4reg checkout --force m@1
assert_eq "$(cat "$ROOT_TMP/h")" "secret" "written through the hard link"
assert_eq "$(cat models/m/a.txt)" "a" "v1's bytes"

begin "add: a FIFO, a .git, a linked .p4regignore are refused without blocking"
fresh_repo
mkdir -p models/m && echo a >models/m/a
mkfifo models/m/f
run 2 timeout 10 "$P4REG_BIN" add models/m
assert_contains "$ERR" "'models/m/f' is a FIFO, device or socket: a model folder holds regular files only"
rm models/m/f && mkdir models/m/.GIT
run 2 timeout 10 "$P4REG_BIN" add models/m
rmdir models/m/.GIT && ln -s /etc/passwd models/m/.p4regignore
run 2 timeout 10 "$P4REG_BIN" add models/m
assert_contains "$ERR" "'models/m/.p4regignore' is a symbolic link"
assert_eq "$(db 'SELECT count(*) FROM versions')" "0" "a version was recorded"

begin "a folder pointer that lies about the version (files, kind) is invalid: status exit 4"
two_versions
sed -i 's/^files 2$/files 99/' models/m.p4reg
run 4 p4reg status
assert_contains "$ERR" "pointer 'models/m.p4reg' says m@2 is a folder of 99 files, but the registry has a folder of 2 files"
head -n 5 models/m.p4reg >models/m.p4reg.tmp && mv models/m.p4reg.tmp models/m.p4reg
run 4 p4reg status
assert_contains "$ERR" "pointer 'models/m.p4reg' says m@2 is a file, but the registry has a folder of 2 files"
run 0 p4reg checkout m@2
assert_contains "$(cat models/m.p4reg)" "files 2"

finish
