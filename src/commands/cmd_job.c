/* cmd_job.c: dsbackup backup --job NAME -- one run of a job of the configuration file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "dsbackup/config.h"
#include "dsbackup/error.h"
#include "dsbackup/jobs.h"

int cli_has_job(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--job") == 0 || strncmp(argv[i], "--job=", 6) == 0)
			return 1;
	return 0;
}

static int job_option(struct cli *c, int opt, const char *arg, void *ctx)
{
	if (opt != 0x3001)
		return cli_usage_error(c, "with --job, only global options are accepted (the job's "
		    "settings come from the configuration file)");
	*(const char **)ctx = arg;
	return 0;
}

static void print_run(struct cli *c, json_t *rep, int r)
{
	json_t *s, *repos = json_object_get(rep, "repositories");
	char added[32];
	json_int_t total = 0;
	size_t i;

	if (c->quiet && r == 0)
		return;
	json_array_foreach(json_object_get(rep, "snapshots"), i, s)
		printf("snapshot %.8s of %s saved in repository %s\n",
		    json_string_value(json_object_get(s, "id")),
		    json_string_value(json_object_get(s, "source")),
		    json_string_value(json_object_get(s, "repository")));
	json_array_foreach(repos, i, s)
		total += json_integer_value(json_object_get(s, "bytes_added"));
	cli_bytes((uint64_t)total, added, sizeof(added));
	printf("job %s: %s: %zu snapshot(s) in %zu repositor%s, added %s, in %llds\n",
	    json_string_value(json_object_get(rep, "job")),
	    json_string_value(json_object_get(rep, "result")),
	    json_array_size(json_object_get(rep, "snapshots")), json_array_size(repos),
	    json_array_size(repos) == 1 ? "y" : "ies", added,
	    (long long)json_integer_value(json_object_get(rep, "duration_seconds")));
}

int cmd_backup_job(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "job", required_argument, NULL, 0x3001 },
		CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 }
	};
	const struct dsb_config_job *job;
	struct dsb_config *cfg = NULL;
	const char *name = NULL;
	json_t *rep = NULL;
	size_t i;
	int r;

	if ((r = cli_parse(c, argc, argv, "r:c:qvh", longopts, job_option, &name)) != 0)
		return r == 1 ? 0 : r;
	if (optind < argc)
		return cli_usage_error(c, "backup --job takes no PATH (the job names its sources)");
	if (c->repo != NULL)
		return cli_usage_error(c, "backup --job writes to the job's repositories: -r is not "
		    "used with it");
	if ((r = cli_load_config(c, NULL, &cfg)) != 0)
		return r;
	if ((job = dsb_config_job(cfg, name)) == NULL) {
		fprintf(stderr, "dsbackup: no [job %s] in %s; jobs:", name, cfg->path);
		for (i = 0; i < cfg->njobs; i++)
			fprintf(stderr, " %s", cfg->jobs[i].name);
		fprintf(stderr, "%s\n", cfg->njobs == 0 ? " none" : "");
		dsb_config_free(cfg);
		return DSB_ERR_USAGE;
	}
	r = dsb_job_run(cfg, job, &rep);
	if (rep != NULL) {
		if (c->json)
			cli_print_json(json_incref(rep));
		else
			print_run(c, rep, r);
	}
	json_decref(rep);
	dsb_config_free(cfg);
	return r;
}
