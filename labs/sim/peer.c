/* peer.c - a peer's life: boot, crash, restart from what it persisted,
 * and after every event the core's updates carried out by
 * raft_ready_run() (raft/ready.h), as the real driver does: PERSIST
 * (encode_state + snapshot to the simulated disk), SEND (the requests,
 * then the reply), APPLY (to the service, which may compact and so
 * persist again). A crash throws away everything but the disk; a crash
 * "in the middle of an event" strikes after the core changed in memory
 * but before its update reached the disk: nothing of that event survives,
 * and only the requests allowed out before their update is durable (a
 * leader's early AppendEntries, Raft thesis §10.2.1) were sent. */
#include "common/buf.h"
#include "common/err.h"
#include "labs/sim/sim_internal.h"
#include "raft/ready.h"

static struct raft_core *new_core(struct sim_world *w, int i)
{
    struct raft_core_config cfg;
    raft_core_config_init(&cfg, i, w->n, rng_next(&w->rng));
    cfg.heartbeat_ms = w->prof.heartbeat_ms;
    cfg.election_min_ms = w->prof.election_min_ms;
    cfg.election_max_ms = w->prof.election_max_ms;
    cfg.max_batch_bytes = w->prof.max_batch_bytes;
    cfg.batch_ms = w->prof.batch_ms;
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

/* raft_ready_run()'s callbacks for peer i; wire/primary: the request
 * whose reply the event released. */
struct settle {
    struct sim_world *w;
    int i;
    uint32_t wire;
    bool primary;
    bool replied;
};

static enum raft_ready_stored disk_persist(void *ctx, struct raft_core *c,
                                           const struct raft_update *u)
{
    struct settle *x = ctx;
    struct sim_peer *p = &x->w->peer[x->i];
    if (p->crash_pending)
        return RAFT_READY_LOST;
    bool changed = raft_update_changed(u);
    if (p->nwrites || (x->w->prof.disk_delay_max && changed)) {
        /* Durable behind the slow writes: a record for it, unless it has
         * nothing to store or hold (the last one stands for it). */
        bool holds = x->wire && !x->replied;
        for (size_t k = 0; k < u->n_msgs && !holds; k++)
            holds = !u->msgs[k]->early;
        if (changed || holds)
            sim_disk_write(x->w, x->i, c, u);
        return RAFT_READY_PENDING;
    }
    if (!raft_update_changed(u))
        return RAFT_READY_DURABLE;
    buf_clear(&p->disk_state);
    raft_core_encode_state(c, &p->disk_state);
    buf_clear(&p->disk_snap);
    buf_append(&p->disk_snap, u->snap, u->snap_len);
    sim_check_persisted(x->w, x->i);
    return RAFT_READY_DURABLE;
}

static void net_send(void *ctx, struct raft_msg *m, bool held)
{
    struct settle *x = ctx;
    if (held)
        sim_disk_hold_msg(x->w, x->i, m);
    else
        sim_net_send_request(x->w, x->i, m);
}

static void net_reply(void *ctx, const struct raft_msg *reply, bool held)
{
    struct settle *x = ctx;
    x->replied = true;
    if (held)
        sim_disk_hold_reply(x->w, x->i, x->wire, x->primary, reply);
    else
        sim_net_send_reply(x->w, x->wire, x->primary, reply);
}

static void service_apply(void *ctx, const struct raft_apply *a)
{
    struct settle *x = ctx;
    if (!x->w->failed)
        sim_service_apply(x->w, x->i, a);
}

static const struct raft_ready_ops settle_ops = {
    .persist = disk_persist,
    .send = net_send,
    .reply = net_reply,
    .apply = service_apply,
};

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
    sim_disk_drop(w, i, true); /* writes not yet durable are lost */
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
    struct settle x = {w, i, wire, primary, false};
    if (!raft_ready_run(w->peer[i].core, &settle_ops, &x, wire ? reply : NULL,
                        w->now)) {
        /* The crash struck midway: the reply never leaves. */
        sim_check_crashing(w, i);
        sim_peer_crash(w, i);
        if (wire)
            sim_net_send_reply(w, wire, primary, NULL);
        return;
    }
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
