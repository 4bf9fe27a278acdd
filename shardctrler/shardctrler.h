/* shardctrler.h - lab 5A: the shard controller, a Raft-replicated service
 * that keeps the numbered history of shard configurations (which replica
 * group serves each of SC_NSHARDS shards, and each group's servers), and
 * its clerk.
 *
 * Service "ShardCtrler" (hosted next to "Raft" on one rpc_server):
 *   Join   {g: [[gid, [server, ...]], ...], c: client, s: seq} -> {e}
 *   Leave  {g: [gid, ...], c, s}                                -> {e}
 *   Move   {sh: shard, g: gid, c, s}                            -> {e}
 *   Query  {n: num}                          -> {e, cf: config (sc_config_pack)}
 *   Status {} -> {me, l: leader?, t: term, a: last applied, n: latest num}
 * e is an err_name() string: "OK", "ErrWrongLeader" (6.5840's WrongLeader:
 * try another server) or "EINVAL" (Join of gid <= 0, Move of a bad shard
 * or unknown gid; the request took effect as a no-op).
 *
 * Semantics (6.5840 handout): configuration 0 has no groups and every
 * shard on gid 0. Join adds groups (a gid may re-join after leaving; a
 * gid already present gets the new server list), Leave removes groups,
 * Move assigns one shard; each makes the next configuration, rebalanced
 * deterministically with minimal movement by sc_config.h (Move does not
 * rebalance). Query(-1), or a number beyond the latest, returns the latest
 * configuration and reflects every Join/Leave/Move completed before it
 * (it goes through the Raft log); a Query for a configuration this replica
 * already has is answered at once, by any replica, since configurations
 * never change once made. Join/Leave/Move are deduplicated by (client,
 * seq) through the rsm layer (raft/rsm.h), which also provides
 * submit-and-wait, the applier, snapshots (the whole history) and
 * restore.
 *
 * Threads and locks: the rsm applier applies commands; one mutex per
 * server guards the history; it is never held across a call into rsm or
 * Raft. */
#ifndef SHARDCTRLER_SHARDCTRLER_H_
#define SHARDCTRLER_SHARDCTRLER_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/persister.h"
#include "raft/raft.h"
#include "rpc/rpc.h"
#include "shardctrler/sc_config.h"

/* ---- server ---------------------------------------------------------- */
struct sc_server;

/* Start controller replica `me` of n. peers[i] is the end to replica i's
 * Raft (array copied, ends borrowed: they must outlive sc_free; peers[me]
 * may be NULL). The persister is borrowed. maxraftstate > 0 snapshots the
 * history when Raft's state nears that many bytes (the 6.5840 tests run
 * without: -1). Returns owned; call sc_server_register to serve. */
struct sc_server *sc_server_start(struct rpc_end **peers, int n, int me,
                                  struct persister *persister,
                                  int64_t maxraftstate);
/* Host "ShardCtrler" and "Raft" on srv (borrowed; close it before
 * sc_free). */
int sc_server_register(struct sc_server *sc, struct rpc_server *srv);
/* The replica's Raft (borrowed): the testers' Leader(). */
struct raft *sc_server_raft(struct sc_server *sc);
/* Stop: handlers waiting for the log return ErrWrongLeader, Raft stops.
 * Safe to call twice. */
void sc_kill(struct sc_server *sc);
/* Free a killed server (kills it first if needed). */
void sc_free(struct sc_server *sc);

struct sc_server_stats {
    int64_t last_applied;
    int64_t latest;  /* number of the latest configuration */
    size_t nconfigs; /* configurations kept (latest + 1) */
};
void sc_server_get_stats(struct sc_server *sc, struct sc_server_stats *out);
/* Deep copy of configuration num as this replica knows it (-1 or beyond
 * the latest: its latest), without going through the log (tests, tools). */
void sc_server_config(struct sc_server *sc, int64_t num,
                      struct sc_config *out);

/* ---- clerk --------------------------------------------------------------- */
struct sc_clerk;

/* servers[0..n) are ends to the controller replicas (array copied, ends
 * borrowed). client_id 0 picks a random id. Returns owned. A clerk is used
 * by one thread at a time. */
struct sc_clerk *sc_clerk_new(struct rpc_end **servers, int n,
                              uint64_t client_id);
void sc_clerk_free(struct sc_clerk *ck);

/* As the 6.5840 clerk: try every server in order until one answers as
 * leader, sleeping 100 ms after each full round; forever, unless every end
 * is shut down (ERR_CLOSED) or an op timeout is set (ERR_TIMEOUT).
 * Join/Leave/Move also return ERR_INVAL from the server. */
int sc_clerk_query(struct sc_clerk *ck, int64_t num, struct sc_config *out);
int sc_clerk_join(struct sc_clerk *ck, const struct sc_group *groups, int n);
int sc_clerk_leave(struct sc_clerk *ck, const int *gids, int n);
int sc_clerk_move(struct sc_clerk *ck, int shard, int gid);
/* One round over the servers, no sleeping (for pollers that have their
 * own period): 0 and *out set, ERR_TIMEOUT if no server answered as
 * leader, ERR_CLOSED if every end is shut down. */
int sc_clerk_query_once(struct sc_clerk *ck, int64_t num,
                        struct sc_config *out);
/* Give up an operation after ms (0: retry forever, the default). */
void sc_clerk_set_op_timeout(struct sc_clerk *ck, uint64_t ms);

#endif /* SHARDCTRLER_SHARDCTRLER_H_ */
