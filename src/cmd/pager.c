/* Which commands' output goes through the pager, and with which pager:
 * the user's own choice only (include/p4reg/pager.h, docs/security.md). */
#include "cmd.h"
#include "p4reg/config.h"
#include "p4reg/pager.h"

#include <stdlib.h>

/* core.pager from the user's own file ($XDG_CONFIG_HOME/p4reg/config) only:
 * neither the committed .p4reg/config nor a config.local, which an archive
 * or a copied folder delivers as the user's own file (docs/security.md). A
 * pager is a person's taste, not a repository's setting. */
static char *user_pager(void)
{
	p4r_config *user = NULL;
	char *configured = NULL;

	if (p4r_config_open_user(&user) < 0 ||
	    p4r_config_get(user, P4R_CONFIG_TRUSTED, "core.pager", &configured) < 0)
		p4r_error_clear();
	p4r_config_free(user);
	return configured;
}

void cmd_pager_start(p4r_cli *cli)
{
	char *configured;
	const char *cmd;

	if (cli->no_pager || !p4r_pager_stdout_is_tty())
		return;
	configured = user_pager();
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
