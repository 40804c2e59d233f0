/* check_backend_local.c: the local storage backend and the driver lookup. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dsbackup/backend.h"
#include "dsbackup/buf.h"
#include "dsbackup/error.h"
#include "testutil.h"

static char *tmpdir;
static char root[4096];
static struct dsb_backend *be;

static void setup(void)
{
	umask(022);
	tmpdir = dsb_test_tmpdir();
	snprintf(root, sizeof(root), "%s/repo", tmpdir);
	ck_assert_int_eq(dsb_backend_open(root, &be), 0);
	ck_assert_int_eq(dsb_backend_create(be), 0);
}

static void teardown(void)
{
	dsb_backend_close(be);
	be = NULL;
	dsb_test_rmrf(tmpdir);
	free(tmpdir);
	tmpdir = NULL;
}

static void put_str(const char *name, const char *s, unsigned flags)
{
	ck_assert_msg(dsb_backend_put(be, name, s, strlen(s), flags) == 0, "put %s: %s", name,
	    dsb_errmsg());
}

/* assert_get(name, want): the whole object is ${want}. */
static void assert_get(const char *name, const char *want)
{
	struct dsb_buf b;

	dsb_buf_init(&b, 0);
	ck_assert_msg(dsb_backend_get(be, name, 0, 0, &b) == 0, "get %s: %s", name, dsb_errmsg());
	ck_assert_uint_eq(b.len, strlen(want));
	ck_assert(b.len == 0 || memcmp(b.data, want, b.len) == 0);
	dsb_buf_release(&b);
}

/* count_tmp(dir): the number of ".tmp-" files in ${dir}; -1 if it cannot be read. */
static int count_tmp(const char *dir)
{
	struct dirent *ent;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((ent = readdir(d)) != NULL)
		n += strncmp(ent->d_name, ".tmp-", 5) == 0;
	closedir(d);
	return n;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
	return st.st_mode;
}

START_TEST(test_create_makes_subdirs)
{
	static const char *const subdirs[] = { "keys", "data", "index", "snapshots", "locks" };
	char path[4200];
	size_t i;

	ck_assert_uint_eq(mode_of(root) & 07777, 0700);
	for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, subdirs[i]);
		ck_assert(S_ISDIR(mode_of(path)));
		ck_assert_uint_eq(mode_of(path) & 07777, 0700);
	}
	ck_assert_int_eq(dsb_backend_create(be), 0);  /* again: fine */
}
END_TEST

START_TEST(test_roundtrip_small)
{
	uint64_t size = 0;

	put_str("config", "hello, repository", 0);
	assert_get("config", "hello, repository");
	ck_assert_int_eq(dsb_backend_stat(be, "config", &size), 0);
	ck_assert_uint_eq(size, 17);
	put_str("keys/00ff", "", 0);
	assert_get("keys/00ff", "");
}
END_TEST

START_TEST(test_roundtrip_large)
{
	const size_t n = (size_t)20 << 20;
	const char *name = "data/ab/ab0123456789abcdef";
	uint8_t *p = malloc(n);
	struct dsb_buf b;
	size_t i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 2654435761u >> 13);
	ck_assert_msg(dsb_backend_put(be, name, p, n, 0) == 0, "%s", dsb_errmsg());
	dsb_buf_init(&b, 0);
	ck_assert_msg(dsb_backend_get(be, name, 0, 0, &b) == 0, "%s", dsb_errmsg());
	ck_assert_uint_eq(b.len, n);
	ck_assert(memcmp(b.data, p, n) == 0);
	dsb_buf_release(&b);
	free(p);
}
END_TEST

/* cached_share(path): the share of a file's pages in the page cache, 0..1 */
static double cached_share(const char *path)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *vec;
	struct stat st;
	size_t pages, i, in = 0;
	void *m;
	int fd;

	ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	pages = ((size_t)st.st_size + (size_t)page - 1) / (size_t)page;
	ck_assert_ptr_ne(m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0), MAP_FAILED);
	ck_assert_ptr_nonnull(vec = malloc(pages));
	ck_assert_int_eq(mincore(m, (size_t)st.st_size, vec), 0);
	for (i = 0; i < pages; i++)
		in += vec[i] & 1;
	free(vec);
	munmap(m, (size_t)st.st_size);
	close(fd);
	return (double)in / (double)pages;
}

/*
 * Objects of 1 MiB and more go with O_DIRECT (local.c): from a bounce buffer
 * when the caller's is not aligned, from the caller's when it is, with a
 * tail that is not a multiple of the alignment.  Where the file system takes
 * O_DIRECT, the object is not left in the page cache.
 */
START_TEST(test_roundtrip_direct)
{
	const size_t sizes[] = { ((size_t)5 << 20) + 1234, (size_t)3 << 20, ((size_t)1 << 20) + 4095 };
	const char *names[] = { "data/cd/cd01", "data/cd/cd02", "data/cd/cd03" };
	char path[8192];
	struct dsb_buf b;
	uint8_t *p, *q;
	size_t i, k;
	int direct_fs, fd;

	/* does this file system take O_DIRECT? */
	snprintf(path, sizeof(path), "%s/probe", root);
	ck_assert_int_eq(posix_memalign((void **)&p, 4096, 4096), 0);
	memset(p, 0, 4096);
	fd = open(path, O_WRONLY | O_CREAT | O_DIRECT, 0600);
	direct_fs = fd >= 0 && write(fd, p, 4096) == 4096;
	if (fd >= 0)
		close(fd);
	unlink(path);
	free(p);
	if (!direct_fs)
		fprintf(stderr, "test_roundtrip_direct: %s does not take O_DIRECT; checking the "
		    "content only\n", root);
	for (k = 0; k < 3; k++) {
		ck_assert_int_eq(posix_memalign((void **)&p, 4096, sizes[k] + 1), 0);
		q = k == 0 ? p + 1 : p;   /* the first from an unaligned buffer */
		for (i = 0; i < sizes[k]; i++)
			q[i] = (uint8_t)(i * 2654435761u >> 11 ^ k);
		ck_assert_msg(dsb_backend_put(be, names[k], q, sizes[k], 0) == 0, "%s", dsb_errmsg());
		snprintf(path, sizeof(path), "%s/%s", root, names[k]);
		if (direct_fs)
			ck_assert_msg(cached_share(path) < 0.01 + 4096.0 / (double)sizes[k],
			    "%s was written through the page cache", names[k]);
		dsb_buf_init(&b, 0);
		ck_assert_msg(dsb_backend_get(be, names[k], 0, 0, &b) == 0, "%s", dsb_errmsg());
		ck_assert_uint_eq(b.len, sizes[k]);
		ck_assert(memcmp(b.data, q, sizes[k]) == 0);
		dsb_buf_release(&b);
		free(p);
	}
}
END_TEST

START_TEST(test_range_get)
{
	char all[101];
	struct dsb_buf b;
	int i;

	for (i = 0; i < 100; i++)
		all[i] = (char)('!' + i % 90);
	all[100] = '\0';
	put_str("index/01", all, 0);
	dsb_buf_init(&b, 0);
	ck_assert_int_eq(dsb_backend_get(be, "index/01", 10, 20, &b), 0);
	ck_assert_uint_eq(b.len, 20);
	ck_assert(memcmp(b.data, all + 10, 20) == 0);
	ck_assert_int_eq(dsb_backend_get(be, "index/01", 90, 0, &b), 0);  /* to the end */
	ck_assert_uint_eq(b.len, 10);
	ck_assert(memcmp(b.data, all + 90, 10) == 0);
	ck_assert_int_eq(dsb_backend_get(be, "index/01", 100, 0, &b), 0);  /* empty tail */
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(dsb_backend_get(be, "index/01", 95, 10, &b), DSB_ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "is 100 bytes, cannot read 95..105"));
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "getting index/01"));
	ck_assert_int_eq(dsb_backend_get(be, "index/01", 101, 0, &b), DSB_ERR_CORRUPT);
	ck_assert_int_eq(dsb_backend_get(be, "index/01", UINT64_MAX, 2, &b), DSB_ERR_CORRUPT);
	ck_assert_int_eq(dsb_backend_get(be, "index/01", 1, UINT64_MAX, &b), DSB_ERR_CORRUPT);
	dsb_buf_release(&b);
}
END_TEST

START_TEST(test_no_overwrite)
{
	char dir[4200];

	put_str("locks/aa", "first", DSB_PUT_NO_OVERWRITE);
	ck_assert_int_eq(dsb_backend_put(be, "locks/aa", "second", 6, DSB_PUT_NO_OVERWRITE),
	    DSB_ERR_EXISTS);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "already exists"));
	assert_get("locks/aa", "first");
	snprintf(dir, sizeof(dir), "%s/locks", root);
	ck_assert_int_eq(count_tmp(dir), 0);
	put_str("locks/aa", "third", 0);  /* a plain put replaces */
	assert_get("locks/aa", "third");
	ck_assert_int_eq(count_tmp(dir), 0);
}
END_TEST

START_TEST(test_file_mode_and_no_tmp)
{
	char path[4200], dir[4200];

	put_str("data/cd/cdef", "object", 0);
	snprintf(path, sizeof(path), "%s/data/cd/cdef", root);
	snprintf(dir, sizeof(dir), "%s/data/cd", root);
	ck_assert(S_ISREG(mode_of(path)));
	ck_assert_uint_eq(mode_of(path) & 07777, 0600);
	ck_assert_uint_eq(mode_of(dir) & 07777, 0700);
	ck_assert_int_eq(count_tmp(dir), 0);
}
END_TEST

START_TEST(test_missing)
{
	struct dsb_buf b;
	uint64_t size;

	dsb_buf_init(&b, 0);
	ck_assert_int_eq(dsb_backend_get(be, "snapshots/nope", 0, 0, &b), DSB_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "storage local:"));
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "/repo/snapshots/nope"));
	ck_assert_int_eq(dsb_backend_stat(be, "snapshots/nope", &size), DSB_ERR_NOT_FOUND);
	ck_assert_int_eq(dsb_backend_remove(be, "snapshots/nope"), DSB_ERR_NOT_FOUND);
	ck_assert_int_eq(dsb_backend_get(be, "nodir/x/y", 0, 0, &b), DSB_ERR_NOT_FOUND);
	put_str("snapshots/here", "x", 0);
	ck_assert_int_eq(dsb_backend_remove(be, "snapshots/here"), 0);
	ck_assert_int_eq(dsb_backend_get(be, "snapshots/here", 0, 0, &b), DSB_ERR_NOT_FOUND);
	ck_assert_int_eq(dsb_backend_remove(be, "snapshots/here"), DSB_ERR_NOT_FOUND);
	dsb_buf_release(&b);
}
END_TEST

#define MAX_SEEN 16

struct seen {
	char name[MAX_SEEN][64];
	uint64_t size[MAX_SEEN];
	int n;
	int stop_after;  /* return 42 after this many; 0: never */
};

static int collect(void *arg, const char *name, uint64_t size)
{
	struct seen *s = arg;

	ck_assert_int_lt(s->n, MAX_SEEN);
	snprintf(s->name[s->n], sizeof(s->name[0]), "%s", name);
	s->size[s->n++] = size;
	return s->stop_after != 0 && s->n >= s->stop_after ? 42 : 0;
}

/* find(s, name): its size, or -1 if not seen. */
static long long find(const struct seen *s, const char *name)
{
	int i;

	for (i = 0; i < s->n; i++) {
		if (strcmp(s->name[i], name) == 0)
			return (long long)s->size[i];
	}
	return -1;
}

START_TEST(test_list)
{
	struct seen s = { .n = 0 };
	char path[4200];
	FILE *f;

	put_str("data/ab/ab01", "abc", 0);
	put_str("data/ab/ab02", "abcde", 0);
	put_str("data/cd/cd03", "abcdefg", 0);
	put_str("index/ff", "i", 0);
	snprintf(path, sizeof(path), "%s/data/ab/.tmp-leftover", root);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("junk", f);
	fclose(f);

	ck_assert_int_eq(dsb_backend_list(be, "data", collect, &s), 0);
	ck_assert_int_eq(s.n, 3);
	ck_assert_int_eq(find(&s, "data/ab/ab01"), 3);
	ck_assert_int_eq(find(&s, "data/ab/ab02"), 5);
	ck_assert_int_eq(find(&s, "data/cd/cd03"), 7);

	s.n = 0;
	ck_assert_int_eq(dsb_backend_list(be, "data/cd", collect, &s), 0);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(find(&s, "data/cd/cd03"), 7);

	s.n = 0;
	ck_assert_int_eq(dsb_backend_list(be, "", collect, &s), 0);  /* the whole repository */
	ck_assert_int_eq(s.n, 4);
	ck_assert_int_eq(find(&s, "index/ff"), 1);

	s.n = 0;
	ck_assert_int_eq(dsb_backend_list(be, "nosuchdir", collect, &s), 0);
	ck_assert_int_eq(dsb_backend_list(be, "snapshots", collect, &s), 0);
	ck_assert_int_eq(s.n, 0);
}
END_TEST

START_TEST(test_list_stops)
{
	struct seen s = { .n = 0, .stop_after = 1 };

	put_str("data/ab/ab01", "a", 0);
	put_str("data/ab/ab02", "b", 0);
	put_str("data/cd/cd03", "c", 0);
	dsb_error_clear();
	ck_assert_int_eq(dsb_backend_list(be, "data", collect, &s), 42);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(dsb_errmsg(), "");  /* the callback's value gets no context */
}
END_TEST

START_TEST(test_invalid_names)
{
	static const char *const bad[] = {
		"../x", "/abs", "a//b", "a/./b", "", "a/", "x/..", ".", "data/.tmp-1",
		"bad\001name", "caf\303\251", "tab\tname"
	};
	char longname[1100], escaped[4200];
	struct dsb_buf b;
	struct seen s = { .n = 0 };
	uint64_t size;
	size_t i;

	dsb_buf_init(&b, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(dsb_backend_put(be, bad[i], "x", 1, 0) == DSB_ERR_USAGE, "put %s", bad[i]);
		ck_assert_int_eq(dsb_backend_get(be, bad[i], 0, 0, &b), DSB_ERR_USAGE);
		ck_assert_int_eq(dsb_backend_stat(be, bad[i], &size), DSB_ERR_USAGE);
		ck_assert_int_eq(dsb_backend_remove(be, bad[i]), DSB_ERR_USAGE);
	}
	ck_assert_int_eq(dsb_backend_put(be, NULL, "x", 1, 0), DSB_ERR_USAGE);
	memset(longname, 'a', sizeof(longname));
	longname[1025] = '\0';
	ck_assert_int_eq(dsb_backend_put(be, longname, "x", 1, 0), DSB_ERR_USAGE);
	ck_assert_int_eq(dsb_backend_list(be, "../x", collect, &s), DSB_ERR_USAGE);
	ck_assert_int_eq(dsb_backend_list(be, "/data", collect, &s), DSB_ERR_USAGE);
	ck_assert_int_eq(dsb_backend_list(be, "data/", collect, &s), DSB_ERR_USAGE);
	ck_assert_int_eq(dsb_backend_put(be, "config", "x", 1, 0x80), DSB_ERR_INTERNAL);
	snprintf(escaped, sizeof(escaped), "%s/x", tmpdir);
	ck_assert_int_eq(access(escaped, F_OK), -1);  /* "../x" did not escape the root */
	dsb_buf_release(&b);
}
END_TEST

static void assert_opens_local(const char *url, const char *want_url)
{
	struct dsb_backend *x = NULL;

	ck_assert_msg(dsb_backend_open(url, &x) == 0, "open %s: %s", url, dsb_errmsg());
	ck_assert_ptr_eq(x->ops, &dsb_backend_local);
	ck_assert_str_eq(x->url, want_url);
	dsb_backend_close(x);
}

START_TEST(test_open_schemes)
{
	struct dsb_backend *x = (struct dsb_backend *)1;

	assert_opens_local("/abs/path", "local:/abs/path");
	assert_opens_local("relative/path", "local:relative/path");
	assert_opens_local("local:/x", "local:/x");
	assert_opens_local("LOCAL:/x", "local:/x");
	assert_opens_local("./a:b", "local:./a:b");
	assert_opens_local("my-repo:1", "local:my-repo:1");
	assert_opens_local("local:s3:odd", "local:s3:odd");
	ck_assert_int_eq(dsb_backend_open("nosuch:/x", &x), DSB_ERR_USAGE);
	ck_assert_ptr_null(x);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "unknown repository type \"nosuch:\""));
	ck_assert_int_eq(dsb_backend_open("s3:bucket", &x), DSB_ERR_USAGE);
	ck_assert_int_eq(dsb_backend_open("", &x), DSB_ERR_USAGE);
	ck_assert_int_eq(dsb_backend_open("local:", &x), DSB_ERR_USAGE);
	dsb_backend_close(NULL);
}
END_TEST

/* A relative path is resolved at open: a later chdir() does not move the repository. */
START_TEST(test_relative_path)
{
	struct dsb_backend *x = NULL;
	char cwd[4096], path[4200];

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(tmpdir), 0);
	ck_assert_int_eq(dsb_backend_open("rel", &x), 0);
	ck_assert_int_eq(chdir("/"), 0);
	ck_assert_msg(dsb_backend_create(x) == 0, "%s", dsb_errmsg());
	ck_assert_int_eq(dsb_backend_put(x, "config", "c", 1, 0), 0);
	dsb_backend_close(x);
	ck_assert_int_eq(chdir(cwd), 0);
	snprintf(path, sizeof(path), "%s/rel/config", tmpdir);
	ck_assert(S_ISREG(mode_of(path)));
}
END_TEST

START_TEST(test_io_error_names_path)
{
	char path[4200];
	FILE *f;

	/* data/ab is a file, not a directory: works even as root. */
	snprintf(path, sizeof(path), "%s/data/ab", root);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fclose(f);
	ck_assert_int_eq(dsb_backend_put(be, "data/ab/ab01", "x", 1, 0), DSB_ERR_IO);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "putting data/ab/ab01"));
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), path));
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), strerror(ENOTDIR)));

	if (geteuid() == 0) {
		fprintf(stderr, "test_io_error_names_path: running as root, "
		    "skipping the read-only directory case\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/index", root);
	ck_assert_int_eq(chmod(path, 0500), 0);
	ck_assert_int_eq(dsb_backend_put(be, "index/01", "x", 1, 0), DSB_ERR_IO);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), path));
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), strerror(EACCES)));
	chmod(path, 0700);
}
END_TEST

/* A full disk: a 1 MiB tmpfs.  Needs the right to mount; skipped otherwise. */
START_TEST(test_no_space)
{
	const size_t n = (size_t)2 << 20;
	struct dsb_backend *x = NULL;
	char mnt[4200], url[4300], dir[4400], final[4500];
	int r_open = -1, r_create = -1, r_put = -1, tmps = -1, final_exists = -1;
	int mentions_path = 0;
	uint8_t *p;

	snprintf(mnt, sizeof(mnt), "%s/small", tmpdir);
	ck_assert_int_eq(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0) {
		fprintf(stderr, "test_no_space: cannot mount a tmpfs (%s), skipped\n", strerror(errno));
		return;
	}
	ck_assert_ptr_nonnull(p = calloc(1, n));
	snprintf(url, sizeof(url), "local:%s/repo", mnt);
	snprintf(dir, sizeof(dir), "%s/repo/data/ab", mnt);
	snprintf(final, sizeof(final), "%s/ab0123", dir);
	if ((r_open = dsb_backend_open(url, &x)) == 0 && (r_create = dsb_backend_create(x)) == 0) {
		r_put = dsb_backend_put(x, "data/ab/ab0123", p, n, 0);
		mentions_path = strstr(dsb_errmsg(), final) != NULL;
		tmps = count_tmp(dir);
		final_exists = access(final, F_OK) == 0;
	}
	dsb_backend_close(x);
	free(p);
	umount2(mnt, MNT_DETACH);
	ck_assert_int_eq(r_open, 0);
	ck_assert_int_eq(r_create, 0);
	ck_assert_int_eq(r_put, DSB_ERR_NOSPACE);
	ck_assert_msg(mentions_path, "message does not name %s", final);
	ck_assert_int_eq(tmps, 0);
	ck_assert_int_eq(final_exists, 0);
}
END_TEST

#define THREADS 4
#define PER_THREAD 100

struct worker {
	pthread_t tid;
	int id;
	int failures;
	char msg[512];
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	uint8_t data[3000];
	char name[64];
	struct dsb_buf b;
	size_t len, j;
	int i;

	dsb_buf_init(&b, 0);
	for (i = 0; i < PER_THREAD; i++) {
		len = 100 + (size_t)(w->id * PER_THREAD + i) * 7 % 2800;
		for (j = 0; j < len; j++)
			data[j] = (uint8_t)(w->id * 31 + i * 7 + (int)j);
		snprintf(name, sizeof(name), "data/%02x/t%d-%03d", (w->id * PER_THREAD + i) % 7,
		    w->id, i);
		if (dsb_backend_put(be, name, data, len, DSB_PUT_NO_OVERWRITE) != 0 ||
		    dsb_backend_get(be, name, 0, 0, &b) != 0) {
			snprintf(w->msg, sizeof(w->msg), "%s", dsb_errmsg());
			w->failures++;
		} else if (b.len != len || memcmp(b.data, data, len) != 0) {
			snprintf(w->msg, sizeof(w->msg), "%s: content differs", name);
			w->failures++;
		}
	}
	dsb_buf_release(&b);
	return NULL;
}

static int count_cb(void *arg, const char *name, uint64_t size)
{
	(void)name;
	(void)size;
	++*(int *)arg;
	return 0;
}

START_TEST(test_threads)
{
	struct worker w[THREADS];
	int i, n = 0;

	memset(w, 0, sizeof(w));
	for (i = 0; i < THREADS; i++) {
		w[i].id = i;
		ck_assert_int_eq(pthread_create(&w[i].tid, NULL, worker_run, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		/* list while the workers write: must not fail on half-made objects */
		ck_assert_msg(dsb_backend_list(be, "data", count_cb, &n) == 0, "%s", dsb_errmsg());
	}
	for (i = 0; i < THREADS; i++) {
		ck_assert_int_eq(pthread_join(w[i].tid, NULL), 0);
		ck_assert_msg(w[i].failures == 0, "thread %d: %d failures, last: %s", i,
		    w[i].failures, w[i].msg);
	}
	n = 0;
	ck_assert_int_eq(dsb_backend_list(be, "data", count_cb, &n), 0);
	ck_assert_int_eq(n, THREADS * PER_THREAD);
}
END_TEST

static Suite *backend_local_suite(void)
{
	Suite *s = suite_create("backend_local");
	TCase *tc = tcase_create("local");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_create_makes_subdirs);
	tcase_add_test(tc, test_roundtrip_small);
	tcase_add_test(tc, test_roundtrip_large);
	tcase_add_test(tc, test_roundtrip_direct);
	tcase_add_test(tc, test_range_get);
	tcase_add_test(tc, test_no_overwrite);
	tcase_add_test(tc, test_file_mode_and_no_tmp);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_list_stops);
	tcase_add_test(tc, test_invalid_names);
	tcase_add_test(tc, test_open_schemes);
	tcase_add_test(tc, test_relative_path);
	tcase_add_test(tc, test_io_error_names_path);
	tcase_add_test(tc, test_no_space);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(backend_local_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
