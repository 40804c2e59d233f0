/* cmd_ls.c: dsbackup ls SNAPSHOT [PATH] */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "commands.h"
#include "dsbackup/error.h"

struct ls_ctx {
	struct cli *c;
	int lng;
};

static int ls_option(struct cli *c, int opt, const char *arg, void *ctx)
{
	struct ls_ctx *l = ctx;

	(void)arg;
	if (opt == 'l') {
		l->lng = 1;
		return 0;
	}
	return cli_usage_error(c, "invalid option");
}

static char type_char(int type)
{
	switch (type) {
	case DSB_NODE_DIR: return 'd';
	case DSB_NODE_SYMLINK: return 'l';
	case DSB_NODE_FIFO: return 'p';
	case DSB_NODE_CHARDEV: return 'c';
	case DSB_NODE_BLOCKDEV: return 'b';
	case DSB_NODE_SOCKET: return 's';
	default: return '-';
	}
}

static int show(void *arg, const struct dsb_catalog_file *f)
{
	struct ls_ctx *l = arg;
	char perm[11], ts[32];
	time_t t = (time_t)f->mtime;
	struct tm tm;
	int i;

	if (l->c->json) {
		cli_print_json(json_pack("{s:s, s:s, s:i, s:I, s:I}", "path", f->path,
		    "type", dsb_node_type_name(f->type), "mode", (int)f->mode,
		    "size", (json_int_t)f->size, "mtime", (json_int_t)f->mtime));
		return 0;
	}
	if (!l->lng) {
		printf("%s\n", f->path);
		return 0;
	}
	perm[0] = type_char(f->type);
	for (i = 0; i < 9; i++)
		perm[1 + i] = (f->mode & (0400u >> i)) ? "rwxrwxrwx"[i] : '-';
	perm[10] = '\0';
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s %12llu %s %s\n", perm, (unsigned long long)f->size, ts, f->path);
	return 0;
}

int cmd_ls(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "long", no_argument, NULL, 'l' },
		CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 }
	};
	struct ls_ctx l = { c, 0 };
	struct dsb_session *s = NULL;
	struct dsb_snapshot snap;
	int r;

	if ((r = cli_parse(c, argc, argv, "r:qvhl", longopts, ls_option, &l)) != 0)
		return r == 1 ? 0 : r;
	if (optind >= argc || argc - optind > 2)
		return cli_usage_error(c, "ls needs a SNAPSHOT and at most one PATH");
	if ((r = cli_open(c, &s)) != 0)
		return r;
	if ((r = dsb_session_snapshot(s, argv[optind], &snap)) == 0) {
		r = dsb_list_files(s, &snap, optind + 1 < argc ? argv[optind + 1] : NULL, show, &l);
		dsb_snapshot_release(&snap);
	}
	dsb_session_close(s);
	return r;
}
