/*
 * docker_state.c: $STATE/docker-stopped.json, the containers that running
 * dsbackup processes have stopped or paused:
 *   {"version": 1, "entries": [{"pid": 123, "start": "456", "host": "unix:///...",
 *    "id": "<container id>", "name": "db", "action": "stop"}]}
 * An entry is written (and fsync'd) before the container is stopped and
 * removed once it runs again, so a run killed in between leaves it behind;
 * the next run finds its process gone and starts the container again.
 * "start" is the process start time from /proc, so a reused pid is not
 * taken for the dead run.  Every change happens under flock on
 * docker-stopped.lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "docker_internal.h"
#include "dsbackup/docker.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"

#define STATE_FILE "docker-stopped.json"
#define LOCK_FILE "docker-stopped.lock"
#define STATE_MAX (1u << 20)

/* proc_start(pid, out): the start time of ${pid} (field 22 of /proc/PID/stat), "" when unknown */
static void proc_start(pid_t pid, char out[32])
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, field;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: count from the last ")" (field 2) */
	if ((p = strrchr(buf, ')')) == NULL)
		return;
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p != NULL)
		snprintf(out, 32, "%.*s", (int)strcspn(p + 1, " "), p + 1);
}

static int process_alive(json_t *e)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(e, "pid"));
	const char *start = json_string_value(json_object_get(e, "start"));
	char now[32];

	if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
		return 0;
	proc_start(pid, now);
	return start == NULL || now[0] == '\0' || strcmp(start, now) == 0;
}

static char *state_path(const char *name)
{
	return dsb_asprintf("%s/%s", docker_env_state_dir(), name);
}

static int state_lock(int *fd)
{
	char *path;
	int r;

	if ((r = dsb_mkdir_p(docker_env_state_dir(), 0700)) != 0)
		return r;
	if ((path = state_path(LOCK_FILE)) == NULL)
		return DSB_ERR_NOMEM;
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0 || flock(*fd, LOCK_EX) != 0) {
		r = dsb_error_errno(DSB_ERR_IO, errno, "locking %s", path);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
	free(path);
	return r;
}

/* state_load(out): the entries array (new reference; empty when there is no file) */
static int state_load(json_t **out)
{
	char *path = state_path(STATE_FILE);
	struct dsb_buf b;
	json_t *j = NULL, *entries;
	int r;

	*out = NULL;
	if (path == NULL)
		return DSB_ERR_NOMEM;
	dsb_buf_init(&b, STATE_MAX);
	r = dsb_read_file(path, STATE_MAX, &b);
	if (r == DSB_ERR_NOT_FOUND || (r == DSB_ERR_IO && access(path, F_OK) != 0)) {
		dsb_error_clear();
		*out = json_array();
		r = 0;
		goto out;
	}
	if (r != 0)
		goto out;
	j = json_loadb((const char *)b.data, b.len, 0, NULL);
	entries = json_object_get(j, "entries");
	if (!json_is_array(entries)) {
		dsb_warn("%s is damaged; ignoring it (containers it named may need a manual start)", path);
		*out = json_array();
	} else {
		*out = json_incref(entries);
	}
out:
	json_decref(j);
	dsb_buf_release(&b);
	free(path);
	return *out == NULL && r == 0 ? DSB_ERR_NOMEM : r;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return dsb_error_errno(DSB_ERR_IO, errno, "opening %s", dir);
	if (fsync(fd) != 0 && errno != EINVAL)
		r = dsb_error_errno(DSB_ERR_IO, errno, "syncing %s", dir);
	close(fd);
	return r;
}

/* state_save(entries): replace the file atomically and durably; no entries: remove it */
static int state_save(json_t *entries)
{
	char *path = state_path(STATE_FILE), *tmp = state_path(STATE_FILE ".tmp"), *text = NULL;
	json_t *j = NULL;
	int fd = -1, r = 0;

	if (path == NULL || tmp == NULL) {
		r = DSB_ERR_NOMEM;
		goto out;
	}
	if (json_array_size(entries) == 0) {
		if (unlink(path) != 0 && errno != ENOENT)
			r = dsb_error_errno(DSB_ERR_IO, errno, "removing %s", path);
		else
			r = sync_dir(docker_env_state_dir());
		goto out;
	}
	j = json_pack("{s:i, s:O}", "version", 1, "entries", entries);
	if (j == NULL || (text = json_dumps(j, JSON_INDENT(1))) == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		r = dsb_error_errno(DSB_ERR_IO, errno, "creating %s", tmp);
		goto out;
	}
	if ((r = dsb_write_all(fd, text, strlen(text), tmp)) != 0)
		goto out;
	if (fsync(fd) != 0) {
		r = dsb_error_errno(DSB_ERR_IO, errno, "syncing %s", tmp);
		goto out;
	}
	if (rename(tmp, path) != 0) {
		r = dsb_error_errno(DSB_ERR_IO, errno, "renaming %s", tmp);
		goto out;
	}
	r = sync_dir(docker_env_state_dir());
out:
	if (fd >= 0)
		close(fd);
	json_decref(j);
	free(text);
	free(path);
	free(tmp);
	return r;
}

/* modify(fn, arg): load, change, save, under the lock */
static int modify(int (*fn)(json_t *entries, void *arg), void *arg)
{
	json_t *entries = NULL;
	int fd = -1, r;

	if (docker_env_state_dir() == NULL)
		return 0;
	if ((r = state_lock(&fd)) != 0)
		return r;
	if ((r = state_load(&entries)) == 0 && (r = fn(entries, arg)) == 0)
		r = state_save(entries);
	json_decref(entries);
	close(fd);
	return r;
}

struct entry_arg {
	const char *host, *id, *name, *action;
};

static int add_entry(json_t *entries, void *arg)
{
	struct entry_arg *a = arg;
	char start[32];
	json_t *e;

	proc_start(getpid(), start);
	e = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "pid", (json_int_t)getpid(), "start", start,
	    "host", a->host, "id", a->id, "name", a->name, "action", a->action);
	if (e == NULL || json_array_append_new(entries, e) != 0)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	return 0;
}

static int same_entry(json_t *e, const char *host, const char *id)
{
	const char *h = json_string_value(json_object_get(e, "host"));
	const char *i = json_string_value(json_object_get(e, "id"));

	return h != NULL && i != NULL && strcmp(h, host) == 0 && strcmp(i, id) == 0;
}

static int remove_entry(json_t *entries, void *arg)
{
	struct entry_arg *a = arg;
	size_t i;

	for (i = json_array_size(entries); i-- > 0;) {
		json_t *e = json_array_get(entries, i);

		if (json_integer_value(json_object_get(e, "pid")) == (json_int_t)getpid() &&
		    same_entry(e, a->host, a->id)) {
			json_array_remove(entries, i);
			break;
		}
	}
	return 0;
}

int docker_state_add(const char *host, const char *id, const char *name, const char *action)
{
	struct entry_arg a = { host, id, name, action };
	int r = modify(add_entry, &a);

	return r != 0 ? dsb_error_wrap(r, "recording that container %s is to be %s", name,
	    strcmp(action, "stop") == 0 ? "stopped" : "paused") : 0;
}

int docker_state_remove(const char *host, const char *id)
{
	struct entry_arg a = { host, id, NULL, NULL };

	return modify(remove_entry, &a);
}

/* ---- recovery ---- */

/* undo(e): start or unpause the container of a dead run's entry; 0 when done or moot */
static int undo(json_t *e)
{
	const char *host = json_string_value(json_object_get(e, "host"));
	const char *id = json_string_value(json_object_get(e, "id"));
	const char *name = json_string_value(json_object_get(e, "name"));
	const char *action = json_string_value(json_object_get(e, "action"));
	struct dsb_docker *d = NULL;
	json_t *c = NULL, *state;
	char *path = NULL;
	int r, pause;

	if (host == NULL || id == NULL || action == NULL)
		return 0;   /* not ours to understand: dropped */
	pause = strcmp(action, "pause") == 0;
	if ((r = dsb_docker_open_host(host, &d)) != 0 || (path = dsb_asprintf("/containers/%s/json", id)) == NULL)
		goto out;
	if ((r = dsb_docker_get(d, path, &c)) == DSB_ERR_NOT_FOUND) {
		dsb_error_clear();
		r = 0;   /* removed since: nothing to do */
		goto out;
	}
	if (r != 0)
		goto out;
	state = json_object_get(c, "State");
	if (pause ? json_is_true(json_object_get(state, "Paused")) :
	    !json_is_true(json_object_get(state, "Running"))) {
		if ((r = dsb_docker_container_action(d, id, pause ? "unpause" : "start")) != 0)
			goto out;
		dsb_log(DSB_LOG_WARN, "container %s was left %s by dsbackup process %lld, which is gone: "
		    "%s it again", name != NULL ? name : id, pause ? "paused" : "stopped",
		    (long long)json_integer_value(json_object_get(e, "pid")), pause ? "unpaused" : "started");
	}
out:
	if (r != 0)
		dsb_log(DSB_LOG_ERROR, "cannot restart container %s that a dead dsbackup run left %s: %s",
		    name != NULL ? name : id, pause ? "paused" : "stopped", dsb_errmsg());
	json_decref(c);
	free(path);
	dsb_docker_free(d);
	return r;
}

static int recover_entries(json_t *entries, void *arg)
{
	int *failed = arg;
	size_t i;

	for (i = json_array_size(entries); i-- > 0;) {
		json_t *e = json_array_get(entries, i);

		if (process_alive(e))
			continue;
		if (undo(e) == 0)
			json_array_remove(entries, i);
		else
			(*failed)++;
	}
	return 0;
}

int dsb_docker_recover(void)
{
	char *path;
	int failed = 0, r;

	if (docker_env_state_dir() == NULL)
		return 0;
	if ((path = state_path(STATE_FILE)) == NULL)
		return DSB_ERR_NOMEM;
	r = access(path, F_OK);
	free(path);
	if (r != 0)
		return 0;   /* the usual case: no file, no engine contacted */
	if ((r = modify(recover_entries, &failed)) != 0)
		return r;
	if (failed > 0)
		return dsb_error(DSB_ERR_IO, "%d container(s) left stopped by a dead dsbackup run could "
		    "not be started again (see above)", failed);
	return 0;
}
