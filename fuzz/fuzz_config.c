/*
 * fuzz_config.c: the configuration file (src/config/config.c, docs/CONFIG.md)
 * through dsb_config_load, as "dsbackup run" and "backup --job" read it.
 * The input is the file's content, handed over as an anonymous file (memfd,
 * mode 0600, read through /proc/self/fd).  A file that loads must keep the
 * promises the jobs and the scheduler rely on; every problem reported is one
 * line "PATH:LINE: ..." naming a line of the file.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dsbackup/config.h"
#include "dsbackup/error.h"
#include "fuzz.h"

struct reports {
	const char *path;
	size_t lines;     /* of the input */
	size_t n;
};

static void report(void *arg, const char *msg)
{
	struct reports *rep = arg;
	size_t len = strlen(rep->path);
	unsigned long line;
	char *end;

	FUZZ_CHECK(strncmp(msg, rep->path, len) == 0 && msg[len] == ':');
	line = strtoul(msg + len + 1, &end, 10);
	FUZZ_CHECK(end[0] == ':' && end[1] == ' ');
	FUZZ_CHECK(line <= rep->lines + 1);
	FUZZ_CHECK(strchr(msg, '\n') == NULL);
	rep->n++;
}

static void check_list(const struct dsb_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		FUZZ_CHECK(l->v[i] != NULL && l->v[i][0] != '\0');
}

static void check_config(const struct dsb_config *cfg)
{
	size_t i, j;

	for (i = 0; i < cfg->nrepos; i++) {
		const struct dsb_config_repo *r = &cfg->repos[i];

		FUZZ_CHECK(r->name != NULL && r->url != NULL);
		FUZZ_CHECK(r->password_file != NULL || r->password_credential != NULL);
		FUZZ_CHECK(dsb_config_repo(cfg, r->name) == r);   /* names are unique */
		for (j = 0; j < r->nenv; j++)
			FUZZ_CHECK(strncmp(r->env[j].name, "DSBACKUP_S3_", 12) == 0 &&
			    r->env[j].value != NULL);
	}
	for (i = 0; i < cfg->njobs; i++) {
		const struct dsb_config_job *job = &cfg->jobs[i];

		FUZZ_CHECK(job->name != NULL && dsb_config_job(cfg, job->name) == job);
		check_list(&job->sources);
		check_list(&job->excludes);
		check_list(&job->tags);
		FUZZ_CHECK(job->repositories.n > 0);
		for (j = 0; j < job->repositories.n; j++)
			FUZZ_CHECK(dsb_config_repo(cfg, job->repositories.v[j]) != NULL);
		FUZZ_CHECK(job->randomized_delay_sec >= 0);
	}
	FUZZ_CHECK(cfg->stop_timeout_sec >= 0 && cfg->lock_wait_sec >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reports rep = { 0 };
	struct dsb_config *cfg = NULL;
	char path[64];
	size_t i;
	int fd, r;

	if ((fd = memfd_create("dsbackup.conf", MFD_CLOEXEC)) < 0)
		abort();
	if (fchmod(fd, 0600) != 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rep.path = path;
	for (i = 0; i < size; i++)
		rep.lines += data[i] == '\n';
	r = dsb_config_load(path, &cfg, report, &rep);
	FUZZ_CHECK(r == 0 || r == DSB_ERR_USAGE);
	if (r == 0) {
		FUZZ_CHECK(cfg != NULL && rep.n == 0);
		check_config(cfg);
		dsb_config_free(cfg);
	} else {
		FUZZ_CHECK(rep.n > 0 && strncmp(dsb_errmsg(), path, strlen(path)) == 0);
	}
	dsb_error_clear();
	close(fd);
	return 0;
}
