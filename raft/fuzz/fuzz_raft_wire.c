/* fuzz_raft_wire.c - libFuzzer target for the Raft message decoder: the
 * bytes a peer (or an attacker) sends as a Raft RPC's argument or reply,
 * through the RPC layer's scanner and bounded unpack (as the server runs
 * them) into raft_wire_decode.
 *
 * Input: byte 0 picks the message type; the rest is one msgpack object.
 * Besides sanitizer findings it aborts if a decoded message breaks the
 * decoder's promises (terms/indices within [0, RAFT_MAX_TERM], peer ids
 * within bounds, entries within RAFT_WIRE_MAX_ENTRIES) or does not survive
 * an encode/decode round trip unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "raft/raft_internal.h"
#include "raft/wire.h"
#include "rpc/rpc.h"
#include "rpc/rpc_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool in_range(int64_t v) { return v >= 0 && v <= RAFT_MAX_TERM; }

static void check_invariants(const struct raft_msg *m)
{
    if (!in_range(m->term))
        abort();
    switch (m->type) {
    case RAFT_MSG_REQUEST_VOTE:
        if (m->from < 0 || m->from > RAFT_MAX_PEERS ||
            !in_range(m->rv.last_log_index) || !in_range(m->rv.last_log_term))
            abort();
        break;
    case RAFT_MSG_APPEND_ENTRIES:
        if (m->from < 0 || m->from > RAFT_MAX_PEERS ||
            !in_range(m->ae.prev_log_index) || !in_range(m->ae.prev_log_term) ||
            !in_range(m->ae.leader_commit) ||
            m->ae.n_entries > RAFT_WIRE_MAX_ENTRIES ||
            (m->ae.n_entries && !m->ae.entries))
            abort();
        for (size_t i = 0; i < m->ae.n_entries; i++)
            if (!in_range(m->ae.entries[i].term) ||
                (m->ae.entries[i].len && !m->ae.entries[i].data))
                abort();
        break;
    case RAFT_MSG_APPEND_ENTRIES_REPLY:
        if (!in_range(m->aer.conflict_term) ||
            !in_range(m->aer.conflict_index) || !in_range(m->aer.log_len))
            abort();
        break;
    case RAFT_MSG_INSTALL_SNAPSHOT:
        if (m->from < 0 || m->from > RAFT_MAX_PEERS ||
            !in_range(m->is.last_included_index) ||
            !in_range(m->is.last_included_term) || (m->is.len && !m->is.data))
            abort();
        break;
    default:
        break;
    }
}

static bool same(const struct raft_msg *a, const struct raft_msg *b)
{
    if (a->type != b->type || a->term != b->term)
        return false;
    switch (a->type) {
    case RAFT_MSG_REQUEST_VOTE:
        return a->from == b->from &&
               a->rv.last_log_index == b->rv.last_log_index &&
               a->rv.last_log_term == b->rv.last_log_term;
    case RAFT_MSG_REQUEST_VOTE_REPLY:
        return a->rvr.vote_granted == b->rvr.vote_granted;
    case RAFT_MSG_APPEND_ENTRIES:
        if (a->from != b->from || a->ae.prev_log_index != b->ae.prev_log_index ||
            a->ae.prev_log_term != b->ae.prev_log_term ||
            a->ae.leader_commit != b->ae.leader_commit ||
            a->ae.n_entries != b->ae.n_entries)
            return false;
        for (size_t i = 0; i < a->ae.n_entries; i++) {
            const struct raft_entry *x = &a->ae.entries[i], *y = &b->ae.entries[i];
            if (x->term != y->term || x->len != y->len ||
                (x->len && memcmp(x->data, y->data, x->len) != 0))
                return false;
        }
        return true;
    case RAFT_MSG_APPEND_ENTRIES_REPLY:
        return a->aer.success == b->aer.success &&
               (!a->aer.success ? a->aer.conflict_term == b->aer.conflict_term &&
                                      a->aer.conflict_index == b->aer.conflict_index &&
                                      a->aer.log_len == b->aer.log_len
                                : true);
    case RAFT_MSG_INSTALL_SNAPSHOT:
        return a->from == b->from &&
               a->is.last_included_index == b->is.last_included_index &&
               a->is.last_included_term == b->is.last_included_term &&
               a->is.len == b->is.len &&
               (a->is.len == 0 || memcmp(a->is.data, b->is.data, a->is.len) == 0);
    default:
        return true;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum raft_msg_type type = (enum raft_msg_type)(1 + data[0] % 6);
    data++;
    size--;
    /* What the server's reader does before a handler sees the args. */
    struct rpc_limits lim;
    rpc_limits_for(&lim, 1u << 20);
    size_t len = 0;
    if (rpc_scan_object(data, size, &lim, &len) != 1)
        return 0;
    msgpack_zone *z = msgpack_zone_new(8192);
    msgpack_object obj;
    struct raft_msg m;
    if (rpc_wire_unpack(data, len, z, &obj) == 0 &&
        raft_wire_decode(&obj, type, &m) == 0) {
        check_invariants(&m);
        /* Round trip: what we would send for it decodes to the same. */
        struct buf b = BUF_INIT;
        msgpack_packer pk;
        msgpack_packer_init(&pk, &b, buf_msgpack_write);
        if (raft_wire_encode(&pk, &m) == 0) {
            msgpack_zone *z2 = msgpack_zone_new(8192);
            msgpack_object o2;
            struct raft_msg m2;
            size_t l2 = 0;
            if (rpc_scan_object(b.data, b.len, &lim, &l2) != 1 || l2 != b.len ||
                rpc_wire_unpack(b.data, b.len, z2, &o2) != 0 ||
                raft_wire_decode(&o2, type, &m2) != 0 || !same(&m, &m2))
                abort();
            raft_wire_clear(&m2);
            msgpack_zone_free(z2);
        }
        buf_free(&b);
        raft_wire_clear(&m);
    }
    msgpack_zone_free(z);
    return 0;
}
