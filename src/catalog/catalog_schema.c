/*
 * catalog_schema.c: the integrity check, schema migrations and the
 * repository id check done at open.
 *
 * The schema version lives in PRAGMA user_version.  migrations[v] takes a
 * catalog from version v to v + 1; each runs in its own transaction together
 * with the user_version update.  To change the schema: append a migration
 * and raise DSB_CATALOG_SCHEMA_VERSION in catalog.h.  Never edit a migration
 * that has shipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsbackup/catalog.h"
#include "dsbackup/error.h"
#include "dsbackup/util.h"

#include "catalog_internal.h"

static const char *const migrations[] = {
	/* 0 -> 1: everything. */
	"CREATE TABLE meta("
	"  key TEXT PRIMARY KEY NOT NULL,"
	"  value TEXT NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE packs("
	"  id BLOB PRIMARY KEY NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  key_id BLOB NOT NULL,"
	"  salt BLOB NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE blobs("
	"  id BLOB PRIMARY KEY NOT NULL,"
	"  pack BLOB NOT NULL,"
	"  offset INTEGER NOT NULL,"
	"  stored_len INTEGER NOT NULL,"
	"  raw_len INTEGER NOT NULL,"
	"  type INTEGER NOT NULL,"
	"  comp INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX blobs_by_pack ON blobs(pack, offset);"
	"CREATE TABLE index_objects("
	"  id TEXT PRIMARY KEY NOT NULL"
	") WITHOUT ROWID;"
	/* A rowid table: the JSON may be too large a row for WITHOUT ROWID. */
	"CREATE TABLE snapshots("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  time_sec INTEGER NOT NULL,"
	"  time_nsec INTEGER NOT NULL,"
	"  host TEXT NOT NULL,"
	"  json TEXT NOT NULL,"
	"  listed INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX snapshots_by_time ON snapshots(time_sec, time_nsec, id);"
	/* path: the bytes of the path, bound as TEXT; compared with memcmp (BINARY). */
	"CREATE TABLE files("
	"  snapshot TEXT NOT NULL,"
	"  path TEXT NOT NULL,"
	"  type INTEGER NOT NULL,"
	"  mode INTEGER NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  mtime INTEGER NOT NULL,"
	"  PRIMARY KEY(snapshot, path)"
	") WITHOUT ROWID;",
	/* 1 -> 2: run history (catalog_runs.c). */
	"CREATE TABLE runs("
	"  id INTEGER PRIMARY KEY,"
	"  run_id TEXT NOT NULL,"
	"  job TEXT NOT NULL,"
	"  repository TEXT NOT NULL,"
	"  host TEXT NOT NULL,"
	"  started INTEGER NOT NULL,"
	"  finished INTEGER NOT NULL,"
	"  result INTEGER NOT NULL,"
	"  sources TEXT NOT NULL,"
	"  snapshots TEXT NOT NULL,"
	"  files INTEGER NOT NULL,"
	"  bytes_read INTEGER NOT NULL,"
	"  bytes_added INTEGER NOT NULL,"
	"  errors INTEGER NOT NULL,"
	"  error TEXT NOT NULL"
	");"
	"CREATE INDEX runs_by_job ON runs(job, started);",
	/*
	 * 2 -> 3: listings per tree (catalog_files.c) instead of one row per
	 * path and snapshot; the listings are rebuilt lazily.  name: the bytes
	 * of one path component, bound as TEXT (BINARY, memcmp order); subtree:
	 * a directory's tree id, else NULL.  A tree is in trees_listed once it
	 * and all its subtrees are in tree_entries; snapshots.tree is the root
	 * of a listed snapshot.
	 */
	"DROP TABLE files;"
	"ALTER TABLE snapshots ADD COLUMN tree BLOB;"
	"UPDATE snapshots SET listed = 0;"
	"CREATE TABLE tree_entries("
	"  tree BLOB NOT NULL,"
	"  name TEXT NOT NULL,"
	"  type INTEGER NOT NULL,"
	"  mode INTEGER NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  mtime INTEGER NOT NULL,"
	"  subtree BLOB,"
	"  PRIMARY KEY(tree, name)"
	") WITHOUT ROWID;"
	"CREATE TABLE trees_listed("
	"  tree BLOB PRIMARY KEY NOT NULL"
	") WITHOUT ROWID;",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == DSB_CATALOG_SCHEMA_VERSION,
    "one migration per schema version");

/* damaged(c, msg): DSB_ERR_CORRUPT with the first problem quick_check found, on one line. */
static int damaged(struct dsb_catalog *c, const char *msg)
{
	char line[256];
	size_t i;

	snprintf(line, sizeof(line), "%s", msg);
	for (i = 0; line[i] != '\0'; i++)
		if (line[i] == '\n' || line[i] == '\r' || line[i] == '\t')
			line[i] = ' ';
	return dsb_error(DSB_ERR_CORRUPT, "catalog %s is damaged: %s", c->path, line);
}

int catalog_check_integrity(struct dsb_catalog *c)
{
	static const char what[] = "checking integrity";
	sqlite3_stmt *st = NULL;
	const char *msg;
	int r = DSB_ERR_INTERNAL, rc;

	if ((r = catalog_prepare(c, "PRAGMA quick_check", &st, what)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = catalog_column_text(c, st, 0, &msg, NULL, what)) != 0)
			goto out;
		if (strcmp(msg, "ok") != 0) {
			r = damaged(c, msg);
			goto out;
		}
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

static int read_user_version(struct dsb_catalog *c, int *version)
{
	static const char what[] = "reading the schema version";
	sqlite3_stmt *st = NULL;
	int64_t v;
	int r = DSB_ERR_INTERNAL, rc;

	if ((r = catalog_prepare(c, "PRAGMA user_version", &st, what)) != 0)
		goto out;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	if ((r = catalog_column_int(c, st, 0, 0, INT32_MAX, &v, what)) != 0)
		goto out;
	*version = (int)v;
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

/* apply_migration(c, from): migrations[from], unless another process got there first. */
static int apply_migration(struct dsb_catalog *c, int from)
{
	char *errmsg = NULL;
	char sql[64];
	int r = DSB_ERR_INTERNAL, rc, version;

	if ((r = catalog_exec(c, "BEGIN IMMEDIATE", NULL, "starting a schema migration")) != 0)
		return r;
	if ((r = read_user_version(c, &version)) != 0)
		goto out;
	if (version != from) {
		r = 0;
		goto out;
	}
	if ((rc = sqlite3_exec(c->db, migrations[from], NULL, NULL, &errmsg)) != SQLITE_OK) {
		r = dsb_error(rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB ? DSB_ERR_CORRUPT :
		    DSB_ERR_CATALOG, "catalog %s: migrating from schema version %d: %s", c->path,
		    from, errmsg != NULL ? errmsg : sqlite3_errstr(rc));
		goto out;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", from + 1);
	if ((r = catalog_exec(c, sql, NULL, "setting the schema version")) != 0)
		goto out;
	r = catalog_exec(c, "COMMIT", NULL, "committing a schema migration");
out:
	sqlite3_free(errmsg);
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

int catalog_migrate(struct dsb_catalog *c)
{
	int r = DSB_ERR_INTERNAL, version;

	/* Reading first: an up-to-date catalog opens without taking the write lock. */
	for (;;) {
		if ((r = read_user_version(c, &version)) != 0)
			return r;
		if (version > DSB_CATALOG_SCHEMA_VERSION)
			return dsb_error(DSB_ERR_CORRUPT, "catalog %s has schema version %d, newer "
			    "than this dsbackup (%d)", c->path, version, DSB_CATALOG_SCHEMA_VERSION);
		if (version == DSB_CATALOG_SCHEMA_VERSION)
			return 0;
		if ((r = apply_migration(c, version)) != 0)
			return r;
	}
}

/* read_repo_id(c, out): malloc'd value of meta "repo_id"; DSB_ERR_NOT_FOUND (no message) if unset. */
static int read_repo_id(struct dsb_catalog *c, char **out)
{
	static const char what[] = "reading the repository id";
	sqlite3_stmt *st = NULL;
	const char *value;
	int r = DSB_ERR_INTERNAL, rc;

	if ((r = catalog_prepare(c, "SELECT value FROM meta WHERE key = 'repo_id'", &st, what)) != 0)
		goto out;
	if ((rc = sqlite3_step(st)) == SQLITE_DONE) {
		r = DSB_ERR_NOT_FOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	if ((r = catalog_column_text(c, st, 0, &value, NULL, what)) != 0)
		goto out;
	if ((*out = dsb_strdup(value)) == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

int catalog_check_repo_id(struct dsb_catalog *c, const char *repo_id)
{
	char *stored = NULL;
	int r = DSB_ERR_INTERNAL;

	/* Opened without the repository (dsb_catalog_open with NULL): any that has an id. */
	if (repo_id == NULL) {
		r = read_repo_id(c, &stored);
		if (r == DSB_ERR_NOT_FOUND)
			r = dsb_error(DSB_ERR_NOT_FOUND, "catalog %s belongs to no repository yet",
			    c->path);
		goto out;
	}
	/* Only a new catalog writes here; two processes creating one race harmlessly. */
	if ((r = read_repo_id(c, &stored)) == DSB_ERR_NOT_FOUND) {
		if ((r = catalog_exec(c, "INSERT OR IGNORE INTO meta(key, value) "
		    "VALUES('repo_id', ?1)", repo_id, "recording the repository id")) != 0)
			goto out;
		r = read_repo_id(c, &stored);
		if (r == DSB_ERR_NOT_FOUND)
			r = dsb_error(DSB_ERR_INTERNAL, "catalog %s: repository id not recorded", c->path);
	}
	if (r != 0)
		goto out;
	if (strcmp(stored, repo_id) != 0) {
		r = dsb_error(DSB_ERR_CORRUPT, "catalog %s belongs to repository %s, not %s",
		    c->path, stored, repo_id);
		goto out;
	}
	r = 0;
out:
	free(stored);
	return r;
}
