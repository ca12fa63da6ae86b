# The rollback runbook (examples/rollback-runbook.md), run as written: its
# ```sh blocks, in order, as one `bash -euo pipefail` script, in a fresh
# clone. Sourced by t_machines.sh (folder remote) and t_remote_s3.sh (S3).
# systemctl and curl are stubs on PATH that log their calls, so the restart
# hook the runbook configures runs too.

# runbook_fixture REMOTE_ADD_ARGS...: a developer's repository (in $DEV)
# with all-MiniLM-L6-v2 v1 and v2, v1 then v2 promoted to production, and
# everything pushed to the remote `p4reg remote add` makes from the args.
runbook_fixture() {
	DEV=$(mktemp -d "$ROOT_TMP/rb-dev-XXXXXX")
	(
		cd "$DEV" && git init -q . && git config user.name dev && git config user.email d@e &&
		p4reg init >/dev/null && p4reg remote add "$@" >/dev/null 2>&1 &&
		mkdir -p models && m=models/all-MiniLM-L6-v2.onnx &&
		printf 'minilm v1' >"$m" && p4reg add -q "$m" &&
		p4reg log-metric -q all-MiniLM-L6-v2@1 recall@10=0.92 &&
		p4reg promote -q all-MiniLM-L6-v2@1 --to production --force &&
		printf 'minilm v2, worse live' >"$m" && p4reg add -q "$m" &&
		p4reg log-metric -q all-MiniLM-L6-v2@2 recall@10=0.93 &&
		p4reg promote -q all-MiniLM-L6-v2@2 --to production --force &&
		p4reg push -q && git add -A && git commit -qm "models"
	) || fail "runbook fixture"
}

# run_runbook: clones $DEV and runs the runbook's sh blocks in the clone;
# $CODE is their exit status, $RUNBOOK_CLONE the clone, the stubs' calls in
# $ROOT_TMP/rb-stubs/calls.
run_runbook() {
	local stubs=$ROOT_TMP/rb-stubs script=$ROOT_TMP/runbook-steps.sh t
	RUNBOOK_CLONE=$(mktemp -d "$ROOT_TMP/rb-ops-XXXXXX")
	rm -rf "$stubs" && mkdir -p "$stubs"
	for t in systemctl curl; do
		printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\n' "$t" "$stubs" >"$stubs/$t"
		chmod +x "$stubs/$t"
	done
	ln -s "$P4REG_BIN" "$stubs/p4reg"
	{
		echo 'set -euo pipefail'
		awk '/^```sh$/ { on = 1; next } /^```/ { on = 0 } on' "$P4REG_SRC/examples/rollback-runbook.md"
	} >"$script"
	git clone -q "$DEV" "$RUNBOOK_CLONE" || fail "clone for the runbook"
	(cd "$RUNBOOK_CLONE" && git config user.name ops && git config user.email o@e &&
		PATH="$stubs:$PATH" bash "$script") >"$ROOT_TMP/rb-out" 2>"$ROOT_TMP/rb-err"
	CODE=$?
	OUT=$(cat "$ROOT_TMP/rb-out")
	ERR=$(cat "$ROOT_TMP/rb-err")
}

# check_runbook: what the runbook must have done in $RUNBOOK_CLONE.
check_runbook() {
	assert_eq "$CODE" "0" "runbook exit status; stderr: $ERR"
	assert_eq "$(cat "$RUNBOOK_CLONE/models/all-MiniLM-L6-v2.onnx")" "minilm v1" "restored file"
	assert_contains "$(cat "$ROOT_TMP/rb-stubs/calls" 2>/dev/null)" "systemctl --user restart embedder.service"
	assert_contains "$(cat "$ROOT_TMP/rb-stubs/calls" 2>/dev/null)" "curl -fsS localhost:8080/healthz"
	assert_contains "$OUT" "verified: the bytes hash to its oid"
	assert_eq "$(git -C "$RUNBOOK_CLONE" log -1 --format=%s)" "Roll back all-MiniLM-L6-v2 (INC-1234)"
	assert_eq "$(git -C "$RUNBOOK_CLONE" status --porcelain -- models)" "" "pointer committed"
	# the developer's clone sees the rollback after a fetch
	(cd "$DEV" && p4reg fetch -q) || fail "fetch in the developer's clone"
	assert_eq "$(cd "$DEV" && db "SELECT v.number FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'all-MiniLM-L6-v2' AND v.stage = 'production'")" "1" "production seen by the developer"
	assert_eq "$(cd "$DEV" && db "SELECT count(*) FROM metrics WHERE key = 'live_recall@10'")" "1" "post-rollback metric shared"
}
