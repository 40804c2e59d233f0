/* cmd_import.c: dsbackup import ARCHIVE|- [--source SPEC] [--time RFC3339] [--host NAME] [--tag TAG] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "dsbackup/error.h"
#include "dsbackup/progress.h"
#include "dsbackup/util.h"

struct import_args {
	struct dsb_backup_opts o;
	const char **tags;
	size_t ntags;
};

static int import_option(struct cli *c, int opt, const char *arg, void *ctx)
{
	struct import_args *a = ctx;
	const char **p;

	switch (opt) {
	case 0x2001:
		if ((p = realloc(a->tags, (a->ntags + 1) * sizeof(*p))) == NULL)
			return dsb_error(DSB_ERR_NOMEM, "out of memory");
		p[a->ntags++] = arg;
		a->tags = p;
		return 0;
	case 0x2002: a->o.host = arg; return 0;
	case 0x2003:
		if (dsb_time_parse(arg, &a->o.time_sec, &a->o.time_nsec) != 0)
			return cli_usage_error(c, "%s", dsb_errmsg());
		a->o.has_time = 1;
		return 0;
	case 0x2004: a->o.source = arg; return 0;
	case 0x2f01: return cli_lock_wait(c, arg, &a->o.lock_wait_sec);
	default: return cli_usage_error(c, "invalid option");
	}
}

static void print_summary(struct cli *c, const char *archive, const char *id,
    const struct dsb_backup_stats *st)
{
	char rd[32], ad[32];

	if (c->json) {
		cli_print_json(json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
		    "message_type", "summary", "snapshot_id", id, "archive", archive,
		    "files", (json_int_t)st->files, "dirs", (json_int_t)st->dirs,
		    "bytes_read", (json_int_t)st->bytes_read, "bytes_added", (json_int_t)st->bytes_added,
		    "blobs_added", (json_int_t)st->blobs_added, "packs_added", (json_int_t)st->packs_added));
		return;
	}
	if (c->quiet)
		return;
	cli_bytes(st->bytes_read, rd, sizeof(rd));
	cli_bytes(st->bytes_added, ad, sizeof(ad));
	printf("snapshot %.8s imported from %s: %llu files, %llu dirs\n"
	    "read %s, added %s to the repository in %llu blobs and %llu packs\n", id, archive,
	    (unsigned long long)st->files, (unsigned long long)st->dirs, rd, ad,
	    (unsigned long long)st->blobs_added, (unsigned long long)st->packs_added);
}

int cmd_import(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tag", required_argument, NULL, 0x2001 },
		{ "host", required_argument, NULL, 0x2002 },
		{ "time", required_argument, NULL, 0x2003 },
		{ "source", required_argument, NULL, 0x2004 },
		{ "retry-lock", required_argument, NULL, 0x2f01 },
		CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 }
	};
	struct import_args a;
	struct dsb_import_opts io;
	struct dsb_backup_stats st;
	struct dsb_session *s = NULL;
	char id[65];
	int r;

	memset(&a, 0, sizeof(a));
	if ((r = cli_parse(c, argc, argv, "r:qvh", longopts, import_option, &a)) != 0) {
		r = r == 1 ? 0 : r;
		goto out;
	}
	if (optind + 1 != argc) {
		r = cli_usage_error(c, "import needs exactly one ARCHIVE (or - for standard input)");
		goto out;
	}
	a.o.tags = a.tags;
	a.o.ntags = a.ntags;
	io.archive = argv[optind];
	io.base = &a.o;
	if ((r = cli_open(c, &s)) != 0)
		goto out;
	cli_progress_start(c, "import");
	r = dsb_import(s, &io, id, &st);
	dsb_progress_stop();
	if (r == 0)
		print_summary(c, io.archive, id, &st);
out:
	dsb_session_close(s);
	free(a.tags);
	return r;
}
