/*
 * jobs.h: running the jobs of the configuration file (config.h) once --
 * what "dsbackup backup --job NAME" and a systemd timer do, and what the
 * scheduler ("dsbackup run") starts -- and the state they share: a lock
 * per job, the time of each job's last run, the run history in each
 * repository's catalog, Prometheus text files and webhooks.
 *
 * State lives under dsb_state_dir(): jobs/NAME.last and jobs/NAME.success
 * (seconds since the epoch, as text), locks/job-NAME.lock and
 * locks/prune-NAME.lock (flock).
 */
#ifndef DSBACKUP_JOBS_H
#define DSBACKUP_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "dsbackup/config.h"
#include "dsbackup/engine.h"

struct json_t;

/*
 * dsb_jobs_apply_global(cfg, log_level_given): the [global] settings that
 * are process-wide: DSBACKUP_STATE_DIR from state-dir (unless the
 * environment sets it), and log-level (unless ${log_level_given}, from
 * -q or -v).  0 or DSB_ERR_NOMEM.
 */
int dsb_jobs_apply_global(const struct dsb_config *cfg, int log_level_given);

/*
 * dsb_job_run(cfg, job, report): run ${job} once: its pre-hooks; every
 * source into every repository (a wildcard source stands for each match;
 * a source is prepared once -- containers stopped -- for all repositories);
 * its retention policy (dsb_forget, restricted to this host and each
 * source) in each repository whose backup succeeded; its post-hooks.  Then
 * the run is recorded in each repository's catalog, the job's Prometheus
 * file is written, and the webhook is called.  Returns the worst result of
 * the parts: 0, DSB_ERR_PARTIAL (some files unreadable), or an error;
 * DSB_ERR_LOCKED when the job is already running.  ${report} (may be
 * NULL) receives the run as a JSON object (the webhook's body), which the
 * caller frees with json_decref.
 */
int dsb_job_run(const struct dsb_config *cfg, const struct dsb_config_job *job,
    struct json_t **report);

/*
 * dsb_job_prune(cfg, repo): prune one configured repository (what the
 * scheduler does on its prune-schedule), under the lock prune-NAME.
 */
int dsb_job_prune(const struct dsb_config *cfg, const struct dsb_config_repo *repo);

/*
 * dsb_job_open_repo(repo, s): open a configured repository and its
 * catalog: password from its file or credential, s3-* settings in the
 * environment while it opens.
 */
int dsb_job_open_repo(const struct dsb_config_repo *repo, struct dsb_session **s);

/* ---- state shared with the scheduler ---- */

/*
 * dsb_sched_clock(): the current time in seconds, shifted by
 * $DSBACKUP_SCHED_NOW_OFFSET seconds (a test hook; unset in real use).
 */
int64_t dsb_sched_clock(void);

/*
 * dsb_job_lock(kind, name, fd): take the exclusive lock
 * <state>/locks/KIND-NAME.lock without waiting.  0 with ${fd} open;
 * DSB_ERR_LOCKED when another process holds it.
 */
int dsb_job_lock(const char *kind, const char *name, int *fd);
/* dsb_job_unlock(fd): release and close (-1: nothing). */
void dsb_job_unlock(int fd);
/* dsb_job_is_locked(kind, name): 1 when some process holds the lock, else 0. */
int dsb_job_is_locked(const char *kind, const char *name);

/* dsb_job_get_time(name, what, t): <state>/jobs/NAME.WHAT ("last", "success"); DSB_ERR_NOT_FOUND. */
int dsb_job_get_time(const char *name, const char *what, int64_t *t);
/* dsb_job_set_time(name, what, t): write it atomically. */
int dsb_job_set_time(const char *name, const char *what, int64_t t);

/*
 * dsb_write_file_atomic(path, p, n, mode): write a temporary file in the
 * same directory, fsync it, rename it over ${path}.
 */
int dsb_write_file_atomic(const char *path, const void *p, size_t n, unsigned mode);

#endif
