/*
 * forget_policy.h: which snapshots of one group a retention policy keeps
 * (engine.h describes the rules; restic's ApplyPolicy is the reference).
 * Pure functions of times and tags, so the unit tests need no repository.
 */
#ifndef DSB_FORGET_POLICY_H
#define DSB_FORGET_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "dsbackup/engine.h"

/* Reasons a snapshot is kept (bits of dsb_forget_item.reasons). */
#define DSB_KEEP_LAST     0x01u
#define DSB_KEEP_HOURLY   0x02u
#define DSB_KEEP_DAILY    0x04u
#define DSB_KEEP_WEEKLY   0x08u
#define DSB_KEEP_MONTHLY  0x10u
#define DSB_KEEP_YEARLY   0x20u
/* (DSB_KEEP_x << DSB_KEEP_OLDEST_SHIFT): kept by rule x only as the group's oldest snapshot */
#define DSB_KEEP_OLDEST_SHIFT 8
#define DSB_KEEP_WITHIN   0x10000u
#define DSB_KEEP_TAG      0x20000u

struct dsb_forget_item {
	int64_t time_sec;
	long time_nsec;
	char *const *tags;
	size_t ntags;
	unsigned reasons;   /* set by dsb_forget_apply: DSB_KEEP_* bits, 0 when removed */
};

/* dsb_forget_policy_empty(p): 1 when ${p} has no rule at all. */
int dsb_forget_policy_empty(const struct dsb_forget_policy *p);

/*
 * dsb_forget_apply(p, items, n, now): decide for one group whose ${n}
 * items are ordered newest first; ${now} (seconds since the epoch) tells
 * which snapshots are in the future.  Sets each item's reasons.
 */
void dsb_forget_apply(const struct dsb_forget_policy *p, struct dsb_forget_item *items, size_t n,
    int64_t now);

/* dsb_forget_tags_match(list, tags, ntags): 1 when ${tags} match the keep-tag entry ${list}. */
int dsb_forget_tags_match(const char *list, char *const *tags, size_t ntags);

/* dsb_forget_describe(p, it, out, n): the reasons as text: "daily, oldest weekly, within 10d". */
void dsb_forget_describe(const struct dsb_forget_policy *p, const struct dsb_forget_item *it,
    char *out, size_t n);

/* dsb_forget_format_within(w, sec, out, n): "1y2m3d4h" (plus "+Ns" for extra seconds). */
void dsb_forget_format_within(const struct dsb_forget_within *w, int64_t sec, char *out, size_t n);

/* Bucket values (restic's ymdh, ymd, yw, ym, y) of a time in the local time zone. */
int64_t dsb_forget_bucket(unsigned rule, int64_t time_sec);

#endif
