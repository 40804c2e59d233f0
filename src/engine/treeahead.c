/*
 * treeahead.c: parent trees decoded ahead of the walk (treeahead.h).
 *
 * Jobs form one list under the mutex.  A job is QUEUED, then BUSY while a
 * worker (or the walk itself) reads and decodes it, then DONE until the walk
 * takes it.  Workers pick the deepest queued job, the oldest among equals:
 * the walk descends before it moves on to a sibling, so that is the one it
 * needs next.  A BUSY job that is dropped is freed by its worker when done.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dsbackup/error.h"
#include "dsbackup/pack.h"
#include "dsbackup/util.h"
#include "treeahead.h"

/* jobs in the list at most, however small their trees: the list is searched from end to end */
#define JOBS_MAX 512

enum { JOB_QUEUED, JOB_BUSY, JOB_DONE };

struct job {
	struct job *next;
	struct dsb_blob_ref ref;
	int depth;
	int state;
	int dropped;
	int rc;
	char *err;                 /* the message of a failed job */
	struct dsb_tree tree;
};

/* what one thread needs to read trees: a blob opener (its zstd context) and buffers */
struct tree_reader {
	struct dsb_blob_opener *opener;
	struct dsb_buf scratch, raw;
};

struct worker {
	struct dsb_treeahead *ta;
	pthread_t thread;
	struct tree_reader tr;
};

struct dsb_treeahead {
	struct dsb_repo *repo;
	pthread_mutex_t mu;
	pthread_cond_t cv_work;    /* a job is queued, or closing */
	pthread_cond_t cv_done;    /* a job is DONE */
	struct job *jobs;          /* newest first */
	uint64_t bytes, budget;    /* raw bytes of the jobs in the list */
	size_t njobs;
	int closing;
	struct worker *workers;
	int nworkers, started;     /* allocated, running */
	struct tree_reader caller;
};

static int tree_reader_init(struct tree_reader *tr, struct dsb_repo *repo)
{
	dsb_buf_init(&tr->scratch, (size_t)DSB_BLOB_RAW_MAX + 64);
	dsb_buf_init(&tr->raw, (size_t)DSB_BLOB_RAW_MAX + 64);
	return dsb_blob_opener_new(dsb_repo_keys(repo), &tr->opener);
}

static void tree_reader_release(struct tree_reader *tr)
{
	dsb_blob_opener_free(tr->opener);
	dsb_buf_release(&tr->scratch);
	dsb_buf_release(&tr->raw);
}

/* trim(b): a buffer a large tree made large is given back */
static void trim(struct dsb_buf *b)
{
	if (b->cap > ((size_t)4 << 20)) {
		dsb_buf_release(b);
		dsb_buf_init(b, (size_t)DSB_BLOB_RAW_MAX + 64);
	}
}

/* run_job(ta, tr, j): read and decode ${j} into j->tree; j->rc and j->err as it went */
static void run_job(struct dsb_treeahead *ta, struct tree_reader *tr, struct job *j)
{
	char hex[65];
	int r;

	r = dsb_repo_read_blob(ta->repo, tr->opener, &j->ref, &tr->scratch, &tr->raw);
	if (r == 0)
		r = dsb_tree_decode(tr->raw.data, tr->raw.len, &j->tree);
	if (r != 0) {
		dsb_hex_encode(j->ref.entry.id, 32, hex);
		r = dsb_error_wrap(r, "tree %.16s", hex);
		j->err = dsb_strdup(dsb_errmsg());   /* NULL: the code alone is reported */
		dsb_error_clear();
	}
	j->rc = r;
	trim(&tr->scratch);
	trim(&tr->raw);
}

static void job_free(struct job *j)
{
	dsb_tree_release(&j->tree);
	free(j->err);
	free(j);
}

/* unlink_job(ta, j): take ${j} out of the list, and its bytes out of the count; under the mutex */
static void unlink_job(struct dsb_treeahead *ta, struct job *j)
{
	struct job **p;

	for (p = &ta->jobs; *p != NULL; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	ta->bytes -= j->ref.entry.raw_len;
	ta->njobs--;
}

/* next_job(ta): the deepest queued job, the oldest among equals (the list is newest first) */
static struct job *next_job(struct dsb_treeahead *ta)
{
	struct job *j, *best = NULL;

	for (j = ta->jobs; j != NULL; j = j->next)
		if (j->state == JOB_QUEUED && (best == NULL || j->depth >= best->depth))
			best = j;
	return best;
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct dsb_treeahead *ta = wk->ta;
	struct job *j;

	pthread_mutex_lock(&ta->mu);
	for (;;) {
		while (!ta->closing && (j = next_job(ta)) == NULL)
			pthread_cond_wait(&ta->cv_work, &ta->mu);
		if (ta->closing)
			break;
		j->state = JOB_BUSY;
		pthread_mutex_unlock(&ta->mu);
		run_job(ta, &wk->tr, j);
		pthread_mutex_lock(&ta->mu);
		if (j->dropped) {
			unlink_job(ta, j);
			job_free(j);
			continue;
		}
		j->state = JOB_DONE;
		pthread_cond_broadcast(&ta->cv_done);
	}
	pthread_mutex_unlock(&ta->mu);
	return NULL;
}

int dsb_treeahead_start(struct dsb_repo *repo, int workers, uint64_t budget,
    struct dsb_treeahead **out)
{
	struct dsb_treeahead *ta;
	int r, i;

	*out = NULL;
	if ((ta = calloc(1, sizeof(*ta))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	ta->repo = repo;
	ta->budget = budget;
	pthread_mutex_init(&ta->mu, NULL);
	pthread_cond_init(&ta->cv_work, NULL);
	pthread_cond_init(&ta->cv_done, NULL);
	if ((ta->workers = calloc((size_t)workers, sizeof(*ta->workers))) == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "out of memory");
		goto fail;
	}
	ta->nworkers = workers;
	if ((r = tree_reader_init(&ta->caller, repo)) != 0)
		goto fail;
	for (i = 0; i < workers; i++) {
		ta->workers[i].ta = ta;
		if ((r = tree_reader_init(&ta->workers[i].tr, repo)) != 0)
			goto fail;
		if (pthread_create(&ta->workers[i].thread, NULL, worker_main, &ta->workers[i]) != 0) {
			r = dsb_error(DSB_ERR_NOMEM, "cannot start a thread to read the parent "
			    "snapshot's trees");
			goto fail;
		}
		ta->started++;
	}
	*out = ta;
	return 0;
fail:
	dsb_treeahead_free(ta);
	return r;
}

int dsb_treeahead_submit(struct dsb_treeahead *ta, const struct dsb_blob_ref *ref, int depth)
{
	struct job *j;

	pthread_mutex_lock(&ta->mu);
	if (ta->njobs >= JOBS_MAX ||
	    (ta->bytes > 0 && ta->bytes + ref->entry.raw_len > ta->budget)) {
		pthread_mutex_unlock(&ta->mu);
		return 1;
	}
	pthread_mutex_unlock(&ta->mu);
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	j->ref = *ref;
	j->depth = depth;
	j->state = JOB_QUEUED;
	dsb_tree_init(&j->tree);
	pthread_mutex_lock(&ta->mu);
	j->next = ta->jobs;
	ta->jobs = j;
	ta->bytes += ref->entry.raw_len;
	ta->njobs++;
	pthread_cond_signal(&ta->cv_work);
	pthread_mutex_unlock(&ta->mu);
	return 0;
}

static struct job *find_job(struct dsb_treeahead *ta, const uint8_t id[32])
{
	struct job *j, *found = NULL;

	/* the oldest of equal trees (two empty directories share one): it is the likeliest done */
	for (j = ta->jobs; j != NULL; j = j->next)
		if (!j->dropped && memcmp(j->ref.entry.id, id, 32) == 0)
			found = j;
	return found;
}

int dsb_treeahead_take(struct dsb_treeahead *ta, const uint8_t id[32], struct dsb_tree *t)
{
	struct job *j;
	int r;

	pthread_mutex_lock(&ta->mu);
	if ((j = find_job(ta, id)) == NULL) {
		pthread_mutex_unlock(&ta->mu);
		return 1;
	}
	if (j->state == JOB_QUEUED) {   /* not started: this thread does it, rather than wait */
		j->state = JOB_BUSY;
		pthread_mutex_unlock(&ta->mu);
		run_job(ta, &ta->caller, j);
		pthread_mutex_lock(&ta->mu);
		j->state = JOB_DONE;
	}
	while (j->state == JOB_BUSY)
		pthread_cond_wait(&ta->cv_done, &ta->mu);
	unlink_job(ta, j);
	pthread_mutex_unlock(&ta->mu);
	r = j->rc;
	if (r == 0) {
		*t = j->tree;
		dsb_tree_init(&j->tree);
	} else {
		dsb_error(r, "%s", j->err != NULL ? j->err : "cannot read the tree");
	}
	job_free(j);
	return r;
}

void dsb_treeahead_drop(struct dsb_treeahead *ta, int depth)
{
	struct job *j, *next;

	pthread_mutex_lock(&ta->mu);
	for (j = ta->jobs; j != NULL; j = next) {
		next = j->next;
		if (j->depth <= depth || j->dropped)
			continue;
		if (j->state == JOB_BUSY) {
			j->dropped = 1;   /* the worker frees it */
			continue;
		}
		unlink_job(ta, j);
		job_free(j);
	}
	pthread_mutex_unlock(&ta->mu);
}

void dsb_treeahead_free(struct dsb_treeahead *ta)
{
	struct job *j;
	int i;

	if (ta == NULL)
		return;
	pthread_mutex_lock(&ta->mu);
	ta->closing = 1;
	pthread_cond_broadcast(&ta->cv_work);
	pthread_mutex_unlock(&ta->mu);
	for (i = 0; i < ta->started; i++)
		pthread_join(ta->workers[i].thread, NULL);
	while ((j = ta->jobs) != NULL) {
		ta->jobs = j->next;
		job_free(j);
	}
	for (i = 0; i < ta->nworkers; i++)
		tree_reader_release(&ta->workers[i].tr);
	free(ta->workers);
	tree_reader_release(&ta->caller);
	pthread_mutex_destroy(&ta->mu);
	pthread_cond_destroy(&ta->cv_work);
	pthread_cond_destroy(&ta->cv_done);
	free(ta);
}
