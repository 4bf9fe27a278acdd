/* pool.c - client side connection state: the process-wide pool of
 * connections keyed by address (so every end to one address shares one
 * multiplexed socket), socket lifetime, the pending-call table and the
 * failure path that fails every call waiting on a dead socket.
 *
 * A struct rpc_conn lives as long as some end or call references its
 * address; its socket (struct rpc_csock) is replaced after a failure. A
 * dead socket's fd stays open until the last call using it lets go, so an
 * fd number is never reused under a thread that still writes to it. */
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "rpc/rpc_internal.h"

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rpc_conn *pool_head; /* pool_mu */

struct rpc_conn *rpc_pool_get(const char *addr_str,
                              const struct rpc_addr *addr)
{
    pthread_mutex_lock(&pool_mu);
    for (struct rpc_conn *c = pool_head; c; c = c->next) {
        if (strcmp(c->addr_str, addr_str) == 0) {
            __atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
            pthread_mutex_unlock(&pool_mu);
            return c;
        }
    }
    struct rpc_conn *c = xcalloc(1, sizeof(*c));
    c->addr_str = xstrdup(addr_str);
    c->addr = *addr;
    c->refs = 1;
    pthread_mutex_init(&c->mu, NULL);
    clock_cond_init(&c->cond);
    clock_cond_init(&c->acond);
    c->next_msgid = 1;
    c->next = pool_head;
    pool_head = c;
    pthread_mutex_unlock(&pool_mu);
    return c;
}

static void csock_free(struct rpc_csock *s)
{
    rpc_stream_destroy(&s->st);
    free(s);
}

void rpc_conn_ref(struct rpc_conn *c)
{
    __atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
}

void rpc_pool_put(struct rpc_conn *c)
{
    /* Drop lock-free unless this may be the last reference: the 1 -> 0
     * step happens only under pool_mu, where lookups also take refs, so a
     * conn is never revived after it was unlinked. */
    unsigned old = __atomic_load_n(&c->refs, __ATOMIC_ACQUIRE);
    while (old > 1) {
        if (__atomic_compare_exchange_n(&c->refs, &old, old - 1, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return;
    }
    pthread_mutex_lock(&pool_mu);
    if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) > 0) {
        pthread_mutex_unlock(&pool_mu);
        return;
    }
    for (struct rpc_conn **pp = &pool_head; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    pthread_mutex_unlock(&pool_mu);
    /* No end and no call refers to c: nothing else can touch it. */
    struct rpc_csock *s = c->sock;
    if (s && --s->refs == 0)
        csock_free(s);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cond);
    pthread_cond_destroy(&c->acond);
    free(c->addr_str);
    free(c);
}

void rpc_csock_unref_locked(struct rpc_conn *c, struct rpc_csock *s)
{
    (void)c;
    if (--s->refs == 0)
        csock_free(s); /* only the fd close; no lock needed inside */
}

static unsigned bucket(uint32_t msgid)
{
    return msgid & (RPC_PENDING_BUCKETS - 1);
}

void rpc_pending_insert_locked(struct rpc_conn *c, struct rpc_pending *p)
{
    unsigned b = bucket(p->msgid);
    p->hnext = c->table[b];
    c->table[b] = p;
    p->sock->npending++;
}

void rpc_pending_remove_locked(struct rpc_conn *c, struct rpc_pending *p)
{
    for (struct rpc_pending **pp = &c->table[bucket(p->msgid)]; *pp;
         pp = &(*pp)->hnext) {
        if (*pp == p) {
            *pp = p->hnext;
            p->hnext = NULL;
            if (!p->done)
                p->sock->npending--;
            return;
        }
    }
}

struct rpc_pending *rpc_pending_find_locked(struct rpc_conn *c,
                                            uint32_t msgid)
{
    for (struct rpc_pending *p = c->table[bucket(msgid)]; p; p = p->hnext)
        if (p->msgid == msgid)
            return p;
    return NULL;
}

void rpc_csock_fail_locked(struct rpc_conn *c, struct rpc_csock *s, int err)
{
    if (s->dead)
        return;
    s->dead = true;
    rpc_stream_kill(&s->st);
    log_debug("RPC", -1, "connection to %s failed: %s", c->addr_str,
              err_name(err));
    for (unsigned b = 0; b < RPC_PENDING_BUCKETS; b++) {
        for (struct rpc_pending *p = c->table[b]; p; p = p->hnext) {
            if (p->sock == s && !p->done) {
                p->done = true;
                p->rc = err;
                s->npending--;
                if (p->async)
                    rpc_async_finished_locked(c, (struct rpc_acall *)p);
                else
                    rpc_pending_kick_locked(c, p);
            }
        }
    }
    if (c->sock == s) {
        c->sock = NULL;
        rpc_csock_unref_locked(c, s);
    }
}

void rpc_csock_handoff_locked(struct rpc_conn *c, struct rpc_csock *s,
                              const struct rpc_pending *me)
{
    if (s->reading || s->dead || s->npending == 0)
        return;
    for (unsigned b = 0; b < RPC_PENDING_BUCKETS; b++) {
        for (struct rpc_pending *p = c->table[b]; p; p = p->hnext) {
            if (p != me && p->sock == s && !p->done && p->waiting) {
                rpc_pending_kick_locked(c, p);
                return;
            }
        }
    }
    /* Nobody is blocked yet: the next caller to wait sees `reading` false
     * and takes the role itself; a completion thread is told now. */
    rpc_async_wake_locked(c);
}

void rpc_pool_wake_end(const struct rpc_end *e)
{
    /* Spurious wake-ups are harmless (waiters re-check), so simply signal
     * every call of e; pool_mu keeps each conn alive meanwhile. */
    pthread_mutex_lock(&pool_mu);
    for (struct rpc_conn *c = pool_head; c; c = c->next) {
        pthread_mutex_lock(&c->mu);
        for (unsigned b = 0; b < RPC_PENDING_BUCKETS; b++)
            for (struct rpc_pending *p = c->table[b]; p; p = p->hnext)
                if (p->end == e)
                    rpc_pending_kick_locked(c, p);
        pthread_cond_broadcast(&c->cond); /* calls waiting to connect */
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_unlock(&pool_mu);
}

void rpc_futex_wait(uint32_t *addr, uint32_t val, uint64_t deadline_ns)
{
    struct timespec ts = {(time_t)(deadline_ns / 1000000000ull),
                          (long)(deadline_ns % 1000000000ull)};
    /* Returns on wake, value change, timeout or signal: callers re-check. */
    syscall(SYS_futex, addr, FUTEX_WAIT_BITSET_PRIVATE, val, &ts, NULL,
            FUTEX_BITSET_MATCH_ANY);
}

void rpc_futex_wake(uint32_t *addr)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void rpc_pending_kick_locked(struct rpc_conn *c, struct rpc_pending *p)
{
    if (p->async) {
        rpc_async_wake_locked(c);
        return;
    }
    /* Under conn->mu the caller cannot leave before we are done here. */
    __atomic_add_fetch(&p->fw, 2, __ATOMIC_RELEASE);
    if (p->waiting)
        rpc_futex_wake(&p->fw);
}
