/*
 * check_forget.c: the selection rules of forget (src/engine/forget_policy.c)
 * on made-up snapshot times, as restic's documentation and ApplyPolicy
 * describe them: buckets in local time, ISO weeks, keep-within with calendar
 * arithmetic relative to the newest snapshot, tags, the oldest snapshot kept
 * while a rule has counts left, and restic's duration syntax.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsbackup/engine.h"
#include "dsbackup/error.h"
#include "dsbackup/util.h"
#include "engine/forget_policy.h"
#include "testutil.h"

#define MAXN 64

static void use_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static int64_t at(const char *rfc3339)
{
	int64_t sec;
	long nsec;

	ck_assert_msg(dsb_time_parse(rfc3339, &sec, &nsec) == 0, "bad time %s", rfc3339);
	return sec;
}

/* A group of snapshots given by their times, newest first as dsb_forget_apply wants them. */
struct group {
	struct dsb_forget_item items[MAXN];
	char *tagv[MAXN][4];
	size_t n;
};

static int cmp_item(const void *a, const void *b)
{
	const struct dsb_forget_item *x = a, *y = b;

	return x->time_sec > y->time_sec ? -1 : x->time_sec < y->time_sec ? 1 : 0;
}

/* group_init(g, times, tags): ${tags} may be NULL, else a "a,b" string per time ("" none). */
static void group_init(struct group *g, const char *const *times, const char *const *tags)
{
	size_t i, t;

	memset(g, 0, sizeof(*g));
	for (i = 0; times[i] != NULL; i++) {
		ck_assert_uint_lt(i, MAXN);
		g->items[i].time_sec = at(times[i]);
		if (tags != NULL && tags[i][0] != '\0') {
			char *copy = strdup(tags[i]), *save = NULL, *tok;

			ck_assert_ptr_nonnull(copy);
			for (t = 0, tok = strtok_r(copy, ",", &save); tok != NULL && t < 4;
			    tok = strtok_r(NULL, ",", &save))
				g->tagv[i][t++] = strdup(tok);
			free(copy);
			g->items[i].ntags = t;
		}
		g->items[i].tags = g->tagv[i];
	}
	g->n = i;
	/* tags travel with their item: sort the pointers along */
	qsort(g->items, g->n, sizeof(g->items[0]), cmp_item);
}

static void group_release(struct group *g)
{
	size_t i, t;

	for (i = 0; i < MAXN; i++)
		for (t = 0; t < 4; t++)
			free(g->tagv[i][t]);
}

/* kept(g, out): the kept times, oldest first, as "YYYY-MM-DDTHH:MM:SSZ" joined by spaces */
static const char *kept(const struct group *g, char *out, size_t n)
{
	char ts[64];
	size_t i, len = 0;

	out[0] = '\0';
	for (i = g->n; i-- > 0;) {
		if (g->items[i].reasons == 0)
			continue;
		dsb_time_format(g->items[i].time_sec, 0, ts, sizeof(ts));
		ts[19] = 'Z';
		ts[20] = '\0';
		len += (size_t)snprintf(out + len, n - len, "%s%s", len ? " " : "", ts);
	}
	return out;
}

static const char *apply(struct group *g, const struct dsb_forget_policy *p, int64_t now,
    char *out, size_t n)
{
	dsb_forget_apply(p, g->items, g->n, now);
	return kept(g, out, n);
}

#define NOW at("2030-01-01T00:00:00Z")

START_TEST(test_keep_last)
{
	static const char *const times[] = {
		"2024-01-01T10:00:00Z", "2024-01-01T11:00:00Z", "2024-01-02T10:00:00Z",
		"2024-01-03T10:00:00Z", "2024-01-03T10:30:00Z", NULL,
	};
	struct dsb_forget_policy p;
	struct group g;
	char buf[1024];

	use_tz("UTC");
	memset(&p, 0, sizeof(p));
	p.keep_last = 3;
	group_init(&g, times, NULL);
	ck_assert_str_eq(apply(&g, &p, NOW, buf, sizeof(buf)),
	    "2024-01-02T10:00:00Z 2024-01-03T10:00:00Z 2024-01-03T10:30:00Z");
	ck_assert_uint_eq(g.items[0].reasons, DSB_KEEP_LAST);
	p.keep_last = 10;   /* more than there are: all, no "oldest" for last */
	apply(&g, &p, NOW, buf, sizeof(buf));
	ck_assert_uint_eq(g.items[g.n - 1].reasons, DSB_KEEP_LAST);
	group_release(&g);
}
END_TEST

START_TEST(test_daily_newest_of_each_day)
{
	static const char *const times[] = {
		"2024-03-01T08:00:00Z", "2024-03-01T20:00:00Z", "2024-03-02T09:00:00Z",
		"2024-03-04T01:00:00Z", "2024-03-04T23:59:59Z", "2024-03-05T00:00:00Z",
		"2024-03-05T12:00:00Z", NULL,
	};
	struct dsb_forget_policy p;
	struct group g;
	char buf[1024];

	use_tz("UTC");
	memset(&p, 0, sizeof(p));
	p.keep_daily = 3;
	group_init(&g, times, NULL);
	/* days with snapshots count, not calendar days: 05, 04, 02 */
	ck_assert_str_eq(apply(&g, &p, NOW, buf, sizeof(buf)),
	    "2024-03-02T09:00:00Z 2024-03-04T23:59:59Z 2024-03-05T12:00:00Z");
	p.keep_daily = -1;  /* unlimited: the newest of every day, and (counts left) the oldest */
	ck_assert_str_eq(apply(&g, &p, NOW, buf, sizeof(buf)),
	    "2024-03-01T08:00:00Z 2024-03-01T20:00:00Z 2024-03-02T09:00:00Z 2024-03-04T23:59:59Z "
	    "2024-03-05T12:00:00Z");
	group_release(&g);
}
END_TEST

START_TEST(test_buckets_local_time)
{
	static const char *const times[] = {
		"2023-12-31T12:00:00Z", "2024-01-01T21:30:00Z", "2024-01-01T22:30:00Z",
		"2024-01-01T23:30:00Z", NULL,
	};
	struct dsb_forget_policy p;
	struct group g;
	char buf[1024];

	memset(&p, 0, sizeof(p));
	p.keep_daily = 2;
	group_init(&g, times, NULL);
	use_tz("UTC");
	ck_assert_str_eq(apply(&g, &p, NOW, buf, sizeof(buf)),
	    "2023-12-31T12:00:00Z 2024-01-01T23:30:00Z");
	/* two hours east of UTC (POSIX sign): 22:30Z and 23:30Z are on January 2nd there */
	use_tz("XST-2");
	ck_assert_str_eq(apply(&g, &p, NOW, buf, sizeof(buf)),
	    "2024-01-01T21:30:00Z 2024-01-01T23:30:00Z");
	ck_assert_int_eq(dsb_forget_bucket(DSB_KEEP_HOURLY, at("2024-01-01T23:30:00Z")), 2024010201);
	use_tz("UTC");
	group_release(&g);
}
END_TEST

START_TEST(test_iso_weeks)
{
	static const struct { const char *t; int64_t yw; } cases[] = {
		{ "2020-12-31T12:00:00Z", 202053 },   /* Thursday */
		{ "2021-01-03T23:00:00Z", 202053 },   /* Sunday of the same week */
		{ "2021-01-04T00:00:00Z", 202101 },   /* Monday */
		{ "2018-12-31T12:00:00Z", 201901 },   /* Monday in week 1 of the next year */
		{ "2016-01-01T12:00:00Z", 201553 },   /* Friday in the last week of 2015 */
		{ "2024-12-30T12:00:00Z", 202501 },
		{ "2026-06-15T12:00:00Z", 202625 },
	};
	size_t i;

	use_tz("UTC");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(dsb_forget_bucket(DSB_KEEP_WEEKLY, at(cases[i].t)) == cases[i].yw,
		    "%s: week %lld, want %lld", cases[i].t,
		    (long long)dsb_forget_bucket(DSB_KEEP_WEEKLY, at(cases[i].t)),
		    (long long)cases[i].yw);
	ck_assert_int_eq(dsb_forget_bucket(DSB_KEEP_MONTHLY, at("2021-02-28T12:00:00Z")), 202102);
	ck_assert_int_eq(dsb_forget_bucket(DSB_KEEP_YEARLY, at("2021-02-28T12:00:00Z")), 2021);
	ck_assert_int_eq(dsb_forget_bucket(DSB_KEEP_DAILY, at("2021-02-28T12:00:00Z")), 20210228);
}
END_TEST

START_TEST(test_weekly_and_combined)
{
	/* Sundays and Mondays around the turn of 2020/2021 */
	static const char *const times[] = {
		"2020-12-20T10:00:00Z", "2020-12-21T10:00:00Z", "2020-12-27T10:00:00Z",
		"2020-12-28T10:00:00Z", "2021-01-01T10:00:00Z", "2021-01-03T10:00:00Z",
		"2021-01-04T10:00:00Z", "2021-01-05T10:00:00Z", NULL,
	};
	struct dsb_forget_policy p;
	struct group g;
	char buf[1024];

	use_tz("UTC");
	memset(&p, 0, sizeof(p));
	p.keep_weekly = 3;
	group_init(&g, times, NULL);
	/* weeks 2021-01, 2020-53, 2020-52 */
	ck_assert_str_eq(apply(&g, &p, NOW, buf, sizeof(buf)),
	    "2020-12-27T10:00:00Z 2021-01-03T10:00:00Z 2021-01-05T10:00:00Z");
	/* the rules are ORed: daily 2 adds 01-04, monthly 2 adds 12-28 (December's newest) */
	p.keep_daily = 2;
	p.keep_monthly = 2;
	ck_assert_str_eq(apply(&g, &p, NOW, buf, sizeof(buf)),
	    "2020-12-27T10:00:00Z 2020-12-28T10:00:00Z 2021-01-03T10:00:00Z 2021-01-04T10:00:00Z "
	    "2021-01-05T10:00:00Z");
	dsb_forget_describe(&p, &g.items[0], buf, sizeof(buf));
	ck_assert_str_eq(buf, "daily, weekly, monthly");
	group_release(&g);
}
END_TEST

START_TEST(test_oldest_kept_while_counts_left)
{
	static const char *const times[] = {
		"2022-05-01T10:00:00Z", "2022-06-01T10:00:00Z", "2023-03-01T10:00:00Z",
		"2023-04-01T10:00:00Z", NULL,
	};
	struct dsb_forget_policy p;
	struct group g;
	char buf[1024];

	use_tz("UTC");
	memset(&p, 0, sizeof(p));
	p.keep_yearly = 5;
	group_init(&g, times, NULL);
	/* 2023 and 2022 newest, and the oldest, as the rule still has counts */
	ck_assert_str_eq(apply(&g, &p, NOW, buf, sizeof(buf)),
	    "2022-05-01T10:00:00Z 2022-06-01T10:00:00Z 2023-04-01T10:00:00Z");
	dsb_forget_describe(&p, &g.items[g.n - 1], buf, sizeof(buf));
	ck_assert_str_eq(buf, "oldest yearly");
	/* with the counts used up, the oldest is not kept */
	p.keep_yearly = 2;
	ck_assert_str_eq(apply(&g, &p, NOW, buf, sizeof(buf)),
	    "2022-06-01T10:00:00Z 2023-04-01T10:00:00Z");
	group_release(&g);
}
END_TEST

START_TEST(test_within)
{
	static const char *const times[] = {
		"2021-03-02T12:00:00Z", "2021-03-03T12:00:00Z", "2021-03-03T12:00:01Z",
		"2021-03-20T00:00:00Z", "2021-03-31T12:00:00Z", NULL,
	};
	struct dsb_forget_policy p;
	struct group g;
	char buf[1024];

	use_tz("UTC");
	memset(&p, 0, sizeof(p));
	group_init(&g, times, NULL);
	/* Go's AddDate: 2021-03-31 minus one month is "February 31st", normalised to March 3rd */
	ck_assert_int_eq(dsb_forget_parse_within("1m", &p.keep_within), 0);
	ck_assert_str_eq(apply(&g, &p, NOW, buf, sizeof(buf)),
	    "2021-03-03T12:00:01Z 2021-03-20T00:00:00Z 2021-03-31T12:00:00Z");
	/* hours are subtracted after the calendar part */
	ck_assert_int_eq(dsb_forget_parse_within("11d12h", &p.keep_within), 0);
	ck_assert_str_eq(apply(&g, &p, NOW, buf, sizeof(buf)), "2021-03-31T12:00:00Z");
	ck_assert_int_eq(dsb_forget_parse_within("11d13h", &p.keep_within), 0);
	ck_assert_str_eq(apply(&g, &p, NOW, buf, sizeof(buf)),
	    "2021-03-20T00:00:00Z 2021-03-31T12:00:00Z");
	dsb_forget_describe(&p, &g.items[0], buf, sizeof(buf));
	ck_assert_str_eq(buf, "within 11d13h");
	/* relative to the newest snapshot that is not in the future */
	ck_assert_int_eq(dsb_forget_parse_within("1d", &p.keep_within), 0);
	ck_assert_str_eq(apply(&g, &p, at("2021-03-25T00:00:00Z"), buf, sizeof(buf)),
	    "2021-03-20T00:00:00Z 2021-03-31T12:00:00Z");
	group_release(&g);
}
END_TEST

START_TEST(test_tags)
{
	static const char *const times[] = {
		"2024-01-01T10:00:00Z", "2024-01-02T10:00:00Z", "2024-01-03T10:00:00Z",
		"2024-01-04T10:00:00Z", "2024-01-05T10:00:00Z", NULL,
	};
	static const char *const tags[] = { "a", "a,b", "b", "", "x", };
	static const char *const keep_ab[] = { "a,b" };
	static const char *const keep_x_or_untagged[] = { "x", "" };
	struct dsb_forget_policy p;
	struct group g;
	char buf[1024];

	use_tz("UTC");
	memset(&p, 0, sizeof(p));
	group_init(&g, times, tags);
	p.keep_tags = keep_ab;
	p.nkeep_tags = 1;
	ck_assert_str_eq(apply(&g, &p, NOW, buf, sizeof(buf)), "2024-01-02T10:00:00Z");
	p.keep_tags = keep_x_or_untagged;
	p.nkeep_tags = 2;
	ck_assert_str_eq(apply(&g, &p, NOW, buf, sizeof(buf)),
	    "2024-01-04T10:00:00Z 2024-01-05T10:00:00Z");
	dsb_forget_describe(&p, &g.items[1], buf, sizeof(buf));
	ck_assert_str_eq(buf, "tag (none)");
	/* tags are not counted: with keep-last 1 the newest is kept for both reasons */
	p.keep_last = 1;
	apply(&g, &p, NOW, buf, sizeof(buf));
	ck_assert_uint_eq(g.items[0].reasons, DSB_KEEP_LAST | DSB_KEEP_TAG);
	ck_assert_int_eq(dsb_forget_tags_match(" a , b ", g.items[3].tags, g.items[3].ntags), 1);
	group_release(&g);
}
END_TEST

START_TEST(test_hourly_and_empty)
{
	static const char *const times[] = {
		"2024-01-01T10:05:00Z", "2024-01-01T10:55:00Z", "2024-01-01T11:00:00Z",
		"2024-01-01T13:00:00Z", NULL,
	};
	struct dsb_forget_policy p;
	struct group g;
	char buf[1024];

	use_tz("UTC");
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(dsb_forget_policy_empty(&p), 1);
	group_init(&g, times, NULL);
	p.keep_hourly = 2;
	ck_assert_int_eq(dsb_forget_policy_empty(&p), 0);
	ck_assert_str_eq(apply(&g, &p, NOW, buf, sizeof(buf)),
	    "2024-01-01T11:00:00Z 2024-01-01T13:00:00Z");
	memset(&p, 0, sizeof(p));
	p.keep_within_sec = 1;
	ck_assert_int_eq(dsb_forget_policy_empty(&p), 0);
	group_release(&g);
}
END_TEST

START_TEST(test_parse_within)
{
	struct dsb_forget_within w;
	char buf[64];

	ck_assert_int_eq(dsb_forget_parse_within("1y2m3d4h", &w), 0);
	ck_assert_int_eq(w.years, 1);
	ck_assert_int_eq(w.months, 2);
	ck_assert_int_eq(w.days, 3);
	ck_assert_int_eq(w.hours, 4);
	dsb_forget_format_within(&w, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1y2m3d4h");
	ck_assert_int_eq(dsb_forget_parse_within("10d", &w), 0);
	ck_assert_int_eq(w.days, 10);
	ck_assert_int_eq(w.years + w.months + w.hours, 0);
	ck_assert_int_eq(dsb_forget_parse_within("", &w), DSB_ERR_USAGE);
	ck_assert_int_eq(dsb_forget_parse_within("10", &w), DSB_ERR_USAGE);
	ck_assert_int_eq(dsb_forget_parse_within("2w", &w), DSB_ERR_USAGE);
	ck_assert_int_eq(dsb_forget_parse_within("d", &w), DSB_ERR_USAGE);
	ck_assert_int_eq(dsb_forget_parse_within("-1d", &w), DSB_ERR_USAGE);
	ck_assert_int_eq(dsb_forget_parse_within("99999999999d", &w), DSB_ERR_USAGE);
}
END_TEST

static Suite *forget_suite(void)
{
	Suite *s = suite_create("forget");
	TCase *rules = tcase_create("rules");
	TCase *parse = tcase_create("parse");

	tcase_add_test(rules, test_keep_last);
	tcase_add_test(rules, test_daily_newest_of_each_day);
	tcase_add_test(rules, test_buckets_local_time);
	tcase_add_test(rules, test_iso_weeks);
	tcase_add_test(rules, test_weekly_and_combined);
	tcase_add_test(rules, test_oldest_kept_while_counts_left);
	tcase_add_test(rules, test_within);
	tcase_add_test(rules, test_tags);
	tcase_add_test(rules, test_hourly_and_empty);
	suite_add_tcase(s, rules);
	tcase_add_test(parse, test_parse_within);
	suite_add_tcase(s, parse);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(forget_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
