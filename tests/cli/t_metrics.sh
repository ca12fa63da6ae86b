#!/usr/bin/env bash
# End-to-end: log-metric, metrics (table, comparison, history), runs, and the
# metrics in show and log; every bad input leaves the registry untouched.
. "$(dirname "$0")/lib.sh"

# A repository with emb@1 and emb@2 (and their files).
two_versions() {
	fresh_repo
	random_file models/emb.onnx 16
	p4reg add -q models/emb.onnx >/dev/null 2>&1 || fail "add 1"
	random_file models/emb.onnx 16
	p4reg add -q models/emb.onnx >/dev/null 2>&1 || fail "add 2"
}
nmetrics() { db 'SELECT count(*) FROM metrics'; }
# Everything metrics-related plus the snapshot of the rest.
state() { echo "$(snapshot) $(db 'SELECT count(*) FROM metrics') $(db 'SELECT count(*) FROM runs') $(db 'SELECT count(*) FROM params')"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

begin "help lists the commands and their usage"
cd "$ROOT_TMP"
run 0 p4reg help && assert_contains "$OUT" "log-metric" && assert_contains "$OUT" "runs"
run 0 p4reg help log-metric && assert_contains "$OUT" "usage: p4reg log-metric REF KEY=VALUE"
run 0 p4reg metrics --help && assert_contains "$OUT" "usage: p4reg metrics"
run 0 p4reg runs -h && assert_contains "$OUT" "usage: p4reg runs"

begin "log-metric records metrics in a run named by the convention"
two_versions
run 0 p4reg log-metric emb@1 spearman=0.83 cosine=0.91 --experiment embedding_quality --time 2026-02-18T09:30:00Z
assert_contains "$OUT" "logged 2 metrics and 0 params on emb@1"
assert_contains "$OUT" "run 20260218_emb_embedding_quality_v1 (experiment embedding_quality, step 0, 2026-02-18T09:30:00Z)"
assert_eq "$(db "SELECT name, experiment, created_ms FROM runs")" "20260218_emb_embedding_quality_v1|embedding_quality|1771407000000"
assert_eq "$(db "SELECT v.number, m.key, m.value, m.step, m.at_ms FROM metrics m JOIN versions v ON v.id = m.version_id ORDER BY m.id")" \
"1|spearman|0.83|0|1771407000000
1|cosine|0.91|0|1771407000000"
assert_eq "$(db "SELECT kind, actor FROM events WHERE kind = 'log-metric'")" "log-metric|Test Runner <test@example.com>"
assert_contains "$(db "SELECT detail FROM events WHERE kind = 'log-metric'")" '"run":"20260218_emb_embedding_quality_v1"'
# Experiment default "default"; a bare model name is its latest version; a path its pointer's.
run 0 p4reg log-metric emb f1=0.8 --time 2026-02-19T23:59:59Z && assert_contains "$OUT" "run 20260219_emb_default_v2 "
run 0 p4reg log-metric models/emb.onnx recall@5=0.7 --time 2026-02-19T10:00:00+01:00 && assert_contains "$OUT" "on emb@2"
assert_eq "$(db "SELECT count(*) FROM runs WHERE name = '20260219_emb_default_v2'")" "1"
run 0 p4reg --json log-metric emb@v1 precision@5=0.5 tokens/sec=41.5 --run my-run --param lr=0.001 --step 3 --time 2026-02-18T09:30:00Z
assert_eq "$OUT" '{"model":"emb","version":1,"run":"my-run","experiment":"default","step":3,"time":"2026-02-18T09:30:00Z","metrics":{"precision@5":0.5,"tokens/sec":41.5},"params":{"lr":"0.001"}}'
run 0 p4reg -q log-metric emb@1 f1=0.1 && assert_eq "$OUT" ""

begin "logging to an existing run appends; params are immutable"
two_versions
run 0 p4reg log-metric emb@1 f1=0.70 --run r1 --param lr=0.1 --param epochs=3
run 0 p4reg log-metric emb@1 f1=0.75 --run r1 --step 1 --param lr=0.1
assert_eq "$(db 'SELECT count(*) FROM runs')" "1"
assert_eq "$(db "SELECT count(*) FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.name = 'r1'")" "2"
before=$(state)
run 3 p4reg log-metric emb@1 f1=0.99 recall=0.5 --run r1 --param lr=0.2
assert_one_line_error "param 'lr' of run 'r1' is '0.1', not '0.2'; params are immutable"
assert_eq "$(state)" "$before" "refused param changed something"
run 3 p4reg --json log-metric emb@1 f1=0.99 --run r1 --param epochs=4
assert_eq "$(echo "$OUT" | json 'd["error"]["code"]')" "refused"
run 3 p4reg log-metric emb@1 f1=0.99 --run r1 --experiment other && assert_one_line_error "belongs to experiment 'default'"
assert_eq "$(state)" "$before" "refused experiment changed something"
run 0 p4reg log-metric emb@1 --run r1 --param batch=32 && assert_contains "$OUT" "logged 0 metrics and 1 param"
run 0 p4reg log-metric emb@1 f1=0.8 --run r2 --param lr=0.2
assert_eq "$(db 'SELECT count(*) FROM params')" "4"

begin "every bad input is a usage error naming it, and nothing is recorded"
two_versions
run 0 p4reg log-metric emb@1 f1=0.5
printf '{"f1": 0.8' >bad1.json
printf '{"f1": "0.8"}' >bad2.json
printf '{"f1": {"nested": 1}}' >bad3.json
printf '{"metrics": {"f1": 0.8}, "junk": 1}' >bad4.json
printf '{"metrics": {"f1": 0.8}, "params": {"x": [1]}}' >bad5.json
printf '{"metrics": {"f1": 0.8}, "step": 1.5}' >bad6.json
printf '[1, 2]' >bad7.json
printf '{"f1": 0.8} {"f1": 0.9}' >bad8.json
printf '{"f1": 1e400}' >bad9.json
printf '{"bad key": 1}' >bad10.json
printf '{"f1": 0.9}' >dup.json
truncate -s $((16 * 1024 * 1024 + 1)) huge.json
long=$(printf 'k%.0s' $(seq 65))
before=$(state)
while IFS='|' read -r want args; do
	eval "set -- $args"
	run 2 p4reg log-metric "$@" || continue
	assert_one_line_error "$want"
	assert_eq "$(state)" "$before" "'$args' changed something"
done <<EOF
invalid metric 'f1=abc': value 'abc' is not a finite decimal number|emb@1 f1=abc
invalid metric 'f1=nan'|emb@1 recall=0.5 f1=nan
invalid metric 'f1=inf'|emb@1 f1=inf recall=0.5
invalid metric 'f1=-Infinity'|emb@1 f1=-Infinity
invalid metric 'f1=0x10'|emb@1 f1=0x10
invalid metric 'f1=1e999'|emb@1 f1=1e999
invalid metric 'f1='|emb@1 f1=
invalid metric 'f1=1,5'|emb@1 f1=1,5
invalid metric 'f1= 1'|emb@1 'f1= 1'
invalid metric '=1'|emb@1 =1
invalid metric 'bad key=1'|emb@1 'bad key=1'
invalid metric 'caf|emb@1 $'caf\xc3\xa9=1'
invalid metric '$long=1'|emb@1 $long=1
invalid metric 'f1': expected KEY=VALUE|emb@1 recall=0.5 f1
metric 'f1' given twice|emb@1 f1=0.5 f1=0.6
nothing to log|emb@1
log-metric needs a REF|
log-metric needs a REF before 'f1=0.5'|f1=0.5 emb@1
invalid reference 'emb@Abc'|emb@Abc f1=0.5
--step|emb@1 f1=0.5 --step -1
--step|emb@1 f1=0.5 --step abc
--step|emb@1 f1=0.5 --step 9007199254740992
invalid time 'yesterday'|emb@1 f1=0.5 --time yesterday
give a time zone|emb@1 f1=0.5 --time 2026-02-18T09:30:00
invalid time '2026-02-30T00:00:00Z'|emb@1 f1=0.5 --time 2026-02-30T00:00:00Z
invalid experiment 'a b'|emb@1 f1=0.5 --experiment 'a b'
invalid run name 'x;y'|emb@1 f1=0.5 --run 'x;y'
invalid param 'lr'|emb@1 f1=0.5 --param lr
param 'lr' has control characters|emb@1 f1=0.5 --param $'lr=a\tb'
param 'lr' given twice|emb@1 f1=0.5 --param lr=1 --param lr=2
unknown option '--bogus'|emb@1 f1=0.5 --bogus
'bad1.json' is not valid JSON|emb@1 --file bad1.json
metric 'f1' is not a finite number|emb@1 recall=0.5 --file bad2.json
metric 'f1' is not a finite number|emb@1 --file bad3.json
unknown key 'junk'|emb@1 --file bad4.json
param 'x' must be a string, number or boolean|emb@1 --file bad5.json
"step" must be a whole number|emb@1 --file bad6.json
must hold a JSON object|emb@1 --file bad7.json
'bad8.json' is not valid JSON|emb@1 --file bad8.json
metric 'f1' is not a finite number|emb@1 --file bad9.json
invalid metric key 'bad key'|emb@1 --file bad10.json
'huge.json' is larger than|emb@1 --file huge.json
metric 'f1' given twice|emb@1 f1=0.5 --file dup.json
--file given twice|emb@1 --file bad1.json --file bad2.json
EOF
run 1 p4reg log-metric emb@1 f1=0.5 --file missing.json && assert_one_line_error "missing.json"
run 1 p4reg log-metric nosuch f1=0.5 && assert_one_line_error "nosuch"
run 1 p4reg log-metric emb@9 f1=0.5 && assert_one_line_error "model 'emb' has no version 9"
run 2 p4reg --json log-metric emb@1 f1=abc
assert_eq "$OUT" '{"error":{"code":"usage","message":"invalid metric '"'"'f1=abc'"'"': value '"'"'abc'"'"' is not a finite decimal number"}}'
assert_eq "$(state)" "$before" "a failed call changed something"
assert_eq "$(nmetrics)" "1"

begin "--file: flat and structured forms; the command line wins"
two_versions
printf '{"spearman": 0.83, "cosine": 0.91}\n' >eval.json
run 0 p4reg log-metric emb@1 --file eval.json
assert_eq "$(db "SELECT key, value, step FROM metrics ORDER BY id")" "spearman|0.83|0
cosine|0.91|0"
printf '{"metrics": {"f1": 0.8, "ndcg@10": 0.6}, "params": {"lr": 0.001, "opt": "adam", "warm": true}, "step": 3}' >eval2.json
run 0 p4reg log-metric emb@2 latency_ms=12 --file eval2.json --run r
assert_eq "$(db "SELECT key, step FROM metrics WHERE version_id = 2 ORDER BY key")" "f1|3
latency_ms|3
ndcg@10|3"
assert_eq "$(db "SELECT key, value FROM params ORDER BY key")" "lr|0.001
opt|adam
warm|true"
run 0 p4reg log-metric emb@2 --file eval2.json --run r --step 7
assert_eq "$(db "SELECT DISTINCT step FROM metrics WHERE version_id = 2 ORDER BY step")" "3
7"

begin "metrics MODEL: versions x latest values, with stages; --csv and --json"
two_versions
p4reg log-metric emb@1 f1=0.7 --step 2 --time 2026-02-18T09:00:00Z >/dev/null
p4reg log-metric emb@1 f1=0.9 --step 1 --time 2026-02-18T10:00:00Z >/dev/null   # lower step: not latest
p4reg log-metric emb@1 latency_ms=12 --time 2026-02-18T09:00:00Z >/dev/null
p4reg log-metric emb@1 latency_ms=11 --time 2026-02-18T09:30:00Z >/dev/null     # later time: latest
p4reg log-metric emb@2 f1=0.85 spearman=0.83 >/dev/null
run 0 p4reg metrics emb
assert_eq "$OUT" "version  stage        f1    latency_ms  spearman
2        development  0.85  -           0.83
1        development  0.7   11          -"
run 0 p4reg metrics --csv emb
assert_eq "$OUT" "version,stage,f1,latency_ms,spearman
2,development,0.85,,0.83
1,development,0.7,11,"
run 0 p4reg --json metrics emb
assert_eq "$OUT" '{"model":"emb","keys":["f1","latency_ms","spearman"],"versions":[{"version":2,"stage":"development","metrics":{"f1":0.85,"spearman":0.83}},{"version":1,"stage":"development","metrics":{"f1":0.7,"latency_ms":11}}]}'
run 0 p4reg metrics models/emb.onnx && assert_contains "$OUT" "latency_ms"
run 1 p4reg metrics nosuch && assert_one_line_error "nosuch"
run 2 p4reg metrics emb@1 && assert_one_line_error "metrics takes a model name, not a version: drop '@1'"
run 2 p4reg metrics && assert_one_line_error "needs a MODEL"
# three REFs or more: a column each (issue 16; t_filters.sh has the rest)
run 0 p4reg metrics emb@1 emb@2 emb@1 && assert_eq "$(printf '%s\n' "$OUT" | head -1)" "metric      emb@1  emb@2  emb@1  best"
run 2 p4reg --json metrics --csv emb && assert_contains "$OUT" "exclude each other"

begin "show and log include each version's latest metrics"
run 0 p4reg show emb@1
assert_contains "$OUT" "metrics:
  f1          0.7
  latency_ms  11"
run 0 p4reg --json show emb@1 && assert_eq "$(echo "$OUT" | json 'd["metrics"]')" "{'f1': 0.7, 'latency_ms': 11}"
run 0 p4reg log emb
assert_contains "$OUT" "    f1=0.85 spearman=0.83"
assert_contains "$OUT" "    f1=0.7 latency_ms=11"
run 0 p4reg --json log emb
assert_eq "$(echo "$OUT" | json '[v["metrics"] for v in d["history"]]')" "[{'f1': 0.85, 'spearman': 0.83}, {'f1': 0.7, 'latency_ms': 11}]"

begin "metrics --history KEY: every value ordered by step, time"
run 0 p4reg metrics emb@1 --history f1
assert_eq "$(echo "$OUT" | awk 'NR > 1 { print $1, $2, $3 }')" "1 2026-02-18T10:00:00Z 0.9
2 2026-02-18T09:00:00Z 0.7"
run 0 p4reg metrics --csv emb@1 --history latency_ms
assert_eq "$OUT" "step,time,value,run
0,2026-02-18T09:00:00Z,12,20260218_emb_default_v1
0,2026-02-18T09:30:00Z,11,20260218_emb_default_v1"
run 0 p4reg --json metrics emb@1 --history latency_ms
assert_eq "$(echo "$OUT" | json '[(h["step"], h["value"]) for h in d["history"]]')" "[(0, 12), (0, 11)]"
run 1 p4reg metrics emb@2 --history latency_ms && assert_one_line_error "emb@2 has no metric 'latency_ms'"
run 2 p4reg metrics emb@1 --history 'bad key' && assert_one_line_error "invalid metric key"
run 2 p4reg metrics emb@1 emb@2 --history f1 && assert_one_line_error "exactly one REF"

begin "metrics REF REF: deltas, relative change and the better side"
two_versions
p4reg log-metric emb@1 f1=0.80 latency_ms=12 spearman=0.81 daily_hits=3 only_a=1 >/dev/null
p4reg log-metric emb@2 f1=0.86 latency_ms=15 spearman=0.81 daily_hits=5 >/dev/null
run 0 p4reg metrics emb@1 emb@2
assert_eq "$OUT" "metric      emb@1  emb@2  delta  change   better
daily_hits  3      5      +2     +66.67%
f1          0.8    0.86   +0.06  +7.50%   emb@2
latency_ms  12     15     +3     +25.00%  emb@1
only_a      1      -      -      -
spearman    0.81   0.81   +0     +0.00%   ="
run 0 p4reg metrics --csv emb@1 emb@2
assert_eq "$OUT" "metric,emb@1,emb@2,delta,relative,goal,better
daily_hits,3,5,2,0.6666666667,,
f1,0.8,0.86,0.06,0.075,max,emb@2
latency_ms,12,15,3,0.25,min,emb@1
only_a,1,,,,,
spearman,0.81,0.81,0,0,max,equal"
run 0 p4reg --json metrics emb@1 emb@2
assert_eq "$(echo "$OUT" | json '[(m["key"], m["goal"], m["better"], m["delta"] is None or round(m["delta"], 6)) for m in d["metrics"]]')" \
"[('daily_hits', None, None, 2), ('f1', 'max', 'b', 0.06), ('latency_ms', 'min', 'a', 3), ('only_a', None, None, True), ('spearman', 'max', 'equal', 0)]"
assert_eq "$(echo "$OUT" | json 'd["a"]["version"], d["b"]["stage"]')" "1 development"
# Config names directions for other metrics and overrides the defaults.
p4reg config metric.daily_hits.goal max >/dev/null
p4reg config metric.latency_ms.goal max >/dev/null
run 0 p4reg metrics --csv emb@2 emb@1
assert_contains "$OUT" "daily_hits,5,3,-2,-0.4,max,emb@2"
assert_contains "$OUT" "latency_ms,15,12,-3,-0.2,max,emb@2"
p4reg config metric.f1.goal sideways >/dev/null
run 2 p4reg metrics emb@1 emb@2 && assert_one_line_error "invalid value 'sideways' for config 'metric.f1.goal'"

begin "runs: params and metrics per run, newest first, filtered"
two_versions
p4reg log-metric emb@1 spearman=0.83 --experiment embedding_quality --param lr=0.01 --time 2026-02-18T09:30:00Z >/dev/null
p4reg log-metric emb@1 spearman=0.85 --experiment embedding_quality --step 1 --time 2026-02-18T11:00:00Z >/dev/null
p4reg log-metric emb@2 accuracy=0.6 --experiment jackpot --time 2026-02-19T09:30:00Z >/dev/null
run 0 p4reg runs
assert_eq "$OUT" "20260219_emb_jackpot_v2            emb@2  jackpot            2026-02-19T09:30:00Z
  metrics: accuracy=0.6
20260218_emb_embedding_quality_v1  emb@1  embedding_quality  2026-02-18T09:30:00Z
  params: lr=0.01
  metrics: spearman=0.85"
run 0 p4reg --json runs emb --experiment embedding_quality
assert_eq "$OUT" '{"runs":[{"run":"20260218_emb_embedding_quality_v1","model":"emb","version":1,"experiment":"embedding_quality","created":"2026-02-18T09:30:00Z","params":{"lr":"0.01"},"metrics":{"spearman":0.85}}]}'
run 0 p4reg runs emb --experiment nothing && assert_eq "$OUT" ""
run 1 p4reg runs nosuch && assert_one_line_error "nosuch"
run 2 p4reg runs emb other && assert_one_line_error "at most one MODEL"

begin "a promotion gate flips from refused to accepted after a new metric"
two_versions
p4reg log-metric emb@1 f1=0.75 >/dev/null
run 3 p4reg promote emb@1 --to validation --require 'f1>=0.80'
run 0 p4reg log-metric emb@1 f1=0.82 --step 1
run 0 p4reg promote emb@1 --to validation --require 'f1>=0.80'
assert_eq "$(db "SELECT stage FROM versions WHERE number = 1")" "validation"

begin "eight CI jobs logging at once all succeed"
two_versions
for w in 1 2 3 4 5 6 7 8; do
	(
		# 20 metrics each, in 5 calls of 4: 40 short transactions contending.
		for c in 1 2 3 4 5; do
			p4reg -q log-metric emb@1 "w${w}_c${c}_a=0.$c" "w${w}_c${c}_b=1.$c" "w${w}_c${c}_c=2" \
				"w${w}_c${c}_d=-$c" --run "job$w" --param worker=$w >/dev/null 2>"$ROOT_TMP/err.$w.$c"
			echo $? >>"$ROOT_TMP/codes.$w"
		done
	) &
done
wait
for w in 1 2 3 4 5 6 7 8; do
	assert_eq "$(sort -u "$ROOT_TMP/codes.$w")" "0" "worker $w exit codes ($(cat "$ROOT_TMP"/err.$w.* | head -3))"
done
assert_eq "$(nmetrics)" "160"
assert_eq "$(db 'SELECT count(DISTINCT key) FROM metrics')" "160"
assert_eq "$(db 'SELECT count(*) FROM runs')" "8"
assert_eq "$(db "SELECT count(*) FROM events WHERE kind = 'log-metric'")" "40"
rm -f "$ROOT_TMP"/codes.* "$ROOT_TMP"/err.*

finish
