/* Progress of a long step: the counts the core reports (p4r_progress) and
 * the one line a terminal shows of them, made here without any I/O so a
 * unit test can check it (sizes, counts, the rate over a sliding window,
 * the ETA, the fit to the terminal's width). src/cmd/progress.c draws the
 * line, on a terminal only; the core never prints. */
#ifndef P4REG_PROGRESS_H
#define P4REG_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a long step has done so far: items (files, objects), bytes, or
 * both. A total of 0 is unknown. */
typedef struct p4r_progress {
	const char *label;        /* the step ("add", "pull", a file's path); raw: the
				   * drawer escapes it */
	const char *unit;         /* the items' plural name ("files", "objects"), a
				   * literal; NULL: no items counted */
	uint64_t items, items_total;
	bool has_bytes;           /* bytes counted */
	uint64_t bytes, bytes_total;
} p4r_progress;

/* Gets P: called from one thread at a time; P's counts never go back
 * within a step (a count that does starts a new step). */
typedef void (*p4r_progress_count_fn)(const p4r_progress *p, void *payload);

/* ---- the rate over a sliding window ---- */

#define P4R_RATE_WINDOW_MS 5000  /* the rate is what the last 5 s did */
#define P4R_RATE_MIN_MS 1000     /* and is shown (so is an ETA) only after 1 s */
#define P4R_RATE_SPACING_MS 100  /* samples at least this far apart */
#define P4R_RATE_SAMPLES 64      /* 64 x 100 ms: more than a window */

/* Amounts seen at times (milliseconds of any monotonic clock). Zeroed,
 * or after p4r_rate_reset, it has seen nothing. */
typedef struct p4r_rate {
	int64_t ms[P4R_RATE_SAMPLES];
	uint64_t amount[P4R_RATE_SAMPLES];
	size_t next, n;           /* the ring: next slot to write, samples held */
	int64_t start_ms;         /* the first sample's time */
} p4r_rate;

void p4r_rate_reset(p4r_rate *r);
/* Records AMOUNT (a running total) at NOW_MS; a sample closer than
 * P4R_RATE_SPACING_MS to the last one kept is not kept (the rate then
 * still uses it as the current amount, p4r_rate_get). */
void p4r_rate_add(p4r_rate *r, int64_t now_ms, uint64_t amount);
/* *PER_S: the amount per second from the newest sample at least a window
 * before NOW_MS (else the oldest) to AMOUNT at NOW_MS. False, and *PER_S
 * 0, while that is not meaningful: less than P4R_RATE_MIN_MS since the
 * first sample, or no time between the two. */
bool p4r_rate_get(const p4r_rate *r, int64_t now_ms, uint64_t amount, double *per_s);

/* What the rate, percentage and ETA of P follow, to give p4r_rate_add:
 * its bytes when it counts them (unless only its items have a total),
 * else its items. */
uint64_t p4r_progress_amount(const p4r_progress *p);

/* Whether P's step is over: each count with a known total reached it
 * (at least one has one). */
bool p4r_progress_reached(const p4r_progress *p);

/* ---- formatting ---- */

/* "1,204" (thousands separated by commas). */
void p4r_progress_format_count(char *buf, size_t size, uint64_t n);
/* "0:06", "12:34", "1:02:03" for SECONDS; 100 hours or more "99:59:59+". */
void p4r_progress_format_eta(char *buf, size_t size, uint64_t seconds);

/* The line for P into BUF (SIZE bytes), at most WIDTH - 1 columns (the
 * last column is left free: writing it makes some terminals wrap):
 *   pull  412.0 MiB / 1.0 GiB  38%  96.3 MiB/s  ETA 0:06
 *   add  1,204/10,000 files  48.0 MiB/390.6 MiB  12%  8.1 MiB/s  ETA 0:40
 *   gc  3,120 objects
 * LABEL is P->label as it will be printed (escaped by the caller). The
 * rate and ETA come from RATE over bytes when P counts them, else over
 * items (NULL: neither); the ETA only with a known total. An item count
 * of one beside bytes is left out (one file is its bytes). When the line
 * is too wide the label is cut first ("..." and its end, at a character's
 * boundary; a character beyond ASCII counts as two columns), then the
 * ETA, rate and percentage go, then the rest is cut. Returns the line's
 * width in columns. */
size_t p4r_progress_line(char *buf, size_t size, const char *label, const p4r_progress *p,
			 const p4r_rate *rate, int64_t now_ms, int width);

#endif
