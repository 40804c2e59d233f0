/*
 * s3.c: the S3 backend.  A repository is a bucket, or a prefix in one; an
 * object "data/ab/<hex>" is the key "<prefix>data/ab/<hex>".
 *
 * URLs: "s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX]" (path-style, the
 * endpoint in the URL) and "s3://BUCKET[/PREFIX]" (endpoint, region and
 * addressing from the backend options, else AWS).  Plain http only when
 * the URL says so; TLS certificates are verified.
 *
 * put() is a single PUT up to the multipart threshold, then a multipart
 * upload (s3_multipart.c).  Every upload carries Content-Length,
 * Content-Type and a signed SHA-256 of the payload; with object lock also
 * Content-MD5.  DSB_PUT_NO_OVERWRITE is "If-None-Match: *".  get() reads
 * ranges; list() is ListObjectsV2 with continuation tokens; remove() looks
 * the object up first (S3 deletes of missing keys succeed) and deletes its
 * version, so that object lock can refuse it; remove_many() is DeleteObjects
 * (s3_delete.c).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "dsbackup/backend.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "s3_internal.h"

#define S3_BUCKET_MAX 255
#define S3_DEFAULT_THRESHOLD ((uint64_t)64 << 20)
#define S3_DEFAULT_PART_SIZE ((uint64_t)16 << 20)
#define S3_MIN_PART_SIZE ((uint64_t)5 << 20)
#define S3_MAX_PART_SIZE ((uint64_t)5 << 30)
#define S3_DEFAULT_CONNECTIONS 4
#define S3_DEFAULT_RETRIES 8
#define S3_RETRY_SECONDS 120
#define S3_LIST_PAGE_MAX ((size_t)16 << 20)  /* one ListObjectsV2 answer */
#define S3_SMALL_ANSWER ((size_t)1 << 20)

/* ---- names ---- */

static char *object_key(const struct s3 *s3, const char *name)
{
	return dsb_asprintf("%s%s", s3->prefix, name);
}

/* checked_key(s3, name, keyp): the key of a valid object name: 0, DSB_ERR_USAGE or DSB_ERR_NOMEM. */
static int checked_key(const struct s3 *s3, const char *name, char **keyp)
{
	int r;

	*keyp = NULL;
	if ((r = dsb_backend_check_name(name, 0)) != 0)
		return r;
	if ((*keyp = object_key(s3, name)) == NULL)
		return DSB_ERR_NOMEM;
	return 0;
}

/* has_dir(name, dir): ${name} is "${dir}/..." */
static int has_dir(const char *name, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(name, dir, n) == 0 && name[n] == '/';
}

int s3_lock_applies(const struct s3 *s3, const char *name)
{
	return s3->retention_days > 0 && (has_dir(name, "data") || has_dir(name, "snapshots"));
}

int s3_put_headers(const struct s3 *s3, const char *name, struct s3_req *req, char *until,
    size_t untilsize)
{
	time_t t;
	struct tm tm;
	int r;

	if ((r = s3_req_header(req, "Content-Type", "application/octet-stream")) != 0)
		return r;
	if (s3->storage_class != NULL && has_dir(name, "data") &&
	    (r = s3_req_header(req, "x-amz-storage-class", s3->storage_class)) != 0)
		return r;
	if (!s3_lock_applies(s3, name))
		return 0;
	t = time(NULL) + (time_t)s3->retention_days * 86400;
	gmtime_r(&t, &tm);
	strftime(until, untilsize, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((r = s3_req_header(req, "x-amz-object-lock-mode", s3->lock_mode)) != 0)
		return r;
	return s3_req_header(req, "x-amz-object-lock-retain-until-date", until);
}

/* ---- put ---- */

/* same_content(s3, name, p, n): 1 if the stored object is exactly these bytes. */
static int same_content(struct s3 *s3, const char *key, const void *p, size_t n)
{
	struct s3_req req = { .method = "GET", .key = key };
	struct s3_resp resp;
	struct dsb_buf b;
	int same;

	dsb_buf_init(&b, n + 1);
	req.out = &b;
	req.expect_len = n;
	same = s3_http_do(s3, &req, &resp) == 0 && resp.status == 200 && b.len == n &&
	    (n == 0 || memcmp(b.data, p, n) == 0);
	dsb_buf_release(&b);
	dsb_error_clear();
	return same;
}

static int single_put(struct s3 *s3, const char *name, const char *key, const void *p, size_t n,
    unsigned flags)
{
	struct s3_req req = { .method = "PUT", .key = key, .body = p, .body_len = n };
	struct s3_resp resp;
	char until[64], md5[32];
	int r;

	if ((r = s3_put_headers(s3, name, &req, until, sizeof(until))) != 0)
		return r;
	if (s3_lock_applies(s3, name) && ((r = s3_content_md5(p, n, md5, sizeof(md5))) != 0 ||
	    (r = s3_req_header(&req, "Content-MD5", md5)) != 0))
		return r;
	if ((flags & DSB_PUT_NO_OVERWRITE) != 0 && (r = s3_req_header(&req, "If-None-Match", "*")) != 0)
		return r;
	if ((r = s3_http_do(s3, &req, &resp)) != 0)
		return r;
	if (resp.status >= 200 && resp.status < 300)
		return 0;
	/* a retried PUT may find the object that its first, unanswered attempt stored */
	if (resp.status == 412 && resp.tries > 1 && same_content(s3, key, p, n))
		return 0;
	if (resp.status == 412)
		return dsb_error(DSB_ERR_EXISTS, "object %s/%s already exists", s3->bucket, key);
	return s3_http_error(s3, &req, &resp);
}

int s3_head(struct s3 *s3, const char *key, struct s3_resp *resp)
{
	struct s3_req req = { .method = "HEAD", .key = key };

	return s3_http_do(s3, &req, resp);
}

static int s3_put(void *state, const char *name, const void *p, size_t n, unsigned flags)
{
	struct s3 *s3 = state;
	struct s3_resp resp;
	char *key = NULL;
	int r;

	if ((flags & ~(unsigned)DSB_PUT_NO_OVERWRITE) != 0)
		return dsb_error(DSB_ERR_INTERNAL, "unknown put flags 0x%x", flags);
	if ((r = checked_key(s3, name, &key)) != 0)
		return r;
	if ((uint64_t)n <= s3->multipart_threshold) {
		r = single_put(s3, name, key, p, n, flags);
		goto out;
	}
	/* multipart: no conditional completion everywhere; look first (the names are content hashes) */
	if ((flags & DSB_PUT_NO_OVERWRITE) != 0) {
		if ((r = s3_head(s3, key, &resp)) != 0)
			goto out;
		if (resp.status == 200) {
			r = dsb_error(DSB_ERR_EXISTS, "object %s/%s already exists", s3->bucket, key);
			goto out;
		}
	}
	r = s3_multipart_put(s3, name, key, p, n);
out:
	free(key);
	return r;
}

/* ---- get, stat ---- */

/* range_header(off, len, out, size): "bytes=off-last", "bytes=off-", or "" for everything. */
static void range_header(uint64_t off, uint64_t len, char *out, size_t size)
{
	if (len > 0)
		snprintf(out, size, "bytes=%llu-%llu", (unsigned long long)off,
		    (unsigned long long)(off + len - 1));
	else if (off > 0)
		snprintf(out, size, "bytes=%llu-", (unsigned long long)off);
	else
		out[0] = '\0';
}

static int s3_stat(void *state, const char *name, uint64_t *size);

/* short_object(s3, name, key, off, len): the answer to 416 or a short body. */
static int short_object(struct s3 *s3, const char *name, const char *key, uint64_t off,
    uint64_t len)
{
	uint64_t size = 0;
	int r;

	if ((r = s3_stat(s3, name, &size)) != 0)
		return r;
	if (len == 0 && off == size)
		return 0;  /* reading from the very end: nothing */
	return dsb_error(DSB_ERR_CORRUPT, "object %s/%s is %llu bytes, cannot read %llu..%llu",
	    s3->bucket, key, (unsigned long long)size, (unsigned long long)off,
	    (unsigned long long)(len > 0 ? off + len : size));
}

/*
 * fetch(s3, name, key, off, len, exact, out): one GET of [off, off+len)
 * (len 0: to the end).  With ${exact}, fewer bytes than asked is an error;
 * without, the answer may stop at the end of the object (a window).
 */
static int fetch(struct s3 *s3, const char *name, const char *key, uint64_t off, uint64_t len,
    int exact, struct dsb_buf *out)
{
	struct s3_req req = { .method = "GET", .key = key, .out = out, .expect_len = len };
	struct s3_resp resp;
	char range[64];
	int r;

	range_header(off, len, range, sizeof(range));
	if (range[0] != '\0' && (r = s3_req_header(&req, "Range", range)) != 0)
		return r;
	if ((r = s3_http_do(s3, &req, &resp)) != 0)
		return r;
	if (resp.status == 416)
		return short_object(s3, name, key, off, exact ? len : 1);
	if (resp.status == 200 && range[0] != '\0')
		return dsb_error(DSB_ERR_BACKEND, "s3 GET %s/%s: the server ignored the Range header",
		    s3->bucket, key);
	if (resp.status != 200 && resp.status != 206)
		return s3_http_error(s3, &req, &resp);
	if (exact && len > 0 && out->len != len) {
		if ((r = short_object(s3, name, key, off, len)) == 0)
			r = dsb_error(DSB_ERR_CORRUPT, "object %s/%s: short read", s3->bucket, key);
		return r;
	}
	return 0;
}

/* windowed(name, len): a small range of a pack, read through the cache (s3_cache.c). */
static int windowed(const char *name, uint64_t len)
{
	return has_dir(name, "data") && len > 0 && len <= S3_WINDOW_SIZE / 2;
}

static int get_windowed(struct s3 *s3, const char *name, const char *key, uint64_t off,
    uint64_t len, struct dsb_buf *out)
{
	struct dsb_buf w;
	uint64_t woff = off - off % S3_WINDOW_SIZE;
	int r;

	if ((r = s3_cache_get(s3, name, off, len, out)) != 0)
		return r == 1 ? 0 : r;
	if (off + len > woff + S3_WINDOW_SIZE)
		woff = off;  /* across a window boundary: a window starting here */
	dsb_buf_init(&w, 0);
	if ((r = fetch(s3, name, key, woff, S3_WINDOW_SIZE, 0, &w)) != 0)
		goto out;
	if (off + len > woff + w.len) {
		if ((r = short_object(s3, name, key, off, len)) == 0)
			r = dsb_error(DSB_ERR_CORRUPT, "object %s/%s: short read", s3->bucket, key);
		goto out;
	}
	dsb_buf_reset(out);
	if ((r = dsb_buf_append(out, w.data + (off - woff), (size_t)len)) != 0)
		goto out;
	s3_cache_put(s3, name, woff, &w);
out:
	dsb_buf_release(&w);
	return r;
}

static int s3_get(void *state, const char *name, uint64_t off, uint64_t len, struct dsb_buf *out)
{
	struct s3 *s3 = state;
	char *key = NULL;
	int r;

	dsb_buf_reset(out);
	if ((r = dsb_backend_check_name(name, 0)) != 0)
		return r;
	if (len > SIZE_MAX || (len > 0 && off > UINT64_MAX - len))
		return dsb_error(DSB_ERR_LIMIT, "cannot read %llu bytes of %s into memory",
		    (unsigned long long)len, name);
	if ((key = object_key(s3, name)) == NULL)
		return DSB_ERR_NOMEM;
	if (windowed(name, len))
		r = get_windowed(s3, name, key, off, len, out);
	else
		r = fetch(s3, name, key, off, len, 1, out);
	if (r != 0)
		dsb_buf_reset(out);
	free(key);
	return r;
}

static int s3_stat(void *state, const char *name, uint64_t *size)
{
	struct s3 *s3 = state;
	struct s3_req req = { .method = "HEAD" };
	struct s3_resp resp;
	char *key = NULL;
	int r;

	if ((r = checked_key(s3, name, &key)) != 0)
		return r;
	req.key = key;
	if ((r = s3_http_do(s3, &req, &resp)) != 0)
		goto out;
	if (resp.status != 200)
		r = s3_http_error(s3, &req, &resp);
	else if (!resp.have_length)
		r = dsb_error(DSB_ERR_BACKEND, "s3 HEAD %s/%s: no Content-Length", s3->bucket, key);
	else
		*size = resp.content_length;
out:
	free(key);
	return r;
}

/* ---- remove ---- */

/* locked_error(s3, key, head, del): the refusal of a delete under object lock. */
static int locked_error(const struct s3 *s3, const char *key, const struct s3_resp *h,
    const struct s3_resp *del)
{
	return dsb_error(DSB_ERR_BACKEND, "object %s/%s is under object lock%s%s%s until %s "
	    "and cannot be deleted before then (HTTP %ld %s)", s3->bucket, key,
	    h->lock_mode[0] ? " (" : "", h->lock_mode, h->lock_mode[0] ? ")" : "",
	    h->retain_until, del->status, del->err.code[0] ? del->err.code : "Forbidden");
}

static int s3_remove(void *state, const char *name)
{
	struct s3 *s3 = state;
	struct s3_req req = { .method = "DELETE" };
	struct s3_resp h, resp;
	char *key = NULL;
	int r;

	if ((r = checked_key(s3, name, &key)) != 0)
		return r;
	req.key = key;
	if ((r = s3_head(s3, key, &h)) != 0)
		goto out;
	if (h.status != 200) {
		req.method = "HEAD";
		r = s3_http_error(s3, &req, &h);
		goto out;
	}
	/* in a versioned bucket (object lock needs one), delete the version itself, not hide it */
	if (h.version_id[0] != '\0' && strcmp(h.version_id, "null") != 0 &&
	    (r = s3_req_query(&req, "versionId", h.version_id)) != 0)
		goto out;
	if ((r = s3_http_do(s3, &req, &resp)) != 0)
		goto out;
	if (resp.status == 403 && h.retain_until[0] != '\0')
		r = locked_error(s3, key, &h, &resp);
	else if (resp.status != 204 && resp.status != 200)
		r = s3_http_error(s3, &req, &resp);
out:
	free(key);
	return r;
}

/* ---- list ---- */

/* report_page(s3, page, cb, arg): call ${cb} for every key that is a valid object name. */
static int report_page(const struct s3 *s3, const struct s3_list_page *page,
    dsb_backend_list_cb cb, void *arg)
{
	size_t i, plen = strlen(s3->prefix);
	int r;

	for (i = 0; i < page->count; i++) {
		const char *key = page->entries[i].key;

		if (strncmp(key, s3->prefix, plen) != 0 || dsb_backend_check_name(key + plen, 0) != 0) {
			dsb_error_clear();
			dsb_debug("%s: skipping the key \"%.200s\", not an object name", s3->display, key);
			continue;
		}
		if ((r = cb(arg, key + plen, page->entries[i].size)) != 0)
			return r;
	}
	return 0;
}

/* list_page(s3, prefix, token, page): one ListObjectsV2 request. */
static int list_page(struct s3 *s3, const char *prefix, const char *token,
    struct s3_list_page *page)
{
	struct s3_req req = { .method = "GET", .key = NULL };
	struct s3_resp resp;
	struct dsb_buf b;
	int r;

	dsb_buf_init(&b, S3_LIST_PAGE_MAX);
	req.out = &b;
	if ((r = s3_req_query(&req, "list-type", "2")) != 0 ||
	    (r = s3_req_query(&req, "prefix", prefix)) != 0 ||
	    (token != NULL && (r = s3_req_query(&req, "continuation-token", token)) != 0))
		goto out;
	if ((r = s3_http_do(s3, &req, &resp)) != 0)
		goto out;
	if (resp.status != 200) {
		r = s3_http_error(s3, &req, &resp);
		goto out;
	}
	if ((r = s3_xml_parse_list((const char *)b.data, b.len, page)) != 0)
		r = dsb_error_wrap(r, "s3 listing %s/%s", s3->bucket, prefix);
out:
	dsb_buf_release(&b);
	return r;
}

static int s3_list(void *state, const char *dir, dsb_backend_list_cb cb, void *arg)
{
	struct s3 *s3 = state;
	struct s3_list_page page = { 0 };
	char *prefix = NULL, *token = NULL;
	int r;

	if ((r = dsb_backend_check_name(dir, 1)) != 0)
		return r;
	if ((prefix = dsb_asprintf("%s%s%s", s3->prefix, dir, *dir != '\0' ? "/" : "")) == NULL)
		return DSB_ERR_NOMEM;
	for (;;) {
		if ((r = list_page(s3, prefix, token, &page)) != 0 ||
		    (r = report_page(s3, &page, cb, arg)) != 0 || !page.truncated)
			break;
		free(token);
		token = page.next_token;
		page.next_token = NULL;
	}
	s3_list_page_release(&page);
	free(token);
	free(prefix);
	return r;
}

/* ---- unfinished writes: multipart uploads below the prefix ---- */

struct unfinished_relay {
	const struct s3 *s3;
	dsb_backend_unfinished_cb cb;
	void *arg;
};

static int unfinished_relay_cb(void *arg, const char *key, const char *upload_id)
{
	struct unfinished_relay *u = arg;
	size_t plen = strlen(u->s3->prefix);

	if (strncmp(key, u->s3->prefix, plen) != 0 || dsb_backend_check_name(key + plen, 0) != 0) {
		dsb_error_clear();
		dsb_debug("%s: skipping the upload of \"%.200s\", not an object name", u->s3->display,
		    key);
		return 0;
	}
	return u->cb(u->arg, key + plen, upload_id);
}

static int s3_list_unfinished(void *state, dsb_backend_unfinished_cb cb, void *arg)
{
	struct s3 *s3 = state;
	struct unfinished_relay u = { .s3 = s3, .cb = cb, .arg = arg };

	return s3_multipart_list(s3, s3->prefix, 0, unfinished_relay_cb, &u);
}

static int s3_abort_unfinished(void *state, const char *name, const char *handle)
{
	struct s3 *s3 = state;
	char *key = NULL;
	int r;

	if ((r = checked_key(s3, name, &key)) != 0)
		return r;
	r = s3_multipart_abort(s3, key, handle);
	free(key);
	return r;
}

/* ---- create ---- */

static int put_bucket(struct s3 *s3)
{
	struct s3_req req = { .method = "PUT", .key = NULL };
	struct s3_resp resp;
	char *body = NULL;
	int r;

	if (strcmp(s3->region, "us-east-1") != 0) {
		body = dsb_asprintf("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
		    "2006-03-01/\"><LocationConstraint>%s</LocationConstraint>"
		    "</CreateBucketConfiguration>", s3->region);
		if (body == NULL)
			return DSB_ERR_NOMEM;
		req.body = body;
		req.body_len = strlen(body);
	}
	if ((r = s3_req_header(&req, "Content-Type", "application/xml")) != 0 ||
	    (s3->retention_days > 0 &&
	    (r = s3_req_header(&req, "x-amz-bucket-object-lock-enabled", "true")) != 0))
		goto out;
	if ((r = s3_http_do(s3, &req, &resp)) != 0)
		goto out;
	if (resp.status == 200 || (resp.status == 409 &&
	    strcmp(resp.err.code, "BucketAlreadyOwnedByYou") == 0))
		r = 0;
	else
		r = s3_http_error(s3, &req, &resp);
	if (r == 0)
		dsb_info("created the bucket %s%s", s3->bucket,
		    s3->retention_days > 0 ? " with object lock enabled" : "");
out:
	free(body);
	return r;
}

static int s3_create(void *state)
{
	struct s3 *s3 = state;
	struct s3_req req = { .method = "HEAD", .key = NULL };
	struct s3_resp resp;
	int r;

	if ((r = s3_http_do(s3, &req, &resp)) != 0)
		return r;
	if (resp.status == 200)
		return 0;
	if (resp.status != 404)
		return s3_http_error(s3, &req, &resp);
	return put_bucket(s3);
}

/* ---- open and close ---- */

static void s3_close(void *state)
{
	struct s3 *s3 = state;

	if (s3 == NULL)
		return;
	s3_http_close(s3);
	s3_cache_release(s3);
	pthread_mutex_destroy(&s3->pool_lock);
	pthread_mutex_destroy(&s3->cache_lock);
	s3_credentials_release(&s3->cred);
	free(s3->display);
	free(s3->base_url);
	free(s3->host);
	free(s3->bucket);
	free(s3->prefix);
	free(s3->region);
	free(s3->ca_file);
	free(s3->storage_class);
	free(s3->lock_mode);
	free(s3);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* copy_option(dst, v): strdup of an optional string. */
static int copy_option(char **dst, const char *v)
{
	if (v == NULL)
		return 0;
	return (*dst = dsb_strdup(v)) == NULL ? DSB_ERR_NOMEM : 0;
}

/* apply_options(s3, o): settings, with defaults and checks. */
static int apply_options(struct s3 *s3, const struct dsb_backend_options *o)
{
	int r;

	s3->retention_days = o->s3_retention_days;
	s3->insecure_tls = o->insecure_tls;
	s3->connections = o->s3_connections > 0 ? o->s3_connections : S3_DEFAULT_CONNECTIONS;
	s3->retries = o->s3_retries > 0 ? o->s3_retries : o->s3_retries < 0 ? 0 : S3_DEFAULT_RETRIES;
	s3->retry_seconds = S3_RETRY_SECONDS;
	s3->delete_batch = o->s3_delete_batch > 0 ? o->s3_delete_batch : S3_DELETE_BATCH_MAX;
	s3->multipart_threshold = o->s3_multipart_threshold > 0 ? o->s3_multipart_threshold :
	    S3_DEFAULT_THRESHOLD;
	s3->part_size = o->s3_part_size > 0 ? o->s3_part_size : S3_DEFAULT_PART_SIZE;
	if (s3->part_size < S3_MIN_PART_SIZE || s3->part_size > S3_MAX_PART_SIZE)
		return dsb_error(DSB_ERR_USAGE, "S3 part size %llu is outside 5 MiB..5 GiB",
		    (unsigned long long)s3->part_size);
	if (o->s3_lock_mode != NULL && strcmp(o->s3_lock_mode, "COMPLIANCE") != 0 &&
	    strcmp(o->s3_lock_mode, "GOVERNANCE") != 0)
		return dsb_error(DSB_ERR_USAGE, "S3 object lock mode \"%s\": use COMPLIANCE or GOVERNANCE",
		    o->s3_lock_mode);
	if ((r = copy_option(&s3->lock_mode, o->s3_lock_mode != NULL ? o->s3_lock_mode :
	    "COMPLIANCE")) != 0 || (r = copy_option(&s3->ca_file, o->s3_ca_file)) != 0 ||
	    (r = copy_option(&s3->storage_class, o->s3_storage_class)) != 0)
		return r;
	if (s3->insecure_tls)
		dsb_warn("%s: TLS certificates are not verified", s3->display);
	return 0;
}

static int s3_open(const char *location, void **statep)
{
	struct dsb_backend_options o;
	struct s3 *s3 = NULL;
	int r;

	*statep = NULL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_result != CURLE_OK)
		return dsb_error(DSB_ERR_BACKEND, "libcurl: %s", curl_easy_strerror(curl_init_result));
	if ((r = dsb_backend_get_options(&o)) != 0)
		return r;
	if ((s3 = calloc(1, sizeof(*s3))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&s3->pool_lock, NULL);
	pthread_mutex_init(&s3->cache_lock, NULL);
	if ((r = s3_credentials_load(o.s3_credentials_file, &s3->cred)) != 0 ||
	    (r = copy_option(&s3->region, o.s3_region != NULL ? o.s3_region :
	    s3->cred.region != NULL ? s3->cred.region : "us-east-1")) != 0 ||
	    (r = s3_parse_location(location, &o, s3)) != 0)
		goto out;
	if ((s3->display = dsb_asprintf("s3:%s/%s%s%.*s", s3->base_url,
	    s3->virtual_host ? "" : s3->bucket, s3->virtual_host || *s3->prefix == '\0' ? "" : "/",
	    (int)(strlen(s3->prefix) > 0 ? strlen(s3->prefix) - 1 : 0), s3->prefix)) == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	if ((r = apply_options(s3, &o)) != 0)
		goto out;
	dsb_debug("%s: bucket %s, prefix \"%s\", endpoint %s, %s-style, region %s, credentials from %s",
	    s3->display, s3->bucket, s3->prefix, s3->base_url,
	    s3->virtual_host ? "virtual-host" : "path", s3->region, s3->cred.source);
	*statep = s3;
	s3 = NULL;
	r = 0;
out:
	s3_close(s3);
	return r;
}

const struct dsb_backend_ops dsb_backend_s3 = {
	.name = "s3",
	.scheme = "s3:",
	.open = s3_open,
	.create = s3_create,
	.put = s3_put,
	.get = s3_get,
	.stat = s3_stat,
	.remove = s3_remove,
	.remove_many = s3_remove_many,
	.list = s3_list,
	.list_unfinished = s3_list_unfinished,
	.abort_unfinished = s3_abort_unfinished,
	.close = s3_close,
};
