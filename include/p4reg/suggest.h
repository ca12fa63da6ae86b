/* "did you mean ...?": the closest of a set of names to a mistyped one, by
 * the optimal-string-alignment (restricted Damerau-Levenshtein) distance.
 * One place for every suggestion: commands, models, event kinds. */
#ifndef P4REG_SUGGEST_H
#define P4REG_SUGGEST_H

#include <stddef.h>

/* Names longer than this are never compared (their distance is "far"). */
#define P4R_SUGGEST_MAX 255

/* The number of single-character insertions, deletions, substitutions and
 * swaps of two neighbours that turn A into B (bytes, case-sensitive);
 * SIZE_MAX when either is longer than P4R_SUGGEST_MAX. */
size_t p4r_edit_distance(const char *a, const char *b);

/* The search for the candidate closest to WORD, fed one candidate at a
 * time (a registry's rows are copied as they stream past). */
typedef struct p4r_suggest {
	const char *word;             /* the mistyped name; borrowed */
	size_t best_dist;             /* SIZE_MAX until a candidate is close */
	char best[P4R_SUGGEST_MAX + 1]; /* the closest so far, "" when none */
} p4r_suggest;

void p4r_suggest_init(p4r_suggest *s, const char *word);
/* Considers CANDIDATE: kept when it is close to the word (at most 1 edit
 * for a word of 1..3 characters, 2 for 4..6, 3 beyond, and fewer edits
 * than the candidate has characters) and closer than any earlier one (a
 * tie keeps the earlier). The word itself is never suggested. */
void p4r_suggest_offer(p4r_suggest *s, const char *candidate);
/* The closest candidate offered, or NULL when none was close. */
const char *p4r_suggest_result(const p4r_suggest *s);

/* The closest of N CANDIDATES to WORD (p4r_suggest_offer's rule): one of
 * CANDIDATES (borrowed), or NULL. */
const char *p4r_suggest_among(const char *word, const char *const *candidates, size_t n);

#endif
