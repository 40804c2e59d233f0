/*
 * craft.c: write hostile snapshots into a repository whose password is
 * known, for tests/e2e/test_hostile.sh.  Trees are written as JSON
 * directly (bypassing dsb_tree_encode and its checks), sealed as tree blobs
 * through the pack writer, listed in an index object and committed by a
 * snapshot, exactly as a backup does.  Where a case needs blob bytes that
 * the pack writer would never produce (lying zstd frames), a pack is built
 * by hand following docs/FORMAT.md §6.
 *
 * usage: craft REPO CASE [VICTIM]   password in DSBACKUP_PASSWORD
 *        craft list                 the cases, one per line, with what each tries
 * Prints the new snapshot's id.  Every snapshot has one top-level
 * directory "craft" holding the hostile entries, and the tag "crafted".
 * VICTIM (default /tmp/victim-dir) is the outside directory that symlink
 * cases point at.  CRAFT_SCALE (0.01 .. 1, default 1) shrinks the cases
 * "many-ids" (from the format's 128 MiB tree limit) and "many-nodes" (from
 * its limit of entries in one directory).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "dsbackup/crypto.h"
#include "dsbackup/error.h"
#include "dsbackup/pack.h"
#include "dsbackup/repo.h"
#include "dsbackup/tree.h"
#include "dsbackup/util.h"

#define CRAFT_PACK_INFO "dsbackup pack v1"
#define CRAFT_TRAILER_LABEL "DSBTRLR1"
#define ZSTD_MAGIC 0xFD2FB528u

struct crafter {
	struct dsb_repo *repo;
	const struct dsb_keys *keys;
	struct dsb_pack_writer *pw;
	struct dsb_index_writer *iw;
	const char *victim;
	const char *name;
};

/* scaled(n): ${n} times CRAFT_SCALE */
static size_t scaled(size_t n)
{
	const char *e = getenv("CRAFT_SCALE");
	double f = e != NULL ? atof(e) : 1.0;

	if (!(f >= 0.01 && f <= 1.0))
		f = 1.0;
	return (size_t)((double)n * f);
}

/* ---- blobs and trees ---- */

static int add_blob(struct crafter *c, int type, const void *p, size_t n, uint8_t id[32])
{
	int r;

	if ((r = dsb_keys_blob_id(c->keys, p, n, id)) != 0)
		return r;
	return dsb_pack_writer_add(c->pw, id, type, p, n);
}

static json_t *hexid(const uint8_t id[32])
{
	char hex[65];

	dsb_hex_encode(id, 32, hex);
	return json_string(hex);
}

/* node(name, type): the fields every node needs */
static json_t *node(const char *name, const char *type)
{
	return json_pack("{s:s, s:s, s:i, s:i, s:i, s:[I,I], s:[I,I]}", "name", name, "type", type,
	    "mode", strcmp(type, "dir") == 0 ? 0755 : 0644, "uid", 0, "gid", 0,
	    "mtime", (json_int_t)1700000000, (json_int_t)0, "ctime", (json_int_t)1700000000,
	    (json_int_t)0);
}

/* file_node(c, name, text): a regular file holding ${text}, stored as one data blob */
static json_t *file_node(struct crafter *c, const char *name, const char *text)
{
	uint8_t id[32], hash[32];
	json_t *o = node(name, "file");

	if (add_blob(c, DSB_BLOB_DATA, text, strlen(text), id) != 0)
		return NULL;
	dsb_sha256(text, strlen(text), hash);
	json_object_set_new(o, "size", json_integer((json_int_t)strlen(text)));
	json_object_set_new(o, "content", json_pack("[o]", hexid(id)));
	json_object_set_new(o, "hash", hexid(hash));
	return o;
}

static json_t *dir_node(const char *name, const uint8_t subtree[32])
{
	json_t *o = node(name, "dir");

	json_object_set_new(o, "subtree", hexid(subtree));
	return o;
}

static json_t *symlink_node(const char *name, const char *target)
{
	json_t *o = node(name, "symlink");

	json_object_set_new(o, "target", json_string(target));
	return o;
}

/* tree_text(nodes, pad): {"nodes": [...]} followed by ${pad} spaces; steals ${nodes} */
static char *tree_text(json_t *nodes, size_t pad, size_t *len)
{
	json_t *root = json_pack("{s:o}", "nodes", nodes);
	char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER), *p;
	size_t n;

	json_decref(root);
	if (text == NULL)
		return NULL;
	n = strlen(text);
	if ((p = realloc(text, n + pad + 1)) == NULL) {
		free(text);
		return NULL;
	}
	memset(p + n, ' ', pad);
	p[n + pad] = '\0';
	*len = n + pad;
	return p;
}

/* add_tree(c, nodes, id): seal a tree blob of ${nodes} (stolen), as written, unchecked */
static int add_tree_padded(struct crafter *c, json_t *nodes, size_t pad, uint8_t id[32])
{
	size_t len = 0;
	char *text = tree_text(nodes, pad, &len);
	int r;

	if (text == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory encoding a tree");
	r = add_blob(c, DSB_BLOB_TREE, text, len, id);
	free(text);
	return r;
}

static int add_tree(struct crafter *c, json_t *nodes, uint8_t id[32])
{
	return add_tree_padded(c, nodes, 0, id);
}

/* ---- committing: pack, index, snapshot ---- */

static int index_record(struct crafter *c, const uint8_t id[32], uint64_t size,
    const struct dsb_pack_header *hdr, const struct dsb_pack_entry *e, size_t n)
{
	struct dsb_pack_record rec;

	memcpy(rec.id, id, 32);
	rec.size = size;
	rec.header = *hdr;
	rec.entries = e;
	rec.n = n;
	return dsb_index_writer_add(c->iw, &rec);
}

static int flush_pack(struct crafter *c)
{
	struct dsb_pack_result res;
	int r;

	if (dsb_pack_writer_count(c->pw) == 0)
		return 0;
	if ((r = dsb_pack_writer_finish(c->pw, &res)) != 0 ||
	    (r = dsb_repo_put_pack(c->repo, &res)) != 0 ||
	    (r = index_record(c, res.id, res.len, &res.header, res.entries, res.n)) != 0)
		return r;
	return dsb_pack_writer_reset(c->pw);
}

/* commit(c, craft_tree): root tree {"craft": dir}, pack, index, snapshot; prints its id */
static int commit(struct crafter *c, const uint8_t craft_tree[32])
{
	uint8_t root[32];
	char id[65], when[64], index_id[65];
	json_t *snap;
	char *json;
	int64_t sec;
	long nsec;
	int r;

	if ((r = add_tree(c, json_pack("[o]", dir_node("craft", craft_tree)), root)) != 0 ||
	    (r = flush_pack(c)) != 0 || (r = dsb_index_writer_flush(c->iw, index_id)) != 0)
		return r;
	dsb_time_now(&sec, &nsec);
	dsb_time_format(sec, nsec, when, sizeof(when));
	snap = json_pack("{s:i, s:s, s:s, s:s, s:[s], s:[s,s], s:o, s:s}", "version", 1,
	    "time", when, "host", "craft-host", "user", "root", "paths", "/craft",
	    "tags", "crafted", c->name, "tree", hexid(root), "program", "craft");
	if (snap == NULL || (json = json_dumps(snap, JSON_COMPACT)) == NULL) {
		json_decref(snap);
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	}
	json_decref(snap);
	r = dsb_repo_put_snapshot(c->repo, json, id);
	free(json);
	if (r == 0)
		printf("%s\n", id);
	return r;
}

/* ---- a pack built by hand, for blob bytes the pack writer never makes ---- */

struct raw_blob {
	int type, comp;
	uint32_t raw_len;      /* as claimed in the entry */
	const uint8_t *payload;
	size_t plen;
	uint8_t id[32];
};

static int raw_pack(struct crafter *c, const struct raw_blob *b, size_t n)
{
	struct dsb_pack_header hdr;
	struct dsb_pack_entry *e = NULL;
	struct dsb_aead *a = NULL;
	struct dsb_buf pack, plain;
	uint8_t nonce[12], aad[8 + DSB_PACK_HEADER_LEN], pid[32];
	size_t i, tlen;
	int r;

	dsb_buf_init(&pack, 0);
	dsb_buf_init(&plain, 0);
	dsb_keys_key_id(c->keys, hdr.key_id);
	if ((r = dsb_random(hdr.salt, sizeof(hdr.salt))) != 0 ||
	    (r = dsb_aead_derive(c->keys, hdr.salt, CRAFT_PACK_INFO, &a)) != 0)
		goto out;
	if ((e = calloc(n, sizeof(*e))) == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = dsb_buf_append(&pack, "DSBPACK1", 8)) != 0 ||
	    (r = dsb_buf_append(&pack, hdr.key_id, 8)) != 0 ||
	    (r = dsb_buf_append(&pack, hdr.salt, 32)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		memcpy(e[i].id, b[i].id, 32);
		e[i].type = (uint8_t)b[i].type;
		e[i].comp = (uint8_t)b[i].comp;
		e[i].raw_len = b[i].raw_len;
		e[i].stored_len = (uint32_t)(b[i].plen + DSB_TAG_LEN);
		e[i].offset = pack.len;
		dsb_put_le32(nonce, 0);
		dsb_put_le64(nonce + 4, e[i].offset);
		memcpy(aad, e[i].id, 32);
		aad[32] = e[i].type;
		aad[33] = e[i].comp;
		dsb_put_le32(aad + 34, e[i].raw_len);
		if ((r = dsb_buf_reserve(&pack, e[i].stored_len)) != 0 ||
		    (r = dsb_aead_seal(a, nonce, aad, 38, b[i].payload, b[i].plen,
		    pack.data + pack.len)) != 0)
			goto out;
		pack.len += e[i].stored_len;
	}
	/* trailer: le32(n) || entries, sealed with nonce domain 1 at its offset */
	if ((r = dsb_buf_reserve(&plain, 4 + n * DSB_PACK_ENTRY_LEN)) != 0)
		goto out;
	dsb_put_le32(plain.data, (uint32_t)n);
	for (i = 0; i < n; i++)
		dsb_pack_entry_encode(&e[i], plain.data + 4 + i * DSB_PACK_ENTRY_LEN);
	plain.len = 4 + n * DSB_PACK_ENTRY_LEN;
	tlen = plain.len + DSB_TAG_LEN;
	dsb_put_le32(nonce, 1);
	dsb_put_le64(nonce + 4, pack.len);
	memcpy(aad, CRAFT_TRAILER_LABEL, 8);
	memcpy(aad + 8, pack.data, DSB_PACK_HEADER_LEN);
	if ((r = dsb_buf_reserve(&pack, tlen + 12)) != 0 ||
	    (r = dsb_aead_seal(a, nonce, aad, sizeof(aad), plain.data, plain.len,
	    pack.data + pack.len)) != 0)
		goto out;
	pack.len += tlen;
	dsb_put_le32(pack.data + pack.len, (uint32_t)tlen);
	memcpy(pack.data + pack.len + 4, "DSBPEND1", 8);
	pack.len += 12;
	{
		struct dsb_pack_result res;

		dsb_sha256(pack.data, pack.len, pid);
		memcpy(res.id, pid, 32);
		res.bytes = pack.data;
		res.len = pack.len;
		res.header = hdr;
		res.entries = e;
		res.n = n;
		if ((r = dsb_repo_put_pack(c->repo, &res)) != 0)
			goto out;
	}
	r = index_record(c, pid, pack.len, &hdr, e, n);
out:
	dsb_aead_free(a);
	dsb_buf_release(&pack);
	dsb_buf_release(&plain);
	free(e);
	return r;
}

/*
 * zstd_frame(out, fcs, has_fcs, rle_blocks, tail): a hand-made zstd frame:
 * a header announcing ${fcs} bytes (or no size), ${rle_blocks} RLE blocks of
 * 128 KiB of 'x' each, then one raw block holding ${tail} (last block).
 */
static int zstd_frame(struct dsb_buf *out, uint64_t fcs, int has_fcs, size_t rle_blocks,
    const char *tail)
{
	uint8_t h[16];
	size_t i, tl = strlen(tail);
	uint32_t bh;
	int r;

	dsb_buf_reset(out);
	dsb_put_le32(h, ZSTD_MAGIC);
	/* frame header descriptor: FCS field 8 bytes (flag 3) or none; window descriptor present */
	h[4] = has_fcs ? 0xC0 : 0x00;
	h[5] = 0x58;   /* window descriptor: 2^(10+11) = 2 MiB */
	if ((r = dsb_buf_append(out, h, 6)) != 0)
		return r;
	if (has_fcs) {
		dsb_put_le64(h, fcs);
		if ((r = dsb_buf_append(out, h, 8)) != 0)
			return r;
	}
	for (i = 0; i < rle_blocks; i++) {
		bh = (uint32_t)(128u << 10) << 3 | 1u << 1;   /* size, type 1 (RLE), not last */
		h[0] = (uint8_t)bh;
		h[1] = (uint8_t)(bh >> 8);
		h[2] = (uint8_t)(bh >> 16);
		h[3] = 'x';
		if ((r = dsb_buf_append(out, h, 4)) != 0)
			return r;
	}
	bh = (uint32_t)tl << 3 | 1u;   /* raw block, last */
	h[0] = (uint8_t)bh;
	h[1] = (uint8_t)(bh >> 8);
	h[2] = (uint8_t)(bh >> 16);
	if ((r = dsb_buf_append(out, h, 3)) != 0)
		return r;
	return dsb_buf_append(out, tail, tl);
}

/* ---- the cases ---- */

static int one_file_tree(struct crafter *c, const char *name, uint8_t id[32])
{
	json_t *f = file_node(c, name, "pwned\n");

	return f == NULL ? DSB_ERR_NOMEM : add_tree(c, json_pack("[o]", f), id);
}

static int case_named(struct crafter *c, const char *name)
{
	uint8_t t[32];
	int r;

	if ((r = one_file_tree(c, name, t)) != 0)
		return r;
	return commit(c, t);
}

static int case_dotdot(struct crafter *c) { return case_named(c, ".."); }
static int case_dot(struct crafter *c) { return case_named(c, "."); }
static int case_empty(struct crafter *c) { return case_named(c, ""); }
static int case_absolute(struct crafter *c) { return case_named(c, "/etc/x"); }
static int case_slash(struct crafter *c) { return case_named(c, "a/b"); }

static int case_traversal(struct crafter *c)
{
	char *name = dsb_asprintf("../../../../../../..%s/x", c->victim);
	int r;

	if (name == NULL)
		return DSB_ERR_NOMEM;
	r = case_named(c, name);
	free(name);
	return r;
}

/* "../x" hidden in name_b64, which the reader decodes before checking */
static int case_dotdot_b64(struct crafter *c)
{
	uint8_t t[32];
	json_t *f = file_node(c, "placeholder", "pwned\n");
	int r;

	if (f == NULL)
		return DSB_ERR_NOMEM;
	json_object_del(f, "name");
	json_object_set_new(f, "name_b64", json_string("Li4veA=="));   /* "../x" */
	if ((r = add_tree(c, json_pack("[o]", f), t)) != 0)
		return r;
	return commit(c, t);
}

/* a symlink "d" to the victim and a directory "d" holding "x": duplicate names */
static int case_duplicate(struct crafter *c)
{
	uint8_t sub[32], t[32];
	int r;

	if ((r = one_file_tree(c, "x", sub)) != 0 ||
	    (r = add_tree(c, json_pack("[oo]", symlink_node("d", c->victim), dir_node("d", sub)),
	    t)) != 0)
		return r;
	return commit(c, t);
}

/* names out of order: "b" before "a" */
static int case_unsorted(struct crafter *c)
{
	uint8_t t[32];
	json_t *b = file_node(c, "b", "b\n"), *a = file_node(c, "a", "a\n");
	int r;

	if (a == NULL || b == NULL)
		return DSB_ERR_NOMEM;
	if ((r = add_tree(c, json_pack("[oo]", b, a), t)) != 0)
		return r;
	return commit(c, t);
}

/* two snapshots restored into one target: first a/s -> victim, then a/s/x as a directory */
static int case_symlink_then_dir_1(struct crafter *c)
{
	uint8_t a[32], t[32];
	int r;

	if ((r = add_tree(c, json_pack("[o]", symlink_node("s", c->victim)), a)) != 0 ||
	    (r = add_tree(c, json_pack("[o]", dir_node("a", a)), t)) != 0)
		return r;
	return commit(c, t);
}

static int case_symlink_then_dir_2(struct crafter *c)
{
	uint8_t s[32], a[32], t[32];
	int r;

	if ((r = one_file_tree(c, "x", s)) != 0 ||
	    (r = add_tree(c, json_pack("[o]", dir_node("s", s)), a)) != 0 ||
	    (r = add_tree(c, json_pack("[o]", dir_node("a", a)), t)) != 0)
		return r;
	return commit(c, t);
}

/* the same, with the symlink and a file "s" in one target: a file written over the symlink */
static int case_symlink_then_file_2(struct crafter *c)
{
	uint8_t a[32], t[32];
	json_t *f = file_node(c, "s", "pwned\n");
	int r;

	if (f == NULL)
		return DSB_ERR_NOMEM;
	if ((r = add_tree(c, json_pack("[o]", f), a)) != 0 ||
	    (r = add_tree(c, json_pack("[o]", dir_node("a", a)), t)) != 0)
		return r;
	return commit(c, t);
}

/*
 * hard links: a symlink to the victim and a file sharing its (dev, inode),
 * file first in the tree order ("h1" < "s"): the restore may only ever link to
 * files it wrote itself; and two files sharing an inode but with different
 * content (the second must not silently become a link to the first).
 */
static int case_hardlink(struct crafter *c)
{
	uint8_t t[32];
	json_t *h1 = file_node(c, "h1", "first\n"), *h2 = file_node(c, "h2", "second\n");
	json_t *s = symlink_node("s", c->victim), *z = file_node(c, "z", "through the link\n");
	int r;

	if (h1 == NULL || h2 == NULL || s == NULL || z == NULL)
		return DSB_ERR_NOMEM;
	json_object_set_new(s, "inode", json_integer(77));
	json_object_set_new(s, "dev", json_integer(1));
	json_object_set_new(s, "nlink", json_integer(2));
	json_object_set_new(z, "inode", json_integer(77));
	json_object_set_new(z, "dev", json_integer(1));
	json_object_set_new(z, "nlink", json_integer(2));
	json_object_set_new(h1, "inode", json_integer(5));
	json_object_set_new(h1, "dev", json_integer(1));
	json_object_set_new(h1, "nlink", json_integer(2));
	json_object_set_new(h2, "inode", json_integer(5));
	json_object_set_new(h2, "dev", json_integer(1));
	json_object_set_new(h2, "nlink", json_integer(2));
	if ((r = add_tree(c, json_pack("[oooo]", h1, h2, s, z), t)) != 0)
		return r;
	return commit(c, t);
}

/* a file claiming 2^62 bytes with 3 bytes of content (hash of those 3 bytes) */
static int case_huge_size(struct crafter *c)
{
	uint8_t t[32];
	json_t *f = file_node(c, "huge", "hi\n");
	int r;

	if (f == NULL)
		return DSB_ERR_NOMEM;
	json_object_set_new(f, "size", json_integer((json_int_t)1 << 62));
	if ((r = add_tree(c, json_pack("[o]", f), t)) != 0)
		return r;
	return commit(c, t);
}

/* a file claiming 1 TiB made of two 3-byte blobs */
static int case_size_mismatch(struct crafter *c)
{
	uint8_t t[32];
	json_t *f = file_node(c, "big", "hi\n");
	int r;

	if (f == NULL)
		return DSB_ERR_NOMEM;
	json_array_append(json_object_get(f, "content"), json_array_get(json_object_get(f, "content"), 0));
	json_object_set_new(f, "size", json_integer((json_int_t)1 << 40));
	if ((r = add_tree(c, json_pack("[o]", f), t)) != 0)
		return r;
	return commit(c, t);
}

/*
 * a file whose content list holds as many blob ids as a tree blob can
 * carry (10 million would need 670 MB of JSON; the format caps a tree blob
 * at 128 MiB): 1.9 million ids, none of them stored
 */
static int case_many_ids(struct crafter *c)
{
	uint8_t t[32], id[32];
	json_t *f = file_node(c, "many", "hi\n"), *a = json_array();
	size_t i, n = scaled(1900000);
	int r;

	if (f == NULL || a == NULL)
		return DSB_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		memset(id, 0, sizeof(id));
		dsb_put_le64(id, (uint64_t)i + 1);
		json_array_append_new(a, hexid(id));
	}
	json_object_set_new(f, "content", a);
	json_object_set_new(f, "size", json_integer((json_int_t)n * 65536));
	fprintf(stderr, "craft: a file of %zu blob ids\n", n);
	if ((r = add_tree(c, json_pack("[o]", f), t)) != 0)
		return r;
	return commit(c, t);
}

/* a directory with as many entries as fit in a 128 MiB tree blob (~3 million fifos) */
static int case_many_nodes(struct crafter *c)
{
	struct dsb_buf b;
	uint8_t t[32];
	char line[96];
	size_t i, n = 0, max = scaled(DSB_BLOB_RAW_MAX);
	int r, len;

	dsb_buf_init(&b, (size_t)DSB_BLOB_RAW_MAX);
	if ((r = dsb_buf_append(&b, "{\"nodes\":[", 10)) != 0)
		goto out;
	for (i = 0; i < scaled(DSB_TREE_MAX_NODES); i++) {
		len = snprintf(line, sizeof(line), "%s{\"mode\":420,\"name\":\"%09zu\",\"type\":\"fifo\"}",
		    i ? "," : "", i);
		if (b.len + (size_t)len + 2 > max)
			break;
		if ((r = dsb_buf_append(&b, line, (size_t)len)) != 0)
			goto out;
		n++;
	}
	if ((r = dsb_buf_append(&b, "]}", 2)) != 0 ||
	    (r = add_blob(c, DSB_BLOB_TREE, b.data, b.len, t)) != 0)
		goto out;
	fprintf(stderr, "craft: a tree of %zu entries in %zu bytes\n", n, b.len);
	r = commit(c, t);
out:
	dsb_buf_release(&b);
	return r;
}

/*
 * one entry more than a directory may hold (DSB_TREE_MAX_NODES), each the
 * smallest JSON object: refused before it is decoded, so it costs nothing
 */
static int case_wide(struct crafter *c)
{
	struct dsb_buf b;
	uint8_t t[32];
	size_t i;
	int r;

	dsb_buf_init(&b, (size_t)DSB_BLOB_RAW_MAX);
	r = dsb_buf_append(&b, "{\"nodes\":[{}", 12);
	for (i = 1; i <= DSB_TREE_MAX_NODES && r == 0; i++)
		r = dsb_buf_append(&b, ",{}", 3);
	if (r != 0 || (r = dsb_buf_append(&b, "]}", 2)) != 0 ||
	    (r = add_blob(c, DSB_BLOB_TREE, b.data, b.len, t)) != 0)
		goto out;
	r = commit(c, t);
out:
	dsb_buf_release(&b);
	return r;
}

/* 5000 directories nested in one another */
static int case_deep(struct crafter *c)
{
	uint8_t t[32];
	int i, r;

	if ((r = one_file_tree(c, "bottom", t)) != 0)
		return r;
	for (i = 0; i < 5000; i++) {
		if ((r = add_tree(c, json_pack("[o]", dir_node("d", t)), t)) != 0)
			return r;
		if (dsb_pack_writer_size(c->pw) > (8u << 20) && (r = flush_pack(c)) != 0)
			return r;
	}
	return commit(c, t);
}

/*
 * 2^k directories "a" and "b" at every level, all pointing at the same
 * subtree: a tiny repository whose listing doubles with every level
 * (20 levels: a million paths from 21 tree blobs)
 */
static int case_fanout(struct crafter *c)
{
	uint8_t t[32];
	int i, r;

	if ((r = one_file_tree(c, "leaf", t)) != 0)
		return r;
	for (i = 0; i < 20; i++)
		if ((r = add_tree(c, json_pack("[oo]", dir_node("a", t), dir_node("b", t)), t)) != 0)
			return r;
	return commit(c, t);
}

/* a valid tree padded with spaces to the 128 MiB limit: stored as a few KiB of zstd */
static int case_bomb_pad(struct crafter *c)
{
	uint8_t t[32];
	json_t *f = file_node(c, "inside", "padded\n");
	size_t len = 0;
	char *probe;

	if (f == NULL)
		return DSB_ERR_NOMEM;
	json_incref(f);
	if ((probe = tree_text(json_pack("[o]", f), 0, &len)) == NULL)
		return DSB_ERR_NOMEM;
	free(probe);
	if (add_tree_padded(c, json_pack("[o]", f), (size_t)DSB_BLOB_RAW_MAX - len, t) != 0)
		return DSB_ERR_NOMEM;
	return commit(c, t);
}

/*
 * lying zstd frames in tree blobs: (1) an entry of 4 KiB whose frame
 * announces 2^40 bytes; (2) a frame with no size that expands to 1 GiB;
 * (3) a frame announcing the entry's 4 KiB that expands to 1 GiB; (4) a
 * data blob, same lie, under a file
 */
static int case_bomb_frame(struct crafter *c, int variant)
{
	struct raw_blob b[1];
	struct dsb_buf frame;
	uint8_t t[32];
	json_t *f;
	int r;

	dsb_buf_init(&frame, 0);
	memset(b, 0, sizeof(b));
	if (variant == 1)
		r = zstd_frame(&frame, (uint64_t)1 << 40, 1, 0, "{\"nodes\":[]}");
	else if (variant == 2)
		r = zstd_frame(&frame, 0, 0, 8192, "{\"nodes\":[]}");
	else
		r = zstd_frame(&frame, 4096, 1, 8192, "{\"nodes\":[]}");
	if (r != 0)
		goto out;
	b[0].type = variant == 4 ? DSB_BLOB_DATA : DSB_BLOB_TREE;
	b[0].comp = DSB_COMP_ZSTD;
	b[0].raw_len = 4096;
	b[0].payload = frame.data;
	b[0].plen = frame.len;
	memset(b[0].id, 0xb0 + variant, 32);   /* the id check would come after decompression */
	if ((r = raw_pack(c, b, 1)) != 0)
		goto out;
	if (variant == 4) {
		if ((f = file_node(c, "bomb", "x")) == NULL) {
			r = DSB_ERR_NOMEM;
			goto out;
		}
		json_object_set_new(f, "content", json_pack("[o]", hexid(b[0].id)));
		json_object_set_new(f, "size", json_integer(4096));
		r = add_tree(c, json_pack("[o]", f), t);
	} else {
		r = add_tree(c, json_pack("[o]", dir_node("bombdir", b[0].id)), t);
	}
	if (r == 0)
		r = commit(c, t);
out:
	dsb_buf_release(&frame);
	return r;
}

static int case_bomb_fcs(struct crafter *c) { return case_bomb_frame(c, 1); }
static int case_bomb_nosize(struct crafter *c) { return case_bomb_frame(c, 2); }
static int case_bomb_liar(struct crafter *c) { return case_bomb_frame(c, 3); }
static int case_bomb_data(struct crafter *c) { return case_bomb_frame(c, 4); }

/* a tree where a directory's subtree is a data blob, and a file whose content is a tree blob */
static int case_wrong_types(struct crafter *c)
{
	uint8_t data[32], sub[32], t[32];
	json_t *f;
	int r;

	if ((r = add_blob(c, DSB_BLOB_DATA, "not a tree", 10, data)) != 0 ||
	    (r = one_file_tree(c, "x", sub)) != 0)
		return r;
	if ((f = file_node(c, "f", "x")) == NULL)
		return DSB_ERR_NOMEM;
	json_object_set_new(f, "content", json_pack("[o]", hexid(sub)));
	if ((r = add_tree(c, json_pack("[oo]", dir_node("d", data), f), t)) != 0)
		return r;
	return commit(c, t);
}

struct craft_case {
	const char *name;
	int (*fn)(struct crafter *c);
	const char *what;
};

static const struct craft_case cases[] = {
	{ "dotdot", case_dotdot, "a file named \"..\"" },
	{ "dot", case_dot, "a file named \".\"" },
	{ "empty", case_empty, "a file with an empty name" },
	{ "absolute", case_absolute, "a file named \"/etc/x\"" },
	{ "slash", case_slash, "a file named \"a/b\"" },
	{ "traversal", case_traversal, "a file named \"../../../../../../..VICTIM/x\"" },
	{ "dotdot-b64", case_dotdot_b64, "\"../x\" given as name_b64" },
	{ "duplicate", case_duplicate, "a symlink \"d\" -> VICTIM and a directory \"d\" holding x" },
	{ "unsorted", case_unsorted, "entries \"b\", \"a\" out of order" },
	{ "symlink-then-dir-1", case_symlink_then_dir_1, "a/s -> VICTIM (restore first)" },
	{ "symlink-then-dir-2", case_symlink_then_dir_2, "a/s/x with a/s a directory (restore second, same target)" },
	{ "symlink-then-file-2", case_symlink_then_file_2, "a/s a file (restore second, same target)" },
	{ "hardlink", case_hardlink, "files sharing an inode with a symlink -> VICTIM, and with each other" },
	{ "huge-size", case_huge_size, "a file claiming 2^62 bytes with 3 bytes of content" },
	{ "size-mismatch", case_size_mismatch, "a file claiming 1 TiB made of two 3-byte blobs" },
	{ "many-ids", case_many_ids, "a file listing 1.9 million blob ids (the 128 MiB tree limit) x CRAFT_SCALE" },
	{ "many-nodes", case_many_nodes, "a directory of 1048576 entries (the limit, in 49 MiB) x CRAFT_SCALE" },
	{ "wide", case_wide, "a directory of 1048577 entries, one more than the limit" },
	{ "deep", case_deep, "5000 nested directories" },
	{ "fanout", case_fanout, "20 levels of 2 directories sharing one subtree (2^20 paths)" },
	{ "bomb-pad", case_bomb_pad, "a valid tree padded with spaces to 128 MiB, stored in a few KiB" },
	{ "bomb-fcs", case_bomb_fcs, "a tree blob whose zstd frame announces 2^40 bytes" },
	{ "bomb-nosize", case_bomb_nosize, "a tree blob whose zstd frame has no size and expands to 1 GiB" },
	{ "bomb-liar", case_bomb_liar, "a tree blob whose zstd frame announces 4 KiB and expands to 1 GiB" },
	{ "bomb-data", case_bomb_data, "a data blob whose zstd frame announces 4 KiB and expands to 1 GiB" },
	{ "wrong-types", case_wrong_types, "a directory whose subtree is a data blob, a file made of a tree blob" },
	{ NULL, NULL, NULL }
};

int main(int argc, char **argv)
{
	const struct craft_case *k;
	const char *pass = getenv("DSBACKUP_PASSWORD");
	struct crafter c;
	int r;

	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		for (k = cases; k->name != NULL; k++)
			printf("%s\t%s\n", k->name, k->what);
		return 0;
	}
	if (argc < 3 || argc > 4 || pass == NULL) {
		fprintf(stderr, "usage: craft REPO CASE [VICTIM] (password in DSBACKUP_PASSWORD); "
		    "craft list\n");
		return 2;
	}
	for (k = cases; k->name != NULL && strcmp(k->name, argv[2]) != 0; k++)
		;
	if (k->name == NULL) {
		fprintf(stderr, "craft: unknown case %s (craft list)\n", argv[2]);
		return 2;
	}
	memset(&c, 0, sizeof(c));
	c.victim = argc == 4 ? argv[3] : "/tmp/victim-dir";
	c.name = k->name;
	if ((r = dsb_crypto_init()) != 0 ||
	    (r = dsb_repo_open(argv[1], pass, strlen(pass), &c.repo)) != 0)
		goto out;
	c.keys = dsb_repo_keys(c.repo);
	if ((r = dsb_pack_writer_new(c.keys, 3, &c.pw)) != 0 ||
	    (r = dsb_index_writer_new(c.repo, &c.iw)) != 0)
		goto out;
	r = k->fn(&c);
out:
	if (r != 0)
		fprintf(stderr, "craft %s: %s\n", argv[2], dsb_errmsg());
	dsb_index_writer_free(c.iw);
	dsb_pack_writer_free(c.pw);
	dsb_repo_close(c.repo);
	return r == 0 ? 0 : 1;
}
