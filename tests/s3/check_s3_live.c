/*
 * check_s3_live.c: the S3 driver against a real server (radosgw started by
 * scripts/services/radosgw.sh; ctest runs this with its env file sourced).
 * Needs DSB_S3_ENDPOINT and the AWS_* keys; each test uses a bucket of its own.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dsbackup/backend.h"
#include "dsbackup/buf.h"
#include "dsbackup/error.h"
#include "s3_internal.h"  /* to start uploads that are never finished */

static char url[512];
static struct dsb_backend *be;

/* open_bucket(tag, opts): a fresh bucket for this test, created. */
static void open_bucket(const char *tag, const struct dsb_backend_options *opts)
{
	const char *endpoint = getenv("DSB_S3_ENDPOINT");

	ck_assert_msg(endpoint != NULL, "DSB_S3_ENDPOINT is not set (run radosgw.sh start)");
	ck_assert_int_eq(dsb_backend_configure(opts), 0);
	snprintf(url, sizeof(url), "s3:%s/live-%s-%ld-%d/pre/fix", endpoint, tag, (long)time(NULL),
	    (int)getpid());
	ck_assert_msg(dsb_backend_open(url, &be) == 0, "open %s: %s", url, dsb_errmsg());
	ck_assert_msg(dsb_backend_create(be) == 0, "create: %s", dsb_errmsg());
	ck_assert_msg(dsb_backend_create(be) == 0, "create again: %s", dsb_errmsg());
}

static void teardown(void)
{
	dsb_backend_close(be);
	be = NULL;
	dsb_backend_configure(NULL);
}

static void put_ok(const char *name, const void *p, size_t n, unsigned flags)
{
	ck_assert_msg(dsb_backend_put(be, name, p, n, flags) == 0, "put %s: %s", name, dsb_errmsg());
}

static void fill_random(unsigned char *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
}

START_TEST(test_objects)
{
	struct dsb_buf b;
	uint64_t size = 0;

	open_bucket("obj", NULL);
	dsb_buf_init(&b, 0);
	put_ok("config", "hello, world", 12, DSB_PUT_NO_OVERWRITE);
	ck_assert_int_eq(dsb_backend_put(be, "config", "other", 5, DSB_PUT_NO_OVERWRITE), DSB_ERR_EXISTS);
	ck_assert_int_eq(dsb_backend_get(be, "config", 0, 0, &b), 0);
	ck_assert_uint_eq(b.len, 12);
	ck_assert(memcmp(b.data, "hello, world", 12) == 0);
	ck_assert_int_eq(dsb_backend_get(be, "config", 7, 5, &b), 0);
	ck_assert(b.len == 5 && memcmp(b.data, "world", 5) == 0);
	ck_assert_int_eq(dsb_backend_get(be, "config", 7, 0, &b), 0);
	ck_assert(b.len == 5 && memcmp(b.data, "world", 5) == 0);
	ck_assert_int_eq(dsb_backend_get(be, "config", 12, 0, &b), 0);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(dsb_backend_get(be, "config", 8, 10, &b), DSB_ERR_CORRUPT);
	ck_assert_int_eq(dsb_backend_get(be, "config", 20, 1, &b), DSB_ERR_CORRUPT);
	ck_assert_int_eq(dsb_backend_stat(be, "config", &size), 0);
	ck_assert_uint_eq(size, 12);
	put_ok("empty/x", "", 0, 0);
	ck_assert_int_eq(dsb_backend_get(be, "empty/x", 0, 0, &b), 0);
	ck_assert_uint_eq(b.len, 0);
	put_ok("config2", "a", 1, 0);
	put_ok("config2", "bb", 2, 0);  /* overwrite allowed without the flag */
	ck_assert_int_eq(dsb_backend_stat(be, "config2", &size), 0);
	ck_assert_uint_eq(size, 2);
	ck_assert_int_eq(dsb_backend_remove(be, "config2"), 0);
	ck_assert_int_eq(dsb_backend_remove(be, "config2"), DSB_ERR_NOT_FOUND);
	ck_assert_int_eq(dsb_backend_get(be, "missing", 0, 0, &b), DSB_ERR_NOT_FOUND);
	ck_assert_msg(strstr(dsb_errmsg(), "missing") != NULL && strstr(dsb_errmsg(), "404") != NULL,
	    "%s", dsb_errmsg());
	ck_assert_int_eq(dsb_backend_stat(be, "missing", &size), DSB_ERR_NOT_FOUND);
	ck_assert_int_eq(dsb_backend_put(be, "../x", "a", 1, 0), DSB_ERR_USAGE);
	ck_assert_int_eq(dsb_backend_put(be, "a//b", "a", 1, 0), DSB_ERR_USAGE);
	dsb_buf_release(&b);
	teardown();
}
END_TEST

START_TEST(test_multipart)
{
	struct dsb_backend_options o = { .s3_multipart_threshold = 6u << 20, .s3_part_size = 5u << 20,
		.s3_connections = 3 };
	size_t n = (12u << 20) + 12345;
	unsigned char *p = malloc(n);
	struct dsb_buf b;
	uint64_t size = 0;

	ck_assert_ptr_nonnull(p);
	fill_random(p, n, 42);
	open_bucket("mp", &o);
	dsb_buf_init(&b, 0);
	put_ok("data/ab/big", p, n, DSB_PUT_NO_OVERWRITE);
	ck_assert_int_eq(dsb_backend_put(be, "data/ab/big", p, n, DSB_PUT_NO_OVERWRITE), DSB_ERR_EXISTS);
	ck_assert_int_eq(dsb_backend_stat(be, "data/ab/big", &size), 0);
	ck_assert_uint_eq(size, n);
	ck_assert_int_eq(dsb_backend_get(be, "data/ab/big", 0, 0, &b), 0);
	ck_assert_uint_eq(b.len, n);
	ck_assert(memcmp(b.data, p, n) == 0);
	/* a range across the first part boundary */
	ck_assert_int_eq(dsb_backend_get(be, "data/ab/big", (5u << 20) - 100, 200, &b), 0);
	ck_assert(b.len == 200 && memcmp(b.data, p + (5u << 20) - 100, 200) == 0);
	dsb_buf_release(&b);
	free(p);
	teardown();
}
END_TEST

#define MANY 1100
#define MANY_THREADS 8

static void *put_many(void *arg)
{
	long t = (long)arg, i;
	char name[64];

	for (i = t; i < MANY; i += MANY_THREADS) {
		snprintf(name, sizeof(name), "locks/%04ld", i);
		if (dsb_backend_put(be, name, name, strlen(name), DSB_PUT_NO_OVERWRITE) != 0)
			return (void *)1;
	}
	return NULL;
}

struct count {
	int n, stop_at;
	uint64_t bytes;
	char seen[MANY];
};

static int count_cb(void *arg, const char *name, uint64_t size)
{
	struct count *c = arg;
	int i;

	if (sscanf(name, "locks/%d", &i) == 1 && i >= 0 && i < MANY)
		c->seen[i]++;
	c->n++;
	c->bytes += size;
	return c->stop_at != 0 && c->n == c->stop_at ? 77 : 0;
}

START_TEST(test_list_many)
{
	pthread_t th[MANY_THREADS];
	struct count c;
	void *ret;
	long t;
	int i;

	open_bucket("list", NULL);
	for (t = 0; t < MANY_THREADS; t++)
		ck_assert_int_eq(pthread_create(&th[t], NULL, put_many, (void *)t), 0);
	for (t = 0; t < MANY_THREADS; t++) {
		pthread_join(th[t], &ret);
		ck_assert_ptr_null(ret);
	}
	put_ok("config", "c", 1, 0);
	memset(&c, 0, sizeof(c));
	ck_assert_msg(dsb_backend_list(be, "locks", count_cb, &c) == 0, "%s", dsb_errmsg());
	ck_assert_int_eq(c.n, MANY);
	for (i = 0; i < MANY; i++)
		ck_assert_int_eq(c.seen[i], 1);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(dsb_backend_list(be, "", count_cb, &c), 0);
	ck_assert_int_eq(c.n, MANY + 1);
	memset(&c, 0, sizeof(c));
	c.stop_at = 1050;  /* on the second page */
	ck_assert_int_eq(dsb_backend_list(be, "locks", count_cb, &c), 77);
	ck_assert_int_eq(c.n, 1050);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(dsb_backend_list(be, "nothing", count_cb, &c), 0);
	ck_assert_int_eq(c.n, 0);
	teardown();
}
END_TEST

START_TEST(test_object_lock)
{
	struct dsb_backend_options o = { .s3_retention_days = 1, .s3_lock_mode = "COMPLIANCE",
		.s3_storage_class = "STANDARD" };
	const char *msg;

	open_bucket("lock", &o);
	put_ok("snapshots/0123", "snapshot bytes", 14, DSB_PUT_NO_OVERWRITE);
	put_ok("locks/0123", "lock bytes", 10, DSB_PUT_NO_OVERWRITE);
	put_ok("data/01/0123", "pack bytes", 10, DSB_PUT_NO_OVERWRITE);
	ck_assert_int_eq(dsb_backend_remove(be, "snapshots/0123"), DSB_ERR_BACKEND);
	msg = dsb_errmsg();
	ck_assert_msg(strstr(msg, "snapshots/0123 is under object lock (COMPLIANCE) until 20") != NULL,
	    "%s", msg);
	ck_assert_msg(strstr(msg, "AccessDenied") != NULL, "%s", msg);
	ck_assert_int_eq(dsb_backend_remove(be, "data/01/0123"), DSB_ERR_BACKEND);
	ck_assert_int_eq(dsb_backend_remove(be, "locks/0123"), 0);
	teardown();
}
END_TEST

/* remove_many: DeleteObjects in batches of 7, a missing name counting as removed */
START_TEST(test_remove_many)
{
	struct dsb_backend_options o = { .s3_delete_batch = 7 };
	char names[21][32];
	const char *ptrs[21];
	unsigned char gone[21];
	struct count c;
	int i;

	open_bucket("delmany", &o);
	for (i = 0; i < 21; i++) {
		snprintf(names[i], sizeof(names[i]), i == 20 ? "data/aa/missing" : "data/%02x/o&<%d>", i, i);
		ptrs[i] = names[i];
		if (i < 20)
			put_ok(names[i], "x", 1, 0);
	}
	put_ok("config", "c", 1, 0);
	memset(gone, 7, sizeof(gone));
	ck_assert_msg(dsb_backend_remove_many(be, ptrs, 21, gone) == 0, "%s", dsb_errmsg());
	for (i = 0; i < 21; i++)
		ck_assert_int_eq(gone[i], 1);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(dsb_backend_list(be, "", count_cb, &c), 0);
	ck_assert_int_eq(c.n, 1);  /* config only */
	teardown();
}
END_TEST

/* remove_many under object lock: the locked objects stay, each named; the others go */
START_TEST(test_remove_many_locked)
{
	struct dsb_backend_options o = { .s3_retention_days = 1, .s3_lock_mode = "COMPLIANCE",
		.s3_delete_batch = 2 };
	const char *names[] = { "snapshots/0123", "locks/0123", "data/01/0123", "index/gone",
		"index/0123" };
	unsigned char gone[5];
	struct dsb_buf b;
	const char *msg;

	open_bucket("dellock", &o);
	put_ok("snapshots/0123", "snapshot bytes", 14, DSB_PUT_NO_OVERWRITE);
	put_ok("locks/0123", "lock bytes", 10, DSB_PUT_NO_OVERWRITE);
	put_ok("data/01/0123", "pack bytes", 10, DSB_PUT_NO_OVERWRITE);
	put_ok("index/0123", "index bytes", 11, DSB_PUT_NO_OVERWRITE);
	ck_assert_int_eq(dsb_backend_remove_many(be, names, 5, gone), DSB_ERR_BACKEND);
	msg = dsb_errmsg();
	ck_assert_msg(strstr(msg, "2 of 5 object(s) not removed") != NULL, "%s", msg);
	ck_assert_msg(strstr(msg, "snapshots/0123: it is under object lock (COMPLIANCE) until 20") !=
	    NULL, "%s", msg);
	ck_assert_msg(strstr(msg, "AccessDenied") != NULL, "%s", msg);
	ck_assert(gone[0] == 0 && gone[1] == 1 && gone[2] == 0 && gone[3] == 1 && gone[4] == 1);
	dsb_buf_init(&b, 0);
	ck_assert_int_eq(dsb_backend_get(be, "snapshots/0123", 0, 0, &b), 0);
	ck_assert_int_eq(dsb_backend_get(be, "data/01/0123", 0, 0, &b), 0);
	ck_assert_int_eq(dsb_backend_get(be, "locks/0123", 0, 0, &b), DSB_ERR_NOT_FOUND);
	ck_assert_int_eq(dsb_backend_get(be, "index/0123", 0, 0, &b), DSB_ERR_NOT_FOUND);
	dsb_buf_release(&b);
	teardown();
}
END_TEST

START_TEST(test_wrong_secret)
{
	struct dsb_buf b;
	const char *good = getenv("AWS_SECRET_ACCESS_KEY");
	char *saved = strdup(good != NULL ? good : "");

	open_bucket("auth", NULL);
	put_ok("config", "x", 1, 0);
	dsb_backend_close(be);
	setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-0123456789", 1);
	ck_assert_int_eq(dsb_backend_open(url, &be), 0);
	dsb_buf_init(&b, 0);
	ck_assert_int_eq(dsb_backend_get(be, "config", 0, 0, &b), DSB_ERR_BACKEND);
	ck_assert_msg(strstr(dsb_errmsg(), "HTTP 403 SignatureDoesNotMatch") != NULL, "%s", dsb_errmsg());
	ck_assert_ptr_null(strstr(dsb_errmsg(), "wrong-secret"));
	setenv("AWS_SECRET_ACCESS_KEY", saved, 1);
	free(saved);
	dsb_buf_release(&b);
	teardown();
}
END_TEST

START_TEST(test_unreachable)
{
	struct dsb_backend_options o = { .s3_retries = 2 };
	struct dsb_buf b;
	time_t t0 = time(NULL);

	ck_assert_int_eq(dsb_backend_configure(&o), 0);
	/* port 9 (discard) is closed here: connection refused */
	ck_assert_int_eq(dsb_backend_open("s3:http://127.0.0.1:9/bucket", &be), 0);
	dsb_buf_init(&b, 0);
	ck_assert_int_eq(dsb_backend_get(be, "config", 0, 0, &b), DSB_ERR_BACKEND);
	ck_assert_msg(strstr(dsb_errmsg(), "3 attempts") != NULL, "%s", dsb_errmsg());
	ck_assert_int_le(time(NULL) - t0, 10);
	dsb_buf_release(&b);
	teardown();
}
END_TEST

/* start_upload(key): a multipart upload of the bucket key ${key} that nobody finishes. */
static void start_upload(const char *key)
{
	struct s3_req req = { .method = "POST", .key = key };
	struct s3_resp resp;

	ck_assert_int_eq(s3_req_query(&req, "uploads", ""), 0);
	ck_assert_msg(s3_http_do(be->state, &req, &resp) == 0, "%s", dsb_errmsg());
	ck_assert_int_eq(resp.status, 200);
}

#define UNFINISHED 1003  /* over a page of ListMultipartUploads (1000) */

struct seen_uploads {
	int n, u1, u2, many, other;
	char handle[1024];
};

static int seen_cb(void *arg, const char *name, const char *handle)
{
	struct seen_uploads *s = arg;

	s->n++;
	if (strcmp(name, "data/ab/u1") == 0) {
		s->u1++;
		snprintf(s->handle, sizeof(s->handle), "%s", handle);
	}
	s->u2 += strcmp(name, "index/u2") == 0;
	s->many += strncmp(name, "locks/m", 7) == 0;
	return s->n == 2000 ? 77 : 0;
}

START_TEST(test_unfinished)
{
	struct seen_uploads s;
	char key[64];
	int i;

	open_bucket("unf", NULL);
	memset(&s, 0, sizeof(s));
	ck_assert_msg(dsb_backend_list_unfinished(be, seen_cb, &s) == 0, "%s", dsb_errmsg());
	ck_assert_int_eq(s.n, 0);
	start_upload("pre/fix/data/ab/u1");
	start_upload("pre/fix/data/ab/u1");  /* the same key twice: two uploads */
	start_upload("pre/fix/index/u2");
	start_upload("pre/other");           /* outside the prefix: not listed */
	start_upload("pre/fix/a//b");        /* not an object name: skipped */
	for (i = 0; i < UNFINISHED; i++) {
		snprintf(key, sizeof(key), "pre/fix/locks/m%04d", i);
		start_upload(key);
	}
	ck_assert_msg(dsb_backend_list_unfinished(be, seen_cb, &s) == 0, "%s", dsb_errmsg());
	ck_assert_int_eq(s.u1, 2);
	ck_assert_int_eq(s.u2, 1);
	ck_assert_int_eq(s.many, UNFINISHED);
	ck_assert_int_eq(s.n, UNFINISHED + 3);
	ck_assert_msg(dsb_backend_abort_unfinished(be, "data/ab/u1", s.handle) == 0, "%s",
	    dsb_errmsg());
	ck_assert_int_eq(dsb_backend_abort_unfinished(be, "data/ab/u1", s.handle), 0);  /* gone: 0 */
	ck_assert_int_eq(dsb_backend_abort_unfinished(be, "../x", s.handle), DSB_ERR_USAGE);
	memset(&s, 0, sizeof(s));
	ck_assert_msg(dsb_backend_list_unfinished(be, seen_cb, &s) == 0, "%s", dsb_errmsg());
	ck_assert_int_eq(s.u1, 1);
	ck_assert_int_eq(s.n, UNFINISHED + 2);
	teardown();
}
END_TEST

static Suite *s3_live_suite(void)
{
	Suite *s = suite_create("s3_live");
	TCase *tc = tcase_create("radosgw");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_objects);
	tcase_add_test(tc, test_multipart);
	tcase_add_test(tc, test_list_many);
	tcase_add_test(tc, test_object_lock);
	tcase_add_test(tc, test_remove_many);
	tcase_add_test(tc, test_remove_many_locked);
	tcase_add_test(tc, test_wrong_secret);
	tcase_add_test(tc, test_unreachable);
	tcase_add_test(tc, test_unfinished);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(s3_live_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
