/*
 * fuzz_s3_xml.c: the S3 backend's XML reader (backends/s3_xml.c), fed
 * answers as a server might send them: every document reader runs on the
 * same bytes, and what they return must keep their promises.
 */
#include <string.h>

#include "dsbackup/error.h"
#include "fuzz.h"
#include "s3_xml.h"

static int walk_cb(void *arg, const char *path, const char *text, size_t len)
{
	size_t *calls = arg;

	FUZZ_CHECK(path[0] == '/');
	FUZZ_CHECK(strlen(text) == len);  /* NUL-terminated, no NUL inside */
	FUZZ_CHECK(len <= S3_XML_MAX_TEXT);
	(*calls)++;
	return *calls == 1000 ? 5 : 0;    /* a callback may stop the walk */
}

static void check_list(const char *p, size_t n)
{
	struct s3_list_page page = { 0 };
	size_t i;

	if (s3_xml_parse_list(p, n, &page) == 0) {
		FUZZ_CHECK(page.count <= page.cap);
		FUZZ_CHECK(!page.truncated || page.next_token != NULL);
		for (i = 0; i < page.count; i++)
			FUZZ_CHECK(page.entries[i].key != NULL && page.entries[i].key[0] != '\0');
	} else {
		FUZZ_CHECK(page.count == 0 && page.entries == NULL && page.next_token == NULL);
	}
	s3_list_page_release(&page);
}

static void check_printable(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	FUZZ_CHECK(n < size);
	for (; *s != '\0'; s++)
		FUZZ_CHECK((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct s3_xml_error e;
	struct s3_delete_result d;
	char id[64];
	size_t calls = 0;
	int r;

	r = s3_xml_walk(p, size, walk_cb, &calls);
	FUZZ_CHECK(r == 0 || r == DSB_ERR_CORRUPT || r == DSB_ERR_NOMEM || r == 5);
	if (s3_xml_parse_error(p, size, &e) == 0) {
		check_printable(e.code, sizeof(e.code));
		check_printable(e.message, sizeof(e.message));
	}
	check_list(p, size);
	if (s3_xml_parse_upload_id(p, size, id, sizeof(id)) == 0)
		FUZZ_CHECK(id[0] != '\0' && strlen(id) < sizeof(id));
	if (s3_xml_parse_delete(p, size, &d, NULL, NULL) == 0) {
		check_printable(d.key, sizeof(d.key));
		check_printable(d.error.code, sizeof(d.error.code));
	}
	dsb_error_clear();
	return 0;
}
