/*
 * check_keyring.c: the slot types of rotation, write-only hosts and escrowed
 * key material (docs/FORMAT.md §4): "keyring", "write-only" and "run-key"
 * slots round-trip, and a tampered field, a wrong key, or a field of the
 * wrong size is refused.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/crypto_internal.h"
#include "dsbackup/crypto.h"
#include "dsbackup/error.h"
#include "testutil.h"

#define SLOT_MAX (64 * 1024)

static const struct dsb_kdf_params fast = { 10, 8, 1 };

/* set_member(b, key, v): replace member ${key} of the slot JSON in ${b} by ${v} (stolen) */
static void set_member(struct dsb_buf *b, const char *key, json_t *v)
{
	json_t *o = json_loadb((const char *)b->data, b->len, 0, NULL);
	char *text;

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(json_object_set_new(o, key, v), 0);
	text = json_dumps(o, JSON_COMPACT);
	ck_assert_ptr_nonnull(text);
	dsb_buf_reset(b);
	ck_assert_int_eq(dsb_buf_append(b, text, strlen(text)), 0);
	free(text);
	json_decref(o);
}

/* b64_of(n): base64 of ${n} zero bytes, as a JSON string */
static json_t *b64_of(size_t n)
{
	uint8_t *p = calloc(1, n + 1);
	char *s = dsb_slot_b64(p, n);
	json_t *j = json_string(s);

	free(p);
	free(s);
	return j;
}

/* flip_data(b): flip one bit inside the sealed "data" member */
static void flip_data(struct dsb_buf *b)
{
	json_t *o = json_loadb((const char *)b->data, b->len, 0, NULL);
	char *s = strdup(json_string_value(json_object_get(o, "data")));

	s[4] = s[4] == 'A' ? 'B' : 'A';
	json_decref(o);
	set_member(b, "data", json_string(s));
	free(s);
}

/* a repository's keys with its key pair, rotated once: current key and one older key */
static struct dsb_keys *rotated(struct dsb_keys **before)
{
	struct dsb_keys *k = NULL, *k2 = NULL;

	ck_assert_int_eq(dsb_keys_generate(&k), 0);
	ck_assert_int_eq(dsb_keys_ensure_repo_key(k), 1);
	ck_assert_int_eq(dsb_keys_rotate(k, 0, &k2), 0);
	*before = k;
	return k2;
}

/* the master key alone, as a passphrase slot would give it */
static struct dsb_keys *plain_copy(const struct dsb_keys *k)
{
	uint8_t raw[DSB_KEYS_RAW_LEN];
	struct dsb_keys *c = NULL;

	dsb_keys_export(k, raw);
	ck_assert_int_eq(dsb_keys_from_raw(raw, &c), 0);
	return c;
}

START_TEST(keyring_round_trip)
{
	struct dsb_keys *old = NULL, *k = rotated(&old), *reader = plain_copy(old);
	struct dsb_keyslot_info info;
	uint8_t a[DSB_KEYID_LEN], b[DSB_KEYID_LEN];
	struct dsb_buf slot;

	dsb_buf_init(&slot, SLOT_MAX);
	ck_assert_uint_eq(dsb_keys_seal_count(k), 2);
	/* sealed under the older key: a holder of only that key learns the new one */
	ck_assert_int_eq(dsb_keyring_seal(k, 1, "h", "u", &slot), 0);
	ck_assert_int_eq(dsb_keyslot_info_any(slot.data, slot.len, &info), 0);
	ck_assert_str_eq(info.type, "keyring");
	ck_assert_uint_eq(info.generation, 2);
	ck_assert_int_eq(dsb_keyring_open(reader, slot.data, slot.len), 1);
	dsb_keys_key_id(reader, a);
	dsb_keys_key_id(k, b);
	ck_assert_mem_eq(a, b, DSB_KEYID_LEN);
	ck_assert_uint_eq(dsb_keys_old_count(reader), 1);
	ck_assert_int_eq(dsb_keyring_open(reader, slot.data, slot.len), 0);   /* nothing new */
	dsb_buf_release(&slot);
	dsb_keys_free(old);
	dsb_keys_free(k);
	dsb_keys_free(reader);
}
END_TEST

START_TEST(keyring_refuses_tampering_and_wrong_key)
{
	struct dsb_keys *old = NULL, *k = rotated(&old), *reader = plain_copy(old), *other = NULL;
	struct dsb_buf slot, bad;

	dsb_buf_init(&slot, SLOT_MAX);
	dsb_buf_init(&bad, SLOT_MAX);
	ck_assert_int_eq(dsb_keys_generate(&other), 0);
	ck_assert_int_eq(dsb_keyring_seal(k, 1, "h", "u", &slot), 0);
	/* wrong key: sealed under a data key the reader does not hold */
	ck_assert_int_eq(dsb_keyring_open(other, slot.data, slot.len), DSB_ERR_BAD_KEY);
	/* an authenticated field changed */
	ck_assert_int_eq(dsb_buf_append(&bad, slot.data, slot.len), 0);
	set_member(&bad, "generation", json_integer(7));
	ck_assert_int_eq(dsb_keyring_open(reader, bad.data, bad.len), DSB_ERR_CORRUPT);
	dsb_buf_reset(&bad);
	ck_assert_int_eq(dsb_buf_append(&bad, slot.data, slot.len), 0);
	set_member(&bad, "host", json_string("elsewhere"));
	ck_assert_int_eq(dsb_keyring_open(reader, bad.data, bad.len), DSB_ERR_CORRUPT);
	dsb_buf_reset(&bad);
	ck_assert_int_eq(dsb_buf_append(&bad, slot.data, slot.len), 0);
	flip_data(&bad);
	ck_assert_int_eq(dsb_keyring_open(reader, bad.data, bad.len), DSB_ERR_CORRUPT);
	ck_assert_uint_eq(dsb_keys_old_count(reader), 0);   /* nothing was learned */
	dsb_buf_release(&bad);
	dsb_buf_release(&slot);
	dsb_keys_free(old);
	dsb_keys_free(k);
	dsb_keys_free(reader);
	dsb_keys_free(other);
}
END_TEST

START_TEST(keyring_refuses_bad_sizes)
{
	struct dsb_keys *old = NULL, *k = rotated(&old);
	struct dsb_keyslot_info info;
	struct dsb_buf slot, bad;
	char *huge;

	dsb_buf_init(&slot, SLOT_MAX);
	dsb_buf_init(&bad, 2 * SLOT_MAX);
	ck_assert_int_eq(dsb_keyring_seal(k, 0, "h", "u", &slot), 0);
	/* short: not even one key; not a whole number of keys; salt and nonce of the wrong size */
	static const struct { const char *key; size_t n; } cases[] = {
		{ "data", 8 + 4 + 32 + 4 + 16 }, { "data", 8 + 4 + 32 + 4 + 32 + 16 + 5 },
		{ "salt", 31 }, { "salt", 33 }, { "nonce", 11 }, { "nonce", 13 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dsb_buf_reset(&bad);
		ck_assert_int_eq(dsb_buf_append(&bad, slot.data, slot.len), 0);
		set_member(&bad, cases[i].key, b64_of(cases[i].n));
		ck_assert_int_eq(dsb_keyslot_info_any(bad.data, bad.len, &info), DSB_ERR_CORRUPT);
	}
	/* more keys than a keyring may hold */
	dsb_buf_reset(&bad);
	ck_assert_int_eq(dsb_buf_append(&bad, slot.data, slot.len), 0);
	set_member(&bad, "data", b64_of(8 + 4 + 32 + 4 + 1025 * 32 + 16));
	ck_assert_int_eq(dsb_keyslot_info_any(bad.data, bad.len, &info), DSB_ERR_CORRUPT);
	/* a slot over 64 KiB is refused before it is parsed */
	huge = calloc(1, SLOT_MAX + 2);
	memset(huge, ' ', SLOT_MAX + 1);
	memcpy(huge, slot.data, slot.len);
	ck_assert_int_eq(dsb_keyslot_info_any(huge, SLOT_MAX + 1, &info), DSB_ERR_CORRUPT);
	free(huge);
	dsb_buf_release(&bad);
	dsb_buf_release(&slot);
	dsb_keys_free(old);
	dsb_keys_free(k);
}
END_TEST

START_TEST(write_only_round_trip)
{
	struct dsb_keys *k = NULL, *wo = NULL;
	struct dsb_keyslot_info info;
	struct dsb_buf slot, bad;
	uint8_t a[DSB_KEYID_LEN], salt[DSB_SALT_LEN] = { 0 };
	struct dsb_aead *aead = NULL;

	dsb_buf_init(&slot, SLOT_MAX);
	dsb_buf_init(&bad, SLOT_MAX);
	ck_assert_int_eq(dsb_keys_generate(&k), 0);
	ck_assert_int_eq(dsb_keys_ensure_repo_key(k), 1);
	ck_assert_int_eq(dsb_keyslot_create_write_only(k, "pw", 2, &fast, "h", "u", &slot), 0);
	ck_assert_int_eq(dsb_keyslot_info_any(slot.data, slot.len, &info), 0);
	ck_assert_str_eq(info.type, "write-only");
	ck_assert_int_eq(dsb_keyslot_open(slot.data, slot.len, "pw", 2, &wo), 0);
	ck_assert_int_eq(dsb_keys_write_only(wo), 1);
	/* it writes under a run key of its own and can read nothing of the repository */
	dsb_keys_key_id(k, a);
	ck_assert_int_eq(dsb_aead_derive_for(wo, a, salt, "x", &aead), DSB_ERR_BAD_KEY);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "write-only"));
	dsb_keys_free(wo);
	wo = NULL;
	/* wrong password; a changed authenticated field */
	ck_assert_int_eq(dsb_keyslot_open(slot.data, slot.len, "px", 2, &wo), DSB_ERR_BAD_KEY);
	ck_assert_int_eq(dsb_buf_append(&bad, slot.data, slot.len), 0);
	set_member(&bad, "user", json_string("mallory"));
	ck_assert_int_eq(dsb_keyslot_open(bad.data, bad.len, "pw", 2, &wo), DSB_ERR_BAD_KEY);
	/* a data field of the wrong size */
	dsb_buf_reset(&bad);
	ck_assert_int_eq(dsb_buf_append(&bad, slot.data, slot.len), 0);
	set_member(&bad, "data", b64_of(119));
	ck_assert_int_eq(dsb_keyslot_open(bad.data, bad.len, "pw", 2, &wo), DSB_ERR_CORRUPT);
	ck_assert_ptr_null(wo);
	/* keys without the repository key pair cannot make one */
	dsb_keys_free(k);
	ck_assert_int_eq(dsb_keys_generate(&k), 0);
	ck_assert_int_ne(dsb_keyslot_create_write_only(k, "pw", 2, &fast, "h", "u", &slot), 0);
	dsb_buf_release(&bad);
	dsb_buf_release(&slot);
	dsb_keys_free(k);
}
END_TEST

/* a repository's keys with its key pair */
static struct dsb_keys *repo_keys(void)
{
	struct dsb_keys *k = NULL;

	ck_assert_int_eq(dsb_keys_generate(&k), 0);
	ck_assert_int_eq(dsb_keys_ensure_repo_key(k), 1);
	return k;
}

/* write_only_host(k): the keys a host opening a new write-only slot of ${k} gets */
static struct dsb_keys *write_only_host(const struct dsb_keys *k)
{
	struct dsb_keys *wo = NULL;
	struct dsb_buf slot;

	dsb_buf_init(&slot, SLOT_MAX);
	ck_assert_int_eq(dsb_keyslot_create_write_only(k, "pw", 2, &fast, "h", "u", &slot), 0);
	ck_assert_int_eq(dsb_keyslot_open(slot.data, slot.len, "pw", 2, &wo), 0);
	dsb_buf_release(&slot);
	return wo;
}

START_TEST(run_key_round_trip)
{
	struct dsb_keys *k = repo_keys(), *wo = write_only_host(k), *reader = NULL;
	struct dsb_keyslot_info info;
	struct dsb_buf slot;
	uint8_t id[DSB_KEYID_LEN], salt[DSB_SALT_LEN] = { 0 };
	struct dsb_aead *aead = NULL;

	dsb_buf_init(&slot, SLOT_MAX);
	ck_assert_int_eq(dsb_runkey_create(wo, "h", "u", &slot), 0);
	ck_assert_int_eq(dsb_keyslot_info_any(slot.data, slot.len, &info), 0);
	ck_assert_str_eq(info.type, "run-key");
	/* the repository's private key opens it, once */
	ck_assert_int_eq(dsb_runkey_open(k, slot.data, slot.len), 1);
	ck_assert_int_eq(dsb_runkey_open(k, slot.data, slot.len), 0);
	ck_assert_uint_eq(dsb_keys_run_count(k), 1);
	dsb_keys_key_id(wo, id);
	ck_assert_int_eq(dsb_aead_derive_for(k, id, salt, "x", &aead), 0);
	dsb_aead_free(aead);
	/* keys without the private key (a plain master key) cannot */
	reader = plain_copy(k);
	ck_assert_int_eq(dsb_runkey_open(reader, slot.data, slot.len), DSB_ERR_BAD_KEY);
	dsb_buf_release(&slot);
	dsb_keys_free(k);
	dsb_keys_free(wo);
	dsb_keys_free(reader);
}
END_TEST

START_TEST(run_key_refuses_tampering_and_sizes)
{
	struct dsb_keys *k = repo_keys(), *wo = write_only_host(k);
	struct dsb_keyslot_info info;
	struct dsb_buf slot, bad;

	dsb_buf_init(&slot, SLOT_MAX);
	dsb_buf_init(&bad, SLOT_MAX);
	ck_assert_int_eq(dsb_runkey_create(wo, "h", "u", &slot), 0);
	/* another key id (authenticated): refused, nothing added */
	ck_assert_int_eq(dsb_buf_append(&bad, slot.data, slot.len), 0);
	set_member(&bad, "key_id", json_string("0011223344556677"));
	ck_assert_int_lt(dsb_runkey_open(k, bad.data, bad.len), 0);
	dsb_buf_reset(&bad);
	ck_assert_int_eq(dsb_buf_append(&bad, slot.data, slot.len), 0);
	flip_data(&bad);
	ck_assert_int_lt(dsb_runkey_open(k, bad.data, bad.len), 0);
	ck_assert_uint_eq(dsb_keys_run_count(k), 0);
	/* fields of the wrong size or form */
	static const struct { const char *key; size_t n; } cases[] = {
		{ "data", 55 }, { "data", 57 }, { "ephemeral", 31 }, { "nonce", 13 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dsb_buf_reset(&bad);
		ck_assert_int_eq(dsb_buf_append(&bad, slot.data, slot.len), 0);
		set_member(&bad, cases[i].key, b64_of(cases[i].n));
		ck_assert_int_eq(dsb_keyslot_info_any(bad.data, bad.len, &info), DSB_ERR_CORRUPT);
		ck_assert_int_eq(dsb_runkey_open(k, bad.data, bad.len), DSB_ERR_CORRUPT);
	}
	dsb_buf_reset(&bad);
	ck_assert_int_eq(dsb_buf_append(&bad, slot.data, slot.len), 0);
	set_member(&bad, "key_id", json_string("00112233"));
	ck_assert_int_eq(dsb_keyslot_info_any(bad.data, bad.len, &info), DSB_ERR_CORRUPT);
	dsb_buf_release(&bad);
	dsb_buf_release(&slot);
	dsb_keys_free(k);
	dsb_keys_free(wo);
}
END_TEST

START_TEST(escrow_run_key_only_for_its_officer)
{
	struct dsb_keys *k = NULL, *esc = NULL;
	struct dsb_identity *officer = NULL, *other = NULL;
	char rcpt[DSB_RECIPIENT_LEN];
	struct dsb_buf slot;
	uint8_t id[DSB_KEYID_LEN], mine[DSB_KEYID_LEN], salt[DSB_SALT_LEN] = { 0 };
	struct dsb_aead *aead = NULL;

	dsb_buf_init(&slot, SLOT_MAX);
	k = repo_keys();
	ck_assert_int_eq(dsb_identity_generate(&officer), 0);
	ck_assert_int_eq(dsb_identity_generate(&other), 0);
	dsb_identity_recipient(officer, rcpt);
	ck_assert_int_eq(dsb_keys_escrow_key(k, &esc), 0);
	dsb_keys_key_id(esc, id);
	dsb_keys_key_id(k, mine);
	ck_assert_mem_ne(id, mine, DSB_KEYID_LEN);
	ck_assert_int_eq(dsb_runkey_create_to(esc, rcpt, "h", "u", &slot), 0);
	/* not the repository's private key, not another identity */
	ck_assert_int_eq(dsb_runkey_open(k, slot.data, slot.len), DSB_ERR_BAD_KEY);
	ck_assert_int_eq(dsb_runkey_open_identity(k, slot.data, slot.len, other), DSB_ERR_BAD_KEY);
	/* a reader that cannot open it learns it is escrowed, and says so */
	ck_assert_int_eq(dsb_runkey_note_escrow(k, slot.data, slot.len), 0);
	ck_assert_int_eq(dsb_aead_derive_for(k, id, salt, "x", &aead), DSB_ERR_BAD_KEY);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "escrow"));
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "--identity"));
	/* the officer's identity opens it */
	ck_assert_int_eq(dsb_runkey_open_identity(k, slot.data, slot.len, officer), 1);
	ck_assert_int_eq(dsb_aead_derive_for(k, id, salt, "x", &aead), 0);
	dsb_aead_free(aead);
	dsb_buf_release(&slot);
	dsb_keys_free(k);
	dsb_keys_free(esc);
	dsb_identity_free(officer);
	dsb_identity_free(other);
}
END_TEST

static Suite *keyring_suite(void)
{
	Suite *s = suite_create("keyring");
	TCase *tc = tcase_create("slots");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, keyring_round_trip);
	tcase_add_test(tc, keyring_refuses_tampering_and_wrong_key);
	tcase_add_test(tc, keyring_refuses_bad_sizes);
	tcase_add_test(tc, write_only_round_trip);
	tcase_add_test(tc, run_key_round_trip);
	tcase_add_test(tc, run_key_refuses_tampering_and_sizes);
	tcase_add_test(tc, escrow_run_key_only_for_its_officer);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(keyring_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
