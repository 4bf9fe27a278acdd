/* fault.c - what can go wrong, and how often. Each schedule draws its own
 * fault profile from the seed (so some seeds are calm, some lossy, some
 * crash-heavy, some all of it at once), then a nemesis acts at random
 * times: random partitions (often leaving the leader in a minority),
 * one-way link cuts, heals, and crashes (often of the leader, sometimes in
 * the middle of an event, before its state reached the disk). */
#include "labs/sim/sim_internal.h"

#define PICK(r, arr) ((arr)[rng_below((r), sizeof(arr) / sizeof((arr)[0]))])

void sim_profile_draw(struct sim_world *w)
{
    struct sim_profile *p = &w->prof;
    struct rng *r = &w->rng;
    static const int sizes[] = {3, 3, 5, 5, 7};
    static const uint32_t loss[] = {0, 0, 10000, 50000, 100000, 200000,
                                    350000};
    static const uint32_t dups[] = {0, 0, 10000, 50000, 150000};
    static const uint32_t rare[] = {0, 0, 10000};
    static const uint32_t delays[] = {2, 10, 30, 80};
    static const uint32_t stragglers[] = {0, 0, 5000, 20000};
    static const uint32_t straggle_ms[] = {300, 2000};
    static const uint32_t fail_after[] = {50, 250};
    static const uint32_t fault_mean[] = {0, 150, 400, 1000, 2500};
    static const uint32_t aim[] = {0, 300000, 700000};
    static const uint32_t midway[] = {0, 300000};
    static const uint32_t down[] = {100, 1000, 4000};
    static const int snap_every[] = {0, 1, 3, 10, 50};
    static const uint32_t snap_pad[] = {0, 64, 5000};
    static const uint32_t client_mean[] = {10, 40, 150};
    static const uint32_t bursts[] = {0, 100000};
    static const int64_t windows[] = {1, 4, 16, 64};
    static const uint32_t pads[] = {0, 16, 200, 3000};
    static const size_t batches[] = {RAFT_MAX_BATCH_BYTES,
                                     RAFT_MAX_BATCH_BYTES, 64, 1000};
    static const uint32_t jitters[] = {0, 2, 10};
    static const uint32_t disk_delays[] = {0, 0, 3, 30};
    static const uint32_t batch_windows[] = {0, RAFT_BATCH_MS, RAFT_BATCH_MS,
                                             20};

    /* Always draw the size, so --peers keeps the rest of the profile. */
    int n = PICK(r, sizes);
    p->n = w->opt.peers ? w->opt.peers : n;
    p->drop_req = PICK(r, loss);
    p->drop_rep = PICK(r, loss);
    p->dup_req = PICK(r, dups);
    p->dup_rep = PICK(r, dups);
    p->spurious_fail = PICK(r, rare);
    p->delay_min = (uint32_t)rng_below(r, 2);
    p->delay_max = PICK(r, delays);
    p->long_delay = PICK(r, stragglers);
    p->long_delay_max = PICK(r, straggle_ms);
    p->fail_after_max = PICK(r, fail_after);
    p->fault_mean_ms = PICK(r, fault_mean);
    p->w_partition = 30;
    p->w_oneway = 10;
    p->w_heal = 30;
    p->w_crash = rng_below(r, 4) ? 30 : 0;
    p->nemesis = PICK(r, aim);
    p->mid_crash = PICK(r, midway);
    p->down_max_ms = PICK(r, down);
    p->snap_every = PICK(r, snap_every);
    p->snap_pad_max = PICK(r, snap_pad);
    p->client_mean_ms = PICK(r, client_mean);
    p->burst = PICK(r, bursts);
    p->window = PICK(r, windows);
    p->pad_max = PICK(r, pads);
    /* Mostly the real timing; sometimes tight timeouts, which make
     * elections race with slow messages far more often. */
    if (rng_below(r, 4)) {
        p->heartbeat_ms = RAFT_HEARTBEAT_MS;
        p->election_min_ms = RAFT_ELECTION_MIN_MS;
        p->election_max_ms = RAFT_ELECTION_MAX_MS;
    } else {
        p->heartbeat_ms = 50;
        p->election_min_ms = 150;
        p->election_max_ms = 300;
    }
    p->max_batch_bytes = PICK(r, batches);
    p->tick_jitter = PICK(r, jitters);
    p->disk_delay_max = PICK(r, disk_delays);
    p->batch_ms = PICK(r, batch_windows);
}

uint64_t sim_fault_delay(struct sim_world *w)
{
    const struct sim_profile *p = &w->prof;
    uint64_t d = p->delay_min +
                 rng_below(&w->rng, p->delay_max - p->delay_min + 1);
    if (sim_chance(w, p->long_delay))
        d += rng_below(&w->rng, p->long_delay_max + 1);
    return d;
}

static int popcount(uint32_t x)
{
    return __builtin_popcount(x);
}

/* The current leader, when the nemesis is in the mood to aim at it. */
static int aimed_leader(struct sim_world *w)
{
    int lead = sim_peer_leader(w);
    return lead >= 0 && sim_chance(w, w->prof.nemesis) ? lead : -1;
}

static void partition(struct sim_world *w)
{
    int n = w->n;
    if (n < 2)
        return;
    uint32_t all = (1u << n) - 1, side = 0;
    int lead = aimed_leader(w);
    if (lead >= 0) {
        /* The leader with a minority: it must lose its leadership (or
         * rather, the majority side must elect another). */
        side = 1u << lead;
        for (int i = 0; i < n; i++)
            if (i != lead && popcount(side) < (n - 1) / 2 &&
                rng_below(&w->rng, 3) == 0)
                side |= 1u << i;
    } else {
        for (int i = 0; i < n; i++)
            if (rng_below(&w->rng, 2))
                side |= 1u << i;
        if (side == 0 || side == all)
            side ^= 1u << rng_below(&w->rng, (uint64_t)n);
    }
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++)
            w->link[a][b] = ((side >> a) & 1) == ((side >> b) & 1);
    w->stats.partitions++;
    sim_trace_note(w, SIM_TR_PARTITION, -1, -1, 0, side, n);
}

static void cut(struct sim_world *w)
{
    if (w->n < 2)
        return;
    int a = (int)rng_below(&w->rng, (uint64_t)w->n);
    int b = (a + 1 + (int)rng_below(&w->rng, (uint64_t)w->n - 1)) % w->n;
    w->link[a][b] = false;
    sim_trace_note(w, SIM_TR_CUT, a, b, 0, 0, 0);
}

static void heal_links(struct sim_world *w)
{
    for (int a = 0; a < w->n; a++)
        for (int b = 0; b < w->n; b++)
            w->link[a][b] = true;
}

static void crash(struct sim_world *w)
{
    int victim = aimed_leader(w);
    if (victim < 0) {
        int up[SIM_MAX_PEERS], nup = 0;
        for (int i = 0; i < w->n; i++)
            if (w->peer[i].core && !w->peer[i].crash_pending)
                up[nup++] = i;
        if (nup == 0)
            return;
        victim = up[rng_below(&w->rng, (uint64_t)nup)];
    }
    if (sim_chance(w, w->prof.mid_crash))
        w->peer[victim].crash_pending = true; /* see sim_peer_settle */
    else
        sim_peer_crash(w, victim);
}

void sim_fault_step(struct sim_world *w)
{
    const struct sim_profile *p = &w->prof;
    uint64_t x = rng_below(&w->rng, p->w_partition + p->w_oneway +
                                        p->w_heal + p->w_crash);
    if (x < p->w_partition) {
        partition(w);
    } else if ((x -= p->w_partition) < p->w_oneway) {
        cut(w);
    } else if ((x -= p->w_oneway) < p->w_heal) {
        heal_links(w);
        sim_trace_note(w, SIM_TR_HEAL, -1, -1, 0, 0, 0);
    } else {
        crash(w);
    }
    w->fault_at = w->now + 1 + rng_below(&w->rng, 2 * p->fault_mean_ms);
}

void sim_fault_heal(struct sim_world *w)
{
    struct sim_profile *p = &w->prof;
    w->live = true;
    heal_links(w);
    p->drop_req = p->drop_rep = 0;
    p->dup_req = p->dup_rep = 0;
    p->spurious_fail = 0;
    p->long_delay = 0;
    if (p->delay_max > 10)
        p->delay_max = 10;
    w->fault_at = SIM_NONE;
    for (int i = 0; i < w->n; i++) {
        w->peer[i].crash_pending = false;
        w->peer[i].restart_at = SIM_NONE;
        if (!w->peer[i].core)
            sim_peer_restart(w, i);
    }
    /* The bound: liveness_ms, plus one round trip per entry some peer may
     * still have to fetch (with a small max_batch_bytes the core sends one
     * entry per round trip, and a peer that was down long, without
     * snapshots, can be a thousand entries behind). */
    int64_t top = 0, bottom = INT64_MAX;
    for (int i = 0; i < w->n; i++) {
        if (!w->peer[i].core)
            continue;
        int64_t last = raft_core_last_index(w->peer[i].core);
        if (last > top)
            top = last;
        if (w->peer[i].svc.applied < bottom)
            bottom = w->peer[i].svc.applied;
    }
    uint64_t backlog = top > bottom ? (uint64_t)(top - bottom) : 0;
    w->live_deadline = w->now + w->opt.liveness_ms +
                       backlog * (2 * (uint64_t)p->delay_max + 2);
    sim_trace_note(w, SIM_TR_LIVENESS, -1, -1, 0,
                   (int64_t)(w->live_deadline - w->now), (int64_t)backlog);
}
