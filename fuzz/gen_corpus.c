/*
 * gen_corpus.c: write the seed corpora of the fuzz targets, made with the
 * fixed keys of fuzz.h, as "fuzz_gen_corpus DIR" -> DIR/<target>/<seed>.
 * The committed fuzz/corpus/ came from here; salts are random, so a rerun
 * gives different bytes of the same shapes.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <zstd.h>

#include "dsbackup/error.h"
#include "dsbackup/tree.h"
#include "dsbackup/util.h"
#include "fuzz.h"

static const char *root;

static void need(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "gen_corpus: %s failed: %s\n", what, dsb_errmsg());
		exit(1);
	}
}

/* seed(target, name, prefix, plen, p, n): write prefix || p as ${root}/${target}/${name} */
static void seed(const char *target, const char *name, const void *prefix, size_t plen,
    const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, target);
	need(mkdir(path, 0755) == 0 || errno == EEXIST, path);
	snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
	need((f = fopen(path, "wb")) != NULL, path);
	need(fwrite(prefix, 1, plen, f) == plen && (n == 0 || fwrite(p, 1, n, f) == n), path);
	need(fclose(f) == 0, path);
}

static void text(uint8_t *p, size_t n, unsigned seedv)
{
	static const char words[] = "lorem ipsum dolor sit amet, consectetur adipiscing elit ";
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)words[(i * 3 + seedv) % (sizeof(words) - 1)];
}

static void noise(uint8_t *p, size_t n, uint32_t x)
{
	size_t i;

	for (i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
}

/* pack(w, res, variant): a pack of a few varied blobs */
static void pack(struct dsb_pack_writer *w, struct dsb_pack_result *res, unsigned variant)
{
	static const char tree_json[] = "{\"nodes\":[{\"name\":\"a\",\"type\":\"fifo\",\"mode\":420}]}";
	uint8_t buf[400], id[DSB_HASH_LEN];

	need(dsb_pack_writer_reset(w) == 0, "reset");
	text(buf, 300, variant);
	need(dsb_keys_blob_id(fuzz_keys(), buf, 300, id) == 0, "id");
	need(dsb_pack_writer_add(w, id, DSB_BLOB_DATA, buf, 300) == 0, "add");
	noise(buf, 100, variant);
	need(dsb_keys_blob_id(fuzz_keys(), buf, 100, id) == 0, "id");
	need(dsb_pack_writer_add(w, id, DSB_BLOB_DATA, buf, 100) == 0, "add");
	need(dsb_keys_blob_id(fuzz_keys(), buf, 0, id) == 0, "id");
	need(dsb_pack_writer_add(w, id, DSB_BLOB_DATA, buf, 0) == 0, "add");
	need(dsb_keys_blob_id(fuzz_keys(), tree_json, strlen(tree_json), id) == 0, "id");
	need(dsb_pack_writer_add(w, id, DSB_BLOB_TREE, tree_json, strlen(tree_json)) == 0, "add");
	need(dsb_pack_writer_finish(w, res) == 0, "finish");
}

/* record(b, res): the index record of a pack (FORMAT.md §7) */
static void record(struct dsb_buf *b, const struct dsb_pack_result *res)
{
	uint8_t head[84], e[DSB_PACK_ENTRY_LEN];
	size_t i;

	memcpy(head, res->id, 32);
	dsb_put_le64(head + 32, res->len);
	memcpy(head + 40, res->header.key_id, DSB_KEYID_LEN);
	memcpy(head + 48, res->header.salt, DSB_SALT_LEN);
	dsb_put_le32(head + 80, (uint32_t)res->n);
	need(dsb_buf_append(b, head, sizeof(head)) == 0, "record");
	for (i = 0; i < res->n; i++) {
		dsb_pack_entry_encode(&res->entries[i], e);
		need(dsb_buf_append(b, e, sizeof(e)) == 0, "record");
	}
}

static void pack_seeds(struct dsb_buf *index)
{
	struct dsb_pack_writer *w = NULL;
	struct dsb_pack_result res;
	struct dsb_buf b;
	uint8_t zero = 0, one = 1, two = 2, e[DSB_PACK_ENTRY_LEN], frame[512], raw[300];
	size_t i, flen;

	dsb_buf_init(&b, 0);
	need(dsb_pack_writer_new(fuzz_keys(), 3, &w) == 0, "writer");
	need(dsb_pack_writer_finish(w, &res) == 0, "finish");
	seed("pack_trailer", "pack_empty", &zero, 1, res.bytes, res.len);
	record(index, &res);

	pack(w, &res, 1);
	seed("pack_trailer", "pack_four_blobs", &zero, 1, res.bytes, res.len);
	record(index, &res);
	/* the trailer's plaintext, for the sealed-trailer mode */
	dsb_put_le32(e, (uint32_t)(res.len - DSB_PACK_HEADER_LEN - DSB_PACK_FOOTER_LEN -
	    (4 + res.n * DSB_PACK_ENTRY_LEN + DSB_TAG_LEN)));
	need(dsb_buf_append(&b, e, 4) == 0, "buf");
	dsb_put_le32(e, (uint32_t)res.n);
	need(dsb_buf_append(&b, e, 4) == 0, "buf");
	for (i = 0; i < res.n; i++) {
		dsb_pack_entry_encode(&res.entries[i], e);
		need(dsb_buf_append(&b, e, sizeof(e)) == 0, "buf");
	}
	seed("pack_trailer", "trailer_plain", &one, 1, b.data, b.len);

	/* single blobs, for the sealed-blob mode */
	text(raw, sizeof(raw), 1);
	flen = ZSTD_compress(frame, sizeof(frame), raw, sizeof(raw), 3);
	need(!ZSTD_isError(flen), "zstd");
	dsb_buf_reset(&b);
	dsb_pack_entry_encode(&res.entries[0], e);   /* the compressed text blob */
	need(dsb_buf_append(&b, e, sizeof(e)) == 0 && dsb_buf_append(&b, frame, flen) == 0, "buf");
	seed("pack_trailer", "blob_zstd", &two, 1, b.data, b.len);
	dsb_buf_reset(&b);
	dsb_pack_entry_encode(&res.entries[1], e);   /* the raw noise blob */
	noise(raw, 100, 1);
	need(dsb_buf_append(&b, e, sizeof(e)) == 0 && dsb_buf_append(&b, raw, 100) == 0, "buf");
	seed("pack_trailer", "blob_raw", &two, 1, b.data, b.len);

	dsb_pack_writer_free(w);
	dsb_buf_release(&b);
}

static void tree_seeds(void)
{
	static const char dir[] = "{\"nodes\":[{\"ctime\":[2,0],\"dev\":1,\"gid\":0,\"inode\":2,"
	    "\"mode\":493,\"mtime\":[1,0],\"name\":\"srv\",\"nlink\":3,\"subtree\":"
	    "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\","
	    "\"type\":\"dir\",\"uid\":0}]}";
	struct dsb_tree t;
	struct dsb_node *n;
	struct dsb_buf b;
	uint8_t id[32];
	size_t i;

	dsb_tree_init(&t);
	need((n = dsb_tree_add(&t)) != NULL, "add");
	n->name = strdup("file");
	n->type = DSB_NODE_FILE;
	n->mode = 0644;
	n->user = strdup("root");
	n->group = strdup("root");
	n->mtime = 1700000000;
	n->mtime_ns = 5;
	n->size = 3;
	n->nlink = 1;
	for (i = 0; i < 2; i++) {
		memset(id, (int)i + 1, sizeof(id));
		need(dsb_node_add_content(n, id) == 0, "content");
	}
	n->has_hash = 1;
	memset(n->hash, 0xee, 32);
	n->sparse = 1;
	n->acl = strdup("user::rw-\ngroup::r--\nother::r--\n");
	n->fflags = strdup("nodump");
	need((n->xattrs = calloc(1, sizeof(*n->xattrs))) != NULL, "xattrs");
	n->nxattrs = 1;
	n->xattrs[0].name = strdup("user.k");
	n->xattrs[0].value = (uint8_t *)strdup("\x01v");
	n->xattrs[0].len = 2;
	need((n = dsb_tree_add(&t)) != NULL, "add");
	n->name = strdup("link\xff");
	n->type = DSB_NODE_SYMLINK;
	n->mode = 0777;
	n->target = strdup("../t\xe9");
	need((n = dsb_tree_add(&t)) != NULL, "add");
	n->name = strdup("null");
	n->type = DSB_NODE_CHARDEV;
	n->mode = 0666;
	n->rdev = 259;
	need(dsb_tree_sort(&t) == 0, "sort");
	dsb_buf_init(&b, 0);
	need(dsb_tree_encode(&t, &b) == 0, "encode");
	seed("tree", "tree_full", "", 0, b.data, b.len);
	seed("tree", "tree_dir", "", 0, dir, strlen(dir));
	dsb_buf_release(&b);
	dsb_tree_release(&t);
}

static const char snapshot_json[] = "{\"version\": 1, \"time\": \"2026-11-28T15:49:52.123456789Z\", "
    "\"host\": \"h\", \"user\": \"root\", \"paths\": [\"/srv/data\"], \"tags\": [\"daily\"], "
    "\"excludes\": [\"*.tmp\"], "
    "\"tree\": \"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\", "
    "\"parent\": \"ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\", "
    "\"program\": \"dsbackup 0.1.0\", \"stats\": {\"files\": 10, \"dirs\": 2, \"files_new\": 1, "
    "\"files_changed\": 0, \"files_unchanged\": 9, \"bytes_read\": 123, \"bytes_added\": 45, "
    "\"blobs_added\": 2, \"packs_added\": 1, \"errors\": 0}}";
static const char lock_json[] = "{\"host\":\"h\",\"pid\":123,\"user\":\"root\","
    "\"time\":\"2026-11-28T15:49:52Z\",\"exclusive\":false}";

static void object_seeds(const struct dsb_buf *index)
{
	struct dsb_buf obj, plain;
	uint8_t pre[2], hdr[9], frame[1024];
	size_t flen;

	dsb_buf_init(&obj, 0);
	dsb_buf_init(&plain, 0);
	/* stored objects */
	need(dsb_object_seal(fuzz_keys(), "index", index->data, index->len, 0, &obj) == 0, "seal");
	pre[0] = 0;
	pre[1] = 0;
	seed("object", "stored_index", pre, 2, obj.data, obj.len);
	need(dsb_object_seal(fuzz_keys(), "snapshot", snapshot_json, strlen(snapshot_json), 3,
	    &obj) == 0, "seal");
	pre[1] = 1;
	seed("object", "stored_snapshot", pre, 2, obj.data, obj.len);
	need(dsb_object_seal(fuzz_keys(), "lock", lock_json, strlen(lock_json), 0, &obj) == 0, "seal");
	pre[1] = 2;
	seed("object", "stored_lock", pre, 2, obj.data, obj.len);
	/* plaintexts behind the tag */
	pre[0] = 1;
	pre[1] = 2;
	hdr[0] = DSB_COMP_NONE;
	dsb_put_le64(hdr + 1, strlen(lock_json));
	need(dsb_buf_append(&plain, hdr, 9) == 0 &&
	    dsb_buf_append(&plain, lock_json, strlen(lock_json)) == 0, "buf");
	seed("object", "plain_raw", pre, 2, plain.data, plain.len);
	dsb_buf_reset(&plain);
	flen = ZSTD_compress(frame, sizeof(frame), snapshot_json, strlen(snapshot_json), 3);
	need(!ZSTD_isError(flen), "zstd");
	hdr[0] = DSB_COMP_ZSTD;
	dsb_put_le64(hdr + 1, strlen(snapshot_json));
	need(dsb_buf_append(&plain, hdr, 9) == 0 && dsb_buf_append(&plain, frame, flen) == 0, "buf");
	pre[1] = 1;
	seed("object", "plain_zstd", pre, 2, plain.data, plain.len);
	/* round trip */
	pre[0] = 2;
	pre[1] = 3;
	seed("object", "roundtrip", pre, 2, snapshot_json, strlen(snapshot_json));
	dsb_buf_release(&obj);
	dsb_buf_release(&plain);
}

/* rotation_seeds(kdf, rcpt): keyring, write-only and run-key slots (FORMAT.md §4) */
static void rotation_seeds(const struct dsb_kdf_params *kdf, const char *rcpt)
{
	struct dsb_keys *rot = NULL, *wo = NULL, *esc = NULL;
	struct dsb_buf b;

	dsb_buf_init(&b, 0);
	need(dsb_keys_rotate(fuzz_keys(), 0, &rot) == 0, "rotate");
	/* sealed under the fixed keys' data key, the older key of the ring */
	need(dsb_keyring_seal(rot, 1, "fuzzhost", "fuzz", &b) == 0, "keyring");
	seed("keyslot", "keyring", "", 0, b.data, b.len);
	need(dsb_keyslot_create_write_only(rot, FUZZ_PASSWORD, strlen(FUZZ_PASSWORD), kdf,
	    "fuzzhost", "fuzz", &b) == 0, "write-only slot");
	seed("keyslot", "write_only", "", 0, b.data, b.len);
	need(dsb_keyslot_open(b.data, b.len, FUZZ_PASSWORD, strlen(FUZZ_PASSWORD), &wo) == 0,
	    "write-only open");
	need(dsb_runkey_create(wo, "fuzzhost", "fuzz", &b) == 0, "run-key");
	seed("keyslot", "run_key", "", 0, b.data, b.len);
	need(dsb_keys_escrow_key(rot, &esc) == 0 &&
	    dsb_runkey_create_to(esc, rcpt, "fuzzhost", "fuzz", &b) == 0, "escrow run-key");
	seed("keyslot", "run_key_escrow", "", 0, b.data, b.len);
	dsb_keys_free(esc);
	dsb_keys_free(wo);
	dsb_keys_free(rot);
	dsb_buf_release(&b);
}

static void keyslot_seeds(void)
{
	struct dsb_kdf_params kdf = { 10, 1, 1 };
	struct dsb_identity *ids[2] = { NULL, NULL };
	char rcpt[2][DSB_RECIPIENT_LEN];
	const char *rcpts[2] = { rcpt[0], rcpt[1] };
	struct dsb_buf b, shares[2];

	dsb_buf_init(&b, 0);
	need(dsb_keyslot_create(fuzz_keys(), FUZZ_PASSWORD, strlen(FUZZ_PASSWORD), &kdf, "fuzzhost",
	    "fuzz", &b) == 0, "keyslot");
	seed("keyslot", "passphrase", "", 0, b.data, b.len);
	need(dsb_identity_generate(&ids[0]) == 0 && dsb_identity_generate(&ids[1]) == 0, "identity");
	dsb_identity_recipient(ids[0], rcpt[0]);
	dsb_identity_recipient(ids[1], rcpt[1]);
	need(dsb_keyslot_create_recipient(fuzz_keys(), rcpt[0], "fuzzhost", "fuzz", &b) == 0,
	    "recipient slot");
	seed("keyslot", "x25519", "", 0, b.data, b.len);
	dsb_buf_init(&shares[0], 0);
	dsb_buf_init(&shares[1], 0);
	need(dsb_escrow_split(fuzz_keys(), 2, rcpts, 2, "fuzzhost", "fuzz", shares) == 0, "escrow");
	seed("keyslot", "escrow_share", "", 0, shares[0].data, shares[0].len);
	dsb_buf_release(&shares[0]);
	dsb_buf_release(&shares[1]);
	rotation_seeds(&kdf, rcpt[0]);
	dsb_identity_free(ids[0]);
	dsb_identity_free(ids[1]);
	dsb_buf_release(&b);
}

int main(int argc, char **argv)
{
	static const char snap_min[] = "{\"version\":1,\"time\":\"2026-01-02T03:04:05+01:00\","
	    "\"host\":\"h\",\"tree\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}";
	struct dsb_buf index;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	root = argv[1];
	need(mkdir(root, 0755) == 0 || errno == EEXIST, root);
	dsb_buf_init(&index, 0);
	pack_seeds(&index);
	seed("index", "two_packs", "", 0, index.data, index.len);
	tree_seeds();
	object_seeds(&index);
	keyslot_seeds();
	seed("snapshot", "format_example", "", 0, snapshot_json, strlen(snapshot_json));
	seed("snapshot", "minimal", "", 0, snap_min, strlen(snap_min));
	dsb_buf_release(&index);
	return 0;
}
