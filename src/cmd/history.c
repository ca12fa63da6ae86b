/* p4reg history [MODEL]: the audit trail of registrations, stage changes,
 * rollbacks and hook results, oldest first. */
#include "cmd.h"
#include "p4reg/metrics.h"
#include "p4reg/output.h"
#include "p4reg/suggest.h"

#include <stdlib.h>
#include <string.h>

const char cmd_history_usage[] =
	"usage: p4reg history [MODEL] [--kind KIND] [--since DATE] [--until DATE] [-n N]\n"
	"\n"
	"Lists events in the shared log's order (oldest first; events not yet\n"
	"pushed last, so every clone lists the same order): time, model@version,\n"
	"kind (register, promote, rollback, hook, ...), from -> to stage, whether\n"
	"it was forced, who did it and why. Events are append-only: never\n"
	"rewritten or deleted.\n"
	"\n"
	"      --kind KIND    only events of KIND: register, promote, rollback, hook,\n"
	"                     log-metric, move, alias-set, alias-delete, tag-set,\n"
	"                     tag-delete, describe, delete (or any kind the registry\n"
	"                     holds)\n"
	"      --since DATE   only events at or after DATE: 2026-02-18 (midnight UTC)\n"
	"                     or ISO 8601 with a zone, 2026-02-18T09:30:00Z\n"
	"      --until DATE   only events at or before DATE (a date alone: to the end\n"
	"                     of that day)\n"
	"  -n, --max-count N  only the last N events (still oldest first)\n";

enum { OPT_SINCE = 1, OPT_UNTIL, OPT_KIND, OPT_COUNT };

static const p4r_option options[] = {
	{ "since", 0, true, OPT_SINCE },
	{ "until", 0, true, OPT_UNTIL },
	{ "kind", 0, true, OPT_KIND },
	{ "max-count", 'n', true, OPT_COUNT },
	{ NULL, 0, false, 0 },
};

/* The kinds of event this p4reg records (a newer one's, or a remote's,
 * count too once the registry holds one). */
static const char *const kinds[] = { "register", "promote", "rollback", "hook", "log-metric", "move",
				      "alias-set", "alias-delete", "tag-set", "tag-delete", "describe", "delete" };

/* KIND is one --kind may name; else P4R_EUSAGE with the closest kind. */
static int kind_check(p4r_registry *reg, const char *kind)
{
	const size_t n = sizeof(kinds) / sizeof(kinds[0]);
	const char *close;
	bool held = false;
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		if (!strcmp(kind, kinds[i]))
			return 0;
	if ((rc = p4r_registry_event_kind_exists(reg, kind, &held)) < 0 || held)
		return rc;
	rc = p4r_error_set(P4R_EUSAGE, "unknown event kind '%s'", kind);
	if ((close = p4r_suggest_among(kind, kinds, n)))
		p4r_error_hint("did you mean '%s'?", close);
	return rc;
}

/* time, model@version, kind, from -> to, forced, actor, reason: columns
 * as wide as their longest value, at least as wide as they always were. */
static const cmd_column columns[] = {
	{ 0, false, "  " }, { 16, false, NULL }, { 10, false, NULL }, { 26, false, NULL },
	{ 6, false, "  " }, { 0, false, "  " }, { 0, false, NULL },
};

static int add_event_row(cmd_table *t, const p4r_event *e)
{
	char when[32], who[P4R_MODEL_NAME_MAX + 24], move[40] = "";
	const char *row[7] = { when, who, e->kind, move, e->forced ? "forced" : "", e->actor, e->reason };

	p4r_format_time(when, sizeof(when), e->at_ms);
	if (e->version > 0)
		snprintf(who, sizeof(who), "%s@%lld", e->model, (long long)e->version);
	else
		snprintf(who, sizeof(who), "%s", e->model);
	if (e->from_stage[0] || e->to_stage[0])
		snprintf(move, sizeof(move), "%s -> %s", e->from_stage[0] ? e->from_stage : "-",
			 e->to_stage[0] ? e->to_stage : "-");
	else
		p4r_event_label(move, sizeof(move), e); /* alias and tag events */
	return cmd_table_row(t, row);
}

static int print_text(const p4r_event *events, size_t n)
{
	cmd_table *t = cmd_table_new(columns, sizeof(columns) / sizeof(columns[0]));
	size_t i;
	int rc = t ? 0 : p4r_error_set(P4R_ERROR, "out of memory");

	for (i = 0; rc == 0 && i < n; i++)
		rc = add_event_row(t, &events[i]);
	if (rc == 0)
		cmd_table_print(t);
	cmd_table_free(t);
	return rc;
}

/* One option or the MODEL into F. */
static int take_option(p4r_cli *cli, p4r_event_filter *f, int id, const char *value)
{
	switch (id) {
	case OPT_SINCE:
		return p4r_metrics_parse_time(&f->since_ms, value);
	case OPT_UNTIL:
		return p4r_metrics_parse_time_end(&f->until_ms, value);
	case OPT_KIND:
		f->kind = value;
		return 0;
	case OPT_COUNT:
		return cmd_parse_count(&f->limit, "-n", value);
	default:
		if (f->model)
			return cmd_usage_error(cli, "history takes at most one MODEL");
		f->model = value;
		return cmd_model_arg("history", value);
	}
}

int cmd_history(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_event_filter f = { 0 };
	p4r_event *events = NULL;
	const char *value;
	size_t n = 0, i;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE)
		if ((rc = take_option(cli, &f, id, value)) < 0)
			return rc;
	if (rc < 0 || (f.kind && (rc = kind_check(p4r_repo_registry(repo), f.kind)) < 0))
		return rc;
	if ((rc = p4r_registry_event_query(p4r_repo_registry(repo), &f, &events, &n)) < 0)
		return rc;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "events");

		for (i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, p4r_json_event(&events[i]));
		rc = cmd_print_json(doc);
	} else {
		rc = print_text(events, n);
	}
	p4r_event_array_free(events, n);
	return rc;
}
