/* SigV4 against AWS's published examples: the aws-sig-v4-test-suite
 * "get-vanilla" case and the S3 documentation's GET Object example. */
#include "testutil.h"
#include "p4reg/sigv4.h"

#include <string.h>

static void test_get_vanilla(void **state)
{
	p4r_sigv4_key key = { "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service" };
	p4r_sigv4_header h[] = { { "Host", "example.amazonaws.com" }, { "X-Amz-Date", "20150830T123600Z" } };
	char out[512];

	(void)state;
	assert_int_equal(p4r_sigv4_authorization(out, sizeof(out), &key, "GET", "/", "", h, 2,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "20150830T123600Z"), 0);
	assert_string_equal(out, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request,"
		"SignedHeaders=host;x-amz-date,"
		"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

static void test_s3_get_object(void **state)
{
	p4r_sigv4_key key = { "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3" };
	const char *empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	p4r_sigv4_header h[] = {
		{ "x-amz-date", "20130524T000000Z" }, { "Range", "bytes=0-9" },
		{ "Host", "examplebucket.s3.amazonaws.com" }, { "x-amz-content-sha256", empty },
	};
	char out[512];

	(void)state;
	assert_int_equal(p4r_sigv4_authorization(out, sizeof(out), &key, "GET", "/test.txt", "", h, 4,
						 empty, "20130524T000000Z"), 0);
	assert_string_equal(out, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
		"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
		"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

static void test_uri_encode(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(p4r_sigv4_uri_encode(out, sizeof(out), "/a b/c~d=e", false), 0);
	assert_string_equal(out, "/a%20b/c~d%3De");
	assert_int_equal(p4r_sigv4_uri_encode(out, sizeof(out), "x/y+z", true), 0);
	assert_string_equal(out, "x%2Fy%2Bz");
	assert_int_not_equal(p4r_sigv4_uri_encode(out, 4, "abcdef", true), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_vanilla),
		cmocka_unit_test(test_s3_get_object),
		cmocka_unit_test(test_uri_encode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
