/* rsm.c - lab 4A: the replicated state machine layer behind raft/rsm.h.
 *
 * Write it here: rsm_submit() hands a command to Raft and waits until the
 * applier thread has applied it (or leadership is lost); the applier pops
 * raft_apply_msg from the apply queue, calls ops->apply (or restore for a
 * snapshot), answers the waiting submitter, and snapshots through
 * ops->snapshot and raft_snapshot() when raft_state_size() nears
 * maxraftstate. Duplicate detection by (client, seq) lives here too, in a
 * table of your own: rsm.c is built into libraft, which is linked before
 * libkvsrv (and the controller's tests do not link libkvsrv at all), so
 * kvsrv/kv_map.h's kv_dedup compiles here but fails to link.
 *
 * These stubs start Raft (so the services' tests can see its state) but
 * apply nothing: every submit answers ERR_WRONG_LEADER at once. */
#include <stdlib.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/queue.h"
#include "raft/rsm.h"

struct rsm {
    struct raft *rf;
    struct queue *apply;
    // Your data here.
};

struct rsm *rsm_start(struct rpc_end **peers, int n, int me,
                      struct persister *persister, int64_t maxraftstate,
                      const struct rsm_ops *ops, void *svc)
{
    (void)maxraftstate, (void)ops, (void)svc;
    struct rsm *r = xcalloc(1, sizeof *r);
    r->apply = queue_new(0);
    r->rf = raft_make(peers, n, me, persister, r->apply);
    // Your code here: restore a snapshot, start the applier thread.
    return r;
}

int rsm_register(struct rsm *r, struct rpc_server *srv)
{
    return raft_register(r->rf, srv);
}

struct raft *rsm_raft(struct rsm *r)
{
    return r->rf;
}

bool rsm_is_leader(struct rsm *r)
{
    int64_t term;
    bool leader;
    raft_get_state(r->rf, &term, &leader);
    return leader;
}

int rsm_submit(struct rsm *r, uint64_t client, uint64_t seq, const void *cmd,
               size_t len, struct buf *reply)
{
    (void)r, (void)client, (void)seq, (void)cmd, (void)len;
    reply->len = 0;
    return ERR_WRONG_LEADER;
}

void rsm_dedup_export(struct rsm *r, struct buf *out)
{
    (void)r, (void)out;
}

int rsm_dedup_merge(struct rsm *r, const void *data, size_t len)
{
    (void)r, (void)data, (void)len;
    return 0;
}

void rsm_stats(struct rsm *r, struct rsm_stats *out)
{
    (void)r;
    *out = (struct rsm_stats){0};
}

void rsm_kill(struct rsm *r)
{
    raft_kill(r->rf);
}

static void drop_apply_msg(void *m)
{
    raft_apply_msg_free(m);
}

void rsm_free(struct rsm *r)
{
    if (!r)
        return;
    rsm_kill(r);
    raft_free(r->rf);
    queue_free(r->apply, drop_apply_msg);
    free(r);
}
