/*
 * fuzz_keyslot.c: key slots (docs/FORMAT.md §4), opened with the password
 * "fuzz".  dsb_keyslot_info sees every input; dsb_keyslot_open runs on
 * inputs that info refuses (they must be refused again, before scrypt) and
 * on valid slots with cheap scrypt parameters (log2_n <= 12, r*p <= 8), so
 * that a valid slot costs a few milliseconds, not seconds.  The parser of
 * the other slot types (x25519, escrow-share, keyring, run-key) sees every
 * input through dsb_keyslot_info_any; write-only slots open like passphrase
 * slots.
 */
#include <string.h>

#include "dsbackup/error.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dsb_keyslot_info info;
	struct dsb_keys *k = NULL;
	uint8_t id1[DSB_KEYID_LEN], id2[DSB_KEYID_LEN];
	int ri, ro;

	if (dsb_keyslot_info_any(data, size, &info) == 0)
		FUZZ_CHECK(info.type[0] != '\0');
	ri = dsb_keyslot_info(data, size, &info);
	if (ri == 0) {
		FUZZ_CHECK(info.log2_n >= 10 && info.log2_n <= 22);
		FUZZ_CHECK(info.r >= 1 && info.r <= 32 && info.p >= 1 && info.p <= 16);
		FUZZ_CHECK(strlen(info.created) < sizeof(info.created));
		if (info.log2_n > 12 || info.r * info.p > 8)
			return 0;
	}
	ro = dsb_keyslot_open(data, size, FUZZ_PASSWORD, strlen(FUZZ_PASSWORD), &k);
	if (ri != 0)
		FUZZ_CHECK(ro == ri);
	FUZZ_CHECK(ro == 0 || ro == DSB_ERR_BAD_KEY || ro == DSB_ERR_CORRUPT ||
	    ro == DSB_ERR_UNSUPPORTED || ro == DSB_ERR_NOMEM);
	if (ro == 0 && dsb_keys_write_only(k)) {
		dsb_keys_free(k);   /* a write-only slot: a fresh run key, nothing to compare */
	} else if (ro == 0) {
		/* the seeds wrap the fixed keys */
		dsb_keys_key_id(k, id1);
		dsb_keys_key_id(fuzz_keys(), id2);
		FUZZ_CHECK(memcmp(id1, id2, sizeof(id1)) == 0);
		dsb_keys_free(k);
	}
	return 0;
}
