#!/usr/bin/env bash
# End-to-end: promote (rules, gates, policies), rollback (restoring bytes,
# hooks), history, and two processes promoting at once.
. "$(dirname "$0")/lib.sh"

# newver N: writes fresh bytes to models/m.bin, adds them as m@N, and keeps
# their sha256 in SHA_N.
newver() {
	random_file models/m.bin 64
	eval "SHA_$1=$(sha models/m.bin)"
	p4reg add -q models/m.bin >/dev/null || fail "add of version $1 failed"
	assert_eq "$(db "SELECT max(number) FROM versions")" "$1" "version number"
}
stage() { db "SELECT stage FROM versions WHERE number = $1"; }
# metric REF KEY=VALUE...: logs into run "r" at a fixed time (gate output names both).
metric() { p4reg -q log-metric "$@" --run r --time 2026-02-18T09:30:00Z >/dev/null || fail "log-metric $* failed"; }

begin "promote walks a version through every stage"
fresh_repo
newver 1
run 0 p4reg promote m@1 --to validation -m "passed unit eval" && assert_eq "$OUT" "promoted m@1 from development to validation"
run 0 p4reg promote m@1 --to staging && assert_eq "$(stage 1)" "staging"
run 0 p4reg promote models/m.bin --to production && assert_eq "$(stage 1)" "production"
run 0 p4reg --json list && assert_contains "$OUT" '"staging":null,"production":1'
run 0 p4reg promote m@1 --to archived && assert_eq "$(stage 1)" "archived"
run 3 p4reg promote m@1 --to production && assert_one_line_error "leaving archived (archived to production) needs --force"
run 0 p4reg promote m@1 --to production --force -m "restore by hand" && assert_eq "$OUT" "promoted m@1 from archived to production (forced)"
assert_eq "$(db "SELECT kind, from_stage, to_stage, forced, reason FROM events WHERE version_id = 1 ORDER BY id")" "register||development|0|
promote|development|validation|0|passed unit eval
promote|validation|staging|0|
promote|staging|production|0|
promote|production|archived|0|
promote|archived|production|1|restore by hand"
assert_eq "$(db "SELECT DISTINCT actor FROM events")" "Test Runner <test@example.com>"

begin "promoting into staging or production archives the previous holder"
newver 2
run 0 p4reg promote m@2 --to validation
run 0 p4reg promote m@2 --to staging
run 0 p4reg promote m@2 --to production
assert_eq "$OUT" "promoted m@2 from staging to production
archived m@1 (replaced by v2)"
assert_eq "$(db "SELECT number || ':' || stage FROM versions ORDER BY number" | tr '\n' ' ')" "1:archived 2:production "
assert_eq "$(db "SELECT reason FROM events WHERE version_id = 1 ORDER BY id DESC LIMIT 1")" "replaced by v2"

begin "refusals exit 3 and change nothing"
newver 3
metric m@3 f1=0.75
metric m@2 f1=0.82
before=$(snapshot)
run 3 p4reg promote m@3 --to staging && assert_one_line_error "cannot promote 'm@3' to staging: skipping a stage (development to staging) needs --force"
run 3 p4reg promote m@2 --to staging && assert_one_line_error "moving backward (production to staging) needs --force"
run 3 p4reg promote m@2 --to production && assert_one_line_error "'m@2' is already in production"
run 3 p4reg --json promote m@2 --to production
assert_eq "$OUT" '{"promoted":false,"model":"m","version":2,"from":"production","to":"production","forced":false,"replaced":null,"conditions":[],"reason":"'"'"'m@2'"'"' is already in production","refusal":{"kind":"already-there","message":"'"'"'m@2'"'"' is already in production"}}'
# gate below a threshold, with both values shown
run 3 p4reg promote m@3 --to validation --require 'f1 >= 0.8'
assert_eq "$OUT" "refused: m@3 development -> validation
  FAIL  f1>=0.8: 0.75 >= 0.8
        m@3 f1=0.75: run r (experiment default), step 0"
assert_one_line_error "cannot promote 'm@3' to validation: 1 of 1 conditions failed (f1>=0.8)"
# --force skips the step rule, never the gates
run 3 p4reg promote m@3 --to production --force --require 'f1>=0.8'
# a missing metric fails its condition
run 3 p4reg promote m@3 --to validation --require 'recall>0.5' --require 'f1>0.7'
assert_eq "$OUT" "refused: m@3 development -> validation
  FAIL  recall>0.5: missing > 0.5
        m@3 recall: no run logged it
  pass  f1>0.7: 0.75 > 0.7
        m@3 f1=0.75: run r (experiment default), step 0"
# gate against production
run 3 p4reg promote m@3 --to validation --require 'f1>=production'
assert_eq "$OUT" "refused: m@3 development -> validation
  FAIL  f1>=production: 0.75 >= 0.82 (production v2)
        m@3 f1=0.75: run r (experiment default), step 0
        m@2 f1=0.82: run r (experiment default), step 0"
run 3 p4reg --json promote m@3 --to validation --require 'f1>=production'
assert_eq "$OUT" '{"promoted":false,"model":"m","version":3,"from":"development","to":"validation","forced":false,"replaced":null,"conditions":[{"expr":"f1>=production","key":"f1","experiment":null,"op":">=","left":0.75,"left_run":{"name":"r","experiment":"default","step":0,"time":"2026-02-18T09:30:00Z"},"right":0.82,"right_run":{"name":"r","experiment":"default","step":0,"time":"2026-02-18T09:30:00Z"},"right_source":"production v2","pass":false,"origin":"--require"}],"reason":"cannot promote '"'"'m@3'"'"' to validation: 1 of 1 conditions failed (f1>=production)","refusal":{"kind":"gate","message":"cannot promote '"'"'m@3'"'"' to validation: 1 of 1 conditions failed (f1>=production)"}}'
assert_eq "$ERR" ""
# gate against a stage nobody holds
run 3 p4reg promote m@3 --to validation --require 'f1>=staging'
assert_contains "$OUT" "FAIL  f1>=staging: 0.75 >= - (no version in staging)"
# usage errors: exit 2
run 2 p4reg promote m@3 --to prod && assert_one_line_error "unknown stage 'prod'"
run 2 p4reg promote m@3 && assert_one_line_error "promote needs --to STAGE"
run 2 p4reg promote --to validation && assert_one_line_error "promote needs a REF"
run 2 p4reg promote m@3 --to validation --require 'f1=0.8' && assert_one_line_error "invalid gate 'f1=0.8'"
run 2 p4reg promote m@3 --to validation --require 'f1>=validation'
run 2 p4reg promote m@3 --to validation --require 'f1>=abc'
run 2 p4reg --json promote m@3 --to validation --require 'f1>>1'
assert_contains "$OUT" '{"error":{"code":"usage"'
run 1 p4reg promote m@9 --to validation && assert_one_line_error "model 'm' has no version 9"
run 1 p4reg promote nope@1 --to validation && assert_one_line_error "unknown model 'nope'"
assert_eq "$(snapshot)" "$before" "a refusal changed something"

begin "passing gates: the event keeps the evaluated conditions"
metric m@3 f1=0.9 --step 2
run 0 p4reg promote m@3 --to validation --require 'f1>=production' --require 'f1 >= 0.85'
assert_eq "$OUT" "promoted m@3 from development to validation
  pass  f1>=production: 0.9 >= 0.82 (production v2)
        m@3 f1=0.9: run r (experiment default), step 2
        m@2 f1=0.82: run r (experiment default), step 0
  pass  f1>=0.85: 0.9 >= 0.85
        m@3 f1=0.9: run r (experiment default), step 2"
detail=$(db "SELECT detail FROM events WHERE version_id = 3 ORDER BY id DESC LIMIT 1")
R='{"name":"r","experiment":"default","step":2,"time":"2026-02-18T09:30:00Z"}'
assert_eq "$detail" '{"conditions":[{"expr":"f1>=production","key":"f1","experiment":null,"op":">=","left":0.9,"left_run":'"$R"',"right":0.82,"right_run":{"name":"r","experiment":"default","step":0,"time":"2026-02-18T09:30:00Z"},"right_source":"production v2","pass":true,"origin":"--require"},{"expr":"f1>=0.85","key":"f1","experiment":null,"op":">=","left":0.9,"left_run":'"$R"',"right":0.85,"right_run":null,"right_source":"0.85","pass":true,"origin":"--require"}],"replaced":null}'
run 0 p4reg --json promote m@3 --to staging
assert_eq "$OUT" '{"promoted":true,"model":"m","version":3,"from":"validation","to":"staging","forced":false,"replaced":null,"conditions":[],"reason":null,"refusal":null}'

begin "config policies apply to every promotion into their stage"
git config -f .p4reg/config --add stage.production.require 'f1>=production'
git config -f .p4reg/config --add stage.production.require 'latency_ms <= 20'
before=$(snapshot)
run 3 p4reg promote m@3 --to production
assert_eq "$OUT" "refused: m@3 staging -> production
  pass  f1>=production: 0.9 >= 0.82 (production v2)
        m@3 f1=0.9: run r (experiment default), step 2
        m@2 f1=0.82: run r (experiment default), step 0
  FAIL  latency_ms<=20: missing <= 20
        m@3 latency_ms: no run logged it"
assert_eq "$(snapshot)" "$before" "a refused policy changed something"
metric m@3 latency_ms=15
run 0 p4reg promote m@3 --to production -m "better f1"
assert_contains "$OUT" "pass  latency_ms<=20: 15 <= 20"
assert_eq "$(stage 3)" "production"
assert_eq "$(stage 2)" "archived"
git config -f .p4reg/config --add stage.staging.require 'f1>>1'
run 2 p4reg promote m@1 --to staging --force && assert_one_line_error "stage.staging.require"
git config -f .p4reg/config --unset-all stage.staging.require
git config -f .p4reg/config --unset-all stage.production.require

begin "rollback restores the exact bytes, twice, never onto a rolled-back version"
fresh_repo
for n in 1 2 3 4; do newver "$n"; done
metric m@1 f1=0.7 latency_ms=10
metric m@2 f1=0.8
metric m@3 f1=0.6 latency_ms=30
for n in 1 2 3; do run 0 p4reg promote "m@$n" --to production --force; done
before=$(snapshot)
run 3 p4reg rollback m --to 4 && assert_one_line_error "'m@4' never held production"
run 3 p4reg rollback m --to 3 && assert_one_line_error "'m@3' is already in production"
assert_eq "$(snapshot)" "$before" "a refused rollback changed something"
run 0 p4reg checkout m@3
assert_eq "$(sha models/m.bin)" "$SHA_3"
run 0 p4reg rollback m -m "f1 dropped in prod"
assert_eq "$OUT" "rolled back m: production is now v2 (v3 archived, marked rolled back)
restored models/m.bin (m@2, sha256:${SHA_2:0:12})
metric      v2 (restored)       v3 (rolled back)
f1          0.8                 0.6
latency_ms  -                   30"
assert_eq "$(sha models/m.bin)" "$SHA_2"
assert_contains "$(cat models/m.bin.p4reg)" "version 2"
assert_eq "$(db "SELECT number || ':' || stage || ':' || rolled_back FROM versions ORDER BY number" | tr '\n' ' ')" "1:archived:0 2:production:0 3:archived:1 4:development:0 "
assert_eq "$(db "SELECT kind, from_stage, to_stage, reason FROM events WHERE kind = 'rollback' ORDER BY id")" "rollback|production|archived|f1 dropped in prod
rollback|archived|production|f1 dropped in prod"
run 0 p4reg status && assert_contains "$OUT" "clean"
run 0 p4reg --json rollback m
assert_eq "$(echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["restored"]["version"], d["rolled_back"]["version"], d["rolled_back"]["rolled_back"], d["checkout"], d["hook"], d["metrics"])')" \
	"1 2 True written None [{'key': 'f1', 'restored': 0.7, 'rolled_back': 0.8}, {'key': 'latency_ms', 'restored': 10, 'rolled_back': None}]"
assert_eq "$(sha models/m.bin)" "$SHA_1"
before=$(snapshot)
run 3 p4reg rollback m && assert_one_line_error "model 'm' has no earlier production version to roll back to"
run 3 p4reg rollback m --to 3 && assert_one_line_error "'m@3' was rolled back before; --force restores it anyway"
assert_eq "$(snapshot)" "$before" "a refused rollback changed something"
run 0 p4reg rollback m --to 3 --force -m "false alarm"
assert_contains "$OUT" "production is now v3 (v1 archived, marked rolled back) (forced)"
assert_eq "$(sha models/m.bin)" "$SHA_3"
assert_eq "$(db "SELECT forced FROM events WHERE kind = 'rollback' ORDER BY id DESC LIMIT 1")" "1"

begin "rollback --to N picks the target; nothing to roll back exits 3"
fresh_repo
for n in 1 2 3; do newver "$n"; done
before=$(snapshot)
run 3 p4reg rollback m && assert_one_line_error "model 'm' has no production version; nothing to roll back"
assert_eq "$(snapshot)" "$before"
run 0 p4reg promote m@1 --to production --force
before=$(snapshot)
run 3 p4reg rollback m && assert_one_line_error "no earlier production version"
run 3 p4reg --json rollback m && assert_contains "$OUT" '{"error":{"code":"refused"'
assert_eq "$(snapshot)" "$before"
run 0 p4reg promote m@2 --to production --force
run 0 p4reg promote m@3 --to production --force
run 0 p4reg rollback m --to 1 && assert_contains "$OUT" "production is now v1 (v3 archived"
assert_eq "$(sha models/m.bin)" "$SHA_1"
assert_eq "$(stage 2)" "archived"
run 1 p4reg rollback nope && assert_one_line_error "unknown model 'nope'"
run 2 p4reg rollback && assert_one_line_error "rollback needs a MODEL"
run 2 p4reg rollback m --to x && assert_one_line_error "--to"
run 2 p4reg rollback m --to 0

begin "rollback --no-checkout leaves the work tree alone"
run 0 p4reg rollback m --no-checkout
assert_contains "$OUT" "production is now v2"
assert_eq "$(sha models/m.bin)" "$SHA_1" "--no-checkout touched the file"

begin "rollback refuses when the target's bytes are not in the store"
fresh_repo
newver 1; newver 2
run 0 p4reg promote m@1 --to production --force
run 0 p4reg promote m@2 --to production --force
chmod -R u+w .p4reg/objects && rm -f ".p4reg/objects/${SHA_1:0:2}/${SHA_1:2:2}/$SHA_1"
before=$(snapshot)
run 1 p4reg rollback m && assert_one_line_error "is not in the local store"
assert_eq "$(snapshot)" "$before"
run 0 p4reg rollback m --no-checkout
assert_eq "$(stage 1)" "production"

begin "rollback never overwrites local changes; the registry change stays"
fresh_repo
newver 1; newver 2
run 0 p4reg promote m@1 --to production --force
run 0 p4reg promote m@2 --to production --force
p4reg config --local hooks.post-rollback "touch '$ROOT_TMP/hook-ran'"
echo "local edit" >>models/m.bin
edited=$(sha models/m.bin)
run 1 p4reg rollback m
assert_one_line_error "rolled back 'm' to v1 in the registry, but 'models/m.bin' was not restored"
assert_contains "$ERR" "p4reg checkout --force m@production"
assert_eq "$(sha models/m.bin)" "$edited" "local changes were overwritten"
assert_eq "$(stage 1)" "production"
assert_no_file "$ROOT_TMP/hook-ran"
run 0 p4reg checkout --force m@production
assert_eq "$(sha models/m.bin)" "$SHA_1"

begin "post-rollback hook: trusted config only, with the environment"
fresh_repo
newver 1; newver 2
run 0 p4reg promote m@1 --to production --force
run 0 p4reg promote m@2 --to production --force
hookout="$ROOT_TMP/hook-env"
git config -f .p4reg/config hooks.post-rollback "touch '$ROOT_TMP/committed-hook-ran'"
run 0 p4reg rollback m
assert_no_file "$ROOT_TMP/committed-hook-ran"
assert_eq "$(db "SELECT count(*) FROM events WHERE kind = 'hook'")" "0"
run 0 p4reg promote m@2 --to production --force
run 0 p4reg config --local hooks.post-rollback "env | grep -E '^P4REG_(MODEL|VERSION|PATH|ROLLED_BACK)=' | sort >'$hookout'; pwd >>'$hookout'; echo hook-says-\$((6*7))"
run 0 p4reg --json rollback m
assert_not_contains "$OUT" "hook-says-42"
assert_contains "$ERR" "hook-says-42"
assert_contains "$OUT" '"hook":{"name":"post-rollback","status":0,"ok":true}'
assert_not_contains "$OUT" "hook-says" "the hook's command in the output"
assert_contains "$OUT" '"status":0,"ok":true}'
assert_eq "$(cat "$hookout")" "P4REG_MODEL=m
P4REG_PATH=$PWD/models/m.bin
P4REG_ROLLED_BACK=2
P4REG_VERSION=1
$PWD"
assert_no_file "$ROOT_TMP/committed-hook-ran"
assert_eq "$(db "SELECT kind, reason FROM events WHERE kind = 'hook'")" "hook|post-rollback hook exited with status 0"

begin "a failing hook exits 1; the rollback stays recorded"
run 0 p4reg promote m@2 --to production --force
run 0 p4reg config --local hooks.post-rollback "exit 7"
run 1 p4reg rollback m -m "bad canary"
assert_one_line_error "the post-rollback hook exited with status 7; the rollback to v1 is recorded"
assert_not_contains "$ERR" "exit 7" "the hook's command in the error"
assert_contains "$OUT" "production is now v1"
assert_eq "$(stage 1)" "production"
assert_eq "$(stage 2)" "archived"
assert_eq "$(sha models/m.bin)" "$SHA_1"
assert_eq "$(db "SELECT reason, detail FROM events ORDER BY id DESC LIMIT 1")" \
	'post-rollback hook exited with status 7|{"hook":"post-rollback","status":7}'
run 0 p4reg promote m@2 --to production --force
run 1 p4reg --json rollback m
assert_contains "$OUT" '"hook":{"name":"post-rollback","status":7,"ok":false}'
assert_eq "$(echo "$OUT" | wc -l)" "1"

begin "history: every event, oldest first, with --since and --json"
run 0 p4reg history m
first=$(echo "$OUT" | head -1)
assert_contains "$first" "m@1"
assert_contains "$first" "register"
assert_contains "$OUT" "promote    development -> production  forced  Test Runner <test@example.com>"
assert_contains "$OUT" "rollback   production -> archived"
assert_contains "$OUT" "hook"
assert_contains "$OUT" "bad canary"
assert_eq "$(echo "$OUT" | wc -l)" "$(db 'SELECT count(*) FROM events')"
run 0 p4reg --json history
assert_eq "$(echo "$OUT" | python3 -c 'import json,sys; e=json.load(sys.stdin)["events"]; print(len(e), e[0]["kind"], [x["id"] for x in e] == sorted(x["id"] for x in e))')" "$(db 'SELECT count(*) FROM events') register True"
run 0 p4reg history --since 2999-01-01 && assert_eq "$OUT" ""
run 0 p4reg history m --since 2000-01-01T00:00:00Z
assert_eq "$(echo "$OUT" | wc -l)" "$(db 'SELECT count(*) FROM events')"
run 2 p4reg history --since yesterday && assert_one_line_error "invalid time 'yesterday'"
run 2 p4reg history --since 2026-02-30
run 1 p4reg history nope && assert_one_line_error "unknown model 'nope'"
run 2 p4reg history a b

begin "two processes promoting one model to production at once: one winner, both events"
fresh_repo
for round in 1 2 3; do
	newver $((round * 2 - 1)); newver $((round * 2))
	a=$((round * 2 - 1)); b=$((round * 2))
	p4reg -q promote "m@$a" --to validation && p4reg -q promote "m@$a" --to staging || fail "setup"
	p4reg -q promote "m@$b" --to validation || fail "setup"
	p4reg -q promote "m@$a" --to production -m "job a" & pa=$!
	p4reg -q promote "m@$b" --to production --force -m "job b" & pb=$!
	wait $pa; ra=$?; wait $pb; rb=$?
	assert_eq "$ra $rb" "0 0" "concurrent promotions"
	assert_eq "$(db "SELECT count(*) FROM versions WHERE stage = 'production'")" "1"
	assert_eq "$(db "SELECT count(*) FROM events WHERE to_stage = 'production' AND reason IN ('job a', 'job b') AND version_id IN (SELECT id FROM versions WHERE number IN ($a, $b))")" "2"
	winner=$(db "SELECT number FROM versions WHERE stage = 'production'")
	last=$(db "SELECT v.number FROM events e JOIN versions v ON v.id = e.version_id WHERE e.to_stage = 'production' ORDER BY e.id DESC LIMIT 1")
	assert_eq "$winner" "$last" "the last promotion holds production"
done
run 0 p4reg history m
assert_contains "$OUT" "job a"
assert_contains "$OUT" "job b"

finish
