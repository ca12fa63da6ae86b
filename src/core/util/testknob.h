/* Test-only environment knobs (P4REG_TEST_*), internal to src/core: they
 * let a test slow a transfer down or shorten a timeout. They exist only in
 * builds configured with -DP4REG_TEST_KNOBS=ON (the default of Debug
 * builds, which the test suite uses); anywhere else p4r_test_knob() is the
 * constant 0 and the variable's name is not even in the binary, so a
 * release p4reg has no hidden environment switches (tests/cli/t_knobs.sh
 * checks this). Spell every knob through this macro, never with getenv. */
#ifndef P4REG_TESTKNOB_H
#define P4REG_TESTKNOB_H

#ifdef P4REG_TEST_KNOBS
#include <stdlib.h>

/* The positive decimal number in environment variable NAME (a string
 * literal "P4REG_TEST_..."), 0 when unset, empty, negative or not a number. */
#define p4r_test_knob(name) p4r_test_knob_read(name)

static inline long p4r_test_knob_read(const char *name)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return 0;
	n = strtol(v, &end, 10);
	return *end || n < 0 ? 0 : n;
}
#else
/* NAME is dropped by the preprocessor: no trace of it is compiled. */
#define p4r_test_knob(name) 0L
#endif

#endif
