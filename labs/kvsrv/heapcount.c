/* heapcount.c - replaces the malloc family to count the whole process's
 * live heap bytes (see heapcount.h).
 *
 * Each block counts its malloc_usable_size(), read after allocation and
 * before free, so a block is added and subtracted by the same amount
 * whatever the allocator rounded it to. Symbol interposition makes libc's
 * internal callers (strdup, fopen) and shared libraries use these too. */
#include "labs/kvsrv/heapcount.h"

#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HEAPCOUNT_ON 0
#else
#define HEAPCOUNT_ON 1
#endif

static _Atomic size_t heapcount_live;

bool heapcount_active(void) { return HEAPCOUNT_ON; }

size_t heapcount_bytes(void) { return atomic_load(&heapcount_live); }

#if HEAPCOUNT_ON
/* glibc's own entry points (exported for exactly this use). */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t align, size_t n);

static void *heapcount_add(void *p)
{
    if (p)
        atomic_fetch_add(&heapcount_live, malloc_usable_size(p));
    return p;
}

void *malloc(size_t n) { return heapcount_add(__libc_malloc(n)); }

void *calloc(size_t n, size_t size)
{
    return heapcount_add(__libc_calloc(n, size));
}

void free(void *p)
{
    if (!p)
        return;
    atomic_fetch_sub(&heapcount_live, malloc_usable_size(p));
    __libc_free(p);
}

void *realloc(void *p, size_t n)
{
    size_t old = p ? malloc_usable_size(p) : 0;
    void *q = __libc_realloc(p, n);
    if (q) {
        atomic_fetch_sub(&heapcount_live, old);
        heapcount_add(q);
    } else if (p && n == 0) {
        atomic_fetch_sub(&heapcount_live, old); /* realloc(p, 0) freed p */
    }
    return q;
}

void *memalign(size_t align, size_t n)
{
    return heapcount_add(__libc_memalign(align, n));
}

void *aligned_alloc(size_t align, size_t n) { return memalign(align, n); }

int posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    void *p = memalign(align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

void *valloc(size_t n) { return memalign((size_t)sysconf(_SC_PAGESIZE), n); }

void *pvalloc(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    return memalign(pg, (n + pg - 1) / pg * pg);
}
#endif
