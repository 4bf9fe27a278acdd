/* bench_shardkv.c - bench-shardkv: does the sharded KV service scale out,
 * and how long does a shard migration take as the shard grows?
 *
 *   bench-shardkv [-d SECONDS] [-c CLERKS]
 *
 * Everything runs in this process over loopback TCP (real rpc ends, no
 * fault injection, in-memory persisters, no batch window unless
 * RAFT_BATCH_MS is set, as the daemons): 3 controller replicas and 3
 * groups (gids 100..102) of 3 replicas, snapshotting at 1 MiB of Raft
 * state. Servers are named by their "host:port" and reached through an
 * rpc_end_pool, as the daemons do.
 *
 *   1. scale-out: CLERKS clerks (default 32), one thread each, run 50% Get
 *      / 50% Put with 16-byte values over 1000 keys spread over all
 *      shards for SECONDS (default 4), first with only group 100 joined,
 *      then after joining 101 and 102 and waiting for the migrations;
 *   2. migration: shard 8 (keys starting with '0') is filled to 1 MiB
 *      with 64 KiB values and moved to another group; we time from the
 *      Move until the new owner serves it and until the old owner has
 *      deleted its copy; then the same at 10 MiB.
 * The last line is shardkv_scaleout=<3-group ops/s / 1-group ops/s>. A
 * benchmark, never a test: the numbers depend on the machine and its
 * load. */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"
#include "common/persister.h"
#include "common/rand.h"
#include "rpc/end_pool.h"
#include "shardkv/shardkv.h"

#define NREPL 3   /* replicas per group and controller replicas */
#define NGROUPS 3
#define NKEYS 1000
#define VALUE_LEN 16
#define BIG_VALUE (64 * 1024)
#define MAXRAFTSTATE (1 << 20)
#define MIG_SHARD 8 /* sc_key2shard("0...") */
#define MIG_LIMIT_MS 120000 /* report a migration as stuck after this */

/* One Raft-replicated service: NREPL replicas, each on its own server. */
struct replicas {
    struct rpc_server *srv[NREPL];
    struct persister *ps[NREPL];
    char addr[NREPL][64];
    struct rpc_end *peers[NREPL][NREPL]; /* from the pool */
};

struct bench {
    struct rpc_end_pool *pool; /* every end: peers, controllers, clerks */
    struct replicas ctl, grp[NGROUPS];
    struct sc_server *sc[NREPL];
    struct skv_server *kv[NGROUPS][NREPL];
    struct rpc_end *ctrl_ends[NREPL];
    struct sc_clerk *admin;
};

static int gid_of(int g) { return 100 + g; }

static void listen_all(struct bench *b, struct replicas *r)
{
    for (int i = 0; i < NREPL; i++) {
        r->srv[i] = rpc_server_new();
        if (rpc_server_listen(r->srv[i], "127.0.0.1:0") != 0) {
            fprintf(stderr, "bench-shardkv: cannot listen\n");
            exit(1);
        }
        snprintf(r->addr[i], sizeof r->addr[i], "%s",
                 rpc_server_addr(r->srv[i]));
        r->ps[i] = persister_new_mem();
    }
    for (int i = 0; i < NREPL; i++)
        for (int j = 0; j < NREPL; j++)
            r->peers[i][j] =
                i == j ? NULL : rpc_end_pool_get(b->pool, r->addr[j]);
}

static void start(struct bench *b)
{
    b->pool = rpc_end_pool_new(30000);
    listen_all(b, &b->ctl);
    for (int i = 0; i < NREPL; i++) {
        b->sc[i] = sc_server_start(b->ctl.peers[i], NREPL, i, b->ctl.ps[i],
                                   -1);
        sc_server_register(b->sc[i], b->ctl.srv[i]);
        b->ctrl_ends[i] = rpc_end_pool_get(b->pool, b->ctl.addr[i]);
    }
    for (int g = 0; g < NGROUPS; g++) {
        struct replicas *r = &b->grp[g];
        listen_all(b, r);
        for (int i = 0; i < NREPL; i++) {
            b->kv[g][i] = skv_server_start(
                r->peers[i], NREPL, i, r->ps[i], MAXRAFTSTATE, gid_of(g),
                b->ctrl_ends, NREPL, rpc_end_pool_get, b->pool);
            skv_server_register(b->kv[g][i], r->srv[i]);
        }
    }
    b->admin = sc_clerk_new(b->ctrl_ends, NREPL, 0);
}

static void stop(struct bench *b)
{
    sc_clerk_free(b->admin);
    rpc_end_pool_shutdown(b->pool);
    for (int g = 0; g < NGROUPS; g++)
        for (int i = 0; i < NREPL; i++) {
            skv_kill(b->kv[g][i]);
            rpc_server_close(b->grp[g].srv[i]);
            skv_free(b->kv[g][i]);
            persister_free(b->grp[g].ps[i]);
        }
    for (int i = 0; i < NREPL; i++) {
        sc_kill(b->sc[i]);
        rpc_server_close(b->ctl.srv[i]);
        sc_free(b->sc[i]);
        persister_free(b->ctl.ps[i]);
    }
    rpc_end_pool_free(b->pool);
}

static void join(struct bench *b, int g)
{
    char *names[NREPL];
    for (int i = 0; i < NREPL; i++)
        names[i] = b->grp[g].addr[i];
    struct sc_group grp = {gid_of(g), NREPL, names};
    if (sc_clerk_join(b->admin, &grp, 1) != 0) {
        fprintf(stderr, "bench-shardkv: join failed\n");
        exit(1);
    }
}

/* Stats of group g's current leader (false if it has none). */
static bool leader_stats(struct bench *b, int g, struct skv_server_stats *st)
{
    for (int i = 0; i < NREPL; i++) {
        int64_t term;
        bool leader;
        raft_get_state(skv_server_raft(b->kv[g][i]), &term, &leader);
        if (leader) {
            skv_server_get_stats(b->kv[g][i], st);
            return true;
        }
    }
    return false;
}

/* Has every group's leader reached configuration num, with nothing in
 * flight? */
static bool settled(struct bench *b, int64_t num)
{
    for (int g = 0; g < NGROUPS; g++) {
        struct skv_server_stats st;
        if (!leader_stats(b, g, &st) || st.config_num < num)
            return false;
        for (int s = 0; s < SC_NSHARDS; s++)
            if (st.state[s] == SKV_PULLING || st.state[s] == SKV_SENDING)
                return false;
    }
    return true;
}

static void wait_settled(struct bench *b)
{
    struct sc_config c;
    sc_config_init(&c);
    sc_clerk_query(b->admin, -1, &c);
    while (!settled(b, c.num))
        clock_sleep_ms(20);
    sc_config_free(&c);
}

/* ---- scale-out ------------------------------------------------------- */

struct load {
    struct bench *b;
    atomic_int stop;
    atomic_ullong ops;
};

static void *load_main(void *arg)
{
    struct load *l = arg;
    struct skv_clerk *ck = skv_clerk_new(l->b->ctrl_ends, NREPL,
                                         rpc_end_pool_get, l->b->pool, 0);
    struct rng r;
    rng_seed(&r, skv_clerk_id(ck));
    char key[16], val[VALUE_LEN + 1];
    while (!atomic_load(&l->stop)) {
        /* The first byte picks the shard: spread keys over all ten. */
        unsigned k = (unsigned)rng_below(&r, NKEYS);
        snprintf(key, sizeof key, "%u-%u", k % 10, k / 10);
        int rc;
        if (rng_below(&r, 2) == 0) {
            char *v = skv_clerk_get_err(ck, key, NULL, &rc);
            free(v);
        } else {
            rng_alnum(&r, val, VALUE_LEN);
            val[VALUE_LEN] = '\0';
            rc = skv_clerk_put(ck, key, val);
        }
        if (rc == 0)
            atomic_fetch_add(&l->ops, 1);
    }
    skv_clerk_free(ck);
    return NULL;
}

static double throughput(struct bench *b, int nclerks, int secs)
{
    struct load l = {.b = b};
    atomic_init(&l.stop, 0);
    atomic_init(&l.ops, 0);
    pthread_t *th = xcalloc((size_t)nclerks, sizeof(*th));
    for (int i = 0; i < nclerks; i++)
        if (pthread_create(&th[i], NULL, load_main, &l) != 0)
            abort();
    clock_sleep_ms(500); /* warm-up: clerks find configuration, leaders */
    unsigned long long o0 = atomic_load(&l.ops);
    uint64_t t0 = clock_now_ns();
    clock_sleep_ms((uint64_t)secs * 1000);
    unsigned long long o1 = atomic_load(&l.ops);
    uint64_t t1 = clock_now_ns();
    atomic_store(&l.stop, 1);
    for (int i = 0; i < nclerks; i++)
        pthread_join(th[i], NULL);
    free(th);
    return (double)(o1 - o0) / ((double)(t1 - t0) / 1e9);
}

/* ---- migration ---------------------------------------------------------- */

/* Fill shard MIG_SHARD up to `bytes` of values (keys "0big<i>"). */
static void fill(struct bench *b, size_t bytes, size_t *have)
{
    struct skv_clerk *ck = skv_clerk_new(b->ctrl_ends, NREPL,
                                         rpc_end_pool_get, b->pool, 0);
    char *val = xmalloc(BIG_VALUE + 1);
    struct rng r;
    rng_seed(&r, 7);
    rng_alnum(&r, val, BIG_VALUE);
    val[BIG_VALUE] = '\0';
    for (; *have < bytes; *have += BIG_VALUE) {
        char key[32];
        snprintf(key, sizeof key, "0big%zu", *have / BIG_VALUE);
        if (skv_clerk_put(ck, key, val) != 0)
            abort();
    }
    free(val);
    skv_clerk_free(ck);
}

static int owner_of(struct bench *b, int shard)
{
    struct sc_config c;
    sc_config_init(&c);
    sc_clerk_query(b->admin, -1, &c);
    int g = c.shards[shard] - 100;
    sc_config_free(&c);
    return g;
}

static void migrate(struct bench *b, size_t bytes, size_t *have)
{
    uint64_t f0 = clock_now_ns();
    fill(b, bytes, have);
    fprintf(stderr, "bench-shardkv: filled shard %d to %zu bytes in %.1f s\n",
            MIG_SHARD, *have, (double)(clock_now_ns() - f0) / 1e9);
    int from = owner_of(b, MIG_SHARD), to = (from + 1) % NGROUPS;
    wait_settled(b);
    uint64_t t0 = clock_now_ns();
    if (sc_clerk_move(b->admin, MIG_SHARD, gid_of(to)) != 0)
        abort();
    uint64_t t_move = clock_now_ns();
    double serving = -1, deleted = -1;
    while (serving < 0 || deleted < 0) {
        struct skv_server_stats st;
        double now = (double)(clock_now_ns() - t0) / 1e6;
        if (now > MIG_LIMIT_MS) {
            printf("migration of %5.1f MiB (shard %d, group %d -> %d): NOT "
                   "finished after %d s (serving %.0f ms, deleted %.0f ms; "
                   "-1: not yet)\n",
                   (double)*have / (1 << 20), MIG_SHARD, gid_of(from),
                   gid_of(to), MIG_LIMIT_MS / 1000, serving, deleted);
            fflush(stdout);
            return;
        }
        if (serving < 0 && leader_stats(b, to, &st) &&
            st.state[MIG_SHARD] == SKV_SERVING)
            serving = now;
        if (deleted < 0 && leader_stats(b, from, &st) &&
            st.state[MIG_SHARD] == SKV_ABSENT)
            deleted = now;
        clock_sleep_ms(2);
    }
    printf("migration of %5.1f MiB (shard %d, group %d -> %d): Move "
           "committed %.0f ms, new owner serving %.0f ms, old copy deleted "
           "%.0f ms\n",
           (double)*have / (1 << 20), MIG_SHARD, gid_of(from), gid_of(to),
           (double)(t_move - t0) / 1e6, serving, deleted);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (daemon_help_or_version(argc, argv, "bench-shardkv")) {
        printf("usage: bench-shardkv [-d SECONDS] [-c CLERKS]\n");
        return 0;
    }
    long long secs = 4, nclerks = 32;
    int opt;
    while ((opt = getopt(argc, argv, "d:c:h")) != -1) {
        switch (opt) {
        case 'd':
            if (!daemon_parse_ll(optarg, 1, 3600, &secs))
                goto usage;
            break;
        case 'c':
            if (!daemon_parse_ll(optarg, 1, 1024, &nclerks))
                goto usage;
            break;
        default:
        usage:
            fprintf(stderr, "usage: bench-shardkv [-d SECONDS] [-c CLERKS]\n");
            return opt == 'h' ? 0 : 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    daemon_default_log();
    daemon_default_batching(); /* as the daemons (RAFT_BATCH_MS overrides) */
    struct bench b;
    memset(&b, 0, sizeof b);
    start(&b);

    printf("bench-shardkv: %d controllers + %d groups x %d replicas in "
           "process over loopback TCP; %lld clerks, %d keys over all "
           "shards, 50%% Get / 50%% Put of %d bytes\n",
           NREPL, NGROUPS, NREPL, nclerks, NKEYS, VALUE_LEN);
    join(&b, 0);
    wait_settled(&b);
    double one = throughput(&b, (int)nclerks, (int)secs);
    printf("1 group : %8.0f ops/s\n", one);
    fflush(stdout);
    join(&b, 1);
    join(&b, 2);
    wait_settled(&b);
    double three = throughput(&b, (int)nclerks, (int)secs);
    printf("3 groups: %8.0f ops/s\n", three);
    fflush(stdout);

    size_t have = 0;
    migrate(&b, 1 << 20, &have);
    migrate(&b, 10 << 20, &have);

    stop(&b);
    printf("shardkv_scaleout=%.2f\n", three / one);
    return 0;
}
