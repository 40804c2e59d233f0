/*
 * config.c: reading the configuration file with libinih.
 *
 * inih does the INI syntax; this file gives it a line reader of its own,
 * which counts lines (so that every message names one), sees section
 * headers (so that empty and repeated sections are noticed), and refuses
 * lines too long for inih's buffer instead of letting them be split.  The
 * handler checks each key against the table of its section and stores it;
 * dsb_config_load then checks what spans keys and sections (required keys,
 * repositories that jobs name).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "dsbackup/config.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"

enum key_type {
	T_STRING,     /* char *, once */
	T_ABSPATH,    /* char *, an absolute path */
	T_FILE,       /* char *, an existing readable file */
	T_DIR,        /* char *, an existing directory */
	T_LIST,       /* dsb_strlist, comma-separated, key repeatable */
	T_REPEAT,     /* dsb_strlist, one entry per occurrence */
	T_SOURCES,    /* T_LIST of source specs */
	T_NAMES,      /* T_LIST of section names */
	T_RECIPIENTS, /* dsb_strlist of dsbr1... recipients, separated by commas or blanks */
	T_COUNT,      /* int >= 0 */
	T_BOOL,       /* int 0/1 */
	T_DURATION,   /* int64_t seconds */
	T_WITHIN,     /* char *, restic's notation "1y2m3d4h" */
	T_SCHEDULE,   /* char * and the struct dsb_cron at aux */
	T_LOGLEVEL,   /* int */
	T_TIMEZONE,   /* int utc */
	T_WEBHOOK,    /* char *, http(s) URL */
	T_CREDENTIAL  /* char *, a credential name */
};

#define KEY_RETENTION 1u   /* sets retention.any */

struct key_def {
	const char *name;
	enum key_type type;
	size_t off;
	size_t aux;
	unsigned flags;
};

#define GKEY(n, t, f) { n, t, offsetof(struct dsb_config, f), 0, 0 }
static const struct key_def global_keys[] = {
	GKEY("state-dir", T_ABSPATH, state_dir),
	GKEY("metrics-dir", T_DIR, metrics_dir),
	GKEY("log-level", T_LOGLEVEL, log_level),
	GKEY("timezone", T_TIMEZONE, utc),
	GKEY("stop-timeout", T_DURATION, stop_timeout_sec),
	GKEY("lock-wait", T_DURATION, lock_wait_sec),
	{ NULL, T_STRING, 0, 0, 0 }
};

#define RKEY(n, t, f) { n, t, offsetof(struct dsb_config_repo, f), 0, 0 }
static const struct key_def repo_keys[] = {
	RKEY("url", T_STRING, url),
	RKEY("password-file", T_FILE, password_file),
	RKEY("password-credential", T_CREDENTIAL, password_credential),
	RKEY("catalog", T_ABSPATH, catalog),
	{ "prune-schedule", T_SCHEDULE, offsetof(struct dsb_config_repo, prune_schedule),
	  offsetof(struct dsb_config_repo, prune_cron), 0 },
	RKEY("escrow-recipients", T_RECIPIENTS, escrow_recipients),
	{ NULL, T_STRING, 0, 0, 0 }
};

/* s3-* keys of [repository]: set as DSBACKUP_S3_* while the repository is opened */
static const struct {
	const char *name;
	int is_file;
} s3_keys[] = {
	{ "s3-endpoint", 0 }, { "s3-region", 0 }, { "s3-addressing", 0 }, { "s3-ca-file", 1 },
	{ "s3-storage-class", 0 }, { "s3-credentials-file", 1 }, { "s3-lock-mode", 0 },
	{ "s3-retention-days", 0 }, { "s3-connections", 0 }, { "s3-retries", 0 },
	{ "s3-multipart-threshold", 0 }, { "s3-part-size", 0 }, { "s3-insecure-tls", 0 },
};

#define JKEY(n, t, f) { n, t, offsetof(struct dsb_config_job, f), 0, 0 }
#define JKEEP(n, t, f) { n, t, offsetof(struct dsb_config_job, retention.f), 0, KEY_RETENTION }
static const struct key_def job_keys[] = {
	JKEY("sources", T_SOURCES, sources),
	JKEY("repositories", T_NAMES, repositories),
	{ "schedule", T_SCHEDULE, offsetof(struct dsb_config_job, schedule),
	  offsetof(struct dsb_config_job, cron), 0 },
	JKEY("randomized-delay", T_DURATION, randomized_delay_sec),
	JKEEP("keep-last", T_COUNT, keep_last),
	JKEEP("keep-hourly", T_COUNT, keep_hourly),
	JKEEP("keep-daily", T_COUNT, keep_daily),
	JKEEP("keep-weekly", T_COUNT, keep_weekly),
	JKEEP("keep-monthly", T_COUNT, keep_monthly),
	JKEEP("keep-yearly", T_COUNT, keep_yearly),
	JKEEP("keep-within", T_WITHIN, keep_within),
	JKEEP("keep-tag", T_LIST, keep_tags),
	JKEY("exclude", T_LIST, excludes),
	JKEY("tags", T_LIST, tags),
	JKEY("host", T_STRING, host),
	JKEY("one-file-system", T_BOOL, one_file_system),
	JKEY("pre-hook", T_REPEAT, pre_hooks),
	JKEY("post-hook", T_REPEAT, post_hooks),
	JKEY("notify-webhook", T_WEBHOOK, notify_webhook),
	JKEY("notify-on-success", T_BOOL, notify_on_success),
	JKEY("escrow-recipients", T_RECIPIENTS, escrow_recipients),
	{ NULL, T_STRING, 0, 0, 0 }
};

#define MAX_KEYS 32

enum section_kind { SEC_NONE, SEC_GLOBAL, SEC_REPO, SEC_JOB, SEC_BAD };

struct section {
	enum section_kind kind;
	char *header;          /* "job nightly" as written, trimmed */
	int line;
	size_t index;          /* into cfg->repos or cfg->jobs */
	int key_line[MAX_KEYS];
	int bad_retention;     /* a keep-* value was refused */
};

struct parser {
	struct dsb_config *cfg;
	const char *path;
	FILE *f;
	int lineno;
	char *buf;
	size_t bufcap;
	struct section *secs;
	size_t nsecs;
	struct section *cur;   /* NULL before the first header */
	void (*report)(void *arg, const char *msg);
	void *arg;
	int nproblems;
	char first[1024];
	int fatal;             /* out of memory */
};

static void problem(struct parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct parser *p, int line, const char *fmt, ...)
{
	char msg[900], full[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s:%d: %s", p->path, line, msg);
	if (p->nproblems++ == 0)
		snprintf(p->first, sizeof(p->first), "%s", full);
	if (p->report != NULL)
		p->report(p->arg, full);
}

/* key_problem(p, sec, key, fmt, ...): "PATH:LINE: [SECTION] KEY: message". */
static void key_problem(struct parser *p, const struct section *sec, int line, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void key_problem(struct parser *p, const struct section *sec, int line, const char *key,
    const char *fmt, ...)
{
	char msg[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	problem(p, line, "[%s] %s: %s", sec != NULL ? sec->header : "", key, msg);
}

/* ---- lists ---- */

static int strlist_push(struct dsb_strlist *l, const char *s, size_t n)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (v == NULL)
		return DSB_ERR_NOMEM;
	l->v = v;
	if ((l->v[l->n] = strndup(s, n)) == NULL)
		return DSB_ERR_NOMEM;
	l->n++;
	return 0;
}

static void strlist_free(struct dsb_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* split_by(value, seps, l): items separated by any of ${seps}, trimmed, empty ones dropped. */
static int split_by(const char *value, const char *seps, struct dsb_strlist *l)
{
	const char *p = value, *e, *end;
	int r;

	while (*p != '\0') {
		end = p + strcspn(p, seps);
		e = end;
		while (p < e && isspace((unsigned char)*p))
			p++;
		while (e > p && isspace((unsigned char)e[-1]))
			e--;
		if (e > p && (r = strlist_push(l, p, (size_t)(e - p))) != 0)
			return r;
		p = *end != '\0' ? end + 1 : end;
	}
	return 0;
}

/* recipient_shape(s): "dsbr1" and 72 hex digits (the checksum is checked when a backup uses it) */
static int recipient_shape(const char *s)
{
	return strncmp(s, "dsbr1", 5) == 0 && strlen(s) == 77 &&
	    strspn(s + 5, "0123456789abcdef") == 72;
}

/* ---- sections ---- */

static int valid_name(const char *s)
{
	if (*s == '\0' || *s == '.' || *s == '-' || strlen(s) > 64)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return 0;
	return 1;
}

/* new_entity(p, sec, kind, name): append a repository or job named ${name}. */
static int new_entity(struct parser *p, struct section *sec, const char *name)
{
	struct dsb_config *cfg = p->cfg;
	char *copy;

	if ((copy = strdup(name)) == NULL)
		return DSB_ERR_NOMEM;
	if (sec->kind == SEC_REPO) {
		struct dsb_config_repo *v = realloc(cfg->repos, (cfg->nrepos + 1) * sizeof(*v));

		if (v == NULL) {
			free(copy);
			return DSB_ERR_NOMEM;
		}
		cfg->repos = v;
		memset(&v[cfg->nrepos], 0, sizeof(*v));
		v[cfg->nrepos].name = copy;
		v[cfg->nrepos].line = sec->line;
		sec->index = cfg->nrepos++;
	} else {
		struct dsb_config_job *v = realloc(cfg->jobs, (cfg->njobs + 1) * sizeof(*v));

		if (v == NULL) {
			free(copy);
			return DSB_ERR_NOMEM;
		}
		cfg->jobs = v;
		memset(&v[cfg->njobs], 0, sizeof(*v));
		v[cfg->njobs].name = copy;
		v[cfg->njobs].line = sec->line;
		sec->index = cfg->njobs++;
	}
	return 0;
}

/* begin_section(p, text): a header "[text]" at the current line. */
static int begin_section(struct parser *p, const char *text)
{
	struct section *secs, *sec;
	const char *name = "";
	char kind[32];
	size_t i, n;

	while (isspace((unsigned char)*text))
		text++;
	n = strcspn(text, " \t");
	if ((secs = realloc(p->secs, (p->nsecs + 1) * sizeof(*secs))) == NULL)
		return DSB_ERR_NOMEM;
	p->secs = secs;
	sec = &secs[p->nsecs];
	memset(sec, 0, sizeof(*sec));
	sec->line = p->lineno;
	sec->kind = SEC_BAD;
	if ((sec->header = strdup(text)) == NULL)
		return DSB_ERR_NOMEM;
	p->nsecs++;
	p->cur = sec;
	if (n < sizeof(kind)) {
		memcpy(kind, text, n);
		kind[n] = '\0';
		for (name = text + n; isspace((unsigned char)*name); name++)
			;
	} else {
		kind[0] = '\0';
	}
	for (i = 0; i + 1 < p->nsecs; i++) {
		if (strcmp(secs[i].header, sec->header) == 0) {
			problem(p, sec->line, "[%s]: section given twice (first at line %d)",
			    sec->header, secs[i].line);
			return 0;
		}
	}
	if (strcmp(kind, "global") == 0 && *name == '\0') {
		sec->kind = SEC_GLOBAL;
		return 0;
	}
	if (strcmp(kind, "repository") == 0)
		sec->kind = SEC_REPO;
	else if (strcmp(kind, "job") == 0)
		sec->kind = SEC_JOB;
	if (sec->kind == SEC_BAD) {
		problem(p, sec->line, "[%s]: unknown section (expected [global], [repository NAME] "
		    "or [job NAME])", sec->header);
		return 0;
	}
	if (!valid_name(name)) {
		sec->kind = SEC_BAD;
		problem(p, sec->line, "[%s]: %s name \"%s\" must be 1 to 64 letters, digits, "
		    "'_', '-' or '.', not starting with '-' or '.'", sec->header, kind, name);
		return 0;
	}
	return new_entity(p, sec, name);
}

/* ---- the line reader given to inih ---- */

/* looks_like_pair(s): inih would find a "=" or ":" before any inline comment. */
static int looks_like_pair(const char *line)
{
	const char *s;

	for (s = line; *s != '\0'; s++) {
		if (*s == '=' || *s == ':')
			return 1;
		if (*s == ';' && s > line && isspace((unsigned char)s[-1]))
			return 0;
	}
	return 0;
}

static int scan_line(struct parser *p, char *line)
{
	char *s = line, *close;

	if (p->lineno == 1 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	if (*s == '[') {
		if ((close = strchr(s, ']')) == NULL) {
			problem(p, p->lineno, "section header without \"]\"");
			return 0;
		}
		*close = '\0';
		{
			size_t n = strlen(s + 1);

			while (n > 0 && isspace((unsigned char)s[n]))
				s[n--] = '\0';
		}
		return begin_section(p, s + 1);
	}
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || *s == ';' || *s == '#')
		return 0;
	if (s != line && *s == '[') {
		problem(p, p->lineno, "an indented line starting with \"[\" (section headers start "
		    "at the beginning of the line)");
		return 0;
	}
	if (s == line && !looks_like_pair(s))
		problem(p, p->lineno, "expected \"KEY = VALUE\" or \"[SECTION]\"");
	return 0;
}

static char *read_line(char *str, int num, void *stream)
{
	struct parser *p = stream;
	ssize_t n;
	int r;

	if ((n = getline(&p->buf, &p->bufcap, p->f)) < 0)
		return NULL;
	p->lineno++;
	if (memchr(p->buf, '\0', (size_t)n) != NULL) {
		problem(p, p->lineno, "the line contains a NUL byte");
		snprintf(str, (size_t)num, "#\n");
		return str;
	}
	if (n >= num) {
		problem(p, p->lineno, "line longer than %d characters (split lists over repeated "
		    "keys)", num - 2);
		snprintf(str, (size_t)num, "#\n");
		return str;
	}
	memcpy(str, p->buf, (size_t)n + 1);
	/* the header is handled here, so that inih and this file agree on the current section */
	{
		char copy[4096];

		snprintf(copy, sizeof(copy), "%s", p->buf);
		copy[strcspn(copy, "\r\n")] = '\0';
		if ((r = scan_line(p, copy)) != 0)
			p->fatal = r;
	}
	return str;
}

/* ---- values ---- */

static int parse_count(const char *v, int *out)
{
	char *e;
	long n;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtol(v, &e, 10);
	if (errno != 0 || *e != '\0' || n > 1000000)
		return -1;
	*out = (int)n;
	return 0;
}

static int parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };
	size_t i;

	for (i = 0; yes[i] != NULL; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int parse_loglevel(const char *v, int *out)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	int i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

/* check_source(p, sec, line, spec): a plain or path: source must be an absolute existing path. */
static void check_source(struct parser *p, const struct section *sec, int line, const char *spec)
{
	const char *path = spec, *colon = strchr(spec, ':');
	struct stat st;

	if (strncmp(spec, "path:", 5) == 0)
		path = spec + 5;
	else if (strcmp(spec, "daemon") == 0 || strcmp(spec, "trust") == 0)
		return;   /* the Docker sources without an argument (docs/DOCKER.md) */
	else if (colon != NULL && spec[0] != '/' && (strchr(spec, '/') == NULL ||
	    colon < strchr(spec, '/')))
		return;   /* volume:, compose:, ...: checked when the job runs */
	if (path[0] != '/') {
		key_problem(p, sec, line, "sources", "\"%s\" is not an absolute path", spec);
		return;
	}
	if (stat(path, &st) != 0)
		key_problem(p, sec, line, "sources", "%s: %s", path, strerror(errno));
}

/* set_string(slot, value): a copy of ${value} into ${slot}. */
static int set_string(char **slot, const char *value)
{
	if ((*slot = strdup(value)) == NULL)
		return DSB_ERR_NOMEM;
	return 0;
}

static int store_value(struct parser *p, struct section *sec, const struct key_def *k, char *base,
    const char *value)
{
	void *slot = base + k->off;
	char err[256];
	struct stat st;
	size_t before, i;
	int64_t secs;
	int r, line = p->lineno;

	switch (k->type) {
	case T_STRING:
		if (*value == '\0') {
			key_problem(p, sec, line, k->name, "empty value");
			return 0;
		}
		return set_string(slot, value);
	case T_ABSPATH:
	case T_FILE:
	case T_DIR:
		if (value[0] != '/') {
			key_problem(p, sec, line, k->name, "\"%s\" is not an absolute path", value);
			return 0;
		}
		if (k->type == T_FILE && access(value, R_OK) != 0) {
			key_problem(p, sec, line, k->name, "%s: %s", value, strerror(errno));
			return 0;
		}
		if (k->type == T_DIR && stat(value, &st) != 0) {
			key_problem(p, sec, line, k->name, "%s: %s", value, strerror(errno));
			return 0;
		}
		if (k->type == T_DIR && !S_ISDIR(st.st_mode)) {
			key_problem(p, sec, line, k->name, "%s: not a directory", value);
			return 0;
		}
		return set_string(slot, value);
	case T_LIST:
	case T_SOURCES:
	case T_NAMES:
	case T_RECIPIENTS:
		before = ((struct dsb_strlist *)slot)->n;
		if ((r = split_by(value, k->type == T_RECIPIENTS ? ", \t" : ",", slot)) != 0)
			return r;
		for (i = before; i < ((struct dsb_strlist *)slot)->n; i++) {
			const char *item = ((struct dsb_strlist *)slot)->v[i];

			if (k->type == T_SOURCES)
				check_source(p, sec, line, item);
			else if (k->type == T_NAMES && !valid_name(item))
				key_problem(p, sec, line, k->name, "\"%s\" is not a section name", item);
			else if (k->type == T_RECIPIENTS && !recipient_shape(item))
				key_problem(p, sec, line, k->name, "\"%.90s\" is not a recipient (dsbr1 "
				    "and 72 hex digits, as \"dsbackup key generate\" prints)", item);
		}
		if (((struct dsb_strlist *)slot)->n == before)
			key_problem(p, sec, line, k->name, "empty list");
		return 0;
	case T_REPEAT:
		if (*value == '\0') {
			key_problem(p, sec, line, k->name, "empty value");
			return 0;
		}
		return strlist_push(slot, value, strlen(value));
	case T_COUNT:
		if (parse_count(value, slot) != 0)
			key_problem(p, sec, line, k->name, "\"%s\" is not a whole number from 0 to "
			    "1000000", value);
		return 0;
	case T_BOOL:
		if (parse_bool(value, slot) != 0)
			key_problem(p, sec, line, k->name, "\"%s\" is not yes or no", value);
		return 0;
	case T_DURATION:
		if (dsb_duration_parse(value, slot) != 0)
			key_problem(p, sec, line, k->name, "\"%s\" is not a duration (e.g. 90s, 30min, "
			    "2h, 1d)", value);
		return 0;
	case T_WITHIN:
		if (dsb_within_parse(value, &secs) != 0) {
			key_problem(p, sec, line, k->name, "\"%s\" is not a duration like 1y6m7d12h "
			    "(years, months, days, hours)", value);
			return 0;
		}
		return set_string(slot, value);
	case T_SCHEDULE:
		if (dsb_cron_parse(value, (struct dsb_cron *)(void *)(base + k->aux), err,
		    sizeof(err)) != 0) {
			key_problem(p, sec, line, k->name, "%s", err);
			return 0;
		}
		return set_string(slot, value);
	case T_LOGLEVEL:
		if (parse_loglevel(value, slot) != 0)
			key_problem(p, sec, line, k->name, "\"%s\" is not error, warning, info or debug",
			    value);
		return 0;
	case T_TIMEZONE:
		if (strcasecmp(value, "utc") == 0)
			*(int *)slot = 1;
		else if (strcasecmp(value, "local") == 0)
			*(int *)slot = 0;
		else
			key_problem(p, sec, line, k->name, "\"%s\" is not local or UTC", value);
		return 0;
	case T_WEBHOOK:
		if (strncmp(value, "https://", 8) != 0 && strncmp(value, "http://", 7) != 0) {
			key_problem(p, sec, line, k->name, "\"%s\" is not an http:// or https:// URL",
			    value);
			return 0;
		}
		return set_string(slot, value);
	case T_CREDENTIAL:
		if (!valid_name(value)) {
			key_problem(p, sec, line, k->name, "\"%s\" is not a credential name", value);
			return 0;
		}
		return set_string(slot, value);
	}
	return DSB_ERR_INTERNAL;
}

/* s3_key(p, sec, name, value): an s3-* key of a repository. 1 if ${name} is one. */
static int s3_key(struct parser *p, struct section *sec, const char *name, const char *value,
    int *err)
{
	struct dsb_config_repo *repo = &p->cfg->repos[sec->index];
	struct dsb_config_env *env;
	size_t i, j;
	char *var;

	*err = 0;
	for (i = 0; i < sizeof(s3_keys) / sizeof(s3_keys[0]); i++)
		if (strcmp(name, s3_keys[i].name) == 0)
			break;
	if (i == sizeof(s3_keys) / sizeof(s3_keys[0]))
		return 0;
	if ((var = dsb_asprintf("DSBACKUP_%s", name)) == NULL) {
		*err = DSB_ERR_NOMEM;
		return 1;
	}
	for (j = 0; var[j] != '\0'; j++)
		var[j] = var[j] == '-' ? '_' : (char)toupper((unsigned char)var[j]);
	for (j = 0; j < repo->nenv; j++) {
		if (strcmp(repo->env[j].name, var) == 0) {
			key_problem(p, sec, p->lineno, name, "given twice");
			free(var);
			return 1;
		}
	}
	if (*value == '\0') {
		key_problem(p, sec, p->lineno, name, "empty value");
		free(var);
		return 1;
	}
	if (s3_keys[i].is_file && access(value, R_OK) != 0) {
		key_problem(p, sec, p->lineno, name, "%s: %s", value, strerror(errno));
		free(var);
		return 1;
	}
	if ((env = realloc(repo->env, (repo->nenv + 1) * sizeof(*env))) == NULL) {
		free(var);
		*err = DSB_ERR_NOMEM;
		return 1;
	}
	repo->env = env;
	env[repo->nenv].name = var;
	if ((env[repo->nenv].value = strdup(value)) == NULL) {
		free(var);
		*err = DSB_ERR_NOMEM;
		return 1;
	}
	repo->nenv++;
	return 1;
}

static int handle_key(void *user, const char *section, const char *name, const char *value)
{
	struct parser *p = user;
	struct section *sec = p->cur;
	const struct key_def *keys;
	char *base;
	size_t i;
	int r, before;

	(void)section;
	if (p->fatal != 0)
		return 1;
	if (sec == NULL) {
		problem(p, p->lineno, "%s: key outside a section", name);
		return 1;
	}
	switch (sec->kind) {
	case SEC_GLOBAL:
		keys = global_keys;
		base = (char *)p->cfg;
		break;
	case SEC_REPO:
		keys = repo_keys;
		base = (char *)&p->cfg->repos[sec->index];
		if (s3_key(p, sec, name, value, &r)) {
			p->fatal = r;
			return 1;
		}
		break;
	case SEC_JOB:
		keys = job_keys;
		base = (char *)&p->cfg->jobs[sec->index];
		break;
	default:
		return 1;   /* the header was reported */
	}
	for (i = 0; keys[i].name != NULL; i++)
		if (strcmp(keys[i].name, name) == 0)
			break;
	if (keys[i].name == NULL) {
		key_problem(p, sec, p->lineno, name, "unknown key");
		return 1;
	}
	if (sec->key_line[i] != 0 && keys[i].type != T_LIST && keys[i].type != T_REPEAT &&
	    keys[i].type != T_SOURCES && keys[i].type != T_NAMES) {
		key_problem(p, sec, p->lineno, name, "given twice (first at line %d)",
		    sec->key_line[i]);
		return 1;
	}
	if (sec->key_line[i] == 0)
		sec->key_line[i] = p->lineno;
	if (keys[i].flags & KEY_RETENTION)
		p->cfg->jobs[sec->index].retention.any = 1;
	before = p->nproblems;
	if ((r = store_value(p, sec, &keys[i], base, value)) != 0)
		p->fatal = r;
	if ((keys[i].flags & KEY_RETENTION) && p->nproblems > before)
		sec->bad_retention = 1;
	return 1;
}

/* ---- checks across keys ---- */

static int key_index(const struct key_def *keys, const char *name)
{
	int i;

	for (i = 0; keys[i].name != NULL; i++)
		if (strcmp(keys[i].name, name) == 0)
			return i;
	return -1;
}

static void check_repo(struct parser *p, const struct section *sec)
{
	const struct dsb_config_repo *repo = &p->cfg->repos[sec->index];

	if (repo->url == NULL && sec->key_line[key_index(repo_keys, "url")] == 0)
		key_problem(p, sec, sec->line, "url", "missing (the repository's location)");
	if (repo->password_file == NULL && repo->password_credential == NULL &&
	    sec->key_line[key_index(repo_keys, "password-file")] == 0 &&
	    sec->key_line[key_index(repo_keys, "password-credential")] == 0)
		key_problem(p, sec, sec->line, "password-file",
		    "missing (give password-file or password-credential)");
}

static void check_job(struct parser *p, const struct section *sec)
{
	const struct dsb_config_job *job = &p->cfg->jobs[sec->index];
	int kr = key_index(job_keys, "repositories"), ks = key_index(job_keys, "sources");
	size_t i, j;

	if (sec->key_line[ks] == 0)
		key_problem(p, sec, sec->line, "sources", "missing (what the job backs up)");
	if (sec->key_line[kr] == 0)
		key_problem(p, sec, sec->line, "repositories", "missing (where the job backs up to)");
	if (job->retention.any && !sec->bad_retention && job->retention.keep_last == 0 &&
	    job->retention.keep_hourly == 0 &&
	    job->retention.keep_daily == 0 && job->retention.keep_weekly == 0 &&
	    job->retention.keep_monthly == 0 && job->retention.keep_yearly == 0 &&
	    job->retention.keep_within == NULL && job->retention.keep_tags.n == 0)
		key_problem(p, sec, sec->line, "keep-*", "every rule is 0: that keeps nothing; remove "
		    "the keep-* keys to keep every snapshot");
	for (i = 0; i < job->repositories.n; i++) {
		if (dsb_config_repo(p->cfg, job->repositories.v[i]) == NULL)
			key_problem(p, sec, sec->key_line[kr], "repositories",
			    "no section [repository %s]", job->repositories.v[i]);
		for (j = 0; j < i; j++)
			if (strcmp(job->repositories.v[i], job->repositories.v[j]) == 0)
				key_problem(p, sec, sec->key_line[kr], "repositories",
				    "\"%s\" named twice", job->repositories.v[i]);
	}
}

static void check_file_mode(struct parser *p)
{
	struct stat st;

	if (fstat(fileno(p->f), &st) == 0 && (st.st_mode & 0022) != 0)
		dsb_warn("%s is writable by others than its owner, and its hooks run as this user",
		    p->path);
}

/* ---- public ---- */

const char *dsb_config_path(const char *given)
{
	const char *e = getenv("DSBACKUP_CONFIG");

	if (given != NULL)
		return given;
	if (e != NULL && *e != '\0')
		return e;
	return DSB_CONFIG_DEFAULT_PATH;
}

static void parser_release(struct parser *p)
{
	size_t i;

	for (i = 0; i < p->nsecs; i++)
		free(p->secs[i].header);
	free(p->secs);
	free(p->buf);
	if (p->f != NULL)
		fclose(p->f);
}

int dsb_config_load(const char *path, struct dsb_config **out,
    void (*report)(void *arg, const char *msg), void *arg)
{
	struct parser p;
	size_t i;
	int r, rc;

	memset(&p, 0, sizeof(p));
	p.path = path;
	p.report = report;
	p.arg = arg;
	if ((p.cfg = calloc(1, sizeof(*p.cfg))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	p.cfg->log_level = -1;
	p.cfg->stop_timeout_sec = 15 * 60;
	p.cfg->lock_wait_sec = 60 * 60;
	if ((p.cfg->path = strdup(path)) == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((p.f = fopen(path, "re")) == NULL) {
		r = dsb_error_errno(errno == ENOENT ? DSB_ERR_NOT_FOUND : DSB_ERR_IO, errno,
		    "configuration file %s", path);
		goto out;
	}
	check_file_mode(&p);
	rc = ini_parse_stream(read_line, &p, handle_key, &p);
	if (p.fatal != 0) {
		r = dsb_error(p.fatal, "reading %s: out of memory", path);
		goto out;
	}
	if (rc < 0) {
		r = dsb_error(DSB_ERR_NOMEM, "reading %s: out of memory", path);
		goto out;
	}
	if (rc > 0 && p.nproblems == 0)
		problem(&p, rc, "syntax error");
	if (ferror(p.f)) {
		r = dsb_error_errno(DSB_ERR_IO, errno, "reading %s", path);
		goto out;
	}
	for (i = 0; i < p.nsecs; i++) {
		if (p.secs[i].kind == SEC_REPO)
			check_repo(&p, &p.secs[i]);
		else if (p.secs[i].kind == SEC_JOB)
			check_job(&p, &p.secs[i]);
	}
	if (p.nproblems > 0) {
		r = p.nproblems == 1 ? dsb_error(DSB_ERR_USAGE, "%s", p.first) :
		    dsb_error(DSB_ERR_USAGE, "%s (and %d more problem%s)", p.first, p.nproblems - 1,
			p.nproblems == 2 ? "" : "s");
		goto out;
	}
	*out = p.cfg;
	p.cfg = NULL;
	r = 0;
out:
	parser_release(&p);
	dsb_config_free(p.cfg);
	return r;
}

static void repo_release(struct dsb_config_repo *r)
{
	size_t i;

	free(r->name);
	free(r->url);
	free(r->password_file);
	free(r->password_credential);
	free(r->catalog);
	free(r->prune_schedule);
	for (i = 0; i < r->nenv; i++) {
		free(r->env[i].name);
		free(r->env[i].value);
	}
	free(r->env);
	strlist_free(&r->escrow_recipients);
}

static void job_release(struct dsb_config_job *j)
{
	free(j->name);
	strlist_free(&j->sources);
	strlist_free(&j->repositories);
	free(j->schedule);
	free(j->retention.keep_within);
	strlist_free(&j->retention.keep_tags);
	strlist_free(&j->excludes);
	strlist_free(&j->tags);
	free(j->host);
	strlist_free(&j->pre_hooks);
	strlist_free(&j->post_hooks);
	free(j->notify_webhook);
	strlist_free(&j->escrow_recipients);
}

void dsb_config_free(struct dsb_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nrepos; i++)
		repo_release(&cfg->repos[i]);
	free(cfg->repos);
	for (i = 0; i < cfg->njobs; i++)
		job_release(&cfg->jobs[i]);
	free(cfg->jobs);
	free(cfg->path);
	free(cfg->state_dir);
	free(cfg->metrics_dir);
	free(cfg);
}

const struct dsb_config_job *dsb_config_job(const struct dsb_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->njobs; i++)
		if (strcmp(cfg->jobs[i].name, name) == 0)
			return &cfg->jobs[i];
	return NULL;
}

const struct dsb_config_repo *dsb_config_repo(const struct dsb_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nrepos; i++)
		if (strcmp(cfg->repos[i].name, name) == 0)
			return &cfg->repos[i];
	return NULL;
}

int dsb_config_password_path(const struct dsb_config_repo *repo, char **out)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");

	if (repo->password_credential != NULL && dir != NULL && *dir != '\0') {
		if ((*out = dsb_asprintf("%s/%s", dir, repo->password_credential)) == NULL)
			return DSB_ERR_NOMEM;
		return 0;
	}
	if (repo->password_file != NULL) {
		if ((*out = dsb_strdup(repo->password_file)) == NULL)
			return DSB_ERR_NOMEM;
		return 0;
	}
	return dsb_error(DSB_ERR_USAGE, "repository %s: password-credential %s needs "
	    "$CREDENTIALS_DIRECTORY (LoadCredential= of a systemd unit), and no password-file is "
	    "given", repo->name, repo->password_credential != NULL ? repo->password_credential : "");
}
