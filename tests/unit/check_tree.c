/*
 * check_tree.c: tree nodes and their JSON (docs/FORMAT.md §9): every field
 * survives a round trip, including bytes that are not UTF-8, and decoding
 * refuses anything a restore could be misled by.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dsbackup/buf.h"
#include "dsbackup/error.h"
#include "dsbackup/tree.h"
#include "dsbackup/util.h"
#include "testutil.h"

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	ck_assert_ptr_nonnull(p);
	return p;
}

static void id_of(uint8_t id[32], uint8_t seed)
{
	size_t i;

	for (i = 0; i < 32; i++)
		id[i] = (uint8_t)(seed * 31 + i);
}

static void set_xattr(struct dsb_xattr *x, const char *name, const void *value, size_t len)
{
	x->name = xstrdup(name);
	x->value = malloc(len + 1);
	ck_assert_ptr_nonnull(x->value);
	if (len > 0)
		memcpy(x->value, value, len);
	x->len = len;
}

/* A tree with one node of every type and every optional field set somewhere. */
static void full_tree(struct dsb_tree *t)
{
	static const uint8_t binval[] = { 0x00, 0xff, 0x80, 'a', 0x00, '\n', 0xc3 };
	struct dsb_node *n;
	uint8_t id[32];
	int i;

	dsb_tree_init(t);
	/* a regular file with everything */
	ck_assert_ptr_nonnull(n = dsb_tree_add(t));
	n->name = xstrdup("file.txt");
	n->type = DSB_NODE_FILE;
	n->mode = 04755;
	n->uid = 4000000000u;
	n->gid = 7;
	n->user = xstrdup("alice");
	n->group = xstrdup("staff");
	n->mtime = 1700000000;
	n->mtime_ns = 999999999;
	n->atime = -5;
	n->atime_ns = 1;
	n->ctime = 1700000001;
	n->ctime_ns = 0;
	n->size = 123456789012345ULL;
	n->inode = (UINT64_MAX >> 1);
	n->dev = 0x803;
	n->nlink = 2;
	for (i = 0; i < 3; i++) {
		id_of(id, (uint8_t)i);
		ck_assert_int_eq(dsb_node_add_content(n, id), 0);
	}
	n->has_hash = 1;
	id_of(n->hash, 9);
	n->sparse = 1;
	n->nxattrs = 3;
	n->xattrs = calloc(3, sizeof(*n->xattrs));
	set_xattr(&n->xattrs[0], "user.bin", binval, sizeof(binval));
	set_xattr(&n->xattrs[1], "user.empty", "", 0);
	set_xattr(&n->xattrs[2], "user.\xff\xfe", "v", 1);   /* a name that is not UTF-8 */
	n->acl = xstrdup("user::rwx\ngroup::r-x\nother::r-x\ndefault:user::rwx\n");
	n->fflags = xstrdup("uappnd,nodump");

	/* a directory */
	ck_assert_ptr_nonnull(n = dsb_tree_add(t));
	n->name = xstrdup("dir");
	n->type = DSB_NODE_DIR;
	n->mode = 01777;
	n->mtime = 1;
	n->ctime = 2;
	n->nlink = 3;
	n->has_subtree = 1;
	id_of(n->subtree, 42);

	/* a symlink whose name and target are not UTF-8 */
	ck_assert_ptr_nonnull(n = dsb_tree_add(t));
	n->name = xstrdup("\xc3\x28-bad");
	n->type = DSB_NODE_SYMLINK;
	n->mode = 0777;
	n->target = xstrdup("../\xe9t\xe9/x");
	n->atime = 3;

	/* an empty file, without user and group names */
	ck_assert_ptr_nonnull(n = dsb_tree_add(t));
	n->name = xstrdup("empty");
	n->type = DSB_NODE_FILE;
	n->mode = 0;

	/* devices, fifo, socket */
	ck_assert_ptr_nonnull(n = dsb_tree_add(t));
	n->name = xstrdup("null");
	n->type = DSB_NODE_CHARDEV;
	n->mode = 0666;
	n->rdev = 0x103;
	ck_assert_ptr_nonnull(n = dsb_tree_add(t));
	n->name = xstrdup("sda");
	n->type = DSB_NODE_BLOCKDEV;
	n->mode = 0660;
	n->rdev = (UINT64_MAX >> 1);
	ck_assert_ptr_nonnull(n = dsb_tree_add(t));
	n->name = xstrdup("fifo");
	n->type = DSB_NODE_FIFO;
	n->mode = 0600;
	ck_assert_ptr_nonnull(n = dsb_tree_add(t));
	n->name = xstrdup("sock");
	n->type = DSB_NODE_SOCKET;
	n->mode = 0755;
	/* a name with spaces, quotes, backslashes and unicode */
	ck_assert_ptr_nonnull(n = dsb_tree_add(t));
	n->name = xstrdup(" \"q\" \\ \xc3\xa9\xe2\x82\xac\t");
	n->type = DSB_NODE_FIFO;

	ck_assert_int_eq(dsb_tree_sort(t), 0);
}

static int str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void assert_node_eq(const struct dsb_node *a, const struct dsb_node *b)
{
	size_t i;

	ck_assert_str_eq(a->name, b->name);
	ck_assert_int_eq(a->type, b->type);
	ck_assert_uint_eq(a->mode, b->mode);
	ck_assert_uint_eq(a->uid, b->uid);
	ck_assert_uint_eq(a->gid, b->gid);
	ck_assert(str_eq(a->user, b->user));
	ck_assert(str_eq(a->group, b->group));
	ck_assert_int_eq(a->mtime, b->mtime);
	ck_assert_int_eq(a->mtime_ns, b->mtime_ns);
	if (a->type != DSB_NODE_DIR) {
		ck_assert_int_eq(a->atime, b->atime);
		ck_assert_int_eq(a->atime_ns, b->atime_ns);
	}
	ck_assert_int_eq(a->ctime, b->ctime);
	ck_assert_int_eq(a->ctime_ns, b->ctime_ns);
	ck_assert_uint_eq(a->size, b->size);
	ck_assert_uint_eq(a->inode, b->inode);
	ck_assert_uint_eq(a->dev, b->dev);
	ck_assert_uint_eq(a->nlink, b->nlink);
	ck_assert_uint_eq(a->rdev, b->rdev);
	ck_assert(str_eq(a->target, b->target));
	ck_assert_uint_eq(a->ncontent, b->ncontent);
	for (i = 0; i < a->ncontent; i++)
		ck_assert_mem_eq(a->content[i], b->content[i], 32);
	ck_assert_int_eq(a->has_hash, b->has_hash);
	if (a->has_hash)
		ck_assert_mem_eq(a->hash, b->hash, 32);
	ck_assert_int_eq(a->sparse, b->sparse);
	ck_assert_int_eq(a->has_subtree, b->has_subtree);
	if (a->has_subtree)
		ck_assert_mem_eq(a->subtree, b->subtree, 32);
	ck_assert_uint_eq(a->nxattrs, b->nxattrs);
	for (i = 0; i < a->nxattrs; i++) {
		ck_assert_str_eq(a->xattrs[i].name, b->xattrs[i].name);
		ck_assert_uint_eq(a->xattrs[i].len, b->xattrs[i].len);
		ck_assert(a->xattrs[i].len == 0 ||
		    memcmp(a->xattrs[i].value, b->xattrs[i].value, a->xattrs[i].len) == 0);
	}
	ck_assert(str_eq(a->acl, b->acl));
	ck_assert(str_eq(a->fflags, b->fflags));
}

START_TEST(test_roundtrip_every_field)
{
	struct dsb_tree t, d;
	struct dsb_buf enc, enc2;
	json_t *root, *nodes, *o;
	size_t i;

	full_tree(&t);
	dsb_buf_init(&enc, 0);
	dsb_buf_init(&enc2, 0);
	ck_assert_int_eq(dsb_tree_encode(&t, &enc), 0);
	dsb_tree_init(&d);
	ck_assert_msg(dsb_tree_decode(enc.data, enc.len, &d) == 0, "%s", dsb_errmsg());
	ck_assert_uint_eq(d.n, t.n);
	for (i = 0; i < t.n; i++)
		assert_node_eq(&t.nodes[i], &d.nodes[i]);
	/* encoding is deterministic */
	ck_assert_int_eq(dsb_tree_encode(&d, &enc2), 0);
	ck_assert_uint_eq(enc.len, enc2.len);
	ck_assert_mem_eq(enc.data, enc2.data, enc.len);

	/* the JSON uses the documented keys: name_b64 and target_b64 for non-UTF-8 bytes */
	ck_assert_ptr_nonnull(root = json_loadb((const char *)enc.data, enc.len, 0, NULL));
	nodes = json_object_get(root, "nodes");
	ck_assert(json_is_array(nodes));
	json_array_foreach(nodes, i, o) {
		const struct dsb_node *n = &t.nodes[i];

		if (n->type == DSB_NODE_SYMLINK) {
			ck_assert_ptr_null(json_object_get(o, "name"));
			ck_assert(json_is_string(json_object_get(o, "name_b64")));
			ck_assert(json_is_string(json_object_get(o, "target_b64")));
		} else {
			ck_assert(json_is_string(json_object_get(o, "name")));
		}
		if (n->type == DSB_NODE_DIR)
			ck_assert_ptr_null(json_object_get(o, "atime"));
		else
			ck_assert(json_is_array(json_object_get(o, "atime")));
		if (n->type == DSB_NODE_FILE)
			ck_assert(json_is_integer(json_object_get(o, "size")));
	}
	json_decref(root);
	dsb_buf_release(&enc);
	dsb_buf_release(&enc2);
	dsb_tree_release(&d);
	dsb_tree_release(&t);
}
END_TEST

START_TEST(test_empty_tree)
{
	struct dsb_tree t, d;
	struct dsb_buf enc;

	dsb_tree_init(&t);
	dsb_buf_init(&enc, 0);
	ck_assert_int_eq(dsb_tree_encode(&t, &enc), 0);
	ck_assert_uint_eq(enc.len, strlen("{\"nodes\":[]}"));
	ck_assert_mem_eq(enc.data, "{\"nodes\":[]}", enc.len);
	dsb_tree_init(&d);
	ck_assert_int_eq(dsb_tree_decode(enc.data, enc.len, &d), 0);
	ck_assert_uint_eq(d.n, 0);
	dsb_tree_release(&d);
	dsb_buf_release(&enc);
}
END_TEST

START_TEST(test_node_copy)
{
	struct dsb_tree t;
	struct dsb_node c;
	size_t i;

	full_tree(&t);
	for (i = 0; i < t.n; i++) {
		ck_assert_int_eq(dsb_node_copy(&c, &t.nodes[i]), 0);
		assert_node_eq(&c, &t.nodes[i]);
		ck_assert(c.name != t.nodes[i].name);
		ck_assert(c.nxattrs == 0 || c.xattrs != t.nodes[i].xattrs);
		ck_assert(c.ncontent == 0 || c.content != t.nodes[i].content);
		dsb_node_release(&c);
	}
	dsb_tree_release(&t);
}
END_TEST

/* equal after a round trip and a copy; any one field changed makes a node (and its tree) differ */
START_TEST(test_node_equal)
{
	struct dsb_tree t, d;
	struct dsb_buf enc;
	struct dsb_node c;
	size_t i;
	int k;

	full_tree(&t);
	dsb_buf_init(&enc, 0);
	ck_assert_int_eq(dsb_tree_encode(&t, &enc), 0);
	dsb_tree_init(&d);
	ck_assert_int_eq(dsb_tree_decode(enc.data, enc.len, &d), 0);
	ck_assert(dsb_tree_equal(&t, &d));
	for (i = 0; i < t.n; i++) {
		for (k = 0; k < 12; k++) {
			ck_assert_int_eq(dsb_node_copy(&c, &t.nodes[i]), 0);
			ck_assert(dsb_node_equal(&c, &t.nodes[i]));
			switch (k) {
			case 0: c.mode ^= 1; break;
			case 1: c.mtime_ns++; break;
			case 2: c.atime++; break;
			case 3: c.ctime_ns ^= 1; break;
			case 4: c.size++; break;
			case 5: c.inode++; break;
			case 6: c.nlink++; break;
			case 7: c.name[0] ^= 1; break;
			case 8: c.uid++; break;
			case 9: c.has_subtree ? (void)(c.subtree[31] ^= 1) : (void)(c.sparse ^= 1); break;
			case 10:
				if (c.ncontent > 0)
					c.content[c.ncontent - 1][0] ^= 1;
				else
					c.rdev++;
				break;
			case 11:
				if (c.nxattrs > 0 && c.xattrs[0].len > 0)
					c.xattrs[0].value[0] ^= 1;
				else
					c.dev++;
				break;
			}
			ck_assert_msg(!dsb_node_equal(&c, &t.nodes[i]), "node %zu, change %d", i, k);
			dsb_node_release(&d.nodes[i]);
			d.nodes[i] = c;
			ck_assert(!dsb_tree_equal(&t, &d));
			dsb_node_release(&d.nodes[i]);
			ck_assert_int_eq(dsb_node_copy(&d.nodes[i], &t.nodes[i]), 0);
		}
	}
	ck_assert(dsb_tree_equal(&t, &d));
	d.n--;
	ck_assert(!dsb_tree_equal(&t, &d));
	d.n++;
	dsb_buf_release(&enc);
	dsb_tree_release(&d);
	dsb_tree_release(&t);
}
END_TEST

/* ---- decoding refuses ---- */

static int decode_str(const char *json)
{
	struct dsb_tree t;
	int r;

	dsb_tree_init(&t);
	r = dsb_tree_decode(json, strlen(json), &t);
	/* on error the tree is left empty */
	if (r != 0) {
		ck_assert_uint_eq(t.n, 0);
		ck_assert_ptr_null(t.nodes);
	}
	dsb_tree_release(&t);
	return r;
}

/* decode_nodes(fmt): a tree whose nodes array is ${nodes}. */
static int decode_nodes(const char *nodes)
{
	char buf[8192];

	snprintf(buf, sizeof(buf), "{\"nodes\":[%s]}", nodes);
	return decode_str(buf);
}

#define ID64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define FIFO(name) "{\"name\":\"" name "\",\"type\":\"fifo\",\"mode\":420}"

#define ACCEPT(nodes) ck_assert_msg(decode_nodes(nodes) == 0, "refused %s: %s", nodes, dsb_errmsg())
#define REFUSE(nodes) ck_assert_msg(decode_nodes(nodes) == DSB_ERR_CORRUPT, "accepted %s", nodes)

START_TEST(test_decode_names)
{
	ACCEPT(FIFO("a"));
	ACCEPT(FIFO("..."));
	ACCEPT(FIFO(".a"));
	ACCEPT("{\"name_b64\":\"/w==\",\"type\":\"fifo\",\"mode\":0}");   /* "\xff" */
	REFUSE(FIFO(""));
	REFUSE(FIFO("."));
	REFUSE(FIFO(".."));
	REFUSE(FIFO("a/b"));
	REFUSE(FIFO("/"));
	REFUSE(FIFO("a/"));
	REFUSE(FIFO("\\u0000"));
	REFUSE(FIFO("a\\u0000b"));
	/* the same through name_b64 */
	REFUSE("{\"name_b64\":\"\",\"type\":\"fifo\",\"mode\":0}");
	REFUSE("{\"name_b64\":\"Lg==\",\"type\":\"fifo\",\"mode\":0}");        /* "." */
	REFUSE("{\"name_b64\":\"Li4=\",\"type\":\"fifo\",\"mode\":0}");        /* ".." */
	REFUSE("{\"name_b64\":\"YS9i\",\"type\":\"fifo\",\"mode\":0}");        /* "a/b" */
	REFUSE("{\"name_b64\":\"YQBi\",\"type\":\"fifo\",\"mode\":0}");        /* "a\0b" */
	REFUSE("{\"name_b64\":\"not base64!\",\"type\":\"fifo\",\"mode\":0}");
	REFUSE("{\"name_b64\":5,\"type\":\"fifo\",\"mode\":0}");
	REFUSE("{\"name\":5,\"type\":\"fifo\",\"mode\":0}");
	REFUSE("{\"name\":null,\"type\":\"fifo\",\"mode\":0}");
	REFUSE("{\"type\":\"fifo\",\"mode\":0}");
	/* overlong names */
	{
		char name[4200], node[4300];

		memset(name, 'x', 4095);
		name[4095] = '\0';
		snprintf(node, sizeof(node), FIFO("%s"), name);
		ACCEPT(node);
		memset(name, 'x', 4096);
		name[4096] = '\0';
		snprintf(node, sizeof(node), FIFO("%s"), name);
		REFUSE(node);
	}
}
END_TEST

START_TEST(test_decode_order)
{
	ACCEPT(FIFO("a") "," FIFO("b") "," FIFO("c"));
	ACCEPT(FIFO("B") "," FIFO("a"));                 /* byte order, not locale */
	ACCEPT(FIFO("a") "," FIFO("a\\u00e9"));
	REFUSE(FIFO("a") "," FIFO("a"));
	REFUSE(FIFO("b") "," FIFO("a"));
	REFUSE(FIFO("a") "," FIFO("c") "," FIFO("b"));
	REFUSE(FIFO("a\\u00e9") "," FIFO("a"));
	/* a name spelled once plain and once as base64 is still a duplicate */
	REFUSE(FIFO("a") ",{\"name_b64\":\"YQ==\",\"type\":\"fifo\",\"mode\":0}");
}
END_TEST

START_TEST(test_decode_types_and_fields)
{
	/* type */
	REFUSE("{\"name\":\"a\",\"mode\":0}");
	REFUSE("{\"name\":\"a\",\"type\":\"door\",\"mode\":0}");
	REFUSE("{\"name\":\"a\",\"type\":\"\",\"mode\":0}");
	REFUSE("{\"name\":\"a\",\"type\":1,\"mode\":0}");
	/* required per type */
	REFUSE("{\"name\":\"d\",\"type\":\"dir\",\"mode\":493}");
	ACCEPT("{\"name\":\"d\",\"type\":\"dir\",\"mode\":493,\"subtree\":\"" ID64 "\"}");
	REFUSE("{\"name\":\"f\",\"type\":\"file\",\"mode\":420}");
	ACCEPT("{\"name\":\"f\",\"type\":\"file\",\"mode\":420,\"size\":0}");
	REFUSE("{\"name\":\"l\",\"type\":\"symlink\",\"mode\":511}");
	ACCEPT("{\"name\":\"l\",\"type\":\"symlink\",\"mode\":511,\"target\":\"x\"}");
	ACCEPT("{\"name\":\"l\",\"type\":\"symlink\",\"mode\":511,\"target_b64\":\"/w==\"}");
	REFUSE("{\"name\":\"l\",\"type\":\"symlink\",\"mode\":511,\"target_b64\":\"AA==\"}");
	REFUSE("{\"name\":\"l\",\"type\":\"symlink\",\"mode\":511,\"target\":7}");
	/* mode */
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\"}");
	ACCEPT("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":4095}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":4096}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":33188}");   /* st_mode with S_IFREG */
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":-1}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":1.5}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":\"644\"}");
	/* numbers out of range */
	ACCEPT("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"uid\":4294967295}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"uid\":4294967296}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"uid\":-1}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"gid\":-2}");
	REFUSE("{\"name\":\"a\",\"type\":\"file\",\"mode\":0,\"size\":-1}");
	ACCEPT("{\"name\":\"a\",\"type\":\"file\",\"mode\":0,\"size\":9223372036854775807}");
	REFUSE("{\"name\":\"a\",\"type\":\"file\",\"mode\":0,\"size\":9223372036854775808}");
	REFUSE("{\"name\":\"a\",\"type\":\"file\",\"mode\":0,\"size\":1e300}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"inode\":-1}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"dev\":-9223372036854775808}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"nlink\":4294967296}");
	REFUSE("{\"name\":\"a\",\"type\":\"chardev\",\"mode\":0,\"rdev\":-1}");
	/* times */
	ACCEPT("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"mtime\":[-1,999999999]}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"mtime\":[1,1000000000]}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"atime\":[1,-1]}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"ctime\":[1]}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"ctime\":5}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"ctime\":[\"1\",2]}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"ctime\":[1.0,2]}");
	/* ids */
	REFUSE("{\"name\":\"d\",\"type\":\"dir\",\"mode\":0,\"subtree\":\"" ID64 "0\"}");
	REFUSE("{\"name\":\"d\",\"type\":\"dir\",\"mode\":0,\"subtree\":\"0011\"}");
	REFUSE("{\"name\":\"d\",\"type\":\"dir\",\"mode\":0,"
	    "\"subtree\":\"g0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}");
	REFUSE("{\"name\":\"d\",\"type\":\"dir\",\"mode\":0,\"subtree\":5}");
	ACCEPT("{\"name\":\"f\",\"type\":\"file\",\"mode\":0,\"size\":1,\"content\":[\"" ID64 "\"],"
	    "\"hash\":\"" ID64 "\"}");
	REFUSE("{\"name\":\"f\",\"type\":\"file\",\"mode\":0,\"size\":1,\"content\":[\"" ID64 "\",\"x\"]}");
	REFUSE("{\"name\":\"f\",\"type\":\"file\",\"mode\":0,\"size\":1,\"content\":[5]}");
	REFUSE("{\"name\":\"f\",\"type\":\"file\",\"mode\":0,\"size\":1,\"content\":\"" ID64 "\"}");
	REFUSE("{\"name\":\"f\",\"type\":\"file\",\"mode\":0,\"size\":1,\"content\":[],\"hash\":\"zz\"}");
	/* strings that must be strings */
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"user\":5}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"group_b64\":\"@@@@\"}");
	/* xattrs */
	ACCEPT("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"xattrs\":[]}");
	ACCEPT("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"xattrs\":[{\"name\":\"user.a\","
	    "\"value_b64\":\"AP8=\"}]}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"xattrs\":{}}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"xattrs\":[5]}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"xattrs\":[{\"name\":\"user.a\"}]}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"xattrs\":[{\"value_b64\":\"\"}]}");
	REFUSE("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":0,\"xattrs\":[{\"name\":\"user.a\","
	    "\"value_b64\":\"A\"}]}");
	/* the node itself */
	REFUSE("5");
	REFUSE("\"a\"");
	REFUSE("[]");
	REFUSE("null");
	/* duplicate keys in one node */
	REFUSE("{\"name\":\"a\",\"name\":\"b\",\"type\":\"fifo\",\"mode\":0}");
}
END_TEST

START_TEST(test_decode_document)
{
	ck_assert_int_eq(decode_str("{\"nodes\":[]}"), 0);
	ck_assert_int_eq(decode_str("{\"nodes\":[],\"future\":1}"), 0);
	ck_assert_int_eq(decode_str(""), DSB_ERR_CORRUPT);
	ck_assert_int_eq(decode_str("{"), DSB_ERR_CORRUPT);
	ck_assert_int_eq(decode_str("{}"), DSB_ERR_CORRUPT);
	ck_assert_int_eq(decode_str("[]"), DSB_ERR_CORRUPT);
	ck_assert_int_eq(decode_str("null"), DSB_ERR_CORRUPT);
	ck_assert_int_eq(decode_str("{\"nodes\":{}}"), DSB_ERR_CORRUPT);
	ck_assert_int_eq(decode_str("{\"nodes\":\"x\"}"), DSB_ERR_CORRUPT);
	ck_assert_int_eq(decode_str("{\"nodes\":null}"), DSB_ERR_CORRUPT);
	ck_assert_int_eq(decode_str("{\"nodes\":[],\"nodes\":[]}"), DSB_ERR_CORRUPT);
	ck_assert_int_eq(decode_str("{\"nodes\":[]} trailing"), DSB_ERR_CORRUPT);
	/* an error after good nodes leaves nothing behind (checked in decode_str) */
	ck_assert_int_eq(decode_nodes(FIFO("a") "," FIFO("b") ",5"), DSB_ERR_CORRUPT);
	/* bytes that are not UTF-8 inside the JSON text */
	ck_assert_int_eq(decode_str("{\"nodes\":[{\"name\":\"\xff\",\"type\":\"fifo\",\"mode\":0}]}"),
	    DSB_ERR_CORRUPT);
}
END_TEST

/* wide_tree(n, node): {"nodes":[node,...]} with ${n} copies of ${node} (malloc'd) */
static char *wide_tree(size_t n, const char *node)
{
	size_t len = strlen(node), i;
	char *p = malloc(16 + n * (len + 1)), *q = p;

	ck_assert_ptr_nonnull(p);
	q += sprintf(q, "{\"nodes\":[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			*q++ = ',';
		memcpy(q, node, len);
		q += len;
	}
	strcpy(q, "]}");
	return p;
}

START_TEST(test_decode_entry_limit)
{
	struct dsb_tree t;
	char *text;

	/* one entry over the limit: refused before decoding, naming the count and the limit */
	dsb_tree_init(&t);
	text = wide_tree((size_t)DSB_TREE_MAX_NODES + 1, "{}");
	ck_assert_int_eq(dsb_tree_decode(text, strlen(text), &t), DSB_ERR_CORRUPT);
	ck_assert_msg(strstr(dsb_errmsg(), "tree has 1048577 entries, more than the 1048576") != NULL,
	    "%s", dsb_errmsg());
	ck_assert_uint_eq(t.n, 0);
	free(text);
	/* braces inside names and nested objects (xattrs) are not entries */
	ck_assert_int_eq(decode_nodes("{\"name\":\"{{\\\"{\",\"type\":\"fifo\",\"mode\":0,"
	    "\"xattrs\":[{\"name\":\"user.a\",\"value_b64\":\"\"}]}"), 0);
}
END_TEST

/* ---- names, sorting and search ---- */

START_TEST(test_name_ok)
{
	ck_assert_int_eq(dsb_node_name_ok("a"), 1);
	ck_assert_int_eq(dsb_node_name_ok("..."), 1);
	ck_assert_int_eq(dsb_node_name_ok("\xff"), 1);
	ck_assert_int_eq(dsb_node_name_ok(NULL), 0);
	ck_assert_int_eq(dsb_node_name_ok(""), 0);
	ck_assert_int_eq(dsb_node_name_ok("."), 0);
	ck_assert_int_eq(dsb_node_name_ok(".."), 0);
	ck_assert_int_eq(dsb_node_name_ok("a/b"), 0);
	ck_assert_int_eq(dsb_node_name_ok("/"), 0);
}
END_TEST

START_TEST(test_sort_and_find)
{
	struct dsb_tree t;
	struct dsb_node *n;
	char name[32];
	int i;

	dsb_tree_init(&t);
	/* 200 names added in a scrambled order */
	for (i = 0; i < 200; i++) {
		ck_assert_ptr_nonnull(n = dsb_tree_add(&t));
		snprintf(name, sizeof(name), "n%03d", (i * 37) % 200 * 2);   /* even numbers only */
		n->name = xstrdup(name);
		n->type = DSB_NODE_FIFO;
		n->mode = (uint32_t)i;
	}
	ck_assert_int_eq(dsb_tree_sort(&t), 0);
	for (i = 1; i < 200; i++)
		ck_assert_int_lt(strcmp(t.nodes[i - 1].name, t.nodes[i].name), 0);
	for (i = 0; i < 400; i++) {
		const struct dsb_node *f;

		snprintf(name, sizeof(name), "n%03d", i);
		f = dsb_tree_find(&t, name);
		if (i % 2 == 0) {
			ck_assert_ptr_nonnull(f);
			ck_assert_str_eq(f->name, name);
		} else {
			ck_assert_ptr_null(f);
		}
	}
	ck_assert_ptr_null(dsb_tree_find(&t, ""));
	ck_assert_ptr_null(dsb_tree_find(&t, "a"));        /* before the first */
	ck_assert_ptr_null(dsb_tree_find(&t, "z"));        /* after the last */
	ck_assert_ptr_null(dsb_tree_find(&t, "n000x"));
	ck_assert_ptr_nonnull(dsb_tree_find(&t, "n000"));
	ck_assert_ptr_nonnull(dsb_tree_find(&t, "n398"));

	/* a duplicate is found by sort */
	ck_assert_ptr_nonnull(n = dsb_tree_add(&t));
	n->name = xstrdup("n100");
	n->type = DSB_NODE_FIFO;
	ck_assert_int_eq(dsb_tree_sort(&t), DSB_ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "n100"));
	dsb_tree_release(&t);

	/* empty and single-node trees */
	dsb_tree_init(&t);
	ck_assert_int_eq(dsb_tree_sort(&t), 0);
	ck_assert_ptr_null(dsb_tree_find(&t, "a"));
	ck_assert_ptr_nonnull(n = dsb_tree_add(&t));
	n->name = xstrdup("a");
	ck_assert_int_eq(dsb_tree_sort(&t), 0);
	ck_assert_ptr_nonnull(dsb_tree_find(&t, "a"));
	ck_assert_ptr_null(dsb_tree_find(&t, "b"));
	dsb_tree_release(&t);
	dsb_tree_release(&t);   /* released twice is fine */
}
END_TEST

START_TEST(test_type_names)
{
	int i;

	for (i = DSB_NODE_FILE; i <= DSB_NODE_SOCKET; i++)
		ck_assert_int_eq(dsb_node_type_parse(dsb_node_type_name(i)), i);
	ck_assert_str_eq(dsb_node_type_name(0), "unknown");
	ck_assert_str_eq(dsb_node_type_name(99), "unknown");
	ck_assert_int_eq(dsb_node_type_parse("unknown"), 0);
	ck_assert_int_eq(dsb_node_type_parse("FILE"), 0);
}
END_TEST

START_TEST(test_content_growth)
{
	struct dsb_node n;
	uint8_t id[32];
	size_t i;

	memset(&n, 0, sizeof(n));
	for (i = 0; i < 1000; i++) {
		memset(id, (int)(i & 0xff), sizeof(id));
		ck_assert_int_eq(dsb_node_add_content(&n, id), 0);
	}
	ck_assert_uint_eq(n.ncontent, 1000);
	for (i = 0; i < 1000; i++)
		ck_assert_uint_eq(n.content[i][31], i & 0xff);
	dsb_node_release(&n);
	ck_assert_uint_eq(n.ncontent, 0);
}
END_TEST

/* ACL and file-flags text is kept byte for byte even when it is not UTF-8 (a user name in Latin-1). */
START_TEST(test_roundtrip_non_utf8_acl)
{
	struct dsb_tree t, d;
	struct dsb_node *n;
	struct dsb_buf enc;

	dsb_tree_init(&t);
	ck_assert_ptr_nonnull(n = dsb_tree_add(&t));
	n->name = xstrdup("f");
	n->type = DSB_NODE_FILE;
	n->acl = xstrdup("user::rw-\nuser:j\xf6rg:r--\ngroup::r--\nmask::r--\nother::---\n");
	n->fflags = xstrdup("nodump,\xff");
	dsb_buf_init(&enc, 0);
	ck_assert_int_eq(dsb_tree_encode(&t, &enc), 0);
	dsb_tree_init(&d);
	ck_assert_msg(dsb_tree_decode(enc.data, enc.len, &d) == 0, "%s", dsb_errmsg());
	ck_assert_uint_eq(d.n, 1);
	ck_assert_ptr_nonnull(d.nodes[0].acl);
	ck_assert_str_eq(d.nodes[0].acl, t.nodes[0].acl);
	ck_assert_ptr_nonnull(d.nodes[0].fflags);
	ck_assert_str_eq(d.nodes[0].fflags, t.nodes[0].fflags);
	dsb_buf_release(&enc);
	dsb_tree_release(&d);
	dsb_tree_release(&t);
}
END_TEST

static Suite *tree_suite(void)
{
	Suite *s = suite_create("tree");
	TCase *codec = tcase_create("codec");
	TCase *decode = tcase_create("decode");
	TCase *names = tcase_create("names");

	tcase_add_test(codec, test_roundtrip_every_field);
	tcase_add_test(codec, test_empty_tree);
	tcase_add_test(codec, test_node_copy);
	tcase_add_test(codec, test_node_equal);
	tcase_add_test(codec, test_roundtrip_non_utf8_acl);
	suite_add_tcase(s, codec);
	tcase_add_test(decode, test_decode_names);
	tcase_add_test(decode, test_decode_order);
	tcase_add_test(decode, test_decode_types_and_fields);
	tcase_add_test(decode, test_decode_document);
	tcase_add_test(decode, test_decode_entry_limit);
	suite_add_tcase(s, decode);
	tcase_add_test(names, test_name_ok);
	tcase_add_test(names, test_sort_and_find);
	tcase_add_test(names, test_type_names);
	tcase_add_test(names, test_content_growth);
	suite_add_tcase(s, names);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tree_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
