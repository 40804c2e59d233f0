/*
 * jobs_internal.h: shared by the files of src/jobs/ only.
 *
 * job_run.c      dsb_job_run: hooks, backups, forget, recording, in order
 * job_repo.c     opening a configured repository; dsb_job_prune
 * job_hooks.c    pre-hook and post-hook commands
 * job_report.c   the run as JSON; the Prometheus text file
 * job_webhook.c  POSTing the report (libcurl)
 * job_state.c    state files, locks, the scheduler's clock
 */
#ifndef DSB_JOBS_INTERNAL_H
#define DSB_JOBS_INTERNAL_H

#include <stdint.h>

#include <jansson.h>

#include "dsbackup/config.h"
#include "dsbackup/engine.h"

/* What a run did in one repository. */
struct job_part {
	const struct dsb_config_repo *repo;
	struct dsb_session *s;        /* NULL when it could not be opened */
	int r;                        /* the worst result so far */
	char *error;                  /* the first error message, or NULL */
	struct dsb_backup_stats st;   /* summed over the sources */
	json_t *snapshots;            /* [{"source": SPEC, "id": ID}] */
};

struct job_run {
	const struct dsb_config *cfg;
	const struct dsb_config_job *job;
	char run_id[33];
	char host[256];
	int64_t started, finished;
	int r;                        /* the worst result of all parts and hooks */
	char *error;                  /* the first error message, or NULL */
	struct job_part *parts;
	size_t nparts;
	json_t *sources;              /* the concrete specs backed up (wildcards expanded) */
};

/* job_worse(a, b): the worse of two results: an error over DSB_ERR_PARTIAL over 0. */
int job_worse(int a, int b);

/* job_fail(run, part, r, what): note result ${r} (with dsb_errmsg() and ${what}) on the part, or the run if NULL. */
void job_fail(struct job_run *run, struct job_part *part, int r, const char *what);

/* job_run_hooks(run, phase, hooks): run each command with /bin/sh -c; stops at the first failure. */
int job_run_hooks(struct job_run *run, const char *phase, const struct dsb_strlist *hooks);

/* job_report(run): the run as the JSON object of jobs.h (new reference), NULL if out of memory. */
json_t *job_report(const struct job_run *run);

/* job_write_metrics(run, last_success): the Prometheus text file of the job in metrics-dir. */
int job_write_metrics(const struct job_run *run, int64_t last_success);

/* job_notify(url, body): POST ${body} as JSON; 0 on a 2xx answer. */
int job_notify(const char *url, json_t *body);

#endif
