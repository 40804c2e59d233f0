/*
 * keyslot.c: the master keys wrapped by a passphrase.
 *
 * A slot is one JSON object (keys in this order, no whitespace):
 *   {"version":1,"type":"passphrase","created":"<RFC 3339 UTC>",
 *    "host":"...","user":"...",
 *    "kdf":{"name":"scrypt","log2_n":17,"r":8,"p":1,"salt":"<base64, 32 bytes>"},
 *    "nonce":"<base64, 12 bytes>","data":"<base64, 120 bytes>"}
 * KEK  = scrypt(passphrase, salt, N = 2^log2_n, r, p, 32 bytes)
 * data = AES-256-GCM(KEK, nonce, AAD, "DSBMK001" || data_key || id_key ||
 *        chunker_key) || tag  (104 + 16 bytes)
 * AAD  = "dsbackup keyslot v1" 0 type 0 created 0 host 0 user 0 "scrypt" 0
 *        decimal(log2_n) 0 decimal(r) 0 decimal(p) 0 salt (32 raw bytes)
 * Accepted parameters: log2_n 10..22, r 1..32, p 1..16, r*p <= 64 and
 * scrypt memory (128*r*(N+2) + 128*r*p bytes) at most 2 GiB + 1 MiB.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "dsbackup/crypto.h"
#include "dsbackup/error.h"
#include "dsbackup/util.h"
#include "crypto_internal.h"

#define SLOT_VERSION 1
#define SLOT_TYPE "passphrase"
#define SLOT_TYPE_WO "write-only"   /* same layout, wraps DSBWO001 keys */
#define SLOT_KDF "scrypt"
#define SLOT_AAD_LABEL "dsbackup keyslot v1"
#define SLOT_MAGIC "DSBMK001"
#define SLOT_MAGIC_LEN 8
#define SLOT_PT_LEN (SLOT_MAGIC_LEN + DSB_KEYS_RAW_LEN)
#define SLOT_CT_LEN (SLOT_PT_LEN + DSB_TAG_LEN)
#define KDF_MAX_MEM (((uint64_t)2 << 30) + ((uint64_t)1 << 20))
#define B64_LEN(n) (4 * (((n) + 2) / 3))
#define SLOT_B64_MAX 512   /* longest base64 field of any slot type */

/* A parsed (or about to be written) slot. */
struct slot {
	struct dsb_keyslot_info info;
	uint8_t salt[DSB_SALT_LEN];
	uint8_t nonce[DSB_NONCE_LEN];
	uint8_t data[SLOT_CT_LEN];
};

/* kdf_check(kdf, code): 0, or ${code} with a message naming the bad parameter. */
static int kdf_check(const struct dsb_kdf_params *kdf, int code)
{
	uint64_t n, mem;

	if (kdf->log2_n < 10 || kdf->log2_n > 22)
		return dsb_error(code, "scrypt log2_n %u is outside 10..22", kdf->log2_n);
	if (kdf->r < 1 || kdf->r > 32)
		return dsb_error(code, "scrypt r %u is outside 1..32", kdf->r);
	if (kdf->p < 1 || kdf->p > 16)
		return dsb_error(code, "scrypt p %u is outside 1..16", kdf->p);
	if (kdf->r * kdf->p > 64)
		return dsb_error(code, "scrypt r*p %u is more than 64", kdf->r * kdf->p);
	n = (uint64_t)1 << kdf->log2_n;
	mem = 128 * (uint64_t)kdf->r * (n + 2) + 128 * (uint64_t)kdf->r * kdf->p;
	if (mem > KDF_MAX_MEM)
		return dsb_error(code, "scrypt log2_n %u with r %u needs %llu MiB, more than %llu",
		    kdf->log2_n, kdf->r, (unsigned long long)(mem >> 20),
		    (unsigned long long)(KDF_MAX_MEM >> 20));
	return 0;
}

/* kdf_derive(pass, passlen, kdf, salt, kek): the key-encryption key; params already checked. */
static int kdf_derive(const char *pass, size_t passlen, const struct dsb_kdf_params *kdf,
    const uint8_t salt[DSB_SALT_LEN], uint8_t kek[DSB_KEY_LEN])
{
	OSSL_PARAM params[7];
	uint64_t n = (uint64_t)1 << kdf->log2_n, maxmem = KDF_MAX_MEM;
	uint32_t r32 = kdf->r, p32 = kdf->p;
	EVP_KDF *k = NULL;
	EVP_KDF_CTX *ctx = NULL;
	int r = DSB_ERR_CRYPTO;

	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
	    (void *)(uintptr_t)pass, passlen);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)(uintptr_t)salt, DSB_SALT_LEN);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r32);
	params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p32);
	params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
	params[6] = OSSL_PARAM_construct_end();
	if ((k = EVP_KDF_fetch(NULL, "SCRYPT", NULL)) == NULL ||
	    (ctx = EVP_KDF_CTX_new(k)) == NULL ||
	    EVP_KDF_derive(ctx, kek, DSB_KEY_LEN, params) != 1) {
		r = dsb_crypto_error(DSB_ERR_CRYPTO, "scrypt");
		goto out;
	}
	r = 0;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(k);
	return r;
}

int dsb_slot_aad_add(struct dsb_buf *b, const char *s)
{
	return dsb_buf_append(b, s, strlen(s) + 1);
}

/* slot_aad(s, aad): the additional data that binds the public fields to the ciphertext. */
static int slot_aad(const struct slot *s, struct dsb_buf *aad)
{
	char num[3][16];
	int r;

	snprintf(num[0], sizeof(num[0]), "%u", s->info.log2_n);
	snprintf(num[1], sizeof(num[1]), "%u", s->info.r);
	snprintf(num[2], sizeof(num[2]), "%u", s->info.p);
	if ((r = dsb_slot_aad_add(aad, SLOT_AAD_LABEL)) != 0 ||
	    (r = dsb_slot_aad_add(aad, s->info.type)) != 0 ||
	    (r = dsb_slot_aad_add(aad, s->info.created)) != 0 ||
	    (r = dsb_slot_aad_add(aad, s->info.host)) != 0 ||
	    (r = dsb_slot_aad_add(aad, s->info.user)) != 0 ||
	    (r = dsb_slot_aad_add(aad, SLOT_KDF)) != 0 ||
	    (r = dsb_slot_aad_add(aad, num[0])) != 0 ||
	    (r = dsb_slot_aad_add(aad, num[1])) != 0 ||
	    (r = dsb_slot_aad_add(aad, num[2])) != 0 ||
	    (r = dsb_buf_append(aad, s->salt, DSB_SALT_LEN)) != 0)
		return r;
	return 0;
}

/* slot_crypt(s, kek, pt, enc): seal ${pt} into s->data, or open s->data into ${pt}. */
static int slot_crypt(struct slot *s, const uint8_t kek[DSB_KEY_LEN], uint8_t pt[SLOT_PT_LEN],
    int enc)
{
	struct dsb_aead *a = NULL;
	struct dsb_buf aad;
	int r = DSB_ERR_INTERNAL;

	dsb_buf_init(&aad, 4096);
	if ((r = slot_aad(s, &aad)) != 0)
		goto out;
	if ((r = dsb_aead_from_key(kek, &a)) != 0)
		goto out;
	if (enc)
		r = dsb_aead_seal(a, s->nonce, aad.data, aad.len, pt, SLOT_PT_LEN, s->data);
	else
		r = dsb_aead_open(a, s->nonce, aad.data, aad.len, s->data, SLOT_CT_LEN, pt);
out:
	dsb_aead_free(a);
	dsb_buf_release(&aad);
	return r;
}

/* b64_decode(field, s, out, n): decode exactly ${n} bytes of base64. 0 or DSB_ERR_CORRUPT. */
static int b64_decode(const char *field, const char *s, uint8_t *out, size_t n)
{
	uint8_t tmp[SLOT_B64_MAX / 4 * 3];
	size_t len = strlen(s), pad = 0;
	int dec;

	if (len != B64_LEN(n) || len > sizeof(tmp) / 3 * 4)
		return dsb_error(DSB_ERR_CORRUPT, "key slot %s: %zu base64 characters, expected %zu",
		    field, len, (size_t)B64_LEN(n));
	if ((dec = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)len)) < 0) {
		OPENSSL_cleanse(tmp, sizeof(tmp));
		return dsb_error(DSB_ERR_CORRUPT, "key slot %s: invalid base64", field);
	}
	/* EVP_DecodeBlock counts the zero bytes that '=' padding stands for. */
	while (pad < 2 && len > pad && s[len - 1 - pad] == '=')
		pad++;
	if ((size_t)dec != len / 4 * 3 || (size_t)dec - pad != n) {
		OPENSSL_cleanse(tmp, sizeof(tmp));
		return dsb_error(DSB_ERR_CORRUPT, "key slot %s: decodes to %zu bytes, expected %zu",
		    field, (size_t)dec - pad, n);
	}
	memcpy(out, tmp, n);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return 0;
}

/* dsb_slot_get_string(o, key, dst, size): a string member without NUL bytes that fits ${dst}. */
int dsb_slot_get_string(json_t *o, const char *key, char *dst, size_t size)
{
	json_t *v = json_object_get(o, key);
	size_t len;

	if (!json_is_string(v))
		return dsb_error(DSB_ERR_CORRUPT, "key slot: \"%s\" is missing or not a string", key);
	len = json_string_length(v);
	if (len >= size || strlen(json_string_value(v)) != len)
		return dsb_error(DSB_ERR_CORRUPT, "key slot: \"%s\" is too long or contains NUL", key);
	memcpy(dst, json_string_value(v), len + 1);
	return 0;
}

/* dsb_slot_get_uint(o, key, out): a non-negative integer member that fits an unsigned. */
int dsb_slot_get_uint(json_t *o, const char *key, unsigned *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT_MAX)
		return dsb_error(DSB_ERR_CORRUPT, "key slot: \"%s\" is missing or out of range", key);
	*out = (unsigned)json_integer_value(v);
	return 0;
}

/* dsb_slot_get_b64(o, key, out, n): a base64 string member of exactly ${n} decoded bytes. */
int dsb_slot_get_b64(json_t *o, const char *key, uint8_t *out, size_t n)
{
	char s[SLOT_B64_MAX + 1];
	int r;

	if ((r = dsb_slot_get_string(o, key, s, sizeof(s))) != 0)
		return r;
	return b64_decode(key, s, out, n);
}

int dsb_slot_get_b64_var(json_t *o, const char *key, size_t min, size_t max, uint8_t **out,
    size_t *n)
{
	json_t *v = json_object_get(o, key);
	const char *str;
	size_t len, pad = 0;
	uint8_t *p;
	int dec;

	if (!json_is_string(v))
		return dsb_error(DSB_ERR_CORRUPT, "key slot: \"%s\" is missing or not a string", key);
	str = json_string_value(v);
	len = json_string_length(v);
	if (len % 4 != 0 || len < B64_LEN(min) || len > B64_LEN(max) || strlen(str) != len)
		return dsb_error(DSB_ERR_CORRUPT, "key slot %s: %zu base64 characters, expected "
		    "%zu..%zu", key, len, (size_t)B64_LEN(min), (size_t)B64_LEN(max));
	if ((p = malloc(len / 4 * 3 + 1)) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory for key slot %s", key);
	if ((dec = EVP_DecodeBlock(p, (const unsigned char *)str, (int)len)) < 0) {
		free(p);
		return dsb_error(DSB_ERR_CORRUPT, "key slot %s: invalid base64", key);
	}
	while (pad < 2 && len > pad && str[len - 1 - pad] == '=')
		pad++;
	if ((size_t)dec - pad < min || (size_t)dec - pad > max) {
		free(p);
		return dsb_error(DSB_ERR_CORRUPT, "key slot %s: decodes to %zu bytes", key,
		    (size_t)dec - pad);
	}
	*out = p;
	*n = (size_t)dec - pad;
	return 0;
}

int dsb_slot_parse_head(const void *p, size_t len, json_t **root, struct dsb_keyslot_info *info,
    unsigned *version)
{
	json_error_t jerr;
	int r;

	*root = NULL;
	*version = 0;
	if (len > DSB_SLOT_MAX_LEN)
		return dsb_error(DSB_ERR_CORRUPT, "key slot of %zu bytes is larger than %d",
		    len, DSB_SLOT_MAX_LEN);
	if ((*root = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return dsb_error(DSB_ERR_CORRUPT, "key slot is not valid JSON: %s (line %d)",
		    jerr.text, jerr.line);
	if (!json_is_object(*root))
		r = dsb_error(DSB_ERR_CORRUPT, "key slot is not a JSON object");
	else if ((r = dsb_slot_get_uint(*root, "version", version)) == 0)
		r = dsb_slot_get_string(*root, "type", info->type, sizeof(info->type));
	if (r != 0) {
		json_decref(*root);
		*root = NULL;
	}
	return r;
}

int dsb_slot_get_origin(json_t *o, struct dsb_keyslot_info *info)
{
	int r;

	if ((r = dsb_slot_get_string(o, "created", info->created, sizeof(info->created))) != 0 ||
	    (r = dsb_slot_get_string(o, "host", info->host, sizeof(info->host))) != 0)
		return r;
	return dsb_slot_get_string(o, "user", info->user, sizeof(info->user));
}

/* slot_kdf(kdf, s): the "kdf" object; parameters range-checked before anything uses them. */
static int slot_kdf(json_t *kdf, struct slot *s)
{
	struct dsb_kdf_params p;
	char name[16];
	int r;

	if (!json_is_object(kdf))
		return dsb_error(DSB_ERR_CORRUPT, "key slot: \"kdf\" is missing or not an object");
	if ((r = dsb_slot_get_string(kdf, "name", name, sizeof(name))) != 0)
		return r;
	if (strcmp(name, SLOT_KDF) != 0)
		return dsb_error(DSB_ERR_UNSUPPORTED, "key slot KDF \"%s\" is not supported", name);
	if ((r = dsb_slot_get_uint(kdf, "log2_n", &p.log2_n)) != 0 ||
	    (r = dsb_slot_get_uint(kdf, "r", &p.r)) != 0 ||
	    (r = dsb_slot_get_uint(kdf, "p", &p.p)) != 0)
		return r;
	if ((r = kdf_check(&p, DSB_ERR_CORRUPT)) != 0)
		return dsb_error_wrap(r, "key slot");
	s->info.log2_n = p.log2_n;
	s->info.r = p.r;
	s->info.p = p.p;
	return dsb_slot_get_b64(kdf, "salt", s->salt, DSB_SALT_LEN);
}

/* slot_parse(p, len, s): parse and validate a slot document. */
static int slot_parse(const void *p, size_t len, struct slot *s)
{
	json_t *root = NULL;
	unsigned version;
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = dsb_slot_parse_head(p, len, &root, &s->info, &version)) != 0)
		return r;
	if (version != SLOT_VERSION) {
		r = dsb_error(DSB_ERR_UNSUPPORTED, "key slot version %u is not supported", version);
		goto out;
	}
	if (strcmp(s->info.type, SLOT_TYPE) != 0 && strcmp(s->info.type, SLOT_TYPE_WO) != 0) {
		r = dsb_error(DSB_ERR_UNSUPPORTED, "key slot type \"%s\" is not supported",
		    s->info.type);
		goto out;
	}
	if ((r = dsb_slot_get_origin(root, &s->info)) != 0 ||
	    (r = slot_kdf(json_object_get(root, "kdf"), s)) != 0 ||
	    (r = dsb_slot_get_b64(root, "nonce", s->nonce, DSB_NONCE_LEN)) != 0 ||
	    (r = dsb_slot_get_b64(root, "data", s->data, SLOT_CT_LEN)) != 0)
		goto out;
	r = 0;
out:
	json_decref(root);
	return r;
}

int dsb_keyslot_info(const void *slot, size_t len, struct dsb_keyslot_info *info)
{
	struct slot s;
	int r;

	if ((r = slot_parse(slot, len, &s)) != 0)
		return r;
	*info = s.info;
	return 0;
}

int dsb_keyslot_open(const void *slot, size_t len, const char *pass, size_t passlen,
    struct dsb_keys **out)
{
	struct dsb_kdf_params kdf;
	uint8_t kek[DSB_KEY_LEN], pt[SLOT_PT_LEN];
	struct slot s;
	int r = DSB_ERR_INTERNAL;

	if ((r = slot_parse(slot, len, &s)) != 0)
		goto out;
	kdf.log2_n = s.info.log2_n;
	kdf.r = s.info.r;
	kdf.p = s.info.p;
	if ((r = kdf_derive(pass, passlen, &kdf, s.salt, kek)) != 0)
		goto out;
	if ((r = slot_crypt(&s, kek, pt, 0)) != 0) {
		if (r == DSB_ERR_AUTH)
			r = dsb_error(DSB_ERR_BAD_KEY, "wrong password");
		goto out;
	}
	if (strcmp(s.info.type, SLOT_TYPE_WO) == 0 &&
	    CRYPTO_memcmp(pt, DSB_WO_MAGIC, SLOT_MAGIC_LEN) == 0) {
		r = dsb_keys_from_write_only(pt + SLOT_MAGIC_LEN, out);
		goto out;
	}
	if (strcmp(s.info.type, SLOT_TYPE) != 0 ||
	    CRYPTO_memcmp(pt, SLOT_MAGIC, SLOT_MAGIC_LEN) != 0) {
		r = dsb_error(DSB_ERR_CORRUPT, "key slot decrypts to an unknown key format");
		goto out;
	}
	if ((r = dsb_keys_from_raw(pt + SLOT_MAGIC_LEN, out)) != 0)
		goto out;
	r = 0;
out:
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(pt, sizeof(pt));
	return r;
}

/* slot_fill(s, kdf, host, user): the public fields of a new slot, fresh salt and nonce. */
static int slot_fill(struct slot *s, const char *type, const struct dsb_kdf_params *kdf,
    const char *host, const char *user)
{
	int64_t sec;
	long nsec;
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = kdf_check(kdf, DSB_ERR_USAGE)) != 0)
		return r;
	if (strlen(host) >= sizeof(s->info.host) || strlen(user) >= sizeof(s->info.user))
		return dsb_error(DSB_ERR_USAGE, "host or user name for the key slot is too long");
	snprintf(s->info.type, sizeof(s->info.type), "%s", type);
	dsb_time_now(&sec, &nsec);
	dsb_time_format(sec, nsec, s->info.created, sizeof(s->info.created));
	snprintf(s->info.host, sizeof(s->info.host), "%s", host);
	snprintf(s->info.user, sizeof(s->info.user), "%s", user);
	s->info.log2_n = kdf->log2_n;
	s->info.r = kdf->r;
	s->info.p = kdf->p;
	if ((r = dsb_random(s->salt, sizeof(s->salt))) != 0 ||
	    (r = dsb_random(s->nonce, sizeof(s->nonce))) != 0)
		return r;
	return 0;
}

char *dsb_slot_b64(const uint8_t *p, size_t n)
{
	char *s;

	if ((s = malloc(B64_LEN(n) + 1)) == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}

/* slot_json(s): the slot as a JSON object, or NULL. */
static json_t *slot_json(const struct slot *s)
{
	char *salt, *nonce, *data;
	json_t *o = NULL;

	salt = dsb_slot_b64(s->salt, sizeof(s->salt));
	nonce = dsb_slot_b64(s->nonce, sizeof(s->nonce));
	data = dsb_slot_b64(s->data, sizeof(s->data));
	if (salt != NULL && nonce != NULL && data != NULL)
		o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:{s:s, s:i, s:i, s:i, s:s}, s:s, s:s}",
		    "version", SLOT_VERSION, "type", s->info.type, "created", s->info.created,
		    "host", s->info.host, "user", s->info.user,
		    "kdf", "name", SLOT_KDF, "log2_n", (int)s->info.log2_n, "r", (int)s->info.r,
		    "p", (int)s->info.p, "salt", salt, "nonce", nonce, "data", data);
	free(salt);
	free(nonce);
	free(data);
	return o;
}

/* slot_create(type, pt, ...): seal the 104-byte plaintext ${pt} in a new slot of ${type} */
static int slot_create(const char *type, uint8_t pt[SLOT_PT_LEN], const char *pass,
    size_t passlen, const struct dsb_kdf_params *kdf, const char *host, const char *user,
    struct dsb_buf *out);

int dsb_keyslot_create(const struct dsb_keys *k, const char *pass, size_t passlen,
    const struct dsb_kdf_params *kdf, const char *host, const char *user, struct dsb_buf *out)
{
	uint8_t pt[SLOT_PT_LEN];
	int r;

	memcpy(pt, SLOT_MAGIC, SLOT_MAGIC_LEN);
	dsb_keys_export(k, pt + SLOT_MAGIC_LEN);
	r = slot_create(SLOT_TYPE, pt, pass, passlen, kdf, host, user, out);
	OPENSSL_cleanse(pt, sizeof(pt));
	return r;
}

int dsb_keyslot_create_write_only(const struct dsb_keys *k, const char *pass, size_t passlen,
    const struct dsb_kdf_params *kdf, const char *host, const char *user, struct dsb_buf *out)
{
	uint8_t pt[SLOT_PT_LEN];
	int r;

	if (!k->has_repo_pk)
		return dsb_error(DSB_ERR_USAGE, "the keys hold no repository public key for a "
		    "write-only slot");
	memcpy(pt, DSB_WO_MAGIC, SLOT_MAGIC_LEN);
	dsb_keys_export_write_only(k, pt + SLOT_MAGIC_LEN);
	r = slot_create(SLOT_TYPE_WO, pt, pass, passlen, kdf, host, user, out);
	OPENSSL_cleanse(pt, sizeof(pt));
	return r;
}

static int slot_create(const char *type, uint8_t pt[SLOT_PT_LEN], const char *pass,
    size_t passlen, const struct dsb_kdf_params *kdf, const char *host, const char *user,
    struct dsb_buf *out)
{
	static const struct dsb_kdf_params defaults = {
		DSB_KDF_DEFAULT_LOG2_N, DSB_KDF_DEFAULT_R, DSB_KDF_DEFAULT_P
	};
	uint8_t kek[DSB_KEY_LEN];
	struct slot s;
	json_t *o = NULL;
	char *text = NULL;
	int r = DSB_ERR_INTERNAL;

	if (kdf == NULL)
		kdf = &defaults;
	if ((r = slot_fill(&s, type, kdf, host != NULL ? host : "", user != NULL ? user : "")) != 0)
		goto out;
	if ((r = kdf_derive(pass, passlen, kdf, s.salt, kek)) != 0 ||
	    (r = slot_crypt(&s, kek, pt, 1)) != 0)
		goto out;
	if ((o = slot_json(&s)) == NULL ||
	    (text = json_dumps(o, JSON_COMPACT)) == NULL) {
		r = dsb_error(DSB_ERR_USAGE, "cannot encode the key slot as JSON "
		    "(host and user names must be UTF-8)");
		goto out;
	}
	dsb_buf_reset(out);
	if ((r = dsb_buf_append(out, text, strlen(text))) != 0)
		goto out;
	r = 0;
out:
	OPENSSL_cleanse(kek, sizeof(kek));
	free(text);
	json_decref(o);
	return r;
}
