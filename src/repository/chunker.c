/*
 * chunker.c: content-defined chunking (FastCDC with normalized chunking).
 *
 * Parameters: min >= 4096, avg a power of two, min < avg < max,
 * max <= 64 MiB.  gear[256] is the keyed table from dsb_keys_gear().
 *
 *   bits   = log2(avg)
 *   mask_s = the top bits+1 bits of a uint64 set:
 *            ((1 << (bits + 1)) - 1) << (64 - (bits + 1))
 *   mask_l = the top bits-1 bits of a uint64 set:
 *            ((1 << (bits - 1)) - 1) << (64 - (bits - 1))
 *
 *   next(buf, len, eof):            length of the chunk starting at buf
 *     if len == 0: return 0
 *     n = min(len, max)
 *     if n <= min: return eof ? len : 0          (no cut before min)
 *     fp = 0 (uint64, arithmetic wraps); i = min; normal = min(avg, n)
 *     while i < normal:
 *       fp = (fp << 1) + gear[buf[i]]
 *       if (fp & mask_s) == 0: return i + 1
 *       i++
 *     while i < n:
 *       fp = (fp << 1) + gear[buf[i]]
 *       if (fp & mask_l) == 0: return i + 1
 *       i++
 *     if n == max: return max
 *     return eof ? len : 0                       (0: need more data)
 *
 * The bytes buf[0..min) are not hashed: the first cut can be at min + 1 at
 * the earliest, so every chunk but the last of a stream is min + 1 .. max
 * bytes long.  A stream is cut by presenting min(max, remaining) bytes at
 * each boundary with eof set when they reach the end of the stream.
 */
#include <stdint.h>
#include <string.h>

#include "dsbackup/chunker.h"
#include "dsbackup/error.h"

#define CHUNK_MIN_FLOOR 4096u
#define CHUNK_MAX_CEIL (64u * 1024 * 1024)

int dsb_chunker_params_check(const struct dsb_chunker_params *p)
{
	if (p->min < CHUNK_MIN_FLOOR)
		return dsb_error(DSB_ERR_USAGE, "minimum chunk size %u is below %u",
		    p->min, CHUNK_MIN_FLOOR);
	if (p->avg == 0 || (p->avg & (p->avg - 1)) != 0)
		return dsb_error(DSB_ERR_USAGE, "average chunk size %u is not a power of two", p->avg);
	if (p->avg <= p->min)
		return dsb_error(DSB_ERR_USAGE, "average chunk size %u is not above the minimum %u",
		    p->avg, p->min);
	if (p->max <= p->avg)
		return dsb_error(DSB_ERR_USAGE, "maximum chunk size %u is not above the average %u",
		    p->max, p->avg);
	if (p->max > CHUNK_MAX_CEIL)
		return dsb_error(DSB_ERR_USAGE, "maximum chunk size %u is above %u",
		    p->max, CHUNK_MAX_CEIL);
	return 0;
}

/* top_bits(k): a uint64 with its ${k} most significant bits set (0 < k < 64). */
static uint64_t top_bits(unsigned k)
{
	return (((uint64_t)1 << k) - 1) << (64 - k);
}

void dsb_chunker_init(struct dsb_chunker *c, const struct dsb_chunker_params *p,
    const uint64_t gear[256])
{
	unsigned bits = (unsigned)__builtin_ctz(p->avg);

	c->p = *p;
	c->mask_s = top_bits(bits + 1);
	c->mask_l = top_bits(bits - 1);
	memcpy(c->gear, gear, sizeof(c->gear));
}

size_t dsb_chunker_next(const struct dsb_chunker *c, const uint8_t *buf, size_t len, int eof)
{
	const uint64_t *gear = c->gear;
	size_t i, n, normal;
	uint64_t fp = 0;

	if (len == 0)
		return 0;
	n = len < c->p.max ? len : c->p.max;
	if (n <= c->p.min)
		return eof ? len : 0;
	normal = n < c->p.avg ? n : c->p.avg;
	for (i = c->p.min; i < normal; i++) {
		fp = (fp << 1) + gear[buf[i]];
		if ((fp & c->mask_s) == 0)
			return i + 1;
	}
	for (; i < n; i++) {
		fp = (fp << 1) + gear[buf[i]];
		if ((fp & c->mask_l) == 0)
			return i + 1;
	}
	if (n == c->p.max)
		return n;
	return eof ? len : 0;
}
