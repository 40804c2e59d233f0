/*
 * check_fsview.c: the file system view of "dsbackup mount" (fsview.h) on a
 * real repository: the virtual directories and links (names, escaping,
 * same-second snapshots), lookups and listings inside snapshots, ranged
 * reads across blob boundaries, and a damaged pack read as an error,
 * never as data.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dsbackup/engine.h"
#include "dsbackup/error.h"
#include "dsbackup/fsview.h"
#include "dsbackup/util.h"
#include "testutil.h"

#define BIG_SIZE 300000

static char *tmpdir;
static char url[4096], src[4096], catalog[4096];
static char snap_a[65], snap_b[65];
static uint8_t big[BIG_SIZE];
static const char pw[] = "fsview test password";

static void write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dsb_write_all(fd, p, n, path), 0);
	close(fd);
}

static struct dsb_session *open_session(void)
{
	struct dsb_open_opts o;
	struct dsb_session *s = NULL;

	memset(&o, 0, sizeof(o));
	o.url = url;
	o.catalog_path = catalog;
	o.password = pw;
	o.passlen = strlen(pw);
	ck_assert_msg(dsb_session_open(&o, &s) == 0, "open: %s", dsb_errmsg());
	return s;
}

static void backup(struct dsb_session *s, const char *host, char id[65])
{
	const char *paths[] = { src };
	struct dsb_backup_opts o;
	struct dsb_backup_stats st;

	memset(&o, 0, sizeof(o));
	o.paths = paths;
	o.npaths = 1;
	o.host = host;
	o.has_time = 1;
	o.time_sec = 1700000000;   /* 2023-11-14T22:13:20Z, both snapshots */
	o.workers = 1;
	ck_assert_msg(dsb_backup(s, &o, id, &st) == 0, "backup: %s", dsb_errmsg());
}

static void setup(void)
{
	struct dsb_repo_init_opts io;
	struct dsb_repo *r = NULL;
	struct dsb_session *s;
	char path[4200];
	size_t i;

	tmpdir = dsb_test_tmpdir();
	setenv("DSBACKUP_STATE_DIR", tmpdir, 1);
	snprintf(url, sizeof(url), "%s/repo", tmpdir);
	snprintf(src, sizeof(src), "%s/src", tmpdir);
	snprintf(catalog, sizeof(catalog), "%s/catalog.db", tmpdir);
	snprintf(path, sizeof(path), "%s/sub", src);
	ck_assert_int_eq(dsb_mkdir_p(path, 0755), 0);
	srand(7);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(rand() >> 7);
	snprintf(path, sizeof(path), "%s/big", src);
	write_file(path, big, sizeof(big));
	snprintf(path, sizeof(path), "%s/sub/small", src);
	write_file(path, "small\n", 6);
	snprintf(path, sizeof(path), "%s/link", src);
	ck_assert_int_eq(symlink("sub/small", path), 0);

	dsb_repo_init_opts_default(&io);
	io.kdf.log2_n = 10;
	io.chunker.min = 4096;
	io.chunker.avg = 16384;
	io.chunker.max = 65536;
	ck_assert_msg(dsb_repo_init(url, pw, strlen(pw), &io, &r) == 0, "init: %s", dsb_errmsg());
	dsb_repo_close(r);
	s = open_session();
	backup(s, "host-a", snap_a);
	backup(s, "b/x", snap_b);
	dsb_session_close(s);
}

static void teardown(void)
{
	dsb_test_rmrf(tmpdir);
	free(tmpdir);
	tmpdir = NULL;
}

/* the names of a directory of the view, joined by " " in listing order */
struct names {
	char text[4096];
	int n;
};

static int add_name(void *arg, const struct dsb_node *n)
{
	struct names *l = arg;
	size_t len = strlen(l->text);

	snprintf(l->text + len, sizeof(l->text) - len, "%s%s", l->n++ ? " " : "", n->name);
	return 0;
}

static const char *list(struct dsb_fsview *v, const char *path, struct names *l)
{
	memset(l, 0, sizeof(*l));
	ck_assert_msg(dsb_fsview_readdir(v, path, add_name, l) == 0, "readdir %s: %s", path, dsb_errmsg());
	return l->text;
}

static const struct dsb_node *lookup(struct dsb_fsview *v, const char *path)
{
	const struct dsb_node *n = NULL;

	ck_assert_msg(dsb_fsview_lookup(v, path, &n) == 0, "lookup %s: %s", path, dsb_errmsg());
	return n;
}

static struct dsb_fsview *open_view(struct dsb_session *s)
{
	struct dsb_fsview *v = NULL;

	ck_assert_msg(dsb_fsview_new(s, 3, &v) == 0, "view: %s", dsb_errmsg());
	return v;
}

static void close_view(struct dsb_session *s, struct dsb_fsview *v)
{
	dsb_fsview_free(v);
	dsb_session_close(s);
}

START_TEST(test_virtual_tree)
{
	struct dsb_session *s = open_session();
	struct dsb_fsview *v = NULL;
	const struct dsb_node *n;
	struct names l;
	char path[4400], want[4400], group[4200];
	const char *first = strcmp(snap_a, snap_b) < 0 ? snap_a : snap_b;
	const char *second = first == snap_a ? snap_b : snap_a;
	size_t i, j;

	v = open_view(s);
	ck_assert_int_eq(lookup(v, "/")->type, DSB_NODE_DIR);
	ck_assert_str_eq(list(v, "/", &l), "snapshots by-time by-host by-source latest");
	snprintf(want, sizeof(want), "%s %s", first, second);
	ck_assert_str_eq(list(v, "/snapshots", &l), want);
	/* hosts escaped, the same second in one directory told apart by the id */
	ck_assert_str_eq(list(v, "/by-host", &l), "b%2Fx host-a");   /* sorted */
	ck_assert_str_eq(list(v, "/by-host/b%2Fx", &l), "2023-11-14T22:13:20Z");
	n = lookup(v, "/by-host/b%2Fx/2023-11-14T22:13:20Z");
	ck_assert_int_eq(n->type, DSB_NODE_SYMLINK);
	snprintf(want, sizeof(want), "../../snapshots/%s", snap_b);
	ck_assert_str_eq(n->target, want);
	for (i = 0, j = 0; src[i] != '\0' && j + 4 < sizeof(group); i++)
		j += (size_t)snprintf(group + j, sizeof(group) - j, src[i] == '/' ? "%%2F" : "%c", src[i]);
	snprintf(path, sizeof(path), "/by-source/%s", group);
	snprintf(want, sizeof(want), "2023-11-14T22:13:20Z_%.8s 2023-11-14T22:13:20Z_%.8s", first, second);
	ck_assert_str_eq(list(v, path, &l), want);
	snprintf(want, sizeof(want), "2023-11-14T22:13:20Z_%.8s 2023-11-14T22:13:20Z_%.8s", first, second);
	ck_assert_str_eq(list(v, "/by-time", &l), want);
	snprintf(path, sizeof(path), "/by-time/2023-11-14T22:13:20Z_%.8s", snap_a);
	snprintf(want, sizeof(want), "../snapshots/%s", snap_a);
	ck_assert_str_eq(lookup(v, path)->target, want);
	ck_assert_str_eq(list(v, "/latest", &l), group);
	snprintf(path, sizeof(path), "/latest/%s", group);
	ck_assert_int_eq(lookup(v, path)->type, DSB_NODE_SYMLINK);
	/* nothing below a link of the view itself: the kernel follows links */
	snprintf(path, sizeof(path), "/latest/%s/x", group);
	ck_assert_int_eq(dsb_fsview_lookup(v, path, &n), DSB_ERR_NOT_FOUND);
	ck_assert_int_eq(dsb_fsview_lookup(v, "/nothing", &n), DSB_ERR_NOT_FOUND);
	ck_assert_int_eq(dsb_fsview_lookup(v, "/snapshots/0123", &n), DSB_ERR_NOT_FOUND);
	close_view(s, v);
}
END_TEST

START_TEST(test_snapshot_content)
{
	struct dsb_session *s = open_session();
	struct dsb_fsview *v = NULL;
	const struct dsb_node *n;
	struct names l;
	char path[4300];

	v = open_view(s);
	snprintf(path, sizeof(path), "/snapshots/%s%s", snap_a, src);
	ck_assert_str_eq(list(v, path, &l), "big link sub");
	snprintf(path, sizeof(path), "/snapshots/%s%s/sub/small", snap_a, src);
	n = lookup(v, path);
	ck_assert_int_eq(n->type, DSB_NODE_FILE);
	ck_assert_uint_eq(n->size, 6);
	ck_assert_uint_eq(n->mode, 0644);
	snprintf(path, sizeof(path), "/snapshots/%s%s/link", snap_b, src);
	ck_assert_str_eq(lookup(v, path)->target, "sub/small");
	snprintf(path, sizeof(path), "/snapshots/%s%s/big", snap_a, src);
	ck_assert_int_eq(dsb_fsview_readdir(v, path, add_name, &l), DSB_ERR_UNSUPPORTED);
	snprintf(path, sizeof(path), "/snapshots/%s%s/big/x", snap_a, src);
	ck_assert_int_eq(dsb_fsview_lookup(v, path, &n), DSB_ERR_NOT_FOUND);
	snprintf(path, sizeof(path), "/snapshots/%s%s/none", snap_a, src);
	ck_assert_int_eq(dsb_fsview_lookup(v, path, &n), DSB_ERR_NOT_FOUND);
	close_view(s, v);
}
END_TEST

START_TEST(test_ranged_reads)
{
	struct dsb_session *s = open_session();
	struct dsb_fsview *v = NULL;
	struct dsb_fsview_file *f = NULL;
	static uint8_t buf[70000];
	char path[4300];
	size_t got, sizes[] = { 1, 4093, 16384, 65536, 70000 };
	uint64_t off;
	size_t k;

	v = open_view(s);
	snprintf(path, sizeof(path), "/snapshots/%s%s/big", snap_b, src);
	ck_assert_msg(dsb_fsview_open(v, path, &f) == 0, "open: %s", dsb_errmsg());
	ck_assert_uint_eq(dsb_fsview_file_size(f), BIG_SIZE);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		for (off = 0; off < BIG_SIZE + 10; off += 9973) {
			ck_assert_int_eq(dsb_fsview_read(v, f, buf, sizes[k], off, &got), 0);
			ck_assert_uint_eq(got, off >= BIG_SIZE ? 0 :
			    BIG_SIZE - off < sizes[k] ? BIG_SIZE - off : sizes[k]);
			ck_assert_msg(memcmp(buf, big + (off < BIG_SIZE ? off : 0), got) == 0,
			    "%zu bytes at %llu differ", sizes[k], (unsigned long long)off);
		}
	dsb_fsview_close(f);
	snprintf(path, sizeof(path), "/snapshots/%s%s/sub", snap_b, src);
	ck_assert_int_eq(dsb_fsview_open(v, path, &f), DSB_ERR_UNSUPPORTED);
	close_view(s, v);
}
END_TEST

static int long_name(void *arg, const struct dsb_node *n)
{
	if (strlen(n->name) > 100)
		snprintf(arg, 256, "%s", n->name);
	return strlen(n->name) > 200 ? -1 : 0;
}

START_TEST(test_long_names)
{
	struct dsb_session *s = open_session();
	struct dsb_fsview *v = NULL;
	char host[400], id[65], name[256] = "", path[300];
	struct names l;

	memset(host, 'h', 300);
	snprintf(host + 300, sizeof(host) - 300, "%%/x");
	backup(s, host, id);
	v = open_view(s);
	ck_assert_int_eq(dsb_fsview_readdir(v, "/by-host", long_name, name), 0);
	ck_assert_msg(strlen(name) > 100 && strlen(name) <= 200 && strchr(name, '~') != NULL, "%s", name);
	snprintf(path, sizeof(path), "/by-host/%s", name);
	ck_assert_str_eq(list(v, path, &l), "2023-11-14T22:13:20Z");
	close_view(s, v);
}
END_TEST

static int largest_pack(void *arg, const char *id_hex, uint64_t size)
{
	char *best = arg;
	static uint64_t best_size;

	if (best[0] == '\0' || size > best_size) {
		snprintf(best, 65, "%s", id_hex);
		best_size = size;
	}
	return 0;
}

START_TEST(test_damaged_pack)
{
	struct dsb_session *s = open_session();
	struct dsb_fsview *v = NULL;
	struct dsb_fsview_file *f = NULL;
	static uint8_t buf[8192];
	char pack[65] = "", path[4300];
	struct stat st;
	uint64_t off;
	size_t got;
	int fd, r, bad = 0, good = 0;
	uint8_t byte;

	ck_assert_int_eq(dsb_repo_list(s->repo, "data", largest_pack, pack), 0);
	snprintf(path, sizeof(path), "%s/data/%.2s/%s", url, pack, pack);
	ck_assert_int_eq(stat(path, &st), 0);
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &byte, 1, st.st_size / 2), 1);
	byte ^= 0x40;
	ck_assert_int_eq(pwrite(fd, &byte, 1, st.st_size / 2), 1);
	close(fd);

	v = open_view(s);
	snprintf(path, sizeof(path), "/snapshots/%s%s/big", snap_a, src);
	ck_assert_msg(dsb_fsview_open(v, path, &f) == 0, "open: %s", dsb_errmsg());
	for (off = 0; off < BIG_SIZE; off += sizeof(buf)) {
		memset(buf, 0, sizeof(buf));
		r = dsb_fsview_read(v, f, buf, sizeof(buf), off, &got);
		if (r != 0) {
			ck_assert_msg(r == DSB_ERR_AUTH || r == DSB_ERR_CORRUPT, "read: %d %s", r, dsb_errmsg());
			ck_assert_uint_eq(got, 0);
			bad++;
		} else {
			ck_assert(memcmp(buf, big + off, got) == 0);
			good++;
		}
	}
	ck_assert_int_ge(bad, 1);
	ck_assert_int_ge(good, 1);
	dsb_fsview_close(f);
	close_view(s, v);
}
END_TEST

static Suite *fsview_suite(void)
{
	Suite *s = suite_create("fsview");
	TCase *tc = tcase_create("view");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_virtual_tree);
	tcase_add_test(tc, test_snapshot_content);
	tcase_add_test(tc, test_ranged_reads);
	tcase_add_test(tc, test_damaged_pack);
	tcase_add_test(tc, test_long_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fsview_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
