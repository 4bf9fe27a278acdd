/* scserver_main.c - the lab 5 shard controller as a daemon: one replica
 * of the Raft-replicated configuration service, persisting to a data
 * directory.
 *
 *   scserver -i INDEX -p ADDR0,ADDR1,... -d DIR [-l LISTEN] [-m MAXRAFTSTATE]
 *
 * INDEX is this replica's position in the peer list; it listens on LISTEN
 * (default: its own entry of the list) and hosts the ShardCtrler and Raft
 * services there. The file-backed persister makes each change durable
 * (checksummed log, fsync) before anything depending on it is sent, and
 * writes snapshots atomically, so a SIGKILL loses nothing acknowledged; SIGTERM
 * or SIGINT shut it down cleanly. Malformed requests cost only their
 * connection (the RPC layer bounds and validates all input). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/err.h"
#include "rpc/daemon_opts.h"
#include "rpc/end_pool.h"
#include "rpc/rpc.h"
#include "rpc/serve.h"
#include "shardctrler/shardctrler.h"

#define SC_MAX_PEERS 64

static void usage(FILE *f)
{
    fprintf(f,
            "usage: scserver -i INDEX -p ADDR0,ADDR1,... -d DIR [-l LISTEN] "
            "[-m MAXRAFTSTATE]\n"
            "  -i INDEX         this replica's position in the peer list\n"
            "  -p ADDRS         comma-separated host:port of every replica\n"
            "  -d DIR           data directory (created if missing)\n"
            "  -l LISTEN        listen address (default: the peer list's "
            "entry)\n"
            "  -m MAXRAFTSTATE  snapshot when Raft state reaches this many "
            "bytes\n"
            "                   (default 65536; -1 disables snapshots)\n"
            "  -h, --help       this text\n");
    rpc_daemon_opts_usage(f);
    fprintf(f,
            "environment: LABLOG=debug[:CTRL,RSM,LEAD,...] for debug logs\n"
            "             (topics: common/log.h)\n"
            "             RAFT_BATCH_MS=N holds a proposal up to N ms so that\n"
            "             others share its AppendEntries (default 0 here)\n");
}

int main(int argc, char **argv)
{
    long long me = -1, maxraftstate = 65536;
    const char *peers_arg = NULL, *dir = NULL, *listen_addr = NULL;
    struct rpc_daemon_opts dopts;
    rpc_daemon_opts_init(&dopts);
    static const struct option longopts[] = {RPC_DAEMON_LONGOPTS, {0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "i:p:d:l:m:h", longopts, NULL)) !=
           -1) {
        switch (opt) {
        case 'i':
            if (!daemon_parse_ll(optarg, 0, SC_MAX_PEERS - 1, &me)) {
                fprintf(stderr, "scserver: bad index '%s'\n", optarg);
                return 2;
            }
            break;
        case 'p': peers_arg = optarg; break;
        case 'd': dir = optarg; break;
        case 'l': listen_addr = optarg; break;
        case 'm':
            if (!daemon_parse_ll(optarg, -1, 1LL << 40, &maxraftstate)) {
                fprintf(stderr, "scserver: bad maxraftstate '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default:
            if (!rpc_daemon_opt(&dopts, opt, optarg, "scserver")) {
                usage(stderr);
                return 2;
            }
        }
    }
    if (optind != argc || me < 0 || !peers_arg || !dir) {
        fprintf(stderr, "scserver: -i, -p and -d are required (and no "
                        "other arguments)\n");
        usage(stderr);
        return 2;
    }
    struct rpc_end_pool *pool = rpc_end_pool_new(0);
    struct rpc_end *ends[SC_MAX_PEERS];
    char *self = NULL;
    int n = rpc_end_pool_peers(pool, "scserver", peers_arg, (int)me, ends,
                               SC_MAX_PEERS, &self);
    struct persister *ps = NULL;
    struct rpc_server *srv = rpc_server_new();
    static const char *const protect[] = {"Raft", NULL};
    /* Port first, then the directory (see kvserver_main.c). */
    if (n > 0) {
        daemon_default_log();
        daemon_default_batching();
        if (rpc_daemon_opts_apply(&dopts, srv, "scserver", protect) == 0 &&
            rpc_serve_bind(srv, listen_addr ? listen_addr : self,
                           "scserver") == 0)
            ps = daemon_open_data_dir("scserver", dir);
    }
    if (!ps) {
        rpc_server_close(srv);
        rpc_end_pool_free(pool);
        free(self);
        return n > 0 ? 1 : 2;
    }

    sigset_t sigs;
    daemon_block_signals(&sigs); /* before any thread starts */
    struct sc_server *sc = sc_server_start(ends, n, (int)me, ps,
                                           maxraftstate);
    int rc = sc_server_register(sc, srv);
    char who[64], extra[1024];
    snprintf(who, sizeof(who), "scserver %lld/%d", me, n);
    snprintf(extra, sizeof(extra), ", data in %s", dir);
    if (rc == 0)
        rc = rpc_serve_until_signal(srv, listen_addr ? listen_addr : self,
                                    &sigs, who, extra);
    rpc_end_pool_shutdown(pool); /* calls to dead peers fail at once */
    sc_kill(sc); /* wakes blocked handlers, so the server can close */
    rpc_server_close(srv);
    sc_free(sc);
    rpc_end_pool_free(pool);
    free(self);
    persister_free(ps);
    return rc == 0 ? 0 : 1;
}
