/* The thread's last error: set once where a failure happens, read by the
 * command layer that prints it. Thread-local because `add` hashes in threads. */
#include "p4reg/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <git2.h>

static _Thread_local struct {
	int code;
	char message[1024];
} last;

static int vset(int code, const char *suffix, const char *fmt, va_list ap)
{
	size_t used;

	vsnprintf(last.message, sizeof(last.message), fmt, ap);
	if (suffix && *suffix) {
		used = strlen(last.message);
		snprintf(last.message + used, sizeof(last.message) - used, ": %s", suffix);
	}
	last.code = code;
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
