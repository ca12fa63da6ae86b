/* p4reg completion bash|zsh|fish: the shell's completion script. The
 * scripts hold no list of commands or options: on every TAB they ask the
 * binary (p4reg __complete, complete.c), which answers from its own
 * tables, so an installed script never falls behind the binary. */
#include "cmd.h"

#include <string.h>

const char cmd_completion_usage[] =
	"usage: p4reg completion bash|zsh|fish\n"
	"\n"
	"Prints the completion script for the shell on standard output (--json:\n"
	"{\"shell\", \"script\"}). Packages install it as\n"
	"share/bash-completion/completions/p4reg, share/zsh/vendor-completions/_p4reg\n"
	"and share/fish/vendor_completions.d/p4reg.fish. To try it in the running shell:\n"
	"  bash   source <(p4reg completion bash)\n"
	"  zsh    source <(p4reg completion zsh)\n"
	"  fish   p4reg completion fish | source\n"
	"The script asks p4reg on every TAB: commands, options, model names,\n"
	"references (name@ offers the versions, latest and the stages held), remote\n"
	"names and files. The answer reads the registry and the config files; it\n"
	"loads no libgit2 and touches no network.\n";

static const char bash_script[] =
	"# bash completion for p4reg, printed by 'p4reg completion bash'. Every\n"
	"# candidate comes from the p4reg being completed: 'p4reg __complete WORD...'\n"
	"# answers from its command and option tables, the registry and the config\n"
	"# files (no libgit2, no network), so it never falls behind the binary.\n"
	"_p4reg() {\n"
	"\tlocal cur=${COMP_WORDS[COMP_CWORD]} prog=${COMP_WORDS[0]} line directives=\n"
	"\tlocal -a lines\n"
	"\tCOMPREPLY=()\n"
	"\t[[ $prog == \"~/\"* ]] && prog=$HOME/${prog#\"~/\"}\n"
	"\tmapfile -t lines < <(\"$prog\" __complete \"${COMP_WORDS[@]:1:COMP_CWORD}\" 2>/dev/null)\n"
	"\tfor line in \"${lines[@]}\"; do\n"
	"\t\tcase $line in\n"
	"\t\t:*) directives=$line ;;\n"
	"\t\t*) COMPREPLY+=(\"${line%%$'\\t'*}\") ;;\n"
	"\t\tesac\n"
	"\tdone\n"
	"\tcase $directives in *nospace*) compopt -o nospace 2>/dev/null ;; esac\n"
	"\tcase $directives in\n"
	"\t*files*) compopt -o filenames 2>/dev/null\n"
	"\t\tmapfile -t -O \"${#COMPREPLY[@]}\" COMPREPLY < <(compgen -f -- \"$cur\") ;;\n"
	"\t*dirs*) compopt -o filenames 2>/dev/null\n"
	"\t\tmapfile -t -O \"${#COMPREPLY[@]}\" COMPREPLY < <(compgen -d -- \"$cur\") ;;\n"
	"\tesac\n"
	"\treturn 0\n"
	"}\n"
	"complete -F _p4reg p4reg\n";

static const char zsh_script[] =
	"#compdef p4reg\n"
	"# zsh completion for p4reg, printed by 'p4reg completion zsh'. Every\n"
	"# candidate comes from the p4reg being completed: 'p4reg __complete WORD...'\n"
	"# answers from its command and option tables, the registry and the config\n"
	"# files (no libgit2, no network), so it never falls behind the binary.\n"
	"_p4reg() {\n"
	"\tlocal -a lines described plain glued\n"
	"\tlocal line directives\n"
	"\tlines=(\"${(@f)$(${words[1]} __complete \"${(@)words[2,CURRENT]}\" 2>/dev/null)}\")\n"
	"\tfor line in \"${lines[@]}\"; do\n"
	"\t\tcase $line in\n"
	"\t\t(:*) directives=$line ;;\n"
	"\t\t(*@) glued+=(\"$line\") ;;\n"
	"\t\t(*$'\\t'*) described+=(\"${${line%%$'\\t'*}//:/\\\\:}:${line#*$'\\t'}\") ;;\n"
	"\t\t(?*) plain+=(\"$line\") ;;\n"
	"\t\tesac\n"
	"\tdone\n"
	"\t(( ${#described} )) && _describe -t commands 'p4reg command' described\n"
	"\t(( ${#plain} )) && compadd -- \"${plain[@]}\"\n"
	"\t(( ${#glued} )) && compadd -S '' -- \"${glued[@]}\"\n"
	"\tcase $directives in\n"
	"\t(*files*) [[ $PREFIX == --*=* ]] && compset -P '*='; _files ;;\n"
	"\t(*dirs*) _files -/ ;;\n"
	"\tesac\n"
	"\treturn 0\n"
	"}\n"
	"if [[ $funcstack[1] == _p4reg ]]; then\n"
	"\t_p4reg \"$@\"\n"
	"else\n"
	"\tcompdef _p4reg p4reg\n"
	"fi\n";

static const char fish_script[] =
	"# fish completion for p4reg, printed by 'p4reg completion fish'. Every\n"
	"# candidate comes from the p4reg being completed: 'p4reg __complete WORD...'\n"
	"# answers from its command and option tables, the registry and the config\n"
	"# files (no libgit2, no network), so it never falls behind the binary.\n"
	"function __p4reg_complete\n"
	"    set -l words (commandline -opc)\n"
	"    set -l cur (commandline -ct)\n"
	"    for line in ($words[1] __complete $words[2..-1] \"$cur\" 2>/dev/null)\n"
	"        switch $line\n"
	"            case ':*files*'\n"
	"                __fish_complete_path \"$cur\"\n"
	"            case ':*dirs*'\n"
	"                __fish_complete_directories \"$cur\"\n"
	"            case ':*'\n"
	"            case '*'\n"
	"                echo $line\n"
	"        end\n"
	"    end\n"
	"end\n"
	"complete -c p4reg -f -a '(__p4reg_complete)'\n";

static const struct shell {
	const char *name;
	const char *script;
} shells[] = {
	{ "bash", bash_script },
	{ "zsh", zsh_script },
	{ "fish", fish_script },
};

int cmd_completion(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	static const p4r_option none[] = { { NULL, 0, false, 0 } };
	const char *value, *name = NULL;
	p4r_opts o;
	size_t i;
	int id, rc;

	(void)repo;
	p4r_opts_init(&o, argc - 1, argv + 1, none);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (name)
			return cmd_usage_error(cli, "completion takes one shell");
		name = value;
	}
	if (rc < 0)
		return rc;
	if (!name)
		return cmd_usage_error(cli, "completion needs a shell: bash, zsh or fish");
	for (i = 0; i < sizeof(shells) / sizeof(shells[0]) && strcmp(shells[i].name, name); i++)
		;
	if (i == sizeof(shells) / sizeof(shells[0]))
		return cmd_usage_error(cli, "unknown shell '%s': bash, zsh or fish", name);
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "shell", shells[i].name);
		cJSON_AddStringToObject(doc, "script", shells[i].script);
		return cmd_print_json(doc);
	}
	fputs(shells[i].script, stdout);
	return 0;
}
