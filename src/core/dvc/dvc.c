/* .dvc files and DVC's cache (see dvc.h). The YAML is libyaml's, through
 * its document API: the tree is read for the few keys p4reg needs, never
 * walked whole, so an alias cannot make the walk grow. */
#include "p4reg/dvc.h"
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

/* Node N as a scalar's text (NUL-free) into *S and *LEN; false when it is
 * another kind of node. */
static bool scalar(yaml_node_t *n, const char **s, size_t *len)
{
	if (!n || n->type != YAML_SCALAR_NODE)
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

static bool hex32(const char *s, size_t len)
{
	size_t i;

	if (len != 32)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* One "outs" entry, mapping node M, into O. */
static int read_out(yaml_document_t *doc, yaml_node_t *m, p4r_dvc_out *o)
{
	yaml_node_pair_t *p;
	bool has_md5 = false;
	const char *s;
	size_t len;

	o->size = -1;
	if (!m || m->type != YAML_MAPPING_NODE)
		return invalid("an entry of 'outs' is not a mapping");
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *v = yaml_document_get_node(doc, p->value);

		if (key_is(doc, p, "md5")) {
			if (!scalar(v, &s, &len))
				return invalid("'md5' is not text");
			o->dir = len == 36 && !memcmp(s + 32, ".dir", 4);
			if (!hex32(s, o->dir ? 32 : len))
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
			char *end = NULL;
			uintmax_t n;

			if (!scalar(v, &s, &len) || !len || len > 19 || strspn(s, "0123456789") != len)
				return invalid("'size' is not a count of bytes");
			errno = 0;
			n = strtoumax(s, &end, 10);
			if (errno || n > INT64_MAX)
				return invalid("'size' is not a count of bytes");
			o->size = (int64_t)n;
		} else if (key_is(doc, p, "hash")) {
			if (!scalar(v, &s, &len) || len != 3 || memcmp(s, "md5", 3))
				return invalid("its 'hash' is not md5, the only one p4reg reads");
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
	for (p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		if (key_is(doc, p, "outs"))
			outs = yaml_document_get_node(doc, p->value);
		else if (key_is(doc, p, "wdir"))
			return invalid("'wdir' is not supported");
	}
	if (!outs || outs->type != YAML_SEQUENCE_NODE)
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

	memset(out, 0, sizeof(*out));
	if (len > P4R_DVC_FILE_MAX)
		return invalid("larger than 1 MiB");
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
	yaml_parser_delete(&parser);
	if (rc < 0)
		p4r_dvc_file_clear(out);
	return rc;
}

/* Whether PATH is a regular file (its last component not followed). */
static bool regular(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int p4r_dvc_cache_find(char *buf, size_t bufsz, const char *cache_dir, const char *md5)
{
	char legacy[4096];

	if (!hex32(md5, strlen(md5)))
		return p4r_error_set(P4R_EUSAGE, "malformed md5 '%s'", md5);
	snprintf(legacy, sizeof(legacy), "%s/%.2s/%s", cache_dir, md5, md5 + 2);
	if ((size_t)snprintf(buf, bufsz, "%s/files/md5/%.2s/%s", cache_dir, md5, md5 + 2) >= bufsz)
		return p4r_error_set(P4R_ERROR, "the DVC cache path '%s' is too long", cache_dir);
	if (regular(buf))
		return 0;
	if (regular(legacy)) {
		snprintf(buf, bufsz, "%s", legacy);
		return 0;
	}
	return p4r_error_set(P4R_ENOTFOUND, "'%s' is not in the DVC cache '%s'", md5, cache_dir);
}

int p4r_dvc_md5_file(char hex[33], uint64_t *size, const char *path)
{
	int fd, rc;

	*size = 0;
	/* never blocks on a FIFO planted under the name */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return p4r_error_errno("cannot open '%s'", path);
	rc = p4r_dvc_md5_fd(hex, size, fd, path);
	close(fd);
	return rc;
}

int p4r_dvc_md5_fd(char hex[33], uint64_t *size, int fd, const char *display)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE], *buf = NULL;
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx = NULL;
	struct stat st;
	ssize_t got;
	int rc = 0;

	*size = 0;
	if (fstat(fd, &st) < 0)
		return p4r_error_errno("cannot read '%s'", display);
	if (!S_ISREG(st.st_mode))
		return p4r_error_set(P4R_EINTEGRITY, "'%s' is not a regular file", display);
	if (!(buf = malloc(1 << 20)) || !(ctx = EVP_MD_CTX_new()) || EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1) {
		rc = p4r_error_set(P4R_ERROR, "cannot compute MD5 (OpenSSL)");
		goto done;
	}
	while ((got = read(fd, buf, 1 << 20)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			rc = p4r_error_errno("cannot read '%s'", display);
			goto done;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)got) != 1) {
			rc = p4r_error_set(P4R_ERROR, "cannot compute MD5 (OpenSSL)");
			goto done;
		}
		*size += (uint64_t)got;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 16) {
		rc = p4r_error_set(P4R_ERROR, "cannot compute MD5 (OpenSSL)");
		goto done;
	}
	for (i = 0; i < 16; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[32] = '\0';
done:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}
