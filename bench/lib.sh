# shellcheck shell=bash
# The timing and reporting helpers of the bench, one copy: sourced by
# bench/run.sh and by each bench/*.sh when it runs on its own. The caller
# sets LOG (where commands' stderr goes), RUNS and WARMUP (rounds), and
# FAST_RUNS and HAVE_HYPERFINE (fast); samples collect in SAMPLES.

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

declare -A SAMPLES=()

# timed CASE CMD...: runs CMD once and records its wall time in ms.
timed() {
	local name=$1 s e
	shift
	s=$(date +%s%N)
	"$@" >/dev/null 2>>"$LOG" || die "'$*' failed (see $LOG): $(tail -n 3 "$LOG")"
	e=$(date +%s%N)
	SAMPLES[$name]+="$(( (e - s) / 1000 )) "
}

# The median of CASE in ms (one decimal), or "" when it has no samples.
median() {
	local v=${SAMPLES[$1]:-}
	[ -n "$v" ] || { echo ""; return; }
	printf '%s\n' $v | sort -n | awk '{ a[NR] = $1 } END {
		m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		printf "%.1f\n", m / 1000 }'
}

# fast CASE CMD...: small commands, many runs (hyperfine when present).
fast() {
	local name=$1 csv=${LOG%/*}/hf.csv i s e
	shift
	if [ "${HAVE_HYPERFINE:-0}" = 1 ]; then
		hyperfine -N --style none --warmup 3 --runs "$FAST_RUNS" --export-csv "$csv" \
			"$(printf '%q ' "$@")" >/dev/null 2>>"$LOG" || die "'$*' failed (see $LOG)"
		SAMPLES[$name]=$(awk -F, 'NR == 2 { printf "%d ", $4 * 1000000 }' "$csv")
		return
	fi
	for i in 1 2 3; do "$@" >/dev/null 2>>"$LOG" || die "'$*' failed (see $LOG): $(tail -n 3 "$LOG")"; done
	for i in $(seq 1 "$FAST_RUNS"); do
		s=$(date +%s%N)
		"$@" >/dev/null 2>>"$LOG"
		e=$(date +%s%N)
		SAMPLES[$name]+="$(( (e - s) / 1000 )) "
	done
}

# Large cases run WARMUP unrecorded rounds, then RUNS recorded ones.
rounds() { seq $((1 - WARMUP)) "$RUNS"; }
record() { [ "$1" -ge 1 ]; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f\n", a / b }'; }
# verdict VALUE OP LIMIT: "met" / "unmet" / "-" (informational only).
verdict() {
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
		if (v == "" || v == "-") { print "-"; exit }
		ok = (op == "<=") ? v <= l + 0 : (op == "<") ? v < l + 0 : v >= l + 0
		print ok ? "met" : "unmet" }'
}
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }

# Every case's samples in ms, for the record under the table.
print_samples() {
	local k
	printf 'samples (ms): '
	for k in $(printf '%s\n' "${!SAMPLES[@]}" | sort); do
		[ "$k" = warmup ] && continue
		printf '%s=[%s] ' "$k" "$(printf '%s\n' ${SAMPLES[$k]} | awk '{ printf "%s%.0f", (NR > 1 ? " " : ""), $1 / 1000 }')"
	done
	echo
}

# The table's header, as every bench prints it.
print_header() {
	echo "| case | p4reg (median) | peer (median) | ratio | target | |"
	echo "|---|---:|---:|---:|---|---|"
}

# What a bench script run on its own sets up (after its options set BIG;
# HERE is its folder): P4REG, DATA (DIR, else bench/data), the work folder
# W = DATA/TAG-work (removed on exit) with LOG, DATA/big.bin of BIG bytes
# (a smaller BIG gets its own, in W), new_repo, and freshen (lines tagged
# TAG). Usage: alone_setup TAG [DIR]
alone_setup() {
	P4REG=$(realpath "${P4REG_BIN:?P4REG_BIN must name the p4reg binary}")
	DATA=${2:-$HERE/data}
	mkdir -p "$DATA"
	W=$DATA/$1-work
	rm -rf "$W" && mkdir -p "$W"
	LOG=$W/bench.log
	trap 'rm -rf "$W"' EXIT
	if [ "$BIG" != $((1024 * MiB)) ]; then DATA=$W/data; mkdir -p "$DATA"; fi
	[ "$(stat -c %s "$DATA/big.bin" 2>/dev/null)" = "$BIG" ] ||
		head -c "$BIG" /dev/urandom >"$DATA/big.bin"
	ALONE_TAG=$1
	NONCE=0
	new_repo() { mkdir -p "$1" && git -C "$1" init -q && "$P4REG" -C "$1" -q init; }
	freshen() { NONCE=$((NONCE + 1)); printf '%s %s %s %s\n' "$ALONE_TAG" "$$" "$NONCE" "$(date +%s%N)" >>"$1"; }
}
