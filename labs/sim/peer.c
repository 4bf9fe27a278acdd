/* peer.c - a peer's life: boot, crash, restart from what it persisted,
 * and the "what to do afterwards" sequence of raft_core.h after every
 * event: PERSIST (encode_state + snapshot to the simulated disk), then
 * SEND (the reply first, then every popped request), then APPLY (to the
 * service, which may compact and so persist again). A crash throws away
 * everything but the disk; a crash "in the middle of an event" strikes
 * after the core changed in memory but before the persist step, so
 * nothing of that event survives or is sent. */
#include "common/buf.h"
#include "common/err.h"
#include "labs/sim/sim_internal.h"

static struct raft_core *new_core(struct sim_world *w, int i)
{
    struct raft_core_config cfg;
    raft_core_config_init(&cfg, i, w->n, rng_next(&w->rng));
    cfg.heartbeat_ms = w->prof.heartbeat_ms;
    cfg.election_min_ms = w->prof.election_min_ms;
    cfg.election_max_ms = w->prof.election_max_ms;
    cfg.max_batch_bytes = w->prof.max_batch_bytes;
    struct raft_core *c = raft_core_new(&cfg, w->now);
    if (!c)
        sim_fail(w, "Core contract", "raft_core_new refused peer %d of %d",
                 i, w->n);
    return c;
}

/* When the driver next ticks peer i: at the core's deadline, up to
 * tick_jitter ms late (a real driver polls). Redrawn only when the
 * deadline moves. */
static void retime(struct sim_world *w, int i)
{
    struct sim_peer *p = &w->peer[i];
    if (!p->core)
        return;
    uint64_t d = raft_core_next_deadline(p->core);
    if (d == p->deadline && p->tick_at != SIM_NONE)
        return;
    p->deadline = d;
    if (d == UINT64_MAX) {
        p->tick_at = SIM_NONE;
        return;
    }
    uint64_t t = d;
    if (w->prof.tick_jitter)
        t += rng_below(&w->rng, w->prof.tick_jitter + 1);
    p->tick_at = t < w->now ? w->now : t;
}

static void persist(struct sim_world *w, int i)
{
    struct sim_peer *p = &w->peer[i];
    if (!raft_core_need_persist(p->core))
        return;
    buf_clear(&p->disk_state);
    raft_core_encode_state(p->core, &p->disk_state);
    size_t len;
    const uint8_t *snap = raft_core_snapshot(p->core, &len);
    buf_clear(&p->disk_snap);
    buf_append(&p->disk_snap, snap, len);
    raft_core_persisted(p->core);
    sim_check_persisted(w, i);
}

void sim_peer_boot(struct sim_world *w, int i)
{
    struct sim_peer *p = &w->peer[i];
    buf_clear(&p->disk_state);
    buf_clear(&p->disk_snap);
    p->inc = 1;
    p->crash_pending = false;
    p->restart_at = SIM_NONE;
    p->tick_at = p->deadline = SIM_NONE;
    sim_service_reset(&p->svc);
    /* An empty disk: what a fresh core must look like. */
    p->sh.p_term = p->sh.p_snap_index = p->sh.p_snap_term = 0;
    p->sh.p_last = p->sh.p_last_term = 0;
    p->sh.p_vote = -1;
    p->core = new_core(w, i);
    if (!p->core)
        return;
    sim_check_booted(w, i);
    retime(w, i);
}

void sim_peer_crash(struct sim_world *w, int i)
{
    struct sim_peer *p = &w->peer[i];
    bool midway = p->crash_pending;
    raft_core_free(p->core);
    p->core = NULL;
    p->inc++; /* replies to the old incarnation's requests go nowhere */
    p->crash_pending = false;
    p->tick_at = p->deadline = SIM_NONE;
    p->restart_at = w->live ? SIM_NONE
                            : w->now + 1 +
                                  rng_below(&w->rng, w->prof.down_max_ms);
    w->stats.crashes++;
    sim_trace_note(w, SIM_TR_CRASH, i, -1, 0, midway, 0);
}

void sim_peer_restart(struct sim_world *w, int i)
{
    struct sim_peer *p = &w->peer[i];
    p->restart_at = SIM_NONE;
    p->core = new_core(w, i);
    if (!p->core)
        return;
    int rc = raft_core_restore(p->core, p->disk_state.data, p->disk_state.len,
                               p->disk_snap.data, p->disk_snap.len);
    if (rc != 0) {
        sim_fail(w, "Persistence",
                 "S%d cannot restore what it persisted (%zu + %zu bytes): %s",
                 i, p->disk_state.len, p->disk_snap.len, err_name(rc));
        return;
    }
    sim_trace_note(w, SIM_TR_RESTART, i, -1, raft_core_term(p->core),
                   raft_core_snapshot_index(p->core),
                   raft_core_last_index(p->core));
    sim_check_booted(w, i);
    sim_service_restore(w, i);
    retime(w, i);
}

void sim_peer_settle(struct sim_world *w, int i, uint32_t wire, bool primary,
                     const struct raft_msg *reply)
{
    struct sim_peer *p = &w->peer[i];
    if (p->crash_pending) {
        sim_peer_crash(w, i);
        if (wire)
            sim_net_send_reply(w, wire, primary, NULL);
        return;
    }
    /* 1. PERSIST */
    persist(w, i);
    /* 2. SEND: the reply, then the requests. */
    if (wire)
        sim_net_send_reply(w, wire, primary, reply);
    struct raft_msg *m;
    while ((m = raft_core_pop_msg(p->core)) != NULL)
        sim_net_send_request(w, i, m);
    /* 3. APPLY; the service may compact, which must reach the disk too
     * (nothing waits on it, but a crash must not lose the snapshot the
     * trimmed log depends on). */
    struct raft_apply a;
    while (!w->failed && raft_core_next_apply(p->core, &a))
        sim_service_apply(w, i, &a);
    persist(w, i);
    while ((m = raft_core_pop_msg(p->core)) != NULL)
        sim_net_send_request(w, i, m);
    retime(w, i);
}

void sim_peer_tick(struct sim_world *w, int i)
{
    struct sim_peer *p = &w->peer[i];
    raft_core_tick(p->core, w->now);
    sim_trace_note(w, SIM_TR_TICK, i, -1, raft_core_term(p->core),
                   raft_core_role(p->core), 0);
    p->tick_at = SIM_NONE; /* recompute even if the deadline is unchanged */
    sim_peer_settle(w, i, 0, false, NULL);
    if (p->core && raft_core_next_deadline(p->core) <= w->now)
        sim_fail(w, "Core contract",
                 "S%d: tick at %llu left next_deadline at %llu", i,
                 (unsigned long long)w->now,
                 (unsigned long long)raft_core_next_deadline(p->core));
}

int sim_peer_leader(const struct sim_world *w)
{
    int best = -1;
    int64_t best_term = -1;
    for (int i = 0; i < w->n; i++) {
        const struct raft_core *c = w->peer[i].core;
        if (c && raft_core_role(c) == RAFT_LEADER &&
            raft_core_term(c) > best_term) {
            best = i;
            best_term = raft_core_term(c);
        }
    }
    return best;
}
