/* job_repo.c: opening a repository of the configuration file; pruning one on schedule. */
#include <stdlib.h>
#include <string.h>

#include "dsbackup/crypto.h"
#include "dsbackup/error.h"
#include "dsbackup/jobs.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"

/* The environment as it was before a repository's s3-* settings were set. */
struct saved_env {
	const char *name;
	char *old;    /* NULL: was unset */
};

static void env_restore(struct saved_env *saved, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (saved[i].old != NULL)
			setenv(saved[i].name, saved[i].old, 1);
		else
			unsetenv(saved[i].name);
		free(saved[i].old);
	}
	free(saved);
}

static int env_apply(const struct dsb_config_repo *repo, struct saved_env **out)
{
	struct saved_env *saved;
	const char *old;
	size_t i;

	*out = NULL;
	if (repo->nenv == 0)
		return 0;
	if ((saved = calloc(repo->nenv, sizeof(*saved))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	for (i = 0; i < repo->nenv; i++) {
		saved[i].name = repo->env[i].name;
		if ((old = getenv(repo->env[i].name)) != NULL &&
		    (saved[i].old = dsb_strdup(old)) == NULL) {
			env_restore(saved, i);
			return DSB_ERR_NOMEM;
		}
		if (setenv(repo->env[i].name, repo->env[i].value, 1) != 0) {
			env_restore(saved, i + 1);
			return dsb_error(DSB_ERR_NOMEM, "out of memory");
		}
	}
	*out = saved;
	return 0;
}

int dsb_job_open_repo(const struct dsb_config_repo *repo, struct dsb_session **s)
{
	struct dsb_open_opts o;
	struct saved_env *saved = NULL;
	char *pwpath = NULL, *pw = NULL;
	size_t pwlen = 0;
	int r;

	memset(&o, 0, sizeof(o));
	if ((r = dsb_config_password_path(repo, &pwpath)) != 0)
		goto out;
	if ((r = dsb_secret_from_file(pwpath, &pw, &pwlen)) != 0)
		goto out;
	if ((r = env_apply(repo, &saved)) != 0)
		goto out;
	o.url = repo->url;
	o.catalog_path = repo->catalog;
	o.password = pw;
	o.passlen = pwlen;
	r = dsb_session_open(&o, s);
	env_restore(saved, repo->nenv);
out:
	if (r != 0)
		r = dsb_error_wrap(r, "repository %s (%s)", repo->name, repo->url);
	dsb_secret_free(pw, pwlen);
	free(pwpath);
	return r;
}

int dsb_job_prune(const struct dsb_config *cfg, const struct dsb_config_repo *repo)
{
	struct dsb_prune_opts o;
	struct dsb_prune_stats st;
	struct dsb_session *s = NULL;
	int fd = -1, r;

	memset(&o, 0, sizeof(o));
	memset(&st, 0, sizeof(st));
	o.lock_wait_sec = cfg->lock_wait_sec > 0x7fffffff ? 0x7fffffff : (int)cfg->lock_wait_sec;
	if ((r = dsb_job_lock("prune", repo->name, &fd)) != 0)
		return r;
	if (dsb_job_set_time(repo->name, "prune-last", dsb_sched_clock()) != 0)
		dsb_warn("%s", dsb_errmsg());
	dsb_info("prune of repository %s started", repo->name);
	if ((r = dsb_job_open_repo(repo, &s)) == 0)
		r = dsb_prune(s, &o, &st);
	if (r == 0)
		dsb_info("prune of repository %s finished: %llu pack(s) deleted, %llu repacked, "
		    "%llu bytes freed", repo->name, (unsigned long long)st.packs_deleted,
		    (unsigned long long)st.packs_repacked, (unsigned long long)st.bytes_freed);
	else
		r = dsb_error_wrap(r, "prune of repository %s", repo->name);
	dsb_session_close(s);
	dsb_job_unlock(fd);
	return r;
}
