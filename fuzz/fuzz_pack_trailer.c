/*
 * fuzz_pack_trailer.c: the pack reader (docs/FORMAT.md §6).  The first
 * byte picks what the rest is:
 *   0  a whole pack: header, footer and trailer are parsed and opened with
 *      the fixed keys, then every blob the trailer lists is opened;
 *   1  le32 data_len || trailer plaintext: sealed as the trailer of a pack
 *      whose blobs take data_len bytes, so the entry parser behind the tag
 *      is reached;
 *   2  entry (44 bytes) || payload: sealed as that blob (its stored_len
 *      made to fit), then decoded and opened, reaching decompression.
 */
#include <string.h>

#include "dsbackup/error.h"
#include "dsbackup/util.h"
#include "fuzz.h"

static struct dsb_blob_opener *opener(void)
{
	static struct dsb_blob_opener *o;

	if (o == NULL && dsb_blob_opener_new(fuzz_keys(), &o) != 0)
		abort();
	return o;
}

/* entries from a trailer that opened: they tile the data area exactly */
static void check_entries(const struct dsb_pack_entry *e, size_t n, uint64_t data_end)
{
	uint64_t off = DSB_PACK_HEADER_LEN;
	size_t i;

	for (i = 0; i < n; i++) {
		FUZZ_CHECK(e[i].offset == off);
		FUZZ_CHECK(e[i].stored_len >= DSB_TAG_LEN);
		FUZZ_CHECK(e[i].type <= DSB_BLOB_TREE && e[i].comp <= DSB_COMP_ZSTD);
		off += e[i].stored_len;
	}
	FUZZ_CHECK(off == data_end);
}

static void open_blob(const struct dsb_pack_header *hdr, const struct dsb_pack_entry *e,
    const uint8_t *stored)
{
	struct dsb_buf out;
	uint8_t *copy;

	if ((copy = malloc(e->stored_len)) == NULL)
		return;
	memcpy(copy, stored, e->stored_len);
	dsb_buf_init(&out, DSB_BLOB_RAW_MAX);
	if (dsb_blob_open(opener(), hdr, e, copy, &out) == 0)
		FUZZ_CHECK(out.len == e->raw_len);
	dsb_buf_release(&out);
	free(copy);
}

static void whole_pack(const uint8_t *p, size_t n)
{
	struct dsb_pack_header hdr;
	struct dsb_pack_entry *entries = NULL;
	uint32_t tlen;
	size_t count = 0, i;

	if (dsb_pack_parse_header(p, n, &hdr) != 0 || n < DSB_PACK_FOOTER_LEN)
		return;
	if (dsb_pack_parse_footer(p + n - DSB_PACK_FOOTER_LEN, DSB_PACK_FOOTER_LEN, n, &tlen) != 0)
		return;
	FUZZ_CHECK((uint64_t)tlen + DSB_PACK_HEADER_LEN + DSB_PACK_FOOTER_LEN <= n);
	if (dsb_pack_open_trailer(fuzz_keys(), &hdr, p + n - DSB_PACK_FOOTER_LEN - tlen, tlen, n,
	    &entries, &count) != 0)
		return;
	check_entries(entries, count, n - DSB_PACK_FOOTER_LEN - tlen);
	for (i = 0; i < count; i++)
		open_blob(&hdr, &entries[i], p + entries[i].offset);
	free(entries);
}

static void sealed_trailer(const uint8_t *p, size_t n)
{
	struct dsb_pack_header hdr;
	struct dsb_pack_entry *entries = NULL;
	uint64_t data_len, size;
	uint8_t *sealed;
	size_t count = 0;

	if (n < 4)
		return;
	data_len = dsb_get_le32(p) % (DSB_PACK_MAX / 2);
	p += 4;
	n -= 4;
	size = DSB_PACK_HEADER_LEN + data_len + n + DSB_TAG_LEN + DSB_PACK_FOOTER_LEN;
	if ((sealed = malloc(n + DSB_TAG_LEN)) == NULL)
		return;
	fuzz_header(&hdr);
	fuzz_seal_trailer(&hdr, p, n, size, sealed);
	if (dsb_pack_open_trailer(fuzz_keys(), &hdr, sealed, n + DSB_TAG_LEN, size, &entries,
	    &count) == 0) {
		FUZZ_CHECK(4 + count * DSB_PACK_ENTRY_LEN == n);
		check_entries(entries, count, DSB_PACK_HEADER_LEN + data_len);
		free(entries);
	}
	free(sealed);
}

static void sealed_blob(const uint8_t *p, size_t n)
{
	struct dsb_pack_header hdr;
	struct dsb_pack_entry e;
	uint8_t raw_entry[DSB_PACK_ENTRY_LEN], *stored;

	if (n < DSB_PACK_ENTRY_LEN)
		return;
	memcpy(raw_entry, p, DSB_PACK_ENTRY_LEN);
	p += DSB_PACK_ENTRY_LEN;
	n -= DSB_PACK_ENTRY_LEN;
	dsb_put_le32(raw_entry + 36, (uint32_t)(n + DSB_TAG_LEN));
	if (dsb_pack_entry_decode(raw_entry, &e) != 0)
		return;
	e.offset = DSB_PACK_HEADER_LEN;
	if ((stored = malloc(n + DSB_TAG_LEN)) == NULL)
		return;
	fuzz_header(&hdr);
	fuzz_seal_blob(&hdr, &e, p, n, stored);
	open_blob(&hdr, &e, stored);
	free(stored);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		whole_pack(data + 1, size - 1);
		break;
	case 1:
		sealed_trailer(data + 1, size - 1);
		break;
	default:
		sealed_blob(data + 1, size - 1);
		break;
	}
	return 0;
}
