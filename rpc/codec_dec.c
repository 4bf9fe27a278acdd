/* codec_dec.c - decoding helpers (the public rpc_dec_* / rpc_obj_* API).
 *
 * Conventions: a missing field and a nil field both read as "absent" and
 * give the default (so optional fields can be omitted by any msgpack
 * client); a field of the wrong type, or an integer out of the target's
 * range, sets the sticky error ERR_BADARGS, after which every read returns
 * its default. Integers are accepted in both msgpack encodings (positive /
 * negative), as msgpack-c decodes every non-negative value as positive. */
#include <limits.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "rpc/rpc.h"

void rpc_dec_init(struct rpc_dec *d, const msgpack_object *obj)
{
    d->map = obj;
    d->err = obj && obj->type == MSGPACK_OBJECT_MAP ? 0 : ERR_BADARGS;
}

bool rpc_obj_streq(const msgpack_object *o, const char *s)
{
    if (!o || o->type != MSGPACK_OBJECT_STR)
        return false;
    size_t n = strlen(s);
    return o->via.str.size == n &&
           (n == 0 || memcmp(o->via.str.ptr, s, n) == 0);
}

const msgpack_object *rpc_dec_field(struct rpc_dec *d, const char *key)
{
    if (d->err)
        return NULL;
    size_t n = strlen(key);
    const msgpack_object_map *m = &d->map->via.map;
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            (n == 0 || memcmp(k->via.str.ptr, key, n) == 0))
            return &m->ptr[i].val;
    }
    return NULL;
}

/* The field's value, or NULL if absent/nil/after an error. */
static const msgpack_object *present(struct rpc_dec *d, const char *key)
{
    const msgpack_object *o = rpc_dec_field(d, key);
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return NULL;
    return o;
}

static void fail(struct rpc_dec *d) { d->err = ERR_BADARGS; }

int rpc_obj_i64(const msgpack_object *o, int64_t *out)
{
    if (!o)
        return ERR_BADARGS;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t)INT64_MAX)
            return ERR_BADARGS;
        *out = (int64_t)o->via.u64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return 0;
    }
    return ERR_BADARGS;
}

int rpc_obj_u64(const msgpack_object *o, uint64_t *out)
{
    if (!o || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return ERR_BADARGS;
    *out = o->via.u64;
    return 0;
}

int rpc_obj_bytes(const msgpack_object *o, const char **p, size_t *len)
{
    if (!o)
        return ERR_BADARGS;
    if (o->type == MSGPACK_OBJECT_STR) {
        *p = o->via.str.ptr ? o->via.str.ptr : "";
        *len = o->via.str.size;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_BIN) {
        *p = o->via.bin.ptr ? o->via.bin.ptr : "";
        *len = o->via.bin.size;
        return 0;
    }
    return ERR_BADARGS;
}

int64_t rpc_dec_i64(struct rpc_dec *d, const char *key, int64_t dflt)
{
    const msgpack_object *o = present(d, key);
    int64_t v;
    if (!o)
        return dflt;
    if (rpc_obj_i64(o, &v) < 0) {
        fail(d);
        return dflt;
    }
    return v;
}

uint64_t rpc_dec_u64(struct rpc_dec *d, const char *key, uint64_t dflt)
{
    const msgpack_object *o = present(d, key);
    uint64_t v;
    if (!o)
        return dflt;
    if (rpc_obj_u64(o, &v) < 0) {
        fail(d);
        return dflt;
    }
    return v;
}

int rpc_dec_int(struct rpc_dec *d, const char *key, int dflt)
{
    const msgpack_object *o = present(d, key);
    int64_t v;
    if (!o)
        return dflt;
    if (rpc_obj_i64(o, &v) < 0 || v < INT_MIN || v > INT_MAX) {
        fail(d);
        return dflt;
    }
    return (int)v;
}

bool rpc_dec_bool(struct rpc_dec *d, const char *key, bool dflt)
{
    const msgpack_object *o = present(d, key);
    if (!o)
        return dflt;
    if (o->type != MSGPACK_OBJECT_BOOLEAN) {
        fail(d);
        return dflt;
    }
    return o->via.boolean;
}

const char *rpc_dec_bytes(struct rpc_dec *d, const char *key, size_t *len)
{
    const msgpack_object *o = present(d, key);
    const char *p;
    *len = 0;
    if (!o)
        return NULL;
    if (rpc_obj_bytes(o, &p, len) < 0) {
        fail(d);
        *len = 0;
        return NULL;
    }
    return p;
}

char *rpc_dec_strdup(struct rpc_dec *d, const char *key)
{
    size_t n;
    const char *p = rpc_dec_bytes(d, key, &n);
    return p ? buf_strndup(p, n) : NULL;
}

uint32_t rpc_dec_array(struct rpc_dec *d, const char *key,
                       const msgpack_object **items)
{
    const msgpack_object *o = present(d, key);
    *items = NULL;
    if (!o)
        return 0;
    if (o->type != MSGPACK_OBJECT_ARRAY) {
        fail(d);
        return 0;
    }
    *items = o->via.array.ptr;
    return o->via.array.size;
}
