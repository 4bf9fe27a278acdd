/* bench_kv.c - bench-kv: latency and throughput of the lab 4 KV service.
 *
 *   bench-kv [-d SECONDS] [-m MAXRAFTSTATE]          in-process cluster
 *   bench-kv -s ADDR0,ADDR1,... [-d SECONDS] [-l LABEL]   running daemons
 *   bench-kv -g [-s ADDR0,...]          put latency, empty vs 16 MiB store
 *   bench-kv -q [-s ADDR0,...] [-d SECONDS]    only the 16-clerk run
 *
 * In-process: 3 kvraft servers in this process over loopback TCP (plain
 * rpc ends, no fault injection), in-memory persisters, maxraftstate 8 KiB
 * unless -m says otherwise, no batch window unless RAFT_BATCH_MS is set
 * (as the daemons). Against daemons:
 * whatever cluster the addresses name (kvserver with its on-disk
 * persister, e.g. started by test-scripts/kv-cluster.sh).
 *
 * Workload: keys k0..k999, 16-byte values, 50% Get / 50% Put. First one
 * clerk issues operations back to back (sequential latency: median and
 * p99), then 1, 16 and 64 clerks, one thread each, run for the given
 * duration (throughput). The last line is `kv_ops_per_sec_16=<value>`
 * (against daemons, `kv_ops_per_sec_16_<label>=`, label "daemons" by
 * default).
 *
 * -g instead measures how put latency grows with the data stored: the
 * median of GROWTH_PUTS sequential 16-byte puts on the (fresh) store,
 * then the store is filled with 16 MiB (GROWTH_FILL_KEYS keys of
 * GROWTH_FILL_LEN bytes, 16 clerks), then the median again; it prints
 * `kv_put_latency_growth=<median at 16 MiB / median empty>` last.
 * Storage whose cost per operation grows with the log or the snapshot
 * shows here. A benchmark, never a test:
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

#define GROWTH_PUTS 300
#define GROWTH_FILL_KEYS 4096
#define GROWTH_FILL_LEN 4096
#define GROWTH_FILL_CLERKS 16

/* Median latency (ns) of n sequential small puts. */
static uint64_t put_median(struct kv_clerk *ck, struct rng *r, int n)
{
    uint64_t *lat = calloc((size_t)n, sizeof(uint64_t));
    char key[16], val[VALUE_LEN + 1];
    int done = 0;
    for (; done < n; done++) {
        snprintf(key, sizeof key, "k%d", (int)rng_below(r, NKEYS));
        rng_alnum(r, val, VALUE_LEN);
        val[VALUE_LEN] = '\0';
        uint64_t s = clock_now_ns();
        if (kv_clerk_put(ck, key, val) != 0)
            break;
        lat[done] = clock_now_ns() - s;
    }
    qsort(lat, (size_t)done, sizeof(uint64_t), cmp_u64);
    uint64_t med = done ? lat[done / 2] : 0;
    free(lat);
    return med;
}

struct filler {
    struct cluster *c;
    int id;
};

static void *filler_main(void *arg)
{
    struct filler *f = arg;
    struct kv_clerk *ck = kv_clerk_new(f->c->ends, f->c->n, 0);
    struct rng r;
    rng_seed(&r, (uint64_t)f->id + 1000);
    char *val = malloc(GROWTH_FILL_LEN + 1);
    char key[32];
    for (int k = f->id; k < GROWTH_FILL_KEYS; k += GROWTH_FILL_CLERKS) {
        rng_alnum(&r, val, GROWTH_FILL_LEN);
        val[GROWTH_FILL_LEN] = '\0';
        snprintf(key, sizeof key, "fill%d", k);
        if (kv_clerk_put(ck, key, val) != 0)
            break;
    }
    free(val);
    kv_clerk_free(ck);
    return NULL;
}

static void growth(struct cluster *c, const char *label)
{
    struct kv_clerk *ck = kv_clerk_new(c->ends, c->n, 0);
    struct rng r;
    rng_seed(&r, 7);
    put_median(ck, &r, 20); /* warm up: find the leader */
    uint64_t empty = put_median(ck, &r, GROWTH_PUTS);
    uint64_t t0 = clock_now_ns();
    pthread_t th[GROWTH_FILL_CLERKS];
    struct filler fs[GROWTH_FILL_CLERKS];
    for (int i = 0; i < GROWTH_FILL_CLERKS; i++) {
        fs[i] = (struct filler){c, i};
        pthread_create(&th[i], NULL, filler_main, &fs[i]);
    }
    for (int i = 0; i < GROWTH_FILL_CLERKS; i++)
        pthread_join(th[i], NULL);
    double fill_s = (double)(clock_now_ns() - t0) / 1e9;
    uint64_t full = put_median(ck, &r, GROWTH_PUTS);
    kv_clerk_free(ck);
    printf("%s put latency: median %.2f ms on an empty store, %.2f ms "
           "with 16 MiB stored (filled in %.1f s)\n", label,
           (double)empty / 1e6, (double)full / 1e6, fill_s);
    printf("kv_put_latency_growth=%.2f\n",
           empty ? (double)full / (double)empty : 0.0);
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
    fprintf(f, "usage: bench-kv [-g | -q] [-s ADDR0,ADDR1,...] [-d SECONDS] "
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
    /* The 8 KiB threshold of lab 4's snapshot tests: the service
     * snapshots (and Raft compacts) often, as in the graded tests. */
    int64_t maxraftstate = 8192;
    int seq_ops = 2000;
    int opt;
    bool want_growth = false, only16 = false;
    while ((opt = getopt(argc, argv, "gqs:d:m:n:l:h")) != -1) {
        switch (opt) {
        case 'g': want_growth = true; break;
        case 'q': only16 = true; break;
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
        /* Like the daemons, replicate each write at once unless
         * RAFT_BATCH_MS says otherwise (the graded tests batch for 5 ms:
         * raft/raft_core.h). */
        daemon_default_batching();
        printf("bench-kv: in-process cluster, batch window %s ms\n",
               getenv("RAFT_BATCH_MS"));
        start_inproc(&c, maxraftstate);
        if (!label)
            label = "inproc";
    }
    if (want_growth) {
        growth(&c, label);
        stop_cluster(&c);
        return 0;
    }
    double r16;
    if (only16) {
        r16 = throughput(&c, label, 16, seconds);
    } else {
        sequential(&c, label, seq_ops);
        throughput(&c, label, 1, seconds);
        r16 = throughput(&c, label, 16, seconds);
        throughput(&c, label, 64, seconds);
    }
    stop_cluster(&c);
    if (servers)
        printf("kv_ops_per_sec_16_%s=%.0f\n", label, r16);
    else
        printf("kv_ops_per_sec_16=%.0f\n", r16);
    return 0;
}
