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
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
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

/* Split a comma-separated list into owned strings; returns the count or
 * -1 if there are too many or an entry is empty. */
static int split_addrs(const char *s, char **out, int max)
{
    int n = 0;
    const char *p = s;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == 0 || n == max)
            return -1;
        out[n++] = buf_strndup(p, len);
        if (!c)
            return n;
        p = c + 1;
    }
}

static bool parse_long(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    long long me = -1, maxraftstate = 262144;
    const char *peers_arg = NULL, *dir = NULL, *listen_addr = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "i:p:d:l:m:h")) != -1) {
        switch (opt) {
        case 'i':
            if (!parse_long(optarg, &me) || me < 0) {
                fprintf(stderr, "kvserver: bad index '%s'\n", optarg);
                return 2;
            }
            break;
        case 'p': peers_arg = optarg; break;
        case 'd': dir = optarg; break;
        case 'l': listen_addr = optarg; break;
        case 'm':
            if (!parse_long(optarg, &maxraftstate)) {
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
    int n = split_addrs(peers_arg, addrs, MAX_PEERS);
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

    if (!getenv("LABLOG"))
        log_set_level(LOG_WARN);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "kvserver: cannot create %s: %s\n", dir,
                strerror(errno));
        return 1;
    }
    int err = 0;
    struct persister *ps = persister_open_dir(dir, &err);
    if (!ps) {
        fprintf(stderr, "kvserver: cannot open data directory %s: %s\n", dir,
                err_msg(err));
        return 1;
    }

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
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct rpc_server *srv = rpc_server_new();
    struct kv_server *kv = kv_server_start(ends, n, (int)me, ps,
                                           maxraftstate);
    int rc = kv_server_register(kv, srv);
    if (rc == 0)
        rc = rpc_server_listen(srv, listen_addr);
    if (rc != 0) {
        fprintf(stderr, "kvserver: cannot listen on %s: %s\n", listen_addr,
                err_msg(rc));
        kv_kill(kv);
        rpc_server_close(srv);
        kv_free(kv);
        for (int i = 0; i < n; i++)
            if (ends[i])
                rpc_end_free(ends[i]);
        persister_free(ps);
        return 1;
    }
    fprintf(stderr, "kvserver %lld/%d: serving on %s, data in %s\n", me, n,
            rpc_server_addr(srv), dir);

    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "kvserver %lld: %s, shutting down\n", me,
            strsignal(sig));

    kv_kill(kv); /* wakes blocked handlers, so the server can close */
    rpc_server_close(srv);
    kv_free(kv);
    for (int i = 0; i < n; i++) {
        if (ends[i])
            rpc_end_free(ends[i]);
        free(addrs[i]);
    }
    persister_free(ps);
    return 0;
}
