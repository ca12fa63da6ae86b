# Shared helpers for the end-to-end tests: each t_*.sh sources this, runs the
# real p4reg binary ($P4REG_BIN) in fresh temporary folders and asserts exact
# exit codes, output and files. A test file exits non-zero on any failure.
set -u

: "${P4REG_BIN:?P4REG_BIN must name the p4reg binary}"
P4REG_SRC=${P4REG_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export P4REG_AUTHOR="Test Runner <test@example.com>"
export HOME=${TEST_HOME:-$(mktemp -d)}
export XDG_CONFIG_HOME="$HOME/.config"
export GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
unset P4REG_DIR NO_COLOR
# the user's AWS environment must not reach a test (remote/aws_config.c)
unset AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_CONFIG_FILE \
	AWS_SHARED_CREDENTIALS_FILE AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
export LSAN_OPTIONS="suppressions=$P4REG_SRC/tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

TEST_NAME=$(basename "$0" .sh)
TESTS_RUN=0
TESTS_FAILED=0
ROOT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/p4reg-cli-XXXXXX")
trap 'chmod -R u+w "$ROOT_TMP" 2>/dev/null; rm -rf "$ROOT_TMP" "$HOME"' EXIT

p4reg() { "$P4REG_BIN" "$@"; }

# fresh_repo: a new empty folder with `p4reg init` run in it; cd into it.
fresh_repo() {
	local d
	d=$(mktemp -d "$ROOT_TMP/repo-XXXXXX")
	cd "$d" || exit 1
	p4reg init >/dev/null || fail "init failed in $d"
}

# fresh_git_repo [--unborn]: same, inside a new git work tree, with the
# .p4reg files init staged committed (as a user would), unless --unborn.
fresh_git_repo() {
	local d
	d=$(mktemp -d "$ROOT_TMP/git-XXXXXX")
	cd "$d" || exit 1
	git init -q . && git config user.name t && git config user.email t@example.com
	p4reg init >/dev/null || fail "init failed in $d"
	[ "${1:-}" = "--unborn" ] || git commit -qm "p4reg init" || fail "commit of init failed in $d"
}

LAST_FAILED=""
fail() {
	echo "FAIL [$TEST_NAME:${CURRENT:-?}] $*" >&2
	if [ "${CURRENT:-?}" != "$LAST_FAILED" ]; then
		TESTS_FAILED=$((TESTS_FAILED + 1))
		LAST_FAILED=${CURRENT:-?}
	fi
}

# run CODE CMD...: runs CMD, captures $OUT and $ERR, checks the exit code.
run() {
	local want=$1
	shift
	"$@" >"$ROOT_TMP/out" 2>"$ROOT_TMP/err"
	CODE=$?
	OUT=$(cat "$ROOT_TMP/out")
	ERR=$(cat "$ROOT_TMP/err")
	if [ "$CODE" != "$want" ]; then
		fail "'$*' exited $CODE, expected $want; stdout: $OUT; stderr: $ERR"
		return 1
	fi
	return 0
}

assert_eq() { [ "$1" = "$2" ] || fail "${3:-values differ}: got '$1', expected '$2'"; }
assert_contains() { case "$1" in *"$2"*) ;; *) fail "${3:-missing text}: '$2' not in '$1'" ;; esac; }
assert_not_contains() { case "$1" in *"$2"*) fail "${3:-unexpected text}: '$2' in '$1'" ;; *) ;; esac; }
assert_file() { [ -f "$1" ] || fail "file '$1' does not exist"; }
assert_no_file() { [ ! -e "$1" ] || fail "'$1' exists but should not"; }
assert_same_bytes() { cmp -s "$1" "$2" || fail "'$1' and '$2' differ"; }
# assert_one_line_error TEXT: the error is one line on stderr, starting
# "p4reg: " (exactly one such line besides "p4reg: warning: " lines; a hint
# of its own may follow), and stderr contains TEXT.
assert_one_line_error() {
	local n
	n=$(printf '%s\n' "$ERR" | grep '^p4reg: ' | grep -vc '^p4reg: warning: ')
	[ "$n" -eq 1 ] || fail "expected one 'p4reg: ' error line, got $n: '$ERR'"
	assert_contains "$ERR" "$1" "error message"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
# db QUERY: runs a read-only query on the registry.
db() { sqlite3 -readonly .p4reg/registry.db "$1"; }
# snapshot: a fingerprint of the registry's models, versions and events and
# of every file below the current folder (.p4reg included; not .git, nor
# .p4reg/tmp, nor registry.db's own bytes, which SQLite may rewrite without
# a change of rows), to prove nothing changed.
snapshot() {
	{
		sqlite3 -readonly .p4reg/registry.db 'SELECT * FROM versions; SELECT * FROM models; SELECT * FROM events;' 2>/dev/null
		# NUL-separated: a name with a blank or a newline is one file
		find . -path ./.git -prune -o -path ./.p4reg/tmp -prune -o -type f ! -name 'registry.db*' -print0 2>/dev/null |
			sort -z | xargs -0 -r sha256sum
	} | sha256sum | cut -d' ' -f1
}
# random_file PATH KIB: KIB KiB of fresh random bytes (/dev/urandom), so two
# calls for the same PATH give different content (a new version each).
random_file() {
	mkdir -p "$(dirname "$1")"
	head -c "$(( $2 * 1024 ))" /dev/urandom >"$1"
}

# flip_byte FILE OFFSET: inverts the byte at OFFSET in place (no truncation).
# Writing a fixed character instead would leave a random file unchanged
# once in 256 runs, when the byte already was that character.
flip_byte() {
	python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xff]))' "$1" "$2"
}

# bin_without_git_lfs: prints a folder holding every tool of the system but
# git-lfs, and this p4reg (made once per test file), for a PATH on which git
# runs p4reg as its Git LFS filter.
bin_without_git_lfs() {
	local bin=$ROOT_TMP/nolfs-bin d f n
	if [ ! -d "$bin" ]; then
		mkdir -p "$bin"
		for d in /usr/local/bin /usr/bin /bin; do
			for f in "$d"/*; do
				n=${f##*/}
				[ "$n" = git-lfs ] || [ -e "$bin/$n" ] || ln -s "$f" "$bin/$n"
			done
		done
		ln -sf "$P4REG_BIN" "$bin/p4reg"
	fi
	echo "$bin"
}

# begin NAME: starts a named case.
begin() { CURRENT=$1; TESTS_RUN=$((TESTS_RUN + 1)); }

finish() {
	echo "$TEST_NAME: $((TESTS_RUN - TESTS_FAILED)) passed, $TESTS_FAILED failed"
	[ "$TESTS_FAILED" -eq 0 ]
}
