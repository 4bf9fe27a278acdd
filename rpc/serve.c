/* serve.c - a daemon's listen-and-wait (see serve.h). */
#include "rpc/serve.h"

#include <stdio.h>
#include <string.h>

#include "common/daemon.h"
#include "common/err.h"

int rpc_serve_until_signal(struct rpc_server *srv, const char *addr,
                           const sigset_t *sigs, const char *who,
                           const char *extra)
{
    int rc = rpc_server_listen(srv, addr);
    if (rc != 0) {
        fprintf(stderr, "%s: cannot listen on %s: %s\n", who, addr,
                err_msg(rc));
        return rc;
    }
    fprintf(stderr, "%s: serving on %s%s\n", who, rpc_server_addr(srv),
            extra ? extra : "");
    int sig = daemon_wait_signal(sigs);
    fprintf(stderr, "%s: %s, shutting down\n", who, strsignal(sig));
    return 0;
}
