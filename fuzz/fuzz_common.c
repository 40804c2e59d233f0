/* fuzz_common.c: fixed keys and FORMAT.md constructions for the fuzz targets. */
#include <string.h>

#include "crypto/crypto_internal.h"
#include "dsbackup/util.h"
#include "fuzz.h"

#define PACK_INFO "dsbackup pack v1"
#define OBJ_INFO "dsbackup object v1"

static void die(const char *what)
{
	fprintf(stderr, "fuzz setup: %s failed\n", what);
	abort();
}

const struct dsb_keys *fuzz_keys(void)
{
	static struct dsb_keys *keys;
	uint8_t raw[DSB_KEYS_RAW_LEN];
	size_t i;

	if (keys != NULL)
		return keys;
	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i * 7 + 1);
	if (dsb_keys_from_raw(raw, &keys) != 0)
		die("dsb_keys_from_raw");
	return keys;
}

void fuzz_salt(uint8_t salt[DSB_SALT_LEN])
{
	size_t i;

	for (i = 0; i < DSB_SALT_LEN; i++)
		salt[i] = (uint8_t)(0xa5 ^ i);
}

void fuzz_header(struct dsb_pack_header *hdr)
{
	dsb_keys_key_id(fuzz_keys(), hdr->key_id);
	fuzz_salt(hdr->salt);
}

static struct dsb_aead *derive(const uint8_t salt[DSB_SALT_LEN], const char *info)
{
	struct dsb_aead *a = NULL;

	if (dsb_aead_derive(fuzz_keys(), salt, info, &a) != 0)
		die("dsb_aead_derive");
	return a;
}

static void nonce_of(uint8_t nonce[DSB_NONCE_LEN], uint32_t domain, uint64_t offset)
{
	dsb_put_le32(nonce, domain);
	dsb_put_le64(nonce + 4, offset);
}

void fuzz_seal_trailer(const struct dsb_pack_header *hdr, const uint8_t *plain, size_t n,
    uint64_t pack_size, uint8_t *out)
{
	uint8_t nonce[DSB_NONCE_LEN], aad[8 + DSB_PACK_HEADER_LEN];
	struct dsb_aead *a = derive(hdr->salt, PACK_INFO);

	nonce_of(nonce, 1, pack_size - DSB_PACK_FOOTER_LEN - (n + DSB_TAG_LEN));
	memcpy(aad, "DSBTRLR1", 8);
	memcpy(aad + 8, "DSBPACK1", 8);
	memcpy(aad + 16, hdr->key_id, DSB_KEYID_LEN);
	memcpy(aad + 24, hdr->salt, DSB_SALT_LEN);
	if (dsb_aead_seal(a, nonce, aad, sizeof(aad), plain, n, out) != 0)
		die("trailer seal");
	dsb_aead_free(a);
}

void fuzz_seal_blob(const struct dsb_pack_header *hdr, const struct dsb_pack_entry *e,
    const uint8_t *payload, size_t n, uint8_t *out)
{
	uint8_t nonce[DSB_NONCE_LEN], aad[38];
	struct dsb_aead *a = derive(hdr->salt, PACK_INFO);

	nonce_of(nonce, 0, e->offset);
	memcpy(aad, e->id, DSB_HASH_LEN);
	aad[32] = e->type;
	aad[33] = e->comp;
	dsb_put_le32(aad + 34, e->raw_len);
	if (dsb_aead_seal(a, nonce, aad, sizeof(aad), payload, n, out) != 0)
		die("blob seal");
	dsb_aead_free(a);
}

void fuzz_seal_object_plain(const char *type, const uint8_t *plain, size_t n, struct dsb_buf *out)
{
	uint8_t nonce[DSB_NONCE_LEN] = { 0 }, aad[DSB_OBJ_HEADER_LEN + 16], salt[DSB_SALT_LEN];
	size_t tlen = strlen(type);
	struct dsb_aead *a;

	if (tlen > 16)
		die("object type");
	fuzz_salt(salt);
	a = derive(salt, OBJ_INFO);
	dsb_buf_reset(out);
	if (dsb_buf_reserve(out, DSB_OBJ_HEADER_LEN + n + DSB_TAG_LEN) != 0)
		die("object buffer");
	memcpy(out->data, "DSBOBJ01", 8);
	dsb_keys_key_id(fuzz_keys(), out->data + 8);
	memcpy(out->data + 16, salt, DSB_SALT_LEN);
	memcpy(aad, out->data, DSB_OBJ_HEADER_LEN);
	memcpy(aad + DSB_OBJ_HEADER_LEN, type, tlen);
	if (dsb_aead_seal(a, nonce, aad, DSB_OBJ_HEADER_LEN + tlen, plain, n,
	    out->data + DSB_OBJ_HEADER_LEN) != 0)
		die("object seal");
	out->len = DSB_OBJ_HEADER_LEN + n + DSB_TAG_LEN;
	dsb_aead_free(a);
}
