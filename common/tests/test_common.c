/* test_common.c - unit tests for common/: err, clock, rand, buf, queue, log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/queue.h"
#include "common/rand.h"

/* Every code round-trips through its wire name; unknown names map to
 * ERR_REMOTE and unknown codes get a placeholder. */
static void test_err_names(void **state)
{
    (void)state;
    assert_string_equal(err_name(ERR_TIMEOUT), "ETIMEOUT");
    assert_string_equal(err_name(ERR_WRONG_LEADER), "ErrWrongLeader");
    assert_int_equal(err_parse("ENOMETHOD", 9), ERR_NOMETHOD);
    assert_int_equal(err_parse("ErrNoKey", 8), ERR_NO_KEY);
    assert_int_equal(err_parse("ENOMETHODX", 9), ERR_NOMETHOD);
    assert_int_equal(err_parse("nonsense", 8), ERR_REMOTE);
    assert_string_equal(err_name(-9999), "EUNKNOWN");
    assert_string_equal(err_msg(ERR_OK), "success");
    for (int c = 0; c >= ERR_CORRUPT; c--)
        assert_int_equal(err_parse(err_name(c), strlen(err_name(c))), c);
}

/* The monotonic clock advances across a sleep; a timed condvar wait on
 * the monotonic clock times out after roughly the right time. */
static void test_clock(void **state)
{
    (void)state;
    uint64_t t0 = clock_now_ns();
    clock_sleep_ms(20);
    uint64_t dt = clock_now_ns() - t0;
    assert_true(dt >= 20000000ull);
    assert_true(dt < 2000000000ull);

    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv;
    clock_cond_init(&cv);
    pthread_mutex_lock(&mu);
    t0 = clock_now_ms();
    int rc;
    do {
        rc = clock_cond_wait_ms(&cv, &mu, 30);
    } while (rc == 0 && clock_now_ms() - t0 < 30);
    pthread_mutex_unlock(&mu);
    assert_true(clock_now_ms() - t0 >= 29);
    pthread_cond_destroy(&cv);
}

/* Same seed, same stream; different seeds differ; ranges hold; below(n)
 * hits every value of a small range with near-uniform frequency. */
static void test_rand(void **state)
{
    (void)state;
    struct rng a, b, c;
    rng_seed(&a, 42);
    rng_seed(&b, 42);
    rng_seed(&c, 43);
    int same = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = rng_next(&a);
        assert_int_equal(x, rng_next(&b));
        same += x == rng_next(&c);
    }
    assert_true(same < 2);

    int hist[10] = {0};
    for (int i = 0; i < 100000; i++) {
        uint64_t v = rng_below(&a, 10);
        assert_true(v < 10);
        hist[v]++;
    }
    for (int i = 0; i < 10; i++)
        assert_true(hist[i] > 9000 && hist[i] < 11000);
    for (int i = 0; i < 1000; i++) {
        int64_t v = rng_range(&a, -3, 3);
        assert_true(v >= -3 && v <= 3);
        double d = rng_double(&a);
        assert_true(d >= 0.0 && d < 1.0);
    }
    assert_int_equal(rng_below(&a, 0), 0);
    assert_int_not_equal(rng_derive(1, 1), rng_derive(1, 2));
    assert_int_equal(rng_derive(7, 3), rng_derive(7, 3));
}

/* Appends grow the buffer; consume shifts; release hands over storage. */
static void test_buf(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    for (int i = 0; i < 1000; i++)
        buf_append_byte(&b, (uint8_t)(i & 0xff));
    assert_int_equal(b.len, 1000);
    assert_true(b.cap >= 1000);
    buf_consume(&b, 10);
    assert_int_equal(b.len, 990);
    assert_int_equal(b.data[0], 10);
    buf_clear(&b);
    buf_printf(&b, "%s-%d", "abc", 42);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "abc-42", 6);
    buf_append(&b, "xyz", 3);
    size_t n;
    uint8_t *p = buf_release(&b, &n);
    assert_int_equal(n, 9);
    assert_memory_equal(p, "abc-42xyz", 9);
    assert_null(b.data);
    free(p);
    char *s = buf_strndup("hello", 3);
    assert_string_equal(s, "hel");
    free(s);
    buf_consume(&b, 5); /* consuming from empty is harmless */
    buf_free(&b);
}

struct producer_arg {
    struct queue *q;
    int base;
    int n;
};

static void *producer(void *p)
{
    struct producer_arg *a = p;
    for (int i = 0; i < a->n; i++)
        if (queue_push(a->q, (void *)(intptr_t)(a->base + i + 1)) != 0)
            break;
    return NULL;
}

/* Pop nprod * per items, producer i's being i * per + 1 .. (i + 1) * per:
 * each producer's must come in its order. */
static void pop_in_producer_order(struct queue *q, int nprod, int per)
{
    int *last = xcalloc((size_t)nprod, sizeof(int));
    for (int k = 0; k < nprod * per; k++) {
        void *item;
        assert_int_equal(queue_pop(q, &item), 0);
        int v = (int)(intptr_t)item - 1;
        int who = v / per, seq = v % per + 1;
        assert_int_equal(seq, last[who] + 1);
        last[who] = seq;
    }
    free(last);
}

/* A bounded queue keeps per-producer FIFO order under contention, and no
 * item is lost or duplicated. */
static void test_queue_mpsc(void **state)
{
    (void)state;
    struct queue *q = queue_new(4);
    enum { NPROD = 4, PER = 5000 };
    pthread_t th[NPROD];
    struct producer_arg args[NPROD];
    for (int i = 0; i < NPROD; i++) {
        args[i] = (struct producer_arg){q, i * PER, PER};
        pthread_create(&th[i], NULL, producer, &args[i]);
    }
    pop_in_producer_order(q, NPROD, PER);
    for (int i = 0; i < NPROD; i++)
        pthread_join(th[i], NULL);
    void *item;
    assert_int_equal(queue_try_pop(q, &item), ERR_TIMEOUT);
    queue_free(q, NULL);
}

static void *blocked_pop(void *p)
{
    void *item;
    return (void *)(intptr_t)queue_pop((struct queue *)p, &item);
}

/* Close wakes a blocked consumer, pops drain what is left, pushes fail;
 * a timed pop times out; queue_free hands leftovers to the destructor. */
static void test_queue_close_timeout(void **state)
{
    (void)state;
    struct queue *q = queue_new(0);
    void *item;
    uint64_t t0 = clock_now_ms();
    assert_int_equal(queue_pop_timeout(q, &item, 30), ERR_TIMEOUT);
    assert_true(clock_now_ms() - t0 >= 29);

    pthread_t th;
    pthread_create(&th, NULL, blocked_pop, q);
    clock_sleep_ms(20);
    queue_close(q);
    void *ret;
    pthread_join(th, &ret);
    assert_int_equal((int)(intptr_t)ret, ERR_CLOSED);
    assert_int_equal(queue_push(q, (void *)1), ERR_CLOSED);
    queue_free(q, NULL);

    q = queue_new(0);
    for (int i = 0; i < 100; i++) /* unbounded: grows past 16 */
        assert_int_equal(queue_push(q, xmalloc(8)), 0);
    assert_int_equal(queue_len(q), 100);
    queue_close(q);
    assert_int_equal(queue_pop(q, &item), 0); /* drains after close */
    free(item);
    queue_free(q, free); /* remaining 99 freed: ASan would flag a leak */
}

struct batch_arg {
    struct queue *q;
    int base, n, batch;
    size_t taken;
};

static void *batch_producer(void *p)
{
    struct batch_arg *a = p;
    void *items[16];
    for (int i = 0; i < a->n; i += a->batch) {
        int k = a->n - i < a->batch ? a->n - i : a->batch;
        for (int j = 0; j < k; j++)
            items[j] = (void *)(intptr_t)(a->base + i + j + 1);
        size_t got = queue_push_many(a->q, items, (size_t)k);
        a->taken += got;
        if (got < (size_t)k)
            break;
    }
    return NULL;
}

/* queue_push_many on a bounded queue smaller than its batches: it must
 * wake the consumer before waiting for room (else both sleep forever),
 * and keeps each producer's order; on close it reports how many it took.
 * queue_capacity reports what queue_new was given. */
static void test_queue_push_many(void **state)
{
    (void)state;
    struct queue *q = queue_new(2);
    assert_int_equal(queue_capacity(q), 2);
    enum { NPROD = 3, PER = 3000 };
    pthread_t th[NPROD];
    struct batch_arg args[NPROD];
    for (int i = 0; i < NPROD; i++) {
        args[i] = (struct batch_arg){q, i * PER, PER, 5 + i * 5, 0};
        pthread_create(&th[i], NULL, batch_producer, &args[i]);
    }
    pop_in_producer_order(q, NPROD, PER);
    for (int i = 0; i < NPROD; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].taken, PER);
    }
    queue_free(q, NULL);

    /* Unbounded: one call takes everything, in order. */
    q = queue_new(0);
    assert_int_equal(queue_capacity(q), 0);
    void *items[40];
    for (int i = 0; i < 40; i++)
        items[i] = (void *)(intptr_t)(i + 1);
    assert_int_equal(queue_push_many(q, items, 40), 40);
    assert_int_equal(queue_len(q), 40);
    for (int i = 0; i < 40; i++) {
        void *item;
        assert_int_equal(queue_try_pop(q, &item), 0);
        assert_int_equal((intptr_t)item, i + 1);
    }
    assert_int_equal(queue_push_many(q, items, 0), 0);
    queue_close(q);
    assert_int_equal(queue_push_many(q, items, 3), 0);
    queue_free(q, NULL);

    /* Closed while a batch waits for room: the part pushed is reported. */
    q = queue_new(2);
    struct batch_arg a = {q, 0, 6, 6, 0};
    pthread_t t;
    pthread_create(&t, NULL, batch_producer, &a);
    while (queue_len(q) < 2)
        clock_sleep_ms(1);
    clock_sleep_ms(10);
    queue_close(q);
    pthread_join(t, NULL);
    assert_int_equal(a.taken, 2);
    queue_free(q, NULL);
}

/* The pop observer sees every item taken, by each kind of pop, in order,
 * and nothing once removed. */
struct observed {
    int n;
    intptr_t items[8];
};

static void observe_pop(void *ctx, void *item)
{
    struct observed *o = ctx;
    if (o->n < 8)
        o->items[o->n] = (intptr_t)item;
    o->n++;
}

static void test_queue_pop_observer(void **state)
{
    (void)state;
    struct queue *q = queue_new(0);
    struct observed o = {0};
    queue_set_pop_observer(q, observe_pop, &o);
    for (intptr_t i = 1; i <= 4; i++)
        assert_int_equal(queue_push(q, (void *)i), 0);
    void *item;
    assert_int_equal(queue_pop(q, &item), 0);
    assert_int_equal(queue_pop_timeout(q, &item, 10), 0);
    assert_int_equal(queue_try_pop(q, &item), 0);
    assert_int_equal(o.n, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(o.items[i], i + 1);
    assert_int_equal(queue_try_pop(q, &item), 0); /* 4 */
    assert_int_equal(queue_try_pop(q, &item), ERR_TIMEOUT); /* not seen */
    queue_set_pop_observer(q, NULL, NULL);
    assert_int_equal(queue_push(q, (void *)5), 0);
    assert_int_equal(queue_pop(q, &item), 0);
    assert_int_equal(o.n, 4);
    queue_free(q, NULL);
}

/* Logging is off by default and cheap; enabling a level and topic filter
 * behaves as documented. */
static void test_log_levels(void **state)
{
    (void)state;
    if (getenv("LABLOG"))
        skip();
    assert_false(log_enabled(LOG_ERROR, "RPC"));
    log_set_level(LOG_INFO);
    assert_true(log_enabled(LOG_INFO, "RPC"));
    assert_false(log_enabled(LOG_DEBUG, "RPC"));
    log_set_level(LOG_OFF);
    int evaluated = 0;
    LOGF(LOG_ERROR, "TEST", 1, "%d", ++evaluated);
    assert_int_equal(evaluated, 0); /* arguments not evaluated when off */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_names),
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_rand),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_queue_mpsc),
        cmocka_unit_test(test_queue_close_timeout),
        cmocka_unit_test(test_queue_pop_observer),
        cmocka_unit_test(test_queue_push_many),
        cmocka_unit_test(test_log_levels),
    };
    return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
