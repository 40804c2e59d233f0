/* job_state.c: what runs leave in the state directory (last-run times, locks); [global] settings. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dsbackup/error.h"
#include "dsbackup/jobs.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"

int64_t dsb_sched_clock(void)
{
	const char *e = getenv("DSBACKUP_SCHED_NOW_OFFSET");
	int64_t now = (int64_t)time(NULL);

	if (e != NULL && *e != '\0')
		now += strtoll(e, NULL, 10);
	return now;
}

/* state_path(sub, name, out): <state>/SUB/NAME, with <state>/SUB created 0700. */
static int state_path(const char *sub, const char *name, char **out)
{
	char *state = dsb_state_dir(), *dir = NULL;
	int r;

	if (state == NULL)
		return DSB_ERR_NOMEM;
	if ((dir = dsb_asprintf("%s/%s", state, sub)) == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	if ((r = dsb_mkdir_p(dir, 0700)) != 0)
		goto out;
	if ((*out = dsb_asprintf("%s/%s", dir, name)) == NULL)
		r = DSB_ERR_NOMEM;
out:
	free(dir);
	free(state);
	return r;
}

int dsb_write_file_atomic(const char *path, const void *p, size_t n, unsigned mode)
{
	char *tmp = dsb_asprintf("%s.tmp.%ld", path, (long)getpid());
	int fd = -1, r;

	if (tmp == NULL)
		return DSB_ERR_NOMEM;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode)) < 0) {
		r = dsb_error_errno(DSB_ERR_IO, errno, "creating %s", tmp);
		goto out;
	}
	if ((r = dsb_write_all(fd, p, n, tmp)) != 0)
		goto out;
	if (fchmod(fd, (mode_t)mode) != 0 || fsync(fd) != 0) {
		r = dsb_error_errno(DSB_ERR_IO, errno, "writing %s", tmp);
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		r = dsb_error_errno(DSB_ERR_IO, errno, "writing %s", tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		r = dsb_error_errno(DSB_ERR_IO, errno, "renaming %s to %s", tmp, path);
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (r != 0)
		unlink(tmp);
	free(tmp);
	return r;
}

int dsb_job_get_time(const char *name, const char *what, int64_t *t)
{
	char *file = dsb_asprintf("%s.%s", name, what), *path = NULL, buf[32], *end;
	FILE *f = NULL;
	int r;

	if (file == NULL)
		return DSB_ERR_NOMEM;
	if ((r = state_path("jobs", file, &path)) != 0)
		goto out;
	if ((f = fopen(path, "re")) == NULL) {
		r = errno == ENOENT ? DSB_ERR_NOT_FOUND :
		    dsb_error_errno(DSB_ERR_IO, errno, "reading %s", path);
		goto out;
	}
	if (fgets(buf, sizeof(buf), f) == NULL) {
		r = dsb_error(DSB_ERR_CORRUPT, "%s is empty", path);
		goto out;
	}
	errno = 0;
	*t = strtoll(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0'))
		r = dsb_error(DSB_ERR_CORRUPT, "%s does not hold a time", path);
out:
	if (f != NULL)
		fclose(f);
	free(path);
	free(file);
	return r;
}

int dsb_job_set_time(const char *name, const char *what, int64_t t)
{
	char *file = dsb_asprintf("%s.%s", name, what), *path = NULL, buf[32];
	int r;

	if (file == NULL)
		return DSB_ERR_NOMEM;
	if ((r = state_path("jobs", file, &path)) == 0) {
		snprintf(buf, sizeof(buf), "%" PRId64 "\n", t);
		r = dsb_write_file_atomic(path, buf, strlen(buf), 0600);
	}
	free(path);
	free(file);
	return r;
}

/* open_lock(kind, name, fd, path): the lock file, created if needed. */
static int open_lock(const char *kind, const char *name, int *fd, char **path)
{
	char *file = dsb_asprintf("%s-%s.lock", kind, name);
	int r;

	if (file == NULL)
		return DSB_ERR_NOMEM;
	r = state_path("locks", file, path);
	free(file);
	if (r != 0)
		return r;
	if ((*fd = open(*path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		r = dsb_error_errno(DSB_ERR_IO, errno, "opening the lock %s", *path);
		free(*path);
		*path = NULL;
		return r;
	}
	return 0;
}

int dsb_job_lock(const char *kind, const char *name, int *fdp)
{
	char *path = NULL, pid[32];
	int fd, r;

	if ((r = open_lock(kind, name, &fd, &path)) != 0)
		return r;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		r = errno == EWOULDBLOCK ?
		    dsb_error(DSB_ERR_LOCKED, "%s %s is already running (lock %s)", kind, name, path) :
		    dsb_error_errno(DSB_ERR_IO, errno, "locking %s", path);
		close(fd);
		free(path);
		return r;
	}
	/* for people looking: the holder's pid */
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0)
		(void)!pwrite(fd, pid, strlen(pid), 0);
	free(path);
	*fdp = fd;
	return 0;
}

void dsb_job_unlock(int fd)
{
	if (fd < 0)
		return;
	flock(fd, LOCK_UN);
	close(fd);
}

int dsb_job_is_locked(const char *kind, const char *name)
{
	char *path = NULL;
	int fd, locked = 0;

	if (open_lock(kind, name, &fd, &path) != 0)
		return 0;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0)
		locked = errno == EWOULDBLOCK;
	close(fd);
	free(path);
	return locked;
}

int dsb_jobs_apply_global(const struct dsb_config *cfg, int log_level_given)
{
	const char *e = getenv("DSBACKUP_STATE_DIR");

	if (cfg->state_dir != NULL && (e == NULL || *e == '\0') &&
	    setenv("DSBACKUP_STATE_DIR", cfg->state_dir, 1) != 0)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	if (cfg->log_level >= 0 && !log_level_given)
		dsb_log_set_level(cfg->log_level);
	return 0;
}
