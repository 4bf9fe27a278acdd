/* interop_server.c - a small msgpack-rpc server for the wire-format
 * interoperability test (test_interop.py): the test talks to it with a
 * plain msgpack client that shares no code with us, so passing proves the
 * wire format is the public msgpack-rpc spec.
 *
 *   labnet-interop-server [addr]     (default 127.0.0.1:0)
 * prints "ADDR <host:port>" once listening, serves until stdin reaches EOF,
 * then closes the server and exits 0.
 *
 * Services (named-field maps in and out, as every service of ours):
 *   Echo.Echo    the args map, unchanged (any msgpack types inside)
 *   Arith.Add    {"a": int, "b": int} -> {"sum": a+b}; missing fields are 0
 *   Arith.Div    {"a": int, "b": int} -> {"q": a/b, "r": a%b}; b=0: EINVAL
 *   Slow.Sleep   {"ms": int} -> {"ms": ms} after sleeping min(ms, 2000) ms,
 *                so a client can see replies overtake each other. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/daemon.h"
#include "common/err.h"
#include "rpc/rpc.h"

static int echo_echo(void *svc, const msgpack_object *args,
                     msgpack_packer *reply)
{
    (void)svc;
    msgpack_pack_object(reply, *args);
    return 0;
}

static int arith_add(void *svc, const msgpack_object *args,
                     msgpack_packer *reply)
{
    (void)svc;
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    int64_t a = rpc_dec_i64(&d, "a", 0);
    int64_t b = rpc_dec_i64(&d, "b", 0);
    if (d.err)
        return d.err;
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum))
        return ERR_INVAL;
    msgpack_pack_map(reply, 1);
    rpc_pack_kv_i64(reply, "sum", sum);
    return 0;
}

static int arith_div(void *svc, const msgpack_object *args,
                     msgpack_packer *reply)
{
    (void)svc;
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    int64_t a = rpc_dec_i64(&d, "a", 0);
    int64_t b = rpc_dec_i64(&d, "b", 0);
    if (d.err)
        return d.err;
    if (b == 0 || (a == INT64_MIN && b == -1))
        return ERR_INVAL;
    msgpack_pack_map(reply, 2);
    rpc_pack_kv_i64(reply, "q", a / b);
    rpc_pack_kv_i64(reply, "r", a % b);
    return 0;
}

static int slow_sleep(void *svc, const msgpack_object *args,
                      msgpack_packer *reply)
{
    (void)svc;
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    int64_t ms = rpc_dec_i64(&d, "ms", 0);
    if (d.err)
        return d.err;
    if (ms > 0)
        clock_sleep_ms(ms < 2000 ? (uint64_t)ms : 2000);
    msgpack_pack_map(reply, 1);
    rpc_pack_kv_i64(reply, "ms", ms);
    return 0;
}

/* Never block: safe on the reader thread. */
static const struct rpc_method echo_methods[] = {
    {"Echo", echo_echo, RPC_INLINE},
};
static const struct rpc_method arith_methods[] = {
    {"Add", arith_add, RPC_INLINE},
    {"Div", arith_div, RPC_INLINE},
};
/* Blocks: a worker thread, so later requests are not held up. */
static const struct rpc_method slow_methods[] = {
    {"Sleep", slow_sleep, 0},
};

int main(int argc, char **argv)
{
    if (daemon_help_or_version(argc, argv, "labnet-interop-server")) {
        printf("usage: labnet-interop-server [ADDR]   (default 127.0.0.1:0)\n");
        return 0;
    }
    const char *addr = argc > 1 ? argv[1] : "127.0.0.1:0";
    struct rpc_server *s = rpc_server_new();
    if (rpc_server_add_service(s, "Echo", NULL, echo_methods, 1) != 0 ||
        rpc_server_add_service(s, "Arith", NULL, arith_methods, 2) != 0 ||
        rpc_server_add_service(s, "Slow", NULL, slow_methods, 1) != 0) {
        fprintf(stderr, "interop_server: add_service failed\n");
        return 1;
    }
    int rc = rpc_server_listen(s, addr);
    if (rc != 0) {
        fprintf(stderr, "interop_server: listen %s: %s\n", addr,
                err_msg(rc));
        rpc_server_close(s);
        return 1;
    }
    printf("ADDR %s\n", rpc_server_addr(s));
    fflush(stdout);

    /* Serve until the test closes our stdin. */
    char buf[256];
    while (read(0, buf, sizeof(buf)) > 0)
        ;
    rpc_server_close(s);
    return 0;
}
