/* progress.c: the process-wide progress reporter (progress.h). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/progress.h"

#define TTY_INTERVAL_MS 250
#define JSON_INTERVAL_MS 1000

static struct {
	atomic_int active;
	atomic_uint_fast64_t files, bytes, total_files, total_bytes;
	pthread_mutex_t lock;          /* current, stop, drawn */
	pthread_cond_t wake;
	char current[4096];
	int stop;
	int drawn;                     /* a TTY line is on the screen */
	int mode;
	const char *action;
	struct timespec started;
	pthread_t thread;
} P = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

int dsb_progress_mode_for(int json, int quiet)
{
	if (quiet || !isatty(STDERR_FILENO))
		return DSB_PROGRESS_OFF;
	return json ? DSB_PROGRESS_JSON : DSB_PROGRESS_TTY;
}

void dsb_progress_set_total(uint64_t files, uint64_t bytes)
{
	atomic_store(&P.total_files, files);
	atomic_store(&P.total_bytes, bytes);
}

void dsb_progress_file(const char *path)
{
	if (!atomic_load_explicit(&P.active, memory_order_relaxed))
		return;
	atomic_fetch_add_explicit(&P.files, 1, memory_order_relaxed);
	pthread_mutex_lock(&P.lock);
	snprintf(P.current, sizeof(P.current), "%s", path);
	pthread_mutex_unlock(&P.lock);
}

void dsb_progress_bytes(uint64_t n)
{
	if (atomic_load_explicit(&P.active, memory_order_relaxed))
		atomic_fetch_add_explicit(&P.bytes, n, memory_order_relaxed);
}

/* ---- what the reporter shows ---- */

struct snap {
	uint64_t files, bytes, total_files, total_bytes;
	double elapsed, rate, percent, remaining;   /* percent and remaining < 0: unknown */
	char current[4096];
};

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* take_snap(s): the counters now; called with P.lock held (for current). */
static void take_snap(struct snap *s)
{
	double done;

	s->files = atomic_load(&P.files);
	s->bytes = atomic_load(&P.bytes);
	s->total_files = atomic_load(&P.total_files);
	s->total_bytes = atomic_load(&P.total_bytes);
	s->elapsed = since(&P.started);
	s->rate = s->elapsed > 0 ? (double)s->bytes / s->elapsed : 0;
	s->percent = s->remaining = -1;
	/* bytes decide when their total is known; files otherwise */
	if (s->total_bytes > 0)
		done = (double)s->bytes / (double)s->total_bytes;
	else if (s->total_files > 0)
		done = (double)s->files / (double)s->total_files;
	else
		done = -1;
	if (done >= 0) {
		s->percent = done > 1 ? 1 : done;
		if (s->percent > 0)
			s->remaining = s->elapsed * (1 - s->percent) / s->percent;
	}
	snprintf(s->current, sizeof(s->current), "%s", P.current);
}

static void human_bytes(double v, char *out, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(out, len, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
}

static void clock_text(double sec, char *out, size_t len)
{
	unsigned long s = sec > 0 ? (unsigned long)sec : 0;

	if (s >= 3600)
		snprintf(out, len, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(out, len, "%lu:%02lu", s / 60, s % 60);
}

static int terminal_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

/* draw_tty(s): "[0:12] 35.0%  120 files  12.3 MiB  4.5 MiB/s  ETA 0:20  /current/path" */
static void draw_tty(const struct snap *s)
{
	char line[8192], el[32], done[32], rate[32], eta[40], pct[16], files[48];
	int width = terminal_width(), n;
	size_t plen;
	const char *path = s->current;

	clock_text(s->elapsed, el, sizeof(el));
	human_bytes((double)s->bytes, done, sizeof(done));
	human_bytes(s->rate, rate, sizeof(rate));
	pct[0] = eta[0] = '\0';
	if (s->percent >= 0)
		snprintf(pct, sizeof(pct), " %5.1f%%", s->percent * 100);
	if (s->remaining >= 0) {
		clock_text(s->remaining, eta + 6, sizeof(eta) - 6);
		memcpy(eta, "  ETA ", 6);
	}
	if (s->total_files > 0)
		snprintf(files, sizeof(files), "%llu/%llu", (unsigned long long)s->files,
		    (unsigned long long)s->total_files);
	else
		snprintf(files, sizeof(files), "%llu", (unsigned long long)s->files);
	n = snprintf(line, sizeof(line), "[%s]%s  %s files  %s  %s/s%s  ", el, pct, files, done, rate,
	    eta);
	if (n < 0 || n >= width - 1) {
		n = n < 0 ? 0 : width - 1;
		line[n] = '\0';
	} else {
		/* the end of the path is the informative part */
		plen = strlen(path);
		if ((int)plen > width - 1 - n) {
			path += plen - (size_t)(width - 1 - n - 3);
			n += snprintf(line + n, sizeof(line) - (size_t)n, "...");
		}
		snprintf(line + n, sizeof(line) - (size_t)n, "%s", path);
	}
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
	P.drawn = 1;
}

static void print_json(const struct snap *s)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:f, s:I, s:I, s:I, s:I, s:[s]}",
	    "message_type", "status", "action", P.action, "seconds_elapsed", (json_int_t)s->elapsed,
	    "percent_done", s->percent >= 0 ? s->percent : 0.0,
	    "total_files", (json_int_t)s->total_files, "files_done", (json_int_t)s->files,
	    "total_bytes", (json_int_t)s->total_bytes, "bytes_done", (json_int_t)s->bytes,
	    "current_files", s->current);
	char *text;

	if (o == NULL)
		return;
	if (s->remaining >= 0)
		json_object_set_new(o, "seconds_remaining", json_integer((json_int_t)s->remaining));
	if ((text = json_dumps(o, JSON_COMPACT)) != NULL) {
		flockfile(stdout);
		fputs(text, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		funlockfile(stdout);
		free(text);
	}
	json_decref(o);
}

/* report(s): one report in the chosen form */
static void report(const struct snap *s)
{
	if (P.mode == DSB_PROGRESS_JSON)
		print_json(s);
	else
		draw_tty(s);
}

static void *reporter(void *arg)
{
	int interval = P.mode == DSB_PROGRESS_JSON ? JSON_INTERVAL_MS : TTY_INTERVAL_MS;
	struct timespec until;
	struct snap s;

	(void)arg;
	pthread_mutex_lock(&P.lock);
	while (!P.stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)interval * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		while (!P.stop && pthread_cond_timedwait(&P.wake, &P.lock, &until) != ETIMEDOUT)
			;
		if (P.stop)
			break;
		take_snap(&s);
		pthread_mutex_unlock(&P.lock);
		report(&s);
		pthread_mutex_lock(&P.lock);
	}
	pthread_mutex_unlock(&P.lock);
	return NULL;
}

int dsb_progress_start(const char *action, int mode)
{
	sigset_t all, old;
	int rc;

	if (mode == DSB_PROGRESS_OFF)
		return 0;
	if (atomic_load(&P.active))
		return dsb_error(DSB_ERR_INTERNAL, "progress: a reporter already runs");
	atomic_store(&P.files, 0);
	atomic_store(&P.bytes, 0);
	dsb_progress_set_total(0, 0);
	P.current[0] = '\0';
	P.stop = P.drawn = 0;
	P.mode = mode;
	P.action = action;
	clock_gettime(CLOCK_MONOTONIC, &P.started);
	/* signals go to the threads doing the work, which watch dsb_interrupted */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&P.thread, NULL, reporter, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return dsb_error(DSB_ERR_INTERNAL, "progress: starting the reporter thread: %s",
		    strerror(rc));
	atomic_store(&P.active, 1);
	if (mode == DSB_PROGRESS_TTY)
		dsb_log_set_line_start("\r\033[K");
	return 0;
}

void dsb_progress_stop(void)
{
	struct snap s;

	if (!atomic_load(&P.active))
		return;
	pthread_mutex_lock(&P.lock);
	P.stop = 1;
	pthread_cond_signal(&P.wake);
	pthread_mutex_unlock(&P.lock);
	pthread_join(P.thread, NULL);
	atomic_store(&P.active, 0);
	dsb_log_set_line_start(NULL);
	/* the last state, so that even an operation shorter than one interval reports one */
	pthread_mutex_lock(&P.lock);
	take_snap(&s);
	pthread_mutex_unlock(&P.lock);
	report(&s);
	if (P.drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
}
