/*
 * docker_internal.h: what the Docker source files share: settings, the
 * state file of stopped containers, quiescing the containers of a volume,
 * and where Docker keeps things on the host.
 */
#ifndef DSB_SOURCES_DOCKER_INTERNAL_H
#define DSB_SOURCES_DOCKER_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

#include "docker_api.h"

/* ---- settings (docker_env.c) ---- */

/* docker_env_interrupted(): non-zero once a signal asked the program to stop. */
int docker_env_interrupted(void);
/* docker_env_state_dir(): where the state file lives, or NULL. */
const char *docker_env_state_dir(void);
/* docker_config_dir(): $DSBACKUP_DOCKER_CONFIG_DIR or /etc/docker. */
const char *docker_config_dir(void);
/* docker_systemd_dir(): $DSBACKUP_SYSTEMD_DIR or /etc/systemd/system. */
const char *docker_systemd_dir(void);
/* docker_data_root(): "data-root" of daemon.json, else /var/lib/docker (malloc'd). */
char *docker_data_root(void);
/* docker_exec_timeout(labels): the exec-timeout label, else $DSBACKUP_EXEC_TIMEOUT, else 300 s. */
long docker_exec_timeout(json_t *labels);
/* docker_label_true(labels, name): the label "<prefix>.<name>" is "true" (or "1", "yes"). */
int docker_label_true(json_t *labels, const char *name);
/* docker_label_value(labels, name): the value of "<prefix>.<name>", or NULL. */
const char *docker_label_value(json_t *labels, const char *name);

/* docker_strv_add(v, n, s): append a copy of ${s} to a string vector. */
int docker_strv_add(char ***v, size_t *n, const char *s);
/* docker_strv_free(v, n) */
void docker_strv_free(char **v, size_t n);
/* docker_meta_set(src, meta): src->meta = the compact text of ${meta} (decref'd). */
struct dsb_source;
int docker_meta_set(struct dsb_source *src, json_t *meta);

/* docker_volume_names(v, n): every volume (sorted); without an engine, those under the data root. */
int docker_volume_names(char ***v, size_t *n);
/* docker_compose_projects(v, n): the compose projects of the containers (sorted); none without an engine. */
int docker_compose_projects(char ***v, size_t *n);
/*
 * docker_compose_volumes(containers, volumes, names): add to the array
 * ${names} (no duplicates) the volumes mounted by ${containers} (a
 * container listing) and those of ${volumes} (the answer of GET /volumes);
 * either may be NULL or of any shape.  0 or DSB_ERR_NOMEM.
 */
int docker_compose_volumes(json_t *containers, json_t *volumes, json_t *names);
/* docker_daemon_present(), docker_trust_present(): there is material for "daemon", "trust". */
int docker_daemon_present(void);
int docker_trust_present(void);

/* ---- the state file (docker_state.c): containers stopped or paused by a live run ---- */

/*
 * docker_state_add(host, id, name, action): record, durably (fsync), that
 * this process is about to ${action} ("stop" or "pause") container ${id}.
 * Called BEFORE acting, so a run killed in between is repaired by the next.
 */
int docker_state_add(const char *host, const char *id, const char *name, const char *action);
/* docker_state_remove(host, id): this process has undone what it recorded for ${id}. */
int docker_state_remove(const char *host, const char *id);

/* ---- quiescing the containers of a volume (docker_quiesce.c) ---- */

struct docker_quiesce {
	struct dsb_docker *d;
	json_t *held;   /* [{"id", "name", "action"}]: containers stopped or paused, in order */
	json_t *post;   /* [{"id", "name", "cmd", "timeout"}]: exec-post hooks to run */
};

/*
 * docker_quiesce_volume(d, volume, everything, q): for the containers using
 * ${volume}: stop those labelled <prefix>.stop=true, run the exec-pre
 * hooks, pause those labelled <prefix>.pause=true.  With ${everything}
 * (a restore with --force), stop every running container using it and run
 * no hook.  Whatever was done is recorded in ${q} (initialised to zero),
 * also on failure: docker_resume must be called in any case.
 */
int docker_quiesce_volume(struct dsb_docker *d, const char *volume, int everything,
    struct docker_quiesce *q);
/*
 * docker_resume(q): unpause, run the exec-post hooks, start what was
 * stopped; tries everything, returns the first error.  Releases ${q}.
 */
int docker_resume(struct docker_quiesce *q);

/* docker_run_hook(d, id, name, which, cmd, timeout): run one exec hook; a non-zero exit is an error with the output logged. */
int docker_run_hook(struct dsb_docker *d, const char *id, const char *name, const char *which,
    const char *cmd, long timeout);

/*
 * docker_exec_kill(d, eid): kill the process tree of exec ${eid} (a hook
 * past its timeout) from the host and wait until the engine says it ended.
 * 0 (also if it had ended); DSB_ERR_USAGE for an engine not on a local
 * socket; else an error naming what failed.
 */
int docker_exec_kill(struct dsb_docker *d, const char *eid);

#endif
