/* .gitignore entries for tracked model files (see ignore.h). */
#include "p4reg/ignore.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GITIGNORE_MAX (4u << 20)

int p4r_ignore_pattern(char *buf, size_t bufsz, const char *name)
{
	size_t n = 0, len = strlen(name), i, trailing = len;

	while (trailing > 0 && name[trailing - 1] == ' ')
		trailing--;
	if (bufsz < 2)
		return p4r_error_set(P4R_ERROR, "pattern buffer too small");
	/* a newline would end the line and start one the name chose */
	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return p4r_error_set(P4R_EUSAGE, "a file name with control characters cannot "
					     "be written to .gitignore");
	buf[n++] = '/';
	for (i = 0; i < len; i++) {
		/* glob characters and the escape itself match literally only when
		 * escaped; trailing spaces are stripped by git unless escaped */
		bool esc = strchr("\\*?[", name[i]) != NULL || (name[i] == ' ' && i >= trailing);

		if (n + 3 >= bufsz)
			return p4r_error_set(P4R_ERROR, "file name '%s' is too long", name);
		if (esc)
			buf[n++] = '\\';
		buf[n++] = name[i];
	}
	buf[n] = '\0';
	return 0;
}

int p4r_ignore_pattern_dir(char *buf, size_t bufsz, const char *name)
{
	size_t n;
	int rc;

	if ((rc = p4r_ignore_pattern(buf, bufsz, name)) < 0)
		return rc;
	n = strlen(buf);
	if (n + 2 > bufsz)
		return p4r_error_set(P4R_ERROR, "folder name '%s' is too long", name);
	buf[n] = '/';
	buf[n + 1] = '\0';
	return 0;
}

/* True when TEXT has LINE as a whole line (LF or CRLF ended). */
static bool has_line(const char *text, size_t len, const char *line)
{
	size_t llen = strlen(line);
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == llen && !memcmp(p, line, n))
			return true;
		p = nl ? nl + 1 : end;
	}
	return false;
}

/* Appends the line PATTERN to DIRFD's .gitignore unless it has it. */
static int ensure_line(int dirfd, const char *pattern, bool *added, const char *display)
{
	char *text = NULL, *out = NULL;
	size_t len = 0, olen;
	int rc;

	if (added)
		*added = false;
	/* a .gitignore that is a symbolic link is refused, never read through:
	 * it could name a secret that would be copied here and staged */
	rc = p4r_read_file_at(&text, &len, dirfd, ".gitignore", GITIGNORE_MAX, display);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		rc = 0;
	}
	if (rc < 0 || has_line(text ? text : "", len, pattern))
		goto done;
	if (!(out = malloc(len + strlen(pattern) + 3))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if (len)
		memcpy(out, text, len);
	olen = len;
	if (len && text[len - 1] != '\n')
		out[olen++] = '\n';
	memcpy(out + olen, pattern, strlen(pattern));
	olen += strlen(pattern);
	out[olen++] = '\n';
	if ((rc = p4r_write_file_atomic_at(dirfd, ".gitignore", out, olen, 0644, display)) == 0 && added)
		*added = true;
done:
	free(out);
	free(text);
	return rc;
}

/* Removes every line PATTERN from DIRFD's .gitignore (see ignore.h). */
static int remove_line(int dirfd, const char *pattern, bool *removed, bool *deleted, const char *display)
{
	char *text = NULL, *out = NULL;
	size_t len = 0, olen = 0;
	const char *p, *end;
	int rc;

	if (removed)
		*removed = false;
	if (deleted)
		*deleted = false;
	rc = p4r_read_file_at(&text, &len, dirfd, ".gitignore", GITIGNORE_MAX, display);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		rc = 0;
		goto done;
	}
	if (rc < 0 || !has_line(text, len, pattern))
		goto done;
	if (!(out = malloc(len + 1))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	/* every other byte stays, line ends included */
	for (p = text, end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl + 1 : end) - p), body = n;

		if (body > 0 && p[body - 1] == '\n')
			body--;
		if (body > 0 && p[body - 1] == '\r')
			body--;
		if (body != strlen(pattern) || memcmp(p, pattern, body)) {
			memcpy(out + olen, p, n);
			olen += n;
		}
		p += n;
	}
	/* a file that held nothing but the line was p4reg's: it goes with it */
	if (olen == 0) {
		if (unlinkat(dirfd, ".gitignore", 0) < 0 || fsync(dirfd) < 0) {
			rc = p4r_error_errno("cannot remove '%s'", display);
			goto done;
		}
		if (deleted)
			*deleted = true;
	} else if ((rc = p4r_write_file_atomic_at(dirfd, ".gitignore", out, olen, 0644, display)) < 0) {
		goto done;
	}
	if (removed)
		*removed = true;
done:
	free(out);
	free(text);
	return rc;
}

/* NAME's line: a file's "/NAME" or, with DIR, a folder's "/NAME/". */
static int ensure_name(int dirfd, const char *name, bool dir, bool *added, const char *display)
{
	char pattern[4200];
	int rc = dir ? p4r_ignore_pattern_dir(pattern, sizeof(pattern), name)
		     : p4r_ignore_pattern(pattern, sizeof(pattern), name);

	if (added)
		*added = false;
	return rc < 0 ? rc : ensure_line(dirfd, pattern, added, display);
}

static int remove_name(int dirfd, const char *name, bool dir, bool *removed, bool *deleted,
		       const char *display)
{
	char pattern[4200];
	int rc = dir ? p4r_ignore_pattern_dir(pattern, sizeof(pattern), name)
		     : p4r_ignore_pattern(pattern, sizeof(pattern), name);

	if (removed)
		*removed = false;
	if (deleted)
		*deleted = false;
	return rc < 0 ? rc : remove_line(dirfd, pattern, removed, deleted, display);
}

int p4r_ignore_ensure_at(int dirfd, const char *name, bool *added, const char *display)
{
	return ensure_name(dirfd, name, false, added, display);
}

int p4r_ignore_ensure_dir_at(int dirfd, const char *name, bool *added, const char *display)
{
	return ensure_name(dirfd, name, true, added, display);
}

int p4r_ignore_remove_at(int dirfd, const char *name, bool *removed, bool *deleted, const char *display)
{
	return remove_name(dirfd, name, false, removed, deleted, display);
}

int p4r_ignore_remove_dir_at(int dirfd, const char *name, bool *removed, bool *deleted,
			     const char *display)
{
	return remove_name(dirfd, name, true, removed, deleted, display);
}
