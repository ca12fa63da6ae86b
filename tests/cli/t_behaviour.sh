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
	for opt in --bogus -Y; do
		run 2 p4reg "$cmd" "$opt" </dev/null || continue
		assert_eq "$(printf '%s\n' "$ERR" | head -1)" "p4reg: unknown option '$opt'" "$cmd $opt"
		assert_contains "$ERR" "usage: p4reg $cmd" "$cmd $opt: usage follows"
	done
	run 2 p4reg --json "$cmd" --bogus </dev/null
	assert_eq "$OUT" '{"error":{"code":"usage","message":"unknown option '"'"'--bogus'"'"'"}}' "$cmd --json"
done
run 2 p4reg remote list --bogus && assert_one_line_error "unknown option '--bogus'"
run 2 p4reg list -z && assert_eq "$(printf '%s\n' "$ERR" | head -2)" "p4reg: unknown option '-z'
usage: p4reg list [--stage STAGE]"
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

# no_empty_strings: the JSON document in $OUT parses and holds no "" value.
no_empty_strings() {
	printf '%s' "$OUT" | python3 -c '
import json, sys
def walk(v, path):
    if v == "":
        print(path)
    elif isinstance(v, dict):
        for k, x in v.items(): walk(x, path + "." + k)
    elif isinstance(v, list):
        for i, x in enumerate(v): walk(x, path + "[%d]" % i)
walk(json.load(sys.stdin), "$")' >"$ROOT_TMP/empty" || { fail "$1: not JSON: $OUT"; return; }
	assert_eq "$(cat "$ROOT_TMP/empty")" "" "$1: empty strings instead of null"
}

begin "JSON: absent values are null, never \"\""
fresh_repo
random_file a.bin 4
p4reg add -q a.bin || fail "add"
random_file a.bin 4
p4reg add -q a.bin || fail "add 2"
p4reg promote -q a@1 --to staging --force || fail "promote"
p4reg promote -q a@1 --to production || fail "promote"
p4reg promote -q a@2 --to production --force || fail "promote"
run 0 p4reg --json show a@1
assert_eq "$(json 'd["message"], d["git"]')" "None {'commit': None, 'branch': None, 'dirty': None}"
no_empty_strings "show"
run 0 p4reg --json log a && no_empty_strings "log"
run 0 p4reg --json list && no_empty_strings "list"
run 0 p4reg --json history
assert_eq "$(json 'set(e["reason"] for e in d["events"] if e["kind"] == "register"), d["events"][0]["from"]')" "{None} None"
no_empty_strings "history"
run 0 p4reg --json promote a@2 --to archived
assert_eq "$(json 'd["reason"]')" "None"
no_empty_strings "promote"
p4reg -q promote a@2 --to production --force || fail "promote back"
run 0 p4reg --json rollback a --no-checkout
assert_eq "$(json 'd["reason"]')" "None"
no_empty_strings "rollback"
run 0 p4reg --json add a.bin && no_empty_strings "add"
run 0 p4reg --json runs && no_empty_strings "runs"
# an invalid pointer: model and version are null, not missing
printf 'garbage\n' >a.bin.p4reg
run 4 p4reg --json status
assert_eq "$(json 'd["files"]')" "[{'file': 'a.bin', 'state': 'invalid', 'model': None, 'version': None}]"
# fsck findings carry every key, null where it does not apply
run 4 p4reg --json fsck
assert_eq "$(json '[(p["kind"], p["object"], p["path"], p["model"]) for p in d["problems"]]')" "[('bad-pointer', None, 'a.bin.p4reg', None)]"
no_empty_strings "fsck"
run 0 p4reg --json help && no_empty_strings "help"

begin "JSON: help, help COMMAND and no command at all"
run 0 p4reg --json help
assert_eq "$(json '"log" in [c["name"] for c in d["commands"]], len(d["commands"]) == len(set(c["name"] for c in d["commands"]))')" "True True"
assert_eq "$(json '[o for o in d["options"] if o["long"] == "--json"]')" "[{'long': '--json', 'short': None, 'value': None}]"
assert_eq "$(json '[o for o in d["options"] if o["short"] == "-C"]')" "[{'long': None, 'short': '-C', 'value': 'DIR'}]"
OUT_HELP=$OUT
run 0 p4reg --json --help && assert_eq "$OUT" "$OUT_HELP"
run 0 p4reg help --json && assert_eq "$OUT" "$OUT_HELP"
run 0 p4reg --json help pull
assert_eq "$(json 'd["name"], d["usage"].splitlines()[0]')" "pull usage: p4reg pull [-r NAME] [--force] [--no-stage] [REF|PATH...]"
assert_eq "$(json 'd["options"]')" "[{'long': '--remote', 'short': '-r', 'value': 'NAME'}, {'long': '--force', 'short': '-f', 'value': None}, {'long': '--no-stage', 'short': None, 'value': None}]"
run 0 p4reg --json pull --help && assert_eq "$(json 'd["name"]')" "pull"
run 0 p4reg help pull && assert_eq "$OUT" "$(p4reg pull --help)"
run 2 p4reg --json
assert_eq "$OUT" '{"error":{"code":"usage","message":"no command given; see '"'"'p4reg help'"'"'"}}'
assert_eq "$ERR" ""
run 2 p4reg && assert_contains "$ERR" "usage: p4reg"
run 2 p4reg --json help nosuch && assert_eq "$(json 'd["error"]["code"]')" "usage"
run 2 p4reg help a b && assert_one_line_error "help takes at most one command"

begin "provenance before the first commit: git.branch is the unborn branch"
d=$(mktemp -d "$ROOT_TMP/unborn-XXXXXX") && cd "$d"
git init -q -b trunk . && p4reg init >/dev/null || fail "init"
random_file m.bin 4
run 0 p4reg add m.bin
run 0 p4reg --json show m
assert_eq "$(json 'd["git"]["commit"], d["git"]["branch"]')" "None trunk"
run 0 p4reg show m && assert_contains "$OUT" "git:      no commit yet on trunk"
git symbolic-ref HEAD refs/heads/feature/x
random_file m.bin 4
p4reg add -q m.bin || fail "add 2"
assert_eq "$(db 'SELECT git_branch FROM versions ORDER BY number')" "trunk
feature/x"
git add -A && git commit -qm one
random_file m.bin 4
p4reg add -q m.bin || fail "add 3"
assert_eq "$(db 'SELECT git_commit = '"'$(git rev-parse HEAD)'"', git_branch FROM versions WHERE number = 3')" "1|feature/x"

# tree_sum DIR: a fingerprint of every file's bytes and path below DIR.
tree_sum() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum); }

begin "init refuses inside a repository and above one (exit 3), the other one untouched"
top=$(mktemp -d "$ROOT_TMP/nest-XXXXXX")
mkdir -p "$top/proj/inner/models" && cd "$top/proj/inner"
p4reg init >/dev/null || fail "inner init"
random_file models/x.bin 4
p4reg add -q models/x.bin || fail "inner add"
inner=$(tree_sum "$top/proj/inner")
cd "$top/proj"
run 3 p4reg init
assert_eq "$ERR" "p4reg: '$top/proj' holds the p4reg repository at '$top/proj/inner'; repositories do not nest"
assert_no_file "$top/proj/.p4reg/config"
run 3 p4reg --json init && assert_eq "$(json 'd["error"]["code"]')" "refused"
# deeper, and from a git work tree whose root is above the inner repository
mkdir -p "$top/proj/a/b" && mv "$top/proj/inner" "$top/proj/a/b/" && cd "$top/proj"
git init -q . && cd a
run 3 p4reg init && assert_one_line_error "holds the p4reg repository at '$top/proj/a/b/inner'"
cd b/inner/models && run 3 p4reg init --here && assert_one_line_error "is inside the p4reg repository at '$top/proj/a/b/inner'"
assert_eq "$(tree_sum "$top/proj/a/b/inner")" "$inner" "the inner repository changed"
[ -e "$top/proj/.p4reg" ] || [ -e "$top/proj/a/.p4reg" ] && fail "a refused init left .p4reg behind"
# a symbolic link to a repository is not followed; .git is not searched
mv "$top/proj/a/b/inner" "$top/elsewhere" && ln -s "$top/elsewhere" "$top/proj/a/b/inner"
mkdir -p "$top/proj/.git/x/.p4reg"
cd "$top/proj" && run 0 p4reg init && assert_file "$top/proj/.p4reg/config"

begin "a repository below another is the inner one's: the outer neither lists nor registers it"
outer=$(mktemp -d "$ROOT_TMP/outer-XXXXXX") && cd "$outer"
p4reg init >/dev/null || fail "outer init"
random_file top.bin 4 && p4reg add -q top.bin || fail "outer add"
# a clone or a copy can put a repository below: init refuses, files do not
mkdir sub && cp -r "$top/elsewhere/." sub/
inner=$(tree_sum "$outer/sub")
run 0 p4reg status && assert_eq "$OUT" "clean          top.bin (top@1)"
run 2 p4reg add sub/models/x.bin
assert_eq "$ERR" "p4reg: 'sub/models/x.bin' is inside the p4reg repository at '$outer/sub'; run p4reg there"
run 0 p4reg checkout && assert_not_contains "$OUT" "sub/"
run 0 p4reg fsck && assert_contains "$OUT" "1 pointers checked"
assert_eq "$(tree_sum "$outer/sub")" "$inner" "the inner repository changed"
(cd sub && run 0 p4reg status && assert_eq "$OUT" "clean          models/x.bin (x@1)")

begin "pointer errors name the .p4reg file"
fresh_repo
random_file models/x.bin 4
p4reg add -q models/x.bin || fail "add"
cp models/x.bin.p4reg "$ROOT_TMP/good.ptr"
sed -i 's/^size .*/size 1/' models/x.bin.p4reg
run 4 p4reg status
assert_eq "$ERR" "p4reg: warning: pointer 'models/x.bin.p4reg' names x@1 as $(sha models/x.bin | cut -c1-12) (1 bytes), but the registry has $(sha models/x.bin | cut -c1-12) (4096 bytes); check out a version by name to repair it
p4reg: 1 invalid pointer (the warning above says why)"
for args in "checkout models/x.bin" "show models/x.bin" "show models/x.bin.p4reg" "cat models/x.bin"; do
	# shellcheck disable=SC2086
	run 4 p4reg $args >/dev/null && assert_contains "$ERR" "pointer 'models/x.bin.p4reg' names x@1" "$args"
done
sed -i 's/^version 1$/version 9/; s/^size .*/size 4096/' models/x.bin.p4reg
run 0 p4reg status && assert_contains "$ERR" "pointer 'models/x.bin.p4reg' names x@9, which the registry does not know"
run 1 p4reg checkout models/x.bin && assert_one_line_error "pointer 'models/x.bin.p4reg' names x@9"
printf 'garbage\n' >models/x.bin.p4reg
for args in status "checkout models/x.bin" "show models/x.bin"; do
	# shellcheck disable=SC2086
	run 4 p4reg $args && assert_contains "$ERR" "invalid pointer 'models/x.bin.p4reg' line 1" "$args"
done

begin "status exits 4 on an invalid pointer, after listing every file"
cp "$ROOT_TMP/good.ptr" models/x.bin.p4reg
random_file y.bin 4 && p4reg add -q y.bin || fail "add y"
run 0 p4reg status
printf 'p4reg-pointer 1\n' >models/x.bin.p4reg
run 4 p4reg status
assert_eq "$OUT" "invalid        models/x.bin
clean          y.bin (y@1)"
run 4 p4reg --json status
assert_eq "$(json '[(f["file"], f["state"]) for f in d["files"]]')" "[('models/x.bin', 'invalid'), ('y.bin', 'clean')]"
run 4 p4reg -q status && assert_contains "$ERR" "1 invalid pointer"
# a file that is not regular is invalid too, but its pointer is fine: exit 0
cp "$ROOT_TMP/good.ptr" models/x.bin.p4reg
rm models/x.bin && mkfifo models/x.bin
run 0 timeout 20 "$P4REG_BIN" status && assert_contains "$OUT" "invalid        models/x.bin"
rm models/x.bin

begin "fetch and pull count the objects already here"
cd "$(mktemp -d "$ROOT_TMP/sync-XXXXXX")" && mkdir a b remote && cd a
p4reg init >/dev/null && p4reg remote add -q origin ../remote || fail "setup a"
random_file m.bin 8 && cp m.bin same.bin && random_file o.bin 4
p4reg add -q m.bin same.bin o.bin && p4reg push -q || fail "push"
cd ../b && p4reg init >/dev/null && p4reg remote add -q origin ../remote || fail "setup b"
run 0 p4reg fetch --objects
assert_eq "$OUT" "fetched from 'origin': 3 events in 1 batch, 2 objects (12.0 KiB)"
run 0 p4reg fetch --objects
assert_eq "$OUT" "fetched from 'origin': 0 events in 0 batches, 0 objects (0 B), 2 already present"
run 0 p4reg --json fetch --objects
assert_eq "$(json 'd["objects"]')" "{'sent': 0, 'bytes_sent': 0, 'received': 0, 'bytes_received': 0, 'already_present': 2}"
run 0 p4reg --json fetch m@1 same@1 m@1
assert_eq "$(json 'd["objects"]["received"], d["objects"]["already_present"]')" "0 1"
cp ../a/*.p4reg .
run 0 p4reg pull && assert_contains "$OUT" "pulled from 'origin': 0 events, 0 objects (0 B), 2 already present"
run 0 p4reg --json pull o@1 m@1
assert_eq "$(json 'd["objects"]["received"], d["objects"]["already_present"]')" "0 2"
# one object missing, one here: each counted where it belongs
chmod -R u+w .p4reg/objects && rm -rf .p4reg/objects/*
p4reg -q fetch o@1 || fail "fetch o"
run 0 p4reg --json pull m.bin o.bin
assert_eq "$(json 'd["objects"]["received"], d["objects"]["already_present"]')" "1 1"

finish
