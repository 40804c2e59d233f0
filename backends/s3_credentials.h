/*
 * s3_credentials.h: where the S3 backend finds its keys, the way the AWS
 * tools do (internal to backends/s3*.c and their tests).
 *
 * Order: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN)
 * from the environment; else the profile AWS_PROFILE (default "default")
 * in the shared credentials file (${credentials_file}, else
 * AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials), section [NAME];
 * else the same profile in the config file (AWS_CONFIG_FILE, else
 * ~/.aws/config), section [profile NAME] or [default].  The region comes
 * from AWS_REGION, AWS_DEFAULT_REGION, or the profile's "region" in the
 * config file.  Secrets are wiped when released and never put in messages.
 */
#ifndef DSB_S3_CREDENTIALS_H
#define DSB_S3_CREDENTIALS_H

#include <stddef.h>

struct s3_credentials {
	char *access_key;
	char *secret_key;     /* secret */
	char *session_token;  /* secret; NULL if none */
	char *region;         /* NULL if nothing says */
	char *source;         /* for messages: "the environment", "profile default in /root/.aws/credentials" */
};

/*
 * s3_credentials_load(credentials_file, out): fill ${out} (zeroed by the
 * caller).  ${credentials_file} may be NULL.  0, DSB_ERR_USAGE when no
 * credentials are found or only half of a key pair, DSB_ERR_IO if a file
 * cannot be read, DSB_ERR_NOMEM.
 */
int s3_credentials_load(const char *credentials_file, struct s3_credentials *out);

/* s3_credentials_release(c): wipe and free; ${c} is zeroed. */
void s3_credentials_release(struct s3_credentials *c);

/*
 * s3_ini_cb(arg, section, key, value): one "key = value" line of an INI
 * file, with ${section} the text inside the last "[...]" ("" before any),
 * ${key} lower-cased and both trimmed.  Non-zero stops the parse.
 */
typedef int (*s3_ini_cb)(void *arg, const char *section, const char *key, const char *value);

/*
 * s3_ini_parse(text, n, cb, arg): the AWS flavour of INI: '#' and ';'
 * start comment lines, indented lines (nested settings) are skipped, lines
 * without '=' ignored; no limit on line length.  0, ${cb}'s value,
 * DSB_ERR_CORRUPT for a NUL byte or an unterminated "[", DSB_ERR_NOMEM.
 */
int s3_ini_parse(const char *text, size_t n, s3_ini_cb cb, void *arg);

#endif
