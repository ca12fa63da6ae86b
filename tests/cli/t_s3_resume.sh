#!/usr/bin/env bash
# Resumable S3 uploads against the S3 stub (tests/s3/stub_s3.py): a push
# that stopped mid-multipart leaves its upload, the next push sends only the
# parts the remote lacks (a part is kept only when its size and MD5 match
# the local bytes), hostile listings mean a fresh upload and never a crash,
# and gc -r aborts the uploads older than its grace period, never a young one.
. "$(dirname "$0")/lib.sh"

STUB_PID=""
trap '[ -n "$STUB_PID" ] && kill "$STUB_PID" 2>/dev/null; chmod -R u+w "$ROOT_TMP" 2>/dev/null; rm -rf "$ROOT_TMP" "$HOME"' EXIT

export AWS_ACCESS_KEY_ID=AKIDP4REGTEST01 AWS_SECRET_ACCESS_KEY=p4reg-test-secret-0123456789
unset AWS_SESSION_TOKEN
S="$ROOT_TMP/stub"; mkdir -p "$S"
python3 "$P4REG_SRC/tests/s3/stub_s3.py" "$S" "$AWS_SECRET_ACCESS_KEY" 2>"$S/stderr" &
STUB_PID=$!
for _ in $(seq 100); do [ -f "$S/port" ] && break; sleep 0.1; done
PORT=$(cat "$S/port") || fail "the stub did not start"

mode() { echo "$*" >"$S/mode"; }
mark() { MARK=$(wc -l <"$S/requests.log"); }
# since_mark: "METHOD path" of every request since the last mark
since_mark() { tail -n +$((MARK + 1)) "$S/requests.log" | python3 -c 'import json, sys
for l in sys.stdin: r = json.loads(l); print(r["method"], r["path"])'; }
# parts_sent: the part numbers uploaded since the mark, in order
parts_sent() { since_mark | sed -n 's/^PUT .*partNumber=\([0-9]*\)&.*/\1/p' | sort -n | tr '\n' ' ' | sed 's/ $//'; }
# uploads: how many unfinished uploads the stub holds
uploads() { ls "$S/uploads" | wc -l; }
# upload_of OID: the stub's folder of the (only) upload of OID
upload_of() { grep -l "objects/${1:0:2}/${1:2:2}/$1" "$S"/uploads/*/key | head -1 | xargs -r dirname; }
remote_object() { echo "$S/objects/models%2Fteam%2Fobjects%2F${1:0:2}%2F${1:2:2}%2F$1"; }
v() { local want=$1; shift; run "$want" timeout 120 "$P4REG_BIN" "$@"; }

cd "$ROOT_TMP"; mkdir A; cd A
p4reg init >/dev/null
p4reg remote add -d --endpoint "http://127.0.0.1:$PORT" --path-style origin s3://models/team >/dev/null 2>&1 || fail "remote add"
# whole objects: multipart uploads and their resumption are format 1's
p4reg config remote.origin.format 1
p4reg config remote.origin.multipartThreshold 1m
p4reg config remote.origin.partSize 5m
p4reg config remote.origin.jobs 1

begin "a push that fails at part 3 leaves its upload; the next push sends only parts 3 and 4"
random_file m.bin 17408       # 17 MiB: parts of 5, 5, 5 and 2 MiB
p4reg add m.bin -m first >/dev/null 2>&1
oid=$(sha m.bin)
mode fail-part 3
v 1 push
assert_one_line_error "S3 PUT 'objects/${oid:0:2}/${oid:2:2}/$oid' on remote 'origin' failed: HTTP 500: InternalError"
assert_no_file "$(remote_object "$oid")"
assert_eq "$(uploads)" "1" "the upload was not left for the next push"
assert_eq "$(ls "$(upload_of "$oid")" | grep -c '^[0-9]*$')" "2" "parts on the stub"
mode honest; mark
v 0 push
assert_contains "$ERR" "resuming upload of m@1: 2 of 4 parts already on the remote"
assert_contains "$OUT" "1 object (17.0 MiB) uploaded"
assert_eq "$(parts_sent)" "3 4" "parts uploaded by the resumed push"
assert_eq "$(since_mark | grep -c '^POST .*uploads=$')" "0" "a fresh upload was created"
assert_same_bytes "$(remote_object "$oid")" m.bin
assert_eq "$(uploads)" "0" "the completed upload is still listed"
cd "$ROOT_TMP"; mkdir B; cd B; p4reg init >/dev/null
p4reg remote add -d --endpoint "http://127.0.0.1:$PORT" --path-style origin s3://models/team >/dev/null 2>&1
v 0 pull m && assert_same_bytes m.bin ../A/m.bin
cd ../A

begin "a part whose stored bytes changed on the remote is sent again"
random_file n.bin 17408
p4reg add n.bin >/dev/null 2>&1
oid=$(sha n.bin)
mode fail-part 4
v 1 push
up=$(upload_of "$oid")
head -c 5242880 /dev/zero >"$up/2"    # same size, other bytes: its ETag no longer matches
mode honest; mark
v 0 push
assert_contains "$ERR" "resuming upload of n@1: 3 of 4 parts already on the remote"
assert_eq "$(parts_sent)" "2 4" "parts uploaded by the resumed push"
assert_same_bytes "$(remote_object "$oid")" n.bin

begin "another part size: the old upload is aborted and a fresh one made"
random_file o.bin 17408
p4reg add o.bin >/dev/null 2>&1
oid=$(sha o.bin)
mode fail-part 3
v 1 push
old=$(cat "$(upload_of "$oid")/id")
p4reg config remote.origin.partSize 6m
mode honest; mark
v 0 push
assert_not_contains "$ERR" "resuming"
assert_eq "$(since_mark | grep -c "^DELETE .*uploadId=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="~"))' "$old")")" "1" "the old upload was not aborted"
assert_eq "$(parts_sent)" "1 2 3" "parts of 6 MiB uploaded"
assert_same_bytes "$(remote_object "$oid")" o.bin
assert_eq "$(uploads)" "0" "an upload is left"
p4reg config remote.origin.partSize 5m

begin "hostile listings mean a fresh upload, never a crash"
for m in parts-flood parts-endless parts-malformed parts-absurd parts-dup uploads-endless uploads-evil-id; do
	random_file "h-$m.bin" 6144     # parts of 5 and 1 MiB
	p4reg add "h-$m.bin" >/dev/null 2>&1
	oid=$(sha "h-$m.bin")
	mode fail-part 2
	v 1 push
	mode "$m"; mark
	v 0 push || continue
	assert_same_bytes "$(remote_object "$oid")" "h-$m.bin"
	case $m in
	uploads-evil-id)
		# the newest upload's id is not one an S3 server makes: skipped, the other resumed
		assert_contains "$ERR" "1 of 2 parts already on the remote" "$m"
		assert_eq "$(parts_sent)" "2" "$m: parts sent"
		assert_not_contains "$(since_mark)" "x%26uploadId" "$m: the hostile id was used" ;;
	parts-absurd)
		# parts of 2^62 bytes fit no part of this file: that upload is aborted
		assert_not_contains "$ERR" "resuming" "$m"
		assert_eq "$(since_mark | grep -c '^DELETE .*uploadId=')" "1" "$m: the unfit upload was not aborted"
		assert_eq "$(parts_sent)" "1 2" "$m: parts sent" ;;
	*)
		# a listing that cannot be judged is left alone (gc -r ages it out)
		assert_not_contains "$ERR" "resuming" "$m"
		assert_eq "$(since_mark | grep -c '^DELETE .*uploadId=')" "0" "$m: an upload was aborted"
		assert_eq "$(parts_sent)" "1 2" "$m: parts sent" ;;
	esac
done
mode honest

begin "a completion that fails aborts the upload; one whose answer was lost is no failure; a short object is removed"
random_file c.bin 6144
p4reg add c.bin >/dev/null 2>&1
oid=$(sha c.bin)
mode fail-complete; mark
v 1 push && assert_one_line_error "S3 POST 'objects/${oid:0:2}/${oid:2:2}/$oid' on remote 'origin' failed: HTTP 500: InternalError"
assert_eq "$(since_mark | grep -c '^DELETE .*uploadId=')" "1" "the upload was not aborted"
assert_eq "$(upload_of "$oid")" "" "its upload is left"
assert_no_file "$(remote_object "$oid")"
mode complete-500
v 0 push && assert_contains "$OUT" "1 object (6.0 MiB) uploaded"
assert_same_bytes "$(remote_object "$oid")" c.bin
random_file d.bin 6144
p4reg add d.bin >/dev/null 2>&1
oid=$(sha d.bin)
mode complete-short
v 4 push && assert_one_line_error "S3 completed the upload of 'objects/${oid:0:2}/${oid:2:2}/$oid' on remote 'origin', but the object has 6291455 bytes, not 6291456; removed it"
assert_no_file "$(remote_object "$oid")"
mode honest
v 0 push && assert_same_bytes "$(remote_object "$oid")" d.bin

begin "gc -r: an upload older than the grace period is aborted, a young one kept"
rm -rf "$S"/uploads/*
random_file g1.bin 6144; random_file g2.bin 6144
p4reg add g1.bin g2.bin >/dev/null 2>&1
g1=$(sha g1.bin); g2=$(sha g2.bin)
mode fail-part 2
v 1 push g1; v 1 push g2
mode honest
assert_eq "$(uploads)" "2" "uploads left by the failed pushes"
old=$(( $(date +%s) - 7200 ))
echo "$old" >"$(upload_of "$g1")/initiated"
when=$(date -u -d "@$old" +%Y-%m-%dT%H:%M:%SZ)
mark
v 0 gc -r origin --dry-run
assert_contains "$OUT" "would abort upload of object $g1 on remote 'origin' (started $when)"
assert_contains "$OUT" "would abort 1 unfinished upload on remote 'origin'"
assert_eq "$ERR" "kept 1 unfinished upload on remote 'origin' started in the last 3600 seconds or at a time the server did not say (a push may be running)"
assert_eq "$(uploads)" "2" "a dry run aborted an upload"
assert_eq "$(since_mark | grep -c '^DELETE .*uploadId=')" "0" "a dry run sent a DELETE"
v 0 gc -r origin
assert_contains "$OUT" "aborted upload of object $g1 on remote 'origin' (started $when)"
assert_contains "$OUT" "aborted 1 unfinished upload on remote 'origin'"
assert_eq "$(uploads)" "1" "uploads after gc"
assert_eq "$(cat "$(upload_of "$g2")/key")" "team/objects/${g2:0:2}/${g2:2:2}/$g2" "the young upload"
v 0 push g2 && assert_contains "$ERR" "resuming upload of g2@1: 1 of 2 parts already on the remote"
assert_same_bytes "$(remote_object "$g2")" g2.bin

begin "gc -r: pages of the listing, --grace 0, JSON; keys that are not p4reg's are never aborted"
for f in p1 p2 p3; do random_file "$f.bin" 6144; done
p4reg add p1.bin p2.bin p3.bin >/dev/null 2>&1
mode fail-part 2
for f in p1 p2 p3; do v 1 push "$f"; done
mode honest
# not p4reg's: another key under the prefix, one outside it, one of an unknown age
fake() { mkdir -p "$S/uploads/$1"; printf '%s' "$2" >"$S/uploads/$1/key"; printf '%s' "2~$1" >"$S/uploads/$1/id"; echo "$3" >"$S/uploads/$1/initiated"; }
fake f1 team/objects/notes.txt 1000
fake f2 other/objects/${g1:0:2}/${g1:2:2}/$g1 1000
fake f3 team/objects/${g1:0:2}/${g1:2:2}/$g1 -100000
echo 1 >"$S/page_size"; mark
v 0 --json gc -r origin --grace 0
rm "$S/page_size"
run 0 python3 -c 'import json, sys; d = json.loads(sys.argv[1])["remote"]; u = d["uploads"]
print(d["name"], u["count"], sorted(u["oids"]) == sorted(sys.argv[2:]), u["kept_recent"], u["truncated"])' \
	"$OUT" "$(sha p1.bin)" "$(sha p2.bin)" "$(sha p3.bin)"
assert_eq "$OUT" "origin 3 True 1 False"
assert_eq "$(since_mark | grep -c '^GET /models?.*uploads=$')" "5" "listing pages"
assert_eq "$(ls "$S/uploads" | sort | tr '\n' ' ')" "f1 f2 f3 " "uploads left"

begin "gc -r: a listing that never ends is an error; an unknown remote stops gc before it deletes anything"
mode uploads-endless
v 1 gc -r origin && assert_one_line_error "S3 server sent a malformed listing of unfinished uploads on remote 'origin'"
mode honest
touch .p4reg/tmp/.object.AbCd12
v 1 gc -r nope --grace 0 && assert_one_line_error "no remote named 'nope'"
assert_file .p4reg/tmp/.object.AbCd12
v 2 gc -r && assert_contains "$ERR" "usage: p4reg gc"

begin "gc -r on a folder remote: nothing to abort, said once"
mkdir -p "$ROOT_TMP/dirremote"
p4reg remote add dir "$ROOT_TMP/dirremote" >/dev/null 2>&1 || fail "remote add dir"
v 0 gc -r dir --grace 0
assert_eq "$ERR" "remote 'dir' is a folder: it keeps no unfinished uploads"
assert_contains "$OUT" "removed 0 unreferenced objects (0 B) and 1 temporary file (0 B)"
v 0 --json gc -r dir && assert_contains "$OUT" '"remote":{"name":"dir","uploads":null,"objects":{"count":0,'

begin "gc -r objects on the stub: keys a hostile listing adds are never removed; an endless listing removes nothing"
other="$S/objects/models%2Fother%2Fobjects%2F${g2:0:2}%2F${g2:2:2}%2F$g2"
dotdot="$S/objects/models%2Fteam%2Fobjects%2F..%2F..%2Flog%2F0000000001.json"
cp "$(remote_object "$g2")" "$other" && echo x >"$dotdot"
mode objects-any-prefix; mark
v 0 gc -r origin --grace 0
assert_contains "$ERR" "entries under the objects/ of remote 'origin' alone: not p4reg objects"
assert_file "$other" && assert_file "$dotdot" && assert_file "$(remote_object "$g2")"
assert_eq "$(since_mark | grep -c '^DELETE ')" "0" "a DELETE was sent"
mode objects-endless
v 1 gc -r origin --grace 0 && assert_one_line_error "S3 server sent a malformed listing of objects on remote 'origin'"
mode honest

finish
