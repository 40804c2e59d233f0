/*
 * crypto_internal.h: for src/crypto/ and its unit tests only.  Nothing
 * outside the crypto module may include this: it hands out raw key bytes.
 */
#ifndef DSBACKUP_CRYPTO_INTERNAL_H
#define DSBACKUP_CRYPTO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "dsbackup/crypto.h"

/* The master key material as stored in a key slot: data_key || id_key || chunker_key. */
#define DSB_KEYS_RAW_LEN (3 * DSB_KEY_LEN)

/* dsb_keys_from_raw(raw, out): master keys from ${raw} (DSB_KEYS_RAW_LEN bytes).  0 or error. */
int dsb_keys_from_raw(const uint8_t raw[DSB_KEYS_RAW_LEN], struct dsb_keys **out);

/* dsb_keys_export(k, raw): write data_key || id_key || chunker_key to ${raw}. */
void dsb_keys_export(const struct dsb_keys *k, uint8_t raw[DSB_KEYS_RAW_LEN]);

/* dsb_aead_from_key(key, out): an AES-256-GCM handle keyed directly with ${key}.  0 or error. */
int dsb_aead_from_key(const uint8_t key[DSB_KEY_LEN], struct dsb_aead **out);

/*
 * dsb_crypto_hkdf(ikm, ikmlen, salt, saltlen, info, infolen, out, outlen):
 * HKDF-SHA256 extract-and-expand (RFC 5869).  0 or DSB_ERR_CRYPTO.
 */
int dsb_crypto_hkdf(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen,
    const uint8_t *info, size_t infolen, uint8_t *out, size_t outlen);

/* dsb_crypto_hmac(key, keylen, p, n, out): HMAC-SHA256.  0 or DSB_ERR_CRYPTO. */
int dsb_crypto_hmac(const uint8_t *key, size_t keylen, const void *p, size_t n,
    uint8_t out[DSB_HASH_LEN]);

/*
 * dsb_crypto_error(code, what): record "${what}: <OpenSSL error>" for
 * ${code}, clear OpenSSL's error queue, return ${code}.
 */
int dsb_crypto_error(int code, const char *what);

/* GF(2^8) arithmetic (AES polynomial), constant time. */
uint8_t dsb_gf256_mul(uint8_t a, uint8_t b);
uint8_t dsb_gf256_inv(uint8_t a);

/*
 * dsb_shamir_split(secret, len, k, n, shares): write ${n} shares of ${len}
 * bytes each to ${shares} (share i, at x = i + 1, at offset i * len).
 * 1 <= k <= n <= 255.
 */
int dsb_shamir_split(const uint8_t *secret, size_t len, unsigned k, unsigned n, uint8_t *shares);
/* dsb_shamir_combine(xs, ys, k, len, out): interpolate ${k} distinct shares at 0. */
int dsb_shamir_combine(const uint8_t *xs, const uint8_t *const *ys, unsigned k, size_t len,
    uint8_t *out);

/* The plaintext a key slot wraps: "DSBMK001" || data_key || id_key || chunker_key. */
#define DSB_SLOT_MAGIC "DSBMK001"
#define DSB_SLOT_MAGIC_LEN 8
#define DSB_SLOT_PT_LEN (DSB_SLOT_MAGIC_LEN + DSB_KEYS_RAW_LEN)

/* Slot JSON helpers shared by the slot types (keyslot.c). */
struct json_t;
int dsb_slot_get_string(struct json_t *o, const char *key, char *dst, size_t size);
int dsb_slot_get_uint(struct json_t *o, const char *key, unsigned *out);
int dsb_slot_get_b64(struct json_t *o, const char *key, uint8_t *out, size_t n);
/* dsb_slot_b64(p, n): malloc'd base64, NULL on failure */
char *dsb_slot_b64(const uint8_t *p, size_t n);
/* dsb_slot_aad_add(b, s): append ${s} and its NUL */
int dsb_slot_aad_add(struct dsb_buf *b, const char *s);

#endif
