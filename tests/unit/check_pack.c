/*
 * check_pack.c: packs and encrypted objects (docs/FORMAT.md §5-§6): the
 * writer and reader agree byte for byte, every stored byte is
 * authenticated, damage stays inside one blob, and every length read from
 * a pack or object is checked before it is used.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "crypto/crypto_internal.h"
#include "dsbackup/buf.h"
#include "dsbackup/crypto.h"
#include "dsbackup/error.h"
#include "dsbackup/pack.h"
#include "dsbackup/util.h"
#include "testutil.h"

#define PACK_INFO "dsbackup pack v1"
#define OBJ_INFO "dsbackup object v1"

static struct dsb_keys *fixed_keys(uint8_t seed)
{
	uint8_t raw[DSB_KEYS_RAW_LEN];
	struct dsb_keys *k = NULL;
	size_t i;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(seed + i * 13);
	ck_assert_int_eq(dsb_keys_from_raw(raw, &k), 0);
	return k;
}

/* fill(p, n, kind, seed): kind 0 zeros, 1 compressible text, 2 pseudo-random bytes */
static void fill(uint8_t *p, size_t n, int kind, uint32_t seed)
{
	static const char words[] = "the quick brown fox jumps over the lazy dog ";
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < n; i++) {
		if (kind == 0) {
			p[i] = 0;
		} else if (kind == 1) {
			p[i] = (uint8_t)words[(i + seed) % (sizeof(words) - 1)];
		} else {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			p[i] = (uint8_t)(x >> 24);
		}
	}
}

/* ---- a pack of varied blobs, built once per test ---- */

struct blob_spec {
	size_t len;
	int kind;
	int type;
	int want_comp;   /* with a compressing writer */
};

static const struct blob_spec specs[] = {
	{ 0, 1, DSB_BLOB_DATA, DSB_COMP_NONE },           /* empty */
	{ 10, 1, DSB_BLOB_DATA, DSB_COMP_NONE },          /* too small to try */
	{ 63, 0, DSB_BLOB_DATA, DSB_COMP_NONE },          /* just below the threshold */
	{ 4000, 1, DSB_BLOB_DATA, DSB_COMP_ZSTD },        /* compressible */
	{ 5000, 2, DSB_BLOB_DATA, DSB_COMP_NONE },        /* incompressible */
	{ 70000, 0, DSB_BLOB_TREE, DSB_COMP_ZSTD },       /* zeros, tree type */
	{ 777, 2, DSB_BLOB_TREE, DSB_COMP_NONE },
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))

struct built {
	struct dsb_keys *keys;
	struct dsb_pack_writer *w;
	struct dsb_pack_result res;
	uint8_t *raw[NSPECS];
	uint8_t ids[NSPECS][DSB_HASH_LEN];
};

static void build(struct built *b, int level)
{
	size_t i;

	memset(b, 0, sizeof(*b));
	b->keys = fixed_keys(1);
	ck_assert_int_eq(dsb_pack_writer_new(b->keys, level, &b->w), 0);
	ck_assert_uint_eq(dsb_pack_writer_size(b->w), DSB_PACK_HEADER_LEN);
	for (i = 0; i < NSPECS; i++) {
		b->raw[i] = malloc(specs[i].len + 1);
		fill(b->raw[i], specs[i].len, specs[i].kind, (uint32_t)i);
		ck_assert_int_eq(dsb_keys_blob_id(b->keys, b->raw[i], specs[i].len, b->ids[i]), 0);
		ck_assert_int_eq(dsb_pack_writer_add(b->w, b->ids[i], specs[i].type, b->raw[i],
		    specs[i].len), 0);
		ck_assert_uint_eq(dsb_pack_writer_count(b->w), i + 1);
	}
	ck_assert_int_eq(dsb_pack_writer_finish(b->w, &b->res), 0);
	ck_assert_uint_eq(b->res.n, NSPECS);
}

static void unbuild(struct built *b)
{
	size_t i;

	for (i = 0; i < NSPECS; i++)
		free(b->raw[i]);
	dsb_pack_writer_free(b->w);
	dsb_keys_free(b->keys);
}

/*
 * read_pack(k, p, len, hdr, entries, n): what a reader does with a whole
 * pack: header, footer, trailer.
 */
static int read_pack(const struct dsb_keys *k, const uint8_t *p, size_t len,
    struct dsb_pack_header *hdr, struct dsb_pack_entry **entries, size_t *n)
{
	uint32_t tlen;
	int r;

	if ((r = dsb_pack_parse_header(p, len, hdr)) != 0)
		return r;
	if (len < DSB_PACK_FOOTER_LEN)
		return dsb_error(DSB_ERR_CORRUPT, "short");
	if ((r = dsb_pack_parse_footer(p + len - DSB_PACK_FOOTER_LEN, DSB_PACK_FOOTER_LEN, len,
	    &tlen)) != 0)
		return r;
	return dsb_pack_open_trailer(k, hdr, p + len - DSB_PACK_FOOTER_LEN - tlen, tlen, len,
	    entries, n);
}

/* open_copy(o, hdr, e, pack, out): dsb_blob_open on a copy of the blob's stored bytes */
static int open_copy(struct dsb_blob_opener *o, const struct dsb_pack_header *hdr,
    const struct dsb_pack_entry *e, const uint8_t *pack, struct dsb_buf *out)
{
	uint8_t *copy = malloc(e->stored_len);
	int r;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, pack + e->offset, e->stored_len);
	r = dsb_blob_open(o, hdr, e, copy, out);
	free(copy);
	return r;
}

START_TEST(test_pack_roundtrip)
{
	struct built b;
	struct dsb_pack_header hdr;
	struct dsb_pack_entry *entries = NULL;
	struct dsb_blob_opener *o = NULL;
	struct dsb_buf out;
	uint8_t digest[DSB_HASH_LEN], key_id[DSB_KEYID_LEN];
	uint64_t off = DSB_PACK_HEADER_LEN;
	uint32_t tlen;
	size_t i, n = 0;

	build(&b, 3);
	dsb_buf_init(&out, 0);
	/* the writer's view */
	dsb_sha256(b.res.bytes, b.res.len, digest);
	ck_assert_mem_eq(b.res.id, digest, DSB_HASH_LEN);
	ck_assert_mem_eq(b.res.bytes, "DSBPACK1", 8);
	dsb_keys_key_id(b.keys, key_id);
	ck_assert_mem_eq(b.res.bytes + 8, key_id, DSB_KEYID_LEN);
	ck_assert_mem_eq(b.res.header.key_id, key_id, DSB_KEYID_LEN);
	ck_assert_mem_eq(b.res.bytes + 16, b.res.header.salt, DSB_SALT_LEN);
	ck_assert_mem_eq(b.res.bytes + b.res.len - 8, "DSBPEND1", 8);
	for (i = 0; i < NSPECS; i++) {
		const struct dsb_pack_entry *e = &b.res.entries[i];

		ck_assert_mem_eq(e->id, b.ids[i], DSB_HASH_LEN);
		ck_assert_uint_eq(e->type, specs[i].type);
		ck_assert_msg(e->comp == specs[i].want_comp, "blob %zu: comp %u", i, e->comp);
		ck_assert_uint_eq(e->raw_len, specs[i].len);
		if (e->comp == DSB_COMP_NONE)
			ck_assert_uint_eq(e->stored_len, specs[i].len + DSB_TAG_LEN);
		else
			ck_assert_uint_lt(e->stored_len, specs[i].len + DSB_TAG_LEN);
		ck_assert_uint_eq(e->offset, off);
		off += e->stored_len;
	}
	tlen = dsb_get_le32(b.res.bytes + b.res.len - DSB_PACK_FOOTER_LEN);
	ck_assert_uint_eq(tlen, 4 + NSPECS * DSB_PACK_ENTRY_LEN + DSB_TAG_LEN);
	ck_assert_uint_eq(b.res.len, off + tlen + DSB_PACK_FOOTER_LEN);

	/* the reader's view: the same entries and offsets */
	ck_assert_int_eq(read_pack(b.keys, b.res.bytes, b.res.len, &hdr, &entries, &n), 0);
	ck_assert_uint_eq(n, NSPECS);
	ck_assert_mem_eq(&hdr, &b.res.header, sizeof(hdr));
	ck_assert_int_eq(dsb_blob_opener_new(b.keys, &o), 0);
	for (i = 0; i < n; i++) {
		ck_assert_mem_eq(entries[i].id, b.res.entries[i].id, DSB_HASH_LEN);
		ck_assert_uint_eq(entries[i].type, b.res.entries[i].type);
		ck_assert_uint_eq(entries[i].comp, b.res.entries[i].comp);
		ck_assert_uint_eq(entries[i].stored_len, b.res.entries[i].stored_len);
		ck_assert_uint_eq(entries[i].raw_len, b.res.entries[i].raw_len);
		ck_assert_uint_eq(entries[i].offset, b.res.entries[i].offset);
		ck_assert_msg(open_copy(o, &hdr, &entries[i], b.res.bytes, &out) == 0, "blob %zu: %s",
		    i, dsb_errmsg());
		ck_assert_uint_eq(out.len, specs[i].len);
		ck_assert(specs[i].len == 0 || memcmp(out.data, b.raw[i], specs[i].len) == 0);
	}
	free(entries);
	dsb_blob_opener_free(o);
	dsb_blob_opener_free(NULL);
	dsb_buf_release(&out);
	unbuild(&b);
}
END_TEST

START_TEST(test_pack_level0_stores_raw)
{
	struct built b;
	size_t i;

	build(&b, 0);
	for (i = 0; i < NSPECS; i++) {
		ck_assert_uint_eq(b.res.entries[i].comp, DSB_COMP_NONE);
		ck_assert_uint_eq(b.res.entries[i].stored_len, specs[i].len + DSB_TAG_LEN);
	}
	unbuild(&b);
}
END_TEST

START_TEST(test_pack_empty)
{
	struct dsb_keys *k = fixed_keys(2);
	struct dsb_pack_writer *w = NULL;
	struct dsb_pack_result res;
	struct dsb_pack_header hdr;
	struct dsb_pack_entry *entries = NULL;
	size_t n = 99;

	ck_assert_int_eq(dsb_pack_writer_new(k, 3, &w), 0);
	ck_assert_int_eq(dsb_pack_writer_finish(w, &res), 0);
	ck_assert_uint_eq(res.len, DSB_PACK_HEADER_LEN + 4 + DSB_TAG_LEN + DSB_PACK_FOOTER_LEN);
	ck_assert_int_eq(read_pack(k, res.bytes, res.len, &hdr, &entries, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(entries);
	/* finish twice and add after finish are refused */
	ck_assert_int_eq(dsb_pack_writer_finish(w, &res), DSB_ERR_INTERNAL);
	ck_assert_int_eq(dsb_pack_writer_add(w, hdr.salt, DSB_BLOB_DATA, "x", 1), DSB_ERR_INTERNAL);
	dsb_pack_writer_free(w);
	dsb_pack_writer_free(NULL);
	dsb_keys_free(k);
}
END_TEST

START_TEST(test_pack_writer_limits)
{
	struct dsb_keys *k = fixed_keys(3);
	struct dsb_pack_writer *w = NULL;
	uint8_t id[DSB_HASH_LEN] = { 0 };
	static uint8_t dummy[1];

	ck_assert_int_eq(dsb_pack_writer_new(k, 0, &w), 0);
	/* the length is checked before the bytes are touched */
	ck_assert_int_eq(dsb_pack_writer_add(w, id, DSB_BLOB_DATA, dummy,
	    (size_t)DSB_BLOB_DATA_MAX + 1), DSB_ERR_LIMIT);
	ck_assert_int_eq(dsb_pack_writer_add(w, id, DSB_BLOB_TREE, dummy,
	    (size_t)DSB_BLOB_RAW_MAX + 1), DSB_ERR_LIMIT);
	ck_assert_uint_eq(dsb_pack_writer_count(w), 0);
	dsb_pack_writer_free(w);
	dsb_keys_free(k);
}
END_TEST

/* Flipping any byte of one blob breaks that blob only. */
START_TEST(test_pack_damage_isolation)
{
	struct built b;
	struct dsb_blob_opener *o = NULL;
	struct dsb_buf out;
	uint8_t *copy;
	size_t i, j, pos;
	int r;

	build(&b, 3);
	dsb_buf_init(&out, 0);
	ck_assert_int_eq(dsb_blob_opener_new(b.keys, &o), 0);
	copy = malloc(b.res.len);
	memcpy(copy, b.res.bytes, b.res.len);
	for (i = 0; i < NSPECS; i++) {
		const struct dsb_pack_entry *e = &b.res.entries[i];

		for (pos = e->offset; pos < e->offset + e->stored_len; pos++) {
			copy[pos] ^= 0x01;
			for (j = 0; j < NSPECS; j++) {
				r = open_copy(o, &b.res.header, &b.res.entries[j], copy, &out);
				if (j == i)
					ck_assert_msg(r == DSB_ERR_AUTH, "blob %zu byte %zu: %d", i,
					    pos - e->offset, r);
				else
					ck_assert_msg(r == 0, "neighbour %zu of blob %zu: %s", j, i,
					    dsb_errmsg());
			}
			copy[pos] ^= 0x01;
		}
	}
	free(copy);
	dsb_blob_opener_free(o);
	dsb_buf_release(&out);
	unbuild(&b);
}
END_TEST

/* A blob opened under the wrong entry: wrong offset, id, type or lengths. */
START_TEST(test_blob_entry_mismatch)
{
	struct built b;
	struct dsb_blob_opener *o = NULL;
	struct dsb_pack_entry e;
	struct dsb_buf out;

	build(&b, 3);
	dsb_buf_init(&out, 0);
	ck_assert_int_eq(dsb_blob_opener_new(b.keys, &o), 0);
	e = b.res.entries[3];
	e.id[0] ^= 1;
	ck_assert_int_eq(open_copy(o, &b.res.header, &e, b.res.bytes, &out), DSB_ERR_AUTH);
	e = b.res.entries[3];
	e.type = DSB_BLOB_TREE;
	ck_assert_int_eq(open_copy(o, &b.res.header, &e, b.res.bytes, &out), DSB_ERR_AUTH);
	e = b.res.entries[3];
	e.raw_len++;
	ck_assert_int_eq(open_copy(o, &b.res.header, &e, b.res.bytes, &out), DSB_ERR_AUTH);
	/* the same bytes presented as if they were at another offset (nonce differs) */
	e = b.res.entries[3];
	e.offset += 1;
	{
		uint8_t *copy = malloc(e.stored_len);

		memcpy(copy, b.res.bytes + b.res.entries[3].offset, e.stored_len);
		ck_assert_int_eq(dsb_blob_open(o, &b.res.header, &e, copy, &out), DSB_ERR_AUTH);
		free(copy);
	}
	e = b.res.entries[3];
	e.stored_len = 15;
	ck_assert_int_eq(open_copy(o, &b.res.header, &e, b.res.bytes, &out), DSB_ERR_CORRUPT);
	dsb_blob_opener_free(o);
	dsb_buf_release(&out);
	unbuild(&b);
}
END_TEST

START_TEST(test_pack_trailer_flip)
{
	struct built b;
	struct dsb_pack_header hdr;
	struct dsb_pack_entry *entries = NULL;
	uint8_t *copy;
	size_t pos, n, tstart, tend;
	int r;

	build(&b, 3);
	copy = malloc(b.res.len);
	memcpy(copy, b.res.bytes, b.res.len);
	tend = b.res.len - DSB_PACK_FOOTER_LEN;
	tstart = tend - dsb_get_le32(b.res.bytes + tend);
	for (pos = tstart; pos < tend; pos++) {
		copy[pos] ^= 0x80;
		r = read_pack(b.keys, copy, b.res.len, &hdr, &entries, &n);
		ck_assert_msg(r == DSB_ERR_AUTH, "trailer byte %zu: %d", pos - tstart, r);
		copy[pos] ^= 0x80;
	}
	/* the header is authenticated through the trailer's AAD and the key id */
	for (pos = 0; pos < DSB_PACK_HEADER_LEN; pos++) {
		copy[pos] ^= 0x01;
		r = read_pack(b.keys, copy, b.res.len, &hdr, &entries, &n);
		if (pos < 8)
			ck_assert_int_eq(r, DSB_ERR_CORRUPT);
		else
			ck_assert_msg(r == DSB_ERR_AUTH, "header byte %zu: %d", pos, r);
		copy[pos] ^= 0x01;
	}
	ck_assert_int_eq(read_pack(b.keys, copy, b.res.len, &hdr, &entries, &n), 0);
	free(entries);
	free(copy);
	unbuild(&b);
}
END_TEST

START_TEST(test_pack_footer_and_truncation)
{
	struct built b;
	struct dsb_pack_header hdr;
	struct dsb_pack_entry *entries = NULL;
	uint8_t foot[DSB_PACK_FOOTER_LEN], *copy;
	uint32_t tlen, good;
	size_t n, len;
	int r;

	build(&b, 3);
	memcpy(foot, b.res.bytes + b.res.len - DSB_PACK_FOOTER_LEN, sizeof(foot));
	good = dsb_get_le32(foot);
	ck_assert_int_eq(dsb_pack_parse_footer(foot, sizeof(foot), b.res.len, &tlen), 0);
	ck_assert_uint_eq(tlen, good);
	/* wrong length of footer bytes */
	ck_assert_int_eq(dsb_pack_parse_footer(foot, sizeof(foot) - 1, b.res.len, &tlen),
	    DSB_ERR_CORRUPT);
	/* bad magic */
	foot[11] ^= 1;
	ck_assert_int_eq(dsb_pack_parse_footer(foot, sizeof(foot), b.res.len, &tlen), DSB_ERR_CORRUPT);
	foot[11] ^= 1;
	/* impossible trailer lengths */
	dsb_put_le32(foot, 0);
	ck_assert_int_eq(dsb_pack_parse_footer(foot, sizeof(foot), b.res.len, &tlen), DSB_ERR_CORRUPT);
	dsb_put_le32(foot, 19);
	ck_assert_int_eq(dsb_pack_parse_footer(foot, sizeof(foot), b.res.len, &tlen), DSB_ERR_CORRUPT);
	dsb_put_le32(foot, good + 1);
	ck_assert_int_eq(dsb_pack_parse_footer(foot, sizeof(foot), b.res.len, &tlen), DSB_ERR_CORRUPT);
	dsb_put_le32(foot, good + DSB_PACK_ENTRY_LEN * 10000);
	ck_assert_int_eq(dsb_pack_parse_footer(foot, sizeof(foot), b.res.len, &tlen), DSB_ERR_CORRUPT);
	dsb_put_le32(foot, 0xffffffffu);
	ck_assert_int_eq(dsb_pack_parse_footer(foot, sizeof(foot), UINT64_MAX, &tlen), DSB_ERR_CORRUPT);
	dsb_put_le32(foot, 20 + 44 * 97612892u);   /* fits the modulus, not the pack */
	ck_assert_int_eq(dsb_pack_parse_footer(foot, sizeof(foot), b.res.len, &tlen), DSB_ERR_CORRUPT);
	/* exactly fits an empty pack of that size */
	dsb_put_le32(foot, 20);
	ck_assert_int_eq(dsb_pack_parse_footer(foot, sizeof(foot), 80, &tlen), 0);
	ck_assert_int_eq(dsb_pack_parse_footer(foot, sizeof(foot), 79, &tlen), DSB_ERR_CORRUPT);

	/* trailer lengths the footer would have refused are refused by open_trailer too */
	ck_assert_int_eq(dsb_pack_parse_header(b.res.bytes, b.res.len, &hdr), 0);
	ck_assert_int_eq(dsb_pack_open_trailer(b.keys, &hdr, b.res.bytes, 19, b.res.len, &entries,
	    &n), DSB_ERR_CORRUPT);
	ck_assert_int_eq(dsb_pack_open_trailer(b.keys, &hdr, b.res.bytes, 21, b.res.len, &entries,
	    &n), DSB_ERR_CORRUPT);
	ck_assert_int_eq(dsb_pack_open_trailer(b.keys, &hdr, b.res.bytes, 64, 100, &entries, &n),
	    DSB_ERR_CORRUPT);

	/* header checks */
	ck_assert_int_eq(dsb_pack_parse_header(b.res.bytes, DSB_PACK_HEADER_LEN - 1, &hdr),
	    DSB_ERR_CORRUPT);

	/* every truncation is refused as corrupt */
	copy = malloc(b.res.len);
	for (len = 0; len < b.res.len; len++) {
		memcpy(copy, b.res.bytes, len);
		r = read_pack(b.keys, copy, len, &hdr, &entries, &n);
		ck_assert_msg(r == DSB_ERR_CORRUPT, "truncated to %zu: %d", len, r);
	}
	/* and so is appended garbage (the footer is no longer last) */
	copy = realloc(copy, b.res.len + 5);
	memcpy(copy, b.res.bytes, b.res.len);
	memset(copy + b.res.len, 0, 5);
	ck_assert_int_eq(read_pack(b.keys, copy, b.res.len + 5, &hdr, &entries, &n), DSB_ERR_CORRUPT);
	free(copy);
	unbuild(&b);
}
END_TEST

/* seal_trailer: an authentic trailer with arbitrary entries, for pack of ${pack_size} bytes */
static void seal_trailer(const struct dsb_keys *k, const struct dsb_pack_header *hdr,
    const uint8_t *plain, size_t n, uint64_t pack_size, uint8_t *out)
{
	uint8_t nonce[DSB_NONCE_LEN], aad[8 + DSB_PACK_HEADER_LEN];
	struct dsb_aead *a = NULL;
	uint64_t toff = pack_size - DSB_PACK_FOOTER_LEN - (n + DSB_TAG_LEN);

	ck_assert_int_eq(dsb_aead_derive(k, hdr->salt, PACK_INFO, &a), 0);
	dsb_put_le32(nonce, 1);
	dsb_put_le64(nonce + 4, toff);
	memcpy(aad, "DSBTRLR1", 8);
	memcpy(aad + 8, "DSBPACK1", 8);
	memcpy(aad + 16, hdr->key_id, DSB_KEYID_LEN);
	memcpy(aad + 24, hdr->salt, DSB_SALT_LEN);
	ck_assert_int_eq(dsb_aead_seal(a, nonce, aad, sizeof(aad), plain, n, out), 0);
	dsb_aead_free(a);
}

static void make_entry(uint8_t out[DSB_PACK_ENTRY_LEN], int type, int comp, uint32_t stored,
    uint32_t raw)
{
	memset(out, 0xab, DSB_HASH_LEN);
	out[32] = (uint8_t)type;
	out[33] = (uint8_t)comp;
	out[34] = out[35] = 0;
	dsb_put_le32(out + 36, stored);
	dsb_put_le32(out + 40, raw);
}

/* Authentic trailers whose entries do not add up are refused. */
START_TEST(test_trailer_inconsistent)
{
	struct dsb_keys *k = fixed_keys(4);
	struct dsb_pack_header hdr;
	struct dsb_pack_entry *entries = NULL;
	uint8_t plain[4 + 2 * DSB_PACK_ENTRY_LEN], sealed[sizeof(plain) + DSB_TAG_LEN];
	size_t n, tlen = sizeof(sealed);
	uint64_t size;

	dsb_keys_key_id(k, hdr.key_id);
	memset(hdr.salt, 0x5a, sizeof(hdr.salt));
	make_entry(plain + 4, DSB_BLOB_DATA, DSB_COMP_NONE, 116, 100);
	make_entry(plain + 4 + DSB_PACK_ENTRY_LEN, DSB_BLOB_TREE, DSB_COMP_ZSTD, 50, 1000);

	/* consistent: 48 + 116 + 50 = T */
	dsb_put_le32(plain, 2);
	size = 48 + 116 + 50 + tlen + 12;
	seal_trailer(k, &hdr, plain, sizeof(plain), size, sealed);
	ck_assert_int_eq(dsb_pack_open_trailer(k, &hdr, sealed, tlen, size, &entries, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(entries[0].offset, 48);
	ck_assert_uint_eq(entries[1].offset, 48 + 116);
	free(entries);
	entries = NULL;

	/* the blobs cover less than the data area */
	size += 1;
	seal_trailer(k, &hdr, plain, sizeof(plain), size, sealed);
	ck_assert_int_eq(dsb_pack_open_trailer(k, &hdr, sealed, tlen, size, &entries, &n),
	    DSB_ERR_CORRUPT);
	/* ... or more */
	size -= 2;
	seal_trailer(k, &hdr, plain, sizeof(plain), size, sealed);
	ck_assert_int_eq(dsb_pack_open_trailer(k, &hdr, sealed, tlen, size, &entries, &n),
	    DSB_ERR_CORRUPT);
	/* a count that disagrees with the length */
	size += 1;
	dsb_put_le32(plain, 3);
	seal_trailer(k, &hdr, plain, sizeof(plain), size, sealed);
	ck_assert_int_eq(dsb_pack_open_trailer(k, &hdr, sealed, tlen, size, &entries, &n),
	    DSB_ERR_CORRUPT);
	dsb_put_le32(plain, 0xffffffffu);
	seal_trailer(k, &hdr, plain, sizeof(plain), size, sealed);
	ck_assert_int_eq(dsb_pack_open_trailer(k, &hdr, sealed, tlen, size, &entries, &n),
	    DSB_ERR_CORRUPT);
	/* an entry that does not decode */
	dsb_put_le32(plain, 2);
	plain[4 + 32] = 7;
	seal_trailer(k, &hdr, plain, sizeof(plain), size, sealed);
	ck_assert_int_eq(dsb_pack_open_trailer(k, &hdr, sealed, tlen, size, &entries, &n),
	    DSB_ERR_CORRUPT);
	/* a trailer sealed for another offset does not authenticate */
	plain[4 + 32] = DSB_BLOB_DATA;
	seal_trailer(k, &hdr, plain, sizeof(plain), size + 44, sealed);
	ck_assert_int_eq(dsb_pack_open_trailer(k, &hdr, sealed, tlen, size, &entries, &n),
	    DSB_ERR_AUTH);
	dsb_keys_free(k);
}
END_TEST

static int decode(int type, int comp, uint32_t stored, uint32_t raw)
{
	uint8_t in[DSB_PACK_ENTRY_LEN];
	struct dsb_pack_entry e;

	make_entry(in, type, comp, stored, raw);
	return dsb_pack_entry_decode(in, &e);
}

START_TEST(test_entry_codec)
{
	struct dsb_pack_entry e, d;
	uint8_t buf[DSB_PACK_ENTRY_LEN];

	memset(&e, 0, sizeof(e));
	memset(e.id, 0x42, sizeof(e.id));
	e.type = DSB_BLOB_TREE;
	e.comp = DSB_COMP_ZSTD;
	e.stored_len = 1234;
	e.raw_len = 99999;
	e.offset = 777;
	dsb_pack_entry_encode(&e, buf);
	ck_assert_uint_eq(buf[34], 0);
	ck_assert_uint_eq(buf[35], 0);
	ck_assert_int_eq(dsb_pack_entry_decode(buf, &d), 0);
	ck_assert_mem_eq(d.id, e.id, DSB_HASH_LEN);
	ck_assert_uint_eq(d.type, e.type);
	ck_assert_uint_eq(d.comp, e.comp);
	ck_assert_uint_eq(d.stored_len, e.stored_len);
	ck_assert_uint_eq(d.raw_len, e.raw_len);
	ck_assert_uint_eq(d.offset, 0);
	/* reserved bytes must be zero */
	buf[35] = 1;
	ck_assert_int_eq(dsb_pack_entry_decode(buf, &d), DSB_ERR_CORRUPT);

	/* accepted edges */
	ck_assert_int_eq(decode(DSB_BLOB_DATA, DSB_COMP_NONE, 16, 0), 0);
	ck_assert_int_eq(decode(DSB_BLOB_DATA, DSB_COMP_NONE, DSB_BLOB_DATA_MAX + 16,
	    DSB_BLOB_DATA_MAX), 0);
	ck_assert_int_eq(decode(DSB_BLOB_TREE, DSB_COMP_NONE, DSB_BLOB_RAW_MAX + 16,
	    DSB_BLOB_RAW_MAX), 0);
	ck_assert_int_eq(decode(DSB_BLOB_DATA, DSB_COMP_ZSTD, 17, DSB_BLOB_DATA_MAX), 0);
	/* unknown type or compression */
	ck_assert_int_eq(decode(2, DSB_COMP_NONE, 16, 0), DSB_ERR_CORRUPT);
	ck_assert_int_eq(decode(255, DSB_COMP_NONE, 16, 0), DSB_ERR_CORRUPT);
	ck_assert_int_eq(decode(DSB_BLOB_DATA, 2, 16, 0), DSB_ERR_CORRUPT);
	/* stored shorter than a tag */
	ck_assert_int_eq(decode(DSB_BLOB_DATA, DSB_COMP_ZSTD, 15, 10), DSB_ERR_CORRUPT);
	ck_assert_int_eq(decode(DSB_BLOB_DATA, DSB_COMP_ZSTD, 0, 0), DSB_ERR_CORRUPT);
	/* raw over the limits of its type */
	ck_assert_int_eq(decode(DSB_BLOB_DATA, DSB_COMP_ZSTD, 100, DSB_BLOB_DATA_MAX + 1),
	    DSB_ERR_CORRUPT);
	ck_assert_int_eq(decode(DSB_BLOB_TREE, DSB_COMP_ZSTD, 100, DSB_BLOB_RAW_MAX + 1),
	    DSB_ERR_CORRUPT);
	ck_assert_int_eq(decode(DSB_BLOB_TREE, DSB_COMP_ZSTD, 100, 0xffffffffu), DSB_ERR_CORRUPT);
	/* stored over the limits (FORMAT.md §6: 64 MiB + 16 for data blobs) */
	ck_assert_int_eq(decode(DSB_BLOB_DATA, DSB_COMP_ZSTD, DSB_BLOB_DATA_MAX + 17, 100),
	    DSB_ERR_CORRUPT);
	ck_assert_int_eq(decode(DSB_BLOB_TREE, DSB_COMP_ZSTD, DSB_BLOB_RAW_MAX + 17, 100),
	    DSB_ERR_CORRUPT);
	ck_assert_int_eq(decode(DSB_BLOB_TREE, DSB_COMP_ZSTD, 0xffffffffu, 100), DSB_ERR_CORRUPT);
	/* uncompressed: stored must be raw + 16 */
	ck_assert_int_eq(decode(DSB_BLOB_DATA, DSB_COMP_NONE, 116, 99), DSB_ERR_CORRUPT);
	ck_assert_int_eq(decode(DSB_BLOB_DATA, DSB_COMP_NONE, 116, 101), DSB_ERR_CORRUPT);
	ck_assert_int_eq(decode(DSB_BLOB_DATA, DSB_COMP_NONE, 16, 0xfffffff0u), DSB_ERR_CORRUPT);
}
END_TEST

/* seal_blob: an authentic blob at offset 48 whose payload is ${payload} as given. */
static uint8_t *seal_blob(const struct dsb_keys *k, const struct dsb_pack_header *hdr,
    struct dsb_pack_entry *e, const void *payload, size_t plen)
{
	uint8_t nonce[DSB_NONCE_LEN], aad[38], *out = malloc(plen + DSB_TAG_LEN);
	struct dsb_aead *a = NULL;

	e->offset = DSB_PACK_HEADER_LEN;
	e->stored_len = (uint32_t)(plen + DSB_TAG_LEN);
	ck_assert_int_eq(dsb_aead_derive(k, hdr->salt, PACK_INFO, &a), 0);
	dsb_put_le32(nonce, 0);
	dsb_put_le64(nonce + 4, e->offset);
	memcpy(aad, e->id, DSB_HASH_LEN);
	aad[32] = e->type;
	aad[33] = e->comp;
	dsb_put_le32(aad + 34, e->raw_len);
	ck_assert_int_eq(dsb_aead_seal(a, nonce, aad, sizeof(aad), payload, plen, out), 0);
	dsb_aead_free(a);
	return out;
}

/* Authentic blobs whose contents contradict their entry are corrupt, not crashes. */
START_TEST(test_blob_raw_len_lies)
{
	struct dsb_keys *k = fixed_keys(5);
	struct dsb_blob_opener *o = NULL;
	struct dsb_pack_header hdr;
	struct dsb_pack_entry e;
	struct dsb_buf out;
	uint8_t raw[1000], frame[2048], *stored;
	size_t flen;
	ZSTD_CCtx *cctx;

	dsb_buf_init(&out, 0);
	ck_assert_int_eq(dsb_blob_opener_new(k, &o), 0);
	dsb_keys_key_id(k, hdr.key_id);
	memset(hdr.salt, 0x33, sizeof(hdr.salt));
	fill(raw, sizeof(raw), 1, 7);
	flen = ZSTD_compress(frame, sizeof(frame), raw, sizeof(raw), 3);
	ck_assert(!ZSTD_isError(flen));

	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(dsb_keys_blob_id(k, raw, sizeof(raw), e.id), 0);
	e.type = DSB_BLOB_DATA;
	e.comp = DSB_COMP_ZSTD;

	/* honest: opens */
	e.raw_len = sizeof(raw);
	stored = seal_blob(k, &hdr, &e, frame, flen);
	ck_assert_int_eq(dsb_blob_open(o, &hdr, &e, stored, &out), 0);
	ck_assert_mem_eq(out.data, raw, sizeof(raw));
	free(stored);
	/* the frame announces 1000 bytes, the entry says 999 or 1001 or 0 */
	e.raw_len = sizeof(raw) - 1;
	stored = seal_blob(k, &hdr, &e, frame, flen);
	ck_assert_int_eq(dsb_blob_open(o, &hdr, &e, stored, &out), DSB_ERR_CORRUPT);
	free(stored);
	e.raw_len = sizeof(raw) + 1;
	stored = seal_blob(k, &hdr, &e, frame, flen);
	ck_assert_int_eq(dsb_blob_open(o, &hdr, &e, stored, &out), DSB_ERR_CORRUPT);
	free(stored);
	e.raw_len = 0;
	stored = seal_blob(k, &hdr, &e, frame, flen);
	ck_assert_int_eq(dsb_blob_open(o, &hdr, &e, stored, &out), DSB_ERR_CORRUPT);
	free(stored);

	/* a frame that does not say its size */
	cctx = ZSTD_createCCtx();
	{
		ZSTD_outBuffer ob = { frame, sizeof(frame), 0 };
		ZSTD_inBuffer ib = { raw, sizeof(raw), 0 };

		ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
		ck_assert_uint_eq(ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_end), 0);
		flen = ob.pos;
	}
	ZSTD_freeCCtx(cctx);
	e.raw_len = sizeof(raw);
	stored = seal_blob(k, &hdr, &e, frame, flen);
	ck_assert_int_eq(dsb_blob_open(o, &hdr, &e, stored, &out), DSB_ERR_CORRUPT);
	free(stored);

	/* garbage in place of a frame */
	memset(frame, 0x28, 64);
	stored = seal_blob(k, &hdr, &e, frame, 64);
	ck_assert_int_eq(dsb_blob_open(o, &hdr, &e, stored, &out), DSB_ERR_CORRUPT);
	free(stored);
	/* a truncated frame that still announces the right size */
	flen = ZSTD_compress(frame, sizeof(frame), raw, sizeof(raw), 3);
	stored = seal_blob(k, &hdr, &e, frame, flen - 3);
	ck_assert_int_eq(dsb_blob_open(o, &hdr, &e, stored, &out), DSB_ERR_CORRUPT);
	free(stored);

	/* uncompressed with a payload of the wrong length */
	e.comp = DSB_COMP_NONE;
	e.raw_len = sizeof(raw) + 1;
	stored = seal_blob(k, &hdr, &e, raw, sizeof(raw));
	ck_assert_int_eq(dsb_blob_open(o, &hdr, &e, stored, &out), DSB_ERR_CORRUPT);
	free(stored);
	/* authentic, but the content is not what the id names */
	e.raw_len = sizeof(raw);
	raw[0] ^= 1;
	stored = seal_blob(k, &hdr, &e, raw, sizeof(raw));
	ck_assert_int_eq(dsb_blob_open(o, &hdr, &e, stored, &out), DSB_ERR_AUTH);
	free(stored);

	dsb_blob_opener_free(o);
	dsb_buf_release(&out);
	dsb_keys_free(k);
}
END_TEST

START_TEST(test_pack_other_keys)
{
	struct built b;
	struct dsb_keys *other = fixed_keys(99);
	struct dsb_blob_opener *o = NULL;
	struct dsb_pack_header hdr;
	struct dsb_pack_entry *entries = NULL;
	struct dsb_buf out;
	size_t n;

	build(&b, 3);
	dsb_buf_init(&out, 0);
	ck_assert_int_eq(read_pack(other, b.res.bytes, b.res.len, &hdr, &entries, &n), DSB_ERR_AUTH);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "key"));
	ck_assert_int_eq(dsb_blob_opener_new(other, &o), 0);
	ck_assert_int_eq(open_copy(o, &b.res.header, &b.res.entries[3], b.res.bytes, &out),
	    DSB_ERR_AUTH);
	/* a forged key id naming the other keys still does not authenticate */
	dsb_keys_key_id(other, hdr.key_id);
	memcpy(hdr.salt, b.res.header.salt, DSB_SALT_LEN);
	ck_assert_int_eq(open_copy(o, &hdr, &b.res.entries[3], b.res.bytes, &out), DSB_ERR_AUTH);
	dsb_blob_opener_free(o);
	dsb_buf_release(&out);
	dsb_keys_free(other);
	unbuild(&b);
}
END_TEST

/* Two packs from one writer have different salts, hence different subkeys. */
START_TEST(test_pack_salts_differ)
{
	struct dsb_keys *k = fixed_keys(6);
	struct dsb_pack_writer *w = NULL;
	struct dsb_pack_result r1, r2;
	uint8_t salt1[DSB_SALT_LEN], id[DSB_HASH_LEN] = { 0 }, blob1[64];

	ck_assert_int_eq(dsb_pack_writer_new(k, 0, &w), 0);
	ck_assert_int_eq(dsb_pack_writer_add(w, id, DSB_BLOB_DATA, "same bytes", 10), 0);
	ck_assert_int_eq(dsb_pack_writer_finish(w, &r1), 0);
	memcpy(salt1, r1.header.salt, sizeof(salt1));
	memcpy(blob1, r1.bytes + DSB_PACK_HEADER_LEN, 26);
	ck_assert_int_eq(dsb_pack_writer_reset(w), 0);
	ck_assert_uint_eq(dsb_pack_writer_size(w), DSB_PACK_HEADER_LEN);
	ck_assert_uint_eq(dsb_pack_writer_count(w), 0);
	ck_assert_int_eq(dsb_pack_writer_add(w, id, DSB_BLOB_DATA, "same bytes", 10), 0);
	ck_assert_int_eq(dsb_pack_writer_finish(w, &r2), 0);
	ck_assert_mem_ne(salt1, r2.header.salt, DSB_SALT_LEN);
	ck_assert_mem_ne(salt1, r2.bytes + 16, DSB_SALT_LEN);
	/* same plaintext, same offset, different subkey: different ciphertext */
	ck_assert_mem_ne(blob1, r2.bytes + DSB_PACK_HEADER_LEN, 26);
	dsb_pack_writer_free(w);
	dsb_keys_free(k);
}
END_TEST

/* ---- encrypted objects ---- */

static const char *const obj_types[] = { "index", "snapshot", "lock" };

START_TEST(test_object_roundtrip)
{
	static const size_t sizes[] = { 0, 1, 100, 20000 };
	struct dsb_keys *k = fixed_keys(7);
	struct dsb_buf obj, out;
	uint8_t key_id[DSB_KEYID_LEN], *raw;
	size_t t, s;
	int kind, level;

	dsb_buf_init(&obj, 0);
	dsb_buf_init(&out, 0);
	dsb_keys_key_id(k, key_id);
	raw = malloc(20000);
	for (t = 0; t < 3; t++)
		for (s = 0; s < 4; s++)
			for (kind = 1; kind <= 2; kind++)
				for (level = 0; level <= 19; level += 19) {
					fill(raw, sizes[s], kind, (uint32_t)s);
					ck_assert_int_eq(dsb_object_seal(k, obj_types[t], raw, sizes[s],
					    level, &obj), 0);
					ck_assert_mem_eq(obj.data, "DSBOBJ01", 8);
					ck_assert_mem_eq(obj.data + 8, key_id, DSB_KEYID_LEN);
					if (level == 0 || kind == 2 || sizes[s] <= 1)
						ck_assert_uint_eq(obj.len, 48 + 9 + sizes[s] + 16);
					else if (sizes[s] == 20000)
						ck_assert_uint_lt(obj.len, sizes[s] / 10);
					ck_assert_msg(dsb_object_open(k, obj_types[t], obj.data, obj.len,
					    sizes[s], &out) == 0, "%s: %s", obj_types[t], dsb_errmsg());
					ck_assert_uint_eq(out.len, sizes[s]);
					ck_assert(sizes[s] == 0 || memcmp(out.data, raw, sizes[s]) == 0);
				}
	free(raw);
	dsb_buf_release(&obj);
	dsb_buf_release(&out);
	dsb_keys_free(k);
}
END_TEST

START_TEST(test_object_wrong_type_or_keys)
{
	struct dsb_keys *k = fixed_keys(8), *other = fixed_keys(9);
	struct dsb_buf obj, out;
	size_t i;

	dsb_buf_init(&obj, 0);
	dsb_buf_init(&out, 0);
	ck_assert_int_eq(dsb_object_seal(k, "snapshot", "{}", 2, 3, &obj), 0);
	ck_assert_int_eq(dsb_object_open(k, "index", obj.data, obj.len, 100, &out), DSB_ERR_AUTH);
	ck_assert_int_eq(dsb_object_open(k, "lock", obj.data, obj.len, 100, &out), DSB_ERR_AUTH);
	ck_assert_int_eq(dsb_object_open(k, "snapshotx", obj.data, obj.len, 100, &out), DSB_ERR_AUTH);
	ck_assert_int_eq(dsb_object_open(k, "", obj.data, obj.len, 100, &out), DSB_ERR_AUTH);
	ck_assert_int_eq(dsb_object_open(other, "snapshot", obj.data, obj.len, 100, &out),
	    DSB_ERR_AUTH);
	/* every byte is authenticated */
	for (i = 8; i < obj.len; i++) {
		obj.data[i] ^= 0x10;
		ck_assert_int_eq(dsb_object_open(k, "snapshot", obj.data, obj.len, 100, &out),
		    DSB_ERR_AUTH);
		obj.data[i] ^= 0x10;
	}
	obj.data[0] ^= 1;
	ck_assert_int_eq(dsb_object_open(k, "snapshot", obj.data, obj.len, 100, &out),
	    DSB_ERR_CORRUPT);
	obj.data[0] ^= 1;
	ck_assert_int_eq(dsb_object_open(k, "snapshot", obj.data, obj.len, 100, &out), 0);
	/* two seals of the same bytes use different salts */
	{
		struct dsb_buf again;

		dsb_buf_init(&again, 0);
		ck_assert_int_eq(dsb_object_seal(k, "snapshot", "{}", 2, 3, &again), 0);
		ck_assert_mem_ne(again.data + 16, obj.data + 16, DSB_SALT_LEN);
		dsb_buf_release(&again);
	}
	dsb_buf_release(&obj);
	dsb_buf_release(&out);
	dsb_keys_free(k);
	dsb_keys_free(other);
}
END_TEST

START_TEST(test_object_truncated)
{
	struct dsb_keys *k = fixed_keys(10);
	struct dsb_buf obj, out;
	uint8_t *copy;
	size_t len;
	int r;

	dsb_buf_init(&obj, 0);
	dsb_buf_init(&out, 0);
	ck_assert_int_eq(dsb_object_seal(k, "index", "0123456789", 10, 0, &obj), 0);
	copy = malloc(obj.len);
	for (len = 0; len < obj.len; len++) {
		memcpy(copy, obj.data, len);
		r = dsb_object_open(k, "index", copy, len, 1000, &out);
		/* below the minimum: corrupt; longer: the tag cannot verify */
		if (len < DSB_OBJ_HEADER_LEN + 9 + DSB_TAG_LEN)
			ck_assert_msg(r == DSB_ERR_CORRUPT, "truncated to %zu: %d", len, r);
		else
			ck_assert_msg(r == DSB_ERR_AUTH, "truncated to %zu: %d", len, r);
	}
	free(copy);
	dsb_buf_release(&obj);
	dsb_buf_release(&out);
	dsb_keys_free(k);
}
END_TEST

/* seal_object_plain: an authentic object around an arbitrary plaintext (comp || raw_len || payload) */
static void seal_object_plain(const struct dsb_keys *k, const char *type, const uint8_t *plain,
    size_t n, struct dsb_buf *out)
{
	uint8_t nonce[DSB_NONCE_LEN] = { 0 }, aad[64], salt[DSB_SALT_LEN];
	struct dsb_aead *a = NULL;

	memset(salt, 0x77, sizeof(salt));
	dsb_buf_reset(out);
	ck_assert_int_eq(dsb_buf_reserve(out, DSB_OBJ_HEADER_LEN + n + DSB_TAG_LEN), 0);
	memcpy(out->data, "DSBOBJ01", 8);
	dsb_keys_key_id(k, out->data + 8);
	memcpy(out->data + 16, salt, sizeof(salt));
	memcpy(aad, out->data, DSB_OBJ_HEADER_LEN);
	memcpy(aad + DSB_OBJ_HEADER_LEN, type, strlen(type));
	ck_assert_int_eq(dsb_aead_derive(k, salt, OBJ_INFO, &a), 0);
	ck_assert_int_eq(dsb_aead_seal(a, nonce, aad, DSB_OBJ_HEADER_LEN + strlen(type), plain, n,
	    out->data + DSB_OBJ_HEADER_LEN), 0);
	out->len = DSB_OBJ_HEADER_LEN + n + DSB_TAG_LEN;
	dsb_aead_free(a);
}

START_TEST(test_object_limits_and_lies)
{
	struct dsb_keys *k = fixed_keys(11);
	struct dsb_buf obj, out, small;
	uint8_t plain[9 + 2048], raw[1000];
	size_t flen;

	dsb_buf_init(&obj, 0);
	dsb_buf_init(&out, 0);
	fill(raw, sizeof(raw), 1, 3);
	/* honest object, max_raw one byte too small */
	ck_assert_int_eq(dsb_object_seal(k, "lock", raw, sizeof(raw), 3, &obj), 0);
	ck_assert_int_eq(dsb_object_open(k, "lock", obj.data, obj.len, sizeof(raw) - 1, &out),
	    DSB_ERR_LIMIT);
	ck_assert_int_eq(dsb_object_open(k, "lock", obj.data, obj.len, sizeof(raw), &out), 0);

	/* a claim of 1 TiB is refused before anything is allocated for it */
	plain[0] = DSB_COMP_NONE;
	dsb_put_le64(plain + 1, (uint64_t)1 << 40);
	memcpy(plain + 9, "abc", 3);
	seal_object_plain(k, "index", plain, 12, &obj);
	ck_assert_int_eq(dsb_object_open(k, "index", obj.data, obj.len, DSB_OBJ_MAX_INDEX, &out),
	    DSB_ERR_LIMIT);
	plain[0] = DSB_COMP_ZSTD;
	seal_object_plain(k, "index", plain, 12, &obj);
	ck_assert_int_eq(dsb_object_open(k, "index", obj.data, obj.len, DSB_OBJ_MAX_INDEX, &out),
	    DSB_ERR_LIMIT);
	/* 2^32 + 3 must not pass as 3 */
	dsb_put_le64(plain + 1, ((uint64_t)1 << 32) + 3);
	plain[0] = DSB_COMP_NONE;
	seal_object_plain(k, "index", plain, 12, &obj);
	ck_assert_int_ne(dsb_object_open(k, "index", obj.data, obj.len, DSB_OBJ_MAX_INDEX, &out), 0);

	/* uncompressed, raw_len disagrees with the payload */
	dsb_put_le64(plain + 1, 4);
	seal_object_plain(k, "index", plain, 12, &obj);
	ck_assert_int_eq(dsb_object_open(k, "index", obj.data, obj.len, 100, &out), DSB_ERR_CORRUPT);
	dsb_put_le64(plain + 1, 3);
	seal_object_plain(k, "index", plain, 12, &obj);
	ck_assert_int_eq(dsb_object_open(k, "index", obj.data, obj.len, 100, &out), 0);
	ck_assert_uint_eq(out.len, 3);
	/* unknown compression */
	plain[0] = 2;
	seal_object_plain(k, "index", plain, 12, &obj);
	ck_assert_int_eq(dsb_object_open(k, "index", obj.data, obj.len, 100, &out), DSB_ERR_CORRUPT);
	/* a frame that announces another size than raw_len */
	flen = ZSTD_compress(plain + 9, 2048, raw, sizeof(raw), 3);
	ck_assert(!ZSTD_isError(flen));
	plain[0] = DSB_COMP_ZSTD;
	dsb_put_le64(plain + 1, sizeof(raw) - 1);
	seal_object_plain(k, "index", plain, 9 + flen, &obj);
	ck_assert_int_eq(dsb_object_open(k, "index", obj.data, obj.len, 5000, &out), DSB_ERR_CORRUPT);
	dsb_put_le64(plain + 1, sizeof(raw));
	seal_object_plain(k, "index", plain, 9 + flen, &obj);
	ck_assert_int_eq(dsb_object_open(k, "index", obj.data, obj.len, 5000, &out), 0);
	ck_assert_mem_eq(out.data, raw, sizeof(raw));
	/* garbage frame */
	memset(plain + 9, 0xee, 100);
	seal_object_plain(k, "index", plain, 109, &obj);
	ck_assert_int_eq(dsb_object_open(k, "index", obj.data, obj.len, 5000, &out), DSB_ERR_CORRUPT);
	/* the output buffer's own limit holds too */
	dsb_put_le64(plain + 1, sizeof(raw));
	flen = ZSTD_compress(plain + 9, 2048, raw, sizeof(raw), 3);
	seal_object_plain(k, "index", plain, 9 + flen, &obj);
	dsb_buf_init(&small, 100);
	ck_assert_int_eq(dsb_object_open(k, "index", obj.data, obj.len, 5000, &small), DSB_ERR_LIMIT);
	dsb_buf_release(&small);

	dsb_buf_release(&obj);
	dsb_buf_release(&out);
	dsb_keys_free(k);
}
END_TEST

static Suite *pack_suite(void)
{
	Suite *s = suite_create("pack");
	TCase *packs = tcase_create("packs");
	TCase *objects = tcase_create("objects");

	tcase_set_timeout(packs, 120);
	tcase_add_test(packs, test_pack_roundtrip);
	tcase_add_test(packs, test_pack_level0_stores_raw);
	tcase_add_test(packs, test_pack_empty);
	tcase_add_test(packs, test_pack_writer_limits);
	tcase_add_test(packs, test_pack_damage_isolation);
	tcase_add_test(packs, test_blob_entry_mismatch);
	tcase_add_test(packs, test_pack_trailer_flip);
	tcase_add_test(packs, test_pack_footer_and_truncation);
	tcase_add_test(packs, test_trailer_inconsistent);
	tcase_add_test(packs, test_entry_codec);
	tcase_add_test(packs, test_blob_raw_len_lies);
	tcase_add_test(packs, test_pack_other_keys);
	tcase_add_test(packs, test_pack_salts_differ);
	suite_add_tcase(s, packs);
	tcase_add_test(objects, test_object_roundtrip);
	tcase_add_test(objects, test_object_wrong_type_or_keys);
	tcase_add_test(objects, test_object_truncated);
	tcase_add_test(objects, test_object_limits_and_lies);
	suite_add_tcase(s, objects);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pack_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
