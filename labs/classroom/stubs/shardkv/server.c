/* server.c - lab 5: a sharded KV replica group on Raft
 * (shardkv/shardkv.h); 5A needs it with static shards (no migration: the
 * lab 5 handout, "5A: shardkv with static shards"), 5B adds migration.
 *
 * Write it here: serve "ShardKV" Get/Put/Append for the shards this group
 * owns (ErrWrongGroup otherwise) through the rsm layer (raft/rsm.h), poll
 * the controller (sc_clerk_query) every SKV_POLL_MS, and move shards
 * between groups as configurations change.
 *
 * These stubs start the replica's Raft but serve no requests. */
#include <stdlib.h>

#include "common/buf.h"
#include "raft/rsm.h"
#include "shardkv/shardkv.h"

struct skv_server {
    struct rsm *rsm;
    int gid;
    // Your data here.
};

static bool stub_apply(void *svc, const void *cmd, size_t len, int64_t index,
                       struct buf *reply)
{
    (void)svc, (void)cmd, (void)len, (void)index, (void)reply;
    return true;
}

static void stub_snapshot(void *svc, struct buf *out)
{
    (void)svc, (void)out;
}

static int stub_restore(void *svc, const void *data, size_t len)
{
    (void)svc, (void)data, (void)len;
    return 0;
}

static const struct rsm_ops stub_ops = {stub_apply, stub_snapshot, stub_restore};

struct skv_server *skv_server_start(struct rpc_end **peers, int n, int me,
                                    struct persister *persister,
                                    int64_t maxraftstate, int gid,
                                    struct rpc_end **ctrlers, int nctrlers,
                                    skv_make_end_fn make_end, void *ctx)
{
    (void)ctrlers, (void)nctrlers, (void)make_end, (void)ctx;
    struct skv_server *kv = xcalloc(1, sizeof *kv);
    kv->gid = gid;
    kv->rsm = rsm_start(peers, n, me, persister, maxraftstate, &stub_ops, kv);
    return kv;
}

int skv_server_register(struct skv_server *kv, struct rpc_server *srv)
{
    // Your code here: also host the "ShardKV" service.
    return rsm_register(kv->rsm, srv);
}

struct raft *skv_server_raft(struct skv_server *kv)
{
    return rsm_raft(kv->rsm);
}

void skv_kill(struct skv_server *kv)
{
    rsm_kill(kv->rsm);
}

void skv_free(struct skv_server *kv)
{
    if (!kv)
        return;
    rsm_free(kv->rsm);
    free(kv);
}

void skv_server_get_stats(struct skv_server *kv, struct skv_server_stats *out)
{
    *out = (struct skv_server_stats){.gid = kv->gid};
}
