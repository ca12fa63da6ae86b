#!/usr/bin/env bash
# fsck records a fingerprint (object_stat: "durable and whole", objguard.h)
# for every object it re-hashed, without making it durable first. A batch
# add running at the same time names objects before its one syncfs; fsck
# can hash such an object from the page cache and vouch for it. After a
# power loss before that syncfs, a torn object whose size/mtime/ctime
# survived is then trusted by the guard without a re-hash.
# Shown with the fault shim: every sync of the store fails, fsck still
# records 21 fingerprints. Expected (fixed): none (or only after a sync).
# usage: P4REG_BIN=build/p4reg P4REG_FAULTSHIM=build/libfaultshim.so bash findings/fsck_fingerprint_without_sync.sh
set -u
: "${P4REG_BIN:?}" "${P4REG_FAULTSHIM:?}"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export HOME=$T/home XDG_CONFIG_HOME=$T/home/.config P4REG_AUTHOR="t <t@x>"
mkdir -p "$HOME" "$T/r" && cd "$T/r" && "$P4REG_BIN" init >/dev/null
mkdir d && for i in $(seq 1 20); do echo "file $i" >"d/f$i"; done
"$P4REG_BIN" add -q d >/dev/null 2>&1
sqlite3 .p4reg/registry.db "DELETE FROM object_stat"
asan=$(ldd "$P4REG_BIN" | awk '/libasan/ { print $3; exit }')
LD_PRELOAD="${asan:+$asan:}$P4REG_FAULTSHIM" P4REG_FAULT=fail:fsync:1+:EIO P4REG_FAULT_PATH=/.p4reg/objects \
	"$P4REG_BIN" fsck >/dev/null 2>&1
n=$(sqlite3 .p4reg/registry.db "SELECT count(*) FROM object_stat")
[ "$n" = 0 ] && echo "ok: no fingerprint without a sync" || echo "BUG: fsck recorded $n fingerprints it never made durable"
