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

#endif
