/*
 * docker.h: what the engine uses of the Docker sources (src/sources/
 * docker_*.c, source_volume.c, source_compose.c, source_daemon.c,
 * source_trust.c) beyond the source ops: setup, recovery after a run that
 * died with containers stopped, the list of every Docker source of a host
 * (--docker), and the engine-side steps of a volume restore.
 * docs/DOCKER.md describes the behaviour.
 */
#ifndef DSBACKUP_DOCKER_H
#define DSBACKUP_DOCKER_H

#include <signal.h>
#include <stddef.h>

extern const struct dsb_source_ops dsb_source_volume;
extern const struct dsb_source_ops dsb_source_compose;
extern const struct dsb_source_ops dsb_source_daemon;
extern const struct dsb_source_ops dsb_source_trust;

struct dsb_docker_env {
	const char *state_dir;                /* holds docker-stopped.json; NULL: nothing recorded */
	volatile sig_atomic_t *interrupted;   /* non-zero: stop waiting for exec hooks */
};

/* dsb_docker_setup(env): settings for what follows (copied). */
int dsb_docker_setup(const struct dsb_docker_env *env);
/* dsb_docker_cleanup(): free what setup copied. */
void dsb_docker_cleanup(void);

/* dsb_docker_label(name): "<prefix>.<name>", prefix from DSBACKUP_LABEL_PREFIX (default "dsbackup"); static storage, one at a time. */
const char *dsb_docker_label(const char *name);

/*
 * dsb_docker_recover(): restart (or unpause) the containers that runs which
 * are gone left stopped (or paused), as recorded in the state file, and
 * drop them from it.  0 when nothing is left to do; otherwise an error
 * after trying every entry (entries that failed stay recorded).
 */
int dsb_docker_recover(void);

/*
 * dsb_docker_specs(specs, n): every Docker source of this host, for
 * --docker: "volume:NAME" for each volume, "compose:PROJECT" for each
 * project, "daemon" and "trust" when there is such material.  Without an
 * engine, the volumes found under the data root (with a warning).
 */
int dsb_docker_specs(char ***specs, size_t *n);
void dsb_docker_free_specs(char **specs, size_t n);

/* ---- volume restore ---- */

struct dsb_docker_volume_restore;

/*
 * dsb_docker_volume_probe(name, exists, users, nonempty): whether volume
 * ${name} exists, the names of the containers using it (malloc'd, comma
 * separated, NULL when none) and whether it holds files.
 */
int dsb_docker_volume_probe(const char *name, int *exists, char **users, int *nonempty);

/*
 * dsb_docker_volume_restore_begin(meta, name, force, mountpoint, out):
 * prepare volume ${name} to receive a snapshot of the volume described by
 * ${meta} (the snapshot's "source_meta" JSON): create it through the API
 * with the recorded driver, options and labels when it does not exist;
 * refuse (DSB_ERR_EXISTS) when it is used by a container or not empty,
 * unless ${force}: then stop its running containers (recorded in the state
 * file) and empty it.  *mountpoint (malloc'd): where its content goes.
 */
int dsb_docker_volume_restore_begin(const char *meta, const char *name, int force,
    char **mountpoint, struct dsb_docker_volume_restore **out);
/* dsb_docker_volume_restore_end(vr): start again what begin stopped, and free ${vr} (NULL: nothing). */
int dsb_docker_volume_restore_end(struct dsb_docker_volume_restore *vr);

#endif
