/* catalog_snapshot.c: snapshots, and resolving "latest" or an id prefix to a full id. */
#include <ctype.h>
#include <string.h>

#include "dsbackup/catalog.h"
#include "dsbackup/error.h"
#include "dsbackup/util.h"

#include "catalog_internal.h"

#define SNAPSHOT_ID_LEN 64
#define SNAPSHOT_PREFIX_MIN 8

/* is_snapshot_id(s, n): ${n} == 64 lower-case hex digits, as dsb_hex_encode writes them. */
static int is_snapshot_id(const char *s, size_t n)
{
	size_t i;

	if (n != SNAPSHOT_ID_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int dsb_catalog_add_snapshot(struct dsb_catalog *c, const struct dsb_catalog_snapshot *s)
{
	static const char what[] = "inserting snapshot";
	sqlite3_stmt *st = c->stmt[CST_ADD_SNAPSHOT];
	int rc;

	if (s->id == NULL || !is_snapshot_id(s->id, strlen(s->id)))
		return dsb_error(DSB_ERR_CORRUPT, "catalog %s: invalid snapshot id \"%.80s\"",
		    c->path, s->id != NULL ? s->id : "(null)");
	if (s->time_nsec < 0 || s->time_nsec > 999999999 || s->json == NULL)
		return dsb_error(DSB_ERR_CORRUPT, "catalog %s: invalid snapshot %s", c->path, s->id);
	if ((rc = sqlite3_bind_text(st, 1, s->id, SNAPSHOT_ID_LEN, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, s->time_sec)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 3, s->time_nsec)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 4, s->host != NULL ? s->host : "", -1,
	    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 5, s->json, -1, SQLITE_STATIC)) != SQLITE_OK)
		return catalog_bind_error(c, st, rc, what);
	return catalog_step_done(c, st, what);
}

int dsb_catalog_remove_snapshots(struct dsb_catalog *c, const char *const *ids, size_t n)
{
	size_t i;
	int r = DSB_ERR_INTERNAL;

	if (n == 0)
		return 0;
	if ((r = catalog_savepoint(c)) != 0)
		return r;
	for (i = 0; i < n; i++)
		if ((r = catalog_exec(c, "DELETE FROM snapshots WHERE id = ?1", ids[i],
		    "removing a snapshot")) != 0)
			goto out;
	if ((r = catalog_sweep_trees(c)) != 0)
		goto out;
	r = 0;
out:
	return catalog_savepoint_end(c, r);
}

int dsb_catalog_remove_snapshot(struct dsb_catalog *c, const char *id)
{
	return dsb_catalog_remove_snapshots(c, &id, 1);
}
int dsb_catalog_has_snapshot(struct dsb_catalog *c, const char *id)
{
	return catalog_exists(c, CST_HAS_SNAPSHOT, id, "looking up snapshot");
}

/* row_to_snapshot(c, st, s): id, time_sec, time_nsec, host, json; strings point into ${st}. */
static int row_to_snapshot(struct dsb_catalog *c, sqlite3_stmt *st,
    struct dsb_catalog_snapshot *s, const char *what)
{
	int64_t nsec;
	size_t n;
	int r = DSB_ERR_INTERNAL;

	if ((r = catalog_column_text(c, st, 0, &s->id, &n, what)) != 0)
		return r;
	if (!is_snapshot_id(s->id, n))
		return catalog_corrupt(c, what, "id");
	if ((r = catalog_column_int(c, st, 1, INT64_MIN, INT64_MAX, &s->time_sec, what)) != 0 ||
	    (r = catalog_column_int(c, st, 2, 0, 999999999, &nsec, what)) != 0 ||
	    (r = catalog_column_text(c, st, 3, &s->host, NULL, what)) != 0 ||
	    (r = catalog_column_text(c, st, 4, &s->json, NULL, what)) != 0)
		return r;
	s->time_nsec = (long)nsec;
	return 0;
}

int dsb_catalog_foreach_snapshot(struct dsb_catalog *c,
    int (*cb)(void *arg, const struct dsb_catalog_snapshot *s), void *arg)
{
	static const char what[] = "listing snapshots";
	struct dsb_catalog_snapshot s;
	sqlite3_stmt *st = NULL;
	int r = DSB_ERR_INTERNAL, rc;

	if ((r = catalog_prepare(c, "SELECT id, time_sec, time_nsec, host, json FROM snapshots "
	    "ORDER BY time_sec, time_nsec, id", &st, what)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = row_to_snapshot(c, st, &s, what)) != 0)
			goto out;
		if ((r = cb(arg, &s)) != 0)
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

/* copy_id(c, st, col, id_out): a full snapshot id from the database, checked. */
static int copy_id(struct dsb_catalog *c, sqlite3_stmt *st, int col, char id_out[65],
    const char *what)
{
	const char *id;
	size_t n;
	int r = DSB_ERR_INTERNAL;

	if ((r = catalog_column_text(c, st, col, &id, &n, what)) != 0)
		return r;
	if (!is_snapshot_id(id, n))
		return catalog_corrupt(c, what, "id");
	memcpy(id_out, id, SNAPSHOT_ID_LEN + 1);
	return 0;
}

static int resolve_latest(struct dsb_catalog *c, char id_out[65])
{
	static const char what[] = "finding the latest snapshot";
	sqlite3_stmt *st = NULL;
	int r = DSB_ERR_INTERNAL, rc;

	if ((r = catalog_prepare(c, "SELECT id FROM snapshots "
	    "ORDER BY time_sec DESC, time_nsec DESC, id DESC LIMIT 1", &st, what)) != 0)
		goto out;
	if ((rc = sqlite3_step(st)) == SQLITE_DONE) {
		r = dsb_error(DSB_ERR_NOT_FOUND, "repository has no snapshots");
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	if ((r = copy_id(c, st, 0, id_out, what)) != 0)
		goto out;
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

/*
 * resolve_prefix(c, prefix, name, id_out): ${prefix} is lower-case hex.
 * Ids are lower-case hex, so those starting with ${prefix} are exactly
 * those in [prefix, prefix || 'g'): a range scan of the primary key.
 */
static int resolve_prefix(struct dsb_catalog *c, const char *prefix, const char *name,
    char id_out[65])
{
	static const char what[] = "resolving a snapshot id";
	sqlite3_stmt *st = NULL;
	int64_t n;
	int r = DSB_ERR_INTERNAL, rc;

	if ((r = catalog_prepare(c, "SELECT count(*), min(id) FROM snapshots "
	    "WHERE id >= ?1 AND id < (?1 || 'g')", &st, what)) != 0)
		goto out;
	if ((rc = sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	if ((r = catalog_column_int(c, st, 0, 0, INT64_MAX, &n, what)) != 0)
		goto out;
	if (n == 0) {
		r = dsb_error(DSB_ERR_NOT_FOUND, "no snapshot matches \"%s\"", name);
		goto out;
	}
	if (n > 1) {
		r = dsb_error(DSB_ERR_USAGE, "snapshot id prefix \"%s\" is ambiguous: it matches "
		    "%lld snapshots", name, (long long)n);
		goto out;
	}
	if ((r = copy_id(c, st, 1, id_out, what)) != 0)
		goto out;
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

int dsb_catalog_resolve_snapshot(struct dsb_catalog *c, const char *name, char id_out[65])
{
	char prefix[SNAPSHOT_ID_LEN + 1];
	size_t i, n;

	if (name != NULL && strcmp(name, "latest") == 0)
		return resolve_latest(c, id_out);
	n = name != NULL ? strlen(name) : 0;
	for (i = 0; i < n && isxdigit((unsigned char)name[i]); i++)
		;
	if (n < SNAPSHOT_PREFIX_MIN || i != n)
		return dsb_error(DSB_ERR_USAGE, "invalid snapshot \"%.100s\": expected \"latest\" "
		    "or an id; a snapshot id prefix must have at least 8 hex digits",
		    name != NULL ? name : "");
	if (n > SNAPSHOT_ID_LEN)
		return dsb_error(DSB_ERR_NOT_FOUND, "no snapshot matches \"%.100s\"", name);
	for (i = 0; i < n; i++)
		prefix[i] = (char)tolower((unsigned char)name[i]);
	prefix[n] = '\0';
	return resolve_prefix(c, prefix, name, id_out);
}

int dsb_catalog_get_snapshot_json(struct dsb_catalog *c, const char *id, char **json)
{
	static const char what[] = "reading snapshot";
	sqlite3_stmt *st = c->stmt[CST_GET_SNAPSHOT_JSON];
	const char *text;
	int r = DSB_ERR_INTERNAL, rc;

	*json = NULL;
	if ((rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC)) != SQLITE_OK)
		return catalog_bind_error(c, st, rc, what);
	if ((rc = sqlite3_step(st)) == SQLITE_DONE) {
		r = dsb_error(DSB_ERR_NOT_FOUND, "snapshot %.100s is not in the catalog", id);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	if ((r = catalog_column_text(c, st, 0, &text, NULL, what)) != 0)
		goto out;
	if ((*json = dsb_strdup(text)) == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	r = 0;
out:
	catalog_reset(st);
	return r;
}

int dsb_catalog_set_listed(struct dsb_catalog *c, const char *snapshot_id, const uint8_t tree[32])
{
	static const char what[] = "marking a snapshot listed";
	sqlite3_stmt *st = c->stmt[CST_SET_LISTED];
	int r = DSB_ERR_INTERNAL, rc;

	if ((rc = sqlite3_bind_text(st, 1, snapshot_id, -1, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 2, tree, 32, SQLITE_STATIC)) != SQLITE_OK)
		return catalog_bind_error(c, st, rc, what);
	if ((r = catalog_step_done(c, st, what)) != 0)
		return r;
	if (sqlite3_changes(c->db) == 0)
		return dsb_error(DSB_ERR_NOT_FOUND, "snapshot %.100s is not in the catalog",
		    snapshot_id);
	return 0;
}

int dsb_catalog_is_listed(struct dsb_catalog *c, const char *snapshot_id)
{
	static const char what[] = "reading a snapshot's listing state";
	sqlite3_stmt *st = c->stmt[CST_IS_LISTED];
	int64_t listed = 0;
	int r = DSB_ERR_INTERNAL, rc;

	if ((rc = sqlite3_bind_text(st, 1, snapshot_id, -1, SQLITE_STATIC)) != SQLITE_OK)
		return catalog_bind_error(c, st, rc, what);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = catalog_column_int(c, st, 0, 0, 1, &listed, what);
	else if (rc == SQLITE_DONE)
		r = 0;
	else
		r = catalog_error(c, rc, what);
	catalog_reset(st);
	return r != 0 ? r : (int)listed;
}
