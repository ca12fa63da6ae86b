/* Loading a shared library by its SONAME on first use (see dl.h). */
#include "util/dl.h"
#include "util/testknob.h"
#include "p4reg/error.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* What a test asks to be missing (P4REG_TEST_DL_MISSING). */
static long missing(void)
{
	return p4r_test_knob("P4REG_TEST_DL_MISSING");
}

static int refuse_open(const p4r_dl_lib *lib, const char *soname)
{
	const char *why = dlerror();

	return p4r_error_set(P4R_ERROR, "cannot load %s ('%s'), which this command needs: install the "
			     "package '%s' (%s)", lib->what, soname, lib->package, why ? why : "not found");
}

/* Looks every name of LIB up in HANDLE into SLOTS. */
static int resolve(const p4r_dl_lib *lib, void *handle, void **slots)
{
	size_t i;

	for (i = 0; i < lib->n; i++) {
		const char *name = lib->names[i];

		if (i == 0 && (missing() & (lib->knob << 8)))
			name = "p4reg_test_missing_function";
		if (!(slots[i] = dlsym(handle, name)))
			return p4r_error_set(P4R_ERROR, "%s ('%s') has no function '%s' (too old?): install "
					     "the package '%s'", lib->what, lib->soname, name, lib->package);
	}
	return 0;
}

static int load_locked(const p4r_dl_lib *lib)
{
	const char *soname = (missing() & lib->knob) ? "libp4reg-test-missing.so.0" : lib->soname;
	void **slots = calloc(lib->n, sizeof(*slots)), *handle;
	int rc;

	if (!slots)
		return p4r_error_set(P4R_ERROR, "out of memory");
	/* lazy binding: libgit2's own calls are resolved as they are made */
	if (!(handle = dlopen(soname, RTLD_LAZY | RTLD_LOCAL))) {
		free(slots);
		return refuse_open(lib, soname);
	}
	if ((rc = resolve(lib, handle, slots)) == 0)
		memcpy(lib->table, slots, lib->n * sizeof(*slots));
	else
		dlclose(handle);
	free(slots);
	return rc;
}

int p4r_dl_load(const p4r_dl_lib *lib)
{
	int rc = 0;

	pthread_mutex_lock(&lock);
	if (!lib->table[0])
		rc = load_locked(lib);
	pthread_mutex_unlock(&lock);
	return rc;
}
