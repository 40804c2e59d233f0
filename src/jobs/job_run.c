/*
 * job_run.c: one run of a job.
 *
 *   lock the job -> pre-hooks -> open every repository -> for each source:
 *   prepare it once (stop containers...), back it up into every open
 *   repository, restore it -> forget in each repository whose backups all
 *   succeeded -> post-hooks -> record the run in each catalog -> metrics
 *   file -> webhook -> unlock.
 *
 * A repository that cannot be opened fails its part; the others go on.
 * The result is the worst of the parts and hooks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dsbackup/crypto.h"
#include "dsbackup/docker.h"
#include "dsbackup/error.h"
#include "dsbackup/jobs.h"
#include "dsbackup/log.h"
#include "dsbackup/source.h"
#include "dsbackup/util.h"
#include "jobs_internal.h"

int job_worse(int a, int b)
{
	if (a == 0)
		return b;
	if (b == 0 || a != DSB_ERR_PARTIAL)
		return a;
	return b;
}

void job_fail(struct job_run *run, struct job_part *part, int r, const char *what)
{
	const char *msg = dsb_errmsg()[0] != '\0' ? dsb_errmsg() : dsb_strerror(r);
	char **slot = part != NULL ? &part->error : &run->error;
	char *text;

	text = what != NULL ? dsb_asprintf("%s: %s", what, msg) : dsb_strdup(msg);
	if (part != NULL)
		dsb_log(r == DSB_ERR_PARTIAL ? DSB_LOG_WARN : DSB_LOG_ERROR, "job %s: repository %s: %s",
		    run->job->name, part->repo->name, text != NULL ? text : msg);
	else
		dsb_log(DSB_LOG_ERROR, "job %s: %s", run->job->name, text != NULL ? text : msg);
	if (*slot == NULL)
		*slot = text;
	else
		free(text);
	if (part != NULL)
		part->r = job_worse(part->r, r);
	else
		run->r = job_worse(run->r, r);
	dsb_error_clear();
}

/* fail_open_parts(run, r, what): the same failure in every repository that is open. */
static void fail_open_parts(struct job_run *run, int r, const char *what)
{
	char msg[1024];
	size_t i;

	snprintf(msg, sizeof(msg), "%s", dsb_errmsg());
	for (i = 0; i < run->nparts; i++) {
		if (run->parts[i].s == NULL)
			continue;
		dsb_error(r, "%s", msg);
		job_fail(run, &run->parts[i], r, what);
	}
}

static int job_init(struct job_run *run)
{
	uint8_t rnd[16];
	size_t i;
	int r;

	run->started = (int64_t)time(NULL);
	if ((r = dsb_random(rnd, sizeof(rnd))) != 0)
		return r;
	dsb_hex_encode(rnd, sizeof(rnd), run->run_id);
	if (run->job->host != NULL)
		snprintf(run->host, sizeof(run->host), "%s", run->job->host);
	else if (gethostname(run->host, sizeof(run->host) - 1) != 0)
		snprintf(run->host, sizeof(run->host), "localhost");
	if ((run->sources = json_array()) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	run->nparts = run->job->repositories.n;
	if ((run->parts = calloc(run->nparts, sizeof(*run->parts))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	for (i = 0; i < run->nparts; i++) {
		run->parts[i].repo = dsb_config_repo(run->cfg, run->job->repositories.v[i]);
		if (run->parts[i].repo == NULL)
			return dsb_error(DSB_ERR_INTERNAL, "job %s: no repository %s", run->job->name,
			    run->job->repositories.v[i]);
		if ((run->parts[i].snapshots = json_array()) == NULL)
			return dsb_error(DSB_ERR_NOMEM, "out of memory");
	}
	return 0;
}

static size_t open_parts(struct job_run *run)
{
	size_t i, n = 0;
	int r;

	/* even when interrupted: the run is recorded in each repository */
	for (i = 0; i < run->nparts; i++) {
		if ((r = dsb_job_open_repo(run->parts[i].repo, &run->parts[i].s)) != 0)
			job_fail(run, &run->parts[i], r, NULL);
		else
			n++;
	}
	return n;
}

static void add_stats(struct dsb_backup_stats *sum, const struct dsb_backup_stats *st)
{
	sum->files += st->files;
	sum->dirs += st->dirs;
	sum->files_new += st->files_new;
	sum->files_changed += st->files_changed;
	sum->files_unchanged += st->files_unchanged;
	sum->bytes_read += st->bytes_read;
	sum->bytes_added += st->bytes_added;
	sum->blobs_added += st->blobs_added;
	sum->packs_added += st->packs_added;
	sum->errors += st->errors;
	sum->changed_while_read += st->changed_while_read;
}

static int lock_wait(const struct job_run *run)
{
	return run->cfg->lock_wait_sec > 0x7fffffff ? 0x7fffffff : (int)run->cfg->lock_wait_sec;
}

/* backup_into(run, part, src): one snapshot of ${src} in one repository. */
static void backup_into(struct job_run *run, struct job_part *part, const struct dsb_source *src)
{
	const struct dsb_config_job *job = run->job;
	const char *escrow[2 * 255];
	struct dsb_backup_opts o;
	struct dsb_backup_stats st;
	char id[65] = "", rd[32], ad[32];
	size_t i, n = 0;
	int r;

	memset(&o, 0, sizeof(o));
	memset(&st, 0, sizeof(st));
	o.paths = (const char *const *)src->paths;
	o.npaths = src->npaths;
	o.tags = (const char *const *)job->tags.v;
	o.ntags = job->tags.n;
	o.excludes = (const char *const *)job->excludes.v;
	o.nexcludes = job->excludes.n;
	o.host = run->host;
	o.one_file_system = job->one_file_system;
	o.source = src->spec;
	o.run_id = run->run_id;
	o.source_meta = src->meta;
	o.lock_wait_sec = lock_wait(run);
	for (i = 0; i < part->repo->escrow_recipients.n && n < 255; i++)
		escrow[n++] = part->repo->escrow_recipients.v[i];
	for (i = 0; i < job->escrow_recipients.n && n < 2 * 255; i++)
		escrow[n++] = job->escrow_recipients.v[i];
	o.escrow_recipients = escrow;
	o.nescrow_recipients = n;
	o.escrow = n > 0 && src->ops->key_material;
	r = dsb_backup(part->s, &o, id, &st);
	if (r == 0 || r == DSB_ERR_PARTIAL) {
		add_stats(&part->st, &st);
		json_array_append_new(part->snapshots, json_pack("{s:s, s:s}", "source", src->spec,
		    "id", id));
		snprintf(rd, sizeof(rd), "%llu", (unsigned long long)st.bytes_read);
		snprintf(ad, sizeof(ad), "%llu", (unsigned long long)st.bytes_added);
		dsb_info("job %s: repository %s: snapshot %.8s of %s: %llu files, %s bytes read, "
		    "%s bytes added", job->name, part->repo->name, id, src->spec,
		    (unsigned long long)st.files, rd, ad);
	}
	if (r != 0)
		job_fail(run, part, r, src->spec);
}

/* backup_source(run, spec): prepare one concrete source, back it up everywhere, restore it. */
static void backup_source(struct job_run *run, const char *spec)
{
	struct dsb_source *src = NULL;
	size_t i;
	int r;

	if ((r = dsb_source_open(spec, &src)) != 0) {
		fail_open_parts(run, r, spec);
		return;
	}
	json_array_append_new(run->sources, json_string(src->spec));
	if (src->ops->before != NULL && (r = src->ops->before(src)) != 0) {
		fail_open_parts(run, r, src->spec);
	} else {
		for (i = 0; i < run->nparts && !dsb_interrupted; i++)
			if (run->parts[i].s != NULL)
				backup_into(run, &run->parts[i], src);
	}
	if (src->ops->after != NULL && (r = src->ops->after(src)) != 0)
		fail_open_parts(run, r, src->spec);
	dsb_source_close(src);
}

/* uses_docker(job): some source is not a plain path. */
static int uses_docker(const struct dsb_config_job *job)
{
	size_t i;

	for (i = 0; i < job->sources.n; i++)
		if (job->sources.v[i][0] != '/' && strncmp(job->sources.v[i], "path:", 5) != 0)
			return 1;
	return 0;
}

static void backup_all(struct job_run *run)
{
	char **specs;
	size_t i, j, n;
	int r, docker = uses_docker(run->job);

	if (docker) {
		if ((r = dsb_sources_setup()) != 0) {
			fail_open_parts(run, r, "Docker");
			return;
		}
		/* containers a dead run left stopped */
		if ((r = dsb_docker_recover()) != 0)
			fail_open_parts(run, r, "Docker");
	}
	for (i = 0; i < run->job->sources.n && !dsb_interrupted; i++) {
		if ((r = dsb_source_expand(run->job->sources.v[i], &specs, &n)) != 0) {
			fail_open_parts(run, r, run->job->sources.v[i]);
			continue;
		}
		if (n == 0)
			dsb_info("job %s: source %s matches nothing", run->job->name,
			    run->job->sources.v[i]);
		for (j = 0; j < n && !dsb_interrupted; j++)
			backup_source(run, specs[j]);
		dsb_docker_free_specs(specs, n);
	}
	if (docker)
		dsb_docker_cleanup();
}

struct forget_count {
	size_t kept, removed;
};

static int count_decision(void *arg, const struct dsb_forget_decision *d)
{
	struct forget_count *c = arg;

	if (d->keep)
		c->kept++;
	else
		c->removed++;
	dsb_debug("forget: %s %.8s (%s)", d->keep ? "keep" : "remove", d->snap->id,
	    d->keep ? d->reasons : "no rule keeps it");
	return 0;
}

/* forget_part(run, part): the job's retention policy, for each source it backed up. */
static void forget_part(struct job_run *run, struct job_part *part)
{
	const struct dsb_config_retention *ret = &run->job->retention;
	struct dsb_forget_opts o;
	struct forget_count c;
	size_t i;
	int r;

	memset(&o, 0, sizeof(o));
	o.policy.keep_last = ret->keep_last;
	o.policy.keep_hourly = ret->keep_hourly;
	o.policy.keep_daily = ret->keep_daily;
	o.policy.keep_weekly = ret->keep_weekly;
	o.policy.keep_monthly = ret->keep_monthly;
	o.policy.keep_yearly = ret->keep_yearly;
	o.policy.keep_tags = (const char *const *)ret->keep_tags.v;
	o.policy.nkeep_tags = ret->keep_tags.n;
	if (ret->keep_within != NULL &&
	    (r = dsb_forget_parse_within(ret->keep_within, &o.policy.keep_within)) != 0) {
		job_fail(run, part, r, "keep-within");
		return;
	}
	o.host = run->host;
	o.lock_wait_sec = lock_wait(run);
	for (i = 0; i < json_array_size(run->sources) && !dsb_interrupted; i++) {
		memset(&c, 0, sizeof(c));
		o.source = json_string_value(json_array_get(run->sources, i));
		if ((r = dsb_forget(part->s, &o, count_decision, &c)) != 0) {
			job_fail(run, part, r, "forget");
			return;
		}
		dsb_info("job %s: repository %s: forget %s: %zu snapshot(s) kept, %zu removed",
		    run->job->name, part->repo->name, o.source, c.kept, c.removed);
	}
}

static void forget_all(struct job_run *run)
{
	size_t i;

	if (!run->job->retention.any)
		return;
	for (i = 0; i < run->nparts && !dsb_interrupted; i++) {
		struct job_part *part = &run->parts[i];

		/* a failed backup keeps the old snapshots */
		if (part->s != NULL && (part->r == 0 || part->r == DSB_ERR_PARTIAL))
			forget_part(run, part);
	}
}

/* snapshot_ids(part): the JSON text of the ids the part made (malloc'd). */
static char *snapshot_ids(const struct job_part *part)
{
	json_t *ids = json_array(), *s;
	char *text;
	size_t i;

	json_array_foreach(part->snapshots, i, s)
		json_array_append(ids, json_object_get(s, "id"));
	text = json_dumps(ids, JSON_COMPACT);
	json_decref(ids);
	return text;
}

static void record_part(struct job_run *run, struct job_part *part, const char *sources)
{
	struct dsb_catalog_run row;
	char *snaps = snapshot_ids(part);
	int r;

	memset(&row, 0, sizeof(row));
	row.run_id = run->run_id;
	row.job = run->job->name;
	row.repository = part->repo->name;
	row.host = run->host;
	row.started = run->started;
	row.finished = run->finished;
	row.result = dsb_exit_code(job_worse(part->r, run->r));
	row.sources = sources != NULL ? sources : "[]";
	row.snapshots = snaps != NULL ? snaps : "[]";
	row.files = part->st.files;
	row.bytes_read = part->st.bytes_read;
	row.bytes_added = part->st.bytes_added;
	row.errors = part->st.errors;
	row.error = part->error != NULL ? part->error : run->error;
	if ((r = dsb_catalog_add_run(part->s->cat, &row)) != 0)
		dsb_warn("job %s: repository %s: the run could not be recorded: %s", run->job->name,
		    part->repo->name, dsb_errmsg());
	free(snaps);
}

/* finish(run): the overall result, the history rows, the sessions closed. */
static void finish(struct job_run *run)
{
	char *sources = json_dumps(run->sources, JSON_COMPACT);
	size_t i;

	if (dsb_interrupted && run->r != DSB_ERR_INTERRUPTED) {
		dsb_error(DSB_ERR_INTERRUPTED, "interrupted by a signal");
		job_fail(run, NULL, DSB_ERR_INTERRUPTED, NULL);
	}
	run->finished = (int64_t)time(NULL);
	for (i = 0; i < run->nparts; i++) {
		struct job_part *part = &run->parts[i];

		if (part->s != NULL)
			record_part(run, part, sources);
		else
			dsb_warn("job %s: repository %s could not be opened: this run is recorded only "
			    "in the other repositories", run->job->name, part->repo->name);
		dsb_session_close(part->s);
		part->s = NULL;
	}
	for (i = 0; i < run->nparts; i++) {
		if (run->error == NULL && run->parts[i].error != NULL)
			run->error = dsb_asprintf("repository %s: %s", run->parts[i].repo->name,
			    run->parts[i].error);
		run->r = job_worse(run->r, run->parts[i].r);
	}
	free(sources);
}

/* publish(run, report): metrics file, last success, webhook. */
static void publish(struct job_run *run, json_t *report)
{
	const struct dsb_config_job *job = run->job;
	int64_t last_success = 0;
	int ok = run->r == 0 || run->r == DSB_ERR_PARTIAL;

	if (ok) {
		last_success = run->finished;
		if (dsb_job_set_time(job->name, "success", last_success) != 0)
			dsb_warn("job %s: %s", job->name, dsb_errmsg());
	} else if (dsb_job_get_time(job->name, "success", &last_success) != 0) {
		last_success = 0;
		dsb_error_clear();
	}
	if (run->cfg->metrics_dir != NULL && job_write_metrics(run, last_success) != 0)
		dsb_log(DSB_LOG_ERROR, "job %s: writing the metrics: %s", job->name, dsb_errmsg());
	if (job->notify_webhook != NULL && report != NULL && (run->r != 0 || job->notify_on_success)) {
		if (job_notify(job->notify_webhook, report) != 0)
			dsb_log(DSB_LOG_ERROR, "job %s: webhook: %s", job->name, dsb_errmsg());
		else
			dsb_info("job %s: webhook notified", job->name);
	}
}

static void job_release(struct job_run *run)
{
	size_t i;

	for (i = 0; i < run->nparts; i++) {
		dsb_session_close(run->parts[i].s);
		free(run->parts[i].error);
		json_decref(run->parts[i].snapshots);
	}
	free(run->parts);
	free(run->error);
	json_decref(run->sources);
}

int dsb_job_run(const struct dsb_config *cfg, const struct dsb_config_job *job, json_t **report)
{
	struct job_run run;
	json_t *rep = NULL;
	int fd = -1, r;

	if (report != NULL)
		*report = NULL;
	memset(&run, 0, sizeof(run));
	run.cfg = cfg;
	run.job = job;
	if ((r = dsb_job_lock("job", job->name, &fd)) != 0)
		return r;
	if ((r = job_init(&run)) != 0)
		goto out;
	if (dsb_job_set_time(job->name, "last", dsb_sched_clock()) != 0)
		dsb_warn("job %s: %s", job->name, dsb_errmsg());
	dsb_info("job %s: run %s started", job->name, run.run_id);
	/* opened even when a pre-hook failed, so that the failed run is recorded */
	r = job_run_hooks(&run, "pre", &job->pre_hooks);
	if (open_parts(&run) > 0 && r == 0) {
		backup_all(&run);
		forget_all(&run);
	}
	job_run_hooks(&run, "post", &job->post_hooks);
	finish(&run);
	if ((rep = job_report(&run)) == NULL)
		dsb_warn("job %s: out of memory for the report", job->name);
	publish(&run, rep);
	dsb_log(run.r == 0 ? DSB_LOG_INFO : run.r == DSB_ERR_PARTIAL ? DSB_LOG_WARN : DSB_LOG_ERROR,
	    "job %s: run %s finished: %s in %llds", job->name, run.run_id,
	    run.r == 0 ? "ok" : run.r == DSB_ERR_PARTIAL ? "some files could not be read" : "failed",
	    (long long)(run.finished - run.started));
	r = run.r;
	if (r != 0)
		dsb_error(r, "job %s: %s", job->name, run.error != NULL ? run.error : dsb_strerror(r));
	if (report != NULL) {
		*report = rep;
		rep = NULL;
	}
out:
	json_decref(rep);
	job_release(&run);
	dsb_job_unlock(fd);
	return r;
}
