/*
 * s3_cache.c: read-ahead windows for range reads of packs.
 *
 * A restore reads blobs one by one, mostly in the order they were written,
 * so neighbouring blobs sit in the same pack.  Each S3 request costs a
 * round trip (tens of milliseconds on a busy gateway), so the S3 driver
 * reads an aligned window of S3_WINDOW_SIZE bytes around a small range of a
 * data/ object and serves the next reads from memory.  Packs are immutable
 * (named by their hash), so a window never goes stale.  A few windows are
 * kept, the least recently used evicted; a mutex guards them.
 */
#include <stdlib.h>
#include <string.h>

#include "dsbackup/error.h"
#include "s3_internal.h"

static void window_clear(struct s3_window *w)
{
	free(w->name);
	dsb_buf_release(&w->data);
	memset(w, 0, sizeof(*w));
}

int s3_cache_get(struct s3 *s3, const char *name, uint64_t off, uint64_t len, struct dsb_buf *out)
{
	int hit = 0, r = 0;
	size_t i;

	pthread_mutex_lock(&s3->cache_lock);
	for (i = 0; i < S3_WINDOWS && !hit; i++) {
		struct s3_window *w = &s3->cache[i];

		if (w->used == 0 || strcmp(w->name, name) != 0 || off < w->off ||
		    off - w->off > w->data.len || len > w->data.len - (off - w->off))
			continue;
		dsb_buf_reset(out);
		if ((r = dsb_buf_append(out, w->data.data + (off - w->off), (size_t)len)) == 0)
			w->used = ++s3->cache_clock;
		hit = 1;
	}
	pthread_mutex_unlock(&s3->cache_lock);
	return r != 0 ? r : hit;
}

void s3_cache_put(struct s3 *s3, const char *name, uint64_t off, struct dsb_buf *data)
{
	struct s3_window *victim;
	char *copy = strdup(name);
	size_t i;

	if (copy == NULL)
		return;  /* only a cache */
	pthread_mutex_lock(&s3->cache_lock);
	victim = &s3->cache[0];
	for (i = 1; i < S3_WINDOWS; i++) {
		if (s3->cache[i].used < victim->used)
			victim = &s3->cache[i];
	}
	window_clear(victim);
	victim->name = copy;
	victim->off = off;
	victim->data = *data;
	victim->used = ++s3->cache_clock;
	pthread_mutex_unlock(&s3->cache_lock);
	dsb_buf_init(data, data->max);
}

void s3_cache_release(struct s3 *s3)
{
	size_t i;

	for (i = 0; i < S3_WINDOWS; i++)
		window_clear(&s3->cache[i]);
}
