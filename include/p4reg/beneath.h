/* Opening paths below a folder so that nothing a repository can contain —
 * a symlinked folder, "..", a magic link in /proc — leads out of it, or
 * into .git/ or .p4reg/ under another name.
 *
 * A work-tree path is never checked as text and then followed: it is
 * resolved by the kernel at the moment of use, relative to a descriptor of
 * the repository root, with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS): no symbolic link is followed at all, as git never
 * writes beyond one. Where the kernel lacks openat2 (before Linux 5.6, or a
 * seccomp filter that refuses it) every component is opened with O_NOFOLLOW
 * instead: the same rule. Callers then work on the returned folder
 * descriptor with the *at() calls (one final component, never followed). */
#ifndef P4REG_BENEATH_H
#define P4REG_BENEATH_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Opens REL (relative, no leading '/') below the folder ROOT with open(2)
 * FLAGS and MODE; O_CLOEXEC is added. With O_NOFOLLOW in FLAGS the last
 * component must not be a symbolic link. Leaving ROOT is P4R_EUSAGE
 * naming REL; a missing file is P4R_ENOTFOUND. */
int p4r_beneath_open(int *out, int root, const char *rel, int flags, mode_t mode);

/* Opens the folder that holds REL's last component (O_RDONLY|O_DIRECTORY,
 * usable for fsync and as the dirfd of *at() calls); *BASE points at that
 * component inside REL. With CREATE, missing folders are made (0755), each
 * one below the last opened. */
int p4r_beneath_parent(int *out, const char **base, int root, const char *rel, bool create);

/* Opens REL for reading only when it is a regular file (not a link),
 * without ever blocking on a FIFO or a device (O_NONBLOCK until it is
 * known regular). *ST (nullable) gets its fstat. Anything else is
 * P4R_EUSAGE. */
int p4r_beneath_open_regular(int *out, struct stat *st, int root, const char *rel);

/* Forces the O_NOFOLLOW walk even where openat2 works (tests of the
 * fallback); returns the previous setting. */
bool p4r_beneath_force_walk(bool on);

#endif
