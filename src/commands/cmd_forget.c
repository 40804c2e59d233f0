/* cmd_forget.c: dsbackup forget --keep-* ... [--dry-run] [--prune] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "dsbackup/error.h"
#include "dsbackup/util.h"

struct forget_args {
	struct dsb_forget_opts o;
	const char **tags;
	size_t ntags;
	int prune;
	/* output */
	struct cli *c;
	json_t *groups;            /* --json: the array of groups */
	json_t *group;             /* the group being filled */
	char *group_key;
	size_t kept, removed, group_kept, group_removed;
};

static int parse_count(struct cli *c, const char *opt, const char *arg, int *out)
{
	char *end;
	long v;

	if (strcmp(arg, "unlimited") == 0) {
		*out = -1;
		return 0;
	}
	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < -1 || v > 1000000000)
		return cli_usage_error(c, "--%s wants a count (or -1 or \"unlimited\"), not \"%s\"",
		    opt, arg);
	*out = (int)v;
	return 0;
}

static int forget_option(struct cli *c, int opt, const char *arg, void *ctx)
{
	struct forget_args *a = ctx;
	struct dsb_forget_policy *p = &a->o.policy;
	const char **v;

	switch (opt) {
	case 0x2001: return parse_count(c, "keep-last", arg, &p->keep_last);
	case 0x2002: return parse_count(c, "keep-hourly", arg, &p->keep_hourly);
	case 0x2003: return parse_count(c, "keep-daily", arg, &p->keep_daily);
	case 0x2004: return parse_count(c, "keep-weekly", arg, &p->keep_weekly);
	case 0x2005: return parse_count(c, "keep-monthly", arg, &p->keep_monthly);
	case 0x2006: return parse_count(c, "keep-yearly", arg, &p->keep_yearly);
	case 0x2007:
		if (dsb_forget_parse_within(arg, &p->keep_within) != 0)
			return cli_usage_error(c, "--keep-within: %s", dsb_errmsg());
		return 0;
	case 0x2008:
		if ((v = realloc(a->tags, (a->ntags + 1) * sizeof(*v))) == NULL)
			return dsb_error(DSB_ERR_NOMEM, "out of memory");
		v[a->ntags++] = arg;
		a->tags = v;
		return 0;
	case 0x2009: a->o.group_by = arg; return 0;
	case 0x200a: a->o.host = arg; return 0;
	case 0x200b: a->o.source = arg; return 0;
	case 'n': a->o.dry_run = 1; return 0;
	case 0x200c: a->prune = 1; return 0;
	case 0x2f01: return cli_lock_wait(c, arg, &a->o.lock_wait_sec);
	default: return cli_usage_error(c, "invalid option");
	}
}

static json_t *strings(char **v, size_t n)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(arr, json_string(v[i]));
	return arr;
}

/* reasons_json(text): "last, daily" -> ["last", "daily"] */
static json_t *reasons_json(const char *text)
{
	json_t *arr = json_array();
	const char *p = text, *end;

	while (*p != '\0') {
		end = strstr(p, ", ");
		json_array_append_new(arr, json_stringn(p, end != NULL ? (size_t)(end - p) : strlen(p)));
		if (end == NULL)
			break;
		p = end + 2;
	}
	return arr;
}

static json_t *snapshot_json(const struct dsb_forget_decision *d)
{
	const struct dsb_snapshot *s = d->snap;
	char ts[64];
	json_t *o;

	dsb_time_format(s->time_sec, s->time_nsec, ts, sizeof(ts));
	o = json_pack("{s:s, s:s%, s:s, s:s, s:o, s:o}", "id", s->id, "short_id", s->id, (size_t)8,
	    "time", ts, "host", s->host, "paths", strings(s->paths, s->npaths),
	    "tags", strings(s->tags, s->ntags));
	if (o != NULL && s->source != NULL)
		json_object_set_new(o, "source", json_string(s->source));
	if (o != NULL && d->keep)
		json_object_set_new(o, "reasons", reasons_json(d->reasons));
	return o;
}

/* print_group_heading(key): "host h, paths /srv /etc:" from the group key's JSON */
static void print_group_heading(const char *key)
{
	static const char *const fields[] = { "host", "source", "paths", "tags" };
	json_t *k = json_loads(key, 0, NULL), *v, *e;
	size_t i, j, shown = 0;

	if (!json_is_object(k)) {
		printf("snapshots of %s:\n", key);
		json_decref(k);
		return;
	}
	printf("snapshots");
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if ((v = json_object_get(k, fields[i])) == NULL)
			continue;
		printf("%s %s", shown++ ? "," : " of", fields[i]);
		if (json_is_string(v))
			printf(" %s", json_string_value(v));
		else if (json_is_array(v) && json_array_size(v) > 0)
			json_array_foreach(v, j, e)
				printf(" %s", json_is_string(e) ? json_string_value(e) : "?");
		else
			printf(" (none)");
	}
	printf("%s:\n", shown ? "" : " (not grouped)");
	json_decref(k);
}

/* end_group(a): finish the group being shown */
static void end_group(struct forget_args *a)
{
	if (a->group_key == NULL)
		return;
	if (a->groups != NULL) {
		json_array_append_new(a->groups, a->group);
		a->group = NULL;
	} else if (!a->c->quiet) {
		printf("%zu kept, %zu %sremoved\n\n", a->group_kept, a->group_removed,
		    a->o.dry_run ? "to be " : "");
	}
	free(a->group_key);
	a->group_key = NULL;
}

static int start_group(struct forget_args *a, const char *key)
{
	json_t *k;

	end_group(a);
	if ((a->group_key = dsb_strdup(key)) == NULL)
		return DSB_ERR_NOMEM;
	a->group_kept = a->group_removed = 0;
	if (a->groups != NULL) {
		if ((k = json_loads(key, 0, NULL)) == NULL)
			k = json_string(key);
		a->group = json_pack("{s:o, s:[], s:[]}", "group_key", k, "keep", "remove");
		return a->group != NULL ? 0 : dsb_error(DSB_ERR_NOMEM, "out of memory");
	}
	if (!a->c->quiet)
		print_group_heading(key);
	return 0;
}

static int show_decision(void *arg, const struct dsb_forget_decision *d)
{
	struct forget_args *a = arg;
	char ts[64];
	int r;

	if ((a->group_key == NULL || strcmp(a->group_key, d->group) != 0) &&
	    (r = start_group(a, d->group)) != 0)
		return r;
	if (d->keep) {
		a->kept++;
		a->group_kept++;
	} else {
		a->removed++;
		a->group_removed++;
	}
	if (a->groups != NULL)
		return json_array_append_new(json_object_get(a->group, d->keep ? "keep" : "remove"),
		    snapshot_json(d)) == 0 ? 0 : dsb_error(DSB_ERR_NOMEM, "out of memory");
	if (a->c->quiet)
		return 0;
	dsb_time_format(d->snap->time_sec, d->snap->time_nsec, ts, sizeof(ts));
	ts[19] = '\0';
	printf("  %-6s  %.8s  %s  %s\n", d->keep ? "keep" : "remove", d->snap->id, ts, d->reasons);
	return 0;
}

static int run_prune(struct cli *c, struct dsb_session *s)
{
	struct dsb_prune_opts po;
	struct dsb_prune_stats st;
	int r;

	memset(&po, 0, sizeof(po));
	if ((r = cli_lock_wait(c, NULL, &po.lock_wait_sec)) != 0)
		return r;
	if ((r = dsb_prune(s, &po, &st)) == 0)
		cli_prune_report(c, &st, 0);
	return r;
}

int cmd_forget(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "keep-last", required_argument, NULL, 0x2001 },
		{ "keep-hourly", required_argument, NULL, 0x2002 },
		{ "keep-daily", required_argument, NULL, 0x2003 },
		{ "keep-weekly", required_argument, NULL, 0x2004 },
		{ "keep-monthly", required_argument, NULL, 0x2005 },
		{ "keep-yearly", required_argument, NULL, 0x2006 },
		{ "keep-within", required_argument, NULL, 0x2007 },
		{ "keep-tag", required_argument, NULL, 0x2008 },
		{ "group-by", required_argument, NULL, 0x2009 },
		{ "host", required_argument, NULL, 0x200a },
		{ "source", required_argument, NULL, 0x200b },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "prune", no_argument, NULL, 0x200c },
		{ "retry-lock", required_argument, NULL, 0x2f01 },
		CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 }
	};
	struct forget_args a;
	struct dsb_session *s = NULL;
	int r;

	memset(&a, 0, sizeof(a));
	a.c = c;
	if ((r = cli_parse(c, argc, argv, "r:qvhn", longopts, forget_option, &a)) != 0) {
		r = r == 1 ? 0 : r;
		goto out;
	}
	if (optind != argc) {
		r = cli_usage_error(c, "forget takes no arguments (removing snapshots by id is not "
		    "supported; use a --keep-* policy)");
		goto out;
	}
	a.o.policy.keep_tags = a.tags;
	a.o.policy.nkeep_tags = a.ntags;
	if (a.o.lock_wait_sec == 0 && (r = cli_lock_wait(c, NULL, &a.o.lock_wait_sec)) != 0)
		goto out;
	if (c->json)
		a.groups = json_array();
	if ((r = cli_open(c, &s)) != 0)
		goto out;
	if ((r = dsb_forget(s, &a.o, show_decision, &a)) != 0)
		goto out;
	end_group(&a);
	if (a.groups != NULL) {
		cli_print_json(a.groups);
		a.groups = NULL;
	} else if (!c->quiet) {
		printf("%zu snapshot(s) kept, %zu %s\n", a.kept, a.removed,
		    a.o.dry_run ? "would be removed (dry run)" : "removed");
	}
	if (a.prune && !a.o.dry_run && a.removed > 0)
		r = run_prune(c, s);
out:
	json_decref(a.group);
	json_decref(a.groups);
	free(a.group_key);
	free(a.tags);
	dsb_session_close(s);
	return r;
}
