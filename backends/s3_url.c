/*
 * s3_url.c: from a repository URL to an endpoint, a bucket and a prefix.
 *
 *   s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX]   endpoint in the URL, path-style
 *   s3://BUCKET[/PREFIX]                       endpoint from the options, else
 *                                              AWS (https://s3.REGION.amazonaws.com,
 *                                              virtual-host style)
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dsbackup/backend.h"
#include "dsbackup/error.h"
#include "dsbackup/util.h"
#include "s3_internal.h"

#define URL_USAGE "use s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX] or s3://BUCKET[/PREFIX]"

/* An endpoint: "https" or "http", and HOST[:PORT]. */
struct endpoint {
	int https;
	char *authority;
};

/* authority_ok(a, n): a host and an optional port, with no user name, password, path or query. */
static int authority_ok(const char *a, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];

		if (c <= 0x20 || c >= 0x7f || c == '@' || c == '?' || c == '#' || c == '\\' || c == '/')
			return 0;
	}
	return 1;
}

/*
 * parse_endpoint(s, ep, restp): "http[s]://AUTHORITY" followed by nothing
 * or by "/..." (returned in ${restp}, past the '/').
 */
static int parse_endpoint(const char *s, struct endpoint *ep, const char **restp)
{
	const char *a, *slash;
	size_t n;

	if (strncasecmp(s, "https://", 8) == 0) {
		ep->https = 1;
		a = s + 8;
	} else if (strncasecmp(s, "http://", 7) == 0) {
		ep->https = 0;
		a = s + 7;
	} else {
		return dsb_error(DSB_ERR_USAGE, "S3 endpoint \"%s\" does not start with http:// or https://", s);
	}
	slash = strchr(a, '/');
	n = slash != NULL ? (size_t)(slash - a) : strlen(a);
	if (!authority_ok(a, n))
		return dsb_error(DSB_ERR_USAGE, "invalid host in an S3 endpoint: a user name, password, "
		    "query or odd character (credentials never go in a URL; use AWS_ACCESS_KEY_ID and "
		    "AWS_SECRET_ACCESS_KEY or a profile)");
	if ((ep->authority = strndup(a, n)) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	*restp = slash != NULL ? slash + 1 : "";
	return 0;
}

static int bucket_ok(const char *b, size_t n, int dns)
{
	size_t i;

	if (n == 0 || n > 255 || (dns && (n < 3 || n > 63)))
		return 0;
	for (i = 0; i < n; i++) {
		char c = b[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')
			continue;
		if (!dns && ((c >= 'A' && c <= 'Z') || c == '_'))
			continue;
		return 0;
	}
	return 1;
}

/* prefix_of(p, out): "a/b" or "/a/b/" to "a/b/"; "" stays "".  Components must be plain. */
static int prefix_of(const char *p, char **out)
{
	size_t n;
	const char *c, *e;

	while (*p == '/')
		p++;
	n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	for (c = p; c < p + n; c = e + 1) {
		e = memchr(c, '/', (size_t)(p + n - c));
		if (e == NULL)
			e = p + n;
		if (e == c || (e - c == 1 && c[0] == '.') || (e - c == 2 && c[0] == '.' && c[1] == '.'))
			return dsb_error(DSB_ERR_USAGE, "S3 prefix \"%.*s\" has an empty, \".\" or \"..\" "
			    "component", (int)n, p);
	}
	for (c = p; c < p + n; c++) {
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e || *c == '?' || *c == '#')
			return dsb_error(DSB_ERR_USAGE, "S3 prefix contains byte 0x%02x", (unsigned char)*c);
	}
	*out = n == 0 ? dsb_strdup("") : dsb_asprintf("%.*s/", (int)n, p);
	return *out == NULL ? DSB_ERR_NOMEM : 0;
}

/* addressing(o, explicit_endpoint, virtp): path-style unless the options or AWS say otherwise. */
static int addressing(const struct dsb_backend_options *o, int aws_default, int *virtp)
{
	if (o->s3_addressing == NULL)
		*virtp = aws_default;
	else if (strcmp(o->s3_addressing, "path") == 0)
		*virtp = 0;
	else if (strcmp(o->s3_addressing, "virtual") == 0)
		*virtp = 1;
	else
		return dsb_error(DSB_ERR_USAGE, "S3 addressing style \"%s\": use path or virtual",
		    o->s3_addressing);
	return 0;
}

/* bucket_path(s3, path): "BUCKET[/PREFIX]" into s3->bucket and s3->prefix. */
static int bucket_path(struct s3 *s3, const char *path)
{
	const char *slash = strchr(path, '/');
	size_t n = slash != NULL ? (size_t)(slash - path) : strlen(path);
	int r;

	if (strpbrk(path, "?#") != NULL)
		return dsb_error(DSB_ERR_USAGE, "an S3 URL has no query or fragment; " URL_USAGE);
	if (!bucket_ok(path, n, s3->virtual_host))
		return dsb_error(DSB_ERR_USAGE, "invalid S3 bucket name \"%.*s\"%s; " URL_USAGE, (int)n,
		    path, s3->virtual_host ? " for virtual-host addressing (lower case, 3-63)" : "");
	if ((s3->bucket = strndup(path, n)) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	if ((r = prefix_of(slash != NULL ? slash : "", &s3->prefix)) != 0)
		return r;
	return 0;
}

int s3_parse_location(const char *location, const struct dsb_backend_options *o, struct s3 *s3)
{
	struct endpoint ep = { 0, NULL };
	const char *path = NULL;
	int aws_default = 0, r;

	if (strncasecmp(location, "http://", 7) == 0 || strncasecmp(location, "https://", 8) == 0) {
		if ((r = parse_endpoint(location, &ep, &path)) != 0)
			goto out;
	} else if (strncmp(location, "//", 2) == 0) {
		path = location + 2;
		if (o->s3_endpoint != NULL) {
			const char *rest;

			if ((r = parse_endpoint(o->s3_endpoint, &ep, &rest)) != 0)
				goto out;
			if (*rest != '\0') {
				r = dsb_error(DSB_ERR_USAGE, "S3 endpoint \"%s\" has a path", o->s3_endpoint);
				goto out;
			}
		} else {
			aws_default = 1;
			ep.https = 1;
			if ((ep.authority = dsb_asprintf("s3.%s.amazonaws.com", s3->region)) == NULL) {
				r = DSB_ERR_NOMEM;
				goto out;
			}
		}
	} else {
		r = dsb_error(DSB_ERR_USAGE, "invalid S3 URL \"s3:%s\"; " URL_USAGE, location);
		goto out;
	}
	s3->https = ep.https;
	if ((r = addressing(o, aws_default, &s3->virtual_host)) != 0 ||
	    (r = bucket_path(s3, path)) != 0)
		goto out;
	s3->host = s3->virtual_host ? dsb_asprintf("%s.%s", s3->bucket, ep.authority) :
	    dsb_strdup(ep.authority);
	s3->base_url = s3->host == NULL ? NULL :
	    dsb_asprintf("%s://%s", ep.https ? "https" : "http", s3->host);
	r = s3->base_url == NULL ? DSB_ERR_NOMEM : 0;
out:
	free(ep.authority);
	return r;
}
