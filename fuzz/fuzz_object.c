/*
 * fuzz_object.c: encrypted objects (docs/FORMAT.md §5).  The first byte
 * picks the mode, the second the type (index, snapshot, lock):
 *   0  the rest is a stored object, opened with the fixed keys;
 *   1  the rest is the plaintext (comp || le64 raw_len || payload), sealed
 *      with the fixed keys so the length and decompression checks behind
 *      the tag are reached;
 *   2  the rest is sealed with dsb_object_seal at level (byte 1 % 4) and
 *      must open to the same bytes, and not under another type.
 */
#include <string.h>

#include "dsbackup/error.h"
#include "fuzz.h"

static const char *const types[] = { "index", "snapshot", "lock" };
static const size_t maxes[] = { DSB_OBJ_MAX_INDEX, DSB_OBJ_MAX_SNAPSHOT, DSB_OBJ_MAX_LOCK };

static void open_checked(const char *type, size_t max, const uint8_t *obj, size_t n)
{
	struct dsb_buf out;
	int r;

	dsb_buf_init(&out, max + 1);
	r = dsb_object_open(fuzz_keys(), type, obj, n, max, &out);
	FUZZ_CHECK(r == 0 || r == DSB_ERR_AUTH || r == DSB_ERR_CORRUPT || r == DSB_ERR_LIMIT ||
	    r == DSB_ERR_NOMEM);
	if (r == 0)
		FUZZ_CHECK(out.len <= max);
	dsb_buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dsb_buf obj, out;
	size_t t;

	if (size < 2)
		return 0;
	t = data[1] % 3;
	dsb_buf_init(&obj, 0);
	switch (data[0] % 3) {
	case 0:
		open_checked(types[t], maxes[t], data + 2, size - 2);
		break;
	case 1:
		fuzz_seal_object_plain(types[t], data + 2, size - 2, &obj);
		open_checked(types[t], maxes[t], obj.data, obj.len);
		break;
	default:
		dsb_buf_init(&out, 0);
		FUZZ_CHECK(dsb_object_seal(fuzz_keys(), types[t], data + 2, size - 2, data[1] % 4,
		    &obj) == 0);
		FUZZ_CHECK(dsb_object_open(fuzz_keys(), types[t], obj.data, obj.len, size - 2,
		    &out) == 0);
		FUZZ_CHECK(out.len == size - 2 &&
		    (size == 2 || memcmp(out.data, data + 2, size - 2) == 0));
		/* and under another type it must not open */
		FUZZ_CHECK(dsb_object_open(fuzz_keys(), types[(t + 1) % 3], obj.data, obj.len,
		    size - 2, &out) == DSB_ERR_AUTH);
		dsb_buf_release(&out);
		break;
	}
	dsb_buf_release(&obj);
	return 0;
}
