/* daemon_opts.c - the daemons' shared long options (see daemon_opts.h). */
#include "rpc/daemon_opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/version.h"

void rpc_daemon_opts_init(struct rpc_daemon_opts *o)
{
    memset(o, 0, sizeof(*o));
    rpc_admission_daemon_defaults(&o->adm);
    o->max_conns = 1024;
}

/* A number in [0, hi], or exit(2) with a message. */
static void num(const char *arg, long long hi, long long *v,
                const char *prog, const char *what)
{
    if (daemon_parse_ll(arg, 0, hi, v))
        return;
    fprintf(stderr, "%s: bad %s '%s' (0..%lld)\n", prog, what, arg, hi);
    exit(2);
}

bool rpc_daemon_opt(struct rpc_daemon_opts *o, int opt, const char *arg,
                    const char *prog)
{
    long long v = 0;
    switch (opt) {
    case RPC_OPT_CLUSTER_KEY: o->cluster_key = arg; return true;
    case RPC_OPT_KEYED_CLIENTS: o->keyed_clients = true; return true;
    case RPC_OPT_VERSION:
        printf("%s %s\n", prog, LAB_VERSION);
        exit(0);
    case RPC_OPT_IDLE_TIMEOUT:
        num(arg, 1LL << 31, &v, prog, "--idle-timeout");
        o->adm.idle_ms = (uint64_t)v * 1000;
        return true;
    case RPC_OPT_READ_TIMEOUT:
        num(arg, 1LL << 31, &v, prog, "--read-timeout");
        o->adm.read_ms = (uint64_t)v * 1000;
        return true;
    case RPC_OPT_MAX_BUFFERED:
        num(arg, 1LL << 20, &v, prog, "--max-buffered");
        o->adm.max_buffered = (uint64_t)v << 20;
        return true;
    case RPC_OPT_MAX_INFLIGHT:
        num(arg, 1 << 20, &v, prog, "--max-inflight");
        o->adm.max_inflight = (unsigned)v;
        return true;
    case RPC_OPT_MAX_HANDLERS:
        num(arg, 1 << 20, &v, prog, "--max-handlers");
        o->adm.max_handlers = (unsigned)v;
        return true;
    case RPC_OPT_MAX_CONNS:
        num(arg, 1 << 24, &v, prog, "--max-conns");
        o->max_conns = (size_t)v;
        return true;
    default:
        return false;
    }
}

void rpc_daemon_opts_usage(FILE *f)
{
    fprintf(f,
            "  --cluster-key FILE   peers must prove this pre-shared key (at least 16\n"
            "                       bytes, not world-readable) before any Raft RPC;\n"
            "                       every server of the cluster needs the same file\n"
            "  --keyed-clients      also require the key from clients (kvcli\n"
            "                       --cluster-key); default: clients are open\n"
            "  --idle-timeout SEC   close connections idle this long (default 300; 0 off)\n"
            "  --read-timeout SEC   close a connection whose request is not complete\n"
            "                       this long after its first byte (default 60; 0 off)\n"
            "  --max-buffered MIB   server-wide bound on buffered request bytes\n"
            "                       (default 256; 0 off)\n"
            "  --max-inflight N     requests running per connection (default 8)\n"
            "  --max-handlers N     requests running in all, i.e. handler threads\n"
            "                       (default 32)\n"
            "  --max-conns N        open connections (default 1024, and at most the\n"
            "                       open file limit minus 64)\n"
            "  --help, --version\n");
}

int rpc_client_key_from_file(const char *path, const char *prog)
{
    uint8_t key[RPC_AUTH_KEY_BYTES];
    int rc = rpc_auth_load_key(path, key);
    if (rc == 0)
        rc = rpc_client_set_cluster_key(key);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot use cluster key %s: %s\n", prog, path,
                rc == ERR_INVAL && errno == EPERM
                    ? "readable by others (chmod 600 it)"
                : rc == ERR_INVAL ? "shorter than 16 bytes"
                                  : strerror(errno));
        return -1;
    }
    return 0;
}

int rpc_daemon_opts_apply(const struct rpc_daemon_opts *o,
                          struct rpc_server *srv, const char *prog,
                          const char *const *protect)
{
    rpc_server_set_admission(srv, &o->adm);
    rpc_server_set_max_conns(srv, o->max_conns);
    if (!o->cluster_key)
        return 0;
    uint8_t key[RPC_AUTH_KEY_BYTES];
    if (rpc_client_key_from_file(o->cluster_key, prog) < 0)
        return -1;
    rpc_auth_load_key(o->cluster_key, key); /* read fine just above */
    if (rpc_server_set_cluster_key(srv, key,
                                   o->keyed_clients ? NULL : protect) < 0) {
        fprintf(stderr, "%s: cannot start libsodium\n", prog);
        return -1;
    }
    return 0;
}
