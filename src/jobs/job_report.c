/*
 * job_report.c: a finished run as JSON (the webhook's body, the output of
 * "backup --job --json") and as a Prometheus text file for node_exporter's
 * textfile collector: <metrics-dir>/dsbackup-job-NAME.prom, replaced
 * atomically.  Job and repository names are restricted to [A-Za-z0-9_.-]
 * by the configuration, so label values need no escaping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsbackup/error.h"
#include "dsbackup/jobs.h"
#include "dsbackup/util.h"
#include "jobs_internal.h"

static const char *result_text(int r)
{
	return r == 0 ? "ok" : r == DSB_ERR_PARTIAL ? "partial" : "failed";
}

static void format_time(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, n, "%lld", (long long)t);
}

static json_t *part_json(const struct job_part *part)
{
	return json_pack("{s:s, s:s, s:i, s:o, s:I, s:I, s:I, s:I, s:I}",
	    "name", part->repo->name, "result", result_text(part->r),
	    "exit_code", dsb_exit_code(part->r),
	    "error", part->error != NULL ? json_string(part->error) : json_null(),
	    "snapshots", (json_int_t)json_array_size(part->snapshots),
	    "files", (json_int_t)part->st.files, "bytes_read", (json_int_t)part->st.bytes_read,
	    "bytes_added", (json_int_t)part->st.bytes_added, "errors", (json_int_t)part->st.errors);
}

json_t *job_report(const struct job_run *run)
{
	json_t *snaps = json_array(), *repos = json_array(), *s, *rep;
	char started[40], finished[40];
	size_t i, j;

	if (snaps == NULL || repos == NULL)
		goto fail;
	for (i = 0; i < run->nparts; i++) {
		const struct job_part *part = &run->parts[i];

		json_array_foreach(part->snapshots, j, s)
			if (json_array_append_new(snaps, json_pack("{s:s, s:O, s:O}", "repository",
			    part->repo->name, "source", json_object_get(s, "source"), "id",
			    json_object_get(s, "id"))) != 0)
				goto fail;
		if (json_array_append_new(repos, part_json(part)) != 0)
			goto fail;
	}
	format_time(run->started, started, sizeof(started));
	format_time(run->finished, finished, sizeof(finished));
	rep = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:I, s:O, s:o, s:o, s:o}",
	    "job", run->job->name, "run_id", run->run_id, "host", run->host,
	    "result", result_text(run->r), "exit_code", dsb_exit_code(run->r),
	    "started", started, "finished", finished,
	    "duration_seconds", (json_int_t)(run->finished - run->started),
	    "sources", run->sources, "snapshots", snaps, "repositories", repos,
	    "error", run->error != NULL ? json_string(run->error) : json_null());
	return rep;
fail:
	json_decref(snaps);
	json_decref(repos);
	return NULL;
}

static void gauge(FILE *f, const char *name, const char *help, const char *job, double v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n%s{job=\"%s\"} %.17g\n", name, help, name, name,
	    job, v);
}

int job_write_metrics(const struct job_run *run, int64_t last_success)
{
	const char *job = run->job->name;
	char *text = NULL, *path = NULL;
	size_t len = 0, i, nsnaps = 0;
	uint64_t added = 0, bytes_read = 0, files = 0, errors = 0;
	FILE *f;
	int r;

	for (i = 0; i < run->nparts; i++) {
		added += run->parts[i].st.bytes_added;
		bytes_read += run->parts[i].st.bytes_read;
		files += run->parts[i].st.files;
		errors += run->parts[i].st.errors;
		nsnaps += json_array_size(run->parts[i].snapshots);
	}
	if ((f = open_memstream(&text, &len)) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	gauge(f, "dsbackup_last_run_result", "Exit code of the last run (0 ok, 3 some files "
	    "unreadable, else failed).", job, dsb_exit_code(run->r));
	gauge(f, "dsbackup_last_run_timestamp_seconds", "When the last run started.", job,
	    (double)run->started);
	gauge(f, "dsbackup_last_success_timestamp_seconds", "When the last run that wrote its "
	    "snapshots (result 0 or 3) finished.", job, (double)last_success);
	gauge(f, "dsbackup_last_run_duration_seconds", "How long the last run took.", job,
	    (double)(run->finished - run->started));
	gauge(f, "dsbackup_last_run_bytes_added", "Bytes the last run added to its repositories.",
	    job, (double)added);
	gauge(f, "dsbackup_last_run_bytes_read", "Bytes the last run read from its sources.", job,
	    (double)bytes_read);
	gauge(f, "dsbackup_last_run_files", "Files the last run backed up.", job, (double)files);
	gauge(f, "dsbackup_last_run_file_errors", "Files the last run could not read.", job,
	    (double)errors);
	gauge(f, "dsbackup_last_run_snapshots", "Snapshots the last run wrote.", job, (double)nsnaps);
	fprintf(f, "# HELP dsbackup_repository_last_run_result Exit code of the last run's part in "
	    "one repository.\n# TYPE dsbackup_repository_last_run_result gauge\n");
	for (i = 0; i < run->nparts; i++)
		fprintf(f, "dsbackup_repository_last_run_result{job=\"%s\",repository=\"%s\"} %d\n",
		    job, run->parts[i].repo->name, dsb_exit_code(run->parts[i].r));
	if (fclose(f) != 0) {
		free(text);
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	}
	if ((path = dsb_asprintf("%s/dsbackup-job-%s.prom", run->cfg->metrics_dir, job)) == NULL) {
		free(text);
		return DSB_ERR_NOMEM;
	}
	r = dsb_write_file_atomic(path, text, len, 0644);
	free(path);
	free(text);
	return r;
}
