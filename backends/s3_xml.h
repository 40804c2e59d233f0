/*
 * s3_xml.h: the few S3 XML responses the S3 backend reads (internal to
 * backends/s3*.c, their tests and the fuzz target).
 *
 * S3 answers with small, flat documents.  Rather than a general XML
 * library, a bounded parser reads exactly what is needed: elements,
 * character data with the five predefined entities and numeric character
 * references, CDATA sections, comments and processing instructions; a
 * DOCTYPE (and so any user-defined entity) is refused.  Every function is
 * pure over (bytes, length): nothing is trusted, nothing read past ${n}.
 */
#ifndef DSB_S3_XML_H
#define DSB_S3_XML_H

#include <stddef.h>
#include <stdint.h>

#define S3_XML_MAX_DEPTH 16       /* deepest element nesting accepted */
#define S3_XML_MAX_NAME 64        /* longest element name */
#define S3_XML_MAX_TEXT 65536     /* longest character data of one element */

/*
 * s3_xml_cb(arg, path, text, len): called when an element closes, with the
 * names from the root, "/ListBucketResult/Contents/Key", and the element's
 * own decoded character data (${len} bytes, NUL-terminated, may hold any
 * byte but NUL).  A non-zero return stops the walk and is returned.
 */
typedef int (*s3_xml_cb)(void *arg, const char *path, const char *text, size_t len);

/* s3_xml_walk(p, n, cb, arg): parse a whole document. 0, DSB_ERR_CORRUPT, or ${cb}'s value. */
int s3_xml_walk(const char *p, size_t n, s3_xml_cb cb, void *arg);

/* An <Error> document; strings are cut to fit and unprintable bytes replaced by '?'. */
struct s3_xml_error {
	char code[64];       /* "SignatureDoesNotMatch" */
	char message[512];   /* "The request signature we calculated does not match..." */
};

/* s3_xml_parse_error(p, n, out): 0 if the document is an <Error>, else DSB_ERR_CORRUPT. */
int s3_xml_parse_error(const char *p, size_t n, struct s3_xml_error *out);

struct s3_list_entry {
	char *key;
	uint64_t size;
};

/* One page of a ListObjectsV2 answer. */
struct s3_list_page {
	struct s3_list_entry *entries;
	size_t count, cap;
	int truncated;        /* IsTruncated was "true" */
	char *next_token;     /* NextContinuationToken, or NULL */
};

/*
 * s3_xml_parse_list(p, n, page): parse a <ListBucketResult> into ${page}
 * (which must be zeroed or released).  Every <Contents> needs a <Key> and a
 * decimal <Size>; a truncated page needs a NextContinuationToken.
 * 0, DSB_ERR_CORRUPT or DSB_ERR_NOMEM.
 */
int s3_xml_parse_list(const char *p, size_t n, struct s3_list_page *page);

/* s3_list_page_release(page): free everything; ${page} is zeroed. */
void s3_list_page_release(struct s3_list_page *page);

/*
 * s3_xml_parse_upload_id(p, n, out, size): the UploadId of an
 * <InitiateMultipartUploadResult>: 0, or DSB_ERR_CORRUPT if missing, empty
 * or longer than ${size} - 1 bytes.
 */
int s3_xml_parse_upload_id(const char *p, size_t n, char *out, size_t size);

/* A <DeleteResult>: counts, and the first error reported. */
struct s3_delete_result {
	size_t deleted;
	size_t errors;
	char key[1025];
	struct s3_xml_error error;
};

/*
 * s3_delete_error_cb(arg, key, error): one <Error> of a <DeleteResult>, with
 * its <Key> (printable, cut at 1024 bytes) and <Code>/<Message>.  A non-zero
 * return stops the parse and is returned.
 */
typedef int (*s3_delete_error_cb)(void *arg, const char *key, const struct s3_xml_error *error);

/*
 * s3_xml_parse_delete(p, n, out, cb, arg): fill ${out}, and call ${cb} (if
 * not NULL) for every <Error> in document order.  0, DSB_ERR_CORRUPT or
 * ${cb}'s value.
 */
int s3_xml_parse_delete(const char *p, size_t n, struct s3_delete_result *out,
    s3_delete_error_cb cb, void *arg);

#endif
