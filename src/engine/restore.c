/*
 * restore.c: write a snapshot back to disk through libarchive's
 * archive_write_disk with its secure flags (no "..", no absolute paths, no
 * writing through symlinks).  The snapshot's absolute paths are recreated
 * below the target.  Every blob is authenticated and its id checked as it
 * is read, and every file's SHA-256 is compared with the one recorded; a
 * file that fails is named and renamed NAME.dsbackup-damaged.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "engine_internal.h"

#define MAX_DEPTH 1024

struct hardlink {
	uint64_t dev, inode;
	char *path;
};

struct restorer {
	struct dsb_session *s;
	const struct dsb_restore_opts *o;
	struct dsb_restore_stats *st;
	struct archive *aw;
	struct dsb_blob_opener *opener;
	struct dsb_sha256 *sha;
	struct dsb_buf scratch, data;
	struct hardlink *links;
	size_t nlinks, caplinks;
	/* directories on the way down whose entries are not written yet (include mode) */
	const struct dsb_node *pending[MAX_DEPTH];
	char *pending_path[MAX_DEPTH];
	size_t npending, written_depth;
};

static int matches(const struct restorer *r, const char *abs)
{
	size_t i;

	if (r->o->nincludes == 0)
		return 1;
	for (i = 0; i < r->o->nincludes; i++)
		if (dsb_glob_match(r->o->includes[i], abs))
			return 1;
	return 0;
}

static int fail_entry(struct restorer *r, const char *rel, const char *what)
{
	dsb_log(DSB_LOG_ERROR, "restoring /%s: %s", rel, what);
	r->st->errors++;
	return 0;
}

static int node_mode(const struct dsb_node *n)
{
	switch (n->type) {
	case DSB_NODE_FILE: return AE_IFREG;
	case DSB_NODE_DIR: return AE_IFDIR;
	case DSB_NODE_SYMLINK: return AE_IFLNK;
	case DSB_NODE_FIFO: return AE_IFIFO;
	case DSB_NODE_CHARDEV: return AE_IFCHR;
	case DSB_NODE_BLOCKDEV: return AE_IFBLK;
	default: return AE_IFSOCK;
	}
}

static void fill_entry(struct archive_entry *e, const struct dsb_node *n, const char *rel)
{
	size_t i;

	archive_entry_copy_pathname(e, rel);
	archive_entry_set_filetype(e, (unsigned)node_mode(n));
	archive_entry_set_perm(e, n->mode);
	archive_entry_set_uid(e, n->uid);
	archive_entry_set_gid(e, n->gid);
	if (n->user != NULL)
		archive_entry_copy_uname(e, n->user);
	if (n->group != NULL)
		archive_entry_copy_gname(e, n->group);
	archive_entry_set_mtime(e, n->mtime, n->mtime_ns);
	if (n->type == DSB_NODE_DIR)
		archive_entry_set_atime(e, n->mtime, n->mtime_ns);
	else
		archive_entry_set_atime(e, n->atime, n->atime_ns);
	if (n->type == DSB_NODE_FILE)
		archive_entry_set_size(e, (la_int64_t)n->size);
	if (n->type == DSB_NODE_SYMLINK)
		archive_entry_copy_symlink(e, n->target);
	if (n->type == DSB_NODE_CHARDEV || n->type == DSB_NODE_BLOCKDEV)
		archive_entry_set_rdev(e, (dev_t)n->rdev);
	for (i = 0; i < n->nxattrs; i++)
		archive_entry_xattr_add_entry(e, n->xattrs[i].name, n->xattrs[i].value, n->xattrs[i].len);
	if (n->acl != NULL && archive_entry_acl_from_text(e, n->acl, ARCHIVE_ENTRY_ACL_TYPE_ACCESS) != ARCHIVE_OK)
		dsb_warn("/%s: cannot parse the stored ACL, restoring without it", rel);
	if (n->fflags != NULL)
		archive_entry_copy_fflags_text(e, n->fflags);
}

static int write_header(struct restorer *r, struct archive_entry *e, const char *rel)
{
	int ar = archive_write_header(r->aw, e);

	if (ar == ARCHIVE_WARN)
		dsb_warn("/%s: %s", rel, archive_error_string(r->aw));
	if (ar < ARCHIVE_WARN) {
		fail_entry(r, rel, archive_error_string(r->aw));
		return 0;
	}
	return 1;
}

static void finish_entry(struct restorer *r, const char *rel)
{
	if (archive_write_finish_entry(r->aw) < ARCHIVE_WARN)
		dsb_warn("/%s: %s", rel, archive_error_string(r->aw));
}

static int all_zero(const uint8_t *p, size_t n)
{
	static const uint8_t zero[4096];
	size_t k;

	while (n > 0) {
		k = n < sizeof(zero) ? n : sizeof(zero);
		if (memcmp(p, zero, k) != 0)
			return 0;
		p += k;
		n -= k;
	}
	return 1;
}

/* write the content of ${n}; returns 1 when every byte verified, 0 otherwise (reported) */
static int write_content(struct restorer *r, const struct dsb_node *n, const char *rel)
{
	struct dsb_blob_ref ref;
	uint8_t hash[32];
	uint64_t off = 0;
	char hex[65];
	size_t i;
	int rc;

	dsb_sha256_free(r->sha);
	if ((r->sha = dsb_sha256_new()) == NULL)
		return fail_entry(r, rel, "out of memory"), 0;
	for (i = 0; i < n->ncontent; i++) {
		if ((rc = dsb_session_blob_ref(r->s, n->content[i], &ref)) != 0 ||
		    (rc = dsb_repo_read_blob(r->s->repo, r->opener, &ref, &r->scratch, &r->data)) != 0) {
			dsb_hex_encode(n->content[i], 32, hex);
			if (rc == DSB_ERR_NOT_FOUND)
				dsb_error(rc, "blob %.16s is not in the index", hex);
			fail_entry(r, rel, dsb_errmsg());
			return 0;
		}
		dsb_sha256_update(r->sha, r->data.data, r->data.len);
		if (!(n->sparse && all_zero(r->data.data, r->data.len)) &&
		    archive_write_data_block(r->aw, r->data.data, r->data.len, (la_int64_t)off) < ARCHIVE_WARN) {
			fail_entry(r, rel, archive_error_string(r->aw));
			return 0;
		}
		off += r->data.len;
		r->st->bytes += r->data.len;
	}
	dsb_sha256_final(r->sha, hash);
	if (off != n->size || !n->has_hash || CRYPTO_memcmp(hash, n->hash, 32) != 0) {
		fail_entry(r, rel, "content does not match the recorded SHA-256 (damaged)");
		return 0;
	}
	return 1;
}

static void mark_damaged(const char *rel)
{
	char *bad = dsb_asprintf("%s.dsbackup-damaged", rel);

	if (bad == NULL)
		return;
	if (rename(rel, bad) == 0)
		dsb_log(DSB_LOG_ERROR, "the damaged content of /%s was kept as /%s", rel, bad);
	else
		unlink(rel);
	free(bad);
}

static const char *find_link(struct restorer *r, const struct dsb_node *n)
{
	size_t i;

	for (i = 0; i < r->nlinks; i++)
		if (r->links[i].dev == n->dev && r->links[i].inode == n->inode)
			return r->links[i].path;
	return NULL;
}

static int remember_link(struct restorer *r, const struct dsb_node *n, const char *rel)
{
	struct hardlink *p;

	if (r->nlinks == r->caplinks) {
		size_t ncap = r->caplinks ? r->caplinks * 2 : 16;

		if ((p = realloc(r->links, ncap * sizeof(*p))) == NULL)
			return dsb_error(DSB_ERR_NOMEM, "out of memory");
		r->links = p;
		r->caplinks = ncap;
	}
	if ((r->links[r->nlinks].path = dsb_strdup(rel)) == NULL)
		return DSB_ERR_NOMEM;
	r->links[r->nlinks].dev = n->dev;
	r->links[r->nlinks].inode = n->inode;
	r->nlinks++;
	return 0;
}

static int restore_file(struct restorer *r, struct archive_entry *e, const struct dsb_node *n,
    const char *rel)
{
	const char *first = n->nlink > 1 ? find_link(r, n) : NULL;
	int ok;

	if (first != NULL) {
		archive_entry_set_size(e, 0);
		archive_entry_copy_hardlink(e, first);
		if (write_header(r, e, rel))
			finish_entry(r, rel);
		r->st->files++;
		return 0;
	}
	if (!write_header(r, e, rel))
		return 0;
	ok = write_content(r, n, rel);
	finish_entry(r, rel);
	if (!ok) {
		mark_damaged(rel);
		return 0;
	}
	r->st->files++;
	if (n->nlink > 1)
		return remember_link(r, n, rel);
	return 0;
}

static int restore_node(struct restorer *r, const struct dsb_node *n, const char *rel)
{
	struct archive_entry *e = archive_entry_new();
	int rc = 0;

	if (e == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	fill_entry(e, n, rel);
	if (n->type == DSB_NODE_FILE) {
		rc = restore_file(r, e, n, rel);
	} else if (write_header(r, e, rel)) {
		finish_entry(r, rel);
		if (n->type == DSB_NODE_DIR)
			r->st->dirs++;
		else
			r->st->other++;
	}
	archive_entry_free(e);
	return rc;
}

/* write the directories above an included entry that were skipped so far */
static int flush_pending(struct restorer *r)
{
	int rc;

	while (r->written_depth < r->npending) {
		if ((rc = restore_node(r, r->pending[r->written_depth],
		    r->pending_path[r->written_depth])) != 0)
			return rc;
		r->written_depth++;
	}
	return 0;
}

static int restore_tree(struct restorer *r, const uint8_t id[32], const char *prefix);

static int restore_child(struct restorer *r, const struct dsb_node *n, const char *prefix)
{
	char *rel, *abs = NULL;
	int rc = 0, want;

	rel = prefix[0] != '\0' ? dsb_asprintf("%s/%s", prefix, n->name) : dsb_strdup(n->name);
	if (rel == NULL || (abs = dsb_asprintf("/%s", rel)) == NULL) {
		free(rel);
		return DSB_ERR_NOMEM;
	}
	want = matches(r, abs);
	if (n->type == DSB_NODE_DIR) {
		if (r->npending >= MAX_DEPTH) {
			rc = dsb_error(DSB_ERR_LIMIT, "/%s: directories nested deeper than %d", rel, MAX_DEPTH);
			goto out;
		}
		r->pending[r->npending] = n;
		r->pending_path[r->npending] = rel;
		r->npending++;
		if (want)
			rc = flush_pending(r);
		if (rc == 0)
			rc = restore_tree(r, n->subtree, rel);
		r->npending--;
		if (r->written_depth > r->npending)
			r->written_depth = r->npending;
		goto out;
	}
	if (want && (rc = flush_pending(r)) == 0)
		rc = restore_node(r, n, rel);
out:
	free(rel);
	free(abs);
	return rc;
}

static int restore_tree(struct restorer *r, const uint8_t id[32], const char *prefix)
{
	struct dsb_tree t;
	size_t i;
	int rc;

	dsb_tree_init(&t);
	if ((rc = dsb_session_load_tree(r->s, id, &t)) != 0) {
		if (rc == DSB_ERR_NOMEM)
			return rc;
		fail_entry(r, prefix[0] ? prefix : "", dsb_errmsg());
		return 0;
	}
	for (i = 0; i < t.n && rc == 0; i++)
		rc = restore_child(r, &t.nodes[i], prefix);
	dsb_tree_release(&t);
	return rc;
}

static int open_writer(struct restorer *r)
{
	int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_ACL |
	    ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_FFLAGS | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
	    ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;

	if (geteuid() == 0 && !r->o->no_owner)
		flags |= ARCHIVE_EXTRACT_OWNER;
	if ((r->aw = archive_write_disk_new()) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	archive_write_disk_set_options(r->aw, flags);
	archive_write_disk_set_standard_lookup(r->aw);
	return 0;
}

int dsb_restore(struct dsb_session *s, const struct dsb_snapshot *snap,
    const struct dsb_restore_opts *o, struct dsb_restore_stats *st)
{
	struct restorer r;
	int cwd = -1, rc;
	size_t i;

	memset(&r, 0, sizeof(r));
	memset(st, 0, sizeof(*st));
	r.s = s;
	r.o = o;
	r.st = st;
	dsb_buf_init(&r.scratch, (size_t)DSB_BLOB_RAW_MAX + 64);
	dsb_buf_init(&r.data, (size_t)DSB_BLOB_RAW_MAX + 64);
	if ((rc = dsb_mkdir_p(o->target, 0700)) != 0)
		goto out;
	if ((cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = dsb_error_errno(DSB_ERR_IO, errno, "opening the current directory");
		goto out;
	}
	if (chdir(o->target) != 0) {
		rc = dsb_error_errno(DSB_ERR_IO, errno, "entering the restore target %s", o->target);
		goto out;
	}
	if ((rc = open_writer(&r)) != 0 ||
	    (rc = dsb_blob_opener_new(dsb_repo_keys(s->repo), &r.opener)) != 0)
		goto out;
	rc = restore_tree(&r, snap->tree, "");
	/* directory permissions and times are set when the writer closes */
	if (archive_write_close(r.aw) != ARCHIVE_OK && rc == 0) {
		dsb_warn("finishing the restore: %s", archive_error_string(r.aw));
	}
	if (rc == 0 && st->errors > 0)
		rc = dsb_error(DSB_ERR_PARTIAL, "%llu entr%s could not be restored",
		    (unsigned long long)st->errors, st->errors == 1 ? "y" : "ies");
out:
	if (cwd >= 0) {
		if (fchdir(cwd) != 0)
			dsb_warn("cannot return to the previous directory: %s", strerror(errno));
		close(cwd);
	}
	if (r.aw != NULL)
		archive_write_free(r.aw);
	dsb_blob_opener_free(r.opener);
	dsb_sha256_free(r.sha);
	dsb_buf_release(&r.scratch);
	dsb_buf_release(&r.data);
	for (i = 0; i < r.nlinks; i++)
		free(r.links[i].path);
	free(r.links);
	return rc;
}
