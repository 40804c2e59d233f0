/* check_catalog.c: the SQLite catalog (src/catalog/). */
#include <check.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dsbackup/catalog.h"
#include "dsbackup/error.h"
#include "dsbackup/util.h"

#include "testutil.h"

#define REPO_ID "aa11bb22cc33dd44ee55ff6600778899aa11bb22cc33dd44ee55ff6600778899"
#define OTHER_REPO_ID "0011223344556677889900112233445566778899001122334455667788990011"

static char *tmpdir;
static char *dbpath;

static void setup(void)
{
	tmpdir = dsb_test_tmpdir();
	if (asprintf(&dbpath, "%s/cache/repo/catalog.db", tmpdir) < 0)
		abort();
}

static void teardown(void)
{
	dsb_test_rmrf(tmpdir);
	free(dbpath);
	free(tmpdir);
}

static struct dsb_catalog *open_catalog(void)
{
	struct dsb_catalog *c = NULL;
	int r = dsb_catalog_open(dbpath, REPO_ID, &c);

	ck_assert_msg(r == 0, "open: %d %s", r, dsb_errmsg());
	ck_assert_ptr_nonnull(c);
	return c;
}

static void make_id(uint8_t id[32], unsigned n)
{
	unsigned i;

	for (i = 0; i < 32; i++)
		id[i] = (uint8_t)(n >> (8 * (i % 4)) ^ (i * 37));
}

static struct dsb_blob_loc make_loc(unsigned pack, uint64_t offset, uint32_t len)
{
	struct dsb_blob_loc loc;

	memset(&loc, 0, sizeof(loc));
	make_id(loc.pack, pack);
	loc.offset = offset;
	loc.stored_len = len;
	loc.raw_len = len * 2;
	loc.type = 1;
	loc.comp = 2;
	return loc;
}

/* raw_exec(sql): change the catalog file behind dsbackup's back. */
static void raw_exec(const char *sql)
{
	sqlite3 *db = NULL;
	char *err = NULL;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK, "%s: %s", sql, err);
	sqlite3_close(db);
}

/* write_file(path, p, n, off): write ${n} bytes at ${off}, creating the file and its directory. */
static void write_file(const char *path, const void *p, size_t n, off_t off)
{
	char *dir = strdup(path);
	int fd;

	ck_assert_ptr_nonnull(dir);
	*strrchr(dir, '/') = '\0';
	ck_assert_int_eq(dsb_mkdir_p(dir, 0700), 0);
	free(dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, p, n, off), (ssize_t)n);
	close(fd);
}

/* ---- open ---- */

START_TEST(test_open_creates_private_file)
{
	struct dsb_catalog *c;
	struct stat st;
	char *dir, *wal;
	uint8_t id[32];
	struct dsb_blob_loc loc = make_loc(1, 0, 10);
	mode_t old_umask = umask(0);  /* the catalog must not rely on the umask */

	c = open_catalog();
	make_id(id, 1);
	ck_assert_int_eq(dsb_catalog_add_blob(c, id, &loc), 0);
	ck_assert_int_eq(stat(dbpath, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_ne(asprintf(&wal, "%s-wal", dbpath), -1);
	ck_assert_int_eq(stat(wal, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_ne(asprintf(&dir, "%s/cache", tmpdir), -1);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	dsb_catalog_close(c);
	umask(old_umask);
	free(dir);
	free(wal);
}
END_TEST

START_TEST(test_open_fixes_mode)
{
	struct dsb_catalog *c;
	struct stat st;

	c = open_catalog();
	dsb_catalog_close(c);
	ck_assert_int_eq(chmod(dbpath, 0644), 0);
	c = open_catalog();
	ck_assert_int_eq(stat(dbpath, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	dsb_catalog_close(c);
	dsb_catalog_close(NULL);
}
END_TEST

START_TEST(test_reopen_keeps_data)
{
	struct dsb_catalog *c = open_catalog();
	struct dsb_blob_loc loc = make_loc(7, 123, 456), got;
	uint8_t id[32];

	make_id(id, 42);
	ck_assert_int_eq(dsb_catalog_add_blob(c, id, &loc), 0);
	ck_assert_int_eq(dsb_catalog_add_index(c, "idx1"), 0);
	dsb_catalog_close(c);
	c = open_catalog();
	ck_assert_int_eq(dsb_catalog_find_blob(c, id, &got), 0);
	ck_assert_mem_eq(got.pack, loc.pack, 32);
	ck_assert_uint_eq(got.offset, 123);
	ck_assert_int_eq(dsb_catalog_has_index(c, "idx1"), 1);
	dsb_catalog_close(c);
}
END_TEST

START_TEST(test_wrong_repo_id)
{
	struct dsb_catalog *c = open_catalog();

	dsb_catalog_close(c);
	c = (struct dsb_catalog *)1;
	ck_assert_int_eq(dsb_catalog_open(dbpath, OTHER_REPO_ID, &c), DSB_ERR_CORRUPT);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "belongs to repository " REPO_ID ", not "
	    OTHER_REPO_ID));
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), dbpath));
}
END_TEST

START_TEST(test_garbage_file)
{
	struct dsb_catalog *c = NULL;
	uint8_t junk[8192];
	uint32_t x = 12345;
	size_t i;

	for (i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245 + 12345;
		junk[i] = (uint8_t)(x >> 16);
	}
	write_file(dbpath, junk, sizeof(junk), 0);
	ck_assert_int_eq(dsb_catalog_open(dbpath, REPO_ID, &c), DSB_ERR_CORRUPT);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), dbpath));
}
END_TEST

START_TEST(test_damaged_pages)
{
	struct dsb_catalog *c = open_catalog();
	struct dsb_blob_loc loc = make_loc(1, 0, 10);
	uint8_t id[32], zeros[4096];
	unsigned i;

	ck_assert_int_eq(dsb_catalog_begin(c), 0);
	for (i = 0; i < 2000; i++) {
		make_id(id, i);
		loc.offset = i;
		ck_assert_int_eq(dsb_catalog_add_blob(c, id, &loc), 0);
	}
	ck_assert_int_eq(dsb_catalog_commit(c), 0);
	dsb_catalog_close(c);  /* the last connection checkpoints the WAL into the file */
	/*
	 * Zero pages of the blobs tree only: the pages open reads for its own
	 * work (schema, meta) stay intact, so only quick_check can notice.
	 */
	memset(zeros, 0, sizeof(zeros));
	for (i = 20; i < 30; i++)
		write_file(dbpath, zeros, sizeof(zeros), (off_t)i * 4096);
	c = NULL;
	ck_assert_int_eq(dsb_catalog_open(dbpath, REPO_ID, &c), DSB_ERR_CORRUPT);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), dbpath));
}
END_TEST

START_TEST(test_newer_schema)
{
	struct dsb_catalog *c = open_catalog();
	char want[64];

	dsb_catalog_close(c);
	raw_exec("PRAGMA user_version = 999");
	c = NULL;
	ck_assert_int_eq(dsb_catalog_open(dbpath, REPO_ID, &c), DSB_ERR_CORRUPT);
	ck_assert_ptr_null(c);
	snprintf(want, sizeof(want), "newer than this dsbackup (%d)", DSB_CATALOG_SCHEMA_VERSION);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "has schema version 999"));
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), want));
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), dbpath));
}
END_TEST

START_TEST(test_sqlite_error_names_path)
{
	struct dsb_catalog *c = open_catalog();
	char *want;

	ck_assert_int_eq(dsb_catalog_begin(c), 0);
	ck_assert_int_eq(dsb_catalog_begin(c), DSB_ERR_CATALOG);
	ck_assert_int_ne(asprintf(&want, "catalog %s: starting a transaction: ", dbpath), -1);
	ck_assert_msg(strncmp(dsb_errmsg(), want, strlen(want)) == 0, "%s", dsb_errmsg());
	dsb_catalog_rollback(c);
	dsb_catalog_rollback(c);  /* nothing open: harmless */
	dsb_catalog_close(c);
	free(want);
}
END_TEST

/* ---- index ---- */

START_TEST(test_blob_add_find)
{
	struct dsb_catalog *c = open_catalog();
	struct dsb_blob_loc loc = make_loc(3, 1000, 77), got;
	uint8_t id[32], missing[32];

	loc.offset = (uint64_t)1 << 40;
	loc.stored_len = UINT32_MAX;
	loc.raw_len = 5;
	loc.type = 255;
	loc.comp = 0;
	make_id(id, 9);
	make_id(missing, 10);
	ck_assert_int_eq(dsb_catalog_find_blob(c, id, &got), DSB_ERR_NOT_FOUND);
	ck_assert_int_eq(dsb_catalog_add_blob(c, id, &loc), 0);
	memset(&got, 0xee, sizeof(got));
	ck_assert_int_eq(dsb_catalog_find_blob(c, id, &got), 0);
	ck_assert_mem_eq(got.pack, loc.pack, 32);
	ck_assert_uint_eq(got.offset, (uint64_t)1 << 40);
	ck_assert_uint_eq(got.stored_len, UINT32_MAX);
	ck_assert_uint_eq(got.raw_len, 5);
	ck_assert_uint_eq(got.type, 255);
	ck_assert_uint_eq(got.comp, 0);
	ck_assert_int_eq(dsb_catalog_find_blob(c, id, NULL), 0);
	ck_assert_int_eq(dsb_catalog_find_blob(c, missing, NULL), DSB_ERR_NOT_FOUND);
	ck_assert_int_eq(dsb_catalog_find_blob(c, missing, &got), DSB_ERR_NOT_FOUND);
	dsb_catalog_close(c);
}
END_TEST

START_TEST(test_blob_add_twice_keeps_first)
{
	struct dsb_catalog *c = open_catalog();
	struct dsb_blob_loc first = make_loc(1, 100, 10), second = make_loc(2, 200, 20), got;
	uint8_t id[32];
	uint64_t blobs = 0;

	make_id(id, 5);
	ck_assert_int_eq(dsb_catalog_add_blob(c, id, &first), 0);
	ck_assert_int_eq(dsb_catalog_add_blob(c, id, &second), 0);
	ck_assert_int_eq(dsb_catalog_find_blob(c, id, &got), 0);
	ck_assert_mem_eq(got.pack, first.pack, 32);
	ck_assert_uint_eq(got.offset, 100);
	ck_assert_int_eq(dsb_catalog_count(c, NULL, &blobs), 0);
	ck_assert_uint_eq(blobs, 1);
	dsb_catalog_close(c);
}
END_TEST

/* tamper(sql): change one blob row, then find_blob must refuse it. */
static void check_tampered_blob(const char *sql)
{
	struct dsb_catalog *c = open_catalog();
	struct dsb_blob_loc loc = make_loc(1, 100, 10);
	uint8_t id[32];

	make_id(id, 5);
	ck_assert_int_eq(dsb_catalog_add_blob(c, id, &loc), 0);
	raw_exec(sql);
	ck_assert_int_eq(dsb_catalog_find_blob(c, id, &loc), DSB_ERR_CORRUPT);
	ck_assert_int_eq(dsb_catalog_find_blob(c, id, NULL), DSB_ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), dbpath));
	dsb_catalog_close(c);
}

START_TEST(test_blob_untrusted_columns)
{
	check_tampered_blob("UPDATE blobs SET pack = x'0102'");
}
END_TEST

START_TEST(test_blob_untrusted_text_pack)
{
	check_tampered_blob("UPDATE blobs SET pack = 'abcdefghabcdefghabcdefghabcdefgh'");
}
END_TEST

START_TEST(test_blob_untrusted_range)
{
	check_tampered_blob("UPDATE blobs SET stored_len = 4294967296");
}
END_TEST

START_TEST(test_blob_untrusted_negative)
{
	check_tampered_blob("UPDATE blobs SET offset = -1");
}
END_TEST

static struct dsb_pack_info make_pack(unsigned n, uint64_t size)
{
	struct dsb_pack_info p;

	make_id(p.id, n);
	p.size = size;
	memset(p.key_id, (int)n, sizeof(p.key_id));
	memset(p.salt, (int)n + 1, sizeof(p.salt));
	return p;
}

static int collect_pack(void *arg, const struct dsb_pack_info *p)
{
	struct dsb_pack_info *seen = arg;
	int i;

	for (i = 0; seen[i].size != 0; i++)
		;
	seen[i] = *p;
	return 0;
}

START_TEST(test_packs)
{
	struct dsb_catalog *c = open_catalog();
	struct dsb_pack_info a = make_pack(1, 1000), b = make_pack(2, 2000), got, seen[4];
	uint8_t missing[32];
	uint64_t packs = 0;

	make_id(missing, 3);
	ck_assert_int_eq(dsb_catalog_add_pack(c, &a), 0);
	ck_assert_int_eq(dsb_catalog_add_pack(c, &b), 0);
	ck_assert_int_eq(dsb_catalog_get_pack(c, a.id, &got), 0);
	ck_assert_mem_eq(&got, &a, sizeof(a));
	ck_assert_int_eq(dsb_catalog_get_pack(c, missing, &got), DSB_ERR_NOT_FOUND);
	/* insert or replace */
	b.size = 2500;
	ck_assert_int_eq(dsb_catalog_add_pack(c, &b), 0);
	ck_assert_int_eq(dsb_catalog_get_pack(c, b.id, &got), 0);
	ck_assert_uint_eq(got.size, 2500);
	ck_assert_int_eq(dsb_catalog_count(c, &packs, NULL), 0);
	ck_assert_uint_eq(packs, 2);
	memset(seen, 0, sizeof(seen));
	ck_assert_int_eq(dsb_catalog_foreach_pack(c, collect_pack, seen), 0);
	ck_assert_uint_ne(seen[0].size, 0);
	ck_assert_uint_ne(seen[1].size, 0);
	ck_assert_uint_eq(seen[2].size, 0);
	ck_assert_int_lt(memcmp(seen[0].id, seen[1].id, 32), 0);  /* id order */
	raw_exec("UPDATE packs SET key_id = x'00'");
	ck_assert_int_eq(dsb_catalog_get_pack(c, a.id, &got), DSB_ERR_CORRUPT);
	dsb_catalog_close(c);
}
END_TEST

struct blob_list {
	uint64_t offsets[8];
	int n;
	int stop_after;
};

static int collect_blob(void *arg, const uint8_t id[32], const struct dsb_blob_loc *loc)
{
	struct blob_list *l = arg;
	uint8_t want[32];

	make_id(want, (unsigned)loc->offset);
	ck_assert_mem_eq(id, want, 32);
	l->offsets[l->n++] = loc->offset;
	return l->n == l->stop_after ? 42 : 0;
}

START_TEST(test_blobs_in_pack_offset_order)
{
	struct dsb_catalog *c = open_catalog();
	static const uint64_t offsets[] = { 500, 20, 3000, 0, 77 };
	struct blob_list l;
	struct dsb_blob_loc loc;
	uint8_t id[32], pack[32];
	uint64_t packs = 9, blobs = 0;
	size_t i;

	for (i = 0; i < 5; i++) {
		loc = make_loc(1, offsets[i], 10);
		make_id(id, (unsigned)offsets[i]);
		ck_assert_int_eq(dsb_catalog_add_blob(c, id, &loc), 0);
	}
	loc = make_loc(2, 10, 10);  /* another pack */
	make_id(id, 99999);
	ck_assert_int_eq(dsb_catalog_add_blob(c, id, &loc), 0);
	make_id(pack, 1);
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(dsb_catalog_foreach_blob_in_pack(c, pack, collect_blob, &l), 0);
	ck_assert_int_eq(l.n, 5);
	ck_assert_uint_eq(l.offsets[0], 0);
	ck_assert_uint_eq(l.offsets[1], 20);
	ck_assert_uint_eq(l.offsets[2], 77);
	ck_assert_uint_eq(l.offsets[3], 500);
	ck_assert_uint_eq(l.offsets[4], 3000);
	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	ck_assert_int_eq(dsb_catalog_foreach_blob_in_pack(c, pack, collect_blob, &l), 42);
	ck_assert_int_eq(l.n, 2);
	ck_assert_int_eq(dsb_catalog_count(c, &packs, &blobs), 0);
	ck_assert_uint_eq(packs, 0);
	ck_assert_uint_eq(blobs, 6);
	dsb_catalog_close(c);
}
END_TEST

START_TEST(test_index_objects)
{
	struct dsb_catalog *c = open_catalog();

	ck_assert_int_eq(dsb_catalog_has_index(c, "abcd"), 0);
	ck_assert_int_eq(dsb_catalog_add_index(c, "abcd"), 0);
	ck_assert_int_eq(dsb_catalog_add_index(c, "abcd"), 0);
	ck_assert_int_eq(dsb_catalog_has_index(c, "abcd"), 1);
	ck_assert_int_eq(dsb_catalog_has_index(c, "abce"), 0);
	dsb_catalog_close(c);
}
END_TEST

/* ---- snapshots ---- */

/* snap_id(out, head, fill): ${head} followed by ${fill} up to 64 hex digits. */
static void snap_id(char out[65], const char *head, char fill)
{
	size_t n = strlen(head);

	memcpy(out, head, n);
	memset(out + n, fill, 64 - n);
	out[64] = '\0';
}

static void add_snapshot(struct dsb_catalog *c, const char *id, int64_t sec, long nsec)
{
	struct dsb_catalog_snapshot s = { id, sec, nsec, "host1", "{\"x\":1}" };

	ck_assert_msg(dsb_catalog_add_snapshot(c, &s) == 0, "%s", dsb_errmsg());
}

struct snap_list {
	char ids[8][65];
	int n;
};

static int collect_snapshot(void *arg, const struct dsb_catalog_snapshot *s)
{
	struct snap_list *l = arg;

	ck_assert_str_eq(s->host, "host1");
	ck_assert_str_eq(s->json, "{\"x\":1}");
	memcpy(l->ids[l->n++], s->id, 65);
	return 0;
}

START_TEST(test_snapshots_order_and_json)
{
	struct dsb_catalog *c = open_catalog();
	char a[65], b[65], d[65], e[65], *json = NULL;
	struct snap_list l;

	snap_id(a, "aaaaaaaa", '0');
	snap_id(b, "bbbbbbbb", '0');
	snap_id(d, "dddddddd", '0');
	snap_id(e, "eeeeeeee", '0');
	add_snapshot(c, e, 100, 5);
	add_snapshot(c, a, 300, 0);
	add_snapshot(c, d, 100, 5);  /* same time as e: id decides */
	add_snapshot(c, b, 100, 4);
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(dsb_catalog_foreach_snapshot(c, collect_snapshot, &l), 0);
	ck_assert_int_eq(l.n, 4);
	ck_assert_str_eq(l.ids[0], b);
	ck_assert_str_eq(l.ids[1], d);
	ck_assert_str_eq(l.ids[2], e);
	ck_assert_str_eq(l.ids[3], a);
	ck_assert_int_eq(dsb_catalog_has_snapshot(c, a), 1);
	ck_assert_int_eq(dsb_catalog_get_snapshot_json(c, a, &json), 0);
	ck_assert_str_eq(json, "{\"x\":1}");
	free(json);
	snap_id(a, "aaaaaaab", '0');
	ck_assert_int_eq(dsb_catalog_has_snapshot(c, a), 0);
	ck_assert_int_eq(dsb_catalog_get_snapshot_json(c, a, &json), DSB_ERR_NOT_FOUND);
	ck_assert_ptr_null(json);
	dsb_catalog_close(c);
}
END_TEST

START_TEST(test_snapshot_bad_id_rejected)
{
	struct dsb_catalog *c = open_catalog();
	struct dsb_catalog_snapshot s = { "not-hex", 1, 0, "h", "{}" };

	ck_assert_int_eq(dsb_catalog_add_snapshot(c, &s), DSB_ERR_CORRUPT);
	dsb_catalog_close(c);
}
END_TEST

START_TEST(test_resolve)
{
	struct dsb_catalog *c = open_catalog();
	char a[65], b[65], x[65], y[65], out[65];

	ck_assert_int_eq(dsb_catalog_resolve_snapshot(c, "latest", out), DSB_ERR_NOT_FOUND);
	ck_assert_str_eq(dsb_errmsg(), "repository has no snapshots");
	snap_id(a, "deadbeef1", '1');
	snap_id(b, "deadbeef0", '2');  /* shares 8 digits with a */
	snap_id(x, "0123456789", 'f');
	snap_id(y, "ffffffff", 'f');
	add_snapshot(c, a, 100, 0);
	add_snapshot(c, b, 100, 1);  /* newest by nanoseconds, though its id is smaller */
	add_snapshot(c, x, 50, 999999999);
	ck_assert_int_eq(dsb_catalog_resolve_snapshot(c, "latest", out), 0);
	ck_assert_str_eq(out, b);
	ck_assert_int_eq(dsb_catalog_resolve_snapshot(c, a, out), 0);
	ck_assert_str_eq(out, a);
	ck_assert_int_eq(dsb_catalog_resolve_snapshot(c, "01234567", out), 0);
	ck_assert_str_eq(out, x);
	ck_assert_int_eq(dsb_catalog_resolve_snapshot(c, "DEADBEEF1", out), 0);
	ck_assert_str_eq(out, a);
	ck_assert_int_eq(dsb_catalog_resolve_snapshot(c, "deadbeef", out), DSB_ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "matches 2 snapshots"));
	ck_assert_int_eq(dsb_catalog_resolve_snapshot(c, "deadbee", out), DSB_ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "snapshot id prefix must have at least 8 hex digits"));
	ck_assert_int_eq(dsb_catalog_resolve_snapshot(c, "deadbeeg", out), DSB_ERR_USAGE);
	ck_assert_int_eq(dsb_catalog_resolve_snapshot(c, "", out), DSB_ERR_USAGE);
	ck_assert_int_eq(dsb_catalog_resolve_snapshot(c, "Latest", out), DSB_ERR_USAGE);
	ck_assert_int_eq(dsb_catalog_resolve_snapshot(c, "cafef00d", out), DSB_ERR_NOT_FOUND);
	ck_assert_str_eq(dsb_errmsg(), "no snapshot matches \"cafef00d\"");
	/* no match past the end of an id */
	ck_assert_int_eq(dsb_catalog_resolve_snapshot(c, "deadbeef12", out), DSB_ERR_NOT_FOUND);
	ck_assert_int_eq(dsb_catalog_resolve_snapshot(c, "0123456789fffffffffffffffffffffffffffff"
	    "fffffffffffffffffffffffff0", out), DSB_ERR_NOT_FOUND);
	/* same time as b: the greater id is the latest */
	add_snapshot(c, y, 100, 1);
	ck_assert_int_eq(dsb_catalog_resolve_snapshot(c, "latest", out), 0);
	ck_assert_str_eq(out, y);
	dsb_catalog_close(c);
}
END_TEST

struct file_list {
	char paths[16][32];
	int n;
};

static int collect_file(void *arg, const struct dsb_catalog_file *f)
{
	struct file_list *l = arg;

	ck_assert_int_lt(l->n, 16);
	snprintf(l->paths[l->n++], sizeof(l->paths[0]), "%s", f->path);
	return 0;
}

/* entry(c, tree, name, subtree): a file (subtree 0) or a directory of tree make_id(tree). */
static void entry(struct dsb_catalog *c, unsigned tree, const char *name, unsigned subtree)
{
	struct dsb_catalog_entry e = { name, subtree != 0 ? 2 : 1, 0644, 1234, 1700000000, NULL };
	uint8_t t[32], sub[32];

	make_id(t, tree);
	make_id(sub, subtree);
	e.subtree = subtree != 0 ? sub : NULL;
	ck_assert_int_eq(dsb_catalog_add_tree_entry(c, t, &e), 0);
}

/* tree_listed(c, tree): mark tree make_id(tree) listed. */
static void tree_listed(struct dsb_catalog *c, unsigned tree)
{
	uint8_t t[32];

	make_id(t, tree);
	ck_assert_int_eq(dsb_catalog_set_tree_listed(c, t), 0);
	ck_assert_int_eq(dsb_catalog_tree_is_listed(c, t), 1);
}

/* snap_listed(c, snap, root): snapshot ${snap} listed with root tree make_id(root). */
static void snap_listed(struct dsb_catalog *c, const char *snap, unsigned root)
{
	uint8_t t[32];

	make_id(t, root);
	ck_assert_int_eq(dsb_catalog_set_listed(c, snap, t), 0);
}

/* list(c, snap, prefix): the paths foreach_file returns, joined by spaces. */
static char *list(struct dsb_catalog *c, const char *snap, const char *prefix)
{
	static char out[512];
	struct file_list l;
	int i;

	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(dsb_catalog_foreach_file(c, snap, prefix, collect_file, &l), 0);
	out[0] = '\0';
	for (i = 0; i < l.n; i++) {
		strcat(out, i > 0 ? " " : "");
		strcat(out, l.paths[i]);
	}
	return out;
}

/* counts(c): "trees entries" stored. */
static char *counts(struct dsb_catalog *c)
{
	static char out[64];
	uint64_t trees = 0, entries = 0;

	ck_assert_int_eq(dsb_catalog_count_tree_entries(c, &trees, &entries), 0);
	snprintf(out, sizeof(out), "%llu %llu", (unsigned long long)trees,
	    (unsigned long long)entries);
	return out;
}

/*
 * Tree 1: a/ (tree 2), ab/ (tree 3), a.b, b, a0, "a\xff\xfe"; tree 2: x, y/ (tree 4);
 * tree 3: c; tree 4: z.
 */
static void add_sample_trees(struct dsb_catalog *c)
{
	entry(c, 4, "z", 0);
	tree_listed(c, 4);
	entry(c, 2, "x", 0);
	entry(c, 2, "y", 4);
	tree_listed(c, 2);
	entry(c, 3, "c", 0);
	tree_listed(c, 3);
	entry(c, 1, "a", 2);
	entry(c, 1, "ab", 3);
	entry(c, 1, "a.b", 0);
	entry(c, 1, "b", 0);
	entry(c, 1, "a0", 0);
	entry(c, 1, "a\xff\xfe", 0);
	tree_listed(c, 1);
}

START_TEST(test_files_prefix)
{
	struct dsb_catalog *c = open_catalog();
	char s[65], other[65], unlisted[65];

	snap_id(s, "11111111", '1');
	snap_id(other, "22222222", '2');
	snap_id(unlisted, "88888888", '8');
	add_snapshot(c, s, 1, 0);
	add_snapshot(c, other, 2, 0);
	add_snapshot(c, unlisted, 3, 0);
	add_sample_trees(c);
	entry(c, 5, "other", 2);   /* shares tree 2 */
	tree_listed(c, 5);
	snap_listed(c, s, 1);
	snap_listed(c, other, 5);
	ck_assert_str_eq(list(c, s, "/a"), "/a /a/x /a/y /a/y/z");
	ck_assert_str_eq(list(c, s, "/a/"), "/a /a/x /a/y /a/y/z");
	ck_assert_str_eq(list(c, s, "//a//y/"), "/a/y /a/y/z");
	ck_assert_str_eq(list(c, s, "/ab"), "/ab /ab/c");
	ck_assert_str_eq(list(c, s, "/a/y/z"), "/a/y/z");
	ck_assert_str_eq(list(c, s, "/a/y"), "/a/y /a/y/z");
	ck_assert_str_eq(list(c, s, "/a.b"), "/a.b");
	ck_assert_str_eq(list(c, s, "/c"), "");
	ck_assert_str_eq(list(c, s, "/a/x/z"), "");   /* x is no directory */
	ck_assert_str_eq(list(c, s, "/q/y"), "");
	/* byte order of whole paths: '.' < '/' < '0' < 'b' < 0xff */
	ck_assert_str_eq(list(c, s, "/"),
	    "/a /a.b /a/x /a/y /a/y/z /a0 /ab /ab/c /a\xff\xfe /b");
	ck_assert_str_eq(list(c, s, NULL), list(c, s, "/"));
	ck_assert_str_eq(list(c, s, ""), list(c, s, "/"));
	ck_assert_str_eq(list(c, other, "/"), "/other /other/x /other/y /other/y/z");
	ck_assert_str_eq(list(c, other, "/other/y"), "/other/y /other/y/z");
	ck_assert_str_eq(list(c, unlisted, "/"), "");
	dsb_catalog_close(c);
}
END_TEST

static int stop_file(void *arg, const struct dsb_catalog_file *f)
{
	const struct dsb_catalog_file *want = arg;

	ck_assert_str_eq(f->path, want->path);
	ck_assert_int_eq(f->type, want->type);
	ck_assert_uint_eq(f->mode, want->mode);
	ck_assert_uint_eq(f->size, want->size);
	ck_assert_int_eq(f->mtime, want->mtime);
	return -7;
}

START_TEST(test_files_fields)
{
	struct dsb_catalog *c = open_catalog();
	struct dsb_catalog_file f = { "/srv/data/a.txt", 3, 04755, (uint64_t)1 << 40, -5 };
	struct dsb_catalog_entry e = { "a.txt", 3, 04755, (uint64_t)1 << 40, -5, NULL };
	char s[65];
	uint8_t t[32];

	snap_id(s, "33333333", '3');
	add_snapshot(c, s, 1, 0);
	make_id(t, 3);
	ck_assert_int_eq(dsb_catalog_add_tree_entry(c, t, &e), 0);
	entry(c, 2, "data", 3);
	entry(c, 1, "srv", 2);
	snap_listed(c, s, 1);
	ck_assert_int_eq(dsb_catalog_foreach_file(c, s, "/srv/data/a.txt", stop_file, &f), -7);
	/* names are one component */
	e.name = "a/b";
	ck_assert_int_eq(dsb_catalog_add_tree_entry(c, t, &e), DSB_ERR_CORRUPT);
	e.name = "";
	ck_assert_int_eq(dsb_catalog_add_tree_entry(c, t, &e), DSB_ERR_CORRUPT);
	dsb_catalog_close(c);
}
END_TEST

START_TEST(test_shared_trees_and_sweep)
{
	struct dsb_catalog *c = open_catalog();
	char s[65], t[65];

	snap_id(s, "33333333", '3');
	snap_id(t, "44444444", '4');
	add_snapshot(c, s, 1, 0);
	add_snapshot(c, t, 2, 0);
	add_sample_trees(c);
	snap_listed(c, s, 1);
	ck_assert_str_eq(counts(c), "4 10");
	/* the second snapshot changed only its root: tree 2 is shared, stored once */
	entry(c, 6, "a", 2);
	entry(c, 6, "new", 0);
	entry(c, 2, "x", 0);   /* written again: still one row */
	tree_listed(c, 6);
	snap_listed(c, t, 6);
	ck_assert_str_eq(counts(c), "5 12");
	ck_assert_str_eq(list(c, t, "/"), "/a /a/x /a/y /a/y/z /new");
	/* removal nests inside a caller's transaction and rolls back with it */
	ck_assert_int_eq(dsb_catalog_begin(c), 0);
	ck_assert_int_eq(dsb_catalog_remove_snapshot(c, t), 0);
	ck_assert_int_eq(dsb_catalog_has_snapshot(c, t), 0);
	ck_assert_str_eq(counts(c), "4 10");
	dsb_catalog_rollback(c);
	ck_assert_int_eq(dsb_catalog_has_snapshot(c, t), 1);
	ck_assert_str_eq(counts(c), "5 12");
	/* the first goes: its root and tree 3 go, the shared trees stay */
	ck_assert_int_eq(dsb_catalog_remove_snapshot(c, s), 0);
	ck_assert_int_eq(dsb_catalog_has_snapshot(c, s), 0);
	ck_assert_str_eq(counts(c), "3 5");
	ck_assert_str_eq(list(c, s, NULL), "");
	ck_assert_str_eq(list(c, t, NULL), "/a /a/x /a/y /a/y/z /new");
	ck_assert_int_eq(dsb_catalog_remove_snapshot(c, s), 0);  /* already gone: fine */
	ck_assert_int_eq(dsb_catalog_remove_snapshot(c, t), 0);
	ck_assert_str_eq(counts(c), "0 0");
	dsb_catalog_close(c);
}
END_TEST

START_TEST(test_listed)
{
	struct dsb_catalog *c = open_catalog();
	char s[65], unknown[65];
	uint8_t t[32];

	snap_id(s, "55555555", '5');
	snap_id(unknown, "66666666", '6');
	make_id(t, 9);
	add_snapshot(c, s, 1, 0);
	ck_assert_int_eq(dsb_catalog_is_listed(c, s), 0);
	ck_assert_int_eq(dsb_catalog_tree_is_listed(c, t), 0);
	ck_assert_int_eq(dsb_catalog_set_listed(c, s, t), 0);
	ck_assert_int_eq(dsb_catalog_is_listed(c, s), 1);
	add_snapshot(c, s, 1, 0);  /* replacing the row keeps the flag */
	ck_assert_int_eq(dsb_catalog_is_listed(c, s), 1);
	ck_assert_int_eq(dsb_catalog_is_listed(c, unknown), 0);
	ck_assert_int_eq(dsb_catalog_set_listed(c, unknown, t), DSB_ERR_NOT_FOUND);
	dsb_catalog_close(c);
	c = open_catalog();
	ck_assert_int_eq(dsb_catalog_is_listed(c, s), 1);
	dsb_catalog_close(c);
}
END_TEST

/* A version 2 catalog: its per-snapshot listing is dropped, to be rebuilt per tree. */
START_TEST(test_migrate_from_v2)
{
	struct dsb_catalog *c = open_catalog();
	char s[65];

	snap_id(s, "55555555", '5');
	add_snapshot(c, s, 1, 0);
	snap_listed(c, s, 1);
	dsb_catalog_close(c);
	raw_exec("DROP TABLE tree_entries; DROP TABLE trees_listed; "
	    "ALTER TABLE snapshots DROP COLUMN tree; "
	    "CREATE TABLE files(snapshot TEXT NOT NULL, path TEXT NOT NULL, type INTEGER NOT NULL, "
	    "mode INTEGER NOT NULL, size INTEGER NOT NULL, mtime INTEGER NOT NULL, "
	    "PRIMARY KEY(snapshot, path)) WITHOUT ROWID; PRAGMA user_version = 2");
	c = open_catalog();
	ck_assert_int_eq(dsb_catalog_has_snapshot(c, s), 1);
	ck_assert_int_eq(dsb_catalog_is_listed(c, s), 0);
	ck_assert_str_eq(counts(c), "0 0");
	dsb_catalog_close(c);
}
END_TEST

/* ---- transactions, clear, concurrency, volume ---- */

START_TEST(test_transactions)
{
	struct dsb_catalog *c = open_catalog();
	struct dsb_blob_loc loc = make_loc(1, 0, 10);
	uint8_t a[32], b[32];

	make_id(a, 1);
	make_id(b, 2);
	ck_assert_int_eq(dsb_catalog_begin(c), 0);
	ck_assert_int_eq(dsb_catalog_add_blob(c, a, &loc), 0);
	ck_assert_int_eq(dsb_catalog_find_blob(c, a, NULL), 0);
	dsb_catalog_rollback(c);
	ck_assert_int_eq(dsb_catalog_find_blob(c, a, NULL), DSB_ERR_NOT_FOUND);
	ck_assert_int_eq(dsb_catalog_begin(c), 0);
	ck_assert_int_eq(dsb_catalog_add_blob(c, b, &loc), 0);
	ck_assert_int_eq(dsb_catalog_commit(c), 0);
	dsb_catalog_close(c);
	c = open_catalog();
	ck_assert_int_eq(dsb_catalog_find_blob(c, a, NULL), DSB_ERR_NOT_FOUND);
	ck_assert_int_eq(dsb_catalog_find_blob(c, b, NULL), 0);
	/* closing inside a transaction discards it */
	ck_assert_int_eq(dsb_catalog_begin(c), 0);
	ck_assert_int_eq(dsb_catalog_add_blob(c, a, &loc), 0);
	dsb_catalog_close(c);
	c = open_catalog();
	ck_assert_int_eq(dsb_catalog_find_blob(c, a, NULL), DSB_ERR_NOT_FOUND);
	dsb_catalog_close(c);
}
END_TEST

START_TEST(test_clear_keeps_meta)
{
	struct dsb_catalog *c = open_catalog();
	struct dsb_pack_info p = make_pack(1, 10);
	struct dsb_blob_loc loc = make_loc(1, 0, 10);
	struct snap_list l;
	uint64_t packs = 1, blobs = 1;
	char s[65];

	snap_id(s, "77777777", '7');
	ck_assert_int_eq(dsb_catalog_add_pack(c, &p), 0);
	ck_assert_int_eq(dsb_catalog_add_blob(c, p.id, &loc), 0);
	ck_assert_int_eq(dsb_catalog_add_index(c, "i"), 0);
	add_snapshot(c, s, 1, 0);
	entry(c, 1, "x", 0);
	tree_listed(c, 1);
	snap_listed(c, s, 1);
	ck_assert_int_eq(dsb_catalog_clear(c), 0);
	ck_assert_str_eq(counts(c), "0 0");
	ck_assert_int_eq(dsb_catalog_count(c, &packs, &blobs), 0);
	ck_assert_uint_eq(packs, 0);
	ck_assert_uint_eq(blobs, 0);
	ck_assert_int_eq(dsb_catalog_has_index(c, "i"), 0);
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(dsb_catalog_foreach_snapshot(c, collect_snapshot, &l), 0);
	ck_assert_int_eq(l.n, 0);
	ck_assert_str_eq(list(c, s, NULL), "");
	dsb_catalog_close(c);
	c = NULL;
	ck_assert_int_eq(dsb_catalog_open(dbpath, OTHER_REPO_ID, &c), DSB_ERR_CORRUPT);
}
END_TEST

START_TEST(test_many_blobs_one_transaction)
{
	struct dsb_catalog *c = open_catalog();
	struct dsb_blob_loc loc = make_loc(1, 0, 100);
	uint8_t id[32];
	uint64_t blobs = 0;
	unsigned i;

	ck_assert_int_eq(dsb_catalog_begin(c), 0);
	for (i = 0; i < 50000; i++) {
		make_id(id, i);
		ck_assert_int_eq(dsb_catalog_find_blob(c, id, NULL), DSB_ERR_NOT_FOUND);
		loc.offset = (uint64_t)i * 100;
		ck_assert_int_eq(dsb_catalog_add_blob(c, id, &loc), 0);
	}
	ck_assert_int_eq(dsb_catalog_commit(c), 0);
	ck_assert_int_eq(dsb_catalog_count(c, NULL, &blobs), 0);
	ck_assert_uint_eq(blobs, 50000);
	make_id(id, 31337);
	ck_assert_int_eq(dsb_catalog_find_blob(c, id, &loc), 0);
	ck_assert_uint_eq(loc.offset, 3133700);
	dsb_catalog_close(c);
}
END_TEST

struct commit_during_read {
	struct dsb_catalog *writer;
	int rows;
};

static int commit_in_callback(void *arg, const uint8_t id[32], const struct dsb_blob_loc *loc)
{
	struct commit_during_read *w = arg;

	(void)id;
	(void)loc;
	/* The reader holds a read transaction here; only WAL lets the writer commit now. */
	if (w->rows++ == 0)
		ck_assert_msg(dsb_catalog_commit(w->writer) == 0, "%s", dsb_errmsg());
	return 0;
}

START_TEST(test_two_handles_wal)
{
	struct dsb_catalog *writer = open_catalog(), *reader;
	struct dsb_blob_loc loc = make_loc(1, 0, 10);
	struct commit_during_read w;
	uint8_t old[32], old2[32], fresh[32];

	make_id(old, 1);
	make_id(old2, 3);
	make_id(fresh, 2);
	ck_assert_int_eq(dsb_catalog_add_blob(writer, old, &loc), 0);
	loc.offset = 10;
	ck_assert_int_eq(dsb_catalog_add_blob(writer, old2, &loc), 0);
	ck_assert_int_eq(dsb_catalog_begin(writer), 0);
	loc.offset = 20;
	ck_assert_int_eq(dsb_catalog_add_blob(writer, fresh, &loc), 0);
	/* Opening must not need the write lock the writer holds. */
	reader = open_catalog();
	ck_assert_int_eq(dsb_catalog_find_blob(reader, old, NULL), 0);
	ck_assert_int_eq(dsb_catalog_find_blob(reader, fresh, NULL), DSB_ERR_NOT_FOUND);
	w.writer = writer;
	w.rows = 0;
	ck_assert_int_eq(dsb_catalog_foreach_blob_in_pack(reader, loc.pack, commit_in_callback, &w), 0);
	ck_assert_int_eq(w.rows, 2);  /* the iteration kept its snapshot */
	ck_assert_int_eq(dsb_catalog_find_blob(reader, fresh, NULL), 0);
	dsb_catalog_close(reader);
	dsb_catalog_close(writer);
}
END_TEST

static Suite *catalog_suite(void)
{
	Suite *s = suite_create("catalog");
	TCase *open = tcase_create("open");
	TCase *index = tcase_create("index");
	TCase *snapshots = tcase_create("snapshots");
	TCase *txn = tcase_create("transactions");

	tcase_add_checked_fixture(open, setup, teardown);
	tcase_add_test(open, test_open_creates_private_file);
	tcase_add_test(open, test_open_fixes_mode);
	tcase_add_test(open, test_reopen_keeps_data);
	tcase_add_test(open, test_wrong_repo_id);
	tcase_add_test(open, test_garbage_file);
	tcase_add_test(open, test_damaged_pages);
	tcase_add_test(open, test_newer_schema);
	tcase_add_test(open, test_sqlite_error_names_path);
	suite_add_tcase(s, open);

	tcase_add_checked_fixture(index, setup, teardown);
	tcase_add_test(index, test_blob_add_find);
	tcase_add_test(index, test_blob_add_twice_keeps_first);
	tcase_add_test(index, test_blob_untrusted_columns);
	tcase_add_test(index, test_blob_untrusted_text_pack);
	tcase_add_test(index, test_blob_untrusted_range);
	tcase_add_test(index, test_blob_untrusted_negative);
	tcase_add_test(index, test_packs);
	tcase_add_test(index, test_blobs_in_pack_offset_order);
	tcase_add_test(index, test_index_objects);
	suite_add_tcase(s, index);

	tcase_add_checked_fixture(snapshots, setup, teardown);
	tcase_add_test(snapshots, test_snapshots_order_and_json);
	tcase_add_test(snapshots, test_snapshot_bad_id_rejected);
	tcase_add_test(snapshots, test_resolve);
	tcase_add_test(snapshots, test_files_prefix);
	tcase_add_test(snapshots, test_files_fields);
	tcase_add_test(snapshots, test_shared_trees_and_sweep);
	tcase_add_test(snapshots, test_listed);
	tcase_add_test(snapshots, test_migrate_from_v2);
	suite_add_tcase(s, snapshots);

	/* Generous: the volume test runs under sanitizers and valgrind too. */
	tcase_set_timeout(txn, 600);
	tcase_add_checked_fixture(txn, setup, teardown);
	tcase_add_test(txn, test_transactions);
	tcase_add_test(txn, test_clear_keeps_meta);
	tcase_add_test(txn, test_many_blobs_one_transaction);
	tcase_add_test(txn, test_two_handles_wal);
	suite_add_tcase(s, txn);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(catalog_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
