#!/usr/bin/env bash
# bench/registry_scale.sh: makes a registry at scale for the benchmark
# (issue 18, docs/performance.md "Registry at scale") in seconds instead of
# the hours a million `p4reg add` would take: a fresh `p4reg init` writes the
# schema, then sqlite3 inserts the rows directly, as p4reg itself writes them
# (src/core/registry/registry.c's migrations are the schema).
#
#   P4REG_BIN=build-rel/p4reg bash bench/registry_scale.sh DIR [--models N] [--versions N] [--per N]
#
# DIR (new or empty) becomes a git work tree with a p4reg repository whose
# registry holds N models (default 10,000): "big" with --versions versions
# (default 1,000,000) and metrics f1 and loss on each, and N - 1 models
# m00001... with --per versions each (default 3: production, staging,
# development) and an accuracy each. Every version has its register event,
# every promotion its promote event; all events but the last five are
# published (event_sync rows in batches of 100, as a clone that fetched them
# holds them), the last five are local. One version in a thousand of "big"
# was deleted (p4reg rm). "big" has a model tag, three version tags and an
# alias. Data is deterministic except the random oids.
#
# bench/registry.sh sources this file for regscale_make; run alone it makes
# DIR and prints the row counts.

# regscale_make DIR MODELS VERSIONS PER: the repository described above.
regscale_make() {
	local dir=$1 nmodels=$2 nbig=$3 per=$4 db t0=1767225600000
	mkdir -p "$dir"
	git -C "$dir" init -q
	git -C "$dir" config user.name bench
	git -C "$dir" config user.email bench@example.invalid
	"$P4REG" -C "$dir" -q init
	db=$dir/.p4reg/registry.db
	[ -f "$db" ] || { echo "registry_scale: no registry at '$db'" >&2; return 1; }
	# No journal while the rows go in (a failed run is thrown away, not
	# recovered), a large page cache for the index inserts, then WAL again
	# as p4reg keeps it.
	sqlite3 "$db" >/dev/null <<EOF
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -1048576;
PRAGMA foreign_keys = OFF;
BEGIN;
INSERT INTO models(id, name, path, created_ms, description)
	VALUES (1, 'big', 'big.bin', $t0, 'one model, many versions');
WITH RECURSIVE k(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM k WHERE i < $nmodels)
INSERT INTO models(id, name, path, created_ms)
	SELECT i, printf('m%05d', i - 1), printf('models/m%05d.bin', i - 1), $t0 + i FROM k;
-- big: versions 1..N a minute apart; one in a thousand deleted (archived)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $nbig)
INSERT INTO versions(id, model_id, number, oid, size, author, created_ms, message, source_path,
		     git_commit, git_branch, git_dirty, stage, deleted_ms)
	SELECT i, 1, i, lower(hex(randomblob(32))), 1000000 + i, 'bench', $t0 + i * 60000,
	       'version ' || i, 'big.bin', printf('%040x', i), 'main', 0,
	       CASE WHEN i % 1000 = 500 THEN 'archived' WHEN i = $nbig - 2 THEN 'production'
		    WHEN i = $nbig - 1 THEN 'staging' ELSE 'development' END,
	       CASE WHEN i % 1000 = 500 THEN $t0 + i * 60000 + 1000 END
	FROM n;
-- the other models: PER versions each, the first in production, the
-- second in staging
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $per)
INSERT INTO versions(model_id, number, oid, size, author, created_ms, message, source_path,
		     git_commit, git_branch, git_dirty, stage)
	SELECT m.id, n.i, lower(hex(randomblob(32))), 2000 + n.i, 'bench', m.created_ms + n.i,
	       'version ' || n.i, m.path, printf('%040x', m.id * 100 + n.i), 'main', 0,
	       CASE n.i WHEN 1 THEN 'production' WHEN 2 THEN 'staging' ELSE 'development' END
	FROM models m, n WHERE m.id > 1 ORDER BY m.id, n.i;
INSERT INTO events(model_id, version_id, kind, from_stage, to_stage, forced, actor, at_ms, reason)
	SELECT model_id, id, 'register', NULL, 'development', 0, 'bench', created_ms, message
	FROM versions ORDER BY id;
INSERT INTO events(model_id, version_id, kind, from_stage, to_stage, forced, actor, at_ms, reason, detail)
	SELECT model_id, id, 'promote', 'development', stage, 1, 'bench', created_ms + 30000, 'bench',
	       '{"conditions":[],"replaced":null}'
	FROM versions WHERE stage IN ('production', 'staging') ORDER BY id;
INSERT INTO events(model_id, version_id, kind, from_stage, to_stage, forced, actor, at_ms, reason)
	SELECT model_id, id, 'delete', 'development', 'archived', 0, 'bench', deleted_ms, 'bench'
	FROM versions WHERE deleted_ms IS NOT NULL ORDER BY id;
-- a clone that fetched everything but its last five events
INSERT INTO event_sync(event_id, uuid, seq, idx)
	SELECT id, lower(hex(randomblob(16))), (id - 1) / 100 + 1, (id - 1) % 100
	FROM events WHERE id <= (SELECT max(id) - 5 FROM events) ORDER BY id;
INSERT INTO remote_state(url, applied_seq)
	SELECT 'bench-remote', coalesce(max(seq), 0) FROM event_sync;
-- metrics outside any run (run_id NULL): f1 and loss on big, accuracy elsewhere
INSERT INTO metrics(version_id, run_id, key, value, step, at_ms)
	SELECT id, NULL, 'f1', ((id * 7919) % 100000) / 100000.0, 0, created_ms
	FROM versions WHERE model_id = 1 ORDER BY id;
INSERT INTO metrics(version_id, run_id, key, value, step, at_ms)
	SELECT id, NULL, 'loss', ((id * 104729) % 100000) / 50000.0, 0, created_ms
	FROM versions WHERE model_id = 1 ORDER BY id;
INSERT INTO metrics(version_id, run_id, key, value, step, at_ms)
	SELECT id, NULL, 'accuracy', ((id * 7919) % 1000) / 1000.0, 0, created_ms
	FROM versions WHERE model_id > 1 ORDER BY id;
INSERT INTO model_tags(model_id, key, value) VALUES (1, 'team', 'bench');
INSERT INTO version_tags(version_id, key, value)
	SELECT id, 'dataset', 'v' || number FROM versions
	WHERE model_id = 1 AND number IN ($nbig - 2, $nbig - 1, $nbig);
INSERT INTO aliases(model_id, name, version_id, actor, set_ms)
	SELECT 1, 'champion', id, 'bench', created_ms FROM versions WHERE model_id = 1 AND number = $nbig - 2;
COMMIT;
PRAGMA journal_mode = WAL;
EOF
	# rows p4reg would refuse to write are a broken generator, not a bench
	if [ -n "$(sqlite3 "$db" 'PRAGMA foreign_key_check')" ]; then
		echo "registry_scale: the rows break a foreign key" >&2
		return 1
	fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	usage() { echo "usage: P4REG_BIN=... bash bench/registry_scale.sh DIR [--models N] [--versions N] [--per N]" >&2; exit 2; }
	[ $# -ge 1 ] || usage
	DIR=$1 MODELS=10000 VERSIONS=1000000 PER=3
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
		--models) MODELS=${2:?}; shift ;;
		--versions) VERSIONS=${2:?}; shift ;;
		--per) PER=${2:?}; shift ;;
		*) usage ;;
		esac
		shift
	done
	command -v sqlite3 >/dev/null || { echo "registry_scale: needs the sqlite3 shell (apt-get install sqlite3)" >&2; exit 77; }
	P4REG=$(realpath "${P4REG_BIN:?P4REG_BIN must name the p4reg binary}")
	[ ! -e "$DIR" ] || [ -z "$(ls -A "$DIR")" ] || { echo "registry_scale: '$DIR' is not empty" >&2; exit 1; }
	s=$(date +%s%N)
	regscale_make "$DIR" "$MODELS" "$VERSIONS" "$PER"
	e=$(date +%s%N)
	echo "registry_scale: $DIR in $(( (e - s) / 1000000 )) ms:" \
		"$(sqlite3 "$DIR/.p4reg/registry.db" "SELECT (SELECT count(*) FROM models) || ' models, ' ||
			(SELECT count(*) FROM versions) || ' versions, ' || (SELECT count(*) FROM events) ||
			' events, ' || (SELECT count(*) FROM metrics) || ' metric points'")," \
		"$(du -h "$DIR/.p4reg/registry.db" | cut -f1)"
fi
