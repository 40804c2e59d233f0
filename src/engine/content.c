/*
 * content.c: what restore and dump share when they write files out: a
 * file's content read back blob by blob, each authenticated and its id
 * checked, the whole compared with the recorded size and SHA-256; and the
 * hard-link groups of a snapshot.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "dsbackup/error.h"
#include "dsbackup/util.h"
#include "engine_internal.h"

static int blob_ref(struct dsb_session *s, const uint8_t id[32], struct dsb_blob_ref *ref)
{
	char hex[65];
	int r;

	if ((r = dsb_session_blob_ref(s, id, ref)) == DSB_ERR_NOT_FOUND) {
		dsb_hex_encode(id, 32, hex);
		return dsb_error(r, "blob %.16s is not in the index", hex);
	}
	return r;
}

int dsb_node_check_size(struct dsb_session *s, const struct dsb_node *n)
{
	struct dsb_blob_ref ref;
	uint64_t total = 0;
	size_t i;
	int r;

	for (i = 0; i < n->ncontent; i++) {
		if ((r = blob_ref(s, n->content[i], &ref)) != 0)
			return r;
		total += ref.entry.raw_len;
	}
	if (total != n->size)
		return dsb_error(DSB_ERR_CORRUPT, "recorded size %llu does not match its content of %llu "
		    "bytes (refused)", (unsigned long long)n->size, (unsigned long long)total);
	return 0;
}

int dsb_node_read_content(struct dsb_session *s, struct dsb_blob_opener *opener,
    const struct dsb_node *n, struct dsb_buf *scratch, struct dsb_buf *data,
    int (*sink)(void *arg, const void *p, size_t len, uint64_t off), void *arg)
{
	struct dsb_blob_ref ref;
	struct dsb_sha256 *sha;
	uint8_t hash[32];
	uint64_t off = 0;
	size_t i;
	int r = 0;

	if ((sha = dsb_sha256_new()) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	for (i = 0; i < n->ncontent; i++) {
		/* the backend's message names the pack (missing, short, damaged) */
		if ((r = blob_ref(s, n->content[i], &ref)) != 0 ||
		    (r = dsb_repo_read_blob(s->repo, opener, &ref, scratch, data)) != 0)
			goto out;
		dsb_sha256_update(sha, data->data, data->len);
		if ((r = sink(arg, data->data, data->len, off)) != 0)
			goto out;
		off += data->len;
	}
	dsb_sha256_final(sha, hash);
	if (off != n->size || !n->has_hash || CRYPTO_memcmp(hash, n->hash, 32) != 0)
		r = dsb_error(DSB_ERR_AUTH, "content does not match the recorded SHA-256 (damaged)");
out:
	dsb_sha256_free(sha);
	return r;
}

/* ---- hard links ---- */

struct dsb_link {
	uint64_t dev, inode, size;
	uint8_t hash[32];
	char *path;
};

const char *dsb_links_find(const struct dsb_links *l, const struct dsb_node *n)
{
	size_t i;

	/* a link only to a file of the same recorded content: a tree cannot make one file restore another's */
	for (i = 0; n->nlink > 1 && n->has_hash && i < l->n; i++)
		if (l->v[i].dev == n->dev && l->v[i].inode == n->inode && l->v[i].size == n->size &&
		    memcmp(l->v[i].hash, n->hash, 32) == 0)
			return l->v[i].path;
	return NULL;
}

int dsb_links_add(struct dsb_links *l, const struct dsb_node *n, const char *path)
{
	if (n->nlink <= 1 || !n->has_hash)
		return 0;
	if (DSB_GROW(l->v, l->cap, l->n, "the list of hard links") != 0)
		return DSB_ERR_NOMEM;
	if ((l->v[l->n].path = dsb_strdup(path)) == NULL)
		return DSB_ERR_NOMEM;
	l->v[l->n].dev = n->dev;
	l->v[l->n].inode = n->inode;
	l->v[l->n].size = n->size;
	memcpy(l->v[l->n].hash, n->hash, 32);
	l->n++;
	return 0;
}

void dsb_links_release(struct dsb_links *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	memset(l, 0, sizeof(*l));
}
