/* cmd_prune.c: dsbackup prune [--dry-run] [--repack-below PERCENT] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "dsbackup/error.h"
#include "dsbackup/progress.h"

static int prune_option(struct cli *c, int opt, const char *arg, void *ctx)
{
	struct dsb_prune_opts *o = ctx;
	int64_t sec;
	char *end;
	double v;

	switch (opt) {
	case 'n': o->dry_run = 1; return 0;
	case 0x2001:
		errno = 0;
		v = strtod(arg, &end);
		if (*end == '%')
			end++;
		if (errno != 0 || end == arg || *end != '\0' || !(v >= 0 && v <= 100))
			return cli_usage_error(c, "--repack-below wants a percentage 0..100, not \"%s\"",
			    arg);
		o->repack_below = v == 0 ? -1 : v / 100;
		return 0;
	case 0x2002:
		if (cli_seconds(arg, &sec) != 0)
			return cli_usage_error(c, "--unindexed-grace: %s", dsb_errmsg());
		o->unindexed_grace_sec = sec == 0 ? -1 : sec;
		return 0;
	case 0x2f01: return cli_lock_wait(c, arg, &o->lock_wait_sec);
	default: return cli_usage_error(c, "invalid option");
	}
}

void cli_prune_report(struct cli *c, const struct dsb_prune_stats *st, int dry_run)
{
	char freed[32], total[32], repacked[32];

	if (c->json) {
		cli_print_json(json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		    "s:I, s:I}", "message_type", "prune", "dry_run", dry_run,
		    "snapshots", (json_int_t)st->snapshots,
		    "packs_deleted", (json_int_t)st->packs_deleted,
		    "packs_repacked", (json_int_t)st->packs_repacked,
		    "packs_kept", (json_int_t)st->packs_kept,
		    "packs_written", (json_int_t)st->packs_written,
		    "packs_waiting", (json_int_t)st->packs_waiting,
		    "bytes_total", (json_int_t)st->bytes_total,
		    "bytes_freed", (json_int_t)st->bytes_freed,
		    "bytes_repacked", (json_int_t)st->bytes_repacked,
		    "blobs_live", (json_int_t)st->blobs_live,
		    "blobs_dead", (json_int_t)st->blobs_dead,
		    "index_objects_replaced", (json_int_t)st->index_objects_replaced));
		return;
	}
	if (c->quiet)
		return;
	cli_bytes(st->bytes_freed, freed, sizeof(freed));
	cli_bytes(st->bytes_total, total, sizeof(total));
	cli_bytes(st->bytes_repacked, repacked, sizeof(repacked));
	printf("%s %llu snapshot(s): %llu live blob(s), %llu unused, in %s of packs\n",
	    dry_run ? "would prune for" : "pruned for", (unsigned long long)st->snapshots,
	    (unsigned long long)st->blobs_live, (unsigned long long)st->blobs_dead, total);
	printf("%s %llu pack(s), repack%s %llu (%s live, into %llu new), keep %llu; %s %s\n",
	    dry_run ? "would delete" : "deleted", (unsigned long long)st->packs_deleted,
	    dry_run ? "" : "ed", (unsigned long long)st->packs_repacked, repacked,
	    (unsigned long long)st->packs_written, (unsigned long long)st->packs_kept,
	    dry_run ? "would free about" : "freed", freed);
	if (st->packs_waiting > 0)
		printf("%llu unreferenced pack(s) in no index left for now: a prune deletes them once "
		    "they are older than the grace period\n", (unsigned long long)st->packs_waiting);
}

int cmd_prune(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "repack-below", required_argument, NULL, 0x2001 },
		{ "unindexed-grace", required_argument, NULL, 0x2002 },
		{ "retry-lock", required_argument, NULL, 0x2f01 },
		CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 }
	};
	struct dsb_prune_opts o;
	struct dsb_prune_stats st;
	struct dsb_session *s = NULL;
	int r;

	memset(&o, 0, sizeof(o));
	if ((r = cli_parse(c, argc, argv, "r:qvhn", longopts, prune_option, &o)) != 0)
		return r == 1 ? 0 : r;
	if (optind != argc)
		return cli_usage_error(c, "prune takes no arguments");
	if (o.lock_wait_sec == 0 && (r = cli_lock_wait(c, NULL, &o.lock_wait_sec)) != 0)
		return r;
	if ((r = cli_open(c, &s)) != 0)
		return r;
	cli_progress_start(c, "prune");
	r = dsb_prune(s, &o, &st);
	dsb_progress_stop();
	if (r == 0)
		cli_prune_report(c, &st, o.dry_run);
	dsb_session_close(s);
	return r;
}
