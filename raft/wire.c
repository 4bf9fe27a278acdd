/* wire.c - msgpack encoding and decoding of Raft messages (see wire.h). */
/* SOLUTION FILE */
#include "raft/wire.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "raft/raft_internal.h"
#include "rpc/rpc.h"

const char *raft_wire_method(enum raft_msg_type type)
{
    switch (type) {
    case RAFT_MSG_REQUEST_VOTE:
        return "Raft.RequestVote";
    case RAFT_MSG_APPEND_ENTRIES:
        return "Raft.AppendEntries";
    case RAFT_MSG_INSTALL_SNAPSHOT:
        return "Raft.InstallSnapshot";
    default:
        return NULL;
    }
}

const char *raft_wire_method_short(enum raft_msg_type type)
{
    const char *m = raft_wire_method(type);
    return m ? m + strlen("Raft.") : NULL;
}

int raft_wire_encode(msgpack_packer *pk, const struct raft_msg *m)
{
    switch (m->type) {
    case RAFT_MSG_REQUEST_VOTE:
        msgpack_pack_map(pk, 4);
        rpc_pack_kv_i64(pk, "t", m->term);
        rpc_pack_kv_i64(pk, "f", m->from);
        rpc_pack_kv_i64(pk, "li", m->rv.last_log_index);
        rpc_pack_kv_i64(pk, "lt", m->rv.last_log_term);
        break;
    case RAFT_MSG_REQUEST_VOTE_REPLY:
        msgpack_pack_map(pk, 2);
        rpc_pack_kv_i64(pk, "t", m->term);
        rpc_pack_kv_bool(pk, "g", m->rvr.vote_granted);
        break;
    case RAFT_MSG_APPEND_ENTRIES:
        msgpack_pack_map(pk, m->ae.n_entries ? 6 : 5);
        rpc_pack_kv_i64(pk, "t", m->term);
        rpc_pack_kv_i64(pk, "f", m->from);
        rpc_pack_kv_i64(pk, "pi", m->ae.prev_log_index);
        rpc_pack_kv_i64(pk, "pt", m->ae.prev_log_term);
        rpc_pack_kv_i64(pk, "c", m->ae.leader_commit);
        if (m->ae.n_entries) {
            rpc_pack_key(pk, "e");
            msgpack_pack_array(pk, m->ae.n_entries);
            for (size_t i = 0; i < m->ae.n_entries; i++) {
                const struct raft_entry *e = &m->ae.entries[i];
                msgpack_pack_array(pk, 2);
                msgpack_pack_int64(pk, e->term);
                rpc_pack_bin(pk, e->data, e->len);
            }
        }
        break;
    case RAFT_MSG_APPEND_ENTRIES_REPLY:
        msgpack_pack_map(pk, m->aer.success ? 2 : 5);
        rpc_pack_kv_i64(pk, "t", m->term);
        rpc_pack_kv_bool(pk, "s", m->aer.success);
        if (!m->aer.success) {
            rpc_pack_kv_i64(pk, "xt", m->aer.conflict_term);
            rpc_pack_kv_i64(pk, "xi", m->aer.conflict_index);
            rpc_pack_kv_i64(pk, "xl", m->aer.log_len);
        }
        break;
    case RAFT_MSG_INSTALL_SNAPSHOT:
        msgpack_pack_map(pk, 5);
        rpc_pack_kv_i64(pk, "t", m->term);
        rpc_pack_kv_i64(pk, "f", m->from);
        rpc_pack_kv_i64(pk, "li", m->is.last_included_index);
        rpc_pack_kv_i64(pk, "lt", m->is.last_included_term);
        rpc_pack_kv_bin(pk, "d", m->is.data, m->is.len);
        break;
    case RAFT_MSG_INSTALL_SNAPSHOT_REPLY:
        msgpack_pack_map(pk, 1);
        rpc_pack_kv_i64(pk, "t", m->term);
        break;
    default:
        return ERR_INVAL;
    }
    return 0;
}

/* A non-negative integer field that fits an int (peer ids). */
static int dec_peer(struct rpc_dec *d, const char *key)
{
    int64_t v = rpc_dec_i64(d, key, -1);
    if (v < 0 || v > RAFT_MAX_PEERS)
        d->err = ERR_BADARGS;
    return (int)v;
}

/* Terms and indices: >= 0 and within the bounds the core and the
 * persisted state accept (RAFT_MAX_TERM == RAFT_MAX_INDEX), so no decoded
 * value is one the state could not store and reload. */
static int64_t dec_nonneg(struct rpc_dec *d, const char *key)
{
    int64_t v = rpc_dec_i64(d, key, 0);
    if (v < 0 || v > RAFT_MAX_TERM)
        d->err = ERR_BADARGS;
    return v;
}

static int dec_entries(struct rpc_dec *d, struct raft_msg *out)
{
    const msgpack_object *items = NULL;
    uint32_t n = rpc_dec_array(d, "e", &items);
    if (d->err || n == 0)
        return d->err;
    if (n > RAFT_WIRE_MAX_ENTRIES)
        return ERR_BADARGS;
    struct raft_entry *es = xcalloc(n, sizeof(*es));
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *o = &items[i];
        const char *p = NULL;
        size_t len = 0;
        int64_t term;
        if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2 ||
            rpc_obj_i64(&o->via.array.ptr[0], &term) != 0 || term < 0 ||
            term > RAFT_MAX_TERM ||
            rpc_obj_bytes(&o->via.array.ptr[1], &p, &len) != 0) {
            free(es);
            return ERR_BADARGS;
        }
        es[i].term = term;
        es[i].data = (const uint8_t *)p;
        es[i].len = len;
    }
    out->owned = es;
    out->ae.entries = es;
    out->ae.n_entries = n;
    return 0;
}

int raft_wire_decode(const msgpack_object *obj, enum raft_msg_type type,
                     struct raft_msg *out)
{
    memset(out, 0, sizeof(*out));
    out->type = type;
    out->from = -1;
    out->to = -1;
    struct rpc_dec d;
    rpc_dec_init(&d, obj);
    out->term = dec_nonneg(&d, "t");
    switch (type) {
    case RAFT_MSG_REQUEST_VOTE:
        out->from = dec_peer(&d, "f");
        out->rv.last_log_index = dec_nonneg(&d, "li");
        out->rv.last_log_term = dec_nonneg(&d, "lt");
        break;
    case RAFT_MSG_REQUEST_VOTE_REPLY:
        out->rvr.vote_granted = rpc_dec_bool(&d, "g", false);
        break;
    case RAFT_MSG_APPEND_ENTRIES:
        out->from = dec_peer(&d, "f");
        out->ae.prev_log_index = dec_nonneg(&d, "pi");
        out->ae.prev_log_term = dec_nonneg(&d, "pt");
        out->ae.leader_commit = dec_nonneg(&d, "c");
        if (d.err == 0)
            d.err = dec_entries(&d, out);
        break;
    case RAFT_MSG_APPEND_ENTRIES_REPLY:
        out->aer.success = rpc_dec_bool(&d, "s", false);
        out->aer.conflict_term = dec_nonneg(&d, "xt");
        out->aer.conflict_index = dec_nonneg(&d, "xi");
        out->aer.log_len = dec_nonneg(&d, "xl");
        break;
    case RAFT_MSG_INSTALL_SNAPSHOT: {
        out->from = dec_peer(&d, "f");
        out->is.last_included_index = dec_nonneg(&d, "li");
        out->is.last_included_term = dec_nonneg(&d, "lt");
        size_t len = 0;
        const char *p = rpc_dec_bytes(&d, "d", &len);
        out->is.data = (const uint8_t *)p;
        out->is.len = p ? len : 0;
        break;
    }
    case RAFT_MSG_INSTALL_SNAPSHOT_REPLY:
        break;
    default:
        d.err = ERR_BADARGS;
    }
    if (d.err) {
        raft_wire_clear(out);
        return ERR_BADARGS;
    }
    return 0;
}

void raft_wire_clear(struct raft_msg *m)
{
    free(m->owned);
    m->owned = NULL;
    if (m->type == RAFT_MSG_APPEND_ENTRIES) {
        m->ae.entries = NULL;
        m->ae.n_entries = 0;
    }
}
