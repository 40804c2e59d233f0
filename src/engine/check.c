/*
 * check.c: verify a repository from the backend alone.  A throwaway catalog
 * is built from the index objects; then every indexed pack must exist and
 * its trailer agree with the index, every snapshot's trees must resolve to
 * indexed blobs, and with --read-data every pack is read whole: its SHA-256
 * must equal its name and every blob must authenticate and match its id.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "engine_internal.h"
#include "idset.h"

struct checker {
	struct dsb_session *s;        /* the repository with the throwaway catalog */
	const struct dsb_check_opts *o;
	struct dsb_check_stats *st;
	struct dsb_idset existing;    /* packs on the backend */
	struct dsb_idset trees;       /* trees already checked */
	const char *snap;             /* the snapshot whose trees are being checked */
	struct dsb_blob_opener *opener;
	struct dsb_buf a, b;
};

__attribute__((format(printf, 3, 4)))
static int problem(struct checker *c, const char *detail, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dsb_log(DSB_LOG_ERROR, "%s%s%s", msg, detail ? ": " : "", detail ? detail : "");
	c->st->errors++;
	return 0;
}

/* ---- index objects ---- */

static int load_one_index(void *arg, const char *id, uint64_t size)
{
	struct checker *c = arg;
	int r;

	(void)size;
	r = dsb_repo_read_index(c->s->repo, id, dsb_session_add_record_cb, c->s);
	if (r == DSB_ERR_NOMEM || r == DSB_ERR_CATALOG)
		return r;
	if (r != 0)
		return problem(c, dsb_errmsg(), "index %s is unreadable", id);
	return 0;
}

/* ---- packs ---- */

struct cmp_ctx {
	const struct dsb_pack_entry *e;
	size_t n, i;
	int mismatch;
};

static int compare_blob(void *arg, const uint8_t id[32], const struct dsb_blob_loc *loc)
{
	struct cmp_ctx *x = arg;

	/* the same blob may be listed twice in one pack; the catalog keeps the first */
	while (x->i < x->n && x->e[x->i].offset < loc->offset)
		x->i++;
	if (x->i >= x->n || memcmp(x->e[x->i].id, id, 32) != 0 || x->e[x->i].offset != loc->offset ||
	    x->e[x->i].stored_len != loc->stored_len || x->e[x->i].raw_len != loc->raw_len ||
	    x->e[x->i].type != loc->type || x->e[x->i].comp != loc->comp)
		x->mismatch = 1;
	return 0;
}

static int check_pack(void *arg, const char *id_hex, uint64_t size)
{
	struct checker *c = arg;
	struct dsb_pack_record rec;
	struct dsb_pack_info pi;
	struct dsb_pack_entry *e = NULL;
	struct cmp_ctx x;
	size_t n = 0;
	int r, indexed;

	if (dsb_hex_decode(id_hex, rec.id, 32) != 0)
		return 0;
	if ((r = dsb_idset_add(&c->existing, rec.id)) != 0)
		return r;
	c->st->packs++;
	r = dsb_catalog_get_pack(c->s->cat, rec.id, &pi);
	if (r != 0 && r != DSB_ERR_NOT_FOUND)
		return r;
	indexed = r == 0;
	if (indexed && pi.size != size)
		return problem(c, NULL, "pack %s has a different size than its index says", id_hex);
	if ((r = dsb_repo_read_pack_trailer(c->s->repo, rec.id, size, &rec.header, &e, &n)) != 0)
		return problem(c, dsb_errmsg(), "pack %s: trailer unreadable", id_hex);
	if (!indexed) {
		/* a backup killed after storing a pack: harmless, and readable through its trailer */
		dsb_info("pack %.16s is in no index (left by an interrupted backup; prune removes it)",
		    id_hex);
		c->st->unindexed_packs++;
		rec.size = size;
		rec.entries = e;
		rec.n = n;
		r = dsb_session_add_record(c->s, &rec);
		free(e);
		return r;
	}
	memset(&x, 0, sizeof(x));
	x.e = e;
	x.n = n;
	r = dsb_catalog_foreach_blob_in_pack(c->s->cat, rec.id, compare_blob, &x);
	free(e);
	if (r != 0)
		return r;
	if (x.mismatch || memcmp(pi.salt, rec.header.salt, 32) != 0)
		return problem(c, NULL, "pack %s: its trailer does not agree with the index", id_hex);
	return 0;
}

static int pack_exists(void *arg, const struct dsb_pack_info *pi)
{
	struct checker *c = arg;
	char hex[65];

	if (dsb_idset_has(&c->existing, pi->id))
		return 0;
	dsb_hex_encode(pi->id, 32, hex);
	return problem(c, NULL, "pack %s is listed in the index but missing from the repository", hex);
}

/* ---- trees ---- */

static int check_tree(struct checker *c, const uint8_t id[32], const char *path, int depth);

static int check_node(struct checker *c, const struct dsb_node *n, const char *path, int depth)
{
	struct dsb_blob_loc loc;
	uint64_t sum = 0;
	char hex[65];
	size_t i;
	int r;

	if (n->type == DSB_NODE_DIR)
		return check_tree(c, n->subtree, path, depth + 1);
	if (n->type != DSB_NODE_FILE)
		return 0;
	for (i = 0; i < n->ncontent; i++) {
		c->st->blobs++;
		r = dsb_catalog_find_blob(c->s->cat, n->content[i], &loc);
		if (r == DSB_ERR_NOT_FOUND) {
			dsb_hex_encode(n->content[i], 32, hex);
			dsb_error(r, "data blob %.16s is in no pack", hex);
			return problem(c, dsb_errmsg(), "snapshot %.16s: file %s is missing data", c->snap,
			    path);
		}
		if (r != 0)
			return r;
		if (loc.type != DSB_BLOB_DATA) {
			dsb_hex_encode(n->content[i], 32, hex);
			return problem(c, NULL, "snapshot %.16s: file %s: blob %.16s is not a data blob "
			    "(type %u)", c->snap, path, hex, loc.type);
		}
		sum += loc.raw_len;   /* at most 16 M blobs of 64 MiB: no overflow */
	}
	/* restore refuses such a file before writing it; check says so first */
	if (sum != n->size)
		return problem(c, NULL, "snapshot %.16s: file %s: recorded size %llu does not match the "
		    "sum of its blobs' lengths, %llu bytes", c->snap, path,
		    (unsigned long long)n->size, (unsigned long long)sum);
	return 0;
}

static int check_tree(struct checker *c, const uint8_t id[32], const char *path, int depth)
{
	struct dsb_tree t;
	char *child;
	size_t i;
	int r = 0;

	if (dsb_idset_has(&c->trees, id))
		return 0;
	if (depth > DSB_TREE_MAX_DEPTH)
		/* the reason first: a path this deep would push it out of the message */
		return problem(c, NULL, "snapshot %.16s: directories nested deeper than %d (the "
		    "format's limit) at %.200s...", c->snap, DSB_TREE_MAX_DEPTH, path);
	if ((r = dsb_idset_add(&c->trees, id)) != 0)
		return r;
	c->st->trees++;
	dsb_tree_init(&t);
	if ((r = dsb_session_load_tree(c->s, id, &t)) != 0)
		return r == DSB_ERR_NOMEM ? r : problem(c, dsb_errmsg(), "snapshot %.16s: tree of %.200s "
		    "is unreadable", c->snap, path[0] ? path : "/");
	for (i = 0; i < t.n && r == 0; i++) {
		if ((child = dsb_asprintf("%s/%s", path, t.nodes[i].name)) == NULL) {
			r = DSB_ERR_NOMEM;
			break;
		}
		r = check_node(c, &t.nodes[i], child, depth);
		free(child);
	}
	dsb_tree_release(&t);
	return r;
}

static int check_snapshot(void *arg, const char *id, uint64_t size)
{
	struct checker *c = arg;
	struct dsb_snapshot snap;
	char *json = NULL;
	int r;

	(void)size;
	c->st->snapshots++;
	dsb_progress_file(id);
	if ((r = dsb_repo_get_snapshot(c->s->repo, id, &json)) != 0)
		return r == DSB_ERR_NOMEM ? r : problem(c, dsb_errmsg(), "snapshot %s is unreadable", id);
	r = dsb_snapshot_parse(id, json, &snap);
	free(json);
	if (r != 0)
		return problem(c, dsb_errmsg(), "snapshot %s is malformed", id);
	c->snap = id;
	r = check_tree(c, snap.tree, "", 0);
	c->snap = NULL;
	dsb_snapshot_release(&snap);
	return r;
}

/* ---- reading data ---- */

static int read_pack(void *arg, const char *id_hex, uint64_t size)
{
	struct checker *c = arg;
	struct dsb_pack_header hdr;
	struct dsb_pack_entry *e = NULL;
	uint8_t id[32], digest[32];
	char name[80];
	uint32_t tlen;
	size_t n = 0, i;
	int r;

	if (c->o->subset > 0 && c->o->subset < 1 &&
	    (double)random() / ((double)RAND_MAX + 1.0) >= c->o->subset)
		return 0;
	if (dsb_hex_decode(id_hex, id, 32) != 0)
		return 0;
	c->st->packs_read++;
	dsb_progress_file(id_hex);
	dsb_progress_bytes(size);
	snprintf(name, sizeof(name), "data/%.2s/%s", id_hex, id_hex);
	if ((r = dsb_backend_get(dsb_repo_backend(c->s->repo), name, 0, 0, &c->a)) != 0)
		return r == DSB_ERR_NOMEM ? r : problem(c, dsb_errmsg(), "pack %s is unreadable", id_hex);
	dsb_sha256(c->a.data, c->a.len, digest);
	if (memcmp(digest, id, 32) != 0)
		problem(c, NULL, "pack %s does not hash to its name (damaged)", id_hex);
	if (dsb_pack_parse_header(c->a.data, c->a.len, &hdr) != 0 || c->a.len < DSB_PACK_FOOTER_LEN ||
	    dsb_pack_parse_footer(c->a.data + c->a.len - DSB_PACK_FOOTER_LEN, DSB_PACK_FOOTER_LEN,
	    c->a.len, &tlen) != 0 ||
	    dsb_pack_open_trailer(dsb_repo_keys(c->s->repo), &hdr,
	    c->a.data + c->a.len - DSB_PACK_FOOTER_LEN - tlen, tlen, c->a.len, &e, &n) != 0)
		return problem(c, dsb_errmsg(), "pack %s: trailer unreadable", id_hex);
	(void)size;
	for (i = 0; i < n; i++) {
		if ((r = dsb_blob_open(c->opener, &hdr, &e[i], c->a.data + e[i].offset, &c->b)) != 0) {
			char hex[65], what[160];

			dsb_hex_encode(e[i].id, 32, hex);
			snprintf(what, sizeof(what), "%.16s at offset %llu of pack %s", hex,
			    (unsigned long long)e[i].offset, id_hex);
			problem(c, dsb_errmsg(), "blob %s is damaged", what);
		}
	}
	free(e);
	return 0;
}

/* ---- driver ---- */

static int open_scratch_catalog(struct dsb_session *real, struct dsb_session *tmp, char **path)
{
	const char *dir = getenv("TMPDIR");
	int fd, r;

	*path = dsb_asprintf("%s/dsbackup-check-XXXXXX", dir != NULL && *dir ? dir : "/tmp");
	if (*path == NULL)
		return DSB_ERR_NOMEM;
	if ((fd = mkstemp(*path)) < 0)
		return dsb_error(DSB_ERR_IO, "cannot create a temporary catalog in %s",
		    dir != NULL ? dir : "/tmp");
	close(fd);
	unlink(*path);
	memset(tmp, 0, sizeof(*tmp));
	tmp->repo = real->repo;
	r = dsb_catalog_open(*path, dsb_repo_config(real->repo)->id, &tmp->cat);
	return r;
}

static void remove_scratch(const char *path)
{
	char *p;

	unlink(path);
	if ((p = dsb_asprintf("%s-wal", path)) != NULL)
		unlink(p);
	free(p);
	if ((p = dsb_asprintf("%s-shm", path)) != NULL)
		unlink(p);
	free(p);
}

int dsb_check(struct dsb_session *s, const struct dsb_check_opts *o, struct dsb_check_stats *st)
{
	struct dsb_session tmp;
	struct checker c;
	char *path = NULL;
	int r;

	memset(st, 0, sizeof(*st));
	memset(&c, 0, sizeof(c));
	memset(&tmp, 0, sizeof(tmp));
	c.s = &tmp;
	c.o = o;
	c.st = st;
	dsb_buf_init(&c.a, (size_t)DSB_PACK_MAX);
	dsb_buf_init(&c.b, (size_t)DSB_BLOB_RAW_MAX + 64);
	if ((r = dsb_idset_init(&c.existing)) != 0 || (r = dsb_idset_init(&c.trees)) != 0 ||
	    (r = dsb_blob_opener_new(dsb_repo_keys(s->repo), &c.opener)) != 0)
		goto out;
	if ((r = open_scratch_catalog(s, &tmp, &path)) != 0)
		goto out;
	srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	if ((r = dsb_catalog_begin(tmp.cat)) != 0)
		goto out;
	dsb_info("checking index objects and packs");
	if ((r = dsb_repo_list(s->repo, "index", load_one_index, &c)) != 0 ||
	    (r = dsb_repo_list(s->repo, "data", check_pack, &c)) != 0 ||
	    (r = dsb_catalog_foreach_pack(tmp.cat, pack_exists, &c)) != 0) {
		dsb_catalog_rollback(tmp.cat);
		goto out;
	}
	if ((r = dsb_catalog_commit(tmp.cat)) != 0)
		goto out;
	dsb_info("checking snapshots and trees");
	if ((r = dsb_repo_list(s->repo, "snapshots", check_snapshot, &c)) != 0)
		goto out;
	if (o->read_data) {
		dsb_info("reading %s of the data", o->subset > 0 && o->subset < 1 ? "a part" : "all");
		if ((r = dsb_repo_list(s->repo, "data", read_pack, &c)) != 0)
			goto out;
	}
	if (st->errors > 0)
		r = dsb_error(DSB_ERR_CORRUPT, "check found %llu problem(s)",
		    (unsigned long long)st->errors);
out:
	dsb_catalog_close(tmp.cat);
	if (path != NULL)
		remove_scratch(path);
	free(path);
	dsb_idset_release(&c.existing);
	dsb_idset_release(&c.trees);
	dsb_blob_opener_free(c.opener);
	dsb_buf_release(&c.a);
	dsb_buf_release(&c.b);
	return r;
}
