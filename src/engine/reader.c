/*
 * reader.c: worker threads that fetch, authenticate, decompress and
 * id-check blobs ahead of the thread that consumes them, in its order.
 *
 * The ring: slots [head, tail) are queued; next_job is the oldest not yet
 * claimed by a worker (a worker may claim later ones with it, which it
 * reads together; they become BUSY, then DONE, in any order); the consumer
 * takes slot head once it is DONE.  Only the consumer moves head and tail (and the byte count);
 * workers move next_job and the slots' states, under the mutex.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsbackup/error.h"
#include "dsbackup/util.h"
#include "reader.h"

#define GROUP_GAP_MAX ((uint64_t)64 << 10)   /* bytes skipped between blobs read together */
#define GROUP_SPAN_MAX ((uint64_t)8 << 20)   /* one read covers at most this */
#define GROUP_MIN 16                         /* queued blobs that start the workers unasked */
#define RUN_MAX 64                           /* blobs read together */
#define WORKERS_MAX 8

enum { SLOT_QUEUED, SLOT_BUSY, SLOT_DONE };

struct slot {
	struct dsb_blob_ref ref;
	uint64_t tag;
	int state;
	int rc;
	char err[1024];
	struct dsb_buf data;
};

struct worker {
	struct dsb_reader *rd;
	pthread_t thread;
	int started;
	struct dsb_blob_opener *opener;
	struct dsb_buf span;       /* the stored bytes of one run */
	size_t run[RUN_MAX];       /* the slots of the run being read */
	size_t nrun;
};

struct dsb_reader {
	struct dsb_repo *repo;
	pthread_mutex_t mu;
	pthread_cond_t cv_work;    /* blobs to claim, or closing */
	pthread_cond_t cv_done;    /* a slot is DONE */
	struct slot *slots;
	size_t nslots;
	size_t head, tail, next_job, kick;   /* counters; slot i is slots[i % nslots] */
	uint64_t bytes, budget;    /* raw bytes queued, and their limit */
	int closing;
	struct worker *workers;
	int nworkers;
};

int dsb_reader_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 2 ? 2 : n > WORKERS_MAX ? WORKERS_MAX : (int)n;
}

static struct slot *slot_at(const struct dsb_reader *rd, size_t i)
{
	return &rd->slots[i % rd->nslots];
}

/*
 * claimable(rd): workers may take slot next_job (mutex held): the consumer
 * waits for it, or enough is queued to read runs of neighbours together.
 */
static int claimable(const struct dsb_reader *rd)
{
	return rd->next_job < rd->tail && (rd->next_job < rd->kick ||
	    rd->tail - rd->next_job >= GROUP_MIN || rd->bytes >= rd->budget / 2);
}

/* follows(first, last, b): ${b} comes after ${last} closely in the same pack, so one read covers ${first}..${b} */
static int follows(const struct dsb_blob_ref *first, const struct dsb_blob_ref *last,
    const struct dsb_blob_ref *b)
{
	uint64_t end = last->entry.offset + last->entry.stored_len;

	return memcmp(first->pack, b->pack, sizeof(b->pack)) == 0 && b->entry.offset >= end &&
	    b->entry.offset - end <= GROUP_GAP_MAX &&
	    b->entry.offset + b->entry.stored_len - first->entry.offset <= GROUP_SPAN_MAX;
}

/*
 * claim(w): wait for work, then take the oldest queued blob and the queued
 * blobs after it that follow it in its pack (packs are written by several
 * workers, so a file's blobs alternate between packs).  0: closing.
 */
static int claim(struct worker *w)
{
	struct dsb_reader *rd = w->rd;
	struct slot *s, *last;
	size_t i;

	pthread_mutex_lock(&rd->mu);
	while (!rd->closing && !claimable(rd))
		pthread_cond_wait(&rd->cv_work, &rd->mu);
	if (rd->closing) {
		pthread_mutex_unlock(&rd->mu);
		return 0;
	}
	w->run[0] = rd->next_job;
	w->nrun = 1;
	last = slot_at(rd, rd->next_job);
	last->state = SLOT_BUSY;
	for (i = rd->next_job + 1; i < rd->tail && w->nrun < RUN_MAX; i++) {
		s = slot_at(rd, i);
		if (s->state == SLOT_QUEUED && follows(&slot_at(rd, w->run[0])->ref, &last->ref, &s->ref)) {
			s->state = SLOT_BUSY;
			w->run[w->nrun++] = i;
			last = s;
		}
	}
	while (rd->next_job < rd->tail && slot_at(rd, rd->next_job)->state != SLOT_QUEUED)
		rd->next_job++;
	if (claimable(rd))
		pthread_cond_signal(&rd->cv_work);   /* more for another worker */
	pthread_mutex_unlock(&rd->mu);
	return 1;
}

static void finish_slot(struct dsb_reader *rd, struct slot *s, int rc)
{
	pthread_mutex_lock(&rd->mu);
	s->rc = rc;
	if (rc != 0)
		snprintf(s->err, sizeof(s->err), "%s", dsb_errmsg());
	s->state = SLOT_DONE;
	pthread_cond_broadcast(&rd->cv_done);
	pthread_mutex_unlock(&rd->mu);
}

/* open_in_span(w, s, start): the blob of ${s} from the bytes read from pack offset ${start} on */
static int open_in_span(struct worker *w, struct slot *s, uint64_t start)
{
	const struct dsb_blob_ref *ref = &s->ref;
	char name[80], hex[65];
	int rc;

	rc = dsb_blob_open(w->opener, &ref->header, &ref->entry,
	    w->span.data + (ref->entry.offset - start), &s->data);
	if (rc != 0) {
		dsb_repo_pack_name(ref->pack, name);
		dsb_hex_encode(ref->entry.id, DSB_HASH_LEN, hex);
		rc = dsb_error_wrap(rc, "blob %.16s at offset %llu of pack %s", hex,
		    (unsigned long long)ref->entry.offset, name);
	}
	return rc;
}

/*
 * read_run(w): one read for the whole run; when it fails (a pack cut short,
 * say), each blob alone, so that only the blobs really lost fail.
 */
static void read_run(struct worker *w)
{
	struct dsb_reader *rd = w->rd;
	const struct dsb_blob_ref *a = &slot_at(rd, w->run[0])->ref;
	const struct dsb_blob_ref *z = &slot_at(rd, w->run[w->nrun - 1])->ref;
	uint64_t start = a->entry.offset, len = z->entry.offset + z->entry.stored_len - start;
	char name[80];
	size_t i;
	int whole = 0;

	if (w->nrun > 1) {
		dsb_repo_pack_name(a->pack, name);
		/* a backend that answers short leaves the blobs to be read (and fail) one by one */
		whole = dsb_backend_get(dsb_repo_backend(rd->repo), name, start, len, &w->span) == 0 &&
		    w->span.len == len;
	}
	for (i = 0; i < w->nrun; i++) {
		struct slot *s = slot_at(rd, w->run[i]);

		finish_slot(rd, s, whole ? open_in_span(w, s, start) :
		    dsb_repo_read_blob(rd->repo, w->opener, &s->ref, &w->span, &s->data));
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	while (claim(w))
		read_run(w);
	return NULL;
}

static int start_workers(struct dsb_reader *rd, int workers)
{
	struct worker *w;
	int i, r;

	if ((rd->workers = calloc((size_t)workers, sizeof(*rd->workers))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	rd->nworkers = workers;
	for (i = 0; i < workers; i++) {
		w = &rd->workers[i];
		w->rd = rd;
		dsb_buf_init(&w->span, (size_t)DSB_BLOB_RAW_MAX + 64);
		if ((r = dsb_blob_opener_new(dsb_repo_keys(rd->repo), &w->opener)) != 0)
			return r;
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			return dsb_error(DSB_ERR_INTERNAL, "cannot start a reading thread");
		w->started = 1;
	}
	return 0;
}

int dsb_reader_start(struct dsb_repo *repo, int workers, size_t slots, uint64_t budget,
    struct dsb_reader **out)
{
	struct dsb_reader *rd;
	size_t i;
	int r;

	if ((rd = calloc(1, sizeof(*rd))) == NULL ||
	    (rd->slots = calloc(slots > 0 ? slots : 1, sizeof(*rd->slots))) == NULL) {
		free(rd);
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	}
	rd->repo = repo;
	rd->nslots = slots > 0 ? slots : 1;
	rd->budget = budget;
	for (i = 0; i < rd->nslots; i++)
		dsb_buf_init(&rd->slots[i].data, (size_t)DSB_BLOB_RAW_MAX + 64);
	pthread_mutex_init(&rd->mu, NULL);
	pthread_cond_init(&rd->cv_work, NULL);
	pthread_cond_init(&rd->cv_done, NULL);
	if ((r = start_workers(rd, workers < 1 ? 1 : workers)) != 0) {
		dsb_reader_free(rd);
		return r;
	}
	*out = rd;
	return 0;
}

int dsb_reader_room(const struct dsb_reader *rd, uint32_t raw_len)
{
	if (rd->tail == rd->head)
		return 1;
	return rd->tail - rd->head < rd->nslots && rd->bytes + raw_len <= rd->budget;
}

size_t dsb_reader_pending(const struct dsb_reader *rd)
{
	return rd->tail - rd->head;
}

int dsb_reader_submit(struct dsb_reader *rd, const struct dsb_blob_ref *ref, uint64_t tag)
{
	struct slot *s;

	if (!dsb_reader_room(rd, ref->entry.raw_len))
		return dsb_error(DSB_ERR_INTERNAL, "blob queued with no room for it");
	pthread_mutex_lock(&rd->mu);
	s = slot_at(rd, rd->tail);
	s->ref = *ref;
	s->tag = tag;
	s->state = SLOT_QUEUED;
	s->rc = 0;
	rd->tail++;
	rd->bytes += ref->entry.raw_len;
	if (claimable(rd))
		pthread_cond_signal(&rd->cv_work);
	pthread_mutex_unlock(&rd->mu);
	return 0;
}

int dsb_reader_next(struct dsb_reader *rd, struct dsb_read_blob *out)
{
	struct slot *s;
	int rc;

	if (rd->head == rd->tail)
		return dsb_error(DSB_ERR_INTERNAL, "no blob queued to read");
	pthread_mutex_lock(&rd->mu);
	s = slot_at(rd, rd->head);
	if (s->state == SLOT_QUEUED) {
		/* everything queued so far is wanted soon: start on it */
		rd->kick = rd->tail;
		pthread_cond_broadcast(&rd->cv_work);
	}
	while (s->state != SLOT_DONE)
		pthread_cond_wait(&rd->cv_done, &rd->mu);
	rc = s->rc;
	pthread_mutex_unlock(&rd->mu);
	out->tag = s->tag;
	out->data = s->data.data;
	out->len = s->data.len;
	if (rc != 0)
		return dsb_error(rc, "%s", s->err);
	return 0;
}

void dsb_reader_release(struct dsb_reader *rd)
{
	if (rd->head == rd->tail)
		return;
	pthread_mutex_lock(&rd->mu);
	rd->bytes -= slot_at(rd, rd->head)->ref.entry.raw_len;
	rd->head++;
	if (claimable(rd))
		pthread_cond_signal(&rd->cv_work);
	pthread_mutex_unlock(&rd->mu);
}

void dsb_reader_free(struct dsb_reader *rd)
{
	size_t i;
	int k;

	if (rd == NULL)
		return;
	pthread_mutex_lock(&rd->mu);
	rd->closing = 1;
	pthread_cond_broadcast(&rd->cv_work);
	pthread_mutex_unlock(&rd->mu);
	for (k = 0; k < rd->nworkers; k++) {
		if (rd->workers[k].started)
			pthread_join(rd->workers[k].thread, NULL);
		dsb_blob_opener_free(rd->workers[k].opener);
		dsb_buf_release(&rd->workers[k].span);
	}
	for (i = 0; i < rd->nslots; i++)
		dsb_buf_release(&rd->slots[i].data);
	pthread_mutex_destroy(&rd->mu);
	pthread_cond_destroy(&rd->cv_work);
	pthread_cond_destroy(&rd->cv_done);
	free(rd->workers);
	free(rd->slots);
	free(rd);
}
