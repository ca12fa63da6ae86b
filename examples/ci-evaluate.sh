#!/usr/bin/env bash
# CI evaluation gate: record an evaluation's metrics on a model version, then
# promote it only if the gates pass. The pipeline reads the exit code:
#   0  logged and promoted
#   3  logged, but a gate refused the promotion (nothing moved) — fail the job
#   2  the evaluation file or the arguments are invalid (nothing logged)
#   1  anything else (unknown model, registry error)
#
# usage: examples/ci-evaluate.sh REF EVAL_JSON [STAGE]
#   REF        the version evaluated: emb@7, or a model name for its latest
#   EVAL_JSON  what the evaluation script wrote, either {"spearman": 0.83, ...}
#              or {"metrics": {...}, "params": {...}, "step": N}
#   STAGE      where to promote it (default: validation)
#
# Environment:
#   P4REG        the p4reg binary (default: p4reg on PATH)
#   EXPERIMENT   experiment type for the run name (default: embedding_quality)
#   GATES        space-separated absolute gates (default: "spearman>=0.80")
#   VS_PRODUCTION  space-separated keys that must be at least as good as the
#                current production version's (default: "spearman"); "<="
#                is used for keys whose goal is min (latency*, *loss*, ...)
#   CI_JOB_ID    recorded in the promotion reason
#
# Example (GitHub Actions / GitLab CI step):
#   python evaluate.py --model models/emb.onnx --out eval.json
#   examples/ci-evaluate.sh emb eval.json validation
set -u

P4REG=${P4REG:-p4reg}
EXPERIMENT=${EXPERIMENT:-embedding_quality}
GATES=${GATES:-spearman>=0.80}
VS_PRODUCTION=${VS_PRODUCTION-spearman}
JOB=${CI_JOB_ID:-local}

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	sed -n '9,13p' "$0" >&2
	exit 2
fi
ref=$1
eval_json=$2
stage=${3:-validation}
model=${ref%@*}

# 1. Record the evaluation. All or nothing: a malformed file records nothing.
# (The job id goes into the promotion reason, not into a param: params are
# immutable per run, and a re-run job on the same day appends to the same run.)
"$P4REG" log-metric "$ref" --file "$eval_json" --experiment "$EXPERIMENT"
rc=$?
case $rc in
0) ;;
2) echo "ci-evaluate: '$eval_json' is not a valid evaluation; nothing logged" >&2; exit 2 ;;
3) echo "ci-evaluate: the run refused these values (params are immutable)" >&2; exit 3 ;;
*) echo "ci-evaluate: logging metrics failed (exit $rc)" >&2; exit 1 ;;
esac

# 2. Gates: absolute thresholds, plus "no worse than production" when a
#    production version exists (a missing production would fail such a gate).
requires=()
for g in $GATES; do
	requires+=(--require "$g")
done
if "$P4REG" -q show "$model@production" >/dev/null 2>&1; then
	for key in $VS_PRODUCTION; do
		case $key in
		latency* | *loss* | error* | *_ms | mae | mse | rmse) requires+=(--require "$key<=production") ;;
		*) requires+=(--require "$key>=production") ;;
		esac
	done
fi

# 3. Promote. A refusal (3) changes nothing and prints each condition with
#    the values compared, which the CI log keeps.
"$P4REG" promote "$ref" --to "$stage" "${requires[@]}" -m "CI job $JOB: evaluation passed"
rc=$?
case $rc in
0) echo "ci-evaluate: $ref promoted to $stage" ;;
3) echo "ci-evaluate: $ref stays where it is: a gate refused the promotion" >&2 ;;
2) echo "ci-evaluate: invalid promotion arguments (check GATES and STAGE)" >&2 ;;
*) echo "ci-evaluate: promotion failed (exit $rc)" >&2; rc=1 ;;
esac
exit $rc
