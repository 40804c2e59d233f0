/* cmd_diff.c: dsbackup diff SNAPSHOT1 SNAPSHOT2 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "dsbackup/error.h"
#include "dsbackup/inspect.h"

static int show_change(void *arg, const struct dsb_diff_change *ch)
{
	struct cli *c = arg;
	const struct dsb_node *n = ch->new_node != NULL ? ch->new_node : ch->old_node;
	char kind[2] = { (char)ch->kind, '\0' };

	if (c->json) {
		/* restic's diff --json: {"message_type":"change","path":...,"modifier":...} */
		cli_print_json_with_path(json_pack("{s:s, s:s, s:s}", "message_type", "change",
		    "modifier", kind, "type", dsb_node_type_name(n->type)), ch->path);
		return 0;
	}
	printf("%s    %s%s\n", kind, ch->path, n->type == DSB_NODE_DIR ? "/" : "");
	return 0;
}

static void show_summary(struct cli *c, const struct dsb_snapshot *a, const struct dsb_snapshot *b,
    const struct dsb_diff_stats *st)
{
	char added[32], removed[32];

	if (c->json) {
		cli_print_json(json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		    "message_type", "statistics", "source_snapshot", a->id, "target_snapshot", b->id,
		    "added", (json_int_t)st->added, "removed", (json_int_t)st->removed,
		    "modified", (json_int_t)st->modified, "metadata", (json_int_t)st->metadata,
		    "bytes_added", (json_int_t)st->bytes_added,
		    "bytes_removed", (json_int_t)st->bytes_removed,
		    "trees_skipped", (json_int_t)st->trees_skipped));
		return;
	}
	cli_bytes(st->bytes_added, added, sizeof(added));
	cli_bytes(st->bytes_removed, removed, sizeof(removed));
	printf("\n%.8s -> %.8s: %llu added (+), %llu removed (-), %llu modified (M), "
	    "%llu metadata only (U); %s added, %s removed\n", a->id, b->id,
	    (unsigned long long)st->added, (unsigned long long)st->removed,
	    (unsigned long long)st->modified, (unsigned long long)st->metadata, added, removed);
}

int cmd_diff(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = { CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 } };
	struct dsb_session *s = NULL;
	struct dsb_snapshot a, b;
	struct dsb_diff_stats st;
	int r, have_a = 0, have_b = 0;

	if ((r = cli_parse(c, argc, argv, "r:qvh", longopts, NULL, NULL)) != 0)
		return r == 1 ? 0 : r;
	if (argc - optind != 2)
		return cli_usage_error(c, "diff needs two SNAPSHOTs");
	if ((r = cli_open(c, &s)) != 0)
		return r;
	if ((r = dsb_session_snapshot(s, argv[optind], &a)) != 0)
		goto out;
	have_a = 1;
	if ((r = dsb_session_snapshot(s, argv[optind + 1], &b)) != 0)
		goto out;
	have_b = 1;
	if ((r = dsb_diff(s, &a, &b, show_change, c, &st)) != 0)
		goto out;
	show_summary(c, &a, &b, &st);
out:
	if (have_a)
		dsb_snapshot_release(&a);
	if (have_b)
		dsb_snapshot_release(&b);
	dsb_session_close(s);
	return r;
}
