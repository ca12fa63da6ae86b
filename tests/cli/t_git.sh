#!/usr/bin/env bash
# End-to-end: git integration through libgit2 — staging pointers,
# provenance, track/untrack editing of .gitattributes, and bad input (no
# git, a bare repository, a locked index, CRLF and unterminated files,
# patterns that would catch p4reg's own files).
. "$(dirname "$0")/lib.sh"

LFS=" filter=lfs diff=lfs merge=lfs -text"

begin "add stages the pointer and .gitignore; provenance recorded"
fresh_git_repo
echo seed >README && git add README && git commit -qm seed
head=$(git rev-parse HEAD)
random_file models/emb.onnx 64
run 0 p4reg add models/emb.onnx
assert_eq "$(git diff --cached --name-only | sort | tr '\n' ' ')" "models/.gitignore models/emb.onnx.p4reg "
assert_eq "$(db 'SELECT git_commit, git_branch, git_dirty FROM versions')" "$head|$(git branch --show-current)|0"
run 0 p4reg --json show emb@1
assert_contains "$OUT" "\"git\":{\"commit\":\"$head\",\"branch\":\"$(git branch --show-current)\",\"dirty\":false}"
git commit -qm "add emb"

begin "provenance: dirty work tree and detached HEAD"
echo changed >>README
random_file models/emb.onnx 65
run 0 p4reg add models/emb.onnx
assert_eq "$(db 'SELECT git_dirty FROM versions WHERE number = 2')" "1"
git checkout -q README
git commit -qam v2
git checkout -q --detach HEAD
random_file models/emb.onnx 66
run 0 p4reg add models/emb.onnx
assert_eq "$(db 'SELECT git_commit, git_branch IS NULL FROM versions WHERE number = 3')" "$(git rev-parse HEAD)|1"

begin "provenance on an unborn branch: no commit yet"
fresh_git_repo --unborn
random_file m.bin 8
run 0 p4reg add m.bin
assert_eq "$(db 'SELECT git_commit IS NULL, git_branch FROM versions')" "1|$(git symbolic-ref --short HEAD)"

begin "--no-stage and core.autostage=false leave the index alone"
fresh_git_repo
random_file a.bin 8
run 0 p4reg add --no-stage a.bin
assert_eq "$(git diff --cached --name-only)" ""
p4reg config core.autostage false
random_file b.bin 8
run 0 p4reg add b.bin
assert_eq "$(git diff --cached --name-only)" ""

begin "outside git: add works, git features skipped with a notice"
fresh_repo
random_file m.bin 8
run 0 p4reg add m.bin
assert_contains "$ERR" "not inside a git work tree; git features skipped"
assert_eq "$(db 'SELECT git_commit IS NULL, git_dirty FROM versions')" "1|-1"
run 0 p4reg status && assert_contains "$OUT" "clean          m.bin"
run 1 p4reg track '*.bin' && assert_one_line_error "not inside a git work tree"
assert_no_file .gitattributes

begin "bare repository: no work tree, git features skipped"
d=$(mktemp -d "$ROOT_TMP/bare-XXXXXX"); cd "$d"; git init -q --bare .
run 0 p4reg init
random_file m.bin 8
run 0 p4reg add m.bin
# a folder that is itself a git directory is never taken for one (a clone
# could commit such a folder around .p4reg): only a .git folder or gitfile
assert_contains "$ERR" "not inside a git work tree"
run 1 p4reg track '*.bin' && assert_one_line_error "not inside a git work tree"

begin "locked index: clear error, nothing half-staged"
fresh_git_repo
random_file a.bin 8
touch .git/index.lock
run 1 p4reg add a.bin && assert_one_line_error "index.lock' exists"
rm .git/index.lock
assert_eq "$(git diff --cached --name-only)" ""
run 0 p4reg add a.bin
assert_eq "$(git diff --cached --name-only | sort | tr '\n' ' ')" ".gitignore a.bin.p4reg "

begin "track appends the git lfs track line once per pattern"
fresh_git_repo
run 0 p4reg track '*.onnx' 'models/my model*.bin' 'a#b.bin' '*.onnx' './x/*.pt'
assert_eq "$OUT" 'Tracking "*.onnx"
Tracking "models/my model*.bin"
Tracking "a#b.bin"
"*.onnx" already supported
Tracking "x/*.pt"'
assert_eq "$(cat .gitattributes)" "*.onnx$LFS
models/my[[:space:]]model*.bin$LFS
a\\#b.bin$LFS
x/*.pt$LFS"
run 0 p4reg track
assert_eq "$OUT" '*.onnx
models/my[[:space:]]model*.bin
a\#b.bin
x/*.pt'
run 0 p4reg --json track
assert_contains "$OUT" '{"pattern":"a\\#b.bin","source":".gitattributes"}'
run 0 p4reg untrack 'a#b.bin' 'nope'
assert_eq "$OUT" 'Untracking "a#b.bin"'
assert_contains "$ERR" '"nope" was not tracked'
assert_not_contains "$(cat .gitattributes)" 'a\#b'
run 2 p4reg untrack && assert_one_line_error "name at least one pattern"

begin "track keeps CRLF lines and a missing final newline"
fresh_git_repo
printf '*.txt text\r\n\r\n*.png binary' >.gitattributes
run 0 p4reg track '*.onnx'
assert_eq "$(od -An -c .gitattributes | tr -s ' \n' ' ')" "$(printf '*.txt text\r\n\r\n*.png binary\r\n*.onnx%s\r\n' "$LFS" | od -An -c | tr -s ' \n' ' ')"
printf '# models\n*.txt text' >.gitattributes
run 0 p4reg track '*.onnx'
assert_eq "$(cat .gitattributes)" "# models
*.txt text
*.onnx$LFS"
run 0 p4reg untrack '*.onnx'
assert_eq "$(cat .gitattributes)" "# models
*.txt text"

begin "track refuses patterns that match p4reg's own files; nothing written"
fresh_git_repo
for p in '*' '.p4reg/**' '.p4reg/' 'config' '*.p4reg' '**/*'; do
	run 2 p4reg track '*.onnx' "$p" && assert_one_line_error "cannot be stored in Git LFS"
done
assert_no_file .gitattributes
run 2 p4reg track '!x.bin' && assert_one_line_error "negative pattern"
run 2 p4reg track '' && assert_one_line_error "empty pattern"

begin "track configures the filter: git-lfs's settings, or p4reg filter-process"
fresh_git_repo
bin=$ROOT_TMP/nolfs-bin; mkdir -p "$bin"
ln -sf "$(command -v git)" "$bin/git"; ln -sf "$P4REG_BIN" "$bin/p4reg"
run 0 env PATH="$bin" "$P4REG_BIN" track '*.bin'
assert_eq "$(git config --local filter.lfs.process)" "p4reg filter-process"
assert_eq "$(git config --local filter.lfs.required)" "true"
# p4reg's own pre-push hook (tests/cli/t_git_nolfs.sh); git-lfs's replaces it
assert_contains "$(cat .git/hooks/pre-push)" 'exec p4reg pre-push "$@"'
if command -v git-lfs >/dev/null; then
	run 0 p4reg track '*.onnx'
	assert_eq "$(git config --local filter.lfs.process)" "git-lfs filter-process"
	assert_eq "$(git config --local filter.lfs.clean)" "git-lfs clean -- %f"
	assert_eq "$(git config --local filter.lfs.smudge)" "git-lfs smudge -- %f"
	assert_file .git/hooks/pre-push
	assert_contains "$(cat .git/hooks/pre-push)" 'git lfs pre-push "$@"'
else
	echo "note: git-lfs not installed; skipped the git-lfs half of this case" >&2
fi

begin "a path kept by a pointer file stays a pointer path after track"
fresh_git_repo
random_file models/old.onnx 16
run 0 p4reg add models/old.onnx
run 0 p4reg track 'models/*.onnx'
random_file models/old.onnx 17
run 0 p4reg add models/old.onnx && assert_contains "$OUT" "as old@2"
assert_contains "$(cat models/old.onnx.p4reg)" "version 2"
assert_eq "$(git diff --cached --name-only | sort | tr '\n' ' ')" "models/.gitignore models/old.onnx.p4reg "
run 0 p4reg status && assert_eq "$OUT" "clean          models/old.onnx (old@2)"

begin "rollback stages the pointer it rewrote, as checkout does; core.autostage false leaves the index"
fresh_git_repo
random_file m/x.bin 3 && p4reg add -q m/x.bin && git commit -qm v1
random_file m/x.bin 3 && p4reg add -q m/x.bin && git commit -qm v2
for v in 1 2; do for s in validation staging production; do
	p4reg promote -q "x@$v" --to "$s" || fail "promote x@$v to $s"
done; done
run 0 p4reg rollback x -m test
assert_contains "$(cat m/x.bin.p4reg)" "version 1"
assert_eq "$(git diff --cached --name-only)" "m/x.bin.p4reg"
git commit -qm rolled
p4reg config core.autostage false >/dev/null || fail "config"
git commit -qam "autostage off"
run 0 p4reg rollback x --to 2 --force -m again
assert_contains "$(cat m/x.bin.p4reg)" "version 2"
assert_eq "$(git diff --cached --name-only)" ""
assert_eq "$(git diff --name-only)" "m/x.bin.p4reg"

finish
