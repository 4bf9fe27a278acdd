/* disk.c - a slow simulated disk: in profiles with disk_delay_max > 0 a
 * peer's write becomes durable some milliseconds later (in order), the
 * messages held for it leave only then, and a crash loses it. This is
 * what exercises the contract's asynchronous half: a leader's early
 * AppendEntries (Raft thesis §10.2.1) and its late acknowledgement. */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "labs/sim/sim_internal.h"

struct sim_write {
    uint64_t due;              /* when it is durable */
    bool changed;              /* carries state (else only held messages) */
    struct buf state, snap;    /* the disk's contents from then on */
    struct sim_disk_view view; /* what they hold */
    struct raft_mark mark;     /* acknowledged to the core then */
    struct raft_msg **held;    /* requests waiting for it (owned) */
    size_t n_held, cap_held;
    bool has_reply; /* a reply waits too (its wire is held) */
    uint32_t wire;
    bool primary;
    struct raft_msg reply;
};

static void write_free(struct sim_write *x)
{
    buf_free(&x->state);
    buf_free(&x->snap);
    free(x->held);
    free(x);
}

uint64_t sim_disk_next(const struct sim_peer *p)
{
    return p->nwrites ? p->writes[0]->due : SIM_NONE;
}

void sim_disk_write(struct sim_world *w, int i, const struct raft_core *c,
                    const struct raft_update *u)
{
    struct sim_peer *p = &w->peer[i];
    struct sim_write *x = xcalloc(1, sizeof(*x));
    x->due = w->now + 1 + rng_below(&w->rng, w->prof.disk_delay_max);
    if (p->nwrites && x->due < p->writes[p->nwrites - 1]->due)
        x->due = p->writes[p->nwrites - 1]->due; /* in order */
    x->changed = raft_update_changed(u);
    buf_init(&x->state);
    buf_init(&x->snap);
    if (x->changed) {
        raft_core_encode_state(c, &x->state);
        buf_append(&x->snap, u->snap, u->snap_len);
        sim_disk_view_of(c, &x->view);
    }
    x->mark = u->mark;
    if (p->nwrites == p->cap_writes) {
        p->cap_writes = p->cap_writes ? 2 * p->cap_writes : 8;
        p->writes = xrealloc(p->writes, p->cap_writes * sizeof(*p->writes));
    }
    p->writes[p->nwrites++] = x;
}

void sim_disk_hold_msg(struct sim_world *w, int i, struct raft_msg *m)
{
    struct sim_peer *p = &w->peer[i];
    struct sim_write *x = p->writes[p->nwrites - 1];
    if (x->n_held == x->cap_held) {
        x->cap_held = x->cap_held ? 2 * x->cap_held : 8;
        x->held = xrealloc(x->held, x->cap_held * sizeof(*x->held));
    }
    x->held[x->n_held++] = m;
}

void sim_disk_hold_reply(struct sim_world *w, int i, uint32_t wire,
                         bool primary, const struct raft_msg *reply)
{
    struct sim_peer *p = &w->peer[i];
    struct sim_write *x = p->writes[p->nwrites - 1];
    x->has_reply = true;
    x->wire = wire;
    x->primary = primary;
    x->reply = *reply;
    sim_net_hold(w, wire);
}

void sim_disk_step(struct sim_world *w, int i)
{
    struct sim_peer *p = &w->peer[i];
    struct sim_write *x = p->writes[0];
    memmove(p->writes, p->writes + 1, (p->nwrites - 1) * sizeof(*p->writes));
    p->nwrites--;
    sim_trace_note(w, SIM_TR_DURABLE, i, -1, x->mark.term,
                   x->mark.last_index, (int64_t)x->n_held + x->has_reply);
    if (x->changed) {
        buf_clear(&p->disk_state);
        buf_append(&p->disk_state, x->state.data, x->state.len);
        buf_clear(&p->disk_snap);
        buf_append(&p->disk_snap, x->snap.data, x->snap.len);
        sim_check_durable(w, i, &x->view);
    }
    for (size_t k = 0; k < x->n_held; k++)
        sim_net_send_request(w, i, x->held[k]);
    if (x->has_reply) {
        sim_net_send_reply(w, x->wire, x->primary, &x->reply);
        sim_net_release(w, x->wire);
    }
    raft_core_persisted_upto(p->core, &x->mark, w->now);
    write_free(x);
    sim_peer_settle(w, i, 0, false, NULL);
}

void sim_disk_drop(struct sim_world *w, int i, bool notify)
{
    struct sim_peer *p = &w->peer[i];
    for (size_t k = 0; k < p->nwrites; k++) {
        struct sim_write *x = p->writes[k];
        for (size_t j = 0; j < x->n_held; j++)
            raft_msg_free(x->held[j]);
        if (x->has_reply) {
            if (notify) /* the requester times out */
                sim_net_send_reply(w, x->wire, x->primary, NULL);
            sim_net_release(w, x->wire);
        }
        write_free(x);
    }
    p->nwrites = 0;
}
