/* source.c: the table of source kinds, and path helpers they share. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsbackup/docker.h"
#include "dsbackup/error.h"
#include "dsbackup/source.h"
#include "dsbackup/util.h"

static const struct dsb_source_ops *const source_kinds[] = {
	&dsb_source_path,
	&dsb_source_volume,
	&dsb_source_compose,
	&dsb_source_daemon,
	&dsb_source_trust,
	NULL
};

int dsb_source_add_path(struct dsb_source *src, const char *path)
{
	char norm[4096];
	char **p;
	int r;

	if ((r = dsb_path_normalize(path, norm, sizeof(norm))) != 0)
		return r;
	if ((p = realloc(src->paths, (src->npaths + 1) * sizeof(*p))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	src->paths = p;
	if ((src->paths[src->npaths] = dsb_strdup(norm)) == NULL)
		return DSB_ERR_NOMEM;
	src->npaths++;
	return 0;
}

/* find_kind(spec, arg): the kind of ${spec} ("daemon" or "volume:..."), or NULL */
static const struct dsb_source_ops *find_kind(const char *spec, const char **arg)
{
	size_t i, n;

	for (i = 0; source_kinds[i] != NULL; i++) {
		n = strlen(source_kinds[i]->prefix);
		/* a prefix without ":" ("daemon") is the whole spec */
		if (strncmp(spec, source_kinds[i]->prefix, n) == 0 &&
		    (source_kinds[i]->prefix[n - 1] == ':' || spec[n] == '\0')) {
			*arg = spec + n;
			return source_kinds[i];
		}
	}
	return NULL;
}

int dsb_source_expand(const char *spec, char ***specs, size_t *n)
{
	const char *arg = spec;
	const struct dsb_source_ops *ops = find_kind(spec, &arg);
	char **v;

	*specs = NULL;
	*n = 0;
	if (ops != NULL && ops->expand != NULL && strcmp(arg, "*") == 0)
		return ops->expand(arg, specs, n);
	if ((v = malloc(sizeof(*v))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	if ((v[0] = dsb_strdup(spec)) == NULL) {
		free(v);
		return DSB_ERR_NOMEM;
	}
	*specs = v;
	*n = 1;
	return 0;
}

int dsb_source_open(const char *spec, struct dsb_source **out)
{
	const struct dsb_source_ops *ops, *kind;
	const char *arg = spec, *colon, *slash;
	struct dsb_source *src;
	int r;

	kind = find_kind(spec, &arg);
	ops = kind != NULL ? kind : &dsb_source_path;
	colon = strchr(spec, ':');
	slash = strchr(spec, '/');
	if (kind == NULL && spec[0] != '/' && spec[0] != '.' && colon != NULL &&
	    (slash == NULL || colon < slash))
		return dsb_error(DSB_ERR_USAGE, "unknown source kind in \"%s\" (known: path:DIR, "
		    "volume:NAME, volume:*, compose:PROJECT, compose:*, daemon, trust)", spec);
	if ((src = calloc(1, sizeof(*src))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	src->ops = ops;
	if ((src->spec = dsb_asprintf("%s%s", ops->prefix, arg)) == NULL) {
		r = DSB_ERR_NOMEM;
		goto fail;
	}
	if ((r = ops->open(src, arg)) != 0)
		goto fail;
	*out = src;
	return 0;
fail:
	dsb_source_close(src);
	return r;
}

void dsb_source_close(struct dsb_source *src)
{
	size_t i;

	if (src == NULL)
		return;
	if (src->ops != NULL && src->ops->close != NULL)
		src->ops->close(src);
	for (i = 0; i < src->npaths; i++)
		free(src->paths[i]);
	free(src->paths);
	free(src->meta);
	free(src->spec);
	free(src);
}
