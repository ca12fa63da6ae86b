#!/usr/bin/env bash
# End-to-end: the pager (issue 16). Long output (list, log, show, history,
# metrics, runs) goes through a pager when stdout is a terminal; the test
# build's P4REG_TEST_STDOUT_TTY=1 says it is one, and the pager is a script
# that records what it got. The pager comes from $P4REG_PAGER, core.pager of
# the user's own config (or a trusted config.local), $PAGER, less, in that
# order; never from the committed .p4reg/config, which a clone delivers.
. "$(dirname "$0")/lib.sh"

PAGED=$ROOT_TMP/paged
REC=$ROOT_TMP/recorder.sh
cat >"$REC" <<'SH'
#!/bin/sh
# what a pager got: its LESS, its arguments, then its input
{ echo "LESS=${LESS-unset} args=$*"; cat; } >"$PAGED"
SH
chmod +x "$REC"
export PAGED
PWNED=$ROOT_TMP/pwned
unset P4REG_PAGER PAGER LESS
P=$P4REG_BIN
# tty CMD...: CMD with stdout taken for a terminal (the test build's knob)
tty() { env P4REG_TEST_STDOUT_TTY=1 "$@"; }
paged() { cat "$PAGED" 2>/dev/null; }
no_pager_ran() { assert_no_file "$PAGED"; rm -f "$PAGED"; }

fresh_repo
random_file models/emb.onnx 8
p4reg add -q models/emb.onnx
p4reg log-metric -q emb@1 f1=0.8
LIST=$(p4reg list)
LOG=$(p4reg log emb)

begin "not a terminal: no pager, whatever PAGER says"
run 0 env PAGER="$REC" "$P" list && assert_eq "$OUT" "$LIST"
no_pager_ran

begin "a terminal: list, log, show, history, metrics, runs go through PAGER with LESS=FRX"
for cmd in list "log emb" "show emb@1" history "metrics emb" runs; do
	rm -f "$PAGED"
	# shellcheck disable=SC2086
	run 0 tty env PAGER="$REC" "$P" $cmd && assert_eq "$OUT" "" "$cmd: stdout"
	assert_eq "$(paged | head -1)" "LESS=FRX args=" "$cmd: the pager ran"
	# shellcheck disable=SC2086
	assert_eq "$(paged | tail -n +2)" "$(p4reg $cmd)" "$cmd: what it paged"
done
assert_eq "$(paged | tail -n +2)" "$(p4reg runs)"
rm -f "$PAGED"
run 0 tty env PAGER="$REC" "$P" log emb && assert_eq "$(paged | tail -n +2)" "$LOG"

begin "LESS set by the user is kept; a pager with arguments runs through the shell"
rm -f "$PAGED"
run 0 tty env LESS=-S PAGER="$REC --one 'two words'" "$P" list
assert_eq "$(paged | head -1)" "LESS=-S args=--one two words"

begin "other commands are never paged"
rm -f "$PAGED"
for cmd in status version "config --list" "log-metric emb@1 f1=0.8"; do
	# shellcheck disable=SC2086
	run 0 tty env PAGER="$REC" "$P" $cmd
	no_pager_ran
done

begin "--no-pager and -P before the command; after it, an unknown option"
rm -f "$PAGED"
run 0 tty env PAGER="$REC" "$P" --no-pager list && assert_eq "$OUT" "$LIST"
no_pager_ran
run 0 tty env PAGER="$REC" "$P" -P log emb && assert_eq "$OUT" "$LOG"
no_pager_ran
run 0 tty env PAGER="$REC" "$P" -q --no-pager --json list && assert_contains "$OUT" '"models":'
no_pager_ran
# (the pager starts before the command reads its arguments, as git's: it
# gets nothing, and the error follows on stderr)
run 2 tty env PAGER="$REC" "$P" list --no-pager && assert_one_line_error "unknown option '--no-pager'"
assert_eq "$(paged)" "LESS=FRX args="
run 0 p4reg --json help && assert_contains "$OUT" '{"long":"--no-pager","short":"-P","value":null}'

begin "P4REG_PAGER, then core.pager (the user's config), then PAGER; cat or empty: none"
mkdir -p "$XDG_CONFIG_HOME/p4reg"
printf '[core]\n\tpager = %s --from-config\n' "$REC" >"$XDG_CONFIG_HOME/p4reg/config"
rm -f "$PAGED"
run 0 tty env PAGER="touch $PWNED" "$P" list && assert_eq "$(paged | head -1)" "LESS=FRX args=--from-config"
rm -f "$PAGED"
run 0 tty env P4REG_PAGER="$REC --from-env" PAGER="touch $PWNED" "$P" list
assert_eq "$(paged | head -1)" "LESS=FRX args=--from-env"
rm -f "$PAGED"
run 0 tty env P4REG_PAGER=cat "$P" list && assert_eq "$OUT" "$LIST"
no_pager_ran
rm "$XDG_CONFIG_HOME/p4reg/config"
run 0 tty env PAGER= "$P" list && assert_eq "$OUT" "$LIST"
run 0 tty env PAGER=cat "$P" list && assert_eq "$OUT" "$LIST"
no_pager_ran
assert_no_file "$PWNED"

begin "config.local cannot choose the pager either (an archive delivers it as the user's own file)"
p4reg config --local core.pager "touch $PWNED; $REC --local"
rm -f "$PAGED"
run 0 tty env PAGER="$REC" "$P" list && assert_eq "$(paged | head -1)" "LESS=FRX args="
assert_no_file "$PWNED"
p4reg config --local --unset core.pager

begin "an extracted archive's config.local (mode 0600, owned by the user) runs no pager"
AR=$(mktemp -d "$ROOT_TMP/archive-XXXXXX")
(cd "$AR" && mkdir evil && cd evil && git init -q . && "$P" init >/dev/null &&
	printf '[core]\n\tpager = touch %s; cat\n' "$PWNED" >.p4reg/config.local &&
	chmod 600 .p4reg/config.local && cd .. && tar cf evil.tar evil && rm -rf evil && tar xf evil.tar) ||
	fail "archive"
cd "$AR/evil" || exit 1
run 0 tty "$P" list
assert_no_file "$PWNED"
cd "$OLDPWD" || exit 1

begin "a committed .p4reg/config cannot choose the pager: it is ignored"
p4reg config core.pager "touch $PWNED"
assert_contains "$(cat .p4reg/config)" "pager = touch $PWNED"
rm -f "$PAGED"
run 0 tty env PAGER="$REC" "$P" list && assert_eq "$(paged | tail -n +2)" "$LIST"
assert_no_file "$PWNED"
p4reg config --unset core.pager

begin "a clone's committed core.pager never runs"
A=$(mktemp -d "$ROOT_TMP/attacker-XXXXXX")
cd "$A" && git init -q . && git config user.name a && git config user.email a@example.com
p4reg init >/dev/null && p4reg config core.pager "touch $PWNED; cat"
git add -A && git commit -qm "pager"
V=$(mktemp -d "$ROOT_TMP/clone-XXXXXX")
git clone -q "$A" "$V" && cd "$V" || fail "clone"
rm -f "$PAGED"
run 0 tty env PAGER="$REC" "$P" list
assert_eq "$(paged | head -1)" "LESS=FRX args="
run 0 tty "$P" list   # no PAGER: less (or, without less, the terminal)
assert_no_file "$PWNED"
cd "$OLDPWD" || exit 1

begin "a pager that cannot start: one warning, the output as it is, exit 0"
cd "$(dirname "$V")" && cd "$(ls -d "$ROOT_TMP"/repo-* | head -1)" || exit 1
run 0 tty env PAGER="$ROOT_TMP/no-such-pager" "$P" list
assert_eq "$OUT" "$LIST"
assert_eq "$ERR" "p4reg: warning: cannot run the pager '$ROOT_TMP/no-such-pager': No such file or directory"

begin "errors: text on stderr once the pager quit, exit code kept; JSON into the pager"
rm -f "$PAGED"
run 1 tty env PAGER="$REC" "$P" log emd
assert_eq "$ERR" "p4reg: unknown model 'emd'
hint: did you mean 'emb'?"
assert_eq "$(paged)" "LESS=FRX args="
rm -f "$PAGED"
run 1 tty env PAGER="$REC" "$P" --json log emd && assert_eq "$OUT" ""
assert_eq "$(paged | tail -n +2)" '{"error":{"code":"not_found","message":"unknown model '"'"'emd'"'"'","hint":"did you mean '"'"'emb'"'"'?"}}'
run 2 tty env PAGER="$REC" "$P" log emb --where 'f1>>1' && assert_one_line_error "invalid --where 'f1>>1'"

finish
