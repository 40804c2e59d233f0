/* check_escrow.c: GF(2^8), Shamir sharing, identities, recipient slots and threshold escrow. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto_internal.h"
#include "dsbackup/crypto.h"
#include "dsbackup/error.h"
#include "testutil.h"

static int same_keys(const struct dsb_keys *a, const struct dsb_keys *b)
{
	uint8_t ra[DSB_KEYS_RAW_LEN], rb[DSB_KEYS_RAW_LEN];
	int same;

	dsb_keys_export(a, ra);
	dsb_keys_export(b, rb);
	same = memcmp(ra, rb, sizeof(ra)) == 0;
	return same;
}

START_TEST(gf256_known_answers)
{
	/* FIPS-197 §4.2: {57} * {83} = {c1}; {57} * {13} = {fe}; inverse of {53} is {ca} */
	ck_assert_uint_eq(dsb_gf256_mul(0x57, 0x83), 0xc1);
	ck_assert_uint_eq(dsb_gf256_mul(0x57, 0x13), 0xfe);
	ck_assert_uint_eq(dsb_gf256_inv(0x53), 0xca);
	ck_assert_uint_eq(dsb_gf256_inv(0), 0);
	for (unsigned a = 1; a < 256; a++)
		ck_assert_uint_eq(dsb_gf256_mul((uint8_t)a, dsb_gf256_inv((uint8_t)a)), 1);
}
END_TEST

START_TEST(shamir_known_answer)
{
	/* f(x) = 0x42 + 0x10 x: f(1) = 0x52, f(2) = 0x42 ^ 0x20 = 0x62, f(3) = 0x42 ^ 0x30 = 0x72 */
	const uint8_t y1[1] = { 0x52 }, y2[1] = { 0x62 }, y3[1] = { 0x72 };
	const uint8_t *ys[2];
	uint8_t xs[2], out[1];

	xs[0] = 1; ys[0] = y1; xs[1] = 2; ys[1] = y2;
	ck_assert_int_eq(dsb_shamir_combine(xs, ys, 2, 1, out), 0);
	ck_assert_uint_eq(out[0], 0x42);
	xs[0] = 3; ys[0] = y3;
	ck_assert_int_eq(dsb_shamir_combine(xs, ys, 2, 1, out), 0);
	ck_assert_uint_eq(out[0], 0x42);
	xs[1] = 3;
	ck_assert_int_eq(dsb_shamir_combine(xs, ys, 2, 1, out), DSB_ERR_USAGE);  /* same share twice */
}
END_TEST

START_TEST(shamir_any_k_of_n)
{
	uint8_t secret[40], shares[7 * 40], out[40], xs[7];
	const uint8_t *ys[7];
	unsigned k, mask, i, m;

	for (k = 1; k <= 7; k++) {
		ck_assert_int_eq(dsb_random(secret, sizeof(secret)), 0);
		ck_assert_int_eq(dsb_shamir_split(secret, sizeof(secret), k, 7, shares), 0);
		for (mask = 1; mask < 128; mask++) {
			if ((unsigned)__builtin_popcount(mask) != k)
				continue;
			for (i = 0, m = 0; i < 7; i++)
				if (mask & (1u << i)) {
					xs[m] = (uint8_t)(i + 1);
					ys[m++] = shares + i * sizeof(secret);
				}
			ck_assert_int_eq(dsb_shamir_combine(xs, ys, k, sizeof(secret), out), 0);
			ck_assert_mem_eq(out, secret, sizeof(secret));
		}
	}
	ck_assert_int_eq(dsb_shamir_split(secret, 1, 0, 3, shares), DSB_ERR_USAGE);
	ck_assert_int_eq(dsb_shamir_split(secret, 1, 4, 3, shares), DSB_ERR_USAGE);
}
END_TEST

START_TEST(shamir_fewer_than_k_reveal_nothing)
{
	/* With K = 3, interpolating 2 shares gives a value independent of the secret:
	 * over many splits of one fixed secret it must spread over the byte values. */
	uint8_t secret[1] = { 0xa5 }, shares[3], out[1], xs[2] = { 1, 2 };
	const uint8_t *ys[2] = { shares, shares + 1 };
	unsigned counts[256] = { 0 }, hits = 0, distinct = 0, i;

	for (i = 0; i < 4096; i++) {
		ck_assert_int_eq(dsb_shamir_split(secret, 1, 3, 3, shares), 0);
		ck_assert_int_eq(dsb_shamir_combine(xs, ys, 2, 1, out), 0);
		counts[out[0]]++;
		hits += out[0] == secret[0];
	}
	for (i = 0; i < 256; i++)
		distinct += counts[i] > 0;
	ck_assert_uint_gt(distinct, 200);   /* uniform: ~16 each */
	ck_assert_uint_lt(hits, 64);        /* the secret is not favoured */
}
END_TEST

static char *tmpfile_path(const char *dir, const char *name)
{
	char *p;

	ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
	return p;
}

START_TEST(identity_files)
{
	struct dsb_identity *id = NULL, *back = NULL;
	char r1[DSB_RECIPIENT_LEN], r2[DSB_RECIPIENT_LEN];
	char *dir = dsb_test_tmpdir(), *path = tmpfile_path(dir, "id");
	struct stat st;

	ck_assert_int_eq(dsb_identity_generate(&id), 0);
	ck_assert_int_eq(dsb_identity_save(id, path), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(dsb_identity_save(id, path), DSB_ERR_EXISTS);
	ck_assert_int_eq(dsb_identity_load(path, &back), 0);
	dsb_identity_recipient(id, r1);
	dsb_identity_recipient(back, r2);
	ck_assert_str_eq(r1, r2);
	ck_assert_int_eq(strncmp(r1, "dsbr1", 5), 0);
	ck_assert_int_eq(dsb_recipient_check(r1), 0);
	r1[10] = r1[10] == 'a' ? 'b' : 'a';           /* a typo */
	ck_assert_int_eq(dsb_recipient_check(r1), DSB_ERR_USAGE);
	ck_assert_int_eq(dsb_recipient_check("dsbr1abc"), DSB_ERR_USAGE);
	chmod(path, 0644);
	dsb_identity_free(back);
	back = NULL;
	ck_assert_int_eq(dsb_identity_load(path, &back), DSB_ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "readable by group or others"));
	dsb_identity_free(id);
	dsb_test_rmrf(dir);
	free(path);
	free(dir);
}
END_TEST

START_TEST(recipient_slot)
{
	struct dsb_keys *k = NULL, *back = NULL;
	struct dsb_identity *a = NULL, *b = NULL;
	struct dsb_keyslot_info info;
	char rcpt[DSB_RECIPIENT_LEN];
	struct dsb_buf slot;
	char *p;

	dsb_buf_init(&slot, 0);
	ck_assert_int_eq(dsb_keys_generate(&k), 0);
	ck_assert_int_eq(dsb_identity_generate(&a), 0);
	ck_assert_int_eq(dsb_identity_generate(&b), 0);
	dsb_identity_recipient(a, rcpt);
	ck_assert_int_eq(dsb_keyslot_create_recipient(k, rcpt, "host1", "officer", &slot), 0);
	ck_assert_int_eq(dsb_keyslot_info_any(slot.data, slot.len, &info), 0);
	ck_assert_str_eq(info.type, "x25519");
	ck_assert_str_eq(info.recipient, rcpt);
	ck_assert_str_eq(info.host, "host1");
	/* a passphrase cannot open it, another identity cannot, the right one can */
	ck_assert_int_eq(dsb_keyslot_open(slot.data, slot.len, "pw", 2, &back), DSB_ERR_UNSUPPORTED);
	ck_assert_int_eq(dsb_keyslot_open_identity(slot.data, slot.len, b, &back), DSB_ERR_BAD_KEY);
	ck_assert_int_eq(dsb_keyslot_open_identity(slot.data, slot.len, a, &back), 0);
	ck_assert(same_keys(k, back));
	dsb_keys_free(back);
	back = NULL;
	/* the public fields are authenticated */
	p = strstr((char *)slot.data, "host1");
	ck_assert_ptr_nonnull(p);
	p[4] = '2';
	ck_assert_int_eq(dsb_keyslot_open_identity(slot.data, slot.len, a, &back), DSB_ERR_BAD_KEY);
	dsb_keys_free(k);
	dsb_identity_free(a);
	dsb_identity_free(b);
	dsb_buf_release(&slot);
}
END_TEST

START_TEST(escrow_k_of_n)
{
	struct dsb_identity *ids[5];
	char rcpt[5][DSB_RECIPIENT_LEN];
	const char *rs[5];
	struct dsb_buf slots[5], text;
	struct dsb_share *sh[5] = { 0 }, *imported = NULL, *set2[3];
	struct dsb_keys *k = NULL, *back = NULL;
	struct dsb_keyslot_info info;
	unsigned i;

	dsb_buf_init(&text, 0);
	ck_assert_int_eq(dsb_keys_generate(&k), 0);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(dsb_identity_generate(&ids[i]), 0);
		dsb_identity_recipient(ids[i], rcpt[i]);
		rs[i] = rcpt[i];
		dsb_buf_init(&slots[i], 0);
	}
	ck_assert_int_eq(dsb_escrow_split(k, 3, rs, 5, "h", "u", slots), 0);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(dsb_keyslot_info_any(slots[i].data, slots[i].len, &info), 0);
		ck_assert_str_eq(info.type, "escrow-share");
		ck_assert_uint_eq(info.threshold, 3);
		ck_assert_uint_eq(info.shares, 5);
		ck_assert_uint_eq(info.index, i + 1);
		/* only its own officer opens a share */
		ck_assert_int_eq(dsb_escrow_share_open(slots[i].data, slots[i].len, ids[(i + 1) % 5],
		    &sh[i]), DSB_ERR_BAD_KEY);
		ck_assert_int_eq(dsb_escrow_share_open(slots[i].data, slots[i].len, ids[i], &sh[i]), 0);
	}
	/* exactly K shares open it; K-1 do not, nor K-1 with a duplicate */
	ck_assert_int_eq(dsb_escrow_combine(sh, 3, &back), 0);
	ck_assert(same_keys(k, back));
	dsb_keys_free(back);
	back = NULL;
	ck_assert_int_eq(dsb_escrow_combine(sh + 2, 3, &back), 0);
	ck_assert(same_keys(k, back));
	dsb_keys_free(back);
	back = NULL;
	ck_assert_int_eq(dsb_escrow_combine(sh, 2, &back), DSB_ERR_BAD_KEY);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "needs 3 shares, have 2"));
	set2[0] = sh[0];
	set2[1] = sh[1];
	set2[2] = sh[1];
	ck_assert_int_eq(dsb_escrow_combine(set2, 3, &back), DSB_ERR_BAD_KEY);
	/* the officer workflow: a share exported to text and imported again */
	ck_assert_int_eq(dsb_share_export(sh[4], &text), 0);
	ck_assert_int_eq(dsb_share_import(text.data, text.len, &imported), 0);
	set2[0] = sh[0];
	set2[1] = imported;
	set2[2] = sh[2];
	ck_assert_int_eq(dsb_escrow_combine(set2, 3, &back), 0);
	ck_assert(same_keys(k, back));
	dsb_keys_free(back);
	dsb_share_free(imported);
	imported = NULL;
	ck_assert_int_eq(dsb_share_import("DSBACKUP-SHARE-1 garbage", 24, &imported), DSB_ERR_USAGE);
	ck_assert_ptr_null(imported);
	for (i = 0; i < 5; i++) {
		dsb_share_free(sh[i]);
		dsb_identity_free(ids[i]);
		dsb_buf_release(&slots[i]);
	}
	dsb_buf_release(&text);
	dsb_keys_free(k);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("escrow");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, gf256_known_answers);
	tcase_add_test(tc, shamir_known_answer);
	tcase_add_test(tc, shamir_any_k_of_n);
	tcase_add_test(tc, shamir_fewer_than_k_reveal_nothing);
	tcase_add_test(tc, identity_files);
	tcase_add_test(tc, recipient_slot);
	tcase_add_test(tc, escrow_k_of_n);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
