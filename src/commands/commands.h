/*
 * commands.h: the command-line layer.  Each command is one file,
 * cmd_<name>.c, exporting cmd_<name>(); main.c holds the table.  Global
 * options are accepted before and after the command name.
 */
#ifndef DSB_COMMANDS_H
#define DSB_COMMANDS_H

#include <getopt.h>
#include <stddef.h>

#include "dsbackup/engine.h"

struct cli {
	const char *repo;
	const char *catalog;
	const char *password_file;
	const char *config;   /* -c, --config FILE (config.h) */
	int json;
	int quiet;
	int verbose;
	char *password;       /* a secret: released with dsb_secret_free */
	size_t passlen;
	const char *identity_files[16];   /* --identity, DSBACKUP_IDENTITY_FILE */
	size_t nidentity_files;
	const char *share_files[255];     /* --share */
	size_t nshare_files;
	struct dsb_identity *ids[16];
	struct dsb_share *shares[255];
	size_t nids, nshares;
	struct dsb_unlock unlock;
	const struct command *cmd;
};

struct command {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
	const char *usage;    /* arguments after the name */
	const char *help;     /* what it does and its options */
};

/* Long options every command accepts (append to a command's table, then {0}). */
#define CLI_GLOBAL_LONGOPTS \
	{ "repo", required_argument, NULL, 'r' }, \
	{ "catalog", required_argument, NULL, 0x1001 }, \
	{ "password-file", required_argument, NULL, 0x1002 }, \
	{ "password", required_argument, NULL, 0x1006 },  /* refused: not taken as --password-file */ \
	{ "json", no_argument, NULL, 0x1003 }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ "identity", required_argument, NULL, 0x1004 }, \
	{ "share", required_argument, NULL, 0x1005 }, \
	{ "config", required_argument, NULL, 'c' }, \
	CLI_S3_LONGOPTS
/* --s3-*: the settings of the S3 backend, as the DSBACKUP_S3_* variables (backend.h) */
#define CLI_S3_OPT_FIRST 0x1010
#define CLI_S3_LONGOPTS \
	{ "s3-endpoint", required_argument, NULL, 0x1010 }, \
	{ "s3-region", required_argument, NULL, 0x1011 }, \
	{ "s3-addressing", required_argument, NULL, 0x1012 }, \
	{ "s3-ca-file", required_argument, NULL, 0x1013 }, \
	{ "s3-storage-class", required_argument, NULL, 0x1014 }, \
	{ "s3-retention-days", required_argument, NULL, 0x1015 }, \
	{ "s3-connections", required_argument, NULL, 0x1016 }
#define CLI_GLOBAL_SHORTOPTS "+r:c:qvh"

/*
 * cli_global_option(c, opt, arg): handle a global option.  1 if handled,
 * 0 if ${opt} is not global, 2 for --help (the caller returns
 * cli_help(c)), -1 for '?' (the caller returns DSB_ERR_USAGE).
 */
int cli_global_option(struct cli *c, int opt, const char *arg);
/*
 * cli_parse(c, argc, argv, shortopts, longopts, own, ctx): getopt over a
 * command's options (which must include CLI_GLOBAL_LONGOPTS, and "r:qvh"
 * in ${shortopts}); ${own} handles the command's own options (0 ok, else
 * an error).  Returns 0 with optind at the first operand; 1 when --help was
 * printed; DSB_ERR_USAGE after a usage message.  Applies -q/-v.
 */
int cli_parse(struct cli *c, int argc, char **argv, const char *shortopts,
    const struct option *longopts, int (*own)(struct cli *c, int opt, const char *arg, void *ctx),
    void *ctx);
/* cli_help(c): print the current command's help; returns DSB_OK. */
int cli_help(struct cli *c);
/* cli_usage_error(c, fmt, ...): print the error and a usage hint; returns DSB_ERR_USAGE. */
int cli_usage_error(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cli_repo(c): the repository URL from -r or $DSBACKUP_REPOSITORY, or NULL after a usage error. */
const char *cli_repo(struct cli *c);
/* cli_password(c, confirm): obtain the password (file, environment, prompt). */
int cli_password(struct cli *c, int confirm);
/* cli_open(c, s): credentials, repository and catalog. */
int cli_open(struct cli *c, struct dsb_session **s);
/* cli_unlock(c, u): the credentials given (identities, shares, else a password). */
int cli_unlock(struct cli *c, const struct dsb_unlock **u);
/* cli_open_repo(c, repo): credentials and repository, without the catalog. */
int cli_open_repo(struct cli *c, struct dsb_repo **repo);
/* cli_release(c): free credentials. */
void cli_release(struct cli *c);

/* cli_print_json(obj): print a jansson value compactly on stdout, with a newline; steals ${obj}. */
struct json_t;
void cli_print_json(struct json_t *obj);
/* human-readable byte counts: "1.5 MiB" */
void cli_bytes(uint64_t n, char *out, size_t len);
/*
 * cli_seconds(s, out): a duration like restic's --retry-lock: a number of
 * seconds, or numbers each followed by h, m (minutes) or s ("1h30m", "90s").
 * 0 or DSB_ERR_USAGE.  (cli_duration.c)
 */
int cli_seconds(const char *s, int64_t *out);
/* cli_lock_wait(c, arg, out): --retry-lock ARG, else $DSBACKUP_RETRY_LOCK, else 0 (seconds). */
int cli_lock_wait(struct cli *c, const char *arg, int *out);
/* cli_prune_report(c, st, dry_run): print prune's statistics (--json: one object). (cmd_prune.c) */
void cli_prune_report(struct cli *c, const struct dsb_prune_stats *st, int dry_run);

int cmd_init(struct cli *c, int argc, char **argv);
int cmd_backup(struct cli *c, int argc, char **argv);
int cmd_snapshots(struct cli *c, int argc, char **argv);
int cmd_ls(struct cli *c, int argc, char **argv);
int cmd_restore(struct cli *c, int argc, char **argv);
/* cmd_restore_source(c, name, so, source, docker): restore --source SPEC / --docker (cmd_restore_source.c). */
struct dsb_source_restore_opts;
int cmd_restore_source(struct cli *c, const char *name, struct dsb_source_restore_opts *so,
    const char *source, int docker);
/*
 * cli_source_snapshot(s, name, source, host, out): snapshot ${name} ("latest":
 * the latest of ${source}, of ${host} when not NULL), which must be of
 * ${source} (DSB_ERR_USAGE otherwise). (cmd_restore_source.c)
 */
int cli_source_snapshot(struct dsb_session *s, const char *name, const char *source,
    const char *host, struct dsb_snapshot *out);
int cmd_dump(struct cli *c, int argc, char **argv);
int cmd_import(struct cli *c, int argc, char **argv);
int cmd_check(struct cli *c, int argc, char **argv);
int cmd_catalog(struct cli *c, int argc, char **argv);
int cmd_unlock(struct cli *c, int argc, char **argv);
int cmd_version(struct cli *c, int argc, char **argv);
int cmd_key(struct cli *c, int argc, char **argv);
int cmd_config(struct cli *c, int argc, char **argv);
int cmd_run(struct cli *c, int argc, char **argv);
int cmd_history(struct cli *c, int argc, char **argv);
int cmd_mount(struct cli *c, int argc, char **argv);
int cmd_diff(struct cli *c, int argc, char **argv);
int cmd_find(struct cli *c, int argc, char **argv);
int cmd_stats(struct cli *c, int argc, char **argv);

/*
 * cli_progress_start(c, action): start the progress display (progress.h) for
 * ${action} unless -q or stderr is not a terminal; --json makes it status
 * lines on stdout.  The command calls dsb_progress_stop() before its summary.
 */
void cli_progress_start(struct cli *c, const char *action);
/* cli_json_set_path(o, key, path): o[key] = path, or o[key_b64] = base64 when not UTF-8 (cli_json.c). */
int cli_json_set_path(struct json_t *o, const char *key, const char *path);
/* cli_print_json_with_path(o, path): add "path" (or "path_b64") to ${o} and print it; steals ${o}. */
void cli_print_json_with_path(struct json_t *o, const char *path);

/* ---- the configuration file (cmd_config.c) ---- */
struct dsb_config;
/*
 * cli_load_config(c, path, out): load ${path} (NULL: -c, $DSBACKUP_CONFIG or
 * the default), printing each problem; apply its [global] settings.
 */
int cli_load_config(struct cli *c, const char *path, struct dsb_config **out);
/* cli_has_job(argc, argv): "backup" was given --job (cmd_backup hands over to cmd_backup_job). */
int cli_has_job(int argc, char **argv);
/* cmd_backup_job(c, argc, argv): "backup --job NAME" (cmd_job.c). */
int cmd_backup_job(struct cli *c, int argc, char **argv);
int cmd_forget(struct cli *c, int argc, char **argv);
int cmd_prune(struct cli *c, int argc, char **argv);

#endif
