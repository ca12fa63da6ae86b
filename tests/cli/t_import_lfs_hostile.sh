#!/usr/bin/env bash
# p4reg import git-lfs against what a hostile repository can hand it (the
# findings of the session-8 review): a pointer that lies about its
# object's size is refused alone; an object larger than every pointer
# naming it is refused before a byte is copied; a link in .git/lfs/objects
# is never followed; two --stage moves of one commit are refused; a
# shallow clone says why its history cannot be walked; two imports at once
# register each change once.
. "$(dirname "$0")/lib.sh"

# pointer_commit PATH OID SIZE MESSAGE: a commit whose PATH is a Git LFS
# pointer blob (made without git-lfs, as any repository can).
pointer_commit() {
	local blob
	blob=$(printf 'version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %s\n' "$2" "$3" |
		git hash-object -w --stdin)
	git update-index --add --cacheinfo "100644,$blob,$1" && git commit -qm "$4" || fail "commit '$4' failed"
}

# lfs_put TEXT: TEXT as a Git LFS object; sets OID.
lfs_put() {
	OID=$(printf '%s' "$1" | sha256sum | cut -d' ' -f1)
	mkdir -p ".git/lfs/objects/${OID:0:2}/${OID:2:2}"
	printf '%s' "$1" >".git/lfs/objects/${OID:0:2}/${OID:2:2}/$OID"
}

begin "a pointer lying about its object's size is refused alone; the honest one is imported"
fresh_git_repo
lfs_put "one"
pointer_commit models/a.bin "$OID" 3 "a, honest"
pointer_commit models/b.bin "$OID" 999999 "b, same object, lying size"
run 4 p4reg import git-lfs
assert_contains "$OUT" "imported models/a.bin as a@1 (${OID:0:12}, 3 B) from commit"
assert_contains "$ERR" "p4reg: warning: refused models/b.bin at commit $(git rev-parse --short=12 HEAD): its Git LFS pointer says 999999 bytes; object ${OID:0:12} has 3"
assert_one_line_error "1 Git LFS pointer refused (the warning above says why)"
assert_eq "$(db "SELECT m.name, v.size FROM versions v JOIN models m ON m.id = v.model_id")" "a|3"
# the object is in the store now: the lie is still refused
run 4 p4reg import git-lfs && assert_contains "$ERR" "its Git LFS pointer says 999999 bytes"
assert_eq "$(db "SELECT count(*) FROM versions")" "1"

begin "an object larger than its pointer says is refused before a byte is copied"
fresh_git_repo
lfs_put "x"
truncate -s 1G ".git/lfs/objects/${OID:0:2}/${OID:2:2}/$OID" # sparse: costs nothing here
pointer_commit models/s.bin "$OID" 1 "s"
run 4 p4reg import git-lfs
assert_contains "$ERR" "nothing imported for model 's' (models/s.bin): the Git LFS pointer of 'models/s.bin' (commit $(git rev-parse --short=12 HEAD)) says 1 bytes, its object '$PWD/.git/lfs/objects/${OID:0:2}/${OID:2:2}/$OID' has 1073741824"
assert_eq "$(find .p4reg/objects .p4reg/tmp -type f | wc -l)" "0"
assert_eq "$(db "SELECT count(*) FROM versions")" "0"

begin "a link in .git/lfs/objects is never followed: the version is not downloaded"
fresh_git_repo
outside=$(mktemp -d) && printf 'PIN=4711\n' >"$outside/secret"
OID=$(sha "$outside/secret")
mkdir -p ".git/lfs/objects/${OID:0:2}/${OID:2:2}" && ln -s "$outside/secret" ".git/lfs/objects/${OID:0:2}/${OID:2:2}/$OID"
pointer_commit models/s.bin "$OID" 9 "a guess"
run 0 p4reg import git-lfs
assert_contains "$OUT" "imported models/s.bin as s@1 (${OID:0:12}, 9 B) from commit $(git rev-parse --short=12 HEAD), not downloaded"
assert_eq "$(find .p4reg/objects -type f | wc -l)" "0"
# a folder of objects/ that is a link: the same
rm -rf .git/lfs/objects/"${OID:0:2}" && mkdir -p "$outside/${OID:2:2}" && cp "$outside/secret" "$outside/${OID:2:2}/$OID"
ln -s "$outside" ".git/lfs/objects/${OID:0:2}"
run 0 p4reg import git-lfs && assert_eq "$OUT" "nothing new to import (1 change already imported)"
assert_eq "$(find .p4reg/objects -type f | wc -l)" "0"
rm -rf "$outside"

begin "two --stage moves of one commit are refused (exit 2), nothing changed"
fresh_git_repo
lfs_put "one" && pointer_commit models/a.bin "$OID" 3 "a"
git tag v1
before=$(snapshot)
run 2 p4reg import git-lfs --stage staging=v1 --stage production=HEAD
assert_one_line_error "--stage staging=v1 and --stage production=HEAD name the same commit $(git rev-parse --short=12 HEAD): a version is in one stage"
assert_eq "$(snapshot)" "$before"

begin "a shallow clone says why its history cannot be walked (exit 1)"
fresh_git_repo
lfs_put "one" && pointer_commit models/a.bin "$OID" 3 "a1"
lfs_put "two" && pointer_commit models/a.bin "$OID" 3 "a2"
src=$PWD && cd "$ROOT_TMP" && rm -rf shallow && git clone -q --depth 1 "file://$src" shallow && cd shallow
run 1 p4reg import git-lfs
assert_one_line_error "cannot walk the history of HEAD: this clone is shallow (its history stops where it was cut); 'git fetch --unshallow' brings the rest"

begin "two imports at once register each change once"
fresh_git_repo
python3 - <<'PY' | git fast-import --quiet
import hashlib, os, sys
out = sys.stdout.buffer
for c in range(60):
    out.write(b"commit refs/heads/master\nauthor A <a@b> %d +0000\ncommitter A <a@b> %d +0000\ndata 4\nc%03d\n" % (1600000000 + c, 1600000000 + c, c))
    if c == 0:
        out.write(b"from HEAD\n")
    for p in range(5):
        data = b"content %d %d\n" % (c, p)
        oid = hashlib.sha256(data).hexdigest()
        d = os.path.join(".git/lfs/objects", oid[:2], oid[2:4])
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, oid), "wb").write(data)
        ptr = b"version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (oid.encode(), len(data))
        out.write(b"M 100644 inline models/m%d.bin\ndata %d\n%s" % (p, len(ptr), ptr))
    out.write(b"\n")
PY
git reset -q --hard
p4reg import git-lfs >"$ROOT_TMP/one" 2>&1 &
p4reg import git-lfs >"$ROOT_TMP/two" 2>&1
wait $! || fail "the first import failed: $(cat "$ROOT_TMP/one")"
assert_eq "$(db "SELECT count(*), count(DISTINCT m.name || v.git_commit) FROM versions v JOIN models m ON m.id = v.model_id")" "300|300"
assert_eq "$(db "SELECT max(number) FROM versions")" "60"
run 0 p4reg fsck

finish
