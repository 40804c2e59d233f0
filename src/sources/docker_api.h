/*
 * docker_api.h: a small client of the Docker Engine API, for the Docker
 * sources only.  It talks to unix:///var/run/docker.sock or to DOCKER_HOST
 * (unix:// or tcp://, TLS from DOCKER_TLS_VERIFY and DOCKER_CERT_PATH as the
 * docker CLI does), negotiates the API version (the server's, at most
 * 1.41), and hands back jansson values.  Podman's compatible API answers
 * {} or [] where dockerd answers null: callers treat the three alike
 * (jansson's getters already do, e.g. json_array_size(NULL) == 0).
 */
#ifndef DSB_SOURCES_DOCKER_API_H
#define DSB_SOURCES_DOCKER_API_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "dsbackup/buf.h"

struct dsb_docker;

/* the highest API version asked for; lower when the server is older */
#define DSB_DOCKER_API_MAX "1.41"
/* a response body larger than this is an error */
#define DSB_DOCKER_MAX_RESPONSE (64u << 20)
/* exec output kept for the log */
#define DSB_DOCKER_MAX_EXEC_OUTPUT (64u << 10)

/*
 * dsb_docker_open(out): connect to the engine of this environment and
 * negotiate the API version.  0; or DSB_ERR_IO when no engine answers
 * (the message names the address), or DSB_ERR_USAGE for a bad DOCKER_HOST.
 */
int dsb_docker_open(struct dsb_docker **out);
/* dsb_docker_open_host(host, out): the same for the address ${host} ("unix:///run/docker.sock"). */
int dsb_docker_open_host(const char *host, struct dsb_docker **out);
void dsb_docker_free(struct dsb_docker *d);

/* dsb_docker_host(d): the address in use ("unix:///var/run/docker.sock"). */
const char *dsb_docker_host(const struct dsb_docker *d);
/* dsb_docker_default_host(): the address dsb_docker_open would use (static storage). */
const char *dsb_docker_default_host(void);

/*
 * dsb_docker_call(d, method, path, body, out): ${method} on the versioned
 * ${path} ("/volumes/db"; the query string already escaped) with the JSON
 * ${body} (NULL: none).  2xx and 304 (nothing to do) are success; *out (if
 * not NULL) gets the parsed body, or NULL when it is empty.  A 404 is
 * DSB_ERR_NOT_FOUND, a 409 DSB_ERR_EXISTS, anything else DSB_ERR_IO; the
 * message names the endpoint and the daemon's "message".
 */
int dsb_docker_call(struct dsb_docker *d, const char *method, const char *path, json_t *body,
    json_t **out);

/* dsb_docker_get(d, path, out): dsb_docker_call with GET. */
int dsb_docker_get(struct dsb_docker *d, const char *path, json_t **out);

/* dsb_docker_escape(s): ${s} percent-encoded for a path or query (malloc'd), NULL on failure. */
char *dsb_docker_escape(const char *s);

/*
 * dsb_docker_list_containers(d, filter_key, filter_value, out): the
 * containers (all states) matching the filter (e.g. "volume", "db";
 * "label", "a=b"); NULL key: all.  *out is an array, possibly empty.
 */
int dsb_docker_list_containers(struct dsb_docker *d, const char *filter_key,
    const char *filter_value, json_t **out);

/*
 * dsb_docker_container_action(d, id, action): "stop", "start", "pause" or
 * "unpause" a container.  Doing what is already done is success.
 */
int dsb_docker_container_action(struct dsb_docker *d, const char *id, const char *action);

/*
 * dsb_docker_exec(d, id, cmd, timeout_sec, exit_code, output): run
 * ["/bin/sh", "-c", ${cmd}] in container ${id} and wait at most
 * ${timeout_sec} for it; *exit_code gets its status, *output (malloc'd,
 * NUL-terminated) its stdout and stderr interleaved, the last
 * DSB_DOCKER_MAX_EXEC_OUTPUT bytes at most.  An error when it could not be
 * run, or did not finish in time (DSB_ERR_INTERRUPTED when a signal stopped
 * the wait); a non-zero exit is not an error here.
 */
int dsb_docker_exec(struct dsb_docker *d, const char *id, const char *cmd, long timeout_sec,
    long *exit_code, char **output);

/*
 * The parts that read the engine's answers, apart from the transport so
 * that fuzz/fuzz_docker.c reaches them with any bytes.
 *
 * dsb_docker_answer(method, path, status, body, len, out): what
 * dsb_docker_call makes of an answer: an error for a status other than 2xx
 * and 304 (naming the endpoint and the daemon's "message"), else *out (if
 * not NULL) gets the parsed body, NULL when it is empty; DSB_ERR_CORRUPT
 * when it is not JSON.
 */
int dsb_docker_answer(const char *method, const char *path, long status, const void *body,
    size_t len, json_t **out);

/*
 * dsb_docker_api_version(body, len, out, n): the API version to use after
 * the answer of GET /version: the server's "ApiVersion" when it is
 * MAJOR.MINOR no higher than DSB_DOCKER_API_MAX, else DSB_DOCKER_API_MAX.
 */
void dsb_docker_api_version(const void *body, size_t len, char *out, size_t n);

/*
 * An exec's output stream: multiplexed (8-byte headers: stream, 0, 0, 0,
 * big-endian length, before each frame) or raw, decided on the first bytes;
 * the last DSB_DOCKER_MAX_EXEC_OUTPUT bytes of the payload are kept in *buf.
 */
struct dsb_docker_stream {
	struct dsb_buf *buf;
	int demux;              /* 1 multiplexed, 0 raw, -1 not decided yet, 2 a plain answer */
	uint8_t hdr[8];
	size_t hdr_len;
	size_t frame_left;
};

/* dsb_docker_stream_feed(s, p, n): the next ${n} bytes of an exec stream (s->demux != 2). */
void dsb_docker_stream_feed(struct dsb_docker_stream *s, const char *p, size_t n);

/* dsb_docker_container_name(c): the name of a container from a listing, without the "/", or its id. */
const char *dsb_docker_container_name(json_t *c);

#endif
