/* log.c: one line per event on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dsbackup/log.h"

static int log_level = DSB_LOG_INFO;
static const char *line_start = "";

/*
 * to_journal(): stderr is the systemd journal's stream ($JOURNAL_STREAM
 * names its device and inode): lines then start with a "<N>" priority
 * (sd-daemon(3)), so that the journal shows errors and warnings as such.
 */
static int to_journal(void)
{
	static int known = -1;
	const char *e;
	unsigned long long dev, ino;
	struct stat st;

	if (known < 0) {
		known = 0;
		if ((e = getenv("JOURNAL_STREAM")) != NULL &&
		    sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
		    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
			known = 1;
	}
	return known;
}

void dsb_log_set_level(int level)
{
	log_level = level;
	(void)to_journal();   /* decided here, before any thread logs */
}

void dsb_log_set_line_start(const char *s)
{
	line_start = s != NULL ? s : "";
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
	fprintf(stderr, "%s%sdsbackup: %s%s\n", line_start,
	    !to_journal() ? "" : level == DSB_LOG_ERROR ? "<3>" : level == DSB_LOG_WARN ? "<4>" :
	    level == DSB_LOG_INFO ? "<6>" : "<7>",
	    level == DSB_LOG_ERROR ? "error: " : level == DSB_LOG_WARN ? "warning: " : "",
	    line);
}
