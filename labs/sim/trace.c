/* trace.c - a ring of the last SIM_TRACE_LEN events, kept as small
 * structs and formatted only when needed (a failure report, or --verbose),
 * plus a digest of every event ever recorded: two runs of one seed must
 * print the same digest, which makes replay exactness visible. */
#include <stdio.h>
#include <string.h>

#include "labs/sim/sim_internal.h"

void sim_trace_reset(struct sim_trace *t)
{
    t->count = 0;
    t->digest = UINT64_C(0xcbf29ce484222325);
}

static void format(const struct sim_trace_rec *r, char *out, size_t cap);

void sim_trace_add(struct sim_world *w, const struct sim_trace_rec *rec)
{
    struct sim_trace *t = &w->trace;
    struct sim_trace_rec *r = &t->r[t->count % SIM_TRACE_LEN];
    *r = *rec;
    r->at = w->now;
    r->step = w->steps;
    t->count++;
    uint64_t d = t->digest;
    d = sim_mix(d ^ (r->at << 8 ^ r->kind ^ (uint64_t)r->mtype << 56));
    d = sim_mix(d ^ ((uint64_t)(uint8_t)r->peer << 8 ^
                     (uint64_t)(uint8_t)r->other ^ (uint64_t)r->flag << 16));
    d = sim_mix(d ^ (uint64_t)r->term ^ (uint64_t)r->rterm << 32);
    d = sim_mix(d ^ (uint64_t)r->a ^ (uint64_t)r->b << 21 ^
                (uint64_t)r->c << 42);
    t->digest = sim_mix(d ^ (uint64_t)r->d ^ (uint64_t)r->e << 32);
    if (w->opt.verbose) {
        char line[256];
        format(r, line, sizeof(line));
        printf("  %8llu ms #%-7llu %s\n", (unsigned long long)r->at,
               (unsigned long long)r->step, line);
    }
}

void sim_trace_note(struct sim_world *w, enum sim_tr_kind kind, int peer,
                    int other, int64_t term, int64_t a, int64_t b)
{
    struct sim_trace_rec r;
    memset(&r, 0, sizeof(r));
    r.kind = (uint8_t)kind;
    r.peer = (int8_t)peer;
    r.other = (int8_t)other;
    r.term = term;
    r.a = a;
    r.b = b;
    sim_trace_add(w, &r);
}

void sim_trace_msg(struct sim_world *w, enum sim_tr_kind kind, int peer,
                   int other, const struct raft_msg *req,
                   const struct raft_msg *reply)
{
    struct sim_trace_rec r;
    memset(&r, 0, sizeof(r));
    r.kind = (uint8_t)kind;
    r.mtype = (uint8_t)req->type;
    r.peer = (int8_t)peer;
    r.other = (int8_t)other;
    r.term = req->term;
    r.rterm = reply->term;
    switch (req->type) {
    case RAFT_MSG_REQUEST_VOTE:
        r.a = req->rv.last_log_index;
        r.b = req->rv.last_log_term;
        r.flag = reply->rvr.vote_granted;
        break;
    case RAFT_MSG_APPEND_ENTRIES:
        r.a = req->ae.prev_log_index;
        r.b = req->ae.prev_log_term;
        r.c = (int64_t)req->ae.n_entries;
        r.d = req->ae.leader_commit;
        r.e = req->ae.n_entries ? req->ae.entries[req->ae.n_entries - 1].term
                                : 0;
        r.flag = reply->aer.success;
        break;
    case RAFT_MSG_INSTALL_SNAPSHOT:
        r.a = req->is.last_included_index;
        r.b = req->is.last_included_term;
        r.c = (int64_t)req->is.len;
        break;
    default:
        break;
    }
    sim_trace_add(w, &r);
}

/* The request's fields and the reply's verdict, e.g.
 * "AppendEntries T4 prev=7/T3 +2 (..T4) commit=6 -> ok T4". */
static void format_msg(const struct sim_trace_rec *r, char *out, size_t cap)
{
    const char *name = raft_msg_type_name((enum raft_msg_type)r->mtype);
    switch (r->mtype) {
    case RAFT_MSG_REQUEST_VOTE:
        snprintf(out, cap, "%s T%lld last=%lld/T%lld -> %s T%lld", name,
                 (long long)r->term, (long long)r->a, (long long)r->b,
                 r->flag ? "GRANTED" : "denied", (long long)r->rterm);
        break;
    case RAFT_MSG_APPEND_ENTRIES:
        if (r->c)
            snprintf(out, cap,
                     "%s T%lld prev=%lld/T%lld +%lld (..T%lld) commit=%lld "
                     "-> %s T%lld", name, (long long)r->term,
                     (long long)r->a, (long long)r->b, (long long)r->c,
                     (long long)r->e, (long long)r->d,
                     r->flag ? "ok" : "REJECT", (long long)r->rterm);
        else
            snprintf(out, cap,
                     "%s T%lld prev=%lld/T%lld heartbeat commit=%lld -> %s "
                     "T%lld", name, (long long)r->term, (long long)r->a,
                     (long long)r->b, (long long)r->d,
                     r->flag ? "ok" : "REJECT", (long long)r->rterm);
        break;
    case RAFT_MSG_INSTALL_SNAPSHOT:
        snprintf(out, cap, "%s T%lld snap=%lld/T%lld (%lld bytes) -> T%lld",
                 name, (long long)r->term, (long long)r->a, (long long)r->b,
                 (long long)r->c, (long long)r->rterm);
        break;
    default:
        snprintf(out, cap, "%s", name);
    }
}

static void format_side(uint32_t side, int n, char *out, size_t cap)
{
    size_t len = 0;
    for (int pass = 0; pass < 2; pass++) {
        len += (size_t)snprintf(out + len, cap - len, "%s{", pass ? " | " : "");
        bool first = true;
        for (int i = 0; i < n && len < cap - 8; i++)
            if ((int)((side >> i) & 1) == 1 - pass) {
                len += (size_t)snprintf(out + len, cap - len, "%sS%d",
                                        first ? "" : ",", i);
                first = false;
            }
        len += (size_t)snprintf(out + len, cap - len, "}");
        if (len >= cap)
            return;
    }
}

static void format(const struct sim_trace_rec *r, char *out, size_t cap)
{
    char m[160];
    switch ((enum sim_tr_kind)r->kind) {
    case SIM_TR_TICK:
        snprintf(out, cap, "S%d tick (%s, T%lld)", r->peer,
                 raft_role_name((enum raft_role)r->a), (long long)r->term);
        break;
    case SIM_TR_REQ:
        format_msg(r, m, sizeof(m));
        snprintf(out, cap, "S%d <- S%d %s", r->peer, r->other, m);
        break;
    case SIM_TR_REPLY:
        format_msg(r, m, sizeof(m));
        snprintf(out, cap, "S%d got reply from S%d to %s", r->peer, r->other,
                 m);
        break;
    case SIM_TR_FAILED:
        snprintf(out, cap, "S%d send_failed %s T%lld to S%d%s", r->peer,
                 raft_msg_type_name((enum raft_msg_type)r->a),
                 (long long)r->term, r->other, r->b ? "" : " (spurious)");
        break;
    case SIM_TR_LOST:
        snprintf(out, cap, "S%d never gets %s T%lld from S%d (%s)", r->peer,
                 raft_msg_type_name((enum raft_msg_type)r->a),
                 (long long)r->term, r->other,
                 r->b ? "reply: link cut" : "link cut or peer down");
        break;
    case SIM_TR_PROPOSE:
        snprintf(out, cap, "S%d propose cmd %lld -> index %lld T%lld",
                 r->peer, (long long)r->b, (long long)r->a,
                 (long long)r->term);
        break;
    case SIM_TR_REJECTED:
        snprintf(out, cap, "S%d refuses a command (not leader, T%lld)",
                 r->peer, (long long)r->term);
        break;
    case SIM_TR_CRASH:
        snprintf(out, cap, "S%d CRASH%s", r->peer,
                 r->a ? " (midway through an event: not persisted)" : "");
        break;
    case SIM_TR_RESTART:
        snprintf(out, cap, "S%d restart: T%lld snapshot %lld last %lld",
                 r->peer, (long long)r->term, (long long)r->a,
                 (long long)r->b);
        break;
    case SIM_TR_PARTITION:
        format_side((uint32_t)r->a, (int)r->b, m, sizeof(m));
        snprintf(out, cap, "PARTITION %s", m);
        break;
    case SIM_TR_CUT:
        snprintf(out, cap, "CUT link S%d -> S%d", r->peer, r->other);
        break;
    case SIM_TR_HEAL:
        snprintf(out, cap, "HEAL all links");
        break;
    case SIM_TR_LEADER:
        snprintf(out, cap, "S%d is LEADER of T%lld (last %lld/T%lld)",
                 r->peer, (long long)r->term, (long long)r->a,
                 (long long)r->b);
        break;
    case SIM_TR_INSTALL:
        snprintf(out, cap, "S%d service installs snapshot %lld/T%lld",
                 r->peer, (long long)r->a, (long long)r->term);
        break;
    case SIM_TR_DURABLE:
        snprintf(out, cap, "S%d disk: write durable (T%lld, last %lld), "
                 "%lld message(s) released", r->peer, (long long)r->term,
                 (long long)r->a, (long long)r->b);
        break;
    case SIM_TR_COMPACT:
        snprintf(out, cap, "S%d service snapshots through %lld (%lld bytes)",
                 r->peer, (long long)r->a, (long long)r->b);
        break;
    case SIM_TR_LIVENESS:
        snprintf(out, cap, "FAULTS END: all peers up, links healed, no loss; "
                 "%lld ms to recover (backlog %lld entries)", (long long)r->a,
                 (long long)r->b);
        break;
    default:
        snprintf(out, cap, "?");
    }
}

static void print_profile(const struct sim_world *w)
{
    const struct sim_profile *p = &w->prof;
    printf("profile: %d peers; loss req %u%% rep %u%%, dup req %u%% rep "
           "%u%%, delay %u-%u ms (+%u ms for %.1f%%)%s\n",
           p->n, p->drop_req / 10000, p->drop_rep / 10000,
           p->dup_req / 10000, p->dup_rep / 10000, p->delay_min,
           p->delay_max, p->long_delay_max, p->long_delay / 10000.0,
           w->live ? " (liveness phase: no loss)" : "");
    if (p->fault_mean_ms)
        printf("  faults every ~%u ms (crashes %s, aimed at leader %u%%, "
               "midway %u%%, down <= %u ms)\n", p->fault_mean_ms,
               p->w_crash ? "on" : "off", p->nemesis / 10000,
               p->mid_crash / 10000, p->down_max_ms);
    else
        printf("  no faults\n");
    printf("  snapshot every %d; client every ~%u ms, window %lld; "
           "timeouts %u/%u-%u ms; batch %zu bytes, batch window %u ms\n",
           p->snap_every, p->client_mean_ms, (long long)p->window,
           p->heartbeat_ms, p->election_min_ms, p->election_max_ms,
           p->max_batch_bytes, p->batch_ms);
    if (p->disk_delay_max)
        printf("  slow disk: a write is durable 1-%u ms later\n",
               p->disk_delay_max);
}

static void print_peers(const struct sim_world *w)
{
    for (int i = 0; i < w->n; i++) {
        const struct sim_peer *p = &w->peer[i];
        const struct raft_core *c = p->core;
        if (!c) {
            printf("  S%d DOWN\n", i);
            continue;
        }
        int64_t last = raft_core_last_index(c);
        printf("  S%d %-9s T%-3lld vote %-2d log %lld..%lld (last T%lld) "
               "snapshot %lld/T%lld commit %lld applied %lld\n", i,
               raft_role_name(raft_core_role(c)),
               (long long)raft_core_term(c), raft_core_voted_for(c),
               (long long)raft_core_snapshot_index(c) + 1, (long long)last,
               (long long)raft_core_term_at(c, last),
               (long long)raft_core_snapshot_index(c),
               (long long)raft_core_snapshot_term(c),
               (long long)raft_core_commit_index(c),
               (long long)p->svc.applied);
    }
}

void sim_trace_start(struct sim_world *w)
{
    if (!w->opt.verbose)
        return;
    printf("seed %llu\n", (unsigned long long)w->seed);
    print_profile(w);
}

void sim_report(struct sim_world *w)
{
    const char *prog = w->opt.prog ? w->opt.prog : "raftsim";
    printf("\n=== VIOLATION: %s ===\n", w->invariant);
    printf("seed %llu, step %llu, t=%llu ms (%s phase): %s\n",
           (unsigned long long)w->seed, (unsigned long long)w->steps,
           (unsigned long long)w->now, w->live ? "liveness" : "fault",
           w->why);
    printf("replay: %s --seed %llu", prog, (unsigned long long)w->seed);
    if (w->opt.peers)
        printf(" --peers %d", w->opt.peers);
    if (w->opt.steps != SIM_DEFAULT_STEPS)
        printf(" --steps %llu", (unsigned long long)w->opt.steps);
    if (w->opt.liveness_ms != SIM_DEFAULT_LIVENESS_MS)
        printf(" --liveness-ms %llu", (unsigned long long)w->opt.liveness_ms);
    printf(" --verbose\n");
    print_profile(w);
    printf("peers now:\n");
    print_peers(w);
    const struct sim_trace *t = &w->trace;
    uint64_t n = t->count < SIM_TRACE_LEN ? t->count : SIM_TRACE_LEN;
    printf("last %llu of %llu events:\n", (unsigned long long)n,
           (unsigned long long)t->count);
    for (uint64_t k = t->count - n; k < t->count; k++) {
        const struct sim_trace_rec *r = &t->r[k % SIM_TRACE_LEN];
        char line[256];
        format(r, line, sizeof(line));
        printf("  %8llu ms #%-7llu %s\n", (unsigned long long)r->at,
               (unsigned long long)r->step, line);
    }
    printf("=== end of report (seed %llu) ===\n\n",
           (unsigned long long)w->seed);
    fflush(stdout);
}
