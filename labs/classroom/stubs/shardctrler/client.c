/* client.c - lab 5A: the shard controller's clerk
 * (shardctrler/shardctrler.h).
 *
 * Write it here: try each controller replica until one answers as leader,
 * numbering requests (client id, seq) so retries take effect once.
 *
 * These stubs answer at once without calling any server: every Query
 * returns configuration 0. */
#include <stdlib.h>

#include "common/buf.h"
#include "shardctrler/shardctrler.h"

struct sc_clerk {
    int nservers;
    // Your data here (the servers' ends, client id, seq, ...).
};

struct sc_clerk *sc_clerk_new(struct rpc_end **servers, int n,
                              uint64_t client_id)
{
    (void)servers, (void)client_id;
    struct sc_clerk *ck = xcalloc(1, sizeof *ck);
    ck->nservers = n;
    return ck;
}

void sc_clerk_free(struct sc_clerk *ck)
{
    free(ck);
}

int sc_clerk_query(struct sc_clerk *ck, int64_t num, struct sc_config *out)
{
    (void)ck, (void)num;
    sc_config_init(out);
    return 0;
}

int sc_clerk_join(struct sc_clerk *ck, const struct sc_group *groups, int n)
{
    (void)ck, (void)groups, (void)n;
    return 0;
}

int sc_clerk_leave(struct sc_clerk *ck, const int *gids, int n)
{
    (void)ck, (void)gids, (void)n;
    return 0;
}

int sc_clerk_move(struct sc_clerk *ck, int shard, int gid)
{
    (void)ck, (void)shard, (void)gid;
    return 0;
}

int sc_clerk_query_once(struct sc_clerk *ck, int64_t num,
                        struct sc_config *out)
{
    return sc_clerk_query(ck, num, out);
}

void sc_clerk_set_op_timeout(struct sc_clerk *ck, uint64_t ms)
{
    (void)ck, (void)ms;
}
