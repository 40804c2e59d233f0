/* catalog.c: opening and closing the catalog, transactions, shared helpers. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dsbackup/catalog.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"

#include "catalog_internal.h"

#define CATALOG_BUSY_TIMEOUT_MS 30000
#define CATALOG_CACHE_KIB "32768"   /* SQLite page cache, KiB (PRAGMA cache_size) */
#define CATALOG_CHECK_CACHE_KIB "1024"   /* the same, during the integrity check at open */

static const char *const stmt_sql[CST_COUNT] = {
	[CST_BEGIN] = "BEGIN IMMEDIATE",
	[CST_COMMIT] = "COMMIT",
	[CST_ROLLBACK] = "ROLLBACK",
	[CST_ADD_PACK] = "INSERT OR REPLACE INTO packs(id, size, key_id, salt) VALUES(?1, ?2, ?3, ?4)",
	[CST_GET_PACK] = "SELECT size, key_id, salt FROM packs WHERE id = ?1",
	[CST_ADD_BLOB] = "INSERT OR IGNORE INTO blobs(id, pack, offset, stored_len, raw_len, type, comp) "
	    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[CST_REPLACE_BLOB] = "INSERT OR REPLACE INTO blobs(id, pack, offset, stored_len, raw_len, "
	    "type, comp) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[CST_FIND_BLOB] = "SELECT pack, offset, stored_len, raw_len, type, comp FROM blobs WHERE id = ?1",
	[CST_HAS_INDEX] = "SELECT 1 FROM index_objects WHERE id = ?1",
	[CST_ADD_INDEX] = "INSERT OR IGNORE INTO index_objects(id) VALUES(?1)",
	/* An upsert, not INSERT OR REPLACE, so that "listed" survives. */
	[CST_ADD_SNAPSHOT] = "INSERT INTO snapshots(id, time_sec, time_nsec, host, json) "
	    "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(id) DO UPDATE SET time_sec = excluded.time_sec, "
	    "time_nsec = excluded.time_nsec, host = excluded.host, json = excluded.json",
	[CST_HAS_SNAPSHOT] = "SELECT 1 FROM snapshots WHERE id = ?1",
	[CST_GET_SNAPSHOT_JSON] = "SELECT json FROM snapshots WHERE id = ?1",
	[CST_SET_LISTED] = "UPDATE snapshots SET listed = 1, tree = ?2 WHERE id = ?1",
	[CST_IS_LISTED] = "SELECT listed FROM snapshots WHERE id = ?1",
	[CST_ADD_ENTRY] = "INSERT OR REPLACE INTO tree_entries(tree, name, type, mode, size, mtime, "
	    "subtree) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[CST_TREE_LISTED] = "SELECT 1 FROM trees_listed WHERE tree = ?1",
	[CST_SET_TREE_LISTED] = "INSERT OR IGNORE INTO trees_listed(tree) VALUES(?1)",
	[CST_FIND_ENTRY] = "SELECT subtree FROM tree_entries WHERE tree = ?1 AND name = ?2",
};

/* ---- helpers shared by the catalog files ---- */

int catalog_error(struct dsb_catalog *c, int rc, const char *what)
{
	int code, sys = 0;

	switch (rc & 0xff) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		code = DSB_ERR_CORRUPT;
		break;
	case SQLITE_NOMEM:
		code = DSB_ERR_NOMEM;
		break;
	case SQLITE_FULL:
		code = DSB_ERR_NOSPACE;
		break;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		/* SQLite says "disk I/O error" when its WAL or shm file cannot grow: say why */
		sys = c->db != NULL ? sqlite3_system_errno(c->db) : 0;
		code = sys == ENOSPC || sys == EDQUOT ? DSB_ERR_NOSPACE : DSB_ERR_CATALOG;
		break;
	default:
		code = DSB_ERR_CATALOG;
		break;
	}
	return dsb_error(code, "catalog %s: %s: %s%s", c->path, what,
	    c->db != NULL ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc),
	    code == DSB_ERR_NOSPACE ? " (no space left on device)" : "");
}

int catalog_corrupt(struct dsb_catalog *c, const char *what, const char *column)
{
	return dsb_error(DSB_ERR_CORRUPT, "catalog %s: %s: bad value in column %s",
	    c->path, what, column != NULL ? column : "?");
}

void catalog_reset(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int catalog_step_done(struct dsb_catalog *c, sqlite3_stmt *st, const char *what)
{
	int rc, r = 0;

	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = catalog_error(c, rc, what);
	catalog_reset(st);
	return r;
}

int catalog_bind_error(struct dsb_catalog *c, sqlite3_stmt *st, int rc, const char *what)
{
	int r = catalog_error(c, rc, what);

	catalog_reset(st);
	return r;
}

int catalog_step_row(struct dsb_catalog *c, sqlite3_stmt *st, const char *what)
{
	int r = DSB_ERR_INTERNAL, rc;

	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		return 1;
	r = rc == SQLITE_DONE ? 0 : catalog_error(c, rc, what);
	catalog_reset(st);
	return r;
}

int catalog_exists(struct dsb_catalog *c, enum catalog_stmt which, const char *key, const char *what)
{
	sqlite3_stmt *st = c->stmt[which];
	int r = DSB_ERR_INTERNAL, rc;

	if ((rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC)) != SQLITE_OK)
		return catalog_bind_error(c, st, rc, what);
	if ((r = catalog_step_row(c, st, what)) == 1)
		catalog_reset(st);
	return r;
}

int catalog_prepare(struct dsb_catalog *c, const char *sql, sqlite3_stmt **st, const char *what)
{
	int rc;

	*st = NULL;
	if ((rc = sqlite3_prepare_v2(c->db, sql, -1, st, NULL)) != SQLITE_OK)
		return catalog_error(c, rc, what);
	return 0;
}

int catalog_exec(struct dsb_catalog *c, const char *sql, const char *param, const char *what)
{
	sqlite3_stmt *st = NULL;
	int r = DSB_ERR_INTERNAL, rc;

	if ((r = catalog_prepare(c, sql, &st, what)) != 0)
		goto out;
	if (param != NULL &&
	    (rc = sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC)) != SQLITE_OK) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	if ((rc = sqlite3_step(st)) != SQLITE_DONE && rc != SQLITE_ROW) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

int catalog_savepoint(struct dsb_catalog *c)
{
	return catalog_exec(c, "SAVEPOINT dsb_catalog_op", NULL, "starting a savepoint");
}

int catalog_savepoint_end(struct dsb_catalog *c, int r)
{
	if (r == 0 && (r = catalog_exec(c, "RELEASE dsb_catalog_op", NULL,
	    "releasing a savepoint")) == 0)
		return 0;
	/*
	 * Best effort: if SQLite already rolled the whole transaction back,
	 * the savepoint is gone and these fail harmlessly.  Keep the first
	 * error message.
	 */
	sqlite3_exec(c->db, "ROLLBACK TO dsb_catalog_op", NULL, NULL, NULL);
	sqlite3_exec(c->db, "RELEASE dsb_catalog_op", NULL, NULL, NULL);
	return r;
}

int catalog_column_blob(struct dsb_catalog *c, sqlite3_stmt *st, int col,
    void *out, size_t len, const char *what)
{
	const void *p;

	if (sqlite3_column_type(st, col) != SQLITE_BLOB)
		return catalog_corrupt(c, what, sqlite3_column_name(st, col));
	p = sqlite3_column_blob(st, col);
	if (p == NULL || (size_t)sqlite3_column_bytes(st, col) != len)
		return catalog_corrupt(c, what, sqlite3_column_name(st, col));
	memcpy(out, p, len);
	return 0;
}

int catalog_column_int(struct dsb_catalog *c, sqlite3_stmt *st, int col,
    int64_t min, int64_t max, int64_t *out, const char *what)
{
	sqlite3_int64 v;

	if (sqlite3_column_type(st, col) != SQLITE_INTEGER)
		return catalog_corrupt(c, what, sqlite3_column_name(st, col));
	v = sqlite3_column_int64(st, col);
	if (v < min || v > max)
		return catalog_corrupt(c, what, sqlite3_column_name(st, col));
	*out = v;
	return 0;
}

int catalog_column_text(struct dsb_catalog *c, sqlite3_stmt *st, int col,
    const char **out, size_t *len, const char *what)
{
	const unsigned char *p;

	if (sqlite3_column_type(st, col) != SQLITE_TEXT)
		return catalog_corrupt(c, what, sqlite3_column_name(st, col));
	if ((p = sqlite3_column_text(st, col)) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "catalog %s: %s: out of memory", c->path, what);
	*out = (const char *)p;
	if (len != NULL)
		*len = (size_t)sqlite3_column_bytes(st, col);
	return 0;
}

/* ---- open and close ---- */

/* create_file(path): parent directories 0700, the file itself 0600 before SQLite opens it. */
static int create_file(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = NULL;
	struct stat st;
	int fd = -1, r = DSB_ERR_INTERNAL;

	if (slash != NULL && slash != path) {
		if ((dir = strndup(path, (size_t)(slash - path))) == NULL) {
			r = dsb_error(DSB_ERR_NOMEM, "out of memory");
			goto out;
		}
		if ((r = dsb_mkdir_p(dir, 0700)) != 0)
			goto out;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		r = dsb_error_errno(errno == ENOSPC ? DSB_ERR_NOSPACE : DSB_ERR_IO, errno,
		    "opening catalog %s", path);
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		r = dsb_error_errno(DSB_ERR_IO, errno, "stat %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = dsb_error(DSB_ERR_IO, "catalog %s is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) != 0) {
		r = dsb_error_errno(DSB_ERR_IO, errno, "chmod 0600 %s", path);
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	free(dir);
	return r;
}

/* set_journal_mode(c): WAL, so that readers and one writer work at the same time. */
static int set_journal_mode(struct dsb_catalog *c)
{
	static const char what[] = "enabling WAL mode";
	sqlite3_stmt *st = NULL;
	const char *mode;
	int r = DSB_ERR_INTERNAL, rc;

	if ((r = catalog_prepare(c, "PRAGMA journal_mode = WAL", &st, what)) != 0)
		goto out;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	if ((r = catalog_column_text(c, st, 0, &mode, NULL, what)) != 0)
		goto out;
	if (strcmp(mode, "wal") != 0)
		dsb_warn("catalog %s: journal mode is %s, not wal: other dsbackup processes "
		    "will wait for this one", c->path, mode);
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

static int open_db(struct dsb_catalog *c)
{
	const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
	int r = DSB_ERR_INTERNAL, rc;

	if ((rc = sqlite3_open_v2(c->path, &c->db, flags, NULL)) != SQLITE_OK)
		return catalog_error(c, rc, "opening");
	if ((rc = sqlite3_busy_timeout(c->db, CATALOG_BUSY_TIMEOUT_MS)) != SQLITE_OK)
		return catalog_error(c, rc, "setting the busy timeout");
	if ((r = set_journal_mode(c)) != 0)
		return r;
	if ((r = catalog_exec(c, "PRAGMA synchronous = NORMAL", NULL, "setting synchronous")) != 0)
		return r;
	/* the integrity check reads every page: through a small cache, so they are not all kept */
	if ((r = catalog_exec(c, "PRAGMA cache_size = -" CATALOG_CHECK_CACHE_KIB, NULL,
	    "setting the page cache size")) != 0)
		return r;
	return catalog_exec(c, "PRAGMA foreign_keys = ON", NULL, "enabling foreign keys");
}

static int prepare_statements(struct dsb_catalog *c)
{
	size_t i;
	int rc;

	for (i = 0; i < CST_COUNT; i++) {
		rc = sqlite3_prepare_v3(c->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		    &c->stmt[i], NULL);
		if (rc != SQLITE_OK)
			return catalog_error(c, rc, "preparing statements");
	}
	return 0;
}

int dsb_catalog_open(const char *path, const char *repo_id, struct dsb_catalog **out)
{
	struct dsb_catalog *c = NULL;
	int r = DSB_ERR_INTERNAL;

	*out = NULL;
	if (path == NULL || *path == '\0' || (repo_id != NULL && *repo_id == '\0'))
		return dsb_error(DSB_ERR_INTERNAL, "opening the catalog: no path or repository id");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	if ((c->path = dsb_strdup(path)) == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	if ((r = create_file(path)) != 0)
		goto out;
	if ((r = open_db(c)) != 0)
		goto out;
	if ((r = catalog_check_integrity(c)) != 0)
		goto out;
	/*
	 * Blob lookups by id land on random pages of the index: with SQLite's
	 * default 2 MiB page cache, a backup re-reads most of them from the file.
	 * The cache grows only as pages are read.
	 */
	if ((r = catalog_exec(c, "PRAGMA cache_size = -" CATALOG_CACHE_KIB, NULL,
	    "setting the page cache size")) != 0)
		goto out;
	if ((r = catalog_migrate(c)) != 0)
		goto out;
	if ((r = catalog_check_repo_id(c, repo_id)) != 0)
		goto out;
	if ((r = prepare_statements(c)) != 0)
		goto out;
	*out = c;
	c = NULL;
	r = 0;
out:
	dsb_catalog_close(c);
	return r;
}

void dsb_catalog_close(struct dsb_catalog *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CST_COUNT; i++)
		sqlite3_finalize(c->stmt[i]);
	/* close_v2 rolls back an open transaction and never leaves the handle half-open. */
	if (c->db != NULL && sqlite3_close_v2(c->db) != SQLITE_OK)
		dsb_warn("catalog %s: closing: %s", c->path, sqlite3_errmsg(c->db));
	free(c->path);
	free(c);
}

/* ---- transactions ---- */

int dsb_catalog_begin(struct dsb_catalog *c)
{
	return catalog_step_done(c, c->stmt[CST_BEGIN], "starting a transaction");
}

int dsb_catalog_commit(struct dsb_catalog *c)
{
	return catalog_step_done(c, c->stmt[CST_COMMIT], "committing");
}

void dsb_catalog_rollback(struct dsb_catalog *c)
{
	sqlite3_stmt *st;
	int rc;

	/* SQLite rolls back by itself after some errors: nothing left to do then. */
	if (c == NULL || sqlite3_get_autocommit(c->db))
		return;
	st = c->stmt[CST_ROLLBACK];
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		dsb_warn("catalog %s: rolling back: %s", c->path, sqlite3_errmsg(c->db));
	catalog_reset(st);
}

int dsb_catalog_clear(struct dsb_catalog *c)
{
	static const char *const deletes[] = {
		"DELETE FROM tree_entries", "DELETE FROM trees_listed", "DELETE FROM snapshots", "DELETE FROM index_objects",
		"DELETE FROM blobs", "DELETE FROM packs",
	};
	size_t i;
	int r = DSB_ERR_INTERNAL;

	if ((r = catalog_savepoint(c)) != 0)
		return r;
	for (i = 0; i < sizeof(deletes) / sizeof(deletes[0]); i++)
		if ((r = catalog_exec(c, deletes[i], NULL, "clearing the catalog")) != 0)
			goto out;
	r = 0;
out:
	return catalog_savepoint_end(c, r);
}
