#!/usr/bin/env bash
# pull writes a downloaded object once (issue 18): in copy mode the store's
# object and the work file come from one read of the remote's bytes (two
# files, two inodes), with hardlink the work file is the object (one
# inode), with reflink,copy whichever the file system does. In every mode:
# the bytes on disk, the object's fingerprint recorded (object_stat), fsck
# clean, nothing left in tmp/; a corrupt remote object or a failed fsync
# publishes nothing and leaves the work tree as it was.
. "$(dirname "$0")/lib.sh"
. "$P4REG_SRC/tests/fault/lib.sh"

R="$ROOT_TMP/remote"
A="$ROOT_TMP/A"
mkdir -p "$A" && cd "$A" && p4reg init >/dev/null || fail "init A"
p4reg remote add -d origin "$R" >/dev/null 2>&1 || fail "remote add on A"
# whole objects: the test alters one on the remote (a pack: t_chunks_remote)
p4reg config remote.origin.format 1
random_file m.bin 6144   # > 4 MiB: the threaded pipeline, O_DIRECT writes
p4reg add -q m.bin && p4reg push -q || fail "add and push v1"
V1=$(sha m.bin)
cp m.bin.p4reg "$ROOT_TMP/v1.p4reg"
random_file m.bin 5000
p4reg add -q m.bin && p4reg push -q || fail "add and push v2"
V2=$(sha m.bin)
cp m.bin.p4reg "$ROOT_TMP/v2.p4reg"

obj() { echo ".p4reg/objects/${1:0:2}/${1:2:2}/$1"; }
inode() { stat -c %i "$1"; }

# clone MODE: a fresh repository B with the remote and the pointer of m@2
# (what git would carry), core.cacheType MODE; cd into it.
clone() {
	local d
	d=$(mktemp -d "$ROOT_TMP/b-XXXXXX")
	cd "$d" && p4reg init >/dev/null || fail "init B"
	p4reg remote add -d origin "$R" >/dev/null 2>&1 || fail "remote add on B"
	p4reg config --local core.cacheType "$1" || fail "config core.cacheType $1"
	cp "$ROOT_TMP/v2.p4reg" m.bin.p4reg
}

# at_v1: the work tree holds m@1 (pulled), and the pointer of m@2 comes next
at_v1() {
	cp "$ROOT_TMP/v1.p4reg" m.bin.p4reg && p4reg pull -q || fail "pull of m@1"
	assert_eq "$(sha m.bin)" "$V1" "m@1 before the test"
	cp "$ROOT_TMP/v2.p4reg" m.bin.p4reg
}

# left_over: files a pull leaves besides its results (temporary files)
left_over() { find . -path ./.git -prune -o -name '.*.p4reg-tmp.*' -print; ls -A .p4reg/tmp | grep -v '^sync.lock$'; }

# pulled MODE: m@2 is in the work tree and in the store, recorded, fsck clean
pulled() {
	assert_eq "$(sha m.bin)" "$V2" "work file bytes ($1)"
	assert_eq "$(sha "$(obj "$V2")")" "$V2" "store object bytes ($1)"
	assert_eq "$(stat -c %a m.bin)" "$([ "$1" = hardlink ] && echo 444 || echo 644)" "work file mode ($1)"
	assert_eq "$(db "SELECT ino || ' ' || size FROM object_stat WHERE oid = '$V2'")" \
		"$(inode "$(obj "$V2")") $(stat -c %s m.bin)" "object_stat row ($1)"
	assert_eq "$(left_over)" "" "temporary files left ($1)"
	run 0 p4reg fsck && assert_contains "$OUT" "re-hashed"
}

begin "copy: one read, two files (distinct inodes)"
clone copy
run 0 p4reg pull
assert_contains "$OUT" "checked out m.bin (m@2)"
assert_contains "$OUT" "pulled from 'origin': 2 events, 1 object"
pulled copy
[ "$(inode m.bin)" != "$(inode "$(obj "$V2")")" ] || fail "copy mode: the work file is the object"
assert_eq "$(stat -c %h m.bin)" "1" "copy mode: the work file has other links"
run 0 p4reg pull && assert_contains "$OUT" "up to date m.bin"
run 0 p4reg status && assert_contains "$OUT" "m.bin"

begin "hardlink: the work file is the downloaded object (one inode)"
clone hardlink
run 0 p4reg pull
assert_contains "$OUT" "checked out m.bin (m@2)"
pulled hardlink
assert_eq "$(inode m.bin)" "$(inode "$(obj "$V2")")" "hardlink mode: another inode"

begin "reflink,copy: a clone where the file system has them, else one read and a copy"
clone reflink,copy
run 0 p4reg pull
assert_contains "$OUT" "checked out m.bin (m@2)"
pulled reflink,copy
[ "$(inode m.bin)" != "$(inode "$(obj "$V2")")" ] || fail "reflink,copy: the work file is the object"

begin "copy: an older version in the work tree is replaced; a small object too"
clone copy
at_v1
run 0 p4reg pull
assert_contains "$OUT" "checked out m.bin (m@2)"
pulled copy
run 0 p4reg checkout m@1 && assert_eq "$(sha m.bin)" "$V1" "checkout of v1 after the pull"
cd "$A" && printf 'small\n' >s.txt && p4reg add -q s.txt && p4reg push -q || fail "add and push s.txt"
cd - >/dev/null && cp "$A/s.txt.p4reg" . || fail "copy the pointer of s.txt"
run 0 p4reg pull && assert_eq "$(cat s.txt)" "small" "small object bytes"
assert_eq "$(left_over)" "" "temporary files left (small)"
run 0 p4reg fsck

begin "copy: a corrupt remote object publishes nothing, exit 4"
clone copy
at_v1
ro=$R/objects/${V2:0:2}/${V2:2:2}/$V2
cp -p "$ro" "$ROOT_TMP/good"
chmod u+w "$ro" && flip_byte "$ro" 4097
run 4 p4reg pull
assert_one_line_error "is corrupt"
assert_eq "$(sha m.bin)" "$V1" "the work file changed"
assert_no_file "$(obj "$V2")"
assert_eq "$(left_over)" "" "temporary files left (corrupt)"
cp -p "$ROOT_TMP/good" "$ro"
run 0 p4reg pull && pulled copy

begin "copy: a failed fsync of the work file or of the object publishes neither"
for filter in ".m.bin.p4reg-tmp." "/.p4reg/tmp/.fetch."; do
	clone copy
	at_v1
	P4REG_FAULT_PATH="$filter" faulty fail:fsync:1+:EIO pull >"$ROOT_TMP/out" 2>"$ROOT_TMP/err"
	CODE=$?
	ERR=$(cat "$ROOT_TMP/err")
	assert_eq "$CODE" "1" "fsync failing on '$filter': exit code"
	assert_one_line_error "Input/output error"
	assert_eq "$(sha m.bin)" "$V1" "the work file changed ($filter)"
	assert_no_file "$(obj "$V2")"
	assert_eq "$(left_over)" "" "temporary files left ($filter)"
	run 0 p4reg pull && pulled copy
done

begin "copy: a file with changes in no version is refused, nothing written beside it"
clone copy
random_file m.bin 10
mine=$(sha m.bin)
run 1 p4reg pull
assert_one_line_error "has changes that are in no version"
assert_eq "$(sha m.bin)" "$mine" "the user's file changed"
assert_eq "$(left_over)" "" "temporary files left (refused)"
run 0 p4reg pull --force && pulled copy

finish
