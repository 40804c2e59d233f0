/*
 * check_config.c: the configuration file (src/config/config.c): a full
 * file parses into the expected values; each kind of problem is reported
 * as "FILE:LINE: [SECTION] KEY: ..." with the right line; durations.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dsbackup/config.h"
#include "dsbackup/error.h"

#include "testutil.h"

static char *tmpdir;
static char conf[4096];
static char problems[16384];

static void setup(void)
{
	char path[4096];
	FILE *f;

	tmpdir = dsb_test_tmpdir();
	snprintf(conf, sizeof(conf), "%s/dsbackup.conf", tmpdir);
	snprintf(path, sizeof(path), "%s/password", tmpdir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("secret\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/data", tmpdir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	problems[0] = '\0';
}

static void teardown(void)
{
	dsb_test_rmrf(tmpdir);
	free(tmpdir);
}

/* write_conf(text): the config file; "@" in ${text} stands for the temporary directory. */
static void write_conf(const char *text)
{
	FILE *f = fopen(conf, "w");
	const char *p;

	ck_assert_ptr_nonnull(f);
	for (p = text; *p != '\0'; p++) {
		if (*p == '@')
			fputs(tmpdir, f);
		else
			fputc(*p, f);
	}
	fclose(f);
}

static void collect(void *arg, const char *msg)
{
	(void)arg;
	strncat(problems, msg, sizeof(problems) - strlen(problems) - 2);
	strcat(problems, "\n");
}

static struct dsb_config *load_ok(const char *text)
{
	struct dsb_config *cfg = NULL;
	int r;

	write_conf(text);
	r = dsb_config_load(conf, &cfg, collect, NULL);
	ck_assert_msg(r == 0, "load: %d %s\n%s", r, dsb_errmsg(), problems);
	return cfg;
}

/* expect_problem(text, line, what): loading fails, naming FILE:LINE and ${what}. */
static void expect_problem(const char *text, int line, const char *what)
{
	struct dsb_config *cfg = NULL;
	char want[4200];
	int r;

	problems[0] = '\0';
	write_conf(text);
	r = dsb_config_load(conf, &cfg, collect, NULL);
	ck_assert_msg(r == DSB_ERR_USAGE, "accepted (%d): %s", r, text);
	ck_assert_ptr_null(cfg);
	snprintf(want, sizeof(want), "%s:%d: %s", conf, line, what);
	ck_assert_msg(strstr(problems, want) != NULL, "want \"%s\" in:\n%s", want, problems);
	/* the thread's message is the first problem */
	ck_assert_msg(strncmp(dsb_errmsg(), conf, strlen(conf)) == 0, "message: %s", dsb_errmsg());
}

#define REPO_OK "[repository local]\nurl = @/repo\npassword-file = @/password\n"

START_TEST(test_good)
{
	struct dsb_config *cfg = load_ok(
	    "# a comment\n"
	    "; another\n"
	    "[global]\n"
	    "state-dir = @/state\n"
	    "metrics-dir = @/data\n"
	    "log-level = debug\n"
	    "timezone = UTC\n"
	    "stop-timeout = 5min\n"
	    "\n"
	    REPO_OK
	    "catalog = @/local.db\n"
	    "prune-schedule = weekly sun 04:00\n"
	    "\n"
	    "[repository offsite]\n"
	    "url = s3://bucket/prefix\n"
	    "password-credential = dsbackup-password\n"
	    "s3-endpoint = https://s3.example.net\n"
	    "s3-region = eu-west-1\n"
	    "s3-ca-file = @/password\n"
	    "\n"
	    "[job nightly]\n"
	    "sources = @/data, volume:*, path:@/data\n"
	    "sources = compose:app\n"
	    "sources = daemon, trust\n"
	    "repositories = local, offsite\n"
	    "schedule = daily 03:30\n"
	    "randomized-delay = 1h 30min\n"
	    "keep-last = 3\n"
	    "keep-daily = 7\n"
	    "keep-within = 1y2m\n"
	    "keep-tag = important, audit\n"
	    "exclude = *.tmp, /srv/cache\n"
	    "exclude = *.swp\n"
	    "tags = nightly\n"
	    "one-file-system = yes\n"
	    "pre-hook = pg_dump -f /srv/db.sql db ; inline comment\n"
	    "pre-hook = sync\n"
	    "post-hook = rm -f /srv/db.sql\n"
	    "notify-webhook = https://hooks.example.net/x?token=abc\n"
	    "notify-on-success = true\n"
	    "\n"
	    "[job manual]\n"
	    "sources = @/data\n"
	    "repositories = local\n");
	const struct dsb_config_job *j;
	const struct dsb_config_repo *r;
	char want[4200];

	ck_assert_int_eq(cfg->log_level, 3);
	ck_assert_int_eq(cfg->utc, 1);
	ck_assert_int_eq(cfg->stop_timeout_sec, 300);
	snprintf(want, sizeof(want), "%s/state", tmpdir);
	ck_assert_str_eq(cfg->state_dir, want);
	ck_assert_uint_eq(cfg->nrepos, 2);
	ck_assert_uint_eq(cfg->njobs, 2);

	ck_assert_ptr_nonnull(r = dsb_config_repo(cfg, "local"));
	ck_assert_ptr_nonnull(r->prune_schedule);
	ck_assert_ptr_nonnull(r = dsb_config_repo(cfg, "offsite"));
	ck_assert_str_eq(r->url, "s3://bucket/prefix");
	ck_assert_str_eq(r->password_credential, "dsbackup-password");
	ck_assert_ptr_null(r->password_file);
	ck_assert_uint_eq(r->nenv, 3);
	ck_assert_str_eq(r->env[0].name, "DSBACKUP_S3_ENDPOINT");
	ck_assert_str_eq(r->env[0].value, "https://s3.example.net");
	ck_assert_str_eq(r->env[2].name, "DSBACKUP_S3_CA_FILE");
	ck_assert_ptr_null(dsb_config_repo(cfg, "nope"));

	ck_assert_ptr_nonnull(j = dsb_config_job(cfg, "nightly"));
	ck_assert_uint_eq(j->sources.n, 6);
	ck_assert_str_eq(j->sources.v[1], "volume:*");
	ck_assert_str_eq(j->sources.v[3], "compose:app");
	/* the Docker sources without an argument are specs, not relative paths (docs/CONFIG.md) */
	ck_assert_str_eq(j->sources.v[4], "daemon");
	ck_assert_str_eq(j->sources.v[5], "trust");
	ck_assert_uint_eq(j->repositories.n, 2);
	ck_assert_str_eq(j->repositories.v[1], "offsite");
	ck_assert_str_eq(j->schedule, "daily 03:30");
	ck_assert_int_eq(j->randomized_delay_sec, 5400);
	ck_assert_int_eq(j->retention.any, 1);
	ck_assert_int_eq(j->retention.keep_last, 3);
	ck_assert_int_eq(j->retention.keep_daily, 7);
	ck_assert_int_eq(j->retention.keep_weekly, 0);
	ck_assert_str_eq(j->retention.keep_within, "1y2m");
	ck_assert_uint_eq(j->retention.keep_tags.n, 2);
	ck_assert_uint_eq(j->excludes.n, 3);
	ck_assert_str_eq(j->excludes.v[1], "/srv/cache");
	ck_assert_str_eq(j->excludes.v[2], "*.swp");
	ck_assert_int_eq(j->one_file_system, 1);
	ck_assert_uint_eq(j->pre_hooks.n, 2);
	ck_assert_str_eq(j->pre_hooks.v[0], "pg_dump -f /srv/db.sql db");
	ck_assert_uint_eq(j->post_hooks.n, 1);
	ck_assert_int_eq(j->notify_on_success, 1);
	ck_assert_str_eq(j->notify_webhook, "https://hooks.example.net/x?token=abc");

	ck_assert_ptr_nonnull(j = dsb_config_job(cfg, "manual"));
	ck_assert_ptr_null(j->schedule);
	ck_assert_int_eq(j->retention.any, 0);
	dsb_config_free(cfg);
}
END_TEST

START_TEST(test_defaults)
{
	struct dsb_config *cfg = load_ok(REPO_OK);

	ck_assert_int_eq(cfg->log_level, -1);
	ck_assert_int_eq(cfg->utc, 0);
	ck_assert_ptr_null(cfg->state_dir);
	ck_assert_ptr_null(cfg->metrics_dir);
	ck_assert_int_eq(cfg->stop_timeout_sec, 15 * 60);
	ck_assert_uint_eq(cfg->njobs, 0);
	dsb_config_free(cfg);
	dsb_config_free(NULL);
}
END_TEST

START_TEST(test_unknown)
{
	expect_problem("[global]\ncolour = blue\n", 2, "[global] colour: unknown key");
	expect_problem(REPO_OK "\n[job j]\nsources = @/data\nrepositories = local\nretention = 3\n",
	    8, "[job j] retention: unknown key");
	expect_problem(REPO_OK "s3-colour = red\n", 4, "[repository local] s3-colour: unknown key");
	expect_problem(REPO_OK "[jobs x]\n", 4, "[jobs x]: unknown section");
	expect_problem(REPO_OK "[global extra]\n", 4, "[global extra]: unknown section");
	expect_problem("[job]\n", 1, "[job]: job name \"\"");
	expect_problem("[job a/b]\n", 1, "[job a/b]: job name \"a/b\"");
	expect_problem("url = x\n[global]\n", 1, "url: key outside a section");
}
END_TEST

START_TEST(test_bad_values)
{
	expect_problem(REPO_OK "[job j]\nsources = @/data\nrepositories = local\nkeep-daily = many\n", 7,
	    "[job j] keep-daily: \"many\" is not a whole number");
	expect_problem(REPO_OK "[job j]\nsources = @/data\nrepositories = local\nkeep-last = -1\n", 7,
	    "[job j] keep-last:");
	expect_problem(REPO_OK "[job j]\nsources = @/data\nrepositories = local\nschedule = 0 25 * * *\n",
	    7, "[job j] schedule: hour field");
	expect_problem(REPO_OK "[job j]\nsources = @/data\nrepositories = local\n"
	    "randomized-delay = soon\n", 7, "[job j] randomized-delay: \"soon\" is not a duration");
	expect_problem(REPO_OK "[job j]\nsources = @/data\nrepositories = local\n"
	    "keep-within = 10 days\n", 7, "[job j] keep-within:");
	expect_problem(REPO_OK "[job j]\nsources = @/data\nrepositories = local\n"
	    "one-file-system = maybe\n", 7, "[job j] one-file-system: \"maybe\" is not yes or no");
	expect_problem(REPO_OK "[job j]\nsources = @/data\nrepositories = local\n"
	    "notify-webhook = file:///etc/passwd\n", 7, "[job j] notify-webhook:");
	expect_problem("[global]\nlog-level = loud\n", 2, "[global] log-level:");
	expect_problem("[global]\ntimezone = Mars\n", 2, "[global] timezone:");
	expect_problem("[global]\nstate-dir = relative\n", 2,
	    "[global] state-dir: \"relative\" is not an absolute path");
	expect_problem(REPO_OK "password-credential = ../etc\n", 4,
	    "[repository local] password-credential:");
	expect_problem(REPO_OK "[job j]\nsources = data\nrepositories = local\n", 5,
	    "[job j] sources: \"data\" is not an absolute path");
	expect_problem(REPO_OK "[job j]\nsources = ,\nrepositories = local\n", 5,
	    "[job j] sources: empty list");
	expect_problem(REPO_OK "[job j]\nsources = @/data\nrepositories = local\nkeep-last = 0\n", 4,
	    "[job j] keep-*: every rule is 0");
}
END_TEST

START_TEST(test_missing_files)
{
	expect_problem("[repository r]\nurl = /x\npassword-file = @/nope\n", 3,
	    "[repository r] password-file: ");
	ck_assert(strstr(problems, "No such file or directory") != NULL);
	expect_problem("[global]\nmetrics-dir = @/nope\n", 2, "[global] metrics-dir: ");
	expect_problem("[global]\nmetrics-dir = @/password\n", 2, "[global] metrics-dir: ");
	ck_assert(strstr(problems, "not a directory") != NULL);
	expect_problem(REPO_OK "s3-ca-file = @/nope\n", 4, "[repository local] s3-ca-file: ");
	expect_problem(REPO_OK "[job j]\nsources = @/data, @/gone\nrepositories = local\n", 5,
	    "[job j] sources: ");
	ck_assert(strstr(problems, "/gone: No such file") != NULL);
}
END_TEST

START_TEST(test_missing_keys_and_references)
{
	/* a missing key is reported at its section's header */
	expect_problem("\n[repository r]\npassword-file = @/password\n", 2, "[repository r] url: missing");
	expect_problem("[repository r]\nurl = /x\n", 1, "[repository r] password-file: missing");
	expect_problem(REPO_OK "\n[job j]\nrepositories = local\n", 5, "[job j] sources: missing");
	expect_problem(REPO_OK "\n[job j]\nsources = @/data\n", 5, "[job j] repositories: missing");
	expect_problem(REPO_OK "[job empty]\n", 4, "[job empty] sources: missing");
	/* a reference that does not resolve is reported where it is made */
	expect_problem(REPO_OK "[job j]\nsources = @/data\n\nrepositories = local, remote\n", 7,
	    "[job j] repositories: no section [repository remote]");
	expect_problem(REPO_OK "[job j]\nsources = @/data\nrepositories = local, local\n", 6,
	    "[job j] repositories: \"local\" named twice");
}
END_TEST

START_TEST(test_duplicates_and_syntax)
{
	expect_problem(REPO_OK "url = /y\n", 4, "[repository local] url: given twice (first at line 2)");
	expect_problem(REPO_OK "[repository local]\n", 4,
	    "[repository local]: section given twice (first at line 1)");
	expect_problem(REPO_OK "this is not a key\n", 4, "expected \"KEY = VALUE\" or \"[SECTION]\"");
	expect_problem(REPO_OK "[job x\n", 4, "section header without \"]\"");
	expect_problem(REPO_OK "  [job x]\n", 4, "an indented line starting with \"[\"");
}
END_TEST

START_TEST(test_long_line)
{
	char text[2048];
	size_t n;

	n = (size_t)snprintf(text, sizeof(text), REPO_OK "[job j]\nsources = @/data\nrepositories = local\n"
	    "exclude = ");
	memset(text + n, 'x', 600);
	strcpy(text + n + 600, "\nkeep-last = 1\n");
	expect_problem(text, 7, "line longer than");
	/* the rest of the file is still read with the right line numbers */
	expect_problem(REPO_OK "[job j]\nsources = @/data\nrepositories = local\nexclude = "
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
	    "keep-hourly = x\n", 8, "[job j] keep-hourly:");
}
END_TEST

START_TEST(test_every_problem_reported)
{
	struct dsb_config *cfg = NULL;

	write_conf("[global]\ncolour = blue\nlog-level = loud\n[nope]\n");
	ck_assert_int_eq(dsb_config_load(conf, &cfg, collect, NULL), DSB_ERR_USAGE);
	ck_assert(strstr(problems, ":2: [global] colour") != NULL);
	ck_assert(strstr(problems, ":3: [global] log-level") != NULL);
	ck_assert(strstr(problems, ":4: [nope]") != NULL);
	ck_assert_msg(strstr(dsb_errmsg(), "(and 2 more problems)") != NULL, "%s", dsb_errmsg());
}
END_TEST

START_TEST(test_unreadable_file)
{
	struct dsb_config *cfg = NULL;
	char path[4200];

	snprintf(path, sizeof(path), "%s/none.conf", tmpdir);
	ck_assert_int_eq(dsb_config_load(path, &cfg, NULL, NULL), DSB_ERR_NOT_FOUND);
	ck_assert(strstr(dsb_errmsg(), "none.conf") != NULL);
	ck_assert_ptr_null(cfg);
}
END_TEST

START_TEST(test_config_path_and_password)
{
	struct dsb_config *cfg;
	char *p = NULL, want[4200];

	unsetenv("DSBACKUP_CONFIG");
	ck_assert_str_eq(dsb_config_path(NULL), DSB_CONFIG_DEFAULT_PATH);
	setenv("DSBACKUP_CONFIG", "/etc/other.conf", 1);
	ck_assert_str_eq(dsb_config_path(NULL), "/etc/other.conf");
	ck_assert_str_eq(dsb_config_path("/x.conf"), "/x.conf");
	unsetenv("DSBACKUP_CONFIG");

	cfg = load_ok(REPO_OK "password-credential = pw\n[repository cred]\nurl = /r\n"
	    "password-credential = pw\n");
	unsetenv("CREDENTIALS_DIRECTORY");
	ck_assert_int_eq(dsb_config_password_path(dsb_config_repo(cfg, "local"), &p), 0);
	snprintf(want, sizeof(want), "%s/password", tmpdir);
	ck_assert_str_eq(p, want);
	free(p);
	ck_assert_int_eq(dsb_config_password_path(dsb_config_repo(cfg, "cred"), &p), DSB_ERR_USAGE);
	ck_assert(strstr(dsb_errmsg(), "CREDENTIALS_DIRECTORY") != NULL);
	setenv("CREDENTIALS_DIRECTORY", "/run/credentials/dsbackup.service", 1);
	ck_assert_int_eq(dsb_config_password_path(dsb_config_repo(cfg, "local"), &p), 0);
	ck_assert_str_eq(p, "/run/credentials/dsbackup.service/pw");
	free(p);
	unsetenv("CREDENTIALS_DIRECTORY");
	dsb_config_free(cfg);
}
END_TEST

START_TEST(test_durations)
{
	static const struct { const char *s; int64_t v; } ok[] = {
		{ "90", 90 }, { "90s", 90 }, { "30min", 1800 }, { "30m", 1800 }, { "1h", 3600 },
		{ "2h 30min", 9000 }, { "2h30m", 9000 }, { "1d", 86400 }, { "1w", 604800 },
		{ "3 hours", 10800 }, { "0", 0 },
	};
	static const char *const bad[] = { "", "h", "1x", "-5", "1h 2", "5 5", "1.5h" };
	int64_t v;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(dsb_duration_parse(ok[i].s, &v) == 0, "\"%s\"", ok[i].s);
		ck_assert_msg(v == ok[i].v, "\"%s\": %lld", ok[i].s, (long long)v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(dsb_duration_parse(bad[i], &v) != 0, "\"%s\" accepted", bad[i]);
	ck_assert_int_eq(dsb_within_parse("1y2m3d4h", &v), 0);
	ck_assert_int_eq(v, (365 + 60 + 3) * 86400LL + 4 * 3600);
	ck_assert_int_ne(dsb_within_parse("10", &v), 0);
	ck_assert_int_ne(dsb_within_parse("10w", &v), 0);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_good);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_unknown);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_missing_files);
	tcase_add_test(tc, test_missing_keys_and_references);
	tcase_add_test(tc, test_duplicates_and_syntax);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_every_problem_reported);
	tcase_add_test(tc, test_unreadable_file);
	tcase_add_test(tc, test_config_path_and_password);
	tcase_add_test(tc, test_durations);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
