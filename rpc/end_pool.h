/* end_pool.h - ends to servers named by "host:port", for programs outside
 * the tester: daemons (their Raft peers, the controller, other groups),
 * CLIs and benchmarks. A pool makes one TCP end per address on first use
 * (ends to one address share a connection) and owns them all until
 * rpc_end_pool_free(); every user of its ends (servers, clerks) must be
 * freed first. Thread-safe: one mutex guards the table, held only while
 * looking up or adding an end (rpc_end_new does no I/O). */
#ifndef RPC_END_POOL_H_
#define RPC_END_POOL_H_

#include <stdint.h>

#include "rpc/rpc.h"

struct rpc_end_pool;

/* call_timeout_ms bounds each call on the pool's ends (0: the RPC
 * default). Returns owned. */
struct rpc_end_pool *rpc_end_pool_new(uint64_t call_timeout_ms);
/* The end for addr, owned by the pool; NULL if addr cannot be parsed.
 * ctx is the pool: the signature is shardkv's make_end callback. */
struct rpc_end *rpc_end_pool_get(void *ctx, const char *addr);
/* Ends for a comma-separated address list: ends[i] for the i-th address,
 * NULL at index skip (a server's own; -1: none). Returns the count, or -1
 * if the list is malformed, longer than max, or holds an address that
 * cannot be parsed (a message naming it goes to stderr, prefixed prog). */
int rpc_end_pool_list(struct rpc_end_pool *p, const char *prog,
                      const char *list, struct rpc_end **ends, int max,
                      int skip);
/* A server's Raft peers: rpc_end_pool_list() with skip = me, and also
 * fails (with a message) if me is not an index of the list. On success
 * *self is an owned copy of the me-th address (where to listen by
 * default; free() it). */
int rpc_end_pool_peers(struct rpc_end_pool *p, const char *prog,
                       const char *list, int me, struct rpc_end **ends,
                       int max, char **self);
/* Fail every call in progress or to come (shutdown: so that nothing waits
 * out a call timeout). */
void rpc_end_pool_shutdown(struct rpc_end_pool *p);
void rpc_end_pool_free(struct rpc_end_pool *p);

#endif /* RPC_END_POOL_H_ */
