/* Unit tests for dvc/dvc.c: .dvc files as DVC 2 and 3 write them, every
 * malformed one refused with one reason (P4R_EINTEGRITY), the two cache
 * layouts, the MD5 of a file against md5sum's, and DVC 2's md5-dos2unix
 * against digests computed outside p4reg. */
#include "testutil.h"
#include "p4reg/dvc.h"
#include "p4reg/error.h"
#include "p4reg/manifest.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MD5 "6f5902ac237024bdd0c176cb93063dc4" /* md5 of "hello world\n" */

static int parse(p4r_dvc_file *f, const char *text)
{
	return p4r_dvc_parse(f, text, strlen(text));
}

static void test_parse_written_by_dvc(void **state)
{
	p4r_dvc_file f;

	(void)state;
	/* DVC 3 (dvc add) */
	assert_int_equal(parse(&f, "outs:\n- md5: " MD5 "\n  size: 12\n  hash: md5\n  path: model.bin\n"), 0);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.outs[0].path, "model.bin");
	assert_string_equal(f.outs[0].md5, MD5);
	assert_int_equal(f.outs[0].size, 12);
	assert_int_equal(f.outs[0].nfiles, -1);
	assert_false(f.outs[0].dir);
	assert_false(f.outs[0].dos2unix);
	p4r_dvc_file_clear(&f);
	/* DVC 2: a root md5, no hash, no size; other keys are ignored; quoted */
	assert_int_equal(parse(&f, "md5: 0123\nouts:\n- md5: '" MD5 "'\n  path: \"m/x y.pt\"\n  cache: true\n"
			       "  persist: false\nfrozen: true\n"), 0);
	assert_string_equal(f.outs[0].path, "m/x y.pt");
	assert_int_equal(f.outs[0].size, -1);
	assert_true(f.outs[0].dos2unix);
	p4r_dvc_file_clear(&f);
	/* the legacy hash named */
	assert_int_equal(parse(&f, "outs:\n- md5: " MD5 "\n  hash: md5-dos2unix\n  path: a\n"), 0);
	assert_true(f.outs[0].dos2unix);
	p4r_dvc_file_clear(&f);
	/* what DVC refuses or never writes, which another reader would see
	 * otherwise: a key twice, a second document, a tag, many brackets */
	assert_int_equal(parse(&f, "outs:\n- md5: " MD5 "\n  hash: md5-dos2unix\n  hash: md5\n  path: a\n"),
			 P4R_EINTEGRITY);
	assert_string_equal(p4r_error_message(), "invalid .dvc file: an entry of 'outs' has the key 'hash' twice");
	assert_int_equal(parse(&f, "outs:\n- md5: " MD5 "\n  path: a\n  path: b\n"), P4R_EINTEGRITY);
	assert_int_equal(parse(&f, "outs:\n- md5: " MD5 "\n  path: a\nouts:\n- md5: " MD5 "\n  path: b\n"),
			 P4R_EINTEGRITY);
	assert_string_equal(p4r_error_message(), "invalid .dvc file: the file has the key 'outs' twice");
	assert_int_equal(parse(&f, "outs:\n- md5: " MD5 "\n  path: a\n---\nouts: []\n"), P4R_EINTEGRITY);
	assert_string_equal(p4r_error_message(), "invalid .dvc file: it holds more than one YAML document");
	assert_int_equal(parse(&f, "outs:\n- md5: " MD5 "\n  path: !!binary YQ==\n"), P4R_EINTEGRITY);
	assert_int_equal(parse(&f, "outs: !custom\n- md5: " MD5 "\n  path: a\n"), P4R_EINTEGRITY);
	{
		char many[600];

		memset(many, '[', 300);
		snprintf(many + 300, sizeof(many) - 300, "\n");
		assert_int_equal(parse(&f, many), P4R_EINTEGRITY);
		assert_string_equal(p4r_error_message(), "invalid .dvc file: more than 256 '[' or '{' (DVC writes "
				    "block YAML)");
	}
	/* a document end marker alone is fine */
	assert_int_equal(parse(&f, "outs:\n- md5: " MD5 "\n  path: a\n...\n"), 0);
	p4r_dvc_file_clear(&f);
	/* two outputs, a directory */
	assert_int_equal(parse(&f, "outs:\n- {md5: " MD5 ", path: a}\n- md5: " MD5 ".dir\n  path: data\n"), 0);
	assert_int_equal(f.n, 2);
	assert_true(f.outs[1].dir);
	assert_string_equal(f.outs[1].md5, MD5);
	p4r_dvc_file_clear(&f);
	/* a directory output as DVC 3 writes it */
	assert_int_equal(parse(&f, "outs:\n- md5: " MD5 ".dir\n  size: 1048576\n  nfiles: 3\n  hash: md5\n"
			       "  path: data\n"), 0);
	assert_true(f.outs[0].dir);
	assert_int_equal(f.outs[0].size, 1048576);
	assert_int_equal(f.outs[0].nfiles, 3);
	assert_false(f.outs[0].dos2unix);
	p4r_dvc_file_clear(&f);
	/* an alias is the node it names: read once, never expanded */
	assert_int_equal(parse(&f, "outs:\n- &o {md5: " MD5 ", path: a}\n- *o\n"), 0);
	assert_int_equal(f.n, 2);
	assert_string_equal(f.outs[1].path, "a");
	p4r_dvc_file_clear(&f);
}

static void test_parse_refuses(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "", "it is not a YAML mapping" },
		{ "- a\n- b\n", "it is not a YAML mapping" },
		{ "outs: [\n", "not YAML" },
		{ "deps: []\n", "it has no 'outs' list" },
		{ "outs: []\n", "its 'outs' list is empty" },
		{ "outs: {md5: x}\n", "it has no 'outs' list" },
		{ "outs:\n- just text\n", "an entry of 'outs' is not a mapping" },
		{ "outs:\n- path: a\n", "an output lacks 'md5' or 'path'" },
		{ "outs:\n- md5: " MD5 "\n", "an output lacks 'md5' or 'path'" },
		{ "outs:\n- md5: 6F5902AC237024BDD0C176CB93063DC4\n  path: a\n", "'md5' is not 32 lowercase hex" },
		{ "outs:\n- md5: zz\n  path: a\n", "'md5' is not 32 lowercase hex" },
		{ "outs:\n- md5: [1]\n  path: a\n", "'md5' is not text" },
		{ "outs:\n- md5: " MD5 "\n  path: ''\n", "'path' is not a file name" },
		{ "outs:\n- md5: " MD5 "\n  path: a\n  size: -1\n", "'size' is not a count of bytes" },
		{ "outs:\n- md5: " MD5 "\n  path: a\n  size: 99999999999999999999\n", "'size' is not a count" },
		{ "outs:\n- md5: " MD5 "\n  path: a\n  hash: sha256\n", "its 'hash' is not md5" },
		{ "outs:\n- md5: " MD5 "\n  path: a\n  hash: MD5\n", "its 'hash' is not md5 or md5-dos2unix" },
		{ "outs:\n- md5: " MD5 "\n  path: a\n  hash: [md5]\n", "its 'hash' is not md5 or md5-dos2unix" },
		{ "outs:\n- md5: " MD5 "\n  path: a\n  hash: md5-dos2unix-x\n", "its 'hash' is not md5" },
		{ "outs:\n- md5: " MD5 ".dir\n  path: a\n  nfiles: -1\n", "'nfiles' is not a count of files" },
		{ "outs:\n- md5: " MD5 ".dir\n  path: a\n  nfiles: 1.5\n", "'nfiles' is not a count of files" },
		{ "outs:\n- md5: " MD5 ".dir\n  path: a\n  nfiles: 99999999999999999999\n", "'nfiles' is not" },
		{ "outs:\n- md5: " MD5 ".dir\n  path: a\n  nfiles: {}\n", "'nfiles' is not a count of files" },
		{ "wdir: ..\nouts:\n- md5: " MD5 "\n  path: a\n", "'wdir' is not supported" },
	};
	p4r_dvc_file f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(&f, bad[i].text), P4R_EINTEGRITY);
		if (!strstr(p4r_error_message(), bad[i].why))
			fail_msg("'%s': got '%s', want '%s'", bad[i].text, p4r_error_message(), bad[i].why);
		assert_int_equal(f.n, 0);
		assert_null(f.outs);
	}
	{
		char big[P4R_DVC_FILE_MAX + 2];

		memset(big, ' ', sizeof(big));
		assert_int_equal(p4r_dvc_parse(&f, big, sizeof(big)), P4R_EINTEGRITY);
	}
}

static void test_md5_buffer(void **state)
{
	char hex[33];

	(void)state;
	assert_int_equal(p4r_dvc_md5_buffer(hex, "hello world\n", 12), 0);
	assert_string_equal(hex, MD5);
	assert_int_equal(p4r_dvc_md5_buffer(hex, "", 0), 0);
	assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
}

/* ---- md5-dos2unix ----
 * The expected digests were computed with python3's hashlib on the same
 * bytes, through dvc-data's own istextblock (src/dvc_data/hashfile/
 * istextfile.py, dvc-data b9ec41c) and the chunk loop of its fobj_md5 /
 * Dos2UnixHashStreamFile: chunks of 2**20 bytes, each
 * chunk.replace(b"\r\n", b"\n") when istextblock(chunk[:512]); the older
 * digest with the first chunk's verdict for every chunk (the
 * HashedStreamReader dvc-data had before d727f3a). rep(P, N) below is
 * Python's (P * (N // len(P) + 1))[:N]. */

#define MIB (1 << 20)

/* The LEN bytes at DATA in a file, read from OFFSET by p4r_dvc_sum_fd. */
static int sum_at(p4r_dvc_sum *s, const void *data, size_t len, off_t offset, bool dos2unix)
{
	char *dir = tu_mkdtemp(), *path = tu_write(dir, "f", data, len);
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, offset, SEEK_SET), offset);
	rc = p4r_dvc_sum_fd(s, fd, "f", dos2unix);
	close(fd);
	free(path);
	tu_rmtree_free(dir);
	return rc;
}

static int sum_of(p4r_dvc_sum *s, const void *data, size_t len, bool dos2unix)
{
	return sum_at(s, data, len, 0, dos2unix);
}

/* P repeated over the N bytes at OUT (the last copy cut short). */
static void rep(unsigned char *out, const char *p, size_t n)
{
	size_t plen = strlen(p), i;

	for (i = 0; i < n; i++)
		out[i] = (unsigned char)p[i % plen];
}

static void assert_sum(const p4r_dvc_sum *s, const char *md5, const char *older, uint64_t size)
{
	assert_string_equal(s->md5, md5);
	assert_string_equal(s->older, older);
	assert_int_equal(s->size, size);
}

static void test_sum_small_files(void **state)
{
	static const char crlf[] = "hello\r\nworld\r\n";
	static const unsigned char nul[] = "ab\r\n\0cd\r\n";
	p4r_dvc_sum s;
	unsigned char h[600];

	(void)state;
	/* a NUL byte: binary, hashed as it is (md5sum's digest) */
	assert_int_equal(sum_of(&s, nul, 9, true), 0);
	assert_sum(&s, "05cde8f44ea3072fa1f16f177461ec45", "", 9);
	assert_int_equal(sum_of(&s, nul, 9, false), 0);
	assert_sum(&s, "05cde8f44ea3072fa1f16f177461ec45", "", 9);
	/* text: md5 of "hello\nworld\n"; DVC 3's plain md5 of the bytes */
	assert_int_equal(sum_of(&s, crlf, 14, true), 0);
	assert_sum(&s, "0f723ae7f9bf07744445e93ac5595156", "", 14);
	assert_int_equal(sum_of(&s, crlf, 14, false), 0);
	assert_sum(&s, "7ac062d8a84466e70d9b899c0821a51c", "", 14);
	/* read from where the descriptor stands: md5 of "llo\nworld\n" */
	assert_int_equal(sum_at(&s, crlf, 14, 2, true), 0);
	assert_sum(&s, "f414131882d21d4336a37f60c1b79fe3", "", 12);
	/* empty: MD5 of nothing either way */
	assert_int_equal(sum_of(&s, "", 0, true), 0);
	assert_sum(&s, "d41d8cd98f00b204e9800998ecf8427e", "", 0);
	assert_int_equal(sum_of(&s, "", 0, false), 0);
	assert_sum(&s, "d41d8cd98f00b204e9800998ecf8427e", "", 0);
	/* 30% exactly: 3 of 10 bytes not text (\v, DEL, \v; \b \f \t are
	 * text) is text; 4 of 10 (DEL) is binary */
	assert_int_equal(sum_of(&s, "\b\f\t\x0b\x7f\x0b\r\nab", 10, true), 0);
	assert_sum(&s, "213fadbde983f9f5ff059af5334f4a3c", "", 10);
	assert_int_equal(sum_of(&s, "\x7f\x7f\x7f\x7f\r\nabcd", 10, true), 0);
	assert_sum(&s, "a2e9502020b2006b37f194956bb40748", "", 10);
	/* only the first 512 bytes decide: 153 of them 0x80 (29.9%) is
	 * text, 154 (30.1%) binary, whatever follows (a NUL, more 0x80):
	 * b"\x80" * 153 + b"\r\n" + b"a" * 357 + b"\x00" + b"\x80" * 85 + b"\r\n" */
	memset(h, 0x80, sizeof(h));
	memcpy(h + 153, "\r\n", 2);
	memset(h + 155, 'a', 357);
	h[512] = '\0';
	memcpy(h + 598, "\r\n", 2);
	assert_int_equal(sum_of(&s, h, sizeof(h), true), 0);
	assert_sum(&s, "b4bd4ca33d6fec629c3103c7241c3f5d", "", 600);
	/* b"\x80" * 154 + b"\r\n" + b"a" * 356 + the same 88 bytes */
	memcpy(h + 153, "\x80\r\n", 3);
	assert_int_equal(sum_of(&s, h, sizeof(h), true), 0);
	assert_sum(&s, "293ecf8684675c992678f84c1d96d0a9", "", 600);
}

static void test_sum_chunks(void **state)
{
	unsigned char *b = malloc(3 * MIB + 16);
	p4r_dvc_sum s;

	(void)state;
	assert_non_null(b);
	/* t = rep(b"abc\r\n", 2**20) (text), bi = b"\0" + rep(b"xy\r\n",
	 * 2**20 - 1) (binary); the file t + bi + t: the current rule converts
	 * t's CRLFs only, the older one bi's too */
	rep(b, "abc\r\n", MIB);
	b[MIB] = '\0';
	rep(b + MIB + 1, "xy\r\n", MIB - 1);
	memcpy(b + 2 * MIB, b, MIB);
	assert_int_equal(sum_of(&s, b, 3 * MIB, true), 0);
	assert_sum(&s, "83c14be74e806f73bf11e2972a676112", "42f4b680ae3d3f945dd998ccf5a57aae", 3 * MIB);
	assert_true(p4r_dvc_sum_matches(&s, "83c14be74e806f73bf11e2972a676112"));
	assert_true(p4r_dvc_sum_matches(&s, "42f4b680ae3d3f945dd998ccf5a57aae"));
	assert_false(p4r_dvc_sum_matches(&s, "b9d06ab2bf8f20867af597c7dc234267"));
	assert_false(p4r_dvc_sum_matches(&s, ""));
	/* plain MD5 of the same bytes (md5sum's) */
	assert_int_equal(sum_of(&s, b, 3 * MIB, false), 0);
	assert_sum(&s, "b9d06ab2bf8f20867af597c7dc234267", "", 3 * MIB);
	assert_true(p4r_dvc_sum_matches(&s, "b9d06ab2bf8f20867af597c7dc234267"));
	assert_false(p4r_dvc_sum_matches(&s, "83c14be74e806f73bf11e2972a676112"));
	/* bi + t: binary first, so the older rule leaves t's CRLFs */
	assert_int_equal(sum_of(&s, b + MIB, 2 * MIB, true), 0);
	assert_sum(&s, "5ae3e440a3f25191b164bc8cf850ba01", "2846322db78c2961b45ea3c92a777799", 2 * MIB);
	/* a CRLF split by the chunk boundary stays: rep(b"abc\r\n", 2**20 - 1)
	 * + b"\r" + b"\ntail\r\n" (dos2unix of the whole file would give
	 * e8ba13123c341a3b30727fbe00137592); both chunks text: no older */
	rep(b, "abc\r\n", MIB - 1);
	memcpy(b + MIB - 1, "\r\ntail\r\n", 8);
	assert_int_equal(sum_of(&s, b, MIB + 7, true), 0);
	assert_sum(&s, "3a8ef7dcde7ef417b37c2a00a8e346ae", "", MIB + 7);
	free(b);
}

static void test_sum_refuses(void **state)
{
	char *dir = tu_mkdtemp(), fifo[4200];
	p4r_dvc_sum s;
	int fd;

	(void)state;
	/* a folder, a FIFO: not a regular file, nothing read, OUT zeroed */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	memset(&s, 'x', sizeof(s));
	assert_int_equal(p4r_dvc_sum_fd(&s, fd, "d", true), P4R_EINTEGRITY);
	assert_string_equal(p4r_error_message(), "'d' is not a regular file");
	assert_string_equal(s.md5, "");
	assert_int_equal(s.size, 0);
	close(fd);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(p4r_dvc_sum_fd(&s, fd, "fifo", false), P4R_EINTEGRITY);
	close(fd);
	/* a descriptor open for writing only cannot be read */
	free(tu_write(dir, "w", "x", 1));
	snprintf(fifo, sizeof(fifo), "%s/w", dir);
	fd = open(fifo, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(p4r_dvc_sum_fd(&s, fd, "w", true), P4R_ERROR);
	assert_non_null(strstr(p4r_error_message(), "cannot read 'w'"));
	close(fd);
	tu_rmtree_free(dir);
}

/* ---- .dir listings ---- */

#define MD5B "d41d8cd98f00b204e9800998ecf8427e"

static int dir_parse(p4r_dvc_dir *d, const char *text)
{
	return p4r_dvc_dir_parse(d, text, strlen(text));
}

static void test_dir_listing(void **state)
{
	p4r_dvc_dir d;

	(void)state;
	/* as dvc-data writes it (json.dumps, sort_keys), with meta; and out of
	 * order, meta absent, other keys ignored, spaces around */
	assert_int_equal(dir_parse(&d, "[{\"isexec\": true, \"md5\": \"" MD5 "\", \"relpath\": \"bin/run\", "
				   "\"size\": 12}, {\"md5\": \"" MD5B "\", \"relpath\": \"a b.txt\", \"size\": 0}]"), 0);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.v[0].relpath, "a b.txt");
	assert_string_equal(d.v[0].md5, MD5B);
	assert_int_equal(d.v[0].size, 0);
	assert_false(d.v[0].exec);
	assert_string_equal(d.v[1].relpath, "bin/run");
	assert_string_equal(d.v[1].md5, MD5);
	assert_int_equal(d.v[1].size, 12);
	assert_true(d.v[1].exec);
	p4r_dvc_dir_clear(&d);
	assert_int_equal(dir_parse(&d, " \n[{\"relpath\": \"z\", \"md5\": \"" MD5 "\", \"version_id\": \"v1\", "
				   "\"etag\": {\"x\": [1]}, \"isexec\": false},\n {\"relpath\": \"m/\\u00e9.bin\", "
				   "\"md5\": \"" MD5B "\", \"size\": 1125899906842624},"
				   "{\"relpath\": \"a\", \"md5\": \"" MD5 "\"}]\r\n"), 0);
	assert_int_equal(d.n, 3);
	assert_string_equal(d.v[0].relpath, "a");
	assert_int_equal(d.v[0].size, -1);
	assert_string_equal(d.v[1].relpath, "m/\xc3\xa9.bin");
	assert_int_equal(d.v[1].size, (int64_t)1 << 50);
	assert_string_equal(d.v[2].relpath, "z");
	assert_false(d.v[2].exec);
	p4r_dvc_dir_clear(&d);
	/* an escaped backslash before u0000 is text (and refused as a path) */
	assert_int_equal(dir_parse(&d, "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\\\\u0000\"}]"), P4R_EINTEGRITY);
	assert_string_equal(p4r_error_message(), "invalid DVC directory listing: entry 1: 'a\\u0000' is not a "
			    "path p4reg stores in a folder");
	p4r_dvc_dir_clear(NULL);
}

static void test_dir_listing_refuses(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "", "not JSON" },
		{ "[", "not JSON" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\"}] x", "not JSON" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\"}][]", "not JSON" },
		{ "{\"md5\": \"" MD5 "\", \"relpath\": \"a\"}", "not a JSON array" },
		{ "\"a\"", "not a JSON array" },
		{ "[]", "an empty folder (a p4reg folder version needs a file)" },
		{ "[1]", "entry 1 is not an object" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\"}, []]", "entry 2 is not an object" },
		{ "[{\"relpath\": \"a\"}]", "entry 1 lacks 'md5'" },
		{ "[{\"md5\": \"" MD5 "\"}]", "entry 1 lacks 'relpath'" },
		{ "[{\"MD5\": \"" MD5 "\", \"relpath\": \"a\"}]", "entry 1 lacks 'md5'" },
		{ "[{\"md5\": \"" MD5 ".dir\", \"relpath\": \"a\"}]", "entry 1: 'md5' is not 32 lowercase hex digits" },
		{ "[{\"md5\": \"6F5902AC237024BDD0C176CB93063DC4\", \"relpath\": \"a\"}]", "'md5' is not 32 lowercase" },
		{ "[{\"md5\": 1, \"relpath\": \"a\"}]", "entry 1: 'md5' is not 32 lowercase hex digits" },
		{ "[{\"md5\": \"" MD5 "\", \"md5\": \"" MD5B "\", \"relpath\": \"a\"}]", "entry 1 has 'md5' twice" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\", \"relpath\": \"b\"}]", "entry 1 has 'relpath' twice" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": null}]", "entry 1: 'relpath' is not text" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"\"}]", "entry 1: '' is not a path p4reg stores in a folder" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"/etc/passwd\"}]", "'/etc/passwd' is not a path p4reg stores" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a/../../x\"}]", "'a/../../x' is not a path p4reg stores" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a//b\"}]", "'a//b' is not a path" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\\\\b\"}]", "'a\\b' is not a path" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"x/.git/config\"}]", "'x/.git/config' is not a path" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\\nb\"}]", "is not a path p4reg stores in a folder" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\\u0000b\"}]", "it holds a NUL character" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\\\\\\u0000\"}]", "it holds a NUL character" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\"}, {\"md5\": \"" MD5B "\", \"relpath\": \"a\"}]",
		  "'a' is listed twice" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a/b/c\"}, {\"md5\": \"" MD5 "\", \"relpath\": \"a/b\"}]",
		  "'a/b' is both a file and the folder of 'a/b/c'" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\"}, {\"md5\": \"" MD5 "\", \"relpath\": \"a b\"}, "
		  "{\"md5\": \"" MD5 "\", \"relpath\": \"a/b\"}]", "'a' is both a file and the folder of 'a/b'" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\", \"size\": -1}]", "entry 1: 'size' is not a count" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\", \"size\": 1.5}]", "entry 1: 'size' is not a count" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\", \"size\": \"12\"}]", "entry 1: 'size' is not a count" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\", \"size\": null}]", "entry 1: 'size' is not a count" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\", \"size\": 1125899906842625}]", "'size' is not a count" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\", \"size\": 1e300}]", "'size' is not a count" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\", \"size\": 1, \"size\": 1}]", "entry 1 has 'size' twice" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\", \"isexec\": 1}]", "entry 1: 'isexec' is not true or false" },
		{ "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\", \"isexec\": \"true\"}]", "'isexec' is not true or false" },
	};
	static const char nul[] = "[{\"md5\": \"" MD5 "\", \"relpath\": \"a\"}]";
	p4r_dvc_dir d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(dir_parse(&d, bad[i].text), P4R_EINTEGRITY);
		if (strncmp(p4r_error_message(), "invalid DVC directory listing: ", 31) ||
		    !strstr(p4r_error_message(), bad[i].why))
			fail_msg("'%s': got '%s', want '%s'", bad[i].text, p4r_error_message(), bad[i].why);
		assert_int_equal(d.n, 0);
		assert_null(d.v);
	}
	/* a NUL byte in the text (sizeof: the array and the NUL after it) */
	assert_int_equal(p4r_dvc_dir_parse(&d, nul, sizeof(nul)), P4R_EINTEGRITY);
	assert_string_equal(p4r_error_message(), "invalid DVC directory listing: it holds a NUL character");
}

static void test_dir_listing_limits(void **state)
{
	size_t n = (size_t)P4R_MANIFEST_MAX_FILES + 1, len = 1 + 3 * n, i;
	char *big = malloc(len + 1);
	p4r_dvc_dir d;

	(void)state;
	assert_non_null(big);
	/* one entry too many, counted before any entry is read */
	big[0] = '[';
	for (i = 0; i < n; i++)
		memcpy(big + 1 + 3 * i, "{},", 3);
	big[len - 1] = ']';
	big[len] = '\0';
	assert_int_equal(p4r_dvc_dir_parse(&d, big, len), P4R_EINTEGRITY);
	assert_string_equal(p4r_error_message(), "invalid DVC directory listing: more than 1000000 files");
	assert_null(d.v);
	free(big);
	/* more values than that many files have, refused before cJSON parses */
	len = (size_t)P4R_MANIFEST_MAX_FILES * 32 + 2;
	assert_non_null(big = malloc(len));
	big[0] = '[';
	for (i = 1; i + 1 < len; i += 2)
		memcpy(big + i, "1,", 2);
	big[len - 1] = ']';
	assert_int_equal(p4r_dvc_dir_parse(&d, big, len), P4R_EINTEGRITY);
	assert_string_equal(p4r_error_message(), "invalid DVC directory listing: more JSON values than 1000000 "
			    "files can have");
	free(big);
	/* over P4R_DVC_DIR_MAX: refused unread (the bytes are never touched) */
	assert_non_null(big = malloc((size_t)P4R_DVC_DIR_MAX + 1));
	assert_int_equal(p4r_dvc_dir_parse(&d, big, (size_t)P4R_DVC_DIR_MAX + 1), P4R_EINTEGRITY);
	assert_string_equal(p4r_error_message(), "invalid DVC directory listing: larger than 256 MiB");
	free(big);
}

/* ---- cache.dir of .dvc/config ---- */

/* What `dvc remote add -d storage s3://bucket/path`, `dvc cache dir` and
 * `dvc config cache.type reflink,copy` write (configobj). */
#define DVC_CONFIG "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://bucket/path\n" \
		   "[cache]\n    dir = %s\n    type = \"reflink,copy\"\n"

struct cfg_case {
	int root;
	char *dir;
};

/* Writes TEXT (NULL: removes it) to REL below C's folder. */
static void put(struct cfg_case *c, const char *rel, const char *text)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", c->dir, rel);
	unlink(path);
	if (text)
		free(tu_write(c->dir, rel, text, strlen(text)));
}

/* .dvc/config saying cache.dir = VALUE in DVC's layout. */
static void put_dir(struct cfg_case *c, const char *rel, const char *value)
{
	char text[1024];

	snprintf(text, sizeof(text), DVC_CONFIG, value);
	put(c, rel, text);
}

/* p4r_dvc_cache_dir of DVC_DIR: WANT (NULL: not set), or the error CODE
 * whose message is WHY exactly. */
static void expect_dir(struct cfg_case *c, const char *dvc_dir, const char *want)
{
	char *out = (char *)"x";

	if (p4r_dvc_cache_dir(c->root, dvc_dir, &out) != 0)
		fail_msg("'%s': %s", dvc_dir, p4r_error_message());
	if (!want)
		assert_null(out);
	else
		assert_string_equal(out, want);
	free(out);
}

static void expect_refused(struct cfg_case *c, const char *dvc_dir, const char *why)
{
	char *out = (char *)"x";

	assert_int_equal(p4r_dvc_cache_dir(c->root, dvc_dir, &out), P4R_EINTEGRITY);
	assert_null(out);
	if (strcmp(p4r_error_message(), why))
		fail_msg("got '%s', want '%s'", p4r_error_message(), why);
}

static void test_cache_dir(void **state)
{
	struct cfg_case c = { .dir = tu_mkdtemp() };
	char cmd[4300];

	(void)state;
	c.root = open(c.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(c.root >= 0);
	/* no .dvc folder, no config, a config without [cache]: not set */
	expect_dir(&c, ".dvc", NULL);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/.dvc' '%s/sub/.dvc'", c.dir, c.dir);
	assert_int_equal(system(cmd), 0);
	expect_dir(&c, ".dvc", NULL);
	put(&c, ".dvc/config", "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://b/p\n");
	expect_dir(&c, ".dvc", NULL);
	put(&c, ".dvc/config", "");
	expect_dir(&c, ".dvc", NULL);
	/* DVC's own text: relative to the .dvc folder, resolved */
	put_dir(&c, ".dvc/config", "../shared-cache");
	expect_dir(&c, ".dvc", "shared-cache");
	put_dir(&c, ".dvc/config", "cache2");
	expect_dir(&c, ".dvc", ".dvc/cache2");
	put_dir(&c, ".dvc/config", "./a//b/../c/");
	expect_dir(&c, ".dvc", ".dvc/a/c");
	put_dir(&c, ".dvc/config", "..");
	expect_dir(&c, ".dvc", ".");
	put_dir(&c, ".dvc/config", "../x y/caché");
	expect_dir(&c, ".dvc", "x y/caché");
	/* config.local overrides config; one that does not set it does not */
	put(&c, ".dvc/config.local", "[core]\n    no_scm = true\n");
	expect_dir(&c, ".dvc", "x y/caché");
	put_dir(&c, ".dvc/config.local", "../local-cache");
	expect_dir(&c, ".dvc", "local-cache");
	put(&c, ".dvc/config.local", NULL);
	/* a nested DVC folder */
	put_dir(&c, "sub/.dvc/config", "../../c");
	expect_dir(&c, "sub/.dvc", "c");
	put_dir(&c, "sub/.dvc/config", "../cache");
	expect_dir(&c, "sub/.dvc", "sub/cache");
	/* names as DVC matches them: lowercased, unquoted by configobj; tabs,
	 * CRLF line ends, comments, no indentation */
	put(&c, ".dvc/config", "# made by hand\n[Cache]\n\tDIR = ../upper\n");
	expect_dir(&c, ".dvc", "upper");
	put(&c, ".dvc/config", "['cache']\r\n'dir'=../quoted\r\n; a comment\r\n");
	expect_dir(&c, ".dvc", "quoted");
	put(&c, ".dvc/config", "[ \"cache\" ]\n  \"dir\"  =  ../spaced   \n");
	expect_dir(&c, ".dvc", "spaced");
	/* a value of another key may be anything */
	put(&c, ".dvc/config", "[cache]\n    type = \"reflink,copy\" # x\n");
	expect_dir(&c, ".dvc", NULL);
	close(c.root);
	tu_rmtree_free(c.dir);
}

static void test_cache_dir_refuses(void **state)
{
	static const struct {
		const char *value, *why;
	} bad[] = {
		{ "/mnt/cache", "'.dvc/config' sets cache.dir to '/mnt/cache', outside the repository: name the cache "
				"with --dvc-cache" },
		{ "../..", "'.dvc/config' sets cache.dir to '../..', outside the repository: name the cache with "
			   "--dvc-cache" },
		{ "a/../../../b", "'.dvc/config' sets cache.dir to 'a/../../../b', outside the repository: name the "
				  "cache with --dvc-cache" },
		{ "s3://bucket/cache", "'.dvc/config' sets cache.dir to 's3://bucket/cache', outside the repository: "
				       "name the cache with --dvc-cache" },
		{ "", "'.dvc/config' sets cache.dir to '', no folder: name the cache with --dvc-cache" },
		{ "\"../a b\"", "'.dvc/config' sets cache.dir to '\"../a b\"', which DVC reads otherwise (quotes, a "
				"'#' comment or a ',' list): name the cache with --dvc-cache" },
		{ "'../a'", "'.dvc/config' sets cache.dir to ''../a'', which DVC reads otherwise (quotes, a '#' "
			    "comment or a ',' list): name the cache with --dvc-cache" },
		{ "../c # shared", "'.dvc/config' sets cache.dir to '../c # shared', which DVC reads otherwise "
				   "(quotes, a '#' comment or a ',' list): name the cache with --dvc-cache" },
		{ "../a,../b", "'.dvc/config' sets cache.dir to '../a,../b', which DVC reads otherwise (quotes, a "
			       "'#' comment or a ',' list): name the cache with --dvc-cache" },
		{ "../.git/objects", "'.dvc/config' sets cache.dir to '../.git/objects', not a folder p4reg reads "
				     "(in .git or .p4reg, a backslash, an overlong name): name the cache with --dvc-cache" },
		{ "../.P4REG", "'.dvc/config' sets cache.dir to '../.P4REG', not a folder p4reg reads (in .git or "
			       ".p4reg, a backslash, an overlong name): name the cache with --dvc-cache" },
		{ "..\\cache", "'.dvc/config' sets cache.dir to '..\\cache', not a folder p4reg reads (in .git or "
			       ".p4reg, a backslash, an overlong name): name the cache with --dvc-cache" },
	};
	struct cfg_case c = { .dir = tu_mkdtemp() };
	char cmd[4300], *big, *out = NULL;
	size_t i;

	(void)state;
	c.root = open(c.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(c.root >= 0);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/.dvc'", c.dir);
	assert_int_equal(system(cmd), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_dir(&c, ".dvc/config", bad[i].value);
		expect_refused(&c, ".dvc", bad[i].why);
	}
	/* the local file's bad value is refused, not skipped for the other's */
	put_dir(&c, ".dvc/config", "../fine");
	put_dir(&c, ".dvc/config.local", "/mnt/shared");
	expect_refused(&c, ".dvc", "'.dvc/config.local' sets cache.dir to '/mnt/shared', outside the repository: "
		       "name the cache with --dvc-cache");
	put(&c, ".dvc/config.local", NULL);
	/* what libini_config or configobj refuse, or would read otherwise */
	put(&c, ".dvc/config", "[cache]\n    dir = ../a\n    dir = ../b\n");
	expect_refused(&c, ".dvc", "cannot read '.dvc/config' as a DVC config: line 3: Duplicate key is not "
		       "allowed: name the cache with --dvc-cache");
	put(&c, ".dvc/config", "[cache]\n    dir = ../a\n['cache']\n    dir = ../b\n");
	expect_refused(&c, ".dvc", "'.dvc/config' sets cache.dir twice: name the cache with --dvc-cache");
	put(&c, ".dvc/config", "[cache]\n    dir = ../a\n    'dir' = ../b\n");
	expect_refused(&c, ".dvc", "'.dvc/config' sets cache.dir twice: name the cache with --dvc-cache");
	put(&c, ".dvc/config", "[cache\n    dir = ../a\n");
	expect_refused(&c, ".dvc", "cannot read '.dvc/config' as a DVC config: line 1: No closing bracket: name "
		       "the cache with --dvc-cache");
	put(&c, ".dvc/config", "[cache]\n    dir = ../a\x01/b\n");
	expect_refused(&c, ".dvc", "'.dvc/config' has a control character, which DVC never writes: name the "
		       "cache with --dvc-cache");
	/* a symbolic link at the name (even to a file inside), on the way, a
	 * FIFO, a folder: refused, never followed or blocked on */
	put_dir(&c, "elsewhere", "../x");
	snprintf(cmd, sizeof(cmd), "cd '%s' && rm .dvc/config && ln -s ../elsewhere .dvc/config", c.dir);
	assert_int_equal(system(cmd), 0);
	expect_refused(&c, ".dvc", "'.dvc/config' is or passes through a symbolic link; p4reg follows no link in "
		       "the work tree: name the cache with --dvc-cache");
	snprintf(cmd, sizeof(cmd), "cd '%s' && rm .dvc/config && ln -s /etc/passwd .dvc/config.local", c.dir);
	assert_int_equal(system(cmd), 0);
	expect_refused(&c, ".dvc", "'.dvc/config.local' is or passes through a symbolic link; p4reg follows no "
		       "link in the work tree: name the cache with --dvc-cache");
	snprintf(cmd, sizeof(cmd), "cd '%s' && rm .dvc/config.local && mkdir real && ln -s real sub && "
		 "mkdir real/.dvc && printf '[cache]\\ndir=x\\n' > real/.dvc/config", c.dir);
	assert_int_equal(system(cmd), 0);
	expect_refused(&c, "sub/.dvc", "'sub/.dvc/config.local' is or passes through a symbolic link; p4reg "
		       "follows no link in the work tree: name the cache with --dvc-cache");
	expect_dir(&c, "real/.dvc", "real/.dvc/x");
	snprintf(cmd, sizeof(cmd), "cd '%s' && mkfifo .dvc/config && mkdir .dvc/config.local", c.dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(p4r_dvc_cache_dir(c.root, ".dvc", &out), P4R_EINTEGRITY);
	assert_non_null(strstr(p4r_error_message(), "'.dvc/config.local' is a directory"));
	snprintf(cmd, sizeof(cmd), "cd '%s' && rmdir .dvc/config.local", c.dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(p4r_dvc_cache_dir(c.root, ".dvc", &out), P4R_EINTEGRITY);
	assert_non_null(strstr(p4r_error_message(), "'.dvc/config' is not a regular file"));
	snprintf(cmd, sizeof(cmd), "cd '%s' && rm .dvc/config", c.dir);
	assert_int_equal(system(cmd), 0);
	/* 64 KiB is read (a long comment first); one byte more is refused */
	assert_non_null(big = malloc(P4R_DVC_CONFIG_MAX + 2));
	memset(big, '#', P4R_DVC_CONFIG_MAX + 1);
	memcpy(big + P4R_DVC_CONFIG_MAX - 23, "\n[cache]\n    dir = ../c", 23);
	big[P4R_DVC_CONFIG_MAX + 1] = '\0';
	big[P4R_DVC_CONFIG_MAX] = '\0';
	put(&c, ".dvc/config", big);
	expect_dir(&c, ".dvc", "c");
	big[P4R_DVC_CONFIG_MAX] = '\n';
	put(&c, ".dvc/config", big);
	expect_refused(&c, ".dvc", "'.dvc/config' is larger than 64 KiB, more than DVC writes: name the cache with "
		       "--dvc-cache");
	free(big);
	assert_null(out);
	close(c.root);
	tu_rmtree_free(c.dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_written_by_dvc),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_md5_buffer),
		cmocka_unit_test(test_sum_small_files),
		cmocka_unit_test(test_sum_chunks),
		cmocka_unit_test(test_sum_refuses),
		cmocka_unit_test(test_dir_listing),
		cmocka_unit_test(test_dir_listing_refuses),
		cmocka_unit_test(test_dir_listing_limits),
		cmocka_unit_test(test_cache_dir),
		cmocka_unit_test(test_cache_dir_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
