/* cmd_config.c: dsbackup config check [FILE]; loading the configuration file for the other commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "commands.h"
#include "dsbackup/config.h"
#include "dsbackup/error.h"
#include "dsbackup/jobs.h"
#include "dsbackup/log.h"

static void print_problem(void *arg, const char *msg)
{
	(void)arg;
	dsb_log(DSB_LOG_ERROR, "%s", msg);
}

int cli_load_config(struct cli *c, const char *path, struct dsb_config **out)
{
	int r;

	path = dsb_config_path(path != NULL ? path : c->config);
	if ((r = dsb_config_load(path, out, print_problem, NULL)) != 0) {
		if (r == DSB_ERR_USAGE)
			dsb_error_clear();   /* every problem was printed */
		return r;
	}
	if ((r = dsb_jobs_apply_global(*out, c->quiet || c->verbose)) != 0) {
		dsb_config_free(*out);
		*out = NULL;
	}
	return r;
}

static void next_run(const struct dsb_config *cfg, const struct dsb_cron *cron, char *out, size_t n)
{
	int64_t t = dsb_cron_next(cron, (int64_t)time(NULL), cfg->utc);
	time_t tt = (time_t)t;
	struct tm tm;

	if (t < 0 || (cfg->utc ? gmtime_r(&tt, &tm) : localtime_r(&tt, &tm)) == NULL ||
	    strftime(out, n, cfg->utc ? "%Y-%m-%d %H:%M UTC" : "%Y-%m-%d %H:%M %Z", &tm) == 0)
		snprintf(out, n, "never");
}

static void print_summary(struct cli *c, const struct dsb_config *cfg)
{
	json_t *jobs = NULL;
	char when[64];
	size_t i, j;

	if (c->json)
		jobs = json_array();
	else
		printf("%s: ok: %zu repositor%s, %zu job%s\n", cfg->path, cfg->nrepos,
		    cfg->nrepos == 1 ? "y" : "ies", cfg->njobs, cfg->njobs == 1 ? "" : "s");
	for (i = 0; i < cfg->njobs; i++) {
		const struct dsb_config_job *job = &cfg->jobs[i];

		if (job->schedule != NULL)
			next_run(cfg, &job->cron, when, sizeof(when));
		if (c->json) {
			json_array_append_new(jobs, json_pack("{s:s, s:s?, s:s?}", "name", job->name,
			    "schedule", job->schedule, "next_run", job->schedule != NULL ? when : NULL));
			continue;
		}
		printf("job %s: ", job->name);
		for (j = 0; j < job->sources.n; j++)
			printf("%s%s", j > 0 ? ", " : "", job->sources.v[j]);
		printf(" -> ");
		for (j = 0; j < job->repositories.n; j++)
			printf("%s%s", j > 0 ? ", " : "", job->repositories.v[j]);
		if (job->schedule != NULL)
			printf("; schedule \"%s\", next run %s\n", job->schedule, when);
		else
			printf("; no schedule (backup --job or a timer)\n");
	}
	if (c->json)
		cli_print_json(json_pack("{s:s, s:b, s:I, s:o}", "path", cfg->path, "ok", 1,
		    "repositories", (json_int_t)cfg->nrepos, "jobs", jobs));
}

int cmd_config(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = { CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 } };
	struct dsb_config *cfg = NULL;
	int r;

	if ((r = cli_parse(c, argc, argv, "r:c:qvh", longopts, NULL, NULL)) != 0)
		return r == 1 ? 0 : r;
	if (optind >= argc || strcmp(argv[optind], "check") != 0)
		return cli_usage_error(c, "config needs a subcommand: check");
	if (argc - optind > 2)
		return cli_usage_error(c, "config check takes at most one FILE");
	if ((r = cli_load_config(c, optind + 1 < argc ? argv[optind + 1] : NULL, &cfg)) != 0)
		return r;
	if (!c->quiet || c->json)
		print_summary(c, cfg);
	dsb_config_free(cfg);
	return 0;
}
