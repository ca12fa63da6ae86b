/* SigV4 against AWS's published examples: the aws-sig-v4-test-suite
 * "get-vanilla" case and the S3 documentation's GET Object example; a
 * long session token against an independent (Python hmac) computation. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
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

/* A session token of N base64 characters, the same as the Python reference. */
static char *token(size_t n)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *t = malloc(n + 1);
	size_t i;

	assert_non_null(t);
	for (i = 0; i < n; i++)
		t[i] = al[(i * 7 + 3) % 64];
	t[n] = '\0';
	return t;
}

/* The token is signed whole: 9000 bytes (more than the old 8 KiB canonical
 * request), and a change in its last byte changes the signature. */
static void test_long_session_token(void **state)
{
	p4r_sigv4_key key = { "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3" };
	const char *empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	char *tok = token(9000), out[512];
	p4r_sigv4_header h[] = {
		{ "host", "127.0.0.1:9000" }, { "x-amz-content-sha256", empty },
		{ "x-amz-date", "20240102T030405Z" }, { "x-amz-security-token", tok },
	};
	const char *prefix = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240102/us-east-1/s3/aws4_request,"
			     "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,Signature=";
	char want[400];

	(void)state;
	assert_int_equal(p4r_sigv4_authorization(out, sizeof(out), &key, "GET", "/models/team/log/0000000001.json",
						 "", h, 4, empty, "20240102T030405Z"), 0);
	snprintf(want, sizeof(want), "%s%s", prefix, "aeb2464dd21566551206491bd7b398c32166875f273843eaf75ef24ce6a49806");
	assert_string_equal(out, want);
	tok[8999] = 'Z';
	assert_int_equal(p4r_sigv4_authorization(out, sizeof(out), &key, "GET", "/models/team/log/0000000001.json",
						 "", h, 4, empty, "20240102T030405Z"), 0);
	snprintf(want, sizeof(want), "%s%s", prefix, "ab73f72e4e4178bf64d22c5a14235d32408fd5e4654f455613323492c27ad3b3");
	assert_string_equal(out, want);
	free(tok);
}

/* What cannot be sent as one header line, or does not fit OUT, is an
 * error, never a signature over other bytes. */
static void test_refuses_what_cannot_be_sent(void **state)
{
	p4r_sigv4_key key = { "AKIDEXAMPLE", "secret", "us-east-1", "s3" };
	p4r_sigv4_header h[] = { { "host", "example.com" }, { "x-amz-security-token", "abc\r\nX-Evil: 1" } };
	char out[512], small[64];

	(void)state;
	assert_int_equal(p4r_sigv4_authorization(out, sizeof(out), &key, "GET", "/", "", h, 2,
						 "UNSIGNED-PAYLOAD", "20240102T030405Z"), P4R_ERROR);
	assert_non_null(strstr(p4r_error_message(), "line break"));
	h[1].value = "abc";
	assert_int_equal(p4r_sigv4_authorization(small, sizeof(small), &key, "GET", "/", "", h, 2,
						 "UNSIGNED-PAYLOAD", "20240102T030405Z"), P4R_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_vanilla),
		cmocka_unit_test(test_s3_get_object),
		cmocka_unit_test(test_uri_encode),
		cmocka_unit_test(test_long_session_token),
		cmocka_unit_test(test_refuses_what_cannot_be_sent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
