#!/usr/bin/env bash
# Crash (power loss) inside a batch add of a folder of 24 files.
#
# SIGKILL before the Nth rename and before the Nth fsync of `p4reg add d`
# (tests/fault/faultshim.c), then simulate what a power loss does to a
# batch that never reached its syncfs: every object in the store that has
# no fingerprint (object_stat row, written only after the sync) loses its
# bytes (truncated to 0, or to half, or zero-filled at the same size --
# XFS's "NULL file"). Then: fsck, add again, fsck, checkout of the folder
# from the store, and the bytes compared with the originals.
#
# usage: P4REG_BIN=build/p4reg bash findings/crash_folder_add.sh
set -u
: "${P4REG_BIN:?}"
P4REG_SRC=${P4REG_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
. "$P4REG_SRC/tests/cli/lib.sh"
. "$P4REG_SRC/tests/fault/lib.sh"

# power_loss MODE: objects without a fingerprint lose their bytes.
power_loss() {
	local mode=$1 f oid size
	LOST=0
	while IFS= read -r f; do
		oid=$(basename "$f")
		[ -n "$(db "SELECT 1 FROM object_stat WHERE oid = '$oid'")" ] && continue
		size=$(stat -c %s "$f")
		chmod u+w "$f"
		case $mode in
		empty) : >"$f" ;;
		half) truncate -s $((size / 2)) "$f" ;;
		zeros) head -c "$size" /dev/zero >"$f" ;;
		esac
		chmod 0444 "$f"
		LOST=$((LOST + 1))
	done < <(find .p4reg/objects -type f)
}

tpl="$ROOT_TMP/tpl"
mkdir -p "$tpl" && cd "$tpl" && p4reg init >/dev/null
mkdir d d/sub
for i in $(seq 1 24); do head -c $((100 + i * 37)) /dev/urandom >"d/f$i"; done
echo same >d/sub/a && echo same >d/sub/b   # one object for two files
cp -a d "$ROOT_TMP/orig"
cp -a "$tpl" "$ROOT_TMP/ref" && cd "$ROOT_TMP/ref" && count_points add -q d
echo "add d: $POINTS_rename renames, $POINTS_fsync fsyncs"

lost=0 fsck_false=0 first_fsck=
for op in rename fsync; do
	total_var="POINTS_$op"
	for n in $(seq 1 "${!total_var}"); do
		modes="empty half zeros"
		[ "$op" = fsync ] && modes=none
		for mode in $modes; do
			begin "kill:$op:$n $mode"
			rm -rf "$ROOT_TMP/w" && cp -a "$tpl" "$ROOT_TMP/w" && cd "$ROOT_TMP/w"
			faulty "kill:$op:$n" add -q d >/dev/null 2>&1
			st=$?
			[ "$st" = 137 ] || [ "$st" = 0 ] || fail "exit $st"
			committed=$(db "SELECT count(*) FROM versions")
			# a kill at a rename with nothing committed came before the
			# batch's syncfs (no rename follows it before the commit)
			if [ "$op" = rename ] && [ "$committed" = 0 ]; then
				power_loss "$mode"; lost=$((lost + LOST))
			fi
			p4reg fsck >"$ROOT_TMP/fsck.out" 2>&1 ||
				{ fsck_false=$((fsck_false + 1)); first_fsck="$CURRENT: $(tail -1 "$ROOT_TMP/fsck.out")"; }
			run 0 p4reg add -q d || continue
			run 0 p4reg fsck || continue
			rm -rf d
			run 0 p4reg checkout d || continue
			diff -r d "$ROOT_TMP/orig" >/dev/null || fail "checked-out folder differs from the original"
		done
	done
done
echo "objects that lost their bytes across all crashes: $lost"
echo "crashes after which the first fsck exited non-zero: $fsck_false (e.g. $first_fsck)"
finish
