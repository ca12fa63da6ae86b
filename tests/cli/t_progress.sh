#!/usr/bin/env bash
# End-to-end: the progress line of long work (src/cmd/progress.c). On a
# terminal (a pseudo-terminal made by script(1)) add, push, fetch, pull,
# get, fsck and gc draw one line with sizes, counts, a rate and an ETA,
# as wide as the terminal at most; piped, with --json or with -q, stderr
# holds no progress byte at all (no carriage return, no escape).
. "$(dirname "$0")/lib.sh"

command -v script >/dev/null || { echo "t_progress: script(1) is missing"; exit 77; }

# on_tty CODE CMD...: CMD on a pseudo-terminal, stdout and stderr both
# into $TTY, checking its exit code.
on_tty() {
	local want=$1 cmd
	shift
	cmd=$(printf '%q ' "$@")
	script -qec "$cmd" /dev/null >"$ROOT_TMP/tty" 2>&1 </dev/null
	CODE=$?
	# kept whole: the terminal's last \r\n too
	TTY=$(cat "$ROOT_TMP/tty"; printf x)
	TTY=${TTY%x}
	[ "$CODE" = "$want" ] || fail "'$*' on a terminal exited $CODE, expected $want: $TTY"
}
# lines: $TTY cut at every carriage return (the terminal's \r\n as well).
lines() { printf '%s' "$TTY" | tr '\r' '\n'; }
# no_progress TEXT WHAT: TEXT holds no progress byte: a terminal's line
# ends (\r\n) aside, no carriage return and no escape.
no_progress() {
	local s=${1//$'\r\n'/}
	case "$s" in *$'\r'* | *$'\033'*) fail "$2: progress bytes in '$1'" ;; esac
}
# has_line PATTERN: a line of $TTY matches the extended regex PATTERN whole.
has_line() { lines | grep -Eq "^$1 *\$" || fail "no line '$1' in: $(lines)"; }

P=$P4REG_BIN
export COLUMNS=200
fresh_git_repo
mkdir -p models/tok remote
for i in $(seq 1 40); do printf 'token %d\n' "$i" >"models/tok/t$i.txt"; done
random_file models/tok/blob.bin 2048

begin "add of a folder: files and bytes on one line"
on_tty 0 "$P" add models/tok
has_line 'add  41/41 files  2\.0 MiB/2\.0 MiB  100%.*'
assert_contains "$TTY" "added models/tok/ as tok@1"
# the line is wiped (blanks over it) before the result is printed
wiped="100%"$'\r'" +"$'\r'"added models/tok/"
[[ $TTY =~ $wiped ]] || fail "the line is not wiped before the result: $(lines)"

begin "add piped, --json, -q: no progress byte"
printf 'token 41\n' >models/tok/t41.txt
run 0 p4reg add -m two models/tok
assert_eq "$ERR" "" "stderr of a piped add"
printf 'token 42\n' >models/tok/t42.txt
on_tty 0 "$P" --json add -m three models/tok
no_progress "$TTY" "add --json on a terminal"
assert_contains "$TTY" '"model":"tok"'
printf 'token 43\n' >models/tok/t43.txt
on_tty 0 "$P" -q add -m four models/tok
no_progress "$TTY" "add -q on a terminal"

begin "push to a folder remote: bytes, rate, ETA"
mkdir -p models/big
random_file models/big.bin 65536
run 0 p4reg add models/big.bin
run 0 p4reg remote add origin "$PWD/remote"
# 200 ms per file and per 4 MiB block: a report per 16 MiB of big.bin,
# the rate once a second has passed
on_tty 0 env P4REG_TEST_TRANSFER_DELAY_MS=200 "$P" push
has_line 'push  [0-9]+\.[0-9] MiB / 6[0-9]\.[0-9] MiB  [0-9]+%  [0-9]+\.[0-9] MiB/s  ETA 0:0[0-9]'
has_line 'push  6[0-9]\.[0-9] MiB / 6[0-9]\.[0-9] MiB  100%  [0-9]+\.[0-9] MiB/s'
assert_contains "$TTY" "pushed to 'origin': "

begin "push, fetch, pull piped and with --json: no progress byte"
other=$ROOT_TMP/other
mkdir -p "$other" && cd "$other" && git init -q && p4reg init >/dev/null
run 0 p4reg remote add origin "$OLDPWD/remote"
run 0 env P4REG_TEST_TRANSFER_DELAY_MS=20 "$P" fetch --objects
assert_eq "$ERR" "" "stderr of a piped fetch"
assert_contains "$OUT" "5 events in 1 batch, 49 objects (66.0 MiB)"
rm -rf .p4reg/objects/*
run 0 env P4REG_TEST_TRANSFER_DELAY_MS=20 "$P" --json fetch --objects
assert_eq "$ERR" "" "stderr of fetch --json"
on_tty 0 env P4REG_TEST_TRANSFER_DELAY_MS=20 "$P" --json fetch --objects
no_progress "$TTY" "fetch --json on a terminal"
rm -rf .p4reg/objects/*
on_tty 0 env P4REG_TEST_TRANSFER_DELAY_MS=20 "$P" -q fetch --objects
no_progress "$TTY" "fetch -q on a terminal"
rm -rf .p4reg/objects/*
run 0 env P4REG_TEST_TRANSFER_DELAY_MS=20 "$P" pull tok@1 big@1
no_progress "$ERR" "a piped pull"
assert_eq "$ERR" "" "stderr of a piped pull"
cd "$OLDPWD" || exit 1
run 0 env P4REG_TEST_TRANSFER_DELAY_MS=20 "$P" push
assert_eq "$ERR" "" "stderr of a piped push"

begin "fetch --objects and pull on a terminal: bytes, rate, ETA"
# (a chunked download reads 16 MiB runs of packs in parallel: slowed more than a
# whole object, so that it lasts the seconds a rate and an ETA need)
cd "$other" || exit 1
rm -rf .p4reg/objects/* models
on_tty 0 env P4REG_TEST_TRANSFER_DELAY_MS=800 "$P" fetch --objects
has_line 'fetch  [0-9]+\.[0-9] MiB / 6[0-9]\.[0-9] MiB  [0-9]+%  [0-9]+\.[0-9] MiB/s  ETA 0:0[0-9]'
assert_contains "$TTY" "fetched from 'origin': "
rm -rf .p4reg/objects/*
on_tty 0 env P4REG_TEST_TRANSFER_DELAY_MS=800 "$P" pull big@1
has_line '[a-z]+  [0-9]+\.[0-9] MiB / 6[0-9]\.[0-9] MiB  [0-9]+%  [0-9]+\.[0-9] MiB/s  ETA 0:0[0-9]'
assert_same_bytes models/big.bin "$OLDPWD/models/big.bin"
cd "$OLDPWD" || exit 1

begin "get of a file and of a folder: bytes, and files of a folder"
on_tty 0 env P4REG_TEST_TRANSFER_DELAY_MS=800 "$P" get --no-cache "$PWD/remote" big@1 -o "$ROOT_TMP/big.bin"
has_line 'get  [0-9]+\.[0-9] MiB / 6[0-9]\.[0-9] MiB  [0-9]+%  [0-9]+\.[0-9] MiB/s  ETA 0:0[0-9]'
assert_same_bytes "$ROOT_TMP/big.bin" models/big.bin
on_tty 0 "$P" get --no-cache "$PWD/remote" tok@1 -o "$ROOT_TMP/tok"
has_line 'get  41/41 files  2\.0 MiB/2\.0 MiB  100%.*'
run 0 p4reg get --no-cache "$PWD/remote" tok@1 -o "$ROOT_TMP/tok2"
assert_eq "$ERR" "" "stderr of a piped get"

begin "fsck: objects and bytes hashed"
n=$(find .p4reg/objects -type f | wc -l)
on_tty 0 "$P" fsck
has_line "fsck  $n/$n objects  6[0-9]\.[0-9] MiB/6[0-9]\.[0-9] MiB  100%.*"
assert_contains "$TTY" "ok: $n objects"
run 0 p4reg fsck
assert_eq "$ERR" "" "stderr of a piped fsck"
on_tty 0 "$P" --json fsck
no_progress "$TTY" "fsck --json on a terminal"

begin "the line fits the terminal: COLUMNS=30"
on_tty 0 env COLUMNS=30 "$P" fsck
lines | grep -q '^fsck  ' || fail "no fsck line: $(lines)"
long=$(lines | grep -E '^(fsck  | +$)' | awk 'length($0) > 29')
assert_eq "$long" "" "progress lines wider than 29 columns"
has_line "fsck  $n/$n objects  6[0-9]\\.[0-9].*"

begin "gc: objects examined and deleted, here and on the remote"
run 0 p4reg rm -m old tok@1
run 0 p4reg rm -m old tok@2
run 0 p4reg rm -m old tok@3
run 0 p4reg push
on_tty 0 "$P" gc --grace 0
has_line 'gc examining  1 objects'
has_line 'gc deleting  [0-9]+/[0-9]+ objects  100%.*'
assert_contains "$TTY" "removed "
run 0 p4reg gc --grace 0
assert_eq "$ERR" "" "stderr of a piped gc"
on_tty 0 "$P" gc --grace 0 -r origin
has_line 'gc remote listing  1 objects'
has_line 'gc remote deleting  [0-9]+/[0-9]+ objects  100%.*'
on_tty 0 "$P" --json gc --grace 0 -r origin
no_progress "$TTY" "gc --json on a terminal"

finish
