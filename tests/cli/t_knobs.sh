#!/usr/bin/env bash
# Test-only knobs (src/core/util/testknob.h) are compiled only into builds with
# the CMake option P4REG_TEST_KNOBS on: a release binary has no hidden P4REG_TEST_*
# environment switches. CMake compiles every source that names a knob once
# more without them (target p4reg_knobfree); their objects, and p4reg itself
# when built without knobs, must not hold a single knob name.
. "$(dirname "$0")/lib.sh"

: "${P4REG_KNOBFREE_DIR:?P4REG_KNOBFREE_DIR must name the build folder (run through ctest)}"
KNOB=P4REG_TEST
KNOB=${KNOB}_   # spelled so that this script sets no knob itself
# names BINARY: the knob names in it, one a line
names() { grep -a -o "${KNOB}[A-Z_]*" "$1" | sort -u; }

begin "every source that names a knob is compiled without knobs too"
listed=$(sort "$P4REG_KNOBFREE_DIR/knobfree-sources.txt" | sed '/^$/d')
found=$(cd "$P4REG_SRC" && grep -rl -e "$KNOB" -e 'testknob\.h' src --include='*.c' | sed "s|^|$P4REG_SRC/|" | sort)
assert_eq "$listed" "$found" "sources naming a knob changed since cmake ran: run cmake again"
[ -n "$found" ] || fail "no source names a knob: the check checks nothing"

begin "the objects built without knobs hold no knob name"
n=0
while read -r obj; do
	[ -n "$obj" ] || continue
	n=$((n + 1))
	[ -f "$obj" ] || { fail "object '$obj' was not built"; continue; }
	assert_eq "$(names "$obj")" "" "knob names in $(basename "$obj")"
done <"$P4REG_KNOBFREE_DIR/knobfree-objects.txt"
assert_eq "$n" "$(printf '%s\n' "$found" | wc -l)" "objects built without knobs"

begin "knobs reach only their own helper: no getenv of a knob name"
run 1 grep -rn "getenv(\"$KNOB" "$P4REG_SRC/src"

begin "p4reg holds the knobs exactly when built with them"
if [ "${P4REG_KNOBS_BUILT:-0}" = 1 ]; then
	# the check above would see them: these are the names the tests set
	assert_contains "$(names "$P4REG_BIN")" "${KNOB}TRANSFER_DELAY_MS"
	assert_contains "$(names "$P4REG_BIN")" "${KNOB}STALL_SECONDS"
else
	assert_eq "$(names "$P4REG_BIN")" "" "knob names in a p4reg built without knobs"
fi

finish
