/*
 * keys.c: a repository's key slots (docs/FORMAT.md §4): opening with a
 * passphrase, identities or escrow shares; listing, adding and removing
 * slots.  Key bytes stay in the crypto module: this file moves slots.
 */
#include <pthread.h>
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

static int put_passphrase_slot(struct dsb_repo *r, const char *pass, size_t passlen,
    const struct dsb_kdf_params *kdf, char id[65])
{
	char host[256], user[256];
	struct dsb_buf slot;
	int rc;

	if (dsb_keys_write_only(r->keys))
		return dsb_error(DSB_ERR_USAGE, "%s", DSB_WRITE_ONLY_MSG);
	dsb_buf_init(&slot, KEYSLOT_MAX);
	dsb_repo_who(host, sizeof(host), user, sizeof(user));
	if ((rc = dsb_keyslot_create(r->keys, pass, passlen, kdf, host, user, &slot)) == 0)
		rc = dsb_repo_put_slot(r, slot.data, slot.len, id);
	dsb_buf_release(&slot);
	return rc;
}

int dsb_repo_add_passphrase_slot(struct dsb_repo *r, const char *pass, size_t passlen,
    const struct dsb_kdf_params *kdf)
{
	char id[65];

	return put_passphrase_slot(r, pass, passlen, kdf, id);
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
	int damaged;                   /* slots ignored as damaged (not those of unknown types) */
	char damaged_why[300];         /* the first one: "keys/ID...: reason" */
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
		if (rc == DSB_ERR_CORRUPT && w->damaged++ == 0)
			snprintf(w->damaged_why, sizeof(w->damaged_why), "keys/%.16s...: %s", id,
			    dsb_errmsg());
		dsb_error_clear();
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

	if ((strcmp(info->type, "passphrase") == 0 || strcmp(info->type, "write-only") == 0) &&
	    u->pass != NULL) {
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

/* ---- keyrings and run keys (FORMAT.md §2, §4) ---- */

struct ring_slots {
	struct dsb_buf *v;
	size_t n, cap;
};

static int collect_ring_slot(struct slot_walk *w, const char *id, const struct dsb_buf *b,
    const struct dsb_keyslot_info *info)
{
	struct ring_slots *l = w->arg;
	int rc;

	(void)id;
	if (strcmp(info->type, "keyring") != 0 && strcmp(info->type, "run-key") != 0)
		return 0;
	if ((rc = DSB_GROW(l->v, l->cap, l->n, "the list of key slots")) != 0)
		return rc;
	dsb_buf_init(&l->v[l->n], KEYSLOT_MAX);
	if (dsb_buf_append(&l->v[l->n], b->data, b->len) != 0)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	l->n++;
	return 0;
}

/*
 * ring_try(r, u, b): open a keyring or run-key slot with the keys so far
 * (run keys: with the repository's private key or an identity of ${u});
 * 1 when it taught us something
 */
static int ring_try(struct dsb_repo *r, const struct dsb_unlock *u, const struct dsb_buf *b)
{
	size_t i;
	int rc = dsb_keyring_open(r->keys, b->data, b->len);

	if (rc == DSB_ERR_UNSUPPORTED) {
		dsb_error_clear();
		rc = dsb_runkey_open(r->keys, b->data, b->len);
		for (i = 0; rc == DSB_ERR_BAD_KEY && i < u->nids; i++) {
			dsb_error_clear();
			rc = dsb_runkey_open_identity(r->keys, b->data, b->len, u->ids[i]);
		}
	}
	if (rc == DSB_ERR_BAD_KEY) {
		dsb_error_clear();
		return 0;
	}
	if (rc == DSB_ERR_CORRUPT) {
		dsb_warn("ignoring a damaged keyring or run-key slot: %s", dsb_errmsg());
		return 0;
	}
	return rc;
}

/* note_escrow(r, l): remember the run keys left unopened that are wrapped to escrow recipients */
static int note_escrow(struct dsb_repo *r, const struct ring_slots *l)
{
	size_t i;
	int rc;

	for (i = 0; i < l->n; i++) {
		rc = dsb_runkey_note_escrow(r->keys, l->v[i].data, l->v[i].len);
		if (rc == DSB_ERR_UNSUPPORTED || rc == DSB_ERR_CORRUPT)
			dsb_error_clear();
		else if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * load_keyring(r, u): after a slot opened, learn every data key reachable
 * from the one it held: keyring slots sealed under a key we hold, until
 * nothing new is learned, and run keys with the repository's private key
 * or the identities of ${u}; then note the escrowed run keys left.
 */
static int load_keyring(struct dsb_repo *r, const struct dsb_unlock *u)
{
	struct ring_slots l = { NULL, 0, 0 };
	struct slot_walk w;
	size_t i, pass;
	int rc, learned = 1;

	if (dsb_keys_write_only(r->keys))
		return 0;
	memset(&w, 0, sizeof(w));
	w.repo = r;
	w.fn = collect_ring_slot;
	w.arg = &l;
	if ((rc = walk(&w)) != 0)
		goto out;
	for (pass = 0; learned && pass <= l.n; pass++) {
		learned = 0;
		for (i = 0; i < l.n; i++) {
			if ((rc = ring_try(r, u, &l.v[i])) < 0)
				goto out;
			learned |= rc;
		}
	}
	rc = note_escrow(r, &l);
out:
	for (i = 0; i < l.n; i++)
		dsb_buf_release(&l.v[i]);
	free(l.v);
	return rc;
}

/* put_escrow_run_keys(r, k): the data key of ${k} in a run-key slot for each escrow recipient */
static int put_escrow_run_keys(struct dsb_repo *r, const struct dsb_keys *k)
{
	char host[256], user[256], id[65];
	struct dsb_buf slot;
	size_t i;
	int rc = 0;

	dsb_buf_init(&slot, KEYSLOT_MAX);
	dsb_repo_who(host, sizeof(host), user, sizeof(user));
	for (i = 0; rc == 0 && i < r->nescrow; i++)
		if ((rc = dsb_runkey_create_to(k, r->escrow[i], host, user, &slot)) == 0)
			rc = dsb_repo_put_slot(r, slot.data, slot.len, id);
	dsb_buf_release(&slot);
	return rc;
}

int dsb_repo_store_run_key(struct dsb_repo *r)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	char host[256], user[256], id[65];
	struct dsb_buf slot;
	int rc = 0;

	if (!dsb_keys_write_only(r->keys))
		return 0;
	pthread_mutex_lock(&mu);
	if (!r->run_key_stored) {
		dsb_buf_init(&slot, KEYSLOT_MAX);
		dsb_repo_who(host, sizeof(host), user, sizeof(user));
		if ((rc = dsb_runkey_create(r->keys, host, user, &slot)) == 0 &&
		    (rc = dsb_repo_put_slot(r, slot.data, slot.len, id)) == 0 &&
		    (rc = put_escrow_run_keys(r, r->keys)) == 0)
			r->run_key_stored = 1;
		dsb_buf_release(&slot);
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

/* ---- escrow (FORMAT.md §4, "Escrowed sources") ---- */

void dsb_repo_escrow_release(struct dsb_repo *r)
{
	dsb_repo_escrow_end(r);
	free(r->escrow);
	r->escrow = NULL;
	r->nescrow = 0;
}

int dsb_repo_set_escrow(struct dsb_repo *r, const char *const *recipients, size_t n)
{
	char (*v)[DSB_RECIPIENT_LEN] = NULL;
	size_t i;
	int rc;

	if (n > MAX_SHARES)
		return dsb_error(DSB_ERR_USAGE, "at most %d escrow recipients", MAX_SHARES);
	for (i = 0; i < n; i++)
		if ((rc = dsb_recipient_check(recipients[i])) != 0)
			return dsb_error_wrap(rc, "escrow recipient %zu", i + 1);
	if (n > 0 && (v = calloc(n, sizeof(*v))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++)
		snprintf(v[i], sizeof(v[i]), "%s", recipients[i]);
	dsb_repo_escrow_release(r);
	r->escrow = v;
	r->nescrow = n;
	return 0;
}

const struct dsb_keys *dsb_repo_pack_keys(const struct dsb_repo *r)
{
	return r->pack_keys != NULL ? r->pack_keys : r->keys;
}

int dsb_repo_escrow_begin(struct dsb_repo *r)
{
	struct dsb_keys *k = NULL;
	int rc;

	if (r->nescrow == 0)
		return dsb_error(DSB_ERR_USAGE, "no escrow recipients are configured "
		    "(escrow-recipients, --escrow-recipient)");
	dsb_repo_escrow_end(r);
	if ((rc = dsb_keys_escrow_key(r->keys, &k)) != 0)
		return rc;
	/* the slots first: no pack may exist under a key nobody can open */
	/* and this run's later sources must not deduplicate against it (store.c) */
	if ((rc = put_escrow_run_keys(r, k)) != 0 ||
	    (rc = dsb_keys_mark_escrowed(r->keys, k, r->escrow[0])) != 0) {
		dsb_keys_free(k);
		return rc;
	}
	r->pack_keys = k;
	return 0;
}

void dsb_repo_escrow_end(struct dsb_repo *r)
{
	dsb_keys_free(r->pack_keys);
	r->pack_keys = NULL;
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
		rc = load_keyring(r, u);
		goto out;
	}
	if (rc != 0)
		goto out;
	for (i = 0; i < w.nfound; i++)
		all[n++] = w.found[i];
	for (i = 0; i < u->nshares && n < 2 * MAX_SHARES; i++)
		all[n++] = u->shares[i];
	if (n > 0) {
		if ((rc = dsb_escrow_combine(all, n, &r->keys)) == 0)
			rc = load_keyring(r, u);
		goto out;
	}
	if (w.tried == 0 && w.damaged > 0)
		/* nothing was wrong with the password: the repository is damaged (exit 1, not 12) */
		rc = dsb_error(DSB_ERR_CORRUPT, "no key slot of %s could be tried: %d key slot(s) "
		    "damaged, the first %s (the repository is damaged, not the password wrong; "
		    "restore keys/ from a copy)", r->be->url, w.damaged, w.damaged_why);
	else if (w.tried == 0)
		rc = dsb_error(DSB_ERR_BAD_KEY, "no key slot of %s can be opened with what was given "
		    "(a password, --identity or --share)", r->be->url);
	else if (u->pass != NULL && u->nids == 0)
		rc = dsb_error(DSB_ERR_BAD_KEY, "wrong password for %s", r->be->url);
	else
		rc = dsb_error(DSB_ERR_BAD_KEY, "none of the %d key slot(s) tried opens %s with the "
		    "password or identities given", w.tried, r->be->url);
	if (rc == DSB_ERR_BAD_KEY && w.damaged > 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", dsb_errmsg());
		rc = dsb_error(rc, "%s; %d other key slot(s) are damaged and could not be tried, the "
		    "first %s", msg, w.damaged, w.damaged_why);
	}
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
	if (strcmp(info->type, "escrow-share") != 0)
		return 0;   /* write-only, keyring and run-key slots open nothing */
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

/* ---- rotation (FORMAT.md §4, "Rotation") ---- */

/* the slots of the repository, as listed before a change */
struct slot_entry {
	char id[65];
	struct dsb_keyslot_info info;
};

struct slot_list {
	struct slot_entry *v;
	size_t n, cap;
};

static int collect_slot(void *arg, const char *id, const struct dsb_keyslot_info *info)
{
	struct slot_list *l = arg;
	int rc;

	if ((rc = DSB_GROW(l->v, l->cap, l->n, "the list of key slots")) != 0)
		return rc;
	snprintf(l->v[l->n].id, sizeof(l->v[l->n].id), "%s", id);
	l->v[l->n].info = *info;
	l->n++;
	return 0;
}

static int remove_slot_object(struct dsb_repo *r, const char *id)
{
	char name[80];
	int rc;

	snprintf(name, sizeof(name), "keys/%s", id);
	rc = dsb_backend_remove(r->be, name);
	if (rc == DSB_ERR_NOT_FOUND) {
		dsb_error_clear();
		rc = 0;
	}
	return rc;
}

/* write_keyrings(r): one keyring slot of r->keys sealed under each of its data keys */
static int write_keyrings(struct dsb_repo *r)
{
	char host[256], user[256], id[65];
	struct dsb_buf slot;
	size_t i, n = dsb_keys_seal_count(r->keys);
	int rc = 0;

	dsb_buf_init(&slot, KEYSLOT_MAX);
	dsb_repo_who(host, sizeof(host), user, sizeof(user));
	for (i = 0; rc == 0 && i < n; i++)
		if ((rc = dsb_keyring_seal(r->keys, i, host, user, &slot)) == 0)
			rc = dsb_repo_put_slot(r, slot.data, slot.len, id);
	dsb_buf_release(&slot);
	return rc;
}

/* rewrap_escrow(r, l, i): a new split of the escrow set of slot ${i} to the same officers */
static int rewrap_escrow(struct dsb_repo *r, struct slot_list *l, size_t i)
{
	const char *recipients[MAX_SHARES];
	char set[33];
	size_t j, n = 0;
	int rc;

	snprintf(set, sizeof(set), "%s", l->v[i].info.set);
	for (j = i; j < l->n; j++)
		if (strcmp(l->v[j].info.type, "escrow-share") == 0 &&
		    strcmp(l->v[j].info.set, set) == 0 && n < MAX_SHARES)
			recipients[n++] = l->v[j].info.recipient;
	if ((rc = dsb_repo_add_escrow(r, l->v[i].info.threshold, recipients, n)) != 0)
		return rc;
	for (j = i; j < l->n; j++) {
		if (strcmp(l->v[j].info.type, "escrow-share") != 0 || strcmp(l->v[j].info.set, set) != 0)
			continue;
		if ((rc = remove_slot_object(r, l->v[j].id)) != 0)
			return rc;
		l->v[j].info.type[0] = '\0';   /* done */
	}
	return 0;
}

/*
 * opens_with(r, id, pass, passlen): 1 when passphrase slot ${id} opens with
 * ${pass}, 0 when not.  A rotation killed between storing the passphrase
 * slot wrapped again and removing its old version leaves two slots that the
 * passphrase opens; once the old keys are dropped, the older one would open
 * a key that reads nothing, and opening tries slots in listing order.
 */
static int opens_with(struct dsb_repo *r, const char *id, const char *pass, size_t passlen)
{
	struct dsb_keys *k = NULL;
	struct dsb_buf b;
	char name[80];
	int rc;

	dsb_buf_init(&b, KEYSLOT_MAX);
	snprintf(name, sizeof(name), "keys/%s", id);
	if ((rc = dsb_backend_get(r->be, name, 0, 0, &b)) == 0 &&
	    (rc = dsb_keyslot_open(b.data, b.len, pass, passlen, &k)) == 0)
		rc = 1;
	else if (rc == DSB_ERR_BAD_KEY || rc == DSB_ERR_NOT_FOUND) {
		dsb_error_clear();
		rc = 0;
	}
	dsb_keys_free(k);
	dsb_buf_release(&b);
	return rc;
}

/*
 * rewrap(r, l, pass, passlen, stale): wrap the current master key again in
 * every slot whose wrapping key we have — the passphrase slot that opened
 * (with ${pass}), identity slots and escrow sets (public keys) — then
 * remove the old versions, and other passphrase slots that ${pass} opens
 * (see opens_with).  ${stale} counts the passphrase slots left.
 */
static int rewrap(struct dsb_repo *r, struct slot_list *l, const char *pass, size_t passlen,
    int *stale)
{
	struct dsb_kdf_params kdf;
	char id[65];
	size_t i;
	int rc = 0;

	*stale = 0;
	for (i = 0; rc == 0 && i < l->n; i++) {
		const struct dsb_keyslot_info *in = &l->v[i].info;

		if (strcmp(in->type, "x25519") == 0) {
			rc = dsb_repo_add_recipient_slot(r, in->recipient, id);
		} else if (strcmp(in->type, "escrow-share") == 0) {
			rc = rewrap_escrow(r, l, i);
			continue;
		} else if (strcmp(in->type, "passphrase") == 0 && pass != NULL &&
		    strcmp(l->v[i].id, r->opened_slot) == 0) {
			kdf.log2_n = in->log2_n;
			kdf.r = in->r;
			kdf.p = in->p;
			rc = put_passphrase_slot(r, pass, passlen, &kdf, id);
			if (rc == 0 && (rc = remove_slot_object(r, l->v[i].id)) == 0)
				snprintf(r->opened_slot, sizeof(r->opened_slot), "%s", id);
			continue;
		} else if (strcmp(in->type, "passphrase") == 0 && pass != NULL &&
		    (rc = opens_with(r, l->v[i].id, pass, passlen)) != 0) {
			if (rc == 1)
				rc = remove_slot_object(r, l->v[i].id);
			continue;
		} else {
			*stale += strcmp(in->type, "passphrase") == 0;
			continue;
		}
		if (rc == 0)
			rc = remove_slot_object(r, l->v[i].id);
	}
	return rc;
}

/* drop_old_slots(r, l, in_use, arg): remove the keyring slots listed before, and run-key slots no object needs */
static int drop_old_slots(struct dsb_repo *r, const struct slot_list *l,
    int (*in_use)(void *arg, const char *key_id), void *arg)
{
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < l->n; i++) {
		if (strcmp(l->v[i].info.type, "keyring") == 0 ||
		    (in_use != NULL && strcmp(l->v[i].info.type, "run-key") == 0 &&
		    !in_use(arg, l->v[i].info.key_id)))
			rc = remove_slot_object(r, l->v[i].id);
	}
	return rc;
}

/*
 * install(r, nk, pass, passlen, in_use, arg, stale): make ${nk} the
 * repository's keys: keyring slots for it first (so every old slot chains
 * to it), then the slots we can wrap again, then the old keyrings (and,
 * with ${in_use}, run-key slots no object needs any more).
 */
static int install(struct dsb_repo *r, struct dsb_keys *nk, const char *pass, size_t passlen,
    int (*in_use)(void *arg, const char *key_id), void *arg, int *stale)
{
	struct slot_list l = { NULL, 0, 0 };
	struct dsb_keys *old = r->keys;
	int rc;

	if ((rc = dsb_repo_list_slots(r, collect_slot, &l)) != 0) {
		dsb_keys_free(nk);
		goto out;
	}
	r->keys = nk;
	if ((rc = write_keyrings(r)) != 0) {
		r->keys = old;
		dsb_keys_free(nk);
		goto out;
	}
	dsb_keys_free(old);
	if ((rc = rewrap(r, &l, pass, passlen, stale)) != 0)
		goto out;
	rc = drop_old_slots(r, &l, in_use, arg);
out:
	free(l.v);
	return rc;
}

int dsb_repo_rotate(struct dsb_repo *r, const char *pass, size_t passlen, unsigned flags,
    int *stale)
{
	struct dsb_keys *nk = NULL;
	int rc;

	if ((rc = dsb_keys_rotate(r->keys, flags, &nk)) != 0)
		return rc;
	return install(r, nk, pass, passlen, NULL, NULL, stale);
}

int dsb_repo_drop_old_keys(struct dsb_repo *r, const char *pass, size_t passlen,
    int (*in_use)(void *arg, const char *key_id), void *arg, int *stale)
{
	struct dsb_keys *nk = NULL;
	int rc;

	if ((rc = dsb_keys_drop_old(r->keys, &nk)) != 0)
		return rc;
	return install(r, nk, pass, passlen, in_use, arg, stale);
}

int dsb_repo_add_write_only_slot(struct dsb_repo *r, const char *pass, size_t passlen,
    const struct dsb_kdf_params *kdf, char id_out[65])
{
	char host[256], user[256];
	struct dsb_buf slot;
	int rc;

	if ((rc = dsb_keys_ensure_repo_key(r->keys)) < 0)
		return rc;
	if (rc == 1 && (rc = write_keyrings(r)) != 0)   /* the repository key pair is new */
		return rc;
	dsb_buf_init(&slot, KEYSLOT_MAX);
	dsb_repo_who(host, sizeof(host), user, sizeof(user));
	if ((rc = dsb_keyslot_create_write_only(r->keys, pass, passlen, kdf, host, user, &slot)) == 0)
		rc = dsb_repo_put_slot(r, slot.data, slot.len, id_out);
	dsb_buf_release(&slot);
	return rc;
}
