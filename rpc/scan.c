/* scan.c - structural msgpack walker: finds where a message ends and
 * enforces the size, object-count and nesting limits before any msgpack-c
 * code (which allocates what a peer declares) sees the bytes.
 *
 * The walk is resumable: a partial message is walked as far as the bytes
 * go and continued when more arrive, so a large message costs O(size) in
 * total however it is chunked. No allocation; every read is bounds-checked
 * against `avail`. */
#include <string.h>

#include "common/err.h"
#include "rpc/rpc_internal.h"

void rpc_limits_for(struct rpc_limits *l, uint64_t max_msg)
{
    l->max_msg = max_msg;
    /* msgpack-c allocates sizeof(msgpack_object) = 24 bytes per element;
     * legitimate messages average well over 8 bytes per object. */
    l->max_objects = max_msg / 8 + 1024;
}

static uint64_t be16(const uint8_t *p) { return (uint64_t)p[0] << 8 | p[1]; }
static uint64_t be32(const uint8_t *p)
{
    return (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 |
           p[3];
}
static uint64_t be64(const uint8_t *p) { return be32(p) << 32 | be32(p + 4); }

/* Variable-length header: `n` length bytes after the type byte. */
static uint64_t be_n(const uint8_t *p, unsigned n)
{
    switch (n) {
    case 1: return p[0];
    case 2: return be16(p);
    case 4: return be32(p);
    default: return be64(p);
    }
}

int rpc_mp_hdr(const uint8_t *p, size_t avail, struct rpc_mp_hdr *h)
{
    if (avail < 1)
        return 0;
    uint8_t b = p[0];
    memset(h, 0, sizeof(*h));
    h->hlen = 1;
    if (b <= 0x7f) {
        h->kind = RPC_MP_UINT;
        h->u = b;
        return 1;
    }
    if (b >= 0xe0) {
        h->kind = RPC_MP_INT;
        h->i = (int8_t)b;
        return 1;
    }
    if (b <= 0x8f) {
        h->kind = RPC_MP_MAP;
        h->count = b & 0x0f;
        return 1;
    }
    if (b <= 0x9f) {
        h->kind = RPC_MP_ARRAY;
        h->count = b & 0x0f;
        return 1;
    }
    if (b <= 0xbf) {
        h->kind = RPC_MP_STR;
        h->body = b & 0x1f;
        return 1;
    }
    unsigned n; /* bytes of length/value after the type byte */
    switch (b) {
    case 0xc0: h->kind = RPC_MP_NIL; return 1;
    case 0xc1: return ERR_PROTO; /* never used */
    case 0xc2:
    case 0xc3:
        h->kind = RPC_MP_BOOL;
        h->u = b == 0xc3;
        return 1;
    case 0xc4: case 0xc5: case 0xc6: /* bin 8/16/32 */
        n = 1u << (b - 0xc4);
        if (avail < 1 + n)
            return 0;
        h->kind = RPC_MP_BIN;
        h->hlen = 1 + n;
        h->body = be_n(p + 1, n);
        return 1;
    case 0xc7: case 0xc8: case 0xc9: /* ext 8/16/32: len, type, data */
        n = 1u << (b - 0xc7);
        if (avail < 2 + n)
            return 0;
        h->kind = RPC_MP_EXT;
        h->hlen = 2 + n;
        h->body = be_n(p + 1, n);
        return 1;
    case 0xca: case 0xcb: /* float 32/64 */
        n = b == 0xca ? 4 : 8;
        if (avail < 1 + n)
            return 0;
        h->kind = RPC_MP_FLOAT;
        h->hlen = 1 + n;
        return 1;
    case 0xcc: case 0xcd: case 0xce: case 0xcf: /* uint 8/16/32/64 */
        n = 1u << (b - 0xcc);
        if (avail < 1 + n)
            return 0;
        h->kind = RPC_MP_UINT;
        h->hlen = 1 + n;
        h->u = be_n(p + 1, n);
        return 1;
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: { /* int 8/16/32/64 */
        n = 1u << (b - 0xd0);
        if (avail < 1 + n)
            return 0;
        h->hlen = 1 + n;
        uint64_t raw = be_n(p + 1, n);
        int64_t v;
        switch (n) {
        case 1: v = (int8_t)raw; break;
        case 2: v = (int16_t)raw; break;
        case 4: v = (int32_t)raw; break;
        default: v = (int64_t)raw; break;
        }
        /* Like msgpack-c: non-negative values are "positive integers". */
        if (v >= 0) {
            h->kind = RPC_MP_UINT;
            h->u = (uint64_t)v;
        } else {
            h->kind = RPC_MP_INT;
            h->i = v;
        }
        return 1;
    }
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: /* fixext */
        if (avail < 2)
            return 0;
        h->kind = RPC_MP_EXT;
        h->hlen = 2;
        h->body = 1u << (b - 0xd4);
        return 1;
    case 0xd9: case 0xda: case 0xdb: /* str 8/16/32 */
        n = 1u << (b - 0xd9);
        if (avail < 1 + n)
            return 0;
        h->kind = RPC_MP_STR;
        h->hlen = 1 + n;
        h->body = be_n(p + 1, n);
        return 1;
    case 0xdc: case 0xdd: /* array 16/32 */
        n = b == 0xdc ? 2 : 4;
        if (avail < 1 + n)
            return 0;
        h->kind = RPC_MP_ARRAY;
        h->hlen = 1 + n;
        h->count = be_n(p + 1, n);
        return 1;
    default: /* 0xde, 0xdf: map 16/32 */
        n = b == 0xde ? 2 : 4;
        if (avail < 1 + n)
            return 0;
        h->kind = RPC_MP_MAP;
        h->hlen = 1 + n;
        h->count = be_n(p + 1, n);
        return 1;
    }
}

int rpc_scan_run(struct rpc_scan *s, const uint8_t *msg, size_t avail,
                 const struct rpc_limits *lim, size_t *len)
{
    if (s->depth == 0) {
        s->pos = 0;
        s->objects = 0;
        s->pending = 1;
        s->depth = 1;
        s->stack[0] = 1;
    }
    while (s->pending > 0) {
        while (s->stack[s->depth - 1] == 0)
            s->depth--; /* that container is complete */
        struct rpc_mp_hdr h;
        int rc = rpc_mp_hdr(msg + s->pos, avail - s->pos, &h);
        if (rc <= 0)
            return rc; /* ERR_PROTO, or need more header bytes */
        /* Every announced object needs at least one more byte, so the
         * smallest message that could complete this one is `end + rest`;
         * rejecting it now means we never buffer toward an impossible
         * message. */
        uint64_t end = s->pos + h.hlen + h.body;
        uint64_t rest = s->pending - 1;
        uint64_t items = 0;
        if (h.kind == RPC_MP_ARRAY || h.kind == RPC_MP_MAP) {
            items = h.kind == RPC_MP_MAP ? 2 * h.count : h.count;
            /* msgpack-c refuses any container once 32 are open. */
            if (s->depth - 1 >= RPC_MAX_NEST)
                return ERR_PROTO;
            if (s->objects + 1 + rest + items > lim->max_objects)
                return ERR_TOOBIG;
        }
        if (end + rest + items > lim->max_msg)
            return ERR_TOOBIG;
        if (end > avail)
            return 0; /* payload incomplete; resume at this header */
        s->pos = end;
        s->stack[s->depth - 1]--;
        s->pending--;
        s->objects++;
        if (items > 0) {
            s->stack[s->depth++] = items;
            s->pending += items;
        }
    }
    *len = (size_t)s->pos;
    s->depth = 0;
    return 1;
}

int rpc_scan_object(const uint8_t *p, size_t avail,
                    const struct rpc_limits *lim, size_t *len)
{
    struct rpc_scan s;
    rpc_scan_reset(&s);
    return rpc_scan_run(&s, p, avail, lim, len);
}
