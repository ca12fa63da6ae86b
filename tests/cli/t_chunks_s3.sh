#!/usr/bin/env bash
# End-to-end: chunk dedup on an S3 remote, against a throw-away Ceph RADOS
# Gateway (tests/s3/ceph.sh): a second version sends only its new chunks,
# a pull beside it reads only what it lacks (ranged GETs of packs), boto3
# rebuilds an object from the documented keys alone (docs/remotes.md,
# "Format 2"), a wrong byte in a pack is exit 4 with nothing stored, and a
# format-1 bucket converts. Named *_s3 so `ctest -E s3` leaves it out.
. "$(dirname "$0")/lib.sh"
. "$P4REG_SRC/tests/s3/ceph.sh"

ceph_up t_chunks_s3
export AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$S3_SECRET
python3 - <<PY || fail "create bucket"
import boto3
boto3.client("s3", endpoint_url="$RGW_ENDPOINT", region_name="us-east-1").create_bucket(Bucket="models")
PY

# gen OUT V: version V of bench's seeded safetensors series, ~8 MiB (v2
# rewrites 3 of its 24 layers)
gen() { python3 "$P4REG_SRC/bench/gen_safetensors.py" --size 8388608 --version "$2" "$1" >/dev/null; }
# json_num KEY: a number of the JSON on stdin, at the top or in "objects" (push, pull)
json_num() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[sys.argv[1]] if sys.argv[1] in d else d["objects"][sys.argv[1]])' "$1"; }
setup() { p4reg init >/dev/null && p4reg remote add -d --endpoint "$RGW_ENDPOINT" --path-style origin "s3://models/$1" >/dev/null 2>&1; }

A="$ROOT_TMP/A"; B="$ROOT_TMP/B"
mkdir -p "$A/models" "$B"
cd "$A" && setup team || fail "setup A"

begin "push: v1 whole as packs, v2 only its new chunks"
gen models/m.safetensors 1
size=$(stat -c %s models/m.safetensors)
oid1=$(sha models/m.safetensors)
p4reg add models/m.safetensors >/dev/null || fail "add v1"
run 0 p4reg --json push
sent1=$(echo "$OUT" | json_num bytes_sent)
[ "$sent1" -ge "$size" ] && [ "$sent1" -lt $((size + 65536)) ] || fail "v1 sent $sent1 of $size"
gen models/m.safetensors 2
p4reg add models/m.safetensors >/dev/null || fail "add v2"
run 0 p4reg --json push
sent2=$(echo "$OUT" | json_num bytes_sent)
[ "$sent2" -le $((size * 15 / 100)) ] || fail "v2 sent $sent2 of $size"

begin "boto3 rebuilds v1 from the documented keys"
python3 - "$RGW_ENDPOINT" "$oid1" <<'EOF' || fail "boto3 rebuild"
import boto3, hashlib, struct, sys
endpoint, OID = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
BUCKET, PREFIX = "models", "team"
def key(top, h): return f"{PREFIX}/{top}/{h[:2]}/{h[2:4]}/{h}"
assert s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/p4reg-format.json")["Body"].read() == b'{"format": 2}\n'
d = s3.get_object(Bucket=BUCKET, Key=key("chunks", OID))["Body"].read()
size, npacks, nchunks = struct.unpack_from("<QII", d, 40)
packs = [d[56 + 32*i:88 + 32*i].hex() for i in range(npacks)]
out, pos = hashlib.sha256(), 56 + 32*npacks
for _ in range(nchunks):
    cid, pack, length, off = struct.unpack_from("<32sIIQ", d, pos); pos += 48
    r = s3.get_object(Bucket=BUCKET, Key=key("packs", packs[pack]), Range=f"bytes={off}-{off + length - 1}")
    b = r["Body"].read()
    assert hashlib.sha256(b).digest() == cid
    out.update(b)
assert out.hexdigest() == OID, out.hexdigest()
EOF

begin "pull on B: v2 in full, then v1 reads only the chunks v2 lacks"
cd "$B" && setup team || fail "setup B"
run 0 p4reg fetch
run 0 p4reg --json pull m@2
run 0 p4reg --json pull m@1
got1=$(echo "$OUT" | json_num bytes_received)
[ "$got1" -le $((size * 15 / 100)) ] || fail "v1 pull received $got1 of $size"
assert_eq "$(sha .p4reg/objects/${oid1:0:2}/${oid1:2:2}/$oid1)" "$oid1"

begin "a wrong byte in a pack: exit 4, nothing stored"
C="$ROOT_TMP/C"; mkdir -p "$C" && cd "$C" && setup team && p4reg fetch >/dev/null || fail "setup C"
python3 - "$RGW_ENDPOINT" "$oid1" <<'EOF' || fail "damage a pack"
import boto3, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
OID = sys.argv[2]
d = s3.get_object(Bucket="models", Key=f"team/chunks/{OID[:2]}/{OID[2:4]}/{OID}")["Body"].read()
p = d[56:88].hex()   # the first pack v1's list names
k = f"team/packs/{p[:2]}/{p[2:4]}/{p}"
b = bytearray(s3.get_object(Bucket="models", Key=k)["Body"].read())
b[1000] ^= 1
s3.put_object(Bucket="models", Key=k, Body=bytes(b))
EOF
run 4 p4reg pull m@1
assert_contains "$ERR" "is corrupt"
assert_eq "$(find .p4reg/objects -type f | wc -l)" "0" "an object was stored"

begin "a format-1 bucket: whole objects until remote convert"
cd "$A"
run 0 p4reg remote add old --endpoint "$RGW_ENDPOINT" --path-style s3://models/old
run 0 p4reg config remote.old.format 1
run 0 p4reg push -r old
python3 - "$RGW_ENDPOINT" <<'EOF' || fail "format-1 layout"
import boto3, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
keys = [o["Key"].split("/")[1] for o in s3.list_objects_v2(Bucket="models", Prefix="old/")["Contents"]]
assert "chunks" not in keys and "p4reg-format.json" not in keys and "objects" in keys, keys
EOF
run 0 p4reg --json remote convert old
assert_eq "$(echo "$OUT" | json_num converted)" "2"
D="$ROOT_TMP/D"; mkdir -p "$D" && cd "$D" && p4reg init >/dev/null || fail "init D"
run 0 p4reg remote add -d --endpoint "$RGW_ENDPOINT" --path-style old s3://models/old
run 0 p4reg fetch
run 0 p4reg pull m@1
assert_eq "$(sha .p4reg/objects/${oid1:0:2}/${oid1:2:2}/$oid1)" "$oid1"

finish
