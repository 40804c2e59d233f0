/*
 * store.h: what every run that writes a snapshot shares, whatever it reads
 * (the disk for backup.c, an archive for import.c): content cut into
 * chunks and hashed, blobs deduplicated against the catalog and this run,
 * handed to the worker pipeline (pipeline.h), finished packs listed in
 * index objects, then the snapshot (docs/FORMAT.md §11).  Engine-internal.
 */
#ifndef DSB_STORE_H
#define DSB_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dsbackup/buf.h"
#include "dsbackup/chunker.h"
#include "dsbackup/crypto.h"
#include "engine_internal.h"
#include "idset.h"
#include "pipeline.h"

struct dsb_store {
	struct dsb_session *s;
	struct dsb_backup_stats *st;
	struct dsb_pipeline *pl;
	struct dsb_index_writer *iw;
	struct dsb_done_pack *pending;    /* packs written, not yet in an index object */
	struct dsb_lock *lock;
	struct dsb_idset seen;            /* blobs submitted in this run */
	struct dsb_chunker chunker;
	uint8_t *rbuf;
	size_t rcap;
	struct dsb_buf treebuf;
	uint64_t since_refresh;
	int reading;                      /* a catalog read transaction is open (store.c) */
	unsigned reads;                   /* lookups in it */
	struct timespec read_start;       /* when it began (CLOCK_MONOTONIC) */
};

/*
 * dsb_store_read_fn(arg, buf, cap, got): read up to ${cap} bytes of a
 * file's content into ${buf}; *got = 0 at the end.  0 or an error (with
 * its message recorded).
 */
typedef int (*dsb_store_read_fn)(void *arg, void *buf, size_t cap, size_t *got);

/* dsb_store_init(w, s, workers, st): buffers, index writer, ${workers} threads (0: CPUs, at most 8). */
int dsb_store_init(struct dsb_store *w, struct dsb_session *s, int workers,
    struct dsb_backup_stats *st);
/* dsb_store_release(w): stop the workers (storing nothing more), free, drop the lock. */
void dsb_store_release(struct dsb_store *w);

/* dsb_store_lock(w, wait_sec): take a shared lock (retrying ${wait_sec}), then bring the catalog up to date. */
int dsb_store_lock(struct dsb_store *w, int wait_sec);

/* dsb_store_known(w, id): 1 when the blob is stored already (catalog or this run), 0 when not, or an error. */
int dsb_store_known(struct dsb_store *w, const uint8_t id[32]);
/* dsb_store_blob(w, type, p, n, id): identify the blob into ${id} and store it unless known. */
int dsb_store_blob(struct dsb_store *w, int type, const void *p, size_t n, uint8_t id[32]);
/* dsb_store_tree(w, t, id): sort, encode and store a tree; DSB_ERR_CORRUPT on duplicate names. */
int dsb_store_tree(struct dsb_store *w, struct dsb_tree *t, uint8_t id[32]);
/*
 * dsb_store_content(w, n, read, arg, name, total): the whole content read
 * through ${read}, cut into chunks and stored; sets n->content, n->hash,
 * n->has_hash and n->size; *total is the byte count.  An error of ${read}
 * is returned as it is (${name} names the file in other messages).
 */
int dsb_store_content(struct dsb_store *w, struct dsb_node *n, dsb_store_read_fn read, void *arg,
    const char *name, uint64_t *total);
/* dsb_store_tick(w): DSB_ERR_INTERRUPTED after a signal; refreshes the lock now and then. */
int dsb_store_tick(struct dsb_store *w);
/* dsb_store_finish(w): store the last packs and list every pack in index objects (and the catalog). */
int dsb_store_finish(struct dsb_store *w);
/* dsb_store_snapshot(w, sn, id_out): write the snapshot ${sn} (with the run's stats) and catalog it. */
int dsb_store_snapshot(struct dsb_store *w, const struct dsb_snapshot_new *sn, char id_out[65]);

#endif
