#!/usr/bin/env bash
# End-to-end: search and filter (issue 16). list --stage; log --where,
# --since, --until, -n (the filter runs in SQL on the value gates read);
# history --kind, --since, --until, -n; runs --sort [--desc]; metrics of
# three versions or more; "did you mean" for a mistyped command, model,
# stage or event kind. Every bad input: one line, exit 2, nothing changed.
. "$(dirname "$0")/lib.sh"

json() { printf '%s' "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
firsts() { printf '%s\n' "$OUT" | grep -v '^ ' | awk '{ print $1 }' | tr '\n' ' '; }

# emb@1..emb@5 registered one day apart from 2026-01-01 (rows set so the
# dates are known), with f1 0.5 0.9 0.8 - 0.85 and loss on @3 @4 @5; bert@1.
fresh_repo
for i in 1 2 3 4 5; do
	random_file models/emb.onnx 4
	p4reg add -q models/emb.onnx
done
random_file bert.bin 4 && p4reg add -q bert.bin
sqlite3 .p4reg/registry.db "UPDATE versions SET created_ms = 1767225600000 + (number - 1) * 86400000"
p4reg log-metric -q emb@1 f1=0.5
p4reg log-metric -q emb@2 f1=0.9
p4reg log-metric -q emb@3 f1=0.8 loss=0.3
p4reg log-metric -q emb@4 loss=0.1
p4reg log-metric -q emb@5 f1=0.85 loss=0.2
p4reg log-metric -q emb@5 f1=0.7 --experiment eval --run eval-5
p4reg promote -q emb@3 --to validation
p4reg promote -q emb@3 --to staging
p4reg promote -q bert@1 --to validation
base=$(snapshot)
unchanged() { assert_eq "$(snapshot)" "$base" "state changed after bad input"; }
oid() { db "SELECT substr(oid, 1, 12) FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = '$1' AND number = $2"; }

begin "list --stage: models with a version in the stage; JSON keeps its shape"
run 0 p4reg list --stage staging
assert_eq "$OUT" "MODEL                    VERSIONS LATEST  STAGING PRODUCTION PATH
emb                      5        5       3       -          models/emb.onnx"
run 0 p4reg list --stage validation && assert_eq "$(firsts)" "MODEL bert "
run 0 p4reg list --stage development && assert_eq "$(firsts)" "MODEL emb "
run 0 p4reg list --stage production && assert_eq "$OUT" "" && assert_eq "$ERR" "no model has a version in production"
run 0 p4reg --json list --stage staging
assert_eq "$(json '[m["name"] for m in d["models"]], sorted(d["models"][0])')" \
	"['emb'] ['created', 'description', 'latest', 'name', 'path', 'production', 'staging', 'versions']"
run 0 p4reg --json list --stage archived && assert_eq "$OUT" '{"models":[]}'

begin "list --stage: a bad stage is exit 2 with the closest stage"
run 2 p4reg list --stage prodution
assert_eq "$ERR" "p4reg: unknown stage 'prodution'
hint: did you mean 'production'?"
run 2 p4reg list --stage && assert_one_line_error "option '--stage' needs a value"
run 2 p4reg list --stage Production && assert_one_line_error "unknown stage 'Production'"
unchanged

begin "log --where: the newest versions whose value passes, exact lines"
run 0 p4reg log emb --where 'f1>=0.8'
assert_eq "$OUT" "emb@3    staging     $(oid emb 3)    4.0 KiB  2026-01-03T00:00:00Z  Test Runner <test@example.com>
    f1=0.8 loss=0.3
emb@2    development $(oid emb 2)    4.0 KiB  2026-01-02T00:00:00Z  Test Runner <test@example.com>
    f1=0.9"
# @5's f1 is 0.7: the eval run logged it last (the value gates read)
run 0 p4reg log emb --where 'f1<0.8' && assert_eq "$(firsts)" "emb@5 emb@1 "
run 0 p4reg log emb --where 'default:f1>0.8' && assert_eq "$(firsts)" "emb@5 emb@2 "
run 0 p4reg log emb --where 'f1 != 0.9' && assert_eq "$(firsts)" "emb@5 emb@3 emb@1 "
run 0 p4reg log emb --where 'loss<0.25' && assert_eq "$(firsts)" "emb@5 emb@4 "
run 0 p4reg log emb --where 'f1>0' --where 'loss<=0.3' && assert_eq "$(firsts)" "emb@5 emb@3 "
run 0 p4reg log emb --where 'f1>0' -n 2 && assert_eq "$(firsts)" "emb@5 emb@3 "
run 0 p4reg log emb -n 1 && assert_eq "$(firsts)" "emb@5 "
run 0 p4reg log emb --where 'recall>0' && assert_eq "$OUT" "" && assert_eq "$ERR" "no version of 'emb' matches"
run 0 p4reg -q log emb --where 'recall>0' && assert_eq "$ERR" ""
run 0 p4reg --json log emb --where 'f1>=0.85'
assert_eq "$(json 'd["name"], [v["version"] for v in d["history"]], d["history"][0]["metrics"]')" "emb [2] {'f1': 0.9}"
run 0 p4reg --json log emb --where 'recall>0' && assert_eq "$(json 'd["history"]')" "[]"

begin "log --since/--until: dates (a day whole) and ISO times"
run 0 p4reg log emb --since 2026-01-02 --until 2026-01-04 && assert_eq "$(firsts)" "emb@4 emb@3 emb@2 "
run 0 p4reg log emb --since 2026-01-04T00:00:00Z && assert_eq "$(firsts)" "emb@5 emb@4 "
run 0 p4reg log emb --until 2026-01-01T23:59:59+00:00 && assert_eq "$(firsts)" "emb@1 "
run 0 p4reg log emb --since 2026-01-02T01:00:00+02:00 -n 1 && assert_eq "$(firsts)" "emb@5 "
run 0 p4reg log emb --since 2026-01-03 --where 'f1>=0.8' && assert_eq "$(firsts)" "emb@3 "

begin "log: bad --where, date and -n are one line, exit 2, nothing changed"
run 2 p4reg log emb --where 'f1>>0.8'
assert_eq "$ERR" "p4reg: invalid --where 'f1>>0.8': expected an operator < <= > >= == != after 'f1'"
run 2 p4reg log emb --where 'f1' && assert_one_line_error "invalid --where 'f1': expected an operator"
run 2 p4reg log emb --where 'f1>=' && assert_one_line_error "invalid --where 'f1>=': expected a number"
run 2 p4reg log emb --where 'f1>=high' && assert_one_line_error "invalid --where 'f1>=high'"
run 2 p4reg log emb --where 'f1>=nan' && assert_one_line_error "invalid --where 'f1>=nan'"
run 2 p4reg log emb --where 'a b>=1' && assert_one_line_error "invalid --where 'a b>=1'"
run 2 p4reg log emb --where 'f1>=production'
assert_one_line_error "invalid --where 'f1>=production': compare with a number"
run 2 p4reg log emb --where && assert_one_line_error "option '--where' needs a value"
run 2 p4reg log emb --since 2026-02-30 && assert_one_line_error "invalid time '2026-02-30'"
run 2 p4reg log emb --since yesterday && assert_one_line_error "invalid time 'yesterday'"
run 2 p4reg log emb --until 2026-01-01T10:00 && assert_one_line_error "invalid time '2026-01-01T10:00': give a time zone"
run 2 p4reg log emb --since 2026-01-03 --until 2026-01-02 && assert_one_line_error "--until is before --since"
for n in 0 -1 x 1.5 '' 99999999999999999999; do
	run 2 p4reg log emb -n "$n" && assert_eq "$ERR" "p4reg: invalid -n '$n': give a count from 1"
done
run 2 p4reg log emb --max-count 0 && assert_one_line_error "invalid -n '0'"
run 2 p4reg --json log emb --where 'f1>>0.8' && assert_eq "$(json 'd["error"]["code"]')" "usage"
run 1 p4reg log emd --where 'f1>0'
assert_eq "$ERR" "p4reg: unknown model 'emd'
hint: did you mean 'emb'?"
unchanged

begin "history --kind, -n (the last N, oldest first), --since, --until"
run 0 p4reg history --kind promote
assert_eq "$(printf '%s\n' "$OUT" | awk '{ print $2, $3, $4, $5, $6 }')" "emb@3 promote development -> validation
emb@3 promote validation -> staging
bert@1 promote development -> validation"
run 0 p4reg history -n 2 && assert_eq "$(printf '%s\n' "$OUT" | awk '{ print $2, $3 }')" "emb@3 promote
bert@1 promote"
run 0 p4reg history emb -n 1 --kind log-metric && assert_eq "$(printf '%s\n' "$OUT" | awk '{ print $2, $3 }')" "emb@5 log-metric"
run 0 p4reg history emb --kind register && assert_eq "$(printf '%s\n' "$OUT" | wc -l)" "5"
run 0 p4reg history --since 2026-01-01 && assert_eq "$(printf '%s\n' "$OUT" | wc -l)" "$(db 'SELECT count(*) FROM events')"
run 0 p4reg history --until 2026-01-01 && assert_eq "$OUT" ""
run 0 p4reg history --since 2100-01-01T00:00:00Z && assert_eq "$OUT" ""
run 0 p4reg --json history --kind promote -n 1
assert_eq "$(json '[(e["model"], e["version"], e["kind"], e["to"]) for e in d["events"]]')" "[('bert', 1, 'promote', 'validation')]"

begin "history: unknown --kind, bad dates and -n: exit 2"
run 2 p4reg history --kind promte
assert_eq "$ERR" "p4reg: unknown event kind 'promte'
hint: did you mean 'promote'?"
run 2 p4reg history --kind nothing && assert_eq "$ERR" "p4reg: unknown event kind 'nothing'"
run 2 p4reg history --kind && assert_one_line_error "option '--kind' needs a value"
run 2 p4reg history --since 2026-1-1 && assert_one_line_error "invalid time '2026-1-1'"
run 2 p4reg history --until tomorrow && assert_one_line_error "invalid time 'tomorrow'"
for n in 0 -1 abc; do
	run 2 p4reg history -n "$n" && assert_eq "$ERR" "p4reg: invalid -n '$n': give a count from 1"
done
# a kind this p4reg writes, without an event yet: none, exit 0
run 0 p4reg history --kind hook && assert_eq "$OUT" ""
unchanged
# a kind an event in the registry has is known, even one this p4reg does
# not write (a newer p4reg's, fetched from a remote)
sqlite3 .p4reg/registry.db "INSERT INTO events(model_id, kind, actor, at_ms) VALUES (1, 'retrain', 'ci', 1767225600000)"
run 0 p4reg history --kind retrain && assert_eq "$(printf '%s\n' "$OUT" | awk '{ print $2, $3, $4 }')" "emb retrain ci"
run 2 p4reg history --kind retrian && assert_eq "$ERR" "p4reg: unknown event kind 'retrian'"
base=$(snapshot)

begin "runs --sort KEY: lowest first, --desc highest first, runs without KEY last"
run 0 p4reg runs emb --sort f1
assert_eq "$(printf '%s\n' "$OUT" | grep -v '^ ' | awk '{ print $2 }' | tr '\n' ' ')" "emb@1 emb@5 emb@3 emb@5 emb@2 emb@4 "
run 0 p4reg runs emb --sort f1 --desc
assert_eq "$(printf '%s\n' "$OUT" | grep -v '^ ' | awk '{ print $2 }' | tr '\n' ' ')" "emb@2 emb@5 emb@3 emb@5 emb@1 emb@4 "
run 0 p4reg --json runs --sort loss --desc
assert_eq "$(json '[(r["version"], r["metrics"].get("loss")) for r in d["runs"]]')" \
	"[(3, 0.3), (5, 0.2), (4, 0.1), (5, None), (2, None), (1, None)]"
run 2 p4reg runs --sort 'a b' && assert_one_line_error "invalid metric key 'a b'"
run 2 p4reg runs --desc && assert_one_line_error "--desc needs --sort KEY"
run 2 p4reg runs --sort && assert_one_line_error "option '--sort' needs a value"
unchanged

begin "metrics of three versions or more: a column each, the best marked"
run 0 p4reg metrics emb@1 emb@2 emb@3 emb@4
assert_eq "$OUT" "metric  emb@1  emb@2  emb@3  emb@4  best
f1      0.5    0.9    0.8    -      emb@2
loss    -      -      0.3    0.1    emb@4"
run 0 p4reg metrics --csv emb@3 emb@4 emb@5
assert_eq "$OUT" "metric,emb@3,emb@4,emb@5,goal,best
f1,0.8,,0.7,max,emb@3
loss,0.3,0.1,0.2,min,emb@4"
run 0 p4reg metrics --experiment default emb@1 emb@3 emb@5
assert_eq "$OUT" "metric  emb@1  emb@3  emb@5  best
f1      0.5    0.8    0.85   emb@5
loss    -      0.3    0.2    emb@5"
run 0 p4reg metrics emb@2 emb@2 emb@2 && assert_eq "$(printf '%s\n' "$OUT" | tail -1)" "f1      0.9    0.9    0.9    ="
run 0 p4reg --json metrics emb@1 emb@2 bert@1
assert_eq "$OUT" '{"versions":[{"model":"emb","version":1,"stage":"development"},{"model":"emb","version":2,"stage":"development"},{"model":"bert","version":1,"stage":"validation"}],"metrics":[{"key":"f1","values":[0.5,0.9,null],"goal":"max","best":[1]}]}'
run 1 p4reg metrics emb@1 emb@2 emb@9 && assert_one_line_error "model 'emb' has no version 9"
run 2 p4reg metrics emb@1 emb@2 emb@3 --history f1 && assert_one_line_error "--history needs exactly one REF"
unchanged

begin "did you mean: a mistyped command, exit 2; unknown model: a hint line"
run 2 p4reg promte emb@1 --to validation && assert_eq "$ERR" "p4reg: 'promte' is not a command. did you mean 'promote'?"
run 2 p4reg lsit && assert_eq "$ERR" "p4reg: 'lsit' is not a command. did you mean 'list'?"
run 2 p4reg frobnicate && assert_eq "$ERR" "p4reg: 'frobnicate' is not a p4reg command; see 'p4reg help'"
run 2 p4reg help rollbak && assert_eq "$ERR" "p4reg: 'rollbak' is not a command. did you mean 'rollback'?"
run 2 p4reg --json promte && assert_eq "$OUT" '{"error":{"code":"usage","message":"'"'"'promte'"'"' is not a command. did you mean '"'"'promote'"'"'?"}}'
run 1 p4reg show emd@1 && assert_eq "$ERR" "p4reg: unknown model 'emd'
hint: did you mean 'emb'?"
run 1 p4reg history bret && assert_eq "$ERR" "p4reg: unknown model 'bret'
hint: did you mean 'bert'?"
run 1 p4reg --json runs emd
assert_eq "$OUT" '{"error":{"code":"not_found","message":"unknown model '"'"'emd'"'"'","hint":"did you mean '"'"'emb'"'"'?"}}'
run 1 p4reg log zzzzzz && assert_eq "$ERR" "p4reg: unknown model 'zzzzzz'"
unchanged

finish
