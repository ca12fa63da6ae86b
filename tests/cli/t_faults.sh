#!/usr/bin/env bash
# Faults: write, fsync and rename failing with ENOSPC or EIO (an LD_PRELOAD
# shim, tests/fault/faultshim.c) give one clear error line, exit 1, and
# leave the previous state intact (or, for a failure after the registry
# committed, the new state with fsck clean and a rerun that finishes).
. "$(dirname "$0")/lib.sh"
. "$P4REG_SRC/tests/fault/lib.sh"

# expect_fail SPEC PATHFILTER MESSAGE CMD...: exit 1, one error line
# containing MESSAGE, no sanitizer report.
expect_fail() {
	local spec=$1 filter=$2 msg=$3
	shift 3
	P4REG_FAULT_PATH="$filter" faulty "$spec" "$@" >"$ROOT_TMP/out" 2>"$ROOT_TMP/err"
	CODE=$?
	ERR=$(cat "$ROOT_TMP/err")
	[ "$CODE" = 1 ] || fail "'$spec' on '$filter': exit $CODE, expected 1; stderr: $ERR"
	assert_eq "$(printf '%s\n' "$ERR" | grep -v '^note:' | wc -l)" "1" "error is not one line"
	assert_one_line_error "$msg"
	assert_not_contains "$ERR" "Sanitizer"
}

setup() {
	fresh_repo
	random_file m.bin 64 && p4reg add -q m.bin
	random_file m.bin 5120   # > 4 MiB: written by the store's writer thread
	old=$(state)
}

begin "add: ENOSPC writing the object"
setup
expect_fail fail:write:1+:ENOSPC /.p4reg/tmp/ "No space left on device" add m.bin
assert_contains "$ERR" "cannot write"
assert_eq "$(state)" "$old" "registry changed"
assert_eq "$(ls -A .p4reg/tmp)" "" "a temporary object was left behind"
assert_eq "$(find .p4reg/objects -type f | wc -l)" "1" "an object appeared"
run 0 p4reg fsck
run 0 p4reg add -q m.bin && run 0 p4reg fsck

begin "add: EIO on the object's fsync, on its rename, on its folder's fsync"
setup
expect_fail fail:fsync:1:EIO /.p4reg/tmp/ "cannot fsync" add m.bin
assert_contains "$ERR" "Input/output error"
assert_eq "$(state)" "$old" "registry changed"
expect_fail fail:rename:1:EIO /.p4reg/tmp/ "cannot rename" add m.bin
assert_eq "$(state)" "$old" "registry changed"
assert_eq "$(ls -A .p4reg/tmp)" "" "a temporary object was left behind"
expect_fail fail:fsync:1:EIO /.p4reg/objects/ "cannot fsync folder" add m.bin
# the object is in place (renamed) but was never registered: harmless, gc's
assert_eq "$(state)" "$old" "registry changed"
run 0 p4reg fsck
run 0 p4reg add -q m.bin && run 0 p4reg fsck

begin "add: the registry's commit fails (ENOSPC on the WAL, EIO on its fsync)"
setup
expect_fail fail:write:1+:ENOSPC registry.db-wal "registry" add m.bin
assert_eq "$(state)" "$old" "registry changed"
expect_fail fail:fsync:1:EIO registry.db-wal "registry" add m.bin
assert_eq "$(state)" "$old" "registry changed"
run 0 p4reg fsck
run 0 p4reg add -q m.bin && run 0 p4reg fsck

begin "add: the pointer cannot be written after the registry committed"
setup
expect_fail fail:rename:1:EIO m.bin.p4reg "m.bin.p4reg" add m.bin
# the version is registered; the pointer still names the old one (valid)
run 0 p4reg fsck
run 0 p4reg add m.bin && assert_contains "$OUT" "unchanged m.bin (m@2)"
assert_contains "$(cat m.bin.p4reg)" "version 2"
run 0 p4reg fsck

begin "promote and log-metric: the registry's commit fails"
setup
p4reg add -q m.bin
old=$(state)
expect_fail fail:write:1+:ENOSPC registry.db-wal "registry" promote m@2 --to validation
assert_eq "$(state)" "$old" "registry changed"
expect_fail fail:fsync:1:EIO registry.db-wal "registry" promote m@2 --to validation
assert_eq "$(state)" "$old" "registry changed"
expect_fail fail:write:1+:EIO registry.db-wal "registry" log-metric m@2 f1=0.8
assert_eq "$(state)" "$old" "registry changed"
run 0 p4reg fsck
run 0 p4reg promote -q m@2 --to validation
run 0 p4reg log-metric -q m@2 f1=0.8

begin "rollback: the work tree file cannot be written after the commit"
setup
p4reg add -q m.bin
p4reg promote -q m@1 --to production --force && p4reg promote -q m@2 --to production --force
before=$(sha m.bin)
expect_fail fail:write:1+:ENOSPC m.bin.p4reg-tmp "No space left on device" rollback m
assert_eq "$(sha m.bin)" "$before" "work tree file damaged"
assert_eq "$(db "SELECT number FROM versions WHERE stage='production'")" "1"
run 0 p4reg fsck
run 0 p4reg checkout m@production
assert_eq "$(sha m.bin)" "$(db "SELECT oid FROM versions WHERE number=1")"

begin "push: EIO on the fsync of a new folder on a folder remote"
setup
p4reg remote add origin "$ROOT_TMP/fremote" >/dev/null 2>&1 || fail "remote add"
expect_fail fail:fsync:1:EIO "/fremote/objects" "Input/output error" push
assert_contains "$ERR" "cannot fsync '$ROOT_TMP/fremote/objects"
assert_eq "$(find "$ROOT_TMP/fremote/objects" -type f | wc -l)" "0" "an object was published"
assert_eq "$(find "$ROOT_TMP/fremote/log" -type f 2>/dev/null | wc -l)" "0" "a batch was published"
run 0 p4reg push && assert_contains "$OUT" "1 object"
rm -rf "$ROOT_TMP/fremote"

begin "every write, fsync and rename of add failing in turn"
setup
tpl=$PWD
count_points add -q m.bin
rm -rf "$ROOT_TMP/w"
for op in fsync rename write; do
	total_var="POINTS_$op"
	stride=2; [ "$op" = write ] && stride=5
	for n in $(points "${!total_var}" "$stride"); do
		CURRENT="sweep fail:$op:$n"
		rm -rf "$ROOT_TMP/w" && cp -a "$tpl" "$ROOT_TMP/w" && cd "$ROOT_TMP/w"
		err=EIO; [ $((n % 2)) = 0 ] && err=ENOSPC
		faulty "fail:$op:$n:$err" add -q m.bin >/dev/null 2>"$ROOT_TMP/err"
		st=$?
		ERR=$(cat "$ROOT_TMP/err")
		case $st in
		0) ;;
		1) assert_eq "$(printf '%s\n' "$ERR" | grep -c '^p4reg: ')" "1" "not one error line" ;;
		*) fail "exit $st; stderr: $ERR" ;;
		esac
		assert_not_contains "$ERR" "Sanitizer"
		got=$(state)
		[ "$got" = "$old" ] || [ "$st" = 0 ] || [ -n "$(db 'SELECT 1 FROM versions WHERE number=2')" ] ||
			fail "registry is neither old nor new"
		run 0 p4reg fsck
		run 0 p4reg add -q m.bin
	done
done

begin "a batch add whose syncfs fails registers nothing; fsck records no fingerprint it could not make durable"
fresh_repo
mkdir d && for i in $(seq 1 130); do echo "file $i" >"d/f$i"; done
expect_fail fail:fsync:1+:EIO /.p4reg/objects "cannot sync the file system" add d
assert_eq "$(db "SELECT count(*) FROM versions")" "0" "a version was registered without its sync"
run 0 p4reg add -q d
sqlite3 .p4reg/registry.db "DELETE FROM object_stat" || fail "cannot clear the fingerprints"
P4REG_FAULT_PATH=/.p4reg/objects faulty fail:fsync:1+:EIO fsck >/dev/null 2>&1 || fail "fsck failed"
assert_eq "$(db "SELECT count(*) FROM object_stat")" "0" "fsck recorded fingerprints of objects it could not sync"
run 0 p4reg fsck
assert_eq "$(db "SELECT count(*) FROM object_stat")" "131" "fsck's fingerprints"

finish
