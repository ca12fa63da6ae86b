/* JSON shapes and human formats shared by the commands (see output.h). */
#include "p4reg/output.h"

#include <stdio.h>
#include <time.h>

void p4r_format_time(char *buf, size_t bufsz, int64_t ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&secs, &tm) || !strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, bufsz, "?");
}

void p4r_format_size(char *buf, size_t bufsz, uint64_t bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, bufsz, "%llu B", (unsigned long long)bytes);
		return;
	}
	while (v >= 1024.0 && u < 4) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, bufsz, "%.1f %s", v, units[u]);
}

static void add_time(cJSON *obj, const char *key, int64_t ms)
{
	char buf[32];

	p4r_format_time(buf, sizeof(buf), ms);
	cJSON_AddStringToObject(obj, key, buf);
}

static void add_string_or_null(cJSON *obj, const char *key, const char *s)
{
	if (s)
		cJSON_AddStringToObject(obj, key, s);
	else
		cJSON_AddNullToObject(obj, key);
}

cJSON *p4r_json_version(const p4r_version *v)
{
	cJSON *o = cJSON_CreateObject(), *git;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "model", v->model);
	cJSON_AddNumberToObject(o, "version", (double)v->number);
	cJSON_AddStringToObject(o, "oid", v->oid.hex);
	cJSON_AddNumberToObject(o, "size", (double)v->size);
	cJSON_AddStringToObject(o, "stage", p4r_stage_name(v->stage));
	cJSON_AddBoolToObject(o, "rolled_back", v->rolled_back);
	add_string_or_null(o, "author", v->author);
	add_time(o, "created", v->created_ms);
	cJSON_AddStringToObject(o, "message", v->message ? v->message : "");
	add_string_or_null(o, "path", v->source_path);
	git = cJSON_AddObjectToObject(o, "git");
	add_string_or_null(git, "commit", v->git_commit);
	add_string_or_null(git, "branch", v->git_branch);
	if (v->git_dirty < 0)
		cJSON_AddNullToObject(git, "dirty");
	else
		cJSON_AddBoolToObject(git, "dirty", v->git_dirty);
	return o;
}

static void add_number_or_null(cJSON *obj, const char *key, int64_t n)
{
	if (n > 0)
		cJSON_AddNumberToObject(obj, key, (double)n);
	else
		cJSON_AddNullToObject(obj, key);
}

cJSON *p4r_json_model(const p4r_model *m)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", m->name);
	add_string_or_null(o, "path", m->path);
	cJSON_AddNumberToObject(o, "versions", (double)m->version_count);
	add_number_or_null(o, "latest", m->latest);
	add_number_or_null(o, "staging", m->staging);
	add_number_or_null(o, "production", m->production);
	add_time(o, "created", m->created_ms);
	return o;
}

cJSON *p4r_json_event(const p4r_event *e)
{
	cJSON *o = cJSON_CreateObject(), *detail;

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "id", (double)e->id);
	cJSON_AddStringToObject(o, "model", e->model);
	add_number_or_null(o, "version", e->version);
	cJSON_AddStringToObject(o, "kind", e->kind);
	add_string_or_null(o, "from", e->from_stage[0] ? e->from_stage : NULL);
	add_string_or_null(o, "to", e->to_stage[0] ? e->to_stage : NULL);
	cJSON_AddBoolToObject(o, "forced", e->forced);
	add_string_or_null(o, "actor", e->actor);
	add_time(o, "time", e->at_ms);
	cJSON_AddStringToObject(o, "reason", e->reason ? e->reason : "");
	detail = e->detail ? cJSON_Parse(e->detail) : NULL;
	if (detail)
		cJSON_AddItemToObject(o, "detail", detail);
	else
		cJSON_AddNullToObject(o, "detail");
	return o;
}
