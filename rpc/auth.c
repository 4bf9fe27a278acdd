/* auth.c - cluster membership: a pre-shared cluster key and a
 * challenge-response per connection (libsodium's crypto_auth,
 * HMAC-SHA512-256; no hand-written crypto).
 *
 * The handshake is two ordinary msgpack-rpc calls, so open clients (no
 * key) still talk to a keyed server's unprotected services:
 *
 *   client -> Auth.Hello {cn: 32 random bytes}
 *   server <- {sn: 32 random bytes, sp: MAC(k, "srv1" | cn | sn)}
 *   client    checks sp (the server knows the key: no rogue server)
 *   client -> Auth.Prove {cp: MAC(k, "cli1" | sn | cn)}
 *   server    checks cp, marks the connection authenticated <- {}
 *
 * A fresh server nonce per connection makes a recorded proof useless on
 * another connection; the labels keep the two proofs apart. The key is
 * crypto_generichash of the key file's bytes, so any file of at least
 * RPC_AUTH_MIN_FILE bytes works (e.g. `head -c 32 /dev/urandom`).
 *
 * Server side: sconn.c calls rpc_auth_serve for Auth.* requests and
 * rpc_auth_allowed before dispatching anything else, on the reader role
 * (the per-connection state is the reader role's). Client side: client.c
 * runs rpc_auth_client on every new connection when the process has a
 * key (rpc_client_set_cluster_key). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "rpc/rpc_internal.h"

#define RPC_AUTH_MIN_FILE 16
#define RPC_AUTH_MAX_FILE 4096
#define NONCE_BYTES 32
#define AUTH_PREFIX "Auth."

_Static_assert(crypto_auth_KEYBYTES == RPC_AUTH_KEY_BYTES, "key size");
_Static_assert(crypto_auth_BYTES == 32, "mac size");

struct rpc_auth {
    uint8_t key[RPC_AUTH_KEY_BYTES];
    bool all;          /* every service is protected */
    char **protect;    /* else these service names */
    size_t n_protect;
};

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_rc;
static void sodium_start(void) { sodium_rc = sodium_init(); }
static int need_sodium(void)
{
    pthread_once(&sodium_once, sodium_start);
    return sodium_rc < 0 ? ERR_IO : 0;
}

int rpc_auth_load_key(const char *path, uint8_t key[RPC_AUTH_KEY_BYTES])
{
    if (need_sodium() < 0)
        return ERR_IO;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ERR_IO;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return ERR_IO;
    }
    if (st.st_mode & S_IRWXO) {
        close(fd);
        errno = EPERM; /* like ssh: a secret others can read is none */
        return ERR_INVAL;
    }
    uint8_t raw[RPC_AUTH_MAX_FILE];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, raw + n, sizeof(raw) - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return ERR_IO;
        }
        if (r == 0 || (n += (size_t)r) == sizeof(raw))
            break;
    }
    close(fd);
    if (n < RPC_AUTH_MIN_FILE) {
        errno = EINVAL;
        sodium_memzero(raw, sizeof(raw));
        return ERR_INVAL;
    }
    crypto_generichash(key, RPC_AUTH_KEY_BYTES, raw, n, NULL, 0);
    sodium_memzero(raw, sizeof(raw));
    return 0;
}

int rpc_server_set_cluster_key(struct rpc_server *s,
                               const uint8_t key[RPC_AUTH_KEY_BYTES],
                               const char *const *protect)
{
    if (need_sodium() < 0)
        return ERR_IO;
    struct rpc_auth *a = xcalloc(1, sizeof(*a));
    memcpy(a->key, key, RPC_AUTH_KEY_BYTES);
    a->all = protect == NULL;
    for (size_t i = 0; protect && protect[i]; i++)
        a->n_protect++;
    a->protect = xcalloc(a->n_protect + 1, sizeof(char *));
    for (size_t i = 0; i < a->n_protect; i++)
        a->protect[i] = xstrdup(protect[i]);
    pthread_mutex_lock(&s->mu);
    struct rpc_auth *old = s->auth;
    s->auth = a;
    pthread_mutex_unlock(&s->mu);
    rpc_auth_free(old);
    return 0;
}

void rpc_auth_free(struct rpc_auth *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n_protect; i++)
        free(a->protect[i]);
    free(a->protect);
    sodium_memzero(a->key, sizeof(a->key));
    free(a);
}

static void mac(uint8_t out[32], const uint8_t key[RPC_AUTH_KEY_BYTES],
                const char label[4], const uint8_t *a, const uint8_t *b)
{
    uint8_t in[4 + 2 * NONCE_BYTES];
    memcpy(in, label, 4);
    memcpy(in + 4, a, NONCE_BYTES);
    memcpy(in + 4 + NONCE_BYTES, b, NONCE_BYTES);
    crypto_auth(out, in, sizeof(in), key);
}

static bool verify(const uint8_t *tag, size_t len,
                   const uint8_t key[RPC_AUTH_KEY_BYTES], const char label[4],
                   const uint8_t *a, const uint8_t *b)
{
    if (len != crypto_auth_BYTES)
        return false;
    uint8_t in[4 + 2 * NONCE_BYTES];
    memcpy(in, label, 4);
    memcpy(in + 4, a, NONCE_BYTES);
    memcpy(in + 4 + NONCE_BYTES, b, NONCE_BYTES);
    return crypto_auth_verify(tag, in, sizeof(in), key) == 0;
}

bool rpc_auth_is_method(const struct rpc_msg *m)
{
    size_t n = sizeof(AUTH_PREFIX) - 1;
    return m->method_len > n && memcmp(m->method, AUTH_PREFIX, n) == 0;
}

static bool method_is(const struct rpc_msg *m, const char *name)
{
    size_t n = strlen(name);
    return m->method_len == n && memcmp(m->method, name, n) == 0;
}

void rpc_auth_serve(struct rpc_sconn *c, const struct rpc_msg *m,
                    struct buf *out)
{
    const struct rpc_auth *a = c->srv->auth;
    bool notify = m->type == RPC_MSG_NOTIFY;
    if (!a) {
        if (!notify)
            rpc_wire_append_error(out, m->msgid, ERR_NOMETHOD);
        return;
    }
    msgpack_zone *z = rpc_zone_get();
    msgpack_object args = {.type = MSGPACK_OBJECT_NIL};
    int rc = m->args ? rpc_wire_unpack(m->args, m->args_len, z, &args)
                     : ERR_BADARGS;
    struct rpc_dec d;
    rpc_dec_init(&d, &args);
    size_t start = out->len;
    if (rc == 0 && method_is(m, "Auth.Hello")) {
        size_t cn_len = 0;
        const uint8_t *cn = (const uint8_t *)rpc_dec_bytes(&d, "cn", &cn_len);
        if (d.err || !cn || cn_len != NONCE_BYTES) {
            rc = ERR_BADARGS;
        } else {
            randombytes_buf(c->auth_sn, NONCE_BYTES);
            memcpy(c->auth_cn, cn, NONCE_BYTES);
            c->auth_state = 1;
            uint8_t sp[32];
            mac(sp, a->key, "srv1", c->auth_cn, c->auth_sn);
            buf_reserve(out, RPC_RESP_HDR_LEN);
            rpc_wire_resp_header(out->data + out->len, m->msgid);
            out->len += RPC_RESP_HDR_LEN;
            msgpack_packer pk;
            rpc_packer_for_buf(&pk, out);
            msgpack_pack_map(&pk, 2);
            rpc_pack_kv_bin(&pk, "sn", c->auth_sn, NONCE_BYTES);
            rpc_pack_kv_bin(&pk, "sp", sp, sizeof(sp));
        }
    } else if (rc == 0 && method_is(m, "Auth.Prove")) {
        size_t cp_len = 0;
        const uint8_t *cp = (const uint8_t *)rpc_dec_bytes(&d, "cp", &cp_len);
        if (d.err || !cp || c->auth_state != 1 ||
            !verify(cp, cp_len, a->key, "cli1", c->auth_sn, c->auth_cn)) {
            log_warn("RPC", -1, "%s: cluster key proof rejected",
                     c->srv->addr);
            rc = ERR_AUTH;
            c->auth_state = 0; /* one try per challenge */
        } else {
            c->authed = true;
            buf_reserve(out, RPC_RESP_HDR_LEN + 1);
            rpc_wire_resp_header(out->data + out->len, m->msgid);
            out->len += RPC_RESP_HDR_LEN;
            buf_append_byte(out, 0x80); /* {} */
        }
    } else if (rc == 0) {
        rc = ERR_NOMETHOD;
    }
    msgpack_zone_clear(z);
    if (rc < 0) {
        out->len = start;
        if (!notify)
            rpc_wire_append_error(out, m->msgid, rc);
    } else if (notify) {
        out->len = start;
    }
}

bool rpc_auth_allowed(struct rpc_sconn *c, const struct rpc_msg *m)
{
    const struct rpc_auth *a = c->srv->auth;
    if (!a || c->authed)
        return true;
    bool prot = a->all;
    const uint8_t *dot = memchr(m->method, '.', m->method_len);
    size_t slen = dot ? (size_t)(dot - m->method) : m->method_len;
    for (size_t i = 0; !prot && i < a->n_protect; i++) {
        /* "Service" or "Service.Method" */
        size_t plen = strlen(a->protect[i]);
        prot = (plen == slen || plen == m->method_len) &&
               memcmp(a->protect[i], m->method, plen) == 0;
    }
    if (prot && !c->auth_warned) {
        /* Once per connection: a flood of forged calls is not a flood
         * of log lines. */
        c->auth_warned = true;
        log_warn("RPC", -1, "%s: rejected %.*s from an unauthenticated "
                 "connection", c->srv->addr, (int)m->method_len, m->method);
    }
    return !prot;
}

/* ------------------------------------------------------------------------
 * Client side */

static uint8_t client_key[RPC_AUTH_KEY_BYTES];
static bool client_keyed; /* written once at start-up, before any call */

int rpc_client_set_cluster_key(const uint8_t key[RPC_AUTH_KEY_BYTES])
{
    if (need_sodium() < 0)
        return ERR_IO;
    memcpy(client_key, key, RPC_AUTH_KEY_BYTES);
    RPC_STORE(&client_keyed, true);
    return 0;
}

/* One blocking call on the raw socket: send the request, read until the
 * reply to msgid arrives; its result is unpacked into z. */
static int raw_call(int fd, uint32_t msgid, const char *method,
                    const char *k1, const uint8_t *v1, size_t n1,
                    uint64_t deadline_ns, msgpack_zone *z,
                    msgpack_object *result)
{
    struct buf b;
    buf_init(&b);
    buf_reserve(&b, 64);
    b.len = rpc_wire_req_header(b.data, b.cap, method, strlen(method));
    rpc_wire_patch_msgid(b.data, msgid);
    msgpack_packer pk;
    rpc_packer_for_buf(&pk, &b);
    msgpack_pack_map(&pk, 1);
    rpc_pack_kv_bin(&pk, k1, v1, n1);
    struct rpc_send_ctl ctl = {deadline_ns - clock_now_ns(), deadline_ns,
                               NULL};
    struct rpc_stream st;
    struct rpc_limits lim;
    rpc_limits_for(&lim, 4096);
    rpc_stream_init(&st, fd, &lim);
    int rc = rpc_stream_send(&st, b.data, b.len, &ctl);
    buf_free(&b);
    while (rc == 0) {
        const uint8_t *msg;
        size_t len;
        int r = rpc_rbuf_next(&st.rb, &msg, &len);
        if (r < 0) {
            rc = ERR_PROTO;
            break;
        }
        if (r == 0) {
            if (clock_now_ns() >= deadline_ns) {
                rc = ERR_TIMEOUT;
                break;
            }
            r = rpc_stream_fill(&st);
            if (r < 0 && r != ERR_TIMEOUT)
                rc = ERR_UNREACHABLE;
            continue;
        }
        struct rpc_msg m;
        if (rpc_wire_parse(msg, len, &m) < 0 || m.type != RPC_MSG_RESPONSE ||
            m.msgid != msgid) {
            rc = ERR_PROTO;
        } else if (m.error) {
            rc = m.error;
        } else if (!m.result) {
            rc = ERR_PROTO;
        } else {
            /* Copy: the stream's buffer is freed below. */
            uint8_t *copy = msgpack_zone_malloc(z, m.result_len);
            if (!copy) {
                rc = ERR_NOMEM;
            } else {
                memcpy(copy, m.result, m.result_len);
                rc = rpc_wire_unpack(copy, m.result_len, z, result);
            }
        }
        if (rpc_rbuf_buffered(&st.rb) != len)
            rc = rc == 0 ? ERR_PROTO : rc; /* nothing may follow */
        break;
    }
    st.fd = -1; /* the caller keeps the socket */
    rpc_stream_destroy(&st);
    return rc;
}

int rpc_auth_client(int fd, uint64_t deadline_ns)
{
    if (!RPC_LOAD(&client_keyed))
        return 0;
    rpc_sock_set_timeouts(fd, RPC_TICK_MS, RPC_TICK_MS);
    uint8_t cn[NONCE_BYTES], cp[32];
    randombytes_buf(cn, sizeof(cn));
    msgpack_zone *z = msgpack_zone_new(1024);
    if (!z)
        return ERR_NOMEM;
    msgpack_object res;
    int rc = raw_call(fd, 1, "Auth.Hello", "cn", cn, sizeof(cn), deadline_ns,
                      z, &res);
    if (rc == 0) {
        struct rpc_dec d;
        rpc_dec_init(&d, &res);
        size_t sn_len = 0, sp_len = 0;
        const uint8_t *sn = (const uint8_t *)rpc_dec_bytes(&d, "sn", &sn_len);
        const uint8_t *sp = (const uint8_t *)rpc_dec_bytes(&d, "sp", &sp_len);
        if (d.err || !sn || sn_len != NONCE_BYTES || !sp ||
            !verify(sp, sp_len, client_key, "srv1", cn, sn)) {
            rc = ERR_AUTH; /* the server does not know the key */
        } else {
            mac(cp, client_key, "cli1", sn, cn);
            msgpack_zone_clear(z);
            rc = raw_call(fd, 2, "Auth.Prove", "cp", cp, sizeof(cp),
                          deadline_ns, z, &res);
        }
    }
    msgpack_zone_free(z);
    if (rc < 0)
        log_warn("RPC", -1, "cluster key handshake failed: %s",
                 err_name(rc));
    return rc;
}
