#!/usr/bin/env bash
# End-to-end: what the docs promise is what the commands do (issue #13):
# unknown options, model-only arguments, aligned tables, JSON nulls and
# JSON help, provenance before the first commit, init refusing to nest,
# pointer errors naming the pointer file, status exit codes, fetch/pull
# counting objects already here.
. "$(dirname "$0")/lib.sh"

# json EXPR: evaluates EXPR with d = the JSON document in $OUT.
json() { printf '%s' "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
commands() { p4reg --json help | python3 -c 'import json,sys; print(" ".join(c["name"] for c in json.load(sys.stdin)["commands"]))'; }

fresh_repo
random_file models/m.bin 8
p4reg add -q models/m.bin || fail "setup add failed"
base=$(snapshot)
unchanged() { assert_eq "$(snapshot)" "$base" "state changed after bad input"; }

begin "every command: an unknown option is 'unknown option', exit 2, usage follows"
for cmd in $(commands); do
	for opt in --bogus -z; do
		run 2 p4reg "$cmd" "$opt" </dev/null || continue
		assert_eq "$(printf '%s\n' "$ERR" | head -1)" "p4reg: unknown option '$opt'" "$cmd $opt"
		assert_contains "$ERR" "usage: p4reg $cmd" "$cmd $opt: usage follows"
	done
	run 2 p4reg --json "$cmd" --bogus </dev/null
	assert_eq "$OUT" '{"error":{"code":"usage","message":"unknown option '"'"'--bogus'"'"'"}}' "$cmd --json"
done
run 2 p4reg remote list --bogus && assert_one_line_error "unknown option '--bogus'"
unchanged

begin "commands without arguments: a positional is 'takes no arguments'"
for cmd in list status version; do
	run 2 p4reg "$cmd" extra && assert_eq "$(printf '%s\n' "$ERR" | head -1)" "p4reg: $cmd takes no arguments"
done
run 2 p4reg filter-process extra </dev/null && assert_one_line_error "filter-process takes no arguments"
run 0 p4reg list -- && assert_contains "$OUT" "models/m.bin"
unchanged

begin "model-only commands refuse name@N with one hint, exit 2"
for cmd in log history rollback runs push; do
	for ref in m@2 m@production m@latest; do
		run 2 p4reg "$cmd" "$ref"
		assert_eq "$ERR" "p4reg: $cmd takes a model name, not a version: drop '${ref#m}'" "$cmd $ref"
	done
	run 2 p4reg "$cmd" 'a b' && assert_eq "$ERR" "p4reg: invalid model name 'a b'" "$cmd 'a b'"
done
run 2 p4reg metrics m@1 && assert_one_line_error "metrics takes a model name, not a version: drop '@1'"
run 2 p4reg --json log m@2
assert_eq "$(json 'd["error"]["code"]')" "usage"
unchanged

begin "tables stay aligned with a 60-character model name"
long=$(printf 'l%.0s' $(seq 60))
random_file "models/$long.bin" 4
p4reg add -q -m "long one" "models/$long.bin" || fail "add long"
p4reg log-metric -q "$long@1" f1=0.9 --param lr=0.1 || fail "log-metric long"
p4reg log-metric -q m@1 f1=0.5 || fail "log-metric m"
p4reg promote -q m@1 --to validation -m checked || fail "promote"
# starts N: per line, the offsets at which its first N blank-separated
# fields start; one distinct answer means every row lines up.
starts() { awk -v n="$1" '{ pos = 1; line = $0; out = "";
	for (i = 1; i <= n; i++) { match(line, /[^ ]+/); out = out " " (pos + RSTART - 1);
		pos += RSTART + RLENGTH - 1; line = substr(line, RSTART + RLENGTH) }
	print out }' | sort -u | wc -l; }
run 0 p4reg list
assert_eq "$(printf '%s\n' "$OUT" | wc -l)" "3"
assert_eq "$(printf '%s\n' "$OUT" | starts 6)" "1" "list columns"
assert_contains "$OUT" "$long 1        1       -       -          models/$long.bin"
run 0 p4reg history
assert_eq "$(printf '%s\n' "$OUT" | starts 3)" "1" "history columns"
assert_eq "$(printf '%s\n' "$OUT" | awk '{ print index($0, "Test Runner") }' | sort -u | wc -l)" "1" "history: actor column"
run 0 p4reg runs
assert_eq "$(printf '%s\n' "$OUT" | grep -v '^ ' | starts 4)" "1" "runs columns"
for model in m "$long"; do
	run 0 p4reg log "$model"
	assert_eq "$(printf '%s\n' "$OUT" | grep -v '^ ' | starts 4)" "1" "log $model"
done
run 0 p4reg metrics m@1 --history f1
assert_eq "$(printf '%s\n' "$OUT" | starts 3)" "1" "metrics --history"
run 0 p4reg metrics "$long"
assert_eq "$(printf '%s\n' "$OUT" | starts 3)" "1" "metrics MODEL"
base=$(snapshot)

finish
