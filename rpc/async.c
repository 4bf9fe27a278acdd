/* async.c - the completion side of rpc_call_async: a thread per connection
 * with asynchronous calls pending reads the replies, enforces the calls'
 * deadlines, shutdown and filter polling, and runs their completions.
 *
 * The thread takes part in the connection's leader/follower reading
 * (client.c) like a waiting caller: while asynchronous calls are pending
 * it takes the reader role whenever nobody holds it (routing every reply,
 * synchronous callers' too), and when none are left it hands the role on
 * and lingers ASYNC_LINGER_NS for new calls before it exits, so a steady
 * trickle of calls does not create a thread each. One thread per
 * connection, whatever the number of calls: a burst of N pipelined calls
 * costs N heap records, not N blocked threads.
 *
 * Ownership: once registered, a struct rpc_acall belongs to this thread,
 * which alone unlinks and frees it; so it stays valid while the thread
 * drops conn->mu (on_wait, read rounds, completions). The thread holds a
 * conn reference of its own; each call holds another until completed. */
#include <stdlib.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "rpc/rpc_internal.h"

#define ASYNC_LINGER_NS (200 * 1000000ull)
#define TICK_NS (RPC_TICK_MS * 1000000ull)

void rpc_async_wake_locked(struct rpc_conn *c)
{
    if (c->areader)
        pthread_cond_signal(&c->acond);
}

static void alive_unlink_locked(struct rpc_conn *c, struct rpc_acall *ac)
{
    if (ac->prev)
        ac->prev->next = ac->next;
    else
        c->alive = ac->next;
    if (ac->next)
        ac->next->prev = ac->prev;
    ac->prev = ac->next = NULL;
}

void rpc_async_finished_locked(struct rpc_conn *c, struct rpc_acall *ac)
{
    alive_unlink_locked(c, ac);
    ac->dnext = NULL;
    if (c->done_tail)
        c->done_tail->dnext = ac;
    else
        c->done_head = ac;
    c->done_tail = ac;
    rpc_async_wake_locked(c);
}

/* The thread gives up on an unfinished call (deadline, shutdown, on_wait):
 * unregister it so that a late reply is dropped, and queue it. */
static void abandon_locked(struct rpc_conn *c, struct rpc_acall *ac, int rc)
{
    rpc_pending_remove_locked(c, &ac->p);
    ac->p.done = true;
    ac->p.rc = rc;
    rpc_async_finished_locked(c, ac);
}

/* Deadlines, shutdown and on_wait of the unfinished calls; *next gets the
 * time of the next bound. Returns true if it dropped c->mu (for on_wait):
 * the caller starts over, as the lists may have changed meanwhile. */
static bool check_bounds_locked(struct rpc_conn *c, uint64_t *next)
{
    uint64_t now = clock_now_ns();
    *next = now + TICK_NS;
    struct rpc_acall *nx;
    for (struct rpc_acall *ac = c->alive; ac; ac = nx) {
        nx = ac->next;
        if (rpc_end_is_closed(ac->p.end)) {
            abandon_locked(c, ac, ERR_CLOSED);
            continue;
        }
        if (now >= ac->deadline_ns) {
            abandon_locked(c, ac, ERR_TIMEOUT);
            continue;
        }
        if (ac->deadline_ns < *next)
            *next = ac->deadline_ns;
        if (!ac->f || !ac->f->on_wait)
            continue;
        if (now >= ac->next_poll_ns) {
            ac->next_poll_ns = now + TICK_NS;
            pthread_mutex_unlock(&c->mu);
            int rc = ac->f->on_wait(ac->fctx, ac->p.end);
            pthread_mutex_lock(&c->mu);
            if (rc < 0 && !ac->p.done)
                abandon_locked(c, ac, rc);
            return true;
        }
        if (ac->next_poll_ns < *next)
            *next = ac->next_poll_ns;
    }
    return false;
}

/* Run the completions of every finished call, in finishing order, with
 * c->mu released. */
static void complete_locked(struct rpc_conn *c)
{
    struct rpc_acall *batch = c->done_head;
    c->done_head = c->done_tail = NULL;
    for (struct rpc_acall *ac = batch; ac; ac = ac->dnext) {
        rpc_call_cleanup_locked(c, ac->p.sock, &ac->p);
        c->acalls--;
    }
    pthread_mutex_unlock(&c->mu);
    struct rpc_acall *nx;
    for (struct rpc_acall *ac = batch; ac; ac = nx) {
        nx = ac->dnext;
        struct rpc_end *e = ac->p.end;
        int rc = ac->p.rc;
        if (rc == 0)
            rc = rpc_deliver(e, &ac->p, ac->f, ac->fctx, ac->dec, ac->reply);
        free(ac->p.reply_heap);
        if (rc == 0)
            rpc_end_count_ok(e);
        ac->done(ac->done_ctx, rc); /* e may be freed from here on */
        rpc_pool_put(c);            /* the call's; ours keeps c alive */
        free(ac);
    }
    pthread_mutex_lock(&c->mu);
}

static void *async_main(void *arg)
{
    struct rpc_conn *c = arg;
    uint64_t idle_since = 0;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        if (c->done_head) {
            complete_locked(c);
            continue;
        }
        uint64_t next;
        if (check_bounds_locked(c, &next))
            continue;
        if (c->acalls == 0) {
            uint64_t now = clock_now_ns();
            if (!idle_since)
                idle_since = now;
            if (now - idle_since >= ASYNC_LINGER_NS)
                break;
            clock_cond_wait_until(&c->acond, &c->mu,
                                  idle_since + ASYNC_LINGER_NS);
            continue;
        }
        idle_since = 0;
        struct rpc_csock *s = c->sock;
        if (s && !s->reading && !s->dead && s->npending > 0) {
            s->reading = true;
            s->refs++; /* the calls on s may all finish meanwhile */
            pthread_mutex_unlock(&c->mu);
            rpc_read_round(c, s, NULL);
            pthread_mutex_lock(&c->mu);
            s->reading = false;
            if (c->acalls == 0)
                rpc_csock_handoff_locked(c, s, NULL);
            rpc_csock_unref_locked(c, s);
            continue;
        }
        /* Another caller reads (it routes our replies too) or the socket
         * is gone: sleep until a kick or the next bound. */
        clock_cond_wait_until(&c->acond, &c->mu, next);
    }
    c->areader = false;
    pthread_mutex_unlock(&c->mu);
    rpc_pool_put(c);
    return NULL;
}

int rpc_async_start_locked(struct rpc_conn *c)
{
    if (c->areader)
        return 0;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t tid;
    rpc_conn_ref(c);
    int rc = pthread_create(&tid, &attr, async_main, c);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        /* c->mu is held, so this is not the last reference. */
        __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
        log_error("RPC", -1, "cannot start the completion thread for %s",
                  c->addr_str);
        return ERR_NOMEM;
    }
    c->areader = true;
    return 0;
}

void rpc_async_register_locked(struct rpc_conn *c, struct rpc_acall *ac)
{
    ac->prev = NULL;
    ac->dnext = NULL;
    ac->next = c->alive;
    if (c->alive)
        c->alive->prev = ac;
    c->alive = ac;
    c->acalls++;
    pthread_cond_signal(&c->acond); /* it may have to start reading */
}
