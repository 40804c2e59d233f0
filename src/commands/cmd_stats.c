/* cmd_stats.c: dsbackup stats: sizes, dedup and compression, growth per source and host */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "dsbackup/error.h"
#include "dsbackup/inspect.h"
#include "dsbackup/util.h"

/* the groups as JSON, which the human output is printed from too */
struct stats_out {
	json_t *sources;   /* array, by host then source */
	json_t *hosts;     /* object: host -> {snapshots, latest_bytes, bytes_added} */
};

static int add_to(json_t *o, const char *key, uint64_t n)
{
	return json_object_set_new(o, key, json_integer(json_integer_value(json_object_get(o, key)) +
	    (json_int_t)n));
}

static int collect_group(void *arg, const struct dsb_stats_group *g)
{
	struct stats_out *o = arg;
	json_t *h = json_object_get(o->hosts, g->host);

	if (h == NULL && (json_object_set_new(o->hosts, g->host, json_object()) != 0 ||
	    (h = json_object_get(o->hosts, g->host)) == NULL))
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	if (add_to(h, "snapshots", g->snapshots) != 0 || add_to(h, "latest_bytes", g->latest_bytes) != 0 ||
	    add_to(h, "bytes_added", g->bytes_added) != 0 ||
	    json_array_append_new(o->sources, json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:I, s:I, s:I, "
	    "s:I}", "host", g->host, "source", g->what, "snapshots", (json_int_t)g->snapshots,
	    "first", (json_int_t)g->first, "last", (json_int_t)g->last, "latest_id", g->latest_id,
	    "latest_files", (json_int_t)g->latest_files, "latest_bytes", (json_int_t)g->latest_bytes,
	    "first_bytes", (json_int_t)g->first_bytes, "bytes_added", (json_int_t)g->bytes_added)) != 0)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	return 0;
}

static uint64_t field(json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 ? (uint64_t)v : 0;
}

static void print_sources(json_t *sources)
{
	char first[64], last[64], latest[32], growth[32], added[32];
	uint64_t fb, lb;
	size_t i;
	json_t *g;

	printf("\nper source:\n  %-16s %-28s %5s  %-22s  %10s  %-11s  %10s\n", "HOST",
	    "SOURCE/PATHS", "SNAPS", "FIRST..LAST", "LATEST", "GROWTH", "STORED");
	json_array_foreach(sources, i, g) {
		dsb_time_format((int64_t)field(g, "first"), 0, first, sizeof(first));
		dsb_time_format((int64_t)field(g, "last"), 0, last, sizeof(last));
		fb = field(g, "first_bytes");
		lb = field(g, "latest_bytes");
		cli_bytes(lb, latest, sizeof(latest));
		cli_bytes(lb >= fb ? lb - fb : fb - lb, growth, sizeof(growth));
		cli_bytes(field(g, "bytes_added"), added, sizeof(added));
		printf("  %-16s %-28s %5llu  %.10s..%.10s  %10s  %c%-10s  %10s\n",
		    json_string_value(json_object_get(g, "host")),
		    json_string_value(json_object_get(g, "source")),
		    (unsigned long long)field(g, "snapshots"), first, last, latest,
		    lb >= fb ? '+' : '-', growth, added);
	}
}

static void print_hosts(json_t *hosts)
{
	char latest[32], added[32];
	const char *host;
	json_t *h;

	printf("\nper host:\n  %-16s %5s  %10s  %10s\n", "HOST", "SNAPS", "LATEST", "STORED");
	json_object_foreach(hosts, host, h) {
		cli_bytes(field(h, "latest_bytes"), latest, sizeof(latest));
		cli_bytes(field(h, "bytes_added"), added, sizeof(added));
		printf("  %-16s %5llu  %10s  %10s\n", host, (unsigned long long)field(h, "snapshots"),
		    latest, added);
	}
}

static void print_totals(const struct dsb_stats *st)
{
	const struct dsb_catalog_totals *t = &st->totals;
	char packs[32], raw[32], stored[32], latest[32], all[32];

	cli_bytes(t->pack_bytes, packs, sizeof(packs));
	cli_bytes(t->data_raw_bytes, raw, sizeof(raw));
	cli_bytes(t->data_stored_bytes, stored, sizeof(stored));
	cli_bytes(st->logical_latest, latest, sizeof(latest));
	cli_bytes(st->logical_all, all, sizeof(all));
	printf("repository size:   %s in %llu pack(s)\n", packs, (unsigned long long)t->packs);
	printf("snapshots:         %llu\n", (unsigned long long)t->snapshots);
	printf("blobs:             %llu (%llu data, %llu trees)\n", (unsigned long long)t->blobs,
	    (unsigned long long)t->data_blobs, (unsigned long long)t->tree_blobs);
	printf("logical size:      %s in the latest snapshots, %s in all\n", latest, all);
	printf("deduplication:     %.2fx (all snapshots / %s of unique data)\n", st->dedup_ratio, raw);
	printf("compression:       %.2fx (unique data / %s stored)\n", st->compression_ratio, stored);
	if (st->unlisted > 0)
		printf("(%llu snapshot(s) left out of the logical sizes: their trees could not be read)\n",
		    (unsigned long long)st->unlisted);
}

static void print_json(struct stats_out *o, const struct dsb_stats *st)
{
	const struct dsb_catalog_totals *t = &st->totals;

	cli_print_json(json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, "
	    "s:I, s:O, s:O}", "message_type", "stats",
	    "total_size", (json_int_t)t->pack_bytes, "packs", (json_int_t)t->packs,
	    "snapshots", (json_int_t)t->snapshots, "blobs", (json_int_t)t->blobs,
	    "data_blobs", (json_int_t)t->data_blobs, "tree_blobs", (json_int_t)t->tree_blobs,
	    "uncompressed_size", (json_int_t)t->data_raw_bytes,
	    "compressed_size", (json_int_t)t->data_stored_bytes,
	    "logical_size_latest", (json_int_t)st->logical_latest,
	    "logical_size_all", (json_int_t)st->logical_all,
	    "dedup_ratio", st->dedup_ratio, "compression_ratio", st->compression_ratio,
	    "snapshots_without_listing", (json_int_t)st->unlisted,
	    "sources", o->sources, "hosts", o->hosts));
}

int cmd_stats(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = { CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 } };
	struct stats_out o = { NULL, NULL };
	struct dsb_session *s = NULL;
	struct dsb_stats st;
	int r;

	if ((r = cli_parse(c, argc, argv, "r:qvh", longopts, NULL, NULL)) != 0)
		return r == 1 ? 0 : r;
	if (optind != argc)
		return cli_usage_error(c, "stats takes no arguments");
	if ((r = cli_open(c, &s)) != 0)
		return r;
	if ((o.sources = json_array()) == NULL || (o.hosts = json_object()) == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = dsb_stats(s, &st, collect_group, &o)) != 0)
		goto out;
	if (c->json) {
		print_json(&o, &st);
	} else {
		print_totals(&st);
		print_sources(o.sources);
		print_hosts(o.hosts);
	}
out:
	json_decref(o.sources);
	json_decref(o.hosts);
	dsb_session_close(s);
	return r;
}
