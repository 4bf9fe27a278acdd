/* raft_internal.h - what the core's files (core.c, log.c, election.c,
 * replication.c, snapshot.c, encode.c) share: the struct behind
 * raft_core.h and the helpers each file provides to the others.
 *
 * Naming: raft_log_* is the in-memory log (log.c); raft_core_* functions
 * not in raft_core.h are cross-file helpers of the core. */
/* SOLUTION FILE */
#ifndef RAFT_RAFT_INTERNAL_H_
#define RAFT_RAFT_INTERNAL_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/rand.h"
#include "raft/raft_core.h"

/* Bounds on values a peer may claim: far beyond any real log or term, but
 * small enough that index arithmetic can never overflow. */
#define RAFT_MAX_INDEX (INT64_C(1) << 60)
#define RAFT_MAX_TERM (INT64_C(1) << 60)
/* How far a peer's term may be ahead of ours. A real cluster moves one
 * term per election (>= ~100 ms each): 2^32 terms is over a decade of
 * back-to-back elections, while a forged message claiming a huge term
 * (which would leave the cluster at the bound, unable to elect) is
 * ignored. The persisted state accepts terms up to RAFT_MAX_TERM, and no
 * election goes past it, so every reachable state reloads. */
#define RAFT_MAX_TERM_JUMP (INT64_C(1) << 32)

/* ------------------------------------------------------------------------
 * The log (log.c): entries snapshot_index+1 .. last_index, each owning a
 * copy of its command. Entries through snapshot_index were discarded by
 * log compaction; only their last index and term are remembered. */
struct raft_log_entry {
    int64_t term;
    uint8_t *data; /* owned; NULL when len == 0 */
    size_t len;
};

struct raft_log {
    struct raft_log_entry *entries; /* entries[i] has index snap_index+1+i */
    size_t n;
    size_t cap;
    int64_t snap_index; /* lastIncludedIndex of the snapshot (0: none) */
    int64_t snap_term;  /* lastIncludedTerm */
    /* Lowest index appended or truncated since the last update was taken
     * (INT64_MAX: none): what incremental storage must write again. */
    int64_t changed_from;
    /* Highest index acknowledged durable (raft_core_persisted_upto());
     * truncation lowers it, so entries through it are the stored ones. */
    int64_t durable;
};

void raft_log_init(struct raft_log *l);
void raft_log_free(struct raft_log *l);
/* Index of the last entry (snap_index if the log is empty). */
int64_t raft_log_last_index(const struct raft_log *l);
/* Term of the last entry (snap_term if the log is empty). */
int64_t raft_log_last_term(const struct raft_log *l);
/* Term at index for snap_index <= index <= last; -1 outside. */
int64_t raft_log_term_at(const struct raft_log *l, int64_t index);
/* Entry at index (snap_index < index <= last), else NULL. */
const struct raft_log_entry *raft_log_get(const struct raft_log *l,
                                          int64_t index);
/* Append one entry (command bytes copied) at last_index + 1. */
void raft_log_append(struct raft_log *l, int64_t term, const void *data,
                     size_t len);
/* Delete the entry at index and all that follow (index > snap_index). */
void raft_log_truncate_from(struct raft_log *l, int64_t index);
/* Discard entries through index and record (index, term) as the snapshot
 * point. If index is beyond the last entry the whole log goes. */
void raft_log_compact(struct raft_log *l, int64_t index, int64_t term);
/* First index after snap_index whose term is `term`, scanning back from
 * `from` while the term stays the same (for the conflict_index hint). */
int64_t raft_log_first_index_of_term(const struct raft_log *l, int64_t from);
/* Last index <= from holding `term`, or 0 if none is in the log. */
int64_t raft_log_last_index_of_term(const struct raft_log *l, int64_t from,
                                    int64_t term);

/* ------------------------------------------------------------------------
 * The core's state (core.c owns the life cycle). */

/* The leader's view of one follower (Figure 2, "Volatile state on
 * leaders"), plus pacing state. */
struct raft_progress {
    int64_t next_index;  /* index of the next log entry to send */
    int64_t match_index; /* highest index known to be replicated */
    uint64_t last_sent_ms; /* when we last sent it AppendEntries/Snapshot */
    int64_t sent_commit;   /* leader_commit in the last AppendEntries sent */
    uint64_t commit_due_ms; /* send it commitIndex by then (0: nothing due) */
    /* An AppendEntries carrying entries, or an InstallSnapshot, awaits its
     * reply: new entries wait for it (they are batched into the next
     * message) instead of being sent one by one. Heartbeats resend. */
    bool inflight;
    uint64_t inflight_ms;  /* when that message went out */
    uint64_t acked_ms;     /* leader: last reply from it in this term */
    size_t inflight_bytes; /* its command or snapshot bytes */
    bool vote_granted; /* candidate: this peer granted us its vote */
};

struct raft_core {
    struct raft_core_config cfg;
    struct rng rng;

    /* Persistent state on all servers (Figure 2), plus the snapshot. */
    int64_t current_term; /* latest term server has seen */
    int voted_for;        /* candidate that received vote in current term,
                             or -1 */
    struct raft_log log;
    uint8_t *snap; /* the service's snapshot through log.snap_index */
    size_t snap_len;

    /* Volatile state on all servers. */
    int64_t commit_index; /* highest log entry known to be committed */
    int64_t last_applied; /* highest index handed to the service */
    enum raft_role role;
    int leader; /* leader of current_term if known, else -1 */
    uint64_t election_deadline_ms; /* follower/candidate timeout */

    /* Volatile state on leaders (peers[id] is unused). */
    struct raft_progress peers[RAFT_MAX_PEERS];
    uint64_t batch_due_ms; /* the batch window closes then: new entries
                              wait for it (0: open, none wait) */

    /* Since the last update was taken: the hard state it carried, and
     * whether the snapshot changed (the log tracks its own changes). */
    int64_t taken_term;
    int taken_vote;
    bool snap_dirty;
    /* Highest currentTerm acknowledged durable: a leader's AppendEntries
     * go out early only in a term that is. */
    int64_t durable_term;

    /* Outgoing requests in order, and the array handed out with the last
     * update (swapped at each take). */
    struct raft_msg **out, **taken;
    size_t out_len, out_cap, taken_cap;
};

/* core.c */
/* Figure 2, All Servers: "If RPC request or response contains term T >
 * currentTerm: set currentTerm = T, convert to follower (§5.1)". */
void raft_core_become_follower(struct raft_core *c, int64_t term,
                               uint64_t now_ms);
void raft_core_reset_election_timer(struct raft_core *c, uint64_t now_ms);
/* Queue an outgoing request (takes m; sets from/term). */
void raft_core_emit(struct raft_core *c, struct raft_msg *m);
/* Majority of the cluster. */
static inline int raft_core_quorum(const struct raft_core *c)
{
    return c->cfg.n / 2 + 1;
}

/* election.c */
void raft_election_start(struct raft_core *c, uint64_t now_ms);
void raft_election_recv_request_vote(struct raft_core *c,
                                     const struct raft_msg *req,
                                     struct raft_msg *reply, uint64_t now_ms);
void raft_election_recv_request_vote_reply(struct raft_core *c,
                                           const struct raft_msg *req,
                                           const struct raft_msg *reply,
                                           uint64_t now_ms);

/* replication.c */
void raft_replication_become_leader(struct raft_core *c, uint64_t now_ms);
/* Send peer an AppendEntries from its nextIndex (or an InstallSnapshot if
 * that entry was compacted away). */
void raft_replication_send(struct raft_core *c, int peer, uint64_t now_ms);
/* Leader: send to every peer that has unacknowledged entries (once the
 * batch window is closed), or whose commit notice is due, unless a message
 * with entries is already in flight to it. Called after every event. */
void raft_replication_flush(struct raft_core *c, uint64_t now_ms);
/* Leader: heartbeats to peers idle for heartbeat_ms; due commit notices. */
void raft_replication_tick(struct raft_core *c, uint64_t now_ms);
bool raft_replication_has_quorum(const struct raft_core *c, uint64_t now_ms);
void raft_replication_advance_commit(struct raft_core *c, uint64_t now_ms);
void raft_replication_recv_append_entries(struct raft_core *c,
                                          const struct raft_msg *req,
                                          struct raft_msg *reply,
                                          uint64_t now_ms);
void raft_replication_recv_append_entries_reply(struct raft_core *c,
                                                const struct raft_msg *req,
                                                const struct raft_msg *reply,
                                                uint64_t now_ms);

/* snapshot.c */
void raft_snapshot_send(struct raft_core *c, int peer, uint64_t now_ms);
void raft_snapshot_recv_install_snapshot(struct raft_core *c,
                                         const struct raft_msg *req,
                                         struct raft_msg *reply,
                                         uint64_t now_ms);
void raft_snapshot_recv_install_snapshot_reply(struct raft_core *c,
                                               const struct raft_msg *req,
                                               const struct raft_msg *reply,
                                               uint64_t now_ms);
/* Replace the in-memory snapshot bytes with a copy. */
void raft_snapshot_set(struct raft_core *c, const void *data, size_t len);

/* encode.c: the persisted-state format. */
struct raft_persisted {
    int64_t current_term;
    int voted_for;
    int64_t snap_index;
    int64_t snap_term;
    struct raft_log log; /* owned by the caller after a successful decode */
};
void raft_state_encode(const struct raft_core *c, struct buf *out);
/* The parts of that blob for incremental storage: the blob is the head,
 * the number of entries as a uvarint, then one record per entry. */
void raft_state_encode_head(const struct raft_core *c, struct buf *out);
void raft_state_encode_entry(int64_t term, const void *data, size_t len,
                             struct buf *out);
/* Parse and validate; n is the cluster size (bounds voted_for). 0 or
 * ERR_CORRUPT (out then holds nothing to free). */
int raft_state_decode(const uint8_t *p, size_t len, int n,
                      struct raft_persisted *out);

#endif /* RAFT_RAFT_INTERNAL_H_ */
