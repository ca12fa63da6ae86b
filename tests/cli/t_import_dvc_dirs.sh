#!/usr/bin/env bash
# p4reg import dvc, the rest of DVC's formats: a directory output (its .dir
# listing in the cache) becomes a folder version whose files are each
# checked and stored, in both cache layouts and through --history; a
# corrupt file or listing fails its model (exit 4), a hostile listing is
# refused, a file missing from the cache refuses the output (exit 1); DVC
# 2's md5-dos2unix sums; the cache named by .dvc/config's cache.dir (inside
# the repository only) or by --dvc-cache; --history from a p4reg
# repository below the git work tree's top, and --stage with it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dvc_fixture.sh"

# dirs_repo: a git work tree with p4reg and .dvc/, the folder enc/ as a
# directory output (three files, one executable in its listing), committed.
dirs_repo() {
	fresh_git_repo
	mkdir -p .dvc && printf '[core]\n' >.dvc/config && printf '/cache\n' >.dvc/.gitignore
	dvc_dir_put enc 3 config.json '{"dim": 384}' tokenizer/vocab.txt "a b c" weights.bin "v1 weights"
	git add .dvc/config .dvc/.gitignore enc.dvc .gitignore && commit_as Dee "2024-05-01T10:00:00Z" "dvc add enc"
}

manifest_of() { cat ".p4reg/objects/${1:0:2}/${1:2:2}/$1"; }

begin "a directory output becomes a folder version: its manifest, each file stored by SHA-256"
dirs_repo
before=$(snapshot)
run 0 p4reg import dvc --dry-run
assert_contains "$OUT" "would import enc as enc@1 ("
assert_contains "$OUT" ", 3 files, 27 B) from enc.dvc"
assert_eq "$(snapshot)" "$before" "the dry run changed something"
run 0 p4reg import dvc
M=$(db "SELECT oid FROM versions")
assert_eq "$OUT" "imported enc as enc@1 (${M:0:12}, 3 files, 27 B) from enc.dvc
imported 1 version of 1 model"
assert_eq "$(db "SELECT kind, files, tree_size, size FROM versions")" "dir|3|27|$(manifest_of "$M" | wc -c)"
assert_eq "$(manifest_of "$M")" "p4reg-manifest 1
644 $(sha enc/config.json) 12 config.json
644 $(sha enc/tokenizer/vocab.txt) 5 tokenizer/vocab.txt
644 $(sha enc/weights.bin) 10 weights.bin"
assert_eq "$(sha ".p4reg/objects/$(sha enc/weights.bin | cut -c1-2)/$(sha enc/weights.bin | cut -c3-4)/$(sha enc/weights.bin)")" \
	"$(sha enc/weights.bin)"
# the folder as checkout writes it is the folder DVC had
mv enc enc.dvc-copy
run 0 p4reg checkout enc@1
assert_eq "$(diff -r enc enc.dvc-copy && echo same)" "same"
run 0 p4reg import dvc && assert_eq "$OUT" "nothing new to import (1 output already registered)"
run 0 p4reg --json import dvc --dry-run
assert_eq "$OUT" '{"source":"dvc","dry_run":true,"versions":[],"failed":[],"registered":0,"models":0,"not_downloaded":0,"stored":0,"refused":0,"already_imported":1,"pointers":0}'

begin "--history: each revision of the folder, unchanged files shared; the older cache layout; JSON"
dirs_repo
C1=$(git rev-parse HEAD)
# the copy has the bytes of vocab.txt, and the new weights an MD5 that
# sorts before theirs (01a0... < 06f0...): a batch that takes vocab.txt's
# task from an earlier one must take it for the copy too
dvc_dir_put enc 2 config.json '{"dim": 384}' tokenizer/vocab.txt "a b c" weights.bin "v2 weights, longer 15" \
	tokenizer/vocab-copy.txt "a b c"
git add enc.dvc && commit_as Eve "2024-06-01T12:00:00Z" "retrain enc"
C2=$(git rev-parse HEAD)
run 0 p4reg --json import dvc --history
assert_eq "$(echo "$OUT" | jq -c '[.versions[] | [.model, .version, .kind, .files, .tree_size, .git_commit, .author]]')" \
	"[[\"enc\",1,\"dir\",3,27,\"$C1\",\"Dee <dee@example.com>\"],[\"enc\",2,\"dir\",4,43,\"$C2\",\"Eve <eve@example.com>\"]]"
M1=$(db "SELECT oid FROM versions WHERE number = 1"); M2=$(db "SELECT oid FROM versions WHERE number = 2")
assert_eq "$(manifest_of "$M1" | sed -n 2p)" "$(manifest_of "$M2" | sed -n 2p)" "config.json is one object"
assert_eq "$(manifest_of "$M2" | sed -n 3,5p)" "644 $(sha enc/tokenizer/vocab-copy.txt) 5 tokenizer/vocab-copy.txt
644 $(sha enc/tokenizer/vocab.txt) 5 tokenizer/vocab.txt
644 $(sha enc/weights.bin) 21 weights.bin"
run 0 p4reg import dvc --history && assert_eq "$OUT" "nothing new to import (2 outputs already registered)"
run 0 p4reg fsck && assert_contains "$OUT" "ok"
# the same in batches of one listing at a time (a long history of a large
# folder is never held whole): the same versions, the same manifests. A
# third revision in the same layout has vocab.txt's bytes twice and new
# weights whose MD5 sorts before theirs (024c... < 06f0...): its batch takes
# their task from the batch before, for both paths.
dvc_dir_put enc 2 config.json '{"dim": 384}' tokenizer/vocab.txt "a b c" weights.bin "v3 weights 26" \
	tokenizer/vocab-copy.txt "a b c"
git add enc.dvc && commit_as Eve "2024-06-02T12:00:00Z" "retrain enc again"
run 0 p4reg import dvc --history
M3=$(db "SELECT oid FROM versions WHERE number = 3")
assert_eq "$(manifest_of "$M3" | sed -n 3,5p)" "644 $(sha enc/tokenizer/vocab-copy.txt) 5 tokenizer/vocab-copy.txt
644 $(sha enc/tokenizer/vocab.txt) 5 tokenizer/vocab.txt
644 $(sha enc/weights.bin) 13 weights.bin"
src=$PWD && rm -rf "$ROOT_TMP/batched" && cp -a "$src" "$ROOT_TMP/batched" && cd "$ROOT_TMP/batched"
rm -rf .p4reg && p4reg init >/dev/null
P4REG_TEST_DVC_BATCH=1 run 0 p4reg import dvc --history
assert_eq "$(db "SELECT number, oid, files, tree_size FROM versions ORDER BY number")" "1|$M1|3|27
2|$M2|4|43
3|$M3|4|35"
run 0 p4reg fsck

begin "an executable file of the listing keeps its mode"
dirs_repo
L=$(find .dvc/cache -name '*.dir')
sed -i 's/"relpath": "weights.bin"}/"relpath": "weights.bin", "isexec": true}/' "$L"
NEW=$(md5sum "$L" | cut -d' ' -f1)
mkdir -p ".dvc/cache/files/md5/${NEW:0:2}" && mv "$L" ".dvc/cache/files/md5/${NEW:0:2}/${NEW:2}.dir"
sed -i "s/md5: $DIRMD5.dir/md5: $NEW.dir/" enc.dvc
run 0 p4reg import dvc
assert_eq "$(manifest_of "$(db "SELECT oid FROM versions")" | sed -n 4p)" "755 $(sha enc/weights.bin) 10 weights.bin"

begin "a corrupt file or listing fails the model (exit 4); a file missing from the cache refuses it (exit 1)"
dirs_repo
W=$(md5sum enc/weights.bin | cut -d' ' -f1)
printf 'v1 WEIGHTS' >".dvc/cache/files/md5/${W:0:2}/${W:2}"
before=$(snapshot)
run 4 p4reg import dvc
assert_contains "$ERR" "p4reg: warning: nothing imported for model 'enc' (enc): 'weights.bin' of the folder: DVC cache entry '.dvc/cache/files/md5/${W:0:2}/${W:2}' of 'enc' is corrupt: its MD5 is $(printf 'v1 WEIGHTS' | md5sum | cut -d' ' -f1), not $W"
assert_one_line_error "1 model not imported (the warning above says why)"
assert_eq "$(db "SELECT count(*) FROM versions")" "0"
rm ".dvc/cache/files/md5/${W:0:2}/${W:2}"
run 1 p4reg import dvc
assert_contains "$ERR" "p4reg: warning: refused enc (enc.dvc): 'weights.bin' of the folder: not in the DVC cache ('.dvc/cache/files/md5/${W:0:2}/${W:2}' nor the older layout)"
assert_eq "$(db "SELECT count(*) FROM versions")" "0"
cp enc/weights.bin ".dvc/cache/files/md5/${W:0:2}/${W:2}"
printf '[]' >>".dvc/cache/files/md5/${DIRMD5:0:2}/${DIRMD5:2}.dir"
run 4 p4reg import dvc
assert_contains "$ERR" "p4reg: warning: nothing imported for model 'enc' (enc): DVC cache entry '.dvc/cache/files/md5/${DIRMD5:0:2}/${DIRMD5:2}.dir' of 'enc' is corrupt: its MD5 is"
assert_eq "$(db "SELECT count(*) FROM versions")" "0"

begin "a folder whose files do not total the size its .dvc file says fails (exit 4)"
dirs_repo
sed -i 's/^  size: 27$/  size: 99/' enc.dvc
run 4 p4reg import dvc
assert_contains "$ERR" "p4reg: warning: nothing imported for model 'enc' (enc): the files of folder 'enc' total 27 bytes; its .dvc file says 99"
assert_eq "$(db "SELECT count(*) FROM versions")" "0"

begin "two --history imports at once register each revision once"
dirs_repo
for i in $(seq 1 15); do
	dvc_put models/m.bin "revision $i"
	git add models && git commit -qm "m $i"
done
p4reg import dvc --history >"$ROOT_TMP/one" 2>&1 &
p4reg import dvc --history >"$ROOT_TMP/two" 2>&1
wait $! || fail "the first import failed: $(cat "$ROOT_TMP/one")"
assert_eq "$(db "SELECT count(*), count(DISTINCT m.name || v.git_commit) FROM versions v JOIN models m ON m.id = v.model_id")" "16|16"

begin "hostile listings are refused with one line (exit 4), nothing registered"
dirs_repo
W=$(md5sum enc/weights.bin | cut -d' ' -f1)
# listing LIST under its own MD5, named by the .dvc file OUT.dvc
hostile() {
	local md5
	printf '%s' "$2" >list.tmp
	md5=$(md5sum list.tmp | cut -d' ' -f1)
	mkdir -p ".dvc/cache/files/md5/${md5:0:2}" && mv list.tmp ".dvc/cache/files/md5/${md5:0:2}/${md5:2}.dir"
	printf 'outs:\n- md5: %s.dir\n  hash: md5\n  path: %s\n' "$md5" "$1" >"$1.dvc"
}
hostile up "[{\"md5\": \"$W\", \"relpath\": \"../escape\"}]"
hostile git "[{\"md5\": \"$W\", \"relpath\": \".git/config\"}]"
hostile twice "[{\"md5\": \"$W\", \"relpath\": \"a\"}, {\"md5\": \"$W\", \"relpath\": \"a\"}]"
hostile empty "[]"
hostile notjson "{\"md5\": "
rm enc.dvc
run 4 p4reg import dvc
for m in up git twice empty notjson; do
	assert_contains "$ERR" "p4reg: warning: nothing imported for model '$m' ($m): DVC cache entry '.dvc/cache/files/md5/"
done
assert_eq "$(echo "$ERR" | grep -c 'invalid DVC directory listing')" "5"
assert_one_line_error "5 models not imported (the warnings above say why)"
assert_eq "$(db "SELECT count(*) FROM versions")" "0"
assert_no_file escape

begin "a model never switches between file and folder, nor lies in a folder model's folder"
dirs_repo
C1=$(git rev-parse HEAD)
# the history turns enc into a file: that revision is refused alone
rm -rf enc && printf 'now a file' >enc && dvc_put enc "now a file"
git add enc.dvc && git commit -qm "enc is a file now"
run 1 p4reg import dvc --history
assert_contains "$OUT" "imported enc as enc@1 ("
assert_contains "$ERR" "p4reg: warning: refused enc (enc.dvc) at commit $(git rev-parse --short=12 HEAD): model 'enc' is a folder model; this output is a file (a model cannot switch between file and folder: import it alone with --name)"
assert_eq "$(db "SELECT number, kind FROM versions")" "1|dir"
# an output inside the folder of model enc, or a folder holding a model's path
dirs_repo
run 0 p4reg import dvc
mkdir -p enc/inner && dvc_put enc/inner/w.bin "inner weights"
run 2 p4reg import dvc enc/inner/w.bin.dvc
assert_contains "$ERR" "nothing imported for model 'w' (enc/inner/w.bin): 'enc/inner/w.bin' is inside the folder of model 'enc' ('enc'); a model cannot hold another"
mkdir -p other && dvc_put other/m.bin "a file model" && run 0 p4reg import dvc other/m.bin.dvc
dvc_dir_put other 3 m.bin "a file model" x.bin "x"
run 2 p4reg import dvc --name otherdir other.dvc
assert_contains "$ERR" "the folder 'other' holds 'other/m.bin', the path of model 'm'; a model cannot hold another"
assert_eq "$(db "SELECT count(*) FROM models WHERE name IN ('w', 'otherdir')")" "0"

begin "--write-pointers: a folder pointer and the /NAME/ line, staged"
dirs_repo
run 0 p4reg import dvc --write-pointers
assert_contains "$OUT" "imported 1 version of 1 model; 1 pointer written"
assert_eq "$(grep -c '^kind dir$' enc.p4reg)" "1"
assert_eq "$(grep -cx '/enc/' .gitignore)" "1"
assert_contains "$(git status --porcelain --untracked-files=no)" "A  enc.p4reg"
run 0 p4reg status && assert_contains "$OUT" "clean"

begin "DVC 2's md5-dos2unix: a text file with CRLF, its bytes stored as they are"
fresh_git_repo
mkdir -p .dvc/cache
printf 'line one\r\nline two\r\n' >notes.txt
D2U=$(printf 'line one\nline two\n' | md5sum | cut -d' ' -f1)
mkdir -p ".dvc/cache/${D2U:0:2}" && cp notes.txt ".dvc/cache/${D2U:0:2}/${D2U:2}"
# DVC 3's plain MD5 of these bytes is another: the entry named so is corrupt
printf 'outs:\n- md5: %s\n  hash: md5\n  path: notes.txt\n' "$D2U" >notes.txt.dvc
run 4 p4reg import dvc
assert_contains "$ERR" "is corrupt: its MD5 is $(md5sum notes.txt | cut -d' ' -f1), not $D2U"
# DVC 2 wrote no hash: its md5-dos2unix
printf 'outs:\n- md5: %s\n  path: notes.txt\n' "$D2U" >notes.txt.dvc
run 0 p4reg import dvc
assert_eq "$OUT" "imported notes.txt as notes@1 ($(sha notes.txt | cut -c1-12), 20 B) from notes.txt.dvc
imported 1 version of 1 model"
assert_eq "$(sha "$(store_object "$(sha notes.txt)")")" "$(sha notes.txt)"

begin "the cache .dvc/config names: inside the repository it is read, outside it is refused (exit 4)"
dirs_repo
mv .dvc/cache shared-cache
printf '[core]\n    remote = storage\n['"'"'remote "storage"'"'"']\n    url = s3://bucket/path\n[cache]\n    dir = ../shared-cache\n' >.dvc/config
run 0 p4reg import dvc
assert_contains "$OUT" "imported 1 version of 1 model"
dirs_repo
outside=$(mktemp -d) && mv .dvc/cache "$outside/"
printf '[cache]\n    dir = %s/cache\n' "$outside" >.dvc/config
run 4 p4reg import dvc
assert_contains "$ERR" "sets cache.dir to '$outside/cache', outside the repository"
assert_eq "$(db "SELECT count(*) FROM versions")" "0"
printf '[cache]\n    dir = ../../../%s/cache\n' "$outside" >.dvc/config
run 4 p4reg import dvc && assert_contains "$ERR" "outside the repository"
run 0 p4reg import dvc --dvc-cache "$outside/cache"
assert_contains "$OUT" "imported 1 version of 1 model"
run 2 p4reg import git-lfs --dvc-cache x && assert_one_line_error "--dvc-cache goes with 'import dvc'"
run 1 p4reg import dvc --dvc-cache "$outside/none" enc.dvc
assert_contains "$ERR" "cannot open the DVC cache '$outside/none'"
rm -rf "$outside"

begin "--history from a p4reg repository below the git work tree's top, and --stage"
fresh_git_repo
top=$PWD
git rm -rq .p4reg && rm -rf .p4reg && mkdir -p ml && cd ml && run 0 p4reg init --here
mkdir -p .dvc && printf '/cache\n' >.dvc/.gitignore
dvc_put m.bin "model one"; M1=$(sha m.bin)
git add . && commit_as Dee "2024-05-01T10:00:00Z" "m one"
C1=$(git rev-parse HEAD)
dvc_put m.bin "model two"
git add m.bin.dvc && commit_as Eve "2024-06-01T12:00:00Z" "m two"
run 0 p4reg import dvc --history --stage "production=$C1" --stage staging=HEAD
assert_contains "$OUT" "imported m.bin as m@1 (${M1:0:12}, 9 B) from m.bin.dvc at commit ${C1:0:12}"
assert_contains "$OUT" "moved m@1 from development to production (--stage production=$C1"
assert_contains "$OUT" "moved m@2 from development to staging (--stage staging=HEAD"
assert_eq "$(db "SELECT number, stage, source_path FROM versions ORDER BY number")" "1|production|m.bin
2|staging|m.bin"
assert_eq "$(db "SELECT kind, reason FROM events WHERE kind = 'promote' ORDER BY id")" "promote|import --stage production=$C1
promote|import --stage staging=HEAD"
run 0 p4reg import dvc --history --stage "production=$C1"
assert_eq "$OUT" "nothing new to import (2 outputs already registered)
m@1 is already in production (--stage production=$C1)"
cd "$top"

finish
