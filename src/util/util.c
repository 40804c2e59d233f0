/* util.c: hex, checked arithmetic, file I/O, time and glob helpers. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "dsbackup/error.h"
#include "dsbackup/util.h"

void dsb_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int dsb_hex_decode(const char *hex, uint8_t *out, size_t n)
{
	if (hex == NULL || strlen(hex) != 2 * n)
		return dsb_error(DSB_ERR_CORRUPT, "expected %zu hex digits", 2 * n);
	return dsb_hex_decode_n(hex, out, n);
}

int dsb_hex_decode_n(const char *hex, uint8_t *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (hex == NULL || strnlen(hex, 2 * n) != 2 * n)
		return dsb_error(DSB_ERR_CORRUPT, "expected %zu hex digits", 2 * n);
	for (i = 0; i < n; i++) {
		hi = hexval(hex[2 * i]);
		lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return dsb_error(DSB_ERR_CORRUPT, "invalid hex digit in \"%.80s\"", hex);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int dsb_mul_ok(size_t a, size_t b, size_t *out)
{
	if (a != 0 && b > SIZE_MAX / a)
		return dsb_error(DSB_ERR_LIMIT, "size overflow (%zu * %zu)", a, b);
	*out = a * b;
	return 0;
}

int dsb_grow(void *arrp, size_t *cap, size_t n, size_t size, const char *what)
{
	size_t ncap = *cap ? *cap : 16;
	void *old, *p;

	while (ncap <= n) {
		if (ncap > SIZE_MAX / 2)
			goto nomem;
		ncap *= 2;
	}
	if (size != 0 && ncap > SIZE_MAX / size)
		goto nomem;
	/* the pointer is copied, not read through a void ** (it may be any object pointer) */
	memcpy(&old, arrp, sizeof(old));
	if ((p = realloc(old, ncap * size)) == NULL)
		goto nomem;
	memcpy(arrp, &p, sizeof(p));
	*cap = ncap;
	return 0;
nomem:
	return dsb_error(DSB_ERR_NOMEM, "out of memory for %s", what);
}

int dsb_set_odirect(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, on ? fl | O_DIRECT : fl & ~O_DIRECT);
}

int dsb_write_all(int fd, const void *p, size_t n, const char *path)
{
	const uint8_t *q = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, q, n > (1u << 30) ? (1u << 30) : n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return dsb_error_errno(errno == ENOSPC || errno == EDQUOT ?
			    DSB_ERR_NOSPACE : DSB_ERR_IO, errno, "writing %s", path);
		}
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

int dsb_pread_all(int fd, void *p, size_t n, off_t off, const char *path)
{
	uint8_t *q = p;
	ssize_t r;

	while (n > 0) {
		r = pread(fd, q, n, off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return dsb_error_errno(DSB_ERR_IO, errno, "reading %s", path);
		}
		if (r == 0)
			return dsb_error(DSB_ERR_CORRUPT, "%s: unexpected end of file at offset %lld",
			    path, (long long)off);
		q += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

int dsb_read_file(const char *path, size_t max, struct dsb_buf *out)
{
	struct stat st;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return dsb_error_errno(errno == ENOENT ? DSB_ERR_NOT_FOUND : DSB_ERR_IO,
		    errno, "opening %s", path);
	if (fstat(fd, &st) != 0) {
		r = dsb_error_errno(DSB_ERR_IO, errno, "stat %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = dsb_error(DSB_ERR_IO, "%s is not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		r = dsb_error(DSB_ERR_LIMIT, "%s is %lld bytes, more than the %zu allowed",
		    path, (long long)st.st_size, max);
		goto out;
	}
	dsb_buf_reset(out);
	if ((r = dsb_buf_reserve(out, (size_t)st.st_size)) != 0)
		goto out;
	if ((r = dsb_pread_all(fd, out->data, (size_t)st.st_size, 0, path)) != 0)
		goto out;
	out->len = (size_t)st.st_size;
	r = 0;
out:
	close(fd);
	return r;
}

int dsb_mkdir_p(const char *path, unsigned mode)
{
	char tmp[4096];
	size_t n = strlen(path);
	char *p;

	if (n == 0 || n >= sizeof(tmp))
		return dsb_error(DSB_ERR_USAGE, "invalid directory path \"%s\"", path);
	memcpy(tmp, path, n + 1);
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) != 0 && errno != EEXIST)
			return dsb_error_errno(DSB_ERR_IO, errno, "creating directory %s", tmp);
		*p = '/';
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return dsb_error_errno(errno == ENOSPC ? DSB_ERR_NOSPACE : DSB_ERR_IO, errno,
		    "creating directory %s", tmp);
	return 0;
}

char *dsb_strdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		dsb_error(DSB_ERR_NOMEM, "out of memory");
	return p;
}

char *dsb_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0) {
		dsb_error(DSB_ERR_NOMEM, "out of memory");
		return NULL;
	}
	return p;
}

void dsb_time_now(int64_t *sec, long *nsec)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = ts.tv_sec;
	*nsec = ts.tv_nsec;
}

void dsb_time_format(int64_t sec, long nsec, char *out, size_t n)
{
	struct tm tm;
	time_t t = (time_t)sec;
	char base[64];

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%09ldZ", base, nsec);
}

int dsb_time_parse(const char *s, int64_t *sec, long *nsec)
{
	struct tm tm;
	const char *p;
	long frac = 0;
	int digits = 0, sign, oh, om;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (p == NULL)
		return dsb_error(DSB_ERR_USAGE, "invalid time \"%s\": expected RFC 3339, "
		    "e.g. 2026-01-02T03:04:05Z", s);
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (digits < 9) {
				frac = frac * 10 + (*p - '0');
				digits++;
			}
		}
		while (digits < 9) {
			frac *= 10;
			digits++;
		}
	}
	t = timegm(&tm);
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		/* exactly "+hh:mm": never step past the end of a shorter string */
		if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) || p[3] != ':' ||
		    !isdigit((unsigned char)p[4]) || !isdigit((unsigned char)p[5]))
			return dsb_error(DSB_ERR_USAGE, "invalid time zone in \"%s\" (expected +hh:mm)", s);
		oh = (p[1] - '0') * 10 + (p[2] - '0');
		om = (p[4] - '0') * 10 + (p[5] - '0');
		t -= sign * (oh * 3600 + om * 60);
		p += 6;
	} else if (*p != '\0') {
		return dsb_error(DSB_ERR_USAGE, "invalid time \"%s\": trailing \"%s\"", s, p);
	}
	if (*p != '\0')
		return dsb_error(DSB_ERR_USAGE, "invalid time \"%s\": trailing \"%s\"", s, p);
	*sec = (int64_t)t;
	*nsec = frac;
	return 0;
}

int dsb_glob_match(const char *pattern, const char *path)
{
	const char *base;

	if (fnmatch(pattern, path, 0) == 0)
		return 1;
	/* A pattern without a slash also matches the last path component. */
	if (strchr(pattern, '/') == NULL && (base = strrchr(path, '/')) != NULL)
		return fnmatch(pattern, base + 1, 0) == 0;
	/* A pattern matches a path below what it names: /a/b matches /a/b/c. */
	{
		size_t n = strlen(path);
		char tmp[4096];
		size_t i;

		if (n >= sizeof(tmp))
			return 0;
		memcpy(tmp, path, n + 1);
		for (i = n; i > 1; i--) {
			if (tmp[i - 1] == '/') {
				tmp[i - 1] = '\0';
				if (fnmatch(pattern, tmp, 0) == 0)
					return 1;
			}
		}
	}
	return 0;
}

int dsb_base64_encode(const void *p, size_t n, struct dsb_buf *out)
{
	size_t need = 4 * ((n + 2) / 3) + 1;
	int r, w;

	if (n > (size_t)1 << 30)
		return dsb_error(DSB_ERR_LIMIT, "value too large to encode");
	if ((r = dsb_buf_reserve(out, need)) != 0)
		return r;
	w = EVP_EncodeBlock(out->data + out->len, p, (int)n);
	out->len += (size_t)w;
	out->data[out->len] = '\0';
	return 0;
}

int dsb_base64_decode(const char *s, struct dsb_buf *out)
{
	size_t n = strlen(s), pad = 0;
	int r, w;

	if (n % 4 != 0 || n > (size_t)1 << 30)
		return dsb_error(DSB_ERR_CORRUPT, "invalid base64 (length %zu)", n);
	if (n >= 1 && s[n - 1] == '=')
		pad++;
	if (n >= 2 && s[n - 2] == '=')
		pad++;
	dsb_buf_reset(out);
	if ((r = dsb_buf_reserve(out, n / 4 * 3 + 1)) != 0)
		return r;
	w = n ? EVP_DecodeBlock(out->data, (const unsigned char *)s, (int)n) : 0;
	if (w < 0 || (size_t)w < pad)
		return dsb_error(DSB_ERR_CORRUPT, "invalid base64");
	out->len = (size_t)w - pad;
	return 0;
}

int dsb_path_normalize(const char *path, char *out, size_t n)
{
	char cwd[4096], buf[8192];
	char *save = NULL, *comp;
	size_t len = 0;

	if (path[0] == '/') {
		snprintf(buf, sizeof(buf), "%s", path);
	} else {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return dsb_error_errno(DSB_ERR_IO, errno, "getcwd");
		snprintf(buf, sizeof(buf), "%s/%s", cwd, path);
	}
	if (n < 2)
		return dsb_error(DSB_ERR_LIMIT, "path buffer too small");
	out[0] = '\0';
	for (comp = strtok_r(buf, "/", &save); comp != NULL; comp = strtok_r(NULL, "/", &save)) {
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			char *slash = strrchr(out, '/');

			if (slash != NULL) {
				*slash = '\0';
				len = (size_t)(slash - out);
			}
			continue;
		}
		if (len + 1 + strlen(comp) + 1 > n)
			return dsb_error(DSB_ERR_LIMIT, "path \"%s\" is too long", path);
		out[len++] = '/';
		memcpy(out + len, comp, strlen(comp) + 1);
		len += strlen(comp);
	}
	if (len == 0)
		snprintf(out, n, "/");
	return 0;
}
