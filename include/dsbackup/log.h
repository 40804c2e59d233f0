/*
 * log.h: messages for humans on stderr.  One line per event; the level
 * decides what -q and -v show.  Never log secrets.
 */
#ifndef DSBACKUP_LOG_H
#define DSBACKUP_LOG_H

enum dsb_log_level {
	DSB_LOG_ERROR = 0,
	DSB_LOG_WARN = 1,
	DSB_LOG_INFO = 2,
	DSB_LOG_DEBUG = 3
};

/* dsb_log_set_level(level): messages above ${level} are dropped. Default INFO. */
void dsb_log_set_level(int level);
int dsb_log_get_level(void);

/*
 * dsb_log_set_line_start(s): printed before each line (NULL: nothing); the
 * progress display sets "\r\033[K" so that a message replaces its line.
 * Set it while no other thread logs.
 */
void dsb_log_set_line_start(const char *s);

/* dsb_log(level, fmt, ...): print "dsbackup: <message>\n" to stderr if enabled. */
void dsb_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define dsb_warn(...) dsb_log(DSB_LOG_WARN, __VA_ARGS__)
#define dsb_info(...) dsb_log(DSB_LOG_INFO, __VA_ARGS__)
#define dsb_debug(...) dsb_log(DSB_LOG_DEBUG, __VA_ARGS__)

#endif
