/* codec_pack.c - small packing helpers for named-field maps (the public
 * rpc_pack_* API). A NULL C string packs as nil, which decoders read as
 * "absent". */
#include <string.h>

#include "rpc/rpc.h"

void rpc_pack_str(msgpack_packer *pk, const void *p, size_t n)
{
    msgpack_pack_str(pk, n);
    if (n)
        msgpack_pack_str_body(pk, p, n);
}

void rpc_pack_bin(msgpack_packer *pk, const void *p, size_t n)
{
    msgpack_pack_bin(pk, n);
    if (n)
        msgpack_pack_bin_body(pk, p, n);
}

void rpc_pack_cstr(msgpack_packer *pk, const char *s)
{
    if (!s)
        msgpack_pack_nil(pk);
    else
        rpc_pack_str(pk, s, strlen(s));
}

void rpc_pack_key(msgpack_packer *pk, const char *key)
{
    rpc_pack_str(pk, key, strlen(key));
}

void rpc_pack_kv_i64(msgpack_packer *pk, const char *key, int64_t v)
{
    rpc_pack_key(pk, key);
    msgpack_pack_int64(pk, v);
}

void rpc_pack_kv_u64(msgpack_packer *pk, const char *key, uint64_t v)
{
    rpc_pack_key(pk, key);
    msgpack_pack_uint64(pk, v);
}

void rpc_pack_kv_bool(msgpack_packer *pk, const char *key, bool v)
{
    rpc_pack_key(pk, key);
    if (v)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

void rpc_pack_kv_str(msgpack_packer *pk, const char *key, const void *p,
                     size_t n)
{
    rpc_pack_key(pk, key);
    rpc_pack_str(pk, p, n);
}

void rpc_pack_kv_cstr(msgpack_packer *pk, const char *key, const char *s)
{
    rpc_pack_key(pk, key);
    rpc_pack_cstr(pk, s);
}

void rpc_pack_kv_bin(msgpack_packer *pk, const char *key, const void *p,
                     size_t n)
{
    rpc_pack_key(pk, key);
    rpc_pack_bin(pk, p, n);
}
