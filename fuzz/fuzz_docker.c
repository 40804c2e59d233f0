/*
 * fuzz_docker.c: the Docker sources' readers of the engine's answers
 * (src/sources/docker_api.c, source_compose.c, docker_env.c), fed what an
 * engine (or whatever listens on its socket) might send.  Byte 0 is the
 * size of the pieces an exec stream arrives in (1 to 256); the rest is the
 * answer, and every reader runs on it:
 *   - dsb_docker_answer: as a 200 (the JSON body) and as a 404 (the error);
 *   - the parsed body as a container listing (names, labels, exec-timeout,
 *     the volumes a compose project mounts), a volume inspect, a volume list;
 *   - dsb_docker_api_version: as the answer of GET /version;
 *   - dsb_docker_stream_feed: as an exec's output stream.
 */
#include <string.h>

#include "dsbackup/error.h"
#include "fuzz.h"
#include "sources/docker_api.h"
#include "sources/docker_internal.h"

static void check_container(json_t *c)
{
	json_t *labels = json_object_get(c, "Labels");
	const char *name = dsb_docker_container_name(c);

	FUZZ_CHECK(name == NULL || json_is_object(c));
	(void)docker_label_true(labels, "stop");
	(void)docker_label_true(labels, "pause");
	(void)docker_label_value(labels, "exec-pre");
	FUZZ_CHECK(docker_exec_timeout(labels) > 0);
}

static void check_answer(json_t *j)
{
	json_t *names = json_array(), *c, *v;
	size_t i, k;

	FUZZ_CHECK(names != NULL);
	json_array_foreach(j, i, c)
		check_container(c);
	check_container(j);   /* a container inspect */
	/* a volume inspect: what volume_open reads */
	(void)json_string_value(json_object_get(j, "Mountpoint"));
	if (docker_compose_volumes(j, j, names) == 0) {
		json_array_foreach(names, i, v) {
			FUZZ_CHECK(json_is_string(v));
			for (k = 0; k < i; k++)
				FUZZ_CHECK(!json_equal(json_array_get(names, k), v));
		}
	}
	json_decref(names);
}

static void check_version(const uint8_t *p, size_t n)
{
	char v[16];
	unsigned major = 0, minor = 0;

	dsb_docker_api_version(p, n, v, sizeof(v));
	/* it goes into every request's path: digits and one dot, no higher than asked for */
	FUZZ_CHECK(strspn(v, "0123456789.") == strlen(v));
	FUZZ_CHECK(sscanf(v, "%u.%u", &major, &minor) == 2);
	FUZZ_CHECK(major < 1 || (major == 1 && minor <= 41));
}

static void check_stream(const uint8_t *p, size_t n, size_t piece)
{
	struct dsb_buf out;
	struct dsb_docker_stream s;
	size_t k;

	memset(&s, 0, sizeof(s));
	dsb_buf_init(&out, DSB_DOCKER_MAX_EXEC_OUTPUT + 1);
	s.buf = &out;
	s.demux = -1;
	while (n > 0) {
		k = n < piece ? n : piece;
		dsb_docker_stream_feed(&s, (const char *)p, k);
		FUZZ_CHECK(out.len <= DSB_DOCKER_MAX_EXEC_OUTPUT);
		FUZZ_CHECK(s.hdr_len < sizeof(s.hdr));
		p += k;
		n -= k;
	}
	FUZZ_CHECK(s.demux == 0 || s.demux == 1 || s.demux == -1);
	dsb_buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 1;
	json_t *j = NULL;
	const char *m;
	size_t n;
	int r;

	if (size < 1)
		return 0;
	n = size - 1;
	r = dsb_docker_answer("GET", "/containers/json", 200, p, n, &j);
	FUZZ_CHECK(r == 0 || r == DSB_ERR_CORRUPT);
	FUZZ_CHECK(r != 0 ? j == NULL : (n == 0) == (j == NULL));
	check_answer(j);
	json_decref(j);
	dsb_error_clear();
	r = dsb_docker_answer("GET", "/volumes/x", 404, p, n, &j);
	FUZZ_CHECK(r == DSB_ERR_NOT_FOUND && j == NULL);
	/* the daemon's message goes to the log: one line of printable text */
	for (m = dsb_errmsg(); *m != '\0'; m++)
		FUZZ_CHECK((unsigned char)*m >= 0x20 && *m != 0x7f);
	dsb_error_clear();
	check_version(p, n);
	check_stream(p, n, (size_t)data[0] + 1);
	return 0;
}
