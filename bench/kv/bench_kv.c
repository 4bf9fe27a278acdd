/* bench_kv.c - bench-kv: latency and throughput of the lab 4 KV service.
 *
 *   bench-kv [-d SECONDS] [-m MAXRAFTSTATE]          in-process cluster
 *   bench-kv -s ADDR0,ADDR1,... [-d SECONDS] [-l LABEL]   running daemons
 *
 * In-process: 3 kvraft servers in this process over loopback TCP (plain
 * rpc ends, no fault injection), in-memory persisters, maxraftstate 8 KiB
 * unless -m says otherwise. Against daemons:
 * whatever cluster the addresses name (kvserver with its on-disk
 * persister, e.g. started by test-scripts/kv-cluster.sh).
 *
 * Workload: keys k0..k999, 16-byte values, 50% Get / 50% Put. First one
 * clerk issues operations back to back (sequential latency: median and
 * p99), then 1, 16 and 64 clerks, one thread each, run for the given
 * duration (throughput). The last line is `kv_ops_per_sec_16=<value>`
 * (against daemons, `kv_ops_per_sec_16_<label>=`, label "daemons" by
 * default). A benchmark, never a test:
 * numbers depend on the machine and its load. */
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
#include "common/persister.h"
#include "common/rand.h"
#include "kvraft/kvraft.h"
#include "rpc/rpc.h"

#define NSERVERS 3
#define NKEYS 1000
#define VALUE_LEN 16
#define MAX_SERVERS 16

struct cluster {
    int n;
    struct rpc_end *ends[MAX_SERVERS]; /* clients' ends (shared) */
    /* in-process only: */
    struct persister *ps[NSERVERS];
    struct kv_server *kv[NSERVERS];
    struct rpc_server *srv[NSERVERS];
    struct rpc_end *peer_ends[NSERVERS][NSERVERS];
    bool inproc;
};

static void start_inproc(struct cluster *c, int64_t maxraftstate)
{
    char addrs[NSERVERS][64];
    c->inproc = true;
    c->n = NSERVERS;
    for (int i = 0; i < NSERVERS; i++) {
        c->srv[i] = rpc_server_new();
        if (rpc_server_listen(c->srv[i], "127.0.0.1:0") != 0) {
            fprintf(stderr, "bench-kv: cannot listen\n");
            exit(1);
        }
        snprintf(addrs[i], sizeof addrs[i], "%s", rpc_server_addr(c->srv[i]));
    }
    for (int i = 0; i < NSERVERS; i++) {
        int err;
        for (int j = 0; j < NSERVERS; j++)
            if (j != i)
                c->peer_ends[i][j] = rpc_end_new(addrs[j], &err);
        c->ps[i] = persister_new_mem();
        c->kv[i] = kv_server_start(c->peer_ends[i], NSERVERS, i, c->ps[i],
                                   maxraftstate);
        kv_server_register(c->kv[i], c->srv[i]);
        c->ends[i] = rpc_end_new(addrs[i], &err);
    }
}

static void stop_cluster(struct cluster *c)
{
    for (int i = 0; i < c->n; i++)
        rpc_end_shutdown(c->ends[i]);
    if (c->inproc) {
        for (int i = 0; i < NSERVERS; i++) {
            kv_kill(c->kv[i]);
            rpc_server_close(c->srv[i]);
            kv_free(c->kv[i]);
            for (int j = 0; j < NSERVERS; j++)
                if (c->peer_ends[i][j])
                    rpc_end_free(c->peer_ends[i][j]);
            persister_free(c->ps[i]);
        }
    }
    for (int i = 0; i < c->n; i++)
        rpc_end_free(c->ends[i]);
}

/* One random operation. */
static int one_op(struct kv_clerk *ck, struct rng *r)
{
    char key[16], val[VALUE_LEN + 1];
    snprintf(key, sizeof key, "k%d", (int)rng_below(r, NKEYS));
    if (rng_below(r, 2) == 0) {
        char *v = kv_clerk_get(ck, key, NULL);
        if (!v)
            return ERR_CLOSED;
        free(v);
        return 0;
    }
    rng_alnum(r, val, VALUE_LEN);
    val[VALUE_LEN] = '\0';
    return kv_clerk_put(ck, key, val);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void sequential(struct cluster *c, const char *label, int nops)
{
    struct kv_clerk *ck = kv_clerk_new(c->ends, c->n, 0);
    struct rng r;
    rng_seed(&r, 1);
    /* warm up: wait for a leader and find it */
    for (int i = 0; i < 20; i++)
        one_op(ck, &r);
    uint64_t *lat = calloc((size_t)nops, sizeof(uint64_t));
    uint64_t t0 = clock_now_ns();
    for (int i = 0; i < nops; i++) {
        uint64_t s = clock_now_ns();
        if (one_op(ck, &r) != 0)
            break;
        lat[i] = clock_now_ns() - s;
    }
    double secs = (double)(clock_now_ns() - t0) / 1e9;
    qsort(lat, (size_t)nops, sizeof(uint64_t), cmp_u64);
    printf("%s sequential: %d ops, median %.1f us, p99 %.1f us, %.0f ops/s\n",
           label, nops, (double)lat[nops / 2] / 1e3,
           (double)lat[nops * 99 / 100] / 1e3, nops / secs);
    free(lat);
    kv_clerk_free(ck);
}

struct worker {
    struct cluster *c;
    atomic_bool *stop;
    uint64_t ops;
    int id;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct kv_clerk *ck = kv_clerk_new(w->c->ends, w->c->n, 0);
    struct rng r;
    rng_seed(&r, (uint64_t)w->id + 100);
    while (!atomic_load(w->stop)) {
        if (one_op(ck, &r) != 0)
            break;
        w->ops++;
    }
    kv_clerk_free(ck);
    return NULL;
}

static double throughput(struct cluster *c, const char *label, int nclerks,
                         double seconds)
{
    atomic_bool stop;
    atomic_init(&stop, false);
    struct worker *ws = calloc((size_t)nclerks, sizeof(*ws));
    pthread_t *th = calloc((size_t)nclerks, sizeof(*th));
    for (int i = 0; i < nclerks; i++) {
        ws[i] = (struct worker){c, &stop, 0, i};
        pthread_create(&th[i], NULL, worker_main, &ws[i]);
    }
    uint64_t t0 = clock_now_ns();
    clock_sleep_ms((uint64_t)(seconds * 1000));
    atomic_store(&stop, true);
    uint64_t total = 0;
    for (int i = 0; i < nclerks; i++) {
        pthread_join(th[i], NULL);
        total += ws[i].ops;
    }
    double secs = (double)(clock_now_ns() - t0) / 1e9;
    double rate = (double)total / secs;
    printf("%s throughput: %2d clerks, %" PRIu64 " ops in %.1f s, %.0f "
           "ops/s\n", label, nclerks, total, secs, rate);
    free(ws);
    free(th);
    return rate;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench-kv [-s ADDR0,ADDR1,...] [-d SECONDS] "
               "[-m MAXRAFTSTATE] [-n SEQ_OPS] [-l LABEL]\n");
}

int main(int argc, char **argv)
{
    if (daemon_help_or_version(argc, argv, "bench-kv")) {
        usage(stdout);
        return 0;
    }
    const char *servers = NULL, *label = NULL;
    double seconds = 3;
    /* Raft persists its whole state (log + snapshot) on every change, so
     * per-operation cost grows with the log: a small threshold keeps the
     * log short (measured: ~10k ops/s at 8 KiB, ~2.5k at 1 MiB). */
    int64_t maxraftstate = 8192;
    int seq_ops = 2000;
    int opt;
    while ((opt = getopt(argc, argv, "s:d:m:n:l:h")) != -1) {
        switch (opt) {
        case 's': servers = optarg; break;
        case 'd': seconds = atof(optarg); break;
        case 'm': maxraftstate = atoll(optarg); break;
        case 'n': seq_ops = atoi(optarg); break;
        case 'l': label = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (seconds <= 0 || seq_ops <= 0) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct cluster c = {0};
    if (servers) {
        char *dup = xstrdup(servers), *save = NULL;
        for (char *a = strtok_r(dup, ",", &save); a && c.n < MAX_SERVERS;
             a = strtok_r(NULL, ",", &save)) {
            int err;
            c.ends[c.n] = rpc_end_new(a, &err);
            if (!c.ends[c.n]) {
                fprintf(stderr, "bench-kv: bad address %s\n", a);
                return 2;
            }
            rpc_end_set_timeout(c.ends[c.n], 3000);
            c.n++;
        }
        free(dup);
        if (!label)
            label = "daemons";
    } else {
        start_inproc(&c, maxraftstate);
        if (!label)
            label = "inproc";
    }
    sequential(&c, label, seq_ops);
    double r1 = throughput(&c, label, 1, seconds);
    double r16 = throughput(&c, label, 16, seconds);
    double r64 = throughput(&c, label, 64, seconds);
    (void)r1;
    (void)r64;
    stop_cluster(&c);
    if (servers)
        printf("kv_ops_per_sec_16_%s=%.0f\n", label, r16);
    else
        printf("kv_ops_per_sec_16=%.0f\n", r16);
    return 0;
}
