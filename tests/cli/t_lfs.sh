#!/usr/bin/env bash
# End-to-end interoperability with the real git-lfs: pointers p4reg stages,
# ls-files/fsck, push and clone through a file:// remote, files committed
# by git-lfs read by p4reg, .gitattributes byte-identical to `git lfs
# track`, and p4reg as the filter when git-lfs is not on PATH.
. "$(dirname "$0")/lib.sh"

if ! command -v git-lfs >/dev/null 2>&1; then
	echo "SKIP t_lfs: git-lfs is not installed (scripts/deps.sh installs it)" >&2
	exit 77 # ctest's SKIP_RETURN_CODE: reported as skipped, not passed
fi

# check_pointer PATH: the blob staged for PATH is one git-lfs calls canonical.
check_pointer() {
	git show ":$1" >"$ROOT_TMP/pointer" || fail "nothing staged for '$1'"
	run 0 git lfs pointer --check --strict --file="$ROOT_TMP/pointer"
}

begin "p4reg add of an LFS path stages a canonical pointer, no pointer file"
fresh_git_repo
run 0 p4reg track '*.onnx'
random_file models/emb.onnx 300
oid=$(sha models/emb.onnx)
run 0 p4reg add models/emb.onnx && assert_contains "$OUT" "added models/emb.onnx as emb@1"
assert_no_file models/emb.onnx.p4reg
assert_no_file models/.gitignore
check_pointer models/emb.onnx
assert_eq "$(git show :models/emb.onnx)" "version https://git-lfs.github.com/spec/v1
oid sha256:$oid
size 307200"
assert_same_bytes .git/lfs/objects/${oid:0:2}/${oid:2:2}/$oid models/emb.onnx
assert_eq "$(stat -c %i .git/lfs/objects/${oid:0:2}/${oid:2:2}/$oid)" "$(stat -c %i .p4reg/objects/${oid:0:2}/${oid:2:2}/$oid)" "not hard-linked"
assert_eq "$(db 'SELECT number, oid, source_path FROM versions')" "1|$oid|models/emb.onnx"
assert_eq "$(git status --porcelain models)" "A  models/emb.onnx"

begin "after commit: git lfs ls-files lists it with '*', git lfs fsck is clean"
git add .gitattributes && git commit -qm "emb v1"
run 0 git lfs ls-files && assert_eq "$OUT" "${oid:0:10} * models/emb.onnx"
run 0 git lfs fsck && assert_contains "$OUT" "Git LFS fsck OK"
assert_eq "$(git status --porcelain --untracked-files=no)" ""
run 0 p4reg status && assert_eq "$OUT" "clean          models/emb.onnx (emb@1, Git LFS)"
run 0 p4reg --json status
assert_contains "$OUT" "{\"file\":\"models/emb.onnx\",\"state\":\"clean\",\"model\":\"emb\",\"version\":1,\"lfs\":true,\"oid\":\"$oid\"}"

begin "a new version of an LFS path: status, checkout of old and new"
random_file models/emb.onnx 200
oid2=$(sha models/emb.onnx)
run 0 p4reg status && assert_contains "$OUT" "modified       models/emb.onnx (emb@1, Git LFS)"
run 0 p4reg add models/emb.onnx && assert_contains "$OUT" "as emb@2"
check_pointer models/emb.onnx
# checkout by reference stages that version's pointer, as git checkout REV -- PATH
run 0 p4reg checkout emb@1 && assert_eq "$(sha models/emb.onnx)" "$oid"
assert_no_file models/emb.onnx.p4reg
assert_contains "$(git show :models/emb.onnx)" "oid sha256:$oid"
run 0 p4reg status && assert_eq "$OUT" "clean          models/emb.onnx (emb@1, Git LFS)"
run 0 p4reg checkout emb@2
check_pointer models/emb.onnx
rm models/emb.onnx
run 0 p4reg checkout models/emb.onnx && assert_eq "$(sha models/emb.onnx)" "$oid2"
git commit -qm "emb v2"
run 0 git lfs fsck

begin "push to a file:// bare remote with git + git-lfs, clone elsewhere: same bytes"
src=$PWD
remote=$ROOT_TMP/remote.git
git init -q --bare "$remote"
git remote add origin "file://$remote"
run 0 git push -q origin HEAD:refs/heads/main
clone_home=$ROOT_TMP/clone-home; mkdir -p "$clone_home"
HOME=$clone_home git lfs install --skip-repo >/dev/null
HOME=$clone_home run 0 git clone -q -b main "file://$remote" "$ROOT_TMP/clone"
assert_same_bytes "$ROOT_TMP/clone/models/emb.onnx" "$src/models/emb.onnx"
(cd "$ROOT_TMP/clone" && HOME=$clone_home git checkout -q HEAD~1 && sha models/emb.onnx) >"$ROOT_TMP/old-sha"
assert_eq "$(cat "$ROOT_TMP/old-sha")" "$oid"

begin "a file committed through git-lfs's clean filter: p4reg add/status/checkout, same oid"
d=$(mktemp -d "$ROOT_TMP/lfsrepo-XXXXXX"); cd "$d"
git init -q . && git lfs install --local >/dev/null && git lfs track '*.bin' >/dev/null
random_file w/model.bin 150
oid=$(sha w/model.bin)
git add .gitattributes w/model.bin && git commit -qm "via git-lfs"
assert_eq "$(git lfs ls-files -l | cut -d' ' -f1)" "$oid"
run 0 p4reg init && git commit -qm "p4reg init"
run 0 p4reg add w/model.bin && assert_contains "$OUT" "added w/model.bin as model@1 (${oid:0:12}"
assert_eq "$(db 'SELECT oid FROM versions')" "$oid"
assert_eq "$(git status --porcelain --untracked-files=no)" ""
run 0 p4reg status && assert_eq "$OUT" "clean          w/model.bin (model@1, Git LFS)"
rm w/model.bin
run 0 p4reg status && assert_contains "$OUT" "missing        w/model.bin"
run 0 p4reg checkout w/model.bin && assert_eq "$(sha w/model.bin)" "$oid"
# with p4reg's store emptied, the bytes come from .git/lfs/objects
chmod -R u+w .p4reg/objects && rm -rf .p4reg/objects/* && rm w/model.bin
run 0 p4reg checkout && assert_eq "$(sha w/model.bin)" "$oid"
assert_file .p4reg/objects/${oid:0:2}/${oid:2:2}/$oid

begin "an LFS path git-lfs committed but p4reg never added: checkout by path"
random_file w/other.bin 20
oid=$(sha w/other.bin)
git add w/other.bin && git commit -qm other
rm w/other.bin
run 0 p4reg checkout w/other.bin && assert_contains "$OUT" "checked out w/other.bin (Git LFS ${oid:0:12})"
assert_eq "$(sha w/other.bin)" "$oid"

begin ".gitattributes after p4reg track is byte-identical to git lfs track's"
patterns=('*.onnx' 'models/*.bin' 'models/my model*.bin' 'data/a#b.bin' '*.gguf')
a=$(mktemp -d "$ROOT_TMP/cmp-lfs-XXXXXX"); b=$(mktemp -d "$ROOT_TMP/cmp-p4r-XXXXXX")
(cd "$a" && git init -q . && for p in "${patterns[@]}"; do git lfs track "$p" >/dev/null || exit 1; done) || fail "git lfs track failed"
(cd "$b" && git init -q . && p4reg init >/dev/null && p4reg track "${patterns[@]}" >/dev/null 2>&1) || fail "p4reg track failed"
cmp "$a/.gitattributes" "$b/.gitattributes" || fail "$(diff "$a/.gitattributes" "$b/.gitattributes")"
# and pattern by pattern, over an existing LF file, in both directions of ownership
printf '*.txt text\n' >"$a/.gitattributes"; cp "$a/.gitattributes" "$b/.gitattributes"
(cd "$a" && git lfs track 'x y.bin' >/dev/null && git lfs track 'h#.pt' >/dev/null)
(cd "$b" && p4reg track 'x y.bin' >/dev/null 2>&1 && p4reg track 'h#.pt' >/dev/null 2>&1)
cmp "$a/.gitattributes" "$b/.gitattributes" || fail "$(diff "$a/.gitattributes" "$b/.gitattributes")"
# git-lfs sees p4reg's lines as its own
(cd "$b" && git lfs track 'x y.bin') | grep -q 'already supported' || fail "git lfs track did not recognise p4reg's line"

begin "without git-lfs on PATH: git add/checkout go through p4reg filter-process"
bin=$(bin_without_git_lfs)
d=$(mktemp -d "$ROOT_TMP/nolfs-XXXXXX"); cd "$d"
nolfs() { env PATH="$bin" "$@"; }
nolfs git init -q . && nolfs p4reg init >/dev/null
run 0 nolfs p4reg track '*.bin'
assert_contains "$ERR" "p4reg filter-process"
random_file m/model.bin 500
oid1=$(sha m/model.bin); cp m/model.bin "$ROOT_TMP/v1.bin"
run 0 nolfs git add .gitattributes m/model.bin
check_pointer m/model.bin
assert_same_bytes .p4reg/objects/${oid1:0:2}/${oid1:2:2}/$oid1 m/model.bin
assert_same_bytes .git/lfs/objects/${oid1:0:2}/${oid1:2:2}/$oid1 m/model.bin
run 0 nolfs git commit -qm v1
random_file m/model.bin 70
oid2=$(sha m/model.bin)
run 0 nolfs git commit -qam v2
check_pointer m/model.bin
assert_eq "$(nolfs git status --porcelain --untracked-files=no)" ""
run 0 nolfs git checkout -q HEAD~1
assert_eq "$(sha m/model.bin)" "$oid1"
run 0 nolfs git checkout -q -
assert_eq "$(sha m/model.bin)" "$oid2"
# a file p4reg's filter never saw: the pointer is left, with a warning
printf 'version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize 5\n' "$(printf '%064d' 7)" >"$ROOT_TMP/ghost"
blob=$(git hash-object -w "$ROOT_TMP/ghost")
nolfs git update-index --add --cacheinfo 100644,"$blob",m/ghost.bin
run 0 nolfs git checkout -- m/ghost.bin
assert_contains "$ERR" "is in neither .p4reg/objects, .git/lfs/objects nor the p4reg remote"
assert_not_contains "$ERR" "not downloaded"
assert_same_bytes m/ghost.bin "$ROOT_TMP/ghost"
nolfs git rm -q --cached m/ghost.bin && rm m/ghost.bin

# the real git-lfs accepts what p4reg's filter stored (it also installs
# its hooks here, so this comes last)
run 0 git lfs ls-files && assert_contains "$OUT" "${oid2:0:10} * m/model.bin"
run 0 git lfs fsck && assert_contains "$OUT" "Git LFS fsck OK"

finish
