/*
 * docker_quiesce.c: make a volume's data consistent for its snapshot, and
 * undo it.  Before: stop the containers labelled <prefix>.stop=true, run
 * the <prefix>.exec-pre hooks of the running ones, pause those labelled
 * <prefix>.pause=true.  After, in reverse: unpause, run the exec-post
 * hooks, start what was stopped.  Each stop and pause is recorded in the
 * state file first (docker_state.c).
 */
#include <stdlib.h>
#include <string.h>

#include "docker_internal.h"
#include "dsbackup/docker.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"

int docker_run_hook(struct dsb_docker *d, const char *id, const char *name, const char *which,
    const char *cmd, long timeout)
{
	char *output = NULL;
	long code = -1;
	int r;

	dsb_info("container %s: running its %s hook: %s", name, which, cmd);
	r = dsb_docker_exec(d, id, cmd, timeout, &code, &output);
	if (output != NULL)   /* the log line ends here, not after a blank line */
		for (size_t n = strlen(output); n > 0 && output[n - 1] == '\n'; n--)
			output[n - 1] = '\0';
	if (r == 0 && code != 0)
		r = dsb_error(DSB_ERR_IO, "the %s hook of container %s (%s) failed with exit code %ld%s%s",
		    which, name, cmd, code, output != NULL && output[0] ? "; its output:\n" : " and no output",
		    output != NULL ? output : "");
	else if (r != 0)
		r = dsb_error_wrap(r, "the %s hook of container %s", which, name);
	else if (output != NULL && output[0] != '\0')
		dsb_debug("container %s: %s hook output:\n%s", name, which, output);
	free(output);
	return r;
}

static int stop_one(struct docker_quiesce *q, json_t *c, const char *action)
{
	const char *id = json_string_value(json_object_get(c, "Id"));
	const char *name = dsb_docker_container_name(c);
	json_t *h;
	int r, pause = strcmp(action, "pause") == 0;

	if (id == NULL)
		return dsb_error(DSB_ERR_CORRUPT, "docker: a container without an Id");
	if ((r = docker_state_add(dsb_docker_host(q->d), id, name, action)) != 0)
		return r;
	/* held first: resume undoes it even if the call half-worked */
	h = json_pack("{s:s, s:s, s:s}", "id", id, "name", name, "action", action);
	if (h == NULL || json_array_append_new(q->held, h) != 0)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	dsb_info("container %s: %s for the snapshot", name, pause ? "pausing" : "stopping");
	if ((r = dsb_docker_container_action(q->d, id, action)) != 0)
		return dsb_error_wrap(r, "cannot %s container %s", action, name);
	return 0;
}

static int is_running(json_t *c)
{
	const char *state = json_string_value(json_object_get(c, "State"));

	return state != NULL && strcmp(state, "running") == 0;
}

static int add_post(struct docker_quiesce *q, json_t *c)
{
	json_t *labels = json_object_get(c, "Labels");
	const char *cmd = docker_label_value(labels, "exec-post");
	json_t *h;

	if (cmd == NULL)
		return 0;
	h = json_pack("{s:s, s:s, s:s, s:I}", "id", json_string_value(json_object_get(c, "Id")),
	    "name", dsb_docker_container_name(c), "cmd", cmd,
	    "timeout", (json_int_t)docker_exec_timeout(labels));
	if (h == NULL || json_array_append_new(q->post, h) != 0)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	return 0;
}

int docker_quiesce_volume(struct dsb_docker *d, const char *volume, int everything,
    struct docker_quiesce *q)
{
	json_t *list = NULL, *c, *labels;
	const char *cmd;
	size_t i;
	int r;

	q->d = d;
	if ((q->post = json_array()) == NULL || (q->held = json_array()) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	if ((r = dsb_docker_list_containers(d, "volume", volume, &list)) != 0)
		return r;
	/* 1. stop */
	json_array_foreach(list, i, c) {
		labels = json_object_get(c, "Labels");
		if (is_running(c) && (everything || docker_label_true(labels, "stop")) &&
		    (r = stop_one(q, c, "stop")) != 0)
			goto out;
	}
	if (everything)
		goto out;
	/* 2. exec-pre, in the containers still running */
	json_array_foreach(list, i, c) {
		labels = json_object_get(c, "Labels");
		if (!is_running(c) || docker_label_true(labels, "stop"))
			continue;
		if ((cmd = docker_label_value(labels, "exec-pre")) != NULL &&
		    (r = docker_run_hook(d, json_string_value(json_object_get(c, "Id")),
		    dsb_docker_container_name(c), "exec-pre", cmd, docker_exec_timeout(labels))) != 0)
			goto out;
		if ((r = add_post(q, c)) != 0)
			goto out;
	}
	/* 3. pause */
	json_array_foreach(list, i, c) {
		labels = json_object_get(c, "Labels");
		if (is_running(c) && !docker_label_true(labels, "stop") &&
		    docker_label_true(labels, "pause") && (r = stop_one(q, c, "pause")) != 0)
			goto out;
	}
out:
	json_decref(list);
	return r;
}

/* undo_one(q, id, name, action): unpause or start, then drop the state entry; the error is logged */
static int undo_one(struct docker_quiesce *q, const char *id, const char *name, const char *action)
{
	int r;

	dsb_info("container %s: %s", name, strcmp(action, "start") == 0 ? "starting it again" :
	    "unpausing it");
	if ((r = dsb_docker_container_action(q->d, id, action)) != 0) {
		dsb_log(DSB_LOG_ERROR, "cannot %s container %s: %s (it stays recorded in the state "
		    "file: the next run tries again)", action, name, dsb_errmsg());
		return r;
	}
	if ((r = docker_state_remove(dsb_docker_host(q->d), id)) != 0)
		dsb_warn("container %s runs again, but the state file still names it: %s", name,
		    dsb_errmsg());
	return 0;
}

static void keep_first(int r, int *first, char **msg)
{
	if (r != 0 && *first == 0) {
		*first = r;
		*msg = dsb_strdup(dsb_errmsg());
	}
}

static void undo_held(struct docker_quiesce *q, const char *which, int *first, char **msg)
{
	json_t *h;
	size_t i;

	for (i = json_array_size(q->held); i-- > 0;) {
		h = json_array_get(q->held, i);
		if (strcmp(json_string_value(json_object_get(h, "action")), which) == 0)
			keep_first(undo_one(q, json_string_value(json_object_get(h, "id")),
			    json_string_value(json_object_get(h, "name")),
			    strcmp(which, "pause") == 0 ? "unpause" : "start"), first, msg);
	}
}

int docker_resume(struct docker_quiesce *q)
{
	json_t *h;
	size_t i;
	int r, first = 0;
	char *msg = NULL;

	undo_held(q, "pause", &first, &msg);
	json_array_foreach(q->post, i, h) {
		r = docker_run_hook(q->d, json_string_value(json_object_get(h, "id")),
		    json_string_value(json_object_get(h, "name")), "exec-post",
		    json_string_value(json_object_get(h, "cmd")),
		    (long)json_integer_value(json_object_get(h, "timeout")));
		if (r != 0)
			dsb_log(DSB_LOG_ERROR, "%s", dsb_errmsg());
		keep_first(r, &first, &msg);
	}
	undo_held(q, "stop", &first, &msg);
	json_decref(q->held);
	json_decref(q->post);
	memset(q, 0, sizeof(*q));
	if (first != 0)
		dsb_error(first, "%s", msg != NULL ? msg : "restarting containers failed");
	free(msg);
	return first;
}
