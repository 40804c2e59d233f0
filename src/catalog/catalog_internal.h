/*
 * catalog_internal.h: shared by the files of src/catalog/ only.
 *
 * catalog.c          open, close, transactions, clear, helpers below
 * catalog_schema.c   integrity check, schema migrations, repository id
 * catalog_index.c    packs, blobs, index objects
 * catalog_snapshot.c snapshots and resolving names to ids
 * catalog_files.c    file listings, stored per tree
 * catalog_runs.c     run history of jobs
 */
#ifndef DSB_CATALOG_INTERNAL_H
#define DSB_CATALOG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

/* Statements prepared once at open and reused (see stmt_sql in catalog.c). */
enum catalog_stmt {
	CST_BEGIN,
	CST_COMMIT,
	CST_ROLLBACK,
	CST_ADD_PACK,
	CST_GET_PACK,
	CST_ADD_BLOB,
	CST_REPLACE_BLOB,
	CST_FIND_BLOB,
	CST_HAS_INDEX,
	CST_ADD_INDEX,
	CST_ADD_SNAPSHOT,
	CST_HAS_SNAPSHOT,
	CST_GET_SNAPSHOT_JSON,
	CST_SET_LISTED,
	CST_IS_LISTED,
	CST_ADD_ENTRY,
	CST_TREE_LISTED,
	CST_SET_TREE_LISTED,
	CST_FIND_ENTRY,
	CST_COUNT
};

struct dsb_catalog {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[CST_COUNT];
};

/*
 * catalog_error(c, rc, what): record "catalog PATH: WHAT: sqlite message"
 * and return DSB_ERR_CORRUPT for SQLITE_CORRUPT/SQLITE_NOTADB,
 * DSB_ERR_NOMEM for SQLITE_NOMEM, else DSB_ERR_CATALOG.  Call it before
 * resetting the statement that failed.
 */
int catalog_error(struct dsb_catalog *c, int rc, const char *what);

/* catalog_corrupt(c, what, column): DSB_ERR_CORRUPT, "catalog PATH: WHAT: bad value in column COLUMN". */
int catalog_corrupt(struct dsb_catalog *c, const char *what, const char *column);

/* catalog_reset(st): reset a cached statement and clear its bindings (NULL is fine). */
void catalog_reset(sqlite3_stmt *st);

/* catalog_step_done(c, st, what): step ${st}, expecting SQLITE_DONE; reset it either way. */
int catalog_step_done(struct dsb_catalog *c, sqlite3_stmt *st, const char *what);

/* catalog_bind_error(c, st, rc, what): report a failed bind and reset ${st}. */
int catalog_bind_error(struct dsb_catalog *c, sqlite3_stmt *st, int rc, const char *what);

/*
 * catalog_step_row(c, st, what): step ${st}: 1 with a row to read (reset
 * ${st} after reading it); 0 at the end, or an error, ${st} reset either way.
 */
int catalog_step_row(struct dsb_catalog *c, sqlite3_stmt *st, const char *what);

/*
 * catalog_exists(c, which, key, what): run cached statement ${which} with
 * ${key} bound to ?1: 1 if it returns a row, 0 if not, or an error.
 */
int catalog_exists(struct dsb_catalog *c, enum catalog_stmt which, const char *key, const char *what);

/* catalog_prepare(c, sql, st, what): prepare a one-off statement (finalize it after use). */
int catalog_prepare(struct dsb_catalog *c, const char *sql, sqlite3_stmt **st, const char *what);

/* catalog_exec(c, sql, param, what): run ${sql} once, with ${param} (may be NULL) bound as text to ?1. */
int catalog_exec(struct dsb_catalog *c, const char *sql, const char *param, const char *what);

/*
 * catalog_savepoint(c) / catalog_savepoint_end(c, r): make the writes in
 * between atomic, inside or outside a transaction.  _end releases the
 * savepoint when ${r} is 0, rolls back to it otherwise, and returns ${r} (or
 * the error from releasing).
 */
int catalog_savepoint(struct dsb_catalog *c);
int catalog_savepoint_end(struct dsb_catalog *c, int r);

/*
 * Reading columns: nothing read from the database is trusted.  Each returns
 * 0, or DSB_ERR_CORRUPT when the column has the wrong type, size or range.
 */
int catalog_column_blob(struct dsb_catalog *c, sqlite3_stmt *st, int col,
    void *out, size_t len, const char *what);
int catalog_column_int(struct dsb_catalog *c, sqlite3_stmt *st, int col,
    int64_t min, int64_t max, int64_t *out, const char *what);
/* catalog_column_text: a NUL-terminated TEXT value, valid until the next step or reset. */
int catalog_column_text(struct dsb_catalog *c, sqlite3_stmt *st, int col,
    const char **out, size_t *len, const char *what);

/*
 * catalog_sweep_trees(c): drop the listed trees (catalog_files.c) that no
 * listed snapshot reaches any more.
 */
int catalog_sweep_trees(struct dsb_catalog *c);

/* catalog_check_integrity(c): "PRAGMA quick_check". */
int catalog_check_integrity(struct dsb_catalog *c);

/* catalog_migrate(c): bring the schema to DSB_CATALOG_SCHEMA_VERSION. */
int catalog_migrate(struct dsb_catalog *c);

/* catalog_check_repo_id(c, repo_id): record ${repo_id} in a new catalog, or check it. */
int catalog_check_repo_id(struct dsb_catalog *c, const char *repo_id);

#endif
