/* p4reg filter-process: git's long-running filter for filter=lfs where
 * git-lfs is not installed. The protocol, clean and smudge are the core's
 * (p4reg/filter.h); this command serves git's stdin/stdout until git
 * closes the pipe. stdout carries only the protocol; messages go to
 * stderr. */
#include "cmd.h"
#include "p4reg/filter.h"

#include <stdio.h>
#include <unistd.h>

const char cmd_filter_process_usage[] =
	"usage: p4reg filter-process\n"
	"\n"
	"Git's long-running filter for paths with filter=lfs, speaking git's\n"
	"filter protocol on stdin/stdout. 'p4reg track' configures it as\n"
	"filter.lfs.process when git-lfs is not installed; git starts it, people\n"
	"do not. clean stores the file's bytes in .git/lfs/objects and in the\n"
	".p4reg/objects of the p4reg repository nearest above the file, and\n"
	"gives git the Git LFS pointer; smudge gives back the bytes of a pointer\n"
	"(a pointer whose object is in neither place is left as it is, with a\n"
	"warning; one with Git LFS extensions fails the file: p4reg cannot undo\n"
	"them).\n";

static void file_failed(const char *path, const char *why, void *payload)
{
	(void)payload;
	fprintf(stderr, "p4reg: filter-process: %s: %s\n", p4r_escape(path), p4r_escape(why));
}

int cmd_filter_process(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_filter_opts opts = { .workdir = ".", .in = STDIN_FILENO, .out = STDOUT_FILENO,
				 .file_failed = file_failed };
	p4r_filter *f = NULL;
	cmd_report cr;
	p4r_op_report report = cmd_report_init(&cr, cli);
	bool eof = false;
	int rc;

	(void)repo;
	if ((rc = cmd_no_args(cli, "filter-process", argc, argv)) < 0)
		return rc;
	if ((rc = p4r_filter_open(&f, &opts, &report)) == 0 && (rc = p4r_filter_handshake(f)) == 0)
		while (rc == 0 && !eof)
			rc = p4r_filter_serve(f, &eof);
	p4r_filter_free(f);
	cmd_report_done(&cr);
	return rc;
}
