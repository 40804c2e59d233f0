/* cmd_restore.c: dsbackup restore SNAPSHOT --target DIR [--include GLOB] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "dsbackup/error.h"
#include "dsbackup/progress.h"

struct restore_args {
	struct dsb_restore_opts o;
	const char **includes;
	size_t nincludes;
	struct dsb_source_restore_opts so;   /* --source, --docker (cmd_restore_source.c) */
	const char *source;
	int docker;
};

static int restore_option(struct cli *c, int opt, const char *arg, void *ctx)
{
	struct restore_args *a = ctx;
	const char **p;

	switch (opt) {
	case 't': a->o.target = arg; return 0;
	case 'i':
		if ((p = realloc(a->includes, (a->nincludes + 1) * sizeof(*p))) == NULL)
			return dsb_error(DSB_ERR_NOMEM, "out of memory");
		p[a->nincludes++] = arg;
		a->includes = p;
		return 0;
	case 0x2001: a->o.no_owner = 1; return 0;
	case 0x2002: a->source = arg; return 0;
	case 0x2003: a->so.to_volume = arg; return 0;
	case 0x2004: a->so.force = 1; return 0;
	case 0x2005: a->docker = 1; return 0;
	case 0x2006: a->so.host = arg; return 0;
	case 0x2007: a->so.dry_run = 1; return 0;
	default: return cli_usage_error(c, "invalid option");
	}
}

/* restore_total(s, snap): files and bytes of the whole snapshot, for the progress display */
static void restore_total(struct dsb_session *s, const struct dsb_snapshot *snap)
{
	uint64_t files, bytes;

	if (dsb_catalog_is_listed(s->cat, snap->id) == 1 &&
	    dsb_catalog_listing_totals(s->cat, snap->id, &files, &bytes) == 0)
		dsb_progress_set_total(files, bytes);
	dsb_error_clear();
}

int cmd_restore(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "include", required_argument, NULL, 'i' },
		{ "no-owner", no_argument, NULL, 0x2001 },
		{ "source", required_argument, NULL, 0x2002 },
		{ "to-volume", required_argument, NULL, 0x2003 },
		{ "force", no_argument, NULL, 0x2004 },
		{ "docker", no_argument, NULL, 0x2005 },
		{ "host", required_argument, NULL, 0x2006 },
		{ "dry-run", no_argument, NULL, 0x2007 },
		CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 }
	};
	struct restore_args a;
	struct dsb_restore_stats st;
	struct dsb_session *s = NULL;
	struct dsb_snapshot snap;
	char bytes[32];
	int r;

	memset(&a, 0, sizeof(a));
	memset(&st, 0, sizeof(st));
	if ((r = cli_parse(c, argc, argv, "r:qvht:i:", longopts, restore_option, &a)) != 0) {
		r = r == 1 ? 0 : r;
		goto out;
	}
	if (optind + 1 != argc) {
		r = cli_usage_error(c, "restore needs exactly one SNAPSHOT");
		goto out;
	}
	if (a.source != NULL || a.docker) {
		a.so.target = a.o.target;
		a.so.no_owner = a.o.no_owner;
		r = a.nincludes > 0 ? cli_usage_error(c, "--include does not apply to --source/--docker") :
		    cmd_restore_source(c, argv[optind], &a.so, a.source, a.docker);
		goto out;
	}
	if (a.o.target == NULL) {
		r = cli_usage_error(c, "restore needs --target DIR");
		goto out;
	}
	a.o.includes = a.includes;
	a.o.nincludes = a.nincludes;
	if ((r = cli_open(c, &s)) != 0 || (r = dsb_session_require_read(s)) != 0)
		goto out;
	if ((r = dsb_session_snapshot(s, argv[optind], &snap)) != 0)
		goto out;
	cli_progress_start(c, "restore");
	if (a.o.nincludes == 0 && a.o.subtree == NULL)
		restore_total(s, &snap);
	r = dsb_restore(s, &snap, &a.o, &st);
	dsb_progress_stop();
	if (c->json) {
		cli_print_json(json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "message_type", "summary",
		    "snapshot_id", snap.id, "files", (json_int_t)st.files, "dirs", (json_int_t)st.dirs,
		    "other", (json_int_t)st.other, "bytes", (json_int_t)st.bytes,
		    "errors", (json_int_t)st.errors));
	} else if (!c->quiet || r != 0) {
		cli_bytes(st.bytes, bytes, sizeof(bytes));
		printf("restored snapshot %.8s to %s: %llu files, %llu dirs, %llu other, %s, "
		    "%llu error(s)\n", snap.id, a.o.target, (unsigned long long)st.files,
		    (unsigned long long)st.dirs, (unsigned long long)st.other, bytes,
		    (unsigned long long)st.errors);
	}
	dsb_snapshot_release(&snap);
out:
	dsb_session_close(s);
	free(a.includes);
	return r;
}
