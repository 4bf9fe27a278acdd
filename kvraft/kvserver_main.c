/* kvserver_main.c - the lab 4 KV server as a daemon: one replica of a
 * Raft-replicated KV cluster, persisting to a data directory.
 *
 *   kvserver -i INDEX -p ADDR0,ADDR1,... -d DIR [-l LISTEN] [-m MAXRAFTSTATE]
 *
 * INDEX is this server's position in the peer list; it listens on LISTEN
 * (default: its own entry in the peer list) and hosts the KVServer and Raft
 * services there. State survives SIGKILL: the file-backed persister writes
 * Raft state and snapshot atomically (temp file, fsync, rename). SIGTERM or
 * SIGINT shut it down cleanly. Malformed requests cost only their
 * connection (the RPC layer bounds and validates all input). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/persister.h"
#include "kvraft/kvraft.h"
#include "rpc/rpc.h"

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
            "environment: LABLOG=debug[:KV,RAFT,...] for debug logs\n");
}

int main(int argc, char **argv)
{
    long long me = -1, maxraftstate = 262144;
    const char *peers_arg = NULL, *dir = NULL, *listen_addr = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "i:p:d:l:m:h")) != -1) {
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
        default: usage(stderr); return 2;
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
    char *addrs[MAX_PEERS];
    int n = daemon_split_list(peers_arg, addrs, MAX_PEERS);
    if (n < 0) {
        fprintf(stderr, "kvserver: bad peer list '%s' (empty entry or more "
                        "than %d peers)\n", peers_arg, MAX_PEERS);
        return 2;
    }
    if (me >= n) {
        fprintf(stderr, "kvserver: index %lld out of range for %d peers\n",
                me, n);
        return 2;
    }
    if (!listen_addr)
        listen_addr = addrs[me];

    daemon_default_log();
    struct persister *ps = daemon_open_data_dir("kvserver", dir);
    if (!ps)
        return 1;
    int err = 0;

    struct rpc_end *ends[MAX_PEERS] = {0};
    for (int i = 0; i < n; i++) {
        if (i == me)
            continue;
        ends[i] = rpc_end_new(addrs[i], &err);
        if (!ends[i]) {
            fprintf(stderr, "kvserver: bad peer address '%s': %s\n",
                    addrs[i], err_msg(err));
            return 2;
        }
    }

    /* Block the shutdown signals in every thread; main waits for them. */
    sigset_t sigs;
    daemon_block_signals(&sigs);

    struct rpc_server *srv = rpc_server_new();
    struct kv_server *kv = kv_server_start(ends, n, (int)me, ps,
                                           maxraftstate);
    int rc = kv_server_register(kv, srv);
    if (rc == 0)
        rc = rpc_server_listen(srv, listen_addr);
    if (rc != 0) {
        fprintf(stderr, "kvserver: cannot listen on %s: %s\n", listen_addr,
                err_msg(rc));
    } else {
        fprintf(stderr, "kvserver %lld/%d: serving on %s, data in %s\n", me,
                n, rpc_server_addr(srv), dir);
        int sig = daemon_wait_signal(&sigs);
        fprintf(stderr, "kvserver %lld: %s, shutting down\n", me,
                strsignal(sig));
    }

    kv_kill(kv); /* wakes blocked handlers, so the server can close */
    rpc_server_close(srv);
    kv_free(kv);
    for (int i = 0; i < n; i++)
        if (ends[i])
            rpc_end_free(ends[i]);
    daemon_free_list(addrs, n);
    persister_free(ps);
    return rc ? 1 : 0;
}
