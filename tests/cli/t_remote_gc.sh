#!/usr/bin/env bash
# End-to-end: gc -r NAME on a folder remote. An object goes only when no
# live version in the remote's own log needs it (a deletion made here
# counts once pushed), never one a live version shares, never a folder
# version's file while a live version lists it, never an object younger
# than the grace period (a push may be about to publish the batch naming
# it), never anything under objects/ that is not an oid-named file in its
# own folder, and nothing outside objects/. A dry run lists the same and
# removes nothing; a log that does not replay removes nothing.
. "$(dirname "$0")/lib.sh"

robj() { echo "$R/objects/${1:0:2}/${1:2:2}/$1"; }
json_get() { printf '%s' "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
voids() { db "SELECT v.oid FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = '$1' AND v.number = $2"; }
zeros() { printf '%0*d' "$1" 0; }

R="$ROOT_TMP/remote"
fresh_repo
p4reg remote add origin "$R" >/dev/null 2>&1 || fail "remote add"
for i in 2 3 4; do random_file m.bin "$i"; cp m.bin "$ROOT_TMP/m$i"; p4reg add -q m.bin || fail "add m $i"; done
cp "$ROOT_TMP/m2" n.bin && p4reg add -q n.bin || fail "add n"   # n@1 shares m@1's bytes
p4reg promote -q m@2 --to production --force
p4reg promote -q m@3 --to production --force    # m@2 archived: rollback's target
mkdir -p d && random_file d/shared.bin 4 && random_file d/a.bin 1 && cp d/a.bin "$ROOT_TMP/a1"
p4reg add -q d/ || fail "add d 1"
random_file d/a.bin 1 && p4reg add -q d/ || fail "add d 2"
man1=$(voids d 1); m1=$(sha "$ROOT_TMP/m2"); m2=$(sha "$ROOT_TMP/m3"); m3=$(sha "$ROOT_TMP/m4")
a1=$(sha "$ROOT_TMP/a1"); shared=$(sha d/shared.bin)
man1_size=$(db "SELECT v.size FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'd' AND v.number = 1")
run 0 p4reg push
# deleted here and pushed: m@1 (n@1 shares its bytes) and d@1 (d@2 lists shared.bin)
p4reg rm -q m@1 && p4reg rm -q d@1 || fail "rm"
run 0 p4reg push
# deleted here, not pushed: still live in the remote's log
p4reg rm -q m@3 --force 2>/dev/null || fail "rm m@3"
# not p4reg's: left alone whatever their names
echo readme >"$R/objects/README"
mkdir -p "$R/objects/ab/cd" "$R/objects/00/00" "$R/objects/ee/ff/eeff$(zeros 60)" "$R/objects/AB"
echo x >"$R/objects/ab/cd/notanoid"
echo x >"$R/objects/00/00/$a1"                          # an oid in a folder not its own
echo precious >"$ROOT_TMP/precious"
ln -s "$ROOT_TMP/precious" "$R/objects/ab/cd/abcd$(zeros 60)"
echo x >"$R/objects/ab/cd/ABCD$(zeros 60)"
echo x >"$R/stray-$(zeros 10)"
foreign_before=$(cd "$R" && find . \( -path ./objects/ab -o -path ./objects/00 -o -path ./objects/ee -o -path ./objects/AB -o -path ./objects/README -o -name 'stray-*' \) -print | sort)

begin "within the grace period nothing goes"
run 0 p4reg gc -r origin
assert_contains "$OUT" "removed 0 objects (0 B) from remote 'origin'; kept 6 that 4 live versions need"
assert_contains "$ERR" "kept 2 objects on remote 'origin' that no version needs, written in the last 3600 seconds or at a time the remote did not say (a push may be running)"
assert_contains "$ERR" "left 7 entries under the objects/ of remote 'origin' alone: not p4reg objects"
assert_file "$(robj "$a1")"

begin "--dry-run lists what goes and its bytes, removes nothing; the real run removes exactly that"
sleep 3
# a young object no version names: a push uploaded it and has not published yet
random_file "$ROOT_TMP/young" 1 && young=$(sha "$ROOT_TMP/young")
mkdir -p "$(dirname "$(robj "$young")")" && cp "$ROOT_TMP/young" "$(robj "$young")"
expect=$(printf '%s\n' "$a1 1.0 KiB" "$man1 $man1_size B" | sort | while read -r o s u; do
	echo "would remove object $o from remote 'origin' ($s $u)"; done)
total=$(python3 -c "print('%.1f KiB' % ((1024 + $man1_size) / 1024))")
run 0 p4reg gc -r origin --grace 2 --dry-run
assert_eq "$(printf '%s\n' "$OUT" | grep 'remote .origin.')" "$expect
would remove 2 objects ($total) from remote 'origin'; kept 6 that 4 live versions need"
assert_contains "$ERR" "kept 1 object on remote 'origin' that no version needs, written in the last 2 seconds"
assert_file "$(robj "$a1")" && assert_file "$(robj "$man1")"
dry=$OUT
run 0 p4reg gc -r origin --grace 2
assert_eq "$(printf '%s\n' "$OUT" | grep 'remote .origin.')" "$(printf '%s\n' "$dry" | grep 'remote .origin.' | sed 's/^would remove/removed/')"
assert_no_file "$(robj "$a1")"
assert_no_file "$(robj "$man1")"
for o in "$m1" "$m2" "$m3" "$shared" "$young" "$(voids d 2)" "$(sha d/a.bin)"; do assert_file "$(robj "$o")"; done
assert_eq "$(cd "$R" && find . \( -path ./objects/ab -o -path ./objects/00 -o -path ./objects/ee -o -path ./objects/AB -o -path ./objects/README -o -name 'stray-*' \) -print | sort)" "$foreign_before"
assert_eq "$(cat "$ROOT_TMP/precious")" "precious"
assert_file "$R/objects/00/00/$a1"
assert_file "$R/log/0000000001.json" && assert_file "$R/log/0000000002.json" && assert_file "$R/p4reg-remote"

begin "the rollback target and production stay; a clone still gets every live version"
B="$ROOT_TMP/B"
mkdir -p "$B" && cd "$B" && p4reg init >/dev/null && p4reg remote add origin "$R" >/dev/null 2>&1 || fail "init B"
run 0 p4reg pull
run 0 p4reg checkout m@2 && assert_same_bytes m.bin "$ROOT_TMP/m3"
run 0 p4reg checkout m@3 && assert_same_bytes m.bin "$ROOT_TMP/m4"
run 0 p4reg checkout n@1 && assert_same_bytes n.bin "$ROOT_TMP/m2"
run 0 p4reg checkout d@2
run 0 p4reg rollback m --no-checkout && assert_contains "$OUT" "production is now v2"
run 0 p4reg fsck --remote
mkdir -p "$ROOT_TMP/box"
run 0 p4reg get "$R" n@1 -o "$ROOT_TMP/box/n.bin" --no-cache && assert_same_bytes "$ROOT_TMP/box/n.bin" "$ROOT_TMP/m2"
cd - >/dev/null

begin "once a deletion is pushed its objects go; JSON; a rerun finds nothing"
run 0 p4reg push
run 0 p4reg --json gc -r origin --grace 0
assert_eq "$(json_get 'd["remote"]["name"], d["remote"]["uploads"], sorted(d["remote"]["objects"]["oids"]), d["remote"]["objects"]["bytes"], d["remote"]["objects"]["batches"]')" \
	"origin None $(python3 -c 'import sys; print(sorted(sys.argv[1:]))' "$young" "$m3") 5120 3"
run 0 p4reg --json gc -r origin --grace 0
assert_eq "$(json_get 'd["remote"]["objects"]["count"], d["remote"]["objects"]["needed"], d["remote"]["objects"]["foreign"], d["remote"]["objects"]["live_versions"]')" "0 5 7 3"

begin "a log that does not replay: exit 4, nothing removed"
cp "$ROOT_TMP/young" "$(robj "$young")"   # gone with --grace 0 above: back, old enough
printf '{"format":4,' >"$R/log/0000000004.json"
run 4 p4reg gc -r origin --grace 0 && assert_one_line_error "remote 'origin'"
assert_file "$(robj "$young")"
rm "$R/log/0000000004.json"
run 1 p4reg gc -r nowhere && assert_one_line_error "no remote named 'nowhere'"

finish
