/* encode.c - the persisted Raft state, in a compact binary format.
 *
 * Layout (every integer an unsigned LEB128 varint: 7 bits per byte, low
 * bits first, high bit set on all but the last byte):
 *
 *   byte    format version (1)
 *   varint  currentTerm
 *   varint  votedFor + 1          (0: voted for nobody this term)
 *   varint  snapshot index        (lastIncludedIndex; 0: no snapshot)
 *   varint  snapshot term         (lastIncludedTerm)
 *   varint  n, the number of log entries (indices snapshot index + 1 ..)
 *   n times:
 *     varint  term
 *     varint  command length
 *     bytes   command
 *
 * So ten small commands cost about 6 + 10 x (2 + command bytes) bytes:
 * 3D's 2000-byte MAXLOGSIZE and kvraft's 8 x maxraftstate leave a lot of
 * room. The snapshot bytes are stored next to this blob by the persister,
 * not inside it. The decoder treats the bytes as untrusted (a damaged
 * file): every length and value is checked, nothing is allocated from a
 * declared size that the input cannot back. */
/* SOLUTION FILE */
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "raft/raft_internal.h"

#define STATE_VERSION 1

/* A varint takes at most 10 bytes. */
#define VARINT_MAX 10

/* Write v at p (VARINT_MAX bytes must be free); returns the byte after. */
static uint8_t *put_uvarint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* The state is re-encoded on every persist (the leader's on each start,
 * a follower's on each AppendEntries), so this is on the commit path:
 * reserve the worst case once and write in place. */
static uint8_t *put_head(uint8_t *p, const struct raft_core *c)
{
    *p++ = STATE_VERSION;
    p = put_uvarint(p, (uint64_t)c->current_term);
    p = put_uvarint(p, (uint64_t)(c->voted_for + 1));
    p = put_uvarint(p, (uint64_t)c->log.snap_index);
    return put_uvarint(p, (uint64_t)c->log.snap_term);
}

static uint8_t *put_entry(uint8_t *p, int64_t term, const void *data,
                          size_t len)
{
    p = put_uvarint(p, (uint64_t)term);
    p = put_uvarint(p, (uint64_t)len);
    if (len)
        memcpy(p, data, len);
    return p + len;
}

void raft_state_encode(const struct raft_core *c, struct buf *out)
{
    const struct raft_log *l = &c->log;
    size_t need = 1 + 5 * VARINT_MAX;
    for (size_t i = 0; i < l->n; i++)
        need += 2 * VARINT_MAX + l->entries[i].len;
    buf_reserve(out, need);
    uint8_t *p = put_head(out->data + out->len, c);
    p = put_uvarint(p, (uint64_t)l->n);
    for (size_t i = 0; i < l->n; i++) {
        const struct raft_log_entry *e = &l->entries[i];
        p = put_entry(p, e->term, e->data, e->len);
    }
    out->len = (size_t)(p - out->data);
}

void raft_state_encode_head(const struct raft_core *c, struct buf *out)
{
    buf_reserve(out, 1 + 4 * VARINT_MAX);
    out->len = (size_t)(put_head(out->data + out->len, c) - out->data);
}

void raft_state_encode_entry(int64_t term, const void *data, size_t len,
                             struct buf *out)
{
    buf_reserve(out, 2 * VARINT_MAX + len);
    out->len =
        (size_t)(put_entry(out->data + out->len, term, data, len) - out->data);
}

struct reader {
    const uint8_t *p;
    size_t left;
    bool bad;
};

static uint64_t get_uvarint(struct reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->left == 0)
            break;
        uint8_t byte = *r->p++;
        r->left--;
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

/* A varint that must fit a non-negative int64 no larger than max. */
static int64_t get_bounded(struct reader *r, int64_t max)
{
    uint64_t v = get_uvarint(r);
    if (v > (uint64_t)max) {
        r->bad = true;
        return 0;
    }
    return (int64_t)v;
}

int raft_state_decode(const uint8_t *p, size_t len, int n,
                      struct raft_persisted *out)
{
    memset(out, 0, sizeof(*out));
    raft_log_init(&out->log);
    struct reader r = {p, len, false};
    if (len < 1 || p[0] != STATE_VERSION)
        return ERR_CORRUPT;
    r.p++, r.left--;
    out->current_term = get_bounded(&r, RAFT_MAX_TERM);
    out->voted_for = (int)get_bounded(&r, n) - 1;
    out->snap_index = get_bounded(&r, RAFT_MAX_INDEX);
    out->snap_term = get_bounded(&r, out->current_term);
    /* Each entry takes at least two bytes. */
    int64_t count = get_bounded(&r, (int64_t)(r.left / 2));
    if (r.bad)
        return ERR_CORRUPT;
    out->log.snap_index = out->snap_index;
    out->log.snap_term = out->snap_term;
    int64_t prev_term = out->snap_term;
    for (int64_t i = 0; i < count; i++) {
        int64_t term = get_bounded(&r, out->current_term);
        int64_t elen = get_bounded(&r, (int64_t)r.left);
        /* Terms never decrease along a log. */
        if (r.bad || term < prev_term) {
            raft_log_free(&out->log);
            return ERR_CORRUPT;
        }
        raft_log_append(&out->log, term, r.p, (size_t)elen);
        r.p += elen;
        r.left -= (size_t)elen;
        prev_term = term;
    }
    if (r.left != 0 ||
        out->snap_index + count > RAFT_MAX_INDEX) {
        raft_log_free(&out->log);
        return ERR_CORRUPT;
    }
    return 0;
}
