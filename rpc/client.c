/* client.c - client ends and rpc_call.
 *
 * Leader/follower reading: there is no reader thread. A caller waiting for
 * its reply reads the socket itself when nobody else is (it holds the
 * "reader role"), routes every reply it reads to the call it belongs to,
 * and on leaving hands the role to another waiting caller. One caller on a
 * connection therefore does exactly what a blocking ping-pong does (send,
 * recv) with no thread hand-off; under concurrency one recv(2) serves
 * many calls.
 *
 * The reader's socket has SO_RCVTIMEO = RPC_TICK_MS, so the reader
 * re-checks its deadline, the filter's on_wait and shutdown every tick;
 * other waiters sleep on a futex word in their struct rpc_pending and are
 * woken when their reply is routed, when the role is handed to them, or
 * by rpc_end_shutdown() (see rpc_internal.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "rpc/rpc_internal.h"

struct rpc_end {
    pthread_mutex_t mu;
    pthread_cond_t cond;          /* rpc_end_sleep */
    struct rpc_conn *conn;        /* mu; NULL without an address */
    char *addr;                   /* mu; owned */
    uint64_t timeout_ms;          /* mu */
    const struct rpc_filter *filter; /* mu */
    void *ctx;                    /* mu */
    bool closed;                  /* atomic; set under mu */
    uint64_t st_calls, st_ok, st_req, st_reply; /* atomic */
};

/* ------------------------------------------------------------------------
 * Ends */

struct rpc_end *rpc_end_new(const char *addr, int *err)
{
    struct rpc_addr a;
    if (addr) {
        int rc = rpc_addr_parse(addr, false, &a);
        if (rc < 0) {
            if (err)
                *err = rc;
            return NULL;
        }
    }
    struct rpc_end *e = xcalloc(1, sizeof(*e));
    pthread_mutex_init(&e->mu, NULL);
    clock_cond_init(&e->cond);
    e->timeout_ms = RPC_DEFAULT_CALL_TIMEOUT_MS;
    if (addr) {
        e->addr = xstrdup(addr);
        e->conn = rpc_pool_get(addr, &a);
    }
    if (err)
        *err = 0;
    return e;
}

int rpc_end_set_addr(struct rpc_end *e, const char *addr)
{
    struct rpc_addr a;
    struct rpc_conn *nc = NULL;
    char *ns = NULL;
    if (addr) {
        if (rpc_addr_parse(addr, false, &a) < 0)
            return ERR_ADDR;
        nc = rpc_pool_get(addr, &a);
        ns = xstrdup(addr);
    }
    pthread_mutex_lock(&e->mu);
    struct rpc_conn *old = e->conn;
    char *olds = e->addr;
    e->conn = nc;
    e->addr = ns;
    pthread_mutex_unlock(&e->mu);
    /* Calls in progress hold their own reference to the old conn. */
    if (old)
        rpc_pool_put(old);
    free(olds);
    return 0;
}

void rpc_end_free(struct rpc_end *e)
{
    if (!e)
        return;
    if (e->conn)
        rpc_pool_put(e->conn);
    free(e->addr);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cond);
    free(e);
}

void rpc_end_addr(struct rpc_end *e, char *buf, size_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&e->mu);
    const char *s = e->addr ? e->addr : "";
    size_t len = strlen(s);
    if (len >= n)
        len = n - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    pthread_mutex_unlock(&e->mu);
}

void rpc_end_set_timeout(struct rpc_end *e, uint64_t ms)
{
    pthread_mutex_lock(&e->mu);
    e->timeout_ms = ms;
    pthread_mutex_unlock(&e->mu);
}

void rpc_end_set_filter(struct rpc_end *e, const struct rpc_filter *f,
                        void *ctx)
{
    pthread_mutex_lock(&e->mu);
    e->filter = f;
    e->ctx = f ? ctx : NULL;
    pthread_mutex_unlock(&e->mu);
}

void *rpc_end_filter_ctx(const struct rpc_end *e)
{
    struct rpc_end *me = (struct rpc_end *)e; /* lock is not logically const */
    pthread_mutex_lock(&me->mu);
    void *ctx = me->ctx;
    pthread_mutex_unlock(&me->mu);
    return ctx;
}

void rpc_end_shutdown(struct rpc_end *e)
{
    pthread_mutex_lock(&e->mu);
    RPC_STORE(&e->closed, true);
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->mu);
    /* Wake each waiting call; it re-checks `closed` under its conn lock
     * (a caller holding the reader role notices within one tick). Calls
     * not registered yet check `closed` before they wait. */
    rpc_pool_wake_end(e);
}

int rpc_end_sleep(struct rpc_end *e, uint64_t ms)
{
    uint64_t deadline = clock_now_ns() + ms * 1000000ull;
    pthread_mutex_lock(&e->mu);
    while (!RPC_LOAD(&e->closed) && clock_now_ns() < deadline)
        clock_cond_wait_until(&e->cond, &e->mu, deadline);
    bool closed = RPC_LOAD(&e->closed);
    pthread_mutex_unlock(&e->mu);
    return closed ? ERR_CLOSED : 0;
}

void rpc_end_get_stats(const struct rpc_end *e, struct rpc_end_stats *out)
{
    out->calls = RPC_LOAD(&e->st_calls);
    out->ok = RPC_LOAD(&e->st_ok);
    out->req_bytes = RPC_LOAD(&e->st_req);
    out->reply_bytes = RPC_LOAD(&e->st_reply);
}

/* ------------------------------------------------------------------------
 * Request encoding: a packer target with inline storage, so a typical call
 * allocates nothing. */

#define OBUF_INLINE 1024
struct obuf {
    uint8_t *data;
    size_t len, cap;
    uint8_t inl[OBUF_INLINE];
};

static void obuf_init(struct obuf *b)
{
    b->data = b->inl;
    b->len = 0;
    b->cap = sizeof(b->inl);
}

static void obuf_reserve(struct obuf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return;
    size_t cap = b->cap * 2;
    while (cap - b->len < extra)
        cap *= 2;
    if (b->data == b->inl) {
        b->data = xmalloc(cap);
        memcpy(b->data, b->inl, b->len);
    } else {
        b->data = xrealloc(b->data, cap);
    }
    b->cap = cap;
}

static int obuf_write(void *d, const char *p, size_t n)
{
    struct obuf *b = d;
    obuf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static void obuf_free(struct obuf *b)
{
    if (b->data != b->inl)
        free(b->data);
}

/* ------------------------------------------------------------------------
 * Calls */

/* Replies may carry a max-size result plus the envelope. */
static struct rpc_limits client_lim;
static pthread_once_t client_lim_once = PTHREAD_ONCE_INIT;
static void client_lim_init(void)
{
    rpc_limits_for(&client_lim, RPC_DEFAULT_MAX_MSG + RPC_ENVELOPE_SLACK);
}
static const struct rpc_limits *client_limits(void)
{
    pthread_once(&client_lim_once, client_lim_init);
    return &client_lim;
}

/* What a server with default limits accepts. */
static struct rpc_limits request_lim;
static pthread_once_t request_lim_once = PTHREAD_ONCE_INIT;
static void request_lim_init(void)
{
    rpc_limits_for(&request_lim, RPC_DEFAULT_MAX_MSG);
}
static const struct rpc_limits *request_limits(void)
{
    pthread_once(&request_lim_once, request_lim_init);
    return &request_lim;
}

/* Wake callers whose calls route_replies retired (c->mu not held). Their
 * completion bit is already set: this only touches the futex words'
 * addresses, which may be reused stack by now (a harmless spurious wake). */
static void wake_completed(uint32_t **wake, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rpc_futex_wake(wake[i]);
}

/* Route every complete reply in the receive buffer to its call (dropping
 * replies nobody waits for any more), under one hold of c->mu so that a
 * burst of replies costs one lock round and the woken callers contend
 * once. Big replies are copied with the lock released. Returns true if
 * `me`'s reply was among them; *err is set if the stream is unusable. */
static bool route_replies(struct rpc_conn *c, struct rpc_csock *s,
                          const struct rpc_pending *me, int *err)
{
    struct rpc_rbuf *rb = &s->st.rb;
    bool mine = false, locked = false;
    uint32_t *wake[64]; /* futex words of completed calls to wake */
    size_t nwake = 0;
    for (;;) {
        const uint8_t *msg;
        size_t len;
        int r = rpc_rbuf_next(rb, &msg, &len);
        if (r <= 0) {
            if (r < 0)
                *err = ERR_PROTO;
            break;
        }
        struct rpc_msg m;
        int prc = rpc_wire_parse(msg, len, &m);
        if (m.type != RPC_MSG_RESPONSE || !m.has_msgid) {
            *err = ERR_PROTO; /* not a reply we can attribute */
            break;
        }
        uint8_t *heap = NULL;
        if (len > RPC_PENDING_INLINE || nwake == 64) {
            if (locked) {
                pthread_mutex_unlock(&c->mu);
                locked = false;
            }
            wake_completed(wake, nwake);
            nwake = 0;
            if (len > RPC_PENDING_INLINE) {
                heap = xmalloc(len);
                memcpy(heap, msg, len);
            }
        }
        if (!locked) {
            pthread_mutex_lock(&c->mu);
            locked = true;
        }
        struct rpc_pending *p = rpc_pending_find_locked(c, m.msgid);
        if (p && p->sock == s && !p->done) {
            if (p != me && p->waiting) {
                /* Retire the call entirely so that its caller can return
                 * without taking c->mu again (see rpc_internal.h). Our own
                 * call holds a reference on s, so this one is not last. */
                rpc_pending_remove_locked(c, p);
                s->refs--;
                p->sock_released = true;
                wake[nwake++] = &p->fw;
            } else {
                /* Our own reply, or a caller still sending (it may be
                 * the flusher writing others' bytes to s) or in on_wait:
                 * it finds `done` under c->mu and cleans up itself. */
                s->npending--;
                mine = p == me;
            }
            if (prc < 0) {
                p->rc = ERR_PROTO;
            } else {
                p->rc = 0;
                if (heap) {
                    p->reply = p->reply_heap = heap;
                    heap = NULL;
                } else {
                    memcpy(p->reply_inline, msg, len);
                    p->reply = p->reply_inline;
                }
                p->reply_len = len;
            }
            p->done = true;
            if (p->sock_released) {
                /* The last write to *p, still under c->mu (see
                 * rpc_internal.h): its caller may return once it sees it. */
                __atomic_or_fetch(&p->fw, 1, __ATOMIC_RELEASE);
            } else if (p->async) {
                rpc_async_finished_locked(c, (struct rpc_acall *)p);
            }
        } else {
            log_trace("RPC", -1, "dropping reply for abandoned msgid %u",
                      (unsigned)m.msgid);
        }
        free(heap);
        rpc_rbuf_consume(rb, len);
    }
    if (locked)
        pthread_mutex_unlock(&c->mu);
    wake_completed(wake, nwake);
    return mine;
}

void rpc_read_round(struct rpc_conn *c, struct rpc_csock *s,
                    const struct rpc_pending *me)
{
    int err = 0;
    if (route_replies(c, s, me, &err) || err)
        goto out;
    int r = rpc_stream_fill(&s->st);
    if (r == ERR_TIMEOUT)
        return; /* a tick: let the caller check its bounds */
    if (r < 0) {
        err = ERR_IO;
        goto out;
    }
    route_replies(c, s, me, &err);
out:
    if (err) {
        pthread_mutex_lock(&c->mu);
        rpc_csock_fail_locked(c, s, err);
        pthread_mutex_unlock(&c->mu);
    }
}

/* Make sure c has a live socket; c->mu held (dropped while connecting). */
static int ensure_sock_locked(struct rpc_conn *c, uint64_t deadline,
                              const bool *closed)
{
    struct rpc_csock *s = c->sock;
    uint64_t now_ms = clock_now_ms();
    if (s && !s->reading && s->npending == 0 && now_ms - s->last_ms > 20) {
        /* Idle socket: if the server closed it meanwhile (restart), find
         * out now rather than failing this call on it. */
        char b;
        ssize_t n = recv(s->st.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                       errno != EINTR))
            rpc_csock_fail_locked(c, s, ERR_IO);
    }
    while (!c->sock) {
        if (RPC_LOAD(closed))
            return ERR_CLOSED;
        uint64_t now = clock_now_ns();
        if (now >= deadline)
            return ERR_TIMEOUT;
        if (c->connecting) {
            uint64_t until = now + RPC_TICK_MS * 1000000ull;
            clock_cond_wait_until(&c->cond, &c->mu,
                                  until < deadline ? until : deadline);
            continue;
        }
        c->connecting = true;
        pthread_mutex_unlock(&c->mu);
        int fd = -1;
        int rc = rpc_addr_connect(&c->addr, deadline, closed, &fd);
        if (rc == 0 && (rc = rpc_auth_client(fd, deadline)) < 0)
            close(fd); /* no cluster key proof, no connection */
        struct rpc_csock *ns = NULL;
        if (rc == 0) {
            ns = xcalloc(1, sizeof(*ns));
            rpc_stream_init(&ns->st, fd, client_limits());
            rpc_sock_set_timeouts(fd, RPC_TICK_MS, RPC_TICK_MS);
            ns->refs = 1; /* c->sock */
        }
        pthread_mutex_lock(&c->mu);
        c->connecting = false;
        pthread_cond_broadcast(&c->cond);
        if (rc < 0)
            return rc;
        c->sock = ns;
    }
    return 0;
}

void rpc_call_cleanup_locked(struct rpc_conn *c, struct rpc_csock *s,
                             struct rpc_pending *p)
{
    if (p->sock_released)
        return; /* s may be gone: do not touch it */
    rpc_pending_remove_locked(c, p); /* a reply arriving later is dropped */
    rpc_csock_handoff_locked(c, s, p);
    rpc_csock_unref_locked(c, s);
}

static uint32_t alloc_msgid_locked(struct rpc_conn *c)
{
    for (;;) {
        uint32_t id = c->next_msgid++;
        if (!rpc_pending_find_locked(c, id))
            return id;
    }
}

/* Wait for p's reply. Called with c->mu held; returns with it held,
 * except when a reader completed the call while we slept (*fast set):
 * then the call is already unregistered and the lock is not taken. */
static int wait_reply_locked(struct rpc_end *e, struct rpc_conn *c,
                             struct rpc_csock *s, struct rpc_pending *p,
                             uint64_t deadline, const struct rpc_filter *f,
                             void *ctx, bool *fast)
{
    bool polling = f && f->on_wait;
    uint64_t next_poll = clock_now_ns() + RPC_TICK_MS * 1000000ull;
    int rc = 0;
    *fast = false;
    for (;;) {
        if (p->done)
            return p->rc;
        if (RPC_LOAD(&e->closed))
            return ERR_CLOSED;
        uint64_t now = clock_now_ns();
        if (now >= deadline)
            return ERR_TIMEOUT;
        if (polling && now >= next_poll) {
            pthread_mutex_unlock(&c->mu);
            rc = f->on_wait(ctx, e);
            pthread_mutex_lock(&c->mu);
            next_poll = now + RPC_TICK_MS * 1000000ull;
            if (rc < 0 && !p->done)
                return rc;
            continue;
        }
        if (!s->reading && !s->dead) {
            s->reading = true;
            pthread_mutex_unlock(&c->mu);
            rpc_read_round(c, s, p);
            pthread_mutex_lock(&c->mu);
            s->reading = false;
            continue;
        }
        uint64_t until = deadline;
        if (polling && next_poll < until)
            until = next_poll;
        uint32_t v = __atomic_load_n(&p->fw, __ATOMIC_ACQUIRE);
        p->waiting = true;
        pthread_mutex_unlock(&c->mu);
        rpc_futex_wait(&p->fw, v, until);
        if (__atomic_load_n(&p->fw, __ATOMIC_ACQUIRE) & 1) {
            *fast = true; /* completed and unregistered by a reader */
            return p->rc;
        }
        pthread_mutex_lock(&c->mu);
        p->waiting = false;
    }
}

int rpc_deliver(struct rpc_end *e, const struct rpc_pending *p,
                const struct rpc_filter *f, void *ctx, rpc_decode_fn dec,
                void *reply)
{
    struct rpc_msg m;
    if (rpc_wire_parse(p->reply, p->reply_len, &m) < 0)
        return ERR_PROTO; /* route_reply validated it; defensive */
    if (f && f->on_reply) {
        int rc = f->on_reply(ctx, e, m.result_len);
        if (rc < 0)
            return rc;
    }
    RPC_ADD(&e->st_reply, m.result_len);
    if (m.error)
        return m.error;
    if (!dec)
        return 0;
    msgpack_zone *z = rpc_zone_get();
    msgpack_object obj;
    int rc = rpc_wire_unpack(m.result, m.result_len, z, &obj);
    if (rc == 0) {
        rc = dec(&obj, reply);
        /* A reply whose fields do not decode is a protocol error from the
         * caller's point of view; other codes pass through. */
        if (rc == ERR_BADARGS)
            rc = ERR_PROTO;
        else if (rc > 0)
            rc = 0;
    }
    rpc_zone_done(z);
    return rc;
}

void rpc_end_count_ok(struct rpc_end *e)
{
    RPC_ADD(&e->st_ok, 1);
}

bool rpc_end_is_closed(const struct rpc_end *e)
{
    return RPC_LOAD(&e->closed);
}

/* What rpc_call and rpc_call_async share up to the wait. */
struct call_start {
    struct obuf ob; /* the request, header and args */
    size_t req_bytes;
    const struct rpc_filter *f;
    void *ctx;
    uint64_t timeout_ms, deadline;
    struct rpc_conn *c; /* referenced */
};

/* Encode and check the request, look at the end once, run on_request.
 * 0, or the call's failure with nothing left held. */
static int call_prepare(struct rpc_end *e, const char *method,
                        rpc_encode_fn enc, const void *args, bool async,
                        struct call_start *cs)
{
    if (async) {
        /* Refused before anything counts it (see rpc_filter.any_thread):
         * a caller that falls back to rpc_call makes one call, not two. */
        pthread_mutex_lock(&e->mu);
        bool refuse = e->filter && !e->filter->any_thread;
        pthread_mutex_unlock(&e->mu);
        if (refuse)
            return ERR_INVAL;
    }
    RPC_ADD(&e->st_calls, 1);
    if (RPC_LOAD(&e->closed))
        return ERR_CLOSED;

    /* Encode header + args into one buffer: one send(2) per call. */
    struct obuf *ob = &cs->ob;
    obuf_init(ob);
    size_t mlen = strlen(method);
    obuf_reserve(ob, mlen + 16);
    size_t hdr = rpc_wire_req_header(ob->data, ob->cap, method, mlen);
    ob->len = hdr;
    msgpack_packer pk;
    msgpack_packer_init(&pk, ob, obuf_write);
    int rc = 0;
    if (enc)
        rc = enc(&pk, args);
    else
        msgpack_pack_map(&pk, 0);
    if (rc < 0) {
        obuf_free(ob);
        return rc;
    }
    cs->req_bytes = ob->len - hdr;
    /* Check the whole request as the server will: a buggy encoder
     * (nothing, two objects, too deep) must not reach the shared stream,
     * where it would break every other call on the connection. */
    size_t olen;
    int vrc = rpc_scan_object(ob->data, ob->len, request_limits(), &olen);
    if (vrc != 1 || olen != ob->len) {
        log_warn("RPC", -1, "%s: encoder did not produce one valid object",
                 method);
        obuf_free(ob);
        return vrc == ERR_TOOBIG ? ERR_TOOBIG : ERR_INVAL;
    }

    /* One look at the end per call (callers sharing an end contend). */
    pthread_mutex_lock(&e->mu);
    cs->f = e->filter;
    cs->ctx = e->ctx;
    cs->timeout_ms = e->timeout_ms;
    struct rpc_conn *c = e->conn;
    if (c)
        rpc_conn_ref(c); /* set_addr may drop the end's reference */
    pthread_mutex_unlock(&e->mu);
    const struct rpc_filter *f = cs->f;
    if (async && f && !f->any_thread)
        rc = ERR_INVAL; /* its hooks need the calling thread */
    else if (f && f->on_request)
        rc = f->on_request(cs->ctx, e, method, cs->req_bytes);
    if (rc == 0 && (!c || RPC_LOAD(&e->closed)))
        rc = c ? ERR_CLOSED : ERR_UNREACHABLE;
    if (rc < 0) {
        if (c)
            rpc_pool_put(c);
        obuf_free(ob);
        return rc;
    }
    cs->c = c;
    cs->deadline = clock_now_ns() + cs->timeout_ms * 1000000ull;
    return 0;
}

/* Register p on the connection's socket (connecting first if it has
 * none) and send the request; ac is p's asynchronous call, or NULL.
 * Returns 0 once p is registered, even if the send failed (p is then
 * done with the failure), with *sp = the socket p references; or the
 * failure with p never registered. */
static int call_send(struct rpc_end *e, struct call_start *cs,
                     struct rpc_pending *p, struct rpc_acall *ac,
                     struct rpc_csock **sp)
{
    struct rpc_conn *c = cs->c;
    memset(p, 0, offsetof(struct rpc_pending, reply_inline));
    p->end = e;
    p->conn = c;
    p->async = ac != NULL;

    pthread_mutex_lock(&c->mu);
    int rc = ensure_sock_locked(c, cs->deadline, &e->closed);
    if (rc == 0 && ac)
        rc = rpc_async_start_locked(c);
    if (rc < 0) {
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    struct rpc_csock *s = c->sock;
    s->refs++;
    s->last_ms = clock_now_ms();
    p->sock = s;
    uint32_t msgid = p->msgid = alloc_msgid_locked(c);
    rpc_pending_insert_locked(c, p);
    if (ac) {
        /* From here on the completion thread may finish and free ac (and
         * drop its reference on s) at any time: keep s for the send and
         * touch ac no more. */
        s->refs++;
        rpc_async_register_locked(c, ac);
    }
    pthread_mutex_unlock(&c->mu);
    *sp = s;

    rpc_wire_patch_msgid(cs->ob.data, msgid);
    struct rpc_send_ctl ctl = {cs->timeout_ms * 1000000ull, cs->deadline,
                               &e->closed};
    int src = rpc_stream_send(&s->st, cs->ob.data, cs->ob.len, &ctl);
    if (src < 0) {
        /* A partial write corrupts the stream for every call on it: they
         * fail with ERR_IO; a synchronous caller with the send's code. */
        pthread_mutex_lock(&c->mu);
        bool was_done = ac || p->done;
        rpc_csock_fail_locked(c, s, ERR_IO);
        if (!was_done)
            p->rc = src;
        pthread_mutex_unlock(&c->mu);
    } else {
        RPC_ADD(&e->st_req, cs->req_bytes);
    }
    if (ac) {
        pthread_mutex_lock(&c->mu);
        rpc_csock_unref_locked(c, s);
        pthread_mutex_unlock(&c->mu);
    }
    return 0;
}

int rpc_call(struct rpc_end *e, const char *method, rpc_encode_fn enc,
             const void *args, rpc_decode_fn dec, void *reply)
{
    struct call_start cs;
    int rc = call_prepare(e, method, enc, args, false, &cs);
    if (rc < 0)
        return rc;
    struct rpc_conn *c = cs.c;
    struct rpc_pending p;
    struct rpc_csock *s;
    rc = call_send(e, &cs, &p, NULL, &s);
    obuf_free(&cs.ob);
    if (rc == 0) {
        bool fast;
        pthread_mutex_lock(&c->mu);
        rc = wait_reply_locked(e, c, s, &p, cs.deadline, cs.f, cs.ctx,
                               &fast);
        if (!fast) {
            rpc_call_cleanup_locked(c, s, &p);
            pthread_mutex_unlock(&c->mu);
        }
    }
    rpc_pool_put(c);

    if (rc == 0)
        rc = rpc_deliver(e, &p, cs.f, cs.ctx, dec, reply);
    free(p.reply_heap);
    if (rc == 0)
        rpc_end_count_ok(e);
    return rc;
}

int rpc_call_async(struct rpc_end *e, const char *method, rpc_encode_fn enc,
                   const void *args, rpc_decode_fn dec, void *reply,
                   rpc_done_fn done, void *done_ctx)
{
    struct call_start cs;
    int rc = call_prepare(e, method, enc, args, true, &cs);
    if (rc < 0)
        return rc;
    struct rpc_acall *ac = xmalloc(sizeof(*ac));
    ac->f = cs.f;
    ac->fctx = cs.ctx;
    ac->dec = dec;
    ac->reply = reply;
    ac->done = done;
    ac->done_ctx = done_ctx;
    ac->deadline_ns = cs.deadline;
    ac->next_poll_ns = clock_now_ns() + RPC_TICK_MS * 1000000ull;
    struct rpc_csock *s;
    /* Once registered, the completion thread owns ac and cs.c's reference
     * and may release both before call_send returns: it keeps its own. */
    rpc_conn_ref(cs.c);
    rc = call_send(e, &cs, &ac->p, ac, &s);
    obuf_free(&cs.ob);
    if (rc < 0) {
        free(ac);
        rpc_pool_put(cs.c);
    }
    rpc_pool_put(cs.c);
    return rc;
}
