/* Printing helpers shared by the commands (see cmd.h). */
#include "cmd.h"
#include "p4reg/objguard.h"
#include "p4reg/registry.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cmd_print_json(cJSON *doc)
{
	char *printed, *text;
	int rc = 0;

	if (!doc)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_json_sanitize(doc)) < 0) {
		cJSON_Delete(doc);
		return rc;
	}
	printed = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	text = printed ? p4r_json_escape_hidden(printed) : NULL;
	cJSON_free(printed);
	if (!text)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (fputs(text, stdout) == EOF || fputc('\n', stdout) == EOF)
		rc = p4r_error_errno("cannot write to standard output");
	free(text);
	return rc;
}

int cmd_usage_error(p4r_cli *cli, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	(void)cli;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p4r_error_set(P4R_EUSAGE, "%s", msg);
	p4r_error_mark_usage();
	return P4R_EUSAGE;
}

/* One line on stderr: PREFIX, then FMT formatted and escaped whole, so
 * its arguments cannot break the line or drive the terminal. */
static void print_line(const char *prefix, const char *fmt, va_list ap)
{
	char *text = NULL;

	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	fprintf(stderr, "%s%s\n", prefix, text ? p4r_escape(text) : "out of memory");
	free(text);
}

void cmd_note(p4r_cli *cli, const char *fmt, ...)
{
	va_list ap;

	if (cli->quiet || cli->json)
		return;
	va_start(ap, fmt);
	print_line("", fmt, ap);
	va_end(ap);
}

void cmd_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_line("p4reg: warning: ", fmt, ap);
	va_end(ap);
}

void cmd_progress_update(uint64_t done, uint64_t total, void *payload)
{
	cmd_progress *p = payload;
	int64_t now;

	if (!p || !p->cli->progress)
		return;
	now = p4r_now_ms();
	if (p->drawn && now - p->last_ms < 100 && done != total)
		return;
	p->last_ms = now;
	p->drawn = true;
	if (total)
		fprintf(stderr, "\r%s: %3d%% (%llu/%llu MiB)", p->label,
			(int)(done * 100 / total), (unsigned long long)(done >> 20),
			(unsigned long long)(total >> 20));
	else
		fprintf(stderr, "\r%s: %llu MiB", p->label, (unsigned long long)(done >> 20));
}

void cmd_progress_done(cmd_progress *p)
{
	if (p && p->drawn)
		fputs("\r\033[K", stderr);
	if (p)
		p->drawn = false;
}

int cmd_next_opt(p4r_opts *o, int *id, const char **value)
{
	int rc = p4r_opts_next(o, id, value);

	if (rc == 0 && *id == P4R_OPT_HELP)
		rc = p4r_error_set(P4R_EUSAGE, "-h/--help must come before '--'");
	if (rc < 0)
		p4r_error_mark_usage();
	return rc;
}

/* ---- the object guard's news (objguard.h) ---- */

void cmd_guard_repaired(const p4r_guard_event *ev, void *payload)
{
	char line[1536];

	(void)payload;
	/* a damaged object that stays so is the command's error */
	if (!ev->repaired[0])
		return;
	p4r_objguard_describe(line, sizeof(line), ev);
	cmd_warn("%s", line);
}

int cmd_guard_report(p4r_cli *cli, const p4r_guard_log *log)
{
	const p4r_guard_event *first = NULL;
	char line[1536];
	size_t i, len;
	int rc;

	for (i = 0; i < log->n; i++) {
		const p4r_guard_event *ev = &log->v[i];

		if (!ev->repaired[0] && !first) {
			first = ev;
			continue;
		}
		p4r_objguard_describe(line, sizeof(line), ev);
		len = strlen(line);
		if (!ev->repaired[0] && len < sizeof(line))
			snprintf(line + len, sizeof(line) - len, "; not repaired%s%s%s",
				 ev->why[0] ? " (" : "", ev->why, ev->why[0] ? ")" : "");
		cmd_warn("%s", line);
	}
	if (!first)
		return 0;
	rc = p4r_objguard_fail(first, first->why);
	if (cli->json) {
		/* stdout already holds the command's one document */
		fprintf(stderr, "p4reg: %s\n", p4r_escape(p4r_error_message()));
		cli->reported = true;
	}
	return rc;
}

void cmd_warn_link_hazard(p4r_repo *repo, const p4r_link_type *order, size_t n)
{
	static bool warned;
	p4r_link_type cfg[P4R_LINK_MAX];

	if (warned)
		return;
	if (n == 0) {
		if (p4r_repo_link_order(repo, cfg, &n) < 0) {
			p4r_error_clear();
			return;
		}
		order = cfg;
	}
	if (!p4r_objguard_hardlink_hazard(order, n))
		return;
	warned = true;
	cmd_warn("core.cacheType hardlink as root: a write to a checked-out file changes the stored "
		 "version too (the read-only bit does not stop root); p4reg re-hashes such objects "
		 "before use, but only a remote or reflink/copy keeps a second copy");
}
