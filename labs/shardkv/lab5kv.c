/* lab5kv.c - the graded shardkv tests of 6.5840 (Spring 2024) lab 5
 * (graded-tests.md §5.4-5.6): TestStaticShards5A and TestRejection5A
 * (part of 5A), the nine 5B tests, and the two challenges (shard deletion;
 * unaffected and partially migrated shard access), with the original
 * titles, schedules, limits, messages and the porcupine check of
 * TestUnreliable3_5B, in the original order. Run them with the lab runner
 * (one process per test), e.g. `make test-lab5B`, or:
 *   build/release/tests/lab5kv --list
 *   build/release/tests/lab5kv [--seed N] TestJoinLeave5B
 *
 * Where the Go original has a check that cannot fail, or leaves goroutines
 * behind, the port says what it does in a comment marked "C port:". */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "labs/porcupine/porcupine.h"
#include "labs/shardkv/config.h"
#include "labs/tester/tester.h"
#include "labs/timeline/timeline.h"

#define fatalf tester_fatalf
#define LINEARIZABILITY_CHECK_TIMEOUT_MS 1000

static void sleep_ms(uint64_t ms) { clock_sleep_ms(ms); }

/* Titles are printed exactly as the originals (some end in "...", some in
 * " ..."). */
static void title(const char *s) { tester_printf("%s\n", s); }

/* randstring(n): an owned string of n random characters. */
static char *randstring(size_t n)
{
    char *s = xmalloc(n + 1);
    tester_randstring(s, n);
    return s;
}

/* ---- keys and values --------------------------------------------------------- */

struct kvs {
    int n;
    char (*ka)[16];
    struct buf *va; /* NUL-terminated values; va[i] is owned by whoever
                     * appends to key i (one thread at a time) */
};

static struct kvs *kvs_new(int n)
{
    struct kvs *k = xcalloc(1, sizeof(*k));
    k->n = n;
    k->ka = xcalloc((size_t)n, sizeof(*k->ka));
    k->va = xcalloc((size_t)n, sizeof(*k->va));
    for (int i = 0; i < n; i++) {
        snprintf(k->ka[i], sizeof(k->ka[i]), "%d", i); /* ensure multiple shards */
        buf_append(&k->va[i], "", 1);
        k->va[i].len = 0;
    }
    return k;
}

static void kvs_free(struct kvs *k)
{
    for (int i = 0; i < k->n; i++)
        buf_free(&k->va[i]);
    free(k->va);
    free(k->ka);
    free(k);
}

static const char *va(struct kvs *k, int i) { return (char *)k->va[i].data; }

static void va_set(struct kvs *k, int i, const char *s)
{
    k->va[i].len = 0;
    buf_append(&k->va[i], s, strlen(s) + 1);
    k->va[i].len--;
}

static void va_add(struct kvs *k, int i, const char *s)
{
    buf_append(&k->va[i], s, strlen(s) + 1);
    k->va[i].len--;
}

/* ---- clerk operations ---------------------------------------------------------- */

/* Each is recorded in the run's timeline (its "clients" lane). */
static char *get(struct skv5client *c, const char *key)
{
    int64_t start = porcupine_now_ns();
    char *v = skv_clerk_get(c->ck, key, NULL);
    if (!v)
        fatalf("Get(%s) returned NULL: the clerk gave up although its end was "
               "not shut down (a clerk must keep asking the owning group, "
               "re-reading the configuration, until it succeeds)", key);
    timeline_op(c->id, "Get", key, v, start, porcupine_now_ns());
    return v;
}

static void put(struct skv5client *c, const char *key, const char *value)
{
    int64_t start = porcupine_now_ns();
    if (skv_clerk_put(c->ck, key, value) != 0)
        fatalf("Put(%s) returned an error: the clerk gave up although "
               "its end was not shut down (a clerk must keep asking the "
               "owning group, re-reading the configuration, until it "
               "succeeds)", key);
    timeline_op(c->id, "Put", key, value, start, porcupine_now_ns());
}

static void append(struct skv5client *c, const char *key, const char *value)
{
    int64_t start = porcupine_now_ns();
    if (skv_clerk_append(c->ck, key, value) != 0)
        fatalf("Append(%s) returned an error: the clerk gave up although "
               "its end was not shut down (a clerk must keep asking the "
               "owning group, re-reading the configuration, until it "
               "succeeds)", key);
    timeline_op(c->id, "Append", key, value, start, porcupine_now_ns());
}

static void check(struct skv5client *ck, const char *key, const char *value)
{
    char *v = get(ck, key);
    if (strcmp(v, value) != 0)
        fatalf("Get(%s) returned a wrong value (%zu bytes, expected %zu): "
               "%s\n    expected: '%.200s'\n    received: '%.200s'", key,
               strlen(v), strlen(value),
               v[0] ? "a write lost or applied twice when its shard moved "
                      "(was the shard sent without its duplicate table?), a "
                      "stale read from a group that no longer owns the "
                      "shard, or state not restored after a restart?"
                    : "the key reads as empty - no write to it took effect "
                   "(a clerk or server that does not send or apply "
                   "writes yet?), or the state was lost in a restart",
               value, v);
    free(v);
}

/* Put n random values of len chars to keys "0".."n-1". */
static void put_all(struct skv5client *ck, struct kvs *k, size_t len)
{
    for (int i = 0; i < k->n; i++) {
        char *x = randstring(len);
        va_set(k, i, x);
        put(ck, k->ka[i], x);
        free(x);
    }
}

static void check_all(struct skv5client *ck, struct kvs *k)
{
    for (int i = 0; i < k->n; i++)
        check(ck, k->ka[i], va(k, i));
}

/* Every test's opening: its title, a fresh 3-group deployment and the
 * main clerk (*ck, owned by the config). */
static struct skv5cfg *begin(const char *name, bool unreliable,
                             int64_t maxraftstate, struct skv5client **ck)
{
    title(name);
    struct skv5cfg *cfg = skv5cfg_make(3, unreliable, maxraftstate);
    *ck = skv5cfg_make_client(cfg);
    return cfg;
}

/* Every test's close: the summary line, then tear-down. */
static void finish(struct skv5cfg *cfg, struct kvs *k)
{
    skv5cfg_end(cfg);
    kvs_free(k);
    skv5cfg_cleanup(cfg);
}

/* check each key, then append a random string of len chars to it */
static void check_append_all(struct skv5client *ck, struct kvs *k, size_t len)
{
    for (int i = 0; i < k->n; i++) {
        check(ck, k->ka[i], va(k, i));
        char *x = randstring(len);
        append(ck, k->ka[i], x);
        va_add(k, i, x);
        free(x);
    }
}

/* ---- one-shot Gets with a completion window (StaticShards, Rejection) ---- */

struct oneshot {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int ndone;
    char err[512];
    bool reject_check; /* TestRejection: "" means not rejected */
};

struct oneshot_arg {
    struct oneshot *os;
    struct skv5client *ck;
    const char *key;
    const char *want;
};

static void *oneshot_get(void *arg)
{
    struct oneshot_arg *a = arg;
    int64_t start = porcupine_now_ns();
    char *v = skv_clerk_get(a->ck->ck, a->key, NULL);
    if (!v)
        return NULL; /* C port: shut down at the end of the test */
    timeline_op(a->ck->id, "Get", a->key, v, start, porcupine_now_ns());
    pthread_mutex_lock(&a->os->mu);
    if (strcmp(v, a->want) != 0 && !a->os->err[0]) {
        if (a->os->reject_check && v[0] == '\0')
            snprintf(a->os->err, sizeof a->os->err,
                     "Get(%s) returned a value, but the server should have "
                     "rejected it (ErrWrongGroup): its group does not own "
                     "the key's shard in the current configuration",
                     a->key);
        else
            snprintf(a->os->err, sizeof a->os->err,
                     "Get(%s) returned a wrong value ('%.60s', expected "
                     "'%.60s') - served by a group that does not own the "
                     "shard, or a shard's data lost in a move?", a->key, v,
                     a->want);
    }
    a->os->ndone++;
    pthread_cond_broadcast(&a->os->cond);
    pthread_mutex_unlock(&a->os->mu);
    free(v);
    return NULL;
}

/* Wait in 2 s windows, each completion restarting the window, until 2 s
 * pass with no completion; returns how many completed. */
static int oneshot_wait(struct oneshot *os)
{
    pthread_mutex_lock(&os->mu);
    int seen = 0;
    for (;;) {
        if (os->err[0]) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", os->err);
            pthread_mutex_unlock(&os->mu);
            fatalf("%s", msg);
        }
        if (os->ndone > seen) {
            seen = os->ndone;
            continue;
        }
        uint64_t deadline = clock_now_ns() + 2000000000ull;
        while (os->ndone == seen && !os->err[0])
            if (clock_cond_wait_until(&os->cond, &os->mu, deadline) != 0)
                break;
        if (os->ndone == seen && !os->err[0])
            break;
    }
    pthread_mutex_unlock(&os->mu);
    return seen;
}

static void oneshot_init(struct oneshot *os, bool reject_check)
{
    memset(os, 0, sizeof(*os));
    pthread_mutex_init(&os->mu, NULL);
    clock_cond_init(&os->cond);
    os->reject_check = reject_check;
}

/* ---- TestStaticShards5A ---------------------------------------------------------- */

/* test static 2-way sharding, without shard movement. */
static void test_static_shards(void)
{
    struct skv5client *ck;
    struct skv5cfg *cfg = begin("Test (5A): static shards ...", false, -1, &ck);
    skv5cfg_join(cfg, 0);
    skv5cfg_join(cfg, 1);

    enum { N = 10 };
    struct kvs *k = kvs_new(N);
    put_all(ck, k, 20);
    check_all(ck, k);

    /* make sure that the data really is sharded by shutting down one
     * shard and checking that some Get()s don't succeed. */
    skv5cfg_shutdown_group(cfg, 1);
    skv5cfg_checklogs(cfg); /* forbid snapshots */

    struct oneshot os;
    oneshot_init(&os, false);
    struct oneshot_arg args[N];
    pthread_t th[N];
    struct skv5client *cks[N];
    for (int i = 0; i < N; i++) {
        cks[i] = skv5cfg_make_client(cfg); /* only one call allowed per client */
        args[i] = (struct oneshot_arg){&os, cks[i], k->ka[i], va(k, i)};
        tester_spawn(&th[i], oneshot_get, &args[i]);
    }
    /* wait a bit, only about half the Gets should succeed. */
    int ndone = oneshot_wait(&os);
    if (ndone != 5)
        fatalf("%d of 5 Gets completed while one group was down, expected "
               "5 (the other shards are served) - requests for live shards "
               "must not wait for the dead group (e.g. a configuration "
               "change blocked on it, or one lock held across an RPC)",
               ndone);

    /* bring the crashed shard/group back to life. */
    skv5cfg_start_group(cfg, 1);
    check_all(ck, k);
    skv5cfg_end(cfg);

    /* C port: the Go test leaves the other Gets' goroutines behind; here
     * they finish against the restarted group (checked too), or are shut
     * down. */
    for (int i = 0; i < N; i++)
        skv5cfg_client_shutdown(cfg, cks[i]);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    if (os.err[0])
        fatalf("%s", os.err);
    kvs_free(k);
    skv5cfg_cleanup(cfg);
}

/* ---- TestRejection5A ----------------------------------------------------------------- */

/* A group must reject (ErrWrongGroup) requests for shards it does not own,
 * even when a clerk is sure it does: here every clerk uses a second
 * controller in whose world group 100 owns every shard. */
static void test_rejection(void)
{
    struct skv5client *ck;
    struct skv5cfg *cfg = begin("Test (5A): rejection ...", false, -1, &ck);
    skv5cfg_join(cfg, 0);
    skv5cfg_join(cfg, 1);

    enum { N = 10 };
    struct kvs *k = kvs_new(N);
    put_all(ck, k, 20);
    check_all(ck, k);

    /* now a second controller service, in which only group 0 (gid 100)
     * exists: clerks using it send every request to group 100. */
    struct skv5ctl *ctl1 = skv5cfg_start_ctrler_service(cfg);
    skv5cfg_ctljoin(cfg, 0, ctl1);

    struct oneshot os;
    oneshot_init(&os, true);
    struct oneshot_arg args[N];
    pthread_t th[N];
    struct skv5client *cks[N];
    for (int i = 0; i < N; i++) {
        cks[i] = skv5cfg_make_client_ctl(cfg, ctl1);
        args[i] = (struct oneshot_arg){&os, cks[i], k->ka[i], va(k, i)};
        tester_spawn(&th[i], oneshot_get, &args[i]);
    }
    /* Gets for 100's own shards complete; the others must be rejected,
     * so those clerks retry forever. */
    int ndone = oneshot_wait(&os);
    if (ndone != 5)
        fatalf("%d Gets completed, expected 5 (the other half must be "
               "rejected with ErrWrongGroup and the clerk retry elsewhere)",
               ndone);
    skv5cfg_end(cfg);

    for (int i = 0; i < N; i++)
        skv5cfg_client_shutdown(cfg, cks[i]);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    kvs_free(k);
    skv5cfg_cleanup(cfg);
}

/* ---- TestJoinLeave5B ------------------------------------------------------------------ */

static void test_join_leave(void)
{
    struct skv5client *ck;
    struct skv5cfg *cfg =
        begin("Test (5B): join then leave ...", false, -1, &ck);
    skv5cfg_join(cfg, 0);

    struct kvs *k = kvs_new(10);
    put_all(ck, k, 5);
    check_all(ck, k);

    skv5cfg_join(cfg, 1);
    check_append_all(ck, k, 5);

    skv5cfg_leave(cfg, 0);
    check_append_all(ck, k, 5);

    /* allow time for shards to transfer. */
    sleep_ms(1000);

    skv5cfg_checklogs(cfg);
    skv5cfg_shutdown_group(cfg, 0);

    check_all(ck, k);
    finish(cfg, k);
}

/* ---- TestSnapshot5B --------------------------------------------------------------------- */

static void test_snapshot(void)
{
    struct skv5client *ck;
    struct skv5cfg *cfg =
        begin("Test (5B): snapshots, join, and leave ...", false, 1000, &ck);
    skv5cfg_join(cfg, 0);

    struct kvs *k = kvs_new(30);
    put_all(ck, k, 20);
    check_all(ck, k);

    skv5cfg_join(cfg, 1);
    skv5cfg_join(cfg, 2);
    skv5cfg_leave(cfg, 0);
    check_append_all(ck, k, 20);

    skv5cfg_leave(cfg, 1);
    skv5cfg_join(cfg, 0);
    check_append_all(ck, k, 20);

    sleep_ms(1000);
    check_all(ck, k);
    sleep_ms(1000);

    skv5cfg_checklogs(cfg);

    skv5cfg_shutdown_group(cfg, 0);
    skv5cfg_shutdown_group(cfg, 1);
    skv5cfg_shutdown_group(cfg, 2);
    skv5cfg_start_group(cfg, 0);
    skv5cfg_start_group(cfg, 1);
    skv5cfg_start_group(cfg, 2);

    check_all(ck, k);
    finish(cfg, k);
}

/* ---- TestMissChange5B ---------------------------------------------------------------------- */

static void test_miss_change(void)
{
    struct skv5client *ck;
    struct skv5cfg *cfg =
        begin("Test (5B): servers miss configuration changes...", false, 1000, &ck);
    skv5cfg_join(cfg, 0);

    struct kvs *k = kvs_new(10);
    put_all(ck, k, 20);
    check_all(ck, k);

    skv5cfg_join(cfg, 1);

    skv5cfg_shutdown_server(cfg, 0, 0);
    skv5cfg_shutdown_server(cfg, 1, 0);
    skv5cfg_shutdown_server(cfg, 2, 0);

    skv5cfg_join(cfg, 2);
    skv5cfg_leave(cfg, 1);
    skv5cfg_leave(cfg, 0);
    check_append_all(ck, k, 20);

    skv5cfg_join(cfg, 1);
    check_append_all(ck, k, 20);

    skv5cfg_start_server(cfg, 0, 0);
    skv5cfg_start_server(cfg, 1, 0);
    skv5cfg_start_server(cfg, 2, 0);
    check_append_all(ck, k, 20);

    sleep_ms(2000);

    skv5cfg_shutdown_server(cfg, 0, 1);
    skv5cfg_shutdown_server(cfg, 1, 1);
    skv5cfg_shutdown_server(cfg, 2, 1);

    skv5cfg_join(cfg, 0);
    skv5cfg_leave(cfg, 2);
    check_append_all(ck, k, 20);

    skv5cfg_start_server(cfg, 0, 1);
    skv5cfg_start_server(cfg, 1, 1);
    skv5cfg_start_server(cfg, 2, 1);

    check_all(ck, k);
    finish(cfg, k);
}

/* ---- concurrent appenders (Concurrent1/2/3, Unreliable2) ------------------------------ */

struct appenders {
    struct skv5cfg *cfg;
    struct kvs *k;
    size_t len;        /* characters per append */
    uint64_t sleep_ms; /* pause between appends (0: none) */
    atomic_int done;
    pthread_t th[16];
    struct skv5client *cks[16];
    int idx[16];
};

struct appender_arg {
    struct appenders *a;
    int i;
};

static void *appender(void *arg)
{
    struct appender_arg *aa = arg;
    struct appenders *a = aa->a;
    int i = aa->i;
    while (atomic_load(&a->done) == 0) {
        char *x = randstring(a->len);
        append(a->cks[i], a->k->ka[i], x);
        va_add(a->k, i, x);
        free(x);
        if (a->sleep_ms)
            sleep_ms(a->sleep_ms);
    }
    return NULL;
}

static struct appender_arg g_args[16];

static void appenders_start(struct appenders *a, struct skv5cfg *cfg,
                            struct kvs *k, size_t len, uint64_t pause)
{
    a->cfg = cfg;
    a->k = k;
    a->len = len;
    a->sleep_ms = pause;
    atomic_init(&a->done, 0);
    for (int i = 0; i < k->n; i++) {
        a->cks[i] = skv5cfg_make_client(cfg);
        g_args[i] = (struct appender_arg){a, i};
        tester_spawn(&a->th[i], appender, &g_args[i]);
    }
}

static void appenders_stop(struct appenders *a)
{
    atomic_store(&a->done, 1);
    for (int i = 0; i < a->k->n; i++)
        pthread_join(a->th[i], NULL);
}

/* ---- TestConcurrent1_5B ------------------------------------------------------------------ */

static void test_concurrent1(void)
{
    struct skv5client *ck;
    struct skv5cfg *cfg =
        begin("Test (5B): concurrent puts and configuration changes...", false, 100, &ck);
    skv5cfg_join(cfg, 0);

    struct kvs *k = kvs_new(10);
    put_all(ck, k, 5);

    static struct appenders a;
    appenders_start(&a, cfg, k, 5, 10);

    sleep_ms(150);
    skv5cfg_join(cfg, 1);
    sleep_ms(500);
    skv5cfg_join(cfg, 2);
    sleep_ms(500);
    skv5cfg_leave(cfg, 0);

    skv5cfg_shutdown_group(cfg, 0);
    sleep_ms(100);
    skv5cfg_shutdown_group(cfg, 1);
    sleep_ms(100);
    skv5cfg_shutdown_group(cfg, 2);

    skv5cfg_leave(cfg, 2);

    sleep_ms(100);
    skv5cfg_start_group(cfg, 0);
    skv5cfg_start_group(cfg, 1);
    skv5cfg_start_group(cfg, 2);

    sleep_ms(100);
    skv5cfg_join(cfg, 0);
    skv5cfg_leave(cfg, 1);
    sleep_ms(500);
    skv5cfg_join(cfg, 1);

    sleep_ms(1000);

    appenders_stop(&a);
    check_all(ck, k);
    finish(cfg, k);
}

/* ---- TestConcurrent2_5B ------------------------------------------------------------------ */

/* this tests the various sources from which a re-starting group might
 * need to fetch shard contents. */
static void test_concurrent2(void)
{
    struct skv5client *ck;
    struct skv5cfg *cfg =
        begin("Test (5B): more concurrent puts and configuration changes...", false, -1, &ck);
    skv5cfg_join(cfg, 1);
    skv5cfg_join(cfg, 0);
    skv5cfg_join(cfg, 2);

    struct kvs *k = kvs_new(10);
    put_all(ck, k, 1);

    static struct appenders a;
    appenders_start(&a, cfg, k, 1, 50);

    skv5cfg_leave(cfg, 0);
    skv5cfg_leave(cfg, 2);
    sleep_ms(3000);
    skv5cfg_join(cfg, 0);
    skv5cfg_join(cfg, 2);
    skv5cfg_leave(cfg, 1);
    sleep_ms(3000);
    skv5cfg_join(cfg, 1);
    skv5cfg_leave(cfg, 0);
    skv5cfg_leave(cfg, 2);
    sleep_ms(3000);

    skv5cfg_shutdown_group(cfg, 1);
    skv5cfg_shutdown_group(cfg, 2);
    sleep_ms(1000);
    skv5cfg_start_group(cfg, 1);
    skv5cfg_start_group(cfg, 2);

    sleep_ms(2000);

    appenders_stop(&a);
    check_all(ck, k);
    finish(cfg, k);
}

/* ---- TestConcurrent3_5B ------------------------------------------------------------------ */

static void test_concurrent3(void)
{
    struct skv5client *ck;
    struct skv5cfg *cfg =
        begin("Test (5B): concurrent configuration change and restart...", false, 300, &ck);
    skv5cfg_join(cfg, 0);

    struct kvs *k = kvs_new(10);
    put_all(ck, k, 1);

    static struct appenders a;
    appenders_start(&a, cfg, k, 1, 0);

    uint64_t t0 = clock_now_ms();
    while (clock_now_ms() - t0 < 12000) {
        skv5cfg_join(cfg, 2);
        skv5cfg_join(cfg, 1);
        sleep_ms((uint64_t)(tester_rand_int() % 900));
        skv5cfg_shutdown_group(cfg, 0);
        skv5cfg_shutdown_group(cfg, 1);
        skv5cfg_shutdown_group(cfg, 2);
        skv5cfg_start_group(cfg, 0);
        skv5cfg_start_group(cfg, 1);
        skv5cfg_start_group(cfg, 2);

        sleep_ms((uint64_t)(tester_rand_int() % 900));
        skv5cfg_leave(cfg, 1);
        skv5cfg_leave(cfg, 2);
        sleep_ms((uint64_t)(tester_rand_int() % 900));
    }

    sleep_ms(2000);

    appenders_stop(&a);
    check_all(ck, k);
    finish(cfg, k);
}

/* ---- TestUnreliable1_5B ------------------------------------------------------------------ */

static void test_unreliable1(void)
{
    struct skv5client *ck;
    struct skv5cfg *cfg = begin("Test (5B): unreliable 1...", true, 100, &ck);
    skv5cfg_join(cfg, 0);

    enum { N = 10 };
    struct kvs *k = kvs_new(N);
    put_all(ck, k, 5);

    skv5cfg_join(cfg, 1);
    skv5cfg_join(cfg, 2);
    skv5cfg_leave(cfg, 0);

    for (int ii = 0; ii < N * 2; ii++) {
        int i = ii % N;
        check(ck, k->ka[i], va(k, i));
        char *x = randstring(5);
        append(ck, k->ka[i], x);
        va_add(k, i, x);
        free(x);
    }

    skv5cfg_join(cfg, 0);
    skv5cfg_leave(cfg, 1);

    for (int ii = 0; ii < N * 2; ii++) {
        int i = ii % N;
        check(ck, k->ka[i], va(k, i));
    }
    finish(cfg, k);
}

/* ---- TestUnreliable2_5B ------------------------------------------------------------------ */

/* The join/leave schedule shared by Unreliable2 and Unreliable3. */
static void unreliable_schedule(struct skv5cfg *cfg)
{
    sleep_ms(150);
    skv5cfg_join(cfg, 1);
    sleep_ms(500);
    skv5cfg_join(cfg, 2);
    sleep_ms(500);
    skv5cfg_leave(cfg, 0);
    sleep_ms(500);
    skv5cfg_leave(cfg, 1);
    sleep_ms(500);
    skv5cfg_join(cfg, 1);
    skv5cfg_join(cfg, 0);
    sleep_ms(2000);
}

static void test_unreliable2(void)
{
    struct skv5client *ck;
    struct skv5cfg *cfg = begin("Test (5B): unreliable 2...", true, 100, &ck);
    skv5cfg_join(cfg, 0);

    struct kvs *k = kvs_new(10);
    put_all(ck, k, 5);

    static struct appenders a;
    appenders_start(&a, cfg, k, 5, 0);
    unreliable_schedule(cfg);

    atomic_store(&a.done, 1);
    skv5cfg_reliable(cfg, true);
    appenders_stop(&a);

    check_all(ck, k);
    finish(cfg, k);
}

/* ---- TestUnreliable3_5B ------------------------------------------------------------------ */

struct rand_ops {
    struct kvs *k;
    struct porcupine_history *log;
    atomic_int done;
    struct skv5client *cks[16];
    pthread_t th[16];
};

struct rand_arg {
    struct rand_ops *r;
    int i;
};

static void *random_client(void *arg)
{
    struct rand_arg *ra = arg;
    struct rand_ops *r = ra->r;
    int n = r->k->n;
    while (atomic_load(&r->done) == 0) {
        int ki = (int)(tester_rand_int() % n);
        char *nv = randstring(5);
        const char *key = r->k->ka[ki];
        int64_t start = porcupine_now_ns();
        if (tester_rand_int() % 1000 < 500) {
            append(r->cks[ra->i], key, nv);
            porcupine_kv_record(r->log, ra->i, PORCUPINE_KV_APPEND, key, nv,
                                NULL, start, porcupine_now_ns());
        } else if (tester_rand_int() % 1000 < 100) {
            put(r->cks[ra->i], key, nv);
            porcupine_kv_record(r->log, ra->i, PORCUPINE_KV_PUT, key, nv,
                                NULL, start, porcupine_now_ns());
        } else {
            char *v = get(r->cks[ra->i], key);
            porcupine_kv_record(r->log, ra->i, PORCUPINE_KV_GET, key, "", v,
                                start, porcupine_now_ns());
            free(v);
        }
        free(nv);
    }
    return NULL;
}

static void test_unreliable3(void)
{
    struct skv5client *ck;
    struct skv5cfg *cfg = begin("Test (5B): unreliable 3...", true, 100, &ck);
    static struct rand_ops r;
    r.log = porcupine_kv_history_new();
    skv5cfg_join(cfg, 0);

    enum { N = 10 };
    r.k = kvs_new(N);
    for (int i = 0; i < N; i++) {
        char *x = randstring(5);
        int64_t start = porcupine_now_ns();
        put(ck, r.k->ka[i], x);
        porcupine_kv_record(r.log, 0, PORCUPINE_KV_PUT, r.k->ka[i], x, NULL,
                            start, porcupine_now_ns());
        free(x);
    }

    atomic_init(&r.done, 0);
    static struct rand_arg args[N];
    for (int i = 0; i < N; i++) {
        r.cks[i] = skv5cfg_make_client(cfg);
        args[i] = (struct rand_arg){&r, i};
        tester_spawn(&r.th[i], random_client, &args[i]);
    }
    unreliable_schedule(cfg);

    atomic_store(&r.done, 1);
    skv5cfg_reliable(cfg, true);
    for (int i = 0; i < N; i++)
        pthread_join(r.th[i], NULL);

    size_t nops = 0;
    const struct porcupine_op *ops = porcupine_history_ops(r.log, &nops);
    if (porcupine_check_report(&porcupine_kv_model, ops, nops,
                               LINEARIZABILITY_CHECK_TIMEOUT_MS) ==
        PORCUPINE_ILLEGAL)
        fatalf("history is not linearizable: some Get or Append returned "
               "a value no order of the operations explains (a write lost "
               "or doubled in a shard move, a stale read from a former "
               "owner); the HTML view written above shows where");
    skv5cfg_end(cfg);
    porcupine_history_free(r.log);
    kvs_free(r.k);
    skv5cfg_cleanup(cfg);
}

/* ---- TestChallenge1Delete ------------------------------------------------------------------ */

/* optional test to see whether servers are deleting shards for which they
 * are no longer responsible. */
static void test_challenge1_delete(void)
{
    /* "1" means force snapshot after every log entry. */
    struct skv5client *ck;
    struct skv5cfg *cfg =
        begin("Test: shard deletion (challenge 1) ...", false, 1, &ck);
    skv5cfg_join(cfg, 0);

    /* 30,000 bytes of total values. */
    enum { N = 30 };
    struct kvs *k = kvs_new(N);
    put_all(ck, k, 1000);
    for (int i = 0; i < 3; i++)
        check(ck, k->ka[i], va(k, i));

    for (int iters = 0; iters < 2; iters++) {
        skv5cfg_join(cfg, 1);
        skv5cfg_leave(cfg, 0);
        skv5cfg_join(cfg, 2);
        sleep_ms(3000);
        for (int i = 0; i < 3; i++)
            check(ck, k->ka[i], va(k, i));
        skv5cfg_leave(cfg, 1);
        skv5cfg_join(cfg, 0);
        skv5cfg_leave(cfg, 2);
        sleep_ms(3000);
        for (int i = 0; i < 3; i++)
            check(ck, k->ka[i], va(k, i));
    }

    skv5cfg_join(cfg, 1);
    skv5cfg_join(cfg, 2);
    for (int r = 0; r < 3; r++) {
        sleep_ms(1000);
        for (int i = 0; i < 3; i++)
            check(ck, k->ka[i], va(k, i));
    }

    size_t total = 0;
    for (int gi = 0; gi < SKV5_NGROUPS; gi++)
        for (int i = 0; i < skv5cfg_n(cfg); i++) {
            size_t raft, snap;
            skv5cfg_sizes(cfg, gi, i, &raft, &snap);
            total += raft + snap;
        }

    /* 27 keys should be stored once. 3 keys should also be stored in
     * client dup tables. everything on 3 replicas. plus slop. */
    size_t expected = 3 * (((N - 3) * 1000) + 2 * 3 * 1000 + 6000);
    log_info("TEST", -1, "persisted state %zu bytes (limit %zu)", total,
             expected);
    if (total > expected)
        fatalf("snapshot + persisted Raft state are too big: %zu bytes, "
               "limit %zu - keep each key once (delete shards a group gave "
               "away, challenge 1) and only small duplicate tables",
               total, expected);

    check_all(ck, k);
    finish(cfg, k);
}

/* ---- TestChallenge2Unaffected ------------------------------------------------------------ */

/* optional test to see whether servers can handle shards that are not
 * affected by a config change while the config change is underway */
static void test_challenge2_unaffected(void)
{
    struct skv5client *ck;
    struct skv5cfg *cfg =
        begin("Test: unaffected shard access (challenge 2) ...", true, 100, &ck);

    /* JOIN 100 */
    skv5cfg_join(cfg, 0);

    /* Do a bunch of puts to keys in all shards */
    enum { N = 10 };
    struct kvs *k = kvs_new(N);
    for (int i = 0; i < N; i++) {
        va_set(k, i, "100");
        put(ck, k->ka[i], va(k, i));
    }

    /* JOIN 101 */
    skv5cfg_join(cfg, 1);

    /* QUERY to find shards now owned by 101 */
    struct sc_config c;
    skv5cfg_query(cfg, -1, &c);
    bool owned[SC_NSHARDS];
    for (int s = 0; s < SC_NSHARDS; s++)
        owned[s] = c.shards[s] == skv5cfg_gid(cfg, 1);
    sc_config_free(&c);

    /* Wait for migration to new config to complete, and for clients to
     * start using this updated config. Gets to any key k such that
     * owned[shard(k)] == true should now be served by group 101. */
    sleep_ms(1000);
    /* (As in the original, this indexes owned[] by key number, not by the
     * key's shard; it stays self-consistent because va[] records what
     * was written.) */
    for (int i = 0; i < N; i++) {
        if (owned[i]) {
            va_set(k, i, "101");
            put(ck, k->ka[i], va(k, i));
        }
    }

    /* KILL 100 */
    skv5cfg_shutdown_group(cfg, 0);

    /* LEAVE 100: 101 doesn't get a chance to migrate things previously
     * owned by 100 */
    skv5cfg_leave(cfg, 0);

    /* Wait to make sure clients see new config */
    sleep_ms(1000);

    /* And finally: check that gets/puts for 101-owned keys still
     * complete */
    for (int i = 0; i < N; i++) {
        int shard = sc_key2shard(k->ka[i], strlen(k->ka[i]));
        if (owned[shard]) {
            check(ck, k->ka[i], va(k, i));
            char nv[64];
            snprintf(nv, sizeof nv, "%s-1", va(k, i));
            put(ck, k->ka[i], nv);
            check(ck, k->ka[i], nv);
        }
    }
    finish(cfg, k);
}

/* ---- TestChallenge2Partial ----------------------------------------------------------------- */

/* optional test to see whether servers can handle operations on shards
 * that have been received as a part of a config migration when the entire
 * migration has not yet completed. */
static void test_challenge2_partial(void)
{
    struct skv5client *ck;
    struct skv5cfg *cfg =
        begin("Test: partial migration shard access (challenge 2) ...", true, 100, &ck);

    /* JOIN 100 + 101 + 102 */
    int all[] = {0, 1, 2};
    skv5cfg_joinm(cfg, all, 3);

    /* Give the implementation some time to reconfigure */
    sleep_ms(1000);

    /* Do a bunch of puts to keys in all shards */
    enum { N = 10 };
    struct kvs *k = kvs_new(N);
    for (int i = 0; i < N; i++) {
        va_set(k, i, "100");
        put(ck, k->ka[i], va(k, i));
    }

    /* QUERY to find shards owned by 102 */
    struct sc_config c;
    skv5cfg_query(cfg, -1, &c);
    bool owned[SC_NSHARDS];
    for (int s = 0; s < SC_NSHARDS; s++)
        owned[s] = c.shards[s] == skv5cfg_gid(cfg, 2);
    sc_config_free(&c);

    /* KILL 100 */
    skv5cfg_shutdown_group(cfg, 0);

    /* LEAVE 100 + 102: 101 can get old shards from 102, but not from 100.
     * 101 should start serving shards that used to belong to 102 as soon
     * as possible */
    int l[] = {0, 2};
    skv5cfg_leavem(cfg, l, 2);

    /* Give the implementation some time to start reconfiguration And to
     * migrate 102 -> 101 */
    sleep_ms(1000);

    /* And finally: check that gets/puts for 101-owned keys now complete */
    for (int i = 0; i < N; i++) {
        int shard = sc_key2shard(k->ka[i], strlen(k->ka[i]));
        if (owned[shard]) {
            check(ck, k->ka[i], va(k, i));
            char nv[64];
            snprintf(nv, sizeof nv, "%s-2", va(k, i));
            put(ck, k->ka[i], nv);
            check(ck, k->ka[i], nv);
        }
    }
    finish(cfg, k);
}

static const struct tester_test tests[] = {
    {"TestStaticShards5A", "5A", test_static_shards},
    {"TestRejection5A", "5A", test_rejection},
    {"TestJoinLeave5B", "5B", test_join_leave},
    {"TestSnapshot5B", "5B", test_snapshot},
    {"TestMissChange5B", "5B", test_miss_change},
    {"TestConcurrent1_5B", "5B", test_concurrent1},
    {"TestConcurrent2_5B", "5B", test_concurrent2},
    {"TestConcurrent3_5B", "5B", test_concurrent3},
    {"TestUnreliable1_5B", "5B", test_unreliable1},
    {"TestUnreliable2_5B", "5B", test_unreliable2},
    {"TestUnreliable3_5B", "5B", test_unreliable3},
    {"TestChallenge1Delete", "5B", test_challenge1_delete},
    {"TestChallenge2Unaffected", "5B", test_challenge2_unaffected},
    {"TestChallenge2Partial", "5B", test_challenge2_partial},
};

int main(int argc, char **argv)
{
    return tester_main(argc, argv, "lab5kv", tests,
                       sizeof(tests) / sizeof(tests[0]));
}
