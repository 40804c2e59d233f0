/*
 * bigalloc.c: OpenSSL's allocator, with large blocks in transparent huge pages.
 *
 * scrypt's working memory (128 * r * N bytes: 32 MiB for N = 2^15, r = 8,
 * 128 MiB for the default N = 2^17) is one OpenSSL allocation that the KDF
 * then reads at random.  From malloc it is a fresh mapping of 4 KiB pages:
 * one page fault per page as it is first written, and a TLB miss on most
 * reads.  Measured on these machines, that was half the time of opening a
 * repository.  Blocks of at least BIG_MIN bytes are therefore mapped here and
 * marked MADV_HUGEPAGE (a hint: where the kernel has no huge page free, they
 * are ordinary pages and nothing else changes).
 *
 * Smaller blocks are plain malloc blocks, so memory that some code frees
 * with the other allocator's free keeps working as before.  The mapped
 * blocks are few (one per scrypt running): a small table records them, and
 * when it is full a large block comes from malloc too.  OpenSSL clears
 * secret memory itself (OPENSSL_clear_free) before it frees it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/crypto.h>

#include "crypto_internal.h"

#define BIG_MIN ((size_t)4 << 20)
#define BIG_SLOTS 16

static struct {
	void *p;
	size_t size;
} big[BIG_SLOTS];
static pthread_mutex_t big_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int big_count;   /* entries in the table: most frees need not lock */

/* big_find(p): the size of mapped block ${p}, removing it from the table when ${forget}; 0 if not one */
static size_t big_find(void *p, int forget)
{
	size_t i, size = 0;

	if (atomic_load(&big_count) == 0)
		return 0;
	pthread_mutex_lock(&big_mu);
	for (i = 0; i < BIG_SLOTS; i++)
		if (big[i].p == p) {
			size = big[i].size;
			if (forget) {
				big[i].p = NULL;
				atomic_fetch_sub(&big_count, 1);
			}
			break;
		}
	pthread_mutex_unlock(&big_mu);
	return size;
}

static void *big_map(size_t n)
{
	size_t i;
	void *m;

	m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	pthread_mutex_lock(&big_mu);
	for (i = 0; i < BIG_SLOTS; i++)
		if (big[i].p == NULL) {
			big[i].p = m;
			big[i].size = n;
			atomic_fetch_add(&big_count, 1);
			break;
		}
	pthread_mutex_unlock(&big_mu);
	if (i == BIG_SLOTS) {
		munmap(m, n);
		return NULL;
	}
	(void)madvise(m, n, MADV_HUGEPAGE);
	return m;
}

static void *big_malloc(size_t n, const char *file, int line)
{
	void *p;

	(void)file;
	(void)line;
	if (n >= BIG_MIN && (p = big_map(n)) != NULL)
		return p;
	return malloc(n);
}

static void big_free(void *p, const char *file, int line)
{
	size_t size;

	(void)file;
	(void)line;
	if (p == NULL)
		return;
	if ((size = big_find(p, 1)) != 0)
		munmap(p, size);
	else
		free(p);
}

static void *big_realloc(void *p, size_t n, const char *file, int line)
{
	size_t size;
	void *q;

	if (p == NULL)
		return big_malloc(n, file, line);
	if (n == 0) {
		big_free(p, file, line);
		return NULL;
	}
	/* a heap block stays one (its size is not known here) */
	if ((size = big_find(p, 0)) == 0)
		return realloc(p, n);
	if ((q = big_malloc(n, file, line)) == NULL)
		return NULL;
	memcpy(q, p, size < n ? size : n);
	big_free(p, file, line);
	return q;
}

int dsb_crypto_set_allocator(void)
{
	return CRYPTO_set_mem_functions(big_malloc, big_realloc, big_free) == 1 ? 0 : -1;
}
