/*
 * cmd_history.c: dsbackup history -- the runs recorded in the catalogs of
 * the configured repositories (or of -r REPO), merged and in time order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "commands.h"
#include "dsbackup/config.h"
#include "dsbackup/error.h"
#include "dsbackup/jobs.h"
#include "dsbackup/log.h"

struct history_args {
	const char *job;
	const char *repository;
	size_t last;
	json_t *rows;
};

static int history_option(struct cli *c, int opt, const char *arg, void *ctx)
{
	struct history_args *a = ctx;
	char *end;
	unsigned long n;

	switch (opt) {
	case 0x3201: a->job = arg; return 0;
	case 0x3202: a->repository = arg; return 0;
	case 0x3203:
		errno = 0;
		n = strtoul(arg, &end, 10);
		if (errno != 0 || *end != '\0' || arg[0] == '-' || end == arg)
			return cli_usage_error(c, "--last needs a number, not \"%s\"", arg);
		a->last = n;
		return 0;
	default: return cli_usage_error(c, "invalid option");
	}
}

static void iso_time(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, n, "%lld", (long long)t);
}

static const char *result_text(int code)
{
	return code == 0 ? "ok" : code == 3 ? "partial" : "failed";
}

static int collect_row(void *arg, const struct dsb_catalog_run *run)
{
	struct history_args *a = arg;
	json_t *sources = json_loads(run->sources, 0, NULL), *snaps = json_loads(run->snapshots, 0, NULL);
	char started[32], finished[32];

	iso_time(run->started, started, sizeof(started));
	iso_time(run->finished, finished, sizeof(finished));
	if (json_array_append_new(a->rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, "
	    "s:i, s:o, s:o, s:I, s:I, s:I, s:I, s:o}",
	    "run_id", run->run_id, "job", run->job, "repository", run->repository,
	    "host", run->host, "started", started, "finished", finished,
	    "started_unix", (json_int_t)run->started,
	    "duration_seconds", (json_int_t)(run->finished - run->started),
	    "result", result_text(run->result), "exit_code", run->result,
	    "sources", sources != NULL ? sources : json_array(),
	    "snapshots", snaps != NULL ? snaps : json_array(),
	    "files", (json_int_t)run->files, "bytes_read", (json_int_t)run->bytes_read,
	    "bytes_added", (json_int_t)run->bytes_added, "errors", (json_int_t)run->errors,
	    "error", run->error[0] != '\0' ? json_string(run->error) : json_null())) != 0)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	return 0;
}

static int by_time(const void *x, const void *y)
{
	json_int_t a = json_integer_value(json_object_get(*(json_t *const *)x, "started_unix"));
	json_int_t b = json_integer_value(json_object_get(*(json_t *const *)y, "started_unix"));

	return a < b ? -1 : a > b;
}

/* from_configured(c, a): the rows of every configured repository (or --repository). */
static int from_configured(struct cli *c, struct history_args *a)
{
	struct dsb_config *cfg = NULL;
	struct dsb_session *s;
	size_t i;
	int r, worst = 0;

	if ((r = cli_load_config(c, NULL, &cfg)) != 0)
		return r;
	if (a->repository != NULL && dsb_config_repo(cfg, a->repository) == NULL) {
		r = dsb_error(DSB_ERR_USAGE, "no [repository %s] in %s", a->repository, cfg->path);
		dsb_config_free(cfg);
		return r;
	}
	for (i = 0; i < cfg->nrepos; i++) {
		if (a->repository != NULL && strcmp(a->repository, cfg->repos[i].name) != 0)
			continue;
		if ((r = dsb_job_open_repo(&cfg->repos[i], &s)) == 0) {
			r = dsb_catalog_foreach_run(s->cat, a->job, a->last, collect_row, a);
			dsb_session_close(s);
		}
		if (r != 0) {
			dsb_log(DSB_LOG_ERROR, "%s", dsb_errmsg());
			dsb_error_clear();
			worst = worst != 0 ? worst : r;
		}
	}
	dsb_config_free(cfg);
	return worst;
}

static void print_table(json_t *rows)
{
	json_t *row;
	char when[32], added[32];
	size_t i;
	time_t t;
	struct tm tm;

	printf("%-19s %8s  %-16s %-12s %-7s %5s %10s %8s %6s\n", "STARTED", "TIME", "JOB",
	    "REPOSITORY", "RESULT", "SNAPS", "ADDED", "FILES", "ERRORS");
	json_array_foreach(rows, i, row) {
		t = (time_t)json_integer_value(json_object_get(row, "started_unix"));
		if (localtime_r(&t, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S",
		    &tm) == 0)
			snprintf(when, sizeof(when), "?");
		cli_bytes((uint64_t)json_integer_value(json_object_get(row, "bytes_added")), added,
		    sizeof(added));
		printf("%-19s %7llds  %-16s %-12s %-7s %5zu %10s %8lld %6lld\n", when,
		    (long long)json_integer_value(json_object_get(row, "duration_seconds")),
		    json_string_value(json_object_get(row, "job")),
		    json_string_value(json_object_get(row, "repository")),
		    json_string_value(json_object_get(row, "result")),
		    json_array_size(json_object_get(row, "snapshots")), added,
		    (long long)json_integer_value(json_object_get(row, "files")),
		    (long long)json_integer_value(json_object_get(row, "errors")));
		if (json_is_string(json_object_get(row, "error")))
			printf("    error: %s\n", json_string_value(json_object_get(row, "error")));
	}
}

int cmd_history(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "job", required_argument, NULL, 0x3201 },
		{ "repository", required_argument, NULL, 0x3202 },
		{ "last", required_argument, NULL, 0x3203 },
		CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 }
	};
	struct history_args a;
	struct dsb_session *s = NULL;
	json_t **v = NULL, *sorted = NULL;
	size_t i, n, from;
	int r;

	memset(&a, 0, sizeof(a));
	a.last = 50;
	if ((r = cli_parse(c, argc, argv, "r:c:qvh", longopts, history_option, &a)) != 0)
		return r == 1 ? 0 : r;
	if (optind < argc)
		return cli_usage_error(c, "history takes no arguments");
	if ((a.rows = json_array()) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	if (c->repo != NULL) {
		if ((r = cli_open(c, &s)) == 0)
			r = dsb_catalog_foreach_run(s->cat, a.job, a.last, collect_row, &a);
		dsb_session_close(s);
	} else {
		r = from_configured(c, &a);
	}
	n = json_array_size(a.rows);
	if ((v = calloc(n + 1, sizeof(*v))) == NULL || (sorted = json_array()) == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		v[i] = json_array_get(a.rows, i);
	qsort(v, n, sizeof(*v), by_time);
	from = a.last > 0 && n > a.last ? n - a.last : 0;
	for (i = from; i < n; i++)
		json_array_append(sorted, v[i]);
	if (c->json)
		cli_print_json(json_incref(sorted));
	else if (n == 0 && r == 0)
		printf("no runs recorded%s%s\n", a.job != NULL ? " for job " : "",
		    a.job != NULL ? a.job : "");
	else
		print_table(sorted);
out:
	free(v);
	json_decref(sorted);
	json_decref(a.rows);
	return r;
}
