/* client.c - the shard controller clerk: as 6.5840's, it tries every
 * server in order until one answers as leader and sleeps 100 ms after each
 * full round; it adds a client id and a per-request seq so Join, Leave and
 * Move take effect once however often they are retried. */
/* SOLUTION FILE */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/rand.h"
#include "shardctrler/shardctrler.h"

/* "time.Sleep(100 * time.Millisecond)" after each round. */
#define SC_CLERK_ROUND_PAUSE_MS 100

struct sc_clerk {
    struct rpc_end **servers; /* owned array of borrowed ends */
    int n;
    uint64_t id;
    uint64_t seq;
    uint64_t op_timeout_ms;
};

struct sc_clerk *sc_clerk_new(struct rpc_end **servers, int n,
                              uint64_t client_id)
{
    struct sc_clerk *ck = xcalloc(1, sizeof(*ck));
    ck->servers = xcalloc((size_t)n + 1, sizeof(*ck->servers));
    memcpy(ck->servers, servers, (size_t)n * sizeof(*servers));
    ck->n = n;
    ck->id = client_id ? client_id : (rng_os_seed() | 1);
    return ck;
}

void sc_clerk_free(struct sc_clerk *ck)
{
    if (!ck)
        return;
    free(ck->servers);
    free(ck);
}

void sc_clerk_set_op_timeout(struct sc_clerk *ck, uint64_t ms)
{
    ck->op_timeout_ms = ms;
}

/* One request: method, its encoder, and where the reply goes. */
struct sc_req {
    int op; /* 1 join, 2 leave, 3 move, 4 query */
    const struct sc_group *groups;
    int ngroups;
    const int *gids;
    int ngids;
    int shard, gid;
    int64_t num;
    uint64_t client, seq;
};

static int enc_req(msgpack_packer *pk, const void *p)
{
    const struct sc_req *r = p;
    switch (r->op) {
    case 1:
        msgpack_pack_map(pk, 3);
        rpc_pack_key(pk, "g");
        msgpack_pack_array(pk, (size_t)r->ngroups);
        for (int i = 0; i < r->ngroups; i++) {
            msgpack_pack_array(pk, 2);
            msgpack_pack_int(pk, r->groups[i].gid);
            msgpack_pack_array(pk, (size_t)r->groups[i].nservers);
            for (int j = 0; j < r->groups[i].nservers; j++)
                rpc_pack_cstr(pk, r->groups[i].servers[j]);
        }
        break;
    case 2:
        msgpack_pack_map(pk, 3);
        rpc_pack_key(pk, "g");
        msgpack_pack_array(pk, (size_t)r->ngids);
        for (int i = 0; i < r->ngids; i++)
            msgpack_pack_int(pk, r->gids[i]);
        break;
    case 3:
        msgpack_pack_map(pk, 4);
        rpc_pack_kv_i64(pk, "sh", r->shard);
        rpc_pack_kv_i64(pk, "g", r->gid);
        break;
    default:
        msgpack_pack_map(pk, 1);
        rpc_pack_kv_i64(pk, "n", r->num);
        return 0;
    }
    rpc_pack_kv_u64(pk, "c", r->client);
    rpc_pack_kv_u64(pk, "s", r->seq);
    return 0;
}

struct sc_rep {
    int err;
    bool have_cfg;
    struct sc_config cfg; /* owned when have_cfg */
};

static int dec_rep(const msgpack_object *obj, void *out)
{
    struct sc_rep *r = out;
    struct rpc_dec d;
    rpc_dec_init(&d, obj);
    size_t elen = 0;
    const char *e = rpc_dec_bytes(&d, "e", &elen);
    const msgpack_object *cf = rpc_dec_field(&d, "cf");
    if (d.err || !e)
        return ERR_PROTO;
    r->err = err_parse(e, elen);
    if (cf) {
        if (r->have_cfg)
            sc_config_free(&r->cfg);
        if (sc_config_unpack(cf, &r->cfg) != 0)
            return ERR_PROTO;
        r->have_cfg = true;
    }
    return 0;
}

static const char *const methods[] = {
    NULL, "ShardCtrler.Join", "ShardCtrler.Leave", "ShardCtrler.Move",
    "ShardCtrler.Query",
};

/* Try each server once. 0 (*rep filled: err OK or EINVAL), ERR_TIMEOUT
 * (nobody answered as leader) or ERR_CLOSED (every end shut down). */
static int one_round(struct sc_clerk *ck, const struct sc_req *req,
                     struct sc_rep *rep)
{
    int closed = 0;
    for (int i = 0; i < ck->n; i++) {
        rep->err = ERR_WRONG_LEADER;
        int rc = rpc_call(ck->servers[i], methods[req->op], enc_req, req,
                          dec_rep, rep);
        if (rc == 0 && rep->err != ERR_WRONG_LEADER &&
            (rep->err != ERR_OK || req->op != 4 || rep->have_cfg))
            return 0;
        if (rc == ERR_CLOSED)
            closed++;
    }
    return closed == ck->n ? ERR_CLOSED : ERR_TIMEOUT;
}

static int run(struct sc_clerk *ck, struct sc_req *req, struct sc_rep *rep)
{
    if (req->op != 4) {
        req->client = ck->id;
        req->seq = ++ck->seq;
    }
    uint64_t deadline =
        ck->op_timeout_ms ? clock_now_ms() + ck->op_timeout_ms : 0;
    for (;;) {
        int rc = one_round(ck, req, rep);
        if (rc != ERR_TIMEOUT)
            return rc == 0 ? rep->err : rc;
        if (deadline && clock_now_ms() >= deadline)
            return ERR_TIMEOUT;
        clock_sleep_ms(SC_CLERK_ROUND_PAUSE_MS);
    }
}

int sc_clerk_query(struct sc_clerk *ck, int64_t num, struct sc_config *out)
{
    struct sc_req req = {.op = 4, .num = num};
    struct sc_rep rep = {0};
    int rc = run(ck, &req, &rep);
    if (rc == 0 && rep.have_cfg) {
        *out = rep.cfg;
        return 0;
    }
    if (rep.have_cfg)
        sc_config_free(&rep.cfg);
    return rc ? rc : ERR_PROTO;
}

int sc_clerk_query_once(struct sc_clerk *ck, int64_t num,
                        struct sc_config *out)
{
    struct sc_req req = {.op = 4, .num = num};
    struct sc_rep rep = {0};
    int rc = one_round(ck, &req, &rep);
    if (rc == 0 && rep.err == ERR_OK && rep.have_cfg) {
        *out = rep.cfg;
        return 0;
    }
    if (rep.have_cfg)
        sc_config_free(&rep.cfg);
    return rc ? rc : ERR_TIMEOUT;
}

int sc_clerk_join(struct sc_clerk *ck, const struct sc_group *groups, int n)
{
    struct sc_req req = {.op = 1, .groups = groups, .ngroups = n};
    struct sc_rep rep = {0};
    int rc = run(ck, &req, &rep);
    if (rep.have_cfg)
        sc_config_free(&rep.cfg);
    return rc;
}

int sc_clerk_leave(struct sc_clerk *ck, const int *gids, int n)
{
    struct sc_req req = {.op = 2, .gids = gids, .ngids = n};
    struct sc_rep rep = {0};
    int rc = run(ck, &req, &rep);
    if (rep.have_cfg)
        sc_config_free(&rep.cfg);
    return rc;
}

int sc_clerk_move(struct sc_clerk *ck, int shard, int gid)
{
    struct sc_req req = {.op = 3, .shard = shard, .gid = gid};
    struct sc_rep rep = {0};
    int rc = run(ck, &req, &rep);
    if (rep.have_cfg)
        sc_config_free(&rep.cfg);
    return rc;
}
