/*
 * backend_options.c: the process-wide backend settings (backend.h), set
 * by the command line through dsb_backend_configure() and completed from
 * DSBACKUP_S3_* environment variables.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dsbackup/backend.h"
#include "dsbackup/error.h"
#include "dsbackup/util.h"

static struct dsb_backend_options configured;

/* The string fields, so that they can be copied and freed in one loop. */
static const char **string_fields(struct dsb_backend_options *o, size_t i)
{
	const char **fields[] = {
		&o->s3_endpoint, &o->s3_region, &o->s3_addressing, &o->s3_ca_file,
		&o->s3_storage_class, &o->s3_credentials_file, &o->s3_lock_mode,
	};

	return i < sizeof(fields) / sizeof(fields[0]) ? fields[i] : NULL;
}

static void clear_configured(void)
{
	const char **f;
	size_t i;

	for (i = 0; (f = string_fields(&configured, i)) != NULL; i++)
		free((char *)(uintptr_t)*f);
	memset(&configured, 0, sizeof(configured));
}

int dsb_backend_configure(const struct dsb_backend_options *o)
{
	const char **f;
	size_t i;

	clear_configured();
	if (o == NULL)
		return 0;
	configured = *o;
	for (i = 0; (f = string_fields(&configured, i)) != NULL; i++) {
		if (*f != NULL && (*f = dsb_strdup(*f)) == NULL) {
			for (; (f = string_fields(&configured, i)) != NULL; i++)
				*f = NULL;  /* the caller's, not copies */
			clear_configured();
			return DSB_ERR_NOMEM;
		}
	}
	return 0;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* parse_size(name, s, out): a byte count with an optional K, M or G (powers of 1024). */
static int parse_size(const char *name, const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (end != s && (*end == 'K' || *end == 'k'))
		shift = 10, end++;
	else if (end != s && (*end == 'M' || *end == 'm'))
		shift = 20, end++;
	else if (end != s && (*end == 'G' || *end == 'g'))
		shift = 30, end++;
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > (UINT64_MAX >> shift))
		return dsb_error(DSB_ERR_USAGE, "%s=\"%.40s\" is not a size (e.g. 64M)", name, s);
	*out = (uint64_t)v << shift;
	return 0;
}

/* parse_int(name, s, min, max, out) */
static int parse_int(const char *name, const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return dsb_error(DSB_ERR_USAGE, "%s=\"%.40s\" is not a number from %ld to %ld",
		    name, s, min, max);
	*out = v;
	return 0;
}

static void fill_strings(struct dsb_backend_options *o)
{
	static const struct { size_t field; const char *name; } vars[] = {
		{ 0, "DSBACKUP_S3_ENDPOINT" }, { 1, "DSBACKUP_S3_REGION" },
		{ 2, "DSBACKUP_S3_ADDRESSING" }, { 3, "DSBACKUP_S3_CA_FILE" },
		{ 4, "DSBACKUP_S3_STORAGE_CLASS" }, { 5, "DSBACKUP_S3_CREDENTIALS_FILE" },
		{ 6, "DSBACKUP_S3_LOCK_MODE" },
	};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char **f = string_fields(o, vars[i].field);

		if (*f == NULL)
			*f = env(vars[i].name);
	}
}

static int fill_numbers(struct dsb_backend_options *o)
{
	const char *v;
	long n = 0;
	int r;

	if (o->s3_retention_days == 0 && (v = env("DSBACKUP_S3_RETENTION_DAYS")) != NULL) {
		if ((r = parse_int("DSBACKUP_S3_RETENTION_DAYS", v, 0, 36500, &n)) != 0)
			return r;
		o->s3_retention_days = (unsigned)n;
	}
	if (o->s3_connections == 0 && (v = env("DSBACKUP_S3_CONNECTIONS")) != NULL) {
		if ((r = parse_int("DSBACKUP_S3_CONNECTIONS", v, 1, 64, &n)) != 0)
			return r;
		o->s3_connections = (int)n;
	}
	if (o->s3_retries == 0 && (v = env("DSBACKUP_S3_RETRIES")) != NULL) {
		if ((r = parse_int("DSBACKUP_S3_RETRIES", v, 0, 100, &n)) != 0)
			return r;
		o->s3_retries = n == 0 ? -1 : (int)n;  /* -1: explicitly none */
	}
	if (o->s3_delete_batch == 0 && (v = env("DSBACKUP_S3_DELETE_BATCH")) != NULL) {
		if ((r = parse_int("DSBACKUP_S3_DELETE_BATCH", v, 1, 1000, &n)) != 0)
			return r;
		o->s3_delete_batch = (int)n;
	}
	if (!o->insecure_tls && (v = env("DSBACKUP_S3_INSECURE_TLS")) != NULL) {
		if ((r = parse_int("DSBACKUP_S3_INSECURE_TLS", v, 0, 1, &n)) != 0)
			return r;
		o->insecure_tls = (int)n;
	}
	if (o->s3_multipart_threshold == 0 && (v = env("DSBACKUP_S3_MULTIPART_THRESHOLD")) != NULL &&
	    (r = parse_size("DSBACKUP_S3_MULTIPART_THRESHOLD", v, &o->s3_multipart_threshold)) != 0)
		return r;
	if (o->s3_part_size == 0 && (v = env("DSBACKUP_S3_PART_SIZE")) != NULL &&
	    (r = parse_size("DSBACKUP_S3_PART_SIZE", v, &o->s3_part_size)) != 0)
		return r;
	return 0;
}

int dsb_backend_get_options(struct dsb_backend_options *out)
{
	*out = configured;
	fill_strings(out);
	return fill_numbers(out);
}
