#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang (ASan + UBSan) and runs each for
# a bounded time on its committed seed corpus (fuzz/corpus/<target>/).
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     default 10 s, all targets
# New interesting inputs go to build-fuzz/corpus/<target>/ (not committed);
# a crash leaves crash-* in build-fuzz/artifacts/ and exits non-zero;
# without clang it exits 77 (skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-${P4REG_FUZZ_SECONDS:-10}}
[ $# -gt 0 ] && shift
build=${P4REG_FUZZ_BUILD:-build-fuzz}
# no clang, no fuzzing: SKIP (77, as the test suite's skips), not a failure
command -v clang >/dev/null || { echo "SKIP fuzz/run.sh: clang is not installed" >&2; exit 77; }
CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DP4REG_FUZZ=ON -DP4REG_TESTS=OFF >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >/dev/null
mkdir -p "$build/artifacts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for t in "${targets[@]}"; do
	name=${t#fuzz_}
	work="$build/corpus/$name"
	mkdir -p "$work"
	echo "== $t: ${seconds}s"
	if ! "$build/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
		-artifact_prefix="$build/artifacts/$name-" -print_final_stats=1 \
		"$work" "fuzz/corpus/$name" 2>"$build/$name.log"; then
		echo "fuzz/run.sh: $t found a problem; see $build/$name.log and $build/artifacts/" >&2
		tail -40 "$build/$name.log" >&2
		status=1
	fi
	grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$build/$name.log" | tr '\n' ' '
	echo
done
exit $status
