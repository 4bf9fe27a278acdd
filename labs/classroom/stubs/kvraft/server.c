/* server.c - lab 4: the KV server on Raft (kvraft/kvraft.h).
 *
 * Write it here: host a "KVServer" service whose Get/Put/Append handlers
 * submit commands through the rsm layer (raft/rsm.h) and answer once they
 * are applied; apply() executes them on the store (kvsrv/kv_map.h),
 * snapshot()/restore() save and load it (lab 4B).
 *
 * These stubs start the replica's Raft but serve no KV requests. */
#include <stdlib.h>

#include "common/buf.h"
#include "common/err.h"
#include "kvraft/kvraft.h"
#include "kvsrv/kv_map.h"
#include "raft/rsm.h"

struct kv_server {
    struct rsm *rsm;
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

struct kv_server *kv_server_start(struct rpc_end **peers, int n, int me,
                                  struct persister *persister,
                                  int64_t maxraftstate)
{
    struct kv_server *kv = xcalloc(1, sizeof *kv);
    kv->rsm = rsm_start(peers, n, me, persister, maxraftstate, &stub_ops, kv);
    return kv;
}

int kv_server_register(struct kv_server *kv, struct rpc_server *srv)
{
    // Your code here: also host the "KVServer" service.
    return rsm_register(kv->rsm, srv);
}

struct raft *kv_server_raft(struct kv_server *kv)
{
    return rsm_raft(kv->rsm);
}

void kv_kill(struct kv_server *kv)
{
    rsm_kill(kv->rsm);
}

void kv_free(struct kv_server *kv)
{
    if (!kv)
        return;
    rsm_free(kv->rsm);
    free(kv);
}

void kv_server_get_stats(struct kv_server *kv, struct kv_server_stats *out)
{
    (void)kv;
    *out = (struct kv_server_stats){0};
}

void kv_snapshot_encode(const struct kv_map *store, struct buf *out)
{
    (void)store, (void)out;
}

int kv_snapshot_decode(const void *data, size_t len, struct kv_map *store)
{
    (void)data, (void)len, (void)store;
    return ERR_CORRUPT;
}
