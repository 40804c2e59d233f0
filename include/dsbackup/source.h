/*
 * source.h: what a backup reads.  A source turns a spec such as
 * "path:/srv/data" (and, with the Docker issue, "volume:NAME",
 * "compose:PROJECT", "daemon", "trust") into the directories to walk, and
 * may prepare the system before the walk and restore it after (stop and
 * start containers, run exec hooks).  Each kind is a const table of
 * function pointers, found by the spec's prefix.
 */
#ifndef DSBACKUP_SOURCE_H
#define DSBACKUP_SOURCE_H

#include <stddef.h>

struct dsb_source;

struct dsb_source_ops {
	const char *kind;     /* "path" */
	const char *prefix;   /* "path:" */
	/* key_material: signing keys and the like, escrowed when escrow recipients are configured */
	int key_material;
	/* open(src, arg): fill src->paths from ${arg} (the spec after the prefix). */
	int (*open)(struct dsb_source *src, const char *arg);
	/* before(src): make the data consistent (may be NULL). */
	int (*before)(struct dsb_source *src);
	/* after(src): undo what before did; called on every path out once before ran (may be NULL). */
	int (*after)(struct dsb_source *src);
	/* close(src): free kind-specific state (may be NULL). */
	void (*close)(struct dsb_source *src);
	/* expand(arg, specs, n): the specs a wildcard ${arg} ("*") stands for (may be NULL: no wildcards). */
	int (*expand)(const char *arg, char ***specs, size_t *n);
};

struct dsb_source {
	const struct dsb_source_ops *ops;
	char *spec;       /* "path:/srv/data" */
	char **paths;     /* absolute, normalised */
	size_t npaths;
	char *meta;       /* JSON object recorded as the snapshot's "source_meta", or NULL */
	void *state;
};

extern const struct dsb_source_ops dsb_source_path;

/*
 * dsb_source_open(spec, out): find the kind by prefix; a spec without a
 * known prefix is a plain path.  DSB_ERR_USAGE for an unknown kind.
 */
int dsb_source_open(const char *spec, struct dsb_source **out);
void dsb_source_close(struct dsb_source *src);

/*
 * dsb_source_expand(spec, specs, n): the concrete specs ${spec} stands for:
 * itself, or for a wildcard ("volume:*") one per match (possibly none).
 */
int dsb_source_expand(const char *spec, char ***specs, size_t *n);

/* dsb_source_add_path(src, path): append a path, made absolute and normalised ("." and ".." removed). */
int dsb_source_add_path(struct dsb_source *src, const char *path);

#endif
