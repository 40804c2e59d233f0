/*
 * forget_policy.c: the selection rules of forget, after restic's
 * ApplyPolicy (internal/data/snapshot_policy.go, restic 0.16 and later):
 *
 * - the group is walked newest first; each count rule (last, hourly, daily,
 *   weekly, monthly, yearly) keeps a snapshot whose bucket value differs
 *   from that of the previous snapshot it kept, while it has counts left
 *   (-1: unlimited).  So "daily 7" keeps the newest snapshot of each of the
 *   7 most recent days that have snapshots;
 * - a count rule with counts left at the oldest snapshot keeps it too;
 * - keep-within keeps snapshots strictly after (newest - duration), where
 *   newest is the newest snapshot not in the future;
 * - keep-tag keeps snapshots having all tags of one of its lists.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dsbackup/error.h"
#include "forget_policy.h"

#define NRULES 6

static const unsigned rule_bits[NRULES] = {
	DSB_KEEP_LAST, DSB_KEEP_HOURLY, DSB_KEEP_DAILY, DSB_KEEP_WEEKLY, DSB_KEEP_MONTHLY,
	DSB_KEEP_YEARLY,
};
static const char *const rule_names[NRULES] = {
	"last", "hourly", "daily", "weekly", "monthly", "yearly",
};

static int within_set(const struct dsb_forget_policy *p)
{
	const struct dsb_forget_within *w = &p->keep_within;

	return w->years != 0 || w->months != 0 || w->days != 0 || w->hours != 0 ||
	    p->keep_within_sec != 0;
}

int dsb_forget_policy_empty(const struct dsb_forget_policy *p)
{
	return p->keep_last == 0 && p->keep_hourly == 0 && p->keep_daily == 0 &&
	    p->keep_weekly == 0 && p->keep_monthly == 0 && p->keep_yearly == 0 &&
	    !within_set(p) && p->nkeep_tags == 0;
}

int dsb_forget_parse_within(const char *s, struct dsb_forget_within *out)
{
	const char *p = s;
	long v;

	memset(out, 0, sizeof(*out));
	if (s == NULL || *s == '\0')
		return dsb_error(DSB_ERR_USAGE, "empty duration");
	while (*p != '\0') {
		if (*p < '0' || *p > '9')
			return dsb_error(DSB_ERR_USAGE, "invalid duration \"%s\": expected a number "
			    "followed by y, m, d or h (like 1y2m3d4h)", s);
		for (v = 0; *p >= '0' && *p <= '9'; p++) {
			v = v * 10 + (*p - '0');
			if (v > 1000000)
				return dsb_error(DSB_ERR_USAGE, "duration \"%s\" is too long", s);
		}
		switch (*p) {
		case 'y': out->years = (int)v; break;
		case 'm': out->months = (int)v; break;
		case 'd': out->days = (int)v; break;
		case 'h': out->hours = (int)v; break;
		case '\0':
			return dsb_error(DSB_ERR_USAGE, "invalid duration \"%s\": no unit after %ld",
			    s, v);
		default:
			return dsb_error(DSB_ERR_USAGE, "invalid duration \"%s\": unknown unit '%c' "
			    "(y, m, d or h)", s, *p);
		}
		p++;
	}
	return 0;
}

void dsb_forget_format_within(const struct dsb_forget_within *w, int64_t sec, char *out, size_t n)
{
	size_t len = 0;

	out[0] = '\0';
#define PART(v, unit) \
	if ((v) != 0 && len < n) \
		len += (size_t)snprintf(out + len, n - len, "%d%c", (v), (unit))
	PART(w->years, 'y');
	PART(w->months, 'm');
	PART(w->days, 'd');
	PART(w->hours, 'h');
#undef PART
	if (sec != 0 && len < n)
		len += (size_t)snprintf(out + len, n - len, "%s%llds", len > 0 ? "+" : "",
		    (long long)sec);
	if (len == 0)
		snprintf(out, n, "0h");
}

/* iso_week(tm, year, week): the ISO 8601 week of a broken-down date. */
static void iso_week(const struct tm *tm, int *year, int *week)
{
	int y = tm->tm_year + 1900, wday = (tm->tm_wday + 6) % 7 + 1;   /* Monday 1 .. Sunday 7 */
	int thursday = tm->tm_yday - wday + 4;     /* day of the year of that week's Thursday */
	int len;

#define YEAR_DAYS(yy) ((((yy) % 4 == 0 && (yy) % 100 != 0) || (yy) % 400 == 0) ? 366 : 365)
	if (thursday < 0) {
		y--;
		thursday += YEAR_DAYS(y);
	} else if (thursday >= (len = YEAR_DAYS(y))) {
		thursday -= len;
		y++;
	}
#undef YEAR_DAYS
	*year = y;
	*week = thursday / 7 + 1;
}

int64_t dsb_forget_bucket(unsigned rule, int64_t time_sec)
{
	time_t t = (time_t)time_sec;
	struct tm tm;
	int64_t y;
	int iy, iw;

	if (localtime_r(&t, &tm) == NULL)
		return -2;   /* out of range: a value of its own */
	y = (int64_t)tm.tm_year + 1900;
	switch (rule) {
	case DSB_KEEP_HOURLY:
		return y * 1000000 + (tm.tm_mon + 1) * 10000 + tm.tm_mday * 100 + tm.tm_hour;
	case DSB_KEEP_DAILY:
		return y * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
	case DSB_KEEP_WEEKLY:
		iso_week(&tm, &iy, &iw);
		return (int64_t)iy * 100 + iw;
	case DSB_KEEP_MONTHLY:
		return y * 100 + tm.tm_mon + 1;
	case DSB_KEEP_YEARLY:
		return y;
	default:
		return -2;
	}
}

int dsb_forget_tags_match(const char *list, char *const *tags, size_t ntags)
{
	const char *p = list, *end;
	size_t len, i;
	int found;

	for (;;) {
		end = strchr(p, ',');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		/* restic trims blanks around each tag of a list */
		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0 && ntags == 0)
			return 1;   /* "" matches untagged snapshots */
		for (found = 0, i = 0; i < ntags && !found; i++)
			found = strlen(tags[i]) == len && memcmp(tags[i], p, len) == 0;
		if (!found)
			return 0;
		if (end == NULL)
			return 1;
		p = end + 1;
	}
}

static int time_after(int64_t s1, long n1, int64_t s2, long n2)
{
	return s1 > s2 || (s1 == s2 && n1 > n2);
}

/* within_cutoff(p, items, n, now, sec, nsec): 0 and the cutoff, or 1 when every snapshot is within. */
static int within_cutoff(const struct dsb_forget_policy *p, const struct dsb_forget_item *items,
    size_t n, int64_t now, int64_t *sec, long *nsec)
{
	const struct dsb_forget_within *w = &p->keep_within;
	const struct dsb_forget_item *latest = NULL;
	struct tm tm;
	time_t t;
	size_t i;

	for (i = 0; i < n; i++)
		if (items[i].time_sec < now &&
		    (latest == NULL || time_after(items[i].time_sec, items[i].time_nsec,
		    latest->time_sec, latest->time_nsec)))
			latest = &items[i];
	if (latest == NULL)
		return 1;   /* all in the future: restic's "latest" is then the zero time */
	t = (time_t)latest->time_sec;
	if (localtime_r(&t, &tm) == NULL)
		return 1;
	/* like Go's AddDate: calendar fields first, normalised as mktime does */
	tm.tm_year -= w->years;
	tm.tm_mon -= w->months;
	tm.tm_mday -= w->days;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	*sec = (int64_t)t - (int64_t)w->hours * 3600 - p->keep_within_sec;
	*nsec = latest->time_nsec;
	return 0;
}

void dsb_forget_apply(const struct dsb_forget_policy *p, struct dsb_forget_item *items, size_t n,
    int64_t now)
{
	const int counts0[NRULES] = {
		p->keep_last, p->keep_hourly, p->keep_daily, p->keep_weekly, p->keep_monthly,
		p->keep_yearly,
	};
	int counts[NRULES];
	int64_t last[NRULES], val, cut_sec = 0;
	long cut_nsec = 0;
	size_t nr, i;
	int all_within = 0, b;

	memcpy(counts, counts0, sizeof(counts));
	for (b = 0; b < NRULES; b++)
		last[b] = -1;
	if (within_set(p))
		all_within = within_cutoff(p, items, n, now, &cut_sec, &cut_nsec);
	for (nr = 0; nr < n; nr++) {
		struct dsb_forget_item *cur = &items[nr];

		cur->reasons = 0;
		if (dsb_forget_policy_empty(p))
			continue;
		for (i = 0; i < p->nkeep_tags; i++)
			if (dsb_forget_tags_match(p->keep_tags[i], cur->tags, cur->ntags))
				cur->reasons |= DSB_KEEP_TAG;
		if (within_set(p) && (all_within ||
		    time_after(cur->time_sec, cur->time_nsec, cut_sec, cut_nsec)))
			cur->reasons |= DSB_KEEP_WITHIN;
		for (b = 0; b < NRULES; b++) {
			if (counts[b] <= 0 && counts[b] != -1)
				continue;
			val = b == 0 ? (int64_t)nr : dsb_forget_bucket(rule_bits[b], cur->time_sec);
			if (val == last[b] && nr != n - 1)
				continue;
			cur->reasons |= rule_bits[b];
			if (val == last[b])
				cur->reasons |= rule_bits[b] << DSB_KEEP_OLDEST_SHIFT;
			last[b] = val;
			if (counts[b] > 0)
				counts[b]--;
		}
	}
}

void dsb_forget_describe(const struct dsb_forget_policy *p, const struct dsb_forget_item *it,
    char *out, size_t n)
{
	char dur[64];
	size_t len = 0, i;
	int b;

	out[0] = '\0';
	for (b = 0; b < NRULES && len < n; b++)
		if (it->reasons & rule_bits[b])
			len += (size_t)snprintf(out + len, n - len, "%s%s%s", len ? ", " : "",
			    (it->reasons & (rule_bits[b] << DSB_KEEP_OLDEST_SHIFT)) ? "oldest " : "",
			    rule_names[b]);
	if ((it->reasons & DSB_KEEP_WITHIN) && len < n) {
		dsb_forget_format_within(&p->keep_within, p->keep_within_sec, dur, sizeof(dur));
		len += (size_t)snprintf(out + len, n - len, "%swithin %s", len ? ", " : "", dur);
	}
	if (!(it->reasons & DSB_KEEP_TAG))
		return;
	for (i = 0; i < p->nkeep_tags && len < n; i++)
		if (dsb_forget_tags_match(p->keep_tags[i], it->tags, it->ntags))
			len += (size_t)snprintf(out + len, n - len, "%stag %s", len ? ", " : "",
			    p->keep_tags[i][0] != '\0' ? p->keep_tags[i] : "(none)");
}
