/*
 * shamir.c: Shamir's secret sharing over GF(2^8) (the AES field, reduction
 * polynomial x^8 + x^4 + x^3 + x + 1).  Each byte of the secret is the
 * constant term of its own random polynomial of degree K-1; share x holds
 * the polynomials' values at x (1..255).  Any K shares rebuild the secret by
 * Lagrange interpolation at 0; fewer reveal nothing about it.
 * Multiplication is bitwise and branch-free, so timing does not depend on
 * secret bytes.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "dsbackup/crypto.h"
#include "dsbackup/error.h"
#include "crypto_internal.h"

uint8_t dsb_gf256_mul(uint8_t a, uint8_t b)
{
	uint8_t p = 0, hi;
	int i;

	for (i = 0; i < 8; i++) {
		p ^= (uint8_t)(-(b & 1) & a);
		hi = (uint8_t)(-(a >> 7));
		a = (uint8_t)((a << 1) ^ (0x1b & hi));
		b >>= 1;
	}
	return p;
}

/* a^254 = a^-1 in GF(2^8) (0 for 0), by square-and-multiply over a fixed exponent */
uint8_t dsb_gf256_inv(uint8_t a)
{
	uint8_t r = 1, base = a;
	unsigned e = 254;

	while (e > 0) {
		if (e & 1)
			r = dsb_gf256_mul(r, base);
		base = dsb_gf256_mul(base, base);
		e >>= 1;
	}
	return r;
}

int dsb_shamir_split(const uint8_t *secret, size_t len, unsigned k, unsigned n, uint8_t *shares)
{
	uint8_t coef[255];
	size_t b;
	unsigned x, j;
	uint8_t y;
	int r;

	if (k < 1 || n < k || n > 255)
		return dsb_error(DSB_ERR_USAGE, "threshold %u of %u shares: need 1 <= K <= N <= 255", k, n);
	for (b = 0; b < len; b++) {
		coef[0] = secret[b];
		if (k > 1 && (r = dsb_random(coef + 1, k - 1)) != 0) {
			OPENSSL_cleanse(coef, sizeof(coef));
			return r;
		}
		for (x = 1; x <= n; x++) {
			/* Horner: y = coef[k-1]; y = y*x + coef[j] */
			y = coef[k - 1];
			for (j = k - 1; j-- > 0;)
				y = (uint8_t)(dsb_gf256_mul(y, (uint8_t)x) ^ coef[j]);
			shares[(size_t)(x - 1) * len + b] = y;
		}
	}
	OPENSSL_cleanse(coef, sizeof(coef));
	return 0;
}

int dsb_shamir_combine(const uint8_t *xs, const uint8_t *const *ys, unsigned k, size_t len,
    uint8_t *out)
{
	uint8_t lagrange[255], num, den;
	unsigned i, j;
	size_t b;

	if (k < 1 || k > 255)
		return dsb_error(DSB_ERR_USAGE, "cannot combine %u shares", k);
	for (i = 0; i < k; i++) {
		if (xs[i] == 0)
			return dsb_error(DSB_ERR_CORRUPT, "share index 0 is invalid");
		for (j = 0; j < i; j++)
			if (xs[j] == xs[i])
				return dsb_error(DSB_ERR_USAGE, "share %u given twice", xs[i]);
	}
	/* l_i(0) = prod_{j != i} x_j / (x_j - x_i); subtraction is xor */
	for (i = 0; i < k; i++) {
		num = 1;
		den = 1;
		for (j = 0; j < k; j++) {
			if (j == i)
				continue;
			num = dsb_gf256_mul(num, xs[j]);
			den = dsb_gf256_mul(den, (uint8_t)(xs[j] ^ xs[i]));
		}
		lagrange[i] = dsb_gf256_mul(num, dsb_gf256_inv(den));
	}
	for (b = 0; b < len; b++) {
		uint8_t acc = 0;

		for (i = 0; i < k; i++)
			acc ^= dsb_gf256_mul(ys[i][b], lagrange[i]);
		out[b] = acc;
	}
	return 0;
}
