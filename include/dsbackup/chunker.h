/*
 * chunker.h: content-defined chunking, FastCDC-style with a keyed gear table
 * and normalized chunking (a stricter mask before the average size, a looser
 * one after).  Stateless: the caller presents a buffer that starts at a chunk
 * boundary and gets the length of the next chunk.  Exact algorithm in
 * docs/FORMAT.md, "Chunking".
 */
#ifndef DSBACKUP_CHUNKER_H
#define DSBACKUP_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

struct dsb_chunker_params {
	uint32_t min;  /* >= 4 KiB */
	uint32_t avg;  /* a power of two, min < avg < max */
	uint32_t max;  /* <= 64 MiB */
};

/*
 * Defaults for new repositories (a repository keeps the parameters it was
 * created with); min = avg / 2 and max = 8 * avg, as --chunk-avg sets them.
 * Small enough that a database rewriting scattered 8 KiB pages re-stores
 * little: on the benchmark's docker set, 1 % of pages rewritten added 37 MB
 * at 32/64/512 KiB, 64 MB at 64 KiB/128 KiB/1 MiB, for 0.9 % more repository
 * bytes on the first backup (bench/README.md).
 */
#define DSB_CHUNK_MIN_DEFAULT (32u * 1024)
#define DSB_CHUNK_AVG_DEFAULT (64u * 1024)
#define DSB_CHUNK_MAX_DEFAULT (512u * 1024)

struct dsb_chunker {
	struct dsb_chunker_params p;
	uint64_t mask_s;  /* used for positions below avg: log2(avg)+1 bits */
	uint64_t mask_l;  /* used for positions from avg on: log2(avg)-1 bits */
	uint64_t gear[256];
};

/* dsb_chunker_params_check(p): 0, or DSB_ERR_USAGE with a message naming the bad value. */
int dsb_chunker_params_check(const struct dsb_chunker_params *p);

/* dsb_chunker_init(c, p, gear): ${p} must pass dsb_chunker_params_check. */
void dsb_chunker_init(struct dsb_chunker *c, const struct dsb_chunker_params *p,
    const uint64_t gear[256]);

/*
 * dsb_chunker_next(c, buf, len, eof): the length of the chunk that starts at
 * ${buf}.  Returns a value in 1..min(len, max) when a cut point is found or
 * max bytes are reached; ${len} itself when ${eof} and no cut before; 0 when
 * more data is needed (no cut found, len < max and !eof) -- callers that
 * always present min(max, remaining) bytes never see 0.  ${len} == 0 returns 0.
 */
size_t dsb_chunker_next(const struct dsb_chunker *c, const uint8_t *buf, size_t len, int eof);

#endif
