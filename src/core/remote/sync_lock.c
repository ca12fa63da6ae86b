/* The sync lock: one fetch, push or skip at a time per repository, an
 * flock on .p4reg/tmp/sync.lock (released when its descriptor closes, so
 * a killed process never leaves it held). */
#include "remote/sync_priv.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

int p4r_sync_lock_take(p4r_repo *repo, int *fd)
{
	char *tmp = p4r_path_join(p4r_repo_meta(repo), "tmp"), *path = NULL;
	int rc = 0;

	*fd = -1;
	if (!tmp || !(path = p4r_path_join(tmp, "sync.lock"))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = p4r_mkdir_p(tmp, 0755)) < 0)
		goto done;
	if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		rc = p4r_error_errno("cannot open '%s'", path);
		goto done;
	}
	while (flock(*fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			rc = p4r_error_errno("cannot lock '%s'", path);
			close(*fd);
			*fd = -1;
			break;
		}
	}
done:
	free(tmp);
	free(path);
	return rc;
}

void p4r_sync_lock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}
