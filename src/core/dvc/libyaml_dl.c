/* libyaml loaded with dlopen on first use (libyaml_dl.h, util/dl.h). */
#include "dvc/libyaml_dl.h"

void *p4r_libyaml_tab[P4R_YAML_COUNT];

static const char *const names[] = {
#define P4R_SYM(name) #name,
#define P4R_SYM_VOID(name) #name,
#include "dvc/libyaml_syms.h"
#undef P4R_SYM
#undef P4R_SYM_VOID
};

static const p4r_dl_lib libyaml = {
	.what = "libyaml",
	.soname = P4R_LIBYAML_SONAME,
	.package = P4R_LIBYAML_PACKAGE,
	.names = names,
	.n = P4R_YAML_COUNT,
	.table = p4r_libyaml_tab,
	.knob = 8,
};

int p4r_libyaml_init(void)
{
	return p4r_dl_load(&libyaml);
}
