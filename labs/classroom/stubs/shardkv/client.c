/* client.c - lab 5: the sharded KV clerk (shardkv/shardkv.h), needed
 * from 5A on (TestStaticShards5A, TestRejection5A).
 *
 * Write it here: find the key's shard (sc_key2shard) and its group in the
 * latest configuration, try that group's servers (make_end), and refresh
 * the configuration on ErrWrongGroup, numbering requests so retries take
 * effect once.
 *
 * These stubs answer at once without calling any server. */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/rand.h"
#include "shardkv/shardkv.h"

struct skv_clerk {
    uint64_t id;
    // Your data here.
};

struct skv_clerk *skv_clerk_new(struct rpc_end **ctrlers, int nctrlers,
                                skv_make_end_fn make_end, void *ctx,
                                uint64_t client_id)
{
    (void)ctrlers, (void)nctrlers, (void)make_end, (void)ctx;
    struct skv_clerk *ck = xcalloc(1, sizeof *ck);
    ck->id = client_id ? client_id : rng_os_seed();
    return ck;
}

void skv_clerk_free(struct skv_clerk *ck)
{
    free(ck);
}

uint64_t skv_clerk_id(const struct skv_clerk *ck)
{
    return ck->id;
}

char *skv_clerk_get_err(struct skv_clerk *ck, const char *key, size_t *len,
                        int *err)
{
    (void)ck, (void)key;
    if (len)
        *len = 0;
    *err = 0;
    return xstrdup("");
}

char *skv_clerk_get(struct skv_clerk *ck, const char *key, size_t *len)
{
    int err;
    return skv_clerk_get_err(ck, key, len, &err);
}

int skv_clerk_put_n(struct skv_clerk *ck, const char *key, size_t klen,
                    const char *value, size_t vlen)
{
    (void)ck, (void)key, (void)klen, (void)value, (void)vlen;
    return 0;
}

int skv_clerk_append_n(struct skv_clerk *ck, const char *key, size_t klen,
                       const char *value, size_t vlen)
{
    (void)ck, (void)key, (void)klen, (void)value, (void)vlen;
    return 0;
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

void skv_clerk_set_op_timeout(struct skv_clerk *ck, uint64_t ms)
{
    (void)ck, (void)ms;
}
