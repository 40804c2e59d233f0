/* cmd_run.c: dsbackup run -- the scheduler daemon (sched.h); run --prune REPOSITORY. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "dsbackup/config.h"
#include "dsbackup/error.h"
#include "dsbackup/jobs.h"
#include "dsbackup/sched.h"

static int run_option(struct cli *c, int opt, const char *arg, void *ctx)
{
	if (opt != 0x3101)
		return cli_usage_error(c, "invalid option");
	*(const char **)ctx = arg;
	return 0;
}

/* prune_now(c, name): prune one configured repository. */
static int prune_now(struct cli *c, const char *name)
{
	const struct dsb_config_repo *repo;
	struct dsb_config *cfg = NULL;
	int r;

	if ((r = cli_load_config(c, NULL, &cfg)) != 0)
		return r;
	if ((repo = dsb_config_repo(cfg, name)) == NULL)
		r = dsb_error(DSB_ERR_USAGE, "no [repository %s] in %s", name, cfg->path);
	else
		r = dsb_job_prune(cfg, repo);
	dsb_config_free(cfg);
	return r;
}

int cmd_run(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "prune", required_argument, NULL, 0x3101 },
		CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 }
	};
	struct dsb_sched_opts o;
	const char *prune = NULL;
	int r;

	if ((r = cli_parse(c, argc, argv, "r:c:qvh", longopts, run_option, &prune)) != 0)
		return r == 1 ? 0 : r;
	if (optind < argc)
		return cli_usage_error(c, "run takes no arguments");
	if (prune != NULL)
		return prune_now(c, prune);
	memset(&o, 0, sizeof(o));
	o.config_path = dsb_config_path(c->config);
	o.log_level_given = c->quiet || c->verbose;
	o.quiet = c->quiet;
	o.verbose = c->verbose;
	r = dsb_sched_run(&o);
	if (r == DSB_ERR_USAGE)
		dsb_error_clear();   /* the problems of the file were printed */
	return r;
}
