#!/usr/bin/env bash
# End-to-end: remotes are hostile. An S3 stub (tests/s3/stub_s3.py, 127.0.0.1,
# checks every SigV4 signature, turns hostile on demand) and folder remotes an
# attacker filled; the victim runs ordinary commands. Every victim command runs
# under `timeout` so a hang fails the test instead of stalling the suite.
. "$(dirname "$0")/lib.sh"

STUB_PIDS=""
trap 'for p in $STUB_PIDS; do kill "$p" 2>/dev/null; done; chmod -R u+w "$ROOT_TMP" 2>/dev/null; rm -rf "$ROOT_TMP" "$HOME"' EXIT

# start_stub DIR: an S3 stub keeping its state in DIR; sets STUB_PORT.
start_stub() {
	local i
	mkdir -p "$1"
	python3 "$P4REG_SRC/tests/s3/stub_s3.py" "$1" "$AWS_SECRET_ACCESS_KEY" 2>"$1/stderr" &
	STUB_PIDS="$STUB_PIDS $!"
	for i in $(seq 100); do [ -f "$1/port" ] && break; sleep 0.1; done
	STUB_PORT=$(cat "$1/port") || fail "stub in $1 did not start"
}
mode() { echo "$*" >"$S/mode"; }
requests() { [ -f "$1/requests.log" ] && wc -l <"$1/requests.log" || echo 0; }
# v CODE ARGS...: the victim's command, bounded in time.
v() { local want=$1; shift; run "$want" timeout 120 "$P4REG_BIN" "$@"; }
# flooded: the stub stopped sending far below its 512 MiB flood.
flooded() {
	local i
	for i in $(seq 100); do [ -f "$S/sent" ] && break; sleep 0.1; done
	[ "$(cat "$S/sent" 2>/dev/null || echo 999999999999)" -lt $((64 << 20)) ] ||
		fail "the client read $(cat "$S/sent" 2>/dev/null) bytes of the flood"
	rm -f "$S/sent"
}
no_leftovers() {
	assert_eq "$(ls .p4reg/tmp | grep -v sync.lock | wc -l)" "0" "files left in .p4reg/tmp"
	[ "$(find .p4reg/tmp -type f -size +1M | wc -l)" = 0 ] || fail "a large file in .p4reg/tmp"
}

export AWS_ACCESS_KEY_ID=AKIDP4REGTEST01 AWS_SECRET_ACCESS_KEY=p4reg-test-secret-0123456789
unset AWS_SESSION_TOKEN
S="$ROOT_TMP/stub"; start_stub "$S"; PORT=$STUB_PORT
OUTSIDE="$ROOT_TMP/outside"; mkdir -p "$OUTSIDE"
s3_setup() { p4reg init >/dev/null && p4reg remote add -d --endpoint "${1:-http://127.0.0.1:$PORT}" --path-style origin s3://models/team >/dev/null 2>&1; }
A="$ROOT_TMP/A"; V="$ROOT_TMP/V"; mkdir -p "$A" "$V"
(cd "$A" && s3_setup) || fail "setup A"
(cd "$V" && s3_setup) || fail "setup V"

begin "S3: a long session token is sent whole and matches its signature"
TOKEN=$(python3 -c 'import base64; print(base64.b64encode(bytes(range(256)) * 12).decode())')
cd "$A"
printf 'abc' >m.bin; p4reg add m.bin -m first >/dev/null 2>&1
n=$(requests "$S")
AWS_SESSION_TOKEN=$TOKEN v 0 push
assert_contains "$OUT" "1 event published as batch 1"
run 0 python3 -c 'import json, sys
tok = sys.argv[2]
reqs = [json.loads(l) for l in open(sys.argv[1])][int(sys.argv[3]):]
bad = [r["method"] + " " + r["path"] for r in reqs if r["headers"].get("x-amz-security-token") != tok]
print(len(tok), len(reqs) > 2, bad)' "$S/requests.log" "$TOKEN" "$n"
assert_eq "$OUT" "4096 True []"

begin "S3: a token too long or with a line break is refused before any request"
n=$(requests "$S")
AWS_SESSION_TOKEN="$TOKEN$TOKEN$TOKEN" v 2 push
assert_one_line_error "is longer than 8192 bytes"
assert_not_contains "$ERR" "$TOKEN"
AWS_SESSION_TOKEN=$'abc\r\nX-Evil: 1' v 2 push
assert_one_line_error "holds characters an HTTP header cannot carry"
assert_eq "$(requests "$S")" "$n" "a request was sent"

begin "S3: no credentials over plain http to a non-loopback endpoint"
C="$ROOT_TMP/C"; mkdir -p "$C"; cd "$C"
s3_setup "http://0.0.0.0:$PORT"   # 0.0.0.0 reaches the stub, but is not loopback
n=$(requests "$S")
v 2 fetch
assert_one_line_error "remote 'origin' would send credentials over plain http to '0.0.0.0:$PORT'"
assert_contains "$ERR" "p4reg config --local remote.origin.allowHttp true"
p4reg config remote.origin.allowHttp true   # the committed config cannot allow it
v 2 fetch && assert_one_line_error "over plain http"
assert_eq "$(requests "$S")" "$n" "credentials were sent"
p4reg config --local remote.origin.allowHttp true
v 0 fetch && assert_contains "$OUT" "1 event in 1 batch"
p4reg config --local remote.origin.allowHttp maybe
v 2 fetch && assert_one_line_error "invalid boolean for config 'remote.origin.allowHttp'"
for bad in "http://evil.example@127.0.0.1:$PORT" "http://127.0.0.1:$PORT#.x" "http://127.0.0.1:99999"; do
	p4reg config remote.origin.endpoint "$bad"
	v 2 fetch && assert_one_line_error "invalid host in remote.origin.endpoint"
done
p4reg config remote.origin.endpoint "https://s3.example.com"; p4reg config remote.origin.region 'x.evil.example#'
v 2 fetch && assert_one_line_error "invalid remote.origin.region"

begin "S3: a redirect is not followed"
S2="$ROOT_TMP/stub2"; start_stub "$S2"
cd "$V"; mode redirect "$STUB_PORT"
v 1 fetch && assert_one_line_error "was redirected (HTTP 307)"
assert_eq "$(requests "$S2")" "0" "the redirect was followed"
mode honest
v 0 fetch

begin "S3: an object streamed far past its size stops at once, exit 4, nothing stored"
oid=$(sha "$A/m.bin")
before=$(snapshot)
mode flood
v 4 fetch m@1 && assert_one_line_error "is corrupt: the server announces 536870912 bytes, expected 3; not stored"
flooded; no_leftovers
mode flood-chunked
v 4 fetch m@1 && assert_one_line_error "is corrupt: larger than its recorded size (3 bytes); not stored"
flooded; no_leftovers
assert_no_file ".p4reg/objects/${oid:0:2}/${oid:2:2}/$oid"
assert_eq "$(snapshot)" "$before" "the victim's repository changed"
assert_not_contains "$ERR" "$AWS_SECRET_ACCESS_KEY"
mode honest
v 0 fetch m@1 && assert_file ".p4reg/objects/${oid:0:2}/${oid:2:2}/$oid"

begin "S3: a ranged GET answered with more than the range: exit 1, nothing stored"
cd "$A"; random_file big.bin 6144; p4reg add big.bin >/dev/null 2>&1; v 0 push
cd "$V"; v 0 fetch
p4reg config remote.origin.multipartThreshold 1m; p4reg config remote.origin.partSize 5m
mode flood-range
v 1 fetch big@1 && assert_one_line_error "bytes asked for of 'packs/"
flooded; no_leftovers
big=$(sha "$A/big.bin")
assert_no_file ".p4reg/objects/${big:0:2}/${big:2:2}/$big"
mode honest
v 0 fetch big@1 && assert_same_bytes ".p4reg/objects/${big:0:2}/${big:2:2}/$big" "$A/big.bin"

begin "S3: an endless event batch stops at the batch limit, exit 4, registry unchanged"
cd "$A"; printf 'second' >m.bin; p4reg add m.bin >/dev/null 2>&1; v 0 push
cd "$V"; before=$(snapshot)
mode flood-batch
v 4 fetch && assert_one_line_error "is too large (more than 16777216 bytes)"
flooded
assert_eq "$(snapshot)" "$before" "the registry changed"
mode honest

begin "S3: a server that trickles a byte at a time cannot hold a fetch open"
cd "$V"; before=$(snapshot)
mode trickle
start=$(date +%s)
P4REG_TEST_STALL_SECONDS=3 v 1 fetch && assert_one_line_error "Timeout was reached"
[ $(( $(date +%s) - start )) -lt 60 ] || fail "the trickle held the fetch for a minute"
assert_eq "$(snapshot)" "$before" "the registry changed"
mode honest

begin "S3: headers, ETags and error text from the server are bounded and never printed raw"
mode big-headers
v 1 fetch && assert_one_line_error "more than 65536 bytes of headers"
mode evil-error
v 1 fetch && assert_one_line_error "failed: HTTP 500"
assert_not_contains "$ERR" $'\e' "an escape sequence reached the terminal"
assert_not_contains "$ERR" "Injected"
assert_not_contains "$ERR" "AWS4-HMAC-SHA256"
assert_not_contains "$ERR" "$AWS_ACCESS_KEY_ID"
assert_eq "$(printf '%s\n' "$ERR" | wc -l)" "1" "the error spans several lines"
cd "$A"; printf 'third' >m.bin; p4reg add m.bin >/dev/null 2>&1
mode bad-etag
v 1 push && assert_one_line_error "invalid ETag"
mode honest
v 0 push

# ---- folder remotes ----
R="$ROOT_TMP/remote"; FA="$ROOT_TMP/FA"; FV="$ROOT_TMP/FV"; mkdir -p "$FA" "$FV"
(cd "$FA" && p4reg init >/dev/null && p4reg remote add -d origin "$R" >/dev/null 2>&1) || fail "setup FA"
(cd "$FV" && p4reg init >/dev/null && p4reg remote add -d origin "$R" >/dev/null 2>&1) || fail "setup FV"
cd "$FA"; printf 'hello' >w.bin; p4reg add w.bin >/dev/null 2>&1; p4reg push -q || fail "push to the folder"
w=$(sha w.bin); wkey="$R/objects/${w:0:2}/${w:2:2}/$w"
cp w.bin.p4reg "$FV/"

begin "folder: a FIFO at an object's key is refused, never waited on"
cd "$FV"; v 0 fetch
mv "$wkey" "$ROOT_TMP/w.saved"; mkfifo "$wkey"
v 4 fetch w@1 && assert_one_line_error "$wkey' is not a regular file"
v 4 pull && assert_one_line_error "is not a regular file"
assert_no_file w.bin
no_leftovers
rm "$wkey"; ln -s /dev/zero "$wkey"
v 4 fetch w@1 && assert_one_line_error "is not a regular file"
rm "$wkey"; mv "$ROOT_TMP/w.saved" "$wkey"
v 0 pull && assert_same_bytes w.bin "$FA/w.bin"

begin "folder: a FIFO at a batch's key is refused, registry unchanged"
before=$(snapshot)
mkfifo "$R/log/0000000002.json"
v 4 fetch && assert_one_line_error "0000000002.json' is not a regular file"
assert_eq "$(snapshot)" "$before" "the registry changed"
rm "$R/log/0000000002.json"

begin "folder: a FIFO planted at the key of an object being pushed is replaced"
cd "$FA"; printf 'new' >n.bin; p4reg add n.bin >/dev/null 2>&1
o=$(sha n.bin); mkdir -p "$R/objects/${o:0:2}/${o:2:2}"; mkfifo "$R/objects/${o:0:2}/${o:2:2}/$o"
v 0 push && assert_same_bytes "$R/objects/${o:0:2}/${o:2:2}/$o" n.bin

begin "folder: symlinked folders inside the remote never lead writes or reads outside it"
cd "$FA"; printf 'more' >x.bin; p4reg add x.bin >/dev/null 2>&1
x=$(sha x.bin); mkdir -p "$R/objects/${x:0:2}"
for dir in "objects/${x:0:2}" objects tmp; do
	mv "$R/$dir" "$ROOT_TMP/saved"; ln -s "$OUTSIDE" "$R/$dir"
	v 4 push && assert_one_line_error "has a symlink or a file at '$dir' where a folder belongs"
	assert_eq "$(find "$OUTSIDE" -mindepth 1 | wc -l)" "0" "push wrote outside the remote through '$dir'"
	rm "$R/$dir"; mv "$ROOT_TMP/saved" "$R/$dir"
done
cp -r "$R/log" "$OUTSIDE/log"; mv "$R/log" "$ROOT_TMP/saved"; ln -s "$OUTSIDE/log" "$R/log"
cd "$FV"; before=$(snapshot)
v 4 fetch && assert_one_line_error "has a symlink or a file at 'log'"
assert_eq "$(snapshot)" "$before" "the registry changed"
rm "$R/log"; mv "$ROOT_TMP/saved" "$R/log"; rm -rf "$OUTSIDE/log"
cd "$FA"; v 0 push && assert_contains "$OUT" "published as batch"

finish
