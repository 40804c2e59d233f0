/* check_s3_credentials.c: where the S3 backend finds keys and region (s3_credentials.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dsbackup/error.h"
#include "s3_credentials.h"
#include "testutil.h"

static char *home;

static void write_file(const char *rel, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", home, rel);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	char dir[4096];
	static const char *const vars[] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE",
		"AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", NULL };
	size_t i;

	for (i = 0; vars[i] != NULL; i++)
		unsetenv(vars[i]);
	home = dsb_test_tmpdir();
	setenv("HOME", home, 1);
	snprintf(dir, sizeof(dir), "%s/.aws", home);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	write_file(".aws/credentials", "[default]\naws_access_key_id = AKDEFAULT\n"
	    "aws_secret_access_key = secret-default\n\n[work]\naws_access_key_id=AKWORK\n"
	    "aws_secret_access_key=secret-work\naws_session_token=token-work\n[half]\n"
	    "aws_access_key_id=AKHALF\n");
	write_file(".aws/config", "[default]\nregion = eu-west-1\n[profile work]\nregion = ap-south-2\n"
	    "[profile cfgonly]\naws_access_key_id=AKCFG\naws_secret_access_key=secret-cfg\n");
}

static void teardown(void)
{
	dsb_test_rmrf(home);
	free(home);
}

START_TEST(test_default_profile)
{
	struct s3_credentials c = { 0 };

	ck_assert_int_eq(s3_credentials_load(NULL, &c), 0);
	ck_assert_str_eq(c.access_key, "AKDEFAULT");
	ck_assert_str_eq(c.secret_key, "secret-default");
	ck_assert_ptr_null(c.session_token);
	ck_assert_str_eq(c.region, "eu-west-1");
	ck_assert_ptr_nonnull(strstr(c.source, "profile default in"));
	s3_credentials_release(&c);
}
END_TEST

START_TEST(test_named_profiles)
{
	struct s3_credentials c = { 0 };

	setenv("AWS_PROFILE", "work", 1);
	ck_assert_int_eq(s3_credentials_load(NULL, &c), 0);
	ck_assert_str_eq(c.access_key, "AKWORK");
	ck_assert_str_eq(c.session_token, "token-work");
	ck_assert_str_eq(c.region, "ap-south-2");
	s3_credentials_release(&c);
	setenv("AWS_PROFILE", "cfgonly", 1);
	ck_assert_int_eq(s3_credentials_load(NULL, &c), 0);
	ck_assert_str_eq(c.access_key, "AKCFG");
	s3_credentials_release(&c);
	setenv("AWS_PROFILE", "half", 1);
	ck_assert_int_eq(s3_credentials_load(NULL, &c), DSB_ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "only one of"));
	setenv("AWS_PROFILE", "nosuch", 1);
	ck_assert_int_eq(s3_credentials_load(NULL, &c), DSB_ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "no S3 credentials"));
	ck_assert_ptr_null(c.access_key);
}
END_TEST

START_TEST(test_environment_first)
{
	struct s3_credentials c = { 0 };

	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret-env", 1);
	setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
	ck_assert_int_eq(s3_credentials_load(NULL, &c), 0);
	ck_assert_str_eq(c.access_key, "AKENV");
	ck_assert_str_eq(c.region, "us-west-2");
	ck_assert_str_eq(c.source, "the environment");
	s3_credentials_release(&c);
	setenv("AWS_REGION", "sa-east-1", 1);
	ck_assert_int_eq(s3_credentials_load(NULL, &c), 0);
	ck_assert_str_eq(c.region, "sa-east-1");
	s3_credentials_release(&c);
	unsetenv("AWS_SECRET_ACCESS_KEY");
	ck_assert_int_eq(s3_credentials_load(NULL, &c), DSB_ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(dsb_errmsg(), "AWS_SECRET_ACCESS_KEY is not"));
}
END_TEST

START_TEST(test_credentials_file_option)
{
	struct s3_credentials c = { 0 };
	char path[4096];

	write_file("other", "[default]\naws_access_key_id=AKOTHER\naws_secret_access_key=s\n");
	snprintf(path, sizeof(path), "%s/other", home);
	ck_assert_int_eq(s3_credentials_load(path, &c), 0);
	ck_assert_str_eq(c.access_key, "AKOTHER");
	s3_credentials_release(&c);
}
END_TEST

static Suite *s3_credentials_suite(void)
{
	Suite *s = suite_create("s3_credentials");
	TCase *tc = tcase_create("credentials");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_default_profile);
	tcase_add_test(tc, test_named_profiles);
	tcase_add_test(tc, test_environment_first);
	tcase_add_test(tc, test_credentials_file_option);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(s3_credentials_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
