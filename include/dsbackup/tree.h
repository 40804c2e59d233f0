/*
 * tree.h: directory trees as stored in tree blobs (docs/FORMAT.md §9): a
 * node per entry with its full metadata, encoded as JSON.  Decoding checks
 * everything a restore relies on: names that cannot escape a directory,
 * unique names, sane sizes and counts.
 */
#ifndef DSBACKUP_TREE_H
#define DSBACKUP_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "dsbackup/buf.h"

enum dsb_node_type {
	DSB_NODE_FILE = 1,
	DSB_NODE_DIR,
	DSB_NODE_SYMLINK,
	DSB_NODE_FIFO,
	DSB_NODE_CHARDEV,
	DSB_NODE_BLOCKDEV,
	DSB_NODE_SOCKET
};

/*
 * Entries in one directory (docs/FORMAT.md §9): a tree with more is refused
 * whole, counted before it is decoded, so that it costs no memory; backup
 * refuses a directory with more.
 */
#define DSB_TREE_MAX_NODES 1048576
#define DSB_NODE_MAX_CONTENT 16000000    /* blobs in one file */
#define DSB_TREE_MAX_DEPTH 1024          /* directories nested in one another (readers refuse more) */

struct dsb_xattr {
	char *name;
	uint8_t *value;
	size_t len;
};

struct dsb_node {
	char *name;                 /* no '/', no NUL, not "." or ".." */
	int type;                   /* enum dsb_node_type */
	uint32_t mode;              /* st_mode & 07777 */
	uint32_t uid, gid;
	char *user, *group;         /* NULL when unknown */
	int64_t mtime, atime, ctime;
	long mtime_ns, atime_ns, ctime_ns;
	uint64_t size, inode, dev, nlink, rdev;
	char *target;               /* symlinks */
	uint8_t (*content)[32];     /* files: data blob ids */
	size_t ncontent;
	int has_hash;
	uint8_t hash[32];           /* files: SHA-256 of the content */
	int sparse;
	int has_subtree;
	uint8_t subtree[32];        /* directories */
	struct dsb_xattr *xattrs;
	size_t nxattrs;
	char *acl;                  /* libarchive ACL text, NULL if none */
	char *fflags;               /* libarchive fflags text, NULL if none */
};

struct dsb_tree {
	struct dsb_node *nodes;
	size_t n, cap;
};

void dsb_tree_init(struct dsb_tree *t);
void dsb_tree_release(struct dsb_tree *t);
/* dsb_tree_add(t): append a zeroed node; NULL (with error set) on failure. */
struct dsb_node *dsb_tree_add(struct dsb_tree *t);
void dsb_node_release(struct dsb_node *n);
/* dsb_node_copy(dst, src): deep copy. */
int dsb_node_copy(struct dsb_node *dst, const struct dsb_node *src);
/* dsb_node_add_content(n, id): append one blob id. */
int dsb_node_add_content(struct dsb_node *n, const uint8_t id[32]);

/*
 * dsb_node_equal(a, b): 1 when the nodes hold the same name and metadata,
 * field for field (so they encode alike), 0 otherwise.
 * dsb_tree_equal(a, b): 1 when both trees hold equal nodes in the same order.
 */
int dsb_node_equal(const struct dsb_node *a, const struct dsb_node *b);
int dsb_tree_equal(const struct dsb_tree *a, const struct dsb_tree *b);

/* dsb_node_name_ok(name): 1 when ${name} is a safe single path component. */
int dsb_node_name_ok(const char *name);

/* dsb_tree_sort(t): sort by name bytes; DSB_ERR_CORRUPT on duplicate names. */
int dsb_tree_sort(struct dsb_tree *t);
/* dsb_tree_find(t, name): binary search in a sorted tree; NULL if absent. */
const struct dsb_node *dsb_tree_find(const struct dsb_tree *t, const char *name);

/* dsb_tree_encode(t, out): JSON of a sorted tree into ${out} (replaced). */
int dsb_tree_encode(const struct dsb_tree *t, struct dsb_buf *out);
/*
 * dsb_tree_decode(p, n, t): parse and validate a tree blob; every name is
 * checked with dsb_node_name_ok, names are unique and sorted.  ${t} must be
 * initialised; on error it is left empty.
 */
int dsb_tree_decode(const void *p, size_t n, struct dsb_tree *t);

/* dsb_node_type_name(type) / dsb_node_type_parse(s): "file", "dir", ... */
const char *dsb_node_type_name(int type);
int dsb_node_type_parse(const char *s);

#endif
