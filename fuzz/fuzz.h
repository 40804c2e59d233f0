/*
 * fuzz.h: shared by the fuzz targets (see fuzz/README.md).  Each target is
 * one LLVMFuzzerTestOneInput; built with -fsanitize=fuzzer it is a
 * libFuzzer binary, built with replay.c it runs a corpus once (ctest).
 */
#ifndef DSB_FUZZ_H
#define DSB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "dsbackup/buf.h"
#include "dsbackup/crypto.h"
#include "dsbackup/pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FUZZ_CHECK(cond): a promise of the code under test was broken: report and crash. */
#define FUZZ_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* The password of the seed key slots. */
#define FUZZ_PASSWORD "fuzz"

/* fuzz_keys(): fixed master keys (byte i is i*7+1), made once; aborts on failure. */
const struct dsb_keys *fuzz_keys(void);

/* fuzz_salt(salt): the fixed salt the targets seal with. */
void fuzz_salt(uint8_t salt[DSB_SALT_LEN]);

/*
 * The constructions of docs/FORMAT.md rebuilt from the crypto API, so that
 * a target can wrap fuzzed plaintext in a valid tag and reach the parsers
 * behind it.  Each aborts on a crypto failure.
 */

/* fuzz_header(hdr): the fixed keys' key id and the fixed salt. */
void fuzz_header(struct dsb_pack_header *hdr);

/* fuzz_seal_trailer(hdr, plain, n, pack_size, out): §6 trailer for a pack of ${pack_size} bytes; ${out} gets n + 16 bytes. */
void fuzz_seal_trailer(const struct dsb_pack_header *hdr, const uint8_t *plain, size_t n,
    uint64_t pack_size, uint8_t *out);

/* fuzz_seal_blob(hdr, e, payload, n, out): §6 blob at e->offset with e's AAD; ${out} gets n + 16 bytes. */
void fuzz_seal_blob(const struct dsb_pack_header *hdr, const struct dsb_pack_entry *e,
    const uint8_t *payload, size_t n, uint8_t *out);

/* fuzz_seal_object_plain(type, plain, n, out): §5 object around a raw plaintext (comp || le64 raw_len || payload). */
void fuzz_seal_object_plain(const char *type, const uint8_t *plain, size_t n, struct dsb_buf *out);

#endif
