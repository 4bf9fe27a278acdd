/* kvcli_main.c - command-line client for a kvserver cluster.
 *
 *   kvcli -s ADDR0,ADDR1,... [-c CLIENTID] [-t TIMEOUT_MS] get KEY
 *   kvcli -s ADDRS put KEY VALUE
 *   kvcli -s ADDRS append KEY VALUE
 *   kvcli -s ADDRS batch < ops
 *   kvcli -s ADDRS status
 *
 * The clerk finds the leader itself and retries with its own client id
 * (random unless -c is given), so a retried Put/Append is applied once.
 * `get` prints the value and a newline.
 *
 * `batch` reads one operation per line from stdin ("get K", "put K V",
 * "append K V"; K and V without whitespace) and runs them in order with one
 * clerk, printing a history record per operation on stdout:
 *   <client>\t<op>\t<key>\t<value>\t<output>\t<call_ns>\t<return_ns>\t<status>
 * op is get|put|append; times are CLOCK_MONOTONIC nanoseconds (comparable
 * between processes on one machine); status is ok, or timeout when the
 * outcome is unknown (return_ns is then -1). A linearizability checker can
 * read these records (test-scripts/test-kv-daemons.sh does).
 *
 * `status` asks every server for its KVServer.Status and prints one line
 * per server: "<addr> up leader|follower me=I term=T applied=A keys=K
 * raft_bytes=R" or "<addr> down <error>" (exit status 1 if any is down).
 *
 * Exit status: 0 success, 1 failure (timeout), 2 usage error. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/daemon.h"
#include "common/err.h"
#include "kvraft/kvraft.h"
#include "rpc/end_pool.h"
#include "rpc/rpc.h"

#define MAX_SERVERS 64

static void usage(FILE *f)
{
    fprintf(f,
            "usage: kvcli -s ADDR0,ADDR1,... [-c CLIENTID] [-t TIMEOUT_MS] "
            "COMMAND\n"
            "commands:\n"
            "  get KEY           print KEY's value (empty if absent)\n"
            "  put KEY VALUE     set KEY to VALUE\n"
            "  append KEY VALUE  append VALUE to KEY\n"
            "  batch             run 'get K' / 'put K V' / 'append K V' lines "
            "from stdin,\n"
            "                    printing a timestamped history record per op\n"
            "  status            show each server's role, term and progress\n"
            "options:\n"
            "  -s ADDRS       comma-separated host:port of the servers\n"
            "  -c CLIENTID    client id, decimal (default: random)\n"
            "  -t TIMEOUT_MS  give up an operation after this long "
            "(default 30000; 0 = never)\n");
}

/* One operation, with its history record in batch mode. */
static int run_one(struct kv_clerk *ck, const char *op, const char *key,
                   const char *val, bool record)
{
    uint64_t call = clock_now_ns();
    char *out = NULL;
    int rc;
    if (strcmp(op, "get") == 0) {
        out = kv_clerk_get(ck, key, NULL);
        rc = out ? 0 : ERR_TIMEOUT;
    } else if (strcmp(op, "put") == 0) {
        rc = kv_clerk_put(ck, key, val);
    } else {
        rc = kv_clerk_append(ck, key, val);
    }
    uint64_t ret = clock_now_ns();
    if (record) {
        printf("%" PRIu64 "\t%s\t%s\t%s\t%s\t%" PRIu64 "\t%" PRId64 "\t%s\n",
               kv_clerk_id(ck), op, key, val ? val : "",
               out ? out : "", call, rc == 0 ? (int64_t)ret : (int64_t)-1,
               rc == 0 ? "ok" : "timeout");
        fflush(stdout);
    } else if (rc == 0 && out) {
        printf("%s\n", out);
    } else if (rc != 0) {
        fprintf(stderr, "kvcli: %s %s: %s\n", op, key, err_msg(rc));
    }
    free(out);
    return rc;
}

struct status_reply {
    int64_t me, term, applied;
    uint64_t keys, raft_bytes;
    bool leader;
};

static int dec_status(const msgpack_object *o, void *out)
{
    struct status_reply *r = out;
    struct rpc_dec d;
    rpc_dec_init(&d, o);
    r->me = rpc_dec_i64(&d, "me", -1);
    r->leader = rpc_dec_bool(&d, "l", false);
    r->term = rpc_dec_i64(&d, "t", 0);
    r->applied = rpc_dec_i64(&d, "a", 0);
    r->keys = rpc_dec_u64(&d, "k", 0);
    r->raft_bytes = rpc_dec_u64(&d, "r", 0);
    return d.err;
}

static int enc_empty(msgpack_packer *pk, const void *p)
{
    (void)p;
    msgpack_pack_map(pk, 0);
    return 0;
}

static int status(struct rpc_end **ends, char **addrs, int n)
{
    int down = 0;
    for (int i = 0; i < n; i++) {
        struct status_reply r;
        int rc = rpc_call(ends[i], "KVServer.Status", enc_empty, NULL,
                          dec_status, &r);
        if (rc != 0) {
            printf("%s down %s\n", addrs[i], err_name(rc));
            down++;
            continue;
        }
        printf("%s up %s me=%" PRId64 " term=%" PRId64 " applied=%" PRId64
               " keys=%" PRIu64 " raft_bytes=%" PRIu64 "\n",
               addrs[i], r.leader ? "leader" : "follower", r.me, r.term,
               r.applied, r.keys, r.raft_bytes);
    }
    return down ? 1 : 0;
}

static int batch(struct kv_clerk *ck)
{
    char line[8192];
    int failures = 0;
    while (fgets(line, sizeof line, stdin)) {
        char *save = NULL;
        char *op = strtok_r(line, " \t\r\n", &save);
        if (!op)
            continue;
        char *key = strtok_r(NULL, " \t\r\n", &save);
        char *val = strtok_r(NULL, " \t\r\n", &save);
        bool is_get = strcmp(op, "get") == 0;
        bool is_pa = strcmp(op, "put") == 0 || strcmp(op, "append") == 0;
        if (!key || (!is_get && !is_pa) || (is_pa && !val) ||
            (is_get && val)) {
            fprintf(stderr, "kvcli: bad batch line (want 'get K', 'put K V' "
                            "or 'append K V')\n");
            return 2;
        }
        if (run_one(ck, op, key, is_get ? NULL : val, true) != 0)
            failures++;
    }
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *servers_arg = NULL;
    uint64_t client = 0;
    long long timeout_ms = 30000;
    int opt;
    while ((opt = getopt(argc, argv, "+s:c:t:h")) != -1) {
        long long v;
        switch (opt) {
        case 's': servers_arg = optarg; break;
        case 'c':
            if (!daemon_parse_ll(optarg, 1, INT64_MAX, &v)) {
                fprintf(stderr, "kvcli: bad client id '%s'\n", optarg);
                return 2;
            }
            client = (uint64_t)v;
            break;
        case 't':
            if (!daemon_parse_ll(optarg, 0, INT64_MAX, &timeout_ms)) {
                fprintf(stderr, "kvcli: bad timeout '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!servers_arg) {
        fprintf(stderr, "kvcli: -s ADDRS is required\n");
        usage(stderr);
        return 2;
    }
    int nargs = argc - optind;
    char **args = argv + optind;
    if (nargs < 1) {
        fprintf(stderr, "kvcli: missing command\n");
        usage(stderr);
        return 2;
    }
    const char *cmd = args[0];
    bool ok = (strcmp(cmd, "get") == 0 && nargs == 2) ||
              ((strcmp(cmd, "put") == 0 || strcmp(cmd, "append") == 0) &&
               nargs == 3) ||
              ((strcmp(cmd, "batch") == 0 || strcmp(cmd, "status") == 0) &&
               nargs == 1);
    if (!ok) {
        fprintf(stderr, "kvcli: bad command or argument count\n");
        usage(stderr);
        return 2;
    }
    /* A server answers within ~1 s (its own wait bound); a longer silence
     * means a dead or partitioned machine: try the next. */
    struct rpc_end_pool *pool = rpc_end_pool_new(3000);
    struct rpc_end *ends[MAX_SERVERS];
    int n = rpc_end_pool_list(pool, "kvcli", servers_arg, ends, MAX_SERVERS,
                              -1);
    if (n < 0) {
        rpc_end_pool_free(pool);
        return 2;
    }
    char *addrs[MAX_SERVERS]; /* the same list: parsed once already */
    daemon_split_list(servers_arg, addrs, MAX_SERVERS);
    signal(SIGPIPE, SIG_IGN);
    daemon_default_log();
    struct kv_clerk *ck = kv_clerk_new(ends, n, client);
    kv_clerk_set_op_timeout(ck, (uint64_t)timeout_ms);
    int rc;
    if (strcmp(cmd, "batch") == 0)
        rc = batch(ck);
    else if (strcmp(cmd, "status") == 0)
        rc = status(ends, addrs, n);
    else
        rc = run_one(ck, cmd, args[1], nargs == 3 ? args[2] : NULL, false)
                 ? 1
                 : 0;
    kv_clerk_free(ck);
    rpc_end_pool_shutdown(pool);
    rpc_end_pool_free(pool);
    daemon_free_list(addrs, n);
    return rc;
}
