/* buf.h - growable byte buffer.
 *
 * A struct buf owns its data. Growth aborts on out-of-memory (allocation
 * driven by remote input is bounded by the caller before it gets here).
 * buf_msgpack_write() lets a msgpack_packer write straight into a buf. */
#ifndef COMMON_BUF_H_
#define COMMON_BUF_H_

#include <stddef.h>
#include <stdint.h>

struct buf {
    uint8_t *data; /* NULL while cap == 0 */
    size_t len;
    size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

void buf_init(struct buf *b);
/* Free the storage; the buf is empty and reusable afterwards. */
void buf_free(struct buf *b);
/* Ensure room for `extra` more bytes. */
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_append_byte(struct buf *b, uint8_t c);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes (n <= len), moving the rest to the front. */
void buf_consume(struct buf *b, size_t n);
static inline void buf_clear(struct buf *b) { b->len = 0; }
/* Hand the storage to the caller (returns owned memory, may be NULL when
 * empty); the buf becomes empty. */
uint8_t *buf_release(struct buf *b, size_t *len);
/* Owned copy of n bytes with a NUL appended (xmalloc semantics). */
char *buf_strndup(const void *p, size_t n);

/* msgpack_packer_write-compatible callback: data is a struct buf *. */
int buf_msgpack_write(void *data, const char *p, size_t n);

/* Allocation that aborts on failure (out-of-memory is not recoverable here). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif /* COMMON_BUF_H_ */
