/*
 * session.c: a repository opened together with its catalog; keeping the
 * catalog in step with the backend, and rebuilding it from the backend.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dsbackup/engine.h"
#include "dsbackup/error.h"
#include "dsbackup/inspect.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "engine_internal.h"

char *dsb_state_dir(void)
{
	const char *e = getenv("DSBACKUP_STATE_DIR"), *home;
	struct passwd *pw;

	if (e != NULL && *e != '\0')
		return dsb_strdup(e);
	if (geteuid() == 0)
		return dsb_strdup("/var/lib/dsbackup");
	if ((e = getenv("XDG_STATE_HOME")) != NULL && *e == '/')
		return dsb_asprintf("%s/dsbackup", e);
	home = getenv("HOME");
	if ((home == NULL || *home != '/') && (pw = getpwuid(geteuid())) != NULL)
		home = pw->pw_dir;
	return dsb_asprintf("%s/.local/state/dsbackup", home != NULL ? home : "/tmp");
}

void dsb_session_close(struct dsb_session *s)
{
	if (s == NULL)
		return;
	dsb_catalog_close(s->cat);
	dsb_repo_close(s->repo);
	free(s->catalog_path);
	free(s);
}

static void pack_info_from_record(const struct dsb_pack_record *rec, struct dsb_pack_info *pi)
{
	memcpy(pi->id, rec->id, 32);
	pi->size = rec->size;
	memcpy(pi->key_id, rec->header.key_id, sizeof(pi->key_id));
	memcpy(pi->salt, rec->header.salt, sizeof(pi->salt));
}

int dsb_session_add_record(struct dsb_session *s, const struct dsb_pack_record *rec)
{
	const struct dsb_keys *k = dsb_repo_keys(s->repo);
	struct dsb_pack_info pi;
	struct dsb_blob_loc loc;
	int replace;
	size_t i;
	int r;

	pack_info_from_record(rec, &pi);
	if ((r = dsb_catalog_add_pack(s->cat, &pi)) != 0)
		return r;
	replace = dsb_keys_escrow_count(k) > 0 && !dsb_keys_escrowed(k, pi.key_id);
	memcpy(loc.pack, rec->id, 32);
	for (i = 0; i < rec->n; i++) {
		loc.offset = rec->entries[i].offset;
		loc.stored_len = rec->entries[i].stored_len;
		loc.raw_len = rec->entries[i].raw_len;
		loc.type = rec->entries[i].type;
		loc.comp = rec->entries[i].comp;
		if ((r = dsb_catalog_put_blob(s->cat, rec->entries[i].id, &loc, replace)) != 0)
			return r;
	}
	return 0;
}

int dsb_session_add_record_cb(void *s, const struct dsb_pack_record *rec)
{
	return dsb_session_add_record(s, rec);
}

struct sync_ctx {
	struct dsb_session *s;
	int loaded;
	char **ids;     /* snapshot ids on the backend */
	size_t n, cap;
};

static int sync_index_one(void *arg, const char *id, uint64_t size)
{
	struct sync_ctx *c = arg;
	int r;

	(void)size;
	if ((r = dsb_catalog_has_index(c->s->cat, id)) != 0)
		return r < 0 ? r : 0;
	if ((r = dsb_catalog_begin(c->s->cat)) != 0)
		return r;
	if ((r = dsb_repo_read_index(c->s->repo, id, dsb_session_add_record_cb, c->s)) != 0 ||
	    (r = dsb_catalog_add_index(c->s->cat, id)) != 0) {
		dsb_catalog_rollback(c->s->cat);
		return r;
	}
	if ((r = dsb_catalog_commit(c->s->cat)) != 0)
		return r;
	c->loaded++;
	return 0;
}

static int collect_snapshot(void *arg, const char *id, uint64_t size)
{
	struct sync_ctx *c = arg;

	(void)size;
	if (DSB_GROW(c->ids, c->cap, c->n, "the list of snapshots") != 0)
		return DSB_ERR_NOMEM;
	if ((c->ids[c->n] = dsb_strdup(id)) == NULL)
		return DSB_ERR_NOMEM;
	c->n++;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_snapshot(struct dsb_session *s, const char *id)
{
	struct dsb_catalog_snapshot cs;
	struct dsb_snapshot snap;
	char *json = NULL;
	int r;

	if ((r = dsb_repo_get_snapshot(s->repo, id, &json)) != 0)
		return r;
	if ((r = dsb_snapshot_parse(id, json, &snap)) != 0) {
		free(json);
		return dsb_error_wrap(r, "snapshot %s", id);
	}
	cs.id = id;
	cs.time_sec = snap.time_sec;
	cs.time_nsec = snap.time_nsec;
	cs.host = snap.host;
	cs.json = json;
	r = dsb_catalog_add_snapshot(s->cat, &cs);
	dsb_snapshot_release(&snap);
	free(json);
	return r;
}

struct drop_ctx {
	struct sync_ctx *c;
	char **gone;
	size_t ngone;
};

static int find_vanished(void *arg, const struct dsb_catalog_snapshot *cs)
{
	struct drop_ctx *d = arg;
	const char *key = cs->id;
	char **p;

	if (d->c->n > 0 && bsearch(&key, d->c->ids, d->c->n, sizeof(char *), cmp_str) != NULL)
		return 0;
	if ((p = realloc(d->gone, (d->ngone + 1) * sizeof(*p))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	d->gone = p;
	if ((d->gone[d->ngone] = dsb_strdup(cs->id)) == NULL)
		return DSB_ERR_NOMEM;
	d->ngone++;
	return 0;
}

static int sync_snapshots(struct sync_ctx *c)
{
	struct drop_ctx d = { c, NULL, 0 };
	size_t i;
	int r, has;

	if ((r = dsb_repo_list(c->s->repo, "snapshots", collect_snapshot, c)) != 0)
		goto out;
	if (c->n > 1)
		qsort(c->ids, c->n, sizeof(char *), cmp_str);
	for (i = 0; i < c->n; i++) {
		if ((has = dsb_catalog_has_snapshot(c->s->cat, c->ids[i])) < 0) {
			r = has;
			goto out;
		}
		if (has)
			continue;
		if ((r = load_snapshot(c->s, c->ids[i])) != 0) {
			if (r == DSB_ERR_NOT_FOUND)
				continue;  /* removed meanwhile */
			goto out;
		}
	}
	if ((r = dsb_catalog_foreach_snapshot(c->s->cat, find_vanished, &d)) != 0)
		goto out;
	r = dsb_catalog_remove_snapshots(c->s->cat, (const char *const *)d.gone, d.ngone);
out:
	for (i = 0; i < d.ngone; i++)
		free(d.gone[i]);
	free(d.gone);
	return r;
}

int dsb_session_sync(struct dsb_session *s)
{
	struct sync_ctx c;
	size_t i;
	int r;

	memset(&c, 0, sizeof(c));
	c.s = s;
	/* after a prune, index objects this catalog loaded may be gone: then reload them all */
	if ((r = dsb_session_check_index(s)) != 0)
		return r;
	if ((r = dsb_repo_list(s->repo, "index", sync_index_one, &c)) != 0)
		goto out;
	if (c.loaded > 0)
		dsb_debug("loaded %d new index object(s) into the catalog", c.loaded);
	r = sync_snapshots(&c);
out:
	for (i = 0; i < c.n; i++)
		free(c.ids[i]);
	free(c.ids);
	return r;
}

struct orphan_ctx {
	struct dsb_session *s;
	int found;
};

static int adopt_orphan_pack(void *arg, const char *id_hex, uint64_t size)
{
	struct orphan_ctx *o = arg;
	struct dsb_pack_record rec;
	struct dsb_pack_info pi;
	struct dsb_pack_entry *e = NULL;
	int r;

	if (dsb_hex_decode(id_hex, rec.id, 32) != 0)
		return 0;
	if ((r = dsb_catalog_get_pack(o->s->cat, rec.id, &pi)) != DSB_ERR_NOT_FOUND)
		return r;
	r = dsb_repo_read_pack_trailer(o->s->repo, rec.id, size, &rec.header, &e, &rec.n);
	if (r != 0) {
		dsb_warn("pack %s is in no index and its trailer is unreadable, skipped: %s",
		    id_hex, dsb_errmsg());
		return 0;
	}
	rec.size = size;
	rec.entries = e;
	r = dsb_session_add_record(o->s, &rec);
	free(e);
	o->found++;
	return r;
}

int dsb_catalog_rebuild(struct dsb_session *s)
{
	struct orphan_ctx o = { s, 0 };
	uint64_t unlisted = 0;
	int r;

	if ((r = dsb_catalog_clear(s->cat)) != 0)
		return r;
	if ((r = dsb_session_sync(s)) != 0)
		return r;
	if ((r = dsb_catalog_begin(s->cat)) != 0)
		return r;
	if ((r = dsb_repo_list(s->repo, "data", adopt_orphan_pack, &o)) != 0) {
		dsb_catalog_rollback(s->cat);
		return r;
	}
	if ((r = dsb_catalog_commit(s->cat)) != 0)
		return r;
	if (o.found > 0)
		dsb_info("read the trailers of %d pack(s) that no index lists", o.found);
	/* the file listings, for find and stats without the backend */
	if ((r = dsb_listing_all(s, &unlisted)) != 0)
		return r;
	if (unlisted > 0)
		dsb_warn("%llu snapshot(s) have unreadable trees and no file listing in the catalog "
		    "(\"dsbackup find\" skips them); run \"dsbackup check\"", (unsigned long long)unlisted);
	return 0;
}

static int open_catalog(struct dsb_session *s, int *fresh)
{
	static const char *const suffixes[] = { "-wal", "-shm" };
	size_t i;
	const char *id = dsb_repo_config(s->repo)->id;
	char *aside = NULL;
	struct stat st;
	int r;

	*fresh = stat(s->catalog_path, &st) != 0;
	r = dsb_catalog_open(s->catalog_path, id, &s->cat);
	if (r != DSB_ERR_CORRUPT)
		return r;
	dsb_warn("catalog %s is unusable (%s); moving it aside and rebuilding it from the repository",
	    s->catalog_path, dsb_errmsg());
	if ((aside = dsb_asprintf("%s.damaged", s->catalog_path)) == NULL)
		return DSB_ERR_NOMEM;
	if (rename(s->catalog_path, aside) != 0 && errno != ENOENT) {
		r = dsb_error_errno(DSB_ERR_IO, errno, "moving %s aside", s->catalog_path);
		free(aside);
		return r;
	}
	free(aside);
	/* the WAL and shared memory files belong to the old database */
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		char *p = dsb_asprintf("%s%s", s->catalog_path, suffixes[i]);

		if (p != NULL)
			unlink(p);
		free(p);
	}
	*fresh = 1;
	return dsb_catalog_open(s->catalog_path, id, &s->cat);
}

int dsb_session_open(const struct dsb_open_opts *o, struct dsb_session **out)
{
	struct dsb_session *s;
	char *state = NULL;
	int r, fresh;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	if (o->unlock != NULL)
		r = dsb_repo_open_with(o->url, o->unlock, &s->repo);
	else
		r = dsb_repo_open(o->url, o->password, o->passlen, &s->repo);
	if (r != 0)
		goto out;
	if (o->catalog_path != NULL) {
		s->catalog_path = dsb_strdup(o->catalog_path);
	} else if ((state = dsb_state_dir()) != NULL) {
		s->catalog_path = dsb_asprintf("%s/catalogs/%s.db", state,
		    dsb_repo_config(s->repo)->id);
	}
	if (s->catalog_path == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	if ((r = open_catalog(s, &fresh)) != 0)
		goto out;
	if (fresh) {
		dsb_info("building the catalog %s from the repository", s->catalog_path);
		r = dsb_catalog_rebuild(s);
	} else {
		r = dsb_session_sync(s);
	}
	if (r != 0)
		goto out;
	/* --catalog PATH leaves the state directory alone: "find" then takes --catalog too */
	if (o->catalog_path == NULL)
		dsb_session_remember_catalog(o->url, s->catalog_path);
	*out = s;
	s = NULL;
out:
	free(state);
	dsb_session_close(s);
	return r;
}

int dsb_session_blob_ref(struct dsb_session *s, const uint8_t id[32], struct dsb_blob_ref *ref)
{
	struct dsb_blob_loc loc;
	struct dsb_pack_info pi;
	int r;

	if ((r = dsb_catalog_find_blob(s->cat, id, &loc)) != 0)
		return r;
	if ((r = dsb_catalog_get_pack(s->cat, loc.pack, &pi)) != 0)
		return r == DSB_ERR_NOT_FOUND ?
		    dsb_error(DSB_ERR_CORRUPT, "catalog lists a blob in an unknown pack") : r;
	memcpy(ref->pack, loc.pack, 32);
	memcpy(ref->header.key_id, pi.key_id, sizeof(pi.key_id));
	memcpy(ref->header.salt, pi.salt, sizeof(pi.salt));
	memcpy(ref->entry.id, id, 32);
	ref->entry.type = loc.type;
	ref->entry.comp = loc.comp;
	ref->entry.stored_len = loc.stored_len;
	ref->entry.raw_len = loc.raw_len;
	ref->entry.offset = loc.offset;
	return 0;
}

int dsb_session_load_tree(struct dsb_session *s, const uint8_t id[32], struct dsb_tree *t)
{
	struct dsb_blob_opener *op = NULL;
	struct dsb_blob_ref ref;
	struct dsb_buf scratch, raw;
	char hex[65];
	int r;

	dsb_buf_init(&scratch, (size_t)DSB_BLOB_RAW_MAX + 64);
	dsb_buf_init(&raw, (size_t)DSB_BLOB_RAW_MAX + 64);
	dsb_hex_encode(id, 32, hex);
	if ((r = dsb_session_blob_ref(s, id, &ref)) != 0) {
		if (r == DSB_ERR_NOT_FOUND)
			r = dsb_error(DSB_ERR_NOT_FOUND, "tree %.16s is not in the index", hex);
		goto out;
	}
	if (ref.entry.type != DSB_BLOB_TREE) {
		r = dsb_error(DSB_ERR_CORRUPT, "blob %.16s is not a tree", hex);
		goto out;
	}
	if ((r = dsb_blob_opener_new(dsb_repo_keys(s->repo), &op)) != 0 ||
	    (r = dsb_repo_read_blob(s->repo, op, &ref, &scratch, &raw)) != 0)
		goto out;
	if ((r = dsb_tree_decode(raw.data, raw.len, t)) != 0)
		r = dsb_error_wrap(r, "tree %.16s", hex);
out:
	dsb_blob_opener_free(op);
	dsb_buf_release(&scratch);
	dsb_buf_release(&raw);
	return r;
}

int dsb_session_require_read(struct dsb_session *s)
{
	if (dsb_keys_write_only(dsb_repo_keys(s->repo)))
		return dsb_error(DSB_ERR_BAD_KEY, DSB_WRITE_ONLY_MSG);
	return 0;
}
