/* rpc_testlib.c - shared fixtures for the rpc socket tests. */
#include "rpc/tests/rpc_testlib.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "rpc/rpc_internal.h"

void tsvc_init(struct tsvc *t, const char *id)
{
    memset(t, 0, sizeof(*t));
    t->id = id;
    pthread_mutex_init(&t->mu, NULL);
    clock_cond_init(&t->cond);
}

void tsvc_destroy(struct tsvc *t)
{
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cond);
}

bool tsvc_wait_blocked(struct tsvc *t, int n)
{
    uint64_t deadline = clock_now_ns() + 10000000000ull;
    pthread_mutex_lock(&t->mu);
    while (t->blocked < n && clock_now_ns() < deadline)
        clock_cond_wait_until(&t->cond, &t->mu, deadline);
    bool ok = t->blocked >= n;
    pthread_mutex_unlock(&t->mu);
    return ok;
}

void tsvc_release(struct tsvc *t)
{
    pthread_mutex_lock(&t->mu);
    t->released = true;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mu);
}

static int h_echo(void *svc, const msgpack_object *args, msgpack_packer *r)
{
    struct tsvc *t = svc;
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    int64_t a = rpc_dec_i64(&d, "a", 0);
    size_t n;
    const char *s = rpc_dec_bytes(&d, "s", &n);
    if (d.err)
        return d.err;
    pthread_mutex_lock(&t->mu);
    t->echo_calls++;
    pthread_mutex_unlock(&t->mu);
    msgpack_pack_map(r, 3);
    rpc_pack_kv_i64(r, "a", a);
    rpc_pack_kv_str(r, "s", s ? s : "", s ? n : 0);
    rpc_pack_kv_cstr(r, "id", t->id);
    return 0;
}

static int h_echo_u(void *svc, const msgpack_object *args, msgpack_packer *r)
{
    (void)svc;
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    int64_t a = rpc_dec_i64(&d, "a", 0);
    if (d.err)
        return d.err;
    msgpack_pack_map(r, 3);
    rpc_pack_kv_i64(r, "a", a);
    rpc_pack_kv_str(r, "s", "", 0);
    rpc_pack_kv_cstr(r, "id", "U");
    return 0;
}

static int h_fail(void *svc, const msgpack_object *args, msgpack_packer *r)
{
    (void)svc;
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    int code = rpc_dec_int(&d, "v", 0);
    msgpack_pack_map(r, 0); /* discarded: an error is sent instead */
    return d.err ? d.err : code;
}

static int h_block(void *svc, const msgpack_object *args, msgpack_packer *r)
{
    (void)args;
    struct tsvc *t = svc;
    uint64_t deadline = clock_now_ns() + 20000000000ull; /* safety */
    pthread_mutex_lock(&t->mu);
    t->blocked++;
    pthread_cond_broadcast(&t->cond);
    while (!t->released && clock_now_ns() < deadline)
        clock_cond_wait_until(&t->cond, &t->mu, deadline);
    t->blocked--;
    pthread_mutex_unlock(&t->mu);
    msgpack_pack_map(r, 1);
    rpc_pack_kv_bool(r, "ok", true);
    return 0;
}

static int h_sleep(void *svc, const msgpack_object *args, msgpack_packer *r)
{
    struct tsvc *t = svc;
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    pthread_mutex_lock(&t->mu);
    if (++t->sleeping > t->peak_sleeping)
        t->peak_sleeping = t->sleeping;
    pthread_mutex_unlock(&t->mu);
    clock_sleep_ms((uint64_t)rpc_dec_i64(&d, "v", 0));
    pthread_mutex_lock(&t->mu);
    t->sleeping--;
    pthread_mutex_unlock(&t->mu);
    msgpack_pack_map(r, 1);
    rpc_pack_kv_bool(r, "ok", true);
    return 0;
}

static int h_nothing(void *svc, const msgpack_object *args,
                     msgpack_packer *r)
{
    (void)svc;
    (void)args;
    (void)r;
    return 0;
}

static int h_two(void *svc, const msgpack_object *args, msgpack_packer *r)
{
    (void)svc;
    (void)args;
    msgpack_pack_int(r, 1);
    msgpack_pack_int(r, 2);
    return 0;
}

static int h_deep(void *svc, const msgpack_object *args, msgpack_packer *r)
{
    (void)svc;
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    int64_t n = rpc_dec_i64(&d, "v", 1);
    for (int64_t i = 0; i < n; i++)
        msgpack_pack_array(r, 1);
    msgpack_pack_nil(r);
    return 0;
}

static int h_big(void *svc, const msgpack_object *args, msgpack_packer *r)
{
    (void)svc;
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    size_t n = (size_t)rpc_dec_u64(&d, "v", 0);
    char *b = malloc(n ? n : 1);
    memset(b, 'z', n);
    msgpack_pack_map(r, 1);
    rpc_pack_kv_bin(r, "b", b, n);
    free(b);
    return 0;
}

const struct rpc_method tsvc_methods[] = {
    {"Echo", h_echo, 0},       {"EchoI", h_echo, RPC_INLINE},
    {"Fail", h_fail, 0},       {"Block", h_block, 0},
    {"Sleep", h_sleep, 0},     {"Nothing", h_nothing, RPC_INLINE},
    {"Two", h_two, RPC_INLINE}, {"Big", h_big, 0},
    {"Deep", h_deep, RPC_INLINE},
};
const size_t tsvc_n_methods = sizeof(tsvc_methods) / sizeof(tsvc_methods[0]);

static const struct rpc_method usvc_methods[] = {
    {"Echo", h_echo_u, 0},
};

struct rpc_server *tsrv_start(struct tsvc *t, const char *addr)
{
    struct rpc_server *s = rpc_server_new();
    if (rpc_server_add_service(s, "T", t, tsvc_methods, tsvc_n_methods) ||
        rpc_server_add_service(s, "U", NULL, usvc_methods, 1) ||
        rpc_server_listen(s, addr ? addr : "127.0.0.1:0")) {
        rpc_server_close(s);
        return NULL;
    }
    return s;
}

int enc_echo(msgpack_packer *pk, const void *args)
{
    const struct echo_args *a = args;
    msgpack_pack_map(pk, 2);
    rpc_pack_kv_i64(pk, "a", a->a);
    rpc_pack_kv_str(pk, "s", a->s, a->slen);
    return 0;
}

int dec_echo(const msgpack_object *o, void *out)
{
    struct echo_reply *r = out;
    struct rpc_dec d;
    rpc_dec_init(&d, o);
    r->a = rpc_dec_i64(&d, "a", 0);
    size_t n;
    const char *s = rpc_dec_bytes(&d, "s", &n);
    if (n >= sizeof(r->s))
        n = sizeof(r->s) - 1;
    memcpy(r->s, s ? s : "", n);
    r->s[n] = '\0';
    r->slen = n;
    s = rpc_dec_bytes(&d, "id", &n);
    if (n >= sizeof(r->id))
        n = sizeof(r->id) - 1;
    memcpy(r->id, s ? s : "", n);
    r->id[n] = '\0';
    return d.err;
}

int enc_int(msgpack_packer *pk, const void *args)
{
    msgpack_pack_map(pk, 1);
    rpc_pack_kv_i64(pk, "v", *(const int64_t *)args);
    return 0;
}

int enc_raw(msgpack_packer *pk, const void *args)
{
    const struct raw *r = args;
    if (r->n)
        msgpack_pack_str_body(pk, r->p, r->n); /* raw bytes, no header */
    return 0;
}

int call_echo(struct rpc_end *e, const char *method, int64_t a,
              const char *id_expected)
{
    char s[32];
    snprintf(s, sizeof(s), "v%lld", (long long)a);
    struct echo_args args = {a, s, strlen(s)};
    struct echo_reply rep;
    memset(&rep, 0, sizeof(rep));
    int rc = rpc_call(e, method, enc_echo, &args, dec_echo, &rep);
    if (rc)
        return rc;
    if (rep.a != a || strcmp(rep.s, s) != 0)
        return -1000; /* wrong reply: multiplexing bug */
    if (id_expected && strcmp(rep.id, id_expected) != 0)
        return -1001;
    return 0;
}

int tfx_setup(void **state)
{
    struct tfx *f = calloc(1, sizeof(*f));
    tsvc_init(&f->t, "A");
    f->s = tsrv_start(&f->t, NULL);
    if (!f->s)
        return -1;
    int err;
    f->e = rpc_end_new(rpc_server_addr(f->s), &err);
    if (!f->e)
        return -1;
    *state = f;
    return 0;
}

int tfx_teardown(void **state)
{
    struct tfx *f = *state;
    tsvc_release(&f->t); /* let any blocked handler finish */
    rpc_end_shutdown(f->e);
    rpc_end_free(f->e);
    rpc_server_close(f->s);
    tsvc_destroy(&f->t);
    free(f);
    return 0;
}

uint64_t now_ms(void) { return clock_now_ms(); }

int test_process_threads(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (fp && fgets(line, sizeof(line), fp))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    if (fp)
        fclose(fp);
    return n;
}

int raw_connect(const char *addr)
{
    struct rpc_addr a;
    int fd;
    if (rpc_addr_parse(addr, false, &a) < 0 ||
        rpc_addr_connect(&a, clock_now_ns() + 5000000000ull, NULL, &fd) < 0)
        return -1;
    return fd;
}

int raw_black_hole(char *addr, size_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fd, 128) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    snprintf(addr, n, "127.0.0.1:%d", ntohs(sa.sin_port));
    return fd;
}

void raw_send(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* peer closed: the test checks that separately */
        b += w;
        n -= (size_t)w;
    }
}

bool raw_closed_within(int fd, int ms)
{
    uint64_t deadline = clock_now_ms() + (uint64_t)ms;
    uint8_t buf[4096];
    for (;;) {
        uint64_t now = clock_now_ms();
        if (now >= deadline)
            return false;
        struct pollfd pfd = {fd, POLLIN, 0};
        int n = poll(&pfd, 1, (int)(deadline - now));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
            return true;
    }
}

long raw_read_msg(int fd, uint8_t *out, size_t cap, int ms)
{
    uint64_t deadline = clock_now_ms() + (uint64_t)ms;
    struct rpc_limits lim;
    rpc_limits_for(&lim, cap);
    size_t have = 0;
    for (;;) {
        size_t len;
        if (have > 0) {
            int rc = rpc_scan_object(out, have, &lim, &len);
            if (rc == 1)
                return (long)len; /* callers read one message at a time */
            if (rc < 0)
                return -1;
        }
        uint64_t now = clock_now_ms();
        if (now >= deadline || have == cap)
            return -1;
        struct pollfd pfd = {fd, POLLIN, 0};
        int n = poll(&pfd, 1, (int)(deadline - now));
        if (n <= 0)
            continue;
        /* Read one byte at a time beyond what we know: never consume the
         * next message's bytes. */
        ssize_t r = recv(fd, out + have, 1, 0);
        if (r <= 0)
            return -1;
        have += (size_t)r;
    }
}
