#!/usr/bin/env bash
# bench/registry.sh: the "registry scale" rows of the benchmark (issue 18;
# docs/performance.md, "Registry at scale"): a registry of 10,000 models,
# one of them ("big") with 1,000,000 versions, written in seconds by
# bench/registry_scale.sh; then list, log -n 20, log --where, show,
# history -n 20, metrics of two refs and status, each against <= 50 ms
# (Release build, warm cache). Smoke mode: 1,000 models, 10,000 versions.
#
# bench/run.sh sources this file and calls registry_measure, then
# registry_rows inside its table. Run alone it measures only these cases:
#
#   P4REG_BIN=build-rel/p4reg bash bench/registry.sh [--smoke] [--models N] [--versions N]
#
# RS_BASE=/path/to/older/p4reg times that binary too, on its
# own copy of the registry (it migrates nothing: a registry this binary
# made is refused by an older one, so the older one makes its own).

. "$(dirname "${BASH_SOURCE[0]}")/registry_scale.sh"

if [ "${SMOKE:-0}" = 1 ]; then
	RS_MODELS=${RS_MODELS:-1000} RS_VERSIONS=${RS_VERSIONS:-10000}
else
	RS_MODELS=${RS_MODELS:-10000} RS_VERSIONS=${RS_VERSIONS:-1000000}
fi

# The cases: KEY|LABEL|ARGS (ARGS split on spaces; no case needs quotes).
RS_CASES=(
	"rs_list|list|list"
	"rs_list_json|list --json|--json list"
	"rs_list_stage|list --stage production|list --stage production"
	"rs_log|log big -n 20|log big -n 20"
	"rs_where|log big --where f1>=0.8 -n 20|log big --where f1>=0.8 -n 20"
	"rs_show|show big|show big"
	"rs_show_stage|show big@production|show big@production"
	"rs_history|history -n 20|history -n 20"
	"rs_history_big|history big -n 20|history big -n 20"
	"rs_metrics|metrics big@production big@staging|metrics big@production big@staging"
	"rs_status|status|status"
)

# The registry of RS_MODELS models and RS_VERSIONS versions of big at DIR,
# made by the binary BIN (its schema).
rs_make() {
	local dir=$1 bin=$2
	rm -rf "$dir"
	P4REG=$bin regscale_make "$dir" "$RS_MODELS" "$RS_VERSIONS" 3 >/dev/null ||
		die "registry_scale could not make '$dir'"
}

# Times every case with BIN on the registry DIR, samples as KEY SUFFIX.
rs_time() {
	local bin=$1 dir=$2 suffix=$3 c key args
	for c in "${RS_CASES[@]}"; do
		key=${c%%|*}; args=${c##*|}
		# shellcheck disable=SC2086
		fast "$key$suffix" "$bin" -C "$dir" $args
	done
}

registry_measure() {
	if ! command -v sqlite3 >/dev/null 2>&1; then
		say "bench: registry scale skipped: the sqlite3 shell is missing (apt-get install sqlite3)"
		RS_SKIPPED=1
		return 0
	fi
	# about 0.7 KiB a version (rows and indexes), twice with RS_BASE
	if [ "$(df -Pk "$W" | awk 'NR == 2 { print $4 }')" -lt $((RS_VERSIONS * 2 + 262144)) ]; then
		say "bench: registry scale skipped: it needs about $((RS_VERSIONS * 2 / 1024 + 256)) MiB free in $W"
		RS_SKIPPED=1
		return 0
	fi
	RS_SKIPPED=0
	say "bench: registry of $RS_MODELS models, one with $RS_VERSIONS versions (bench/registry_scale.sh)"
	local s e
	s=$(date +%s%N)
	rs_make "$W/regscale" "$P4REG"
	e=$(date +%s%N)
	RS_MADE_MS=$(( (e - s) / 1000000 ))
	RS_SIZE=$(du -h "$W/regscale/.p4reg/registry.db" | cut -f1)
	rs_time "$P4REG" "$W/regscale" ""
	if [ -n "${RS_BASE:-}" ]; then
		rs_make "$W/regscale-base" "$RS_BASE"
		rs_time "$RS_BASE" "$W/regscale-base" _base
	fi
}

# One row per case: LABEL, p4reg's median, <= 50 ms, met/unmet. status
# reads each model's work tree file (none here: each is asked of Git LFS),
# O(models) by its nature: its time is shown without a target.
rs_rows() {
	local x=$1 tag=$2 c key label v target verdict
	for c in "${RS_CASES[@]}"; do
		key=${c%%|*}; label=${c#*|}; label=${label%%|*}
		v=$(median "$key$x")
		target="≤ 50 ms"; verdict=$(verdict "$v" "<=" 50)
		if [ "$key" = rs_status ] || [ "$key" = rs_list_json ]; then target="-"; verdict="-"; fi
		echo "| ↳ \`$label\`$tag | $v ms | | | $target | $verdict |"
	done
}

registry_rows() {
	if [ "${RS_SKIPPED:-1}" = 1 ]; then
		echo "| registry scale ($RS_MODELS models, $RS_VERSIONS versions) | skipped (see above) | | | ≤ 50 ms | - |"
		return
	fi
	echo "| registry at scale: $RS_MODELS models, \"big\" with $RS_VERSIONS versions (written in $RS_MADE_MS ms, $RS_SIZE) | | | | | |"
	rs_rows "" ""
	[ -z "${RS_BASE:-}" ] || rs_rows _base " [before: $(basename "$RS_BASE")]"
}

# ---- run alone ------------------------------------------------------------------

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	RS_MODELS=10000 RS_VERSIONS=1000000 FAST_RUNS=20
	while [ $# -gt 0 ]; do
		case "$1" in
		--smoke) RS_MODELS=1000 RS_VERSIONS=10000 FAST_RUNS=2 ;;
		--models) RS_MODELS=${2:?--models needs a number}; shift ;;
		--versions) RS_VERSIONS=${2:?--versions needs a number}; shift ;;
		--runs) FAST_RUNS=${2:?--runs needs a number}; shift ;;
		*) echo "usage: P4REG_BIN=... bash bench/registry.sh [--smoke] [--models N] [--versions N] [--runs N]" >&2; exit 2 ;;
		esac
		shift
	done
	HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	P4REG=$(realpath "${P4REG_BIN:?P4REG_BIN must name the p4reg binary}")
	W=$(mktemp -d "${TMPDIR:-/tmp}/p4reg-rs.XXXXXX")
	LOG=$W/bench.log
	trap 'rm -rf "$W"' EXIT
	# shellcheck source=lib.sh
	. "$HERE/lib.sh"
	registry_measure
	print_header
	registry_rows
	echo "runs: $FAST_RUNS per case after 3 warm-ups; load average $(cut -d' ' -f1-3 /proc/loadavg)"
fi
