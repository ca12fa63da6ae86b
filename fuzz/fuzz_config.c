/* libFuzzer harness: the config reader on a hostile .p4reg/config (it is
 * committed, so it comes from other people): open, list, look up. */
#include "p4reg/config.h"
#include "p4reg/store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char meta[256], path[300];

static int count(const char *name, const char *value, void *payload)
{
	(void)name; (void)value;
	++*(size_t *)payload;
	return 0;
}

static int each(const char *value, void *payload)
{
	(void)value; (void)payload;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char tmpl[] = "/tmp/p4reg-fuzz-config-XXXXXX", *dir;

	(void)argc; (void)argv;
	if (!(dir = mkdtemp(tmpl)))
		abort();
	/* no user config: only the fuzzed file is read */
	setenv("HOME", dir, 1);
	setenv("XDG_CONFIG_HOME", dir, 1);
	snprintf(meta, sizeof(meta), "%s", dir);
	snprintf(path, sizeof(path), "%s/config", dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	p4r_link_type order[P4R_LINK_MAX];
	p4r_config *cfg = NULL;
	char *value = NULL;
	size_t n = 0, norder;
	bool b;
	FILE *f = fopen(path, "wb");

	if (!f)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	if (p4r_config_open(&cfg, meta) == 0) {
		(void)p4r_config_foreach(cfg, count, &n);
		if (p4r_config_get(cfg, P4R_CONFIG_ALL, "cache.type", &value) == 0)
			(void)p4r_link_parse(order, &norder, value);
		free(value);
		value = NULL;
		(void)p4r_config_get(cfg, P4R_CONFIG_TRUSTED, "hooks.post-rollback", &value);
		free(value);
		(void)p4r_config_get_bool(cfg, "core.autostage", true, &b);
		(void)p4r_config_foreach_value(cfg, "stage.production.require", each, NULL);
	}
	p4r_config_free(cfg);
	return 0;
}
