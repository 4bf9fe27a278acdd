/* queue.c - blocking pointer FIFO on a ring buffer (mutex + two condvars). */
#include "common/queue.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"

struct queue {
    pthread_mutex_t mu;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    void **items; /* ring of cap slots */
    size_t cap;
    size_t head; /* index of the oldest item */
    size_t len;
    size_t limit; /* 0 = unbounded */
    bool closed;
    void (*observe)(void *ctx, void *item); /* queue_set_pop_observer */
    void *observe_ctx;
};

struct queue *queue_new(size_t capacity)
{
    struct queue *q = xcalloc(1, sizeof(*q));
    pthread_mutex_init(&q->mu, NULL);
    clock_cond_init(&q->not_empty);
    clock_cond_init(&q->not_full);
    q->limit = capacity;
    q->cap = capacity ? capacity : 16;
    q->items = xcalloc(q->cap, sizeof(void *));
    return q;
}

void queue_free(struct queue *q, void (*destroy)(void *item))
{
    if (!q)
        return;
    if (destroy)
        for (size_t i = 0; i < q->len; i++)
            destroy(q->items[(q->head + i) % q->cap]);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    free(q->items);
    free(q);
}

static void queue_grow_locked(struct queue *q)
{
    size_t ncap = q->cap * 2;
    void **n = xcalloc(ncap, sizeof(void *));
    for (size_t i = 0; i < q->len; i++)
        n[i] = q->items[(q->head + i) % q->cap];
    free(q->items);
    q->items = n;
    q->cap = ncap;
    q->head = 0;
}

int queue_push(struct queue *q, void *item)
{
    pthread_mutex_lock(&q->mu);
    while (!q->closed && q->limit && q->len >= q->limit)
        pthread_cond_wait(&q->not_full, &q->mu);
    if (q->closed) {
        pthread_mutex_unlock(&q->mu);
        return ERR_CLOSED;
    }
    if (q->len == q->cap)
        queue_grow_locked(q);
    q->items[(q->head + q->len) % q->cap] = item;
    q->len++;
    pthread_mutex_unlock(&q->mu);
    /* Signalled after unlocking: a consumer woken while we still held the
     * lock would only block on it again (measured: a large share of the
     * context switches of Raft's apply path). The queue outlives every
     * push/pop by contract, so touching the condvar unlocked is safe. */
    pthread_cond_signal(&q->not_empty);
    return 0;
}

size_t queue_push_many(struct queue *q, void *const *items, size_t n)
{
    size_t done = 0, unsignalled = 0;
    pthread_mutex_lock(&q->mu);
    while (done < n && !q->closed) {
        if (q->limit && q->len >= q->limit) {
            /* Full: the consumers must hear of what we pushed before we
             * wait for them to make room. */
            if (unsignalled) {
                pthread_cond_broadcast(&q->not_empty);
                unsignalled = 0;
            }
            pthread_cond_wait(&q->not_full, &q->mu);
            continue;
        }
        if (q->len == q->cap)
            queue_grow_locked(q);
        q->items[(q->head + q->len) % q->cap] = items[done++];
        q->len++;
        unsignalled++;
    }
    pthread_mutex_unlock(&q->mu);
    /* After unlocking, as in queue_push; one signal per batch when a
     * single item came (the common case), else every consumer. */
    if (unsignalled == 1)
        pthread_cond_signal(&q->not_empty);
    else if (unsignalled > 1)
        pthread_cond_broadcast(&q->not_empty);
    return done;
}

/* Pops the oldest item; caller holds the lock and has checked len > 0, and
 * signals not_full after unlocking (see queue_push). */
static void *queue_take_locked(struct queue *q)
{
    void *item = q->items[q->head];
    q->items[q->head] = NULL;
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return item;
}

static int queue_pop_until(struct queue *q, void **item, uint64_t deadline_ns,
                           bool wait_forever)
{
    int rc = 0;
    pthread_mutex_lock(&q->mu);
    while (q->len == 0 && !q->closed) {
        if (wait_forever) {
            pthread_cond_wait(&q->not_empty, &q->mu);
        } else if (clock_now_ns() >= deadline_ns ||
                   clock_cond_wait_until(&q->not_empty, &q->mu,
                                         deadline_ns) == ERR_TIMEOUT) {
            if (q->len == 0 && !q->closed) {
                rc = ERR_TIMEOUT;
                break;
            }
        }
    }
    bool took = false;
    void (*observe)(void *, void *) = q->observe;
    void *observe_ctx = q->observe_ctx;
    if (rc == 0) {
        if (q->len > 0) {
            *item = queue_take_locked(q);
            took = true;
        } else {
            rc = ERR_CLOSED;
        }
    }
    pthread_mutex_unlock(&q->mu);
    if (took) {
        pthread_cond_signal(&q->not_full);
        if (observe)
            observe(observe_ctx, *item);
    }
    return rc;
}

void queue_set_pop_observer(struct queue *q, void (*fn)(void *ctx, void *item),
                            void *ctx)
{
    pthread_mutex_lock(&q->mu);
    q->observe = fn;
    q->observe_ctx = ctx;
    pthread_mutex_unlock(&q->mu);
}

int queue_pop(struct queue *q, void **item)
{
    return queue_pop_until(q, item, 0, true);
}

int queue_pop_timeout(struct queue *q, void **item, uint64_t timeout_ms)
{
    return queue_pop_until(q, item, clock_now_ns() + timeout_ms * 1000000ull,
                           false);
}

int queue_try_pop(struct queue *q, void **item)
{
    return queue_pop_until(q, item, 0, false);
}

void queue_close(struct queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->mu);
}

size_t queue_capacity(const struct queue *q)
{
    return q->limit; /* fixed at creation: no lock needed */
}

size_t queue_len(struct queue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->len;
    pthread_mutex_unlock(&q->mu);
    return n;
}
