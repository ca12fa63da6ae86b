#!/usr/bin/env bash
# Starting in milliseconds (issue 18): libgit2 and libcurl are loaded with
# dlopen only by the commands that need them, a missing one is a one-line
# error naming its package; the trust check answers from the local cache
# while git's index is unchanged (and never once it changed); the
# racily-clean window is the file system's timestamp tick, and a file
# changed within it after add is still found modified.
. "$(dirname "$0")/lib.sh"

# The libraries p4reg must not start with: libgit2, libcurl and theirs.
HEAVY='libgit2|libcurl|libmbed|libssh2|libnghttp2|libgssapi|libldap|librtmp|libhttp_parser'
NOGIT_ERR="cannot load libgit2 ('libp4reg-test-missing.so.0'), which this command needs: install the package 'libgit2"
# loaded NAME CMD...: how often the dynamic loader opened a library matching NAME
loaded() {
	local name=$1
	shift
	LD_DEBUG=libs "$@" 2>&1 >/dev/null | grep 'calling init:' | grep -cE "$name"
}
# settle: a moment longer than any timestamp tick here, so that what was
# just written is not racily clean
settle() { sleep 0.1; }

begin "the binary needs neither libgit2 nor libcurl (nor their dependencies)"
if command -v readelf >/dev/null; then
	needed=$(readelf -d "$P4REG_BIN" | grep NEEDED)
	assert_contains "$needed" "libsqlite3"
	assert_not_contains "$needed" "libgit2"
	assert_not_contains "$needed" "libcurl"
fi
run 0 ldd "$P4REG_BIN"
if printf '%s\n' "$OUT" | grep -Eq "$HEAVY"; then fail "ldd lists $(printf '%s\n' "$OUT" | grep -E "$HEAVY" | tr -d '\t' | tr '\n' ' ')"; fi

begin "--version and help start without them, whatever the library path"
mkdir -p "$ROOT_TMP/empty"
LD_LIBRARY_PATH=$ROOT_TMP/empty run 0 p4reg --version && assert_eq "$OUT" "p4reg $(p4reg --version | cut -d' ' -f2)"
P4REG_TEST_DL_MISSING=3 run 0 p4reg --version
P4REG_TEST_DL_MISSING=3 run 0 p4reg help
assert_eq "$(loaded "$HEAVY" p4reg --version)" 0

begin "list, log, show and status need no libgit2 outside git"
fresh_repo
random_file m.bin 64
run 0 p4reg add m.bin
for cmd in list "log m" "show m" status; do
	# shellcheck disable=SC2086 # CMD is words
	P4REG_TEST_DL_MISSING=3 run 0 p4reg $cmd
done
assert_contains "$OUT" "clean"

begin "in git, a warm trust cache answers list, show and status without libgit2"
fresh_git_repo
random_file m.bin 64
run 0 p4reg add m.bin
settle
run 0 p4reg status   # reads git's index once, keeps the answer
settle
for cmd in list "show m" status; do
	# shellcheck disable=SC2086
	P4REG_TEST_DL_MISSING=1 run 0 p4reg $cmd
	# shellcheck disable=SC2086
	assert_eq "$(loaded "$HEAVY" p4reg $cmd)" 0 "libraries of libgit2 loaded by $cmd"
done
assert_eq "$OUT" "clean          m.bin (m@1)"
# add stages in git: it loads libgit2 (and its dependencies)
[ "$(loaded libgit2 p4reg add m.bin)" -ge 1 ] || fail "add did not load libgit2"

begin "a command that needs libgit2 without it: one line naming the package, exit 1, nothing changed"
fresh_git_repo
random_file m.bin 64
before=$(snapshot)
P4REG_TEST_DL_MISSING=1 run 1 p4reg add m.bin && assert_one_line_error "$NOGIT_ERR"
P4REG_TEST_DL_MISSING=1 run 1 p4reg config --list && assert_one_line_error "$NOGIT_ERR"
P4REG_TEST_DL_MISSING=256 run 1 p4reg add m.bin &&
	assert_one_line_error "has no function 'p4reg_test_missing_function' (too old?): install the package 'libgit2"
assert_eq "$(snapshot)" "$before" "files or registry changed"
run 0 p4reg add m.bin

begin "a command that needs libcurl without it: one line naming the package, exit 1"
mkdir -p "$ROOT_TMP/box" && cd "$ROOT_TMP/box" || exit 1
export AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y
s3get() { p4reg get --no-cache --endpoint http://127.0.0.1:9 --path-style s3://models/team m@1 -o m.bin; }
P4REG_TEST_DL_MISSING=2 run 1 s3get &&
	assert_one_line_error "cannot load libcurl ('libp4reg-test-missing.so.0'), which this command needs: install the package 'libcurl"
# with libcurl, the same command gets as far as the network
run 1 s3get && assert_not_contains "$ERR" "cannot load"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
assert_no_file m.bin

begin "the trust cache: git add of private state is refused at once, even after a clean answer"
fresh_git_repo
settle
run 0 p4reg status
settle
P4REG_TEST_DL_MISSING=1 run 0 p4reg status   # the answer is kept
echo "[core]" >.p4reg/config.local
git add -f .p4reg/config.local
run 3 p4reg status && assert_one_line_error "git tracks '.p4reg/config.local'"
# the index changed: the kept answer is not used (libgit2 is asked, here missing)
P4REG_TEST_DL_MISSING=1 run 1 p4reg status && assert_one_line_error "$NOGIT_ERR"
settle
run 3 p4reg list   # a refusal is never kept
git rm -q --cached .p4reg/config.local
settle
run 0 p4reg status

begin "the trust cache: an index replaced with the same size and mtime is read again"
fresh_git_repo
blob=$(git hash-object -w /dev/null)
rm .git/index && git update-index --add --cacheinfo "100644,$blob,.p4req/config.local"
settle
run 0 p4reg status
settle
mtime=$(stat -c %y .git/index) size=$(stat -c %s .git/index)
rm .git/index && git update-index --add --cacheinfo "100644,$blob,.p4reg/config.local"
touch -d "$mtime" .git/index
assert_eq "$(stat -c '%s %y' .git/index)" "$size $mtime" "index size and mtime"
run 3 p4reg status && assert_one_line_error "git tracks '.p4reg/config.local'"

begin "the trust cache: another repository at the same path is not the one it knew"
fresh_git_repo
settle
run 0 p4reg status
here=$PWD
mv "$here" "$here.old" && mkdir "$here" && cd "$here" || exit 1
git init -q . && p4reg init >/dev/null
echo "[core]" >.p4reg/config.local && git add -f .p4reg/config.local
settle
P4REG_TEST_DL_MISSING=1 run 1 p4reg status && assert_one_line_error "$NOGIT_ERR"
run 3 p4reg status && assert_one_line_error "git tracks '.p4reg/config.local'"

begin "the trust cache lives in the user's cache folder, 0600, named by the repository"
fresh_git_repo
settle
run 0 p4reg status
f=$(grep -l "\"root\":\"$PWD\"" "$HOME"/.cache/p4reg/repos/*.json)
assert_eq "$(stat -c %a "$HOME/.cache/p4reg/repos")" "700"
assert_eq "$(stat -c %a "$f")" "600"
assert_contains "$(cat "$f")" '"trust":{"top":"'"$PWD"'"'
P4REG_TEST_DL_MISSING=1 run 0 p4reg status
# one that others may write is not read: its answer is not used, and the
# file is written anew
chmod 0666 "$f"
P4REG_TEST_DL_MISSING=1 run 1 p4reg status && assert_one_line_error "$NOGIT_ERR"
assert_not_contains "$(cat "$f")" '"trust"'
assert_eq "$(stat -c %a "$f")" "600"

# wait_tick_start NS: sleeps until a tick of NS nanoseconds has just begun
wait_tick_start() {
	python3 -c 'import time, sys
g = int(sys.argv[1]); t = time.time_ns()
time.sleep(((g - t % g) % g) / 1e9 + 0.02)' "$1"
}

begin "a file rewritten within the same timestamp tick after add, same size, is still modified"
# a file system with two-second timestamps (P4REG_TEST_TS_COARSE_NS): the
# rewrite keeps size, mtime and ctime; only the racy rule catches it
export P4REG_TEST_TS_COARSE_NS=2000000000
fresh_repo
wait_tick_start 2000000000
random_file m.bin 64
run 0 p4reg add m.bin
flip_byte m.bin 7
run 0 p4reg status
assert_eq "$OUT" "modified       m.bin (m@1)"
assert_eq "$(db "SELECT count(*) FROM stat_cache")" "0" "rows of racily clean files"
# the hazard is real: a window that ignores the coarse timestamps trusts
# the row add wrote, and the rewrite goes unseen
fresh_repo
wait_tick_start 2000000000
random_file m.bin 64
P4REG_TEST_TS_WINDOW_NS=1 run 0 p4reg add m.bin
flip_byte m.bin 7
P4REG_TEST_TS_WINDOW_NS=1 run 0 p4reg status
assert_eq "$OUT" "clean          m.bin (m@1)"
unset P4REG_TEST_TS_COARSE_NS

begin "a file written before add is cached by add itself: the first status hashes nothing"
fresh_repo
random_file m.bin 64
settle
run 0 p4reg add m.bin
assert_eq "$(db "SELECT count(*) FROM stat_cache WHERE path = 'm.bin'")" "1"
# one written right before add may be racily clean: status caches it
random_file n.bin 64
run 0 p4reg add n.bin
settle
run 0 p4reg status
assert_eq "$(db "SELECT count(*) FROM stat_cache")" "2"
f=$(grep -l "\"root\":\"$PWD\"" "$HOME"/.cache/p4reg/repos/*.json)
assert_contains "$(cat "$f")" '"timestamps":{"dev":'

begin "libgit2 starts without parsing the CA bundle; an unchanged add writes nothing in .git"
fresh_git_repo
random_file m.bin 64
run 0 p4reg add m.bin
git add -A && git commit -qm one
settle
run 0 p4reg add m.bin   # the first add after the commit may refresh git's stat data
settle
# p4reg exports the two functions libgit2 would parse the bundle with
# (src/core/git/libgit2_dl.c): the dynamic loader binds libgit2 to them
if LD_DEBUG=bindings "$P4REG_BIN" add m.bin 2>&1 >/dev/null | grep -q 'libgit2.*mbedtls'; then
	assert_contains "$(LD_DEBUG=bindings "$P4REG_BIN" add m.bin 2>&1 >/dev/null | grep 'libgit2.*mbedtls_x509_crt_parse_file')" "$P4REG_BIN"
fi
if command -v strace >/dev/null; then
	index_before=$(stat -c '%i %Y.%y' .git/index)
	ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=openat,open -o "$ROOT_TMP/trace" "$P4REG_BIN" add m.bin >/dev/null ||
		fail "add under strace"
	assert_eq "$(grep -c 'ca-certificates\|/etc/ssl' "$ROOT_TMP/trace")" "0" "the CA bundle was opened"
	assert_eq "$(grep -c 'tmp_object\|index.lock' "$ROOT_TMP/trace")" "0" "an unchanged add wrote in .git"
	assert_eq "$(stat -c '%i %Y.%y' .git/index)" "$index_before" "an unchanged add rewrote git's index"
fi
# a new version: its pointer (same size, new bytes) is staged
settle
random_file m.bin 64
run 0 p4reg add m.bin
assert_eq "$(git diff --cached --name-only)" "m.bin.p4reg"
assert_eq "$(git show :m.bin.p4reg)" "$(cat m.bin.p4reg)"

finish
