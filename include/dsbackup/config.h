/*
 * config.h: the configuration file, /etc/dsbackup/dsbackup.conf by default
 * (docs/CONFIG.md).  INI, read with libinih:
 *
 *   [global]            state-dir, metrics-dir, log-level, timezone, stop-timeout,
 *                       lock-wait
 *   [repository NAME]   url, password-file, password-credential, catalog,
 *                       prune-schedule, escrow-recipients, s3-* (the
 *                       DSBACKUP_S3_* settings)
 *   [job NAME]          sources, repositories, schedule, randomized-delay,
 *                       keep-*, exclude, tags, host, one-file-system,
 *                       pre-hook, post-hook, notify-webhook, notify-on-success,
 *                       escrow-recipients
 *
 * Every problem is reported as "FILE:LINE: [SECTION] KEY: message".
 */
#ifndef DSBACKUP_CONFIG_H
#define DSBACKUP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "dsbackup/cron.h"

/* The build sets it from DSB_CONFIG_DIR (CMakeLists.txt), where the install puts the file. */
#ifndef DSB_CONFIG_DEFAULT_PATH
#define DSB_CONFIG_DEFAULT_PATH "/etc/dsbackup/dsbackup.conf"
#endif

/* A list of strings, each malloc'd. */
struct dsb_strlist {
	char **v;
	size_t n;
};

/* One environment variable a repository sets while it is opened ("s3-region" -> DSBACKUP_S3_REGION). */
struct dsb_config_env {
	char *name;
	char *value;
};

struct dsb_config_repo {
	char *name;
	char *url;
	char *password_file;         /* NULL if not given */
	char *password_credential;   /* NULL if not given: a file in $CREDENTIALS_DIRECTORY */
	char *catalog;               /* NULL: the default under the state directory */
	char *prune_schedule;        /* NULL: not pruned by the scheduler */
	struct dsb_cron prune_cron;
	struct dsb_config_env *env;
	size_t nenv;
	struct dsb_strlist escrow_recipients;  /* key material of every job is escrowed to these */
	int line;                    /* of the section header */
};

struct dsb_config_retention {
	int keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly;
	char *keep_within;           /* restic's notation "1y2m3d4h"; NULL: none */
	struct dsb_strlist keep_tags;
	int any;                     /* some keep-* key was given */
};

struct dsb_config_job {
	char *name;
	struct dsb_strlist sources;      /* "/srv/data", "path:/srv", "volume:*", ... */
	struct dsb_strlist repositories; /* names of [repository] sections */
	char *schedule;                  /* NULL: run by "backup --job" or a timer only */
	struct dsb_cron cron;
	int64_t randomized_delay_sec;
	struct dsb_config_retention retention;
	struct dsb_strlist excludes;
	struct dsb_strlist tags;
	char *host;                      /* NULL: this host's name */
	int one_file_system;
	struct dsb_strlist pre_hooks;    /* shell commands, in order */
	struct dsb_strlist post_hooks;
	char *notify_webhook;            /* NULL: none */
	int notify_on_success;
	struct dsb_strlist escrow_recipients;  /* added to the repository's escrow-recipients */
	int line;
};

struct dsb_config {
	char *path;
	char *state_dir;                 /* NULL: dsb_state_dir()'s default */
	char *metrics_dir;               /* NULL: no Prometheus files */
	int log_level;                   /* DSB_LOG_*; -1 if not given */
	int utc;                         /* schedules in UTC rather than local time */
	int64_t stop_timeout_sec;        /* how long "run" waits for jobs on SIGTERM */
	int64_t lock_wait_sec;           /* how long a job waits for a locked repository */
	struct dsb_config_repo *repos;
	size_t nrepos;
	struct dsb_config_job *jobs;
	size_t njobs;
};

/*
 * dsb_config_path(given): ${given}, else $DSBACKUP_CONFIG, else
 * DSB_CONFIG_DEFAULT_PATH.  Not copied.
 */
const char *dsb_config_path(const char *given);

/*
 * dsb_config_load(path, out, report, arg): read and validate the file.
 * Each problem is passed to ${report} (may be NULL) as one line
 * "PATH:LINE: ...".  Returns 0; DSB_ERR_USAGE when the file has problems
 * (the thread's message is the first one, with a count of the others);
 * DSB_ERR_NOT_FOUND or DSB_ERR_IO when it cannot be read.
 */
int dsb_config_load(const char *path, struct dsb_config **out,
    void (*report)(void *arg, const char *msg), void *arg);

/* dsb_config_free(cfg): NULL is fine. */
void dsb_config_free(struct dsb_config *cfg);

/* dsb_config_job(cfg, name) / dsb_config_repo(cfg, name): by name, or NULL. */
const struct dsb_config_job *dsb_config_job(const struct dsb_config *cfg, const char *name);
const struct dsb_config_repo *dsb_config_repo(const struct dsb_config *cfg, const char *name);

/*
 * dsb_config_password_path(repo, out): the file holding ${repo}'s
 * password: $CREDENTIALS_DIRECTORY/<password-credential> when the
 * credential is named and the directory is set, else password-file.
 * Malloc'd into ${out}.  DSB_ERR_USAGE (message says why) when neither
 * applies.
 */
int dsb_config_password_path(const struct dsb_config_repo *repo, char **out);

/*
 * dsb_duration_parse(s, out): "90", "90s", "30min", "1h", "2h 30min",
 * "1d", "1w" (s, sec, m, min, h, hour, d, day, w, week; plurals too) into
 * seconds.  0 or DSB_ERR_USAGE (no message).
 */
int dsb_duration_parse(const char *s, int64_t *out);

/*
 * dsb_within_parse(s, out): check restic's keep-within notation "1y2m3d4h";
 * ${out} gets an approximation in seconds (years of 365 days, months of 30
 * days).  0 or DSB_ERR_USAGE.
 */
int dsb_within_parse(const char *s, int64_t *out);

#endif
