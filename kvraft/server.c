/* server.c - lab 4 KV server: the key/value state machine and the RPC
 * handlers. Everything replicated-state-machine generic (submit-and-wait,
 * the applier thread, duplicate detection, snapshots of the dedup table)
 * is raft/rsm's; this file only applies KV commands, encodes its map into
 * snapshots and answers RPCs (see kvraft.h). */
/* SOLUTION FILE */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "kvraft/kvraft.h"
#include "kvraft/kvraft_internal.h"
#include "kvsrv/kv_map.h"
#include "raft/rsm.h"

struct kv_server {
    int me;
    struct rsm *rsm; /* owned */

    pthread_mutex_t mu;
    /* guarded by mu; written only by rsm callbacks (the applier thread),
     * read by handlers (stats): */
    struct kv_map *store;
};

/* ---- commands ---------------------------------------------------------- */

void kv_op_encode(const struct kv_op *op, struct buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_msgpack_write);
    msgpack_pack_map(&pk, op->type == KV_OP_GET ? 2 : 3);
    rpc_pack_kv_i64(&pk, "o", op->type);
    rpc_pack_kv_str(&pk, "k", op->key, op->klen);
    if (op->type != KV_OP_GET)
        rpc_pack_kv_str(&pk, "v", op->val, op->vlen);
}

/* Decode into op (pointers borrow from u, which the caller destroys). */
int kv_op_decode(const void *data, size_t len, msgpack_unpacked *u,
                 struct kv_op *op)
{
    size_t off = 0;
    if (msgpack_unpack_next(u, data, len, &off) != MSGPACK_UNPACK_SUCCESS)
        return ERR_CORRUPT;
    struct rpc_dec d;
    rpc_dec_init(&d, &u->data);
    memset(op, 0, sizeof(*op));
    op->type = rpc_dec_int(&d, "o", -1);
    op->key = rpc_dec_bytes(&d, "k", &op->klen);
    op->val = rpc_dec_bytes(&d, "v", &op->vlen);
    if (d.err || op->type < KV_OP_GET || op->type > KV_OP_APPEND)
        return ERR_CORRUPT;
    if (!op->key)
        op->key = "";
    if (!op->val)
        op->val = "";
    return 0;
}

/* ---- snapshots of the store -------------------------------------------- */

static void enc_pair(void *ctx, const char *key, size_t klen,
                     const char *val, size_t vlen)
{
    msgpack_packer *pk = ctx;
    rpc_pack_str(pk, key, klen);
    rpc_pack_str(pk, val, vlen);
}

void kv_snapshot_encode(const struct kv_map *store, struct buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_msgpack_write);
    msgpack_pack_array(&pk, (uint32_t)(2 * kv_map_count(store)));
    kv_map_foreach(store, enc_pair, &pk);
}

int kv_snapshot_decode(const void *data, size_t len, struct kv_map *store)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = ERR_CORRUPT;
    size_t off = 0;
    if (msgpack_unpack_next(&u, data, len, &off) != MSGPACK_UNPACK_SUCCESS ||
        u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size % 2)
        goto out;
    const msgpack_object *kvs = u.data.via.array.ptr;
    uint32_t nkv = u.data.via.array.size;
    /* Validate everything before touching the store. */
    for (uint32_t i = 0; i < nkv; i++) {
        const char *p;
        size_t l;
        if (rpc_obj_bytes(&kvs[i], &p, &l))
            goto out;
    }
    kv_map_clear(store);
    for (uint32_t i = 0; i < nkv; i += 2) {
        const char *k, *v;
        size_t kl, vl;
        rpc_obj_bytes(&kvs[i], &k, &kl);
        rpc_obj_bytes(&kvs[i + 1], &v, &vl);
        kv_map_put(store, k, kl, v, vl);
    }
    rc = 0;
out:
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* ---- rsm callbacks (applier thread) ------------------------------------- */

/* A command's reply (rsm hands it back to the submitter, and caches a
 * Put/Append's in the dedup table): one status byte, then a Get's value.
 * Put/Append replies are that single byte, so the dedup table holds no
 * data per client. */
enum { KV_REPLY_OK = 0, KV_REPLY_NO_KEY = 1 };

static bool kv_apply(void *svc, const void *cmd, size_t len, int64_t index,
                     struct buf *reply)
{
    struct kv_server *kv = svc;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    struct kv_op op;
    if (kv_op_decode(cmd, len, &u, &op) != 0) {
        /* Deterministic on every replica: no effect, the submitter gets
         * an empty reply and reports ErrWrongLeader. */
        log_warn("KV", kv->me, "undecodable command at %lld", (long long)index);
        msgpack_unpacked_destroy(&u);
        return false;
    }
    pthread_mutex_lock(&kv->mu);
    if (op.type == KV_OP_GET) {
        size_t vlen = 0;
        const char *val = kv_map_get(kv->store, op.key, op.klen, &vlen);
        buf_append_byte(reply, val ? KV_REPLY_OK : KV_REPLY_NO_KEY);
        if (val)
            buf_append(reply, val, vlen);
    } else {
        if (op.type == KV_OP_PUT)
            kv_map_put(kv->store, op.key, op.klen, op.val, op.vlen);
        else
            kv_map_append(kv->store, op.key, op.klen, op.val, op.vlen, NULL,
                          NULL);
        buf_append_byte(reply, KV_REPLY_OK);
    }
    pthread_mutex_unlock(&kv->mu);
    msgpack_unpacked_destroy(&u);
    return true;
}

static void kv_snapshot(void *svc, struct buf *out)
{
    struct kv_server *kv = svc;
    pthread_mutex_lock(&kv->mu);
    kv_snapshot_encode(kv->store, out);
    pthread_mutex_unlock(&kv->mu);
}

static int kv_restore(void *svc, const void *data, size_t len)
{
    struct kv_server *kv = svc;
    /* Decode aside, then swap: a corrupt snapshot leaves the store as it
     * was (rsm's contract), and mu is held only for the swap. */
    struct kv_map *store = kv_map_new();
    if (kv_snapshot_decode(data, len, store) != 0) {
        kv_map_free(store);
        return ERR_CORRUPT;
    }
    pthread_mutex_lock(&kv->mu);
    struct kv_map *old = kv->store;
    kv->store = store;
    pthread_mutex_unlock(&kv->mu);
    kv_map_free(old);
    return 0;
}

static const struct rsm_ops kv_rsm_ops = {kv_apply, kv_snapshot, kv_restore};

/* ---- handlers ---------------------------------------------------------- */

static int decode_args(const msgpack_object *args, struct kv_op *op,
                       int type)
{
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    memset(op, 0, sizeof(*op));
    op->type = type;
    op->key = rpc_dec_bytes(&d, "k", &op->klen);
    op->val = rpc_dec_bytes(&d, "v", &op->vlen);
    op->client = rpc_dec_u64(&d, "c", 0);
    op->seq = rpc_dec_u64(&d, "s", 0);
    if (d.err)
        return ERR_BADARGS;
    if (!op->key)
        op->key = "";
    if (!op->val || type == KV_OP_GET) {
        op->val = "";
        op->vlen = 0;
    }
    return 0;
}

/* Run op through the log. Returns ERR_OK, ERR_NO_KEY or ERR_WRONG_LEADER;
 * on ERR_OK a Get's value is in res from offset 1 (see KV_REPLY_*).
 * Gets are submitted anonymously (client 0): a read has no effect to
 * deduplicate, and caching its value per client would put every client's
 * last read into the dedup table and every snapshot. A Put/Append without
 * a client id (a raw caller) is not deduplicated either. */
static int submit(struct kv_server *kv, const struct kv_op *op,
                  struct buf *res)
{
    struct buf cmd = BUF_INIT;
    kv_op_encode(op, &cmd);
    uint64_t client = op->type == KV_OP_GET || op->seq == 0 ? 0 : op->client;
    int rc = rsm_submit(kv->rsm, client, op->seq, cmd.data, cmd.len, res);
    buf_free(&cmd);
    if (rc != ERR_OK)
        return ERR_WRONG_LEADER;
    /* An empty reply: an older request of this client (it has moved on;
     * nobody reads the answer) or a command the service rejected. */
    if (res->len == 0)
        return op->type == KV_OP_GET ? ERR_WRONG_LEADER : ERR_OK;
    return res->data[0] == KV_REPLY_NO_KEY ? ERR_NO_KEY : ERR_OK;
}

static int h_get(void *svc, const msgpack_object *args, msgpack_packer *reply)
{
    struct kv_server *kv = svc;
    struct kv_op op;
    if (decode_args(args, &op, KV_OP_GET))
        return ERR_BADARGS;
    struct buf res = BUF_INIT;
    int r = submit(kv, &op, &res);
    bool has_value = r == ERR_OK && res.len > 1;
    msgpack_pack_map(reply, 2);
    rpc_pack_kv_cstr(reply, "e", err_name(r));
    rpc_pack_kv_str(reply, "v", has_value ? (const char *)res.data + 1 : "",
                    has_value ? res.len - 1 : 0);
    buf_free(&res);
    return 0;
}

static int put_append(struct kv_server *kv, const msgpack_object *args,
                      msgpack_packer *reply, int type)
{
    struct kv_op op;
    if (decode_args(args, &op, type))
        return ERR_BADARGS;
    struct buf res = BUF_INIT;
    int r = submit(kv, &op, &res);
    buf_free(&res);
    msgpack_pack_map(reply, 1);
    rpc_pack_kv_cstr(reply, "e", err_name(r));
    return 0;
}

static int h_put(void *svc, const msgpack_object *args, msgpack_packer *reply)
{
    return put_append(svc, args, reply, KV_OP_PUT);
}

static int h_append(void *svc, const msgpack_object *args,
                    msgpack_packer *reply)
{
    return put_append(svc, args, reply, KV_OP_APPEND);
}

/* Status: leadership and progress, for operators and scripts (which
 * server to kill, is a daemon alive). */
static int h_status(void *svc, const msgpack_object *args,
                    msgpack_packer *reply)
{
    (void)args;
    struct kv_server *kv = svc;
    struct raft *rf = rsm_raft(kv->rsm);
    int64_t term = 0;
    bool leader = false;
    raft_get_state(rf, &term, &leader);
    struct kv_server_stats st;
    kv_server_get_stats(kv, &st);
    msgpack_pack_map(reply, 6);
    rpc_pack_kv_i64(reply, "me", kv->me);
    rpc_pack_kv_bool(reply, "l", leader);
    rpc_pack_kv_i64(reply, "t", term);
    rpc_pack_kv_i64(reply, "a", st.last_applied);
    rpc_pack_kv_u64(reply, "k", st.keys);
    rpc_pack_kv_u64(reply, "r", raft_state_size(rf));
    return 0;
}

/* Get/Put/Append block until their command is applied: worker threads.
 * Status never waits. */
static const struct rpc_method kv_methods[] = {
    {"Get", h_get, 0},
    {"Put", h_put, 0},
    {"Append", h_append, 0},
    {"Status", h_status, RPC_INLINE},
};

/* ---- lifecycle --------------------------------------------------------- */

struct kv_server *kv_server_start(struct rpc_end **peers, int n, int me,
                                  struct persister *persister,
                                  int64_t maxraftstate)
{
    struct kv_server *kv = xcalloc(1, sizeof(*kv));
    kv->me = me;
    pthread_mutex_init(&kv->mu, NULL);
    kv->store = kv_map_new();
    /* Ready for callbacks: rsm_start restores the persister's snapshot. */
    kv->rsm = rsm_start(peers, n, me, persister, maxraftstate, &kv_rsm_ops,
                        kv);
    return kv;
}

int kv_server_register(struct kv_server *kv, struct rpc_server *srv)
{
    int rc = rpc_server_add_service(srv, "KVServer", kv, kv_methods,
                                    sizeof(kv_methods) /
                                        sizeof(kv_methods[0]));
    return rc ? rc : rsm_register(kv->rsm, srv);
}

struct raft *kv_server_raft(struct kv_server *kv) { return rsm_raft(kv->rsm); }

void kv_kill(struct kv_server *kv) { rsm_kill(kv->rsm); }

void kv_free(struct kv_server *kv)
{
    if (!kv)
        return;
    rsm_free(kv->rsm); /* no callback runs after this */
    kv_map_free(kv->store);
    pthread_mutex_destroy(&kv->mu);
    free(kv);
}

void kv_server_get_stats(struct kv_server *kv, struct kv_server_stats *out)
{
    struct rsm_stats rs;
    rsm_stats(kv->rsm, &rs);
    out->last_applied = rs.last_applied;
    out->clients = rs.clients;
    out->snapshots = rs.snapshots;
    out->installs = rs.installs;
    pthread_mutex_lock(&kv->mu);
    out->keys = kv_map_count(kv->store);
    pthread_mutex_unlock(&kv->mu);
}
