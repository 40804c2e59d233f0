/*
 * cron.h: schedules.  Five-field cron expressions as in Vixie cron
 * (minute hour day-of-month month day-of-week: "*", numbers, ranges "a-b",
 * lists "a,b", steps "*\/n" and "a-b/n" and "a/n", month and day names),
 * "@hourly"-style shortcuts, and the calendar words "hourly", "daily",
 * "weekly", "monthly", "yearly" with an optional time ("daily 03:30",
 * "weekly sun 04:00", "hourly :15").
 *
 * Day-of-month and day-of-week: when both are restricted (neither field
 * starts with "*"), a day matches if EITHER matches, as in cron; otherwise
 * both must match.
 */
#ifndef DSBACKUP_CRON_H
#define DSBACKUP_CRON_H

#include <stddef.h>
#include <stdint.h>

#define DSB_CRON_DOM_STAR 1u   /* the day-of-month field starts with "*" */
#define DSB_CRON_DOW_STAR 2u   /* the day-of-week field starts with "*" */

struct dsb_cron {
	uint64_t minutes;   /* bit m: minute m (0..59) */
	uint32_t hours;     /* bit h: hour h (0..23) */
	uint32_t mdays;     /* bit d: day of month d (1..31) */
	uint16_t months;    /* bit m: month m (1..12) */
	uint8_t wdays;      /* bit d: day of week d (0..6, Sunday 0) */
	unsigned flags;     /* DSB_CRON_*_STAR */
};

/*
 * dsb_cron_parse(expr, out, err, errlen): parse a schedule.  0, or
 * DSB_ERR_USAGE with the reason in ${err} (not in the thread's message).
 */
int dsb_cron_parse(const char *expr, struct dsb_cron *out, char *err, size_t errlen);

/*
 * dsb_cron_next(c, after, utc): the first time matching ${c} strictly
 * after ${after} (seconds since the epoch), in UTC when ${utc} is non-zero,
 * else in local time (a time skipped by a DST change fires at the first
 * minute after the change).  -1 if no time matches within ten years
 * (e.g. "0 0 30 2 *").
 */
int64_t dsb_cron_next(const struct dsb_cron *c, int64_t after, int utc);

#endif
