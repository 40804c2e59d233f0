/*
 * pack.h: packs and encrypted objects, byte for byte as docs/FORMAT.md §5-§7
 * describe them.  Pure encoding and decoding: no I/O here.  Every length
 * read from stored bytes is checked before it is used.
 */
#ifndef DSBACKUP_PACK_H
#define DSBACKUP_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "dsbackup/buf.h"
#include "dsbackup/crypto.h"

#define DSB_PACK_HEADER_LEN 48
#define DSB_PACK_FOOTER_LEN 12
#define DSB_PACK_ENTRY_LEN 44
#define DSB_OBJ_HEADER_LEN 48

#define DSB_BLOB_DATA 0
#define DSB_BLOB_TREE 1
#define DSB_COMP_NONE 0
#define DSB_COMP_ZSTD 1

#define DSB_BLOB_DATA_MAX ((uint32_t)64 << 20)    /* raw data blob limit */
#define DSB_BLOB_RAW_MAX ((uint32_t)128 << 20)    /* raw tree blob limit */
#define DSB_PACK_MAX ((uint64_t)1 << 30)           /* largest pack accepted */

#define DSB_OBJ_MAX_INDEX ((size_t)64 << 20)
#define DSB_OBJ_MAX_SNAPSHOT ((size_t)16 << 20)
#define DSB_OBJ_MAX_LOCK ((size_t)64 << 10)

struct dsb_pack_entry {
	uint8_t id[DSB_HASH_LEN];
	uint8_t type;
	uint8_t comp;
	uint32_t stored_len;
	uint32_t raw_len;
	uint64_t offset;       /* derived: not stored */
};

/* A pack's identity and the key material a reader needs for its blobs. */
struct dsb_pack_header {
	uint8_t key_id[DSB_KEYID_LEN];
	uint8_t salt[DSB_SALT_LEN];
};

/* A finished pack: valid until the writer is reset or freed. */
struct dsb_pack_result {
	uint8_t id[DSB_HASH_LEN];         /* sha256 of bytes */
	const uint8_t *bytes;
	size_t len;
	struct dsb_pack_header header;
	const struct dsb_pack_entry *entries;
	size_t n;
};

struct dsb_pack_writer;

/* dsb_pack_writer_new(k, level, out): level 0 stores raw, 1..19 zstd. */
int dsb_pack_writer_new(const struct dsb_keys *k, int level, struct dsb_pack_writer **out);
/* dsb_pack_writer_add(w, id, type, raw, len): compress (when it pays), encrypt, append. */
int dsb_pack_writer_add(struct dsb_pack_writer *w, const uint8_t id[DSB_HASH_LEN], int type,
    const void *raw, size_t len);
/* bytes written so far and blob count */
size_t dsb_pack_writer_size(const struct dsb_pack_writer *w);
size_t dsb_pack_writer_count(const struct dsb_pack_writer *w);
/* dsb_pack_writer_finish(w, res): append trailer and footer, hash.  The writer must then be reset. */
int dsb_pack_writer_finish(struct dsb_pack_writer *w, struct dsb_pack_result *res);
/* dsb_pack_writer_reset(w): start a new pack (new salt, new subkey). */
int dsb_pack_writer_reset(struct dsb_pack_writer *w);
void dsb_pack_writer_free(struct dsb_pack_writer *w);

/* dsb_pack_parse_header(p, n, out): check magic; DSB_ERR_CORRUPT otherwise. */
int dsb_pack_parse_header(const uint8_t *p, size_t n, struct dsb_pack_header *out);
/*
 * dsb_pack_parse_footer(p, n, pack_size, trailer_len): the last 12 bytes;
 * checks magic and that the trailer fits in ${pack_size}.
 */
int dsb_pack_parse_footer(const uint8_t *p, size_t n, uint64_t pack_size, uint32_t *trailer_len);
/*
 * dsb_pack_open_trailer(k, hdr, trailer, len, pack_size, entries, n):
 * decrypt and check the trailer (which starts at pack_size - 12 - len);
 * *entries is malloc'd with offsets filled in.
 */
int dsb_pack_open_trailer(const struct dsb_keys *k, const struct dsb_pack_header *hdr,
    const uint8_t *trailer, size_t len, uint64_t pack_size,
    struct dsb_pack_entry **entries, size_t *n);

/* Entry codec (44 bytes) shared by trailers and index objects. */
void dsb_pack_entry_encode(const struct dsb_pack_entry *e, uint8_t out[DSB_PACK_ENTRY_LEN]);
/* decode and validate lengths; offset is left 0 */
int dsb_pack_entry_decode(const uint8_t in[DSB_PACK_ENTRY_LEN], struct dsb_pack_entry *e);

/*
 * A blob opener holds a reader's scratch state: the subkey of the pack it
 * read last and a zstd context.  One per thread.
 */
struct dsb_blob_opener;
int dsb_blob_opener_new(const struct dsb_keys *k, struct dsb_blob_opener **out);
void dsb_blob_opener_free(struct dsb_blob_opener *o);
/*
 * dsb_blob_open(o, hdr, e, stored, out): decrypt ${stored} (e->stored_len
 * bytes, modified in place), decompress into ${out} (bounded by
 * e->raw_len) and check that HMAC(id_key, raw) equals e->id.
 * DSB_ERR_AUTH when decryption or the id check fails, DSB_ERR_CORRUPT when
 * decompression fails.
 */
int dsb_blob_open(struct dsb_blob_opener *o, const struct dsb_pack_header *hdr,
    const struct dsb_pack_entry *e, uint8_t *stored, struct dsb_buf *out);

/* Encrypted objects (FORMAT.md §5). */
int dsb_object_seal(const struct dsb_keys *k, const char *type, const void *raw, size_t len,
    int level, struct dsb_buf *out);
/* dsb_object_open(k, type, obj, len, max_raw, out): DSB_ERR_AUTH, DSB_ERR_CORRUPT, DSB_ERR_LIMIT. */
int dsb_object_open(const struct dsb_keys *k, const char *type, const void *obj, size_t len,
    size_t max_raw, struct dsb_buf *out);

#endif
