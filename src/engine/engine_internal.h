/* engine_internal.h: shared by the files of the engine module only. */
#ifndef DSB_ENGINE_INTERNAL_H
#define DSB_ENGINE_INTERNAL_H

#include "dsbackup/engine.h"
#include "dsbackup/progress.h"

/*
 * dsb_session_add_record(s, rec): put one pack record (a pack and its blobs)
 * into the catalog.  A blob's first known location is kept, except that a
 * location this reader can read replaces one under an escrowed run key
 * (FORMAT.md §4), so that ordinary snapshots never point into escrowed packs.
 * dsb_session_add_record_cb(s, rec): the same as a dsb_repo_read_index callback.
 */
int dsb_session_add_record(struct dsb_session *s, const struct dsb_pack_record *rec);
int dsb_session_add_record_cb(void *s, const struct dsb_pack_record *rec);

/* dsb_snapshot_build(snap fields ..., stats, json): the snapshot JSON of FORMAT.md §9 (malloc'd). */
struct dsb_snapshot_new {
	int64_t time_sec;
	long time_nsec;
	const char *host;
	const char *const *paths;
	size_t npaths;
	const char *const *tags;
	size_t ntags;
	const char *const *excludes;
	size_t nexcludes;
	const uint8_t *tree;
	const char *parent;   /* NULL or "" for none */
	const char *source;   /* NULL: not recorded */
	const char *run_id;   /* NULL: not recorded */
	const char *source_meta;  /* JSON object text, NULL: none */
};
int dsb_snapshot_build(const struct dsb_snapshot_new *n, const struct dsb_backup_stats *st,
    char **json);

/* dsb_path_join(dir, name): "dir/name" ("/name" when dir is "/"), malloc'd. */
char *dsb_path_join(const char *dir, const char *name);

/*
 * dsb_session_reload_index(s, cb, arg): replace the catalog's index (packs,
 * blobs, loaded index objects) with what the index objects on the backend
 * say, in one transaction; ${cb} (may be NULL) sees the id of each index
 * object loaded.  (index_sync.c)
 */
int dsb_session_reload_index(struct dsb_session *s, int (*cb)(void *arg, const char *index_id),
    void *arg);
/*
 * The catalog's file listing of a snapshot (ls.c), which "ls", "find" and
 * "stats" read: dsb_listing_ensure(s, snap) builds it from the trees unless
 * the catalog has it; dsb_listing_record(s, id) the same by snapshot id (as
 * backup does once the snapshot is written); dsb_listing_all(s, failed) for
 * every snapshot of the catalog, counting in ${failed} those whose trees
 * could not be read instead of failing (as catalog rebuild does).
 */
int dsb_listing_ensure(struct dsb_session *s, const struct dsb_snapshot *snap);
int dsb_listing_record(struct dsb_session *s, const char *id);
int dsb_listing_all(struct dsb_session *s, uint64_t *failed);
/*
 * dsb_snapshot_ids_load(s, v): the ids of the catalog's snapshots, oldest
 * first, copied (so that the catalog can be written while going through
 * them); dsb_snapshot_ids_release(v) frees them, also after a failed load.
 */
struct dsb_snapshot_ids {
	char **ids;
	size_t n;
};
int dsb_snapshot_ids_load(struct dsb_session *s, struct dsb_snapshot_ids *v);
void dsb_snapshot_ids_release(struct dsb_snapshot_ids *v);
/* dsb_listing_after_backup(s, id): dsb_listing_record, a failure only warned about (the snapshot stands). */
void dsb_listing_after_backup(struct dsb_session *s, const char *id);

/* dsb_session_check_index(s): reload the index when an index object the catalog loaded is gone (a prune replaced it). */
int dsb_session_check_index(struct dsb_session *s);

/* ---- tree nodes as libarchive entries (entry.c) ---- */
struct archive_entry;
/* dsb_entry_from_node(e, n, path): fill ${e} (named ${path}) with the metadata of ${n}; no hard link, no content. */
void dsb_entry_from_node(struct archive_entry *e, const struct dsb_node *n, const char *path);
/* dsb_node_meta_from_entry(n, e): owner names, file flags, xattrs, ACLs and sparseness of ${e}. */
int dsb_node_meta_from_entry(struct dsb_node *n, struct archive_entry *e);
/*
 * dsb_node_from_entry(n, e): all of ${e}'s metadata (type, mode, owners,
 * times, device, symlink target, then as dsb_node_meta_from_entry) into a
 * zeroed node; not its name, size or content.  DSB_ERR_UNSUPPORTED for an
 * unknown file type, DSB_ERR_CORRUPT for a symlink without a target.
 */
int dsb_node_from_entry(struct dsb_node *n, struct archive_entry *e);

/*
 * dsb_backup_host(o, paths, n, host, size): the host a new snapshot records
 * (o->host, else this host's name), after checking that it, ${paths} and
 * o's tags and excludes can be recorded (UTF-8): DSB_ERR_USAGE. (backup.c)
 */
int dsb_backup_host(const struct dsb_backup_opts *o, char *const *paths, size_t n, char *host,
    size_t size);

/*
 * dsb_snapshot_find_node(s, snap, path, out): a copy of the node at the
 * absolute ${path} of the snapshot (to release); DSB_ERR_NOT_FOUND when it
 * is not there, DSB_ERR_USAGE for "/". (restore.c)
 */
int dsb_snapshot_find_node(struct dsb_session *s, const struct dsb_snapshot *snap, const char *path,
    struct dsb_node *out);

/* ---- files written out: content read back, hard links (content.c) ---- */
struct dsb_blob_opener;
/*
 * dsb_node_check_size(s, n): the recorded size equals the sum of the
 * content blobs' lengths in the index (checked before a file is written, so
 * that a size that lies cannot make a writer extend a file).  0, or
 * DSB_ERR_NOT_FOUND / DSB_ERR_CORRUPT with a message not naming the file.
 */
int dsb_node_check_size(struct dsb_session *s, const struct dsb_node *n);
/*
 * dsb_node_read_content(s, opener, n, scratch, data, sink, arg): every
 * blob of ${n} in order, authenticated and id-checked, handed to
 * sink(arg, p, len, offset); then the total and SHA-256 compared with the
 * recorded ones (DSB_ERR_AUTH, "... (damaged)").  0, the sink's error, or
 * the error of the failing blob, with a message that does not name the file.
 */
int dsb_node_read_content(struct dsb_session *s, struct dsb_blob_opener *opener,
    const struct dsb_node *n, struct dsb_buf *scratch, struct dsb_buf *data,
    int (*sink)(void *arg, const void *p, size_t len, uint64_t off), void *arg);
/* the files written so far that have other links: dsb_links_find(l, n) gives the path ${n} is a hard link to (NULL: none) */
struct dsb_links {
	struct dsb_link *v;
	size_t n, cap;
};
const char *dsb_links_find(const struct dsb_links *l, const struct dsb_node *n);
/* dsb_links_add(l, n, path): remember ${path} when ${n} has other links; dsb_links_release(l) frees. */
int dsb_links_add(struct dsb_links *l, const struct dsb_node *n, const char *path);
void dsb_links_release(struct dsb_links *l);

#endif
