/* cmd_init.c: dsbackup init */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "commands.h"
#include "dsbackup/error.h"

static int parse_uint(struct cli *c, const char *name, const char *arg, unsigned long long max,
    unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(arg, &end, 10);
	if (errno != 0 || *end != '\0' || arg[0] == '-' || *out > max)
		return cli_usage_error(c, "%s: \"%s\" is not a number in 0..%llu", name, arg, max);
	return 0;
}

static int init_option(struct cli *c, int opt, const char *arg, void *ctx)
{
	struct dsb_repo_init_opts *o = ctx;
	unsigned long long v;
	int r;

	switch (opt) {
	case 0x2001:
		if ((r = parse_uint(c, "--kdf-log2n", arg, 22, &v)) != 0)
			return r;
		o->kdf.log2_n = (unsigned)v;
		return 0;
	case 0x2002:
		if ((r = parse_uint(c, "--chunk-avg", arg, 16u << 20, &v)) != 0)
			return r;
		o->chunker.avg = (uint32_t)v;
		o->chunker.min = (uint32_t)v / 2;
		o->chunker.max = (uint32_t)v * 8;
		return 0;
	case 0x2003:
		if ((r = parse_uint(c, "--pack-size", arg, 1u << 30, &v)) != 0)
			return r;
		o->pack_size = (uint32_t)v;
		return 0;
	case 0x2004:
		if ((r = parse_uint(c, "--compression", arg, 19, &v)) != 0)
			return r;
		o->compression = (int)v;
		return 0;
	default:
		return cli_usage_error(c, "invalid option");
	}
}

int cmd_init(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kdf-log2n", required_argument, NULL, 0x2001 },
		{ "chunk-avg", required_argument, NULL, 0x2002 },
		{ "pack-size", required_argument, NULL, 0x2003 },
		{ "compression", required_argument, NULL, 0x2004 },
		CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 }
	};
	struct dsb_repo_init_opts o;
	struct dsb_repo *repo = NULL;
	const char *url;
	int r;

	dsb_repo_init_opts_default(&o);
	if ((r = cli_parse(c, argc, argv, "r:qvh", longopts, init_option, &o)) != 0)
		return r == 1 ? 0 : r;
	if (optind != argc)
		return cli_usage_error(c, "init takes no arguments");
	if ((url = cli_repo(c)) == NULL)
		return DSB_ERR_USAGE;
	if (o.pack_size < (1u << 20))
		return cli_usage_error(c, "--pack-size must be at least 1 MiB");
	if ((r = cli_password(c, 1)) != 0)
		return r;
	if ((r = dsb_repo_init(url, c->password, c->passlen, &o, &repo)) != 0)
		return r;
	if (c->json)
		cli_print_json(json_pack("{s:s, s:s}", "id", dsb_repo_config(repo)->id, "repository", url));
	else if (!c->quiet)
		printf("created repository %s at %s\n", dsb_repo_config(repo)->id, url);
	dsb_repo_close(repo);
	return 0;
}
