/* The core's parallel loop (see parallel.h). */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "p4reg/parallel.h"
#include "p4reg/error.h"

#define MAX_THREADS 64

struct loop {
	pthread_mutex_t lock;
	p4r_parallel_fn fn;
	void *payload;
	size_t n, next;
	bool stopped;
	int code;          /* the reported failure, 0 while none */
	size_t code_index; /* its index */
	char msg[1024];
};

unsigned p4r_parallel_cores(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	return cores > 0 ? (unsigned)cores : 1;
}

/* True when a failure RC at INDEX is the one to report over the current. */
static bool outranks(const struct loop *l, int rc, size_t index)
{
	if (l->code == 0)
		return true;
	if ((rc == P4R_EINTEGRITY) != (l->code == P4R_EINTEGRITY))
		return rc == P4R_EINTEGRITY;
	return index < l->code_index;
}

static void record(struct loop *l, int rc, size_t index)
{
	pthread_mutex_lock(&l->lock);
	l->stopped = true;
	if (outranks(l, rc, index)) {
		l->code = rc;
		l->code_index = index;
		snprintf(l->msg, sizeof(l->msg), "%s", p4r_error_message());
	}
	pthread_mutex_unlock(&l->lock);
}

static void *worker(void *arg)
{
	struct loop *l = arg;

	for (;;) {
		size_t i;
		int rc;

		pthread_mutex_lock(&l->lock);
		if (l->stopped || l->next >= l->n) {
			pthread_mutex_unlock(&l->lock);
			return NULL;
		}
		i = l->next++;
		pthread_mutex_unlock(&l->lock);
		if ((rc = l->fn(i, l->payload)) < 0)
			record(l, rc, i);
	}
}

int p4r_parallel_for(size_t n, unsigned threads, p4r_parallel_fn fn, void *payload)
{
	struct loop l = { .fn = fn, .payload = payload, .n = n };
	pthread_t tids[MAX_THREADS];
	size_t want = threads ? threads : p4r_parallel_cores(), started = 0, i;

	if (n == 0)
		return 0;
	if (want > n)
		want = n;
	if (want > MAX_THREADS)
		want = MAX_THREADS;
	if (pthread_mutex_init(&l.lock, NULL) != 0)
		return p4r_error_set(P4R_ERROR, "cannot create a lock");
	/* a thread that cannot start leaves its share to the others */
	for (i = 1; i < want; i++)
		if (pthread_create(&tids[started], NULL, worker, &l) == 0)
			started++;
	worker(&l);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	pthread_mutex_destroy(&l.lock);
	if (l.code < 0)
		return p4r_error_set(l.code, "%s", l.msg);
	return 0;
}
