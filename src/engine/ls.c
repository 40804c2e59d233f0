/* ls.c: a snapshot's file listing, kept in the catalog and built from its trees when missing. */
#include <stdlib.h>
#include <string.h>

#include "dsbackup/error.h"
#include "dsbackup/util.h"
#include "engine_internal.h"

static int list_tree(struct dsb_session *s, const char *snap_id, const uint8_t id[32],
    const char *prefix, int depth)
{
	struct dsb_catalog_file f;
	struct dsb_tree t;
	char *path;
	size_t i;
	int r = 0;

	if (depth > 1024)
		return dsb_error(DSB_ERR_LIMIT, "directories nested deeper than 1024 below %s", prefix);
	dsb_tree_init(&t);
	if ((r = dsb_session_load_tree(s, id, &t)) != 0)
		return r;
	for (i = 0; i < t.n && r == 0; i++) {
		const struct dsb_node *n = &t.nodes[i];

		if ((path = dsb_asprintf("%s/%s", prefix, n->name)) == NULL) {
			r = DSB_ERR_NOMEM;
			break;
		}
		f.path = path;
		f.type = n->type;
		f.mode = n->mode;
		f.size = n->size;
		f.mtime = n->mtime;
		r = dsb_catalog_add_file(s->cat, snap_id, &f);
		if (r == 0 && n->type == DSB_NODE_DIR)
			r = list_tree(s, snap_id, n->subtree, path, depth + 1);
		free(path);
	}
	dsb_tree_release(&t);
	return r;
}

/* dsb_build_listing(s, snap): fill the catalog's listing of ${snap} from its trees. */
static int build_listing(struct dsb_session *s, const struct dsb_snapshot *snap)
{
	int r;

	if ((r = dsb_catalog_begin(s->cat)) != 0)
		return r;
	if ((r = list_tree(s, snap->id, snap->tree, "", 0)) != 0 ||
	    (r = dsb_catalog_set_listed(s->cat, snap->id)) != 0) {
		dsb_catalog_rollback(s->cat);
		return r;
	}
	return dsb_catalog_commit(s->cat);
}

int dsb_list_files(struct dsb_session *s, const struct dsb_snapshot *snap, const char *prefix,
    int (*cb)(void *arg, const struct dsb_catalog_file *f), void *arg)
{
	char norm[4096];
	int r;

	if ((r = dsb_catalog_is_listed(s->cat, snap->id)) < 0)
		return r;
	if (r == 0 && (r = build_listing(s, snap)) != 0)
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
