/* config.c - lab 5A tester cluster: n shardctrler replicas over labnet
 * (see config.h). Mirrors shardctrler/config.go; comments quoted from it
 * explain the ordering that matters. */
#include "labs/shardctrler/config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/persister.h"
#include "labs/net/labnet.h"
#include "labs/tester/tester.h"
#include "labs/timeline/raft_tap.h"
#include "labs/timeline/timeline.h"

#define ENDNAME_LEN 20

struct sc5inst {
    struct sc_server *sc;
    struct rpc_server *srv;
};

struct sc5client {
    struct sc_clerk *ck;
    char (*endnames)[24];
    struct sc5client *next;
};

struct sc5cfg {
    pthread_mutex_t mu;
    int n;
    struct labnet *net;
    char (*names)[16];
    /* guarded by mu: */
    struct sc5inst **inst;
    char (**endnames)[24];
    struct persister **saved;
    struct sc5client *clients;
};

int sc5cfg_n(const struct sc5cfg *cfg) { return cfg->n; }

static void enable_locked(struct sc5cfg *cfg, int from, int to, bool on)
{
    if (from != to && cfg->endnames[from])
        labnet_enable(cfg->net, cfg->endnames[from][to], on);
}

void sc5cfg_connect_all(struct sc5cfg *cfg)
{
    pthread_mutex_lock(&cfg->mu);
    for (int i = 0; i < cfg->n; i++)
        for (int j = 0; j < cfg->n; j++) {
            enable_locked(cfg, i, j, true);
            enable_locked(cfg, j, i, true);
        }
    pthread_mutex_unlock(&cfg->mu);
}

struct sc_clerk *sc5cfg_make_client(struct sc5cfg *cfg)
{
    int n = cfg->n;
    struct sc5client *c = xcalloc(1, sizeof(*c));
    c->endnames = xcalloc((size_t)n, sizeof(*c->endnames));
    struct rpc_end **ends = xcalloc((size_t)n, sizeof(*ends));
    for (int j = 0; j < n; j++) {
        tester_randstring(c->endnames[j], ENDNAME_LEN);
        ends[j] = labnet_make_end(cfg->net, c->endnames[j]);
        labnet_connect(cfg->net, c->endnames[j], cfg->names[j]);
        labnet_enable(cfg->net, c->endnames[j], true);
    }
    /* random_handles */
    for (int i = n - 1; i > 0; i--) {
        int k = (int)tester_rand_below((uint64_t)i + 1);
        struct rpc_end *t = ends[i];
        ends[i] = ends[k];
        ends[k] = t;
    }
    c->ck = sc_clerk_new(ends, n, (uint64_t)tester_rand_int() << 1 | 1);
    free(ends);
    pthread_mutex_lock(&cfg->mu);
    c->next = cfg->clients;
    cfg->clients = c;
    pthread_mutex_unlock(&cfg->mu);
    return c->ck;
}

/* Shutdown a server by isolating it. */
void sc5cfg_shutdown_server(struct sc5cfg *cfg, int i)
{
    pthread_mutex_lock(&cfg->mu);
    for (int j = 0; j < cfg->n; j++) {
        enable_locked(cfg, i, j, false);
        enable_locked(cfg, j, i, false);
    }
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
    struct sc5inst *in = cfg->inst[i];
    cfg->inst[i] = NULL;
    char (*names)[24] = cfg->endnames[i];
    cfg->endnames[i] = NULL;
    pthread_mutex_unlock(&cfg->mu);

    if (in) {
        sc_kill(in->sc);
        rpc_server_close(in->srv);
        sc_free(in->sc);
        free(in);
    }
    if (names) {
        for (int j = 0; j < cfg->n; j++)
            if (j != i)
                labnet_delete_end(cfg->net, names[j]);
        free(names);
    }
    if (old)
        persister_free(old);
}

/* If restart servers, first call ShutdownServer */
void sc5cfg_start_server(struct sc5cfg *cfg, int i)
{
    pthread_mutex_lock(&cfg->mu);
    bool running = cfg->inst[i] != NULL;
    pthread_mutex_unlock(&cfg->mu);
    if (running)
        sc5cfg_shutdown_server(cfg, i);

    int n = cfg->n;
    /* a fresh set of outgoing ClientEnd names. */
    char (*names)[24] = xcalloc((size_t)n, sizeof(*names));
    struct rpc_end **ends = xcalloc((size_t)n, sizeof(*ends));
    for (int j = 0; j < n; j++) {
        if (j == i)
            continue;
        tester_randstring(names[j], ENDNAME_LEN);
        ends[j] = labnet_make_end(cfg->net, names[j]);
        timeline_end_owner(names[j], cfg->names[i]);
        labnet_connect(cfg->net, names[j], cfg->names[j]);
    }
    pthread_mutex_lock(&cfg->mu);
    cfg->endnames[i] = names;
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
    struct sc5inst *in = xcalloc(1, sizeof(*in));
    in->sc = sc_server_start(ends, n, i, pers, -1);
    free(ends);
    in->srv = rpc_server_new();
    int rc = sc_server_register(in->sc, in->srv);
    if (rc == 0)
        rc = rpc_server_listen(in->srv, "127.0.0.1:0");
    if (rc != 0)
        tester_fatalf("starting controller %d: %s", i, err_name(rc));
    pthread_mutex_lock(&cfg->mu);
    cfg->inst[i] = in;
    pthread_mutex_unlock(&cfg->mu);
    labnet_add_server(cfg->net, cfg->names[i], in->srv);
}

bool sc5cfg_leader(struct sc5cfg *cfg, int *leader)
{
    pthread_mutex_lock(&cfg->mu);
    for (int i = 0; i < cfg->n; i++) {
        if (!cfg->inst[i])
            continue;
        int64_t term;
        bool is_leader = false;
        raft_get_state(sc_server_raft(cfg->inst[i]->sc), &term, &is_leader);
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

bool sc5cfg_server_config(struct sc5cfg *cfg, int i, int64_t num,
                          struct sc_config *out)
{
    pthread_mutex_lock(&cfg->mu);
    bool up = cfg->inst[i] != NULL;
    if (up)
        sc_server_config(cfg->inst[i]->sc, num, out);
    pthread_mutex_unlock(&cfg->mu);
    return up;
}

static void dump_state(void *ctx)
{
    struct sc5cfg *cfg = ctx;
    if (pthread_mutex_trylock(&cfg->mu) != 0) {
        printf("    (cluster state unavailable: config lock busy)\n");
        return;
    }
    for (int i = 0; i < cfg->n; i++) {
        struct sc_server_stats st = {0};
        int64_t term = -1;
        bool leader = false;
        if (cfg->inst[i]) {
            sc_server_get_stats(cfg->inst[i]->sc, &st);
            raft_get_state(sc_server_raft(cfg->inst[i]->sc), &term, &leader);
        }
        printf("    controller %d: %-5s term %lld%s, applied %lld, latest "
               "config %lld\n",
               i, cfg->inst[i] ? "up" : "down", (long long)term,
               leader ? " (leader)" : "", (long long)st.last_applied,
               (long long)st.latest);
    }
    pthread_mutex_unlock(&cfg->mu);
}

struct sc5cfg *sc5cfg_make(int n, bool unreliable)
{
    struct sc5cfg *cfg = xcalloc(1, sizeof(*cfg));
    pthread_mutex_init(&cfg->mu, NULL);
    cfg->n = n;
    cfg->net = labnet_new(tester_derive_seed(1));
    cfg->names = xcalloc((size_t)n, sizeof(*cfg->names));
    cfg->inst = xcalloc((size_t)n, sizeof(*cfg->inst));
    cfg->endnames = xcalloc((size_t)n, sizeof(*cfg->endnames));
    cfg->saved = xcalloc((size_t)n, sizeof(*cfg->saved));
    for (int i = 0; i < n; i++)
        snprintf(cfg->names[i], sizeof(cfg->names[i]), "%d", i);
    tester_set_dump(dump_state, cfg);
    /* create a full set of servers. */
    for (int i = 0; i < n; i++)
        sc5cfg_start_server(cfg, i);
    sc5cfg_connect_all(cfg);
    labnet_reliable(cfg->net, !unreliable);
    return cfg;
}

void sc5cfg_cleanup(struct sc5cfg *cfg)
{
    for (int i = 0; i < cfg->n; i++)
        sc5cfg_shutdown_server(cfg, i);
    labnet_free(cfg->net);
    tester_set_dump(NULL, NULL);
    while (cfg->clients) {
        struct sc5client *c = cfg->clients;
        cfg->clients = c->next;
        sc_clerk_free(c->ck);
        free(c->endnames);
        free(c);
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
