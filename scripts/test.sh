#!/usr/bin/env bash
# Quick start, step 2: build with AddressSanitizer + UndefinedBehaviorSanitizer
# and run the whole test suite (cmocka unit tests and end-to-end CLI tests).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
p4reg_install_deps git-lfs chromium
build=${P4REG_TEST_BUILD:-build-test}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DP4REG_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# ~1 minute of fuzzing on the committed seed corpora (fuzz/run.sh)
P4REG_FUZZ_SECONDS=${P4REG_FUZZ_SECONDS:-10} bash fuzz/run.sh
cd "$build"
ctest --output-on-failure -j"$(nproc)" "$@"
