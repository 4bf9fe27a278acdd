/* stream.c - one connected socket: receive into an rbuf, send through a
 * combining writer, kill with shutdown(2).
 *
 * Combining writer: at most one thread (the flusher) writes to the socket
 * at a time. A sender that finds no flusher writes its own bytes straight
 * from its buffer (no copy: the uncontended path is one send(2)); a sender
 * that finds one appends to wpend and returns, and the flusher sends
 * everything queued before it leaves, so under load many replies go out
 * in one syscall and nobody waits for a lock around a blocking write. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "rpc/rpc_internal.h"

void rpc_stream_init(struct rpc_stream *st, int fd,
                     const struct rpc_limits *lim)
{
    memset(st, 0, sizeof(*st));
    st->fd = fd;
    rpc_rbuf_init(&st->rb, lim);
    pthread_mutex_init(&st->wmu, NULL);
    clock_cond_init(&st->wcond);
    buf_init(&st->wpend);
    buf_init(&st->wspare);
}

void rpc_stream_destroy(struct rpc_stream *st)
{
    if (st->fd >= 0)
        close(st->fd);
    st->fd = -1;
    rpc_rbuf_free(&st->rb);
    buf_free(&st->wpend);
    buf_free(&st->wspare);
    pthread_mutex_destroy(&st->wmu);
    pthread_cond_destroy(&st->wcond);
}

int rpc_stream_fill(struct rpc_stream *st)
{
    size_t avail;
    uint8_t *p = rpc_rbuf_reserve(&st->rb, &avail);
    for (;;) {
        ssize_t n = recv(st->fd, p, avail, 0);
        if (n > 0) {
            rpc_rbuf_commit(&st->rb, (size_t)n);
            return (int)(n > 0x7fffffff ? 0x7fffffff : n);
        }
        if (n == 0)
            return ERR_IO; /* EOF (or killed) */
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return ERR_TIMEOUT;
        return ERR_IO;
    }
}

static int send_all(int fd, const uint8_t *p, size_t n,
                    const struct rpc_send_ctl *ctl)
{
    uint64_t progress = 0; /* time of last progress, set lazily */
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            progress = 0;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* SO_SNDTIMEO expired: a chance to check our bounds. */
            uint64_t now = clock_now_ns();
            if (!progress)
                progress = now;
            if (ctl->abort_flag && RPC_LOAD(ctl->abort_flag))
                return ERR_CLOSED;
            if (ctl->deadline_ns && now >= ctl->deadline_ns)
                return ERR_TIMEOUT;
            if (now - progress >= ctl->stall_ns)
                return ERR_TIMEOUT;
            continue;
        }
        return ERR_IO;
    }
    return 0;
}

int rpc_stream_send(struct rpc_stream *st, const void *p, size_t n,
                    const struct rpc_send_ctl *ctl)
{
    pthread_mutex_lock(&st->wmu);
    if (st->wdead) {
        pthread_mutex_unlock(&st->wmu);
        return ERR_IO;
    }
    if (st->flushing) {
        /* Bound what piles up behind a flusher stuck on a slow peer. */
        while (st->flushing && !st->wdead && st->wpend.len >= RPC_WQ_MAX) {
            uint64_t until = clock_now_ns() + RPC_TICK_MS * 1000000ull;
            if (ctl->deadline_ns && until > ctl->deadline_ns)
                until = ctl->deadline_ns;
            clock_cond_wait_until(&st->wcond, &st->wmu, until);
            if ((ctl->deadline_ns && clock_now_ns() >= ctl->deadline_ns) ||
                (ctl->abort_flag && RPC_LOAD(ctl->abort_flag))) {
                pthread_mutex_unlock(&st->wmu);
                return ERR_TIMEOUT;
            }
        }
        if (st->wdead) {
            pthread_mutex_unlock(&st->wmu);
            return ERR_IO;
        }
        if (st->flushing) {
            buf_append(&st->wpend, p, n);
            pthread_mutex_unlock(&st->wmu);
            return 0; /* the flusher sends it (or the stream dies) */
        }
    }
    st->flushing = true;
    pthread_mutex_unlock(&st->wmu);

    int rc = send_all(st->fd, p, n, ctl);
    pthread_mutex_lock(&st->wmu);
    while (rc == 0 && st->wpend.len > 0) {
        /* Swap so others can keep appending while we write. */
        struct buf tmp = st->wpend;
        st->wpend = st->wspare;
        st->wspare = tmp;
        pthread_mutex_unlock(&st->wmu);
        rc = send_all(st->fd, st->wspare.data, st->wspare.len, ctl);
        buf_clear(&st->wspare);
        if (st->wspare.cap > RPC_WQ_MAX)
            buf_free(&st->wspare);
        pthread_mutex_lock(&st->wmu);
    }
    st->flushing = false;
    if (rc != 0) {
        st->wdead = true;
        buf_free(&st->wpend);
    }
    pthread_cond_broadcast(&st->wcond);
    pthread_mutex_unlock(&st->wmu);
    if (rc != 0)
        rpc_stream_kill(st);
    return rc;
}

void rpc_stream_kill(struct rpc_stream *st)
{
    if (!__atomic_exchange_n(&st->dead, true, __ATOMIC_ACQ_REL))
        shutdown(st->fd, SHUT_RDWR);
}

bool rpc_stream_is_dead(struct rpc_stream *st) { return RPC_LOAD(&st->dead); }
