/*
 * fsview.h: the snapshots of a repository as one read-only file system
 * tree, for "dsbackup mount" (the engine part; the FUSE glue is in
 * src/commands/cmd_mount.c).  Paths are absolute within the view:
 *
 *   /snapshots/<id>/...                 the snapshot's files (its absolute paths)
 *   /by-time/<time>_<id8>               -> ../snapshots/<id>
 *   /by-host/<host>/<time>              -> ../../snapshots/<id>
 *   /by-source/<group>/<time>           -> ../../snapshots/<id>
 *   /latest/<group>                     -> ../snapshots/<id> (the newest of the group)
 *
 * <time> is the snapshot time, RFC 3339 in UTC to the second
 * ("2026-11-28T19:17:34Z"); when two snapshots of one directory share it,
 * "_<id8>" is appended.  <group> is the snapshot's source spec
 * ("volume:db"), else its paths joined by ","; in <host> and <group>, "%"
 * and "/" are written "%25" and "%2F" (and "", ".", ".." as "%00", "%2E",
 * "%2E%2E").
 *
 * Nodes handed out are borrowed: valid until the next call on the view.
 * A view is not thread-safe: use it from one thread.
 */
#ifndef DSBACKUP_FSVIEW_H
#define DSBACKUP_FSVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "dsbackup/engine.h"
#include "dsbackup/tree.h"

struct dsb_fsview;
struct dsb_fsview_file;

/* blobs kept decoded for reads (at most DSB_BLOB_DATA_MAX bytes each) and trees kept decoded */
#define DSB_FSVIEW_BLOB_CACHE 4
#define DSB_FSVIEW_TREE_CACHE 64

/*
 * dsb_fsview_new(s, refresh_sec, out): a view of the snapshots in the
 * catalog of ${s} (which must stay open while the view lives).  Listing a
 * top directory ("/" and the five below it) brings the catalog up to date
 * with the repository first, at most every ${refresh_sec} seconds.
 */
int dsb_fsview_new(struct dsb_session *s, int refresh_sec, struct dsb_fsview **out);
/* dsb_fsview_free(v): NULL is fine. */
void dsb_fsview_free(struct dsb_fsview *v);

/*
 * dsb_fsview_refresh(v, force): sync the catalog with the repository and
 * reload the snapshot list, unless the last refresh is more recent than
 * the interval (and ${force} is 0).  A failed sync is logged as a warning
 * and the old list kept; 0 or an error of reloading the list.
 */
int dsb_fsview_refresh(struct dsb_fsview *v, int force);

/*
 * dsb_fsview_lookup(v, path, out): the node at ${path} ("/" for the root).
 * Directories of the view itself are DSB_NODE_DIR (mode 0555, the time of
 * the newest snapshot below them); links are DSB_NODE_SYMLINK with their
 * target.  DSB_ERR_NOT_FOUND when there is no such entry; other errors
 * when a tree could not be read or verified.
 */
int dsb_fsview_lookup(struct dsb_fsview *v, const char *path, const struct dsb_node **out);

/*
 * dsb_fsview_readdir(v, path, cb, arg): ${cb} sees each entry of the
 * directory ${path} (not "." or ".."), stopping at its first non-zero
 * result, which is returned.  DSB_ERR_NOT_FOUND when there is no such
 * directory; DSB_ERR_UNSUPPORTED when ${path} is not a directory.
 */
int dsb_fsview_readdir(struct dsb_fsview *v, const char *path,
    int (*cb)(void *arg, const struct dsb_node *n), void *arg);

/*
 * dsb_fsview_open(v, path, out): a regular file for reading: the offset of
 * each of its blobs comes from the index (no data is read).
 * DSB_ERR_UNSUPPORTED when ${path} is not a regular file; DSB_ERR_CORRUPT
 * when the blob lengths do not add up to the recorded size.
 */
int dsb_fsview_open(struct dsb_fsview *v, const char *path, struct dsb_fsview_file **out);
/* dsb_fsview_close(f): NULL is fine. */
void dsb_fsview_close(struct dsb_fsview_file *f);
/* dsb_fsview_file_size(f): the recorded size. */
uint64_t dsb_fsview_file_size(const struct dsb_fsview_file *f);

/*
 * dsb_fsview_read(v, f, buf, size, off, got): read up to ${size} bytes at
 * ${off}; ${got} is the count (0 at or past the end).  Only the blobs that
 * cover the range are fetched, each authenticated, decrypted and its id
 * checked (a few are kept, DSB_FSVIEW_BLOB_CACHE).  DSB_ERR_AUTH or
 * DSB_ERR_CORRUPT when a blob fails verification, other errors when it
 * cannot be fetched; nothing unverified is ever copied to ${buf}.
 */
int dsb_fsview_read(struct dsb_fsview *v, struct dsb_fsview_file *f, void *buf, size_t size,
    uint64_t off, size_t *got);

#endif
