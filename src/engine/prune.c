/*
 * prune.c: delete the data no snapshot references.
 *
 * Under an exclusive lock (no backup or other prune runs meanwhile):
 *
 *  1. reload the catalog's index from the index objects, and read the
 *     trailers of packs that no index lists (a killed backup's, or a killed
 *     prune's);
 *  2. mark live every tree and data blob reachable from a snapshot, in a
 *     temporary table of the catalog (memory stays flat);
 *  3. per pack, compare its live bytes with its size: a pack without live
 *     blobs is deleted, one whose live share is below repack_below has its
 *     live blobs copied (read, authenticated, re-encrypted) into new packs;
 *  4. write new index objects covering every pack kept and every new pack;
 *  5. delete the old index objects;
 *  6. delete the packs dropped in step 3;
 *  7. reload the catalog's index.
 *
 * Why no step loses referenced data when the process dies at any point:
 * until step 5 starts, every old index object still exists, so everything
 * indexed before still is; new packs and index objects only add copies.
 * Step 5 starts only after every new index object is stored, and those
 * cover every live blob (in a kept pack or a new one), so removing old
 * index objects in any number leaves every live blob indexed.  Step 6
 * removes only packs that no new index object lists and whose live blobs
 * (if any) were copied.  A pack left behind by a killed run is in no index
 * and holds no live blob: the next prune deletes it.  Snapshots are never
 * touched here.
 *
 * Packs in no index may belong to a backup that is still running: one
 * whose lock we took for stale (not refreshed for 30 minutes, say on
 * another host after a network outage) stores packs before it writes the
 * index objects and the snapshot that need them.  The exclusive lock keeps
 * every backup that follows the protocol out, but as a second line of
 * defence such packs are deleted only when a prune saw them unreferenced
 * and in no index at least unindexed_grace_sec (1 hour) earlier: by then a
 * live backup has indexed them.  The time is recorded in the catalog,
 * because backends do not all tell an object's age.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "engine_internal.h"

#define PRUNE_INDEX_FLUSH 20000       /* entries per new index object */
#define PRUNE_GRACE_DEFAULT 3600
#define PRUNE_REPACK_DEFAULT 0.5
#define PRUNE_MAX_DEPTH 1024

enum pack_state {
	PACK_INDEXED = 1,     /* on the backend, listed by an index object */
	PACK_UNINDEXED_NEW,   /* in no index, first seen less than the grace period ago */
	PACK_UNINDEXED_OLD,   /* in no index, first seen longer ago */
	PACK_UNREADABLE,      /* in no index, trailer unreadable: left alone */
	PACK_KEEP,            /* kept as it is */
	PACK_REPACK,          /* live blobs copied into new packs, then deleted */
	PACK_DELETE,          /* no live blob: deleted */
	PACK_WAIT,            /* no live blob, in no index, young: left alone for now */
	PACK_EMITTED          /* kept, and listed in a new index object */
};

struct id_vec {
	char (*v)[DSB_ID_HEX];
	size_t n, cap;
};

struct pruner {
	struct dsb_session *s;
	const struct dsb_prune_opts *o;
	struct dsb_prune_stats *st;
	struct dsb_catalog_prune *cp;
	struct dsb_lock *lock;
	double repack_below;
	int64_t grace, now;
	uint64_t changes;             /* packs deleted, repacked, lost or newly indexed */
	uint64_t missing_packs;       /* indexed packs gone from the backend that hold live blobs */
	uint8_t key_id[DSB_KEYID_LEN];  /* the current data key (rekey: packs under others are copied) */
	uint64_t freed_planned;
	struct id_vec old_index, new_index;
	/* repacking */
	struct dsb_blob_opener *opener;
	struct dsb_pack_writer *pw;
	struct dsb_index_writer *iw;
	struct dsb_buf pack, raw;
	struct dsb_pack_header hdr;   /* of the pack being repacked */
	char pack_hex[DSB_ID_HEX];
	uint64_t copied, expected;    /* live blobs copied out of the current pack / expected */
	uint64_t written_bytes;
};

static int id_vec_add(struct id_vec *v, const char *id)
{
	if (DSB_GROW(v->v, v->cap, v->n, "a list of ids") != 0)
		return DSB_ERR_NOMEM;
	snprintf(v->v[v->n++], DSB_ID_HEX, "%s", id);
	return 0;
}

static int id_vec_has(const struct id_vec *v, const char *id)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->v[i], id) == 0)
			return 1;
	return 0;
}

/* tick(p): stop on a signal; keep the lock fresh during long steps */
static int tick(struct pruner *p)
{
	if (dsb_interrupted)
		return dsb_error(DSB_ERR_INTERRUPTED, "interrupted by a signal; the repository is "
		    "consistent: run prune again to finish");
	return dsb_lock_refresh(p->lock);
}

/* ---- 1. the index as it is ---- */

static int remember_old_index(void *arg, const char *id)
{
	return id_vec_add(&((struct pruner *)arg)->old_index, id);
}

static int note_pack(void *arg, const char *id_hex, uint64_t size)
{
	struct pruner *p = arg;
	struct dsb_pack_record rec;
	struct dsb_pack_info pi;
	struct dsb_pack_entry *e = NULL;
	int64_t since;
	int r, state;

	if (dsb_hex_decode(id_hex, rec.id, 32) != 0) {
		dsb_error_clear();
		return 0;
	}
	if ((r = dsb_catalog_get_pack(p->s->cat, rec.id, &pi)) == 0) {
		if (pi.size != size)
			dsb_warn("pack %s is %llu bytes, its index says %llu (run check)", id_hex,
			    (unsigned long long)size, (unsigned long long)pi.size);
		return dsb_catalog_prune_set_pack(p->cp, rec.id, PACK_INDEXED, 0);
	}
	if (r != DSB_ERR_NOT_FOUND)
		return r;
	dsb_error_clear();
	/* in no index: its trailer says what it holds; a snapshot may need it */
	if ((r = dsb_repo_read_pack_trailer(p->s->repo, rec.id, size, &rec.header, &e, &rec.n)) != 0) {
		dsb_warn("pack %s is in no index and its trailer is unreadable; left alone: %s",
		    id_hex, dsb_errmsg());
		return dsb_catalog_prune_set_pack(p->cp, rec.id, PACK_UNREADABLE, 1);
	}
	rec.size = size;
	rec.entries = e;
	r = dsb_session_add_record(p->s, &rec);
	free(e);
	if (r != 0 || (r = dsb_catalog_unindexed_since(p->s->cat, rec.id, p->now, &since)) != 0)
		return r;
	state = p->grace < 0 || p->now - since >= p->grace ? PACK_UNINDEXED_OLD : PACK_UNINDEXED_NEW;
	return dsb_catalog_prune_set_pack(p->cp, rec.id, state, 1);
}

static int load_state(struct pruner *p)
{
	int r;

	dsb_info("loading the index");
	if ((r = dsb_session_reload_index(p->s, remember_old_index, p)) != 0 ||
	    (r = dsb_session_sync(p->s)) != 0)
		return r;
	if ((r = dsb_catalog_prune_new(p->s->cat, &p->cp)) != 0)
		return r;
	if ((r = dsb_catalog_begin(p->s->cat)) != 0)
		return r;
	if ((r = dsb_repo_list(p->s->repo, "data", note_pack, p)) != 0) {
		dsb_catalog_rollback(p->s->cat);
		return r;
	}
	if ((r = dsb_catalog_commit(p->s->cat)) != 0)
		dsb_catalog_rollback(p->s->cat);
	return r;
}

/* ---- 2. what the snapshots use ---- */

static int mark_tree(struct pruner *p, const uint8_t id[32], int depth)
{
	struct dsb_tree t;
	char hex[DSB_ID_HEX];
	size_t i, j;
	int r;

	if ((r = dsb_catalog_prune_mark_live(p->cp, id)) <= 0)
		return r;   /* error, or seen before with everything below it */
	dsb_hex_encode(id, 32, hex);
	if (depth > PRUNE_MAX_DEPTH)
		return dsb_error(DSB_ERR_CORRUPT, "tree %.16s: directories nested too deep", hex);
	if ((r = tick(p)) != 0)
		return r;
	dsb_tree_init(&t);
	if ((r = dsb_session_load_tree(p->s, id, &t)) != 0) {
		if (r != DSB_ERR_NOMEM && r != DSB_ERR_INTERRUPTED && r != DSB_ERR_CATALOG)
			r = dsb_error_wrap(DSB_ERR_CORRUPT, "a snapshot needs tree %.16s", hex);
		return r;
	}
	for (i = 0; i < t.n && r == 0; i++) {
		const struct dsb_node *n = &t.nodes[i];

		if (n->type == DSB_NODE_DIR && n->has_subtree)
			r = mark_tree(p, n->subtree, depth + 1);
		for (j = 0; j < n->ncontent && r == 0; j++)
			if ((r = dsb_catalog_prune_mark_live(p->cp, n->content[j])) > 0)
				r = 0;
	}
	dsb_tree_release(&t);
	return r;
}

static int mark_snapshot(void *arg, const struct dsb_catalog_snapshot *cs)
{
	struct pruner *p = arg;
	struct dsb_snapshot snap;
	int r;

	if ((r = dsb_snapshot_parse(cs->id, cs->json, &snap)) != 0)
		return dsb_error_wrap(r, "snapshot %s", cs->id);
	p->st->snapshots++;
	r = mark_tree(p, snap.tree, 0);
	if (r != 0 && r != DSB_ERR_INTERRUPTED)
		r = dsb_error_wrap(r, "snapshot %.16s", cs->id);
	dsb_snapshot_release(&snap);
	return r;
}

static int mark_live(struct pruner *p)
{
	uint8_t example[32];
	char hex[DSB_ID_HEX];
	uint64_t missing;
	int r;

	dsb_info("finding the data the snapshots use");
	if ((r = dsb_catalog_foreach_snapshot(p->s->cat, mark_snapshot, p)) != 0)
		return r;
	if ((r = dsb_catalog_prune_missing(p->cp, &missing, example)) != 0)
		return r;
	if (missing > 0) {
		dsb_hex_encode(example, 32, hex);
		return dsb_error(DSB_ERR_CORRUPT, "%llu blob(s) that snapshots need are in no pack "
		    "(blob %.16s, for one); nothing was changed: run \"dsbackup check\"",
		    (unsigned long long)missing, hex);
	}
	return 0;
}

/* ---- 3. what to do with each pack ---- */

/*
 * stale_duplicate(p, u): in rekey mode, a pack in no index, under a key other
 * than the current one, none of whose blobs is located in it (each is in an
 * indexed pack too): a killed rewrite's copy, made before a later "key
 * rotate".  Deleting it at once loses no blob's only copy, while waiting out
 * the grace period would keep the old key in use and stop the rewrite.
 */
static int stale_duplicate(const struct pruner *p, const struct dsb_catalog_pack_usage *u)
{
	return p->o->rekey && u->blobs == 0 &&
	    memcmp(u->pack.key_id, p->key_id, sizeof(p->key_id)) != 0;
}

static int plan_pack(void *arg, const struct dsb_catalog_pack_usage *u)
{
	struct pruner *p = arg;
	struct dsb_prune_stats *st = p->st;
	char hex[DSB_ID_HEX];
	int r, state, unindexed, next;

	r = dsb_catalog_prune_get_pack(p->cp, u->pack.id, &state, &unindexed);
	if (r == DSB_ERR_NOT_FOUND) {
		/* indexed but not on the backend: dropped from the index, unless needed */
		dsb_hex_encode(u->pack.id, 32, hex);
		if (u->live_blobs > 0) {
			dsb_log(DSB_LOG_ERROR, "pack %s is missing, and snapshots need %llu of its "
			    "blobs", hex, (unsigned long long)u->live_blobs);
			p->missing_packs++;
		} else {
			dsb_warn("pack %s is missing; none of its blobs is needed", hex);
			p->changes++;
		}
		return 0;
	}
	if (r != 0)
		return r;
	if (state == PACK_UNREADABLE)
		return 0;
	st->bytes_total += u->pack.size;
	st->blobs_live += u->live_blobs;
	st->blobs_dead += u->blobs - u->live_blobs;
	if (u->live_blobs == 0 && state == PACK_UNINDEXED_NEW && !stale_duplicate(p, u)) {
		next = PACK_WAIT;
		st->packs_waiting++;
	} else if (u->live_blobs == 0) {
		next = PACK_DELETE;
		st->packs_deleted++;
		p->freed_planned += u->pack.size;
	} else if ((double)u->live_bytes < p->repack_below * (double)u->pack.size ||
	    (p->o->rekey && memcmp(u->pack.key_id, p->key_id, sizeof(p->key_id)) != 0)) {
		next = PACK_REPACK;
		st->packs_repacked++;
		st->bytes_repacked += u->live_bytes;
		p->freed_planned += u->pack.size - (u->live_bytes < u->pack.size ? u->live_bytes :
		    u->pack.size);
	} else {
		next = PACK_KEEP;
		st->packs_kept++;
		if (unindexed)
			p->changes++;   /* a snapshot needs it: the new index will list it */
	}
	if (next == PACK_DELETE || next == PACK_REPACK)
		p->changes++;
	return dsb_catalog_prune_set_pack(p->cp, u->pack.id, next, unindexed);
}

static int plan(struct pruner *p)
{
	int r;

	dsb_keys_key_id(dsb_repo_keys(p->s->repo), p->key_id);
	if (p->o->rekey)
		p->changes++;   /* every index object is written again, under the current key */
	if ((r = dsb_catalog_prune_foreach_usage(p->cp, plan_pack, p)) != 0)
		return r;
	if (p->missing_packs > 0)
		return dsb_error(DSB_ERR_CORRUPT, "%llu pack(s) that snapshots need are missing; "
		    "nothing was changed: run \"dsbackup check\"",
		    (unsigned long long)p->missing_packs);
	p->st->bytes_freed = p->freed_planned;
	return 0;
}

/* ---- 4. repack, then the new index ---- */

static int flush_new_index(struct pruner *p, int force)
{
	char id[DSB_ID_HEX];
	int r;

	if (!force && dsb_index_writer_pending(p->iw) < PRUNE_INDEX_FLUSH)
		return 0;
	if ((r = dsb_index_writer_flush(p->iw, id)) != 0)
		return r;
	return id[0] != '\0' ? id_vec_add(&p->new_index, id) : 0;
}

static int finish_new_pack(struct pruner *p)
{
	struct dsb_pack_result res;
	struct dsb_pack_record rec;
	int r;

	if (dsb_pack_writer_count(p->pw) == 0)
		return 0;
	if ((r = dsb_pack_writer_finish(p->pw, &res)) != 0 ||
	    (r = dsb_repo_put_pack(p->s->repo, &res)) != 0)
		return r;
	memcpy(rec.id, res.id, 32);
	rec.size = res.len;
	rec.header = res.header;
	rec.entries = res.entries;
	rec.n = res.n;
	if ((r = dsb_index_writer_add(p->iw, &rec)) != 0)
		return r;
	p->st->packs_written++;
	p->written_bytes += res.len;
	if ((r = dsb_pack_writer_reset(p->pw)) != 0)
		return r;
	return flush_new_index(p, 0);
}

static int copy_blob(void *arg, const uint8_t id[32], const struct dsb_blob_loc *loc)
{
	struct pruner *p = arg;
	struct dsb_pack_entry e;
	char hex[DSB_ID_HEX];
	int r;

	if ((r = dsb_catalog_prune_is_live(p->cp, id)) <= 0)
		return r;
	dsb_hex_encode(id, 32, hex);
	if (loc->offset > p->pack.len || loc->stored_len > p->pack.len - loc->offset)
		return dsb_error(DSB_ERR_CORRUPT, "blob %.16s lies beyond the end of pack %s", hex,
		    p->pack_hex);
	memcpy(e.id, id, 32);
	e.type = loc->type;
	e.comp = loc->comp;
	e.stored_len = loc->stored_len;
	e.raw_len = loc->raw_len;
	e.offset = loc->offset;
	if ((r = dsb_blob_open(p->opener, &p->hdr, &e, p->pack.data + loc->offset, &p->raw)) != 0)
		return dsb_error_wrap(r, "blob %.16s of pack %s, which snapshots need (nothing was "
		    "deleted; run \"dsbackup check\")", hex, p->pack_hex);
	if ((r = dsb_pack_writer_add(p->pw, id, loc->type, p->raw.data, p->raw.len)) != 0)
		return r;
	p->copied++;
	if (dsb_pack_writer_size(p->pw) >= dsb_repo_config(p->s->repo)->pack_size)
		return finish_new_pack(p);
	return 0;
}

static int count_live(void *arg, const uint8_t id[32], const struct dsb_blob_loc *loc)
{
	struct pruner *p = arg;
	int r;

	(void)loc;
	if ((r = dsb_catalog_prune_is_live(p->cp, id)) < 0)
		return r;
	p->expected += (uint64_t)r;
	return 0;
}

static int repack_pack(void *arg, const uint8_t id[32], int unindexed)
{
	struct pruner *p = arg;
	struct dsb_pack_info pi;
	char name[80];
	int r;

	(void)unindexed;
	if ((r = tick(p)) != 0)
		return r;
	dsb_hex_encode(id, 32, p->pack_hex);
	if ((r = dsb_catalog_get_pack(p->s->cat, id, &pi)) != 0)
		return r;
	memcpy(p->hdr.key_id, pi.key_id, sizeof(p->hdr.key_id));
	memcpy(p->hdr.salt, pi.salt, sizeof(p->hdr.salt));
	dsb_repo_pack_name(id, name);
	dsb_progress_file(name);
	if ((r = dsb_backend_get(dsb_repo_backend(p->s->repo), name, 0, 0, &p->pack)) != 0)
		return r;
	p->copied = p->expected = 0;
	if ((r = dsb_catalog_foreach_blob_in_pack(p->s->cat, id, count_live, p)) != 0 ||
	    (r = dsb_catalog_foreach_blob_in_pack(p->s->cat, id, copy_blob, p)) != 0)
		return r;
	if (p->copied != p->expected || p->copied == 0)
		return dsb_error(DSB_ERR_INTERNAL, "pack %s: copied %llu live blobs of %llu",
		    p->pack_hex, (unsigned long long)p->copied, (unsigned long long)p->expected);
	return 0;
}

static int emit_record(void *arg, const struct dsb_pack_record *rec)
{
	struct pruner *p = arg;
	int r, state, unindexed;

	r = dsb_catalog_prune_get_pack(p->cp, rec->id, &state, &unindexed);
	if (r == DSB_ERR_NOT_FOUND)
		return 0;   /* gone from the backend */
	if (r != 0 || state != PACK_KEEP)
		return r;
	if ((r = dsb_index_writer_add(p->iw, rec)) != 0 ||
	    (r = dsb_catalog_prune_set_pack(p->cp, rec->id, PACK_EMITTED, unindexed)) != 0)
		return r;
	return flush_new_index(p, 0);
}

/* emit_unindexed(p, id): a kept pack no old index object listed: its record from its trailer */
static int emit_unindexed(void *arg, const uint8_t id[32], int unindexed)
{
	struct pruner *p = arg;
	struct dsb_pack_record rec;
	struct dsb_pack_entry *e = NULL;
	struct dsb_pack_info pi;
	int r;

	(void)unindexed;
	if ((r = tick(p)) != 0 || (r = dsb_catalog_get_pack(p->s->cat, id, &pi)) != 0)
		return r;
	memcpy(rec.id, id, 32);
	if ((r = dsb_repo_read_pack_trailer(p->s->repo, id, pi.size, &rec.header, &e, &rec.n)) != 0)
		return r;
	rec.size = pi.size;
	rec.entries = e;
	r = dsb_index_writer_add(p->iw, &rec);
	free(e);
	return r != 0 ? r : flush_new_index(p, 0);
}

static int write_new_index(struct pruner *p)
{
	size_t i;
	int r;

	for (i = 0; i < p->old_index.n; i++) {
		if ((r = tick(p)) != 0 ||
		    (r = dsb_repo_read_index(p->s->repo, p->old_index.v[i], emit_record, p)) != 0)
			return r;
	}
	if ((r = dsb_catalog_prune_foreach_pack(p->cp, PACK_KEEP, emit_unindexed, p)) != 0)
		return r;
	return flush_new_index(p, 1);
}

static int rewrite(struct pruner *p)
{
	const struct dsb_repo_config *cfg = dsb_repo_config(p->s->repo);
	int r;

	dsb_buf_init(&p->pack, (size_t)DSB_PACK_MAX);
	dsb_buf_init(&p->raw, (size_t)DSB_BLOB_RAW_MAX + 64);
	if ((r = dsb_blob_opener_new(dsb_repo_keys(p->s->repo), &p->opener)) != 0 ||
	    (r = dsb_pack_writer_new(dsb_repo_keys(p->s->repo), cfg->compression, &p->pw)) != 0 ||
	    (r = dsb_index_writer_new(p->s->repo, &p->iw)) != 0)
		return r;
	if (p->st->packs_repacked > 0)
		dsb_info("repacking %llu pack(s)", (unsigned long long)p->st->packs_repacked);
	if ((r = dsb_catalog_prune_foreach_pack(p->cp, PACK_REPACK, repack_pack, p)) != 0 ||
	    (r = finish_new_pack(p)) != 0)
		return r;
	dsb_info("writing the new index");
	return write_new_index(p);
}

/* ---- 5, 6. delete ---- */

#define PRUNE_DELETE_BATCH 1000       /* objects handed to the backend at once */

/* Objects waiting to be removed together (S3: one DeleteObjects request). */
struct removal {
	struct pruner *p;
	char names[PRUNE_DELETE_BATCH][96];
	const char *ptrs[PRUNE_DELETE_BATCH];
	uint8_t ids[PRUNE_DELETE_BATCH][32];      /* of packs */
	unsigned char unindexed[PRUNE_DELETE_BATCH];
	unsigned char gone[PRUNE_DELETE_BATCH];
	size_t n;
	uint64_t failed;                          /* objects that could not be removed */
	int first_error;
	char *first_msg;
};

/*
 * flush_removal(rm): remove the queued objects.  One that cannot be removed
 * (object lock, say) is counted and the rest go on: each step's order
 * guarantee holds per object (an index object is no longer needed, a pack is
 * in no new index object), so a leftover only costs space.
 */
static int flush_removal(struct removal *rm)
{
	size_t i;
	int r;

	if (rm->n == 0)
		return 0;
	r = dsb_backend_remove_many(dsb_repo_backend(rm->p->s->repo), rm->ptrs, rm->n, rm->gone);
	if (r == DSB_ERR_NOMEM)
		return r;
	if (r != 0 && rm->first_error == 0) {
		rm->first_error = r;
		rm->first_msg = dsb_strdup(dsb_errmsg());
	}
	dsb_error_clear();
	for (i = 0; i < rm->n; i++) {
		if (!rm->gone[i])
			rm->failed++;
		else if (rm->unindexed[i] && (r = dsb_catalog_unindexed_forget(rm->p->s->cat,
		    rm->ids[i])) != 0)
			return r;
	}
	rm->n = 0;
	return 0;
}

/* queue_removal(rm, name, id, unindexed): ${id}: the pack's, or NULL. */
static int queue_removal(struct removal *rm, const char *name, const uint8_t *id, int unindexed)
{
	int r;

	if ((r = tick(rm->p)) != 0)
		return r;
	snprintf(rm->names[rm->n], sizeof(rm->names[rm->n]), "%s", name);
	rm->ptrs[rm->n] = rm->names[rm->n];
	if (id != NULL)
		memcpy(rm->ids[rm->n], id, 32);
	rm->unindexed[rm->n] = id != NULL && unindexed;
	return ++rm->n == PRUNE_DELETE_BATCH ? flush_removal(rm) : 0;
}

static int delete_pack(void *arg, const uint8_t id[32], int unindexed)
{
	struct removal *rm = arg;
	char name[80];

	dsb_repo_pack_name(id, name);
	dsb_progress_file(name);
	return queue_removal(rm, name, id, unindexed);
}

/* delete_all(rm): queue and remove the old index objects, then the packs dropped. */
static int delete_all(struct removal *rm)
{
	struct pruner *p = rm->p;
	char name[96];
	size_t i;
	int r;

	for (i = 0; i < p->old_index.n; i++) {
		if (id_vec_has(&p->new_index, p->old_index.v[i]))
			continue;
		snprintf(name, sizeof(name), "index/%s", p->old_index.v[i]);
		if ((r = queue_removal(rm, name, NULL, 0)) != 0)
			return r;
		p->st->index_objects_replaced++;
	}
	/* every old index object goes before the first pack (step 5 before 6) */
	if ((r = flush_removal(rm)) != 0)
		return r;
	if (rm->failed > 0)
		return 0;
	if ((r = dsb_catalog_prune_foreach_pack(p->cp, PACK_DELETE, delete_pack, rm)) != 0 ||
	    (r = dsb_catalog_prune_foreach_pack(p->cp, PACK_REPACK, delete_pack, rm)) != 0)
		return r;
	return flush_removal(rm);
}

static int delete_old(struct pruner *p)
{
	struct removal *rm;
	int r;

	dsb_info("deleting %zu old index object(s), then %llu pack(s)", p->old_index.n,
	    (unsigned long long)(p->st->packs_deleted + p->st->packs_repacked));
	if ((rm = calloc(1, sizeof(*rm))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	rm->p = p;
	if ((r = delete_all(rm)) == 0 && rm->failed > 0)
		r = dsb_error(rm->first_error, "%llu object(s) could not be deleted (%s); the repository "
		    "is consistent: the new index lists every live blob, and what was not deleted holds "
		    "none; a later prune deletes it once that is allowed",
		    (unsigned long long)rm->failed, rm->first_msg != NULL ? rm->first_msg : "");
	free(rm->first_msg);
	free(rm);
	return r;
}

/* ---- driver ---- */

static int prune_run(struct pruner *p)
{
	int r;

	if ((r = dsb_repo_lock_wait(p->s->repo, 1, p->o->lock_wait_sec, &p->lock)) != 0)
		return r;
	if ((r = load_state(p)) != 0)
		return r;
	/*
	 * From here to the new index, this handle reads the catalog as it is
	 * now: another process rebuilding it meanwhile cannot skew the choice.
	 */
	if ((r = dsb_catalog_begin_read(p->s->cat)) != 0)
		return r;
	if ((r = mark_live(p)) != 0 || (r = plan(p)) != 0)
		goto fail;
	dsb_progress_set_total(2 * p->st->packs_repacked + p->st->packs_deleted, 0);
	if (p->o->dry_run || p->changes == 0) {
		dsb_catalog_rollback(p->s->cat);
		return p->o->dry_run ? 0 : dsb_catalog_prune_forget_unindexed(p->cp);
	}
	if ((r = rewrite(p)) != 0)
		goto fail;
	if ((r = dsb_catalog_commit(p->s->cat)) != 0)
		goto fail;
	if ((r = delete_old(p)) != 0)
		return r;
	p->st->bytes_freed = p->freed_planned + p->st->bytes_repacked;
	p->st->bytes_freed = p->st->bytes_freed > p->written_bytes ?
	    p->st->bytes_freed - p->written_bytes : 0;
	if ((r = dsb_session_reload_index(p->s, NULL, NULL)) != 0)
		return r;
	return dsb_catalog_prune_forget_unindexed(p->cp);
fail:
	dsb_catalog_rollback(p->s->cat);
	return r;
}

int dsb_prune(struct dsb_session *s, const struct dsb_prune_opts *o, struct dsb_prune_stats *st)
{
	struct pruner p;
	long nsec;
	int r;

	memset(st, 0, sizeof(*st));
	memset(&p, 0, sizeof(p));
	p.s = s;
	p.o = o;
	p.st = st;
	p.repack_below = o->repack_below == 0 ? PRUNE_REPACK_DEFAULT : o->repack_below;
	p.grace = o->unindexed_grace_sec == 0 ? PRUNE_GRACE_DEFAULT : o->unindexed_grace_sec;
	dsb_time_now(&p.now, &nsec);
	r = prune_run(&p);
	dsb_catalog_prune_free(p.cp);
	dsb_blob_opener_free(p.opener);
	dsb_pack_writer_free(p.pw);
	dsb_index_writer_free(p.iw);
	dsb_buf_release(&p.pack);
	dsb_buf_release(&p.raw);
	free(p.old_index.v);
	free(p.new_index.v);
	dsb_lock_release(p.lock);
	return r;
}
