#!/usr/bin/env bash
# End-to-end: which value a promotion gate reads (the run that logged the key
# last, at its highest step), experiment-scoped gates (EXPERIMENT:KEY and
# promote --experiment), policies written with config --add, the refusal
# output naming each value's run and step, and multi-valued config keys.
. "$(dirname "$0")/lib.sh"

# newver: adds fresh bytes as the next version of m.
newver() {
	random_file models/m.bin 16
	p4reg add -q models/m.bin >/dev/null || fail "add failed"
}
stage() { db "SELECT stage FROM versions WHERE number = $1"; }
nevents() { db "SELECT count(*) FROM events"; }
log() { p4reg -q log-metric "$@" >/dev/null || fail "log-metric $* failed"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

begin "the issue's sequence: a later evaluation run wins over a training run's higher step"
fresh_repo
newver
# as the issue has it: no times given, the evaluation logged after training
log m@1 f1=0.99 --step 1000 --experiment train --run train-1
log m@1 f1=0.70 --experiment eval --run eval-1
events=$(nevents)
run 3 p4reg promote m@1 --to validation --require 'f1>=0.8'
assert_eq "$OUT" "refused: m@1 development -> validation
  FAIL  f1>=0.8: 0.7 >= 0.8
        m@1 f1=0.7: run eval-1 (experiment eval), step 0"
assert_eq "$ERR" "p4reg: cannot promote 'm@1' to validation: 1 of 1 conditions failed (f1>=0.8)"
assert_eq "$(stage 1)" "development"
assert_eq "$(nevents)" "$events" "a refusal wrote an event"
# metrics, show and log show the value the gate read
run 0 p4reg metrics m && assert_eq "$OUT" "version  stage        f1
1        development  0.7"
run 0 p4reg --json show m@1 && assert_eq "$(echo "$OUT" | json 'd["metrics"]')" "{'f1': 0.7}"
run 0 p4reg log m && assert_contains "$OUT" "    f1=0.7"

begin "by time: --time decides which run logged last, whatever the order of logging"
fresh_repo
newver
log m@1 f1=0.70 --experiment eval --run eval-1 --time 2026-02-18T10:00:00Z
log m@1 f1=0.99 --step 1000 --experiment train --run train-1 --time 2026-02-18T09:00:00Z
run 3 p4reg promote m@1 --to validation --require 'f1>=0.8'
assert_contains "$OUT" "m@1 f1=0.7: run eval-1 (experiment eval), step 0"
# within the chosen run the highest step counts, even when logged earlier
log m@1 f1=0.65 --step 3 --run eval-1 --time 2026-02-18T10:05:00Z
log m@1 f1=0.85 --step 9 --run eval-1 --time 2026-02-18T10:01:00Z
run 0 p4reg promote m@1 --to validation --require 'f1>=0.8'
assert_eq "$OUT" "promoted m@1 from development to validation
  pass  f1>=0.8: 0.85 >= 0.8
        m@1 f1=0.85: run eval-1 (experiment eval), step 9"
# a new training point after the evaluation makes training's run the latest
log m@1 f1=0.5 --step 1001 --run train-1 --time 2026-02-18T11:00:00Z
run 3 p4reg promote m@1 --to staging --require 'f1>=0.8'
assert_contains "$OUT" "FAIL  f1>=0.8: 0.5 >= 0.8
        m@1 f1=0.5: run train-1 (experiment train), step 1001"
# and so the tables
run 0 p4reg metrics --csv m && assert_eq "$OUT" "version,stage,f1
1,validation,0.5"

begin "EXPERIMENT:KEY reads only that experiment's runs"
fresh_repo
newver
log m@1 f1=0.99 --step 1000 --experiment train --run train-1 --time 2026-02-18T09:00:00Z
log m@1 f1=0.70 --experiment eval --run eval-1 --time 2026-02-18T10:00:00Z
log m@1 f1=0.72 --experiment eval --run eval-2 --time 2026-02-18T08:00:00Z
run 3 p4reg promote m@1 --to validation --require 'eval:f1>=0.8' --require 'train:f1 >= 0.9'
assert_eq "$OUT" "refused: m@1 development -> validation
  FAIL  eval:f1>=0.8: 0.7 >= 0.8
        m@1 f1=0.7: run eval-1 (experiment eval), step 0
  pass  train:f1>=0.9: 0.99 >= 0.9
        m@1 f1=0.99: run train-1 (experiment train), step 1000"
assert_eq "$ERR" "p4reg: cannot promote 'm@1' to validation: 1 of 2 conditions failed (eval:f1>=0.8)"
# an experiment that logged nothing: the gate fails and says so
run 3 p4reg promote m@1 --to validation --require 'bench:f1>=0.1' --require 'eval:recall>0'
assert_eq "$OUT" "refused: m@1 development -> validation
  FAIL  bench:f1>=0.1: missing >= 0.1
        m@1 f1: no run of experiment bench logged it
  FAIL  eval:recall>0: missing > 0
        m@1 recall: no run of experiment eval logged it"
assert_eq "$ERR" "p4reg: cannot promote 'm@1' to validation: 2 of 2 conditions failed (bench:f1>=0.1: no run of experiment 'bench' logged 'f1', eval:recall>0: no run of experiment 'eval' logged 'recall')"
run 3 p4reg promote m@1 --to validation --require 'recall>0'
assert_eq "$ERR" "p4reg: cannot promote 'm@1' to validation: 1 of 1 conditions failed (recall>0: no run logged 'recall')"
run 0 p4reg promote m@1 --to validation --require 'train:f1>=0.9'
assert_eq "$(stage 1)" "validation"
# metrics --experiment shows what a scoped gate reads
run 0 p4reg metrics m --experiment train && assert_eq "$OUT" "version  stage       f1
1        validation  0.99"
run 0 p4reg --json metrics m --experiment nobody
assert_eq "$OUT" '{"model":"m","keys":[],"versions":[{"version":1,"stage":"validation","metrics":{}}]}'

begin "promote --experiment scopes the unscoped --require gates"
run 0 p4reg promote m@1 --to staging --experiment train --require 'f1>=0.9' --require 'eval:f1>0.5'
assert_eq "$OUT" "promoted m@1 from validation to staging
  pass  train:f1>=0.9: 0.99 >= 0.9
        m@1 f1=0.99: run train-1 (experiment train), step 1000
  pass  eval:f1>0.5: 0.7 > 0.5
        m@1 f1=0.7: run eval-1 (experiment eval), step 0"
detail=$(db "SELECT detail FROM events WHERE kind = 'promote' ORDER BY id DESC LIMIT 1")
assert_eq "$(echo "$detail" | json '[(c["expr"], c["experiment"], c["left_run"]["name"]) for c in d["conditions"]]')" \
"[('train:f1>=0.9', 'train', 'train-1'), ('eval:f1>0.5', 'eval', 'eval-1')]"

begin "comparing with the stage holder reads both sides by the same rule"
newver
log m@2 f1=0.95 --step 50 --experiment train --run train-1 --time 2026-02-18T09:00:00Z
log m@2 f1=0.75 --experiment eval --run eval-1 --time 2026-02-18T12:00:00Z
run 0 p4reg promote m@2 --to validation
run 3 p4reg promote m@2 --to staging --require 'f1>staging' --require 'train:f1>=staging'
assert_eq "$OUT" "refused: m@2 validation -> staging
  pass  f1>staging: 0.75 > 0.7 (staging v1)
        m@2 f1=0.75: run eval-1 (experiment eval), step 0
        m@1 f1=0.7: run eval-1 (experiment eval), step 0
  FAIL  train:f1>=staging: 0.95 >= 0.99 (staging v1)
        m@2 f1=0.95: run train-1 (experiment train), step 50
        m@1 f1=0.99: run train-1 (experiment train), step 1000"
run 0 p4reg promote m@2 --to staging --require 'eval:f1>=staging'
assert_eq "$OUT" "promoted m@2 from validation to staging
archived m@1 (replaced by v2)
  pass  eval:f1>=staging: 0.75 >= 0.7 (staging v1)
        m@2 f1=0.75: run eval-1 (experiment eval), step 0
        m@1 f1=0.7: run eval-1 (experiment eval), step 0"
# a holder whose experiment logged nothing: that side is missing too
newver
log m@3 f1=0.9 --experiment bench --run b --time 2026-02-18T09:00:00Z
run 3 p4reg promote m@3 --to validation --require 'bench:f1>=staging'
assert_eq "$OUT" "refused: m@3 development -> validation
  FAIL  bench:f1>=staging: 0.9 >= missing (staging v2)
        m@3 f1=0.9: run b (experiment bench), step 0
        m@2 f1: no run of experiment bench logged it"
# and a stage nobody holds has no source line
run 3 p4reg promote m@3 --to validation --require 'bench:f1>=production'
assert_eq "$OUT" "refused: m@3 development -> validation
  FAIL  bench:f1>=production: 0.9 >= - (no version in production)
        m@3 f1=0.9: run b (experiment bench), step 0"

begin "the JSON document names each value's run, null when there is none"
run 3 p4reg --json promote m@2 --to production --require 'f1>=0.8' --require 'bench:f1>=production'
assert_eq "$OUT" '{"promoted":false,"model":"m","version":2,"from":"staging","to":"production","forced":false,"replaced":null,"conditions":[{"expr":"f1>=0.8","key":"f1","experiment":null,"op":">=","left":0.75,"left_run":{"name":"eval-1","experiment":"eval","step":0,"time":"2026-02-18T12:00:00Z"},"right":0.8,"right_run":null,"right_source":"0.8","pass":false,"origin":"--require"},{"expr":"bench:f1>=production","key":"f1","experiment":"bench","op":">=","left":null,"left_run":null,"right":null,"right_run":null,"right_source":"production (none)","pass":false,"origin":"--require"}],"reason":"cannot promote '"'"'m@2'"'"' to production: 2 of 2 conditions failed (f1>=0.8, bench:f1>=production: no run of experiment '"'"'bench'"'"' logged '"'"'f1'"'"')","refusal":{"kind":"gate","message":"cannot promote '"'"'m@2'"'"' to production: 2 of 2 conditions failed (f1>=0.8, bench:f1>=production: no run of experiment '"'"'bench'"'"' logged '"'"'f1'"'"')"}}'
assert_eq "$ERR" ""
assert_eq "$(stage 2)" "staging"

begin "points logged outside any run form their own run, which no experiment selects"
fresh_repo
newver
log m@1 f1=0.9 --experiment eval --run eval-1 --time 2026-02-18T09:00:00Z
# no command logs outside a run; a registry from elsewhere may hold such rows
sqlite3 .p4reg/registry.db "INSERT INTO metrics(version_id, run_id, key, value, step, at_ms) VALUES (1, NULL, 'f1', 0.4, 7, 1771410000000)"
run 3 p4reg promote m@1 --to validation --require 'f1>=0.8'
assert_eq "$OUT" "refused: m@1 development -> validation
  FAIL  f1>=0.8: 0.4 >= 0.8
        m@1 f1=0.4: logged outside any run, step 7"
run 3 p4reg --json promote m@1 --to validation --require 'f1>=0.8'
assert_eq "$(echo "$OUT" | json 'd["conditions"][0]["left_run"]')" "{'name': None, 'experiment': None, 'step': 7, 'time': '2026-02-18T10:20:00Z'}"
run 0 p4reg promote m@1 --to validation --require 'eval:f1>=0.8'
run 0 p4reg metrics m && assert_contains "$OUT" "0.4"
run 0 p4reg metrics m --experiment eval && assert_contains "$OUT" "0.9"

begin "policies written with config --add use the same syntax and keep their scope"
fresh_repo
newver
log m@1 f1=0.99 --step 1000 --experiment train --run train-1 --time 2026-02-18T09:00:00Z
log m@1 f1=0.70 --experiment eval --run eval-1 --time 2026-02-18T10:00:00Z
run 0 p4reg config --add stage.validation.require 'eval:f1 >= 0.65'
run 0 p4reg config --add stage.validation.require 'f1>=0.9'
assert_eq "$(git config -f .p4reg/config --get-all stage.validation.require)" "eval:f1 >= 0.65
f1>=0.9"
events=$(nevents)
# --experiment scopes the command line only: the unscoped policy still reads the latest run
run 3 p4reg promote m@1 --to validation --experiment train --require 'f1>=0.9'
assert_eq "$OUT" "refused: m@1 development -> validation
  pass  train:f1>=0.9: 0.99 >= 0.9
        m@1 f1=0.99: run train-1 (experiment train), step 1000
  pass  eval:f1>=0.65: 0.7 >= 0.65
        m@1 f1=0.7: run eval-1 (experiment eval), step 0
  FAIL  f1>=0.9: 0.7 >= 0.9
        m@1 f1=0.7: run eval-1 (experiment eval), step 0"
run 3 p4reg --json promote m@1 --to validation
assert_eq "$(echo "$OUT" | json '[(c["expr"], c["origin"], c["pass"]) for c in d["conditions"]]')" \
"[('eval:f1>=0.65', 'stage.validation.require', True), ('f1>=0.9', 'stage.validation.require', False)]"
assert_eq "$(stage 1)" "development"
assert_eq "$(nevents)" "$events"
run 0 p4reg config --unset-all stage.validation.require
run 0 p4reg config --add stage.validation.require 'eval:f1>=0.65'
run 0 p4reg promote m@1 --to validation
assert_eq "$OUT" "promoted m@1 from development to validation
  pass  eval:f1>=0.65: 0.7 >= 0.65
        m@1 f1=0.7: run eval-1 (experiment eval), step 0"

begin "bad gate specs are usage errors that change nothing"
fresh_repo
newver
log m@1 f1=0.9 --experiment eval --run eval-1
before=$(snapshot)
while IFS='|' read -r want spec; do
	run 2 p4reg promote m@1 --to validation --require "$spec" || continue
	assert_eq "$(printf '%s\n' "$ERR" | wc -l)" "1" "one line for '$spec'"
	assert_one_line_error "$want"
	assert_eq "$OUT" "" "stdout for '$spec'"
done <<'EOF'
invalid gate ':f1>=0.8': expected an experiment name|:f1>=0.8
invalid gate 'eval:>=0.8': expected a metric key|eval:>=0.8
invalid gate 'a:b:f1>=1': expected an operator|a:b:f1>=1
invalid gate 'ev al:f1>=1': expected an operator|ev al:f1>=1
invalid gate 'ev$l:f1>=1': expected an experiment name|ev$l:f1>=1
invalid gate 'eval:f 1>=1': expected an operator|eval:f 1>=1
invalid gate 'eval:f1=1': expected an operator|eval:f1=1
invalid gate 'eval:f1>=validation'|eval:f1>=validation
invalid gate 'eval:f1>=1e999': '1e999' is out of range|eval:f1>=1e999
invalid gate 'eval:f1>=abc': 'abc' is neither a number|eval:f1>=abc
invalid gate 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee:f1>1': expected an experiment name|eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee:f1>1
EOF
run 2 p4reg promote m@1 --to validation --experiment 'bad name' --require 'f1>0'
assert_eq "$ERR" "p4reg: invalid experiment 'bad name': use 1..64 letters, digits and '_ . - / @'"
run 2 p4reg promote m@1 --to validation --experiment a --experiment b && assert_one_line_error "--experiment given twice"
run 2 p4reg --json promote m@1 --to validation --require 'eval::f1>0'
assert_eq "$(echo "$OUT" | json 'd["error"]["code"]')" "usage"
# a bad policy, scoped or not, is refused when written ...
run 2 p4reg config --add stage.validation.require 'eval:f1>>1'
assert_eq "$ERR" "p4reg: invalid gate 'eval:f1>>1' in stage.validation.require: expected an operator < <= > >= == != after 'f1'"
run 2 p4reg config stage.validation.require ':f1>1' && assert_one_line_error "expected an experiment name"
assert_eq "$(snapshot)" "$before" "a bad spec changed something"
# ... and when a promotion reads one written by hand
git config -f .p4reg/config --add stage.validation.require 'eval:=1'
run 2 p4reg promote m@1 --to validation && assert_one_line_error "invalid gate 'eval:=1' in stage.validation.require"
assert_eq "$(stage 1)" "development"
assert_eq "$(db "SELECT count(*) FROM events WHERE kind = 'promote'")" "0"
run 2 p4reg metrics m --experiment 'x y' && assert_eq "$ERR" "p4reg: invalid experiment 'x y': use 1..64 letters, digits and '_ . - / @'"
run 2 p4reg metrics m@1 --history f1 --experiment eval && assert_one_line_error "--experiment does not apply"

begin "config --add, --get-all, --unset, --unset-all on a multi-valued key"
fresh_repo
run 1 p4reg config --get-all stage.production.require && assert_eq "$ERR" "p4reg: config key 'stage.production.require' is not set"
assert_eq "$OUT" ""
run 0 p4reg config --add stage.production.require 'f1>=production' && assert_eq "$OUT" ""
run 0 p4reg config --add stage.production.require 'eval:latency_ms <= 20'
run 0 p4reg --json config --add stage.production.require 'eval:f1>=0.8'
assert_eq "$OUT" '{"key":"stage.production.require","value":"eval:f1>=0.8","file":".p4reg/config"}'
run 0 p4reg config --get-all stage.production.require
assert_eq "$OUT" "f1>=production
eval:latency_ms <= 20
eval:f1>=0.8"
run 0 p4reg --json config --get-all stage.production.require
assert_eq "$OUT" '{"key":"stage.production.require","values":["f1>=production","eval:latency_ms <= 20","eval:f1>=0.8"]}'
# config KEY prints the value in effect: the last one, as git does
run 0 p4reg config stage.production.require && assert_eq "$OUT" "eval:f1>=0.8"
run 0 p4reg config --list
assert_eq "$(echo "$OUT" | grep '^stage')" "stage.production.require=f1>=production
stage.production.require=eval:latency_ms <= 20
stage.production.require=eval:f1>=0.8"
run 0 p4reg --json config --list
assert_eq "$(echo "$OUT" | json 'd["stage.production.require"]')" "['f1>=production', 'eval:latency_ms <= 20', 'eval:f1>=0.8']"
# one value of a multi-valued key is still an array; a repeated single key becomes one
cfg=$(cat .p4reg/config)
run 2 p4reg config --unset stage.production.require
assert_eq "$ERR" "p4reg: config key 'stage.production.require' has 3 values in .p4reg/config: --unset-all removes them all"
run 2 p4reg config stage.production.require 'f1>0'
assert_eq "$ERR" "p4reg: config key 'stage.production.require' has 3 values in .p4reg/config: --add appends one, --unset-all removes them all"
assert_eq "$(cat .p4reg/config)" "$cfg" "a refused write changed the config"
run 0 p4reg --json config --unset-all stage.production.require
assert_eq "$OUT" '{"key":"stage.production.require","file":".p4reg/config"}'
run 1 p4reg config --get-all stage.production.require
run 1 p4reg config --unset-all stage.production.require && assert_one_line_error "config key 'stage.production.require' is not set in .p4reg/config"
run 0 p4reg config --add stage.staging.require 'f1>0.5'
run 0 p4reg --json config --list && assert_eq "$(echo "$OUT" | json 'd["stage.staging.require"]')" "['f1>0.5']"
run 0 p4reg config --unset stage.staging.require
run 1 p4reg config stage.staging.require
# --local: config.local, created 0600; --get-all reads every file, lowest priority first
run 0 p4reg config --add stage.staging.require 'f1>0.1'
run 0 p4reg config --local --add stage.staging.require 'eval:f1>0.2'
assert_eq "$(stat -c %a .p4reg/config.local)" "600"
run 0 p4reg config --get-all stage.staging.require && assert_eq "$OUT" "f1>0.1
eval:f1>0.2"
run 0 p4reg config core.autostage false
run 0 p4reg config --local core.autostage true
run 0 p4reg --json config --list
assert_eq "$(echo "$OUT" | json 'd["core.autostage"], d["stage.staging.require"]')" "['false', 'true'] ['f1>0.1', 'eval:f1>0.2']"
run 0 p4reg config --local --unset stage.staging.require
run 0 p4reg config --get-all stage.staging.require && assert_eq "$OUT" "f1>0.1"

begin "config: --add only for multi-valued keys; modes exclude each other"
fresh_repo
cfg=$(cat .p4reg/config)
run 2 p4reg config --add core.autostage false
assert_eq "$ERR" "p4reg: config key 'core.autostage' is not multi-valued: --add is only for stage.<STAGE>.require"
run 2 p4reg config --add stage.prod.require 'f1>0' && assert_one_line_error "invalid config key 'stage.prod.require': expected stage.<STAGE>.require"
run 2 p4reg config stage.Production.require 'f1>0' && assert_one_line_error "invalid config key 'stage.Production.require'"
run 2 p4reg config --add stage.production.require && assert_one_line_error "--add takes KEY VALUE"
run 2 p4reg config --add --unset stage.production.require x && assert_one_line_error "give one of --add, --get-all, --unset, --unset-all and --list"
run 2 p4reg config --get-all && assert_one_line_error "--get-all takes one KEY"
run 2 p4reg config --unset-all a.b c && assert_one_line_error "--unset-all takes one KEY"
run 2 p4reg config --list stage.production.require && assert_one_line_error "--list takes no KEY"
assert_eq "$(cat .p4reg/config)" "$cfg" "a refused config command changed the config"
assert_no_file .p4reg/config.local
run 0 p4reg config --help && assert_contains "$OUT" "Multi-valued keys: only stage.<STAGE>.require"

finish
