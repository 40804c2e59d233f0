/*
 * s3_delete.c: many objects at once, for prune: DeleteObjects (POST
 * ?delete) with up to s3->delete_batch keys per request, in Quiet mode, so
 * that the answer lists only the keys that were not deleted.
 *
 * In a versioned bucket (object lock needs one) a delete without a version
 * id only hides the object behind a delete marker, and object lock cannot
 * refuse it; so there, as in remove(), each object is looked up first and
 * its version deleted.  Whether the bucket is versioned is asked once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsbackup/backend.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "s3_internal.h"

#define S3_DELETE_ANSWER_MAX ((size_t)4 << 20)  /* a DeleteResult: errors only, in Quiet mode */

/* One object of the batch being deleted. */
struct del_entry {
	size_t index;             /* in the caller's names[] */
	char *key;
	char version_id[256];     /* "" outside a versioned bucket */
	char lock_mode[32];       /* from the HEAD, for the message */
	char retain_until[64];
	int failed;
};

/* The batch being deleted, and the first failure of the whole call. */
struct del_batch {
	struct s3 *s3;
	struct del_entry *e;
	size_t n;
	int versioned;
	int first_error;          /* the first failure's code, 0 if none */
	char *first_msg;          /* and its message */
};

/* ---- is the bucket versioned ---- */

static int versioning_cb(void *arg, const char *path, const char *text, size_t len)
{
	(void)len;
	if (strcmp(path, "/VersioningConfiguration/Status") == 0)
		*(int *)arg = strcmp(text, "Enabled") == 0 || strcmp(text, "Suspended") == 0;
	return 0;
}

/* bucket_versioned(s3, versioned): GET ?versioning, once per opened repository. */
static int bucket_versioned(struct s3 *s3, int *versioned)
{
	struct s3_req req = { .method = "GET", .key = NULL };
	struct s3_resp resp;
	struct dsb_buf b;
	int r, on = 0, known = __atomic_load_n(&s3->versioning, __ATOMIC_ACQUIRE);

	if (known != 0) {
		*versioned = known == 2;
		return 0;
	}
	dsb_buf_init(&b, S3_DELETE_ANSWER_MAX);
	req.out = &b;
	if ((r = s3_req_query(&req, "versioning", "")) != 0 || (r = s3_http_do(s3, &req, &resp)) != 0)
		goto out;
	if (resp.status != 200) {
		r = s3_http_error(s3, &req, &resp);
		goto out;
	}
	if ((r = s3_xml_walk((const char *)b.data, b.len, versioning_cb, &on)) != 0) {
		r = dsb_error_wrap(r, "s3 GET %s?versioning: unreadable answer", s3->bucket);
		goto out;
	}
	__atomic_store_n(&s3->versioning, on ? 2 : 1, __ATOMIC_RELEASE);
	*versioned = on;
out:
	dsb_buf_release(&b);
	return r;
}

/* ---- one batch ---- */

/* note_first(b, code, msg): keep the first failure's code and message. */
static void note_first(struct del_batch *b, int code, const char *msg)
{
	if (b->first_error != 0)
		return;
	b->first_error = code;
	b->first_msg = dsb_strdup(msg);
}

/* fail_entry(b, e, code, what): record the failure of one object, logged with its key. */
static void fail_entry(struct del_batch *b, struct del_entry *e, int code, const char *what)
{
	char msg[1536];

	e->failed = 1;
	snprintf(msg, sizeof(msg), "could not delete %s/%s: %s", b->s3->bucket, e->key, what);
	dsb_warn("s3: %s", msg);
	note_first(b, code, msg);
}

/* look_up(b, e, gone): in a versioned bucket, the version to delete; a missing object is gone. */
static int look_up(struct del_batch *b, struct del_entry *e, int *gone)
{
	struct s3_req req = { .method = "HEAD" };
	struct s3_resp h;
	int r;

	*gone = 0;
	if ((r = s3_head(b->s3, e->key, &h)) == 0 && h.status == 404) {
		*gone = 1;
		return 0;
	}
	if (r == 0 && h.status != 200) {
		req.key = e->key;
		r = s3_http_error(b->s3, &req, &h);
	}
	if (r != 0) {
		char what[1024];

		snprintf(what, sizeof(what), "%s", dsb_errmsg());
		fail_entry(b, e, r, what);
		return r == DSB_ERR_NOMEM ? r : 0;
	}
	if (strcmp(h.version_id, "null") != 0)
		memcpy(e->version_id, h.version_id, sizeof(e->version_id));
	memcpy(e->lock_mode, h.lock_mode, sizeof(e->lock_mode));
	memcpy(e->retain_until, h.retain_until, sizeof(e->retain_until));
	return 0;
}

/* append_escaped(x, s): ${s} as XML character data. */
static int append_escaped(struct dsb_buf *x, const char *s)
{
	const char *p, *rep;
	int r;

	for (p = s; *p != '\0'; p++) {
		switch (*p) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		default: rep = NULL;
		}
		if ((r = rep != NULL ? dsb_buf_append(x, rep, strlen(rep)) : dsb_buf_append(x, p, 1)) != 0)
			return r;
	}
	return 0;
}

/* delete_body(b, x): the <Delete> document of the entries not failed yet; their count. */
static int delete_body(const struct del_batch *b, struct dsb_buf *x, size_t *count)
{
	static const char head[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>";
	size_t i;
	int r;

	*count = 0;
	if ((r = dsb_buf_append(x, head, sizeof(head) - 1)) != 0)
		return r;
	for (i = 0; i < b->n; i++) {
		const struct del_entry *e = &b->e[i];

		if (e->failed)
			continue;
		(*count)++;
		if ((r = dsb_buf_append(x, "<Object><Key>", 13)) != 0 || (r = append_escaped(x, e->key)) != 0 ||
		    (r = dsb_buf_append(x, "</Key>", 6)) != 0)
			return r;
		if (e->version_id[0] != '\0' && ((r = dsb_buf_append(x, "<VersionId>", 11)) != 0 ||
		    (r = append_escaped(x, e->version_id)) != 0 ||
		    (r = dsb_buf_append(x, "</VersionId>", 12)) != 0))
			return r;
		if ((r = dsb_buf_append(x, "</Object>", 9)) != 0)
			return r;
	}
	return dsb_buf_append(x, "</Delete>", 9);
}

/* key_error(arg, key, error): one <Error> of the answer: mark that entry failed. */
static int key_error(void *arg, const char *key, const struct s3_xml_error *err)
{
	struct del_batch *b = arg;
	char detail[600], what[768];
	size_t i;

	for (i = 0; i < b->n; i++) {
		struct del_entry *e = &b->e[i];

		if (e->failed || strcmp(e->key, key) != 0)
			continue;
		/* radosgw repeats the code as the message */
		snprintf(detail, sizeof(detail), "%s%s%s", err->code[0] ? err->code : "error",
		    err->message[0] && strcmp(err->message, err->code) != 0 ? ": " : "",
		    strcmp(err->message, err->code) != 0 ? err->message : "");
		if (e->retain_until[0] != '\0')
			snprintf(what, sizeof(what), "it is under object lock%s%s%s until %s (%s)",
			    e->lock_mode[0] ? " (" : "", e->lock_mode, e->lock_mode[0] ? ")" : "",
			    e->retain_until, detail);
		else
			snprintf(what, sizeof(what), "%s", detail);
		fail_entry(b, e, DSB_ERR_BACKEND, what);
		return 0;
	}
	dsb_warn("s3 DeleteObjects on %s: an error for the key \"%.200s\", which was not asked for: %s",
	    b->s3->bucket, key, err->code);
	return 0;
}

/* post_delete(b): one DeleteObjects request for the entries not failed yet. */
static int post_delete(struct del_batch *b)
{
	struct s3_req req = { .method = "POST", .key = NULL };
	struct s3_resp resp;
	struct s3_delete_result res;
	struct dsb_buf x, ans;
	char md5[32];
	size_t i, count;
	int r;

	dsb_buf_init(&x, 0);
	dsb_buf_init(&ans, S3_DELETE_ANSWER_MAX);
	req.out = &ans;
	if ((r = delete_body(b, &x, &count)) != 0 || count == 0)
		goto out;
	req.body = x.data;
	req.body_len = x.len;
	if ((r = s3_req_query(&req, "delete", "")) != 0 ||
	    (r = s3_content_md5(x.data, x.len, md5, sizeof(md5))) != 0 ||
	    (r = s3_req_header(&req, "Content-MD5", md5)) != 0 ||
	    (r = s3_req_header(&req, "Content-Type", "application/xml")) != 0)
		goto out;
	if ((r = s3_http_do(b->s3, &req, &resp)) != 0 ||
	    (resp.status != 200 && (r = s3_http_error(b->s3, &req, &resp)) != 0))
		goto whole;
	if ((r = s3_xml_parse_delete((const char *)ans.data, ans.len, &res, key_error, b)) != 0) {
		r = dsb_error_wrap(r, "s3 DeleteObjects on %s: unreadable answer", b->s3->bucket);
		goto whole;
	}
	dsb_debug("s3: DeleteObjects of %zu key(s) in %s: %zu refused", count, b->s3->bucket,
	    res.errors);
	goto out;
whole:
	/* no answer per key: none of this request counts as deleted */
	for (i = 0; i < b->n; i++)
		b->e[i].failed = 1;
	dsb_error_wrap(r, "s3 DeleteObjects of %zu key(s) in %s", count, b->s3->bucket);
	dsb_warn("%s", dsb_errmsg());
	note_first(b, r, dsb_errmsg());
	r = r == DSB_ERR_NOMEM ? r : 0;
out:
	dsb_buf_release(&x);
	dsb_buf_release(&ans);
	return r;
}

/* delete_batch(b, names, from, n, gone): objects ${from}..${from}+${n} of ${names}. */
static int delete_batch(struct del_batch *b, const char *const *names, size_t from, size_t n,
    unsigned char *gone)
{
	size_t i;
	int r = 0, missing = 0;

	b->n = 0;
	if ((b->e = calloc(n, sizeof(*b->e))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		struct del_entry *e = &b->e[b->n];

		e->index = from + i;
		if ((e->key = dsb_asprintf("%s%s", b->s3->prefix, names[from + i])) == NULL) {
			r = DSB_ERR_NOMEM;
			goto out;
		}
		b->n++;
		if (b->versioned && (r = look_up(b, e, &missing)) != 0)
			goto out;
		if (missing) {
			gone[e->index] = 1;
			free(e->key);
			e->key = NULL;
			b->n--;
		}
	}
	if ((r = post_delete(b)) != 0)
		goto out;
	for (i = 0; i < b->n; i++)
		gone[b->e[i].index] = !b->e[i].failed;
out:
	for (i = 0; i < b->n; i++)
		free(b->e[i].key);
	free(b->e);
	b->e = NULL;
	b->n = 0;
	return r;
}

int s3_remove_many(void *state, const char *const *names, size_t n, unsigned char *gone)
{
	struct del_batch b = { .s3 = state };
	size_t i, k;
	int r;

	memset(gone, 0, n);
	for (i = 0; i < n; i++) {
		if ((r = dsb_backend_check_name(names[i], 0)) != 0)
			return r;
	}
	if ((r = bucket_versioned(b.s3, &b.versioned)) != 0)
		return r;
	for (i = 0; i < n; i += k) {
		k = n - i < (size_t)b.s3->delete_batch ? n - i : (size_t)b.s3->delete_batch;
		if ((r = delete_batch(&b, names, i, k, gone)) != 0)
			goto out;
	}
	if (b.first_error != 0)
		r = b.first_msg != NULL ? dsb_error(b.first_error, "%s", b.first_msg) : b.first_error;
out:
	free(b.first_msg);
	return r;
}
