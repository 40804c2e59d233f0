/*
 * local.c: the local backend.  A repository is a directory and an object is
 * a file below it, named by its object name ("data/ab/<hex>").
 *
 * Writes go to "<dir>/.tmp-<random hex>" in the destination directory, are
 * fsync'd, then renamed (or, for DSB_PUT_NO_OVERWRITE, hard-linked) onto
 * the final name, and the directory is fsync'd: after a crash either the
 * old object or the new one is there, never a torn one.  Names starting
 * with ".tmp-" are reserved for these files; list() skips them.
 *
 * Objects of 1 MiB and more (packs) are written with O_DIRECT where the file
 * system takes it: they are not read again soon, and copying them into the
 * page cache was most of a backup's system time (fresh pages cost a fault
 * each in a virtual machine).  The aligned bulk goes through a 1 MiB bounce
 * buffer unless the caller's is aligned already; the tail, O_DIRECT off.
 *
 * The only state is the root path, which never changes after open(), so
 * every operation may run on several threads at once.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dsbackup/backend.h"
#include "dsbackup/error.h"
#include "dsbackup/util.h"

#define LOCAL_LIST_DEPTH 8       /* deepest directory list() descends into */
#define LOCAL_TMP_PREFIX ".tmp-"
#define LOCAL_TMP_RANDOM 16      /* random bytes in a temporary file name */
#define LOCAL_MODE_DIR 0700
#define LOCAL_MODE_FILE 0600
#define LOCAL_DIRECT_MIN ((size_t)1 << 20)    /* objects written with O_DIRECT from this size */
#define LOCAL_BOUNCE ((size_t)1 << 20)

struct local {
	char *root;  /* absolute, without a trailing slash; immutable */
};

static const char *const local_subdirs[] = {
	"keys", "data", "index", "snapshots", "locks", NULL
};

/* sys_error(e, what, path): "<what> <path>: <strerror>", NOSPACE for ENOSPC/EDQUOT. */
static int sys_error(int e, const char *what, const char *path)
{
	int code = e == ENOSPC || e == EDQUOT ? DSB_ERR_NOSPACE : DSB_ERR_IO;

	return dsb_error_errno(code, e, "%s %s", what, path);
}

static int is_tmp_name(const char *component)
{
	return strncmp(component, LOCAL_TMP_PREFIX, strlen(LOCAL_TMP_PREFIX)) == 0;
}

/* local_path_n(lc, name, n, out, size): "<root>/<first n bytes of name>", or the root if n is 0. */
static int local_path_n(const struct local *lc, const char *name, size_t n, char *out,
    size_t size)
{
	int w;

	if (n == 0)
		w = snprintf(out, size, "%s", lc->root);
	else
		w = snprintf(out, size, "%s/%.*s", lc->root, (int)n, name);
	if (w < 0 || (size_t)w >= size)
		return dsb_error(DSB_ERR_LIMIT, "path %s/%.*s is longer than %zu bytes",
		    lc->root, (int)n, name, size - 1);
	return 0;
}

static int local_path(const struct local *lc, const char *name, char *out, size_t size)
{
	return local_path_n(lc, name, strlen(name), out, size);
}

/* sync_dir(path): fsync a directory so that entries added or removed in it are durable. */
static int sync_dir(const char *path)
{
	int fd, r = 0;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return sys_error(errno, "opening directory", path);
	/* EINVAL: this file system cannot sync directories; nothing more to do. */
	if (fsync(fd) != 0 && errno != EINVAL)
		r = sys_error(errno, "syncing directory", path);
	close(fd);
	return r;
}

/* sync_parent(path): sync_dir() of the directory holding ${path}. */
static int sync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL)
		return sync_dir(".");
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof(dir))
		return dsb_error(DSB_ERR_LIMIT, "path %s is too long", path);
	memcpy(dir, path, n);
	dir[n] = '\0';
	return sync_dir(dir);
}

/* make_dir(path): create a directory (mode 0700) and make its entry durable; fine if it exists. */
static int make_dir(const char *path)
{
	struct stat st;

	if (mkdir(path, LOCAL_MODE_DIR) == 0)
		return sync_parent(path);
	if (errno != EEXIST)
		return sys_error(errno, "creating directory", path);
	if (stat(path, &st) != 0)
		return sys_error(errno, "stat", path);
	if (!S_ISDIR(st.st_mode))
		return dsb_error(DSB_ERR_IO, "%s exists and is not a directory", path);
	return 0;
}

/* make_parents(lc, name): create the directories below the root that hold ${name}. */
static int make_parents(const struct local *lc, const char *name)
{
	char path[PATH_MAX];
	const char *p;
	int r;

	for (p = strchr(name, '/'); p != NULL; p = strchr(p + 1, '/')) {
		if ((r = local_path_n(lc, name, (size_t)(p - name), path, sizeof(path))) != 0)
			return r;
		if ((r = make_dir(path)) != 0)
			return r;
	}
	return 0;
}

static int random_hex(char *out, size_t size)
{
	uint8_t b[LOCAL_TMP_RANDOM];
	size_t got = 0;
	ssize_t n;

	if (size < 2 * sizeof(b) + 1)
		return dsb_error(DSB_ERR_INTERNAL, "random_hex: buffer too small");
	while (got < sizeof(b)) {
		n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return dsb_error_errno(DSB_ERR_IO, errno, "getrandom");
		got += (size_t)n;
	}
	dsb_hex_encode(b, sizeof(b), out);
	return 0;
}

/* temp_path(path, out, size): "<directory of path>/.tmp-<32 random hex digits>". */
static int temp_path(const char *path, char *out, size_t size)
{
	char hex[2 * LOCAL_TMP_RANDOM + 1];
	const char *slash = strrchr(path, '/');
	int dirlen = slash == NULL ? 0 : (int)(slash - path), w, r;

	if ((r = random_hex(hex, sizeof(hex))) != 0)
		return r;
	w = snprintf(out, size, "%.*s/%s%s", dirlen, path, LOCAL_TMP_PREFIX, hex);
	if (w < 0 || (size_t)w >= size)
		return dsb_error(DSB_ERR_LIMIT, "temporary file name for %s is too long", path);
	return 0;
}

/* open_temp(lc, name, tmp, fdp): create ${tmp}, and the directories holding ${name} if missing. */
static int open_temp(const struct local *lc, const char *name, const char *tmp, int *fdp)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
	int r;

	if ((*fdp = open(tmp, flags, LOCAL_MODE_FILE)) >= 0)
		return 0;
	if (errno != ENOENT || strchr(name, '/') == NULL)
		return sys_error(errno, "creating", tmp);
	if ((r = make_parents(lc, name)) != 0)
		return r;
	if ((*fdp = open(tmp, flags, LOCAL_MODE_FILE)) < 0)
		return sys_error(errno, "creating", tmp);
	return 0;
}

/*
 * write_direct(fd, p, n, path, done): the first ${n} rounded down to the
 * alignment with O_DIRECT; *${done} says how many bytes were written.  A
 * file system that refuses O_DIRECT, or an aligned write (EINVAL), leaves
 * the rest to ordinary writes: 0.  Other failures are errors.
 */
static int write_direct(int fd, const uint8_t *p, size_t n, const char *path, size_t *done)
{
	size_t bulk = n - n % DSB_ODIRECT_ALIGN, k;
	uint8_t *bounce = NULL;
	ssize_t w;
	int r = 0;

	*done = 0;
	if (bulk == 0 || dsb_set_odirect(fd, 1) != 0)
		return 0;
	/* mapped, not malloc'd: a large free would raise malloc's mmap threshold for the packs */
	if ((uintptr_t)p % DSB_ODIRECT_ALIGN != 0 &&
	    (bounce = mmap(NULL, LOCAL_BOUNCE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0)) == MAP_FAILED) {
		bounce = NULL;
		goto out;   /* no memory for it: ordinary writes */
	}
	while (*done < bulk) {
		k = bulk - *done;
		if (bounce != NULL) {
			k = k < LOCAL_BOUNCE ? k : LOCAL_BOUNCE;
			memcpy(bounce, p + *done, k);
		}
		w = write(fd, bounce != NULL ? bounce : p + *done, k);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EINVAL)
			break;      /* not for this file system after all */
		if (w < 0) {
			r = sys_error(errno, "writing", path);
			break;
		}
		/* a short write leaves an aligned offset only by chance: go on without O_DIRECT */
		*done += (size_t)w;
		if (w == 0 || (size_t)w % DSB_ODIRECT_ALIGN != 0)
			break;
	}
out:
	if (bounce != NULL)
		munmap(bounce, LOCAL_BOUNCE);
	if (dsb_set_odirect(fd, 0) != 0 && r == 0)
		r = sys_error(errno, "writing", path);
	return r;
}

/* write_temp(fd, p, n, path): write, fsync and close ${fd}; errors name the final ${path}. */
static int write_temp(int fd, const void *p, size_t n, const char *path)
{
	size_t done = 0;
	int r;

	if (n >= LOCAL_DIRECT_MIN && (r = write_direct(fd, p, n, path, &done)) != 0)
		goto out;
	if ((r = dsb_write_all(fd, (const uint8_t *)p + done, n - done, path)) != 0)
		goto out;
	if (fsync(fd) != 0) {
		r = sys_error(errno, "syncing", path);
		goto out;
	}
	r = close(fd) == 0 ? 0 : sys_error(errno, "closing", path);
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/*
 * install(tmp, path, flags): move the finished temporary file to its name.
 * With DSB_PUT_NO_OVERWRITE, link() fails if ${path} exists where rename()
 * would replace it; the caller then removes ${tmp}.
 */
static int install(const char *tmp, const char *path, unsigned flags)
{
	if ((flags & DSB_PUT_NO_OVERWRITE) == 0) {
		if (rename(tmp, path) != 0)
			return dsb_error_errno(DSB_ERR_IO, errno, "renaming %s to %s", tmp, path);
		return 0;
	}
	if (link(tmp, path) != 0) {
		if (errno == EEXIST)
			return dsb_error(DSB_ERR_EXISTS, "%s already exists", path);
		return dsb_error_errno(DSB_ERR_IO, errno, "linking %s to %s", tmp, path);
	}
	return 0;
}

static int local_put(void *state, const char *name, const void *p, size_t n, unsigned flags)
{
	const struct local *lc = state;
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd = -1, r = DSB_ERR_INTERNAL;

	tmp[0] = '\0';
	if ((flags & ~(unsigned)DSB_PUT_NO_OVERWRITE) != 0) {
		r = dsb_error(DSB_ERR_INTERNAL, "unknown put flags 0x%x", flags);
		goto out;
	}
	if ((r = dsb_backend_check_name(name, 0)) != 0 ||
	    (r = local_path(lc, name, path, sizeof(path))) != 0 ||
	    (r = temp_path(path, tmp, sizeof(tmp))) != 0)
		goto out;
	if ((r = open_temp(lc, name, tmp, &fd)) != 0) {
		tmp[0] = '\0';  /* not created: must not remove someone else's */
		goto out;
	}
	r = write_temp(fd, p, n, path);
	fd = -1;
	if (r != 0 || (r = install(tmp, path, flags)) != 0)
		goto out;
	if ((flags & DSB_PUT_NO_OVERWRITE) != 0)
		unlink(tmp);  /* the object is stored; a leftover temp file is only litter */
	tmp[0] = '\0';
	if ((r = sync_parent(path)) != 0)
		goto out;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	return r;
}

/* open_object(path, fdp, sizep): open a regular file for reading. */
static int open_object(const char *path, int *fdp, uint64_t *sizep)
{
	struct stat st;
	int fd, r;

	/* O_NONBLOCK: a FIFO planted in the repository must not hang us; no effect on files. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) < 0) {
		r = errno == ENOENT || errno == ENOTDIR ? DSB_ERR_NOT_FOUND : DSB_ERR_IO;
		return dsb_error_errno(r, errno, "opening %s", path);
	}
	if (fstat(fd, &st) != 0) {
		r = sys_error(errno, "stat", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = dsb_error(DSB_ERR_IO, "%s is not a regular file", path);
		goto out;
	}
	*sizep = (uint64_t)st.st_size;
	*fdp = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/* check_range(path, size, off, lenp): bytes [off, off+len) must exist; len 0 becomes "to the end". */
static int check_range(const char *path, uint64_t size, uint64_t off, uint64_t *lenp)
{
	uint64_t len = *lenp;

	if (off > size)
		return dsb_error(DSB_ERR_CORRUPT, "object %s is %llu bytes, cannot read from offset %llu",
		    path, (unsigned long long)size, (unsigned long long)off);
	if (len == 0)
		len = size - off;
	if (len > size - off)
		return dsb_error(DSB_ERR_CORRUPT, "object %s is %llu bytes, cannot read %llu..%llu",
		    path, (unsigned long long)size, (unsigned long long)off,
		    (unsigned long long)(off + len));
	if (len > SIZE_MAX)
		return dsb_error(DSB_ERR_LIMIT, "cannot read %llu bytes of %s into memory",
		    (unsigned long long)len, path);
	*lenp = len;
	return 0;
}

static int local_get(void *state, const char *name, uint64_t off, uint64_t len,
    struct dsb_buf *out)
{
	const struct local *lc = state;
	char path[PATH_MAX];
	uint64_t size = 0;
	int fd = -1, r = DSB_ERR_INTERNAL;

	dsb_buf_reset(out);
	if ((r = dsb_backend_check_name(name, 0)) != 0 ||
	    (r = local_path(lc, name, path, sizeof(path))) != 0 ||
	    (r = open_object(path, &fd, &size)) != 0 ||
	    (r = check_range(path, size, off, &len)) != 0)
		goto out;
	if ((r = dsb_buf_reserve(out, (size_t)len)) != 0) {
		r = dsb_error_wrap(r, "reading %s", path);
		goto out;
	}
	if ((r = dsb_pread_all(fd, out->data, (size_t)len, (off_t)off, path)) != 0)
		goto out;
	out->len = (size_t)len;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

static int local_stat(void *state, const char *name, uint64_t *size)
{
	const struct local *lc = state;
	char path[PATH_MAX];
	struct stat st;
	int r;

	if ((r = dsb_backend_check_name(name, 0)) != 0 ||
	    (r = local_path(lc, name, path, sizeof(path))) != 0)
		return r;
	if (stat(path, &st) != 0) {
		r = errno == ENOENT || errno == ENOTDIR ? DSB_ERR_NOT_FOUND : DSB_ERR_IO;
		return dsb_error_errno(r, errno, "stat %s", path);
	}
	if (!S_ISREG(st.st_mode))
		return dsb_error(DSB_ERR_IO, "%s is not a regular file", path);
	*size = (uint64_t)st.st_size;
	return 0;
}

static int local_remove(void *state, const char *name)
{
	const struct local *lc = state;
	char path[PATH_MAX];
	int r;

	if ((r = dsb_backend_check_name(name, 0)) != 0 ||
	    (r = local_path(lc, name, path, sizeof(path))) != 0)
		return r;
	if (unlink(path) != 0) {
		r = errno == ENOENT || errno == ENOTDIR ? DSB_ERR_NOT_FOUND : DSB_ERR_IO;
		return dsb_error_errno(r, errno, "removing %s", path);
	}
	return sync_parent(path);
}

/* A directory walk for list(); ${rel} is the current name relative to the root. */
struct local_walk {
	const struct local *lc;
	dsb_backend_list_cb cb;
	void *arg;
	char rel[PATH_MAX];
	size_t len;
};

static int walk_error(const struct local_walk *w, int e, const char *what)
{
	char path[PATH_MAX];

	if (local_path(w->lc, w->rel, path, sizeof(path)) != 0)
		return dsb_error_errno(DSB_ERR_IO, e, "%s %s/%s", what, w->lc->root, w->rel);
	return sys_error(e, what, path);
}

/* walk_push(w, ent): append "/${ent}" (or "${ent}" at the root) to ${w->rel}. */
static int walk_push(struct local_walk *w, const char *ent)
{
	int n = snprintf(w->rel + w->len, sizeof(w->rel) - w->len, "%s%s",
	    w->len == 0 ? "" : "/", ent);

	if (n < 0 || (size_t)n >= sizeof(w->rel) - w->len) {
		w->rel[w->len] = '\0';
		return dsb_error(DSB_ERR_LIMIT, "name %s/%s in %s is too long", w->rel, ent,
		    w->lc->root);
	}
	w->len += (size_t)n;
	return 0;
}

static int walk_dir(struct local_walk *w, int fd, int depth);

/* walk_subdir(w, dfd, ent, depth): descend into ${ent}, already pushed onto ${w->rel}. */
static int walk_subdir(struct local_walk *w, int dfd, const char *ent, int depth)
{
	int fd;

	if (depth > LOCAL_LIST_DEPTH)
		return dsb_error(DSB_ERR_LIMIT, "%s/%s is nested more than %d directories deep",
		    w->lc->root, w->rel, LOCAL_LIST_DEPTH);
	if ((fd = openat(dfd, ent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : walk_error(w, errno, "opening directory");
	return walk_dir(w, fd, depth);
}

static int walk_entry(struct local_walk *w, int dfd, const char *ent, int depth)
{
	size_t saved = w->len;
	struct stat st;
	int r;

	if (strcmp(ent, ".") == 0 || strcmp(ent, "..") == 0 || is_tmp_name(ent))
		return 0;
	if ((r = walk_push(w, ent)) != 0)
		return r;
	if (fstatat(dfd, ent, &st, 0) != 0)
		r = errno == ENOENT ? 0 : walk_error(w, errno, "stat");  /* ENOENT: removed meanwhile */
	else if (S_ISREG(st.st_mode))
		r = w->cb(w->arg, w->rel, (uint64_t)st.st_size);
	else if (S_ISDIR(st.st_mode))
		r = walk_subdir(w, dfd, ent, depth + 1);
	else
		r = 0;
	w->len = saved;
	w->rel[saved] = '\0';
	return r;
}

/* walk_dir(w, fd, depth): report every file below the directory ${fd}, which this closes. */
static int walk_dir(struct local_walk *w, int fd, int depth)
{
	struct dirent *ent;
	DIR *d;
	int r = 0;

	if ((d = fdopendir(fd)) == NULL) {
		r = walk_error(w, errno, "reading directory");
		close(fd);
		return r;
	}
	for (;;) {
		errno = 0;
		if ((ent = readdir(d)) == NULL) {
			if (errno != 0)
				r = walk_error(w, errno, "reading directory");
			break;
		}
		if ((r = walk_entry(w, dirfd(d), ent->d_name, depth)) != 0)
			break;
	}
	closedir(d);
	return r;
}

static int local_list(void *state, const char *dir, dsb_backend_list_cb cb, void *arg)
{
	const struct local *lc = state;
	struct local_walk w = { .lc = lc, .cb = cb, .arg = arg };
	char path[PATH_MAX];
	int fd, r;

	if ((r = dsb_backend_check_name(dir, 1)) != 0 ||
	    (r = local_path(lc, dir, path, sizeof(path))) != 0)
		return r;
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		return sys_error(errno, "opening directory", path);
	}
	w.len = strlen(dir);
	memcpy(w.rel, dir, w.len + 1);
	return walk_dir(&w, fd, 0);
}

static int local_create(void *state)
{
	const struct local *lc = state;
	char path[PATH_MAX];
	size_t i;
	int r;

	if ((r = dsb_mkdir_p(lc->root, LOCAL_MODE_DIR)) != 0 || (r = make_dir(lc->root)) != 0)
		return r;
	for (i = 0; local_subdirs[i] != NULL; i++) {
		if ((r = local_path(lc, local_subdirs[i], path, sizeof(path))) != 0 ||
		    (r = make_dir(path)) != 0)
			return r;
	}
	return sync_parent(lc->root);
}

static void local_close(void *state)
{
	struct local *lc = state;

	if (lc == NULL)
		return;
	free(lc->root);
	free(lc);
}

/* absolute_root(location): ${location} made absolute against the current directory, malloc'd. */
static char *absolute_root(const char *location)
{
	char cwd[PATH_MAX];
	char *root;
	size_t n;

	if (location[0] == '/') {
		root = dsb_strdup(location);
	} else if (getcwd(cwd, sizeof(cwd)) == NULL) {
		dsb_error_errno(DSB_ERR_IO, errno, "getting the current directory for %s", location);
		return NULL;
	} else {
		root = dsb_asprintf("%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, location);
	}
	if (root == NULL)
		return NULL;
	for (n = strlen(root); n > 1 && root[n - 1] == '/'; n--)
		root[n - 1] = '\0';
	return root;
}

/*
 * local_open(location, statep): ${location} is a directory path, absolute or
 * relative to the current directory (resolved now, so a later chdir() does
 * not move the repository).  Nothing is checked on disk: create() makes the
 * directory, and get() of a missing object reports DSB_ERR_NOT_FOUND.
 */
static int local_open(const char *location, void **statep)
{
	struct local *lc = NULL;
	int r = DSB_ERR_INTERNAL;

	*statep = NULL;
	if (location == NULL || *location == '\0')
		return dsb_error(DSB_ERR_USAGE, "empty repository path");
	if ((lc = calloc(1, sizeof(*lc))) == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((lc->root = absolute_root(location)) == NULL) {
		r = errno == ENOMEM ? DSB_ERR_NOMEM : DSB_ERR_IO;
		goto out;
	}
	if (strlen(lc->root) >= PATH_MAX) {
		r = dsb_error(DSB_ERR_LIMIT, "repository path %.80s... is too long", lc->root);
		goto out;
	}
	*statep = lc;
	lc = NULL;
	r = 0;
out:
	local_close(lc);
	return r;
}

const struct dsb_backend_ops dsb_backend_local = {
	.name = "local",
	.scheme = "local:",
	.open = local_open,
	.create = local_create,
	.put = local_put,
	.get = local_get,
	.stat = local_stat,
	.remove = local_remove,
	.list = local_list,
	.close = local_close,
};
