/*
 * s3_multipart.c: an object too large for one PUT goes up as a multipart
 * upload: initiate, parts in parallel (each thread with its own pooled
 * connection), complete; after any failure the upload is aborted, so no
 * orphaned parts stay billed in the bucket.
 *
 * Like tarsnap's storage_write_start/_file/_end/_free: the object exists
 * only after the completion, never half-written.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "s3_internal.h"

#define MP_UPLOAD_ID_MAX 1024
#define MP_ETAG_MAX 128
#define MP_MAX_PARTS 10000       /* S3's limit */
#define MP_MAX_THREADS 64
#define MP_ANSWER_MAX ((size_t)1 << 20)

struct mp {
	struct s3 *s3;
	const char *name;
	const char *key;
	const unsigned char *p;
	size_t n;
	size_t nparts;
	char upload_id[MP_UPLOAD_ID_MAX];
	char (*etags)[MP_ETAG_MAX];

	pthread_mutex_t lock;
	size_t next;                 /* the next part to send */
	int start_unsure;            /* the start was retried or not answered: may leave orphans */
	int err;                     /* the first failure */
	char errmsg[1024];           /* its message: messages are per thread */
};

static int initiate(struct mp *mp)
{
	/* fresh: an attempt libcurl repeated unseen could leave an upload we never hear of */
	struct s3_req req = { .method = "POST", .key = mp->key, .fresh = 1 };
	struct s3_resp resp = { 0 };
	struct dsb_buf b;
	char until[64];
	int r;

	dsb_buf_init(&b, MP_ANSWER_MAX);
	req.out = &b;
	if ((r = s3_req_query(&req, "uploads", "")) != 0 ||
	    (r = s3_put_headers(mp->s3, mp->name, &req, until, sizeof(until))) != 0)
		goto out;
	r = s3_http_do(mp->s3, &req, &resp);
	/* retried, unanswered, or a 5xx (which S3 may have acted on) */
	mp->start_unsure = resp.tries > 1 || (r != 0 && resp.tries > 0) || resp.status >= 500;
	if (r != 0)
		goto out;
	if (resp.status != 200) {
		r = s3_http_error(mp->s3, &req, &resp);
		goto out;
	}
	if ((r = s3_xml_parse_upload_id((const char *)b.data, b.len, mp->upload_id,
	    sizeof(mp->upload_id))) != 0) {
		mp->start_unsure = 1;   /* made, perhaps, with an id we could not read */
		r = dsb_error_wrap(r, "s3 starting a multipart upload of %s/%s", mp->s3->bucket, mp->key);
	}
out:
	dsb_buf_release(&b);
	return r;
}

static int upload_part(struct mp *mp, size_t i)
{
	struct s3_req req = { .method = "PUT", .key = mp->key };
	struct s3_resp resp;
	size_t off = i * (size_t)mp->s3->part_size, len = mp->n - off;
	char number[24], md5[32];
	int r;

	if (len > mp->s3->part_size)
		len = (size_t)mp->s3->part_size;
	req.body = mp->p + off;
	req.body_len = len;
	snprintf(number, sizeof(number), "%zu", i + 1);
	if ((r = s3_req_query(&req, "partNumber", number)) != 0 ||
	    (r = s3_req_query(&req, "uploadId", mp->upload_id)) != 0 ||
	    (r = s3_req_header(&req, "Content-Type", "application/octet-stream")) != 0)
		return r;
	if (s3_lock_applies(mp->s3, mp->name) && ((r = s3_content_md5(req.body, len, md5,
	    sizeof(md5))) != 0 || (r = s3_req_header(&req, "Content-MD5", md5)) != 0))
		return r;
	if ((r = s3_http_do(mp->s3, &req, &resp)) != 0)
		return r;
	if (resp.status != 200)
		return s3_http_error(mp->s3, &req, &resp);
	if (resp.etag[0] == '\0')
		return dsb_error(DSB_ERR_BACKEND, "s3 PUT %s/%s part %zu: no ETag in the answer",
		    mp->s3->bucket, mp->key, i + 1);
	memcpy(mp->etags[i], resp.etag, sizeof(resp.etag) < MP_ETAG_MAX ? sizeof(resp.etag) :
	    MP_ETAG_MAX);
	mp->etags[i][MP_ETAG_MAX - 1] = '\0';
	return 0;
}

/* part_worker(arg): send parts until none is left or one has failed. */
static void *part_worker(void *arg)
{
	struct mp *mp = arg;
	size_t i;
	int r;

	for (;;) {
		pthread_mutex_lock(&mp->lock);
		if (mp->err != 0 || mp->next == mp->nparts) {
			pthread_mutex_unlock(&mp->lock);
			return NULL;
		}
		i = mp->next++;
		pthread_mutex_unlock(&mp->lock);
		if ((r = upload_part(mp, i)) != 0) {
			pthread_mutex_lock(&mp->lock);
			if (mp->err == 0) {
				mp->err = r;
				snprintf(mp->errmsg, sizeof(mp->errmsg), "%s", dsb_errmsg());
			}
			pthread_mutex_unlock(&mp->lock);
			return NULL;
		}
	}
}

/* upload_parts(mp): every part, on up to s3->connections threads (this one included). */
static int upload_parts(struct mp *mp)
{
	pthread_t threads[MP_MAX_THREADS];
	size_t want = (size_t)mp->s3->connections, started = 0, i;

	if (want > mp->nparts)
		want = mp->nparts;
	if (want > MP_MAX_THREADS)
		want = MP_MAX_THREADS;
	for (i = 1; i < want; i++) {
		if (pthread_create(&threads[started], NULL, part_worker, mp) != 0)
			break;  /* fewer threads: slower, not wrong */
		started++;
	}
	part_worker(mp);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	if (mp->err != 0)
		return dsb_error(mp->err, "%s", mp->errmsg);
	return 0;
}

/* complete_body(mp, out): <CompleteMultipartUpload> with every part's number and ETag. */
static int complete_body(const struct mp *mp, struct dsb_buf *out)
{
	char line[64 + MP_ETAG_MAX];
	size_t i;
	int r, n;

	if ((r = dsb_buf_append(out, "<CompleteMultipartUpload>", 25)) != 0)
		return r;
	for (i = 0; i < mp->nparts; i++) {
		if (strpbrk(mp->etags[i], "<&") != NULL)
			return dsb_error(DSB_ERR_BACKEND, "s3: invalid ETag for part %zu", i + 1);
		n = snprintf(line, sizeof(line), "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>",
		    i + 1, mp->etags[i]);
		if ((r = dsb_buf_append(out, line, (size_t)n)) != 0)
			return r;
	}
	return dsb_buf_append(out, "</CompleteMultipartUpload>", 26);
}

/* stored_whole(mp): after a lost answer to the completion, is the object there in full? */
static int stored_whole(struct mp *mp)
{
	struct s3_req req = { .method = "HEAD", .key = mp->key };
	struct s3_resp resp;

	return s3_http_do(mp->s3, &req, &resp) == 0 && resp.status == 200 && resp.have_length &&
	    resp.content_length == mp->n;
}

static int complete(struct mp *mp)
{
	struct s3_req req = { .method = "POST", .key = mp->key };
	struct s3_resp resp;
	struct s3_xml_error e;
	struct dsb_buf body, answer;
	int r;

	dsb_buf_init(&body, 0);
	dsb_buf_init(&answer, MP_ANSWER_MAX);
	req.out = &answer;
	if ((r = complete_body(mp, &body)) != 0 ||
	    (r = s3_req_query(&req, "uploadId", mp->upload_id)) != 0 ||
	    (r = s3_req_header(&req, "Content-Type", "application/xml")) != 0)
		goto out;
	req.body = body.data;
	req.body_len = body.len;
	if ((r = s3_http_do(mp->s3, &req, &resp)) != 0)
		goto out;
	if (resp.status == 404 && resp.tries > 1 && stored_whole(mp)) {
		r = 0;  /* an earlier attempt completed it */
	} else if (resp.status != 200) {
		r = s3_http_error(mp->s3, &req, &resp);
	} else if (s3_xml_parse_error((const char *)answer.data, answer.len, &e) == 0) {
		/* S3 may answer 200 and report the failure in the body */
		r = dsb_error(DSB_ERR_BACKEND, "s3 completing the multipart upload of %s/%s: %s: %s",
		    mp->s3->bucket, mp->key, e.code, e.message);
	} else {
		dsb_error_clear();
		r = 0;
	}
out:
	dsb_buf_release(&body);
	dsb_buf_release(&answer);
	return r;
}

int s3_multipart_abort(struct s3 *s3, const char *key, const char *upload_id)
{
	struct s3_req req = { .method = "DELETE", .key = key, .patient = 1 };
	struct s3_resp resp;
	int r;

	if ((r = s3_req_query(&req, "uploadId", upload_id)) != 0 ||
	    (r = s3_http_do(s3, &req, &resp)) != 0)
		return r;
	if (resp.status != 204 && resp.status != 200 && resp.status != 404)
		return s3_http_error(s3, &req, &resp);
	return 0;
}

/* abort_upload(mp): best effort, patiently retried; a failure is logged, not returned. */
static void abort_upload(struct mp *mp)
{
	char saved[1024];

	snprintf(saved, sizeof(saved), "%s", dsb_errmsg());  /* the error that made us abort */
	if (s3_multipart_abort(mp->s3, mp->key, mp->upload_id) != 0)
		dsb_warn("could not abort the multipart upload of %s/%s (upload id %.40s...): %s; "
		    "its parts stay in the bucket until a lifecycle rule, an abort or the next run "
		    "alone in the repository removes them", mp->s3->bucket, mp->key, mp->upload_id,
		    dsb_errmsg());
	else
		dsb_debug("aborted the multipart upload of %s/%s", mp->s3->bucket, mp->key);
	dsb_error(DSB_ERR_BACKEND, "%s", saved);
}

/* ---- listing uploads ---- */

#define MP_KEY_MAX 1025
#define MP_LIST_PAGES_MAX 100000  /* 1000 uploads a page: far more than any repository holds */
#define MP_LIST_ANSWER_MAX ((size_t)16 << 20)

/* One page of a <ListMultipartUploadsResult>, reported upload by upload. */
struct uploads_doc {
	s3_upload_cb cb;
	void *arg;
	int stopped;                 /* ${cb} returned this (non-zero) */
	char k[MP_KEY_MAX];
	char id[MP_UPLOAD_ID_MAX];
	int truncated;
	char next_key[MP_KEY_MAX];
	char next_id[MP_UPLOAD_ID_MAX];
};

static int uploads_cb(void *arg, const char *path, const char *text, size_t len)
{
	struct uploads_doc *d = arg;
	static const char up[] = "/ListMultipartUploadsResult/Upload";
	int r;

	if (strcmp(path, "/ListMultipartUploadsResult/Upload/Key") == 0)
		snprintf(d->k, sizeof(d->k), "%.*s", (int)len, text);
	else if (strcmp(path, "/ListMultipartUploadsResult/Upload/UploadId") == 0)
		snprintf(d->id, sizeof(d->id), "%.*s", (int)len, text);
	else if (strcmp(path, "/ListMultipartUploadsResult/IsTruncated") == 0)
		d->truncated = len == 4 && strcmp(text, "true") == 0;
	else if (strcmp(path, "/ListMultipartUploadsResult/NextKeyMarker") == 0)
		snprintf(d->next_key, sizeof(d->next_key), "%.*s", (int)len, text);
	else if (strcmp(path, "/ListMultipartUploadsResult/NextUploadIdMarker") == 0)
		snprintf(d->next_id, sizeof(d->next_id), "%.*s", (int)len, text);
	else if (strcmp(path, up) == 0) {
		if (d->k[0] != '\0' && d->id[0] != '\0' && (r = d->cb(d->arg, d->k, d->id)) != 0)
			return d->stopped = r;
		d->k[0] = d->id[0] = '\0';
	}
	return 0;
}

/* uploads_page(s3, prefix, d, b): one ListMultipartUploads request, from d's markers. */
static int uploads_page(struct s3 *s3, const char *prefix, struct uploads_doc *d,
    struct dsb_buf *b, int patient)
{
	struct s3_req req = { .method = "GET", .key = NULL, .out = b, .patient = patient };
	struct s3_resp resp;
	int r;

	dsb_buf_reset(b);
	if ((r = s3_req_query(&req, "uploads", "")) != 0 ||
	    (r = s3_req_query(&req, "prefix", prefix)) != 0 ||
	    (d->next_key[0] != '\0' && (r = s3_req_query(&req, "key-marker", d->next_key)) != 0) ||
	    (d->next_id[0] != '\0' && (r = s3_req_query(&req, "upload-id-marker", d->next_id)) != 0))
		return r;
	if ((r = s3_http_do(s3, &req, &resp)) != 0)
		return r;
	if (resp.status != 200)
		return s3_http_error(s3, &req, &resp);
	d->truncated = 0;
	d->k[0] = d->id[0] = '\0';
	return s3_xml_walk((const char *)b->data, b->len, uploads_cb, d);
}

int s3_multipart_list(struct s3 *s3, const char *prefix, int patient, s3_upload_cb cb, void *arg)
{
	struct uploads_doc *d;
	struct dsb_buf b;
	char last_key[MP_KEY_MAX] = "", last_id[MP_UPLOAD_ID_MAX] = "";
	size_t page;
	int r;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	d->cb = cb;
	d->arg = arg;
	dsb_buf_init(&b, MP_LIST_ANSWER_MAX);
	for (page = 0;; page++) {
		if ((r = uploads_page(s3, prefix, d, &b, patient)) != 0 || !d->truncated)
			break;
		/* a server that does not move on would have us loop for ever */
		if (page + 1 == MP_LIST_PAGES_MAX ||
		    (d->next_key[0] == '\0' && d->next_id[0] == '\0') ||
		    (strcmp(d->next_key, last_key) == 0 && strcmp(d->next_id, last_id) == 0)) {
			r = dsb_error(DSB_ERR_CORRUPT, "truncated, without new markers to go on from");
			break;
		}
		memcpy(last_key, d->next_key, sizeof(last_key));
		memcpy(last_id, d->next_id, sizeof(last_id));
	}
	if (r != 0 && r != d->stopped)
		r = dsb_error_wrap(r, "s3 listing the multipart uploads of %s/%s*", s3->bucket, prefix);
	dsb_buf_release(&b);
	free(d);
	return r;
}

/*
 * Uploads whose start was answered too late: when the answer to
 * CreateMultipartUpload is lost (the connection dropped after the server
 * acted), the server holds an upload we have no id for.  That happens when
 * a start failed, and when it took more than one attempt (an earlier one may
 * have reached the server).  abort_orphans then lists the uploads of this
 * very key (object names are content hashes: nobody else uploads it with
 * other bytes) and aborts every one but ${keep}.  The listing is patient,
 * like the abort: the server that dropped the answer may need a while to
 * come back.
 */
#define MP_ORPHANS_MAX 16

struct orphans {
	const char *key;
	const char *keep;
	char ids[MP_ORPHANS_MAX][MP_UPLOAD_ID_MAX];
	size_t n;
};

static int orphan_cb(void *arg, const char *key, const char *upload_id)
{
	struct orphans *o = arg;

	if (strcmp(key, o->key) == 0 && strcmp(upload_id, o->keep) != 0 && o->n < MP_ORPHANS_MAX)
		snprintf(o->ids[o->n++], MP_UPLOAD_ID_MAX, "%s", upload_id);
	return 0;
}

/*
 * abort_orphans(mp, keep, failed): best effort, like abort_upload.  ${failed}:
 * the upload failed, and its error stays the thread's error.
 */
static void abort_orphans(struct mp *mp, const char *keep, int failed)
{
	struct orphans *o;
	char saved[1024] = "";
	size_t i;

	if (failed)
		snprintf(saved, sizeof(saved), "%s", dsb_errmsg());
	if ((o = calloc(1, sizeof(*o))) == NULL)
		goto out;
	o->key = mp->key;
	o->keep = keep;
	if (s3_multipart_list(mp->s3, mp->key, 1, orphan_cb, o) != 0) {
		dsb_warn("could not list the multipart uploads of %s/%s after its start %s: %s; "
		    "an upload the server started for it stays until a lifecycle rule, an abort or "
		    "the next run alone in the repository removes it", mp->s3->bucket, mp->key,
		    failed ? "failed" : "was retried", dsb_errmsg());
		goto out;
	}
	for (i = 0; i < o->n; i++) {
		snprintf(mp->upload_id, sizeof(mp->upload_id), "%s", o->ids[i]);
		abort_upload(mp);
	}
out:
	free(o);
	if (failed)
		dsb_error(DSB_ERR_BACKEND, "%s", saved);
	else
		dsb_error_clear();
}

int s3_multipart_put(struct s3 *s3, const char *name, const char *key, const void *p, size_t n)
{
	struct mp mp = { .s3 = s3, .name = name, .key = key, .p = p, .n = n };
	int r;

	mp.nparts = (size_t)((n + s3->part_size - 1) / s3->part_size);
	if (mp.nparts > MP_MAX_PARTS)
		return dsb_error(DSB_ERR_LIMIT, "%s: %zu bytes would be more than %d parts of %llu bytes",
		    key, n, MP_MAX_PARTS, (unsigned long long)s3->part_size);
	if ((mp.etags = calloc(mp.nparts, sizeof(*mp.etags))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&mp.lock, NULL);
	if ((r = initiate(&mp)) != 0) {
		if (mp.start_unsure)
			abort_orphans(&mp, "", 1);
		goto out;
	}
	dsb_debug("s3: multipart upload of %s/%s: %zu bytes in %zu parts", s3->bucket, key, n,
	    mp.nparts);
	if ((r = upload_parts(&mp)) != 0 || (r = complete(&mp)) != 0)
		abort_upload(&mp);
	if (mp.start_unsure) {
		char ours[MP_UPLOAD_ID_MAX];

		snprintf(ours, sizeof(ours), "%s", mp.upload_id);
		abort_orphans(&mp, ours, r != 0);
	}
out:
	pthread_mutex_destroy(&mp.lock);
	free(mp.etags);
	return r;
}
