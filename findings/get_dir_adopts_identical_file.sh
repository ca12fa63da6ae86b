#!/usr/bin/env bash
# `p4reg get` of folder versions: a file the user had in PATH before the
# first get, with bytes equal to an entry of the version got (kept, never
# written by get), is recorded as "what the last get's version had there";
# the next get of a version without that path removes it with no --force.
# A hostile remote that knows the bytes of a user's file (an empty .env, an
# __init__.py, a stock LICENSE or config) can publish v1 holding it and v2
# without it. The bytes are recoverable (v1 has them); the user's file and
# its mode/owner are gone. Severity: low.
# Expected: only files get itself wrote (or that were absent) count as its own.
# usage: P4REG_BIN=build/p4reg bash findings/get_dir_adopts_identical_file.sh
set -u
: "${P4REG_BIN:?}"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export HOME=$T/home XDG_CONFIG_HOME=$T/home/.config P4REG_AUTHOR="evil <e@x>"
mkdir -p "$HOME" "$T/a" && cd "$T/a" && "$P4REG_BIN" init >/dev/null
"$P4REG_BIN" remote add origin "$T/remote" >/dev/null 2>&1
mkdir app && echo "model v1" >app/weights.bin && : >app/.env
"$P4REG_BIN" add -q app && rm app/.env && echo "model v2" >app/weights.bin && "$P4REG_BIN" add -q app
"$P4REG_BIN" push -q
mkdir -p "$T/srv/app" && : >"$T/srv/app/.env" && chmod 600 "$T/srv/app/.env"   # the user's own file
cd "$T" && "$P4REG_BIN" get "$T/remote" app@1 -o "$T/srv/app"; echo "get v1: exit $?"
"$P4REG_BIN" get "$T/remote" app@2 -o "$T/srv/app"; echo "get v2: exit $?"
[ -e "$T/srv/app/.env" ] && echo "ok: the user's .env stays" || echo "BUG: the user's .env (never written by get) was removed without --force"
