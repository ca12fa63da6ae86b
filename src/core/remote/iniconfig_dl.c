/* libini_config loaded with dlopen on first use (iniconfig_dl.h, util/dl.h). */
#include "remote/iniconfig_dl.h"

void *p4r_iniconfig_tab[P4R_INI_COUNT];

static const char *const names[] = {
#define P4R_SYM(name) #name,
#define P4R_SYM_VOID(name) #name,
#include "remote/iniconfig_syms.h"
#undef P4R_SYM
#undef P4R_SYM_VOID
};

static const p4r_dl_lib libiniconfig = {
	.what = "libini_config",
	.soname = P4R_INICONFIG_SONAME,
	.package = P4R_INICONFIG_PACKAGE,
	.names = names,
	.n = P4R_INI_COUNT,
	.table = p4r_iniconfig_tab,
	.knob = 4,
};

int p4r_iniconfig_init(void)
{
	return p4r_dl_load(&libiniconfig);
}
