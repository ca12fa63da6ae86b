#!/usr/bin/env bash
# End-to-end: registry events that travel between clones are hostile. A
# folder remote is written by hand (forged batches); the victim runs its
# ordinary commands. Exit codes, messages, registry rows, and that nothing
# outside the temporary area changes (issue 11).
. "$(dirname "$0")/lib.sh"

OUTSIDE="$ROOT_TMP/outside"            # what no hostile path may touch
mkdir -p "$OUTSIDE" && echo canary >"$OUTSIDE/canary"
outside() { find "$OUTSIDE" -printf '%p %s %T@\n' | sort | sha256sum; }
OUTSIDE_BEFORE=$(outside)
mkdir -p "$ROOT_TMP/v"

# forge SEQ REMOTE EVENT...: writes batch SEQ of REMOTE by hand. Each EVENT
# is a JSON object merged over a complete event of its kind (register by
# default), so a test names only what it forges.
cat >"$ROOT_TMP/forge.py" <<'EOF'
import json, sys, uuid
seq, remote, specs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
events = []
for spec in specs:
    over = json.loads(spec)
    e = {"id": str(uuid.uuid4()), "model": "x", "version": 1, "kind": "register", "from": "",
         "to": "development", "forced": False, "actor": "mallory", "time": 1000, "reason": "",
         "detail": None}
    if over.get("kind", "register") == "register":
        e.update({"oid": "0" * 64, "size": 1, "author": "mallory", "created": 1000,
                  "message": "", "path": "models/x.bin", "git_dirty": -1})
    else:
        e.update({"from": "", "to": ""})
    e.update(over)
    events.append({k: v for k, v in e.items() if v != "@drop"})
doc = {"format": 1, "seq": seq, "parent": seq - 1, "pushed_by": "mallory", "time": 1, "events": events}
with open("%s/log/%010d.json" % (remote, seq), "w") as f:
    f.write(json.dumps(doc))
EOF
forge() { python3 "$ROOT_TMP/forge.py" "$@" || fail "forge $*"; }

# victim NAME REMOTE: a fresh repository with REMOTE as origin; cd into it.
victim() {
	mkdir -p "$ROOT_TMP/v/$1" && cd "$ROOT_TMP/v/$1" || exit 1
	p4reg init >/dev/null && p4reg remote add origin "$2" >/dev/null 2>&1 || fail "victim $1"
}
# object REMOTE FILE: stores FILE's bytes on REMOTE as an object; prints its oid.
object() {
	local oid
	oid=$(sha "$2")
	mkdir -p "$1/objects/${oid:0:2}/${oid:2:2}" && cp "$2" "$1/objects/${oid:0:2}/${oid:2:2}/$oid"
	echo "$oid"
}
remote_print() { (cd "$1" && find . -printf '%p %s\n' | sort && find . -type f -exec sha256sum {} + | sort) | sha256sum; }
big() { head -c "$1" /dev/zero | tr '\0' "${2:-a}"; }

begin "events over the batch bounds are refused at creation (exit 2, nothing recorded)"
R="$ROOT_TMP/r-bounds"; mkdir -p "$R"
victim bounds "$R"
random_file models/m.bin 4
run 2 p4reg add models/m.bin -m "$(big 65537)"
assert_one_line_error "the message is too long (65537 bytes; an event that travels to a remote holds at most 65536)"
assert_eq "$(db 'SELECT count(*) FROM versions; SELECT count(*) FROM events; SELECT count(*) FROM models')" "0
0
0"
assert_no_file models/m.bin.p4reg
P4REG_AUTHOR="$(big 70000)" run 2 p4reg add models/m.bin
assert_one_line_error "the author is too long (70000 bytes"
assert_eq "$(db 'SELECT count(*) FROM versions')" "0"
run 0 p4reg add models/m.bin -m "$(big 65536)"        # exactly the bound travels
random_file models/m.bin 4; p4reg add models/m.bin >/dev/null
run 0 p4reg promote m@1 --to production --force
run 0 p4reg promote m@2 --to production --force
before=$(snapshot)
P4REG_AUTHOR="$(big 65537 b)" run 2 p4reg promote m@1 --to validation --force
assert_one_line_error "the actor is too long (65537 bytes"
P4REG_AUTHOR="$(big 65537 b)" run 2 p4reg rollback m --no-checkout
assert_one_line_error "the actor is too long"
python3 -c 'import json; print(json.dumps({"metrics": {"f1": 0.5}, "params": {"p%04d" % i + "k" * 59: "v" * 1024 for i in range(1000)}}))' >"$ROOT_TMP/huge.json"
run 2 p4reg log-metric m@1 --file "$ROOT_TMP/huge.json" --run big
assert_one_line_error "these metrics and params are too large for one event"
assert_eq "$(snapshot)" "$before" "a refused event changed the registry"
assert_eq "$(db "SELECT count(*) FROM metrics; SELECT count(*) FROM runs")" "0
0"
run 0 p4reg push && assert_contains "$OUT" "published as batch 1"
victim bounds-peer "$R"
run 0 p4reg fetch && assert_eq "$(db "SELECT length(message) FROM versions WHERE number = 1")" "65536"

begin "a push larger than one batch goes out as several; a peer applies them all"
R="$ROOT_TMP/r-split"; mkdir -p "$R"
victim split "$R"
random_file models/s.bin 4; p4reg add models/s.bin >/dev/null
for i in $(seq 1 20); do
	python3 -c 'import json,sys; print(json.dumps({"metrics": {"f1": 0.5}, "params": {"p%03d" % k: "v" * 1024 for k in range(900)}}))' >"$ROOT_TMP/p.json"
	p4reg log-metric s@1 --file "$ROOT_TMP/p.json" --run "run$i" >/dev/null || fail "log-metric $i"
done
run 0 p4reg push
assert_contains "$OUT" "21 events published as batches 1-2"
assert_file "$R/log/0000000002.json"
for f in "$R"/log/*.json; do [ "$(stat -c %s "$f")" -le $((16 * 1024 * 1024)) ] || fail "$f is over 16 MiB"; done
victim split-peer "$R"
run 0 p4reg fetch && assert_contains "$OUT" "21 events in 2 batches"
assert_eq "$(db 'SELECT count(*) FROM runs')" "20"

begin "a bad batch stops fetch with the way out named; --skip-batch skips it, recorded"
R="$ROOT_TMP/r-skip"; mkdir -p "$R/log"
echo -n abc >"$ROOT_TMP/abc"; O=$(object "$R" "$ROOT_TMP/abc")
forge 1 "$R" '{"oid":"'"$O"'","size":3}'
forge 2 "$R" '{"model":"y","oid":"'"$O"'","size":3,"path":"../../outside/pwned"}'
forge 3 "$R" '{"kind":"promote","version":1,"from":"development","to":"validation"}'
victim skip "$R"
run 4 p4reg fetch
assert_one_line_error "invalid event batch 'log/0000000002.json': event 0: invalid path; if the remote cannot be repaired, skip this batch with 'p4reg fetch -r origin --skip-batch 2' (the skip is recorded)"
assert_eq "$(db "SELECT url, applied_seq FROM remote_state")" "$R|1"
assert_eq "$(db "SELECT name FROM models")" "x"
run 4 p4reg push && assert_one_line_error "--skip-batch 2"
run 2 p4reg fetch --skip-batch 3 && assert_one_line_error "batch 3 is not the next batch of remote 'origin' (the next is 2)"
run 2 p4reg fetch --skip-batch 0 && assert_one_line_error "--skip-batch"
run 2 p4reg fetch --skip-batch x
run 0 p4reg fetch --skip-batch 2
assert_contains "$OUT" "skipped batch 2 of 'origin' (sha256:$(sha "$R/log/0000000002.json")); recorded"
assert_contains "$OUT" "fetched from 'origin': 1 event in 1 batch"
assert_eq "$(db "SELECT url, seq, sha256, actor FROM remote_skipped")" "$R|2|$(sha "$R/log/0000000002.json")|Test Runner <test@example.com>"
assert_contains "$(db "SELECT error FROM remote_skipped")" "event 0: invalid path"
assert_eq "$(db "SELECT stage FROM versions")" "validation"
assert_eq "$(db "SELECT count(*) FROM models WHERE name = 'y'")" "0"
run 2 p4reg fetch --skip-batch 3 && assert_one_line_error "the next is 4"
run 1 p4reg fetch --skip-batch 4 && assert_one_line_error "remote 'origin' has no batch 4"
head -c $((17 * 1024 * 1024)) /dev/zero >"$R/log/0000000004.json"
run 4 p4reg fetch && assert_one_line_error "too large"
assert_contains "$ERR" "--skip-batch 4"
run 0 p4reg --json fetch --skip-batch 4
assert_contains "$OUT" '"skipped":{"batch":4,"sha256":null,"error":"'"'log/0000000004.json' on remote 'origin' is too large"
assert_eq "$(db "SELECT seq, sha256 IS NULL FROM remote_skipped ORDER BY seq")" "2|0
4|1"

begin "a version-number gap or a repeated number is refused, nothing applied"
R="$ROOT_TMP/r-gap"; mkdir -p "$R/log"
forge 1 "$R" '{"oid":"'"$O"'","size":3}'
forge 2 "$R" '{"version":3,"oid":"'"$O"'","size":3}'
victim gap "$R"
run 4 p4reg fetch
assert_one_line_error "remote log batch 2 registers x@3, but the log's next version of 'x' is 2 (a gap or a repeated number)"
assert_eq "$(db "SELECT number FROM versions")" "1"
forge 2 "$R" '{"version":1,"oid":"'"$O"'","size":3}'
run 4 p4reg fetch && assert_one_line_error "registers x@1, but the log's next version of 'x' is 2"
forge 2 "$R" '{"kind":"promote","version":2,"to":"staging"}'
run 4 p4reg fetch && assert_one_line_error "has a promote event for x@2, which the log never registered"
assert_eq "$(db "SELECT number || stage FROM versions")" "1development"
run 0 p4reg fetch --skip-batch 2          # the audit keeps why it did not apply
assert_contains "$(db "SELECT error FROM remote_skipped")" "has a promote event for x@2, which the log never registered"
assert_eq "$(db "SELECT number || stage FROM versions")" "1development"

begin "local versions renumbered after the log's keep their order; peers see no gap"
R="$ROOT_TMP/r-order"; mkdir -p "$R"
victim order-a "$R"
random_file models/x.bin 4; p4reg add models/x.bin -m a1 >/dev/null && p4reg push -q || fail "push a"
victim order-b "$R"
random_file models/x.bin 4; p4reg add models/x.bin -m b1 >/dev/null
random_file models/x.bin 4; p4reg add models/x.bin -m b2 >/dev/null
run 0 p4reg push
assert_contains "$OUT" "renumbered x@1 -> x@2"
assert_contains "$OUT" "renumbered x@2 -> x@3"
assert_contains "$(cat models/x.bin.p4reg)" "version 3"
assert_eq "$(db "SELECT number || message FROM versions ORDER BY number")" "1a1
2b1
3b2"
victim order-c "$R"
run 0 p4reg fetch
assert_eq "$(db "SELECT number || message FROM versions ORDER BY number")" "1a1
2b1
3b2"

begin "a remote event about a local unpublished version is refused"
R="$ROOT_TMP/r-local"; mkdir -p "$R/log"
victim local "$R"
random_file models/x.bin 4; p4reg add models/x.bin >/dev/null
forge 1 "$R" '{"kind":"promote","version":1,"from":"development","to":"production","forced":true}'
run 4 p4reg fetch && assert_one_line_error "has a promote event for x@1, which the log never registered"
assert_eq "$(db "SELECT stage FROM versions")" "development"

begin "a size that disagrees with the object: exit 4, nothing applied or stored"
R="$ROOT_TMP/r-size"; mkdir -p "$R/log"
victim size "$R"
cp "$ROOT_TMP/abc" mine.bin; p4reg add mine.bin >/dev/null          # the object is local
forge 1 "$R" '{"oid":"'"$O"'","size":999}'
before=$(snapshot)
run 4 p4reg fetch
assert_one_line_error "invalid event batch 'log/0000000001.json': event 0: x@1 says its object $O is 999 bytes, but it is 3"
assert_eq "$(snapshot)" "$before"
assert_eq "$(db 'SELECT count(*) FROM remote_state')" "0"
R3="$ROOT_TMP/r-size3"; mkdir -p "$R3/log"
forge 1 "$R3" '{"oid":"'"$O"'","size":3}'
forge 2 "$R3" '{"model":"z","oid":"'"$O"'","size":999,"path":"z.bin"}'
victim size-registry "$R3"
run 4 p4reg fetch
assert_one_line_error "remote log batch 2 says object $O of z@1 is 999 bytes; this registry knows it as 3 bytes"
assert_eq "$(db 'SELECT name FROM models')" "x"
cd "$ROOT_TMP/v/size" || exit 1
forge 1 "$R" '{"oid":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":7}'
run 4 p4reg fetch && assert_one_line_error "event 0: size disagrees with the oid"
R2="$ROOT_TMP/r-size2"; mkdir -p "$R2/log"
echo -n abcd >"$ROOT_TMP/abcd"; P=$(object "$R2" "$ROOT_TMP/abcd")
forge 1 "$R2" '{"model":"y","oid":"'"$P"'","size":999,"path":"y.bin"}'
victim size-download "$R2"
run 0 p4reg fetch
run 4 p4reg fetch y@1 && assert_one_line_error "has 4 bytes, expected 999"
assert_no_file ".p4reg/objects/${P:0:2}/${P:2:2}/$P"
printf 'p4reg-pointer 1\nmodel y\nversion 1\noid sha256:%s\nsize 999\n' "$P" >y.bin.p4reg
run 4 p4reg pull
assert_no_file y.bin
assert_eq "$(ls .p4reg/tmp | grep -v sync.lock | wc -l)" "0" "tmp/ not empty"

begin "hostile model paths in events are refused by the decoder"
R="$ROOT_TMP/r-paths"; mkdir -p "$R/log"
victim paths "$R"
before=$(snapshot)
long=$(big 250 n)
for p in '../../outside/pwned' '/tmp/abs' '.git/hooks/post-checkout' '.p4reg/config.local' \
	'models/.git/config' 'a/../../outside/x' 'models/x\nevil' 'models/\u0001x' 'x\\y' \
	"models/$long" 'models/emb.onnx.p4reg' 'models/.gitignore' ''; do
	forge 1 "$R" "{\"oid\":\"$O\",\"size\":3,\"path\":\"$p\"}"
	run 4 p4reg fetch && assert_one_line_error "event 0: invalid path" || echo "path case: $p" >&2
	assert_eq "$(snapshot)" "$before" "registry changed by path '$p'"
done
forge 1 "$R" '{"model":"../evil","oid":"'"$O"'","size":3}'
run 4 p4reg fetch && assert_one_line_error "event 0: invalid model name"
assert_eq "$(snapshot)" "$before"

begin "a registry path is validated again at use: rollback refuses an unsafe one"
fresh_repo
random_file m.bin 4; p4reg add m.bin >/dev/null
random_file m.bin 4; p4reg add m.bin >/dev/null
p4reg promote m@1 --to production --force >/dev/null && p4reg promote m@2 --to production --force >/dev/null
sqlite3 .p4reg/registry.db "UPDATE models SET path = '../../outside/pwned' WHERE name = 'm'"
before=$(snapshot)
run 4 p4reg rollback m
assert_one_line_error "model 'm' is bound to an unsafe path in the registry; nothing was rolled back"
run 4 p4reg rollback m --no-checkout
assert_eq "$(snapshot)" "$before"
assert_eq "$(db "SELECT number FROM versions WHERE stage = 'production'")" "2"

begin "the rollback hook's command is never recorded, printed or pushed"
R="$ROOT_TMP/r-hook"; mkdir -p "$R"
victim hook "$R"
random_file models/h.bin 4; p4reg add models/h.bin >/dev/null
random_file models/h.bin 4; p4reg add models/h.bin >/dev/null
p4reg promote h@1 --to production --force >/dev/null && p4reg promote h@2 --to production --force >/dev/null
run 0 p4reg config --local hooks.post-rollback 'true TOPSECRET-TOKEN-42'
run 0 p4reg rollback h
assert_contains "$OUT" "hook post-rollback exited with status 0"
assert_not_contains "$OUT$ERR" "TOPSECRET"
assert_eq "$(db "SELECT detail FROM events WHERE kind = 'hook'")" '{"hook":"post-rollback","status":0}'
run 0 p4reg history h && assert_not_contains "$OUT" "TOPSECRET"
run 0 p4reg --json history h && assert_not_contains "$OUT" "TOPSECRET"
assert_contains "$OUT" '"detail":{"hook":"post-rollback","status":0}'
run 0 p4reg config --local hooks.post-rollback 'exit 3 # TOPSECRET-TOKEN-42'
p4reg promote h@2 --to production --force >/dev/null
run 1 p4reg --json rollback h
assert_not_contains "$OUT$ERR" "TOPSECRET"
assert_contains "$OUT" '"hook":{"name":"post-rollback","status":3,"ok":false}'
# A hook event recorded by an older p4reg, with the command in its detail.
sqlite3 .p4reg/registry.db "INSERT INTO events(model_id, version_id, kind, actor, at_ms, reason, detail) SELECT m.id, v.id, 'hook', 'old', 5, 'post-rollback hook exited with status 0', '{\"hook\":\"post-rollback\",\"command\":\"curl TOPSECRET-TOKEN-42\",\"status\":0}' FROM models m JOIN versions v ON v.model_id = m.id WHERE v.number = 1"
run 0 p4reg push
assert_eq "$(grep -rl TOPSECRET "$R" | wc -l)" "0" "the hook's command reached the remote"
assert_eq "$(grep -o '"kind":"hook"' "$R"/log/*.json | wc -l)" "3"
victim hook-peer "$R"
run 0 p4reg fetch
assert_eq "$(db "SELECT DISTINCT detail FROM events WHERE kind = 'hook' ORDER BY 1")" '{"hook":"post-rollback","status":0}
{"hook":"post-rollback","status":3}'

begin "push refuses a version whose object is nowhere; the remote is untouched"
R="$ROOT_TMP/r-missing"; mkdir -p "$R"
victim missing "$R"
random_file models/a.bin 4; p4reg add models/a.bin >/dev/null
run 0 p4reg push
random_file models/b.bin 4; p4reg add models/b.bin >/dev/null
random_file models/a.bin 4; p4reg add models/a.bin >/dev/null
oa=$(sha models/a.bin); ob=$(sha models/b.bin)
chmod -R u+w .p4reg/objects && rm ".p4reg/objects/${oa:0:2}/${oa:2:2}/$oa" ".p4reg/objects/${ob:0:2}/${ob:2:2}/$ob"
rprint=$(remote_print "$R")
run 1 p4reg push
assert_one_line_error "cannot push to 'origin': the object of b@1 sha256:$ob, a@2 sha256:$oa is neither in the local store nor on the remote; nothing was pushed"
assert_contains "$ERR" "--allow-missing"
assert_eq "$(remote_print "$R")" "$rprint" "the remote changed"
assert_eq "$(db 'SELECT count(*) FROM remote_published')" "1"
run 1 p4reg push b && assert_one_line_error "the object of b@1 sha256:$ob is neither"
run 0 p4reg push --allow-missing
assert_contains "$ERR" "p4reg: warning: published b@1 sha256:$ob without its object"
assert_contains "$ERR" "p4reg: warning: published a@2 sha256:$oa without its object"
assert_contains "$OUT" "published as batch 2"
# An object that is on the remote is not missing.
random_file models/c.bin 4; p4reg add models/c.bin >/dev/null; oc=$(sha models/c.bin)
run 0 p4reg push
chmod -R u+w .p4reg/objects && rm ".p4reg/objects/${oc:0:2}/${oc:2:2}/$oc"
p4reg promote c@1 --to validation >/dev/null
run 0 p4reg push && assert_eq "$ERR" ""

begin "nothing outside the temporary area changed"
assert_eq "$(outside)" "$OUTSIDE_BEFORE" "the canary folder changed"
assert_no_file "$ROOT_TMP/outside/pwned"
assert_no_file "$ROOT_TMP/v/outside"

finish
