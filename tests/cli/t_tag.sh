#!/usr/bin/env bash
# End-to-end: p4reg tag and add --tag. Tags of a version and of a model,
# a model's description; shown by show, log --json and history; hostile
# keys and values refused (exit 2, nothing recorded) and escaped on
# output; tags and descriptions travel through a folder remote.
. "$(dirname "$0")/lib.sh"

vtags() { db "SELECT v.number || ':' || t.key || '=' || t.value FROM version_tags t JOIN versions v ON v.id = t.version_id ORDER BY 1" | tr '\n' ' '; }

begin "set, list, change, remove the tags of a version"
fresh_repo
random_file m.bin 4 && p4reg add -q m.bin || fail "add"
random_file m.bin 4
run 0 p4reg add m.bin --tag run=r42 --tag 'data=feb 2026' && assert_contains "$OUT" "added m.bin as m@2"
assert_eq "$(vtags)" "2:data=feb 2026 2:run=r42 "
run 0 p4reg tag m@1 team=nlp 'note=a = b' -m "for the report" && assert_eq "$OUT" "set 2 tags on m@1"
run 0 p4reg tag m@1 && assert_eq "$OUT" "note=a = b
team=nlp"
run 0 p4reg tag m@1 team=nlp && assert_eq "$OUT" "m@1 already has these tags"
run 0 p4reg tag m@1 team=search note='a = b' && assert_eq "$OUT" "set 1 tag on m@1"
assert_eq "$(db "SELECT detail FROM events WHERE kind = 'tag-set' ORDER BY id DESC LIMIT 1")" '{"tags":{"team":"search"}}'
assert_eq "$(db "SELECT count(*) FROM events WHERE kind = 'tag-set' AND reason = 'for the report'")" "1"
run 0 p4reg tag -d m@1 note && assert_eq "$OUT" "removed 1 tag from m@1"
run 1 p4reg tag -d m@1 note && assert_eq "$ERR" "p4reg: m@1 has no tag 'note'"
run 0 p4reg tag m && assert_eq "$OUT" "data=feb 2026
run=r42"
run 0 p4reg --json tag m@1 owner=ann
assert_eq "$OUT" '{"model":"m","version":1,"action":"set","changed":1,"tags":{"owner":"ann","team":"search"},"description":null,"reason":null}'
run 0 p4reg show m@1 && assert_contains "$OUT" "tags:
  owner=ann
  team=search"
run 0 p4reg --json show m@2 && assert_contains "$OUT" '"tags":{"data":"feb 2026","run":"r42"},"aliases":[]}'
run 0 p4reg history m
assert_eq "$(printf '%s\n' "$OUT" | grep -E 'm@1 +tag-set +team=nlp note=a = b +Test Runner' | wc -l)" "1"
assert_eq "$(printf '%s\n' "$OUT" | grep -E 'm@1 +tag-delete +note +Test Runner' | wc -l)" "1"
run 0 p4reg --json history m && assert_contains "$OUT" '"kind":"tag-delete","from":null,"to":null,"forced":false'
assert_contains "$OUT" '"detail":{"keys":["note"]}'

begin "the model's tags and description"
run 0 p4reg tag --model m owner=nlp-team && assert_eq "$OUT" "set 1 tag on model 'm'"
run 0 p4reg tag --model m --description $'Sentence embeddings\nfor search' && assert_eq "$OUT" "described model 'm'"
run 0 p4reg tag --description $'Sentence embeddings\nfor search' m && assert_eq "$OUT" "model 'm' already has this description"
run 0 p4reg tag --model m && assert_eq "$OUT" 'description: Sentence embeddings\nfor search
owner=nlp-team'
run 0 p4reg --json tag --model m
assert_eq "$OUT" '{"model":"m","version":null,"action":"list","changed":0,"tags":{"owner":"nlp-team"},"description":"Sentence embeddings\nfor search","reason":null}'
run 0 p4reg --json log m && assert_contains "$OUT" '"description":"Sentence embeddings\nfor search","history":['
assert_contains "$OUT" '],"tags":{"owner":"nlp-team"}}'
run 0 p4reg --json list && assert_contains "$OUT" '"description":"Sentence embeddings\nfor search"'
assert_eq "$(db "SELECT count(*) FROM model_tags WHERE key = 'owner'") $(db "SELECT count(*) FROM events WHERE kind = 'describe' AND version_id IS NULL")" "1 1"
run 0 p4reg tag --model m --description '' && assert_eq "$OUT" "described model 'm'"
assert_eq "$(db "SELECT description FROM models")" ""
run 0 p4reg tag --model m -d owner && assert_eq "$OUT" "removed 1 tag from model 'm'"

begin "hostile keys and values: exit 2, nothing recorded; values escaped on output"
before=$(snapshot)
run 2 p4reg tag m@1 novalue && assert_eq "$ERR" "p4reg: invalid tag 'novalue': expected KEY=VALUE"
for arg in '=x' 'a b=x' '-a=x' $'k\n=x' 'k\e=x' 'caf\xc3\xa9=x' "$(printf 'k%.0s' $(seq 1 129))=x"; do
	run 2 p4reg tag -- m@1 "$arg" && assert_one_line_error "invalid tag key '"
done
for arg in $'k=a\nb' $'k=a\tb' $'k=\e[2Jclear' $'k=\x7f' $'k=\xc2\x9bcsi' $'k=\xff' "k=$(head -c 4097 /dev/zero | tr '\0' v)"; do
	run 2 p4reg tag m@1 "$arg" && assert_eq "$ERR" "p4reg: invalid value of tag 'k': at most 4096 bytes of UTF-8 without control characters"
done
run 2 p4reg tag m@1 a=1 a=2 && assert_eq "$ERR" "p4reg: tag 'a' is named twice"
run 2 p4reg tag -d m@1 'bad key' && assert_one_line_error "invalid tag key 'bad key'"
run 2 p4reg tag --model m --description $'bell\a' && assert_one_line_error "invalid description"
run 2 p4reg tag --model m@1 a=1 && assert_eq "$ERR" "p4reg: --model takes a model name, not 'm@1'"
run 2 p4reg add m.bin --tag x && assert_eq "$ERR" "p4reg: invalid tag 'x': expected KEY=VALUE"
run 2 p4reg add m.bin --tag a=1 --tag a=2 && assert_eq "$ERR" "p4reg: tag 'a' is named twice"
run 1 p4reg tag nope@1 a=1 && assert_eq "$ERR" "p4reg: unknown model 'nope'"
run 1 p4reg tag m@9 a=1 && assert_eq "$ERR" "p4reg: model 'm' has no version 9"
run 1 p4reg tag --model nope a=1 && assert_eq "$ERR" "p4reg: unknown model 'nope'"
run 2 p4reg tag && assert_one_line_error "tag needs a REF (or --model MODEL)"
assert_contains "$ERR" "usage: p4reg tag REF [KEY=VALUE...] [-m REASON]"
run 2 p4reg tag -d m@1 && assert_one_line_error "tag -d needs the KEYs to remove"
run 2 p4reg tag --model m --description x a=1 && assert_one_line_error "--description takes no KEY=VALUE and no -d"
run 2 p4reg tag m@1 -m why && assert_one_line_error "-m applies to a change"
assert_eq "$(snapshot)" "$before" "a refused tag changed something"
# valid but foreign text: kept as given, escaped for people, exact in JSON
run 0 p4reg tag m@1 $'k=caf\xc3\xa9 \xe2\x80\xae evil' && assert_eq "$OUT" "set 1 tag on m@1"
run 0 p4reg tag m@1 && assert_contains "$OUT" 'k=café \xe2\x80\xae evil'
run 0 p4reg --json tag m@1 && assert_contains "$OUT" '"k":"café \u202e evil"'
run 0 p4reg tag --model m --description $'two\nlines' && run 0 p4reg history m && assert_eq "$(printf '%s\n' "$OUT" | grep -c ' describe ')" "3"

begin "--help matches the doc"
run 0 p4reg tag --help && assert_contains "$OUT" "usage: p4reg tag REF [KEY=VALUE...] [-m REASON]"
assert_contains "$OUT" "--description TEXT"
run 0 p4reg add --help && assert_contains "$OUT" "--tag KEY=VALUE"

begin "tags and descriptions travel through a folder remote"
R="$ROOT_TMP/remote"
run 0 p4reg remote add origin "$R"
run 0 p4reg push
B="$ROOT_TMP/B"
mkdir -p "$B" && cd "$B" && p4reg init >/dev/null && p4reg remote add origin "$R" >/dev/null 2>&1 || fail "init B"
run 0 p4reg fetch
assert_eq "$(vtags)" "1:k=café ‮ evil 1:owner=ann 1:team=search 2:data=feb 2026 2:run=r42 "
assert_eq "$(db "SELECT description FROM models")" "two
lines"
run 0 p4reg tag m@2 run=r43
run 0 p4reg push
cd - >/dev/null && run 0 p4reg fetch
assert_eq "$(db "SELECT t.value FROM version_tags t JOIN versions v ON v.id = t.version_id WHERE v.number = 2 AND t.key = 'run'")" "r43"

finish
