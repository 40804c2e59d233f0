/* cmd_snapshots.c: dsbackup snapshots */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "dsbackup/error.h"
#include "dsbackup/util.h"

struct snap_filter {
	const char *host;
	const char *tag;
	const char *source;   /* --source SPEC: the snapshot's "source" */
	json_t *out;     /* --json: the array being built */
	int count;
};

static int snap_option(struct cli *c, int opt, const char *arg, void *ctx)
{
	struct snap_filter *f = ctx;

	switch (opt) {
	case 0x2001: f->host = arg; return 0;
	case 0x2002: f->tag = arg; return 0;
	case 0x2003: f->source = arg; return 0;
	default: return cli_usage_error(c, "invalid option");
	}
}

static int has_tag(const struct dsb_snapshot *s, const char *tag)
{
	size_t i;

	for (i = 0; i < s->ntags; i++)
		if (strcmp(s->tags[i], tag) == 0)
			return 1;
	return 0;
}

static json_t *strings(char **v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static void print_row(const struct dsb_snapshot *s)
{
	char ts[64], list[1024] = "";
	size_t i, len = 0;

	dsb_time_format(s->time_sec, s->time_nsec, ts, sizeof(ts));
	ts[19] = '\0';
	for (i = 0; i < s->ntags && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? "," : "", s->tags[i]);
	printf("%.8s  %sZ  %-16s  %-12s", s->id, ts, s->host, list);
	if (s->source != NULL)
		printf(" [%s]", s->source);
	for (i = 0; i < s->npaths; i++)
		printf(" %s", s->paths[i]);
	printf("\n");
}

static int show(void *arg, const struct dsb_catalog_snapshot *cs)
{
	struct snap_filter *f = arg;
	struct dsb_snapshot s;
	char ts[64];
	json_t *o;
	int r;

	if ((r = dsb_snapshot_parse(cs->id, cs->json, &s)) != 0)
		return r;
	if ((f->host == NULL || strcmp(s.host, f->host) == 0) && (f->tag == NULL || has_tag(&s, f->tag)) &&
	    (f->source == NULL || (s.source != NULL && strcmp(s.source, f->source) == 0))) {
		f->count++;
		if (f->out != NULL) {
			dsb_time_format(s.time_sec, s.time_nsec, ts, sizeof(ts));
			o = json_loads(s.json, 0, NULL);
			if (o == NULL)
				o = json_object();
			json_object_set_new(o, "id", json_string(s.id));
			json_object_set_new(o, "short_id", json_stringn(s.id, 8));
			json_object_set_new(o, "time", json_string(ts));
			json_object_set_new(o, "paths", strings(s.paths, s.npaths));
			json_object_set_new(o, "tags", strings(s.tags, s.ntags));
			json_array_append_new(f->out, o);
		} else {
			print_row(&s);
		}
	}
	dsb_snapshot_release(&s);
	return 0;
}

int cmd_snapshots(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 0x2001 },
		{ "tag", required_argument, NULL, 0x2002 },
		{ "source", required_argument, NULL, 0x2003 },
		CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 }
	};
	struct snap_filter f;
	struct dsb_session *s = NULL;
	int r;

	memset(&f, 0, sizeof(f));
	if ((r = cli_parse(c, argc, argv, "r:qvh", longopts, snap_option, &f)) != 0)
		return r == 1 ? 0 : r;
	if (optind != argc)
		return cli_usage_error(c, "snapshots takes no arguments");
	if ((r = cli_open(c, &s)) != 0)
		return r;
	if (c->json)
		f.out = json_array();
	else
		printf("%-8s  %-20s  %-16s  %-12s %s\n", "ID", "Time", "Host", "Tags", "Paths");
	r = dsb_catalog_foreach_snapshot(s->cat, show, &f);
	if (r == 0 && c->json) {
		cli_print_json(f.out);
		f.out = NULL;
	} else if (r == 0 && !c->quiet) {
		printf("%d snapshot%s\n", f.count, f.count == 1 ? "" : "s");
	}
	json_decref(f.out);
	dsb_session_close(s);
	return r;
}
