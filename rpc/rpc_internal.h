/* rpc_internal.h - structures and helpers shared by the rpc/ source files.
 *
 * Layering inside rpc/:
 *   scan.c     structural msgpack walker: framing + size/depth/count limits
 *              (pure, no allocation; also used to validate encoded objects)
 *   wire.c     envelope parse/encode ([0,id,m,[args]] / [1,id,err,res]),
 *              bounded msgpack_unpack into a per-thread zone
 *   rbuf.c     receive buffer: bytes in, complete messages out (pure)
 *   stream.c   one socket: recv into an rbuf, combining writer, kill
 *   addr.c     "host:port" / "unix:/path" parsing, listen, connect, options
 *   pool.c     client side: process-wide connection pool, sockets, pending
 *              call table, failure handling
 *   client.c   ends and rpc_call (leader/follower reading)
 *   async.c    rpc_call_async's completion thread
 *   server.c   server object, services, acceptor, close, counters
 *   sconn.c    server connections: reader loop, request execution
 *   workers.c  server thread pool (grows on demand, idle threads exit)
 *   codec_*.c  public pack/decode helpers
 *
 * Untrusted bytes only ever reach msgpack-c after scan.c has proven that the
 * message is complete, within max_msg bytes, at most max_objects objects
 * (msgpack-c allocates 24 bytes per declared element up front) and at most
 * RPC_MAX_NEST containers deep (msgpack-c fails at 32). */
#ifndef RPC_RPC_INTERNAL_H_
#define RPC_RPC_INTERNAL_H_

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/buf.h"
#include "rpc/rpc.h"

/* ------------------------------------------------------------------------
 * Limits */

/* Deepest container nesting we accept (msgpack-c's own stack is 32 deep;
 * staying well below it means a scanned message always unpacks). */
#define RPC_MAX_NEST 24
/* Slack added to the client's receive limit for the reply envelope. */
#define RPC_ENVELOPE_SLACK 4096
/* Client ends poll their deadline / on_wait / shutdown this often. */
#define RPC_TICK_MS 10
/* Non-inline requests of one server connection running at once; beyond
 * this the reader stops reading (back-pressure instead of threads). */
#define RPC_MAX_INFLIGHT 1024
/* Default cap on server connections (each owns a reader thread). */
#define RPC_DEFAULT_MAX_CONNS 1024
/* Descriptors of the soft RLIMIT_NOFILE the connection cap leaves to the
 * program (data files, client connections to peers, logs). */
#define RPC_FD_RESERVE 64
/* Accepted sockets wake their reader this often to check the idle and
 * read deadlines (only when admission control has them). */
#define RPC_ADMIT_TICK_MS 1000
/* The acceptor logs a failure at most this often (then counts). */
#define RPC_ACCEPT_LOG_NS 10000000000ull
/* Server threads (readers + handlers); past this, jobs queue. */
#define RPC_MAX_THREADS 8192
/* A non-inline handler run by the reader itself ("borrowing" the
 * connection) that is still running after this long gets the reader role
 * moved to another thread by the server's monitor. */
#define RPC_BORROW_NS 1000000ull
/* A non-inline method whose handler was seen blocking (the monitor had
 * to move the reader role, or a pool run took over RPC_BORROW_NS) goes
 * straight to a pool thread for this long; then it is borrowed again. */
#define RPC_SLOW_HINT_NS 1000000000ull
/* The monitor ticks every RPC_BORROW_NS while requests run, and sleeps
 * for good after this many idle ticks (so steady traffic never pays for
 * waking it). */
#define RPC_MONITOR_LINGER_TICKS 100
/* Idle server threads exit after this long (beyond RPC_MIN_IDLE). */
#define RPC_IDLE_EXIT_MS 5000
#define RPC_MIN_IDLE 1
/* A server write that makes no progress for this long kills the conn. */
#define RPC_SERVER_SEND_STALL_MS 30000
/* Bytes a combining writer may queue behind a blocked flusher. */
#define RPC_WQ_MAX (8u << 20)
/* Receive buffer: initial size, and we shrink back after big messages. */
#define RPC_RBUF_INIT (64u << 10)
#define RPC_RBUF_MIN_FREE (16u << 10)
/* Messages at least this big are detached by stealing the receive buffer
 * instead of copying them. */
#define RPC_STEAL_MIN (64u << 10)

struct rpc_limits {
    uint64_t max_msg;     /* bytes per message */
    uint64_t max_objects; /* msgpack objects per message */
};
/* Limits derived from a max message size: objects <= max_msg/8 + 1024, so
 * msgpack-c's decode memory stays within ~3x max_msg. */
void rpc_limits_for(struct rpc_limits *l, uint64_t max_msg);

/* ------------------------------------------------------------------------
 * scan.c: msgpack headers and the resumable structural walker */

enum rpc_mp_kind {
    RPC_MP_NIL,
    RPC_MP_BOOL,
    RPC_MP_UINT, /* any integer >= 0 (u) */
    RPC_MP_INT,  /* negative integer (i) */
    RPC_MP_FLOAT,
    RPC_MP_STR,
    RPC_MP_BIN,
    RPC_MP_EXT,
    RPC_MP_ARRAY,
    RPC_MP_MAP,
};

struct rpc_mp_hdr {
    enum rpc_mp_kind kind;
    uint32_t hlen;  /* header bytes (incl. ext type byte) */
    uint64_t body;  /* payload bytes after the header (str/bin/ext) */
    uint64_t count; /* array elements / map pairs */
    uint64_t u;     /* RPC_MP_UINT, and bool value */
    int64_t i;      /* RPC_MP_INT */
};

/* Decode the header at p. Returns 1, 0 if avail is too short, or ERR_PROTO
 * for the reserved byte 0xc1. Never reads past p[avail-1]. */
int rpc_mp_hdr(const uint8_t *p, size_t avail, struct rpc_mp_hdr *h);

/* Walker state for one message. stack[k] = objects still to read at open
 * level k (level 0 is the top-level slot); pending = sum of stack. */
struct rpc_scan {
    uint64_t pos;     /* bytes of the message walked so far */
    uint64_t pending; /* objects announced but not walked yet */
    uint64_t objects; /* objects walked */
    uint32_t depth;   /* 0 = fresh (not started) */
    uint64_t stack[RPC_MAX_NEST + 1];
};

static inline void rpc_scan_reset(struct rpc_scan *s) { s->depth = 0; }
/* Walk msg[0..avail) (always the same message start; avail may grow
 * between calls and may extend past the message). Returns 1 with *len =
 * message size when one object is complete, 0 when more bytes are needed
 * (the walk resumes where it stopped), ERR_TOOBIG when the declared sizes
 * cannot fit the limits, ERR_PROTO for invalid bytes or too deep nesting.
 * After 1 or an error the state must be reset before the next message. */
int rpc_scan_run(struct rpc_scan *s, const uint8_t *msg, size_t avail,
                 const struct rpc_limits *lim, size_t *len);
/* One-shot: size of the single object at p[0..avail). 1/0/err as above. */
int rpc_scan_object(const uint8_t *p, size_t avail,
                    const struct rpc_limits *lim, size_t *len);

/* ------------------------------------------------------------------------
 * wire.c: envelopes */

enum rpc_msg_type {
    RPC_MSG_REQUEST = 0,
    RPC_MSG_RESPONSE = 1,
    RPC_MSG_NOTIFY = 2,
};

/* A parsed envelope; spans point into the message (borrowed). */
struct rpc_msg {
    int type;
    bool has_msgid; /* msgid is valid (set as soon as it was read) */
    uint32_t msgid;
    /* request / notification */
    const uint8_t *method;
    size_t method_len;
    const uint8_t *args; /* the map (or nil) inside params; NULL if [] */
    size_t args_len;
    /* response */
    int error;           /* 0 if nil, else the err_parse()d code */
    const uint8_t *result;
    size_t result_len;
};

/* Parse a complete message (msg[0..len) must be exactly one object, as
 * returned by the scanner; the parser re-checks bounds anyway). Returns 0,
 * ERR_PROTO (envelope violation) or ERR_BADARGS (params not [map]); check
 * m->has_msgid to decide between an error reply and closing. */
int rpc_wire_parse(const uint8_t *msg, size_t len, struct rpc_msg *m);

/* Unpack exactly one object spanning p[0..len) into zone z. 0 or
 * ERR_PROTO. p must stay alive while *out is used (strings point into it).
 * Only call on bytes the scanner accepted under the same limits. */
int rpc_wire_unpack(const uint8_t *p, size_t len, msgpack_zone *z,
                    msgpack_object *out);

/* This thread's reusable decode zone (freed when the thread exits). Call
 * rpc_zone_done() after the objects are no longer needed. */
msgpack_zone *rpc_zone_get(void);
void rpc_zone_done(msgpack_zone *z);

/* Request header: [0x94, 0x00, 0xce <msgid:4>, str(method), 0x91]. The
 * msgid is always 5-byte encoded so it can be patched in later. Returns
 * the header length; RPC_REQ_MSGID_OFF is where the 4 id bytes go. */
#define RPC_REQ_MSGID_OFF 3
size_t rpc_wire_req_header(uint8_t *out, size_t cap, const char *method,
                           size_t method_len);
void rpc_wire_patch_msgid(uint8_t *msg, uint32_t msgid);
/* Response header for success: [0x94, 0x01, 0xce <id>, 0xc0] (8 bytes);
 * the result follows. */
#define RPC_RESP_HDR_LEN 8
void rpc_wire_resp_header(uint8_t *out, uint32_t msgid);
/* Append a complete error response [1, id, "ENAME", nil] to b. */
void rpc_wire_append_error(struct buf *b, uint32_t msgid, int code);

/* A msgpack_packer writing into a struct buf (uses buf_msgpack_write). */
static inline void rpc_packer_for_buf(msgpack_packer *pk, struct buf *b)
{
    msgpack_packer_init(pk, b, buf_msgpack_write);
}

/* ------------------------------------------------------------------------
 * rbuf.c: receive buffer (bytes in, framed messages out). Not locked: it
 * belongs to whoever holds the connection's reader role. */

struct rpc_rbuf {
    uint8_t *data;           /* NULL until first reserve */
    size_t cap, start, end;  /* unconsumed bytes are data[start..end) */
    struct rpc_scan scan;    /* walk of the message at data[start] */
    struct rpc_limits lim;
};

void rpc_rbuf_init(struct rpc_rbuf *r, const struct rpc_limits *lim);
void rpc_rbuf_free(struct rpc_rbuf *r);
/* Room to receive into (at least RPC_RBUF_MIN_FREE bytes); *avail gets
 * its size. Compacts / grows as needed (growth bounded by max_msg). */
uint8_t *rpc_rbuf_reserve(struct rpc_rbuf *r, size_t *avail);
void rpc_rbuf_commit(struct rpc_rbuf *r, size_t n);
/* The capacity rpc_rbuf_reserve would leave (so a caller can account for
 * the memory before it is allocated). */
size_t rpc_rbuf_reserve_cap(const struct rpc_rbuf *r);
/* 1 with *msg and *len = the next complete message (still in the buffer),
 * 0 if more bytes are needed, or ERR_PROTO/ERR_TOOBIG (close the peer). */
int rpc_rbuf_next(struct rpc_rbuf *r, const uint8_t **msg, size_t *len);
/* Drop the message returned by rpc_rbuf_next. */
void rpc_rbuf_consume(struct rpc_rbuf *r, size_t len);
/* Like consume, but hand the message bytes to the caller: returns owned
 * memory *base (free() it) and *msg pointing at the message inside it. */
void rpc_rbuf_detach(struct rpc_rbuf *r, size_t len, uint8_t **base,
                     const uint8_t **msg);
static inline size_t rpc_rbuf_buffered(const struct rpc_rbuf *r)
{
    return r->end - r->start;
}

/* ------------------------------------------------------------------------
 * stream.c: one connected socket */

/* How long a send may block. */
struct rpc_send_ctl {
    uint64_t stall_ns;       /* give up after this long without progress */
    uint64_t deadline_ns;    /* 0 = none; absolute clock_now_ns() */
    const bool *abort_flag;  /* optional; read atomically */
};

struct rpc_stream {
    int fd;
    /* Read side: owned by the reader-role holder (no lock). */
    struct rpc_rbuf rb;
    /* Write side: combining writer. Whoever finds `flushing` false writes
     * its bytes directly and then drains `wpend`; others append to `wpend`
     * and return, so concurrent replies share syscalls. */
    pthread_mutex_t wmu;
    pthread_cond_t wcond; /* signalled when a flush round ends */
    struct buf wpend;     /* queued bytes (under wmu) */
    struct buf wspare;    /* flusher's swap buffer (flusher only) */
    bool flushing;        /* under wmu */
    bool wdead;           /* under wmu: a write failed, stream is corrupt */
    bool dead;            /* atomic: killed (shutdown(2) done) */
};

void rpc_stream_init(struct rpc_stream *st, int fd,
                     const struct rpc_limits *lim);
/* Close the fd and free the buffers. No thread may use it any more. */
void rpc_stream_destroy(struct rpc_stream *st);
/* Receive once into the rbuf: >0 bytes, ERR_TIMEOUT (SO_RCVTIMEO expired),
 * ERR_IO (EOF, reset, killed). Reader-role holder only. */
int rpc_stream_fill(struct rpc_stream *st);
/* Send one message (whole, or queued behind the current flusher). 0, or
 * ERR_IO / ERR_TIMEOUT / ERR_CLOSED; after an error the stream is dead
 * (the caller must kill the connection: a partial write corrupts it). */
int rpc_stream_send(struct rpc_stream *st, const void *p, size_t n,
                    const struct rpc_send_ctl *ctl);
/* shutdown(2) both directions: wakes blocked recv/send. Idempotent. */
void rpc_stream_kill(struct rpc_stream *st);
bool rpc_stream_is_dead(struct rpc_stream *st);

/* ------------------------------------------------------------------------
 * addr.c */

#define RPC_ADDR_MAX 256

struct rpc_addr {
    int family; /* AF_INET / AF_INET6 (host may be a name) or AF_UNIX */
    char host[RPC_ADDR_MAX];
    char port[8];
    char path[108]; /* AF_UNIX; sizeof(sun_path) */
};

/* Parse "host:port", "[v6]:port", ":port" (listen on all) or
 * "unix:/path". Port 0 only when listening. 0 or ERR_ADDR. */
int rpc_addr_parse(const char *s, bool listening, struct rpc_addr *a);
/* Bound, listening, non-blocking, CLOEXEC socket; *bound gets the printable
 * bound address. 0, ERR_ADDR (cannot resolve) or ERR_IO with errno set to
 * the cause (EADDRINUSE, EACCES, ...). */
int rpc_addr_listen(const struct rpc_addr *a, int *fd, char *bound,
                    size_t bound_len);
/* Connected blocking CLOEXEC socket (TCP_NODELAY), waiting at most until
 * deadline_ns or until *abort_flag. 0 or ERR_UNREACHABLE / ERR_CLOSED. */
int rpc_addr_connect(const struct rpc_addr *a, uint64_t deadline_ns,
                     const bool *abort_flag, int *fd);
/* Options for an accepted / connected socket. */
void rpc_sock_set_timeouts(int fd, uint64_t rcv_ms, uint64_t snd_ms);
void rpc_sock_set_nodelay(int fd);

/* ------------------------------------------------------------------------
 * pool.c: client connections
 *
 * Locking: pool_mu (global) protects the pool list; conn->refs is atomic
 * but only drops to 0 under pool_mu. Order: end->mu, then (released)
 * pool_mu -> conn->mu; a call never holds two of them at once.
 * conn->mu protects everything else in the conn and its socks (refs,
 * reading, dead, npending) and the pending table. Order: end->mu may be
 * held while taking conn->mu, never the reverse; pool_mu is never held
 * with either. Filter callbacks run with no lock held. */

struct rpc_csock {
    struct rpc_stream st; /* read side owned by the caller with `reading` */
    unsigned refs;        /* conn's current pointer + calls using it */
    unsigned npending;    /* undone calls registered on this sock */
    bool reading;         /* a caller holds the reader role */
    bool dead;            /* failed; detached from conn->sock */
    uint64_t last_ms;     /* last call start, for the idle EOF check */
};

/* One call in flight. Lives on the caller's stack.
 *
 * Waking: a waiting caller sleeps on the futex word `fw` without holding
 * conn->mu. Ordinary wake-ups ("take the reader role", "your socket
 * failed", "your end was shut down") add 2 to fw under conn->mu and the
 * caller re-checks under the lock. The common one, "your reply is here",
 * is done by the reader without the caller ever needing the lock again,
 * but only for a caller asleep on fw (`waiting`: it is past its send, so
 * it no longer uses its socket): under conn->mu the reader fills the
 * reply, unregisters the call and drops its socket reference
 * (sock_released) and sets bit 0 of fw - its last access to the struct,
 * still under the lock, so a caller that leaves through the locked path
 * (woken by a kick meanwhile) can never see a late write to its reused
 * stack. After unlocking the reader only wakes the futex. The caller sees
 * bit 0 and returns at once. The FUTEX_WAKE may hit a dead stack slot: a
 * spurious wake-up for whatever lives there now, which every futex user
 * tolerates (glibc's own unlock-then-wake has the same property). */
#define RPC_PENDING_INLINE 512
struct rpc_pending {
    uint32_t msgid;
    struct rpc_pending *hnext;   /* hash chain (conn->mu) */
    struct rpc_end *end;         /* whose call (rpc_end_shutdown) */
    struct rpc_conn *conn;
    struct rpc_csock *sock;
    uint32_t fw;                 /* futex word (atomic), see above */
    bool done;                   /* reply attached or failed (conn->mu) */
    bool waiting;                /* asleep on fw (conn->mu) */
    bool sock_released;          /* unregistered + sock ref dropped by the
                                    reader that completed us (conn->mu) */
    bool async;                  /* part of a struct rpc_acall */
    int rc;                      /* 0: reply attached; else the failure */
    uint8_t *reply;              /* the whole response message */
    size_t reply_len;
    uint8_t *reply_heap;         /* owned if not inline */
    uint8_t reply_inline[RPC_PENDING_INLINE];
};

/* An asynchronous call (async.c): heap-allocated, owned by the conn's
 * completion thread once registered. `p.done` set means finished: it is
 * then on the conn's done queue (in finishing order) until completed. */
struct rpc_acall {
    struct rpc_pending p;             /* p.async set */
    struct rpc_acall *prev, *next;    /* conn->alive list (conn->mu) */
    struct rpc_acall *dnext;          /* conn->done queue (conn->mu) */
    const struct rpc_filter *f;
    void *fctx;
    rpc_decode_fn dec;
    void *reply;
    rpc_done_fn done;
    void *done_ctx;
    uint64_t deadline_ns, next_poll_ns;
};

#define RPC_PENDING_BUCKETS 64
struct rpc_conn {
    char *addr_str;              /* pool key (owned) */
    struct rpc_addr addr;
    unsigned refs;               /* atomic: ends + calls (see pool.c) */
    struct rpc_conn *next;       /* pool list */
    pthread_mutex_t mu;
    pthread_cond_t cond;         /* connect finished */
    struct rpc_csock *sock;      /* current socket or NULL */
    bool connecting;
    uint32_t next_msgid;
    struct rpc_pending *table[RPC_PENDING_BUCKETS];
    /* Asynchronous calls (async.c): unfinished ones, finished ones
     * awaiting their completion, and the completion thread serving them
     * (runs while `acalls` is nonzero, and lingers briefly after). */
    struct rpc_acall *alive;
    struct rpc_acall *done_head, *done_tail;
    unsigned acalls;             /* registered, not yet completed */
    bool areader;                /* the completion thread exists */
    pthread_cond_t acond;        /* wakes it: work, reader role, shutdown */
};

/* Pool references (addr is copied). rpc_conn_ref() needs a reference
 * already held (e.g. the end's, under end->mu). */
struct rpc_conn *rpc_pool_get(const char *addr_str,
                              const struct rpc_addr *addr);
void rpc_conn_ref(struct rpc_conn *c);
void rpc_pool_put(struct rpc_conn *c);

void rpc_csock_unref_locked(struct rpc_conn *c, struct rpc_csock *s);
/* Mark s dead, detach it, fail its undone calls with err. conn->mu held. */
void rpc_csock_fail_locked(struct rpc_conn *c, struct rpc_csock *s, int err);
void rpc_pending_insert_locked(struct rpc_conn *c, struct rpc_pending *p);
void rpc_pending_remove_locked(struct rpc_conn *c, struct rpc_pending *p);
struct rpc_pending *rpc_pending_find_locked(struct rpc_conn *c,
                                            uint32_t msgid);
/* Wake one undone call on s (other than me) to take over reading. */
void rpc_csock_handoff_locked(struct rpc_conn *c, struct rpc_csock *s,
                              const struct rpc_pending *me);
/* Wake p to re-check its state under conn->mu (conn->mu held); an
 * asynchronous call has no waiter: its completion thread is woken. */
void rpc_pending_kick_locked(struct rpc_conn *c, struct rpc_pending *p);

/* client.c, shared with async.c */
/* One round as the reader of s (the caller holds the reader role, not
 * c->mu): route what is buffered, receive once (at most a tick), route
 * again. `me` (may be NULL) is the caller's own call. */
void rpc_read_round(struct rpc_conn *c, struct rpc_csock *s,
                    const struct rpc_pending *me);
/* Unregister a finished call (unless the reader that completed it did)
 * and pass the reader role on if nobody holds it. c->mu held. */
void rpc_call_cleanup_locked(struct rpc_conn *c, struct rpc_csock *s,
                             struct rpc_pending *p);
/* After the reply arrived: on_reply, the error code, the decode. */
int rpc_deliver(struct rpc_end *e, const struct rpc_pending *p,
                const struct rpc_filter *f, void *ctx, rpc_decode_fn dec,
                void *reply);
/* Count a successful call in the end's stats. */
void rpc_end_count_ok(struct rpc_end *e);
/* rpc_end_shutdown() was called on e. */
bool rpc_end_is_closed(const struct rpc_end *e);

/* async.c: the completion side of rpc_call_async */
/* Make sure c's completion thread runs: 0 or ERR_NOMEM. c->mu held. */
int rpc_async_start_locked(struct rpc_conn *c);
/* Register ac (its pending already in the table; the thread started).
 * c->mu held. */
void rpc_async_register_locked(struct rpc_conn *c, struct rpc_acall *ac);
/* ac's pending just became done (reply routed or socket failed): queue
 * it for completion. c->mu held. */
void rpc_async_finished_locked(struct rpc_conn *c, struct rpc_acall *ac);
/* Wake the completion thread, if any. c->mu held. */
void rpc_async_wake_locked(struct rpc_conn *c);
/* Futex helpers (private futexes; deadline on CLOCK_MONOTONIC). */
void rpc_futex_wait(uint32_t *addr, uint32_t val, uint64_t deadline_ns);
void rpc_futex_wake(uint32_t *addr);
/* Wake every call of end e, on every connection (rpc_end_shutdown). */
void rpc_pool_wake_end(const struct rpc_end *e);

/* ------------------------------------------------------------------------
 * Server (server.c, sconn.c, workers.c)
 *
 * Locking: one mutex per server (srv->mu) protects the connection list,
 * conn refs / inflight / read-wait state, the thread pool and the job
 * queue. Services are published lock-free (append-only array + atomic
 * count). A connection's read side belongs to the thread holding its
 * reader role (exactly one READ job exists per connection); its write side
 * is the stream's combining writer. Handlers run with no lock held. */

struct rpc_server;
struct rpc_sconn;

enum rpc_job_kind { RPC_JOB_READ = 1, RPC_JOB_RUN = 2 };

struct rpc_job {
    int kind;
    struct rpc_job *next; /* job queue */
};

/* A request handed to another thread: owns its bytes and one conn ref. */
struct rpc_req {
    struct rpc_job job; /* first: a job pointer is a req pointer */
    struct rpc_sconn *conn;
    const struct rpc_method *m;
    void *svc;
    uint64_t *slow;      /* the method's slow hint (see rpc_service) */
    struct rpc_msg msg;  /* spans point into base */
    uint8_t *base;       /* owned bytes */
    size_t charged;      /* of base, against srv->adm.max_buffered */
};

struct rpc_sconn {
    struct rpc_job read_job; /* first: a READ job pointer is the conn */
    struct rpc_server *srv;
    struct rpc_stream st;
    unsigned refs;     /* srv->mu: reader role + requests */
    unsigned inflight; /* srv->mu: non-inline requests not finished */
    bool read_wait;    /* srv->mu: reader waits for inflight to drop */
    /* srv->mu: the reader thread is running a handler; the monitor may
     * take the reader role away (clearing `borrowed`). */
    bool borrowed;
    uint64_t borrow_ns;
    /* Admission (see rpc_admission): last_ns (atomic) is when the last
     * complete request arrived (or the accept), for the idle timeout and
     * for picking whom to replace at the cap; msg_ns (reader role) is when
     * the first byte of the message now buffered arrived, 0 if none;
     * charged (reader role, then the freer) is this connection's receive
     * buffer as counted against the budget. */
    uint64_t last_ns;
    uint64_t msg_ns;
    size_t charged;
    /* Cluster-key handshake (rpc/auth.c), reader role: state 1 = Hello
     * answered with auth_sn; authed = the peer proved the key. */
    uint8_t auth_sn[32], auth_cn[32];
    int auth_state;
    bool authed;
    bool auth_warned;
    /* Replies batched by the reader role, not yet sent. Belongs to the
     * role: when the monitor moves the role, the new holder sends them. */
    struct buf out;
    struct rpc_sconn *bnext, **bprev; /* srv->borrowed */
    pthread_cond_t cond;
    struct rpc_sconn *next, **prev; /* srv->conns */
};

struct rpc_service {
    char *name;
    size_t name_len;
    void *svc;
    const struct rpc_method *methods;
    size_t n;
    /* Per method (atomic): clock_now_ns() until which the handler counts
     * as blocking (RPC_SLOW_HINT_NS); owned. */
    uint64_t *slow;
};

#define RPC_MAX_SERVICES 32

/* Per-thread scratch of a server thread. */
struct rpc_wctx {
    struct buf out; /* the reply of a request run by this thread */
};

struct rpc_worker {
    pthread_t tid;
    struct rpc_server *srv;
    pthread_cond_t cond;
    struct rpc_job *job; /* srv->mu: assigned job */
    bool idle;           /* srv->mu: on the idle list */
    bool exited;         /* srv->mu: thread function returned */
    struct rpc_worker *idle_next, *all_next;
};

struct rpc_server {
    pthread_mutex_t mu;
    struct rpc_service services[RPC_MAX_SERVICES];
    size_t n_services; /* published with release/acquire */
    pthread_mutex_t svc_mu; /* serialises add_service */

    struct rpc_limits lim; /* set before listen */
    size_t max_conns;
    struct rpc_admission adm; /* set before listen */
    struct rpc_auth *auth;    /* set before listen; NULL: no cluster key */
    uint64_t buffered;   /* atomic: bytes charged against max_buffered */
    uint64_t evicted;    /* atomic: connections closed by admission */
    unsigned n_inflight; /* srv->mu: non-inline requests running, all conns */
    unsigned handler_waiters;  /* srv->mu: readers waiting on inflight_cond */
    pthread_cond_t inflight_cond; /* n_inflight dropped below the bound */
    uint64_t accept_log_ns;    /* acceptor: last logged failure */
    unsigned accept_quiet;     /* acceptor: failures not logged since */

    int lfd;      /* listening socket, -1 if none */
    int wake_fd;  /* eventfd: stops the acceptor */
    bool accepting;
    pthread_t acceptor;
    char addr[RPC_ADDR_MAX];
    char unix_path[108]; /* unlinked on close if we bound it */

    bool closing;       /* srv->mu (also read atomically) */
    /* monitor (srv->mu) */
    pthread_t monitor;
    bool monitor_started, mon_sleeping;
    pthread_cond_t mon_cond;
    struct rpc_sconn *borrowed;
    size_t n_borrowed;
    struct rpc_sconn *conns;
    size_t n_conns;

    /* thread pool (srv->mu) */
    struct rpc_worker *idle, *all;
    size_t n_threads, n_idle;
    struct rpc_job *jobq_head, **jobq_tail;

    uint64_t dispatched; /* atomic */
};

/* workers.c: run a job on a pool thread. Takes ownership of the job
 * (discarded if the server is closing). */
void rpc_pool_submit(struct rpc_server *s, struct rpc_job *j);
/* Same with srv->mu held and closing known to be false. */
void rpc_pool_submit_locked(struct rpc_server *s, struct rpc_job *j);
/* Join every pool thread (after closing is set and conns are killed). */
void rpc_pool_join_all(struct rpc_server *s);
/* Free a job without running it. No lock held. */
void rpc_job_discard(struct rpc_server *s, struct rpc_job *j);

/* sconn.c (the monitor lives there too) */
void *rpc_monitor_main(void *arg);
struct rpc_sconn *rpc_sconn_new_locked(struct rpc_server *s, int fd);
void rpc_sconn_unref(struct rpc_sconn *c);
/* READ job: read and dispatch until the role is handed off or the
 * connection dies. */
void rpc_sconn_read(struct rpc_sconn *c, struct rpc_wctx *w);
/* RUN job: execute a detached request, send its reply, free it. */
void rpc_req_run(struct rpc_req *r, struct rpc_wctx *w);
void rpc_req_free(struct rpc_req *r);

/* auth.c: the cluster key (see the top of auth.c). */
struct rpc_auth;
void rpc_auth_free(struct rpc_auth *a);
bool rpc_auth_is_method(const struct rpc_msg *m);
/* Answer an Auth.* request on c into out (reader role). */
void rpc_auth_serve(struct rpc_sconn *c, const struct rpc_msg *m,
                    struct buf *out);
/* May this request run on c? (false: refuse with ERR_AUTH) */
bool rpc_auth_allowed(struct rpc_sconn *c, const struct rpc_msg *m);
/* Client handshake on a fresh connection if the process has a key. */
int rpc_auth_client(int fd, uint64_t deadline_ns);

/* server.c: the budget of rpc_admission.max_buffered. charge fails
 * (false, nothing charged) if n more bytes would exceed it; force always
 * charges (bytes already allocated). */
bool rpc_budget_charge(struct rpc_server *s, size_t n);
void rpc_budget_force(struct rpc_server *s, size_t n);
void rpc_budget_release(struct rpc_server *s, size_t n);
/* A request finished (srv->mu held): drop c's and the server's in-flight
 * counts and wake a reader waiting for them. */
void rpc_inflight_done_locked(struct rpc_server *s, struct rpc_sconn *c);

/* server.c: look up "Service.Method" (not NUL-terminated); *slow gets
 * the method's slow hint word. */
const struct rpc_method *rpc_server_lookup(struct rpc_server *s,
                                           const uint8_t *name, size_t len,
                                           void **svc, uint64_t **slow);

/* Atomics shorthands. */
#define RPC_LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define RPC_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define RPC_ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)

#endif /* RPC_RPC_INTERNAL_H_ */
