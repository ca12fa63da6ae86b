/* The one parallel loop of the core: FN(i) for every i below N on a few
 * threads (the caller's among them), stopping at the first failure. Used
 * wherever independent work items are spread over cores or connections:
 * hashing the files of `add`, transferring objects, S3 parts and ranges. */
#ifndef P4REG_PARALLEL_H
#define P4REG_PARALLEL_H

#include <stddef.h>

/* One work item: 0 or a p4r_code with the thread's error set (error.h). */
typedef int (*p4r_parallel_fn)(size_t index, void *payload);

/* The number of online cores, at least 1. */
unsigned p4r_parallel_cores(void);

/* Runs FN(i, PAYLOAD) for i = 0 .. N-1 on at most THREADS threads (0: one
 * per core; never more than N or 64). Indices are handed out in order, and
 * none after a failure, so every index below a failing one has run.
 * Returns 0, or the failure of the lowest index with its message set on
 * the calling thread -- except that an integrity failure (P4R_EINTEGRITY)
 * is reported before any other, being the more serious news. FN runs
 * concurrently with itself: what it shares through PAYLOAD it locks. */
int p4r_parallel_for(size_t n, unsigned threads, p4r_parallel_fn fn, void *payload);

#endif
