/* config.c - lab 5 shardkv tester: controller services and replica groups
 * over labnet (see config.h). Mirrors shardkv/config.go step for step;
 * comments quoted from it explain the ordering that matters. */
#include "labs/shardkv/config.h"

#include <inttypes.h>
#include <pthread.h>
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
#define MAXN 7

struct skv5ctl {
    char names[SKV5_NCTRLERS][32];
    struct sc_server *servers[SKV5_NCTRLERS];
    struct rpc_server *srv[SKV5_NCTRLERS];
    struct persister *pers[SKV5_NCTRLERS];
    char endnames[SKV5_NCTRLERS][SKV5_NCTRLERS][24];
    struct skv5ctl *next;
};

/* One running shardkv server, and the ends its make_end made. */
struct skv5inst {
    struct skv5cfg *cfg;
    struct skv_server *kv;
    struct rpc_server *srv;
    char (*mkends)[24]; /* guarded by cfg->mu */
    size_t nmkends;
    bool shut;
};

struct skv5group {
    int gid;
    struct skv5inst *servers[MAXN];
    struct persister *saved[MAXN];
    char endnames[MAXN][MAXN][24];           /* Raft peers */
    char mendnames[MAXN][SKV5_NCTRLERS][24]; /* controller ends */
    bool has_ends[MAXN];
};

struct skv5cfg {
    pthread_mutex_t mu;
    struct labnet *net;
    int n;
    int64_t maxraftstate;
    struct skv5ctl *ctl;  /* main controller service */
    struct skv5ctl *ctls; /* every controller service (list) */
    struct skv5group groups[SKV5_NGROUPS];
    struct skv5client clients; /* list head, guarded by mu */
    int nclients;              /* made so far, guarded by mu */
};

int skv5cfg_n(const struct skv5cfg *cfg) { return cfg->n; }
int64_t skv5cfg_maxraftstate(const struct skv5cfg *cfg)
{
    return cfg->maxraftstate;
}
int skv5cfg_gid(const struct skv5cfg *cfg, int gi)
{
    return cfg->groups[gi].gid;
}

void skv5cfg_reliable(struct skv5cfg *cfg, bool reliable)
{
    labnet_reliable(cfg->net, reliable);
}

static void servername(const struct skv5cfg *cfg, int gi, int i, char *buf,
                       size_t n)
{
    snprintf(buf, n, "server-%d-%d", cfg->groups[gi].gid, i);
}

/* A new enabled end to servername; its name (random) goes to *name. */
static struct rpc_end *new_end(struct skv5cfg *cfg, const char *server,
                               char name[24])
{
    tester_randstring(name, ENDNAME_LEN);
    struct rpc_end *e = labnet_make_end(cfg->net, name);
    labnet_connect(cfg->net, name, server);
    labnet_enable(cfg->net, name, true);
    return e;
}

/* ---- clients -------------------------------------------------------------- */

/* The clerk's make_end: "name := randstring(20); end := MakeEnd(name);
 * Connect(name, servername); Enable(name, true)". Remembered, so that the
 * clerk can be shut down. */
static struct rpc_end *client_make_end(void *ctx, const char *server)
{
    struct skv5client *c = ctx;
    struct skv5cfg *cfg = c->cfg;
    char name[24];
    struct rpc_end *e = new_end(cfg, server, name);
    pthread_mutex_lock(&cfg->mu);
    c->endnames = xrealloc(c->endnames,
                           (c->nendnames + 1) * sizeof(*c->endnames));
    memcpy(c->endnames[c->nendnames++], name, 24);
    bool shut = c->shut;
    pthread_mutex_unlock(&cfg->mu);
    if (shut) /* shut down meanwhile: hand out a dead end */
        labnet_delete_end(cfg->net, name);
    return e;
}

struct skv5client *skv5cfg_make_client_ctl(struct skv5cfg *cfg,
                                           struct skv5ctl *ctl)
{
    struct skv5client *c = xcalloc(1, sizeof(*c));
    c->cfg = cfg;
    struct rpc_end *ends[SKV5_NCTRLERS];
    c->endnames = xcalloc(SKV5_NCTRLERS, sizeof(*c->endnames));
    for (int j = 0; j < SKV5_NCTRLERS; j++)
        ends[j] = new_end(cfg, ctl->names[j], c->endnames[j]);
    c->nendnames = SKV5_NCTRLERS;
    c->ck = skv_clerk_new(ends, SKV5_NCTRLERS, client_make_end, c,
                          (uint64_t)tester_rand_int() << 1 | 1);
    pthread_mutex_lock(&cfg->mu);
    c->id = cfg->nclients++;
    c->prev = cfg->clients.prev;
    c->next = &cfg->clients;
    cfg->clients.prev->next = c;
    cfg->clients.prev = c;
    pthread_mutex_unlock(&cfg->mu);
    return c;
}

struct skv5client *skv5cfg_make_client(struct skv5cfg *cfg)
{
    return skv5cfg_make_client_ctl(cfg, cfg->ctl);
}

void skv5cfg_client_shutdown(struct skv5cfg *cfg, struct skv5client *c)
{
    pthread_mutex_lock(&cfg->mu);
    c->shut = true;
    size_t n = c->nendnames;
    char (*names)[24] = xcalloc(n + 1, sizeof(*names));
    memcpy(names, c->endnames, n * sizeof(*names));
    pthread_mutex_unlock(&cfg->mu);
    for (size_t i = 0; i < n; i++)
        labnet_delete_end(cfg->net, names[i]);
    free(names);
}

static void free_client(struct skv5client *c)
{
    skv_clerk_free(c->ck);
    free(c->endnames);
    free(c);
}

void skv5cfg_delete_client(struct skv5cfg *cfg, struct skv5client *c)
{
    skv5cfg_client_shutdown(cfg, c);
    pthread_mutex_lock(&cfg->mu);
    c->next->prev = c->prev;
    c->prev->next = c->next;
    pthread_mutex_unlock(&cfg->mu);
    free_client(c);
}

/* ---- controller services ------------------------------------------------------ */

static struct skv5ctl *start_ctl(struct skv5cfg *cfg)
{
    struct skv5ctl *ctl = xcalloc(1, sizeof(*ctl));
    for (int i = 0; i < SKV5_NCTRLERS; i++) {
        char r[24];
        tester_randstring(r, ENDNAME_LEN);
        snprintf(ctl->names[i], sizeof(ctl->names[i]), "ctlr-%s", r);
    }
    for (int i = 0; i < SKV5_NCTRLERS; i++) {
        struct rpc_end *ends[SKV5_NCTRLERS] = {0};
        for (int j = 0; j < SKV5_NCTRLERS; j++)
            if (j != i)
                ends[j] = new_end(cfg, ctl->names[j], ctl->endnames[i][j]);
        ctl->pers[i] = persister_new_mem();
        timeline_tap_persister(ctl->pers[i], ctl->names[i]);
        ctl->servers[i] = sc_server_start(ends, SKV5_NCTRLERS, i,
                                          ctl->pers[i], -1);
        ctl->srv[i] = rpc_server_new();
        int rc = sc_server_register(ctl->servers[i], ctl->srv[i]);
        if (rc == 0)
            rc = rpc_server_listen(ctl->srv[i], "127.0.0.1:0");
        if (rc != 0)
            tester_fatalf("starting controller %d: %s", i, err_name(rc));
        labnet_add_server(cfg->net, ctl->names[i], ctl->srv[i]);
    }
    pthread_mutex_lock(&cfg->mu);
    ctl->next = cfg->ctls;
    cfg->ctls = ctl;
    pthread_mutex_unlock(&cfg->mu);
    return ctl;
}

struct skv5ctl *skv5cfg_start_ctrler_service(struct skv5cfg *cfg)
{
    return start_ctl(cfg);
}

static void stop_ctl(struct skv5cfg *cfg, struct skv5ctl *ctl)
{
    for (int i = 0; i < SKV5_NCTRLERS; i++) {
        labnet_delete_server(cfg->net, ctl->names[i]);
        sc_kill(ctl->servers[i]);
        rpc_server_close(ctl->srv[i]);
        sc_free(ctl->servers[i]);
        ctl->servers[i] = NULL;
    }
}

/* Join/leave through a controller's own clerk. */
static struct sc_group group_of(struct skv5cfg *cfg, int gi)
{
    struct sc_group g = {cfg->groups[gi].gid, cfg->n, NULL};
    g.servers = xcalloc((size_t)cfg->n + 1, sizeof(char *));
    for (int i = 0; i < cfg->n; i++) {
        char name[32];
        servername(cfg, gi, i, name, sizeof name);
        g.servers[i] = xstrdup(name);
    }
    return g;
}

/* ctl.ck: a controller clerk on fresh ends, made per call (cheap), so
 * concurrent joins/leaves from several test threads never share one. */
static struct sc_clerk *ctl_clerk(struct skv5cfg *cfg, struct skv5ctl *ctl,
                                  char names[SKV5_NCTRLERS][24])
{
    struct rpc_end *ends[SKV5_NCTRLERS];
    for (int j = 0; j < SKV5_NCTRLERS; j++)
        ends[j] = new_end(cfg, ctl->names[j], names[j]);
    return sc_clerk_new(ends, SKV5_NCTRLERS, 0);
}

static void ctl_clerk_done(struct skv5cfg *cfg, struct sc_clerk *ck,
                           char names[SKV5_NCTRLERS][24])
{
    sc_clerk_free(ck);
    for (int j = 0; j < SKV5_NCTRLERS; j++)
        labnet_delete_end(cfg->net, names[j]);
}

static void joinm_ctl(struct skv5cfg *cfg, const int *gis, int n,
                      struct skv5ctl *ctl)
{
    struct sc_group *gs = xcalloc((size_t)n + 1, sizeof(*gs));
    for (int k = 0; k < n; k++)
        gs[k] = group_of(cfg, gis[k]);
    char names[SKV5_NCTRLERS][24];
    struct sc_clerk *ck = ctl_clerk(cfg, ctl, names);
    if (sc_clerk_join(ck, gs, n) != 0)
        tester_fatalf("the controller's Join did not succeed: is the "
                      "shardctrler (lab 5A) working?");
    ctl_clerk_done(cfg, ck, names);
    for (int k = 0; k < n; k++) {
        for (int i = 0; i < gs[k].nservers; i++)
            free(gs[k].servers[i]);
        free(gs[k].servers);
    }
    free(gs);
}

void skv5cfg_joinm(struct skv5cfg *cfg, const int *gis, int n)
{
    joinm_ctl(cfg, gis, n, cfg->ctl);
}

void skv5cfg_join(struct skv5cfg *cfg, int gi) { skv5cfg_joinm(cfg, &gi, 1); }

void skv5cfg_ctljoin(struct skv5cfg *cfg, int gi, struct skv5ctl *ctl)
{
    joinm_ctl(cfg, &gi, 1, ctl);
}

void skv5cfg_leavem(struct skv5cfg *cfg, const int *gis, int n)
{
    int gids[SKV5_NGROUPS];
    for (int k = 0; k < n; k++)
        gids[k] = cfg->groups[gis[k]].gid;
    char names[SKV5_NCTRLERS][24];
    struct sc_clerk *ck = ctl_clerk(cfg, cfg->ctl, names);
    if (sc_clerk_leave(ck, gids, n) != 0)
        tester_fatalf("the controller's Leave did not succeed: is the "
                      "shardctrler (lab 5A) working?");
    ctl_clerk_done(cfg, ck, names);
}

void skv5cfg_leave(struct skv5cfg *cfg, int gi)
{
    skv5cfg_leavem(cfg, &gi, 1);
}

void skv5cfg_query(struct skv5cfg *cfg, int64_t num, struct sc_config *out)
{
    char names[SKV5_NCTRLERS][24];
    struct sc_clerk *ck = ctl_clerk(cfg, cfg->ctl, names);
    if (sc_clerk_query(ck, num, out) != 0)
        tester_fatalf("the controller's Query did not succeed: is the "
                      "shardctrler (lab 5A) working?");
    ctl_clerk_done(cfg, ck, names);
}

/* ---- shardkv servers ---------------------------------------------------------- */

/* A server's make_end: a fresh enabled end, remembered so that shutting
 * the server down can shut it. */
static struct rpc_end *server_make_end(void *ctx, const char *server)
{
    struct skv5inst *in = ctx;
    struct skv5cfg *cfg = in->cfg;
    char name[24];
    struct rpc_end *e = new_end(cfg, server, name);
    pthread_mutex_lock(&cfg->mu);
    in->mkends = xrealloc(in->mkends, (in->nmkends + 1) * sizeof(*in->mkends));
    memcpy(in->mkends[in->nmkends++], name, 24);
    bool shut = in->shut;
    pthread_mutex_unlock(&cfg->mu);
    if (shut)
        labnet_delete_end(cfg->net, name);
    return e;
}

void skv5cfg_shutdown_server(struct skv5cfg *cfg, int gi, int i)
{
    struct skv5group *gg = &cfg->groups[gi];
    char sname[32];
    servername(cfg, gi, i, sname, sizeof sname);
    pthread_mutex_lock(&cfg->mu);
    /* prevent this server from sending */
    if (gg->has_ends[i]) {
        for (int j = 0; j < cfg->n; j++)
            if (j != i)
                labnet_enable(cfg->net, gg->endnames[i][j], false);
        for (int j = 0; j < SKV5_NCTRLERS; j++)
            labnet_enable(cfg->net, gg->mendnames[i][j], false);
    }
    /* disable client connections to the server. it's important to do this
     * before creating the new Persister in saved[i], to avoid the
     * possibility of the server returning a positive reply to an Append
     * but persisting the result in the superseded Persister. */
    labnet_delete_server(cfg->net, sname);
    /* a fresh persister, in case old instance continues to update the
     * Persister. but copy old persister's content so that we always pass
     * Make() the last persisted state. */
    struct persister *old = gg->saved[i];
    if (old)
        gg->saved[i] = persister_copy(old);
    struct skv5inst *in = gg->servers[i];
    gg->servers[i] = NULL;
    bool had_ends = gg->has_ends[i];
    gg->has_ends[i] = false;
    char (*mk)[24] = NULL;
    size_t nmk = 0;
    if (in) {
        in->shut = true;
        nmk = in->nmkends;
        mk = xcalloc(nmk + 1, sizeof(*mk));
        if (nmk) /* mkends is NULL until the server makes an end */
            memcpy(mk, in->mkends, nmk * sizeof(*mk));
    }
    pthread_mutex_unlock(&cfg->mu);

    if (in) {
        /* C port: shut the ends it made and its controller ends, so its
         * threads return from their calls at once and kill can join
         * them. */
        for (size_t k = 0; k < nmk; k++)
            labnet_delete_end(cfg->net, mk[k]);
        for (int j = 0; j < SKV5_NCTRLERS; j++)
            labnet_delete_end(cfg->net, gg->mendnames[i][j]);
        skv_kill(in->kv);
        rpc_server_close(in->srv);
        skv_free(in->kv);
        free(in->mkends);
        free(in);
    }
    free(mk);
    if (had_ends)
        for (int j = 0; j < cfg->n; j++)
            if (j != i)
                labnet_delete_end(cfg->net, gg->endnames[i][j]);
    if (old)
        persister_free(old);
}

void skv5cfg_shutdown_group(struct skv5cfg *cfg, int gi)
{
    for (int i = 0; i < cfg->n; i++)
        skv5cfg_shutdown_server(cfg, gi, i);
}

void skv5cfg_start_server(struct skv5cfg *cfg, int gi, int i)
{
    struct skv5group *gg = &cfg->groups[gi];
    pthread_mutex_lock(&cfg->mu);
    bool running = gg->servers[i] != NULL;
    pthread_mutex_unlock(&cfg->mu);
    if (running)
        skv5cfg_shutdown_server(cfg, gi, i);

    struct rpc_end *ends[MAXN] = {0};
    struct rpc_end *mends[SKV5_NCTRLERS];
    char me[32];
    servername(cfg, gi, i, me, sizeof me);
    pthread_mutex_lock(&cfg->mu);
    for (int j = 0; j < cfg->n; j++) {
        if (j == i)
            continue; /* Raft never calls itself */
        char peer[32];
        servername(cfg, gi, j, peer, sizeof peer);
        ends[j] = new_end(cfg, peer, gg->endnames[i][j]);
        timeline_end_owner(gg->endnames[i][j], me);
    }
    for (int j = 0; j < SKV5_NCTRLERS; j++)
        mends[j] = new_end(cfg, cfg->ctl->names[j], gg->mendnames[i][j]);
    gg->has_ends[i] = true;
    if (gg->saved[i]) {
        struct persister *p = persister_copy(gg->saved[i]);
        persister_free(gg->saved[i]);
        gg->saved[i] = p;
    } else {
        gg->saved[i] = persister_new_mem();
    }
    struct persister *pers = gg->saved[i];
    pthread_mutex_unlock(&cfg->mu);

    timeline_tap_persister(pers, me);
    struct skv5inst *in = xcalloc(1, sizeof(*in));
    in->cfg = cfg;
    in->kv = skv_server_start(ends, cfg->n, i, pers, cfg->maxraftstate,
                              gg->gid, mends, SKV5_NCTRLERS, server_make_end,
                              in);
    in->srv = rpc_server_new();
    int rc = skv_server_register(in->kv, in->srv);
    if (rc == 0)
        rc = rpc_server_listen(in->srv, "127.0.0.1:0");
    if (rc != 0)
        tester_fatalf("starting shardkv server %d-%d: %s", gg->gid, i,
                      err_name(rc));
    pthread_mutex_lock(&cfg->mu);
    gg->servers[i] = in;
    pthread_mutex_unlock(&cfg->mu);
    char sname[32];
    servername(cfg, gi, i, sname, sizeof sname);
    labnet_add_server(cfg->net, sname, in->srv);
}

void skv5cfg_start_group(struct skv5cfg *cfg, int gi)
{
    for (int i = 0; i < cfg->n; i++)
        skv5cfg_start_server(cfg, gi, i);
}

/* ---- checks ---------------------------------------------------------------------- */

void skv5cfg_sizes(struct skv5cfg *cfg, int gi, int i, size_t *raft,
                   size_t *snap)
{
    pthread_mutex_lock(&cfg->mu);
    struct persister *p = cfg->groups[gi].saved[i];
    *raft = p ? persister_state_size(p) : 0;
    *snap = p ? persister_snapshot_size(p) : 0;
    pthread_mutex_unlock(&cfg->mu);
}

/* check that no server's log is too big. */
void skv5cfg_checklogs(struct skv5cfg *cfg)
{
    for (int gi = 0; gi < SKV5_NGROUPS; gi++)
        for (int i = 0; i < cfg->n; i++) {
            size_t raft, snap;
            skv5cfg_sizes(cfg, gi, i, &raft, &snap);
            if (cfg->maxraftstate >= 0 &&
                (int64_t)raft > 8 * cfg->maxraftstate)
                tester_fatalf("group %d server %d persists %zu bytes of "
                              "Raft state, limit 8 x maxraftstate = %"
                              PRId64 " - call raft_snapshot() once "
                              "persister_state_size() nears maxraftstate",
                              gi, i, raft, 8 * cfg->maxraftstate);
            if (cfg->maxraftstate < 0 && snap > 0)
                tester_fatalf("group %d server %d saved a %zu-byte "
                              "snapshot although maxraftstate is -1 "
                              "(never snapshot)", gi, i, snap);
        }
}

void skv5cfg_begin(struct skv5cfg *cfg, const char *desc)
{
    (void)cfg;
    tester_begin(desc);
}

void skv5cfg_end(struct skv5cfg *cfg)
{
    (void)cfg;
    tester_check_timeout();
    tester_printf("  ... Passed\n");
}

/* ---- make / cleanup ----------------------------------------------------------------- */

static void dump_state(void *ctx)
{
    struct skv5cfg *cfg = ctx;
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
    static const char *const st[] = {"-", "S", "P", "X"};
    printf("    shard states: S serving, P pulling, X sending, - absent\n");
    for (int gi = 0; gi < SKV5_NGROUPS; gi++)
        for (int i = 0; i < cfg->n; i++) {
            struct skv5inst *in = cfg->groups[gi].servers[i];
            struct persister *p = cfg->groups[gi].saved[i];
            if (!in) {
                printf("    server %d-%d: down\n", cfg->groups[gi].gid, i);
                continue;
            }
            struct skv_server_stats s;
            skv_server_get_stats(in->kv, &s);
            int64_t term = 0;
            bool leader = false;
            raft_get_state(skv_server_raft(in->kv), &term, &leader);
            char states[SC_NSHARDS + 1];
            for (int k = 0; k < SC_NSHARDS; k++)
                states[k] = st[s.state[k]][0];
            states[SC_NSHARDS] = '\0';
            printf("    server %d-%d: term %" PRId64 "%s, applied %" PRId64
                   ", config %" PRId64 ", shards %s, %zu keys, raft %zu B, "
                   "snapshot %zu B\n",
                   cfg->groups[gi].gid, i, term, leader ? " (leader)" : "",
                   s.last_applied, s.config_num, states, s.keys,
                   p ? persister_state_size(p) : 0,
                   p ? persister_snapshot_size(p) : 0);
        }
    pthread_mutex_unlock(&cfg->mu);
}

struct skv5cfg *skv5cfg_make(int n, bool unreliable, int64_t maxraftstate)
{
    if (n > MAXN)
        tester_fatalf("at most %d servers per group", MAXN);
    struct skv5cfg *cfg = xcalloc(1, sizeof(*cfg));
    pthread_mutex_init(&cfg->mu, NULL);
    cfg->n = n;
    cfg->maxraftstate = maxraftstate;
    cfg->net = labnet_new(tester_derive_seed(1));
    cfg->clients.next = cfg->clients.prev = &cfg->clients;
    tester_set_dump(dump_state, cfg);

    /* controllers */
    cfg->ctl = start_ctl(cfg);
    /* shardkv servers */
    for (int gi = 0; gi < SKV5_NGROUPS; gi++) {
        cfg->groups[gi].gid = 100 + gi;
        for (int i = 0; i < n; i++)
            skv5cfg_start_server(cfg, gi, i);
    }
    labnet_reliable(cfg->net, !unreliable);
    return cfg;
}

void skv5cfg_cleanup(struct skv5cfg *cfg)
{
    for (int gi = 0; gi < SKV5_NGROUPS; gi++)
        skv5cfg_shutdown_group(cfg, gi);
    for (struct skv5ctl *c = cfg->ctls; c; c = c->next)
        stop_ctl(cfg, c);
    labnet_free(cfg->net);
    tester_set_dump(NULL, NULL);
    while (cfg->clients.next != &cfg->clients) {
        struct skv5client *c = cfg->clients.next;
        c->next->prev = c->prev;
        c->prev->next = c->next;
        free_client(c);
    }
    while (cfg->ctls) {
        struct skv5ctl *c = cfg->ctls;
        cfg->ctls = c->next;
        for (int i = 0; i < SKV5_NCTRLERS; i++)
            persister_free(c->pers[i]);
        free(c);
    }
    for (int gi = 0; gi < SKV5_NGROUPS; gi++)
        for (int i = 0; i < cfg->n; i++)
            if (cfg->groups[gi].saved[i])
                persister_free(cfg->groups[gi].saved[i]);
    pthread_mutex_destroy(&cfg->mu);
    free(cfg);
    tester_check_timeout();
}
