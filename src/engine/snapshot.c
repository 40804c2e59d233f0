/* snapshot.c: snapshot JSON (docs/FORMAT.md §9): build, parse, resolve. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "dsbackup/error.h"
#include "dsbackup/util.h"
#include "engine_internal.h"

#define SNAP_MAX_LIST 100000

char *dsb_path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir);

	if (n > 0 && dir[n - 1] == '/')
		return dsb_asprintf("%s%s", dir, name);
	return dsb_asprintf("%s/%s", dir, name);
}

static json_t *string_array(const char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

int dsb_snapshot_build(const struct dsb_snapshot_new *n, const struct dsb_backup_stats *st,
    char **json)
{
	struct passwd *pw = getpwuid(geteuid());
	char ts[64], tree[65];
	json_t *o, *stats;

	dsb_time_format(n->time_sec, n->time_nsec, ts, sizeof(ts));
	dsb_hex_encode(n->tree, 32, tree);
	stats = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "files", (json_int_t)st->files, "dirs", (json_int_t)st->dirs,
	    "files_new", (json_int_t)st->files_new, "files_changed", (json_int_t)st->files_changed,
	    "files_unchanged", (json_int_t)st->files_unchanged,
	    "bytes_read", (json_int_t)st->bytes_read, "bytes_added", (json_int_t)st->bytes_added,
	    "blobs_added", (json_int_t)st->blobs_added, "packs_added", (json_int_t)st->packs_added,
	    "errors", (json_int_t)st->errors, "changed_while_read", (json_int_t)st->changed_while_read);
	o = json_pack("{s:i, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:o}",
	    "version", 1, "time", ts, "host", n->host,
	    "user", pw != NULL ? pw->pw_name : "unknown",
	    "paths", string_array(n->paths, n->npaths), "tags", string_array(n->tags, n->ntags),
	    "excludes", string_array(n->excludes, n->nexcludes), "tree", tree,
	    "program", "dsbackup " DSB_VERSION, "stats", stats);
	if (o == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory building the snapshot");
	if (n->parent != NULL && n->parent[0] != '\0')
		json_object_set_new(o, "parent", json_string(n->parent));
	if (n->source != NULL)
		json_object_set_new(o, "source", json_string(n->source));
	if (n->run_id != NULL)
		json_object_set_new(o, "run_id", json_string(n->run_id));
	if (n->source_meta != NULL) {
		json_t *meta = json_loads(n->source_meta, 0, NULL);

		if (!json_is_object(meta)) {
			json_decref(meta);
			json_decref(o);
			return dsb_error(DSB_ERR_INTERNAL, "source metadata is not a JSON object");
		}
		json_object_set_new(o, "source_meta", meta);
	}
	*json = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return *json != NULL ? 0 : dsb_error(DSB_ERR_NOMEM, "out of memory");
}

static int parse_list(json_t *a, const char *what, char ***out, size_t *n)
{
	json_t *v;
	size_t i;

	*out = NULL;
	*n = 0;
	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > SNAP_MAX_LIST)
		return dsb_error(DSB_ERR_CORRUPT, "snapshot: \"%s\" is not a list", what);
	if (json_array_size(a) == 0)
		return 0;
	if ((*out = calloc(json_array_size(a), sizeof(char *))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return dsb_error(DSB_ERR_CORRUPT, "snapshot: \"%s\" holds a non-string", what);
		if (((*out)[i] = dsb_strdup(json_string_value(v))) == NULL)
			return DSB_ERR_NOMEM;
		(*n)++;
	}
	return 0;
}

void dsb_snapshot_release(struct dsb_snapshot *s)
{
	size_t i;

	for (i = 0; i < s->npaths; i++)
		free(s->paths[i]);
	for (i = 0; i < s->ntags; i++)
		free(s->tags[i]);
	free(s->paths);
	free(s->tags);
	free(s->host);
	free(s->user);
	free(s->source);
	free(s->run_id);
	free(s->json);
	memset(s, 0, sizeof(*s));
}

int dsb_snapshot_parse(const char *id, const char *json, struct dsb_snapshot *s)
{
	json_error_t jerr;
	json_t *o;
	const char *ts = NULL, *host = NULL, *user = "", *tree = NULL, *parent = NULL;
	const char *source = NULL, *run_id = NULL;
	json_int_t version = 0;
	int r;

	memset(s, 0, sizeof(*s));
	if ((o = json_loads(json, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return dsb_error(DSB_ERR_CORRUPT, "snapshot is not valid JSON: %s", jerr.text);
	if (json_unpack_ex(o, &jerr, 0, "{s:I, s:s, s:s, s?s, s:s, s?s, s?s, s?s}", "version", &version,
	    "time", &ts, "host", &host, "user", &user, "tree", &tree, "parent", &parent,
	    "source", &source, "run_id", &run_id) != 0) {
		r = dsb_error(DSB_ERR_CORRUPT, "snapshot: %s", jerr.text);
		goto out;
	}
	if (version != 1) {
		r = dsb_error(DSB_ERR_UNSUPPORTED, "snapshot version %lld is not supported",
		    (long long)version);
		goto out;
	}
	snprintf(s->id, sizeof(s->id), "%s", id);
	if ((r = dsb_time_parse(ts, &s->time_sec, &s->time_nsec)) != 0 ||
	    (r = dsb_hex_decode(tree, s->tree, 32)) != 0) {
		r = dsb_error(DSB_ERR_CORRUPT, "snapshot has an invalid time or tree id");
		goto out;
	}
	if (parent != NULL)
		snprintf(s->parent, sizeof(s->parent), "%s", parent);
	if ((s->host = dsb_strdup(host)) == NULL || (s->user = dsb_strdup(user)) == NULL ||
	    (s->json = dsb_strdup(json)) == NULL ||
	    (source != NULL && (s->source = dsb_strdup(source)) == NULL) ||
	    (run_id != NULL && (s->run_id = dsb_strdup(run_id)) == NULL)) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	if ((r = parse_list(json_object_get(o, "paths"), "paths", &s->paths, &s->npaths)) != 0 ||
	    (r = parse_list(json_object_get(o, "tags"), "tags", &s->tags, &s->ntags)) != 0)
		goto out;
	r = 0;
out:
	json_decref(o);
	if (r != 0)
		dsb_snapshot_release(s);
	return r;
}

int dsb_session_snapshot(struct dsb_session *s, const char *name, struct dsb_snapshot *out)
{
	char id[65], *json = NULL, msg[512];
	int r;

	if ((r = dsb_catalog_resolve_snapshot(s->cat, name, id)) != 0) {
		if (r != DSB_ERR_NOT_FOUND && r != DSB_ERR_USAGE)
			return r;
		/* the next step for the operator */
		snprintf(msg, sizeof(msg), "%s", dsb_errmsg());
		return dsb_error(r, "%s (%s)", msg, strcmp(name, "latest") == 0 ?
		    "\"dsbackup backup\" makes one" : "\"dsbackup snapshots\" lists them");
	}
	if ((r = dsb_catalog_get_snapshot_json(s->cat, id, &json)) != 0)
		return r;
	r = dsb_snapshot_parse(id, json, out);
	free(json);
	return r;
}
