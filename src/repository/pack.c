/*
 * pack.c: encode and decode packs and encrypted objects (docs/FORMAT.md
 * §5-§7).  No I/O: callers fetch and store the bytes.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <zstd.h>

#include "dsbackup/error.h"
#include "dsbackup/pack.h"
#include "dsbackup/util.h"

static const char pack_magic[8] = { 'D', 'S', 'B', 'P', 'A', 'C', 'K', '1' };
static const char end_magic[8] = { 'D', 'S', 'B', 'P', 'E', 'N', 'D', '1' };
static const char trailer_label[8] = { 'D', 'S', 'B', 'T', 'R', 'L', 'R', '1' };
static const char obj_magic[8] = { 'D', 'S', 'B', 'O', 'B', 'J', '0', '1' };

#define PACK_INFO "dsbackup pack v1"
#define OBJ_INFO "dsbackup object v1"
#define NONCE_BLOB 0
#define NONCE_TRAILER 1

struct dsb_pack_writer {
	const struct dsb_keys *keys;
	int level;
	ZSTD_CCtx *cctx;
	struct dsb_aead *aead;
	struct dsb_pack_header header;
	struct dsb_buf bytes;     /* the pack being built */
	struct dsb_buf scratch;   /* compression output */
	struct dsb_pack_entry *entries;
	size_t n, cap;
	int finished;
};

static void make_nonce(uint8_t nonce[DSB_NONCE_LEN], uint32_t domain, uint64_t offset)
{
	dsb_put_le32(nonce, domain);
	dsb_put_le64(nonce + 4, offset);
}

static void blob_aad(const struct dsb_pack_entry *e, uint8_t aad[38])
{
	memcpy(aad, e->id, DSB_HASH_LEN);
	aad[32] = e->type;
	aad[33] = e->comp;
	dsb_put_le32(aad + 34, e->raw_len);
}

static void header_encode(const struct dsb_pack_header *h, const char magic[8],
    uint8_t out[DSB_PACK_HEADER_LEN])
{
	memcpy(out, magic, 8);
	memcpy(out + 8, h->key_id, DSB_KEYID_LEN);
	memcpy(out + 16, h->salt, DSB_SALT_LEN);
}

int dsb_pack_writer_new(const struct dsb_keys *k, int level, struct dsb_pack_writer **out)
{
	struct dsb_pack_writer *w;
	int r = DSB_ERR_INTERNAL;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory creating pack writer");
	w->keys = k;
	w->level = level;
	dsb_buf_init(&w->bytes, DSB_PACK_MAX);
	dsb_buf_init(&w->scratch, 0);
	if (level > 0 && (w->cctx = ZSTD_createCCtx()) == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "cannot create zstd context");
		goto out;
	}
	if (w->cctx != NULL)
		ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level);
	if ((r = dsb_pack_writer_reset(w)) != 0)
		goto out;
	*out = w;
	w = NULL;
	r = 0;
out:
	dsb_pack_writer_free(w);
	return r;
}

int dsb_pack_writer_reset(struct dsb_pack_writer *w)
{
	uint8_t hdr[DSB_PACK_HEADER_LEN];
	int r;

	dsb_aead_free(w->aead);
	w->aead = NULL;
	w->n = 0;
	w->finished = 0;
	dsb_buf_reset(&w->bytes);
	dsb_keys_key_id(w->keys, w->header.key_id);
	if ((r = dsb_random(w->header.salt, DSB_SALT_LEN)) != 0)
		return r;
	if ((r = dsb_aead_derive(w->keys, w->header.salt, PACK_INFO, &w->aead)) != 0)
		return r;
	header_encode(&w->header, pack_magic, hdr);
	return dsb_buf_append(&w->bytes, hdr, sizeof(hdr));
}

void dsb_pack_writer_free(struct dsb_pack_writer *w)
{
	if (w == NULL)
		return;
	ZSTD_freeCCtx(w->cctx);
	dsb_aead_free(w->aead);
	dsb_buf_release(&w->bytes);
	dsb_buf_release(&w->scratch);
	free(w->entries);
	free(w);
}

size_t dsb_pack_writer_size(const struct dsb_pack_writer *w)
{
	return w->bytes.len;
}

size_t dsb_pack_writer_count(const struct dsb_pack_writer *w)
{
	return w->n;
}

static int push_entry(struct dsb_pack_writer *w, const struct dsb_pack_entry *e)
{
	if (DSB_GROW(w->entries, w->cap, w->n, "pack entries") != 0)
		return DSB_ERR_NOMEM;
	w->entries[w->n++] = *e;
	return 0;
}

/* compress ${raw} into w->scratch; returns 1 when that made it smaller. */
static int try_compress(struct dsb_pack_writer *w, const void *raw, size_t len, int *smaller)
{
	size_t bound = ZSTD_compressBound(len), n;
	int r;

	*smaller = 0;
	if (w->cctx == NULL || len < 64)
		return 0;
	dsb_buf_reset(&w->scratch);
	if ((r = dsb_buf_reserve(&w->scratch, bound)) != 0)
		return r;
	n = ZSTD_compress2(w->cctx, w->scratch.data, bound, raw, len);
	if (ZSTD_isError(n))
		return dsb_error(DSB_ERR_INTERNAL, "zstd compression failed: %s", ZSTD_getErrorName(n));
	if (n < len) {
		w->scratch.len = n;
		*smaller = 1;
	}
	return 0;
}

int dsb_pack_writer_add(struct dsb_pack_writer *w, const uint8_t id[DSB_HASH_LEN], int type,
    const void *raw, size_t len)
{
	struct dsb_pack_entry e;
	uint8_t nonce[DSB_NONCE_LEN], aad[38];
	const void *payload = raw;
	size_t plen = len;
	int r, smaller;

	if (w->finished)
		return dsb_error(DSB_ERR_INTERNAL, "pack writer used after finish");
	if (len > (type == DSB_BLOB_DATA ? DSB_BLOB_DATA_MAX : DSB_BLOB_RAW_MAX))
		return dsb_error(DSB_ERR_LIMIT, "blob of %zu bytes exceeds the format's limit", len);
	if ((r = try_compress(w, raw, len, &smaller)) != 0)
		return r;
	memset(&e, 0, sizeof(e));
	memcpy(e.id, id, DSB_HASH_LEN);
	e.type = (uint8_t)type;
	e.comp = smaller ? DSB_COMP_ZSTD : DSB_COMP_NONE;
	e.raw_len = (uint32_t)len;
	if (smaller) {
		payload = w->scratch.data;
		plen = w->scratch.len;
	}
	e.stored_len = (uint32_t)(plen + DSB_TAG_LEN);
	e.offset = w->bytes.len;
	if ((r = dsb_buf_reserve(&w->bytes, e.stored_len)) != 0)
		return r;
	make_nonce(nonce, NONCE_BLOB, e.offset);
	blob_aad(&e, aad);
	if ((r = dsb_aead_seal(w->aead, nonce, aad, sizeof(aad), payload, plen,
	    w->bytes.data + w->bytes.len)) != 0)
		return r;
	if ((r = push_entry(w, &e)) != 0)
		return r;
	w->bytes.len += e.stored_len;
	return 0;
}

void dsb_pack_entry_encode(const struct dsb_pack_entry *e, uint8_t out[DSB_PACK_ENTRY_LEN])
{
	memcpy(out, e->id, DSB_HASH_LEN);
	out[32] = e->type;
	out[33] = e->comp;
	out[34] = out[35] = 0;
	dsb_put_le32(out + 36, e->stored_len);
	dsb_put_le32(out + 40, e->raw_len);
}

int dsb_pack_entry_decode(const uint8_t in[DSB_PACK_ENTRY_LEN], struct dsb_pack_entry *e)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->id, in, DSB_HASH_LEN);
	e->type = in[32];
	e->comp = in[33];
	e->stored_len = dsb_get_le32(in + 36);
	e->raw_len = dsb_get_le32(in + 40);
	if (e->type > DSB_BLOB_TREE || e->comp > DSB_COMP_ZSTD || in[34] != 0 || in[35] != 0)
		return dsb_error(DSB_ERR_CORRUPT, "blob entry has unknown type %u or compression %u",
		    e->type, e->comp);
	if (e->stored_len < DSB_TAG_LEN ||
	    e->raw_len > (e->type == DSB_BLOB_DATA ? DSB_BLOB_DATA_MAX : DSB_BLOB_RAW_MAX) ||
	    e->stored_len > (e->type == DSB_BLOB_DATA ? DSB_BLOB_DATA_MAX : DSB_BLOB_RAW_MAX) +
	    DSB_TAG_LEN)
		return dsb_error(DSB_ERR_CORRUPT, "blob entry has impossible lengths "
		    "(stored %u, raw %u)", e->stored_len, e->raw_len);
	if (e->comp == DSB_COMP_NONE && e->stored_len != e->raw_len + DSB_TAG_LEN)
		return dsb_error(DSB_ERR_CORRUPT, "uncompressed blob entry: stored length %u "
		    "does not match raw length %u", e->stored_len, e->raw_len);
	return 0;
}

int dsb_pack_writer_finish(struct dsb_pack_writer *w, struct dsb_pack_result *res)
{
	uint8_t nonce[DSB_NONCE_LEN], aad[8 + DSB_PACK_HEADER_LEN], footer[DSB_PACK_FOOTER_LEN];
	struct dsb_buf plain;
	size_t i, tlen;
	uint64_t toff = w->bytes.len;
	int r = DSB_ERR_INTERNAL;

	dsb_buf_init(&plain, 0);
	if (w->finished)
		return dsb_error(DSB_ERR_INTERNAL, "pack finished twice");
	if ((r = dsb_buf_reserve(&plain, 4 + w->n * DSB_PACK_ENTRY_LEN)) != 0)
		goto out;
	dsb_put_le32(plain.data, (uint32_t)w->n);
	plain.len = 4;
	for (i = 0; i < w->n; i++) {
		dsb_pack_entry_encode(&w->entries[i], plain.data + plain.len);
		plain.len += DSB_PACK_ENTRY_LEN;
	}
	tlen = plain.len + DSB_TAG_LEN;
	if ((r = dsb_buf_reserve(&w->bytes, tlen + DSB_PACK_FOOTER_LEN)) != 0)
		goto out;
	make_nonce(nonce, NONCE_TRAILER, toff);
	memcpy(aad, trailer_label, 8);
	memcpy(aad + 8, w->bytes.data, DSB_PACK_HEADER_LEN);
	if ((r = dsb_aead_seal(w->aead, nonce, aad, sizeof(aad), plain.data, plain.len,
	    w->bytes.data + w->bytes.len)) != 0)
		goto out;
	w->bytes.len += tlen;
	dsb_put_le32(footer, (uint32_t)tlen);
	memcpy(footer + 4, end_magic, 8);
	memcpy(w->bytes.data + w->bytes.len, footer, sizeof(footer));
	w->bytes.len += sizeof(footer);
	w->finished = 1;
	dsb_sha256(w->bytes.data, w->bytes.len, res->id);
	res->bytes = w->bytes.data;
	res->len = w->bytes.len;
	res->header = w->header;
	res->entries = w->entries;
	res->n = w->n;
	r = 0;
out:
	dsb_buf_release(&plain);
	return r;
}

int dsb_pack_parse_header(const uint8_t *p, size_t n, struct dsb_pack_header *out)
{
	if (n < DSB_PACK_HEADER_LEN || memcmp(p, pack_magic, 8) != 0)
		return dsb_error(DSB_ERR_CORRUPT, "not a dsbackup pack (bad header magic)");
	memcpy(out->key_id, p + 8, DSB_KEYID_LEN);
	memcpy(out->salt, p + 16, DSB_SALT_LEN);
	return 0;
}

int dsb_pack_parse_footer(const uint8_t *p, size_t n, uint64_t pack_size, uint32_t *trailer_len)
{
	uint32_t t;

	if (n != DSB_PACK_FOOTER_LEN || memcmp(p + 4, end_magic, 8) != 0)
		return dsb_error(DSB_ERR_CORRUPT, "pack is truncated or damaged (bad footer magic)");
	t = dsb_get_le32(p);
	if (t < 4 + DSB_TAG_LEN || (t - 4 - DSB_TAG_LEN) % DSB_PACK_ENTRY_LEN != 0 ||
	    (uint64_t)t + DSB_PACK_HEADER_LEN + DSB_PACK_FOOTER_LEN > pack_size)
		return dsb_error(DSB_ERR_CORRUPT, "pack footer gives an impossible trailer length %u "
		    "for a pack of %llu bytes", t, (unsigned long long)pack_size);
	*trailer_len = t;
	return 0;
}

static int decode_entries(const uint8_t *plain, size_t len, uint64_t data_end,
    struct dsb_pack_entry **entries, size_t *n)
{
	struct dsb_pack_entry *e = NULL;
	uint64_t off = DSB_PACK_HEADER_LEN;
	uint32_t count;
	size_t i;
	int r = DSB_ERR_INTERNAL;

	count = dsb_get_le32(plain);
	if ((size_t)count != (len - 4) / DSB_PACK_ENTRY_LEN)
		return dsb_error(DSB_ERR_CORRUPT, "pack trailer count %u does not match its length", count);
	if (count > 0 && (e = calloc(count, sizeof(*e))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory for %u pack entries", count);
	for (i = 0; i < count; i++) {
		if ((r = dsb_pack_entry_decode(plain + 4 + i * DSB_PACK_ENTRY_LEN, &e[i])) != 0)
			goto out;
		e[i].offset = off;
		off += e[i].stored_len;
		if (off > data_end) {
			r = dsb_error(DSB_ERR_CORRUPT, "pack trailer lists blobs beyond the data area");
			goto out;
		}
	}
	if (off != data_end) {
		r = dsb_error(DSB_ERR_CORRUPT, "pack trailer lists %llu bytes of blobs, pack holds %llu",
		    (unsigned long long)(off - DSB_PACK_HEADER_LEN),
		    (unsigned long long)(data_end - DSB_PACK_HEADER_LEN));
		goto out;
	}
	*entries = e;
	*n = count;
	e = NULL;
	r = 0;
out:
	free(e);
	return r;
}

int dsb_pack_open_trailer(const struct dsb_keys *k, const struct dsb_pack_header *hdr,
    const uint8_t *trailer, size_t len, uint64_t pack_size,
    struct dsb_pack_entry **entries, size_t *n)
{
	uint8_t nonce[DSB_NONCE_LEN], aad[8 + DSB_PACK_HEADER_LEN];
	struct dsb_aead *a = NULL;
	uint8_t *plain = NULL;
	uint64_t toff;
	int r = DSB_ERR_INTERNAL;

	if (len < 4 + DSB_TAG_LEN || (len - 4 - DSB_TAG_LEN) % DSB_PACK_ENTRY_LEN != 0 ||
	    len + DSB_PACK_HEADER_LEN + DSB_PACK_FOOTER_LEN > pack_size)
		return dsb_error(DSB_ERR_CORRUPT, "pack trailer of %zu bytes does not fit", len);
	toff = pack_size - DSB_PACK_FOOTER_LEN - len;
	if ((plain = malloc(len)) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory for pack trailer");
	if ((r = dsb_aead_derive_for(k, hdr->key_id, hdr->salt, PACK_INFO, &a)) != 0)
		goto out;
	make_nonce(nonce, NONCE_TRAILER, toff);
	memcpy(aad, trailer_label, 8);
	header_encode(hdr, pack_magic, aad + 8);
	if ((r = dsb_aead_open(a, nonce, aad, sizeof(aad), trailer, len, plain)) != 0) {
		r = dsb_error_wrap(r, "pack trailer does not authenticate");
		goto out;
	}
	r = decode_entries(plain, len - DSB_TAG_LEN, toff, entries, n);
out:
	dsb_aead_free(a);
	free(plain);
	return r;
}

struct dsb_blob_opener {
	const struct dsb_keys *keys;
	ZSTD_DCtx *dctx;
	struct dsb_aead *aead;
	uint8_t salt[DSB_SALT_LEN];   /* of the subkey in aead */
};

int dsb_blob_opener_new(const struct dsb_keys *k, struct dsb_blob_opener **out)
{
	struct dsb_blob_opener *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	o->keys = k;
	if ((o->dctx = ZSTD_createDCtx()) == NULL) {
		free(o);
		return dsb_error(DSB_ERR_NOMEM, "cannot create zstd context");
	}
	*out = o;
	return 0;
}

void dsb_blob_opener_free(struct dsb_blob_opener *o)
{
	if (o == NULL)
		return;
	ZSTD_freeDCtx(o->dctx);
	dsb_aead_free(o->aead);
	free(o);
}

/* decompress exactly raw_len bytes of one frame; anything else is corrupt */
static int decompress_exact(ZSTD_DCtx *d, const uint8_t *src, size_t n, uint32_t raw_len,
    struct dsb_buf *out)
{
	unsigned long long fsize = ZSTD_getFrameContentSize(src, n);
	size_t got;
	int r;

	if (fsize != (unsigned long long)raw_len)
		return dsb_error(DSB_ERR_CORRUPT, "compressed blob announces %llu bytes, expected %u",
		    fsize, raw_len);
	dsb_buf_reset(out);
	if ((r = dsb_buf_reserve(out, raw_len ? raw_len : 1)) != 0)
		return r;
	got = ZSTD_decompressDCtx(d, out->data, raw_len, src, n);
	if (ZSTD_isError(got) || got != raw_len)
		return dsb_error(DSB_ERR_CORRUPT, "blob does not decompress: %s",
		    ZSTD_isError(got) ? ZSTD_getErrorName(got) : "wrong length");
	out->len = got;
	return 0;
}

int dsb_blob_open(struct dsb_blob_opener *o, const struct dsb_pack_header *hdr,
    const struct dsb_pack_entry *e, uint8_t *stored, struct dsb_buf *out)
{
	uint8_t nonce[DSB_NONCE_LEN], aad[38], id[DSB_HASH_LEN];
	size_t plen;
	int r;

	if (e->stored_len < DSB_TAG_LEN)
		return dsb_error(DSB_ERR_CORRUPT, "blob shorter than its tag");
	if (o->aead == NULL || memcmp(o->salt, hdr->salt, DSB_SALT_LEN) != 0) {
		dsb_aead_free(o->aead);
		o->aead = NULL;
		if ((r = dsb_aead_derive_for(o->keys, hdr->key_id, hdr->salt, PACK_INFO,
		    &o->aead)) != 0)
			return r;
		memcpy(o->salt, hdr->salt, DSB_SALT_LEN);
	}
	plen = e->stored_len - DSB_TAG_LEN;
	make_nonce(nonce, NONCE_BLOB, e->offset);
	blob_aad(e, aad);
	if ((r = dsb_aead_open(o->aead, nonce, aad, sizeof(aad), stored, e->stored_len, stored)) != 0)
		return r;
	if (e->comp == DSB_COMP_ZSTD) {
		if ((r = decompress_exact(o->dctx, stored, plen, e->raw_len, out)) != 0)
			return r;
	} else {
		if (plen != e->raw_len)
			return dsb_error(DSB_ERR_CORRUPT, "raw blob has %zu bytes, expected %u",
			    plen, e->raw_len);
		dsb_buf_reset(out);
		if ((r = dsb_buf_append(out, stored, plen)) != 0)
			return r;
	}
	if ((r = dsb_keys_blob_id(o->keys, out->data, out->len, id)) != 0)
		return r;
	if (CRYPTO_memcmp(id, e->id, DSB_HASH_LEN) != 0)
		return dsb_error(DSB_ERR_AUTH, "blob content does not match its id");
	return 0;
}

/* ---- encrypted objects ---- */

static void object_aad(const uint8_t hdr[DSB_OBJ_HEADER_LEN], const char *type, struct dsb_buf *aad)
{
	dsb_buf_reset(aad);
	/* both fit: the buffer is reserved by the caller */
	memcpy(aad->data, hdr, DSB_OBJ_HEADER_LEN);
	memcpy(aad->data + DSB_OBJ_HEADER_LEN, type, strlen(type));
	aad->len = DSB_OBJ_HEADER_LEN + strlen(type);
}

int dsb_object_seal(const struct dsb_keys *k, const char *type, const void *raw, size_t len,
    int level, struct dsb_buf *out)
{
	struct dsb_pack_header h;
	struct dsb_aead *a = NULL;
	struct dsb_buf plain, aad;
	uint8_t nonce[DSB_NONCE_LEN] = { 0 }, hdr[DSB_OBJ_HEADER_LEN];
	size_t bound, n;
	int r = DSB_ERR_INTERNAL;

	dsb_buf_init(&plain, 0);
	dsb_buf_init(&aad, 0);
	dsb_keys_key_id(k, h.key_id);
	if ((r = dsb_random(h.salt, DSB_SALT_LEN)) != 0)
		goto out;
	header_encode(&h, obj_magic, hdr);
	bound = ZSTD_compressBound(len);
	if ((r = dsb_buf_reserve(&plain, 9 + bound)) != 0 ||
	    (r = dsb_buf_reserve(&aad, DSB_OBJ_HEADER_LEN + strlen(type))) != 0)
		goto out;
	dsb_put_le64(plain.data + 1, len);
	n = level > 0 ? ZSTD_compress(plain.data + 9, bound, raw, len, level) : len;
	if (level > 0 && !ZSTD_isError(n) && n < len) {
		plain.data[0] = DSB_COMP_ZSTD;
	} else {
		plain.data[0] = DSB_COMP_NONE;
		if (len > 0)
			memcpy(plain.data + 9, raw, len);
		n = len;
	}
	plain.len = 9 + n;
	if ((r = dsb_aead_derive(k, h.salt, OBJ_INFO, &a)) != 0)
		goto out;
	object_aad(hdr, type, &aad);
	dsb_buf_reset(out);
	if ((r = dsb_buf_reserve(out, DSB_OBJ_HEADER_LEN + plain.len + DSB_TAG_LEN)) != 0)
		goto out;
	memcpy(out->data, hdr, DSB_OBJ_HEADER_LEN);
	if ((r = dsb_aead_seal(a, nonce, aad.data, aad.len, plain.data, plain.len,
	    out->data + DSB_OBJ_HEADER_LEN)) != 0)
		goto out;
	out->len = DSB_OBJ_HEADER_LEN + plain.len + DSB_TAG_LEN;
	r = 0;
out:
	dsb_aead_free(a);
	dsb_buf_release(&plain);
	dsb_buf_release(&aad);
	return r;
}

int dsb_object_open(const struct dsb_keys *k, const char *type, const void *obj, size_t len,
    size_t max_raw, struct dsb_buf *out)
{
	const uint8_t *p = obj;
	struct dsb_pack_header h;
	struct dsb_aead *a = NULL;
	struct dsb_buf plain, aad;
	uint8_t nonce[DSB_NONCE_LEN] = { 0 };
	uint64_t raw_len;
	ZSTD_DCtx *d = NULL;
	int r = DSB_ERR_INTERNAL;

	dsb_buf_init(&plain, 0);
	dsb_buf_init(&aad, 0);
	if (len < DSB_OBJ_HEADER_LEN + 9 + DSB_TAG_LEN || memcmp(p, obj_magic, 8) != 0)
		return dsb_error(DSB_ERR_CORRUPT, "not a dsbackup %s object (bad magic or too short)", type);
	memcpy(h.key_id, p + 8, DSB_KEYID_LEN);
	memcpy(h.salt, p + 16, DSB_SALT_LEN);
	if ((r = dsb_buf_reserve(&plain, len - DSB_OBJ_HEADER_LEN)) != 0 ||
	    (r = dsb_buf_reserve(&aad, DSB_OBJ_HEADER_LEN + strlen(type))) != 0)
		goto out;
	if ((r = dsb_aead_derive_for(k, h.key_id, h.salt, OBJ_INFO, &a)) != 0)
		goto out;
	object_aad(p, type, &aad);
	if ((r = dsb_aead_open(a, nonce, aad.data, aad.len, p + DSB_OBJ_HEADER_LEN,
	    len - DSB_OBJ_HEADER_LEN, plain.data)) != 0) {
		r = dsb_error_wrap(r, "%s object does not authenticate", type);
		goto out;
	}
	plain.len = len - DSB_OBJ_HEADER_LEN - DSB_TAG_LEN;
	raw_len = dsb_get_le64(plain.data + 1);
	if (raw_len > max_raw) {
		r = dsb_error(DSB_ERR_LIMIT, "%s object claims %llu bytes, more than the %zu allowed",
		    type, (unsigned long long)raw_len, max_raw);
		goto out;
	}
	if (plain.data[0] == DSB_COMP_ZSTD) {
		if ((d = ZSTD_createDCtx()) == NULL) {
			r = dsb_error(DSB_ERR_NOMEM, "cannot create zstd context");
			goto out;
		}
		r = decompress_exact(d, plain.data + 9, plain.len - 9, (uint32_t)raw_len, out);
	} else if (plain.data[0] == DSB_COMP_NONE && plain.len - 9 == raw_len) {
		dsb_buf_reset(out);
		r = dsb_buf_append(out, plain.data + 9, raw_len);
	} else {
		r = dsb_error(DSB_ERR_CORRUPT, "%s object has unknown compression %u or wrong length",
		    type, plain.data[0]);
	}
out:
	ZSTD_freeDCtx(d);
	dsb_aead_free(a);
	dsb_buf_release_secret(&plain);
	dsb_buf_release(&aad);
	return r;
}
