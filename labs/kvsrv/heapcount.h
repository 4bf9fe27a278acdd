/* heapcount.h - the whole process's heap in use, for lab 2's memory tests.
 *
 * Go's memory tests read runtime.MemStats.HeapAlloc: every live heap object
 * of the test process, whoever allocated it. heapcount.c replaces malloc,
 * calloc, realloc, free and the aligned allocators of the binary it is
 * linked into (glibc supports replacing them; the replacements forward to
 * __libc_malloc & co.), so every allocation counts: the server's, the
 * clerks', the RPC layer's, libc's own (strdup) and shared libraries'
 * (msgpack-c). Only the lab 2 test binary links it.
 *
 * Thread-safe (one atomic counter). Under AddressSanitizer or
 * ThreadSanitizer the sanitizer owns malloc: nothing is replaced and
 * heapcount_active() is false. */
#ifndef LABS_KVSRV_HEAPCOUNT_H_
#define LABS_KVSRV_HEAPCOUNT_H_

#include <stdbool.h>
#include <stddef.h>

/* True if this build counts allocations (release, no sanitizer). */
bool heapcount_active(void);
/* Usable bytes of every live heap block (0 when not active). */
size_t heapcount_bytes(void);

#endif /* LABS_KVSRV_HEAPCOUNT_H_ */
