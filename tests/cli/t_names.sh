#!/usr/bin/env bash
# End-to-end: models keep their names and paths (issue #13). A path added
# under a chosen name stays that model; a model moves with `p4reg mv` (or
# `add -n NAME NEWPATH`), and the move travels through a remote; bytes equal
# to an older version register nothing; a binary git already tracks is
# named with the command that untracks it. Every refusal: exact exit code,
# one line, nothing changed.
. "$(dirname "$0")/lib.sh"

# ptr PATH: the pointer's model@version
ptr() { printf '%s@%s' "$(sed -n 's/^model //p' "$1.p4reg")" "$(sed -n 's/^version //p' "$1.p4reg")"; }
unchanged() { assert_eq "$(snapshot)" "$base" "state changed after bad input"; }

begin "add -n NAME, then a plain add of the same path keeps the name"
fresh_repo
random_file models/tok.bin 8
oid=$(sha models/tok.bin)
run 0 p4reg add -n tokenizer models/tok.bin
assert_eq "$OUT" "added models/tok.bin as tokenizer@1 (${oid:0:12}, 8.0 KiB)"
run 0 p4reg add models/tok.bin && assert_eq "$OUT" "unchanged models/tok.bin (tokenizer@1)"
random_file models/tok.bin 9
run 0 p4reg add models/tok.bin && assert_contains "$OUT" "added models/tok.bin as tokenizer@2"
assert_eq "$(db 'SELECT name, path FROM models')" "tokenizer|models/tok.bin"
assert_eq "$(ptr models/tok.bin)" "tokenizer@2"
# with the pointer gone, the registry's binding still names the model
rm models/tok.bin.p4reg
run 0 p4reg add models/tok.bin && assert_eq "$OUT" "unchanged models/tok.bin (tokenizer@2)"
assert_eq "$(ptr models/tok.bin)" "tokenizer@2"
assert_eq "$(db 'SELECT count(*) FROM models')" "1"

begin "a folder with a renamed model: every file adds, unchanged or not"
fresh_repo
random_file models/a.bin 4
random_file models/b.bin 4
random_file models/c.bin 4
run 0 p4reg add -n alpha models/a.bin
run 0 p4reg add models/b.bin models/c.bin
random_file models/c.bin 5
run 0 p4reg add models/a.bin models/b.bin models/c.bin
assert_eq "$(printf '%s\n' "$OUT" | sed 's/ (.*//')" "unchanged models/a.bin
unchanged models/b.bin
added models/c.bin as c@2"
assert_eq "$(db 'SELECT name, path FROM models ORDER BY name')" "alpha|models/a.bin
b|models/b.bin
c|models/c.bin"

begin "checkout m@1, then add: identical to m@1, nothing registered"
fresh_repo
random_file m.bin 4
cp m.bin v1.keep
run 0 p4reg add m.bin
random_file m.bin 5
run 0 p4reg add m.bin
run 0 p4reg checkout m@1
assert_eq "$(ptr m.bin)" "m@1"
run 0 p4reg add m.bin && assert_eq "$OUT" "unchanged m.bin (identical to m@1)"
assert_eq "$(db 'SELECT count(*) FROM versions')" "2"
assert_eq "$(db 'SELECT count(*) FROM events')" "2"
assert_eq "$(ptr m.bin)" "m@1"
# the same bytes put back by hand while the pointer names m@2: the pointer follows
p4reg checkout m@2 >/dev/null || fail "checkout m@2"
assert_eq "$(ptr m.bin)" "m@2"
cp v1.keep m.bin
run 0 p4reg --json add m.bin
assert_contains "$OUT" '"model":"m","version":1,'
assert_contains "$OUT" '"unchanged":true,"identical_to":1,'
assert_eq "$(ptr m.bin)" "m@1"
assert_eq "$(db 'SELECT count(*) FROM versions')" "2"
# bytes equal to the latest: plain unchanged, identical_to null
p4reg checkout m@2 >/dev/null || fail "checkout m@2"
run 0 p4reg --json add m.bin && assert_contains "$OUT" '"unchanged":true,"identical_to":null,'
run 0 p4reg add m.bin && assert_eq "$OUT" "unchanged m.bin (m@2)"

begin "add -n NAME on a new path moves the model there"
fresh_repo
random_file a/x.bin 4
oid=$(sha a/x.bin)
run 0 p4reg add -n tok a/x.bin
mkdir b && mv a/x.bin b/x.bin
run 0 p4reg add -n tok b/x.bin
assert_eq "$OUT" "model 'tok' moved from a/x.bin to b/x.bin
unchanged b/x.bin (tok@1)"
assert_eq "$(db 'SELECT name, path FROM models')" "tok|b/x.bin"
assert_eq "$(db "SELECT kind, coalesce(version_id, 0), reason, detail FROM events WHERE kind = 'move'")" \
	'move|0|a/x.bin -> b/x.bin|{"from_path":"a/x.bin","to_path":"b/x.bin"}'
assert_no_file a/x.bin.p4reg
assert_eq "$(ptr b/x.bin)" "tok@1"
assert_no_file a/.gitignore   # it held only that line
assert_eq "$(cat b/.gitignore)" "/x.bin"
run 0 p4reg status && assert_contains "$OUT" "b/x.bin"
assert_not_contains "$OUT" "a/x.bin"
# a copy left behind keeps its .gitignore line (git must not take the binary)
cp b/x.bin c.bin
run 0 p4reg add -n tok c.bin
assert_eq "$OUT" "model 'tok' moved from b/x.bin to c.bin
unchanged c.bin (tok@1)"
assert_eq "$(cat b/.gitignore)" "/x.bin"
assert_no_file b/x.bin.p4reg
assert_eq "$(cat .gitignore)" "/c.bin"
run 0 p4reg --json add -n tok b/x.bin
assert_contains "$OUT" '"moved_from":"c.bin"'
assert_eq "$(db 'SELECT path FROM models')" "b/x.bin"
assert_eq "$(db "SELECT count(*) FROM events WHERE kind = 'move'")" "3"

begin "add: a path bound to another model, a name bound elsewhere, a stray pointer"
fresh_repo
random_file a/x.bin 4
random_file b/y.bin 4
p4reg add -n tok a/x.bin >/dev/null && p4reg add b/y.bin >/dev/null || fail "setup"
base=$(snapshot)
run 2 p4reg add -n tok b/y.bin
assert_eq "$ERR" "p4reg: 'b/y.bin' is bound to model 'y'; add it as -n y, or move model 'y' elsewhere first (p4reg mv b/y.bin NEWPATH)"
unchanged
run 2 p4reg add -n newname b/y.bin && assert_one_line_error "'b/y.bin' is bound to model 'y'"
unchanged
run 2 p4reg --json add -n tok b/y.bin && assert_contains "$OUT" '{"error":{"code":"usage",'
unchanged
random_file c/y.bin 4
base=$(snapshot)
run 1 p4reg add c/y.bin
assert_eq "$ERR" "p4reg: model 'y' is bound to 'b/y.bin', not 'c/y.bin'; choose another name with -n, or move the model here with -n y"
unchanged
# a pointer beside the file that names a model bound elsewhere (a clone
# that has the pointer from git but not yet the move from the remote)
cp a/x.bin.p4reg c/y.bin.p4reg
base=$(snapshot)
run 1 p4reg add c/y.bin
assert_eq "$ERR" "p4reg: 'c/y.bin.p4reg' names model 'tok', which is bound to 'a/x.bin'; 'p4reg fetch' if it moved elsewhere, or move it here with -n tok"
unchanged
# a pointer naming a model this registry lacks under another name than the
# file's (another clone's not yet fetched, or a planted one): it proves
# nothing alone, the user decides (t_hostile_names.sh)
sed -i 's/^model tok/model ghost/' c/y.bin.p4reg
base=$(snapshot)
run 1 p4reg add c/y.bin
assert_eq "$ERR" "p4reg: 'c/y.bin.p4reg' names model 'ghost', which this registry does not know; 'p4reg fetch' first, or choose the model with -n (-n ghost joins it)"
unchanged
run 0 p4reg add -n ghost c/y.bin && assert_contains "$OUT" "added c/y.bin as ghost@1"
assert_eq "$(db "SELECT path FROM models WHERE name = 'ghost'")" "c/y.bin"

begin "add of a binary git tracks: a warning and the command that untracks it"
fresh_git_repo
random_file models/x.bin 4
git add models/x.bin && git commit -qm "oops, the binary" || fail "git setup"
run 0 p4reg add models/x.bin
assert_eq "$ERR" "p4reg: warning: git tracks 'models/x.bin'; the binary would still go into git
  git rm --cached -- 'models/x.bin'"
assert_eq "$(git ls-files models)" "models/.gitignore
models/x.bin
models/x.bin.p4reg"
(eval "${ERR##*$'\n'}") >/dev/null || fail "the printed command failed"
assert_eq "$(git ls-files models)" "models/.gitignore
models/x.bin.p4reg"
run 0 p4reg add models/x.bin && assert_eq "$ERR" ""
# hostile names: a quote, and bytes a terminal would act on
name="it's "$'\xe2\x80\xae'"x.bin"
random_file "$name" 4
git add -- "$name" || fail "git add hostile"
run 0 p4reg add -n hostile "$name"
assert_eq "$(printf '%s\n' "$ERR" | sed -n 2p)" "  git rm --cached -- \$'it\\'s \\xe2\\x80\\xaex.bin'"
(eval "${ERR##*$'\n'}") >/dev/null || fail "the printed command failed"
assert_eq "$(git ls-files -- "$name")" ""
name2="it's x.bin"
random_file "$name2" 4
git add -- "$name2"
run 0 p4reg add -n quote "$name2"
assert_eq "$(printf '%s\n' "$ERR" | sed -n 2p)" "  git rm --cached -- 'it'\\''s x.bin'"
(eval "${ERR##*$'\n'}") >/dev/null || fail "the printed command failed"
assert_eq "$(git ls-files -- "$name2")" ""
# an untracked file: no warning
random_file y.bin 4
run 0 p4reg add y.bin && assert_eq "$ERR" ""

begin "mv moves the file, its pointer and .gitignore lines, rebinds and records it"
fresh_repo
random_file models/tok.bin 16
oid=$(sha models/tok.bin)
p4reg add -n tok models/tok.bin >/dev/null || fail "add"
cp models/tok.bin.p4reg ptr.keep
run 0 p4reg mv models/tok.bin new/dir/tok.bin
assert_eq "$OUT" "model 'tok' moved from models/tok.bin to new/dir/tok.bin"
assert_contains "$ERR" "not inside a git work tree; git features skipped"
assert_no_file models/tok.bin
assert_no_file models/tok.bin.p4reg
assert_eq "$(sha new/dir/tok.bin)" "$oid"
assert_same_bytes new/dir/tok.bin.p4reg ptr.keep
assert_no_file models/.gitignore
assert_eq "$(cat new/dir/.gitignore)" "/tok.bin"
assert_eq "$(db 'SELECT name, path FROM models')" "tok|new/dir/tok.bin"
assert_eq "$(db 'SELECT kind, reason, detail FROM events ORDER BY id')" "register||
move|models/tok.bin -> new/dir/tok.bin|{\"from_path\":\"models/tok.bin\",\"to_path\":\"new/dir/tok.bin\"}"
assert_eq "$(db 'SELECT count(*) FROM stat_cache WHERE path = '"'models/tok.bin'")" "0"
run 0 p4reg status && assert_contains "$OUT" "clean          new/dir/tok.bin (tok@1)"
run 0 p4reg add new/dir/tok.bin && assert_eq "$OUT" "unchanged new/dir/tok.bin (tok@1)"
run 0 p4reg history tok && assert_contains "$OUT" "models/tok.bin -> new/dir/tok.bin"
run 0 p4reg --json history tok && assert_contains "$OUT" '"kind":"move"'
# and back, as JSON, from a subfolder with relative paths
cd new
run 0 p4reg --json mv dir/tok.bin ../models/tok.bin
assert_eq "$OUT" '{"model":"tok","version":1,"from":"new/dir/tok.bin","to":"models/tok.bin","file_moved":true,"resumed":false,"staged":false}'
cd ..
assert_eq "$(sha models/tok.bin)" "$oid"
assert_eq "$(cat models/.gitignore)" "/tok.bin"
assert_no_file new/dir/.gitignore
run 0 p4reg -q mv models/tok.bin models/tok2.bin && assert_eq "$OUT" ""
assert_eq "$(cat models/.gitignore)" "/tok2.bin"
assert_eq "$(db "SELECT count(*) FROM events WHERE kind = 'move'")" "3"

begin "mv without the file in the work tree moves the binding and the pointer"
fresh_repo
random_file a.bin 4
p4reg add -n m a.bin >/dev/null && rm a.bin
run 0 p4reg mv a.bin sub/b.bin
assert_eq "$OUT" "model 'm' moved from a.bin to sub/b.bin"
assert_contains "$ERR" "note: 'a.bin' is not in the work tree: only the binding and the pointer moved"
assert_no_file a.bin.p4reg
assert_no_file sub/b.bin
assert_eq "$(ptr sub/b.bin)" "m@1"
run 0 p4reg checkout sub/b.bin
assert_file sub/b.bin
assert_eq "$(cat sub/.gitignore)" "/b.bin"

begin "mv in git stages the rename; --no-stage and core.autostage=false do not"
fresh_git_repo
random_file models/x.bin 4
p4reg add -n x models/x.bin >/dev/null && git commit -qm "add x" || fail "setup"
run 0 p4reg mv models/x.bin y/x.bin
assert_eq "$(git diff --cached --name-status --no-renames | sort)" "A	y/.gitignore
A	y/x.bin.p4reg
D	models/.gitignore
D	models/x.bin.p4reg"
assert_eq "$(git ls-files --others --exclude-standard)" ""
git commit -qm "mv" || fail "commit"
run 0 p4reg --json mv --no-stage y/x.bin z.bin && assert_contains "$OUT" '"staged":false'
assert_eq "$(git diff --cached --name-only)" ""
git add -A && git commit -qm "mv 2" || fail "commit"
p4reg config core.autostage false
run 0 p4reg mv z.bin y/x.bin
assert_eq "$(git diff --cached --name-only)" ""

begin "mv refuses bad input, changing nothing"
fresh_repo
random_file a.bin 4
random_file b.bin 4
random_file other.bin 4
p4reg add -n m a.bin >/dev/null && p4reg add other.bin >/dev/null || fail "setup"
mkdir -p sub && ln -s "$ROOT_TMP" sub/out
base=$(snapshot)
run 2 p4reg mv a.bin && assert_contains "$ERR" "usage: p4reg mv"
run 2 p4reg mv a.bin b.bin c.bin && assert_contains "$ERR" "usage: p4reg mv"
unchanged
run 2 p4reg mv a.bin b.bin
assert_eq "$ERR" "p4reg: 'b.bin' already exists; p4reg mv does not overwrite"
unchanged
touch c.bin.p4reg
base=$(snapshot)
run 2 p4reg mv a.bin c.bin && assert_eq "$ERR" "p4reg: 'c.bin.p4reg' already exists; p4reg mv does not overwrite"
unchanged
rm c.bin.p4reg
base=$(snapshot)
run 1 p4reg mv b.bin c.bin && assert_eq "$ERR" "p4reg: no model is bound to 'b.bin'"
unchanged
run 2 p4reg mv a.bin ../x.bin && assert_one_line_error "is outside the repository"
run 2 p4reg mv a.bin "$ROOT_TMP/x.bin" && assert_one_line_error "is outside the repository"
run 2 p4reg mv a.bin sub/../../x.bin && assert_one_line_error "is outside the repository"
run 2 p4reg mv ../a.bin c.bin && assert_one_line_error "is outside the repository"
run 2 p4reg mv a.bin .git/x.bin && assert_one_line_error ".git"
run 2 p4reg mv a.bin .p4reg/x.bin && assert_one_line_error "inside .p4reg/"
run 2 p4reg mv a.bin c.bin.p4reg && assert_one_line_error "c.bin.p4reg"
run 2 p4reg mv a.bin.p4reg c.bin && assert_one_line_error "is a pointer file"
run 2 p4reg mv a.bin sub/out/x.bin && assert_one_line_error "sub/out/x.bin"
assert_no_file "$ROOT_TMP/x.bin"
run 2 p4reg mv a.bin a.bin && assert_eq "$ERR" "p4reg: 'a.bin' and 'a.bin' are the same path"
run 2 p4reg mv a.bin $'new\nline.bin' && assert_one_line_error "control character"
unchanged
# the new path is bound to another model (its file gone)
rm other.bin
base=$(snapshot)
run 2 p4reg mv a.bin other.bin && assert_eq "$ERR" "p4reg: 'other.bin' is bound to model 'other'"
unchanged
run 2 p4reg --json mv a.bin other.bin && assert_contains "$OUT" '{"error":{"code":"usage",'
unchanged
# a pointer that names another model than the registry binds there
sed -i 's/^model m/model other/' a.bin.p4reg
base=$(snapshot)
run 4 p4reg mv a.bin c.bin && assert_one_line_error "names model 'other', but 'a.bin' is bound to model 'm'"
unchanged
sed -i 's/^model other/model m/' a.bin.p4reg
rm a.bin.p4reg
base=$(snapshot)
run 1 p4reg mv a.bin c.bin
assert_eq "$ERR" "p4reg: 'a.bin' has no pointer file (model 'm' is bound to it); 'p4reg checkout m' writes one"
unchanged

begin "an interrupted mv is finished by running it again"
fresh_repo
random_file a.bin 4
p4reg add -n m a.bin >/dev/null
cp a.bin.p4reg ptr.keep
run 0 p4reg mv a.bin d/b.bin
# the state a crash right after the registry's commit leaves
mv d/b.bin a.bin && cp ptr.keep a.bin.p4reg && rm -r d && printf '/a.bin\n' >.gitignore
run 0 p4reg mv a.bin d/b.bin
assert_eq "$OUT" "model 'm' moved from a.bin to d/b.bin (finished an interrupted move)"
assert_no_file a.bin && assert_no_file a.bin.p4reg && assert_file d/b.bin
assert_same_bytes d/b.bin.p4reg ptr.keep
assert_no_file .gitignore
assert_eq "$(cat d/.gitignore)" "/b.bin"
assert_eq "$(db "SELECT count(*) FROM events WHERE kind = 'move'")" "1"
# once done, again is a no-op that says so
base=$(snapshot)
run 0 p4reg mv a.bin d/b.bin && assert_eq "$OUT" "model 'm' is already at d/b.bin"
unchanged

begin "mv killed at every write, fsync and rename: running it again finishes it"
. "$P4REG_SRC/tests/fault/lib.sh"
# the whole outcome: registry binding and events, files and bytes, git's index
mv_state() {
	db "SELECT name, path FROM models; SELECT kind, reason FROM events ORDER BY id"
	# (a kill inside an atomic write leaves its temporary file, .NAME.XXXXXX)
	find . -path ./.git -prune -o -path ./.p4reg -prune -o -type f -print | grep -Ev '/\.[^/]+\.[A-Za-z0-9]{6}$' |
		sort | xargs -r sha256sum
	git diff --cached --name-status --no-renames | sort
}
tpl="$ROOT_TMP/tpl-mv"
mkdir -p "$tpl" && cd "$tpl" && git init -q . && p4reg init >/dev/null && random_file a/x.bin 64 &&
	p4reg add -q -n m a/x.bin && git commit -qm base || fail "mv template"
rm -rf "$ROOT_TMP/ref-mv" && cp -a "$tpl" "$ROOT_TMP/ref-mv" && cd "$ROOT_TMP/ref-mv"
count_points mv a/x.bin b/y.bin
want=$(mv_state)
killed=0
for op in fsync rename write; do
	total_var="POINTS_$op"
	for n in $(points "${!total_var}" 1); do
		CURRENT="mv kill:$op:$n"
		rm -rf "$ROOT_TMP/w" && cp -a "$tpl" "$ROOT_TMP/w" && cd "$ROOT_TMP/w"
		faulty "kill:$op:$n" mv a/x.bin b/y.bin >/dev/null 2>&1
		st=$?
		[ "$st" = 137 ] && killed=$((killed + 1))
		[ "$st" = 137 ] || [ "$st" = 0 ] || fail "exit $st, expected a kill (137) or success"
		# killed while writing git's index: the next run names the lock,
		# which the user then removes, as after any git crash
		if [ -e .git/index.lock ]; then
			run 1 p4reg mv a/x.bin b/y.bin && assert_one_line_error "index.lock' exists"
			rm .git/index.lock
		fi
		run 0 p4reg mv a/x.bin b/y.bin || continue
		assert_eq "$(mv_state)" "$want" "state after the rerun"
		run 0 p4reg fsck
	done
done
CURRENT="mv crash"
[ "$killed" -gt 5 ] || fail "only $killed kill points reached"
echo "mv: $killed kills ($POINTS_write writes, $POINTS_fsync fsyncs, $POINTS_rename renames)"

begin "a move travels through a remote; clones put the file at the new path"
R="$ROOT_TMP/names-remote"
A="$ROOT_TMP/names-A"; B="$ROOT_TMP/names-B"; C="$ROOT_TMP/names-C"
mkdir -p "$A" "$B" "$C"
cd "$A" && p4reg init >/dev/null && p4reg remote add -d origin "$R" >/dev/null 2>&1 || fail "init A"
random_file a/x.bin 8
oid=$(sha a/x.bin)
p4reg add -n tok a/x.bin >/dev/null && p4reg push -q || fail "push 1"
assert_contains "$(cat "$R/log/0000000001.json")" '"format":1,'
cd "$B" && p4reg init >/dev/null && p4reg remote add origin "$R" >/dev/null 2>&1 || fail "init B"
mkdir -p a && cp "$A/a/x.bin.p4reg" a/   # what git would carry
run 0 p4reg pull && assert_file a/x.bin
cd "$A"
run 0 p4reg mv a/x.bin b/x.bin
run 0 p4reg push && assert_contains "$OUT" "published as batch 2"
assert_contains "$(cat "$R/log/0000000002.json")" '"format":2,'
assert_contains "$(cat "$R/log/0000000002.json")" '"kind":"move"'
cd "$B"
run 0 p4reg fetch
assert_eq "$(db 'SELECT name, path FROM models')" "tok|b/x.bin"
assert_eq "$(db "SELECT kind, detail FROM events WHERE kind = 'move'")" 'move|{"from_path":"a/x.bin","to_path":"b/x.bin"}'
run 0 p4reg checkout tok
assert_eq "$(sha b/x.bin)" "$oid"
assert_eq "$(ptr b/x.bin)" "tok@1"
assert_eq "$(cat b/.gitignore)" "/x.bin"   # as add writes it; outside git, nothing to stage
assert_eq "$ERR" ""
cd "$C" && p4reg init >/dev/null && p4reg remote add origin "$R" >/dev/null 2>&1 || fail "init C"
run 0 p4reg pull tok@1
assert_eq "$(db 'SELECT name, path FROM models')" "tok|b/x.bin"
assert_eq "$(sha b/x.bin)" "$oid"
assert_no_file a/x.bin

begin "moves from two clones converge on the last one in log order"
cd "$B"
run 0 p4reg mv b/x.bin c/x.bin        # B's move, not yet pushed
cd "$A"
run 0 p4reg mv b/x.bin d/x.bin && p4reg push -q || fail "A's move"
cd "$B"
run 0 p4reg fetch
assert_eq "$(db 'SELECT path FROM models')" "c/x.bin"   # its own, later in log order
assert_not_contains "$OUT" "moved"                       # so nothing moved here
run 0 p4reg push -q
cd "$A"
run 0 p4reg fetch
assert_eq "$(db 'SELECT path FROM models')" "c/x.bin"
assert_eq "$(printf '%s\n' "$OUT" | head -1)" "model 'tok' moved from d/x.bin to c/x.bin (by Test Runner <test@example.com>)"
cd "$C"
run 0 p4reg fetch
assert_eq "$(db 'SELECT path FROM models')" "c/x.bin"

begin "a remote move onto a path a local model holds stops the fetch"
cd "$C"
random_file e/x.bin 4
p4reg add -n local e/x.bin >/dev/null || fail "local add"
cd "$A"
run 0 p4reg checkout tok     # A has the file at d/, its own move; the log says c/
run 0 p4reg mv c/x.bin e/x.bin
p4reg push -q || fail "push"
cd "$C"
base=$(db 'SELECT name, path FROM models ORDER BY name')
run 1 p4reg fetch
assert_one_line_error "remote log batch 5 moves model 'tok' to 'e/x.bin', which local model 'local' is bound to"
assert_contains "$ERR" "--skip-batch 5"
assert_eq "$(db 'SELECT name, path FROM models ORDER BY name')" "$base"


# git_clone SRC DST: a clone of SRC's git history; its registry is its own,
# fed from the remote SRC committed in .p4reg/config (the pointers come
# with git, the events and bytes from the remote)
git_clone() {
	git clone -q "$1" "$2" && cd "$2" && git config user.name t && git config user.email t@example.com ||
		fail "clone $2"
}

begin "a fetched move: fetch says so, status says 'moved', pull and checkout skip the old pointer"
R="$ROOT_TMP/fm-remote"; A="$ROOT_TMP/fm-A"
mkdir -p "$A" && cd "$A" && git init -q . && git config user.name t && git config user.email t@example.com &&
	p4reg init >/dev/null && p4reg remote add -d origin "$R" >/dev/null 2>&1 || fail "init A"
random_file a/x.bin 8
oid=$(sha a/x.bin)
p4reg add -q -n tok a/x.bin && git add -A && git commit -qm add && p4reg push -q || fail "setup A"
for c in B C D; do
	git_clone "$A" "$ROOT_TMP/fm-$c" && run 0 p4reg pull && assert_eq "$(sha a/x.bin)" "$oid"
done
cd "$A" && p4reg mv -q a/x.bin b/x.bin && git commit -qm mv && p4reg push -q || fail "A's move"
cd "$ROOT_TMP/fm-B"
run 0 p4reg fetch
assert_eq "$OUT" "model 'tok' moved from a/x.bin to b/x.bin (by Test Runner <test@example.com>)
fetched from 'origin': 1 event in 1 batch, 0 objects (0 B)"
run 0 p4reg fetch && assert_eq "$OUT" "fetched from 'origin': 0 events in 0 batches, 0 objects (0 B)"
run 0 p4reg status
assert_eq "$OUT" "moved          a/x.bin (tok is now at b/x.bin)"
run 0 p4reg --json status
assert_eq "$OUT" '{"files":[{"file":"a/x.bin","state":"moved","model":"tok","version":1,"to":"b/x.bin"}]}'
# the old path is not the model's any more: nothing is written there, nor at the new path
note="note: skipped a/x.bin, a pointer left behind: model 'tok' is now at b/x.bin; 'p4reg mv a/x.bin b/x.bin' finishes the move here"
rm a/x.bin
base=$(snapshot)
run 0 p4reg pull
assert_eq "$OUT" "pulled from 'origin': 0 events, 0 objects (0 B)"
assert_eq "$ERR" "$note"
run 0 p4reg checkout && assert_eq "$OUT" "" && assert_eq "$ERR" "$note"
run 0 p4reg checkout a/x.bin && assert_eq "$ERR" "$note"
run 0 p4reg --json checkout a/x.bin
assert_eq "$OUT" "{\"checked_out\":[{\"file\":\"a/x.bin\",\"model\":\"tok\",\"version\":1,\"oid\":\"$oid\",\"action\":\"skipped\",\"to\":\"b/x.bin\"}]}"
assert_eq "$ERR" ""
run 0 p4reg --json pull
assert_contains "$OUT" '"moves":[],"checked_out":[{"file":"a/x.bin","model":"tok","version":1,'
assert_contains "$OUT" '"action":"skipped","to":"b/x.bin"}]}'
run 0 p4reg -q pull && assert_eq "$OUT$ERR" ""
assert_no_file a/x.bin
assert_no_file b
assert_eq "$(snapshot)" "$base" "a skipped pointer changed something"

begin "after a fetched move, checkout MODEL writes the .gitignore line and stages as add does"
cd "$ROOT_TMP/fm-B"
run 0 p4reg checkout tok
assert_eq "$OUT" "checked out b/x.bin (tok@1)"
assert_eq "$(sha b/x.bin)" "$oid"
assert_eq "$(ptr b/x.bin)" "tok@1"
assert_eq "$(cat b/.gitignore)" "/x.bin"
# the binary is not git's to take; pointer and .gitignore are staged, as add stages them
assert_eq "$(git ls-files --others --exclude-standard -- b)" ""
assert_eq "$(git diff --cached --name-status -- a b)" "A	b/.gitignore
A	b/x.bin.p4reg"
run 0 p4reg status
assert_eq "$OUT" "moved          a/x.bin (tok is now at b/x.bin)
clean          b/x.bin (tok@1)"
# a second checkout writes nothing and stages nothing
git commit -qm "checkout tok" -- b || fail "commit"
run 0 p4reg checkout tok && assert_eq "$OUT" "up to date b/x.bin (tok@1)"
assert_eq "$(git status --porcelain -- a b)" ""

begin "p4reg mv OLD NEW finishes a fetched move: the old copy goes, git pull then fast-forwards"
cd "$ROOT_TMP/fm-B"
git reset -q --hard HEAD~1 || fail "reset"   # back to the clone's state: only git's a/x.bin.p4reg
p4reg checkout -q tok
p4reg cat tok@1 >a/x.bin   # the copy an earlier checkout left at the old path
cp a/x.bin "$ROOT_TMP/keep.bin"
printf 'edited' >>a/x.bin
base=$(snapshot)
# other bytes at the old path than at the new one: refused, nothing changed
run 2 p4reg mv a/x.bin b/x.bin
assert_eq "$ERR" "p4reg: 'b/x.bin' already exists; p4reg mv does not overwrite"
assert_eq "$(snapshot)" "$base"
cp "$ROOT_TMP/keep.bin" a/x.bin
# the same bytes at both paths: the old copy is removed, not moved
run 0 p4reg mv a/x.bin b/x.bin
assert_eq "$OUT" "model 'tok' moved from a/x.bin to b/x.bin (finished an interrupted move)"
assert_no_file a/x.bin && assert_no_file a/x.bin.p4reg && assert_no_file a/.gitignore
assert_eq "$(sha b/x.bin)" "$oid"
assert_eq "$(git diff --cached --name-status --no-renames -- a b | sort)" "A	b/.gitignore
A	b/x.bin.p4reg
D	a/.gitignore
D	a/x.bin.p4reg"
run 0 p4reg status && assert_eq "$OUT" "clean          b/x.bin (tok@1)"
assert_eq "$(db "SELECT count(*) FROM events WHERE kind = 'move'")" "1"
run 0 git pull -q --ff-only
assert_eq "$(git status --porcelain -- a b)" ""
# C: the file was only at the old path: it moves there, no download, no copy
cd "$ROOT_TMP/fm-C"
ino=$(stat -c %i a/x.bin)
run 0 p4reg --json fetch
assert_contains "$OUT" '"moves":[{"model":"tok","from":"a/x.bin","to":"b/x.bin","actor":"Test Runner <test@example.com>"}]'
run 0 p4reg mv a/x.bin b/x.bin
assert_eq "$(stat -c %i b/x.bin)" "$ino"
assert_no_file a/x.bin.p4reg
run 0 git pull -q --ff-only
assert_eq "$(git status --porcelain -- a b)" ""
run 0 p4reg status && assert_eq "$OUT" "clean          b/x.bin (tok@1)"

begin "after a fetched move, pull MODEL writes the .gitignore line and stages as add does"
cd "$ROOT_TMP/fm-D"
run 0 p4reg pull tok
assert_eq "$OUT" "model 'tok' moved from a/x.bin to b/x.bin (by Test Runner <test@example.com>)
checked out b/x.bin (tok@1)
pulled from 'origin': 1 event, 0 objects (0 B), 1 already present"
assert_eq "$(cat b/.gitignore)" "/x.bin"
assert_eq "$(git ls-files --others --exclude-standard -- b)" ""
assert_eq "$(git diff --cached --name-status -- a b)" "A	b/.gitignore
A	b/x.bin.p4reg"
# --no-stage (and core.autostage = false) write the line but leave git's index alone
git reset -q -- b && rm -r b
run 0 p4reg pull --no-stage tok
assert_eq "$(cat b/.gitignore)" "/x.bin"
assert_eq "$(git diff --cached --name-only)" ""
rm -r b
p4reg config core.autostage false
run 0 p4reg checkout tok
assert_eq "$(cat b/.gitignore)" "/x.bin"
assert_eq "$(git diff --cached --name-only)" ""
p4reg config --unset core.autostage

finish
