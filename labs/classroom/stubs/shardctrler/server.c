/* server.c - lab 5A: the shard controller on Raft
 * (shardctrler/shardctrler.h).
 *
 * Write it here: host a "ShardCtrler" service whose Join/Leave/Move/Query
 * handlers submit commands through the rsm layer (raft/rsm.h); apply()
 * builds each new configuration with the rebalancer in sc_config.c.
 *
 * These stubs start the replica's Raft and know only configuration 0. */
#include <stdlib.h>

#include "common/buf.h"
#include "raft/rsm.h"
#include "shardctrler/shardctrler.h"

struct sc_server {
    struct rsm *rsm;
    // Your data here (the configuration history, ...).
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

struct sc_server *sc_server_start(struct rpc_end **peers, int n, int me,
                                  struct persister *persister,
                                  int64_t maxraftstate)
{
    struct sc_server *sc = xcalloc(1, sizeof *sc);
    sc->rsm = rsm_start(peers, n, me, persister, maxraftstate, &stub_ops, sc);
    return sc;
}

int sc_server_register(struct sc_server *sc, struct rpc_server *srv)
{
    // Your code here: also host the "ShardCtrler" service.
    return rsm_register(sc->rsm, srv);
}

struct raft *sc_server_raft(struct sc_server *sc)
{
    return rsm_raft(sc->rsm);
}

void sc_kill(struct sc_server *sc)
{
    rsm_kill(sc->rsm);
}

void sc_free(struct sc_server *sc)
{
    if (!sc)
        return;
    rsm_free(sc->rsm);
    free(sc);
}

void sc_server_get_stats(struct sc_server *sc, struct sc_server_stats *out)
{
    (void)sc;
    *out = (struct sc_server_stats){.nconfigs = 1};
}

void sc_server_config(struct sc_server *sc, int64_t num,
                      struct sc_config *out)
{
    (void)sc, (void)num;
    sc_config_init(out);
}
