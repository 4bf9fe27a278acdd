/* rpc.h - msgpack-rpc over TCP (and unix sockets): client ends, servers,
 * codec helpers, statistics and the fault-injection filter hook.
 *
 * Wire format (the public msgpack-rpc spec, so any msgpack-rpc client can
 * talk to our servers): msgpack objects back to back on a stream,
 *   request   [0, msgid, "Service.Method", [args]]
 *   response  [1, msgid, error, result]
 * args is a one-element array holding a map with named fields; result is a
 * map (or nil on error); error is nil or a short string code from
 * err_name() ("ENOMETHOD", "EBADARGS", ...). Unknown fields are ignored and
 * missing fields take defaults, so message versions can evolve.
 *
 * Addresses: "host:port" (TCP; port 0 when listening picks a free port)
 * and "unix:/path".
 *
 * Threading: every function here is thread-safe. A client end multiplexes
 * concurrent calls on one connection by msgid and reconnects after
 * failures; the RPC layer never retries a call. A server runs each request
 * on a worker thread unless the method is marked RPC_INLINE, so a blocked
 * handler never stalls other requests on the same or other connections.
 *
 * Untrusted input: every read path bounds what it buffers (max message
 * size, default 64 MiB), validates types before use, and on a violation
 * closes that one connection. */
#ifndef RPC_RPC_H_
#define RPC_RPC_H_

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RPC_DEFAULT_MAX_MSG (64u << 20)       /* bytes per message */
#define RPC_DEFAULT_CALL_TIMEOUT_MS 10000     /* bound on one rpc_call */

/* ------------------------------------------------------------------------
 * Codec: encoding
 *
 * Encoders write exactly one msgpack object (normally a map with short
 * field names) with the msgpack_pack_* functions or the helpers below.
 * They return 0, or a negative error code to abort the call. */
typedef int (*rpc_encode_fn)(msgpack_packer *pk, const void *args);

/* Pack a NUL-terminated string / n bytes as msgpack str or bin. */
void rpc_pack_cstr(msgpack_packer *pk, const char *s);
void rpc_pack_str(msgpack_packer *pk, const void *p, size_t n);
void rpc_pack_bin(msgpack_packer *pk, const void *p, size_t n);
/* Map entries: key (a C string) followed by its value. */
void rpc_pack_kv_i64(msgpack_packer *pk, const char *key, int64_t v);
void rpc_pack_kv_u64(msgpack_packer *pk, const char *key, uint64_t v);
void rpc_pack_kv_bool(msgpack_packer *pk, const char *key, bool v);
void rpc_pack_kv_str(msgpack_packer *pk, const char *key, const void *p,
                     size_t n);
void rpc_pack_kv_cstr(msgpack_packer *pk, const char *key, const char *s);
void rpc_pack_kv_bin(msgpack_packer *pk, const char *key, const void *p,
                     size_t n);
/* Key only; the caller packs the value next. */
void rpc_pack_key(msgpack_packer *pk, const char *key);

/* ------------------------------------------------------------------------
 * Codec: decoding
 *
 * Decoders read one msgpack object. Objects point into the received
 * message and die when the decoder/handler returns: copy what you keep.
 * msgpack strings are NOT NUL-terminated.
 *
 * struct rpc_dec reads named fields from a map. Errors are sticky: a field
 * of the wrong type sets d->err = ERR_BADARGS and later reads return their
 * defaults, so a decoder can read every field and check d->err once. */
typedef int (*rpc_decode_fn)(const msgpack_object *obj, void *out);

struct rpc_dec {
    const msgpack_object *map; /* borrowed */
    int err;                   /* 0 or ERR_BADARGS */
};

/* Start decoding obj; err = ERR_BADARGS unless obj is a map. */
void rpc_dec_init(struct rpc_dec *d, const msgpack_object *obj);
/* The value of key, or NULL if absent (or after an error). */
const msgpack_object *rpc_dec_field(struct rpc_dec *d, const char *key);
/* Integers: accept positive and negative msgpack ints, range-checked. */
int64_t rpc_dec_i64(struct rpc_dec *d, const char *key, int64_t dflt);
uint64_t rpc_dec_u64(struct rpc_dec *d, const char *key, uint64_t dflt);
int rpc_dec_int(struct rpc_dec *d, const char *key, int dflt);
bool rpc_dec_bool(struct rpc_dec *d, const char *key, bool dflt);
/* str or bin field: borrowed pointer and length; NULL/0 when absent. */
const char *rpc_dec_bytes(struct rpc_dec *d, const char *key, size_t *len);
/* str or bin field as an owned NUL-terminated copy; NULL when absent. */
char *rpc_dec_strdup(struct rpc_dec *d, const char *key);
/* Array field: returns element count and sets *items (borrowed); an absent
 * field gives 0 items; a non-array sets ERR_BADARGS. */
uint32_t rpc_dec_array(struct rpc_dec *d, const char *key,
                       const msgpack_object **items);

/* Plain-object readers: 0 on success, ERR_BADARGS on type/range errors. */
int rpc_obj_i64(const msgpack_object *o, int64_t *out);
int rpc_obj_u64(const msgpack_object *o, uint64_t *out);
int rpc_obj_bytes(const msgpack_object *o, const char **p, size_t *len);
/* True if o is a str equal to the C string s. */
bool rpc_obj_streq(const msgpack_object *o, const char *s);

/* ------------------------------------------------------------------------
 * Servers */
struct rpc_server;

/* A handler reads args (the map from the request; borrowed, valid until it
 * returns) and packs exactly one object into reply (normally a map), then
 * returns 0. A negative return sends that error code instead (whatever was
 * packed is discarded). `svc` is the pointer given to add_service. */
typedef int (*rpc_handler_fn)(void *svc, const msgpack_object *args,
                              msgpack_packer *reply);

enum rpc_method_flags {
    /* Run on the connection's reader thread: only for handlers that never
     * block (take a lock briefly, never wait). Saves a thread hand-off. */
    RPC_INLINE = 1u << 0,
};

struct rpc_method {
    const char *name; /* "AppendEntries" (the service name is prefixed) */
    rpc_handler_fn fn;
    unsigned flags;
};

/* Returns owned; free with rpc_server_close(). */
struct rpc_server *rpc_server_new(void);
/* Host a service: requests for "<service>.<method>" go to the methods
 * (array borrowed; must outlive the server). May be called before or after
 * listen. ERR_EXISTS if the service name is taken. */
int rpc_server_add_service(struct rpc_server *s, const char *service,
                           void *svc, const struct rpc_method *methods,
                           size_t n_methods);
/* Bound on one incoming message (default RPC_DEFAULT_MAX_MSG). Applies
 * to connections accepted afterwards: set it before listen. A message
 * also may not hold more than bytes/8 + 1024 msgpack objects (bounds
 * msgpack-c's decode memory to ~3x bytes). */
void rpc_server_set_max_msg(struct rpc_server *s, size_t bytes);
/* Cap on open connections (default 1024); further connections are
 * accepted and closed at once, except with an idle timeout set
 * (rpc_admission): then a new connection replaces the one that has gone
 * longest without a complete request and has none running (so idle
 * connections cannot lock clients out), and is closed only if every
 * connection is busy.
 * listen() lowers the cap to leave RPC_FD_RESERVE descriptors of the
 * process's soft RLIMIT_NOFILE for the program's own files. */
void rpc_server_set_max_conns(struct rpc_server *s, size_t n);

/* Admission control (all 0 = off, the library default; the daemons turn
 * it on with rpc_admission_daemon_defaults). Set before listen. */
struct rpc_admission {
    /* Close a connection with no request running and none completed for
     * this long. */
    uint64_t idle_ms;
    /* Close a connection whose message, once its first byte arrived, is
     * not complete after this long (slow or stalled senders). */
    uint64_t read_ms;
    /* Server-wide bound on receive-buffer growth and detached large
     * requests: a connection whose next message would take the total
     * past it is closed. The first RPC_RBUF_INIT (64 KiB) of each
     * connection's buffer is not counted (bounded by the cap on
     * connections). */
    uint64_t max_buffered;
    /* Non-inline requests running at once, per connection and for the
     * whole server (each one may hold a thread while it blocks); beyond
     * them the connection's reader waits. 0 = the built-in 1024 per
     * connection and no server-wide bound. */
    unsigned max_inflight;
    unsigned max_handlers;
};
/* The values the daemons use: idle 300 s, read 60 s, 256 MiB buffered,
 * 8 requests per connection, 32 handlers in all (a burst of blocking
 * requests must not starve Raft of the CPU and its locks). */
void rpc_admission_daemon_defaults(struct rpc_admission *a);
void rpc_server_set_admission(struct rpc_server *s,
                              const struct rpc_admission *a);
/* Connections closed by admission control so far (idle, slow, over the
 * memory budget, replaced at the connection cap). */
uint64_t rpc_server_evicted(const struct rpc_server *s);

/* Cluster membership (rpc/auth.c, libsodium). A key file holds at least
 * 16 bytes of secret (e.g. `head -c 32 /dev/urandom > key; chmod 600 key`)
 * and must not be readable by others; the key is a hash of its bytes.
 * rpc_auth_load_key: 0, ERR_IO or ERR_INVAL (too short, world-readable),
 * errno set. */
#define RPC_AUTH_KEY_BYTES 32
int rpc_auth_load_key(const char *path, uint8_t key[RPC_AUTH_KEY_BYTES]);
/* Requests for the services ("Raft") or methods ("ShardKV.Install")
 * named in protect (NULL-terminated; NULL protects every service) are refused with ERR_AUTH (and logged, once per
 * connection) unless the connection proved the key with the Auth.Hello /
 * Auth.Prove challenge-response. Set before listen. */
int rpc_server_set_cluster_key(struct rpc_server *s,
                               const uint8_t key[RPC_AUTH_KEY_BYTES],
                               const char *const *protect);
/* Process-wide: every client connection opened afterwards proves the key
 * (and checks that the server knows it) before its first call; a server
 * without the key fails the connection (ERR_AUTH). Call at start-up,
 * before any call. */
int rpc_client_set_cluster_key(const uint8_t key[RPC_AUTH_KEY_BYTES]);

/* Bind and start accepting (spawns the acceptor). 0, ERR_ADDR or ERR_IO
 * (errno says why: EADDRINUSE, EACCES, ...). */
int rpc_server_listen(struct rpc_server *s, const char *addr);
/* Only bind (connections queue in the kernel until listen, which then
 * ignores its addr): a daemon learns that its port is taken before it
 * touches its data directory. Same errors. */
int rpc_server_bind(struct rpc_server *s, const char *addr);
/* The bound address ("127.0.0.1:41234", "unix:/p"); borrowed. */
const char *rpc_server_addr(const struct rpc_server *s);
/* Requests dispatched to a handler so far (labrpc's GetCount). */
uint64_t rpc_server_dispatched(const struct rpc_server *s);
/* Stop: close the listener and every connection, wait for running
 * handlers to return, join all threads, free everything. Replies of
 * handlers still running are discarded. The services must make blocked
 * handlers return (kill the service first). */
void rpc_server_close(struct rpc_server *s);

/* ------------------------------------------------------------------------
 * Client ends */
struct rpc_end;

/* Fault-injection hook on the client path (labs/ installs one so the
 * graded tests reproduce labrpc's unreliable network over real TCP; system
 * code cannot tell). Every callback is optional and runs on the calling
 * thread (asynchronous calls: see any_thread); callbacks may block, but should sleep with rpc_end_sleep() so
 * that rpc_end_shutdown() interrupts them. */
struct rpc_filter {
    /* Before the request is sent; req_bytes is the encoded args size.
     * Return 0 to send, or a negative code to fail the call with it
     * without sending anything. */
    int (*on_request)(void *ctx, struct rpc_end *end, const char *method,
                      size_t req_bytes);
    /* Polled about every 10 ms while waiting for the reply: a negative
     * return abandons the call with that code (e.g. the server was killed
     * or the end disabled while the handler ran). */
    int (*on_wait)(void *ctx, struct rpc_end *end);
    /* After the reply arrived, before it is decoded. Return 0 to deliver,
     * or a negative code to drop it (the call fails with that code). */
    int (*on_reply)(void *ctx, struct rpc_end *end, size_t reply_bytes);
    /* The hooks keep no per-call state in the calling thread, so
     * rpc_call_async may run on_wait and on_reply on its completion
     * thread (one at a time per connection, never under rpc's locks).
     * Without it rpc_call_async refuses the end's calls (ERR_INVAL): a
     * filter is never bypassed, only used where it is valid. */
    bool any_thread;
};

/* A destination. No I/O happens here: the connection is made on the first
 * call (ends to the same address share one multiplexed connection).
 * addr may be NULL (calls fail with ERR_UNREACHABLE until one is set).
 * Returns owned; NULL with *err set if the address cannot be parsed. */
struct rpc_end *rpc_end_new(const char *addr, int *err);
/* Point the end at another address (the tester does this when it restarts
 * a server on a fresh port). Calls in progress finish on the old
 * connection; later calls use the new address. 0 or ERR_ADDR. */
int rpc_end_set_addr(struct rpc_end *e, const char *addr);
/* Free the end. No call may be in progress on it (shut it down and let
 * callers return first). */
void rpc_end_free(struct rpc_end *e);
/* Copy of the current address into buf ("" if none). */
void rpc_end_addr(struct rpc_end *e, char *buf, size_t n);
/* Bound on each call (default RPC_DEFAULT_CALL_TIMEOUT_MS). */
void rpc_end_set_timeout(struct rpc_end *e, uint64_t ms);
/* Install a filter (borrowed; NULL removes it). Set before calls start. */
void rpc_end_set_filter(struct rpc_end *e, const struct rpc_filter *f,
                        void *ctx);
void *rpc_end_filter_ctx(const struct rpc_end *e);
/* Fail every call in progress and every later call with ERR_CLOSED, and
 * wake filter sleeps. Used by raft_kill() and friends so no thread is
 * stuck in a long injected delay. Irreversible. */
void rpc_end_shutdown(struct rpc_end *e);
/* Sleep up to ms; returns ERR_CLOSED early if the end is shut down. */
int rpc_end_sleep(struct rpc_end *e, uint64_t ms);

/* Call "Service.Method": encode args with enc, wait for the reply, decode
 * the result into reply with dec (dec may be NULL to ignore it).
 * Returns 0 only if the handler ran and its reply arrived and decoded;
 * otherwise a negative code after a bounded time: ERR_TIMEOUT,
 * ERR_UNREACHABLE (connect failed), ERR_IO (connection lost), ERR_CLOSED
 * (end shut down), ERR_DROPPED (filter), ERR_NOMETHOD/ERR_BADARGS/...
 * (the server's error code), ERR_PROTO (undecodable reply). */
int rpc_call(struct rpc_end *e, const char *method, rpc_encode_fn enc,
             const void *args, rpc_decode_fn dec, void *reply);

/* Asynchronous rpc_call: the same encoding, filter, timeout and failure
 * semantics, without a thread blocked per outstanding call.
 *
 * Returns 0 once the request was handed to the connection: done(done_ctx,
 * rc) then runs exactly once, later, with rpc_call's return code, after
 * the result was decoded into reply (which must stay valid until then).
 * A negative return (encoding, filter refusal in on_request, ERR_CLOSED,
 * ERR_UNREACHABLE or ERR_TIMEOUT while connecting, ERR_INVAL for an end
 * whose filter lacks any_thread) means done never runs.
 *
 * The calling thread runs the encoder, on_request (which may block, as in
 * rpc_call), the connect if the connection has no socket yet, and the
 * send. Completions run on the connection's completion thread (one per
 * connection with asynchronous calls pending, exiting shortly after the
 * last one; it also reads replies for every call on the connection), one
 * at a time, in the order the calls finished. done must not block for
 * long (it delays every other completion on the connection) but may take
 * locks and issue new calls, asynchronous or not.
 * rpc_end_shutdown() completes every pending call with ERR_CLOSED within
 * about one tick (10 ms); rpc_end_free() needs every done to have run and every
 * rpc_call_async to have returned. */
typedef void (*rpc_done_fn)(void *done_ctx, int rc);
int rpc_call_async(struct rpc_end *e, const char *method, rpc_encode_fn enc,
                   const void *args, rpc_decode_fn dec, void *reply,
                   rpc_done_fn done, void *done_ctx);

struct rpc_end_stats {
    uint64_t calls;       /* rpc_call / rpc_call_async invocations */
    uint64_t ok;          /* calls that returned 0 */
    uint64_t req_bytes;   /* encoded args bytes of calls sent */
    uint64_t reply_bytes; /* encoded result bytes of replies delivered */
};
void rpc_end_get_stats(const struct rpc_end *e, struct rpc_end_stats *out);

#endif /* RPC_RPC_H_ */
