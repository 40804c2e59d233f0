/*
 * cmd_restore_source.c: dsbackup restore SNAPSHOT|latest --source SPEC
 * [--to-volume NEW] [--force] [--target DIR], and restore latest --docker
 * [--host NAME] [--dry-run] (the engine side: src/engine/source_restore.c).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "dsbackup/error.h"

static void print_plan(void *arg, const char *line)
{
	(void)arg;
	printf("%s\n", line);
}

int cli_source_snapshot(struct dsb_session *s, const char *name, const char *source,
    const char *host, struct dsb_snapshot *out)
{
	int r;

	if (strcmp(name, "latest") == 0)
		r = dsb_source_latest(s, source, host, out);
	else
		r = dsb_session_snapshot(s, name, out);
	if (r != 0)
		return r;
	if (out->source == NULL || strcmp(out->source, source) != 0) {
		r = dsb_error(DSB_ERR_USAGE, "snapshot %.8s is %s%s, not of %s", out->id,
		    out->source ? "of source " : "not of a source", out->source ? out->source : "", source);
		dsb_snapshot_release(out);
	}
	return r;
}

static int restore_one(struct dsb_session *s, const char *name, const struct dsb_source_restore_opts *so,
    const char *source, struct dsb_restore_stats *st, char id[65])
{
	struct dsb_snapshot snap;
	int r;

	if ((r = cli_source_snapshot(s, name, source, so->host, &snap)) != 0)
		return r;
	snprintf(id, 65, "%s", snap.id);
	r = dsb_source_restore(s, &snap, so, st);
	dsb_snapshot_release(&snap);
	return r;
}

int cmd_restore_source(struct cli *c, const char *name, struct dsb_source_restore_opts *so,
    const char *source, int docker)
{
	struct dsb_restore_stats st;
	struct dsb_session *s = NULL;
	char bytes[32], id[65] = "";
	int r;

	memset(&st, 0, sizeof(st));
	if (docker && source != NULL)
		return cli_usage_error(c, "give either --source or --docker");
	if (docker && strcmp(name, "latest") != 0)
		return cli_usage_error(c, "restore --docker restores the latest run: use \"latest\"");
	if (so->to_volume != NULL && (docker || strncmp(source, "volume:", 7) != 0))
		return cli_usage_error(c, "--to-volume applies to --source volume:NAME");
	if (so->dry_run) {
		so->plan = print_plan;
		so->arg = c;
	}
	if ((r = cli_open(c, &s)) != 0)
		return r;
	if ((r = dsb_session_require_read(s)) != 0) {
		dsb_session_close(s);
		return r;
	}
	if (docker)
		r = dsb_docker_restore_latest(s, so, &st);
	else
		r = restore_one(s, name, so, source, &st, id);
	if (so->dry_run) {
		/* the plan was printed */
	} else if (c->json) {
		cli_print_json(json_pack("{s:s, s:s?, s:s, s:I, s:I, s:I, s:I, s:I}", "message_type",
		    "summary", "snapshot_id", id[0] ? id : NULL, "source", docker ? "docker" : source,
		    "files", (json_int_t)st.files, "dirs", (json_int_t)st.dirs, "other", (json_int_t)st.other,
		    "bytes", (json_int_t)st.bytes, "errors", (json_int_t)st.errors));
	} else if (!c->quiet || r != 0) {
		cli_bytes(st.bytes, bytes, sizeof(bytes));
		printf("restored %s%s%.8s: %llu files, %llu dirs, %llu other, %s, %llu error(s)\n",
		    docker ? "the latest Docker run" : source, id[0] ? " from snapshot " : "", id,
		    (unsigned long long)st.files, (unsigned long long)st.dirs, (unsigned long long)st.other,
		    bytes, (unsigned long long)st.errors);
	}
	dsb_session_close(s);
	return r;
}
