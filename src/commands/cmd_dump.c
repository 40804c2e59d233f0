/* cmd_dump.c: dsbackup dump SNAPSHOT [PATH] [--format pax|tar|zip|tar.zst] [--source SPEC] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"

struct dump_args {
	struct dsb_dump_opts o;
	const char *source;
};

static int dump_option(struct cli *c, int opt, const char *arg, void *ctx)
{
	struct dump_args *a = ctx;

	switch (opt) {
	case 0x2001:
		if (dsb_dump_format_parse(arg, &a->o.format) != 0)
			return cli_usage_error(c, "%s", dsb_errmsg());
		return 0;
	case 0x2002: a->source = arg; return 0;
	default: return cli_usage_error(c, "invalid option");
	}
}

int cmd_dump(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 0x2001 },
		{ "source", required_argument, NULL, 0x2002 },
		CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 }
	};
	struct dump_args a;
	struct dsb_dump_stats st;
	struct dsb_session *s = NULL;
	struct dsb_snapshot snap;
	char *path = NULL, bytes[32];
	int r, have_snap = 0;

	memset(&a, 0, sizeof(a));
	a.o.fd = STDOUT_FILENO;
	if ((r = cli_parse(c, argc, argv, "r:qvh", longopts, dump_option, &a)) != 0)
		return r == 1 ? 0 : r;
	if (optind + 1 != argc && optind + 2 != argc)
		return cli_usage_error(c, "dump needs a SNAPSHOT and at most one PATH");
	if (isatty(STDOUT_FILENO))
		return cli_usage_error(c, "dump writes an archive to standard output, which is a terminal: "
		    "redirect it to a file or a pipe");
	if ((r = cli_open(c, &s)) != 0)
		return r;
	r = a.source != NULL ? cli_source_snapshot(s, argv[optind], a.source, NULL, &snap) :
	    dsb_session_snapshot(s, argv[optind], &snap);
	if (r != 0)
		goto out;
	have_snap = 1;
	if (optind + 2 == argc)
		path = argv[optind + 1][0] == '/' ? dsb_strdup(argv[optind + 1]) :
		    dsb_asprintf("/%s", argv[optind + 1]);
	else if (a.source != NULL && snap.npaths == 1)   /* a source's data, as the source holds it */
		path = dsb_strdup(snap.paths[0]);
	if ((optind + 2 == argc || (a.source != NULL && snap.npaths == 1)) && path == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	a.o.path = path;
	r = dsb_dump(s, &snap, &a.o, &st);
	if (r == 0 && !c->quiet) {
		cli_bytes(st.bytes, bytes, sizeof(bytes));
		dsb_info("dumped snapshot %.8s%s%s: %llu files, %llu dirs, %llu other, %s%s", snap.id,
		    path != NULL ? " " : "", path != NULL ? path : "", (unsigned long long)st.files,
		    (unsigned long long)st.dirs, (unsigned long long)st.other, bytes,
		    st.skipped > 0 ? " (some entries left out: the format cannot hold them)" : "");
	}
out:
	if (have_snap)
		dsb_snapshot_release(&snap);
	free(path);
	dsb_session_close(s);
	return r;
}
