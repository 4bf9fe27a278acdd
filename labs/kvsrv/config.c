/* config.c - lab 2 tester cluster: one kvsrv over labnet (see config.h). */
#include "labs/kvsrv/config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "labs/net/labnet.h"
#include "labs/tester/tester.h"

#define SERVERID "0"
#define ENDNAME_LEN 20

struct kv2cfg {
    struct labnet *net;
    struct kvsrv *kv;
    struct rpc_server *srv;
    atomic_uint_fast64_t ops;
    pthread_mutex_t mu;          /* guards clients */
    struct kv2_client clients;   /* list head of live clients */
    uint64_t rpcs0;
    bool unreliable;
};

struct kv2cfg *kv2cfg_make(bool unreliable)
{
    struct kv2cfg *cfg = xcalloc(1, sizeof(*cfg));
    atomic_init(&cfg->ops, 0);
    pthread_mutex_init(&cfg->mu, NULL);
    cfg->clients.next = cfg->clients.prev = &cfg->clients;
    cfg->unreliable = unreliable;
    cfg->net = labnet_new(tester_derive_seed(1));
    cfg->kv = kvsrv_new();
    cfg->srv = rpc_server_new();
    int rc = kvsrv_register(cfg->kv, cfg->srv);
    if (rc == 0)
        rc = rpc_server_listen(cfg->srv, "127.0.0.1:0");
    if (rc != 0)
        tester_fatalf("starting the KV server: %s", err_name(rc));
    labnet_add_server(cfg->net, SERVERID, cfg->srv);
    labnet_reliable(cfg->net, !unreliable);
    return cfg;
}

void kv2cfg_cleanup(struct kv2cfg *cfg)
{
    labnet_delete_server(cfg->net, SERVERID);
    labnet_free(cfg->net); /* fails calls in progress, frees the ends */
    rpc_server_close(cfg->srv);
    while (cfg->clients.next != &cfg->clients) {
        struct kv2_client *c = cfg->clients.next;
        c->next->prev = c->prev;
        c->prev->next = c->next;
        kvsrv_clerk_free(c->ck);
        free(c);
    }
    pthread_mutex_destroy(&cfg->mu);
    kvsrv_free(cfg->kv);
    free(cfg);
    tester_check_timeout();
}

struct kv2_client *kv2cfg_make_client(struct kv2cfg *cfg)
{
    struct kv2_client *c = xcalloc(1, sizeof(*c));
    tester_randstring(c->endname, ENDNAME_LEN);
    c->end = labnet_make_end(cfg->net, c->endname);
    labnet_connect(cfg->net, c->endname, SERVERID);
    labnet_enable(cfg->net, c->endname, true);
    /* The clerk's id follows the test seed (ids must only be distinct). */
    uint64_t id = (uint64_t)tester_rand_int() << 1 | 1;
    c->ck = kvsrv_clerk_new(c->end, id);
    pthread_mutex_lock(&cfg->mu);
    c->prev = cfg->clients.prev;
    c->next = &cfg->clients;
    cfg->clients.prev->next = c;
    cfg->clients.prev = c;
    pthread_mutex_unlock(&cfg->mu);
    return c;
}

void kv2cfg_delete_client(struct kv2cfg *cfg, struct kv2_client *c)
{
    pthread_mutex_lock(&cfg->mu);
    c->next->prev = c->prev;
    c->prev->next = c->next;
    pthread_mutex_unlock(&cfg->mu);
    labnet_delete_end(cfg->net, c->endname);
    kvsrv_clerk_free(c->ck);
    free(c);
}

void kv2cfg_begin(struct kv2cfg *cfg, const char *desc)
{
    tester_begin(desc);
    cfg->rpcs0 = labnet_total_count(cfg->net);
    atomic_store(&cfg->ops, 0);
}

void kv2cfg_end(struct kv2cfg *cfg)
{
    tester_check_timeout();
    double t = tester_begin_elapsed();
    uint64_t nrpc = labnet_total_count(cfg->net) - cfg->rpcs0;
    uint64_t ops = atomic_load(&cfg->ops);
    tester_passed(" t %4.1f nrpc %5llu ops %4llu\n", t,
                  (unsigned long long)nrpc, (unsigned long long)ops);
}

void kv2cfg_op(struct kv2cfg *cfg) { atomic_fetch_add(&cfg->ops, 1); }

size_t kv2cfg_server_mem(struct kv2cfg *cfg)
{
    return kvsrv_mem_bytes(cfg->kv);
}

size_t kv2cfg_server_clients(struct kv2cfg *cfg)
{
    return kvsrv_dedup_clients(cfg->kv);
}
