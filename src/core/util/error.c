/* The thread's last error: set once where a failure happens, read by the
 * command layer that prints it. Thread-local because `add` hashes in threads. */
#include "p4reg/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include "git/libgit2_dl.h"

static _Thread_local struct {
	int code;
	char message[1024];
	bool usage; /* about how the command was called: show its usage */
	char hint[256]; /* a second line for the message, "" when none */
} last;

/* The length of the first END bytes of BUF without a UTF-8 character cut
 * short at the end: a message truncated to the buffer's size never ends in
 * half a character. */
static size_t utf8_boundary(const char *buf, size_t end)
{
	size_t start = end, want;
	unsigned char lead;

	while (start > 0 && end - start < 3 && ((unsigned char)buf[start - 1] & 0xc0) == 0x80)
		start--;
	if (start == 0 || (lead = (unsigned char)buf[start - 1]) < 0xc0)
		return end;
	want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
	return end - (start - 1) < want ? start - 1 : end;
}

/* Formats into a local buffer first: callers may pass p4r_error_message()
 * as an argument ("'%s': %s", name, p4r_error_message()). */
static int vset(int code, const char *suffix, const char *fmt, va_list ap)
{
	char buf[sizeof(last.message)];
	size_t used, full;
	int n;

	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		buf[0] = '\0';
	full = n < 0 ? 0 : (size_t)n;
	used = strlen(buf);
	if (suffix && *suffix) {
		snprintf(buf + used, sizeof(buf) - used, ": %s", suffix);
		full += 2 + strlen(suffix);
		used = strlen(buf);
	}
	if (full > used)
		used = utf8_boundary(buf, used);
	memcpy(last.message, buf, used);
	last.message[used] = '\0';
	last.code = code;
	last.usage = false;
	last.hint[0] = '\0';
	return code;
}

int p4r_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(code, NULL, fmt, ap);
	va_end(ap);
	return code;
}

int p4r_error_errno(const char *fmt, ...)
{
	int saved = errno;
	int code = saved == ENOENT ? P4R_ENOTFOUND : P4R_ERROR;
	va_list ap;

	va_start(ap, fmt);
	vset(code, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
	return code;
}

int p4r_error_git(int code, const char *fmt, ...)
{
	const git_error *ge = git_error_last();
	va_list ap;

	va_start(ap, fmt);
	vset(code, ge && ge->message ? ge->message : "unknown libgit2 error", fmt, ap);
	va_end(ap);
	return code;
}

const char *p4r_error_message(void)
{
	return last.message;
}

int p4r_error_code(void)
{
	return last.code;
}

void p4r_error_clear(void)
{
	last.code = 0;
	last.message[0] = '\0';
	last.usage = false;
	last.hint[0] = '\0';
}

void p4r_error_hint(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(last.hint, sizeof(last.hint), fmt, ap);
	va_end(ap);
	if (n < 0)
		last.hint[0] = '\0';
	else if ((size_t)n >= sizeof(last.hint))
		last.hint[utf8_boundary(last.hint, sizeof(last.hint) - 1)] = '\0';
}

const char *p4r_error_hint_text(void)
{
	return last.hint;
}

void p4r_error_mark_usage(void)
{
	last.usage = true;
}

bool p4r_error_is_usage(void)
{
	return last.usage;
}

int p4r_exit_status(int code)
{
	switch (code) {
	case P4R_OK: return 0;
	case P4R_EUSAGE: return 2;
	case P4R_EREFUSED: return 3;
	case P4R_EINTEGRITY: return 4;
	default: return 1;
	}
}

const char *p4r_error_name(int code)
{
	switch (code) {
	case P4R_OK: return "ok";
	case P4R_EUSAGE: return "usage";
	case P4R_EREFUSED: return "refused";
	case P4R_EINTEGRITY: return "integrity";
	case P4R_ENOTFOUND: return "not_found";
	case P4R_EEXISTS: return "exists";
	default: return "error";
	}
}
