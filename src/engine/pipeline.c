/* pipeline.c: worker threads that pack, compress, encrypt and store blobs. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsbackup/error.h"
#include "dsbackup/util.h"
#include "pipeline.h"

#define MAX_JOBS_PER_WORKER 2
/*
 * The submitting thread wakes a worker when this many jobs, or bytes, are
 * queued, not for each blob: with small files a wake-up per blob cost more
 * than the work it brought (a worker takes every queued job before it
 * sleeps again, and the queue is never full without a wake-up).
 */
#define WAKE_JOBS_PER_WORKER 1
#define WAKE_BYTES ((size_t)64 << 10)

struct job {
	uint8_t id[32];
	int type;
	struct dsb_buf data;
	struct job *next;
};

struct dsb_pipeline {
	struct dsb_repo *repo;
	pthread_mutex_t mu;
	pthread_cond_t cv_job;    /* a job was queued, or closing/error */
	pthread_cond_t cv_free;   /* a job buffer came back, or error */
	struct job *head, *tail;  /* queue */
	size_t queued, queued_bytes, wake_jobs;
	struct job *free_jobs;
	size_t njobs, max_jobs;
	int closing;
	int err;
	char errmsg[2048];
	struct dsb_done_pack *done;
	struct dsb_pipeline_stats stats;
	pthread_t *threads;
	int nthreads;
	int finished;
};

static void set_error(struct dsb_pipeline *p, int r)
{
	pthread_mutex_lock(&p->mu);
	if (p->err == 0) {
		p->err = r;
		snprintf(p->errmsg, sizeof(p->errmsg), "%s", dsb_errmsg());
	}
	pthread_cond_broadcast(&p->cv_job);
	pthread_cond_broadcast(&p->cv_free);
	pthread_mutex_unlock(&p->mu);
}

/* report the stored error on the calling thread (mutex held) */
static int error_locked(struct dsb_pipeline *p)
{
	return dsb_error(p->err, "%s", p->errmsg);
}

static int store_pack(struct dsb_pipeline *p, struct dsb_pack_writer *w)
{
	struct dsb_pack_result res;
	struct dsb_done_pack *d;
	int r;

	if ((r = dsb_pack_writer_finish(w, &res)) != 0)
		return r;
	if ((r = dsb_repo_put_pack(p->repo, &res)) != 0)
		return r;
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (res.n > 0 && (d->entries = malloc(res.n * sizeof(*res.entries))) == NULL)) {
		free(d);
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	}
	memcpy(d->rec.id, res.id, 32);
	d->rec.size = res.len;
	d->rec.header = res.header;
	d->rec.n = res.n;
	if (res.n > 0)
		memcpy(d->entries, res.entries, res.n * sizeof(*res.entries));
	d->rec.entries = d->entries;
	pthread_mutex_lock(&p->mu);
	d->next = p->done;
	p->done = d;
	p->stats.packs++;
	p->stats.stored_bytes += res.len;
	pthread_mutex_unlock(&p->mu);
	return dsb_pack_writer_reset(w);
}

static struct job *next_job(struct dsb_pipeline *p)
{
	struct job *j = NULL;

	pthread_mutex_lock(&p->mu);
	while (p->head == NULL && !p->closing && p->err == 0)
		pthread_cond_wait(&p->cv_job, &p->mu);
	if (p->err == 0 && p->head != NULL) {
		j = p->head;
		p->head = j->next;
		if (p->head == NULL)
			p->tail = NULL;
		p->queued--;
		p->queued_bytes -= j->data.len;
	}
	pthread_mutex_unlock(&p->mu);
	return j;
}

static void return_job(struct dsb_pipeline *p, struct job *j, size_t raw)
{
	pthread_mutex_lock(&p->mu);
	j->next = p->free_jobs;
	p->free_jobs = j;
	p->stats.blobs++;
	p->stats.raw_bytes += raw;
	pthread_cond_signal(&p->cv_free);
	pthread_mutex_unlock(&p->mu);
}

static void *worker(void *arg)
{
	struct dsb_pipeline *p = arg;
	const struct dsb_repo_config *cfg = dsb_repo_config(p->repo);
	struct dsb_pack_writer *w = NULL;
	struct job *j;
	int r;

	if ((r = dsb_pack_writer_new(dsb_repo_pack_keys(p->repo), cfg->compression, &w)) != 0)
		goto out;
	while ((j = next_job(p)) != NULL) {
		r = dsb_pack_writer_add(w, j->id, j->type, j->data.data, j->data.len);
		return_job(p, j, j->data.len);
		if (r != 0)
			goto out;
		if (dsb_pack_writer_size(w) >= cfg->pack_size && (r = store_pack(p, w)) != 0)
			goto out;
	}
	pthread_mutex_lock(&p->mu);
	r = p->err == 0 && p->finished ? 0 : -1;
	pthread_mutex_unlock(&p->mu);
	if (r == 0 && dsb_pack_writer_count(w) > 0)
		r = store_pack(p, w);
	else
		r = 0;
out:
	if (r != 0)
		set_error(p, r);
	dsb_pack_writer_free(w);
	return NULL;
}

int dsb_pipeline_start(struct dsb_repo *repo, int workers, struct dsb_pipeline **out)
{
	struct dsb_pipeline *p;
	int i;

	if (workers < 1)
		workers = 1;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->threads = calloc((size_t)workers, sizeof(pthread_t))) == NULL) {
		free(p);
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	}
	p->repo = repo;
	p->max_jobs = (size_t)workers * MAX_JOBS_PER_WORKER;
	p->wake_jobs = (size_t)workers * WAKE_JOBS_PER_WORKER;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv_job, NULL);
	pthread_cond_init(&p->cv_free, NULL);
	for (i = 0; i < workers; i++) {
		if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
			dsb_pipeline_free(p);
			return dsb_error(DSB_ERR_INTERNAL, "cannot start worker thread");
		}
		p->nthreads++;
	}
	*out = p;
	return 0;
}

int dsb_pipeline_submit(struct dsb_pipeline *p, const uint8_t id[32], int type, const void *data,
    size_t len)
{
	struct job *j = NULL;
	int r;

	pthread_mutex_lock(&p->mu);
	while (p->err == 0 && p->free_jobs == NULL && p->njobs >= p->max_jobs)
		pthread_cond_wait(&p->cv_free, &p->mu);
	if (p->err != 0) {
		r = error_locked(p);
		pthread_mutex_unlock(&p->mu);
		return r;
	}
	if (p->free_jobs != NULL) {
		j = p->free_jobs;
		p->free_jobs = j->next;
	} else {
		p->njobs++;
	}
	pthread_mutex_unlock(&p->mu);
	if (j == NULL) {
		if ((j = calloc(1, sizeof(*j))) == NULL)
			return dsb_error(DSB_ERR_NOMEM, "out of memory");
		dsb_buf_init(&j->data, (size_t)DSB_BLOB_RAW_MAX);
	}
	memcpy(j->id, id, 32);
	j->type = type;
	dsb_buf_reset(&j->data);
	if ((r = dsb_buf_append(&j->data, data, len)) != 0) {
		return_job(p, j, 0);
		return r;
	}
	j->next = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->tail != NULL)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->queued++;
	p->queued_bytes += j->data.len;
	if (p->queued >= p->wake_jobs || p->queued_bytes >= WAKE_BYTES)
		pthread_cond_signal(&p->cv_job);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

struct dsb_done_pack *dsb_pipeline_take_done(struct dsb_pipeline *p)
{
	struct dsb_done_pack *d;

	pthread_mutex_lock(&p->mu);
	d = p->done;
	p->done = NULL;
	pthread_mutex_unlock(&p->mu);
	return d;
}

void dsb_done_pack_free(struct dsb_done_pack *d)
{
	struct dsb_done_pack *next;

	for (; d != NULL; d = next) {
		next = d->next;
		free(d->entries);
		free(d);
	}
}

static void stop_workers(struct dsb_pipeline *p, int finished)
{
	int i;

	pthread_mutex_lock(&p->mu);
	p->closing = 1;
	p->finished = finished;
	pthread_cond_broadcast(&p->cv_job);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	p->nthreads = 0;
}

int dsb_pipeline_finish(struct dsb_pipeline *p, struct dsb_pipeline_stats *st)
{
	int r = 0;

	stop_workers(p, 1);
	pthread_mutex_lock(&p->mu);
	if (p->err != 0)
		r = error_locked(p);
	*st = p->stats;
	pthread_mutex_unlock(&p->mu);
	return r;
}

void dsb_pipeline_free(struct dsb_pipeline *p)
{
	struct job *j, *next;

	if (p == NULL)
		return;
	if (p->nthreads > 0) {
		set_error(p, DSB_ERR_INTERRUPTED);
		stop_workers(p, 0);
	}
	for (j = p->head; j != NULL; j = next) {
		next = j->next;
		dsb_buf_release(&j->data);
		free(j);
	}
	for (j = p->free_jobs; j != NULL; j = next) {
		next = j->next;
		dsb_buf_release(&j->data);
		free(j);
	}
	dsb_done_pack_free(p->done);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv_job);
	pthread_cond_destroy(&p->cv_free);
	free(p->threads);
	free(p);
}
