/* Shared libraries loaded on first use (dlopen), internal to src/core.
 * p4reg links neither libgit2 nor libcurl: their dependency trees (TLS,
 * SSH, HTTP/2, Kerberos, LDAP: 35 libraries) cost every command its
 * start-up while most commands need neither. Each is loaded by its SONAME
 * (found by CMake at configure time) when a command first needs it, and
 * its functions are looked up into a table of slots; git/libgit2_dl.h and
 * remote/libcurl_dl.h map each function's name to its slot, so call sites
 * read as plain libgit2 and libcurl (docs/performance.md, "Start-up"). */
#ifndef P4REG_DL_H
#define P4REG_DL_H

#include <stddef.h>

/* One library: what to load, what to look up, where to put it. */
typedef struct p4r_dl_lib {
	const char *what;          /* "libgit2": for messages */
	const char *soname;        /* "libgit2.so.1.5" */
	const char *package;       /* the Debian package that installs it */
	const char *const *names;  /* the functions, in slot order */
	size_t n;
	void **table;              /* N slots: all NULL until loaded */
	long knob;                 /* its bit in P4REG_TEST_DL_MISSING */
} p4r_dl_lib;

/* Loads LIB once per process (later calls return 0 at once; threads may
 * race, one loads). On failure nothing is loaded, every slot stays NULL
 * and P4R_ERROR is set with a one-line message naming the package to
 * install: the library is absent, unloadable, or lacks a function. A
 * loaded library is never unloaded. In builds with test knobs,
 * P4REG_TEST_DL_MISSING=BITS makes a library look absent (its bit) or
 * lack a function (its bit << 8). */
int p4r_dl_load(const p4r_dl_lib *lib);

/* The slot I of TAB as a pointer to the function NAME (whose declaration
 * gives the type). */
#define P4R_DL_FN(tab, i, name) ((__typeof__(&name))(tab)[i])
/* A call of the void function NAME through its slot; nothing while the
 * library is not loaded (a free of what cannot exist yet). */
#define P4R_DL_VOID(tab, i, name, ...) ((tab)[i] ? P4R_DL_FN(tab, i, name)(__VA_ARGS__) : (void)0)

#endif
