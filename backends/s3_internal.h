/*
 * s3_internal.h: shared by the files of the S3 backend only.
 *
 *   s3.c            the driver: URL, open/close, the backend operations
 *   s3_http.c       one signed request with retries, over a pool of curl handles
 *   s3_multipart.c  large objects: initiate, parallel parts, complete or abort
 *   s3_delete.c     many objects at once: DeleteObjects in batches
 *   s3_sigv4.c      the signature;  s3_xml.c  the answers;  s3_credentials.c  the keys
 */
#ifndef DSB_S3_INTERNAL_H
#define DSB_S3_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "dsbackup/buf.h"
#include "s3_credentials.h"
#include "s3_sigv4.h"
#include "s3_xml.h"

#define S3_POOL_MAX 32            /* idle curl handles kept */
#define S3_MAX_QUERY 6
#define S3_MAX_HEADERS 14         /* extra headers of one request */
#define S3_ERROR_BODY_MAX 65536   /* an error answer kept for its Code and Message */
#define S3_DELETE_BATCH_MAX 1000  /* keys per DeleteObjects request, the S3 limit */

/* Request counters, for the debug summary at close (requests per GB). */
enum s3_counter { S3_N_GET, S3_N_PUT, S3_N_HEAD, S3_N_DELETE, S3_N_POST, S3_N_LIST,
	S3_N_RETRY, S3_N_COUNTERS };

#define S3_WINDOW_SIZE ((uint64_t)4 << 20)  /* a read-ahead window of a pack */
#define S3_WINDOWS 8                          /* windows kept, least recently used evicted */

/* A cached byte range [off, off + data.len) of an immutable data/ object. */
struct s3_window {
	char *name;
	uint64_t off;
	struct dsb_buf data;
	unsigned long long used;   /* s3->cache_clock when last used; 0: empty slot */
};

/* One opened S3 repository location; immutable after open except the pool, cache and counters. */
struct s3 {
	char *display;          /* "s3:http://127.0.0.1:7480/bucket/prefix", for messages */
	char *base_url;         /* "http://127.0.0.1:7480", or "https://bucket.s3.amazonaws.com" */
	char *host;             /* the Host header: "127.0.0.1:7480" */
	char *bucket;
	char *prefix;           /* "" or "a/b/": prepended to every object name */
	int virtual_host;       /* the bucket is in the host name, not the path */
	int https;
	struct s3_credentials cred;
	char *region;
	char *ca_file;
	char *storage_class;    /* for data/ objects, or NULL */
	char *lock_mode;        /* "COMPLIANCE" or "GOVERNANCE" */
	unsigned retention_days;
	int insecure_tls;
	int connections;        /* parallel parts of one multipart upload */
	uint64_t multipart_threshold;
	uint64_t part_size;
	int retries;            /* attempts after the first, for ordinary requests */
	int retry_seconds;      /* total time budget of one request's retries */
	int delete_batch;       /* keys per DeleteObjects request, 1..S3_DELETE_BATCH_MAX */
	int versioning;         /* the bucket's, read once: 0 not yet, 1 off, 2 on (atomic) */

	pthread_mutex_t pool_lock;
	void *pool[S3_POOL_MAX];  /* idle CURL easy handles, connections kept alive */
	int npool;
	unsigned long long counters[S3_N_COUNTERS];  /* updated atomically */

	pthread_mutex_t cache_lock;
	struct s3_window cache[S3_WINDOWS];
	unsigned long long cache_clock;
};

/* One request: the object key is below the bucket, the prefix already added. */
struct s3_req {
	const char *method;
	const char *key;                 /* NULL or "": the bucket itself */
	struct s3_kv query[S3_MAX_QUERY];
	size_t nquery;
	struct s3_kv headers[S3_MAX_HEADERS];  /* signed and sent */
	size_t nheaders;
	const void *body;
	size_t body_len;
	struct dsb_buf *out;             /* a 2xx answer's body; NULL: discarded */
	uint64_t expect_len;             /* if non-zero, a 2xx body of exactly this length */
	int patient;                     /* retry longer (aborting a multipart upload) */
	int fresh;                       /* a new connection: every attempt is ours to count */
};

/* What came back. */
struct s3_resp {
	long status;
	int tries;                       /* attempts made */
	struct s3_xml_error err;         /* Code and Message of an error answer, if any */
	uint64_t content_length;
	int have_length;
	char etag[128];
	char version_id[256];
	char lock_mode[32];
	char retain_until[64];
};

/* s3_req_header(req, name, value): add a header; 0 or DSB_ERR_INTERNAL if full. */
int s3_req_header(struct s3_req *req, const char *name, const char *value);
/* s3_req_query(req, name, value): add a query parameter. */
int s3_req_query(struct s3_req *req, const char *name, const char *value);

/*
 * s3_http_do(s3, req, resp): sign and send ${req}, retrying transient
 * failures (connection errors, timeouts, 429, 500, 502, 503, 504,
 * SlowDown, RequestTimeout) with exponential backoff and jitter.  Returns
 * 0 when an answer arrived (any status: the caller judges ${resp->status}),
 * or DSB_ERR_BACKEND when none did.
 */
int s3_http_do(struct s3 *s3, const struct s3_req *req, struct s3_resp *resp);

/*
 * s3_http_error(s3, req, resp): the error for a non-2xx answer: 404
 * DSB_ERR_NOT_FOUND, 412 DSB_ERR_EXISTS, others DSB_ERR_BACKEND; the
 * message names the method, bucket, key, HTTP status, Code and Message.
 */
int s3_http_error(const struct s3 *s3, const struct s3_req *req, const struct s3_resp *resp);

/* s3_http_close(s3): free the pooled handles. */
void s3_http_close(struct s3 *s3);

/* s3_count(s3, counter): one more request of a kind. */
void s3_count(struct s3 *s3, enum s3_counter c);

/* s3_content_md5(p, n, out, size): base64 MD5 of the body, for Content-MD5. */
int s3_content_md5(const void *p, size_t n, char *out, size_t size);

/*
 * s3_put_headers(s3, name, req, until, untilsize): the headers every
 * upload of object ${name} carries: Content-Type, the storage class for
 * data/, and for data/ and snapshots/ with a retention period the object
 * lock mode and retain-until date (written to ${until}, which must live as
 * long as ${req}).  The caller adds Content-MD5 when s3_lock_applies().
 */
int s3_put_headers(const struct s3 *s3, const char *name, struct s3_req *req, char *until,
    size_t untilsize);

/*
 * s3_parse_location(location, o, s3): fill s3->bucket, prefix, base_url,
 * host, virtual_host, https from the URL without "s3:" and the options
 * (s3->region must be set).  0 or DSB_ERR_USAGE naming what is wrong.
 */
struct dsb_backend_options;
int s3_parse_location(const char *location, const struct dsb_backend_options *o, struct s3 *s3);

/*
 * s3_cache_get(s3, name, off, len, out): if a cached window holds bytes
 * [off, off+len) of ${name}, copy them to ${out} and return 1; else 0
 * (or an error from ${out}).
 */
int s3_cache_get(struct s3 *s3, const char *name, uint64_t off, uint64_t len, struct dsb_buf *out);
/* s3_cache_put(s3, name, off, data): keep a window (taken from ${data}, which is left empty). */
void s3_cache_put(struct s3 *s3, const char *name, uint64_t off, struct dsb_buf *data);
/* s3_cache_release(s3): free every window. */
void s3_cache_release(struct s3 *s3);

/* s3_head(s3, key, resp): HEAD the object; 0 with ${resp} for any answer. */
int s3_head(struct s3 *s3, const char *key, struct s3_resp *resp);

/*
 * s3_remove_many(state, names, n, gone): the backend's remove_many: HEAD
 * each object first only in a versioned bucket (to delete the version, so
 * that object lock can refuse it), then DeleteObjects in Quiet mode,
 * s3->delete_batch keys per request.
 */
int s3_remove_many(void *state, const char *const *names, size_t n, unsigned char *gone);

/* s3_lock_applies(s3, name): object lock headers go on this object. */
int s3_lock_applies(const struct s3 *s3, const char *name);

/*
 * s3_multipart_put(s3, name, key, p, n): upload ${n} bytes as a multipart
 * upload in parts of s3->part_size, up to s3->connections at once; on any
 * failure the upload is aborted.  0 or an error.
 */
int s3_multipart_put(struct s3 *s3, const char *name, const char *key, const void *p, size_t n);

/* s3_upload_cb(arg, key, upload_id): one multipart upload; non-zero stops the listing. */
typedef int (*s3_upload_cb)(void *arg, const char *key, const char *upload_id);

/*
 * s3_multipart_list(s3, prefix, patient, cb, arg): ListMultipartUploads of
 * the keys starting with ${prefix}, every page; ${cb} once per upload.
 * ${patient}: retried as long as an abort is.  0, an error (the message
 * names the bucket and prefix), or ${cb}'s value as is.
 */
int s3_multipart_list(struct s3 *s3, const char *prefix, int patient, s3_upload_cb cb,
    void *arg);

/*
 * s3_multipart_abort(s3, key, upload_id): AbortMultipartUpload, retried
 * patiently; an upload that is gone already (404) is 0.
 */
int s3_multipart_abort(struct s3 *s3, const char *key, const char *upload_id);

#endif
