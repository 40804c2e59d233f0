/*
 * s3_credentials.c: S3 keys and region from the environment and the AWS
 * shared files (see s3_credentials.h).
 *
 * A small INI reader of our own: Debian's libinih (r55) is built with a
 * 200-byte line limit, and a session token line is often longer.
 */
#include <ctype.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "dsbackup/buf.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "s3_credentials.h"

#define CRED_FILE_MAX ((size_t)1 << 20)  /* larger AWS files are refused */
#define CRED_LINE_MAX 65536              /* a key, section or value */

static void free_secret(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);   /* from malloc (dsb_strdup): not OPENSSL_free */
	}
}

void s3_credentials_release(struct s3_credentials *c)
{
	free(c->access_key);
	free_secret(c->secret_key);
	free_secret(c->session_token);
	free(c->region);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

/* ---- INI ---- */

/* trim(s, n, outn): skip leading and trailing blanks. */
static const char *trim(const char *s, size_t n, size_t *outn)
{
	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	*outn = n;
	return s;
}

/* ini_line(line, n, section, cb, arg): one line without its '\n'. */
static int ini_line(const char *line, size_t n, struct dsb_buf *section, s3_ini_cb cb, void *arg)
{
	const char *eq, *k, *v;
	char *key = NULL, *value = NULL;
	size_t kn, vn, i;
	int r;

	if (n == 0 || line[0] == ' ' || line[0] == '\t')
		return 0;  /* blank, or a nested setting ("s3 =\n  addressing_style = path") */
	line = trim(line, n, &n);
	if (n == 0 || line[0] == '#' || line[0] == ';')
		return 0;
	if (line[0] == '[') {
		if (line[n - 1] != ']')
			return dsb_error(DSB_ERR_CORRUPT, "unterminated section header");
		k = trim(line + 1, n - 2, &kn);
		dsb_buf_reset(section);
		if ((r = dsb_buf_append(section, k, kn)) != 0 || (r = dsb_buf_append(section, "", 1)) != 0)
			return r;
		return 0;
	}
	if ((eq = memchr(line, '=', n)) == NULL)
		return 0;
	k = trim(line, (size_t)(eq - line), &kn);
	v = trim(eq + 1, n - (size_t)(eq - line) - 1, &vn);
	if (kn > CRED_LINE_MAX || vn > CRED_LINE_MAX)
		return dsb_error(DSB_ERR_LIMIT, "line longer than %d bytes", CRED_LINE_MAX);
	if ((key = strndup(k, kn)) == NULL || (value = strndup(v, vn)) == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < kn; i++)
		key[i] = (char)tolower((unsigned char)key[i]);
	r = cb(arg, section->len > 0 ? (const char *)section->data : "", key, value);
out:
	free(key);
	free_secret(value);
	return r;
}

int s3_ini_parse(const char *text, size_t n, s3_ini_cb cb, void *arg)
{
	struct dsb_buf section;
	size_t i = 0, end;
	const char *nl;
	int r = 0;

	if (n > 0 && memchr(text, '\0', n) != NULL)
		return dsb_error(DSB_ERR_CORRUPT, "NUL byte in a text file");
	dsb_buf_init(&section, CRED_LINE_MAX);
	while (i < n && r == 0) {
		nl = memchr(text + i, '\n', n - i);
		end = nl != NULL ? (size_t)(nl - text) : n;
		r = ini_line(text + i, end - i, &section, cb, arg);
		i = end + 1;
	}
	dsb_buf_release(&section);
	return r;
}

/* ---- the files ---- */

struct profile_scan {
	const char *section;       /* "default", or "profile NAME" in the config file */
	const char *alt_section;   /* the same profile spelt another way, or NULL */
	char *access_key;
	char *secret_key;
	char *session_token;
	char *region;
};

static int set_field(char **field, const char *value)
{
	free_secret(*field);
	return (*field = dsb_strdup(value)) == NULL ? DSB_ERR_NOMEM : 0;
}

static int profile_cb(void *arg, const char *section, const char *key, const char *value)
{
	struct profile_scan *s = arg;

	if (strcmp(section, s->section) != 0 &&
	    (s->alt_section == NULL || strcmp(section, s->alt_section) != 0))
		return 0;
	if (strcmp(key, "aws_access_key_id") == 0)
		return set_field(&s->access_key, value);
	if (strcmp(key, "aws_secret_access_key") == 0)
		return set_field(&s->secret_key, value);
	if (strcmp(key, "aws_session_token") == 0)
		return set_field(&s->session_token, value);
	if (strcmp(key, "region") == 0)
		return set_field(&s->region, value);
	return 0;
}

static void profile_scan_release(struct profile_scan *s)
{
	free(s->access_key);
	free_secret(s->secret_key);
	free_secret(s->session_token);
	free(s->region);
}

/* scan_file(path, s): read the profile's settings from ${path}; a missing file adds nothing. */
static int scan_file(const char *path, struct profile_scan *s)
{
	struct dsb_buf text;
	int r;

	dsb_buf_init(&text, CRED_FILE_MAX);
	r = dsb_read_file(path, CRED_FILE_MAX, &text);
	if (r == DSB_ERR_NOT_FOUND) {
		dsb_error_clear();
		r = 0;
	} else if (r == 0 && (r = s3_ini_parse((const char *)text.data, text.len, profile_cb, s)) != 0) {
		r = dsb_error_wrap(r, "reading %s", path);
	}
	dsb_buf_release_secret(&text);
	return r;
}

/* home_file(env, rel): $env if set, else "$HOME/<rel>"; malloc'd, NULL on failure. */
static char *home_file(const char *env, const char *rel)
{
	const char *v = getenv(env), *home = getenv("HOME");
	struct passwd *pw;

	if (v != NULL && *v != '\0')
		return dsb_strdup(v);
	if ((home == NULL || *home == '\0') && (pw = getpwuid(getuid())) != NULL)
		home = pw->pw_dir;
	if (home == NULL || *home == '\0') {
		dsb_error(DSB_ERR_USAGE, "no home directory to find %s in", rel);
		return NULL;
	}
	return dsb_asprintf("%s/%s", home, rel);
}

/* take(dst, src): move a string. */
static void take(char **dst, char **src)
{
	*dst = *src;
	*src = NULL;
}

static int from_environment(struct s3_credentials *out)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = getenv("AWS_SESSION_TOKEN");

	if (id != NULL && *id == '\0')
		id = NULL;
	if (secret != NULL && *secret == '\0')
		secret = NULL;
	if (id == NULL && secret == NULL)
		return DSB_ERR_NOT_FOUND;
	if (id == NULL || secret == NULL)
		return dsb_error(DSB_ERR_USAGE, "%s is set but %s is not",
		    id != NULL ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
		    id != NULL ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
	if ((out->access_key = dsb_strdup(id)) == NULL || (out->secret_key = dsb_strdup(secret)) == NULL ||
	    (token != NULL && *token != '\0' && (out->session_token = dsb_strdup(token)) == NULL) ||
	    (out->source = dsb_strdup("the environment")) == NULL)
		return DSB_ERR_NOMEM;
	return 0;
}

/* keys_from(s, what, out): use the profile's key pair if it has one. */
static int keys_from(struct profile_scan *s, const char *profile, const char *path,
    struct s3_credentials *out)
{
	if (s->access_key == NULL && s->secret_key == NULL)
		return DSB_ERR_NOT_FOUND;
	if (s->access_key == NULL || s->secret_key == NULL)
		return dsb_error(DSB_ERR_USAGE, "profile %s in %s has only one of "
		    "aws_access_key_id and aws_secret_access_key", profile, path);
	take(&out->access_key, &s->access_key);
	take(&out->secret_key, &s->secret_key);
	take(&out->session_token, &s->session_token);
	if ((out->source = dsb_asprintf("profile %s in %s", profile, path)) == NULL)
		return DSB_ERR_NOMEM;
	return 0;
}

/* from_files(credentials_file, profile, out): keys (unless already found) and region. */
static int from_files(const char *credentials_file, const char *profile, struct s3_credentials *out)
{
	struct profile_scan cs = { .section = profile }, ks = { 0 };
	char *cred_path = NULL, *conf_path = NULL, *conf_section = NULL;
	int r = DSB_ERR_NOMEM;

	if ((conf_section = dsb_asprintf("profile %s", profile)) == NULL)
		goto out;
	ks.section = conf_section;
	ks.alt_section = strcmp(profile, "default") == 0 ? "default" : NULL;
	cred_path = credentials_file != NULL && *credentials_file != '\0' ?
	    dsb_strdup(credentials_file) : home_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
	conf_path = home_file("AWS_CONFIG_FILE", ".aws/config");
	if (cred_path == NULL || conf_path == NULL) {
		r = cred_path == NULL && credentials_file == NULL ? DSB_ERR_USAGE : DSB_ERR_NOMEM;
		goto out;
	}
	if ((r = scan_file(cred_path, &cs)) != 0 || (r = scan_file(conf_path, &ks)) != 0)
		goto out;
	if (out->access_key == NULL && (r = keys_from(&cs, profile, cred_path, out)) == DSB_ERR_NOT_FOUND)
		r = keys_from(&ks, profile, conf_path, out);
	if (r == DSB_ERR_NOT_FOUND)
		r = dsb_error(DSB_ERR_USAGE, "no S3 credentials: set AWS_ACCESS_KEY_ID and "
		    "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (now \"%s\") with a profile in %s",
		    profile, cred_path);
	if (r != 0)
		goto out;
	if (out->region == NULL && ks.region != NULL)
		take(&out->region, &ks.region);
	r = 0;
out:
	profile_scan_release(&cs);
	profile_scan_release(&ks);
	free(cred_path);
	free(conf_path);
	free(conf_section);
	return r;
}

static int region_from_environment(struct s3_credentials *out)
{
	const char *v = getenv("AWS_REGION");

	if (v == NULL || *v == '\0')
		v = getenv("AWS_DEFAULT_REGION");
	if (v == NULL || *v == '\0')
		return 0;
	return (out->region = dsb_strdup(v)) == NULL ? DSB_ERR_NOMEM : 0;
}

int s3_credentials_load(const char *credentials_file, struct s3_credentials *out)
{
	const char *profile = getenv("AWS_PROFILE");
	int r;

	if (profile == NULL || *profile == '\0')
		profile = "default";
	if ((r = region_from_environment(out)) != 0)
		goto out;
	r = from_environment(out);
	if (r == DSB_ERR_NOT_FOUND || (r == 0 && out->region == NULL)) {
		/* the files give the keys, or only the region */
		int keys_found = r == 0;

		r = from_files(credentials_file, profile, out);
		if (keys_found && r != 0 && r != DSB_ERR_NOMEM) {
			/* the keys are there; an unreadable file only loses the region */
			dsb_debug("no region from the AWS files: %s", dsb_errmsg());
			dsb_error_clear();
			r = 0;
		}
	}
out:
	if (r != 0)
		s3_credentials_release(out);
	return r;
}
