/*
 * job_hooks.c: pre-hook and post-hook commands, each run with /bin/sh -c,
 * its standard output sent to standard error (so that --json output stays
 * clean), with DSBACKUP_JOB, DSBACKUP_RUN_ID, DSBACKUP_HOOK (pre or post)
 * and, for post-hooks, DSBACKUP_RESULT (the exit code so far) set.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dsbackup/engine.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "jobs_internal.h"

/* child_exec(run, phase, cmd): in the child; never returns. */
static void child_exec(const struct job_run *run, const char *phase, const char *cmd)
{
	char result[16];
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	snprintf(result, sizeof(result), "%d", dsb_exit_code(run->r));
	if (setenv("DSBACKUP_JOB", run->job->name, 1) != 0 ||
	    setenv("DSBACKUP_RUN_ID", run->run_id, 1) != 0 ||
	    setenv("DSBACKUP_HOOK", phase, 1) != 0 ||
	    (strcmp(phase, "post") == 0 && setenv("DSBACKUP_RESULT", result, 1) != 0))
		_exit(127);
	if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		_exit(127);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

static int run_one(struct job_run *run, const char *phase, const char *cmd)
{
	pid_t pid, w;
	int status, stopped = 0;

	dsb_info("job %s: %s-hook: %s", run->job->name, phase, cmd);
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0)
		return dsb_error_errno(DSB_ERR_IO, errno, "%s-hook: fork", phase);
	if (pid == 0)
		child_exec(run, phase, cmd);
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
		if (dsb_interrupted && !stopped) {
			kill(pid, SIGTERM);   /* the run is being stopped: so is its hook */
			stopped = 1;
		}
	}
	if (w < 0)
		return dsb_error_errno(DSB_ERR_IO, errno, "%s-hook: waitpid", phase);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return dsb_error(DSB_ERR_IO, "%s-hook \"%s\" exited with status %d", phase, cmd,
		    WEXITSTATUS(status));
	return dsb_error(DSB_ERR_IO, "%s-hook \"%s\" was killed by signal %d", phase, cmd,
	    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int job_run_hooks(struct job_run *run, const char *phase, const struct dsb_strlist *hooks)
{
	size_t i;
	int r;

	for (i = 0; i < hooks->n; i++) {
		if ((r = run_one(run, phase, hooks->v[i])) != 0) {
			job_fail(run, NULL, r, NULL);
			return r;
		}
	}
	return 0;
}
