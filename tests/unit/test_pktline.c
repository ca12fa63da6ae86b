/* Unit tests for pktline.c: git's pkt-line length header is exactly four
 * hex digits, with 0000/0001/0002 the only lengths under 4. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/pktline.h"

#include <string.h>

static void test_length_good(void **state)
{
	static const struct {
		const char *hdr;
		size_t len;
	} cases[] = {
		{ "0000", P4R_PKT_FLUSH }, { "0001", P4R_PKT_DELIM }, { "0002", P4R_PKT_RESPONSE_END },
		{ "0004", 4 }, { "000a", 10 }, { "000A", 10 }, { "00aB", 171 }, { "1234", 0x1234 },
		{ "fff0", P4R_PKT_MAX }, { "FFF0", P4R_PKT_MAX },
	};
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = 99;
		if (p4r_pkt_length_decode(&n, cases[i].hdr) != 0)
			fail_msg("'%s' was refused: %s", cases[i].hdr, p4r_error_message());
		assert_int_equal(n, cases[i].len);
	}
}

static void test_length_bad(void **state)
{
	/* strtoul took all the first four: a sign, a blank, "0x". */
	static const char *const bad[] = {
		"+12a", " 12a", "0x12", "0X12", "-001", "12a ", "\t12a", "zzzz", "12g4", "00 4",
		"0003", "fff1", "fff4", "ffff",
	};
	char nul[4] = { '0', '0', '4', '\0' };
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (p4r_pkt_length_decode(&n, bad[i]) != P4R_ERROR)
			fail_msg("'%s' was accepted as %zu", bad[i], n);
		assert_int_equal(n, 0);
		assert_non_null(strstr(p4r_error_message(), "packet length"));
	}
	assert_int_equal(p4r_pkt_length_decode(&n, nul), P4R_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_length_good),
		cmocka_unit_test(test_length_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
