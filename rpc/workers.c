/* workers.c - the server's thread pool. Threads are generic: a job is
 * either "hold this connection's reader role" or "run this request". The
 * pool grows on demand (an idle thread if there is one, else a new thread,
 * so a blocked handler never delays another job), idle threads beyond
 * RPC_MIN_IDLE exit after RPC_IDLE_EXIT_MS, and past RPC_MAX_THREADS jobs
 * wait in a FIFO (a last-resort bound against a flood of blocking calls).
 * Every thread is joined: exited ones when the next thread is created,
 * the rest by rpc_pool_join_all() at close. */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "rpc/rpc_internal.h"

void rpc_job_discard(struct rpc_server *s, struct rpc_job *j)
{
    (void)s;
    if (j->kind == RPC_JOB_READ) {
        struct rpc_sconn *c = (struct rpc_sconn *)j;
        rpc_stream_kill(&c->st);
        rpc_sconn_unref(c);
    } else {
        rpc_req_free((struct rpc_req *)j);
    }
}

static void run_job(struct rpc_job *j, struct rpc_wctx *w)
{
    if (j->kind == RPC_JOB_READ)
        rpc_sconn_read((struct rpc_sconn *)j, w);
    else
        rpc_req_run((struct rpc_req *)j, w);
}

static struct rpc_job *dequeue_locked(struct rpc_server *s)
{
    struct rpc_job *j = s->jobq_head;
    if (j) {
        s->jobq_head = j->next;
        if (!s->jobq_head)
            s->jobq_tail = &s->jobq_head;
        j->next = NULL;
    }
    return j;
}

static void idle_remove_locked(struct rpc_server *s, struct rpc_worker *w)
{
    for (struct rpc_worker **pp = &s->idle; *pp; pp = &(*pp)->idle_next) {
        if (*pp == w) {
            *pp = w->idle_next;
            break;
        }
    }
    w->idle = false;
    s->n_idle--;
}

static void *worker_main(void *arg)
{
    struct rpc_worker *w = arg;
    struct rpc_server *s = w->srv;
    struct rpc_wctx ctx;
    buf_init(&ctx.out);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        struct rpc_job *j = w->job;
        w->job = NULL;
        if (!j)
            j = dequeue_locked(s);
        if (j) {
            bool closing = s->closing;
            pthread_mutex_unlock(&s->mu);
            if (closing)
                rpc_job_discard(s, j);
            else
                run_job(j, &ctx);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        if (s->closing)
            break;
        /* Idle: rpc_pool_submit pops us off the list and sets w->job. */
        w->idle = true;
        w->idle_next = s->idle;
        s->idle = w;
        s->n_idle++;
        uint64_t deadline = clock_now_ns() + RPC_IDLE_EXIT_MS * 1000000ull;
        bool retire = false;
        while (w->idle && !s->closing) {
            if (clock_cond_wait_until(&w->cond, &s->mu, deadline) ==
                    ERR_TIMEOUT &&
                w->idle) {
                if (s->n_idle > RPC_MIN_IDLE) {
                    retire = true;
                    break;
                }
                deadline = clock_now_ns() + RPC_IDLE_EXIT_MS * 1000000ull;
            }
        }
        if (w->idle)
            idle_remove_locked(s, w);
        if (retire && !w->job)
            break;
    }
    w->exited = true;
    s->n_threads--;
    pthread_mutex_unlock(&s->mu);
    buf_free(&ctx.out);
    return NULL;
}

/* Join threads that have exited on their own. s->mu held; their threads
 * no longer need it. */
static void reap_locked(struct rpc_server *s)
{
    struct rpc_worker **pp = &s->all;
    while (*pp) {
        struct rpc_worker *w = *pp;
        if (w->exited) {
            *pp = w->all_next;
            pthread_join(w->tid, NULL);
            pthread_cond_destroy(&w->cond);
            free(w);
        } else {
            pp = &w->all_next;
        }
    }
}

void rpc_pool_submit(struct rpc_server *s, struct rpc_job *j)
{
    pthread_mutex_lock(&s->mu);
    if (s->closing) {
        pthread_mutex_unlock(&s->mu);
        rpc_job_discard(s, j);
        return;
    }
    rpc_pool_submit_locked(s, j);
    pthread_mutex_unlock(&s->mu);
}

void rpc_pool_submit_locked(struct rpc_server *s, struct rpc_job *j)
{
    if (s->idle) {
        struct rpc_worker *w = s->idle;
        s->idle = w->idle_next;
        s->n_idle--;
        w->idle = false;
        w->job = j;
        pthread_cond_signal(&w->cond);
        return;
    }
    if (s->n_threads < RPC_MAX_THREADS) {
        reap_locked(s);
        struct rpc_worker *w = xcalloc(1, sizeof(*w));
        w->srv = s;
        clock_cond_init(&w->cond);
        w->job = j;
        if (pthread_create(&w->tid, NULL, worker_main, w) == 0) {
            w->all_next = s->all;
            s->all = w;
            s->n_threads++;
            return;
        }
        pthread_cond_destroy(&w->cond);
        free(w);
        /* Queue it: a running thread picks it up when it finishes (the
         * thread calling us is a pool thread or the acceptor; if no pool
         * thread exists the job waits for the next successful spawn). */
        log_error("RPC", -1, "cannot create a server thread (%zu running)",
                  s->n_threads);
    }
    j->next = NULL;
    *s->jobq_tail = j;
    s->jobq_tail = &j->next;
}

void rpc_pool_join_all(struct rpc_server *s)
{
    pthread_mutex_lock(&s->mu);
    for (struct rpc_worker *w = s->idle; w; w = w->idle_next)
        pthread_cond_signal(&w->cond);
    /* closing is set: no thread is created any more, so `all` only
     * shrinks. Threads finish their current job, discard queued ones and
     * exit. */
    while (s->all) {
        struct rpc_worker *w = s->all;
        s->all = w->all_next;
        pthread_mutex_unlock(&s->mu);
        pthread_join(w->tid, NULL);
        pthread_cond_destroy(&w->cond);
        free(w);
        pthread_mutex_lock(&s->mu);
    }
    struct rpc_job *j;
    while ((j = dequeue_locked(s)) != NULL) {
        pthread_mutex_unlock(&s->mu);
        rpc_job_discard(s, j);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
}
