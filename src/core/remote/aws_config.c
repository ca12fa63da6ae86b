/* The user's AWS files and environment, as every S3 tool reads them
 * (aws_config.h). The files are INI as Python's configparser writes them
 * (aws_access_key_id keys, [profile dev] headers, indented sub-sections
 * such as "s3 =" on the lines below), which libgit2's config parser
 * refuses (underscores in keys, a subsection without quotes), so
 * libini_config parses them: no hand-written parser. Each file is opened
 * once, checked (a regular file the user or root owns and no one else can
 * write: it decides where credentials go) and parsed from memory.
 *
 * The order is the AWS CLI's: the environment before the files, the
 * credentials file before the config file; what p4reg's own settings of a
 * remote say comes before all of it (remote/s3.c). */
#include "p4reg/aws_config.h"
#include "p4reg/error.h"
#include "remote/iniconfig_dl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <openssl/crypto.h>

/* Far above any real file: a bound, not a limit anyone meets. */
#define AWS_FILE_MAX ((size_t)1 << 20)
#define PROFILE_MAX 128

enum { CRED_FILE, CONF_FILE };

/* The keys of one file's section for the profile. */
struct file_keys {
	char *access, *secret, *token;
};

struct p4r_aws {
	char *profile;          /* the profile's name */
	bool named;             /* chosen by the caller: the environment's keys do not apply */
	char *path[2];          /* credentials file, config file; NULL without HOME */
	char *from[2];          /* "profile 'dev' in 'PATH'", for messages */
	struct file_keys keys[2];
	char *region;           /* the config file's profile only, as the CLI reads it */
	char *endpoint;         /* the profile's endpoint_url */
	char *s3_endpoint;      /* endpoint_url under the profile's "s3 =" */
	char *svc_endpoint;     /* endpoint_url under "s3 =" of [services X] */
	char *addressing;       /* addressing_style under the profile's "s3 =" */
	char *ignore_endpoints; /* ignore_configured_endpoint_urls */
	char *svc_from;         /* "services 'X' in 'PATH'" */
};

/* ---- reading a file ---- */

static char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? (char *)v : NULL;
}

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* The file VAR names ("~/" is the home folder, as the CLI expands it),
 * else ~/.aws/NAME; NULL with neither a variable nor HOME. */
static int file_path(char **out, const char *var, const char *name)
{
	const char *v = env(var), *home = env("HOME");
	int n;

	*out = NULL;
	if (v && strncmp(v, "~/", 2))
		n = asprintf(out, "%s", v);
	else if (!home)
		return 0;
	else if (v)
		n = asprintf(out, "%s/%s", home, v + 2);
	else
		n = asprintf(out, "%s/.aws/%s", home, name);
	if (n < 0) {
		*out = NULL;
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	return 0;
}

/* The bytes of PATH into *OUT (NUL-terminated), or *OUT NULL when there is
 * no such file. Opened once and checked through that descriptor: it must
 * be a regular file (a FIFO is never waited on), owned by this user or
 * root, and writable by no one else. Readable by others is accepted, as
 * the AWS CLI accepts it. */
static int slurp(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int rc = 0;

	*out = NULL;
	*len = 0;
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return p4r_error_set(P4R_ERROR, "cannot read AWS file '%s': %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		rc = p4r_error_set(P4R_ERROR, "cannot read AWS file '%s': %s", path, strerror(errno));
		goto done;
	}
	/* /dev/null is how a script says "no such file" (AWS_CONFIG_FILE=/dev/null) */
	if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3)
		goto done;
	if (!S_ISREG(st.st_mode)) {
		rc = p4r_error_set(P4R_ERROR, "AWS file '%s' is not a regular file", path);
		goto done;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		rc = p4r_error_set(P4R_EREFUSED, "refusing AWS file '%s': it belongs to another user", path);
		goto done;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		rc = p4r_error_set(P4R_EREFUSED, "refusing AWS file '%s': other users can write it, and it "
				   "decides where your credentials go (chmod go-w '%s')", path, path);
		goto done;
	}
	if ((uint64_t)st.st_size > AWS_FILE_MAX) {
		rc = p4r_error_set(P4R_ERROR, "AWS file '%s' is larger than 1 MiB", path);
		goto done;
	}
	if (!(buf = malloc(AWS_FILE_MAX + 1))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	/* read to the end, not to st_size: the file may be growing */
	while ((n = read(fd, buf + got, AWS_FILE_MAX + 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = p4r_error_set(P4R_ERROR, "cannot read AWS file '%s': %s", path, strerror(errno));
			goto done;
		}
		got += (size_t)n;
		if (got > AWS_FILE_MAX) {
			rc = p4r_error_set(P4R_ERROR, "AWS file '%s' is larger than 1 MiB", path);
			goto done;
		}
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
done:
	if (buf) {
		OPENSSL_cleanse(buf, got);
		free(buf);
	}
	close(fd);
	return rc;
}

/* Parses BUF (LEN bytes, NUL-terminated) with libini_config into *OUT.
 * PARSE_FLAGS: INI_PARSE_*; NESTED: a sub-section's lines, where a later
 * key replaces an earlier one and a line that is no key is skipped (as
 * the CLI reads them); a file's repeated section or key is an error, as
 * configparser makes it. PATH names the file in messages. */
static int parse(struct ini_cfgobj **out, char *buf, size_t len, bool nested, const char *path)
{
	struct ini_cfgfile *file = NULL;
	char **errors = NULL;
	uint32_t collisions = nested ? INI_MV1S_OVERWRITE : (INI_MV1S_ERROR | INI_MV2S_ERROR | INI_MS_ERROR);
	uint32_t flags = INI_PARSE_NO_C_COMMENTS | (nested ? INI_PARSE_NOWRAP | INI_PARSE_IGNORE_NON_KVP : 0);
	unsigned line = 0;
	int err, rc = 0;

	*out = NULL;
	if (ini_config_create(out) || ini_config_file_from_mem(buf, (uint32_t)len, &file))
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((err = ini_config_parse(file, INI_STOP_ON_ANY, collisions, flags, *out)) != 0) {
		const char *what = "";

		/* "Error (5) on line 3: Equal sign is missing.": the line and the
		 * problem, never the line's text (it may hold a secret) */
		if (ini_config_get_errors(*out, &errors) == 0 && errors && errors[0]) {
			const char *colon = strstr(errors[0], ": ");

			if (sscanf(errors[0], "Error (%*d) on line %u", &line) == 1 && colon)
				what = colon + 2;
		}
		if (line)
			rc = p4r_error_set(P4R_ERROR, "cannot parse AWS file '%s': line %u: %.*s", path, line,
					   (int)strcspn(what, ".\n"), what);
		else
			rc = p4r_error_set(P4R_ERROR, "cannot parse AWS file '%s'%s", path,
					   nested ? " (an indented sub-section)" : "");
		ini_config_free_errors(errors);
		ini_config_destroy(*out);
		*out = NULL;
	}
	ini_config_file_destroy(file);
	return rc;
}

/* A copy of KEY of SECTION in CFG into *OUT; *OUT NULL when absent. */
static int value(char **out, struct ini_cfgobj *cfg, const char *section, const char *key)
{
	struct value_obj *vo = NULL;
	const char *v;
	int err = 0;

	*out = NULL;
	if (ini_get_config_valueobj(section, key, cfg, INI_GET_FIRST_VALUE, &vo) || !vo)
		return 0;
	if (!(v = ini_get_const_string_config_value(vo, &err)) || err)
		return 0;
	if (!(*out = strdup(v)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	return 0;
}

/* The '=' of the line "KEY = ..." in TEXT, a value as value_serialize
 * writes it: the comment lines above the key (and blank lines) first, so
 * the first '=' of TEXT may be a comment's ("# endpoint_url = URL" kept
 * for later must not become a setting). NULL when there is no such line. */
static const char *key_equals(const char *text, const char *key)
{
	size_t n = strlen(key);

	for (;;) {
		const char *p = text + strspn(text, " \t\r");

		if (*p != '\n' && *p != '#' && *p != ';')
			break;
		if (!(p = strchr(p, '\n')))
			return NULL;
		text = p + 1;
	}
	if (strncmp(text, key, n))
		return NULL;
	text += n;
	text += strspn(text, " \t");
	return *text == '=' ? text : NULL;
}

/* The keys of the sub-section KEY ("s3 =" and the indented lines below
 * it) of SECTION: its lines parsed as a section of their own. */
static int nested(struct ini_cfgobj **out, struct ini_cfgobj *cfg, const char *section, const char *key,
		  const char *path)
{
	struct value_obj *vo = NULL;
	struct simplebuffer *sb = NULL;
	const char *text, *eq;
	char *buf = NULL;
	int n, rc = 0;

	*out = NULL;
	if (ini_get_config_valueobj(section, key, cfg, INI_GET_FIRST_VALUE, &vo) || !vo)
		return 0;
	/* the value's lines as written ("KEY = first\n  line\n..."): the
	 * joined value would lose where one line ends */
	if (simplebuffer_alloc(&sb) || value_serialize(vo, key, sb) ||
	    !(text = (const char *)simplebuffer_get_buf(sb)) || !(eq = key_equals(text, key))) {
		rc = p4r_error_set(P4R_ERROR, "cannot read '%s' of [%s] in AWS file '%s'", key, section, path);
		goto done;
	}
	if ((n = asprintf(&buf, "[%s]\n%s", key, eq + 1)) < 0) {
		buf = NULL;
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	rc = parse(out, buf, (size_t)n, true, path);
done:
	if (buf) {
		OPENSSL_cleanse(buf, strlen(buf));
		free(buf);
	}
	simplebuffer_free(sb);
	return rc;
}

/* Whether CFG has a section named exactly NAME (case matters, as in the CLI). */
static bool has_section(struct ini_cfgobj *cfg, const char *name)
{
	int n = 0, err = 0, i;
	char **list = ini_get_section_list(cfg, &n, &err);
	bool found = false;

	for (i = 0; list && i < n && !found; i++)
		found = !strcmp(list[i], name);
	ini_free_section_list(list);
	return found;
}

/* Reads the credentials file: section [PROFILE], its three keys. */
static int read_credentials(p4r_aws *a, struct ini_cfgobj *cfg, bool *found)
{
	struct file_keys *k = &a->keys[CRED_FILE];
	int rc;

	if (!has_section(cfg, a->profile))
		return 0;
	*found = true;
	if ((rc = value(&k->access, cfg, a->profile, "aws_access_key_id")) < 0 ||
	    (rc = value(&k->secret, cfg, a->profile, "aws_secret_access_key")) < 0 ||
	    (rc = value(&k->token, cfg, a->profile, "aws_session_token")) < 0)
		return rc;
	return 0;
}

/* Reads the config file: section [profile PROFILE] ([default] too for
 * the default profile), its keys, its "s3 =" sub-section and the "s3 ="
 * sub-section of the [services X] section it names. */
static int read_config(p4r_aws *a, struct ini_cfgobj *cfg, bool *found)
{
	struct file_keys *k = &a->keys[CONF_FILE];
	struct ini_cfgobj *sub = NULL;
	char *section = NULL, *services = NULL, *svc = NULL;
	const char *path = a->path[CONF_FILE];
	int rc = 0;

	if (asprintf(&section, "profile %s", a->profile) < 0) {
		section = NULL;
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	if (!has_section(cfg, section)) {
		free(section);
		section = NULL;
		if (strcmp(a->profile, "default") || !has_section(cfg, "default"))
			return 0;
		if (!(section = strdup("default")))
			return p4r_error_set(P4R_ERROR, "out of memory");
	}
	*found = true;
	if ((rc = value(&k->access, cfg, section, "aws_access_key_id")) < 0 ||
	    (rc = value(&k->secret, cfg, section, "aws_secret_access_key")) < 0 ||
	    (rc = value(&k->token, cfg, section, "aws_session_token")) < 0 ||
	    (rc = value(&a->region, cfg, section, "region")) < 0 ||
	    (rc = value(&a->endpoint, cfg, section, "endpoint_url")) < 0 ||
	    (rc = value(&a->ignore_endpoints, cfg, section, "ignore_configured_endpoint_urls")) < 0 ||
	    (rc = value(&services, cfg, section, "services")) < 0)
		goto done;
	if ((rc = nested(&sub, cfg, section, "s3", path)) < 0)
		goto done;
	if (sub && ((rc = value(&a->s3_endpoint, sub, "s3", "endpoint_url")) < 0 ||
		    (rc = value(&a->addressing, sub, "s3", "addressing_style")) < 0))
		goto done;
	ini_config_destroy(sub);
	sub = NULL;
	if (services && *services) {
		if (asprintf(&svc, "services %s", services) < 0 ||
		    asprintf(&a->svc_from, "services '%s' in '%s'", services, path) < 0) {
			svc = a->svc_from = NULL;
			rc = p4r_error_set(P4R_ERROR, "out of memory");
			goto done;
		}
		if ((rc = nested(&sub, cfg, svc, "s3", path)) < 0)
			goto done;
		if (sub && (rc = value(&a->svc_endpoint, sub, "s3", "endpoint_url")) < 0)
			goto done;
	}
done:
	ini_config_destroy(sub);
	free(section);
	free(services);
	free(svc);
	return rc;
}

/* Reads file WHICH, if it exists, into A; *FOUND when it has the profile. */
static int read_file(p4r_aws *a, int which, bool *found)
{
	struct ini_cfgobj *cfg = NULL;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (!a->path[which])
		return 0;
	if ((rc = slurp(a->path[which], &buf, &len)) < 0 || !buf)
		return rc;
	if ((rc = p4r_iniconfig_init()) == 0 && (rc = parse(&cfg, buf, len, false, a->path[which])) == 0)
		rc = which == CRED_FILE ? read_credentials(a, cfg, found) : read_config(a, cfg, found);
	ini_config_destroy(cfg);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}

/* ---- the profile ---- */

/* A profile name goes into a section header and into messages: 1 to 128
 * printable characters, no ']' (a header could not hold it). */
static bool profile_valid(const char *v)
{
	size_t i;

	for (i = 0; v[i]; i++)
		if (i >= PROFILE_MAX || (unsigned char)v[i] < 0x20 || v[i] == 0x7f || v[i] == ']')
			return false;
	return i > 0;
}

int p4r_aws_open(p4r_aws **out, const char *named, const char *named_from)
{
	p4r_aws *a = calloc(1, sizeof(*a));
	const char *name = named ? named : env("AWS_PROFILE");
	const char *what = named ? named_from : "AWS_PROFILE";
	bool found[2] = { false, false };
	int rc, i;

	*out = NULL;
	if (!a)
		return p4r_error_set(P4R_ERROR, "out of memory");
	a->named = named != NULL;
	if (name && !profile_valid(name)) {
		rc = p4r_error_set(P4R_EUSAGE, "invalid AWS profile name in %s (1 to %d printable characters, "
				   "no ']')", what, PROFILE_MAX);
		goto fail;
	}
	if (!(a->profile = strdup(name ? name : "default"))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto fail;
	}
	if ((rc = file_path(&a->path[CRED_FILE], "AWS_SHARED_CREDENTIALS_FILE", "credentials")) < 0 ||
	    (rc = file_path(&a->path[CONF_FILE], "AWS_CONFIG_FILE", "config")) < 0)
		goto fail;
	for (i = 0; i < 2; i++) {
		if (a->path[i] && asprintf(&a->from[i], "profile '%s' in '%s'", a->profile, a->path[i]) < 0) {
			a->from[i] = NULL;
			rc = p4r_error_set(P4R_ERROR, "out of memory");
			goto fail;
		}
		if ((rc = read_file(a, i, &found[i])) < 0)
			goto fail;
	}
	if (name && !found[0] && !found[1]) {
		rc = p4r_error_set(P4R_ERROR, "no AWS profile '%s' (%s) in '%s' or '%s'", a->profile, what,
				   a->path[CRED_FILE] ? a->path[CRED_FILE] : "~/.aws/credentials",
				   a->path[CONF_FILE] ? a->path[CONF_FILE] : "~/.aws/config");
		goto fail;
	}
	*out = a;
	return 0;
fail:
	p4r_aws_free(a);
	return rc;
}

void p4r_aws_free(p4r_aws *a)
{
	int i;

	if (!a)
		return;
	for (i = 0; i < 2; i++) {
		free(a->path[i]);
		free(a->from[i]);
		free(a->keys[i].access);
		wipe_free(a->keys[i].secret);
		wipe_free(a->keys[i].token);
	}
	free(a->profile);
	free(a->region);
	free(a->endpoint);
	free(a->s3_endpoint);
	free(a->svc_endpoint);
	free(a->addressing);
	free(a->ignore_endpoints);
	free(a->svc_from);
	free(a);
}

const char *p4r_aws_profile(const p4r_aws *a)
{
	return a->profile;
}

const char *p4r_aws_region(const p4r_aws *a, p4r_aws_source *from)
{
	if (env("AWS_REGION")) {
		*from = "AWS_REGION";
		return env("AWS_REGION");
	}
	if (env("AWS_DEFAULT_REGION")) {
		*from = "AWS_DEFAULT_REGION";
		return env("AWS_DEFAULT_REGION");
	}
	*from = a->from[CONF_FILE];
	return a->region;
}

/* A boolean of the AWS files or environment: "true", any case. */
static bool truthy(const char *v)
{
	return v && !strcasecmp(v, "true");
}

const char *p4r_aws_endpoint(const p4r_aws *a, p4r_aws_source *from)
{
	const char *const vars[] = { "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL" };
	size_t i;

	*from = NULL;
	if (env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") ? truthy(env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))
						       : truthy(a->ignore_endpoints))
		return NULL;
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (env(vars[i])) {
			*from = vars[i];
			return env(vars[i]);
		}
	if (a->svc_endpoint) {
		*from = a->svc_from;
		return a->svc_endpoint;
	}
	*from = a->from[CONF_FILE];
	return a->s3_endpoint ? a->s3_endpoint : a->endpoint;
}

int p4r_aws_path_style(const p4r_aws *a, int *out)
{
	*out = -1;
	if (!a->addressing)
		return 0;
	if (!strcmp(a->addressing, "path"))
		*out = 1;
	else if (!strcmp(a->addressing, "virtual") || !strcmp(a->addressing, "auto"))
		*out = 0;
	else
		return p4r_error_set(P4R_EUSAGE, "invalid s3 addressing_style of %s (path, virtual or auto)",
				     a->from[CONF_FILE]);
	return 0;
}

/* The keys of one source into OUT when it has an access key id. */
static int take(p4r_aws_keys *out, const char *access, const char *secret, const char *token,
		const char *from, const char *secret_name)
{
	if (!access)
		return 0;
	if (!secret)
		return p4r_error_set(P4R_ERROR, "incomplete S3 credentials in %s: an access key id without %s",
				     from, secret_name);
	out->access = access;
	out->secret = secret;
	out->token = token;
	out->from = from;
	return 1;
}

int p4r_aws_credentials(const p4r_aws *a, p4r_aws_keys *out)
{
	int i, rc;

	memset(out, 0, sizeof(*out));
	if (!a->named && (rc = take(out, env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"),
				    env("AWS_SESSION_TOKEN"), "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")) != 0)
		return rc < 0 ? rc : 0;
	for (i = 0; i < 2; i++)
		if ((rc = take(out, a->keys[i].access, a->keys[i].secret, a->keys[i].token, a->from[i],
			       "aws_secret_access_key")) != 0)
			return rc < 0 ? rc : 0;
	return 0;
}
