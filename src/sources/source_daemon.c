/*
 * source_daemon.c: "daemon", the Docker daemon's configuration: the config
 * directory (/etc/docker: daemon.json, certs.d/, key.json), every file
 * daemon.json points to outside it (tlscacert, tlscert, tlskey,
 * seccomp-profile, any other absolute path of a regular file), and the
 * systemd drop-ins and overrides of docker.service and docker.socket.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "docker_internal.h"
#include "dsbackup/docker.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/source.h"
#include "dsbackup/util.h"

static const char *const systemd_names[] = {
	"docker.service.d", "docker.socket.d", "docker.service", "docker.socket",
};

static int exists(const char *path, int want_file)
{
	struct stat sb;

	return stat(path, &sb) == 0 && (want_file ? S_ISREG(sb.st_mode) : 1);
}

static int inside(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* the files daemon.json names: any top-level absolute path of a regular file outside ${dir} */
static int add_referenced(struct dsb_source *src, const char *dir, json_t *files)
{
	char *path = dsb_asprintf("%s/daemon.json", dir);
	json_error_t je;
	json_t *j, *v;
	const char *key, *p;
	int r = 0;

	if (path == NULL)
		return DSB_ERR_NOMEM;
	if (!exists(path, 1))
		goto out;
	if ((j = json_load_file(path, 0, &je)) == NULL) {
		dsb_warn("%s does not parse (line %d: %s); it is backed up as it is, but the files it "
		    "points to are not", path, je.line, je.text);
		goto out;
	}
	json_object_foreach(j, key, v) {
		p = json_string_value(v);
		if (p == NULL || p[0] != '/' || inside(p, dir) || !exists(p, 1))
			continue;
		dsb_debug("daemon.json \"%s\" names %s", key, p);
		if ((r = dsb_source_add_path(src, p)) != 0 ||
		    (r = json_array_append_new(files, json_string(p))) != 0)
			break;
	}
	json_decref(j);
out:
	free(path);
	return r;
}

static int daemon_open(struct dsb_source *src, const char *arg)
{
	const char *dir = docker_config_dir(), *sd = docker_systemd_dir();
	json_t *files = json_array();
	char *p;
	size_t i;
	int r = 0;

	if (arg[0] != '\0')
		return dsb_error(DSB_ERR_USAGE, "source \"daemon\" takes no argument");
	if (files == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	if (exists(dir, 0) && ((r = dsb_source_add_path(src, dir)) != 0 ||
	    (r = add_referenced(src, dir, files)) != 0))
		goto out;
	for (i = 0; i < sizeof(systemd_names) / sizeof(systemd_names[0]) && r == 0; i++) {
		if ((p = dsb_asprintf("%s/%s", sd, systemd_names[i])) == NULL) {
			r = DSB_ERR_NOMEM;
			break;
		}
		if (exists(p, 0))
			r = dsb_source_add_path(src, p);
		free(p);
	}
	if (r != 0)
		goto out;
	if (src->npaths == 0) {
		r = dsb_error(DSB_ERR_NOT_FOUND, "no Docker daemon configuration here (%s, %s/docker.service.d)",
		    dir, sd);
		goto out;
	}
	r = docker_meta_set(src, json_pack("{s:{s:s, s:s, s:O}}", "daemon", "config_dir", dir,
	    "systemd_dir", sd, "referenced_files", files));
out:
	json_decref(files);
	return r;
}

int docker_daemon_present(void)
{
	struct dsb_source src;
	size_t i;
	int r;

	memset(&src, 0, sizeof(src));
	r = daemon_open(&src, "");
	dsb_error_clear();
	for (i = 0; i < src.npaths; i++)
		free(src.paths[i]);
	free(src.paths);
	free(src.meta);
	return r == 0;
}

const struct dsb_source_ops dsb_source_daemon = {
	.kind = "daemon",
	.prefix = "daemon",
	.open = daemon_open,
};
