/* ready.c - the loop that carries out the core's updates (see ready.h). */
/* SOLUTION FILE */
#include "raft/ready.h"

bool raft_ready_run(struct raft_core *c, const struct raft_ready_ops *ops,
                    void *ctx, const struct raft_msg *reply, uint64_t now_ms)
{
    do {
        struct raft_update u;
        raft_core_take_update(c, &u);
        enum raft_ready_stored st = ops->persist(ctx, c, &u);
        for (size_t i = 0; i < u.n_msgs; i++) {
            struct raft_msg *m = u.msgs[i];
            if (m->early || st == RAFT_READY_DURABLE)
                ops->send(ctx, m, false);
            else if (st == RAFT_READY_PENDING)
                ops->send(ctx, m, true);
            else
                raft_msg_free(m);
        }
        if (st == RAFT_READY_LOST)
            return false;
        if (reply) {
            ops->reply(ctx, reply, st == RAFT_READY_PENDING);
            reply = NULL;
        }
        if (st == RAFT_READY_DURABLE)
            raft_core_persisted_upto(c, &u.mark, now_ms);
        if (ops->apply) {
            struct raft_apply a;
            while (raft_core_next_apply(c, &a))
                ops->apply(ctx, &a);
        }
    } while (raft_core_has_update(c));
    return true;
}
