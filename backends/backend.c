/*
 * backend.c: choose a storage driver from the repository URL, and wrap its
 * operations so that every error says which repository and which object:
 * "storage local:/srv/repo: putting data/ab/ab12...: <driver's message>".
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dsbackup/backend.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"

/* Every driver, found by URL scheme; NULL-terminated. */
static const struct dsb_backend_ops *const backend_drivers[] = {
	&dsb_backend_local,
	&dsb_backend_s3,
	&dsb_backend_fault,
	NULL
};

/* The driver for a URL without a scheme, i.e. a plain path. */
static const struct dsb_backend_ops *const backend_plain_path_driver = &dsb_backend_local;

/*
 * scheme_length(url): the length of the scheme at the start of ${url},
 * including its ':', or 0 if there is none.  A scheme is an ASCII letter
 * followed by letters or digits, then ':' ("local:", "s3:", "sftp:").
 * Anything else is a plain path: "repo", "/srv/repo", "./a:b", "my-repo:1".
 */
static size_t scheme_length(const char *url)
{
	size_t i;

	if (!isalpha((unsigned char)url[0]))
		return 0;
	for (i = 1; isalnum((unsigned char)url[i]); i++)
		;
	return url[i] == ':' ? i + 1 : 0;
}

/*
 * find_driver(url, opsp, locationp): the URL rule.  A URL that starts with
 * a scheme (see scheme_length) names its driver; a scheme no driver knows is
 * DSB_ERR_USAGE, since "s3:bucket" taken as a relative directory would
 * silently back up to the wrong place.  A relative path that really starts
 * like a scheme can be written "./xyz:dir" or "local:xyz:dir".  Without a
 * scheme the URL is a path for the local driver.  ${*locationp} is the URL
 * after the scheme.  Schemes compare without regard to case.
 */
static int find_driver(const char *url, const struct dsb_backend_ops **opsp,
    const char **locationp)
{
	size_t i, n = scheme_length(url);

	if (n == 0) {
		*opsp = backend_plain_path_driver;
		*locationp = url;
		return 0;
	}
	for (i = 0; backend_drivers[i] != NULL; i++) {
		const char *scheme = backend_drivers[i]->scheme;

		if (scheme != NULL && strlen(scheme) == n && strncasecmp(url, scheme, n) == 0) {
			*opsp = backend_drivers[i];
			*locationp = url + n;
			return 0;
		}
	}
	return dsb_error(DSB_ERR_USAGE, "unknown repository type \"%.*s\" in URL \"%s\" "
	    "(a relative path can be written \"./%s\")", (int)n, url, url, url);
}

/*
 * redacted_url(scheme, location): "scheme" + location, with any user
 * information of a "://user:password@host" location replaced by "***",
 * so that a password typed into a URL never reaches a message.
 */
static char *redacted_url(const char *scheme, const char *location)
{
	const char *auth = strstr(location, "://"), *at, *end;

	if (auth != NULL) {
		auth += 3;
		end = auth + strcspn(auth, "/?#");
		at = memchr(auth, '@', (size_t)(end - auth));
		if (at != NULL)
			return dsb_asprintf("%s%.*s***%s", scheme, (int)(auth - location), location, at);
	}
	return dsb_asprintf("%s%s", scheme, location);
}

int dsb_backend_open(const char *url, struct dsb_backend **out)
{
	const struct dsb_backend_ops *ops = NULL;
	struct dsb_backend *be = NULL;
	const char *location = NULL;
	int r = DSB_ERR_INTERNAL;

	*out = NULL;
	if (url == NULL || *url == '\0')
		return dsb_error(DSB_ERR_USAGE, "empty repository URL");
	if ((r = find_driver(url, &ops, &location)) != 0)
		goto out;
	if ((be = calloc(1, sizeof(*be))) == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((be->url = redacted_url(ops->scheme ? ops->scheme : "", location)) == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	be->ops = ops;
	if ((r = ops->open(location, &be->state)) != 0) {
		r = dsb_error_wrap(r, "storage %s: opening", be->url);
		goto out;
	}
	*out = be;
	be = NULL;
	r = 0;
out:
	dsb_backend_close(be);
	return r;
}

void dsb_backend_close(struct dsb_backend *be)
{
	if (be == NULL)
		return;
	if (be->ops != NULL && be->ops->close != NULL)
		be->ops->close(be->state);
	free(be->url);
	free(be);
}

/* unsupported(be, what): the driver leaves this operation's slot NULL. */
static int unsupported(const struct dsb_backend *be, const char *what)
{
	return dsb_error(DSB_ERR_UNSUPPORTED, "storage %s: %s storage cannot %s",
	    be->url, be->ops->name, what);
}

static const char *shown(const char *name)
{
	return name != NULL ? name : "(null)";
}

int dsb_backend_create(struct dsb_backend *be)
{
	int r;

	if (be->ops->create == NULL)
		return unsupported(be, "create a repository");
	if ((r = be->ops->create(be->state)) != 0)
		return dsb_error_wrap(r, "storage %s: creating the repository", be->url);
	return 0;
}

/* check_component(c, n, name): one '/'-separated component of ${name}. */
static int check_component(const char *c, size_t n, const char *name)
{
	if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.') ||
	    (n >= 5 && strncmp(c, ".tmp-", 5) == 0))
		return dsb_error(DSB_ERR_USAGE, "invalid object name \"%s\": empty, \".\", \"..\" "
		    "or \".tmp-\" component", name);
	return 0;
}

int dsb_backend_check_name(const char *name, int allow_empty)
{
	const char *c, *p;
	size_t n;
	int r;

	if (name == NULL)
		return dsb_error(DSB_ERR_USAGE, "missing object name");
	n = strnlen(name, DSB_BACKEND_NAME_MAX + 1);
	if (n == 0)
		return allow_empty ? 0 : dsb_error(DSB_ERR_USAGE, "empty object name");
	if (n > DSB_BACKEND_NAME_MAX)
		return dsb_error(DSB_ERR_USAGE, "object name \"%.40s...\" is longer than %d bytes",
		    name, DSB_BACKEND_NAME_MAX);
	for (p = name; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return dsb_error(DSB_ERR_USAGE, "object name contains byte 0x%02x",
			    (unsigned char)*p);
	}
	for (c = name;; c = p + 1) {
		p = strchrnul(c, '/');
		if ((r = check_component(c, (size_t)(p - c), name)) != 0)
			return r;
		if (*p == '\0')
			return 0;
	}
}

int dsb_backend_put(struct dsb_backend *be, const char *name, const void *p, size_t n,
    unsigned flags)
{
	int r;

	if (be->ops->put == NULL)
		return unsupported(be, "store objects");
	if ((r = be->ops->put(be->state, name, p, n, flags)) != 0)
		return dsb_error_wrap(r, "storage %s: putting %s", be->url, shown(name));
	return 0;
}

int dsb_backend_get(struct dsb_backend *be, const char *name, uint64_t off, uint64_t len,
    struct dsb_buf *out)
{
	int r;

	if (be->ops->get == NULL)
		return unsupported(be, "read objects");
	if ((r = be->ops->get(be->state, name, off, len, out)) != 0)
		return dsb_error_wrap(r, "storage %s: getting %s", be->url, shown(name));
	/* a driver that returns less than asked must not pass for a whole read */
	if (len != 0 && out->len != len)
		return dsb_error(DSB_ERR_CORRUPT, "storage %s: getting %s: short read "
		    "(%zu of %llu bytes)", be->url, shown(name), out->len, (unsigned long long)len);
	return 0;
}

int dsb_backend_stat(struct dsb_backend *be, const char *name, uint64_t *size)
{
	int r;

	if (be->ops->stat == NULL)
		return unsupported(be, "stat objects");
	if ((r = be->ops->stat(be->state, name, size)) != 0)
		return dsb_error_wrap(r, "storage %s: stat %s", be->url, shown(name));
	return 0;
}

int dsb_backend_remove(struct dsb_backend *be, const char *name)
{
	int r;

	if (be->ops->remove == NULL)
		return unsupported(be, "remove objects");
	if ((r = be->ops->remove(be->state, name)) != 0)
		return dsb_error_wrap(r, "storage %s: removing %s", be->url, shown(name));
	return 0;
}

/* remove_each(be, names, n, gone): remove_many for a driver without one. */
static int remove_each(struct dsb_backend *be, const char *const *names, size_t n,
    unsigned char *gone)
{
	char *first = NULL;
	int r, rfirst = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		r = be->ops->remove(be->state, names[i]);
		gone[i] = r == 0 || r == DSB_ERR_NOT_FOUND;
		if (gone[i]) {
			dsb_error_clear();
			continue;
		}
		dsb_warn("storage %s: could not remove %s: %s", be->url, shown(names[i]), dsb_errmsg());
		if (rfirst == 0) {
			rfirst = r;
			first = dsb_strdup(dsb_errmsg());
		}
	}
	if (rfirst == 0)
		return 0;
	r = dsb_error(rfirst, "%s", first != NULL ? first : dsb_strerror(rfirst));
	free(first);
	return r;
}

int dsb_backend_remove_many(struct dsb_backend *be, const char *const *names, size_t n,
    unsigned char *gone)
{
	size_t i, failed = 0;
	int r;

	if (be->ops->remove == NULL)
		return unsupported(be, "remove objects");
	if (n == 0)
		return 0;
	if (be->ops->remove_many != NULL)
		r = be->ops->remove_many(be->state, names, n, gone);
	else
		r = remove_each(be, names, n, gone);
	if (r == 0)
		return 0;
	for (i = 0; i < n; i++)
		failed += !gone[i];
	return dsb_error_wrap(r, "storage %s: %zu of %zu object(s) not removed, the first", be->url,
	    failed, n);
}

/* The caller's callback, and whether it is what stopped the listing. */
struct list_relay {
	dsb_backend_list_cb cb;
	void *arg;
	int stopped;
};

static int list_relay_cb(void *arg, const char *name, uint64_t size)
{
	struct list_relay *relay = arg;
	int r;

	if ((r = relay->cb(relay->arg, name, size)) != 0)
		relay->stopped = 1;
	return r;
}

/* dsb_backend_list: a value returned by ${cb} is passed back as is, without added context. */
int dsb_backend_list(struct dsb_backend *be, const char *dir, dsb_backend_list_cb cb, void *arg)
{
	struct list_relay relay = { .cb = cb, .arg = arg, .stopped = 0 };
	int r;

	if (be->ops->list == NULL)
		return unsupported(be, "list objects");
	if ((r = be->ops->list(be->state, dir, list_relay_cb, &relay)) != 0 && !relay.stopped)
		return dsb_error_wrap(r, "storage %s: listing %s", be->url,
		    dir != NULL && *dir == '\0' ? "the repository" : shown(dir));
	return r;
}

int dsb_backend_list_unfinished(struct dsb_backend *be, dsb_backend_unfinished_cb cb, void *arg)
{
	int r;

	if (be->ops->list_unfinished == NULL)
		return 0;
	if ((r = be->ops->list_unfinished(be->state, cb, arg)) != 0)
		return dsb_error_wrap(r, "storage %s: listing unfinished uploads", be->url);
	return 0;
}

int dsb_backend_abort_unfinished(struct dsb_backend *be, const char *name, const char *handle)
{
	int r;

	if (be->ops->abort_unfinished == NULL)
		return unsupported(be, "abort unfinished uploads");
	if ((r = be->ops->abort_unfinished(be->state, name, handle)) != 0)
		return dsb_error_wrap(r, "storage %s: aborting the unfinished upload of %s", be->url,
		    shown(name));
	return 0;
}
