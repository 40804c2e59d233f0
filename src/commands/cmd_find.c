/* cmd_find.c: dsbackup find PATTERN [--host H] [--source SPEC], from the catalog alone */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "dsbackup/error.h"
#include "dsbackup/inspect.h"
#include "dsbackup/util.h"

struct find_args {
	struct cli *c;
	struct dsb_find_opts o;
	uint64_t found;
};

static int find_option(struct cli *c, int opt, const char *arg, void *ctx)
{
	struct find_args *a = ctx;

	switch (opt) {
	case 0x2001: a->o.host = arg; return 0;
	case 0x2002: a->o.source = arg; return 0;
	default: return cli_usage_error(c, "invalid option");
	}
}

static int show(void *arg, const struct dsb_find_match *m)
{
	struct find_args *a = arg;
	const struct dsb_catalog_file *f = m->file;
	char ts[64];

	a->found++;
	dsb_time_format(m->snap->time_sec, m->snap->time_nsec, ts, sizeof(ts));
	if (a->c->json) {
		cli_print_json_with_path(json_pack("{s:s, s:s, s:s, s:s?, s:s, s:I, s:I}",
		    "snapshot_id", m->snap->id, "time", ts, "host", m->snap->host,
		    "source", m->snap->source, "type", dsb_node_type_name(f->type),
		    "size", (json_int_t)f->size, "mtime", (json_int_t)f->mtime), f->path);
		return 0;
	}
	ts[19] = '\0';
	printf("%.8s  %sZ  %12llu  %s\n", m->snap->id, ts, (unsigned long long)f->size, f->path);
	return 0;
}

int cmd_find(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 0x2001 },
		{ "source", required_argument, NULL, 0x2002 },
		CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 }
	};
	struct find_args a;
	struct dsb_session *s = NULL;
	const char *url = NULL;
	uint64_t unlisted = 0;
	int r;

	memset(&a, 0, sizeof(a));
	a.c = c;
	if ((r = cli_parse(c, argc, argv, "r:qvh", longopts, find_option, &a)) != 0)
		return r == 1 ? 0 : r;
	if (argc - optind != 1)
		return cli_usage_error(c, "find needs one PATTERN");
	a.o.pattern = argv[optind];
	if (c->catalog == NULL && (url = cli_repo(c)) == NULL)
		return DSB_ERR_USAGE;
	if ((r = dsb_session_open_catalog(url != NULL ? url : c->repo, c->catalog, &s)) != 0)
		return r;
	r = dsb_find(s, &a.o, show, &a, &unlisted);
	dsb_session_close(s);
	if (r != 0)
		return r;
	if (unlisted > 0)
		fprintf(stderr, "dsbackup: %llu snapshot(s) have no file listing in the catalog and were "
		    "not searched: \"dsbackup catalog rebuild\" makes them\n", (unsigned long long)unlisted);
	if (!c->json && !c->quiet && a.found == 0)
		fprintf(stderr, "dsbackup: no file matches \"%s\"\n", a.o.pattern);
	return 0;
}
