/* Printing helpers shared by the commands (see cmd.h). */
#include "cmd.h"
#include "p4reg/registry.h"

#include <stdarg.h>
#include <stdlib.h>

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
