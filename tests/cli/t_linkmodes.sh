#!/usr/bin/env bash
# Issue 13, "bytes": no command prints success or exits 0 after writing
# bytes that differ from the version it names, whatever core.cacheType
# links work files with. A work file written in place (open+truncate+write
# as torch.save does, an r+b write, as root through 0444) must never make
# `checkout m@1` write v2's bytes: either v1's exact bytes and exit 0, or
# exit 4 naming m@1. The object guard (src/core/store/objguard.c) is what
# catches it; docs/durability.md describes it.
. "$(dirname "$0")/lib.sh"

obj_path() { echo ".p4reg/objects/${1:0:2}/${1:2:2}/$1"; }

# overwrite_shell FILE SRC: open + truncate + write, as `>` does
overwrite_shell() { chmod u+w "$1"; cat "$2" >"$1"; }
# overwrite_python FILE: an in-place write of the first bytes (r+b), the
# size unchanged, then the mtime put back: only ctime tells
overwrite_python() {
	chmod u+w "$1"
	python3 -c '
import os, sys
p = sys.argv[1]
st = os.stat(p)
with open(p, "r+b") as f:
    f.write(b"written through the link")
os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))' "$1"
}

# setup_mode MODE: a fresh repository linking work files with MODE (from
# config.local: hardlink only counts there) and m@1 = v1 at models/m.bin.
setup_mode() {
	fresh_repo
	p4reg config --local core.cacheType "$1" || fail "config $1"
	random_file models/m.bin 300
	cp models/m.bin "$ROOT_TMP/v1-$1"
	V1=$(sha models/m.bin)
	run 0 p4reg add models/m.bin
	assert_contains "$OUT" "added models/m.bin as m@1"
	random_file "$ROOT_TMP/v2-$1" 200
}

# reflink needs FICLONE where the tests run
reflink_ok=true
probe=$(mktemp -d "$ROOT_TMP/probe-XXXXXX")
head -c 4096 /dev/urandom >"$probe/a"
cp --reflink=always "$probe/a" "$probe/b" 2>/dev/null || reflink_ok=false
if ! $reflink_ok; then
	echo "t_linkmodes: skipping reflink cases: $(df -T "$ROOT_TMP" | awk 'NR==2{print $2}') at $ROOT_TMP has no FICLONE"
fi
MODES="copy hardlink"
$reflink_ok && MODES="copy reflink hardlink"

for mode in $MODES; do
	begin "$mode: a file overwritten in place, added as v2: checkout m@1 is v1's bytes or exit 4"
	setup_mode "$mode"
	overwrite_shell models/m.bin "$ROOT_TMP/v2-$mode"
	V2=$(sha models/m.bin)
	if [ "$mode" = hardlink ]; then
		# the work file is the object: the write destroyed m@1's bytes
		run 4 p4reg status
		assert_eq "$OUT" "damaged        models/m.bin (m@1)"
		assert_contains "$ERR" "p4reg: 'models/m.bin' was written in place through a hard link: the stored bytes of m@1 are destroyed (object ${V1:0:12} now hashes to ${V2:0:12}, moved to '.p4reg/quarantine/$V1')"
		assert_contains "$ERR" "not repaired"
		assert_no_file "$(obj_path "$V1")"
		assert_file ".p4reg/quarantine/$V1"
		run 4 p4reg --json status
		assert_eq "$OUT" '{"files":[{"file":"models/m.bin","state":"damaged","model":"m","version":1}]}'
	else
		run 0 p4reg status
		assert_eq "$OUT" "modified       models/m.bin (m@1)"
		assert_eq "$(sha "$(obj_path "$V1")")" "$V1" "the $mode object was touched"
	fi
	if [ "$mode" = hardlink ]; then
		# the add moves the file off m@1, whose bytes status found destroyed:
		# said once more, exit 4 (no remote), after the add is complete
		run 4 p4reg add models/m.bin
		assert_contains "$ERR" "p4reg: the stored bytes of m@1 were destroyed earlier: 'models/m.bin' was written in place through a hard link"
		assert_contains "$(cat models/m.bin.p4reg)" "version 2"
		run 0 p4reg add models/m.bin
		assert_contains "$OUT" "unchanged models/m.bin (m@2)"
	else
		run 0 p4reg add models/m.bin
	fi
	assert_eq "$(db "SELECT oid FROM versions WHERE number = 2")" "$V2"
	assert_eq "$(sha "$(obj_path "$V2")")" "$V2" "v2 has its own object with its own bytes"
	if [ "$mode" = hardlink ]; then
		run 4 p4reg checkout m@1
		assert_eq "$OUT" "" "a false 'checked out' line"
		assert_one_line_error "the stored bytes of m@1 were destroyed earlier: 'models/m.bin' was written in place through a hard link"
		assert_eq "$(sha models/m.bin)" "$V2" "the work tree changed on a refused checkout"
		assert_contains "$(cat models/m.bin.p4reg)" "version 2"
		p4reg cat m@1 >"$ROOT_TMP/catted" 2>/dev/null; assert_eq "$?" "4" "cat of a damaged version"
		assert_eq "$(stat -c %s "$ROOT_TMP/catted")" "0" "cat wrote bytes of a damaged version"
	else
		run 0 p4reg checkout m@1
		assert_eq "$OUT" "checked out models/m.bin (m@1)"
		assert_same_bytes models/m.bin "$ROOT_TMP/v1-$mode"
	fi
	run 0 p4reg checkout m@2
	assert_eq "$(sha models/m.bin)" "$V2"

	begin "$mode: an r+b write that puts the mtime back, added at once: add says what it destroyed"
	setup_mode "$mode"
	overwrite_python models/m.bin
	V2=$(sha models/m.bin)
	if [ "$mode" = hardlink ]; then
		# add finds the inode it shares with m@1's object moved: exit 4, after the add
		run 4 p4reg add models/m.bin
		assert_contains "$OUT" "added models/m.bin as m@2 (${V2:0:12}"
		assert_contains "$ERR" "p4reg: 'models/m.bin' was written in place through a hard link: the stored bytes of m@1 are destroyed"
		assert_contains "$ERR" "not repaired (no remote configured"
		assert_eq "$(db "SELECT count(*) FROM object_damage WHERE oid = '$V1' AND repaired_ms IS NULL")" "1"
		assert_eq "$(db "SELECT work_path FROM object_damage WHERE oid = '$V1'")" "models/m.bin"
		run 4 p4reg checkout m@1
		assert_eq "$OUT" ""
		assert_contains "$ERR" "m@1"
		assert_eq "$(sha models/m.bin)" "$V2"
		# fsck and show report the damaged version
		run 4 p4reg fsck
		assert_contains "$OUT" "damaged-object: object $V1 of m@1 is damaged: its bytes changed in place (they hashed to $V2); 'models/m.bin' wrote into it through a hard link; the bad copy is in '.p4reg/quarantine/$V1'"
		run 0 p4reg show m@1
		assert_contains "$OUT" "damaged:  its stored bytes changed in place (they hashed to ${V2:0:12}) and are in '.p4reg/quarantine/$V1'"
		run 0 p4reg --json show m@1
		assert_contains "$OUT" '"stored":false,"damaged":true'
		# adding the original bytes again brings m@1 back
		cp "$ROOT_TMP/v1-$mode" restore.bin
		run 0 p4reg add -n restore restore.bin
		assert_eq "$(sha "$(obj_path "$V1")")" "$V1"
		run 0 p4reg checkout m@1
		assert_same_bytes models/m.bin "$ROOT_TMP/v1-$mode"
		run 0 p4reg fsck
	else
		run 0 p4reg add models/m.bin
		assert_eq "$ERR" "note: not inside a git work tree; git features skipped, nothing staged"
		run 0 p4reg checkout m@1
		assert_same_bytes models/m.bin "$ROOT_TMP/v1-$mode"
		run 0 p4reg fsck
	fi
done

begin "hardlink: status lists a destroyed file even when its object cannot be moved out"
setup_mode hardlink
random_file other.bin 1
p4reg add -q other.bin 2>/dev/null
# a quarantine nobody may write into: chattr +i stops root too
mkdir .p4reg/quarantine
locked=true
if [ "$(id -u)" = 0 ]; then
	chattr +i .p4reg/quarantine 2>/dev/null || locked=false
	unlock() { chattr -i .p4reg/quarantine; }
else
	chmod 555 .p4reg/quarantine
	unlock() { chmod 755 .p4reg/quarantine; }
fi
if ! $locked; then
	echo "t_linkmodes: skipping the unmovable-object case: chattr +i is not permitted here"
else
	overwrite_shell models/m.bin "$ROOT_TMP/v2-hardlink"
	run 4 p4reg status
	assert_eq "$OUT" "damaged        models/m.bin (m@1)
clean          other.bin (other@1)"
	assert_contains "$ERR" "p4reg: warning: 'models/m.bin' was written in place through a hard link: the stored bytes of m@1 are destroyed"
	assert_contains "$ERR" "they cannot be moved out of the store"
	assert_contains "$ERR" "p4reg: stored bytes that changed in place could not be moved out of the store (see above)"
	run 4 p4reg --json status
	assert_eq "$(printf '%s\n' "$OUT" | wc -l)" "1" "one JSON document"
	assert_contains "$OUT" '"state":"damaged"'
	# nothing serves those bytes: checkout refuses, exit 4
	run 4 p4reg checkout --force m@1
	assert_eq "$OUT" ""
	assert_contains "$ERR" "they cannot be moved out of the store"
	unlock
fi

begin "hardlink: with a remote that has v1, add repairs the destroyed version and says so"
setup_mode hardlink
run 0 p4reg remote add origin "$ROOT_TMP/remote-add"
run 0 p4reg push
overwrite_python models/m.bin
V2=$(sha models/m.bin)
run 0 p4reg add models/m.bin
assert_contains "$OUT" "added models/m.bin as m@2"
assert_contains "$ERR" "p4reg: warning: 'models/m.bin' was written in place through a hard link: the stored bytes of m@1 are destroyed (object ${V1:0:12} now hashes to ${V2:0:12}, moved to '.p4reg/quarantine/$V1'); repaired m@1 from remote 'origin'"
assert_eq "$(sha "$(obj_path "$V1")")" "$V1"
assert_eq "$(db "SELECT repaired_from FROM object_damage WHERE oid = '$V1'")" "remote 'origin'"
run 0 p4reg checkout m@1
assert_eq "$OUT" "checked out models/m.bin (m@1)"
assert_same_bytes models/m.bin "$ROOT_TMP/v1-hardlink"
run 0 p4reg fsck

begin "hardlink: with a remote that has v1, checkout repairs it, says so, and writes v1"
setup_mode hardlink
run 0 p4reg remote add origin "$ROOT_TMP/remote-co"
run 0 p4reg push
overwrite_shell models/m.bin "$ROOT_TMP/v2-hardlink"
# the new bytes are in no version: checkout keeps them unless --force ...
run 1 p4reg checkout m@1
assert_contains "$ERR" "repaired m@1 from remote 'origin'"
assert_contains "$ERR" "has changes that are in no version"
assert_eq "$OUT" ""
# ... and the repaired object is what --force writes
run 0 p4reg checkout --force m@1
assert_eq "$OUT" "checked out models/m.bin (m@1)"
assert_same_bytes models/m.bin "$ROOT_TMP/v1-hardlink"
run 0 p4reg fsck

begin "hardlink: status sees it first, add v2 repairs m@1 from the remote, checkout m@1 is v1"
setup_mode hardlink
run 0 p4reg remote add origin "$ROOT_TMP/remote-v2"
run 0 p4reg push
overwrite_shell models/m.bin "$ROOT_TMP/v2-hardlink"
run 4 p4reg status
run 0 p4reg add models/m.bin
assert_contains "$OUT" "added models/m.bin as m@2"
assert_contains "$ERR" "repaired m@1 from remote 'origin'"
run 0 p4reg checkout m@1
assert_eq "$OUT" "checked out models/m.bin (m@1)"
assert_same_bytes models/m.bin "$ROOT_TMP/v1-hardlink"
run 0 p4reg status
assert_eq "$OUT" "clean          models/m.bin (m@1)"

begin "hardlink: pull repairs a damaged object and checks out the pointer's version"
setup_mode hardlink
run 0 p4reg remote add origin "$ROOT_TMP/remote-pull"
run 0 p4reg push
overwrite_python models/m.bin
run 0 p4reg pull --force
assert_contains "$ERR" "repaired m@1 from remote 'origin'"
assert_contains "$OUT" "checked out models/m.bin (m@1)"
assert_same_bytes models/m.bin "$ROOT_TMP/v1-hardlink"

begin "hardlink: rollback refuses a damaged target before the registry changes"
setup_mode hardlink
rm models/m.bin
random_file models/m.bin 50
run 0 p4reg add models/m.bin
run 0 p4reg promote m@1 --to validation
run 0 p4reg promote m@1 --to staging
run 0 p4reg promote m@1 --to production
run 0 p4reg promote m@2 --to validation
run 0 p4reg promote m@2 --to staging
run 0 p4reg promote m@2 --to production
# m@1's object is no longer linked to the work file: damage it directly
o=$(obj_path "$V1")
chmod u+w "$o"; flip_byte "$o" 3
run 4 p4reg rollback m
assert_contains "$ERR" "the stored bytes of m@1 changed in place"
assert_eq "$(db "SELECT number FROM versions WHERE stage = 'production'")" "2" "rollback recorded"

begin "copy: an object whose fingerprint is unknown (an upgraded repository) is re-hashed once"
setup_mode copy
random_file models/m.bin 100
run 0 p4reg add models/m.bin
sqlite3 .p4reg/registry.db "DELETE FROM object_stat"
run 0 p4reg checkout m@1
assert_same_bytes models/m.bin "$ROOT_TMP/v1-copy"
assert_eq "$(db "SELECT count(*) FROM object_stat WHERE oid = '$V1'")" "1" "fingerprint recorded after the re-hash"

begin "hardlink: the fingerprint follows p4reg's own link(2) and stays fast"
setup_mode hardlink
rm models/m.bin
random_file models/m.bin 100
run 0 p4reg add models/m.bin
run 0 p4reg checkout m@1
[ "$(stat -c %i models/m.bin)" = "$(stat -c %i "$(obj_path "$V1")")" ] || fail "not a hard link"
assert_eq "$(db "SELECT ctime_ns FROM object_stat WHERE oid = '$V1'")" \
	"$(python3 -c 'import os,sys; print(os.stat(sys.argv[1]).st_ctime_ns)' "$(obj_path "$V1")")" \
	"the ctime the link moved is recorded"
ctime_ns() { python3 -c 'import os,sys; print(os.stat(sys.argv[1]).st_ctime_ns)' "$1"; }
run 0 p4reg checkout m@2
# replacing the work file unlinked m@1's object: that ctime is recorded too
assert_eq "$(db "SELECT ctime_ns FROM object_stat WHERE oid = '$V1'")" "$(ctime_ns "$(obj_path "$V1")")" \
	"the ctime the replace moved is recorded"
run 0 p4reg checkout m@1
assert_not_contains "$ERR" "in place"
assert_eq "$(db "SELECT count(*) FROM object_damage")" "0"
run 0 p4reg fsck

begin "hardlink as root: one warning line per command; copy: none"
setup_mode hardlink
rm models/m.bin
random_file models/m.bin 20
run 0 p4reg add models/m.bin
if [ "$(id -u)" = 0 ]; then
	assert_eq "$(printf '%s\n' "$ERR" | grep -c 'core.cacheType hardlink as root')" "1"
else
	assert_not_contains "$ERR" "hardlink as root"
fi
run 0 p4reg checkout m@1
if [ "$(id -u)" = 0 ]; then
	assert_eq "$ERR" "p4reg: warning: core.cacheType hardlink as root: a write to a checked-out file changes the stored version too (the read-only bit does not stop root); p4reg re-hashes such objects before use, but only a remote or reflink/copy keeps a second copy"
fi
setup_mode copy
run 0 p4reg checkout m@1
assert_not_contains "$ERR" "hardlink as root"

begin "the default order tries reflink first and falls back to copy silently"
fresh_repo
random_file m.bin 64
run 0 p4reg add m.bin
assert_eq "$ERR" "note: not inside a git work tree; git features skipped, nothing staged"
o=$(obj_path "$(sha m.bin)")
[ "$(stat -c %i m.bin)" != "$(stat -c %i "$o")" ] || fail "default order hard-linked"
rm m.bin
run 0 p4reg checkout m.bin
assert_eq "$ERR" ""


begin "hardlink: push finds the object written in place before any upload, names m@1, exit 4"
setup_mode hardlink
random_file other.bin 4
p4reg add -q other.bin 2>/dev/null
R="$ROOT_TMP/remote-push-bad"
run 0 p4reg remote add origin "$R"
overwrite_python models/m.bin
V2=$(sha models/m.bin)
run 4 p4reg push
assert_eq "$OUT" ""
assert_one_line_error "cannot push to 'origin', nothing was pushed: the stored bytes of m@1 changed in place (object ${V1:0:12} now hashes to ${V2:0:12}, moved to '.p4reg/quarantine/$V1'); not repaired (remote 'origin' does not have it): 'p4reg fsck --repair' fetches m@1 once a remote has it, or add the original file again"
assert_eq "$(printf '%s\n' "$ERR" | wc -l)" "1"
# quarantined and marked; nothing of any version reached the remote
assert_no_file "$(obj_path "$V1")"
assert_file ".p4reg/quarantine/$V1"
assert_eq "$(db "SELECT count(*) FROM object_damage WHERE oid = '$V1' AND repaired_ms IS NULL")" "1"
assert_eq "$(find "$R" -type f -path '*objects*' | wc -l)" "0" "objects uploaded"
assert_eq "$(find "$R" -type f -path '*log*' | wc -l)" "0" "events published"
# again: the mark (not the bytes, now in quarantine) refuses it, as JSON too
run 4 p4reg --json push
assert_contains "$OUT" '{"error":{"code":"integrity",'
assert_contains "$OUT" "cannot push to 'origin', nothing was pushed: the stored bytes of m@1 were found damaged earlier (object ${V1:0:12} hashed to ${V2:0:12}"
assert_eq "$(find "$R" -type f -path '*objects*' | wc -l)" "0" "objects uploaded"
# the way out the message names: the original bytes added again
cp "$ROOT_TMP/v1-hardlink" restore.bin
run 0 p4reg add -n restore restore.bin
run 0 p4reg push
assert_eq "$(sha "$R/objects/${V1:0:2}/${V1:2:2}/$V1")" "$V1"
run 0 p4reg fsck

begin "hardlink: push repairs a destroyed object from the remote that has it; --allow-missing publishes one it lacks"
setup_mode hardlink
R="$ROOT_TMP/remote-push-repair"
run 0 p4reg remote add origin "$R"
run 0 p4reg push
overwrite_python models/m.bin
V2=$(sha models/m.bin)
run 0 p4reg push
assert_eq "$ERR" "p4reg: warning: the stored bytes of m@1 changed in place (object ${V1:0:12} now hashes to ${V2:0:12}, moved to '.p4reg/quarantine/$V1'); repaired m@1 from remote 'origin'"
assert_eq "$(sha "$(obj_path "$V1")")" "$V1"
assert_eq "$(sha "$R/objects/${V1:0:2}/${V1:2:2}/$V1")" "$V1"
assert_eq "$(db "SELECT repaired_from FROM object_damage WHERE oid = '$V1'")" "remote 'origin'"
# a version whose bytes are destroyed here and nowhere else: --allow-missing publishes it, warned
setup_mode hardlink
R="$ROOT_TMP/remote-push-missing"
run 0 p4reg remote add origin "$R"
overwrite_python models/m.bin
run 0 p4reg push --allow-missing
assert_eq "$ERR" "p4reg: warning: published m@1 sha256:$V1 without its object: it is neither here nor on remote 'origin'"
assert_eq "$(find "$R" -type f -path '*objects*' | wc -l)" "0" "wrong bytes uploaded"

begin "add of a Git LFS path: the ctime its .git/lfs hard link moved is recorded (no re-hash later)"
fresh_git_repo
run 0 p4reg track '*.bin'
random_file m.bin 64
oid=$(sha m.bin)
run 0 p4reg add m.bin
[ "$(stat -c %i ".git/lfs/objects/${oid:0:2}/${oid:2:2}/$oid")" = "$(stat -c %i "$(obj_path "$oid")")" ] ||
	fail ".git/lfs object not hard-linked"
assert_eq "$(db "SELECT ctime_ns FROM object_stat WHERE oid = '$oid'")" \
	"$(python3 -c 'import os,sys; print(os.stat(sys.argv[1]).st_ctime_ns)' "$(obj_path "$oid")")" \
	"the ctime the .git/lfs link moved is recorded"

finish
