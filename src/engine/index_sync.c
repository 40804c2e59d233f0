/*
 * index_sync.c: keeping the catalog's index equal to the index objects when
 * prune replaces them.
 *
 * A catalog learns of index objects incrementally.  Prune writes new index
 * objects, deletes the old ones, then deletes packs: a catalog that loaded
 * an index object which is gone from the backend may point at packs that no
 * longer exist, and a backup deduplicating against it would reference
 * missing data.  So whenever a loaded index object has vanished, the index
 * part of the catalog is rebuilt from the index objects that exist, in one
 * transaction (other processes sharing the catalog see the old index or the
 * new one, never an empty one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "engine_internal.h"

struct id_list {
	char (*ids)[DSB_ID_HEX];
	size_t n, cap;
};

static int collect_id(void *arg, const char *id, uint64_t size)
{
	struct id_list *l = arg;

	(void)size;
	if (DSB_GROW(l->ids, l->cap, l->n, "the list of index objects") != 0)
		return DSB_ERR_NOMEM;
	snprintf(l->ids[l->n++], DSB_ID_HEX, "%s", id);
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

struct vanished_ctx {
	const struct id_list *present;
	int vanished;
};

static int find_vanished(void *arg, const char *index_id)
{
	struct vanished_ctx *v = arg;

	if (v->present->n == 0 ||
	    bsearch(index_id, v->present->ids, v->present->n, DSB_ID_HEX, cmp_id) == NULL) {
		v->vanished = 1;
		return 1;   /* one is enough */
	}
	return 0;
}

struct reload_ctx {
	struct dsb_session *s;
	uint64_t loaded;
	int (*cb)(void *arg, const char *index_id);
	void *arg;
};

static int reload_one(void *arg, const char *id, uint64_t size)
{
	struct reload_ctx *c = arg;
	int r;

	(void)size;
	if ((r = dsb_repo_read_index(c->s->repo, id, dsb_session_add_record_cb, c->s)) != 0)
		return r;
	c->loaded++;
	if ((r = dsb_catalog_add_index(c->s->cat, id)) != 0)
		return r;
	return c->cb != NULL ? c->cb(c->arg, id) : 0;
}

int dsb_session_reload_index(struct dsb_session *s, int (*cb)(void *arg, const char *index_id),
    void *arg)
{
	struct reload_ctx c = { s, 0, cb, arg };
	int r;

	if ((r = dsb_catalog_begin(s->cat)) != 0)
		return r;
	if ((r = dsb_catalog_clear_index(s->cat)) != 0 ||
	    (r = dsb_repo_list(s->repo, "index", reload_one, &c)) != 0) {
		dsb_catalog_rollback(s->cat);
		return r;
	}
	if ((r = dsb_catalog_commit(s->cat)) != 0) {
		dsb_catalog_rollback(s->cat);
		return r;
	}
	dsb_debug("reloaded the catalog's index from %llu index object(s)",
	    (unsigned long long)c.loaded);
	return 0;
}

int dsb_session_check_index(struct dsb_session *s)
{
	struct id_list present;
	struct vanished_ctx v;
	int r;

	memset(&present, 0, sizeof(present));
	if ((r = dsb_repo_list(s->repo, "index", collect_id, &present)) != 0)
		goto out;
	if (present.n > 1)
		qsort(present.ids, present.n, DSB_ID_HEX, cmp_id);
	v.present = &present;
	v.vanished = 0;
	r = dsb_catalog_foreach_index(s->cat, find_vanished, &v);
	if (r < 0)
		goto out;
	r = 0;
	if (v.vanished) {
		dsb_info("index objects were replaced (by a prune); reloading the catalog's index");
		r = dsb_session_reload_index(s, NULL, NULL);
	}
out:
	free(present.ids);
	return r;
}
