/*
 * util.h: small helpers shared by every module: hex, little-endian
 * integers, checked arithmetic, file I/O that retries and names its path.
 */
#ifndef DSBACKUP_UTIL_H
#define DSBACKUP_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dsbackup/buf.h"

#define DSB_ID_LEN 32                    /* object, blob and pack ids: 32 bytes */
#define DSB_ID_HEX (DSB_ID_LEN * 2 + 1)  /* hex form plus NUL */

/* dsb_hex_encode(in, n, out): write 2*n lower-case hex digits and a NUL to ${out}. */
void dsb_hex_encode(const uint8_t *in, size_t n, char *out);

/* dsb_hex_decode(hex, out, n): parse exactly 2*n hex digits. 0 or DSB_ERR_CORRUPT. */
/* dsb_hex_decode_n(hex, out, n): parse the first 2*n hex digits of a longer string. */
int dsb_hex_decode_n(const char *hex, uint8_t *out, size_t n);
int dsb_hex_decode(const char *hex, uint8_t *out, size_t n);

static inline void dsb_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t dsb_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}
static inline void dsb_put_le64(uint8_t *p, uint64_t v)
{
	dsb_put_le32(p, (uint32_t)v);
	dsb_put_le32(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t dsb_get_le64(const uint8_t *p)
{
	return (uint64_t)dsb_get_le32(p) | (uint64_t)dsb_get_le32(p + 4) << 32;
}

/* dsb_mul_ok(a, b, out): *out = a*b; 0 if it fits in size_t, else DSB_ERR_LIMIT. */
int dsb_mul_ok(size_t a, size_t b, size_t *out);

/*
 * DSB_GROW(arr, cap, n, what): room in array ${arr} (a pointer lvalue, with
 * ${cap} elements allocated; ${cap} a size_t lvalue) for element index ${n}.
 * When full, the capacity doubles (from 16) and ${arr} is reallocated; on
 * failure it is left as it was.  0, or DSB_ERR_NOMEM naming ${what}.  ${arr}
 * and ${cap} are evaluated more than once.
 */
#define DSB_GROW(arr, cap, n, what) \
	((size_t)(n) < (cap) ? 0 : dsb_grow((void *)&(arr), &(cap), (size_t)(n), sizeof(*(arr)), (what)))
int dsb_grow(void *arrp, size_t *cap, size_t n, size_t size, const char *what);

/* dsb_write_all(fd, p, n, path): write everything, retrying on EINTR. */
int dsb_write_all(int fd, const void *p, size_t n, const char *path);

/*
 * dsb_set_odirect(fd, on): O_DIRECT on or off for ${fd}; 0, or -1 with errno
 * when the file system refuses it.  Buffers, lengths and offsets of writes
 * with it on must then be multiples of DSB_ODIRECT_ALIGN.
 */
#define DSB_ODIRECT_ALIGN ((size_t)4096)
int dsb_set_odirect(int fd, int on);

/* dsb_pread_all(fd, p, n, off, path): read exactly n bytes at off; DSB_ERR_CORRUPT on short file. */
int dsb_pread_all(int fd, void *p, size_t n, off_t off, const char *path);

/* dsb_read_file(path, max, out): read a whole file of at most ${max} bytes into ${out}. */
int dsb_read_file(const char *path, size_t max, struct dsb_buf *out);

/* dsb_mkdir_p(path, mode): create ${path} and its parents. */
int dsb_mkdir_p(const char *path, unsigned mode);

/* dsb_strdup(s): strdup that records DSB_ERR_NOMEM; NULL on failure. */
char *dsb_strdup(const char *s);

/* dsb_asprintf(fmt, ...): a malloc'd formatted string, NULL on failure. */
char *dsb_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* dsb_time_now(sec, nsec): the current wall-clock time. */
void dsb_time_now(int64_t *sec, long *nsec);

/* dsb_time_format(sec, nsec, out, n): RFC 3339 UTC with nanoseconds, "2026-11-28T15:49:52.123456789Z". */
void dsb_time_format(int64_t sec, long nsec, char *out, size_t n);

/* dsb_time_parse(s, sec, nsec): parse RFC 3339 (Z or +hh:mm, optional fraction). 0 or DSB_ERR_USAGE. */
int dsb_time_parse(const char *s, int64_t *sec, long *nsec);

/* dsb_glob_match(pattern, path): 1 if fnmatch-style ${pattern} matches ${path} or its basename. */
int dsb_glob_match(const char *pattern, const char *path);

/* dsb_path_normalize(path, out, n): absolute (from the cwd), without ".", "..", "//" or a trailing "/". */
int dsb_path_normalize(const char *path, char *out, size_t n);

/* dsb_base64_encode(p, n, out): append base64 (with padding) and a NUL to ${out}. */
int dsb_base64_encode(const void *p, size_t n, struct dsb_buf *out);
/* dsb_base64_decode(s, out): replace ${out} with the decoded bytes; DSB_ERR_CORRUPT if invalid. */
int dsb_base64_decode(const char *s, struct dsb_buf *out);

#endif
