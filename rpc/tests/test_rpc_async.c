/* test_rpc_async.c - rpc_call_async over real sockets: completion order,
 * bounded threads under a pipelined burst, timeouts, a lost connection
 * and shutdown with many calls pending, the filter rules, completions
 * that issue new calls, unreachable addresses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "rpc/rpc.h"
#include "rpc/rpc_internal.h"
#include "rpc/tests/rpc_testlib.h"

/* ------------------------------------------------------------------------
 * A batch of asynchronous calls and their completions. */

struct batch;
struct rec {
    struct batch *b;
    int idx;
    int rc;
    struct echo_reply rep;
};

struct batch {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    pthread_t caller;
    int ndone;
    int *order;          /* idx of the calls in completion order */
    bool on_caller;      /* a completion ran on the calling thread */
    struct rpc_end *e;   /* for chained calls */
    int chain_left;      /* chained calls still to issue */
    int chain_sync_fail; /* sync calls made inside done that failed */
};

static void batch_init(struct batch *b, int n, struct rpc_end *e)
{
    memset(b, 0, sizeof(*b));
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cond, NULL);
    b->caller = pthread_self();
    b->order = calloc((size_t)n + 1, sizeof(int));
    b->e = e;
}

static void batch_destroy(struct batch *b)
{
    free(b->order);
    pthread_cond_destroy(&b->cond);
    pthread_mutex_destroy(&b->mu);
}

static void rec_done(void *ctx, int rc)
{
    struct rec *r = ctx;
    struct batch *b = r->b;
    r->rc = rc;
    pthread_mutex_lock(&b->mu);
    b->order[b->ndone++] = r->idx;
    if (pthread_equal(pthread_self(), b->caller))
        b->on_caller = true;
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->mu);
}

/* Wait up to ms until n completions ran; returns how many did. */
static int batch_wait(struct batch *b, int n, int ms)
{
    uint64_t deadline = clock_now_ns() + (uint64_t)ms * 1000000ull;
    pthread_mutex_lock(&b->mu);
    while (b->ndone < n && clock_now_ns() < deadline)
        clock_cond_wait_until(&b->cond, &b->mu, deadline);
    int got = b->ndone;
    pthread_mutex_unlock(&b->mu);
    return got;
}

static int issue_echo(struct rpc_end *e, const char *method, struct rec *r)
{
    char s[32];
    snprintf(s, sizeof(s), "v%d", r->idx);
    struct echo_args a = {r->idx, s, strlen(s)}; /* encoded before return */
    memset(&r->rep, 0, sizeof(r->rep));
    r->rc = 12345;
    return rpc_call_async(e, method, enc_echo, &a, dec_echo, &r->rep,
                          rec_done, r);
}

static bool rep_ok(const struct rec *r)
{
    char s[32];
    snprintf(s, sizeof(s), "v%d", r->idx);
    return r->rc == 0 && r->rep.a == r->idx && strcmp(r->rep.s, s) == 0 &&
           strcmp(r->rep.id, "A") == 0;
}

static int issue_block(struct rpc_end *e, struct rec *r)
{
    r->rc = 12345;
    return rpc_call_async(e, "T.Block", NULL, NULL, NULL, NULL, rec_done, r);
}

/* Issue a Block call as r, wait until the batch has n completions;
 * returns how long that took (ms). */
static uint64_t block_until_done(struct rpc_end *e, struct batch *b,
                                 struct rec *r, int n)
{
    uint64_t t0 = now_ms();
    assert_int_equal(issue_block(e, r), 0);
    assert_int_equal(batch_wait(b, n, 5000), n);
    return now_ms() - t0;
}

/* ------------------------------------------------------------------------
 * Tests */

/* Replies of an inline handler come back in request order, and so do the
 * completions; each decodes into its own reply; none runs on the caller;
 * a synchronous call on the same connection meanwhile is served too. */
static void test_async_order(void **state)
{
    struct tfx *f = *state;
    enum { N = 1000 };
    struct rec *r = calloc(N, sizeof(*r));
    struct batch b;
    batch_init(&b, N, f->e);
    for (int i = 0; i < N; i++) {
        r[i].b = &b;
        r[i].idx = i;
        assert_int_equal(issue_echo(f->e, "T.EchoI", &r[i]), 0);
        if (i == N / 2)
            assert_int_equal(call_echo(f->e, "T.Echo", 7, "A"), 0);
    }
    assert_int_equal(batch_wait(&b, N, 10000), N);
    for (int i = 0; i < N; i++) {
        assert_true(rep_ok(&r[i]));
        assert_int_equal(b.order[i], i);
    }
    assert_false(b.on_caller);
    struct rpc_end_stats st;
    rpc_end_get_stats(f->e, &st);
    assert_int_equal(st.calls, N + 1);
    assert_int_equal(st.ok, N + 1);
    assert_int_equal(rpc_server_dispatched(f->s), N + 1);
    batch_destroy(&b);
    free(r);
}

/* 3,000 pipelined calls on one connection add one thread, not 3,000, and
 * the completion thread exits once the calls are done. */
static void test_async_threads_bounded(void **state)
{
    struct tfx *f = *state;
    enum { N = 3000 };
    assert_int_equal(call_echo(f->e, "T.EchoI", 1, "A"), 0); /* connect */
    int before = test_process_threads();
    assert_true(before > 0);
    struct rec *r = calloc(N, sizeof(*r));
    struct batch b;
    batch_init(&b, N, f->e);
    int most = before;
    for (int i = 0; i < N; i++) {
        r[i].b = &b;
        r[i].idx = i;
        assert_int_equal(issue_echo(f->e, "T.EchoI", &r[i]), 0);
        if (i % 100 == 0) {
            int t = test_process_threads();
            most = t > most ? t : most;
        }
    }
    assert_int_equal(batch_wait(&b, N, 20000), N);
    for (int i = 0; i < N; i++)
        assert_true(rep_ok(&r[i]));
    printf("threads: %d before, at most %d during %d pipelined calls\n",
           before, most, N);
    assert_true(most <= before + 1);
    uint64_t deadline = now_ms() + 3000;
    while (test_process_threads() > before && now_ms() < deadline)
        clock_sleep_ms(20);
    assert_int_equal(test_process_threads(), before);
    batch_destroy(&b);
    free(r);
}

/* A call whose reply does not come in time completes with ERR_TIMEOUT
 * after the end's timeout; its late reply is dropped and the connection
 * keeps working. */
static void test_async_timeout(void **state)
{
    struct tfx *f = *state;
    rpc_end_set_timeout(f->e, 150);
    struct batch b;
    batch_init(&b, 2, f->e);
    struct rec r[2] = {{.b = &b, .idx = 0}, {.b = &b, .idx = 1}};
    uint64_t took = block_until_done(f->e, &b, &r[0], 1);
    assert_int_equal(r[0].rc, ERR_TIMEOUT);
    assert_true(took >= 140 && took < 1500);
    assert_true(tsvc_wait_blocked(&f->t, 1));
    tsvc_release(&f->t); /* its reply now arrives for nobody */
    rpc_end_set_timeout(f->e, 5000);
    assert_int_equal(issue_echo(f->e, "T.Echo", &r[1]), 0);
    assert_int_equal(batch_wait(&b, 2, 5000), 2);
    assert_true(rep_ok(&r[1]));
    batch_destroy(&b);
}

/* The connection fails with many calls pending: each completes once,
 * with ERR_IO, promptly; the next call reconnects. */
static void test_async_conn_lost(void **state)
{
    struct tfx *f = *state;
    enum { N = 100 };
    rpc_end_set_timeout(f->e, 8000);
    struct rec r[N + 1];
    struct batch b;
    batch_init(&b, N + 1, f->e);
    for (int i = 0; i <= N; i++)
        r[i] = (struct rec){.b = &b, .idx = i};
    for (int i = 0; i < N; i++)
        assert_int_equal(issue_block(f->e, &r[i]), 0);
    assert_true(tsvc_wait_blocked(&f->t, N));
    uint64_t t0 = now_ms();
    pthread_mutex_lock(&f->s->mu);
    for (struct rpc_sconn *c = f->s->conns; c; c = c->next)
        rpc_stream_kill(&c->st);
    pthread_mutex_unlock(&f->s->mu);
    assert_int_equal(batch_wait(&b, N, 5000), N);
    assert_true(now_ms() - t0 < 2000);
    for (int i = 0; i < N; i++)
        assert_int_equal(r[i].rc, ERR_IO);
    tsvc_release(&f->t);
    assert_int_equal(issue_echo(f->e, "T.Echo", &r[N]), 0);
    assert_int_equal(batch_wait(&b, N + 1, 5000), N + 1);
    assert_true(rep_ok(&r[N]));
    clock_sleep_ms(50);
    assert_int_equal(b.ndone, N + 1); /* each completed exactly once */
    batch_destroy(&b);
}

/* rpc_end_shutdown completes every pending call of that end with
 * ERR_CLOSED at once (the end may then be freed), refuses later calls
 * without completing them, and leaves another end's calls on the same
 * connection alone. */
static void test_async_shutdown(void **state)
{
    struct tfx *f = *state;
    enum { N = 50 };
    struct rpc_end *victim = rpc_end_new(rpc_server_addr(f->s), NULL);
    struct rec r[N + 2];
    struct batch b;
    batch_init(&b, N + 2, f->e);
    for (int i = 0; i < N + 2; i++)
        r[i] = (struct rec){.b = &b, .idx = i};
    assert_int_equal(issue_block(f->e, &r[N]), 0); /* the other end */
    for (int i = 0; i < N; i++)
        assert_int_equal(issue_block(victim, &r[i]), 0);
    assert_true(tsvc_wait_blocked(&f->t, N + 1));
    uint64_t t0 = now_ms();
    rpc_end_shutdown(victim);
    assert_int_equal(batch_wait(&b, N, 5000), N);
    assert_true(now_ms() - t0 < 500);
    for (int i = 0; i < N; i++)
        assert_int_equal(r[i].rc, ERR_CLOSED);
    rpc_end_free(victim);
    assert_int_equal(r[N].rc, 12345); /* still pending */
    tsvc_release(&f->t);
    assert_int_equal(batch_wait(&b, N + 1, 5000), N + 1);
    assert_int_equal(r[N].rc, 0);
    rpc_end_shutdown(f->e);
    assert_int_equal(issue_echo(f->e, "T.Echo", &r[N + 1]), ERR_CLOSED);
    clock_sleep_ms(30);
    assert_int_equal(b.ndone, N + 1);
    batch_destroy(&b);
}

struct afilt {
    pthread_mutex_t mu;
    pthread_t caller;
    bool request_off_caller, wait_on_caller, reply_on_caller;
    int drop_request, drop_reply, abandon_after;
    int n_request, n_wait, n_reply;
};

static int af_request(void *ctx, struct rpc_end *e, const char *method,
                      size_t req_bytes)
{
    (void)e, (void)method, (void)req_bytes;
    struct afilt *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->n_request++;
    if (!pthread_equal(pthread_self(), f->caller))
        f->request_off_caller = true;
    int rc = f->drop_request ? ERR_DROPPED : 0;
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static int af_wait(void *ctx, struct rpc_end *e)
{
    (void)e;
    struct afilt *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->n_wait++;
    if (pthread_equal(pthread_self(), f->caller))
        f->wait_on_caller = true;
    int rc = f->abandon_after && f->n_wait >= f->abandon_after ? ERR_DROPPED
                                                               : 0;
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static int af_reply(void *ctx, struct rpc_end *e, size_t reply_bytes)
{
    (void)e, (void)reply_bytes;
    struct afilt *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->n_reply++;
    if (pthread_equal(pthread_self(), f->caller))
        f->reply_on_caller = true;
    int rc = f->drop_reply ? ERR_DROPPED : 0;
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static const struct rpc_filter thread_bound_filter = {
    .on_request = af_request, .on_wait = af_wait, .on_reply = af_reply};
static const struct rpc_filter any_thread_filter = {.on_request = af_request,
                                                    .on_wait = af_wait,
                                                    .on_reply = af_reply,
                                                    .any_thread = true};

/* A filter whose hooks need the calling thread (labnet's) refuses
 * asynchronous calls outright: never bypassed, never run off-thread. With
 * any_thread, on_request runs on the caller and can drop the request;
 * on_wait and on_reply run on the completion thread and can abandon the
 * call or drop the reply. */
static void test_async_filter(void **state)
{
    struct tfx *f = *state;
    struct afilt ft;
    memset(&ft, 0, sizeof(ft));
    pthread_mutex_init(&ft.mu, NULL);
    ft.caller = pthread_self();
    struct batch b;
    batch_init(&b, 8, f->e);
    struct rec r[8];
    for (int i = 0; i < 8; i++)
        r[i] = (struct rec){.b = &b, .idx = i};

    rpc_end_set_filter(f->e, &thread_bound_filter, &ft);
    assert_int_equal(issue_echo(f->e, "T.Echo", &r[0]), ERR_INVAL);
    assert_int_equal(ft.n_request, 0);
    assert_int_equal(rpc_server_dispatched(f->s), 0);
    assert_int_equal(call_echo(f->e, "T.Echo", 1, "A"), 0); /* sync: fine */

    rpc_end_set_filter(f->e, &any_thread_filter, &ft);
    ft.n_request = ft.n_reply = 0;
    ft.wait_on_caller = ft.reply_on_caller = false; /* the sync call's */
    assert_int_equal(issue_echo(f->e, "T.Echo", &r[1]), 0);
    assert_int_equal(batch_wait(&b, 1, 5000), 1);
    assert_true(rep_ok(&r[1]));
    pthread_mutex_lock(&ft.mu);
    assert_int_equal(ft.n_request, 1);
    assert_int_equal(ft.n_reply, 1);
    pthread_mutex_unlock(&ft.mu);

    ft.drop_request = 1;
    assert_int_equal(issue_echo(f->e, "T.Echo", &r[2]), ERR_DROPPED);
    ft.drop_request = 0;
    assert_int_equal(rpc_server_dispatched(f->s), 2);

    pthread_mutex_lock(&ft.mu);
    ft.drop_reply = 1;
    pthread_mutex_unlock(&ft.mu);
    assert_int_equal(issue_echo(f->e, "T.Echo", &r[3]), 0);
    assert_int_equal(batch_wait(&b, 2, 5000), 2);
    assert_int_equal(r[3].rc, ERR_DROPPED);
    assert_int_equal(rpc_server_dispatched(f->s), 3);

    pthread_mutex_lock(&ft.mu);
    ft.drop_reply = 0;
    ft.n_wait = 0;
    ft.abandon_after = 5;
    pthread_mutex_unlock(&ft.mu);
    uint64_t took = block_until_done(f->e, &b, &r[4], 3);
    assert_int_equal(r[4].rc, ERR_DROPPED);
    assert_true(took >= 35 && took < 1000);
    tsvc_release(&f->t);

    assert_int_equal(b.ndone, 3); /* refused calls never complete */
    assert_false(ft.request_off_caller);
    assert_false(ft.wait_on_caller);
    assert_false(ft.reply_on_caller);
    rpc_end_set_filter(f->e, NULL, NULL);
    batch_destroy(&b);
    pthread_mutex_destroy(&ft.mu);
}

static void chain_done(void *ctx, int rc);

static int chain_issue(struct rec *r)
{
    return rpc_call_async(r->b->e, "T.EchoI", NULL, NULL, NULL, NULL,
                          chain_done, r);
}

/* Each completion issues the next call (pipelining from the completion,
 * as a Raft sender does), and every 50th also makes a synchronous call
 * from the completion thread. */
static void chain_done(void *ctx, int rc)
{
    struct rec *r = ctx;
    struct batch *b = r->b;
    r->rc = rc;
    pthread_mutex_lock(&b->mu);
    int left = --b->chain_left;
    pthread_mutex_unlock(&b->mu);
    if (rc == 0 && left > 0) {
        if (left % 50 == 0 && call_echo(b->e, "T.Echo", left, "A") != 0) {
            pthread_mutex_lock(&b->mu);
            b->chain_sync_fail++;
            pthread_mutex_unlock(&b->mu);
        }
        if (chain_issue(r) == 0)
            return;
    }
    rec_done(r, rc);
}

static void test_async_chain(void **state)
{
    struct tfx *f = *state;
    struct batch b;
    batch_init(&b, 1, f->e);
    b.chain_left = 300;
    struct rec r = {.b = &b, .idx = 0};
    assert_int_equal(chain_issue(&r), 0);
    assert_int_equal(batch_wait(&b, 1, 20000), 1);
    assert_int_equal(r.rc, 0);
    assert_int_equal(b.chain_left, 0);
    assert_int_equal(b.chain_sync_fail, 0);
    assert_int_equal(rpc_server_dispatched(f->s), 300 + 5);
    batch_destroy(&b);
}

/* Nothing listens: the call fails at once and never completes. */
static void test_async_unreachable(void **state)
{
    (void)state;
    struct rpc_server *s = rpc_server_new();
    assert_int_equal(rpc_server_listen(s, "127.0.0.1:0"), 0);
    char addr[64];
    snprintf(addr, sizeof(addr), "%s", rpc_server_addr(s));
    rpc_server_close(s);
    struct rpc_end *e = rpc_end_new(addr, NULL);
    rpc_end_set_timeout(e, 2000);
    struct batch b;
    batch_init(&b, 1, e);
    struct rec r = {.b = &b, .idx = 0};
    assert_int_equal(issue_echo(e, "T.Echo", &r), ERR_UNREACHABLE);
    clock_sleep_ms(20);
    assert_int_equal(b.ndone, 0);
    rpc_end_free(e);
    batch_destroy(&b);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
#define T(fn) cmocka_unit_test_setup_teardown(fn, tfx_setup, tfx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_async_order),
        T(test_async_threads_bounded),
        T(test_async_timeout),
        T(test_async_conn_lost),
        T(test_async_shutdown),
        T(test_async_filter),
        T(test_async_chain),
        cmocka_unit_test(test_async_unreachable),
    };
#undef T
    return cmocka_run_group_tests_name("rpc_async", tests, NULL, NULL);
}
