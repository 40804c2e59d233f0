/*
 * buf.h: a growable byte buffer (after curl's dynbuf).  Every buffer has a
 * maximum size; an append that would pass it fails with DSB_ERR_LIMIT and
 * leaves the buffer as it was.
 */
#ifndef DSBACKUP_BUF_H
#define DSBACKUP_BUF_H

#include <stddef.h>
#include <stdint.h>

struct dsb_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max;  /* 0 means DSB_BUF_DEFAULT_MAX */
};

#define DSB_BUF_DEFAULT_MAX ((size_t)1 << 30)

/* dsb_buf_init(b, max): an empty buffer that may grow to ${max} bytes (0: default). */
void dsb_buf_init(struct dsb_buf *b, size_t max);

/* dsb_buf_release(b): free the storage; ${b} is empty afterwards. */
void dsb_buf_release(struct dsb_buf *b);

/* dsb_buf_release_secret(b): as release, after zeroing the whole capacity. */
void dsb_buf_release_secret(struct dsb_buf *b);

/* dsb_buf_reserve(b, extra): make room for ${extra} more bytes. 0 or DSB_ERR_NOMEM/LIMIT. */
int dsb_buf_reserve(struct dsb_buf *b, size_t extra);

/* dsb_buf_append(b, p, n): append ${n} bytes. 0 or DSB_ERR_NOMEM/LIMIT. */
int dsb_buf_append(struct dsb_buf *b, const void *p, size_t n);

/* dsb_buf_reset(b): length 0, storage kept. */
void dsb_buf_reset(struct dsb_buf *b);

#endif
