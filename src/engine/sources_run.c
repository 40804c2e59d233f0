/*
 * sources_run.c: "backup --source SPEC... / --docker": one snapshot per
 * source, sharing a run id.  Each source is opened, prepared (before: stop,
 * pause, exec hooks), backed up, and put back (after) on every path out:
 * success, failure, or a signal (the engine then returns
 * DSB_ERR_INTERRUPTED and after() still runs).
 */
#include <stdlib.h>
#include <string.h>

#include "dsbackup/crypto.h"
#include "dsbackup/docker.h"
#include "dsbackup/engine.h"
#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/source.h"
#include "dsbackup/util.h"

struct spec_list {
	char **v;
	size_t n;
};

static int rank(int r)
{
	return r == 0 ? 0 : r == DSB_ERR_PARTIAL ? 1 : 2;
}

static int list_add(struct spec_list *l, const char *spec)
{
	char **p;
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], spec) == 0)
			return 0;
	if ((p = realloc(l->v, (l->n + 1) * sizeof(*p))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	l->v = p;
	if ((p[l->n] = dsb_strdup(spec)) == NULL)
		return DSB_ERR_NOMEM;
	l->n++;
	return 0;
}

static void list_free(struct spec_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int list_add_all(struct spec_list *l, char **v, size_t n)
{
	size_t i;
	int r = 0;

	for (i = 0; i < n && r == 0; i++)
		r = list_add(l, v[i]);
	return r;
}

static int collect_specs(const struct dsb_sources_run_opts *o, struct spec_list *l)
{
	char **v = NULL;
	size_t n = 0, i;
	int r = 0;

	for (i = 0; i < o->nspecs && r == 0; i++) {
		if ((r = dsb_source_expand(o->specs[i], &v, &n)) != 0)
			break;
		if (n == 0)
			dsb_warn("source %s matches nothing on this host", o->specs[i]);
		r = list_add_all(l, v, n);
		dsb_docker_free_specs(v, n);
	}
	if (r == 0 && o->docker && (r = dsb_docker_specs(&v, &n)) == 0) {
		if (n == 0)
			dsb_warn("--docker: no Docker volumes, compose projects, daemon configuration or "
			    "trust keys found on this host");
		r = list_add_all(l, v, n);
		dsb_docker_free_specs(v, n);
	}
	if (r == 0 && l->n == 0)
		r = dsb_error(DSB_ERR_NOT_FOUND, "no source to back up");
	return r;
}

/* keep(r, msg): remember the first error's message across later calls that record their own */
static void keep(int r, int *first, char **msg)
{
	if (r != 0 && rank(r) > rank(*first)) {
		*first = r;
		free(*msg);
		*msg = dsb_strdup(dsb_errmsg());
	}
}

/* run_one(s, o, spec, run_id, id, st): one source's snapshot; the result as dsb_backup's */
static int run_one(struct dsb_session *s, const struct dsb_sources_run_opts *o, const char *spec,
    const char *run_id, char id[65], struct dsb_backup_stats *st)
{
	struct dsb_backup_opts bo = *o->base;
	struct dsb_source *src = NULL;
	char *msg = NULL;
	int r, first = 0, ra;

	id[0] = '\0';
	memset(st, 0, sizeof(*st));
	if ((r = dsb_source_open(spec, &src)) != 0)
		return r;
	if (src->npaths > 0)
		dsb_info("source %s: backing up %s%s", src->spec, src->paths[0],
		    src->npaths > 1 ? " and more" : "");
	if (src->ops->before != NULL)
		r = src->ops->before(src);
	keep(r, &first, &msg);
	if (r == 0) {
		bo.paths = (const char *const *)src->paths;
		bo.npaths = src->npaths;
		bo.source = src->spec;
		bo.run_id = run_id;
		bo.source_meta = src->meta;
		bo.parent = NULL;
		bo.escrow = src->ops->key_material && bo.nescrow_recipients > 0;
		if (bo.escrow)
			dsb_info("source %s is key material: escrowed to %zu recipient(s)", src->spec,
			    bo.nescrow_recipients);
		keep(dsb_backup(s, &bo, id, st), &first, &msg);
	}
	/* before() ran, even if it failed half-way: after() undoes what it did */
	if (src->ops->after != NULL && (ra = src->ops->after(src)) != 0) {
		if (id[0] != '\0')
			dsb_error_wrap(ra, "snapshot %.8s was written, but putting the source back failed", id);
		keep(ra, &first, &msg);
	}
	dsb_source_close(src);
	if (first != 0)
		dsb_error(first, "%s", msg != NULL ? msg : dsb_strerror(first));
	free(msg);
	return first;
}

int dsb_sources_setup(void)
{
	struct dsb_docker_env env;
	char *state = dsb_state_dir();
	int r;

	if (state == NULL)
		return DSB_ERR_NOMEM;
	env.state_dir = state;
	env.interrupted = &dsb_interrupted;
	r = dsb_docker_setup(&env);
	free(state);
	return r;
}

int dsb_sources_run(struct dsb_session *s, const struct dsb_sources_run_opts *o, char run_id[33])
{
	struct dsb_backup_stats st;
	struct spec_list specs = { NULL, 0 };
	uint8_t rnd[16];
	char id[65];
	size_t i, failed = 0;
	int r, worst = 0, recover_failed = 0;

	run_id[0] = '\0';
	if ((r = dsb_random(rnd, sizeof(rnd))) != 0 || (r = dsb_sources_setup()) != 0)
		return r;
	dsb_hex_encode(rnd, sizeof(rnd), run_id);
	if ((r = dsb_docker_recover()) != 0) {
		dsb_log(DSB_LOG_ERROR, "%s", dsb_errmsg());
		worst = r;
		recover_failed = 1;
	}
	if ((r = collect_specs(o, &specs)) != 0)
		goto out;
	for (i = 0; i < specs.n; i++) {
		if (dsb_interrupted) {
			dsb_log(DSB_LOG_ERROR, "interrupted: %zu source(s) not backed up", specs.n - i);
			worst = DSB_ERR_INTERRUPTED;
			break;
		}
		r = run_one(s, o, specs.v[i], run_id, id, &st);
		if (r != 0 && r != DSB_ERR_PARTIAL) {
			failed++;
			dsb_log(DSB_LOG_ERROR, "source %s failed: %s", specs.v[i], dsb_errmsg());
		}
		if (o->done != NULL)
			o->done(o->arg, specs.v[i], id, &st, r);
		if (rank(r) > rank(worst) || (r == DSB_ERR_INTERRUPTED && rank(worst) == 2))
			worst = r;
	}
	r = worst;
	if (r == DSB_ERR_INTERRUPTED)
		dsb_error(r, "interrupted by a signal");
	else if (r == DSB_ERR_PARTIAL)
		dsb_error(r, "every source was backed up, but some files could not be read");
	else if (r != 0 && failed > 0)
		dsb_error(r, "%zu of %zu source(s) failed (named above)", failed, specs.n);
	else if (r != 0 && recover_failed)
		dsb_error(r, "containers that a dead run left stopped could not be started again (named above)");
out:
	list_free(&specs);
	dsb_docker_cleanup();
	return r;
}
