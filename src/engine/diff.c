/*
 * diff.c: the changes between two snapshots, walking both trees side by
 * side in name order; a directory whose subtree id is the same in both is
 * skipped without reading it.
 */
#include <stdlib.h>
#include <string.h>

#include "dsbackup/error.h"
#include "dsbackup/inspect.h"
#include "dsbackup/util.h"
#include "engine_internal.h"

#define DIFF_MAX_DEPTH 1024

struct differ {
	struct dsb_session *s;
	int (*cb)(void *arg, const struct dsb_diff_change *c);
	void *arg;
	struct dsb_diff_stats *st;
};

static int str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int xattrs_eq(const struct dsb_node *a, const struct dsb_node *b)
{
	size_t i;

	if (a->nxattrs != b->nxattrs)
		return 0;
	for (i = 0; i < a->nxattrs; i++)
		if (strcmp(a->xattrs[i].name, b->xattrs[i].name) != 0 ||
		    a->xattrs[i].len != b->xattrs[i].len ||
		    (a->xattrs[i].len > 0 && memcmp(a->xattrs[i].value, b->xattrs[i].value,
		    a->xattrs[i].len) != 0))
			return 0;
	return 1;
}

/* content_eq(a, b): same type, and the same content, link target or device */
static int content_eq(const struct dsb_node *a, const struct dsb_node *b)
{
	switch (a->type) {
	case DSB_NODE_FILE:
		if (a->size != b->size || a->ncontent != b->ncontent || a->has_hash != b->has_hash ||
		    (a->has_hash && memcmp(a->hash, b->hash, 32) != 0))
			return 0;
		return a->ncontent == 0 || memcmp(a->content, b->content, a->ncontent * 32) == 0;
	case DSB_NODE_SYMLINK:
		return str_eq(a->target, b->target);
	case DSB_NODE_CHARDEV:
	case DSB_NODE_BLOCKDEV:
		return a->rdev == b->rdev;
	default:
		return 1;
	}
}

/* meta_eq(a, b): what "U" reports: mode, owner, mtime, xattrs, ACL, flags (not ctime, atime, inode) */
static int meta_eq(const struct dsb_node *a, const struct dsb_node *b)
{
	return a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
	    str_eq(a->user, b->user) && str_eq(a->group, b->group) &&
	    a->mtime == b->mtime && a->mtime_ns == b->mtime_ns && xattrs_eq(a, b) &&
	    str_eq(a->acl, b->acl) && str_eq(a->fflags, b->fflags);
}

static int emit(struct differ *d, int kind, const char *path, const struct dsb_node *old,
    const struct dsb_node *new)
{
	struct dsb_diff_change c = { kind, path, old, new };

	switch (kind) {
	case DSB_DIFF_ADDED:
		d->st->added++;
		d->st->bytes_added += new->type == DSB_NODE_FILE ? new->size : 0;
		break;
	case DSB_DIFF_REMOVED:
		d->st->removed++;
		d->st->bytes_removed += old->type == DSB_NODE_FILE ? old->size : 0;
		break;
	case DSB_DIFF_MODIFIED:
		d->st->modified++;
		d->st->bytes_removed += old->size;
		d->st->bytes_added += new->size;
		break;
	default:
		d->st->metadata++;
		break;
	}
	return d->cb(d->arg, &c);
}

static int diff_trees(struct differ *d, const uint8_t *a, const uint8_t *b, const char *prefix,
    int depth);

/* one_side(d, kind, n, path, depth): ${n} added or removed, with everything below it */
static int one_side(struct differ *d, int kind, const struct dsb_node *n, const char *path,
    int depth)
{
	int r;

	if ((r = emit(d, kind, path, kind == DSB_DIFF_REMOVED ? n : NULL,
	    kind == DSB_DIFF_ADDED ? n : NULL)) != 0)
		return r;
	if (n->type != DSB_NODE_DIR || !n->has_subtree)
		return 0;
	return kind == DSB_DIFF_ADDED ? diff_trees(d, NULL, n->subtree, path, depth + 1) :
	    diff_trees(d, n->subtree, NULL, path, depth + 1);
}

static int diff_nodes(struct differ *d, const struct dsb_node *a, const struct dsb_node *b,
    const char *path, int depth)
{
	int r;

	if (a->type != b->type) {
		if ((r = one_side(d, DSB_DIFF_REMOVED, a, path, depth)) != 0)
			return r;
		return one_side(d, DSB_DIFF_ADDED, b, path, depth);
	}
	if (!content_eq(a, b))
		r = emit(d, DSB_DIFF_MODIFIED, path, a, b);
	else if (!meta_eq(a, b))
		r = emit(d, DSB_DIFF_METADATA, path, a, b);
	else
		r = 0;
	if (r != 0 || a->type != DSB_NODE_DIR)
		return r;
	return diff_trees(d, a->has_subtree ? a->subtree : NULL, b->has_subtree ? b->subtree : NULL,
	    path, depth + 1);
}

static int load(struct differ *d, const uint8_t *id, struct dsb_tree *t)
{
	dsb_tree_init(t);
	return id != NULL ? dsb_session_load_tree(d->s, id, t) : 0;
}

/* diff_trees(d, a, b, prefix, depth): trees ${a} and ${b} (either NULL: empty) below ${prefix} */
static int diff_trees(struct differ *d, const uint8_t *a, const uint8_t *b, const char *prefix,
    int depth)
{
	struct dsb_tree ta, tb;
	size_t i = 0, j = 0;
	char *path = NULL;
	int r, cmp;

	if (a != NULL && b != NULL && memcmp(a, b, 32) == 0) {
		d->st->trees_skipped++;
		return 0;
	}
	if (depth > DIFF_MAX_DEPTH)
		return dsb_error(DSB_ERR_LIMIT, "directories nested deeper than %d below %s",
		    DIFF_MAX_DEPTH, prefix);
	dsb_tree_init(&tb);
	if ((r = load(d, a, &ta)) != 0 || (r = load(d, b, &tb)) != 0)
		goto out;
	while (r == 0 && (i < ta.n || j < tb.n)) {
		cmp = i == ta.n ? 1 : j == tb.n ? -1 : strcmp(ta.nodes[i].name, tb.nodes[j].name);
		if ((path = dsb_asprintf("%s/%s", prefix, cmp <= 0 ? ta.nodes[i].name :
		    tb.nodes[j].name)) == NULL) {
			r = DSB_ERR_NOMEM;
			break;
		}
		if (cmp < 0)
			r = one_side(d, DSB_DIFF_REMOVED, &ta.nodes[i++], path, depth);
		else if (cmp > 0)
			r = one_side(d, DSB_DIFF_ADDED, &tb.nodes[j++], path, depth);
		else
			r = diff_nodes(d, &ta.nodes[i++], &tb.nodes[j++], path, depth);
		free(path);
	}
out:
	dsb_tree_release(&ta);
	dsb_tree_release(&tb);
	return r;
}

int dsb_diff(struct dsb_session *s, const struct dsb_snapshot *a, const struct dsb_snapshot *b,
    int (*cb)(void *arg, const struct dsb_diff_change *c), void *arg, struct dsb_diff_stats *st)
{
	struct differ d = { s, cb, arg, st };

	memset(st, 0, sizeof(*st));
	return diff_trees(&d, a->tree, b->tree, "", 0);
}
