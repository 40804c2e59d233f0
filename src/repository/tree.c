/* tree.c: tree nodes and their JSON encoding (docs/FORMAT.md §9). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dsbackup/error.h"
#include "dsbackup/tree.h"
#include "dsbackup/util.h"

static const char *const type_names[] = {
	NULL, "file", "dir", "symlink", "fifo", "chardev", "blockdev", "socket"
};

const char *dsb_node_type_name(int type)
{
	if (type < DSB_NODE_FILE || type > DSB_NODE_SOCKET)
		return "unknown";
	return type_names[type];
}

int dsb_node_type_parse(const char *s)
{
	int i;

	for (i = DSB_NODE_FILE; i <= DSB_NODE_SOCKET; i++)
		if (strcmp(s, type_names[i]) == 0)
			return i;
	return 0;
}

void dsb_tree_init(struct dsb_tree *t)
{
	t->nodes = NULL;
	t->n = t->cap = 0;
}

void dsb_node_release(struct dsb_node *n)
{
	size_t i;

	free(n->name);
	free(n->user);
	free(n->group);
	free(n->target);
	free(n->content);
	for (i = 0; i < n->nxattrs; i++) {
		free(n->xattrs[i].name);
		free(n->xattrs[i].value);
	}
	free(n->xattrs);
	free(n->acl);
	free(n->fflags);
	memset(n, 0, sizeof(*n));
}

void dsb_tree_release(struct dsb_tree *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		dsb_node_release(&t->nodes[i]);
	free(t->nodes);
	dsb_tree_init(t);
}

struct dsb_node *dsb_tree_add(struct dsb_tree *t)
{
	struct dsb_node *p;

	if (t->n >= DSB_TREE_MAX_NODES) {
		dsb_error(DSB_ERR_LIMIT, "more than %d entries in one directory", DSB_TREE_MAX_NODES);
		return NULL;
	}
	if (DSB_GROW(t->nodes, t->cap, t->n, "tree nodes") != 0)
		return NULL;
	p = &t->nodes[t->n++];
	memset(p, 0, sizeof(*p));
	return p;
}

int dsb_node_add_content(struct dsb_node *n, const uint8_t id[32])
{
	uint8_t (*p)[32];

	if (n->ncontent >= DSB_NODE_MAX_CONTENT)
		return dsb_error(DSB_ERR_LIMIT, "file has too many chunks");
	/* grow in powers of two: realloc only when the count is one */
	if ((n->ncontent & (n->ncontent - 1)) == 0) {
		size_t ncap = n->ncontent ? n->ncontent * 2 : 1;

		if ((p = realloc(n->content, ncap * 32)) == NULL)
			return dsb_error(DSB_ERR_NOMEM, "out of memory");
		n->content = p;
	}
	memcpy(n->content[n->ncontent++], id, 32);
	return 0;
}

static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (src != NULL && (*dst = strdup(src)) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	return 0;
}

int dsb_node_copy(struct dsb_node *dst, const struct dsb_node *src)
{
	size_t i;
	int r;

	*dst = *src;
	dst->name = dst->user = dst->group = dst->target = dst->acl = dst->fflags = NULL;
	dst->content = NULL;
	dst->xattrs = NULL;
	dst->ncontent = dst->nxattrs = 0;
	if ((r = dup_str(&dst->name, src->name)) != 0 || (r = dup_str(&dst->user, src->user)) != 0 ||
	    (r = dup_str(&dst->group, src->group)) != 0 ||
	    (r = dup_str(&dst->target, src->target)) != 0 ||
	    (r = dup_str(&dst->acl, src->acl)) != 0 || (r = dup_str(&dst->fflags, src->fflags)) != 0)
		goto fail;
	for (i = 0; i < src->ncontent; i++)
		if ((r = dsb_node_add_content(dst, src->content[i])) != 0)
			goto fail;
	if (src->nxattrs > 0) {
		if ((dst->xattrs = calloc(src->nxattrs, sizeof(*dst->xattrs))) == NULL) {
			r = dsb_error(DSB_ERR_NOMEM, "out of memory");
			goto fail;
		}
		for (i = 0; i < src->nxattrs; i++, dst->nxattrs++) {
			if ((r = dup_str(&dst->xattrs[i].name, src->xattrs[i].name)) != 0)
				goto fail;
			dst->xattrs[i].len = src->xattrs[i].len;
			if ((dst->xattrs[i].value = malloc(src->xattrs[i].len + 1)) == NULL) {
				r = dsb_error(DSB_ERR_NOMEM, "out of memory");
				goto fail;
			}
			memcpy(dst->xattrs[i].value, src->xattrs[i].value, src->xattrs[i].len);
		}
	}
	return 0;
fail:
	dsb_node_release(dst);
	return r;
}

static int same_str(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static int same_xattrs(const struct dsb_node *a, const struct dsb_node *b)
{
	size_t i;

	if (a->nxattrs != b->nxattrs)
		return 0;
	for (i = 0; i < a->nxattrs; i++)
		if (!same_str(a->xattrs[i].name, b->xattrs[i].name) ||
		    a->xattrs[i].len != b->xattrs[i].len ||
		    (a->xattrs[i].len > 0 && memcmp(a->xattrs[i].value, b->xattrs[i].value,
		    a->xattrs[i].len) != 0))
			return 0;
	return 1;
}

int dsb_node_equal(const struct dsb_node *a, const struct dsb_node *b)
{
	return a->type == b->type && a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
	    a->mtime == b->mtime && a->mtime_ns == b->mtime_ns && a->atime == b->atime &&
	    a->atime_ns == b->atime_ns && a->ctime == b->ctime && a->ctime_ns == b->ctime_ns &&
	    a->size == b->size && a->inode == b->inode && a->dev == b->dev &&
	    a->nlink == b->nlink && a->rdev == b->rdev && a->ncontent == b->ncontent &&
	    (a->ncontent == 0 || memcmp(a->content, b->content, a->ncontent * 32) == 0) &&
	    a->has_hash == b->has_hash && (!a->has_hash || memcmp(a->hash, b->hash, 32) == 0) &&
	    a->sparse == b->sparse && a->has_subtree == b->has_subtree &&
	    (!a->has_subtree || memcmp(a->subtree, b->subtree, 32) == 0) &&
	    same_str(a->name, b->name) && same_str(a->user, b->user) &&
	    same_str(a->group, b->group) && same_str(a->target, b->target) &&
	    same_str(a->acl, b->acl) && same_str(a->fflags, b->fflags) && same_xattrs(a, b);
}

int dsb_tree_equal(const struct dsb_tree *a, const struct dsb_tree *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (!dsb_node_equal(&a->nodes[i], &b->nodes[i]))
			return 0;
	return 1;
}

int dsb_node_name_ok(const char *name)
{
	return name != NULL && name[0] != '\0' && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
	    strchr(name, '/') == NULL && strlen(name) <= 4095;
}

static int cmp_nodes(const void *a, const void *b)
{
	return strcmp(((const struct dsb_node *)a)->name, ((const struct dsb_node *)b)->name);
}

int dsb_tree_sort(struct dsb_tree *t)
{
	size_t i;

	if (t->n > 1)
		qsort(t->nodes, t->n, sizeof(*t->nodes), cmp_nodes);
	for (i = 1; i < t->n; i++)
		if (strcmp(t->nodes[i - 1].name, t->nodes[i].name) == 0)
			return dsb_error(DSB_ERR_CORRUPT, "duplicate name \"%s\" in a directory",
			    t->nodes[i].name);
	return 0;
}

const struct dsb_node *dsb_tree_find(const struct dsb_tree *t, const char *name)
{
	size_t lo = 0, hi = t->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(name, t->nodes[mid].name);
		if (c == 0)
			return &t->nodes[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* ---- encoding ---- */

static int set_bytes_or_b64(json_t *o, const char *key, const char *b64key, const char *s)
{
	struct dsb_buf b;
	json_t *v;
	int r;

	if ((v = json_string(s)) != NULL)
		return json_object_set_new(o, key, v) == 0 ? 0 :
		    dsb_error(DSB_ERR_NOMEM, "out of memory");
	dsb_buf_init(&b, 0);
	if ((r = dsb_base64_encode(s, strlen(s), &b)) == 0 &&
	    json_object_set_new(o, b64key, json_string((const char *)b.data)) != 0)
		r = dsb_error(DSB_ERR_NOMEM, "out of memory");
	dsb_buf_release(&b);
	return r;
}

static json_t *time_pair(int64_t s, long ns)
{
	return json_pack("[I,I]", (json_int_t)s, (json_int_t)ns);
}

static int encode_content(json_t *o, const struct dsb_node *n)
{
	char hex[65];
	json_t *a = json_array();
	size_t i;

	if (a == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	for (i = 0; i < n->ncontent; i++) {
		dsb_hex_encode(n->content[i], 32, hex);
		json_array_append_new(a, json_string(hex));
	}
	json_object_set_new(o, "content", a);
	if (n->has_hash) {
		dsb_hex_encode(n->hash, 32, hex);
		json_object_set_new(o, "hash", json_string(hex));
	}
	if (n->sparse)
		json_object_set_new(o, "sparse", json_true());
	json_object_set_new(o, "size", json_integer((json_int_t)n->size));
	return 0;
}

static int encode_xattrs(json_t *o, const struct dsb_node *n)
{
	struct dsb_buf b;
	json_t *a, *x;
	size_t i;
	int r = 0;

	if (n->nxattrs == 0)
		return 0;
	if ((a = json_array()) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	dsb_buf_init(&b, 0);
	for (i = 0; i < n->nxattrs && r == 0; i++) {
		dsb_buf_reset(&b);
		if ((x = json_object()) == NULL) {
			r = dsb_error(DSB_ERR_NOMEM, "out of memory");
			break;
		}
		json_array_append_new(a, x);
		if ((r = set_bytes_or_b64(x, "name", "name_b64", n->xattrs[i].name)) == 0 &&
		    (r = dsb_base64_encode(n->xattrs[i].value, n->xattrs[i].len, &b)) == 0)
			json_object_set_new(x, "value_b64", json_string((const char *)b.data));
	}
	dsb_buf_release(&b);
	json_object_set_new(o, "xattrs", a);
	return r;
}

static int encode_node(json_t *arr, const struct dsb_node *n)
{
	char hex[65];
	json_t *o;
	int r;

	if ((o = json_object()) == NULL || json_array_append_new(arr, o) != 0)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	if ((r = set_bytes_or_b64(o, "name", "name_b64", n->name)) != 0)
		return r;
	json_object_set_new(o, "type", json_string(dsb_node_type_name(n->type)));
	json_object_set_new(o, "mode", json_integer(n->mode));
	json_object_set_new(o, "uid", json_integer(n->uid));
	json_object_set_new(o, "gid", json_integer(n->gid));
	if (n->user != NULL && (r = set_bytes_or_b64(o, "user", "user_b64", n->user)) != 0)
		return r;
	if (n->group != NULL && (r = set_bytes_or_b64(o, "group", "group_b64", n->group)) != 0)
		return r;
	json_object_set_new(o, "mtime", time_pair(n->mtime, n->mtime_ns));
	if (n->type != DSB_NODE_DIR)
		json_object_set_new(o, "atime", time_pair(n->atime, n->atime_ns));
	json_object_set_new(o, "ctime", time_pair(n->ctime, n->ctime_ns));
	json_object_set_new(o, "inode", json_integer((json_int_t)n->inode));
	json_object_set_new(o, "dev", json_integer((json_int_t)n->dev));
	json_object_set_new(o, "nlink", json_integer((json_int_t)n->nlink));
	if (n->type == DSB_NODE_FILE && (r = encode_content(o, n)) != 0)
		return r;
	if (n->type == DSB_NODE_SYMLINK &&
	    (r = set_bytes_or_b64(o, "target", "target_b64", n->target ? n->target : "")) != 0)
		return r;
	if (n->type == DSB_NODE_CHARDEV || n->type == DSB_NODE_BLOCKDEV)
		json_object_set_new(o, "rdev", json_integer((json_int_t)n->rdev));
	if (n->has_subtree) {
		dsb_hex_encode(n->subtree, 32, hex);
		json_object_set_new(o, "subtree", json_string(hex));
	}
	/* libarchive's texts hold user and group names, which need not be UTF-8 */
	if (n->acl != NULL && (r = set_bytes_or_b64(o, "acl", "acl_b64", n->acl)) != 0)
		return r;
	if (n->fflags != NULL && (r = set_bytes_or_b64(o, "fflags", "fflags_b64", n->fflags)) != 0)
		return r;
	return encode_xattrs(o, n);
}

int dsb_tree_encode(const struct dsb_tree *t, struct dsb_buf *out)
{
	json_t *root, *arr;
	char *text = NULL;
	size_t i;
	int r = 0;

	if ((root = json_object()) == NULL || (arr = json_array()) == NULL) {
		json_decref(root);
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	}
	json_object_set_new(root, "nodes", arr);
	for (i = 0; i < t->n && r == 0; i++)
		r = encode_node(arr, &t->nodes[i]);
	if (r == 0 && (text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		r = dsb_error(DSB_ERR_NOMEM, "out of memory encoding a tree");
	if (r == 0) {
		dsb_buf_reset(out);
		r = dsb_buf_append(out, text, strlen(text));
	}
	free(text);
	json_decref(root);
	return r;
}

/* ---- decoding ---- */

static int get_str(json_t *o, const char *key, const char *b64key, char **out, int required)
{
	struct dsb_buf b;
	json_t *v;
	int r;

	*out = NULL;
	if ((v = json_object_get(o, key)) != NULL) {
		if (!json_is_string(v))
			return dsb_error(DSB_ERR_CORRUPT, "tree node: \"%s\" is not a string", key);
		return dup_str(out, json_string_value(v));
	}
	if ((v = json_object_get(o, b64key)) == NULL) {
		if (required)
			return dsb_error(DSB_ERR_CORRUPT, "tree node without \"%s\"", key);
		return 0;
	}
	if (!json_is_string(v))
		return dsb_error(DSB_ERR_CORRUPT, "tree node: \"%s\" is not a string", b64key);
	dsb_buf_init(&b, 1 << 20);
	if ((r = dsb_base64_decode(json_string_value(v), &b)) == 0) {
		if (memchr(b.data, 0, b.len) != NULL)
			r = dsb_error(DSB_ERR_CORRUPT, "tree node: \"%s\" contains a NUL byte", b64key);
		else if ((*out = malloc(b.len + 1)) == NULL)
			r = dsb_error(DSB_ERR_NOMEM, "out of memory");
		else {
			memcpy(*out, b.data, b.len);
			(*out)[b.len] = '\0';
		}
	}
	dsb_buf_release(&b);
	return r;
}

static int get_uint(json_t *o, const char *key, uint64_t max, uint64_t *out, int required)
{
	json_t *v = json_object_get(o, key);

	*out = 0;
	if (v == NULL)
		return required ? dsb_error(DSB_ERR_CORRUPT, "tree node without \"%s\"", key) : 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
		return dsb_error(DSB_ERR_CORRUPT, "tree node: \"%s\" is not an integer in 0..%llu",
		    key, (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_time(json_t *o, const char *key, int64_t *sec, long *nsec)
{
	json_t *v = json_object_get(o, key);
	json_int_t s, ns;

	*sec = 0;
	*nsec = 0;
	if (v == NULL)
		return 0;
	if (json_unpack(v, "[II]", &s, &ns) != 0 || ns < 0 || ns > 999999999)
		return dsb_error(DSB_ERR_CORRUPT, "tree node: \"%s\" is not [seconds, nanoseconds]", key);
	*sec = s;
	*nsec = (long)ns;
	return 0;
}

static int get_id(json_t *o, const char *key, uint8_t id[32], int *has)
{
	json_t *v = json_object_get(o, key);

	*has = 0;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || dsb_hex_decode(json_string_value(v), id, 32) != 0)
		return dsb_error(DSB_ERR_CORRUPT, "tree node: \"%s\" is not a 64-digit hex id", key);
	*has = 1;
	return 0;
}

static int decode_content(json_t *o, struct dsb_node *n)
{
	json_t *a = json_object_get(o, "content"), *v;
	uint8_t id[32];
	size_t i;
	int r, has;

	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > DSB_NODE_MAX_CONTENT)
		return dsb_error(DSB_ERR_CORRUPT, "tree node: \"content\" is not an array of ids");
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || dsb_hex_decode(json_string_value(v), id, 32) != 0)
			return dsb_error(DSB_ERR_CORRUPT, "tree node: bad blob id in \"content\"");
		if ((r = dsb_node_add_content(n, id)) != 0)
			return r;
	}
	if ((r = get_id(o, "hash", n->hash, &has)) != 0)
		return r;
	n->has_hash = has;
	n->sparse = json_is_true(json_object_get(o, "sparse"));
	return 0;
}

static int decode_xattrs(json_t *o, struct dsb_node *n)
{
	json_t *a = json_object_get(o, "xattrs"), *x, *v;
	struct dsb_buf b;
	size_t i;
	int r = 0;

	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > 65536)
		return dsb_error(DSB_ERR_CORRUPT, "tree node: \"xattrs\" is not an array");
	if (json_array_size(a) == 0)
		return 0;
	if ((n->xattrs = calloc(json_array_size(a), sizeof(*n->xattrs))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	dsb_buf_init(&b, 1 << 24);
	json_array_foreach(a, i, x) {
		if ((r = get_str(x, "name", "name_b64", &n->xattrs[i].name, 1)) != 0)
			break;
		n->nxattrs++;
		v = json_object_get(x, "value_b64");
		if (!json_is_string(v) || (r = dsb_base64_decode(json_string_value(v), &b)) != 0) {
			r = dsb_error(DSB_ERR_CORRUPT, "tree node: bad xattr value");
			break;
		}
		if ((n->xattrs[i].value = malloc(b.len + 1)) == NULL) {
			r = dsb_error(DSB_ERR_NOMEM, "out of memory");
			break;
		}
		memcpy(n->xattrs[i].value, b.data, b.len);
		n->xattrs[i].len = b.len;
	}
	dsb_buf_release(&b);
	return r;
}

static int decode_node(json_t *o, struct dsb_node *n)
{
	json_t *v;
	uint64_t u;
	int r, has;

	if (!json_is_object(o))
		return dsb_error(DSB_ERR_CORRUPT, "tree node is not an object");
	if ((r = get_str(o, "name", "name_b64", &n->name, 1)) != 0)
		return r;
	if (!dsb_node_name_ok(n->name))
		return dsb_error(DSB_ERR_CORRUPT, "unsafe name \"%.200s\" in a tree (refused)", n->name);
	v = json_object_get(o, "type");
	if (!json_is_string(v) || (n->type = dsb_node_type_parse(json_string_value(v))) == 0)
		return dsb_error(DSB_ERR_CORRUPT, "tree node \"%.200s\" has no valid type", n->name);
	if ((r = get_uint(o, "mode", 07777, &u, 1)) != 0)
		return r;
	n->mode = (uint32_t)u;
	if ((r = get_uint(o, "uid", UINT32_MAX, &u, 0)) != 0)
		return r;
	n->uid = (uint32_t)u;
	if ((r = get_uint(o, "gid", UINT32_MAX, &u, 0)) != 0)
		return r;
	n->gid = (uint32_t)u;
	if ((r = get_str(o, "user", "user_b64", &n->user, 0)) != 0 ||
	    (r = get_str(o, "group", "group_b64", &n->group, 0)) != 0 ||
	    (r = get_time(o, "mtime", &n->mtime, &n->mtime_ns)) != 0 ||
	    (r = get_time(o, "atime", &n->atime, &n->atime_ns)) != 0 ||
	    (r = get_time(o, "ctime", &n->ctime, &n->ctime_ns)) != 0 ||
	    (r = get_uint(o, "size", INT64_MAX, &n->size, n->type == DSB_NODE_FILE)) != 0 ||
	    (r = get_uint(o, "inode", UINT64_MAX >> 1, &n->inode, 0)) != 0 ||
	    (r = get_uint(o, "dev", UINT64_MAX >> 1, &n->dev, 0)) != 0 ||
	    (r = get_uint(o, "nlink", UINT32_MAX, &n->nlink, 0)) != 0 ||
	    (r = get_uint(o, "rdev", UINT64_MAX >> 1, &n->rdev, 0)) != 0)
		return r;
	if (n->type == DSB_NODE_SYMLINK &&
	    (r = get_str(o, "target", "target_b64", &n->target, 1)) != 0)
		return r;
	if (n->type == DSB_NODE_FILE && (r = decode_content(o, n)) != 0)
		return r;
	if ((r = get_id(o, "subtree", n->subtree, &has)) != 0)
		return r;
	n->has_subtree = has;
	if (n->type == DSB_NODE_DIR && !has)
		return dsb_error(DSB_ERR_CORRUPT, "directory \"%.200s\" has no subtree", n->name);
	if ((r = get_str(o, "acl", "acl_b64", &n->acl, 0)) != 0 ||
	    (r = get_str(o, "fflags", "fflags_b64", &n->fflags, 0)) != 0)
		return r;
	return decode_xattrs(o, n);
}

/*
 * count_elements(p, len): the number of objects that are elements of an
 * array of the root object ("nodes": the root holds nothing else), counted
 * on the text so that an absurd tree is refused before jansson builds it (a
 * decoded entry costs about 1 KiB).  Malformed text is left to jansson.
 */
static size_t count_elements(const char *p, size_t len)
{
	size_t i, n = 0;
	int depth = 0, in_string = 0;

	for (i = 0; i < len; i++) {
		if (in_string) {
			if (p[i] == '\\')
				i++;
			else if (p[i] == '"')
				in_string = 0;
			continue;
		}
		switch (p[i]) {
		case '"':
			in_string = 1;
			break;
		case '{':
		case '[':
			if (++depth == 3 && p[i] == '{')
				n++;
			break;
		case '}':
		case ']':
			depth--;
			break;
		}
	}
	return n;
}

int dsb_tree_decode(const void *p, size_t len, struct dsb_tree *t)
{
	json_error_t jerr;
	json_t *root, *arr, *o;
	struct dsb_node *n;
	size_t i;
	int r = 0;

	if ((i = count_elements((const char *)p, len)) > DSB_TREE_MAX_NODES)
		return dsb_error(DSB_ERR_CORRUPT, "tree has %zu entries, more than the %d one directory "
		    "may hold (refused)", i, DSB_TREE_MAX_NODES);
	if ((root = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		/* jansson names every syntax error; it fails silently when an allocation does */
		if (json_error_code(&jerr) == json_error_out_of_memory || jerr.text[0] == '\0')
			return dsb_error(DSB_ERR_NOMEM, "out of memory decoding a tree of %zu bytes", len);
		return dsb_error(DSB_ERR_CORRUPT, "tree is not valid JSON: %s", jerr.text);
	}
	arr = json_object_get(root, "nodes");
	if (!json_is_array(arr)) {
		r = dsb_error(DSB_ERR_CORRUPT, "tree has no \"nodes\" array");
		goto out;
	}
	if (json_array_size(arr) > DSB_TREE_MAX_NODES) {   /* not counted above: "nodes" holds non-objects */
		r = dsb_error(DSB_ERR_CORRUPT, "tree has %zu entries, more than the %d one directory "
		    "may hold (refused)", json_array_size(arr), DSB_TREE_MAX_NODES);
		goto out;
	}
	json_array_foreach(arr, i, o) {
		if ((n = dsb_tree_add(t)) == NULL) {
			r = DSB_ERR_NOMEM;
			goto out;
		}
		if ((r = decode_node(o, n)) != 0)
			goto out;
	}
	for (i = 1; i < t->n; i++) {
		if (strcmp(t->nodes[i - 1].name, t->nodes[i].name) >= 0) {
			r = dsb_error(DSB_ERR_CORRUPT, "tree names are duplicated or out of order "
			    "near \"%.200s\" (refused)", t->nodes[i].name);
			goto out;
		}
	}
out:
	json_decref(root);
	if (r != 0)
		dsb_tree_release(t);
	return r;
}
