/* serve.h - the end of every daemon's main(): listen, say so, serve until
 * SIGINT or SIGTERM, say so again. The test scripts look for the "shutting
 * down" line to tell a clean stop from a crash. */
#ifndef RPC_SERVE_H_
#define RPC_SERVE_H_

#include <signal.h>

#include "rpc/rpc.h"

/* Listen on addr, print "<who>: serving on <address><extra>" to stderr,
 * wait for one of sigs (blocked beforehand with daemon_block_signals(),
 * before any thread started), and print "<who>: <signal>, shutting down".
 * Returns 0, or the listen error (printed). The caller then kills its
 * service and closes srv. */
int rpc_serve_until_signal(struct rpc_server *srv, const char *addr,
                           const sigset_t *sigs, const char *who,
                           const char *extra);

#endif /* RPC_SERVE_H_ */
