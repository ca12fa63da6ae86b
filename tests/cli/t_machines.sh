#!/usr/bin/env bash
# Across machines (issue #12): a developer's laptop adds, a CI runner
# promotes, an operator's box rolls back, each in its own clone sharing one
# folder remote. Bytes come to the command that needs them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/runbook.sh"

REMOTE=$ROOT_TMP/remote
mkdir -p "$REMOTE"

# clone_of NAME: a fresh git clone of the developer's repository; cd into it.
clone_of() {
	local d=$ROOT_TMP/$1
	rm -rf "$d"
	git clone -q "$DEV" "$d" || fail "clone $1"
	cd "$d" || exit 1
	git config user.name "$1" && git config user.email "$1@example.com"
}

begin "the developer adds two versions, promotes one, pushes"
DEV=$ROOT_TMP/dev
mkdir -p "$DEV" && cd "$DEV" && git init -q . && git config user.name dev && git config user.email d@e
p4reg init >/dev/null && p4reg remote add origin "$REMOTE" >/dev/null
mkdir -p models
printf 'weights one' >models/m.onnx && p4reg add -q models/m.onnx -m "first"
V1=$(sha models/m.onnx)
p4reg promote -q m@1 --to production --force -m "first release"
printf 'weights two, better' >models/m.onnx && p4reg add -q models/m.onnx -m "second"
V2=$(sha models/m.onnx)
run 0 p4reg push
git add -A && git commit -qm "models" || fail "commit"

begin "CI: a fresh clone pulls, promotes v2 and pushes"
clone_of ci
run 0 p4reg pull
assert_eq "$(sha models/m.onnx)" "$V2" "pulled file"
run 0 p4reg promote m@2 --to production --force -m "ci gate passed"
run 0 p4reg push

begin "ops: a fresh clone checks out production and rolls back: bytes come on demand"
clone_of ops
run 0 p4reg fetch
assert_no_file .p4reg/objects/${V2:0:2}/${V2:2:2}/$V2
run 0 p4reg checkout m@production
assert_eq "$(sha models/m.onnx)" "$V2" "production checked out"
run 0 p4reg rollback m -m "latency regression"
assert_eq "$(sha models/m.onnx)" "$V1" "rolled back file"
assert_contains "$ERR" "run 'p4reg push' to share it"
assert_eq "$(db "SELECT number FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'm' AND v.stage = 'production'")" "1" "production after rollback"
run 0 p4reg fsck
run 0 p4reg push

begin "CI sees the operator's rollback"
cd "$ROOT_TMP/ci"
run 0 p4reg fetch
run 0 p4reg checkout m@production
assert_eq "$(sha models/m.onnx)" "$V1" "CI's production after fetch"

begin "cat and show --verify download what they need"
clone_of fresh1
p4reg fetch -q
run 0 p4reg cat m@1
assert_eq "$OUT" "weights one" "cat of a version never downloaded here"
clone_of fresh2
p4reg fetch -q
run 0 p4reg show --verify m@2
assert_contains "$OUT" "verified: the bytes hash to its oid"
run 0 p4reg --json show --verify m@2
assert_contains "$OUT" '"verified":true'

begin "pull REF downloads exactly that version and checks it out"
clone_of fresh3
run 0 p4reg pull m@1
assert_eq "$(sha models/m.onnx)" "$V1" "pull m@1"
assert_eq "$(ls .p4reg/objects/*/*/ | wc -l)" "1" "only m@1's object downloaded"
assert_contains "$OUT" "checked out models/m.onnx (m@1)"
assert_contains "$(grep 'version' models/m.onnx.p4reg)" "version 1"
run 0 p4reg --json pull m@2
assert_contains "$OUT" '"checked_out":[{"file":"models/m.onnx"'

begin "offline: --offline and core.offline refuse and name the fix; nothing changes"
clone_of offline
p4reg fetch -q
before=$(snapshot)
run 1 p4reg checkout m@1 --offline
assert_one_line_error "is not in the local store, and offline"
assert_contains "$ERR" "run 'p4reg pull m@1'"
p4reg config --local core.offline true
run 1 p4reg cat m@1
assert_one_line_error "offline"
p4reg promote -q m@2 --to production --force -m "local"
run 1 p4reg rollback m -m "offline"
assert_one_line_error "object ${V1:0:12} of 'm@1' is not in the local store, and offline"
assert_eq "$(db "SELECT count(*) FROM events WHERE kind = 'rollback'")" "$(cd "$ROOT_TMP/ops" && db "SELECT count(*) FROM events WHERE kind = 'rollback'")" "no rollback recorded offline"
p4reg config --local --unset core.offline
# a committed core.offline is not the user's word: it changes nothing
p4reg config core.offline true
run 0 p4reg checkout m@1
p4reg config --unset core.offline

begin "a corrupt object on the remote: exit 4, work tree untouched"
clone_of corrupt
p4reg fetch -q
o="$REMOTE/objects/${V2:0:2}/${V2:2:2}/$V2"
cp "$o" "$ROOT_TMP/v2.good" && chmod u+w "$o" && printf 'weights TWO, better' >"$o"
printf 'my local edit' >models/m.onnx
run 4 p4reg checkout --force m@2
assert_one_line_error "is corrupt"
assert_eq "$(cat models/m.onnx)" "my local edit" "work tree untouched"
assert_no_file .p4reg/objects/${V2:0:2}/${V2:2:2}/$V2
cp "$ROOT_TMP/v2.good" "$o"

begin "an object nowhere, or no remote at all: the message says what was tried"
clone_of lost
p4reg fetch -q
mv "$o" "$ROOT_TMP/v2.moved"
run 1 p4reg checkout m@2
assert_one_line_error "is neither in the local store nor on remote 'origin' ($REMOTE)"
assert_contains "$ERR" "run 'p4reg push' on the machine that added m@2"
mv "$ROOT_TMP/v2.moved" "$o"
p4reg remote remove origin >/dev/null 2>&1 || git config -f .p4reg/config --remove-section remote.origin
run 1 p4reg checkout m@2
assert_one_line_error "cannot be downloaded"
assert_contains "$ERR" "p4reg remote add"

begin "rollback --no-checkout runs no hook; --push shares the rollback"
clone_of hooks
p4reg fetch -q
printf '[hooks]\n\tpost-rollback = touch %s/hook-ran\n' "$ROOT_TMP" >.p4reg/config.local
chmod 600 .p4reg/config.local
p4reg promote -q m@2 --to production --force -m "again"
run 0 p4reg rollback m --no-checkout -m "registry only"
assert_no_file "$ROOT_TMP/hook-ran"
p4reg promote -q m@2 --to production --force -m "and again"
run 0 p4reg rollback m --push -m "shared"
assert_file "$ROOT_TMP/hook-ran"
assert_contains "$ERR" "pushed the rollback to 'origin'"
cd "$ROOT_TMP/ci" && p4reg fetch -q
assert_eq "$(db "SELECT count(*) FROM events WHERE kind = 'rollback' AND reason = 'shared'")" "2" "CI has the pushed rollback"

begin "two clones pushing one model at once: every renumbered pointer follows its version"
clone_of race1
clone_of race2
for round in 1 2 3 4; do
	for side in race1 race2; do
		(
			cd "$ROOT_TMP/$side" || exit 1
			random_file models/m.onnx 4
			p4reg add -q models/m.onnx -m "$side $round" && p4reg push -q
		) >"$ROOT_TMP/$side.$round.log" 2>&1 &
	done
	wait
	for side in race1 race2; do
		st=$(cd "$ROOT_TMP/$side" && p4reg status 2>&1)
		assert_eq "$st" "clean          models/m.onnx (m@$(cd "$ROOT_TMP/$side" && sed -n 's/^version //p' models/m.onnx.p4reg))" "$side after round $round: $(cat "$ROOT_TMP/$side.$round.log")"
		assert_not_contains "$st" "invalid"
	done
done

begin "the rollback runbook, run as written on a fresh clone (folder remote)"
RB_REMOTE=$ROOT_TMP/rb-remote
mkdir -p "$RB_REMOTE"
runbook_fixture origin "$RB_REMOTE"
run_runbook
check_runbook

finish
