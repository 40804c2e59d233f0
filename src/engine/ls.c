/* ls.c: a snapshot's file listing, kept in the catalog and built from its trees when missing. */
#include <stdlib.h>
#include <string.h>

#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "engine_internal.h"

/*
 * list_tree(s, id, path, depth): put tree ${id} (the directory ${path}) and
 * its subtrees into the catalog, then mark it listed.  A tree already listed
 * -- by this snapshot or an earlier one -- is not read from the backend: after
 * a backup only the directories that changed are.
 */
static int list_tree(struct dsb_session *s, const uint8_t id[32], const char *path, int depth)
{
	struct dsb_catalog_entry e;
	struct dsb_tree t;
	char *sub;
	size_t i;
	int r = 0;

	if ((r = dsb_catalog_tree_is_listed(s->cat, id)) != 0)
		return r < 0 ? r : 0;
	if (depth > DSB_TREE_MAX_DEPTH)
		return dsb_error(DSB_ERR_LIMIT, "directories nested deeper than %d below %.200s...",
		    DSB_TREE_MAX_DEPTH, path);
	dsb_tree_init(&t);
	if ((r = dsb_session_load_tree(s, id, &t)) != 0)
		return r;
	for (i = 0; i < t.n && r == 0; i++) {
		const struct dsb_node *n = &t.nodes[i];

		e.name = n->name;
		e.type = n->type;
		e.mode = n->mode;
		e.size = n->size;
		e.mtime = n->mtime;
		e.subtree = n->type == DSB_NODE_DIR ? n->subtree : NULL;
		if ((r = dsb_catalog_add_tree_entry(s->cat, id, &e)) != 0 || e.subtree == NULL)
			continue;
		if ((sub = dsb_asprintf("%s/%s", path, n->name)) == NULL) {
			r = DSB_ERR_NOMEM;
			break;
		}
		r = list_tree(s, n->subtree, sub, depth + 1);
		free(sub);
	}
	dsb_tree_release(&t);
	return r != 0 ? r : dsb_catalog_set_tree_listed(s->cat, id);
}

/* build_listing(s, snap): fill the catalog's listing of ${snap} from its trees, in one transaction. */
static int build_listing(struct dsb_session *s, const struct dsb_snapshot *snap)
{
	int r;

	if ((r = dsb_catalog_begin(s->cat)) != 0)
		return r;
	if ((r = list_tree(s, snap->tree, "", 0)) != 0 ||
	    (r = dsb_catalog_set_listed(s->cat, snap->id, snap->tree)) != 0) {
		dsb_catalog_rollback(s->cat);
		return r;
	}
	return dsb_catalog_commit(s->cat);
}

int dsb_listing_ensure(struct dsb_session *s, const struct dsb_snapshot *snap)
{
	int r;

	if ((r = dsb_catalog_is_listed(s->cat, snap->id)) < 0)
		return r;
	return r == 0 ? build_listing(s, snap) : 0;
}

int dsb_listing_record(struct dsb_session *s, const char *id)
{
	struct dsb_snapshot snap;
	int r;

	if ((r = dsb_session_snapshot(s, id, &snap)) != 0)
		return r;
	r = dsb_listing_ensure(s, &snap);
	dsb_snapshot_release(&snap);
	return r;
}

void dsb_listing_after_backup(struct dsb_session *s, const char *id)
{
	if (dsb_listing_record(s, id) != 0)
		dsb_warn("snapshot %.16s was written, but its file listing is not in the catalog "
		    "(\"dsbackup ls %.16s\" builds it): %s", id, id, dsb_errmsg());
	dsb_error_clear();
}

static int collect_id(void *arg, const struct dsb_catalog_snapshot *cs)
{
	struct dsb_snapshot_ids *v = arg;
	char **p;

	if ((p = realloc(v->ids, (v->n + 1) * sizeof(*p))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	v->ids = p;
	if ((v->ids[v->n] = dsb_strdup(cs->id)) == NULL)
		return DSB_ERR_NOMEM;
	v->n++;
	return 0;
}

int dsb_snapshot_ids_load(struct dsb_session *s, struct dsb_snapshot_ids *v)
{
	v->ids = NULL;
	v->n = 0;
	return dsb_catalog_foreach_snapshot(s->cat, collect_id, v);
}

void dsb_snapshot_ids_release(struct dsb_snapshot_ids *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		free(v->ids[i]);
	free(v->ids);
	v->ids = NULL;
	v->n = 0;
}

int dsb_listing_all(struct dsb_session *s, uint64_t *failed)
{
	struct dsb_snapshot_ids v;
	size_t i;
	int r;

	*failed = 0;
	r = dsb_snapshot_ids_load(s, &v);
	for (i = 0; i < v.n && r == 0; i++) {
		if ((r = dsb_listing_record(s, v.ids[i])) == DSB_ERR_NOMEM || r == DSB_ERR_INTERRUPTED)
			break;
		if (r != 0) {
			dsb_debug("snapshot %.16s: no file listing: %s", v.ids[i], dsb_errmsg());
			(*failed)++;
			r = 0;
		}
	}
	dsb_snapshot_ids_release(&v);
	return r;
}

int dsb_list_files(struct dsb_session *s, const struct dsb_snapshot *snap, const char *prefix,
    int (*cb)(void *arg, const struct dsb_catalog_file *f), void *arg)
{
	char norm[4096];
	int r;

	if ((r = dsb_listing_ensure(s, snap)) != 0)
		return r;
	if (prefix != NULL) {
		if (prefix[0] != '/')
			return dsb_error(DSB_ERR_USAGE, "path \"%s\" must be absolute, as in the snapshot",
			    prefix);
		if ((r = dsb_path_normalize(prefix, norm, sizeof(norm))) != 0)
			return r;
		prefix = norm;
	}
	return dsb_catalog_foreach_file(s->cat, snap->id, prefix, cb, arg);
}
