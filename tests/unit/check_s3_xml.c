/*
 * check_s3_xml.c: the bounded XML reader of the S3 backend on real answer
 * shapes (AWS and radosgw), entities, and malformed input; also the INI
 * reader used for ~/.aws files.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsbackup/error.h"
#include "s3_credentials.h"
#include "s3_xml.h"

#define S(lit) lit, sizeof(lit) - 1

START_TEST(test_error_document)
{
	struct s3_xml_error e;

	ck_assert_int_eq(s3_xml_parse_error(S("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"
	    "<Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not "
	    "match the signature you provided. Check your key &amp; signing method.</Message>"
	    "<RequestId>tx0001</RequestId><HostId>abc</HostId></Error>"), &e), 0);
	ck_assert_str_eq(e.code, "SignatureDoesNotMatch");
	ck_assert_str_eq(e.message, "The request signature we calculated does not match the "
	    "signature you provided. Check your key & signing method.");
	/* radosgw: no Message, extra fields */
	ck_assert_int_eq(s3_xml_parse_error(S("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error>"
	    "<Code>NoSuchBucket</Code><BucketName>b</BucketName><RequestId>tx1</RequestId>"
	    "<HostId>h</HostId></Error>"), &e), 0);
	ck_assert_str_eq(e.code, "NoSuchBucket");
	ck_assert_str_eq(e.message, "");
	/* not an error document */
	ck_assert_int_eq(s3_xml_parse_error(S("<ListBucketResult></ListBucketResult>"), &e),
	    DSB_ERR_CORRUPT);
	ck_assert_int_eq(s3_xml_parse_error(S("<html>502 Bad Gateway</html>"), &e), DSB_ERR_CORRUPT);
	ck_assert_int_eq(s3_xml_parse_error(S("Bad Gateway"), &e), DSB_ERR_CORRUPT);
}
END_TEST

START_TEST(test_error_message_is_sanitized_and_cut)
{
	char doc[4096];
	struct s3_xml_error e;
	int n;

	n = snprintf(doc, sizeof(doc), "<Error><Code>X&#10;Y</Code><Message>%0*d</Message></Error>",
	    1000, 7);
	ck_assert_int_eq(s3_xml_parse_error(doc, (size_t)n, &e), 0);
	ck_assert_str_eq(e.code, "X?Y");
	ck_assert_uint_eq(strlen(e.message), sizeof(e.message) - 1);
}
END_TEST

static const char list_doc[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Name>bucket</Name><Prefix>repo/</Prefix><KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys>"
	"<IsTruncated>true</IsTruncated>"
	"<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
	"<Contents><Key>repo/config</Key><LastModified>2026-11-28T15:49:52.000Z</LastModified>"
	"<ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>215</Size>"
	"<StorageClass>STANDARD</StorageClass></Contents>"
	"<Contents><Key>repo/data/ab/x&lt;&gt;&apos;&#x41;&#66;&#x1234;</Key><Size>16777216</Size>"
	"<Owner><ID>o</ID><DisplayName>d</DisplayName></Owner></Contents>"
	"<Contents><Key><![CDATA[repo/a&b]]></Key><Size>0</Size></Contents>"
	"</ListBucketResult>";

START_TEST(test_list_page)
{
	struct s3_list_page p = { 0 };

	ck_assert_int_eq(s3_xml_parse_list(list_doc, strlen(list_doc), &p), 0);
	ck_assert_uint_eq(p.count, 3);
	ck_assert_int_eq(p.truncated, 1);
	ck_assert_str_eq(p.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
	ck_assert_str_eq(p.entries[0].key, "repo/config");
	ck_assert_uint_eq(p.entries[0].size, 215);
	ck_assert_str_eq(p.entries[1].key, "repo/data/ab/x<>'AB\xe1\x88\xb4");
	ck_assert_uint_eq(p.entries[1].size, 16777216);
	ck_assert_str_eq(p.entries[2].key, "repo/a&b");
	ck_assert_uint_eq(p.entries[2].size, 0);
	s3_list_page_release(&p);
	ck_assert_uint_eq(p.count, 0);
}
END_TEST

START_TEST(test_list_last_and_empty_page)
{
	struct s3_list_page p = { 0 };

	ck_assert_int_eq(s3_xml_parse_list(S("<ListBucketResult><IsTruncated>false</IsTruncated>"
	    "<Contents><Key>k</Key><Size>1</Size></Contents></ListBucketResult>"), &p), 0);
	ck_assert_uint_eq(p.count, 1);
	ck_assert_int_eq(p.truncated, 0);
	ck_assert_ptr_null(p.next_token);
	ck_assert_int_eq(s3_xml_parse_list(S("<ListBucketResult><KeyCount>0</KeyCount>"
	    "<IsTruncated>false</IsTruncated></ListBucketResult>"), &p), 0);
	ck_assert_uint_eq(p.count, 0);
	s3_list_page_release(&p);
}
END_TEST

START_TEST(test_list_rejects)
{
	static const char *const bad[] = {
		/* truncated without a token: would loop forever or stop early */
		"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
		"<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>k</Key><Size>18446744073709551616</Size></Contents>"
		    "</ListBucketResult>",
		"<ListBucketResult><Contents><Key>k</Key><Key>j</Key><Size>1</Size></Contents>"
		    "</ListBucketResult>",
		"<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>",
		"<Error><Code>AccessDenied</Code></Error>",
		"<ListBucketResult><Contents><Key>k</Key><Size>1</Size></Contents>",
		NULL
	};
	struct s3_list_page p = { 0 };
	size_t i;

	for (i = 0; bad[i] != NULL; i++) {
		ck_assert_msg(s3_xml_parse_list(bad[i], strlen(bad[i]), &p) == DSB_ERR_CORRUPT,
		    "accepted: %s", bad[i]);
		ck_assert_uint_eq(p.count, 0);
		ck_assert_ptr_null(p.entries);
	}
}
END_TEST

START_TEST(test_upload_id)
{
	char id[64];

	ck_assert_int_eq(s3_xml_parse_upload_id(S("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	    "<Bucket>b</Bucket><Key>data/ab/x</Key><UploadId>2~iCw_lDY8VoFrGmT</UploadId>"
	    "</InitiateMultipartUploadResult>"), id, sizeof(id)), 0);
	ck_assert_str_eq(id, "2~iCw_lDY8VoFrGmT");
	ck_assert_int_eq(s3_xml_parse_upload_id(S("<InitiateMultipartUploadResult><UploadId>"
	    "</UploadId></InitiateMultipartUploadResult>"), id, sizeof(id)), DSB_ERR_CORRUPT);
	ck_assert_int_eq(s3_xml_parse_upload_id(S("<InitiateMultipartUploadResult>"
	    "</InitiateMultipartUploadResult>"), id, sizeof(id)), DSB_ERR_CORRUPT);
	ck_assert_int_eq(s3_xml_parse_upload_id(S("<InitiateMultipartUploadResult><UploadId>"
	    "0123456789</UploadId></InitiateMultipartUploadResult>"), id, 8), DSB_ERR_CORRUPT);
}
END_TEST

/* Every <Error> of a <DeleteResult>, "key code message;" each. */
static int delete_error_cb(void *arg, const char *key, const struct s3_xml_error *e)
{
	char *seen = arg;
	size_t n = strlen(seen);

	snprintf(seen + n, 256 - n, "%s %s %s;", key, e->code, e->message);
	return strcmp(key, "stop") == 0 ? 9 : 0;
}

START_TEST(test_delete_result)
{
	struct s3_delete_result d;
	char seen[256] = "";

	ck_assert_int_eq(s3_xml_parse_delete(S("<DeleteResult><Deleted><Key>a</Key></Deleted>"
	    "<Deleted><Key>b</Key></Deleted><Error><Key>snapshots/1</Key><Code>AccessDenied</Code>"
	    "<Message>forbidden by object lock</Message></Error><Error><Key>c</Key><Code>X</Code>"
	    "</Error></DeleteResult>"), &d, delete_error_cb, seen), 0);
	ck_assert_uint_eq(d.deleted, 2);
	ck_assert_uint_eq(d.errors, 2);
	ck_assert_str_eq(d.key, "snapshots/1");
	ck_assert_str_eq(d.error.code, "AccessDenied");
	ck_assert_str_eq(d.error.message, "forbidden by object lock");
	ck_assert_str_eq(seen, "snapshots/1 AccessDenied forbidden by object lock;c X ;");
	/* a callback's value stops the parse; a quiet answer with no entries is fine */
	seen[0] = '\0';
	ck_assert_int_eq(s3_xml_parse_delete(S("<DeleteResult><Error><Key>stop</Key><Code>A</Code>"
	    "</Error><Error><Key>z</Key></Error></DeleteResult>"), &d, delete_error_cb, seen), 9);
	ck_assert_str_eq(seen, "stop A ;");
	ck_assert_int_eq(s3_xml_parse_delete(S("<DeleteResult/>"), &d, NULL, NULL), 0);
	ck_assert_uint_eq(d.deleted + d.errors, 0);
	ck_assert_int_eq(s3_xml_parse_delete(S("<Error><Code>X</Code></Error>"), &d, NULL, NULL),
	    DSB_ERR_CORRUPT);
}
END_TEST

static int count_cb(void *arg, const char *path, const char *text, size_t len)
{
	(void)path;
	(void)text;
	(void)len;
	(*(int *)arg)++;
	return 0;
}

START_TEST(test_malformed)
{
	static const char *const bad[] = {
		"", "   ", "<", "<a", "<a>", "</a>", "<a></b>", "<a><b></a></b>", "<a>&unknown;</a>",
		"<a>&#0;</a>", "<a>&#xD800;</a>", "<a>&#x110000;</a>", "<a>&#;</a>", "<a>&#x;</a>",
		"<a>&amp</a>", "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "<a></a><b></b>",
		"text<a></a>", "<a></a>text", "<a><!-- unterminated </a>", "<a><![CDATA[x</a>",
		"<a x=\"<\"></a>", "<a x=\"1></a>", "<?xml", NULL
	};
	int calls = 0;
	size_t i;

	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(s3_xml_walk(bad[i], strlen(bad[i]), count_cb, &calls) == DSB_ERR_CORRUPT,
		    "accepted: %s", bad[i]);
	ck_assert_int_eq(s3_xml_walk(NULL, 0, count_cb, &calls), DSB_ERR_CORRUPT);
	/* a NUL inside */
	ck_assert_int_eq(s3_xml_walk("<a>x\0y</a>", 10, count_cb, &calls), DSB_ERR_CORRUPT);
}
END_TEST

START_TEST(test_limits)
{
	size_t depth = S3_XML_MAX_DEPTH + 1, i, n = 0;
	char *doc = malloc(depth * 8 + S3_XML_MAX_TEXT + 64);
	int calls = 0;

	ck_assert_ptr_nonnull(doc);
	for (i = 0; i < depth; i++)
		n += (size_t)sprintf(doc + n, "<a>");
	for (i = 0; i < depth; i++)
		n += (size_t)sprintf(doc + n, "</a>");
	ck_assert_int_eq(s3_xml_walk(doc, n, count_cb, &calls), DSB_ERR_CORRUPT);
	n = (size_t)sprintf(doc, "<a>");
	memset(doc + n, 'x', S3_XML_MAX_TEXT + 1);
	n += S3_XML_MAX_TEXT + 1;
	n += (size_t)sprintf(doc + n, "</a>");
	ck_assert_int_eq(s3_xml_walk(doc, n, count_cb, &calls), DSB_ERR_CORRUPT);
	/* exactly at the limits is fine */
	n = (size_t)sprintf(doc, "<a>");
	memset(doc + n, 'x', S3_XML_MAX_TEXT);
	n += S3_XML_MAX_TEXT;
	n += (size_t)sprintf(doc + n, "</a>");
	ck_assert_int_eq(s3_xml_walk(doc, n, count_cb, &calls), 0);
	free(doc);
}
END_TEST

START_TEST(test_well_formed_extras)
{
	int calls = 0;

	ck_assert_int_eq(s3_xml_walk(S("\xef\xbb\xbf<?xml version='1.0'?><!-- c --><a x='>' y=\"/\">"
	    "<b/><c></c ><d>&#x10FFFF;</d></a>\n<!-- after -->\n"), count_cb, &calls), 0);
	ck_assert_int_eq(calls, 4);
}
END_TEST

/* ---- INI ---- */

struct ini_seen {
	char text[2048];
};

static int ini_cb(void *arg, const char *section, const char *key, const char *value)
{
	struct ini_seen *s = arg;
	size_t n = strlen(s->text);

	snprintf(s->text + n, sizeof(s->text) - n, "[%s]%s=%s;", section, key, value);
	return 0;
}

START_TEST(test_ini)
{
	struct ini_seen s = { "" };
	char *long_doc;
	size_t n;

	ck_assert_int_eq(s3_ini_parse(S("# comment\n; other\nk0 = v0\n[default]\r\n"
	    "AWS_Access_Key_ID = AKID \r\naws_secret_access_key=se=cret\ns3 =\n"
	    "  addressing_style = path\n[profile x]\nregion = eu-west-3\nnot a setting\n"), ini_cb, &s), 0);
	ck_assert_str_eq(s.text, "[]k0=v0;[default]aws_access_key_id=AKID;"
	    "[default]aws_secret_access_key=se=cret;[default]s3=;[profile x]region=eu-west-3;");
	ck_assert_int_eq(s3_ini_parse(S("[unterminated\nk=v\n"), ini_cb, &s), DSB_ERR_CORRUPT);
	ck_assert_int_eq(s3_ini_parse("k=v\0x\n", 6, ini_cb, &s), DSB_ERR_CORRUPT);
	/* a session token line far longer than libinih's 200 bytes */
	n = 3000;
	long_doc = malloc(n + 32);
	ck_assert_ptr_nonnull(long_doc);
	strcpy(long_doc, "[t]\naws_session_token = ");
	memset(long_doc + strlen(long_doc), 'T', n);
	long_doc[24 + n] = '\0';
	s.text[0] = '\0';
	ck_assert_int_eq(s3_ini_parse(long_doc, strlen(long_doc), ini_cb, &s), 0);
	ck_assert_uint_eq(strlen(s.text), sizeof(s.text) - 1);  /* the whole value arrived */
	free(long_doc);
}
END_TEST

static Suite *s3_xml_suite(void)
{
	Suite *s = suite_create("s3_xml");
	TCase *tc = tcase_create("xml");

	tcase_add_test(tc, test_error_document);
	tcase_add_test(tc, test_error_message_is_sanitized_and_cut);
	tcase_add_test(tc, test_list_page);
	tcase_add_test(tc, test_list_last_and_empty_page);
	tcase_add_test(tc, test_list_rejects);
	tcase_add_test(tc, test_upload_id);
	tcase_add_test(tc, test_delete_result);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_well_formed_extras);
	tcase_add_test(tc, test_ini);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(s3_xml_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
