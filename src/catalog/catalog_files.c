/*
 * catalog_files.c: file listings for "ls", "find" and "stats" without the
 * repository, stored per tree (schema version 3): tree_entries holds the
 * entries of each tree once, however many snapshots share it, and a
 * snapshot's paths are built by a recursive query from its root tree.
 */
#include <stdlib.h>
#include <string.h>

#include "dsbackup/catalog.h"
#include "dsbackup/error.h"
#include "dsbackup/tree.h"

#include "catalog_internal.h"

/*
 * The walk from one tree: ?1 the tree, ?2 the path of its directory ("" for
 * a root), ?3 one name to start from (NULL: every entry), ?4 the deepest
 * level followed (a damaged catalog cannot loop).  Sorting the built paths
 * gives byte order ("/a-b" before "/a/b"), as the listing promises.
 */
static const char walk_sql[] =
    "WITH RECURSIVE walk(path, type, mode, size, mtime, subtree, depth) AS ("
    "  SELECT ?2 || '/' || name, type, mode, size, mtime, subtree, 0 FROM tree_entries"
    "  WHERE tree = ?1 AND (?3 IS NULL OR name = ?3)"
    "  UNION ALL SELECT w.path || '/' || e.name, e.type, e.mode, e.size, e.mtime, e.subtree,"
    "  w.depth + 1 FROM walk w JOIN tree_entries e ON e.tree = w.subtree WHERE w.depth < ?4)"
    " SELECT path, type, mode, size, mtime FROM walk ORDER BY path";

/* tree_step(c, which, tree, what): cached statement ${which} with ${tree} bound to ?1: 1 row, 0 none, or an error. */
static int tree_step(struct dsb_catalog *c, enum catalog_stmt which, const uint8_t tree[32],
    const char *what)
{
	sqlite3_stmt *st = c->stmt[which];
	int r = DSB_ERR_INTERNAL, rc;

	if ((rc = sqlite3_bind_blob(st, 1, tree, 32, SQLITE_STATIC)) != SQLITE_OK)
		return catalog_bind_error(c, st, rc, what);
	if ((r = catalog_step_row(c, st, what)) == 1)
		catalog_reset(st);
	return r;
}

int dsb_catalog_add_tree_entry(struct dsb_catalog *c, const uint8_t tree[32],
    const struct dsb_catalog_entry *e)
{
	static const char what[] = "inserting a tree entry";
	sqlite3_stmt *st = c->stmt[CST_ADD_ENTRY];
	size_t n = strlen(e->name);
	int rc;

	if (n == 0 || memchr(e->name, '/', n) != NULL)
		return dsb_error(DSB_ERR_CORRUPT, "catalog %s: invalid file name \"%.200s\"", c->path,
		    e->name);
	if (e->size > INT64_MAX || n > INT32_MAX)
		return dsb_error(DSB_ERR_LIMIT, "catalog %s: file %.200s too large", c->path, e->name);
	if ((rc = sqlite3_bind_blob(st, 1, tree, 32, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 2, e->name, (int)n, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 3, e->type)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 4, e->mode)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 5, (sqlite3_int64)e->size)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 6, e->mtime)) != SQLITE_OK ||
	    (rc = e->subtree != NULL ? sqlite3_bind_blob(st, 7, e->subtree, 32, SQLITE_STATIC) :
	    sqlite3_bind_null(st, 7)) != SQLITE_OK)
		return catalog_bind_error(c, st, rc, what);
	return catalog_step_done(c, st, what);
}

int dsb_catalog_set_tree_listed(struct dsb_catalog *c, const uint8_t tree[32])
{
	int r = tree_step(c, CST_SET_TREE_LISTED, tree, "marking a tree listed");

	return r < 0 ? r : 0;
}

int dsb_catalog_tree_is_listed(struct dsb_catalog *c, const uint8_t tree[32])
{
	return tree_step(c, CST_TREE_LISTED, tree, "looking up a listed tree");
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

/* snapshot_root(c, id, root): 1 with the root tree of listed snapshot ${id}, 0 when not listed. */
static int snapshot_root(struct dsb_catalog *c, const char *snapshot_id, uint8_t root[32],
    const char *what)
{
	sqlite3_stmt *st = NULL;
	int r = DSB_ERR_INTERNAL, rc;

	if ((r = catalog_prepare(c, "SELECT tree FROM snapshots WHERE id = ?1 AND listed = 1 "
	    "AND tree IS NOT NULL", &st, what)) != 0)
		goto out;
	if ((rc = sqlite3_bind_text(st, 1, snapshot_id, -1, SQLITE_STATIC)) != SQLITE_OK) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	if ((rc = sqlite3_step(st)) == SQLITE_DONE) {
		r = 0;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	if ((r = catalog_column_blob(c, st, 0, root, 32, what)) != 0)
		goto out;
	r = 1;
out:
	sqlite3_finalize(st);
	return r;
}

/*
 * find_subtree(c, tree, name, n, out): 1 with the tree of directory ${name}
 * (${n} bytes) in ${tree}; 0 when there is none or it is no directory.
 */
static int find_subtree(struct dsb_catalog *c, uint8_t tree[32], const char *name, size_t n,
    const char *what)
{
	sqlite3_stmt *st = c->stmt[CST_FIND_ENTRY];
	int r = DSB_ERR_INTERNAL, rc;

	if ((rc = sqlite3_bind_blob(st, 1, tree, 32, SQLITE_TRANSIENT)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 2, name, (int)n, SQLITE_STATIC)) != SQLITE_OK)
		return catalog_bind_error(c, st, rc, what);
	if ((r = catalog_step_row(c, st, what)) != 1)
		return r;
	if (sqlite3_column_type(st, 0) == SQLITE_NULL)
		r = 0;
	else if ((r = catalog_column_blob(c, st, 0, tree, 32, what)) == 0)
		r = 1;
	catalog_reset(st);
	return r;
}

/* normalize_prefix(prefix): malloc'd "/a/b" without empty components, "" for the root; NULL when out of memory. */
static char *normalize_prefix(const char *prefix)
{
	size_t n = prefix != NULL ? strlen(prefix) : 0, i, o = 0;
	char *out = malloc(n + 2);

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (prefix[i] == '/')
			continue;
		if (i == 0 || prefix[i - 1] == '/')
			out[o++] = '/';
		out[o++] = prefix[i];
	}
	out[o] = '\0';
	return out;
}

/*
 * start_walk(c, root, norm, st): ${st} bound to walk what lies at or below
 * ${norm} from ${root}; 0 with *st NULL when no such path exists.
 */
static int start_walk(struct dsb_catalog *c, uint8_t root[32], const char *norm,
    sqlite3_stmt **st, const char *what)
{
	const char *last = strrchr(norm, '/'), *p, *next;
	int r = DSB_ERR_INTERNAL, rc;

	*st = NULL;
	if (strlen(norm) > INT32_MAX)
		return dsb_error(DSB_ERR_LIMIT, "catalog %s: path prefix too long", c->path);
	/* every component but the last must be a directory */
	for (p = norm; last != NULL && p < last; p = next) {
		next = strchr(p + 1, '/');
		if ((r = find_subtree(c, root, p + 1, (size_t)(next - p - 1), what)) <= 0)
			return r;
	}
	if ((r = catalog_prepare(c, walk_sql, st, what)) != 0)
		return r;
	if ((rc = sqlite3_bind_blob(*st, 1, root, 32, SQLITE_TRANSIENT)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(*st, 2, norm, last != NULL ? (int)(last - norm) : 0,
	    SQLITE_TRANSIENT)) != SQLITE_OK ||
	    (rc = last != NULL ? sqlite3_bind_text(*st, 3, last + 1, -1, SQLITE_TRANSIENT) :
	    sqlite3_bind_null(*st, 3)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(*st, 4, DSB_TREE_MAX_DEPTH)) != SQLITE_OK)
		return catalog_error(c, rc, what);
	return 0;
}

int dsb_catalog_foreach_file(struct dsb_catalog *c, const char *snapshot_id, const char *prefix,
    int (*cb)(void *arg, const struct dsb_catalog_file *f), void *arg)
{
	static const char what[] = "listing files";
	struct dsb_catalog_file f;
	sqlite3_stmt *st = NULL;
	uint8_t root[32];
	char *norm = NULL;
	int r = DSB_ERR_INTERNAL, rc;

	if ((norm = normalize_prefix(prefix)) == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = snapshot_root(c, snapshot_id, root, what)) <= 0)
		goto out;
	if ((r = start_walk(c, root, norm, &st, what)) != 0 || st == NULL)
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
	free(norm);
	return r;
}

int dsb_catalog_count_tree_entries(struct dsb_catalog *c, uint64_t *trees, uint64_t *entries)
{
	static const char what[] = "counting tree entries";
	sqlite3_stmt *st = NULL;
	int64_t v[2];
	int r = DSB_ERR_INTERNAL, rc, i;

	if ((r = catalog_prepare(c, "SELECT (SELECT COUNT(*) FROM trees_listed), "
	    "(SELECT COUNT(*) FROM tree_entries)", &st, what)) != 0)
		goto out;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = catalog_error(c, rc, what);
		goto out;
	}
	for (i = 0; i < 2; i++)
		if ((r = catalog_column_int(c, st, i, 0, INT64_MAX, &v[i], what)) != 0)
			goto out;
	if (trees != NULL)
		*trees = (uint64_t)v[0];
	if (entries != NULL)
		*entries = (uint64_t)v[1];
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

/*
 * The trees still in use: every tree reachable from a listed snapshot's
 * root.  UNION (not UNION ALL) visits each distinct tree once, so the walk
 * costs one look at the rows of the directories in use, and ends even on a
 * damaged catalog.
 */
#define LIVE_TREES "WITH RECURSIVE live(tree) AS (" \
    "SELECT tree FROM snapshots WHERE listed = 1 AND tree IS NOT NULL " \
    "UNION SELECT e.subtree FROM live JOIN tree_entries e ON e.tree = live.tree " \
    "WHERE e.subtree IS NOT NULL) "

int catalog_sweep_trees(struct dsb_catalog *c)
{
	static const char what[] = "dropping the listings of removed snapshots";
	int r;

	if ((r = catalog_exec(c, LIVE_TREES "DELETE FROM tree_entries WHERE tree NOT IN live",
	    NULL, what)) != 0)
		return r;
	return catalog_exec(c, LIVE_TREES "DELETE FROM trees_listed WHERE tree NOT IN live",
	    NULL, what);
}
