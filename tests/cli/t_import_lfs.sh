#!/usr/bin/env bash
# p4reg import git-lfs against a history the real git-lfs wrote: five
# revisions of two models by three authors, imported as versions in commit
# order with their authors, dates, commits, messages and bytes; a second
# import adds nothing; a dry run changes nothing; an object git-lfs does
# not have here is registered without its bytes and stored by a later
# run; a corrupt object registers nothing for its model; a blob that is no
# valid pointer is refused with one line; reverts, an earlier `p4reg
# add`, --since, --name, --all-parents and a push of what was imported.
. "$(dirname "$0")/lib.sh"

if ! command -v git-lfs >/dev/null 2>&1; then
	echo "SKIP t_import_lfs: git-lfs is not installed (scripts/deps.sh installs it)" >&2
	exit 77 # ctest's SKIP_RETURN_CODE: reported as skipped, not passed
fi

# commit_as NAME EMAIL DATE MESSAGE: a commit by that author at that date
# (the committer's date too, so git log agrees on the order).
commit_as() {
	GIT_AUTHOR_NAME=$1 GIT_AUTHOR_EMAIL=$2 GIT_AUTHOR_DATE=$3 GIT_COMMITTER_DATE=$3 \
		git commit -qm "$4" || fail "commit '$4' failed"
}

# lfs_repo: a new git repository with git-lfs tracking *.bin; cd into it.
lfs_repo() {
	local d
	d=$(mktemp -d "$ROOT_TMP/lfs-XXXXXX")
	cd "$d" || exit 1
	git init -q . && git lfs install --local >/dev/null && git lfs track '*.bin' >/dev/null
	git add .gitattributes && commit_as Setup setup@example.com "2024-01-01T00:00:00Z" "track *.bin"
}

# history5: five revisions of models/a.bin (3) and models/b.bin (2) by
# three authors, a commit without a pointer between them, then p4reg init
# committed. A1..A3, B1..B2: the oids; CA1.. the commits.
history5() {
	lfs_repo
	mkdir -p models
	random_file models/a.bin 3; A1=$(sha models/a.bin); git add models/a.bin
	commit_as Alice alice@example.com "2024-02-01T10:00:00Z" "a: first cut"; CA1=$(git rev-parse HEAD)
	random_file models/b.bin 4; B1=$(sha models/b.bin); git add models/b.bin
	commit_as Bob bob@example.com "2024-02-02T11:00:00Z" "b: baseline"; CB1=$(git rev-parse HEAD)
	echo notes >README && git add README
	commit_as Bob bob@example.com "2024-02-03T12:00:00Z" "readme"
	random_file models/a.bin 5; A2=$(sha models/a.bin); git add models/a.bin
	commit_as Carol carol@example.com "2024-02-04T13:00:00Z" "a: more data"; CA2=$(git rev-parse HEAD)
	random_file models/b.bin 6; B2=$(sha models/b.bin); git add models/b.bin
	commit_as Alice alice@example.com "2024-02-05T14:00:00Z" "b: tuned"; CB2=$(git rev-parse HEAD)
	random_file models/a.bin 7; A3=$(sha models/a.bin); git add models/a.bin
	commit_as Bob bob@example.com "2024-02-06T15:00:00Z" "a: final"; CA3=$(git rev-parse HEAD)
	p4reg init >/dev/null || fail "init failed"
	git add -A && commit_as Setup setup@example.com "2024-02-07T00:00:00Z" "p4reg init"
}

lfs_object() { echo ".git/lfs/objects/${1:0:2}/${1:2:2}/$1"; }
store_object() { echo ".p4reg/objects/${1:0:2}/${1:2:2}/$1"; }

begin "a dry run lists the five versions in commit order and changes nothing"
history5
before=$(snapshot)
run 0 p4reg import git-lfs --dry-run
assert_eq "$OUT" "would import models/a.bin as a@1 (${A1:0:12}, 3.0 KiB) from commit ${CA1:0:12}
would import models/a.bin as a@2 (${A2:0:12}, 5.0 KiB) from commit ${CA2:0:12}
would import models/a.bin as a@3 (${A3:0:12}, 7.0 KiB) from commit ${CA3:0:12}
would import models/b.bin as b@1 (${B1:0:12}, 4.0 KiB) from commit ${CB1:0:12}
would import models/b.bin as b@2 (${B2:0:12}, 6.0 KiB) from commit ${CB2:0:12}
would import 5 versions of 2 models; nothing changed (dry run)"
assert_eq "$ERR" ""
assert_eq "$(snapshot)" "$before" "the dry run changed something"
assert_eq "$(db 'SELECT count(*) FROM models; SELECT count(*) FROM versions; SELECT count(*) FROM events')" "0
0
0"
assert_eq "$(find .p4reg/objects -type f | wc -l)" "0"

begin "import registers them: numbers in commit order, authors, dates, commits, messages, bytes"
run 0 p4reg import git-lfs
assert_eq "$OUT" "imported models/a.bin as a@1 (${A1:0:12}, 3.0 KiB) from commit ${CA1:0:12}
imported models/a.bin as a@2 (${A2:0:12}, 5.0 KiB) from commit ${CA2:0:12}
imported models/a.bin as a@3 (${A3:0:12}, 7.0 KiB) from commit ${CA3:0:12}
imported models/b.bin as b@1 (${B1:0:12}, 4.0 KiB) from commit ${CB1:0:12}
imported models/b.bin as b@2 (${B2:0:12}, 6.0 KiB) from commit ${CB2:0:12}
imported 5 versions of 2 models"
assert_eq "$ERR" ""
assert_eq "$(db "SELECT m.name || '@' || v.number, v.oid, v.size, v.author, v.created_ms, v.git_commit, v.message,
	v.source_path, v.stage FROM versions v JOIN models m ON m.id = v.model_id ORDER BY m.name, v.number")" \
"a@1|$A1|3072|Alice <alice@example.com>|$(( $(git log -1 --format=%at "$CA1") * 1000 ))|$CA1|a: first cut|models/a.bin|development
a@2|$A2|5120|Carol <carol@example.com>|$(( $(git log -1 --format=%at "$CA2") * 1000 ))|$CA2|a: more data|models/a.bin|development
a@3|$A3|7168|Bob <bob@example.com>|$(( $(git log -1 --format=%at "$CA3") * 1000 ))|$CA3|a: final|models/a.bin|development
b@1|$B1|4096|Bob <bob@example.com>|$(( $(git log -1 --format=%at "$CB1") * 1000 ))|$CB1|b: baseline|models/b.bin|development
b@2|$B2|6144|Alice <alice@example.com>|$(( $(git log -1 --format=%at "$CB2") * 1000 ))|$CB2|b: tuned|models/b.bin|development"
# created time = the commit's date, as log shows it
run 0 p4reg log a
assert_contains "$OUT" "a@2    development ${A2:0:12}    5.0 KiB  2024-02-04T13:00:00Z  Carol <carol@example.com>  a: more data"
# the register events: the commit's author and date, and where it came from
assert_eq "$(db "SELECT kind, actor, at_ms = (SELECT created_ms FROM versions WHERE id = version_id), reason,
	detail FROM events ORDER BY id LIMIT 1")" \
	"register|Alice <alice@example.com>|1|a: first cut|{\"import\":\"git-lfs\",\"by\":\"Test Runner <test@example.com>\"}"
for o in "$A1" "$A2" "$A3" "$B1" "$B2"; do
	assert_eq "$(sha "$(store_object "$o")")" "$o" "stored bytes of $o"
done
assert_eq "$(find .p4reg/objects -type f | wc -l)" "5"
run 0 p4reg status
assert_eq "$OUT" "clean          models/a.bin (a@3, Git LFS)
clean          models/b.bin (b@2, Git LFS)"
run 0 p4reg fsck

begin "a second import adds nothing"
before=$(snapshot)
run 0 p4reg import git-lfs
assert_eq "$OUT" "nothing new to import (5 changes already imported)"
assert_eq "$ERR" ""
assert_eq "$(snapshot)" "$before" "the second import changed something"
run 0 p4reg --json import git-lfs
assert_eq "$OUT" '{"source":"git-lfs","dry_run":false,"versions":[],"failed":[],"registered":0,"models":0,"not_downloaded":0,"stored":0,"refused":0,"already_imported":5}'
run 0 p4reg -q import git-lfs models/b.bin && assert_eq "$OUT" ""

begin "--json: one row per version registered"
history5
run 0 p4reg --json import git-lfs models/b.bin
python3 - "$OUT" "$B1" "$CB1" <<'PY' || fail "unexpected JSON: $OUT"
import json, sys
doc = json.loads(sys.argv[1])
assert doc["registered"] == 2 and doc["models"] == 1 and doc["already_imported"] == 0, doc
v = doc["versions"][0]
assert v == {"state": "imported", "path": "models/b.bin", "model": "b", "version": 1, "git_commit": sys.argv[3],
             "author": "Bob <bob@example.com>", "created": "2024-02-02T11:00:00Z", "created_ms": 1706871600000,
             "message": "b: baseline", "oid": sys.argv[2], "size": 4096, "downloaded": True, "error": None}, v
PY
assert_eq "$(db 'SELECT name FROM models')" "b"

begin "an object git-lfs lacks here: registered without its bytes, said so; a later run stores them"
history5
mv "$(lfs_object "$A2")" "$ROOT_TMP/a2.obj"
run 0 p4reg import git-lfs
assert_contains "$OUT" "imported models/a.bin as a@2 (${A2:0:12}, 5.0 KiB) from commit ${CA2:0:12}, not downloaded
imported models/a.bin as a@3"
assert_contains "$OUT" "imported 5 versions of 2 models"
assert_eq "$ERR" "note: 1 version is not downloaded: git-lfs has not fetched its object into '$PWD/.git/lfs/objects'; run 'git lfs fetch --all' and 'p4reg import git-lfs' again, or 'p4reg pull' it from a p4reg remote"
assert_eq "$(db "SELECT oid FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'a' AND number = 2")" "$A2"
assert_no_file "$(store_object "$A2")"
run 1 p4reg cat a@2 && assert_contains "$ERR" "a@2"
run 4 p4reg fsck && assert_contains "$OUT" "missing-object: object $A2 of a@2"
run 0 p4reg --json import git-lfs --dry-run && assert_contains "$OUT" '"not_downloaded":0'
# the object comes (git lfs fetch --all would put it there): stored, verified
mv "$ROOT_TMP/a2.obj" "$(lfs_object "$A2")"
run 0 p4reg import git-lfs --dry-run
assert_eq "$OUT" "would store the bytes of a@2 (${A2:0:12}, 5.0 KiB) from commit ${CA2:0:12}
would store the bytes of 1 imported version (5 changes already imported); nothing changed (dry run)"
assert_no_file "$(store_object "$A2")"
run 0 p4reg import git-lfs
assert_eq "$OUT" "stored the bytes of a@2 (${A2:0:12}, 5.0 KiB) from commit ${CA2:0:12}
stored the bytes of 1 imported version (5 changes already imported)"
assert_eq "$(sha "$(store_object "$A2")")" "$A2"
assert_eq "$(p4reg cat a@2 | sha256sum | cut -d' ' -f1)" "$A2" "cat a@2"
run 0 p4reg fsck
run 0 p4reg import git-lfs && assert_eq "$OUT" "nothing new to import (5 changes already imported)"

begin "a corrupt Git LFS object: exit 4, nothing registered for its model, the other model imported"
history5
obj=$(lfs_object "$A2")
cp "$obj" "$ROOT_TMP/copy" && chmod u+w "$obj" && cp "$ROOT_TMP/copy" "$obj" # its own inode
flip_byte "$obj" 100
run 4 p4reg import git-lfs
assert_eq "$OUT" "imported models/b.bin as b@1 (${B1:0:12}, 4.0 KiB) from commit ${CB1:0:12}
imported models/b.bin as b@2 (${B2:0:12}, 6.0 KiB) from commit ${CB2:0:12}
imported 2 versions of 1 model"
assert_one_line_error "1 model not imported (the warning above says why)"
assert_contains "$ERR" "p4reg: warning: nothing imported for model 'a' (models/a.bin): Git LFS object '$PWD/$obj' of 'models/a.bin' (commit ${CA2:0:12}) is corrupt: it hashes to $(sha "$obj")"
assert_eq "$(db "SELECT count(*) FROM models WHERE name = 'a'; SELECT count(*) FROM versions; SELECT count(*) FROM events")" "0
2
2"
run 0 p4reg --json import git-lfs --dry-run # a dry run reads no object
# JSON: the document, then the error on stderr
run 4 p4reg --json import git-lfs
assert_contains "$OUT" '"failed":[{"model":"a","path":"models/a.bin","code":"integrity","error":"Git LFS object'
assert_contains "$ERR" "p4reg: 1 model not imported (the warning above says why)"
# the good bytes back: model a imported whole
cp "$ROOT_TMP/copy" "$obj"
run 0 p4reg import git-lfs
assert_eq "$(db "SELECT group_concat(number || ':' || oid, ' ') FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'a'")" "1:$A1 2:$A2 3:$A3"

begin "hostile pointers (malformed, oid not hex, absurd size) are refused with one line each, nothing registered for them"
history5
mkdir -p h
# committed as they are: *.pt is not tracked, so git-lfs leaves the blobs alone
printf 'version https://git-lfs.github.com/spec/v1\noid sha256:%s\n' "$A1" >h/nosize.pt
printf 'version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize 10\n' "$(printf 'z%.0s' {1..64})" >h/nothex.pt
printf 'version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize 99999999999999999999\n' "$A1" >h/huge.pt
git add h && commit_as Mallory mallory@example.com "2024-03-01T00:00:00Z" "hostile"
CH=$(git rev-parse HEAD)
run 4 p4reg import git-lfs
assert_contains "$OUT" "imported 5 versions of 2 models"
assert_eq "$(printf '%s\n' "$ERR" | grep -c '^p4reg: warning: refused')" "3"
assert_contains "$ERR" "p4reg: warning: refused h/huge.pt at commit ${CH:0:12}: not a Git LFS pointer: malformed size"
assert_contains "$ERR" "p4reg: warning: refused h/nosize.pt at commit ${CH:0:12}: not a Git LFS pointer:"
assert_contains "$ERR" "p4reg: warning: refused h/nothex.pt at commit ${CH:0:12}: not a Git LFS pointer: malformed oid"
assert_one_line_error "3 Git LFS pointers refused (the warnings above say why)"
assert_eq "$(db "SELECT count(*) FROM models WHERE path LIKE 'h/%'; SELECT count(*) FROM versions")" "0
5"
run 0 p4reg import git-lfs models && assert_eq "$OUT" "nothing new to import (5 changes already imported)"
run 4 p4reg --json import git-lfs h/huge.pt
assert_contains "$OUT" "\"versions\":[{\"state\":\"refused\",\"path\":\"h/huge.pt\",\"model\":null,\"version\":null,\"git_commit\":\"$CH\""
assert_contains "$OUT" '"error":"not a Git LFS pointer: malformed size"}]'

begin "a revert is a version of its own; an earlier 'p4reg add' of the same bytes is not imported twice"
lfs_repo
p4reg init >/dev/null && git add -A && commit_as Setup setup@example.com "2024-01-02T00:00:00Z" "init"
random_file m.bin 2; X=$(sha m.bin); cp m.bin "$ROOT_TMP/x"
run 0 p4reg add m.bin # before the commit: its git commit is the one before
git add m.bin && commit_as Alice alice@example.com "2024-01-03T00:00:00Z" "x"
random_file m.bin 2; Y=$(sha m.bin); git add m.bin && commit_as Alice alice@example.com "2024-01-04T00:00:00Z" "y"
cp "$ROOT_TMP/x" m.bin && git add m.bin && commit_as Bob bob@example.com "2024-01-05T00:00:00Z" "back to x"
CX2=$(git rev-parse HEAD)
run 0 p4reg import git-lfs
assert_eq "$OUT" "imported m.bin as m@2 (${Y:0:12}, 2.0 KiB) from commit $(git rev-parse --short=12 HEAD~1)
imported m.bin as m@3 (${X:0:12}, 2.0 KiB) from commit ${CX2:0:12}
imported 2 versions of 1 model (1 change already imported)"
assert_eq "$(db 'SELECT group_concat(number || substr(oid, 1, 4), " ") FROM versions')" "1${X:0:4} 2${Y:0:4} 3${X:0:4}"
run 0 p4reg import git-lfs && assert_eq "$OUT" "nothing new to import (3 changes already imported)"
# a version p4reg rm deleted was imported all the same: not again
run 0 p4reg rm m@2
run 0 p4reg import git-lfs && assert_eq "$OUT" "nothing new to import (3 changes already imported)"

begin "--since REV takes only the commits after REV; --name names the one path's model"
history5
run 0 p4reg import git-lfs --since "$CB1" --name alpha models/a.bin
assert_eq "$OUT" "imported models/a.bin as alpha@1 (${A2:0:12}, 5.0 KiB) from commit ${CA2:0:12}
imported models/a.bin as alpha@2 (${A3:0:12}, 7.0 KiB) from commit ${CA3:0:12}
imported 2 versions of 1 model"
# the rest of the history later: after the newest, as numbers never go back
run 0 p4reg import git-lfs models/a.bin
assert_eq "$OUT" "imported models/a.bin as alpha@3 (${A1:0:12}, 3.0 KiB) from commit ${CA1:0:12}
imported 1 version of 1 model (2 changes already imported)"
run 0 p4reg import git-lfs --since HEAD && assert_eq "$OUT" "no Git LFS pointer in the history of HEAD"

begin "bad arguments: one line, the documented exit code, nothing changed"
history5
before=$(snapshot)
run 2 p4reg import && assert_contains "$ERR" "p4reg: import needs a source: git-lfs or dvc"
run 2 p4reg import svn && assert_contains "$ERR" "p4reg: unknown import source 'svn' (git-lfs or dvc)"
run 2 p4reg import git-lfs --name x && assert_contains "$ERR" "p4reg: --name names the model of one PATH"
run 2 p4reg import git-lfs --name x models/a.bin models/b.bin && assert_contains "$ERR" "--name names the model of one PATH"
run 2 p4reg import git-lfs --name x models && assert_one_line_error "--name applies to one path; the history has 2 (models/a.bin, models/b.bin)"
run 2 p4reg import git-lfs --frob && assert_contains "$ERR" "unknown option '--frob'"
run 1 p4reg import git-lfs models/nothing.bin
assert_one_line_error "'models/nothing.bin' matches no Git LFS pointer in the history of HEAD"
run 2 p4reg import git-lfs /etc/passwd && assert_one_line_error "'/etc/passwd' is outside the repository"
run 1 p4reg import git-lfs --since no-such-rev && assert_one_line_error "--since 'no-such-rev' names no commit of this git repository"
run 2 p4reg import git-lfs --name 'bad name' models/a.bin && assert_one_line_error "invalid model name 'bad name'"
assert_eq "$(snapshot)" "$before" "a refused import changed something"
d=$(mktemp -d "$ROOT_TMP/nogit-XXXXXX") && cd "$d" && p4reg init >/dev/null
run 1 p4reg import git-lfs && assert_one_line_error "cannot import Git LFS history: not inside a git work tree"

begin "a path bound to another model, a name bound to another path: that model fails, nothing registered for it"
history5
random_file other/a.bin 1 && run 0 p4reg add other/a.bin # takes the name 'a'
run 1 p4reg import git-lfs
assert_contains "$OUT" "imported 2 versions of 1 model"
assert_contains "$ERR" "p4reg: warning: nothing imported for model 'a' (models/a.bin): model 'a' is bound to 'other/a.bin', not 'models/a.bin'; import 'models/a.bin' alone with --name"
assert_one_line_error "1 model not imported (the warning above says why)"
run 0 p4reg import git-lfs --name a2 models/a.bin && assert_contains "$OUT" "imported 3 versions of 1 model"

begin "--all-parents follows merged branches; first parents give the merge its changes"
lfs_repo
random_file m.bin 1; P1=$(sha m.bin); git add m.bin && commit_as A a@example.com "2024-01-02T00:00:00Z" "one"
git checkout -qb side
random_file m.bin 1; S1=$(sha m.bin); git add m.bin && commit_as B b@example.com "2024-01-03T00:00:00Z" "side one"
random_file m.bin 1; S2=$(sha m.bin); git add m.bin && commit_as B b@example.com "2024-01-04T00:00:00Z" "side two"
git checkout -q - && echo x >x.txt && git add x.txt && commit_as A a@example.com "2024-01-05T00:00:00Z" "main"
GIT_AUTHOR_DATE="2024-01-06T00:00:00Z" GIT_COMMITTER_DATE="2024-01-06T00:00:00Z" git merge -q --no-ff -m merge side
p4reg init >/dev/null
run 0 p4reg import git-lfs --dry-run
assert_eq "$OUT" "would import m.bin as m@1 (${P1:0:12}, 1.0 KiB) from commit $(git rev-parse --short=12 HEAD~1~1)
would import m.bin as m@2 (${S2:0:12}, 1.0 KiB) from commit $(git rev-parse --short=12 HEAD)
would import 2 versions of 1 model; nothing changed (dry run)"
run 0 p4reg import git-lfs --all-parents
assert_eq "$OUT" "imported m.bin as m@1 (${P1:0:12}, 1.0 KiB) from commit $(git rev-parse --short=12 HEAD~1~1)
imported m.bin as m@2 (${S1:0:12}, 1.0 KiB) from commit $(git rev-parse --short=12 side~1)
imported m.bin as m@3 (${S2:0:12}, 1.0 KiB) from commit $(git rev-parse --short=12 side)
imported 3 versions of 1 model"

begin "what an import registered travels: push to a folder remote, fetch into a clone"
history5
run 0 p4reg import git-lfs
run 0 p4reg remote add -d origin "$ROOT_TMP/remote-import"
run 0 p4reg push && assert_contains "$OUT" "5 events published"
src=$PWD
d=$(mktemp -d "$ROOT_TMP/clone-XXXXXX") && cd "$d" && git init -q . && p4reg init >/dev/null
run 0 p4reg remote add -d origin "$ROOT_TMP/remote-import"
run 0 p4reg fetch
assert_eq "$(db "SELECT number, author, v.created_ms, git_commit, message FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'b'")" \
	"$(cd "$src" && db "SELECT number, author, v.created_ms, git_commit, message FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'b'")"
assert_eq "$(p4reg cat b@1 | sha256sum | cut -d' ' -f1)" "$B1" "b@1 from the remote"

begin "--stage production=REV: a REV that names no commit, or a stage import does not set, is exit 2 and imports nothing"
history5
git tag deployed "$CA2"
before=$(snapshot)
run 2 p4reg import git-lfs --stage production=no-such-rev
assert_eq "$ERR" "p4reg: --stage production=no-such-rev: 'no-such-rev' names no commit of this git repository"
assert_eq "$OUT" ""
run 2 p4reg import git-lfs --stage development=deployed
assert_eq "$(echo "$ERR" | head -1)" "p4reg: --stage 'development=deployed': the stage is validation, staging or production"
run 2 p4reg import git-lfs --stage production
assert_eq "$(echo "$ERR" | head -1)" "p4reg: --stage takes STAGE=REV, not 'production'"
run 2 p4reg import git-lfs --stage production=deployed --stage production=HEAD
assert_eq "$(echo "$ERR" | head -1)" "p4reg: --stage production given twice: one version per stage"
run 2 p4reg import dvc --stage production=deployed
assert_eq "$(echo "$ERR" | head -1)" "p4reg: --stage goes with --history"
assert_eq "$(snapshot)" "$before" "a refused --stage changed something"
assert_eq "$(db 'SELECT count(*) FROM versions; SELECT count(*) FROM events')" "0
0"

begin "--stage production=REV: a dry run says which version it would move, and changes nothing"
run 0 p4reg import git-lfs --stage production=deployed --dry-run
assert_eq "$(echo "$OUT" | tail -2)" "would import 5 versions of 2 models; nothing changed (dry run)
would move a@2 from development to production (--stage production=deployed, commit ${CA2:0:12})"
assert_eq "$ERR" "note: --stage production=deployed: model 'b' left as it is: no version of it was registered from that commit (commit ${CA2:0:12})"
assert_eq "$(snapshot)" "$before" "the dry run changed something"

begin "--stage production=REV: the version of REV's commit is moved to production by a forced promote event"
run 0 p4reg import git-lfs --stage production=deployed
assert_eq "$(echo "$OUT" | tail -2)" "imported 5 versions of 2 models
moved a@2 from development to production (--stage production=deployed, commit ${CA2:0:12})"
assert_eq "$ERR" "note: --stage production=deployed: model 'b' left as it is: no version of it was registered from that commit (commit ${CA2:0:12})"
assert_eq "$(db "SELECT m.name || '@' || v.number, v.stage FROM versions v JOIN models m ON m.id = v.model_id ORDER BY m.name, v.number")" \
	"a@1|development
a@2|production
a@3|development
b@1|development
b@2|development"
assert_eq "$(db "SELECT m.name, v.number, e.kind, e.from_stage, e.to_stage, e.forced, e.actor, e.reason, e.detail
	FROM events e JOIN models m ON m.id = e.model_id JOIN versions v ON v.id = e.version_id WHERE e.kind != 'register'")" \
	"a|2|promote|development|production|1|Test Runner <test@example.com>|import --stage production=deployed|{\"conditions\":[],\"replaced\":null}"

begin "--stage production=REV again changes nothing; JSON says so"
before=$(snapshot)
run 0 p4reg import git-lfs --stage production=deployed
assert_eq "$OUT" "nothing new to import (5 changes already imported)
a@2 is already in production (--stage production=deployed)"
assert_eq "$(snapshot)" "$before" "a second --stage changed something"
assert_eq "$(db "SELECT count(*) FROM events WHERE kind = 'promote'")" "1"
run 0 p4reg --json import git-lfs --stage production=deployed
assert_eq "$(echo "$OUT" | jq -c '.stages')" \
	"[{\"model\":\"a\",\"version\":2,\"stage\":\"production\",\"from\":\"production\",\"rev\":\"deployed\",\"git_commit\":\"$CA2\",\"moved\":false,\"note\":null},{\"model\":\"b\",\"version\":null,\"stage\":\"production\",\"from\":null,\"rev\":\"deployed\",\"git_commit\":\"$CA2\",\"moved\":false,\"note\":\"no version of it was registered from that commit\"}]"

begin "--stage on a later import: production moves on, the one it replaces is archived"
run 0 p4reg import git-lfs --stage production=HEAD~1 --stage staging="$CB1"
assert_eq "$OUT" "nothing new to import (5 changes already imported)
moved a@3 from development to production (--stage production=HEAD~1, commit ${CA3:0:12})
moved b@1 from development to staging (--stage staging=$CB1, commit ${CB1:0:12})"
assert_eq "$(db "SELECT m.name || '@' || v.number, v.stage FROM versions v JOIN models m ON m.id = v.model_id WHERE v.stage != 'development' ORDER BY m.name, v.number")" \
	"a@2|archived
a@3|production
b@1|staging"

finish
