/*
 * sched.h: the scheduler daemon ("dsbackup run") and sd_notify.
 *
 * The daemon starts each job on its schedule as a child process,
 * "/proc/self/exe --config FILE backup --job NAME" (and "run --prune REPO"
 * for a repository's prune-schedule), so that a crash or a leak in one run
 * cannot take the daemon down, every run starts from a clean process, and
 * a run behaves exactly like one started by a systemd timer.
 */
#ifndef DSBACKUP_SCHED_H
#define DSBACKUP_SCHED_H

struct dsb_sched_opts {
	const char *config_path;   /* the file to load, and to hand to the children */
	int log_level_given;       /* -q or -v was given: [global] log-level does not apply */
	int quiet, verbose;        /* passed on to the children */
};

/*
 * dsb_sched_run(o): load the configuration and run the jobs on their
 * schedules until SIGTERM or SIGINT.
 *  - catch-up: a job whose scheduled time passed since its last run
 *    (<state>/jobs/NAME.last) while the daemon was not running runs once
 *    at start (and after a reload); a job never run before starts counting
 *    from now;
 *  - a job still running when its next time comes is not started again
 *    (nor when another process holds its lock);
 *  - SIGHUP reloads the file (a broken file is reported and the old one
 *    kept); running jobs go on;
 *  - SIGTERM/SIGINT: no new runs; running ones may finish for up to
 *    [global] stop-timeout, then get SIGTERM (they stop cleanly: sources
 *    restored, locks released); a second signal forwards it at once.
 * Talks to systemd with READY=1, RELOADING=1, STOPPING=1, STATUS= and,
 * when $WATCHDOG_USEC is set, WATCHDOG=1 at half that interval.
 * Returns 0 after a clean stop, or an error when the file cannot be loaded
 * at start.
 */
int dsb_sched_run(const struct dsb_sched_opts *o);

/*
 * dsb_sd_notify(state): send ${state} ("READY=1\nSTATUS=...") to the
 * datagram socket $NOTIFY_SOCKET (a path, or "@name" for an abstract
 * socket).  0 when sent or when the variable is unset; DSB_ERR_IO.
 */
int dsb_sd_notify(const char *state);

#endif
