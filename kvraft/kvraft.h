/* kvraft.h - lab 4: a linearizable, fault-tolerant key/value service
 * replicated with Raft, and its clerk.
 *
 * Service "KVServer" (hosted next to "Raft" on the same rpc_server):
 *   Get    {k: key, c: client, s: seq}           -> {e: err, v: value}
 *   Put    {k: key, v: value, c: client, s: seq} -> {e: err}
 *   Append {k: key, v: value, c: client, s: seq} -> {e: err}
 *   Status {}                                     -> {me: index, l: leader?,
 *            t: term, a: last applied index, k: keys, r: Raft state bytes}
 * e is an err_name() string: "OK", "ErrNoKey" (Get of a missing key; v is
 * "") or "ErrWrongLeader" (not the leader, leadership lost before the
 * command was applied, or no commit within a bounded wait: try another
 * server). Put and Append return nothing in lab 4.
 *
 * Every operation (Get included, for linearizable reads) goes through the
 * Raft log via raft/rsm (rsm.h), which provides submit-and-wait, the
 * applier thread, duplicate detection and snapshots; this module is the
 * key/value state machine on top. Put/Append are deduplicated by (client
 * id, seq) in rsm's table, which is replicated state: it survives leader
 * changes, restarts and snapshots. Gets are not deduplicated (a read has
 * no effect to protect), so the table caches no values. A clerk numbers
 * all its operations, Gets included, with one increasing seq.
 *
 * Snapshots: with maxraftstate > 0, rsm snapshots (this map + its dedup
 * table + last applied index) once the persisted Raft state reaches 90% of
 * maxraftstate. maxraftstate < 0 disables snapshots. On start the service
 * restores the persister's snapshot.
 *
 * Threads and locks: rsm's applier thread runs the state machine. One
 * mutex per server guards the map; it is never held across a call into
 * rsm or Raft, an RPC, or a queue operation. */
#ifndef KVRAFT_KVRAFT_H_
#define KVRAFT_KVRAFT_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/persister.h"
#include "raft/raft.h"
#include "rpc/rpc.h"

/* ---- server ------------------------------------------------------------ */
struct kv_server;

/* Start server `me` of n. peers[i] is the end to server i's Raft (copied
 * array, borrowed ends: they must outlive kv_free). The persister is
 * borrowed (it must outlive kv_free). Returns quickly; call
 * kv_server_register() to host the services. Returns owned. */
struct kv_server *kv_server_start(struct rpc_end **peers, int n, int me,
                                  struct persister *persister,
                                  int64_t maxraftstate);
/* Host "KVServer" and "Raft" on srv (borrowed; close it before kv_free). */
int kv_server_register(struct kv_server *kv, struct rpc_server *srv);
/* The server's Raft (borrowed), e.g. for raft_get_state(). */
struct raft *kv_server_raft(struct kv_server *kv);

/* Stop: kill Raft, wake every waiting handler (they answer
 * ErrWrongLeader), join the applier. Safe to call twice. */
void kv_kill(struct kv_server *kv);
/* Free a killed server (kills it first if needed). */
void kv_free(struct kv_server *kv);

struct kv_server_stats {
    int64_t last_applied;
    size_t keys;
    size_t clients;        /* entries in the dedup table */
    uint64_t snapshots;    /* snapshots taken */
    uint64_t installs;     /* snapshots installed from Raft */
};
void kv_server_get_stats(struct kv_server *kv, struct kv_server_stats *out);

/* Encode / restore the key/value map: the service's part of an rsm
 * snapshot (exposed for tests and tools). kv_snapshot_decode replaces
 * store's contents and returns 0, or ERR_CORRUPT leaving store as it was. */
struct kv_map;
void kv_snapshot_encode(const struct kv_map *store, struct buf *out);
int kv_snapshot_decode(const void *data, size_t len, struct kv_map *store);

/* ---- clerk ------------------------------------------------------------- */
struct kv_clerk;

/* servers[0..n) are ends to the servers, in any order (the tests shuffle
 * them); the array is copied, the ends borrowed. client_id 0 picks a random
 * id. Returns owned. A clerk is used by one thread at a time. */
struct kv_clerk *kv_clerk_new(struct rpc_end **servers, int n,
                              uint64_t client_id);
void kv_clerk_free(struct kv_clerk *ck);
uint64_t kv_clerk_id(const struct kv_clerk *ck);

/* Operations retry (remembering the last leader) until some server
 * answers OK/ErrNoKey. They give up only when every end is shut down
 * (ERR_CLOSED). */

/* Owned NUL-terminated value ("" if absent; length in *len), NULL on
 * ERR_CLOSED. */
char *kv_clerk_get(struct kv_clerk *ck, const char *key, size_t *len);
int kv_clerk_put(struct kv_clerk *ck, const char *key, const char *value);
int kv_clerk_append(struct kv_clerk *ck, const char *key, const char *value);
int kv_clerk_put_n(struct kv_clerk *ck, const char *key, size_t klen,
                   const char *value, size_t vlen);
int kv_clerk_append_n(struct kv_clerk *ck, const char *key, size_t klen,
                      const char *value, size_t vlen);

/* Give up an operation after this many ms (0 = retry forever, the
 * default); the operation then returns ERR_TIMEOUT (or NULL). For CLIs;
 * the outcome of a timed-out Put/Append is unknown. */
void kv_clerk_set_op_timeout(struct kv_clerk *ck, uint64_t ms);

#endif /* KVRAFT_KVRAFT_H_ */
