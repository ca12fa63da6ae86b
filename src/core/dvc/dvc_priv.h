/* What the files of dvc/ share, internal to src/core. */
#ifndef P4REG_DVC_PRIV_H
#define P4REG_DVC_PRIV_H

#include <stdbool.h>
#include <stddef.h>

/* True when the LEN bytes at S are 32 lowercase hex digits (an MD5 as DVC
 * writes it). */
bool p4r_dvc_hex32(const char *s, size_t len);

#endif
