/* The progress line on stderr (cmd.h, cmd_progress): drawn only when
 * cli->progress (stderr a terminal, neither --json nor --quiet), at most
 * ten times a second, as wide as the terminal, and wiped when its step
 * ends or a message is printed. The line itself is made by
 * p4r_progress_line (core/util/progress.c), which does no I/O. */
#include "cmd.h"
#include "p4reg/progress.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define REDRAW_MS 100 /* ten lines a second at most */

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* $COLUMNS first (as git), else the terminal's width, else 80. */
static int terminal_width(void)
{
	const char *env = getenv("COLUMNS");
	struct winsize ws;
	char *end;
	long n;

	if (env && *env) {
		n = strtol(env, &end, 10);
		if (!*end && n > 0 && n <= 10000)
			return (int)n;
	}
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* At most the width less one column: a line that long never wraps, even
 * after the terminal got narrower than the line drawn before. */
static size_t fit(size_t cols, int width)
{
	return width > 1 && cols > (size_t)width - 1 ? (size_t)width - 1 : cols;
}

/* Writes "\r", LINE (COLS wide) and spaces over what is left of a longer
 * line before. */
static void draw(cmd_progress *p, const char *line, size_t cols, int width)
{
	char pad[1024];
	size_t before = fit(p->drawn_cols, width), n = before > cols ? before - cols : 0;

	if (n >= sizeof(pad))
		n = sizeof(pad) - 1;
	memset(pad, ' ', n);
	pad[n] = '\0';
	fprintf(stderr, "\r%s%s", line, pad);
	fflush(stderr);
	p->drawn = true;
	p->drawn_cols = cols;
}

/* A step other than the one shown: another label or unit, other totals,
 * or counts that went back. */
static bool new_step(const cmd_progress *p, const p4r_progress *c)
{
	const p4r_progress *l = &p->last;

	return !p->started || strncmp(c->label ? c->label : "", p->last_label, sizeof(p->last_label) - 1) ||
	       c->unit != l->unit || c->has_bytes != l->has_bytes ||
	       c->items_total != l->items_total || c->bytes_total != l->bytes_total || c->items < l->items ||
	       c->bytes < l->bytes;
}

void cmd_progress_show(const p4r_progress *c, void *payload)
{
	cmd_progress *p = payload;
	char line[1024];
	int64_t now;
	size_t cols;
	int width;

	if (!p || !p->cli->progress)
		return;
	now = monotonic_ms();
	if (new_step(p, c)) {
		p4r_rate_reset(&p->rate);
		p->started = true;
		p->ended = false;
		p->last_ms = 0;
		snprintf(p->last_label, sizeof(p->last_label), "%s", c->label ? c->label : "");
	} else if (p->ended) {
		return; /* its last line was drawn: nothing new */
	}
	p->last = *c;
	p->last.label = NULL; /* the caller's; P keeps its own copy */
	p->ended = p4r_progress_reached(c);
	p4r_rate_add(&p->rate, now, p4r_progress_amount(c));
	if (p->drawn && now - p->last_ms < REDRAW_MS && !p->ended)
		return;
	p->last_ms = now;
	width = terminal_width();
	cols = p4r_progress_line(line, sizeof(line), p4r_escape(c->label), c, &p->rate, now, width);
	draw(p, line, cols, width);
}

void cmd_progress_done(cmd_progress *p)
{
	char blank[1024];
	size_t n;

	if (!p || !p->drawn) {
		if (p)
			p->drawn = false;
		return;
	}
	n = fit(p->drawn_cols, terminal_width());
	if (n > sizeof(blank) - 1)
		n = sizeof(blank) - 1;
	memset(blank, ' ', n);
	blank[n] = '\0';
	fprintf(stderr, "\r%s\r", blank);
	fflush(stderr);
	p->drawn = false;
	p->drawn_cols = 0;
}
