/*
 * progress.h: progress of a long operation (backup, restore, check, prune)
 * for the operator watching it.  One process-wide reporter: the operation
 * counts with the one-line calls below (atomic counters, callable from any
 * thread, no-ops while no reporter runs), and a reporter thread shows them:
 *
 *   DSB_PROGRESS_TTY   one line on stderr redrawn in place ("\r", clear to
 *                      end of line) 4 times a second: files and bytes done,
 *                      rate, percent and ETA when the total is known, the
 *                      current path;
 *   DSB_PROGRESS_JSON  one line per second on stdout, restic's --json shape:
 *                      {"message_type":"status", "action", "seconds_elapsed",
 *                      "seconds_remaining" (when known), "percent_done",
 *                      "total_files", "files_done", "total_bytes",
 *                      "bytes_done", "current_files": [path]}.
 *
 * The final summary is the command's own output, not the reporter's.
 */
#ifndef DSBACKUP_PROGRESS_H
#define DSBACKUP_PROGRESS_H

#include <stdint.h>

enum dsb_progress_mode {
	DSB_PROGRESS_OFF = 0,
	DSB_PROGRESS_TTY,
	DSB_PROGRESS_JSON
};

/*
 * dsb_progress_mode_for(json, quiet): the mode a command uses: OFF with
 * ${quiet} or when stderr is not a terminal (scripts, the scheduler, the
 * journal); else JSON with ${json}, else TTY.
 */
int dsb_progress_mode_for(int json, int quiet);

/*
 * dsb_progress_start(action, mode): reset the counters and start the
 * reporter thread for ${action} ("backup", "restore", ...; a static
 * string).  0, or DSB_ERR_INTERNAL when a reporter already runs or the
 * thread cannot start (the operation then runs without progress).  OFF
 * starts nothing and returns 0.
 */
int dsb_progress_start(const char *action, int mode);

/*
 * dsb_progress_stop(): stop the reporter: TTY clears its line, JSON prints a
 * last status line (so that every run has one).  Nothing when none runs.
 */
void dsb_progress_stop(void);

/* dsb_progress_set_total(files, bytes): the totals when known (0: unknown), for percent and ETA. */
void dsb_progress_set_total(uint64_t files, uint64_t bytes);

/* dsb_progress_file(path): one more file (or item) started; ${path} becomes the current one. */
void dsb_progress_file(const char *path);

/* dsb_progress_bytes(n): ${n} more bytes done. */
void dsb_progress_bytes(uint64_t n);

#endif
