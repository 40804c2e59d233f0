/*
 * dump.c: a snapshot, or an entry of it, written as an archive through
 * libarchive's archive_write (pax, GNU tar, zip, zstd-compressed pax), for
 * "dsbackup dump ... | tar -x".  Content is read back and verified exactly
 * as restore does (content.c).  An archive cut short by an error is left
 * without its end marker.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "engine_internal.h"

#define MAX_DEPTH 1024

struct dumper {
	struct dsb_session *s;
	const struct dsb_dump_opts *o;
	struct dsb_dump_stats *st;
	struct archive *aw;
	struct dsb_blob_opener *opener;
	struct dsb_buf scratch, data;
	struct dsb_links links;
};

int dsb_dump_format_parse(const char *name, int *out)
{
	static const char *const names[] = { "pax", "tar", "zip", "tar.zst" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	return dsb_error(DSB_ERR_USAGE, "unknown archive format \"%s\": use pax, tar, zip or tar.zst", name);
}

static int archive_failed(struct dumper *d, const char *path)
{
	return dsb_error(DSB_ERR_IO, "writing %s to the archive: %s", path,
	    archive_error_string(d->aw) != NULL ? archive_error_string(d->aw) : "unknown error");
}

static int write_block(void *arg, const void *p, size_t len, uint64_t off)
{
	struct dumper *d = arg;
	la_ssize_t n;

	(void)off;
	if ((n = archive_write_data(d->aw, p, len)) < 0 || (size_t)n != len)
		return dsb_error(DSB_ERR_IO, "writing the archive: %s",
		    n < 0 ? archive_error_string(d->aw) : "short write");
	d->st->bytes += len;
	dsb_progress_bytes(len);
	return 0;
}

/* write_header(d, e, path, written): 0 with *written = 0 when the format cannot hold the entry (warned) */
static int write_header(struct dumper *d, struct archive_entry *e, const char *path, int *written)
{
	int ar = archive_write_header(d->aw, e);

	*written = ar >= ARCHIVE_WARN;
	if (ar == ARCHIVE_WARN)
		dsb_warn("dump: %s: %s", path, archive_error_string(d->aw));
	if (ar == ARCHIVE_FAILED) {
		dsb_warn("dump: %s: left out: %s", path, archive_error_string(d->aw));
		d->st->skipped++;
		return 0;
	}
	return ar == ARCHIVE_FATAL ? archive_failed(d, path) : 0;
}

static int dump_file(struct dumper *d, struct archive_entry *e, const struct dsb_node *n,
    const char *path)
{
	const char *first = d->o->format != DSB_DUMP_ZIP ? dsb_links_find(&d->links, n) : NULL;
	int r, written;

	d->st->files++;
	dsb_progress_file(path);
	if (first != NULL) {
		archive_entry_set_size(e, 0);
		archive_entry_copy_hardlink(e, first);
		return write_header(d, e, path, &written);
	}
	if ((r = dsb_node_check_size(d->s, n)) != 0 || (r = write_header(d, e, path, &written)) != 0)
		return r;
	if (!written)
		return 0;
	if ((r = dsb_node_read_content(d->s, d->opener, n, &d->scratch, &d->data, write_block, d)) != 0)
		return r;
	return dsb_links_add(&d->links, n, path);
}

static int dump_tree(struct dumper *d, const uint8_t id[32], const char *prefix, int depth);

static int dump_node(struct dumper *d, const struct dsb_node *n, const char *path, int depth)
{
	struct archive_entry *e = archive_entry_new();
	int r, written;

	if (e == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	dsb_entry_from_node(e, n, path);
	if (n->type == DSB_NODE_FILE) {
		r = dump_file(d, e, n, path);
	} else if ((r = write_header(d, e, path, &written)) == 0 && written) {
		if (n->type == DSB_NODE_DIR)
			d->st->dirs++;
		else
			d->st->other++;
	}
	archive_entry_free(e);
	if (r != 0 && r != DSB_ERR_NOMEM)
		return dsb_error_wrap(r, "dump: %s", path);
	if (n->type == DSB_NODE_DIR && n->has_subtree)
		r = dump_tree(d, n->subtree, strcmp(path, ".") == 0 ? "" : path, depth + 1);
	return r;
}

static int dump_tree(struct dumper *d, const uint8_t id[32], const char *prefix, int depth)
{
	struct dsb_tree t;
	char *path;
	size_t i;
	int r;

	if (depth > MAX_DEPTH)
		return dsb_error(DSB_ERR_LIMIT, "directories nested deeper than %d at /%.200s...",
		    MAX_DEPTH, prefix);
	dsb_tree_init(&t);
	if ((r = dsb_session_load_tree(d->s, id, &t)) != 0)
		return r == DSB_ERR_NOMEM ? r : dsb_error_wrap(r, "dump: directory %s", prefix[0] ? prefix : ".");
	for (i = 0; i < t.n && r == 0; i++) {
		path = prefix[0] != '\0' ? dsb_asprintf("%s/%s", prefix, t.nodes[i].name) :
		    dsb_strdup(t.nodes[i].name);
		if (path == NULL) {
			r = DSB_ERR_NOMEM;
			break;
		}
		if ((r = dump_node(d, &t.nodes[i], path, depth)) == 0 && dsb_interrupted)
			r = dsb_error(DSB_ERR_INTERRUPTED, "interrupted by a signal");
		free(path);
	}
	dsb_tree_release(&t);
	return r;
}

/* the entry at o->path, as "." (a directory: then its content) or under its own name */
static int dump_subtree(struct dumper *d, const struct dsb_snapshot *snap)
{
	struct dsb_node n;
	const char *base = strrchr(d->o->path, '/');
	int r;

	memset(&n, 0, sizeof(n));
	if ((r = dsb_snapshot_find_node(d->s, snap, d->o->path, &n)) == 0) {
		if (n.type == DSB_NODE_DIR && d->o->format == DSB_DUMP_ZIP)
			r = n.has_subtree ? dump_tree(d, n.subtree, "", 1) : 0;
		else
			r = dump_node(d, &n, n.type == DSB_NODE_DIR ? "." : base != NULL ? base + 1 :
			    d->o->path, 1);
	}
	dsb_node_release(&n);
	return r;
}

static int open_writer(struct dumper *d)
{
	int ar;

	if ((d->aw = archive_write_new()) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	switch (d->o->format) {
	case DSB_DUMP_TAR: ar = archive_write_set_format_gnutar(d->aw); break;
	case DSB_DUMP_ZIP: ar = archive_write_set_format_zip(d->aw); break;
	case DSB_DUMP_TAR_ZST:
		ar = archive_write_set_format_pax(d->aw);
		if (ar == ARCHIVE_OK)
			ar = archive_write_add_filter_zstd(d->aw);
		break;
	default: ar = archive_write_set_format_pax(d->aw); break;
	}
	/* xattrs in the SCHILY.xattr records GNU tar reads (not also as LIBARCHIVE.xattr) */
	if (ar == ARCHIVE_OK && d->o->format != DSB_DUMP_TAR && d->o->format != DSB_DUMP_ZIP)
		ar = archive_write_set_format_option(d->aw, "pax", "xattrheader", "SCHILY");
	/* compressed output and zip are not padded to whole blocks (zstd -d rejects the padding) */
	if (ar == ARCHIVE_OK && d->o->format != DSB_DUMP_PAX && d->o->format != DSB_DUMP_TAR)
		ar = archive_write_set_bytes_in_last_block(d->aw, 1);
	if (ar != ARCHIVE_OK || archive_write_open_fd(d->aw, d->o->fd) != ARCHIVE_OK)
		return dsb_error(DSB_ERR_IO, "dump: starting the archive: %s", archive_error_string(d->aw));
	return 0;
}

int dsb_dump(struct dsb_session *s, const struct dsb_snapshot *snap, const struct dsb_dump_opts *o,
    struct dsb_dump_stats *st)
{
	struct dumper d;
	int r;

	memset(&d, 0, sizeof(d));
	memset(st, 0, sizeof(*st));
	d.s = s;
	d.o = o;
	d.st = st;
	dsb_buf_init(&d.scratch, (size_t)DSB_BLOB_RAW_MAX + 64);
	dsb_buf_init(&d.data, (size_t)DSB_BLOB_RAW_MAX + 64);
	if ((r = open_writer(&d)) != 0 ||
	    (r = dsb_blob_opener_new(dsb_repo_keys(s->repo), &d.opener)) != 0)
		goto out;
	if (o->path == NULL || strspn(o->path, "/") == strlen(o->path))
		r = dump_tree(&d, snap->tree, "", 1);
	else
		r = dump_subtree(&d, snap);
	if (r == 0 && archive_write_close(d.aw) != ARCHIVE_OK)
		r = dsb_error(DSB_ERR_IO, "dump: finishing the archive: %s", archive_error_string(d.aw));
	if (r != 0 && r != DSB_ERR_USAGE && r != DSB_ERR_NOT_FOUND)
		dsb_error_wrap(r, "the archive is incomplete (%llu files written)",
		    (unsigned long long)st->files);
out:
	if (d.aw != NULL) {
		if (r != 0)
			archive_write_fail(d.aw);   /* no end marker: readers see the archive is cut short */
		archive_write_free(d.aw);
	}
	dsb_blob_opener_free(d.opener);
	dsb_buf_release(&d.scratch);
	dsb_buf_release(&d.data);
	dsb_links_release(&d.links);
	return r;
}
