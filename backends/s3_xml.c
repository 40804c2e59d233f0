/*
 * s3_xml.c: a bounded parser for the flat XML documents S3 answers with
 * (see s3_xml.h), and readers for the four documents the backend needs.
 */
#include <stdlib.h>
#include <string.h>

#include "dsbackup/buf.h"
#include "dsbackup/error.h"
#include "dsbackup/util.h"
#include "s3_xml.h"

#define XML_MAX_LIST_ENTRIES 100000  /* S3 pages hold at most 1000 */
#define XML_MAX_TOKEN 4096           /* a continuation token */

struct xml_walker {
	const char *p;
	size_t n, i;
	char path[S3_XML_MAX_DEPTH * (S3_XML_MAX_NAME + 1) + 1];
	size_t pathlen[S3_XML_MAX_DEPTH + 1];  /* length of ${path} above each level */
	int depth;
	int root_done;                         /* the root element has closed */
	struct dsb_buf text;
	s3_xml_cb cb;
	void *arg;
};

static int corrupt(const struct xml_walker *w, const char *what)
{
	return dsb_error(DSB_ERR_CORRUPT, "malformed XML at byte %zu: %s", w->i, what);
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int starts_with(const struct xml_walker *w, const char *s)
{
	size_t len = strlen(s);

	return w->n - w->i >= len && memcmp(w->p + w->i, s, len) == 0;
}

/* skip_past(w, end): move past the next ${end}; DSB_ERR_CORRUPT if there is none. */
static int skip_past(struct xml_walker *w, const char *end, const char *what)
{
	size_t len = strlen(end);

	for (; w->n - w->i >= len; w->i++) {
		if (memcmp(w->p + w->i, end, len) == 0) {
			w->i += len;
			return 0;
		}
	}
	w->i = w->n;
	return corrupt(w, what);
}

static int is_name_char(char c)
{
	return c != '\0' && !is_space(c) && c != '/' && c != '>' && c != '<' && c != '=' &&
	    c != '"' && c != '\'' && c != '&';
}

/* read_name(w, name): an element name of 1 to S3_XML_MAX_NAME bytes, NUL-terminated. */
static int read_name(struct xml_walker *w, char name[S3_XML_MAX_NAME + 1])
{
	size_t len = 0;

	while (w->i < w->n && is_name_char(w->p[w->i])) {
		if (len == S3_XML_MAX_NAME)
			return corrupt(w, "element name too long");
		name[len++] = w->p[w->i++];
	}
	name[len] = '\0';
	return len == 0 ? corrupt(w, "missing element name") : 0;
}

/* append_utf8(b, cp): the UTF-8 encoding of a valid code point. */
static int append_utf8(struct dsb_buf *b, unsigned long cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return dsb_buf_append(b, u, n);
}

/* char_ref(s, len, cp): "#123" or "#x7B" (without '&' and ';') to a code point. */
static int char_ref(const char *s, size_t len, unsigned long *cp)
{
	unsigned long v = 0;
	int base = 10, d;
	size_t i = 1;

	if (len < 2)
		return -1;
	if (s[1] == 'x') {
		base = 16;
		i = 2;
	}
	if (i == len)
		return -1;
	for (; i < len; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * (unsigned long)base + (unsigned long)d;
		if (v > 0x10ffff)
			return -1;
	}
	if (v == 0 || (v >= 0xd800 && v <= 0xdfff))
		return -1;
	*cp = v;
	return 0;
}

/* entity(w): at '&': decode "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#...;". */
static int entity(struct xml_walker *w)
{
	static const struct { const char *name; char c; } named[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
	};
	const char *s = w->p + w->i + 1;
	unsigned long cp;
	size_t len, k;

	for (len = 0; w->i + 1 + len < w->n && len < 12 && s[len] != ';'; len++)
		;
	if (w->i + 1 + len >= w->n || s[len] != ';')
		return corrupt(w, "unterminated entity reference");
	for (k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
		if (strlen(named[k].name) == len && memcmp(s, named[k].name, len) == 0) {
			w->i += len + 2;
			return dsb_buf_append(&w->text, &named[k].c, 1);
		}
	}
	if (s[0] != '#' || char_ref(s, len, &cp) != 0)
		return corrupt(w, "unknown entity or invalid character reference");
	w->i += len + 2;
	return append_utf8(&w->text, cp);
}

/* text(w): character data up to the next '<'. */
static int text(struct xml_walker *w)
{
	int r;

	while (w->i < w->n && w->p[w->i] != '<') {
		char c = w->p[w->i];

		if (c == '\0')
			return corrupt(w, "NUL byte");
		if (w->depth == 0 && !is_space(c))
			return corrupt(w, "text outside the root element");
		if (c == '&') {
			if ((r = entity(w)) != 0)
				return r;
			continue;
		}
		if ((r = dsb_buf_append(&w->text, &c, 1)) != 0)
			return r == DSB_ERR_LIMIT ? corrupt(w, "element text too long") : r;
		w->i++;
	}
	return 0;
}

static int cdata(struct xml_walker *w)
{
	size_t start;
	int r;

	if (w->depth == 0)
		return corrupt(w, "CDATA outside the root element");
	w->i += strlen("<![CDATA[");
	start = w->i;
	if ((r = skip_past(w, "]]>", "unterminated CDATA section")) != 0)
		return r;
	if (memchr(w->p + start, '\0', w->i - 3 - start) != NULL)
		return corrupt(w, "NUL byte");
	if ((r = dsb_buf_append(&w->text, w->p + start, w->i - 3 - start)) != 0)
		return r == DSB_ERR_LIMIT ? corrupt(w, "element text too long") : r;
	return 0;
}

/* open_element(w, name): push ${name} onto the path. */
static int open_element(struct xml_walker *w, const char *name)
{
	size_t len = strlen(w->path);

	if (w->root_done)
		return corrupt(w, "a second root element");
	if (w->depth >= S3_XML_MAX_DEPTH)
		return corrupt(w, "elements nested too deeply");
	w->pathlen[w->depth++] = len;
	w->path[len] = '/';
	memcpy(w->path + len + 1, name, strlen(name) + 1);
	dsb_buf_reset(&w->text);
	return 0;
}

/* close_element(w, name): report the element to the callback and pop it. */
static int close_element(struct xml_walker *w, const char *name)
{
	size_t above;
	int r;

	if (w->depth == 0)
		return corrupt(w, "end tag without a start tag");
	above = w->pathlen[w->depth - 1];
	if (strcmp(w->path + above + 1, name) != 0)
		return corrupt(w, "mismatched end tag");
	if ((r = dsb_buf_append(&w->text, "", 1)) != 0)
		return r == DSB_ERR_LIMIT ? corrupt(w, "element text too long") : r;
	if ((r = w->cb(w->arg, w->path, (const char *)w->text.data, w->text.len - 1)) != 0)
		return r;
	w->path[above] = '\0';
	if (--w->depth == 0)
		w->root_done = 1;
	dsb_buf_reset(&w->text);
	return 0;
}

/* skip_attributes(w, selfclosep): past the attributes and the closing '>' of a start tag. */
static int skip_attributes(struct xml_walker *w, int *selfclosep)
{
	char quote = 0;

	*selfclosep = 0;
	for (; w->i < w->n; w->i++) {
		char c = w->p[w->i];

		if (c == '\0')
			return corrupt(w, "NUL byte");
		if (quote != 0) {
			if (c == quote)
				quote = 0;
			else if (c == '<')
				return corrupt(w, "'<' in an attribute value");
			continue;
		}
		if (c == '"' || c == '\'') {
			quote = c;
		} else if (c == '<') {
			return corrupt(w, "'<' in a start tag");
		} else if (c == '>') {
			*selfclosep = w->i > 0 && w->p[w->i - 1] == '/';
			w->i++;
			return 0;
		}
	}
	return corrupt(w, "unterminated start tag");
}

static int start_tag(struct xml_walker *w)
{
	char name[S3_XML_MAX_NAME + 1];
	int selfclose, r;

	w->i++;
	if ((r = read_name(w, name)) != 0 || (r = skip_attributes(w, &selfclose)) != 0 ||
	    (r = open_element(w, name)) != 0)
		return r;
	return selfclose ? close_element(w, name) : 0;
}

static int end_tag(struct xml_walker *w)
{
	char name[S3_XML_MAX_NAME + 1];
	int r;

	w->i += 2;
	if ((r = read_name(w, name)) != 0)
		return r;
	while (w->i < w->n && is_space(w->p[w->i]))
		w->i++;
	if (w->i >= w->n || w->p[w->i] != '>')
		return corrupt(w, "malformed end tag");
	w->i++;
	return close_element(w, name);
}

/* markup(w): at '<': a tag, a comment, a processing instruction or CDATA. */
static int markup(struct xml_walker *w)
{
	if (starts_with(w, "<?"))
		return skip_past(w, "?>", "unterminated processing instruction");
	if (starts_with(w, "<!--"))
		return skip_past(w, "-->", "unterminated comment");
	if (starts_with(w, "<![CDATA["))
		return cdata(w);
	if (starts_with(w, "<!"))
		return corrupt(w, "DOCTYPE and declarations are not accepted");
	if (starts_with(w, "</"))
		return end_tag(w);
	return start_tag(w);
}

int s3_xml_walk(const char *p, size_t n, s3_xml_cb cb, void *arg)
{
	struct xml_walker w = { .p = p, .n = n, .cb = cb, .arg = arg };
	int r = 0;

	if (p == NULL)
		return dsb_error(DSB_ERR_CORRUPT, "empty XML document");
	dsb_buf_init(&w.text, S3_XML_MAX_TEXT + 1);
	if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		w.i = 3;  /* a byte order mark */
	while (w.i < w.n && r == 0)
		r = w.p[w.i] == '<' ? markup(&w) : text(&w);
	if (r == 0 && (w.depth != 0 || !w.root_done))
		r = corrupt(&w, w.root_done ? "unclosed element" : "no root element");
	dsb_buf_release(&w.text);
	return r;
}

/* ---- the documents ---- */

/* copy_printable(dst, size, s, len): ${s} cut to fit, controls and non-ASCII as '?'. */
static void copy_printable(char *dst, size_t size, const char *s, size_t len)
{
	size_t i;

	if (len >= size)
		len = size - 1;
	for (i = 0; i < len; i++)
		dst[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
	dst[len] = '\0';
}

struct error_doc {
	struct s3_xml_error *out;
	int is_error;
};

static int error_cb(void *arg, const char *path, const char *text, size_t len)
{
	struct error_doc *d = arg;

	if (strcmp(path, "/Error/Code") == 0)
		copy_printable(d->out->code, sizeof(d->out->code), text, len);
	else if (strcmp(path, "/Error/Message") == 0)
		copy_printable(d->out->message, sizeof(d->out->message), text, len);
	else if (strcmp(path, "/Error") == 0)
		d->is_error = 1;
	return 0;
}

int s3_xml_parse_error(const char *p, size_t n, struct s3_xml_error *out)
{
	struct error_doc d = { .out = out, .is_error = 0 };
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = s3_xml_walk(p, n, error_cb, &d)) != 0)
		return r;
	if (!d.is_error)
		return dsb_error(DSB_ERR_CORRUPT, "not an S3 <Error> document");
	return 0;
}

/* parse_u64(s, len, v): a decimal number without sign or spaces that fits in 64 bits. */
static int parse_u64(const char *s, size_t len, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (len == 0 || len > 20)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (x > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return 0;
}

struct list_doc {
	struct s3_list_page *page;
	char *key;            /* of the <Contents> being read */
	uint64_t size;
	int have_size;
	int is_list;
};

static int list_add(struct list_doc *d)
{
	struct s3_list_page *pg = d->page;

	if (d->key == NULL || !d->have_size)
		return dsb_error(DSB_ERR_CORRUPT, "listing: <Contents> without <Key> or <Size>");
	if (pg->count >= XML_MAX_LIST_ENTRIES)
		return dsb_error(DSB_ERR_CORRUPT, "listing: more than %d entries in one page",
		    XML_MAX_LIST_ENTRIES);
	if (DSB_GROW(pg->entries, pg->cap, pg->count, "a listing") != 0)
		return DSB_ERR_NOMEM;
	pg->entries[pg->count].key = d->key;
	pg->entries[pg->count].size = d->size;
	pg->count++;
	d->key = NULL;
	d->have_size = 0;
	return 0;
}

static int list_field(struct list_doc *d, const char *field, const char *text, size_t len)
{
	if (strcmp(field, "IsTruncated") == 0) {
		if (len == 4 && memcmp(text, "true", 4) == 0)
			d->page->truncated = 1;
		else if (len == 5 && memcmp(text, "false", 5) == 0)
			d->page->truncated = 0;
		else
			return dsb_error(DSB_ERR_CORRUPT, "listing: invalid <IsTruncated>");
	} else if (strcmp(field, "NextContinuationToken") == 0) {
		if (len == 0 || len > XML_MAX_TOKEN || d->page->next_token != NULL)
			return dsb_error(DSB_ERR_CORRUPT, "listing: invalid <NextContinuationToken>");
		if ((d->page->next_token = dsb_strdup(text)) == NULL)
			return DSB_ERR_NOMEM;
	}
	return 0;
}

static int list_cb(void *arg, const char *path, const char *text, size_t len)
{
	static const char root[] = "/ListBucketResult";
	struct list_doc *d = arg;

	if (strncmp(path, root, strlen(root)) != 0)
		return dsb_error(DSB_ERR_CORRUPT, "not an S3 <ListBucketResult> document");
	path += strlen(root);
	if (*path == '\0') {
		d->is_list = 1;
		return 0;
	}
	if (strcmp(path, "/Contents/Key") == 0) {
		if (d->key != NULL || len == 0)
			return dsb_error(DSB_ERR_CORRUPT, "listing: empty or repeated <Key>");
		return (d->key = dsb_strdup(text)) == NULL ? DSB_ERR_NOMEM : 0;
	}
	if (strcmp(path, "/Contents/Size") == 0) {
		if (parse_u64(text, len, &d->size) != 0)
			return dsb_error(DSB_ERR_CORRUPT, "listing: invalid <Size>");
		d->have_size = 1;
		return 0;
	}
	if (strcmp(path, "/Contents") == 0)
		return list_add(d);
	if (path[0] == '/' && strchr(path + 1, '/') == NULL)
		return list_field(d, path + 1, text, len);
	return 0;
}

int s3_xml_parse_list(const char *p, size_t n, struct s3_list_page *page)
{
	struct list_doc d = { .page = page };
	int r;

	s3_list_page_release(page);
	if ((r = s3_xml_walk(p, n, list_cb, &d)) == 0 && !d.is_list)
		r = dsb_error(DSB_ERR_CORRUPT, "not an S3 <ListBucketResult> document");
	if (r == 0 && page->truncated && page->next_token == NULL)
		r = dsb_error(DSB_ERR_CORRUPT, "listing: truncated without a continuation token");
	free(d.key);
	if (r != 0)
		s3_list_page_release(page);
	return r;
}

void s3_list_page_release(struct s3_list_page *page)
{
	size_t i;

	for (i = 0; i < page->count; i++)
		free(page->entries[i].key);
	free(page->entries);
	free(page->next_token);
	memset(page, 0, sizeof(*page));
}

struct upload_doc {
	char *out;
	size_t size;
	int found;
};

static int upload_cb(void *arg, const char *path, const char *text, size_t len)
{
	struct upload_doc *d = arg;

	if (strcmp(path, "/InitiateMultipartUploadResult/UploadId") != 0)
		return 0;
	if (len == 0 || len >= d->size || d->found)
		return dsb_error(DSB_ERR_CORRUPT, "invalid <UploadId>");
	memcpy(d->out, text, len + 1);
	d->found = 1;
	return 0;
}

int s3_xml_parse_upload_id(const char *p, size_t n, char *out, size_t size)
{
	struct upload_doc d = { .out = out, .size = size };
	int r;

	if (size == 0)
		return dsb_error(DSB_ERR_INTERNAL, "s3_xml_parse_upload_id: no room");
	out[0] = '\0';
	if ((r = s3_xml_walk(p, n, upload_cb, &d)) != 0)
		return r;
	return d.found ? 0 : dsb_error(DSB_ERR_CORRUPT, "no <UploadId> in the answer");
}

struct delete_doc {
	struct s3_delete_result *out;
	int is_delete;
	s3_delete_error_cb cb;
	void *arg;
	char key[1025];              /* of the <Error> being read */
	struct s3_xml_error error;
};

/* delete_error_done(d): an <Error> closed: keep the first, report each. */
static int delete_error_done(struct delete_doc *d)
{
	struct s3_delete_result *o = d->out;
	int r = 0;

	if (o->errors++ == 0) {
		memcpy(o->key, d->key, sizeof(o->key));
		o->error = d->error;
	}
	if (d->cb != NULL)
		r = d->cb(d->arg, d->key, &d->error);
	memset(d->key, 0, sizeof(d->key));
	memset(&d->error, 0, sizeof(d->error));
	return r;
}

static int delete_cb(void *arg, const char *path, const char *text, size_t len)
{
	struct delete_doc *d = arg;

	if (strcmp(path, "/DeleteResult") == 0)
		d->is_delete = 1;
	else if (strcmp(path, "/DeleteResult/Deleted") == 0)
		d->out->deleted++;
	else if (strcmp(path, "/DeleteResult/Error") == 0)
		return delete_error_done(d);
	else if (strcmp(path, "/DeleteResult/Error/Key") == 0)
		copy_printable(d->key, sizeof(d->key), text, len);
	else if (strcmp(path, "/DeleteResult/Error/Code") == 0)
		copy_printable(d->error.code, sizeof(d->error.code), text, len);
	else if (strcmp(path, "/DeleteResult/Error/Message") == 0)
		copy_printable(d->error.message, sizeof(d->error.message), text, len);
	return 0;
}

int s3_xml_parse_delete(const char *p, size_t n, struct s3_delete_result *out,
    s3_delete_error_cb cb, void *arg)
{
	struct delete_doc d;
	int r;

	memset(&d, 0, sizeof(d));
	d.out = out;
	d.cb = cb;
	d.arg = arg;
	memset(out, 0, sizeof(*out));
	if ((r = s3_xml_walk(p, n, delete_cb, &d)) != 0)
		return r;
	return d.is_delete ? 0 : dsb_error(DSB_ERR_CORRUPT, "not an S3 <DeleteResult> document");
}
