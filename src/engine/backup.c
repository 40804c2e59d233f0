/*
 * backup.c: walk the paths and store files, trees and the snapshot through
 * store.c (chunks, the worker pipeline, index objects; docs/FORMAT.md §11).
 *
 * The walking thread reads, chunks and hashes; workers compress, encrypt and
 * store.  Files whose size, mtime, ctime and inode match the parent
 * snapshot reuse their node without being opened; directories whose times
 * and inode match reuse their xattrs, ACLs and flags.  The parent's trees
 * are read and decoded ahead of the walk (treeahead.h), and the files the
 * walk will read are brought into the page cache ahead of it (prefetch.h).
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <jansson.h>

#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "prefetch.h"
#include "store.h"
#include "treeahead.h"

/* raw bytes of the parent's trees read ahead of the walk and not yet taken, at most */
#define TREEAHEAD_BUDGET ((uint64_t)8 << 20)
#define TREEAHEAD_WORKERS_MAX 4
/* bytes of files the walk will read asked of the disk ahead of it, at most (page cache, not ours) */
#define PREFETCH_BUDGET ((uint64_t)64 << 20)

volatile sig_atomic_t dsb_interrupted;

struct walker {
	struct dsb_session *s;
	const struct dsb_backup_opts *o;
	struct dsb_backup_stats *st;
	struct dsb_store store;
	struct archive *ard;
	dev_t root_dev;
	const char *parent_id;     /* the parent snapshot, or NULL */
	struct dsb_treeahead *ahead;   /* the parent's trees read ahead; NULL without a parent */
	struct dsb_prefetch *prefetch; /* files warmed in the page cache ahead of the walk */
	int no_sparse;             /* ard is set not to look for holes */
	int depth;                 /* of the directory being walked */
};

static int report(struct walker *w, const char *path, const char *what, int errnum)
{
	dsb_log(DSB_LOG_ERROR, "%s %s: %s (skipped)", what, path, strerror(errnum));
	w->st->errors++;
	return 0;
}

static int excluded(const struct walker *w, const char *path)
{
	size_t i;

	for (i = 0; i < w->o->nexcludes; i++)
		if (dsb_glob_match(w->o->excludes[i], path))
			return 1;
	return 0;
}

static int known_blob(struct walker *w, const uint8_t id[32])
{
	return dsb_store_known(&w->store, id);
}

static int check_interrupt(struct walker *w)
{
	return dsb_store_tick(&w->store);
}

/* ---- metadata ---- */

static void meta_from_stat(struct dsb_node *n, const struct stat *st)
{
	n->mode = st->st_mode & 07777;
	n->uid = st->st_uid;
	n->gid = st->st_gid;
	n->mtime = st->st_mtim.tv_sec;
	n->mtime_ns = st->st_mtim.tv_nsec;
	/* a directory's atime changes whenever it is listed, by us too: not recorded */
	if (!S_ISDIR(st->st_mode)) {
		n->atime = st->st_atim.tv_sec;
		n->atime_ns = st->st_atim.tv_nsec;
	}
	n->ctime = st->st_ctim.tv_sec;
	n->ctime_ns = st->st_ctim.tv_nsec;
	n->inode = st->st_ino;
	n->dev = st->st_dev;
	n->nlink = st->st_nlink;
	n->size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		n->rdev = st->st_rdev;
	if (S_ISREG(st->st_mode))
		n->type = DSB_NODE_FILE;
	else if (S_ISDIR(st->st_mode))
		n->type = DSB_NODE_DIR;
	else if (S_ISLNK(st->st_mode))
		n->type = DSB_NODE_SYMLINK;
	else if (S_ISFIFO(st->st_mode))
		n->type = DSB_NODE_FIFO;
	else if (S_ISCHR(st->st_mode))
		n->type = DSB_NODE_CHARDEV;
	else if (S_ISBLK(st->st_mode))
		n->type = DSB_NODE_BLOCKDEV;
	else
		n->type = DSB_NODE_SOCKET;
}

/*
 * set_hole_search(w, st): a file whose allocated blocks cover its size has
 * no holes (GNU tar's test), so libarchive is told not to look for them:
 * six lseek(2)s a file, a third of the system calls of a small file.  A file
 * with holes and enough blocks allocated past its end to hide them is then
 * recorded as not sparse, and restored with its zeros written: the same bytes.
 */
static void set_hole_search(struct walker *w, const struct stat *st)
{
	int no_sparse = !S_ISREG(st->st_mode) ||
	    (uint64_t)st->st_blocks * 512 >= (uint64_t)st->st_size;

	if (no_sparse != w->no_sparse) {
		archive_read_disk_set_behavior(w->ard, no_sparse ? ARCHIVE_READDISK_NO_SPARSE : 0);
		w->no_sparse = no_sparse;
	}
}

/* ACLs, xattrs, owner names, flags and sparseness through libarchive's disk reader */
static int meta_from_archive(struct walker *w, struct dsb_node *n, const char *path, int fd,
    const struct stat *st)
{
	struct archive_entry *e = archive_entry_new();
	int r = 0;

	if (e == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	set_hole_search(w, st);
	archive_entry_copy_pathname(e, path);
	archive_entry_copy_sourcepath(e, path);
	if (archive_read_disk_entry_from_file(w->ard, e, fd, st) < ARCHIVE_WARN)
		dsb_warn("%s: cannot read extended metadata: %s", path, archive_error_string(w->ard));
	else
		r = dsb_node_meta_from_entry(n, e);
	archive_entry_free(e);
	return r;
}

/* ---- files ---- */

/*
 * same_inode(p, st): 1 when the parent's node ${p} names the same inode
 * with the same mtime and ctime as ${st}.  Any change of mode, owner,
 * xattrs, ACLs or file flags moves the ctime, so such a node's extended
 * metadata is still right.
 */
static int same_inode(const struct dsb_node *p, const struct stat *st)
{
	return p != NULL && p->mtime == st->st_mtim.tv_sec && p->mtime_ns == st->st_mtim.tv_nsec &&
	    p->ctime == st->st_ctim.tv_sec && p->ctime_ns == st->st_ctim.tv_nsec &&
	    p->inode == (uint64_t)st->st_ino;
}

static int same_file(const struct dsb_node *p, const struct stat *st)
{
	return same_inode(p, st) && p->type == DSB_NODE_FILE && p->size == (uint64_t)st->st_size &&
	    p->has_hash;
}

/* the prefetch thread's judge: a file the walk will not read (prefetch.h) */
static int prefetch_unchanged(const void *before, const struct stat *st)
{
	return same_file(before, st);
}

/* adopt_parent(n, p, st): ${n}, keeping its name, becomes ${p} with ${st}'s stat fields */
static int adopt_parent(struct dsb_node *n, const struct dsb_node *p, const struct stat *st)
{
	char *name = n->name;
	int r;

	n->name = NULL;
	dsb_node_release(n);
	if ((r = dsb_node_copy(n, p)) != 0) {
		n->name = name;
		return r;
	}
	free(n->name);
	n->name = name;
	meta_from_stat(n, st);   /* atime and link count as they are now */
	return 0;
}

/* reuse the parent's node when the file is unchanged and all its blobs are still indexed */
static int reuse_unchanged(struct walker *w, struct dsb_node *n, const struct dsb_node *p,
    const struct stat *st, int *reused)
{
	size_t i;
	int r;

	*reused = 0;
	if (!same_file(p, st))
		return 0;
	for (i = 0; i < p->ncontent; i++) {
		if ((r = known_blob(w, p->content[i])) <= 0)
			return r;
	}
	if ((r = adopt_parent(n, p, st)) != 0)
		return r;
	*reused = 1;
	return 0;
}

/*
 * dir_meta(w, n, path, st, p): a directory's extended metadata: the
 * parent's node's ${p} when it is the same inode with the same times
 * (its subtree is replaced by the walk), read from the disk otherwise.
 */
static int dir_meta(struct walker *w, struct dsb_node *n, const char *path, const struct stat *st,
    const struct dsb_node *p)
{
	if (p != NULL && p->type == DSB_NODE_DIR && same_inode(p, st))
		return adopt_parent(n, p, st);
	return meta_from_archive(w, n, path, -1, st);
}

static int open_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 && errno == EPERM)
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	return fd;
}

/*
 * Reading stops at the size fstat gave: the read(2) that would return 0 is
 * saved.  A file that grew meanwhile shows it in the fstat after reading,
 * and is reported as changed while read, its snapshot holding the bytes read.
 * A file of size 0 is read to its end: some (in /proc) have content all the same.
 */
struct fd_reader {
	int fd;
	const char *path;
	int sized;         /* the size at the start was not 0 */
	uint64_t left;     /* bytes up to it */
};

static int read_fd(void *arg, void *buf, size_t cap, size_t *got)
{
	struct fd_reader *fr = arg;
	ssize_t n;

	*got = 0;
	if (fr->sized && fr->left == 0)
		return 0;
	do
		n = read(fr->fd, buf, cap);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return dsb_error_errno(DSB_ERR_IO, errno, "reading %s", fr->path);
	*got = (size_t)n;
	fr->left = (uint64_t)n < fr->left ? fr->left - (uint64_t)n : 0;
	return 0;
}

static int changed_during_read(const struct stat *a, const struct stat *b)
{
	return a->st_size != b->st_size || a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
	    a->st_mtim.tv_nsec != b->st_mtim.tv_nsec || a->st_ino != b->st_ino;
}

/* 0 and *ok = 1 when stored; 0 and *ok = 0 when the file was skipped (reported) */
static int backup_file(struct walker *w, const char *path, const struct stat *lst,
    const struct dsb_node *parent, struct dsb_node *n, int *ok)
{
	struct fd_reader fr;
	struct stat st, after;
	uint64_t total;
	int fd, r, reused;

	*ok = 0;
	if ((r = reuse_unchanged(w, n, parent, lst, &reused)) != 0)
		return r;
	if (reused) {
		w->st->files_unchanged++;
		dsb_progress_bytes(n->size);
		*ok = 1;
		return 0;
	}
	if ((fd = open_file(path)) < 0)
		return report(w, path, "cannot open", errno);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return report(w, path, "cannot read", S_ISREG(st.st_mode) ? errno : EINVAL);
	}
	meta_from_stat(n, &st);
	if ((r = meta_from_archive(w, n, path, fd, &st)) != 0)
		goto out;
	fr.fd = fd;
	fr.path = path;
	fr.sized = st.st_size > 0;
	fr.left = (uint64_t)st.st_size;
	if ((r = dsb_store_content(&w->store, n, read_fd, &fr, path, &total)) != 0) {
		if (r != DSB_ERR_IO)
			goto out;
		dsb_log(DSB_LOG_ERROR, "%s (skipped)", dsb_errmsg());
		w->st->errors++;
		r = 0;
		goto out;
	}
	if (fstat(fd, &after) == 0 && (changed_during_read(&st, &after) || total != (uint64_t)st.st_size)) {
		dsb_warn("%s changed while it was read; the snapshot holds the %llu bytes read", path,
		    (unsigned long long)total);
		w->st->changed_while_read++;
	}
	if (parent != NULL && parent->type == DSB_NODE_FILE)
		w->st->files_changed++;
	else
		w->st->files_new++;
	*ok = 1;
out:
	close(fd);
	return r;
}

/* ---- directories ---- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_names(const char *path, char ***names, size_t *count)
{
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, cap = 0;
	DIR *d;
	int r = 0;

	if ((d = opendir(path)) == NULL)
		return dsb_error_errno(DSB_ERR_IO, errno, "cannot open directory %s", path);
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((r = DSB_GROW(v, cap, n, "directory entries")) != 0)
			break;
		if ((v[n] = dsb_strdup(de->d_name)) == NULL) {
			r = DSB_ERR_NOMEM;
			break;
		}
		n++;
		errno = 0;
	}
	if (r == 0 && errno != 0)
		r = dsb_error_errno(DSB_ERR_IO, errno, "reading directory %s", path);
	closedir(d);
	if (r == 0 && n > 1)
		qsort(v, n, sizeof(*v), cmp_names);
	*names = v;
	*count = n;
	return r;
}

static void free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int walk_dir(struct walker *w, const char *path, const uint8_t *parent_tree,
    uint8_t out_id[32]);

static int store_tree(struct walker *w, struct dsb_tree *t, uint8_t id[32])
{
	return dsb_store_tree(&w->store, t, id);
}

/*
 * store_tree_or_parent(w, t, pt, parent_tree, id): a directory whose nodes
 * all equal those of its tree in the parent snapshot (${pt}, decoded from
 * ${parent_tree}; NULL when there is none) gets that tree's id, neither
 * encoded nor hashed again; any other is stored.
 */
static int store_tree_or_parent(struct walker *w, struct dsb_tree *t, const struct dsb_tree *pt,
    const uint8_t *parent_tree, uint8_t id[32])
{
	int r;

	if (parent_tree != NULL) {
		if ((r = dsb_tree_sort(t)) != 0)
			return r;
		if (dsb_tree_equal(t, pt) && (r = dsb_store_known(&w->store, parent_tree)) != 0) {
			if (r < 0)
				return r;
			memcpy(id, parent_tree, 32);
			return 0;
		}
	}
	return store_tree(w, t, id);
}

/*
 * backup_entry(w, path, name, parent, t): add ${path} (named ${name} in its
 * directory) to ${t}.  Unreadable entries are reported and left out.
 */
static int backup_entry(struct walker *w, const char *path, const char *name,
    const struct dsb_node *parent, struct dsb_tree *t)
{
	struct dsb_tree empty;
	struct dsb_node *n;
	struct stat st;
	char target[8192];
	ssize_t tl;
	int r, ok = 1;

	if (lstat(path, &st) != 0)
		return report(w, path, "cannot stat", errno);
	if ((n = dsb_tree_add(t)) == NULL)
		return DSB_ERR_NOMEM;
	if ((n->name = dsb_strdup(name)) == NULL)
		return DSB_ERR_NOMEM;
	meta_from_stat(n, &st);
	switch (n->type) {
	case DSB_NODE_FILE:
		w->st->files++;
		dsb_progress_file(path);
		if ((r = backup_file(w, path, &st, parent, n, &ok)) != 0)
			return r;
		break;
	case DSB_NODE_DIR:
		w->st->dirs++;
		if ((r = dir_meta(w, n, path, &st, parent)) != 0)
			return r;
		n->has_subtree = 1;
		if (w->o->one_file_system && st.st_dev != w->root_dev) {
			dsb_tree_init(&empty);
			r = store_tree(w, &empty, n->subtree);
			dsb_tree_release(&empty);
		} else {
			r = walk_dir(w, path, parent != NULL && parent->type == DSB_NODE_DIR &&
			    parent->has_subtree ? parent->subtree : NULL, n->subtree);
		}
		if (r == DSB_ERR_IO) {
			dsb_log(DSB_LOG_ERROR, "%s (skipped)", dsb_errmsg());
			w->st->errors++;
			ok = 0;
			r = 0;
		}
		if (r != 0)
			return r;
		break;
	case DSB_NODE_SYMLINK:
		if ((tl = readlink(path, target, sizeof(target) - 1)) < 0) {
			ok = 0;
			report(w, path, "cannot read link", errno);
			break;
		}
		target[tl] = '\0';
		if ((n->target = dsb_strdup(target)) == NULL)
			return DSB_ERR_NOMEM;
		r = meta_from_archive(w, n, path, -1, &st);
		if (r != 0)
			return r;
		break;
	default:
		if ((r = meta_from_archive(w, n, path, -1, &st)) != 0)
			return r;
		break;
	}
	if (!ok) {
		dsb_node_release(n);
		t->n--;
	}
	return check_interrupt(w);
}

/*
 * load_parent_tree(w, id, path, pt): the parent snapshot's tree of ${path}
 * into ${pt}, or, when it cannot be read, a warning naming the parent and
 * why, and ${pt} empty: every file below ${path} is then read again.
 * Returns ${id} when the tree was read, NULL otherwise.
 */
static const uint8_t *load_parent_tree(struct walker *w, const uint8_t *id, const char *path,
    struct dsb_tree *pt)
{
	int r = 1;

	if (id == NULL)
		return NULL;
	if (w->ahead != NULL)
		r = dsb_treeahead_take(w->ahead, id, pt);
	if (r == 1)
		r = dsb_session_load_tree(w->s, id, pt);
	if (r == 0)
		return id;
	dsb_warn("cannot read the tree of %s in the parent snapshot %.16s: %s; reading every file "
	    "below it again", path[0] ? path : "/", w->parent_id ? w->parent_id : "?", dsb_errmsg());
	dsb_error_clear();
	dsb_tree_init(pt);
	return NULL;
}

/*
 * read_subtrees_ahead(w, pt): queue the subtrees of the parent's tree ${pt}
 * of the directory being walked, for the walk below it, while the budget
 * lasts.  A subtree the catalog cannot place is left to the walk, which
 * reports it if it needs it.
 */
static int read_subtrees_ahead(struct walker *w, const struct dsb_tree *pt)
{
	struct dsb_blob_ref ref;
	size_t i;
	int r;

	for (i = 0; i < pt->n; i++) {
		if (pt->nodes[i].type != DSB_NODE_DIR || !pt->nodes[i].has_subtree)
			continue;
		if (dsb_session_blob_ref(w->s, pt->nodes[i].subtree, &ref) != 0 ||
		    ref.entry.type != DSB_BLOB_TREE) {
			dsb_error_clear();
			continue;
		}
		if ((r = dsb_treeahead_submit(w->ahead, &ref, w->depth + 1)) != 0)
			return r < 0 ? r : 0;
	}
	return 0;
}

/*
 * walk_entries(w, path, names, count, pt, out, n): the entries of ${path}
 * to back up, in order: the names not excluded, each with the parent's
 * node of that name (or NULL).
 */
static int walk_entries(struct walker *w, const char *path, char **names, size_t count,
    const struct dsb_tree *pt, struct dsb_prefetch_entry **out, size_t *n)
{
	struct dsb_prefetch_entry *e;
	char *full;
	size_t i, k = 0;
	int skip;

	*out = NULL;
	*n = 0;
	if (count == 0)
		return 0;
	if ((e = calloc(count, sizeof(*e))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	for (i = 0; i < count; i++) {
		if (w->o->nexcludes > 0) {
			if ((full = dsb_path_join(path, names[i])) == NULL) {
				free(e);
				return DSB_ERR_NOMEM;
			}
			skip = excluded(w, full);
			free(full);
			if (skip)
				continue;
		}
		e[k].name = names[i];
		e[k++].before = dsb_tree_find(pt, names[i]);
	}
	*out = e;
	*n = k;
	return 0;
}

static int walk_dir(struct walker *w, const char *path, const uint8_t *parent_tree,
    uint8_t out_id[32])
{
	struct dsb_prefetch_entry *e = NULL;
	struct dsb_tree t, pt;
	char **names = NULL, *full;
	size_t i, count = 0, n = 0;
	int r, pushed = 0;

	dsb_tree_init(&t);
	dsb_tree_init(&pt);
	w->depth++;
	if ((r = read_names(path, &names, &count)) != 0)
		goto out;
	if (count > DSB_TREE_MAX_NODES) {
		r = dsb_error(DSB_ERR_LIMIT, "directory %s has %zu entries, more than the %d one "
		    "directory of a snapshot may hold (docs/FORMAT.md §9); exclude it (--exclude)", path,
		    count, DSB_TREE_MAX_NODES);
		goto out;
	}
	parent_tree = load_parent_tree(w, parent_tree, path, &pt);
	if (parent_tree != NULL && w->ahead != NULL && (r = read_subtrees_ahead(w, &pt)) != 0)
		goto out;
	if ((r = walk_entries(w, path, names, count, &pt, &e, &n)) != 0)
		goto out;
	if (w->prefetch != NULL && n > 0) {
		if ((r = dsb_prefetch_push(w->prefetch, path, e, n)) != 0)
			goto out;
		pushed = 1;
	}
	for (i = 0; i < n; i++) {
		if (pushed)
			dsb_prefetch_reached(w->prefetch, i);
		if ((full = dsb_path_join(path, e[i].name)) == NULL) {
			r = DSB_ERR_NOMEM;
			goto out;
		}
		r = backup_entry(w, full, e[i].name, e[i].before, &t);
		free(full);
		if (r != 0)
			goto out;
	}
	r = store_tree_or_parent(w, &t, &pt, parent_tree, out_id);
out:
	if (pushed)
		dsb_prefetch_pop(w->prefetch);
	if (w->ahead != NULL)   /* what was queued for below this directory and not taken */
		dsb_treeahead_drop(w->ahead, w->depth);
	w->depth--;
	free(e);
	free_names(names, count);
	dsb_tree_release(&t);
	dsb_tree_release(&pt);
	return r;
}

/*
 * build_level(w, prefix, paths, n, parent_tree, out_id): the tree of
 * ${prefix} ("" for the root) holding, for each distinct next component of
 * ${paths}, either the walked path itself or an intermediate directory.
 */
static int build_level(struct walker *w, const char *prefix, char *const *paths, size_t n,
    const uint8_t *parent_tree, uint8_t out_id[32])
{
	struct dsb_tree t, pt;
	const struct dsb_node *pn;
	struct dsb_node *node;
	struct stat st;
	char comp[4096], *full = NULL;
	const char *rest, *slash;
	size_t plen = strlen(prefix), i, j, clen, nsub;
	char **sub = NULL;
	int r = 0, done;

	dsb_tree_init(&t);
	dsb_tree_init(&pt);
	parent_tree = load_parent_tree(w, parent_tree, prefix, &pt);
	if ((sub = calloc(n, sizeof(*sub))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	for (i = 0; i < n && r == 0; i++) {
		rest = paths[i] + plen + 1;
		slash = strchr(rest, '/');
		clen = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
		snprintf(comp, sizeof(comp), "%.*s", (int)clen, rest);
		for (j = 0, done = 0; j < i; j++)   /* handled with an earlier path? */
			if (strncmp(paths[j] + plen + 1, comp, clen) == 0 &&
			    (paths[j][plen + 1 + clen] == '/' || paths[j][plen + 1 + clen] == '\0'))
				done = 1;
		if (done)
			continue;
		free(full);
		if ((full = dsb_asprintf("%s/%s", prefix, comp)) == NULL) {
			r = DSB_ERR_NOMEM;
			break;
		}
		pn = dsb_tree_find(&pt, comp);
		for (j = i, nsub = 0, done = 0; j < n; j++) {
			if (strcmp(paths[j], full) == 0)
				done = 1;   /* the path itself is walked whole */
			else if (strncmp(paths[j], full, strlen(full)) == 0 && paths[j][strlen(full)] == '/')
				sub[nsub++] = paths[j];
		}
		if (done) {
			if (excluded(w, full))
				continue;
			r = backup_entry(w, full, comp, pn, &t);
			continue;
		}
		if (lstat(full, &st) != 0) {
			r = report(w, full, "cannot stat", errno);
			continue;
		}
		if ((node = dsb_tree_add(&t)) == NULL || (node->name = dsb_strdup(comp)) == NULL) {
			r = DSB_ERR_NOMEM;
			break;
		}
		meta_from_stat(node, &st);
		node->type = DSB_NODE_DIR;
		node->has_subtree = 1;
		r = build_level(w, full, sub, nsub, pn != NULL && pn->has_subtree ? pn->subtree : NULL,
		    node->subtree);
	}
	if (r == 0)
		r = store_tree_or_parent(w, &t, &pt, parent_tree, out_id);
	free(full);
	free(sub);
	dsb_tree_release(&t);
	dsb_tree_release(&pt);
	return r;
}

/* ---- the whole backup ---- */

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* sorted, absolute, with paths inside other given paths removed */
static int prepare_paths(const struct dsb_backup_opts *o, char ***out, size_t *count)
{
	char **v, norm[4096];
	size_t i, n = 0, len;
	int r;

	if (o->npaths == 0)
		return dsb_error(DSB_ERR_USAGE, "nothing to back up: give at least one path");
	if ((v = calloc(o->npaths, sizeof(*v))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	for (i = 0; i < o->npaths; i++) {
		if ((r = dsb_path_normalize(o->paths[i], norm, sizeof(norm))) != 0)
			goto fail;
		if (strcmp(norm, "/") == 0) {
			r = dsb_error(DSB_ERR_USAGE, "backing up \"/\" itself is not supported; "
			    "name the directories below it");
			goto fail;
		}
		if ((v[n++] = dsb_strdup(norm)) == NULL) {
			r = DSB_ERR_NOMEM;
			goto fail;
		}
	}
	qsort(v, n, sizeof(*v), cmp_path);
	for (i = 1; i < n;) {
		len = strlen(v[i - 1]);
		if (strncmp(v[i], v[i - 1], len) == 0 && (v[i][len] == '/' || v[i][len] == '\0')) {
			free(v[i]);
			memmove(&v[i], &v[i + 1], (n - i - 1) * sizeof(*v));
			n--;
		} else {
			i++;
		}
	}
	*out = v;
	*count = n;
	return 0;
fail:
	while (n > 0)
		free(v[--n]);
	free(v);
	return r;
}

struct parent_find {
	const char *host;
	char *const *paths;
	size_t npaths;
	struct dsb_snapshot best;
	int found;
};

static int consider_parent(void *arg, const struct dsb_catalog_snapshot *cs)
{
	struct parent_find *f = arg;
	struct dsb_snapshot s;
	size_t i;
	int same;

	if (strcmp(cs->host, f->host) != 0 || dsb_snapshot_parse(cs->id, cs->json, &s) != 0) {
		dsb_error_clear();
		return 0;
	}
	same = s.npaths == f->npaths;
	for (i = 0; same && i < s.npaths; i++)
		same = strcmp(s.paths[i], f->paths[i]) == 0;
	if (same) {   /* snapshots come in time order: the last match is the latest */
		if (f->found)
			dsb_snapshot_release(&f->best);
		f->best = s;
		f->found = 1;
	} else {
		dsb_snapshot_release(&s);
	}
	return 0;
}

static int find_parent(struct walker *w, const char *host, char *const *paths, size_t n,
    struct dsb_snapshot *parent, int *found)
{
	struct parent_find f;
	int r;

	*found = 0;
	if (w->o->parent != NULL) {
		if ((r = dsb_session_snapshot(w->s, w->o->parent, parent)) != 0)
			return r;
		*found = 1;
		return 0;
	}
	memset(&f, 0, sizeof(f));
	f.host = host;
	f.paths = paths;
	f.npaths = n;
	if ((r = dsb_catalog_foreach_snapshot(w->s->cat, consider_parent, &f)) != 0) {
		if (f.found)
			dsb_snapshot_release(&f.best);
		return r;
	}
	if (f.found) {
		*parent = f.best;
		*found = 1;
	}
	return 0;
}

static int walker_init(struct walker *w, struct dsb_session *s, const struct dsb_backup_opts *o,
    struct dsb_backup_stats *st)
{
	int r;

	memset(w, 0, sizeof(*w));
	w->s = s;
	w->o = o;
	w->st = st;
	if ((w->ard = archive_read_disk_new()) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	archive_read_disk_set_standard_lookup(w->ard);
	/* only a hint: without it (no thread to be had) the walk reads all the same */
	if ((r = dsb_prefetch_start(prefetch_unchanged, PREFETCH_BUDGET, &w->prefetch)) != 0) {
		if (r == DSB_ERR_NOMEM)
			return r;
		dsb_warn("%s; reading files without it", dsb_errmsg());
		dsb_error_clear();
	}
	return dsb_store_init(&w->store, s, o->workers, st);
}

/* treeahead_workers(): threads decoding the parent's trees: one a processor, up to a maximum */
static int treeahead_workers(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	return cpus < 1 ? 1 : cpus > TREEAHEAD_WORKERS_MAX ? TREEAHEAD_WORKERS_MAX : (int)cpus;
}

static void walker_release(struct walker *w)
{
	dsb_prefetch_stop(w->prefetch);
	dsb_treeahead_free(w->ahead);
	dsb_store_release(&w->store);
	if (w->ard != NULL)
		archive_read_free(w->ard);
}

static int write_snapshot(struct walker *w, char *const *paths, size_t n, const char *host,
    const uint8_t tree[32], const char *parent, char id_out[65])
{
	struct dsb_snapshot_new sn;

	memset(&sn, 0, sizeof(sn));
	if (w->o->has_time) {
		sn.time_sec = w->o->time_sec;
		sn.time_nsec = w->o->time_nsec;
	} else {
		dsb_time_now(&sn.time_sec, &sn.time_nsec);
	}
	sn.host = host;
	sn.paths = (const char *const *)paths;
	sn.npaths = n;
	sn.tags = w->o->tags;
	sn.ntags = w->o->ntags;
	sn.excludes = w->o->excludes;
	sn.nexcludes = w->o->nexcludes;
	sn.tree = tree;
	sn.parent = parent;
	sn.source = w->o->source;
	sn.run_id = w->o->run_id;
	sn.source_meta = w->o->source_meta;
	return dsb_store_snapshot(&w->store, &sn, id_out);
}

/* a snapshot records paths, tags, excludes and the host as JSON strings, so as UTF-8 (FORMAT.md §9) */
static int check_recordable(const char *what, const char *const *v, size_t n, const char *hint)
{
	json_t *j;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((j = json_string(v[i])) == NULL)
			return dsb_error(DSB_ERR_USAGE, "%s \"%s\" is not valid UTF-8, which a snapshot "
			    "cannot record%s", what, v[i], hint);
		json_decref(j);
	}
	return 0;
}

int dsb_backup_host(const struct dsb_backup_opts *o, char *const *paths, size_t n, char *host,
    size_t size)
{
	const char *hostv[1];
	int r;

	if (o->host != NULL)
		snprintf(host, size, "%s", o->host);
	else if (gethostname(host, size) != 0)
		snprintf(host, size, "unknown");
	host[size - 1] = '\0';
	hostv[0] = host;
	if ((r = check_recordable("path", (const char *const *)paths, n,
	    "; back up a directory above it (names below the paths may be any bytes)")) != 0 ||
	    (r = check_recordable("tag", o->tags, o->ntags, "")) != 0 ||
	    (r = check_recordable("exclude pattern", o->excludes, o->nexcludes, "")) != 0)
		return r;
	return check_recordable("host name", hostv, 1, "");
}

int dsb_backup(struct dsb_session *s, const struct dsb_backup_opts *o, char id_out[65],
    struct dsb_backup_stats *st)
{
	struct dsb_snapshot parent;
	struct walker w;
	struct stat rst;
	char **paths = NULL, host[256];
	uint8_t tree[32];
	size_t n = 0, i;
	int r, have_parent = 0;

	memset(st, 0, sizeof(*st));
	memset(&parent, 0, sizeof(parent));
	/* before the workers start: they make their pack writers with dsb_repo_pack_keys */
	if ((o->nescrow_recipients > 0 && (r = dsb_repo_set_escrow(s->repo, o->escrow_recipients,
	    o->nescrow_recipients)) != 0) || (o->escrow && (r = dsb_repo_escrow_begin(s->repo)) != 0))
		return r;
	if ((r = walker_init(&w, s, o, st)) != 0)
		goto out;
	if ((r = prepare_paths(o, &paths, &n)) != 0)
		goto out;
	/* before anything is read or stored */
	if ((r = dsb_backup_host(o, paths, n, host, sizeof(host))) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if (lstat(paths[i], &rst) == 0)
			break;
	if (i == n) {
		r = dsb_error(DSB_ERR_IO, "none of the paths to back up exists (%s%s)", paths[0],
		    n > 1 ? ", ..." : "");
		goto out;
	}
	w.root_dev = rst.st_dev;
	if ((r = dsb_store_lock(&w.store, o->lock_wait_sec)) != 0)
		goto out;
	if ((r = find_parent(&w, host, paths, n, &parent, &have_parent)) != 0)
		goto out;
	if (have_parent) {
		dsb_debug("parent snapshot %.16s", parent.id);
		w.parent_id = parent.id;
		if ((r = dsb_treeahead_start(s->repo, treeahead_workers(), TREEAHEAD_BUDGET,
		    &w.ahead)) != 0)
			goto out;
	}
	if ((r = build_level(&w, "", paths, n, have_parent ? parent.tree : NULL, tree)) != 0)
		goto out;
	if ((r = dsb_store_finish(&w.store)) != 0)
		goto out;
	if ((r = write_snapshot(&w, paths, n, host, tree, have_parent ? parent.id : NULL, id_out)) != 0)
		goto out;
	dsb_listing_after_backup(s, id_out);
	r = st->errors > 0 ? DSB_ERR_PARTIAL : 0;
	if (r == DSB_ERR_PARTIAL)
		dsb_error(r, "snapshot %.16s written, but %llu file(s) could not be read", id_out,
		    (unsigned long long)st->errors);
out:
	if (have_parent)
		dsb_snapshot_release(&parent);
	walker_release(&w);
	if (o->escrow)
		dsb_repo_escrow_end(s->repo);
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return r;
}
