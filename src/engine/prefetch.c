/*
 * prefetch.c: the page cache warmed ahead of a backup's walk (prefetch.h).
 *
 * The directories pushed form a stack, the deepest on top.  The thread
 * takes the first entry not yet looked at, from the top down, skipping what
 * the walk has passed; the walking thread moves only its own position
 * (reached) and pops.  Everything is under one mutex; the thread drops it
 * for the system calls, and a pop waits until the thread is no longer
 * looking at an entry of the directory popped.  The thread keeps one
 * directory open, the one it is looking into, however deep the walk goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsbackup/error.h"
#include "prefetch.h"

/* the most asked for at once of one file: the kernel's own read-ahead follows a sequential read */
#define FILE_AHEAD_MAX ((uint64_t)8 << 20)

struct batch {
	const char *dir;
	uint64_t serial;       /* which push: the thread's open directory is known by it */
	const struct dsb_prefetch_entry *e;
	size_t n;
	size_t next;           /* the thread's next entry */
	size_t reached;        /* the walk's entry */
	uint64_t *asked;       /* bytes asked for, per entry, until the walk passes it */
	struct batch *below;
};

struct dsb_prefetch {
	pthread_mutex_t mu;
	pthread_cond_t cv_work;    /* an entry to look at, room in the budget, or stopping */
	pthread_cond_t cv_idle;    /* the thread let go of an entry */
	pthread_t thread;
	dsb_prefetch_unchanged_fn unchanged;
	struct batch *top;
	const struct batch *busy;  /* the directory whose entry the thread is looking at */
	uint64_t ahead, budget;
	uint64_t pushes;           /* serials given out */
	/* the thread's own: one directory open at a time, however deep the walk */
	int dirfd;                 /* -1: none, or it could not be opened */
	uint64_t dir_serial;       /* the push it belongs to; 0: none */
	int waiting;               /* the thread waits: for WAIT_WORK or WAIT_ROOM */
	int stopping;
};

/*
 * The walking thread wakes the prefetch thread only when that changes
 * something: a push to a thread out of work; the walk's progress to a
 * thread out of budget once a quarter of it is free again.  A wake-up costs
 * more than a stat: most files are in the cache already.
 */
enum { WAIT_NONE, WAIT_WORK, WAIT_ROOM };

/* pick(pf): the directory with the next entry to look at, or NULL. */
static struct batch *pick(struct dsb_prefetch *pf)
{
	struct batch *b;

	for (b = pf->top; b != NULL; b = b->below) {
		if (b->next < b->reached)
			b->next = b->reached;
		if (b->next < b->n)
			return b;
	}
	return NULL;
}

static int open_quietly(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	return fd;
}

/*
 * warm(pf, b, e): ask the kernel to read the file ahead if the walk will
 * read it; the bytes asked for.  (Reading an atime-less way: the kernel's
 * read-ahead does not touch the atime, only read(2) does.)
 */
static uint64_t warm(struct dsb_prefetch *pf, const struct batch *b,
    const struct dsb_prefetch_entry *e)
{
	struct stat st;
	uint64_t len;
	int fd;

	if (pf->dir_serial != b->serial) {
		if (pf->dirfd >= 0)
			close(pf->dirfd);
		pf->dirfd = open(b->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		pf->dir_serial = b->serial;
	}
	if (pf->dirfd < 0 || fstatat(pf->dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISREG(st.st_mode) || st.st_size <= 0 || pf->unchanged(e->before, &st))
		return 0;
	if ((fd = open_quietly(pf->dirfd, e->name)) < 0)
		return 0;
	len = (uint64_t)st.st_size < FILE_AHEAD_MAX ? (uint64_t)st.st_size : FILE_AHEAD_MAX;
	if (posix_fadvise(fd, 0, (off_t)len, POSIX_FADV_WILLNEED) != 0)
		len = 0;
	close(fd);
	return len;
}

static void *prefetch_main(void *arg)
{
	struct dsb_prefetch *pf = arg;
	struct batch *b = NULL;
	uint64_t len;
	size_t i;

	pthread_mutex_lock(&pf->mu);
	for (;;) {
		while (!pf->stopping && (pf->ahead >= pf->budget || (b = pick(pf)) == NULL)) {
			pf->waiting = pf->ahead >= pf->budget ? WAIT_ROOM : WAIT_WORK;
			pthread_cond_wait(&pf->cv_work, &pf->mu);
			pf->waiting = WAIT_NONE;
		}
		if (pf->stopping)
			break;
		i = b->next++;
		pf->busy = b;
		pthread_mutex_unlock(&pf->mu);
		len = warm(pf, b, &b->e[i]);
		pthread_mutex_lock(&pf->mu);
		pf->busy = NULL;
		if (i >= b->reached) {   /* else the walk has read it already */
			b->asked[i] = len;
			pf->ahead += len;
		}
		pthread_cond_broadcast(&pf->cv_idle);
	}
	pthread_mutex_unlock(&pf->mu);
	return NULL;
}

int dsb_prefetch_start(dsb_prefetch_unchanged_fn unchanged, uint64_t budget,
    struct dsb_prefetch **out)
{
	struct dsb_prefetch *pf;
	int e;

	*out = NULL;
	if ((pf = calloc(1, sizeof(*pf))) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	pf->unchanged = unchanged;
	pf->budget = budget;
	pf->dirfd = -1;
	pthread_mutex_init(&pf->mu, NULL);
	pthread_cond_init(&pf->cv_work, NULL);
	pthread_cond_init(&pf->cv_idle, NULL);
	if ((e = pthread_create(&pf->thread, NULL, prefetch_main, pf)) != 0) {
		pthread_cond_destroy(&pf->cv_idle);
		pthread_cond_destroy(&pf->cv_work);
		pthread_mutex_destroy(&pf->mu);
		free(pf);
		return dsb_error_errno(DSB_ERR_INTERNAL, e, "starting the prefetch thread");
	}
	*out = pf;
	return 0;
}

int dsb_prefetch_push(struct dsb_prefetch *pf, const char *dir, const struct dsb_prefetch_entry *e,
    size_t n)
{
	struct batch *b;

	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->asked = calloc(n > 0 ? n : 1, sizeof(*b->asked))) == NULL) {
		free(b);
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	}
	b->dir = dir;
	b->e = e;
	b->n = n;
	pthread_mutex_lock(&pf->mu);
	b->serial = ++pf->pushes;
	b->below = pf->top;
	pf->top = b;
	if (pf->waiting == WAIT_WORK)
		pthread_cond_signal(&pf->cv_work);
	pthread_mutex_unlock(&pf->mu);
	return 0;
}

/*
 * pass(pf, b, to): the walk has passed ${b}'s entries before ${to}: their
 * bytes no longer count.  Wakes a thread waiting for room when there is.
 */
static void pass(struct dsb_prefetch *pf, struct batch *b, size_t to)
{
	for (; b->reached < to && b->reached < b->n; b->reached++) {
		pf->ahead -= b->asked[b->reached];
		b->asked[b->reached] = 0;
	}
	if (pf->waiting == WAIT_ROOM && pf->ahead <= pf->budget - pf->budget / 4)
		pthread_cond_signal(&pf->cv_work);
}

void dsb_prefetch_reached(struct dsb_prefetch *pf, size_t i)
{
	pthread_mutex_lock(&pf->mu);
	if (pf->top != NULL)
		pass(pf, pf->top, i);
	pthread_mutex_unlock(&pf->mu);
}

void dsb_prefetch_pop(struct dsb_prefetch *pf)
{
	struct batch *b;

	pthread_mutex_lock(&pf->mu);
	if ((b = pf->top) == NULL) {
		pthread_mutex_unlock(&pf->mu);
		return;
	}
	while (pf->busy == b)
		pthread_cond_wait(&pf->cv_idle, &pf->mu);
	pass(pf, b, b->n);
	pf->top = b->below;
	pthread_mutex_unlock(&pf->mu);
	free(b->asked);
	free(b);
}

void dsb_prefetch_stop(struct dsb_prefetch *pf)
{
	if (pf == NULL)
		return;
	pthread_mutex_lock(&pf->mu);
	pf->stopping = 1;
	pthread_cond_signal(&pf->cv_work);
	pthread_mutex_unlock(&pf->mu);
	pthread_join(pf->thread, NULL);
	if (pf->dirfd >= 0)
		close(pf->dirfd);
	while (pf->top != NULL)
		dsb_prefetch_pop(pf);
	pthread_cond_destroy(&pf->cv_idle);
	pthread_cond_destroy(&pf->cv_work);
	pthread_mutex_destroy(&pf->mu);
	free(pf);
}
