/* catalog_stats.c: sums over the index and the listings, for "dsbackup stats". */
#include <string.h>

#include "dsbackup/catalog.h"
#include "dsbackup/error.h"

#include "catalog_internal.h"

/*
 * sum_row(c, sql, key, out, n, what): run ${sql} (with ${key} bound to ?1
 * when not NULL), which returns one row of ${n} non-negative integers.
 */
static int sum_row(struct dsb_catalog *c, const char *sql, const char *key, uint64_t *out,
    int n, const char *what)
{
	sqlite3_stmt *st = NULL;
	int64_t v;
	int r = DSB_ERR_INTERNAL, rc, i;

	if ((r = catalog_prepare(c, sql, &st, what)) != 0)
		goto out;
	if (key != NULL && (rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC)) != SQLITE_OK) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r = catalog_column_int(c, st, i, 0, INT64_MAX, &v, what)) != 0)
			goto out;
		out[i] = (uint64_t)v;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

int dsb_catalog_totals(struct dsb_catalog *c, struct dsb_catalog_totals *t)
{
	static const char what[] = "summing the index";
	uint64_t v[6];
	int r;

	memset(t, 0, sizeof(*t));
	if ((r = sum_row(c, "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM packs", NULL, v, 2,
	    what)) != 0)
		return r;
	t->packs = v[0];
	t->pack_bytes = v[1];
	/* type 0: data blobs, 1: trees (FORMAT.md section 6) */
	if ((r = sum_row(c, "SELECT COUNT(*), COALESCE(SUM(type = 0), 0), COALESCE(SUM(type = 1), 0), "
	    "COALESCE(SUM(CASE WHEN type = 0 THEN raw_len END), 0), "
	    "COALESCE(SUM(CASE WHEN type = 0 THEN stored_len END), 0) FROM blobs", NULL, v, 5,
	    what)) != 0)
		return r;
	t->blobs = v[0];
	t->data_blobs = v[1];
	t->tree_blobs = v[2];
	t->data_raw_bytes = v[3];
	t->data_stored_bytes = v[4];
	if ((r = sum_row(c, "SELECT COUNT(*) FROM snapshots", NULL, v, 1, what)) != 0)
		return r;
	t->snapshots = v[0];
	return 0;
}

int dsb_catalog_listing_totals(struct dsb_catalog *c, const char *snapshot_id, uint64_t *files,
    uint64_t *bytes)
{
	uint64_t v[2];
	int r;

	/*
	 * Every directory of the snapshot's tree once per path that leads to it
	 * (UNION ALL), with a depth bound for damaged catalogs (1024:
	 * DSB_TREE_MAX_DEPTH); type 1: DSB_NODE_FILE.
	 */
	if ((r = sum_row(c, "WITH RECURSIVE walk(tree, depth) AS ("
	    "SELECT tree, 0 FROM snapshots WHERE id = ?1 AND listed = 1 AND tree IS NOT NULL "
	    "UNION ALL SELECT e.subtree, w.depth + 1 FROM walk w JOIN tree_entries e "
	    "ON e.tree = w.tree WHERE e.subtree IS NOT NULL AND w.depth < 1024) "
	    "SELECT COUNT(*), COALESCE(SUM(e.size), 0) FROM walk w JOIN tree_entries e "
	    "ON e.tree = w.tree WHERE e.type = 1", snapshot_id, v, 2, "summing a listing")) != 0)
		return r;
	*files = v[0];
	*bytes = v[1];
	return 0;
}
