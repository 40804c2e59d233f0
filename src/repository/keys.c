/*
 * keys.c: a repository's key slots (docs/FORMAT.md §4): opening with a
 * passphrase, identities or escrow shares; listing, adding and removing
 * slots.  Key bytes stay in the crypto module: this file moves slots.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "repo_internal.h"

#define KEYSLOT_MAX (64 * 1024)
#define MAX_SHARES 255

const char *dsb_repo_opened_slot(const struct dsb_repo *r)
{
	return r->opened_slot;
}

int dsb_repo_put_slot(struct dsb_repo *r, const void *slot, size_t len, char id_out[65])
{
	uint8_t digest[DSB_HASH_LEN];
	char name[80];

	dsb_sha256(slot, len, digest);
	dsb_hex_encode(digest, sizeof(digest), id_out);
	snprintf(name, sizeof(name), "keys/%s", id_out);
	return dsb_backend_put(r->be, name, slot, len, DSB_PUT_NO_OVERWRITE);
}

int dsb_repo_add_passphrase_slot(struct dsb_repo *r, const char *pass, size_t passlen,
    const struct dsb_kdf_params *kdf)
{
	char host[256], user[256], id[65];
	struct dsb_buf slot;
	int rc;

	dsb_buf_init(&slot, KEYSLOT_MAX);
	dsb_repo_who(host, sizeof(host), user, sizeof(user));
	if ((rc = dsb_keyslot_create(r->keys, pass, passlen, kdf, host, user, &slot)) == 0)
		rc = dsb_repo_put_slot(r, slot.data, slot.len, id);
	dsb_buf_release(&slot);
	return rc;
}

int dsb_repo_add_recipient_slot(struct dsb_repo *r, const char *recipient, char id_out[65])
{
	char host[256], user[256];
	struct dsb_buf slot;
	int rc;

	dsb_buf_init(&slot, KEYSLOT_MAX);
	dsb_repo_who(host, sizeof(host), user, sizeof(user));
	if ((rc = dsb_keyslot_create_recipient(r->keys, recipient, host, user, &slot)) == 0)
		rc = dsb_repo_put_slot(r, slot.data, slot.len, id_out);
	dsb_buf_release(&slot);
	return rc;
}

int dsb_repo_add_escrow(struct dsb_repo *r, unsigned threshold, const char *const *recipients,
    size_t n)
{
	char host[256], user[256], id[65];
	struct dsb_buf *slots;
	size_t i;
	int rc;

	if (n == 0 || n > MAX_SHARES)
		return dsb_error(DSB_ERR_USAGE, "escrow needs 1 to %d recipients", MAX_SHARES);
	if ((slots = calloc(n, sizeof(*slots))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++)
		dsb_buf_init(&slots[i], KEYSLOT_MAX);
	dsb_repo_who(host, sizeof(host), user, sizeof(user));
	rc = dsb_escrow_split(r->keys, threshold, recipients, n, host, user, slots);
	for (i = 0; rc == 0 && i < n; i++)
		rc = dsb_repo_put_slot(r, slots[i].data, slots[i].len, id);
	for (i = 0; i < n; i++)
		dsb_buf_release(&slots[i]);
	free(slots);
	return rc;
}

/* ---- walking the slots ---- */

struct slot_walk {
	struct dsb_repo *repo;
	int (*fn)(struct slot_walk *w, const char *id, const struct dsb_buf *slot,
	    const struct dsb_keyslot_info *info);
	/* unlocking */
	const struct dsb_unlock *u;
	struct dsb_share *found[MAX_SHARES];
	size_t nfound;
	int tried;
	/* listing */
	int (*cb)(void *arg, const char *id, const struct dsb_keyslot_info *info);
	void *arg;
};

static int walk_one(void *arg, const char *id, uint64_t size)
{
	struct slot_walk *w = arg;
	struct dsb_keyslot_info info;
	struct dsb_buf b;
	char name[80];
	int rc;

	if (size > KEYSLOT_MAX) {
		dsb_warn("ignoring key slot %s: %llu bytes is too large", id, (unsigned long long)size);
		return 0;
	}
	dsb_buf_init(&b, KEYSLOT_MAX);
	snprintf(name, sizeof(name), "keys/%s", id);
	if ((rc = dsb_backend_get(w->repo->be, name, 0, 0, &b)) != 0)
		goto out;
	rc = dsb_keyslot_info_any(b.data, b.len, &info);
	if (rc == DSB_ERR_UNSUPPORTED || rc == DSB_ERR_CORRUPT) {
		dsb_warn("ignoring key slot %.16s: %s", id, dsb_errmsg());
		rc = 0;
		goto out;
	}
	if (rc == 0)
		rc = w->fn(w, id, &b, &info);
out:
	dsb_buf_release(&b);
	return rc;
}

static int walk(struct slot_walk *w)
{
	return dsb_repo_list(w->repo, "keys", walk_one, w);
}

/* try one slot with what the caller offers; 1 when it opened the repository */
static int try_slot(struct slot_walk *w, const char *id, const struct dsb_buf *b,
    const struct dsb_keyslot_info *info)
{
	const struct dsb_unlock *u = w->u;
	size_t i;
	int rc = DSB_ERR_BAD_KEY;

	if (strcmp(info->type, "passphrase") == 0 && u->pass != NULL) {
		w->tried++;
		rc = dsb_keyslot_open(b->data, b->len, u->pass, u->passlen, &w->repo->keys);
	} else if (strcmp(info->type, "x25519") == 0) {
		for (i = 0; i < u->nids && rc == DSB_ERR_BAD_KEY; i++, w->tried++)
			rc = dsb_keyslot_open_identity(b->data, b->len, u->ids[i], &w->repo->keys);
	} else if (strcmp(info->type, "escrow-share") == 0) {
		for (i = 0; i < u->nids && rc == DSB_ERR_BAD_KEY && w->nfound < MAX_SHARES; i++) {
			w->tried++;
			rc = dsb_escrow_share_open(b->data, b->len, u->ids[i], &w->found[w->nfound]);
			if (rc == 0) {
				w->nfound++;
				return 0;   /* a share alone opens nothing */
			}
		}
	}
	if (rc == 0) {
		snprintf(w->repo->opened_slot, sizeof(w->repo->opened_slot), "%s", id);
		return 1;
	}
	if (rc == DSB_ERR_BAD_KEY || rc == DSB_ERR_UNSUPPORTED) {
		dsb_error_clear();
		return 0;
	}
	return rc;
}

int dsb_repo_unlock(struct dsb_repo *r, const struct dsb_unlock *u)
{
	struct dsb_share *all[2 * MAX_SHARES];
	struct slot_walk w;
	size_t i, n = 0;
	int rc;

	memset(&w, 0, sizeof(w));
	w.repo = r;
	w.fn = try_slot;
	w.u = u;
	rc = walk(&w);
	if (rc == 1) {
		rc = 0;
		goto out;
	}
	if (rc != 0)
		goto out;
	for (i = 0; i < w.nfound; i++)
		all[n++] = w.found[i];
	for (i = 0; i < u->nshares && n < 2 * MAX_SHARES; i++)
		all[n++] = u->shares[i];
	if (n > 0) {
		rc = dsb_escrow_combine(all, n, &r->keys);
		goto out;
	}
	if (w.tried == 0)
		rc = dsb_error(DSB_ERR_BAD_KEY, "no key slot of %s can be opened with what was given "
		    "(a password, --identity or --share)", r->be->url);
	else if (u->pass != NULL && u->nids == 0)
		rc = dsb_error(DSB_ERR_BAD_KEY, "wrong password for %s", r->be->url);
	else
		rc = dsb_error(DSB_ERR_BAD_KEY, "none of the %d key slot(s) tried opens %s with the "
		    "password or identities given", w.tried, r->be->url);
out:
	for (i = 0; i < w.nfound; i++)
		dsb_share_free(w.found[i]);
	return rc;
}

static int list_fn(struct slot_walk *w, const char *id, const struct dsb_buf *b,
    const struct dsb_keyslot_info *info)
{
	(void)b;
	return w->cb(w->arg, id, info);
}

int dsb_repo_list_slots(struct dsb_repo *r,
    int (*cb)(void *arg, const char *id, const struct dsb_keyslot_info *info), void *arg)
{
	struct slot_walk w;

	memset(&w, 0, sizeof(w));
	w.repo = r;
	w.fn = list_fn;
	w.cb = cb;
	w.arg = arg;
	return walk(&w);
}

/* ---- removing: never the last way in ---- */

struct removal {
	const char *prefix;
	char victim[65];
	struct dsb_keyslot_info vinfo;
	int matches;
	int readable;               /* passphrase and x25519 slots other than the victim */
	struct { char set[33]; unsigned threshold, count; } sets[64];
	size_t nsets;
};

static int consider(void *arg, const char *id, const struct dsb_keyslot_info *info)
{
	struct removal *m = arg;
	size_t i;

	if (strncmp(id, m->prefix, strlen(m->prefix)) == 0) {
		m->matches++;
		snprintf(m->victim, sizeof(m->victim), "%s", id);
		m->vinfo = *info;
		return 0;
	}
	if (strcmp(info->type, "passphrase") == 0 || strcmp(info->type, "x25519") == 0) {
		m->readable++;
		return 0;
	}
	for (i = 0; i < m->nsets && strcmp(m->sets[i].set, info->set) != 0; i++)
		;
	if (i == m->nsets && m->nsets < 64) {
		memcpy(m->sets[i].set, info->set, sizeof(info->set));
		m->sets[i].threshold = info->threshold;
		m->sets[i].count = 0;
		m->nsets++;
	}
	if (i < m->nsets)
		m->sets[i].count++;
	return 0;
}

int dsb_repo_remove_slot(struct dsb_repo *r, const char *prefix)
{
	struct removal m;
	char name[80];
	size_t i;
	int rc, complete_sets = 0;

	if (strlen(prefix) < 8)
		return dsb_error(DSB_ERR_USAGE, "key slot id \"%s\": give at least 8 hex digits", prefix);
	memset(&m, 0, sizeof(m));
	m.prefix = prefix;
	if ((rc = dsb_repo_list_slots(r, consider, &m)) != 0)
		return rc;
	if (m.matches == 0)
		return dsb_error(DSB_ERR_NOT_FOUND, "no key slot %s", prefix);
	if (m.matches > 1)
		return dsb_error(DSB_ERR_USAGE, "key slot id %s is ambiguous", prefix);
	for (i = 0; i < m.nsets; i++)
		complete_sets += m.sets[i].count >= m.sets[i].threshold;
	if (m.readable == 0 && complete_sets == 0)
		return dsb_error(DSB_ERR_USAGE, "refusing to remove key slot %.16s: it is the last one "
		    "that can open the repository; add another first (dsbackup key add)", m.victim);
	snprintf(name, sizeof(name), "keys/%s", m.victim);
	return dsb_backend_remove(r->be, name);
}

struct share_find {
	const struct dsb_identity *id;
	struct dsb_share *share;
};

static int find_share(struct slot_walk *w, const char *id, const struct dsb_buf *b,
    const struct dsb_keyslot_info *info)
{
	struct share_find *f = w->arg;
	int rc;

	(void)id;
	if (strcmp(info->type, "escrow-share") != 0)
		return 0;
	rc = dsb_escrow_share_open(b->data, b->len, f->id, &f->share);
	if (rc == 0)
		return 1;
	if (rc == DSB_ERR_BAD_KEY) {
		dsb_error_clear();
		return 0;
	}
	return rc;
}

int dsb_repo_share_for(struct dsb_repo *r, const struct dsb_identity *id, struct dsb_share **out)
{
	struct share_find f = { id, NULL };
	struct slot_walk w;
	int rc;

	memset(&w, 0, sizeof(w));
	w.repo = r;
	w.fn = find_share;
	w.arg = &f;
	rc = walk(&w);
	if (rc == 1) {
		*out = f.share;
		return 0;
	}
	return rc != 0 ? rc : dsb_error(DSB_ERR_NOT_FOUND, "no escrow share in %s is wrapped to this "
	    "identity", r->be->url);
}
