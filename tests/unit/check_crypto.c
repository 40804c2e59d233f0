/*
 * check_crypto.c: known answers for every primitive (NIST GCM, RFC 4231,
 * RFC 5869, FIPS 180 "abc"), the derivations of crypto.h recomputed here
 * with raw EVP calls, tamper detection, key slots and secrets.  main()
 * installs the program's OpenSSL allocator first, as dsbackup's does, so
 * every test runs on it; the "allocator" case checks it directly.
 */
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "crypto/crypto_internal.h"
#include "dsbackup/buf.h"
#include "dsbackup/crypto.h"
#include "dsbackup/error.h"
#include "dsbackup/util.h"
#include "testutil.h"

static void unhex(const char *hex, uint8_t *out, size_t n)
{
	ck_assert_int_eq(dsb_hex_decode(hex, out, n), 0);
}

static void fixed_raw(uint8_t raw[DSB_KEYS_RAW_LEN], uint8_t seed)
{
	size_t i;

	for (i = 0; i < DSB_KEYS_RAW_LEN; i++)
		raw[i] = (uint8_t)(seed + i * 7);
}

static struct dsb_keys *fixed_keys(uint8_t seed)
{
	uint8_t raw[DSB_KEYS_RAW_LEN];
	struct dsb_keys *k = NULL;

	fixed_raw(raw, seed);
	ck_assert_int_eq(dsb_keys_from_raw(raw, &k), 0);
	return k;
}

/* Independent HMAC-SHA256 through EVP_Q_mac. */
static void q_hmac(const uint8_t *key, size_t keylen, const void *p, size_t n, uint8_t out[32])
{
	size_t outl = 0;

	ck_assert_ptr_nonnull(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen,
	    p, n, out, 32, &outl));
	ck_assert_uint_eq(outl, 32);
}

/* Primitives: known answers */

START_TEST(test_sha256_abc)
{
	uint8_t want[32], got[32];
	struct dsb_sha256 *h;

	unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want, 32);
	dsb_sha256("abc", 3, got);
	ck_assert_mem_eq(got, want, 32);
	ck_assert_ptr_nonnull(h = dsb_sha256_new());
	dsb_sha256_update(h, "a", 1);
	dsb_sha256_update(h, "bc", 2);
	dsb_sha256_final(h, got);
	ck_assert_mem_eq(got, want, 32);
	memset(got, 0, sizeof(got));
	dsb_sha256_update(h, "abc", 3);  /* reusable after final */
	dsb_sha256_final(h, got);
	ck_assert_mem_eq(got, want, 32);
	dsb_sha256_free(h);
	dsb_sha256_free(NULL);
}
END_TEST

START_TEST(test_hmac_rfc4231)
{
	uint8_t key[20], want[32], got[32];

	memset(key, 0x0b, sizeof(key));
	unhex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", want, 32);
	ck_assert_int_eq(dsb_crypto_hmac(key, 20, "Hi There", 8, got), 0);
	ck_assert_mem_eq(got, want, 32);
	unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want, 32);
	ck_assert_int_eq(dsb_crypto_hmac((const uint8_t *)"Jefe", 4,
	    "what do ya want for nothing?", 28, got), 0);
	ck_assert_mem_eq(got, want, 32);
}
END_TEST

START_TEST(test_hkdf_rfc5869)
{
	uint8_t ikm[22], salt[13], info[10], want[42], got[42];
	size_t i;

	memset(ikm, 0x0b, sizeof(ikm));
	for (i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)i;
	for (i = 0; i < sizeof(info); i++)
		info[i] = (uint8_t)(0xf0 + i);
	unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	    "34007208d5b887185865", want, 42);
	ck_assert_int_eq(dsb_crypto_hkdf(ikm, sizeof(ikm), salt, sizeof(salt), info, sizeof(info),
	    got, sizeof(got)), 0);
	ck_assert_mem_eq(got, want, 42);
}
END_TEST

/* McGrew & Viega GCM test cases 13, 14 and 16 (AES-256). */
START_TEST(test_gcm_vectors)
{
	uint8_t key[32], iv[12], aad[20], pt[60], want[76], buf[76], zero[32];
	struct dsb_aead *a = NULL;

	memset(zero, 0, sizeof(zero));
	ck_assert_int_eq(dsb_aead_from_key(zero, &a), 0);
	unhex("530f8afbc74536b9a963b4f1c4cb738b", want, 16);
	ck_assert_int_eq(dsb_aead_seal(a, zero, NULL, 0, NULL, 0, buf), 0);
	ck_assert_mem_eq(buf, want, 16);
	unhex("cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919", want, 32);
	ck_assert_int_eq(dsb_aead_seal(a, zero, NULL, 0, zero, 16, buf), 0);
	ck_assert_mem_eq(buf, want, 32);
	dsb_aead_free(a);

	unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", key, 32);
	unhex("cafebabefacedbaddecaf888", iv, 12);
	unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", aad, 20);
	unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39", pt, 60);
	unhex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
	    "76fc6ece0f4e1768cddf8853bb2d551b", want, 76);
	ck_assert_int_eq(dsb_aead_from_key(key, &a), 0);
	ck_assert_int_eq(dsb_aead_seal(a, iv, aad, 20, pt, 60, buf), 0);
	ck_assert_mem_eq(buf, want, 76);
	ck_assert_int_eq(dsb_aead_open(a, iv, aad, 20, want, 76, buf), 0);
	ck_assert_mem_eq(buf, pt, 60);
	dsb_aead_free(a);
	dsb_aead_free(NULL);
}
END_TEST

/* AEAD through dsb_keys: recomputed with EVP_KDF and raw EVP GCM */

static const char *INFO = "dsbackup pack v1";

static void test_salt(uint8_t salt[DSB_SALT_LEN])
{
	size_t i;

	for (i = 0; i < DSB_SALT_LEN; i++)
		salt[i] = (uint8_t)(0xa0 + i);
}

static void evp_hkdf(const uint8_t *ikm, const uint8_t *salt, const char *info, uint8_t out[32])
{
	int mode = EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND;
	OSSL_PARAM params[] = {
		OSSL_PARAM_int(OSSL_KDF_PARAM_MODE, &mode),
		OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)ikm, 32),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)salt, 32),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_INFO, (void *)(uintptr_t)info, strlen(info)),
		OSSL_PARAM_END
	};
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);

	ck_assert_int_eq(EVP_KDF_derive(ctx, out, 32, params), 1);
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
}

/* Raw AES-256-GCM decryption; 1 if the tag verifies. */
static int evp_gcm_open(const uint8_t key[32], const uint8_t *iv, const uint8_t *aad, int aadlen,
    const uint8_t *ct, int ptlen, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl, ok;

	ck_assert_int_eq(EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, iv), 1);
	ck_assert_int_eq(EVP_DecryptUpdate(ctx, NULL, &outl, aad, aadlen), 1);
	ck_assert_int_eq(EVP_DecryptUpdate(ctx, out, &outl, ct, ptlen), 1);
	ck_assert_int_eq(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16,
	    (void *)(uintptr_t)(ct + ptlen)), 1);
	ok = EVP_DecryptFinal_ex(ctx, out + ptlen, &outl) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

START_TEST(test_aead_derive_independent)
{
	uint8_t raw[DSB_KEYS_RAW_LEN], salt[32], subkey[32], nonce[12], pt[1000], ct[1016];
	uint8_t back[1000];
	struct dsb_keys *k = fixed_keys(1);
	struct dsb_aead *a = NULL;
	size_t i;

	for (i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)(i * 31);
	memset(nonce, 0x42, sizeof(nonce));
	test_salt(salt);
	ck_assert_int_eq(dsb_aead_derive(k, salt, INFO, &a), 0);
	ck_assert_int_eq(dsb_aead_seal(a, nonce, "hdr", 3, pt, sizeof(pt), ct), 0);
	dsb_keys_export(k, raw);
	evp_hkdf(raw, salt, INFO, subkey);
	ck_assert_int_eq(evp_gcm_open(subkey, nonce, (const uint8_t *)"hdr", 3, ct,
	    (int)sizeof(pt), back), 1);
	ck_assert_mem_eq(back, pt, sizeof(pt));
	dsb_aead_free(a);
	dsb_keys_free(k);
}
END_TEST

static int all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

START_TEST(test_aead_tamper)
{
	static const size_t pos[] = { 0, 1, 77, 199, 200, 207, 215 };
	uint8_t salt[32], nonce[12], aad[40], pt[200], ct[216], bad[216], out[200];
	struct dsb_keys *k = fixed_keys(2);
	struct dsb_aead *a = NULL, *other = NULL;
	size_t i;

	test_salt(salt);
	memset(nonce, 7, sizeof(nonce));
	memset(aad, 9, sizeof(aad));
	memset(pt, 0x55, sizeof(pt));
	ck_assert_int_eq(dsb_aead_derive(k, salt, INFO, &a), 0);
	ck_assert_int_eq(dsb_aead_seal(a, nonce, aad, sizeof(aad), pt, sizeof(pt), ct), 0);
	ck_assert_int_eq(dsb_aead_open(a, nonce, aad, sizeof(aad), ct, sizeof(ct), out), 0);
	ck_assert_mem_eq(out, pt, sizeof(pt));
	for (i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {  /* ciphertext and tag */
		memcpy(bad, ct, sizeof(ct));
		bad[pos[i]] ^= 0x01;
		memset(out, 0xee, sizeof(out));
		ck_assert_int_eq(dsb_aead_open(a, nonce, aad, sizeof(aad), bad, sizeof(bad), out),
		    DSB_ERR_AUTH);
		ck_assert(all_zero(out, sizeof(out)));
		ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "authentication tag mismatch"));
	}
	aad[39] ^= 0x80;
	ck_assert_int_eq(dsb_aead_open(a, nonce, aad, sizeof(aad), ct, sizeof(ct), out), DSB_ERR_AUTH);
	aad[39] ^= 0x80;
	ck_assert_int_eq(dsb_aead_open(a, nonce, aad, sizeof(aad) - 1, ct, sizeof(ct), out),
	    DSB_ERR_AUTH);
	nonce[0] ^= 1;
	ck_assert_int_eq(dsb_aead_open(a, nonce, aad, sizeof(aad), ct, sizeof(ct), out), DSB_ERR_AUTH);
	nonce[0] ^= 1;
	ck_assert_int_eq(dsb_aead_open(a, nonce, aad, sizeof(aad), ct, sizeof(ct) - 1, out),
	    DSB_ERR_AUTH);
	ck_assert_int_eq(dsb_aead_open(a, nonce, aad, sizeof(aad), ct, 15, out), DSB_ERR_CORRUPT);
	/* another info or salt is another key */
	ck_assert_int_eq(dsb_aead_derive(k, salt, "dsbackup other v1", &other), 0);
	ck_assert_int_eq(dsb_aead_open(other, nonce, aad, sizeof(aad), ct, sizeof(ct), out),
	    DSB_ERR_AUTH);
	dsb_aead_free(other);
	salt[31] ^= 1;
	ck_assert_int_eq(dsb_aead_derive(k, salt, INFO, &other), 0);
	ck_assert_int_eq(dsb_aead_open(other, nonce, aad, sizeof(aad), ct, sizeof(ct), out),
	    DSB_ERR_AUTH);
	/* the handle still works after failures */
	ck_assert_int_eq(dsb_aead_open(a, nonce, aad, sizeof(aad), ct, sizeof(ct), out), 0);
	ck_assert_mem_eq(out, pt, sizeof(pt));
	dsb_aead_free(other);
	dsb_aead_free(a);
	dsb_keys_free(k);
}
END_TEST

START_TEST(test_aead_inplace_and_reuse)
{
	uint8_t salt[32], n1[12], n2[12], pt[300], buf[316], ref[316], ref2[316];
	struct dsb_keys *k = fixed_keys(3);
	struct dsb_aead *a = NULL, *b = NULL;
	size_t i;

	test_salt(salt);
	memset(n1, 1, sizeof(n1));
	memset(n2, 2, sizeof(n2));
	for (i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)(i ^ 0x5a);
	ck_assert_int_eq(dsb_aead_derive(k, salt, INFO, &a), 0);
	ck_assert_int_eq(dsb_aead_derive(k, salt, INFO, &b), 0);
	ck_assert_int_eq(dsb_aead_seal(a, n1, "x", 1, pt, sizeof(pt), ref), 0);
	ck_assert_int_eq(dsb_aead_seal(a, n2, "x", 1, pt, sizeof(pt), ref2), 0);
	ck_assert_mem_ne(ref, ref2, sizeof(ref));
	memcpy(buf, pt, sizeof(pt));
	ck_assert_int_eq(dsb_aead_seal(b, n1, "x", 1, buf, sizeof(pt), buf), 0);
	ck_assert_mem_eq(buf, ref, sizeof(ref));
	ck_assert_int_eq(dsb_aead_open(a, n2, "x", 1, ref2, sizeof(ref2), ref2), 0);
	ck_assert_mem_eq(ref2, pt, sizeof(pt));
	ck_assert_int_eq(dsb_aead_open(b, n1, "x", 1, buf, sizeof(buf), buf), 0);
	ck_assert_mem_eq(buf, pt, sizeof(pt));
	dsb_aead_free(a);
	dsb_aead_free(b);
	dsb_keys_free(k);
}
END_TEST

/* Keys */

START_TEST(test_blob_id_and_mac)
{
	uint8_t raw[DSB_KEYS_RAW_LEN], want[32], got[32], msg[64];
	struct dsb_keys *k = fixed_keys(4);

	dsb_keys_export(k, raw);
	q_hmac(raw + 32, 32, "some blob", 9, want);
	ck_assert_int_eq(dsb_keys_blob_id(k, "some blob", 9, got), 0);
	ck_assert_mem_eq(got, want, 32);
	q_hmac(raw + 32, 32, "", 0, want);
	ck_assert_int_eq(dsb_keys_blob_id(k, "", 0, got), 0);
	ck_assert_mem_eq(got, want, 32);
	memcpy(msg, "snapshot\0payload", 16);
	q_hmac(raw + 32, 32, msg, 16, want);
	ck_assert_int_eq(dsb_keys_mac(k, "snapshot", "payload", 7, got), 0);
	ck_assert_mem_eq(got, want, 32);
	dsb_keys_free(k);
}
END_TEST

struct id_job {
	const struct dsb_keys *k;
	uint8_t want[32];
	int ok;
};

static void *id_thread(void *arg)
{
	struct id_job *j = arg;
	uint8_t got[32];
	int i;

	j->ok = 1;
	for (i = 0; i < 2000; i++) {
		if (dsb_keys_blob_id(j->k, "threads", 7, got) != 0 || memcmp(got, j->want, 32) != 0)
			j->ok = 0;
	}
	return NULL;
}

START_TEST(test_blob_id_threads)
{
	struct dsb_keys *k = fixed_keys(5);
	struct id_job jobs[4];
	pthread_t t[4];
	uint8_t raw[DSB_KEYS_RAW_LEN];
	int i;

	dsb_keys_export(k, raw);
	for (i = 0; i < 4; i++) {
		jobs[i].k = k;
		q_hmac(raw + 32, 32, "threads", 7, jobs[i].want);
		ck_assert_int_eq(pthread_create(&t[i], NULL, id_thread, &jobs[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert(jobs[i].ok);
	}
	dsb_keys_free(k);
}
END_TEST

START_TEST(test_key_id)
{
	uint8_t raw[DSB_KEYS_RAW_LEN], buf[18 + 32], hash[32], id1[8], id2[8], id3[8];
	struct dsb_keys *k1 = fixed_keys(6), *k2 = fixed_keys(6), *k3 = NULL;

	dsb_keys_key_id(k1, id1);
	dsb_keys_key_id(k2, id2);
	ck_assert_mem_eq(id1, id2, 8);
	dsb_keys_export(k1, raw);
	memcpy(buf, "dsbackup key id v1", 18);
	memcpy(buf + 18, raw, 32);
	ck_assert_int_eq(EVP_Digest(buf, sizeof(buf), hash, NULL, EVP_sha256(), NULL), 1);
	ck_assert_mem_eq(id1, hash, 8);
	ck_assert_int_eq(dsb_keys_generate(&k3), 0);
	dsb_keys_key_id(k3, id3);
	ck_assert_mem_ne(id1, id3, 8);
	dsb_keys_free(k1);
	dsb_keys_free(k2);
	dsb_keys_free(k3);
	dsb_keys_free(NULL);
}
END_TEST

START_TEST(test_gear)
{
	uint8_t raw[DSB_KEYS_RAW_LEN], msg[20], block[32];
	struct dsb_keys *k1 = fixed_keys(7), *k2 = fixed_keys(7), *k3 = fixed_keys(8);
	static uint64_t g1[256], g2[256], g3[256];
	int i;

	dsb_keys_gear(k1, g1);
	dsb_keys_gear(k2, g2);
	dsb_keys_gear(k3, g3);
	ck_assert_mem_eq(g1, g2, sizeof(g1));
	ck_assert_mem_ne(g1, g3, sizeof(g1));
	dsb_keys_export(k1, raw);
	memcpy(msg, "dsbackup gear v1\0\0\0\0", 20);
	q_hmac(raw + 64, 32, msg, 20, block);
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(g1[i], dsb_get_le64(block + 8 * i));
	msg[19] = 63;
	q_hmac(raw + 64, 32, msg, 20, block);
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(g1[252 + i], dsb_get_le64(block + 8 * i));
	dsb_keys_free(k1);
	dsb_keys_free(k2);
	dsb_keys_free(k3);
}
END_TEST

/* Key slots */

static const struct dsb_kdf_params FAST = { 10, 8, 1 };

static void make_slot(struct dsb_keys **k, struct dsb_buf *slot)
{
	*k = fixed_keys(9);
	dsb_buf_init(slot, 0);
	ck_assert_int_eq(dsb_keyslot_create(*k, "correct horse", 13, &FAST, "host1", "alice",
	    slot), 0);
}

static void assert_same_keys(const struct dsb_keys *a, const struct dsb_keys *b)
{
	uint8_t ra[DSB_KEYS_RAW_LEN], rb[DSB_KEYS_RAW_LEN];

	dsb_keys_export(a, ra);
	dsb_keys_export(b, rb);
	ck_assert_mem_eq(ra, rb, sizeof(ra));
}

START_TEST(test_keyslot_roundtrip)
{
	struct dsb_keyslot_info info;
	struct dsb_keys *k, *got = NULL;
	struct dsb_buf slot;
	int64_t sec, now;
	long nsec;

	make_slot(&k, &slot);
	ck_assert_int_eq(dsb_keyslot_open(slot.data, slot.len, "correct horse", 13, &got), 0);
	assert_same_keys(k, got);
	ck_assert_int_eq(dsb_keyslot_info(slot.data, slot.len, &info), 0);
	ck_assert_str_eq(info.type, "passphrase");
	ck_assert_str_eq(info.host, "host1");
	ck_assert_str_eq(info.user, "alice");
	ck_assert_uint_eq(info.log2_n, 10);
	ck_assert_uint_eq(info.r, 8);
	ck_assert_uint_eq(info.p, 1);
	ck_assert_int_eq(dsb_time_parse(info.created, &sec, &nsec), 0);
	dsb_time_now(&now, &nsec);
	ck_assert(sec <= now && sec > now - 60);
	ck_assert_int_eq(dsb_keyslot_open(slot.data, slot.len, "correct horsf", 13, &got),
	    DSB_ERR_BAD_KEY);
	ck_assert_str_eq(dsb_errmsg(), "wrong password");
	ck_assert_int_eq(dsb_keyslot_open(slot.data, slot.len, "correct horse", 12, &got),
	    DSB_ERR_BAD_KEY);
	dsb_keys_free(got);
	dsb_keys_free(k);
	dsb_buf_release(&slot);
}
END_TEST

static void b64(const uint8_t *p, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

static size_t unb64(const char *s, uint8_t *out)
{
	size_t len = strlen(s);
	int n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);

	ck_assert_int_ge(n, 0);
	while (len > 0 && s[--len] == '=')
		n--;
	return (size_t)n;
}

/* The documented format, recomputed from the JSON with raw EVP calls. */
START_TEST(test_keyslot_format)
{
	uint8_t salt[64], nonce[64], data[200], kek[32], pt[104], raw[DSB_KEYS_RAW_LEN];
	struct dsb_keys *k;
	struct dsb_buf slot, aad;
	json_t *o, *kdf;
	const char *created;
	uint64_t n = 1024;
	uint32_t r = 8, p = 1;
	OSSL_PARAM params[6];
	EVP_KDF *scrypt;
	EVP_KDF_CTX *ctx;

	make_slot(&k, &slot);
	ck_assert(slot.len > 40 && memcmp(slot.data,
	    "{\"version\":1,\"type\":\"passphrase\",\"created\":\"", 44) == 0);
	ck_assert_ptr_nonnull(o = json_loadb((const char *)slot.data, slot.len, 0, NULL));
	kdf = json_object_get(o, "kdf");
	ck_assert_str_eq(json_string_value(json_object_get(kdf, "name")), "scrypt");
	ck_assert_uint_eq(unb64(json_string_value(json_object_get(kdf, "salt")), salt), 32);
	ck_assert_uint_eq(unb64(json_string_value(json_object_get(o, "nonce")), nonce), 12);
	ck_assert_uint_eq(unb64(json_string_value(json_object_get(o, "data")), data), 120);
	created = json_string_value(json_object_get(o, "created"));
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, "correct horse", 13);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, 32);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
	params[5] = OSSL_PARAM_construct_end();
	scrypt = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	ctx = EVP_KDF_CTX_new(scrypt);
	ck_assert_int_eq(EVP_KDF_derive(ctx, kek, 32, params), 1);
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(scrypt);
	dsb_buf_init(&aad, 0);
	dsb_buf_append(&aad, "dsbackup keyslot v1\0passphrase", 31);
	dsb_buf_append(&aad, created, strlen(created) + 1);
	dsb_buf_append(&aad, "host1\0alice\0scrypt\0" "10\0" "8\0" "1", 26);
	dsb_buf_append(&aad, salt, 32);
	ck_assert_int_eq(evp_gcm_open(kek, nonce, aad.data, (int)aad.len, data, 104, pt), 1);
	ck_assert_mem_eq(pt, "DSBMK001", 8);
	dsb_keys_export(k, raw);
	ck_assert_mem_eq(pt + 8, raw, sizeof(raw));
	json_decref(o);
	dsb_buf_release(&aad);
	dsb_buf_release(&slot);
	dsb_keys_free(k);
}
END_TEST

/* open_edited(slot, obj, key, v): set ${key} of the top level (obj NULL) or "kdf" object, open. */
static int open_edited(const struct dsb_buf *slot, const char *obj, const char *key, json_t *v)
{
	struct dsb_keys *got = NULL;
	json_t *o, *target;
	char *text;
	int r;

	ck_assert_ptr_nonnull(o = json_loadb((const char *)slot->data, slot->len, 0, NULL));
	target = obj != NULL ? json_object_get(o, obj) : o;
	if (v != NULL)
		json_object_set_new(target, key, v);
	else
		json_object_del(target, key);
	ck_assert_ptr_nonnull(text = json_dumps(o, JSON_COMPACT));
	r = dsb_keyslot_open(text, strlen(text), "correct horse", 13, &got);
	ck_assert_ptr_null(got);
	free(text);
	json_decref(o);
	return r;
}

START_TEST(test_keyslot_aad_binding)
{
	uint8_t other[32];
	char s[64];
	struct dsb_keys *k;
	struct dsb_buf slot;

	make_slot(&k, &slot);
	ck_assert_int_eq(open_edited(&slot, NULL, "host", json_string("host2")), DSB_ERR_BAD_KEY);
	ck_assert_int_eq(open_edited(&slot, NULL, "user", json_string("bob")), DSB_ERR_BAD_KEY);
	ck_assert_int_eq(open_edited(&slot, NULL, "created",
	    json_string("2020-01-01T00:00:00.000000000Z")), DSB_ERR_BAD_KEY);
	ck_assert_int_eq(open_edited(&slot, "kdf", "r", json_integer(7)), DSB_ERR_BAD_KEY);
	ck_assert_int_eq(open_edited(&slot, "kdf", "log2_n", json_integer(11)), DSB_ERR_BAD_KEY);
	memset(other, 0x33, sizeof(other));
	b64(other, 32, s);
	ck_assert_int_eq(open_edited(&slot, "kdf", "salt", json_string(s)), DSB_ERR_BAD_KEY);
	b64(other, 12, s);
	ck_assert_int_eq(open_edited(&slot, NULL, "nonce", json_string(s)), DSB_ERR_BAD_KEY);
	ck_assert_int_eq(open_edited(&slot, NULL, "type", json_string("pubkey")),
	    DSB_ERR_UNSUPPORTED);
	ck_assert_int_eq(open_edited(&slot, NULL, "version", json_integer(2)), DSB_ERR_UNSUPPORTED);
	ck_assert_int_eq(open_edited(&slot, "kdf", "name", json_string("argon2id")),
	    DSB_ERR_UNSUPPORTED);
	dsb_keys_free(k);
	dsb_buf_release(&slot);
}
END_TEST

START_TEST(test_keyslot_kdf_ranges)
{
	struct dsb_kdf_params bad = { 9, 8, 1 };
	struct dsb_keys *k;
	struct dsb_buf slot, out;
	clock_t t0 = clock();

	make_slot(&k, &slot);
	ck_assert_int_eq(open_edited(&slot, "kdf", "log2_n", json_integer(40)), DSB_ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "log2_n"));
	ck_assert_int_eq(open_edited(&slot, "kdf", "log2_n", json_integer(9)), DSB_ERR_CORRUPT);
	ck_assert_int_eq(open_edited(&slot, "kdf", "log2_n", json_integer(-1)), DSB_ERR_CORRUPT);
	ck_assert_int_eq(open_edited(&slot, "kdf", "r", json_integer(0)), DSB_ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), " r "));
	ck_assert_int_eq(open_edited(&slot, "kdf", "r", json_integer(33)), DSB_ERR_CORRUPT);
	ck_assert_int_eq(open_edited(&slot, "kdf", "p", json_integer(17)), DSB_ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), " p "));
	ck_assert_int_eq(open_edited(&slot, "kdf", "p", json_integer(4)), DSB_ERR_BAD_KEY);
	ck_assert_int_eq(open_edited(&slot, "kdf", "r", json_integer(32)), DSB_ERR_BAD_KEY);
	ck_assert_int_eq(open_edited(&slot, "kdf", "log2_n", json_integer(22)), DSB_ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "MiB"));
	ck_assert_int_eq(open_edited(&slot, "kdf", "r", json_string("8")), DSB_ERR_CORRUPT);
	ck_assert_int_eq(open_edited(&slot, "kdf", "r", json_real(8.0)), DSB_ERR_CORRUPT);
	ck_assert(clock() - t0 < 10 * CLOCKS_PER_SEC);
	dsb_buf_init(&out, 0);
	ck_assert_int_eq(dsb_keyslot_create(k, "x", 1, &bad, "h", "u", &out), DSB_ERR_USAGE);
	bad.log2_n = 10;
	bad.r = 32;
	bad.p = 4;
	ck_assert_int_eq(dsb_keyslot_create(k, "x", 1, &bad, "h", "u", &out), DSB_ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "r*p"));
	dsb_buf_release(&out);
	dsb_keys_free(k);
	dsb_buf_release(&slot);
}
END_TEST

START_TEST(test_keyslot_malformed)
{
	static const char *garbage[] = { "", "{", "[]", "null", "{\"version\":1}",
	    "{\"version\":\"1\"}", "not json at all" };
	struct dsb_keyslot_info info;
	struct dsb_keys *k, *got = NULL;
	struct dsb_buf slot, big;
	size_t i;

	make_slot(&k, &slot);
	for (i = 0; i < slot.len; i += 5)
		ck_assert_int_eq(dsb_keyslot_open(slot.data, i, "correct horse", 13, &got),
		    DSB_ERR_CORRUPT);
	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		ck_assert_int_eq(dsb_keyslot_open(garbage[i], strlen(garbage[i]), "x", 1, &got),
		    DSB_ERR_CORRUPT);
		ck_assert_int_eq(dsb_keyslot_info(garbage[i], strlen(garbage[i]), &info),
		    DSB_ERR_CORRUPT);
	}
	/* a valid slot padded past 64 KiB */
	dsb_buf_init(&big, 0);
	dsb_buf_append(&big, slot.data, slot.len);
	while (big.len <= 64 * 1024)
		dsb_buf_append(&big, "    ", 4);
	ck_assert_int_eq(dsb_keyslot_open(big.data, big.len, "correct horse", 13, &got),
	    DSB_ERR_CORRUPT);
	ck_assert_int_eq(open_edited(&slot, NULL, "host", NULL), DSB_ERR_CORRUPT);
	ck_assert_int_eq(open_edited(&slot, NULL, "kdf", NULL), DSB_ERR_CORRUPT);
	ck_assert_int_eq(open_edited(&slot, NULL, "data", json_integer(3)), DSB_ERR_CORRUPT);
	ck_assert_ptr_null(got);
	dsb_buf_release(&big);
	dsb_keys_free(k);
	dsb_buf_release(&slot);
}
END_TEST

START_TEST(test_keyslot_base64_lengths)
{
	uint8_t bytes[130];
	char s[200];
	struct dsb_keys *k;
	struct dsb_buf slot;

	memset(bytes, 0x61, sizeof(bytes));
	make_slot(&k, &slot);
	b64(bytes, 31, s);
	ck_assert_int_eq(open_edited(&slot, "kdf", "salt", json_string(s)), DSB_ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "salt"));
	b64(bytes, 33, s);
	ck_assert_int_eq(open_edited(&slot, "kdf", "salt", json_string(s)), DSB_ERR_CORRUPT);
	b64(bytes, 16, s);
	ck_assert_int_eq(open_edited(&slot, NULL, "nonce", json_string(s)), DSB_ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "nonce"));
	b64(bytes, 119, s);
	ck_assert_int_eq(open_edited(&slot, NULL, "data", json_string(s)), DSB_ERR_CORRUPT);
	b64(bytes, 121, s);
	ck_assert_int_eq(open_edited(&slot, NULL, "data", json_string(s)), DSB_ERR_CORRUPT);
	/* right length, wrong padding or alphabet */
	b64(bytes, 32, s);
	s[42] = '=';
	ck_assert_int_eq(open_edited(&slot, "kdf", "salt", json_string(s)), DSB_ERR_CORRUPT);
	b64(bytes, 32, s);
	s[43] = 'A';
	ck_assert_int_eq(open_edited(&slot, "kdf", "salt", json_string(s)), DSB_ERR_CORRUPT);
	b64(bytes, 12, s);
	s[3] = '*';
	ck_assert_int_eq(open_edited(&slot, NULL, "nonce", json_string(s)), DSB_ERR_CORRUPT);
	dsb_keys_free(k);
	dsb_buf_release(&slot);
}
END_TEST

/* Secrets */

static char *write_tmp(const char *dir, const char *name, const void *p, size_t n)
{
	char *path = dsb_asprintf("%s/%s", dir, name);
	FILE *f;

	ck_assert_ptr_nonnull(path);
	ck_assert_ptr_nonnull(f = fopen(path, "wb"));
	ck_assert_uint_eq(fwrite(p, 1, n, f), n);
	fclose(f);
	return path;
}

static void assert_file_secret(const char *dir, const char *content, const char *want)
{
	char *path = write_tmp(dir, "pw", content, strlen(content)), *s = NULL;
	size_t len = 0;

	ck_assert_int_eq(dsb_secret_from_file(path, &s, &len), 0);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_str_eq(s, want);
	dsb_secret_free(s, len);
	free(path);
}

START_TEST(test_secret_file)
{
	char *dir = dsb_test_tmpdir(), *path, *s = NULL, *big;
	size_t len = 0;

	assert_file_secret(dir, "pw\n", "pw");
	assert_file_secret(dir, "pw\r\n", "pw");
	assert_file_secret(dir, "pw\n\n", "pw\n");
	assert_file_secret(dir, "pw\r\r\n", "pw\r");
	assert_file_secret(dir, "pw\r", "pw\r");
	assert_file_secret(dir, "pw", "pw");
	assert_file_secret(dir, " pw \n", " pw ");
	assert_file_secret(dir, "\n", "");
	assert_file_secret(dir, "", "");
	ck_assert_ptr_nonnull(big = malloc(64 * 1024 + 1));
	memset(big, 'x', 64 * 1024 + 1);
	path = write_tmp(dir, "big", big, 64 * 1024);
	ck_assert_int_eq(dsb_secret_from_file(path, &s, &len), 0);
	ck_assert_uint_eq(len, 64 * 1024);
	dsb_secret_free(s, len);
	free(path);
	path = write_tmp(dir, "big", big, 64 * 1024 + 1);
	ck_assert_int_eq(dsb_secret_from_file(path, &s, &len), DSB_ERR_LIMIT);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), path));
	free(path);
	path = dsb_asprintf("%s/missing", dir);
	ck_assert_int_eq(dsb_secret_from_file(path, &s, &len), DSB_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), path));
	free(path);
	ck_assert_int_eq(dsb_secret_from_string("from env", &s, &len), 0);
	ck_assert_uint_eq(len, 8);
	ck_assert_str_eq(s, "from env");
	dsb_secret_free(s, len);
	dsb_secret_free(NULL, 0);
	free(big);
	dsb_test_rmrf(dir);
	free(dir);
}
END_TEST

START_TEST(test_secret_prompt_no_tty)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char *s = NULL;
		size_t len;

		setsid();  /* no controlling terminal */
		_exit(dsb_secret_prompt("Password: ", &s, &len) == DSB_ERR_USAGE &&
		    strstr(dsb_errmsg(), "--password-file") != NULL ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

/* Child of test_secret_prompt_pty: the pty slave becomes its controlling terminal. */
static void prompt_child(const char *slave)
{
	struct termios t;
	char *s = NULL;
	size_t len = 0;
	int fd, ok;

	setsid();
	if ((fd = open(slave, O_RDWR)) < 0)
		_exit(2);
	ok = dsb_secret_prompt("Password: ", &s, &len) == 0 && len == 7 &&
	    strcmp(s, "hunter2") == 0;
	ok = ok && tcgetattr(fd, &t) == 0 && (t.c_lflag & ECHO) != 0;
	_exit(ok ? 0 : 1);
}

/* read_pty(m, out, n, until): read the master until ${until} appears or it closes. */
static size_t read_pty(int m, char *out, size_t n, const char *until)
{
	struct pollfd pfd = { m, POLLIN, 0 };
	size_t got = 0;
	ssize_t r;

	out[0] = '\0';
	while (got + 1 < n && (until == NULL || strstr(out, until) == NULL)) {
		if (poll(&pfd, 1, 5000) <= 0 || (r = read(m, out + got, n - 1 - got)) <= 0)
			break;
		got += (size_t)r;
		out[got] = '\0';
	}
	return got;
}

START_TEST(test_secret_prompt_pty)
{
	char out[256];
	int m, status;
	pid_t pid;

	ck_assert_int_ge(m = posix_openpt(O_RDWR | O_NOCTTY), 0);
	ck_assert_int_eq(grantpt(m), 0);
	ck_assert_int_eq(unlockpt(m), 0);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0)
		prompt_child(ptsname(m));
	read_pty(m, out, sizeof(out), "Password: ");
	ck_assert_ptr_nonnull(strstr(out, "Password: "));
	ck_assert_int_eq(write(m, "hunter2\n", 8), 8);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	read_pty(m, out, sizeof(out), NULL);
	ck_assert_ptr_null(strstr(out, "hunter2"));  /* not echoed */
	close(m);
}
END_TEST

/* ---- the OpenSSL allocator (bigalloc.c) ---- */

/* vm_flags_of(p): the VmFlags line of the mapping holding ${p}, from /proc/self/smaps; "" if none */
static void vm_flags_of(const void *p, char *out, size_t n)
{
	unsigned long lo, hi, at = (unsigned long)(uintptr_t)p;
	char line[512];
	int inside = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	out[0] = '\0';
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			inside = at >= lo && at < hi;
		else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(out, n, "%s", line + 8);
			break;
		}
	}
	fclose(f);
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 31 + seed);
}

static int filled(const unsigned char *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i * 31 + seed))
			return 0;
	return 1;
}

START_TEST(test_bigalloc_large_blocks)
{
	const size_t mib = (size_t)1 << 20;
	unsigned char *p, *q;
	char flags[256];

	/* a large block is its own mapping, advised for huge pages */
	p = OPENSSL_malloc(8 * mib);
	ck_assert_ptr_nonnull(p);
	fill(p, 8 * mib, 1);
	vm_flags_of(p, flags, sizeof(flags));
	/* a kernel without transparent huge pages refuses the advice, and that is all */
	if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0)
		ck_assert_msg(strstr(flags, " hg") != NULL, "no MADV_HUGEPAGE on an 8 MiB block: VmFlags%s", flags);
	/* growing and shrinking keep the contents */
	q = OPENSSL_realloc(p, 12 * mib);
	ck_assert_ptr_nonnull(q);
	ck_assert(filled(q, 8 * mib, 1));
	p = OPENSSL_realloc(q, mib / 2);
	ck_assert_ptr_nonnull(p);
	ck_assert(filled(p, mib / 2, 1));
	q = OPENSSL_realloc(p, 6 * mib);
	ck_assert_ptr_nonnull(q);
	ck_assert(filled(q, mib / 2, 1));
	OPENSSL_clear_free(q, 6 * mib);
	/* a small block is malloc's: either free releases it */
	p = OPENSSL_malloc(100);
	ck_assert_ptr_nonnull(p);
	fill(p, 100, 2);
	free(p);
	OPENSSL_free(NULL);
}
END_TEST

/* RFC 7914 section 12, the vector whose memory (16 MiB) comes from a mapped block */
START_TEST(test_bigalloc_scrypt_vector)
{
	static const uint8_t want[64] = {
		0x70, 0x23, 0xbd, 0xcb, 0x3a, 0xfd, 0x73, 0x48, 0x46, 0x1c, 0x06, 0xcd, 0x81, 0xfd, 0x38, 0xeb,
		0xfd, 0xa8, 0xfb, 0xba, 0x90, 0x4f, 0x8e, 0x3e, 0xa9, 0xb5, 0x43, 0xf6, 0x54, 0x5d, 0xa1, 0xf2,
		0xd5, 0x43, 0x29, 0x55, 0x61, 0x3f, 0x0f, 0xcf, 0x62, 0xd4, 0x97, 0x05, 0x24, 0x2a, 0x9a, 0xf9,
		0xe6, 0x1e, 0x85, 0xdc, 0x0d, 0x65, 0x1e, 0x40, 0xdf, 0xcf, 0x01, 0x7b, 0x45, 0x57, 0x58, 0x87,
	};
	uint8_t got[64];

	ck_assert_int_eq(EVP_PBE_scrypt("pleaseletmein", 13, (const unsigned char *)"SodiumChloride", 14,
	    16384, 8, 1, 64 << 20, got, sizeof(got)), 1);
	ck_assert_mem_eq(got, want, sizeof(want));
}
END_TEST

static Suite *crypto_suite(void)
{
	Suite *s = suite_create("crypto");
	TCase *prim = tcase_create("primitives"), *keys = tcase_create("keys");
	TCase *slots = tcase_create("keyslots"), *secrets = tcase_create("secrets");
	TCase *alloc = tcase_create("allocator");

	tcase_add_test(prim, test_sha256_abc);
	tcase_add_test(prim, test_hmac_rfc4231);
	tcase_add_test(prim, test_hkdf_rfc5869);
	tcase_add_test(prim, test_gcm_vectors);
	tcase_add_test(prim, test_aead_derive_independent);
	tcase_add_test(prim, test_aead_tamper);
	tcase_add_test(prim, test_aead_inplace_and_reuse);
	tcase_add_test(keys, test_blob_id_and_mac);
	tcase_add_test(keys, test_blob_id_threads);
	tcase_add_test(keys, test_key_id);
	tcase_add_test(keys, test_gear);
	tcase_add_test(slots, test_keyslot_roundtrip);
	tcase_add_test(slots, test_keyslot_format);
	tcase_add_test(slots, test_keyslot_aad_binding);
	tcase_add_test(slots, test_keyslot_kdf_ranges);
	tcase_add_test(slots, test_keyslot_malformed);
	tcase_add_test(slots, test_keyslot_base64_lengths);
	tcase_set_timeout(slots, 120);
	tcase_add_test(secrets, test_secret_file);
	tcase_add_test(secrets, test_secret_prompt_no_tty);
	tcase_add_test(secrets, test_secret_prompt_pty);
	tcase_set_timeout(secrets, 30);
	suite_add_tcase(s, prim);
	suite_add_tcase(s, keys);
	suite_add_tcase(s, slots);
	tcase_add_test(alloc, test_bigalloc_large_blocks);
	tcase_add_test(alloc, test_bigalloc_scrypt_vector);
	tcase_set_timeout(alloc, 60);
	suite_add_tcase(s, secrets);
	suite_add_tcase(s, alloc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	/* before OpenSSL's first allocation, as in dsbackup's main() */
	if (dsb_crypto_set_allocator() != 0) {
		fprintf(stderr, "check_crypto: cannot install the OpenSSL allocator\n");
		return EXIT_FAILURE;
	}
	sr = srunner_create(crypto_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
