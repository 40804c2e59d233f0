/*
 * engine.h: the operations of dsbackup on an open repository and its
 * catalog: backup, restore, listing, check, catalog rebuild.  Commands call
 * these; these call sources, the repository and the catalog.
 */
#ifndef DSBACKUP_ENGINE_H
#define DSBACKUP_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "dsbackup/catalog.h"
#include "dsbackup/repo.h"
#include "dsbackup/tree.h"

#include <signal.h>

/* set by the signal handler of the program: long operations stop cleanly when it is non-zero */
extern volatile sig_atomic_t dsb_interrupted;

/* ---- session: a repository with its catalog ---- */

struct dsb_session {
	struct dsb_repo *repo;
	struct dsb_catalog *cat;
	char *catalog_path;
};

struct dsb_open_opts {
	const char *url;
	const char *catalog_path;   /* NULL: <state dir>/catalogs/<repo id>.db */
	const char *password;
	size_t passlen;
	const struct dsb_unlock *unlock;   /* non-NULL: use these credentials (password ignored) */
};

/* dsb_state_dir(): $DSBACKUP_STATE_DIR, /var/lib/dsbackup for root, else $XDG_STATE_HOME/dsbackup or ~/.local/state/dsbackup (malloc'd). */
char *dsb_state_dir(void);

/*
 * dsb_session_open(o, out): open the repository, then its catalog; a
 * missing or damaged catalog is rebuilt from the backend with a message
 * saying so; then the catalog is brought up to date with the backend
 * (new index objects and snapshots loaded, vanished snapshots dropped).
 */
int dsb_session_open(const struct dsb_open_opts *o, struct dsb_session **out);
void dsb_session_close(struct dsb_session *s);

/* dsb_session_sync(s): load index objects and snapshots the catalog lacks. */
int dsb_session_sync(struct dsb_session *s);
/* dsb_session_require_read(s): DSB_ERR_BAD_KEY (DSB_WRITE_ONLY_MSG) when ${s} was opened by a write-only key slot. */
int dsb_session_require_read(struct dsb_session *s);

/*
 * dsb_catalog_rebuild(s): empty the catalog and recreate it from the
 * backend alone: index objects, then the trailers of packs no index lists,
 * then snapshots.
 */
int dsb_catalog_rebuild(struct dsb_session *s);

/* dsb_session_blob_ref(s, id, ref): where blob ${id} is stored; DSB_ERR_NOT_FOUND. */
int dsb_session_blob_ref(struct dsb_session *s, const uint8_t id[32], struct dsb_blob_ref *ref);

/* dsb_session_load_tree(s, id, t): read, verify and decode a tree blob into ${t} (initialised). */
int dsb_session_load_tree(struct dsb_session *s, const uint8_t id[32], struct dsb_tree *t);

/* ---- snapshots ---- */

struct dsb_snapshot {
	char id[65];
	int64_t time_sec;
	long time_nsec;
	char *host;
	char *user;
	char **paths;
	size_t npaths;
	char **tags;
	size_t ntags;
	uint8_t tree[32];
	char parent[65];   /* "" if none */
	char *source;      /* source spec ("path:/srv", "volume:db"); NULL for plain path backups */
	char *run_id;      /* snapshots made by one run share it; NULL if none */
	char *json;        /* the whole object */
};

/* dsb_snapshot_parse(id, json, out): parse and validate snapshot JSON. */
int dsb_snapshot_parse(const char *id, const char *json, struct dsb_snapshot *out);
void dsb_snapshot_release(struct dsb_snapshot *s);
/* dsb_session_snapshot(s, name, out): resolve "latest"/id/prefix and parse it from the catalog. */
int dsb_session_snapshot(struct dsb_session *s, const char *name, struct dsb_snapshot *out);

/* ---- backup ---- */

struct dsb_backup_opts {
	const char *const *paths;     /* absolute or relative; made absolute */
	size_t npaths;
	const char *const *tags;
	size_t ntags;
	const char *const *excludes;  /* glob patterns (dsb_glob_match) */
	size_t nexcludes;
	const char *host;             /* NULL: this host's name */
	int one_file_system;
	int has_time;                 /* use time_sec/nsec as the snapshot time */
	int64_t time_sec;
	long time_nsec;
	const char *parent;           /* NULL: the latest snapshot of the same host and paths */
	int workers;                  /* 0: number of CPUs */
	const char *source;           /* recorded as "source" (NULL: none) */
	const char *run_id;           /* recorded as "run_id" (NULL: none) */
	const char *source_meta;      /* JSON object recorded as "source_meta" (NULL: none) */
	int lock_wait_sec;            /* retry a locked repository this long (dsb_repo_lock_wait) */
	const char *const *escrow_recipients;  /* dsbr1... (dsb_repo_set_escrow); none: NULL, 0 */
	size_t nescrow_recipients;
	int escrow;                   /* key material: write it under an escrow run key (dsb_repo_escrow_begin) */
};

struct dsb_backup_stats {
	uint64_t files, dirs, files_new, files_changed, files_unchanged;
	uint64_t bytes_read, bytes_added, blobs_added, packs_added, errors, changed_while_read;
};

/*
 * dsb_backup(s, o, id_out, st): back up and write one snapshot.  0; or
 * DSB_ERR_PARTIAL when the snapshot was written but some files could not
 * be read (each was named on stderr); or an error, in which case no
 * snapshot was written.
 */
int dsb_backup(struct dsb_session *s, const struct dsb_backup_opts *o, char id_out[65],
    struct dsb_backup_stats *st);

/* ---- restore ---- */

struct dsb_restore_opts {
	const char *target;           /* directory; the snapshot's absolute paths are recreated below it */
	const char *const *includes;  /* glob patterns; none: everything */
	size_t nincludes;
	int no_owner;                 /* do not restore owners (default when not root) */
	const char *subtree;          /* non-NULL: restore only the entry at this absolute path of the
	                                 snapshot, as the path ${target} itself (a directory with its
	                                 content and metadata, or a file) */
};

struct dsb_restore_stats {
	uint64_t files, dirs, other, bytes, errors;
};

/*
 * dsb_restore(s, snap, o, st): restore through archive_write_disk with the
 * secure flags, verifying every blob and every file's hash.  0;
 * DSB_ERR_PARTIAL when some entries failed (named on stderr; a file that
 * failed verification is renamed NAME.dsbackup-damaged); or an error.
 */
int dsb_restore(struct dsb_session *s, const struct dsb_snapshot *snap,
    const struct dsb_restore_opts *o, struct dsb_restore_stats *st);

/* ---- listing ---- */

/*
 * dsb_list_files(s, snap, prefix, cb, arg): every entry of a snapshot below
 * ${prefix} (NULL: all), from the catalog; the listing is built from the
 * trees first if the catalog does not have it.
 */
int dsb_list_files(struct dsb_session *s, const struct dsb_snapshot *snap, const char *prefix,
    int (*cb)(void *arg, const struct dsb_catalog_file *f), void *arg);

/* ---- check ---- */

struct dsb_check_opts {
	int read_data;          /* read and verify every pack */
	double subset;          /* 0 < subset < 1: that share of packs, chosen at random */
};

struct dsb_check_stats {
	uint64_t snapshots, trees, blobs, packs, packs_read, unindexed_packs, errors;
};

/*
 * dsb_check(s, o, st): verify the repository from the backend (not from the
 * catalog): every snapshot -> tree -> blob resolves, every indexed pack
 * exists and its trailer agrees with the index; with read_data, every
 * pack's hash and every blob.  0 when clean; DSB_ERR_CORRUPT when problems
 * were found (each named on stderr).
 */
int dsb_check(struct dsb_session *s, const struct dsb_check_opts *o, struct dsb_check_stats *st);

/* ---- sources: volumes, compose projects, daemon config, trust keys (sources_run.c) ---- */

struct dsb_sources_run_opts {
	const char *const *specs;     /* "volume:db", "volume:*", "compose:app", "daemon", "trust", "path:/srv" */
	size_t nspecs;
	int docker;                   /* add every Docker source of this host (--docker) */
	const struct dsb_backup_opts *base;   /* tags, host, excludes, time for every snapshot */
	/* done(arg, spec, id, st, r): after each source; ${id} is "" when no snapshot was written */
	void (*done)(void *arg, const char *spec, const char *id, const struct dsb_backup_stats *st, int r);
	void *arg;
};

/*
 * dsb_sources_run(s, o, run_id): one snapshot per source (wildcards
 * expanded), all with the same new random ${run_id} (33 bytes with NUL),
 * each between its source's before() and after() hooks; after() runs on
 * every path out once before() ran.  A failing source does not stop the
 * others; a signal does (after the current source is put back).  First,
 * containers that a dead run left stopped are started again.  Returns the
 * worst result: 0, DSB_ERR_PARTIAL, or an error (each failure was logged).
 */
int dsb_sources_run(struct dsb_session *s, const struct dsb_sources_run_opts *o, char run_id[33]);

/* dsb_sources_setup(): settings of the Docker sources (state dir, signal flag); done by the calls below. */
int dsb_sources_setup(void);

/* ---- restoring sources (source_restore.c) ---- */

struct dsb_source_restore_opts {
	const char *target;           /* NULL: where the files came from (volumes: see to_volume) */
	const char *to_volume;        /* volume snapshots: restore into this volume (NULL: the same name) */
	const char *host;             /* restore --docker: the latest run of this host (NULL: this host) */
	int force;                    /* overwrite a volume in use or not empty */
	int dry_run;                  /* only report the plan through ${plan} */
	int no_owner;
	void (*plan)(void *arg, const char *line);
	void *arg;
};

/* dsb_source_latest(s, source, host, out): the latest snapshot of ${source} (of ${host}, NULL: any); DSB_ERR_NOT_FOUND. */
int dsb_source_latest(struct dsb_session *s, const char *source, const char *host,
    struct dsb_snapshot *out);

/*
 * dsb_source_restore(s, snap, o, st): put a source's snapshot back: a
 * volume recreated through the Docker API and filled; compose files to the
 * working directory, daemon config (after checking that daemon.json
 * parses) and trust keys to where they were, or below o->target.
 */
int dsb_source_restore(struct dsb_session *s, const struct dsb_snapshot *snap,
    const struct dsb_source_restore_opts *o, struct dsb_restore_stats *st);

/*
 * dsb_docker_restore_latest(s, o, st): every snapshot of the latest run
 * of the host that holds Docker sources: daemon config, trust, volumes,
 * compose projects, in that order.  A failing one does not stop the others.
 */
int dsb_docker_restore_latest(struct dsb_session *s, const struct dsb_source_restore_opts *o,
    struct dsb_restore_stats *st);

/* ---- retention: forget and prune (src/engine/forget.c, prune.c) ---- */

/*
 * A retention policy, with restic's documented semantics for "forget": within
 * each group, snapshots are ordered newest first; keep-last keeps the N
 * newest; keep-hourly/daily/weekly/monthly/yearly keep the newest snapshot of
 * each of the N most recent hours/days/ISO weeks/months/years that have
 * snapshots; keep-within keeps all snapshots within DURATION of the newest;
 * keep-tag keeps snapshots with any of the tags.  A snapshot kept by any rule
 * is kept; with no rule at all nothing is removed.
 *
 * In detail, as restic (0.16 and later) does it: a count of -1 means
 * unlimited; hours, days, ISO weeks, months and years are those of the
 * snapshot time in the local time zone; when a count rule still has counts
 * left at the oldest snapshot of the group, that one is kept too ("oldest
 * daily", ...).  "Newest" for keep-within is the newest snapshot not in the
 * future, and a snapshot is within when it is strictly after newest minus
 * the duration, subtracting years, months and days on the calendar (as
 * Go's AddDate) and then hours and keep_within_sec.  Each keep_tags entry
 * is a comma-separated list of tags that must all be present; "" matches
 * untagged snapshots.
 */
struct dsb_forget_within {
	int years, months, days, hours;
};

struct dsb_forget_policy {
	int keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly;
	int64_t keep_within_sec;          /* 0: none */
	const char *const *keep_tags;
	size_t nkeep_tags;
	struct dsb_forget_within keep_within;   /* calendar duration; all zero: none */
};

/*
 * dsb_forget_parse_within(s, out): restic's duration syntax, numbers each
 * followed by y, m (months), d or h: "1y2m3d4h", "10d".  0 or DSB_ERR_USAGE.
 */
int dsb_forget_parse_within(const char *s, struct dsb_forget_within *out);

struct dsb_forget_opts {
	struct dsb_forget_policy policy;
	const char *group_by;     /* "host,source,paths" (default), any comma list of host, source, paths, tags */
	const char *host;         /* only snapshots of this host (NULL: all) */
	const char *source;       /* only snapshots of this source spec (NULL: all) */
	int dry_run;
	int lock_wait_sec;        /* retry a locked repository this long */
};

/* One decision, reported to the caller (for --dry-run and --json). */
struct dsb_forget_decision {
	const struct dsb_snapshot *snap;
	const char *group;        /* the group key */
	int keep;
	const char *reasons;      /* "last, daily, weekly" for kept snapshots; "" otherwise */
};

/*
 * dsb_forget(s, o, cb, arg): apply the policy; ${cb} sees every decision in
 * each group newest first.  Removes the snapshots not kept (unless dry_run)
 * under a shared lock; data is freed only by prune.  DSB_ERR_USAGE ("no
 * policy given") when the policy has no rule at all: nothing is removed.
 */
int dsb_forget(struct dsb_session *s, const struct dsb_forget_opts *o,
    int (*cb)(void *arg, const struct dsb_forget_decision *d), void *arg);

struct dsb_prune_opts {
	double repack_below;      /* repack packs whose live share is below this (0: 0.5; < 0: never) */
	int dry_run;
	/* unreferenced packs in no index are deleted this long after a prune first saw them (0: 1 hour; < 0: at once) */
	int64_t unindexed_grace_sec;
	int lock_wait_sec;        /* retry a locked repository this long */
	int rekey;                /* key rotate --rewrite: also copy every live blob of a pack under another data key */
};

struct dsb_prune_stats {
	uint64_t packs_deleted, packs_repacked, packs_kept, bytes_freed, bytes_repacked;
	uint64_t blobs_live, blobs_dead, index_objects_replaced;
	uint64_t snapshots;       /* snapshots whose trees were walked */
	uint64_t packs_written;   /* new packs holding the repacked blobs */
	uint64_t packs_waiting;   /* unreferenced packs in no index, younger than the grace period */
	uint64_t bytes_total;     /* size of all packs before */
};

/*
 * dsb_prune(s, o, st): under an exclusive lock, delete data no snapshot
 * references.  Order (crash-safe): repack live blobs into new packs, write
 * new index objects covering every kept pack, then delete the old index
 * objects, then the unreferenced packs.  Works from the catalog (bounded
 * memory).  With dry_run, ${st} says what it would do and nothing changes.
 * Refuses (DSB_ERR_CORRUPT, before changing anything) when a snapshot needs
 * a blob that no pack holds.
 */
int dsb_prune(struct dsb_session *s, const struct dsb_prune_opts *o, struct dsb_prune_stats *st);

/* ---- key rotate --rewrite (rekey.c) ---- */

struct dsb_rekey_stats {
	struct dsb_prune_stats prune;   /* the repacking pass */
	uint64_t snapshots_rewritten;
	int stale_slots;                /* passphrase slots that no longer open the repository */
};

/*
 * dsb_rekey(s, pass, passlen, lock_wait_sec, st): re-encrypt everything
 * under the current data key and drop the others from the keyring
 * (docs/FORMAT.md §4, "Rotation").  Crash-safe and resumable: packs and
 * index objects are replaced as prune does, each snapshot is stored again
 * (with "rewritten_from") before its old copy is deleted, and the old keys
 * are dropped only once no object needs them.  ${pass} wraps the current
 * key again in the passphrase slot that opened the repository (NULL: none).
 */
int dsb_rekey(struct dsb_session *s, const char *pass, size_t passlen, int lock_wait_sec,
    struct dsb_rekey_stats *st);

/*
 * dsb_key_rotate(s, pass, passlen, rewrite, lock_wait_sec, st): "key
 * rotate": under an exclusive lock a new current data key
 * (dsb_repo_rotate); with ${rewrite}, then dsb_rekey.  A rerun after an
 * interrupted --rewrite makes no second key: it continues the rewrite.
 */
int dsb_key_rotate(struct dsb_session *s, const char *pass, size_t passlen, int rewrite,
    int lock_wait_sec, struct dsb_rekey_stats *st);

/* ---- dump and import: snapshots as archives (dump.c, import.c) ---- */

enum dsb_dump_format { DSB_DUMP_PAX = 0, DSB_DUMP_TAR, DSB_DUMP_ZIP, DSB_DUMP_TAR_ZST };

/* dsb_dump_format_parse(name, out): "pax", "tar" (GNU tar), "zip", "tar.zst" (pax, zstd); DSB_ERR_USAGE. */
int dsb_dump_format_parse(const char *name, int *out);

struct dsb_dump_opts {
	const char *path;   /* NULL or "/": the whole snapshot, as its absolute paths without the
	                       leading "/"; else the entry at this absolute path: a directory as
	                       "." and its entries relative to it, a file under its own name */
	int format;         /* enum dsb_dump_format */
	int fd;             /* where the archive goes */
};

struct dsb_dump_stats {
	uint64_t files, dirs, other, bytes;
	uint64_t skipped;   /* entries the format cannot hold (sockets; devices in zip), each warned about */
};

/*
 * dsb_dump(s, snap, o, st): write the snapshot (or o->path of it) as an
 * archive through libarchive, with owners (ids and names), modes, times,
 * symlinks, hard links (not in zip), devices and fifos, and xattrs and ACLs
 * in pax; sparse files as data.  Every blob is verified as restore does.
 * 0; or an error naming the entry, after which the archive is left
 * unfinished (no end marker), so that a reader sees it is cut short.
 */
int dsb_dump(struct dsb_session *s, const struct dsb_snapshot *snap, const struct dsb_dump_opts *o,
    struct dsb_dump_stats *st);

struct dsb_import_opts {
	const char *archive;                  /* a file, or "-" for standard input */
	const struct dsb_backup_opts *base;   /* tags, host, time, lock_wait_sec, workers; base->source
	                                         ("volume:NAME", "path:DIR" or NULL) says where the
	                                         archive's root goes: the volume's usual mountpoint
	                                         /var/lib/docker/volumes/NAME/_data (recorded as that
	                                         volume, restorable with restore --source), DIR, or / */
};

/*
 * dsb_import(s, o, id_out, st): read any archive libarchive reads (tar, pax,
 * cpio, zip, ..., compressed by any filter it knows) into a new snapshot,
 * stored as a backup stores (chunked, deduplicated, encrypted).  A later
 * entry of the same path replaces an earlier one, as tar does; directories
 * the archive lacks are made (0755).  An unreadable or truncated archive,
 * or an entry with ".." in its path, fails naming the archive and the
 * entry, and no snapshot is written.
 */
int dsb_import(struct dsb_session *s, const struct dsb_import_opts *o, char id_out[65],
    struct dsb_backup_stats *st);

#endif
