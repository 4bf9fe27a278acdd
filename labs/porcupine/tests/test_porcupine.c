/* test_porcupine.c - unit tests for the linearizability checker: hand-made
 * KV histories that are and are not linearizable, a randomized comparison
 * with a brute-force oracle, timeout, performance on a test-sized history,
 * the recorder under concurrency, and the HTML visualization. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/rand.h"
#include "labs/porcupine/porcupine.h"
#include "labs/porcupine/porcupine_internal.h"
#include "labs/porcupine/tests/sim.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

enum { GET = PORCUPINE_KV_GET, PUT = PORCUPINE_KV_PUT,
       APPEND = PORCUPINE_KV_APPEND, APPEND_OLD = PORCUPINE_KV_APPEND_OLD };
#define NEVER PORCUPINE_NEVER

/* The fixture is a fresh KV history, freed in teardown (a failed assert
 * longjmps out of the test body). */
static int setup(void **state)
{
    *state = porcupine_kv_history_new();
    return 0;
}

static int teardown(void **state)
{
    porcupine_history_free(*state);
    return 0;
}

static void rec(struct porcupine_history *h, int client, int op,
                const char *key, const char *value, const char *out,
                int64_t call, int64_t ret)
{
    porcupine_kv_record(h, client, op, key, value, out, call, ret);
}

/* Every partial linearization the info reports is one: its ops belong to
 * the partition, it is closed under real-time order (no op left out
 * returned before an included one was called) and the model accepts it
 * step by step. A finished Ok partition's only partial is complete. */
static void check_partials(const struct porcupine_op *ops, size_t n,
                           const struct porcupine_info *info)
{
    struct porcupine_arena *arena = porcupine_arena_new();
    int *part_of = xmalloc((n ? n : 1) * sizeof(int));
    bool *in = xmalloc(n ? n : 1);
    for (size_t p = 0; p < porcupine_info_partitions(info); p++) {
        size_t np;
        const size_t *pops = porcupine_info_partition_ops(info, p, &np);
        for (size_t i = 0; i < np; i++)
            part_of[pops[i]] = (int)p;
        size_t nk = porcupine_info_partials(info, p);
        if (porcupine_info_partition_result(info, p) == PORCUPINE_OK)
            assert_int_equal(nk, 1);
        size_t prev_len = SIZE_MAX;
        for (size_t k = 0; k < nk; k++) {
            size_t len;
            const size_t *lin = porcupine_info_partial(info, p, k, &len);
            assert_true(len <= prev_len); /* longest first */
            prev_len = len;
            if (porcupine_info_partition_result(info, p) == PORCUPINE_OK)
                assert_int_equal(len, np);
            memset(in, 0, n ? n : 1);
            for (size_t j = 0; j < len; j++) {
                assert_true(lin[j] < n && part_of[lin[j]] == (int)p);
                assert_false(in[lin[j]]);
                in[lin[j]] = true;
            }
            int64_t min_ret_out = INT64_MAX;
            for (size_t i = 0; i < np; i++)
                if (!in[pops[i]] && ops[pops[i]].return_ns < min_ret_out)
                    min_ret_out = ops[pops[i]].return_ns;
            const void *st = porcupine_kv_model.init(arena);
            for (size_t j = 0; j < len; j++) {
                const struct porcupine_op *a = &ops[lin[j]];
                assert_false(min_ret_out < a->call_ns);
                const void *next = NULL;
                assert_true(porcupine_kv_model.step(arena, st, a->input,
                                                    a->output, &next));
                st = next;
            }
        }
    }
    free(in);
    free(part_of);
    porcupine_arena_free(arena);
}

/* Check in both modes (verbose with info, and stop-at-first-illegal) and
 * insist they agree. */
static enum porcupine_result check(struct porcupine_history *h)
{
    size_t n;
    const struct porcupine_op *ops = porcupine_history_ops(h, &n);
    struct porcupine_info *info = NULL;
    enum porcupine_result a =
        porcupine_check(&porcupine_kv_model, ops, n, 0, &info);
    enum porcupine_result b =
        porcupine_check(&porcupine_kv_model, ops, n, 0, NULL);
    assert_int_equal(porcupine_info_result(info), a);
    check_partials(ops, n, info);
    porcupine_info_free(info);
    assert_int_equal(a, b);
    return a;
}

static void test_empty_and_sequential(void **state)
{
    struct porcupine_history *h = *state;
    assert_int_equal(check(h), PORCUPINE_OK);
    rec(h, 0, GET, "k", NULL, "", 0, 10);
    rec(h, 0, PUT, "k", "a", NULL, 20, 30);
    rec(h, 0, GET, "k", NULL, "a", 40, 50);
    rec(h, 0, APPEND, "k", "b", NULL, 60, 70);
    rec(h, 0, GET, "k", NULL, "ab", 80, 90);
    rec(h, 0, PUT, "k", "", NULL, 100, 110);
    rec(h, 0, GET, "k", NULL, "", 120, 130);
    assert_int_equal(check(h), PORCUPINE_OK);
    /* One wrong read makes the whole sequence illegal. */
    rec(h, 0, GET, "k", NULL, "ab", 140, 150);
    assert_int_equal(check(h), PORCUPINE_ILLEGAL);
}

/* Two overlapping puts may take effect in either order; a later read may
 * see either value, but two later reads can't disagree. */
static void test_concurrent_puts(void **state)
{
    struct porcupine_history *h = *state;
    rec(h, 0, PUT, "k", "a", NULL, 0, 100);
    rec(h, 1, PUT, "k", "b", NULL, 50, 150);
    rec(h, 2, GET, "k", NULL, "a", 200, 210);
    assert_int_equal(check(h), PORCUPINE_OK);
    porcupine_history_free(h);
    *state = h = porcupine_kv_history_new();
    rec(h, 0, PUT, "k", "a", NULL, 0, 100);
    rec(h, 1, PUT, "k", "b", NULL, 50, 150);
    rec(h, 2, GET, "k", NULL, "b", 200, 210);
    assert_int_equal(check(h), PORCUPINE_OK);
    rec(h, 3, GET, "k", NULL, "a", 220, 230);
    assert_int_equal(check(h), PORCUPINE_ILLEGAL);
}

/* A read that starts after a write finished must not see the old value. */
static void test_stale_read(void **state)
{
    struct porcupine_history *h = *state;
    rec(h, 0, PUT, "k", "old", NULL, 0, 10);
    rec(h, 0, PUT, "k", "new", NULL, 20, 30);
    rec(h, 1, GET, "k", NULL, "old", 40, 50);
    assert_int_equal(check(h), PORCUPINE_ILLEGAL);
    /* Overlapping the write, the old value is fine. */
    porcupine_history_free(h);
    *state = h = porcupine_kv_history_new();
    rec(h, 0, PUT, "k", "old", NULL, 0, 10);
    rec(h, 0, PUT, "k", "new", NULL, 20, 45);
    rec(h, 1, GET, "k", NULL, "old", 40, 50);
    assert_int_equal(check(h), PORCUPINE_OK);
}

/* An acknowledged write that later reads never reflect. */
static void test_lost_write(void **state)
{
    struct porcupine_history *h = *state;
    rec(h, 0, PUT, "k", "a", NULL, 0, 10);
    rec(h, 1, APPEND, "k", "b", NULL, 20, 30);
    rec(h, 2, GET, "k", NULL, "a", 40, 50);
    assert_int_equal(check(h), PORCUPINE_ILLEGAL);
    /* Had the append overlapped the put, it could have come first. */
    porcupine_history_free(h);
    *state = h = porcupine_kv_history_new();
    rec(h, 0, PUT, "k", "a", NULL, 0, 10);
    rec(h, 1, APPEND, "k", "b", NULL, 5, 20);
    rec(h, 2, GET, "k", NULL, "a", 30, 40);
    assert_int_equal(check(h), PORCUPINE_OK);
}

static void test_concurrent_appends(void **state)
{
    struct porcupine_history *h = *state;
    rec(h, 0, APPEND, "k", "1", NULL, 0, 100);
    rec(h, 1, APPEND, "k", "2", NULL, 10, 90);
    rec(h, 2, APPEND, "k", "3", NULL, 20, 80);
    rec(h, 3, GET, "k", NULL, "312", 200, 210);
    assert_int_equal(check(h), PORCUPINE_OK);
    rec(h, 3, GET, "k", NULL, "312", 220, 230);
    assert_int_equal(check(h), PORCUPINE_OK);
    /* Reads must agree on one order... */
    rec(h, 4, GET, "k", NULL, "123", 240, 250);
    assert_int_equal(check(h), PORCUPINE_ILLEGAL);

    porcupine_history_free(h);
    *state = h = porcupine_kv_history_new();
    /* ...and a sequential pair can't be reordered. */
    rec(h, 0, APPEND, "k", "1", NULL, 0, 10);
    rec(h, 0, APPEND, "k", "2", NULL, 20, 30);
    rec(h, 1, APPEND, "k", "3", NULL, 5, 25);
    rec(h, 2, GET, "k", NULL, "132", 40, 50);
    assert_int_equal(check(h), PORCUPINE_OK);
    rec(h, 2, GET, "k", NULL, "132", 60, 70);
    assert_int_equal(check(h), PORCUPINE_OK);
    porcupine_history_free(h);
    *state = h = porcupine_kv_history_new();
    rec(h, 0, APPEND, "k", "1", NULL, 0, 10);
    rec(h, 0, APPEND, "k", "2", NULL, 20, 30);
    rec(h, 1, APPEND, "k", "3", NULL, 5, 25);
    rec(h, 2, GET, "k", NULL, "213", 40, 50);
    assert_int_equal(check(h), PORCUPINE_ILLEGAL);
}

/* Lab 2's Append returns the old value (op 3). */
static void test_append_old_value(void **state)
{
    struct porcupine_history *h = *state;
    rec(h, 0, APPEND_OLD, "k", "a", "", 0, 10);
    rec(h, 0, APPEND_OLD, "k", "b", "a", 20, 30);
    rec(h, 1, APPEND_OLD, "k", "c", "ab", 40, 60);
    rec(h, 2, APPEND_OLD, "k", "d", "abc", 50, 70);
    rec(h, 2, GET, "k", NULL, "abcd", 80, 90);
    assert_int_equal(check(h), PORCUPINE_OK);
    /* Concurrent: each returned value pins the order. */
    porcupine_history_free(h);
    *state = h = porcupine_kv_history_new();
    rec(h, 0, APPEND_OLD, "k", "x", "y", 0, 100);
    rec(h, 1, APPEND_OLD, "k", "y", "", 10, 90);
    rec(h, 2, GET, "k", NULL, "yx", 200, 210);
    assert_int_equal(check(h), PORCUPINE_OK);
    /* A wrong old value. */
    porcupine_history_free(h);
    *state = h = porcupine_kv_history_new();
    rec(h, 0, APPEND_OLD, "k", "a", "", 0, 10);
    rec(h, 0, APPEND_OLD, "k", "b", "", 20, 30);
    assert_int_equal(check(h), PORCUPINE_ILLEGAL);
    /* Old value contradicts the later read's order. */
    porcupine_history_free(h);
    *state = h = porcupine_kv_history_new();
    rec(h, 0, APPEND_OLD, "k", "x", "", 0, 100);
    rec(h, 1, APPEND_OLD, "k", "y", "", 10, 90);
    assert_int_equal(check(h), PORCUPINE_ILLEGAL);
}

/* An op that never returned may have taken effect at any time after its
 * call, or not at all. */
static void test_never_returned(void **state)
{
    struct porcupine_history *h = *state;
    rec(h, 0, PUT, "k", "a", NULL, 0, 10);
    rec(h, 1, PUT, "k", "lost", NULL, 20, NEVER);
    rec(h, 0, GET, "k", NULL, "a", 30, 40);
    rec(h, 0, GET, "k", NULL, "lost", 50, 60);
    rec(h, 2, GET, "k", NULL, "lost", 70, 80);
    assert_int_equal(check(h), PORCUPINE_OK);
    /* ...but not before its call, and not undone afterwards. */
    rec(h, 2, GET, "k", NULL, "a", 90, 100);
    assert_int_equal(check(h), PORCUPINE_ILLEGAL);

    porcupine_history_free(h);
    *state = h = porcupine_kv_history_new();
    rec(h, 1, GET, "k", NULL, "early", 0, 10);
    rec(h, 0, PUT, "k", "early", NULL, 20, NEVER);
    assert_int_equal(check(h), PORCUPINE_ILLEGAL);

    /* Never taking effect is fine too, as is a read that never replied
     * (recorded with begin and no end). */
    porcupine_history_free(h);
    *state = h = porcupine_kv_history_new();
    porcupine_kv_begin(h, 0, APPEND, "k", "z");
    porcupine_kv_begin(h, 1, GET, "k", NULL);
    size_t id = porcupine_kv_begin(h, 2, GET, "k", NULL);
    porcupine_kv_end(h, id, "");
    size_t n;
    const struct porcupine_op *ops = porcupine_history_ops(h, &n);
    assert_int_equal(n, 3);
    assert_true(ops[0].return_ns == NEVER && ops[0].output == NULL);
    assert_true(ops[2].return_ns >= ops[2].call_ns && ops[2].return_ns != NEVER);
    assert_int_equal(check(h), PORCUPINE_OK);
}

/* Calls sort before returns at equal times, so touching intervals count
 * as concurrent (Porcupine's tie-break). */
static void test_equal_timestamps(void **state)
{
    struct porcupine_history *h = *state;
    rec(h, 0, PUT, "k", "a", NULL, 0, 10);
    rec(h, 1, GET, "k", NULL, "", 10, 20);
    assert_int_equal(check(h), PORCUPINE_OK);
    porcupine_history_free(h);
    *state = h = porcupine_kv_history_new();
    rec(h, 0, PUT, "k", "a", NULL, 0, 10);
    rec(h, 1, GET, "k", NULL, "", 11, 20);
    assert_int_equal(check(h), PORCUPINE_ILLEGAL);
    /* Zero-length ops. */
    porcupine_history_free(h);
    *state = h = porcupine_kv_history_new();
    rec(h, 0, PUT, "k", "a", NULL, 5, 5);
    rec(h, 1, GET, "k", NULL, "a", 5, 5);
    rec(h, 2, GET, "k", NULL, "", 5, 5);
    assert_int_equal(check(h), PORCUPINE_OK);
}

/* Keys are independent: each is checked alone; partitions come in sorted
 * key order and the info says which one is illegal. */
static void test_multi_key(void **state)
{
    struct porcupine_history *h = *state;
    rec(h, 0, PUT, "y", "1", NULL, 0, 10);
    rec(h, 1, PUT, "x", "2", NULL, 0, 10);
    rec(h, 0, GET, "x", NULL, "2", 20, 30);
    rec(h, 1, GET, "y", NULL, "1", 20, 30);
    rec(h, 2, GET, "z", NULL, "", 20, 30);
    assert_int_equal(check(h), PORCUPINE_OK);
    /* A value from another key is not a value of this one. */
    rec(h, 2, GET, "y", NULL, "2", 40, 50);
    assert_int_equal(check(h), PORCUPINE_ILLEGAL);

    size_t n;
    const struct porcupine_op *ops = porcupine_history_ops(h, &n);
    struct porcupine_info *info = NULL;
    assert_int_equal(porcupine_check(&porcupine_kv_model, ops, n, 0, &info),
                     PORCUPINE_ILLEGAL);
    assert_int_equal(porcupine_info_partitions(info), 3);
    size_t np;
    const size_t *x = porcupine_info_partition_ops(info, 0, &np);
    assert_int_equal(np, 2);
    assert_int_equal(x[0], 1);
    assert_int_equal(x[1], 2);
    const size_t *y = porcupine_info_partition_ops(info, 1, &np);
    assert_int_equal(np, 3);
    assert_int_equal(y[0], 0);
    assert_int_equal(y[2], 5);
    assert_int_equal(porcupine_info_partition_result(info, 0), PORCUPINE_OK);
    assert_int_equal(porcupine_info_partition_result(info, 1),
                     PORCUPINE_ILLEGAL);
    assert_int_equal(porcupine_info_partition_result(info, 2), PORCUPINE_OK);
    /* An Ok partition's one partial is its full linearization. */
    assert_int_equal(porcupine_info_partials(info, 0), 1);
    size_t len;
    const size_t *lin = porcupine_info_partial(info, 0, 0, &len);
    assert_int_equal(len, 2);
    assert_int_equal(lin[0], 1);
    assert_int_equal(lin[1], 2);
    /* Key y: put, get(1) is the longest prefix; get(2) can't follow. */
    assert_true(porcupine_info_partials(info, 1) >= 1);
    lin = porcupine_info_partial(info, 1, 0, &len);
    assert_int_equal(len, 2);
    assert_int_equal(lin[0], 0);
    assert_int_equal(lin[1], 3);
    porcupine_info_free(info);
}

/* Exponentially many states (14 overlapping appends) and a read no order
 * explains: the budget runs out and the result is Unknown, promptly. */
/* The checker's cost in CPU seconds of this process, not wall time: the
 * limits below are about the algorithm, and wall time on a loaded machine
 * (CI, parallel stress runs) says more about the neighbours than about it. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_timeout_unknown(void **state)
{
    struct porcupine_history *h = *state;
    for (int i = 0; i < 14; i++) {
        char v[8];
        snprintf(v, sizeof(v), "%c", 'a' + i);
        rec(h, i, APPEND, "k", v, NULL, i, 1000 + i);
    }
    rec(h, 14, GET, "k", NULL, "zzz", 500, 2000);
    /* Another key that is fine and quick. */
    rec(h, 0, PUT, "q", "1", NULL, 3000, 3010);
    size_t n;
    const struct porcupine_op *ops = porcupine_history_ops(h, &n);
    for (int verbose = 0; verbose < 2; verbose++) {
        struct porcupine_info *info = NULL;
        /* The 20 ms budget must stop the (hopeless) search: measured in
         * CPU time so that a loaded machine cannot fail the test. */
        double t0 = cpu_seconds();
        enum porcupine_result r = porcupine_check(
            &porcupine_kv_model, ops, n, 20, verbose ? &info : NULL);
        double dt = cpu_seconds() - t0;
        assert_int_equal(r, PORCUPINE_UNKNOWN);
        assert_true(dt < 1.0);
        if (info) {
            assert_int_equal(porcupine_info_partition_result(info, 0),
                             PORCUPINE_UNKNOWN);
            assert_int_equal(porcupine_info_partition_result(info, 1),
                             PORCUPINE_OK);
            porcupine_info_free(info);
        }
    }
    /* The report helper says so, like the Go tests. */
    assert_int_equal(porcupine_check_report(&porcupine_kv_model, ops, n, 20),
                     PORCUPINE_UNKNOWN);
}

/* More hopeless partitions than the pool has threads, and one small
 * illegal one: Go's checker starts every partition at once, so the small
 * one is found (Illegal) though the big ones time out. A pool that starts
 * the largest first never reaches it before the deadline (Unknown). */
static void test_small_partition_checked(void **state)
{
    struct porcupine_history *h = *state;
    for (int k = 0; k < 20; k++) { /* > the pool's 16-thread cap */
        char key[16]; /* "k" and any int: the -O1 sanitizer builds check the bound */
        snprintf(key, sizeof(key), "k%d", k);
        for (int i = 0; i < 14; i++) {
            char v[8];
            snprintf(v, sizeof(v), "%c", 'a' + i);
            rec(h, i, APPEND, key, v, NULL, i, 1000 + i);
        }
        rec(h, 14, GET, key, NULL, "zzz", 500, 2000);
    }
    rec(h, 15, PUT, "s", "1", NULL, 3000, 3010);
    rec(h, 15, GET, "s", NULL, "2", 3020, 3030);
    size_t n;
    const struct porcupine_op *ops = porcupine_history_ops(h, &n);
    for (int verbose = 0; verbose < 2; verbose++) {
        struct porcupine_info *info = NULL;
        enum porcupine_result r = porcupine_check(
            &porcupine_kv_model, ops, n, 100, verbose ? &info : NULL);
        assert_int_equal(r, PORCUPINE_ILLEGAL);
        porcupine_info_free(info);
    }
}

/* Thousands of random small histories against the brute-force oracle. */
static void test_random_vs_brute_force(void **state)
{
    (void)state;
    struct rng r;
    uint64_t seed = 0x5eed0001;
    rng_seed(&r, seed);
    int cases = SANITIZED ? 3000 : 20000;
    int n_ok = 0, n_bad = 0;
    for (int c = 0; c < cases; c++) {
        struct sim_op ops[SIM_MAX_OPS];
        size_t n = porcupine_test_random_history(&r, ops);
        bool want = porcupine_test_brute_force(ops, n);
        struct porcupine_history *h = porcupine_kv_history_new();
        porcupine_test_record(h, ops, n);
        enum porcupine_result got = check(h);
        if (got != (want ? PORCUPINE_OK : PORCUPINE_ILLEGAL)) {
            fprintf(stderr, "case %d (seed %#llx): brute force says %s\n", c,
                    (unsigned long long)seed, want ? "ok" : "illegal");
            for (size_t i = 0; i < n; i++)
                fprintf(stderr, "  c%d op%d %s '%s' -> %s%s%s [%lld, %lld]\n",
                        ops[i].client, ops[i].op, ops[i].key, ops[i].value,
                        ops[i].has_out ? "'" : "", ops[i].has_out ? ops[i].out : "?",
                        ops[i].has_out ? "'" : "", (long long)ops[i].call,
                        (long long)ops[i].ret);
        }
        porcupine_history_free(h);
        assert_int_equal(got, want ? PORCUPINE_OK : PORCUPINE_ILLEGAL);
        want ? n_ok++ : n_bad++;
    }
    /* The generator must exercise both outcomes. */
    assert_true(n_ok > cases / 5);
    assert_true(n_bad > cases / 5);
}

static double check_seconds(struct porcupine_history *h,
                            enum porcupine_result *r)
{
    size_t n;
    const struct porcupine_op *ops = porcupine_history_ops(h, &n);
    struct porcupine_info *info = NULL;
    double t0 = cpu_seconds();
    *r = porcupine_check(&porcupine_kv_model, ops, n, 0, &info);
    double s = cpu_seconds() - t0;
    porcupine_info_free(info);
    return s;
}

/* The size of TestPersistPartitionUnreliableLinearizable4A's history and
 * then some: 15 clients, 5 s, random keys among 15, ops of 1-30 ms with
 * 2% slow ones (partitions). Verbose mode, as the tests use. */
static void test_perf_15_clients(void **state)
{
    struct porcupine_history *h = *state;
    struct rng r;
    rng_seed(&r, 42);
    size_t n = porcupine_test_simulate(h, &r, 15, 15, 5000000000ll, 1000000,
                                       30000000, 2, false);
    enum porcupine_result res;
    double s = check_seconds(h, &res);
    printf("    15 clients x 5 s, 15 keys: %zu ops checked in %.3f s\n", n, s);
    assert_true(n > 2000);
    assert_int_equal(res, PORCUPINE_OK);
    assert_true(s < (SANITIZED ? 10.0 : 1.0));

    /* Same shape, but every op is short: ~10x more ops. */
    porcupine_history_free(h);
    *state = h = porcupine_kv_history_new();
    n = porcupine_test_simulate(h, &r, 15, 15, 5000000000ll, 100000, 3000000,
                                1, false);
    s = check_seconds(h, &res);
    printf("    15 clients x 5 s, 15 keys, fast ops: %zu ops in %.3f s\n", n, s);
    assert_int_equal(res, PORCUPINE_OK);
    assert_true(s < (SANITIZED ? 20.0 : 1.0));
}

/* Lab 2's shape: each client appends to its own key with op 3 and many
 * ops, so values grow long (the states are ropes, not copies). */
static void test_perf_lab2(void **state)
{
    struct porcupine_history *h = *state;
    struct rng r;
    rng_seed(&r, 7);
    size_t n = porcupine_test_simulate(h, &r, 5, 0, 400000000ll, 20000,
                                       60000, 0, true);
    enum porcupine_result res;
    double s = check_seconds(h, &res);
    printf("    lab 2 shape, 5 clients x 0.4 s: %zu ops in %.3f s\n", n, s);
    assert_true(n > 15000);
    assert_int_equal(res, PORCUPINE_OK);
    assert_true(s < (SANITIZED ? 30.0 : 2.0));
}

/* Simulated histories made illegal by corrupting one read are caught. */
static void test_simulated_corruption(void **state)
{
    struct porcupine_history *h = *state;
    struct rng r;
    rng_seed(&r, 99);
    porcupine_test_simulate(h, &r, 6, 3, 500000000ll, 1000000, 20000000, 5,
                            false);
    size_t n;
    const struct porcupine_op *ops = porcupine_history_ops(h, &n);
    assert_int_equal(porcupine_check(&porcupine_kv_model, ops, n, 0, NULL),
                     PORCUPINE_OK);
    /* Copy the op array and swap one late get for one whose value has a
     * suffix nobody ever appended. */
    struct porcupine_op *bad = xmalloc(n * sizeof(*bad));
    memcpy(bad, ops, n * sizeof(*bad));
    struct porcupine_kv_input *in = NULL;
    struct porcupine_kv_output *out = NULL;
    for (size_t i = n / 2; i < n && !in; i++) {
        struct buf d = BUF_INIT;
        porcupine_kv_model.describe_op(ops[i].input, ops[i].output, &d);
        buf_append_byte(&d, '\0');
        /* describe_op gives "get('k') -> 'value'"; parse key and value. */
        char key[16] = "", val[8192] = "";
        if (sscanf((const char *)d.data, "get('%15[^']') -> '%8000[^']'", key,
                   val) == 2) {
            strcat(val, "JUNK");
            in = porcupine_kv_input_new(GET, key, NULL);
            out = porcupine_kv_output_new(val);
            bad[i].input = in;
            bad[i].output = out;
        }
        buf_free(&d);
    }
    enum porcupine_result res =
        in ? porcupine_check(&porcupine_kv_model, bad, n, 0, NULL)
           : PORCUPINE_OK;
    porcupine_kv_input_free(in);
    porcupine_kv_output_free(out);
    free(bad);
    assert_int_equal(res, PORCUPINE_ILLEGAL);
}

struct rec_arg {
    struct porcupine_history *h;
    int client;
};

static void *record_thread(void *p)
{
    struct rec_arg *a = p;
    char v[32];
    for (int j = 0; j < 200; j++) {
        snprintf(v, sizeof(v), "x %d %d y", a->client, j);
        size_t id = porcupine_kv_begin(a->h, a->client, APPEND, "k", v);
        porcupine_kv_end(a->h, id, NULL);
    }
    return NULL;
}

/* Clients record concurrently; every op lands once with sane times. */
static void test_recorder_threads(void **state)
{
    struct porcupine_history *h = *state;
    pthread_t t[4];
    struct rec_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct rec_arg){h, i};
        assert_int_equal(pthread_create(&t[i], NULL, record_thread, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    size_t n;
    const struct porcupine_op *ops = porcupine_history_ops(h, &n);
    assert_int_equal(n, 800);
    for (size_t i = 0; i < n; i++)
        assert_true(ops[i].call_ns <= ops[i].return_ns &&
                    ops[i].return_ns != NEVER);
    assert_int_equal(check(h), PORCUPINE_OK);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    struct buf b = BUF_INIT;
    char chunk[4096];
    size_t k;
    while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&b, chunk, k);
    fclose(f);
    buf_append_byte(&b, '\0');
    return (char *)buf_release(&b, NULL);
}

/* An illegal history yields a self-contained page holding the ops, the
 * longest prefix with its states and the illegal next step. */
static void test_visualization_html(void **state)
{
    struct porcupine_history *h = *state;
    rec(h, 0, PUT, "k", "a", NULL, 0, 10);
    rec(h, 1, APPEND, "k", "b", NULL, 20, 30);
    rec(h, 2, GET, "k", NULL, "a", 40, 50);
    rec(h, 0, GET, "other", NULL, "", 0, 100);
    rec(h, 3, PUT, "k", "<pending>", NULL, 35, NEVER);
    size_t n;
    const struct porcupine_op *ops = porcupine_history_ops(h, &n);
    struct porcupine_info *info = NULL;
    assert_int_equal(porcupine_check(&porcupine_kv_model, ops, n, 0, &info),
                     PORCUPINE_ILLEGAL);
    char *path = NULL;
    assert_int_equal(porcupine_visualize_tmp(&porcupine_kv_model, info, &path), 0);
    assert_non_null(path);
    assert_true(strncmp(path, "/tmp/", 5) == 0 || getenv("TMPDIR"));
    assert_non_null(strstr(path, "porcupine-"));
    char *html = read_file(path);
    assert_true(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    assert_non_null(strstr(html, "\"result\":\"Illegal\""));
    assert_non_null(strstr(html, "\"name\":\"key 'k'\",\"status\":\"illegal\""));
    assert_non_null(strstr(html, "\"name\":\"key 'other'\",\"status\":\"ok\""));
    /* Descriptions, JSON-escaped so they can't close the script. */
    assert_non_null(strstr(html, "get('k') -\\u003e 'a'"));
    assert_non_null(strstr(html, "append('k', 'b')"));
    assert_non_null(strstr(html, "put('k', '\\u003cpending\\u003e')"));
    assert_null(strstr(html, "'<pending>'"));
    /* key k: ops put(0) append(1) get(2) pending put(3). Longest prefix:
     * put, append, then pending put (it may go anywhere), 3 states; the
     * get is the illegal next step. */
    assert_non_null(strstr(html, "{\"ids\":[0,1,3],\"states\":[\"'a'\",\"'ab'\","
                                 "\"'\\u003cpending\\u003e'\"],\"next\":[2]}"));
    assert_non_null(strstr(html, "\"p\":1"));
    assert_non_null(strstr(html, "jump to first error"));
    /* Self-contained: no scripts, styles or images from elsewhere. */
    assert_null(strstr(html, "src="));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, "href="));
    assert_null(strstr(html, "@import"));
    free(html);
    unlink(path);
    free(path);

    /* porcupine_visualize to a chosen path; a bad path is an error. */
    char p2[] = "/tmp/porcupine-test-XXXXXX";
    int fd = mkstemp(p2);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(porcupine_visualize(&porcupine_kv_model, info, p2), 0);
    html = read_file(p2);
    assert_non_null(strstr(html, "render(data)"));
    free(html);
    unlink(p2);
    assert_int_not_equal(porcupine_visualize(&porcupine_kv_model, info,
                                             "/nonexistent/dir/x.html"), 0);
    porcupine_info_free(info);
}

/* An illegal history whose first step already fails still gets a partial
 * (the empty one) so the page can show the red first steps. */
static void test_illegal_first_step(void **state)
{
    struct porcupine_history *h = *state;
    rec(h, 0, GET, "k", NULL, "ghost", 0, 10);
    rec(h, 1, PUT, "k", "ghost", NULL, 20, 30);
    size_t n;
    const struct porcupine_op *ops = porcupine_history_ops(h, &n);
    struct porcupine_info *info = NULL;
    assert_int_equal(porcupine_check(&porcupine_kv_model, ops, n, 0, &info),
                     PORCUPINE_ILLEGAL);
    assert_int_equal(porcupine_info_partials(info, 0), 1);
    size_t len;
    porcupine_info_partial(info, 0, 0, &len);
    assert_int_equal(len, 0);
    char p[] = "/tmp/porcupine-test-XXXXXX";
    int fd = mkstemp(p);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(porcupine_visualize(&porcupine_kv_model, info, p), 0);
    char *html = read_file(p);
    assert_non_null(strstr(html, "{\"ids\":[],\"states\":[],\"next\":[0]}"));
    free(html);
    unlink(p);
    porcupine_info_free(info);
}

/* Large values are cut in the page (head and tail kept). */
static void test_visualization_truncates(void **state)
{
    struct porcupine_history *h = *state;
    char *big = xmalloc(100001);
    memset(big, 'v', 100000);
    big[100000] = '\0';
    big[99999] = 'Z';
    rec(h, 0, PUT, "k", big, NULL, 0, 10);
    rec(h, 1, GET, "k", NULL, "nope", 20, 30);
    free(big);
    size_t n;
    const struct porcupine_op *ops = porcupine_history_ops(h, &n);
    struct porcupine_info *info = NULL;
    assert_int_equal(porcupine_check(&porcupine_kv_model, ops, n, 0, &info),
                     PORCUPINE_ILLEGAL);
    char p[] = "/tmp/porcupine-test-XXXXXX";
    int fd = mkstemp(p);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_int_equal(porcupine_visualize_file(&porcupine_kv_model, info, f), 0);
    fclose(f);
    char *html = read_file(p);
    assert_true(strlen(html) < 60000);
    assert_non_null(strstr(html, "bytes)"));
    assert_non_null(strstr(html, "vZ'"));
    free(html);
    unlink(p);
    porcupine_info_free(info);
}

/* A model without partition/equal/hash (all optional) works as one
 * partition with pointer-equal states: a counter that only goes up. */
static const int counter_states[8] = {0, 1, 2, 3, 4, 5, 6, 7};

static const void *ctr_init(struct porcupine_arena *a)
{
    (void)a;
    return &counter_states[0];
}

static bool ctr_step(struct porcupine_arena *a, const void *state,
                     const void *input, const void *output, const void **next)
{
    (void)a;
    const int *s = state;
    intptr_t in = (intptr_t)input; /* 1: increment; 0: read */
    if (in) {
        if (*s >= 7)
            return false;
        *next = &counter_states[*s + 1];
        return true;
    }
    *next = s;
    return !output || (intptr_t)output - 1 == *s;
}

static void ctr_describe_op(const void *input, const void *output,
                            struct buf *b)
{
    if ((intptr_t)input)
        buf_printf(b, "inc()");
    else
        buf_printf(b, "read() -> %ld", (long)((intptr_t)output - 1));
}

static void ctr_describe_state(const void *state, struct buf *b)
{
    buf_printf(b, "%d", *(const int *)state);
}

static void test_generic_model(void **state)
{
    (void)state;
    const struct porcupine_model m = {
        .init = ctr_init,
        .step = ctr_step,
        .describe_op = ctr_describe_op,
        .describe_state = ctr_describe_state,
    };
    /* Outputs are value+1 so that 0 is not NULL. */
    struct porcupine_op ops[] = {
        {0, (void *)1, (void *)1, 0, 10},
        {1, (void *)1, (void *)1, 5, 15},
        {2, (void *)0, (void *)2, 12, 20},
        {2, (void *)0, (void *)3, 30, 40},
    };
    assert_int_equal(porcupine_check(&m, ops, 3, 0, NULL), PORCUPINE_OK);
    assert_int_equal(porcupine_check(&m, ops, 4, 0, NULL), PORCUPINE_OK);
    ops[3].output = (void *)2; /* read 1 after both incs finished */
    assert_int_equal(porcupine_check(&m, ops, 4, 0, NULL), PORCUPINE_ILLEGAL);
    struct porcupine_info *info = NULL;
    assert_int_equal(porcupine_check(&m, ops, 4, 0, &info), PORCUPINE_ILLEGAL);
    assert_int_equal(porcupine_info_partitions(info), 1);
    porcupine_info_free(info);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_and_sequential, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_puts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_old_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_returned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_equal_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multi_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_partition_checked, setup,
                                        teardown),
        cmocka_unit_test(test_random_vs_brute_force),
        cmocka_unit_test_setup_teardown(test_perf_15_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_perf_lab2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_simulated_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recorder_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_visualization_html, setup, teardown),
        cmocka_unit_test_setup_teardown(test_illegal_first_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_visualization_truncates, setup, teardown),
        cmocka_unit_test(test_generic_model),
    };
    return cmocka_run_group_tests_name("porcupine", tests, NULL, NULL);
}
