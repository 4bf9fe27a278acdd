/* queue.h - blocking FIFO of pointers (the apply channel of labs 3-5).
 *
 * Multi-producer, multi-consumer, thread-safe. capacity 0 means unbounded.
 * Items are opaque: the queue never frees them (queue_free() hands
 * leftovers to an optional destructor). Closing wakes every waiter: pushes
 * fail with ERR_CLOSED at once; pops drain what is left, then fail. */
#ifndef COMMON_QUEUE_H_
#define COMMON_QUEUE_H_

#include <stddef.h>
#include <stdint.h>

struct queue;

/* Returns owned; free with queue_free(). */
struct queue *queue_new(size_t capacity);
/* Free the queue; items still inside are passed to destroy (if not NULL).
 * No thread may be using the queue any more. */
void queue_free(struct queue *q, void (*destroy)(void *item));

/* Blocks while full. Returns 0 or ERR_CLOSED (item not taken). */
int queue_push(struct queue *q, void *item);
/* Push items[0..n) in order, as n queue_push calls would, but under one
 * lock acquisition and with one wake-up of the consumers (blocking while
 * full, after waking them). Returns how many were taken: n, or fewer if
 * the queue was closed (the rest are still the caller's). */
size_t queue_push_many(struct queue *q, void *const *items, size_t n);
/* Blocks while empty. Returns 0 or ERR_CLOSED (closed and drained). */
int queue_pop(struct queue *q, void **item);
/* Like queue_pop with a timeout: 0, ERR_TIMEOUT or ERR_CLOSED. */
int queue_pop_timeout(struct queue *q, void **item, uint64_t timeout_ms);
/* Non-blocking: 0 or ERR_TIMEOUT if empty, ERR_CLOSED if closed+drained. */
int queue_try_pop(struct queue *q, void **item);
void queue_close(struct queue *q);
size_t queue_len(struct queue *q);
/* The capacity given to queue_new (0: unbounded, pushes never block). */
size_t queue_capacity(const struct queue *q);

/* Watch what consumers take (the lab tester records the apply messages a
 * service consumes, labs/timeline/raft_tap.c): after every successful pop,
 * fn(ctx, item) runs on the popping thread, outside the queue's lock, with
 * the item already owned by the popper (fn must neither keep nor free it).
 * Set it before the queue is used, or accept that pops racing with the
 * call may not be observed; NULL fn removes it. ctx is borrowed. */
void queue_set_pop_observer(struct queue *q, void (*fn)(void *ctx, void *item),
                            void *ctx);

#endif /* COMMON_QUEUE_H_ */
