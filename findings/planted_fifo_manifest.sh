#!/usr/bin/env bash
# A FIFO under the final name of a folder version's manifest object blocks
# `p4reg add DIR` forever: p4r_store_insert_buffer -> object_holds() opens
# the object O_RDONLY without O_NONBLOCK. (Every other open of a store or
# work-tree file is O_NONBLOCK until fstat says "regular".)
# Expected (fixed): the FIFO is replaced by the manifest, add exits 0.
# usage: P4REG_BIN=build/p4reg bash findings/planted_fifo_manifest.sh
set -u
: "${P4REG_BIN:?}"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export HOME=$T/home XDG_CONFIG_HOME=$T/home/.config P4REG_AUTHOR="t <t@x>"
mkdir -p "$HOME" "$T/a" && cd "$T/a" && "$P4REG_BIN" init >/dev/null
mkdir d && for i in $(seq 1 20); do echo "file $i" >"d/f$i"; done
"$P4REG_BIN" add -q d >/dev/null 2>&1
moid=$(sqlite3 .p4reg/registry.db "SELECT oid FROM versions")   # the manifest's oid
mkdir -p "$T/b" && cd "$T/b" && "$P4REG_BIN" init >/dev/null && cp -a "$T/a/d" .
mkdir -p ".p4reg/objects/${moid:0:2}/${moid:2:2}"
mkfifo ".p4reg/objects/${moid:0:2}/${moid:2:2}/$moid"
timeout 10 "$P4REG_BIN" add -q d >/dev/null 2>&1
rc=$?
[ "$rc" = 124 ] && echo "BUG: add blocked on the FIFO (killed after 10 s)" || echo "add: exit $rc"
