/* labnet.h - labrpc's simulated-fault network, over real loopback TCP.
 *
 * The graded tests talk through ordinary rpc_end/rpc_server objects; this
 * module installs an rpc_filter on every end it makes, and reproduces
 * labrpc's fault model (graded-tests.md §2.2) in that filter:
 *   - ends start disabled and unconnected; enable/connect as in labrpc;
 *   - a call on a disabled/unconnected end, or to a deleted server, runs no
 *     handler and fails after 0-99 ms (0-6999 ms with long delays);
 *   - a call returns only when labrpc's would: no RPC-layer timeout (a
 *     handler that never returns hangs its caller, as in Go);
 *   - reliable: 0-999 us delay per request, so concurrent requests reach
 *     handlers out of order, as labrpc's per-request goroutines do;
 *   - unreliable: 0-26 ms delay, then 10% of requests dropped, and 10% of
 *     replies dropped after the handler ran;
 *   - long reordering: 2/3 of replies delayed 200-2199 ms;
 *   - a reply is never delivered if, when it arrives (or at any 10 ms poll
 *     while waiting), the end is disabled or the server was deleted or
 *     replaced: a killed server's reply can't leak into a later test step;
 *   - counts: per-server dispatched requests, total calls sent, total
 *     request bytes plus delivered reply bytes.
 * Server names and end names are strings, as in labrpc.
 *
 * Thread-safe (one mutex). Randomness comes from the seed given to
 * labnet_new, one stream per end, so a run's fault choices follow the seed
 * (thread interleavings still vary). */
#ifndef LABS_NET_LABNET_H_
#define LABS_NET_LABNET_H_

#include <stdbool.h>
#include <stdint.h>

#include "rpc/rpc.h"

struct labnet;

/* Reliable, no long delays, no long reordering. Returns owned. */
struct labnet *labnet_new(uint64_t seed);
/* Shut down every end (calls in progress fail at once), free all ends and
 * the network. Servers are the caller's: close them after this. Threads
 * sleeping in an injected delay are woken and waited for; any other
 * caller must have returned from rpc_call first (raft_kill and the
 * services' kill functions join their threads), since rpc_end_free needs
 * an idle end. */
void labnet_free(struct labnet *net);

void labnet_reliable(struct labnet *net, bool reliable);
void labnet_long_reordering(struct labnet *net, bool on);
void labnet_long_delays(struct labnet *net, bool on);

/* A new end, disabled and unconnected; owned by the network (freed by
 * labnet_free). Aborts if the name exists among live ends. */
struct rpc_end *labnet_make_end(struct labnet *net, const char *endname);
/* Shut down an end: its calls in progress fail at once, later calls fail
 * with ERR_CLOSED, and the name can be made again. Waits for threads in
 * its injected delays; its memory is reclaimed by labnet_free(), so a
 * caller still holding the pointer never touches freed memory. */
void labnet_delete_end(struct labnet *net, const char *endname);

/* Register a listening server under a name (borrowed; replaces any server
 * of that name, which then counts as killed). Ends connected to the name
 * are pointed at its address. */
void labnet_add_server(struct labnet *net, const char *servername,
                       struct rpc_server *srv);
/* Forget the server: it counts as killed (no new calls reach it, replies
 * of calls in progress are suppressed). The caller then closes it. */
void labnet_delete_server(struct labnet *net, const char *servername);

/* Connect an end to a server name (once per end, as in labrpc). */
void labnet_connect(struct labnet *net, const char *endname,
                    const char *servername);
void labnet_enable(struct labnet *net, const char *endname, bool enabled);

/* Requests dispatched to the named server's current instance (0 if none). */
uint64_t labnet_count(struct labnet *net, const char *servername);
/* Calls sent through any end (including failed and dropped ones). */
uint64_t labnet_total_count(struct labnet *net);
/* Request bytes of every call sent plus bytes of delivered replies. */
uint64_t labnet_total_bytes(struct labnet *net);

#endif /* LABS_NET_LABNET_H_ */
