/*
 * treeahead.h: the parent snapshot's trees read and decoded ahead of a
 * backup's walk, on a thread of their own.  Engine-internal.
 *
 * In an unchanged re-run, decoding the parent's trees is most of the work
 * left to the walking thread.  When the walk enters a directory, it queues
 * that directory's subtrees in the parent (the catalog, which only the
 * walking thread touches, gives their places); workers fetch,
 * authenticate, id-check and decode them, the deepest first, while the
 * walk stats files.  Raw tree bytes queued or decoded and not yet taken are
 * bounded by a budget, and so is their number; what is not queued is loaded
 * by the walk itself.
 */
#ifndef DSB_TREEAHEAD_H
#define DSB_TREEAHEAD_H

#include <stddef.h>
#include <stdint.h>

#include "dsbackup/repo.h"
#include "dsbackup/tree.h"

struct dsb_treeahead;

/*
 * dsb_treeahead_start(repo, workers, budget, out): start ${workers} threads
 * (>= 1); ${budget} raw bytes outstanding at most.
 */
int dsb_treeahead_start(struct dsb_repo *repo, int workers, uint64_t budget,
    struct dsb_treeahead **out);
/*
 * dsb_treeahead_submit(ta, ref, depth): queue the tree at ${ref} (a tree
 * blob, as the catalog places it), needed at walk depth ${depth}.  0 when
 * queued; 1 when the budget is spent (nothing queued: the walk loads it);
 * DSB_ERR_NOMEM.
 */
int dsb_treeahead_submit(struct dsb_treeahead *ta, const struct dsb_blob_ref *ref, int depth);
/*
 * dsb_treeahead_take(ta, id, t): the tree ${id} into ${t} (initialised,
 * empty) when it was queued: 0 with ${t} filled, or the error reading or
 * decoding it gave (its message set on the calling thread, ${t} left
 * empty).  1 when it was not queued (the caller loads it).  Waits while a
 * worker is on it; a queued tree no worker has started is decoded by the
 * calling thread.
 */
int dsb_treeahead_take(struct dsb_treeahead *ta, const uint8_t id[32], struct dsb_tree *t);
/* dsb_treeahead_drop(ta, depth): forget the trees queued for depths above ${depth}. */
void dsb_treeahead_drop(struct dsb_treeahead *ta, int depth);
/* dsb_treeahead_free(ta): stop the workers and free everything; NULL is fine. */
void dsb_treeahead_free(struct dsb_treeahead *ta);

#endif
