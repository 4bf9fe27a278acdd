/* rpc_testlib.h - shared fixtures for the rpc socket tests: a test service
 * ("T") with echo / failing / blocking / misbehaving handlers, its
 * encoders and decoders, and raw-socket helpers for hostile-input tests. */
#ifndef RPC_TESTS_RPC_TESTLIB_H_
#define RPC_TESTS_RPC_TESTLIB_H_

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc/rpc.h"

/* State of one test service instance. */
struct tsvc {
    const char *id; /* returned by Echo so tests can tell servers apart */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int blocked;   /* Block handlers waiting now */
    bool released; /* gate open */
    int echo_calls;
    int sleeping;   /* Sleep handlers running now */
    int peak_sleeping; /* the most at once since tsvc_init */
};

void tsvc_init(struct tsvc *t, const char *id);
void tsvc_destroy(struct tsvc *t);
/* Wait (up to 10 s) until n Block handlers are waiting; false on timeout. */
bool tsvc_wait_blocked(struct tsvc *t, int n);
void tsvc_release(struct tsvc *t);

/* Methods of service "T" (see rpc_testlib.c):
 *   Echo / EchoI (inline): {a, s} -> {a, s, id}
 *   Fail {code}            -> returns code
 *   Block                  -> waits for the gate, -> {ok}
 *   Sleep {ms}             -> sleeps, -> {ok}
 *   Nothing                -> packs nothing (nil result)
 *   Two                    -> packs two objects (a handler bug)
 *   Big {v}                -> {b: v bytes}
 *   Deep {v}               -> v nested one-element arrays around nil */
extern const struct rpc_method tsvc_methods[];
extern const size_t tsvc_n_methods;

/* New server hosting "T" (and "U", a second service with the same methods
 * whose Echo reports id "U") listening on addr ("127.0.0.1:0" if NULL). */
struct rpc_server *tsrv_start(struct tsvc *t, const char *addr);

/* cmocka fixture of the call tests: one server hosting T and U, and an
 * end to it. tfx_teardown releases blocked handlers, shuts the end down
 * and frees it (every asynchronous call must have completed), closes the
 * server. */
struct tfx {
    struct tsvc t;
    struct rpc_server *s;
    struct rpc_end *e;
};
int tfx_setup(void **state);
int tfx_teardown(void **state);

struct echo_args {
    int64_t a;
    const char *s;
    size_t slen;
};
struct echo_reply {
    int64_t a;
    char s[256];
    size_t slen;
    char id[32];
};
int enc_echo(msgpack_packer *pk, const void *args);
int dec_echo(const msgpack_object *o, void *out);
int enc_int(msgpack_packer *pk, const void *args); /* {code|ms|n: *int64 } */
int enc_raw(msgpack_packer *pk, const void *args);  /* copies a struct raw */
struct raw {
    const void *p;
    size_t n;
};
/* Echo with a=a, s=s; returns rpc_call's code and checks the reply. */
int call_echo(struct rpc_end *e, const char *method, int64_t a,
              const char *id_expected);

/* Raw sockets. */
int raw_connect(const char *addr);
/* A loopback listener that never accepts or reads: connections to it are
 * made by the kernel and then hang, like a frozen peer's. Writes its
 * "127.0.0.1:port" into addr; returns the fd (close it) or -1. */
int raw_black_hole(char *addr, size_t n);
void raw_send(int fd, const void *p, size_t n);
/* True if the peer closes (EOF/reset) within ms; data read meanwhile is
 * discarded. */
bool raw_closed_within(int fd, int ms);
/* Read one complete message (up to ms). Returns its length (copied into
 * out, at most cap bytes) or -1 on timeout/EOF. */
long raw_read_msg(int fd, uint8_t *out, size_t cap, int ms);
uint64_t now_ms(void);
/* Threads of this process now (/proc/self/status), -1 if unknown. */
int test_process_threads(void);

#endif /* RPC_TESTS_RPC_TESTLIB_H_ */
