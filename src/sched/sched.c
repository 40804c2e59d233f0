/*
 * sched.c: the scheduler daemon.
 *
 * One thread, signals blocked and taken synchronously with sigtimedwait:
 * SIGCHLD (a run ended), SIGHUP (reload), SIGTERM/SIGINT (stop).  Between
 * signals it sleeps until the next due time, the next watchdog ping, or
 * at most a minute (so that a changed wall clock or a resume from suspend
 * is noticed).  Each scheduled thing -- a job, or a repository's prune --
 * is an entry with its next fire time; runs are child processes (see
 * sched.h for why).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dsbackup/config.h"
#include "dsbackup/crypto.h"
#include "dsbackup/error.h"
#include "dsbackup/jobs.h"
#include "dsbackup/log.h"
#include "dsbackup/sched.h"
#include "dsbackup/util.h"

#define SCHED_MAX_SLEEP_SEC 60

enum entry_kind { ENTRY_JOB, ENTRY_PRUNE };

struct entry {
	enum entry_kind kind;
	char *name;
	char *schedule;          /* as written, to notice a change on reload */
	struct dsb_cron cron;
	int64_t delay_max;
	int64_t fire;            /* the scheduled time of the next run; -1: never */
	int64_t due;             /* fire plus the random delay */
	pid_t pid;               /* the running child, or 0 */
	int configured;          /* still in the configuration */
};

struct sched {
	const struct dsb_sched_opts *o;
	struct dsb_config *cfg;
	struct entry *e;
	size_t n;
	sigset_t oldmask;        /* restored in the children */
	int stopping;
	int forwarded;           /* SIGTERM sent to the children */
	int64_t stop_deadline;
	int64_t watchdog_usec;   /* 0: no watchdog */
	struct timespec next_ping;
};

static const char *kind_name(const struct entry *e)
{
	return e->kind == ENTRY_JOB ? "job" : "prune of repository";
}

static void format_when(const struct sched *s, int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if ((s->cfg->utc ? gmtime_r(&tt, &tm) : localtime_r(&tt, &tm)) == NULL ||
	    strftime(out, n, s->cfg->utc ? "%Y-%m-%d %H:%M:%S UTC" : "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(out, n, "%lld", (long long)t);
}

static int64_t random_delay(int64_t max)
{
	uint32_t v = 0;

	if (max <= 0 || dsb_random(&v, sizeof(v)) != 0)
		return 0;
	return (int64_t)(v % (uint64_t)(max + 1));
}

static void set_fire(struct sched *s, struct entry *e, int64_t fire)
{
	char when[64];

	e->fire = fire;
	e->due = fire < 0 ? -1 : fire + random_delay(e->delay_max);
	if (fire < 0) {
		dsb_warn("scheduler: %s %s: the schedule \"%s\" never fires", kind_name(e), e->name,
		    e->schedule);
		return;
	}
	if (e->due <= dsb_sched_clock())
		return;   /* due now: plan() said so */
	format_when(s, e->due, when, sizeof(when));
	dsb_info("scheduler: %s %s: next run at %s", kind_name(e), e->name, when);
}

/* last_what(e): which time file in <state>/jobs holds ${e}'s last run. */
static const char *last_what(const struct entry *e)
{
	return e->kind == ENTRY_JOB ? "last" : "prune-last";
}

/*
 * plan(s, e, now): the first fire time of a new or changed entry: once at
 * once when a scheduled time passed since its last run (catch-up), else
 * the next scheduled time.  A thing never run starts counting from now.
 */
static void plan(struct sched *s, struct entry *e, int64_t now)
{
	char when[64];
	int64_t last, f;

	if (dsb_job_get_time(e->name, last_what(e), &last) != 0) {
		dsb_error_clear();
		if (dsb_job_set_time(e->name, last_what(e), now) != 0)
			dsb_warn("scheduler: %s", dsb_errmsg());
		set_fire(s, e, dsb_cron_next(&e->cron, now, s->cfg->utc));
		return;
	}
	f = dsb_cron_next(&e->cron, last, s->cfg->utc);
	if (f >= 0 && f <= now) {
		format_when(s, f, when, sizeof(when));
		dsb_info("scheduler: %s %s missed its run at %s: running it now", kind_name(e),
		    e->name, when);
	}
	set_fire(s, e, f);
}

/* advance(s, e, now): the fire time after a run started (or was skipped) for ${e->fire}. */
static void advance(struct sched *s, struct entry *e, int64_t now)
{
	int64_t f = dsb_cron_next(&e->cron, e->fire, s->cfg->utc);

	if (f >= 0 && f <= now)
		f = dsb_cron_next(&e->cron, now, s->cfg->utc);   /* no burst of missed runs */
	set_fire(s, e, f);
}

static void entry_release(struct entry *e)
{
	free(e->name);
	free(e->schedule);
}

static int add_entry(struct entry **v, size_t *n, enum entry_kind kind, const char *name,
    const char *schedule, const struct dsb_cron *cron, int64_t delay)
{
	struct entry *p = realloc(*v, (*n + 1) * sizeof(*p));

	if (p == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	*v = p;
	p = &p[*n];
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->cron = *cron;
	p->delay_max = delay;
	p->fire = p->due = -1;
	p->configured = 1;
	if ((p->name = dsb_strdup(name)) == NULL || (p->schedule = dsb_strdup(schedule)) == NULL) {
		entry_release(p);
		return DSB_ERR_NOMEM;
	}
	(*n)++;
	return 0;
}

/* entries_of(cfg, v, n): one entry per scheduled job and per repository with a prune-schedule. */
static int entries_of(const struct dsb_config *cfg, struct entry **v, size_t *n)
{
	size_t i;
	int r;

	for (i = 0; i < cfg->njobs; i++)
		if (cfg->jobs[i].schedule != NULL &&
		    (r = add_entry(v, n, ENTRY_JOB, cfg->jobs[i].name, cfg->jobs[i].schedule,
		    &cfg->jobs[i].cron, cfg->jobs[i].randomized_delay_sec)) != 0)
			return r;
	for (i = 0; i < cfg->nrepos; i++)
		if (cfg->repos[i].prune_schedule != NULL &&
		    (r = add_entry(v, n, ENTRY_PRUNE, cfg->repos[i].name, cfg->repos[i].prune_schedule,
		    &cfg->repos[i].prune_cron, 0)) != 0)
			return r;
	return 0;
}

static struct entry *find_entry(struct entry *v, size_t n, enum entry_kind kind, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].kind == kind && strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

static void print_problem(void *arg, const char *msg)
{
	(void)arg;
	dsb_log(DSB_LOG_ERROR, "%s", msg);
}

static void notify(const char *state)
{
	if (dsb_sd_notify(state) != 0)
		dsb_warn("%s", dsb_errmsg());
}

static void notify_status(const struct sched *s, const char *prefix)
{
	char msg[256];
	size_t i, running = 0;

	for (i = 0; i < s->n; i++)
		running += s->e[i].pid != 0;
	snprintf(msg, sizeof(msg), "%sSTATUS=%zu scheduled, %zu running%s", prefix, s->n, running,
	    s->stopping ? ", stopping" : "");
	notify(msg);
}

/*
 * reload(s, now): load the file again.  Entries whose schedule did not
 * change keep their next time; running children are kept track of even
 * when their entry is gone.
 */
static int reload(struct sched *s, int64_t now)
{
	struct dsb_config *cfg = NULL;
	struct entry *v = NULL, *old;
	size_t n = 0, i;
	int r;

	if ((r = dsb_config_load(s->o->config_path, &cfg, print_problem, NULL)) != 0 ||
	    (r = entries_of(cfg, &v, &n)) != 0) {
		if (s->cfg != NULL)
			dsb_log(DSB_LOG_ERROR, "scheduler: reload failed, keeping the configuration "
			    "loaded before: %s", dsb_errmsg());
		goto fail;
	}
	if ((r = dsb_jobs_apply_global(cfg, s->o->log_level_given)) != 0)
		goto fail;
	for (i = 0; i < s->n; i++) {
		struct entry *e;

		old = &s->e[i];
		e = find_entry(v, n, old->kind, old->name);

		if (e == NULL) {
			if (old->pid == 0)
				continue;
			if ((r = add_entry(&v, &n, old->kind, old->name, old->schedule, &old->cron,
			    0)) != 0)
				goto fail;
			e = &v[n - 1];
			e->configured = 0;
		} else if (strcmp(e->schedule, old->schedule) == 0 &&
		    e->delay_max == old->delay_max) {
			e->fire = old->fire;
			e->due = old->due;
		}
		e->pid = old->pid;
	}
	for (i = 0; i < s->n; i++)
		entry_release(&s->e[i]);
	free(s->e);
	dsb_config_free(s->cfg);
	s->cfg = cfg;
	s->e = v;
	s->n = n;
	for (i = 0; i < n; i++)
		if (v[i].configured && v[i].fire < 0)
			plan(s, &v[i], now);
	dsb_info("scheduler: configuration %s loaded: %zu scheduled", s->o->config_path, n);
	return 0;
fail:
	for (i = 0; i < n; i++)
		entry_release(&v[i]);
	free(v);
	dsb_config_free(cfg);
	return r;
}

static void child_exec(const struct sched *s, const struct entry *e)
{
	const char *argv[12];
	size_t n = 0;

	sigprocmask(SIG_SETMASK, &s->oldmask, NULL);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	argv[n++] = "dsbackup";
	argv[n++] = "--config";
	argv[n++] = s->o->config_path;
	if (s->o->quiet)
		argv[n++] = "--quiet";
	if (s->o->verbose)
		argv[n++] = "--verbose";
	if (e->kind == ENTRY_JOB) {
		argv[n++] = "backup";
		argv[n++] = "--job";
	} else {
		argv[n++] = "run";
		argv[n++] = "--prune";
	}
	argv[n++] = e->name;
	argv[n] = NULL;
	execv("/proc/self/exe", (char *const *)(uintptr_t)argv);
	fprintf(stderr, "dsbackup: error: scheduler: exec /proc/self/exe: %s\n", strerror(errno));
	_exit(127);
}

/* start(s, e, now): run ${e} now, unless it (or another process running it) is still busy. */
static void start(struct sched *s, struct entry *e, int64_t now)
{
	pid_t pid;

	if (e->pid != 0 || dsb_job_is_locked(e->kind == ENTRY_JOB ? "job" : "prune", e->name)) {
		dsb_warn("scheduler: %s %s is still running: skipping this run", kind_name(e),
		    e->name);
		advance(s, e, now);
		return;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		dsb_log(DSB_LOG_ERROR, "scheduler: %s %s: fork: %s", kind_name(e), e->name,
		    strerror(errno));
		advance(s, e, now);
		return;
	}
	if (pid == 0)
		child_exec(s, e);
	e->pid = pid;
	dsb_info("scheduler: %s %s started (pid %ld)", kind_name(e), e->name, (long)pid);
	advance(s, e, now);
}

static void reap(struct sched *s)
{
	size_t i, j;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < s->n && s->e[i].pid != pid; i++)
			;
		if (i == s->n)
			continue;
		if (WIFEXITED(status))
			dsb_log(WEXITSTATUS(status) == 0 ? DSB_LOG_INFO : DSB_LOG_WARN,
			    "scheduler: %s %s ended with exit code %d", kind_name(&s->e[i]),
			    s->e[i].name, WEXITSTATUS(status));
		else
			dsb_log(DSB_LOG_ERROR, "scheduler: %s %s was killed by signal %d",
			    kind_name(&s->e[i]), s->e[i].name, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		s->e[i].pid = 0;
		if (!s->e[i].configured) {
			entry_release(&s->e[i]);
			for (j = i + 1; j < s->n; j++)
				s->e[j - 1] = s->e[j];
			s->n--;
		}
	}
}

static size_t running(const struct sched *s)
{
	size_t i, k = 0;

	for (i = 0; i < s->n; i++)
		k += s->e[i].pid != 0;
	return k;
}

static void forward_term(struct sched *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (s->e[i].pid == 0)
			continue;
		dsb_info("scheduler: asking %s %s (pid %ld) to stop", kind_name(&s->e[i]),
		    s->e[i].name, (long)s->e[i].pid);
		kill(s->e[i].pid, SIGTERM);
	}
	s->forwarded = 1;
}

static void on_stop_signal(struct sched *s, int64_t now)
{
	if (s->stopping) {
		if (!s->forwarded)
			forward_term(s);
		return;
	}
	s->stopping = 1;
	s->stop_deadline = now + s->cfg->stop_timeout_sec;
	notify("STOPPING=1");
	if (running(s) > 0)
		dsb_info("scheduler: stopping after %zu running job(s) finish (at most %llds; a second "
		    "signal stops them now)", running(s), (long long)s->cfg->stop_timeout_sec);
}

static void watchdog_init(struct sched *s)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");

	if (usec == NULL || (pid != NULL && *pid != '\0' && strtol(pid, NULL, 10) != (long)getpid()))
		return;
	s->watchdog_usec = strtoll(usec, NULL, 10);
	clock_gettime(CLOCK_MONOTONIC, &s->next_ping);
}

/* watchdog(s): ping when it is time; the milliseconds until the next ping (-1: no watchdog). */
static int64_t watchdog(struct sched *s)
{
	struct timespec now;
	int64_t left;

	if (s->watchdog_usec <= 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	left = (s->next_ping.tv_sec - now.tv_sec) * 1000 + (s->next_ping.tv_nsec - now.tv_nsec) / 1000000;
	if (left <= 0) {
		notify("WATCHDOG=1");
		s->next_ping = now;
		s->next_ping.tv_sec += (time_t)(s->watchdog_usec / 2000000);
		s->next_ping.tv_nsec += (long)(s->watchdog_usec / 2 % 1000000) * 1000;
		if (s->next_ping.tv_nsec >= 1000000000L) {
			s->next_ping.tv_sec++;
			s->next_ping.tv_nsec -= 1000000000L;
		}
		left = s->watchdog_usec / 2000;
	}
	return left;
}

/* tick(s, now): start what is due; the milliseconds until something is next due. */
static int64_t tick(struct sched *s, int64_t now)
{
	int64_t wait = SCHED_MAX_SLEEP_SEC * 1000;
	size_t i;

	for (i = 0; i < s->n; i++) {
		struct entry *e = &s->e[i];

		if (!s->stopping && e->configured && e->due >= 0 && e->due <= now)
			start(s, e, now);
		if (e->configured && e->due >= 0 && (e->due - now) * 1000 < wait)
			wait = (e->due - now) * 1000;
	}
	if (s->stopping && !s->forwarded) {
		if (now >= s->stop_deadline)
			forward_term(s);
		else if ((s->stop_deadline - now) * 1000 < wait)
			wait = (s->stop_deadline - now) * 1000;
	}
	return wait < 0 ? 0 : wait;
}

static int loop(struct sched *s, const sigset_t *set)
{
	struct timespec ts;
	siginfo_t info;
	int64_t wait, ping, now;
	int sig;

	for (;;) {
		now = dsb_sched_clock();
		wait = tick(s, now);
		if (s->stopping && running(s) == 0)
			return 0;
		if ((ping = watchdog(s)) >= 0 && ping < wait)
			wait = ping;
		/* due times are whole seconds: wake just after one */
		ts.tv_sec = (time_t)(wait / 1000);
		ts.tv_nsec = (long)(wait % 1000) * 1000000L + (wait > 0 ? 1000000L : 0);
		sig = sigtimedwait(set, &info, &ts);
		now = dsb_sched_clock();
		switch (sig) {
		case SIGCHLD:
			reap(s);
			notify_status(s, "");
			break;
		case SIGHUP:
			notify("RELOADING=1");
			dsb_info("scheduler: SIGHUP: reloading %s", s->o->config_path);
			reload(s, now);
			notify_status(s, "READY=1\n");
			break;
		case SIGTERM:
		case SIGINT:
			dsb_info("scheduler: %s received", sig == SIGTERM ? "SIGTERM" : "SIGINT");
			on_stop_signal(s, now);
			break;
		default:
			if (sig < 0 && errno != EAGAIN && errno != EINTR)
				return dsb_error_errno(DSB_ERR_IO, errno, "sigtimedwait");
			break;
		}
	}
}

int dsb_sched_run(const struct dsb_sched_opts *o)
{
	struct sched s;
	sigset_t set;
	size_t i;
	int r;

	memset(&s, 0, sizeof(s));
	s.o = o;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, &s.oldmask) != 0)
		return dsb_error_errno(DSB_ERR_IO, errno, "sigprocmask");
	if ((r = reload(&s, dsb_sched_clock())) != 0)
		goto out;
	if (s.n == 0)
		dsb_warn("scheduler: no job has a schedule and no repository a prune-schedule in %s",
		    o->config_path);
	watchdog_init(&s);
	dsb_info("scheduler: started (pid %ld)", (long)getpid());
	notify_status(&s, "READY=1\n");
	r = loop(&s, &set);
	dsb_info("scheduler: stopped");
out:
	for (i = 0; i < s.n; i++)
		entry_release(&s.e[i]);
	free(s.e);
	dsb_config_free(s.cfg);
	sigprocmask(SIG_SETMASK, &s.oldmask, NULL);
	return r;
}
