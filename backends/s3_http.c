/*
 * s3_http.c: one S3 request: sign it (s3_sigv4.c), send it with libcurl,
 * collect the answer, and retry what is worth retrying.
 *
 * Easy handles live in a small pool on the struct s3, guarded by a mutex:
 * a thread takes one for a request and puts it back, so its connection is
 * kept alive for the next request of any thread.  Secrets (the secret key,
 * the session token) only ever reach the signer and a request header; the
 * Authorization header and the token are never logged, and libcurl's
 * verbose mode is never on.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "s3_internal.h"

#define HTTP_CONNECT_TIMEOUT 15L   /* seconds */
#define HTTP_LOW_SPEED_TIME 60L    /* seconds below HTTP_LOW_SPEED_LIMIT: a stalled transfer */
#define HTTP_LOW_SPEED_LIMIT 1024L /* bytes per second */
#define RETRY_BASE_MS 200          /* first backoff, doubled each time */
#define RETRY_CAP_MS 10000         /* longest single backoff */
#define PATIENT_RETRIES 12         /* aborting a multipart upload is worth waiting for */
#define PATIENT_SECONDS 90
#define HEADER_MAX 2048            /* one header line kept for parsing */

static const char *const counter_names[S3_N_COUNTERS] = {
	"GET", "PUT", "HEAD", "DELETE", "POST", "LIST", "retries"
};

void s3_count(struct s3 *s3, enum s3_counter c)
{
	__atomic_fetch_add(&s3->counters[c], 1ULL, __ATOMIC_RELAXED);
}

int s3_req_header(struct s3_req *req, const char *name, const char *value)
{
	if (req->nheaders == S3_MAX_HEADERS)
		return dsb_error(DSB_ERR_INTERNAL, "s3: too many request headers");
	req->headers[req->nheaders].name = name;
	req->headers[req->nheaders].value = value;
	req->nheaders++;
	return 0;
}

int s3_req_query(struct s3_req *req, const char *name, const char *value)
{
	if (req->nquery == S3_MAX_QUERY)
		return dsb_error(DSB_ERR_INTERNAL, "s3: too many query parameters");
	req->query[req->nquery].name = name;
	req->query[req->nquery].value = value;
	req->nquery++;
	return 0;
}

/* ---- the pool ---- */

static CURL *pool_get(struct s3 *s3)
{
	CURL *h = NULL;

	pthread_mutex_lock(&s3->pool_lock);
	if (s3->npool > 0)
		h = s3->pool[--s3->npool];
	pthread_mutex_unlock(&s3->pool_lock);
	if (h == NULL && (h = curl_easy_init()) == NULL)
		dsb_error(DSB_ERR_NOMEM, "cannot create a curl handle");
	return h;
}

static void pool_put(struct s3 *s3, CURL *h)
{
	pthread_mutex_lock(&s3->pool_lock);
	if (s3->npool < S3_POOL_MAX) {
		s3->pool[s3->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&s3->pool_lock);
	if (h != NULL)
		curl_easy_cleanup(h);
}

void s3_http_close(struct s3 *s3)
{
	size_t i;

	while (s3->npool > 0)
		curl_easy_cleanup(s3->pool[--s3->npool]);
	for (i = 0; i < S3_N_COUNTERS; i++) {
		if (s3->counters[i] != 0)
			dsb_debug("%s: %llu %s requests", s3->display, s3->counters[i], counter_names[i]);
	}
}

/* ---- one transfer ---- */

struct xfer {
	const struct s3_req *req;
	struct s3_resp *resp;
	size_t sent;
	struct dsb_buf errbody;
	int overflow;        /* the body was longer than expected */
	int nomem;
};

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t left = x->req->body_len - x->sent, n = size * nmemb;

	if (n > left)
		n = left;
	if (n > 0)
		memcpy(dst, (const char *)x->req->body + x->sent, n);
	x->sent += n;
	return n;
}

static int seek_cb(void *arg, curl_off_t off, int origin)
{
	struct xfer *x = arg;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > x->req->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	x->sent = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

static int is_2xx(long status)
{
	return status >= 200 && status < 300;
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	struct dsb_buf *out = x->req->out;
	size_t n = size * nmemb;

	if (!is_2xx(x->resp->status)) {
		size_t room = S3_ERROR_BODY_MAX - x->errbody.len;

		dsb_buf_append(&x->errbody, p, n < room ? n : room);
		return n;
	}
	if (out == NULL)
		return n;
	if (x->req->expect_len != 0 && out->len + n > x->req->expect_len) {
		x->overflow = 1;
		return 0;
	}
	if (dsb_buf_append(out, p, n) != 0) {
		x->nomem = 1;
		return 0;
	}
	return n;
}

/* header_value(line, n, name, out, size): the value if the line is "name: value". */
static int header_value(const char *line, size_t n, const char *name, char *out, size_t size)
{
	size_t k = strlen(name);

	if (n <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
		return 0;
	line += k + 1;
	n -= k + 1;
	while (n > 0 && (*line == ' ' || *line == '\t'))
		line++, n--;
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(out, line, n);
	out[n] = '\0';
	return 1;
}

/* new_status(x, line): "HTTP/1.1 200 OK" starts a response (there may be a 100 first). */
static void new_status(struct xfer *x, const char *line)
{
	const char *sp = strchr(line, ' ');
	struct s3_resp *resp = x->resp;

	memset(resp, 0, sizeof(*resp));
	resp->status = sp != NULL ? strtol(sp + 1, NULL, 10) : 0;
	dsb_buf_reset(&x->errbody);
}

static size_t header_cb(char *p, size_t size, size_t nitems, void *arg)
{
	struct xfer *x = arg;
	struct s3_resp *resp = x->resp;
	size_t n = size * nitems;
	char line[HEADER_MAX], v[64];

	if (n >= sizeof(line))
		return n;  /* nothing we read is that long */
	memcpy(line, p, n);
	line[n] = '\0';
	if (strncmp(line, "HTTP/", 5) == 0) {
		new_status(x, line);
	} else if (header_value(line, n, "content-length", v, sizeof(v))) {
		char *end;

		errno = 0;
		resp->content_length = strtoull(v, &end, 10);
		resp->have_length = errno == 0 && end != v && *end == '\0' && isdigit((unsigned char)v[0]);
		if (resp->have_length && is_2xx(resp->status) && x->req->out != NULL &&
		    resp->content_length <= x->req->out->max && resp->content_length < SIZE_MAX)
			dsb_buf_reserve(x->req->out, (size_t)resp->content_length);
	} else if (!header_value(line, n, "etag", resp->etag, sizeof(resp->etag)) &&
	    !header_value(line, n, "x-amz-version-id", resp->version_id, sizeof(resp->version_id)) &&
	    !header_value(line, n, "x-amz-object-lock-mode", resp->lock_mode, sizeof(resp->lock_mode))) {
		header_value(line, n, "x-amz-object-lock-retain-until-date", resp->retain_until,
		    sizeof(resp->retain_until));
	}
	return n;
}

/* ---- building a request ---- */

/* request_path(s3, key, out): "/bucket/key" (path style) or "/key", raw. */
static int request_path(const struct s3 *s3, const char *key, struct dsb_buf *out)
{
	int r;

	dsb_buf_reset(out);
	if (!s3->virtual_host && ((r = dsb_buf_append(out, "/", 1)) != 0 ||
	    (r = dsb_buf_append(out, s3->bucket, strlen(s3->bucket))) != 0))
		return r;
	if (key != NULL && *key != '\0') {
		if ((r = dsb_buf_append(out, "/", 1)) != 0 || (r = dsb_buf_append(out, key, strlen(key))) != 0)
			return r;
	} else if (s3->virtual_host && (r = dsb_buf_append(out, "/", 1)) != 0) {
		return r;
	}
	return dsb_buf_append(out, "", 1);
}

/* request_url(s3, path, req, out): base URL, encoded path, canonical query. */
static int request_url(const struct s3 *s3, const char *path, const struct s3_req *req,
    struct dsb_buf *out)
{
	int r;

	dsb_buf_reset(out);
	if ((r = dsb_buf_append(out, s3->base_url, strlen(s3->base_url))) != 0 ||
	    (r = s3_uri_encode(path, strlen(path), 1, out)) != 0)
		return r;
	if (req->nquery > 0 && ((r = dsb_buf_append(out, "?", 1)) != 0 ||
	    (r = s3_sigv4_canonical_query(req->query, req->nquery, out)) != 0))
		return r;
	return dsb_buf_append(out, "", 1);
}

/* A signed request ready for curl: every header as "Name: value". */
struct signed_req {
	struct dsb_buf path, url, auth;
	struct curl_slist *headers;
	char date[S3_AMZ_DATE_LEN];
};

static int add_header(struct curl_slist **list, const char *name, const char *value)
{
	struct curl_slist *l;
	char *line;

	if ((line = dsb_asprintf("%s: %s", name, value)) == NULL)
		return DSB_ERR_NOMEM;
	l = curl_slist_append(*list, line);
	OPENSSL_cleanse(line, strlen(line));  /* it may hold the session token */
	free(line);
	if (l == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	*list = l;
	return 0;
}

/* sign(s3, req, payload_hash, sr): the headers to send, Authorization last. */
static int sign(const struct s3 *s3, const struct s3_req *req, const char *payload_hash,
    struct signed_req *sr)
{
	struct s3_kv hdr[S3_MAX_HEADERS + 4];
	struct s3_sigv4_key key = { s3->cred.access_key, s3->cred.secret_key, s3->region, "s3" };
	struct s3_sigv4_request sreq;
	size_t n = 0, i;
	int r;

	s3_amz_date((long long)time(NULL), sr->date);
	hdr[n++] = (struct s3_kv){ "Host", s3->host };
	hdr[n++] = (struct s3_kv){ "x-amz-date", sr->date };
	hdr[n++] = (struct s3_kv){ "x-amz-content-sha256", payload_hash };
	if (s3->cred.session_token != NULL)
		hdr[n++] = (struct s3_kv){ "x-amz-security-token", s3->cred.session_token };
	for (i = 0; i < req->nheaders; i++)
		hdr[n++] = req->headers[i];
	sreq = (struct s3_sigv4_request){ .method = req->method, .path = (const char *)sr->path.data,
		.query = req->query, .nquery = req->nquery, .headers = hdr, .nheaders = n,
		.payload_hash = payload_hash };
	if ((r = s3_sigv4_authorization(&sreq, &key, sr->date, &sr->auth)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		if ((r = add_header(&sr->headers, hdr[i].name, hdr[i].value)) != 0)
			return r;
	}
	if ((r = add_header(&sr->headers, "Authorization", (const char *)sr->auth.data)) != 0)
		return r;
	/* no "Expect: 100-continue" round trip before each upload */
	if ((sr->headers = curl_slist_append(sr->headers, "Expect:")) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	return 0;
}

static void signed_req_release(struct signed_req *sr)
{
	struct curl_slist *l;

	dsb_buf_release(&sr->path);
	dsb_buf_release(&sr->url);
	dsb_buf_release(&sr->auth);
	for (l = sr->headers; l != NULL; l = l->next)
		OPENSSL_cleanse(l->data, strlen(l->data));  /* the session token, if any */
	curl_slist_free_all(sr->headers);
	sr->headers = NULL;
}

static void set_method(CURL *h, const struct s3_req *req, struct xfer *x)
{
	if (strcmp(req->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(req->method, "PUT") == 0 || strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(h, CURLOPT_READDATA, x);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_cb);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
	} else if (strcmp(req->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	}
}

static void set_options(const struct s3 *s3, CURL *h, struct signed_req *sr, struct xfer *x,
    char *errbuf)
{
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, (const char *)sr->url.data);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, sr->headers);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, HTTP_CONNECT_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, HTTP_LOW_SPEED_LIMIT);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, HTTP_LOW_SPEED_TIME);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	if (s3->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, s3->ca_file);
	if (s3->insecure_tls) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	set_method(h, x->req, x);
}

/* ---- retries ---- */

static int retryable_curl(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

static int retryable_status(const struct s3_resp *resp)
{
	long s = resp->status;

	return s == 429 || s == 500 || s == 502 || s == 503 || s == 504 ||
	    strcmp(resp->err.code, "SlowDown") == 0 || strcmp(resp->err.code, "RequestTimeout") == 0;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* backoff_ms(attempt): exponential, capped, with jitter in [50 %, 100 %]. */
static long backoff_ms(int attempt)
{
	long ms = RETRY_BASE_MS;
	unsigned short rnd = 0;
	int i;

	for (i = 1; i < attempt && ms < RETRY_CAP_MS; i++)
		ms *= 2;
	if (ms > RETRY_CAP_MS)
		ms = RETRY_CAP_MS;
	if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1)
		rnd = (unsigned short)(time(NULL) * 2654435761u);
	return ms / 2 + (long)((unsigned long)(ms / 2) * rnd / 65535u);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static const char *shown_key(const struct s3_req *req)
{
	return req->key != NULL && *req->key != '\0' ? req->key : "";
}

/* attempt(s3, h, req, resp, payload_hash, x, errbuf): one try; the CURLcode. */
static CURLcode attempt(struct s3 *s3, CURL *h, const struct s3_req *req, struct s3_resp *resp,
    const char *payload_hash, struct xfer *x, char *errbuf, int *rp)
{
	struct signed_req sr = { .headers = NULL };
	CURLcode c = CURLE_FAILED_INIT;

	dsb_buf_init(&sr.path, 0);
	dsb_buf_init(&sr.url, 0);
	dsb_buf_init(&sr.auth, 0);
	memset(resp, 0, sizeof(*resp));
	if (req->out != NULL)
		dsb_buf_reset(req->out);
	dsb_buf_reset(&x->errbody);
	x->sent = 0;
	x->overflow = x->nomem = 0;
	errbuf[0] = '\0';
	if ((*rp = request_path(s3, req->key, &sr.path)) != 0 ||
	    (*rp = request_url(s3, (const char *)sr.path.data, req, &sr.url)) != 0 ||
	    (*rp = sign(s3, req, payload_hash, &sr)) != 0)
		goto out;
	set_options(s3, h, &sr, x, errbuf);
	/* on a reused connection that died, libcurl itself sends again, unseen */
	curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, req->fresh ? 1L : 0L);
	c = curl_easy_perform(h);
	if (c == CURLE_OK && resp->status == 0)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
out:
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	signed_req_release(&sr);
	return c;
}

/* transfer_error(s3, req, c, x, errbuf, tries): the message when no answer came. */
static int transfer_error(const struct s3 *s3, const struct s3_req *req, CURLcode c,
    const struct xfer *x, const char *errbuf, int tries)
{
	if (x->nomem)
		return dsb_error(DSB_ERR_NOMEM, "s3 %s %s/%s: no memory for the answer", req->method,
		    s3->bucket, shown_key(req));
	if (x->overflow)
		return dsb_error(DSB_ERR_CORRUPT, "s3 %s %s/%s: answer longer than the %llu bytes asked for",
		    req->method, s3->bucket, shown_key(req), (unsigned long long)req->expect_len);
	return dsb_error(DSB_ERR_BACKEND, "s3 %s %s/%s at %s: %s (%d attempt%s)", req->method,
	    s3->bucket, shown_key(req), s3->base_url, *errbuf ? errbuf : curl_easy_strerror(c),
	    tries, tries == 1 ? "" : "s");
}

static void count_request(struct s3 *s3, const struct s3_req *req)
{
	const char *m = req->method;

	if (strcmp(m, "GET") == 0)
		s3_count(s3, req->key == NULL || *req->key == '\0' ? S3_N_LIST : S3_N_GET);
	else if (strcmp(m, "PUT") == 0)
		s3_count(s3, S3_N_PUT);
	else if (strcmp(m, "HEAD") == 0)
		s3_count(s3, S3_N_HEAD);
	else if (strcmp(m, "DELETE") == 0)
		s3_count(s3, S3_N_DELETE);
	else
		s3_count(s3, S3_N_POST);
}

/* should_retry(s3, req, c, resp, tries, start, delay): log and say whether to try again. */
static int should_retry(struct s3 *s3, const struct s3_req *req, CURLcode c,
    const struct s3_resp *resp, int tries, double start, long *delay)
{
	int max = req->patient && s3->retries < PATIENT_RETRIES ? PATIENT_RETRIES : s3->retries;
	int budget = req->patient && s3->retry_seconds < PATIENT_SECONDS ? PATIENT_SECONDS :
	    s3->retry_seconds;
	char why[160];

	if (c != CURLE_OK ? !retryable_curl(c) : !retryable_status(resp))
		return 0;
	*delay = backoff_ms(tries);
	if (tries > max || now_seconds() - start + (double)*delay / 1000 > budget)
		return 0;
	if (c != CURLE_OK)
		snprintf(why, sizeof(why), "%s", curl_easy_strerror(c));
	else
		snprintf(why, sizeof(why), "HTTP %ld%s%s", resp->status, resp->err.code[0] ? " " : "",
		    resp->err.code);
	dsb_log(tries >= 3 ? DSB_LOG_WARN : DSB_LOG_DEBUG, "s3 %s %s/%s: %s; retrying in %.1f s (%d of %d)",
	    req->method, s3->bucket, shown_key(req), why, (double)*delay / 1000, tries, max);
	s3_count(s3, S3_N_RETRY);
	return 1;
}

int s3_http_do(struct s3 *s3, const struct s3_req *req, struct s3_resp *resp)
{
	struct xfer x = { .req = req, .resp = resp };
	char payload_hash[S3_SHA256_HEX], errbuf[CURL_ERROR_SIZE];
	double start = now_seconds();
	CURLcode c = CURLE_OK;
	CURL *h = NULL;
	long delay = 0;
	int tries = 0, r = 0;

	dsb_buf_init(&x.errbody, S3_ERROR_BODY_MAX);
	if ((r = s3_sha256_hex(req->body_len > 0 ? req->body : "", req->body_len, payload_hash)) != 0 ||
	    (h = pool_get(s3)) == NULL) {
		r = r != 0 ? r : DSB_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		tries++;
		count_request(s3, req);
		c = attempt(s3, h, req, resp, payload_hash, &x, errbuf, &r);
		resp->tries = tries;
		if (r != 0)
			goto out;
		if (c == CURLE_OK && !is_2xx(resp->status) && x.errbody.len > 0 &&
		    s3_xml_parse_error((const char *)x.errbody.data, x.errbody.len, &resp->err) != 0)
			dsb_error_clear();  /* not XML: the status alone tells */
		if (x.overflow || x.nomem || !should_retry(s3, req, c, resp, tries, start, &delay))
			break;
		sleep_ms(delay);
	}
	r = c == CURLE_OK && !x.overflow && !x.nomem ? 0 : transfer_error(s3, req, c, &x, errbuf, tries);
out:
	if (h != NULL)
		pool_put(s3, h);
	dsb_buf_release(&x.errbody);
	return r;
}

int s3_http_error(const struct s3 *s3, const struct s3_req *req, const struct s3_resp *resp)
{
	int code = resp->status == 404 ? DSB_ERR_NOT_FOUND :
	    resp->status == 412 ? DSB_ERR_EXISTS : DSB_ERR_BACKEND;
	const char *what = resp->err.code[0] != '\0' ? resp->err.code :
	    resp->status == 404 ? "NotFound" : "no error details";

	char tries[48] = "";

	/* a transient status that outlasted the retries says so */
	if (resp->tries > 1)
		snprintf(tries, sizeof(tries), " (after %d attempts)", resp->tries);
	return dsb_error(code, "s3 %s %s/%s: HTTP %ld %s%s%s%s", req->method, s3->bucket,
	    shown_key(req), resp->status, what, resp->err.message[0] ? ": " : "", resp->err.message,
	    tries);
}

int s3_content_md5(const void *p, size_t n, char *out, size_t size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (size < 25)
		return dsb_error(DSB_ERR_INTERNAL, "s3_content_md5: no room");
	if (EVP_Digest(n > 0 ? p : "", n, md, &mdlen, EVP_md5(), NULL) != 1 || mdlen != 16)
		return dsb_error(DSB_ERR_CRYPTO, "MD5 failed");
	EVP_EncodeBlock((unsigned char *)out, md, 16);
	return 0;
}
