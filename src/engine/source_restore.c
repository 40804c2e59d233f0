/*
 * source_restore.c: restoring the snapshots of sources.  A volume is
 * recreated through the Docker API with its driver, options and labels and
 * filled with the snapshot's copy of its Mountpoint; compose files go back
 * to the project's working directory, daemon config to where it was (after
 * checking that daemon.json parses), trust keys to their owners' homes,
 * never with looser permissions.  "restore latest --docker" does all of
 * this for the latest run of a host.
 */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "dsbackup/docker.h"
#include "dsbackup/engine.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"

/* ---- helpers ---- */

static const char *kind_of(const char *source)
{
	static const char *const kinds[] = { "volume:", "compose:", "path:", "daemon", "trust" };
	size_t i, n;

	for (i = 0; source != NULL && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		n = strlen(kinds[i]);
		if (strncmp(source, kinds[i], n) == 0 && (kinds[i][n - 1] == ':' || source[n] == '\0'))
			return kinds[i];
	}
	return NULL;
}

static int is_docker_kind(const char *source)
{
	const char *k = kind_of(source);

	return k != NULL && strcmp(k, "path:") != 0;
}

/* the snapshot's source_meta.<key> (new reference; NULL when absent) */
static json_t *meta_of(const struct dsb_snapshot *snap, const char *key)
{
	json_t *j = json_loads(snap->json, 0, NULL), *m;

	m = json_incref(json_object_get(json_object_get(j, "source_meta"), key));
	json_decref(j);
	return m;
}

static void add_stats(struct dsb_restore_stats *to, const struct dsb_restore_stats *st)
{
	to->files += st->files;
	to->dirs += st->dirs;
	to->other += st->other;
	to->bytes += st->bytes;
	to->errors += st->errors;
}

static void say(const struct dsb_source_restore_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(const struct dsb_source_restore_opts *o, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (o->plan != NULL)
		o->plan(o->arg, line);
	else
		dsb_info("%s", line);
}

/* restore_path(s, snap, o, path, dest, st): the entry ${path} of the snapshot as ${dest} */
static int restore_path(struct dsb_session *s, const struct dsb_snapshot *snap,
    const struct dsb_source_restore_opts *o, const char *path, const char *dest,
    struct dsb_restore_stats *total)
{
	struct dsb_restore_opts ro;
	struct dsb_restore_stats st;
	int r;

	memset(&ro, 0, sizeof(ro));
	ro.target = dest;
	ro.subtree = path;
	ro.no_owner = o->no_owner;
	if (o->dry_run) {
		say(o, "  %s -> %s", path, dest);
		return 0;
	}
	r = dsb_restore(s, snap, &ro, &st);
	add_stats(total, &st);
	if (r != 0 && r != DSB_ERR_PARTIAL)
		return dsb_error_wrap(r, "restoring %s to %s", path, dest);
	dsb_info("restored %s to %s", path, dest);
	return r;
}

/* dest_of(o, path, base): where ${path} goes: itself, or below o->target (relative to ${base} when inside it) */
static char *dest_of(const struct dsb_source_restore_opts *o, const char *path, const char *base)
{
	size_t n = base != NULL ? strlen(base) : 0;

	if (o->target == NULL)
		return dsb_strdup(path);
	if (n > 0 && strncmp(path, base, n) == 0 && (path[n] == '/' || path[n] == '\0'))
		return dsb_asprintf("%s%s", o->target, path + n);
	return dsb_asprintf("%s%s", o->target, path);
}

/* restore_files(s, snap, o, base, st): every path of the snapshot to its place */
static int restore_files(struct dsb_session *s, const struct dsb_snapshot *snap,
    const struct dsb_source_restore_opts *o, const char *base, struct dsb_restore_stats *st)
{
	char *dest;
	size_t i;
	int r = 0, rr;

	for (i = 0; i < snap->npaths && (r == 0 || r == DSB_ERR_PARTIAL); i++) {
		if ((dest = dest_of(o, snap->paths[i], base)) == NULL)
			return DSB_ERR_NOMEM;
		rr = restore_path(s, snap, o, snap->paths[i], dest, st);
		free(dest);
		if (rr != 0)
			r = rr;
	}
	return r;
}

/* ---- volumes ---- */

static int plan_volume(const struct dsb_snapshot *snap, const struct dsb_source_restore_opts *o,
    const char *name, json_t *meta)
{
	char *users = NULL;
	int exists = 0, nonempty = 0, r;

	r = dsb_docker_volume_probe(name, &exists, &users, &nonempty);
	if (r != 0) {
		say(o, "volume %s: from snapshot %.8s; the Docker engine is not reachable (%s): the "
		    "restore would fail", name, snap->id, dsb_errmsg());
		dsb_error_clear();
		return 0;
	}
	if (!exists)
		say(o, "volume %s: create it (driver %s, %zu option(s), %zu label(s)) and fill it from "
		    "snapshot %.8s (%s)", name, json_string_value(json_object_get(meta, "driver")),
		    json_object_size(json_object_get(meta, "driver_opts")),
		    json_object_size(json_object_get(meta, "labels")), snap->id, snap->paths[0]);
	else if (users == NULL && !nonempty)
		say(o, "volume %s: exists and is empty; fill it from snapshot %.8s", name, snap->id);
	else
		say(o, "volume %s: exists%s%s%s; %s", name, users ? ", used by " : "", users ? users : "",
		    nonempty ? ", not empty" : "", o->force ? "--force: stop its running containers, "
		    "empty it, fill it, start them again" : "refused without --force");
	free(users);
	return 0;
}

static int restore_volume(struct dsb_session *s, const struct dsb_snapshot *snap,
    const struct dsb_source_restore_opts *o, struct dsb_restore_stats *st)
{
	struct dsb_docker_volume_restore *vr = NULL;
	json_t *all = json_loads(snap->json, 0, NULL), *meta;
	char *meta_text = NULL, *mp = NULL, *msg = NULL;
	const char *name;
	int r, re;

	meta = json_object_get(json_object_get(all, "source_meta"), "volume");
	name = o->to_volume != NULL ? o->to_volume : json_string_value(json_object_get(meta, "name"));
	if (name == NULL || snap->npaths != 1) {
		r = dsb_error(DSB_ERR_CORRUPT, "snapshot %.8s does not describe one Docker volume", snap->id);
		goto out;
	}
	if (o->dry_run) {
		r = plan_volume(snap, o, name, meta);
		goto out;
	}
	if ((meta_text = json_dumps(json_object_get(all, "source_meta"), JSON_COMPACT)) == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = dsb_docker_volume_restore_begin(meta_text, name, o->force, &mp, &vr)) != 0)
		goto out;
	r = restore_path(s, snap, o, snap->paths[0], mp, st);
	if (r != 0)
		msg = dsb_strdup(dsb_errmsg());
	re = dsb_docker_volume_restore_end(vr);
	if (r == 0 && re != 0)
		r = re;
	else if (msg != NULL)
		dsb_error(r, "%s", msg);
	if (r == 0)
		dsb_info("volume %s restored from snapshot %.8s", name, snap->id);
out:
	free(msg);
	free(mp);
	free(meta_text);
	json_decref(all);
	return r;
}

/* ---- daemon configuration ---- */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

/* check_daemon_json(s, snap, o, config_dir): daemon.json of the snapshot parses (restored to a scratch dir first) */
static int check_daemon_json(struct dsb_session *s, const struct dsb_snapshot *snap,
    const struct dsb_source_restore_opts *o, const char *config_dir)
{
	struct dsb_restore_opts ro;
	struct dsb_restore_stats st;
	const char *tmp = getenv("TMPDIR");
	char *scratch, *path = NULL, *subtree = NULL;
	json_error_t je;
	json_t *j;
	int r;

	(void)o;
	if ((scratch = dsb_asprintf("%s/dsbackup-daemon-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp")) == NULL)
		return DSB_ERR_NOMEM;
	if (mkdtemp(scratch) == NULL) {
		r = dsb_error_errno(DSB_ERR_IO, errno, "creating %s", scratch);
		free(scratch);
		return r;
	}
	memset(&ro, 0, sizeof(ro));
	ro.no_owner = 1;
	if ((path = dsb_asprintf("%s/daemon.json", scratch)) == NULL ||
	    (subtree = dsb_asprintf("%s/daemon.json", config_dir)) == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	ro.target = path;
	ro.subtree = subtree;
	if ((r = dsb_restore(s, snap, &ro, &st)) == DSB_ERR_NOT_FOUND) {
		dsb_error_clear();
		r = 0;   /* no daemon.json in the snapshot: nothing to check */
		goto out;
	}
	if (r != 0)
		goto out;
	if ((j = json_load_file(path, 0, &je)) == NULL)
		r = dsb_error(DSB_ERR_CORRUPT, "%s in snapshot %.8s does not parse (line %d: %s): the "
		    "daemon configuration is not restored", subtree, snap->id, je.line, je.text);
	else if (!json_is_object(j))
		r = dsb_error(DSB_ERR_CORRUPT, "%s in snapshot %.8s is not a JSON object: the daemon "
		    "configuration is not restored", subtree, snap->id);
	json_decref(j);
out:
	nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(scratch);
	free(path);
	free(subtree);
	return r;
}

static int restore_daemon(struct dsb_session *s, const struct dsb_snapshot *snap,
    const struct dsb_source_restore_opts *o, struct dsb_restore_stats *st)
{
	json_t *meta = meta_of(snap, "daemon");
	const char *dir = json_string_value(json_object_get(meta, "config_dir"));
	int r;

	if (dir == NULL)
		dir = "/etc/docker";
	if (o->dry_run)
		say(o, "daemon: from snapshot %.8s, after checking that daemon.json parses:", snap->id);
	if (!o->dry_run && (r = check_daemon_json(s, snap, o, dir)) != 0)
		goto out;
	if ((r = restore_files(s, snap, o, dir, st)) == 0 && !o->dry_run)
		dsb_info("the Docker daemon configuration is restored; restart dockerd for it to take effect");
out:
	json_decref(meta);
	return r;
}

/* ---- trust keys ---- */

static int restore_trust(struct dsb_session *s, const struct dsb_snapshot *snap,
    const struct dsb_source_restore_opts *o, struct dsb_restore_stats *st)
{
	struct stat sb;
	mode_t old = umask(077);   /* nothing is ever created readable by others, even for a moment */
	char *dest = NULL, *parent = NULL, *slash;
	size_t i;
	int r = 0, rr, had_parent;

	if (o->dry_run)
		say(o, "trust: Content Trust keys from snapshot %.8s, with their owners and permissions:",
		    snap->id);
	for (i = 0; i < snap->npaths && (r == 0 || r == DSB_ERR_PARTIAL); i++) {
		free(dest);
		free(parent);
		parent = NULL;
		if ((dest = dest_of(o, snap->paths[i], NULL)) == NULL || (parent = dsb_strdup(dest)) == NULL) {
			r = DSB_ERR_NOMEM;
			break;
		}
		if ((slash = strrchr(parent, '/')) != NULL && slash != parent)
			*slash = '\0';
		had_parent = stat(parent, &sb) == 0;
		if ((rr = restore_path(s, snap, o, snap->paths[i], dest, st)) != 0)
			r = rr;
		/* ~/.docker made for it belongs to the keys' owner, like the keys */
		if (!o->dry_run && !had_parent && !o->no_owner && stat(dest, &sb) == 0 &&
		    chown(parent, sb.st_uid, sb.st_gid) != 0)
			dsb_warn("cannot give %s to uid %u: %s", parent, (unsigned)sb.st_uid, strerror(errno));
	}
	umask(old);
	free(dest);
	free(parent);
	return r;
}

/* ---- entry points ---- */

int dsb_source_restore(struct dsb_session *s, const struct dsb_snapshot *snap,
    const struct dsb_source_restore_opts *o, struct dsb_restore_stats *st)
{
	const char *kind = kind_of(snap->source);
	json_t *meta;
	int r;

	memset(st, 0, sizeof(*st));
	if ((r = dsb_sources_setup()) != 0)
		return r;
	if (kind == NULL)
		return dsb_error(DSB_ERR_USAGE, "snapshot %.8s was not made from a source%s%s; restore it "
		    "with --target DIR", snap->id, snap->source ? " dsbackup knows: " : "",
		    snap->source ? snap->source : "");
	if (strcmp(kind, "volume:") != 0 && o->to_volume != NULL)
		return dsb_error(DSB_ERR_USAGE, "--to-volume applies to volume snapshots only");
	if (strcmp(kind, "volume:") == 0)
		return restore_volume(s, snap, o, st);
	if (strcmp(kind, "daemon") == 0)
		return restore_daemon(s, snap, o, st);
	if (strcmp(kind, "trust") == 0)
		return restore_trust(s, snap, o, st);
	if (o->dry_run)
		say(o, "%s: from snapshot %.8s:", snap->source, snap->id);
	if (strcmp(kind, "compose:") != 0)
		return restore_files(s, snap, o, NULL, st);
	meta = meta_of(snap, "compose");
	r = restore_files(s, snap, o, json_string_value(json_object_get(meta, "working_dir")), st);
	json_decref(meta);
	return r;
}

struct latest_find {
	const char *source, *host, *run_id;
	int docker_only;
	struct dsb_snapshot best;
	int found;
	struct dsb_snapshot *all;   /* run_id given: every snapshot of that run */
	size_t nall;
};

static int consider(void *arg, const struct dsb_catalog_snapshot *cs)
{
	struct latest_find *f = arg;
	struct dsb_snapshot sn, *p;

	if (f->host != NULL && strcmp(cs->host, f->host) != 0)
		return 0;
	if (dsb_snapshot_parse(cs->id, cs->json, &sn) != 0) {
		dsb_error_clear();
		return 0;
	}
	if ((f->source != NULL && (sn.source == NULL || strcmp(sn.source, f->source) != 0)) ||
	    (f->docker_only && (sn.run_id == NULL || !is_docker_kind(sn.source))) ||
	    (f->run_id != NULL && (sn.run_id == NULL || strcmp(sn.run_id, f->run_id) != 0))) {
		dsb_snapshot_release(&sn);
		return 0;
	}
	if (f->run_id != NULL) {
		if ((p = realloc(f->all, (f->nall + 1) * sizeof(*p))) == NULL) {
			dsb_snapshot_release(&sn);
			return dsb_error(DSB_ERR_NOMEM, "out of memory");
		}
		f->all = p;
		f->all[f->nall++] = sn;
		return 0;
	}
	if (f->found)   /* in time order: the last match is the latest */
		dsb_snapshot_release(&f->best);
	f->best = sn;
	f->found = 1;
	return 0;
}

int dsb_source_latest(struct dsb_session *s, const char *source, const char *host,
    struct dsb_snapshot *out)
{
	struct latest_find f;
	int r;

	memset(&f, 0, sizeof(f));
	f.source = source;
	f.host = host;
	if ((r = dsb_catalog_foreach_snapshot(s->cat, consider, &f)) != 0) {
		if (f.found)
			dsb_snapshot_release(&f.best);
		return r;
	}
	if (!f.found)
		return dsb_error(DSB_ERR_NOT_FOUND, "no snapshot of source %s%s%s", source,
		    host ? " of host " : "", host ? host : "");
	*out = f.best;
	return 0;
}

static int order_of(const struct dsb_snapshot *sn)
{
	const char *k = kind_of(sn->source);

	return strcmp(k, "daemon") == 0 ? 0 : strcmp(k, "trust") == 0 ? 1 :
	    strcmp(k, "volume:") == 0 ? 2 : 3;
}

static int cmp_order(const void *a, const void *b)
{
	const struct dsb_snapshot *x = a, *y = b;

	return order_of(x) - order_of(y);
}

int dsb_docker_restore_latest(struct dsb_session *s, const struct dsb_source_restore_opts *o,
    struct dsb_restore_stats *total)
{
	struct dsb_restore_stats st;
	struct latest_find f;
	struct dsb_source_restore_opts so = *o;
	char host[256];
	size_t i, failed = 0;
	int r, worst = 0;

	memset(total, 0, sizeof(*total));
	memset(&f, 0, sizeof(f));
	if ((r = dsb_sources_setup()) != 0)
		return r;
	if (!o->dry_run && dsb_docker_recover() != 0)
		dsb_log(DSB_LOG_ERROR, "%s", dsb_errmsg());
	if (o->host != NULL)
		snprintf(host, sizeof(host), "%s", o->host);
	else if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	f.host = host;
	f.docker_only = 1;
	if ((r = dsb_catalog_foreach_snapshot(s->cat, consider, &f)) != 0)
		goto out;
	if (!f.found) {
		r = dsb_error(DSB_ERR_NOT_FOUND, "no snapshot of Docker sources of host %s", host);
		goto out;
	}
	f.run_id = f.best.run_id;
	f.docker_only = 1;
	if ((r = dsb_catalog_foreach_snapshot(s->cat, consider, &f)) != 0)
		goto out;
	qsort(f.all, f.nall, sizeof(*f.all), cmp_order);
	say(o, "restoring run %.16s of host %s: %zu snapshot(s)", f.run_id, host, f.nall);
	so.to_volume = NULL;
	for (i = 0; i < f.nall; i++) {
		r = dsb_source_restore(s, &f.all[i], &so, &st);
		add_stats(total, &st);
		if (r != 0 && r != DSB_ERR_PARTIAL) {
			failed++;
			dsb_log(DSB_LOG_ERROR, "restoring %s failed: %s", f.all[i].source, dsb_errmsg());
		}
		if ((r == DSB_ERR_PARTIAL && worst == 0) || (r != 0 && r != DSB_ERR_PARTIAL && (worst == 0 ||
		    worst == DSB_ERR_PARTIAL)))
			worst = r;
	}
	r = worst;
	if (failed > 0)
		dsb_error(r, "%zu of %zu source(s) could not be restored (named above)", failed, f.nall);
	else if (r == DSB_ERR_PARTIAL)
		dsb_error(r, "some entries could not be restored (named above)");
out:
	for (i = 0; i < f.nall; i++)
		dsb_snapshot_release(&f.all[i]);
	free(f.all);
	if (f.found)
		dsb_snapshot_release(&f.best);
	return r;
}
