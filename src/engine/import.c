/*
 * import.c: an archive (anything libarchive reads) into a new snapshot.
 * Entries come in any order, so the archive's tree is built in memory
 * (metadata and content blob ids; the content itself is stored as it is
 * read, through store.c like a backup's), then written bottom-up as tree
 * blobs, then the snapshot.  Nothing is recorded as a snapshot unless the
 * whole archive was read.
 */
#include <archive.h>
#include <archive_entry.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "store.h"

#define MAX_DEPTH 1024
#define VOLUMES_DIR "/var/lib/docker/volumes"

/* one entry of the archive's tree; a directory keeps its children, by name in a tsearch(3) tree */
struct imp_ent {
	struct dsb_node node;
	struct imp_ent **kids;
	size_t nkids, capkids;
	void *byname;
};

struct importer {
	struct dsb_store store;
	const struct dsb_import_opts *o;
	struct dsb_backup_stats *st;
	struct archive *ar;
	struct imp_ent root;        /* the archive's "." */
	uint64_t next_inode;
	int64_t now_sec;
	long now_nsec;
};

/* ---- the tree in memory ---- */

static int cmp_ent(const void *a, const void *b)
{
	return strcmp(((const struct imp_ent *)a)->node.name, ((const struct imp_ent *)b)->node.name);
}

static void no_free(void *p)
{
	(void)p;
}

static void ent_free_kids(struct imp_ent *d)
{
	size_t i;

	for (i = 0; i < d->nkids; i++) {
		ent_free_kids(d->kids[i]);
		dsb_node_release(&d->kids[i]->node);
		free(d->kids[i]);
	}
	free(d->kids);
	tdestroy(d->byname, no_free);
	d->kids = NULL;
	d->byname = NULL;
	d->nkids = d->capkids = 0;
}

static struct imp_ent *ent_find(struct imp_ent *d, char *name)
{
	struct imp_ent key;
	void *p;

	key.node.name = name;
	p = tfind(&key, &d->byname, cmp_ent);
	return p != NULL ? *(struct imp_ent **)p : NULL;
}

static struct imp_ent *ent_add(struct imp_ent *d, const char *name)
{
	struct imp_ent *e;

	if (DSB_GROW(d->kids, d->capkids, d->nkids, "directory entries") != 0)
		return NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL || (e->node.name = dsb_strdup(name)) == NULL) {
		free(e);
		return NULL;
	}
	if (tsearch(e, &d->byname, cmp_ent) == NULL) {
		free(e->node.name);
		free(e);
		return NULL;
	}
	d->kids[d->nkids++] = e;
	return e;
}

static void implicit_dir(struct importer *im, struct dsb_node *n)
{
	n->type = DSB_NODE_DIR;
	n->mode = 0755;
	n->nlink = 1;
	n->mtime = n->atime = n->ctime = im->now_sec;
	n->mtime_ns = n->atime_ns = n->ctime_ns = im->now_nsec;
}

/*
 * split(path, comps, n): the components of an archive path ("./a//b/" ->
 * "a", "b"), in place; none for the root.  DSB_ERR_CORRUPT for "..".
 */
static int split(char *path, char **comps, size_t *n)
{
	char *save = NULL, *c;

	*n = 0;
	for (c = strtok_r(path, "/", &save); c != NULL; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0)
			return dsb_error(DSB_ERR_CORRUPT, "the path has a \"..\" component (refused)");
		if (*n == MAX_DEPTH)
			return dsb_error(DSB_ERR_LIMIT, "the path is nested deeper than %d", MAX_DEPTH);
		comps[(*n)++] = c;
	}
	return 0;
}

/* walk(im, comps, n, make, out): the directory holding comps[0..n), made (implicit) when ${make} */
static int walk(struct importer *im, char **comps, size_t n, int make, struct imp_ent **out)
{
	struct imp_ent *d = &im->root, *k;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((k = ent_find(d, comps[i])) == NULL) {
			if (!make)
				return dsb_error(DSB_ERR_NOT_FOUND, "%s is not in the archive before it", comps[i]);
			if ((k = ent_add(d, comps[i])) == NULL)
				return dsb_error(DSB_ERR_NOMEM, "out of memory");
			implicit_dir(im, &k->node);
		} else if (k->node.type != DSB_NODE_DIR) {
			return dsb_error(DSB_ERR_CORRUPT, "%s is not a directory in the archive", comps[i]);
		}
		d = k;
	}
	*out = d;
	return 0;
}

/* place(im, path, n): put the node ${n} (taken over) at ${path}; an entry already there is replaced */
static int place(struct importer *im, const char *path, struct dsb_node *n)
{
	char *copy = dsb_strdup(path), *comps[MAX_DEPTH];
	struct imp_ent *d, *e;
	size_t nc;
	int r;

	if (copy == NULL)
		return DSB_ERR_NOMEM;
	if ((r = split(copy, comps, &nc)) != 0 || (r = walk(im, comps, nc > 0 ? nc - 1 : 0, 1, &d)) != 0)
		goto out;
	if (nc == 0) {
		e = &im->root;
	} else if ((e = ent_find(d, comps[nc - 1])) == NULL && (e = ent_add(d, comps[nc - 1])) == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (n->type != DSB_NODE_DIR)
		ent_free_kids(e);   /* a directory replaced by a file: its entries go too */
	free(n->name);
	n->name = e->node.name;
	e->node.name = NULL;
	dsb_node_release(&e->node);
	e->node = *n;
	memset(n, 0, sizeof(*n));
out:
	free(copy);
	return r;
}

/* ---- entries ---- */

static int read_archive(void *arg, void *buf, size_t cap, size_t *got)
{
	struct importer *im = arg;
	la_ssize_t n = archive_read_data(im->ar, buf, cap);

	if (n < 0)
		return dsb_error(DSB_ERR_CORRUPT, "%s", archive_error_string(im->ar));
	*got = (size_t)n;
	return 0;
}

/* a hard link: the file it names, under another name, sharing an inode number */
static int link_node(struct importer *im, const char *target, struct dsb_node *n)
{
	char *copy = dsb_strdup(target), *comps[MAX_DEPTH];
	struct imp_ent *d, *t = NULL;
	size_t nc;
	int r;

	if (copy == NULL)
		return DSB_ERR_NOMEM;
	if ((r = split(copy, comps, &nc)) == 0 && nc > 0 && (r = walk(im, comps, nc - 1, 0, &d)) == 0)
		t = ent_find(d, comps[nc - 1]);
	if (r == 0 && (t == NULL || t->node.type != DSB_NODE_FILE))
		r = dsb_error(DSB_ERR_CORRUPT, "hard link to %s, which is not a file earlier in the archive",
		    target);
	if (r == 0 && (r = dsb_node_copy(n, &t->node)) == 0)
		n->nlink = ++t->node.nlink;
	free(copy);
	return r;
}

static int import_entry(struct importer *im, struct archive_entry *e, const char *path)
{
	struct dsb_node n;
	const char *link = archive_entry_hardlink(e);
	uint64_t total;
	int r;

	memset(&n, 0, sizeof(n));
	if (link != NULL && !(archive_entry_size_is_set(e) && archive_entry_size(e) > 0)) {
		if ((r = link_node(im, link, &n)) != 0)
			goto out;
		im->st->files++;
	} else if ((r = dsb_node_from_entry(&n, e)) != 0) {
		goto out;
	} else if (n.type == DSB_NODE_FILE) {
		n.inode = ++im->next_inode;
		im->st->files++;
		im->st->files_new++;
		dsb_progress_file(path);
		if ((r = dsb_store_content(&im->store, &n, read_archive, im, path, &total)) != 0)
			goto out;
	} else if (n.type == DSB_NODE_DIR) {
		im->st->dirs++;
	}
	r = place(im, path, &n);
out:
	dsb_node_release(&n);
	return r;
}

static int read_entries(struct importer *im, const char *name)
{
	struct archive_entry *e;
	char *last = NULL;
	int ar, r = 0;

	while (r == 0 && (ar = archive_read_next_header(im->ar, &e)) != ARCHIVE_EOF) {
		if (ar < ARCHIVE_WARN) {
			r = dsb_error(DSB_ERR_CORRUPT, "archive %s: %s%s: %s", name,
			    last != NULL ? "after entry " : "at the start", last != NULL ? last : "",
			    archive_error_string(im->ar));
			break;
		}
		free(last);
		if ((last = dsb_strdup(archive_entry_pathname(e) != NULL ? archive_entry_pathname(e) : "")) == NULL)
			return DSB_ERR_NOMEM;
		if (ar == ARCHIVE_WARN)
			dsb_warn("archive %s: entry %s: %s", name, last, archive_error_string(im->ar));
		if ((r = import_entry(im, e, last)) == 0)
			r = dsb_store_tick(&im->store);
		else if (r != DSB_ERR_NOMEM)
			dsb_error_wrap(r, "archive %s: entry %s", name, last);
	}
	free(last);
	return r;
}

/* ---- trees and the snapshot ---- */

/* store_dir(im, d): the tree of ${d}'s entries (moved into it) into d->node.subtree */
static int store_dir(struct importer *im, struct imp_ent *d)
{
	struct dsb_tree t;
	struct dsb_node *n;
	size_t i;
	int r = 0;

	dsb_tree_init(&t);
	for (i = 0; i < d->nkids && r == 0; i++) {
		if (d->kids[i]->node.type == DSB_NODE_DIR && (r = store_dir(im, d->kids[i])) != 0)
			break;
		if ((n = dsb_tree_add(&t)) == NULL) {
			r = DSB_ERR_NOMEM;
			break;
		}
		*n = d->kids[i]->node;
		memset(&d->kids[i]->node, 0, sizeof(d->kids[i]->node));
	}
	if (r == 0 && (r = dsb_store_tree(&im->store, &t, d->node.subtree)) == 0)
		d->node.has_subtree = 1;
	dsb_tree_release(&t);
	return r;
}

/*
 * store_root(im, root, tree): the snapshot's tree with the archive's root
 * as the directory ${root} ("/": the snapshot's root itself); directories
 * above it are made (0755, owned by root).
 */
static int store_root(struct importer *im, const char *root, uint8_t tree[32])
{
	char *copy, *comps[MAX_DEPTH];
	struct dsb_tree t;
	struct dsb_node *n;
	size_t nc = 0, i;
	int r;

	if ((r = store_dir(im, &im->root)) != 0)
		return r;
	memcpy(tree, im->root.node.subtree, 32);
	if ((copy = dsb_strdup(root)) == NULL)
		return DSB_ERR_NOMEM;
	r = split(copy, comps, &nc);
	for (i = nc; i-- > 0 && r == 0;) {
		dsb_tree_init(&t);
		if ((n = dsb_tree_add(&t)) == NULL) {
			r = DSB_ERR_NOMEM;
		} else if (i == nc - 1) {
			*n = im->root.node;   /* moved: the archive's "." with its metadata */
			memset(&im->root.node, 0, sizeof(im->root.node));
		} else {
			implicit_dir(im, n);
			n->has_subtree = 1;
			memcpy(n->subtree, tree, 32);
		}
		if (r == 0 && (n->name = dsb_strdup(comps[i])) == NULL)
			r = DSB_ERR_NOMEM;
		if (r == 0)
			r = dsb_store_tree(&im->store, &t, tree);
		dsb_tree_release(&t);
	}
	free(copy);
	return r;
}

/* ---- where the archive goes: --source ---- */

static int volume_name_ok(const char *name)
{
	size_t n = strlen(name);

	/* Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
	return n >= 2 && strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n &&
	    name[0] != '_' && name[0] != '.' && name[0] != '-';
}

/* target(o, root, spec, meta): the snapshot path of the archive's root, the source recorded and its source_meta */
static int target(const struct dsb_import_opts *o, char **root, char **spec, char **meta)
{
	const char *src = o->base->source;
	char norm[4096];
	json_t *j;
	int r;

	*root = *spec = *meta = NULL;
	if (src == NULL)
		return (*root = dsb_strdup("/")) != NULL ? 0 : DSB_ERR_NOMEM;
	if (strncmp(src, "path:", 5) == 0) {
		if ((r = dsb_path_normalize(src + 5, norm, sizeof(norm))) != 0)
			return r;
		*root = dsb_strdup(norm);
		*spec = dsb_asprintf("path:%s", norm);
		return *root != NULL && *spec != NULL ? 0 : DSB_ERR_NOMEM;
	}
	if (strncmp(src, "volume:", 7) != 0)
		return dsb_error(DSB_ERR_USAGE, "import --source takes volume:NAME or path:DIR, not %s", src);
	if (!volume_name_ok(src + 7))
		return dsb_error(DSB_ERR_USAGE, "\"%s\" is not a Docker volume name", src + 7);
	if ((*root = dsb_asprintf(VOLUMES_DIR "/%s/_data", src + 7)) == NULL ||
	    (*spec = dsb_strdup(src)) == NULL)
		return DSB_ERR_NOMEM;
	/* as source_volume.c records a volume: restore --source recreates it from this */
	j = json_pack("{s:{s:s, s:s, s:{}, s:{}, s:s, s:s, s:b}}", "volume", "name", src + 7,
	    "driver", "local", "driver_opts", "labels", "mountpoint", *root, "scope", "local",
	    "engine", 0);
	*meta = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return *meta != NULL ? 0 : dsb_error(DSB_ERR_NOMEM, "out of memory");
}

/* ---- the whole import ---- */

static int open_archive(struct importer *im, const char *name)
{
	int ar;

	if ((im->ar = archive_read_new()) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	archive_read_support_filter_all(im->ar);
	archive_read_support_format_all(im->ar);
	ar = strcmp(name, "-") == 0 ? archive_read_open_fd(im->ar, 0, 65536) :
	    archive_read_open_filename(im->ar, name, 65536);
	if (ar != ARCHIVE_OK)
		return dsb_error(DSB_ERR_IO, "archive %s: %s", name, archive_error_string(im->ar));
	return 0;
}

static int write_snapshot(struct importer *im, char *const *root, const char *host,
    const char *spec, const char *meta, const uint8_t tree[32], char id_out[65])
{
	const struct dsb_backup_opts *b = im->o->base;
	struct dsb_snapshot_new sn;

	memset(&sn, 0, sizeof(sn));
	sn.time_sec = b->has_time ? b->time_sec : im->now_sec;
	sn.time_nsec = b->has_time ? b->time_nsec : im->now_nsec;
	sn.host = host;
	sn.paths = (const char *const *)root;
	sn.npaths = 1;
	sn.tags = b->tags;
	sn.ntags = b->ntags;
	sn.tree = tree;
	sn.source = spec;
	sn.source_meta = meta;
	return dsb_store_snapshot(&im->store, &sn, id_out);
}

int dsb_import(struct dsb_session *s, const struct dsb_import_opts *o, char id_out[65],
    struct dsb_backup_stats *st)
{
	struct importer im;
	const char *name = strcmp(o->archive, "-") == 0 ? "(standard input)" : o->archive;
	char *root = NULL, *spec = NULL, *meta = NULL, host[256];
	uint8_t tree[32];
	int r;

	memset(&im, 0, sizeof(im));
	memset(st, 0, sizeof(*st));
	im.o = o;
	im.st = st;
	dsb_time_now(&im.now_sec, &im.now_nsec);
	implicit_dir(&im, &im.root.node);
	if ((r = target(o, &root, &spec, &meta)) != 0 ||
	    (r = dsb_backup_host(o->base, &root, 1, host, sizeof(host))) != 0 ||
	    (r = dsb_store_init(&im.store, s, o->base->workers, st)) != 0 ||
	    (r = open_archive(&im, o->archive)) != 0 ||
	    (r = dsb_store_lock(&im.store, o->base->lock_wait_sec)) != 0 ||
	    (r = read_entries(&im, name)) != 0 ||
	    (r = store_root(&im, root, tree)) != 0 ||
	    (r = dsb_store_finish(&im.store)) != 0 ||
	    (r = write_snapshot(&im, &root, host, spec, meta, tree, id_out)) != 0)
		goto out;
	dsb_listing_after_backup(s, id_out);
out:
	if (r != 0 && r != DSB_ERR_USAGE)
		dsb_error_wrap(r, "import failed, no snapshot was written");
	if (im.ar != NULL)
		archive_read_free(im.ar);
	ent_free_kids(&im.root);
	dsb_node_release(&im.root.node);
	dsb_store_release(&im.store);
	free(root);
	free(spec);
	free(meta);
	return r;
}
