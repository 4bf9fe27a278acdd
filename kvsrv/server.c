/* server.c - lab 2 KV server: Get/Put/Append handlers over one mutex, with
 * per-client duplicate detection that frees replies as soon as they are
 * known to have been received (see kvsrv.h). */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "kvsrv/kv_map.h"
#include "kvsrv/kvsrv.h"

struct kvsrv {
    pthread_mutex_t mu;
    struct kv_map *store;    /* guarded by mu */
    struct kv_dedup *dedup;  /* guarded by mu */
};

struct kvsrv *kvsrv_new(void)
{
    struct kvsrv *kv = xcalloc(1, sizeof(*kv));
    pthread_mutex_init(&kv->mu, NULL);
    kv->store = kv_map_new();
    kv->dedup = kv_dedup_new();
    return kv;
}

void kvsrv_free(struct kvsrv *kv)
{
    if (!kv)
        return;
    kv_map_free(kv->store);
    kv_dedup_free(kv->dedup);
    pthread_mutex_destroy(&kv->mu);
    free(kv);
}

size_t kvsrv_mem_bytes(struct kvsrv *kv)
{
    pthread_mutex_lock(&kv->mu);
    size_t n = kv_map_mem_bytes(kv->store) + kv_dedup_mem_bytes(kv->dedup) +
               kv_chunk_bytes(kv);
    pthread_mutex_unlock(&kv->mu);
    return n;
}

size_t kvsrv_dedup_clients(struct kvsrv *kv)
{
    pthread_mutex_lock(&kv->mu);
    size_t n = kv_dedup_count(kv->dedup);
    pthread_mutex_unlock(&kv->mu);
    return n;
}

/* SOLUTION BEGIN */
static int h_get(void *svc, const msgpack_object *args, msgpack_packer *reply)
{
    struct kvsrv *kv = svc;
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    size_t klen = 0;
    const char *key = rpc_dec_bytes(&d, "k", &klen);
    if (d.err)
        return ERR_BADARGS;
    pthread_mutex_lock(&kv->mu);
    size_t vlen = 0;
    const char *v = kv_map_get(kv->store, key ? key : "", klen, &vlen);
    /* Packing copies the value into the reply buffer; doing it under the
     * lock keeps the borrowed pointer valid without a second copy. */
    msgpack_pack_map(reply, 1);
    rpc_pack_kv_str(reply, "v", v ? v : "", vlen);
    pthread_mutex_unlock(&kv->mu);
    return 0;
}

static int put_append(struct kvsrv *kv, const msgpack_object *args,
                      msgpack_packer *reply, bool append)
{
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    size_t klen = 0, vlen = 0;
    const char *key = rpc_dec_bytes(&d, "k", &klen);
    const char *val = rpc_dec_bytes(&d, "v", &vlen);
    uint64_t client = rpc_dec_u64(&d, "c", 0);
    uint64_t seq = rpc_dec_u64(&d, "s", 0);
    if (d.err || seq == 0)
        return ERR_BADARGS;
    if (!key)
        key = "";
    if (!val)
        val = "";

    pthread_mutex_lock(&kv->mu);
    struct kv_dedup_entry *e = kv_dedup_find(kv->dedup, client);
    if (e && seq <= e->seq) {
        /* A retransmission. seq == e->seq: the reply was lost, resend it.
         * seq < e->seq: the client already has its reply and moved on;
         * whatever we answer is never read. */
        bool same = seq == e->seq;
        log_debug("KV", 0, "dup c=%llx s=%llu last=%llu",
                  (unsigned long long)client, (unsigned long long)seq,
                  (unsigned long long)e->seq);
        if (append) {
            msgpack_pack_map(reply, 1);
            rpc_pack_kv_str(reply, "v", same && e->reply ? e->reply : "",
                            same ? e->reply_len : 0);
        } else {
            msgpack_pack_map(reply, 0);
        }
        pthread_mutex_unlock(&kv->mu);
        return 0;
    }
    if (append) {
        char *old = NULL;
        size_t old_len = 0;
        kv_map_append(kv->store, key, klen, val, vlen, &old, &old_len);
        e = kv_dedup_record(kv->dedup, client, seq, old, old_len);
        msgpack_pack_map(reply, 1);
        rpc_pack_kv_str(reply, "v", e->reply, e->reply_len);
    } else {
        kv_map_put(kv->store, key, klen, val, vlen);
        kv_dedup_record(kv->dedup, client, seq, NULL, 0);
        msgpack_pack_map(reply, 0);
    }
    pthread_mutex_unlock(&kv->mu);
    return 0;
}

static int h_put(void *svc, const msgpack_object *args, msgpack_packer *reply)
{
    return put_append(svc, args, reply, false);
}

static int h_append(void *svc, const msgpack_object *args,
                    msgpack_packer *reply)
{
    return put_append(svc, args, reply, true);
}
/* SOLUTION STUB
// The handlers (service "KVServer", fields in kvsrv.h). rpc/rpc.h has the
// decoder (rpc_dec_*) and packers (rpc_pack_kv_*); kvsrv/kv_map.h has the
// store and the per-client duplicate table. These stubs reply "" and
// change nothing.
static int h_get(void *svc, const msgpack_object *args, msgpack_packer *reply)
{
    (void)svc, (void)args;
    msgpack_pack_map(reply, 1);
    rpc_pack_kv_str(reply, "v", "", 0);
    return 0;
}

static int h_put(void *svc, const msgpack_object *args, msgpack_packer *reply)
{
    (void)svc, (void)args;
    msgpack_pack_map(reply, 0);
    return 0;
}

static int h_append(void *svc, const msgpack_object *args,
                    msgpack_packer *reply)
{
    (void)svc, (void)args;
    msgpack_pack_map(reply, 1);
    rpc_pack_kv_str(reply, "v", "", 0);
    return 0;
}
*/
/* SOLUTION END */

/* Handlers only take the mutex briefly, so they run inline on the
 * connection's reader thread (no hand-off per request). */
static const struct rpc_method kvsrv_methods[] = {
    {"Get", h_get, RPC_INLINE},
    {"Put", h_put, RPC_INLINE},
    {"Append", h_append, RPC_INLINE},
};

int kvsrv_register(struct kvsrv *kv, struct rpc_server *srv)
{
    return rpc_server_add_service(srv, "KVServer", kv, kvsrv_methods,
                                  sizeof(kvsrv_methods) /
                                      sizeof(kvsrv_methods[0]));
}
