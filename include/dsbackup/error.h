/*
 * error.h: one error enum for all of dsbackup, and a per-thread message that
 * carries the context (what failed, on which object or path).
 *
 * Convention (after OpenSSH): functions return 0 or a negative enum dsb_err;
 * the place that detects a failure records a message with dsb_error(), and
 * callers that add context use dsb_error_wrap().  Messages never contain
 * secrets.
 */
#ifndef DSBACKUP_ERROR_H
#define DSBACKUP_ERROR_H

enum dsb_err {
	DSB_OK = 0,
	DSB_ERR_INTERNAL = -1,    /* a bug: an impossible state */
	DSB_ERR_NOMEM = -2,       /* allocation failed */
	DSB_ERR_IO = -3,          /* a system call failed */
	DSB_ERR_NOSPACE = -4,     /* no space left on a device */
	DSB_ERR_NOT_FOUND = -5,   /* object, file or snapshot does not exist */
	DSB_ERR_EXISTS = -6,      /* object already exists */
	DSB_ERR_CORRUPT = -7,     /* malformed data (bad length, magic, JSON) */
	DSB_ERR_AUTH = -8,        /* authentication (AEAD tag, id, hash) failed */
	DSB_ERR_BAD_KEY = -9,     /* wrong password: no key slot opens */
	DSB_ERR_NO_REPO = -10,    /* repository does not exist */
	DSB_ERR_LOCKED = -11,     /* repository is locked by another process */
	DSB_ERR_USAGE = -12,      /* bad command line or argument */
	DSB_ERR_LIMIT = -13,      /* a size or count limit was exceeded */
	DSB_ERR_UNSUPPORTED = -14,/* format version or feature not supported */
	DSB_ERR_CRYPTO = -15,     /* the crypto library failed */
	DSB_ERR_CATALOG = -16,    /* the SQLite catalog failed */
	DSB_ERR_BACKEND = -17,    /* the storage backend failed */
	DSB_ERR_INTERRUPTED = -18,/* a signal asked us to stop */
	DSB_ERR_PARTIAL = -19     /* finished, but some files failed */
};

/*
 * dsb_error(code, fmt, ...): record the message for ${code} on this thread
 * and return ${code}.  Use as "return dsb_error(DSB_ERR_IO, "...", ...)".
 */
int dsb_error(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* dsb_error_errno(code, errnum, fmt, ...): as dsb_error, appends ": strerror(errnum)". */
int dsb_error_errno(int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * dsb_error_wrap(code, fmt, ...): prefix the current message with context,
 * "<context>: <previous message>", and return ${code}.
 */
int dsb_error_wrap(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* dsb_errmsg(): the last message recorded on this thread ("" if none). */
const char *dsb_errmsg(void);

/* dsb_error_clear(): forget the message of this thread. */
void dsb_error_clear(void);

/* dsb_strerror(code): a generic text for ${code}. */
const char *dsb_strerror(int code);

/*
 * dsb_exit_code(code): the documented process exit code for an error:
 * 0 ok, 1 fatal, 2 usage, 3 partial, 10 no repository, 11 locked,
 * 12 wrong password or key.
 */
int dsb_exit_code(int code);

#endif
