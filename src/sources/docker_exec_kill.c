/*
 * docker_exec_kill.c: end a hook that outlived its timeout.  The exec API
 * can start a process in a container but not stop it; GET /exec/ID/json
 * gives its pid on the host, though, and on a local engine (a unix socket:
 * dsbackup runs beside it, as root, to read the volumes) that process and
 * every process below it are killed from here.  The whole tree is
 * collected before the first signal, since a killed shell's children would
 * be adopted by the container's init and lost from view.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "docker_api.h"
#include "docker_internal.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"

#define KILL_MAX_PIDS 4096
#define KILL_WAIT_MS 5000

/* parent_of(pid): the parent pid from /proc/PID/stat, or -1. */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	long ppid = -1;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 1, " %*c %ld", &ppid) != 1)
		return -1;
	return (pid_t)ppid;
}

/* process_tree(root, pids, n): ${root} and all its descendants now. */
static int process_tree(pid_t root, pid_t *pids, size_t *n)
{
	struct dirent *e;
	DIR *dir;
	size_t i;
	int grew = 1;

	pids[0] = root;
	*n = 1;
	while (grew) {   /* again until a pass adds nothing: /proc is not in tree order */
		grew = 0;
		if ((dir = opendir("/proc")) == NULL)
			return dsb_error_errno(DSB_ERR_IO, errno, "reading /proc");
		while ((e = readdir(dir)) != NULL && *n < KILL_MAX_PIDS) {
			pid_t pid = (pid_t)strtol(e->d_name, NULL, 10), pp;
			int known = 0;

			if (pid <= 0 || (pp = parent_of(pid)) <= 0)
				continue;
			for (i = 0; i < *n && !known; i++)
				known = pids[i] == pid;
			for (i = 0; i < *n && !known; i++) {
				if (pids[i] == pp) {
					pids[(*n)++] = pid;
					grew = 1;
					break;
				}
			}
		}
		closedir(dir);
	}
	return 0;
}

/* exec_running(d, path, pid): 1 if GET ${path} says Running, 0 if not, else an error. */
static int exec_running(struct dsb_docker *d, const char *path, long *pid)
{
	json_t *info = NULL;
	int r;

	if ((r = dsb_docker_get(d, path, &info)) != 0)
		return r;
	*pid = (long)json_integer_value(json_object_get(info, "Pid"));
	r = json_is_true(json_object_get(info, "Running"));
	json_decref(info);
	return r;
}

int docker_exec_kill(struct dsb_docker *d, const char *eid)
{
	pid_t pids[KILL_MAX_PIDS];
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	char *path = NULL;
	long pid = 0;
	size_t i, n = 0;
	int r, waited;

	if (strncmp(dsb_docker_host(d), "unix://", 7) != 0)
		return dsb_error(DSB_ERR_USAGE, "the engine at %s is not on this host: the command "
		    "cannot be killed from here; stop it in the container", dsb_docker_host(d));
	if ((path = dsb_asprintf("/exec/%s/json", eid)) == NULL)
		return DSB_ERR_NOMEM;
	if ((r = exec_running(d, path, &pid)) <= 0)
		goto out;
	if (pid <= 1) {
		r = dsb_error(DSB_ERR_BACKEND, "the engine gives no process id for exec %.12s", eid);
		goto out;
	}
	if ((r = process_tree((pid_t)pid, pids, &n)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (kill(pids[i], SIGKILL) != 0 && errno != ESRCH) {
			r = dsb_error_errno(DSB_ERR_IO, errno, "killing process %ld of exec %.12s",
			    (long)pids[i], eid);
			goto out;
		}
	}
	dsb_debug("exec %.12s: killed process %ld and %zu below it", eid, pid, n - 1);
	for (waited = 0; waited < KILL_WAIT_MS; waited += 100) {
		if ((r = exec_running(d, path, &pid)) <= 0)
			goto out;
		nanosleep(&ts, NULL);
	}
	r = dsb_error(DSB_ERR_IO, "exec %.12s still runs %d s after it was killed", eid,
	    KILL_WAIT_MS / 1000);
out:
	free(path);
	return r;
}
