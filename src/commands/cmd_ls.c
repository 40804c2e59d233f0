/* cmd_ls.c: dsbackup ls SNAPSHOT [PATH] */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "commands.h"
#include "dsbackup/buf.h"
#include "dsbackup/error.h"
#include "dsbackup/util.h"

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

/* one JSON line; a path that is not UTF-8 is given as "path_b64", as names are in trees */
static int show_json(const struct dsb_catalog_file *f)
{
	const char *key = "path";
	struct dsb_buf b;
	json_t *o = NULL, *p;
	int r;

	dsb_buf_init(&b, 0);
	if ((p = json_string(f->path)) == NULL) {
		key = "path_b64";
		if ((r = dsb_base64_encode(f->path, strlen(f->path), &b)) != 0)
			goto out;
		p = json_string((const char *)b.data);
	}
	/* "o" takes p over, also when packing fails */
	if (p != NULL)
		o = json_pack("{s:o, s:s, s:i, s:I, s:I}", key, p, "type", dsb_node_type_name(f->type),
		    "mode", (int)f->mode, "size", (json_int_t)f->size, "mtime", (json_int_t)f->mtime);
	if (o == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "out of memory listing %s", f->path);
		goto out;
	}
	cli_print_json(o);
	r = 0;
out:
	dsb_buf_release(&b);
	return r;
}

static int show(void *arg, const struct dsb_catalog_file *f)
{
	struct ls_ctx *l = arg;
	char perm[11], ts[32];
	time_t t = (time_t)f->mtime;
	struct tm tm;
	int i;

	if (l->c->json)
		return show_json(f);
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
	if ((r = dsb_session_require_read(s)) != 0) {
		dsb_session_close(s);
		return r;
	}
	if ((r = dsb_session_snapshot(s, argv[optind], &snap)) == 0) {
		r = dsb_list_files(s, &snap, optind + 1 < argc ? argv[optind + 1] : NULL, show, &l);
		dsb_snapshot_release(&snap);
	}
	dsb_session_close(s);
	return r;
}
