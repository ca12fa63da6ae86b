/* The pager (git's): long output on a terminal goes through `less` or the
 * program the user chose. The only place p4reg runs a shell on a command
 * line of the user's own (their environment or their own config, never a
 * repository's: docs/security.md). One pager per process. */
#ifndef P4REG_PAGER_H
#define P4REG_PAGER_H

#include <stdbool.h>

/* True when standard output is a terminal. Test builds also say so when
 * P4REG_TEST_STDOUT_TTY is 1 (util/testknob.h), so a test can page into a
 * file without a terminal. */
bool p4r_pager_stdout_is_tty(void);

/* The pager to run: $P4REG_PAGER, else CONFIGURED (core.pager from the
 * user's trusted config, nullable), else $PAGER, else "less" (as git's
 * GIT_PAGER, core.pager, PAGER). NULL when the choice is "" or "cat": no
 * pager. The text is borrowed (the environment's or CONFIGURED). */
const char *p4r_pager_choose(const char *configured);

/* Runs CMD with standard output piped into it (LESS=FRX when LESS is
 * unset). A CMD of letters, digits and "._/-" alone is run directly,
 * anything else by /bin/sh -c. 0 when it runs; an error when it cannot
 * start (P4R_ENOTFOUND: no such program), output staying where it was.
 * Until p4r_pager_finish, a signal that ends p4reg first waits for the
 * pager, so the terminal is the pager's until it quits. */
int p4r_pager_start(const char *cmd);

/* Flushes standard output, closes it and waits for the pager to quit;
 * nothing when no pager runs. */
void p4r_pager_finish(void);

#endif
