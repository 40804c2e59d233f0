/*
 * source_compose.c: "compose:PROJECT" and "compose:*", the files that
 * define a Compose project: its compose files and override files, .env and
 * the env files in its working directory or named by env_file.  Projects
 * are found from the labels docker-compose puts on containers
 * (com.docker.compose.project, .project.working_dir, .project.config_files);
 * source_meta records the project's containers and volumes.
 */
#include <ctype.h>
#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "docker_internal.h"
#include "dsbackup/docker.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/source.h"
#include "dsbackup/util.h"

#define LABEL_PROJECT "com.docker.compose.project"
#define LABEL_WORKDIR "com.docker.compose.project.working_dir"
#define LABEL_FILES "com.docker.compose.project.config_files"
#define LABEL_ENVFILE "com.docker.compose.project.environment_file"
#define LABEL_SERVICE "com.docker.compose.service"
#define COMPOSE_FILE_MAX (4u << 20)

struct files {
	char **v;
	size_t n;
};

static int is_file(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* add(f, dir, name): ${name} (relative to ${dir}) when it is a file not listed yet */
static int add(struct files *f, const char *dir, const char *name)
{
	char *path, norm[4096];
	size_t i;
	int r = 0;

	if (name == NULL || *name == '\0')
		return 0;
	path = name[0] == '/' ? dsb_strdup(name) : dsb_asprintf("%s/%s", dir, name);
	if (path == NULL)
		return DSB_ERR_NOMEM;
	if (is_file(path) && dsb_path_normalize(path, norm, sizeof(norm)) == 0) {
		for (i = 0; i < f->n && strcmp(f->v[i], norm) != 0; i++)
			;
		if (i == f->n)
			r = docker_strv_add(&f->v, &f->n, norm);
	}
	free(path);
	return r;
}

/* add_list(f, dir, list): a comma-separated list of files */
static int add_list(struct files *f, const char *dir, const char *list)
{
	char *copy, *p, *save = NULL;
	int r = 0;

	if (list == NULL)
		return 0;
	if ((copy = dsb_strdup(list)) == NULL)
		return DSB_ERR_NOMEM;
	for (p = strtok_r(copy, ",", &save); p != NULL && r == 0; p = strtok_r(NULL, ",", &save))
		r = add(f, dir, p);
	free(copy);
	return r;
}

/* X.yml -> X.override.yml and X.override.yaml */
static int add_overrides(struct files *f, const char *file)
{
	const char *dot = strrchr(file, '.');
	char *o;
	int r = 0, k;

	if (dot == NULL || (strcmp(dot, ".yml") != 0 && strcmp(dot, ".yaml") != 0))
		return 0;
	for (k = 0; k < 2 && r == 0; k++) {
		if ((o = dsb_asprintf("%.*s.override.%s", (int)(dot - file), file, k ? "yaml" : "yml")) == NULL)
			return DSB_ERR_NOMEM;
		r = add(f, "/", o);
		free(o);
	}
	return r;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (e - s >= 2 && (*s == '"' || *s == '\'') && e[-1] == *s) {
		e[-1] = '\0';
		s++;
	}
	return s;
}

/* one env_file value: "a.env", "[a.env, b.env]", or "path: a.env" of the long form */
static int add_env_value(struct files *f, const char *dir, char *v)
{
	char *p, *save = NULL;
	int r = 0;

	v = trim(v);
	if (strncmp(v, "path:", 5) == 0)
		v = trim(v + 5);
	if (*v != '[')
		return add(f, dir, v);
	v[strcspn(v, "]")] = '\0';
	for (p = strtok_r(v + 1, ",", &save); p != NULL && r == 0; p = strtok_r(NULL, ",", &save))
		r = add(f, dir, trim(p));
	return r;
}

/*
 * scan_env_files(f, file): the env_file entries of a compose file, by a
 * line scan (no YAML parser): "env_file: x", "env_file: [x, y]", or a list
 * of "- x" / "- path: x" lines below "env_file:".
 */
static int scan_env_files(struct files *f, const char *file)
{
	struct dsb_buf b;
	char *text, *line, *save = NULL, *dir, *dcopy, *k, *item;
	int r, in_list = 0, indent = 0, ind;

	dsb_buf_init(&b, COMPOSE_FILE_MAX + 1);
	if ((dcopy = dsb_strdup(file)) == NULL)
		return DSB_ERR_NOMEM;
	dir = dirname(dcopy);
	if ((r = dsb_read_file(file, COMPOSE_FILE_MAX, &b)) != 0 || (r = dsb_buf_append(&b, "", 1)) != 0) {
		dsb_warn("cannot scan %s for env files: %s", file, dsb_errmsg());
		dsb_error_clear();
		r = 0;
		goto out;
	}
	text = (char *)b.data;
	for (line = strtok_r(text, "\n", &save); line != NULL && r == 0; line = strtok_r(NULL, "\n", &save)) {
		ind = (int)strspn(line, " \t");
		if (line[ind] == '#' || line[ind] == '\0')
			continue;
		if (in_list && ind >= indent && line[ind] == '-') {
			item = line + ind + 1;
			r = add_env_value(f, dir, item);
			continue;
		}
		in_list = 0;
		if ((k = strstr(line + ind, "env_file:")) != line + ind)
			continue;
		item = trim(k + 9);
		if (*item == '\0') {
			in_list = 1;
			indent = ind;
		} else {
			r = add_env_value(f, dir, item);
		}
	}
out:
	free(dcopy);
	dsb_buf_release(&b);
	return r;
}

/* *.env and .env.* in the working directory */
static int add_env_in_dir(struct files *f, const char *dir)
{
	struct dirent *de;
	DIR *dh = opendir(dir);
	size_t len;
	int r = 0;

	if (dh == NULL)
		return 0;
	while (r == 0 && (de = readdir(dh)) != NULL) {
		len = strlen(de->d_name);
		if (strcmp(de->d_name, ".env") == 0 || strncmp(de->d_name, ".env.", 5) == 0 ||
		    (len > 4 && strcmp(de->d_name + len - 4, ".env") == 0))
			r = add(f, dir, de->d_name);
	}
	closedir(dh);
	return r;
}

static int collect_files(struct files *f, const char *wd, json_t *labels)
{
	static const char *const std_overrides[] = {
		"docker-compose.override.yml", "docker-compose.override.yaml",
		"compose.override.yml", "compose.override.yaml",
	};
	size_t i, nconfig;
	int r;

	if ((r = add_list(f, wd, json_string_value(json_object_get(labels, LABEL_FILES)))) != 0)
		return r;
	nconfig = f->n;
	for (i = 0; i < nconfig && r == 0; i++)
		r = add_overrides(f, f->v[i]);
	for (i = 0; i < sizeof(std_overrides) / sizeof(std_overrides[0]) && r == 0; i++)
		r = add(f, wd, std_overrides[i]);
	if (r == 0)
		r = add_list(f, wd, json_string_value(json_object_get(labels, LABEL_ENVFILE)));
	if (r == 0)
		r = add_env_in_dir(f, wd);
	for (i = 0; i < nconfig && r == 0; i++)
		r = scan_env_files(f, f->v[i]);
	return r;
}

/* ---- source_meta ---- */

static int add_volume_name(json_t *names, const char *name)
{
	size_t i;
	json_t *v;

	if (name == NULL)
		return 0;
	json_array_foreach(names, i, v)
		if (strcmp(json_string_value(v), name) == 0)
			return 0;
	return json_array_append_new(names, json_string(name)) == 0 ? 0 : DSB_ERR_NOMEM;
}

int docker_compose_volumes(json_t *containers, json_t *volumes, json_t *names)
{
	json_t *c, *m, *v;
	size_t i, j;
	int r;

	json_array_foreach(containers, i, c)
		json_array_foreach(json_object_get(c, "Mounts"), j, m)
			if (json_is_string(json_object_get(m, "Type")) &&
			    strcmp(json_string_value(json_object_get(m, "Type")), "volume") == 0 &&
			    (r = add_volume_name(names, json_string_value(json_object_get(m, "Name")))) != 0)
				return r;
	json_array_foreach(json_object_get(volumes, "Volumes"), i, v)
		if ((r = add_volume_name(names, json_string_value(json_object_get(v, "Name")))) != 0)
			return r;
	return 0;
}

static int project_volumes(struct dsb_docker *d, const char *project, json_t *containers,
    json_t *names)
{
	json_t *res = NULL;
	char *filter = NULL, *esc = NULL, *path = NULL;
	int r;

	if ((r = docker_compose_volumes(containers, NULL, names)) != 0)
		return r;
	filter = dsb_asprintf("{\"label\":[\"" LABEL_PROJECT "=%s\"]}", project);
	if (filter == NULL || (esc = dsb_docker_escape(filter)) == NULL ||
	    (path = dsb_asprintf("/volumes?filters=%s", esc)) == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	if ((r = dsb_docker_get(d, path, &res)) != 0)
		goto out;
	r = docker_compose_volumes(NULL, res, names);
out:
	json_decref(res);
	free(filter);
	free(esc);
	free(path);
	return r;
}

static int set_meta(struct dsb_source *src, struct dsb_docker *d, const char *project,
    const char *wd, json_t *containers, const struct files *f)
{
	json_t *meta, *cs = json_array(), *files = json_array(), *vols = json_array(), *c, *labels;
	size_t i;
	int r = DSB_ERR_NOMEM;

	if (cs == NULL || files == NULL || vols == NULL)
		goto fail;
	json_array_foreach(containers, i, c) {
		labels = json_object_get(c, "Labels");
		if (json_array_append_new(cs, json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?}",
		    "id", json_string_value(json_object_get(c, "Id")),
		    "name", dsb_docker_container_name(c),
		    "service", json_string_value(json_object_get(labels, LABEL_SERVICE)),
		    "image", json_string_value(json_object_get(c, "Image")),
		    "state", json_string_value(json_object_get(c, "State")))) != 0)
			goto fail;
	}
	for (i = 0; i < f->n; i++)
		if (json_array_append_new(files, json_string(f->v[i])) != 0)
			goto fail;
	if ((r = project_volumes(d, project, containers, vols)) != 0)
		goto fail;
	meta = json_pack("{s:{s:s, s:s, s:o, s:o, s:o}}", "compose", "project", project,
	    "working_dir", wd, "files", files, "containers", cs, "volumes", vols);
	return docker_meta_set(src, meta);
fail:
	json_decref(cs);
	json_decref(files);
	json_decref(vols);
	return r == DSB_ERR_NOMEM ? dsb_error(r, "out of memory") : r;
}

static int compose_open(struct dsb_source *src, const char *arg)
{
	struct dsb_docker *d = NULL;
	struct files f = { NULL, 0 };
	json_t *list = NULL, *c, *labels = NULL;
	const char *wd = NULL;
	char *filter = NULL;
	size_t i;
	int r;

	if (arg[0] == '\0' || strcmp(arg, "*") == 0)
		return dsb_error(DSB_ERR_USAGE, "source \"%s\": expected compose:PROJECT or compose:*",
		    src->spec);
	if ((r = dsb_docker_open(&d)) != 0)
		return dsb_error_wrap(r, "compose project %s: its files are found through the Docker "
		    "engine", arg);
	if ((filter = dsb_asprintf(LABEL_PROJECT "=%s", arg)) == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	if ((r = dsb_docker_list_containers(d, "label", filter, &list)) != 0)
		goto out;
	json_array_foreach(list, i, c) {
		labels = json_object_get(c, "Labels");
		if ((wd = json_string_value(json_object_get(labels, LABEL_WORKDIR))) != NULL)
			break;
	}
	if (json_array_size(list) == 0) {
		r = dsb_error(DSB_ERR_NOT_FOUND, "no container belongs to compose project %s", arg);
		goto out;
	}
	if (wd == NULL || wd[0] != '/') {
		r = dsb_error(DSB_ERR_NOT_FOUND, "compose project %s: its containers do not name the "
		    "working directory (label " LABEL_WORKDIR ")", arg);
		goto out;
	}
	if ((r = collect_files(&f, wd, labels)) != 0)
		goto out;
	if (f.n == 0) {
		r = dsb_error(DSB_ERR_NOT_FOUND, "compose project %s: none of its files is found in %s",
		    arg, wd);
		goto out;
	}
	for (i = 0; i < f.n && r == 0; i++)
		r = dsb_source_add_path(src, f.v[i]);
	if (r == 0)
		r = set_meta(src, d, arg, wd, list, &f);
out:
	docker_strv_free(f.v, f.n);
	json_decref(list);
	free(filter);
	dsb_docker_free(d);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int docker_compose_projects(char ***v, size_t *n)
{
	struct dsb_docker *d = NULL;
	json_t *list = NULL, *c;
	const char *p;
	size_t i, j;
	int r;

	*v = NULL;
	*n = 0;
	if (dsb_docker_open(&d) != 0) {
		dsb_warn("the Docker engine is not reachable (%s): compose projects cannot be found",
		    dsb_errmsg());
		dsb_error_clear();
		return 0;
	}
	if ((r = dsb_docker_list_containers(d, "label", LABEL_PROJECT, &list)) == 0) {
		json_array_foreach(list, i, c) {
			p = json_string_value(json_object_get(json_object_get(c, "Labels"), LABEL_PROJECT));
			for (j = 0; p != NULL && j < *n && strcmp((*v)[j], p) != 0; j++)
				;
			if (p != NULL && j == *n && (r = docker_strv_add(v, n, p)) != 0)
				break;
		}
	}
	if (r == 0 && *n > 1)
		qsort(*v, *n, sizeof(**v), cmp_str);
	json_decref(list);
	dsb_docker_free(d);
	return r;
}

static int compose_expand(const char *arg, char ***specs, size_t *n)
{
	char **names = NULL;
	size_t count = 0, i;
	int r;

	(void)arg;
	*specs = NULL;
	*n = 0;
	r = docker_compose_projects(&names, &count);
	for (i = 0; i < count && r == 0; i++) {
		char *spec = dsb_asprintf("compose:%s", names[i]);

		r = spec != NULL ? docker_strv_add(specs, n, spec) : DSB_ERR_NOMEM;
		free(spec);
	}
	docker_strv_free(names, count);
	return r;
}

const struct dsb_source_ops dsb_source_compose = {
	.kind = "compose",
	.prefix = "compose:",
	.open = compose_open,
	.expand = compose_expand,
};
