/* lock.c: repository locks (docs/FORMAT.md §10). */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "dsbackup/error.h"
#include "dsbackup/log.h"
#include "dsbackup/util.h"
#include "repo_internal.h"

#define LOCK_STALE_SEC (30 * 60)
#define LOCK_REFRESH_SEC (5 * 60)
#define LOCK_UNFINISHED_MAX 10000  /* unfinished uploads aborted by one lock, at most */

struct dsb_lock {
	struct dsb_repo *repo;
	int exclusive;
	char id[65];
	int64_t written;
};

struct lock_info {
	char host[256];
	char user[256];
	char time[64];
	long long pid;
	int exclusive;
	int64_t sec;
};

static void my_host(char *host, size_t n)
{
	if (gethostname(host, n) != 0)
		snprintf(host, n, "unknown");
	host[n - 1] = '\0';
}

static int write_lock(struct dsb_lock *l)
{
	struct passwd *pw = getpwuid(geteuid());
	char host[256], ts[64], *text;
	int64_t sec;
	long nsec;
	json_t *j;
	int r;

	my_host(host, sizeof(host));
	dsb_time_now(&sec, &nsec);
	dsb_time_format(sec, nsec, ts, sizeof(ts));
	j = json_pack("{s:s, s:I, s:s, s:s, s:b}", "host", host, "pid", (json_int_t)getpid(),
	    "user", pw != NULL ? pw->pw_name : "unknown", "time", ts, "exclusive", l->exclusive);
	if (j == NULL || (text = json_dumps(j, JSON_COMPACT)) == NULL) {
		json_decref(j);
		return dsb_error(DSB_ERR_NOMEM, "out of memory writing lock");
	}
	r = dsb_repo_put_object(l->repo, "locks", "lock", text, strlen(text), l->id);
	free(text);
	json_decref(j);
	if (r == 0)
		l->written = sec;
	return r;
}

static int read_lock(struct dsb_repo *repo, const char *id, struct lock_info *info)
{
	json_error_t jerr;
	struct dsb_buf b;
	const char *host = "?", *user = "?", *ts = "";
	json_int_t pid = 0;
	long nsec;
	int excl = 0, r;
	json_t *j = NULL;

	dsb_buf_init(&b, DSB_OBJ_MAX_LOCK + 1);
	if ((r = dsb_repo_get_object(repo, "locks", "lock", id, DSB_OBJ_MAX_LOCK, &b)) != 0)
		goto out;
	if ((j = json_loadb((const char *)b.data, b.len, 0, &jerr)) == NULL ||
	    json_unpack_ex(j, &jerr, 0, "{s:s, s:I, s?s, s:s, s:b}", "host", &host, "pid", &pid,
	    "user", &user, "time", &ts, "exclusive", &excl) != 0) {
		r = dsb_error(DSB_ERR_CORRUPT, "lock %s is malformed: %s", id, jerr.text);
		goto out;
	}
	snprintf(info->host, sizeof(info->host), "%s", host);
	snprintf(info->user, sizeof(info->user), "%s", user);
	snprintf(info->time, sizeof(info->time), "%s", ts);
	info->pid = pid;
	info->exclusive = excl;
	if ((r = dsb_time_parse(ts, &info->sec, &nsec)) != 0)
		r = dsb_error(DSB_ERR_CORRUPT, "lock %s has an invalid time", id);
out:
	json_decref(j);
	dsb_buf_release(&b);
	return r;
}

static int lock_is_stale(const struct lock_info *info)
{
	char host[256];
	int64_t now;
	long nsec;

	dsb_time_now(&now, &nsec);
	if (now - info->sec > LOCK_STALE_SEC)
		return 1;
	my_host(host, sizeof(host));
	if (strcmp(host, info->host) == 0 && info->pid > 0 &&
	    kill((pid_t)info->pid, 0) != 0 && errno == ESRCH)
		return 1;
	return 0;
}

struct scan {
	struct dsb_lock *me;      /* NULL when only cleaning */
	int remove_stale;
	int remove_all;
	int removed;
	int others;               /* live locks of others */
	char conflict[1024];
};

static int scan_one(void *arg, const char *id, uint64_t size)
{
	struct scan *s = arg;
	struct lock_info info;
	char name[80];
	int r;

	(void)size;
	if (s->me != NULL && strcmp(id, s->me->id) == 0)
		return 0;
	snprintf(name, sizeof(name), "locks/%s", id);
	if ((r = read_lock(s->me != NULL ? s->me->repo : NULL, id, &info)) != 0) {
		if (r == DSB_ERR_NOT_FOUND)
			return 0;  /* released meanwhile */
		dsb_warn("ignoring unreadable lock %s: %s", name, dsb_errmsg());
		return 0;
	}
	if (s->remove_all || (s->remove_stale && lock_is_stale(&info))) {
		if (dsb_backend_remove(dsb_repo_backend(s->me->repo), name) == 0)
			s->removed++;
		return 0;
	}
	if (s->remove_stale)
		return 0;
	if (s->me == NULL || lock_is_stale(&info))
		return 0;
	s->others++;
	if (s->me->exclusive || info.exclusive) {
		snprintf(s->conflict, sizeof(s->conflict), "by host %s pid %lld since %s (%s lock of "
		    "user %s)", info.host, info.pid, info.time, info.exclusive ? "an exclusive" : "a shared",
		    info.user);
		return 1;
	}
	return 0;
}

/*
 * Unfinished uploads (S3 multipart uploads) that processes killed mid-put
 * left in the storage, where they linger and are billed.  They are listed
 * before our lock is written, and aborted only if the lock scan then finds
 * no live lock of another process: every writer holds its lock while it
 * uploads, so an upload listed before our scan belongs to a process whose
 * lock the scan would have seen, or to one that is gone.
 */
struct unfinished {
	struct unfinished_upload {
		char *name, *handle;
	} *v;
	size_t n, cap;
};

static int unfinished_add(void *arg, const char *name, const char *handle)
{
	struct unfinished *u = arg;
	struct unfinished_upload *v;

	if (u->n == LOCK_UNFINISHED_MAX)
		return 0;  /* the next run takes the rest */
	if (DSB_GROW(u->v, u->cap, u->n, "the list of unfinished uploads") != 0)
		return DSB_ERR_NOMEM;
	v = &u->v[u->n];
	v->name = dsb_strdup(name);
	v->handle = dsb_strdup(handle);
	if (v->name == NULL || v->handle == NULL) {
		free(v->name);
		free(v->handle);
		return DSB_ERR_NOMEM;
	}
	u->n++;
	return 0;
}

static void unfinished_release(struct unfinished *u)
{
	size_t i;

	for (i = 0; i < u->n; i++) {
		free(u->v[i].name);
		free(u->v[i].handle);
	}
	free(u->v);
	memset(u, 0, sizeof(*u));
}

/* unfinished_list(r, u): what the storage holds; a failure only postpones the cleanup. */
static void unfinished_list(struct dsb_repo *r, struct unfinished *u)
{
	if (dsb_backend_list_unfinished(r->be, unfinished_add, u) == 0)
		return;
	dsb_warn("%s; they are looked for again by the next run", dsb_errmsg());
	dsb_error_clear();
	unfinished_release(u);
}

/* unfinished_abort(r, u): abort each; failures are warnings, left for the next run. */
static void unfinished_abort(struct dsb_repo *r, const struct unfinished *u)
{
	size_t i, done = 0;

	for (i = 0; i < u->n; i++) {
		if (dsb_backend_abort_unfinished(r->be, u->v[i].name, u->v[i].handle) == 0) {
			done++;
			continue;
		}
		dsb_warn("%s; the next run tries again", dsb_errmsg());
		dsb_error_clear();
	}
	if (done > 0)
		dsb_info("aborted %zu unfinished upload(s) left by interrupted runs", done);
}

int dsb_repo_lock(struct dsb_repo *r, int exclusive, struct dsb_lock **out)
{
	struct unfinished u = { 0 };
	struct dsb_lock *l;
	struct scan s;
	char name[80];
	int rc;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	l->repo = r;
	l->exclusive = exclusive;
	unfinished_list(r, &u);
	if ((rc = write_lock(l)) != 0) {
		unfinished_release(&u);
		free(l);
		return dsb_error_wrap(rc, "taking a lock");
	}
	memset(&s, 0, sizeof(s));
	s.me = l;
	rc = dsb_repo_list(r, "locks", scan_one, &s);
	if (rc == 1) {
		unfinished_release(&u);
		snprintf(name, sizeof(name), "locks/%s", l->id);
		dsb_backend_remove(r->be, name);
		free(l);
		return dsb_error(DSB_ERR_LOCKED, "repository %s is locked %s; if that process is gone "
		    "run `dsbackup unlock`", r->be->url, s.conflict);
	}
	if (rc == 0 && s.others == 0)
		unfinished_abort(r, &u);
	unfinished_release(&u);
	if (rc != 0) {
		dsb_lock_release(l);
		return rc;
	}
	*out = l;
	return 0;
}

/*
 * pause_for(sec, jitter_ns): sleep; DSB_ERR_INTERRUPTED when a signal cut the
 * sleep short.  The jitter keeps two waiting processes from retrying in step.
 */
static int pause_for(int sec, long jitter_ns)
{
	struct timespec ts = { sec, jitter_ns % 500000000L };

	if (nanosleep(&ts, NULL) != 0 && errno == EINTR)
		return dsb_error(DSB_ERR_INTERRUPTED, "interrupted by a signal while waiting for a lock");
	return 0;
}

int dsb_repo_lock_wait(struct dsb_repo *r, int exclusive, int max_wait_sec, struct dsb_lock **out)
{
	int64_t start, now;
	long nsec;
	int rc, delay = 1, left;

	dsb_time_now(&start, &nsec);
	for (;;) {
		if ((rc = dsb_repo_lock(r, exclusive, out)) != DSB_ERR_LOCKED)
			return rc;
		dsb_time_now(&now, &nsec);
		left = max_wait_sec - (int)(now - start);
		if (max_wait_sec <= 0 || left <= 0)
			return rc;
		if (delay > left)
			delay = left;
		dsb_info("%s; retrying in %d s (waiting up to %d s more)", dsb_errmsg(), delay, left);
		if ((rc = pause_for(delay, nsec)) != 0)
			return rc;
		delay = delay * 2 > 30 ? 30 : delay * 2;
	}
}

int dsb_lock_refresh(struct dsb_lock *l)
{
	char old[65], name[80];
	int64_t now;
	long nsec;
	int r;

	if (l == NULL)
		return 0;
	dsb_time_now(&now, &nsec);
	if (now - l->written < LOCK_REFRESH_SEC)
		return 0;
	memcpy(old, l->id, sizeof(old));
	if ((r = write_lock(l)) != 0)
		return dsb_error_wrap(r, "refreshing lock");
	snprintf(name, sizeof(name), "locks/%s", old);
	dsb_backend_remove(l->repo->be, name);
	return 0;
}

void dsb_lock_release(struct dsb_lock *l)
{
	char name[80];

	if (l == NULL)
		return;
	snprintf(name, sizeof(name), "locks/%s", l->id);
	if (dsb_backend_remove(l->repo->be, name) != 0)
		dsb_warn("could not remove lock %s: %s", name, dsb_errmsg());
	free(l);
}

int dsb_repo_unlock_stale(struct dsb_repo *r, int all, int *removed)
{
	struct dsb_lock me = { r, 0, "", 0 };
	struct scan s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.me = &me;
	s.remove_stale = 1;
	s.remove_all = all;
	rc = dsb_repo_list(r, "locks", scan_one, &s);
	*removed = s.removed;
	return rc;
}
