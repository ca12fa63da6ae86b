/* One error type for every layer: a code plus a message set where the
 * failure happens (SQLite, libgit2, OpenSSL, libc), read where it is printed. */
#ifndef P4REG_ERROR_H
#define P4REG_ERROR_H

#include <stdbool.h>

/* Return codes of every core function that can fail: 0 or one of these. */
enum p4r_code {
	P4R_OK = 0,
	P4R_ERROR = -1,      /* generic failure (I/O, library error) -> exit 1 */
	P4R_EUSAGE = -2,     /* bad arguments or malformed user input -> exit 2 */
	P4R_EREFUSED = -3,   /* a rule or gate said no -> exit 3 */
	P4R_EINTEGRITY = -4, /* hash mismatch, corrupt object or registry -> exit 4 */
	P4R_ENOTFOUND = -5,  /* unknown model, version, file, key -> exit 1 */
	P4R_EEXISTS = -6,    /* something that must not exist does -> exit 1 */
};

/* Records CODE and a printf-style message for this thread, replacing any
 * earlier one; returns CODE so callers can write `return p4r_error_set(...)`. */
int p4r_error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like p4r_error_set with the message followed by ": strerror(errno)".
 * ENOENT maps to P4R_ENOTFOUND, anything else to P4R_ERROR. */
int p4r_error_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sets an error from the last libgit2 error, prefixed by the message. */
int p4r_error_git(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last message set on this thread ("" when none); valid until the next set. */
const char *p4r_error_message(void);
int p4r_error_code(void);
void p4r_error_clear(void);

/* A second line for the last error (printed "hint: TEXT" below it; JSON:
 * the error's "hint"), such as "did you mean 'minilm'?". Every new error
 * (p4r_error_set ...) and p4r_error_clear drop it. */
void p4r_error_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last error's hint, "" when none. */
const char *p4r_error_hint_text(void);

/* Marks the last error as one about how the command was called (an
 * unknown option, a missing argument): the command's usage follows it.
 * Bad input (an invalid name or path) is not marked: one line says it. */
void p4r_error_mark_usage(void);
bool p4r_error_is_usage(void);

/* Process exit status for a code: 0, 1, 2, 3 or 4 (docs/exit-codes.md). */
int p4r_exit_status(int code);

/* Stable machine name of a code for JSON errors: "error", "usage", ... */
const char *p4r_error_name(int code);

#endif
