/* error.c: per-thread error messages and the mapping to exit codes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dsbackup/error.h"

#define DSB_ERRMSG_MAX 2048

static _Thread_local char errmsg[DSB_ERRMSG_MAX];

__attribute__((format(printf, 1, 0)))
static void set_message(const char *fmt, va_list ap)
{
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
}

int dsb_error(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_message(fmt, ap);
	va_end(ap);
	return code;
}

int dsb_error_errno(int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	set_message(fmt, ap);
	va_end(ap);
	n = strlen(errmsg);
	snprintf(errmsg + n, sizeof(errmsg) - n, ": %s", strerror(errnum));
	return code;
}

int dsb_error_wrap(int code, const char *fmt, ...)
{
	char prev[DSB_ERRMSG_MAX];
	va_list ap;
	size_t n;

	memcpy(prev, errmsg, sizeof(prev));
	va_start(ap, fmt);
	set_message(fmt, ap);
	va_end(ap);
	n = strlen(errmsg);
	if (prev[0] != '\0')
		snprintf(errmsg + n, sizeof(errmsg) - n, ": %s", prev);
	return code;
}

const char *dsb_errmsg(void)
{
	return errmsg;
}

void dsb_error_clear(void)
{
	errmsg[0] = '\0';
}

const char *dsb_strerror(int code)
{
	switch (code) {
	case DSB_OK: return "success";
	case DSB_ERR_INTERNAL: return "internal error";
	case DSB_ERR_NOMEM: return "out of memory";
	case DSB_ERR_IO: return "input/output error";
	case DSB_ERR_NOSPACE: return "no space left on device";
	case DSB_ERR_NOT_FOUND: return "not found";
	case DSB_ERR_EXISTS: return "already exists";
	case DSB_ERR_CORRUPT: return "malformed data";
	case DSB_ERR_AUTH: return "authentication failed (data damaged or tampered with)";
	case DSB_ERR_BAD_KEY: return "wrong password or key";
	case DSB_ERR_NO_REPO: return "repository does not exist";
	case DSB_ERR_LOCKED: return "repository is locked";
	case DSB_ERR_USAGE: return "usage error";
	case DSB_ERR_LIMIT: return "limit exceeded";
	case DSB_ERR_UNSUPPORTED: return "not supported";
	case DSB_ERR_CRYPTO: return "cryptographic library error";
	case DSB_ERR_CATALOG: return "catalog error";
	case DSB_ERR_BACKEND: return "storage backend error";
	case DSB_ERR_INTERRUPTED: return "interrupted";
	case DSB_ERR_PARTIAL: return "some files could not be processed";
	default: return "unknown error";
	}
}

int dsb_exit_code(int code)
{
	switch (code) {
	case DSB_OK: return 0;
	case DSB_ERR_USAGE: return 2;
	case DSB_ERR_PARTIAL: return 3;
	case DSB_ERR_NO_REPO: return 10;
	case DSB_ERR_LOCKED: return 11;
	case DSB_ERR_BAD_KEY: return 12;
	default: return 1;
	}
}
