/* client.c - the shardkv clerk: 6.5840's clerk loop (find the shard's
 * group in the cached configuration, try its servers, on ErrWrongGroup or
 * after a round sleep 100 ms and ask the controller for the latest
 * configuration), plus a client id and per-request seq for at-most-once
 * Put/Append, and a remembered leader per group. */
/* SOLUTION FILE */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/rand.h"
#include "shardkv/shardkv.h"

#define SKV_CLERK_ROUND_PAUSE_MS 100

struct named_end {
    char *name;          /* owned */
    struct rpc_end *end; /* borrowed from make_end's owner */
};

struct skv_clerk {
    struct sc_clerk *ctrl; /* owned */
    skv_make_end_fn make_end;
    void *ctx;
    struct sc_config config; /* cached; num 0 until the first query */
    uint64_t id;
    uint64_t seq;
    uint64_t op_timeout_ms;
    struct named_end *ends;
    size_t nends;
    /* Server index that last answered, per gid (a small list). */
    struct { int gid, idx; } *leaders;
    size_t nleaders;
};

struct skv_clerk *skv_clerk_new(struct rpc_end **ctrlers, int nctrlers,
                                skv_make_end_fn make_end, void *ctx,
                                uint64_t client_id)
{
    struct skv_clerk *ck = xcalloc(1, sizeof(*ck));
    ck->ctrl = sc_clerk_new(ctrlers, nctrlers, 0);
    ck->make_end = make_end;
    ck->ctx = ctx;
    sc_config_init(&ck->config);
    ck->id = client_id ? client_id : (rng_os_seed() | 1);
    return ck;
}

void skv_clerk_free(struct skv_clerk *ck)
{
    if (!ck)
        return;
    sc_clerk_free(ck->ctrl);
    sc_config_free(&ck->config);
    for (size_t i = 0; i < ck->nends; i++)
        free(ck->ends[i].name);
    free(ck->ends);
    free(ck->leaders);
    free(ck);
}

uint64_t skv_clerk_id(const struct skv_clerk *ck) { return ck->id; }

void skv_clerk_set_op_timeout(struct skv_clerk *ck, uint64_t ms)
{
    ck->op_timeout_ms = ms;
    sc_clerk_set_op_timeout(ck->ctrl, ms);
}

static struct rpc_end *end_for(struct skv_clerk *ck, const char *name)
{
    for (size_t i = 0; i < ck->nends; i++)
        if (strcmp(ck->ends[i].name, name) == 0)
            return ck->ends[i].end;
    struct rpc_end *e = ck->make_end(ck->ctx, name);
    if (!e)
        return NULL;
    ck->ends = xrealloc(ck->ends, (ck->nends + 1) * sizeof(*ck->ends));
    ck->ends[ck->nends++] = (struct named_end){xstrdup(name), e};
    return e;
}

static int *leader_slot(struct skv_clerk *ck, int gid)
{
    for (size_t i = 0; i < ck->nleaders; i++)
        if (ck->leaders[i].gid == gid)
            return &ck->leaders[i].idx;
    ck->leaders = xrealloc(ck->leaders,
                           (ck->nleaders + 1) * sizeof(*ck->leaders));
    ck->leaders[ck->nleaders].gid = gid;
    ck->leaders[ck->nleaders].idx = 0;
    return &ck->leaders[ck->nleaders++].idx;
}

struct skv_req {
    bool get;
    const char *key;
    size_t klen;
    const char *val;
    size_t vlen;
    const char *op; /* "Put" / "Append" */
    uint64_t client, seq;
};

static int enc_req(msgpack_packer *pk, const void *p)
{
    const struct skv_req *r = p;
    msgpack_pack_map(pk, r->get ? 3 : 5);
    rpc_pack_kv_str(pk, "k", r->key, r->klen);
    if (!r->get) {
        rpc_pack_kv_str(pk, "v", r->val, r->vlen);
        rpc_pack_kv_cstr(pk, "o", r->op);
    }
    rpc_pack_kv_u64(pk, "c", r->client);
    rpc_pack_kv_u64(pk, "s", r->seq);
    return 0;
}

struct skv_rep {
    int err;
    char *v; /* owned */
    size_t vlen;
};

static int dec_rep(const msgpack_object *obj, void *out)
{
    struct skv_rep *r = out;
    struct rpc_dec d;
    rpc_dec_init(&d, obj);
    size_t elen = 0, vlen = 0;
    const char *e = rpc_dec_bytes(&d, "e", &elen);
    const char *v = rpc_dec_bytes(&d, "v", &vlen);
    if (d.err || !e)
        return ERR_PROTO;
    r->err = err_parse(e, elen);
    free(r->v);
    r->v = buf_strndup(v ? v : "", v ? vlen : 0);
    r->vlen = v ? vlen : 0;
    return 0;
}

/* Refresh the cached configuration: Query(-1). */
static int refresh(struct skv_clerk *ck)
{
    struct sc_config c;
    int rc = sc_clerk_query(ck->ctrl, -1, &c);
    if (rc != 0)
        return rc;
    sc_config_free(&ck->config);
    ck->config = c;
    return 0;
}

static int run(struct skv_clerk *ck, struct skv_req *req, struct skv_rep *rep)
{
    req->client = ck->id;
    req->seq = ++ck->seq;
    uint64_t deadline =
        ck->op_timeout_ms ? clock_now_ms() + ck->op_timeout_ms : 0;
    const char *method = req->get ? "ShardKV.Get" : "ShardKV.PutAppend";
    int shard = sc_key2shard(req->key, req->klen);
    /* A fresh clerk knows no configuration yet: ask before the first try
     * rather than after a pointless 100 ms sleep. */
    if (ck->config.num == 0) {
        int rc = refresh(ck);
        if (rc != 0)
            return rc;
    }
    for (;;) {
        int gid = ck->config.shards[shard];
        const struct sc_group *g = sc_config_group(&ck->config, gid);
        if (g && g->nservers > 0) {
            int *li = leader_slot(ck, gid);
            /* try each server for the shard, the last leader first. */
            for (int k = 0; k < g->nservers; k++) {
                int si = (*li + k) % g->nservers;
                struct rpc_end *e = end_for(ck, g->servers[si]);
                if (!e)
                    continue;
                rep->err = ERR_WRONG_LEADER;
                int rc = rpc_call(e, method, enc_req, req, dec_rep, rep);
                if (rc == 0 && (rep->err == ERR_OK ||
                                (req->get && rep->err == ERR_NO_KEY))) {
                    *li = si;
                    return 0;
                }
                if (rc == 0 && rep->err == ERR_WRONG_GROUP)
                    break;
                /* ... not ok, or ErrWrongLeader */
            }
        }
        if (deadline && clock_now_ms() >= deadline)
            return ERR_TIMEOUT;
        clock_sleep_ms(SKV_CLERK_ROUND_PAUSE_MS);
        /* ask controller for the latest configuration. */
        int rc = refresh(ck);
        if (rc != 0)
            return rc;
    }
}

char *skv_clerk_get_err(struct skv_clerk *ck, const char *key, size_t *len,
                        int *err)
{
    struct skv_req req = {.get = true, .key = key, .klen = strlen(key)};
    struct skv_rep rep = {0};
    int rc = run(ck, &req, &rep);
    if (err)
        *err = rc;
    if (rc != 0) {
        free(rep.v);
        return NULL;
    }
    if (!rep.v)
        rep.v = buf_strndup("", 0);
    if (len)
        *len = rep.vlen;
    return rep.v;
}

char *skv_clerk_get(struct skv_clerk *ck, const char *key, size_t *len)
{
    return skv_clerk_get_err(ck, key, len, NULL);
}

static int put_append(struct skv_clerk *ck, const char *op, const char *key,
                      size_t klen, const char *value, size_t vlen)
{
    struct skv_req req = {.key = key, .klen = klen, .val = value,
                          .vlen = vlen, .op = op};
    struct skv_rep rep = {0};
    int rc = run(ck, &req, &rep);
    free(rep.v);
    return rc;
}

int skv_clerk_put_n(struct skv_clerk *ck, const char *key, size_t klen,
                    const char *value, size_t vlen)
{
    return put_append(ck, "Put", key, klen, value, vlen);
}

int skv_clerk_append_n(struct skv_clerk *ck, const char *key, size_t klen,
                       const char *value, size_t vlen)
{
    return put_append(ck, "Append", key, klen, value, vlen);
}

int skv_clerk_put(struct skv_clerk *ck, const char *key, const char *value)
{
    return skv_clerk_put_n(ck, key, strlen(key), value, strlen(value));
}

int skv_clerk_append(struct skv_clerk *ck, const char *key,
                     const char *value)
{
    return skv_clerk_append_n(ck, key, strlen(key), value, strlen(value));
}
