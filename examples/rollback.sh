#!/usr/bin/env bash
# The lifecycle and the rollback runbook (examples/rollback-runbook.md) on an
# example model in a throw-away repository: gated promotions, a policy, a
# regression in production, a rollback that restores the file and runs the
# restart hook, and the audit trail.
set -euo pipefail
P4REG=${P4REG:-p4reg}
p4reg() { "$P4REG" "$@"; }
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/p4reg-rollback-XXXXXX")
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cd "$work"
git init -q . && git config user.name "Demo" && git config user.email demo@example.com
p4reg init >/dev/null
mkdir -p models
model=models/emb.onnx
train() { python3 -c "import random,sys; r=random.Random($1); sys.stdout.buffer.write(r.randbytes(1<<20))" >"$model"; }

# v1 and v2: each trained, registered, evaluated and promoted.
for v in 1 2; do
	train "$v"
	p4reg -q add "$model" -m "training run $v"
done
p4reg -q log-metric emb@1 f1=0.80 latency_ms=14
p4reg -q log-metric emb@2 f1=0.84 latency_ms=15

say 'p4reg promote emb@1 --to production --force -m "first release"'
p4reg promote emb@1 --to production --force -m "first release"

say "git config -f .p4reg/config --add stage.production.require 'f1>=production'"
git config -f .p4reg/config --add stage.production.require 'f1>=production'
for s in validation staging; do p4reg -q promote emb@2 --to "$s"; done
say p4reg promote emb@2 --to production --require "'latency_ms<=20'"
p4reg promote emb@2 --to production --require 'latency_ms<=20'

# v3 looks fine offline, then misbehaves in production.
train 3
p4reg -q add "$model" -m "training run 3"
p4reg -q log-metric emb@3 f1=0.79
for s in validation staging; do p4reg -q promote emb@3 --to "$s"; done
say "p4reg promote emb@3 --to production   # refused by the policy: exit 3"
p4reg promote emb@3 --to production || echo "(exit $?)"
p4reg -q log-metric emb@3 f1=0.86 --step 1
say p4reg promote emb@3 --to production
p4reg promote emb@3 --to production

# The operator's side: a restart hook (trusted config only), then rollback.
p4reg config --local hooks.post-rollback \
	'echo "restarting inference with $P4REG_MODEL v$P4REG_VERSION from $P4REG_PATH (v$P4REG_ROLLED_BACK rolled back)"'
say "p4reg rollback emb -m \"INC-1: live recall dropped\""
p4reg rollback emb -m "INC-1: live recall dropped"
say "sha256sum $model; p4reg show emb@production | grep oid"
sha256sum "$model"
p4reg show emb@production | grep oid
say p4reg status
p4reg status
say "p4reg rollback emb   # walks further back, never onto v3"
p4reg rollback emb -m "still bad"
say "p4reg rollback emb   # nothing left: exit 3"
p4reg rollback emb || echo "(exit $?)"
say p4reg history emb
p4reg history emb
