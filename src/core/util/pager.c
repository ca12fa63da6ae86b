/* The pager (see pager.h): a child fed through a pipe on standard output,
 * waited for at the end and on the signals that end p4reg. */
#include "p4reg/pager.h"
#include "p4reg/error.h"
#include "util/testknob.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t pager_pid = -1;

static const int signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE };

bool p4r_pager_stdout_is_tty(void)
{
	return isatty(STDOUT_FILENO) || p4r_test_knob("P4REG_TEST_STDOUT_TTY") == 1;
}

const char *p4r_pager_choose(const char *configured)
{
	const char *cmd = getenv("P4REG_PAGER");

	if (!cmd)
		cmd = configured;
	if (!cmd)
		cmd = getenv("PAGER");
	if (!cmd)
		cmd = "less";
	return *cmd && strcmp(cmd, "cat") ? cmd : NULL;
}

/* A program name git would run without a shell. */
static bool plain_word(const char *cmd)
{
	return strspn(cmd, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-") ==
	       strlen(cmd);
}

/* In the child: the pipe as standard input, then the pager; on failure
 * errno goes back through STATUS (closed on exec when it works). */
static void child(const char *cmd, int in, int status)
{
	int err;

	if (dup2(in, STDIN_FILENO) < 0)
		goto fail;
	/* p4reg is single-threaded here: the pager starts before any work */
	if (!getenv("LESS"))
		setenv("LESS", "FRX", 1);
	if (plain_word(cmd))
		execlp(cmd, cmd, (char *)NULL);
	else
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
fail:
	err = errno;
	if (write(status, &err, sizeof(err)) < 0)
		_exit(126);
	_exit(127);
}

/* Ends p4reg on SIG only once the pager has quit. */
static void on_signal(int sig)
{
	close(STDOUT_FILENO);
	if (pager_pid > 0)
		waitpid(pager_pid, NULL, 0);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void catch_signals(void)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		sigaction(signals[i], &sa, NULL);
}

/* Forks the pager; *PID gets it once it runs (exec succeeded). */
static int spawn(const char *cmd, int data[2], pid_t *pid)
{
	int status[2], err = 0;
	ssize_t n;

	if (pipe2(status, O_CLOEXEC) < 0)
		return p4r_error_errno("cannot start the pager '%s'", cmd);
	if ((*pid = fork()) < 0) {
		close(status[0]);
		close(status[1]);
		return p4r_error_errno("cannot start the pager '%s'", cmd);
	}
	if (*pid == 0)
		child(cmd, data[0], status[1]);
	close(status[1]);
	while ((n = read(status[0], &err, sizeof(err))) < 0 && errno == EINTR)
		;
	close(status[0]);
	if (n <= 0)
		return 0;
	waitpid(*pid, NULL, 0);
	errno = err;
	return p4r_error_errno("cannot run the pager '%s'", cmd);
}

int p4r_pager_start(const char *cmd)
{
	int data[2], rc;
	pid_t pid = -1;

	if (pager_pid > 0)
		return 0;
	fflush(stdout);
	if (pipe2(data, O_CLOEXEC) < 0)
		return p4r_error_errno("cannot start the pager '%s'", cmd);
	rc = spawn(cmd, data, &pid);
	close(data[0]);
	if (rc == 0 && dup2(data[1], STDOUT_FILENO) < 0) {
		rc = p4r_error_errno("cannot start the pager '%s'", cmd);
		close(data[1]);
		waitpid(pid, NULL, 0);  /* it read the end of its input */
		return rc;
	}
	close(data[1]);
	if (rc < 0)
		return rc;
	pager_pid = pid;
	catch_signals();
	return 0;
}

void p4r_pager_finish(void)
{
	pid_t pid = pager_pid;

	if (pid <= 0)
		return;
	fflush(stdout);
	/* the pager sees the end of its input only when every copy of the
	 * pipe's write end is closed */
	close(STDOUT_FILENO);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	pager_pid = -1;
}
