/* .dvc files and DVC's cache (see dvc.h). The YAML is libyaml's, through
 * its document API: the tree is read for the few keys p4reg needs, never
 * walked whole, so an alias cannot make the walk grow. */
#include "p4reg/dvc.h"
#include "dvc/dvc_priv.h"
#include "dvc/libyaml_dl.h"
#include "p4reg/error.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int invalid(const char *why)
{
	return p4r_error_set(P4R_EINTEGRITY, "invalid .dvc file: %s", why);
}

void p4r_dvc_file_clear(p4r_dvc_file *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; f->outs && i < f->n; i++)
		free(f->outs[i].path);
	free(f->outs);
	memset(f, 0, sizeof(*f));
}

/* Keys of one mapping a .dvc file may hold: DVC writes a dozen at most. */
#define KEYS_MAX 64
/* Flow collections ('[', '{') a .dvc file may hold: DVC writes block YAML,
 * and libyaml takes time quadratic in unclosed ones. */
#define FLOW_MAX 256

/* Node N carries no tag of its own (libyaml gives an untagged node the
 * default one): "!binary" and the like are not what DVC writes. */
static bool untagged(const yaml_node_t *n)
{
	const char *want = n->type == YAML_SCALAR_NODE ? YAML_DEFAULT_SCALAR_TAG :
			   n->type == YAML_SEQUENCE_NODE ? YAML_DEFAULT_SEQUENCE_TAG : YAML_DEFAULT_MAPPING_TAG;

	return n->tag && !strcmp((const char *)n->tag, want);
}

/* Node N as a scalar's text (NUL-free) into *S and *LEN; false when it is
 * another kind of node, or tagged. */
static bool scalar(yaml_node_t *n, const char **s, size_t *len)
{
	if (!n || n->type != YAML_SCALAR_NODE || !untagged(n))
		return false;
	*s = (const char *)n->data.scalar.value;
	*len = n->data.scalar.length;
	return memchr(*s, '\0', *len) == NULL;
}

static bool key_is(yaml_document_t *doc, yaml_node_pair_t *p, const char *key)
{
	const char *s;
	size_t len;

	return scalar(yaml_document_get_node(doc, p->key), &s, &len) && len == strlen(key) &&
	       !memcmp(s, key, len);
}

bool p4r_dvc_hex32(const char *s, size_t len)
{
	size_t i;

	if (len != 32)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Scalar node V as a decimal count into *OUT; false when it is not one. */
static bool count(yaml_node_t *v, int64_t *out)
{
	const char *s;
	char *end = NULL;
	uintmax_t n;
	size_t len;

	if (!scalar(v, &s, &len) || !len || len > 19 || strspn(s, "0123456789") != len)
		return false;
	errno = 0;
	n = strtoumax(s, &end, 10);
	if (errno || n > INT64_MAX)
		return false;
	*out = (int64_t)n;
	return true;
}

/* Mapping M as DVC writes one: untagged, at most KEYS_MAX keys, each a
 * plain scalar once (a repeated key would let a reader of the file see
 * one value and p4reg use another). */
static int check_mapping(yaml_document_t *doc, yaml_node_t *m, const char *what)
{
	yaml_node_pair_t *p, *q;
	const char *a, *b;
	size_t alen, blen;

	if (!m || m->type != YAML_MAPPING_NODE || !untagged(m))
		return p4r_error_set(P4R_EINTEGRITY, "invalid .dvc file: %s is not a mapping", what);
	if (m->data.mapping.pairs.top - m->data.mapping.pairs.start > KEYS_MAX)
		return p4r_error_set(P4R_EINTEGRITY, "invalid .dvc file: %s has more than %d keys", what, KEYS_MAX);
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		if (!scalar(yaml_document_get_node(doc, p->key), &a, &alen))
			return p4r_error_set(P4R_EINTEGRITY, "invalid .dvc file: a key of %s is not text", what);
		for (q = m->data.mapping.pairs.start; q < p; q++)
			if (scalar(yaml_document_get_node(doc, q->key), &b, &blen) && alen == blen && !memcmp(a, b, alen))
				return p4r_error_set(P4R_EINTEGRITY, "invalid .dvc file: %s has the key '%.*s' twice",
						     what, (int)alen, a);
	}
	return 0;
}

/* One "outs" entry, mapping node M, into O. */
static int read_out(yaml_document_t *doc, yaml_node_t *m, p4r_dvc_out *o)
{
	yaml_node_pair_t *p;
	bool has_md5 = false;
	const char *s;
	size_t len;
	int rc;

	o->size = -1;
	o->nfiles = -1;
	/* DVC 3 writes "hash: md5"; an output without it is DVC 2's */
	o->dos2unix = true;
	if ((rc = check_mapping(doc, m, "an entry of 'outs'")) < 0)
		return rc;
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *v = yaml_document_get_node(doc, p->value);

		if (key_is(doc, p, "md5")) {
			if (!scalar(v, &s, &len))
				return invalid("'md5' is not text");
			o->dir = len == 36 && !memcmp(s + 32, ".dir", 4);
			if (!p4r_dvc_hex32(s, o->dir ? 32 : len))
				return invalid("'md5' is not 32 lowercase hex digits");
			memcpy(o->md5, s, 32);
			o->md5[32] = '\0';
			has_md5 = true;
		} else if (key_is(doc, p, "path")) {
			if (!scalar(v, &s, &len) || !len)
				return invalid("'path' is not a file name");
			free(o->path);
			if (!(o->path = strndup(s, len)))
				return p4r_error_set(P4R_ERROR, "out of memory");
		} else if (key_is(doc, p, "size")) {
			if (!count(v, &o->size))
				return invalid("'size' is not a count of bytes");
		} else if (key_is(doc, p, "nfiles")) {
			if (!count(v, &o->nfiles))
				return invalid("'nfiles' is not a count of files");
		} else if (key_is(doc, p, "hash")) {
			if (!scalar(v, &s, &len))
				len = 0;
			if (len == 3 && !memcmp(s, "md5", 3))
				o->dos2unix = false;
			else if (len == 12 && !memcmp(s, "md5-dos2unix", 12))
				o->dos2unix = true;
			else
				return invalid("its 'hash' is not md5 or md5-dos2unix, the ones p4reg reads");
		}
	}
	if (!has_md5 || !o->path)
		return invalid("an output lacks 'md5' or 'path'");
	return 0;
}

/* The root mapping ROOT's "outs" into OUT. */
static int read_outs(yaml_document_t *doc, yaml_node_t *root, p4r_dvc_file *out)
{
	yaml_node_pair_t *p;
	yaml_node_t *outs = NULL;
	yaml_node_item_t *it;
	size_t n;
	int rc;

	if (!root || root->type != YAML_MAPPING_NODE)
		return invalid("it is not a YAML mapping");
	if ((rc = check_mapping(doc, root, "the file")) < 0)
		return rc;
	for (p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		if (key_is(doc, p, "outs"))
			outs = yaml_document_get_node(doc, p->value);
		else if (key_is(doc, p, "wdir"))
			return invalid("'wdir' is not supported");
	}
	if (!outs || outs->type != YAML_SEQUENCE_NODE || !untagged(outs))
		return invalid("it has no 'outs' list");
	n = (size_t)(outs->data.sequence.items.top - outs->data.sequence.items.start);
	if (n == 0 || n > P4R_DVC_OUTS_MAX)
		return invalid(n ? "too many outputs" : "its 'outs' list is empty");
	if (!(out->outs = calloc(n, sizeof(*out->outs))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (it = outs->data.sequence.items.start; it < outs->data.sequence.items.top; it++) {
		rc = read_out(doc, yaml_document_get_node(doc, *it), &out->outs[out->n]);
		out->n++;
		if (rc < 0)
			return rc;
	}
	return 0;
}

int p4r_dvc_parse(p4r_dvc_file *out, const char *buf, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc;

	size_t i, flow = 0;

	memset(out, 0, sizeof(*out));
	if (len > P4R_DVC_FILE_MAX)
		return invalid("larger than 1 MiB");
	for (i = 0; i < len; i++)
		flow += buf[i] == '[' || buf[i] == '{';
	if (flow > FLOW_MAX)
		return invalid("more than 256 '[' or '{' (DVC writes block YAML)");
	if ((rc = p4r_libyaml_init()) < 0)
		return rc;
	if (!yaml_parser_initialize(&parser))
		return p4r_error_set(P4R_ERROR, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = p4r_error_set(P4R_EINTEGRITY, "invalid .dvc file: not YAML (%s at line %zu)",
				   parser.problem ? parser.problem : "malformed", parser.problem_mark.line + 1);
		yaml_parser_delete(&parser);
		return rc;
	}
	rc = read_outs(&doc, yaml_document_get_root_node(&doc), out);
	yaml_document_delete(&doc);
	/* a second document would be a file other readers see otherwise */
	if (rc == 0 && !yaml_parser_load(&parser, &doc))
		rc = invalid("not YAML after its first document");
	else if (rc == 0) {
		if (yaml_document_get_root_node(&doc))
			rc = invalid("it holds more than one YAML document");
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	if (rc < 0)
		p4r_dvc_file_clear(out);
	return rc;
}

/* ---- md5-dos2unix (dvc-data's Dos2UnixHashStreamFile, istextblock) ---- */

#define CHUNK (1 << 20)  /* dvc-data's read size: the rule applies per chunk */
#define TEXT_BLOCK 512   /* the bytes of a chunk that decide text or binary */

/* Whether a chunk starting with the N bytes at P is text: no NUL, and at
 * most 30% of them outside printable ASCII and \n \r \t \f \b (the
 * comparison as Python makes it, in double). */
static bool text_block(const unsigned char *p, size_t n)
{
	size_t nontext = 0, i;

	if (n > TEXT_BLOCK)
		n = TEXT_BLOCK;
	if (n == 0)
		return true;
	if (memchr(p, '\0', n))
		return false;
	for (i = 0; i < n; i++)
		nontext += !((p[i] >= 32 && p[i] <= 126) || p[i] == '\n' || p[i] == '\r' || p[i] == '\t' ||
			     p[i] == '\f' || p[i] == '\b');
	return (double)nontext / (double)n <= 0.30;
}

/* Turns every "\r\n" of the N bytes at P into "\n" in place, as Python's
 * bytes.replace(b"\r\n", b"\n"); the new length. */
static size_t dos2unix(unsigned char *p, size_t n)
{
	unsigned char *end = p + n, *out = p, *seg = p, *q = p, *cr;

	/* SEG: the bytes kept since the last "\r" dropped, moved to OUT */
	while ((cr = memchr(q, '\r', (size_t)(end - q))) && cr + 1 < end) {
		q = cr + 1;
		if (*q != '\n')
			continue;
		if (out != seg)
			memmove(out, seg, (size_t)(cr - seg));
		out += cr - seg;
		seg = q;
	}
	if (out != seg)
		memmove(out, seg, (size_t)(end - seg));
	return (size_t)(out - p) + (size_t)(end - seg);
}

/* Fills BUF with up to CHUNK bytes of FD: fewer only at the end of the file. */
static int read_chunk(int fd, unsigned char *buf, size_t *got, const char *display)
{
	ssize_t r;

	*got = 0;
	while (*got < CHUNK) {
		if ((r = read(fd, buf + *got, CHUNK - *got)) == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return p4r_error_errno("cannot read '%s'", display);
		}
		*got += (size_t)r;
	}
	return 0;
}

static int hex_final(EVP_MD_CTX *ctx, char hex[33])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 16)
		return p4r_error_set(P4R_ERROR, "cannot compute MD5 (OpenSSL)");
	for (i = 0; i < 16; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[32] = '\0';
	return 0;
}

int p4r_dvc_sum_fd(p4r_dvc_sum *out, int fd, const char *display, bool dos2unix_rule)
{
	EVP_MD_CTX *cur = NULL, *old = NULL; /* the current rule's, the older one's */
	bool first = true, text;  /* FIRST: the first chunk's verdict */
	unsigned char *buf = NULL;
	struct stat st;
	size_t got, n;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (fstat(fd, &st) < 0)
		return p4r_error_errno("cannot read '%s'", display);
	if (!S_ISREG(st.st_mode))
		return p4r_error_set(P4R_EINTEGRITY, "'%s' is not a regular file", display);
	if (!(buf = malloc(CHUNK)) || !(cur = EVP_MD_CTX_new()) || EVP_DigestInit_ex(cur, EVP_md5(), NULL) != 1)
		goto ssl;
	for (;;) {
		if ((rc = read_chunk(fd, buf, &got, display)) < 0)
			goto done;
		if (got == 0)
			break;
		out->size += got;
		if (!dos2unix_rule) {
			if (EVP_DigestUpdate(cur, buf, got) != 1)
				goto ssl;
			continue;
		}
		text = text_block(buf, got);
		if (out->size == got)
			first = text;
		/* the first chunk whose verdict is not the first's: the two
		 * rules part here, with the same bytes hashed so far */
		if (text != first && !old &&
		    (!(old = EVP_MD_CTX_new()) || EVP_MD_CTX_copy_ex(old, cur) != 1))
			goto ssl;
		if (old && text != first) {
			/* one rule hashes the chunk as it is, the other converted */
			if (EVP_DigestUpdate(text ? old : cur, buf, got) != 1)
				goto ssl;
			n = dos2unix(buf, got);
			if (EVP_DigestUpdate(text ? cur : old, buf, n) != 1)
				goto ssl;
		} else {
			n = text ? dos2unix(buf, got) : got;
			if (EVP_DigestUpdate(cur, buf, n) != 1 || (old && EVP_DigestUpdate(old, buf, n) != 1))
				goto ssl;
		}
	}
	if ((rc = hex_final(cur, out->md5)) < 0 || (old && (rc = hex_final(old, out->older)) < 0))
		goto done;
	if (!strcmp(out->older, out->md5))
		out->older[0] = '\0';
	goto done;
ssl:
	rc = p4r_error_set(P4R_ERROR, "cannot compute MD5 (OpenSSL)");
done:
	EVP_MD_CTX_free(old);
	EVP_MD_CTX_free(cur);
	free(buf);
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

bool p4r_dvc_sum_matches(const p4r_dvc_sum *s, const char *md5)
{
	return (s->md5[0] && !strcmp(s->md5, md5)) || (s->older[0] && !strcmp(s->older, md5));
}

int p4r_dvc_md5_buffer(char hex[33], const void *buf, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc;

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1 || EVP_DigestUpdate(ctx, buf, len) != 1)
		rc = p4r_error_set(P4R_ERROR, "cannot compute MD5 (OpenSSL)");
	else
		rc = hex_final(ctx, hex);
	EVP_MD_CTX_free(ctx);
	return rc;
}
