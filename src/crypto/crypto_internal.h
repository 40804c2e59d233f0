/*
 * crypto_internal.h: for src/crypto/ and its unit tests only.  Nothing
 * outside the crypto module may include this: it hands out raw key bytes.
 */
#ifndef DSBACKUP_CRYPTO_INTERNAL_H
#define DSBACKUP_CRYPTO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "dsbackup/crypto.h"

/* The master key material as stored in a key slot: data_key || id_key || chunker_key. */
#define DSB_KEYS_RAW_LEN (3 * DSB_KEY_LEN)

/* One data key of a keyring with its key id (docs/FORMAT.md §2). */
struct dsb_data_key {
	uint8_t key[DSB_KEY_LEN];
	uint8_t id[DSB_KEYID_LEN];
	int run;              /* a write-only host's run key, not part of the keyring */
};

/*
 * The keys of an open repository.  data_key is the one writers use; ring
 * holds every other data key readers may meet (older keys of the keyring
 * and run keys of write-only hosts), in its own mlock'ed allocation.
 */
struct dsb_keys {
	uint8_t data_key[DSB_KEY_LEN];
	uint8_t id_key[DSB_KEY_LEN];
	uint8_t chunker_key[DSB_KEY_LEN];
	uint8_t key_id[DSB_KEYID_LEN];
	uint64_t gear[256];
	EVP_MAC_CTX *id_mac;  /* HMAC-SHA256 keyed with id_key; only ever dup'ed */
	size_t alloc_len;
	int locked;
	/* keyring (keyring.c) */
	uint8_t opened_id[DSB_KEYID_LEN]; /* the data key the opening slot held */
	uint8_t repo_sk[DSB_KEY_LEN];     /* the repository's X25519 private key */
	uint8_t repo_pk[DSB_KEY_LEN];     /* and its public key */
	int has_repo_sk, has_repo_pk;
	int write_only;                   /* data_key is a run key; ring is empty */
	uint32_t generation;              /* of the newest keyring opened (0: none) */
	uint32_t flags;                   /* of that keyring: DSB_KEYRING_REWRITING */
	struct dsb_data_key *ring;
	size_t nring, ring_cap;
	/* run keys seen wrapped only to escrow recipients (public: key id and recipient) */
	struct dsb_escrow_note *escrow;
	size_t nescrow;
};

/* A run key this reader cannot open: wrapped only to escrow recipients (FORMAT.md §4). */
struct dsb_escrow_note {
	uint8_t id[DSB_KEYID_LEN];
	char recipient[DSB_RECIPIENT_LEN];
};
/* dsb_keys_escrow_find(k, key_id): the note on ${key_id}, or NULL (keyring.c). */
const struct dsb_escrow_note *dsb_keys_escrow_find(const struct dsb_keys *k,
    const uint8_t key_id[DSB_KEYID_LEN]);
/* dsb_keys_escrow_add(k, key_id, recipient): remember an escrowed run key (once). 0 or DSB_ERR_NOMEM. */
int dsb_keys_escrow_add(struct dsb_keys *k, const uint8_t key_id[DSB_KEYID_LEN],
    const char *recipient);

/* dsb_keys_alloc(out): zeroed, page-aligned, mlock'ed, MADV_DONTDUMP keys. */
int dsb_keys_alloc(struct dsb_keys **out);
/* dsb_keys_setup(k): derive key id, gear table, id_key HMAC template after the raw keys are set. */
int dsb_keys_setup(struct dsb_keys *k);
/* dsb_keys_ring_add(k, key, run): add a data key to the ring unless held already; 1 added, 0 held, or error. */
int dsb_keys_ring_add(struct dsb_keys *k, const uint8_t key[DSB_KEY_LEN], int run);
/* dsb_keys_from_write_only(raw, out): write-only keys from id_key || chunker_key || repo_pk, with a fresh run key. */
int dsb_keys_from_write_only(const uint8_t raw[DSB_KEYS_RAW_LEN], struct dsb_keys **out);
/* dsb_keys_export_write_only(k, raw): id_key || chunker_key || repo_pk (k must have the repository key). */
void dsb_keys_export_write_only(const struct dsb_keys *k, uint8_t raw[DSB_KEYS_RAW_LEN]);
#define DSB_WO_MAGIC "DSBWO001"
/* dsb_keyring_info(slot, len, info): the public fields of a "keyring" slot (keyring.c). */
int dsb_keyring_info(const void *slot, size_t len, struct dsb_keyslot_info *info);
/* dsb_keys_find(k, key_id): the data key named ${key_id}, or NULL. */
const uint8_t *dsb_keys_find(const struct dsb_keys *k, const uint8_t key_id[DSB_KEYID_LEN]);
/* dsb_keys_ring_free(k): zero and free the ring (keyring.c). */
void dsb_keys_ring_free(struct dsb_keys *k);
/* dsb_key_id_of(key, out): FORMAT §2's key id of a data key. */
void dsb_key_id_of(const uint8_t key[DSB_KEY_LEN], uint8_t out[DSB_KEYID_LEN]);
/* dsb_x25519_public(priv, pub) (recipient.c) */
int dsb_x25519_public(const uint8_t priv[DSB_KEY_LEN], uint8_t pub[DSB_KEY_LEN]);

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
#define DSB_SLOT_MAX_LEN (64 * 1024)
/*
 * dsb_slot_parse_head(p, len, root, info, version): what every slot type
 * starts with: a JSON object of at most DSB_SLOT_MAX_LEN bytes in *root (the
 * caller's to json_decref) and its "version" and "type"; the caller checks
 * that they are its own (DSB_ERR_UNSUPPORTED when not, so that another type
 * can be tried).
 */
int dsb_slot_parse_head(const void *p, size_t len, struct json_t **root,
    struct dsb_keyslot_info *info, unsigned *version);
/* dsb_slot_get_origin(o, info): "created", "host" and "user" */
int dsb_slot_get_origin(struct json_t *o, struct dsb_keyslot_info *info);
int dsb_slot_get_string(struct json_t *o, const char *key, char *dst, size_t size);
int dsb_slot_get_uint(struct json_t *o, const char *key, unsigned *out);
int dsb_slot_get_b64(struct json_t *o, const char *key, uint8_t *out, size_t n);
/* dsb_slot_b64_var(o, key, min, max, out, n): a base64 member of ${min}..${max} decoded bytes into malloc'd ${out}. */
int dsb_slot_get_b64_var(struct json_t *o, const char *key, size_t min, size_t max, uint8_t **out,
    size_t *n);
/* dsb_slot_b64(p, n): malloc'd base64, NULL on failure */
char *dsb_slot_b64(const uint8_t *p, size_t n);
/* dsb_slot_aad_add(b, s): append ${s} and its NUL */
int dsb_slot_aad_add(struct dsb_buf *b, const char *s);

/*
 * dsb_crypto_set_allocator(): OpenSSL allocates blocks of 4 MiB and more
 * (scrypt's memory) as huge-page mappings (bigalloc.c).  Only before
 * OpenSSL's first allocation; 0, or -1 when it is too late.
 */
int dsb_crypto_set_allocator(void);

#endif
