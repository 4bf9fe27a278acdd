/* serve.c - a daemon's bind, listen-and-wait (see serve.h). */
#include "rpc/serve.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/daemon.h"
#include "common/err.h"

static void listen_error(const char *who, const char *addr, int rc)
{
    fprintf(stderr, "%s: cannot listen on %s: %s\n", who, addr,
            rc == ERR_IO ? strerror(errno) : err_msg(rc));
}

int rpc_serve_bind(struct rpc_server *srv, const char *addr, const char *who)
{
    daemon_raise_fd_limit();
    int rc = rpc_server_bind(srv, addr);
    if (rc != 0)
        listen_error(who, addr, rc);
    return rc;
}

int rpc_serve_until_signal(struct rpc_server *srv, const char *addr,
                           const sigset_t *sigs, const char *who,
                           const char *extra)
{
    daemon_raise_fd_limit();
    int rc = rpc_server_listen(srv, addr);
    if (rc != 0) {
        listen_error(who, addr, rc);
        return rc;
    }
    fprintf(stderr, "%s: serving on %s%s\n", who, rpc_server_addr(srv),
            extra ? extra : "");
    int sig = daemon_wait_signal(sigs);
    fprintf(stderr, "%s: %s, shutting down\n", who, strsignal(sig));
    return 0;
}
