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

#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "engine_internal.h"

#define MAX_DEPTH 1024

/* a directory that existed before the restore: libarchive sets its times at once, not at the end */
struct existing_dir {
	char *path;
	int64_t mtime;
	long mtime_ns;
};

struct restorer {
	struct dsb_session *s;
	const struct dsb_restore_opts *o;
	struct dsb_restore_stats *st;
	struct archive *aw;
	struct dsb_blob_opener *opener;
	struct dsb_buf scratch, data;
	struct dsb_links links;
	struct existing_dir *dirs;
	size_t ndirs, capdirs;
	/* directories on the way down whose entries are not written yet (include mode) */
	const struct dsb_node *pending[MAX_DEPTH];
	char *pending_path[MAX_DEPTH];
	size_t npending, written_depth;
	int nospace;                 /* a write failed because the target is full */
	int sparse;                  /* the file being written is sparse: holes are not written */
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

/* target_full(r): whether the writer's last failure was a full restore target (remembered) */
static int target_full(struct restorer *r)
{
	int e = archive_errno(r->aw);

	if (e == ENOSPC || e == EDQUOT)
		r->nospace = 1;
	return r->nospace;
}

static int write_header(struct restorer *r, struct archive_entry *e, const char *rel)
{
	int ar = archive_write_header(r->aw, e);

	if (ar == ARCHIVE_WARN)
		dsb_warn("/%s: %s", rel, archive_error_string(r->aw));
	if (ar < ARCHIVE_WARN) {
		target_full(r);
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

static int write_block(void *arg, const void *p, size_t len, uint64_t off)
{
	struct restorer *r = arg;

	/* libarchive reports a failed write(2) as ARCHIVE_WARN: anything but OK lost data */
	if (!(r->sparse && all_zero(p, len)) &&
	    archive_write_data_block(r->aw, p, len, (la_int64_t)off) != ARCHIVE_OK) {
		if (target_full(r))
			return dsb_error(DSB_ERR_NOSPACE, "no space left on device");
		return dsb_error(DSB_ERR_IO, "%s: %s", archive_error_string(r->aw),
		    strerror(archive_errno(r->aw)));
	}
	r->st->bytes += len;
	dsb_progress_bytes(len);
	return 0;
}

/* write the content of ${n}; returns 1 when every byte verified, 0 otherwise (reported) */
static int write_content(struct restorer *r, const struct dsb_node *n, const char *rel)
{
	r->sparse = n->sparse;
	if (dsb_node_read_content(r->s, r->opener, n, &r->scratch, &r->data, write_block, r) != 0)
		return fail_entry(r, rel, dsb_errmsg()), 0;
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

/* size_matches_content(r, n, rel): 1 when the recorded size is that of the content; 0 (reported) */
static int size_matches_content(struct restorer *r, const struct dsb_node *n, const char *rel)
{
	if (dsb_node_check_size(r->s, n) != 0)
		return fail_entry(r, rel, dsb_errmsg());
	return 1;
}

static int restore_file(struct restorer *r, struct archive_entry *e, const struct dsb_node *n,
    const char *rel)
{
	const char *first = dsb_links_find(&r->links, n);
	int ok;

	dsb_progress_file(rel);
	if (first != NULL) {
		archive_entry_set_size(e, 0);
		archive_entry_copy_hardlink(e, first);
		if (write_header(r, e, rel))
			finish_entry(r, rel);
		r->st->files++;
		return 0;
	}
	if (!size_matches_content(r, n, rel) || !write_header(r, e, rel))
		return 0;
	ok = write_content(r, n, rel);
	finish_entry(r, rel);
	if (!ok) {
		if (r->nospace)
			unlink(rel);   /* cut short by a full target, not damaged: give the space back */
		else
			mark_damaged(rel);
		return 0;
	}
	r->st->files++;
	return dsb_links_add(&r->links, n, rel);
}

static int remember_existing_dir(struct restorer *r, const struct dsb_node *n, const char *rel)
{
	struct existing_dir *p;

	if (r->ndirs == r->capdirs) {
		size_t ncap = r->capdirs ? r->capdirs * 2 : 16;

		if ((p = realloc(r->dirs, ncap * sizeof(*p))) == NULL)
			return dsb_error(DSB_ERR_NOMEM, "out of memory");
		r->dirs = p;
		r->capdirs = ncap;
	}
	if ((r->dirs[r->ndirs].path = dsb_strdup(rel)) == NULL)
		return DSB_ERR_NOMEM;
	r->dirs[r->ndirs].mtime = n->mtime;
	r->dirs[r->ndirs].mtime_ns = n->mtime_ns;
	r->ndirs++;
	return 0;
}

/* once everything is written: the times of the directories that existed (writing into them changed them) */
static void set_existing_dir_times(struct restorer *r)
{
	struct timespec ts[2];
	size_t i;

	for (i = r->ndirs; i-- > 0;) {
		ts[0].tv_sec = ts[1].tv_sec = (time_t)r->dirs[i].mtime;
		ts[0].tv_nsec = ts[1].tv_nsec = r->dirs[i].mtime_ns;
		if (utimensat(AT_FDCWD, r->dirs[i].path, ts, AT_SYMLINK_NOFOLLOW) != 0)
			dsb_warn("cannot set the times of /%s: %s", r->dirs[i].path, strerror(errno));
	}
}

static int restore_node(struct restorer *r, const struct dsb_node *n, const char *rel)
{
	struct archive_entry *e = archive_entry_new();
	struct stat st;
	int rc = 0, existed;

	if (e == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	dsb_entry_from_node(e, n, rel);
	existed = n->type == DSB_NODE_DIR && lstat(rel, &st) == 0 && S_ISDIR(st.st_mode);
	if (n->type == DSB_NODE_FILE) {
		rc = restore_file(r, e, n, rel);
	} else if (write_header(r, e, rel)) {
		finish_entry(r, rel);
		if (n->type == DSB_NODE_DIR)
			r->st->dirs++;
		else
			r->st->other++;
		if (existed)
			rc = remember_existing_dir(r, n, rel);
	}
	archive_entry_free(e);
	/* a full target fails every entry that follows: stop, saying so */
	if (rc == 0 && r->nospace)
		rc = dsb_error(DSB_ERR_NOSPACE, "no space left on device in the restore target %s "
		    "(stopped after %llu files)", r->o->target, (unsigned long long)r->st->files);
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
			/* the reason first: a path this deep would push it out of the message */
			rc = dsb_error(DSB_ERR_LIMIT, "directories nested deeper than %d at /%.200s...",
			    MAX_DEPTH, rel);
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
		/* a root tree under a key we lack (escrowed key material): nothing could be restored */
		if (rc == DSB_ERR_NOMEM || (rc == DSB_ERR_BAD_KEY && prefix[0] == '\0'))
			return rc;
		fail_entry(r, prefix[0] ? prefix : "", dsb_errmsg());
		return 0;
	}
	for (i = 0; i < t.n && rc == 0; i++)
		rc = restore_child(r, &t.nodes[i], prefix);
	dsb_tree_release(&t);
	return rc;
}

/* ---- subtree: one entry of the snapshot restored as the target itself ---- */

int dsb_snapshot_find_node(struct dsb_session *s, const struct dsb_snapshot *snap, const char *path,
    struct dsb_node *out)
{
	const struct dsb_node *n = NULL;
	struct dsb_tree t;
	char comp[4096];
	const char *p = path;
	uint8_t id[32];
	size_t len;
	int rc;

	memcpy(id, snap->tree, sizeof(id));
	while (*p == '/')
		p++;
	if (*p == '\0')
		return dsb_error(DSB_ERR_USAGE, "%s: name a path below /", path);
	dsb_tree_init(&t);
	for (;;) {
		len = strcspn(p, "/");
		snprintf(comp, sizeof(comp), "%.*s", (int)len, p);
		dsb_tree_release(&t);
		dsb_tree_init(&t);
		if ((rc = dsb_session_load_tree(s, id, &t)) != 0)
			break;
		if ((n = dsb_tree_find(&t, comp)) == NULL) {
			rc = dsb_error(DSB_ERR_NOT_FOUND, "%s is not in snapshot %.8s", path, snap->id);
			break;
		}
		for (p += len; *p == '/'; p++)
			;
		if (*p == '\0') {
			rc = dsb_node_copy(out, n);
			break;
		}
		if (n->type != DSB_NODE_DIR || !n->has_subtree) {
			rc = dsb_error(DSB_ERR_NOT_FOUND, "%s is not in snapshot %.8s", path, snap->id);
			break;
		}
		memcpy(id, n->subtree, sizeof(id));
	}
	dsb_tree_release(&t);
	return rc;
}

/* subtree_dir(r, dir, name): the target is written as ${name} in the directory ${dir} */
static int subtree_dir(struct restorer *r, char **dir, char **name)
{
	char norm[4096], *slash;
	int rc;

	if ((rc = dsb_path_normalize(r->o->target, norm, sizeof(norm))) != 0)
		return rc;
	slash = strrchr(norm, '/');
	if (slash[1] == '\0')
		return dsb_error(DSB_ERR_USAGE, "restore: the target of a subtree cannot be /");
	*dir = slash == norm ? dsb_strdup("/") : dsb_asprintf("%.*s", (int)(slash - norm), norm);
	*name = dsb_strdup(slash + 1);
	return *dir != NULL && *name != NULL ? 0 : DSB_ERR_NOMEM;
}

/* libarchive leaves the times of a directory that existed (a volume's): set them once all is written */
static void subtree_times(const struct dsb_node *n, const char *name)
{
	struct timespec ts[2] = { { (time_t)n->mtime, n->mtime_ns }, { (time_t)n->mtime, n->mtime_ns } };

	if (n->type == DSB_NODE_DIR && utimensat(AT_FDCWD, name, ts, AT_SYMLINK_NOFOLLOW) != 0)
		dsb_warn("cannot set the times of %s: %s", name, strerror(errno));
}

static int restore_subtree(struct restorer *r, const struct dsb_node *n, const char *name)
{
	int rc = restore_node(r, n, name);

	if (rc == 0 && n->type == DSB_NODE_DIR)
		rc = restore_tree(r, n->subtree, name);
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
	struct dsb_node sub;
	char *dir = NULL, *name = NULL;
	int cwd = -1, rc;
	size_t i;

	memset(&r, 0, sizeof(r));
	memset(&sub, 0, sizeof(sub));
	memset(st, 0, sizeof(*st));
	r.s = s;
	r.o = o;
	r.st = st;
	dsb_buf_init(&r.scratch, (size_t)DSB_BLOB_RAW_MAX + 64);
	dsb_buf_init(&r.data, (size_t)DSB_BLOB_RAW_MAX + 64);
	if (o->subtree != NULL && ((rc = dsb_snapshot_find_node(s, snap, o->subtree, &sub)) != 0 ||
	    (rc = subtree_dir(&r, &dir, &name)) != 0))
		goto out;
	if ((rc = dsb_mkdir_p(dir != NULL ? dir : o->target, 0700)) != 0)
		goto out;
	if ((cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = dsb_error_errno(DSB_ERR_IO, errno, "opening the current directory");
		goto out;
	}
	if (chdir(dir != NULL ? dir : o->target) != 0) {
		rc = dsb_error_errno(DSB_ERR_IO, errno, "entering the restore target %s", o->target);
		goto out;
	}
	if ((rc = open_writer(&r)) != 0 ||
	    (rc = dsb_blob_opener_new(dsb_repo_keys(s->repo), &r.opener)) != 0)
		goto out;
	rc = o->subtree != NULL ? restore_subtree(&r, &sub, name) : restore_tree(&r, snap->tree, "");
	/* directory permissions and times are set when the writer closes */
	if (archive_write_close(r.aw) != ARCHIVE_OK && rc == 0) {
		dsb_warn("finishing the restore: %s", archive_error_string(r.aw));
	}
	set_existing_dir_times(&r);
	if (o->subtree != NULL)
		subtree_times(&sub, name);
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
	dsb_buf_release(&r.scratch);
	dsb_buf_release(&r.data);
	dsb_links_release(&r.links);
	for (i = 0; i < r.ndirs; i++)
		free(r.dirs[i].path);
	free(r.dirs);
	dsb_node_release(&sub);
	free(dir);
	free(name);
	return rc;
}
