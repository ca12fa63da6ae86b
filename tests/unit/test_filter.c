/* Unit tests for filter.c: git's long-running filter protocol driven over
 * a pipe, against a real p4reg repository in a temporary folder (no git
 * work tree, so no .git/lfs/objects: the store alone keeps the objects). */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/filter.h"
#include "p4reg/hash.h"
#include "p4reg/pktline.h"
#include "p4reg/repo.h"
#include "p4reg/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HELLO "hello world\n"
#define HELLO_OID "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447"
#define HELLO_PTR "version https://git-lfs.github.com/spec/v1\noid sha256:" HELLO_OID "\nsize 12\n"

struct fx {
	char *dir;
	char failed[1024]; /* "path: why" of the last failed file */
	int nfailed;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->dir = tu_mkdtemp();
	setenv("XDG_CONFIG_HOME", fx->dir, 1);
	unsetenv("P4REG_DIR");
	assert_int_equal(p4r_repo_init(fx->dir, NULL), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	tu_rmtree_free(fx->dir);
	free(fx);
	return 0;
}

static void on_failed(const char *path, const char *why, void *payload)
{
	struct fx *fx = payload;

	snprintf(fx->failed, sizeof(fx->failed), "%s: %s", path, why);
	fx->nfailed++;
}

/* Appends one packet of TEXT (NULL: a flush) to the string at *S. */
static void add(char **s, size_t *len, const char *text)
{
	char hdr[5];
	size_t n = text ? strlen(text) : 0;

	*s = realloc(*s, *len + 4 + n + 1);
	assert_non_null(*s);
	if (text)
		snprintf(hdr, sizeof(hdr), "%04x", (unsigned)(n + 4) & 0xffff);
	memcpy(*s + *len, text ? hdr : "0000", 4);
	memcpy(*s + *len + 4, text ? text : "", n);
	*len += 4 + n;
	(*s)[*len] = '\0';
}

/* git's side of the handshake. */
static void add_hello(char **s, size_t *len)
{
	add(s, len, "git-filter-client\n");
	add(s, len, "version=2\n");
	add(s, len, NULL);
	add(s, len, "capability=clean\n");
	add(s, len, "capability=smudge\n");
	add(s, len, NULL);
}

/* One request: COMMAND of PATH with CONTENT. */
static void add_request(char **s, size_t *len, const char *command, const char *path, const char *content)
{
	char line[256];

	snprintf(line, sizeof(line), "command=%s\n", command);
	add(s, len, line);
	snprintf(line, sizeof(line), "pathname=%s\n", path);
	add(s, len, line);
	add(s, len, NULL);
	if (content[0])
		add(s, len, content);
	add(s, len, NULL);
}

/* Runs the filter in FX's repository on INPUT (git's whole side); returns
 * what the filter answered (malloc'd) and *RC the first failure (the
 * handshake's or a request's). */
static char *run(struct fx *fx, const char *input, size_t len, int *rc)
{
	char tmpl[] = "/tmp/p4reg-filter-XXXXXX";
	int in[2], out = mkstemp(tmpl);
	p4r_filter_opts opts = { .workdir = fx->dir, .file_failed = on_failed, .payload = fx };
	p4r_filter *f = NULL;
	bool eof = false;
	off_t end;
	char *answer;

	assert_true(out >= 0);
	unlink(tmpl);
	assert_int_equal(pipe(in), 0);
	assert_int_equal(write(in[1], input, len), (ssize_t)len);
	close(in[1]);
	opts.in = in[0];
	opts.out = out;
	assert_int_equal(p4r_filter_open(&f, &opts, NULL), 0);
	if ((*rc = p4r_filter_handshake(f)) == 0)
		while (*rc == 0 && !eof)
			*rc = p4r_filter_serve(f, &eof);
	p4r_filter_free(f);
	close(in[0]);
	end = lseek(out, 0, SEEK_END);
	answer = malloc((size_t)end + 1);
	assert_non_null(answer);
	assert_int_equal(pread(out, answer, (size_t)end, 0), end);
	answer[end] = '\0';
	close(out);
	return answer;
}

/* The filter's side of the handshake. */
static void expect_hello(char **s, size_t *len)
{
	add(s, len, "git-filter-server\n");
	add(s, len, "version=2\n");
	add(s, len, NULL);
	add(s, len, "capability=clean\n");
	add(s, len, "capability=smudge\n");
	add(s, len, NULL);
}

/* An answer: STATUS, then CONTENT (NULL: none), then the final lists. */
static void expect_answer(char **s, size_t *len, const char *content)
{
	add(s, len, "status=success\n");
	add(s, len, NULL);
	if (content && content[0])
		add(s, len, content);
	add(s, len, NULL);
	add(s, len, NULL);
}

static void expect_error(char **s, size_t *len)
{
	add(s, len, "status=error\n");
	add(s, len, NULL);
}

static void test_handshake(void **state)
{
	struct fx *fx = *state;
	char *in = NULL, *want = NULL, *got;
	size_t inlen = 0, wantlen = 0;
	int rc;

	add_hello(&in, &inlen);
	expect_hello(&want, &wantlen);
	got = run(fx, in, inlen, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(got, want);
	free(got);
	free(in);
	in = NULL;
	inlen = 0;

	/* a git that speaks only version 3 gets nothing back */
	add(&in, &inlen, "git-filter-client\n");
	add(&in, &inlen, "version=3\n");
	add(&in, &inlen, NULL);
	got = run(fx, in, inlen, &rc);
	assert_int_equal(rc, P4R_ERROR);
	assert_string_equal(p4r_error_message(), "git did not offer 'version=2'");
	assert_string_equal(got, "");
	free(got);
	free(in);
	in = NULL;
	inlen = 0;

	/* nor one that hangs up in the middle */
	add(&in, &inlen, "git-filter-client\n");
	got = run(fx, in, inlen, &rc);
	assert_int_equal(rc, P4R_ERROR);
	assert_string_equal(p4r_error_message(), "git closed the filter pipe during the handshake");
	assert_string_equal(got, "");
	free(got);
	free(in);
	free(want);
}

/* clean gives the exact Git LFS pointer and keeps the bytes in the store;
 * smudge of that pointer gives the bytes back. */
static void test_clean_smudge(void **state)
{
	struct fx *fx = *state;
	char *in = NULL, *want = NULL, *got;
	size_t inlen = 0, wantlen = 0;
	p4r_repo *repo = NULL;
	p4r_oid oid;
	int rc;

	add_hello(&in, &inlen);
	add_request(&in, &inlen, "clean", "model.bin", HELLO);
	add_request(&in, &inlen, "smudge", "model.bin", HELLO_PTR);
	/* an empty file's pointer is empty, both ways */
	add_request(&in, &inlen, "clean", "empty.bin", "");
	expect_hello(&want, &wantlen);
	expect_answer(&want, &wantlen, HELLO_PTR);
	expect_answer(&want, &wantlen, HELLO);
	expect_answer(&want, &wantlen, NULL);
	got = run(fx, in, inlen, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(got, want);
	assert_int_equal(fx->nfailed, 0);

	assert_int_equal(p4r_repo_open(&repo, fx->dir), 0);
	assert_int_equal(p4r_oid_parse(&oid, HELLO_OID), 0);
	assert_true(p4r_store_has(p4r_repo_store(repo), &oid));
	p4r_repo_free(repo);
	free(got);
	free(in);
	free(want);
}

/* Content that is no pointer passes smudge unchanged (as git-lfs does); a
 * pointer with a Git LFS extension, an unknown command and a path with
 * ".." fail that file alone with an error status, and the filter goes on. */
static void test_bad_requests(void **state)
{
	struct fx *fx = *state;
	const char *ext_ptr = "version https://git-lfs.github.com/spec/v1\n"
			      "ext-0-foo sha256:" HELLO_OID "\noid sha256:" HELLO_OID "\nsize 12\n";
	const char *not_ptr = "version https://git-lfs.github.com/spec/v1\noid sha256:12\nsize x\n";
	char *in = NULL, *want = NULL, *got;
	size_t inlen = 0, wantlen = 0;
	int rc;

	add_hello(&in, &inlen);
	add_request(&in, &inlen, "smudge", "a.bin", not_ptr);
	add_request(&in, &inlen, "smudge", "b.bin", ext_ptr);
	add_request(&in, &inlen, "delay", "c.bin", "x");
	add_request(&in, &inlen, "clean", "../d.bin", "x");
	add_request(&in, &inlen, "smudge", "model.bin", HELLO_PTR);
	expect_hello(&want, &wantlen);
	expect_answer(&want, &wantlen, not_ptr);
	expect_error(&want, &wantlen);
	expect_error(&want, &wantlen);
	expect_error(&want, &wantlen);
	/* an object stored nowhere: the pointer stays, with a warning */
	expect_answer(&want, &wantlen, HELLO_PTR);
	got = run(fx, in, inlen, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(got, want);
	assert_int_equal(fx->nfailed, 3);
	assert_non_null(strstr(fx->failed, "../d.bin: "));
	free(got);
	free(in);
	free(want);
}

/* The filter's answer to a pointer with an extension names it. */
static void test_extension_message(void **state)
{
	struct fx *fx = *state;
	char *in = NULL, *got;
	size_t inlen = 0;
	int rc;

	add_hello(&in, &inlen);
	add_request(&in, &inlen, "smudge", "b.bin",
		    "version https://git-lfs.github.com/spec/v1\next-0-foo sha256:" HELLO_OID
		    "\noid sha256:" HELLO_OID "\nsize 12\n");
	got = run(fx, in, inlen, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(fx->failed, "b.bin: Git LFS extension 'foo' is not supported by p4reg; "
			    "install git-lfs and the extension");
	free(got);
	free(in);
}

/* git hanging up inside a file is an error of the protocol, not a file. */
static void test_truncated_request(void **state)
{
	struct fx *fx = *state;
	char *in = NULL, *got;
	size_t inlen = 0;
	int rc;

	add_hello(&in, &inlen);
	add(&in, &inlen, "command=clean\n");
	add(&in, &inlen, "pathname=x.bin\n");
	add(&in, &inlen, NULL);
	add(&in, &inlen, "some bytes");
	got = run(fx, in, inlen, &rc);
	assert_int_equal(rc, P4R_ERROR);
	assert_string_equal(p4r_error_message(), "git closed the filter pipe mid-file");
	free(got);
	free(in);
}

/* The filter on INPUT from a file (a pipe holds less than one full packet
 * and the handshake); *RC as run. Returns the answer (malloc'd). */
static char *run_file(struct fx *fx, const char *input, size_t len, int *rc)
{
	char itmpl[] = "/tmp/p4reg-filter-in-XXXXXX", otmpl[] = "/tmp/p4reg-filter-XXXXXX";
	int in = mkstemp(itmpl), out = mkstemp(otmpl);
	p4r_filter_opts opts = { .workdir = fx->dir, .file_failed = on_failed, .payload = fx };
	p4r_filter *f = NULL;
	bool eof = false;
	off_t end;
	char *answer;

	assert_true(in >= 0 && out >= 0);
	unlink(itmpl);
	unlink(otmpl);
	assert_int_equal(pwrite(in, input, len, 0), (ssize_t)len);
	opts.in = in;
	opts.out = out;
	assert_int_equal(p4r_filter_open(&f, &opts, NULL), 0);
	if ((*rc = p4r_filter_handshake(f)) == 0)
		while (*rc == 0 && !eof)
			*rc = p4r_filter_serve(f, &eof);
	p4r_filter_free(f);
	close(in);
	end = lseek(out, 0, SEEK_END);
	answer = malloc((size_t)end + 1);
	assert_non_null(answer);
	assert_int_equal(pread(out, answer, (size_t)end, 0), end);
	answer[end] = '\0';
	close(out);
	return answer;
}

/* Packet lengths at the edge: a full packet (fff0, 65516 bytes of data,
 * the largest git sends) fills the filter's buffer exactly and is stored;
 * fff1 is refused before anything is read into it. */
static void test_packet_length_edges(void **state)
{
	struct fx *fx = *state;
	size_t data = P4R_PKT_DATA_MAX, inlen = 0, base;
	char *in = NULL, *got, want[128];
	p4r_oid oid;
	int rc;

	add_hello(&in, &inlen);
	add(&in, &inlen, "command=clean\n");
	add(&in, &inlen, "pathname=full.bin\n");
	add(&in, &inlen, NULL);
	base = inlen;
	in = realloc(in, inlen + 4 + data + 8 + 1);
	assert_non_null(in);
	memcpy(in + inlen, "fff0", 4);
	memset(in + inlen + 4, 'z', data);
	inlen += 4 + data;
	memcpy(in + inlen, "0000", 4);
	inlen += 4;
	assert_int_equal(p4r_hash_buffer(&oid, in + base + 4, data), 0);
	got = run_file(fx, in, inlen, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(fx->nfailed, 0);
	snprintf(want, sizeof(want), "oid sha256:%s\nsize %zu\n", oid.hex, data);
	assert_non_null(strstr(got, want));
	free(got);

	memcpy(in + base, "fff1", 4); /* one byte too long: the same bytes after it */
	got = run_file(fx, in, inlen - 4, &rc);
	assert_int_equal(rc, P4R_ERROR);
	assert_string_equal(p4r_error_message(), "bad packet length 65521 from git (4 to 65520, or 0000, 0001, 0002)");
	p4r_error_clear();
	free(got);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clean_smudge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extension_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packet_length_edges, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
