/* The strict text check of a repository-relative path (see relpath.h). */
#include "p4reg/relpath.h"
#include "p4reg/error.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Names git or p4reg give meaning to: bytes written there change what git
 * runs or ignores, or what p4reg trusts. */
static const char *const reserved[] = {
	".git", ".p4reg", ".gitignore", ".gitattributes", ".gitmodules", NULL
};

static int component_check(const char *p, const char *seg, size_t n, bool last)
{
	size_t i;

	if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
		return p4r_error_set(P4R_EUSAGE, "path '%s' has an empty, '.' or '..' part", p);
	for (i = 0; reserved[i]; i++)
		if (strlen(reserved[i]) == n && !strncasecmp(seg, reserved[i], n))
			return p4r_error_set(P4R_EUSAGE, "path '%s' goes through '%s', which git or "
					     "p4reg manages itself", p, reserved[i]);
	if (last && n > P4R_RELPATH_LAST_MAX)
		return p4r_error_set(P4R_EUSAGE, "file name in '%s' is too long: its pointer "
				     "(NAME.p4reg) would pass the %d-byte limit; rename it", p,
				     P4R_RELPATH_COMPONENT_MAX);
	if (n > P4R_RELPATH_COMPONENT_MAX)
		return p4r_error_set(P4R_EUSAGE, "path '%s' has a folder name over %d bytes", p,
				     P4R_RELPATH_COMPONENT_MAX);
	return 0;
}

int p4r_relpath_check(const char *p)
{
	const char *seg;
	size_t i, len;
	int rc;

	if (!p || !p[0] || p[0] == '/')
		return p4r_error_set(P4R_EUSAGE, "'%s' is not a path inside the repository", p ? p : "");
	len = strnlen(p, P4R_RELPATH_MAX + 1);
	if (len > P4R_RELPATH_MAX)
		return p4r_error_set(P4R_EUSAGE, "path '%.64s...' is longer than %d bytes", p,
				     P4R_RELPATH_MAX);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		/* a newline would end a .gitignore line and start one the name chose */
		if (c < 0x20 || c == 0x7f)
			return p4r_error_set(P4R_EUSAGE, "path '%s' has a control character (a newline, "
					     "tab or escape); rename the file", p);
		if (c == '\\')
			return p4r_error_set(P4R_EUSAGE, "path '%s' has a backslash, which git on other "
					     "systems reads as a folder separator; rename the file", p);
	}
	for (seg = p;;) {
		const char *slash = strchr(seg, '/');
		size_t n = slash ? (size_t)(slash - seg) : strlen(seg);

		if ((rc = component_check(p, seg, n, !slash)) < 0)
			return rc;
		if (!slash)
			return 0;
		seg = slash + 1;
	}
}

bool p4r_relpath_valid(const char *p)
{
	size_t n = p ? strlen(p) : 0;
	bool ok = p4r_relpath_check(p) == 0 && !(n >= 6 && !strncasecmp(p + n - 6, ".p4reg", 6));

	if (!ok)
		p4r_error_clear();
	return ok;
}

int p4r_relpath_resolve(const char *dir, const char *path, char **out)
{
	size_t n = strlen(dir) + strlen(path) + 2, len = 0, c;
	char *full, *res;
	const char *p;

	*out = NULL;
	if (path[0] == '/')
		return P4R_EUSAGE;
	if (!(full = malloc(n)) || !(res = calloc(n, 1))) {
		free(full);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	snprintf(full, n, "%s/%s", dir, path);
	for (p = full; *p; p += c + (p[c] == '/')) {
		c = strcspn(p, "/");
		if (c == 0 || (c == 1 && p[0] == '.'))
			continue;
		if (c == 2 && p[0] == '.' && p[1] == '.') {
			if (!len) {
				free(full);
				free(res);
				return P4R_EUSAGE;
			}
			while (len > 0 && res[len - 1] != '/')
				len--;
			if (len > 0)
				len--; /* the '/' before the dropped part */
			res[len] = '\0';
			continue;
		}
		if (len)
			res[len++] = '/';
		memcpy(res + len, p, c);
		len += c;
		res[len] = '\0';
	}
	free(full);
	*out = res;
	return 0;
}
