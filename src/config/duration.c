/* duration.c: durations in the configuration file ("30min", "2h 30min"; restic's "1y2m3d4h"). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dsbackup/config.h"
#include "dsbackup/error.h"

#define DURATION_MAX ((int64_t)100 * 366 * 86400)   /* a hundred years */

struct unit {
	const char *name;
	int64_t sec;
};

static const struct unit duration_units[] = {
	{ "s", 1 }, { "sec", 1 }, { "secs", 1 }, { "second", 1 }, { "seconds", 1 },
	{ "m", 60 }, { "min", 60 }, { "mins", 60 }, { "minute", 60 }, { "minutes", 60 },
	{ "h", 3600 }, { "hr", 3600 }, { "hour", 3600 }, { "hours", 3600 },
	{ "d", 86400 }, { "day", 86400 }, { "days", 86400 },
	{ "w", 604800 }, { "week", 604800 }, { "weeks", 604800 },
	{ NULL, 0 }
};

static const struct unit within_units[] = {
	{ "y", 365 * 86400 }, { "m", 30 * 86400 }, { "d", 86400 }, { "h", 3600 }, { NULL, 0 }
};

/* sum_terms(s, units, bare, out): "N unit N unit ..." added up; ${bare}: a lone number is seconds. */
static int sum_terms(const char *s, const struct unit *units, int bare, int64_t *out)
{
	const char *p = s, *w;
	int64_t total = 0;
	unsigned long long v;
	size_t i, n;
	char *e;
	int terms = 0;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		if (!isdigit((unsigned char)*p))
			return DSB_ERR_USAGE;
		errno = 0;
		v = strtoull(p, &e, 10);
		if (errno != 0 || v > (unsigned long long)DURATION_MAX)
			return DSB_ERR_USAGE;
		p = e;
		while (isspace((unsigned char)*p))
			p++;
		for (w = p; isalpha((unsigned char)*p); p++)
			;
		n = (size_t)(p - w);
		if (n == 0) {
			if (!bare || terms > 0 || *p != '\0')
				return DSB_ERR_USAGE;
			total = (int64_t)v;
			terms++;
			continue;
		}
		for (i = 0; units[i].name != NULL; i++)
			if (strlen(units[i].name) == n && strncmp(units[i].name, w, n) == 0)
				break;
		if (units[i].name == NULL)
			return DSB_ERR_USAGE;
		if ((int64_t)v > (DURATION_MAX - total) / units[i].sec)
			return DSB_ERR_USAGE;
		total += (int64_t)v * units[i].sec;
		terms++;
	}
	if (terms == 0)
		return DSB_ERR_USAGE;
	*out = total;
	return 0;
}

int dsb_duration_parse(const char *s, int64_t *out)
{
	return sum_terms(s, duration_units, 1, out);
}

int dsb_within_parse(const char *s, int64_t *out)
{
	return sum_terms(s, within_units, 0, out);
}
