#!/usr/bin/env bash
# End-to-end: damaged or hostile local state under .p4reg/ is refused, never
# silently replaced or followed. An empty, garbage, truncated or missing
# registry.db is exit 4 with nothing recreated; fsck still reports on
# everything else; a registry carrying a trigger or view is inert; a
# read-only repository answers read-only commands; gc does not follow a
# symlinked tmp/, deletes only names p4reg writes and never sync.lock.
. "$(dirname "$0")/lib.sh"

json_get() { printf '%s' "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
obj_path() { echo ".p4reg/objects/${1:0:2}/${1:2:2}/$1"; }
HINT="run 'p4reg fsck' for a full report; restore the file from a backup, or replace it with an empty registry (p4reg fsck --new-registry) and refill that from a remote (p4reg pull)"

# setup: a repository with two models, one of them promoted.
setup() {
	fresh_repo
	random_file models/emb.onnx 40 && oid1=$(sha models/emb.onnx)
	random_file llm.bin 20 && oid2=$(sha llm.bin)
	p4reg add -q models/emb.onnx llm.bin 2>/dev/null
	p4reg promote -q emb@1 --to validation
	DB="$PWD/.p4reg/registry.db"
}

# refused CMD...: CMD exits 4 naming the registry file and pointing to fsck.
refused() {
	run 4 p4reg "$@" && assert_one_line_error "'$DB'" && assert_contains "$ERR" "$HINT"
}

begin "a 0-byte registry.db is refused, exit 4, and not recreated"
setup
: >.p4reg/registry.db
for cmd in list "log emb" status history "add models/emb.onnx" "promote emb@1 --to staging" gc; do
	# shellcheck disable=SC2086
	refused $cmd && assert_contains "$ERR" "registry '$DB' is empty (0 bytes): its history is lost; $HINT"
done
assert_eq "$(stat -c %s .p4reg/registry.db)" "0" "the empty registry was filled"
assert_no_file .p4reg/registry.db-wal
run 4 p4reg --json list
assert_eq "$(json_get 'd["error"]["code"]')" "integrity"

begin "a garbage or truncated registry.db is refused and left as it was"
setup
cp .p4reg/registry.db "$ROOT_TMP/good.db"
head -c 3000 /dev/urandom >.p4reg/registry.db && before=$(sha .p4reg/registry.db)
refused list && assert_contains "$ERR" "'$DB' is not a p4reg registry (not a SQLite database)"
assert_eq "$(sha .p4reg/registry.db)" "$before" "the garbage was rewritten"
cp "$ROOT_TMP/good.db" .p4reg/registry.db && truncate -s 8192 .p4reg/registry.db
before=$(sha .p4reg/registry.db)
refused list && assert_contains "$ERR" "registry '$DB' is damaged ("
refused add llm.bin
assert_eq "$(sha .p4reg/registry.db)" "$before" "the truncated registry was rewritten"

begin "a missing registry.db beside objects is not recreated; a fresh clone's is"
setup
rm .p4reg/registry.db
refused list && assert_contains "$ERR" "registry '$DB' is missing but its folder still holds objects"
assert_no_file .p4reg/registry.db
fresh_git_repo
random_file m.bin 4 && p4reg add -q m.bin && git add -A && git commit -qm m
git clone -q . "$ROOT_TMP/clone-$$" && cd "$ROOT_TMP/clone-$$" || exit 1
run 0 p4reg list && assert_file .p4reg/registry.db
assert_eq "$(sqlite3 .p4reg/registry.db 'PRAGMA application_id; PRAGMA journal_mode')" "$(printf '1345606215\nwal')"
assert_eq "$(ls -A .p4reg | grep -c 'registry.db-new')" "0" "a temporary registry was left behind"

begin "fsck on a damaged registry still checks objects and pointers, exit 4"
setup
chmod u+w "$(obj_path "$oid2")" && flip_byte "$(obj_path "$oid2")" 5
head -c 3000 /dev/urandom >.p4reg/registry.db
run 4 p4reg fsck
assert_contains "$OUT" "registry-corrupt: '$DB' is not a p4reg registry (not a SQLite database)"
assert_not_contains "$OUT" "run 'p4reg fsck'"
assert_contains "$OUT" "corrupt-object: object $oid2 is corrupt"
assert_contains "$OUT" "2 problems found: 2 objects (60.0 KiB) re-hashed, 1 quarantined, 2 pointers checked"
assert_eq "$ERR" "" "fsck printed an error besides its report"
run 4 p4reg --json fsck
assert_eq "$(json_get 'sorted(d.keys())')" "['bytes_checked', 'notes', 'objects_checked', 'ok', 'pointers_checked', 'problems', 'quarantined', 'remote', 'remote_checked', 'remote_error', 'repaired']"
assert_eq "$(json_get '[(p["kind"], p["path"]) for p in d["problems"]]')" "[('registry-corrupt', '.p4reg/registry.db')]"
assert_eq "$(json_get 'd["ok"], d["objects_checked"], d["pointers_checked"]')" "False 1 2"
: >.p4reg/registry.db
run 4 p4reg fsck && assert_contains "$OUT" "registry-corrupt: registry '$DB' is empty (0 bytes)"
assert_eq "$(stat -c %s .p4reg/registry.db)" "0" "fsck filled the empty registry"

begin "fsck --new-registry keeps the old file in quarantine and starts an empty one"
run 2 p4reg fsck --new-registry --repair && assert_one_line_error "cannot be combined"
run 0 p4reg fsck --new-registry
assert_eq "$OUT" "moved the old registry to '.p4reg/quarantine/registry.db'
created an empty registry: refill it from a remote with p4reg pull, then run p4reg fsck"
assert_eq "$(stat -c %s .p4reg/quarantine/registry.db)" "0"
run 0 p4reg list && assert_eq "$OUT" ""
run 3 p4reg fsck --new-registry && assert_one_line_error "opens and is not replaced"
rm .p4reg/registry.db
run 0 p4reg --json fsck --new-registry
assert_eq "$OUT" '{"created":".p4reg/registry.db","quarantined":null}'

begin "a registry.db carrying a trigger or a view is refused before it can run"
setup
sqlite3 .p4reg/registry.db "CREATE TABLE loot(x); CREATE TRIGGER evil AFTER INSERT ON versions BEGIN UPDATE models SET path = '../../outside'; INSERT INTO loot SELECT actor FROM events; END;"
random_file more.bin 4
before=$(snapshot)
refused add more.bin && assert_contains "$ERR" "registry '$DB' holds a trigger 'evil' that p4reg did not create"
refused list
assert_eq "$(db "SELECT count(*) FROM loot; SELECT count(*) FROM models WHERE path LIKE '../%'")" "$(printf '0\n0')"
assert_eq "$(snapshot)" "$before" "the refused registry changed"
run 4 p4reg fsck && assert_contains "$OUT" "registry-corrupt: registry '$DB' holds a trigger 'evil'"
sqlite3 .p4reg/registry.db "DROP TRIGGER evil; CREATE VIEW stage_view AS SELECT * FROM versions;"
refused list && assert_contains "$ERR" "holds a view 'stage_view' that p4reg did not create"
sqlite3 .p4reg/registry.db "DROP VIEW stage_view; DROP TRIGGER events_no_update; CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN DELETE FROM versions; END;"
refused list && assert_contains "$ERR" "holds a trigger 'events_no_update' that p4reg did not create"
sqlite3 .p4reg/registry.db "DROP TRIGGER events_no_update; CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
run 0 p4reg list && assert_contains "$OUT" "emb"

begin "another application's database or a newer schema is refused"
setup
sqlite3 .p4reg/registry.db "PRAGMA application_id = 42"
run 4 p4reg list && assert_one_line_error "'$DB' is not a p4reg registry"
sqlite3 .p4reg/registry.db "PRAGMA application_id = 1345606215; PRAGMA user_version = 99"
run 1 p4reg list && assert_one_line_error "registry '$DB' was written by a newer p4reg (schema 99, this binary knows 7)"

# ro_run CODE ARGS...: runs p4reg ARGS in the current repository made
# read-only: chmod -R a-w for a normal user; for root, whom permission bits
# do not bind, a read-only bind mount in a private mount namespace.
ro_run() {
	local want=$1
	shift
	if [ "$(id -u)" = 0 ]; then
		run "$want" unshare -m sh -c 'mount --bind -o ro "$0" "$0" && cd "$0" && exec "$@"' \
			"$PWD" "$P4REG_BIN" "$@"
	else
		chmod -R a-w .
		run "$want" "$P4REG_BIN" "$@"
		chmod -R u+w .
	fi
}

begin "read-only commands work in a read-only repository; changes fail with one line"
if [ "$(id -u)" = 0 ] && ! unshare -m true 2>/dev/null; then
	echo "skipped: running as root without 'unshare -m', and permission bits do not bind root" >&2
else
	setup
	p4reg log-metric -q emb@1 f1=0.91
	before=$(snapshot)
	for cmd in list "log emb" "show emb@1" status history "metrics emb" "--json list" fsck; do
		# shellcheck disable=SC2086
		run 0 p4reg $cmd && want=$OUT
		# shellcheck disable=SC2086
		ro_run 0 $cmd && assert_eq "$OUT" "$want" "'$cmd' read-only"
		assert_eq "$ERR" "" "'$cmd' read-only printed an error"
	done
	ro_run 0 cat emb@1 && assert_eq "$(sha "$ROOT_TMP/out")" "$oid1"
	ro_run 1 promote emb@1 --to staging
	assert_eq "$ERR" "p4reg: cannot change registry '$DB': the repository is read-only"
	ro_run 1 log-metric emb@1 f1=0.5
	assert_eq "$ERR" "p4reg: cannot change registry '$DB': the repository is read-only"
	random_file new.bin 4
	ro_run 1 add new.bin && assert_one_line_error "cannot create a temporary file in '$PWD/.p4reg/tmp'"
	assert_eq "$(printf '%s\n' "$ERR" | wc -l)" "1" "more than one error line"
	rm new.bin
	assert_eq "$(snapshot)" "$before" "the read-only run changed something"
fi

begin "gc does not follow a symlinked .p4reg/tmp: the victim's files survive"
setup
victim="$ROOT_TMP/victim-$$" && mkdir -p "$victim/.ssh"
echo secret >"$victim/.ssh/id_rsa"; echo partial >"$victim/.object.Ab12Cd"; echo notes >"$victim/notes"
orphan=$(printf 'orphan' | tee "$ROOT_TMP/orphan" | sha256sum | cut -d' ' -f1)
mkdir -p "$(dirname "$(obj_path "$orphan")")" && cp "$ROOT_TMP/orphan" "$(obj_path "$orphan")"
rm -rf .p4reg/tmp && ln -s "$victim" .p4reg/tmp
# the repository is refused when it is opened (exit 3, docs/security.md);
# gc's own refusal of a link (exit 4) is proved in tests/unit/test_fsck.c
run 3 p4reg gc --grace 0
assert_one_line_error "'.p4reg/tmp' is a symbolic link; p4reg does not trust it: remove the link"
run 3 p4reg gc --dry-run --grace 0
assert_eq "$(cat "$victim/.ssh/id_rsa") $(cat "$victim/.object.Ab12Cd") $(cat "$victim/notes")" "secret partial notes"
assert_file "$(obj_path "$orphan")"
run 3 p4reg fsck && assert_one_line_error "'.p4reg/tmp' is a symbolic link"
rm .p4reg/tmp && mkdir .p4reg/tmp
run 0 p4reg gc --grace 0 && assert_contains "$OUT" "removed object $orphan"

begin "gc deletes only the names p4reg writes in tmp/; fsck lists the rest"
setup
echo partial >.p4reg/tmp/.object.Ab12Cd
echo partial >.p4reg/tmp/.fetch.x9Y8z7
echo mine >.p4reg/tmp/notes.txt
echo mine >.p4reg/tmp/.object.Ab12Cd.keep
mkdir .p4reg/tmp/work && echo mine >.p4reg/tmp/work/.object.Zz99Zz
run 0 p4reg --json gc --grace 0
assert_eq "$(json_get 'sorted(d["tmp"]["paths"]), d["tmp"]["foreign"]')" \
	"['.p4reg/tmp/.fetch.x9Y8z7', '.p4reg/tmp/.object.Ab12Cd'] 3"
assert_no_file .p4reg/tmp/.object.Ab12Cd
assert_file .p4reg/tmp/notes.txt
assert_file .p4reg/tmp/.object.Ab12Cd.keep
assert_file .p4reg/tmp/work/.object.Zz99Zz
run 0 p4reg gc --grace 0
assert_contains "$ERR" "kept 3 entries in .p4reg/tmp/ that p4reg did not make (see p4reg fsck)"
run 4 p4reg fsck
assert_contains "$OUT" "stray-file: '.p4reg/tmp/notes.txt' is not a temporary file of p4reg (gc leaves it alone)"
assert_contains "$OUT" "stray-file: '.p4reg/tmp/work' is not a temporary file of p4reg"
assert_contains "$OUT" "3 problems found"

begin "gc never deletes sync.lock, even while a push holds it"
setup
# sync.c takes flock(LOCK_EX) on .p4reg/tmp/sync.lock; hold it the same way
exec 9>.p4reg/tmp/sync.lock
flock -x 9 || fail "cannot take the lock"
ino=$(stat -c %i .p4reg/tmp/sync.lock)
run 0 p4reg gc --grace 0
assert_file .p4reg/tmp/sync.lock
assert_eq "$(stat -c %i .p4reg/tmp/sync.lock)" "$ino" "the held lock file was replaced"
flock -n .p4reg/tmp/sync.lock true && fail "the lock is free while a holder has it"
exec 9>&-
run 0 p4reg gc --grace 0 && assert_file .p4reg/tmp/sync.lock
run 0 p4reg fsck

begin "a symbolic link under an object's name is no object: add stores a real one, checkout links no link"
fresh_repo
random_file m.bin 5
oid=$(sha m.bin)
obj=.p4reg/objects/${oid:0:2}/${oid:2:2}/$oid
mkdir -p "$(dirname "$obj")" && cp m.bin "$ROOT_TMP/planted" && ln -s "$ROOT_TMP/planted" "$obj"
run 0 p4reg add -q m.bin
[ -L "$obj" ] && fail "the object is still a symbolic link"
assert_file "$obj" && assert_eq "$(sha "$obj")" "$oid" "the stored object"
run 0 p4reg fsck
rm m.bin && rm "$obj" && ln -s "$ROOT_TMP/planted" "$obj"
run 0 p4reg config --local core.cacheType hardlink
run 1 p4reg checkout m.bin && assert_contains "$ERR" "is not in the local store"
[ -L m.bin ] && fail "checkout made the work-tree file a symbolic link"
assert_no_file m.bin

begin "a FIFO under a manifest's name does not block a folder add; it is replaced"
fresh_repo
mkdir d && for i in $(seq 1 20); do echo "file $i" >"d/f$i"; done
p4reg add -q d >/dev/null 2>&1 || fail "first add"
moid=$(db "SELECT oid FROM versions")
rm -rf .p4reg && p4reg init >/dev/null
mkdir -p ".p4reg/objects/${moid:0:2}/${moid:2:2}" && mkfifo ".p4reg/objects/${moid:0:2}/${moid:2:2}/$moid"
run 0 timeout 20 "$P4REG_BIN" add -q d
[ -f ".p4reg/objects/${moid:0:2}/${moid:2:2}/$moid" ] || fail "the manifest is not a regular object"
run 0 p4reg fsck

finish
