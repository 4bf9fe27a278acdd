/* client.c - lab 2 clerk: one outstanding request at a time, retried with
 * the same (client id, seq) until a reply arrives. */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/rand.h"
#include "kvsrv/kvsrv.h"

struct kvsrv_clerk {
    struct rpc_end *end; /* borrowed */
    uint64_t id;
/* SOLUTION BEGIN */
    uint64_t seq; /* last sequence number used */
/* SOLUTION END */
};

struct kvsrv_clerk *kvsrv_clerk_new(struct rpc_end *end, uint64_t client_id)
{
    struct kvsrv_clerk *ck = xcalloc(1, sizeof(*ck));
    ck->end = end;
    ck->id = client_id ? client_id : rng_os_seed();
    return ck;
}

void kvsrv_clerk_free(struct kvsrv_clerk *ck) { free(ck); }

uint64_t kvsrv_clerk_id(const struct kvsrv_clerk *ck) { return ck->id; }

/* SOLUTION BEGIN */
struct req {
    const char *key;
    size_t klen;
    const char *val;
    size_t vlen;
    uint64_t client;
    uint64_t seq;
};

static int enc_get(msgpack_packer *pk, const void *p)
{
    const struct req *r = p;
    msgpack_pack_map(pk, 1);
    rpc_pack_kv_str(pk, "k", r->key, r->klen);
    return 0;
}

static int enc_put_append(msgpack_packer *pk, const void *p)
{
    const struct req *r = p;
    msgpack_pack_map(pk, 4);
    rpc_pack_kv_str(pk, "k", r->key, r->klen);
    rpc_pack_kv_str(pk, "v", r->val, r->vlen);
    rpc_pack_kv_u64(pk, "c", r->client);
    rpc_pack_kv_u64(pk, "s", r->seq);
    return 0;
}

struct val_reply {
    char *v;
    size_t len;
};

static int dec_value(const msgpack_object *obj, void *out)
{
    struct val_reply *r = out;
    struct rpc_dec d;
    rpc_dec_init(&d, obj);
    size_t n = 0;
    const char *p = rpc_dec_bytes(&d, "v", &n);
    if (d.err)
        return ERR_PROTO;
    r->v = buf_strndup(p ? p : "", p ? n : 0);
    r->len = p ? n : 0;
    return 0;
}

/* Retry until the call succeeds or the end is shut down. Lost requests
 * and replies are retried at once (the network already delayed us);
 * connection-level failures back off briefly so a down server is not
 * hammered in a tight loop. */
static int call_until_reply(struct kvsrv_clerk *ck, const char *method,
                            rpc_encode_fn enc, const struct req *r,
                            rpc_decode_fn dec, void *reply)
{
    for (;;) {
        int rc = rpc_call(ck->end, method, enc, r, dec, reply);
        if (rc == 0)
            return 0;
        if (rc == ERR_CLOSED)
            return rc;
        if (rc != ERR_DROPPED && rc != ERR_TIMEOUT)
            clock_sleep_ms(10);
    }
}

char *kvsrv_clerk_get(struct kvsrv_clerk *ck, const char *key, size_t *len)
{
    struct req r = {.key = key, .klen = strlen(key)};
    struct val_reply rep = {0};
    if (call_until_reply(ck, "KVServer.Get", enc_get, &r, dec_value, &rep))
        return NULL;
    if (len)
        *len = rep.len;
    return rep.v;
}

int kvsrv_clerk_put_n(struct kvsrv_clerk *ck, const char *key, size_t klen,
                      const char *value, size_t vlen)
{
    struct req r = {.key = key, .klen = klen, .val = value, .vlen = vlen,
                    .client = ck->id, .seq = ++ck->seq};
    return call_until_reply(ck, "KVServer.Put", enc_put_append, &r, NULL,
                            NULL);
}

int kvsrv_clerk_put(struct kvsrv_clerk *ck, const char *key,
                    const char *value)
{
    return kvsrv_clerk_put_n(ck, key, strlen(key), value, strlen(value));
}

char *kvsrv_clerk_append_n(struct kvsrv_clerk *ck, const char *key,
                           size_t klen, const char *value, size_t vlen,
                           size_t *old_len)
{
    struct req r = {.key = key, .klen = klen, .val = value, .vlen = vlen,
                    .client = ck->id, .seq = ++ck->seq};
    struct val_reply rep = {0};
    if (call_until_reply(ck, "KVServer.Append", enc_put_append, &r,
                         dec_value, &rep))
        return NULL;
    if (old_len)
        *old_len = rep.len;
    return rep.v;
}

/* SOLUTION STUB
// The clerk's calls (kvsrv.h): rpc_call() the "KVServer" methods, retrying
// until a reply arrives. These stubs answer at once without calling.
char *kvsrv_clerk_get(struct kvsrv_clerk *ck, const char *key, size_t *len)
{
    (void)ck, (void)key;
    if (len)
        *len = 0;
    return xstrdup("");
}

int kvsrv_clerk_put_n(struct kvsrv_clerk *ck, const char *key, size_t klen,
                      const char *value, size_t vlen)
{
    (void)ck, (void)key, (void)klen, (void)value, (void)vlen;
    return 0;
}

int kvsrv_clerk_put(struct kvsrv_clerk *ck, const char *key,
                    const char *value)
{
    return kvsrv_clerk_put_n(ck, key, strlen(key), value, strlen(value));
}

char *kvsrv_clerk_append_n(struct kvsrv_clerk *ck, const char *key,
                           size_t klen, const char *value, size_t vlen,
                           size_t *old_len)
{
    (void)ck, (void)key, (void)klen, (void)value, (void)vlen;
    if (old_len)
        *old_len = 0;
    return xstrdup("");
}
*/
/* SOLUTION END */

char *kvsrv_clerk_append(struct kvsrv_clerk *ck, const char *key,
                         const char *value, size_t *old_len)
{
    return kvsrv_clerk_append_n(ck, key, strlen(key), value, strlen(value),
                                old_len);
}
