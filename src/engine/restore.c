/*
 * restore.c: write a snapshot back to disk through libarchive's
 * archive_write_disk with its secure flags (no "..", no absolute paths, no
 * writing through symlinks).  The snapshot's absolute paths are recreated
 * below the target.  Every blob is authenticated and its id checked as it
 * is read, and every file's SHA-256 is compared with the one recorded; a
 * file that fails is named and renamed NAME.dsbackup-damaged.
 *
 * Speed: the blobs of the files of a directory are read ahead, in the order
 * they are written, by the workers of reader.c (fetch, decrypt, decompress,
 * id check), while this thread hashes and writes.  Plain files are written
 * from inside their directory, entered through a descriptor opened without
 * following symlinks, so that libarchive checks one path component per file
 * instead of every one from the target down.  A new plain file there with
 * no xattrs, ACLs or flags, the most common kind, is written without
 * libarchive: created with O_EXCL and O_NOFOLLOW in that directory (nothing
 * to follow, nothing to replace), then owner, mode and times on its
 * descriptor: five or six system calls instead of eleven.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "dsbackup/catalog.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "engine_internal.h"
#include "reader.h"

#define MAX_DEPTH 1024
#define READ_SLOTS 32                          /* blobs read ahead */
#define READ_BUDGET ((uint64_t)16 << 20)       /* raw bytes read ahead */
#define LEVEL_FDS_MAX 64                       /* directories held open, from the target down */
#define ODIRECT_MIN ((uint64_t)1 << 20)        /* files written with O_DIRECT from this size */
#define STAGE_BYTES ((size_t)1 << 20)          /* their aligned staging buffer */
#define TAG(child, blob) ((uint64_t)(child) << 32 | (uint64_t)(blob))

/*
 * One directory being restored: its entries, the descriptor of the
 * directory (-1: not opened; its entries then go by their paths from the
 * target) and the read-ahead cursor: the blob (child, blob) to queue next,
 * with its reference once looked up.
 */
struct level {
	const struct dsb_node *nodes;
	size_t nnodes;
	const char *prefix;
	int fd;
	size_t child, blob;
	int have_ref;
	struct dsb_blob_ref ref;
};

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
	struct dsb_reader *reader;
	struct dsb_sha256 *sha;
	int rootfd;                  /* the target's directory */
	int cwd;                     /* the descriptor of the working directory (rootfd or a level's) */
	struct dsb_links links;
	struct existing_dir *dirs;
	size_t ndirs, capdirs;
	/* directories on the way down whose entries are not written yet (include mode) */
	const struct dsb_node *pending[MAX_DEPTH];
	char *pending_path[MAX_DEPTH];
	size_t npending, written_depth;
	int nospace;                 /* a write failed because the target is full */
	int sparse;                  /* the file being written is sparse: holes are not written */
	int direct_fd;               /* the file being written without libarchive, or -1 */
	int odirect;                 /* ...with O_DIRECT, through the stage */
	uint8_t *stage;              /* STAGE_BYTES, mapped at the first big file; NULL before */
	size_t staged;               /* bytes in it */
	uint64_t stage_off;          /* the file offset of its first byte */
	int owner;                   /* owners are restored (root, not --no-owner) */
	mode_t umask;                /* the process's, read once */
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

/* full_errno(r, e): ${e} says the target is full; remembered */
static int full_errno(struct restorer *r, int e)
{
	if (e == ENOSPC || e == EDQUOT)
		r->nospace = 1;
	return r->nospace;
}

/* target_full(r): whether the writer's last failure was a full restore target (remembered) */
static int target_full(struct restorer *r)
{
	return full_errno(r, archive_errno(r->aw));
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

/* pwrite_all(r, p, len, off): the direct file's bytes; 0 or DSB_ERR_NOSPACE / DSB_ERR_IO */
static int pwrite_all(struct restorer *r, const uint8_t *p, size_t len, uint64_t off)
{
	ssize_t n;

	while (len > 0) {
		if ((n = pwrite(r->direct_fd, p, len, (off_t)off)) < 0) {
			if (errno == EINTR)
				continue;
			/* O_DIRECT refused after all (or a short write left us unaligned): without it */
			if (errno == EINVAL && r->odirect) {
				r->odirect = 0;
				if (dsb_set_odirect(r->direct_fd, 0) == 0)
					continue;
			}
			if (full_errno(r, errno))
				return dsb_error(DSB_ERR_NOSPACE, "no space left on device");
			return dsb_error_errno(DSB_ERR_IO, errno, "writing");
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/*
 * stage_flush(r, all): write what is staged: its aligned head (with
 * O_DIRECT), and with ${all} the rest too (without it, the file's end).
 */
static int stage_flush(struct restorer *r, int all)
{
	size_t head = r->staged - r->staged % DSB_ODIRECT_ALIGN, rest = r->staged - head;
	int rc;

	if (head > 0 && (rc = pwrite_all(r, r->stage, head, r->stage_off)) != 0)
		return rc;
	memmove(r->stage, r->stage + head, rest);
	r->stage_off += head;
	r->staged = rest;
	if (!all || rest == 0)
		return 0;
	if (r->odirect) {
		r->odirect = 0;
		if (dsb_set_odirect(r->direct_fd, 0) != 0)
			return dsb_error_errno(DSB_ERR_IO, errno, "writing");
	}
	r->staged = 0;
	return pwrite_all(r, r->stage, rest, r->stage_off);
}

/* stage_write(r, p, len): the next bytes of a file written through the stage */
static int stage_write(struct restorer *r, const uint8_t *p, size_t len)
{
	size_t k;
	int rc;

	while (len > 0) {
		k = STAGE_BYTES - r->staged < len ? STAGE_BYTES - r->staged : len;
		memcpy(r->stage + r->staged, p, k);
		r->staged += k;
		p += k;
		len -= k;
		if (r->staged == STAGE_BYTES && (rc = stage_flush(r, 0)) != 0)
			return rc;
	}
	return 0;
}

static int write_block(void *arg, const void *p, size_t len, uint64_t off)
{
	struct restorer *r = arg;
	int rc;

	if (r->direct_fd >= 0) {
		/* the stage takes a file's bytes in order, from its start (files with holes: never) */
		if (r->stage_off + r->staged == off && (r->odirect || r->staged > 0))
			rc = stage_write(r, p, len);
		else if (!(r->sparse && all_zero(p, len)))
			rc = pwrite_all(r, p, len, off);
		else
			rc = 0;
		if (rc != 0)
			return rc;
		r->st->bytes += len;
		dsb_progress_bytes(len);
		return 0;
	}
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
/* ---- reading ahead: the blobs of a directory's files, in the order they are written ---- */

/* level_ref(r, lv): the reference of the blob at the cursor (looked up once); 0 or the lookup's error */
static int level_ref(struct restorer *r, struct level *lv)
{
	const uint8_t *id = lv->nodes[lv->child].content[lv->blob];
	char hex[65];
	int rc;

	if (lv->have_ref)
		return 0;
	if ((rc = dsb_session_blob_ref(r->s, id, &lv->ref)) != 0) {
		dsb_hex_encode(id, 32, hex);
		return rc == DSB_ERR_NOT_FOUND ? dsb_error(rc, "blob %.16s is not in the index", hex) : rc;
	}
	lv->have_ref = 1;
	return 0;
}

static void level_seek(struct level *lv, size_t child, size_t blob)
{
	lv->child = child;
	lv->blob = blob;
	lv->have_ref = 0;
}

/* queue_at_cursor(r, lv): queue the blob at the cursor and move past it (room checked by the caller) */
static int queue_at_cursor(struct restorer *r, struct level *lv)
{
	int rc;

	if ((rc = dsb_reader_submit(r->reader, &lv->ref, TAG(lv->child, lv->blob))) != 0)
		return rc;
	if (++lv->blob < lv->nodes[lv->child].ncontent)
		level_seek(lv, lv->child, lv->blob);
	else
		level_seek(lv, lv->child + 1, 0);
	return 0;
}

/* wants_content(r, lv, n): whether ${n}'s content will be read (a guess that may only err towards yes) */
static int wants_content(struct restorer *r, const struct level *lv, const struct dsb_node *n)
{
	char *abs;
	int want;

	if (n->type != DSB_NODE_FILE || n->ncontent == 0 || dsb_links_find(&r->links, n) != NULL)
		return 0;
	if (r->o->nincludes == 0)
		return 1;
	abs = lv->prefix[0] != '\0' ? dsb_asprintf("/%s/%s", lv->prefix, n->name) :
	    dsb_asprintf("/%s", n->name);
	want = abs == NULL || matches(r, abs);
	free(abs);
	return want;
}

/* fill(r, lv): queue blobs from the cursor on while there is room, up to the next directory */
static void fill(struct restorer *r, struct level *lv)
{
	const struct dsb_node *n;

	while (lv->child < lv->nnodes) {
		n = &lv->nodes[lv->child];
		if (n->type == DSB_NODE_DIR)
			return;
		if (lv->blob == 0 && !wants_content(r, lv, n)) {
			level_seek(lv, lv->child + 1, 0);
			continue;
		}
		/* a failed lookup is the consumer's to report, when it gets there */
		if (level_ref(r, lv) != 0) {
			dsb_error_clear();
			return;
		}
		if (!dsb_reader_room(r->reader, lv->ref.entry.raw_len) || queue_at_cursor(r, lv) != 0)
			return;
	}
}

/*
 * drain(r): drop what was read ahead and not used (files given up, or
 * before a subdirectory), keeping the message of an error being returned.
 */
static void drain(struct restorer *r)
{
	struct dsb_read_blob b;
	char saved[2048];

	if (dsb_reader_pending(r->reader) == 0)
		return;
	snprintf(saved, sizeof(saved), "%s", dsb_errmsg());
	while (dsb_reader_pending(r->reader) > 0) {
		(void)dsb_reader_next(r->reader, &b);
		dsb_reader_release(r->reader);
	}
	if (saved[0] != '\0')
		(void)dsb_error(DSB_ERR_INTERNAL, "%s", saved);
	else
		dsb_error_clear();
}

/*
 * get_blob(r, lv, c, j, out): blob ${j} of child ${c}, verified; release it
 * with dsb_reader_release.  0, or the blob's error (released already).
 */
static int get_blob(struct restorer *r, struct level *lv, size_t c, size_t j,
    struct dsb_read_blob *out)
{
	uint64_t want = TAG(c, j);
	int rc;

	for (;;) {
		if (dsb_reader_pending(r->reader) == 0) {
			if (TAG(lv->child, lv->blob) != want)
				level_seek(lv, c, j);
			if ((rc = level_ref(r, lv)) != 0 || (rc = queue_at_cursor(r, lv)) != 0)
				return rc;
		}
		fill(r, lv);
		rc = dsb_reader_next(r->reader, out);
		if (out->tag == want) {
			if (rc != 0)
				dsb_reader_release(r->reader);
			return rc;
		}
		dsb_reader_release(r->reader);
		if (out->tag > want)
			drain(r);   /* the read-ahead passed this blob by: start again from it */
	}
}

/* write the content of child ${c} of ${lv}; returns 1 when every byte verified, 0 otherwise (reported) */
static int write_content(struct restorer *r, struct level *lv, size_t c, const char *rel)
{
	const struct dsb_node *n = &lv->nodes[c];
	struct dsb_read_blob b;
	uint8_t hash[32];
	uint64_t off = 0;
	size_t j;
	int rc = 0;

	r->sparse = n->sparse;
	for (j = 0; j < n->ncontent && rc == 0; j++) {
		if ((rc = get_blob(r, lv, c, j, &b)) != 0)
			break;
		dsb_sha256_update(r->sha, b.data, b.len);
		rc = write_block(r, b.data, b.len, off);
		off += b.len;
		dsb_reader_release(r->reader);
	}
	dsb_sha256_final(r->sha, hash);
	if (rc == 0 && (off != n->size || !n->has_hash || CRYPTO_memcmp(hash, n->hash, 32) != 0))
		rc = dsb_error(DSB_ERR_AUTH, "content does not match the recorded SHA-256 (damaged)");
	if (rc != 0)
		return fail_entry(r, rel, dsb_errmsg()), 0;
	return 1;
}

/* ${path}: the name of the file from the working directory; ${rel}: from the target, for messages */
static void mark_damaged(const char *rel, const char *path)
{
	char *bad = dsb_asprintf("%s.dsbackup-damaged", path);

	if (bad == NULL)
		return;
	if (rename(path, bad) == 0)
		dsb_log(DSB_LOG_ERROR, "the damaged content of /%s was kept as /%s.dsbackup-damaged", rel,
		    rel);
	else
		unlink(path);
	free(bad);
}

/* size_matches_content(r, n, rel): 1 when the recorded size is that of the content; 0 (reported) */
static int size_matches_content(struct restorer *r, const struct dsb_node *n, const char *rel)
{
	if (dsb_node_check_size(r->s, n) != 0)
		return fail_entry(r, rel, dsb_errmsg());
	return 1;
}

/*
 * in_place(r, lv, n): ${n} is written from inside its directory: a plain
 * file, not a hard link, without ACLs or file flags (which libarchive may
 * set at the end by a path from the working directory of then).
 */
static int in_place(struct restorer *r, const struct level *lv, const struct dsb_node *n)
{
	return lv->fd >= 0 && n->type == DSB_NODE_FILE && n->acl == NULL && n->fflags == NULL &&
	    dsb_links_find(&r->links, n) == NULL;
}

/*
 * direct_create(lv, n): the new file ${n} in ${lv}'s directory, created for
 * restore_direct; -1 with errno when it cannot be (EEXIST: libarchive
 * replaces what is there).  Created with its permission bits: when the
 * umask keeps them all, no chmod is needed.
 */
static int direct_create(const struct level *lv, const struct dsb_node *n)
{
	mode_t mode = (mode_t)n->mode & 0777;

	return openat(lv->fd, n->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
}

/*
 * direct_meta(r, n, fd, rel): owner, mode and times, as libarchive sets
 * them: a set-user-id or set-group-id bit only on a file that has the
 * recorded owner or group.  Returns 1 (what fails is warned of).
 */
static int direct_meta(struct restorer *r, const struct dsb_node *n, int fd, const char *rel)
{
	struct timespec ts[2] = { { n->atime, n->atime_ns }, { n->mtime, n->mtime_ns } };
	mode_t mode = (mode_t)n->mode & 07777;
	uid_t uid = (uid_t)archive_write_disk_uid(r->aw, n->user, (la_int64_t)n->uid);
	gid_t gid = (gid_t)archive_write_disk_gid(r->aw, n->group, (la_int64_t)n->gid);
	struct stat st;
	int owned = 0;

	if (r->owner) {
		if (fchown(fd, uid, gid) == 0)
			owned = 1;
		else
			dsb_warn("/%s: cannot set user=%ld/group=%ld: %s", rel, (long)uid, (long)gid,
			    strerror(errno));
	}
	if ((mode & (S_ISUID | S_ISGID)) != 0 && !owned) {
		if (fstat(fd, &st) != 0)
			st.st_uid = (uid_t)-1, st.st_gid = (gid_t)-1;
		if (st.st_uid != uid)
			mode &= (mode_t)~S_ISUID;
		if (st.st_gid != gid)
			mode &= (mode_t)~S_ISGID;
	}
	/* the umask took bits away, or set-id bits (which a chown clears): set the mode */
	if (((mode & 0777) & r->umask) != 0 || (mode & 07000) != 0) {
		if (fchmod(fd, mode) != 0)
			dsb_warn("/%s: cannot set the mode %04o: %s", rel, (unsigned)mode, strerror(errno));
	}
	if (futimens(fd, ts) != 0)
		dsb_warn("/%s: cannot set the times: %s", rel, strerror(errno));
	return 1;
}

/*
 * restore_direct(r, lv, c, rel, fd): write child ${c} of ${lv} into ${fd},
 * just created; closes it.  Returns 1 when every byte verified and was
 * written, 0 otherwise (reported; the file is then removed or kept aside).
 */
static int restore_direct(struct restorer *r, struct level *lv, size_t c, const char *rel, int fd)
{
	const struct dsb_node *n = &lv->nodes[c];
	int ok;

	r->direct_fd = fd;
	r->staged = 0;
	r->stage_off = 0;
	/* a big file without holes goes with O_DIRECT: it is not read again soon either */
	if (!n->sparse && n->size >= ODIRECT_MIN) {
		if (r->stage == NULL && (r->stage = mmap(NULL, STAGE_BYTES, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
			r->stage = NULL;
		r->odirect = r->stage != NULL && dsb_set_odirect(fd, 1) == 0;
	}
	ok = write_content(r, lv, c, rel);
	/* damaged content too is kept as far as it came */
	if ((r->odirect || r->staged > 0) && stage_flush(r, 1) != 0 && ok)
		ok = fail_entry(r, rel, dsb_errmsg());
	r->odirect = 0;
	r->staged = 0;
	r->direct_fd = -1;
	/* a sparse file ending in a hole: its size */
	if (ok && n->sparse && ftruncate(fd, (off_t)n->size) != 0) {
		full_errno(r, errno);
		ok = fail_entry(r, rel, strerror(errno));
	}
	if (ok)
		ok = direct_meta(r, n, fd, rel);
	if (close(fd) != 0 && ok) {
		full_errno(r, errno);
		ok = fail_entry(r, rel, strerror(errno));
	}
	return ok;
}

/*
 * restore_file(r, lv, c, rel, path, inside): the file child ${c} of ${lv},
 * ${path} from the working directory (its name when ${inside}: in_place).
 * libarchive's entry is made only for a file libarchive writes.
 */
static int restore_file(struct restorer *r, struct level *lv, size_t c, const char *rel,
    const char *path, int inside)
{
	const struct dsb_node *n = &lv->nodes[c];
	const char *first = inside ? NULL : dsb_links_find(&r->links, n);
	struct archive_entry *e;
	int ok, fd;

	dsb_progress_file(rel);
	if (first == NULL && !size_matches_content(r, n, rel))
		return 0;
	if (inside && n->nxattrs == 0) {
		if ((fd = direct_create(lv, n)) >= 0) {
			ok = restore_direct(r, lv, c, rel, fd);
			goto written;
		}
		if (errno != EEXIST) {
			full_errno(r, errno);
			return fail_entry(r, rel, strerror(errno));
		}
		/* something is there already: libarchive replaces it */
	}
	if ((e = archive_entry_new()) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	dsb_entry_from_node(e, n, path);
	if (first != NULL) {
		archive_entry_set_size(e, 0);
		archive_entry_copy_hardlink(e, first);
		if (write_header(r, e, rel))
			finish_entry(r, rel);
		archive_entry_free(e);
		r->st->files++;
		return 0;
	}
	if (!write_header(r, e, rel)) {
		archive_entry_free(e);
		return 0;
	}
	ok = write_content(r, lv, c, rel);
	finish_entry(r, rel);
	archive_entry_free(e);
written:
	if (!ok) {
		if (r->nospace)
			unlink(path);   /* cut short by a full target, not damaged: give the space back */
		else
			mark_damaged(rel, path);
		return 0;
	}
	r->st->files++;
	return dsb_links_add(&r->links, n, rel);
}

static int remember_existing_dir(struct restorer *r, const struct dsb_node *n, const char *rel)
{
	if (DSB_GROW(r->dirs, r->capdirs, r->ndirs, "the list of existing directories") != 0)
		return DSB_ERR_NOMEM;
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

/* enter(r, fd): make the directory ${fd} the working directory */
static int enter(struct restorer *r, int fd)
{
	if (r->cwd == fd)
		return 0;
	if (fchdir(fd) != 0)
		return dsb_error_errno(DSB_ERR_IO, errno, "entering a directory of the restore target %s",
		    r->o->target);
	r->cwd = fd;
	return 0;
}

/* restore_node(r, lv, c, rel): write child ${c} of ${lv}, which is /${rel} */
static int restore_node(struct restorer *r, struct level *lv, size_t c, const char *rel)
{
	const struct dsb_node *n = &lv->nodes[c];
	int inside = in_place(r, lv, n);
	const char *path = inside ? n->name : rel;
	struct archive_entry *e;
	struct stat st;
	int rc = 0, existed;

	if ((rc = enter(r, inside ? lv->fd : r->rootfd)) != 0)
		return rc;
	if (n->type == DSB_NODE_FILE) {
		rc = restore_file(r, lv, c, rel, path, inside);
	} else {
		if ((e = archive_entry_new()) == NULL)
			return dsb_error(DSB_ERR_NOMEM, "out of memory");
		dsb_entry_from_node(e, n, path);
		existed = n->type == DSB_NODE_DIR && lstat(rel, &st) == 0 && S_ISDIR(st.st_mode);
		if (write_header(r, e, rel)) {
			finish_entry(r, rel);
			if (n->type == DSB_NODE_DIR)
				r->st->dirs++;
			else
				r->st->other++;
			if (existed)
				rc = remember_existing_dir(r, n, rel);
		}
		archive_entry_free(e);
	}
	/* a full target fails every entry that follows: stop, saying so */
	if (rc == 0 && r->nospace)
		rc = dsb_error(DSB_ERR_NOSPACE, "no space left on device in the restore target %s "
		    "(stopped after %llu files)", r->o->target, (unsigned long long)r->st->files);
	return rc;
}

/* restore_alone(r, n, rel): write ${n} as /${rel}, by its path from the target */
static int restore_alone(struct restorer *r, const struct dsb_node *n, const char *rel)
{
	struct level one;

	memset(&one, 0, sizeof(one));
	one.nodes = n;
	one.nnodes = 1;
	one.prefix = "";
	one.fd = -1;
	return restore_node(r, &one, 0, rel);
}

/* write the directories above an included entry that were skipped so far */
static int flush_pending(struct restorer *r)
{
	int rc;

	while (r->written_depth < r->npending) {
		if ((rc = restore_alone(r, r->pending[r->written_depth],
		    r->pending_path[r->written_depth])) != 0)
			return rc;
		r->written_depth++;
	}
	return 0;
}

static int restore_tree(struct restorer *r, int parent_fd, const uint8_t id[32], const char *prefix);

static int restore_child(struct restorer *r, struct level *lv, size_t c)
{
	const struct dsb_node *n = &lv->nodes[c];
	const char *prefix = lv->prefix;
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
		drain(r);
		if (rc == 0)
			rc = restore_tree(r, lv->fd, n->subtree, rel);
		r->npending--;
		if (r->written_depth > r->npending)
			r->written_depth = r->npending;
		goto out;
	}
	if (want && (rc = flush_pending(r)) == 0)
		rc = restore_node(r, lv, c, rel);
out:
	free(rel);
	free(abs);
	return rc;
}

/*
 * open_level(r, parent_fd, prefix): the directory /${prefix}, opened from
 * its parent's descriptor without following a symlink; -1 when that fails
 * (not written, say: its entries then go by their paths from the target)
 * or when deep enough that open directories would run short of descriptors.
 */
static int open_level(struct restorer *r, int parent_fd, const char *prefix)
{
	const char *base = strrchr(prefix, '/');

	if (parent_fd < 0 || r->npending > LEVEL_FDS_MAX)
		return -1;
	return openat(parent_fd, base != NULL ? base + 1 : prefix,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static int restore_tree(struct restorer *r, int parent_fd, const uint8_t id[32], const char *prefix)
{
	struct dsb_tree t;
	struct level lv;
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
	memset(&lv, 0, sizeof(lv));
	lv.nodes = t.nodes;
	lv.nnodes = t.n;
	lv.prefix = prefix;
	lv.fd = prefix[0] != '\0' ? open_level(r, parent_fd, prefix) : r->rootfd;
	for (i = 0; i < t.n && rc == 0; i++) {
		if (lv.child < i)
			level_seek(&lv, i, 0);
		rc = restore_child(r, &lv, i);
	}
	drain(r);
	if (lv.fd >= 0 && lv.fd != r->rootfd) {
		if (r->cwd == lv.fd && enter(r, r->rootfd) != 0 && rc == 0)
			rc = DSB_ERR_IO;
		close(lv.fd);
	}
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
	int rc = restore_alone(r, n, name);

	if (rc == 0 && n->type == DSB_NODE_DIR)
		rc = restore_tree(r, r->rootfd, n->subtree, name);
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
	int cwd = -1, rc, in_txn;
	size_t i;

	memset(&r, 0, sizeof(r));
	memset(&sub, 0, sizeof(sub));
	memset(st, 0, sizeof(*st));
	r.s = s;
	r.o = o;
	r.st = st;
	r.rootfd = r.cwd = -1;
	r.direct_fd = -1;
	r.owner = geteuid() == 0 && !o->no_owner;
	r.umask = umask(0);
	umask(r.umask);
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
	if ((r.rootfd = r.cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = dsb_error_errno(DSB_ERR_IO, errno, "opening the restore target %s", o->target);
		goto out;
	}
	if ((r.sha = dsb_sha256_new()) == NULL) {
		rc = dsb_error(DSB_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = open_writer(&r)) != 0 ||
	    (rc = dsb_reader_start(s->repo, dsb_reader_workers(), READ_SLOTS, READ_BUDGET,
	    &r.reader)) != 0)
		goto out;
	/* one read transaction: the blob lookups then take no lock each */
	in_txn = dsb_catalog_begin_read(s->cat) == 0;
	dsb_error_clear();
	rc = o->subtree != NULL ? restore_subtree(&r, &sub, name) :
	    restore_tree(&r, -1, snap->tree, "");
	if (in_txn)
		dsb_catalog_rollback(s->cat);
	if (enter(&r, r.rootfd) != 0 && rc == 0)
		rc = DSB_ERR_IO;
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
	if (r.stage != NULL)
		munmap(r.stage, STAGE_BYTES);
	dsb_reader_free(r.reader);
	dsb_sha256_free(r.sha);
	if (r.rootfd >= 0)
		close(r.rootfd);
	dsb_links_release(&r.links);
	for (i = 0; i < r.ndirs; i++)
		free(r.dirs[i].path);
	free(r.dirs);
	dsb_node_release(&sub);
	free(dir);
	free(name);
	return rc;
}
