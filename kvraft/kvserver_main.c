/* kvserver_main.c - the lab 4 KV server as a daemon: one replica of a
 * Raft-replicated KV cluster, persisting to a data directory.
 *
 *   kvserver -i INDEX -p ADDR0,ADDR1,... -d DIR [-l LISTEN] [-m MAXRAFTSTATE]
 *            [--cluster-key FILE] [admission options: rpc/daemon_opts.h]
 *
 * INDEX is this server's position in the peer list; it listens on LISTEN
 * (default: its own entry in the peer list) and hosts the KVServer and Raft
 * services there. State survives SIGKILL: the file-backed persister
 * appends each change to a checksummed log and fsyncs it (one fsync for
 * many concurrent writes) before anything that depends on it is sent; a
 * snapshot is written atomically (temp file, fsync, rename). SIGTERM or
 * SIGINT shut it down cleanly. Malformed requests cost only their
 * connection (the RPC layer bounds and validates all input); admission
 * control bounds idle and slow connections, buffered bytes and handler
 * threads; with a cluster key only peers that prove it reach Raft. The
 * data directory is locked (a second daemon on it refuses to start) and
 * only touched once the listening port is bound. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/persister.h"
#include "kvraft/kvraft.h"
#include "rpc/daemon_opts.h"
#include "rpc/end_pool.h"
#include "rpc/rpc.h"
#include "rpc/serve.h"

#define MAX_PEERS 64

static void usage(FILE *f)
{
    fprintf(f,
            "usage: kvserver -i INDEX -p ADDR0,ADDR1,... -d DIR [-l LISTEN] "
            "[-m MAXRAFTSTATE]\n"
            "  -i INDEX         this server's position in the peer list (0-based)\n"
            "  -p ADDRS         comma-separated host:port of every server, in order\n"
            "  -d DIR           data directory (created if missing)\n"
            "  -l LISTEN        listen address (default: the peer list's entry)\n"
            "  -m MAXRAFTSTATE  snapshot when Raft state reaches this many bytes\n"
            "                   (default 262144; -1 disables snapshots)\n"
            "  -h, --help       this text\n");
    rpc_daemon_opts_usage(f);
    fprintf(f,
            "environment: LABLOG=debug[:KV,RSM,LEAD,...] for debug logs\n"
            "             (topics: common/log.h)\n"
            "             RAFT_BATCH_MS=N holds a proposal up to N ms so that\n"
            "             others share its AppendEntries (default 0 here)\n");
}

int main(int argc, char **argv)
{
    long long me = -1, maxraftstate = 262144;
    const char *peers_arg = NULL, *dir = NULL, *listen_addr = NULL;
    struct rpc_daemon_opts dopts;
    rpc_daemon_opts_init(&dopts);
    static const struct option longopts[] = {RPC_DAEMON_LONGOPTS, {0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "i:p:d:l:m:h", longopts, NULL)) !=
           -1) {
        switch (opt) {
        case 'i':
            if (!daemon_parse_ll(optarg, 0, MAX_PEERS - 1, &me)) {
                fprintf(stderr, "kvserver: bad index '%s'\n", optarg);
                return 2;
            }
            break;
        case 'p': peers_arg = optarg; break;
        case 'd': dir = optarg; break;
        case 'l': listen_addr = optarg; break;
        case 'm':
            if (!daemon_parse_ll(optarg, -1, INT64_MAX, &maxraftstate)) {
                fprintf(stderr, "kvserver: bad maxraftstate '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default:
            if (!rpc_daemon_opt(&dopts, opt, optarg, "kvserver")) {
                usage(stderr);
                return 2;
            }
        }
    }
    if (optind != argc || me < 0 || !peers_arg || !dir) {
        if (optind != argc)
            fprintf(stderr, "kvserver: unexpected argument '%s'\n",
                    argv[optind]);
        else
            fprintf(stderr, "kvserver: -i, -p and -d are required\n");
        usage(stderr);
        return 2;
    }
    struct rpc_end_pool *pool = rpc_end_pool_new(0);
    struct rpc_end *ends[MAX_PEERS];
    char *self = NULL;
    int n = rpc_end_pool_peers(pool, "kvserver", peers_arg, (int)me, ends,
                               MAX_PEERS, &self);
    struct persister *ps = NULL;
    struct rpc_server *srv = rpc_server_new();
    static const char *const protect[] = {"Raft", NULL};
    /* Port first, then the directory: nothing is created or locked by a
     * daemon that cannot serve. */
    if (n > 0) {
        daemon_default_log();
        daemon_default_batching();
        if (rpc_daemon_opts_apply(&dopts, srv, "kvserver", protect) == 0 &&
            rpc_serve_bind(srv, listen_addr ? listen_addr : self,
                           "kvserver") == 0)
            ps = daemon_open_data_dir("kvserver", dir);
    }
    if (!ps) {
        rpc_server_close(srv);
        rpc_end_pool_free(pool);
        free(self);
        return n > 0 ? 1 : 2;
    }

    /* Block the shutdown signals in every thread; main waits for them. */
    sigset_t sigs;
    daemon_block_signals(&sigs);

    struct kv_server *kv = kv_server_start(ends, n, (int)me, ps,
                                           maxraftstate);
    int rc = kv_server_register(kv, srv);
    char who[64], extra[1024];
    snprintf(who, sizeof(who), "kvserver %lld/%d", me, n);
    snprintf(extra, sizeof(extra), ", data in %s", dir);
    if (rc == 0)
        rc = rpc_serve_until_signal(srv, listen_addr ? listen_addr : self,
                                    &sigs, who, extra);

    rpc_end_pool_shutdown(pool); /* calls to dead peers fail at once */
    kv_kill(kv); /* wakes blocked handlers, so the server can close */
    rpc_server_close(srv);
    kv_free(kv);
    rpc_end_pool_free(pool);
    free(self);
    persister_free(ps);
    return rc ? 1 : 0;
}
