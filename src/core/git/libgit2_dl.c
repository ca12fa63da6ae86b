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

/* libgit2 as Debian builds it (mbedTLS) parses the whole system CA bundle
 * inside git_libgit2_init: 54 of the 68 M instructions of an unchanged
 * `p4reg add`. p4reg never lets libgit2 open a connection (it reads and
 * writes the local repository only; remotes are libcurl's, with OpenSSL),
 * so those certificates would never be used. The executable exports these
 * two names (cmake/p4reg.dynlist); libgit2's calls bind to them before
 * libmbedx509's, and nothing is parsed. Were libgit2 ever to make a TLS
 * connection in p4reg, it would trust no certificate: it fails closed. */
int mbedtls_x509_crt_parse_file(void *chain, const char *path);
int mbedtls_x509_crt_parse_path(void *chain, const char *path);

int mbedtls_x509_crt_parse_file(void *chain, const char *path)
{
	(void)chain;
	(void)path;
	return 0;
}

int mbedtls_x509_crt_parse_path(void *chain, const char *path)
{
	(void)chain;
	(void)path;
	return 0;
}
