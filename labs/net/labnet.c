/* labnet.c - labrpc's simulated-fault network (graded-tests.md §2.2) as an
 * rpc_filter on ordinary rpc_ends, so the graded tests run over real
 * loopback TCP while seeing exactly labrpc's faults.
 *
 * How labrpc's processReq maps onto the filter hooks (every hook runs on
 * the thread inside rpc_call):
 *   on_request  counts the call and its request bytes (labrpc's dispatcher
 *               counts every Call), then reads the end's state once, as
 *               processReq does: enabled, connected server instance,
 *               reliable, long reordering.
 *               - Reliable, server called by several threads lately: a
 *                 0-999 us delay, so that concurrent requests reorder as
 *                 labrpc's goroutines make them; then the dead check, as
 *                 below.
 *               - No live server (disabled, unconnected, deleted): sleep
 *                 rand%100 ms (rand%7000 with long delays) and fail; no
 *                 byte leaves the process, so no handler can run.
 *               - Unreliable: sleep rand%27 ms, then drop 10% of requests
 *                 (fail without sending). After the sleep the dead check
 *                 runs again: labrpc would hand the request to the killed
 *                 instance and suppress its reply; we cannot reach an old
 *                 instance, so we fail at once (same outcome for the
 *                 caller, without running a killed server's handler).
 *   on_wait     polled by rpc about every 10 ms while the handler runs:
 *               the "server dead" check (end disabled, or the server name
 *               now maps to another instance or none). labrpc polls every
 *               100 ms; 10 ms only makes the failure prompter.
 *   on_reply    the dead check once more (a killed server's reply is never
 *               delivered), then 10% reply loss if unreliable, then long
 *               reordering: with p = 600/900 sleep 200+rand(1+rand(2000))
 *               ms. Reply bytes are counted only when delivered.
 * Every sleep is rpc_end_sleep(), so rpc_end_shutdown() (raft_kill,
 * labnet_free) cuts injected delays short.
 *
 * Per-call state. The hooks receive (ctx, end) but not the call; what
 * on_request captured (which server instance, reliable, reordering) is kept
 * in thread-local storage until on_wait/on_reply: a thread is inside at
 * most one rpc_call at a time and rpc runs all hooks on that thread.
 *
 * Server identity. A server name maps to a slot; each labnet_add_server()
 * gives the slot a fresh generation number and labnet_delete_server()
 * sets it to 0. A call remembers the generation it was sent under, so
 * "replaced" is detected even if a new rpc_server reuses the old one's
 * memory. Servers restart on fresh ports: add_server points every end
 * connected to the name at the new address (rpc_end_set_addr).
 *
 * Known window: rpc reads the end's address after on_request returns, so a
 * request admitted just before a concurrent add_server() can reach the new
 * instance. Its reply is then suppressed (generation changed), so the
 * caller sees labrpc's outcome; the new instance merely sees one more
 * stale message, which the labs must tolerate anyway.
 *
 * Ownership and locking. The network owns its ends (struct labnet_end and
 * the rpc_end inside), its name slots and names; servers are borrowed.
 * One mutex (net->mu) guards everything here, including each end's PRNG.
 * It is never held while sleeping. It is held across two non-blocking rpc
 * calls, rpc_end_set_addr() and rpc_server_dispatched(), so an address
 * change cannot race with a later one and a count cannot read a server
 * being replaced; rpc never calls the hooks with its own locks held
 * (hooks may block), so the order net->mu -> rpc internals is acyclic.
 * Deleted ends are shut down at once (and let go of their connection) but
 * freed only by labnet_free(), so a straggling caller can never touch
 * freed memory. rpc_end_free() needs an idle end, and the hooks cannot see
 * when rpc_call returns, so labnet_free() relies on its callers having
 * stopped calling (raft_kill and the services' kills join their threads);
 * it only waits for threads inside the hooks (injected sleeps). */
#include "labs/net/labnet.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/rand.h"
#include "labs/timeline/timeline.h"

/* labrpc's numbers (graded-tests.md §2.2). */
#define LABNET_SHORT_DELAY_MS 27       /* unreliable: rand % 27 ms */
#define LABNET_DROP_PERMILLE 100       /* 10% requests, 10% replies */
#define LABNET_DEAD_DELAY_MS 100       /* no server: rand % 100 ms */
#define LABNET_LONG_DEAD_DELAY_MS 7000 /* ... with long delays */
#define LABNET_REORDER_P 600           /* rand(900) < 600 */
#define LABNET_REORDER_RANGE 900
#define LABNET_REORDER_BASE_MS 200     /* 200 + rand(1 + rand(2000)) */
#define LABNET_REORDER_SPAN_MS 2000

/* labrpc's Call has no timeout: it returns when the handler returns or the
 * network loses the message, so a handler that never returns hangs its
 * caller (and fails the test, under the runner's per-test limit). rpc's
 * default 10 s bound would let a clerk recover from a hung handler, so
 * the network's ends wait "forever" (2^40 ms, ~35 years; the deadline
 * arithmetic in ns stays far from overflow). on_wait still ends a call at
 * once when the server is killed or the end disabled. */
#define LABNET_CALL_TIMEOUT_MS (UINT64_C(1) << 40)

/* Go reorders requests even on the reliable network: labrpc hands every
 * request to its own goroutine, so concurrent calls reach the handlers in
 * any order. Here the calls to one server share one ordered TCP stream,
 * and Raft's handlers run inline in arrival order. So a request to a
 * server that other threads are also calling (one arrived from another
 * thread within the last LABNET_BUSY_MS) waits a random 0-999 us before
 * it is sent, which reorders concurrent requests at goroutine scale.
 * Traffic from a single thread is sequential anyway (rpc_call blocks) and
 * is not delayed, so single-clerk tests and benchmarks keep their speed.
 * The unreliable net's 0-26 ms delay already reorders more. */
#define LABNET_JITTER_US 1000
#define LABNET_BUSY_MS 10

/* A name-keyed intrusive hash table (ends and server slots). Names are
 * looked up on every configuration call; shardkv's tester makes a fresh
 * end per cross-group RPC, so a linear list would go quadratic. */
struct labnet_hnode {
    char *name; /* owned */
    struct labnet_hnode *next;
};

struct labnet_table {
    struct labnet_hnode **buckets;
    size_t nbuckets; /* power of two */
    size_t n;
};

/* A server name; lives until labnet_free (ends keep pointing at it). */
struct labnet_slot {
    struct labnet_hnode node; /* first: a node pointer is a slot pointer */
    struct rpc_server *srv;   /* borrowed; NULL when deleted/never added */
    uint64_t gen;             /* instance generation; 0 = no server */
    struct labnet_end *conns; /* ends connected to this name */
    int tl_lane;              /* its timeline lane */
    pthread_t last_caller;    /* thread of the latest request */
    uint64_t busy_until_ns;   /* concurrent callers seen until then */
};

struct labnet_end {
    struct labnet_hnode node; /* first */
    struct labnet *net;
    struct rpc_end *end;      /* owned */
    bool enabled;
    bool deleted;             /* name removed; kept until labnet_free */
    struct labnet_slot *slot; /* connected server name, or NULL */
    struct labnet_end *conn_next;
    struct labnet_end *all_next;
    struct rng rng;           /* this end's fault choices, under net->mu */
    unsigned in_hooks;        /* threads inside this end's hooks */
    uint64_t tl_id;           /* its id in the timeline */
};

struct labnet {
    pthread_mutex_t mu;
    pthread_cond_t hooks_done; /* signalled when an end's in_hooks drops */
    uint64_t seed;
    uint64_t n_ends_made;      /* stream id of the next end's PRNG */
    uint64_t next_gen;
    bool reliable;
    bool long_reordering;
    bool long_delays;
    struct labnet_table ends;  /* live (not deleted) ends by name */
    struct labnet_table slots; /* server names */
    struct labnet_end *all;    /* every end ever made, incl. deleted */
    uint64_t total_count;
    uint64_t total_bytes;
};

/* What on_request decided about the call this thread is making. */
struct labnet_call {
    const struct labnet_end *le; /* NULL: no admitted call */
    struct labnet_slot *slot;
    uint64_t gen;
    bool reliable;
    bool long_reordering;
    uint64_t tl_call;            /* the call's id in the timeline */
};

static _Thread_local struct labnet_call labnet_tls_call;

static void labnet_fatal(const char *what, const char *name)
{
    fprintf(stderr, "labnet: fatal: %s: %s\n", what, name);
    abort();
}

/* --- hash table ------------------------------------------------------ */

static uint64_t labnet_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

static struct labnet_hnode **labnet_table_link(struct labnet_table *t,
                                               const char *name)
{
    if (t->nbuckets == 0)
        return NULL;
    struct labnet_hnode **pp =
        &t->buckets[labnet_hash(name) & (t->nbuckets - 1)];
    while (*pp && strcmp((*pp)->name, name) != 0)
        pp = &(*pp)->next;
    return pp;
}

static struct labnet_hnode *labnet_table_find(struct labnet_table *t,
                                              const char *name)
{
    struct labnet_hnode **pp = labnet_table_link(t, name);
    return pp ? *pp : NULL;
}

static void labnet_table_grow(struct labnet_table *t)
{
    size_t nb = t->nbuckets ? t->nbuckets * 2 : 64;
    struct labnet_hnode **b = xcalloc(nb, sizeof(*b));
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct labnet_hnode *n = t->buckets[i];
        while (n) {
            struct labnet_hnode *next = n->next;
            size_t j = labnet_hash(n->name) & (nb - 1);
            n->next = b[j];
            b[j] = n;
            n = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
}

/* The name must not be present. */
static void labnet_table_insert(struct labnet_table *t,
                                struct labnet_hnode *n)
{
    if (t->n >= t->nbuckets)
        labnet_table_grow(t);
    size_t j = labnet_hash(n->name) & (t->nbuckets - 1);
    n->next = t->buckets[j];
    t->buckets[j] = n;
    t->n++;
}

static void labnet_table_remove(struct labnet_table *t,
                                struct labnet_hnode *n)
{
    struct labnet_hnode **pp = labnet_table_link(t, n->name);
    if (pp && *pp == n) {
        *pp = n->next;
        n->next = NULL;
        t->n--;
    }
}

/* --- helpers (net->mu held) ------------------------------------------ */

static struct labnet_end *labnet_find_end_locked(struct labnet *net,
                                                 const char *name)
{
    return (struct labnet_end *)labnet_table_find(&net->ends, name);
}

static struct labnet_slot *labnet_slot_locked(struct labnet *net,
                                              const char *name)
{
    struct labnet_slot *s =
        (struct labnet_slot *)labnet_table_find(&net->slots, name);
    if (!s) {
        s = xcalloc(1, sizeof(*s));
        s->node.name = xstrdup(name);
        s->tl_lane = timeline_lane(name);
        labnet_table_insert(&net->slots, &s->node);
    }
    return s;
}

static void labnet_point_end_locked(struct labnet_end *le,
                                    struct rpc_server *srv)
{
    const char *addr = rpc_server_addr(srv);
    if (!addr || !*addr)
        labnet_fatal("server has no address (not listening?)",
                     le->slot->node.name);
    if (rpc_end_set_addr(le->end, addr) != 0)
        labnet_fatal("cannot point end at server address", addr);
}

/* labrpc's isServerDead: the end was disabled, or the server name no
 * longer maps to the instance the call was sent to. */
static bool labnet_dead_locked(const struct labnet_end *le,
                               const struct labnet_call *c)
{
    return !le->enabled || c->slot->gen != c->gen;
}

/* Note a request to slot from this thread; true if other threads sent it
 * requests recently, so this one may be reordered with theirs. */
static bool labnet_busy_locked(struct labnet_slot *slot)
{
    uint64_t now = clock_now_ns();
    pthread_t self = pthread_self();
    if (slot->busy_until_ns != 0 && !pthread_equal(self, slot->last_caller))
        slot->busy_until_ns = now + LABNET_BUSY_MS * 1000000ull;
    else if (slot->busy_until_ns == 0)
        slot->busy_until_ns = 1; /* last_caller is valid from now on */
    slot->last_caller = self;
    return now < slot->busy_until_ns;
}

static void labnet_hook_enter_locked(struct labnet_end *le)
{
    le->in_hooks++;
}

static void labnet_hook_exit_locked(struct labnet_end *le)
{
    if (--le->in_hooks == 0)
        pthread_cond_broadcast(&le->net->hooks_done);
}

/* Sleep outside the lock (rpc_end_sleep returns ERR_CLOSED early if the
 * end is shut down); re-acquires the lock. */
static int labnet_sleep_locked(struct labnet_end *le, uint64_t ms)
{
    if (ms == 0)
        return 0;
    pthread_mutex_unlock(&le->net->mu);
    int rc = rpc_end_sleep(le->end, ms);
    pthread_mutex_lock(&le->net->mu);
    return rc;
}

/* --- filter hooks ---------------------------------------------------- */

static int labnet_on_request(void *ctx, struct rpc_end *end,
                             const char *method, size_t req_bytes)
{
    (void)end;
    struct labnet_end *le = ctx;
    struct labnet *net = le->net;
    struct labnet_call *c = &labnet_tls_call;
    int rc = 0;

    c->le = NULL;
    pthread_mutex_lock(&net->mu);
    labnet_hook_enter_locked(le);
    uint64_t tl_call = ++net->total_count;
    net->total_bytes += req_bytes;

    struct labnet_slot *slot = le->slot;
    if (!le->enabled || !slot || slot->gen == 0) {
        /* Simulate no reply and an eventual timeout. Long delays let Raft
         * tests check that a leader doesn't send RPCs synchronously;
         * without them, KV clerks try each server in quick succession. */
        uint64_t ms = net->long_delays
                          ? rng_below(&le->rng, LABNET_LONG_DEAD_DELAY_MS)
                          : rng_below(&le->rng, LABNET_DEAD_DELAY_MS);
        log_trace("NET", -1, "%s %s: no server, fail in %llu ms",
                  le->node.name, method, (unsigned long long)ms);
        timeline_event(TIMELINE_RPC_NOSERVER, -1, (int64_t)le->tl_id,
                       (int64_t)tl_call, (int64_t)ms, method);
        rc = labnet_sleep_locked(le, ms);
        rc = rc ? rc : ERR_UNREACHABLE;
        goto out;
    }

    struct labnet_call call = {le, slot, slot->gen, net->reliable,
                               net->long_reordering, tl_call};
    if (call.reliable && labnet_busy_locked(slot)) {
        /* Sub-millisecond, so a plain sleep: rpc_end_sleep counts whole
         * ms, and a shutdown waits at most this long for the thread. */
        uint64_t us = rng_below(&le->rng, LABNET_JITTER_US);
        pthread_mutex_unlock(&net->mu);
        clock_sleep_ns(us * 1000);
        pthread_mutex_lock(&net->mu);
        if (labnet_dead_locked(le, &call)) {
            rc = ERR_UNREACHABLE;
            goto out;
        }
    } else if (!call.reliable) {
        uint64_t ms = rng_below(&le->rng, LABNET_SHORT_DELAY_MS);
        if ((rc = labnet_sleep_locked(le, ms)) != 0)
            goto out;
        if (rng_below(&le->rng, 1000) < LABNET_DROP_PERMILLE) {
            log_trace("NET", -1, "%s %s: request dropped", le->node.name,
                      method);
            timeline_event(TIMELINE_RPC_DROP_REQ, -1, (int64_t)le->tl_id,
                           (int64_t)tl_call, 0, method);
            rc = ERR_DROPPED;
            goto out;
        }
        if (labnet_dead_locked(le, &call)) {
            timeline_event(TIMELINE_RPC_DEAD, -1, (int64_t)le->tl_id,
                           (int64_t)tl_call, 0, method);
            rc = ERR_UNREACHABLE;
            goto out;
        }
    }
    timeline_event(TIMELINE_RPC_SEND, -1, (int64_t)le->tl_id,
                   (int64_t)tl_call, 0, method);
    *c = call;
out:
    labnet_hook_exit_locked(le);
    pthread_mutex_unlock(&net->mu);
    return rc;
}

/* The call this thread admitted on le, or NULL if rpc called a later hook
 * without on_request (a bug there; failing the call is the safe answer). */
static const struct labnet_call *labnet_current_call(
    const struct labnet_end *le)
{
    const struct labnet_call *c = &labnet_tls_call;
    return c->le == le ? c : NULL;
}

static int labnet_on_wait(void *ctx, struct rpc_end *end)
{
    (void)end;
    struct labnet_end *le = ctx;
    const struct labnet_call *c = labnet_current_call(le);
    int rc = 0;

    pthread_mutex_lock(&le->net->mu);
    if (!c || labnet_dead_locked(le, c))
        rc = ERR_UNREACHABLE;
    if (rc && c)
        timeline_event(TIMELINE_RPC_DEAD, -1, (int64_t)le->tl_id,
                       (int64_t)c->tl_call, 0, NULL);
    pthread_mutex_unlock(&le->net->mu);
    return rc;
}

static int labnet_on_reply(void *ctx, struct rpc_end *end,
                           size_t reply_bytes)
{
    (void)end;
    struct labnet_end *le = ctx;
    struct labnet *net = le->net;
    const struct labnet_call *c = labnet_current_call(le);
    int rc = 0;

    pthread_mutex_lock(&net->mu);
    labnet_hook_enter_locked(le);
    if (!c || labnet_dead_locked(le, c)) {
        /* Never deliver a killed server's reply: the client could see a
         * positive reply to an update that the server persisted into the
         * persister the tester has since superseded. */
        if (c)
            timeline_event(TIMELINE_RPC_DEAD, -1, (int64_t)le->tl_id,
                           (int64_t)c->tl_call, 0, NULL);
        rc = ERR_UNREACHABLE;
        goto out;
    }
    if (!c->reliable && rng_below(&le->rng, 1000) < LABNET_DROP_PERMILLE) {
        /* The handler ran: callers need duplicate detection. */
        timeline_event(TIMELINE_RPC_DROP_REPLY, -1, (int64_t)le->tl_id,
                       (int64_t)c->tl_call, 0, NULL);
        rc = ERR_DROPPED;
        goto out;
    }
    uint64_t ms = 0;
    if (c->long_reordering &&
        rng_below(&le->rng, LABNET_REORDER_RANGE) < LABNET_REORDER_P) {
        /* Skewed towards short delays, as in labrpc. */
        ms =
            LABNET_REORDER_BASE_MS +
            rng_below(&le->rng,
                      1 + rng_below(&le->rng, LABNET_REORDER_SPAN_MS));
        if ((rc = labnet_sleep_locked(le, ms)) != 0)
            goto out;
    }
    net->total_bytes += reply_bytes;
    timeline_event(TIMELINE_RPC_REPLY, -1, (int64_t)le->tl_id,
                   (int64_t)c->tl_call, (int64_t)ms, NULL);
out:
    labnet_tls_call.le = NULL;
    labnet_hook_exit_locked(le);
    pthread_mutex_unlock(&net->mu);
    return rc;
}

static const struct rpc_filter labnet_filter = {
    .on_request = labnet_on_request,
    .on_wait = labnet_on_wait,
    .on_reply = labnet_on_reply,
};

/* --- public API -------------------------------------------------------- */

struct labnet *labnet_new(uint64_t seed)
{
    struct labnet *net = xcalloc(1, sizeof(*net));
    pthread_mutex_init(&net->mu, NULL);
    clock_cond_init(&net->hooks_done);
    net->seed = seed;
    net->next_gen = 1;
    net->reliable = true;
    return net;
}

void labnet_free(struct labnet *net)
{
    if (!net)
        return;
    /* Ends are never unlinked from net->all, and making ends while the
     * network is being freed is a caller bug, so the list is stable. */
    pthread_mutex_lock(&net->mu);
    struct labnet_end *all = net->all;
    pthread_mutex_unlock(&net->mu);
    for (struct labnet_end *le = all; le; le = le->all_next)
        rpc_end_shutdown(le->end);

    /* Shutdown wakes injected sleeps; wait until no thread is inside a
     * hook (it would touch the end and the network afterwards). */
    pthread_mutex_lock(&net->mu);
    for (struct labnet_end *le = all; le; le = le->all_next)
        while (le->in_hooks > 0)
            pthread_cond_wait(&net->hooks_done, &net->mu);
    pthread_mutex_unlock(&net->mu);

    while (all) {
        struct labnet_end *next = all->all_next;
        rpc_end_free(all->end);
        free(all->node.name);
        free(all);
        all = next;
    }
    for (size_t i = 0; i < net->slots.nbuckets; i++) {
        struct labnet_hnode *n = net->slots.buckets[i];
        while (n) {
            struct labnet_hnode *next = n->next;
            free(n->name);
            free(n);
            n = next;
        }
    }
    free(net->slots.buckets);
    free(net->ends.buckets);
    pthread_cond_destroy(&net->hooks_done);
    pthread_mutex_destroy(&net->mu);
    free(net);
}

static void labnet_record_mode_locked(const struct labnet *net)
{
    timeline_event(TIMELINE_NET, -1, net->reliable, net->long_reordering,
                   net->long_delays, NULL);
}

void labnet_reliable(struct labnet *net, bool reliable)
{
    pthread_mutex_lock(&net->mu);
    net->reliable = reliable;
    labnet_record_mode_locked(net);
    pthread_mutex_unlock(&net->mu);
}

void labnet_long_reordering(struct labnet *net, bool on)
{
    pthread_mutex_lock(&net->mu);
    net->long_reordering = on;
    labnet_record_mode_locked(net);
    pthread_mutex_unlock(&net->mu);
}

void labnet_long_delays(struct labnet *net, bool on)
{
    pthread_mutex_lock(&net->mu);
    net->long_delays = on;
    labnet_record_mode_locked(net);
    pthread_mutex_unlock(&net->mu);
}

struct rpc_end *labnet_make_end(struct labnet *net, const char *endname)
{
    int err = 0;
    /* No address yet: rpc fails calls with ERR_UNREACHABLE until one is
     * set, and on_request never lets an unconnected call through anyway. */
    struct rpc_end *end = rpc_end_new(NULL, &err);
    if (!end)
        labnet_fatal("rpc_end_new failed", err_name(err));

    struct labnet_end *le = xcalloc(1, sizeof(*le));
    le->node.name = xstrdup(endname);
    le->net = net;
    le->end = end;
    rpc_end_set_filter(end, &labnet_filter, le);
    rpc_end_set_timeout(end, LABNET_CALL_TIMEOUT_MS);

    pthread_mutex_lock(&net->mu);
    if (labnet_find_end_locked(net, endname)) {
        pthread_mutex_unlock(&net->mu);
        labnet_fatal("end name exists", endname);
    }
    le->tl_id = net->n_ends_made;
    rng_seed(&le->rng, rng_derive(net->seed, net->n_ends_made++));
    timeline_event(TIMELINE_END_NEW, -1, (int64_t)le->tl_id, 0, 0, endname);
    labnet_table_insert(&net->ends, &le->node);
    le->all_next = net->all;
    net->all = le;
    pthread_mutex_unlock(&net->mu);
    return end;
}

static void labnet_unlink_conn_locked(struct labnet_end *le)
{
    if (!le->slot)
        return;
    struct labnet_end **pp = &le->slot->conns;
    while (*pp && *pp != le)
        pp = &(*pp)->conn_next;
    if (*pp)
        *pp = le->conn_next;
    le->conn_next = NULL;
    le->slot = NULL;
}

void labnet_delete_end(struct labnet *net, const char *endname)
{
    pthread_mutex_lock(&net->mu);
    struct labnet_end *le = labnet_find_end_locked(net, endname);
    if (!le) {
        pthread_mutex_unlock(&net->mu);
        return;
    }
    labnet_table_remove(&net->ends, &le->node);
    labnet_unlink_conn_locked(le);
    le->enabled = false;
    le->deleted = true;
    pthread_mutex_unlock(&net->mu);

    /* Calls in progress fail at once; the memory stays until
     * labnet_free() in case a caller still holds the pointer. */
    rpc_end_shutdown(le->end);
    pthread_mutex_lock(&net->mu);
    while (le->in_hooks > 0)
        pthread_cond_wait(&net->hooks_done, &net->mu);
    pthread_mutex_unlock(&net->mu);
    /* Drop the end's reference to its pooled connection now: the tester
     * deletes ends at every crash, and parked ends must not keep sockets
     * to dead servers open until labnet_free(). No lock is needed: the
     * end is off every list add_server() walks. */
    rpc_end_set_addr(le->end, NULL);
}

void labnet_add_server(struct labnet *net, const char *servername,
                       struct rpc_server *srv)
{
    pthread_mutex_lock(&net->mu);
    struct labnet_slot *s = labnet_slot_locked(net, servername);
    s->srv = srv;
    s->gen = net->next_gen++; /* any previous instance is now dead */
    timeline_event(TIMELINE_SERVER_UP, s->tl_lane, 0, 0, 0, NULL);
    for (struct labnet_end *le = s->conns; le; le = le->conn_next)
        labnet_point_end_locked(le, srv);
    pthread_mutex_unlock(&net->mu);
    log_debug("NET", -1, "server %s added at %s", servername,
              rpc_server_addr(srv));
}

void labnet_delete_server(struct labnet *net, const char *servername)
{
    pthread_mutex_lock(&net->mu);
    struct labnet_slot *s =
        (struct labnet_slot *)labnet_table_find(&net->slots, servername);
    if (s) {
        s->srv = NULL;
        s->gen = 0;
        timeline_event(TIMELINE_SERVER_DOWN, s->tl_lane, 0, 0, 0, NULL);
    }
    pthread_mutex_unlock(&net->mu);
    log_debug("NET", -1, "server %s deleted", servername);
}

void labnet_connect(struct labnet *net, const char *endname,
                    const char *servername)
{
    pthread_mutex_lock(&net->mu);
    struct labnet_end *le = labnet_find_end_locked(net, endname);
    if (!le) {
        pthread_mutex_unlock(&net->mu);
        labnet_fatal("connect: no such end", endname);
    }
    labnet_unlink_conn_locked(le); /* labrpc lets a later Connect win */
    struct labnet_slot *s = labnet_slot_locked(net, servername);
    le->slot = s;
    le->conn_next = s->conns;
    s->conns = le;
    timeline_event(TIMELINE_END_CONNECT, s->tl_lane, (int64_t)le->tl_id, 0, 0,
                   NULL);
    if (s->srv)
        labnet_point_end_locked(le, s->srv);
    pthread_mutex_unlock(&net->mu);
}

void labnet_enable(struct labnet *net, const char *endname, bool enabled)
{
    pthread_mutex_lock(&net->mu);
    struct labnet_end *le = labnet_find_end_locked(net, endname);
    if (le) {
        le->enabled = enabled;
        timeline_event(TIMELINE_END_ENABLE, -1, (int64_t)le->tl_id, enabled, 0,
                       NULL);
    }
    pthread_mutex_unlock(&net->mu);
    if (!le)
        labnet_fatal("enable: no such end", endname);
}

uint64_t labnet_count(struct labnet *net, const char *servername)
{
    uint64_t n = 0;
    pthread_mutex_lock(&net->mu);
    struct labnet_slot *s =
        (struct labnet_slot *)labnet_table_find(&net->slots, servername);
    if (s && s->srv)
        n = rpc_server_dispatched(s->srv);
    pthread_mutex_unlock(&net->mu);
    return n;
}

uint64_t labnet_total_count(struct labnet *net)
{
    pthread_mutex_lock(&net->mu);
    uint64_t n = net->total_count;
    pthread_mutex_unlock(&net->mu);
    return n;
}

uint64_t labnet_total_bytes(struct labnet *net)
{
    pthread_mutex_lock(&net->mu);
    uint64_t n = net->total_bytes;
    pthread_mutex_unlock(&net->mu);
    return n;
}
