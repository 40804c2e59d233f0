/* catalog_index.c: packs, blobs (blob -> pack, offset, lengths) and loaded index objects. */
#include <string.h>

#include "dsbackup/catalog.h"
#include "dsbackup/error.h"
#include "dsbackup/util.h"

#include "catalog_internal.h"

/* ---- packs ---- */

int dsb_catalog_add_pack(struct dsb_catalog *c, const struct dsb_pack_info *pack)
{
	static const char what[] = "inserting pack";
	sqlite3_stmt *st = c->stmt[CST_ADD_PACK];
	int rc;

	if (pack->size > INT64_MAX)
		return dsb_error(DSB_ERR_LIMIT, "catalog %s: pack size %llu too large", c->path,
		    (unsigned long long)pack->size);
	if ((rc = sqlite3_bind_blob(st, 1, pack->id, DSB_ID_LEN, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)pack->size)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 3, pack->key_id, sizeof(pack->key_id),
	    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 4, pack->salt, sizeof(pack->salt),
	    SQLITE_STATIC)) != SQLITE_OK)
		return catalog_bind_error(c, st, rc, what);
	return catalog_step_done(c, st, what);
}

/* row_to_pack(c, st, col, p): size, key_id, salt from columns ${col}... */
static int row_to_pack(struct dsb_catalog *c, sqlite3_stmt *st, int col,
    struct dsb_pack_info *p, const char *what)
{
	int64_t size;
	int r = DSB_ERR_INTERNAL;

	if ((r = catalog_column_int(c, st, col, 0, INT64_MAX, &size, what)) != 0 ||
	    (r = catalog_column_blob(c, st, col + 1, p->key_id, sizeof(p->key_id), what)) != 0 ||
	    (r = catalog_column_blob(c, st, col + 2, p->salt, sizeof(p->salt), what)) != 0)
		return r;
	p->size = (uint64_t)size;
	return 0;
}

int dsb_catalog_get_pack(struct dsb_catalog *c, const uint8_t id[32], struct dsb_pack_info *out)
{
	static const char what[] = "looking up pack";
	sqlite3_stmt *st = c->stmt[CST_GET_PACK];
	struct dsb_pack_info p;
	char hex[DSB_ID_HEX];
	int r = DSB_ERR_INTERNAL, rc;

	if ((rc = sqlite3_bind_blob(st, 1, id, DSB_ID_LEN, SQLITE_STATIC)) != SQLITE_OK)
		return catalog_bind_error(c, st, rc, what);
	if ((rc = sqlite3_step(st)) == SQLITE_DONE) {
		dsb_hex_encode(id, DSB_ID_LEN, hex);
		r = dsb_error(DSB_ERR_NOT_FOUND, "pack %s is not in the catalog", hex);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	if ((r = row_to_pack(c, st, 0, &p, what)) != 0)
		goto out;
	memcpy(p.id, id, DSB_ID_LEN);
	*out = p;
	r = 0;
out:
	catalog_reset(st);
	return r;
}

int dsb_catalog_foreach_pack(struct dsb_catalog *c,
    int (*cb)(void *arg, const struct dsb_pack_info *pack), void *arg)
{
	static const char what[] = "listing packs";
	sqlite3_stmt *st = NULL;
	struct dsb_pack_info p;
	int r = DSB_ERR_INTERNAL, rc;

	/* Prepared per call, so that a callback may start another iteration. */
	if ((r = catalog_prepare(c, "SELECT id, size, key_id, salt FROM packs ORDER BY id",
	    &st, what)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = catalog_column_blob(c, st, 0, p.id, DSB_ID_LEN, what)) != 0 ||
		    (r = row_to_pack(c, st, 1, &p, what)) != 0)
			goto out;
		if ((r = cb(arg, &p)) != 0)
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

/* ---- blobs ---- */

int dsb_catalog_add_blob(struct dsb_catalog *c, const uint8_t id[32], const struct dsb_blob_loc *loc)
{
	return dsb_catalog_put_blob(c, id, loc, 0);
}

int dsb_catalog_put_blob(struct dsb_catalog *c, const uint8_t id[32], const struct dsb_blob_loc *loc,
    int replace)
{
	static const char what[] = "inserting blob";
	sqlite3_stmt *st = c->stmt[replace ? CST_REPLACE_BLOB : CST_ADD_BLOB];
	int rc;

	if (loc->offset > INT64_MAX)
		return dsb_error(DSB_ERR_LIMIT, "catalog %s: blob offset %llu too large", c->path,
		    (unsigned long long)loc->offset);
	if ((rc = sqlite3_bind_blob(st, 1, id, DSB_ID_LEN, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 2, loc->pack, DSB_ID_LEN, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 3, (sqlite3_int64)loc->offset)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 4, loc->stored_len)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 5, loc->raw_len)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 6, loc->type)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 7, loc->comp)) != SQLITE_OK)
		return catalog_bind_error(c, st, rc, what);
	return catalog_step_done(c, st, what);
}

/* row_to_loc(c, st, col, loc): pack, offset, stored_len, raw_len, type, comp from columns ${col}... */
static int row_to_loc(struct dsb_catalog *c, sqlite3_stmt *st, int col,
    struct dsb_blob_loc *loc, const char *what)
{
	int64_t offset, stored_len, raw_len, type, comp;
	int r = DSB_ERR_INTERNAL;

	if ((r = catalog_column_blob(c, st, col, loc->pack, DSB_ID_LEN, what)) != 0 ||
	    (r = catalog_column_int(c, st, col + 1, 0, INT64_MAX, &offset, what)) != 0 ||
	    (r = catalog_column_int(c, st, col + 2, 0, UINT32_MAX, &stored_len, what)) != 0 ||
	    (r = catalog_column_int(c, st, col + 3, 0, UINT32_MAX, &raw_len, what)) != 0 ||
	    (r = catalog_column_int(c, st, col + 4, 0, UINT8_MAX, &type, what)) != 0 ||
	    (r = catalog_column_int(c, st, col + 5, 0, UINT8_MAX, &comp, what)) != 0)
		return r;
	loc->offset = (uint64_t)offset;
	loc->stored_len = (uint32_t)stored_len;
	loc->raw_len = (uint32_t)raw_len;
	loc->type = (uint8_t)type;
	loc->comp = (uint8_t)comp;
	return 0;
}

int dsb_catalog_find_blob(struct dsb_catalog *c, const uint8_t id[32], struct dsb_blob_loc *out)
{
	static const char what[] = "looking up blob";
	sqlite3_stmt *st = c->stmt[CST_FIND_BLOB];
	struct dsb_blob_loc loc;
	char hex[DSB_ID_HEX];
	int r = DSB_ERR_INTERNAL, rc;

	if ((rc = sqlite3_bind_blob(st, 1, id, DSB_ID_LEN, SQLITE_STATIC)) != SQLITE_OK)
		return catalog_bind_error(c, st, rc, what);
	if ((rc = sqlite3_step(st)) == SQLITE_DONE) {
		dsb_hex_encode(id, DSB_ID_LEN, hex);
		r = dsb_error(DSB_ERR_NOT_FOUND, "blob %s is not in the catalog", hex);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	/* Checked even when the caller only asks whether the blob exists. */
	if ((r = row_to_loc(c, st, 0, &loc, what)) != 0)
		goto out;
	if (out != NULL)
		*out = loc;
	r = 0;
out:
	catalog_reset(st);
	return r;
}

int dsb_catalog_foreach_blob_in_pack(struct dsb_catalog *c, const uint8_t pack[32],
    int (*cb)(void *arg, const uint8_t id[32], const struct dsb_blob_loc *loc), void *arg)
{
	static const char what[] = "listing the blobs of a pack";
	sqlite3_stmt *st = NULL;
	struct dsb_blob_loc loc;
	uint8_t id[DSB_ID_LEN];
	int r = DSB_ERR_INTERNAL, rc;

	if ((r = catalog_prepare(c, "SELECT id, pack, offset, stored_len, raw_len, type, comp "
	    "FROM blobs WHERE pack = ?1 ORDER BY offset, id", &st, what)) != 0)
		goto out;
	if ((rc = sqlite3_bind_blob(st, 1, pack, DSB_ID_LEN, SQLITE_STATIC)) != SQLITE_OK) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = catalog_column_blob(c, st, 0, id, DSB_ID_LEN, what)) != 0 ||
		    (r = row_to_loc(c, st, 1, &loc, what)) != 0)
			goto out;
		if ((r = cb(arg, id, &loc)) != 0)
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

static int count_rows(struct dsb_catalog *c, const char *sql, uint64_t *out)
{
	static const char what[] = "counting rows";
	sqlite3_stmt *st = NULL;
	int64_t n;
	int r = DSB_ERR_INTERNAL, rc;

	if ((r = catalog_prepare(c, sql, &st, what)) != 0)
		goto out;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	if ((r = catalog_column_int(c, st, 0, 0, INT64_MAX, &n, what)) != 0)
		goto out;
	*out = (uint64_t)n;
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

int dsb_catalog_count(struct dsb_catalog *c, uint64_t *packs, uint64_t *blobs)
{
	int r = DSB_ERR_INTERNAL;

	if (packs != NULL && (r = count_rows(c, "SELECT count(*) FROM packs", packs)) != 0)
		return r;
	if (blobs != NULL && (r = count_rows(c, "SELECT count(*) FROM blobs", blobs)) != 0)
		return r;
	return 0;
}

/* ---- index objects ---- */

int dsb_catalog_has_index(struct dsb_catalog *c, const char *index_id)
{
	return catalog_exists(c, CST_HAS_INDEX, index_id, "looking up index object");
}

int dsb_catalog_add_index(struct dsb_catalog *c, const char *index_id)
{
	static const char what[] = "recording index object";
	sqlite3_stmt *st = c->stmt[CST_ADD_INDEX];
	int rc;

	if ((rc = sqlite3_bind_text(st, 1, index_id, -1, SQLITE_STATIC)) != SQLITE_OK)
		return catalog_bind_error(c, st, rc, what);
	return catalog_step_done(c, st, what);
}
