/*
 * rekey.c: "key rotate --rewrite": everything under the current data key,
 * then the old keys dropped (docs/FORMAT.md §4, "Rotation").
 *
 *  1. prune in rekey mode: every live blob of a pack under another data key
 *     is copied into new packs, every index object is written again (under
 *     the current key), then the old index objects and packs are deleted —
 *     prune's crash-safe order;
 *  2. under an exclusive lock, every snapshot named by another's
 *     "rewritten_from" (a killed run's original) is deleted first; then
 *     every snapshot under another key is stored again with
 *     "rewritten_from": "<old id>", and the old one deleted.  At any
 *     instant a snapshot exists once, or as an original and its copy;
 *  3. every index object, snapshot and pack header is read (48 bytes
 *     each): if one still names an old keyring key, nothing is dropped
 *     (rerun); run keys still named keep their run-key slots;
 *  4. the keyring is replaced by one holding the current key only.
 * A run killed anywhere leaves every snapshot readable (old keys are
 * dropped last) and a rerun continues where it stopped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "engine_internal.h"

#define HDR_LEN 48

/* a set of hex ids: key ids (16 digits) or snapshot ids (64) */
struct keyid_set {
	char (*v)[65];
	size_t n, cap;
};

struct rekeyer {
	struct dsb_session *s;
	struct dsb_rekey_stats *st;
	uint8_t current[DSB_KEYID_LEN];
	struct keyid_set in_use;         /* key ids other than the current one still named */
	struct keyid_set rewritten;      /* snapshot ids already stored again (rewritten_from) */
	const char *dir;
	struct dsb_buf hdr;
	int stale;                       /* an object under an old keyring key remains */
};

static int set_has(const struct keyid_set *s, const char *k)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], k) == 0)
			return 1;
	return 0;
}

static int set_add(struct keyid_set *s, const char *k)
{
	if (set_has(s, k))
		return 0;
	if (DSB_GROW(s->v, s->cap, s->n, "the set of key ids") != 0)
		return DSB_ERR_NOMEM;
	snprintf(s->v[s->n++], sizeof(s->v[0]), "%s", k);
	return 0;
}

/* header_key_id(k, dir, id, out): the key id in the header of object ${dir}/${id} */
static int header_key_id(struct rekeyer *k, const char *dir, const char *id,
    uint8_t out[DSB_KEYID_LEN])
{
	char name[96];
	int r;

	if (strcmp(dir, "data") == 0)
		snprintf(name, sizeof(name), "data/%.2s/%s", id, id);
	else
		snprintf(name, sizeof(name), "%s/%s", dir, id);
	if ((r = dsb_backend_get(dsb_repo_backend(k->s->repo), name, 0, HDR_LEN, &k->hdr)) != 0)
		return r;
	if (k->hdr.len < HDR_LEN)
		return dsb_error(DSB_ERR_CORRUPT, "%s is shorter than its header", name);
	memcpy(out, k->hdr.data + 8, DSB_KEYID_LEN);
	return 0;
}

/* ---- 2. snapshots ---- */

/*
 * note_rewritten: the ids named by "rewritten_from" of every snapshot, under
 * whatever key: a run killed between storing a copy and deleting the original,
 * then a "key rotate", leaves the copy under an older key; it is rewritten
 * again, so the original has to go, not be copied a second time.
 */
static int note_rewritten(void *arg, const char *id, uint64_t size)
{
	struct rekeyer *k = arg;
	json_t *j = NULL, *from;
	char *text = NULL;
	int r;

	(void)size;
	if ((r = dsb_repo_get_snapshot(k->s->repo, id, &text)) != 0)
		return r == DSB_ERR_NOT_FOUND ? (dsb_error_clear(), 0) : r;
	if ((j = json_loads(text, 0, NULL)) != NULL &&
	    json_is_string(from = json_object_get(j, "rewritten_from")) &&
	    json_string_length(from) == 64)
		r = set_add(&k->rewritten, json_string_value(from));
	json_decref(j);
	free(text);
	return r;
}

/*
 * drop_original: a snapshot whose copy exists (its id is some snapshot's
 * "rewritten_from") is deleted before any snapshot is copied.  Copying first
 * could copy that copy, and a run killed after deleting it but before
 * deleting the original would leave the original with no copy naming it: the
 * next run would copy it a second time (a snapshot listed twice).
 */
static int drop_original(void *arg, const char *id, uint64_t size)
{
	struct rekeyer *k = arg;
	int r;

	(void)size;
	if (!set_has(&k->rewritten, id))
		return 0;
	if ((r = dsb_repo_remove_snapshot(k->s->repo, id)) == DSB_ERR_NOT_FOUND) {
		dsb_error_clear();
		r = 0;
	}
	if (r == 0)
		k->st->snapshots_rewritten++;
	return r;
}

static int rewrite_snapshot(void *arg, const char *id, uint64_t size)
{
	struct rekeyer *k = arg;
	uint8_t kid[DSB_KEYID_LEN];
	char new_id[65], *text = NULL, *out = NULL;
	json_t *j = NULL;
	int r;

	(void)size;
	if ((r = header_key_id(k, "snapshots", id, kid)) != 0)
		return r == DSB_ERR_NOT_FOUND ? (dsb_error_clear(), 0) : r;
	if (memcmp(kid, k->current, DSB_KEYID_LEN) == 0)
		return 0;
	if ((r = dsb_repo_get_snapshot(k->s->repo, id, &text)) != 0)
		return dsb_error_wrap(r, "snapshot %.16s", id);
	if ((j = json_loads(text, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    json_object_set_new(j, "rewritten_from", json_string(id)) != 0 ||
	    (out = json_dumps(j, JSON_COMPACT)) == NULL) {
		r = dsb_error(DSB_ERR_CORRUPT, "snapshot %.16s: cannot re-encode its JSON", id);
		goto out;
	}
	if ((r = dsb_repo_put_snapshot(k->s->repo, out, new_id)) != 0)
		goto out;
	dsb_info("snapshot %.16s is now %.16s", id, new_id);
	if ((r = dsb_repo_remove_snapshot(k->s->repo, id)) == DSB_ERR_NOT_FOUND) {
		dsb_error_clear();
		r = 0;
	}
	k->st->snapshots_rewritten++;
out:
	json_decref(j);
	free(text);
	free(out);
	return r;
}

/* ---- 3. what still names another key ---- */

static int note_key(void *arg, const char *id, uint64_t size)
{
	struct rekeyer *k = arg;
	uint8_t kid[DSB_KEYID_LEN];
	char hex[2 * DSB_KEYID_LEN + 1];
	int r;

	(void)size;
	if ((r = header_key_id(k, k->dir, id, kid)) != 0)
		return r == DSB_ERR_NOT_FOUND ? (dsb_error_clear(), 0) : r;
	if (memcmp(kid, k->current, DSB_KEYID_LEN) == 0)
		return 0;
	dsb_hex_encode(kid, DSB_KEYID_LEN, hex);
	if (!set_has(&k->in_use, hex))
		dsb_debug("%s/%.16s is under data key %s", k->dir, id, hex);
	return set_add(&k->in_use, hex);
}

static int scan_keys(struct rekeyer *k)
{
	static const char *const dirs[] = { "index", "snapshots", "data" };
	size_t i;
	int r;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		k->dir = dirs[i];
		if ((r = dsb_repo_list(k->s->repo, dirs[i], note_key, k)) != 0)
			return r;
	}
	return 0;
}

static int key_in_use(void *arg, const char *key_id)
{
	return set_has(&((struct rekeyer *)arg)->in_use, key_id);
}

/* old_keyring_key_in_use(k): an object under a keyring key other than the current one remains */
static int old_keyring_key_in_use(struct rekeyer *k, char hex[2 * DSB_KEYID_LEN + 1])
{
	const struct dsb_keys *keys = dsb_repo_keys(k->s->repo);
	uint8_t kid[DSB_KEYID_LEN];
	size_t i;

	for (i = 0; i < k->in_use.n; i++) {
		if (dsb_hex_decode(k->in_use.v[i], kid, DSB_KEYID_LEN) != 0)
			continue;
		if (dsb_keys_is_old_key(keys, kid)) {
			snprintf(hex, 2 * DSB_KEYID_LEN + 1, "%s", k->in_use.v[i]);
			return 1;
		}
	}
	return 0;
}

static int rekey_locked(struct rekeyer *k, const char *pass, size_t passlen)
{
	char hex[2 * DSB_KEYID_LEN + 1];
	int r;

	if ((r = dsb_repo_list(k->s->repo, "snapshots", note_rewritten, k)) != 0 ||
	    (r = dsb_repo_list(k->s->repo, "snapshots", drop_original, k)) != 0 ||
	    (r = dsb_repo_list(k->s->repo, "snapshots", rewrite_snapshot, k)) != 0 ||
	    (r = scan_keys(k)) != 0)
		return r;
	if (old_keyring_key_in_use(k, hex))
		return dsb_error(DSB_ERR_PARTIAL, "objects under the old data key %s remain (packs "
		    "in no index, written by a backup still running?); the old keys were kept: run "
		    "\"dsbackup key rotate --rewrite\" again later", hex);
	return dsb_repo_drop_old_keys(k->s->repo, pass, passlen, key_in_use, k, &k->st->stale_slots);
}

int dsb_rekey(struct dsb_session *s, const char *pass, size_t passlen, int lock_wait_sec,
    struct dsb_rekey_stats *st)
{
	struct dsb_prune_opts po;
	struct dsb_lock *lock = NULL;
	struct rekeyer k;
	int r;

	memset(st, 0, sizeof(*st));
	memset(&k, 0, sizeof(k));
	memset(&po, 0, sizeof(po));
	k.s = s;
	k.st = st;
	dsb_buf_init(&k.hdr, HDR_LEN);
	if (dsb_keys_write_only(dsb_repo_keys(s->repo)))
		return dsb_error(DSB_ERR_BAD_KEY, DSB_WRITE_ONLY_MSG);
	dsb_keys_key_id(dsb_repo_keys(s->repo), k.current);
	po.rekey = 1;
	po.lock_wait_sec = lock_wait_sec;
	dsb_info("copying the data under older keys into new packs");
	if ((r = dsb_prune(s, &po, &st->prune)) != 0)
		goto out;
	if ((r = dsb_repo_lock_wait(s->repo, 1, lock_wait_sec, &lock)) != 0)
		goto out;
	r = rekey_locked(&k, pass, passlen);
out:
	dsb_lock_release(lock);
	dsb_buf_release(&k.hdr);
	free(k.in_use.v);
	free(k.rewritten.v);
	return r;
}

int dsb_key_rotate(struct dsb_session *s, const char *pass, size_t passlen, int rewrite,
    int lock_wait_sec, struct dsb_rekey_stats *st)
{
	const struct dsb_keys *keys = dsb_repo_keys(s->repo);
	struct dsb_lock *lock = NULL;
	int r, stale = 0;

	memset(st, 0, sizeof(*st));
	if (dsb_keys_write_only(keys))
		return dsb_error(DSB_ERR_BAD_KEY, DSB_WRITE_ONLY_MSG);
	if (!rewrite || !(dsb_keys_keyring_flags(keys) & DSB_KEYRING_REWRITING)) {
		if ((r = dsb_repo_lock_wait(s->repo, 1, lock_wait_sec, &lock)) != 0)
			return r;
		r = dsb_repo_rotate(s->repo, pass, passlen, rewrite ? DSB_KEYRING_REWRITING : 0,
		    &stale);
		dsb_lock_release(lock);
		if (r != 0)
			return r;
		dsb_info("new data key made; older keys kept for reading");
	} else {
		dsb_info("continuing an interrupted \"key rotate --rewrite\"");
	}
	if (!rewrite) {
		st->stale_slots = stale;
		return 0;
	}
	return dsb_rekey(s, pass, passlen, lock_wait_sec, st);
}
