/* addr.c - addresses ("host:port", "[v6]:port", "unix:/path") and socket
 * set-up: listening sockets (SO_REUSEADDR, non-blocking, CLOEXEC),
 * connects bounded by a deadline, TCP_NODELAY and socket timeouts. All
 * system calls retry on EINTR. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "rpc/rpc_internal.h"

int rpc_addr_parse(const char *s, bool listening, struct rpc_addr *a)
{
    memset(a, 0, sizeof(*a));
    if (!s)
        return ERR_ADDR;
    if (strncmp(s, "unix:", 5) == 0) {
        const char *path = s + 5;
        size_t n = strlen(path);
        if (n == 0 || n >= sizeof(a->path))
            return ERR_ADDR;
        a->family = AF_UNIX;
        memcpy(a->path, path, n + 1);
        return 0;
    }
    const char *colon = strrchr(s, ':');
    if (!colon)
        return ERR_ADDR;
    const char *host = s;
    size_t hlen = (size_t)(colon - s);
    a->family = AF_INET;
    if (hlen > 0 && s[0] == '[') {
        if (hlen < 3 || s[hlen - 1] != ']')
            return ERR_ADDR;
        host = s + 1;
        hlen -= 2;
        a->family = AF_INET6;
    } else if (memchr(s, ':', hlen)) {
        return ERR_ADDR; /* bare IPv6 needs brackets */
    }
    if (hlen >= sizeof(a->host))
        return ERR_ADDR;
    if (hlen == 0 && !listening)
        return ERR_ADDR;
    memcpy(a->host, host, hlen);
    a->host[hlen] = '\0';
    const char *port = colon + 1;
    size_t plen = strlen(port);
    if (plen == 0 || plen > 5 || strspn(port, "0123456789") != plen)
        return ERR_ADDR;
    unsigned long pn = strtoul(port, NULL, 10);
    if (pn > 65535 || (pn == 0 && !listening))
        return ERR_ADDR;
    snprintf(a->port, sizeof(a->port), "%u", (unsigned)(pn & 0xffff));
    return 0;
}

static int set_cloexec_nonblock(int fd, bool nonblock)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    fl = nonblock ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    return fcntl(fd, F_SETFL, fl);
}

void rpc_sock_set_nodelay(int fd)
{
    int one = 1;
    /* Fails harmlessly on unix sockets. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void rpc_sock_set_timeouts(int fd, uint64_t rcv_ms, uint64_t snd_ms)
{
    struct timeval tv;
    if (rcv_ms) {
        tv.tv_sec = (time_t)(rcv_ms / 1000);
        tv.tv_usec = (suseconds_t)(rcv_ms % 1000) * 1000;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    if (snd_ms) {
        tv.tv_sec = (time_t)(snd_ms / 1000);
        tv.tv_usec = (suseconds_t)(snd_ms % 1000) * 1000;
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    }
}

static int resolve(const struct rpc_addr *a, bool passive,
                   struct addrinfo **res)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = a->family == AF_INET6 ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    const char *host = a->host[0] ? a->host : NULL;
    if (!host && passive)
        hints.ai_family = AF_INET; /* ":port" listens on 0.0.0.0 */
    return getaddrinfo(host, a->port, &hints, res) == 0 ? 0 : ERR_ADDR;
}

static void format_bound(const struct sockaddr *sa, char *out, size_t n)
{
    char host[NI_MAXHOST], port[NI_MAXSERV];
    socklen_t len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in);
    if (getnameinfo(sa, len, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(out, n, "?");
        return;
    }
    if (sa->sa_family == AF_INET6)
        snprintf(out, n, "[%s]:%s", host, port);
    else
        snprintf(out, n, "%s:%s", host, port);
}

/* close(fd) keeping the errno of the failure being reported. */
static int close_keep_errno(int fd, int rc)
{
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

static int listen_unix(const struct rpc_addr *a, int *fd_out)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, a->path, strlen(a->path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return ERR_IO;
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
        if (errno != EADDRINUSE)
            return close_keep_errno(fd, ERR_IO);
        /* A socket file left by a dead process: unlink it only if it is a
         * socket and nobody answers on it. */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct stat stt;
        bool stale = probe >= 0 && stat(a->path, &stt) == 0 &&
                     S_ISSOCK(stt.st_mode) &&
                     connect(probe, (struct sockaddr *)&sun, sizeof(sun)) != 0 &&
                     errno == ECONNREFUSED;
        if (probe >= 0)
            close(probe);
        if (!stale) {
            errno = EADDRINUSE;
            return close_keep_errno(fd, ERR_IO);
        }
        unlink(a->path);
        if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
            return close_keep_errno(fd, ERR_IO);
    }
    if (listen(fd, SOMAXCONN) != 0) {
        int e = errno;
        close(fd);
        unlink(a->path);
        errno = e;
        return ERR_IO;
    }
    *fd_out = fd;
    return 0;
}

int rpc_addr_listen(const struct rpc_addr *a, int *fd_out, char *bound,
                    size_t bound_len)
{
    if (a->family == AF_UNIX) {
        int rc = listen_unix(a, fd_out);
        if (rc == 0)
            snprintf(bound, bound_len, "unix:%s", a->path);
        return rc;
    }
    struct addrinfo *res;
    if (resolve(a, true, &res) != 0)
        return ERR_ADDR;
    int rc = ERR_IO, err = EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family,
                        ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
            listen(fd, SOMAXCONN) != 0) {
            err = errno;
            close(fd);
            continue;
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
            err = errno;
            close(fd);
            continue;
        }
        format_bound((struct sockaddr *)&ss, bound, bound_len);
        *fd_out = fd;
        rc = 0;
        break;
    }
    freeaddrinfo(res);
    if (rc != 0)
        errno = err; /* the cause, for the caller's message */
    return rc;
}

/* Wait for a non-blocking connect to finish, in slices so shutdown can
 * interrupt it. */
static int wait_connect(int fd, uint64_t deadline_ns, const bool *abort_flag)
{
    for (;;) {
        if (abort_flag && RPC_LOAD(abort_flag))
            return ERR_CLOSED;
        uint64_t now = clock_now_ns();
        if (now >= deadline_ns)
            return ERR_UNREACHABLE;
        uint64_t left_ms = (deadline_ns - now + 999999) / 1000000;
        struct pollfd pfd = {fd, POLLOUT, 0};
        int n = poll(&pfd, 1, (int)(left_ms < RPC_TICK_MS ? left_ms
                                                           : RPC_TICK_MS));
        if (n < 0 && errno != EINTR)
            return ERR_UNREACHABLE;
        if (n > 0) {
            int err = 0;
            socklen_t el = sizeof(err);
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 ||
                err != 0)
                return ERR_UNREACHABLE;
            return 0;
        }
    }
}

static int connect_one(int family, const struct sockaddr *sa, socklen_t sl,
                       uint64_t deadline_ns, const bool *abort_flag, int *out)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return ERR_UNREACHABLE;
    int rc = 0;
    while (connect(fd, sa, sl) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EINPROGRESS || errno == EAGAIN)
            rc = wait_connect(fd, deadline_ns, abort_flag);
        else
            rc = ERR_UNREACHABLE;
        break;
    }
    if (rc == 0 && set_cloexec_nonblock(fd, false) != 0)
        rc = ERR_UNREACHABLE;
    if (rc != 0) {
        close(fd);
        return rc;
    }
    if (family != AF_UNIX)
        rpc_sock_set_nodelay(fd);
    *out = fd;
    return 0;
}

int rpc_addr_connect(const struct rpc_addr *a, uint64_t deadline_ns,
                     const bool *abort_flag, int *fd)
{
    if (a->family == AF_UNIX) {
        struct sockaddr_un sun;
        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        memcpy(sun.sun_path, a->path, strlen(a->path) + 1);
        return connect_one(AF_UNIX, (struct sockaddr *)&sun, sizeof(sun),
                           deadline_ns, abort_flag, fd);
    }
    struct addrinfo *res;
    if (resolve(a, false, &res) != 0)
        return ERR_UNREACHABLE;
    int rc = ERR_UNREACHABLE;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        rc = connect_one(ai->ai_family, ai->ai_addr, ai->ai_addrlen,
                         deadline_ns, abort_flag, fd);
        if (rc == 0 || rc == ERR_CLOSED)
            break;
    }
    freeaddrinfo(res);
    if (rc != 0)
        log_debug("RPC", -1, "connect %s:%s failed: %s", a->host, a->port,
                  err_name(rc));
    return rc;
}
