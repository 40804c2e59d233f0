/* log.c: one line per event on stderr. */
#include <stdarg.h>
#include <stdio.h>

#include "dsbackup/log.h"

static int log_level = DSB_LOG_INFO;

void dsb_log_set_level(int level)
{
	log_level = level;
}

int dsb_log_get_level(void)
{
	return log_level;
}

void dsb_log(int level, const char *fmt, ...)
{
	char line[4096];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line so lines from threads do not interleave. */
	fprintf(stderr, "dsbackup: %s%s\n",
	    level == DSB_LOG_ERROR ? "error: " : level == DSB_LOG_WARN ? "warning: " : "",
	    line);
}
