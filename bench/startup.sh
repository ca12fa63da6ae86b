# bench/startup.sh: the start-up cases of bench/run.sh (issue 18), sourced
# by it once its helpers exist (gen, new_repo, timed, fast, rounds, record,
# median, ratio, verdict, insn). Targets: `p4reg --version` <= 5 ms and
# within 2x /bin/true; an unchanged add/status of 3 GiB <= 10 ms; the first
# status right after adding 3 x 512 MiB <= 50 ms (files older than a
# timestamp tick are not re-hashed). run.sh measures --version, /bin/true
# and the unchanged 3 GiB; this file adds the rest and prints the rows.

# The first status right after add of three files of HUGE/6 bytes (512 MiB;
# 1 MiB in smoke mode), in a fresh git repository each round: add stages
# the pointers, so the status also reads git's changed index once.
startup_first_status() {
	local i r d=$W/first third=$((HUGE / 6)) a s
	for i in 1 2 3; do gen "$DATA/third$i.bin" "$third"; done
	say "bench: first status right after add of 3 x $((third / MiB)) MiB"
	for r in $(rounds); do
		a=warmup s=warmup   # unrecorded rounds
		record "$r" && a=first_add s=first_status
		rm -rf "$d"
		new_repo "$d"
		for i in 1 2 3; do ln "$DATA/third$i.bin" "$d/part$i.bin"; done
		# written (linked) before add began, as a trained model is: older
		# than any timestamp tick, so add's own stat cache rows stand
		sleep 0.2
		timed "$a" "$P4REG" -C "$d" -q add part1.bin part2.bin part3.bin
		timed "$s" "$P4REG" -C "$d" status
	done
	rm -rf "$d"
	STARTUP_THIRD_MIB=$((third / MiB))
}

# The shared libraries the dynamic loader opens for CMD...
startup_libs() { LD_DEBUG=libs "$@" 2>&1 >/dev/null | grep -c 'calling init:'; }

# Libraries loaded by --version, list and an unchanged status (run.sh's
# registry and unchanged repositories RR and RU).
startup_count_libs() {
	STARTUP_LIBS="--version $(startup_libs "$P4REG" --version), list $(startup_libs "$P4REG" -C "$RR" list),"
	STARTUP_LIBS+=" status $(startup_libs "$P4REG" -C "$RU" status)"
}

# The table rows (markdown), with target and met/unmet.
startup_rows() {
	local v t r
	v=$(median version); t=$(median true); r=$(ratio "$v" "$t")
	echo "| p4reg --version (start-up) | $v ms$(insn version) | /bin/true $t ms | ${r}× | ≤ 5 ms | $(verdict "$v" "<=" 5) |"
	echo "| ↳ within 2× /bin/true | | | ${r}× | ≤ 2× | $(verdict "$r" "<=" 2) |"
	echo "| ↳ shared libraries loaded | ${STARTUP_LIBS:-?} | | | no libgit2, libcurl | |"
	v=$(median add_unchanged)
	echo "| add, unchanged $((HUGE / MiB)) MiB | $v ms$(insn add_unchanged) | | | ≤ 10 ms | $(verdict "$v" "<=" 10) |"
	v=$(median status_unchanged)
	echo "| status, unchanged $((HUGE / MiB)) MiB | $v ms$(insn status_unchanged) | | | ≤ 10 ms | $(verdict "$v" "<=" 10) |"
	v=$(median first_status)
	echo "| first status after add of 3 × ${STARTUP_THIRD_MIB:-?} MiB | $v ms | add $(median first_add) ms | | ≤ 50 ms | $(verdict "$v" "<=" 50) |"
}
