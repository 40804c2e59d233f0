/*
 * pipeline.h: the backup's worker pipeline.  The walking thread submits
 * blobs (already identified); worker threads compress, encrypt and append
 * them to their own packs and store each pack when it is full.  The queue
 * is bounded, so memory stays flat however much is backed up.  Finished
 * packs come back to the walking thread as records for the index.
 */
#ifndef DSB_PIPELINE_H
#define DSB_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "dsbackup/repo.h"

struct dsb_pipeline;

/* A finished pack, handed back to the submitting thread. */
struct dsb_done_pack {
	struct dsb_pack_record rec;      /* rec.entries points at entries */
	struct dsb_pack_entry *entries;  /* owned */
	struct dsb_done_pack *next;
};

struct dsb_pipeline_stats {
	uint64_t blobs, raw_bytes, stored_bytes, packs;
};

/* dsb_pipeline_start(repo, workers, out): start ${workers} threads (>= 1). */
int dsb_pipeline_start(struct dsb_repo *repo, int workers, struct dsb_pipeline **out);
/*
 * dsb_pipeline_submit(p, id, type, data, len): queue one blob (copied);
 * blocks while the queue is full.  Returns a worker's error if one failed.
 */
int dsb_pipeline_submit(struct dsb_pipeline *p, const uint8_t id[32], int type, const void *data,
    size_t len);
/* dsb_pipeline_take_done(p): the packs finished so far (a list to free with dsb_done_pack_free). */
struct dsb_done_pack *dsb_pipeline_take_done(struct dsb_pipeline *p);
void dsb_done_pack_free(struct dsb_done_pack *d);
/*
 * dsb_pipeline_finish(p, st): store the last partial packs and stop the
 * workers.  Returns the first worker error, if any.
 */
int dsb_pipeline_finish(struct dsb_pipeline *p, struct dsb_pipeline_stats *st);
/* dsb_pipeline_free(p): stop (without storing partial packs if not finished) and free. */
void dsb_pipeline_free(struct dsb_pipeline *p);

#endif
