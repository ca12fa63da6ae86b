#!/usr/bin/env bash
# End-to-end: p4reg alias. Set, move, keep, remove and list; name@ALIAS
# wherever a reference is taken; reserved and hostile names (exit 2,
# nothing recorded); history; two clones setting one alias through a
# folder remote end with the one pushed last, as for stages.
. "$(dirname "$0")/lib.sh"

aliases() { db "SELECT a.name || '=' || v.number FROM aliases a JOIN versions v ON v.id = a.version_id ORDER BY a.name" | tr '\n' ' '; }

begin "set, move, keep, remove, list"
fresh_repo
for i in 1 2 3; do random_file m.bin 4; p4reg add -q m.bin || fail "add $i"; done
run 0 p4reg alias m champion 2 -m "best f1" && assert_eq "$OUT" "m@champion -> m@2"
assert_eq "$ERR" ""
run 0 p4reg alias m champion latest && assert_eq "$OUT" "m@champion -> m@3 (moved from m@2)"
run 0 p4reg alias m champion v3 && assert_eq "$OUT" "m@champion already names m@3"
run 0 p4reg alias m canary champion && assert_eq "$OUT" "m@canary -> m@3"
assert_eq "$(aliases)" "canary=3 champion=3 "
assert_eq "$(db "SELECT count(*) FROM events WHERE kind = 'alias-set'")" "3"
assert_eq "$(db "SELECT reason || ' ' || detail FROM events WHERE kind = 'alias-set' ORDER BY id LIMIT 1")" \
	'best f1 {"alias":"champion"}'
run 0 p4reg alias m
assert_eq "$(printf '%s\n' "$OUT" | sed 's/  [0-9T:-]*Z  /  TIME  /')" "canary    m@3  TIME  Test Runner <test@example.com>
champion  m@3  TIME  Test Runner <test@example.com>"
run 0 p4reg --json alias m
assert_contains "$OUT" '{"model":"m","aliases":[{"alias":"canary","version":3,"actor":"Test Runner <test@example.com>","time":"'
run 0 p4reg --json alias m champion 1
assert_eq "$OUT" '{"model":"m","alias":"champion","action":"set","version":1,"previous":3,"changed":true,"reason":null}'
run 0 p4reg alias -d m canary && assert_eq "$OUT" "removed m@canary (it named m@3)"
run 0 p4reg --json alias -d m champion
assert_eq "$OUT" '{"model":"m","alias":"champion","action":"delete","version":null,"previous":1,"changed":true,"reason":null}'
assert_eq "$(aliases)" ""
run 0 p4reg alias m && assert_eq "$OUT" "" && assert_eq "$ERR" "model 'm' has no aliases: 'p4reg alias m NAME N' sets one"
run 1 p4reg alias -d m champion && assert_eq "$ERR" "p4reg: model 'm' has no alias 'champion'"

begin "name@ALIAS is a reference everywhere"
run 0 p4reg alias m champion 2
run 0 p4reg show m@champion && assert_contains "$OUT" "version:  2" && assert_contains "$OUT" "aliases:  champion"
run 0 p4reg --json show m@champion && assert_contains "$OUT" '"aliases":["champion"]'
run 0 p4reg checkout m@champion && assert_eq "$(sed -n 3p m.bin.p4reg)" "version 2"
run 0 p4reg promote m@champion --to validation && assert_contains "$OUT" "m@2"
run 0 p4reg log-metric m@champion f1=0.9
run 0 p4reg tag m@champion team=nlp && assert_eq "$OUT" "set 1 tag on m@2"
run 0 p4reg metrics m@champion m@1
run 0 p4reg cat m@champion >"$ROOT_TMP/cat.bin"
run 0 p4reg --json log m && assert_contains "$OUT" '"version":2,'
assert_contains "$OUT" '"tags":{"team":"nlp"},"aliases":["champion"]}'
run 1 p4reg show m@nobody && assert_eq "$ERR" "p4reg: model 'm' has no alias 'nobody'"
run 1 p4reg show nope@champion && assert_eq "$ERR" "p4reg: unknown model 'nope'"
run 2 p4reg show m@Champion && assert_one_line_error "invalid reference 'm@Champion': unknown version, stage or alias 'Champion'"
run 0 p4reg history m
assert_contains "$OUT" "alias-set    @champion"
assert_contains "$OUT" "alias-delete @canary"

begin "reserved and hostile names: exit 2, nothing recorded"
before=$(snapshot)
for name in development validation staging production archived; do
	run 2 p4reg alias m "$name" 1 &&
		assert_eq "$ERR" "p4reg: alias name '$name' is reserved: it is a stage (name@STAGE is the version in that stage)"
done
run 2 p4reg alias m latest 1 && assert_eq "$ERR" "p4reg: alias name 'latest' is reserved: name@latest is the highest version"
run 2 p4reg alias m v7 1 && assert_eq "$ERR" "p4reg: alias name 'v7' is reserved: it reads as a version number (name@v3 is version 3)"
run 2 p4reg alias -d m production && assert_one_line_error "is reserved"
for name in 7 Champion '' -x _x 'a b' a/b ../x a.b 'a@b' $'x\ny' $'x\e[31m' 'café' \
	aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; do
	run 2 p4reg alias -- m "$name" 1 && assert_one_line_error "invalid alias name '"
done
run 2 p4reg alias m $'x\e[31m' 1 && assert_eq "$ERR" "p4reg: invalid alias name 'x\\x1b[31m': 1..64 of a-z, 0-9, '-' and '_', starting with a letter"
run 1 p4reg alias nope champion 1 && assert_eq "$ERR" "p4reg: unknown model 'nope'"
run 1 p4reg alias m champion 9 && assert_eq "$ERR" "p4reg: model 'm' has no version 9"
run 2 p4reg alias m champion 0 && assert_one_line_error "invalid reference 'm@0'"
run 2 p4reg alias m champion 'x@1' && assert_one_line_error "invalid version 'x@1'"
run 2 p4reg alias 'a/b' champion 1 && assert_eq "$ERR" "p4reg: invalid model name 'a/b'"
run 2 p4reg alias m@2 champion 1 && assert_eq "$ERR" "p4reg: alias takes a model name, not a version: drop '@2'"
run 2 p4reg alias && assert_one_line_error "alias needs MODEL, or MODEL NAME N"
assert_contains "$ERR" "usage: p4reg alias MODEL NAME N"
run 2 p4reg alias m champion && assert_one_line_error "alias needs MODEL, or MODEL NAME N"
run 2 p4reg alias -d m && assert_one_line_error "alias -d needs MODEL and NAME"
run 2 p4reg alias m a 1 extra && assert_one_line_error "alias takes at most MODEL NAME N"
run 2 p4reg alias m -m why && assert_one_line_error "-m applies to a change"
run 2 p4reg alias m a 1 --frob && assert_one_line_error "unknown option '--frob'"
assert_eq "$(snapshot)" "$before" "a refused alias changed something"

begin "--help matches the doc"
run 0 p4reg alias --help && assert_contains "$OUT" "usage: p4reg alias MODEL NAME N [-m REASON]"
assert_contains "$OUT" "-d, --delete"
run 0 p4reg help alias && assert_contains "$OUT" "the stage names, latest"

begin "two clones set one alias: the push that comes last wins on both"
R="$ROOT_TMP/remote"
A="$ROOT_TMP/A"
B="$ROOT_TMP/B"
mkdir -p "$A" "$B"
cd "$A" && p4reg init >/dev/null && p4reg remote add origin "$R" >/dev/null 2>&1 || fail "init A"
random_file m.bin 4 && p4reg add -q m.bin && random_file m.bin 4 && p4reg add -q m.bin || fail "add on A"
run 0 p4reg push
cd "$B" && p4reg init >/dev/null && p4reg remote add origin "$R" >/dev/null 2>&1 || fail "init B"
run 0 p4reg fetch
cd "$A" && run 0 p4reg alias m champion 1 -m "A thinks 1"
cd "$B" && run 0 p4reg alias m champion 2 -m "B thinks 2"
cd "$A" && run 0 p4reg push
assert_eq "$(sed 's/.*"format":\([0-9]*\).*/\1/' "$R/log/0000000002.json" | head -c 1)" "4"
cd "$B" && run 0 p4reg fetch
assert_eq "$(aliases)" "champion=2 " "B's own change is later in the shared log"
run 0 p4reg push
cd "$A" && run 0 p4reg fetch
assert_eq "$(aliases)" "champion=2 " "A gets the change pushed last"
assert_eq "$(db "SELECT group_concat(reason, ',') FROM (SELECT e.reason FROM events e JOIN event_sync s ON s.event_id = e.id WHERE e.kind = 'alias-set' ORDER BY s.seq, s.idx)")" \
	"A thinks 1,B thinks 2"
cd "$B" && assert_eq "$(db "SELECT group_concat(reason, ',') FROM (SELECT e.reason FROM events e JOIN event_sync s ON s.event_id = e.id WHERE e.kind = 'alias-set' ORDER BY s.seq, s.idx)")" \
	"A thinks 1,B thinks 2"
run 0 p4reg show m@champion && assert_contains "$OUT" "version:  2"
# a deploy box reads the same answer from the remote
mkdir -p "$ROOT_TMP/box"
run 0 p4reg get "$R" m@champion -o "$ROOT_TMP/box/m.bin" --no-cache && assert_contains "$OUT" "got m@2"

begin "a forged batch naming a reserved alias stops fetch and get (exit 4), nothing applied"
next=$(( $(ls "$R/log" | wc -l) + 1 ))
key=$(printf 'log/%010d.json' "$next")
printf '{"format":4,"seq":%d,"parent":%d,"events":[{"id":"0a0b0c0d-0000-4000-8000-00000000abcd","model":"m","version":1,"kind":"alias-set","from":"","to":"","forced":false,"actor":"evil","time":1,"reason":"","detail":"{\\"alias\\":\\"production\\"}"}]}' \
	"$next" "$((next - 1))" >"$R/$key"
before=$(snapshot)
run 4 p4reg fetch && assert_one_line_error "invalid event batch '$key': event 0: an alias event's detail must be {\"alias\"} with a valid alias name"
assert_contains "$ERR" "--skip-batch $next"
assert_eq "$(snapshot)" "$before" "a refused batch changed something"
run 4 p4reg get "$R" m@champion -o "$ROOT_TMP/box/m.bin" --no-cache && assert_one_line_error "an alias event's detail must be"

finish
