/* config.c - lab 4 tester cluster: n kvraft servers over labnet (see
 * config.h). Mirrors kvraft/config.go step for step; comments quoted from
 * it explain the ordering that matters. */
#include "labs/kvraft/config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/persister.h"
#include "labs/net/labnet.h"
#include "labs/tester/tester.h"
#include "labs/timeline/raft_tap.h"
#include "labs/timeline/timeline.h"

#define ENDNAME_LEN 20

/* One running server: created by start_server, torn down by shutdown. */
struct kv4inst {
    struct kv_server *kv;
    struct rpc_server *srv;
};

struct kv4cfg {
    pthread_mutex_t mu;
    int n;
    int64_t maxraftstate;
    struct labnet *net;
    char (*names)[16];          /* server names "0".."n-1" */
    /* guarded by mu: */
    struct kv4inst **inst;      /* Go: kvservers[] (NULL = shut down) */
    char (**endnames)[24];      /* [i] = server i's outgoing end names, or
                                 * NULL while it is down; [i][i] unused */
    struct persister **saved;
    struct kv4_client clients;  /* list head */
    /* counters: */
    atomic_uint_fast64_t ops;
    uint64_t rpcs0;
};

int kv4cfg_n(const struct kv4cfg *cfg) { return cfg->n; }

/* ---- connectivity ------------------------------------------------------- */

static void enable_locked(struct kv4cfg *cfg, int from, int to, bool on)
{
    if (from != to && cfg->endnames[from])
        labnet_enable(cfg->net, cfg->endnames[from][to], on);
}

/* attach server i to servers listed in to. */
static void connect_locked(struct kv4cfg *cfg, int i, const int *to, int nto)
{
    for (int j = 0; j < nto; j++) /* outgoing socket files */
        enable_locked(cfg, i, to[j], true);
    for (int j = 0; j < nto; j++) /* incoming socket files */
        enable_locked(cfg, to[j], i, true);
}

/* detach server i from the servers listed in from. */
static void disconnect_locked(struct kv4cfg *cfg, int i, const int *from,
                              int nfrom)
{
    for (int j = 0; j < nfrom; j++)
        enable_locked(cfg, i, from[j], false);
    for (int j = 0; j < nfrom; j++)
        enable_locked(cfg, from[j], i, false);
}

void kv4cfg_connect(struct kv4cfg *cfg, int i, const int *to, int nto)
{
    pthread_mutex_lock(&cfg->mu);
    connect_locked(cfg, i, to, nto);
    pthread_mutex_unlock(&cfg->mu);
}

void kv4cfg_disconnect(struct kv4cfg *cfg, int i, const int *from, int nfrom)
{
    pthread_mutex_lock(&cfg->mu);
    disconnect_locked(cfg, i, from, nfrom);
    pthread_mutex_unlock(&cfg->mu);
}

static int *all_servers(const struct kv4cfg *cfg)
{
    int *all = xcalloc((size_t)cfg->n, sizeof(int));
    for (int i = 0; i < cfg->n; i++)
        all[i] = i;
    return all;
}

void kv4cfg_connect_all(struct kv4cfg *cfg)
{
    int *all = all_servers(cfg);
    pthread_mutex_lock(&cfg->mu);
    for (int i = 0; i < cfg->n; i++)
        connect_locked(cfg, i, all, cfg->n);
    pthread_mutex_unlock(&cfg->mu);
    free(all);
}

/* Sets up 2 partitions with connectivity between servers in each
 * partition. */
void kv4cfg_partition(struct kv4cfg *cfg, const int *p1, int n1,
                      const int *p2, int n2)
{
    pthread_mutex_lock(&cfg->mu);
    for (int i = 0; i < n1; i++) {
        disconnect_locked(cfg, p1[i], p2, n2);
        connect_locked(cfg, p1[i], p1, n1);
    }
    for (int i = 0; i < n2; i++) {
        disconnect_locked(cfg, p2[i], p1, n1);
        connect_locked(cfg, p2[i], p2, n2);
    }
    pthread_mutex_unlock(&cfg->mu);
}

bool kv4cfg_leader(struct kv4cfg *cfg, int *leader)
{
    pthread_mutex_lock(&cfg->mu);
    for (int i = 0; i < cfg->n; i++) {
        if (!cfg->inst[i])
            continue;
        int64_t term;
        bool is_leader = false;
        raft_get_state(kv_server_raft(cfg->inst[i]->kv), &term, &is_leader);
        timeline_state(cfg->names[i], term, is_leader);
        if (is_leader) {
            pthread_mutex_unlock(&cfg->mu);
            *leader = i;
            return true;
        }
    }
    pthread_mutex_unlock(&cfg->mu);
    *leader = 0;
    return false;
}

/* Partition servers into 2 groups and put current leader in minority. */
void kv4cfg_make_partition(struct kv4cfg *cfg, int *p1, int *n1, int *p2,
                           int *n2)
{
    int l = 0;
    kv4cfg_leader(cfg, &l);
    *n1 = cfg->n / 2 + 1;
    *n2 = cfg->n / 2;
    int j = 0;
    for (int i = 0; i < cfg->n; i++) {
        if (i == l)
            continue;
        if (j < *n1)
            p1[j] = i;
        else
            p2[j - *n1] = i;
        j++;
    }
    p2[*n2 - 1] = l;
}

/* ---- clients ------------------------------------------------------------ */

void kv4cfg_connect_client(struct kv4cfg *cfg, struct kv4_client *c,
                           const int *to, int nto)
{
    pthread_mutex_lock(&cfg->mu);
    for (int j = 0; j < nto; j++)
        labnet_enable(cfg->net, c->endnames[to[j]], true);
    pthread_mutex_unlock(&cfg->mu);
}

void kv4cfg_disconnect_client(struct kv4cfg *cfg, struct kv4_client *c,
                              const int *from, int nfrom)
{
    pthread_mutex_lock(&cfg->mu);
    for (int j = 0; j < nfrom; j++)
        labnet_enable(cfg->net, c->endnames[from[j]], false);
    pthread_mutex_unlock(&cfg->mu);
}

/* Create a clerk with clerk specific server names. Give it connections to
 * all of the servers, but for now enable only connections to servers in
 * to[]. */
struct kv4_client *kv4cfg_make_client(struct kv4cfg *cfg, const int *to,
                                      int nto)
{
    int n = cfg->n;
    struct kv4_client *c = xcalloc(1, sizeof(*c));
    c->endnames = xcalloc((size_t)n, sizeof(*c->endnames));
    struct rpc_end **ends = xcalloc((size_t)n, sizeof(*ends));
    for (int j = 0; j < n; j++) {
        tester_randstring(c->endnames[j], ENDNAME_LEN);
        ends[j] = labnet_make_end(cfg->net, c->endnames[j]);
        labnet_connect(cfg->net, c->endnames[j], cfg->names[j]);
    }
    /* random_handles: the clerk must not assume ends[i] is server i. */
    for (int i = n - 1; i > 0; i--) {
        int k = (int)tester_rand_below((uint64_t)i + 1);
        struct rpc_end *t = ends[i];
        ends[i] = ends[k];
        ends[k] = t;
    }
    c->ck = kv_clerk_new(ends, n, (uint64_t)tester_rand_int() << 1 | 1);
    free(ends);
    pthread_mutex_lock(&cfg->mu);
    c->prev = cfg->clients.prev;
    c->next = &cfg->clients;
    cfg->clients.prev->next = c;
    cfg->clients.prev = c;
    pthread_mutex_unlock(&cfg->mu);
    kv4cfg_connect_client(cfg, c, to, nto);
    return c;
}

struct kv4_client *kv4cfg_make_client_all(struct kv4cfg *cfg)
{
    int *all = all_servers(cfg);
    struct kv4_client *c = kv4cfg_make_client(cfg, all, cfg->n);
    free(all);
    return c;
}

static void free_client(struct kv4_client *c)
{
    kv_clerk_free(c->ck);
    free(c->endnames);
    free(c);
}

void kv4cfg_delete_client(struct kv4cfg *cfg, struct kv4_client *c)
{
    pthread_mutex_lock(&cfg->mu);
    c->next->prev = c->prev;
    c->prev->next = c->next;
    pthread_mutex_unlock(&cfg->mu);
    for (int j = 0; j < cfg->n; j++)
        labnet_delete_end(cfg->net, c->endnames[j]);
    free_client(c);
}

/* ---- servers ------------------------------------------------------------- */

/* Shutdown a server by isolating it. */
void kv4cfg_shutdown_server(struct kv4cfg *cfg, int i)
{
    int *all = all_servers(cfg);
    pthread_mutex_lock(&cfg->mu);
    disconnect_locked(cfg, i, all, cfg->n);
    /* disable client connections to the server. it's important to do this
     * before creating the new Persister in saved[i], to avoid the
     * possibility of the server returning a positive reply to an Append
     * but persisting the result in the superseded Persister. */
    labnet_delete_server(cfg->net, cfg->names[i]);
    /* a fresh persister, in case old instance continues to update the
     * Persister. but copy old persister's content so that we always pass
     * Make() the last persisted state. */
    struct persister *old = cfg->saved[i];
    if (old)
        cfg->saved[i] = persister_copy(old);
    struct kv4inst *in = cfg->inst[i];
    cfg->inst[i] = NULL;
    char (*names)[24] = cfg->endnames[i];
    cfg->endnames[i] = NULL;
    pthread_mutex_unlock(&cfg->mu);
    free(all);

    if (in) {
        kv_kill(in->kv);         /* handlers return; raft stops */
        rpc_server_close(in->srv);
        kv_free(in->kv);
        free(in);
    }
    if (names) {
        for (int j = 0; j < cfg->n; j++)
            if (j != i)
                labnet_delete_end(cfg->net, names[j]);
        free(names);
    }
    /* Only now is nobody using the old persister. */
    if (old)
        persister_free(old);
}

/* If restart servers, first call ShutdownServer. */
void kv4cfg_start_server(struct kv4cfg *cfg, int i)
{
    pthread_mutex_lock(&cfg->mu);
    bool running = cfg->inst[i] != NULL;
    pthread_mutex_unlock(&cfg->mu);
    if (running)
        kv4cfg_shutdown_server(cfg, i);

    int n = cfg->n;
    /* a fresh set of outgoing ClientEnd names, and ClientEnds. */
    char (*names)[24] = xcalloc((size_t)n, sizeof(*names));
    struct rpc_end **ends = xcalloc((size_t)n, sizeof(*ends));
    for (int j = 0; j < n; j++) {
        if (j == i)
            continue; /* Raft never calls itself: peers[me] may be NULL */
        tester_randstring(names[j], ENDNAME_LEN);
        ends[j] = labnet_make_end(cfg->net, names[j]);
        timeline_end_owner(names[j], cfg->names[i]);
        labnet_connect(cfg->net, names[j], cfg->names[j]);
    }

    pthread_mutex_lock(&cfg->mu);
    cfg->endnames[i] = names;
    /* a fresh persister, so old instance doesn't overwrite new instance's
     * persisted state. give the fresh persister a copy of the old
     * persister's state, so that the spec is that we pass StartKVServer()
     * the last persisted state. */
    if (cfg->saved[i]) {
        struct persister *p = persister_copy(cfg->saved[i]);
        persister_free(cfg->saved[i]);
        cfg->saved[i] = p;
    } else {
        cfg->saved[i] = persister_new_mem();
    }
    struct persister *pers = cfg->saved[i];
    pthread_mutex_unlock(&cfg->mu);

    timeline_tap_persister(pers, cfg->names[i]);
    struct kv4inst *in = xcalloc(1, sizeof(*in));
    in->kv = kv_server_start(ends, n, i, pers, cfg->maxraftstate);
    free(ends);
    in->srv = rpc_server_new();
    int rc = kv_server_register(in->kv, in->srv);
    if (rc == 0)
        rc = rpc_server_listen(in->srv, "127.0.0.1:0");
    if (rc != 0)
        tester_fatalf("starting KV server %d: %s", i, err_name(rc));
    pthread_mutex_lock(&cfg->mu);
    cfg->inst[i] = in;
    pthread_mutex_unlock(&cfg->mu);
    labnet_add_server(cfg->net, cfg->names[i], in->srv);
}

/* ---- sizes, counters, summary --------------------------------------------- */

size_t kv4cfg_log_size(struct kv4cfg *cfg)
{
    size_t logsize = 0;
    pthread_mutex_lock(&cfg->mu);
    for (int i = 0; i < cfg->n; i++) {
        size_t n = cfg->saved[i] ? persister_state_size(cfg->saved[i]) : 0;
        if (n > logsize)
            logsize = n;
    }
    pthread_mutex_unlock(&cfg->mu);
    return logsize;
}

size_t kv4cfg_snapshot_size(struct kv4cfg *cfg)
{
    size_t snapshotsize = 0;
    pthread_mutex_lock(&cfg->mu);
    for (int i = 0; i < cfg->n; i++) {
        size_t n =
            cfg->saved[i] ? persister_snapshot_size(cfg->saved[i]) : 0;
        if (n > snapshotsize)
            snapshotsize = n;
    }
    pthread_mutex_unlock(&cfg->mu);
    return snapshotsize;
}

uint64_t kv4cfg_rpc_total(struct kv4cfg *cfg)
{
    return labnet_total_count(cfg->net);
}

void kv4cfg_begin(struct kv4cfg *cfg, const char *desc)
{
    tester_begin(desc);
    cfg->rpcs0 = kv4cfg_rpc_total(cfg);
    atomic_store(&cfg->ops, 0);
}

void kv4cfg_op(struct kv4cfg *cfg) { atomic_fetch_add(&cfg->ops, 1); }

/* end a Test -- the fact that we got here means there was no failure.
 * print the Passed message, and some performance numbers. */
void kv4cfg_end(struct kv4cfg *cfg)
{
    tester_check_timeout();
    double t = tester_begin_elapsed();         /* real time */
    int npeers = cfg->n;                       /* number of Raft peers */
    uint64_t nrpc = kv4cfg_rpc_total(cfg) - cfg->rpcs0; /* RPC sends */
    uint64_t ops = atomic_load(&cfg->ops);     /* clerk get/put/append calls */
    tester_passed("  %4.1f  %d %5" PRIu64 " %4" PRIu64 "\n", t, npeers, nrpc,
                  ops);
}

/* ---- make / cleanup ---------------------------------------------------------- */

static void dump_state(void *ctx)
{
    struct kv4cfg *cfg = ctx;
    bool locked = false;
    for (int k = 0; k < 100 && !locked; k++) {
        locked = pthread_mutex_trylock(&cfg->mu) == 0;
        if (!locked)
            clock_sleep_ms(10);
    }
    if (!locked) {
        printf("    (cluster state unavailable: config lock busy)\n");
        return;
    }
    printf("    cluster: %d servers, maxraftstate %" PRId64 "\n", cfg->n,
           cfg->maxraftstate);
    for (int i = 0; i < cfg->n; i++) {
        struct kv_server_stats st = {0};
        int64_t term = -1;
        bool leader = false;
        if (cfg->inst[i]) {
            kv_server_get_stats(cfg->inst[i]->kv, &st);
            raft_get_state(kv_server_raft(cfg->inst[i]->kv), &term, &leader);
        }
        printf("    server %d: %-5s term %" PRId64 "%s, applied %" PRId64
               ", %zu keys, %zu clients, raft state %zu B, snapshot %zu B\n",
               i, cfg->inst[i] ? "up" : "down", term,
               leader ? " (leader)" : "", st.last_applied, st.keys,
               st.clients,
               cfg->saved[i] ? persister_state_size(cfg->saved[i]) : 0,
               cfg->saved[i] ? persister_snapshot_size(cfg->saved[i]) : 0);
    }
    pthread_mutex_unlock(&cfg->mu);
}

struct kv4cfg *kv4cfg_make(int n, bool unreliable, int64_t maxraftstate)
{
    struct kv4cfg *cfg = xcalloc(1, sizeof(*cfg));
    pthread_mutex_init(&cfg->mu, NULL);
    atomic_init(&cfg->ops, 0);
    cfg->n = n;
    cfg->maxraftstate = maxraftstate;
    cfg->net = labnet_new(tester_derive_seed(1));
    cfg->names = xcalloc((size_t)n, sizeof(*cfg->names));
    cfg->inst = xcalloc((size_t)n, sizeof(*cfg->inst));
    cfg->endnames = xcalloc((size_t)n, sizeof(*cfg->endnames));
    cfg->saved = xcalloc((size_t)n, sizeof(*cfg->saved));
    cfg->clients.next = cfg->clients.prev = &cfg->clients;
    for (int i = 0; i < n; i++)
        snprintf(cfg->names[i], sizeof(cfg->names[i]), "%d", i);
    tester_set_dump(dump_state, cfg);

    /* create a full set of KV servers. */
    for (int i = 0; i < n; i++)
        kv4cfg_start_server(cfg, i);
    kv4cfg_connect_all(cfg);
    labnet_reliable(cfg->net, !unreliable);
    return cfg;
}

void kv4cfg_cleanup(struct kv4cfg *cfg)
{
    for (int i = 0; i < cfg->n; i++)
        kv4cfg_shutdown_server(cfg, i);
    labnet_free(cfg->net);
    tester_set_dump(NULL, NULL);
    while (cfg->clients.next != &cfg->clients) {
        struct kv4_client *c = cfg->clients.next;
        c->next->prev = c->prev;
        c->prev->next = c->next;
        free_client(c);
    }
    for (int i = 0; i < cfg->n; i++)
        if (cfg->saved[i])
            persister_free(cfg->saved[i]);
    free(cfg->names);
    free(cfg->inst);
    free(cfg->endnames);
    free(cfg->saved);
    pthread_mutex_destroy(&cfg->mu);
    free(cfg);
    tester_check_timeout();
}
