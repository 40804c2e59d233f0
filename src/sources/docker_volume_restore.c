/*
 * docker_volume_restore.c: the Docker side of restoring a volume snapshot:
 * recreate the volume through the API with its recorded driver, options
 * and labels, or check that an existing one may be overwritten (not used,
 * empty, or --force: its containers are stopped and it is emptied), and
 * start the containers again afterwards.  The engine writes the content.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docker_internal.h"
#include "dsbackup/docker.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"

struct dsb_docker_volume_restore {
	struct dsb_docker *d;
	struct docker_quiesce q;
	int quiesced;
};

static int is_empty_dir(const char *path)
{
	struct dirent *de;
	DIR *dh = opendir(path);
	int empty = 1;

	if (dh == NULL)
		return 1;
	while ((de = readdir(dh)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	closedir(dh);
	return empty;
}

static int inspect(struct dsb_docker *d, const char *name, json_t **out)
{
	char *esc = dsb_docker_escape(name), *path;
	int r;

	if (esc == NULL)
		return DSB_ERR_NOMEM;
	path = dsb_asprintf("/volumes/%s", esc);
	free(esc);
	if (path == NULL)
		return DSB_ERR_NOMEM;
	r = dsb_docker_get(d, path, out);
	free(path);
	return r;
}

/* the running and stopped containers using ${name}, comma separated (NULL: none) */
static int users_of(struct dsb_docker *d, const char *name, char **users, int *running)
{
	json_t *list = NULL, *c;
	char *s = NULL, *t;
	size_t i;
	int r;

	*users = NULL;
	*running = 0;
	if ((r = dsb_docker_list_containers(d, "volume", name, &list)) != 0)
		return r;
	json_array_foreach(list, i, c) {
		const char *state = json_string_value(json_object_get(c, "State"));

		if (state != NULL && strcmp(state, "running") == 0)
			(*running)++;
		t = dsb_asprintf("%s%s%s (%s)", s ? s : "", s ? ", " : "", dsb_docker_container_name(c),
		    state ? state : "?");
		free(s);
		if ((s = t) == NULL) {
			r = DSB_ERR_NOMEM;
			break;
		}
	}
	json_decref(list);
	if (r == 0)
		*users = s;
	else
		free(s);
	return r;
}

int dsb_docker_volume_probe(const char *name, int *exists, char **users, int *nonempty)
{
	struct dsb_docker *d = NULL;
	json_t *v = NULL;
	int r, running;

	*exists = *nonempty = 0;
	*users = NULL;
	if ((r = dsb_docker_open(&d)) != 0)
		return r;
	if ((r = inspect(d, name, &v)) == DSB_ERR_NOT_FOUND) {
		dsb_error_clear();
		r = 0;
		goto out;
	}
	if (r != 0)
		goto out;
	*exists = 1;
	*nonempty = !is_empty_dir(json_string_value(json_object_get(v, "Mountpoint")));
	r = users_of(d, name, users, &running);
out:
	json_decref(v);
	dsb_docker_free(d);
	return r;
}

static int create_volume(struct dsb_docker *d, json_t *meta, const char *name, json_t **out)
{
	json_t *body, *opts = json_object_get(meta, "driver_opts"), *labels = json_object_get(meta, "labels");
	const char *driver = json_string_value(json_object_get(meta, "driver"));
	int r;

	body = json_pack("{s:s, s:s, s:O, s:O}", "Name", name, "Driver", driver != NULL ? driver : "local",
	    "DriverOpts", json_is_object(opts) ? opts : json_object(), "Labels",
	    json_is_object(labels) ? labels : json_object());
	if (body == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	if ((r = dsb_docker_call(d, "POST", "/volumes/create", body, out)) == 0)
		dsb_info("volume %s: created (driver %s, %zu option(s), %zu label(s))", name,
		    driver != NULL ? driver : "local", json_object_size(opts), json_object_size(labels));
	json_decref(body);
	return r;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	if (ftw->level == 0)
		return 0;
	if (remove(path) != 0) {
		dsb_error_errno(DSB_ERR_IO, errno, "removing %s", path);
		return -1;
	}
	return 0;
}

/* empty(path): remove everything below ${path}, staying on its file system */
static int empty(const char *path)
{
	if (nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0)
		return dsb_errmsg()[0] ? DSB_ERR_IO : dsb_error_errno(DSB_ERR_IO, errno, "emptying %s", path);
	return 0;
}

static void warn_differences(const char *name, json_t *v, json_t *meta)
{
	const char *have = json_string_value(json_object_get(v, "Driver"));
	const char *want = json_string_value(json_object_get(meta, "driver"));
	json_t *want_labels = json_object_get(meta, "labels");

	if (have != NULL && want != NULL && strcmp(have, want) != 0)
		dsb_warn("volume %s exists with driver %s; the snapshot's volume had driver %s", name, have, want);
	if (json_object_size(want_labels) > 0 && !json_equal(json_object_get(v, "Labels"), want_labels))
		dsb_warn("volume %s exists with other labels than the snapshot's volume; they are kept", name);
}

int dsb_docker_volume_restore_begin(const char *meta_text, const char *name, int force,
    char **mountpoint, struct dsb_docker_volume_restore **out)
{
	struct dsb_docker_volume_restore *vr = NULL;
	json_t *all = NULL, *meta, *v = NULL;
	char *users = NULL;
	const char *mp;
	int r, running = 0, nonempty;

	*out = NULL;
	*mountpoint = NULL;
	all = json_loads(meta_text != NULL ? meta_text : "", 0, NULL);
	if (!json_is_object(meta = json_object_get(all, "volume"))) {
		r = dsb_error(DSB_ERR_CORRUPT, "the snapshot does not describe a Docker volume (no "
		    "source_meta.volume)");
		goto out;
	}
	if ((vr = calloc(1, sizeof(*vr))) == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = dsb_docker_open(&vr->d)) != 0) {
		r = dsb_error_wrap(r, "restoring volume %s needs the Docker engine", name);
		goto out;
	}
	if ((r = inspect(vr->d, name, &v)) == DSB_ERR_NOT_FOUND) {
		dsb_error_clear();
		r = create_volume(vr->d, meta, name, &v);
		json_decref(v);
		v = NULL;
		if (r != 0 || (r = inspect(vr->d, name, &v)) != 0)
			goto out;
	} else if (r != 0) {
		goto out;
	} else {
		mp = json_string_value(json_object_get(v, "Mountpoint"));
		nonempty = mp != NULL && !is_empty_dir(mp);
		if ((r = users_of(vr->d, name, &users, &running)) != 0)
			goto out;
		if ((users != NULL || nonempty) && !force) {
			r = dsb_error(DSB_ERR_EXISTS, "volume %s exists and %s%s%s; use --force to overwrite "
			    "it (its containers are stopped for the restore and started after)", name,
			    users != NULL ? "is used by " : "is not empty", users != NULL ? users : "",
			    users != NULL && nonempty ? " and is not empty" : "");
			goto out;
		}
		warn_differences(name, v, meta);
		if (running > 0) {
			vr->quiesced = 1;
			if ((r = docker_quiesce_volume(vr->d, name, 1, &vr->q)) != 0)
				goto out;
		}
		if (nonempty) {
			dsb_info("volume %s: removing its current content (--force)", name);
			if ((r = empty(mp)) != 0)
				goto out;
		}
	}
	mp = json_string_value(json_object_get(v, "Mountpoint"));
	if (mp == NULL || mp[0] != '/') {
		r = dsb_error(DSB_ERR_UNSUPPORTED, "volume %s has no mount point on this host", name);
		goto out;
	}
	if ((*mountpoint = dsb_strdup(mp)) == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	*out = vr;
	vr = NULL;
out:
	if (vr != NULL) {
		char *msg = r != 0 ? dsb_strdup(dsb_errmsg()) : NULL;

		dsb_docker_volume_restore_end(vr);
		if (msg != NULL)
			dsb_error(r, "%s", msg);
		free(msg);
	}
	free(users);
	json_decref(v);
	json_decref(all);
	return r;
}

int dsb_docker_volume_restore_end(struct dsb_docker_volume_restore *vr)
{
	int r = 0;

	if (vr == NULL)
		return 0;
	if (vr->quiesced)
		r = docker_resume(&vr->q);
	dsb_docker_free(vr->d);
	free(vr);
	return r;
}
