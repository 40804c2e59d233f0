/* buf.c: growable byte buffers with a maximum size. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "dsbackup/buf.h"
#include "dsbackup/error.h"

void dsb_buf_init(struct dsb_buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max ? max : DSB_BUF_DEFAULT_MAX;
}

void dsb_buf_release(struct dsb_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void dsb_buf_release_secret(struct dsb_buf *b)
{
	if (b->data != NULL)
		OPENSSL_cleanse(b->data, b->cap);
	dsb_buf_release(b);
}

int dsb_buf_reserve(struct dsb_buf *b, size_t extra)
{
	size_t need, ncap;
	uint8_t *p;

	if (b->max == 0)
		b->max = DSB_BUF_DEFAULT_MAX;
	if (extra > b->max || b->len > b->max - extra)
		return dsb_error(DSB_ERR_LIMIT, "buffer would exceed %zu bytes", b->max);
	need = b->len + extra;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap = ncap > b->max / 2 ? b->max : ncap * 2;
	if ((p = realloc(b->data, ncap)) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "cannot allocate %zu bytes", ncap);
	b->data = p;
	b->cap = ncap;
	return 0;
}

int dsb_buf_append(struct dsb_buf *b, const void *p, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	if ((r = dsb_buf_reserve(b, n)) != 0)
		return r;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void dsb_buf_reset(struct dsb_buf *b)
{
	b->len = 0;
}
