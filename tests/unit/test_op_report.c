/* Unit tests for the report operation (ops/report.c), called directly on a
 * temporary registry: what it gathers (versions within the limit plus the
 * stage holders, metrics and goals, production against staging, the stage
 * timeline in log order, cut to the limit), the page it draws (every
 * foreign string escaped, nothing to load), the file it writes (atomic,
 * a link replaced rather than followed, folders, FIFOs and missing folders
 * refused with nothing written), and that it changes no row. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/lifecycle.h"
#include "p4reg/metrics.h"
#include "p4reg/ops/report.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"
#include "registry/sql.h" /* p4r_registry_db: a row no p4reg command writes */

#include <dirent.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 1771407000000LL /* 2026-02-18T09:30:00Z */
#define HOSTILE_MSG "<script>alert(\"x\")</script>\x1b[31m & \xe2\x80\xae"
#define HOSTILE_WHO "\"onload=\"alert(1) <evil@example.com>"

struct fx {
	char *dir;
	p4r_repo *repo;
	p4r_registry *reg;
};

static void add_version(struct fx *fx, const char *model, unsigned seed, const char *author, const char *msg)
{
	char path[64];
	p4r_version_input in = { .model = model, .path = path, .size = 1000 + seed, .author = author,
				 .message = msg, .git_dirty = -1, .now_ms = T0 + seed * 60000 };
	bool unchanged = true;

	snprintf(path, sizeof(path), "models/%s.bin", model);
	snprintf(in.oid.hex, sizeof(in.oid.hex), "%064x", seed);
	assert_int_equal(p4r_registry_add_version(fx->reg, &in, NULL, &unchanged), 0);
	assert_false(unchanged);
}

/* f1 and latency_ms on MODEL@NUMBER; with NOTE, a key of its own too. */
static void log_metrics(struct fx *fx, const char *model, int64_t number, double f1, double latency, bool note)
{
	p4r_metric_kv m[3] = { { "f1", f1 }, { "latency_ms", latency }, { "zz_note", 1 } };
	p4r_version v = { 0 };
	p4r_metric_log log = { .version = &v, .metrics = m, .nmetrics = note ? 3 : 2, .actor = "tester",
			       .at_ms = T0 + number * 60000 };

	assert_int_equal(p4r_registry_version_get(fx->reg, model, number, &v), 0);
	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), 0);
	p4r_version_clear(&v);
}

static void promote(struct fx *fx, int64_t number, p4r_stage to, const char *gate, const char *reason)
{
	p4r_gate g;
	p4r_promote_req req = { .model = "emb", .number = number, .to = to, .force = true,
				.actor = HOSTILE_WHO, .reason = reason };
	p4r_promotion p;

	if (gate) {
		assert_int_equal(p4r_gate_parse(&g, gate, NULL), 0);
		req.gates = &g;
		req.ngates = 1;
	}
	assert_int_equal(p4r_lifecycle_promote(fx->reg, &req, &p), 0);
	p4r_promotion_clear(&p);
}

/* emb@1..4 with metrics (zz_note on v2 alone): v1 then v2 in production, a rollback to v1
 * (v2 marked), v3 in staging through a gate; tok@1 without metrics. */
static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	p4r_rollback_req rb = { .model = "emb", .actor = "ops", .reason = "latency <b>spike</b>" };
	p4r_rollback_result rr;

	assert_non_null(fx);
	fx->repo = tu_repo_isolated(&fx->dir, NULL);
	fx->reg = p4r_repo_registry(fx->repo);
	add_version(fx, "emb", 1, "alice", "first");
	add_version(fx, "emb", 2, HOSTILE_WHO, HOSTILE_MSG);
	add_version(fx, "emb", 3, "alice", "third");
	add_version(fx, "emb", 4, "alice", "fourth");
	add_version(fx, "tok", 9, "bob", "");
	log_metrics(fx, "emb", 1, 0.80, 40, false);
	log_metrics(fx, "emb", 2, 0.82, 38, true);
	log_metrics(fx, "emb", 3, 0.85, 45, false);
	promote(fx, 1, P4R_STAGE_PRODUCTION, NULL, "first release");
	promote(fx, 2, P4R_STAGE_PRODUCTION, "f1>=production", "better f1");
	assert_int_equal(p4r_lifecycle_rollback(fx->reg, &rb, &rr), 0);
	p4r_rollback_result_clear(&rr);
	promote(fx, 3, P4R_STAGE_STAGING, "f1>=0.8", NULL);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	p4r_repo_free(fx->repo);
	tu_rmtree_free(fx->dir);
	free(fx);
	return 0;
}

static const p4r_report_model *find(const p4r_report_result *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (!strcmp(r->models[i].model.name, name))
			return &r->models[i];
	fail_msg("model %s not in the report", name);
	return NULL;
}

static void test_gathers_every_model(void **state)
{
	struct fx *fx = *state;
	p4r_report_opts opts = { .now_ms = T0 + 86400000 };
	p4r_report_result r;
	const p4r_report_model *m;
	size_t k;

	assert_int_equal(p4r_report(fx->repo, &opts, NULL, &r), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.models[0].model.name, "emb"); /* by name */
	assert_string_equal(r.models[1].model.name, "tok");
	assert_int_equal(r.limit, P4R_REPORT_LIMIT_DEFAULT);
	assert_int_equal(r.versions, 5);
	m = find(&r, "emb");
	assert_int_equal(m->n, 4);
	assert_int_equal(m->versions[0].number, 4); /* highest first */
	assert_int_equal(m->omitted, 0);
	assert_int_equal(m->model.production, 1);
	assert_int_equal(m->model.staging, 3);
	assert_int_equal(m->versions[m->prod_row].number, 1);
	assert_int_equal(m->versions[m->staging_row].number, 3);
	assert_true(m->versions[2].rolled_back); /* v2 */
	/* the keys, their goals, and production against staging on the keys
	 * either of them logged */
	assert_int_equal(m->metrics.nkeys, 3);
	assert_string_equal(m->metrics.keys[0], "f1");
	assert_string_equal(m->metrics.keys[2], "zz_note");
	assert_int_equal(m->goals[0], P4R_GOAL_MAX);
	assert_int_equal(m->goals[1], P4R_GOAL_MIN);
	assert_int_equal(m->goals[2], P4R_GOAL_UNKNOWN);
	assert_int_equal(m->ndeltas, 2);
	for (k = 0; k < m->ndeltas; k++) {
		assert_non_null(m->deltas[k].prod);
		assert_non_null(m->deltas[k].staging);
	}
	assert_true(m->deltas[0].prod->value == 0.80 && m->deltas[0].staging->value == 0.85);
	assert_string_equal(m->deltas[0].better, "staging");    /* f1 up */
	assert_string_equal(m->deltas[1].better, "production"); /* latency up */
	/* the timeline: stage events only, in log order */
	assert_int_equal(m->nevents, 6);
	assert_string_equal(m->events[0].kind, "promote");
	assert_int_equal(m->events[0].version, 1);
	assert_string_equal(m->events[1].to_stage, "archived"); /* replaced by v2 */
	assert_int_equal(m->events[2].version, 2);
	assert_string_equal(m->events[3].kind, "rollback");
	assert_string_equal(m->events[4].kind, "rollback");
	assert_string_equal(m->events[5].to_stage, "staging");
	assert_false(m->events_cut);
	/* tok: nothing to compare, no metrics, no stage change */
	m = find(&r, "tok");
	assert_int_equal(m->n, 1);
	assert_int_equal(m->prod_row, -1);
	assert_null(m->deltas);
	assert_int_equal(m->metrics.nkeys, 0);
	assert_int_equal(m->nevents, 0);
	assert_non_null(r.html);
	assert_int_equal(strlen(r.html), r.len);
	p4r_report_result_free(&r);
}

static void test_limit_keeps_stage_holders(void **state)
{
	struct fx *fx = *state;
	const char *names[] = { "emb", "emb" };
	p4r_report_opts opts = { .models = names, .nmodels = 2, .limit = 1 };
	p4r_report_result r;
	const p4r_report_model *m;

	assert_int_equal(p4r_report(fx->repo, &opts, NULL, &r), 0);
	assert_int_equal(r.n, 1); /* named twice, shown once */
	m = &r.models[0];
	/* the newest, then staging v3 and production v1, highest first */
	assert_int_equal(m->n, 3);
	assert_int_equal(m->versions[0].number, 4);
	assert_int_equal(m->versions[1].number, 3);
	assert_int_equal(m->versions[2].number, 1);
	assert_int_equal(m->omitted, 1);
	assert_int_equal(m->versions[m->prod_row].number, 1);
	assert_int_equal(m->versions[m->staging_row].number, 3);
	/* the last event only, and the page says the rest was cut */
	assert_int_equal(m->nevents, 1);
	assert_string_equal(m->events[0].to_stage, "staging");
	assert_true(m->events_cut);
	assert_non_null(strstr(r.html, "1 older version is not shown"));
	assert_non_null(strstr(r.html, "Only the last 1 events are shown"));
	p4r_report_result_free(&r);

	opts.limit = -1;
	assert_int_equal(p4r_report(fx->repo, &opts, NULL, &r), P4R_EUSAGE);
	p4r_report_result_free(&r);
}

static void test_page_escapes_everything(void **state)
{
	struct fx *fx = *state;
	p4r_report_opts opts = { 0 };
	p4r_report_result r;
	char *before = tu_registry_dump(fx->reg), *after;

	assert_int_equal(p4r_report(fx->repo, &opts, NULL, &r), 0);
	/* the hostile strings only as text */
	assert_null(strstr(r.html, "<script"));
	assert_null(strstr(r.html, "<evil"));
	assert_null(strstr(r.html, "<b>spike"));
	assert_null(strstr(r.html, "\x1b"));
	assert_null(strstr(r.html, "\xe2\x80\xae"));
	assert_non_null(strstr(r.html, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;\\x1b[31m &amp; \\xe2\\x80\\xae"));
	assert_non_null(strstr(r.html, "&quot;onload=&quot;alert(1) &lt;evil@example.com&gt;"));
	assert_non_null(strstr(r.html, "latency &lt;b&gt;spike&lt;/b&gt;"));
	/* nothing to fetch, nothing to run */
	assert_null(strstr(r.html, "http://"));
	assert_null(strstr(r.html, "https://"));
	assert_null(strstr(r.html, " src="));
	assert_null(strstr(r.html, "<link"));
	assert_null(strstr(r.html, "@import"));
	assert_non_null(strstr(r.html, "Content-Security-Policy\" content=\"default-src 'none'"));
	/* every version and key is on the page; one chart per key */
	assert_non_null(strstr(r.html, "id=\"model-emb-v1\""));
	assert_non_null(strstr(r.html, "id=\"model-emb-v4\""));
	assert_non_null(strstr(r.html, "id=\"model-tok-v1\""));
	assert_non_null(strstr(r.html, "aria-label=\"f1 by version\""));
	assert_non_null(strstr(r.html, "aria-label=\"latency_ms by version\""));
	assert_non_null(strstr(r.html, "aria-label=\"zz_note by version\""));
	assert_null(strstr(r.html, "<tr><td><code>zz_note</code>")); /* not compared */
	/* the passed gate of the production promotion */
	assert_non_null(strstr(r.html, "gate <code>f1&gt;=production</code> passed"));
	p4r_report_result_free(&r);
	after = tu_registry_dump(fx->reg);
	assert_string_equal(before, after); /* read only */
	free(before);
	free(after);
}

/* A registry.db p4reg did not write (a tar of someone's checkout, a copied
 * folder) can hold any text in any column: an event's stage too, which
 * the promotion's "replaced vN in STAGE" line shows. It is text there. */
static void test_foreign_stage_escaped(void **state)
{
	struct fx *fx = *state;
	p4r_report_opts opts = { 0 };
	p4r_report_result r;

	assert_int_equal(sqlite3_exec(p4r_registry_db(fx->reg),
				      "INSERT INTO events(model_id, version_id, kind, from_stage, to_stage, actor,"
				      " at_ms, reason, detail) SELECT m.id, v.id, 'promote', 'staging',"
				      " '<a href=//e.co>', 'eve', 1771407600000, '', '{\"replaced\":1}'"
				      " FROM models m JOIN versions v ON v.model_id = m.id"
				      " WHERE m.name = 'emb' AND v.number = 4", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(p4r_report(fx->repo, &opts, NULL, &r), 0);
	assert_null(strstr(r.html, "<a href=//"));
	assert_non_null(strstr(r.html, "replaced v1 in &lt;a href=//e.co&gt;</div>"));
	p4r_report_result_free(&r);
}

/* -n with the largest count: every version and event, no overflow. */
static void test_limit_max(void **state)
{
	struct fx *fx = *state;
	const char *names[] = { "emb" };
	p4r_report_opts opts = { .models = names, .nmodels = 1 };
	p4r_report_result r;
	size_t nevents;

	assert_int_equal(p4r_report(fx->repo, &opts, NULL, &r), 0);
	nevents = r.models[0].nevents;
	p4r_report_result_free(&r);
	opts.limit = INT64_MAX;
	assert_int_equal(p4r_report(fx->repo, &opts, NULL, &r), 0);
	assert_int_equal(r.models[0].n, 4);
	assert_int_equal(r.models[0].nevents, nevents);
	assert_false(r.models[0].events_cut);
	p4r_report_result_free(&r);
}

static void test_unknown_model(void **state)
{
	struct fx *fx = *state;
	const char *names[] = { "tok", "emd" };
	char *out = p4r_path_join(fx->dir, "r.html");
	p4r_report_opts opts = { .models = names, .nmodels = 2, .output = out };
	p4r_report_result r;

	assert_non_null(out);
	assert_int_equal(p4r_report(fx->repo, &opts, NULL, &r), P4R_ENOTFOUND);
	assert_string_equal(p4r_error_message(), "unknown model 'emd'");
	assert_string_equal(p4r_error_hint_text(), "did you mean 'emb'?");
	assert_int_equal(access(out, F_OK), -1);
	p4r_report_result_free(&r);
	free(out);
}

/* The names in DIR, other than "." and "..", joined by blanks. */
static void list_dir(char *buf, size_t size, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t used = 0;

	assert_non_null(d);
	buf[0] = '\0';
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? " " : "", e->d_name);
	closedir(d);
}

static void test_output_file(void **state)
{
	struct fx *fx = *state;
	char *top = tu_mkdtemp(), *out = p4r_path_join(top, "r.html"), *target, *text, *link, *fifo, *sub,
	     names[256];
	p4r_report_opts opts = { .output = out };
	p4r_report_result r;
	size_t len;

	/* written whole, nothing left beside it */
	free(tu_write(top, "r.html", "old", 3));
	assert_int_equal(p4r_report(fx->repo, &opts, NULL, &r), 0);
	text = tu_slurp(out, &len);
	assert_int_equal(len, r.len);
	assert_memory_equal(text, r.html, len);
	free(text);
	p4r_report_result_free(&r);
	list_dir(names, sizeof(names), top);
	assert_string_equal(names, "r.html");

	/* a link is replaced, its target left alone */
	target = tu_write(top, "target", "keep", 4);
	link = p4r_path_join(top, "link.html");
	assert_int_equal(symlink(target, link), 0);
	opts.output = link;
	assert_int_equal(p4r_report(fx->repo, &opts, NULL, &r), 0);
	p4r_report_result_free(&r);
	text = tu_slurp(target, &len);
	assert_string_equal(text, "keep");
	free(text);
	{
		struct stat st;

		assert_int_equal(lstat(link, &st), 0);
		assert_true(S_ISREG(st.st_mode));
	}

	/* refused before any work: a folder, a FIFO, a missing folder */
	opts.output = top;
	assert_int_equal(p4r_report(fx->repo, &opts, NULL, &r), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "is a folder"));
	p4r_report_result_free(&r);
	fifo = p4r_path_join(top, "fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	opts.output = fifo;
	assert_int_equal(p4r_report(fx->repo, &opts, NULL, &r), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "not a regular file"));
	p4r_report_result_free(&r);
	sub = p4r_path_join(top, "no/such/r.html");
	opts.output = sub;
	assert_int_equal(p4r_report(fx->repo, &opts, NULL, &r), P4R_ENOTFOUND);
	assert_non_null(strstr(p4r_error_message(), "does not exist"));
	assert_null(r.html); /* nothing was gathered */
	p4r_report_result_free(&r);
	list_dir(names, sizeof(names), top);
	assert_non_null(strstr(names, "fifo"));
	assert_null(strstr(names, "no"));
	assert_null(strstr(names, ".r.html"));

	free(sub);
	free(fifo);
	free(link);
	free(target);
	free(out);
	tu_rmtree_free(top);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gathers_every_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_keeps_stage_holders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_escapes_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_stage_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
