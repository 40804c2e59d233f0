/*
 * check_s3_sigv4.c: the SigV4 signer against AWS's published vectors: the
 * "aws-sig-v4-test-suite" (service "service", 20150830T123600Z) and the
 * examples of the S3 API reference (GET Object with a range, PUT Object,
 * GET Bucket lifecycle, list objects).  Also the URL encoder and the
 * S3 location parser.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dsbackup/backend.h"
#include "dsbackup/buf.h"
#include "dsbackup/error.h"
#include "s3_internal.h"
#include "s3_sigv4.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const struct s3_sigv4_key suite_key = {
	"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service"
};
static const struct s3_sigv4_key s3_doc_key = {
	"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"
};

/* authorization(req, key, date): the Authorization header value; a static buffer. */
static const char *authorization(const struct s3_sigv4_request *req, const struct s3_sigv4_key *key,
    const char *date)
{
	static char out[1024];
	struct dsb_buf b;

	dsb_buf_init(&b, 0);
	ck_assert_msg(s3_sigv4_authorization(req, key, date, &b) == 0, "sign: %s", dsb_errmsg());
	ck_assert_uint_lt(b.len, sizeof(out));
	memcpy(out, b.data, b.len + 1);
	dsb_buf_release(&b);
	return out;
}

static const char *signature_of(const char *auth)
{
	const char *s = strstr(auth, "Signature=");

	ck_assert_ptr_nonnull(s);
	return s + strlen("Signature=");
}

static void assert_canonical(const struct s3_sigv4_request *req, const char *want,
    const char *want_signed)
{
	struct dsb_buf c, sh;

	dsb_buf_init(&c, 0);
	dsb_buf_init(&sh, 0);
	ck_assert_int_eq(s3_sigv4_canonical_request(req, &c, &sh), 0);
	ck_assert_str_eq((const char *)c.data, want);
	ck_assert_str_eq((const char *)sh.data, want_signed);
	dsb_buf_release(&c);
	dsb_buf_release(&sh);
}

static const struct s3_kv suite_headers[] = {
	{ "Host", "example.amazonaws.com" }, { "X-Amz-Date", "20150830T123600Z" }
};

START_TEST(test_get_vanilla)
{
	struct s3_sigv4_request req = { .method = "GET", .path = "/", .headers = suite_headers,
		.nheaders = 2, .payload_hash = EMPTY_SHA256 };

	assert_canonical(&req, "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
	    "host;x-amz-date\n" EMPTY_SHA256, "host;x-amz-date");
	ck_assert_str_eq(authorization(&req, &suite_key, "20150830T123600Z"),
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}
END_TEST

START_TEST(test_get_vanilla_query_order_key_case)
{
	static const struct s3_kv q[] = { { "Param2", "value2" }, { "Param1", "value1" } };
	struct s3_sigv4_request req = { .method = "GET", .path = "/", .query = q, .nquery = 2,
		.headers = suite_headers, .nheaders = 2, .payload_hash = EMPTY_SHA256 };

	assert_canonical(&req, "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
	    "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_SHA256, "host;x-amz-date");
	ck_assert_str_eq(signature_of(authorization(&req, &suite_key, "20150830T123600Z")),
	    "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}
END_TEST

START_TEST(test_get_vanilla_query_order_value)
{
	static const struct s3_kv q[] = { { "Param1", "value2" }, { "Param1", "value1" } };
	struct s3_sigv4_request req = { .method = "GET", .path = "/", .query = q, .nquery = 2,
		.headers = suite_headers, .nheaders = 2, .payload_hash = EMPTY_SHA256 };

	ck_assert_str_eq(signature_of(authorization(&req, &suite_key, "20150830T123600Z")),
	    "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694");
}
END_TEST

START_TEST(test_get_vanilla_utf8_query)
{
	static const struct s3_kv q[] = { { "\xe1\x88\xb4", "bar" } };
	struct s3_sigv4_request req = { .method = "GET", .path = "/", .query = q, .nquery = 1,
		.headers = suite_headers, .nheaders = 2, .payload_hash = EMPTY_SHA256 };
	struct dsb_buf b;

	dsb_buf_init(&b, 0);
	ck_assert_int_eq(s3_sigv4_canonical_query(q, 1, &b), 0);
	ck_assert_int_eq(dsb_buf_append(&b, "", 1), 0);
	ck_assert_str_eq((const char *)b.data, "%E1%88%B4=bar");
	dsb_buf_release(&b);
	ck_assert_str_eq(signature_of(authorization(&req, &suite_key, "20150830T123600Z")),
	    "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04");
}
END_TEST

START_TEST(test_get_unreserved)
{
	struct s3_sigv4_request req = { .method = "GET",
		.path = "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
		.headers = suite_headers, .nheaders = 2, .payload_hash = EMPTY_SHA256 };

	ck_assert_str_eq(signature_of(authorization(&req, &suite_key, "20150830T123600Z")),
	    "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
}
END_TEST

START_TEST(test_get_header_value_trim)
{
	static const struct s3_kv h[] = {
		{ "Host", "example.amazonaws.com" }, { "My-Header1", " value1" },
		{ "My-Header2", "\"a   b   c\"" }, { "X-Amz-Date", "20150830T123600Z" }
	};
	struct s3_sigv4_request req = { .method = "GET", .path = "/", .headers = h, .nheaders = 4,
		.payload_hash = EMPTY_SHA256 };

	assert_canonical(&req, "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\n"
	    "my-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\n"
	    "host;my-header1;my-header2;x-amz-date\n" EMPTY_SHA256,
	    "host;my-header1;my-header2;x-amz-date");
	ck_assert_str_eq(signature_of(authorization(&req, &suite_key, "20150830T123600Z")),
	    "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
}
END_TEST

START_TEST(test_get_header_key_duplicate)
{
	static const struct s3_kv h[] = {
		{ "Host", "example.amazonaws.com" }, { "My-Header1", "value2" },
		{ "My-Header1", "value2" }, { "My-Header1", "value1" },
		{ "X-Amz-Date", "20150830T123600Z" }
	};
	struct s3_sigv4_request req = { .method = "GET", .path = "/", .headers = h, .nheaders = 5,
		.payload_hash = EMPTY_SHA256 };

	ck_assert_str_eq(signature_of(authorization(&req, &suite_key, "20150830T123600Z")),
	    "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea");
}
END_TEST

START_TEST(test_post_x_www_form_urlencoded)
{
	static const struct s3_kv h[] = {
		{ "Content-Type", "application/x-www-form-urlencoded" },
		{ "Host", "example.amazonaws.com" }, { "X-Amz-Date", "20150830T123600Z" }
	};
	char hash[S3_SHA256_HEX];
	struct s3_sigv4_request req = { .method = "POST", .path = "/", .headers = h, .nheaders = 3,
		.payload_hash = hash };

	ck_assert_int_eq(s3_sha256_hex("Param1=value1", 13, hash), 0);
	ck_assert_str_eq(hash, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
	ck_assert_str_eq(signature_of(authorization(&req, &suite_key, "20150830T123600Z")),
	    "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}
END_TEST

/* S3 API reference, "Signature calculation: Transferring payload in a single chunk". */
START_TEST(test_s3_get_object)
{
	static const struct s3_kv h[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" }, { "Range", "bytes=0-9" },
		{ "x-amz-content-sha256", EMPTY_SHA256 }, { "x-amz-date", "20130524T000000Z" }
	};
	struct s3_sigv4_request req = { .method = "GET", .path = "/test.txt", .headers = h,
		.nheaders = 4, .payload_hash = EMPTY_SHA256 };

	assert_canonical(&req, "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
	    "range:bytes=0-9\nx-amz-content-sha256:" EMPTY_SHA256 "\n"
	    "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA256,
	    "host;range;x-amz-content-sha256;x-amz-date");
	ck_assert_str_eq(authorization(&req, &s3_doc_key, "20130524T000000Z"),
	    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
	    "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
	    "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}
END_TEST

START_TEST(test_s3_put_object)
{
	char hash[S3_SHA256_HEX];
	struct s3_kv h[] = {
		{ "Date", "Fri, 24 May 2013 00:00:00 GMT" }, { "Host", "examplebucket.s3.amazonaws.com" },
		{ "x-amz-content-sha256", hash }, { "x-amz-date", "20130524T000000Z" },
		{ "x-amz-storage-class", "REDUCED_REDUNDANCY" }
	};
	struct s3_sigv4_request req = { .method = "PUT", .path = "/test$file.text", .headers = h,
		.nheaders = 5, .payload_hash = hash };
	struct dsb_buf c, sh;

	ck_assert_int_eq(s3_sha256_hex("Welcome to Amazon S3.", 21, hash), 0);
	ck_assert_str_eq(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
	dsb_buf_init(&c, 0);
	dsb_buf_init(&sh, 0);
	ck_assert_int_eq(s3_sigv4_canonical_request(&req, &c, &sh), 0);
	ck_assert(strncmp((const char *)c.data, "PUT\n/test%24file.text\n\n", 23) == 0);
	dsb_buf_release(&c);
	dsb_buf_release(&sh);
	ck_assert_str_eq(signature_of(authorization(&req, &s3_doc_key, "20130524T000000Z")),
	    "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}
END_TEST

static const struct s3_kv s3_doc_headers[] = {
	{ "Host", "examplebucket.s3.amazonaws.com" }, { "x-amz-content-sha256", EMPTY_SHA256 },
	{ "x-amz-date", "20130524T000000Z" }
};

START_TEST(test_s3_get_bucket_lifecycle)
{
	static const struct s3_kv q[] = { { "lifecycle", NULL } };
	struct s3_sigv4_request req = { .method = "GET", .path = "/", .query = q, .nquery = 1,
		.headers = s3_doc_headers, .nheaders = 3, .payload_hash = EMPTY_SHA256 };
	struct dsb_buf c, sh;
	char hash[S3_SHA256_HEX];

	dsb_buf_init(&c, 0);
	dsb_buf_init(&sh, 0);
	ck_assert_int_eq(s3_sigv4_canonical_request(&req, &c, &sh), 0);
	ck_assert(strncmp((const char *)c.data, "GET\n/\nlifecycle=\n", 17) == 0);
	ck_assert_int_eq(s3_sha256_hex(c.data, c.len, hash), 0);
	ck_assert_str_eq(hash, "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
	dsb_buf_release(&c);
	dsb_buf_release(&sh);
	ck_assert_str_eq(signature_of(authorization(&req, &s3_doc_key, "20130524T000000Z")),
	    "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}
END_TEST

START_TEST(test_s3_list_objects)
{
	static const struct s3_kv q[] = { { "prefix", "J" }, { "max-keys", "2" } };
	struct s3_sigv4_request req = { .method = "GET", .path = "/", .query = q, .nquery = 2,
		.headers = s3_doc_headers, .nheaders = 3, .payload_hash = EMPTY_SHA256 };

	ck_assert_str_eq(signature_of(authorization(&req, &s3_doc_key, "20130524T000000Z")),
	    "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}
END_TEST

START_TEST(test_uri_encode)
{
	static const struct s3_kv q[] = {
		{ "continuation-token", "1/a+b=c~d e" }, { "uploads", "" }, { "a", NULL }
	};
	struct dsb_buf b;

	dsb_buf_init(&b, 0);
	ck_assert_int_eq(s3_uri_encode("/data/ab/x y+~%", 15, 1, &b), 0);
	ck_assert_int_eq(dsb_buf_append(&b, "", 1), 0);
	ck_assert_str_eq((const char *)b.data, "/data/ab/x%20y%2B~%25");
	dsb_buf_reset(&b);
	ck_assert_int_eq(s3_sigv4_canonical_query(q, 3, &b), 0);
	ck_assert_int_eq(dsb_buf_append(&b, "", 1), 0);
	ck_assert_str_eq((const char *)b.data, "a=&continuation-token=1%2Fa%2Bb%3Dc~d%20e&uploads=");
	dsb_buf_release(&b);
}
END_TEST

START_TEST(test_refuses_bad_input)
{
	static const struct s3_kv bad[] = { { "Host", "h" }, { "X-Evil", "a\r\nInjected: 1" } };
	static const struct s3_kv badname[] = { { "Bad Name", "v" } };
	struct s3_sigv4_request req = { .method = "GET", .path = "/", .headers = bad, .nheaders = 2,
		.payload_hash = EMPTY_SHA256 };
	struct dsb_buf b;

	dsb_buf_init(&b, 0);
	ck_assert_int_eq(s3_sigv4_authorization(&req, &suite_key, "20150830T123600Z", &b),
	    DSB_ERR_USAGE);
	req.headers = badname;
	req.nheaders = 1;
	ck_assert_int_eq(s3_sigv4_authorization(&req, &suite_key, "20150830T123600Z", &b),
	    DSB_ERR_USAGE);
	req.headers = suite_headers;
	req.nheaders = 2;
	ck_assert_int_eq(s3_sigv4_authorization(&req, &suite_key, "2015-08-30", &b), DSB_ERR_USAGE);
	/* the secret never shows up in what is returned */
	ck_assert_int_eq(s3_sigv4_authorization(&req, &suite_key, "20150830T123600Z", &b), 0);
	ck_assert_ptr_null(strstr((const char *)b.data, suite_key.secret_key));
	dsb_buf_release(&b);
}
END_TEST

START_TEST(test_amz_date)
{
	char d[S3_AMZ_DATE_LEN];

	s3_amz_date(1440938160LL, d);
	ck_assert_str_eq(d, "20150830T123600Z");
}
END_TEST

/* parse(url, o, s3): s3_parse_location into a zeroed struct with region us-east-1. */
static int parse(const char *location, const struct dsb_backend_options *o, struct s3 *s3)
{
	memset(s3, 0, sizeof(*s3));
	s3->region = (char *)"eu-west-3";
	return s3_parse_location(location, o, s3);
}

static void release(struct s3 *s3)
{
	free(s3->bucket);
	free(s3->prefix);
	free(s3->host);
	free(s3->base_url);
}

START_TEST(test_locations)
{
	struct dsb_backend_options o = { 0 };
	struct s3 s3;

	ck_assert_int_eq(parse("http://127.0.0.1:7480/bucket/a/b/", &o, &s3), 0);
	ck_assert_str_eq(s3.base_url, "http://127.0.0.1:7480");
	ck_assert_str_eq(s3.host, "127.0.0.1:7480");
	ck_assert_str_eq(s3.bucket, "bucket");
	ck_assert_str_eq(s3.prefix, "a/b/");
	ck_assert_int_eq(s3.virtual_host, 0);
	release(&s3);

	ck_assert_int_eq(parse("https://minio.example:9000/b1", &o, &s3), 0);
	ck_assert_str_eq(s3.prefix, "");
	ck_assert_int_eq(s3.https, 1);
	release(&s3);

	ck_assert_int_eq(parse("//my-bucket/repo", &o, &s3), 0);
	ck_assert_str_eq(s3.base_url, "https://my-bucket.s3.eu-west-3.amazonaws.com");
	ck_assert_str_eq(s3.prefix, "repo/");
	ck_assert_int_eq(s3.virtual_host, 1);
	release(&s3);

	o.s3_endpoint = "http://localhost:9000";
	ck_assert_int_eq(parse("//my-bucket", &o, &s3), 0);
	ck_assert_str_eq(s3.base_url, "http://localhost:9000");
	ck_assert_int_eq(s3.virtual_host, 0);
	release(&s3);
	o.s3_addressing = "virtual";
	ck_assert_int_eq(parse("//my-bucket", &o, &s3), 0);
	ck_assert_str_eq(s3.host, "my-bucket.localhost:9000");
	release(&s3);

	o = (struct dsb_backend_options){ 0 };
	ck_assert_int_eq(parse("http://user:secret@host/b", &o, &s3), DSB_ERR_USAGE);
	ck_assert_ptr_null(strstr(dsb_errmsg(), "secret"));
	release(&s3);
	ck_assert_int_eq(parse("ftp://host/b", &o, &s3), DSB_ERR_USAGE);
	release(&s3);
	ck_assert_int_eq(parse("http://host/", &o, &s3), DSB_ERR_USAGE);
	release(&s3);
	ck_assert_int_eq(parse("http://host/b/../x", &o, &s3), DSB_ERR_USAGE);
	release(&s3);
	ck_assert_int_eq(parse("http://host/b?x=1", &o, &s3), DSB_ERR_USAGE);
	release(&s3);
}
END_TEST

static Suite *s3_sigv4_suite(void)
{
	Suite *s = suite_create("s3_sigv4");
	TCase *tc = tcase_create("vectors");

	tcase_add_test(tc, test_get_vanilla);
	tcase_add_test(tc, test_get_vanilla_query_order_key_case);
	tcase_add_test(tc, test_get_vanilla_query_order_value);
	tcase_add_test(tc, test_get_vanilla_utf8_query);
	tcase_add_test(tc, test_get_unreserved);
	tcase_add_test(tc, test_get_header_value_trim);
	tcase_add_test(tc, test_get_header_key_duplicate);
	tcase_add_test(tc, test_post_x_www_form_urlencoded);
	tcase_add_test(tc, test_s3_get_object);
	tcase_add_test(tc, test_s3_put_object);
	tcase_add_test(tc, test_s3_get_bucket_lifecycle);
	tcase_add_test(tc, test_s3_list_objects);
	tcase_add_test(tc, test_uri_encode);
	tcase_add_test(tc, test_refuses_bad_input);
	tcase_add_test(tc, test_amz_date);
	tcase_add_test(tc, test_locations);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(s3_sigv4_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
