#!/usr/bin/env bash
# End-to-end: chunk dedup on a folder remote (#19; docs/dedup.md). A
# safetensors model of 24 layers (bench/gen_safetensors.py): v2 rewrites 3
# layers, v3 grows the header (every offset shifts), v4 = v1. Pushes send only new chunks,
# a pull of v1 beside v2 reads only what v2 lacks, damage is exit 4 with
# nothing stored, format-1 remotes stay whole until `remote convert`, and
# the documented layout is enough to rebuild an object without p4reg.
. "$(dirname "$0")/lib.sh"

R="$ROOT_TMP/remote"
A="$ROOT_TMP/A"
B="$ROOT_TMP/B"
mkdir -p "$A" "$B" "$R"
(cd "$A" && p4reg init >/dev/null) || fail "init A"
(cd "$B" && p4reg init >/dev/null) || fail "init B"

# gen OUT V: version V of bench's seeded safetensors series, ~8 MiB: 24
# layers; v2 rewrites 3 layers, v3 has ~100 bytes more header metadata
# (every offset shifts); prints {"size","changed",...}
gen() { python3 "$P4REG_SRC/bench/gen_safetensors.py" --size 8388608 --version "$2" "$1"; }
# json_num KEY: a number of the JSON on stdin, at the top or in "objects" (push, pull)
json_num() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[sys.argv[1]] if sys.argv[1] in d else d["objects"][sys.argv[1]])' "$1"; }
# bytes under the remote's chunks/ and packs/ (objects/ for whole ones)
stored() { find "$R/chunks" "$R/packs" "$R/objects" -type f -printf '%s\n' 2>/dev/null | awk '{s+=$1} END {print s+0}'; }

cd "$A"
run 0 p4reg remote add -d origin "$R"
mkdir -p models

begin "the first push to an empty remote makes it format 2: a chunk list and packs, no whole object"
gen models/m.safetensors 1 >/dev/null
size1=$(stat -c %s models/m.safetensors)
oid1=$(sha models/m.safetensors)
p4reg add models/m.safetensors >/dev/null || fail "add v1"
run 0 p4reg --json push
sent1=$(echo "$OUT" | json_num bytes_sent)
[ "$sent1" -ge "$size1" ] && [ "$sent1" -lt $((size1 + 65536)) ] || fail "v1 sent $sent1 bytes for $size1"
assert_eq "$(cat "$R/p4reg-format.json")" '{"format": 2}'
assert_file "$R/chunks/${oid1:0:2}/${oid1:2:2}/$oid1"
assert_no_file "$R/objects/${oid1:0:2}/${oid1:2:2}/$oid1"
[ "$(find "$R/packs" -type f | wc -l)" -ge 1 ] || fail "no pack"
# a pack is named by the SHA-256 of its chunks' ids, in order; each chunk
# is where the list says, and its bytes hash to its id
python3 - "$R" "$oid1" <<'EOF' || fail "packs of v1"
import hashlib, struct, sys
root, oid = sys.argv[1], sys.argv[2]
d = open("%s/chunks/%s/%s/%s" % (root, oid[:2], oid[2:4], oid), "rb").read()
size, npacks, nchunks = struct.unpack_from("<QII", d, 40)
packs = [d[56 + 32 * i:88 + 32 * i].hex() for i in range(npacks)]
ids = {p: [] for p in packs}
for k in range(nchunks):
    cid, pack, length, off = struct.unpack_from("<32sIIQ", d, 56 + 32 * npacks + 48 * k)
    p = packs[pack]
    with open("%s/packs/%s/%s/%s" % (root, p[:2], p[2:4], p), "rb") as f:
        f.seek(off)
        assert hashlib.sha256(f.read(length)).digest() == cid
    ids[p].append((off, cid))
for p, v in ids.items():
    assert hashlib.sha256(b"".join(c for _, c in sorted(v))).hexdigest() == p, p
EOF
# the local chunk list was kept from the push's read
assert_file ".p4reg/chunks/${oid1:0:2}/${oid1:2:2}/$oid1"

begin "v2 (3 layers of 24 rewritten) sends only its new chunks; the remote grows by them"
changed2=$(gen models/m.safetensors 2 | json_num changed)
p4reg add models/m.safetensors >/dev/null || fail "add v2"
run 0 p4reg --json push
sent2=$(echo "$OUT" | json_num bytes_sent)
[ "$sent2" -ge "$changed2" ] && [ "$sent2" -le $((size1 * 15 / 100)) ] || fail "v2 sent $sent2 bytes (v1: $sent1, changed: $changed2)"
total=$(stored)
[ "$total" -le $(( (size1 + changed2) * 115 / 100 )) ] || fail "remote holds $total bytes after v1, v2"

begin "v3 (100 bytes more header: every offset shifts) and v4 (= v1) cost little"
gen models/m.safetensors 3 >/dev/null
p4reg add models/m.safetensors >/dev/null || fail "add v3"
run 0 p4reg --json push
sent3=$(echo "$OUT" | json_num bytes_sent)
[ "$sent3" -le $((size1 * 5 / 100)) ] || fail "v3 sent $sent3 bytes"
gen models/m.safetensors 1 >/dev/null
run 0 p4reg add models/m.safetensors
run 0 p4reg --json push
assert_eq "$(echo "$OUT" | json_num bytes_sent)" "0"

begin "a pull of v1 on a machine that has v2 reads only the chunks v2 lacks"
cd "$B"
run 0 p4reg remote add origin "$R"
run 0 p4reg fetch
run 0 p4reg --json pull m@2
got2=$(echo "$OUT" | json_num bytes_received)
[ "$got2" -ge "$size1" ] || fail "v2 pull received $got2"
run 0 p4reg --json pull m@1
got1=$(echo "$OUT" | json_num bytes_received)
[ "$got1" -le $((size1 * 15 / 100)) ] || fail "v1 pull beside v2 received $got1 bytes"
assert_eq "$(sha .p4reg/objects/${oid1:0:2}/${oid1:2:2}/$oid1)" "$oid1"

begin "p4reg get (no repository) rebuilds a chunked version from the remote alone"
run 0 p4reg get --no-cache "$R" m@1 -o "$ROOT_TMP/got.safetensors"
assert_eq "$(sha "$ROOT_TMP/got.safetensors")" "$oid1"

begin "the documented layout rebuilds an object without p4reg (docs/remotes.md)"
python3 - "$R" "$oid1" > "$ROOT_TMP/rebuilt" <<'EOF'
import struct, sys
root, oid = sys.argv[1], sys.argv[2]
d = open("%s/chunks/%s/%s/%s" % (root, oid[:2], oid[2:4], oid), "rb").read()
assert d[:8] == b"P4RCHL1\n" and d[8:40].hex() == oid
size, npacks, nchunks = struct.unpack_from("<QII", d, 40)
packs = [d[56 + 32 * i:88 + 32 * i].hex() for i in range(npacks)]
pos = 56 + 32 * npacks
for _ in range(nchunks):
    cid, pack, length, off = struct.unpack_from("<32sIIQ", d, pos)
    pos += 48
    p = packs[pack]
    with open("%s/packs/%s/%s/%s" % (root, p[:2], p[2:4], p), "rb") as f:
        f.seek(off)
        sys.stdout.buffer.write(f.read(length))
EOF
assert_eq "$(sha "$ROOT_TMP/rebuilt")" "$oid1"

begin "a damaged pack: exit 4, nothing stored, the work tree untouched"
C="$ROOT_TMP/C"
mkdir -p "$C" && cd "$C" && p4reg init >/dev/null && p4reg remote add origin "$R" >/dev/null && p4reg fetch >/dev/null || fail "setup C"
p1=$(python3 -c 'import sys; print(open(sys.argv[1], "rb").read()[56:88].hex())' "$R/chunks/${oid1:0:2}/${oid1:2:2}/$oid1")
pack="$R/packs/${p1:0:2}/${p1:2:2}/$p1"   # the first pack v1's list names
cp "$pack" "$ROOT_TMP/pack.bak"
chmod u+w "$pack" 2>/dev/null
printf 'X' | dd of="$pack" bs=1 seek=70000 conv=notrunc status=none
run 4 p4reg pull m@1
assert_contains "$ERR" "is corrupt"
assert_eq "$(find .p4reg/objects -type f | wc -l)" "0" "an object was stored"
cp "$ROOT_TMP/pack.bak" "$pack"

begin "a damaged chunk list: exit 4 naming it"
list="$R/chunks/${oid1:0:2}/${oid1:2:2}/$oid1"
cp "$list" "$ROOT_TMP/list.bak"
head -c 100 "$ROOT_TMP/list.bak" > "$list"
run 4 p4reg pull m@1
assert_one_line_error "chunk list of $oid1 is damaged"
assert_eq "$(find .p4reg/objects -type f | wc -l)" "0" "an object was stored"
cp "$ROOT_TMP/list.bak" "$list"
run 0 p4reg pull m@1
assert_eq "$(sha .p4reg/objects/${oid1:0:2}/${oid1:2:2}/$oid1)" "$oid1"

begin "a format newer than this p4reg is refused"
cp "$R/p4reg-format.json" "$ROOT_TMP/format.bak"
echo '{"format": 3}' > "$R/p4reg-format.json"
run 2 p4reg pull m@3
assert_one_line_error "remote 'origin' has format 3; this p4reg knows formats 1 to 2: upgrade p4reg"
echo '{"format": "two"}' > "$R/p4reg-format.json"
run 4 p4reg pull m@3
assert_one_line_error "'p4reg-format.json' on remote 'origin' is damaged"
cp "$ROOT_TMP/format.bak" "$R/p4reg-format.json"

begin "remote.NAME.format 1 keeps whole objects; small objects stay whole on format 2"
cd "$A"
R1="$ROOT_TMP/remote1"
mkdir -p "$R1"
run 0 p4reg remote add old "$R1"
run 0 p4reg config remote.old.format 1
run 0 p4reg push -r old
assert_no_file "$R1/p4reg-format.json"
assert_same_bytes "$R1/objects/${oid1:0:2}/${oid1:2:2}/$oid1" models/m.safetensors
[ ! -d "$R1/chunks" ] || fail "a format-1 remote got chunk lists"
random_file models/small.bin 512
p4reg add models/small.bin >/dev/null || fail "add small"
run 0 p4reg push -r origin
soid=$(sha models/small.bin)
assert_same_bytes "$R/objects/${soid:0:2}/${soid:2:2}/$soid" models/small.bin
run 0 p4reg config remote.old.format 3
run 2 p4reg push -r old
assert_one_line_error "remote.old.format must be 1 or 2, not '3'"
run 0 p4reg config remote.old.format 1

begin "remote convert: whole objects become chunk lists; readers get the same bytes"
before=$(find "$R1/objects" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
run 0 p4reg --json remote convert old
assert_eq "$(echo "$OUT" | json_num converted)" "3"
assert_eq "$(echo "$OUT" | json_num format_before)" "1"
assert_eq "$(cat "$R1/p4reg-format.json")" '{"format": 2}'
assert_no_file "$R1/objects/${oid1:0:2}/${oid1:2:2}/$oid1"
assert_file "$R1/chunks/${oid1:0:2}/${oid1:2:2}/$oid1"
after=$(find "$R1" -path "$R1/log" -prune -o -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
[ "$after" -lt $((before * 45 / 100)) ] || fail "convert kept $after of $before bytes"
run 0 p4reg remote convert old
assert_eq "$OUT" "remote 'old' is format 2: 0 objects (0 B) converted, 0 already; 0 B of chunks sent, 0 B of whole objects removed"
D="$ROOT_TMP/D"
mkdir -p "$D" && cd "$D" && p4reg init >/dev/null && p4reg remote add old "$R1" >/dev/null || fail "setup D"
run 0 p4reg fetch -r old
run 0 p4reg pull m@1
assert_eq "$(sha .p4reg/objects/${oid1:0:2}/${oid1:2:2}/$oid1)" "$oid1"
run 2 p4reg remote check --keep-objects
assert_one_line_error "--keep-objects goes with 'remote convert'"

begin "gc -r: a deleted version's chunk list goes, then the packs no remaining list names"
cd "$A"
oid2=$(cd "$B" && db "SELECT oid FROM versions WHERE number = 2")
list2="$R/chunks/${oid2:0:2}/${oid2:2:2}/$oid2"
assert_file "$list2"
packs_before=$(find "$R/packs" -type f | wc -l)
run 0 p4reg rm m@2
run 0 p4reg push
# a damaged list that stays: nothing is removed
cp "$list" "$ROOT_TMP/list.bak"
head -c 100 "$ROOT_TMP/list.bak" > "$list"
run 4 p4reg gc -r origin --grace 0
assert_contains "$ERR" "chunk list of $oid1 is damaged"
assert_contains "$ERR" "gc -r removes nothing from remote 'origin'"
assert_file "$list2"
cp "$ROOT_TMP/list.bak" "$list"
run 0 p4reg --json gc -r origin --grace 0
assert_eq "$(echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin)["remote"]["objects"]; print(d["count"], d["oids"][0])')" "1 $oid2"
npacks=$(echo "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["remote"]["packs"]["count"])')
[ "$npacks" -ge 1 ] || fail "no pack removed"
assert_no_file "$list2"
assert_eq "$(find "$R/packs" -type f | wc -l)" "$((packs_before - npacks))"
run 0 p4reg gc -r origin --grace 0
assert_contains "$OUT" "removed 0 objects (0 B) from remote 'origin'"
assert_contains "$OUT" "removed 0 packs (0 B) from remote 'origin'"
E="$ROOT_TMP/E"
mkdir -p "$E" && cd "$E" && p4reg init >/dev/null && p4reg remote add origin "$R" >/dev/null && p4reg fetch >/dev/null || fail "setup E"
run 0 p4reg pull m@1
run 0 p4reg pull m@3
assert_eq "$(sha .p4reg/objects/${oid1:0:2}/${oid1:2:2}/$oid1)" "$oid1"

begin "concurrent first pushes of chunked versions to an empty remote: both land, every version reads back"
RC="$ROOT_TMP/remote-conc"
mkdir -p "$RC"
for who in P Q; do
	mkdir -p "$ROOT_TMP/$who/models" && cd "$ROOT_TMP/$who" && p4reg init >/dev/null &&
		p4reg remote add -d origin "$RC" >/dev/null 2>&1 || fail "setup $who"
done
cd "$ROOT_TMP/P" && gen models/p.safetensors 1 >/dev/null && p4reg add models/p.safetensors >/dev/null || fail "add P"
cd "$ROOT_TMP/Q" && gen models/q.safetensors 2 >/dev/null && p4reg add models/q.safetensors >/dev/null || fail "add Q"
(cd "$ROOT_TMP/P" && p4reg push >"$ROOT_TMP/P.out" 2>&1; echo $? >"$ROOT_TMP/P.rc") &
(cd "$ROOT_TMP/Q" && p4reg push >"$ROOT_TMP/Q.out" 2>&1; echo $? >"$ROOT_TMP/Q.rc") &
wait
assert_eq "$(cat "$ROOT_TMP/P.rc") $(cat "$ROOT_TMP/Q.rc")" "0 0" "push exit codes ($(cat "$ROOT_TMP/P.out" "$ROOT_TMP/Q.out" | tr "\n" " "))"
assert_eq "$(cat "$RC/p4reg-format.json")" '{"format": 2}'
G="$ROOT_TMP/G"
mkdir -p "$G" && cd "$G" && p4reg init >/dev/null && p4reg remote add origin "$RC" >/dev/null 2>&1 || fail "setup G"
run 0 p4reg fetch
run 0 p4reg pull p@1 q@1
assert_same_bytes models/q.safetensors "$ROOT_TMP/Q/models/q.safetensors"
assert_same_bytes models/p.safetensors "$ROOT_TMP/P/models/p.safetensors"
for m in p q; do
	o=$(db "SELECT v.oid FROM versions v JOIN models x ON x.id = v.model_id WHERE x.name = '$m'")
	assert_eq "$(sha .p4reg/objects/${o:0:2}/${o:2:2}/$o)" "$o" "object of $m"
done

# (review of #19) fresh_chunked NAME: a new repository $ROOT_TMP/NAME with
# an empty folder remote $ROOT_TMP/NAME-remote as its default; cd into it.
fresh_chunked() {
	mkdir -p "$ROOT_TMP/$1/models" "$ROOT_TMP/$1-remote" && cd "$ROOT_TMP/$1" && p4reg init >/dev/null &&
		p4reg remote add -d origin "$ROOT_TMP/$1-remote" >/dev/null 2>&1 || fail "setup $1"
}
# objpath N: the store's file of version N of m.
objpath() { local o; o=$(db "SELECT oid FROM versions WHERE number = $1"); echo ".p4reg/objects/${o:0:2}/${o:2:2}/$o"; }

begin "an object written to while it is pushed (a hard-linked work file): exit 4, no chunk list, no batch"
fresh_chunked H
random_file models/m.bin 40960
hoid=$(sha models/m.bin)
p4reg add models/m.bin >/dev/null || fail "add"
obj=$(objpath 1)
# the folder remote sleeps 300 ms per 4 MiB sent: the first 32 MiB pack takes
# 2.4 s, while the whole hash (its own thread) is long done; the write lands
# past where the cutting is (before the push starts, the hash refuses it too)
P4REG_TEST_TRANSFER_DELAY_MS=300 p4reg push >"$ROOT_TMP/H.out" 2>&1 &
hpid=$!
sleep 1.2
chmod u+w "$obj"
printf 'CHANGED' | dd of="$obj" bs=1 seek=$((38 << 20)) conv=notrunc status=none
wait $hpid
assert_eq "$?" "4" "push of an object written to meanwhile ($(cat "$ROOT_TMP/H.out"))"
ERR=$(cat "$ROOT_TMP/H.out")
assert_contains "$ERR" "object $hoid in the local store"
assert_contains "$ERR" "not pushed"
assert_no_file "$ROOT_TMP/H-remote/chunks/${hoid:0:2}/${hoid:2:2}/$hoid"
assert_no_file "$ROOT_TMP/H-remote/log/0000000001.json"

begin "a pack cut short at its key is sent again (no push is blocked by it)"
fresh_chunked S
random_file models/m.bin 4096
soid=$(sha models/m.bin)
p4reg add models/m.bin >/dev/null || fail "add"
run 0 p4reg push
S2="$ROOT_TMP/S-remote2"
mkdir -p "$S2"
run 0 p4reg remote add two "$S2"
for p in $(cd "$ROOT_TMP/S-remote" && find packs -type f); do
	mkdir -p "$S2/$(dirname "$p")" && head -c 1000 "$ROOT_TMP/S-remote/$p" >"$S2/$p"
done
run 0 p4reg --json push -r two
for p in $(cd "$ROOT_TMP/S-remote" && find packs -type f); do
	assert_same_bytes "$S2/$p" "$ROOT_TMP/S-remote/$p"
done
assert_file "$S2/chunks/${soid:0:2}/${soid:2:2}/$soid"

begin "packs stay within multipartThreshold (one PUT each, never a multipart upload gc -r cannot see)"
fresh_chunked M
run 0 p4reg config remote.origin.multipartThreshold 6m
random_file models/m.bin 20480
p4reg add models/m.bin >/dev/null || fail "add"
run 0 p4reg push
[ "$(find "$ROOT_TMP/M-remote/packs" -type f | wc -l)" -ge 4 ] || fail "20 MiB in fewer than 4 packs of 6 MiB"
big=$(find "$ROOT_TMP/M-remote/packs" -type f -size +6144k | wc -l)
assert_eq "$big" "0" "packs larger than multipartThreshold"

begin "a retried download (a local object lent wrong chunks) counts both attempts in bytes_received"
fresh_chunked W
python3 -c 'import random; open("models/m.bin", "wb").write(random.Random(1).randbytes(8 << 20))'
p4reg add models/m.bin >/dev/null || fail "add v1"
for v in 2 3; do
	python3 -c 'import sys,random; b=bytearray(open(sys.argv[1],"rb").read()); b[3<<20:4<<20]=random.Random(int(sys.argv[2])).randbytes(1<<20); open(sys.argv[1],"wb").write(b)' models/m.bin $v
	p4reg add models/m.bin >/dev/null || fail "add v$v"
done
run 0 p4reg push
for v in 1 2; do chmod u+w "$(objpath $v)" && flip_byte "$(objpath $v)" 100; done
rm -f "$(objpath 3)"
run 0 p4reg --json pull m@3
got=$(echo "$OUT" | json_num bytes_received)
# the second attempt reads all 8 MiB, the first what v1 and v2 lack: more than the object
[ "$got" -gt $((8 << 20)) ] || fail "bytes_received $got after two attempts"
assert_eq "$(sha "$(objpath 3)")" "$(db "SELECT oid FROM versions WHERE number = 3")"

begin "convert keeps the whole copy of an object whose chunk list does not read back; readers use that copy"
fresh_chunked V
run 0 p4reg config remote.origin.format 1
random_file models/m.bin 4096
void=$(sha models/m.bin)
p4reg add models/m.bin >/dev/null || fail "add"
run 0 p4reg push
VR="$ROOT_TMP/V-remote"
mkdir -p "$ROOT_TMP/V2"
run 0 p4reg remote add two "$ROOT_TMP/V2"
run 0 p4reg push -r two
# a list of it on the format-1 remote whose pack is not there
mkdir -p "$VR/chunks/${void:0:2}/${void:2:2}"
cp "$ROOT_TMP/V2/chunks/${void:0:2}/${void:2:2}/$void" "$VR/chunks/${void:0:2}/${void:2:2}/$void"
run 4 p4reg remote convert origin
assert_one_line_error "named by the chunk list of $void is not on remote 'origin'; its whole copy is kept"
assert_same_bytes "$VR/objects/${void:0:2}/${void:2:2}/$void" models/m.bin
rm -f "$(objpath 1)"
run 0 p4reg pull m@1
assert_eq "$(sha "$(objpath 1)")" "$void"

finish
