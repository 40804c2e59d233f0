/*
 * catalog_prune.c: what prune needs from the catalog: clearing and listing
 * the loaded index objects, its working set (live blobs, a state per pack)
 * in temporary tables, and the time a pack was first seen in no index.
 *
 * The temporary tables live in SQLite's temporary storage of this
 * connection (a file, with the usual page cache in front of it), so the
 * working set of a large repository does not have to fit in RAM.  Writing
 * them takes no lock on the catalog itself: other processes sharing the
 * catalog are not held up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsbackup/catalog.h"
#include "dsbackup/error.h"
#include "dsbackup/util.h"

#include "catalog_internal.h"

#define UNINDEXED_KEY_PREFIX "unindexed-pack/"

/* ---- index objects ---- */

int dsb_catalog_begin_read(struct dsb_catalog *c)
{
	int r;

	if ((r = catalog_exec(c, "BEGIN DEFERRED", NULL, "starting a read transaction")) != 0)
		return r;
	/* a deferred transaction takes its snapshot at its first read */
	if ((r = catalog_exec(c, "SELECT count(*) FROM index_objects", NULL,
	    "starting a read transaction")) != 0)
		dsb_catalog_rollback(c);
	return r;
}

int dsb_catalog_clear_index(struct dsb_catalog *c)
{
	static const char *const deletes[] = {
		"DELETE FROM index_objects", "DELETE FROM blobs", "DELETE FROM packs",
	};
	size_t i;
	int r = DSB_ERR_INTERNAL;

	if ((r = catalog_savepoint(c)) != 0)
		return r;
	for (i = 0; i < sizeof(deletes) / sizeof(deletes[0]); i++)
		if ((r = catalog_exec(c, deletes[i], NULL, "clearing the index")) != 0)
			break;
	return catalog_savepoint_end(c, r);
}

int dsb_catalog_foreach_index(struct dsb_catalog *c,
    int (*cb)(void *arg, const char *index_id), void *arg)
{
	static const char what[] = "listing index objects";
	sqlite3_stmt *st = NULL;
	const char *id;
	size_t len;
	int r = DSB_ERR_INTERNAL, rc;

	if ((r = catalog_prepare(c, "SELECT id FROM index_objects ORDER BY id", &st, what)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = catalog_column_text(c, st, 0, &id, &len, what)) != 0)
			goto out;
		if (len != DSB_ID_HEX - 1) {
			r = catalog_corrupt(c, what, "id");
			goto out;
		}
		if ((r = cb(arg, id)) != 0)
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

/* ---- the working set ---- */

struct dsb_catalog_prune {
	struct dsb_catalog *c;
	sqlite3_stmt *mark, *is_live, *set_pack, *get_pack;
};

static const char *const prune_setup[] = {
	"PRAGMA temp_store = FILE",
	"DROP TABLE IF EXISTS temp.prune_live",
	"DROP TABLE IF EXISTS temp.prune_packs",
	"CREATE TEMP TABLE prune_live(id BLOB PRIMARY KEY NOT NULL) WITHOUT ROWID",
	("CREATE TEMP TABLE prune_packs(id BLOB PRIMARY KEY NOT NULL, state INTEGER NOT NULL, "
	 "unindexed INTEGER NOT NULL) WITHOUT ROWID"),
};

int dsb_catalog_prune_new(struct dsb_catalog *c, struct dsb_catalog_prune **out)
{
	static const char what[] = "preparing prune's working set";
	struct dsb_catalog_prune *p;
	size_t i;
	int r = DSB_ERR_INTERNAL;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	p->c = c;
	for (i = 0; i < sizeof(prune_setup) / sizeof(prune_setup[0]); i++)
		if ((r = catalog_exec(c, prune_setup[i], NULL, what)) != 0)
			goto out;
	if ((r = catalog_prepare(c, "INSERT OR IGNORE INTO temp.prune_live(id) VALUES(?1)",
	    &p->mark, what)) != 0 ||
	    (r = catalog_prepare(c, "SELECT 1 FROM temp.prune_live WHERE id = ?1",
	    &p->is_live, what)) != 0 ||
	    (r = catalog_prepare(c, "INSERT OR REPLACE INTO temp.prune_packs(id, state, unindexed) "
	    "VALUES(?1, ?2, ?3)", &p->set_pack, what)) != 0 ||
	    (r = catalog_prepare(c, "SELECT state, unindexed FROM temp.prune_packs WHERE id = ?1",
	    &p->get_pack, what)) != 0)
		goto out;
	*out = p;
	p = NULL;
	r = 0;
out:
	dsb_catalog_prune_free(p);
	return r;
}

void dsb_catalog_prune_free(struct dsb_catalog_prune *p)
{
	if (p == NULL)
		return;
	sqlite3_finalize(p->mark);
	sqlite3_finalize(p->is_live);
	sqlite3_finalize(p->set_pack);
	sqlite3_finalize(p->get_pack);
	/* best effort: the tables go with the connection anyway */
	sqlite3_exec(p->c->db, "DROP TABLE IF EXISTS temp.prune_live", NULL, NULL, NULL);
	sqlite3_exec(p->c->db, "DROP TABLE IF EXISTS temp.prune_packs", NULL, NULL, NULL);
	free(p);
}

int dsb_catalog_prune_mark_live(struct dsb_catalog_prune *p, const uint8_t id[32])
{
	static const char what[] = "marking a blob live";
	int rc, r;

	if ((rc = sqlite3_bind_blob(p->mark, 1, id, DSB_ID_LEN, SQLITE_STATIC)) != SQLITE_OK)
		return catalog_bind_error(p->c, p->mark, rc, what);
	if ((r = catalog_step_done(p->c, p->mark, what)) != 0)
		return r;
	return sqlite3_changes(p->c->db) > 0 ? 1 : 0;
}

int dsb_catalog_prune_is_live(struct dsb_catalog_prune *p, const uint8_t id[32])
{
	static const char what[] = "looking up a live blob";
	int rc, r;

	if ((rc = sqlite3_bind_blob(p->is_live, 1, id, DSB_ID_LEN, SQLITE_STATIC)) != SQLITE_OK)
		return catalog_bind_error(p->c, p->is_live, rc, what);
	rc = sqlite3_step(p->is_live);
	if (rc == SQLITE_ROW)
		r = 1;
	else if (rc == SQLITE_DONE)
		r = 0;
	else
		r = catalog_error(p->c, rc, what);
	catalog_reset(p->is_live);
	return r;
}

int dsb_catalog_prune_missing(struct dsb_catalog_prune *p, uint64_t *n, uint8_t example[32])
{
	static const char what[] = "looking for live blobs the index lacks";
	sqlite3_stmt *st = NULL;
	int64_t count;
	int r = DSB_ERR_INTERNAL, rc;

	*n = 0;
	if ((r = catalog_prepare(p->c, "SELECT count(*), min(l.id) FROM temp.prune_live l "
	    "WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = l.id)", &st, what)) != 0)
		goto out;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = catalog_error(p->c, rc, what);
		goto out;
	}
	if ((r = catalog_column_int(p->c, st, 0, 0, INT64_MAX, &count, what)) != 0)
		goto out;
	if (count > 0 && (r = catalog_column_blob(p->c, st, 1, example, DSB_ID_LEN, what)) != 0)
		goto out;
	*n = (uint64_t)count;
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

int dsb_catalog_prune_foreach_usage(struct dsb_catalog_prune *p,
    int (*cb)(void *arg, const struct dsb_catalog_pack_usage *u), void *arg)
{
	static const char what[] = "measuring pack usage";
	struct dsb_catalog_pack_usage u;
	sqlite3_stmt *st = NULL;
	int64_t v[6];
	int r = DSB_ERR_INTERNAL, rc, i;

	/* blobs is indexed by (pack, offset), prune_live by id: one pass over the packs */
	if ((r = catalog_prepare(p->c, "SELECT p.id, p.key_id, p.salt, p.size, "
	    "count(b.id), coalesce(sum(b.stored_len), 0), count(l.id), "
	    "coalesce(sum(CASE WHEN l.id IS NULL THEN 0 ELSE b.stored_len END), 0) "
	    "FROM packs p LEFT JOIN blobs b ON b.pack = p.id "
	    "LEFT JOIN temp.prune_live l ON l.id = b.id GROUP BY p.id ORDER BY p.id",
	    &st, what)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&u, 0, sizeof(u));
		if ((r = catalog_column_blob(p->c, st, 0, u.pack.id, DSB_ID_LEN, what)) != 0 ||
		    (r = catalog_column_blob(p->c, st, 1, u.pack.key_id, sizeof(u.pack.key_id),
		    what)) != 0 ||
		    (r = catalog_column_blob(p->c, st, 2, u.pack.salt, sizeof(u.pack.salt), what)) != 0)
			goto out;
		for (i = 0; i < 5; i++)
			if ((r = catalog_column_int(p->c, st, 3 + i, 0, INT64_MAX, &v[i], what)) != 0)
				goto out;
		u.pack.size = (uint64_t)v[0];
		u.blobs = (uint64_t)v[1];
		u.stored_bytes = (uint64_t)v[2];
		u.live_blobs = (uint64_t)v[3];
		u.live_bytes = (uint64_t)v[4];
		if ((r = cb(arg, &u)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		r = catalog_error(p->c, rc, what);
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

int dsb_catalog_prune_set_pack(struct dsb_catalog_prune *p, const uint8_t id[32], int state,
    int unindexed)
{
	static const char what[] = "recording a pack's state";
	sqlite3_stmt *st = p->set_pack;
	int rc;

	if ((rc = sqlite3_bind_blob(st, 1, id, DSB_ID_LEN, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 2, state)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 3, unindexed != 0)) != SQLITE_OK)
		return catalog_bind_error(p->c, st, rc, what);
	return catalog_step_done(p->c, st, what);
}

int dsb_catalog_prune_get_pack(struct dsb_catalog_prune *p, const uint8_t id[32], int *state,
    int *unindexed)
{
	static const char what[] = "looking up a pack's state";
	sqlite3_stmt *st = p->get_pack;
	int64_t s, u;
	int r = DSB_ERR_INTERNAL, rc;

	if ((rc = sqlite3_bind_blob(st, 1, id, DSB_ID_LEN, SQLITE_STATIC)) != SQLITE_OK)
		return catalog_bind_error(p->c, st, rc, what);
	if ((rc = sqlite3_step(st)) == SQLITE_DONE) {
		r = DSB_ERR_NOT_FOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = catalog_error(p->c, rc, what);
		goto out;
	}
	if ((r = catalog_column_int(p->c, st, 0, INT32_MIN, INT32_MAX, &s, what)) != 0 ||
	    (r = catalog_column_int(p->c, st, 1, 0, 1, &u, what)) != 0)
		goto out;
	*state = (int)s;
	if (unindexed != NULL)
		*unindexed = (int)u;
	r = 0;
out:
	catalog_reset(st);
	return r;
}

int dsb_catalog_prune_foreach_pack(struct dsb_catalog_prune *p, int state,
    int (*cb)(void *arg, const uint8_t id[32], int unindexed), void *arg)
{
	static const char what[] = "listing packs by state";
	sqlite3_stmt *st = NULL;
	uint8_t id[DSB_ID_LEN];
	int64_t u;
	int r = DSB_ERR_INTERNAL, rc;

	if ((r = catalog_prepare(p->c, "SELECT id, unindexed FROM temp.prune_packs WHERE state = ?1 "
	    "ORDER BY id", &st, what)) != 0)
		goto out;
	if ((rc = sqlite3_bind_int(st, 1, state)) != SQLITE_OK) {
		r = catalog_error(p->c, rc, what);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = catalog_column_blob(p->c, st, 0, id, DSB_ID_LEN, what)) != 0 ||
		    (r = catalog_column_int(p->c, st, 1, 0, 1, &u, what)) != 0)
			goto out;
		if ((r = cb(arg, id, (int)u)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		r = catalog_error(p->c, rc, what);
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

/* ---- when packs were first seen in no index ---- */

static void unindexed_key(const uint8_t pack[32], char key[sizeof(UNINDEXED_KEY_PREFIX) + 64])
{
	char hex[DSB_ID_HEX];

	dsb_hex_encode(pack, DSB_ID_LEN, hex);
	snprintf(key, sizeof(UNINDEXED_KEY_PREFIX) + 64, "%s%s", UNINDEXED_KEY_PREFIX, hex);
}

int dsb_catalog_unindexed_since(struct dsb_catalog *c, const uint8_t pack[32], int64_t now,
    int64_t *since)
{
	static const char what[] = "recording an unindexed pack";
	char key[sizeof(UNINDEXED_KEY_PREFIX) + 64], value[32];
	sqlite3_stmt *st = NULL;
	const char *text;
	char *end;
	long long v;
	int r = DSB_ERR_INTERNAL, rc;

	unindexed_key(pack, key);
	snprintf(value, sizeof(value), "%lld", (long long)now);
	if ((r = catalog_prepare(c, "INSERT OR IGNORE INTO meta(key, value) VALUES(?1, ?2)",
	    &st, what)) != 0)
		goto out;
	if ((rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((r = catalog_prepare(c, "SELECT value FROM meta WHERE key = ?1", &st, what)) != 0)
		goto out;
	if ((rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	if ((r = catalog_column_text(c, st, 0, &text, NULL, what)) != 0)
		goto out;
	v = strtoll(text, &end, 10);
	if (end == text || *end != '\0' || v < 0) {
		r = catalog_corrupt(c, what, "value");
		goto out;
	}
	*since = v;
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

int dsb_catalog_unindexed_forget(struct dsb_catalog *c, const uint8_t pack[32])
{
	char key[sizeof(UNINDEXED_KEY_PREFIX) + 64];

	unindexed_key(pack, key);
	return catalog_exec(c, "DELETE FROM meta WHERE key = ?1", key, "forgetting an unindexed pack");
}

int dsb_catalog_prune_forget_unindexed(struct dsb_catalog_prune *p)
{
	return catalog_exec(p->c, "DELETE FROM meta WHERE substr(key, 1, 15) = ?1 AND "
	    "substr(key, 16) NOT IN (SELECT lower(hex(id)) FROM temp.prune_packs WHERE unindexed = 1)",
	    UNINDEXED_KEY_PREFIX, "forgetting unindexed packs");
}
