/* rbuf.c - receive buffer: raw bytes in, complete framed messages out.
 *
 * Pure (no I/O) so the fuzzer drives exactly the code the server and the
 * client run on received bytes. Memory is bounded: the buffer only grows
 * while the scanner says the message at its front can still fit max_msg,
 * and shrinks back once a big message has been consumed. */
#include <stdlib.h>
#include <string.h>

#include "rpc/rpc_internal.h"

void rpc_rbuf_init(struct rpc_rbuf *r, const struct rpc_limits *lim)
{
    memset(r, 0, sizeof(*r));
    r->lim = *lim;
    rpc_scan_reset(&r->scan);
}

void rpc_rbuf_free(struct rpc_rbuf *r)
{
    free(r->data);
    r->data = NULL;
    r->cap = r->start = r->end = 0;
}

/* Growth target when the front message needs more room than cap - used. */
static size_t grow_cap(const struct rpc_rbuf *r, size_t used)
{
    /* The front message is incomplete and, per the scanner, at most
     * max_msg bytes: growing to max_msg + a read's worth suffices. */
    size_t want = r->cap * 2;
    size_t limit = (size_t)r->lim.max_msg + RPC_RBUF_INIT;
    if (want > limit)
        want = limit;
    if (want < used + RPC_RBUF_MIN_FREE)
        want = used + RPC_RBUF_MIN_FREE;
    return want;
}

size_t rpc_rbuf_reserve_cap(const struct rpc_rbuf *r)
{
    if (!r->data)
        return RPC_RBUF_INIT;
    size_t used = r->end;
    if (r->cap - used < RPC_RBUF_MIN_FREE && r->start > 0)
        used = r->end - r->start; /* compaction */
    if (r->cap - used < RPC_RBUF_MIN_FREE)
        return grow_cap(r, used);
    return r->cap;
}

uint8_t *rpc_rbuf_reserve(struct rpc_rbuf *r, size_t *avail)
{
    if (!r->data) {
        r->cap = RPC_RBUF_INIT;
        r->data = xmalloc(r->cap);
        r->start = r->end = 0;
    }
    if (r->cap - r->end < RPC_RBUF_MIN_FREE && r->start > 0) {
        /* Compact: the scan state is relative to start, so it survives. */
        size_t n = r->end - r->start;
        memmove(r->data, r->data + r->start, n);
        r->start = 0;
        r->end = n;
    }
    if (r->cap - r->end < RPC_RBUF_MIN_FREE) {
        size_t want = grow_cap(r, r->end);
        r->data = xrealloc(r->data, want);
        r->cap = want;
    }
    *avail = r->cap - r->end;
    return r->data + r->end;
}

void rpc_rbuf_commit(struct rpc_rbuf *r, size_t n) { r->end += n; }

int rpc_rbuf_next(struct rpc_rbuf *r, const uint8_t **msg, size_t *len)
{
    if (r->start == r->end)
        return 0;
    int rc = rpc_scan_run(&r->scan, r->data + r->start, r->end - r->start,
                          &r->lim, len);
    if (rc == 1)
        *msg = r->data + r->start;
    else if (rc < 0)
        rpc_scan_reset(&r->scan);
    return rc;
}

/* After the front message is gone: drop a big buffer once it is empty so
 * one large message does not pin its memory for the connection's life. */
static void maybe_shrink(struct rpc_rbuf *r)
{
    if (r->start == r->end) {
        r->start = r->end = 0;
        if (r->cap > 4 * RPC_RBUF_INIT) {
            free(r->data);
            r->data = NULL;
            r->cap = 0;
        }
    }
}

void rpc_rbuf_consume(struct rpc_rbuf *r, size_t len)
{
    r->start += len;
    rpc_scan_reset(&r->scan);
    maybe_shrink(r);
}

void rpc_rbuf_detach(struct rpc_rbuf *r, size_t len, uint8_t **base,
                     const uint8_t **msg)
{
    if (len >= RPC_STEAL_MIN) {
        /* Take the whole buffer; keep only the bytes after the message. */
        uint8_t *old = r->data;
        size_t off = r->start;
        size_t rest = r->end - (r->start + len);
        r->data = NULL;
        r->cap = r->start = r->end = 0;
        if (rest > 0) {
            r->cap = rest + RPC_RBUF_MIN_FREE;
            if (r->cap < RPC_RBUF_INIT)
                r->cap = RPC_RBUF_INIT;
            r->data = xmalloc(r->cap);
            memcpy(r->data, old + off + len, rest);
            r->end = rest;
        }
        rpc_scan_reset(&r->scan);
        *base = old;
        *msg = old + off;
        return;
    }
    uint8_t *copy = xmalloc(len);
    memcpy(copy, r->data + r->start, len);
    *base = copy;
    *msg = copy;
    rpc_rbuf_consume(r, len);
}
