/*
 * cron.c: parsing schedules and computing their next fire time.
 *
 * The next time is searched in civil time (year, month, day, hour, minute
 * of the Gregorian calendar), skipping whole months, days and hours that
 * cannot match, and converted to seconds at the end (timegm, or mktime for
 * local time).  No time zone arithmetic happens while searching, so month
 * ends, leap days and DST changes need no special cases.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dsbackup/cron.h"
#include "dsbackup/error.h"

#define CRON_SEARCH_YEARS 10

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL
};
static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };

struct cron_field {
	const char *what;
	int min, max;
	const char *const *names;   /* NULL, or the names of the values from name_base on */
	int name_base;              /* the value of names[0] */
};

static const struct cron_field fields[5] = {
	{ "minute", 0, 59, NULL, 0 },
	{ "hour", 0, 23, NULL, 0 },
	{ "day-of-month", 1, 31, NULL, 0 },
	{ "month", 1, 12, month_names, 1 },
	{ "day-of-week", 0, 7, day_names, 0 },   /* 7 is Sunday too */
};

static int cron_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int cron_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return DSB_ERR_USAGE;
}

/* parse_value(f, s, end, out): a number or a name at ${s}; *end is set past it. */
static int parse_value(const struct cron_field *f, const char *s, const char **end, int *out)
{
	size_t i;
	long v;
	char *e;

	if (isdigit((unsigned char)*s)) {
		v = strtol(s, &e, 10);
		if (v < f->min || v > f->max)
			return -1;
		*end = e;
		*out = (int)v;
		return 0;
	}
	for (i = 0; f->names != NULL && f->names[i] != NULL; i++) {
		if (strncasecmp(s, f->names[i], 3) == 0 && !isalpha((unsigned char)s[3])) {
			*end = s + 3;
			*out = f->name_base + (int)i;
			return 0;
		}
	}
	return -1;
}

/* parse_item(f, item, bits, err, errlen): one element of a list: "*", "a", "a-b", each with "/n". */
static int parse_item(const struct cron_field *f, const char *item, uint64_t *bits, char *err,
    size_t errlen)
{
	const char *p = item, *e;
	int lo, hi, step = 1, v;
	long sv;
	char *se;

	if (*p == '*') {
		lo = f->min;
		hi = f->max == 7 ? 6 : f->max;
		p++;
	} else {
		if (parse_value(f, p, &e, &lo) != 0)
			return cron_err(err, errlen, "%s field: \"%s\" is not a value from %d to %d%s",
			    f->what, item, f->min, f->max, f->names != NULL ? " or a name" : "");
		p = e;
		hi = lo;
		if (*p == '-') {
			if (parse_value(f, p + 1, &e, &hi) != 0)
				return cron_err(err, errlen, "%s field: bad range end in \"%s\" "
				    "(values %d to %d)", f->what, item, f->min, f->max);
			p = e;
			if (hi < lo)
				return cron_err(err, errlen, "%s field: range \"%s\" ends before it "
				    "starts", f->what, item);
		} else if (*p == '/') {
			hi = f->max == 7 ? 6 : f->max;   /* "a/n": from a to the end */
		}
	}
	if (*p == '/') {
		sv = strtol(p + 1, &se, 10);
		if (!isdigit((unsigned char)p[1]) || *se != '\0' || sv < 1 || sv > f->max - f->min + 1)
			return cron_err(err, errlen, "%s field: bad step in \"%s\"", f->what, item);
		step = (int)sv;
		p = se;
	}
	if (*p != '\0')
		return cron_err(err, errlen, "%s field: cannot read \"%s\"", f->what, item);
	for (v = lo; v <= hi; v += step)
		*bits |= (uint64_t)1 << (v == 7 && f->max == 7 ? 0 : v);
	return 0;
}

/* parse_field(f, text, bits, err, errlen): a comma-separated list of items. */
static int parse_field(const struct cron_field *f, const char *text, uint64_t *bits, char *err,
    size_t errlen)
{
	char item[64];
	const char *p = text, *comma;
	size_t n;
	int r;

	*bits = 0;
	for (;;) {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (n == 0 || n >= sizeof(item))
			return cron_err(err, errlen, "%s field: bad list \"%s\"", f->what, text);
		memcpy(item, p, n);
		item[n] = '\0';
		if ((r = parse_item(f, item, bits, err, errlen)) != 0)
			return r;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

static int parse_five(const char *expr, struct dsb_cron *out, char *err, size_t errlen)
{
	char buf[256], *words[6], *save = NULL, *w;
	uint64_t bits[5];
	size_t n = 0, i;
	int r;

	if (strlen(expr) >= sizeof(buf))
		return cron_err(err, errlen, "schedule too long");
	snprintf(buf, sizeof(buf), "%s", expr);
	for (w = strtok_r(buf, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
		if (n == 5)
			return cron_err(err, errlen, "\"%s\": a cron expression has 5 fields "
			    "(minute hour day-of-month month day-of-week)", expr);
		words[n++] = w;
	}
	if (n != 5)
		return cron_err(err, errlen, "\"%s\": a cron expression has 5 fields "
		    "(minute hour day-of-month month day-of-week), or use hourly, daily, weekly, "
		    "monthly, yearly, \"daily HH:MM\"", expr);
	for (i = 0; i < 5; i++)
		if ((r = parse_field(&fields[i], words[i], &bits[i], err, errlen)) != 0)
			return r;
	memset(out, 0, sizeof(*out));
	out->minutes = bits[0];
	out->hours = (uint32_t)bits[1];
	out->mdays = (uint32_t)bits[2];
	out->months = (uint16_t)bits[3];
	out->wdays = (uint8_t)bits[4];
	if (words[2][0] == '*')
		out->flags |= DSB_CRON_DOM_STAR;
	if (words[4][0] == '*')
		out->flags |= DSB_CRON_DOW_STAR;
	return 0;
}

/* parse_hhmm(s, h, m): "HH:MM" (H:MM too). */
static int parse_hhmm(const char *s, int *h, int *m)
{
	char *e;
	long hv, mv;

	if (!isdigit((unsigned char)*s))
		return -1;
	hv = strtol(s, &e, 10);
	if (*e != ':' || !isdigit((unsigned char)e[1]) || !isdigit((unsigned char)e[2]) || e[3] != '\0')
		return -1;
	mv = strtol(e + 1, NULL, 10);
	if (hv > 23 || mv > 59 || e - s > 2)
		return -1;
	*h = (int)hv;
	*m = (int)mv;
	return 0;
}

/* parse_calendar(expr, out, err, errlen): "daily [HH:MM]" and friends; 1 if ${expr} is not one. */
static int parse_calendar(const char *expr, struct dsb_cron *out, char *err, size_t errlen)
{
	char buf[128], *words[4], *save = NULL, *w, five[64];
	const char *dow = "0";
	size_t n = 0, i = 1;
	int h = 0, m = 0, d;

	if (strlen(expr) >= sizeof(buf))
		return 1;
	snprintf(buf, sizeof(buf), "%s", expr);
	for (w = strtok_r(buf, " \t", &save); w != NULL && n < 4; w = strtok_r(NULL, " \t", &save))
		words[n++] = w;
	if (n == 0 || w != NULL)
		return 1;
	if (strcmp(words[0], "hourly") == 0) {
		if (n == 2 && words[1][0] == ':') {
			char tmp[8];

			snprintf(tmp, sizeof(tmp), "0%.5s", words[1]);
			if (parse_hhmm(tmp, &h, &m) != 0)
				return cron_err(err, errlen, "\"%s\": expected \"hourly :MM\"", expr);
		} else if (n != 1) {
			return cron_err(err, errlen, "\"%s\": expected \"hourly\" or \"hourly :MM\"", expr);
		}
		snprintf(five, sizeof(five), "%d * * * *", m);
		return parse_five(five, out, err, errlen);
	}
	if (strcmp(words[0], "weekly") == 0 && n >= 2 && isalpha((unsigned char)words[1][0])) {
		const char *e;

		if (parse_value(&fields[4], words[1], &e, &d) != 0 || *e != '\0')
			return cron_err(err, errlen, "\"%s\": \"%s\" is not a day name (sun..sat)",
			    expr, words[1]);
		dow = words[1];
		i = 2;
	}
	if (i < n && parse_hhmm(words[i], &h, &m) != 0)
		return cron_err(err, errlen, "\"%s\": \"%s\" is not a time HH:MM", expr, words[i]);
	if (i < n)
		i++;
	if (i != n)
		return cron_err(err, errlen, "\"%s\": unexpected \"%s\"", expr, words[i]);
	if (strcmp(words[0], "daily") == 0 && n <= 2)
		snprintf(five, sizeof(five), "%d %d * * *", m, h);
	else if (strcmp(words[0], "weekly") == 0)
		snprintf(five, sizeof(five), "%d %d * * %s", m, h, dow);
	else if (strcmp(words[0], "monthly") == 0 && n <= 2)
		snprintf(five, sizeof(five), "%d %d 1 * *", m, h);
	else if ((strcmp(words[0], "yearly") == 0 || strcmp(words[0], "annually") == 0) && n <= 2)
		snprintf(five, sizeof(five), "%d %d 1 1 *", m, h);
	else
		return 1;
	return parse_five(five, out, err, errlen);
}

int dsb_cron_parse(const char *expr, struct dsb_cron *out, char *err, size_t errlen)
{
	static const struct { const char *name, *five; } at[] = {
		{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
		{ "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" }, { "@midnight", "0 0 * * *" },
		{ "@hourly", "0 * * * *" },
	};
	size_t i;
	int r;

	if (errlen > 0)
		err[0] = '\0';
	while (isspace((unsigned char)*expr))
		expr++;
	if (*expr == '@') {
		for (i = 0; i < sizeof(at) / sizeof(at[0]); i++)
			if (strcmp(expr, at[i].name) == 0)
				return parse_five(at[i].five, out, err, errlen);
		return cron_err(err, errlen, "\"%s\": unknown shortcut (@hourly, @daily, @weekly, "
		    "@monthly, @yearly)", expr);
	}
	if (isalpha((unsigned char)*expr)) {
		if ((r = parse_calendar(expr, out, err, errlen)) <= 0)
			return r;
		return cron_err(err, errlen, "\"%s\": not a schedule (a 5-field cron expression, "
		    "hourly, daily, weekly, monthly, yearly, \"daily HH:MM\", \"weekly DAY HH:MM\")",
		    expr);
	}
	return parse_five(expr, out, err, errlen);
}

/* ---- next fire time ---- */

struct civil {
	int year, mon, mday, hour, min;   /* mon 1..12 */
};

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* weekday(y, m, d): 0 for Sunday (Sakamoto's method). */
static int weekday(int y, int m, int d)
{
	static const int t[12] = { 0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4 };

	if (m < 3)
		y--;
	return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

static void next_month(struct civil *c)
{
	if (++c->mon > 12) {
		c->mon = 1;
		c->year++;
	}
	c->mday = 1;
	c->hour = 0;
	c->min = 0;
}

static void next_day(struct civil *c)
{
	if (++c->mday > days_in_month(c->year, c->mon)) {
		next_month(c);
		return;
	}
	c->hour = 0;
	c->min = 0;
}

static void next_hour(struct civil *c)
{
	if (++c->hour > 23) {
		next_day(c);
		return;
	}
	c->min = 0;
}

static void next_minute(struct civil *c)
{
	if (++c->min > 59)
		next_hour(c);
}

static int day_matches(const struct dsb_cron *cr, const struct civil *c)
{
	int dom = (cr->mdays >> c->mday) & 1;
	int dow = (cr->wdays >> weekday(c->year, c->mon, c->mday)) & 1;

	if (cr->flags & (DSB_CRON_DOM_STAR | DSB_CRON_DOW_STAR))
		return dom && dow;
	return dom || dow;
}

static int64_t civil_to_time(const struct civil *c, int utc)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = c->year - 1900;
	tm.tm_mon = c->mon - 1;
	tm.tm_mday = c->mday;
	tm.tm_hour = c->hour;
	tm.tm_min = c->min;
	tm.tm_isdst = -1;
	return (int64_t)(utc ? timegm(&tm) : mktime(&tm));
}

int64_t dsb_cron_next(const struct dsb_cron *cr, int64_t after, int utc)
{
	time_t t = (time_t)after;
	struct civil c;
	struct tm tm;
	int64_t when;
	int last_year;

	if ((utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)) == NULL)
		return -1;
	c.year = tm.tm_year + 1900;
	c.mon = tm.tm_mon + 1;
	c.mday = tm.tm_mday;
	c.hour = tm.tm_hour;
	c.min = tm.tm_min;
	next_minute(&c);
	last_year = c.year + CRON_SEARCH_YEARS;
	while (c.year <= last_year) {
		if (!((cr->months >> c.mon) & 1)) {
			next_month(&c);
		} else if (!day_matches(cr, &c)) {
			next_day(&c);
		} else if (!((cr->hours >> c.hour) & 1)) {
			next_hour(&c);
		} else if (!((cr->minutes >> c.min) & 1)) {
			next_minute(&c);
		} else {
			/* local time: a time in a DST gap comes out after the change */
			if ((when = civil_to_time(&c, utc)) > after)
				return when;
			next_minute(&c);
		}
	}
	return -1;
}
