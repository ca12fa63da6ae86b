/* p4r_relpath_valid: the strict text check of an untrusted model path
 * (see relpath.h). */
#include "p4reg/relpath.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

/* Names git or p4reg give meaning to: bytes written there change what git
 * runs or ignores, or what p4reg trusts. */
static const char *const reserved[] = {
	".git", ".p4reg", ".gitignore", ".gitattributes", ".gitmodules", NULL
};

static bool component_valid(const char *seg, size_t n, bool last)
{
	size_t i;

	if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
		return false;
	if (n > (last ? P4R_RELPATH_LAST_MAX : P4R_RELPATH_COMPONENT_MAX))
		return false;
	for (i = 0; reserved[i]; i++)
		if (strlen(reserved[i]) == n && !strncasecmp(seg, reserved[i], n))
			return false;
	if (last && n >= 6 && !strncasecmp(seg + n - 6, ".p4reg", 6))
		return false;
	return true;
}

bool p4r_relpath_valid(const char *p)
{
	const char *seg;
	size_t i, len;

	if (!p || !p[0] || p[0] == '/')
		return false;
	len = strnlen(p, P4R_RELPATH_MAX + 1);
	if (len > P4R_RELPATH_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c == 0x7f || c == '\\')
			return false;
	}
	for (seg = p;;) {
		const char *slash = strchr(seg, '/');
		size_t n = slash ? (size_t)(slash - seg) : strlen(seg);

		if (!component_valid(seg, n, !slash))
			return false;
		if (!slash)
			return true;
		seg = slash + 1;
	}
}
