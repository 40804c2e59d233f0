/*
 * crypto.h: every key byte of dsbackup lives behind this header.  The rest
 * of the program holds opaque handles and never sees key material.
 * OpenSSL 3 EVP throughout; secrets are zeroed with OPENSSL_cleanse, held in
 * mlock'ed memory marked MADV_DONTDUMP, and the process is made non-dumpable
 * by dsb_crypto_init().
 *
 * Master key material (struct dsb_keys), wrapped by key slots:
 *   data_key    32 bytes  AES-256-GCM subkeys are derived from it per pack/object
 *   id_key      32 bytes  HMAC-SHA256 key for blob ids
 *   chunker_key 32 bytes  seeds the content-defined chunker's gear table
 * See docs/FORMAT.md for the exact derivations.
 */
#ifndef DSBACKUP_CRYPTO_H
#define DSBACKUP_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "dsbackup/buf.h"

#define DSB_KEY_LEN 32
#define DSB_TAG_LEN 16
#define DSB_NONCE_LEN 12
#define DSB_SALT_LEN 32
#define DSB_KEYID_LEN 8
#define DSB_HASH_LEN 32

struct dsb_keys;

/* dsb_crypto_init(): once per process, before keys exist: PR_SET_DUMPABLE 0. 0 or error. */
int dsb_crypto_init(void);

/* dsb_random(p, n): ${n} bytes from the OS CSPRNG (RAND_bytes). 0 or DSB_ERR_CRYPTO. */
int dsb_random(void *p, size_t n);

/* dsb_keys_generate(out): new random master key material. 0 or error. */
int dsb_keys_generate(struct dsb_keys **out);

/* dsb_keys_free(k): zero and free; NULL is fine. */
void dsb_keys_free(struct dsb_keys *k);

/* dsb_keys_key_id(k, out): first 8 bytes of SHA-256("dsbackup key id v1" || data_key). */
void dsb_keys_key_id(const struct dsb_keys *k, uint8_t out[DSB_KEYID_LEN]);

/*
 * dsb_keys_blob_id(k, p, n, id): id = HMAC-SHA256(id_key, p[0..n)).
 * Thread-safe: may be called from several threads on one ${k}.  0 or error.
 */
int dsb_keys_blob_id(const struct dsb_keys *k, const void *p, size_t n, uint8_t id[DSB_HASH_LEN]);

/*
 * dsb_keys_gear(k, gear): the chunker's 256-entry gear table.  For j in 0..63:
 * block_j = HMAC-SHA256(chunker_key, "dsbackup gear v1" || be32(j)); entry
 * 4j+i = little-endian uint64 from block_j[8i..8i+8).
 */
void dsb_keys_gear(const struct dsb_keys *k, uint64_t gear[256]);

/*
 * dsb_keys_mac(k, label, p, n, out): HMAC-SHA256(id_key, label || 0x00 || p)
 * for authenticating small public structures.  0 or error.
 */
int dsb_keys_mac(const struct dsb_keys *k, const char *label, const void *p, size_t n,
    uint8_t out[DSB_HASH_LEN]);

/*
 * A dsb_aead is an AES-256-GCM key derived for one pack or object:
 *   subkey = HKDF-SHA256(ikm = data_key, salt = ${salt}, info = ${info}, L = 32).
 * One handle is used by one thread at a time.
 */
struct dsb_aead;

/* dsb_aead_derive(k, salt, info, out): 0 or error. */
int dsb_aead_derive(const struct dsb_keys *k, const uint8_t salt[DSB_SALT_LEN], const char *info,
    struct dsb_aead **out);

/*
 * dsb_aead_seal(a, nonce, aad, aadlen, pt, ptlen, out): AES-256-GCM; writes
 * ${ptlen} bytes of ciphertext followed by the 16-byte tag to ${out}
 * (${out} may equal ${pt}).  0 or DSB_ERR_CRYPTO.
 */
int dsb_aead_seal(struct dsb_aead *a, const uint8_t nonce[DSB_NONCE_LEN], const void *aad,
    size_t aadlen, const void *pt, size_t ptlen, uint8_t *out);

/*
 * dsb_aead_open(a, nonce, aad, aadlen, ct, ctlen, out): ${ctlen} includes the
 * tag; writes ${ctlen} - 16 bytes to ${out} (may equal ${ct}).  0,
 * DSB_ERR_AUTH when the tag does not verify (nothing in ${out} may then be
 * used), DSB_ERR_CORRUPT when ${ctlen} < 16.
 */
int dsb_aead_open(struct dsb_aead *a, const uint8_t nonce[DSB_NONCE_LEN], const void *aad,
    size_t aadlen, const void *ct, size_t ctlen, uint8_t *out);

/* dsb_aead_free(a): zero and free; NULL is fine. */
void dsb_aead_free(struct dsb_aead *a);

/* SHA-256 through OpenSSL (SHA-NI where the CPU has it). */
void dsb_sha256(const void *p, size_t n, uint8_t out[DSB_HASH_LEN]);
struct dsb_sha256;
struct dsb_sha256 *dsb_sha256_new(void);            /* NULL on failure */
void dsb_sha256_update(struct dsb_sha256 *h, const void *p, size_t n);
void dsb_sha256_final(struct dsb_sha256 *h, uint8_t out[DSB_HASH_LEN]); /* then reusable */
void dsb_sha256_free(struct dsb_sha256 *h);

/*
 * Key slots: the master key wrapped by a passphrase through scrypt.
 * The slot is a JSON document (see docs/FORMAT.md, "Key slots"); its "type"
 * field makes the format extensible (public-key and escrow slots later).
 */
struct dsb_kdf_params {
	unsigned log2_n;   /* scrypt N = 2^log2_n; accepted range 10..22 */
	unsigned r;        /* 1..32 */
	unsigned p;        /* 1..16 */
	/* also r*p <= 64, and scrypt's memory 128*r*(N+2+p) <= 2 GiB + 1 MiB */
};
#define DSB_KDF_DEFAULT_LOG2_N 17
#define DSB_KDF_DEFAULT_R 8
#define DSB_KDF_DEFAULT_P 1

#define DSB_RECIPIENT_LEN 80   /* "dsbr1" + 64 hex public key + 8 hex checksum + NUL */

struct dsb_keyslot_info {
	char type[32];      /* "passphrase", "x25519", "escrow-share" */
	char created[64];   /* RFC 3339 */
	char host[256];
	char user[256];
	unsigned log2_n, r, p;          /* passphrase slots */
	char recipient[DSB_RECIPIENT_LEN];  /* x25519 and escrow-share slots */
	char set[33];                   /* escrow-share: the escrow set's id (hex) */
	unsigned threshold, shares, index;  /* escrow-share: K of N, this share's x (1..N) */
};

/*
 * dsb_keyslot_create(k, pass, passlen, kdf, host, user, out): a new
 * passphrase slot for ${k}, serialized as JSON into ${out}.  0 or error.
 * ${out} is reset first; ${kdf} NULL means the defaults; ${host} and
 * ${user} (NULL: "") are UTF-8, under 256 bytes.  DSB_ERR_USAGE for
 * parameters out of range.
 */
int dsb_keyslot_create(const struct dsb_keys *k, const char *pass, size_t passlen,
    const struct dsb_kdf_params *kdf, const char *host, const char *user, struct dsb_buf *out);

/*
 * dsb_keyslot_open(slot, len, pass, passlen, out): unwrap.  0;
 * DSB_ERR_BAD_KEY when the passphrase is wrong; DSB_ERR_CORRUPT when the
 * slot is malformed or its parameters are out of range (never allocates
 * what a slot asks for beyond those ranges); DSB_ERR_UNSUPPORTED for an
 * unknown version or type.
 */
int dsb_keyslot_open(const void *slot, size_t len, const char *pass, size_t passlen,
    struct dsb_keys **out);

/*
 * dsb_keyslot_info(slot, len, info): parse and range-check the public
 * fields.  0, DSB_ERR_CORRUPT, or DSB_ERR_UNSUPPORTED as for dsb_keyslot_open.
 */
int dsb_keyslot_info(const void *slot, size_t len, struct dsb_keyslot_info *info);

/* dsb_keyslot_info_any(slot, len, info): as dsb_keyslot_info for every slot type. */
int dsb_keyslot_info_any(const void *slot, size_t len, struct dsb_keyslot_info *info);

/*
 * Identities and recipients (docs/FORMAT.md §4): an identity is an X25519
 * private key in a file (0600); its recipient string, "dsbr1" followed by
 * the public key and a checksum in hex, is what others use to wrap keys to it.
 */
struct dsb_identity;
int dsb_identity_generate(struct dsb_identity **out);
/* dsb_identity_save(id, path): create ${path} 0600 (never overwrites: DSB_ERR_EXISTS). */
int dsb_identity_save(const struct dsb_identity *id, const char *path);
/* dsb_identity_load(path, out): refuses files readable by group or others (DSB_ERR_USAGE). */
int dsb_identity_load(const char *path, struct dsb_identity **out);
void dsb_identity_recipient(const struct dsb_identity *id, char out[DSB_RECIPIENT_LEN]);
void dsb_identity_free(struct dsb_identity *id);
/* dsb_recipient_check(s): 0 when ${s} is a well-formed recipient, else DSB_ERR_USAGE naming the fault. */
int dsb_recipient_check(const char *s);

/* dsb_keyslot_create_recipient(k, recipient, host, user, out): an "x25519" slot wrapping ${k} to ${recipient}. */
int dsb_keyslot_create_recipient(const struct dsb_keys *k, const char *recipient,
    const char *host, const char *user, struct dsb_buf *out);
/*
 * dsb_keyslot_open_identity(slot, len, id, out): open an "x25519" slot.
 * DSB_ERR_BAD_KEY when it is for another recipient or does not
 * authenticate; DSB_ERR_UNSUPPORTED for other slot types.
 */
int dsb_keyslot_open_identity(const void *slot, size_t len, const struct dsb_identity *id,
    struct dsb_keys **out);

/*
 * Threshold escrow: the master key split by Shamir's secret sharing over
 * GF(2^8) into N shares, any K of which rebuild it; each share wrapped to one
 * recipient in an "escrow-share" slot.  Fewer than K shares reveal nothing.
 */
struct dsb_share;
/* dsb_escrow_split(k, threshold, recipients, n, host, user, slots): ${slots} is an array of ${n} initialised buffers. */
int dsb_escrow_split(const struct dsb_keys *k, unsigned threshold, const char *const *recipients,
    size_t n, const char *host, const char *user, struct dsb_buf *slots);
/* dsb_escrow_share_open(slot, len, id, out): decrypt one's own share; DSB_ERR_BAD_KEY if not for ${id}. */
int dsb_escrow_share_open(const void *slot, size_t len, const struct dsb_identity *id,
    struct dsb_share **out);
/* dsb_share_export(sh, out) / dsb_share_import(text, len, out): a share as one line of text (a secret: store 0600). */
int dsb_share_export(const struct dsb_share *sh, struct dsb_buf *out);
int dsb_share_import(const void *text, size_t len, struct dsb_share **out);
/* dsb_share_info(sh, set, threshold, index) */
void dsb_share_info(const struct dsb_share *sh, char set[33], unsigned *threshold, unsigned *index);
/*
 * dsb_escrow_combine(shares, n, out): rebuild the master key from shares of
 * one set.  DSB_ERR_BAD_KEY with "need K shares, have M" when too few
 * distinct shares are given, or when the result does not check.
 */
int dsb_escrow_combine(struct dsb_share *const *shares, size_t n, struct dsb_keys **out);
void dsb_share_free(struct dsb_share *sh);

/*
 * Secrets read from outside (passwords).  The buffer is NUL-terminated,
 * mlock'ed, and must be released with dsb_secret_free.
 */
/* dsb_secret_from_file(path, out, len): whole file, one trailing "\n" or "\r\n" removed. */
int dsb_secret_from_file(const char *path, char **out, size_t *len);
/* dsb_secret_from_string(s, out, len): a copy (for DSBACKUP_PASSWORD). */
int dsb_secret_from_string(const char *s, char **out, size_t *len);
/* dsb_secret_prompt(prompt, out, len): read a line from /dev/tty without echo; DSB_ERR_USAGE without a tty. */
int dsb_secret_prompt(const char *prompt, char **out, size_t *len);
/* dsb_secret_free(p, len): zero and free; ${len} as returned with ${p}; NULL is fine. */
void dsb_secret_free(char *p, size_t len);

#endif
