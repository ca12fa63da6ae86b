/* libcurl loaded with dlopen on first use (libcurl_dl.h, util/dl.h). */
#include "remote/libcurl_dl.h"
#include "p4reg/error.h"

#include <pthread.h>

void *p4r_libcurl_tab[P4R_CURL_COUNT];

static const char *const names[] = {
#define P4R_SYM(name) #name,
#define P4R_SYM_VOID(name) #name,
#include "remote/libcurl_syms.h"
#undef P4R_SYM
#undef P4R_SYM_VOID
};

static const p4r_dl_lib libcurl = {
	.what = "libcurl",
	.soname = P4R_LIBCURL_SONAME,
	.package = P4R_LIBCURL_PACKAGE,
	.names = names,
	.n = P4R_CURL_COUNT,
	.table = p4r_libcurl_tab,
	.knob = 2,
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static CURLcode global_rc = CURLE_FAILED_INIT;

/* curl_global_init is not thread-safe in every libcurl: once, under a lock. */
int p4r_libcurl_init(void)
{
	int rc = p4r_dl_load(&libcurl);

	if (rc < 0)
		return rc;
	pthread_mutex_lock(&lock);
	if (global_rc != CURLE_OK)
		global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (global_rc != CURLE_OK)
		rc = p4r_error_set(P4R_ERROR, "cannot initialise libcurl: %s", curl_easy_strerror(global_rc));
	pthread_mutex_unlock(&lock);
	return rc;
}
