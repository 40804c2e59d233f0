/* docker_env.c: settings of the Docker sources, and small helpers they share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "docker_internal.h"
#include "dsbackup/docker.h"
#include "dsbackup/error.h"
#include "dsbackup/source.h"
#include "dsbackup/util.h"

#define DEFAULT_EXEC_TIMEOUT 300L

static struct {
	char *state_dir;
	volatile sig_atomic_t *interrupted;
} env;

int dsb_docker_setup(const struct dsb_docker_env *e)
{
	dsb_docker_cleanup();
	env.interrupted = e->interrupted;
	if (e->state_dir != NULL && (env.state_dir = dsb_strdup(e->state_dir)) == NULL)
		return DSB_ERR_NOMEM;
	return 0;
}

void dsb_docker_cleanup(void)
{
	free(env.state_dir);
	env.state_dir = NULL;
	env.interrupted = NULL;
}

int docker_env_interrupted(void)
{
	return env.interrupted != NULL && *env.interrupted != 0;
}

const char *docker_env_state_dir(void)
{
	return env.state_dir;
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : fallback;
}

const char *docker_config_dir(void)
{
	return env_or("DSBACKUP_DOCKER_CONFIG_DIR", "/etc/docker");
}

const char *docker_systemd_dir(void)
{
	return env_or("DSBACKUP_SYSTEMD_DIR", "/etc/systemd/system");
}

char *docker_data_root(void)
{
	char *path = dsb_asprintf("%s/daemon.json", docker_config_dir()), *root = NULL;
	const char *v;
	json_t *j;

	if (path == NULL)
		return NULL;
	j = json_load_file(path, 0, NULL);
	v = json_string_value(json_object_get(j, "data-root"));
	if (v == NULL)
		v = json_string_value(json_object_get(j, "graph"));   /* its name before 17.05 */
	root = dsb_strdup(v != NULL && v[0] == '/' ? v : "/var/lib/docker");
	json_decref(j);
	free(path);
	return root;
}

const char *dsb_docker_label(const char *name)
{
	static char label[256];

	snprintf(label, sizeof(label), "%s.%s", env_or("DSBACKUP_LABEL_PREFIX", "dsbackup"), name);
	return label;
}

const char *docker_label_value(json_t *labels, const char *name)
{
	return json_string_value(json_object_get(labels, dsb_docker_label(name)));
}

int docker_label_true(json_t *labels, const char *name)
{
	const char *v = docker_label_value(labels, name);

	return v != NULL && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 ||
	    strcasecmp(v, "yes") == 0);
}

static long parse_seconds(const char *v)
{
	char *end;
	long n;

	if (v == NULL || *v == '\0')
		return 0;
	n = strtol(v, &end, 10);
	if (*end == 's' && end[1] == '\0')
		end++;
	return *end == '\0' && n > 0 ? n : 0;
}

long docker_exec_timeout(json_t *labels)
{
	long t = parse_seconds(docker_label_value(labels, "exec-timeout"));

	if (t == 0)
		t = parse_seconds(getenv("DSBACKUP_EXEC_TIMEOUT"));
	return t > 0 ? t : DEFAULT_EXEC_TIMEOUT;
}

int docker_strv_add(char ***v, size_t *n, const char *s)
{
	char **p = realloc(*v, (*n + 1) * sizeof(*p));

	if (p == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	*v = p;
	if ((p[*n] = dsb_strdup(s)) == NULL)
		return DSB_ERR_NOMEM;
	(*n)++;
	return 0;
}

void docker_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void dsb_docker_free_specs(char **specs, size_t n)
{
	docker_strv_free(specs, n);
}

int docker_meta_set(struct dsb_source *src, json_t *meta)
{
	char *text;

	if (meta == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	text = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(meta);
	if (text == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	free(src->meta);
	src->meta = dsb_strdup(text);
	free(text);
	return src->meta != NULL ? 0 : DSB_ERR_NOMEM;
}
