/*
 * check_chunker.c: the content-defined chunker: a known answer, size
 * bounds, re-synchronisation after an edit, the "need more data" contract
 * and parameter checks.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dsbackup/chunker.h"
#include "dsbackup/crypto.h"
#include "dsbackup/error.h"

#define MIN 4096u
#define AVG 16384u
#define MAX 65536u
#define MAXCUTS 4096

static const struct dsb_chunker_params small = { MIN, AVG, MAX };

/* Marsaglia's xorshift64 (13, 7, 17). */
static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* gear[i] = the i+1-th output of xorshift64 from state 1. */
static void xorshift_gear(uint64_t gear[256])
{
	uint64_t s = 1;
	int i;

	for (i = 0; i < 256; i++)
		gear[i] = xorshift64(&s);
}

/* ${n} bytes (a multiple of 8): xorshift64 outputs from ${seed}, little-endian. */
static uint8_t *random_data(size_t n, uint64_t seed)
{
	uint8_t *p = malloc(n);
	uint64_t x;
	size_t i;
	int j;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < n; i += 8) {
		x = xorshift64(&seed);
		for (j = 0; j < 8; j++)
			p[i + (size_t)j] = (uint8_t)(x >> (8 * j));
	}
	return p;
}

/* cut_all(c, p, n, cuts): chunk a whole stream the documented way; the number of chunks. */
static size_t cut_all(const struct dsb_chunker *c, const uint8_t *p, size_t n, size_t *cuts)
{
	size_t off = 0, len, cut, k = 0;

	while (off < n) {
		len = n - off < c->p.max ? n - off : c->p.max;
		cut = dsb_chunker_next(c, p + off, len, off + len == n);
		ck_assert_uint_ge(cut, 1);
		ck_assert_uint_le(cut, len);
		ck_assert_uint_lt(k, MAXCUTS);
		cuts[k++] = cut;
		off += cut;
	}
	return k;
}

static void keyed_chunker(struct dsb_chunker *c)
{
	struct dsb_keys *k = NULL;
	uint64_t gear[256];

	ck_assert_int_eq(dsb_keys_generate(&k), 0);
	dsb_keys_gear(k, gear);
	dsb_chunker_init(c, &small, gear);
	dsb_keys_free(k);
}

/*
 * The cut lengths below come from an independent Python reimplementation of
 * the algorithm in chunker.c's header comment, run once:
 *   M = 2**64 - 1
 *   def xs(x): x ^= (x << 13) & M; x ^= x >> 7; x ^= (x << 17) & M; return x
 *   gear: s = 1, 256 times s = xs(s); gear.append(s)
 *   data: s = 0x9E3779B97F4A7C15, s = xs(s) 65536 times, s.to_bytes(8, "little")
 *   min, avg, max = 4096, 16384, 65536; masks and next() as documented,
 *   presenting min(max, remaining) bytes with eof when they reach the end.
 */
START_TEST(test_known_answer)
{
	static const size_t want[] = {
		16582, 22955, 22052, 18043, 20820, 5613, 21124, 18609, 17098, 4566,
		21167, 29482, 17540, 4340, 60572, 7391, 21084, 24242, 13094, 10680,
		19498, 13099, 21293, 50961, 17895, 24488
	};
	static struct dsb_chunker c;
	static size_t cuts[MAXCUTS];
	uint64_t gear[256];
	uint8_t *p = random_data(512 * 1024, 0x9E3779B97F4A7C15ull);
	size_t i, n;

	xorshift_gear(gear);
	dsb_chunker_init(&c, &small, gear);
	n = cut_all(&c, p, 512 * 1024, cuts);
	ck_assert_uint_eq(n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(cuts[i], want[i]);
	free(p);
}
END_TEST

START_TEST(test_masks)
{
	static struct dsb_chunker c;
	uint64_t gear[256];

	xorshift_gear(gear);
	dsb_chunker_init(&c, &small, gear);
	ck_assert_uint_eq(c.mask_s, 0xfffe000000000000ull);  /* 15 bits */
	ck_assert_uint_eq(c.mask_l, 0xfff8000000000000ull);  /* 13 bits */
	ck_assert_mem_eq(c.gear, gear, sizeof(gear));
}
END_TEST

START_TEST(test_determinism)
{
	static struct dsb_chunker c1, c2;
	static size_t a[MAXCUTS], b[MAXCUTS], x[MAXCUTS];
	size_t len = 2 << 20, na, nb, nx;
	uint8_t *p = random_data(len, 42);
	uint64_t gear[256];

	xorshift_gear(gear);
	dsb_chunker_init(&c1, &small, gear);
	dsb_chunker_init(&c2, &small, gear);
	na = cut_all(&c1, p, len, a);
	nb = cut_all(&c2, p, len, b);
	ck_assert_uint_eq(na, nb);
	ck_assert_mem_eq(a, b, na * sizeof(a[0]));
	keyed_chunker(&c2);  /* another gear table cuts elsewhere */
	nx = cut_all(&c2, p, len, x);
	ck_assert(nx != na || memcmp(a, x, na * sizeof(a[0])) != 0);
	free(p);
}
END_TEST

START_TEST(test_bounds_and_average)
{
	static struct dsb_chunker c;
	static size_t cuts[MAXCUTS];
	size_t len = 4 << 20, n, i, total = 0;
	uint8_t *p = random_data(len, 7);

	keyed_chunker(&c);
	n = cut_all(&c, p, len, cuts);
	for (i = 0; i < n; i++) {
		if (i + 1 < n) {
			ck_assert_uint_gt(cuts[i], MIN);
			ck_assert_uint_le(cuts[i], MAX);
		}
		total += cuts[i];
	}
	ck_assert_uint_eq(total, len);
	ck_assert_uint_ge(len / n, AVG / 2);
	ck_assert_uint_le(len / n, AVG * 2);
	free(p);
}
END_TEST

/* A gear table with only the top bit set never cuts: every chunk is max. */
START_TEST(test_no_cut_and_need_more)
{
	static struct dsb_chunker c;
	uint64_t gear[256];
	uint8_t *p = random_data(3 * MAX, 9);
	int i;

	for (i = 0; i < 256; i++)
		gear[i] = 1ull << 63;
	dsb_chunker_init(&c, &small, gear);
	ck_assert_uint_eq(dsb_chunker_next(&c, p, 0, 0), 0);
	ck_assert_uint_eq(dsb_chunker_next(&c, p, 0, 1), 0);
	ck_assert_uint_eq(dsb_chunker_next(&c, p, 3 * MAX, 0), MAX);
	ck_assert_uint_eq(dsb_chunker_next(&c, p, MAX, 0), MAX);
	ck_assert_uint_eq(dsb_chunker_next(&c, p, MAX - 1, 0), 0);
	ck_assert_uint_eq(dsb_chunker_next(&c, p, MAX - 1, 1), MAX - 1);
	ck_assert_uint_eq(dsb_chunker_next(&c, p, MIN, 0), 0);
	ck_assert_uint_eq(dsb_chunker_next(&c, p, MIN, 1), MIN);
	ck_assert_uint_eq(dsb_chunker_next(&c, p, 1, 1), 1);
	ck_assert_uint_eq(dsb_chunker_next(&c, p, AVG + 5, 0), 0);
	free(p);
}
END_TEST

/* With a real table: a prefix shorter than the first cut needs more data. */
START_TEST(test_need_more_before_cut)
{
	static struct dsb_chunker c;
	uint64_t gear[256];
	uint8_t *p = random_data(MAX, 11);
	size_t cut;

	xorshift_gear(gear);
	dsb_chunker_init(&c, &small, gear);
	cut = dsb_chunker_next(&c, p, MAX, 0);
	ck_assert_uint_gt(cut, MIN);
	ck_assert_uint_lt(cut, MAX);
	ck_assert_uint_eq(dsb_chunker_next(&c, p, cut, 0), cut);
	ck_assert_uint_eq(dsb_chunker_next(&c, p, cut - 1, 0), 0);
	ck_assert_uint_eq(dsb_chunker_next(&c, p, cut - 1, 1), cut - 1);
	ck_assert_uint_eq(dsb_chunker_next(&c, p, MAX, 1), cut);
	free(p);
}
END_TEST

/* chunk_hashes(c, p, n, hashes): SHA-256 of every chunk; their number. */
static size_t chunk_hashes(const struct dsb_chunker *c, const uint8_t *p, size_t n,
    uint8_t (*hashes)[32])
{
	static size_t cuts[MAXCUTS];
	size_t k = cut_all(c, p, n, cuts), i, off = 0;

	for (i = 0; i < k; i++) {
		dsb_sha256(p + off, cuts[i], hashes[i]);
		off += cuts[i];
	}
	return k;
}

static size_t shared_chunks(uint8_t (*a)[32], size_t na, uint8_t (*b)[32], size_t nb)
{
	size_t i, j, shared = 0;

	for (i = 0; i < nb; i++)
		for (j = 0; j < na; j++)
			if (memcmp(b[i], a[j], 32) == 0) {
				shared++;
				break;
			}
	return shared;
}

START_TEST(test_resync_after_edit)
{
	static uint8_t h1[MAXCUTS][32], h2[MAXCUTS][32];
	static struct dsb_chunker c;
	size_t len = 4 << 20, n1, n2, shared;
	uint8_t *p = random_data(len, 13), *q = malloc(len + 100);

	ck_assert_ptr_nonnull(q);
	keyed_chunker(&c);
	n1 = chunk_hashes(&c, p, len, h1);
	/* insert 100 bytes at offset 10000 */
	memcpy(q, p, 10000);
	memset(q + 10000, 0xab, 100);
	memcpy(q + 10100, p + 10000, len - 10000);
	n2 = chunk_hashes(&c, q, len + 100, h2);
	shared = shared_chunks(h1, n1, h2, n2);
	ck_assert_uint_ge(shared + 4, n2);
	/* delete 5000 bytes at offset 1 MiB */
	memcpy(q, p, 1 << 20);
	memcpy(q + (1 << 20), p + (1 << 20) + 5000, len - (1 << 20) - 5000);
	n2 = chunk_hashes(&c, q, len - 5000, h2);
	shared = shared_chunks(h1, n1, h2, n2);
	ck_assert_uint_ge(shared + 4, n2);
	ck_assert_uint_gt(n2, 100);
	free(p);
	free(q);
}
END_TEST

START_TEST(test_params_check)
{
	struct dsb_chunker_params p = {
		DSB_CHUNK_MIN_DEFAULT, DSB_CHUNK_AVG_DEFAULT, DSB_CHUNK_MAX_DEFAULT
	};

	ck_assert_int_eq(dsb_chunker_params_check(&p), 0);
	ck_assert_int_eq(dsb_chunker_params_check(&small), 0);
	p = small;
	p.min = 4095;
	ck_assert_int_eq(dsb_chunker_params_check(&p), DSB_ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "4095"));
	p = small;
	p.avg = 12288;
	ck_assert_int_eq(dsb_chunker_params_check(&p), DSB_ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "12288"));
	p = small;
	p.avg = 0;
	ck_assert_int_eq(dsb_chunker_params_check(&p), DSB_ERR_USAGE);
	p = small;
	p.min = AVG;
	ck_assert_int_eq(dsb_chunker_params_check(&p), DSB_ERR_USAGE);
	p = small;
	p.max = AVG;
	ck_assert_int_eq(dsb_chunker_params_check(&p), DSB_ERR_USAGE);
	p.min = 16u << 20;
	p.avg = 32u << 20;
	p.max = (64u << 20) + 1;
	ck_assert_int_eq(dsb_chunker_params_check(&p), DSB_ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "67108865"));
	p.max = 64u << 20;
	ck_assert_int_eq(dsb_chunker_params_check(&p), 0);
}
END_TEST

static Suite *chunker_suite(void)
{
	Suite *s = suite_create("chunker");
	TCase *tc = tcase_create("chunker");

	tcase_add_test(tc, test_known_answer);
	tcase_add_test(tc, test_masks);
	tcase_add_test(tc, test_determinism);
	tcase_add_test(tc, test_bounds_and_average);
	tcase_add_test(tc, test_no_cut_and_need_more);
	tcase_add_test(tc, test_need_more_before_cut);
	tcase_add_test(tc, test_resync_after_edit);
	tcase_add_test(tc, test_params_check);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(chunker_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
