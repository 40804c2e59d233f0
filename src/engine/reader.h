/*
 * reader.h: blobs read ahead by worker threads, handed back in the order
 * they were asked for.  The calling thread queues blob references (from the
 * catalog, which only it touches); workers fetch them, coalescing runs of
 * neighbouring blobs of one pack into one read, then authenticate,
 * decompress and check each blob's id with a blob opener (and so a zstd
 * context) of their own.  The queue is a ring of slots whose buffers are
 * reused, so memory is bounded by the ring and by a byte budget, however
 * large the files are.  Restore and "check --read-data" use it.
 */
#ifndef DSB_READER_H
#define DSB_READER_H

#include <stddef.h>
#include <stdint.h>

#include "dsbackup/repo.h"

struct dsb_reader;

/* A finished blob, valid until dsb_reader_release. */
struct dsb_read_blob {
	const uint8_t *data;       /* the verified raw bytes */
	size_t len;
	uint64_t tag;              /* what the caller passed to dsb_reader_submit */
};

/*
 * dsb_reader_start(repo, workers, slots, budget, out): start ${workers}
 * threads (>= 1) reading through a ring of ${slots} blobs (>= 1) holding at
 * most ${budget} raw bytes at once (a larger blob is still taken alone).
 */
int dsb_reader_start(struct dsb_repo *repo, int workers, size_t slots, uint64_t budget,
    struct dsb_reader **out);
/* dsb_reader_workers(): the number of workers for this machine (its processors, at least 2). */
int dsb_reader_workers(void);
/*
 * dsb_reader_room(rd, raw_len): 1 when a blob of ${raw_len} bytes can be
 * queued now without waiting (a slot is free and the budget allows it, or
 * nothing is queued), 0 otherwise.
 */
int dsb_reader_room(const struct dsb_reader *rd, uint32_t raw_len);
/*
 * dsb_reader_submit(rd, ref, tag): queue one blob; call only when
 * dsb_reader_room said so (DSB_ERR_INTERNAL otherwise: the caller, which
 * also consumes, would wait for itself).  Workers start on queued blobs at
 * dsb_reader_next, or by themselves once enough are queued to read together.
 */
int dsb_reader_submit(struct dsb_reader *rd, const struct dsb_blob_ref *ref, uint64_t tag);
/* dsb_reader_pending(rd): blobs queued and not yet released. */
size_t dsb_reader_pending(const struct dsb_reader *rd);
/*
 * dsb_reader_next(rd, out): wait for the oldest queued blob.  0 with ${out}
 * filled; or that blob's error (DSB_ERR_AUTH, DSB_ERR_CORRUPT, the
 * backend's), with its message set on the calling thread and out->tag
 * filled.  Either way release it with dsb_reader_release before the next.
 * DSB_ERR_INTERNAL when nothing is queued.
 */
int dsb_reader_next(struct dsb_reader *rd, struct dsb_read_blob *out);
void dsb_reader_release(struct dsb_reader *rd);
/* dsb_reader_free(rd): stop the workers and free everything; NULL is fine. */
void dsb_reader_free(struct dsb_reader *rd);

#endif
