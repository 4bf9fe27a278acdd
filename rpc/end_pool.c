/* end_pool.c - one TCP end per "host:port", made on first use and kept
 * until the pool is freed (see end_pool.h). */
#include "rpc/end_pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"
#include "rpc/rpc_internal.h"

struct rpc_end_pool {
    pthread_mutex_t mu; /* guards the table: make_end runs on any thread */
    uint64_t timeout_ms;
    struct {
        char *addr;          /* owned */
        struct rpc_end *end; /* owned */
    } *tab;
    size_t n;
};

struct rpc_end_pool *rpc_end_pool_new(uint64_t call_timeout_ms)
{
    struct rpc_end_pool *p = xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    p->timeout_ms = call_timeout_ms;
    return p;
}

struct rpc_end *rpc_end_pool_get(void *ctx, const char *addr)
{
    struct rpc_end_pool *p = ctx;
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
            log_warn("RPC", -1, "bad server address '%s': %s", addr,
                     err_msg(err));
        }
    }
    pthread_mutex_unlock(&p->mu);
    return e;
}

/* The list parsed into ends (see end_pool.h); *self, if not NULL, gets
 * a copy of the self-th address. */
static int pool_list(struct rpc_end_pool *p, const char *prog,
                     const char *list, struct rpc_end **ends, int max,
                     int skip, int self, char **self_addr)
{
    char **addrs = xcalloc((size_t)max + 1, sizeof(*addrs));
    int n = daemon_split_list(list, addrs, max);
    int rc = n;
    if (n < 0)
        fprintf(stderr, "%s: bad address list '%s' (an empty entry, or more "
                        "than %d)\n", prog, list, max);
    else if (self >= n) {
        fprintf(stderr, "%s: index %d out of range for %d addresses in "
                        "'%s'\n", prog, self, n, list);
        rc = -1;
    }
    /* The same server twice would count twice towards a majority; port
     * 0 for ourselves would listen on a random port nobody knows. */
    for (int i = 0; rc >= 0 && i < n; i++) {
        for (int j = 0; j < i; j++) {
            if (strcmp(addrs[i], addrs[j]) == 0) {
                fprintf(stderr, "%s: duplicate address '%s' in '%s'\n",
                        prog, addrs[i], list);
                rc = -1;
                break;
            }
        }
    }
    if (rc >= 0 && self >= 0 && self < n) {
        struct rpc_addr a;
        if (rpc_addr_parse(addrs[self], true, &a) == 0 && a.family != AF_UNIX &&
            strcmp(a.port, "0") == 0) {
            fprintf(stderr, "%s: this server's address '%s' has port 0 "
                            "(peers could not reach it)\n", prog, addrs[self]);
            rc = -1;
        }
    }
    for (int i = 0; rc >= 0 && i < n; i++) {
        ends[i] = i == skip ? NULL : rpc_end_pool_get(p, addrs[i]);
        if (i != skip && !ends[i]) {
            fprintf(stderr, "%s: bad address '%s' in '%s'\n", prog,
                    addrs[i], list);
            rc = -1;
        }
    }
    if (rc >= 0 && self_addr)
        *self_addr = xstrdup(addrs[self]);
    if (n > 0)
        daemon_free_list(addrs, n);
    free(addrs);
    return rc;
}

int rpc_end_pool_list(struct rpc_end_pool *p, const char *prog,
                      const char *list, struct rpc_end **ends, int max,
                      int skip)
{
    return pool_list(p, prog, list, ends, max, skip, -1, NULL);
}

int rpc_end_pool_peers(struct rpc_end_pool *p, const char *prog,
                       const char *list, int me, struct rpc_end **ends,
                       int max, char **self)
{
    return pool_list(p, prog, list, ends, max, me, me, self);
}

void rpc_end_pool_shutdown(struct rpc_end_pool *p)
{
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n; i++)
        rpc_end_shutdown(p->tab[i].end);
    pthread_mutex_unlock(&p->mu);
}

void rpc_end_pool_free(struct rpc_end_pool *p)
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
