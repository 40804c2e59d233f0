/*
 * forget.c: apply a retention policy to the snapshots, group by group
 * (forget_policy.c decides), and remove the snapshots no rule keeps: their
 * objects first, then their catalog rows.  Data is freed only by prune.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "engine_internal.h"
#include "forget_policy.h"

#define GROUP_HOST 0x1u
#define GROUP_SOURCE 0x2u
#define GROUP_PATHS 0x4u
#define GROUP_TAGS 0x8u

struct fsnap {
	struct dsb_snapshot snap;
	char *group;                /* the group key: JSON of the grouping fields */
	struct dsb_forget_item item;
};

struct collect {
	const struct dsb_forget_opts *o;
	unsigned group_by;
	struct fsnap *v;
	size_t n, cap;
};

static int parse_group_by(const char *spec, unsigned *out)
{
	const char *p = spec, *end;
	size_t len;

	*out = 0;
	if (spec == NULL) {
		*out = GROUP_HOST | GROUP_SOURCE | GROUP_PATHS;
		return 0;
	}
	while (*p != '\0') {
		end = strchr(p, ',');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len == 4 && memcmp(p, "host", 4) == 0)
			*out |= GROUP_HOST;
		else if (len == 6 && memcmp(p, "source", 6) == 0)
			*out |= GROUP_SOURCE;
		else if (len == 5 && memcmp(p, "paths", 5) == 0)
			*out |= GROUP_PATHS;
		else if (len == 4 && memcmp(p, "tags", 4) == 0)
			*out |= GROUP_TAGS;
		else if (len != 0)
			return dsb_error(DSB_ERR_USAGE, "invalid --group-by \"%s\": a comma list of "
			    "host, source, paths, tags", spec);
		if (end == NULL)
			break;
		p = end + 1;
	}
	return 0;
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* sorted_strings(v, n): a JSON array of the strings, sorted (their order does not matter). */
static json_t *sorted_strings(char **v, size_t n)
{
	json_t *a = json_array();
	char **copy;
	size_t i;

	if (a == NULL || n == 0)
		return a;
	if ((copy = malloc(n * sizeof(*copy))) == NULL) {
		json_decref(a);
		return NULL;
	}
	memcpy(copy, v, n * sizeof(*copy));
	qsort(copy, n, sizeof(*copy), cmp_cstr);
	for (i = 0; i < n; i++)
		if (json_array_append_new(a, json_string_nocheck(copy[i])) != 0) {
			json_decref(a);
			a = NULL;
			break;
		}
	free(copy);
	return a;
}

static char *group_key(const struct dsb_snapshot *s, unsigned by)
{
	json_t *k = json_object();
	char *text;

	if (k == NULL)
		return NULL;
	if (by & GROUP_HOST)
		json_object_set_new(k, "host", json_string_nocheck(s->host));
	if (by & GROUP_SOURCE)
		json_object_set_new(k, "source",
		    s->source != NULL ? json_string_nocheck(s->source) : json_null());
	if (by & GROUP_PATHS)
		json_object_set_new(k, "paths", sorted_strings(s->paths, s->npaths));
	if (by & GROUP_TAGS)
		json_object_set_new(k, "tags", sorted_strings(s->tags, s->ntags));
	text = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(k);
	return text;
}

static int collect_one(void *arg, const struct dsb_catalog_snapshot *cs)
{
	struct collect *c = arg;
	struct fsnap *f;
	int r;

	if (DSB_GROW(c->v, c->cap, c->n, "the list of snapshots") != 0)
		return DSB_ERR_NOMEM;
	f = &c->v[c->n];
	memset(f, 0, sizeof(*f));
	if ((r = dsb_snapshot_parse(cs->id, cs->json, &f->snap)) != 0)
		return dsb_error_wrap(r, "snapshot %s", cs->id);
	if ((c->o->host != NULL && strcmp(f->snap.host, c->o->host) != 0) ||
	    (c->o->source != NULL && (f->snap.source == NULL ||
	    strcmp(f->snap.source, c->o->source) != 0))) {
		dsb_snapshot_release(&f->snap);
		return 0;
	}
	if ((f->group = group_key(&f->snap, c->group_by)) == NULL) {
		dsb_snapshot_release(&f->snap);
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	}
	f->item.time_sec = f->snap.time_sec;
	f->item.time_nsec = f->snap.time_nsec;
	f->item.tags = f->snap.tags;
	f->item.ntags = f->snap.ntags;
	c->n++;
	return 0;
}

/* by group, then newest first; ties by id, so that the order does not depend on the listing */
static int cmp_fsnap(const void *a, const void *b)
{
	const struct fsnap *x = a, *y = b;
	int c = strcmp(x->group, y->group);

	if (c != 0)
		return c;
	if (x->snap.time_sec != y->snap.time_sec)
		return x->snap.time_sec > y->snap.time_sec ? -1 : 1;
	if (x->snap.time_nsec != y->snap.time_nsec)
		return x->snap.time_nsec > y->snap.time_nsec ? -1 : 1;
	return strcmp(x->snap.id, y->snap.id);
}

static int decide(const struct dsb_forget_opts *o, struct fsnap *v, size_t n,
    int (*cb)(void *arg, const struct dsb_forget_decision *d), void *arg)
{
	struct dsb_forget_item *items = NULL;
	struct dsb_forget_decision d;
	char reasons[512];
	int64_t now;
	long nsec;
	size_t i, j, start;
	int r = 0;

	if (n > 0 && (items = calloc(n, sizeof(*items))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	dsb_time_now(&now, &nsec);
	for (start = 0; start < n && r == 0; start = i) {
		for (i = start; i < n && strcmp(v[i].group, v[start].group) == 0; i++)
			items[i] = v[i].item;
		dsb_forget_apply(&o->policy, items + start, i - start, now);
		for (j = start; j < i && r == 0; j++) {
			v[j].item.reasons = items[j].reasons;
			dsb_forget_describe(&o->policy, &items[j], reasons, sizeof(reasons));
			d.snap = &v[j].snap;
			d.group = v[j].group;
			d.keep = items[j].reasons != 0;
			d.reasons = reasons;
			if (cb != NULL)
				r = cb(arg, &d);
		}
	}
	free(items);
	return r;
}

/*
 * remove_forgotten: each snapshot object, then the catalog's rows of those
 * removed in one go (one walk to drop the listings no snapshot reaches), also
 * when a removal fails or a signal stops the loop.
 */
static int remove_forgotten(struct dsb_session *s, struct fsnap *v, size_t n)
{
	const char **gone;
	size_t i, removed = 0;
	int r = 0, rc;

	if ((gone = calloc(n > 0 ? n : 1, sizeof(*gone))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	for (i = 0; i < n && r == 0; i++) {
		if (v[i].item.reasons != 0)
			continue;
		if (dsb_interrupted) {
			r = dsb_error(DSB_ERR_INTERRUPTED, "interrupted by a signal after removing "
			    "%zu snapshot(s)", removed);
			break;
		}
		r = dsb_repo_remove_snapshot(s->repo, v[i].snap.id);
		if (r == DSB_ERR_NOT_FOUND) {
			dsb_error_clear();   /* removed meanwhile by someone else */
			r = 0;
		} else if (r != 0) {
			r = dsb_error_wrap(r, "removing snapshot %.16s", v[i].snap.id);
			break;
		}
		gone[removed++] = v[i].snap.id;
	}
	if ((rc = dsb_catalog_remove_snapshots(s->cat, gone, removed)) != 0 && r == 0)
		r = rc;
	free(gone);
	if (r == 0 && removed > 0)
		dsb_info("removed %zu snapshot(s); \"dsbackup prune\" frees the data only they used",
		    removed);
	return r;
}

int dsb_forget(struct dsb_session *s, const struct dsb_forget_opts *o,
    int (*cb)(void *arg, const struct dsb_forget_decision *d), void *arg)
{
	struct dsb_lock *lock = NULL;
	struct collect c;
	size_t i;
	int r;

	memset(&c, 0, sizeof(c));
	c.o = o;
	if (dsb_forget_policy_empty(&o->policy))
		return dsb_error(DSB_ERR_USAGE, "no policy given: give at least one --keep-* option "
		    "(nothing was removed)");
	if ((r = parse_group_by(o->group_by, &c.group_by)) != 0)
		return r;
	if (!o->dry_run) {
		/* removing snapshots only needs what backups need: prune alone is exclusive */
		if ((r = dsb_repo_lock_wait(s->repo, 0, o->lock_wait_sec, &lock)) != 0)
			return r;
		if ((r = dsb_session_sync(s)) != 0)
			goto out;
	}
	if ((r = dsb_catalog_foreach_snapshot(s->cat, collect_one, &c)) != 0)
		goto out;
	if (c.n > 1)
		qsort(c.v, c.n, sizeof(*c.v), cmp_fsnap);
	if ((r = decide(o, c.v, c.n, cb, arg)) != 0)
		goto out;
	if (!o->dry_run)
		r = remove_forgotten(s, c.v, c.n);
out:
	for (i = 0; i < c.n; i++) {
		dsb_snapshot_release(&c.v[i].snap);
		free(c.v[i].group);
	}
	free(c.v);
	dsb_lock_release(lock);
	return r;
}
