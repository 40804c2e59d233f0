/* cmd_backup.c: dsbackup backup PATH... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "dsbackup/error.h"
#include "dsbackup/progress.h"
#include "dsbackup/util.h"

struct backup_args {
	struct dsb_backup_opts o;
	const char **tags, **excludes;
	size_t ntags, nexcludes;
	const char **sources;         /* --source SPEC (sources_run.c) */
	size_t nsources;
	const char **escrow;          /* --escrow-recipient R */
	size_t nescrow;
	int docker;                   /* --docker */
};

static int push(const char ***v, size_t *n, const char *s)
{
	const char **p = realloc(*v, (*n + 1) * sizeof(*p));

	if (p == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	p[(*n)++] = s;
	*v = p;
	return 0;
}

static int backup_option(struct cli *c, int opt, const char *arg, void *ctx)
{
	struct backup_args *a = ctx;

	switch (opt) {
	case 0x2001: return push(&a->tags, &a->ntags, arg);
	case 0x2002: a->o.host = arg; return 0;
	case 0x2003: return push(&a->excludes, &a->nexcludes, arg);
	case 'x': a->o.one_file_system = 1; return 0;
	case 0x2004:
		if (dsb_time_parse(arg, &a->o.time_sec, &a->o.time_nsec) != 0)
			return cli_usage_error(c, "%s", dsb_errmsg());
		a->o.has_time = 1;
		return 0;
	case 0x2005: a->o.parent = arg; return 0;
	case 0x2006: return push(&a->sources, &a->nsources, arg);
	case 0x2007: a->docker = 1; return 0;
	case 0x2008: return push(&a->escrow, &a->nescrow, arg);
	case 0x2f01: return cli_lock_wait(c, arg, &a->o.lock_wait_sec);
	default: return cli_usage_error(c, "invalid option");
	}
}

static void print_summary(struct cli *c, const char *id, const struct dsb_backup_stats *st, int r,
    const char *source)
{
	char rd[32], ad[32];

	if (c->json) {
		cli_print_json(json_pack("{s:s, s:s, s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		    "message_type", "summary", "snapshot_id", id, "source", source,
		    "files", (json_int_t)st->files, "dirs", (json_int_t)st->dirs,
		    "files_new", (json_int_t)st->files_new, "files_changed", (json_int_t)st->files_changed,
		    "files_unchanged", (json_int_t)st->files_unchanged,
		    "bytes_read", (json_int_t)st->bytes_read, "bytes_added", (json_int_t)st->bytes_added,
		    "blobs_added", (json_int_t)st->blobs_added, "packs_added", (json_int_t)st->packs_added,
		    "errors", (json_int_t)st->errors));
		return;
	}
	if (c->quiet && r == 0)
		return;
	cli_bytes(st->bytes_read, rd, sizeof(rd));
	cli_bytes(st->bytes_added, ad, sizeof(ad));
	printf("snapshot %.8s saved: %llu files (%llu new, %llu changed, %llu unchanged), %llu dirs\n"
	    "read %s, added %s to the repository in %llu blobs and %llu packs%s\n", id,
	    (unsigned long long)st->files, (unsigned long long)st->files_new,
	    (unsigned long long)st->files_changed, (unsigned long long)st->files_unchanged,
	    (unsigned long long)st->dirs, rd, ad, (unsigned long long)st->blobs_added,
	    (unsigned long long)st->packs_added, st->errors ? "" : "");
	if (st->errors > 0)
		printf("%llu file(s) could not be read: the snapshot lacks them\n",
		    (unsigned long long)st->errors);
}

static void source_done(void *arg, const char *spec, const char *id, const struct dsb_backup_stats *st,
    int r)
{
	struct cli *c = arg;

	if (id[0] == '\0')
		return;   /* no snapshot: the failure was logged */
	if (!c->json && (!c->quiet || r != 0))
		printf("%s: ", spec);
	print_summary(c, id, st, r, spec);
}

/* backup --source SPEC... / --docker: one snapshot per source (dsb_sources_run) */
static int backup_sources(struct cli *c, struct backup_args *a, int noperands)
{
	struct dsb_sources_run_opts so;
	struct dsb_session *s = NULL;
	char run_id[33];
	int r;

	if (noperands > 0)
		return cli_usage_error(c, "give either PATHs or --source/--docker, not both");
	if (a->o.parent != NULL)
		return cli_usage_error(c, "--parent applies to PATH backups only");
	a->o.tags = a->tags;
	a->o.ntags = a->ntags;
	a->o.excludes = a->excludes;
	a->o.nexcludes = a->nexcludes;
	memset(&so, 0, sizeof(so));
	so.specs = a->sources;
	so.nspecs = a->nsources;
	so.docker = a->docker;
	so.base = &a->o;
	so.done = source_done;
	so.arg = c;
	if ((r = cli_open(c, &s)) != 0)
		return r;
	cli_progress_start(c, "backup");
	r = dsb_sources_run(s, &so, run_id);
	dsb_progress_stop();
	if (!c->json && !c->quiet && run_id[0] != '\0')
		printf("run %s\n", run_id);
	dsb_session_close(s);
	return r;
}

int cmd_backup(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tag", required_argument, NULL, 0x2001 },
		{ "host", required_argument, NULL, 0x2002 },
		{ "exclude", required_argument, NULL, 0x2003 },
		{ "one-file-system", no_argument, NULL, 'x' },
		{ "time", required_argument, NULL, 0x2004 },
		{ "parent", required_argument, NULL, 0x2005 },
		{ "source", required_argument, NULL, 0x2006 },
		{ "docker", no_argument, NULL, 0x2007 },
		{ "escrow-recipient", required_argument, NULL, 0x2008 },
		{ "retry-lock", required_argument, NULL, 0x2f01 },
		CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 }
	};
	struct backup_args a;
	struct dsb_backup_stats st;
	struct dsb_session *s = NULL;
	char id[65] = "";
	int r;

	if (cli_has_job(argc, argv))
		return cmd_backup_job(c, argc, argv);   /* backup --job NAME: cmd_job.c */
	memset(&a, 0, sizeof(a));
	if ((r = cli_parse(c, argc, argv, "r:qvhx", longopts, backup_option, &a)) != 0) {
		r = r == 1 ? 0 : r;
		goto out;
	}
	if (a.nsources == 0 && !a.docker && optind >= argc) {
		r = cli_usage_error(c, "backup needs at least one PATH");
		goto out;
	}
	if (a.o.lock_wait_sec == 0 && (r = cli_lock_wait(c, NULL, &a.o.lock_wait_sec)) != 0)
		goto out;
	a.o.escrow_recipients = a.escrow;
	a.o.nescrow_recipients = a.nescrow;
	if (a.nsources > 0 || a.docker) {
		r = backup_sources(c, &a, argc - optind);
		goto out;
	}
	a.o.paths = (const char *const *)(argv + optind);
	a.o.npaths = (size_t)(argc - optind);
	a.o.tags = a.tags;
	a.o.ntags = a.ntags;
	a.o.excludes = a.excludes;
	a.o.nexcludes = a.nexcludes;
	if ((r = cli_open(c, &s)) != 0)
		goto out;
	cli_progress_start(c, "backup");
	r = dsb_backup(s, &a.o, id, &st);
	dsb_progress_stop();
	if (r == 0 || r == DSB_ERR_PARTIAL)
		print_summary(c, id, &st, r, NULL);
out:
	dsb_session_close(s);
	free(a.tags);
	free(a.excludes);
	free(a.sources);
	free(a.escrow);
	return r;
}
