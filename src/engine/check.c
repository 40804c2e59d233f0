/*
 * check.c: verify a repository from the backend alone.  A throwaway catalog
 * is built from the index objects; then every indexed pack must exist and
 * its trailer agree with the index, every snapshot's trees must resolve to
 * indexed blobs, and with --read-data every pack is read: its SHA-256
 * must equal its name and every blob must authenticate and match its id
 * (several packs at once, by worker threads).
 */
#include <pthread.h>
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
#include "reader.h"

struct data_pool;

struct checker {
	struct dsb_session *s;        /* the repository with the throwaway catalog */
	const struct dsb_check_opts *o;
	struct dsb_check_stats *st;
	struct dsb_idset existing;    /* packs on the backend */
	struct dsb_idset trees;       /* trees already checked */
	const char *snap;             /* the snapshot whose trees are being checked */
	struct data_pool *pool;       /* --read-data: the workers reading packs */
};

/* vproblem(errors, detail, fmt, ap): log one problem found, counting it in ${errors}; 0 (checking goes on) */
static int vproblem(uint64_t *errors, const char *detail, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	dsb_log(DSB_LOG_ERROR, "%s%s%s", msg, detail ? ": " : "", detail ? detail : "");
	(*errors)++;
	return 0;
}

__attribute__((format(printf, 3, 4)))
static int problem(struct checker *c, const char *detail, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(&c->st->errors, detail, fmt, ap);
	va_end(ap);
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

/*
 * ---- reading data ----
 * The listing thread picks the packs (all, or the subset) and queues them;
 * workers, each with its own buffers and blob opener, read each pack in
 * segments, hash every byte in order and verify each blob once it is whole
 * in the window.  A pack of at most one segment is one read, as before.  The
 * problems they find are logged at once and counted by each worker; only a
 * failure that stops the check (out of memory) is handed back, and ends the
 * listing.
 */

#define READ_QUEUE_PER_WORKER 2
#define READ_SEGMENT ((uint64_t)4 << 20)    /* a pack is read and hashed in pieces of this size */

struct pack_job {
	uint8_t id[32];
	uint64_t size;                /* as listed; 0 when the backend did not say */
};

struct data_worker {
	struct data_pool *pool;
	pthread_t thread;
	int started;
	struct dsb_blob_opener *opener;
	struct dsb_buf win;           /* pack bytes [win_off, win_off + win.len) */
	struct dsb_buf seg, blob;
	struct dsb_sha256 *sha;       /* of pack bytes [0, read_to) */
	uint64_t win_off, read_to;
	uint64_t errors;              /* problems this worker found */
};

struct data_pool {
	struct dsb_repo *repo;
	pthread_mutex_t mu;
	pthread_cond_t cv_job;        /* a pack was queued, or closing */
	pthread_cond_t cv_room;       /* a queued pack was taken, or a worker failed */
	struct pack_job *queue;       /* entry i is queue[i % cap] */
	size_t cap, head, tail;
	int closing;
	int err;                      /* the first failure that stops the check */
	char errmsg[2048];
	struct data_worker *workers;
	int nworkers;
};

__attribute__((format(printf, 3, 4)))
static int pack_problem(struct data_worker *w, const char *detail, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(&w->errors, detail, fmt, ap);
	va_end(ap);
	return 0;
}

/*
 * read_on(w, name, size): pack bytes from read_to on, at most one segment
 * (or all of them when ${size} is 0: the backend did not list it), appended
 * to the window and hashed; 0 or an error.
 */
static int read_on(struct data_worker *w, const char *name, uint64_t size)
{
	uint64_t n = size == 0 ? 0 : size - w->read_to < READ_SEGMENT ? size - w->read_to : READ_SEGMENT;
	int r;

	if ((r = dsb_backend_get(dsb_repo_backend(w->pool->repo), name, w->read_to, n, &w->seg)) != 0)
		return r;
	if (n != 0 && w->seg.len != n)
		return dsb_error(DSB_ERR_CORRUPT, "short read: %zu of %llu bytes at offset %llu", w->seg.len,
		    (unsigned long long)n, (unsigned long long)w->read_to);
	if ((r = dsb_buf_append(&w->win, w->seg.data, w->seg.len)) != 0)
		return r;
	dsb_sha256_update(w->sha, w->seg.data, w->seg.len);
	w->read_to += w->seg.len;
	dsb_progress_bytes(w->seg.len);
	return 0;
}

/* drop_before(w, off): forget the window's bytes before pack offset ${off} */
static void drop_before(struct data_worker *w, uint64_t off)
{
	size_t n;

	if (off <= w->win_off)
		return;
	n = off - w->win_off < w->win.len ? (size_t)(off - w->win_off) : w->win.len;
	memmove(w->win.data, w->win.data + n, w->win.len - n);
	w->win.len -= n;
	w->win_off += n;
}

/*
 * read_trailer(w, id, id_hex, size, hdr, e, n): the pack's entries, from
 * the window when it holds the whole pack, else read from the backend; 0,
 * or a problem (reported here: the caller skips the blobs), or out of memory.
 */
static int read_trailer(struct data_worker *w, const uint8_t id[32], const char *id_hex, uint64_t size,
    struct dsb_pack_header *hdr, struct dsb_pack_entry **e, size_t *n)
{
	const uint8_t *end = w->win.data + w->win.len;
	uint32_t tlen;
	int r;

	if (w->read_to != size)
		r = dsb_repo_read_pack_trailer(w->pool->repo, id, size, hdr, e, n);
	/* the header check also refuses a window shorter than a footer */
	else if ((r = dsb_pack_parse_header(w->win.data, w->win.len, hdr)) == 0 &&
	    (r = dsb_pack_parse_footer(end - DSB_PACK_FOOTER_LEN, DSB_PACK_FOOTER_LEN, size, &tlen)) == 0)
		r = dsb_pack_open_trailer(dsb_repo_keys(w->pool->repo), hdr, end - DSB_PACK_FOOTER_LEN - tlen,
		    tlen, size, e, n);
	if (r == 0 || r == DSB_ERR_NOMEM)
		return r;
	pack_problem(w, dsb_errmsg(), "pack %s: trailer unreadable", id_hex);
	return DSB_ERR_CORRUPT;
}

/*
 * verify_pack(w, id, size): read pack ${id} and verify it: every byte
 * hashes to its name, and every blob authenticates and matches its id; 0
 * (problems counted) or a failure that stops the check.
 */
static int verify_pack(struct data_worker *w, const uint8_t id[32], uint64_t size)
{
	struct dsb_pack_header hdr;
	struct dsb_pack_entry *e = NULL;
	uint8_t digest[32];
	char id_hex[65], name[80], hex[65], what[160];
	size_t i, n = 0;
	int r;

	dsb_hex_encode(id, 32, id_hex);
	dsb_repo_pack_name(id, name);
	dsb_progress_file(id_hex);
	dsb_buf_reset(&w->win);
	w->win_off = w->read_to = 0;
	/* one read of a small pack, or of a pack whose size is not known */
	if ((r = read_on(w, name, size <= READ_SEGMENT ? 0 : size)) != 0)
		goto unreadable;
	if (size <= READ_SEGMENT)
		size = w->read_to;
	if ((r = read_trailer(w, id, id_hex, size, &hdr, &e, &n)) == DSB_ERR_NOMEM)
		return r;
	for (i = 0; i < n; i++) {
		while (w->read_to < e[i].offset + e[i].stored_len) {
			drop_before(w, e[i].offset);
			if ((r = read_on(w, name, size)) != 0)
				goto unreadable;
		}
		if (dsb_blob_open(w->opener, &hdr, &e[i], w->win.data + (e[i].offset - w->win_off),
		    &w->blob) == 0)
			continue;
		dsb_hex_encode(e[i].id, 32, hex);
		snprintf(what, sizeof(what), "%.16s at offset %llu of pack %s", hex,
		    (unsigned long long)e[i].offset, id_hex);
		pack_problem(w, dsb_errmsg(), "blob %s is damaged", what);
	}
	/* the rest of the bytes, for the hash */
	while (w->read_to < size) {
		drop_before(w, w->read_to);
		if ((r = read_on(w, name, size)) != 0)
			goto unreadable;
	}
	free(e);
	dsb_sha256_final(w->sha, digest);
	if (memcmp(digest, id, 32) != 0)
		pack_problem(w, NULL, "pack %s does not hash to its name (damaged)", id_hex);
	return 0;
unreadable:
	free(e);
	dsb_sha256_final(w->sha, digest);   /* resets it for the next pack */
	return r == DSB_ERR_NOMEM ? r : pack_problem(w, dsb_errmsg(), "pack %s is unreadable", id_hex);
}

/* take_pack(p, job): wait for a queued pack; 0 once closing with nothing queued, or after a failure */
static int take_pack(struct data_pool *p, struct pack_job *job)
{
	int got = 0;

	pthread_mutex_lock(&p->mu);
	while (p->head == p->tail && !p->closing && p->err == 0)
		pthread_cond_wait(&p->cv_job, &p->mu);
	if (p->head != p->tail && p->err == 0) {
		*job = p->queue[p->head++ % p->cap];
		pthread_cond_signal(&p->cv_room);
		got = 1;
	}
	pthread_mutex_unlock(&p->mu);
	return got;
}

static void *data_worker_main(void *arg)
{
	struct data_worker *w = arg;
	struct data_pool *p = w->pool;
	struct pack_job job;
	int r;

	while (take_pack(p, &job)) {
		if ((r = verify_pack(w, job.id, job.size)) == 0)
			continue;
		pthread_mutex_lock(&p->mu);
		if (p->err == 0) {
			p->err = r;
			snprintf(p->errmsg, sizeof(p->errmsg), "%s", dsb_errmsg());
		}
		pthread_cond_broadcast(&p->cv_job);
		pthread_cond_broadcast(&p->cv_room);
		pthread_mutex_unlock(&p->mu);
		break;
	}
	return NULL;
}

/* pool_submit(p, job): queue one pack, waiting for room; 0, or a worker's failure (reported here) */
static int pool_submit(struct data_pool *p, const struct pack_job *job)
{
	int r;

	pthread_mutex_lock(&p->mu);
	while (p->tail - p->head >= p->cap && p->err == 0)
		pthread_cond_wait(&p->cv_room, &p->mu);
	if ((r = p->err) == 0) {
		p->queue[p->tail++ % p->cap] = *job;
		pthread_cond_signal(&p->cv_job);
	}
	pthread_mutex_unlock(&p->mu);
	return r != 0 ? dsb_error(r, "%s", p->errmsg) : 0;
}

static int pool_start(struct data_pool *p, struct dsb_repo *repo, int workers)
{
	struct data_worker *w;
	int i, r;

	memset(p, 0, sizeof(*p));
	p->repo = repo;
	p->cap = (size_t)workers * READ_QUEUE_PER_WORKER;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv_job, NULL);
	pthread_cond_init(&p->cv_room, NULL);
	if ((p->queue = calloc(p->cap, sizeof(*p->queue))) == NULL ||
	    (p->workers = calloc((size_t)workers, sizeof(*p->workers))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	p->nworkers = workers;
	for (i = 0; i < workers; i++) {
		w = &p->workers[i];
		w->pool = p;
		dsb_buf_init(&w->win, (size_t)DSB_PACK_MAX);
		dsb_buf_init(&w->seg, (size_t)DSB_PACK_MAX);
		dsb_buf_init(&w->blob, (size_t)DSB_BLOB_RAW_MAX + 64);
		if ((r = dsb_blob_opener_new(dsb_repo_keys(repo), &w->opener)) != 0)
			return r;
		if ((w->sha = dsb_sha256_new()) == NULL)
			return dsb_error(DSB_ERR_NOMEM, "out of memory");
		if (pthread_create(&w->thread, NULL, data_worker_main, w) != 0)
			return dsb_error(DSB_ERR_INTERNAL, "cannot start a thread to read packs");
		w->started = 1;
	}
	return 0;
}

/*
 * pool_stop(p, errors): let the workers finish what is queued, stop them,
 * add the problems they found to ${errors} and free the pool; 0, or the
 * failure that stopped a worker (reported here).
 */
static int pool_stop(struct data_pool *p, uint64_t *errors)
{
	int k, r;

	pthread_mutex_lock(&p->mu);
	p->closing = 1;
	pthread_cond_broadcast(&p->cv_job);
	pthread_mutex_unlock(&p->mu);
	for (k = 0; k < p->nworkers; k++) {
		if (p->workers[k].started)
			pthread_join(p->workers[k].thread, NULL);
		*errors += p->workers[k].errors;
		dsb_blob_opener_free(p->workers[k].opener);
		dsb_buf_release(&p->workers[k].win);
		dsb_buf_release(&p->workers[k].seg);
		dsb_buf_release(&p->workers[k].blob);
		dsb_sha256_free(p->workers[k].sha);
	}
	r = p->err != 0 ? dsb_error(p->err, "%s", p->errmsg) : 0;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv_job);
	pthread_cond_destroy(&p->cv_room);
	free(p->workers);
	free(p->queue);
	return r;
}

/* queue_pack: a dsb_repo_list callback choosing the packs to read (--read-data-subset) */
static int queue_pack(void *arg, const char *id_hex, uint64_t size)
{
	struct checker *c = arg;
	struct pack_job job;

	if (c->o->subset > 0 && c->o->subset < 1 &&
	    (double)random() / ((double)RAND_MAX + 1.0) >= c->o->subset)
		return 0;
	if (dsb_hex_decode(id_hex, job.id, 32) != 0)
		return 0;
	job.size = size;
	c->st->packs_read++;
	return pool_submit(c->pool, &job);
}

/* read_data(c): read and verify the packs chosen, with workers */
static int read_data(struct checker *c)
{
	struct data_pool pool;
	int workers = dsb_reader_workers(), r, r2;

	if ((r = pool_start(&pool, c->s->repo, workers)) == 0) {
		c->pool = &pool;
		r = dsb_repo_list(c->s->repo, "data", queue_pack, c);
		c->pool = NULL;
	}
	r2 = pool_stop(&pool, &c->st->errors);
	return r != 0 ? r : r2;
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
	if ((r = dsb_idset_init(&c.existing)) != 0 || (r = dsb_idset_init(&c.trees)) != 0)
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
		if ((r = read_data(&c)) != 0)
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
	return r;
}
