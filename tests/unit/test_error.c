/* Unit tests for error.c: messages that quote the previous message, and
 * truncation that never leaves half a UTF-8 character. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/output.h"

#include <errno.h>
#include <string.h>

/* "'%s': %s" with p4r_error_message() as an argument once overlapped the
 * buffer vsnprintf wrote into. */
static void test_quote_previous(void **state)
{
	(void)state;
	p4r_error_set(P4R_EUSAGE, "'%s' is out of range", "1e-400");
	assert_int_equal(p4r_error_set(P4R_EUSAGE, "'%s': %s", "eval.json", p4r_error_message()), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "'eval.json': '1e-400' is out of range");
	errno = EACCES;
	p4r_error_set(P4R_ERROR, "inner");
	assert_int_equal(p4r_error_errno("outer (%s)", p4r_error_message()), P4R_ERROR);
	assert_string_equal(p4r_error_message(), "outer (inner): Permission denied");
}

/* A message cut at the buffer's size ends on a whole character. */
static void test_truncation_utf8(void **state)
{
	char name[2048];
	const char *msg;
	size_t len, pad;

	(void)state;
	for (pad = 0; pad < 4; pad++) {
		memset(name, 'a', pad);
		/* two-, three- and four-byte characters across the cut */
		for (len = pad; len + 9 < sizeof(name); len += 9)
			memcpy(name + len, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9);
		name[len] = '\0';
		p4r_error_set(P4R_EUSAGE, "bad name '%s'", name);
		msg = p4r_error_message();
		assert_true(strlen(msg) > 1000 && strlen(msg) < 1024);
		if (!p4r_utf8_valid(msg, strlen(msg)))
			fail_msg("pad %zu: message ends in half a character", pad);
	}
	/* a hostile name that is not UTF-8 at all is left as it is */
	p4r_error_set(P4R_EUSAGE, "bad '%s'", "\xe2\x82");
	assert_string_equal(p4r_error_message(), "bad '\xe2\x82'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote_previous),
		cmocka_unit_test(test_truncation_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
