/*
 * entry.c: a tree node as a libarchive entry and back.  Restore and dump
 * write nodes through archive entries (to the disk, to an archive); backup
 * and import take metadata from entries (the disk reader's, an archive's).
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "engine_internal.h"

static const struct {
	int type;
	unsigned ae;
} kinds[] = {
	{ DSB_NODE_FILE, AE_IFREG }, { DSB_NODE_DIR, AE_IFDIR }, { DSB_NODE_SYMLINK, AE_IFLNK },
	{ DSB_NODE_FIFO, AE_IFIFO }, { DSB_NODE_CHARDEV, AE_IFCHR }, { DSB_NODE_BLOCKDEV, AE_IFBLK },
	{ DSB_NODE_SOCKET, AE_IFSOCK },
};

static unsigned node_filetype(int type)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].type == type)
			return kinds[i].ae;
	return AE_IFSOCK;
}

static int entry_node_type(unsigned filetype)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].ae == filetype)
			return kinds[i].type;
	return 0;
}

void dsb_entry_from_node(struct archive_entry *e, const struct dsb_node *n, const char *path)
{
	size_t i;

	archive_entry_copy_pathname(e, path);
	archive_entry_set_filetype(e, node_filetype(n->type));
	archive_entry_set_perm(e, n->mode);
	archive_entry_set_uid(e, n->uid);
	archive_entry_set_gid(e, n->gid);
	if (n->user != NULL)
		archive_entry_copy_uname(e, n->user);
	if (n->group != NULL)
		archive_entry_copy_gname(e, n->group);
	archive_entry_set_mtime(e, n->mtime, n->mtime_ns);
	/* a directory's atime is not recorded (backup.c) */
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
		dsb_warn("/%s: cannot parse the stored ACL, going on without it", path);
	if (n->fflags != NULL)
		archive_entry_copy_fflags_text(e, n->fflags);
}

static int copy_opt(char **dst, const char *src)
{
	if (src == NULL || *src == '\0')
		return 0;
	return (*dst = dsb_strdup(src)) != NULL ? 0 : DSB_ERR_NOMEM;
}

static int meta_xattrs(struct dsb_node *n, struct archive_entry *e)
{
	const char *name;
	const void *value;
	size_t size, i = 0;
	int count = archive_entry_xattr_reset(e);

	if (count <= 0)
		return 0;
	if ((n->xattrs = calloc((size_t)count, sizeof(*n->xattrs))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	while (i < (size_t)count && archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if ((n->xattrs[i].name = dsb_strdup(name)) == NULL ||
		    (n->xattrs[i].value = malloc(size + 1)) == NULL)
			return dsb_error(DSB_ERR_NOMEM, "out of memory");
		memcpy(n->xattrs[i].value, value, size);
		n->xattrs[i].len = size;
		n->nxattrs = ++i;
	}
	return 0;
}

int dsb_node_meta_from_entry(struct dsb_node *n, struct archive_entry *e)
{
	char *acl;
	int r;

	if ((r = copy_opt(&n->user, archive_entry_uname(e))) != 0 ||
	    (r = copy_opt(&n->group, archive_entry_gname(e))) != 0 ||
	    (r = copy_opt(&n->fflags, archive_entry_fflags_text(e))) != 0 ||
	    (r = meta_xattrs(n, e)) != 0)
		return r;
	if (archive_entry_acl_count(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS | ARCHIVE_ENTRY_ACL_TYPE_DEFAULT) > 0) {
		acl = archive_entry_acl_to_text(e, NULL, ARCHIVE_ENTRY_ACL_STYLE_EXTRA_ID);
		if (acl != NULL) {
			r = copy_opt(&n->acl, acl);
			free(acl);
		}
	}
	if (archive_entry_filetype(e) == AE_IFREG && archive_entry_sparse_count(e) > 0)
		n->sparse = 1;
	return r;
}

int dsb_node_from_entry(struct dsb_node *n, struct archive_entry *e)
{
	const char *target;

	if ((n->type = entry_node_type(archive_entry_filetype(e))) == 0)
		return dsb_error(DSB_ERR_UNSUPPORTED, "unknown file type %#o",
		    (unsigned)archive_entry_filetype(e));
	n->mode = archive_entry_perm(e) & 07777;
	n->uid = (uint32_t)archive_entry_uid(e);
	n->gid = (uint32_t)archive_entry_gid(e);
	n->mtime = archive_entry_mtime(e);
	n->mtime_ns = archive_entry_mtime_nsec(e);
	/* archives without access or change times: the modification time stands in */
	n->atime = archive_entry_atime_is_set(e) ? archive_entry_atime(e) : n->mtime;
	n->atime_ns = archive_entry_atime_is_set(e) ? archive_entry_atime_nsec(e) : n->mtime_ns;
	n->ctime = archive_entry_ctime_is_set(e) ? archive_entry_ctime(e) : n->mtime;
	n->ctime_ns = archive_entry_ctime_is_set(e) ? archive_entry_ctime_nsec(e) : n->mtime_ns;
	n->nlink = 1;
	if (n->type == DSB_NODE_CHARDEV || n->type == DSB_NODE_BLOCKDEV)
		n->rdev = archive_entry_rdev(e);
	if (n->type == DSB_NODE_SYMLINK) {
		if ((target = archive_entry_symlink(e)) == NULL || *target == '\0')
			return dsb_error(DSB_ERR_CORRUPT, "symbolic link without a target");
		if ((n->target = dsb_strdup(target)) == NULL)
			return DSB_ERR_NOMEM;
	}
	return dsb_node_meta_from_entry(n, e);
}
