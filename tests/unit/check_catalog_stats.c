/* check_catalog_stats.c: the catalog's sums for "stats" and its opening without the repository, for "find". */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsbackup/catalog.h"
#include "dsbackup/error.h"
#include "dsbackup/tree.h"

#include "testutil.h"

#define REPO_ID "aa11bb22cc33dd44ee55ff6600778899aa11bb22cc33dd44ee55ff6600778899"

static char *tmpdir;
static char *dbpath;

static void setup(void)
{
	tmpdir = dsb_test_tmpdir();
	if (asprintf(&dbpath, "%s/catalog.db", tmpdir) < 0)
		abort();
}

static void teardown(void)
{
	dsb_test_rmrf(tmpdir);
	free(dbpath);
	free(tmpdir);
}

static struct dsb_catalog *open_catalog(const char *repo_id)
{
	struct dsb_catalog *c = NULL;
	int r = dsb_catalog_open(dbpath, repo_id, &c);

	ck_assert_msg(r == 0, "open: %d %s", r, dsb_errmsg());
	return c;
}

static void add_pack(struct dsb_catalog *c, uint8_t n, uint64_t size)
{
	struct dsb_pack_info p;

	memset(&p, 0, sizeof(p));
	memset(p.id, n, sizeof(p.id));
	p.size = size;
	ck_assert_int_eq(dsb_catalog_add_pack(c, &p), 0);
}

static void add_blob(struct dsb_catalog *c, uint8_t n, uint8_t pack, uint8_t type, uint32_t raw,
    uint32_t stored)
{
	struct dsb_blob_loc loc;
	uint8_t id[32];

	memset(&loc, 0, sizeof(loc));
	memset(id, n, sizeof(id));
	memset(loc.pack, pack, sizeof(loc.pack));
	loc.type = type;
	loc.raw_len = raw;
	loc.stored_len = stored;
	ck_assert_int_eq(dsb_catalog_add_blob(c, id, &loc), 0);
}

/* add_entry(c, tree, name, type, size, subtree): one entry of tree make_id-like byte ${tree}. */
static void add_entry(struct dsb_catalog *c, uint8_t tree, const char *name, int type,
    uint64_t size, uint8_t subtree)
{
	struct dsb_catalog_entry e = { name, type, 0644, size, 0, NULL };
	uint8_t t[32], sub[32];

	memset(t, tree, sizeof(t));
	memset(sub, subtree, sizeof(sub));
	e.subtree = subtree != 0 ? sub : NULL;
	ck_assert_int_eq(dsb_catalog_add_tree_entry(c, t, &e), 0);
}

START_TEST(test_totals_empty)
{
	struct dsb_catalog *c = open_catalog(REPO_ID);
	struct dsb_catalog_totals t;
	uint64_t files = 9, bytes = 9;

	ck_assert_int_eq(dsb_catalog_totals(c, &t), 0);
	ck_assert_uint_eq(t.packs + t.pack_bytes + t.blobs + t.data_raw_bytes + t.snapshots, 0);
	ck_assert_int_eq(dsb_catalog_listing_totals(c, "nothing", &files, &bytes), 0);
	ck_assert_uint_eq(files + bytes, 0);
	dsb_catalog_close(c);
}
END_TEST

START_TEST(test_totals)
{
	struct dsb_catalog *c = open_catalog(REPO_ID);
	struct dsb_catalog_snapshot s = { NULL, 1, 0, "h", "{}" };
	char id[65];
	struct dsb_catalog_totals t;
	uint64_t files, bytes;
	uint8_t root[32];

	add_pack(c, 1, 1000);
	add_pack(c, 2, 500);
	add_blob(c, 10, 1, 0, 300, 116);
	add_blob(c, 11, 1, 0, 200, 216);
	add_blob(c, 10, 2, 0, 300, 116);   /* the same blob again: counted once */
	add_blob(c, 12, 2, 1, 50, 40);     /* a tree */
	memset(id, 'a', 64);
	id[64] = '\0';
	s.id = id;
	ck_assert_int_eq(dsb_catalog_add_snapshot(c, &s), 0);
	/* root 1: d/ (tree 2), e/ (tree 2 again); tree 2: a, b, l -> every path counts */
	add_entry(c, 1, "d", DSB_NODE_DIR, 0, 2);
	add_entry(c, 1, "e", DSB_NODE_DIR, 0, 2);
	add_entry(c, 2, "a", DSB_NODE_FILE, 300, 0);
	add_entry(c, 2, "b", DSB_NODE_FILE, 200, 0);
	add_entry(c, 2, "l", DSB_NODE_SYMLINK, 7, 0);
	ck_assert_int_eq(dsb_catalog_listing_totals(c, id, &files, &bytes), 0);
	ck_assert_uint_eq(files + bytes, 0);   /* not listed yet */
	memset(root, 1, sizeof(root));
	ck_assert_int_eq(dsb_catalog_set_listed(c, id, root), 0);
	ck_assert_int_eq(dsb_catalog_totals(c, &t), 0);
	ck_assert_uint_eq(t.packs, 2);
	ck_assert_uint_eq(t.pack_bytes, 1500);
	ck_assert_uint_eq(t.blobs, 3);
	ck_assert_uint_eq(t.data_blobs, 2);
	ck_assert_uint_eq(t.tree_blobs, 1);
	ck_assert_uint_eq(t.data_raw_bytes, 500);
	ck_assert_uint_eq(t.data_stored_bytes, 332);
	ck_assert_uint_eq(t.snapshots, 1);
	ck_assert_int_eq(dsb_catalog_listing_totals(c, id, &files, &bytes), 0);
	ck_assert_uint_eq(files, 4);
	ck_assert_uint_eq(bytes, 1000);
	dsb_catalog_close(c);
}
END_TEST

START_TEST(test_open_without_repo_id)
{
	struct dsb_catalog *c = NULL;
	struct dsb_catalog_totals t;

	/* a catalog that records no repository is refused */
	ck_assert_int_eq(dsb_catalog_open(dbpath, NULL, &c), DSB_ERR_NOT_FOUND);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "belongs to no repository"));
	/* one that does opens whatever its repository, as "find" needs */
	c = open_catalog(REPO_ID);
	add_pack(c, 3, 42);
	dsb_catalog_close(c);
	c = open_catalog(NULL);
	ck_assert_int_eq(dsb_catalog_totals(c, &t), 0);
	ck_assert_uint_eq(t.pack_bytes, 42);
	dsb_catalog_close(c);
	ck_assert_int_eq(dsb_catalog_open(dbpath, "", &c), DSB_ERR_INTERNAL);
}
END_TEST

static Suite *catalog_stats_suite(void)
{
	Suite *s = suite_create("catalog_stats");
	TCase *tc = tcase_create("stats");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_totals_empty);
	tcase_add_test(tc, test_totals);
	tcase_add_test(tc, test_open_without_repo_id);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(catalog_stats_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
