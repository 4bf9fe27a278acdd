/* tcp_ends.c - the make_end of real deployments: configurations name
 * servers by "host:port", and every daemon, CLI or benchmark that talks
 * to shardkv groups needs one TCP end per such address, made on first use
 * and kept until shutdown (skv_make_end_fn's contract). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "shardkv/shardkv.h"

struct skv_tcp_ends {
    pthread_mutex_t mu; /* guards the table: make_end runs on any thread */
    uint64_t timeout_ms;
    struct {
        char *addr;          /* owned */
        struct rpc_end *end; /* owned */
    } *tab;
    size_t n;
};

struct skv_tcp_ends *skv_tcp_ends_new(uint64_t call_timeout_ms)
{
    struct skv_tcp_ends *p = xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    p->timeout_ms = call_timeout_ms;
    return p;
}

struct rpc_end *skv_tcp_make_end(void *ctx, const char *addr)
{
    struct skv_tcp_ends *p = ctx;
    struct rpc_end *e = NULL;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n && !e; i++)
        if (strcmp(p->tab[i].addr, addr) == 0)
            e = p->tab[i].end;
    if (!e) {
        /* rpc_end_new does no I/O, so holding the table lock is fine. */
        int err = 0;
        e = rpc_end_new(addr, &err);
        if (e) {
            if (p->timeout_ms)
                rpc_end_set_timeout(e, p->timeout_ms);
            p->tab = xrealloc(p->tab, (p->n + 1) * sizeof(*p->tab));
            p->tab[p->n].addr = xstrdup(addr);
            p->tab[p->n++].end = e;
        } else {
            log_warn("SKV", -1, "bad server address '%s': %s", addr,
                     err_msg(err));
        }
    }
    pthread_mutex_unlock(&p->mu);
    return e;
}

void skv_tcp_ends_shutdown(struct skv_tcp_ends *p)
{
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n; i++)
        rpc_end_shutdown(p->tab[i].end);
    pthread_mutex_unlock(&p->mu);
}

void skv_tcp_ends_free(struct skv_tcp_ends *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        rpc_end_free(p->tab[i].end);
        free(p->tab[i].addr);
    }
    free(p->tab);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
