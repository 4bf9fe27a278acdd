/* server.c - the server object: services, listening, the acceptor thread,
 * connection cap and admission settings, counters and the orderly close
 * (kill connections, join every thread, free everything). */
#include <errno.h>
#include <poll.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "rpc/rpc_internal.h"

struct rpc_server *rpc_server_new(void)
{
    struct rpc_server *s = xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->svc_mu, NULL);
    rpc_limits_for(&s->lim, RPC_DEFAULT_MAX_MSG);
    s->max_conns = RPC_DEFAULT_MAX_CONNS;
    s->lfd = -1;
    s->wake_fd = -1;
    s->jobq_tail = &s->jobq_head;
    clock_cond_init(&s->mon_cond);
    clock_cond_init(&s->inflight_cond);
    return s;
}

int rpc_server_add_service(struct rpc_server *s, const char *service,
                           void *svc, const struct rpc_method *methods,
                           size_t n_methods)
{
    size_t len = strlen(service);
    int rc = 0;
    pthread_mutex_lock(&s->svc_mu);
    size_t n = RPC_LOAD(&s->n_services);
    for (size_t i = 0; i < n; i++) {
        if (s->services[i].name_len == len &&
            memcmp(s->services[i].name, service, len) == 0) {
            rc = ERR_EXISTS;
            goto out;
        }
    }
    if (n == RPC_MAX_SERVICES) {
        rc = ERR_INVAL;
        goto out;
    }
    struct rpc_service *sv = &s->services[n];
    sv->name = xstrdup(service);
    sv->name_len = len;
    sv->svc = svc;
    sv->methods = methods;
    sv->n = n_methods;
    sv->slow = xcalloc(n_methods ? n_methods : 1, sizeof(*sv->slow));
    /* Publish: lookups read the array without a lock. */
    RPC_STORE(&s->n_services, n + 1);
out:
    pthread_mutex_unlock(&s->svc_mu);
    return rc;
}

const struct rpc_method *rpc_server_lookup(struct rpc_server *s,
                                           const uint8_t *name, size_t len,
                                           void **svc, uint64_t **slow)
{
    const uint8_t *dot = memrchr(name, '.', len);
    if (!dot)
        return NULL;
    size_t slen = (size_t)(dot - name);
    const char *mname = (const char *)dot + 1;
    size_t mlen = len - slen - 1;
    size_t n = RPC_LOAD(&s->n_services);
    for (size_t i = 0; i < n; i++) {
        const struct rpc_service *sv = &s->services[i];
        if (sv->name_len != slen || memcmp(sv->name, name, slen) != 0)
            continue;
        for (size_t k = 0; k < sv->n; k++) {
            const struct rpc_method *m = &sv->methods[k];
            if (strlen(m->name) == mlen && memcmp(m->name, mname, mlen) == 0) {
                *svc = sv->svc;
                *slow = &sv->slow[k];
                return m;
            }
        }
        return NULL;
    }
    return NULL;
}

void rpc_server_set_max_msg(struct rpc_server *s, size_t bytes)
{
    if (bytes < 64)
        bytes = 64; /* room for an envelope */
    pthread_mutex_lock(&s->mu);
    rpc_limits_for(&s->lim, bytes);
    pthread_mutex_unlock(&s->mu);
}

void rpc_server_set_max_conns(struct rpc_server *s, size_t n)
{
    pthread_mutex_lock(&s->mu);
    s->max_conns = n ? n : 1;
    pthread_mutex_unlock(&s->mu);
}

void rpc_admission_daemon_defaults(struct rpc_admission *a)
{
    a->idle_ms = 300000;
    a->read_ms = 60000;
    a->max_buffered = 256u << 20;
    a->max_inflight = 8;
    a->max_handlers = 32;
}

void rpc_server_set_admission(struct rpc_server *s,
                              const struct rpc_admission *a)
{
    pthread_mutex_lock(&s->mu);
    s->adm = *a;
    pthread_mutex_unlock(&s->mu);
}

uint64_t rpc_server_evicted(const struct rpc_server *s)
{
    return RPC_LOAD(&s->evicted);
}

bool rpc_budget_charge(struct rpc_server *s, size_t n)
{
    uint64_t max = s->adm.max_buffered;
    if (max == 0 || n == 0) {
        RPC_ADD(&s->buffered, n);
        return true;
    }
    uint64_t cur = RPC_LOAD(&s->buffered);
    do {
        if (cur + n > max)
            return false;
    } while (!__atomic_compare_exchange_n(&s->buffered, &cur, cur + n, true,
                                          __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    return true;
}

void rpc_budget_force(struct rpc_server *s, size_t n)
{
    RPC_ADD(&s->buffered, n);
}

void rpc_budget_release(struct rpc_server *s, size_t n)
{
    __atomic_sub_fetch(&s->buffered, n, __ATOMIC_RELAXED);
}

void rpc_inflight_done_locked(struct rpc_server *s, struct rpc_sconn *c)
{
    c->inflight--;
    s->n_inflight--;
    if (c->read_wait)
        pthread_cond_signal(&c->cond);
    if (s->handler_waiters)
        pthread_cond_broadcast(&s->inflight_cond);
}

const char *rpc_server_addr(const struct rpc_server *s) { return s->addr; }

uint64_t rpc_server_dispatched(const struct rpc_server *s)
{
    return RPC_LOAD(&s->dispatched);
}

/* Log an acceptor failure at most once per RPC_ACCEPT_LOG_NS: a flood of
 * connections (or EMFILE) must not turn into a flood of log lines. */
static void accept_log(struct rpc_server *s, const char *what)
{
    uint64_t now = clock_now_ns();
    if (s->accept_log_ns && now - s->accept_log_ns < RPC_ACCEPT_LOG_NS) {
        s->accept_quiet++;
        return;
    }
    if (s->accept_quiet)
        log_warn("RPC", -1, "%s: %u similar accept events not logged",
                 s->addr, s->accept_quiet);
    log_warn("RPC", -1, "%s: %s", s->addr, what);
    s->accept_log_ns = now;
    s->accept_quiet = 0;
}

/* Close the connection that has gone longest without a complete request
 * and has none running (its reader sees EOF and frees it), to make room
 * for a new one. srv->mu held. False if every connection is busy. */
static bool evict_idlest_locked(struct rpc_server *s)
{
    struct rpc_sconn *victim = NULL;
    uint64_t oldest = UINT64_MAX;
    for (struct rpc_sconn *c = s->conns; c; c = c->next) {
        uint64_t t = RPC_LOAD(&c->last_ns);
        if (c->inflight == 0 && !rpc_stream_is_dead(&c->st) && t < oldest) {
            oldest = t;
            victim = c;
        }
    }
    if (!victim)
        return false;
    rpc_stream_kill(&victim->st);
    RPC_ADD(&s->evicted, 1);
    return true;
}

static void *acceptor_main(void *arg)
{
    struct rpc_server *s = arg;
    bool is_unix = s->unix_path[0] != '\0';
    for (;;) {
        struct pollfd pfd[2] = {{s->lfd, POLLIN, 0}, {s->wake_fd, POLLIN, 0}};
        int n = poll(pfd, 2, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error("RPC", -1, "acceptor poll: %s", strerror(errno));
            break;
        }
        if (pfd[1].revents)
            break; /* rpc_server_close */
        if (!(pfd[0].revents & POLLIN))
            continue;
        int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM) {
                /* The pending connection stays queued: free a descriptor
                 * if an idle connection holds one, else back off instead
                 * of spinning on it. */
                int e = errno;
                pthread_mutex_lock(&s->mu);
                bool freed = !s->closing && s->adm.idle_ms &&
                             evict_idlest_locked(s);
                pthread_mutex_unlock(&s->mu);
                accept_log(s, strerror(e));
                clock_sleep_ms(freed ? 1 : 10);
            }
            continue;
        }
        if (!is_unix)
            rpc_sock_set_nodelay(fd);
        /* Server sends wake up every second to check their stall bound;
         * receives too when there are deadlines to check. */
        bool timed = s->adm.idle_ms || s->adm.read_ms;
        rpc_sock_set_timeouts(fd, timed ? RPC_ADMIT_TICK_MS : 0, 1000);
        pthread_mutex_lock(&s->mu);
        /* With admission control on, a new connection replaces the
         * idlest one (which leaves n_conns when its reader exits). */
        size_t hard_cap = s->max_conns;
        if (s->adm.idle_ms && !s->closing && s->n_conns >= s->max_conns) {
            evict_idlest_locked(s);
            hard_cap += s->max_conns / 8;
        }
        if (s->closing || s->n_conns >= hard_cap) {
            /* Every connection busy (or the evicted ones not gone yet
             * and already 1/8 over): refuse. */
            pthread_mutex_unlock(&s->mu);
            accept_log(s, "refusing connection: too many connections");
            close(fd);
            continue;
        }
        struct rpc_sconn *c = rpc_sconn_new_locked(s, fd);
        pthread_mutex_unlock(&s->mu);
        rpc_pool_submit(s, &c->read_job);
    }
    return NULL;
}

/* Leave RPC_FD_RESERVE descriptors of the soft limit to the program: a
 * server full of connections must still be able to open its files. */
static void cap_conns_to_fd_limit(struct rpc_server *s)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return;
    size_t lim = rl.rlim_cur > 2 * RPC_FD_RESERVE
                     ? (size_t)rl.rlim_cur - RPC_FD_RESERVE
                     : (size_t)rl.rlim_cur / 2;
    if (s->max_conns > lim) {
        log_info("RPC", -1, "connection cap %zu lowered to %zu (open file "
                 "limit %llu)", s->max_conns, lim,
                 (unsigned long long)rl.rlim_cur);
        s->max_conns = lim ? lim : 1;
    }
}

int rpc_server_bind(struct rpc_server *s, const char *addr)
{
    if (s->accepting || s->lfd >= 0)
        return ERR_INVAL;
    struct rpc_addr a;
    if (rpc_addr_parse(addr, true, &a) < 0)
        return ERR_ADDR;
    int fd;
    char bound[RPC_ADDR_MAX];
    int rc = rpc_addr_listen(&a, &fd, bound, sizeof(bound));
    if (rc < 0)
        return rc;
    int wfd = eventfd(0, EFD_CLOEXEC);
    if (wfd < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return ERR_IO;
    }
    s->lfd = fd;
    s->wake_fd = wfd;
    memcpy(s->addr, bound, sizeof(bound));
    if (a.family == AF_UNIX)
        memcpy(s->unix_path, a.path, sizeof(a.path));
    return 0;
}

int rpc_server_listen(struct rpc_server *s, const char *addr)
{
    if (s->accepting)
        return ERR_INVAL;
    if (s->lfd < 0) {
        int rc = rpc_server_bind(s, addr);
        if (rc < 0)
            return rc;
    }
    pthread_mutex_lock(&s->mu);
    cap_conns_to_fd_limit(s);
    pthread_mutex_unlock(&s->mu);
    if (pthread_create(&s->acceptor, NULL, acceptor_main, s) != 0) {
        close(s->lfd);
        close(s->wake_fd);
        s->lfd = s->wake_fd = -1;
        s->addr[0] = '\0';
        if (s->unix_path[0])
            unlink(s->unix_path);
        s->unix_path[0] = '\0';
        return ERR_IO;
    }
    s->accepting = true;
    if (pthread_create(&s->monitor, NULL, rpc_monitor_main, s) == 0)
        s->monitor_started = true;
    else
        log_error("RPC", -1, "cannot start the monitor thread");
    log_debug("RPC", -1, "listening on %s", s->addr);
    return 0;
}

void rpc_server_close(struct rpc_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->closing = true;
    pthread_cond_broadcast(&s->mon_cond);
    pthread_mutex_unlock(&s->mu);
    if (s->monitor_started)
        pthread_join(s->monitor, NULL);

    if (s->accepting) {
        uint64_t one = 1;
        ssize_t w = write(s->wake_fd, &one, sizeof(one));
        (void)w;
        pthread_join(s->acceptor, NULL);
        s->accepting = false;
    }
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    if (s->unix_path[0])
        unlink(s->unix_path);

    /* Wake every reader (EOF) and every blocked writer (EPIPE). */
    pthread_mutex_lock(&s->mu);
    for (struct rpc_sconn *c = s->conns; c; c = c->next) {
        rpc_stream_kill(&c->st);
        pthread_cond_broadcast(&c->cond);
    }
    pthread_cond_broadcast(&s->inflight_cond);
    pthread_mutex_unlock(&s->mu);

    /* Waits for running handlers; their connections go with them. */
    rpc_pool_join_all(s);

    if (s->conns || s->n_conns)
        log_error("RPC", -1, "server close: %zu connections leaked",
                  s->n_conns);
    size_t n = RPC_LOAD(&s->n_services);
    for (size_t i = 0; i < n; i++) {
        free(s->services[i].name);
        free(s->services[i].slow);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->svc_mu);
    pthread_cond_destroy(&s->mon_cond);
    pthread_cond_destroy(&s->inflight_cond);
    rpc_auth_free(s->auth);
    if (RPC_LOAD(&s->buffered) != 0)
        log_error("RPC", -1, "server close: %llu buffered bytes unaccounted",
                  (unsigned long long)RPC_LOAD(&s->buffered));
    free(s);
}
