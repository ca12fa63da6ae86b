#!/usr/bin/env bash
# End-to-end: folder remotes. Two clones share one remote folder: push,
# pull, promote, rollback, concurrent pushes, faults and hostile batches.
. "$(dirname "$0")/lib.sh"

R="$ROOT_TMP/remote"
A="$ROOT_TMP/A"
B="$ROOT_TMP/B"
mkdir -p "$A" "$B"
(cd "$A" && p4reg init >/dev/null) || fail "init A"
(cd "$B" && p4reg init >/dev/null) || fail "init B"

# production holders of MODEL, one per line
holders() { db "SELECT v.number FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = '$1' AND v.stage = 'production'"; }

begin "remote add, list, check, remove"
cd "$A"
run 2 p4reg remote add 'bad/name' "$R" && assert_one_line_error "invalid remote name"
run 2 p4reg remote add origin 'ftp://x/y' && assert_one_line_error "unsupported remote URL"
run 0 p4reg remote add -d origin "$R" && assert_contains "$OUT" "added remote 'origin'"
assert_contains "$ERR" "concurrent pushes are safe"
# whole objects, which this test reads and alters on the remote (format 2,
# chunk lists and packs: t_chunks_remote.sh)
run 0 p4reg config remote.origin.format 1
run 1 p4reg remote add origin "$R" && assert_one_line_error "remote 'origin' already exists"
run 0 p4reg remote add other "file://$ROOT_TMP/other"
run 0 p4reg remote list
assert_eq "$OUT" "origin	$R (default)
other	file://$ROOT_TMP/other"
run 0 p4reg --json remote list
assert_eq "$OUT" "{\"remotes\":[{\"name\":\"origin\",\"url\":\"$R\",\"default\":true},{\"name\":\"other\",\"url\":\"file://$ROOT_TMP/other\",\"default\":false}]}"
run 0 p4reg remote check origin && assert_eq "$OUT" "origin: ok"
run 0 p4reg remote remove other
run 0 p4reg remote list && assert_eq "$OUT" "origin	$R (default)"
run 1 p4reg remote remove other && assert_one_line_error "no remote named 'other'"
run 2 p4reg remote frob && assert_one_line_error "unknown subcommand"

begin "add on A, push; pull on B gets the same bytes and history"
cd "$A"
random_file models/emb.onnx 2048
random_file models/llm.bin 3072
p4reg add models/emb.onnx -m "first emb" >/dev/null && p4reg add models/llm.bin >/dev/null || fail "add"
run 0 p4reg push
assert_contains "$OUT" "2 objects (5.0 MiB) uploaded"
assert_contains "$OUT" "2 events published as batch 1"
oid=$(sha models/emb.onnx)
assert_same_bytes "$R/objects/${oid:0:2}/${oid:2:2}/$oid" models/emb.onnx
assert_file "$R/log/0000000001.json"
assert_eq "$(ls "$R/tmp" | wc -l)" "0" "remote tmp/ not empty"
run 0 p4reg push && assert_contains "$OUT" "0 objects (0 B) uploaded, 2 already there; no events to publish"
cd "$B"
run 0 p4reg remote add origin "$R"
mkdir -p models && cp "$A"/models/*.p4reg models/   # what git would carry
run 0 p4reg pull
assert_contains "$OUT" "checked out models/emb.onnx (emb@1)"
assert_contains "$OUT" "pulled from 'origin': 2 events, 2 objects (5.0 MiB)"
assert_same_bytes models/emb.onnx "$A/models/emb.onnx"
assert_same_bytes models/llm.bin "$A/models/llm.bin"
assert_eq "$(db "SELECT m.name, v.number, v.oid, v.size, v.author, v.message, v.created_ms FROM versions v JOIN models m ON m.id = v.model_id ORDER BY 1")" \
	"$(cd "$A" && db "SELECT m.name, v.number, v.oid, v.size, v.author, v.message, v.created_ms FROM versions v JOIN models m ON m.id = v.model_id ORDER BY 1")"
assert_eq "$(db "SELECT s.uuid, e.kind, e.at_ms FROM events e JOIN event_sync s ON s.event_id = e.id ORDER BY s.uuid")" \
	"$(cd "$A" && db "SELECT s.uuid, e.kind, e.at_ms FROM events e JOIN event_sync s ON s.event_id = e.id ORDER BY s.uuid")"
assert_eq "$(ls .p4reg/tmp | grep -v sync.lock | wc -l)" "0" "tmp/ not empty"
run 0 p4reg pull && assert_contains "$OUT" "up to date models/emb.onnx"

begin "fetch --json, fetch REF downloads that object"
cd "$A"
random_file models/emb.onnx 1024
p4reg add models/emb.onnx -m second >/dev/null && p4reg push -q || fail "push v2"
cd "$B"
run 0 p4reg --json fetch
assert_contains "$OUT" '"events":{"applied":1,"batches_applied":1,"published":0,"batch":null}'
oid2=$(cd "$A" && sha models/emb.onnx)
assert_no_file ".p4reg/objects/${oid2:0:2}/${oid2:2:2}/$oid2"
run 0 p4reg fetch emb@2 && assert_file ".p4reg/objects/${oid2:0:2}/${oid2:2:2}/$oid2"
run 0 p4reg fetch --objects && assert_contains "$OUT" "0 objects"

if p4reg help promote >/dev/null 2>&1; then
begin "promote on B, push; fetch on A shows it; rollback on A, push; B converges"
cd "$B"
for s in validation staging production; do p4reg promote emb@1 --to $s -m "ok" >/dev/null || fail "promote emb@1 $s"; done
for s in validation staging production; do p4reg promote emb@2 --to $s -m "better" >/dev/null || fail "promote emb@2 $s"; done
run 0 p4reg push && assert_contains "$OUT" "7 events published as batch 3"
cd "$A"
run 0 p4reg fetch
assert_eq "$(holders emb)" "2"
assert_eq "$(db "SELECT stage FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name='emb' AND number=1")" "archived"
run 0 p4reg rollback emb -m "latency regression" --no-checkout
assert_eq "$(holders emb)" "1"
run 0 p4reg push
cd "$B"
run 0 p4reg fetch
assert_eq "$(holders emb)" "1"
assert_eq "$(db "SELECT rolled_back FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name='emb' AND number=2")" "1"
run 0 p4reg history emb
assert_contains "$OUT" "rollback"
assert_eq "$(db "SELECT count(*) FROM events")" "$(cd "$A" && db "SELECT count(*) FROM events")" "event counts differ"
fi

begin "metrics logged on A reach B's registry and gates through the remote"
cd "$A"
run 0 p4reg log-metric emb@2 spearman=0.91 --step 2 --run r1 --param lr=0.1
run 0 p4reg push
cd "$B"
run 0 p4reg fetch
assert_eq "$(db "SELECT r.name, m.key, m.value, m.step, p.value FROM metrics m JOIN runs r ON r.id = m.run_id JOIN params p ON p.run_id = r.id JOIN versions v ON v.id = m.version_id WHERE v.number = 2")" "r1|spearman|0.91|2|0.1"
run 3 p4reg --json promote emb@2 --to production --force --require 'spearman>=0.95'
assert_contains "$OUT" '"left":0.91'
cd "$A"
run 0 p4reg fetch
assert_eq "$(db "SELECT count(*) FROM metrics")" "1" "A's own metric replayed twice"

begin "concurrent adds on A and B: renumbered, pointers rewritten, no loss"
cd "$A"; random_file models/new.bin 64; p4reg add models/new.bin -m "from A" >/dev/null
cd "$B"; random_file models/new.bin 64; p4reg add models/new.bin -m "from B" >/dev/null
cd "$A"; run 0 p4reg push
cd "$B"; run 0 p4reg push
assert_contains "$OUT" "renumbered new@1 -> new@2"
assert_contains "$OUT" "rewrote pointer models/new.bin.p4reg"
assert_contains "$(cat models/new.bin.p4reg)" "version 2"
assert_eq "$(db "SELECT number, message FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name='new' ORDER BY number")" "1|from A
2|from B"
cd "$A"; run 0 p4reg fetch
assert_eq "$(db "SELECT number, message FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name='new' ORDER BY number")" "1|from A
2|from B"

if p4reg help promote >/dev/null 2>&1; then
begin "concurrent pushes from two clones, several rounds: no event lost, one production holder"
for round in 1 2 3 4; do
	for side in A B; do
		(
			cd "$ROOT_TMP/$side" || exit 1
			random_file "models/c$side.bin" 16
			p4reg add "models/c$side.bin" -n conc -m "$side$round" >/dev/null 2>&1 ||
				p4reg add "models/c$side.bin" -m "$side$round" >/dev/null 2>&1
			p4reg add models/emb.onnx >/dev/null 2>&1
			n=$(sqlite3 -readonly .p4reg/registry.db "SELECT max(number) FROM versions v JOIN models m ON m.id=v.model_id WHERE m.name='emb'")
			p4reg promote "emb@$n" --to production --force -m "$side$round" >/dev/null 2>&1
			p4reg push -q >"$ROOT_TMP/push-$side-$round.log" 2>&1 || echo "push $side $round failed" >>"$ROOT_TMP/push-fail"
		) &
	done
	wait
done
assert_no_file "$ROOT_TMP/push-fail"
cd "$A"; p4reg push -q >/dev/null; cd "$B"; p4reg push -q >/dev/null; cd "$A"; p4reg fetch -q
cd "$B"; p4reg fetch -q
ea=$(cd "$A" && db "SELECT s.uuid FROM events e JOIN event_sync s ON s.event_id=e.id ORDER BY 1")
eb=$(cd "$B" && db "SELECT s.uuid FROM events e JOIN event_sync s ON s.event_id=e.id ORDER BY 1")
assert_eq "$ea" "$eb" "the two clones have different events"
assert_eq "$(cd "$A" && db 'SELECT count(*) FROM events')" "$(cd "$A" && db 'SELECT count(DISTINCT event_id) FROM event_sync')"
assert_eq "$(cat "$R"/log/*.json | python3 -c 'import json,sys
ids=[]
for line in sys.stdin.read().replace("}{", "}\n{").splitlines():
    ids += [e["id"] for e in json.loads(line)["events"]]
print(len(ids) == len(set(ids)))')" "True" "an event was published twice"
assert_eq "$(cd "$A" && holders emb | wc -l)" "1" "production holders on A"
assert_eq "$(cd "$A" && holders emb)" "$(cd "$B" && holders emb)" "A and B disagree on production"
assert_eq "$(cd "$A" && db "SELECT m.name || '@' || number || ':' || oid FROM versions v JOIN models m ON m.id=v.model_id ORDER BY 1")" \
	"$(cd "$B" && db "SELECT m.name || '@' || number || ':' || oid FROM versions v JOIN models m ON m.id=v.model_id ORDER BY 1")" "versions differ"
fi

begin "a remote object whose bytes were altered: pull exits 4, work tree untouched"
C="$ROOT_TMP/C"; mkdir -p "$C"; cd "$C"; p4reg init >/dev/null; p4reg remote add origin "$R" 2>/dev/null >/dev/null
mkdir -p models && cp "$A/models/llm.bin.p4reg" models/
oid=$(sed -n 's/^oid sha256://p' models/llm.bin.p4reg)
obj="$R/objects/${oid:0:2}/${oid:2:2}/$oid"
chmod u+w "$obj"; cp "$obj" "$ROOT_TMP/good"; flip_byte "$obj" 100
run 4 p4reg pull && assert_one_line_error "is corrupt"
assert_no_file models/llm.bin
assert_no_file ".p4reg/objects/${oid:0:2}/${oid:2:2}/$oid"
assert_eq "$(ls .p4reg/tmp | grep -v sync.lock | wc -l)" "0" "tmp/ not empty"
cp "$ROOT_TMP/good" "$obj"
run 0 p4reg pull && assert_same_bytes models/llm.bin "$A/models/llm.bin"

begin "malicious batches are rejected without touching the registry"
M="$ROOT_TMP/mal"; mkdir -p "$M/log"
D="$ROOT_TMP/D"; mkdir -p "$D"; cd "$D"; p4reg init >/dev/null; p4reg remote add origin "$M" >/dev/null 2>&1
good='{"id":"0a0b0c0d-0000-4000-8000-000000000001","model":"x","version":1,"kind":"register","from":"","to":"development","forced":false,"actor":"m","time":1,"reason":"","detail":null,"oid":"'$(printf '%064d' 0)'","size":1,"author":"m","created":1,"message":"","path":"x.bin","git_dirty":-1}'
before=$(snapshot)
for case in '..:{"format":1,"seq":1,"parent":0,"events":['"${good/x.bin/..\/..\/etc\/passwd}"']}' \
	'dotdot-model:{"format":1,"seq":1,"parent":0,"events":['"${good/\"model\":\"x\"/\"model\":\"..\"}"']}' \
	'size:{"format":1,"seq":1,"parent":0,"events":['"${good/\"size\":1,/\"size\":1e300,}"']}' \
	'json:{"format":1,"seq":1,"parent":0,"events":[' \
	'seq:{"format":1,"seq":7,"parent":6,"events":['"$good"']}' \
	'dup:{"format":1,"seq":1,"parent":0,"events":['"$good,$good"']}' \
	'second-bad:{"format":1,"seq":1,"parent":0,"events":['"$good,${good/0001\"/0002\"}"'x]}'; do
	printf '%s' "${case#*:}" >"$M/log/0000000001.json"
	run 4 p4reg fetch && assert_one_line_error "invalid event batch" || echo "case ${case%%:*}" >&2
	assert_eq "$(snapshot)" "$before" "registry changed by ${case%%:*}"
done
head -c $((17 * 1024 * 1024)) /dev/zero >"$M/log/0000000001.json"
run 4 p4reg fetch && assert_one_line_error "too large"
printf '%s' '{"format":1,"seq":1,"parent":0,"events":['"$good"']}' >"$M/log/0000000001.json"
run 0 p4reg fetch && assert_eq "$(db "SELECT name FROM models")" "x"
before=$(snapshot)
lm='{"id":"0a0b0c0d-0000-4000-8000-000000000003","model":"x","version":1,"kind":"log-metric","from":"","to":"","forced":false,"actor":"m","time":2,"reason":"","detail":"{\"run\":\"r\",\"step\":0,\"at_ms\":2,\"metrics\":{\"bad key\":1}}"}'
printf '%s' '{"format":1,"seq":2,"parent":1,"events":['"$lm"']}' >"$M/log/0000000002.json"
run 4 p4reg fetch && assert_one_line_error "invalid log-metric event for x@1"
assert_eq "$(snapshot)" "$before" "registry changed by a bad log-metric event"
printf '%s' '{"format":1,"seq":2,"parent":1,"events":['"${lm/bad key/f1}"']}' >"$M/log/0000000002.json"
run 0 p4reg fetch && assert_eq "$(db "SELECT key, value FROM metrics")" "f1|1.0"

begin "the remote folder disappears mid-push: clear error, rerun works"
E="$ROOT_TMP/E"; mkdir -p "$E"; cd "$E"; p4reg init >/dev/null
F="$ROOT_TMP/vanish"; p4reg remote add origin "$F" >/dev/null 2>&1
p4reg config remote.origin.format 1   # whole objects: the transfer knob slows their copies
for i in 1 2 3 4; do random_file "m$i.bin" 2048; p4reg add "m$i.bin" >/dev/null 2>&1; done
p4reg config remote.origin.jobs 1
P4REG_TEST_TRANSFER_DELAY_MS=150 "$P4REG_BIN" push >"$ROOT_TMP/vout" 2>"$ROOT_TMP/verr" &
pid=$!
# moved away in one step (an unmounted NAS): rm -rf would race the push,
# which can recreate folders behind it, and leave half a remote
sleep 0.5; mv "$F" "$ROOT_TMP/vanish.moved"
wait $pid; code=$?
assert_eq "$code" "1" "push exit code"
assert_contains "$(cat "$ROOT_TMP/verr")" "remote folder '$F'"
assert_eq "$(db 'SELECT count(*) FROM remote_published')" "0" "events marked published"
run 1 p4reg push && assert_one_line_error "remote folder '$F' does not exist"
mkdir "$F"
run 0 p4reg push && assert_contains "$OUT" "4 objects (8.0 MiB) uploaded"
assert_contains "$OUT" "published as batch 1"

begin "no remote configured"
fresh_repo
run 1 p4reg push && assert_one_line_error "no remote configured"
run 1 p4reg fetch -r nope && assert_one_line_error "no remote named 'nope'"

finish
