#!/usr/bin/env bash
# End-to-end: gc deletes only unreferenced objects and stale tmp/ files,
# keeps everything a version needs (archived and rolled-back included, so
# rollback keeps working), honours --dry-run and the grace period, and is
# safe beside concurrent adds.
. "$(dirname "$0")/lib.sh"

obj_path() { echo ".p4reg/objects/${1:0:2}/${1:2:2}/$1"; }
json_get() { printf '%s' "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# orphan NAME KIB: an object in the store that no version references (what a
# crash between storing and registering leaves); prints its oid.
orphan() {
	local oid
	random_file "$ROOT_TMP/$1" "$2"
	oid=$(sha "$ROOT_TMP/$1")
	mkdir -p "$(dirname "$(obj_path "$oid")")"
	cp "$ROOT_TMP/$1" "$(obj_path "$oid")" && chmod 444 "$(obj_path "$oid")"
	echo "$oid"
}

begin "nothing to collect"
fresh_repo
random_file m.bin 10 && p4reg add -q m.bin
run 0 p4reg gc && assert_eq "$OUT" "removed 0 unreferenced objects (0 B) and 0 temporary files (0 B)"
run 0 p4reg gc --help && assert_contains "$OUT" "usage: p4reg gc"
run 2 p4reg gc extra && assert_one_line_error "gc takes no arguments"
run 2 p4reg gc --grace -1 && assert_one_line_error "--grace"
run 2 p4reg gc --grace soon && assert_one_line_error "--grace"

begin "young orphans and tmp files are kept by default (an add may be running)"
o1=$(orphan o1 20)
echo partial >.p4reg/tmp/.object.Xy12Ab
run 0 p4reg gc && assert_contains "$OUT" "removed 0 unreferenced objects"
assert_contains "$ERR" "kept 2 unreferenced files changed in the last 3600 seconds"
assert_file "$(obj_path "$o1")"
assert_file .p4reg/tmp/.object.Xy12Ab
run 0 p4reg -q gc && assert_eq "$OUT" "" && assert_eq "$ERR" ""

begin "--dry-run reports and deletes nothing"
before=$(snapshot)
run 0 p4reg gc --dry-run --grace 0
assert_contains "$OUT" "would remove object $o1 (20.0 KiB)"
assert_contains "$OUT" "would remove .p4reg/tmp/.object.Xy12Ab (8 B)"
assert_contains "$OUT" "would remove 1 unreferenced object (20.0 KiB) and 1 temporary file (8 B)"
assert_file "$(obj_path "$o1")"
assert_file .p4reg/tmp/.object.Xy12Ab
assert_eq "$(snapshot)" "$before" "dry run changed something"

begin "past the grace period: orphans and tmp files go, versions' objects stay"
m=$(sha m.bin)
run 0 p4reg --json gc --grace 0
assert_eq "$(json_get 'd["dry_run"], d["objects"], d["tmp"]["count"], d["tmp"]["bytes"], d["referenced"]')" \
	"False {'count': 1, 'bytes': 20480, 'oids': ['$o1']} 1 8 1"
assert_no_file "$(obj_path "$o1")"
assert_no_file .p4reg/tmp/.object.Xy12Ab
assert_file "$(obj_path "$m")"
run 0 p4reg fsck

begin "archived and rolled-back versions keep their objects: rollback still works"
fresh_repo
for i in 1 2 3; do random_file svc.bin $((10 + i)); p4reg add -q svc.bin; eval "v$i=\$(sha svc.bin)"; done
p4reg promote -q svc@1 --to production --force
p4reg promote -q svc@2 --to production --force   # v1 archived
p4reg promote -q svc@3 --to production --force   # v2 archived
p4reg rollback -q svc                            # v3 rolled back, v2 production
p4reg promote -q svc@1 --to archived --force 2>/dev/null
oo=$(orphan oo 5)
run 0 p4reg gc --grace 0 && assert_contains "$OUT" "removed 1 unreferenced object (5.0 KiB)"
for o in "$v1" "$v2" "$v3"; do assert_file "$(obj_path "$o")"; done
run 0 p4reg fsck
run 0 p4reg rollback svc && assert_eq "$(sha svc.bin)" "$v1"
run 0 p4reg checkout svc@3 && assert_eq "$(sha svc.bin)" "$v3"
run 0 p4reg gc --grace 0 && assert_contains "$OUT" "removed 0 unreferenced objects"

begin "gc beside concurrent adds never collects an object being added"
fresh_repo
for i in $(seq 1 12); do random_file "f$i.bin" 64; done
pids=()
for i in $(seq 1 12); do p4reg add -q "f$i.bin" & pids+=($!); done
for k in 1 2 3 4 5; do p4reg -q gc || fail "gc failed while adds ran"; done
for p in "${pids[@]}"; do wait "$p" || fail "an add failed beside gc"; done
run 0 p4reg gc
run 0 p4reg fsck
assert_eq "$(db 'SELECT count(*) FROM versions')" "12"
for i in $(seq 1 12); do assert_file "$(obj_path "$(sha "f$i.bin")")"; done

finish
