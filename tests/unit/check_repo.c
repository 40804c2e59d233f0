/*
 * check_repo.c: a repository on the local backend (docs/FORMAT.md §1-§10):
 * init and open, key slots, config validation, packs, index objects,
 * snapshots, object integrity and locks.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "dsbackup/buf.h"
#include "dsbackup/crypto.h"
#include "dsbackup/error.h"
#include "dsbackup/pack.h"
#include "dsbackup/repo.h"
#include "dsbackup/util.h"
#include "repository/repo_internal.h"
#include "testutil.h"

static char *tmpdir;
static char url[4096];
static const char pw[] = "correct horse battery staple";

static void setup(void)
{
	tmpdir = dsb_test_tmpdir();
	snprintf(url, sizeof(url), "%s/repo", tmpdir);
}

static void teardown(void)
{
	dsb_test_rmrf(tmpdir);
	free(tmpdir);
	tmpdir = NULL;
}

static void fast_opts(struct dsb_repo_init_opts *o)
{
	dsb_repo_init_opts_default(o);
	o->kdf.log2_n = 10;
	o->kdf.r = 8;
	o->kdf.p = 1;
}

static struct dsb_repo *init_repo(void)
{
	struct dsb_repo_init_opts o;
	struct dsb_repo *r = NULL;

	fast_opts(&o);
	ck_assert_msg(dsb_repo_init(url, pw, strlen(pw), &o, &r) == 0, "init: %s", dsb_errmsg());
	return r;
}

static struct dsb_repo *open_repo(const char *pass)
{
	struct dsb_repo *r = NULL;

	ck_assert_msg(dsb_repo_open(url, pass, strlen(pass), &r) == 0, "open: %s", dsb_errmsg());
	return r;
}

static void path_of(const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", url, name);
}

static void write_file(const char *name, const void *p, size_t n)
{
	char path[4200];
	FILE *f;

	path_of(name, path, sizeof(path));
	ck_assert_ptr_nonnull(f = fopen(path, "wb"));
	ck_assert_uint_eq(fwrite(p, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

static void read_file(const char *name, struct dsb_buf *b)
{
	char path[4200];

	path_of(name, path, sizeof(path));
	ck_assert_int_eq(dsb_read_file(path, 1 << 30, b), 0);
}

static int count_cb(void *arg, const char *id, uint64_t size)
{
	(void)id;
	(void)size;
	(*(int *)arg)++;
	return 0;
}

static int count(struct dsb_repo *r, const char *dir)
{
	int n = 0;

	ck_assert_int_eq(dsb_repo_list(r, dir, count_cb, &n), 0);
	return n;
}

/* ---- init, open, key slots ---- */

START_TEST(test_init_twice)
{
	struct dsb_repo_init_opts o;
	struct dsb_repo *r = init_repo(), *r2 = NULL;

	fast_opts(&o);
	dsb_repo_close(r);
	ck_assert_int_eq(dsb_repo_init(url, "other", 5, &o, &r2), DSB_ERR_EXISTS);
	ck_assert_ptr_null(r2);
	/* the first password still works, the second was never stored */
	r = open_repo(pw);
	ck_assert_int_eq(count(r, "keys"), 1);
	dsb_repo_close(r);
	dsb_repo_close(NULL);
}
END_TEST

START_TEST(test_open_config_matches)
{
	struct dsb_repo_config probe;
	struct dsb_repo *r = init_repo(), *r2;
	const struct dsb_repo_config *a, *b;
	uint8_t k1[DSB_KEYID_LEN], k2[DSB_KEYID_LEN];

	r2 = open_repo(pw);
	a = dsb_repo_config(r);
	b = dsb_repo_config(r2);
	ck_assert_int_eq(b->version, 1);
	ck_assert_str_eq(a->id, b->id);
	ck_assert_uint_eq(strlen(b->id), 64);
	ck_assert_str_eq(a->created, b->created);
	ck_assert_uint_eq(a->chunker.min, b->chunker.min);
	ck_assert_uint_eq(a->chunker.avg, b->chunker.avg);
	ck_assert_uint_eq(a->chunker.max, b->chunker.max);
	ck_assert_uint_eq(b->chunker.avg, DSB_CHUNK_AVG_DEFAULT);
	ck_assert_uint_eq(a->pack_size, b->pack_size);
	ck_assert_int_eq(a->compression, b->compression);
	dsb_keys_key_id(dsb_repo_keys(r), k1);
	dsb_keys_key_id(dsb_repo_keys(r2), k2);
	ck_assert_mem_eq(k1, k2, sizeof(k1));
	ck_assert_ptr_nonnull(dsb_repo_backend(r2));
	ck_assert_int_eq(dsb_repo_probe(url, &probe), 0);
	ck_assert_str_eq(probe.id, a->id);
	dsb_repo_close(r);
	dsb_repo_close(r2);
}
END_TEST

START_TEST(test_wrong_password)
{
	struct dsb_repo *r = init_repo(), *r2 = NULL;

	dsb_repo_close(r);
	ck_assert_int_eq(dsb_repo_open(url, "wrong", 5, &r2), DSB_ERR_BAD_KEY);
	ck_assert_ptr_null(r2);
	ck_assert_int_eq(dsb_repo_open(url, "", 0, &r2), DSB_ERR_BAD_KEY);
	/* a prefix of the password is not the password */
	ck_assert_int_eq(dsb_repo_open(url, pw, strlen(pw) - 1, &r2), DSB_ERR_BAD_KEY);
}
END_TEST

START_TEST(test_missing_repo)
{
	struct dsb_repo_config cfg;
	struct dsb_repo *r = NULL;
	char empty[4200];

	ck_assert_int_eq(dsb_repo_open(url, pw, strlen(pw), &r), DSB_ERR_NO_REPO);
	ck_assert_int_eq(dsb_repo_probe(url, &cfg), DSB_ERR_NO_REPO);
	/* an existing directory without config is no repository either */
	snprintf(empty, sizeof(empty), "%s/empty", tmpdir);
	ck_assert_int_eq(mkdir(empty, 0700), 0);
	ck_assert_int_eq(dsb_repo_open(empty, pw, strlen(pw), &r), DSB_ERR_NO_REPO);
	ck_assert_ptr_null(r);
}
END_TEST

START_TEST(test_second_slot)
{
	struct dsb_repo *r = init_repo(), *r2;
	struct dsb_kdf_params kdf = { 10, 8, 1 }, bad = { 9, 8, 1 };
	uint8_t k1[DSB_KEYID_LEN], k2[DSB_KEYID_LEN];

	ck_assert_int_eq(dsb_repo_add_passphrase_slot(r, "second", 6, &kdf), 0);
	ck_assert_int_eq(dsb_repo_add_passphrase_slot(r, "third", 5, &bad), DSB_ERR_USAGE);
	ck_assert_int_eq(count(r, "keys"), 2);
	dsb_keys_key_id(dsb_repo_keys(r), k1);
	dsb_repo_close(r);
	r = open_repo(pw);
	r2 = open_repo("second");
	dsb_keys_key_id(dsb_repo_keys(r2), k2);
	ck_assert_mem_eq(k1, k2, sizeof(k1));
	dsb_keys_key_id(dsb_repo_keys(r), k2);
	ck_assert_mem_eq(k1, k2, sizeof(k1));
	dsb_repo_close(r);
	dsb_repo_close(r2);
	ck_assert_int_eq(dsb_repo_open(url, "third", 5, &r), DSB_ERR_BAD_KEY);
}
END_TEST

/* A damaged slot is skipped with a warning; the others still open. */
START_TEST(test_damaged_slot_skipped)
{
	struct dsb_repo *r = init_repo();

	dsb_repo_close(r);
	write_file("keys/0000000000000000000000000000000000000000000000000000000000000000",
	    "{not json", 9);
	r = open_repo(pw);
	dsb_repo_close(r);
}
END_TEST

/* ---- config ---- */

/* tamper(key, value): replace one member of config (a dotted path: "chunker.avg"). */
static void tamper(const char *key, json_t *value)
{
	struct dsb_buf b;
	json_t *root, *o;
	char *text, path[64], *dot;

	dsb_buf_init(&b, 0);
	read_file("config", &b);
	ck_assert_ptr_nonnull(root = json_loadb((const char *)b.data, b.len, 0, NULL));
	snprintf(path, sizeof(path), "%s", key);
	o = root;
	if ((dot = strchr(path, '.')) != NULL) {
		*dot = '\0';
		o = json_object_get(root, path);
		key = dot + 1;
	} else {
		key = path;
	}
	ck_assert_int_eq(json_object_set_new(o, key, value), 0);
	ck_assert_ptr_nonnull(text = json_dumps(root, JSON_COMPACT));
	write_file("config", text, strlen(text));
	free(text);
	json_decref(root);
	dsb_buf_release(&b);
}

static int open_rc(void)
{
	struct dsb_repo *r = NULL;
	int rc = dsb_repo_open(url, pw, strlen(pw), &r);

	dsb_repo_close(r);
	return rc;
}

/* each case starts from a fresh config */
static struct dsb_buf good_config;

static void save_config(void)
{
	dsb_buf_init(&good_config, 0);
	read_file("config", &good_config);
}

static void restore_config(void)
{
	write_file("config", good_config.data, good_config.len);
}

START_TEST(test_config_tampering)
{
	struct dsb_repo_config cfg;
	struct dsb_repo *r = init_repo();

	dsb_repo_close(r);
	save_config();
	ck_assert_int_eq(open_rc(), 0);

	tamper("version", json_integer(2));
	ck_assert_int_eq(open_rc(), DSB_ERR_UNSUPPORTED);
	ck_assert_int_eq(dsb_repo_probe(url, &cfg), DSB_ERR_UNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "version 2"));
	restore_config();
	tamper("version", json_integer(0));
	ck_assert_int_eq(open_rc(), DSB_ERR_UNSUPPORTED);
	restore_config();
	tamper("version", json_string("1"));
	ck_assert_int_eq(open_rc(), DSB_ERR_CORRUPT);
	restore_config();

	tamper("chunker.avg", json_integer(1000000));   /* not a power of two */
	ck_assert_int_eq(open_rc(), DSB_ERR_CORRUPT);
	restore_config();
	tamper("chunker.min", json_integer(4095));
	ck_assert_int_eq(open_rc(), DSB_ERR_CORRUPT);
	restore_config();
	tamper("chunker.max", json_integer((64 << 20) + 1));
	ck_assert_int_eq(open_rc(), DSB_ERR_CORRUPT);
	restore_config();
	tamper("chunker.min", json_integer(-1));
	ck_assert_int_eq(open_rc(), DSB_ERR_CORRUPT);
	restore_config();
	tamper("pack_size", json_integer((1 << 20) - 1));
	ck_assert_int_eq(open_rc(), DSB_ERR_CORRUPT);
	restore_config();
	tamper("pack_size", json_integer(((json_int_t)1 << 30) + 1));
	ck_assert_int_eq(open_rc(), DSB_ERR_CORRUPT);
	restore_config();
	tamper("compression", json_integer(20));
	ck_assert_int_eq(open_rc(), DSB_ERR_CORRUPT);
	restore_config();
	tamper("compression", json_integer(-1));
	ck_assert_int_eq(open_rc(), DSB_ERR_CORRUPT);
	restore_config();
	tamper("id", json_string("00"));
	ck_assert_int_eq(open_rc(), DSB_ERR_CORRUPT);
	restore_config();
	/* 64 good hex digits followed by more must not pass as the first 64 */
	tamper("id", json_string("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00"));
	ck_assert_int_eq(open_rc(), DSB_ERR_CORRUPT);
	restore_config();
	tamper("chunker", json_integer(1));
	ck_assert_int_eq(open_rc(), DSB_ERR_CORRUPT);
	restore_config();
	/* a config larger than the 64 KiB a reader accepts is corrupt, not a limit of ours */
	{
		static char big[70000];

		memset(big, ' ', sizeof(big));
		memcpy(big, good_config.data, good_config.len);
		write_file("config", big, sizeof(big));
		ck_assert_int_eq(open_rc(), DSB_ERR_CORRUPT);
	}
	write_file("config", "[]", 2);
	ck_assert_int_eq(open_rc(), DSB_ERR_CORRUPT);
	write_file("config", "{\"version\":1,", 13);
	ck_assert_int_eq(open_rc(), DSB_ERR_CORRUPT);
	restore_config();
	ck_assert_int_eq(open_rc(), 0);
	dsb_buf_release(&good_config);
}
END_TEST

/* ---- packs and blobs ---- */

#define NBLOBS 5

struct pack_fixture {
	struct dsb_pack_writer *w;
	struct dsb_pack_result res;
	uint8_t raw[NBLOBS][3000];
	size_t len[NBLOBS];
};

static void make_pack(struct dsb_repo *r, struct pack_fixture *f, uint8_t seed)
{
	uint8_t id[DSB_HASH_LEN];
	size_t i, j;

	ck_assert_int_eq(dsb_pack_writer_new(dsb_repo_keys(r), 3, &f->w), 0);
	for (i = 0; i < NBLOBS; i++) {
		f->len[i] = i * 700;
		for (j = 0; j < f->len[i]; j++)
			f->raw[i][j] = (uint8_t)(i % 2 ? (j * 7 + seed) % 13 : (j * j * 31 + seed) >> 3);
		ck_assert_int_eq(dsb_keys_blob_id(dsb_repo_keys(r), f->raw[i], f->len[i], id), 0);
		ck_assert_int_eq(dsb_pack_writer_add(f->w, id, i == 4 ? DSB_BLOB_TREE : DSB_BLOB_DATA,
		    f->raw[i], f->len[i]), 0);
	}
	ck_assert_int_eq(dsb_pack_writer_finish(f->w, &f->res), 0);
}

static void assert_entries_eq(const struct dsb_pack_entry *a, const struct dsb_pack_entry *b,
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		ck_assert_mem_eq(a[i].id, b[i].id, DSB_HASH_LEN);
		ck_assert_uint_eq(a[i].type, b[i].type);
		ck_assert_uint_eq(a[i].comp, b[i].comp);
		ck_assert_uint_eq(a[i].stored_len, b[i].stored_len);
		ck_assert_uint_eq(a[i].raw_len, b[i].raw_len);
		ck_assert_uint_eq(a[i].offset, b[i].offset);
	}
}

START_TEST(test_pack_roundtrip)
{
	struct dsb_repo *r = init_repo();
	struct pack_fixture f;
	struct dsb_pack_header hdr;
	struct dsb_pack_entry *entries = NULL;
	struct dsb_blob_opener *o = NULL;
	struct dsb_blob_ref ref;
	struct dsb_buf scratch, out;
	char name[80];
	size_t n = 0, i;

	make_pack(r, &f, 1);
	ck_assert_int_eq(dsb_repo_put_pack(r, &f.res), 0);
	ck_assert_int_eq(dsb_repo_put_pack(r, &f.res), 0);   /* identical bytes: fine */
	ck_assert_int_eq(count(r, "data"), 1);
	dsb_repo_pack_name(f.res.id, name);
	ck_assert_int_eq(strncmp(name, "data/", 5), 0);
	ck_assert_int_eq(strncmp(name + 5, name + 8, 2), 0);
	ck_assert_uint_eq(strlen(name), 5 + 3 + 64);

	/* stat the size, or be given it */
	ck_assert_int_eq(dsb_repo_read_pack_trailer(r, f.res.id, 0, &hdr, &entries, &n), 0);
	ck_assert_uint_eq(n, NBLOBS);
	ck_assert_mem_eq(&hdr, &f.res.header, sizeof(hdr));
	assert_entries_eq(entries, f.res.entries, n);
	free(entries);
	entries = NULL;
	ck_assert_int_eq(dsb_repo_read_pack_trailer(r, f.res.id, f.res.len, &hdr, &entries, &n), 0);
	assert_entries_eq(entries, f.res.entries, n);
	/* a wrong size is caught */
	ck_assert_int_ne(dsb_repo_read_pack_trailer(r, f.res.id, f.res.len - 1, &hdr, &entries, &n),
	    0);
	ck_assert_int_eq(dsb_repo_read_pack_trailer(r, f.res.id, 10, &hdr, &entries, &n),
	    DSB_ERR_CORRUPT);

	dsb_buf_init(&scratch, 0);
	dsb_buf_init(&out, 0);
	ck_assert_int_eq(dsb_blob_opener_new(dsb_repo_keys(r), &o), 0);
	for (i = 0; i < n; i++) {
		memcpy(ref.pack, f.res.id, DSB_HASH_LEN);
		ref.header = hdr;
		ref.entry = entries[i];
		ck_assert_msg(dsb_repo_read_blob(r, o, &ref, &scratch, &out) == 0, "blob %zu: %s", i,
		    dsb_errmsg());
		ck_assert_uint_eq(out.len, f.len[i]);
		ck_assert(f.len[i] == 0 || memcmp(out.data, f.raw[i], f.len[i]) == 0);
	}

	/* damage one blob on disk: it fails with a message naming the pack, the others open */
	{
		struct dsb_buf b;

		dsb_buf_init(&b, 0);
		read_file(name, &b);
		b.data[entries[2].offset + 5] ^= 0x40;
		write_file(name, b.data, b.len);
		dsb_buf_release(&b);
	}
	for (i = 0; i < n; i++) {
		int rc;

		ref.entry = entries[i];
		rc = dsb_repo_read_blob(r, o, &ref, &scratch, &out);
		if (i == 2) {
			ck_assert_int_eq(rc, DSB_ERR_AUTH);
			ck_assert_ptr_nonnull(strstr(dsb_errmsg(), name));
		} else {
			ck_assert_int_eq(rc, 0);
		}
	}
	free(entries);
	dsb_blob_opener_free(o);
	dsb_buf_release(&scratch);
	dsb_buf_release(&out);
	dsb_pack_writer_free(f.w);
	dsb_repo_close(r);
}
END_TEST

START_TEST(test_pack_missing)
{
	struct dsb_repo *r = init_repo();
	struct dsb_pack_header hdr;
	struct dsb_pack_entry *entries = NULL;
	uint8_t id[DSB_HASH_LEN];
	size_t n;

	memset(id, 0x11, sizeof(id));
	ck_assert_int_eq(dsb_repo_read_pack_trailer(r, id, 0, &hdr, &entries, &n), DSB_ERR_NOT_FOUND);
	dsb_repo_close(r);
}
END_TEST

/* ---- index objects ---- */

struct collected {
	size_t n;
	struct dsb_pack_record rec[4];
	struct dsb_pack_entry *entries[4];
	int stop_with;
};

static int collect(void *arg, const struct dsb_pack_record *rec)
{
	struct collected *c = arg;

	ck_assert_uint_lt(c->n, 4);
	c->rec[c->n] = *rec;
	c->entries[c->n] = malloc(rec->n * sizeof(*rec->entries) + 1);
	memcpy(c->entries[c->n], rec->entries, rec->n * sizeof(*rec->entries));
	c->n++;
	return c->stop_with;
}

START_TEST(test_index_roundtrip)
{
	struct dsb_repo *r = init_repo();
	struct pack_fixture f1, f2;
	struct dsb_index_writer *w = NULL;
	struct dsb_pack_record rec;
	struct collected c;
	char id_hex[65], empty[65];
	size_t i;

	make_pack(r, &f1, 1);
	make_pack(r, &f2, 2);
	ck_assert_int_eq(dsb_index_writer_new(r, &w), 0);
	ck_assert_uint_eq(dsb_index_writer_pending(w), 0);
	ck_assert_int_eq(dsb_index_writer_flush(w, empty), 0);
	ck_assert_str_eq(empty, "");
	for (i = 0; i < 2; i++) {
		const struct dsb_pack_result *res = i == 0 ? &f1.res : &f2.res;

		memcpy(rec.id, res->id, DSB_HASH_LEN);
		rec.size = res->len;
		rec.header = res->header;
		rec.entries = res->entries;
		rec.n = res->n;
		ck_assert_int_eq(dsb_index_writer_add(w, &rec), 0);
	}
	ck_assert_uint_eq(dsb_index_writer_pending(w), 2 * NBLOBS);
	ck_assert_int_eq(dsb_index_writer_flush(w, id_hex), 0);
	ck_assert_uint_eq(strlen(id_hex), 64);
	ck_assert_uint_eq(dsb_index_writer_pending(w), 0);
	ck_assert_int_eq(dsb_index_writer_flush(w, empty), 0);
	ck_assert_str_eq(empty, "");
	ck_assert_int_eq(count(r, "index"), 1);

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(dsb_repo_read_index(r, id_hex, collect, &c), 0);
	ck_assert_uint_eq(c.n, 2);
	for (i = 0; i < 2; i++) {
		const struct dsb_pack_result *res = i == 0 ? &f1.res : &f2.res;

		ck_assert_mem_eq(c.rec[i].id, res->id, DSB_HASH_LEN);
		ck_assert_uint_eq(c.rec[i].size, res->len);
		ck_assert_mem_eq(&c.rec[i].header, &res->header, sizeof(res->header));
		ck_assert_uint_eq(c.rec[i].n, res->n);
		assert_entries_eq(c.entries[i], res->entries, res->n);
		free(c.entries[i]);
	}
	/* a callback's non-zero return stops the walk and is returned as it is */
	memset(&c, 0, sizeof(c));
	c.stop_with = 42;
	ck_assert_int_eq(dsb_repo_read_index(r, id_hex, collect, &c), 42);
	ck_assert_uint_eq(c.n, 1);
	free(c.entries[0]);
	/* bad ids */
	ck_assert_int_eq(dsb_repo_read_index(r, "xyz", collect, &c), DSB_ERR_USAGE);
	ck_assert_int_eq(dsb_repo_read_index(r, "0000000000000000000000000000000000000000000000000000000000000000",
	    collect, &c), DSB_ERR_NOT_FOUND);
	dsb_index_writer_free(w);
	dsb_index_writer_free(NULL);
	dsb_pack_writer_free(f1.w);
	dsb_pack_writer_free(f2.w);
	dsb_repo_close(r);
}
END_TEST

static int count_records(void *arg, const struct dsb_pack_record *rec)
{
	(void)rec;
	(*(int *)arg)++;
	return 0;
}

/* index payloads that are authentic but malformed */
START_TEST(test_index_parse)
{
	uint8_t p[84 + 2 * DSB_PACK_ENTRY_LEN], *e;
	int n;

	memset(p, 0, sizeof(p));
	dsb_put_le64(p + 32, 48 + 116 + 20 + 12 + 44);
	dsb_put_le32(p + 80, 1);
	e = p + 84;
	e[32] = DSB_BLOB_DATA;
	e[33] = DSB_COMP_NONE;
	dsb_put_le32(e + 36, 116);
	dsb_put_le32(e + 40, 100);
	n = 0;
	ck_assert_int_eq(dsb_index_parse(p, 84 + 44, count_records, &n), 0);
	ck_assert_int_eq(n, 1);
	n = 0;
	ck_assert_int_eq(dsb_index_parse(p, 0, count_records, &n), 0);
	ck_assert_int_eq(n, 0);
	/* truncated */
	ck_assert_int_eq(dsb_index_parse(p, 84 + 43, count_records, &n), DSB_ERR_CORRUPT);
	ck_assert_int_eq(dsb_index_parse(p, 83, count_records, &n), DSB_ERR_CORRUPT);
	/* trailing bytes that are not a record */
	ck_assert_int_eq(dsb_index_parse(p, 84 + 45, count_records, &n), DSB_ERR_CORRUPT);
	/* count larger than what follows, or huge */
	dsb_put_le32(p + 80, 2);
	ck_assert_int_eq(dsb_index_parse(p, 84 + 44, count_records, &n), DSB_ERR_CORRUPT);
	dsb_put_le32(p + 80, 0xffffffffu);
	ck_assert_int_eq(dsb_index_parse(p, sizeof(p), count_records, &n), DSB_ERR_CORRUPT);
	dsb_put_le32(p + 80, 1);
	/* pack size too small for its blobs, or beyond the largest pack */
	dsb_put_le64(p + 32, 48 + 116);
	ck_assert_int_eq(dsb_index_parse(p, 84 + 44, count_records, &n), DSB_ERR_CORRUPT);
	dsb_put_le64(p + 32, DSB_PACK_MAX + 1);
	ck_assert_int_eq(dsb_index_parse(p, 84 + 44, count_records, &n), DSB_ERR_CORRUPT);
	dsb_put_le64(p + 32, UINT64_MAX);
	ck_assert_int_eq(dsb_index_parse(p, 84 + 44, count_records, &n), DSB_ERR_CORRUPT);
	dsb_put_le64(p + 32, 48 + 116 + 20 + 12 + 44);
	/* an entry that does not decode */
	e[33] = 9;
	ck_assert_int_eq(dsb_index_parse(p, 84 + 44, count_records, &n), DSB_ERR_CORRUPT);
}
END_TEST

/* ---- snapshots and object integrity ---- */

START_TEST(test_snapshot_roundtrip)
{
	struct dsb_repo *r = init_repo();
	const char *json = "{\"version\":1,\"host\":\"h\",\"paths\":[\"/srv\"]}";
	char id[65], id2[65], *got = NULL;

	ck_assert_int_eq(dsb_repo_put_snapshot(r, json, id), 0);
	ck_assert_uint_eq(strlen(id), 64);
	ck_assert_int_eq(dsb_repo_get_snapshot(r, id, &got), 0);
	ck_assert_str_eq(got, json);
	free(got);
	got = NULL;
	/* the same JSON again is a different object (fresh salt) */
	ck_assert_int_eq(dsb_repo_put_snapshot(r, json, id2), 0);
	ck_assert_str_ne(id, id2);
	ck_assert_int_eq(count(r, "snapshots"), 2);
	ck_assert_int_eq(dsb_repo_remove_snapshot(r, id2), 0);
	ck_assert_int_eq(dsb_repo_get_snapshot(r, id2, &got), DSB_ERR_NOT_FOUND);
	ck_assert_int_eq(count(r, "snapshots"), 1);
	ck_assert_int_eq(dsb_repo_get_snapshot(r, "nothex", &got), DSB_ERR_USAGE);
	ck_assert_ptr_null(got);
	dsb_repo_close(r);
}
END_TEST

/* An object whose bytes no longer hash to its name is refused before it is decrypted. */
START_TEST(test_object_hash_mismatch)
{
	struct dsb_repo *r = init_repo();
	struct dsb_buf b, other;
	char id[65], id2[65], name[96], name2[96], *got = NULL;

	ck_assert_int_eq(dsb_repo_put_snapshot(r, "{\"a\":1}", id), 0);
	ck_assert_int_eq(dsb_repo_put_snapshot(r, "{\"b\":2}", id2), 0);
	snprintf(name, sizeof(name), "snapshots/%s", id);
	snprintf(name2, sizeof(name2), "snapshots/%s", id2);
	dsb_buf_init(&b, 0);
	dsb_buf_init(&other, 0);
	/* a valid object stored under another's name */
	read_file(name2, &other);
	write_file(name, other.data, other.len);
	ck_assert_int_eq(dsb_repo_get_snapshot(r, id, &got), DSB_ERR_AUTH);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), id));
	/* a flipped byte */
	read_file(name2, &b);
	b.data[b.len / 2] ^= 1;
	write_file(name2, b.data, b.len);
	ck_assert_int_eq(dsb_repo_get_snapshot(r, id2, &got), DSB_ERR_AUTH);
	/* truncated */
	write_file(name2, other.data, 10);
	ck_assert_int_eq(dsb_repo_get_snapshot(r, id2, &got), DSB_ERR_AUTH);
	ck_assert_ptr_null(got);
	dsb_buf_release(&b);
	dsb_buf_release(&other);
	dsb_repo_close(r);
}
END_TEST

/* An authentic snapshot object with a NUL inside is refused. */
START_TEST(test_snapshot_with_nul)
{
	struct dsb_repo *r = init_repo();
	char id[65], *got = NULL;

	ck_assert_int_eq(dsb_repo_put_object(r, "snapshots", "snapshot", "{}\0{}", 5, id), 0);
	ck_assert_int_eq(dsb_repo_get_snapshot(r, id, &got), DSB_ERR_CORRUPT);
	ck_assert_ptr_null(got);
	/* an object of the wrong type under snapshots/ */
	ck_assert_int_eq(dsb_repo_put_object(r, "snapshots", "lock", "{}", 2, id), 0);
	ck_assert_int_eq(dsb_repo_get_snapshot(r, id, &got), DSB_ERR_AUTH);
	dsb_repo_close(r);
}
END_TEST

/* ---- locks ---- */

static char hostname[256];

static void my_hostname(void)
{
	ck_assert_int_eq(gethostname(hostname, sizeof(hostname)), 0);
	hostname[sizeof(hostname) - 1] = '\0';
}

START_TEST(test_locks_shared_exclusive)
{
	struct dsb_repo *r = init_repo();
	struct dsb_lock *a = NULL, *b = NULL, *x = NULL;
	char pid[32];

	my_hostname();
	ck_assert_int_eq(dsb_repo_lock(r, 0, &a), 0);
	ck_assert_int_eq(dsb_repo_lock(r, 0, &b), 0);
	ck_assert_int_eq(count(r, "locks"), 2);
	ck_assert_int_eq(dsb_repo_lock(r, 1, &x), DSB_ERR_LOCKED);
	ck_assert_ptr_null(x);
	snprintf(pid, sizeof(pid), "pid %d", (int)getpid());
	ck_assert_msg(strstr(dsb_errmsg(), hostname) != NULL, "no host in: %s", dsb_errmsg());
	ck_assert_msg(strstr(dsb_errmsg(), pid) != NULL, "no pid in: %s", dsb_errmsg());
	ck_assert_msg(strstr(dsb_errmsg(), "dsbackup unlock") != NULL, "no advice in: %s",
	    dsb_errmsg());
	/* the failed attempt removed its own lock */
	ck_assert_int_eq(count(r, "locks"), 2);
	dsb_lock_release(a);
	ck_assert_int_eq(dsb_repo_lock(r, 1, &x), DSB_ERR_LOCKED);
	dsb_lock_release(b);
	ck_assert_int_eq(count(r, "locks"), 0);
	ck_assert_int_eq(dsb_repo_lock(r, 1, &x), 0);
	/* nothing else while an exclusive lock is held */
	ck_assert_int_eq(dsb_repo_lock(r, 0, &a), DSB_ERR_LOCKED);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "exclusive"));
	ck_assert_int_eq(dsb_repo_lock(r, 1, &a), DSB_ERR_LOCKED);
	ck_assert_int_eq(dsb_lock_refresh(x), 0);   /* fresh: nothing to do */
	ck_assert_int_eq(dsb_lock_refresh(NULL), 0);
	dsb_lock_release(x);
	dsb_lock_release(NULL);
	ck_assert_int_eq(count(r, "locks"), 0);
	dsb_repo_close(r);
}
END_TEST

/* A lock left by a process that died on this host is stale. */
START_TEST(test_lock_dead_pid_is_stale)
{
	struct dsb_repo *r = init_repo();
	struct dsb_lock *l = NULL;
	int status, removed = -1;
	pid_t child;

	child = fork();
	ck_assert_int_ne(child, -1);
	if (child == 0) {
		struct dsb_lock *cl = NULL;

		_exit(dsb_repo_lock(r, 1, &cl) == 0 ? 0 : 1);   /* never released */
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(count(r, "locks"), 1);
	/* the dead exclusive lock does not block */
	ck_assert_int_eq(dsb_repo_lock(r, 1, &l), 0);
	dsb_lock_release(l);
	ck_assert_int_eq(count(r, "locks"), 1);
	ck_assert_int_eq(dsb_repo_unlock_stale(r, 0, &removed), 0);
	ck_assert_int_eq(removed, 1);
	ck_assert_int_eq(count(r, "locks"), 0);
	dsb_repo_close(r);
}
END_TEST

static void put_lock(struct dsb_repo *r, const char *host, long long pid, int64_t age,
    int exclusive)
{
	char json[512], ts[64], id[65];
	int64_t now;
	long nsec;

	dsb_time_now(&now, &nsec);
	dsb_time_format(now - age, 0, ts, sizeof(ts));
	snprintf(json, sizeof(json), "{\"host\":\"%s\",\"pid\":%lld,\"user\":\"someone\","
	    "\"time\":\"%s\",\"exclusive\":%s}", host, pid, ts, exclusive ? "true" : "false");
	ck_assert_int_eq(dsb_repo_put_object(r, "locks", "lock", json, strlen(json), id), 0);
}

START_TEST(test_lock_other_host)
{
	struct dsb_repo *r = init_repo();
	struct dsb_lock *l = NULL;
	int removed = -1;

	/* 31 minutes old on another host: stale by age */
	put_lock(r, "elsewhere.example", 4242, 31 * 60, 1);
	ck_assert_int_eq(dsb_repo_lock(r, 1, &l), 0);
	dsb_lock_release(l);
	/* fresh on another host: its pid cannot be checked, so it holds */
	put_lock(r, "otherhost.example", 777, 10, 1);
	ck_assert_int_eq(dsb_repo_lock(r, 0, &l), DSB_ERR_LOCKED);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "otherhost.example"));
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "pid 777"));
	/* an unreadable lock object is ignored */
	write_file("locks/ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "junk", 4);
	ck_assert_int_eq(count(r, "locks"), 3);
	ck_assert_int_eq(dsb_repo_unlock_stale(r, 0, &removed), 0);
	ck_assert_int_eq(removed, 1);
	ck_assert_int_eq(dsb_repo_lock(r, 0, &l), DSB_ERR_LOCKED);
	ck_assert_int_eq(dsb_repo_unlock_stale(r, 1, &removed), 0);
	ck_assert_int_eq(removed, 1);
	ck_assert_int_eq(dsb_repo_lock(r, 1, &l), 0);
	dsb_lock_release(l);
	dsb_repo_close(r);
}
END_TEST

static Suite *repo_suite(void)
{
	Suite *s = suite_create("repo");
	TCase *open = tcase_create("open");
	TCase *data = tcase_create("data");
	TCase *locks = tcase_create("locks");

	tcase_add_checked_fixture(open, setup, teardown);
	tcase_add_checked_fixture(data, setup, teardown);
	tcase_add_checked_fixture(locks, setup, teardown);
	tcase_set_timeout(open, 120);
	tcase_set_timeout(data, 120);
	tcase_set_timeout(locks, 120);
	tcase_add_test(open, test_init_twice);
	tcase_add_test(open, test_open_config_matches);
	tcase_add_test(open, test_wrong_password);
	tcase_add_test(open, test_missing_repo);
	tcase_add_test(open, test_second_slot);
	tcase_add_test(open, test_damaged_slot_skipped);
	tcase_add_test(open, test_config_tampering);
	suite_add_tcase(s, open);
	tcase_add_test(data, test_pack_roundtrip);
	tcase_add_test(data, test_pack_missing);
	tcase_add_test(data, test_index_roundtrip);
	tcase_add_test(data, test_index_parse);
	tcase_add_test(data, test_snapshot_roundtrip);
	tcase_add_test(data, test_object_hash_mismatch);
	tcase_add_test(data, test_snapshot_with_nul);
	suite_add_tcase(s, data);
	tcase_add_test(locks, test_locks_shared_exclusive);
	tcase_add_test(locks, test_lock_dead_pid_is_stale);
	tcase_add_test(locks, test_lock_other_host);
	suite_add_tcase(s, locks);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(repo_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
