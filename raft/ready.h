/* ready.h - the one loop that carries out the core's updates (store, send
 * what may go, acknowledge, apply) for the driver, the simulator and the
 * core's tests.
 *
 * After events on a core its caller runs raft_ready_run(), which takes
 * updates (raft_core_take_update()) until none is left and for each:
 *
 *   1. PERSIST  ops->persist() stores the update's changes and says
 *               whether they are durable now, later, or never;
 *   2. SEND     the requests marked early go out whatever the answer
 *               (§10.2.1); the others, and the reply of the event (with
 *               the first update only), go out now if the update is
 *               durable, are handed over "held" if it will be (the
 *               caller keeps them until it is), and are dropped if it
 *               never will be (a crash in the middle of the event);
 *   3. ACK      if durable, raft_core_persisted_upto() (which may commit
 *               on the leader: the loop goes round again);
 *   4. APPLY    with ops->apply, every committed item is handed to it,
 *               in order (it may call raft_core_compact(), whose update
 *               the loop then stores too).
 *
 * Figure 2's persist-before-reply rule therefore lives here and in the
 * core's marking of requests, not in each caller.
 *
 * The callbacks may call into the core (raft_core_send_failed(),
 * raft_core_compact()) but not run raft_ready_run() on it again: the
 * update's message array is the core's until the next take.
 *
 * Not thread-safe: called wherever the core's own calls are serialised
 * (the driver holds its mutex). */
/* SOLUTION FILE */
#ifndef RAFT_READY_H_
#define RAFT_READY_H_

#include <stdbool.h>
#include <stdint.h>

#include "raft/raft_core.h"

enum raft_ready_stored {
    RAFT_READY_DURABLE = 0, /* this update and all before it are durable */
    RAFT_READY_PENDING = 1, /* durable later: the caller then calls
                               raft_core_persisted_upto(&u->mark) */
    RAFT_READY_LOST = 2,    /* never (the process dies in this event) */
};

struct raft_ready_ops {
    /* Store u's changes (called for every update, even one with none:
     * earlier writes may still be pending, and held messages wait for
     * them too). */
    enum raft_ready_stored (*persist)(void *ctx, struct raft_core *c,
                                      const struct raft_update *u);
    /* Send request m (takes it). held: it must not leave before the
     * update is durable (only after persist said PENDING). */
    void (*send)(void *ctx, struct raft_msg *m, bool held);
    /* Send the event's reply (borrowed), held as above. May be NULL when
     * run() is given no reply. */
    void (*reply)(void *ctx, const struct raft_msg *reply, bool held);
    /* Hand one committed item to the service (data borrowed until the
     * next call into the core). NULL: the caller applies on its own
     * (raft_core_next_apply(), e.g. from another thread). */
    void (*apply)(void *ctx, const struct raft_apply *a);
};

/* Carry out every update of c, as above; reply (borrowed, may be NULL) is
 * the reply raft_core_recv_request() just filled in. Returns false if
 * persist said LOST: the loop stopped there and the caller must drop the
 * core (it may not take further updates). */
bool raft_ready_run(struct raft_core *c, const struct raft_ready_ops *ops,
                    void *ctx, const struct raft_msg *reply,
                    uint64_t now_ms);

#endif /* RAFT_READY_H_ */
