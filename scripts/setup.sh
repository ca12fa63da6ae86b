#!/usr/bin/env bash
# Quick start, step 1: install what is missing, build p4reg (build/p4reg),
# and run the main workflow on an example model (examples/demo.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
p4reg_install_deps
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DP4REG_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
echo "built $(pwd)/build/p4reg"
P4REG="$(pwd)/build/p4reg" bash examples/demo.sh
