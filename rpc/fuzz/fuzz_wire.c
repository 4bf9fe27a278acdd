/* fuzz_wire.c - libFuzzer target for the receive path: the exact code the
 * server and the client run on bytes from a socket (rbuf framing and the
 * structural scanner, envelope parsing, bounded msgpack-c unpacking, and
 * the rpc_dec_* helpers a handler would apply to the arguments).
 *
 * Input: byte 0 selects the limits and how the rest is chunked (so the
 * resumable scan is exercised across arbitrary split points); the rest is
 * the byte stream. Besides sanitizer findings, it aborts if the scanner
 * and msgpack-c disagree about a message it accepted: that would mean
 * msgpack-c sees bytes our limits did not vet. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rpc/rpc.h"
#include "rpc/rpc_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static msgpack_zone *zone(void)
{
    static msgpack_zone *z;
    if (!z)
        z = msgpack_zone_new(8192);
    return z;
}

/* What a handler does with its args: read every field every way. */
static void exercise_decoders(const msgpack_object *o)
{
    struct rpc_dec d;
    rpc_dec_init(&d, o);
    if (d.err)
        return;
    const msgpack_object_map *m = &o->via.map;
    for (uint32_t i = 0; i < m->size && i < 64; i++) {
        const msgpack_object *k = &m->ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR || k->via.str.size > 32)
            continue;
        char key[33];
        if (k->via.str.size) /* msgpack-c gives "" a NULL pointer */
            memcpy(key, k->via.str.ptr, k->via.str.size);
        key[k->via.str.size] = '\0';
        size_t n;
        const msgpack_object *items;
        struct rpc_dec e;
        rpc_dec_init(&e, o);
        (void)rpc_dec_i64(&e, key, 0);
        rpc_dec_init(&e, o);
        (void)rpc_dec_u64(&e, key, 0);
        rpc_dec_init(&e, o);
        (void)rpc_dec_int(&e, key, 0);
        rpc_dec_init(&e, o);
        (void)rpc_dec_bool(&e, key, false);
        rpc_dec_init(&e, o);
        const char *p = rpc_dec_bytes(&e, key, &n);
        if (p && n) {
            volatile char c = p[n - 1]; /* must be readable */
            (void)c;
        }
        rpc_dec_init(&e, o);
        free(rpc_dec_strdup(&e, key));
        rpc_dec_init(&e, o);
        uint32_t cnt = rpc_dec_array(&e, key, &items);
        for (uint32_t j = 0; j < cnt && j < 16; j++) {
            int64_t v;
            const char *bp;
            (void)rpc_obj_i64(&items[j], &v);
            (void)rpc_obj_bytes(&items[j], &bp, &n);
            (void)rpc_obj_streq(&items[j], "x");
        }
    }
}

static void handle(const uint8_t *msg, size_t len)
{
    msgpack_zone *z = zone();
    msgpack_object whole;
    /* Differential check: scanner-accepted => msgpack-c decodes it all. */
    if (rpc_wire_unpack(msg, len, z, &whole) != 0)
        abort();
    msgpack_zone_clear(z);

    struct rpc_msg m;
    int rc = rpc_wire_parse(msg, len, &m);
    if (rc < 0) {
        if (m.has_msgid) {
            struct buf b = BUF_INIT;
            rpc_wire_append_error(&b, m.msgid, rc);
            struct rpc_msg r;
            if (rpc_wire_parse(b.data, b.len, &r) != 0 || r.error != rc)
                abort(); /* our own error replies must parse back */
            buf_free(&b);
        }
        return;
    }
    msgpack_object o;
    if (m.type == RPC_MSG_RESPONSE) {
        if (rpc_wire_unpack(m.result, m.result_len, z, &o) != 0)
            abort();
        exercise_decoders(&o);
    } else if (m.args) {
        if (rpc_wire_unpack(m.args, m.args_len, z, &o) != 0)
            abort();
        exercise_decoders(&o);
    }
    msgpack_zone_clear(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    data++;
    size--;
    struct rpc_limits lim;
    rpc_limits_for(&lim, (ctl & 1) ? 512 : RPC_DEFAULT_MAX_MSG);
    if (ctl & 2)
        lim.max_objects = 64; /* exercise the object budget */
    size_t chunk = 1 + (size_t)(ctl >> 2) * 13;
    struct rpc_rbuf rb;
    rpc_rbuf_init(&rb, &lim);
    size_t fed = 0;
    unsigned nmsg = 0;
    for (;;) {
        const uint8_t *msg;
        size_t len;
        int r = rpc_rbuf_next(&rb, &msg, &len);
        if (r < 0)
            break; /* the connection would be closed */
        if (r == 0) {
            if (fed == size)
                break;
            size_t avail;
            uint8_t *dst = rpc_rbuf_reserve(&rb, &avail);
            size_t n = size - fed;
            if (n > chunk)
                n = chunk;
            if (n > avail)
                n = avail;
            memcpy(dst, data + fed, n);
            rpc_rbuf_commit(&rb, n);
            fed += n;
            continue;
        }
        if (len == 0 || len > lim.max_msg)
            abort();
        if (nmsg++ % 2) {
            uint8_t *base;
            const uint8_t *dm;
            rpc_rbuf_detach(&rb, len, &base, &dm);
            handle(dm, len);
            free(base);
        } else {
            handle(msg, len);
            rpc_rbuf_consume(&rb, len);
        }
    }
    rpc_rbuf_free(&rb);
    return 0;
}
