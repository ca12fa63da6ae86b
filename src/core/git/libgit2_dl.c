/* libgit2 loaded with dlopen on first use (libgit2_dl.h, util/dl.h). */
#include "git/libgit2_dl.h"
#include "p4reg/error.h"

void *p4r_libgit2_tab[P4R_LG2_COUNT];

static const char *const names[] = {
#define P4R_SYM(name) #name,
#define P4R_SYM_VOID(name) #name,
#include "git/libgit2_syms.h"
#undef P4R_SYM
#undef P4R_SYM_VOID
};

static const p4r_dl_lib libgit2 = {
	.what = "libgit2",
	.soname = P4R_LIBGIT2_SONAME,
	.package = P4R_LIBGIT2_PACKAGE,
	.names = names,
	.n = P4R_LG2_COUNT,
	.table = p4r_libgit2_tab,
	.knob = 1,
};

int p4r_libgit2_init(void)
{
	int rc = p4r_dl_load(&libgit2);

	if (rc < 0)
		return rc;
	if (git_libgit2_init() < 0)
		return p4r_error_git(P4R_ERROR, "cannot initialise libgit2");
	return 0;
}

void p4r_libgit2_shutdown(void)
{
	if (p4r_libgit2_loaded())
		git_libgit2_shutdown();
}

int p4r_libgit2_loaded(void)
{
	return p4r_libgit2_tab[0] != NULL;
}
