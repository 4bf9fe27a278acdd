/* sconn.c - server connections: the reader loop, request validation and
 * dispatch, handler execution and replies.
 *
 * Exactly one pool thread holds a connection's reader role (its READ job).
 * For each complete request it reads:
 *   - malformed with a recoverable msgid: an error reply; without one (or
 *     a frame the scanner rejects): the connection is closed;
 *   - unknown method: an ENOMETHOD reply;
 *   - RPC_INLINE method: run right here; replies of a batch of requests
 *     read together go out in one send;
 *   - other methods: the reader runs the handler itself ("borrows" the
 *     connection) and the server's monitor thread hands the reader role
 *     to a pool thread if the handler is still running after
 *     RPC_BORROW_NS (1 ms); the new reader first sends the replies
 *     batched so far (they belong to the role, not to the thread). A
 *     method seen blocking like that is marked slow for RPC_SLOW_HINT_NS
 *     and meanwhile goes straight to a pool thread. Fast handlers thus
 *     cost no thread hand-off (a no-op call is as fast as an inline one
 *     and a batch of them is answered with one send), and a blocking
 *     handler holds up the requests behind it on its connection for at
 *     most a couple of milliseconds, about once per RPC_SLOW_HINT_NS; it
 *     never stalls other connections. */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "rpc/rpc_internal.h"

/* Flush batched replies this early to keep the buffer small. */
#define BATCH_FLUSH (64u << 10)

struct rpc_sconn *rpc_sconn_new_locked(struct rpc_server *s, int fd)
{
    struct rpc_sconn *c = xcalloc(1, sizeof(*c));
    c->read_job.kind = RPC_JOB_READ;
    c->srv = s;
    rpc_stream_init(&c->st, fd, &s->lim);
    buf_init(&c->out);
    c->refs = 1; /* the reader role */
    c->last_ns = clock_now_ns();
    pthread_cond_init(&c->cond, NULL);
    c->next = s->conns;
    c->prev = &s->conns;
    if (s->conns)
        s->conns->prev = &c->next;
    s->conns = c;
    s->n_conns++;
    return c;
}

static void sconn_free(struct rpc_sconn *c)
{
    rpc_budget_release(c->srv, c->charged);
    rpc_stream_destroy(&c->st);
    buf_free(&c->out);
    pthread_cond_destroy(&c->cond);
    free(c);
}

static bool unref_locked(struct rpc_sconn *c)
{
    if (--c->refs > 0)
        return false;
    *c->prev = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->srv->n_conns--;
    return true;
}

void rpc_sconn_unref(struct rpc_sconn *c)
{
    struct rpc_server *s = c->srv;
    pthread_mutex_lock(&s->mu);
    bool last = unref_locked(c);
    pthread_mutex_unlock(&s->mu);
    if (last)
        sconn_free(c);
}

void rpc_req_free(struct rpc_req *r)
{
    struct rpc_sconn *c = r->conn;
    struct rpc_server *s = c->srv;
    free(r->base);
    rpc_budget_release(s, r->charged);
    free(r);
    pthread_mutex_lock(&s->mu);
    rpc_inflight_done_locked(s, c);
    bool last = unref_locked(c);
    pthread_mutex_unlock(&s->mu);
    if (last)
        sconn_free(c);
}

static int flush(struct rpc_sconn *c, struct buf *out)
{
    if (out->len == 0)
        return 0;
    struct rpc_send_ctl ctl = {RPC_SERVER_SEND_STALL_MS * 1000000ull, 0,
                               NULL};
    int rc = rpc_stream_send(&c->st, out->data, out->len, &ctl);
    buf_clear(out);
    if (out->cap > (1u << 20))
        buf_free(out); /* one huge reply should not pin memory */
    return rc;
}

/* Reply limits: what a client of ours accepts (see client.c). */
static struct rpc_limits reply_lim;
static pthread_once_t reply_lim_once = PTHREAD_ONCE_INIT;
static void reply_lim_init(void)
{
    rpc_limits_for(&reply_lim, RPC_DEFAULT_MAX_MSG + RPC_ENVELOPE_SLACK);
}

/* Run a handler; append its reply (or error reply) to out. Notifications
 * run the handler but append nothing. */
static void run_handler(struct rpc_server *s, const struct rpc_method *meth,
                        void *svc, const struct rpc_msg *m, struct buf *out)
{
    bool notify = m->type == RPC_MSG_NOTIFY;
    size_t start = out->len;
    msgpack_zone *z = rpc_zone_get();
    msgpack_object args = {.type = MSGPACK_OBJECT_MAP};
    int rc = 0;
    if (m->args) {
        rc = rpc_wire_unpack(m->args, m->args_len, z, &args);
        if (rc == 0 && args.type == MSGPACK_OBJECT_NIL) {
            args.type = MSGPACK_OBJECT_MAP; /* [nil] reads as {} */
            args.via.map.size = 0;
            args.via.map.ptr = NULL;
        }
    }
    if (rc == 0) {
        buf_reserve(out, RPC_RESP_HDR_LEN);
        rpc_wire_resp_header(out->data + out->len, m->msgid);
        out->len += RPC_RESP_HDR_LEN;
        size_t rstart = out->len;
        msgpack_packer pk;
        rpc_packer_for_buf(&pk, out);
        RPC_ADD(&s->dispatched, 1);
        rc = meth->fn(svc, &args, &pk);
        if (rc >= 0) {
            size_t rlen = out->len - rstart, olen = 0;
            if (rlen == 0)
                buf_append_byte(out, 0xc0); /* nothing packed: nil */
            /* Check the whole reply as the client will (size, objects,
             * depth including the envelope): sending a reply the client
             * rejects would close the connection under every other call. */
            pthread_once(&reply_lim_once, reply_lim_init);
            int src = rpc_scan_object(out->data + start, out->len - start,
                                      &reply_lim, &olen);
            if (src != 1 || olen != out->len - start) {
                log_warn("RPC", -1, "handler %s packed a bad reply",
                         meth->name);
                rc = src == ERR_TOOBIG ? ERR_TOOBIG : ERR_PROTO;
            }
        }
    }
    msgpack_zone_clear(z);
    if (rc < 0) {
        out->len = start;
        if (!notify)
            rpc_wire_append_error(out, m->msgid, rc);
    }
    if (notify)
        out->len = start;
}

/* A handler took long enough to block other requests: send this method
 * to pool threads for a while. */
static void mark_slow(uint64_t *slow, uint64_t now)
{
    RPC_STORE(slow, now + RPC_SLOW_HINT_NS);
}

static bool is_slow(const uint64_t *slow, uint64_t now)
{
    return RPC_LOAD(slow) > now;
}

void rpc_req_run(struct rpc_req *r, struct rpc_wctx *w)
{
    struct buf *out = &w->out;
    buf_clear(out);
    uint64_t t0 = clock_now_ns();
    run_handler(r->conn->srv, r->m, r->svc, &r->msg, out);
    uint64_t t1 = clock_now_ns();
    if (t1 - t0 >= RPC_BORROW_NS)
        mark_slow(r->slow, t1); /* still blocking: keep it off readers */
    flush(r->conn, out); /* on failure the stream is already killed */
    rpc_req_free(r);
}

/* Back-pressure: wait while too many requests are running on this
 * connection or (with handlers, max_handlers) on the whole server. Called
 * with handlers before every non-inline request is started, so the bounds
 * hold however the bytes arrive (one per segment or thousands in one),
 * and without before reading more (so a connection at its own bound
 * stops buffering; the server-wide bound must not stop readers, or inline
 * requests such as Raft's would wait for blocked handlers).
 * With handlers, success takes the slot (c->inflight and s->n_inflight
 * counted) under the same lock as the check: readers of several
 * connections are woken together when a handler finishes, and a check
 * followed by a later count let them all through on one free slot. */
static int wait_inflight(struct rpc_sconn *c, bool handlers)
{
    struct rpc_server *s = c->srv;
    unsigned per_conn = s->adm.max_inflight ? s->adm.max_inflight
                                            : RPC_MAX_INFLIGHT;
    unsigned total = handlers ? s->adm.max_handlers : 0;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    while (!s->closing && !rpc_stream_is_dead(&c->st)) {
        if (c->inflight >= per_conn) {
            c->read_wait = true;
            pthread_cond_wait(&c->cond, &s->mu);
            c->read_wait = false;
        } else if (total && s->n_inflight >= total) {
            s->handler_waiters++;
            pthread_cond_wait(&s->inflight_cond, &s->mu);
            s->handler_waiters--;
        } else {
            break;
        }
    }
    if (s->closing || rpc_stream_is_dead(&c->st)) {
        rc = ERR_CLOSED;
    } else if (handlers) {
        c->inflight++;
        s->n_inflight++;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Charge the receive buffer's next size against the server's budget
 * before it is allocated (only growth past RPC_RBUF_INIT counts); a
 * shrunk buffer gives its bytes back. False: over budget, close. force:
 * the memory exists already, count it anyway. */
static bool budget_sync(struct rpc_sconn *c, size_t cap, bool force)
{
    size_t want = cap > RPC_RBUF_INIT ? cap - RPC_RBUF_INIT : 0;
    if (want > c->charged) {
        if (force)
            rpc_budget_force(c->srv, want - c->charged);
        else if (!rpc_budget_charge(c->srv, want - c->charged))
            return false;
    } else if (want < c->charged) {
        rpc_budget_release(c->srv, c->charged - want);
    }
    c->charged = want;
    return true;
}

/* Idle and read deadlines (rpc_admission). 0 to go on, or the reason to
 * close. */
static const char *admission_check(struct rpc_sconn *c, uint64_t now)
{
    struct rpc_server *s = c->srv;
    if (rpc_rbuf_buffered(&c->st.rb) > 0) {
        if (!c->msg_ns)
            c->msg_ns = now;
        if (s->adm.read_ms && now - c->msg_ns > s->adm.read_ms * 1000000ull)
            return "message not complete within the read timeout";
        return NULL;
    }
    c->msg_ns = 0;
    if (!s->adm.idle_ms ||
        now - RPC_LOAD(&c->last_ns) <= s->adm.idle_ms * 1000000ull)
        return NULL;
    pthread_mutex_lock(&s->mu);
    bool busy = c->inflight > 0;
    pthread_mutex_unlock(&s->mu);
    return busy ? NULL : "idle timeout";
}

static void borrow_unlink_locked(struct rpc_server *s, struct rpc_sconn *c)
{
    *c->bprev = c->bnext;
    if (c->bnext)
        c->bnext->bprev = c->bprev;
    c->bnext = NULL;
    c->bprev = NULL;
    c->borrowed = false;
    s->n_borrowed--;
}

void *rpc_monitor_main(void *arg)
{
    struct rpc_server *s = arg;
    unsigned idle_ticks = 0;
    pthread_mutex_lock(&s->mu);
    while (!s->closing) {
        if (s->n_borrowed > 0) {
            idle_ticks = 0;
        } else if (++idle_ticks > RPC_MONITOR_LINGER_TICKS) {
            s->mon_sleeping = true;
            pthread_cond_wait(&s->mon_cond, &s->mu);
            s->mon_sleeping = false;
            idle_ticks = 0;
            continue;
        }
        clock_cond_wait_until(&s->mon_cond, &s->mu,
                              clock_now_ns() + RPC_BORROW_NS);
        if (s->closing)
            break;
        uint64_t now = clock_now_ns();
        for (struct rpc_sconn *c = s->borrowed, *next; c; c = next) {
            next = c->bnext;
            if (now - c->borrow_ns < RPC_BORROW_NS)
                continue;
            /* The handler is slow or blocked: someone else reads. The
             * reader ref goes with the READ job. */
            borrow_unlink_locked(s, c);
            rpc_pool_submit_locked(s, &c->read_job);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

void rpc_sconn_read(struct rpc_sconn *c, struct rpc_wctx *w)
{
    struct rpc_server *s = c->srv;
    struct rpc_rbuf *rb = &c->st.rb;
    struct buf *out = &c->out; /* the role's batch */
    /* Replies a previous holder batched before its handler blocked. */
    if (flush(c, out) < 0)
        goto dead;
    for (;;) {
        const uint8_t *msg;
        size_t len;
        int r = rpc_rbuf_next(rb, &msg, &len);
        if (r < 0) {
            log_debug("RPC", -1, "%s: closing connection: bad frame (%s)",
                      s->addr, err_name(r));
            break;
        }
        if (r == 0) {
            if (flush(c, out) < 0 || wait_inflight(c, false) < 0)
                break;
            if (!budget_sync(c, rpc_rbuf_reserve_cap(rb), false)) {
                log_warn("RPC", -1, "%s: closing connection: buffered "
                         "requests at the memory budget (%llu bytes)",
                         s->addr,
                         (unsigned long long)s->adm.max_buffered);
                RPC_ADD(&s->evicted, 1);
                break;
            }
            r = rpc_stream_fill(&c->st);
            if (r < 0 && r != ERR_TIMEOUT)
                break; /* EOF, reset, or killed by close */
            const char *why = admission_check(c, clock_now_ns());
            if (why) {
                log_info("RPC", -1, "%s: closing connection: %s", s->addr,
                         why);
                RPC_ADD(&s->evicted, 1);
                break;
            }
            continue;
        }
        RPC_STORE(&c->last_ns, clock_now_ns());
        c->msg_ns = 0;
        struct rpc_msg m;
        int prc = rpc_wire_parse(msg, len, &m);
        if (prc == 0 && m.type == RPC_MSG_RESPONSE)
            prc = ERR_PROTO; /* we never send requests to clients */
        if (prc < 0) {
            if (!m.has_msgid || m.type != RPC_MSG_REQUEST) {
                log_debug("RPC", -1, "%s: closing connection: bad message",
                          s->addr);
                break;
            }
            rpc_wire_append_error(out, m.msgid, prc);
            rpc_rbuf_consume(rb, len);
            continue;
        }
        if (rpc_auth_is_method(&m)) {
            rpc_auth_serve(c, &m, out);
            rpc_rbuf_consume(rb, len);
            continue;
        }
        if (!rpc_auth_allowed(c, &m)) {
            if (m.type == RPC_MSG_REQUEST)
                rpc_wire_append_error(out, m.msgid, ERR_AUTH);
            rpc_rbuf_consume(rb, len);
            continue;
        }
        void *svc = NULL;
        uint64_t *slow = NULL;
        const struct rpc_method *meth =
            rpc_server_lookup(s, m.method, m.method_len, &svc, &slow);
        if (!meth) {
            if (m.type == RPC_MSG_REQUEST)
                rpc_wire_append_error(out, m.msgid, ERR_NOMETHOD);
            rpc_rbuf_consume(rb, len);
            continue;
        }
        if (meth->flags & RPC_INLINE) {
            run_handler(s, meth, svc, &m, out);
            rpc_rbuf_consume(rb, len);
            if (out->len >= BATCH_FLUSH && flush(c, out) < 0)
                break;
            continue;
        }
        /* Start it only within the in-flight bounds (replies batched so
         * far go out first: their clients may be the ones we wait for). */
        if (flush(c, out) < 0 || wait_inflight(c, true) < 0)
            break;
        /* Detach the request: once another thread may hold the reader
         * role it reads into the receive buffer. A stolen buffer keeps
         * its charge and takes it along. */
        uint8_t *base;
        const uint8_t *dmsg;
        uint8_t *old_data = rb->data;
        rpc_rbuf_detach(rb, len, &base, &dmsg);
        size_t req_charged = 0;
        if (base == old_data) {
            req_charged = c->charged;
            c->charged = 0;
        }
        budget_sync(c, rb->cap, true); /* the rest: a read's worth */
        uint64_t now = clock_now_ns();
        if (is_slow(slow, now)) {
            /* Known to block: a pool thread runs it, we keep reading. */
            struct rpc_req *req = xmalloc(sizeof(*req));
            req->job.kind = RPC_JOB_RUN;
            req->job.next = NULL;
            req->conn = c;
            req->m = meth;
            req->svc = svc;
            req->slow = slow;
            req->base = base;
            req->charged = req_charged;
            rpc_wire_parse(dmsg, len, &req->msg); /* same bytes: succeeds */
            pthread_mutex_lock(&s->mu);
            c->refs++; /* inflight: counted by wait_inflight */
            pthread_mutex_unlock(&s->mu);
            rpc_pool_submit(s, &req->job);
            continue;
        }
        /* Run it here, "borrowing" the reader role; the monitor moves
         * reading (and `out`) to another thread if the handler is still
         * running after RPC_BORROW_NS. */
        struct rpc_msg dm;
        rpc_wire_parse(dmsg, len, &dm);
        pthread_mutex_lock(&s->mu);
        c->refs++; /* ours, in case the role moves and the conn dies */
        c->borrowed = true;
        c->borrow_ns = now;
        c->bnext = s->borrowed;
        c->bprev = &s->borrowed;
        if (s->borrowed)
            s->borrowed->bprev = &c->bnext;
        s->borrowed = c;
        s->n_borrowed++;
        if (s->mon_sleeping)
            pthread_cond_signal(&s->mon_cond);
        pthread_mutex_unlock(&s->mu);

        struct buf *mine = &w->out;
        buf_clear(mine);
        run_handler(s, meth, svc, &dm, mine);
        free(base);
        rpc_budget_release(s, req_charged);

        pthread_mutex_lock(&s->mu);
        rpc_inflight_done_locked(s, c);
        bool still_reader = c->borrowed;
        if (still_reader) {
            borrow_unlink_locked(s, c);
            c->refs--; /* the reader ref is still ours: never the last */
        }
        pthread_mutex_unlock(&s->mu);
        if (!still_reader) {
            /* Reading moved on without us: send and leave. */
            mark_slow(slow, clock_now_ns());
            flush(c, mine);
            rpc_sconn_unref(c);
            return;
        }
        /* The reply joins the batch and leaves with the next flush. */
        buf_append(out, mine->data, mine->len);
        if (out->len >= BATCH_FLUSH && flush(c, out) < 0)
            break;
    }
dead:
    rpc_stream_kill(&c->st);
    buf_clear(out);
    rpc_sconn_unref(c);
}
