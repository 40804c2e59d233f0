/*
 * fuzz_index.c: index objects (docs/FORMAT.md §7).  The input is the raw
 * payload: it is sealed as an "index" object with the fixed keys, opened
 * as dsb_repo_read_index does, and parsed with dsb_index_parse.
 */
#include <string.h>

#include "dsbackup/error.h"
#include "fuzz.h"
#include "repository/repo_internal.h"

struct walk {
	size_t records;
	size_t bytes;
};

static int record(void *arg, const struct dsb_pack_record *rec)
{
	struct walk *w = arg;
	uint64_t off = DSB_PACK_HEADER_LEN;
	size_t i;

	FUZZ_CHECK(rec->size <= DSB_PACK_MAX);
	FUZZ_CHECK(rec->n == 0 || rec->entries != NULL);
	for (i = 0; i < rec->n; i++) {
		FUZZ_CHECK(rec->entries[i].offset == off);
		FUZZ_CHECK(rec->entries[i].stored_len >= DSB_TAG_LEN);
		off += rec->entries[i].stored_len;
	}
	FUZZ_CHECK(off + DSB_PACK_FOOTER_LEN <= rec->size);
	w->records++;
	w->bytes += 84 + rec->n * DSB_PACK_ENTRY_LEN;
	/* stop early sometimes, as a callback may */
	return rec->n == 7 ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dsb_buf obj, plain;
	struct walk w = { 0, 0 };
	int r;

	if (size > DSB_OBJ_MAX_INDEX)
		return 0;
	dsb_buf_init(&obj, 0);
	dsb_buf_init(&plain, DSB_OBJ_MAX_INDEX + 1);
	if (dsb_object_seal(fuzz_keys(), "index", data, size, 0, &obj) != 0 ||
	    dsb_object_open(fuzz_keys(), "index", obj.data, obj.len, DSB_OBJ_MAX_INDEX, &plain) != 0)
		abort();
	FUZZ_CHECK(plain.len == size && (size == 0 || memcmp(plain.data, data, size) == 0));
	r = dsb_index_parse(plain.data, plain.len, record, &w);
	FUZZ_CHECK(r == 0 || r == 1 || r == DSB_ERR_CORRUPT || r == DSB_ERR_NOMEM);
	if (r == 0)
		FUZZ_CHECK(w.bytes == size);
	dsb_buf_release(&obj);
	dsb_buf_release(&plain);
	return 0;
}
