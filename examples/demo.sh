#!/usr/bin/env bash
# The main p4reg workflow on an example model, in a throw-away git repository:
# init, add, commit the pointer, retrain (new bytes), add again, inspect,
# check out the old version and back, log metrics, promote through a gate,
# roll back. Run by scripts/setup.sh.
set -euo pipefail
P4REG=${P4REG:-p4reg}
p4reg() { "$P4REG" "$@"; }
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/p4reg-demo-XXXXXX")
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cd "$work"
git init -q . && git config user.name "Demo" && git config user.email demo@example.com

# An example "ONNX embedding model": 2 MiB of deterministic bytes.
mkdir -p models
python3 -c 'import random,sys; r=random.Random(1); sys.stdout.buffer.write(r.randbytes(2<<20))' >models/all-MiniLM-L6-v2.onnx

say p4reg init;                                   p4reg init
say p4reg add models/all-MiniLM-L6-v2.onnx -m "baseline"
p4reg add models/all-MiniLM-L6-v2.onnx -m "baseline"
say git status --short;                           git status --short
git commit -qm "Track the embedding model with p4reg"
say cat models/all-MiniLM-L6-v2.onnx.p4reg;       cat models/all-MiniLM-L6-v2.onnx.p4reg

# "Retrain": new bytes, a second version.
python3 -c 'import random,sys; r=random.Random(2); sys.stdout.buffer.write(r.randbytes(2<<20))' >models/all-MiniLM-L6-v2.onnx
say p4reg status;                                 p4reg status
say p4reg add models/all-MiniLM-L6-v2.onnx -m "retrained on more pairs"
p4reg add models/all-MiniLM-L6-v2.onnx -m "retrained on more pairs"
say p4reg list;                                   p4reg list
say p4reg log all-MiniLM-L6-v2;                   p4reg log all-MiniLM-L6-v2
say p4reg show all-MiniLM-L6-v2@1;                p4reg show all-MiniLM-L6-v2@1
say p4reg checkout all-MiniLM-L6-v2@1;            p4reg checkout all-MiniLM-L6-v2@1
say p4reg checkout all-MiniLM-L6-v2@latest;       p4reg checkout all-MiniLM-L6-v2@latest

# Experiment tracking, then the release process with a gate and a rollback.
M=all-MiniLM-L6-v2
say p4reg log-metric $M@1 spearman=0.81 --experiment embedding_quality
p4reg log-metric $M@1 spearman=0.81 --experiment embedding_quality
say p4reg log-metric $M@2 spearman=0.84 --experiment embedding_quality
p4reg log-metric $M@2 spearman=0.84 --experiment embedding_quality
for s in validation staging production; do p4reg -q promote $M@1 --to $s -m "baseline release"; done
say p4reg promote $M@2 --to validation;           p4reg promote $M@2 --to validation
say p4reg promote $M@2 --to staging;              p4reg promote $M@2 --to staging
say "p4reg promote $M@2 --to production --require 'spearman>=production'"
p4reg promote $M@2 --to production --require 'spearman>=production'
say p4reg metrics $M@1 $M@2;                      p4reg metrics $M@1 $M@2
say p4reg rollback $M -m "latency regression in A/B"
p4reg rollback $M -m "latency regression in A/B"
say p4reg history $M;                             p4reg history $M
say p4reg --json show $M@production;              p4reg --json show $M@production
echo
echo "demo finished in $work (removed on exit)"
