#!/usr/bin/env bash
# End-to-end: shell completion (issue 17). `p4reg completion bash|zsh|fish`
# prints a script that asks the binary on every TAB (`p4reg __complete
# WORD...`). Bash's completion function runs here as the shell runs it:
# the script sourced in a clean bash, COMP_WORDS/COMP_CWORD set, _p4reg
# called, COMPREPLY read. The commands and options offered are checked
# against `p4reg --json help` for every command (the tables), the names
# against the registry and the config files. __complete must neither load
# libgit2 nor open a socket (an LD_PRELOAD shim watches). zsh's script runs
# in an interactive zsh on a pseudo-terminal (zsh/zpty), fish's through
# `complete -C`, each when that shell is installed.
. "$(dirname "$0")/lib.sh"

BIN_DIR=$ROOT_TMP/bin
mkdir -p "$BIN_DIR" && ln -s "$P4REG_BIN" "$BIN_DIR/p4reg"
SCRIPT=$ROOT_TMP/p4reg.bash
"$P4REG_BIN" completion bash >"$SCRIPT" || fail "completion bash failed"

# complete WORD...: COMPREPLY, one a line, for the command line "p4reg
# WORD..." with the cursor at the end of the last word ("" for a new one),
# in a bash without any startup file whose PATH finds p4reg.
complete_line() {
	env PATH="$BIN_DIR:$PATH" bash --norc --noprofile -c '
		. "$1" || exit 1
		shift
		COMP_WORDS=(p4reg "$@")
		COMP_CWORD=$#
		COMP_LINE="p4reg $*"
		COMP_POINT=${#COMP_LINE}
		_p4reg || exit 1
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"' _ "$SCRIPT" "$@"
}

# expect "WORDS" "LINES": complete_line WORDS (split at blanks; a trailing
# blank is an empty current word) gives exactly LINES, in any order (bash
# sorts them for display; file names come in the folder's order).
expect() {
	local -a w
	read -ra w <<<"$1"
	[ "${1: -1}" = " " ] && w+=("")
	run 0 complete_line "${w[@]}" && assert_eq "$(sort <<<"$OUT")" "$(sort <<<"$2")" "p4reg $1<TAB>"
	assert_eq "$ERR" "" "p4reg $1<TAB>: stderr"
}

begin "completion prints the script for each shell; a bad shell is a usage error"
run 0 p4reg completion bash && assert_eq "$OUT" "$(cat "$SCRIPT")"
assert_contains "$OUT" "complete -F _p4reg p4reg"
run 0 bash -n "$SCRIPT"
run 0 p4reg --json completion zsh
assert_eq "$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["shell"])')" "zsh"
assert_eq "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["script"], end="")')" \
	"$(p4reg completion zsh)"
run 2 p4reg completion && assert_one_line_error "p4reg: completion needs a shell: bash, zsh or fish"
run 2 p4reg completion tcsh && assert_eq "$(head -1 <<<"$ERR")" "p4reg: unknown shell 'tcsh': bash, zsh or fish"
run 2 p4reg completion bash zsh && assert_one_line_error "p4reg: completion takes one shell"
run 2 p4reg completion --x && assert_one_line_error "p4reg: unknown option '--x'"

fresh_git_repo
REPO=$PWD
random_file models/minilm.onnx 4
p4reg add -q models/minilm.onnx
random_file models/minilm.onnx 4
p4reg add -q models/minilm.onnx
random_file models/bert.bin 2
p4reg add -q models/bert.bin
p4reg promote -q minilm@1 --to validation
p4reg promote -q minilm@1 --to staging
p4reg remote add -q -d origin "$ROOT_TMP/store-origin" 2>/dev/null
git config --file .p4reg/config.local remote.nas.url "$ROOT_TMP/store-nas"
mkdir -p "$XDG_CONFIG_HOME/p4reg"
git config --file "$XDG_CONFIG_HOME/p4reg/config" remote.mine.url "$ROOT_TMP/store-mine"

begin "commands: p4reg pro<TAB> is promote; a new word offers every command of the table"
expect "pro" "promote"
expect "c" "checkout
cat
config
completion"
ALL=$(p4reg --json help | python3 -c 'import json,sys; print("\n".join(c["name"] for c in json.load(sys.stdin)["commands"]))')
expect " " "$ALL"
expect "he" "help"
expect "help pro" "promote"
expect "zzz " ""

begin "global options before the command, and -C's folder"
expect "--j" "--json"
expect "--no" "--no-pager"
mkdir -p "$ROOT_TMP/dirs/sub1" "$ROOT_TMP/dirs/sub2" && touch "$ROOT_TMP/dirs/file"
expect "-C $ROOT_TMP/dirs/s" "$ROOT_TMP/dirs/sub1
$ROOT_TMP/dirs/sub2"
expect "-C $REPO pro" "promote"
expect "--json -q pus" "push"

begin "every option of every command is offered, as 'p4reg --json help CMD' lists them"
for cmd in $ALL; do
	want=$(p4reg --json help "$cmd" | python3 -c '
import json, sys
for o in json.load(sys.stdin)["options"]:
    print("\n".join(f for f in (o["long"], o["short"]) if f))')
	expect "$cmd -" "$want"
done
expect "promote minilm@1 --dr" "--dry-run"
expect "push --al" "--allow-missing"

begin "models and references: mini<TAB> is minilm@, minilm@<TAB> its versions, latest and stages held"
expect "promote mini" "minilm@"
expect "promote " "bert@
minilm@"
expect "promote minilm@" "minilm@1
minilm@2
minilm@development
minilm@latest
minilm@staging"
expect "promote minilm@l" "minilm@latest"
expect "show bert@" "bert@1
bert@development
bert@latest"
expect "promote nosuch@" ""
expect "log " "bert
minilm"
expect "log mi" "minilm"
expect "rollback " "bert
minilm"
expect "metrics minilm@1 mini" "minilm@"
expect "log-metric minilm@2 " ""

begin "aliases: minilm@<TAB> offers minilm@champion; a name set behind p4reg's back is not offered"
p4reg alias -q minilm champion 2 || fail "alias"
expect "promote minilm@c" "minilm@champion"
sqlite3 .p4reg/registry.db "INSERT INTO aliases(model_id, name, version_id, actor, set_ms)
  SELECT m.id, 'x;rm -rf ~', v.id, 'evil', 0 FROM models m JOIN versions v ON v.model_id = m.id
  WHERE m.name = 'minilm' AND v.number = 1" || fail "plant a hostile alias"
expect "promote minilm@" "minilm@1
minilm@2
minilm@development
minilm@latest
minilm@staging
minilm@champion"
run 0 p4reg __complete promote mini && assert_eq "$OUT" "minilm@
: nospace"
run 0 p4reg __complete promote minilm@2 && assert_eq "$OUT" "minilm@2
:"

begin "references and files where a command takes REF|PATH"
expect "checkout models/m" "models/minilm.onnx
models/minilm.onnx.p4reg"
expect "checkout b" "bert@"
run 0 p4reg __complete checkout b && assert_eq "$OUT" "bert@
: files nospace"

begin "remote names from .p4reg/config, config.local and the user's config"
expect "push -r " "mine
nas
origin"
expect "push --remote o" "origin"
# bash splits "--remote=o" at the '=' (COMP_WORDBREAKS): three words
expect "push --remote = o" "origin"
expect "fetch -r n" "nas"
expect "remote " "add
list
remove
check
convert"
expect "remote convert " "mine
nas
origin"
expect "remote remove " "mine
nas
origin"
expect "remote check o" "origin"
expect "remote add " ""
run 0 p4reg __complete pull --remote=o && assert_eq "$OUT" "--remote=origin
:"

begin "option values: stages, files, nothing for free text"
expect "promote minilm@2 --to " "development
validation
staging
production
archived"
expect "promote minilm@2 --to p" "production"
expect "list --stage a" "archived"
expect "promote minilm@2 -m " ""
expect "add -n " ""
run 0 p4reg __complete log-metric minilm@1 --file "" && assert_eq "$OUT" ": files"
expect "completion " "bash
zsh
fish"
# a subcommand word from the usage line, then PATH|PATTERN: files
expect "import " "dvc
git-lfs"
run 0 p4reg __complete import git-lfs "" && assert_eq "$OUT" ": files"
run 0 p4reg __complete import dvc "" && assert_eq "$OUT" ": files"
expect "import dvc --w" "--write-pointers"
expect "-- " "$ALL"

begin "after --, only positionals"
expect "promote -- -" ""
expect "log -- mi" "minilm"

begin "outside a repository: commands and options still, no names, no error"
cd "$ROOT_TMP" || exit 1
expect "pro" "promote"
expect "promote mini" ""
expect "push -r " ""
cd "$REPO" || exit 1

begin "hostile names in the registry or config are never offered"
sqlite3 .p4reg/registry.db "INSERT INTO models(name, path, created_ms) VALUES ('min;rm -rf ~', 'x/y', 0)" 2>/dev/null ||
	fail "cannot plant a hostile model row"
sqlite3 .p4reg/registry.db "INSERT INTO models(name, path, created_ms) VALUES ('min\$(id)', 'x/z', 0)"
git config --file .p4reg/config 'remote.o$(id).url' x
git config --file .p4reg/config 'remote.o x.url' x
expect "promote mi" "minilm@"
expect "push -r o" "origin"
sqlite3 .p4reg/registry.db "DELETE FROM models WHERE path IN ('x/y', 'x/z')"
git config --file .p4reg/config --remove-section 'remote.o$(id)'
git config --file .p4reg/config --remove-section 'remote.o x'

begin "__complete loads no libgit2, opens no socket; the shim sees a command that does"
cat >"$ROOT_TMP/watch.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* Appends WHAT to $WATCH_LOG: the calls __complete must never make. */
static void note(const char *what)
{
	const char *log = getenv("WATCH_LOG");
	int fd = log ? open(log, O_WRONLY | O_APPEND | O_CREAT, 0600) : -1;

	if (fd >= 0) {
		if (write(fd, what, strlen(what)) < 0 || write(fd, "\n", 1) < 0)
			abort();
		close(fd);
	}
}
int git_libgit2_init(void)
{
	int (*real)(void) = (int (*)(void))dlsym(RTLD_NEXT, "git_libgit2_init");

	note("git_libgit2_init");
	return real ? real() : 1;
}
void *dlopen(const char *file, int flags)
{
	void *(*real)(const char *, int) = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");

	if (file && (strstr(file, "libgit2") || strstr(file, "libcurl")))
		note(file);
	return real(file, flags);
}
int socket(int domain, int type, int protocol)
{
	int (*real)(int, int, int) = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");

	note("socket");
	return real(domain, type, protocol);
}
EOF
cc -shared -fPIC -o "$ROOT_TMP/watch.so" "$ROOT_TMP/watch.c" -ldl || fail "cannot build the watch shim"
preload=$ROOT_TMP/watch.so
asan_rt=$(ldd "$P4REG_BIN" 2>/dev/null | awk '/libasan/ { print $3; exit }')
[ -n "$asan_rt" ] && preload="$asan_rt:$preload"
watched() { env LD_PRELOAD="$preload" WATCH_LOG="$ROOT_TMP/watch.log" ASAN_OPTIONS=detect_leaks=0 "$P4REG_BIN" "$@"; }
rm -f "$ROOT_TMP/watch.log"
run 0 watched __complete promote minilm@ && assert_contains "$OUT" "minilm@latest"
run 0 watched __complete push -r "" && assert_contains "$OUT" "origin"
run 0 watched __complete "" && assert_contains "$OUT" "promote"
run 0 watched __complete -C "$REPO" log "" && assert_contains "$OUT" "bert"
assert_no_file "$ROOT_TMP/watch.log"
run 0 watched remote list && assert_contains "$OUT" "origin"
assert_file "$ROOT_TMP/watch.log"

begin "zsh and fish scripts: syntax, and fish's own completion through the script"
p4reg completion zsh >"$ROOT_TMP/_p4reg"
p4reg completion fish >"$ROOT_TMP/p4reg.fish"
assert_eq "$(head -1 "$ROOT_TMP/_p4reg")" "#compdef p4reg"
if command -v zsh >/dev/null; then
	run 0 zsh -n "$ROOT_TMP/_p4reg"
	# an interactive zsh on a pseudo-terminal (zsh/zpty) with the script in
	# its fpath: TYPED then TAB shows PATTERN on the terminal
	mkdir -p "$ROOT_TMP/zfunc" && cp "$ROOT_TMP/_p4reg" "$ROOT_TMP/zfunc/"
	zsh_shows() {
		timeout 30 zsh -f -c '
			zmodload zsh/zpty
			zpty z "PATH=$1:\$PATH HOME=$HOME XDG_CONFIG_HOME=$XDG_CONFIG_HOME zsh -f -i"
			zpty -w z "fpath=($2 \$fpath); autoload -U compinit; compinit -u -D"
			zpty -w -n z "$3"$'"'"'\t'"'"'
			zpty -r z out "$4" && print -r found' _ "$BIN_DIR" "$ROOT_TMP/zfunc" "$1" "$2"
	}
	run 0 zsh_shows "p4reg pro" "*p4reg promote*" && assert_eq "$OUT" "found" "zsh: p4reg pro<TAB>"
	run 0 zsh_shows "p4reg promote mini" "*p4reg promote minilm@*" && assert_eq "$OUT" "found" "zsh: mini<TAB>"
	run 0 zsh_shows "p4reg push -r " "*mine*nas*origin*" && assert_eq "$OUT" "found" "zsh: -r <TAB>"
else
	echo "t_completion: zsh is not installed: its script's syntax is not checked" >&2
fi
if command -v fish >/dev/null; then
	run 0 fish -n "$ROOT_TMP/p4reg.fish"
	run 0 env PATH="$BIN_DIR:$PATH" fish --no-config -c "source $ROOT_TMP/p4reg.fish; complete -C 'p4reg pro'"
	assert_eq "$OUT" "promote	move a version along the lifecycle, enforcing gates"
	run 0 env PATH="$BIN_DIR:$PATH" fish --no-config -c "source $ROOT_TMP/p4reg.fish; complete -C 'p4reg push -r '"
	assert_eq "$OUT" "mine
nas
origin"
else
	echo "t_completion: fish is not installed: its script is not checked" >&2
fi

finish
