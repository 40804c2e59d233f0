/*
 * crypto.c: master keys, blob ids, per-pack AEAD keys and SHA-256, all
 * through OpenSSL 3 EVP.
 *
 * struct dsb_keys lives in its own page-aligned allocation, mlock'ed and
 * marked MADV_DONTDUMP.  Everything derived from the keys that the rest of
 * the program asks for often (the key id, the gear table, a keyed HMAC
 * template for id_key) is computed once when the keys are made, so the
 * accessors that return void cannot fail.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "dsbackup/crypto.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "crypto_internal.h"

#define KEYID_LABEL "dsbackup key id v1"
#define GEAR_LABEL "dsbackup gear v1"
#define EVP_CHUNK ((size_t)1 << 30)  /* EVP_CipherUpdate takes an int length */

struct dsb_aead {
	EVP_CIPHER_CTX *ctx;  /* keyed once; each seal/open sets only the IV */
};

struct dsb_sha256 {
	EVP_MD_CTX *md;
};

/* Impossible failures of functions that cannot return an error. */
static void crypto_bug(const char *what)
{
	dsb_log(DSB_LOG_ERROR, "BUG: %s failed in OpenSSL", what);
	abort();
}

int dsb_crypto_error(int code, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e == 0) {
		ERR_clear_error();
		return dsb_error(code, "%s failed", what);
	}
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return dsb_error(code, "%s failed: %s", what, buf);
}

int dsb_crypto_init(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return dsb_error_errno(DSB_ERR_IO, errno, "prctl(PR_SET_DUMPABLE)");
	/* before OpenSSL's first allocation; without it, scrypt is slower and nothing else changes */
	(void)dsb_crypto_set_allocator();
	if (OPENSSL_init_crypto(0, NULL) != 1)
		return dsb_crypto_error(DSB_ERR_CRYPTO, "OpenSSL initialisation");
	return 0;
}

int dsb_random(void *p, size_t n)
{
	uint8_t *q = p;
	size_t step;

	while (n > 0) {
		step = n > EVP_CHUNK ? EVP_CHUNK : n;
		if (RAND_bytes(q, (int)step) != 1)
			return dsb_crypto_error(DSB_ERR_CRYPTO, "RAND_bytes");
		q += step;
		n -= step;
	}
	return 0;
}

/* HMAC */

static int hmac_new(const uint8_t *key, size_t keylen, EVP_MAC_CTX **out)
{
	OSSL_PARAM params[2];
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	int r = DSB_ERR_CRYPTO;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (ctx = EVP_MAC_CTX_new(mac)) == NULL ||
	    EVP_MAC_init(ctx, key, keylen, params) != 1) {
		r = dsb_crypto_error(DSB_ERR_CRYPTO, "HMAC-SHA256 setup");
		goto out;
	}
	*out = ctx;
	ctx = NULL;
	r = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return r;
}

/* One MAC over the concatenation of ${nparts} pieces, from a keyed template. */
struct mac_part {
	const void *p;
	size_t n;
};

static int hmac_parts(const EVP_MAC_CTX *tmpl, const struct mac_part *parts, size_t nparts,
    uint8_t out[DSB_HASH_LEN])
{
	EVP_MAC_CTX *ctx;
	size_t i, outl = 0;
	int r = DSB_ERR_CRYPTO;

	if ((ctx = EVP_MAC_CTX_dup(tmpl)) == NULL)
		return dsb_crypto_error(DSB_ERR_CRYPTO, "HMAC context copy");
	for (i = 0; i < nparts; i++) {
		if (parts[i].n > 0 && EVP_MAC_update(ctx, parts[i].p, parts[i].n) != 1)
			goto fail;
	}
	if (EVP_MAC_final(ctx, out, &outl, DSB_HASH_LEN) != 1 || outl != DSB_HASH_LEN)
		goto fail;
	r = 0;
	goto out;
fail:
	r = dsb_crypto_error(DSB_ERR_CRYPTO, "HMAC-SHA256");
out:
	EVP_MAC_CTX_free(ctx);
	return r;
}

int dsb_crypto_hmac(const uint8_t *key, size_t keylen, const void *p, size_t n,
    uint8_t out[DSB_HASH_LEN])
{
	struct mac_part part = { p, n };
	EVP_MAC_CTX *ctx = NULL;
	int r;

	if ((r = hmac_new(key, keylen, &ctx)) != 0)
		return r;
	r = hmac_parts(ctx, &part, 1, out);
	EVP_MAC_CTX_free(ctx);
	return r;
}

/* Master keys */

int dsb_keys_alloc(struct dsb_keys **out)
{
	long page = sysconf(_SC_PAGESIZE);
	struct dsb_keys *k;
	size_t len;
	void *p;

	if (page <= 0)
		page = 4096;
	len = (sizeof(*k) + (size_t)page - 1) / (size_t)page * (size_t)page;
	if (posix_memalign(&p, (size_t)page, len) != 0)
		return dsb_error(DSB_ERR_NOMEM, "cannot allocate %zu bytes for keys", len);
	memset(p, 0, len);
	k = p;
	k->alloc_len = len;
	if (mlock(p, len) == 0)
		k->locked = 1;
	else
		dsb_debug("mlock of key memory failed: %s", strerror(errno));
	if (madvise(p, len, MADV_DONTDUMP) != 0)
		dsb_debug("madvise(MADV_DONTDUMP) of key memory failed: %s", strerror(errno));
	*out = k;
	return 0;
}

void dsb_keys_free(struct dsb_keys *k)
{
	size_t len;
	int locked;

	if (k == NULL)
		return;
	EVP_MAC_CTX_free(k->id_mac);
	dsb_keys_ring_free(k);
	len = k->alloc_len;
	locked = k->locked;
	OPENSSL_cleanse(k, len);
	if (locked)
		munlock(k, len);
	free(k);
}

static int keys_derive_gear(struct dsb_keys *k)
{
	uint8_t msg[sizeof(GEAR_LABEL) - 1 + 4], block[DSB_HASH_LEN];
	uint32_t j;
	int i, r = 0;

	memcpy(msg, GEAR_LABEL, sizeof(GEAR_LABEL) - 1);
	for (j = 0; j < 64; j++) {
		msg[sizeof(msg) - 4] = (uint8_t)(j >> 24);
		msg[sizeof(msg) - 3] = (uint8_t)(j >> 16);
		msg[sizeof(msg) - 2] = (uint8_t)(j >> 8);
		msg[sizeof(msg) - 1] = (uint8_t)j;
		if ((r = dsb_crypto_hmac(k->chunker_key, DSB_KEY_LEN, msg, sizeof(msg), block)) != 0)
			break;
		for (i = 0; i < 4; i++)
			k->gear[4 * j + (uint32_t)i] = dsb_get_le64(block + 8 * i);
	}
	OPENSSL_cleanse(block, sizeof(block));
	return r;
}

/* Compute what the keys' accessors hand out: key id, gear table, id_key template. */
int dsb_keys_setup(struct dsb_keys *k)
{
	int r;

	dsb_key_id_of(k->data_key, k->key_id);
	if ((r = keys_derive_gear(k)) != 0)
		return r;
	EVP_MAC_CTX_free(k->id_mac);
	k->id_mac = NULL;
	return hmac_new(k->id_key, DSB_KEY_LEN, &k->id_mac);
}

void dsb_key_id_of(const uint8_t key[DSB_KEY_LEN], uint8_t out[DSB_KEYID_LEN])
{
	uint8_t buf[sizeof(KEYID_LABEL) - 1 + DSB_KEY_LEN], hash[DSB_HASH_LEN];

	memcpy(buf, KEYID_LABEL, sizeof(KEYID_LABEL) - 1);
	memcpy(buf + sizeof(KEYID_LABEL) - 1, key, DSB_KEY_LEN);
	dsb_sha256(buf, sizeof(buf), hash);
	memcpy(out, hash, DSB_KEYID_LEN);
	OPENSSL_cleanse(buf, sizeof(buf));
}

int dsb_keys_generate(struct dsb_keys **out)
{
	struct dsb_keys *k = NULL;
	int r = DSB_ERR_INTERNAL;

	if ((r = dsb_keys_alloc(&k)) != 0)
		goto out;
	if ((r = dsb_random(k->data_key, DSB_KEY_LEN)) != 0 ||
	    (r = dsb_random(k->id_key, DSB_KEY_LEN)) != 0 ||
	    (r = dsb_random(k->chunker_key, DSB_KEY_LEN)) != 0)
		goto out;
	if ((r = dsb_keys_setup(k)) != 0)
		goto out;
	memcpy(k->opened_id, k->key_id, DSB_KEYID_LEN);
	*out = k;
	k = NULL;
	r = 0;
out:
	dsb_keys_free(k);
	return r;
}

int dsb_keys_from_raw(const uint8_t raw[DSB_KEYS_RAW_LEN], struct dsb_keys **out)
{
	struct dsb_keys *k = NULL;
	int r = DSB_ERR_INTERNAL;

	if ((r = dsb_keys_alloc(&k)) != 0)
		goto out;
	memcpy(k->data_key, raw, DSB_KEY_LEN);
	memcpy(k->id_key, raw + DSB_KEY_LEN, DSB_KEY_LEN);
	memcpy(k->chunker_key, raw + 2 * DSB_KEY_LEN, DSB_KEY_LEN);
	if ((r = dsb_keys_setup(k)) != 0)
		goto out;
	memcpy(k->opened_id, k->key_id, DSB_KEYID_LEN);
	*out = k;
	k = NULL;
	r = 0;
out:
	dsb_keys_free(k);
	return r;
}

void dsb_keys_export(const struct dsb_keys *k, uint8_t raw[DSB_KEYS_RAW_LEN])
{
	memcpy(raw, k->data_key, DSB_KEY_LEN);
	memcpy(raw + DSB_KEY_LEN, k->id_key, DSB_KEY_LEN);
	memcpy(raw + 2 * DSB_KEY_LEN, k->chunker_key, DSB_KEY_LEN);
}

void dsb_keys_key_id(const struct dsb_keys *k, uint8_t out[DSB_KEYID_LEN])
{
	memcpy(out, k->key_id, DSB_KEYID_LEN);
}

void dsb_keys_gear(const struct dsb_keys *k, uint64_t gear[256])
{
	memcpy(gear, k->gear, sizeof(k->gear));
}

int dsb_keys_blob_id(const struct dsb_keys *k, const void *p, size_t n, uint8_t id[DSB_HASH_LEN])
{
	struct mac_part part = { p, n };

	return hmac_parts(k->id_mac, &part, 1, id);
}

int dsb_keys_mac(const struct dsb_keys *k, const char *label, const void *p, size_t n,
    uint8_t out[DSB_HASH_LEN])
{
	struct mac_part parts[3] = {
		{ label, strlen(label) },
		{ "", 1 },
		{ p, n },
	};

	return hmac_parts(k->id_mac, parts, 3, out);
}

/* AEAD */

int dsb_crypto_hkdf(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen,
    const uint8_t *info, size_t infolen, uint8_t *out, size_t outlen)
{
	OSSL_PARAM params[6], *p = params;
	int mode = EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND;
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *ctx = NULL;
	int r = DSB_ERR_CRYPTO;

	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)ikm, ikmlen);
	if (saltlen > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		    (void *)(uintptr_t)salt, saltlen);
	if (infolen > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    (void *)(uintptr_t)info, infolen);
	*p = OSSL_PARAM_construct_end();
	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL ||
	    (ctx = EVP_KDF_CTX_new(kdf)) == NULL ||
	    EVP_KDF_derive(ctx, out, outlen, params) != 1) {
		r = dsb_crypto_error(DSB_ERR_CRYPTO, "HKDF-SHA256");
		goto out;
	}
	r = 0;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return r;
}

int dsb_aead_from_key(const uint8_t key[DSB_KEY_LEN], struct dsb_aead **out)
{
	struct dsb_aead *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "cannot allocate an AEAD handle");
	if ((a->ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex(a->ctx, EVP_aes_256_gcm(), NULL, key, NULL, 1) != 1) {
		dsb_aead_free(a);
		return dsb_crypto_error(DSB_ERR_CRYPTO, "AES-256-GCM setup");
	}
	*out = a;
	return 0;
}

int dsb_aead_derive(const struct dsb_keys *k, const uint8_t salt[DSB_SALT_LEN], const char *info,
    struct dsb_aead **out)
{
	uint8_t subkey[DSB_KEY_LEN];
	size_t infolen = info != NULL ? strlen(info) : 0;
	int r;

	if ((r = dsb_crypto_hkdf(k->data_key, DSB_KEY_LEN, salt, DSB_SALT_LEN,
	    (const uint8_t *)info, infolen, subkey, sizeof(subkey))) == 0)
		r = dsb_aead_from_key(subkey, out);
	OPENSSL_cleanse(subkey, sizeof(subkey));
	return r;
}

int dsb_aead_derive_for(const struct dsb_keys *k, const uint8_t key_id[DSB_KEYID_LEN],
    const uint8_t salt[DSB_SALT_LEN], const char *info, struct dsb_aead **out)
{
	uint8_t subkey[DSB_KEY_LEN];
	const uint8_t *key;
	size_t infolen = info != NULL ? strlen(info) : 0;
	char hex[2 * DSB_KEYID_LEN + 1];
	int r;

	if ((key = dsb_keys_find(k, key_id)) == NULL) {
		const struct dsb_escrow_note *e = dsb_keys_escrow_find(k, key_id);

		if (k->write_only)
			return dsb_error(DSB_ERR_BAD_KEY, DSB_WRITE_ONLY_MSG);
		dsb_hex_encode(key_id, DSB_KEYID_LEN, hex);
		if (e != NULL)
			return dsb_error(DSB_ERR_BAD_KEY, "encrypted with data key %s: " DSB_ESCROW_MSG,
			    hex, e->recipient);
		/* Not a key this repository ever named to us: a damaged header as far as we can tell. */
		return dsb_error(DSB_ERR_AUTH, "encrypted with data key %s, which this repository "
		    "key does not hold: the header is damaged, or the key was dropped by "
		    "\"key rotate --rewrite\"", hex);
	}
	if ((r = dsb_crypto_hkdf(key, DSB_KEY_LEN, salt, DSB_SALT_LEN,
	    (const uint8_t *)info, infolen, subkey, sizeof(subkey))) == 0)
		r = dsb_aead_from_key(subkey, out);
	OPENSSL_cleanse(subkey, sizeof(subkey));
	return r;
}

void dsb_aead_free(struct dsb_aead *a)
{
	if (a == NULL)
		return;
	EVP_CIPHER_CTX_free(a->ctx);  /* cleanses the key schedule */
	free(a);
}

/* Feed ${n} bytes through the cipher in int-sized steps; ${out} NULL for AAD. */
static int gcm_update(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *in, size_t n)
{
	size_t step;
	int outl;

	while (n > 0) {
		step = n > EVP_CHUNK ? EVP_CHUNK : n;
		if (EVP_CipherUpdate(ctx, out, &outl, in, (int)step) != 1 || (size_t)outl != step)
			return -1;
		in += step;
		if (out != NULL)
			out += step;
		n -= step;
	}
	return 0;
}

int dsb_aead_seal(struct dsb_aead *a, const uint8_t nonce[DSB_NONCE_LEN], const void *aad,
    size_t aadlen, const void *pt, size_t ptlen, uint8_t *out)
{
	int outl;

	if (EVP_CipherInit_ex(a->ctx, NULL, NULL, NULL, nonce, 1) != 1 ||
	    gcm_update(a->ctx, NULL, aad, aadlen) != 0 ||
	    gcm_update(a->ctx, out, pt, ptlen) != 0 ||
	    EVP_CipherFinal_ex(a->ctx, out + ptlen, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, DSB_TAG_LEN, out + ptlen) != 1)
		return dsb_crypto_error(DSB_ERR_CRYPTO, "AES-256-GCM encryption");
	return 0;
}

int dsb_aead_open(struct dsb_aead *a, const uint8_t nonce[DSB_NONCE_LEN], const void *aad,
    size_t aadlen, const void *ct, size_t ctlen, uint8_t *out)
{
	uint8_t tag[DSB_TAG_LEN];
	size_t ptlen;
	int outl, r = DSB_ERR_CRYPTO;

	if (ctlen < DSB_TAG_LEN)
		return dsb_error(DSB_ERR_CORRUPT, "ciphertext of %zu bytes is shorter than its tag",
		    ctlen);
	ptlen = ctlen - DSB_TAG_LEN;
	memcpy(tag, (const uint8_t *)ct + ptlen, DSB_TAG_LEN);
	if (EVP_CipherInit_ex(a->ctx, NULL, NULL, NULL, nonce, 0) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, DSB_TAG_LEN, tag) != 1 ||
	    gcm_update(a->ctx, NULL, aad, aadlen) != 0 ||
	    gcm_update(a->ctx, out, ct, ptlen) != 0) {
		r = dsb_crypto_error(DSB_ERR_CRYPTO, "AES-256-GCM decryption");
		goto fail;
	}
	if (EVP_CipherFinal_ex(a->ctx, out + ptlen, &outl) != 1) {
		ERR_clear_error();
		r = dsb_error(DSB_ERR_AUTH, "authentication tag mismatch");
		goto fail;
	}
	return 0;
fail:
	if (ptlen > 0)
		OPENSSL_cleanse(out, ptlen);
	return r;
}

/* SHA-256 */

void dsb_sha256(const void *p, size_t n, uint8_t out[DSB_HASH_LEN])
{
	if (EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL) != 1)
		crypto_bug("SHA-256");
}

struct dsb_sha256 *dsb_sha256_new(void)
{
	struct dsb_sha256 *h;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		dsb_error(DSB_ERR_NOMEM, "cannot allocate a SHA-256 context");
		return NULL;
	}
	if ((h->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1) {
		dsb_crypto_error(DSB_ERR_CRYPTO, "SHA-256 setup");
		dsb_sha256_free(h);
		return NULL;
	}
	return h;
}

void dsb_sha256_update(struct dsb_sha256 *h, const void *p, size_t n)
{
	if (n > 0 && EVP_DigestUpdate(h->md, p, n) != 1)
		crypto_bug("SHA-256 update");
}

void dsb_sha256_final(struct dsb_sha256 *h, uint8_t out[DSB_HASH_LEN])
{
	if (EVP_DigestFinal_ex(h->md, out, NULL) != 1 ||
	    EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1)
		crypto_bug("SHA-256 final");
}

void dsb_sha256_free(struct dsb_sha256 *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->md);
	free(h);
}
