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

/*
 * dsb_aead_derive_for(k, key_id, salt, info, out): as dsb_aead_derive, with
 * the data key named ${key_id} (any key of the keyring, or a run key) — for
 * readers.  DSB_ERR_BAD_KEY when ${k} does not hold it; on a write-only
 * host the message is DSB_WRITE_ONLY_MSG.
 */
int dsb_aead_derive_for(const struct dsb_keys *k, const uint8_t key_id[DSB_KEYID_LEN],
    const uint8_t salt[DSB_SALT_LEN], const char *info, struct dsb_aead **out);
#define DSB_ESCROW_MSG "it is escrowed key material, wrapped only to the escrow recipient(s) " \
    "(%.24s...): a password cannot read it; restore it with --identity FILE of an escrow officer"
#define DSB_WRITE_ONLY_MSG "this host's key is write-only: it can add snapshots but not read " \
    "them; restore with --identity or a password"

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
	char type[32];      /* "passphrase", "x25519", "escrow-share", "write-only", "keyring", "run-key" */
	char created[64];   /* RFC 3339 */
	char host[256];
	char user[256];
	unsigned log2_n, r, p;          /* passphrase slots */
	char recipient[DSB_RECIPIENT_LEN];  /* x25519 and escrow-share slots */
	char set[33];                   /* escrow-share: the escrow set's id (hex) */
	unsigned threshold, shares, index;  /* escrow-share: K of N, this share's x (1..N) */
	char key_id[2 * DSB_KEYID_LEN + 1]; /* keyring, run-key: the data key it is sealed under / holds */
	unsigned generation;                /* keyring */
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
 * Keyrings, rotation and write-only hosts (docs/FORMAT.md §2, §4).  A slot
 * wraps one data key (the current one when it was written); "keyring"
 * slots, each sealed under one data key, list every data key of the
 * repository and its X25519 private key, so that whoever holds any data
 * key of the ring learns all of them.  A "write-only" slot gives a host
 * id_key, chunker_key and the repository's public key only: each opening
 * makes a random run key for writing, stored wrapped to that public key in
 * a "run-key" slot.
 */
#define DSB_KEYRING_REWRITING 1u   /* keyring flag: a "key rotate --rewrite" is under way */

/* dsb_keys_write_only(k): 1 when ${k} came from a write-only slot. */
int dsb_keys_write_only(const struct dsb_keys *k);
/* dsb_keys_opened_key_id(k, out): the key id of the data key the opening slot held. */
void dsb_keys_opened_key_id(const struct dsb_keys *k, uint8_t out[DSB_KEYID_LEN]);
/* dsb_keys_old_count(k): older data keys of the keyring (run keys not counted). */
size_t dsb_keys_old_count(const struct dsb_keys *k);
/* dsb_keys_is_old_key(k, key_id): 1 when ${key_id} names an older data key of the keyring (not the current one, not a run key). */
int dsb_keys_is_old_key(const struct dsb_keys *k, const uint8_t key_id[DSB_KEYID_LEN]);
/*
 * dsb_keys_escrowed(k, key_id): 1 when ${key_id} names a run key this reader
 * saw wrapped only to escrow recipients (FORMAT.md §4) and could not open;
 * dsb_keys_escrow_count(k): how many such keys it saw.
 */
int dsb_keys_escrowed(const struct dsb_keys *k, const uint8_t key_id[DSB_KEYID_LEN]);
size_t dsb_keys_escrow_count(const struct dsb_keys *k);
/* dsb_keys_mark_escrowed(k, run, recipient): note the data key of ${run} as escrowed to ${recipient} in ${k}. */
int dsb_keys_mark_escrowed(struct dsb_keys *k, const struct dsb_keys *run, const char *recipient);
/* dsb_keys_run_count(k): run keys of write-only hosts loaded. */
size_t dsb_keys_run_count(const struct dsb_keys *k);
/* dsb_keys_keyring_flags(k): the flags of the newest keyring opened (0 without one). */
unsigned dsb_keys_keyring_flags(const struct dsb_keys *k);
/*
 * dsb_keys_rotate(k, flags, out): a copy of ${k} with a new random current
 * data key, the old current one among the older keys, the next generation
 * and ${flags}; a repository key pair is made if ${k} has none.
 */
int dsb_keys_rotate(const struct dsb_keys *k, unsigned flags, struct dsb_keys **out);
/* dsb_keys_drop_old(k, out): a copy holding the current data key only (next generation, flags 0). */
int dsb_keys_drop_old(const struct dsb_keys *k, struct dsb_keys **out);
/* dsb_keys_ensure_repo_key(k): make the repository key pair if ${k} has none (a generation 1 keyring). 1 made, 0 had, or error. */
int dsb_keys_ensure_repo_key(struct dsb_keys *k);
/* dsb_keys_seal_count(k): how many keyring slots dsb_keyring_seal writes (current + older keys). */
size_t dsb_keys_seal_count(const struct dsb_keys *k);
/*
 * dsb_keyring_seal(k, i, host, user, out): the keyring of ${k} as a
 * "keyring" slot sealed under its data key ${i} (0: the current one, then
 * the older ones).  Not for write-only keys (DSB_ERR_USAGE).
 */
int dsb_keyring_seal(const struct dsb_keys *k, size_t i, const char *host, const char *user,
    struct dsb_buf *out);
/*
 * dsb_keyring_open(k, slot, len): when ${k} holds the data key the keyring
 * slot is sealed under, learn its keys (its first becomes current when its
 * generation is newer than any seen).  1 when something was learned, 0 when
 * nothing new, DSB_ERR_BAD_KEY when ${k} cannot open it, DSB_ERR_CORRUPT.
 */
int dsb_keyring_open(struct dsb_keys *k, const void *slot, size_t len);
/* dsb_keyslot_create_write_only(k, pass, passlen, kdf, host, user, out): as dsb_keyslot_create, type "write-only"; ${k} must hold the repository key. */
int dsb_keyslot_create_write_only(const struct dsb_keys *k, const char *pass, size_t passlen,
    const struct dsb_kdf_params *kdf, const char *host, const char *user, struct dsb_buf *out);
/* dsb_runkey_create(k, host, user, out): the current data key of ${k} wrapped to the repository's public key ("run-key" slot). */
int dsb_runkey_create(const struct dsb_keys *k, const char *host, const char *user,
    struct dsb_buf *out);
/* dsb_runkey_open(k, slot, len): with the repository's private key, add the run key to ${k}: 1 added, 0 held, DSB_ERR_BAD_KEY without the private key. */
int dsb_runkey_open(struct dsb_keys *k, const void *slot, size_t len);

/*
 * Escrowed sources (FORMAT.md §4, "Escrowed sources"): key material is
 * written under an escrow run key, stored only in "run-key" slots wrapped
 * to escrow recipients, so that the host (and any password) cannot read it.
 */
/* dsb_keys_escrow_key(k, out): a copy of ${k} (id_key, chunker_key, repository public key) whose data key is a fresh random run key; no other data key. */
int dsb_keys_escrow_key(const struct dsb_keys *k, struct dsb_keys **out);
/* dsb_runkey_create_to(k, recipient, host, user, out): the current data key of ${k} in a "run-key" slot wrapped to ${recipient}. */
int dsb_runkey_create_to(const struct dsb_keys *k, const char *recipient, const char *host,
    const char *user, struct dsb_buf *out);
/* dsb_runkey_open_identity(k, slot, len, id): add the run key of a slot wrapped to ${id}: 1 added, 0 held, DSB_ERR_BAD_KEY when it is for another recipient. */
int dsb_runkey_open_identity(struct dsb_keys *k, const void *slot, size_t len,
    const struct dsb_identity *id);
/*
 * dsb_runkey_note_escrow(k, slot, len): when ${slot} is a run-key slot for
 * a key ${k} does not hold, wrapped to a recipient other than the
 * repository's key, remember it, so that reading data under it fails with
 * a message naming the escrow (dsb_aead_derive_for).  0 or error.
 */
int dsb_runkey_note_escrow(struct dsb_keys *k, const void *slot, size_t len);

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
