/*
 * s3_sigv4.h: AWS Signature Version 4 for the S3 backend (internal to
 * backends/s3*.c and their tests).
 *
 * Pure functions: the canonical request is built here from raw (unencoded)
 * parts, so the URL that goes on the wire and the string that is signed
 * come from the same encoder.  Rules (AWS "Create a canonical request"):
 * path segments and query names and values RFC 3986-encoded with upper-case
 * hex and "-._~" unescaped, '/' kept in the path; query pairs sorted by
 * encoded name, then encoded value, byte order; an empty value is "name=";
 * header names lower-cased, values trimmed with inner runs of spaces
 * collapsed, sorted by name, repeated names joined with ','.
 */
#ifndef DSB_S3_SIGV4_H
#define DSB_S3_SIGV4_H

#include <stddef.h>

#include "dsbackup/buf.h"

#define S3_SHA256_HEX 65  /* 64 hex digits and a NUL */
#define S3_AMZ_DATE_LEN 17 /* "20150830T123600Z" and a NUL */

/* A name and a value: a query parameter or a header.  A NULL value is "". */
struct s3_kv {
	const char *name;
	const char *value;
};

struct s3_sigv4_request {
	const char *method;            /* "GET", "PUT" ... */
	const char *path;              /* raw, starts with '/', e.g. "/bucket/data/ab/x" */
	const struct s3_kv *query;     /* raw names and values, any order */
	size_t nquery;
	const struct s3_kv *headers;   /* every header to sign, host and x-amz-date included */
	size_t nheaders;
	const char *payload_hash;      /* hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
};

struct s3_sigv4_key {
	const char *access_key;
	const char *secret_key;        /* a secret: never copied into a message */
	const char *region;            /* "us-east-1" */
	const char *service;           /* "s3" */
};

/*
 * s3_uri_encode(p, n, keep_slash, out): append the RFC 3986 encoding of
 * ${n} bytes at ${p} to ${out}: unreserved characters as they are, '/' as
 * is if ${keep_slash}, every other byte "%XX" with upper-case hex.
 * 0 or DSB_ERR_NOMEM/LIMIT.
 */
int s3_uri_encode(const char *p, size_t n, int keep_slash, struct dsb_buf *out);

/*
 * s3_sigv4_canonical_query(query, n, out): append the canonical query
 * string (sorted, encoded, "a=1&b=") to ${out}; also the query to send.
 */
int s3_sigv4_canonical_query(const struct s3_kv *query, size_t n, struct dsb_buf *out);

/*
 * s3_sigv4_canonical_request(req, out, signed_headers): replace ${out}
 * with the canonical request and ${signed_headers} with "host;x-amz-date"
 * (both NUL-terminated).  0, DSB_ERR_USAGE for a malformed request, or
 * DSB_ERR_NOMEM/LIMIT.
 */
int s3_sigv4_canonical_request(const struct s3_sigv4_request *req, struct dsb_buf *out,
    struct dsb_buf *signed_headers);

/*
 * s3_sigv4_authorization(req, key, amz_date, out): replace ${out} with the
 * value of the Authorization header, "AWS4-HMAC-SHA256 Credential=...,
 * SignedHeaders=..., Signature=<64 hex>" (NUL-terminated), for a request
 * made at ${amz_date} ("YYYYMMDDTHHMMSSZ", which must also be the signed
 * x-amz-date header).  0 or an error.
 */
int s3_sigv4_authorization(const struct s3_sigv4_request *req, const struct s3_sigv4_key *key,
    const char *amz_date, struct dsb_buf *out);

/* s3_sha256_hex(p, n, out): lower-case hex SHA-256 of ${n} bytes. 0 or DSB_ERR_CRYPTO. */
int s3_sha256_hex(const void *p, size_t n, char out[S3_SHA256_HEX]);

/* s3_amz_date(t, out): "YYYYMMDDTHHMMSSZ" for the Unix time ${t}. */
void s3_amz_date(long long t, char out[S3_AMZ_DATE_LEN]);

#endif
