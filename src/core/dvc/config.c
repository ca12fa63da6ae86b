/* cache.dir of a DVC folder's config files (dvc.h, p4r_dvc_cache_dir).
 * DVC writes them with Python's configobj: "[cache]" headers, indented
 * "dir = ../shared" keys, quoted section names ("['remote \"s3\"']").
 * libini_config parses that (INI_PARSE_NOWRAP: an indented line is a key
 * of its own, not a continuation): no hand-written parser. libgit2's
 * config parser refuses the quoted section names DVC writes for every
 * remote.
 *
 * Where configobj reads a value otherwise than libini_config returns its
 * text -- quotes it removes, a '#' comment it drops, a ',' list it makes
 * -- the value is refused rather than guessed at. Names match as DVC
 * matches them: configobj unquotes section names and keys ("['cache']",
 * "'dir' ="), DVC lowercases both (libini_config's lookups ignore case). */
#include "p4reg/dvc.h"
#include "p4reg/beneath.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/relpath.h"
#include "remote/iniconfig_dl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HINT "name the cache with --dvc-cache"

/* The bytes of FILE (below ROOT_FD, no link followed) into *BUF
 * (NUL-terminated); *BUF NULL when there is no such file. */
static int read_config(int root_fd, const char *file, char **buf, size_t *len)
{
	struct stat st;
	int fd, rc;

	*buf = NULL;
	*len = 0;
	if ((rc = p4r_beneath_open_regular(&fd, &st, root_fd, file)) == P4R_ENOTFOUND)
		return 0;
	if (rc == P4R_EUSAGE) /* a link, a FIFO, a folder: a clone planted it */
		return p4r_error_set(P4R_EINTEGRITY, "%s: " HINT, p4r_error_message());
	if (rc < 0)
		return rc;
	if (st.st_size > P4R_DVC_CONFIG_MAX)
		rc = P4R_EUSAGE;
	else
		rc = p4r_read_fd(buf, len, fd, file, P4R_DVC_CONFIG_MAX);
	close(fd);
	if (rc == P4R_EUSAGE) /* larger than the bound, or grew past it */
		return p4r_error_set(P4R_EINTEGRITY, "'%s' is larger than %d KiB, more than DVC writes: " HINT,
				     file, P4R_DVC_CONFIG_MAX >> 10);
	return rc;
}

/* Parses the LEN bytes of FILE at BUF into *CFG. */
static int parse(struct ini_cfgobj **cfg, char *buf, size_t len, const char *file)
{
	struct ini_cfgfile *f = NULL;
	char **errors = NULL;
	const char *what = "";
	unsigned line = 0;
	size_t i;
	int rc;

	*cfg = NULL;
	/* libini_config ends a value at a control character: a value DVC
	 * reads whole would be read cut short */
	for (i = 0; i < len; i++)
		if (((unsigned char)buf[i] < 0x20 && !strchr("\t\r\n", buf[i])) || buf[i] == 0x7f)
			return p4r_error_set(P4R_EINTEGRITY, "'%s' has a control character, which DVC never "
					     "writes: " HINT, file);
	if ((rc = p4r_iniconfig_init()) < 0)
		return rc;
	if (ini_config_create(cfg) || ini_config_file_from_mem(buf, (uint32_t)len, &f)) {
		ini_config_destroy(*cfg);
		*cfg = NULL;
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	/* a key or section twice is configobj's DuplicateError too */
	if (ini_config_parse(f, INI_STOP_ON_ANY, INI_MV1S_ERROR | INI_MV2S_ERROR | INI_MS_ERROR,
			     INI_PARSE_NOWRAP | INI_PARSE_NO_C_COMMENTS, *cfg) != 0) {
		/* "Error (5) on line 3: Equal sign is missing." */
		if (ini_config_get_errors(*cfg, &errors) == 0 && errors && errors[0] &&
		    sscanf(errors[0], "Error (%*d) on line %u", &line) == 1 && strstr(errors[0], ": "))
			what = strstr(errors[0], ": ") + 2;
		if (line)
			rc = p4r_error_set(P4R_EINTEGRITY, "cannot read '%s' as a DVC config: line %u: %.*s: " HINT,
					   file, line, (int)strcspn(what, ".\n"), what);
		else
			rc = p4r_error_set(P4R_EINTEGRITY, "cannot read '%s' as a DVC config: " HINT, file);
		ini_config_free_errors(errors);
		ini_config_destroy(*cfg);
		*cfg = NULL;
	}
	ini_config_file_destroy(f);
	return rc;
}

/* cache.dir of CFG (parsed from FILE) into *VALUE (NULL when not set),
 * its text as libini_config gives it. */
static int lookup(struct ini_cfgobj *cfg, const char *file, const char **value)
{
	/* configobj's spellings of one name: bare, or in either quotes */
	static const char *const sections[] = { "cache", "'cache'", "\"cache\"" };
	static const char *const keys[] = { "dir", "'dir'", "\"dir\"" };
	size_t s, k;

	*value = NULL;
	for (s = 0; s < 3; s++)
		for (k = 0; k < 3; k++) {
			struct value_obj *vo = NULL;
			const char *v;
			int err = 0;

			if (ini_get_config_valueobj(sections[s], keys[k], cfg, INI_GET_FIRST_VALUE, &vo) || !vo)
				continue;
			if (!(v = ini_get_const_string_config_value(vo, &err)) || err)
				return p4r_error_set(P4R_ERROR, "cannot read cache.dir of '%s'", file);
			if (*value)
				return p4r_error_set(P4R_EINTEGRITY, "'%s' sets cache.dir twice: " HINT, file);
			*value = v;
		}
	return 0;
}

/* VALUE, cache.dir of FILE, joined to DVC_DIR with "." and ".." resolved
 * into *OUT. */
static int resolve(const char *dvc_dir, const char *value, const char *file, char **out)
{
	char *res = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if (!*value)
		return p4r_error_set(P4R_EINTEGRITY, "'%s' sets cache.dir to '', no folder: " HINT, file);
	if (value[0] == '\'' || value[0] == '"' || strpbrk(value, "#,"))
		return p4r_error_set(P4R_EINTEGRITY, "'%s' sets cache.dir to '%s', which DVC reads otherwise "
				     "(quotes, a '#' comment or a ',' list): " HINT, file, value);
	if (value[0] == '/' || strstr(value, "://"))
		return p4r_error_set(P4R_EINTEGRITY, "'%s' sets cache.dir to '%s', outside the repository: " HINT,
				     file, value);
	if ((rc = p4r_relpath_resolve(dvc_dir, value, &res)) == P4R_EUSAGE)
		return p4r_error_set(P4R_EINTEGRITY, "'%s' sets cache.dir to '%s', outside the repository: " HINT,
				     file, value);
	if (rc < 0)
		return rc;
	len = strlen(res);
	if (!len) {
		free(res);
		if (!(res = strdup(".")))
			return p4r_error_set(P4R_ERROR, "out of memory");
	} else if (p4r_relpath_check(res) < 0) {
		rc = p4r_error_set(P4R_EINTEGRITY, "'%s' sets cache.dir to '%s', not a folder p4reg reads (in "
				   ".git or .p4reg, a backslash, an overlong name): " HINT, file, value);
		goto done;
	}
	*out = res;
	res = NULL;
done:
	free(res);
	return rc;
}

int p4r_dvc_cache_dir(int root_fd, const char *dvc_dir, char **out)
{
	static const char *const names[] = { "config.local", "config" };
	struct ini_cfgobj *cfg = NULL;
	char file[P4R_RELPATH_MAX + 32], *buf = NULL;
	const char *value = NULL;
	size_t len, i;
	int rc = 0;

	*out = NULL;
	for (i = 0; i < 2 && rc == 0 && !*out; i++) {
		if ((size_t)snprintf(file, sizeof(file), "%s/%s", dvc_dir, names[i]) >= sizeof(file))
			return p4r_error_set(P4R_ERROR, "the path of '%s' is too long", dvc_dir);
		if ((rc = read_config(root_fd, file, &buf, &len)) < 0 || !buf)
			continue;
		if ((rc = parse(&cfg, buf, len, file)) == 0 && (rc = lookup(cfg, file, &value)) == 0 && value)
			rc = resolve(dvc_dir, value, file, out);
		ini_config_destroy(cfg);
		cfg = NULL;
		free(buf);
		buf = NULL;
	}
	return rc;
}
