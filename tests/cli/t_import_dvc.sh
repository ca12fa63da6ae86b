#!/usr/bin/env bash
# p4reg import dvc against a DVC fixture this test writes itself, laid out
# as DVC does (a .dvc file beside each output, the bytes in .dvc/cache by
# the MD5 md5sum gives, in DVC 3's files/md5/ layout or DVC 2's): the
# outputs registered with their bytes stored by SHA-256, a second import
# adds nothing, a dry run changes nothing, --history registers every commit
# that changed a .dvc file with its author, date and subject, a corrupt
# cache entry registers nothing for its model (exit 4), a missing one is
# refused (exit 1), hostile .dvc files are refused
# with one line (exit 4), and --write-pointers writes and stages pointers.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/dvc_fixture.sh"

begin "import dvc registers the work tree's outputs, bytes stored by SHA-256; a dry run changes nothing"
dvc_repo
before=$(snapshot)
run 0 p4reg import dvc --dry-run
assert_eq "$OUT" "would import models/a.bin as a@1 (${A:0:12}, 17 B) from models/a.bin.dvc
would import models/b.bin as b@1 (${B:0:12}, 12 B) from models/b.bin.dvc
would import 2 versions of 2 models; nothing changed (dry run)"
assert_eq "$(snapshot)" "$before" "the dry run changed something"
assert_eq "$(find .p4reg/objects -type f | wc -l)" "0"
run 0 p4reg import dvc
assert_eq "$OUT" "imported models/a.bin as a@1 (${A:0:12}, 17 B) from models/a.bin.dvc
imported models/b.bin as b@1 (${B:0:12}, 12 B) from models/b.bin.dvc
imported 2 versions of 2 models"
assert_eq "$ERR" ""
assert_eq "$(sha "$(store_object "$A")")" "$A"
assert_eq "$(sha "$(store_object "$B")")" "$B"
assert_eq "$(db "SELECT m.name, v.number, v.oid, v.size, v.message, v.author, v.git_commit FROM versions v
	JOIN models m ON m.id = v.model_id ORDER BY m.name")" \
"a|1|$A|17|imported from models/a.bin.dvc|Test Runner <test@example.com>|$(git rev-parse HEAD)
b|1|$B|12|imported from models/b.bin.dvc|Test Runner <test@example.com>|$(git rev-parse HEAD)"
# the .dvc files stay as they were, no pointer is written
assert_eq "$(git status --porcelain --untracked-files=no)" ""
assert_no_file models/a.bin.p4reg

begin "a second import adds nothing"
before=$(snapshot)
run 0 p4reg import dvc && assert_eq "$OUT" "nothing new to import (2 outputs already registered)"
assert_eq "$(snapshot)" "$before"
run 0 p4reg --json import dvc models/b.bin.dvc
assert_eq "$OUT" '{"source":"dvc","dry_run":false,"versions":[],"failed":[],"registered":0,"models":0,"not_downloaded":0,"stored":0,"refused":0,"already_imported":1,"pointers":0}'

begin "--history: every commit that changed a .dvc file, its author, date and subject; then nothing new"
dvc_repo
C1=$(git rev-parse HEAD)
dvc_put models/a.bin "weights of a, two"; A2=$(sha models/a.bin)
git add models/a.bin.dvc && commit_as Eve "2024-06-01T12:00:00Z" "retrain a"
C2=$(git rev-parse HEAD)
dvc_put models/a.bin "weights of a, three" 2; A3=$(sha models/a.bin)
git add models/a.bin.dvc && commit_as Dee "2024-07-01T08:30:00Z" "a: more data"
C3=$(git rev-parse HEAD)
run 0 p4reg import dvc --history
assert_eq "$OUT" "imported models/a.bin as a@1 (${A:0:12}, 17 B) from models/a.bin.dvc at commit ${C1:0:12}
imported models/a.bin as a@2 (${A2:0:12}, 17 B) from models/a.bin.dvc at commit ${C2:0:12}
imported models/a.bin as a@3 (${A3:0:12}, 19 B) from models/a.bin.dvc at commit ${C3:0:12}
imported models/b.bin as b@1 (${B:0:12}, 12 B) from models/b.bin.dvc at commit ${C1:0:12}
imported 4 versions of 2 models"
assert_eq "$(db "SELECT number, author, v.created_ms, git_commit, message FROM versions v JOIN models m ON m.id = v.model_id
	WHERE m.name = 'a' ORDER BY number")" \
"1|Dee <dee@example.com>|1714557600000|$C1|dvc add a b
2|Eve <eve@example.com>|1717243200000|$C2|retrain a
3|Dee <dee@example.com>|1719822600000|$C3|a: more data"
assert_eq "$(db "SELECT detail FROM events WHERE version_id = (SELECT id FROM versions WHERE number = 3)")" \
	'{"import":"dvc","by":"Test Runner <test@example.com>"}'
for o in "$A" "$A2" "$A3" "$B"; do assert_eq "$(sha "$(store_object "$o")")" "$o"; done
before=$(snapshot)
run 0 p4reg import dvc --history && assert_eq "$OUT" "nothing new to import (4 outputs already registered)"
run 0 p4reg import dvc && assert_eq "$OUT" "nothing new to import (2 outputs already registered)"
assert_eq "$(snapshot)" "$before"
run 0 p4reg import dvc --history --since "$C2" --dry-run
assert_eq "$OUT" "nothing new to import (1 output already registered); nothing changed (dry run)"

begin "the work tree's import first, then --history: the same bytes are not registered twice"
dvc_repo
dvc_put models/a.bin "weights of a, two"; A2=$(sha models/a.bin)
git add models/a.bin.dvc && commit_as Eve "2024-06-01T12:00:00Z" "retrain a"
echo x >notes.txt && git add notes.txt && commit_as Eve "2024-06-02T12:00:00Z" "notes" # HEAD changes no .dvc
run 0 p4reg import dvc
run 0 p4reg import dvc --history
assert_eq "$OUT" "imported models/a.bin as a@2 (${A:0:12}, 17 B) from models/a.bin.dvc at commit $(git rev-parse --short=12 HEAD~2)
imported 1 version of 1 model (2 outputs already registered)"

begin "a corrupt cache entry: exit 4, nothing registered for its model, the others imported"
dvc_repo
printf 'weights of a, ONE' >".dvc/cache/files/md5/${AMD5:0:2}/${AMD5:2}"
run 4 p4reg import dvc
assert_eq "$OUT" "imported models/b.bin as b@1 (${B:0:12}, 12 B) from models/b.bin.dvc
imported 1 version of 1 model"
assert_contains "$ERR" "p4reg: warning: nothing imported for model 'a' (models/a.bin): DVC cache entry '.dvc/cache/files/md5/${AMD5:0:2}/${AMD5:2}' of 'models/a.bin' is corrupt: its MD5 is $(printf 'weights of a, ONE' | md5sum | cut -d' ' -f1), not $AMD5"
assert_one_line_error "1 model not imported (the warning above says why)"
assert_eq "$(db "SELECT count(*) FROM models WHERE name = 'a'")" "0"
# a size that is not the .dvc file's is as wrong
printf 'weights of a, one!' >".dvc/cache/files/md5/${AMD5:0:2}/${AMD5:2}"
run 4 p4reg import dvc && assert_contains "$ERR" "is corrupt: its MD5 is"
cp models/a.bin ".dvc/cache/files/md5/${AMD5:0:2}/${AMD5:2}"
run 0 p4reg import dvc && assert_contains "$OUT" "imported models/a.bin as a@1"

begin "an output not in the cache: refused (exit 1), the rest imported"
dvc_repo
dvc_put models/c.bin "never cached" none
run 1 p4reg import dvc
assert_contains "$OUT" "imported 2 versions of 2 models"
C=$(md5sum models/c.bin | cut -d' ' -f1)
assert_contains "$ERR" "p4reg: warning: refused models/c.bin (models/c.bin.dvc): not in the DVC cache ('.dvc/cache/files/md5/${C:0:2}/${C:2}' nor the older layout): 'dvc fetch' (with --all-commits for history) brings it"
assert_one_line_error "1 .dvc entry refused (the warning above says why)"
assert_eq "$(db "SELECT count(*) FROM models WHERE name = 'c'")" "0"

begin "hostile .dvc files are refused with one line each, exit 4, nothing registered for them"
dvc_repo
mkdir -p h
printf 'outs: [\n' >h/notyaml.dvc
printf 'outs:\n- md5: ../../../../etc/passwd\n  path: x\n' >h/badmd5.dvc
printf 'outs:\n- md5: %s\n  path: ../../../etc/passwd\n' "$AMD5" >h/escape.dvc
printf 'outs:\n- md5: %s\n  path: .git/config\n' "$AMD5" >h/gitdir.dvc
printf 'outs:\n- md5: %s\n  path: x\n  size: 99999999999999999999\n' "$AMD5" >h/size.dvc
before_models=$(db 'SELECT count(*) FROM models')
run 4 p4reg import dvc h
assert_eq "$OUT" "nothing imported"
assert_contains "$ERR" "p4reg: warning: refused h/notyaml.dvc: invalid .dvc file: not YAML"
assert_contains "$ERR" "p4reg: warning: refused h/badmd5.dvc: invalid .dvc file: 'md5' is not 32 lowercase hex digits"
assert_contains "$ERR" "p4reg: warning: refused h/escape.dvc: its output '../../../etc/passwd' is outside the repository"
assert_contains "$ERR" "p4reg: warning: refused h/size.dvc: invalid .dvc file: 'size' is not a count of bytes"
assert_contains "$ERR" "p4reg: warning: nothing imported for h/.git/config: 'h/.git/config' cannot be a model's path"
assert_one_line_error "1 model not imported, 4 .dvc entries refused (the warnings above say why)"
assert_eq "$(db 'SELECT count(*) FROM models')" "$before_models"

begin "--write-pointers: a pointer beside each output, staged; the .dvc file stays"
dvc_repo
dvc_before=$(sha models/a.bin.dvc)
run 0 p4reg import dvc --write-pointers models/a.bin.dvc
assert_eq "$OUT" "imported models/a.bin as a@1 (${A:0:12}, 17 B) from models/a.bin.dvc
imported 1 version of 1 model; 1 pointer written"
assert_eq "$(sed -n 's/^oid sha256://p' models/a.bin.p4reg)" "$A"
assert_eq "$(git status --porcelain --untracked-files=no)" "A  models/a.bin.p4reg"
assert_eq "$(sha models/a.bin.dvc)" "$dvc_before"
assert_eq "$(grep -c '^/a.bin$' models/.gitignore)" "1"
run 0 p4reg status && assert_eq "$OUT" "clean          models/a.bin (a@1)"
run 0 p4reg --json import dvc --write-pointers models/a.bin.dvc
assert_contains "$OUT" '"already_imported":1,"pointers":1}'

begin "outside git: the work tree's outputs, pointers written, nothing to stage"
fresh_repo
mkdir -p .dvc/cache
dvc_put m.bin "plain bytes"
run 0 p4reg import dvc --write-pointers
assert_eq "$OUT" "imported m.bin as m@1 ($(sha m.bin | cut -c1-12), 11 B) from m.bin.dvc
imported 1 version of 1 model; 1 pointer written"
assert_file m.bin.p4reg
run 1 p4reg import dvc --history && assert_one_line_error "import dvc --history reads git's history: not inside a git work tree"

begin "bad arguments: one line, the documented exit code, nothing changed"
dvc_repo
before=$(snapshot)
run 2 p4reg import dvc --since HEAD && assert_contains "$ERR" "p4reg: --since goes with --history"
run 2 p4reg import git-lfs --history && assert_contains "$ERR" "p4reg: --history goes with 'import dvc'"
run 2 p4reg import dvc --dry-run --write-pointers && assert_contains "$ERR" "--write-pointers writes files: not with --dry-run"
run 2 p4reg import dvc --name x && assert_contains "$ERR" "--name names the model of one FILE.dvc"
run 2 p4reg import dvc --name x models && assert_one_line_error "--name applies to one output; the .dvc files name 2 (models/a.bin, models/b.bin)"
run 2 p4reg import dvc models/a.bin && assert_one_line_error "'models/a.bin' is not a .dvc file"
run 1 p4reg import dvc models/nothing.dvc && assert_one_line_error "'models/nothing.dvc' does not exist"
run 1 p4reg import dvc --history models/nothing.dvc && assert_one_line_error "'models/nothing.dvc' matches no .dvc file in the history of HEAD"
assert_eq "$(snapshot)" "$before" "a refused import changed something"

begin "--name names the one output's model"
run 0 p4reg import dvc --name alpha models/a.bin.dvc && assert_contains "$OUT" "imported models/a.bin as alpha@1"

begin "--history: a DVC cache behind a symbolic link of the work tree is never read"
dvc_repo
outside=$(mktemp -d) && mkdir -p "$outside/.dvc" && cp -r .dvc/cache "$outside/.dvc/"
mkdir -p sub && cp models/a.bin.dvc sub/ && git add sub && commit_as Dee "2024-05-02T10:00:00Z" "sub"
git rm -rq sub && ln -s "$outside" sub && git add sub && commit_as Dee "2024-05-03T10:00:00Z" "sub is a link"
# the only copy of a's bytes is behind the link: sub/.dvc is not followed,
# the repository's own .dvc/cache lacks them
rm -rf .dvc/cache/files
run 1 p4reg import dvc --history sub/a.bin.dvc
assert_contains "$ERR" "p4reg: warning: refused sub/a.bin (sub/a.bin.dvc) at commit $(git rev-parse --short=12 HEAD~1): not in the DVC cache ('.dvc/cache/files/md5/${AMD5:0:2}/${AMD5:2}' nor the older layout)"
assert_eq "$(db "SELECT count(*) FROM versions")" "0"
# a cache folder that is itself a link is not followed either
rm -rf .dvc/cache && ln -s "$outside/.dvc/cache" .dvc/cache
run 1 p4reg import dvc models/a.bin.dvc
assert_contains "$ERR" "no DVC cache at '.dvc/cache' ('dvc fetch' fills it; --dvc-cache names another)"
assert_eq "$(db "SELECT count(*) FROM versions")" "0"
# named by the user, it is read
run 0 p4reg import dvc --dvc-cache "$outside/.dvc/cache" models/a.bin.dvc
assert_eq "$OUT" "imported models/a.bin as a@1 (${A:0:12}, 17 B) from models/a.bin.dvc
imported 1 version of 1 model"
rm -rf "$outside"

begin "--history: a commit whose author a push would refuse is refused alone (exit 4), the others imported"
dvc_repo
dvc_put models/a.bin "weights of a, two"
git add models && GIT_AUTHOR_NAME=$(head -c 70000 /dev/zero | tr '\0' x) git commit -qm "long author"
run 4 p4reg import dvc --history models/a.bin.dvc
assert_contains "$ERR" "p4reg: warning: refused models/a.bin (models/a.bin.dvc) at commit $(git rev-parse --short=12 HEAD): the author is too long (70016 bytes; an event that travels to a remote holds at most 65536)"
assert_one_line_error "1 .dvc entry refused (the warning above says why)"
assert_eq "$(db "SELECT count(*) FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'a'")" "1"

finish
