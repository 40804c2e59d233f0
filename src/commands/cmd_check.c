/* cmd_check.c: dsbackup check [--read-data | --read-data-subset N%] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "dsbackup/error.h"
#include "dsbackup/progress.h"

static int check_option(struct cli *c, int opt, const char *arg, void *ctx)
{
	struct dsb_check_opts *o = ctx;
	char *end;
	double v;

	switch (opt) {
	case 0x2001:
		o->read_data = 1;
		return 0;
	case 0x2002:
		v = strtod(arg, &end);
		if (end == arg || (*end != '%' && *end != '\0') || (*end == '%' && end[1] != '\0') ||
		    !(v > 0 && v <= 100))
			return cli_usage_error(c, "--read-data-subset: \"%s\" is not a percentage in (0, 100]",
			    arg);
		o->read_data = 1;
		o->subset = v / 100.0;
		return 0;
	default:
		return cli_usage_error(c, "invalid option");
	}
}

int cmd_check(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "read-data", no_argument, NULL, 0x2001 },
		{ "read-data-subset", required_argument, NULL, 0x2002 },
		CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 }
	};
	struct dsb_check_opts o;
	struct dsb_check_stats st;
	struct dsb_catalog_totals totals;
	struct dsb_session *s = NULL;
	int r;

	memset(&o, 0, sizeof(o));
	if ((r = cli_parse(c, argc, argv, "r:qvh", longopts, check_option, &o)) != 0)
		return r == 1 ? 0 : r;
	if (optind != argc)
		return cli_usage_error(c, "check takes no arguments");
	if ((r = cli_open(c, &s)) != 0)
		return r;
	if ((r = dsb_session_require_read(s)) != 0) {
		dsb_session_close(s);
		return r;
	}
	cli_progress_start(c, "check");
	if (o.read_data && o.subset == 0 && dsb_catalog_totals(s->cat, &totals) == 0)
		dsb_progress_set_total(0, totals.pack_bytes);
	r = dsb_check(s, &o, &st);
	dsb_progress_stop();
	if (c->json)
		cli_print_json(json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "message_type", "summary",
		    "snapshots", (json_int_t)st.snapshots, "trees", (json_int_t)st.trees,
		    "blobs", (json_int_t)st.blobs, "packs", (json_int_t)st.packs,
		    "packs_read", (json_int_t)st.packs_read,
		    "unindexed_packs", (json_int_t)st.unindexed_packs, "errors", (json_int_t)st.errors));
	else if (!c->quiet || r != 0)
		printf("checked %llu snapshots, %llu trees, %llu packs%s: %s\n",
		    (unsigned long long)st.snapshots, (unsigned long long)st.trees,
		    (unsigned long long)st.packs, o.read_data ? " (data read)" : "",
		    r == 0 ? "no errors" : "ERRORS FOUND");
	dsb_session_close(s);
	return r;
}
