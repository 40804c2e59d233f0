/*
 * check_cron.c: schedules (src/config/cron.c): parsing, errors, and next
 * fire times in UTC across month and year ends, leap days, steps, names,
 * and cron's day-of-month / day-of-week rule; one local-time DST case.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dsbackup/cron.h"
#include "dsbackup/error.h"

/* at(y, mo, d, h, mi, s): seconds since the epoch of that UTC time. */
static int64_t at(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

static struct dsb_cron parse_ok(const char *expr)
{
	struct dsb_cron c;
	char err[256];
	int r = dsb_cron_parse(expr, &c, err, sizeof(err));

	ck_assert_msg(r == 0, "\"%s\": %s", expr, err);
	return c;
}

static void fmt(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t < 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(out, n, "%lld", (long long)t);
	else
		strftime(out, n, "%Y-%m-%d %H:%M:%S %a", &tm);
}

/* expect_next(expr, after, want): the next UTC fire time. */
static void expect_next(const char *expr, int64_t after, int64_t want)
{
	struct dsb_cron c = parse_ok(expr);
	int64_t got = dsb_cron_next(&c, after, 1);
	char a[64], w[64], g[64];

	fmt(after, a, sizeof(a));
	fmt(want, w, sizeof(w));
	fmt(got, g, sizeof(g));
	ck_assert_msg(got == want, "\"%s\" after %s: want %s, got %s", expr, a, w, g);
}

START_TEST(test_steps_and_ranges)
{
	expect_next("*/15 * * * *", at(2024, 1, 1, 12, 7, 0), at(2024, 1, 1, 12, 15, 0));
	expect_next("*/15 * * * *", at(2024, 1, 1, 12, 45, 0), at(2024, 1, 1, 13, 0, 0));
	expect_next("5-10/2 * * * *", at(2024, 1, 1, 12, 7, 0), at(2024, 1, 1, 12, 9, 0));
	expect_next("5-10/2 * * * *", at(2024, 1, 1, 12, 9, 0), at(2024, 1, 1, 13, 5, 0));
	expect_next("50/5 * * * *", at(2024, 1, 1, 12, 56, 0), at(2024, 1, 1, 13, 50, 0));
	expect_next("0,30 8-9 * * *", at(2024, 1, 1, 9, 30, 0), at(2024, 1, 2, 8, 0, 0));
	expect_next("* * * * *", at(2024, 1, 1, 12, 0, 30), at(2024, 1, 1, 12, 1, 0));
}
END_TEST

START_TEST(test_strictly_after)
{
	/* a time that matches is not its own next time */
	expect_next("0 0 * * *", at(2024, 1, 1, 0, 0, 0), at(2024, 1, 2, 0, 0, 0));
	expect_next("0 0 * * *", at(2024, 1, 1, 0, 0, 59), at(2024, 1, 2, 0, 0, 0));
	expect_next("0 0 * * *", at(2023, 12, 31, 23, 59, 59), at(2024, 1, 1, 0, 0, 0));
}
END_TEST

START_TEST(test_month_and_year_ends)
{
	expect_next("0 0 1 * *", at(2024, 1, 31, 12, 0, 0), at(2024, 2, 1, 0, 0, 0));
	expect_next("30 3 * * *", at(2024, 12, 31, 4, 0, 0), at(2025, 1, 1, 3, 30, 0));
	/* the 31st only in months that have one */
	expect_next("0 0 31 * *", at(2024, 2, 1, 0, 0, 0), at(2024, 3, 31, 0, 0, 0));
	expect_next("0 0 31 * *", at(2024, 3, 31, 0, 0, 0), at(2024, 5, 31, 0, 0, 0));
	/* February 2023 has 28 days */
	expect_next("0 12 28-31 * *", at(2023, 2, 28, 12, 0, 0), at(2023, 3, 28, 12, 0, 0));
	expect_next("0 12 29 * *", at(2023, 1, 29, 12, 0, 0), at(2023, 3, 29, 12, 0, 0));
}
END_TEST

START_TEST(test_leap_days)
{
	expect_next("0 0 29 2 *", at(2024, 3, 1, 0, 0, 0), at(2028, 2, 29, 0, 0, 0));
	expect_next("0 0 29 2 *", at(2023, 6, 1, 0, 0, 0), at(2024, 2, 29, 0, 0, 0));
	/* 2100 is not a leap year: from 2096 the next 29 February is in 2104 */
	expect_next("0 0 29 2 *", at(2096, 3, 1, 0, 0, 0), at(2104, 2, 29, 0, 0, 0));
	/* 2000 was */
	expect_next("0 0 29 feb *", at(1999, 3, 1, 0, 0, 0), at(2000, 2, 29, 0, 0, 0));
	expect_next("0 0 * 2 *", at(2024, 2, 28, 12, 0, 0), at(2024, 2, 29, 0, 0, 0));
	expect_next("0 0 * 2 *", at(2023, 2, 28, 12, 0, 0), at(2024, 2, 1, 0, 0, 0));
}
END_TEST

START_TEST(test_never)
{
	struct dsb_cron c = parse_ok("0 0 30 2 *");

	ck_assert(dsb_cron_next(&c, at(2024, 1, 1, 0, 0, 0), 1) == -1);
	c = parse_ok("0 0 31 4,6,9,11 *");
	ck_assert(dsb_cron_next(&c, at(2024, 1, 1, 0, 0, 0), 1) == -1);
}
END_TEST

START_TEST(test_dom_dow_or)
{
	/* both restricted: Fridays OR the 13th (2024-01-05 is a Friday) */
	expect_next("0 0 13 * 5", at(2024, 1, 1, 0, 0, 0), at(2024, 1, 5, 0, 0, 0));
	expect_next("0 0 13 * 5", at(2024, 1, 5, 0, 0, 0), at(2024, 1, 12, 0, 0, 0));
	expect_next("0 0 13 * 5", at(2024, 1, 12, 0, 0, 0), at(2024, 1, 13, 0, 0, 0));
	expect_next("0 0 13 * fri", at(2024, 1, 13, 0, 0, 0), at(2024, 1, 19, 0, 0, 0));
	/* the first of the month or a Sunday */
	expect_next("0 0 1 * 0", at(2024, 1, 28, 0, 0, 0), at(2024, 2, 1, 0, 0, 0));
	/* one field "*": both must match -- Mondays that are the 1st: 2024-01-01, then 2024-04-01 */
	expect_next("0 0 1 * mon", at(2023, 12, 31, 0, 0, 0), at(2024, 1, 1, 0, 0, 0));
	expect_next("0 0 * * mon", at(2024, 1, 1, 0, 0, 0), at(2024, 1, 8, 0, 0, 0));
	/* a field starting with "*" counts as "*" (Vixie cron): odd days AND Mondays */
	expect_next("0 0 */2 * 1", at(2024, 1, 1, 0, 0, 0), at(2024, 1, 15, 0, 0, 0));
	/* Sunday as 0 and as 7 */
	expect_next("0 0 * * 7", at(2024, 1, 1, 0, 0, 0), at(2024, 1, 7, 0, 0, 0));
	expect_next("0 0 * * 0", at(2024, 1, 1, 0, 0, 0), at(2024, 1, 7, 0, 0, 0));
	expect_next("0 0 * * 5-7", at(2024, 1, 1, 0, 0, 0), at(2024, 1, 5, 0, 0, 0));
}
END_TEST

START_TEST(test_names_and_shortcuts)
{
	expect_next("0 9 * jan-mar mon-fri", at(2024, 3, 29, 9, 0, 0), at(2025, 1, 1, 9, 0, 0));
	expect_next("0 9 * JAN-MAR Mon-Fri", at(2024, 1, 6, 9, 0, 0), at(2024, 1, 8, 9, 0, 0));
	expect_next("@hourly", at(2024, 1, 1, 12, 0, 0), at(2024, 1, 1, 13, 0, 0));
	expect_next("@daily", at(2024, 1, 1, 12, 0, 0), at(2024, 1, 2, 0, 0, 0));
	expect_next("@weekly", at(2024, 1, 1, 12, 0, 0), at(2024, 1, 7, 0, 0, 0));
	expect_next("@monthly", at(2024, 1, 1, 12, 0, 0), at(2024, 2, 1, 0, 0, 0));
	expect_next("@yearly", at(2024, 1, 1, 12, 0, 0), at(2025, 1, 1, 0, 0, 0));
	expect_next("hourly", at(2024, 1, 1, 12, 0, 0), at(2024, 1, 1, 13, 0, 0));
	expect_next("hourly :15", at(2024, 1, 1, 12, 20, 0), at(2024, 1, 1, 13, 15, 0));
	expect_next("daily", at(2024, 1, 1, 12, 0, 0), at(2024, 1, 2, 0, 0, 0));
	expect_next("daily 03:30", at(2024, 1, 1, 3, 29, 59), at(2024, 1, 1, 3, 30, 0));
	expect_next("daily 03:30", at(2024, 1, 1, 3, 30, 0), at(2024, 1, 2, 3, 30, 0));
	expect_next("daily 3:05", at(2024, 1, 1, 4, 0, 0), at(2024, 1, 2, 3, 5, 0));
	expect_next("weekly", at(2024, 1, 1, 12, 0, 0), at(2024, 1, 7, 0, 0, 0));
	expect_next("weekly sat 04:00", at(2024, 1, 1, 12, 0, 0), at(2024, 1, 6, 4, 0, 0));
	expect_next("monthly 02:00", at(2024, 1, 31, 12, 0, 0), at(2024, 2, 1, 2, 0, 0));
	expect_next("yearly", at(2024, 6, 1, 0, 0, 0), at(2025, 1, 1, 0, 0, 0));
	expect_next("  0 0 * * *  ", at(2024, 1, 1, 12, 0, 0), at(2024, 1, 2, 0, 0, 0));
}
END_TEST

START_TEST(test_errors)
{
	static const struct { const char *expr, *msg; } bad[] = {
		{ "61 * * * *", "minute field" },
		{ "* 24 * * *", "hour field" },
		{ "* * 0 * *", "day-of-month field" },
		{ "* * * 13 *", "month field" },
		{ "* * * * 8", "day-of-week field" },
		{ "* * * *", "5 fields" },
		{ "* * * * * *", "5 fields" },
		{ "5-2 * * * *", "ends before it starts" },
		{ "*/0 * * * *", "bad step" },
		{ "*/x * * * *", "bad step" },
		{ "1,,2 * * * *", "bad list" },
		{ "* * * foo *", "month field" },
		{ "@reboot", "unknown shortcut" },
		{ "daily 25:00", "not a time" },
		{ "daily 3:5", "not a time" },
		{ "weekly someday", "not a day name" },
		{ "fortnightly", "not a schedule" },
		{ "daily 03:30 extra", "unexpected" },
		{ "", "5 fields" },
	};
	struct dsb_cron c;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(dsb_cron_parse(bad[i].expr, &c, err, sizeof(err)) == DSB_ERR_USAGE,
		    "\"%s\" was accepted", bad[i].expr);
		ck_assert_msg(strstr(err, bad[i].msg) != NULL, "\"%s\": \"%s\" lacks \"%s\"",
		    bad[i].expr, err, bad[i].msg);
	}
}
END_TEST

/* Local time: a time skipped by the change to summer time fires right after it. */
START_TEST(test_local_dst)
{
	struct dsb_cron c;
	int64_t got;

	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0)
		return;   /* no tzdata: nothing to test */
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	c = parse_ok("30 2 * * *");
	/* 2024-03-31 02:30 CET does not exist; 01:30 UTC is 03:30 CEST */
	got = dsb_cron_next(&c, at(2024, 3, 30, 12, 0, 0), 0);
	ck_assert_msg(got == at(2024, 3, 31, 1, 30, 0), "got %lld", (long long)got);
	/* and the day after, 02:30 CEST again */
	got = dsb_cron_next(&c, got, 0);
	ck_assert_msg(got == at(2024, 4, 1, 0, 30, 0), "got %lld", (long long)got);
	/* a fall-back night runs once: 2024-10-27 02:30 happens twice, the first is 00:30 UTC */
	got = dsb_cron_next(&c, at(2024, 10, 26, 12, 0, 0), 0);
	ck_assert(got == at(2024, 10, 27, 0, 30, 0) || got == at(2024, 10, 27, 1, 30, 0));
	ck_assert(dsb_cron_next(&c, got, 0) == at(2024, 10, 28, 1, 30, 0));
}
END_TEST

static Suite *cron_suite(void)
{
	Suite *s = suite_create("cron");
	TCase *tc = tcase_create("cron");

	tcase_add_test(tc, test_steps_and_ranges);
	tcase_add_test(tc, test_strictly_after);
	tcase_add_test(tc, test_month_and_year_ends);
	tcase_add_test(tc, test_leap_days);
	tcase_add_test(tc, test_never);
	tcase_add_test(tc, test_dom_dow_or);
	tcase_add_test(tc, test_names_and_shortcuts);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_local_dst);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cron_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
