/*
 * prefetch.h: a thread that brings the files a backup's walk is about to
 * read into the page cache, so that the walking thread, which reads, chunks
 * and hashes, does not wait on the disk.  Engine-internal.
 *
 * With a cold cache, reading many small files costs the walking thread a
 * synchronous disk read per file: it stops, and so does everything behind
 * it.  When the walk enters a directory it pushes the directory's entries,
 * in walk order; the thread stats each, and for a regular file that the
 * walk will read (not unchanged since the parent snapshot, as the caller's
 * ${unchanged} judges) asks the kernel to read it ahead (POSIX_FADV_WILLNEED).
 * The entries of the deepest directory come first, then the rest of its
 * parent's, as the walk takes them.  Bytes asked for and not yet reached by
 * the walk are bounded by a budget.  The page cache holds them: the
 * process's memory does not grow.
 *
 * Only a hint: a file the thread cannot stat or open is left alone, and the
 * walk reads every file itself whether or not it was warmed.
 */
#ifndef DSB_PREFETCH_H
#define DSB_PREFETCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct dsb_prefetch;

/* One entry of a directory: its name, and what the caller knew of it before (may be NULL). */
struct dsb_prefetch_entry {
	const char *name;
	const void *before;
};

/* unchanged(before, st): 1 when the walk will not read the file ${st} describes. */
typedef int (*dsb_prefetch_unchanged_fn)(const void *before, const struct stat *st);

/*
 * dsb_prefetch_start(unchanged, budget, out): start the thread; ${budget}
 * bytes asked for ahead of the walk at most.  0, DSB_ERR_NOMEM or
 * DSB_ERR_INTERNAL (no thread).
 */
int dsb_prefetch_start(dsb_prefetch_unchanged_fn unchanged, uint64_t budget,
    struct dsb_prefetch **out);
/*
 * dsb_prefetch_push(pf, dir, e, n): the entries of the directory ${dir} the
 * walk enters, in its order.  ${dir} and ${e} stay the caller's and must
 * live until the matching dsb_prefetch_pop.  0 or DSB_ERR_NOMEM (then
 * nothing was pushed, and the matching pop must not be called).
 */
int dsb_prefetch_push(struct dsb_prefetch *pf, const char *dir, const struct dsb_prefetch_entry *e,
    size_t n);
/* dsb_prefetch_reached(pf, i): the walk has come to entry ${i} of the last pushed directory. */
void dsb_prefetch_reached(struct dsb_prefetch *pf, size_t i);
/* dsb_prefetch_pop(pf): the walk is done with the last pushed directory; waits while the thread uses it. */
void dsb_prefetch_pop(struct dsb_prefetch *pf);
/* dsb_prefetch_stop(pf): stop the thread and free; NULL is a no-op. */
void dsb_prefetch_stop(struct dsb_prefetch *pf);

#endif
