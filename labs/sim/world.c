/* world.c - one schedule from start to verdict: draw the profile, boot the
 * peers, then run the event loop. Each step fires exactly one event, the
 * earliest of: a network event, a peer's tick, a restart, a client, the
 * nemesis. Ties go in that order, and among ticks or restarts to the lower
 * peer id, so nothing depends on pointer values or hash order. The
 * invariants are checked after every step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "labs/sim/sim_internal.h"

/* A run that does this many steps without time moving is stuck. */
#define SAME_TIME_LIMIT 100000

uint64_t sim_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

bool sim_chance(struct sim_world *w, uint32_t ppm)
{
    return ppm && rng_below(&w->rng, SIM_PPM) < ppm;
}

struct sim_world *sim_world_new(void)
{
    struct sim_world *w = xcalloc(1, sizeof(*w));
    for (int i = 0; i < SIM_MAX_PEERS; i++) {
        buf_init(&w->peer[i].disk_state);
        buf_init(&w->peer[i].disk_snap);
    }
    buf_init(&w->scratch);
    return w;
}

static void teardown(struct sim_world *w)
{
    for (int i = 0; i < SIM_MAX_PEERS; i++) {
        sim_disk_drop(w, i, false);
        raft_core_free(w->peer[i].core);
        w->peer[i].core = NULL;
    }
    sim_net_clear(&w->net);
}

void sim_world_free(struct sim_world *w)
{
    if (!w)
        return;
    teardown(w);
    for (int i = 0; i < SIM_MAX_PEERS; i++) {
        buf_free(&w->peer[i].disk_state);
        buf_free(&w->peer[i].disk_snap);
        free(w->peer[i].sh.log);
        free(w->peer[i].writes);
    }
    sim_net_free(&w->net);
    sim_check_free(w);
    buf_free(&w->scratch);
    free(w);
}

static void start(struct sim_world *w, uint64_t seed,
                  const struct sim_options *opt)
{
    w->opt = *opt;
    w->seed = seed;
    rng_seed(&w->rng, seed);
    w->now = 0;
    w->steps = 0;
    w->live = false;
    w->failed = false;
    w->invariant = NULL;
    w->why[0] = '\0';
    memset(&w->stats, 0, sizeof(w->stats));
    w->next_cmd = 0;
    w->final_index = 0;
    w->final_leader = -1;
    w->final_term = -1;
    w->final_at = 0;
    sim_trace_reset(&w->trace);
    sim_check_reset(w);
    sim_profile_draw(w);
    w->n = w->prof.n;
    sim_trace_start(w);
    for (int a = 0; a < SIM_MAX_PEERS; a++)
        for (int b = 0; b < SIM_MAX_PEERS; b++)
            w->link[a][b] = true;
    for (int i = 0; i < w->n; i++)
        sim_peer_boot(w, i);
    w->client_at = 1 + rng_below(&w->rng, 2 * w->prof.client_mean_ms);
    w->fault_at = w->prof.fault_mean_ms
                      ? 1 + rng_below(&w->rng, 2 * w->prof.fault_mean_ms)
                      : SIM_NONE;
}

enum step_kind {
    STEP_NET,
    STEP_TICK,
    STEP_DISK,
    STEP_RESTART,
    STEP_CLIENT,
    STEP_FAULT
};

/* Fire the earliest event. */
static void step(struct sim_world *w)
{
    enum step_kind what = STEP_NET;
    int who = -1;
    uint64_t t = sim_net_next(&w->net);
    for (int i = 0; i < w->n; i++)
        if (w->peer[i].tick_at < t) {
            t = w->peer[i].tick_at;
            what = STEP_TICK;
            who = i;
        }
    for (int i = 0; i < w->n; i++)
        if (sim_disk_next(&w->peer[i]) < t) {
            t = sim_disk_next(&w->peer[i]);
            what = STEP_DISK;
            who = i;
        }
    for (int i = 0; i < w->n; i++)
        if (w->peer[i].restart_at < t) {
            t = w->peer[i].restart_at;
            what = STEP_RESTART;
            who = i;
        }
    if (w->client_at < t) {
        t = w->client_at;
        what = STEP_CLIENT;
    }
    if (w->fault_at < t) {
        t = w->fault_at;
        what = STEP_FAULT;
    }
    if (t < w->now) { /* a bug of the simulator itself */
        fprintf(stderr, "raftsim: event at %llu before now %llu\n",
                (unsigned long long)t, (unsigned long long)w->now);
        abort();
    }
    w->now = t;
    w->steps++;
    switch (what) {
    case STEP_NET:
        sim_net_deliver(w);
        break;
    case STEP_TICK:
        sim_peer_tick(w, who);
        break;
    case STEP_DISK:
        sim_disk_step(w, who);
        break;
    case STEP_RESTART:
        sim_peer_restart(w, who);
        break;
    case STEP_CLIENT:
        sim_client_step(w);
        break;
    case STEP_FAULT:
        sim_fault_step(w);
        break;
    }
}

/* The liveness goal: a final command applied on every peer. */
static bool recovered(const struct sim_world *w)
{
    if (w->final_index == 0)
        return false;
    for (int i = 0; i < w->n; i++)
        if (!w->peer[i].core || w->peer[i].svc.applied < w->final_index)
            return false;
    return true;
}

static void liveness_failure(struct sim_world *w)
{
    char who[256];
    size_t len = 0;
    who[0] = '\0';
    for (int i = 0; i < w->n && len < sizeof(who) - 32; i++)
        len += (size_t)snprintf(who + len, sizeof(who) - len, "%sS%d@%lld",
                                i ? " " : "", i,
                                (long long)w->peer[i].svc.applied);
    int l = sim_peer_leader(w);
    if (w->final_index == 0)
        sim_fail(w, "Liveness",
                 "by t=%llu ms (the bound after healing), no new command "
                 "was applied (leader: %s%d; applied: %s)",
                 (unsigned long long)w->live_deadline, l < 0 ? "none" : "S",
                 l < 0 ? 0 : l, who);
    else
        sim_fail(w, "Liveness",
                 "by t=%llu ms (the bound after healing), the new command "
                 "at index %lld is not applied everywhere (applied: %s)",
                 (unsigned long long)w->live_deadline,
                 (long long)w->final_index, who);
}

void sim_run(struct sim_world *w, uint64_t seed,
             const struct sim_options *opt, struct sim_result *res)
{
    start(w, seed, opt);
    w->running = true;
    uint64_t last_now = 0, same = 0;
    sim_check_step(w);
    while (!w->failed) {
        if (!w->live && w->steps >= w->opt.steps) {
            sim_fault_heal(w);
            sim_check_step(w);
            continue;
        }
        if (w->live && recovered(w))
            break;
        if (w->live && w->now > w->live_deadline) {
            liveness_failure(w);
            break;
        }
        step(w);
        sim_check_step(w);
        same = w->now == last_now ? same + 1 : 0;
        last_now = w->now;
        if (same > SAME_TIME_LIMIT)
            sim_fail(w, "Core contract",
                     "%d steps at t=%llu ms without time moving",
                     SAME_TIME_LIMIT, (unsigned long long)w->now);
    }
    if (!w->failed)
        sim_check_final(w);
    if (w->failed)
        sim_report(w);

    memset(res, 0, sizeof(*res));
    res->violated = w->failed;
    res->invariant = w->invariant;
    res->steps = w->steps;
    res->sim_ms = w->now;
    res->messages = w->stats.messages;
    res->elections = w->stats.elections;
    res->committed = (uint64_t)w->truth_max;
    res->crashes = w->stats.crashes;
    res->partitions = w->stats.partitions;
    res->snapshots = w->stats.installs;
    res->digest = w->trace.digest;
    res->peers = w->n;
    w->running = false;
    teardown(w);
}

void sim_report_abort(struct sim_world *w)
{
    if (!w || !w->running)
        return;
    if (!w->failed) {
        w->failed = true;
        w->invariant = "Core assertion";
        snprintf(w->why, sizeof(w->why),
                 "the process aborted inside step %llu (see the message "
                 "above)", (unsigned long long)w->steps);
    }
    sim_report(w);
}
