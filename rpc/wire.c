/* wire.c - msgpack-rpc envelopes: parse and validate received messages,
 * build request/response headers, and unpack argument/result objects with
 * msgpack-c into a reusable per-thread zone.
 *
 * The envelope is parsed by hand (not with msgpack-c) so the server can
 * recover a msgid for an error reply even when the rest is malformed, and
 * the client can route a reply without decoding its result. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rpc/rpc_internal.h"

/* Header at msg[*off..len), advancing *off past the header only. */
static int next_hdr(const uint8_t *msg, size_t len, size_t *off,
                    struct rpc_mp_hdr *h)
{
    if (*off > len || rpc_mp_hdr(msg + *off, len - *off, h) != 1)
        return ERR_PROTO;
    *off += h->hlen;
    return 0;
}

/* Skip the object at *off (its header not yet consumed). */
static int skip_obj(const uint8_t *msg, size_t len, size_t *off)
{
    struct rpc_limits lim = {len, len + 1};
    size_t n;
    if (*off > len || rpc_scan_object(msg + *off, len - *off, &lim, &n) != 1)
        return ERR_PROTO;
    *off += n;
    return 0;
}

/* A str header followed by its body, within bounds. */
static int read_str(const uint8_t *msg, size_t len, size_t *off,
                    const struct rpc_mp_hdr *h, const uint8_t **p, size_t *n)
{
    if (h->kind != RPC_MP_STR || h->body > len - *off)
        return ERR_PROTO;
    *p = msg + *off;
    *n = (size_t)h->body;
    *off += (size_t)h->body;
    return 0;
}

/* params: [] or [map-or-nil] (the last element of the message). */
static int parse_params(const uint8_t *msg, size_t len, size_t off,
                        struct rpc_msg *m)
{
    struct rpc_mp_hdr h;
    if (next_hdr(msg, len, &off, &h) < 0 || h.kind != RPC_MP_ARRAY)
        return ERR_PROTO;
    if (h.count == 0) {
        m->args = NULL;
        m->args_len = 0;
        return off == len ? 0 : ERR_PROTO;
    }
    if (h.count != 1)
        return ERR_BADARGS;
    size_t start = off;
    struct rpc_mp_hdr a;
    if (next_hdr(msg, len, &off, &a) < 0)
        return ERR_PROTO;
    if (a.kind != RPC_MP_MAP && a.kind != RPC_MP_NIL)
        return ERR_BADARGS;
    /* The scanner proved the message is one object, so the last element
     * of the envelope ends it; rpc_wire_unpack re-checks the span. */
    m->args = msg + start;
    m->args_len = len - start;
    return 0;
}

int rpc_wire_parse(const uint8_t *msg, size_t len, struct rpc_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->type = -1;
    size_t off = 0;
    struct rpc_mp_hdr h, t;
    if (next_hdr(msg, len, &off, &h) < 0 || h.kind != RPC_MP_ARRAY ||
        h.count < 1)
        return ERR_PROTO;
    if (next_hdr(msg, len, &off, &t) < 0 || t.kind != RPC_MP_UINT ||
        t.u > RPC_MSG_NOTIFY)
        return ERR_PROTO;
    m->type = (int)t.u;
    if (m->type == RPC_MSG_NOTIFY) {
        struct rpc_mp_hdr mh;
        if (h.count != 3 || next_hdr(msg, len, &off, &mh) < 0 ||
            read_str(msg, len, &off, &mh, &m->method, &m->method_len) < 0)
            return ERR_PROTO;
        return parse_params(msg, len, off, m);
    }
    /* Request or response: the msgid comes next. */
    struct rpc_mp_hdr id;
    if (h.count < 2 || next_hdr(msg, len, &off, &id) < 0 ||
        id.kind != RPC_MP_UINT || id.u > UINT32_MAX)
        return ERR_PROTO;
    m->msgid = (uint32_t)id.u;
    m->has_msgid = true;
    if (h.count != 4)
        return ERR_PROTO;
    if (m->type == RPC_MSG_REQUEST) {
        struct rpc_mp_hdr mh;
        if (next_hdr(msg, len, &off, &mh) < 0 ||
            read_str(msg, len, &off, &mh, &m->method, &m->method_len) < 0)
            return ERR_PROTO;
        return parse_params(msg, len, off, m);
    }
    /* Response: error, result. */
    size_t estart = off;
    struct rpc_mp_hdr eh;
    if (next_hdr(msg, len, &off, &eh) < 0)
        return ERR_PROTO;
    if (eh.kind == RPC_MP_NIL) {
        m->error = 0;
    } else if (eh.kind == RPC_MP_STR) {
        const uint8_t *p;
        size_t n;
        if (read_str(msg, len, &off, &eh, &p, &n) < 0)
            return ERR_PROTO;
        m->error = err_parse((const char *)p, n);
        if (m->error == 0) /* "OK" is not an error object */
            m->error = ERR_REMOTE;
    } else {
        /* Another implementation's structured error. */
        off = estart;
        if (skip_obj(msg, len, &off) < 0)
            return ERR_PROTO;
        m->error = ERR_REMOTE;
    }
    if (off >= len)
        return ERR_PROTO;
    m->result = msg + off; /* the last element: ends the message */
    m->result_len = len - off;
    return 0;
}

int rpc_wire_unpack(const uint8_t *p, size_t len, msgpack_zone *z,
                    msgpack_object *out)
{
    size_t off = 0;
    if (len == 0)
        return ERR_PROTO;
    msgpack_unpack_return r =
        msgpack_unpack((const char *)p, len, &off, z, out);
    if (r != MSGPACK_UNPACK_SUCCESS || off != len)
        return ERR_PROTO;
    return 0;
}

/* Per-thread decode zone: __thread for speed; the pthread key exists only
 * to free it when the thread exits. */
static __thread msgpack_zone *tls_zone;
static pthread_key_t zone_key;
static pthread_once_t zone_once = PTHREAD_ONCE_INIT;

static void zone_destructor(void *z) { msgpack_zone_free(z); }
static void zone_key_init(void)
{
    if (pthread_key_create(&zone_key, zone_destructor) != 0)
        abort();
}

msgpack_zone *rpc_zone_get(void)
{
    if (!tls_zone) {
        pthread_once(&zone_once, zone_key_init);
        tls_zone = msgpack_zone_new(8192);
        if (!tls_zone)
            abort();
        pthread_setspecific(zone_key, tls_zone);
    }
    return tls_zone;
}

void rpc_zone_done(msgpack_zone *z)
{
    /* Keeps the first chunk, frees the rest (big decodes don't pin). */
    msgpack_zone_clear(z);
}

size_t rpc_wire_req_header(uint8_t *out, size_t cap, const char *method,
                           size_t method_len)
{
    size_t need = 1 + 1 + 5 + 5 + method_len + 1;
    if (cap < need || method_len > UINT32_MAX)
        return 0;
    size_t n = 0;
    out[n++] = 0x94;
    out[n++] = 0x00;
    out[n++] = 0xce;
    n += 4; /* msgid patched in later */
    if (method_len < 32) {
        out[n++] = (uint8_t)(0xa0 | method_len);
    } else if (method_len < 256) {
        out[n++] = 0xd9;
        out[n++] = (uint8_t)method_len;
    } else if (method_len < 65536) {
        out[n++] = 0xda;
        out[n++] = (uint8_t)(method_len >> 8);
        out[n++] = (uint8_t)method_len;
    } else {
        out[n++] = 0xdb;
        for (int sh = 24; sh >= 0; sh -= 8)
            out[n++] = (uint8_t)(method_len >> sh);
    }
    memcpy(out + n, method, method_len);
    n += method_len;
    out[n++] = 0x91;
    return n;
}

void rpc_wire_patch_msgid(uint8_t *msg, uint32_t msgid)
{
    uint8_t *p = msg + RPC_REQ_MSGID_OFF;
    p[0] = (uint8_t)(msgid >> 24);
    p[1] = (uint8_t)(msgid >> 16);
    p[2] = (uint8_t)(msgid >> 8);
    p[3] = (uint8_t)msgid;
}

void rpc_wire_resp_header(uint8_t *out, uint32_t msgid)
{
    out[0] = 0x94;
    out[1] = 0x01;
    out[2] = 0xce;
    out[3] = (uint8_t)(msgid >> 24);
    out[4] = (uint8_t)(msgid >> 16);
    out[5] = (uint8_t)(msgid >> 8);
    out[6] = (uint8_t)msgid;
    out[7] = 0xc0;
}

void rpc_wire_append_error(struct buf *b, uint32_t msgid, int code)
{
    uint8_t hdr[RPC_RESP_HDR_LEN];
    rpc_wire_resp_header(hdr, msgid);
    buf_append(b, hdr, RPC_RESP_HDR_LEN - 1); /* without the nil error */
    const char *name = err_name(code);
    size_t n = strlen(name); /* err names are short: fixstr */
    buf_append_byte(b, (uint8_t)(0xa0 | (n & 0x1f)));
    buf_append(b, name, n);
    buf_append_byte(b, 0xc0); /* result nil */
}
