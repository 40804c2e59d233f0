/*
 * catalog.h: the local SQLite cache of a repository: its index (blob ->
 * pack, offset, length), its snapshots, and their file listings (stored per tree).
 * The catalog is never the truth: everything in it can be rebuilt from the
 * backend ("dsbackup catalog rebuild").  WAL mode, PRAGMA user_version
 * schema versions with migrations, busy timeout so that several processes
 * can share one catalog.  Memory use does not grow with its size.
 *
 * A handle is used by one thread at a time.
 *
 * Every function records a message naming the catalog's path.  foreach
 * callbacks may call other catalog functions on the same handle (each
 * iteration has its own statement); strings they get are valid during the
 * call only.
 */
#ifndef DSBACKUP_CATALOG_H
#define DSBACKUP_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#define DSB_CATALOG_SCHEMA_VERSION 3

struct dsb_catalog;

/*
 * dsb_catalog_open(path, repo_id, out): open or create the catalog at
 * ${path} (parent directories are created 0700, the file 0600) for the
 * repository ${repo_id} (hex).  Returns 0; DSB_ERR_CORRUPT when the file is
 * not a usable catalog (not a database, fails "PRAGMA quick_check", newer
 * schema than this program, or belongs to another repository) -- the caller
 * then moves it aside and rebuilds; DSB_ERR_CATALOG for other SQLite errors;
 * DSB_ERR_IO or DSB_ERR_NOSPACE when the directory or file cannot be created.
 * An up-to-date catalog opens without the write lock, so opening does not
 * wait for another process's transaction.  A NULL ${repo_id} opens the
 * catalog of whichever repository it belongs to, without the backend (for
 * "find"); DSB_ERR_NOT_FOUND when it records none.
 */
int dsb_catalog_open(const char *path, const char *repo_id, struct dsb_catalog **out);

/* dsb_catalog_close(c): NULL is fine. */
void dsb_catalog_close(struct dsb_catalog *c);

/*
 * Transactions (BEGIN IMMEDIATE / COMMIT / ROLLBACK).  Callers batch writes in
 * them.  After a failed commit, call rollback; rollback does nothing when no
 * transaction is open, and close rolls back an open one.
 */
int dsb_catalog_begin(struct dsb_catalog *c);
int dsb_catalog_commit(struct dsb_catalog *c);
void dsb_catalog_rollback(struct dsb_catalog *c);

/* dsb_catalog_clear(c): delete every index, pack, snapshot and listing row (before a rebuild). */
int dsb_catalog_clear(struct dsb_catalog *c);

/* ---- index ---- */

struct dsb_blob_loc {
	uint8_t pack[32];
	uint64_t offset;
	uint32_t stored_len;
	uint32_t raw_len;
	uint8_t type;
	uint8_t comp;
};

struct dsb_pack_info {
	uint8_t id[32];
	uint64_t size;
	uint8_t key_id[8];
	uint8_t salt[32];
};

/* dsb_catalog_add_pack(c, pack): insert or replace. */
int dsb_catalog_add_pack(struct dsb_catalog *c, const struct dsb_pack_info *pack);
/* dsb_catalog_get_pack(c, id, out): 0 or DSB_ERR_NOT_FOUND. */
int dsb_catalog_get_pack(struct dsb_catalog *c, const uint8_t id[32], struct dsb_pack_info *out);
/* dsb_catalog_add_blob(c, id, loc): insert; an existing entry for ${id} is kept. */
int dsb_catalog_add_blob(struct dsb_catalog *c, const uint8_t id[32], const struct dsb_blob_loc *loc);
/*
 * dsb_catalog_put_blob(c, id, loc, replace): as add_blob (which keeps the
 * location known first), but with ${replace} the new location wins.
 */
int dsb_catalog_put_blob(struct dsb_catalog *c, const uint8_t id[32], const struct dsb_blob_loc *loc,
    int replace);
/* dsb_catalog_find_blob(c, id, out): 0 or DSB_ERR_NOT_FOUND. ${out} may be NULL. */
int dsb_catalog_find_blob(struct dsb_catalog *c, const uint8_t id[32], struct dsb_blob_loc *out);
/* dsb_catalog_foreach_pack(c, cb, arg): every pack in id order; a non-zero cb return stops and is returned. */
int dsb_catalog_foreach_pack(struct dsb_catalog *c,
    int (*cb)(void *arg, const struct dsb_pack_info *pack), void *arg);
/* dsb_catalog_foreach_blob_in_pack(c, pack, cb, arg): blobs of one pack in offset order. */
int dsb_catalog_foreach_blob_in_pack(struct dsb_catalog *c, const uint8_t pack[32],
    int (*cb)(void *arg, const uint8_t id[32], const struct dsb_blob_loc *loc), void *arg);
/* dsb_catalog_count(c, packs, blobs): row counts (either pointer may be NULL). */
int dsb_catalog_count(struct dsb_catalog *c, uint64_t *packs, uint64_t *blobs);

/* Index objects already loaded into the catalog (by hex id). */
int dsb_catalog_has_index(struct dsb_catalog *c, const char *index_id);  /* 1, 0 or error */
int dsb_catalog_add_index(struct dsb_catalog *c, const char *index_id);

/* ---- snapshots ---- */

struct dsb_catalog_snapshot {
	const char *id;     /* 64 hex digits */
	int64_t time_sec;
	long time_nsec;
	const char *host;
	const char *json;   /* the snapshot object's JSON, as stored */
};

/*
 * dsb_catalog_add_snapshot(c, s): insert or replace; replacing keeps the
 * "listed" flag and the file listing.  ${s->id} must be 64 lower-case hex
 * digits (else DSB_ERR_CORRUPT); a NULL host is stored as "".
 */
int dsb_catalog_add_snapshot(struct dsb_catalog *c, const struct dsb_catalog_snapshot *s);
/*
 * dsb_catalog_remove_snapshot(c, id): an unknown ${id} is not an error.  Also
 * drops the listed trees that no remaining listed snapshot reaches: one walk
 * over the distinct trees still in use (directories, not files), done here
 * so that no caller can leave garbage behind.
 */
int dsb_catalog_remove_snapshot(struct dsb_catalog *c, const char *id);
/* dsb_catalog_remove_snapshots(c, ids, n): as above for ${n} ids, with one walk for all */
int dsb_catalog_remove_snapshots(struct dsb_catalog *c, const char *const *ids, size_t n);
/* dsb_catalog_has_snapshot(c, id): 1, 0 or error. */
int dsb_catalog_has_snapshot(struct dsb_catalog *c, const char *id);
/* dsb_catalog_foreach_snapshot(c, cb, arg): ordered by time, then id; strings valid during cb only. */
int dsb_catalog_foreach_snapshot(struct dsb_catalog *c,
    int (*cb)(void *arg, const struct dsb_catalog_snapshot *s), void *arg);
/*
 * dsb_catalog_resolve_snapshot(c, name, id_out): ${name} is "latest", a full
 * id, or a unique prefix of at least 8 hex digits.  Writes the full id
 * (65 bytes with NUL).  DSB_ERR_NOT_FOUND, or DSB_ERR_USAGE when the prefix
 * is too short, not hex, or ambiguous (message says so).  Hex digits may be
 * upper-case; "latest" is the greatest (time_sec, time_nsec, id).
 */
int dsb_catalog_resolve_snapshot(struct dsb_catalog *c, const char *name, char id_out[65]);
/* dsb_catalog_get_snapshot_json(c, id, json): malloc'd copy of the JSON; DSB_ERR_NOT_FOUND. */
int dsb_catalog_get_snapshot_json(struct dsb_catalog *c, const char *id, char **json);

/*
 * ---- file listings (catalog_files.c) ----
 *
 * Listings are kept per tree, not per snapshot: the entries of tree ${id}
 * are stored once however many snapshots share it (a directory that did not
 * change keeps its tree id), and a snapshot's listing is the walk from its
 * root tree.  A tree is marked listed once it and all its subtrees are in,
 * so a fill that stopped half-way is redone.  Removing a snapshot drops the
 * trees no remaining listed snapshot reaches (see dsb_catalog_remove_snapshot).
 */

struct dsb_catalog_file {
	const char *path;   /* absolute path as backed up, e.g. "/srv/data/a.txt" */
	int type;           /* DSB_NODE_* from tree.h */
	uint32_t mode;      /* permission bits */
	uint64_t size;
	int64_t mtime;      /* seconds */
};

/* One entry of a tree: a file, directory (${subtree} its tree id, else NULL), link... */
struct dsb_catalog_entry {
	const char *name;        /* one path component: no '/', not empty */
	int type;                /* DSB_NODE_* from tree.h */
	uint32_t mode;
	uint64_t size;
	int64_t mtime;
	const uint8_t *subtree;  /* 32 bytes, or NULL */
};

/* dsb_catalog_add_tree_entry(c, tree, e): one entry of tree ${tree} (insert or replace by name). */
int dsb_catalog_add_tree_entry(struct dsb_catalog *c, const uint8_t tree[32],
    const struct dsb_catalog_entry *e);
/*
 * dsb_catalog_set_tree_listed(c, tree) / dsb_catalog_tree_is_listed(c, tree):
 * every entry of ${tree} and of its subtrees is in (1, 0 or error).  Mark a
 * tree only after its subtrees.
 */
int dsb_catalog_set_tree_listed(struct dsb_catalog *c, const uint8_t tree[32]);
int dsb_catalog_tree_is_listed(struct dsb_catalog *c, const uint8_t tree[32]);
/*
 * dsb_catalog_set_listed(c, id, tree) / dsb_catalog_is_listed(c, id): the
 * listing of snapshot ${id} is complete, its root being listed tree ${tree}
 * (1, 0 or error).  set_listed on an unknown snapshot is DSB_ERR_NOT_FOUND;
 * is_listed of an unknown snapshot is 0.
 */
int dsb_catalog_set_listed(struct dsb_catalog *c, const char *snapshot_id, const uint8_t tree[32]);
int dsb_catalog_is_listed(struct dsb_catalog *c, const char *snapshot_id);
/*
 * dsb_catalog_foreach_file(c, snapshot_id, prefix, cb, arg): the entries of a
 * listed snapshot whose path equals ${prefix} or lies below "${prefix}/"
 * (NULL, "" or "/": all), in path order (byte by byte, so "/a" does not select
 * "/ab" and "/a-b" comes before "/a/b").  Empty components and trailing
 * slashes of ${prefix} are ignored.  Nothing for an unlisted snapshot.
 */
int dsb_catalog_foreach_file(struct dsb_catalog *c, const char *snapshot_id, const char *prefix,
    int (*cb)(void *arg, const struct dsb_catalog_file *f), void *arg);
/* dsb_catalog_count_tree_entries(c, trees, entries): rows stored (either pointer may be NULL). */
int dsb_catalog_count_tree_entries(struct dsb_catalog *c, uint64_t *trees, uint64_t *entries);

/* ---- totals for "stats" (catalog_stats.c) ---- */

struct dsb_catalog_totals {
	uint64_t packs, pack_bytes;                   /* every pack and the bytes it takes */
	uint64_t blobs, data_blobs, tree_blobs;
	uint64_t data_raw_bytes, data_stored_bytes;   /* data blobs: before and after compression */
	uint64_t snapshots;
};

/* dsb_catalog_totals(c, t): sums over the whole index; one blob stored twice counts once. */
int dsb_catalog_totals(struct dsb_catalog *c, struct dsb_catalog_totals *t);
/* dsb_catalog_listing_totals(c, snapshot_id, files, bytes): regular files in a listing and their sizes. */
int dsb_catalog_listing_totals(struct dsb_catalog *c, const char *snapshot_id, uint64_t *files,
    uint64_t *bytes);

/* ---- run history (catalog_runs.c): one row per job run and repository ---- */

struct dsb_catalog_run {
	int64_t id;               /* set by foreach_run; ignored by add_run */
	const char *run_id;       /* shared by the rows of one run */
	const char *job;
	const char *repository;   /* its name in the configuration file */
	const char *host;
	int64_t started, finished;   /* seconds since the epoch */
	int result;               /* exit code of this part: 0 ok, 3 some files failed, else failed */
	const char *sources;      /* JSON array of the source specs */
	const char *snapshots;    /* JSON array of the snapshot ids made */
	uint64_t files, bytes_read, bytes_added, errors;
	const char *error;        /* the first error message, "" if none */
};

/* dsb_catalog_add_run(c, run): record a run (NULL strings are stored as ""). */
int dsb_catalog_add_run(struct dsb_catalog *c, const struct dsb_catalog_run *run);
/*
 * dsb_catalog_foreach_run(c, job, limit, cb, arg): the runs of ${job} (NULL:
 * all), the newest ${limit} of them (0: all), oldest first.
 */
int dsb_catalog_foreach_run(struct dsb_catalog *c, const char *job, size_t limit,
    int (*cb)(void *arg, const struct dsb_catalog_run *run), void *arg);

/* ---- for prune (catalog_prune.c) ---- */

/*
 * dsb_catalog_begin_read(c): start a read transaction (end it with commit or
 * rollback): until then this handle sees the catalog as it was now, whatever
 * other processes write.  Writes to the main tables inside it fail when
 * another process has written meanwhile; prune's temporary tables are fine.
 */
int dsb_catalog_begin_read(struct dsb_catalog *c);
/* dsb_catalog_clear_index(c): delete every index object, pack and blob row (snapshots stay). */
int dsb_catalog_clear_index(struct dsb_catalog *c);
/* dsb_catalog_foreach_index(c, cb, arg): the hex ids of the index objects loaded, in id order. */
int dsb_catalog_foreach_index(struct dsb_catalog *c,
    int (*cb)(void *arg, const char *index_id), void *arg);

/*
 * Prune's working set: the live blobs and a state per pack, in temporary
 * tables of this handle (SQLite's temporary storage, not RAM, so memory
 * stays flat however many blobs there are).  One at a time per handle;
 * dsb_catalog_prune_free drops the tables.
 */
struct dsb_catalog_prune;
int dsb_catalog_prune_new(struct dsb_catalog *c, struct dsb_catalog_prune **out);
void dsb_catalog_prune_free(struct dsb_catalog_prune *p);
/* dsb_catalog_prune_mark_live(p, id): 1 when ${id} is newly marked live, 0 when it already was. */
int dsb_catalog_prune_mark_live(struct dsb_catalog_prune *p, const uint8_t id[32]);
/* dsb_catalog_prune_is_live(p, id): 1 or 0. */
int dsb_catalog_prune_is_live(struct dsb_catalog_prune *p, const uint8_t id[32]);
/* dsb_catalog_prune_missing(p, n, example): live blobs the index lacks: how many, and one of them. */
int dsb_catalog_prune_missing(struct dsb_catalog_prune *p, uint64_t *n, uint8_t example[32]);

/* How much of one pack the live blobs use (stored bytes, as the index gives them). */
struct dsb_catalog_pack_usage {
	struct dsb_pack_info pack;
	uint64_t blobs, stored_bytes;     /* blobs the catalog places in this pack */
	uint64_t live_blobs, live_bytes;  /* of which live */
};
/* dsb_catalog_prune_foreach_usage(p, cb, arg): every pack of the catalog, in id order. */
int dsb_catalog_prune_foreach_usage(struct dsb_catalog_prune *p,
    int (*cb)(void *arg, const struct dsb_catalog_pack_usage *u), void *arg);

/* A state per pack, chosen by the caller (any int), with a flag "no index object lists it". */
int dsb_catalog_prune_set_pack(struct dsb_catalog_prune *p, const uint8_t id[32], int state,
    int unindexed);
/* dsb_catalog_prune_get_pack(p, id, state, unindexed): 0, or DSB_ERR_NOT_FOUND (no message). */
int dsb_catalog_prune_get_pack(struct dsb_catalog_prune *p, const uint8_t id[32], int *state,
    int *unindexed);
/* dsb_catalog_prune_foreach_pack(p, state, cb, arg): the packs in ${state}, in id order; ${cb} must not change states. */
int dsb_catalog_prune_foreach_pack(struct dsb_catalog_prune *p, int state,
    int (*cb)(void *arg, const uint8_t id[32], int unindexed), void *arg);

/*
 * dsb_catalog_unindexed_since(c, pack, now, since): when a prune first saw
 * pack ${pack} in no index: the time recorded earlier, else ${now}, which is
 * recorded (kept in the meta table, so that it outlives this process).
 */
int dsb_catalog_unindexed_since(struct dsb_catalog *c, const uint8_t pack[32], int64_t now,
    int64_t *since);
/* dsb_catalog_unindexed_forget(c, pack): drop that record (the pack was deleted or indexed). */
int dsb_catalog_unindexed_forget(struct dsb_catalog *c, const uint8_t pack[32]);
/* dsb_catalog_prune_forget_unindexed(p): drop the records of packs that are not unindexed packs of ${p}. */
int dsb_catalog_prune_forget_unindexed(struct dsb_catalog_prune *p);

#endif
