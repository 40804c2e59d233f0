/*
 * source_trust.c: "trust", Docker Content Trust material: ~/.docker/trust/
 * (private signing keys and TUF metadata) of root and of the users in
 * /etc/passwd, or only of the users named in DSBACKUP_TRUST_USERS
 * (comma-separated); for the user running dsbackup, under $HOME as the
 * docker CLI does.  This is signing-key material, escrowed when escrow
 * recipients are configured (docs/FORMAT.md §4); a restore never gives
 * it looser permissions than it had (docs/DOCKER.md).
 */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docker_internal.h"
#include "dsbackup/docker.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/source.h"
#include "dsbackup/util.h"

/* user_home(pw): where the docker CLI of ${pw} looks: $HOME for the user running us, like docker itself */
static const char *user_home(const struct passwd *pw)
{
	const char *home = getenv("HOME");

	if (pw->pw_uid == getuid() && home != NULL && home[0] == '/')
		return home;
	return pw->pw_dir;
}

static int add_user(struct dsb_source *src, json_t *homes, const struct passwd *pw)
{
	const char *home = user_home(pw);
	struct stat sb;
	char *path;
	size_t i;
	int r = 0;

	if (home == NULL || home[0] != '/')
		return 0;
	if ((path = dsb_asprintf("%s/.docker/trust", strcmp(home, "/") == 0 ? "" : home)) == NULL)
		return DSB_ERR_NOMEM;
	for (i = 0; i < src->npaths && strcmp(src->paths[i], path) != 0; i++)
		;
	if (i == src->npaths && lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		if ((r = dsb_source_add_path(src, path)) == 0 &&
		    json_array_append_new(homes, json_pack("{s:s, s:s, s:s, s:I, s:I}", "user", pw->pw_name,
		    "home", home, "path", path, "uid", (json_int_t)sb.st_uid,
		    "gid", (json_int_t)sb.st_gid)) != 0)
			r = dsb_error(DSB_ERR_NOMEM, "out of memory");
	}
	free(path);
	return r;
}

static int named_users(struct dsb_source *src, json_t *homes, const char *list)
{
	char *copy = dsb_strdup(list), *p, *save = NULL;
	struct passwd *pw;
	int r = 0;

	if (copy == NULL)
		return DSB_ERR_NOMEM;
	for (p = strtok_r(copy, ", ", &save); p != NULL && r == 0; p = strtok_r(NULL, ", ", &save)) {
		if ((pw = getpwnam(p)) == NULL)
			dsb_warn("DSBACKUP_TRUST_USERS names \"%s\", who is not a user here", p);
		else
			r = add_user(src, homes, pw);
	}
	free(copy);
	return r;
}

static int all_users(struct dsb_source *src, json_t *homes)
{
	struct passwd *pw;
	int r = 0;

	setpwent();
	while (r == 0 && (pw = getpwent()) != NULL)
		r = add_user(src, homes, pw);
	endpwent();
	return r;
}

static int trust_open(struct dsb_source *src, const char *arg)
{
	const char *list = getenv("DSBACKUP_TRUST_USERS");
	json_t *homes = json_array();
	int r;

	if (arg[0] != '\0')
		return dsb_error(DSB_ERR_USAGE, "source \"trust\" takes no argument");
	if (homes == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	r = list != NULL ? named_users(src, homes, list) : all_users(src, homes);
	if (r == 0 && src->npaths == 0)
		r = dsb_error(DSB_ERR_NOT_FOUND, "no Docker Content Trust material (~/.docker/trust) of %s",
		    list != NULL ? "the users in DSBACKUP_TRUST_USERS" : "any user");
	if (r == 0)
		r = docker_meta_set(src, json_pack("{s:{s:O}}", "trust", "homes", homes));
	json_decref(homes);
	return r;
}

int docker_trust_present(void)
{
	struct dsb_source src;
	size_t i;
	int r;

	memset(&src, 0, sizeof(src));
	r = trust_open(&src, "");
	dsb_error_clear();
	for (i = 0; i < src.npaths; i++)
		free(src.paths[i]);
	free(src.paths);
	free(src.meta);
	return r == 0;
}

int dsb_docker_specs(char ***specs, size_t *n)
{
	char **v = NULL;
	size_t count = 0, i;
	int r;

	*specs = NULL;
	*n = 0;
	if ((r = dsb_source_expand("volume:*", &v, &count)) != 0)
		return r;
	for (i = 0; i < count && r == 0; i++)
		r = docker_strv_add(specs, n, v[i]);
	docker_strv_free(v, count);
	v = NULL;
	count = 0;
	if (r == 0 && (r = dsb_source_expand("compose:*", &v, &count)) == 0)
		for (i = 0; i < count && r == 0; i++)
			r = docker_strv_add(specs, n, v[i]);
	docker_strv_free(v, count);
	if (r == 0 && docker_daemon_present())
		r = docker_strv_add(specs, n, "daemon");
	if (r == 0 && docker_trust_present())
		r = docker_strv_add(specs, n, "trust");
	if (r != 0) {
		docker_strv_free(*specs, *n);
		*specs = NULL;
		*n = 0;
	}
	return r;
}

const struct dsb_source_ops dsb_source_trust = {
	.kind = "trust",
	.prefix = "trust",
	.key_material = 1,
	.open = trust_open,
};
