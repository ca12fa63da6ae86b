#!/usr/bin/env bash
# The seed plan's Git LFS workflow with p4reg, in a throw-away git
# repository: track the model patterns (the same .gitattributes lines as
# `git lfs track`), add a model (a Git LFS pointer is staged and a registry
# version recorded), commit, retrain, add again, and check out the old
# version. Works with git-lfs installed (git-lfs is then the filter) or
# without it (p4reg filter-process is). P4REG names the binary.
set -euo pipefail
P4REG=${P4REG:-p4reg}
p4reg() { "$P4REG" "$@"; }
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/p4reg-lfs-XXXXXX")
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cd "$work"
git init -q . && git config user.name "Demo" && git config user.email demo@example.com

say p4reg init;                                     p4reg init
# Phase 1 of the seed plan: Git LFS for the small models.
say p4reg track "models/*.onnx" "models/*.bin";     p4reg track "models/*.onnx" "models/*.bin"
say cat .gitattributes;                             cat .gitattributes

mkdir -p models
python3 -c 'import random,sys; r=random.Random(1); sys.stdout.buffer.write(r.randbytes(2<<20))' >models/all-MiniLM-L6-v2.onnx
say p4reg add models/all-MiniLM-L6-v2.onnx -m "baseline"
p4reg add models/all-MiniLM-L6-v2.onnx -m "baseline"
say git show :models/all-MiniLM-L6-v2.onnx;         git show :models/all-MiniLM-L6-v2.onnx
say git add .gitattributes;                         git add .gitattributes
say git commit -m "Track the embedding model with Git LFS"
git commit -qm "Track the embedding model with Git LFS"
if command -v git-lfs >/dev/null 2>&1; then
	say git lfs ls-files;                       git lfs ls-files
fi

# "Retrain": new bytes, a second version, committed the same way.
python3 -c 'import random,sys; r=random.Random(2); sys.stdout.buffer.write(r.randbytes(2<<20))' >models/all-MiniLM-L6-v2.onnx
say p4reg status;                                   p4reg status
say p4reg add models/all-MiniLM-L6-v2.onnx -m "retrained"
p4reg add models/all-MiniLM-L6-v2.onnx -m "retrained"
git commit -qm "Retrained embedding model"
say p4reg log all-MiniLM-L6-v2;                     p4reg log all-MiniLM-L6-v2

# Plain git brings back the old bytes through the LFS filter, and so does p4reg.
say git checkout HEAD~1 -- models/all-MiniLM-L6-v2.onnx
git checkout HEAD~1 -- models/all-MiniLM-L6-v2.onnx
say sha256sum models/all-MiniLM-L6-v2.onnx;         sha256sum models/all-MiniLM-L6-v2.onnx
say p4reg checkout all-MiniLM-L6-v2@latest;         p4reg checkout all-MiniLM-L6-v2@latest
say p4reg status;                                   p4reg status
