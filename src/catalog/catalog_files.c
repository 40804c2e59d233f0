/* catalog_files.c: each snapshot's file listing, for "ls" and "find" without the repository. */
#include <string.h>

#include "dsbackup/catalog.h"
#include "dsbackup/error.h"

#include "catalog_internal.h"

int dsb_catalog_add_file(struct dsb_catalog *c, const char *snapshot_id,
    const struct dsb_catalog_file *f)
{
	static const char what[] = "inserting file";
	sqlite3_stmt *st = c->stmt[CST_ADD_FILE];
	size_t n = strlen(f->path);
	int rc;

	if (f->size > INT64_MAX || n > INT32_MAX)
		return dsb_error(DSB_ERR_LIMIT, "catalog %s: file %.200s too large", c->path, f->path);
	if ((rc = sqlite3_bind_text(st, 1, snapshot_id, -1, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 2, f->path, (int)n, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 3, f->type)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 4, f->mode)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 5, (sqlite3_int64)f->size)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 6, f->mtime)) != SQLITE_OK)
		return catalog_bind_error(c, st, rc, what);
	return catalog_step_done(c, st, what);
}

/* row_to_file(c, st, f): path, type, mode, size, mtime; the path points into ${st}. */
static int row_to_file(struct dsb_catalog *c, sqlite3_stmt *st, struct dsb_catalog_file *f,
    const char *what)
{
	int64_t type, mode, size;
	int r = DSB_ERR_INTERNAL;

	if ((r = catalog_column_text(c, st, 0, &f->path, NULL, what)) != 0 ||
	    (r = catalog_column_int(c, st, 1, INT32_MIN, INT32_MAX, &type, what)) != 0 ||
	    (r = catalog_column_int(c, st, 2, 0, UINT32_MAX, &mode, what)) != 0 ||
	    (r = catalog_column_int(c, st, 3, 0, INT64_MAX, &size, what)) != 0 ||
	    (r = catalog_column_int(c, st, 4, INT64_MIN, INT64_MAX, &f->mtime, what)) != 0)
		return r;
	f->type = (int)type;
	f->mode = (uint32_t)mode;
	f->size = (uint64_t)size;
	return 0;
}

/*
 * prefix_length(prefix): the length of ${prefix} without trailing slashes;
 * 0 when it selects everything (NULL, "" or "/").
 */
static size_t prefix_length(const char *prefix)
{
	size_t n = prefix != NULL ? strlen(prefix) : 0;

	while (n > 0 && prefix[n - 1] == '/')
		n--;
	return n;
}

/*
 * prepare_listing(c, snapshot_id, prefix, n, st): the row equal to the
 * prefix, then those in ["prefix/", "prefix0"): '0' follows '/' in byte
 * order, so that is exactly what lies below "prefix/".  Both halves are
 * ranges of the primary key, and SQLite merges them in path order without
 * sorting (an OR in one WHERE would scan the whole snapshot instead).
 */
static int prepare_listing(struct dsb_catalog *c, const char *snapshot_id, const char *prefix,
    size_t n, sqlite3_stmt **st, const char *what)
{
	static const char all[] = "SELECT path, type, mode, size, mtime FROM files "
	    "WHERE snapshot = ?1 ORDER BY path";
	static const char below[] = "SELECT path, type, mode, size, mtime FROM files "
	    "WHERE snapshot = ?1 AND path = ?2 "
	    "UNION ALL SELECT path, type, mode, size, mtime FROM files "
	    "WHERE snapshot = ?1 AND path >= (?2 || '/') AND path < (?2 || '0') "
	    "ORDER BY path";
	int r = DSB_ERR_INTERNAL, rc;

	if (n > INT32_MAX)
		return dsb_error(DSB_ERR_LIMIT, "catalog %s: path prefix too long", c->path);
	if ((r = catalog_prepare(c, n == 0 ? all : below, st, what)) != 0)
		return r;
	if ((rc = sqlite3_bind_text(*st, 1, snapshot_id, -1, SQLITE_STATIC)) != SQLITE_OK ||
	    (n > 0 && (rc = sqlite3_bind_text(*st, 2, prefix, (int)n, SQLITE_STATIC)) != SQLITE_OK))
		return catalog_error(c, rc, what);
	return 0;
}

int dsb_catalog_foreach_file(struct dsb_catalog *c, const char *snapshot_id, const char *prefix,
    int (*cb)(void *arg, const struct dsb_catalog_file *f), void *arg)
{
	static const char what[] = "listing files";
	struct dsb_catalog_file f;
	sqlite3_stmt *st = NULL;
	int r = DSB_ERR_INTERNAL, rc;

	if ((r = prepare_listing(c, snapshot_id, prefix, prefix_length(prefix), &st, what)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = row_to_file(c, st, &f, what)) != 0)
			goto out;
		if ((r = cb(arg, &f)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}
