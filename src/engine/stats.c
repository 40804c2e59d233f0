/*
 * stats.c: repository size, deduplication and compression, and the growth
 * of each series of snapshots (a source or set of paths of one host), from
 * the catalog.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dsbackup/error.h"
#include "dsbackup/inspect.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "engine_internal.h"

struct group {
	char *host, *what, *latest_id;
	struct dsb_stats_group g;
};

struct stats_ctx {
	struct dsb_session *s;
	struct dsb_stats *st;
	struct group *groups;
	size_t n;
};

/* series_name(snap): the source spec, else the paths joined by spaces (malloc'd) */
static char *series_name(const struct dsb_snapshot *snap)
{
	size_t i, len = 1;
	char *p;

	if (snap->source != NULL)
		return dsb_strdup(snap->source);
	for (i = 0; i < snap->npaths; i++)
		len += strlen(snap->paths[i]) + 1;
	if ((p = calloc(1, len)) == NULL)
		return NULL;
	for (i = 0; i < snap->npaths; i++) {
		if (i > 0)
			strcat(p, " ");
		strcat(p, snap->paths[i]);
	}
	return p;
}

/* bytes_added(json): "stats"."bytes_added" of a snapshot's JSON (0 when absent) */
static uint64_t bytes_added(const char *json)
{
	json_t *j = json_loads(json, 0, NULL), *v;
	uint64_t n = 0;

	v = json_object_get(json_object_get(j, "stats"), "bytes_added");
	if (json_is_integer(v) && json_integer_value(v) > 0)
		n = (uint64_t)json_integer_value(v);
	json_decref(j);
	return n;
}

static struct group *find_group(struct stats_ctx *c, const char *host, const char *what)
{
	struct group *p;
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->groups[i].host, host) == 0 && strcmp(c->groups[i].what, what) == 0)
			return &c->groups[i];
	if ((p = realloc(c->groups, (c->n + 1) * sizeof(*p))) == NULL)
		return NULL;
	c->groups = p;
	p = &c->groups[c->n];
	memset(p, 0, sizeof(*p));
	if ((p->host = dsb_strdup(host)) == NULL || (p->what = dsb_strdup(what)) == NULL) {
		free(p->host);
		free(p->what);
		return NULL;
	}
	c->n++;
	return p;
}

/* add_snapshot(c, snap, json): count ${snap} into its group (snapshots come oldest first) */
static int add_snapshot(struct stats_ctx *c, const struct dsb_snapshot *snap, const char *json)
{
	uint64_t files = 0, bytes = 0;
	struct group *g;
	char *what;
	int r;

	if ((r = dsb_listing_ensure(c->s, snap)) == 0)
		r = dsb_catalog_listing_totals(c->s->cat, snap->id, &files, &bytes);
	if (r == DSB_ERR_NOMEM || r == DSB_ERR_INTERRUPTED)
		return r;
	if (r != 0) {
		dsb_debug("snapshot %.16s: no listing: %s", snap->id, dsb_errmsg());
		c->st->unlisted++;
	}
	if ((what = series_name(snap)) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	g = find_group(c, snap->host, what);
	free(what);
	if (g == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	if (g->g.snapshots++ == 0) {
		g->g.first = snap->time_sec;
		g->g.first_bytes = bytes;
	}
	g->g.last = snap->time_sec;
	g->g.latest_files = files;
	g->g.latest_bytes = bytes;
	g->g.bytes_added += bytes_added(json);
	free(g->latest_id);
	if ((g->latest_id = dsb_strdup(snap->id)) == NULL)
		return DSB_ERR_NOMEM;
	c->st->logical_all += bytes;
	return 0;
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	int c = strcmp(x->host, y->host);

	return c != 0 ? c : strcmp(x->what, y->what);
}

/* walk(c): every snapshot, oldest first (listings are written between reads, so ids first) */
static int walk(struct stats_ctx *c)
{
	struct dsb_snapshot_ids v;
	struct dsb_snapshot snap;
	size_t i;
	int r;

	r = dsb_snapshot_ids_load(c->s, &v);
	for (i = 0; i < v.n && r == 0; i++) {
		if ((r = dsb_session_snapshot(c->s, v.ids[i], &snap)) != 0)
			break;
		r = add_snapshot(c, &snap, snap.json);
		dsb_snapshot_release(&snap);
	}
	dsb_snapshot_ids_release(&v);
	return r;
}

int dsb_stats(struct dsb_session *s, struct dsb_stats *st,
    int (*cb)(void *arg, const struct dsb_stats_group *g), void *arg)
{
	struct stats_ctx c = { s, st, NULL, 0 };
	const struct dsb_catalog_totals *t = &st->totals;
	size_t i;
	int r;

	memset(st, 0, sizeof(*st));
	if ((r = dsb_catalog_totals(s->cat, &st->totals)) != 0 || (r = walk(&c)) != 0)
		goto out;
	if (c.n > 1)
		qsort(c.groups, c.n, sizeof(*c.groups), cmp_group);
	for (i = 0; i < c.n; i++)
		st->logical_latest += c.groups[i].g.latest_bytes;
	if (t->data_raw_bytes > 0)
		st->dedup_ratio = (double)st->logical_all / (double)t->data_raw_bytes;
	if (t->data_stored_bytes > 0)
		st->compression_ratio = (double)t->data_raw_bytes / (double)t->data_stored_bytes;
	for (i = 0; i < c.n && r == 0; i++) {
		c.groups[i].g.host = c.groups[i].host;
		c.groups[i].g.what = c.groups[i].what;
		c.groups[i].g.latest_id = c.groups[i].latest_id;
		r = cb(arg, &c.groups[i].g);
	}
out:
	for (i = 0; i < c.n; i++) {
		free(c.groups[i].host);
		free(c.groups[i].what);
		free(c.groups[i].latest_id);
	}
	free(c.groups);
	return r;
}
