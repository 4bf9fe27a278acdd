/* service.c - the state machine on each peer, and the clients.
 *
 * A command is its unique 8-byte id followed by pad bytes derived from the
 * id (so corruption or mix-ups in the core's copying are caught). The
 * service state is a hash chain over (index, command id): equal hashes at
 * an index mean equal histories, which check.c compares across peers.
 * Every K applied entries the service snapshots (magic, index, term, hash,
 * pad) and calls raft_core_compact(); snapshots from the leader arrive
 * through raft_core_next_apply() and replace the state.
 *
 * Clients propose to whoever claims leadership (sometimes to a random
 * peer, which must refuse), in bursts now and then. In the liveness phase
 * they propose "final" commands until one is applied everywhere. */
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "labs/sim/sim_internal.h"

#define SNAP_MAGIC UINT32_C(0x314d4953) /* "SIM1" */
#define SNAP_HDR (4 + 8 + 8 + 8 + 4)

static uint64_t chain(uint64_t h, uint64_t cmd, int64_t index)
{
    return sim_mix(h ^ sim_mix(cmd + (uint64_t)index *
                                         UINT64_C(0x9e3779b97f4a7c15)));
}

static uint8_t pad_byte(uint64_t seed, size_t k)
{
    return (uint8_t)(seed * 131 + k * 7 + (k >> 8));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int k = 0; k < 8; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v |= (uint64_t)p[k] << (8 * k);
    return v;
}

bool sim_cmd_id(const uint8_t *data, size_t len, uint64_t *id)
{
    if (len < SIM_CMD_HDR || !data)
        return false;
    *id = get64(data);
    return true;
}

bool sim_cmd_valid(const uint8_t *data, size_t len, uint64_t *id)
{
    if (!sim_cmd_id(data, len, id))
        return false;
    for (size_t k = SIM_CMD_HDR; k < len; k++)
        if (data[k] != pad_byte(*id, k))
            return false;
    return true;
}

static void cmd_encode(struct buf *b, uint64_t id, size_t pad)
{
    buf_clear(b);
    buf_reserve(b, SIM_CMD_HDR + pad);
    put64(b->data, id);
    for (size_t k = SIM_CMD_HDR; k < SIM_CMD_HDR + pad; k++)
        b->data[k] = pad_byte(id, k);
    b->len = SIM_CMD_HDR + pad;
}

static void snap_encode(struct buf *b, int64_t index, int64_t term,
                        uint64_t hash, uint32_t pad)
{
    buf_clear(b);
    buf_reserve(b, SNAP_HDR + pad);
    uint8_t *p = b->data;
    for (int k = 0; k < 4; k++)
        p[k] = (uint8_t)(SNAP_MAGIC >> (8 * k));
    put64(p + 4, (uint64_t)index);
    put64(p + 12, (uint64_t)term);
    put64(p + 20, hash);
    for (int k = 0; k < 4; k++)
        p[28 + k] = (uint8_t)(pad >> (8 * k));
    for (size_t k = SNAP_HDR; k < SNAP_HDR + pad; k++)
        p[k] = pad_byte(hash, k);
    b->len = SNAP_HDR + pad;
}

static bool snap_decode(const uint8_t *p, size_t len, int64_t *index,
                        int64_t *term, uint64_t *hash)
{
    if (len < SNAP_HDR || !p)
        return false;
    uint32_t magic = 0, pad = 0;
    for (int k = 0; k < 4; k++) {
        magic |= (uint32_t)p[k] << (8 * k);
        pad |= (uint32_t)p[28 + k] << (8 * k);
    }
    if (magic != SNAP_MAGIC || len != SNAP_HDR + (size_t)pad)
        return false;
    *index = (int64_t)get64(p + 4);
    *term = (int64_t)get64(p + 12);
    *hash = get64(p + 20);
    for (size_t k = SNAP_HDR; k < len; k++)
        if (p[k] != pad_byte(*hash, k))
            return false;
    return *index > 0 && *term > 0;
}

void sim_service_reset(struct sim_service *s)
{
    memset(s, 0, sizeof(*s));
}

static void apply_command(struct sim_world *w, int i,
                          const struct raft_apply *a)
{
    struct sim_peer *p = &w->peer[i];
    struct sim_service *s = &p->svc;
    uint64_t id;
    if (a->index != s->applied + 1) {
        sim_fail(w, "State Machine Safety",
                 "S%d was handed command index %lld right after %lld "
                 "(applies must be in order, without gaps)",
                 i, (long long)a->index, (long long)s->applied);
        return;
    }
    if (!sim_cmd_valid(a->data, a->len, &id)) {
        sim_fail(w, "State Machine Safety",
                 "S%d was handed corrupt command bytes at index %lld "
                 "(%zu bytes)", i, (long long)a->index, a->len);
        return;
    }
    uint64_t h = chain(s->hash, id, a->index);
    sim_check_applied(w, i, a->index, a->term, id, true, h);
    s->applied = a->index;
    s->term = a->term;
    s->hash = h;
    if ((id & SIM_CMD_FINAL) && w->final_index == 0)
        w->final_index = a->index;
    int k = w->prof.snap_every;
    if (k > 0 && s->applied - s->snap_at >= k) {
        uint32_t pad = w->prof.snap_pad_max
                           ? (uint32_t)rng_below(&w->rng,
                                                 w->prof.snap_pad_max + 1)
                           : 0;
        snap_encode(&w->scratch, s->applied, s->term, s->hash, pad);
        int rc = raft_core_compact(p->core, s->applied, w->scratch.data,
                                   w->scratch.len);
        if (rc != 0)
            sim_fail(w, "Core contract",
                     "S%d: raft_core_compact(%lld) after applying it: %s", i,
                     (long long)s->applied, err_name(rc));
        s->snap_at = s->applied;
        sim_trace_note(w, SIM_TR_COMPACT, i, -1, s->term, s->applied,
                       (int64_t)w->scratch.len);
    }
}

/* Peer i's service state becomes the snapshot (index, term, hash): from
 * the leader (apply) or from its own disk (restart). The state must agree
 * with what every peer applied at that index. */
static void adopt_snapshot(struct sim_world *w, int i, int64_t index,
                           int64_t term, uint64_t hash)
{
    struct sim_service *s = &w->peer[i].svc;
    sim_check_applied(w, i, index, term, 0, false, hash);
    s->applied = index;
    s->term = term;
    s->hash = hash;
    s->snap_at = index;
}

static void apply_snapshot(struct sim_world *w, int i,
                           const struct raft_apply *a)
{
    struct sim_service *s = &w->peer[i].svc;
    int64_t index, term;
    uint64_t hash;
    if (!snap_decode(a->data, a->len, &index, &term, &hash)) {
        sim_fail(w, "State Machine Safety",
                 "S%d was handed corrupt snapshot bytes for index %lld "
                 "(%zu bytes)", i, (long long)a->index, a->len);
        return;
    }
    if (index != a->index || term != a->term) {
        sim_fail(w, "State Machine Safety",
                 "S%d was handed a snapshot as %lld/T%lld that holds "
                 "%lld/T%lld", i, (long long)a->index, (long long)a->term,
                 (long long)index, (long long)term);
        return;
    }
    if (index <= s->applied) {
        sim_fail(w, "State Machine Safety",
                 "S%d was handed a snapshot through %lld after applying "
                 "through %lld (the service would move backwards)",
                 i, (long long)index, (long long)s->applied);
        return;
    }
    adopt_snapshot(w, i, index, term, hash);
    w->stats.installs++;
    sim_trace_note(w, SIM_TR_INSTALL, i, -1, term, index, (int64_t)a->len);
}

void sim_service_apply(struct sim_world *w, int i, const struct raft_apply *a)
{
    if (a->is_snapshot)
        apply_snapshot(w, i, a);
    else
        apply_command(w, i, a);
}

void sim_service_restore(struct sim_world *w, int i)
{
    struct sim_peer *p = &w->peer[i];
    struct sim_service *s = &p->svc;
    sim_service_reset(s);
    if (p->disk_snap.len == 0) {
        if (raft_core_snapshot_index(p->core) != 0)
            sim_fail(w, "Persistence",
                     "S%d restored snapshot index %lld but no snapshot "
                     "bytes were persisted", i,
                     (long long)raft_core_snapshot_index(p->core));
        return;
    }
    int64_t index, term;
    uint64_t hash;
    if (!snap_decode(p->disk_snap.data, p->disk_snap.len, &index, &term,
                     &hash)) {
        sim_fail(w, "Persistence", "S%d persisted corrupt snapshot bytes",
                 i);
        return;
    }
    if (index != raft_core_snapshot_index(p->core) ||
        term != raft_core_snapshot_term(p->core)) {
        sim_fail(w, "Persistence",
                 "S%d persisted a snapshot of %lld/T%lld with state that "
                 "says %lld/T%lld", i, (long long)index, (long long)term,
                 (long long)raft_core_snapshot_index(p->core),
                 (long long)raft_core_snapshot_term(p->core));
        return;
    }
    /* As in 6.5840 the service reads its snapshot from the persister. */
    adopt_snapshot(w, i, index, term, hash);
}

/* ------------------------------------------------------------------------
 * Clients */

/* Propose command id at peer i; checks the contract of raft_core_propose.
 * Returns true if accepted. */
static bool propose(struct sim_world *w, int i, uint64_t id)
{
    struct raft_core *c = w->peer[i].core;
    uint32_t pad = w->prof.pad_max
                       ? (uint32_t)rng_below(&w->rng, w->prof.pad_max + 1)
                       : 0;
    cmd_encode(&w->scratch, id, pad);
    bool leader = raft_core_role(c) == RAFT_LEADER;
    int64_t last = raft_core_last_index(c), index = -1, term = -1;
    int rc = raft_core_propose(c, w->scratch.data, w->scratch.len, w->now,
                               &index, &term);
    if (rc == 0) {
        if (!leader || index != last + 1 || term != raft_core_term(c))
            sim_fail(w, "Core contract",
                     "S%d (%s, T%lld, last %lld) accepted a command as "
                     "%lld/T%lld", i, leader ? "leader" : "not leader",
                     (long long)raft_core_term(c), (long long)last,
                     (long long)index, (long long)term);
        sim_trace_note(w, SIM_TR_PROPOSE, i, -1, term, index,
                       (int64_t)(id & ~SIM_CMD_FINAL));
        return true;
    }
    if (rc != ERR_WRONG_LEADER || leader)
        sim_fail(w, "Core contract", "S%d (%s) refused a command: %s", i,
                 leader ? "leader" : "not leader", err_name(rc));
    sim_trace_note(w, SIM_TR_REJECTED, i, -1, raft_core_term(c), 0, 0);
    return false;
}

/* Liveness phase: keep offering a final command to the leader (again if
 * leadership moved or a second passed) until one is applied everywhere. */
static void client_final(struct sim_world *w)
{
    int l = sim_peer_leader(w);
    if (l >= 0) {
        int64_t term = raft_core_term(w->peer[l].core);
        if (w->final_leader != l || w->final_term != term ||
            w->now - w->final_at >= 1000) {
            if (propose(w, l, SIM_CMD_FINAL | ++w->next_cmd)) {
                w->final_leader = l;
                w->final_term = term;
                w->final_at = w->now;
            }
            sim_peer_settle(w, l, 0, false, NULL);
        }
    }
    w->client_at = w->now + 10 + rng_below(&w->rng, 40);
}

void sim_client_step(struct sim_world *w)
{
    if (w->live) {
        client_final(w);
        return;
    }
    int leaders[SIM_MAX_PEERS], up[SIM_MAX_PEERS], nl = 0, nu = 0;
    for (int i = 0; i < w->n; i++) {
        if (!w->peer[i].core)
            continue;
        up[nu++] = i;
        if (raft_core_role(w->peer[i].core) == RAFT_LEADER)
            leaders[nl++] = i;
    }
    w->client_at = w->now + 1 + rng_below(&w->rng, 2 * w->prof.client_mean_ms);
    int target;
    if (nl > 0 && rng_below(&w->rng, 5) != 0)
        target = leaders[rng_below(&w->rng, (uint64_t)nl)];
    else if (nu > 0)
        target = up[rng_below(&w->rng, (uint64_t)nu)];
    else
        return;
    int count = sim_chance(w, w->prof.burst)
                    ? 2 + (int)rng_below(&w->rng, 7)
                    : 1;
    const struct raft_core *c = w->peer[target].core;
    for (int k = 0; k < count && !w->failed; k++) {
        if (raft_core_role(c) == RAFT_LEADER &&
            raft_core_last_index(c) - raft_core_commit_index(c) >=
                w->prof.window)
            break; /* the clients are all waiting for replies */
        if (!propose(w, target, ++w->next_cmd))
            break;
    }
    sim_peer_settle(w, target, 0, false, NULL);
}
