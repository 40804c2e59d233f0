/*
 * cmd_mount.c: dsbackup mount MOUNTPOINT [--foreground]: the repository's
 * snapshots as a read-only FUSE 3 file system (the tree is fsview.h's).
 * One thread serves every request; reads that fail verification are EIO
 * and logged with their path.  SIGINT, SIGTERM, SIGHUP or "fusermount3 -u"
 * unmount it.  Built without libfuse3, the command only says so.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "dsbackup/error.h"

#ifdef DSB_HAVE_FUSE

#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "dsbackup/fsview.h"
#include "dsbackup/log.h"

#define REFRESH_SEC 3

static struct dsb_fsview *view_of(void)
{
	return fuse_get_context()->private_data;
}

/* fs_errno(r, path, what): the errno for a failed view call; failures other than absence are logged */
static int fs_errno(int r, const char *path, const char *what)
{
	switch (r) {
	case DSB_ERR_NOT_FOUND: return -ENOENT;
	case DSB_ERR_UNSUPPORTED: return -ENOTDIR;
	case DSB_ERR_NOMEM: return -ENOMEM;
	default:
		dsb_log(DSB_LOG_ERROR, "mount: %s %s: %s", what, path,
		    dsb_errmsg()[0] != '\0' ? dsb_errmsg() : dsb_strerror(r));
		dsb_error_clear();
		return -EIO;
	}
}

static mode_t type_bits(int type)
{
	switch (type) {
	case DSB_NODE_DIR: return S_IFDIR;
	case DSB_NODE_SYMLINK: return S_IFLNK;
	case DSB_NODE_FIFO: return S_IFIFO;
	case DSB_NODE_CHARDEV: return S_IFCHR;
	case DSB_NODE_BLOCKDEV: return S_IFBLK;
	case DSB_NODE_SOCKET: return S_IFSOCK;
	default: return S_IFREG;
	}
}

static void fill_stat(const struct dsb_node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = type_bits(n->type) | (n->mode & 07777);
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_nlink = n->type == DSB_NODE_DIR || n->nlink == 0 ? 1 : (nlink_t)n->nlink;
	if (n->type == DSB_NODE_SYMLINK && n->target != NULL)
		st->st_size = (off_t)strlen(n->target);
	else if (n->type == DSB_NODE_FILE)
		st->st_size = (off_t)n->size;
	st->st_blocks = (blkcnt_t)((st->st_size + 511) / 512);
	st->st_blksize = 65536;
	st->st_rdev = (dev_t)n->rdev;
	st->st_mtim.tv_sec = (time_t)n->mtime;
	st->st_mtim.tv_nsec = n->mtime_ns;
	st->st_atim.tv_sec = (time_t)n->atime;
	st->st_atim.tv_nsec = n->atime_ns;
	st->st_ctim.tv_sec = (time_t)n->ctime;
	st->st_ctim.tv_nsec = n->ctime_ns;
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	const struct dsb_node *n;
	int r;

	(void)fi;
	if ((r = dsb_fsview_lookup(view_of(), path, &n)) != 0)
		return fs_errno(r, path, "looking up");
	fill_stat(n, st);
	return 0;
}

static int fs_readlink(const char *path, char *buf, size_t size)
{
	const struct dsb_node *n;
	int r;

	if ((r = dsb_fsview_lookup(view_of(), path, &n)) != 0)
		return fs_errno(r, path, "looking up");
	if (n->type != DSB_NODE_SYMLINK || n->target == NULL)
		return -EINVAL;
	if (size == 0)
		return -EINVAL;
	snprintf(buf, size, "%s", n->target);
	return 0;
}

struct fill_ctx {
	void *buf;
	fuse_fill_dir_t filler;
};

static int fill_one(void *arg, const struct dsb_node *n)
{
	struct fill_ctx *f = arg;

	return f->filler(f->buf, n->name, NULL, 0, 0) != 0 ? 1 : 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
    struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct fill_ctx f = { buf, filler };
	int r;

	(void)off;
	(void)fi;
	(void)flags;
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	if ((r = dsb_fsview_readdir(view_of(), path, fill_one, &f)) < 0)
		return fs_errno(r, path, "listing");
	return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	struct dsb_fsview_file *f;
	int r;

	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	if ((r = dsb_fsview_open(view_of(), path, &f)) != 0)
		return r == DSB_ERR_UNSUPPORTED ? -EINVAL : fs_errno(r, path, "opening");
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->keep_cache = 1;   /* a snapshot never changes */
	return 0;
}

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct dsb_fsview_file *f = (struct dsb_fsview_file *)(uintptr_t)fi->fh;
	size_t got;
	int r;

	if (off < 0)
		return -EINVAL;
	if ((r = dsb_fsview_read(view_of(), f, buf, size, (uint64_t)off, &got)) != 0)
		return fs_errno(r, path, "reading");
	return (int)got;
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	dsb_fsview_close((struct dsb_fsview_file *)(uintptr_t)fi->fh);
	return 0;
}

static int fs_getxattr(const char *path, const char *name, char *value, size_t size)
{
	const struct dsb_node *n;
	size_t i;
	int r;

	if ((r = dsb_fsview_lookup(view_of(), path, &n)) != 0)
		return fs_errno(r, path, "looking up");
	for (i = 0; i < n->nxattrs; i++) {
		if (strcmp(n->xattrs[i].name, name) != 0)
			continue;
		if (n->xattrs[i].len > INT32_MAX)
			return -E2BIG;
		if (size == 0)
			return (int)n->xattrs[i].len;
		if (size < n->xattrs[i].len)
			return -ERANGE;
		if (n->xattrs[i].len > 0)
			memcpy(value, n->xattrs[i].value, n->xattrs[i].len);
		return (int)n->xattrs[i].len;
	}
	return -ENODATA;
}

static int fs_listxattr(const char *path, char *list, size_t size)
{
	const struct dsb_node *n;
	size_t i, need = 0, len;
	int r;

	if ((r = dsb_fsview_lookup(view_of(), path, &n)) != 0)
		return fs_errno(r, path, "looking up");
	for (i = 0; i < n->nxattrs; i++) {
		len = strlen(n->xattrs[i].name) + 1;
		if (size > 0 && need + len > size)
			return -ERANGE;
		if (size > 0)
			memcpy(list + need, n->xattrs[i].name, len);
		need += len;
	}
	return need > INT32_MAX ? -E2BIG : (int)need;
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	cfg->kernel_cache = 1;
	cfg->entry_timeout = 1;
	cfg->attr_timeout = 1;
	cfg->negative_timeout = 0;
	return fuse_get_context()->private_data;
}

static const struct fuse_operations fs_ops = {
	.init = fs_init,
	.getattr = fs_getattr,
	.readlink = fs_readlink,
	.readdir = fs_readdir,
	.open = fs_open,
	.read = fs_read,
	.release = fs_release,
	.getxattr = fs_getxattr,
	.listxattr = fs_listxattr,
};

/* background(): after mounting, go on in a child of a new session; the parent exits 0 */
static int background(void)
{
	pid_t pid;
	int fd;

	fflush(NULL);
	if ((pid = fork()) < 0)
		return dsb_error_errno(DSB_ERR_IO, errno, "mount: cannot go to the background");
	if (pid > 0)
		_exit(0);
	setsid();
	/* messages still go to the standard error the command was started with */
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
	return 0;
}

/* serve(v, mountpoint, foreground): mount, serve until unmounted or signalled, unmount */
static int serve(struct dsb_fsview *v, const char *mountpoint, int foreground)
{
	char *fargv[] = { "dsbackup", "-o", "ro,fsname=dsbackup,subtype=dsbackup", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse_session *se;
	struct fuse *f;
	int r = 0, lr;

	if ((f = fuse_new(&args, &fs_ops, sizeof(fs_ops), v)) == NULL)
		return dsb_error(DSB_ERR_IO, "mount: cannot set up FUSE (is /dev/fuse there?)");
	if (fuse_mount(f, mountpoint) != 0) {
		r = dsb_error(DSB_ERR_IO, "mount: cannot mount on %s (it must be an existing directory; "
		    "FUSE needs /dev/fuse and fusermount3)", mountpoint);
		goto out_destroy;
	}
	se = fuse_get_session(f);
	/* libfuse installs its handlers only over the default ones */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (fuse_set_signal_handlers(se) != 0) {
		r = dsb_error(DSB_ERR_IO, "mount: cannot install signal handlers");
		goto out_unmount;
	}
	dsb_log(DSB_LOG_INFO, "snapshots mounted on %s (unmount with \"fusermount3 -u %s\")", mountpoint,
	    mountpoint);
	if (foreground || (r = background()) == 0) {
		lr = fuse_loop(f);
		/* a positive result is the signal that ended the loop */
		if (lr < 0)
			r = dsb_error(DSB_ERR_IO, "mount: serving %s failed: %s", mountpoint, strerror(-lr));
	}
	fuse_remove_signal_handlers(se);
out_unmount:
	fuse_unmount(f);
out_destroy:
	fuse_destroy(f);
	fuse_opt_free_args(&args);
	return r;
}

/* mount_run(c, mountpoint, foreground): open the repository and serve its snapshots */
static int mount_run(struct cli *c, const char *mountpoint, int foreground)
{
	struct dsb_session *s = NULL;
	struct dsb_fsview *v = NULL;
	int r;

	if ((r = cli_open(c, &s)) != 0)
		return r;
	if ((r = dsb_fsview_new(s, REFRESH_SEC, &v)) == 0)
		r = serve(v, mountpoint, foreground);
	dsb_fsview_free(v);
	dsb_session_close(s);
	return r;
}

#else /* !DSB_HAVE_FUSE */

static int mount_run(struct cli *c, const char *mountpoint, int foreground)
{
	(void)c;
	(void)mountpoint;
	(void)foreground;
	return dsb_error(DSB_ERR_UNSUPPORTED, "mount: this dsbackup was built without FUSE "
	    "(install libfuse3-dev and rebuild)");
}

#endif

static int mount_option(struct cli *c, int opt, const char *arg, void *ctx)
{
	(void)arg;
	if (opt == 0x2001) {
		*(int *)ctx = 1;
		return 0;
	}
	return cli_usage_error(c, "invalid option");
}

int cmd_mount(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 0x2001 },
		CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 }
	};
	struct stat st;
	int foreground = 0, r;

	if ((r = cli_parse(c, argc, argv, "r:qvh", longopts, mount_option, &foreground)) != 0)
		return r == 1 ? 0 : r;
	if (argc - optind != 1)
		return cli_usage_error(c, "mount needs one MOUNTPOINT");
	if (stat(argv[optind], &st) != 0 || !S_ISDIR(st.st_mode))
		return dsb_error(DSB_ERR_USAGE, "mount: %s is not a directory: create it first",
		    argv[optind]);
	return mount_run(c, argv[optind], foreground);
}
