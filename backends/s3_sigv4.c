/*
 * s3_sigv4.c: the SigV4 canonical request, string to sign and signature
 * (see s3_sigv4.h).  Nothing here touches the network or the clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dsbackup/error.h"
#include "dsbackup/util.h"
#include "s3_sigv4.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_BUF_MAX ((size_t)1 << 20)  /* a canonical request is never near this */
#define SIGV4_MAX_PARTS 64               /* query parameters or headers per request */

/* One encoded query pair or one canonicalized header, pointing into a buffer. */
struct sigv4_pair {
	const char *name;
	const char *value;
	size_t order;  /* position in the input: keeps repeated header names in order */
};

static int buf_str(struct dsb_buf *b, const char *s)
{
	return dsb_buf_append(b, s, strlen(s));
}

/* buf_terminate(b): a NUL after the contents, not counted in ${b->len}. */
static int buf_terminate(struct dsb_buf *b)
{
	int r;

	if ((r = dsb_buf_reserve(b, 1)) != 0)
		return r;
	b->data[b->len] = '\0';
	return 0;
}

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~';
}

int s3_uri_encode(const char *p, size_t n, int keep_slash, struct dsb_buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		char esc[3] = { '%', hex[c >> 4], hex[c & 15] };

		if (is_unreserved(c) || (keep_slash && c == '/'))
			r = dsb_buf_append(out, &p[i], 1);
		else
			r = dsb_buf_append(out, esc, sizeof(esc));
		if (r != 0)
			return r;
	}
	return 0;
}

static int pair_cmp(const void *a, const void *b)
{
	const struct sigv4_pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c == 0)
		c = strcmp(x->value, y->value);
	if (c == 0)
		c = x->order < y->order ? -1 : x->order > y->order;
	return c;
}

/* header_cmp: by name only, then input order (repeated names keep their order). */
static int header_cmp(const void *a, const void *b)
{
	const struct sigv4_pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c == 0)
		c = x->order < y->order ? -1 : x->order > y->order;
	return c;
}

/*
 * encode_query(query, n, store, pairs): the encoded names and values of
 * ${query}, NUL-terminated one after another in ${store}, and ${pairs}
 * pointing at them (set once ${store} no longer moves).
 */
static int encode_query(const struct s3_kv *query, size_t n, struct dsb_buf *store,
    struct sigv4_pair *pairs)
{
	size_t i, *offsets = NULL, off;
	int r = 0;

	if ((offsets = calloc(2 * n + 1, sizeof(*offsets))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	for (i = 0; i < n && r == 0; i++) {
		const char *v = query[i].value != NULL ? query[i].value : "";

		offsets[2 * i] = store->len;
		if ((r = s3_uri_encode(query[i].name, strlen(query[i].name), 0, store)) != 0 ||
		    (r = dsb_buf_append(store, "", 1)) != 0)
			break;
		offsets[2 * i + 1] = store->len;
		if ((r = s3_uri_encode(v, strlen(v), 0, store)) == 0)
			r = dsb_buf_append(store, "", 1);
	}
	for (i = 0; i < n && r == 0; i++) {
		off = offsets[2 * i];
		pairs[i].name = (const char *)store->data + off;
		pairs[i].value = (const char *)store->data + offsets[2 * i + 1];
		pairs[i].order = i;
	}
	free(offsets);
	return r;
}

int s3_sigv4_canonical_query(const struct s3_kv *query, size_t n, struct dsb_buf *out)
{
	struct sigv4_pair pairs[SIGV4_MAX_PARTS];
	struct dsb_buf store;
	size_t i;
	int r;

	if (n > SIGV4_MAX_PARTS)
		return dsb_error(DSB_ERR_USAGE, "%zu query parameters (at most %d)", n,
		    SIGV4_MAX_PARTS);
	dsb_buf_init(&store, SIGV4_BUF_MAX);
	if ((r = encode_query(query, n, &store, pairs)) != 0)
		goto out;
	qsort(pairs, n, sizeof(pairs[0]), pair_cmp);
	for (i = 0; i < n; i++) {
		if ((i > 0 && (r = buf_str(out, "&")) != 0) ||
		    (r = buf_str(out, pairs[i].name)) != 0 || (r = buf_str(out, "=")) != 0 ||
		    (r = buf_str(out, pairs[i].value)) != 0)
			goto out;
	}
	r = 0;
out:
	dsb_buf_release(&store);
	return r;
}

/* header_name_ok(s): a token: printable ASCII without ':' or spaces, not empty. */
static int header_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || *s == ':')
			return 0;
	}
	return 1;
}

/*
 * append_header_value(store, v): ${v} trimmed, runs of spaces and tabs
 * made one space, NUL-terminated.  CR, LF and other controls are refused.
 */
static int append_header_value(struct dsb_buf *store, const char *v)
{
	int space = 0, r;

	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v != '\0'; v++) {
		if (*v == ' ' || *v == '\t') {
			space = 1;
			continue;
		}
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return dsb_error(DSB_ERR_USAGE, "control character in a header value");
		if (space && (r = dsb_buf_append(store, " ", 1)) != 0)
			return r;
		space = 0;
		if ((r = dsb_buf_append(store, v, 1)) != 0)
			return r;
	}
	return dsb_buf_append(store, "", 1);
}

/* canonical_headers(req, store, pairs): lower-cased names and cleaned values, sorted. */
static int canonical_headers(const struct s3_sigv4_request *req, struct dsb_buf *store,
    struct sigv4_pair *pairs)
{
	size_t i, j, *offsets = NULL;
	int r = 0;

	if ((offsets = calloc(2 * req->nheaders + 1, sizeof(*offsets))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	for (i = 0; i < req->nheaders && r == 0; i++) {
		const char *name = req->headers[i].name;

		if (!header_name_ok(name)) {
			r = dsb_error(DSB_ERR_USAGE, "invalid header name \"%.64s\"", name);
			break;
		}
		offsets[2 * i] = store->len;
		for (j = 0; name[j] != '\0' && r == 0; j++) {
			char c = name[j] >= 'A' && name[j] <= 'Z' ? (char)(name[j] - 'A' + 'a') : name[j];

			r = dsb_buf_append(store, &c, 1);
		}
		if (r == 0 && (r = dsb_buf_append(store, "", 1)) == 0) {
			offsets[2 * i + 1] = store->len;
			r = append_header_value(store, req->headers[i].value != NULL ?
			    req->headers[i].value : "");
		}
	}
	for (i = 0; i < req->nheaders && r == 0; i++) {
		pairs[i].name = (const char *)store->data + offsets[2 * i];
		pairs[i].value = (const char *)store->data + offsets[2 * i + 1];
		pairs[i].order = i;
	}
	free(offsets);
	if (r == 0)
		qsort(pairs, req->nheaders, sizeof(pairs[0]), header_cmp);
	return r;
}

/* append_headers(pairs, n, out, signed_headers): "name:v1,v2\n" lines and "a;b;c". */
static int append_headers(const struct sigv4_pair *pairs, size_t n, struct dsb_buf *out,
    struct dsb_buf *signed_headers)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		int same = i > 0 && strcmp(pairs[i].name, pairs[i - 1].name) == 0;

		if (same) {
			/* a repeated name: its value joins the previous line */
			out->len--;  /* drop the '\n' */
			if ((r = buf_str(out, ",")) != 0 || (r = buf_str(out, pairs[i].value)) != 0 ||
			    (r = buf_str(out, "\n")) != 0)
				return r;
			continue;
		}
		if ((r = buf_str(out, pairs[i].name)) != 0 || (r = buf_str(out, ":")) != 0 ||
		    (r = buf_str(out, pairs[i].value)) != 0 || (r = buf_str(out, "\n")) != 0)
			return r;
		if ((signed_headers->len > 0 && (r = buf_str(signed_headers, ";")) != 0) ||
		    (r = buf_str(signed_headers, pairs[i].name)) != 0)
			return r;
	}
	return 0;
}

int s3_sigv4_canonical_request(const struct s3_sigv4_request *req, struct dsb_buf *out,
    struct dsb_buf *signed_headers)
{
	struct sigv4_pair pairs[SIGV4_MAX_PARTS];
	struct dsb_buf store;
	const char *path = req->path != NULL && *req->path != '\0' ? req->path : "/";
	int r;

	dsb_buf_reset(out);
	dsb_buf_reset(signed_headers);
	if (req->method == NULL || req->payload_hash == NULL || path[0] != '/')
		return dsb_error(DSB_ERR_USAGE, "incomplete request to sign");
	if (req->nheaders > SIGV4_MAX_PARTS)
		return dsb_error(DSB_ERR_USAGE, "%zu headers to sign (at most %d)", req->nheaders,
		    SIGV4_MAX_PARTS);
	dsb_buf_init(&store, SIGV4_BUF_MAX);
	if ((r = buf_str(out, req->method)) != 0 || (r = buf_str(out, "\n")) != 0 ||
	    (r = s3_uri_encode(path, strlen(path), 1, out)) != 0 || (r = buf_str(out, "\n")) != 0 ||
	    (r = s3_sigv4_canonical_query(req->query, req->nquery, out)) != 0 ||
	    (r = buf_str(out, "\n")) != 0 ||
	    (r = canonical_headers(req, &store, pairs)) != 0 ||
	    (r = append_headers(pairs, req->nheaders, out, signed_headers)) != 0 ||
	    (r = buf_str(out, "\n")) != 0 ||
	    (r = dsb_buf_append(out, signed_headers->data, signed_headers->len)) != 0 ||
	    (r = buf_str(out, "\n")) != 0 || (r = buf_str(out, req->payload_hash)) != 0 ||
	    (r = buf_terminate(out)) != 0 || (r = buf_terminate(signed_headers)) != 0)
		goto out;
	r = 0;
out:
	dsb_buf_release(&store);
	return r;
}

int s3_sha256_hex(const void *p, size_t n, char out[S3_SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return dsb_error(DSB_ERR_CRYPTO, "SHA-256 failed");
	dsb_hex_encode(md, 32, out);
	return 0;
}

static int hmac(const void *key, size_t keylen, const char *msg, unsigned char out[32])
{
	unsigned int len = 0;

	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), out,
	    &len) == NULL || len != 32)
		return dsb_error(DSB_ERR_CRYPTO, "HMAC-SHA256 failed");
	return 0;
}

/*
 * signature(key, date, string_to_sign, out): the signing key derived from
 * the secret (HMAC chain over date, region, service, "aws4_request"), then
 * hex(HMAC(signing key, string to sign)).  Key material is wiped.
 */
static int signature(const struct s3_sigv4_key *key, const char *date, const char *sts,
    char out[S3_SHA256_HEX])
{
	unsigned char k[32], sig[32];
	char *secret = NULL;
	int r;

	if ((secret = dsb_asprintf("AWS4%s", key->secret_key)) == NULL)
		return DSB_ERR_NOMEM;
	if ((r = hmac(secret, strlen(secret), date, k)) != 0 ||
	    (r = hmac(k, sizeof(k), key->region, k)) != 0 ||
	    (r = hmac(k, sizeof(k), key->service, k)) != 0 ||
	    (r = hmac(k, sizeof(k), "aws4_request", k)) != 0 ||
	    (r = hmac(k, sizeof(k), sts, sig)) != 0)
		goto out;
	dsb_hex_encode(sig, sizeof(sig), out);
	r = 0;
out:
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(secret, strlen(secret));
	free(secret);   /* from malloc: not OPENSSL_free */
	return r;
}

static int valid_amz_date(const char *d)
{
	size_t i;

	if (d == NULL || strlen(d) != S3_AMZ_DATE_LEN - 1 || d[8] != 'T' || d[15] != 'Z')
		return 0;
	for (i = 0; i < 15; i++) {
		if (i != 8 && (d[i] < '0' || d[i] > '9'))
			return 0;
	}
	return 1;
}

int s3_sigv4_authorization(const struct s3_sigv4_request *req, const struct s3_sigv4_key *key,
    const char *amz_date, struct dsb_buf *out)
{
	struct dsb_buf creq, signed_headers;
	char date[9], creq_hash[S3_SHA256_HEX], sig[S3_SHA256_HEX], *scope = NULL, *sts = NULL;
	int r;

	dsb_buf_reset(out);
	if (!valid_amz_date(amz_date))
		return dsb_error(DSB_ERR_USAGE, "invalid x-amz-date \"%.20s\"", amz_date ? amz_date : "");
	memcpy(date, amz_date, 8);
	date[8] = '\0';
	dsb_buf_init(&creq, SIGV4_BUF_MAX);
	dsb_buf_init(&signed_headers, SIGV4_BUF_MAX);
	if ((r = s3_sigv4_canonical_request(req, &creq, &signed_headers)) != 0 ||
	    (r = s3_sha256_hex(creq.data, creq.len, creq_hash)) != 0)
		goto out;
	r = DSB_ERR_NOMEM;
	if ((scope = dsb_asprintf("%s/%s/%s/aws4_request", date, key->region, key->service)) == NULL ||
	    (sts = dsb_asprintf(SIGV4_ALGORITHM "\n%s\n%s\n%s", amz_date, scope, creq_hash)) == NULL)
		goto out;
	if ((r = signature(key, date, sts, sig)) != 0)
		goto out;
	if ((r = buf_str(out, SIGV4_ALGORITHM " Credential=")) != 0 ||
	    (r = buf_str(out, key->access_key)) != 0 || (r = buf_str(out, "/")) != 0 ||
	    (r = buf_str(out, scope)) != 0 || (r = buf_str(out, ", SignedHeaders=")) != 0 ||
	    (r = buf_str(out, (const char *)signed_headers.data)) != 0 ||
	    (r = buf_str(out, ", Signature=")) != 0 || (r = buf_str(out, sig)) != 0 ||
	    (r = buf_terminate(out)) != 0)
		goto out;
	r = 0;
out:
	free(scope);
	free(sts);
	dsb_buf_release(&creq);
	dsb_buf_release(&signed_headers);
	return r;
}

void s3_amz_date(long long t, char out[S3_AMZ_DATE_LEN])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, S3_AMZ_DATE_LEN, "%Y%m%dT%H%M%SZ", &tm);
}
