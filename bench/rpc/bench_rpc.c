/* bench_rpc.c - bench-rpc: what one rpc_call costs on loopback TCP.
 *
 * Measured in one run, so the numbers share the machine's current load:
 *   (a) a raw blocking TCP ping-pong (TCP_NODELAY) with exactly the byte
 *       sizes of our request and response frames (raw_tcp.c);
 *   (b) the round trip of a no-op rpc_call, median and p99, with the
 *       handler on the connection's reader thread (RPC_INLINE) and on a
 *       worker thread (the default for handlers that may block);
 *   (c) throughput in calls/s with 1, 4 and 16 concurrent callers (one end
 *       each; ends to one address share a multiplexed connection), next
 *       to raw ping-pong pairs (one connection each) as the ceiling.
 * (a) and (b) are interleaved in rounds so drift in background load hits
 * both alike. The last line is rpc_rtt_ratio=<median (b) / median (a)>.
 *
 *   bench-rpc [-n samples] [-d ms-per-throughput-run] [-P callers]
 * -P runs only the throughput measurement with that many callers (e.g.
 * under perf record). Informative only: nothing gates on these numbers. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/rpc/bench_rpc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/daemon.h"
#include "common/err.h"
#include "rpc/rpc.h"

#define BENCH_ROUNDS 5

static int bench_noop(void *svc, const msgpack_object *args,
                      msgpack_packer *reply)
{
    (void)svc;
    (void)args;
    msgpack_pack_map(reply, 0);
    return 0;
}

static const struct rpc_method bench_inline_methods[] = {
    {"Noop", bench_noop, RPC_INLINE},
};
static const struct rpc_method bench_worker_methods[] = {
    {"Noop", bench_noop, 0},
};

static int bench_enc_empty(msgpack_packer *pk, const void *args)
{
    (void)args;
    msgpack_pack_map(pk, 0);
    return 0;
}

/* Frame sizes of a no-op call, as the msgpack-rpc spec lays them out; a
 * msgid of 100000 stands for the 5-byte msgids of a long run. */
static void bench_frame_sizes(const char *method, size_t *req, size_t *rep)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint32(&pk, 0);
    msgpack_pack_uint32(&pk, 100000);
    msgpack_pack_str(&pk, strlen(method));
    msgpack_pack_str_body(&pk, method, strlen(method));
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 0);
    *req = sb.size;
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_uint32(&pk, 100000);
    msgpack_pack_nil(&pk);
    msgpack_pack_map(&pk, 0);
    *rep = sb.size;
    msgpack_sbuffer_destroy(&sb);
}

static void bench_rpc_rtts(struct rpc_end *e, const char *method,
                           uint64_t *ns, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = clock_now_ns();
        int rc = rpc_call(e, method, bench_enc_empty, NULL, NULL, NULL);
        ns[i] = clock_now_ns() - t0;
        if (rc != 0) {
            fprintf(stderr, "bench-rpc: rpc_call: %s\n", err_name(rc));
            exit(1);
        }
    }
}

static int bench_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct bench_stats {
    double median_us, p99_us, mean_us;
};

static struct bench_stats bench_summarize(uint64_t *ns, size_t n)
{
    qsort(ns, n, sizeof(*ns), bench_cmp_u64);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)ns[i];
    return (struct bench_stats){(double)ns[n / 2] / 1e3,
                                (double)ns[(n * 99) / 100] / 1e3,
                                sum / (double)n / 1e3};
}

/* --- throughput ---------------------------------------------------------- */

struct bench_caller {
    const char *addr;
    atomic_bool *stop;
    atomic_int *ready;
    uint64_t calls;
    pthread_t thread;
};

static void *bench_caller_main(void *p)
{
    struct bench_caller *c = p;
    int err = 0;
    struct rpc_end *e = rpc_end_new(c->addr, &err);
    if (!e) {
        fprintf(stderr, "bench-rpc: rpc_end_new: %s\n", err_name(err));
        exit(1);
    }
    /* Connect before the clock starts. */
    if (rpc_call(e, "Bench.Noop", bench_enc_empty, NULL, NULL, NULL) != 0)
        exit(1);
    atomic_fetch_add(c->ready, 1);
    while (!atomic_load_explicit(c->stop, memory_order_relaxed)) {
        int rc = rpc_call(e, "Bench.Noop", bench_enc_empty, NULL, NULL, NULL);
        if (rc != 0) {
            fprintf(stderr, "bench-rpc: rpc_call: %s\n", err_name(rc));
            exit(1);
        }
        c->calls++;
    }
    rpc_end_free(e);
    return NULL;
}

static double bench_throughput(const char *addr, int ncallers,
                               uint64_t duration_ms)
{
    atomic_bool stop = false;
    atomic_int ready = 0;
    struct bench_caller *c = xcalloc((size_t)ncallers, sizeof(*c));
    for (int i = 0; i < ncallers; i++) {
        c[i] = (struct bench_caller){.addr = addr, .stop = &stop,
                                     .ready = &ready};
        if (pthread_create(&c[i].thread, NULL, bench_caller_main, &c[i]))
            exit(1);
    }
    while (atomic_load(&ready) < ncallers)
        clock_sleep_ms(1);
    uint64_t before = 0;
    /* Sample the counters without stopping: racy reads of monotonically
     * growing counters are fine for a rate over a long window. */
    for (int i = 0; i < ncallers; i++)
        before += __atomic_load_n(&c[i].calls, __ATOMIC_RELAXED);
    uint64_t t0 = clock_now_ns();
    clock_sleep_ms(duration_ms);
    uint64_t after = 0;
    for (int i = 0; i < ncallers; i++)
        after += __atomic_load_n(&c[i].calls, __ATOMIC_RELAXED);
    double secs = (double)(clock_now_ns() - t0) / 1e9;
    atomic_store(&stop, true);
    for (int i = 0; i < ncallers; i++)
        pthread_join(c[i].thread, NULL);
    free(c);
    return (double)(after - before) / secs;
}

int main(int argc, char **argv)
{
    if (daemon_help_or_version(argc, argv, "bench-rpc")) {
        printf("usage: bench-rpc [-n samples] [-d ms] [-P callers]\n");
        return 0;
    }
    size_t n = 50000;
    uint64_t duration_ms = 2000;
    int only_callers = 0;
    int opt;
    while ((opt = getopt(argc, argv, "n:d:P:")) != -1) {
        if (opt == 'n')
            n = strtoull(optarg, NULL, 10);
        else if (opt == 'd')
            duration_ms = strtoull(optarg, NULL, 10);
        else if (opt == 'P')
            only_callers = atoi(optarg);
        else {
            fprintf(stderr,
                    "usage: bench-rpc [-n samples] [-d ms] [-P callers]\n");
            return 2;
        }
    }
    if (n < BENCH_ROUNDS * 100)
        n = BENCH_ROUNDS * 100;
    size_t per_round = n / BENCH_ROUNDS;
    n = per_round * BENCH_ROUNDS;

    struct rpc_server *s_inline = rpc_server_new();
    struct rpc_server *s_worker = rpc_server_new();
    if (rpc_server_add_service(s_inline, "Bench", NULL, bench_inline_methods,
                               1) != 0 ||
        rpc_server_add_service(s_worker, "Bench", NULL, bench_worker_methods,
                               1) != 0 ||
        rpc_server_listen(s_inline, "127.0.0.1:0") != 0 ||
        rpc_server_listen(s_worker, "127.0.0.1:0") != 0) {
        fprintf(stderr, "bench-rpc: cannot start servers\n");
        return 1;
    }
    if (only_callers > 0) {
        printf("%d callers: inline %.0f calls/s\n", only_callers,
               bench_throughput(rpc_server_addr(s_inline), only_callers,
                                duration_ms));
        printf("%d callers: worker %.0f calls/s\n", only_callers,
               bench_throughput(rpc_server_addr(s_worker), only_callers,
                                duration_ms));
        rpc_server_close(s_inline);
        rpc_server_close(s_worker);
        return 0;
    }
    int err = 0;
    struct rpc_end *e_inline = rpc_end_new(rpc_server_addr(s_inline), &err);
    struct rpc_end *e_worker = rpc_end_new(rpc_server_addr(s_worker), &err);
    if (!e_inline || !e_worker) {
        fprintf(stderr, "bench-rpc: rpc_end_new: %s\n", err_name(err));
        return 1;
    }

    size_t req_size, rep_size;
    bench_frame_sizes("Bench.Noop", &req_size, &rep_size);
    struct bench_raw *raw = bench_raw_start(req_size, rep_size);

    uint64_t *raw_ns = xcalloc(n, sizeof(uint64_t));
    uint64_t *in_ns = xcalloc(n, sizeof(uint64_t));
    uint64_t *wk_ns = xcalloc(n, sizeof(uint64_t));
    uint64_t *warm = xcalloc(2000, sizeof(uint64_t));
    bench_raw_rtts(raw, warm, 2000);
    bench_rpc_rtts(e_inline, "Bench.Noop", warm, 2000);
    bench_rpc_rtts(e_worker, "Bench.Noop", warm, 2000);
    free(warm);
    for (size_t r = 0; r < BENCH_ROUNDS; r++) {
        bench_raw_rtts(raw, raw_ns + r * per_round, per_round);
        bench_rpc_rtts(e_inline, "Bench.Noop", in_ns + r * per_round,
                       per_round);
        bench_rpc_rtts(e_worker, "Bench.Noop", wk_ns + r * per_round,
                       per_round);
    }
    bench_raw_stop(raw);
    rpc_end_free(e_inline);
    rpc_end_free(e_worker);
    struct bench_stats st_raw = bench_summarize(raw_ns, n);
    struct bench_stats st_in = bench_summarize(in_ns, n);
    struct bench_stats st_wk = bench_summarize(wk_ns, n);
    free(raw_ns);
    free(in_ns);
    free(wk_ns);

    const int callers[] = {1, 4, 16};
    double tput_in[3], tput_wk[3], tput_raw[3];
    for (int i = 0; i < 3; i++) {
        tput_raw[i] = bench_raw_throughput(req_size, rep_size, callers[i],
                                           duration_ms);
        tput_in[i] = bench_throughput(rpc_server_addr(s_inline), callers[i],
                                      duration_ms);
        tput_wk[i] = bench_throughput(rpc_server_addr(s_worker), callers[i],
                                      duration_ms);
    }
    rpc_server_close(s_inline);
    rpc_server_close(s_worker);

    printf("bench-rpc: loopback TCP, %ld CPUs, request frame %zu B, "
           "response frame %zu B, %zu round trips each\n",
           sysconf(_SC_NPROCESSORS_ONLN), req_size, rep_size, n);
    printf("%-44s %10s %10s %10s\n", "round trip (us)", "median", "p99",
           "mean");
    printf("%-44s %10.1f %10.1f %10.1f\n", "(a) raw TCP ping-pong, TCP_NODELAY",
           st_raw.median_us, st_raw.p99_us, st_raw.mean_us);
    printf("%-44s %10.1f %10.1f %10.1f\n", "(b) rpc_call no-op, inline handler",
           st_in.median_us, st_in.p99_us, st_in.mean_us);
    printf("%-44s %10.1f %10.1f %10.1f\n", "    rpc_call no-op, worker-thread handler",
           st_wk.median_us, st_wk.p99_us, st_wk.mean_us);
    printf("%-44s %10s %10s %10s\n", "(c) throughput (calls/s)", "1 caller",
           "4 callers", "16 callers");
    printf("%-44s %10.0f %10.0f %10.0f\n",
           "    raw TCP, one connection per caller", tput_raw[0], tput_raw[1],
           tput_raw[2]);
    printf("%-44s %10.0f %10.0f %10.0f\n", "    inline handler", tput_in[0],
           tput_in[1], tput_in[2]);
    printf("%-44s %10.0f %10.0f %10.0f\n", "    worker-thread handler",
           tput_wk[0], tput_wk[1], tput_wk[2]);
    printf("rpc_rtt_ratio_worker=%.2f\n", st_wk.median_us / st_raw.median_us);
    printf("rpc_rtt_ratio=%.2f\n", st_in.median_us / st_raw.median_us);
    return 0;
}
