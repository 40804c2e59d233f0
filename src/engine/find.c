/*
 * find.c: files across all snapshots, from the catalog alone.  So that
 * "find" works while the backend is unreachable, dsb_session_open records
 * which catalog serves a repository URL: a file
 * <state>/catalog-urls/<hex sha256(url)> holding the catalog's path.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dsbackup/crypto.h"
#include "dsbackup/error.h"
#include "dsbackup/inspect.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "engine_internal.h"

/* url_record_path(url): "<state>/catalog-urls/<hex sha256(url)>", malloc'd; NULL when out of memory. */
static char *url_record_path(const char *url)
{
	uint8_t digest[32];
	char hex[65], *state, *p;

	dsb_sha256(url, strlen(url), digest);
	dsb_hex_encode(digest, 32, hex);
	if ((state = dsb_state_dir()) == NULL)
		return NULL;
	p = dsb_asprintf("%s/catalog-urls/%s", state, hex);
	free(state);
	return p;
}

/* read_small(path, out, len): the first line of a small text file; 0 or DSB_ERR_NOT_FOUND/IO. */
static int read_small(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (f == NULL)
		return errno == ENOENT ? DSB_ERR_NOT_FOUND :
		    dsb_error_errno(DSB_ERR_IO, errno, "reading %s", path);
	n = fread(out, 1, len - 1, f);
	fclose(f);
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

void dsb_session_remember_catalog(const char *url, const char *catalog_path)
{
	char *rec = NULL, *dir = NULL, *tmp = NULL, old[4096];
	FILE *f = NULL;

	if ((rec = url_record_path(url)) == NULL)
		goto out;
	if (read_small(rec, old, sizeof(old)) == 0 && strcmp(old, catalog_path) == 0)
		goto out;
	dsb_error_clear();
	if ((dir = dsb_strdup(rec)) == NULL || (tmp = dsb_asprintf("%s.%ld.tmp", rec,
	    (long)getpid())) == NULL)
		goto out;
	*strrchr(dir, '/') = '\0';
	if (dsb_mkdir_p(dir, 0700) != 0 || (f = fopen(tmp, "we")) == NULL)
		goto fail;
	if (fprintf(f, "%s\n", catalog_path) < 0 || fclose(f) != 0) {
		f = NULL;
		goto fail;
	}
	f = NULL;
	if (rename(tmp, rec) == 0)
		goto out;
fail:
	/* "find" without the backend then needs --catalog: not worth failing the command */
	dsb_debug("cannot record the catalog of %s in %s: %s", url, rec,
	    dsb_errmsg()[0] != '\0' ? dsb_errmsg() : strerror(errno));
	if (f != NULL)
		fclose(f);
	if (tmp != NULL)
		unlink(tmp);
	dsb_error_clear();
out:
	free(rec);
	free(dir);
	free(tmp);
}

int dsb_session_open_catalog(const char *url, const char *catalog_path, struct dsb_session **out)
{
	struct dsb_session *s = NULL;
	char *rec = NULL, known[4096];
	struct stat st;
	int r = DSB_ERR_INTERNAL;

	if (catalog_path == NULL) {
		if ((rec = url_record_path(url)) == NULL)
			return dsb_error(DSB_ERR_NOMEM, "out of memory");
		if ((r = read_small(rec, known, sizeof(known))) != 0) {
			if (r == DSB_ERR_NOT_FOUND)
				r = dsb_error(r, "no catalog of repository %s is known on this host "
				    "(looked for %s): run a command that opens the repository once "
				    "(e.g. \"dsbackup snapshots\"), or give --catalog PATH", url, rec);
			goto out;
		}
		catalog_path = known;
	}
	if (stat(catalog_path, &st) != 0) {
		r = dsb_error_errno(errno == ENOENT ? DSB_ERR_NOT_FOUND : DSB_ERR_IO, errno,
		    "catalog %s of repository %s", catalog_path, url != NULL ? url : "?");
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->catalog_path = dsb_strdup(catalog_path)) == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = dsb_catalog_open(catalog_path, NULL, &s->cat)) != 0)
		goto out;
	*out = s;
	s = NULL;
	r = 0;
out:
	dsb_session_close(s);
	free(rec);
	return r;
}

/* ---- find ---- */

struct find_ctx {
	const struct dsb_find_opts *o;
	int by_path;
	struct dsb_session *s;
	const struct dsb_snapshot *snap;
	int (*cb)(void *arg, const struct dsb_find_match *m);
	void *arg;
	uint64_t unlisted;
};

static int match_file(void *arg, const struct dsb_catalog_file *f)
{
	struct find_ctx *c = arg;
	struct dsb_find_match m;
	const char *base = strrchr(f->path, '/');

	base = base != NULL ? base + 1 : f->path;
	if (fnmatch(c->o->pattern, c->by_path ? f->path : base, c->by_path ? FNM_PATHNAME : 0) != 0)
		return 0;
	m.snap = c->snap;
	m.file = f;
	return c->cb(c->arg, &m);
}

static int find_in_snapshot(void *arg, const struct dsb_catalog_snapshot *cs)
{
	struct find_ctx *c = arg;
	struct dsb_snapshot snap;
	int r;

	if (c->o->host != NULL && strcmp(cs->host, c->o->host) != 0)
		return 0;
	if ((r = dsb_snapshot_parse(cs->id, cs->json, &snap)) != 0)
		return dsb_error_wrap(r, "snapshot %.16s in the catalog", cs->id);
	if (c->o->source != NULL && (snap.source == NULL || strcmp(snap.source, c->o->source) != 0)) {
		r = 0;
		goto out;
	}
	if ((r = dsb_catalog_is_listed(c->s->cat, cs->id)) <= 0) {
		c->unlisted += r == 0;
		goto out;
	}
	c->snap = &snap;
	r = dsb_catalog_foreach_file(c->s->cat, cs->id, NULL, match_file, c);
out:
	dsb_snapshot_release(&snap);
	return r;
}

int dsb_find(struct dsb_session *s, const struct dsb_find_opts *o,
    int (*cb)(void *arg, const struct dsb_find_match *m), void *arg, uint64_t *unlisted)
{
	struct find_ctx c;
	int r;

	memset(&c, 0, sizeof(c));
	c.o = o;
	c.by_path = strchr(o->pattern, '/') != NULL;
	c.s = s;
	c.cb = cb;
	c.arg = arg;
	r = dsb_catalog_foreach_snapshot(s->cat, find_in_snapshot, &c);
	*unlisted = c.unlisted;
	return r;
}
