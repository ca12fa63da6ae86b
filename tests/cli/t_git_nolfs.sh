#!/usr/bin/env bash
# Git without git-lfs (issue 21): p4reg as git's Git LFS filter. The
# pre-push hook `track` installs (where git looks for hooks, chaining a
# user's hook, refusing a push whose objects no remote would have), gc
# keeping what git's pointers need, a .p4reg below the git root, and Git
# LFS pointer extensions, never dropped. Everything runs with a PATH that
# has no git-lfs; the real git-lfs (when installed) only checks pointers.
. "$(dirname "$0")/lib.sh"

GIT_LFS=$(command -v git-lfs || true)
PATH=$(bin_without_git_lfs)
export PATH
ZERO=0000000000000000000000000000000000000000

# check_pointer PATH: the blob staged for PATH is one git-lfs calls canonical.
check_pointer() {
	git show ":$1" >"$ROOT_TMP/pointer" || fail "nothing staged for '$1'"
	[ -z "$GIT_LFS" ] || run 0 "$GIT_LFS" pointer --check --strict --file="$ROOT_TMP/pointer"
}
obj() { echo "$1/${2:0:2}/${2:2:2}/$2"; }
# lfs_repo: a git repository with p4reg as its Git LFS filter for *.bin,
# and an empty bare repository as its git remote "origin".
lfs_repo() {
	fresh_git_repo
	p4reg track '*.bin' >/dev/null 2>&1 || fail "track failed"
	git add .gitattributes && git commit -qm track
	git init -q --bare "$PWD.remote.git" && git remote add origin "$PWD.remote.git"
}
store_remote() { p4reg remote add -d store "$PWD.store" >/dev/null 2>&1 || fail "remote add failed"; }

begin "track installs p4reg's pre-push hook, 0755, once, naming no path"
fresh_git_repo
run 0 p4reg track '*.bin'
assert_contains "$ERR" "installed the pre-push hook '$PWD/.git/hooks/pre-push': git push uploads the Git LFS objects to p4reg's default remote"
assert_eq "$(stat -c %a .git/hooks/pre-push)" "755"
hook=$(cat .git/hooks/pre-push)
assert_contains "$hook" 'exec p4reg pre-push "$@"'
assert_contains "$hook" "# p4reg pre-push hook, installed by 'p4reg track'."
assert_not_contains "$hook" "$PWD"
hooks() { (cd "${1:-.git/hooks}" && ls -d pre-push pre-push.local 2>/dev/null | tr '\n' ' '); }
assert_eq "$(hooks)" "pre-push "
before=$(sha .git/hooks/pre-push)
run 0 p4reg track '*.onnx'
assert_not_contains "$ERR" "pre-push"
run 0 p4reg --json track '*.pt'
assert_contains "$OUT" '"pre_push_hook":"current"'
assert_contains "$OUT" "\"hooks_dir\":\"$PWD/.git/hooks\""
assert_eq "$(sha .git/hooks/pre-push)" "$before"
assert_eq "$(hooks)" "pre-push " "re-running track chained twice"
# without p4reg on PATH the hook stops the push and says why
run 2 env PATH=/nonexistent /bin/sh .git/hooks/pre-push origin url </dev/null
assert_eq "$ERR" "p4reg: 'p4reg' is not on PATH, so the Git LFS objects of this push cannot be uploaded; install it, or push without them: git push --no-verify"

begin "git push without a p4reg remote is refused with the command to run; --no-verify pushes"
lfs_repo
random_file m/a.bin 100
git add m/a.bin && git commit -qm a
run 1 git push -q origin HEAD:refs/heads/main
assert_contains "$ERR" "p4reg: cannot upload 1 Git LFS object of this push from '$PWD': no p4reg remote is configured; run 'p4reg remote add -d NAME URL' there and push again, or push without them: git push --no-verify"
assert_eq "$(git ls-remote origin)" "" "git pushed although the hook refused"
run 0 git push -q --no-verify origin HEAD:refs/heads/tmp
assert_contains "$(git ls-remote origin)" "refs/heads/tmp"
# a deletion sends no pointer: nothing to refuse
run 0 git push -q origin :refs/heads/tmp
assert_eq "$(git ls-remote origin)" ""

begin "with a p4reg remote, git push uploads the pushed commits' objects, verified, once"
store_remote
oid_a=$(sha m/a.bin)
run 0 git push origin HEAD:refs/heads/main
assert_contains "$ERR" "uploaded 1 Git LFS object (100.0 KiB) to p4reg remote 'store', 0 already there"
assert_same_bytes "$(obj "$PWD.store/objects" "$oid_a")" m/a.bin
random_file m/b.bin 20 && oid_b=$(sha m/b.bin)
git add m/b.bin && git commit -qm b
run 0 git push origin HEAD:refs/heads/main
assert_contains "$ERR" "uploaded 1 Git LFS object (20.0 KiB) to p4reg remote 'store', 0 already there"
assert_same_bytes "$(obj "$PWD.store/objects" "$oid_b")" m/b.bin
# no pointer in what is pushed: the hook says nothing
echo hi >readme.txt && git add readme.txt && git commit -qm readme
run 0 git push origin HEAD:refs/heads/main
assert_not_contains "$ERR" "Git LFS object"
# a new branch: what origin/main has is not looked at again
git checkout -q -b feature
random_file m/c.bin 3 && git add m/c.bin && git commit -qm c
run 0 git push origin HEAD:refs/heads/feature
assert_contains "$ERR" "uploaded 1 Git LFS object (3.0 KiB) to p4reg remote 'store', 0 already there"
# the hook's own command, as git runs it, in JSON: origin's tracking refs
# have it all; a remote with none gets the whole history looked at
run 0 p4reg --json pre-push origin "$PWD.remote.git" <<<"refs/heads/feature $(git rev-parse HEAD) refs/heads/feature $ZERO"
assert_eq "$OUT" '{"pointers":0,"uploads":[]}'
run 0 p4reg --json pre-push "$PWD.remote.git" "$PWD.remote.git" <<<"refs/heads/feature $(git rev-parse HEAD) refs/heads/feature $ZERO"
assert_eq "$OUT" "{\"pointers\":3,\"uploads\":[{\"repository\":\"$PWD\",\"remote\":\"store\",\"objects\":3,\"uploaded\":0,\"present\":3,\"bytes\":0}]}"
assert_eq "$ERR" ""
# nothing of git's push reached the registry
assert_eq "$(db 'SELECT count(*) FROM versions')" "0"

begin "a fresh clone's checkout downloads what the hook uploaded, verified; offline, the pointer stays"
src=$PWD
git checkout -q main 2>/dev/null || git checkout -q -b main
clone=$ROOT_TMP/clone-$RANDOM
git clone -q --no-checkout "$src.remote.git" "$clone" && cd "$clone" || fail "clone"
git config filter.lfs.process "p4reg filter-process" && git config filter.lfs.required true
p4reg init -q >/dev/null 2>&1 || fail "init in the clone"
p4reg remote add -d store "$src.store" >/dev/null 2>&1 || fail "remote add in the clone"
run 0 git checkout -q main
assert_same_bytes m/a.bin "$src/m/a.bin"
assert_same_bytes m/b.bin "$src/m/b.bin"
assert_same_bytes "$(obj .p4reg/objects "$oid_a")" "$src/m/a.bin"
# offline (the user's own config): nothing downloaded, the pointer left
clone2=$ROOT_TMP/clone-$RANDOM
git clone -q --no-checkout "$src.remote.git" "$clone2" && cd "$clone2" || fail "clone2"
git config filter.lfs.process "p4reg filter-process" && git config filter.lfs.required true
p4reg init -q >/dev/null 2>&1 && p4reg remote add -d store "$src.store" >/dev/null 2>&1 || fail "setup clone2"
p4reg config --local core.offline true >/dev/null || fail "offline"
run 0 git checkout -q main
assert_contains "$ERR" "is in neither .p4reg/objects, .git/lfs/objects nor the p4reg remote; the pointer is left in its place"
assert_eq "$(head -1 m/a.bin)" "version https://git-lfs.github.com/spec/v1"
assert_no_file "$(obj .p4reg/objects "$oid_a")"
# a remote whose copy is corrupt: never served, the pointer stays
cd "$clone" && rm -f m/a.bin "$(obj .p4reg/objects "$oid_a")"
o=$(obj "$src.store/objects" "$oid_a"); chmod u+w "$o"; flip_byte "$o" 9
run 0 git checkout -q -- m/a.bin
assert_contains "$ERR" "not downloaded"
assert_eq "$(head -1 m/a.bin)" "version https://git-lfs.github.com/spec/v1"
assert_no_file "$(obj .p4reg/objects "$oid_a")"
cd "$src"

begin "an object only in .git/lfs/objects is taken into the store and uploaded; one nowhere is refused"
git checkout -q -
random_file m/d.bin 5 && oid_d=$(sha m/d.bin)
git add m/d.bin && git commit -qm d
chmod -R u+w .p4reg/objects && rm "$(obj .p4reg/objects "$oid_d")"
run 0 git push origin HEAD:refs/heads/main
assert_contains "$ERR" "uploaded 1 Git LFS object (5.0 KiB) to p4reg remote 'store', 0 already there"
assert_same_bytes "$(obj "$PWD.store/objects" "$oid_d")" m/d.bin
assert_file "$(obj .p4reg/objects "$oid_d")"
printf 'version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize 5\n' "$(printf '%064d' 7)" >"$ROOT_TMP/ghost"
blob=$(git hash-object -w "$ROOT_TMP/ghost")
git update-index --add --cacheinfo 100644,"$blob",m/ghost.bin && git commit -qm ghost
run 1 git push origin HEAD:refs/heads/main
assert_contains "$ERR" "p4reg: the Git LFS object 000000000000 of 'm/ghost.bin' is neither in .p4reg/objects, .git/lfs/objects nor on remote 'store'; restore the file and 'git add' it again, or push without it: git push --no-verify"
assert_not_contains "$(git ls-remote origin)" "$(git rev-parse HEAD)"
git reset -q --keep HEAD~1

begin "offline (the user's core.offline), the push is refused; a broken remote too"
mkdir -p "$XDG_CONFIG_HOME/p4reg" && git config --file "$XDG_CONFIG_HOME/p4reg/config" core.offline true
random_file m/e.bin 1 && git add m/e.bin && git commit -qm e
run 1 git push origin HEAD:refs/heads/main
assert_contains "$ERR" "p4reg: cannot upload 1 Git LFS object of this push to remote 'store': offline (core.offline); push again online, or push without them: git push --no-verify"
rm "$XDG_CONFIG_HOME/p4reg/config"
# a remote folder that is not a p4reg remote
mkdir -p "$ROOT_TMP/junk" && echo x >"$ROOT_TMP/junk/f"
git config -f .p4reg/config remote.store.url "$ROOT_TMP/junk"
run 1 git push origin HEAD:refs/heads/main
assert_contains "$ERR" "p4reg: cannot upload the Git LFS objects of this push to remote 'store': "
assert_contains "$ERR" "; push again, or push without them: git push --no-verify"
git config -f .p4reg/config remote.store.url "$PWD.store"
run 0 git push origin HEAD:refs/heads/main

begin "a user's pre-push hook is kept as pre-push.local and runs first, same arguments and input"
fresh_git_repo
export HOOK_LOG=$ROOT_TMP/hook.log
rm -f "$HOOK_LOG"
printf '#!/bin/sh\necho "args: $*" >>"$HOOK_LOG"\ncat >>"$HOOK_LOG"\nexit ${HOOK_EXIT:-0}\n' >.git/hooks/pre-push
chmod 700 .git/hooks/pre-push
cp .git/hooks/pre-push "$ROOT_TMP/user-hook"
run 0 p4reg track '*.bin'
assert_contains "$ERR" "your hook is now '$PWD/.git/hooks/pre-push.local' and runs first"
assert_same_bytes .git/hooks/pre-push.local "$ROOT_TMP/user-hook"
assert_eq "$(stat -c %a .git/hooks/pre-push.local)" "700"
assert_contains "$(cat .git/hooks/pre-push)" 'exec p4reg pre-push "$@"'
run 0 p4reg track '*.onnx'
assert_same_bytes .git/hooks/pre-push.local "$ROOT_TMP/user-hook"
assert_eq "$(hooks)" "pre-push pre-push.local "
git add .gitattributes && git commit -qm track
git init -q --bare "$PWD.remote.git" && git remote add origin "$PWD.remote.git" && store_remote
random_file a.bin 4 && git add a.bin && git commit -qm a
run 0 git push origin HEAD:refs/heads/main
assert_eq "$(cat "$HOOK_LOG")" "args: origin $PWD.remote.git
HEAD $(git rev-parse HEAD) refs/heads/main $ZERO"
assert_contains "$ERR" "uploaded 1 Git LFS object (4.0 KiB)"
# the user's hook says no: no push, and p4reg uploads nothing
random_file b.bin 4 && oid=$(sha b.bin) && git add b.bin && git commit -qm b
HOOK_EXIT=1 run 1 git push origin HEAD:refs/heads/main
assert_no_file "$(obj "$PWD.store/objects" "$oid")"
# git runs no hook that is not executable: neither does p4reg's
chmod 600 .git/hooks/pre-push.local && rm "$HOOK_LOG"
run 0 git push origin HEAD:refs/heads/main
assert_no_file "$HOOK_LOG"
assert_file "$(obj "$PWD.store/objects" "$oid")"
unset HOOK_LOG

begin "git-lfs's own pre-push hook is replaced; a taken pre-push.local is left alone, with a warning"
fresh_git_repo
if [ -n "$GIT_LFS" ]; then
	# the exact hook git lfs install writes (p4reg writes it byte for byte when git-lfs is on PATH)
	(d=$(mktemp -d "$ROOT_TMP/lfs-XXXXXX") && cd "$d" && git init -q . && "$GIT_LFS" install --local >/dev/null &&
		cp .git/hooks/pre-push "$ROOT_TMP/lfs-hook")
	cp "$ROOT_TMP/lfs-hook" .git/hooks/pre-push
	run 0 p4reg track '*.bin'
	assert_contains "$ERR" "replaced git-lfs's pre-push hook '$PWD/.git/hooks/pre-push' (git-lfs is not installed) with p4reg's"
	assert_no_file .git/hooks/pre-push.local
	assert_contains "$(cat .git/hooks/pre-push)" 'exec p4reg pre-push "$@"'
fi
fresh_git_repo
echo mine >.git/hooks/pre-push && echo other >.git/hooks/pre-push.local
run 0 p4reg track '*.bin'
assert_contains "$ERR" "p4reg: warning: did not install p4reg's pre-push hook: '$PWD/.git/hooks/pre-push' is not a file, or '$PWD/.git/hooks/pre-push.local' is another one"
assert_eq "$(cat .git/hooks/pre-push) $(cat .git/hooks/pre-push.local)" "mine other"
run 0 p4reg --json track '*.onnx'
assert_contains "$OUT" '"pre_push_hook":"conflict"'

begin "core.hooksPath: relative to the work tree root, or anywhere; hostile names stay data"
fresh_git_repo
git config core.hooksPath .githooks
run 0 p4reg track '*.bin'
assert_contains "$ERR" "installed the pre-push hook '$PWD/.githooks/pre-push'"
assert_no_file .git/hooks/pre-push
assert_eq "$(stat -c %a .githooks/pre-push)" "755"
git add .gitattributes && git commit -qm track
git init -q --bare "$PWD.remote.git" && git remote add origin "$PWD.remote.git"
random_file a.bin 2 && git add a.bin && git commit -qm a
run 1 git push origin HEAD:refs/heads/main
assert_contains "$ERR" "no p4reg remote is configured"
# a folder whose name is shell code, in a repository whose path is too
evil=$ROOT_TMP/"it's \$(touch pwned) \`touch pwned2\` dir"
mkdir -p "$evil" && cd "$evil" || exit 1
git init -q . && p4reg init >/dev/null && git commit -qm init
git config core.hooksPath "$ROOT_TMP/hooks \$(touch pwned3);x"
run 0 p4reg track '*.bin'
assert_file "$ROOT_TMP/hooks \$(touch pwned3);x/pre-push"
assert_eq "$(cat "$ROOT_TMP/hooks \$(touch pwned3);x/pre-push")" "$hook"
git add .gitattributes && git commit -qm track
git init -q --bare "$ROOT_TMP/evil.git" && git remote add origin "$ROOT_TMP/evil.git"
p4reg remote add -d store "$ROOT_TMP/evil.store" >/dev/null 2>&1
random_file a.bin 2 && oid=$(sha a.bin) && git add a.bin && git commit -qm a
printf '#!/bin/sh\ncat >/dev/null\necho local ran >&2\n' >"$ROOT_TMP/hooks \$(touch pwned3);x/pre-push.local"
chmod 755 "$ROOT_TMP/hooks \$(touch pwned3);x/pre-push.local"
run 0 git push origin HEAD:refs/heads/main
assert_contains "$ERR" "local ran"
assert_contains "$ERR" "uploaded 1 Git LFS object (2.0 KiB) to p4reg remote 'store'"
assert_file "$(obj "$ROOT_TMP/evil.store/objects" "$oid")"
assert_eq "$(find "$ROOT_TMP" -name 'pwned*' | wc -l)" "0" "shell code in a path ran"
# a work-tree hooks folder that is a symbolic link is not written through
cd "$ROOT_TMP" && fresh_git_repo
mkdir -p "$ROOT_TMP/outside" && ln -s "$ROOT_TMP/outside" .githooks && git config core.hooksPath .githooks
run 2 p4reg track '*.bin'
assert_one_line_error "symbolic link"
assert_no_file "$ROOT_TMP/outside/pre-push"

begin "p4reg pre-push: bad input, one-line errors, documented exit codes"
lfs_repo
run 2 p4reg pre-push </dev/null && assert_one_line_error "pre-push needs the REMOTE git gives its hook"
run 2 p4reg pre-push a b c </dev/null && assert_one_line_error "pre-push takes REMOTE and URL only"
run 2 p4reg pre-push --bogus origin </dev/null && assert_one_line_error "unknown option '--bogus'"
run 2 p4reg pre-push origin url <<<"refs/heads/main deadbeef refs/heads/main $ZERO"
assert_one_line_error "malformed pre-push line 'refs/heads/main deadbeef refs/heads/main $ZERO': expected '<local ref> <local sha> <remote ref> <remote sha>'"
run 2 p4reg pre-push origin url < <(printf 'refs/heads/main %s refs/heads/main %s\n' "$(printf '%02000d' 1)" "$ZERO")
assert_one_line_error "malformed pre-push line"
run 1 p4reg pre-push origin url <<<"refs/heads/main 1111111111111111111111111111111111111111 refs/heads/main $ZERO"
assert_one_line_error "cannot read commit 1111111111111111111111111111111111111111 being pushed"
# nothing pushed, nothing to say
run 0 p4reg pre-push origin url </dev/null && assert_eq "$OUT$ERR" ""
cd "$ROOT_TMP" && run 1 p4reg pre-push origin url <<<"refs/heads/main 1111111111111111111111111111111111111111 refs/heads/main $ZERO"
assert_one_line_error "cannot find the Git LFS objects of this push: not inside a git work tree"

begin "gc keeps what git's pointers need (index, every ref's history), removes what nothing needs"
lfs_repo
random_file committed.bin 3 && c=$(sha committed.bin)
git add committed.bin && git commit -qm c
git checkout -q -b side && random_file side.bin 3 && s=$(sha side.bin)
git add side.bin && git commit -qm side && git checkout -q -
random_file old.bin 3 && o=$(sha old.bin)
git add old.bin && git commit -qm old && git rm -q old.bin && git commit -qm "rm old"
random_file staged.bin 3 && st=$(sha staged.bin) && git add staged.bin
random_file orphan.bin 3 && orphan=$(sha orphan.bin) && git add orphan.bin && git rm -q --cached orphan.bin
for x in "$c" "$s" "$o" "$st" "$orphan"; do assert_file "$(obj .p4reg/objects "$x")"; done
run 0 p4reg gc --grace 0 --dry-run
assert_contains "$OUT" "would remove object $orphan"
assert_eq "$(printf '%s\n' "$OUT" | grep -c 'would remove object')" "1"
run 0 p4reg gc --grace 0
assert_contains "$OUT" "removed object $orphan"
assert_no_file "$(obj .p4reg/objects "$orphan")"
for x in "$c" "$s" "$o" "$st"; do assert_file "$(obj .p4reg/objects "$x")"; done
# git's own copy is git's: gc never touches .git/lfs
assert_file "$(obj .git/lfs/objects "$orphan")"
# a version's object is referenced as before
random_file reg.bin 2 && r=$(sha reg.bin) && p4reg add -q reg.bin && git reset -q reg.bin
run 0 p4reg gc --grace 0 && assert_file "$(obj .p4reg/objects "$r")"
run 0 p4reg --json gc --grace 0 && assert_contains "$OUT" '"referenced":5'

begin "a .p4reg below the git root serves the paths under it; others use .git/lfs/objects"
d=$(mktemp -d "$ROOT_TMP/top-XXXXXX") && cd "$d" || exit 1
git init -q . && mkdir -p sub && (cd sub && p4reg init --here >/dev/null)
(cd sub && p4reg track 'sub/models/*.bin' 'top/*.bin') >/dev/null 2>&1 || fail "track in sub failed"
random_file sub/models/a.bin 40 && a=$(sha sub/models/a.bin)
random_file top/t.bin 30 && t=$(sha top/t.bin)
run 0 git add .gitattributes sub top
assert_file "$(obj sub/.p4reg/objects "$a")"
assert_file "$(obj .git/lfs/objects "$a")"
assert_file "$(obj .git/lfs/objects "$t")"
assert_no_file "$(obj sub/.p4reg/objects "$t")"
assert_no_file .p4reg
check_pointer sub/models/a.bin
check_pointer top/t.bin
git commit -qm "layout"
rm -r sub/models top
run 0 git checkout -- .
assert_eq "$(sha sub/models/a.bin) $(sha top/t.bin)" "$a $t"
# the subfolder's store alone is enough for its paths
rm "$(obj .git/lfs/objects "$a")" sub/models/a.bin
run 0 git checkout -- sub/models/a.bin && assert_eq "$(sha sub/models/a.bin)" "$a"
# the pre-push hook uploads to the subfolder's remote; a path outside any repository is refused
(cd sub && p4reg remote add -d store "$d.store" >/dev/null 2>&1)
git init -q --bare "$d.git" && git remote add origin "$d.git"
run 1 git push origin HEAD:refs/heads/main
assert_contains "$ERR" "p4reg: cannot upload the Git LFS object of 'top/t.bin': no p4reg repository holds that path; run 'p4reg init' in '$d' and 'p4reg remote add NAME URL', then push again, or push without it: git push --no-verify"
assert_no_file "$(obj "$d.store/objects" "$a")"
run 0 git push -q --no-verify origin HEAD:refs/heads/main
random_file sub/models/c.bin 40 && c=$(sha sub/models/c.bin)
git add sub/models/c.bin && git commit -qm c
run 0 git push origin HEAD:refs/heads/main
assert_contains "$ERR" "uploaded 1 Git LFS object (40.0 KiB) to p4reg remote 'store', 0 already there"
assert_file "$(obj "$d.store/objects" "$c")"
# a .p4reg planted as a link below the root is refused for its paths only
mkdir -p evil && ln -s "$d/sub/.p4reg" evil/.p4reg
random_file evil/x.bin 2
echo 'evil/*.bin filter=lfs diff=lfs merge=lfs -text' >>.gitattributes
git add evil/x.bin >"$ROOT_TMP/out" 2>&1 && fail "git add through a linked .p4reg succeeded"
assert_contains "$(cat "$ROOT_TMP/out")" "p4reg: filter-process: evil/x.bin: '$d/evil/.p4reg' is a symbolic link or not a folder"
random_file sub/models/b.bin 2 && run 0 git add sub/models/b.bin

begin "Git LFS pointer extensions: passed through by clean, refused by smudge, never dropped"
lfs_repo
oid=$(printf 'x' | sha256sum | cut -d' ' -f1)
printf 'version https://git-lfs.github.com/spec/v1\next-0-foo sha256:%s\noid sha256:%s\nsize 1\n' "$oid" "$oid" >ext.bin
cp ext.bin "$ROOT_TMP/ext-pointer"
run 0 git add ext.bin
assert_eq "$(git cat-file blob :ext.bin | sha256sum)" "$(sha256sum <"$ROOT_TMP/ext-pointer")" "clean changed a pointer with extensions"
check_pointer ext.bin
git commit -qm ext
rm ext.bin
run 128 git checkout -- ext.bin
assert_contains "$ERR" "p4reg: filter-process: ext.bin: Git LFS extension 'foo' is not supported by p4reg; install git-lfs and the extension"
assert_no_file ext.bin
# even with the object at hand: its bytes are the extension's output, not the file
printf 'x' >"$ROOT_TMP/x" && mkdir -p "$(dirname "$(obj .git/lfs/objects "$oid")")" && cp "$ROOT_TMP/x" "$(obj .git/lfs/objects "$oid")"
run 128 git checkout -- ext.bin
assert_no_file ext.bin
# an extension registered in git's config: clean refuses what it cannot do
git config lfs.extension.crypt.clean 'crypt clean %f' && git config lfs.extension.crypt.priority 0
random_file new.bin 2
run 128 git add new.bin
assert_contains "$ERR" "p4reg: filter-process: new.bin: Git LFS extension 'crypt' (lfs.extension.crypt) is not supported by p4reg; install git-lfs and the extension"
assert_eq "$(git ls-files new.bin)" ""
git config --remove-section lfs.extension.crypt
# p4reg's own commands do not take such a pointer for a version's bytes
run 0 git add new.bin && run 0 p4reg add new.bin
git update-index --cacheinfo 100644,"$(git hash-object -w "$ROOT_TMP/ext-pointer")",new.bin
run 1 p4reg status
assert_one_line_error "'new.bin': Git LFS extension 'foo' is not supported by p4reg; install git-lfs and the extension"
run 1 p4reg checkout new.bin
assert_one_line_error "Git LFS extension 'foo' is not supported by p4reg"

finish
