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
 * "append K V"; K and V bare words or "quoted" with C escapes, see
 * common/batch.h), refuses the whole input if any line does not parse
 * (before sending anything), and runs them in order with one clerk,
 * printing a history record per operation on stdout:
 *   <client>\t<op>\t<key>\t<value>\t<output>\t<call_ns>\t<return_ns>\t<status>
 * op is get|put|append; times are CLOCK_MONOTONIC nanoseconds (comparable
 * between processes on one machine); status is ok, or timeout when the
 * outcome is unknown (return_ns is then -1). Tabs, newlines and
 * backslashes in key, value and output are written as \t \n \\ (plain
 * values appear as they are). A linearizability checker can
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

#include "common/batch.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/daemon.h"
#include "common/err.h"
#include "kvraft/kvraft.h"
#include "common/version.h"
#include "rpc/daemon_opts.h"
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
            "                    printing a timestamped history record per op;\n"
            "                    K and V are bare words or \"quoted\" with the\n"
            "                    escapes \\\\ \\\" \\n \\r \\t \\xHH (any byte but NUL);\n"
            "                    the whole input is checked before anything is "
            "sent\n"
            "  status            show each server's role, term and progress\n"
            "options:\n"
            "  -s ADDRS       comma-separated host:port of the servers\n"
            "  -c CLIENTID    client id, decimal (default: random)\n"
            "  -t TIMEOUT_MS  give up an operation after this long "
            "(default 30000; 0 = never)\n"
            "  --cluster-key FILE  prove this key to the servers (servers run\n"
            "                 with --keyed-clients require it)\n"
            "  -h, --help, --version\n");
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
        printf("%" PRIu64 "\t%s\t", kv_clerk_id(ck), op);
        batch_put_field(stdout, key);
        putchar('\t');
        batch_put_field(stdout, val ? val : "");
        putchar('\t');
        batch_put_field(stdout, out ? out : "");
        printf("\t%" PRIu64 "\t%" PRId64 "\t%s\n", call,
               rc == 0 ? (int64_t)ret : (int64_t)-1,
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

static int batch(struct kv_clerk *ck, const struct batch *b)
{
    int failures = 0;
    for (size_t i = 0; i < b->n; i++)
        if (run_one(ck, b->ops[i].op, b->ops[i].key, b->ops[i].val, true))
            failures++;
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *servers_arg = NULL;
    uint64_t client = 0;
    long long timeout_ms = 30000;
    const char *key_file = NULL;
    static const struct option longopts[] = {RPC_CLIENT_LONGOPTS, {0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "+s:c:t:h", longopts, NULL)) !=
           -1) {
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
        case RPC_OPT_CLUSTER_KEY: key_file = optarg; break;
        case RPC_OPT_VERSION: printf("kvcli %s\n", LAB_VERSION); return 0;
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
    /* Parse all of the batch first: a bad line sends nothing. */
    struct batch ops = {0};
    if (strcmp(cmd, "batch") == 0 && batch_read(stdin, "kvcli", &ops) < 0)
        return 2;
    if (key_file && rpc_client_key_from_file(key_file, "kvcli") < 0) {
        batch_free(&ops);
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
        batch_free(&ops);
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
        rc = batch(ck, &ops);
    else if (strcmp(cmd, "status") == 0)
        rc = status(ends, addrs, n);
    else
        rc = run_one(ck, cmd, args[1], nargs == 3 ? args[2] : NULL, false)
                 ? 1
                 : 0;
    batch_free(&ops);
    kv_clerk_free(ck);
    rpc_end_pool_shutdown(pool);
    rpc_end_pool_free(pool);
    daemon_free_list(addrs, n);
    return rc;
}
