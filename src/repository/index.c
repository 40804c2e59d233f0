/* index.c: index objects (docs/FORMAT.md §7): write and read pack records. */
#include <stdlib.h>
#include <string.h>

#include "dsbackup/error.h"
#include "dsbackup/util.h"
#include "repo_internal.h"

/* pack_id(32) + size(8) + key_id(8) + salt(32) + count(4) */
#define RECORD_HEAD (32 + 8 + 8 + 32 + 4)

struct dsb_index_writer {
	struct dsb_repo *repo;
	struct dsb_buf buf;
	size_t entries;
};

int dsb_index_writer_new(struct dsb_repo *r, struct dsb_index_writer **out)
{
	struct dsb_index_writer *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	w->repo = r;
	dsb_buf_init(&w->buf, DSB_OBJ_MAX_INDEX);
	*out = w;
	return 0;
}

void dsb_index_writer_free(struct dsb_index_writer *w)
{
	if (w == NULL)
		return;
	dsb_buf_release(&w->buf);
	free(w);
}

size_t dsb_index_writer_pending(const struct dsb_index_writer *w)
{
	return w->entries;
}

int dsb_index_writer_add(struct dsb_index_writer *w, const struct dsb_pack_record *rec)
{
	size_t i, need;
	uint8_t *p;
	int r;

	if (dsb_mul_ok(rec->n, DSB_PACK_ENTRY_LEN, &need) != 0 || need > DSB_OBJ_MAX_INDEX)
		return dsb_error(DSB_ERR_LIMIT, "pack with %zu blobs is too large for an index", rec->n);
	if ((r = dsb_buf_reserve(&w->buf, RECORD_HEAD + need)) != 0)
		return r;
	p = w->buf.data + w->buf.len;
	memcpy(p, rec->id, 32);
	dsb_put_le64(p + 32, rec->size);
	memcpy(p + 40, rec->header.key_id, DSB_KEYID_LEN);
	memcpy(p + 48, rec->header.salt, DSB_SALT_LEN);
	dsb_put_le32(p + 80, (uint32_t)rec->n);
	p += RECORD_HEAD;
	for (i = 0; i < rec->n; i++, p += DSB_PACK_ENTRY_LEN)
		dsb_pack_entry_encode(&rec->entries[i], p);
	w->buf.len += RECORD_HEAD + need;
	w->entries += rec->n;
	return 0;
}

int dsb_index_writer_flush(struct dsb_index_writer *w, char id_hex[65])
{
	int r;

	id_hex[0] = '\0';
	if (w->buf.len == 0)
		return 0;
	if ((r = dsb_repo_put_object(w->repo, "index", "index", w->buf.data, w->buf.len, id_hex)) != 0)
		return r;
	dsb_buf_reset(&w->buf);
	w->entries = 0;
	return 0;
}

/* parse one record at p (avail bytes); *used gets its length */
static int parse_record(const uint8_t *p, size_t avail, struct dsb_pack_record *rec,
    struct dsb_pack_entry **entries, size_t *used)
{
	struct dsb_pack_entry *e = NULL;
	uint64_t off = DSB_PACK_HEADER_LEN;
	uint32_t n, i;
	int r;

	if (avail < RECORD_HEAD)
		return dsb_error(DSB_ERR_CORRUPT, "index record truncated");
	memcpy(rec->id, p, 32);
	rec->size = dsb_get_le64(p + 32);
	memcpy(rec->header.key_id, p + 40, DSB_KEYID_LEN);
	memcpy(rec->header.salt, p + 48, DSB_SALT_LEN);
	n = dsb_get_le32(p + 80);
	if ((avail - RECORD_HEAD) / DSB_PACK_ENTRY_LEN < n)
		return dsb_error(DSB_ERR_CORRUPT, "index record claims %u blobs, more than it holds", n);
	if (rec->size > DSB_PACK_MAX)
		return dsb_error(DSB_ERR_CORRUPT, "index record gives a pack size of %llu bytes",
		    (unsigned long long)rec->size);
	if (n > 0 && (e = calloc(n, sizeof(*e))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		if ((r = dsb_pack_entry_decode(p + RECORD_HEAD + (size_t)i * DSB_PACK_ENTRY_LEN, &e[i])) != 0) {
			free(e);
			return r;
		}
		e[i].offset = off;
		off += e[i].stored_len;
	}
	if (off + DSB_PACK_FOOTER_LEN > rec->size) {
		free(e);
		return dsb_error(DSB_ERR_CORRUPT, "index record lists blobs beyond the pack's size");
	}
	rec->entries = e;
	rec->n = n;
	*entries = e;
	*used = RECORD_HEAD + (size_t)n * DSB_PACK_ENTRY_LEN;
	return 0;
}

int dsb_index_parse(const uint8_t *p, size_t n,
    int (*cb)(void *arg, const struct dsb_pack_record *rec), void *arg)
{
	struct dsb_pack_record rec;
	struct dsb_pack_entry *entries = NULL;
	size_t pos = 0, used;
	int rc;

	while (pos < n) {
		if ((rc = parse_record(p + pos, n - pos, &rec, &entries, &used)) != 0)
			return rc;
		rc = cb(arg, &rec);
		free(entries);
		entries = NULL;
		if (rc != 0)
			return rc;
		pos += used;
	}
	return 0;
}

/* dsb_repo_read_index passes records on through this, to tell its callback's errors from parse errors */
struct read_index {
	int (*cb)(void *arg, const struct dsb_pack_record *rec);
	void *arg;
	int cb_rc;
};

static int read_index_record(void *arg, const struct dsb_pack_record *rec)
{
	struct read_index *ri = arg;

	return ri->cb_rc = ri->cb(ri->arg, rec);
}

int dsb_repo_read_index(struct dsb_repo *r, const char *id_hex,
    int (*cb)(void *arg, const struct dsb_pack_record *rec), void *arg)
{
	struct read_index ri = { cb, arg, 0 };
	struct dsb_buf b;
	int rc;

	dsb_buf_init(&b, DSB_OBJ_MAX_INDEX + 1);
	if ((rc = dsb_repo_get_object(r, "index", "index", id_hex, DSB_OBJ_MAX_INDEX, &b)) != 0)
		goto out;
	rc = dsb_index_parse(b.data, b.len, read_index_record, &ri);
	if (rc != 0 && ri.cb_rc == 0)
		rc = dsb_error_wrap(rc, "index %s", id_hex);
out:
	dsb_buf_release(&b);
	return rc;
}
