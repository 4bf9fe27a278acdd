/* client.c - lab 4 clerk: numbers its operations with (client id, seq),
 * remembers the last server that answered as leader, and cycles through
 * the servers until one answers OK. */
/* SOLUTION FILE */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/rand.h"
#include "kvraft/kvraft.h"
#include "kvraft/kvraft_internal.h"

/* Pause after a whole round of servers failed (e.g. during an election),
 * so the clerk does not spin on fast ErrWrongLeader replies. */
#define KV_CLERK_ROUND_PAUSE_MS 20

struct kv_clerk {
    struct rpc_end **servers; /* owned array of borrowed ends */
    int n;
    uint64_t id;
    uint64_t seq;
    int leader; /* index of the server believed to lead */
    uint64_t op_timeout_ms;
};

struct kv_clerk *kv_clerk_new(struct rpc_end **servers, int n,
                              uint64_t client_id)
{
    struct kv_clerk *ck = xcalloc(1, sizeof(*ck));
    ck->servers = xcalloc((size_t)n, sizeof(*ck->servers));
    memcpy(ck->servers, servers, (size_t)n * sizeof(*servers));
    ck->n = n;
    ck->id = client_id ? client_id : rng_os_seed();
    return ck;
}

void kv_clerk_free(struct kv_clerk *ck)
{
    if (!ck)
        return;
    free(ck->servers);
    free(ck);
}

uint64_t kv_clerk_id(const struct kv_clerk *ck) { return ck->id; }

void kv_clerk_set_op_timeout(struct kv_clerk *ck, uint64_t ms)
{
    ck->op_timeout_ms = ms;
}

static int enc_op(msgpack_packer *pk, const void *p)
{
    const struct kv_op *op = p;
    msgpack_pack_map(pk, op->type == KV_OP_GET ? 3 : 4);
    rpc_pack_kv_str(pk, "k", op->key, op->klen);
    if (op->type != KV_OP_GET)
        rpc_pack_kv_str(pk, "v", op->val, op->vlen);
    rpc_pack_kv_u64(pk, "c", op->client);
    rpc_pack_kv_u64(pk, "s", op->seq);
    return 0;
}

struct op_reply {
    int err;
    char *v; /* owned, Get only */
    size_t vlen;
};

static int dec_reply(const msgpack_object *obj, void *out)
{
    struct op_reply *r = out;
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

static const char *const method_names[] = {
    [KV_OP_GET] = "KVServer.Get",
    [KV_OP_PUT] = "KVServer.Put",
    [KV_OP_APPEND] = "KVServer.Append",
};

/* Run one operation to completion. Returns 0 (value in *rep for a Get),
 * ERR_CLOSED if every end is shut down, or ERR_TIMEOUT. */
static int run_op(struct kv_clerk *ck, struct kv_op *op, struct op_reply *rep)
{
    op->client = ck->id;
    op->seq = ++ck->seq;
    uint64_t deadline =
        ck->op_timeout_ms ? clock_now_ms() + ck->op_timeout_ms : 0;
    int closed = 0;   /* consecutive ERR_CLOSED answers */
    int failures = 0; /* consecutive failures in this round */
    for (;;) {
        int rc = rpc_call(ck->servers[ck->leader], method_names[op->type],
                          enc_op, op, dec_reply, rep);
        if (rc == 0 && (rep->err == ERR_OK || rep->err == ERR_NO_KEY))
            return 0;
        closed = rc == ERR_CLOSED ? closed + 1 : 0;
        if (closed >= ck->n)
            return ERR_CLOSED;
        log_trace("KV", -1, "clerk %llx s=%llu server %d: %s",
                  (unsigned long long)ck->id, (unsigned long long)op->seq,
                  ck->leader, err_name(rc ? rc : rep->err));
        ck->leader = (ck->leader + 1) % ck->n;
        if (++failures % ck->n == 0)
            clock_sleep_ms(KV_CLERK_ROUND_PAUSE_MS);
        if (deadline && clock_now_ms() >= deadline)
            return ERR_TIMEOUT;
    }
}

char *kv_clerk_get(struct kv_clerk *ck, const char *key, size_t *len)
{
    struct kv_op op = {.type = KV_OP_GET, .key = key, .klen = strlen(key)};
    struct op_reply rep = {0};
    if (run_op(ck, &op, &rep) != 0) {
        free(rep.v);
        return NULL;
    }
    if (!rep.v)
        rep.v = buf_strndup("", 0);
    if (len)
        *len = rep.vlen;
    return rep.v;
}

static int put_append(struct kv_clerk *ck, int type, const char *key,
                      size_t klen, const char *value, size_t vlen)
{
    struct kv_op op = {.type = type, .key = key, .klen = klen, .val = value,
                       .vlen = vlen};
    struct op_reply rep = {0};
    int rc = run_op(ck, &op, &rep);
    free(rep.v);
    return rc;
}

int kv_clerk_put_n(struct kv_clerk *ck, const char *key, size_t klen,
                   const char *value, size_t vlen)
{
    return put_append(ck, KV_OP_PUT, key, klen, value, vlen);
}

int kv_clerk_append_n(struct kv_clerk *ck, const char *key, size_t klen,
                      const char *value, size_t vlen)
{
    return put_append(ck, KV_OP_APPEND, key, klen, value, vlen);
}

int kv_clerk_put(struct kv_clerk *ck, const char *key, const char *value)
{
    return kv_clerk_put_n(ck, key, strlen(key), value, strlen(value));
}

int kv_clerk_append(struct kv_clerk *ck, const char *key, const char *value)
{
    return kv_clerk_append_n(ck, key, strlen(key), value, strlen(value));
}
