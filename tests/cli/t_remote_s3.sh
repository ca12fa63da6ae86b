#!/usr/bin/env bash
# End-to-end: an S3 remote on a throw-away one-node Ceph cluster (RADOS
# Gateway on 127.0.0.1), cross-checked with boto3. Skipped (exit 77, SKIP in
# ctest) with a notice when Ceph cannot be installed or started here.
. "$(dirname "$0")/lib.sh"
. "$P4REG_SRC/tests/s3/ceph.sh"
. "$P4REG_SRC/tests/cli/runbook.sh"

ceph_up t_remote_s3
export AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$S3_SECRET
unset AWS_SESSION_TOKEN
boto() { python3 - "$@" <<PY
import boto3, sys
s3 = boto3.client("s3", endpoint_url="$RGW_ENDPOINT", region_name="us-east-1")
$BOTO
PY
}
BOTO='s3.create_bucket(Bucket="models")'; boto || fail "create bucket"

A="$ROOT_TMP/A"; B="$ROOT_TMP/B"; mkdir -p "$A" "$B"
# format 1 (whole objects, multipart uploads): the layout this test reads
# with boto3 and the paths it breaks; format 2 is t_chunks_s3.sh's
setup() {
	p4reg init >/dev/null && p4reg remote add -d --endpoint "$RGW_ENDPOINT" --path-style origin s3://models/team >/dev/null 2>&1 &&
	p4reg config remote.origin.format 1
}
(cd "$A" && setup) || fail "setup A"
(cd "$B" && setup) || fail "setup B"

begin "remote check: RGW refuses a second conditional create"
cd "$A"
run 0 p4reg remote check && assert_eq "$OUT" "origin: ok"
run 0 p4reg config remote.origin.url && assert_eq "$OUT" "s3://models/team"
assert_not_contains "$(cat .p4reg/config)" "$S3_SECRET" "secret in the committed config"

begin "push from A is readable by boto3 at the documented keys; pull on B"
random_file models/emb.onnx 3000
p4reg add models/emb.onnx -m first >/dev/null 2>&1
run 0 p4reg push && assert_contains "$OUT" "1 event published as batch 1"
oid=$(sha models/emb.onnx)
BOTO='s3.download_file("models", "team/objects/'${oid:0:2}/${oid:2:2}/$oid'", "'$ROOT_TMP/via-boto'")
import json; b = json.loads(s3.get_object(Bucket="models", Key="team/log/0000000001.json")["Body"].read())
print(b["format"], b["events"][0]["oid"])'
run 0 boto && assert_eq "$OUT" "1 $oid"
assert_same_bytes "$ROOT_TMP/via-boto" models/emb.onnx
cd "$B"; mkdir -p models; cp "$A/models/emb.onnx.p4reg" models/
run 0 p4reg pull && assert_same_bytes models/emb.onnx "$A/models/emb.onnx"

begin "p4reg get from RGW on a box without git: settings from flags, then from the user's own config"
SBOX=$ROOT_TMP/s3box; mkdir -p "$SBOX/srv" "$SBOX/home"
s3box() {
	(cd "$SBOX" && env -i PATH=/usr/bin:/bin HOME="$SBOX/home" LSAN_OPTIONS="$LSAN_OPTIONS" \
		AWS_ACCESS_KEY_ID="$S3_ACCESS" AWS_SECRET_ACCESS_KEY="$S3_SECRET" "$P4REG_BIN" "$@")
}
run 0 s3box get --endpoint "$RGW_ENDPOINT" --path-style s3://models/team emb@1 -o srv/emb.onnx &&
	assert_contains "$OUT" "got emb@1 (development) -> srv/emb.onnx (sha256 ${oid:0:12}"
assert_same_bytes "$SBOX/srv/emb.onnx" "$A/models/emb.onnx"
mkdir -p "$SBOX/home/.config/p4reg"
printf '[remote "models"]\n\turl = s3://models/team/\n\tendpoint = %s\n\tpath-style = true\n' "$RGW_ENDPOINT" \
	>"$SBOX/home/.config/p4reg/config"
run 0 s3box get --json s3://models/team emb@latest -o srv/emb.onnx && assert_contains "$OUT" '"cached":false,"changed":false}'
run 0 s3box get --no-cache s3://models/team emb@1 -o srv/copy.onnx && assert_contains "$OUT" "got emb@1"
assert_same_bytes "$SBOX/srv/copy.onnx" "$A/models/emb.onnx"
# the log is read up to its first missing batch, like fetch: a stray key beyond is never read
BOTO='s3.put_object(Bucket="models", Key="team/log/0000000099.json", Body=b"{}")'; boto
run 0 s3box get s3://models/team emb@1 -o srv/emb.onnx && assert_contains "$OUT" "already at emb@1"
BOTO='s3.delete_object(Bucket="models", Key="team/log/0000000099.json")'; boto

begin "a hand-written pointer is not enough: an object boto3 uploaded is fetched only for a registered version"
random_file "$ROOT_TMP/other.bin" 100
o2=$(sha "$ROOT_TMP/other.bin")
BOTO='s3.upload_file("'$ROOT_TMP/other.bin'", "models", "team/objects/'${o2:0:2}/${o2:2:2}/$o2'")'; boto || fail "boto upload"
cd "$B"
printf 'p4reg-pointer 1\nmodel other\nversion 1\noid sha256:%s\nsize 102400\n' "$o2" >other.bin.p4reg
# a pointer is repository content: no version in the shared registry backs it
run 1 p4reg pull && assert_one_line_error "names other@1, which the registry does not know"
assert_no_file other.bin
rm other.bin.p4reg

begin "a remote object altered behind p4reg's back: pull exits 4, work tree untouched"
C="$ROOT_TMP/C"; mkdir -p "$C"; cd "$C"; setup; mkdir -p models; cp "$A/models/emb.onnx.p4reg" models/
BOTO='s3.put_object(Bucket="models", Key="team/objects/'${oid:0:2}/${oid:2:2}/$oid'", Body=b"evil bytes")'; boto
run 4 p4reg pull && assert_one_line_error "is corrupt"
assert_no_file models/emb.onnx
cd "$A"; BOTO='s3.delete_object(Bucket="models", Key="team/objects/'${oid:0:2}/${oid:2:2}/$oid'")'; boto
run 0 p4reg push && assert_contains "$OUT" "1 object"
cd "$C"; run 0 p4reg pull && assert_same_bytes models/emb.onnx "$A/models/emb.onnx"

begin "a folder model over RGW: boto3 finds the manifest and each file; a second clone pulls both versions"
cd "$A"
mkdir -p models/minilm
printf '{"hidden_size": 384}\n' >models/minilm/config.json
random_file models/minilm/model-00001-of-00002.safetensors 700
random_file models/minilm/model-00002-of-00002.safetensors 300
p4reg add models/minilm >/dev/null 2>&1
cp models/minilm/model-00001-of-00002.safetensors "$ROOT_TMP/shard1.v1"
random_file models/minilm/model-00001-of-00002.safetensors 700
p4reg add models/minilm >/dev/null 2>&1
run 0 p4reg push && assert_contains "$OUT" "2 events published"
man=$(p4reg --json show minilm@2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["oid"])')
shard=$(sha models/minilm/model-00001-of-00002.safetensors)
BOTO='m = s3.get_object(Bucket="models", Key="team/objects/'${man:0:2}/${man:2:2}/$man'")["Body"].read().decode()
print(m.splitlines()[0]); print(len(m.splitlines()) - 1)
print(s3.head_object(Bucket="models", Key="team/objects/'${shard:0:2}/${shard:2:2}/$shard'")["ContentLength"])'
run 0 boto && assert_eq "$OUT" "p4reg-manifest 1
3
$((700 * 1024))"
cd "$B"; cp "$A/models/minilm.p4reg" models/
run 0 p4reg pull && assert_same_bytes models/minilm/model-00001-of-00002.safetensors "$A/models/minilm/model-00001-of-00002.safetensors"
assert_same_bytes models/minilm/config.json "$A/models/minilm/config.json"
run 0 p4reg checkout minilm@1
assert_same_bytes models/minilm/model-00001-of-00002.safetensors "$ROOT_TMP/shard1.v1"
run 0 p4reg status && assert_contains "$OUT" "clean          models/minilm/ (minilm@1)"

begin "multipart with a lowered threshold; parallel ranged download"
cd "$A"
p4reg config remote.origin.multipartThreshold 6m; p4reg config remote.origin.partSize 5m
random_file models/llm.bin 24000
p4reg add models/llm.bin >/dev/null 2>&1
run 0 p4reg push
big=$(sha models/llm.bin)
BOTO='print(s3.head_object(Bucket="models", Key="team/objects/'${big:0:2}/${big:2:2}/$big'")["ETag"])'
run 0 boto && assert_contains "$OUT" '-5"' "not a 5-part multipart ETag"
cd "$B"; p4reg config remote.origin.multipartThreshold 6m; p4reg config remote.origin.partSize 5m
cp "$A/models/llm.bin.p4reg" models/
run 0 p4reg pull && assert_same_bytes models/llm.bin "$A/models/llm.bin"

# wait_parts KEY N: waits (30 s at most) until RGW holds an unfinished upload of KEY with N parts
wait_parts() {
	BOTO='import time
for _ in range(300):
    ups = s3.list_multipart_uploads(Bucket="models", Prefix="'$1'").get("Uploads", [])
    if ups and len(s3.list_parts(Bucket="models", Key="'$1'", UploadId=ups[-1]["UploadId"]).get("Parts", [])) >= '$2':
        print("ok"); break
    time.sleep(0.1)'
	run 0 boto && assert_eq "$OUT" "ok" "RGW never held $2 parts of $1"
}
# uploads_of PREFIX: how many unfinished uploads RGW holds under PREFIX
uploads_of() { BOTO='print(len(s3.list_multipart_uploads(Bucket="models", Prefix="'$1'").get("Uploads", [])))'; boto; }

begin "a push killed mid-multipart leaves no visible object; the next push resumes from the parts RGW holds"
cd "$A"
p4reg config remote.origin.jobs 1
random_file models/huge.bin 30000     # 6 parts of 5 MiB
p4reg add models/huge.bin >/dev/null 2>&1
h=$(sha models/huge.bin); hkey="team/objects/${h:0:2}/${h:2:2}/$h"
P4REG_TEST_TRANSFER_DELAY_MS=400 "$P4REG_BIN" push >/dev/null 2>&1 &
pid=$!
wait_parts "$hkey" 2
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
BOTO='import botocore
try:
    s3.head_object(Bucket="models", Key="'$hkey'"); print("visible")
except botocore.exceptions.ClientError as e:
    print(e.response["Error"]["Code"])'
run 0 boto && assert_eq "$OUT" "404"
run 0 p4reg push && assert_contains "$OUT" "published as batch"
assert_contains "$ERR" "resuming upload of huge@1: "
assert_contains "$ERR" " of 6 parts already on the remote"
BOTO='s3.download_file("models", "'$hkey'", "'$ROOT_TMP/huge-via-boto'")'
run 0 boto && assert_same_bytes "$ROOT_TMP/huge-via-boto" models/huge.bin
assert_eq "$(uploads_of "$hkey")" "0" "unfinished uploads left"

begin "gc -r on RGW: a young unfinished upload is kept, --grace 0 aborts it"
random_file models/stale.bin 12000
p4reg add models/stale.bin >/dev/null 2>&1
g=$(sha models/stale.bin)
P4REG_TEST_TRANSFER_DELAY_MS=400 "$P4REG_BIN" push >/dev/null 2>&1 &
pid=$!
wait_parts "team/objects/${g:0:2}/${g:2:2}/$g" 1
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
run 0 p4reg gc -r origin
assert_contains "$OUT" "aborted 0 unfinished uploads on remote 'origin'"
assert_contains "$ERR" "kept 1 unfinished upload on remote 'origin' started in the last 3600 seconds"
run 0 p4reg gc -r origin --grace 0
assert_contains "$OUT" "aborted upload of object $g on remote 'origin' (started $(date -u +%Y-%m-%d)"
assert_contains "$OUT" "aborted 1 unfinished upload on remote 'origin'"
assert_eq "$(uploads_of team/objects/)" "0" "unfinished uploads left"
p4reg config remote.origin.jobs 4

begin "gc -r on RGW: an object no live version in the remote's log needs goes; needed, young and foreign keys stay"
random_file models/old.bin 64
p4reg add models/old.bin >/dev/null 2>&1 && p4reg push -q >/dev/null 2>&1 || fail "push old"
o=$(sha models/old.bin); okey="team/objects/${o:0:2}/${o:2:2}/$o"
p4reg rm -q old@1 >/dev/null 2>&1 && p4reg push -q >/dev/null 2>&1 || fail "push the deletion"
BOTO='for k in ["team/objects/notes.txt", "team/objects/ab/cd/'$o'", "team/objects/'${o:0:2}/${o:2:2}/$o'/x",
          "team/objectsX/'${o:0:2}/${o:2:2}/$o'", "other/objects/'${o:0:2}/${o:2:2}/$o'"]:
    s3.put_object(Bucket="models", Key=k, Body=b"not p4reg")'
run 0 boto
run 0 p4reg gc -r origin
assert_contains "$OUT" "removed 0 objects (0 B) from remote 'origin'"
assert_contains "$ERR" "kept 1 object on remote 'origin' that no version needs, written in the last 3600 seconds"
assert_contains "$ERR" "left 3 entries under the objects/ of remote 'origin' alone: not p4reg objects"
run 0 p4reg gc -r origin --grace 0 --dry-run
assert_contains "$OUT" "would remove object $o from remote 'origin' (64.0 KiB)
would remove 1 object (64.0 KiB) from remote 'origin'"
run 0 p4reg --json gc -r origin --grace 0
assert_eq "$(printf '%s' "$OUT" | python3 -c 'import json,sys; o=json.load(sys.stdin)["remote"]["objects"]; print(o["oids"], o["bytes"], o["foreign"])')" "['$o'] 65536 3"
BOTO='import botocore
for k in ["'$okey'", "'$hkey'", "team/objects/notes.txt", "team/objects/ab/cd/'$o'", "team/objects/'${o:0:2}/${o:2:2}/$o'/x",
          "team/objectsX/'${o:0:2}/${o:2:2}/$o'", "other/objects/'${o:0:2}/${o:2:2}/$o'"]:
    try:
        s3.head_object(Bucket="models", Key=k); print(200)
    except botocore.exceptions.ClientError as e:
        print(e.response["Error"]["Code"])'
run 0 boto && assert_eq "$(printf '%s' "$OUT" | tr '\n' ' ')" "404 200 200 200 200 200 200"

begin "concurrent pushes from two clones to RGW: no event lost, unique numbers, one holder"
for round in 1 2 3; do
	for side in A B; do
		(
			cd "$ROOT_TMP/$side" || exit 1
			random_file "models/c$side.bin" 8
			p4reg add "models/c$side.bin" -n conc -m "$side$round" >/dev/null 2>&1
			if p4reg help promote >/dev/null 2>&1; then
				n=$(sqlite3 -readonly .p4reg/registry.db "SELECT max(number) FROM versions v JOIN models m ON m.id=v.model_id WHERE m.name='emb'")
				p4reg promote "emb@$n" --to production --force -m "$side$round" >/dev/null 2>&1
			fi
			p4reg push -q >/dev/null 2>"$ROOT_TMP/s3push-$side-$round.err" || echo "$side $round" >>"$ROOT_TMP/s3push-fail"
		) &
	done
	wait
done
assert_no_file "$ROOT_TMP/s3push-fail"
cd "$A"; p4reg fetch -q; cd "$B"; p4reg fetch -q
ea=$(cd "$A" && db "SELECT s.uuid FROM events e JOIN event_sync s ON s.event_id=e.id ORDER BY 1")
eb=$(cd "$B" && db "SELECT s.uuid FROM events e JOIN event_sync s ON s.event_id=e.id ORDER BY 1")
assert_eq "$ea" "$eb" "clones differ"
assert_eq "$(cd "$A" && db "SELECT group_concat(number) FROM (SELECT number FROM versions v JOIN models m ON m.id=v.model_id WHERE m.name='conc' ORDER BY number)")" "1,2,3,4,5,6"
assert_eq "$(cd "$A" && db "SELECT count(*) FROM versions WHERE stage='production'")" "$(cd "$B" && db "SELECT count(*) FROM versions WHERE stage='production'")"

begin "the gateway killed mid-transfer: clear error; rerun after restart works"
cd "$A"
random_file models/late.bin 20000
p4reg add models/late.bin >/dev/null 2>&1
p4reg config remote.origin.jobs 1
P4REG_TEST_TRANSFER_DELAY_MS=400 "$P4REG_BIN" push >"$ROOT_TMP/kout" 2>"$ROOT_TMP/kerr" &
pid=$!
sleep 0.8; rgw_kill
wait $pid; code=$?
assert_eq "$code" "1" "push exit code with the gateway down"
assert_contains "$(cat "$ROOT_TMP/kerr")" "p4reg: "
rgw_start || fail "radosgw restart"
run 0 p4reg push && assert_contains "$OUT" "published as batch"

begin "fsck on RGW: a clone's objects are vouched for by HEAD, nothing downloaded; a wrong size is exit 4"
D="$ROOT_TMP/D"; mkdir -p "$D"; cd "$D"; setup
p4reg fetch -q || fail "fetch into D"
run 0 p4reg fsck
assert_contains "$OUT" "not-downloaded: object $oid of emb@1 is not downloaded; remote 'origin' has it"
assert_eq "$(find .p4reg/objects -type f | wc -l)" "0" "fsck downloaded objects"
BOTO='s3.put_object(Bucket="models", Key="team/objects/'${oid:0:2}/${oid:2:2}/$oid'", Body=b"evil bytes")'; boto
run 4 p4reg fsck
assert_contains "$OUT" "remote-corrupt: object $oid of emb@1 is missing from the store, and remote 'origin' has it with 10 bytes, not the 3072000 its version records"
# A has the good bytes (its other findings, if the concurrent pushes above
# left any, are not this case's business: only the remote's are asserted)
cd "$A"
run 4 p4reg fsck --remote
assert_contains "$OUT" "remote-corrupt: object $oid of emb@1 on remote 'origin' has 10 bytes, but its version records 3072000"
BOTO='s3.delete_object(Bucket="models", Key="team/objects/'${oid:0:2}/${oid:2:2}/$oid'")'; boto
run 0 p4reg push
assert_not_contains "$(p4reg fsck --remote)" "remote-corrupt"
cd "$D"; run 0 p4reg fsck

begin "the rollback runbook, run as written on a fresh clone (S3 remote)"
runbook_fixture -d --endpoint "$RGW_ENDPOINT" --path-style origin s3://models/runbook
# the operator trusts the team's S3 server once, in their own config
mkdir -p "$XDG_CONFIG_HOME/p4reg"
git config --file "$XDG_CONFIG_HOME/p4reg/config" remote.origin.endpoint "$RGW_ENDPOINT"
run_runbook
check_runbook

begin "a clone sends no credentials to an endpoint only the committed config names"
C2="$ROOT_TMP/C2"; rm -rf "$C2"; mkdir -p "$C2"; cd "$C2"
p4reg init >/dev/null
git config -f .p4reg/config remote.origin.url s3://models/team
git config -f .p4reg/config remote.origin.endpoint "$RGW_ENDPOINT"
git config -f .p4reg/config remote.origin.path-style true
mv "$XDG_CONFIG_HOME/p4reg/config" "$ROOT_TMP/user.cfg"
run 3 p4reg fetch
assert_one_line_error "would send your S3 credentials to '$RGW_ENDPOINT', which only the committed .p4reg/config names"
assert_contains "$ERR" "p4reg config --local remote.origin.trustedEndpoint $RGW_ENDPOINT"
run 0 p4reg config --local remote.origin.trustedEndpoint "$RGW_ENDPOINT"
run 0 p4reg fetch
mv "$ROOT_TMP/user.cfg" "$XDG_CONFIG_HOME/p4reg/config"

begin "credentials: missing ones are a clear error and are never printed"
cd "$A"
run 1 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$P4REG_BIN" push && assert_one_line_error "no S3 credentials"
p4reg config remote.origin.secretAccessKey wrong >/dev/null
run 1 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$P4REG_BIN" push && assert_one_line_error "no S3 credentials"
p4reg config --unset remote.origin.secretAccessKey
p4reg config --local remote.origin.accessKeyId "$S3_ACCESS"; p4reg config --local remote.origin.secretAccessKey "$S3_SECRET"
run 0 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$P4REG_BIN" push
# the remote's own keys come before the environment's (remotes.md, "AWS configuration")
AWS_SECRET_ACCESS_KEY=nope run 0 p4reg push
p4reg config --local remote.origin.secretAccessKey nope
run 1 p4reg push && assert_one_line_error "refused (HTTP 403"
assert_not_contains "$ERR" "nope"

finish
