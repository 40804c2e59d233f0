/* catalog_runs.c: the run history of jobs (table "runs", schema version 2). */
#include <stdint.h>
#include <string.h>

#include "dsbackup/catalog.h"
#include "dsbackup/error.h"

#include "catalog_internal.h"

static const char *or_empty(const char *s)
{
	return s != NULL ? s : "";
}

int dsb_catalog_add_run(struct dsb_catalog *c, const struct dsb_catalog_run *run)
{
	static const char what[] = "recording a run";
	const char *text[] = { run->run_id, run->job, run->repository, run->host, run->sources,
		run->snapshots, run->error };
	const int text_col[] = { 1, 2, 3, 4, 8, 9, 14 };
	const int64_t num[] = { run->started, run->finished, run->result,
		(int64_t)(run->files & INT64_MAX), (int64_t)(run->bytes_read & INT64_MAX),
		(int64_t)(run->bytes_added & INT64_MAX), (int64_t)(run->errors & INT64_MAX) };
	const int num_col[] = { 5, 6, 7, 10, 11, 12, 13 };
	sqlite3_stmt *st = NULL;
	size_t i;
	int r, rc = SQLITE_OK;

	if ((r = catalog_prepare(c, "INSERT INTO runs(run_id, job, repository, host, started, "
	    "finished, result, sources, snapshots, files, bytes_read, bytes_added, errors, error) "
	    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)", &st, what)) != 0)
		return r;
	for (i = 0; i < sizeof(text) / sizeof(text[0]) && rc == SQLITE_OK; i++)
		rc = sqlite3_bind_text(st, text_col[i], or_empty(text[i]), -1, SQLITE_STATIC);
	for (i = 0; i < sizeof(num) / sizeof(num[0]) && rc == SQLITE_OK; i++)
		rc = sqlite3_bind_int64(st, num_col[i], num[i]);
	if (rc != SQLITE_OK)
		r = catalog_error(c, rc, what);
	else
		r = catalog_step_done(c, st, what);
	sqlite3_finalize(st);
	return r;
}

/* read_run(c, st, run): the columns of one row, as selected in foreach_run. */
static int read_run(struct dsb_catalog *c, sqlite3_stmt *st, struct dsb_catalog_run *run)
{
	static const char what[] = "reading a run";
	const char **text[] = { &run->run_id, &run->job, &run->repository, &run->host,
		&run->sources, &run->snapshots, &run->error };
	const int text_col[] = { 1, 2, 3, 4, 8, 9, 14 };
	int64_t v[8];
	const int num_col[] = { 0, 5, 6, 7, 10, 11, 12, 13 };
	size_t i;
	int r;

	memset(run, 0, sizeof(*run));
	for (i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		if ((r = catalog_column_text(c, st, text_col[i], text[i], NULL, what)) != 0)
			return r;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if ((r = catalog_column_int(c, st, num_col[i], i == 1 || i == 2 ? INT64_MIN : 0,
		    INT64_MAX, &v[i], what)) != 0)
			return r;
	if (v[3] > 255)
		return catalog_corrupt(c, what, "result");
	run->id = v[0];
	run->started = v[1];
	run->finished = v[2];
	run->result = (int)v[3];
	run->files = (uint64_t)v[4];
	run->bytes_read = (uint64_t)v[5];
	run->bytes_added = (uint64_t)v[6];
	run->errors = (uint64_t)v[7];
	return 0;
}

int dsb_catalog_foreach_run(struct dsb_catalog *c, const char *job, size_t limit,
    int (*cb)(void *arg, const struct dsb_catalog_run *run), void *arg)
{
	static const char what[] = "listing runs";
	struct dsb_catalog_run run;
	sqlite3_stmt *st = NULL;
	int r, rc;

	/* the newest ${limit}, then in time order; ?2 < 0 means no limit */
	if ((r = catalog_prepare(c, "SELECT id, run_id, job, repository, host, started, finished, "
	    "result, sources, snapshots, files, bytes_read, bytes_added, errors, error FROM ("
	    "SELECT * FROM runs WHERE ?1 IS NULL OR job = ?1 ORDER BY started DESC, id DESC "
	    "LIMIT ?2) ORDER BY started, id", &st, what)) != 0)
		return r;
	if ((rc = job != NULL ? sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC) :
	    sqlite3_bind_null(st, 1)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, limit == 0 || limit > INT64_MAX ? -1 :
	    (sqlite3_int64)limit)) != SQLITE_OK) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = read_run(c, st, &run)) != 0 || (r = cb(arg, &run)) != 0)
			goto out;
	}
	r = rc == SQLITE_DONE ? 0 : catalog_error(c, rc, what);
out:
	sqlite3_finalize(st);
	return r;
}
