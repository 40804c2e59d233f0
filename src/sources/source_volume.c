/*
 * source_volume.c: "volume:NAME" and "volume:*", a Docker volume's data
 * (its Mountpoint) with its name, driver, driver options and labels as
 * source_meta, so that a restore can recreate it.  Containers using it are
 * quiesced around the snapshot (docker_quiesce.c).  With no engine, the
 * volume is read from the data root, and the run says it could not be made
 * consistent.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "docker_internal.h"
#include "dsbackup/docker.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/source.h"
#include "dsbackup/util.h"

struct volume_state {
	struct dsb_docker *d;   /* NULL: no engine, read from the data root */
	char *name;
	struct docker_quiesce q;
	int began;
};

static json_t *object_or_empty(json_t *v)
{
	return json_is_object(v) ? json_incref(v) : json_object();
}

static int set_meta(struct dsb_source *src, const char *name, const char *driver, json_t *opts,
    json_t *labels, const char *mountpoint, const char *scope, int engine)
{
	return docker_meta_set(src, json_pack("{s:{s:s, s:s, s:o, s:o, s:s, s:s}, s:b}", "volume",
	    "name", name, "driver", driver != NULL ? driver : "local",
	    "driver_opts", object_or_empty(opts), "labels", object_or_empty(labels),
	    "mountpoint", mountpoint, "scope", scope != NULL ? scope : "local", "engine", engine));
}

/* the local driver keeps a volume's options in DATA_ROOT/volumes/NAME/opts.json */
static json_t *offline_opts(const char *root, const char *name)
{
	char *path = dsb_asprintf("%s/volumes/%s/opts.json", root, name);
	json_t *j = path != NULL ? json_load_file(path, 0, NULL) : NULL, *o = json_object();
	static const char *const map[][2] = {
		{ "MountType", "type" }, { "MountOpts", "o" }, { "MountDevice", "device" }
	};
	size_t i;

	for (i = 0; o != NULL && i < sizeof(map) / sizeof(map[0]); i++) {
		const char *v = json_string_value(json_object_get(j, map[i][0]));

		if (v != NULL && *v != '\0')
			json_object_set_new(o, map[i][1], json_string(v));
	}
	json_decref(j);
	free(path);
	return o;
}

static int open_offline(struct dsb_source *src, struct volume_state *st, const char *why)
{
	char *root = docker_data_root(), *data = NULL;
	struct stat sb;
	json_t *opts = NULL;
	int r;

	if (root == NULL || (data = dsb_asprintf("%s/volumes/%s/_data", root, st->name)) == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	if (stat(data, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		r = dsb_error(DSB_ERR_NOT_FOUND, "volume %s: the Docker engine is not reachable (%s), and "
		    "%s does not exist", st->name, why, data);
		goto out;
	}
	dsb_warn("the Docker engine is not reachable (%s): volume %s is read from %s without stopping "
	    "or pausing its containers or running hooks; the snapshot could not be made consistent",
	    why, st->name, data);
	opts = offline_opts(root, st->name);
	if ((r = dsb_source_add_path(src, data)) == 0)
		r = set_meta(src, st->name, "local", opts, NULL, data, "local", 0);
out:
	json_decref(opts);
	free(root);
	free(data);
	return r;
}

static int volume_open(struct dsb_source *src, const char *arg)
{
	struct volume_state *st;
	json_t *v = NULL;
	char *esc = NULL, *path = NULL, *why = NULL;
	const char *mp;
	int r;

	if (arg[0] == '\0' || strchr(arg, '/') != NULL || strcmp(arg, "*") == 0)
		return dsb_error(DSB_ERR_USAGE, "source \"%s\": expected volume:NAME or volume:*", src->spec);
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	src->state = st;
	if ((st->name = dsb_strdup(arg)) == NULL)
		return DSB_ERR_NOMEM;
	if (dsb_docker_open(&st->d) != 0) {
		why = dsb_strdup(dsb_errmsg());
		dsb_error_clear();
		r = open_offline(src, st, why != NULL ? why : "?");
		free(why);
		return r;
	}
	if ((esc = dsb_docker_escape(arg)) == NULL || (path = dsb_asprintf("/volumes/%s", esc)) == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	if ((r = dsb_docker_get(st->d, path, &v)) != 0)
		goto out;
	mp = json_string_value(json_object_get(v, "Mountpoint"));
	if (mp == NULL || mp[0] != '/') {
		r = dsb_error(DSB_ERR_UNSUPPORTED, "volume %s (driver %s) has no mount point on this host",
		    arg, json_string_value(json_object_get(v, "Driver")));
		goto out;
	}
	if ((r = dsb_source_add_path(src, mp)) != 0)
		goto out;
	r = set_meta(src, arg, json_string_value(json_object_get(v, "Driver")),
	    json_object_get(v, "Options"), json_object_get(v, "Labels"), mp,
	    json_string_value(json_object_get(v, "Scope")), 1);
out:
	json_decref(v);
	free(esc);
	free(path);
	return r;
}

static int volume_before(struct dsb_source *src)
{
	struct volume_state *st = src->state;

	if (st->d == NULL)
		return 0;   /* warned when opened */
	st->began = 1;
	return docker_quiesce_volume(st->d, st->name, 0, &st->q);
}

static int volume_after(struct dsb_source *src)
{
	struct volume_state *st = src->state;

	if (!st->began)
		return 0;
	st->began = 0;
	return docker_resume(&st->q);
}

static void volume_close(struct dsb_source *src)
{
	struct volume_state *st = src->state;

	if (st == NULL)
		return;
	if (st->began)
		docker_resume(&st->q);
	dsb_docker_free(st->d);
	free(st->name);
	free(st);
	src->state = NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int names_offline(char ***v, size_t *n)
{
	char *root = docker_data_root(), *dir = NULL, *data;
	struct dirent *de;
	struct stat sb;
	DIR *dh = NULL;
	int r = 0;

	if (root == NULL || (dir = dsb_asprintf("%s/volumes", root)) == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	if ((dh = opendir(dir)) == NULL) {
		dsb_warn("no Docker volumes found: %s cannot be read", dir);
		goto out;
	}
	while (r == 0 && (de = readdir(dh)) != NULL) {
		if (de->d_name[0] == '.' || (data = dsb_asprintf("%s/%s/_data", dir, de->d_name)) == NULL)
			continue;
		if (stat(data, &sb) == 0 && S_ISDIR(sb.st_mode))
			r = docker_strv_add(v, n, de->d_name);
		free(data);
	}
out:
	if (dh != NULL)
		closedir(dh);
	free(root);
	free(dir);
	return r;
}

int docker_volume_names(char ***v, size_t *n)
{
	struct dsb_docker *d = NULL;
	json_t *res = NULL, *vol;
	size_t i;
	int r;

	*v = NULL;
	*n = 0;
	if (dsb_docker_open(&d) != 0) {
		dsb_warn("the Docker engine is not reachable (%s): looking for volumes under the data root",
		    dsb_errmsg());
		dsb_error_clear();
		r = names_offline(v, n);
	} else if ((r = dsb_docker_get(d, "/volumes", &res)) == 0) {
		json_array_foreach(json_object_get(res, "Volumes"), i, vol) {
			const char *name = json_string_value(json_object_get(vol, "Name"));

			if (name != NULL && (r = docker_strv_add(v, n, name)) != 0)
				break;
		}
	}
	if (r == 0 && *n > 1)
		qsort(*v, *n, sizeof(**v), cmp_str);
	json_decref(res);
	dsb_docker_free(d);
	return r;
}

static int volume_expand(const char *arg, char ***specs, size_t *n)
{
	char **names = NULL;
	size_t count = 0, i;
	int r;

	(void)arg;
	*specs = NULL;
	*n = 0;
	if ((r = docker_volume_names(&names, &count)) != 0)
		goto out;
	for (i = 0; i < count && r == 0; i++) {
		char *spec = dsb_asprintf("volume:%s", names[i]);

		r = spec != NULL ? docker_strv_add(specs, n, spec) : DSB_ERR_NOMEM;
		free(spec);
	}
out:
	docker_strv_free(names, count);
	return r;
}

const struct dsb_source_ops dsb_source_volume = {
	.kind = "volume",
	.prefix = "volume:",
	.open = volume_open,
	.before = volume_before,
	.after = volume_after,
	.close = volume_close,
	.expand = volume_expand,
};
