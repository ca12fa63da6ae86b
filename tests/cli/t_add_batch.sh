#!/usr/bin/env bash
# End-to-end: an add of many files (128 or more) is one batch made durable by one sync
# (store.h, p4r_store_defer_sync). What a crash inside such a batch can
# leave -- an object under its final name whose bytes never reached the
# disk, with no fingerprint -- is never trusted: the next add re-hashes it,
# quarantines it and stores the file's bytes again.
. "$(dirname "$0")/lib.sh"

obj() { printf '.p4reg/objects/%s/%s/%s' "${1:0:2}" "${1:2:2}" "$1"; }
# plant OID BYTES-FILE: an object as a crashed batch leaves it, read-only
plant() {
	mkdir -p "$(dirname "$(obj "$1")")"
	cp "$2" "$(obj "$1")"
	chmod 444 "$(obj "$1")"
}

fresh_repo
mkdir -p models/tok/sub
for i in $(seq 1 150); do printf 'token %d\n' "$i" >"models/tok/sub/f$i.txt"; done

begin "a batch of 150 files: one syncfs, every object whole, read-only, fingerprinted"
if command -v strace >/dev/null; then
	# LeakSanitizer cannot run under ptrace
	run 0 env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -f -qq -e trace=fsync,fdatasync,syncfs -o "$ROOT_TMP/trace" "$P4REG_BIN" add models/tok
	assert_eq "$(grep -c 'syncfs(' "$ROOT_TMP/trace")" 1 "syncfs calls"
	# the registry's commit and the pointer's and .gitignore's writes, not 450 of the objects'
	[ "$(grep -c 'fsync(' "$ROOT_TMP/trace")" -lt 20 ] || fail "$(grep -c 'fsync(' "$ROOT_TMP/trace") fsyncs in a batch"
else
	run 0 p4reg add models/tok
fi
assert_contains "$OUT" "added models/tok/ as tok@1"
for f in models/tok/sub/*.txt; do
	o=$(sha "$f")
	assert_eq "$(sha "$(obj "$o")")" "$o" "object of $f"
	assert_eq "$(stat -c %a "$(obj "$o")")" 444
done
manifest=$(db "SELECT oid FROM versions")
assert_eq "$(sha "$(obj "$manifest")")" "$manifest"
assert_eq "$(db "SELECT count(*) FROM object_stat")" 151
run 0 p4reg fsck

begin "crash leftovers under final names: re-hashed, quarantined, stored again"
mkdir -p models/emb
for i in $(seq 1 30); do printf 'embedding %d\n' "$i" >"models/emb/e$i.txt"; done
empty=$(sha models/emb/e3.txt)
short=$(sha models/emb/e4.txt)
: >"$ROOT_TMP/empty"
head -c 5 models/emb/e4.txt >"$ROOT_TMP/short"
plant "$empty" "$ROOT_TMP/empty"
plant "$short" "$ROOT_TMP/short"
run 0 p4reg add models/emb
assert_contains "$OUT" "added models/emb/ as emb@1"
assert_contains "$ERR" "object ${empty:0:12} now hashes to e3b0c44298fc"
assert_contains "$ERR" "repaired it from 'models/emb/e3.txt'"
assert_contains "$ERR" "repaired it from 'models/emb/e4.txt'"
assert_eq "$(sha "$(obj "$empty")")" "$empty"
assert_eq "$(sha "$(obj "$short")")" "$short"
assert_file ".p4reg/quarantine/$empty"
assert_eq "$(db "SELECT count(*) FROM object_stat WHERE oid IN ('$empty', '$short')")" 2
run 0 p4reg fsck
rm -rf models/emb
run 0 p4reg checkout emb@1
assert_same_bytes models/emb/e3.txt "$(obj "$empty")"

begin "an object another batch named but has not synced: checked once, then trusted"
mkdir -p models/cls
for i in $(seq 1 20); do printf 'class %d\n' "$i" >"models/cls/c$i.txt"; done
whole=$(sha models/cls/c9.txt)
plant "$whole" models/cls/c9.txt
run 0 p4reg add models/cls
assert_not_contains "$ERR" "${whole:0:12}"
assert_no_file ".p4reg/quarantine/$whole"
assert_eq "$(db "SELECT count(*) FROM object_stat WHERE oid = '$whole'")" 1
assert_eq "$(db "SELECT count(*) FROM object_damage")" 2

begin "a manifest left without its bytes is compared, not trusted, and written again"
mkdir -p models/man
for i in $(seq 1 20); do printf 'row %d\n' "$i" >"models/man/r$i.txt"; done
run 0 p4reg add models/man
m1=$(db "SELECT v.oid FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'man'")
cp "$(obj "$m1")" "$ROOT_TMP/manifest"
# a second repository whose store has the manifest's name with other bytes
mv .p4reg/objects "$ROOT_TMP/objects.keep"
mkdir .p4reg/objects
head -c "$(stat -c %s "$ROOT_TMP/manifest")" /dev/zero >"$ROOT_TMP/zeros"
plant "$m1" "$ROOT_TMP/zeros"
printf 'row 1\n' >models/man/r1.txt
sqlite3 .p4reg/registry.db "DELETE FROM stat_cache; DELETE FROM object_stat"
run 0 p4reg add -m again models/man
assert_same_bytes "$(obj "$m1")" "$ROOT_TMP/manifest"
rm -rf .p4reg/objects
mv "$ROOT_TMP/objects.keep" .p4reg/objects

begin "progress on a terminal: one bar over every file of the folder"
if command -v script >/dev/null; then
	mkdir -p models/big
	for i in 1 2 3; do random_file "models/big/s$i.bin" 6144; done
	run 0 script -qec "$P4REG_BIN add models/big" /dev/null
	bar=$(printf '%s' "$OUT" | tr '\r' '\n')
	assert_contains "$bar" "add  3/3 files  18.0 MiB/18.0 MiB  100%"
	assert_not_contains "$bar" "6.0 MiB / 6.0 MiB" "a bar per file"
	assert_contains "$bar" "added models/big/ as big@1"
fi

begin "a single file is no batch: the same objects, fsynced one by one"
printf 'solo\n' >models/solo.txt
run 0 p4reg add models/solo.txt
assert_eq "$(sha "$(obj "$(sha models/solo.txt)")")" "$(sha models/solo.txt)"

begin "where syncfs reaches no disk (FUSE, 9p, SMB) a batch fsyncs each object"
. "$P4REG_SRC/tests/fault/lib.sh"
# fsync_count FSTYPE: fsyncs of objects being written by an add of 130 files (a batch: 128 or more)
fsync_count() {
	local f="$ROOT_TMP/count.$1"
	rm -rf "$ROOT_TMP/fs$1" && mkdir -p "$ROOT_TMP/fs$1/d" && cd "$ROOT_TMP/fs$1" && p4reg init >/dev/null
	for i in $(seq 1 130); do printf 'fs %d\n' "$i" >"d/f$i"; done
	P4REG_TEST_STORE_FSTYPE=$1 P4REG_FAULT_PATH=/.p4reg/tmp/ P4REG_FAULT_COUNT=$f \
		faulty count add -q d >/dev/null 2>&1 || fail "add on file system $1"
	run 0 p4reg fsck
	read -r _ _ _ n _ <"$f"
	echo "$n"
}
assert_eq "$(fsync_count 61267)" "0" "ext4 (0xEF53): one syncfs for the batch"
assert_eq "$(fsync_count 1702057286)" "131" "FUSE (0x65735546): every object and the manifest fsynced"
assert_eq "$(fsync_count 16914839)" "131" "9p (0x01021997)"

finish
