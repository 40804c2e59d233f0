/*
 * recipient.c: public-key key slots (docs/FORMAT.md §4).
 *
 * An identity is an X25519 private key; its recipient string is
 * "dsbr1" || hex(public key) || hex(sha256("dsbackup recipient" || public key)[0..4)).
 * Wrapping to a recipient (ephemeral-static X25519):
 *   e = fresh X25519 key pair; Z = X25519(e, R)
 *   KEK = HKDF-SHA256(ikm = Z, salt = e_pub || R, info = "dsbackup x25519 v1")
 *   data = AES-256-GCM(KEK, random nonce, AAD, plaintext)
 * Slot types here: "x25519" (wraps the master key) and "escrow-share" (wraps
 * one Shamir share of it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dsbackup/crypto.h"
#include "dsbackup/error.h"
#include "dsbackup/util.h"
#include "crypto_internal.h"

#define X_LEN 32
#define RCPT_PREFIX "dsbr1"
#define ID_PREFIX "DSBACKUP-IDENTITY-1:"
#define SHARE_PREFIX "DSBACKUP-SHARE-1"
#define SHARE_MAGIC "DSBSH001"
#define WRAP_INFO "dsbackup x25519 v1"
#define SLOT_LABEL "dsbackup keyslot v1"
#define RUNKEY_TYPE "run-key"
#define RUNKEY_MAGIC "DSBRK001"
#define RUNKEY_PT_LEN (8 + DSB_KEY_LEN)
#define SHARE_PT_LEN (8 + DSB_SLOT_PT_LEN)     /* magic || y */
#define MAX_CT_LEN (SHARE_PT_LEN + DSB_TAG_LEN)

struct dsb_identity {
	uint8_t priv[X_LEN];
	uint8_t pub[X_LEN];
};

struct dsb_share {
	char set[33];
	unsigned threshold, shares, index;
	uint8_t y[DSB_SLOT_PT_LEN];
};

/* a parsed x25519 or escrow-share slot */
struct pkslot {
	struct dsb_keyslot_info info;
	uint8_t rpub[X_LEN];
	uint8_t eph[X_LEN];
	uint8_t nonce[DSB_NONCE_LEN];
	uint8_t data[MAX_CT_LEN];
	size_t datalen;
	uint8_t key_id[DSB_KEYID_LEN];   /* run-key */
};

static void *secret_alloc(size_t n)
{
	void *p = calloc(1, n);

	if (p != NULL) {
		(void)mlock(p, n);
		(void)madvise(p, n, MADV_DONTDUMP);
	} else {
		dsb_error(DSB_ERR_NOMEM, "out of memory");
	}
	return p;
}

static void secret_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, n);
	(void)munlock(p, n);
	free(p);
}

/* ---- X25519 ---- */

int dsb_x25519_public(const uint8_t priv[X_LEN], uint8_t pub[X_LEN])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, X_LEN);
	size_t n = X_LEN;
	int r = 0;

	if (k == NULL || EVP_PKEY_get_raw_public_key(k, pub, &n) != 1 || n != X_LEN)
		r = dsb_crypto_error(DSB_ERR_CRYPTO, "X25519 public key");
	EVP_PKEY_free(k);
	return r;
}

static int x25519_shared(const uint8_t priv[X_LEN], const uint8_t peer[X_LEN], uint8_t out[X_LEN])
{
	static const uint8_t zero[X_LEN];
	EVP_PKEY *k = NULL, *p = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	size_t n = X_LEN;
	int r = DSB_ERR_CRYPTO;

	if ((k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, X_LEN)) == NULL ||
	    (p = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, X_LEN)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new(k, NULL)) == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, p) != 1 || EVP_PKEY_derive(ctx, out, &n) != 1 ||
	    n != X_LEN) {
		r = dsb_crypto_error(DSB_ERR_CRYPTO, "X25519 key agreement");
		goto out;
	}
	if (CRYPTO_memcmp(out, zero, X_LEN) == 0) {
		r = dsb_error(DSB_ERR_CRYPTO, "X25519 key agreement with a low-order point");
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(k);
	EVP_PKEY_free(p);
	return r;
}

/* the key-encryption key for (ephemeral public, recipient public) from the shared secret */
static int wrap_kek(const uint8_t shared[X_LEN], const uint8_t eph[X_LEN],
    const uint8_t rpub[X_LEN], uint8_t kek[DSB_KEY_LEN])
{
	uint8_t salt[2 * X_LEN];

	memcpy(salt, eph, X_LEN);
	memcpy(salt + X_LEN, rpub, X_LEN);
	return dsb_crypto_hkdf(shared, X_LEN, salt, sizeof(salt), (const uint8_t *)WRAP_INFO,
	    strlen(WRAP_INFO), kek, DSB_KEY_LEN);
}

/* ---- recipients and identities ---- */

static void recipient_string(const uint8_t pub[X_LEN], char out[DSB_RECIPIENT_LEN])
{
	uint8_t buf[18 + X_LEN], sum[DSB_HASH_LEN];

	memcpy(buf, "dsbackup recipient", 18);
	memcpy(buf + 18, pub, X_LEN);
	dsb_sha256(buf, sizeof(buf), sum);
	memcpy(out, RCPT_PREFIX, 5);
	dsb_hex_encode(pub, X_LEN, out + 5);
	dsb_hex_encode(sum, 4, out + 5 + 2 * X_LEN);
}

static int recipient_parse(const char *s, uint8_t pub[X_LEN])
{
	char check[DSB_RECIPIENT_LEN];

	if (strlen(s) != 5 + 2 * X_LEN + 8 || strncmp(s, RCPT_PREFIX, 5) != 0)
		return dsb_error(DSB_ERR_USAGE, "\"%.90s\" is not a dsbackup recipient "
		    "(expected dsbr1 and 72 hex digits)", s);
	if (dsb_hex_decode_n(s + 5, pub, X_LEN) != 0)
		return dsb_error(DSB_ERR_USAGE, "recipient \"%.90s\" has a non-hex digit", s);
	recipient_string(pub, check);
	if (strcmp(check, s) != 0)
		return dsb_error(DSB_ERR_USAGE, "recipient \"%.90s\" has a wrong checksum (mistyped?)", s);
	return 0;
}

int dsb_recipient_check(const char *s)
{
	uint8_t pub[X_LEN];

	return recipient_parse(s, pub);
}

int dsb_identity_generate(struct dsb_identity **out)
{
	struct dsb_identity *id;
	int r;

	if ((id = secret_alloc(sizeof(*id))) == NULL)
		return DSB_ERR_NOMEM;
	if ((r = dsb_random(id->priv, X_LEN)) != 0 || (r = dsb_x25519_public(id->priv, id->pub)) != 0) {
		secret_free(id, sizeof(*id));
		return r;
	}
	*out = id;
	return 0;
}

void dsb_identity_free(struct dsb_identity *id)
{
	secret_free(id, sizeof(*id));
}

void dsb_identity_recipient(const struct dsb_identity *id, char out[DSB_RECIPIENT_LEN])
{
	recipient_string(id->pub, out);
}

/* write ${text} to a new file ${path}, mode 0600, never replacing one */
static int write_secret_file(const char *path, const char *text, size_t len)
{
	int fd, r;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return dsb_error_errno(errno == EEXIST ? DSB_ERR_EXISTS : DSB_ERR_IO, errno,
		    "creating %s", path);
	if ((r = dsb_write_all(fd, text, len, path)) == 0 && fsync(fd) != 0)
		r = dsb_error_errno(DSB_ERR_IO, errno, "writing %s", path);
	close(fd);
	if (r != 0)
		unlink(path);
	return r;
}

int dsb_identity_save(const struct dsb_identity *id, const char *path)
{
	char rcpt[DSB_RECIPIENT_LEN], ts[64], text[512], hex[2 * X_LEN + 1];
	int64_t sec;
	long nsec;
	int n, r;

	recipient_string(id->pub, rcpt);
	dsb_time_now(&sec, &nsec);
	dsb_time_format(sec, 0, ts, sizeof(ts));
	dsb_hex_encode(id->priv, X_LEN, hex);
	n = snprintf(text, sizeof(text), "# dsbackup identity (X25519 private key), created %s\n"
	    "# recipient: %s\n%s%s\n", ts, rcpt, ID_PREFIX, hex);
	r = write_secret_file(path, text, (size_t)n);
	OPENSSL_cleanse(text, sizeof(text));
	OPENSSL_cleanse(hex, sizeof(hex));
	return r;
}

static int check_private_mode(const char *path, int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return dsb_error_errno(DSB_ERR_IO, errno, "stat %s", path);
	if (st.st_mode & 077)
		return dsb_error(DSB_ERR_USAGE, "%s is readable by group or others (mode %04o); "
		    "refusing to use it: chmod 600 %s", path, (unsigned)(st.st_mode & 07777), path);
	return 0;
}

/* read a small private file after checking its mode */
static int read_private(const char *path, char *buf, size_t size, size_t *len)
{
	ssize_t n;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return dsb_error_errno(errno == ENOENT ? DSB_ERR_NOT_FOUND : DSB_ERR_IO, errno,
		    "opening %s", path);
	if ((r = check_private_mode(path, fd)) != 0)
		goto out;
	n = read(fd, buf, size - 1);
	if (n < 0) {
		r = dsb_error_errno(DSB_ERR_IO, errno, "reading %s", path);
		goto out;
	}
	buf[n] = '\0';
	*len = (size_t)n;
out:
	close(fd);
	return r;
}

int dsb_identity_load(const char *path, struct dsb_identity **out)
{
	struct dsb_identity *id = NULL;
	char buf[1024], *line, *save = NULL;
	size_t len = 0;
	int r, found = 0;

	if ((r = read_private(path, buf, sizeof(buf), &len)) != 0)
		return r;
	if ((id = secret_alloc(sizeof(*id))) == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, ID_PREFIX, strlen(ID_PREFIX)) != 0)
			continue;
		line += strlen(ID_PREFIX);
		line[strcspn(line, "\r \t")] = '\0';
		if (dsb_hex_decode(line, id->priv, X_LEN) != 0) {
			r = dsb_error(DSB_ERR_USAGE, "%s: the identity line is malformed", path);
			goto out;
		}
		found = 1;
	}
	if (!found) {
		r = dsb_error(DSB_ERR_USAGE, "%s is not a dsbackup identity file (no %s line)", path,
		    ID_PREFIX);
		goto out;
	}
	if ((r = dsb_x25519_public(id->priv, id->pub)) != 0)
		goto out;
	*out = id;
	id = NULL;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	dsb_identity_free(id);
	return r;
}

/* ---- the slot documents ---- */

static int pk_aad(const struct pkslot *s, struct dsb_buf *aad)
{
	char num[3][16];
	int r;

	if ((r = dsb_slot_aad_add(aad, SLOT_LABEL)) != 0 ||
	    (r = dsb_slot_aad_add(aad, s->info.type)) != 0 ||
	    (r = dsb_slot_aad_add(aad, s->info.created)) != 0 ||
	    (r = dsb_slot_aad_add(aad, s->info.host)) != 0 ||
	    (r = dsb_slot_aad_add(aad, s->info.user)) != 0)
		return r;
	if (strcmp(s->info.type, RUNKEY_TYPE) == 0 &&
	    (r = dsb_slot_aad_add(aad, s->info.key_id)) != 0)
		return r;
	if (strcmp(s->info.type, "escrow-share") == 0) {
		snprintf(num[0], sizeof(num[0]), "%u", s->info.threshold);
		snprintf(num[1], sizeof(num[1]), "%u", s->info.shares);
		snprintf(num[2], sizeof(num[2]), "%u", s->info.index);
		if ((r = dsb_slot_aad_add(aad, s->info.set)) != 0 ||
		    (r = dsb_slot_aad_add(aad, num[0])) != 0 ||
		    (r = dsb_slot_aad_add(aad, num[1])) != 0 ||
		    (r = dsb_slot_aad_add(aad, num[2])) != 0)
			return r;
	}
	if ((r = dsb_slot_aad_add(aad, s->info.recipient)) != 0)
		return r;
	return dsb_buf_append(aad, s->eph, X_LEN);
}

static int pk_crypt(struct pkslot *s, const uint8_t kek[DSB_KEY_LEN], uint8_t *pt, size_t ptlen,
    int enc)
{
	struct dsb_aead *a = NULL;
	struct dsb_buf aad;
	int r;

	dsb_buf_init(&aad, 4096);
	if ((r = pk_aad(s, &aad)) != 0 || (r = dsb_aead_from_key(kek, &a)) != 0)
		goto out;
	if (enc) {
		r = dsb_aead_seal(a, s->nonce, aad.data, aad.len, pt, ptlen, s->data);
		s->datalen = ptlen + DSB_TAG_LEN;
	} else {
		r = s->datalen == ptlen + DSB_TAG_LEN ?
		    dsb_aead_open(a, s->nonce, aad.data, aad.len, s->data, s->datalen, pt) :
		    dsb_error(DSB_ERR_CORRUPT, "key slot data has the wrong length");
	}
out:
	dsb_aead_free(a);
	dsb_buf_release(&aad);
	return r;
}

static int pk_fill(struct pkslot *s, const char *type, const char *recipient, const char *host,
    const char *user)
{
	int64_t sec;
	long nsec;
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = recipient_parse(recipient, s->rpub)) != 0)
		return r;
	if (strlen(host) >= sizeof(s->info.host) || strlen(user) >= sizeof(s->info.user))
		return dsb_error(DSB_ERR_USAGE, "host or user name for the key slot is too long");
	snprintf(s->info.type, sizeof(s->info.type), "%s", type);
	snprintf(s->info.recipient, sizeof(s->info.recipient), "%s", recipient);
	snprintf(s->info.host, sizeof(s->info.host), "%s", host);
	snprintf(s->info.user, sizeof(s->info.user), "%s", user);
	dsb_time_now(&sec, &nsec);
	dsb_time_format(sec, nsec, s->info.created, sizeof(s->info.created));
	return dsb_random(s->nonce, DSB_NONCE_LEN);
}

/* seal ${pt} to the slot's recipient with a fresh ephemeral key */
static int pk_seal(struct pkslot *s, uint8_t *pt, size_t ptlen)
{
	uint8_t eph_priv[X_LEN], shared[X_LEN], kek[DSB_KEY_LEN];
	int r;

	if ((r = dsb_random(eph_priv, X_LEN)) != 0 || (r = dsb_x25519_public(eph_priv, s->eph)) != 0 ||
	    (r = x25519_shared(eph_priv, s->rpub, shared)) != 0 ||
	    (r = wrap_kek(shared, s->eph, s->rpub, kek)) != 0)
		goto out;
	r = pk_crypt(s, kek, pt, ptlen, 1);
out:
	OPENSSL_cleanse(eph_priv, sizeof(eph_priv));
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(kek, sizeof(kek));
	return r;
}

/* open the slot with an identity; BAD_KEY when the slot is not for it */
static int pk_open(struct pkslot *s, const struct dsb_identity *id, uint8_t *pt, size_t ptlen)
{
	uint8_t shared[X_LEN], kek[DSB_KEY_LEN];
	int r;

	if (CRYPTO_memcmp(s->rpub, id->pub, X_LEN) != 0)
		return dsb_error(DSB_ERR_BAD_KEY, "key slot is for another recipient");
	if ((r = x25519_shared(id->priv, s->eph, shared)) != 0 ||
	    (r = wrap_kek(shared, s->eph, s->rpub, kek)) != 0)
		goto out;
	r = pk_crypt(s, kek, pt, ptlen, 0);
	if (r == DSB_ERR_AUTH)
		r = dsb_error(DSB_ERR_BAD_KEY, "key slot does not authenticate with this identity");
out:
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(kek, sizeof(kek));
	return r;
}

static int pk_to_text(const struct pkslot *s, struct dsb_buf *out)
{
	char *eph = dsb_slot_b64(s->eph, X_LEN), *nonce = dsb_slot_b64(s->nonce, DSB_NONCE_LEN);
	char *data = dsb_slot_b64(s->data, s->datalen), *text = NULL;
	json_t *o = NULL;
	int r = DSB_ERR_NOMEM;

	if (eph == NULL || nonce == NULL || data == NULL)
		goto out;
	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "version", 1,
	    "type", s->info.type, "created", s->info.created, "host", s->info.host,
	    "user", s->info.user, "recipient", s->info.recipient, "ephemeral", eph,
	    "nonce", nonce, "data", data);
	if (o == NULL)
		goto out;
	if (strcmp(s->info.type, RUNKEY_TYPE) == 0)
		json_object_set_new(o, "key_id", json_string(s->info.key_id));
	if (strcmp(s->info.type, "escrow-share") == 0) {
		json_object_set_new(o, "set", json_string(s->info.set));
		json_object_set_new(o, "threshold", json_integer(s->info.threshold));
		json_object_set_new(o, "shares", json_integer(s->info.shares));
		json_object_set_new(o, "index", json_integer(s->info.index));
	}
	if ((text = json_dumps(o, JSON_COMPACT)) == NULL)
		goto out;
	dsb_buf_reset(out);
	r = dsb_buf_append(out, text, strlen(text));
out:
	if (r == DSB_ERR_NOMEM)
		dsb_error(r, "out of memory encoding a key slot (names must be UTF-8)");
	free(eph);
	free(nonce);
	free(data);
	free(text);
	json_decref(o);
	return r;
}

static int pk_parse_share_fields(json_t *root, struct pkslot *s)
{
	uint8_t set[16];
	int r;

	if ((r = dsb_slot_get_string(root, "set", s->info.set, sizeof(s->info.set))) != 0 ||
	    (r = dsb_slot_get_uint(root, "threshold", &s->info.threshold)) != 0 ||
	    (r = dsb_slot_get_uint(root, "shares", &s->info.shares)) != 0 ||
	    (r = dsb_slot_get_uint(root, "index", &s->info.index)) != 0)
		return r;
	if (dsb_hex_decode(s->info.set, set, sizeof(set)) != 0)
		return dsb_error(DSB_ERR_CORRUPT, "escrow share: \"set\" is not 32 hex digits");
	if (s->info.threshold < 1 || s->info.shares < s->info.threshold || s->info.shares > 255 ||
	    s->info.index < 1 || s->info.index > s->info.shares)
		return dsb_error(DSB_ERR_CORRUPT, "escrow share: threshold %u, shares %u, index %u "
		    "are inconsistent", s->info.threshold, s->info.shares, s->info.index);
	return 0;
}

static int pk_parse(const void *p, size_t len, struct pkslot *s)
{
	json_t *root;
	unsigned version;
	size_t ctlen;
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = dsb_slot_parse_head(p, len, &root, &s->info, &version)) != 0)
		return r;
	if (version != 1 || (strcmp(s->info.type, "x25519") != 0 &&
	    strcmp(s->info.type, "escrow-share") != 0 && strcmp(s->info.type, RUNKEY_TYPE) != 0)) {
		r = dsb_error(DSB_ERR_UNSUPPORTED, "key slot type \"%s\" version %u is not a public-key slot",
		    s->info.type, version);
		goto out;
	}
	ctlen = strcmp(s->info.type, "x25519") == 0 ? DSB_SLOT_PT_LEN + DSB_TAG_LEN : MAX_CT_LEN;
	if (strcmp(s->info.type, RUNKEY_TYPE) == 0) {
		ctlen = RUNKEY_PT_LEN + DSB_TAG_LEN;
		if ((r = dsb_slot_get_string(root, "key_id", s->info.key_id,
		    sizeof(s->info.key_id))) != 0)
			goto out;
		if (dsb_hex_decode(s->info.key_id, s->key_id, DSB_KEYID_LEN) != 0) {
			r = dsb_error(DSB_ERR_CORRUPT, "run-key slot: \"key_id\" is not 16 hex digits");
			goto out;
		}
	}
	if ((r = dsb_slot_get_origin(root, &s->info)) != 0 ||
	    (r = dsb_slot_get_string(root, "recipient", s->info.recipient,
	    sizeof(s->info.recipient))) != 0 ||
	    (r = dsb_slot_get_b64(root, "ephemeral", s->eph, X_LEN)) != 0 ||
	    (r = dsb_slot_get_b64(root, "nonce", s->nonce, DSB_NONCE_LEN)) != 0 ||
	    (r = dsb_slot_get_b64(root, "data", s->data, ctlen)) != 0)
		goto out;
	s->datalen = ctlen;
	if (recipient_parse(s->info.recipient, s->rpub) != 0) {
		r = dsb_error(DSB_ERR_CORRUPT, "key slot: %s", dsb_errmsg());
		goto out;
	}
	if (strcmp(s->info.type, "escrow-share") == 0)
		r = pk_parse_share_fields(root, s);
out:
	json_decref(root);
	return r;
}

int dsb_keyslot_info_any(const void *slot, size_t len, struct dsb_keyslot_info *info)
{
	struct pkslot s;
	int r;

	r = dsb_keyslot_info(slot, len, info);
	if (r != DSB_ERR_UNSUPPORTED)
		return r;
	r = pk_parse(slot, len, &s);
	if (r == DSB_ERR_UNSUPPORTED)
		return dsb_keyring_info(slot, len, info);
	if (r != 0)
		return r;
	*info = s.info;
	return 0;
}

int dsb_keyslot_create_recipient(const struct dsb_keys *k, const char *recipient,
    const char *host, const char *user, struct dsb_buf *out)
{
	uint8_t pt[DSB_SLOT_PT_LEN];
	struct pkslot s;
	int r;

	if ((r = pk_fill(&s, "x25519", recipient, host ? host : "", user ? user : "")) != 0)
		return r;
	memcpy(pt, DSB_SLOT_MAGIC, DSB_SLOT_MAGIC_LEN);
	dsb_keys_export(k, pt + DSB_SLOT_MAGIC_LEN);
	if ((r = pk_seal(&s, pt, sizeof(pt))) == 0)
		r = pk_to_text(&s, out);
	OPENSSL_cleanse(pt, sizeof(pt));
	return r;
}

int dsb_keyslot_open_identity(const void *slot, size_t len, const struct dsb_identity *id,
    struct dsb_keys **out)
{
	uint8_t pt[DSB_SLOT_PT_LEN];
	struct pkslot s;
	int r;

	if ((r = pk_parse(slot, len, &s)) != 0)
		return r;
	if (strcmp(s.info.type, "x25519") != 0)
		return dsb_error(DSB_ERR_UNSUPPORTED, "not an x25519 key slot");
	if ((r = pk_open(&s, id, pt, sizeof(pt))) == 0) {
		if (CRYPTO_memcmp(pt, DSB_SLOT_MAGIC, DSB_SLOT_MAGIC_LEN) != 0)
			r = dsb_error(DSB_ERR_CORRUPT, "key slot decrypts to an unknown key format");
		else
			r = dsb_keys_from_raw(pt + DSB_SLOT_MAGIC_LEN, out);
	}
	OPENSSL_cleanse(pt, sizeof(pt));
	return r;
}

/* ---- run keys of write-only hosts and escrowed sources ---- */

int dsb_runkey_create_to(const struct dsb_keys *k, const char *recipient, const char *host,
    const char *user, struct dsb_buf *out)
{
	uint8_t pt[RUNKEY_PT_LEN];
	struct pkslot s;
	int r;

	if ((r = pk_fill(&s, RUNKEY_TYPE, recipient, host ? host : "", user ? user : "")) != 0)
		return r;
	dsb_hex_encode(k->key_id, DSB_KEYID_LEN, s.info.key_id);
	memcpy(pt, RUNKEY_MAGIC, 8);
	memcpy(pt + 8, k->data_key, DSB_KEY_LEN);
	if ((r = pk_seal(&s, pt, sizeof(pt))) == 0)
		r = pk_to_text(&s, out);
	OPENSSL_cleanse(pt, sizeof(pt));
	return r;
}

int dsb_runkey_create(const struct dsb_keys *k, const char *host, const char *user,
    struct dsb_buf *out)
{
	char recipient[DSB_RECIPIENT_LEN];

	if (!k->has_repo_pk)
		return dsb_error(DSB_ERR_USAGE, "the keys hold no repository public key for a run key");
	recipient_string(k->repo_pk, recipient);
	return dsb_runkey_create_to(k, recipient, host, user, out);
}

/* runkey_parse(slot, len, s): a run-key slot, DSB_ERR_UNSUPPORTED for other types */
static int runkey_parse(const void *slot, size_t len, struct pkslot *s)
{
	int r;

	if ((r = pk_parse(slot, len, s)) != 0)
		return r;
	if (strcmp(s->info.type, RUNKEY_TYPE) != 0)
		return dsb_error(DSB_ERR_UNSUPPORTED, "not a run-key slot");
	return 0;
}

/* runkey_unwrap(k, s, id): open ${s} with ${id} and add its run key to ${k} */
static int runkey_unwrap(struct dsb_keys *k, struct pkslot *s, const struct dsb_identity *id)
{
	uint8_t pt[RUNKEY_PT_LEN], kid[DSB_KEYID_LEN];
	int r;

	if (dsb_keys_find(k, s->key_id) != NULL)
		return 0;
	if ((r = pk_open(s, id, pt, sizeof(pt))) != 0)
		goto out;
	dsb_key_id_of(pt + 8, kid);
	if (CRYPTO_memcmp(pt, RUNKEY_MAGIC, 8) != 0 || memcmp(kid, s->key_id, DSB_KEYID_LEN) != 0) {
		r = dsb_error(DSB_ERR_CORRUPT, "run-key slot %s decrypts to a key with another id",
		    s->info.key_id);
		goto out;
	}
	r = dsb_keys_ring_add(k, pt + 8, 1);
out:
	OPENSSL_cleanse(pt, sizeof(pt));
	return r;
}

int dsb_runkey_open(struct dsb_keys *k, const void *slot, size_t len)
{
	struct dsb_identity repo;
	struct pkslot s;
	int r;

	if ((r = runkey_parse(slot, len, &s)) != 0)
		return r;
	if (!k->has_repo_sk)
		return dsb_error(DSB_ERR_BAD_KEY, "these keys do not hold the repository's private key");
	memcpy(repo.priv, k->repo_sk, X_LEN);
	memcpy(repo.pub, k->repo_pk, X_LEN);
	r = runkey_unwrap(k, &s, &repo);
	OPENSSL_cleanse(&repo, sizeof(repo));
	return r;
}

int dsb_runkey_open_identity(struct dsb_keys *k, const void *slot, size_t len,
    const struct dsb_identity *id)
{
	struct pkslot s;
	int r;

	if ((r = runkey_parse(slot, len, &s)) != 0)
		return r;
	return runkey_unwrap(k, &s, id);
}

int dsb_runkey_note_escrow(struct dsb_keys *k, const void *slot, size_t len)
{
	struct pkslot s;
	int r;

	if ((r = runkey_parse(slot, len, &s)) != 0)
		return r;
	if (dsb_keys_find(k, s.key_id) != NULL ||
	    (k->has_repo_pk && CRYPTO_memcmp(s.rpub, k->repo_pk, X_LEN) == 0))
		return 0;
	return dsb_keys_escrow_add(k, s.key_id, s.info.recipient);
}

/* ---- escrow ---- */

int dsb_escrow_split(const struct dsb_keys *k, unsigned threshold, const char *const *recipients,
    size_t n, const char *host, const char *user, struct dsb_buf *slots)
{
	uint8_t secret[DSB_SLOT_PT_LEN], *ys = NULL, pt[SHARE_PT_LEN], setid[16];
	struct pkslot s;
	char set[33];
	size_t i;
	int r;

	if (n < 1 || n > 255 || threshold < 1 || threshold > n)
		return dsb_error(DSB_ERR_USAGE, "threshold %u of %zu recipients: need 1 <= K <= N <= 255",
		    threshold, n);
	for (i = 0; i < n; i++)
		if ((r = recipient_parse(recipients[i], s.rpub)) != 0)
			return r;
	if ((ys = secret_alloc(n * DSB_SLOT_PT_LEN)) == NULL)
		return DSB_ERR_NOMEM;
	memcpy(secret, DSB_SLOT_MAGIC, DSB_SLOT_MAGIC_LEN);
	dsb_keys_export(k, secret + DSB_SLOT_MAGIC_LEN);
	if ((r = dsb_random(setid, sizeof(setid))) != 0 ||
	    (r = dsb_shamir_split(secret, DSB_SLOT_PT_LEN, threshold, (unsigned)n, ys)) != 0)
		goto out;
	dsb_hex_encode(setid, sizeof(setid), set);
	for (i = 0; i < n; i++) {
		if ((r = pk_fill(&s, "escrow-share", recipients[i], host ? host : "", user ? user : "")) != 0)
			goto out;
		snprintf(s.info.set, sizeof(s.info.set), "%s", set);
		s.info.threshold = threshold;
		s.info.shares = (unsigned)n;
		s.info.index = (unsigned)i + 1;
		memcpy(pt, SHARE_MAGIC, 8);
		memcpy(pt + 8, ys + i * DSB_SLOT_PT_LEN, DSB_SLOT_PT_LEN);
		if ((r = pk_seal(&s, pt, sizeof(pt))) != 0 || (r = pk_to_text(&s, &slots[i])) != 0)
			goto out;
	}
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(pt, sizeof(pt));
	secret_free(ys, n * DSB_SLOT_PT_LEN);
	return r;
}

int dsb_escrow_share_open(const void *slot, size_t len, const struct dsb_identity *id,
    struct dsb_share **out)
{
	uint8_t pt[SHARE_PT_LEN];
	struct dsb_share *sh = NULL;
	struct pkslot s;
	int r;

	if ((r = pk_parse(slot, len, &s)) != 0)
		return r;
	if (strcmp(s.info.type, "escrow-share") != 0)
		return dsb_error(DSB_ERR_UNSUPPORTED, "not an escrow-share key slot");
	if ((r = pk_open(&s, id, pt, sizeof(pt))) != 0)
		goto out;
	if (CRYPTO_memcmp(pt, SHARE_MAGIC, 8) != 0) {
		r = dsb_error(DSB_ERR_CORRUPT, "escrow share decrypts to an unknown format");
		goto out;
	}
	if ((sh = secret_alloc(sizeof(*sh))) == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	memcpy(sh->set, s.info.set, sizeof(sh->set));
	sh->threshold = s.info.threshold;
	sh->shares = s.info.shares;
	sh->index = s.info.index;
	memcpy(sh->y, pt + 8, DSB_SLOT_PT_LEN);
	*out = sh;
out:
	OPENSSL_cleanse(pt, sizeof(pt));
	return r;
}

void dsb_share_free(struct dsb_share *sh)
{
	secret_free(sh, sizeof(*sh));
}

void dsb_share_info(const struct dsb_share *sh, char set[33], unsigned *threshold, unsigned *index)
{
	memcpy(set, sh->set, 33);
	*threshold = sh->threshold;
	*index = sh->index;
}

int dsb_share_export(const struct dsb_share *sh, struct dsb_buf *out)
{
	char hex[2 * DSB_SLOT_PT_LEN + 1], line[640];
	int n, r;

	dsb_hex_encode(sh->y, DSB_SLOT_PT_LEN, hex);
	n = snprintf(line, sizeof(line), "%s set=%s threshold=%u shares=%u index=%u y=%s\n",
	    SHARE_PREFIX, sh->set, sh->threshold, sh->shares, sh->index, hex);
	dsb_buf_reset(out);
	r = dsb_buf_append(out, line, (size_t)n);
	OPENSSL_cleanse(hex, sizeof(hex));
	OPENSSL_cleanse(line, sizeof(line));
	return r;
}

int dsb_share_import(const void *text, size_t len, struct dsb_share **out)
{
	char line[640], set[40], hex[2 * DSB_SLOT_PT_LEN + 16];   /* %223s below */
	struct dsb_share *sh = NULL;
	unsigned k, n, i;
	uint8_t tmp[16];
	int r = 0;

	if (len >= sizeof(line))
		return dsb_error(DSB_ERR_USAGE, "not a dsbackup share: too long");
	memcpy(line, text, len);
	line[len] = '\0';
	if (sscanf(line, SHARE_PREFIX " set=%39s threshold=%u shares=%u index=%u y=%223s",
	    set, &k, &n, &i, hex) != 5 || dsb_hex_decode(set, tmp, 16) != 0 ||
	    k < 1 || n < k || n > 255 || i < 1 || i > n) {
		r = dsb_error(DSB_ERR_USAGE, "not a dsbackup share (expected a %s line)", SHARE_PREFIX);
		goto out;
	}
	if ((sh = secret_alloc(sizeof(*sh))) == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	if (dsb_hex_decode(hex, sh->y, DSB_SLOT_PT_LEN) != 0) {
		r = dsb_error(DSB_ERR_USAGE, "share: malformed share value");
		goto out;
	}
	memcpy(sh->set, set, 33);
	sh->threshold = k;
	sh->shares = n;
	sh->index = i;
	*out = sh;
	sh = NULL;
out:
	OPENSSL_cleanse(line, sizeof(line));
	OPENSSL_cleanse(hex, sizeof(hex));
	dsb_share_free(sh);
	return r;
}

int dsb_escrow_combine(struct dsb_share *const *shares, size_t n, struct dsb_keys **out)
{
	const uint8_t *ys[255];
	uint8_t xs[255], secret[DSB_SLOT_PT_LEN];
	unsigned k, used = 0;
	size_t i, j;
	int r, dup;

	if (n == 0)
		return dsb_error(DSB_ERR_BAD_KEY, "no escrow shares given");
	k = shares[0]->threshold;
	for (i = 0; i < n && used < k; i++) {
		if (strcmp(shares[i]->set, shares[0]->set) != 0 || shares[i]->threshold != k)
			return dsb_error(DSB_ERR_BAD_KEY, "the shares belong to different escrow sets");
		for (j = 0, dup = 0; j < used; j++)
			dup |= xs[j] == shares[i]->index;
		if (dup)
			continue;
		xs[used] = (uint8_t)shares[i]->index;
		ys[used] = shares[i]->y;
		used++;
	}
	if (used < k)
		return dsb_error(DSB_ERR_BAD_KEY, "escrow set %.8s needs %u shares, have %u", shares[0]->set,
		    k, used);
	if ((r = dsb_shamir_combine(xs, ys, k, DSB_SLOT_PT_LEN, secret)) != 0)
		goto out;
	if (CRYPTO_memcmp(secret, DSB_SLOT_MAGIC, DSB_SLOT_MAGIC_LEN) != 0) {
		r = dsb_error(DSB_ERR_BAD_KEY, "the escrow shares do not combine into a key (damaged?)");
		goto out;
	}
	r = dsb_keys_from_raw(secret + DSB_SLOT_MAGIC_LEN, out);
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	return r;
}
