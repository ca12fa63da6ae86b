/* Which commands' output goes through the pager, and with which pager:
 * the user's own choice only (include/p4reg/pager.h, docs/security.md). */
#include "cmd.h"
#include "p4reg/config.h"
#include "p4reg/pager.h"

#include <stdlib.h>

void cmd_pager_start(p4r_cli *cli, p4r_repo *repo)
{
	char *configured = NULL;
	const char *cmd;

	if (cli->no_pager || !p4r_pager_stdout_is_tty())
		return;
	/* never the committed .p4reg/config: a clone would choose a program
	 * this machine runs (the trusted scope is the user's file and a
	 * trusted config.local) */
	if (repo && p4r_config_get(p4r_repo_config(repo), P4R_CONFIG_TRUSTED, "core.pager", &configured) < 0)
		p4r_error_clear();
	if ((cmd = p4r_pager_choose(configured)) && p4r_pager_start(cmd) < 0) {
		/* the output then goes to the terminal as it is */
		cmd_warn("%s", p4r_error_message());
		p4r_error_clear();
	}
	free(configured);
}

void cmd_pager_stop(void)
{
	p4r_pager_finish();
}
