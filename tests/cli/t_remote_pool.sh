#!/usr/bin/env bash
# End-to-end, against the S3 stub (tests/s3/stub_s3.py, which logs every
# connection it accepts): S3 requests reuse their connections (remote/s3.c
# keeps idle curl handles), a request the server drops on a reused
# connection goes again on a new one, and a ranged download is hashed as it
# lands -- the work file written from the same read, nothing read back, a
# wrong byte still exit 4 with nothing stored.
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
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
# counted CODE ARGS...: runs p4reg; CONNS and REQS are the connections the
# stub accepted and the requests it served meanwhile.
counted() {
	local c0 r0
	c0=$(lines "$S/connections.log"); r0=$(lines "$S/requests.log")
	run "$@"
	CONNS=$(( $(lines "$S/connections.log") - c0 )); REQS=$(( $(lines "$S/requests.log") - r0 ))
}
# stub_obj OID: the stub's file of object OID.
stub_obj() { echo "$S/objects/models%2Fteam%2Fobjects%2F${1:0:2}%2F${1:2:2}%2F$1"; }

export AWS_ACCESS_KEY_ID=AKIDP4REGTEST01 AWS_SECRET_ACCESS_KEY=p4reg-test-secret-0123456789
unset AWS_SESSION_TOKEN
S="$ROOT_TMP/stub"; start_stub "$S"; PORT=$STUB_PORT
# two jobs, objects above 6 MiB in 5 MiB parts and ranges
s3_setup() {
	p4reg init >/dev/null && p4reg remote add -d --endpoint "http://127.0.0.1:$PORT" --path-style origin s3://models/team >/dev/null 2>&1 &&
		p4reg config remote.origin.jobs 2 && p4reg config remote.origin.multipartThreshold 6m &&
		p4reg config remote.origin.partSize 5m && p4reg config remote.origin.format 1
}
# (format 1: whole objects, their multipart uploads and ranged downloads;
# a format-2 remote's packs and ranges are t_chunks_s3's)
A="$ROOT_TMP/A"; V="$ROOT_TMP/V"; mkdir -p "$A" "$V"
(cd "$A" && s3_setup) || fail "setup A"
(cd "$V" && s3_setup) || fail "setup V"

begin "push: six objects and a multipart upload of three parts share at most jobs x jobs connections"
cd "$A"
for i in 1 2 3 4 5 6; do random_file "m/small$i.bin" 40; done
random_file m/big.bin 12288
p4reg add m/small1.bin m/small2.bin m/small3.bin m/small4.bin m/small5.bin m/small6.bin m/big.bin >/dev/null 2>&1 ||
	fail "add"
counted 0 p4reg push && assert_contains "$OUT" "published as batch 1"
# every object HEADed and sent, 3 parts with their create, list and
# completion, the log's batch: far more requests than connections
[ "$REQS" -ge 20 ] || fail "only $REQS requests for the push"
[ "$CONNS" -ge 1 ] && [ "$CONNS" -le 4 ] || fail "$CONNS connections for $REQS requests"
big=$(sha m/big.bin)
assert_same_bytes "$(stub_obj "$big")" m/big.bin

begin "pull: the log, six small downloads and three ranges of a large one on the same few connections"
cd "$V"
mkdir -p m; cp "$A"/m/*.p4reg m/
counted 0 p4reg pull
for i in 1 2 3 4 5 6; do assert_same_bytes "m/small$i.bin" "$A/m/small$i.bin"; done
assert_same_bytes m/big.bin "$A/m/big.bin"
[ "$REQS" -ge 10 ] || fail "only $REQS requests for the pull"
[ "$CONNS" -ge 1 ] && [ "$CONNS" -le 4 ] || fail "$CONNS connections for $REQS requests"
# ranges of 5 MiB (12 MiB / (2 x 2 jobs) is below the floor, a 5m partSize lowers it)
n=$(grep -c "\"range\": \"bytes=" "$S/requests.log")
assert_eq "$n" "3" "ranged GETs of the 12 MiB object"
assert_contains "$(grep -o '"range": "bytes=[0-9-]*"' "$S/requests.log" | sort | tr '\n' ' ')" \
	'"range": "bytes=0-5242879" "range": "bytes=10485760-12582911" "range": "bytes=5242880-10485759"'

begin "pull: ranges are size / (2 x jobs) within 8..64 MiB: 20 MiB in 8, 8 and 4 MiB"
cd "$A"; random_file m/mid.bin 20480; p4reg add m/mid.bin >/dev/null 2>&1; run 0 p4reg push
cd "$V"; cp "$A/m/mid.bin.p4reg" m/
p4reg config remote.origin.partSize 16m
r0=$(lines "$S/requests.log")
run 0 p4reg pull m/mid.bin && assert_same_bytes m/mid.bin "$A/m/mid.bin"
assert_eq "$(tail -n +$((r0 + 1)) "$S/requests.log" | grep -o '"range": "bytes=[0-9-]*"' | sort | tr '\n' ' ')" \
	'"range": "bytes=0-8388607" "range": "bytes=16777216-20971519" "range": "bytes=8388608-16777215" '
p4reg config remote.origin.partSize 5m

begin "pull: a ranged download writes the work file from the same read and is never read back"
if command -v strace >/dev/null; then
	cd "$V"
	find .p4reg/objects -type f -delete; rm -f m/big.bin
	ASAN_OPTIONS=detect_leaks=0 run 0 strace -f -qq -y -e trace=openat,read,pread64,lseek -o "$ROOT_TMP/trace" "$P4REG_BIN" pull m/big.bin
	assert_same_bytes m/big.bin "$A/m/big.bin"
	# the hash follows the ranges (pread), no read(2) pass over the object after
	assert_eq "$(grep -E '^[0-9]+ +(read|lseek)\([0-9]+</[^>]*/\.p4reg/(tmp|objects)/' "$ROOT_TMP/trace" | wc -l)" "0" \
		"the downloaded object was read again"
	assert_eq "$(grep -cE '^[0-9]+ +openat\(.*\.p4reg/objects/[0-9a-f]{2}/[0-9a-f]{2}/'"$big" "$ROOT_TMP/trace")" "0" \
		"the stored object was opened after the download"
else
	echo "note: strace is not installed; the no-second-read check is skipped" >&2
fi

begin "pull: a ranged object with other bytes of the right size is exit 4; nothing stored, no work file"
cd "$V"
find .p4reg/objects -type f -delete; rm -f m/big.bin
flip_byte "$(stub_obj "$big")" 7340032   # in the second range
bad=$(sha "$(stub_obj "$big")")
before=$(snapshot)
run 4 p4reg pull m/big.bin && assert_one_line_error "object $big on remote 'origin' is corrupt (its bytes hash to $bad); not stored"
assert_eq "$(snapshot)" "$before" "the pull changed something"
assert_no_file m/big.bin
assert_eq "$(ls -A m | grep -c p4reg-tmp)" "0" "a temporary work file was left"
assert_eq "$(ls .p4reg/tmp | grep -v sync.lock | wc -l)" "0" "files left in .p4reg/tmp"
flip_byte "$(stub_obj "$big")" 7340032
run 0 p4reg pull m/big.bin && assert_same_bytes m/big.bin "$A/m/big.bin"

begin "get --cache: the cache's object and the deployed file come from one read, never read back"
cd "$ROOT_TMP"; mkdir -p box
getbig() { p4reg get --cache "$ROOT_TMP/cache" --endpoint "http://127.0.0.1:$PORT" --path-style s3://models/team big@1 -o box/big.bin; }
cached="$ROOT_TMP/cache/objects/${big:0:2}/${big:2:2}/$big"
if command -v strace >/dev/null; then
	ASAN_OPTIONS=detect_leaks=0 run 0 strace -f -qq -y -e trace=openat,read,pread64,lseek,copy_file_range,sendfile \
		-o "$ROOT_TMP/trace" "$P4REG_BIN" get --cache "$ROOT_TMP/cache" --endpoint "http://127.0.0.1:$PORT" \
		--path-style s3://models/team big@1 -o box/big.bin
	assert_eq "$(grep -E '^[0-9]+ +(read|lseek|copy_file_range|sendfile)\([0-9]+</[^>]*/cache/' "$ROOT_TMP/trace" | wc -l)" "0" \
		"the cached object was read again"
else
	run 0 getbig
fi
assert_contains "$ERR" "downloaded into the cache, then copy"
assert_same_bytes box/big.bin "$A/m/big.bin"
assert_same_bytes "$cached" "$A/m/big.bin"
assert_eq "$(stat -c %a box/big.bin)" "644" "the deployed file's mode"
run 0 getbig && assert_contains "$OUT" "already at big@1"

begin "get --cache: a corrupt ranged object is exit 4; neither the cache nor PATH changes"
rm -rf "$ROOT_TMP/cache"; printf 'old' >box/big.bin
flip_byte "$(stub_obj "$big")" 100
run 4 getbig && assert_one_line_error "object $big on remote 's3://models/team' is corrupt (its bytes hash to"
assert_eq "$(cat box/big.bin)" "old" "PATH changed"
assert_eq "$(ls -A box)" "big.bin" "files left beside PATH"
assert_no_file "$cached"
assert_eq "$(ls -A "$ROOT_TMP/cache/tmp")" "" "files left in the cache"
flip_byte "$(stub_obj "$big")" 100
run 0 getbig && assert_same_bytes box/big.bin "$A/m/big.bin"

begin "a server that drops reused connections without an answer: each such request goes again on a new one"
cd "$A"
for i in 1 2 3; do random_file "m/again$i.bin" 30; done
random_file m/big2.bin 11264
p4reg add m/again1.bin m/again2.bin m/again3.bin m/big2.bin >/dev/null 2>&1 || fail "add"
mode drop-reused 4
counted 0 p4reg push && assert_contains "$OUT" "4 events published as batch 3"
assert_eq "$(cat "$S/dropped")" "4" "requests dropped"
mode honest
for f in again1 again2 again3 big2; do
	assert_same_bytes "$(stub_obj "$(sha "m/$f.bin")")" "m/$f.bin"
done
cd "$V"; cp "$A"/m/*.p4reg m/
rm -f "$S/dropped"; mode drop-reused 3
run 0 p4reg pull
assert_eq "$(cat "$S/dropped")" "3" "requests dropped"
for f in again1 again2 again3 big2; do assert_same_bytes "m/$f.bin" "$A/m/$f.bin"; done
mode honest

finish
