/* engine_internal.h: shared by the files of the engine module only. */
#ifndef DSB_ENGINE_INTERNAL_H
#define DSB_ENGINE_INTERNAL_H

#include "dsbackup/engine.h"

/* dsb_session_add_record(cat, rec): put one pack record (a pack and its blobs) into the catalog. */
int dsb_session_add_record(struct dsb_catalog *cat, const struct dsb_pack_record *rec);

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
/* dsb_session_check_index(s): reload the index when an index object the catalog loaded is gone (a prune replaced it). */
int dsb_session_check_index(struct dsb_session *s);

#endif
