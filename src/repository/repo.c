/*
 * repo.c: open and create repositories; config, key slots, packs, blobs and
 * snapshots on the backend (docs/FORMAT.md §1-§7, §9).
 */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/repo.h"
#include "dsbackup/util.h"
#include "repo_internal.h"

#define CONFIG_MAX (64 * 1024)

void dsb_repo_init_opts_default(struct dsb_repo_init_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->kdf.log2_n = DSB_KDF_DEFAULT_LOG2_N;
	o->kdf.r = DSB_KDF_DEFAULT_R;
	o->kdf.p = DSB_KDF_DEFAULT_P;
	o->chunker.min = DSB_CHUNK_MIN_DEFAULT;
	o->chunker.avg = DSB_CHUNK_AVG_DEFAULT;
	o->chunker.max = DSB_CHUNK_MAX_DEFAULT;
	o->pack_size = 16u << 20;
	o->compression = 3;
}

const struct dsb_repo_config *dsb_repo_config(const struct dsb_repo *r)
{
	return &r->cfg;
}

const struct dsb_keys *dsb_repo_keys(const struct dsb_repo *r)
{
	return r->keys;
}

struct dsb_backend *dsb_repo_backend(const struct dsb_repo *r)
{
	return r->be;
}

void dsb_repo_close(struct dsb_repo *r)
{
	if (r == NULL)
		return;
	dsb_repo_escrow_release(r);
	dsb_keys_free(r->keys);
	dsb_backend_close(r->be);
	free(r);
}

/* ---- config ---- */

static int check_config(struct dsb_repo_config *c)
{
	uint8_t id[32];
	int r;

	if (c->version != 1)
		return dsb_error(DSB_ERR_UNSUPPORTED, "repository format version %d is not supported "
		    "by this dsbackup (it reads version 1)", c->version);
	if (dsb_hex_decode(c->id, id, sizeof(id)) != 0)
		return dsb_error(DSB_ERR_CORRUPT, "config: \"id\" is not 64 hex digits");
	if ((r = dsb_chunker_params_check(&c->chunker)) != 0)
		return dsb_error_wrap(DSB_ERR_CORRUPT, "config: chunker");
	if (c->pack_size < (1u << 20) || c->pack_size > (1u << 30))
		return dsb_error(DSB_ERR_CORRUPT, "config: pack_size %u is outside 1 MiB..1 GiB",
		    c->pack_size);
	if (c->compression < 0 || c->compression > 19)
		return dsb_error(DSB_ERR_CORRUPT, "config: compression %d is outside 0..19",
		    c->compression);
	return 0;
}

static int parse_config(const struct dsb_buf *b, struct dsb_repo_config *c)
{
	json_error_t jerr;
	json_t *root;
	const char *id = NULL, *created = "";
	json_int_t version = 0, cmin = 0, cavg = 0, cmax = 0, pack = 0, comp = -1;
	int r;

	if ((root = json_loadb((const char *)b->data, b->len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return dsb_error(DSB_ERR_CORRUPT, "config is not valid JSON: %s (line %d)",
		    jerr.text, jerr.line);
	if (json_unpack_ex(root, &jerr, 0, "{s:I, s:s, s?s, s:{s:I, s:I, s:I}, s:I, s:I}",
	    "version", &version, "id", &id, "created", &created, "chunker", "min", &cmin,
	    "avg", &cavg, "max", &cmax, "pack_size", &pack, "compression", &comp) != 0) {
		r = dsb_error(DSB_ERR_CORRUPT, "config: %s", jerr.text);
		goto out;
	}
	memset(c, 0, sizeof(*c));
	c->version = version > 0 && version < 1000 ? (int)version : -1;
	/* a longer id stays empty, for check_config to refuse, rather than cut to 64 characters */
	if (strlen(id) < sizeof(c->id))
		snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(c->created, sizeof(c->created), "%s", created);
	if (cmin <= 0 || cavg <= 0 || cmax <= 0 || cmax > (1 << 30) || pack <= 0 || pack > (1 << 30)) {
		r = dsb_error(DSB_ERR_CORRUPT, "config: sizes out of range");
		goto out;
	}
	c->chunker.min = (uint32_t)cmin;
	c->chunker.avg = (uint32_t)cavg;
	c->chunker.max = (uint32_t)cmax;
	c->pack_size = (uint32_t)pack;
	c->compression = comp >= 0 && comp <= 100 ? (int)comp : -1;
	r = check_config(c);
out:
	json_decref(root);
	return r;
}

static int write_config(struct dsb_repo *r)
{
	json_t *root;
	char *text = NULL;
	int rc;

	root = json_pack("{s:i, s:s, s:s, s:{s:I, s:I, s:I}, s:I, s:i}",
	    "version", r->cfg.version, "id", r->cfg.id, "created", r->cfg.created,
	    "chunker", "min", (json_int_t)r->cfg.chunker.min, "avg", (json_int_t)r->cfg.chunker.avg,
	    "max", (json_int_t)r->cfg.chunker.max, "pack_size", (json_int_t)r->cfg.pack_size,
	    "compression", r->cfg.compression);
	if (root == NULL || (text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL) {
		json_decref(root);
		return dsb_error(DSB_ERR_NOMEM, "out of memory writing config");
	}
	rc = dsb_backend_put(r->be, "config", text, strlen(text), DSB_PUT_NO_OVERWRITE);
	free(text);
	json_decref(root);
	return rc;
}

int dsb_repo_probe(const char *url, struct dsb_repo_config *cfg)
{
	struct dsb_backend *be = NULL;
	struct dsb_buf b;
	int r;

	dsb_buf_init(&b, CONFIG_MAX);
	if ((r = dsb_backend_open(url, &be)) != 0)
		goto out;
	if ((r = dsb_backend_get(be, "config", 0, 0, &b)) != 0) {
		if (r == DSB_ERR_NOT_FOUND)
			r = dsb_error(DSB_ERR_NO_REPO, "there is no repository at %s (no config object); "
			    "create one with \"dsbackup init\"", url);
		else if (r == DSB_ERR_LIMIT)  /* the buffer's maximum refused it */
			r = dsb_error(DSB_ERR_CORRUPT, "config of %s is larger than %d bytes", url,
			    CONFIG_MAX);
		goto out;
	}
	if (b.len > CONFIG_MAX) {
		r = dsb_error(DSB_ERR_CORRUPT, "config of %s is larger than %d bytes", url, CONFIG_MAX);
		goto out;
	}
	r = parse_config(&b, cfg);
out:
	dsb_buf_release(&b);
	dsb_backend_close(be);
	return r;
}

/* ---- key slots ---- */

void dsb_repo_who(char *host, size_t hn, char *user, size_t un)
{
	struct passwd *pw = getpwuid(geteuid());

	if (gethostname(host, hn) != 0)
		snprintf(host, hn, "unknown");
	host[hn - 1] = '\0';
	snprintf(user, un, "%s", pw != NULL ? pw->pw_name : "unknown");
}

/* ---- open and init ---- */

int dsb_repo_open(const char *url, const char *pass, size_t passlen, struct dsb_repo **out)
{
	struct dsb_unlock u;

	memset(&u, 0, sizeof(u));
	u.pass = pass;
	u.passlen = passlen;
	return dsb_repo_open_with(url, &u, out);
}

int dsb_repo_open_public(const char *url, struct dsb_repo **out)
{
	struct dsb_repo *r;
	int rc;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	if ((rc = dsb_repo_probe(url, &r->cfg)) != 0 || (rc = dsb_backend_open(url, &r->be)) != 0) {
		dsb_repo_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

int dsb_repo_open_with(const char *url, const struct dsb_unlock *u, struct dsb_repo **out)
{
	struct dsb_repo *r;
	int rc;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	if ((rc = dsb_repo_probe(url, &r->cfg)) != 0)
		goto out;
	if ((rc = dsb_backend_open(url, &r->be)) != 0)
		goto out;
	if ((rc = dsb_repo_unlock(r, u)) != 0)
		goto out;
	*out = r;
	r = NULL;
out:
	dsb_repo_close(r);
	return rc;
}

int dsb_repo_init(const char *url, const char *pass, size_t passlen,
    const struct dsb_repo_init_opts *opts, struct dsb_repo **out)
{
	struct dsb_repo_config probe;
	struct dsb_repo *r;
	uint8_t id[32];
	int64_t sec;
	long nsec;
	int rc;

	rc = dsb_repo_probe(url, &probe);
	if (rc == 0 || (rc != DSB_ERR_NO_REPO && rc != DSB_ERR_NOT_FOUND))
		return rc == 0 ? dsb_error(DSB_ERR_EXISTS, "%s already holds a repository (id %.16s)",
		    url, probe.id) : rc;
	if ((rc = dsb_chunker_params_check(&opts->chunker)) != 0)
		return rc;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	r->cfg.version = 1;
	r->cfg.chunker = opts->chunker;
	r->cfg.pack_size = opts->pack_size;
	r->cfg.compression = opts->compression;
	dsb_time_now(&sec, &nsec);
	dsb_time_format(sec, 0, r->cfg.created, sizeof(r->cfg.created));
	if ((rc = dsb_random(id, sizeof(id))) != 0)
		goto out;
	dsb_hex_encode(id, sizeof(id), r->cfg.id);
	if ((rc = check_config(&r->cfg)) != 0)
		goto out;
	if ((rc = dsb_keys_generate(&r->keys)) != 0)
		goto out;
	if ((rc = dsb_backend_open(url, &r->be)) != 0 || (rc = dsb_backend_create(r->be)) != 0)
		goto out;
	/* the key slot first: config is what makes the repository exist */
	if ((rc = dsb_repo_add_passphrase_slot(r, pass, passlen, &opts->kdf)) != 0)
		goto out;
	if ((rc = write_config(r)) != 0)
		goto out;
	*out = r;
	r = NULL;
out:
	dsb_repo_close(r);
	return rc;
}

/* ---- packs and blobs ---- */

void dsb_repo_pack_name(const uint8_t id[DSB_HASH_LEN], char *out)
{
	char hex[65];

	dsb_hex_encode(id, DSB_HASH_LEN, hex);
	snprintf(out, 80, "data/%.2s/%s", hex, hex);
}

int dsb_repo_put_pack(struct dsb_repo *r, const struct dsb_pack_result *res)
{
	char name[80];
	int rc;

	if ((rc = dsb_repo_store_run_key(r)) != 0)
		return rc;
	dsb_repo_pack_name(res->id, name);
	rc = dsb_backend_put(r->be, name, res->bytes, res->len, DSB_PUT_NO_OVERWRITE);
	if (rc == DSB_ERR_EXISTS)
		rc = 0;  /* content-addressed: the same bytes are already there */
	return rc;
}

int dsb_repo_read_pack_trailer(struct dsb_repo *r, const uint8_t id[DSB_HASH_LEN], uint64_t size,
    struct dsb_pack_header *hdr, struct dsb_pack_entry **entries, size_t *n)
{
	struct dsb_buf b;
	char name[80];
	uint32_t tlen;
	int rc;

	dsb_buf_init(&b, (size_t)DSB_PACK_MAX);
	dsb_repo_pack_name(id, name);
	if (size == 0 && (rc = dsb_backend_stat(r->be, name, &size)) != 0)
		goto out;
	if (size < DSB_PACK_HEADER_LEN + DSB_PACK_FOOTER_LEN + 4 + DSB_TAG_LEN || size > DSB_PACK_MAX) {
		rc = dsb_error(DSB_ERR_CORRUPT, "pack %s has an impossible size of %llu bytes", name,
		    (unsigned long long)size);
		goto out;
	}
	if ((rc = dsb_backend_get(r->be, name, 0, DSB_PACK_HEADER_LEN, &b)) != 0 ||
	    (rc = dsb_pack_parse_header(b.data, b.len, hdr)) != 0)
		goto fail;
	if ((rc = dsb_backend_get(r->be, name, size - DSB_PACK_FOOTER_LEN, DSB_PACK_FOOTER_LEN, &b)) != 0 ||
	    (rc = dsb_pack_parse_footer(b.data, b.len, size, &tlen)) != 0)
		goto fail;
	if ((rc = dsb_backend_get(r->be, name, size - DSB_PACK_FOOTER_LEN - tlen, tlen, &b)) != 0 ||
	    (rc = dsb_pack_open_trailer(r->keys, hdr, b.data, b.len, size, entries, n)) != 0)
		goto fail;
	goto out;
fail:
	rc = dsb_error_wrap(rc, "reading pack %s", name);
out:
	dsb_buf_release(&b);
	return rc;
}

int dsb_repo_read_blob(struct dsb_repo *r, struct dsb_blob_opener *opener,
    const struct dsb_blob_ref *ref, struct dsb_buf *scratch, struct dsb_buf *out)
{
	char name[80], hex[65];
	int rc;

	dsb_repo_pack_name(ref->pack, name);
	if ((rc = dsb_backend_get(r->be, name, ref->entry.offset, ref->entry.stored_len, scratch)) != 0)
		return rc;
	if ((rc = dsb_blob_open(opener, &ref->header, &ref->entry, scratch->data, out)) != 0) {
		dsb_hex_encode(ref->entry.id, DSB_HASH_LEN, hex);
		return dsb_error_wrap(rc, "blob %.16s at offset %llu of pack %s", hex,
		    (unsigned long long)ref->entry.offset, name);
	}
	return 0;
}

/* ---- snapshots and listing ---- */

int dsb_repo_put_object(struct dsb_repo *r, const char *dir, const char *type, const void *raw,
    size_t len, char id_hex[65])
{
	struct dsb_buf obj;
	uint8_t digest[DSB_HASH_LEN];
	char name[96];
	int rc;

	dsb_buf_init(&obj, 0);
	if ((rc = dsb_repo_store_run_key(r)) != 0 ||
	    (rc = dsb_object_seal(r->keys, type, raw, len, r->cfg.compression, &obj)) != 0)
		goto out;
	dsb_sha256(obj.data, obj.len, digest);
	dsb_hex_encode(digest, sizeof(digest), id_hex);
	snprintf(name, sizeof(name), "%s/%s", dir, id_hex);
	rc = dsb_backend_put(r->be, name, obj.data, obj.len, DSB_PUT_NO_OVERWRITE);
out:
	dsb_buf_release(&obj);
	return rc;
}

int dsb_repo_get_object(struct dsb_repo *r, const char *dir, const char *type, const char *id_hex,
    size_t max_raw, struct dsb_buf *out)
{
	struct dsb_buf obj;
	uint8_t digest[DSB_HASH_LEN], want[DSB_HASH_LEN];
	char name[96];
	int rc;

	if (dsb_hex_decode(id_hex, want, sizeof(want)) != 0)
		return dsb_error(DSB_ERR_USAGE, "invalid %s id \"%s\"", type, id_hex);
	dsb_buf_init(&obj, max_raw + 4096);
	snprintf(name, sizeof(name), "%s/%s", dir, id_hex);
	if ((rc = dsb_backend_get(r->be, name, 0, 0, &obj)) != 0)
		goto out;
	dsb_sha256(obj.data, obj.len, digest);
	if (memcmp(digest, want, sizeof(want)) != 0) {
		rc = dsb_error(DSB_ERR_AUTH, "%s: content does not hash to its name (damaged)", name);
		goto out;
	}
	if ((rc = dsb_object_open(r->keys, type, obj.data, obj.len, max_raw, out)) != 0)
		rc = dsb_error_wrap(rc, "%s", name);
out:
	dsb_buf_release(&obj);
	return rc;
}

int dsb_repo_put_snapshot(struct dsb_repo *r, const char *json, char id_hex[65])
{
	return dsb_repo_put_object(r, "snapshots", "snapshot", json, strlen(json), id_hex);
}

int dsb_repo_get_snapshot(struct dsb_repo *r, const char *id_hex, char **json)
{
	struct dsb_buf b;
	char *s;
	int rc;

	dsb_buf_init(&b, DSB_OBJ_MAX_SNAPSHOT + 1);
	if ((rc = dsb_repo_get_object(r, "snapshots", "snapshot", id_hex, DSB_OBJ_MAX_SNAPSHOT, &b)) != 0)
		goto out;
	if ((s = malloc(b.len + 1)) == NULL) {
		rc = dsb_error(DSB_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(s, b.data, b.len);
	s[b.len] = '\0';
	if (strlen(s) != b.len) {
		free(s);
		rc = dsb_error(DSB_ERR_CORRUPT, "snapshot %s contains a NUL byte", id_hex);
		goto out;
	}
	*json = s;
out:
	dsb_buf_release(&b);
	return rc;
}

int dsb_repo_remove_snapshot(struct dsb_repo *r, const char *id_hex)
{
	char name[96];

	snprintf(name, sizeof(name), "snapshots/%s", id_hex);
	return dsb_backend_remove(r->be, name);
}

struct list_ctx {
	const char *dir;
	int (*cb)(void *arg, const char *id_hex, uint64_t size);
	void *arg;
};

static int list_one(void *arg, const char *name, uint64_t size)
{
	struct list_ctx *l = arg;
	const char *base = strrchr(name, '/');
	uint8_t id[DSB_HASH_LEN];

	base = base != NULL ? base + 1 : name;
	if (dsb_hex_decode(base, id, sizeof(id)) != 0) {
		dsb_error_clear();
		dsb_debug("ignoring %s: not a dsbackup object name", name);
		return 0;
	}
	if (strcmp(l->dir, "data") == 0 && strncmp(name + 5, base, 2) != 0) {
		dsb_debug("ignoring %s: pack in the wrong directory", name);
		return 0;
	}
	return l->cb(l->arg, base, size);
}

int dsb_repo_list(struct dsb_repo *r, const char *dir,
    int (*cb)(void *arg, const char *id_hex, uint64_t size), void *arg)
{
	struct list_ctx l = { dir, cb, arg };

	return dsb_backend_list(r->be, dir, list_one, &l);
}
