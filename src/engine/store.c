/*
 * store.c: the storing half of a run that writes a snapshot (store.h):
 * chunking and hashing content, deduplication, the worker pipeline, index
 * objects and the snapshot.  backup.c feeds it from the disk, import.c from
 * an archive.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "store.h"

#define INDEX_FLUSH_ENTRIES 20000
#define READ_BATCH_LOOKUPS 2000   /* catalog lookups in one read transaction, at most */
#define READ_BATCH_NSEC 500000000L   /* and for half a second at most */

/*
 * ---- catalog lookups in batches ----
 *
 * On its own, each lookup is a transaction of its own, for which SQLite
 * takes and drops a lock on the WAL index and stats the database file: four
 * system calls per blob of every unchanged file.  Lookups therefore share a
 * read transaction, renewed at the first lookup past READ_BATCH_* so that
 * other processes' checkpoints are not held back long and blobs they add
 * are seen soon; it ends before this run writes to the catalog.  (Blobs a
 * concurrent backup adds meanwhile are at worst stored twice; prune, which
 * removes blobs, cannot run while this run holds its lock.)
 */
static void end_reads(struct dsb_store *w)
{
	if (!w->reading)
		return;
	w->reading = 0;
	dsb_catalog_rollback(w->s->cat);   /* nothing written: ending it is all */
}

static int begin_reads(struct dsb_store *w)
{
	struct timespec now;
	int r;

	if (w->reading) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (++w->reads < READ_BATCH_LOOKUPS &&
		    (now.tv_sec - w->read_start.tv_sec) * 1000000000L + now.tv_nsec -
		    w->read_start.tv_nsec < READ_BATCH_NSEC)
			return 0;
		end_reads(w);
	}
	if ((r = dsb_catalog_begin_read(w->s->cat)) != 0)
		return r;
	w->reading = 1;
	w->reads = 0;
	clock_gettime(CLOCK_MONOTONIC, &w->read_start);
	return 0;
}

/* ---- index: packs done -> index objects -> catalog ---- */

static int flush_index(struct dsb_store *w)
{
	struct dsb_done_pack *d;
	char id[65];
	int r;

	if (w->pending == NULL)
		return 0;
	end_reads(w);
	if ((r = dsb_index_writer_flush(w->iw, id)) != 0)
		return r;
	/* the catalog learns of packs only once an index object lists them */
	if ((r = dsb_catalog_begin(w->s->cat)) != 0)
		return r;
	for (d = w->pending; d != NULL; d = d->next)
		if ((r = dsb_session_add_record(w->s, &d->rec)) != 0)
			goto fail;
	if ((r = dsb_catalog_add_index(w->s->cat, id)) != 0)
		goto fail;
	if ((r = dsb_catalog_commit(w->s->cat)) != 0)
		return r;
	dsb_done_pack_free(w->pending);
	w->pending = NULL;
	return 0;
fail:
	dsb_catalog_rollback(w->s->cat);
	return r;
}

static int collect_done(struct dsb_store *w, int force)
{
	struct dsb_done_pack *d, *next;
	int r;

	for (d = dsb_pipeline_take_done(w->pl); d != NULL; d = next) {
		next = d->next;
		if ((r = dsb_index_writer_add(w->iw, &d->rec)) != 0) {
			dsb_done_pack_free(d);
			return r;
		}
		d->next = w->pending;
		w->pending = d;
	}
	if (force || dsb_index_writer_pending(w->iw) >= INDEX_FLUSH_ENTRIES)
		return flush_index(w);
	return 0;
}

/* ---- blobs ---- */

/*
 * readable_elsewhere(w, loc): 1 when the stored copy at ${loc} can stand in
 * for a new one, 0 when it lies in a pack under an escrowed run key, which
 * the holders of this repository's password cannot read: ordinary data is
 * never deduplicated against escrowed key material (FORMAT.md §4).
 */
static int readable_elsewhere(struct dsb_store *w, const struct dsb_blob_loc *loc)
{
	const struct dsb_keys *k = dsb_repo_keys(w->s->repo);
	struct dsb_pack_info pack;
	int r;

	if (dsb_keys_escrow_count(k) == 0)
		return 1;
	if ((r = dsb_catalog_get_pack(w->s->cat, loc->pack, &pack)) != 0)
		return r;
	return !dsb_keys_escrowed(k, pack.key_id);
}

int dsb_store_known(struct dsb_store *w, const uint8_t id[32])
{
	struct dsb_blob_loc loc;
	int r;

	if (dsb_idset_has(&w->seen, id))
		return 1;
	/* escrowed key material dedups within its run only: nothing of it under a readable key */
	if (dsb_repo_pack_keys(w->s->repo) != dsb_repo_keys(w->s->repo))
		return 0;
	if ((r = begin_reads(w)) != 0)
		return r;
	r = dsb_catalog_find_blob(w->s->cat, id, &loc);
	if (r == 0)
		return readable_elsewhere(w, &loc);
	if (r == DSB_ERR_NOT_FOUND) {
		dsb_error_clear();
		return 0;
	}
	return r;
}

int dsb_store_blob(struct dsb_store *w, int type, const void *p, size_t n, uint8_t id[32])
{
	int r;

	if ((r = dsb_keys_blob_id(dsb_repo_keys(w->s->repo), p, n, id)) != 0)
		return r;
	if ((r = dsb_store_known(w, id)) != 0)
		return r < 0 ? r : 0;
	if ((r = dsb_idset_add(&w->seen, id)) != 0)
		return r;
	if ((r = dsb_pipeline_submit(w->pl, id, type, p, n)) != 0)
		return r;
	return collect_done(w, 0);
}

int dsb_store_tree(struct dsb_store *w, struct dsb_tree *t, uint8_t id[32])
{
	int r;

	if ((r = dsb_tree_sort(t)) != 0 || (r = dsb_tree_encode(t, &w->treebuf)) != 0)
		return r;
	return dsb_store_blob(w, DSB_BLOB_TREE, w->treebuf.data, w->treebuf.len, id);
}

int dsb_store_tick(struct dsb_store *w)
{
	if (dsb_interrupted)
		return dsb_error(DSB_ERR_INTERRUPTED, "interrupted by a signal; no snapshot was written");
	if (++w->since_refresh >= 1000) {
		w->since_refresh = 0;
		return dsb_lock_refresh(w->lock);
	}
	return 0;
}

/* ---- content ---- */

/* fill w->rbuf so that at least max bytes follow pos, or to the end */
static int fill(struct dsb_store *w, dsb_store_read_fn read, void *arg, size_t *pos, size_t *len,
    int *eof)
{
	size_t want = w->chunker.p.max, got;
	int r;

	while (!*eof && *len - *pos < want) {
		if (w->rcap - *len < want) {
			memmove(w->rbuf, w->rbuf + *pos, *len - *pos);
			*len -= *pos;
			*pos = 0;
		}
		if ((r = read(arg, w->rbuf + *len, w->rcap - *len, &got)) != 0)
			return r;
		if (got == 0)
			*eof = 1;
		*len += got;
	}
	return 0;
}

int dsb_store_content(struct dsb_store *w, struct dsb_node *n, dsb_store_read_fn read, void *arg,
    const char *name, uint64_t *total)
{
	struct dsb_sha256 *sha;
	size_t pos = 0, len = 0, c;
	uint8_t id[32];
	int eof = 0, r;

	*total = 0;
	if ((sha = dsb_sha256_new()) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory hashing %s", name);
	for (;;) {
		if ((r = fill(w, read, arg, &pos, &len, &eof)) != 0)
			goto out;
		if (pos == len)
			break;
		c = dsb_chunker_next(&w->chunker, w->rbuf + pos, len - pos, eof);
		if (c == 0) {
			r = dsb_error(DSB_ERR_INTERNAL, "chunker asked for more data at the end of %s", name);
			goto out;
		}
		dsb_sha256_update(sha, w->rbuf + pos, c);
		if ((r = dsb_store_blob(w, DSB_BLOB_DATA, w->rbuf + pos, c, id)) != 0 ||
		    (r = dsb_node_add_content(n, id)) != 0)
			goto out;
		pos += c;
		*total += c;
		dsb_progress_bytes(c);
		if ((r = dsb_store_tick(w)) != 0)
			goto out;
	}
	dsb_sha256_final(sha, n->hash);
	n->has_hash = 1;
	n->size = *total;
	w->st->bytes_read += *total;
out:
	dsb_sha256_free(sha);
	return r;
}

/* ---- the run ---- */

int dsb_store_init(struct dsb_store *w, struct dsb_session *s, int workers,
    struct dsb_backup_stats *st)
{
	const struct dsb_repo_config *cfg = dsb_repo_config(s->repo);
	uint64_t gear[256];
	long cpus;
	int r;

	memset(w, 0, sizeof(*w));
	w->s = s;
	w->st = st;
	dsb_buf_init(&w->treebuf, (size_t)DSB_BLOB_RAW_MAX);
	if ((r = dsb_idset_init(&w->seen)) != 0)
		return r;
	dsb_keys_gear(dsb_repo_keys(s->repo), gear);
	dsb_chunker_init(&w->chunker, &cfg->chunker, gear);
	w->rcap = (size_t)cfg->chunker.max * 2;
	if ((w->rbuf = malloc(w->rcap)) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory for the read buffer");
	if (workers <= 0) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		workers = cpus > 0 ? (int)(cpus > 8 ? 8 : cpus) : 2;
	}
	if ((r = dsb_index_writer_new(s->repo, &w->iw)) != 0)
		return r;
	return dsb_pipeline_start(s->repo, workers, &w->pl);
}

void dsb_store_release(struct dsb_store *w)
{
	if (w->s != NULL)
		end_reads(w);
	dsb_pipeline_free(w->pl);
	dsb_done_pack_free(w->pending);
	dsb_index_writer_free(w->iw);
	dsb_idset_release(&w->seen);
	free(w->rbuf);
	dsb_buf_release(&w->treebuf);
	dsb_lock_release(w->lock);
	memset(w, 0, sizeof(*w));
}

int dsb_store_lock(struct dsb_store *w, int wait_sec)
{
	int r;

	/* then sync: a prune may have replaced index objects and packs since the session opened */
	if ((r = dsb_repo_lock_wait(w->s->repo, 0, wait_sec, &w->lock)) != 0)
		return r;
	return dsb_session_sync(w->s);
}

int dsb_store_finish(struct dsb_store *w)
{
	struct dsb_pipeline_stats ps;
	int r;

	end_reads(w);
	if ((r = dsb_pipeline_finish(w->pl, &ps)) != 0)
		return r;
	w->st->blobs_added = ps.blobs;
	w->st->bytes_added = ps.stored_bytes;
	w->st->packs_added = ps.packs;
	return collect_done(w, 1);
}

int dsb_store_snapshot(struct dsb_store *w, const struct dsb_snapshot_new *sn, char id_out[65])
{
	struct dsb_catalog_snapshot cs;
	char *json = NULL;
	int r;

	end_reads(w);
	if ((r = dsb_snapshot_build(sn, w->st, &json)) != 0)
		goto out;
	if ((r = dsb_repo_put_snapshot(w->s->repo, json, id_out)) != 0)
		goto out;
	cs.id = id_out;
	cs.time_sec = sn->time_sec;
	cs.time_nsec = sn->time_nsec;
	cs.host = sn->host;
	cs.json = json;
	if ((r = dsb_catalog_add_snapshot(w->s->cat, &cs)) != 0)
		dsb_warn("snapshot %s was written but not added to the catalog: %s", id_out, dsb_errmsg());
	r = 0;
out:
	free(json);
	return r;
}
