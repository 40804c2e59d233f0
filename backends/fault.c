/*
 * fault.c: a test driver that wraps another backend and makes chosen calls
 * fail, return damaged or short data, or stall.  It is selected only by a
 * URL "fault:<inner URL>" ("fault:/tmp/repo", "fault:s3:http://..."); the
 * faults come from the environment variable DSBACKUP_FAULTS, read when the
 * URL is opened, and no other URL ever looks at that variable.
 *
 * DSBACKUP_FAULTS is a comma-separated list of OP[/PREFIX]:KIND@WHEN[:ARG]
 *   OP      put, get, stat, remove, list or create
 *   PREFIX  count only calls on objects whose name starts with
 *           "PREFIX/" (list: whose directory is PREFIX), e.g. "put/index"
 *   KIND    fail    the call fails (DSB_ERR_BACKEND), nothing is done
 *           enospc  put only: fails with "no space left on device"
 *           short   get only: returns fewer bytes than asked, as success
 *           flip    get only: one byte of the returned data is inverted
 *           stall   the call sleeps ARG ("3s", "250ms") first, then runs
 *   WHEN    N       the Nth matching call (counting from 1)
 *           everyN  every Nth matching call
 * e.g. "put:fail@7", "get/data:flip@1", "put:stall@2:3s", "put:fail@every5".
 *
 * Every injected fault is logged on stderr as "fault injected: ..." (and
 * appended to the file DSBACKUP_FAULTS_LOG names, if set), so a test can
 * tell that its fault was hit.  Calls are counted atomically: the driver
 * may be used from several threads like any other.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsbackup/backend.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"

#define FAULT_MAX 32            /* faults in one DSBACKUP_FAULTS */
#define FAULT_PREFIX_MAX 64

enum fault_op { OP_PUT, OP_GET, OP_STAT, OP_REMOVE, OP_LIST, OP_CREATE, OP_COUNT };
enum fault_kind { KIND_FAIL, KIND_ENOSPC, KIND_SHORT, KIND_FLIP, KIND_STALL };

static const char *const op_names[OP_COUNT] = { "put", "get", "stat", "remove", "list", "create" };
static const char *const kind_names[] = { "fail", "enospc", "short", "flip", "stall" };

struct fault {
	enum fault_op op;
	enum fault_kind kind;
	char prefix[FAULT_PREFIX_MAX];  /* "" for every object */
	unsigned long when;             /* the call number, or the period */
	int every;
	long stall_ms;
	atomic_ulong calls;             /* matching calls so far */
};

struct fault_state {
	struct dsb_backend *inner;
	struct fault faults[FAULT_MAX];
	size_t n;
};

/* parse_duration(s, ms): "3s", "250ms", "2" (seconds). */
static int parse_duration(const char *s, long *ms)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || v < 0 || v > 3600 * 1000)
		return -1;
	if (strcmp(end, "ms") == 0)
		*ms = v;
	else if (strcmp(end, "s") == 0 || *end == '\0')
		*ms = v * 1000;
	else
		return -1;
	return 0;
}

static int lookup(const char *s, size_t n, const char *const *names, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (strlen(names[i]) == n && strncmp(s, names[i], n) == 0)
			return (int)i;
	return -1;
}

/* parse_one(spec, f): one OP[/PREFIX]:KIND@WHEN[:ARG]; 0 or -1. */
static int parse_one(const char *spec, struct fault *f)
{
	const char *colon = strchr(spec, ':'), *at = strchr(spec, '@'), *slash, *arg;
	char *end;
	int op, kind;

	memset(f, 0, sizeof(*f));
	atomic_init(&f->calls, 0);
	if (colon == NULL || at == NULL || at < colon)
		return -1;
	slash = memchr(spec, '/', (size_t)(colon - spec));
	if ((op = lookup(spec, (size_t)((slash ? slash : colon) - spec), op_names, OP_COUNT)) < 0)
		return -1;
	if (slash != NULL) {
		if (colon - slash - 1 <= 0 || colon - slash - 1 >= FAULT_PREFIX_MAX)
			return -1;
		memcpy(f->prefix, slash + 1, (size_t)(colon - slash - 1));
	}
	if ((kind = lookup(colon + 1, (size_t)(at - colon - 1), kind_names,
	    sizeof(kind_names) / sizeof(kind_names[0]))) < 0)
		return -1;
	f->op = (enum fault_op)op;
	f->kind = (enum fault_kind)kind;
	if ((f->kind == KIND_ENOSPC && f->op != OP_PUT) ||
	    ((f->kind == KIND_SHORT || f->kind == KIND_FLIP) && f->op != OP_GET))
		return -1;
	arg = at + 1;
	if (strncmp(arg, "every", 5) == 0) {
		f->every = 1;
		arg += 5;
	}
	errno = 0;
	f->when = strtoul(arg, &end, 10);
	if (errno != 0 || end == arg || f->when == 0)
		return -1;
	if (f->kind == KIND_STALL)
		return *end == ':' ? parse_duration(end + 1, &f->stall_ms) : -1;
	return *end == '\0' ? 0 : -1;
}

static int parse_faults(const char *env, struct fault_state *st)
{
	char *copy, *item, *save = NULL;
	int r = 0;

	if (env == NULL || *env == '\0')
		return 0;
	if ((copy = dsb_strdup(env)) == NULL)
		return DSB_ERR_NOMEM;
	for (item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		if (st->n == FAULT_MAX) {
			r = dsb_error(DSB_ERR_USAGE, "DSBACKUP_FAULTS: more than %d faults", FAULT_MAX);
			break;
		}
		if (parse_one(item, &st->faults[st->n]) != 0) {
			r = dsb_error(DSB_ERR_USAGE, "DSBACKUP_FAULTS: cannot parse \"%s\" "
			    "(want OP[/PREFIX]:KIND@N or @everyN, e.g. put:fail@7, put:stall@2:3s)", item);
			break;
		}
		st->n++;
	}
	free(copy);
	return r;
}

static int name_matches(const struct fault *f, const char *name)
{
	size_t n = strlen(f->prefix);

	if (n == 0)
		return 1;
	return name != NULL && strncmp(name, f->prefix, n) == 0 && (name[n] == '/' || name[n] == '\0');
}

static void log_fault(const struct fault *f, unsigned long call, const char *name,
    const char *what)
{
	const char *path = getenv("DSBACKUP_FAULTS_LOG");
	FILE *fp;

	dsb_warn("fault injected: %s #%lu%s%s%s: %s", op_names[f->op], call,
	    f->prefix[0] ? " of " : "", f->prefix, f->prefix[0] ? "/" : "", what);
	dsb_debug("fault injected on object %s", name != NULL && *name ? name : "(root)");
	if (path != NULL && *path != '\0' && (fp = fopen(path, "a")) != NULL) {
		fprintf(fp, "%s:%s #%lu %s\n", op_names[f->op], kind_names[f->kind], call,
		    name != NULL && *name ? name : "(root)");
		fclose(fp);
	}
}

/*
 * hit(st, op, name, call): count this call against every fault of ${op}
 * whose prefix matches ${name}; the first fault due now is returned, with
 * its count of calls in *${call}.
 */
static struct fault *hit(struct fault_state *st, enum fault_op op, const char *name,
    unsigned long *call)
{
	struct fault *due = NULL;
	unsigned long c;
	size_t i;

	for (i = 0; i < st->n; i++) {
		struct fault *f = &st->faults[i];

		if (f->op != op || !name_matches(f, name))
			continue;
		c = atomic_fetch_add(&f->calls, 1) + 1;
		if (due == NULL && (f->every ? c % f->when == 0 : c == f->when)) {
			due = f;
			*call = c;
		}
	}
	return due;
}

static void stall(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * before(st, op, name, errp): act on the fault due for this call, if any:
 * stall sleeps, fail and enospc set *${errp} to the error to return (else
 * it is 0: go ahead); a short or flip fault is returned for the caller to
 * apply to the data, NULL otherwise.
 */
static struct fault *before(struct fault_state *st, enum fault_op op, const char *name, int *errp)
{
	unsigned long call = 0;
	struct fault *f = hit(st, op, name, &call);

	*errp = 0;
	if (f == NULL)
		return NULL;
	switch (f->kind) {
	case KIND_STALL:
		log_fault(f, call, name, "stalling");
		stall(f->stall_ms);
		return NULL;
	case KIND_FAIL:
		log_fault(f, call, name, "failing");
		*errp = dsb_error(DSB_ERR_BACKEND, "injected fault: %s #%lu fails", op_names[op], call);
		return NULL;
	case KIND_ENOSPC:
		log_fault(f, call, name, "no space");
		*errp = dsb_error_errno(DSB_ERR_NOSPACE, ENOSPC, "injected fault: %s #%lu",
		    op_names[op], call);
		return NULL;
	default:
		log_fault(f, call, name, f->kind == KIND_SHORT ? "returning short data" :
		    "flipping a byte of the data");
		return f;
	}
}

static int fault_open(const char *location, void **statep)
{
	struct fault_state *st;
	int r;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	if ((r = parse_faults(getenv("DSBACKUP_FAULTS"), st)) != 0 ||
	    (r = dsb_backend_open(location, &st->inner)) != 0) {
		free(st);
		return r;
	}
	*statep = st;
	return 0;
}

static int fault_create(void *state)
{
	struct fault_state *st = state;
	int r;

	before(st, OP_CREATE, "", &r);
	return r != 0 ? r : dsb_backend_create(st->inner);
}

static int fault_put(void *state, const char *name, const void *p, size_t n, unsigned flags)
{
	struct fault_state *st = state;
	int r;

	before(st, OP_PUT, name, &r);
	return r != 0 ? r : dsb_backend_put(st->inner, name, p, n, flags);
}

static int fault_get(void *state, const char *name, uint64_t off, uint64_t len,
    struct dsb_buf *out)
{
	struct fault_state *st = state;
	struct fault *f;
	int r;

	f = before(st, OP_GET, name, &r);
	if (r != 0)
		return r;
	if ((r = dsb_backend_get(st->inner, name, off, len, out)) != 0 || f == NULL)
		return r;
	if (out->len == 0)
		return 0;
	if (f->kind == KIND_SHORT)
		out->len = out->len / 2;   /* success, but less than asked: the caller must notice */
	else
		out->data[out->len / 2] ^= 0xff;
	return 0;
}

static int fault_stat(void *state, const char *name, uint64_t *size)
{
	struct fault_state *st = state;
	int r;

	before(st, OP_STAT, name, &r);
	return r != 0 ? r : dsb_backend_stat(st->inner, name, size);
}

static int fault_remove(void *state, const char *name)
{
	struct fault_state *st = state;
	int r;

	before(st, OP_REMOVE, name, &r);
	return r != 0 ? r : dsb_backend_remove(st->inner, name);
}

static int fault_list(void *state, const char *dir, dsb_backend_list_cb cb, void *arg)
{
	struct fault_state *st = state;
	int r;

	before(st, OP_LIST, dir, &r);
	return r != 0 ? r : dsb_backend_list(st->inner, dir, cb, arg);
}

/* unfinished writes: passed through, never faulted (the driver's own housekeeping) */
static int fault_list_unfinished(void *state, dsb_backend_unfinished_cb cb, void *arg)
{
	struct fault_state *st = state;

	return dsb_backend_list_unfinished(st->inner, cb, arg);
}

static int fault_abort_unfinished(void *state, const char *name, const char *handle)
{
	struct fault_state *st = state;

	return dsb_backend_abort_unfinished(st->inner, name, handle);
}

static void fault_close(void *state)
{
	struct fault_state *st = state;

	if (st == NULL)
		return;
	dsb_backend_close(st->inner);
	free(st);
}

const struct dsb_backend_ops dsb_backend_fault = {
	.name = "fault",
	.scheme = "fault:",
	.open = fault_open,
	.create = fault_create,
	.put = fault_put,
	.get = fault_get,
	.stat = fault_stat,
	.remove = fault_remove,
	.list = fault_list,
	.list_unfinished = fault_list_unfinished,
	.abort_unfinished = fault_abort_unfinished,
	.close = fault_close,
};
