#!/usr/bin/env bash
# Hostile git content against p4reg as git's Git LFS filter (issue 21
# review): a .p4reg a commit plants in a subfolder, git config a clone
# cannot set, hostile Git LFS pointers in history, deep trees. Runs with a
# PATH that has no git-lfs, as t_git_nolfs.sh.
. "$(dirname "$0")/lib.sh"

PATH=$(bin_without_git_lfs)
export PATH
ZERO=0000000000000000000000000000000000000000
obj() { echo "$1/${2:0:2}/${2:2:2}/$2"; }
# pointer_blob TEXT: a blob of TEXT (printf format) in git's object store.
pointer_blob() { printf "$@" | git hash-object -w --stdin; }
# commit_blob PATH BLOB MSG: commits BLOB at PATH without any filter.
commit_blob() { git update-index --add --cacheinfo "100644,$2,$1" && git commit -qm "$3"; }
lfs_repo() {
	fresh_git_repo
	p4reg track '*.bin' >/dev/null 2>&1 || fail "track failed"
	git add .gitattributes && git commit -qm track
	git init -q --bare "$PWD.remote.git" && git remote add origin "$PWD.remote.git"
	p4reg remote add -d store "$PWD.store" >/dev/null 2>&1 || fail "remote add failed"
}

begin "a .p4reg a commit plants in a subfolder cannot have another path's object uploaded to its remote"
lfs_repo
random_file secret.bin 5 && s=$(sha secret.bin)
git add secret.bin && git commit -qm secret
assert_file "$(obj .git/lfs/objects "$s")"
# the planted commit: sub/.p4reg/config with the committer's remote, and a
# pointer under sub/ naming the secret's object
mkdir -p sub/.p4reg "$PWD.evil"
printf '[remote "evil"]\n\turl = %s\n' "$PWD.evil" >sub/.p4reg/config
git add sub/.p4reg/config
commit_blob sub/leak.bin "$(pointer_blob 'version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize 5120\n' "$s")" planted
git checkout -q -- . 2>/dev/null
run 1 git push origin HEAD:refs/heads/main
assert_contains "$ERR" "p4reg: the Git LFS object ${s:0:12} of 'sub/leak.bin' is neither in .p4reg/objects (of the repository that holds it) nor on remote 'evil'"
assert_eq "$(find "$PWD.evil" -type f | wc -l)" "0" "an object went to the planted remote"
assert_no_file "$(obj sub/.p4reg/objects "$s")"
assert_eq "$(git ls-remote "$PWD.remote.git" | wc -l)" "0" "git pushed anyway"

begin "a config.local a commit planted in a subfolder's .p4reg is refused by the filter"
lfs_repo
mkdir -p sub/.p4reg
printf '[remote "evil"]\n\turl = /nonexistent\n' >sub/.p4reg/config
printf '[remote "evil"]\n\tallowHttp = true\n' >sub/.p4reg/config.local
git add sub/.p4reg/config && git add -f sub/.p4reg/config.local && git commit -qm planted
random_file sub/x.bin 2
run 128 git add sub/x.bin
assert_contains "$ERR" "p4reg: filter-process: sub/x.bin: git tracks '.p4reg/config.local' in '$PWD/sub', but only .p4reg/config and .p4reg/.gitignore are shared; p4reg does not trust it"
assert_no_file sub/.p4reg/objects
assert_eq "$(git diff --cached --name-only)" "" "something was staged"

begin "a committed .gitconfig or hooks folder does not choose where track writes the hook"
fresh_git_repo
mkdir -p evilhooks && printf '#!/bin/sh\necho pwned\n' >evilhooks/pre-push && chmod +x evilhooks/pre-push
printf '[core]\n\thooksPath = evilhooks\n' >.gitconfig
printf '[core]\n\thooksPath = evilhooks\n' >.lfsconfig
git add .gitconfig .lfsconfig evilhooks && git commit -qm hooks
before=$(sha evilhooks/pre-push)
run 0 p4reg track '*.bin'
assert_contains "$ERR" "installed the pre-push hook '$PWD/.git/hooks/pre-push'"
assert_eq "$(sha evilhooks/pre-push)" "$before"
assert_no_file evilhooks/pre-push.local
assert_no_file .git/hooks/pre-push.local
assert_not_contains "$(cat .git/hooks/pre-push)" "$PWD"

begin "hostile Git LFS pointers in pushed history: refused or skipped, never a crash"
lfs_repo
random_file real.bin 3 && r=$(sha real.bin)
git add real.bin && git commit -qm real
h=$(printf x | sha256sum | cut -c1-64)
long=$(head -c 2000 /dev/zero | tr '\0' a)
i=0
for t in "version https://git-lfs.github.com/spec/v1\next-0-$long sha256:$h\noid sha256:$h\nsize 1\n" \
	"version https://git-lfs.github.com/spec/v1\next-1-a sha256:$h\next-1-b sha256:$h\noid sha256:$h\nsize 1\n" \
	"version https://git-lfs.github.com/spec/v1\next-2-a sha256:$h\next-1-b sha256:$h\noid sha256:$h\nsize 1\n" \
	"version https://git-lfs.github.com/spec/v1\noid sha256:$h\nsize 99999999999999999999999\n" \
	"version https://git-lfs.github.com/spec/v1\noid sha256:$h\nsize 1\nsize 1\n" \
	"version https://git-lfs.github.com/spec/v1\noid sha256:../../../etc\nsize 1\n"; do
	i=$((i + 1))
	commit_blob "h$i.bin" "$(pointer_blob "$t")" "hostile $i"
done
# the same object at two paths, and a path with a control character
commit_blob "dup.bin" "$(git rev-parse HEAD:real.bin)" dup
commit_blob "$(printf 'nl\nx.bin')" "$(git rev-parse HEAD:real.bin)" newline
run 0 p4reg pre-push origin "$PWD.remote.git" <<<"refs/heads/master $(git rev-parse HEAD) refs/heads/main $ZERO"
assert_contains "$ERR" "uploaded 1 Git LFS object (3.0 KiB) to p4reg remote 'store', 0 already there"
assert_file "$(obj "$PWD.store/objects" "$r")"
assert_eq "$(find "$PWD.store/objects" -type f | wc -l)" "1" "a hostile pointer's object was uploaded"
# a pointer whose size lies about the object p4reg holds: exit 4, nothing sent
commit_blob liar.bin "$(pointer_blob 'version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize 7\n' "$r")" liar
rm -r "$PWD.store/objects"/*
run 4 p4reg pre-push origin "$PWD.remote.git" <<<"refs/heads/master $(git rev-parse HEAD) refs/heads/main $ZERO"
assert_contains "$ERR" "p4reg: the Git LFS pointer of 'liar.bin' says 7 bytes, but its object ${r:0:12} has 3072"
assert_eq "$(find "$PWD.store/objects" -type f | wc -l)" "0" "something was uploaded"
# gc reads the same history: the real object is kept, nothing else counted
run 0 p4reg --json gc --grace 0
assert_file "$(obj .p4reg/objects "$r")"
# malformed pre-push lines: one line, exit 2
run 2 p4reg pre-push origin <<<"refs/heads/master zz refs/heads/main $ZERO"
assert_one_line_error "malformed pre-push line"
run 2 p4reg pre-push origin < <(head -c 10000 /dev/zero | tr '\0' a)
assert_one_line_error "malformed pre-push line: longer than 8192 bytes or with a NUL byte"

begin "a git tree nested deeper than any path: gc refuses, deletes nothing"
lfs_repo
random_file gone.bin 1 && g=$(sha gone.bin) && git add gone.bin && git rm -q --cached gone.bin && rm gone.bin
assert_file "$(obj .p4reg/objects "$g")"
t=$(git hash-object -w -t tree /dev/null)
for _ in $(seq 4100); do t=$(printf '040000 tree %s\td\n' "$t" | git mktree); done
git update-ref refs/deep "$t"
before=$(snapshot)
run 1 p4reg gc --grace 0
assert_one_line_error "a git tree is nested deeper than any path"
assert_eq "$(snapshot)" "$before" "gc changed something"
assert_file "$(obj .p4reg/objects "$g")"

finish
