/* cmd_unlock.c: dsbackup unlock [--all] */
#include <stdio.h>

#include "commands.h"
#include "dsbackup/error.h"

static int unlock_option(struct cli *c, int opt, const char *arg, void *ctx)
{
	(void)arg;
	if (opt == 0x2001) {
		*(int *)ctx = 1;
		return 0;
	}
	return cli_usage_error(c, "invalid option");
}

int cmd_unlock(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 0x2001 },
		CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 }
	};
	struct dsb_repo *repo = NULL;
	int r, all = 0, removed = 0;

	if ((r = cli_parse(c, argc, argv, "r:qvh", longopts, unlock_option, &all)) != 0)
		return r == 1 ? 0 : r;
	if (optind != argc)
		return cli_usage_error(c, "unlock takes no arguments");
	if ((r = cli_open_repo(c, &repo)) != 0)
		return r;
	if ((r = dsb_repo_unlock_stale(repo, all, &removed)) == 0 && !c->quiet)
		printf("removed %d lock(s)\n", removed);
	dsb_repo_close(repo);
	return r;
}
