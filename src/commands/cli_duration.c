/* cli_duration.c: durations on the command line (--retry-lock, prune --unindexed-grace). */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "dsbackup/error.h"

#define CLI_SECONDS_MAX ((int64_t)100 * 365 * 86400)

int cli_seconds(const char *s, int64_t *out)
{
	const char *p = s;
	int64_t total = 0, v, unit;

	if (s == NULL || *s == '\0')
		return dsb_error(DSB_ERR_USAGE, "empty duration");
	while (*p != '\0') {
		if (*p < '0' || *p > '9')
			goto bad;
		for (v = 0; *p >= '0' && *p <= '9'; p++)
			if ((v = v * 10 + (*p - '0')) > CLI_SECONDS_MAX)
				goto too_long;
		if (*p == '\0' && total == 0 && strspn(s, "0123456789") == strlen(s))
			unit = 1;   /* a plain number: seconds */
		else if (*p == 'h')
			unit = 3600;
		else if (*p == 'm')
			unit = 60;
		else if (*p == 's')
			unit = 1;
		else
			goto bad;
		if (*p != '\0')
			p++;
		if ((total += v * unit) > CLI_SECONDS_MAX)
			goto too_long;
	}
	*out = total;
	return 0;
bad:
	return dsb_error(DSB_ERR_USAGE, "invalid duration \"%s\" (like 90, 30s, 5m, 1h30m)", s);
too_long:
	return dsb_error(DSB_ERR_USAGE, "duration \"%s\" is too long", s);
}

int cli_lock_wait(struct cli *c, const char *arg, int *out)
{
	const char *env = getenv("DSBACKUP_RETRY_LOCK");
	int64_t sec = 0;

	*out = 0;
	if (arg == NULL && env != NULL && *env != '\0')
		arg = env;
	if (arg == NULL)
		return 0;
	if (cli_seconds(arg, &sec) != 0)
		return cli_usage_error(c, "%s: %s", arg == env ? "DSBACKUP_RETRY_LOCK" : "--retry-lock",
		    dsb_errmsg());
	*out = sec > INT32_MAX ? INT32_MAX : (int)sec;
	return 0;
}
