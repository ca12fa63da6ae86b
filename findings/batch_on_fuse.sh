#!/usr/bin/env bash
# Batch durability on a store whose syncfs(2) makes nothing durable. On
# FUSE (sshfs, s3fs, gcsfuse, rclone...) the kernel's sync_fs asks the
# server nothing unless it implements FUSE_SYNCFS (few do); 9p and SMB have
# no sync_fs. An add of 16+ files skipped every per-object fsync and relied
# on that one syncfs, so a crash after the registry commit could leave a
# registered version whose objects are not on the server's disk.
# (Cannot mount FUSE here: P4REG_TEST_STORE_FSTYPE, a Debug-build knob,
# makes the store claim FUSE's statfs type; the fault shim counts fsyncs of
# objects being written.) Fixed: such file systems get no batch.
# usage: P4REG_BIN=build/p4reg P4REG_FAULTSHIM=build/libfaultshim.so bash findings/batch_on_fuse.sh
set -u
: "${P4REG_BIN:?}" "${P4REG_FAULTSHIM:?}"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export HOME=$T/home XDG_CONFIG_HOME=$T/home/.config P4REG_AUTHOR="t <t@x>"
asan=$(ldd "$P4REG_BIN" | awk '/libasan/ { print $3; exit }')
mkdir -p "$HOME" "$T/r/d" && cd "$T/r" && "$P4REG_BIN" init >/dev/null
for i in $(seq 1 20); do echo "f $i" >"d/f$i"; done
P4REG_TEST_STORE_FSTYPE=1702057286 LD_PRELOAD="${asan:+$asan:}$P4REG_FAULTSHIM" P4REG_FAULT=count \
	P4REG_FAULT_PATH=/.p4reg/tmp/ P4REG_FAULT_COUNT="$T/count" "$P4REG_BIN" add -q d >/dev/null 2>&1
read -r _ _ _ n _ <"$T/count"
[ "$n" -ge 20 ] && echo "ok: $n object fsyncs on 'FUSE'" || echo "BUG: $n object fsyncs on 'FUSE': the batch relied on syncfs"
