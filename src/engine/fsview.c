/*
 * fsview.c: the snapshots of a repository as a read-only tree of paths
 * (fsview.h): virtual directories and links built from the snapshot list,
 * the snapshots' own trees below /snapshots/<id>, and ranged reads that
 * fetch and verify only the blobs they need.  Decoded trees and blobs are
 * kept in small least-recently-used caches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dsbackup/crypto.h"
#include "dsbackup/error.h"
#include "dsbackup/fsview.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "engine_internal.h"

#define NAME_MAX_LEN 4096
#define NAME_SHORT 200      /* longer names of hosts and groups are shortened */

struct view_snap {
	struct dsb_snapshot snap;
	char *host;        /* encoded as a name */
	char *group;       /* encoded as a name */
	char time[32];     /* "2026-11-28T19:17:34Z" */
};

/* a distinct host or group with its newest snapshot */
struct view_key {
	char *name;
	size_t newest;
};

/* what a cache knows of one of its slots */
struct cache_key {
	int valid;
	uint8_t id[32];
	uint64_t used;
};

struct dsb_fsview {
	struct dsb_session *s;
	int refresh_sec;
	int refreshed;
	int64_t last_refresh;
	struct view_snap *snaps;   /* oldest first */
	size_t nsnaps;
	struct view_key *hosts, *groups;
	size_t nhosts, ngroups;
	uint64_t tick;
	struct cache_key tree_keys[DSB_FSVIEW_TREE_CACHE];
	struct dsb_tree trees[DSB_FSVIEW_TREE_CACHE];
	struct cache_key blob_keys[DSB_FSVIEW_BLOB_CACHE];
	struct dsb_buf blobs[DSB_FSVIEW_BLOB_CACHE];
	struct dsb_blob_opener *opener;
	struct dsb_buf scratch;
	struct dsb_node synth;     /* the virtual entry handed out last */
};

struct dsb_fsview_file {
	uint8_t (*ids)[32];
	uint64_t *offs;            /* n + 1: where each blob starts, then the size */
	size_t n;
};

/* the directories of the view: the root, the five below it, and one per host or group */
enum vdir { VD_ROOT, VD_SNAPSHOTS, VD_BY_TIME, VD_BY_HOST, VD_BY_SOURCE, VD_LATEST, VD_HOST, VD_GROUP };

static const char *const top_names[] = { "snapshots", "by-time", "by-host", "by-source", "latest" };

static int64_t monotonic_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/*
 * shorten_name(name, len): a name longer than NAME_SHORT bytes (the kernel
 * takes 255 at most) is cut, not inside a %XX, and "~" with 8 hex digits of
 * the SHA-256 of the whole name appended: still unique, still reachable.
 */
static void shorten_name(char *name, size_t len)
{
	uint8_t digest[32];
	char hex[65];
	size_t cut = NAME_SHORT - 9;

	if (len <= NAME_SHORT)
		return;
	dsb_sha256(name, len, digest);
	dsb_hex_encode(digest, sizeof(digest), hex);
	while (cut > 0 && (name[cut - 1] == '%' || (cut >= 2 && name[cut - 2] == '%')))
		cut--;
	snprintf(name + cut, len + 1 - cut, "~%.8s", hex);
}

/* encode_name(s): ${s} as one path component: "%" and "/" escaped; "", ".", ".." made visible */
static char *encode_name(const char *s)
{
	struct dsb_buf b;
	char nul = '\0';
	int r = 0;

	if (strcmp(s, "") == 0 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return dsb_strdup(s[0] == '\0' ? "%00" : s[1] == '\0' ? "%2E" : "%2E%2E");
	dsb_buf_init(&b, 0);
	for (; *s != '\0' && r == 0; s++)
		r = *s == '/' ? dsb_buf_append(&b, "%2F", 3) : *s == '%' ? dsb_buf_append(&b, "%25", 3) :
		    dsb_buf_append(&b, s, 1);
	if (r != 0 || dsb_buf_append(&b, &nul, 1) != 0) {
		dsb_buf_release(&b);
		return NULL;
	}
	shorten_name((char *)b.data, b.len - 1);
	return (char *)b.data;
}

/* group_of(snap): the source spec, else the paths joined by "," (malloc'd, not encoded) */
static char *group_of(const struct dsb_snapshot *snap)
{
	struct dsb_buf b;
	char nul = '\0';
	size_t i;
	int r = 0;

	if (snap->source != NULL)
		return dsb_strdup(snap->source);
	dsb_buf_init(&b, 0);
	for (i = 0; i < snap->npaths && r == 0; i++) {
		if (i > 0)
			r = dsb_buf_append(&b, ",", 1);
		if (r == 0)
			r = dsb_buf_append(&b, snap->paths[i], strlen(snap->paths[i]));
	}
	if (r != 0 || dsb_buf_append(&b, &nul, 1) != 0) {
		dsb_buf_release(&b);
		return NULL;
	}
	return (char *)b.data;
}

static void release_snaps(struct view_snap *snaps, size_t n, struct view_key *hosts, size_t nh,
    struct view_key *groups, size_t ng)
{
	size_t i;

	for (i = 0; i < n; i++) {
		dsb_snapshot_release(&snaps[i].snap);
		free(snaps[i].host);
		free(snaps[i].group);
	}
	free(snaps);
	for (i = 0; i < nh; i++)
		free(hosts[i].name);
	free(hosts);
	for (i = 0; i < ng; i++)
		free(groups[i].name);
	free(groups);
}

/* the snapshot list being loaded by a refresh */
struct loading {
	struct view_snap *snaps;
	size_t n, cap;
	struct view_key *hosts, *groups;
	size_t nhosts, ngroups, caphosts, capgroups;
};

/* note_key(keys, n, cap, name, idx): ${idx} (newer than all before) is the newest of ${name} */
static int note_key(struct view_key **keys, size_t *n, size_t *cap, const char *name, size_t idx)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*keys)[i].name, name) == 0) {
			(*keys)[i].newest = idx;
			return 0;
		}
	if (DSB_GROW(*keys, *cap, *n, "the snapshot tree") != 0)
		return DSB_ERR_NOMEM;
	if (((*keys)[*n].name = dsb_strdup(name)) == NULL)
		return DSB_ERR_NOMEM;
	(*keys)[(*n)++].newest = idx;
	return 0;
}

static int load_snapshot(void *arg, const struct dsb_catalog_snapshot *cs)
{
	struct loading *l = arg;
	struct view_snap *vs;
	char ts[64], *group;
	int r;

	if (DSB_GROW(l->snaps, l->cap, l->n, "the snapshot tree") != 0)
		return DSB_ERR_NOMEM;
	vs = &l->snaps[l->n];
	memset(vs, 0, sizeof(*vs));
	if (dsb_snapshot_parse(cs->id, cs->json, &vs->snap) != 0) {
		dsb_warn("mount: snapshot %.8s is left out: %s", cs->id, dsb_errmsg());
		return 0;
	}
	dsb_time_format(vs->snap.time_sec, 0, ts, sizeof(ts));
	snprintf(vs->time, sizeof(vs->time), "%.19sZ", ts);
	group = group_of(&vs->snap);
	vs->host = encode_name(vs->snap.host);
	vs->group = group != NULL ? encode_name(group) : NULL;
	free(group);
	l->n++;
	if (vs->host == NULL || vs->group == NULL)
		return DSB_ERR_NOMEM;
	if ((r = note_key(&l->hosts, &l->nhosts, &l->caphosts, vs->host, l->n - 1)) != 0)
		return r;
	return note_key(&l->groups, &l->ngroups, &l->capgroups, vs->group, l->n - 1);
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct view_key *)a)->name, ((const struct view_key *)b)->name);
}

int dsb_fsview_refresh(struct dsb_fsview *v, int force)
{
	struct loading l;
	int64_t now = monotonic_sec();
	int r;

	if (!force && v->refreshed && now - v->last_refresh < v->refresh_sec)
		return 0;
	v->refreshed = 1;
	v->last_refresh = now;
	if (dsb_session_sync(v->s) != 0)
		dsb_warn("mount: cannot bring the snapshot list up to date: %s (showing the known "
		    "snapshots)", dsb_errmsg());
	memset(&l, 0, sizeof(l));
	if ((r = dsb_catalog_foreach_snapshot(v->s->cat, load_snapshot, &l)) != 0) {
		release_snaps(l.snaps, l.n, l.hosts, l.nhosts, l.groups, l.ngroups);
		return r;
	}
	qsort(l.hosts, l.nhosts, sizeof(*l.hosts), key_cmp);
	qsort(l.groups, l.ngroups, sizeof(*l.groups), key_cmp);
	release_snaps(v->snaps, v->nsnaps, v->hosts, v->nhosts, v->groups, v->ngroups);
	v->snaps = l.snaps;
	v->nsnaps = l.n;
	v->hosts = l.hosts;
	v->nhosts = l.nhosts;
	v->groups = l.groups;
	v->ngroups = l.ngroups;
	return 0;
}

int dsb_fsview_new(struct dsb_session *s, int refresh_sec, struct dsb_fsview **out)
{
	struct dsb_fsview *v;
	size_t i;
	int r;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	v->s = s;
	v->refresh_sec = refresh_sec;
	dsb_buf_init(&v->scratch, (size_t)DSB_BLOB_RAW_MAX + 64);
	for (i = 0; i < DSB_FSVIEW_TREE_CACHE; i++)
		dsb_tree_init(&v->trees[i]);
	for (i = 0; i < DSB_FSVIEW_BLOB_CACHE; i++)
		dsb_buf_init(&v->blobs[i], (size_t)DSB_BLOB_RAW_MAX + 64);
	if ((r = dsb_blob_opener_new(dsb_repo_keys(s->repo), &v->opener)) != 0 ||
	    (r = dsb_fsview_refresh(v, 1)) != 0) {
		dsb_fsview_free(v);
		return r;
	}
	*out = v;
	return 0;
}

void dsb_fsview_free(struct dsb_fsview *v)
{
	size_t i;

	if (v == NULL)
		return;
	release_snaps(v->snaps, v->nsnaps, v->hosts, v->nhosts, v->groups, v->ngroups);
	for (i = 0; i < DSB_FSVIEW_TREE_CACHE; i++)
		dsb_tree_release(&v->trees[i]);
	for (i = 0; i < DSB_FSVIEW_BLOB_CACHE; i++)
		dsb_buf_release(&v->blobs[i]);
	dsb_blob_opener_free(v->opener);
	dsb_buf_release(&v->scratch);
	free(v->synth.name);
	free(v->synth.target);
	free(v);
}

/* ---- the caches ---- */

/*
 * cache_pick(v, keys, n, id, hit): the slot holding ${id} (*hit = 1, marked
 * used), else the one to fill (*hit = 0): an empty one or the least
 * recently used, marked empty until filled.
 */
static size_t cache_pick(struct dsb_fsview *v, struct cache_key *keys, size_t n, const uint8_t id[32],
    int *hit)
{
	size_t i, victim = 0;

	for (i = 0; i < n; i++) {
		if (keys[i].valid && memcmp(keys[i].id, id, 32) == 0) {
			keys[i].used = ++v->tick;
			*hit = 1;
			return i;
		}
		if (!keys[i].valid || (keys[victim].valid && keys[i].used < keys[victim].used))
			victim = i;
	}
	keys[victim].valid = 0;
	*hit = 0;
	return victim;
}

/* cache_filled(v, key, id): the slot of ${key} now holds ${id} */
static void cache_filled(struct dsb_fsview *v, struct cache_key *key, const uint8_t id[32])
{
	memcpy(key->id, id, 32);
	key->valid = 1;
	key->used = ++v->tick;
}

/* load_tree(v, id, out): the decoded tree ${id}, from the cache or read and verified into it */
static int load_tree(struct dsb_fsview *v, const uint8_t id[32], const struct dsb_tree **out)
{
	int hit, r;
	size_t i = cache_pick(v, v->tree_keys, DSB_FSVIEW_TREE_CACHE, id, &hit);

	if (!hit) {
		dsb_tree_release(&v->trees[i]);
		dsb_tree_init(&v->trees[i]);
		if ((r = dsb_session_load_tree(v->s, id, &v->trees[i])) != 0)
			return r;
		cache_filled(v, &v->tree_keys[i], id);
	}
	*out = &v->trees[i];
	return 0;
}

/* fetch_blob(v, id, out): read and verify blob ${id}; DSB_ERR_NOT_FOUND when the index or its pack lacks it */
static int fetch_blob(struct dsb_fsview *v, const uint8_t id[32], struct dsb_buf *out)
{
	struct dsb_blob_ref ref;
	int r;

	if ((r = dsb_session_blob_ref(v->s, id, &ref)) != 0)
		return r == DSB_ERR_NOT_FOUND ? dsb_error(DSB_ERR_NOT_FOUND, "not in the index") : r;
	return dsb_repo_read_blob(v->s->repo, v->opener, &ref, &v->scratch, out);
}

/* load_blob(v, id, len, out): data blob ${id} of ${len} bytes, verified, from the cache or the repository */
static int load_blob(struct dsb_fsview *v, const uint8_t id[32], uint64_t len, const struct dsb_buf **out)
{
	char hex[65];
	int hit, r;
	size_t i = cache_pick(v, v->blob_keys, DSB_FSVIEW_BLOB_CACHE, id, &hit);

	*out = &v->blobs[i];
	if (hit)
		return 0;
	dsb_hex_encode(id, 32, hex);
	if ((r = fetch_blob(v, id, &v->blobs[i])) == DSB_ERR_NOT_FOUND) {
		/* a prune may have moved it since the catalog was read: look again, once */
		if ((r = dsb_fsview_refresh(v, 1)) == 0 &&
		    (r = fetch_blob(v, id, &v->blobs[i])) == DSB_ERR_NOT_FOUND)
			r = dsb_error_wrap(DSB_ERR_CORRUPT, "blob %.16s is missing (check the repository)", hex);
	}
	if (r != 0)
		return r;
	if (v->blobs[i].len != len)
		return dsb_error(DSB_ERR_CORRUPT, "blob %.16s holds %zu bytes, the index says %llu", hex,
		    v->blobs[i].len, (unsigned long long)len);
	cache_filled(v, &v->blob_keys[i], id);
	return 0;
}

/* ---- virtual entries ---- */

/* synth(v, type, name, target, mtime): fill the view's virtual node */
static const struct dsb_node *synth(struct dsb_fsview *v, int type, const char *name,
    const char *target, int64_t mtime)
{
	struct dsb_node *n = &v->synth;

	free(n->name);
	free(n->target);
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->mode = type == DSB_NODE_DIR ? 0555 : 0777;
	n->uid = (uint32_t)geteuid();
	n->gid = (uint32_t)getegid();
	n->mtime = n->atime = n->ctime = mtime;
	n->nlink = 1;
	n->name = dsb_strdup(name);
	n->target = target != NULL ? dsb_strdup(target) : NULL;
	n->size = target != NULL ? strlen(target) : 0;
	if (n->name == NULL || (target != NULL && n->target == NULL))
		return NULL;
	return n;
}

/* emit(v, type, name, target, mtime, cb, arg): hand one virtual entry to ${cb} */
static int emit(struct dsb_fsview *v, int type, const char *name, const char *target, int64_t mtime,
    int (*cb)(void *arg, const struct dsb_node *n), void *arg)
{
	const struct dsb_node *n = synth(v, type, name, target, mtime);

	return n != NULL ? cb(arg, n) : DSB_ERR_NOMEM;
}

static int64_t newest_time(const struct dsb_fsview *v)
{
	return v->nsnaps > 0 ? v->snaps[v->nsnaps - 1].snap.time_sec : 0;
}

/* snap_in(v, i, dir, key): snapshot ${i} belongs to the per-host or per-group directory ${key} */
static int snap_in(const struct dsb_fsview *v, size_t i, enum vdir dir, const char *key)
{
	return strcmp(dir == VD_HOST ? v->snaps[i].host : v->snaps[i].group, key) == 0;
}

/* time_name(v, i, dir, key, out): "<time>", or "<time>_<id8>" when another snapshot of the directory has that second */
static void time_name(const struct dsb_fsview *v, size_t i, enum vdir dir, const char *key, char *out,
    size_t n)
{
	int64_t t = v->snaps[i].snap.time_sec;
	int dup = dir == VD_BY_TIME;
	size_t j;

	for (j = i; !dup && j > 0 && v->snaps[j - 1].snap.time_sec == t; j--)
		dup = snap_in(v, j - 1, dir, key);
	for (j = i + 1; !dup && j < v->nsnaps && v->snaps[j].snap.time_sec == t; j++)
		dup = snap_in(v, j, dir, key);
	if (dup)
		snprintf(out, n, "%s_%.8s", v->snaps[i].time, v->snaps[i].snap.id);
	else
		snprintf(out, n, "%s", v->snaps[i].time);
}

/* each_key(v, keys, nkeys, links, cb, arg): a directory per host/group, or (latest/) a link to its newest snapshot */
static int each_key(struct dsb_fsview *v, const struct view_key *keys, size_t nkeys, int links,
    int (*cb)(void *arg, const struct dsb_node *n), void *arg)
{
	char target[128];
	size_t i;
	int r;

	for (i = 0; i < nkeys; i++) {
		const struct dsb_snapshot *newest = &v->snaps[keys[i].newest].snap;

		snprintf(target, sizeof(target), "../snapshots/%s", newest->id);
		if ((r = emit(v, links ? DSB_NODE_SYMLINK : DSB_NODE_DIR, keys[i].name, links ? target : NULL,
		    newest->time_sec, cb, arg)) != 0)
			return r;
	}
	return 0;
}

/* each_snap(v, dir, key, cb, arg): the snapshots of a directory of the view, as directories or links */
static int each_snap(struct dsb_fsview *v, enum vdir dir, const char *key,
    int (*cb)(void *arg, const struct dsb_node *n), void *arg)
{
	char name[128], target[128];
	size_t i;
	int r;

	for (i = 0; i < v->nsnaps; i++) {
		const struct dsb_snapshot *snap = &v->snaps[i].snap;

		if ((dir == VD_HOST || dir == VD_GROUP) && !snap_in(v, i, dir, key))
			continue;
		if (dir == VD_SNAPSHOTS) {
			r = emit(v, DSB_NODE_DIR, snap->id, NULL, snap->time_sec, cb, arg);
		} else {
			time_name(v, i, dir, key, name, sizeof(name));
			snprintf(target, sizeof(target), "%s../snapshots/%s", dir == VD_BY_TIME ? "" : "../",
			    snap->id);
			r = emit(v, DSB_NODE_SYMLINK, name, target, snap->time_sec, cb, arg);
		}
		if (r != 0)
			return r;
	}
	return 0;
}

static int each_virtual(struct dsb_fsview *v, enum vdir dir, const char *key,
    int (*cb)(void *arg, const struct dsb_node *n), void *arg)
{
	size_t i;
	int r;

	switch (dir) {
	case VD_ROOT:
		for (i = 0; i < sizeof(top_names) / sizeof(top_names[0]); i++)
			if ((r = emit(v, DSB_NODE_DIR, top_names[i], NULL, newest_time(v), cb, arg)) != 0)
				return r;
		return 0;
	case VD_BY_HOST: return each_key(v, v->hosts, v->nhosts, 0, cb, arg);
	case VD_BY_SOURCE: return each_key(v, v->groups, v->ngroups, 0, cb, arg);
	case VD_LATEST: return each_key(v, v->groups, v->ngroups, 1, cb, arg);
	default: return each_snap(v, dir, key, cb, arg);
	}
}

/* ---- resolving a path ---- */

/* next_comp(p, comp): the next component of ${*p} into ${comp}; 0 at the end, -1 when too long */
static int next_comp(const char **p, char comp[NAME_MAX_LEN])
{
	size_t len;

	while (**p == '/')
		(*p)++;
	if (**p == '\0')
		return 0;
	len = strcspn(*p, "/");
	if (len >= NAME_MAX_LEN)
		return -1;
	memcpy(comp, *p, len);
	comp[len] = '\0';
	*p += len;
	return 1;
}

struct find_arg {
	const char *name;
	const struct dsb_node *found;
};

static int find_cb(void *arg, const struct dsb_node *n)
{
	struct find_arg *f = arg;

	if (strcmp(n->name, f->name) != 0)
		return 0;
	f->found = n;
	return 1;
}

/* find_virtual(v, dir, key, name, out): the entry ${name} of a virtual directory, refreshing once if absent */
static int find_virtual(struct dsb_fsview *v, enum vdir dir, const char *key, const char *name,
    const struct dsb_node **out)
{
	struct find_arg f = { name, NULL };
	int r;

	if ((r = each_virtual(v, dir, key, find_cb, &f)) < 0)
		return r;
	if (f.found == NULL) {
		if ((r = dsb_fsview_refresh(v, 0)) != 0 || (r = each_virtual(v, dir, key, find_cb, &f)) < 0)
			return r;
		if (f.found == NULL)
			return DSB_ERR_NOT_FOUND;
	}
	*out = f.found;
	return 0;
}

/* Where a path leads: a virtual directory, a virtual entry, or a path inside a snapshot. */
struct resolved {
	int is_vdir;
	enum vdir dir;
	char key[NAME_MAX_LEN];         /* the host or group of VD_HOST / VD_GROUP */
	const struct dsb_node *node;    /* the entry (virtual or stored) */
	const struct dsb_tree *tree;    /* a stored directory's content, when the node is one */
};

/* walk_snapshot(v, snap, p, res): the rest ${p} of a path inside snapshot ${snap} */
static int walk_snapshot(struct dsb_fsview *v, const struct dsb_snapshot *snap, const char *p,
    struct resolved *res)
{
	char comp[NAME_MAX_LEN];
	uint8_t id[32];
	int c, r;

	memcpy(id, snap->tree, sizeof(id));
	if ((r = load_tree(v, id, &res->tree)) != 0)
		return r;
	while ((c = next_comp(&p, comp)) != 0) {
		if (c < 0 || res->node->type != DSB_NODE_DIR || res->tree == NULL ||
		    (res->node = dsb_tree_find(res->tree, comp)) == NULL)
			return DSB_ERR_NOT_FOUND;
		res->tree = NULL;
		if (res->node->type == DSB_NODE_DIR && res->node->has_subtree) {
			memcpy(id, res->node->subtree, sizeof(id));
			if ((r = load_tree(v, id, &res->tree)) != 0)
				return r;
		}
	}
	return 0;
}

static const struct dsb_snapshot *snapshot_by_id(const struct dsb_fsview *v, const char *id)
{
	size_t i;

	for (i = 0; i < v->nsnaps; i++)
		if (strcmp(v->snaps[i].snap.id, id) == 0)
			return &v->snaps[i].snap;
	return NULL;
}

/* enter(dir, name, res): the virtual directory ${name} of ${dir}, if it is one */
static int enter(enum vdir dir, const char *name, struct resolved *res)
{
	size_t i;

	res->is_vdir = 1;
	if (dir == VD_ROOT) {
		for (i = 0; i < sizeof(top_names) / sizeof(top_names[0]); i++)
			if (strcmp(name, top_names[i]) == 0) {
				res->dir = (enum vdir)(VD_SNAPSHOTS + i);
				return 1;
			}
	}
	if (dir == VD_BY_HOST || dir == VD_BY_SOURCE) {
		res->dir = dir == VD_BY_HOST ? VD_HOST : VD_GROUP;
		snprintf(res->key, sizeof(res->key), "%s", name);
		return 1;
	}
	res->is_vdir = 0;
	return 0;
}

static int resolve(struct dsb_fsview *v, const char *path, struct resolved *res)
{
	const struct dsb_snapshot *snap;
	char comp[NAME_MAX_LEN];
	const char *p = path;
	int c, r = 0;

	memset(res, 0, sizeof(*res));
	res->is_vdir = 1;
	res->dir = VD_ROOT;
	res->node = synth(v, DSB_NODE_DIR, "/", NULL, newest_time(v));
	while ((c = next_comp(&p, comp)) != 0) {
		if (c < 0 || !res->is_vdir)
			return DSB_ERR_NOT_FOUND;   /* below a link of the view: the kernel follows those */
		if (res->dir == VD_SNAPSHOTS) {
			/* straight to the snapshot: this is the way to every file */
			if ((snap = snapshot_by_id(v, comp)) == NULL &&
			    ((r = dsb_fsview_refresh(v, 0)) != 0 || (snap = snapshot_by_id(v, comp)) == NULL))
				return r != 0 ? r : DSB_ERR_NOT_FOUND;
			if ((res->node = synth(v, DSB_NODE_DIR, snap->id, NULL, snap->time_sec)) == NULL)
				return DSB_ERR_NOMEM;
			res->is_vdir = 0;
			return walk_snapshot(v, snap, p, res);
		}
		if ((r = find_virtual(v, res->dir, res->key, comp, &res->node)) != 0)
			return r;
		enter(res->dir, comp, res);
	}
	return res->node != NULL ? 0 : DSB_ERR_NOMEM;
}

int dsb_fsview_lookup(struct dsb_fsview *v, const char *path, const struct dsb_node **out)
{
	struct resolved res;
	int r;

	if ((r = resolve(v, path, &res)) != 0)
		return r;
	*out = res.node;
	return 0;
}

int dsb_fsview_readdir(struct dsb_fsview *v, const char *path,
    int (*cb)(void *arg, const struct dsb_node *n), void *arg)
{
	struct resolved res;
	size_t i;
	int r;

	if ((r = resolve(v, path, &res)) != 0)
		return r;
	if (res.is_vdir) {
		if ((r = dsb_fsview_refresh(v, 0)) != 0)
			return r;
		return each_virtual(v, res.dir, res.key, cb, arg);
	}
	if (res.node->type != DSB_NODE_DIR)
		return DSB_ERR_UNSUPPORTED;
	for (i = 0; res.tree != NULL && i < res.tree->n; i++)
		if ((r = cb(arg, &res.tree->nodes[i])) != 0)
			return r;
	return 0;
}

/* ---- files ---- */

void dsb_fsview_close(struct dsb_fsview_file *f)
{
	if (f == NULL)
		return;
	free(f->ids);
	free(f->offs);
	free(f);
}

uint64_t dsb_fsview_file_size(const struct dsb_fsview_file *f)
{
	return f->offs[f->n];
}

/* file_offsets(v, f, path): where each blob of ${f} starts, from the lengths in the index */
static int file_offsets(struct dsb_fsview *v, struct dsb_fsview_file *f, const char *path)
{
	struct dsb_blob_ref ref;
	char hex[65];
	size_t i;
	int r;

	f->offs[0] = 0;
	for (i = 0; i < f->n; i++) {
		if ((r = dsb_session_blob_ref(v->s, f->ids[i], &ref)) != 0) {
			dsb_hex_encode(f->ids[i], 32, hex);
			return r == DSB_ERR_NOT_FOUND ?
			    dsb_error(DSB_ERR_CORRUPT, "%s: blob %.16s is not in the index", path, hex) : r;
		}
		f->offs[i + 1] = f->offs[i] + ref.entry.raw_len;
	}
	return 0;
}

int dsb_fsview_open(struct dsb_fsview *v, const char *path, struct dsb_fsview_file **out)
{
	const struct dsb_node *n;
	struct dsb_fsview_file *f;
	int r;

	if ((r = dsb_fsview_lookup(v, path, &n)) != 0)
		return r;
	if (n->type != DSB_NODE_FILE)
		return DSB_ERR_UNSUPPORTED;
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->ids = malloc((n->ncontent ? n->ncontent : 1) * sizeof(*f->ids))) == NULL ||
	    (f->offs = malloc((n->ncontent + 1) * sizeof(*f->offs))) == NULL) {
		dsb_fsview_close(f);
		return dsb_error(DSB_ERR_NOMEM, "out of memory opening %s", path);
	}
	f->n = n->ncontent;
	if (n->ncontent > 0)
		memcpy(f->ids, n->content, n->ncontent * sizeof(*f->ids));
	if ((r = file_offsets(v, f, path)) == 0 && f->offs[f->n] != n->size)
		r = dsb_error(DSB_ERR_CORRUPT, "%s: its blobs hold %llu bytes, the tree says %llu", path,
		    (unsigned long long)f->offs[f->n], (unsigned long long)n->size);
	if (r != 0) {
		dsb_fsview_close(f);
		return r;
	}
	*out = f;
	return 0;
}

/* first_blob(f, off): the blob holding byte ${off} (< size) */
static size_t first_blob(const struct dsb_fsview_file *f, uint64_t off)
{
	size_t lo = 0, hi = f->n, mid;

	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (f->offs[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

int dsb_fsview_read(struct dsb_fsview *v, struct dsb_fsview_file *f, void *buf, size_t size,
    uint64_t off, size_t *got)
{
	const struct dsb_buf *data = NULL;
	uint64_t in, k;
	size_t i, done = 0;
	int r;

	*got = 0;
	if (off >= f->offs[f->n])
		return 0;
	for (i = first_blob(f, off); i < f->n && done < size; i++) {
		if (f->offs[i + 1] == f->offs[i])
			continue;
		if ((r = load_blob(v, f->ids[i], f->offs[i + 1] - f->offs[i], &data)) != 0)
			return r;
		in = off + done - f->offs[i];
		k = data->len - in;
		if (k > size - done)
			k = size - done;
		memcpy((uint8_t *)buf + done, data->data + in, (size_t)k);
		done += (size_t)k;
	}
	*got = done;
	return 0;
}
