/* skvcli_main.c - command-line client for a sharded KV deployment: the
 * shard controller's join/leave/move/query and the groups' get/put/append.
 *
 *   skvcli -C CTRL0,CTRL1,... [-c CLIENTID] [-t TIMEOUT_MS] COMMAND
 *     join GID ADDR0,ADDR1,... [GID ADDRS ...]   one Join of those groups
 *     leave GID [GID ...]                        one Leave
 *     move SHARD GID
 *     query [NUM]            print configuration NUM (default: latest)
 *     get KEY | put KEY VALUE | append KEY VALUE
 *     batch                  'get K' / 'put K V' / 'append K V' lines from
 *                            stdin (bare or "quoted" tokens, common/batch.h;
 *                            all parsed before anything is sent), one
 *                            clerk, a record per op on stdout
 *   skvcli status ADDR0,ADDR1,...   each group server's view (no -C)
 *
 * The clerks find the controller leader and each shard's group and leader
 * themselves and retry with their own client id (random unless -c), so a
 * retried Put/Append is applied once. `get` prints the value and a
 * newline. A batch record is "<op>\t<key>\t<value>\t<status>\t<got>",
 * status ok, or timeout when the outcome is unknown (a timed-out append
 * may or may not have been applied). query prints
 *   config N
 *   shards G0 G1 ... G9
 *   group GID ADDR0,ADDR1,...       (one line per group)
 * status prints per server "ADDR up leader|follower gid=G me=I term=T
 * applied=A config=N keys=K shards=S0S1...S9" (S: 0 absent, 1 serving,
 * 2 pulling, 3 sending) or "ADDR down ERROR".
 *
 * Exit status: 0 success, 1 failure (timeout, server refused), 2 usage. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/batch.h"
#include "common/daemon.h"
#include "common/err.h"
#include "common/version.h"
#include "rpc/daemon_opts.h"
#include "rpc/end_pool.h"
#include "rpc/rpc.h"
#include "shardkv/shardkv.h"

#define SKVCLI_MAX 64

static void usage(FILE *f)
{
    fprintf(f,
            "usage: skvcli -C CTRL0,CTRL1,... [-c CLIENTID] [-t TIMEOUT_MS] "
            "COMMAND\n"
            "commands:\n"
            "  join GID ADDRS [GID ADDRS ...]  add groups (ADDRS: the "
            "group's servers)\n"
            "  leave GID [GID ...]             remove groups\n"
            "  move SHARD GID                  assign one shard\n"
            "  query [NUM]                     show a configuration "
            "(default latest)\n"
            "  get KEY | put KEY VALUE | append KEY VALUE\n"
            "  batch                           ops from stdin, a record "
            "per op\n"
            "  status ADDRS                    group servers' state (no -C "
            "needed)\n"
            "options:\n"
            "  -C ADDRS       comma-separated host:port of the controllers\n"
            "  -c CLIENTID    client id (default: random)\n"
            "  -t TIMEOUT_MS  give up an operation after this long "
            "(default 30000; 0 = never)\n"
            "  --cluster-key FILE  prove this key to the servers\n"
            "  -h, --help, --version\n"
            "batch lines: get K | put K V | append K V; K and V bare words or\n"
            "  \"quoted\" with \\\\ \\\" \\n \\r \\t \\xHH (any byte but NUL)\n");
}

static void print_config(const struct sc_config *c)
{
    printf("config %" PRId64 "\nshards", c->num);
    for (int s = 0; s < SC_NSHARDS; s++)
        printf(" %d", c->shards[s]);
    printf("\n");
    for (int g = 0; g < c->ngroups; g++) {
        printf("group %d ", c->groups[g].gid);
        for (int i = 0; i < c->groups[g].nservers; i++)
            printf("%s%s", i ? "," : "", c->groups[g].servers[i]);
        printf("\n");
    }
}

/* ---- controller commands ------------------------------------------------ */

static int cmd_join(struct sc_clerk *ck, char **args, int nargs)
{
    if (nargs < 2 || nargs % 2)
        return ERR_INVAL;
    int n = nargs / 2, rc = 0;
    struct sc_group *gs = calloc((size_t)n, sizeof(*gs));
    for (int i = 0; i < n && rc == 0; i++) {
        long long gid;
        gs[i].servers = calloc(SKVCLI_MAX, sizeof(char *));
        gs[i].nservers =
            daemon_split_list(args[2 * i + 1], gs[i].servers, SKVCLI_MAX);
        if (!daemon_parse_ll(args[2 * i], 1, 1LL << 30, &gid) ||
            gs[i].nservers < 0)
            rc = ERR_INVAL;
        gs[i].gid = (int)gid;
    }
    if (rc == 0)
        rc = sc_clerk_join(ck, gs, n);
    for (int i = 0; i < n; i++) {
        if (gs[i].servers && gs[i].nservers > 0)
            daemon_free_list(gs[i].servers, gs[i].nservers);
        free(gs[i].servers);
    }
    free(gs);
    return rc;
}

static int cmd_leave(struct sc_clerk *ck, char **args, int nargs)
{
    int gids[SKVCLI_MAX];
    if (nargs < 1 || nargs > SKVCLI_MAX)
        return ERR_INVAL;
    for (int i = 0; i < nargs; i++) {
        long long gid;
        if (!daemon_parse_ll(args[i], 1, 1LL << 30, &gid))
            return ERR_INVAL;
        gids[i] = (int)gid;
    }
    return sc_clerk_leave(ck, gids, nargs);
}

static int cmd_ctrl(struct sc_clerk *ck, const char *cmd, char **args,
                    int nargs)
{
    long long a, b;
    if (strcmp(cmd, "join") == 0)
        return cmd_join(ck, args, nargs);
    if (strcmp(cmd, "leave") == 0)
        return cmd_leave(ck, args, nargs);
    if (strcmp(cmd, "move") == 0) {
        if (nargs != 2 || !daemon_parse_ll(args[0], 0, SC_NSHARDS - 1, &a) ||
            !daemon_parse_ll(args[1], 1, 1LL << 30, &b))
            return ERR_INVAL;
        return sc_clerk_move(ck, (int)a, (int)b);
    }
    /* query */
    a = -1;
    if (nargs > 1 || (nargs == 1 && !daemon_parse_ll(args[0], -1,
                                                     INT64_MAX, &a)))
        return ERR_INVAL;
    struct sc_config c;
    sc_config_init(&c);
    int rc = sc_clerk_query(ck, a, &c);
    if (rc == 0)
        print_config(&c);
    sc_config_free(&c);
    return rc;
}

/* ---- data commands -------------------------------------------------------- */

/* One operation; in batch mode (record) a record line, otherwise the
 * value of a get. */
static int run_op(struct skv_clerk *ck, const char *op, const char *key,
                  const char *val, bool record)
{
    int rc;
    char *got = NULL;
    if (strcmp(op, "get") == 0)
        got = skv_clerk_get_err(ck, key, NULL, &rc);
    else if (strcmp(op, "put") == 0)
        rc = skv_clerk_put(ck, key, val);
    else
        rc = skv_clerk_append(ck, key, val);
    if (record) {
        printf("%s\t", op);
        batch_put_field(stdout, key);
        putchar('\t');
        batch_put_field(stdout, val ? val : "");
        printf("\t%s\t", rc == 0 ? "ok" : "timeout");
        batch_put_field(stdout, got ? got : "");
        putchar('\n');
        fflush(stdout);
    } else if (rc == 0 && got) {
        printf("%s\n", got);
    }
    free(got);
    return rc;
}

static int cmd_batch(struct skv_clerk *ck, const struct batch *b)
{
    int failures = 0;
    for (size_t i = 0; i < b->n; i++)
        failures += run_op(ck, b->ops[i].op, b->ops[i].key, b->ops[i].val,
                           true) != 0;
    return failures ? ERR_TIMEOUT : 0;
}

/* ---- status ----------------------------------------------------------------- */

struct status_reply {
    int64_t me, gid, term, applied, num;
    uint64_t keys;
    bool leader;
    int st[SC_NSHARDS];
};

static int dec_status(const msgpack_object *o, void *out)
{
    struct status_reply *r = out;
    struct rpc_dec d;
    rpc_dec_init(&d, o);
    r->me = rpc_dec_i64(&d, "me", -1);
    r->gid = rpc_dec_i64(&d, "g", 0);
    r->leader = rpc_dec_bool(&d, "l", false);
    r->term = rpc_dec_i64(&d, "t", 0);
    r->applied = rpc_dec_i64(&d, "a", 0);
    r->num = rpc_dec_i64(&d, "n", 0);
    r->keys = rpc_dec_u64(&d, "k", 0);
    const msgpack_object *st = NULL;
    uint32_t n = rpc_dec_array(&d, "st", &st);
    for (uint32_t i = 0; i < n && i < SC_NSHARDS; i++) {
        int64_t v = 0;
        if (rpc_obj_i64(&st[i], &v) == 0)
            r->st[i] = (int)v;
    }
    return d.err;
}

static int enc_empty(msgpack_packer *pk, const void *p)
{
    (void)p;
    msgpack_pack_map(pk, 0);
    return 0;
}

static int cmd_status(struct rpc_end_pool *pool, const char *list)
{
    char *addrs[SKVCLI_MAX];
    int n = daemon_split_list(list, addrs, SKVCLI_MAX), down = 0;
    if (n < 0)
        return ERR_INVAL;
    for (int i = 0; i < n; i++) {
        struct status_reply r = {0};
        struct rpc_end *e = rpc_end_pool_get(pool, addrs[i]);
        int rc = e ? rpc_call(e, "ShardKV.Status", enc_empty, NULL,
                              dec_status, &r)
                   : ERR_ADDR;
        if (rc != 0) {
            printf("%s down %s\n", addrs[i], err_name(rc));
            down++;
            continue;
        }
        printf("%s up %s gid=%" PRId64 " me=%" PRId64 " term=%" PRId64
               " applied=%" PRId64 " config=%" PRId64 " keys=%" PRIu64
               " shards=",
               addrs[i], r.leader ? "leader" : "follower", r.gid, r.me,
               r.term, r.applied, r.num, r.keys);
        for (int s = 0; s < SC_NSHARDS; s++)
            printf("%d", r.st[s]);
        printf("\n");
    }
    daemon_free_list(addrs, n);
    return down ? ERR_UNREACHABLE : 0;
}

int main(int argc, char **argv)
{
    const char *ctrl_arg = NULL;
    long long client = 0, timeout_ms = 30000;
    const char *key_file = NULL;
    static const struct option longopts[] = {RPC_CLIENT_LONGOPTS, {0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "+C:c:t:h", longopts, NULL)) !=
           -1) {
        switch (opt) {
        case 'C': ctrl_arg = optarg; break;
        case 'c':
            if (!daemon_parse_ll(optarg, 1, INT64_MAX, &client)) {
                fprintf(stderr, "skvcli: bad client id '%s'\n", optarg);
                return 2;
            }
            break;
        case 't':
            if (!daemon_parse_ll(optarg, 0, INT64_MAX, &timeout_ms)) {
                fprintf(stderr, "skvcli: bad timeout '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        case RPC_OPT_CLUSTER_KEY: key_file = optarg; break;
        case RPC_OPT_VERSION: printf("skvcli %s\n", LAB_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (key_file && rpc_client_key_from_file(key_file, "skvcli") < 0)
        return 2;
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[optind];
    char **args = argv + optind + 1;
    int nargs = argc - optind - 1;
    bool is_ctrl = strcmp(cmd, "join") == 0 || strcmp(cmd, "leave") == 0 ||
                   strcmp(cmd, "move") == 0 || strcmp(cmd, "query") == 0;
    bool is_data = (strcmp(cmd, "get") == 0 && nargs == 1) ||
                   ((strcmp(cmd, "put") == 0 ||
                     strcmp(cmd, "append") == 0) && nargs == 2) ||
                   (strcmp(cmd, "batch") == 0 && nargs == 0);
    bool is_status = strcmp(cmd, "status") == 0 && nargs == 1;
    if ((!is_ctrl && !is_data && !is_status) || (!is_status && !ctrl_arg)) {
        fprintf(stderr, "skvcli: bad command or arguments (-C is needed "
                        "for all but status)\n");
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    daemon_default_log();
    /* A server answers within about a second (its own wait bound); a
     * longer silence means a dead machine: try the next one. */
    struct rpc_end_pool *pool = rpc_end_pool_new(3000);
    int rc;
    if (is_status) {
        rc = cmd_status(pool, args[0]);
    } else {
        struct rpc_end *ctrls[SKVCLI_MAX];
        int nc = rpc_end_pool_list(pool, "skvcli", ctrl_arg, ctrls,
                                   SKVCLI_MAX, -1);
        if (nc < 0) {
            rpc_end_pool_free(pool);
            return 2;
        }
        if (is_ctrl) {
            struct sc_clerk *ck =
                sc_clerk_new(ctrls, nc, (uint64_t)client);
            sc_clerk_set_op_timeout(ck, (uint64_t)timeout_ms);
            rc = cmd_ctrl(ck, cmd, args, nargs);
            sc_clerk_free(ck);
        } else {
            struct skv_clerk *ck = skv_clerk_new(
                ctrls, nc, rpc_end_pool_get, pool, (uint64_t)client);
            skv_clerk_set_op_timeout(ck, (uint64_t)timeout_ms);
            struct batch ops = {0};
            if (strcmp(cmd, "batch") == 0)
                rc = batch_read(stdin, "skvcli", &ops) < 0
                         ? ERR_INVAL
                         : cmd_batch(ck, &ops);
            else
                rc = run_op(ck, cmd, args[0], nargs == 2 ? args[1] : NULL,
                            false);
            batch_free(&ops);
            skv_clerk_free(ck);
        }
    }
    if (rc != 0)
        fprintf(stderr, "skvcli: %s: %s\n", cmd, err_msg(rc));
    rpc_end_pool_shutdown(pool);
    rpc_end_pool_free(pool);
    return rc == ERR_INVAL ? 2 : rc ? 1 : 0;
}
