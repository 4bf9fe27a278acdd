/* net.c - the simulated network. A request popped from a core becomes a
 * "wire" (shared by its copies); each copy, reply and failure notice is a
 * timed event in a binary heap ordered by (time, send order). Requests and
 * replies are lost, duplicated and delayed independently, and random
 * delays reorder them. Pools are indexed by uint32_t with free lists
 * (slot 0 is never used), so in steady state nothing is allocated here. */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "labs/sim/sim_internal.h"

/* ------------------------------------------------------------------------
 * Pools */

static uint32_t wire_alloc(struct sim_net *n)
{
    if (n->wire_free == 0) {
        uint32_t old = n->wire_cap, cap = old ? 2 * old : 256;
        n->wires = xrealloc(n->wires, cap * sizeof(*n->wires));
        memset(n->wires + old, 0, (cap - old) * sizeof(*n->wires));
        for (uint32_t i = cap - 1; i >= (old ? old : 1); i--) {
            n->wires[i].next_free = n->wire_free;
            n->wire_free = i;
        }
        n->wire_cap = cap;
    }
    uint32_t i = n->wire_free;
    n->wire_free = n->wires[i].next_free;
    return i;
}

static void wire_release(struct sim_net *n, uint32_t i)
{
    struct sim_wire *x = &n->wires[i];
    if (--x->refs > 0)
        return;
    raft_msg_free(x->msg);
    x->msg = NULL;
    x->next_free = n->wire_free;
    n->wire_free = i;
}

static uint32_t ev_alloc(struct sim_net *n)
{
    if (n->ev_free == 0) {
        uint32_t old = n->ev_cap, cap = old ? 2 * old : 512;
        n->evs = xrealloc(n->evs, cap * sizeof(*n->evs));
        memset(n->evs + old, 0, (cap - old) * sizeof(*n->evs));
        for (uint32_t i = cap - 1; i >= (old ? old : 1); i--) {
            n->evs[i].next_free = n->ev_free;
            n->ev_free = i;
        }
        n->ev_cap = cap;
    }
    uint32_t i = n->ev_free;
    n->ev_free = n->evs[i].next_free;
    return i;
}

static void ev_release(struct sim_net *n, uint32_t i)
{
    n->evs[i].next_free = n->ev_free;
    n->ev_free = i;
}

/* ------------------------------------------------------------------------
 * Heap on (at, seq) */

static bool before(const struct sim_heap_item *a, const struct sim_heap_item *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void heap_push(struct sim_net *n, struct sim_heap_item it)
{
    if (n->heap_len == n->heap_cap) {
        n->heap_cap = n->heap_cap ? 2 * n->heap_cap : 512;
        n->heap = xrealloc(n->heap, n->heap_cap * sizeof(*n->heap));
    }
    size_t i = n->heap_len++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&it, &n->heap[parent]))
            break;
        n->heap[i] = n->heap[parent];
        i = parent;
    }
    n->heap[i] = it;
}

static struct sim_heap_item heap_pop(struct sim_net *n)
{
    struct sim_heap_item top = n->heap[0];
    struct sim_heap_item last = n->heap[--n->heap_len];
    size_t i = 0, len = n->heap_len;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= len)
            break;
        if (child + 1 < len && before(&n->heap[child + 1], &n->heap[child]))
            child++;
        if (!before(&n->heap[child], &last))
            break;
        n->heap[i] = n->heap[child];
        i = child;
    }
    if (len > 0)
        n->heap[i] = last;
    return top;
}

void sim_net_hold(struct sim_world *w, uint32_t wire)
{
    w->net.wires[wire].refs++;
}

void sim_net_release(struct sim_world *w, uint32_t wire)
{
    wire_release(&w->net, wire);
}

uint64_t sim_net_next(const struct sim_net *n)
{
    return n->heap_len ? n->heap[0].at : SIM_NONE;
}

void sim_net_clear(struct sim_net *n)
{
    while (n->heap_len) {
        struct sim_heap_item it = heap_pop(n);
        wire_release(n, n->evs[it.ev].wire);
        ev_release(n, it.ev);
    }
    n->seq = 0;
}

void sim_net_free(struct sim_net *n)
{
    sim_net_clear(n);
    free(n->wires);
    free(n->evs);
    free(n->heap);
    memset(n, 0, sizeof(*n));
}

/* ------------------------------------------------------------------------
 * Sending */

static void schedule(struct sim_world *w, uint64_t at, enum sim_ev_kind kind,
                     uint32_t wire, bool primary, const struct raft_msg *reply)
{
    struct sim_net *n = &w->net;
    uint32_t e = ev_alloc(n);
    struct sim_event *ev = &n->evs[e];
    ev->wire = wire;
    ev->kind = (uint8_t)kind;
    ev->primary = primary;
    if (reply)
        ev->reply = *reply;
    n->wires[wire].refs++;
    heap_push(n, (struct sim_heap_item){at, n->seq++, e});
}

/* A lost RPC surfaces at the requester as a timeout, some time later. */
static void schedule_failure(struct sim_world *w, uint32_t wire)
{
    uint64_t after = 1 + rng_below(&w->rng, w->prof.fail_after_max);
    schedule(w, w->now + after, SIM_EV_FAILED, wire, true, NULL);
}

void sim_net_send_request(struct sim_world *w, int src, struct raft_msg *m)
{
    int dst = m->to;
    if (dst < 0 || dst >= w->n || dst == src || m->from != src) {
        sim_fail(w, "Core contract", "S%d popped %s from S%d to S%d", src,
                 raft_msg_type_name(m->type), m->from, dst);
        raft_msg_free(m);
        return;
    }
    sim_check_outgoing(w, src, m, NULL);
    struct sim_net *n = &w->net;
    uint32_t wi = wire_alloc(n);
    n->wires[wi].msg = m;
    n->wires[wi].refs = 0;
    n->wires[wi].src_inc = w->peer[src].inc;
    int copies = 1 + sim_chance(w, w->prof.dup_req);
    for (int k = 0; k < copies; k++) {
        bool primary = k == 0;
        if (!w->link[src][dst] || sim_chance(w, w->prof.drop_req)) {
            if (primary)
                schedule_failure(w, wi);
        } else {
            schedule(w, w->now + sim_fault_delay(w), SIM_EV_REQUEST, wi,
                     primary, NULL);
        }
    }
    /* The contract allows a failure report for an RPC that went through
     * (a driver's timeout can fire before a slow reply). */
    if (sim_chance(w, w->prof.spurious_fail))
        schedule(w, w->now + 1 + rng_below(&w->rng, w->prof.fail_after_max),
                 SIM_EV_FAILED, wi, false, NULL);
    if (n->wires[wi].refs == 0) {
        n->wires[wi].refs = 1;
        wire_release(n, wi);
    }
}

void sim_net_send_reply(struct sim_world *w, uint32_t wire, bool primary,
                        const struct raft_msg *reply)
{
    const struct raft_msg *req = w->net.wires[wire].msg;
    int requester = req->from, responder = req->to;
    if (!reply) { /* the responder died before answering */
        if (primary)
            schedule_failure(w, wire);
        return;
    }
    sim_check_outgoing(w, responder, req, reply);
    int copies = 1 + sim_chance(w, w->prof.dup_rep);
    for (int k = 0; k < copies; k++) {
        bool p = primary && k == 0;
        if (!w->link[responder][requester] ||
            sim_chance(w, w->prof.drop_rep)) {
            if (p)
                schedule_failure(w, wire);
        } else {
            schedule(w, w->now + sim_fault_delay(w), SIM_EV_REPLY, wire, p,
                     reply);
        }
    }
}

/* ------------------------------------------------------------------------
 * Delivery */

static bool same_incarnation(const struct sim_world *w, int peer,
                             uint32_t inc)
{
    return w->peer[peer].core && w->peer[peer].inc == inc;
}

void sim_net_deliver(struct sim_world *w)
{
    struct sim_net *n = &w->net;
    struct sim_heap_item it = heap_pop(n);
    struct sim_event ev = n->evs[it.ev]; /* pools may move while we work */
    ev_release(n, it.ev);
    const struct raft_msg *req = n->wires[ev.wire].msg; /* stable */
    uint32_t src_inc = n->wires[ev.wire].src_inc;
    int src = req->from, dst = req->to;

    switch (ev.kind) {
    case SIM_EV_REQUEST: {
        if (!w->peer[dst].core || !w->link[src][dst]) {
            sim_trace_note(w, SIM_TR_LOST, dst, src, req->term, req->type,
                           0);
            if (ev.primary)
                schedule_failure(w, ev.wire);
            break;
        }
        struct raft_msg reply;
        int rc = raft_core_recv_request(w->peer[dst].core, req, &reply,
                                        w->now);
        w->stats.messages++;
        sim_trace_msg(w, SIM_TR_REQ, dst, src, req, &reply);
        if (rc != 0) {
            sim_fail(w, "Core contract",
                     "S%d refused a well-formed %s from S%d (rc %d)", dst,
                     raft_msg_type_name(req->type), src, rc);
            break;
        }
        if (reply.type != req->type + 1 || reply.from != dst ||
            reply.to != src) {
            sim_fail(w, "Core contract",
                     "S%d answered %s from S%d with %s from S%d to S%d", dst,
                     raft_msg_type_name(req->type), src,
                     raft_msg_type_name(reply.type), reply.from, reply.to);
            break;
        }
        sim_peer_settle(w, dst, ev.wire, ev.primary, &reply);
        break;
    }
    case SIM_EV_REPLY:
        if (!same_incarnation(w, src, src_inc))
            break; /* nobody waits for it any more */
        if (!w->link[dst][src]) {
            sim_trace_note(w, SIM_TR_LOST, src, dst, ev.reply.term,
                           ev.reply.type, 1);
            if (ev.primary)
                schedule_failure(w, ev.wire);
            break;
        }
        raft_core_recv_reply(w->peer[src].core, req, &ev.reply, w->now);
        w->stats.messages++;
        sim_trace_msg(w, SIM_TR_REPLY, src, dst, req, &ev.reply);
        sim_peer_settle(w, src, 0, false, NULL);
        break;
    case SIM_EV_FAILED:
        if (!same_incarnation(w, src, src_inc))
            break;
        raft_core_send_failed(w->peer[src].core, req, w->now);
        sim_trace_note(w, SIM_TR_FAILED, src, dst, req->term, req->type,
                       ev.primary);
        sim_peer_settle(w, src, 0, false, NULL);
        break;
    default:
        break;
    }
    wire_release(n, ev.wire);
}
