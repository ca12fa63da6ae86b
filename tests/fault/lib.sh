# Helpers for the fault-injection tests (t_crash.sh, t_faults.sh): find or
# build the LD_PRELOAD shim, run p4reg under it, fingerprint registry state.
# Sourced after tests/cli/lib.sh.

# The shim: built by CMake (P4REG_FAULTSHIM) or, when run by hand, here.
if [ -z "${P4REG_FAULTSHIM:-}" ] || [ ! -f "$P4REG_FAULTSHIM" ]; then
	P4REG_FAULTSHIM="$ROOT_TMP/faultshim.so"
	cc -shared -fPIC -O1 -o "$P4REG_FAULTSHIM" "$P4REG_SRC/tests/fault/faultshim.c" -ldl ||
		{ echo "cannot build the fault shim" >&2; exit 1; }
fi
# A sanitized binary needs its ASan runtime first in the preload list.
FAULT_PRELOAD=$P4REG_FAULTSHIM
asan_rt=$(ldd "$P4REG_BIN" 2>/dev/null | awk '/libasan/ { print $3; exit }')
[ -n "$asan_rt" ] && FAULT_PRELOAD="$asan_rt:$P4REG_FAULTSHIM"
# A killed process cannot report leaks; one killed mid-way must not be
# reported as leaking either.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

# faulty SPEC CMD...: runs p4reg CMD... with P4REG_FAULT=SPEC.
faulty() {
	local spec=$1
	shift
	LD_PRELOAD="$FAULT_PRELOAD" P4REG_FAULT="$spec" "$P4REG_BIN" "$@"
}

# count_points CMD...: runs p4reg CMD... once under the shim in count mode
# and sets POINTS_write, POINTS_fsync, POINTS_rename.
count_points() {
	local f="$ROOT_TMP/count.$$"
	rm -f "$f"
	LD_PRELOAD="$FAULT_PRELOAD" P4REG_FAULT=count P4REG_FAULT_COUNT="$f" "$P4REG_BIN" "$@" >/dev/null 2>&1 ||
		fail "'p4reg $*' failed under the shim in count mode"
	read -r _ POINTS_write _ POINTS_fsync _ POINTS_rename <"$f"
}

# state: the registry's logical content, without times or actors.
state() {
	sqlite3 -readonly .p4reg/registry.db "
		SELECT 'v', m.name, v.number, v.oid, v.size, v.stage, v.rolled_back
		  FROM versions v JOIN models m ON m.id = v.model_id ORDER BY m.name, v.number;
		SELECT 'e', e.kind, coalesce(e.from_stage, ''), coalesce(e.to_stage, ''),
		       coalesce((SELECT number FROM versions WHERE id = e.version_id), 0)
		  FROM events e ORDER BY e.id;
		SELECT 'm', key, value, step FROM metrics ORDER BY id;" 2>&1 | sha256sum | cut -c1-16
}

# points N STRIDE: 1..N, every STRIDE-th (always including N).
points() {
	local n=$1 stride=$2 i
	for ((i = 1; i <= n; i += stride)); do echo "$i"; done
	[ "$n" -ge 1 ] && [ $(( (n - 1) % stride )) -ne 0 ] && echo "$n"
	return 0
}
