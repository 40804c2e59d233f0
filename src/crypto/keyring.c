/*
 * keyring.c: several data keys per repository (rotation) and write-only
 * keys (docs/FORMAT.md §2, §4).
 *
 * A "keyring" slot (JSON, in keys/):
 *   {"version":1,"type":"keyring","created":"...","host":"...","user":"...",
 *    "key_id":"<16 hex>","generation":N,"salt":"<base64, 32>",
 *    "nonce":"<base64, 12>","data":"<base64>"}
 * KEK  = HKDF(ikm = the data key named key_id, salt, "dsbackup keyring v1")
 * data = AES-256-GCM(KEK, nonce, AAD, "DSBKR001" || le32(flags) ||
 *        repo_sk (32) || le32(n) || data_key_0 .. data_key_{n-1}) || tag
 * AAD  = "dsbackup keyslot v1" 0 type 0 created 0 host 0 user 0 key_id 0
 *        decimal(generation) 0 salt (32 raw bytes)
 * data_key_0 is the current key; 1 <= n <= 1024.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dsbackup/crypto.h"
#include "dsbackup/error.h"
#include "dsbackup/util.h"
#include "crypto_internal.h"

#define KR_TYPE "keyring"
#define KR_MAGIC "DSBKR001"
#define KR_INFO "dsbackup keyring v1"
#define KR_LABEL "dsbackup keyslot v1"
#define KR_MAX_KEYS 1024
#define KR_HEAD (8 + 4 + DSB_KEY_LEN + 4)
#define KR_MAX_PT (KR_HEAD + KR_MAX_KEYS * DSB_KEY_LEN)

/* ---- the ring ---- */

static void ring_release(struct dsb_data_key *ring, size_t cap)
{
	if (ring == NULL)
		return;
	OPENSSL_cleanse(ring, cap * sizeof(*ring));
	(void)munlock(ring, cap * sizeof(*ring));
	free(ring);
}

void dsb_keys_ring_free(struct dsb_keys *k)
{
	ring_release(k->ring, k->ring_cap);
	k->ring = NULL;
	k->nring = k->ring_cap = 0;
	free(k->escrow);
	k->escrow = NULL;
	k->nescrow = 0;
}

const struct dsb_escrow_note *dsb_keys_escrow_find(const struct dsb_keys *k,
    const uint8_t key_id[DSB_KEYID_LEN])
{
	size_t i;

	for (i = 0; i < k->nescrow; i++)
		if (memcmp(k->escrow[i].id, key_id, DSB_KEYID_LEN) == 0)
			return &k->escrow[i];
	return NULL;
}

int dsb_keys_escrowed(const struct dsb_keys *k, const uint8_t key_id[DSB_KEYID_LEN])
{
	return dsb_keys_escrow_find(k, key_id) != NULL;
}

size_t dsb_keys_escrow_count(const struct dsb_keys *k)
{
	return k->nescrow;
}

int dsb_keys_mark_escrowed(struct dsb_keys *k, const struct dsb_keys *run, const char *recipient)
{
	uint8_t id[DSB_KEYID_LEN];

	dsb_keys_key_id(run, id);
	return dsb_keys_escrow_add(k, id, recipient);
}

int dsb_keys_escrow_add(struct dsb_keys *k, const uint8_t key_id[DSB_KEYID_LEN],
    const char *recipient)
{
	struct dsb_escrow_note *v;

	if (dsb_keys_escrow_find(k, key_id) != NULL)
		return 0;
	if (k->nescrow >= 1u << 20)
		return 0;   /* only for messages: enough remembered */
	if ((v = realloc(k->escrow, (k->nescrow + 1) * sizeof(*v))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	k->escrow = v;
	memcpy(v[k->nescrow].id, key_id, DSB_KEYID_LEN);
	snprintf(v[k->nescrow].recipient, sizeof(v[k->nescrow].recipient), "%s", recipient);
	k->nescrow++;
	return 0;
}

const uint8_t *dsb_keys_find(const struct dsb_keys *k, const uint8_t key_id[DSB_KEYID_LEN])
{
	size_t i;

	if (!k->write_only && memcmp(k->key_id, key_id, DSB_KEYID_LEN) == 0)
		return k->data_key;
	for (i = 0; i < k->nring; i++)
		if (memcmp(k->ring[i].id, key_id, DSB_KEYID_LEN) == 0)
			return k->ring[i].key;
	return NULL;
}

int dsb_keys_ring_add(struct dsb_keys *k, const uint8_t key[DSB_KEY_LEN], int run)
{
	struct dsb_data_key *n;
	uint8_t id[DSB_KEYID_LEN];
	size_t cap;

	dsb_key_id_of(key, id);
	if (memcmp(id, k->key_id, DSB_KEYID_LEN) == 0 || dsb_keys_find(k, id) != NULL)
		return 0;
	if (k->nring == k->ring_cap) {
		cap = k->ring_cap ? 2 * k->ring_cap : 8;
		if (cap > 1u << 20)
			return dsb_error(DSB_ERR_LIMIT, "more than %u data keys", 1u << 20);
		if ((n = calloc(cap, sizeof(*n))) == NULL)
			return dsb_error(DSB_ERR_NOMEM, "out of memory for the keyring");
		(void)mlock(n, cap * sizeof(*n));
		(void)madvise(n, cap * sizeof(*n), MADV_DONTDUMP);
		if (k->nring > 0)
			memcpy(n, k->ring, k->nring * sizeof(*n));
		ring_release(k->ring, k->ring_cap);
		k->ring = n;
		k->ring_cap = cap;
	}
	memcpy(k->ring[k->nring].key, key, DSB_KEY_LEN);
	memcpy(k->ring[k->nring].id, id, DSB_KEYID_LEN);
	k->ring[k->nring].run = run;
	k->nring++;
	return 1;
}

int dsb_keys_write_only(const struct dsb_keys *k)
{
	return k->write_only;
}

void dsb_keys_opened_key_id(const struct dsb_keys *k, uint8_t out[DSB_KEYID_LEN])
{
	memcpy(out, k->opened_id, DSB_KEYID_LEN);
}

static size_t count_ring(const struct dsb_keys *k, int run)
{
	size_t i, n = 0;

	for (i = 0; i < k->nring; i++)
		n += k->ring[i].run == run;
	return n;
}

size_t dsb_keys_old_count(const struct dsb_keys *k)
{
	return count_ring(k, 0);
}

int dsb_keys_is_old_key(const struct dsb_keys *k, const uint8_t key_id[DSB_KEYID_LEN])
{
	size_t i;

	for (i = 0; i < k->nring; i++)
		if (!k->ring[i].run && memcmp(k->ring[i].id, key_id, DSB_KEYID_LEN) == 0)
			return 1;
	return 0;
}

size_t dsb_keys_run_count(const struct dsb_keys *k)
{
	return count_ring(k, 1);
}

unsigned dsb_keys_keyring_flags(const struct dsb_keys *k)
{
	return k->flags;
}

size_t dsb_keys_seal_count(const struct dsb_keys *k)
{
	return 1 + count_ring(k, 0);
}

/* keys_copy(k, with_ring, out): the same keys (and ring when asked) in a new allocation */
static int keys_copy(const struct dsb_keys *k, int with_ring, struct dsb_keys **out)
{
	struct dsb_keys *c = NULL;
	size_t i;
	int r;

	if ((r = dsb_keys_alloc(&c)) != 0)
		return r;
	memcpy(c->data_key, k->data_key, DSB_KEY_LEN);
	memcpy(c->id_key, k->id_key, DSB_KEY_LEN);
	memcpy(c->chunker_key, k->chunker_key, DSB_KEY_LEN);
	memcpy(c->repo_sk, k->repo_sk, DSB_KEY_LEN);
	memcpy(c->repo_pk, k->repo_pk, DSB_KEY_LEN);
	memcpy(c->opened_id, k->opened_id, DSB_KEYID_LEN);
	c->has_repo_sk = k->has_repo_sk;
	c->has_repo_pk = k->has_repo_pk;
	c->generation = k->generation;
	c->flags = k->flags;
	if ((r = dsb_keys_setup(c)) != 0)
		goto fail;
	for (i = 0; with_ring && i < k->nring; i++)
		if ((r = dsb_keys_ring_add(c, k->ring[i].key, k->ring[i].run)) < 0)
			goto fail;
	*out = c;
	return 0;
fail:
	dsb_keys_free(c);
	return r;
}

int dsb_keys_ensure_repo_key(struct dsb_keys *k)
{
	int r;

	if (k->write_only)
		return dsb_error(DSB_ERR_USAGE, "a write-only key cannot change the keyring");
	if (k->has_repo_sk)
		return 0;
	if ((r = dsb_random(k->repo_sk, DSB_KEY_LEN)) != 0 ||
	    (r = dsb_x25519_public(k->repo_sk, k->repo_pk)) != 0)
		return r;
	k->has_repo_sk = k->has_repo_pk = 1;
	if (k->generation == 0)
		k->generation = 1;
	return 1;
}

int dsb_keys_rotate(const struct dsb_keys *k, unsigned flags, struct dsb_keys **out)
{
	struct dsb_keys *c = NULL;
	uint8_t old[DSB_KEY_LEN];
	int r;

	if (k->write_only)
		return dsb_error(DSB_ERR_USAGE, "a write-only key cannot rotate the repository key");
	if ((r = keys_copy(k, 1, &c)) != 0)
		return r;
	memcpy(old, c->data_key, DSB_KEY_LEN);
	if ((r = dsb_keys_ensure_repo_key(c)) < 0 ||
	    (r = dsb_random(c->data_key, DSB_KEY_LEN)) != 0 ||
	    (r = dsb_keys_setup(c)) != 0 ||
	    (r = dsb_keys_ring_add(c, old, 0)) < 0)
		goto fail;
	if (dsb_keys_seal_count(c) > KR_MAX_KEYS) {
		r = dsb_error(DSB_ERR_LIMIT, "the keyring would hold more than %d data keys; run "
		    "\"dsbackup key rotate --rewrite\" to drop the old ones", KR_MAX_KEYS);
		goto fail;
	}
	c->generation++;
	c->flags = flags;
	OPENSSL_cleanse(old, sizeof(old));
	*out = c;
	return 0;
fail:
	OPENSSL_cleanse(old, sizeof(old));
	dsb_keys_free(c);
	return r;
}

int dsb_keys_escrow_key(const struct dsb_keys *k, struct dsb_keys **out)
{
	struct dsb_keys *c = NULL;
	int r;

	if ((r = keys_copy(k, 0, &c)) != 0)
		return r;
	if ((r = dsb_random(c->data_key, DSB_KEY_LEN)) != 0 || (r = dsb_keys_setup(c)) != 0) {
		dsb_keys_free(c);
		return r;
	}
	*out = c;
	return 0;
}

int dsb_keys_drop_old(const struct dsb_keys *k, struct dsb_keys **out)
{
	int r;

	if (k->write_only)
		return dsb_error(DSB_ERR_USAGE, "a write-only key cannot change the keyring");
	if ((r = keys_copy(k, 0, out)) != 0)
		return r;
	(*out)->generation++;
	(*out)->flags = 0;
	return 0;
}

int dsb_keys_from_write_only(const uint8_t raw[DSB_KEYS_RAW_LEN], struct dsb_keys **out)
{
	struct dsb_keys *k = NULL;
	int r;

	if ((r = dsb_keys_alloc(&k)) != 0)
		return r;
	memcpy(k->id_key, raw, DSB_KEY_LEN);
	memcpy(k->chunker_key, raw + DSB_KEY_LEN, DSB_KEY_LEN);
	memcpy(k->repo_pk, raw + 2 * DSB_KEY_LEN, DSB_KEY_LEN);
	k->has_repo_pk = 1;
	k->write_only = 1;
	if ((r = dsb_random(k->data_key, DSB_KEY_LEN)) != 0 || (r = dsb_keys_setup(k)) != 0) {
		dsb_keys_free(k);
		return r;
	}
	*out = k;
	return 0;
}

void dsb_keys_export_write_only(const struct dsb_keys *k, uint8_t raw[DSB_KEYS_RAW_LEN])
{
	memcpy(raw, k->id_key, DSB_KEY_LEN);
	memcpy(raw + DSB_KEY_LEN, k->chunker_key, DSB_KEY_LEN);
	memcpy(raw + 2 * DSB_KEY_LEN, k->repo_pk, DSB_KEY_LEN);
}

/* ---- the keyring slot ---- */

struct kr_slot {
	struct dsb_keyslot_info info;
	uint8_t key_id[DSB_KEYID_LEN];
	uint8_t salt[DSB_SALT_LEN];
	uint8_t nonce[DSB_NONCE_LEN];
	uint8_t *data;
	size_t datalen;
};

static int kr_aead(const struct kr_slot *s, const uint8_t *key, struct dsb_buf *aad,
    struct dsb_aead **a)
{
	uint8_t kek[DSB_KEY_LEN];
	char gen[16];
	int r;

	snprintf(gen, sizeof(gen), "%u", s->info.generation);
	if ((r = dsb_slot_aad_add(aad, KR_LABEL)) != 0 ||
	    (r = dsb_slot_aad_add(aad, s->info.type)) != 0 ||
	    (r = dsb_slot_aad_add(aad, s->info.created)) != 0 ||
	    (r = dsb_slot_aad_add(aad, s->info.host)) != 0 ||
	    (r = dsb_slot_aad_add(aad, s->info.user)) != 0 ||
	    (r = dsb_slot_aad_add(aad, s->info.key_id)) != 0 ||
	    (r = dsb_slot_aad_add(aad, gen)) != 0 ||
	    (r = dsb_buf_append(aad, s->salt, DSB_SALT_LEN)) != 0)
		return r;
	if ((r = dsb_crypto_hkdf(key, DSB_KEY_LEN, s->salt, DSB_SALT_LEN,
	    (const uint8_t *)KR_INFO, strlen(KR_INFO), kek, sizeof(kek))) == 0)
		r = dsb_aead_from_key(kek, a);
	OPENSSL_cleanse(kek, sizeof(kek));
	return r;
}

static int kr_parse(const void *p, size_t len, struct kr_slot *s)
{
	json_t *root;
	unsigned version;
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = dsb_slot_parse_head(p, len, &root, &s->info, &version)) != 0)
		return r;
	if (version != 1 || strcmp(s->info.type, KR_TYPE) != 0) {
		r = dsb_error(DSB_ERR_UNSUPPORTED, "key slot type \"%s\" version %u is not a keyring",
		    s->info.type, version);
		goto out;
	}
	if ((r = dsb_slot_get_origin(root, &s->info)) != 0 ||
	    (r = dsb_slot_get_string(root, "key_id", s->info.key_id, sizeof(s->info.key_id))) != 0 ||
	    (r = dsb_slot_get_uint(root, "generation", &s->info.generation)) != 0 ||
	    (r = dsb_slot_get_b64(root, "salt", s->salt, DSB_SALT_LEN)) != 0 ||
	    (r = dsb_slot_get_b64(root, "nonce", s->nonce, DSB_NONCE_LEN)) != 0 ||
	    (r = dsb_slot_get_b64_var(root, "data", KR_HEAD + DSB_KEY_LEN + DSB_TAG_LEN,
	    KR_MAX_PT + DSB_TAG_LEN, &s->data, &s->datalen)) != 0)
		goto out;
	if (dsb_hex_decode(s->info.key_id, s->key_id, DSB_KEYID_LEN) != 0 || s->info.generation < 1 ||
	    (s->datalen - DSB_TAG_LEN - KR_HEAD) % DSB_KEY_LEN != 0) {
		r = dsb_error(DSB_ERR_CORRUPT, "keyring slot: bad key_id, generation or data length");
		goto out;
	}
	r = 0;
out:
	if (r != 0) {
		free(s->data);
		s->data = NULL;
	}
	json_decref(root);
	return r;
}

int dsb_keyring_info(const void *slot, size_t len, struct dsb_keyslot_info *info)
{
	struct kr_slot s;
	int r;

	if ((r = kr_parse(slot, len, &s)) != 0)
		return r;
	*info = s.info;
	free(s.data);
	return 0;
}

/* kr_plaintext(k, pt): "DSBKR001" || flags || repo_sk || n || current, older keys; its length */
static size_t kr_plaintext(const struct dsb_keys *k, uint8_t *pt)
{
	size_t i, n = 1;

	memcpy(pt, KR_MAGIC, 8);
	dsb_put_le32(pt + 8, k->flags);
	memcpy(pt + 12, k->repo_sk, DSB_KEY_LEN);
	memcpy(pt + KR_HEAD, k->data_key, DSB_KEY_LEN);
	for (i = 0; i < k->nring; i++)
		if (!k->ring[i].run)
			memcpy(pt + KR_HEAD + DSB_KEY_LEN * n++, k->ring[i].key, DSB_KEY_LEN);
	dsb_put_le32(pt + 12 + DSB_KEY_LEN, (uint32_t)n);
	return KR_HEAD + DSB_KEY_LEN * n;
}

static int kr_to_text(const struct kr_slot *s, struct dsb_buf *out)
{
	char *salt = dsb_slot_b64(s->salt, DSB_SALT_LEN), *nonce = dsb_slot_b64(s->nonce, DSB_NONCE_LEN);
	char *data = dsb_slot_b64(s->data, s->datalen), *text = NULL;
	json_t *o = NULL;
	int r = DSB_ERR_NOMEM;

	if (salt != NULL && nonce != NULL && data != NULL &&
	    (o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s}", "version", 1,
	    "type", KR_TYPE, "created", s->info.created, "host", s->info.host, "user", s->info.user,
	    "key_id", s->info.key_id, "generation", (json_int_t)s->info.generation, "salt", salt,
	    "nonce", nonce, "data", data)) != NULL &&
	    (text = json_dumps(o, JSON_COMPACT)) != NULL) {
		dsb_buf_reset(out);
		r = dsb_buf_append(out, text, strlen(text));
	} else {
		dsb_error(r, "cannot encode the keyring slot (host and user names must be UTF-8)");
	}
	free(salt);
	free(nonce);
	free(data);
	free(text);
	json_decref(o);
	return r;
}

int dsb_keyring_seal(const struct dsb_keys *k, size_t i, const char *host, const char *user,
    struct dsb_buf *out)
{
	const uint8_t *key = NULL;
	struct dsb_aead *a = NULL;
	struct dsb_buf aad;
	struct kr_slot s;
	uint8_t *pt = NULL, id[DSB_KEYID_LEN];
	size_t j, n = 0, ptlen = 0;
	int64_t sec;
	long nsec;
	int r = DSB_ERR_INTERNAL;

	memset(&s, 0, sizeof(s));
	dsb_buf_init(&aad, 4096);
	if (k->write_only || !k->has_repo_sk)
		return dsb_error(DSB_ERR_USAGE, "these keys hold no keyring to seal");
	if (host == NULL)
		host = "";
	if (user == NULL)
		user = "";
	for (j = 0; i > 0 && j < k->nring; j++)
		if (!k->ring[j].run && ++n == i)
			key = k->ring[j].key;
	if (i == 0)
		key = k->data_key;
	if (key == NULL)
		return dsb_error(DSB_ERR_INTERNAL, "keyring has no data key %zu", i);
	if (strlen(host) >= sizeof(s.info.host) || strlen(user) >= sizeof(s.info.user))
		return dsb_error(DSB_ERR_USAGE, "host or user name for the key slot is too long");
	snprintf(s.info.type, sizeof(s.info.type), "%s", KR_TYPE);
	snprintf(s.info.host, sizeof(s.info.host), "%s", host);
	snprintf(s.info.user, sizeof(s.info.user), "%s", user);
	dsb_time_now(&sec, &nsec);
	dsb_time_format(sec, nsec, s.info.created, sizeof(s.info.created));
	dsb_key_id_of(key, id);
	dsb_hex_encode(id, DSB_KEYID_LEN, s.info.key_id);
	s.info.generation = k->generation;
	if ((pt = malloc(KR_MAX_PT)) == NULL || (s.data = malloc(KR_MAX_PT + DSB_TAG_LEN)) == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "out of memory for the keyring");
		goto out;
	}
	ptlen = kr_plaintext(k, pt);
	if ((r = dsb_random(s.salt, DSB_SALT_LEN)) != 0 ||
	    (r = dsb_random(s.nonce, DSB_NONCE_LEN)) != 0 ||
	    (r = kr_aead(&s, key, &aad, &a)) != 0 ||
	    (r = dsb_aead_seal(a, s.nonce, aad.data, aad.len, pt, ptlen, s.data)) != 0)
		goto out;
	s.datalen = ptlen + DSB_TAG_LEN;
	r = kr_to_text(&s, out);
out:
	if (pt != NULL)
		OPENSSL_cleanse(pt, KR_MAX_PT);
	free(pt);
	free(s.data);
	dsb_aead_free(a);
	dsb_buf_release(&aad);
	return r;
}

/* kr_learn(k, pt, ptlen, generation): merge a decrypted keyring into ${k} */
static int kr_learn(struct dsb_keys *k, const uint8_t *pt, size_t ptlen, unsigned generation)
{
	uint8_t cur[DSB_KEY_LEN];
	uint32_t n = dsb_get_le32(pt + 12 + DSB_KEY_LEN), i;
	int r, learned = 0;

	if (CRYPTO_memcmp(pt, KR_MAGIC, 8) != 0 || n < 1 || n > KR_MAX_KEYS ||
	    ptlen != KR_HEAD + (size_t)n * DSB_KEY_LEN)
		return dsb_error(DSB_ERR_CORRUPT, "keyring slot decrypts to an unknown format");
	if (!k->has_repo_sk) {
		memcpy(k->repo_sk, pt + 12, DSB_KEY_LEN);
		if ((r = dsb_x25519_public(k->repo_sk, k->repo_pk)) != 0)
			return r;
		k->has_repo_sk = k->has_repo_pk = learned = 1;
	}
	for (i = 0; i < n; i++) {
		if ((r = dsb_keys_ring_add(k, pt + KR_HEAD + (size_t)i * DSB_KEY_LEN, 0)) < 0)
			return r;
		learned |= r;
	}
	if (generation <= k->generation)
		return learned;
	/* a newer keyring: its first key becomes the one writers use */
	k->generation = generation;
	k->flags = dsb_get_le32(pt + 8);
	if (CRYPTO_memcmp(pt + KR_HEAD, k->data_key, DSB_KEY_LEN) == 0)
		return 1;
	memcpy(cur, k->data_key, DSB_KEY_LEN);
	memcpy(k->data_key, pt + KR_HEAD, DSB_KEY_LEN);
	for (i = 0; i < k->nring; i++) {   /* the new current key leaves the ring, the old enters */
		if (CRYPTO_memcmp(k->ring[i].key, k->data_key, DSB_KEY_LEN) == 0) {
			memcpy(k->ring[i].key, cur, DSB_KEY_LEN);
			dsb_key_id_of(cur, k->ring[i].id);
			k->ring[i].run = 0;
			break;
		}
	}
	OPENSSL_cleanse(cur, sizeof(cur));
	if ((r = dsb_keys_setup(k)) != 0)
		return r;
	return 1;
}

int dsb_keyring_open(struct dsb_keys *k, const void *slot, size_t len)
{
	struct dsb_aead *a = NULL;
	struct dsb_buf aad;
	struct kr_slot s;
	const uint8_t *key;
	uint8_t *pt = NULL;
	size_t ptlen;
	int r;

	if ((r = kr_parse(slot, len, &s)) != 0)
		return r;
	dsb_buf_init(&aad, 4096);
	if (k->write_only || (key = dsb_keys_find(k, s.key_id)) == NULL) {
		r = dsb_error(DSB_ERR_BAD_KEY, "keyring slot is sealed under data key %s, not held",
		    s.info.key_id);
		goto out;
	}
	ptlen = s.datalen - DSB_TAG_LEN;
	if ((pt = malloc(ptlen)) == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "out of memory for the keyring");
		goto out;
	}
	if ((r = kr_aead(&s, key, &aad, &a)) != 0)
		goto out;
	if ((r = dsb_aead_open(a, s.nonce, aad.data, aad.len, s.data, s.datalen, pt)) != 0) {
		r = dsb_error_wrap(r == DSB_ERR_AUTH ? DSB_ERR_CORRUPT : r,
		    "keyring slot under data key %s does not authenticate", s.info.key_id);
		goto out;
	}
	r = kr_learn(k, pt, ptlen, s.info.generation);
out:
	if (pt != NULL)
		OPENSSL_cleanse(pt, s.datalen - DSB_TAG_LEN);
	free(pt);
	free(s.data);
	dsb_aead_free(a);
	dsb_buf_release(&aad);
	return r;
}
