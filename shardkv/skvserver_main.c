/* skvserver_main.c - one replica of a shardkv replica group as a daemon,
 * persisting to a data directory.
 *
 *   skvserver -g GID -i INDEX -p ADDR0,ADDR1,... -c CTRL0,CTRL1,... -d DIR
 *             [-l LISTEN] [-m MAXRAFTSTATE]
 *
 * The group's replicas are the peer list (-p); this one is entry INDEX
 * and listens on LISTEN (default: that entry), hosting the ShardKV and
 * Raft services. -c lists the shard controller's replicas. The group is
 * known to the controller (and to other groups, which push shards to it)
 * by its peer list: join it with `skvcli join GID ADDR0,ADDR1,...` using
 * the same addresses. State (Raft log, snapshot with the shards and the
 * dedup table) survives SIGKILL through the file-backed persister;
 * SIGTERM or SIGINT shut down cleanly. Malformed requests cost only their
 * connection (the RPC layer bounds and validates all input). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/err.h"
#include "rpc/daemon_opts.h"
#include "rpc/end_pool.h"
#include "rpc/rpc.h"
#include "rpc/serve.h"
#include "shardkv/shardkv.h"

#define SKV_MAX_PEERS 64

static void usage(FILE *f)
{
    fprintf(f,
            "usage: skvserver -g GID -i INDEX -p ADDR0,ADDR1,... "
            "-c CTRL0,CTRL1,... -d DIR\n"
            "                 [-l LISTEN] [-m MAXRAFTSTATE]\n"
            "  -g GID           this replica group's id (> 0)\n"
            "  -i INDEX         this replica's position in the peer list\n"
            "  -p ADDRS         comma-separated host:port of the group's "
            "replicas\n"
            "  -c ADDRS         comma-separated host:port of the shard "
            "controllers\n"
            "  -d DIR           data directory (created if missing)\n"
            "  -l LISTEN        listen address (default: the peer list's "
            "entry)\n"
            "  -m MAXRAFTSTATE  snapshot when Raft state reaches this many "
            "bytes\n"
            "                   (default 1048576; -1 disables snapshots)\n"
            "  -h, --help       this text\n");
    rpc_daemon_opts_usage(f);
    fprintf(f,
            "environment: LABLOG=debug[:SKV,RSM,LEAD,...] for debug logs\n"
            "             (topics: common/log.h)\n"
            "             RAFT_BATCH_MS=N holds a proposal up to N ms so that\n"
            "             others share its AppendEntries (default 0 here)\n");
}

/* Ends from a comma-separated list of addresses (entry `skip` left
 * NULL), all owned by the pool. Returns the count, or -1. */
int main(int argc, char **argv)
{
    long long me = -1, gid = 0, maxraftstate = 1 << 20;
    const char *peers_arg = NULL, *ctrl_arg = NULL, *dir = NULL;
    const char *listen_arg = NULL;
    struct rpc_daemon_opts dopts;
    rpc_daemon_opts_init(&dopts);
    static const struct option longopts[] = {RPC_DAEMON_LONGOPTS, {0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "g:i:p:c:d:l:m:h", longopts, NULL)) !=
           -1) {
        switch (opt) {
        case 'g':
            if (!daemon_parse_ll(optarg, 1, 1LL << 30, &gid)) {
                fprintf(stderr, "skvserver: bad gid '%s'\n", optarg);
                return 2;
            }
            break;
        case 'i':
            if (!daemon_parse_ll(optarg, 0, SKV_MAX_PEERS - 1, &me)) {
                fprintf(stderr, "skvserver: bad index '%s'\n", optarg);
                return 2;
            }
            break;
        case 'p': peers_arg = optarg; break;
        case 'c': ctrl_arg = optarg; break;
        case 'd': dir = optarg; break;
        case 'l': listen_arg = optarg; break;
        case 'm':
            if (!daemon_parse_ll(optarg, -1, 1LL << 40, &maxraftstate)) {
                fprintf(stderr, "skvserver: bad maxraftstate '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default:
            if (!rpc_daemon_opt(&dopts, opt, optarg, "skvserver")) {
                usage(stderr);
                return 2;
            }
        }
    }
    if (optind != argc || me < 0 || !gid || !peers_arg || !ctrl_arg ||
        !dir) {
        fprintf(stderr, "skvserver: -g, -i, -p, -c and -d are required "
                        "(and no other arguments)\n");
        usage(stderr);
        return 2;
    }
    /* Ends to other groups carry whole shards (Install): allow a slow
     * transfer more than the default call bound. */
    struct rpc_end_pool *pool = rpc_end_pool_new(30000);
    struct rpc_end *peers[SKV_MAX_PEERS], *ctrls[SKV_MAX_PEERS];
    char *self = NULL;
    int n = rpc_end_pool_peers(pool, "skvserver", peers_arg, (int)me, peers,
                               SKV_MAX_PEERS, &self);
    int nc = n < 0 ? -1
                   : rpc_end_pool_list(pool, "skvserver", ctrl_arg, ctrls,
                                       SKV_MAX_PEERS, -1);
    struct persister *ps = NULL;
    struct rpc_server *srv = rpc_server_new();
    /* Raft and shard hand-over come only from servers of the deployment. */
    static const char *const protect[] = {"Raft", "ShardKV.Install", NULL};
    /* Port first, then the directory (see kvserver_main.c). */
    if (nc > 0) {
        daemon_default_log();
        daemon_default_batching();
        if (rpc_daemon_opts_apply(&dopts, srv, "skvserver", protect) == 0 &&
            rpc_serve_bind(srv, listen_arg ? listen_arg : self,
                           "skvserver") == 0)
            ps = daemon_open_data_dir("skvserver", dir);
    }
    if (!ps) {
        rpc_server_close(srv);
        rpc_end_pool_free(pool);
        free(self);
        return nc > 0 ? 1 : 2;
    }

    sigset_t sigs;
    daemon_block_signals(&sigs); /* before any thread starts */
    struct skv_server *kv =
        skv_server_start(peers, n, (int)me, ps, maxraftstate, (int)gid,
                         ctrls, nc, rpc_end_pool_get, pool);
    int rc = skv_server_register(kv, srv);
    char who[64], extra[1024];
    snprintf(who, sizeof(who), "skvserver gid %lld %lld/%d", gid, me, n);
    snprintf(extra, sizeof(extra), ", data in %s", dir);
    if (rc == 0)
        rc = rpc_serve_until_signal(srv, listen_arg ? listen_arg : self,
                                    &sigs, who, extra);
    /* Fail calls in flight to other groups and the controller first, so
     * the poller and pusher need not wait out a call timeout. */
    rpc_end_pool_shutdown(pool);
    skv_kill(kv);
    rpc_server_close(srv);
    skv_free(kv);
    rpc_end_pool_free(pool);
    persister_free(ps);
    free(self);
    return rc == 0 ? 0 : 1;
}
