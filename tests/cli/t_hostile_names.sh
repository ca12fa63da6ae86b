#!/usr/bin/env bash
# End-to-end: the names-and-paths features (#13) attacked. A malicious
# remote (forged move events), a malicious clone (planted pointers, links,
# a committed config), and hostile names: moves, `p4reg mv`, add's binding
# rules, scoped gates and multi-valued config. Every case asserts the safe
# behaviour: exact exit code and message, registry rows, bytes on disk, and
# that nothing outside the repository changed.
. "$(dirname "$0")/lib.sh"

OUTSIDE="$ROOT_TMP/outside"            # what no hostile path may touch
mkdir -p "$OUTSIDE" && echo canary >"$OUTSIDE/canary"
outside() { find "$OUTSIDE" -printf '%p %s %T@\n' | sort | sha256sum; }
OUTSIDE_BEFORE=$(outside)
unchanged() { assert_eq "$(snapshot)" "$base" "state changed after bad input"; }
ptr() { printf '%s@%s' "$(sed -n 's/^model //p' "$1.p4reg")" "$(sed -n 's/^version //p' "$1.p4reg")"; }
models() { db 'SELECT name, path FROM models ORDER BY name'; }
# files: the work tree's files, links and their bytes (not the registry).
files() { find . -path ./.p4reg -prune -o -path ./.git -prune -o \( -type f -o -type l \) -printf '%p %l\n' | sort; find . -path ./.p4reg -prune -o -path ./.git -prune -o -type f -print | sort | xargs -r sha256sum; }

# forge SEQ REMOTE EVENT...: writes batch SEQ of REMOTE by hand. Each EVENT
# is a JSON object merged over a complete event of its kind; a "move" takes
# "from_path" and "to_path" (its detail) and makes the batch format 2
# unless "format" is given.
cat >"$ROOT_TMP/forge.py" <<'EOF'
import json, sys, uuid
seq, remote, specs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
events, fmt = [], 1
for spec in specs:
    over = json.loads(spec)
    fmt = over.pop("format", fmt)
    e = {"id": str(uuid.uuid4()), "model": "x", "version": 1, "kind": "register", "from": "",
         "to": "development", "forced": False, "actor": "mallory", "time": 1000, "reason": "",
         "detail": None}
    if over.get("kind", "register") == "register":
        e.update({"oid": "0" * 64, "size": 1, "author": "mallory", "created": 1000,
                  "message": "", "path": "models/x.bin", "git_dirty": -1})
    else:
        e.update({"from": "", "to": ""})
    if over.get("kind") == "move":
        fmt = max(fmt, 2) if "fmt_fixed" not in over else fmt
        e["version"] = 0
        if "from_path" in over:
            e["detail"] = json.dumps({"from_path": over.pop("from_path"), "to_path": over.pop("to_path")})
    over.pop("fmt_fixed", None)
    e.update(over)
    events.append({k: v for k, v in e.items() if v != "@drop"})
doc = {"format": fmt, "seq": seq, "parent": seq - 1, "pushed_by": "mallory", "time": 1, "events": events}
with open("%s/log/%010d.json" % (remote, seq), "w") as f:
    f.write(json.dumps(doc))
EOF
forge() { python3 "$ROOT_TMP/forge.py" "$@" || fail "forge $*"; }
# move_ev MODEL FROM TO [EXTRA-JSON]: a move event spec for forge.
move_ev() {
	python3 -c 'import json,sys; d={"kind":"move","model":sys.argv[1],"from_path":sys.argv[2],"to_path":sys.argv[3]}; d.update(json.loads(sys.argv[4])); print(json.dumps(d))' \
		"$1" "$2" "$3" "${4:-{\}}"
}

# A remote with tok@1 at a/x.bin (batch 1), pushed by a real clone; then
# victim NAME: a clone that fetched it and checked tok out; cd into it.
R="$ROOT_TMP/remote"
PUB="$ROOT_TMP/publisher"
mkdir -p "$PUB" && cd "$PUB" && p4reg init >/dev/null && p4reg remote add -d origin "$R" >/dev/null 2>&1 &&
	random_file a/x.bin 4 && p4reg add -q -n tok a/x.bin >/dev/null && p4reg push -q || fail "publisher"
TOK_OID=$(sha "$PUB/a/x.bin")
victim() {
	rm -f "$R"/log/000000000[2-9].json
	rm -rf "$ROOT_TMP/v-$1" && mkdir -p "$ROOT_TMP/v-$1" && cd "$ROOT_TMP/v-$1" || exit 1
	p4reg init >/dev/null && p4reg remote add -d origin "$R" >/dev/null 2>&1 && p4reg fetch -q &&
		p4reg checkout -q tok >/dev/null || fail "victim $1"
}

begin "remote move: an unsafe or malformed move is refused whole (exit 4), nothing applied"
victim unsafe
base=$(snapshot)
for p in ../x.bin /etc/x.bin .git/hooks/pre-commit a/.GIT/x.bin .p4reg/config.local .P4reg/x \
	$'a\nb.bin' $'a\x1b[2J.bin' 'a\b.bin' x.bin.p4reg .gitignore sub/.gitattributes .gitmodules \
	'' 'a//b.bin' 'a/./b.bin' 'a/' a/x.bin; do
	CURRENT="remote move to '$p'"
	forge 2 "$R" "$(move_ev tok a/x.bin "$p")"
	run 4 p4reg fetch && assert_one_line_error "event 0: "
	assert_contains "$ERR" "--skip-batch 2"
	unchanged
done
CURRENT="remote move: malformed"
for spec in "$(move_ev tok a/x.bin b.bin '{"fmt_fixed":1,"format":1}')" \
	"$(move_ev tok a/x.bin b.bin '{"version":1}')" \
	"$(move_ev tok a/x.bin b.bin '{"to":"production"}')" \
	"$(move_ev tok a/x.bin b.bin '{"forced":true}')" \
	'{"kind":"move","model":"tok","detail":"{\"from_path\":\"a/x.bin\",\"to_path\":\"b.bin\",\"mode\":1}"}' \
	'{"kind":"move","model":"tok","detail":"{\"from_path\":\"a/x.bin\",\"to_path\":\"b.bin\",\"to_path\":\"c.bin\"}"}' \
	'{"kind":"move","model":"tok","detail":"{\"from_path\":\"a/x.bin\",\"to_path\":\"..\\u0000/b.bin\"}"}' \
	'{"kind":"move","model":"tok","detail":"[\"a/x.bin\",\"b.bin\"]"}' \
	'{"kind":"move","model":"tok","detail":null}' \
	"$(move_ev '../tok' a/x.bin b.bin)"; do
	forge 2 "$R" "$spec"
	run 4 p4reg fetch && assert_one_line_error "log/0000000002.json"
	unchanged
done
assert_eq "$(db 'SELECT applied_seq FROM remote_state')" "1"
assert_eq "$(outside)" "$OUTSIDE_BEFORE" "something outside changed"

begin "remote move through a link, onto a link or a user's file: fetch writes nothing, checkout and pull refuse"
for p in out/x.bin gitlink/hooks/post-checkout c.bin notes.bin; do
	CURRENT="remote move to $p"
	victim links
	ln -s "$OUTSIDE" out
	ln -s .git gitlink
	ln -s "$OUTSIDE/canary" c.bin
	echo "my notes" >notes.bin
	forge 2 "$R" "$(move_ev tok a/x.bin "$p")"
	before=$(files)
	run 0 p4reg fetch                       # a move changes no file
	assert_eq "$(db 'SELECT path FROM models')" "$p"
	assert_eq "$(files)" "$before" "fetch changed the work tree"
	base=$(snapshot)
	case $p in
	notes.bin)
		run 1 p4reg checkout tok && assert_eq "$ERR" "p4reg: 'notes.bin' has changes that are in no version; 'p4reg add' it first, or use --force to overwrite"
		run 1 p4reg pull tok && assert_one_line_error "'notes.bin' has changes that are in no version" ;;
	*)
		run 2 p4reg checkout tok && assert_one_line_error "'$p' is or passes through a symbolic link; p4reg follows no link in the work tree"
		run 2 p4reg pull tok && assert_one_line_error "passes through a symbolic link" ;;
	esac
	unchanged
	assert_eq "$(cat notes.bin)" "my notes"
	assert_no_file "$OUTSIDE/x.bin"
	assert_eq "$(outside)" "$OUTSIDE_BEFORE" "something outside changed"
	# pull of every pointer skips the one the move left behind: no file
	# is written at either path
	base=$(snapshot)
	run 0 p4reg pull && assert_contains "$ERR" "note: skipped a/x.bin, a pointer left behind: model 'tok' is now at "
	unchanged
	assert_eq "$(outside)" "$OUTSIDE_BEFORE" "something outside changed"
done

begin "a remote cannot move, or write history for, a model only this registry has (exit 4)"
victim localonly
random_file mine.bin 4
p4reg add -q -n secret mine.bin >/dev/null || fail "add"
base=$(snapshot)
forge 2 "$R" "$(move_ev secret mine.bin stolen/here.bin)"
run 4 p4reg fetch
assert_eq "$ERR" "p4reg: remote log batch 2 has a move event for model 'secret', which the log never registered; if the remote cannot be repaired, skip this batch with 'p4reg fetch -r origin --skip-batch 2' (the skip is recorded)"
unchanged
forge 2 "$R" '{"kind":"note","model":"secret","version":0,"reason":"approved by security"}'
run 4 p4reg fetch && assert_one_line_error "has a note event for model 'secret', which the log never registered"
unchanged
assert_eq "$(models)" "secret|mine.bin
tok|a/x.bin"
# once the log registered it (another clone's model of that name), it is the log's
forge 2 "$R" "{\"model\":\"secret\",\"version\":1,\"oid\":\"$TOK_OID\",\"size\":4096,\"path\":\"s/secret.bin\"}" \
	"$(move_ev secret s/secret.bin s/moved.bin)"
run 0 p4reg fetch
assert_eq "$(db "SELECT path FROM models WHERE name = 'secret'")" "s/moved.bin"
assert_eq "$(ptr mine.bin)" "secret@2"   # the local version follows the log's

begin "a remote move of the model being edited: no edit is lost"
victim editing
printf 'edited' >a/x.bin
forge 2 "$R" "$(move_ev tok a/x.bin b/x.bin)"
run 0 p4reg fetch
assert_eq "$(cat a/x.bin)" "edited"
run 1 p4reg add a/x.bin
assert_eq "$ERR" "p4reg: 'a/x.bin.p4reg' names model 'tok', which is bound to 'b/x.bin'; 'p4reg fetch' if it moved elsewhere, or move it here with -n tok"
# the pointer at a/x.bin was left behind by the move: skipped, never written
run 0 p4reg pull && assert_contains "$ERR" "note: skipped a/x.bin, a pointer left behind: model 'tok' is now at b/x.bin"
assert_eq "$(cat a/x.bin)" "edited"
run 0 p4reg checkout a/x.bin && assert_contains "$ERR" "note: skipped a/x.bin, a pointer left behind"
assert_eq "$(cat a/x.bin)" "edited"
run 0 p4reg checkout tok && assert_eq "$(sha b/x.bin)" "$TOK_OID"
assert_eq "$(cat a/x.bin)" "edited"
run 0 p4reg add -n tok a/x.bin
assert_eq "$(printf '%s\n' "$OUT" | head -1)" "model 'tok' moved from b/x.bin to a/x.bin"
assert_eq "$(cat a/x.bin)" "edited"
assert_eq "$(ptr a/x.bin)" "tok@2"

begin "move chains, a swap through a held path, a move onto the model's own path"
victim chains
random_file y.bin 4
p4reg add -q y.bin >/dev/null && p4reg push -q >/dev/null || fail "y"
cp y.bin y.keep
# a chain that ends where it began; then a no-op move onto the bound path
forge 3 "$R" "$(move_ev tok a/x.bin c/1.bin)" "$(move_ev tok c/1.bin c/2.bin)" "$(move_ev tok c/2.bin a/x.bin)" \
	"$(move_ev tok elsewhere.bin a/x.bin)"
run 0 p4reg fetch
assert_eq "$(models)" "tok|a/x.bin
y|y.bin"
# a move onto a path another model holds stops the whole batch, even when
# a later event of it would free the path
base=$(snapshot)
forge 4 "$R" "$(move_ev tok a/x.bin y.bin)" "$(move_ev y y.bin z.bin)"
run 1 p4reg fetch
assert_eq "$ERR" "p4reg: remote log batch 4 moves model 'tok' to 'y.bin', which local model 'y' is bound to; if the remote cannot be repaired, skip this batch with 'p4reg fetch -r origin --skip-batch 4' (the skip is recorded)"
unchanged
# freed first, then taken: applies; checkout then overwrites only bytes the store has
forge 4 "$R" "$(move_ev y y.bin z.bin)" "$(move_ev tok a/x.bin y.bin)"
run 0 p4reg fetch
assert_eq "$(models)" "tok|y.bin
y|z.bin"
run 0 p4reg checkout tok && assert_eq "$(sha y.bin)" "$TOK_OID"
run 0 p4reg checkout y && assert_same_bytes z.bin y.keep

begin "a remote's path never costs the user a .gitignore line (add -n moves the model back)"
victim ignore
mkdir -p conf && printf '/credentials.json\n' >conf/.gitignore
forge 2 "$R" "$(move_ev tok a/x.bin conf/credentials.json)"
run 0 p4reg fetch
run 0 p4reg add -n tok a/x.bin
assert_eq "$(printf '%s\n' "$OUT" | head -1)" "model 'tok' moved from conf/credentials.json to a/x.bin"
assert_eq "$(cat conf/.gitignore)" "/credentials.json"
assert_eq "$(ptr a/x.bin)" "tok@1"
# a path the model really had here loses its line and pointer as before
run 0 p4reg mv a/x.bin b/x.bin
assert_no_file a/x.bin.p4reg && assert_no_file a/.gitignore

begin "mv: links on the way are resolved when typed, refused when met"
fresh_git_repo
random_file a/m.bin 4
p4reg add -q -n m a/m.bin >/dev/null || fail "add"
ln -s a inside
ln -s "$OUTSIDE" out
ln -s .git gitlink
ln -s .p4reg metalink
base=$(snapshot)
run 2 p4reg mv a/m.bin out/m.bin && assert_one_line_error "is outside the repository"
run 2 p4reg mv a/m.bin gitlink/m.bin && assert_one_line_error ".git"
run 2 p4reg mv a/m.bin metalink/m.bin && assert_one_line_error ".p4reg"
run 2 p4reg mv a/m.bin .GIT/m.bin && assert_one_line_error "'.git', which git or p4reg manages itself"
run 2 p4reg mv a/m.bin b/.gitignore && assert_one_line_error "'.gitignore', which git or p4reg manages itself"
run 2 p4reg mv a/m.bin b/.gitattributes && assert_one_line_error "'.gitattributes'"
run 2 p4reg mv a/m.bin inside/x/../../../m.bin && assert_one_line_error "has an empty, '.' or '..' part"
unchanged
# OLD typed through a link inside the repository is the real path
run 0 p4reg mv inside/m.bin b/m.bin
assert_eq "$OUT" "model 'm' moved from a/m.bin to b/m.bin"
assert_eq "$(outside)" "$OUTSIDE_BEFORE" "something outside changed"

begin "mv: folders swapped for links between the checks and the rename lead nowhere"
# a shim runs SWAP_CMD once, just before p4reg's first renameat2: the race
# a local attacker would have to win, won every time
cat >"$ROOT_TMP/swap.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int renameat2(int od, const char *o, int nd, const char *n, unsigned int flags)
{
	static int done;
	int (*real)(int, const char *, int, const char *, unsigned int) =
		(int (*)(int, const char *, int, const char *, unsigned int))dlsym(RTLD_NEXT, "renameat2");
	const char *cmd = getenv("SWAP_CMD");

	if (!done && cmd) {
		done = 1;
		/* the swap's own mv must neither swap again nor load ASan */
		cmd = strdup(cmd);
		unsetenv("SWAP_CMD");
		unsetenv("LD_PRELOAD");
		if (!cmd || system(cmd) != 0)
			fprintf(stderr, "swap failed\n");
	}
	return real(od, o, nd, n, flags);
}
EOF
cc -shared -fPIC -o "$ROOT_TMP/swap.so" "$ROOT_TMP/swap.c" -ldl || fail "cannot build the swap shim"
swap_preload="$ROOT_TMP/swap.so"
asan_rt=$(ldd "$P4REG_BIN" 2>/dev/null | awk '/libasan/ { print $3; exit }')
[ -n "$asan_rt" ] && swap_preload="$asan_rt:$swap_preload"
swapped() { LD_PRELOAD="$swap_preload" SWAP_CMD="$1" ASAN_OPTIONS=detect_leaks=0 "$P4REG_BIN" "${@:2}"; }
fresh_repo
random_file a/m.bin 4
cp a/m.bin m.keep
p4reg add -q -n m a/m.bin >/dev/null || fail "add"
mkdir -p d
# NEW's folder becomes a link out after the checks: the file lands in the
# folder that was checked (held open), the pointer is refused, nothing outside
run 2 swapped "mv d d.real && ln -s '$OUTSIDE' d" mv a/m.bin d/m.bin
assert_eq "$ERR" "p4reg: 'd' is or passes through a symbolic link; p4reg follows no link in the work tree"
assert_same_bytes d.real/m.bin m.keep
assert_no_file "$OUTSIDE/m.bin"
assert_eq "$(outside)" "$OUTSIDE_BEFORE" "something outside changed"
# the user removes the link and reruns: nothing is lost, the move finishes
rm d && mv d.real d
run 0 p4reg mv a/m.bin d/m.bin && assert_contains "$OUT" "(finished an interrupted move)"
assert_same_bytes d/m.bin m.keep
assert_eq "$(ptr d/m.bin)" "m@1"
# OLD's folder becomes a link to a look-alike outside: the rename still
# takes the checked file (its folder was opened before), never the outsider's
mkdir -p "$ROOT_TMP/lookalike" && echo "not yours" >"$ROOT_TMP/lookalike/m.bin"
run 2 swapped "mv d d.real && ln -s '$ROOT_TMP/lookalike' d" mv d/m.bin e/m.bin
assert_eq "$ERR" "p4reg: 'd' is or passes through a symbolic link; p4reg follows no link in the work tree"
assert_same_bytes e/m.bin m.keep
assert_eq "$(cat "$ROOT_TMP/lookalike/m.bin")" "not yours"
assert_no_file d.real/m.bin

begin "mv: OLD a link, OLD's pointer a link, NEW's pointer a dangling link, a Git LFS path"
fresh_git_repo
random_file a.bin 4
random_file real.bin 4
p4reg add -q -n m a.bin >/dev/null && p4reg add -q -n l real.bin >/dev/null || fail "add"
mv real.bin real.keep && ln -s real.keep real.bin
base=$(snapshot)
run 2 p4reg mv real.bin r2.bin && assert_eq "$ERR" "p4reg: 'real.bin' is not a regular file; p4reg mv moves model files only"
unchanged
rm real.bin && mv real.keep real.bin
mv a.bin.p4reg ptr.keep && ln -s ptr.keep a.bin.p4reg
base=$(snapshot)
run 2 p4reg mv a.bin b.bin && assert_eq "$ERR" "p4reg: 'a.bin.p4reg' is a symbolic link; p4reg does not follow it here"
unchanged
rm a.bin.p4reg && mv ptr.keep a.bin.p4reg
ln -s "$OUTSIDE/nothing" b.bin.p4reg
base=$(snapshot)
run 2 p4reg mv a.bin b.bin && assert_eq "$ERR" "p4reg: 'b.bin.p4reg' already exists; p4reg mv does not overwrite"
unchanged
rm b.bin.p4reg
# a Git LFS path: no pointer file to move
printf '*.onnx filter=lfs diff=lfs merge=lfs -text\n' >.gitattributes
random_file e.onnx 4
p4reg add -q e.onnx >/dev/null || fail "lfs add"
base=$(snapshot)
run 2 p4reg mv e.onnx f.onnx
assert_eq "$ERR" "p4reg: 'e.onnx' is a Git LFS path (no pointer file); move it with 'git mv', then 'p4reg add -n e NEWPATH'"
unchanged
assert_eq "$(outside)" "$OUTSIDE_BEFORE" "something outside changed"

begin "mv: a pointer naming the moved model at a path another model holds is no interrupted move"
fresh_repo
random_file a.bin 4
p4reg add -q -n m a.bin >/dev/null && p4reg mv -q a.bin d.bin >/dev/null || fail "setup"
random_file a.bin 4
cp a.bin n.keep
p4reg add -q -n n a.bin >/dev/null || fail "add n"
rm d.bin && cp d.bin.p4reg a.bin.p4reg    # m's pointer planted over n's
base=$(snapshot)
run 2 p4reg mv a.bin d.bin && assert_eq "$ERR" "p4reg: 'd.bin' is bound to model 'm'"
unchanged
assert_same_bytes a.bin n.keep
assert_no_file d.bin

begin "add: a planted pointer cannot choose the model (nor hijack another's history)"
victim planted
random_file evil.bin 4
cp a/x.bin.p4reg evil.bin.p4reg
sed -i 's/^model tok/model victim/' evil.bin.p4reg
base=$(snapshot)
run 1 p4reg add evil.bin
assert_eq "$ERR" "p4reg: 'evil.bin.p4reg' names model 'victim', which this registry does not know; 'p4reg fetch' first, or choose the model with -n (-n victim joins it)"
unchanged
run 1 p4reg --json add evil.bin && assert_contains "$OUT" '{"error":{"code":"not_found",'
unchanged
# naming a model bound elsewhere: refused as before
cp a/x.bin.p4reg evil.bin.p4reg
base=$(snapshot)
run 1 p4reg add evil.bin && assert_one_line_error "names model 'tok', which is bound to 'a/x.bin'"
unchanged
# the user chooses: -n evil makes a new model and rewrites the pointer
run 0 p4reg add -n evil evil.bin && assert_contains "$OUT" "added evil.bin as evil@1"
assert_eq "$(ptr evil.bin)" "evil@1"
assert_eq "$(db "SELECT count(*) FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'tok'")" "1"
# a pointer naming the file's own name (another clone's, not yet fetched) adds to it
random_file w/ghost.bin 4
printf 'p4reg-pointer 1\nmodel ghost\nversion 7\noid sha256:%s\nsize 4096\n' "$TOK_OID" >w/ghost.bin.p4reg
run 0 p4reg add w/ghost.bin && assert_contains "$OUT" "added w/ghost.bin as ghost@1"
# hostile model names are no pointer at all: the file's name is used, the pointer rewritten
for bad in '../tok' 'a b' '-x' '.x' "$(printf 'x\033[2J')"; do
	CURRENT="pointer naming '$bad'"
	rm -f h.bin.p4reg; random_file h.bin 4
	printf 'p4reg-pointer 1\nmodel %s\nversion 1\noid sha256:%s\nsize 4096\n' "$bad" "$TOK_OID" >h.bin.p4reg
	run 0 p4reg add h.bin && assert_contains "$OUT" "as h@"
	assert_eq "$(sed -n 's/^model //p' h.bin.p4reg)" "h"
done

begin "identical bytes are only ever the same model's version"
fresh_repo
random_file a.bin 4
cp a.bin b.bin
p4reg add -q a.bin >/dev/null
run 0 p4reg --json add b.bin
assert_contains "$OUT" '"model":"b","version":1,'
assert_contains "$OUT" '"unchanged":false,"identical_to":null,"moved_from":null,'
run 0 p4reg add b.bin && assert_eq "$OUT" "unchanged b.bin (b@1)"

begin "gates: ambiguous or non-finite specs are refused, names cannot smuggle operators"
fresh_repo
random_file m.bin 4
p4reg add -q m.bin >/dev/null
p4reg -q log-metric m@1 f1=0.5 --run r1 --experiment eval >/dev/null || fail "log"
base=$(snapshot)
for spec in 'a:b:f1>=0.1' 'eval:f1>=nan' 'f1>=inf' 'f1>=-inf' 'f1>=NaN' 'f1>=0x10' 'f1>=1e999' 'f1>=0.1e' \
	'f1>==0.1' 'f1=>0.1' 'f1>=<0.1' 'f1 >= 0.1 OR 1' "f1>=0.1' OR '1'='1" 'f1;DROP>=0' 'f1>=0.1;x' \
	':f1>=0.1' 'eval:>=0.1' 'ev al:f1>=0.1' 'f1>=validation' 'f1' '>=0.1' $'f1>=0.1\nx' 'f1>=0.1 # x'; do
	CURRENT="gate '$spec'"
	run 2 p4reg promote m@1 --to validation --require "$spec" && assert_one_line_error "invalid gate"
	run 2 p4reg config --add stage.validation.require "$spec" && assert_one_line_error "invalid gate"
	unchanged
done
CURRENT="gates: values"
for v in nan inf -inf 1e999 0x10 1e-400 ''; do
	run 2 p4reg log-metric m@1 "f1=$v" --run r2
done
for r in "a'b" 'a b' $'a\nb' 'a;b' '%' ''; do
	run 2 p4reg log-metric m@1 f1=0.99 --run "$r" && assert_one_line_error "invalid run name"
	run 2 p4reg log-metric m@1 f1=0.99 --experiment "$r" && assert_one_line_error "invalid"
done
unchanged
run 3 p4reg promote m@1 --to validation --require 'eval:f1>=0.9'
assert_contains "$OUT" "m@1 f1=0.5: run r1 (experiment eval), step 0"

begin "gates: a committed policy adds conditions, never removes the user's"
fresh_git_repo
random_file m.bin 4
p4reg add -q m.bin >/dev/null
p4reg -q log-metric m@1 f1=0.5 >/dev/null || fail "log"
mkdir -p "$XDG_CONFIG_HOME/p4reg"
printf '[stage "validation"]\n\trequire = f1>=0.9\n' >"$XDG_CONFIG_HOME/p4reg/config"
for committed in '[stage "validation"]\n\trequire = f1>=0\n' '[stage "validation"]\n\trequire = f1>=0\n\trequire = f1<=1\n' \
	'[stage "validation"]\n\trequire = f1>=0\n[stage "validation"]\n\trequire = f1 >= 0.9\n'; do
	CURRENT="committed policy $committed"
	printf "$committed" >.p4reg/config
	run 3 p4reg promote m@1 --to validation
	assert_contains "$OUT" "FAIL  f1>=0.9: 0.5 >= 0.9"
	assert_eq "$(db 'SELECT stage FROM versions')" "development"
done
# an empty value is no reset of the list (as git's own keys may be): an invalid gate
printf '[stage "validation"]\n\trequire =\n' >.p4reg/config
run 2 p4reg promote m@1 --to validation && assert_one_line_error "invalid gate"
printf '[stage "validation"]\n\trequire\n' >.p4reg/config
run 2 p4reg promote m@1 --to validation
assert_eq "$(db 'SELECT stage FROM versions')" "development"
rm "$XDG_CONFIG_HOME/p4reg/config"

begin "config: --add writes policies only, never credentials or includes; --unset-all of hostile values"
fresh_repo
base=$(sha .p4reg/config)
run 2 p4reg config --add remote.origin.secretAccessKey abc && assert_one_line_error "not multi-valued"
run 2 p4reg config --add include.path /etc/passwd && assert_one_line_error "not multi-valued"
run 2 p4reg config --add includeIf.gitdir:/.path /etc/passwd && assert_one_line_error "not multi-valued"
run 2 p4reg config --add safe.directory '*' && assert_one_line_error "not multi-valued"
run 2 p4reg config --add hooks.post-rollback 'touch x' && assert_one_line_error "not multi-valued"
run 2 p4reg config --add stage.validation.require $'f1>=0.1\n[include]\npath = /etc/passwd'
run 2 p4reg config include.path /etc/passwd && assert_one_line_error "may not pull in other files"
run 2 p4reg config Include.Path /etc/passwd && assert_one_line_error "may not pull in other files"
run 2 p4reg config remote.origin.sessionToken x && assert_one_line_error "refusing to store credential"
assert_eq "$(sha .p4reg/config)" "$base" "the committed config changed"
# values written by hand with quotes, backslashes, comments, trailing spaces
cat >>.p4reg/config <<'EOF'
[stage "production"]
	require = "f1>=0.5 ; x"
	require = f1>=0.6 # comment
	require = "a\"b\\c"
	require = f1>=0.7   
[remote "origin"]
	url = /srv/models
EOF
run 0 p4reg config --get-all stage.production.require
assert_eq "$OUT" 'f1>=0.5 ; x
f1>=0.6
a"b\c
f1>=0.7'
run 0 p4reg config --unset-all stage.production.require
run 1 p4reg config --get-all stage.production.require
run 0 p4reg config remote.origin.url && assert_eq "$OUT" "/srv/models"
run 0 p4reg config core.cacheType && assert_eq "$OUT" "reflink,copy"
run 0 p4reg config --add stage.production.require 'f1>=0.5'
run 0 p4reg config --get-all stage.production.require && assert_eq "$OUT" "f1>=0.5"

begin "config: an [include] the eye does not see in the committed config is still refused (exit 3)"
fresh_repo
random_file x.bin 1
echo '[core]' >"$OUTSIDE/inc" && echo '	remote = INCLUDED' >>"$OUTSIDE/inc"
OUTSIDE_BEFORE=$(outside)
cp .p4reg/config cfg.keep
for pre in $'\xef\xbb\xbf' $'\f' $'\v' $'\r' '[core]' '[core]  ' $' \t'; do
	CURRENT="include after $(printf '%q' "$pre")"
	{ printf '%s[include]\n' "$pre"; printf '\tpath = %s/inc\n' "$OUTSIDE"; } >.p4reg/config
	run 3 p4reg config core.remote
	assert_eq "$ERR" "p4reg: '$PWD/.p4reg/config' has an [include] or [includeIf] section; the shared config may not pull in other files (they could be anything on this machine): remove it, or put the include in your own ~/.config/p4reg/config"
	run 3 p4reg add x.bin
done
for hdr in $'[\v include ]' '[INCLUDE.x]' '[includeIf "gitdir:/"]' '[ IncludeIf "onbranch:x"]'; do
	CURRENT="header $hdr"
	{ printf '%s\n' "$hdr"; printf '\tpath = %s/inc\n' "$OUTSIDE"; } >.p4reg/config
	run 3 p4reg config core.remote && assert_one_line_error "has an [include] or [includeIf] section"
done
CURRENT="not an include"
printf '[includes]\n\tx = 1\n[core]\n\tremote = fine\n[remote "r"]\n\turl = http://[::1]:9000\n' >.p4reg/config
run 0 p4reg config core.remote && assert_eq "$OUT" "fine"
cp cfg.keep .p4reg/config
assert_eq "$(outside)" "$OUTSIDE_BEFORE" "something outside changed"

begin "output: hostile path bytes are escaped in mv, add, history and a refused fetch; JSON stays valid"
victim output
hostile=$'bidi\xe2\x80\xaeniboj\xc2\x9b.bin'
escaped='bidi\xe2\x80\xaeniboj\xc2\x9b.bin'
run 0 p4reg mv a/x.bin "$hostile"
assert_eq "$OUT" "model 'tok' moved from a/x.bin to $escaped"
run 0 p4reg --json mv "$hostile" a/x.bin
assert_eq "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(ascii(json.load(sys.stdin)["from"]))')" "'bidi\\u202eniboj\\x9b.bin'"
cp a/x.bin "$hostile"
run 0 p4reg add -n tok "$hostile"
assert_eq "$OUT" "model 'tok' moved from a/x.bin to $escaped
unchanged $escaped (tok@1)"
run 0 p4reg --json add -n tok a/x.bin
assert_contains "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(ascii(json.load(sys.stdin)["added"][0]["moved_from"]))')" "'bidi\\u202eniboj\\x9b.bin'"
run 0 p4reg history tok
assert_contains "$OUT" "a/x.bin -> $escaped"
assert_not_contains "$OUT" $'\xe2\x80\xae'
# a remote's move onto a hostile path another local model holds: one escaped line
random_file "x$hostile" 4
p4reg add -q -n held "x$hostile" >/dev/null || fail "add held"
forge 2 "$R" "$(move_ev tok a/x.bin "x$hostile")"
run 1 p4reg fetch
assert_eq "$ERR" "p4reg: remote log batch 2 moves model 'tok' to 'x$escaped', which local model 'held' is bound to; if the remote cannot be repaired, skip this batch with 'p4reg fetch -r origin --skip-batch 2' (the skip is recorded)"
run 1 p4reg --json fetch
assert_eq "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["error"]["code"])')" "exists"

assert_eq "$(outside)" "$OUTSIDE_BEFORE" "something outside changed"
finish
