/* The closest name to a mistyped one (see suggest.h): the optimal string
 * alignment distance over three rows, so long names cost no memory. */
#include "p4reg/suggest.h"

#include <stdint.h>
#include <string.h>

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

size_t p4r_edit_distance(const char *a, const char *b)
{
	size_t rows[3][P4R_SUGGEST_MAX + 1];
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2], *t;

	if (la > P4R_SUGGEST_MAX || lb > P4R_SUGGEST_MAX)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];

			cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
			/* "promtoe" -> "promote": two neighbours swapped is one edit */
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < cur[j])
				cur[j] = prev2[j - 2] + 1;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

void p4r_suggest_init(p4r_suggest *s, const char *word)
{
	s->word = word;
	s->best_dist = SIZE_MAX;
	s->best[0] = '\0';
}

/* How many edits still make a candidate "close" to a word of LEN bytes. */
static size_t allowed(size_t len)
{
	return len <= 3 ? 1 : len <= 6 ? 2 : 3;
}

/* The distance of CANDIDATE to WORD when it is close enough to suggest
 * and closer than BEST; SIZE_MAX otherwise. */
static size_t closer(const char *word, const char *candidate, size_t best)
{
	size_t d, len = strlen(candidate);

	if (!len || len > P4R_SUGGEST_MAX || !strcmp(candidate, word))
		return SIZE_MAX;
	d = p4r_edit_distance(word, candidate);
	return d <= allowed(strlen(word)) && d < len && d < best ? d : SIZE_MAX;
}

void p4r_suggest_offer(p4r_suggest *s, const char *candidate)
{
	size_t d = closer(s->word, candidate, s->best_dist);

	if (d == SIZE_MAX)
		return;
	s->best_dist = d;
	memcpy(s->best, candidate, strlen(candidate) + 1);
}

const char *p4r_suggest_result(const p4r_suggest *s)
{
	return s->best[0] ? s->best : NULL;
}

const char *p4r_suggest_among(const char *word, const char *const *candidates, size_t n)
{
	size_t best = SIZE_MAX, d, i;
	const char *hit = NULL;

	for (i = 0; i < n; i++)
		if ((d = closer(word, candidates[i], best)) != SIZE_MAX) {
			best = d;
			hit = candidates[i];
		}
	return hit;
}
