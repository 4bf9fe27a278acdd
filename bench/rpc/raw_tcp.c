/* raw_tcp.c - bench-rpc's baseline: the cheapest possible request/reply on
 * loopback TCP. One blocking connection with TCP_NODELAY, a server thread
 * that reads exactly a request's bytes and writes exactly a reply's, a
 * client that times each round trip. No framing, no codec, no threads in
 * between: what rpc_call's round trip is compared against. */
#include "bench/rpc/bench_rpc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"

struct bench_raw {
    int lfd;  /* listening socket */
    int sfd;  /* server side of the connection */
    int cfd;  /* client side */
    size_t req_size;
    size_t rep_size;
    pthread_t thread;
};

static void bench_die(const char *what)
{
    perror(what);
    exit(1);
}

static int read_full(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    while (n > 0) {
        ssize_t r = read(fd, b, n);
        if (r <= 0)
            return -1;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t r = write(fd, b, n);
        if (r <= 0)
            return -1;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

static void set_nodelay(int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
        bench_die("setsockopt TCP_NODELAY");
}

static void *raw_server_main(void *p)
{
    struct bench_raw *r = p;
    uint8_t *req = xcalloc(1, r->req_size);
    uint8_t *rep = xcalloc(1, r->rep_size);
    /* Until the client closes. */
    while (read_full(r->sfd, req, r->req_size) == 0 &&
           write_full(r->sfd, rep, r->rep_size) == 0)
        ;
    free(req);
    free(rep);
    return NULL;
}

struct bench_raw *bench_raw_start(size_t req_size, size_t rep_size)
{
    struct bench_raw *r = xcalloc(1, sizeof(*r));
    r->req_size = req_size;
    r->rep_size = rep_size;
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(a);
    r->lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (r->lfd < 0 || bind(r->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(r->lfd, 1) != 0 ||
        getsockname(r->lfd, (struct sockaddr *)&a, &alen) != 0)
        bench_die("raw listen");
    r->cfd = socket(AF_INET, SOCK_STREAM, 0);
    if (r->cfd < 0 || connect(r->cfd, (struct sockaddr *)&a, sizeof(a)) != 0)
        bench_die("raw connect");
    r->sfd = accept(r->lfd, NULL, NULL);
    if (r->sfd < 0)
        bench_die("raw accept");
    set_nodelay(r->cfd);
    set_nodelay(r->sfd);
    if (pthread_create(&r->thread, NULL, raw_server_main, r) != 0)
        bench_die("pthread_create");
    return r;
}

void bench_raw_rtts(struct bench_raw *r, uint64_t *ns, size_t n)
{
    uint8_t req[4096], rep[4096];
    if (r->req_size > sizeof(req) || r->rep_size > sizeof(rep))
        bench_die("raw message size");
    memset(req, 0x5a, r->req_size);
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = clock_now_ns();
        if (write_full(r->cfd, req, r->req_size) != 0 ||
            read_full(r->cfd, rep, r->rep_size) != 0)
            bench_die("raw ping-pong");
        ns[i] = clock_now_ns() - t0;
    }
}

void bench_raw_stop(struct bench_raw *r)
{
    shutdown(r->cfd, SHUT_RDWR);
    pthread_join(r->thread, NULL);
    close(r->cfd);
    close(r->sfd);
    close(r->lfd);
    free(r);
}

/* --- raw throughput: n independent ping-pong pairs, for reference ------- */

struct raw_caller {
    struct bench_raw *r;
    atomic_bool *stop;
    uint64_t calls; /* read racily by the driver: relaxed atomics */
    pthread_t thread;
};

static void *raw_caller_main(void *p)
{
    struct raw_caller *c = p;
    uint8_t req[4096], rep[4096];
    memset(req, 0x5a, c->r->req_size);
    while (!atomic_load_explicit(c->stop, memory_order_relaxed)) {
        if (write_full(c->r->cfd, req, c->r->req_size) != 0 ||
            read_full(c->r->cfd, rep, c->r->rep_size) != 0)
            bench_die("raw ping-pong");
        __atomic_add_fetch(&c->calls, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

double bench_raw_throughput(size_t req_size, size_t rep_size, int ncallers,
                            uint64_t duration_ms)
{
    atomic_bool stop = false;
    struct raw_caller *c = xcalloc((size_t)ncallers, sizeof(*c));
    for (int i = 0; i < ncallers; i++) {
        c[i].r = bench_raw_start(req_size, rep_size);
        c[i].stop = &stop;
        if (pthread_create(&c[i].thread, NULL, raw_caller_main, &c[i]))
            bench_die("pthread_create");
    }
    uint64_t before = 0, after = 0;
    for (int i = 0; i < ncallers; i++)
        before += __atomic_load_n(&c[i].calls, __ATOMIC_RELAXED);
    uint64_t t0 = clock_now_ns();
    clock_sleep_ms(duration_ms);
    for (int i = 0; i < ncallers; i++)
        after += __atomic_load_n(&c[i].calls, __ATOMIC_RELAXED);
    double secs = (double)(clock_now_ns() - t0) / 1e9;
    atomic_store(&stop, true);
    for (int i = 0; i < ncallers; i++) {
        pthread_join(c[i].thread, NULL);
        bench_raw_stop(c[i].r);
    }
    free(c);
    return (double)(after - before) / secs;
}
