/*
 * inspect.h: looking into a repository without changing it: the
 * differences between two snapshots (diff.c), files across all snapshots
 * from the catalog alone (find.c), and sizes and growth (stats.c).
 */
#ifndef DSBACKUP_INSPECT_H
#define DSBACKUP_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "dsbackup/engine.h"

/* ---- diff ---- */

enum dsb_diff_kind {
	DSB_DIFF_ADDED = '+',
	DSB_DIFF_REMOVED = '-',
	DSB_DIFF_MODIFIED = 'M',   /* content (or link target, device number) changed */
	DSB_DIFF_METADATA = 'U'    /* only mode, owner, mtime, xattrs, ACL or flags changed */
};

struct dsb_diff_change {
	int kind;                        /* enum dsb_diff_kind */
	const char *path;                /* absolute path in the snapshots */
	const struct dsb_node *old_node; /* NULL for ADDED */
	const struct dsb_node *new_node; /* NULL for REMOVED */
};

struct dsb_diff_stats {
	uint64_t added, removed, modified, metadata;
	uint64_t bytes_added, bytes_removed;   /* sizes of added / removed files (modified: both) */
	uint64_t trees_skipped;                /* subtrees equal by id, not read */
};

/*
 * dsb_diff(s, a, b, cb, arg, st): every change from snapshot ${a} to ${b},
 * in path order, to ${cb} (a non-zero return stops and is returned).
 * Directories whose subtree ids are equal are skipped unread.  A node that
 * changed type is REMOVED then ADDED; the entries below an added or removed
 * directory are reported too.
 */
int dsb_diff(struct dsb_session *s, const struct dsb_snapshot *a, const struct dsb_snapshot *b,
    int (*cb)(void *arg, const struct dsb_diff_change *c), void *arg, struct dsb_diff_stats *st);

/* ---- find: the catalog alone ---- */

/*
 * dsb_session_open_catalog(url, catalog_path, out): a session with the
 * catalog only (s->repo is NULL): the one at ${catalog_path}, else the one
 * this host last used for repository ${url} (recorded by dsb_session_open
 * when it used the default catalog path).
 * Never touches the backend and needs no password.  DSB_ERR_NOT_FOUND with a
 * message saying what to do when no catalog is known for ${url}.
 */
int dsb_session_open_catalog(const char *url, const char *catalog_path, struct dsb_session **out);

/* dsb_session_remember_catalog(url, catalog_path): record which catalog serves ${url} (best effort). */
void dsb_session_remember_catalog(const char *url, const char *catalog_path);

struct dsb_find_opts {
	const char *pattern;   /* fnmatch glob: on the whole path when it has a '/', else on the base name */
	const char *host;      /* NULL: any */
	const char *source;    /* NULL: any */
};

struct dsb_find_match {
	const struct dsb_snapshot *snap;
	const struct dsb_catalog_file *file;
};

/*
 * dsb_find(s, o, cb, arg, unlisted): the matching files of every snapshot
 * (in time order, then path order) from the catalog's listings;
 * ${unlisted} counts the snapshots that have no listing in the catalog yet
 * (skipped).  Touches no backend.
 */
int dsb_find(struct dsb_session *s, const struct dsb_find_opts *o,
    int (*cb)(void *arg, const struct dsb_find_match *m), void *arg, uint64_t *unlisted);

/* ---- stats ---- */

/* One series of snapshots: a source (or set of paths) of one host. */
struct dsb_stats_group {
	const char *host;
	const char *what;            /* the source spec, else the paths joined by spaces */
	uint64_t snapshots;
	int64_t first, last;         /* times, seconds since the epoch */
	const char *latest_id;
	uint64_t latest_files, latest_bytes;   /* logical size of the latest snapshot */
	uint64_t first_bytes;                  /* ... of the first one */
	uint64_t bytes_added;        /* stored bytes its backups added to the repository */
};

struct dsb_stats {
	struct dsb_catalog_totals totals;
	uint64_t logical_latest;     /* sum of the latest snapshot of each group */
	uint64_t logical_all;        /* sum over every snapshot */
	uint64_t unlisted;           /* snapshots whose listing could not be built */
	double dedup_ratio;          /* logical_all / data_raw_bytes (0 when no data) */
	double compression_ratio;    /* data_raw_bytes / data_stored_bytes (0 when no data) */
};

/*
 * dsb_stats(s, st, cb, arg): fill ${st} from the catalog (listings missing
 * from it are built from the trees), and pass each group to ${cb}, ordered
 * by host, then source or paths.
 */
int dsb_stats(struct dsb_session *s, struct dsb_stats *st,
    int (*cb)(void *arg, const struct dsb_stats_group *g), void *arg);

#endif
