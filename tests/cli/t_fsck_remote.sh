#!/usr/bin/env bash
# End-to-end: fsck on a fresh clone whose objects were never downloaded is
# clean (the remote vouches for them: presence and size, nothing
# downloaded); only bytes that exist nowhere are lost (exit 4); fsck --remote
# checks every object on the remote; --offline and core.offline never
# contact it. A folder remote, and an S3 stub that logs every request.
. "$(dirname "$0")/lib.sh"

STUB_PIDS=""
trap 'for p in $STUB_PIDS; do kill "$p" 2>/dev/null; done; chmod -R u+w "$ROOT_TMP" 2>/dev/null; rm -rf "$ROOT_TMP" "$HOME"' EXIT

json_get() { printf '%s' "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
key() { echo "objects/${1:0:2}/${1:2:2}/$1"; }
# objects in the local store
local_objects() { find .p4reg/objects -type f 2>/dev/null | wc -l; }
# v CODE ARGS...: p4reg bounded in time, so a hang fails instead of stalling
v() { local want=$1; shift; run "$want" timeout 120 "$P4REG_BIN" "$@"; }

R="$ROOT_TMP/remote"
# The developer's repository: three versions, pushed to the folder remote,
# pointers and the remote's name committed to git.
fresh_git_repo
DEV=$PWD
random_file models/emb.onnx 200; oid1=$(sha models/emb.onnx); p4reg add -q models/emb.onnx
random_file models/emb.onnx 100; oid2=$(sha models/emb.onnx); p4reg add -q models/emb.onnx
random_file llm.bin 50; oid3=$(sha llm.bin); p4reg add -q llm.bin
p4reg remote add -q origin "$R" && p4reg push -q || fail "push from dev"
git add -A && git commit -qm models || fail "commit in dev"
# clone: what an operator's box has after git clone + p4reg fetch
clone() {
	local d
	d=$(mktemp -d "$ROOT_TMP/clone-XXXXXX")
	git clone -q "$DEV" "$d" && cd "$d" && p4reg fetch -q || fail "clone"
}

begin "a fresh clone with nothing downloaded is clean: not-downloaded notes, exit 0"
clone
run 0 p4reg fsck
assert_contains "$OUT" "not-downloaded: object $oid1 of emb@1 is not downloaded; remote 'origin' has it"
assert_contains "$OUT" "not-downloaded: object $oid2 of emb@2 is not downloaded; remote 'origin' has it"
assert_contains "$OUT" "not-downloaded: object $oid3 of llm@1 is not downloaded; remote 'origin' has it"
assert_contains "$OUT" "ok: 0 objects (0 B) re-hashed, 3 checked on remote 'origin', 2 pointers checked, registry consistent; notes: 3 not downloaded"
assert_eq "$ERR" "" "stderr"
assert_eq "$(local_objects)" "0" "fsck downloaded objects"
run 0 p4reg --json fsck
assert_eq "$(json_get 'd["ok"], d["problems"], d["remote"], d["remote_checked"], d["remote_error"]')" "True [] origin 3 None"
assert_eq "$(json_get 'sorted((n["kind"], n["model"], n["fix"]) for n in d["notes"])')" \
	"[('not-downloaded', 'emb', 'p4reg pull emb@1 downloads it'), ('not-downloaded', 'emb', 'p4reg pull emb@2 downloads it'), ('not-downloaded', 'llm', 'p4reg pull llm@1 downloads it')]"
run 0 p4reg -q fsck && assert_eq "$OUT" "" "-q output"

begin "an object deleted from the remote exists nowhere: missing-object, exit 4"
mv "$R/$(key "$oid1")" "$ROOT_TMP/saved1"
run 4 p4reg fsck
assert_contains "$OUT" "missing-object: object $oid1 of emb@1 is missing from the store and from remote 'origin'"
assert_contains "$OUT" "  fix: push it from the machine that has it (p4reg push there), then p4reg pull emb@1 here; or add the original file again (p4reg add PATH)"
assert_contains "$OUT" "not-downloaded: object $oid2 of emb@2"
assert_contains "$OUT" "1 problem found: 0 objects (0 B) re-hashed, 3 checked on remote 'origin', 0 quarantined, 2 pointers checked; notes: 2 not downloaded"
assert_eq "$ERR" "" "fsck printed an error besides its report"
run 4 p4reg --json fsck
assert_eq "$(json_get '[(p["kind"], p["object"], p["model"]) for p in d["problems"]], len(d["notes"])')" \
	"[('missing-object', '$oid1', 'emb')] 2"
# the fix it names works: the developer pushes again
(cd "$DEV" && p4reg push -q) || fail "push again"
run 0 p4reg fsck
rm -f "$ROOT_TMP/saved1"

begin "a wrong-sized object on the remote: fsck --remote exit 4 naming the version; nothing downloaded"
cp "$R/$(key "$oid2")" "$ROOT_TMP/good2"
chmod u+w "$R/$(key "$oid2")"; printf 'tail' >>"$R/$(key "$oid2")"
bad=$(sha "$R/$(key "$oid2")")
cd "$DEV"
run 0 p4reg fsck   # every object is here: the remote is not asked
assert_not_contains "$OUT" "on remote"
run 4 p4reg fsck --remote
assert_contains "$OUT" "remote-corrupt: object $oid2 of emb@2 on remote 'origin' has 102404 bytes, but its version records 102400"
assert_contains "$OUT" "  fix: remove '$(key "$oid2")' from remote 'origin', then run p4reg push here (the local copy is whole)"
assert_contains "$OUT" "1 problem found: 3 objects (350.0 KiB) re-hashed, 3 checked on remote 'origin'"
run 4 p4reg --json fsck --remote
assert_eq "$(json_get '[(p["kind"], p["object"], p["model"]) for p in d["problems"]], d["remote_checked"]')" \
	"[('remote-corrupt', '$oid2', 'emb')] 3"
clone
run 4 p4reg fsck
assert_contains "$OUT" "remote-corrupt: object $oid2 of emb@2 is missing from the store, and remote 'origin' has it with 102404 bytes, not the 102400 its version records"
assert_eq "$(local_objects)" "0" "fsck downloaded objects"
assert_eq "$(sha "$R/$(key "$oid2")")" "$bad" "the remote object changed"
# the fix it names works
rm -f "$R/$(key "$oid2")"
cd "$DEV" && run 0 p4reg push && run 0 p4reg fsck --remote
assert_same_bytes "$R/$(key "$oid2")" "$ROOT_TMP/good2"

begin "fsck --remote: a version only here is a note that names push"
cd "$DEV"
random_file models/emb.onnx 10; oid4=$(sha models/emb.onnx); p4reg add -q models/emb.onnx
run 0 p4reg fsck --remote
assert_contains "$OUT" "not-on-remote: object $oid4 of emb@3 is not on remote 'origin'"
assert_contains "$OUT" "4 checked on remote 'origin'"
assert_contains "$OUT" "; notes: 1 not on the remote"
run 0 p4reg --json fsck --remote
assert_eq "$(json_get '[(n["kind"], n["fix"]) for n in d["notes"]]')" "[('not-on-remote', 'p4reg push uploads it')]"
run 0 p4reg push -q && run 0 p4reg fsck --remote && assert_not_contains "$OUT" "not-on-remote"
git add -A && git commit -qm emb3

begin "a symlink or a FIFO at a key is not the object; a symlinked folder is refused"
clone
ln -sf "$ROOT_TMP/good2" "$R/$(key "$oid2").tmp" && mv "$R/$(key "$oid2")" "$ROOT_TMP/real2" &&
	mv "$R/$(key "$oid2").tmp" "$R/$(key "$oid2")"
v 4 fsck && assert_contains "$OUT" "missing-object: object $oid2 of emb@2 is missing from the store and from remote 'origin'"
rm "$R/$(key "$oid2")"; mkfifo "$R/$(key "$oid2")"
v 4 fsck && assert_contains "$OUT" "missing-object: object $oid2 of emb@2 is missing from the store and from remote 'origin'"
rm "$R/$(key "$oid2")"; mv "$ROOT_TMP/real2" "$R/$(key "$oid2")"
d=$R/objects/${oid3:0:2}
mv "$d" "$ROOT_TMP/folder3" && ln -s "$ROOT_TMP/folder3" "$d"
v 4 fsck --remote
assert_contains "$OUT" "remote-corrupt: remote 'origin' has a symlink or a file at 'objects/${oid3:0:2}' where a folder belongs; refusing to follow it"
rm "$d" && mv "$ROOT_TMP/folder3" "$d"
v 0 fsck --remote

begin "no remote, another remote, an unknown one"
clone
p4reg config --unset remote.origin.url
run 4 p4reg fsck
assert_contains "$OUT" "missing-object: object $oid1 of emb@1 is missing from the store, and no remote was asked (no remote configured; see 'p4reg remote add')"
assert_contains "$OUT" "  fix: add the remote that has it (p4reg remote add NAME URL), then p4reg pull emb@1; or add the original file again (p4reg add PATH)"
assert_contains "$OUT" "4 problems found"
run 1 p4reg fsck --remote && assert_one_line_error "no remote configured"
p4reg config remote.origin.url "$R"
mkdir "$ROOT_TMP/mirror"; p4reg config remote.mirror.url "$ROOT_TMP/mirror"
run 4 p4reg fsck -r mirror
assert_contains "$OUT" "missing-object: object $oid1 of emb@1 is missing from the store and from remote 'mirror'"
run 0 p4reg fsck --remote-name origin && assert_contains "$OUT" "4 checked on remote 'origin'"
run 1 p4reg fsck -r nosuch && assert_one_line_error "no remote named 'nosuch'"
run 2 p4reg fsck --remote origin && assert_one_line_error "fsck takes no arguments (name the remote with -r NAME)"
run 2 p4reg fsck -r && assert_one_line_error "needs a value"

begin "--offline and core.offline never contact the remote"
clone
p4reg config remote.origin.url "$ROOT_TMP/nowhere"
before=$(snapshot)
run 1 p4reg fsck
assert_contains "$OUT" "not-checked: object $oid1 of emb@1 is not downloaded (not checked: remote 'origin' could not be asked)"
assert_eq "$ERR" "p4reg: cannot check the remote: remote folder '$ROOT_TMP/nowhere' does not exist; p4reg fsck --offline checks without it"
run 1 p4reg --json fsck
assert_eq "$(json_get 'd["ok"], d["problems"], len(d["notes"]), d["remote_error"]')" \
	"False [] 4 remote folder '$ROOT_TMP/nowhere' does not exist"
assert_eq "$ERR" "" "stderr beside the JSON report"
run 0 p4reg fsck --offline
assert_contains "$OUT" "not-checked: object $oid1 of emb@1 is not downloaded (not checked: offline)"
assert_contains "$OUT" "ok: 0 objects (0 B) re-hashed, 2 pointers checked, registry consistent; notes: 4 not checked"
assert_eq "$ERR" "" "stderr"
run 0 p4reg --json fsck --offline
assert_eq "$(json_get 'd["ok"], d["remote"], d["remote_checked"], sorted(set(n["kind"] for n in d["notes"])), [n["fix"] for n in d["notes"] if n["object"] == "'$oid1'"][0]')" \
	"True None 0 ['not-checked'] p4reg pull emb@1 fetches it once the remote can be reached"
p4reg config --local core.offline true
run 0 p4reg fsck && assert_contains "$OUT" "(not checked: offline)"
# the command line's explicit word wins over the configured default
run 1 p4reg fsck --remote && assert_one_line_error "remote folder '$ROOT_TMP/nowhere' does not exist"
run 2 p4reg fsck --offline --remote && assert_one_line_error "--offline never contacts a remote"
run 2 p4reg fsck --offline -r origin && assert_one_line_error "--offline never contacts a remote"
run 2 p4reg fsck --offline --repair && assert_one_line_error "--offline never contacts a remote"
p4reg config --local core.offline maybe
run 2 p4reg fsck && assert_one_line_error "invalid boolean for config 'core.offline'"
p4reg config --local core.offline false
run 1 p4reg fsck
p4reg config --local --unset core.offline
rm .p4reg/config.local   # made by the settings above, not by fsck
assert_eq "$(snapshot)" "$before" "fsck changed the clone"

begin "--offline does not look at the remote: a FIFO in place of its objects folder"
clone
mv "$R/objects" "$ROOT_TMP/objects.real"; mkfifo "$R/objects"
v 0 fsck --offline && assert_contains "$OUT" "notes: 4 not checked"
v 4 fsck && assert_contains "$OUT" "has a symlink or a file at 'objects' where a folder belongs"
rm "$R/objects"; mv "$ROOT_TMP/objects.real" "$R/objects"

begin "--repair with a remote named by -r"
cd "$DEV"
o=.p4reg/$(key "$oid3")
chmod u+w "$o"; flip_byte "$o" 3; chmod 444 "$o"
run 0 p4reg fsck --repair -r origin && assert_contains "$OUT" "repaired: 1 object fetched from the remote and verified"
assert_eq "$(sha "$o")" "$oid3" "repaired object"

# ---- S3 (a stub on 127.0.0.1 that logs every request) ----
export AWS_ACCESS_KEY_ID=AKIDP4REGTEST01 AWS_SECRET_ACCESS_KEY=p4reg-test-secret-0123456789
unset AWS_SESSION_TOKEN
S="$ROOT_TMP/stub"; mkdir -p "$S"
python3 "$P4REG_SRC/tests/s3/stub_s3.py" "$S" "$AWS_SECRET_ACCESS_KEY" 2>"$S/stderr" &
STUB_PIDS=$!
for i in $(seq 100); do [ -f "$S/port" ] && break; sleep 0.1; done
PORT=$(cat "$S/port") || fail "stub did not start"
mode() { echo "$*" >"$S/mode"; }
# requests since line N of the log, as "METHOD path" lines
requests_since() { tail -n +"$(( $1 + 1 ))" "$S/requests.log" | python3 -c 'import json,sys
for l in sys.stdin: r = json.loads(l); print(r["method"], r["path"])'; }
nreq() { wc -l <"$S/requests.log"; }
stub_file() { echo "$S/objects/models%2Fteam%2F$(key "$1" | sed 's|/|%2F|g')"; }

begin "S3: a clone's fsck asks HEAD only, downloads nothing; --offline sends no request"
cd "$DEV"
p4reg remote add -q --endpoint "http://127.0.0.1:$PORT" --path-style s3 s3://models/team 2>/dev/null
# whole objects, which a HEAD sizes (a format-2 chunk list is read: t_chunks_s3)
p4reg config remote.s3.format 1
run 0 p4reg push -r s3
clone
p4reg remote add -q -d --endpoint "http://127.0.0.1:$PORT" --path-style s3 s3://models/team 2>/dev/null
n=$(nreq)
v 0 fsck
assert_contains "$OUT" "not-downloaded: object $oid1 of emb@1 is not downloaded; remote 's3' has it"
assert_contains "$OUT" "4 checked on remote 's3'"
# the remote's format marker (absent: format 1), then a HEAD per object
assert_eq "$(requests_since "$n" | grep -v '^HEAD /models/team/objects/' )" "GET /models/team/p4reg-format.json" "requests fsck made"
assert_eq "$(requests_since "$n" | grep -c '^HEAD')" "4" "HEAD requests"
assert_eq "$(local_objects)" "0" "fsck downloaded objects"
n=$(nreq)
v 0 fsck --offline && assert_contains "$OUT" "notes: 4 not checked"
p4reg config --local core.offline true
v 0 fsck && assert_contains "$OUT" "notes: 4 not checked"
p4reg config --local --unset core.offline
assert_eq "$(nreq)" "$n" "requests made offline"

begin "S3: a wrong size (HEAD Content-Length) is exit 4 naming the version"
cp "$(stub_file "$oid3")" "$ROOT_TMP/s3good3"
printf 'short' >"$(stub_file "$oid3")"
v 4 fsck
assert_contains "$OUT" "remote-corrupt: object $oid3 of llm@1 is missing from the store, and remote 's3' has it with 5 bytes, not the 51200 its version records"
cd "$DEV"
v 4 fsck --remote -r s3
assert_contains "$OUT" "remote-corrupt: object $oid3 of llm@1 on remote 's3' has 5 bytes, but its version records 51200"
rm "$(stub_file "$oid3")"
v 0 fsck --remote -r s3 && assert_contains "$OUT" "not-on-remote: object $oid3 of llm@1 is not on remote 's3'"
cp "$ROOT_TMP/s3good3" "$(stub_file "$oid3")"

begin "S3: a HEAD without a well-formed Content-Length is refused"
cd "$DEV"
for bad in "" "12abc" "-1" "+5" "0x10" "99999999999999999999999" "5 6"; do
	# shellcheck disable=SC2086
	mode head-length $bad
	v 1 fsck --remote -r s3
	case "$bad" in
	"") assert_contains "$ERR" "S3 server sent no Content-Length for HEAD 'objects/" ;;
	-1) ;; # libcurl itself refuses a negative length ("Weird server reply")
	*) assert_contains "$ERR" "S3 server sent an invalid Content-Length for 'objects/" "Content-Length '$bad'" ;;
	esac
	assert_contains "$ERR" "on remote 's3'" "Content-Length '$bad'"
	assert_contains "$ERR" "; p4reg fsck --offline checks without it"
done
mode honest
v 0 fsck --remote -r s3

finish
