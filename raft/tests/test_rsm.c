/* test_rsm.c - the replicated state machine layer (raft/rsm.h) over real
 * loopback RPC: submit-and-wait on the leader, replies, duplicate
 * detection (cached replies, stale requests, rejected commands not
 * recorded), ERR_WRONG_LEADER on followers, snapshots and restarts (the
 * dedup table survives them), dedup export/merge, and kill waking a
 * blocked submitter. The service is a counter whose commands are text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/persister.h"
#include "raft/rsm.h"
#include "rpc/rpc.h"

#define N 3

/* ---- the counter service ------------------------------------------------
 * "add <n>" adds n and replies with the new total (decimal text);
 * "reject" has no effect and is rejected (not recorded for dedup);
 * "merge" followed by an exported dedup table merges it (like a shard
 * install). The state is the total and how many adds were applied. */
struct counter {
    pthread_mutex_t mu;
    int64_t total;
    int64_t adds;
    struct rsm *rsm; /* set after rsm_start; apply only runs after that */
};

static bool counter_apply(void *svc, const void *cmd, size_t len,
                          int64_t index, struct buf *reply)
{
    (void)index;
    struct counter *c = svc;
    if (len >= 6 && memcmp(cmd, "merge ", 6) == 0) {
        int rc = rsm_dedup_merge(c->rsm, (const char *)cmd + 6, len - 6);
        buf_printf(reply, "%s", rc == 0 ? "merged" : "bad");
        return true;
    }
    if (len == 6 && memcmp(cmd, "reject", 6) == 0) {
        buf_printf(reply, "rejected");
        return false;
    }
    char tmp[64];
    if (len >= sizeof(tmp))
        return false;
    memcpy(tmp, cmd, len);
    tmp[len] = '\0';
    long long n;
    if (sscanf(tmp, "add %lld", &n) != 1)
        return false;
    pthread_mutex_lock(&c->mu);
    c->total += n;
    c->adds++;
    int64_t t = c->total;
    pthread_mutex_unlock(&c->mu);
    buf_printf(reply, "%" PRId64, t);
    return true;
}

static void counter_snapshot(void *svc, struct buf *out)
{
    struct counter *c = svc;
    pthread_mutex_lock(&c->mu);
    buf_printf(out, "%" PRId64 " %" PRId64, c->total, c->adds);
    pthread_mutex_unlock(&c->mu);
}

static int counter_restore(void *svc, const void *data, size_t len)
{
    struct counter *c = svc;
    char tmp[64];
    long long t, a;
    if (len >= sizeof(tmp))
        return ERR_CORRUPT;
    memcpy(tmp, data, len);
    tmp[len] = '\0';
    if (sscanf(tmp, "%lld %lld", &t, &a) != 2)
        return ERR_CORRUPT;
    pthread_mutex_lock(&c->mu);
    c->total = t;
    c->adds = a;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static const struct rsm_ops counter_ops = {counter_apply, counter_snapshot,
                                           counter_restore};

/* ---- cluster ----------------------------------------------------------- */

struct node {
    struct counter svc;
    struct rsm *rsm;
    struct rpc_server *srv;
    struct rpc_end *ends[N];
    struct persister *pers;
    bool running;
};

struct cluster {
    struct node nodes[N];
    int64_t maxraftstate;
};

static void node_start(struct cluster *cl, int i)
{
    struct node *nd = &cl->nodes[i];
    nd->srv = rpc_server_new();
    assert_int_equal(rpc_server_listen(nd->srv, "127.0.0.1:0"), 0);
    for (int j = 0; j < N; j++) {
        if (j == i)
            continue;
        int err;
        const char *addr = cl->nodes[j].srv ? rpc_server_addr(cl->nodes[j].srv)
                                            : NULL;
        nd->ends[j] = rpc_end_new(addr, &err);
        assert_non_null(nd->ends[j]);
        rpc_end_set_timeout(nd->ends[j], 1000);
        if (cl->nodes[j].ends[i])
            assert_int_equal(rpc_end_set_addr(cl->nodes[j].ends[i],
                                              rpc_server_addr(nd->srv)),
                             0);
    }
    if (!nd->pers)
        nd->pers = persister_new_mem();
    pthread_mutex_init(&nd->svc.mu, NULL);
    nd->svc.total = 0;
    nd->svc.adds = 0;
    nd->svc.rsm = NULL;
    /* rsm_start may restore from the persister: svc must be ready. */
    nd->rsm = rsm_start(nd->ends, N, i, nd->pers, cl->maxraftstate,
                        &counter_ops, &nd->svc);
    nd->svc.rsm = nd->rsm;
    assert_int_equal(rsm_register(nd->rsm, nd->srv), 0);
    nd->running = true;
}

static void node_crash(struct cluster *cl, int i)
{
    struct node *nd = &cl->nodes[i];
    if (!nd->running)
        return;
    rsm_kill(nd->rsm);
    rpc_server_close(nd->srv);
    nd->srv = NULL;
    rsm_free(nd->rsm);
    nd->rsm = NULL;
    pthread_mutex_destroy(&nd->svc.mu);
    for (int j = 0; j < N; j++) {
        if (nd->ends[j])
            rpc_end_free(nd->ends[j]);
        nd->ends[j] = NULL;
    }
    struct persister *copy = persister_copy(nd->pers);
    persister_free(nd->pers);
    nd->pers = copy;
    nd->running = false;
}

static struct cluster *cluster_new(int64_t maxraftstate)
{
    struct cluster *cl = calloc(1, sizeof(*cl));
    cl->maxraftstate = maxraftstate;
    for (int i = 0; i < N; i++)
        node_start(cl, i);
    return cl;
}

static void cluster_free(struct cluster *cl)
{
    for (int i = 0; i < N; i++)
        node_crash(cl, i);
    for (int i = 0; i < N; i++)
        persister_free(cl->nodes[i].pers);
    free(cl);
}

static int wait_leader(struct cluster *cl)
{
    for (int tries = 0; tries < 200; tries++) {
        for (int i = 0; i < N; i++)
            if (cl->nodes[i].running && rsm_is_leader(cl->nodes[i].rsm))
                return i;
        clock_sleep_ms(50);
    }
    fail_msg("no leader");
    return -1;
}

/* Submit until some server answers OK; reply text into out (owned). */
static char *submit(struct cluster *cl, uint64_t client, uint64_t seq,
                    const char *cmd)
{
    struct buf reply = BUF_INIT;
    for (int tries = 0; tries < 400; tries++) {
        for (int i = 0; i < N; i++) {
            if (!cl->nodes[i].running)
                continue;
            if (rsm_submit(cl->nodes[i].rsm, client, seq, cmd, strlen(cmd),
                           &reply) == ERR_OK) {
                char *s = buf_strndup(reply.data, reply.len);
                buf_free(&reply);
                return s;
            }
        }
        clock_sleep_ms(25);
    }
    fail_msg("submit(%s) never applied", cmd);
    return NULL;
}

static void expect_reply(struct cluster *cl, uint64_t client, uint64_t seq,
                         const char *cmd, const char *want)
{
    char *got = submit(cl, client, seq, cmd);
    assert_string_equal(got, want);
    free(got);
}

/* Wait until every running replica has applied `adds` adds totalling
 * `total`. */
static void wait_converged(struct cluster *cl, int64_t total, int64_t adds)
{
    for (int tries = 0; tries < 400; tries++) {
        bool ok = true;
        for (int i = 0; i < N; i++) {
            struct node *nd = &cl->nodes[i];
            if (!nd->running)
                continue;
            pthread_mutex_lock(&nd->svc.mu);
            ok = ok && nd->svc.total == total && nd->svc.adds == adds;
            pthread_mutex_unlock(&nd->svc.mu);
        }
        if (ok)
            return;
        clock_sleep_ms(25);
    }
    fail_msg("replicas did not converge on total %" PRId64, total);
}

/* ---- tests ----------------------------------------------------------------- */

/* Anonymous commands apply once each, in order, with their replies; a
 * follower refuses at once. */
static void test_basic(void **state)
{
    (void)state;
    struct cluster *cl = cluster_new(-1);
    expect_reply(cl, 0, 0, "add 5", "5");
    expect_reply(cl, 0, 0, "add 7", "12");
    int leader = wait_leader(cl);
    int follower = (leader + 1) % N;
    struct buf reply = BUF_INIT;
    uint64_t t0 = clock_now_ms();
    assert_int_equal(rsm_submit(cl->nodes[follower].rsm, 0, 0, "add 1", 5,
                                &reply),
                     ERR_WRONG_LEADER);
    assert_true(clock_now_ms() - t0 < 500);
    assert_int_equal(reply.len, 0);
    buf_free(&reply);
    wait_converged(cl, 12, 2);
    cluster_free(cl);
}

/* A client request takes effect once however often it is retried; a retry
 * gets the cached reply (even from a follower); an older request gets an
 * empty OK; a rejected request is not recorded, so its retry applies. */
static void test_dedup(void **state)
{
    (void)state;
    struct cluster *cl = cluster_new(-1);
    expect_reply(cl, 42, 1, "add 10", "10");
    expect_reply(cl, 42, 1, "add 10", "10"); /* retry: cached */
    expect_reply(cl, 42, 2, "add 1", "11");
    /* A follower that has not applied seq 2 yet would still (rightly)
     * answer seq 1 with its cached reply: let every replica catch up. */
    wait_converged(cl, 11, 2);
    expect_reply(cl, 42, 1, "add 10", "");   /* stale: client moved on */
    expect_reply(cl, 43, 1, "add 100", "111");
    wait_converged(cl, 111, 3);

    /* Every replica answers a recorded request from its table. */
    for (int i = 0; i < N; i++) {
        struct buf reply = BUF_INIT;
        assert_int_equal(rsm_submit(cl->nodes[i].rsm, 42, 2, "add 1", 5,
                                    &reply),
                         ERR_OK);
        assert_int_equal(reply.len, 2);
        assert_memory_equal(reply.data, "11", 2);
        buf_free(&reply);
    }

    /* Rejected: not recorded, so the same seq applies again later. */
    expect_reply(cl, 44, 1, "reject", "rejected");
    expect_reply(cl, 44, 1, "add 1", "112");
    wait_converged(cl, 112, 4);
    struct rsm_stats st;
    rsm_stats(cl->nodes[wait_leader(cl)].rsm, &st);
    assert_int_equal(st.clients, 3);
    cluster_free(cl);
}

/* With a small maxraftstate every replica snapshots; after a full restart
 * the state and the dedup table come back from the snapshots. */
static void test_snapshot_restart(void **state)
{
    (void)state;
    struct cluster *cl = cluster_new(300);
    int64_t total = 0;
    for (int k = 1; k <= 60; k++) {
        char cmd[32], want[32];
        snprintf(cmd, sizeof cmd, "add %d", k);
        total += k;
        snprintf(want, sizeof want, "%" PRId64, total);
        expect_reply(cl, 7, (uint64_t)k, cmd, want);
    }
    wait_converged(cl, total, 60);
    for (int i = 0; i < N; i++) {
        struct rsm_stats st;
        rsm_stats(cl->nodes[i].rsm, &st);
        /* Its own snapshot, or - for a follower that fell behind and was
         * sent the leader's (a slow sanitizer build does) - an installed
         * one; either way the log was trimmed, checked next. */
        assert_true(st.snapshots + st.installs > 0);
        assert_true(persister_state_size(cl->nodes[i].pers) < 8 * 300);
        assert_true(persister_snapshot_size(cl->nodes[i].pers) > 0);
    }
    for (int i = 0; i < N; i++)
        node_crash(cl, i);
    for (int i = 0; i < N; i++)
        node_start(cl, i);
    /* Restored before any new entry is applied. */
    for (int i = 0; i < N; i++) {
        pthread_mutex_lock(&cl->nodes[i].svc.mu);
        assert_true(cl->nodes[i].svc.adds > 0);
        pthread_mutex_unlock(&cl->nodes[i].svc.mu);
    }
    /* The last request is still known: a retry does not apply again. */
    char want[32];
    snprintf(want, sizeof want, "%" PRId64, total);
    expect_reply(cl, 7, 60, "add 60", want);
    snprintf(want, sizeof want, "%" PRId64, total + 1);
    expect_reply(cl, 7, 61, "add 1", want);
    wait_converged(cl, total + 1, 61);
    cluster_free(cl);
}

/* A lagging follower catches up through an installed snapshot. */
static void test_install_snapshot(void **state)
{
    (void)state;
    struct cluster *cl = cluster_new(200);
    expect_reply(cl, 0, 0, "add 1", "1");
    int leader = wait_leader(cl);
    int lag = (leader + 1) % N;
    node_crash(cl, lag);
    int64_t total = 1;
    for (int k = 0; k < 40; k++) {
        char want[32];
        total += 2;
        snprintf(want, sizeof want, "%" PRId64, total);
        expect_reply(cl, 9, (uint64_t)k + 1, "add 2", want);
    }
    node_start(cl, lag);
    wait_converged(cl, total, 41);
    struct rsm_stats st;
    rsm_stats(cl->nodes[lag].rsm, &st);
    assert_true(st.installs > 0);
    /* Its table came with the snapshot. */
    struct buf reply = BUF_INIT;
    assert_int_equal(rsm_submit(cl->nodes[lag].rsm, 9, 40, "add 2", 5,
                                &reply),
                     ERR_OK);
    buf_free(&reply);
    cluster_free(cl);
}

/* A dedup table exported from one cluster and merged (through the log)
 * into another makes the second treat those requests as done. */
static void test_export_merge(void **state)
{
    (void)state;
    struct cluster *a = cluster_new(-1);
    expect_reply(a, 5, 3, "add 1", "1");
    expect_reply(a, 6, 8, "add 2", "3");
    struct buf exp = BUF_INIT;
    rsm_dedup_export(a->nodes[wait_leader(a)].rsm, &exp);
    cluster_free(a);

    struct cluster *b = cluster_new(-1);
    expect_reply(b, 5, 4, "add 10", "10"); /* newer than the export */
    /* The table is binary: submit the merge command directly. */
    struct buf cmd = BUF_INIT;
    buf_append(&cmd, "merge ", 6);
    buf_append(&cmd, exp.data, exp.len);
    struct buf reply = BUF_INIT;
    int rc = ERR_WRONG_LEADER;
    for (int tries = 0; tries < 200 && rc != ERR_OK; tries++) {
        for (int i = 0; i < N && rc != ERR_OK; i++)
            rc = rsm_submit(b->nodes[i].rsm, 0, 0, cmd.data, cmd.len,
                            &reply);
        if (rc != ERR_OK)
            clock_sleep_ms(25);
    }
    assert_int_equal(rc, ERR_OK);
    assert_int_equal(reply.len, 6);
    buf_free(&reply);
    /* Client 6's seq 8 is now known, with its cached reply. */
    expect_reply(b, 6, 8, "add 2", "3");
    /* Client 5 kept its newer seq 4. */
    expect_reply(b, 5, 4, "add 10", "10");
    expect_reply(b, 5, 3, "add 1", "");
    wait_converged(b, 10, 1);
    /* A corrupt table is refused without harm. */
    int lb = wait_leader(b);
    assert_int_equal(rsm_dedup_merge(b->nodes[lb].rsm, "\xc1", 1),
                     ERR_CORRUPT);
    buf_free(&cmd);
    buf_free(&exp);
    cluster_free(b);
}

struct blocked {
    struct rsm *rsm;
    int rc;
    uint64_t ms;
};

static void *blocked_submit(void *arg)
{
    struct blocked *b = arg;
    struct buf reply = BUF_INIT;
    uint64_t t0 = clock_now_ms();
    b->rc = rsm_submit(b->rsm, 0, 0, "add 1", 5, &reply);
    b->ms = clock_now_ms() - t0;
    buf_free(&reply);
    return NULL;
}

/* A leader that cannot commit answers ERR_WRONG_LEADER within the bounded
 * wait, and rsm_kill wakes a blocked submitter at once. */
static void test_no_quorum_and_kill(void **state)
{
    (void)state;
    struct cluster *cl = cluster_new(-1);
    expect_reply(cl, 0, 0, "add 1", "1");
    int leader = wait_leader(cl);
    for (int i = 0; i < N; i++)
        if (i != leader)
            node_crash(cl, i);
    struct blocked b = {cl->nodes[leader].rsm, 0, 0};
    blocked_submit(&b);
    assert_int_equal(b.rc, ERR_WRONG_LEADER);
    assert_true(b.ms < RSM_WAIT_MAX_MS + 500);

    pthread_t t;
    pthread_create(&t, NULL, blocked_submit, &b);
    clock_sleep_ms(100);
    uint64_t t0 = clock_now_ms();
    rsm_kill(cl->nodes[leader].rsm);
    pthread_join(t, NULL);
    assert_int_equal(b.rc, ERR_WRONG_LEADER);
    assert_true(clock_now_ms() - t0 < 500);
    /* After kill, submit fails at once. */
    struct buf reply = BUF_INIT;
    assert_int_equal(rsm_submit(cl->nodes[leader].rsm, 1, 1, "add 1", 5,
                                &reply),
                     ERR_WRONG_LEADER);
    buf_free(&reply);
    cluster_free(cl);
}

/* Many concurrent clients, each with its own sequence: every request
 * applies exactly once. */
struct loadarg {
    struct cluster *cl;
    uint64_t client;
};

static void *load_client(void *arg)
{
    struct loadarg *a = arg;
    for (uint64_t s = 1; s <= 30; s++) {
        char *r = submit(a->cl, a->client, s, "add 1");
        free(r);
        /* Retry the same request once: must not apply twice. */
        r = submit(a->cl, a->client, s, "add 1");
        free(r);
    }
    return NULL;
}

static void test_concurrent_clients(void **state)
{
    (void)state;
    struct cluster *cl = cluster_new(1000);
    enum { NC = 5 };
    pthread_t t[NC];
    struct loadarg args[NC];
    for (int i = 0; i < NC; i++) {
        args[i] = (struct loadarg){cl, 100 + (uint64_t)i};
        pthread_create(&t[i], NULL, load_client, &args[i]);
    }
    for (int i = 0; i < NC; i++)
        pthread_join(t[i], NULL);
    wait_converged(cl, NC * 30, NC * 30);
    cluster_free(cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_dedup),
        cmocka_unit_test(test_snapshot_restart),
        cmocka_unit_test(test_install_snapshot),
        cmocka_unit_test(test_export_merge),
        cmocka_unit_test(test_no_quorum_and_kill),
        cmocka_unit_test(test_concurrent_clients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
