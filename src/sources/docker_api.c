/*
 * docker_api.c: the Docker Engine API over libcurl: one easy handle per
 * client (the connection is kept between requests), bounded response
 * bodies, errors that name the endpoint and the daemon's "message".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "docker_api.h"
#include "docker_internal.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"

#define DEFAULT_HOST "unix:///var/run/docker.sock"
#define CONNECT_TIMEOUT 10L    /* seconds */
#define REQUEST_TIMEOUT 180L   /* seconds: a stop waits for the container's grace period */

struct dsb_docker {
	CURL *h;
	char *host;         /* as configured: unix:///..., tcp://... */
	char *socket;       /* unix socket path, or NULL */
	char *base;         /* "http://localhost", "https://host:2376" */
	char *ca, *cert, *key;
	char version[16];   /* "1.41" */
	char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

const char *dsb_docker_default_host(void)
{
	const char *h = getenv("DOCKER_HOST");

	return h != NULL && *h != '\0' ? h : DEFAULT_HOST;
}

const char *dsb_docker_host(const struct dsb_docker *d)
{
	return d->host;
}

char *dsb_docker_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *copy;

	if (e == NULL) {
		dsb_error(DSB_ERR_NOMEM, "out of memory");
		return NULL;
	}
	copy = dsb_strdup(e);
	curl_free(e);
	return copy;
}

/* ---- the address ---- */

static int set_tls(struct dsb_docker *d)
{
	const char *dir = getenv("DOCKER_CERT_PATH"), *home = getenv("HOME");
	char *fallback = NULL;
	int r = 0;

	if (dir == NULL || *dir == '\0') {
		if ((fallback = dsb_asprintf("%s/.docker", home != NULL ? home : "/root")) == NULL)
			return DSB_ERR_NOMEM;
		dir = fallback;
	}
	if ((d->ca = dsb_asprintf("%s/ca.pem", dir)) == NULL ||
	    (d->cert = dsb_asprintf("%s/cert.pem", dir)) == NULL ||
	    (d->key = dsb_asprintf("%s/key.pem", dir)) == NULL)
		r = DSB_ERR_NOMEM;
	free(fallback);
	return r;
}

static int parse_host(struct dsb_docker *d, const char *host)
{
	const char *tls = getenv("DOCKER_TLS_VERIFY"), *hp, *port, *bracket;
	int use_tls = tls != NULL && *tls != '\0', has_port;
	size_t hostlen;

	if ((d->host = dsb_strdup(host)) == NULL)
		return DSB_ERR_NOMEM;
	if (strncmp(host, "unix://", 7) == 0) {
		if (host[7] != '/')
			return dsb_error(DSB_ERR_USAGE, "DOCKER_HOST %s: the socket path must be absolute", host);
		if ((d->socket = dsb_strdup(host + 7)) == NULL ||
		    (d->base = dsb_strdup("http://localhost")) == NULL)
			return DSB_ERR_NOMEM;
		return 0;
	}
	if (strncmp(host, "tcp://", 6) != 0)
		return dsb_error(DSB_ERR_USAGE, "DOCKER_HOST %s: only unix:// and tcp:// are supported", host);
	hp = host + 6;
	hostlen = strcspn(hp, "/");
	if (hostlen == 0 || (hp[hostlen] == '/' && hp[hostlen + 1] != '\0'))
		return dsb_error(DSB_ERR_USAGE, "DOCKER_HOST %s: expected tcp://HOST[:PORT]", host);
	/* a port after the host (and after "]" of an IPv6 address) */
	port = memrchr(hp, ':', hostlen);
	bracket = memrchr(hp, ']', hostlen);
	has_port = port != NULL && (bracket == NULL || bracket < port);
	d->base = dsb_asprintf("%s://%.*s%s", use_tls ? "https" : "http", (int)hostlen, hp,
	    has_port ? "" : use_tls ? ":2376" : ":2375");
	if (d->base == NULL)
		return DSB_ERR_NOMEM;
	return use_tls ? set_tls(d) : 0;
}

/* ---- requests ---- */

static void keep_tail(struct dsb_buf *b, const char *p, size_t n)
{
	size_t max = DSB_DOCKER_MAX_EXEC_OUTPUT;

	if (n >= max) {
		p += n - max;
		n = max;
	}
	if (b->len + n > max) {
		size_t drop = b->len + n - max;

		memmove(b->data, b->data + drop, b->len - drop);
		b->len -= drop;
	}
	dsb_buf_append(b, p, n);
}

void dsb_docker_stream_feed(struct dsb_docker_stream *s, const char *p, size_t n)
{
	size_t k;

	if (s->demux < 0)
		s->demux = n >= 4 && (uint8_t)p[0] <= 2 && p[1] == 0 && p[2] == 0 && p[3] == 0;
	if (!s->demux) {
		keep_tail(s->buf, p, n);
		return;
	}
	while (n > 0) {
		if (s->frame_left == 0) {
			k = sizeof(s->hdr) - s->hdr_len < n ? sizeof(s->hdr) - s->hdr_len : n;
			memcpy(s->hdr + s->hdr_len, p, k);
			s->hdr_len += k;
			p += k;
			n -= k;
			if (s->hdr_len == sizeof(s->hdr)) {
				s->frame_left = (size_t)s->hdr[4] << 24 | (size_t)s->hdr[5] << 16 |
				    (size_t)s->hdr[6] << 8 | s->hdr[7];
				s->hdr_len = 0;
			}
			continue;
		}
		k = s->frame_left < n ? s->frame_left : n;
		keep_tail(s->buf, p, k);
		s->frame_left -= k;
		p += k;
		n -= k;
	}
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct dsb_docker_stream *s = arg;
	size_t n = size * nmemb;

	if (s->demux != 2) {
		dsb_docker_stream_feed(s, p, n);
		return n;
	}
	if (dsb_buf_append(s->buf, p, n) != 0)
		return 0;   /* too large: curl stops with CURLE_WRITE_ERROR */
	return n;
}

static int progress_cb(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)arg;
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return docker_env_interrupted() ? 1 : 0;
}

/* the daemon's {"message": "..."}, or the start of the body */
static void daemon_message(const void *body, size_t len, char *out, size_t n)
{
	json_t *j = json_loadb(body, len, 0, NULL);
	const char *m = json_string_value(json_object_get(j, "message"));
	char *p;

	if (m != NULL)
		snprintf(out, n, "%s", m);
	else
		snprintf(out, n, "%.*s", (int)(len < 200 ? len : 200), len ? (const char *)body : "");
	out[strcspn(out, "\r\n")] = '\0';
	for (p = out; *p != '\0'; p++)   /* it goes to a terminal or a log: no control characters */
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	json_decref(j);
}

/*
 * request(d, method, url_path, body, timeout, sink, status): one request to
 * ${url_path} (already versioned).  Transport failures are errors; any HTTP
 * status is returned in *status.
 */
static int request(struct dsb_docker *d, const char *method, const char *url_path, const char *body,
    long timeout, struct dsb_docker_stream *sink, long *status)
{
	struct curl_slist *hdrs = NULL;
	char *url;
	CURLcode cc;
	int r = 0;

	if ((url = dsb_asprintf("%s%s", d->base, url_path)) == NULL)
		return DSB_ERR_NOMEM;
	curl_easy_reset(d->h);
	curl_easy_setopt(d->h, CURLOPT_URL, url);
	curl_easy_setopt(d->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(d->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(d->h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	curl_easy_setopt(d->h, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(d->h, CURLOPT_ERRORBUFFER, d->errbuf);
	curl_easy_setopt(d->h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(d->h, CURLOPT_WRITEDATA, sink);
	curl_easy_setopt(d->h, CURLOPT_CUSTOMREQUEST, method);
	if (d->socket != NULL)
		curl_easy_setopt(d->h, CURLOPT_UNIX_SOCKET_PATH, d->socket);
	if (d->ca != NULL) {
		curl_easy_setopt(d->h, CURLOPT_CAINFO, d->ca);
		curl_easy_setopt(d->h, CURLOPT_SSLCERT, d->cert);
		curl_easy_setopt(d->h, CURLOPT_SSLKEY, d->key);
		curl_easy_setopt(d->h, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(d->h, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	if (sink->demux != 2) {   /* an exec: a signal ends the wait */
		curl_easy_setopt(d->h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(d->h, CURLOPT_XFERINFOFUNCTION, progress_cb);
	}
	if (body != NULL) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(d->h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(d->h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(d->h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(d->h, CURLOPT_POSTFIELDSIZE, 0L);
	}
	curl_easy_setopt(d->h, CURLOPT_HTTPHEADER, hdrs);
	d->errbuf[0] = '\0';
	cc = curl_easy_perform(d->h);
	if (cc == CURLE_ABORTED_BY_CALLBACK)
		r = dsb_error(DSB_ERR_INTERRUPTED, "docker %s %s: interrupted by a signal", method, url_path);
	else if (cc == CURLE_WRITE_ERROR && sink->demux == 2)
		r = dsb_error(DSB_ERR_LIMIT, "docker %s %s: the answer is larger than %u bytes", method,
		    url_path, DSB_DOCKER_MAX_RESPONSE);
	else if (cc != CURLE_OK)
		r = dsb_error(cc == CURLE_OPERATION_TIMEDOUT ? DSB_ERR_LIMIT : DSB_ERR_IO,
		    "docker %s %s at %s: %s", method, url_path, d->host,
		    d->errbuf[0] ? d->errbuf : curl_easy_strerror(cc));
	else
		curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_setopt(d->h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	free(url);
	return r;
}

static int status_error(const char *method, const char *path, long status, const void *body,
    size_t len)
{
	char msg[512];
	int code = status == 404 ? DSB_ERR_NOT_FOUND : status == 409 ? DSB_ERR_EXISTS : DSB_ERR_IO;

	daemon_message(body, len, msg, sizeof(msg));
	return dsb_error(code, "docker %s %s: HTTP %ld: %s", method, path, status, msg);
}

int dsb_docker_answer(const char *method, const char *path, long status, const void *body,
    size_t len, json_t **out)
{
	json_error_t je;

	if (out != NULL)
		*out = NULL;
	if (status / 100 != 2 && status != 304)
		return status_error(method, path, status, body, len);
	if (out != NULL && len > 0 && (*out = json_loadb(body, len, 0, &je)) == NULL)
		return dsb_error(DSB_ERR_CORRUPT, "docker %s %s: the answer is not JSON: %s", method,
		    path, je.text);
	return 0;
}

int dsb_docker_call(struct dsb_docker *d, const char *method, const char *path, json_t *body,
    json_t **out)
{
	struct dsb_buf b;
	struct dsb_docker_stream s = { .buf = &b, .demux = 2 };
	char *url = NULL, *text = NULL;
	long status = 0;
	int r;

	if (out != NULL)
		*out = NULL;
	dsb_buf_init(&b, DSB_DOCKER_MAX_RESPONSE);
	if ((url = dsb_asprintf("/v%s%s", d->version, path)) == NULL ||
	    (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL)) {
		r = dsb_error(DSB_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = request(d, method, url, text, REQUEST_TIMEOUT, &s, &status)) != 0)
		goto out;
	r = dsb_docker_answer(method, path, status, b.data, b.len, out);
out:
	free(url);
	free(text);
	dsb_buf_release(&b);
	return r;
}

int dsb_docker_get(struct dsb_docker *d, const char *path, json_t **out)
{
	return dsb_docker_call(d, "GET", path, NULL, out);
}

/* ---- opening: the address and the API version ---- */

static int version_cmp(const char *a, const char *b)
{
	unsigned am = 0, an = 0, bm = 0, bn = 0;

	sscanf(a, "%u.%u", &am, &an);
	sscanf(b, "%u.%u", &bm, &bn);
	return am != bm ? (am < bm ? -1 : 1) : an != bn ? (an < bn ? -1 : 1) : 0;
}

/* is_version(v): MAJOR.MINOR, digits only: it goes into every request's path */
static int is_version(const char *v)
{
	size_t major = strspn(v, "0123456789"), minor;

	if (major == 0 || major > 4 || v[major] != '.')
		return 0;
	minor = strspn(v + major + 1, "0123456789");
	return minor > 0 && minor <= 4 && v[major + 1 + minor] == '\0';
}

void dsb_docker_api_version(const void *body, size_t len, char *out, size_t n)
{
	json_t *j = json_loadb(body, len, 0, NULL);
	const char *v = json_string_value(json_object_get(j, "ApiVersion"));

	if (v == NULL || !is_version(v) || version_cmp(v, DSB_DOCKER_API_MAX) > 0)
		v = DSB_DOCKER_API_MAX;
	snprintf(out, n, "%s", v);
	json_decref(j);
}

static int negotiate(struct dsb_docker *d)
{
	struct dsb_buf b;
	struct dsb_docker_stream s = { .buf = &b, .demux = 2 };
	long status = 0;
	int r;

	dsb_buf_init(&b, 1u << 20);
	if ((r = request(d, "GET", "/version", NULL, 30L, &s, &status)) != 0)
		goto out;
	if (status != 200) {
		r = status_error("GET", "/version", status, b.data, b.len);
		goto out;
	}
	dsb_docker_api_version(b.data, b.len, d->version, sizeof(d->version));
	dsb_debug("docker engine at %s, API %s", d->host, d->version);
out:
	dsb_buf_release(&b);
	return r;
}

int dsb_docker_open(struct dsb_docker **out)
{
	return dsb_docker_open_host(dsb_docker_default_host(), out);
}

int dsb_docker_open_host(const char *host, struct dsb_docker **out)
{
	struct dsb_docker *d;
	int r;

	*out = NULL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_result != CURLE_OK)
		return dsb_error(DSB_ERR_IO, "libcurl: %s", curl_easy_strerror(curl_init_result));
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	if ((r = parse_host(d, host)) != 0)
		goto fail;
	if ((d->h = curl_easy_init()) == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "cannot create a curl handle");
		goto fail;
	}
	if ((r = negotiate(d)) != 0)
		goto fail;
	*out = d;
	return 0;
fail:
	dsb_docker_free(d);
	return r;
}

void dsb_docker_free(struct dsb_docker *d)
{
	if (d == NULL)
		return;
	if (d->h != NULL)
		curl_easy_cleanup(d->h);
	free(d->host);
	free(d->socket);
	free(d->base);
	free(d->ca);
	free(d->cert);
	free(d->key);
	free(d);
}

/* ---- containers ---- */

int dsb_docker_list_containers(struct dsb_docker *d, const char *filter_key,
    const char *filter_value, json_t **out)
{
	json_t *f = NULL, *list = NULL;
	char *text = NULL, *esc = NULL, *path = NULL;
	int r;

	*out = NULL;
	if (filter_key != NULL) {
		f = json_pack("{s:[s]}", filter_key, filter_value);
		if (f == NULL || (text = json_dumps(f, JSON_COMPACT)) == NULL ||
		    (esc = dsb_docker_escape(text)) == NULL) {
			r = dsb_error(DSB_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	if ((path = dsb_asprintf("/containers/json?all=1%s%s", esc ? "&filters=" : "",
	    esc ? esc : "")) == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	if ((r = dsb_docker_get(d, path, &list)) != 0)
		goto out;
	if (!json_is_array(list)) {   /* null from some engines when there are none */
		json_decref(list);
		list = json_array();
	}
	*out = list;
out:
	json_decref(f);
	free(text);
	free(esc);
	free(path);
	return r;
}

int dsb_docker_container_action(struct dsb_docker *d, const char *id, const char *action)
{
	char *path, *esc = dsb_docker_escape(id);
	int r;

	if (esc == NULL)
		return DSB_ERR_NOMEM;
	/* stop: the container's own grace period (StopTimeout, docker's default 10 s) */
	path = dsb_asprintf("/containers/%s/%s", esc, action);
	free(esc);
	if (path == NULL)
		return DSB_ERR_NOMEM;
	r = dsb_docker_call(d, "POST", path, NULL, NULL);
	/* pausing what is paused, unpausing what is not: a 409 that means "done already" */
	if (r == DSB_ERR_EXISTS && strstr(dsb_errmsg(), strcmp(action, "pause") == 0 ?
	    "already paused" : "is not paused") != NULL) {
		dsb_error_clear();
		r = 0;
	}
	free(path);
	return r;
}

const char *dsb_docker_container_name(json_t *c)
{
	const char *name = json_string_value(json_array_get(json_object_get(c, "Names"), 0));

	if (name == NULL)
		name = json_string_value(json_object_get(c, "Name"));
	if (name == NULL)
		return json_string_value(json_object_get(c, "Id"));
	return name[0] == '/' ? name + 1 : name;
}

/* ---- exec ---- */

static int exec_create(struct dsb_docker *d, const char *id, const char *cmd, char **exec_id)
{
	json_t *body, *res = NULL;
	char *esc = dsb_docker_escape(id), *path = NULL;
	const char *eid;
	int r;

	body = json_pack("{s:b, s:b, s:b, s:b, s:[s, s, s]}", "AttachStdin", 0, "AttachStdout", 1,
	    "AttachStderr", 1, "Tty", 0, "Cmd", "/bin/sh", "-c", cmd);
	if (esc == NULL || body == NULL || (path = dsb_asprintf("/containers/%s/exec", esc)) == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = dsb_docker_call(d, "POST", path, body, &res)) != 0)
		goto out;
	if ((eid = json_string_value(json_object_get(res, "Id"))) == NULL) {
		r = dsb_error(DSB_ERR_CORRUPT, "docker POST %s: no exec Id in the answer", path);
		goto out;
	}
	r = (*exec_id = dsb_strdup(eid)) != NULL ? 0 : DSB_ERR_NOMEM;
out:
	json_decref(body);
	json_decref(res);
	free(esc);
	free(path);
	return r;
}

int dsb_docker_exec(struct dsb_docker *d, const char *id, const char *cmd, long timeout_sec,
    long *exit_code, char **output)
{
	struct dsb_buf out;
	struct dsb_docker_stream s = { .buf = &out, .demux = -1 };
	json_t *info = NULL;
	char *eid = NULL, *url = NULL, *path = NULL;
	long status = 0;
	int r;

	*output = NULL;
	*exit_code = -1;
	dsb_buf_init(&out, DSB_DOCKER_MAX_EXEC_OUTPUT + 1);
	if ((r = exec_create(d, id, cmd, &eid)) != 0)
		goto out;
	if ((url = dsb_asprintf("/v%s/exec/%s/start", d->version, eid)) == NULL ||
	    (path = dsb_asprintf("/exec/%s/json", eid)) == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	r = request(d, "POST", url, "{\"Detach\":false,\"Tty\":false}", timeout_sec, &s, &status);
	if (r == DSB_ERR_LIMIT) {
		char why[512] = "";

		if (docker_exec_kill(d, eid) != 0)
			snprintf(why, sizeof(why), "; it could not be killed and may still run: %s",
			    dsb_errmsg());
		r = dsb_error(DSB_ERR_LIMIT, "the command \"%s\" in container %.12s did not finish within "
		    "%ld s%s", cmd, id, timeout_sec, why[0] ? why : "; it was killed");
		goto out;
	}
	if (r != 0)
		goto out;
	if (status / 100 != 2) {
		r = status_error("POST", url, status, out.data, out.len);
		goto out;
	}
	if ((r = dsb_docker_get(d, path, &info)) != 0)
		goto out;
	if (json_is_true(json_object_get(info, "Running"))) {
		r = dsb_error(DSB_ERR_IO, "the command \"%s\" in container %.12s is still running after "
		    "its output ended", cmd, id);
		goto out;
	}
	*exit_code = (long)json_integer_value(json_object_get(info, "ExitCode"));
out:
	if (dsb_buf_append(&out, "", 1) == 0)
		*output = (char *)out.data;
	else
		dsb_buf_release(&out);
	json_decref(info);
	free(eid);
	free(url);
	free(path);
	return r;
}
