/*
 * check_prefetch.c: the page-cache warming thread of backups
 * (src/engine/prefetch.c).  Files are written, synced and evicted with
 * POSIX_FADV_DONTNEED; mincore(2) on a mapping then tells which pages the
 * thread brought back.  On a file system whose pages cannot be evicted
 * (tmpfs), the suite says so and checks only that nothing breaks.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/prefetch.h"
#include "testutil.h"

#define FILE_SIZE (256 * 1024)
#define NFILES 4

static char *dir;
static const char *const names[NFILES] = { "a", "b", "c", "d" };
static int evictable = 1;

static char *path_of(const char *name)
{
	static char p[4096];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

/* resident(name): the share of the file's pages in the page cache, 0..1. */
static double resident(const char *name)
{
	unsigned char vec[FILE_SIZE / 4096 + 1];
	long page = sysconf(_SC_PAGESIZE);
	size_t pages = (FILE_SIZE + (size_t)page - 1) / (size_t)page, i, in = 0;
	void *m;
	int fd;

	ck_assert_int_ge(fd = open(path_of(name), O_RDONLY), 0);
	m = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(m, MAP_FAILED);
	ck_assert_int_eq(mincore(m, FILE_SIZE, vec), 0);
	for (i = 0; i < pages; i++)
		in += vec[i] & 1;
	munmap(m, FILE_SIZE);
	close(fd);
	return (double)in / (double)pages;
}

static void evict(const char *name)
{
	int fd;

	ck_assert_int_ge(fd = open(path_of(name), O_RDONLY), 0);
	ck_assert_int_eq(fdatasync(fd), 0);
	ck_assert_int_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	close(fd);
}

/* wait_resident(name): 1 once the whole file is in the cache, 0 after 10 s. */
static int wait_resident(const char *name)
{
	struct timespec ms10 = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 1000; i++) {
		if (resident(name) == 1.0)
			return 1;
		nanosleep(&ms10, NULL);
	}
	return 0;
}

static void settle(void)
{
	struct timespec ms300 = { 0, 300 * 1000 * 1000 };

	nanosleep(&ms300, NULL);
}

static void setup(void)
{
	static unsigned char buf[FILE_SIZE];
	size_t i;
	int fd;

	dir = dsb_test_tmpdir();
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 31 + 7);
	for (i = 0; i < NFILES; i++) {
		ck_assert_int_ge(fd = open(path_of(names[i]), O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
		ck_assert_int_eq(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
		ck_assert_int_eq(fsync(fd), 0);
		close(fd);
		evict(names[i]);
	}
	if (resident("a") > 0.5) {
		evictable = 0;
		fprintf(stderr, "check_prefetch: pages under %s cannot be evicted here (tmpfs?); "
		    "only checking that prefetching does no harm\n", dir);
	}
}

static void teardown(void)
{
	dsb_test_rmrf(dir);
	free(dir);
	dir = NULL;
}

static const char unchanged_mark[] = "unchanged", gate_mark[] = "gate";
static volatile int at_gate, gate_open;

/*
 * the judge: an entry marked unchanged is; at an entry marked gate the
 * thread stops until the test opens the gate.
 */
static int judge(const void *before, const struct stat *st)
{
	struct timespec ms1 = { 0, 1000 * 1000 };

	(void)st;
	if (before == gate_mark) {
		at_gate = 1;
		while (!gate_open)
			nanosleep(&ms1, NULL);
	}
	return before == unchanged_mark;
}

static void entries(struct dsb_prefetch_entry e[NFILES])
{
	size_t i;

	for (i = 0; i < NFILES; i++) {
		e[i].name = names[i];
		e[i].before = NULL;
	}
}

START_TEST(test_warms_what_the_walk_will_read)
{
	struct dsb_prefetch_entry e[NFILES];
	struct dsb_prefetch *pf;
	size_t i;

	entries(e);
	e[1].before = unchanged_mark;   /* b: the walk would not read it */
	ck_assert_int_eq(dsb_prefetch_start(judge, (uint64_t)64 << 20, &pf), 0);
	ck_assert_int_eq(dsb_prefetch_push(pf, dir, e, NFILES), 0);
	for (i = 0; i < NFILES; i++)
		if (i != 1 && evictable)
			ck_assert_msg(wait_resident(names[i]), "%s was not read ahead", names[i]);
	settle();
	if (evictable)
		ck_assert_msg(resident("b") == 0.0, "b, unchanged, was read ahead");
	dsb_prefetch_pop(pf);
	dsb_prefetch_stop(pf);
}
END_TEST

START_TEST(test_budget_and_the_walk)
{
	struct dsb_prefetch_entry e[NFILES];
	struct dsb_prefetch *pf;

	entries(e);
	/* one byte: after the first file the thread waits for the walk */
	ck_assert_int_eq(dsb_prefetch_start(judge, 1, &pf), 0);
	ck_assert_int_eq(dsb_prefetch_push(pf, dir, e, NFILES), 0);
	if (evictable)
		ck_assert(wait_resident("a"));
	settle();
	if (evictable)
		ck_assert_msg(resident("b") == 0.0, "b was read ahead beyond the budget");
	dsb_prefetch_reached(pf, 1);   /* the walk is at b: a no longer counts */
	if (evictable) {
		ck_assert_msg(wait_resident("b"), "the walk's progress did not let b be read ahead");
		settle();
		ck_assert_msg(resident("c") == 0.0, "c was read ahead beyond the budget");
	}
	dsb_prefetch_reached(pf, 3);   /* past c, which was never warmed: the thread skips to d */
	if (evictable) {
		ck_assert_msg(wait_resident("d"), "d was not read ahead after the walk passed c");
		ck_assert_msg(resident("c") == 0.0, "c, passed by the walk, was read ahead");
	}
	dsb_prefetch_pop(pf);
	dsb_prefetch_stop(pf);
}
END_TEST

START_TEST(test_deepest_directory_first)
{
	struct dsb_prefetch_entry outer[2] = { { "a", gate_mark }, { "b", NULL } };
	struct dsb_prefetch_entry inner[1] = { { "d", NULL } };
	struct timespec ms1 = { 0, 1000 * 1000 };
	struct dsb_prefetch *pf;

	at_gate = gate_open = 0;
	/* room for two files */
	ck_assert_int_eq(dsb_prefetch_start(judge, 2 * FILE_SIZE, &pf), 0);
	ck_assert_int_eq(dsb_prefetch_push(pf, dir, outer, 2), 0);
	while (!at_gate)
		nanosleep(&ms1, NULL);
	/* the walk enters a (a directory, say): what it pushes now comes before b */
	dsb_prefetch_reached(pf, 0);
	ck_assert_int_eq(dsb_prefetch_push(pf, dir, inner, 1), 0);
	gate_open = 1;
	if (evictable) {
		ck_assert(wait_resident("a"));
		ck_assert_msg(wait_resident("d"), "the inner directory's d was not read ahead");
		settle();
		ck_assert_msg(resident("b") == 0.0, "b came before the inner directory, or beyond the budget");
	}
	dsb_prefetch_pop(pf);           /* the walk leaves the inner directory... */
	dsb_prefetch_reached(pf, 1);    /* ...and passes a */
	if (evictable)
		ck_assert_msg(wait_resident("b"), "b was not read ahead after the inner directory");
	dsb_prefetch_pop(pf);
	dsb_prefetch_stop(pf);
}
END_TEST

START_TEST(test_missing_and_odd_entries)
{
	struct dsb_prefetch_entry e[4] = { { "no-such-file", NULL }, { ".", NULL },
	    { "link", NULL }, { "a", NULL } };
	struct dsb_prefetch_entry gone[1] = { { "a", NULL } };
	struct dsb_prefetch *pf;
	char target[4096];

	snprintf(target, sizeof(target), "%s", path_of("a"));
	ck_assert_int_eq(symlink(target, path_of("link")), 0);
	ck_assert_int_eq(dsb_prefetch_start(judge, (uint64_t)64 << 20, &pf), 0);
	ck_assert_int_eq(dsb_prefetch_push(pf, dir, e, 4), 0);
	if (evictable)
		ck_assert_msg(wait_resident("a"), "a, after entries that are not files, was not read");
	/* a directory that does not exist: nothing to do, nothing breaks */
	ck_assert_int_eq(dsb_prefetch_push(pf, "/nonexistent/dsbackup-test", gone, 1), 0);
	settle();
	/* stopped with both directories still pushed */
	dsb_prefetch_stop(pf);
	dsb_prefetch_stop(NULL);
}
END_TEST

/* open_fds(): the descriptors this process has open */
static int open_fds(void)
{
	char path[64];
	int n = 0, fd;

	for (fd = 0; fd < 4096; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

/* however deep the walk, the thread keeps one directory open */
START_TEST(test_one_directory_open)
{
	enum { DEPTH = 200 };
	static struct dsb_prefetch_entry e[DEPTH][1];
	struct dsb_prefetch *pf;
	int before, during, i;

	before = open_fds();
	ck_assert_int_eq(dsb_prefetch_start(judge, (uint64_t)64 << 20, &pf), 0);
	for (i = 0; i < DEPTH; i++) {
		e[i][0].name = names[i % NFILES];
		e[i][0].before = NULL;
		ck_assert_int_eq(dsb_prefetch_push(pf, dir, e[i], 1), 0);
		dsb_prefetch_reached(pf, 0);
	}
	settle();
	during = open_fds();
	ck_assert_msg(during <= before + 1, "%d descriptors open for a walk %d deep (%d before)",
	    during, DEPTH, before);
	for (i = 0; i < DEPTH; i++)
		dsb_prefetch_pop(pf);
	dsb_prefetch_stop(pf);
	ck_assert_int_eq(open_fds(), before);
}
END_TEST

static Suite *prefetch_suite(void)
{
	Suite *s = suite_create("prefetch");
	TCase *tc = tcase_create("prefetch");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_warms_what_the_walk_will_read);
	tcase_add_test(tc, test_budget_and_the_walk);
	tcase_add_test(tc, test_deepest_directory_first);
	tcase_add_test(tc, test_missing_and_odd_entries);
	tcase_add_test(tc, test_one_directory_open);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(prefetch_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
