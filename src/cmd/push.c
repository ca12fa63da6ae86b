/* p4reg push: upload objects, then publish registry events to a remote. */
#include "cmd.h"
#include "p4reg/output.h"
#include "p4reg/remote.h"
#include "p4reg/sync.h"

#include <stdlib.h>
#include <string.h>

const char cmd_push_usage[] =
	"usage: p4reg push [-r NAME] [--unsafe-concurrent] [MODEL...]\n"
	"\n"
	"Uploads the objects of every version (or of the MODELs named) that the\n"
	"remote lacks, verified, then appends the registry events the remote lacks\n"
	"to its log. When another push got there first, its events are fetched,\n"
	"local versions whose numbers it took are renumbered (pointers follow)\n"
	"and the push is retried.\n"
	"\n"
	"  -r, --remote NAME      the remote (default: core.remote, or the only one)\n"
	"      --unsafe-concurrent  push to an S3 server that ignores If-None-Match;\n"
	"                         concurrent pushes from two machines can then lose events\n";

enum { OPT_REMOTE = 1, OPT_UNSAFE };

static const p4r_option options[] = {
	{ "remote", 'r', true, OPT_REMOTE },
	{ "unsafe-concurrent", 0, false, OPT_UNSAFE },
	{ NULL, 0, false, 0 },
};

int cmd_push(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	cmd_progress progress = { .cli = cli, .label = "push" };
	p4r_sync_progress prog = { .fn = cmd_progress_update, .payload = &progress };
	p4r_sync_result res = { 0 };
	p4r_remote *r = NULL;
	const char *name = NULL, *value;
	char **models = calloc((size_t)argc, sizeof(*models));
	size_t nmodels = 0, i;
	bool unsafe = false;
	p4r_opts o;
	int id, rc;

	if (!models)
		return p4r_error_set(P4R_ERROR, "out of memory");
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_REMOTE)
			name = value;
		else if (id == OPT_UNSAFE)
			unsafe = true;
		else
			models[nmodels++] = (char *)value;
	}
	if (rc < 0)
		goto done;
	for (i = 0; i < nmodels; i++) {
		p4r_model m = { 0 };

		if ((rc = p4r_registry_model_get(p4r_repo_registry(repo), models[i], &m)) < 0)
			goto done;
		p4r_model_clear(&m);
	}
	if ((rc = p4r_remote_open(&r, p4r_repo_config(repo), p4r_repo_meta(repo), name)) < 0)
		goto done;
	rc = p4r_sync_push(repo, r, models, nmodels, unsafe, &prog, &res);
	cmd_progress_done(&progress);
	if (rc < 0)
		goto done;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cmd_sync_json(doc, r, &res);
		rc = cmd_print_json(doc);
	} else if (!cli->quiet) {
		char size[32];

		cmd_sync_print_renumbered(cli, &res);
		p4r_format_size(size, sizeof(size), res.bytes_sent);
		printf("pushed to '%s': %zu object%s (%s) uploaded, %zu already there; ",
		       r->name, res.objects_sent, res.objects_sent == 1 ? "" : "s", size, res.objects_present);
		if (res.batch_seq)
			printf("%zu event%s published as batch %lld\n", res.events_published,
			       res.events_published == 1 ? "" : "s", (long long)res.batch_seq);
		else
			printf("no events to publish\n");
	}
done:
	p4r_sync_result_clear(&res);
	p4r_remote_free(r);
	free(models);
	return rc;
}
