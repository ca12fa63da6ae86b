#!/usr/bin/env bash
# Crash safety: SIGKILL p4reg before the Nth write, fsync or rename (an
# LD_PRELOAD shim, tests/fault/faultshim.c) during add, promote, rollback and
# log-metric, and at random moments. After every kill: fsck is clean, the
# registry holds exactly the old or the new state, no partial object sits
# under a final name (fsck re-hashes every object), and running the command
# again (or, when it had committed, finishing its work-tree step) succeeds.
#
# Every fsync and rename point is visited; writes every P4REG_CRASH_STRIDE-th
# (default 8; 1 visits all). P4REG_CRASH_RANDOM sets the random-kill rounds.
. "$(dirname "$0")/lib.sh"
. "$P4REG_SRC/tests/fault/lib.sh"

STRIDE=${P4REG_CRASH_STRIDE:-8}
RANDOM_ROUNDS=${P4REG_CRASH_RANDOM:-4}

# scenario NAME SETUP FINISH CMD...: SETUP builds the "before" repository in
# the current folder; FINISH (a function name or ":") completes the work-tree
# side after a kill that came after the commit. AFTER_KILL (a function name,
# when set) checks the work tree right after each kill, AFTER_CHECK after
# the rerun or FINISH.
scenario() {
	local name=$1 setup=$2 finish=$3
	shift 3
	local tpl="$ROOT_TMP/tpl-$name" ref="$ROOT_TMP/ref-$name" old new op n st got killed=0
	mkdir -p "$tpl" && cd "$tpl" && p4reg init >/dev/null && "$setup" || { fail "setup of $name"; return; }
	old=$(state)
	rm -rf "$ref" && cp -a "$tpl" "$ref" && cd "$ref"
	count_points "$@"
	new=$(state)
	[ "$old" != "$new" ] || fail "$name: the command changed nothing"
	for op in fsync rename write; do
		local total_var="POINTS_$op" stride=1
		[ "$op" = write ] && stride=$STRIDE
		for n in $(points "${!total_var}" "$stride"); do
			CURRENT="$name kill:$op:$n"
			rm -rf "$ROOT_TMP/w" && cp -a "$tpl" "$ROOT_TMP/w" && cd "$ROOT_TMP/w"
			faulty "kill:$op:$n" "$@" >/dev/null 2>&1
			st=$?
			[ "$st" = 137 ] && killed=$((killed + 1))
			[ "$st" = 137 ] || [ "$st" = 0 ] || fail "exit $st, expected a kill (137) or success"
			"${AFTER_KILL:-:}"
			check_after_kill "$old" "$new" "$finish" "$@"
			"${AFTER_CHECK:-:}"
		done
	done
	CURRENT=$name
	[ "$killed" -gt 0 ] || fail "$name: no kill point was reached"
	echo "$name: $killed kills ($POINTS_write writes, $POINTS_fsync fsyncs, $POINTS_rename renames)"
}

# check_after_kill OLD NEW FINISH CMD...
check_after_kill() {
	local old=$1 new=$2 finish=$3 got
	shift 3
	run 0 p4reg fsck || return
	got=$(state)
	if [ "$got" = "$old" ]; then
		run 0 p4reg "$@" || return
		assert_eq "$(state)" "$new" "rerun after the kill did not reach the new state"
	elif [ "$got" = "$new" ]; then
		"$finish" "$@"
	else
		fail "registry is neither the old nor the new state"
	fi
}

# ---- the scenarios ----

setup_add_new() { random_file big.bin 6144; }        # > 4 MiB: the threaded copy
finish_add() { run 0 p4reg "$@"; }
setup_add_v2() { random_file m.bin 64 && p4reg add -q m.bin && random_file m.bin 80; }
setup_promote() {
	random_file m.bin 32 && p4reg add -q m.bin && random_file m.bin 33 && p4reg add -q m.bin &&
	p4reg promote -q m@1 --to production --force && p4reg promote -q m@2 --to staging --force
}
setup_rollback() {
	random_file m.bin 32 && p4reg add -q m.bin && random_file m.bin 33 && p4reg add -q m.bin &&
	p4reg promote -q m@1 --to production --force && p4reg promote -q m@2 --to production --force
}
# committed before the kill: the work tree must be brought to production
finish_rollback() {
	run 0 p4reg checkout m@production || return
	assert_eq "$(sha m.bin)" "$(db "SELECT oid FROM versions WHERE stage='production'")" "work tree after rollback"
}
setup_metric() { random_file m.bin 16 && p4reg add -q m.bin; }
# pull in copy mode (issue 18): one read of the download writes the store's
# object and the work file, each through a temporary file of its own
PULL_REMOTE=$ROOT_TMP/pull-remote
PULL_SRC=$ROOT_TMP/pull-src
setup_pull() {
	p4reg remote add origin "$PULL_REMOTE" >/dev/null 2>&1 && p4reg config --local core.cacheType copy &&
	random_file other.bin 4 && printf 'mine\n' >notes.txt
}
finish_pull() { run 0 p4reg "$@"; }
# the work file is absent (before) or whole, never a part; nothing else moved
pull_whole() {
	[ ! -e m.bin ] || assert_eq "$(sha m.bin)" "$PULL_SHA" "m.bin after a kill is neither absent nor whole"
	assert_eq "$(cat notes.txt)" "mine" "a file the pull does not own changed"
}
pull_done() { assert_eq "$(sha m.bin)" "$PULL_SHA" "m.bin once the pull is finished"; }

begin "crash during add of a new model"
scenario add-new setup_add_new finish_add add -q big.bin
begin "crash during add of a second version"
scenario add-v2 setup_add_v2 finish_add add -q m.bin
begin "crash during promote"
scenario promote setup_promote : promote -q m@2 --to production
begin "crash during rollback"
scenario rollback setup_rollback finish_rollback rollback -q m
begin "crash during log-metric"
scenario log-metric setup_metric : log-metric -q m@1 f1=0.91 loss=0.2 --step 3
begin "crash during pull (copy: object and work file from one read)"
mkdir -p "$PULL_SRC" && cd "$PULL_SRC" && p4reg init >/dev/null &&
	p4reg remote add origin "$PULL_REMOTE" >/dev/null 2>&1 && random_file m.bin 6144 &&
	p4reg add -q m.bin && p4reg push -q || fail "setup of the pulled remote"
PULL_SHA=$(sha "$PULL_SRC/m.bin")
AFTER_KILL=pull_whole AFTER_CHECK=pull_done scenario pull setup_pull finish_pull pull -q m@1

begin "kills at random moments during add"
tpl="$ROOT_TMP/tpl-random"
mkdir -p "$tpl" && cd "$tpl" && p4reg init >/dev/null && random_file m.bin 64 && p4reg add -q m.bin &&
	random_file m.bin 24576
old=$(state)
rm -rf "$ROOT_TMP/ref" && cp -a "$tpl" "$ROOT_TMP/ref" && cd "$ROOT_TMP/ref" && p4reg add -q m.bin
new=$(state)
for ((round = 1; round <= RANDOM_ROUNDS; round++)); do
	CURRENT="random kill $round"
	rm -rf "$ROOT_TMP/w" && cp -a "$tpl" "$ROOT_TMP/w" && cd "$ROOT_TMP/w"
	"$P4REG_BIN" add -q m.bin >/dev/null 2>&1 &
	pid=$!
	sleep "0.$(printf '%03d' $(( RANDOM % 400 )))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	check_after_kill "$old" "$new" finish_add add -q m.bin
done

begin "power loss inside a batch add of a folder: torn objects are notes, the rerun stores them"
# a kill at a rename with nothing committed came before the batch's syncfs:
# every object without a fingerprint (written only after that sync) loses
# its bytes, as a power loss would leave them (empty)
tpl="$ROOT_TMP/tpl-batch"
mkdir -p "$tpl/d" && cd "$tpl" && p4reg init >/dev/null || fail "setup of the batch"
for i in $(seq 1 130); do head -c $((100 + i * 37)) /dev/urandom >"d/f$i"; done
cp -a d "$ROOT_TMP/batch-orig"
rm -rf "$ROOT_TMP/ref" && cp -a "$tpl" "$ROOT_TMP/ref" && cd "$ROOT_TMP/ref" && count_points add -q d
torn=0
for n in $(points "$POINTS_rename" 4); do
	CURRENT="batch kill:rename:$n"
	rm -rf "$ROOT_TMP/w" && cp -a "$tpl" "$ROOT_TMP/w" && cd "$ROOT_TMP/w"
	faulty "kill:rename:$n" add -q d >/dev/null 2>&1
	[ "$(db "SELECT count(*) FROM versions")" = 0 ] || continue
	torn=$((torn + 1))
	find .p4reg/objects -type f | while read -r f; do
		[ -n "$(db "SELECT 1 FROM object_stat WHERE oid = '$(basename "$f")'")" ] || : >"$f"
	done
	run 0 p4reg fsck || continue
	run 0 p4reg add -q d && run 0 p4reg fsck || continue
	rm -rf d && run 0 p4reg checkout -q d && diff -r d "$ROOT_TMP/batch-orig" >/dev/null ||
		fail "the folder checked out after the rerun differs"
done
CURRENT="power loss inside a batch"
[ "$torn" -gt 2 ] || fail "only $torn kills came before the batch's sync"

finish
