/* shardkv.h - lab 5 (5A: static shards, 5B: migration): a sharded
 * key/value service. Keys are split into SC_NSHARDS shards
 * (sc_key2shard); each replica group (a gid, several
 * servers replicated with Raft) serves the shards the shard controller
 * (shardctrler.h) assigns it, and shards migrate between groups when the
 * configuration changes. Also the clerk.
 *
 * Service "ShardKV" (hosted next to "Raft" on one rpc_server):
 *   Get       {k: key, c: client, s: seq}                  -> {e, v}
 *   PutAppend {k, v, o: "Put"|"Append", c, s}              -> {e}
 *   Install   {g: from gid, n: config num, sh: [shard...],
 *              d: [[k, v, k, v...] per shard], x: dedup}    -> {e}
 *   Status    {} -> {me, g: gid, l: leader?, t: term, a: applied,
 *                   n: config num, st: [state per shard], k: keys}
 * e is an err_name() string: "OK", "ErrNoKey", "ErrWrongGroup" (the
 * group does not serve that shard now: ask the controller), or
 * "ErrWrongLeader"; Install may also answer "ErrNotReady".
 *
 * How a group works (every step is a command in its Raft log, applied by
 * every replica in the same order, through raft/rsm.h):
 *   - The leader polls the controller about every 100 ms for the
 *     configuration after its current one and, when the group has
 *     finished the current one, submits it. Configurations are applied
 *     one at a time, in order.
 *   - Applying configuration n+1 sets each shard's state: SERVING (kept,
 *     or new and previously unassigned: it starts empty), PULLING (new to
 *     us, owned by another group in n: wait for its data), SENDING (ours
 *     in n, another group's in n+1: hold the data until the new owner has
 *     it) or ABSENT. The group moves on to n+2 only when no shard is
 *     PULLING or SENDING.
 *   - Migration is a push: the leader of the old owner sends the shards'
 *     data and its dedup table (rsm_dedup_export) to the new owner's
 *     servers (Install, tagged with n+1). The new owner, if it is at n+1,
 *     applies an install command (data in, dedup merged, SERVING) and
 *     answers OK once it is applied; an owner already past n+1 answers OK
 *     too (it cannot have moved on without the data); one still before
 *     n+1 answers ErrNotReady. On OK the old owner applies a delete
 *     command: the shards' data is dropped (challenge 1: only after the
 *     receiver confirmed, so nothing is lost if either side crashes).
 *     Why push rather than pull: the side that holds the data knows when
 *     it is safe to delete it (the reply to its own RPC), so deletion
 *     needs no second round of "you may delete now" RPCs and no extra
 *     state on the receiver; shards moving both ways cannot deadlock
 *     because neither side waits for the other to be at a later
 *     configuration: a group at configuration n depends only on groups
 *     reaching n, and the group furthest behind never waits for anyone.
 *   - Get/Put/Append are served for a shard only while it is SERVING
 *     (checked when the command is applied, so a command that raced with
 *     a configuration change is rejected with ErrWrongGroup and not
 *     recorded for dedup). Shards unaffected by a reconfiguration, and
 *     shards already received, are served while others still migrate
 *     (challenge 2).
 *   - At-most-once across moves: requests carry (client id, seq); the
 *     dedup table travels with every migration and is merged by the
 *     receiver, so a request applied by the old owner is recognised by the
 *     new one.
 * A shard whose configuration assigns it to no group (every group left)
 * is dropped, as in 6.5840 (gid 0 means "no owner").
 *
 * Threads and locks: the rsm applier applies commands; a poller thread
 * (controller) and a pusher thread (migrations) run on every replica but
 * act only while it leads. One mutex per server guards the shard states,
 * data, configurations and the end cache; it is never held across an RPC,
 * a call into rsm/Raft, or make_end. */
#ifndef SHARDKV_SHARDKV_H_
#define SHARDKV_SHARDKV_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/persister.h"
#include "raft/raft.h"
#include "rpc/rpc.h"
#include "shardctrler/shardctrler.h"

/* How a server or clerk reaches a server named in a configuration (the
 * tests: a labnet end by server name; daemons: a TCP end to "host:port").
 * Returns an end the callee keeps owning (it must outlive the caller's
 * use: skv_free / skv_clerk_free); called at most once per name by each
 * server or clerk, which caches the result. Never called with a lock
 * held. */
typedef struct rpc_end *(*skv_make_end_fn)(void *ctx, const char *name);

/* Poll period for new configurations ("the tests expect that your code
 * polls roughly every 100 milliseconds"). */
#define SKV_POLL_MS 100

/* ---- server ------------------------------------------------------------ */
struct skv_server;

enum skv_shard_state {
    SKV_ABSENT = 0,
    SKV_SERVING = 1,
    SKV_PULLING = 2,
    SKV_SENDING = 3,
};

/* Start replica `me` of group gid (n replicas). peers[i]: end to replica
 * i's Raft (array copied, ends borrowed; peers[me] may be NULL). ctrlers:
 * ends to the controller replicas (copied array, borrowed ends). The
 * persister is borrowed. maxraftstate > 0: snapshot when Raft's state
 * nears it; -1: never. make_end/ctx as above. Every borrowed thing must
 * outlive skv_free. Returns owned; call skv_server_register to serve. */
struct skv_server *skv_server_start(struct rpc_end **peers, int n, int me,
                                    struct persister *persister,
                                    int64_t maxraftstate, int gid,
                                    struct rpc_end **ctrlers, int nctrlers,
                                    skv_make_end_fn make_end, void *ctx);
/* Host "ShardKV" and "Raft" on srv (borrowed; close it before skv_free). */
int skv_server_register(struct skv_server *kv, struct rpc_server *srv);
struct raft *skv_server_raft(struct skv_server *kv);
/* Stop: background threads and waiting handlers return, Raft stops. May
 * wait for an RPC in flight to another group or the controller to finish
 * (bounded by the ends' call timeout). Safe to call twice. */
void skv_kill(struct skv_server *kv);
/* Free a killed server (kills it first if needed). */
void skv_free(struct skv_server *kv);

struct skv_server_stats {
    int gid;
    int64_t last_applied;
    int64_t config_num;
    int state[SC_NSHARDS]; /* enum skv_shard_state */
    size_t keys;           /* keys held, over all shards */
    size_t clients;        /* dedup table entries */
    uint64_t installs_sent, installs_received, deletes;
};
void skv_server_get_stats(struct skv_server *kv, struct skv_server_stats *out);

/* ---- clerk ------------------------------------------------------------- */
struct skv_clerk;

/* ctrlers: ends to the controller replicas (copied array, borrowed ends).
 * client_id 0 picks a random id. Returns owned. One thread at a time. */
struct skv_clerk *skv_clerk_new(struct rpc_end **ctrlers, int nctrlers,
                                skv_make_end_fn make_end, void *ctx,
                                uint64_t client_id);
void skv_clerk_free(struct skv_clerk *ck);
uint64_t skv_clerk_id(const struct skv_clerk *ck);

/* As 6.5840's clerk: look up the shard's group in the cached
 * configuration, try its servers (the last one that answered first),
 * on ErrWrongGroup or after a full round sleep 100 ms and fetch the
 * latest configuration; retry until OK (or ErrNoKey for Get). Operations
 * give up only when every controller end is shut down (ERR_CLOSED) or an
 * op timeout expires (ERR_TIMEOUT). */
/* Owned NUL-terminated value ("" if absent; length in *len), or NULL. */
char *skv_clerk_get(struct skv_clerk *ck, const char *key, size_t *len);
/* As skv_clerk_get, reporting why it failed in *err (0 on success). */
char *skv_clerk_get_err(struct skv_clerk *ck, const char *key, size_t *len,
                        int *err);
int skv_clerk_put(struct skv_clerk *ck, const char *key, const char *value);
int skv_clerk_append(struct skv_clerk *ck, const char *key,
                     const char *value);
int skv_clerk_put_n(struct skv_clerk *ck, const char *key, size_t klen,
                    const char *value, size_t vlen);
int skv_clerk_append_n(struct skv_clerk *ck, const char *key, size_t klen,
                       const char *value, size_t vlen);
/* Give up an operation after ms (0: never, the default). For CLIs; the
 * outcome of a timed-out Put/Append is unknown. */
void skv_clerk_set_op_timeout(struct skv_clerk *ck, uint64_t ms);

#endif /* SHARDKV_SHARDKV_H_ */
