/* raft.c - lab 3: Raft behind the API in raft/raft.h.
 *
 * Write Raft here (split it into more files if you like: raft/module.mk
 * builds every .c file in raft/). Figure 2 of the extended Raft paper is the
 * specification; raft.h is the contract the tests and the services use.
 * Talk to peers with rpc_call() on peers[i] (rpc/rpc.h), serve
 * RequestVote/AppendEntries/InstallSnapshot with rpc_server_add_service()
 * in raft_register(), persist with common/persister.h, and push committed
 * entries to the apply queue (common/queue.h).
 *
 * These stubs make a peer that never leads: tests fail at once instead of
 * hanging. */
#include <stdlib.h>

#include "common/buf.h"
#include "raft/raft.h"

struct raft {
    int me;
    // Your data here (Figure 2: persistent and volatile state).
};

void raft_apply_msg_free(struct raft_apply_msg *m)
{
    if (!m)
        return;
    free(m->command);
    free(m->snapshot);
    free(m);
}

struct raft *raft_make(struct rpc_end **peers, int npeers, int me,
                       struct persister *persister, struct queue *apply)
{
    (void)peers, (void)npeers, (void)persister, (void)apply;
    struct raft *rf = xcalloc(1, sizeof *rf);
    rf->me = me;
    // Your code here: restore persisted state, start the ticker.
    return rf;
}

int raft_register(struct raft *rf, struct rpc_server *srv)
{
    (void)rf, (void)srv;
    // Your code here: host the "Raft" service.
    return 0;
}

bool raft_start(struct raft *rf, const void *cmd, size_t len, int64_t *index,
                int64_t *term)
{
    (void)rf, (void)cmd, (void)len;
    *index = -1;
    *term = 0;
    return false;
}

void raft_get_state(struct raft *rf, int64_t *term, bool *is_leader)
{
    (void)rf;
    *term = 0;
    *is_leader = false;
}

void raft_snapshot(struct raft *rf, int64_t index, const void *snap,
                   size_t len)
{
    (void)rf, (void)index, (void)snap, (void)len;
}

size_t raft_state_size(struct raft *rf)
{
    (void)rf;
    return 0;
}

void raft_kill(struct raft *rf)
{
    (void)rf;
    // Your code here: stop and join your threads.
}

void raft_free(struct raft *rf)
{
    free(rf);
}
