/* serve.h - the end of every daemon's main(): listen, say so, serve until
 * SIGINT or SIGTERM, say so again. The test scripts look for the "shutting
 * down" line to tell a clean stop from a crash. */
#ifndef RPC_SERVE_H_
#define RPC_SERVE_H_

#include <signal.h>

#include "rpc/rpc.h"

/* Raise the open-file limit (daemon_raise_fd_limit) and bind addr
 * without accepting yet, so a taken port is reported (with its errno
 * text) before the daemon touches its data directory. 0 or the error
 * (printed). rpc_serve_until_signal then starts accepting. */
int rpc_serve_bind(struct rpc_server *srv, const char *addr, const char *who);

/* Listen on addr (or the address bound by rpc_serve_bind), print "<who>: serving on <address><extra>" to stderr,
 * wait for one of sigs (blocked beforehand with daemon_block_signals(),
 * before any thread started), and print "<who>: <signal>, shutting down".
 * Returns 0, or the listen error (printed). The caller then kills its
 * service and closes srv. */
int rpc_serve_until_signal(struct rpc_server *srv, const char *addr,
                           const sigset_t *sigs, const char *who,
                           const char *extra);

#endif /* RPC_SERVE_H_ */
