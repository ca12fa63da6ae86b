#!/usr/bin/env bash
# End-to-end: promote --dry-run and rollback --dry-run. For every refusal
# kind the dry run exits as the real command does and names the same kind
# in JSON; a dry run changes nothing (the registry's SQL dump, every file's
# bytes, git status, the remote); then the real command does what the dry
# run said.
. "$(dirname "$0")/lib.sh"

# newver N: fresh bytes in models/m.bin added as m@N; their sha256 in SHA_N.
newver() {
	random_file models/m.bin 16
	eval "SHA_$1=$(sha models/m.bin)"
	p4reg add -q models/m.bin >/dev/null || fail "add of version $1 failed"
}
stage() { db "SELECT stage FROM versions WHERE number = $1"; }
metric() { p4reg -q log-metric "$@" --run r --time 2026-02-18T09:30:00Z >/dev/null || fail "log-metric $* failed"; }
# state: the registry as SQL, every file below here (store and work tree,
# not .git) with its bytes, and what git sees.
state() {
	sqlite3 -readonly .p4reg/registry.db .dump
	find . -path ./.git -prune -o -path ./.p4reg/tmp -prune -o -type f ! -name 'registry.db*' -print0 |
		sort -z | xargs -0 -r sha256sum
	git status --porcelain
}
# kind: refusal.kind of the JSON document on stdin ("none" when null).
commit() { git add -A && git commit -qm "$1" >/dev/null; true; }
kind() { python3 -c 'import json,sys; r=json.load(sys.stdin).get("refusal"); print(r["kind"] if r else "none")'; }

# same CODE KIND ARGS...: `p4reg ARGS --dry-run` and `p4reg ARGS`, in text
# and in JSON, exit CODE with the same error line and refusal.kind KIND;
# the dry runs change nothing, nor does a refusal.
same() {
	local code=$1 want=$2 before dry_err
	shift 2
	before=$(state)
	run "$code" p4reg "$@" --dry-run || return
	dry_err=$ERR
	run "$code" p4reg --json "$@" --dry-run || return
	assert_eq "$(echo "$OUT" | kind)" "$want" "the dry run's kind of '$*'"
	case $code in 0|3) assert_contains "$OUT" '"dry_run":true' ;; esac
	assert_eq "$(state)" "$before" "the dry run of '$*' changed something"
	[ "$code" = 0 ] || {
		run "$code" p4reg --json "$@" || return
		assert_eq "$(echo "$OUT" | kind)" "$want" "the real kind of '$*'"
		assert_eq "$(state)" "$before" "the refused '$*' changed something"
	}
	run "$code" p4reg "$@"
	[ "$code" = 0 ] || assert_eq "$ERR" "$dry_err" "the error lines of '$*'"
}

fresh_git_repo
for n in 1 2 3 4; do newver "$n"; done
commit "four versions"
metric m@2 f1=0.5

begin "promote: every refusal kind, dry and real alike"
same 3 already-there promote m@1 --to development
same 3 already-there promote m@1 --to development --force
same 3 step-rule promote m@1 --to staging
same 3 gate promote m@2 --to validation --require 'f1>=0.9'
same 3 gate promote m@3 --to validation --require 'f1>=0.9'
same 0 none promote m@1 --to validation
same 3 step-rule promote m@1 --to development
same 0 none promote m@3 --to archived
same 3 step-rule promote m@3 --to validation
assert_eq "$(stage 1) $(stage 3)" "validation archived"
# a committed policy refuses as a gate
git config -f .p4reg/config --add stage.production.require 'f1>=0.8'
same 3 gate promote m@2 --to production --force
run 3 p4reg --json promote m@2 --to production --force --dry-run
assert_contains "$OUT" '"origin":"stage.production.require"'
git config -f .p4reg/config --unset-all stage.production.require

begin "promote --dry-run: what would happen, then the promotion does it"
run 0 p4reg promote m@1 --to production --force
before=$(state)
run 0 p4reg promote m@2 --to production --force --require 'f1>=0.4' --dry-run
assert_eq "$OUT" "would promote m v2: development -> production (forced, demotes v1 to archived)
  pass  not in production: 'm@2' is in development
  pass  development -> production: skipping a stage (forced)
  pass  f1>=0.4: 0.5 >= 0.4
        m@2 f1=0.5: run r (experiment default), step 0"
assert_eq "$ERR" ""
run 0 p4reg --json promote m@2 --to production --force --require 'f1>=0.4' --dry-run
assert_eq "$(echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["action"], d["from"], d["to"], d["forced"], d["replaces"], [(c["kind"], c["name"], c["ok"]) for c in d["checks"]], d["checks"][2]["condition"]["left"])')" \
	"promote development production True 1 [('already-there', 'not in production', True), ('step-rule', 'development -> production', True), ('gate', 'f1>=0.4', True)] 0.5"
run 0 p4reg -q promote m@2 --to production --force --dry-run && assert_eq "$OUT" ""
assert_eq "$(state)" "$before" "a passing dry run changed something"
run 0 p4reg promote m@2 --to production --force --require 'f1>=0.4'
assert_eq "$(echo "$OUT" | head -2)" "promoted m@2 from development to production (forced)
archived m@1 (replaced by v2)"
assert_eq "$(stage 1) $(stage 2)" "archived production"
run 3 p4reg promote m@4 --to staging --dry-run
assert_eq "$OUT" "would refuse to promote m v4: development -> staging
  pass  not in staging: 'm@4' is in development
  FAIL  development -> staging: skipping a stage needs --force"
assert_one_line_error "cannot promote 'm@4' to staging: skipping a stage (development to staging) needs --force"
# bad input is the same error, dry or not
run 2 p4reg promote m@4 --to prod --dry-run && assert_one_line_error "unknown stage 'prod'"
run 2 p4reg promote m@4 --to validation --require 'f1=1' -n && assert_one_line_error "invalid gate 'f1=1'"
run 1 p4reg promote m@9 --to validation --dry-run && assert_one_line_error "model 'm' has no version 9"
run 1 p4reg --json promote nope@1 --to validation --dry-run && assert_contains "$OUT" '{"error":{"code":"not_found"'
commit "m@2 in production"

begin "rollback: every refusal kind, dry and real alike"
same 3 already-there rollback m --to 2
same 3 step-rule rollback m --to 4
run 0 p4reg -q promote m@3 --to production --force
run 0 p4reg checkout -q m@3
commit "m@3 in production"
same 0 none rollback m --no-checkout
assert_eq "$(stage 2) $(stage 3)" "production archived"
same 3 policy rollback m --to 3
same 0 none rollback m --no-checkout
assert_eq "$(stage 1) $(stage 2) $(stage 3)" "production archived archived"
same 3 no-target rollback m
fresh_git_repo
newver 1
commit "one version"
same 3 no-target rollback m
run 3 p4reg --json rollback m
assert_eq "$OUT" '{"error":{"code":"refused","message":"model '"'"'m'"'"' has no production version; nothing to roll back"},"refusal":{"kind":"no-target","message":"model '"'"'m'"'"' has no production version; nothing to roll back"}}'
run 1 p4reg rollback nope --dry-run && assert_one_line_error "unknown model 'nope'"
run 2 p4reg rollback m@1 --dry-run
run 2 p4reg rollback m --to 0 --dry-run

begin "rollback --dry-run: what would happen, then the rollback does it"
fresh_git_repo
for n in 1 2; do newver "$n"; done
for n in 1 2; do p4reg -q promote "m@$n" --to production --force || fail "promote $n"; done
p4reg config --local hooks.post-rollback "touch '$ROOT_TMP/hook-ran'"
R="$ROOT_TMP/remote"
mkdir "$R" && p4reg -q remote add origin "$R" && p4reg -q push || fail "push"
commit "v2 in production"
before=$(state)
remote_before=$(find "$R" -type f | sort | xargs sha256sum)
run 0 p4reg rollback m --dry-run --push
assert_eq "$OUT" "would roll back m: production v2 -> v1 (work tree would change: models/m.bin)
  pass  production version: 'm@2' is in production
  pass  earlier production version: 'm@1' held production before 'm@2'
would run hooks.post-rollback
would push the rollback to 'origin'"
assert_eq "$ERR" ""
run 0 p4reg --json rollback m --dry-run --push
assert_eq "$(echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); w=d["work_tree"]; print(d["action"], d["from"], d["to"], w["action"], w["write"], w["remove"], w["blocked"], w["download"], d["hook"], d["push"], d["refusal"])')" \
	"rollback 2 1 write ['models/m.bin'] [] None 0 post-rollback origin None"
assert_eq "$(state)" "$before" "a passing dry run changed something"
assert_eq "$(find "$R" -type f | sort | xargs sha256sum)" "$remote_before" "the dry run pushed"
assert_no_file "$ROOT_TMP/hook-ran"
run 0 p4reg rollback m --push
assert_contains "$OUT" "production is now v1 (v2 archived, marked rolled back)"
assert_eq "$(sha models/m.bin)" "$SHA_1"
assert_eq "$(stage 1) $(stage 2)" "production archived"
assert_file "$ROOT_TMP/hook-ran"

begin "rollback --dry-run: the work tree unchanged, left alone, or in the way"
run 0 p4reg -q promote m@2 --to production --force
run 0 p4reg rollback m --dry-run
assert_eq "$(echo "$OUT" | head -1)" "would roll back m: production v2 -> v1 (work tree unchanged: models/m.bin)"
run 0 p4reg rollback m --dry-run --no-checkout
assert_eq "$(echo "$OUT" | head -1)" "would roll back m: production v2 -> v1 (work tree left alone: --no-checkout)"
assert_not_contains "$OUT" "hooks.post-rollback"
p4reg checkout -q m@2
echo "local edit" >>models/m.bin
before=$(state)
run 1 p4reg rollback m --dry-run
assert_eq "$(echo "$OUT" | head -1)" "would roll back m: production v2 -> v1 (work tree would not be restored: models/m.bin)"
assert_one_line_error "the rollback to v1 would be recorded, but 'models/m.bin' would not be restored ('models/m.bin' has changes that are in no version"
run 1 p4reg --json rollback m --dry-run
assert_contains "$OUT" '"work_tree":{"action":"blocked"'
assert_contains "$ERR" "would not be restored"
assert_eq "$(state)" "$before" "a blocked dry run changed something"
run 1 p4reg rollback m
assert_one_line_error "rolled back 'm' to v1 in the registry, but 'models/m.bin' was not restored"

begin "rollback --dry-run: bytes to download are named, never fetched"
run 0 p4reg checkout -q --force m@production
run 0 p4reg -q promote m@2 --to production --force
chmod -R u+w .p4reg/objects && rm -f ".p4reg/objects/${SHA_1:0:2}/${SHA_1:2:2}/$SHA_1"
before=$(state)
run 0 p4reg rollback m --dry-run
assert_contains "$OUT" "would download 1 object (16.0 KiB) from 'origin' first"
assert_eq "$(state)" "$before" "the dry run downloaded"
same 1 none rollback m --offline
assert_contains "$ERR" "offline (--offline or core.offline) nothing is downloaded"
run 0 p4reg rollback m
assert_eq "$(sha models/m.bin)" "$SHA_1"

begin "rollback --dry-run of a folder model names its files"
fresh_git_repo
mkdir -p models/d
printf 'one\n' >models/d/a.txt
printf 'shared\n' >models/d/s.txt
run 0 p4reg add -q models/d/
rm models/d/a.txt && printf 'two\n' >models/d/b.txt && printf 'changed\n' >models/d/s.txt
run 0 p4reg add -q models/d/
for n in 1 2; do p4reg -q promote "d@$n" --to production --force || fail "promote $n"; done
commit "d@2 in production"
before=$(state)
run 0 p4reg rollback d --dry-run
assert_eq "$(echo "$OUT" | head -1)" "would roll back d: production v2 -> v1 (work tree would change: models/d/ (2 files written, 1 removed))"
run 0 p4reg --json rollback d --dry-run
assert_eq "$(echo "$OUT" | python3 -c 'import json,sys; w=json.load(sys.stdin)["work_tree"]; print(w["write"], w["remove"])')" \
	"['models/d/a.txt', 'models/d/s.txt'] ['models/d/b.txt']"
assert_eq "$(state)" "$before" "the folder's dry run changed something"
run 0 p4reg rollback d
assert_eq "$(cat models/d/a.txt models/d/s.txt)" "one
shared"
assert_no_file models/d/b.txt

begin "--help names --dry-run as docs/commands.md does"
for c in promote rollback; do
	run 0 p4reg "$c" --help
	assert_contains "$OUT" "[--dry-run]"
	assert_contains "$OUT" "  -n, --dry-run"
	assert_contains "$(grep "^| \`$c " "$P4REG_SRC/docs/commands.md")" "[--dry-run]"
done
assert_contains "$(cat "$P4REG_SRC/docs/json.md")" '| `no-target` |'

finish
