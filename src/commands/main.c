/*
 * main.c: global options, the command table, and what every command shares
 * (repository URL, password, opening the session, output helpers).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "commands.h"
#include "dsbackup/crypto.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/progress.h"

static int cmd_help(struct cli *c, int argc, char **argv);

static const struct command commands[] = {
	{ "init", cmd_init, "",
	  "Create a repository at the URL given by -r or DSBACKUP_REPOSITORY.\n"
	  "  --kdf-log2n N     scrypt cost (N = 2^N, default 17)\n"
	  "  --chunk-avg BYTES average chunk size, a power of two (default 65536)\n"
	  "  --pack-size BYTES target pack size (default 16777216)\n"
	  "  --compression N   zstd level 1..19, 0 for none (default 3)\n" },
	{ "backup", cmd_backup, "PATH... | --source SPEC... | --docker",
	  "Back up directories and files into a new snapshot.\n"
	  "  --job NAME         instead, run job NAME of the configuration file once: its\n"
	  "                     sources into each of its repositories, then its retention\n"
	  "                     policy and hooks; the run is recorded (see \"history\")\n"
	  "  --tag TAG          add a tag (repeatable)\n"
	  "  --host NAME        record NAME as the host (default: this host's name)\n"
	  "  --exclude GLOB     leave out matching paths (repeatable)\n"
	  "  --one-file-system  do not cross into other file systems\n"
	  "  --time RFC3339     record this time for the snapshot\n"
	  "  --parent SNAPSHOT  compare against this snapshot (default: latest with the same host and paths)\n"
	  "  --escrow-recipient R  escrow key material (the \"trust\" source) to recipient R\n"
	  "                     (repeatable): only R's identity can read it back; a\n"
	  "                     write-only host also wraps its run keys to R\n"
	  "  --retry-lock DURATION  wait this long (like 30m) for a prune's lock to go\n"
	  "                     (default: $DSBACKUP_RETRY_LOCK, else do not wait)\n"
	  "  --source SPEC      back up a source, one snapshot each (repeatable): volume:NAME,\n"
	  "                     volume:*, compose:PROJECT, compose:*, daemon, trust, path:DIR\n"
	  "  --docker           every Docker source of this host (docs/DOCKER.md)\n"
	  "Exit code 3 when the snapshot was written but some files could not be read.\n" },
	{ "snapshots", cmd_snapshots, "",
	  "List snapshots (--json: an array of objects with id, time, host, paths, tags).\n"
	  "  --host NAME   only snapshots of this host\n"
	  "  --tag TAG     only snapshots with this tag\n"
	  "  --source SPEC only snapshots of this source (volume:db, daemon, ...)\n" },
	{ "ls", cmd_ls, "SNAPSHOT [PATH]",
	  "List the files of a snapshot (all, or below PATH).\n"
	  "  -l, --long   mode, size, time and path\n"
	  "With --json, one object per line: path (path_b64 when it is not UTF-8), type, mode,\n"
	  "size, mtime.\n"
	  "SNAPSHOT is a full id, a unique prefix of 8+ hex digits, or \"latest\".\n" },
	{ "restore", cmd_restore, "SNAPSHOT --target DIR | SNAPSHOT|latest --source SPEC | latest --docker",
	  "Restore a snapshot below DIR (its absolute paths are recreated there),\n"
	  "verifying every blob and every file's SHA-256.\n"
	  "  --target DIR     where to restore (required)\n"
	  "  --include GLOB   restore only matching paths (repeatable)\n"
	  "  --no-owner       do not restore file owners\n"
	  "  --source SPEC    restore a source's snapshot to where it came from (\"latest\": the\n"
	  "                   latest of that source): a volume is recreated with its labels and\n"
	  "                   options; --target DIR puts files below DIR instead\n"
	  "  --to-volume NEW  restore a volume snapshot into volume NEW\n"
	  "  --force          overwrite a volume that is in use or not empty (its containers\n"
	  "                   are stopped for the restore and started after)\n"
	  "  --docker         everything of this host's latest run (with latest; --host NAME)\n"
	  "  --dry-run        with --source/--docker: print the plan only\n"
	  "Exit code 3 when some files could not be restored or failed verification;\n"
	  "those are renamed NAME.dsbackup-damaged.\n" },
	{ "dump", cmd_dump, "SNAPSHOT [PATH] [--format pax|tar|zip|tar.zst] [--source SPEC]",
	  "Write a snapshot, or PATH of it, to standard output as an archive, every blob\n"
	  "verified as restore does: dsbackup dump latest --source volume:db | tar -x -C /data\n"
	  "  --format F     pax (default: owners, times, links, devices, xattrs, ACLs),\n"
	  "                 tar (GNU tar), zip (no hard links, devices or xattrs), tar.zst\n"
	  "  --source SPEC  the snapshot is of this source (\"latest\": its latest); without\n"
	  "                 PATH, the source's data is dumped\n"
	  "Paths are relative: the whole snapshot's without the leading /; a directory PATH\n"
	  "as \".\" with its entries below it; a file PATH under its own name.\n"
	  "A damaged blob stops the dump with an error naming the file (exit 1), and the\n"
	  "archive is left without its end marker.\n" },
	{ "import", cmd_import, "ARCHIVE|- [--source SPEC] [--time RFC3339] [--host NAME] [--tag TAG]",
	  "Read an archive (tar, pax, cpio, zip, ..., compressed or not; - for standard input)\n"
	  "into a new snapshot, stored like a backup's.\n"
	  "  --source SPEC  record it as this source: volume:NAME (restorable with restore\n"
	  "                 --source volume:NAME) or path:DIR; without it the archive's\n"
	  "                 entries are the snapshot's paths below /\n"
	  "  --time RFC3339 record this time for the snapshot\n"
	  "  --host NAME    record NAME as the host (default: this host's name)\n"
	  "  --tag TAG      add a tag (repeatable)\n"
	  "  --retry-lock DURATION  wait this long for a prune's lock to go\n"
	  "An unreadable or truncated archive fails naming the archive and the entry;\n"
	  "no snapshot is written then.\n" },
	{ "check", cmd_check, "",
	  "Verify the repository's structure from the storage alone.\n"
	  "  --read-data               also read and verify every byte\n"
	  "  --read-data-subset N%     read a random N% of the packs\n" },
	{ "forget", cmd_forget, "--keep-* ... [--dry-run] [--prune]",
	  "Remove the snapshots a retention policy does not keep (restic's rules), group by group.\n"
	  "  --keep-last N            the N newest snapshots\n"
	  "  --keep-hourly N          the newest of each of the N latest hours with snapshots\n"
	  "  --keep-daily N           ... days (local time)\n"
	  "  --keep-weekly N          ... ISO weeks (Monday to Sunday)\n"
	  "  --keep-monthly N         ... months\n"
	  "  --keep-yearly N          ... years (N = -1: unlimited, for each of these)\n"
	  "  --keep-within DURATION   all within DURATION (like 1y2m3d4h) of the newest snapshot\n"
	  "  --keep-tag TAG[,TAG...]  all having these tags (repeatable; '' means untagged)\n"
	  "  --group-by LIST          host, source, paths, tags (default host,source,paths; '' none)\n"
	  "  --host NAME              only snapshots of this host\n"
	  "  --source SPEC            only snapshots of this source\n"
	  "  --dry-run                only show what would be removed\n"
	  "  --prune                  run prune afterwards if snapshots were removed\n"
	  "  --retry-lock DURATION    wait this long for a lock held by others\n"
	  "A snapshot kept by any rule is kept; with no --keep-* option nothing is removed.\n"
	  "--json: per group, the kept snapshots with their reasons and the removed ones.\n" },
	{ "prune", cmd_prune, "[--dry-run] [--repack-below PERCENT]",
	  "Delete the data no snapshot references, under an exclusive lock; safe to interrupt.\n"
	  "  --dry-run                 only report what would be freed\n"
	  "  --repack-below PERCENT    repack packs whose live share is below this (default 50;\n"
	  "                            0 never repacks)\n"
	  "  --unindexed-grace DURATION  delete unreferenced packs that no index lists only when a\n"
	  "                            prune first saw them this long ago (default 1h; 0: at once)\n"
	  "  --retry-lock DURATION     wait this long for locks held by others\n" },
	{ "diff", cmd_diff, "SNAPSHOT1 SNAPSHOT2",
	  "Show what changed from SNAPSHOT1 to SNAPSHOT2, one line per entry:\n"
	  "  +  added        -  removed\n"
	  "  M  content changed (or link target, device number)\n"
	  "  U  metadata only: mode, owner, mtime, xattrs, ACL, flags\n"
	  "then a summary line.  Directories equal in both are skipped unread.\n"
	  "--json: one {\"message_type\":\"change\", \"path\", \"modifier\", \"type\"} per change,\n"
	  "then a {\"message_type\":\"statistics\", ...} object.\n" },
	{ "find", cmd_find, "PATTERN [--host H] [--source SPEC]",
	  "Find files in every snapshot, from the local catalog alone: no password, and\n"
	  "the repository need not be reachable.  PATTERN is a glob (*, ?, [...]) matched\n"
	  "against the whole path when it contains a '/', else against the base name.\n"
	  "Prints snapshot id, time, size and path; --json: one object per file.\n"
	  "  --host NAME   only snapshots of this host\n"
	  "  --source SPEC only snapshots of this source (volume:db, ...)\n"
	  "The catalog is the one this host last used for -r REPO (or --catalog PATH);\n"
	  "it knows the snapshots as of the last command that opened the repository.\n" },
	{ "stats", cmd_stats, "",
	  "Repository size (packs), snapshots and blobs, the logical size of the latest\n"
	  "snapshot of each source and of all, the deduplication ratio (logical size of\n"
	  "all snapshots / unique data) and compression ratio (unique data / stored), and\n"
	  "per source and per host: snapshots, first and last, latest size, growth since\n"
	  "the first, and the bytes their backups stored.  From the catalog; --json: one object.\n" },
	{ "catalog", cmd_catalog, "rebuild",
	  "Recreate the local catalog from the repository alone.\n" },
	{ "unlock", cmd_unlock, "",
	  "Remove stale locks (of processes that are gone or older than 30 minutes).\n"
	  "  --all   remove every lock\n" },
	{ "key", cmd_key, "list|add|remove|passwd|generate|escrow|share|recover|rotate ...",
	  "Manage the key slots that open the repository.\n"
	  "  key list                              slots with type, creation time, host, user\n"
	  "  key add [--new-password-file F]        a new passphrase slot\n"
	  "  key add --recipient R|FILE             a slot for a public key (an officer's identity)\n"
	  "  key add --write-only [--new-password-file F]  a slot that can add snapshots, not read them\n"
	  "  key rotate [--rewrite]                 a new data key; --rewrite re-encrypts all data\n"
	  "                                         and drops the old keys (resumable)\n"
	  "  key remove ID                          remove a slot (never the last way in)\n"
	  "  key passwd [--new-password-file F]     replace the passphrase that opened it\n"
	  "  key generate --identity FILE           make an X25519 identity; prints its recipient\n"
	  "  key escrow --threshold K --recipient R...   split the key into K-of-N shares\n"
	  "  key share --identity FILE --out FILE    decrypt one's own escrow share to a file\n"
	  "  key recover (--identity F | --share F)... [--new-password-file F]\n"
	  "                                         open with K shares and add a passphrase slot\n"
	  "Any command accepts --identity FILE (or DSBACKUP_IDENTITY_FILE) instead of a password.\n" },
	{ "config", cmd_config, "check [FILE]",
	  "Check the configuration file (-c FILE, $DSBACKUP_CONFIG, else\n"
	  "/etc/dsbackup/dsbackup.conf) without running anything: every problem is\n"
	  "named with its file, line and key.  docs/CONFIG.md describes the file.\n" },
	{ "run", cmd_run, "[--prune REPOSITORY]",
	  "The scheduler: run the jobs of the configuration file on their schedules\n"
	  "(each as \"dsbackup backup --job NAME\"), until SIGTERM.  SIGHUP reloads the\n"
	  "file; a run missed while the machine was off is made up at start.\n"
	  "  --prune REPOSITORY   prune that configured repository once and exit\n"
	  "                       (what the scheduler runs on its prune-schedule)\n" },
	{ "history", cmd_history, "[--job NAME] [--repository NAME] [--last N]",
	  "The runs of jobs, from the catalogs of the configured repositories\n"
	  "(or of -r REPO): start, duration, job, repository, result, snapshots, bytes.\n"
	  "  --job NAME          only runs of this job\n"
	  "  --repository NAME   only this configured repository\n"
	  "  --last N            the N most recent runs (default 50; 0: all)\n" },
	{ "mount", cmd_mount, "MOUNTPOINT [--foreground]",
	  "Show the snapshots as a read-only file system (FUSE) on MOUNTPOINT:\n"
	  "  snapshots/ID/...       each snapshot's files, at their absolute paths\n"
	  "  by-time/TIME_ID8       by-host/HOST/TIME   by-source/GROUP/TIME   latest/GROUP\n"
	  "                         links to snapshots/ID (GROUP: the source spec, else the\n"
	  "                         paths; \"/\" written %2F); new snapshots appear within seconds\n"
	  "Reads fetch and verify only the blobs they need; one that fails verification is\n"
	  "an I/O error (EIO) and is logged with its path.\n"
	  "  --foreground   stay in the foreground (else it goes to the background once mounted)\n"
	  "Unmount with \"fusermount3 -u MOUNTPOINT\", SIGINT or SIGTERM.\n" },
	{ "help", cmd_help, "[COMMAND]",
	  "Describe every command, or COMMAND with its options (as \"dsbackup COMMAND --help\").\n" },
	{ "version", cmd_version, "", "Print the version.\n" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage_all(FILE *f)
{
	size_t i;

	fprintf(f, "usage: dsbackup [-r REPO] [--catalog PATH] [--password-file F] [--json] [-q|-v] "
	    "COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].usage);
	fprintf(f, "\nenvironment: DSBACKUP_REPOSITORY, DSBACKUP_PASSWORD_FILE, DSBACKUP_PASSWORD,\n"
	    "DSBACKUP_STATE_DIR (catalogs; default /var/lib/dsbackup for root),\n"
	    "DSBACKUP_CONFIG (the configuration file for --job, run, history, config check;\n"
	    "default /etc/dsbackup/dsbackup.conf; or -c FILE)\n"
	    "exit codes: 0 ok, 1 error, 2 usage, 3 some files failed, 10 no repository,\n"
	    "11 locked, 12 wrong password or key\n"
	    "\"dsbackup COMMAND --help\" describes a command.\n");
}

/* cmd_help(c, argc, argv): "dsbackup help [COMMAND]" */
static int cmd_help(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = { CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 } };
	size_t i;
	int r;

	if ((r = cli_parse(c, argc, argv, "r:qvh", longopts, NULL, NULL)) != 0)
		return r == 1 ? 0 : r;
	if (argc - optind > 1)
		return cli_usage_error(c, "help takes at most one COMMAND");
	if (optind == argc) {
		usage_all(stdout);
		return DSB_OK;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[optind], commands[i].name) == 0) {
			c->cmd = &commands[i];
			return cli_help(c);
		}
	return cli_usage_error(c, "unknown command \"%s\" (\"dsbackup help\" lists them)", argv[optind]);
}

int cli_help(struct cli *c)
{
	printf("usage: dsbackup %s %s\n\n%s", c->cmd->name, c->cmd->usage, c->cmd->help);
	printf("\nglobal options: -r REPO, --catalog PATH, --password-file FILE, --identity FILE, "
	    "--share FILE, --json, -q, -v\n"
	    "S3: --s3-endpoint URL, --s3-region R, --s3-addressing path|virtual, --s3-ca-file PEM,\n"
	    "    --s3-storage-class C, --s3-retention-days N, --s3-connections N\n");
	return DSB_OK;
}

int cli_usage_error(struct cli *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "dsbackup: %s\n", msg);
	if (c->cmd != NULL)
		fprintf(stderr, "usage: dsbackup %s %s (see \"dsbackup %s --help\")\n", c->cmd->name,
		    c->cmd->usage, c->cmd->name);
	/* printed here; main() prints the usage errors of deeper layers, which are still recorded */
	dsb_error_clear();
	return DSB_ERR_USAGE;
}

/* s3_option(opt, arg): a --s3-* option sets its DSBACKUP_S3_* variable (backend.h); 1 or -1. */
static int s3_option(int opt, const char *arg)
{
	static const char *const vars[] = {
		"DSBACKUP_S3_ENDPOINT", "DSBACKUP_S3_REGION", "DSBACKUP_S3_ADDRESSING",
		"DSBACKUP_S3_CA_FILE", "DSBACKUP_S3_STORAGE_CLASS", "DSBACKUP_S3_RETENTION_DAYS",
		"DSBACKUP_S3_CONNECTIONS",
	};

	return setenv(vars[opt - CLI_S3_OPT_FIRST], arg, 1) == 0 ? 1 : -1;
}

int cli_global_option(struct cli *c, int opt, const char *arg)
{
	if (opt >= CLI_S3_OPT_FIRST && opt < CLI_S3_OPT_FIRST + 7)
		return s3_option(opt, arg);
	switch (opt) {
	case 'r': c->repo = arg; return 1;
	case 0x1001: c->catalog = arg; return 1;
	case 0x1002: c->password_file = arg; return 1;
	case 0x1006:
		/* "--password X" would otherwise abbreviate --password-file and echo X in an error */
		fprintf(stderr, "dsbackup: there is no --password option: a password never goes on the "
		    "command line (use --password-file FILE, DSBACKUP_PASSWORD_FILE or DSBACKUP_PASSWORD)\n");
		return -1;
	case 'c': c->config = arg; return 1;
	case 0x1003: c->json = 1; return 1;
	case 'q': c->quiet = 1; return 1;
	case 'v': c->verbose++; return 1;
	case 'h': return 2;
	case 0x1004:
		if (c->nidentity_files == sizeof(c->identity_files) / sizeof(c->identity_files[0]))
			return -1;
		c->identity_files[c->nidentity_files++] = arg;
		return 1;
	case 0x1005:
		if (c->nshare_files == sizeof(c->share_files) / sizeof(c->share_files[0]))
			return -1;
		c->share_files[c->nshare_files++] = arg;
		return 1;
	case '?': return -1;
	default: return 0;
	}
}

int cli_parse(struct cli *c, int argc, char **argv, const char *shortopts,
    const struct option *longopts, int (*own)(struct cli *c, int opt, const char *arg, void *ctx),
    void *ctx)
{
	int opt, g, r;

	optind = 0;   /* GNU getopt: reinitialise fully, permutation included */
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		g = cli_global_option(c, opt, optarg);
		if (g == 2) {
			cli_help(c);
			return 1;
		}
		if (g == -1)
			return cli_usage_error(c, "invalid option");
		if (g == 1)
			continue;
		if (own == NULL)
			return cli_usage_error(c, "invalid option");
		if ((r = own(c, opt, optarg, ctx)) != 0)
			return r;
	}
	dsb_log_set_level(c->quiet ? DSB_LOG_WARN : c->verbose ? DSB_LOG_DEBUG : DSB_LOG_INFO);
	return 0;
}

const char *cli_repo(struct cli *c)
{
	const char *e = getenv("DSBACKUP_REPOSITORY");

	if (c->repo == NULL && e != NULL && *e != '\0')
		c->repo = e;
	if (c->repo == NULL)
		cli_usage_error(c, "no repository given: use -r REPO or set DSBACKUP_REPOSITORY");
	return c->repo;
}

int cli_password(struct cli *c, int confirm)
{
	const char *file = c->password_file, *env;
	char *again = NULL;
	size_t alen = 0;
	int r;

	if (c->password != NULL)
		return 0;
	if (file == NULL && (env = getenv("DSBACKUP_PASSWORD_FILE")) != NULL && *env != '\0')
		file = env;
	if (file != NULL)
		return dsb_secret_from_file(file, &c->password, &c->passlen);
	if ((env = getenv("DSBACKUP_PASSWORD")) != NULL)
		return dsb_secret_from_string(env, &c->password, &c->passlen);
	if ((r = dsb_secret_prompt(confirm ? "new repository password: " : "repository password: ",
	    &c->password, &c->passlen)) != 0)
		return r;
	if (!confirm)
		return 0;
	if ((r = dsb_secret_prompt("repeat the password: ", &again, &alen)) != 0)
		return r;
	if (alen != c->passlen || memcmp(again, c->password, alen) != 0)
		r = dsb_error(DSB_ERR_USAGE, "the passwords do not match");
	dsb_secret_free(again, alen);
	return r;
}

static int load_share_file(const char *path, struct dsb_share **out)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	if ((r = dsb_secret_from_file(path, &text, &len)) != 0)
		return r;
	r = dsb_share_import(text, len, out);
	dsb_secret_free(text, len);
	return r != 0 ? dsb_error_wrap(r, "%s", path) : 0;
}

int cli_unlock(struct cli *c, const struct dsb_unlock **u)
{
	const char *env = getenv("DSBACKUP_IDENTITY_FILE");
	int r;

	if (c->nidentity_files == 0 && env != NULL && *env != '\0')
		c->identity_files[c->nidentity_files++] = env;
	for (; c->nids < c->nidentity_files; c->nids++)
		if ((r = dsb_identity_load(c->identity_files[c->nids], &c->ids[c->nids])) != 0)
			return r;
	for (; c->nshares < c->nshare_files; c->nshares++)
		if ((r = load_share_file(c->share_files[c->nshares], &c->shares[c->nshares])) != 0)
			return r;
	memset(&c->unlock, 0, sizeof(c->unlock));
	if (c->nids == 0 && c->nshares == 0) {
		if ((r = cli_password(c, 0)) != 0)
			return r;
	} else if (c->password_file != NULL || getenv("DSBACKUP_PASSWORD_FILE") != NULL ||
	    getenv("DSBACKUP_PASSWORD") != NULL) {
		/* a password given as well is tried too; none is asked for */
		if ((r = cli_password(c, 0)) != 0)
			return r;
	}
	c->unlock.pass = c->password;
	c->unlock.passlen = c->passlen;
	c->unlock.ids = c->ids;
	c->unlock.nids = c->nids;
	c->unlock.shares = c->shares;
	c->unlock.nshares = c->nshares;
	*u = &c->unlock;
	return 0;
}

int cli_open(struct cli *c, struct dsb_session **s)
{
	struct dsb_open_opts o;
	int r;

	memset(&o, 0, sizeof(o));
	if ((o.url = cli_repo(c)) == NULL)
		return DSB_ERR_USAGE;
	if ((r = cli_unlock(c, &o.unlock)) != 0)
		return r;
	o.catalog_path = c->catalog;
	return dsb_session_open(&o, s);
}

int cli_open_repo(struct cli *c, struct dsb_repo **repo)
{
	const struct dsb_unlock *u;
	const char *url;
	int r;

	if ((url = cli_repo(c)) == NULL)
		return DSB_ERR_USAGE;
	if ((r = cli_unlock(c, &u)) != 0)
		return r;
	return dsb_repo_open_with(url, u, repo);
}

void cli_release(struct cli *c)
{
	size_t i;

	for (i = 0; i < c->nids; i++)
		dsb_identity_free(c->ids[i]);
	for (i = 0; i < c->nshares; i++)
		dsb_share_free(c->shares[i]);
	c->nids = c->nshares = 0;
	dsb_secret_free(c->password, c->passlen);
	c->password = NULL;
	c->passlen = 0;
}

void cli_print_json(json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_ENCODE_ANY);

	if (s != NULL) {
		puts(s);
		free(s);
	}
	json_decref(obj);
}

void cli_bytes(uint64_t n, char *out, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%llu B", (unsigned long long)n);
	else
		snprintf(out, len, "%.1f %s", v, units[u]);
}

void cli_progress_start(struct cli *c, const char *action)
{
	/* an operation without its progress display is still worth running */
	if (dsb_progress_start(action, dsb_progress_mode_for(c->json, c->quiet)) != 0) {
		dsb_debug("%s", dsb_errmsg());
		dsb_error_clear();
	}
}

static void on_signal(int sig)
{
	(void)sig;
	dsb_interrupted = 1;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int parse_globals(struct cli *c, int argc, char **argv, int *next)
{
	static const struct option longopts[] = { CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 } };
	int opt, g;

	opterr = 1;
	while ((opt = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		g = cli_global_option(c, opt, optarg);
		if (g == 2) {
			usage_all(stdout);
			exit(0);
		}
		if (g != 1) {
			usage_all(stderr);
			return DSB_ERR_USAGE;
		}
	}
	*next = optind;
	return 0;
}

int main(int argc, char **argv)
{
	struct cli c;
	size_t i;
	int r, first;

	memset(&c, 0, sizeof(c));
	if ((r = dsb_crypto_init()) != 0) {
		fprintf(stderr, "dsbackup: error: %s\n", dsb_errmsg());
		return 1;
	}
	install_signals();
	if ((r = parse_globals(&c, argc, argv, &first)) != 0)
		return 2;
	if (first >= argc) {
		usage_all(stderr);
		return 2;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[first], commands[i].name) == 0)
			break;
	if (i == NCOMMANDS) {
		fprintf(stderr, "dsbackup: unknown command \"%s\"\n", argv[first]);
		usage_all(stderr);
		return 2;
	}
	c.cmd = &commands[i];
	dsb_log_set_level(c.quiet ? DSB_LOG_WARN : c.verbose ? DSB_LOG_DEBUG : DSB_LOG_INFO);
	optind = 1;
	r = commands[i].fn(&c, argc - first, argv + first);
	if (r != 0 && dsb_errmsg()[0] != '\0')
		/* through dsb_log: with a journal priority when stderr is the journal */
		dsb_log(r == DSB_ERR_PARTIAL ? DSB_LOG_WARN : DSB_LOG_ERROR, "%s", dsb_errmsg());
	else if (r != 0 && r != DSB_ERR_USAGE)
		dsb_log(DSB_LOG_ERROR, "%s", dsb_strerror(r));
	cli_release(&c);
	return dsb_exit_code(r);
}
