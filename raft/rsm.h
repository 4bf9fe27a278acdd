/* rsm.h - a replicated state machine on Raft: the machinery every service
 * of labs 4 and 5 needs, written once (kvraft, shardctrler, shardkv).
 *
 * A service keeps its own state and supplies three callbacks over opaque
 * command bytes (struct rsm_ops): apply one committed command, write a
 * snapshot of its state, restore from one. rsm provides the rest:
 *
 *   - submit-and-wait: rsm_submit() hands a command to Raft and waits
 *     until it is applied (returning the reply the service's apply
 *     produced), or until it cannot be: this peer is not the leader, lost
 *     leadership or changed term while waiting, another entry took the
 *     command's log slot, a snapshot skipped it, a bounded wait expired,
 *     or the service was killed (all ERR_WRONG_LEADER: "try elsewhere");
 *   - the applier thread, which consumes Raft's apply queue in order;
 *   - duplicate detection: a command submitted with a client id (!= 0)
 *     and a per-client increasing seq takes effect at most once. The
 *     table (client -> last seq that took effect + that command's cached
 *     reply) is part of the replicated state, so it survives leader
 *     changes, restarts and snapshots; a retry of the last command gets
 *     the cached reply. Commands with client id 0 are not deduplicated
 *     (reads, and a service's own internal commands that are idempotent
 *     by construction);
 *   - snapshots: after applying an entry, once Raft's persisted state
 *     reaches 90% of maxraftstate (> 0), rsm snapshots the service (its
 *     callback) together with the dedup table and hands it to Raft (while
 *     the applier is behind Raft, at most once per maxraftstate/2 bytes
 *     of applied commands);
 *     snapshots from Raft (a lagging follower) and the persister's (at
 *     start) are restored through the service's callback;
 *   - kill and free.
 *
 * Matching a waiter to its entry is by identity, not only position: rsm
 * wraps each command in an envelope [client, seq, command] (anonymous
 * commands get a nonce unique to this rsm instance as seq), and a waiter
 * is answered when an entry with its identity is applied, at whatever
 * index (an earlier copy of the same client request counts: the result is
 * the same thanks to dedup). An entry applied at or after the waiter's
 * index that is not its own means its entry was lost.
 *
 * Sharded services also move dedup state between groups with the data it
 * protects: rsm_dedup_export() copies the table out, rsm_dedup_merge()
 * folds another group's table in (per client, the larger seq wins: a
 * client numbers its requests sequentially and sends one at a time, so
 * "seq s took effect somewhere" implies every earlier one has finished and
 * must never be applied again).
 *
 * Threads and locks: one mutex per rsm guards the dedup table, the
 * waiters and the counters. It is never held across a call into Raft, a
 * queue operation or a service callback. The callbacks run on the applier
 * thread (restore also inside rsm_start), one at a time and in log order;
 * the service guards its state with its own mutex. A callback may call
 * rsm_dedup_export/merge, rsm_is_leader and rsm_stats, but never
 * rsm_submit (it would wait for itself). */
#ifndef RAFT_RSM_H_
#define RAFT_RSM_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/persister.h"
#include "raft/raft.h"
#include "rpc/rpc.h"

/* Longest rsm_submit waits for its command before answering
 * ERR_WRONG_LEADER (the client then retries, possibly elsewhere), and how
 * often it re-checks leadership and term meanwhile. */
#define RSM_WAIT_MAX_MS 1000
#define RSM_LEADER_CHECK_MS 50

struct rsm;

struct rsm_ops {
    /* Apply one committed command (bytes borrowed for the call) at log
     * index `index`; pack the reply for the submitter into `reply` (empty
     * on entry). Return true if the command took effect, false if the
     * service rejected it without any effect (e.g. shardkv's
     * ErrWrongGroup): a rejected command is not recorded for duplicate
     * detection, so a retry is applied again. Must be deterministic: every
     * replica applies the same commands in the same order. */
    bool (*apply)(void *svc, const void *cmd, size_t len, int64_t index,
                  struct buf *reply);
    /* Append the service's whole state to out (snapshot). */
    void (*snapshot)(void *svc, struct buf *out);
    /* Replace the service's state with a snapshot's (bytes borrowed).
     * 0, or ERR_CORRUPT (rsm then keeps everything as it was). */
    int (*restore)(void *svc, const void *data, size_t len);
};

/* Start a replica: Raft peer `me` of n (peers as for raft_make: copied
 * array, borrowed ends that must outlive rsm_free; peers[me] may be NULL),
 * persisting to `persister` (borrowed, must outlive rsm_free), with
 * snapshots when Raft's state nears maxraftstate bytes (<= 0: never).
 * ops and svc are borrowed. If the persister holds a snapshot, restore()
 * is called before this returns, so the service must be ready for its
 * callbacks (its initial state set up) before calling. Returns owned. */
struct rsm *rsm_start(struct rpc_end **peers, int n, int me,
                      struct persister *persister, int64_t maxraftstate,
                      const struct rsm_ops *ops, void *svc);
/* Host the "Raft" service on srv (before peers can reach it). */
int rsm_register(struct rsm *r, struct rpc_server *srv);
/* The replica's Raft (borrowed), e.g. for raft_get_state(). */
struct raft *rsm_raft(struct rsm *r);
bool rsm_is_leader(struct rsm *r);

/* Submit cmd (copied) and wait for it to be applied. client 0 means no
 * duplicate detection (seq is then ignored); otherwise seq must grow with
 * each new request of that client, and a retry reuses it. Returns:
 *   ERR_OK            applied: `reply` (cleared first) holds apply()'s
 *                     reply, or the cached reply of an earlier copy of the
 *                     same request; empty for a request older than the
 *                     client's last one (the client has moved on);
 *   ERR_WRONG_LEADER  not applied here (see the header comment); the
 *                     command may still be applied later, which dedup
 *                     makes harmless for client requests.
 * If this client's seq is already in the dedup table the answer is
 * immediate (any replica: it took effect, so it was committed). */
int rsm_submit(struct rsm *r, uint64_t client, uint64_t seq, const void *cmd,
               size_t len, struct buf *reply);

/* Dedup state in transit (sharded services). export appends an encoding
 * of the whole table to out; merge folds an exported table in (per
 * client, the larger seq and its reply win): 0 or ERR_CORRUPT. Merge is
 * meant to be called from apply(), so that every replica merges the same
 * table at the same point of the log. */
void rsm_dedup_export(struct rsm *r, struct buf *out);
int rsm_dedup_merge(struct rsm *r, const void *data, size_t len);

struct rsm_stats {
    int64_t last_applied; /* log index of the last entry applied */
    size_t clients;       /* entries in the dedup table */
    size_t dedup_bytes;   /* their cached replies, in bytes */
    uint64_t applied;     /* entries applied (service + duplicates) */
    uint64_t duplicates;  /* client requests answered from the table */
    uint64_t snapshots;   /* snapshots taken */
    uint64_t installs;    /* snapshots restored from Raft */
};
void rsm_stats(struct rsm *r, struct rsm_stats *out);

/* Stop: wake every waiting submitter (ERR_WRONG_LEADER), kill Raft, join
 * the applier. No callback runs after it returns. Safe to call twice. The
 * service stops and joins its own threads (which may be inside
 * rsm_submit: they return) before rsm_free. */
void rsm_kill(struct rsm *r);
/* Free a killed rsm (kills it first if needed). */
void rsm_free(struct rsm *r);

#endif /* RAFT_RSM_H_ */
