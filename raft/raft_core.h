/* raft_core.h - the Raft algorithm as a deterministic state machine.
 *
 * The core has no threads, sockets, clock reads or global randomness. The
 * caller (the threaded driver in raft/driver.c, or the simulator in
 * labs/sim/) feeds it events, then takes one update and carries it out:
 *
 *   events in                      the update (raft_core_take_update)
 *   ---------------------------    ----------------------------------------
 *   raft_core_tick(now)            hard state (currentTerm, votedFor) if
 *   raft_core_recv_request(...)      changed; the log from an index on (the
 *   raft_core_recv_reply(...)        truncation point); a new snapshot;
 *   raft_core_send_failed(req)     requests to send, each marked early or
 *   raft_core_propose(cmd)           not; a mark to acknowledge once the
 *   raft_core_compact(i, snap)       update is durable:
 *   raft_core_persisted_upto(mark) raft_core_persisted_upto(mark).
 *                                  Committed entries: raft_core_next_apply().
 *
 * raft/ready.h is the one loop that carries updates out (store, send what
 * may go, acknowledge, apply) for every caller. The rules it keeps:
 *
 * - Figure 2, "Persistent state on all servers (Updated on stable storage
 *   before responding to RPCs)": the reply of raft_core_recv_request()
 *   and every request not marked early leave only once the update taken
 *   after the event (and every earlier one) is durable. A vote, an
 *   acknowledged entry, a candidate's own vote must survive a crash
 *   before anyone learns of them.
 * - Raft thesis §10.2.1: a leader's AppendEntries may leave before its own
 *   append is durable (msg->early), overlapping its disk write with the
 *   followers'. The leader counts itself in the commit quorum only up to
 *   the last index acknowledged durable through raft_core_persisted_upto(),
 *   so a committed entry is still durable on a majority.
 *
 * Time enters only as the now_ms argument (milliseconds on any monotonic
 * clock; it must never go backwards). Randomness (election timeouts) comes
 * from a struct rng owned by the core and seeded from config.seed, so a
 * simulator replays a run exactly from its seed.
 *
 * RPC model. Messages come in request/reply pairs, as with 6.5840's
 * labrpc: the core emits requests (RequestVote, AppendEntries,
 * InstallSnapshot) addressed to a peer; the receiving core answers with
 * raft_core_recv_request(), which fills in the reply at once; the sender
 * gets raft_core_recv_reply() with both its request and that reply, or
 * raft_core_send_failed() if the request or reply was lost. Delivery may
 * be delayed, duplicated, reordered or dropped: the core is correct under
 * all of these (stale replies are recognised by their term and indices).
 *
 * Log indices are 1-based (the first command is at index 1). Index 0 with
 * term 0 is the empty prefix. After log compaction the log holds only
 * indices snapshot_index+1 .. last_index; the entries up to and including
 * snapshot_index live in the service's snapshot.
 *
 * Not thread-safe: the caller serialises all calls (the driver holds its
 * one mutex around every call). */
/* SOLUTION FILE */
#ifndef RAFT_RAFT_CORE_H_
#define RAFT_RAFT_CORE_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Largest cluster the core accepts. */
#define RAFT_MAX_PEERS 16

/* Default timing (milliseconds). Why these values:
 *
 * - Heartbeat 100 ms: the 6.5840 tester allows at most ten heartbeats per
 *   second per peer (TestCount3B: <= 60 RPCs per idle second on 3 peers).
 *   Entries never wait for a heartbeat (see the batch window below).
 * - Election timeout uniform in [300, 600) ms: at least three heartbeat
 *   intervals, so a follower on the unreliable network (10% of requests
 *   lost, up to 26 ms delay) starts a needless election only if three
 *   heartbeats in a row are lost (about 1 in 1000 windows). The 300 ms
 *   spread is far larger than a round trip (<= ~30 ms), so split votes are
 *   rare, and even a few rounds of split votes finish well within the
 *   tester's ~5 s checkOneLeader window (10 polls of 450-550 ms).
 * - Commit notice 20 ms: when the leader's commitIndex advances, a follower
 *   that has not heard it gets an AppendEntries 20 ms later, unless one
 *   goes out sooner anyway (new entries, heartbeat). Followers then apply
 *   within ~20 ms instead of waiting for the heartbeat, and back-to-back
 *   proposals share one notice (TestCount3B allows 42 RPCs for 12
 *   agreements: sending each notice at once would cost 4 per entry).
 * - Batches of at most 64 KiB of command bytes per AppendEntries (at least
 *   one entry is always sent, whatever its size). */
#define RAFT_HEARTBEAT_MS 100
#define RAFT_ELECTION_MIN_MS 300
#define RAFT_ELECTION_MAX_MS 600
#define RAFT_COMMIT_NOTICE_MS 20
#define RAFT_MAX_BATCH_BYTES (64u * 1024u)
/* - Batch window 5 ms: the first proposal after entries went out waits
 *   up to this long (4-5 ms: deadlines are whole milliseconds) for others
 *   to share its AppendEntries; a heartbeat or commit notice due sooner
 *   takes them along. A peer with a message of entries in flight still
 *   gets the next one only after its reply. The trade of Nagle's algorithm
 *   or a Kafka producer's linger.ms: latency for fewer messages and thread
 *   switches per entry. Why here: the graded tests' clients loop flat out
 *   for a fixed time against in-memory peers, so with entries sent at once
 *   a lone client's ~0.65 ms round trip was nearly all CPU, and the whole
 *   machine went to ops nobody needs (lab 4's suite: ~120 s of CPU;
 *   ~41 s with this window, 2 ms gave ~70 s), starving parallel stress
 *   runs. An operation now takes ~5.5 ms, well inside the tester's 33 ms.
 *   The driver takes RAFT_BATCH_MS from the environment if set; the
 *   daemons set 0, since a disk's fsync already batches concurrent writes
 *   (group commit) and each client waits for its own. */
#define RAFT_BATCH_MS 5
#define RAFT_BATCH_MS_MAX 1000
/* - Resending a large message: a heartbeat resends the unacknowledged
 *   entries (or snapshot) only once the message has had a heartbeat
 *   interval per RAFT_RESEND_UNIT bytes, at most RAFT_RESEND_MAX_MS, to
 *   arrive; until then it is an empty AppendEntries. Messages under
 *   RAFT_RESEND_UNIT (every batch, and the graded tests' entries and
 *   snapshots) are resent on every heartbeat as before. Without this a
 *   10 MiB shard install or snapshot that takes longer than a heartbeat to
 *   deliver and store is sent again and again, and the copies starve the
 *   follower that should be storing the first one. */
#define RAFT_RESEND_UNIT (256u * 1024u)
/* - Check quorum: a leader that has had no reply from a majority (itself
 *   included) for two maximum election timeouts (1.2 s) steps down. A
 *   leader cut off from the others, or one that slept through its
 *   deposition (a starved process: seen as 500 ms stalls on a loaded
 *   machine), then stops claiming leadership on its own instead of waiting
 *   to hear a higher term, which TestReElection3A's "no leader without a
 *   quorum" check relies on. Stepping down is always safe; the window is
 *   long enough that a leader with a live majority never does. */
#define RAFT_RESEND_MAX_MS 2000

struct raft_core_config {
    int id;                   /* this peer, 0 <= id < n */
    int n;                    /* cluster size, 1 .. RAFT_MAX_PEERS */
    uint64_t seed;            /* seeds the core's rng (election timeouts) */
    uint32_t heartbeat_ms;    /* leader's idle AppendEntries interval */
    uint32_t election_min_ms; /* election timeout drawn from [min, max) */
    uint32_t election_max_ms;
    uint32_t commit_notice_ms; /* delay before telling followers of a new
                                  commitIndex (0: at once) */
    size_t max_batch_bytes; /* command bytes per AppendEntries (>= 1 entry) */
    uint32_t batch_ms; /* a proposal waits up to this long for others to
                          share its AppendEntries (0: sent at once) */
};

/* Fill cfg with the defaults above for peer id of n, seeded with seed. */
void raft_core_config_init(struct raft_core_config *cfg, int id, int n,
                           uint64_t seed);

enum raft_role {
    RAFT_FOLLOWER = 0,
    RAFT_CANDIDATE = 1,
    RAFT_LEADER = 2,
};
/* "follower", "candidate", "leader". */
const char *raft_role_name(enum raft_role role);

/* ------------------------------------------------------------------------
 * Messages */

enum raft_msg_type {
    RAFT_MSG_REQUEST_VOTE = 1,
    RAFT_MSG_REQUEST_VOTE_REPLY = 2,
    RAFT_MSG_APPEND_ENTRIES = 3,
    RAFT_MSG_APPEND_ENTRIES_REPLY = 4,
    RAFT_MSG_INSTALL_SNAPSHOT = 5,
    RAFT_MSG_INSTALL_SNAPSHOT_REPLY = 6,
};
/* "RequestVote", "RequestVoteReply", ... */
const char *raft_msg_type_name(enum raft_msg_type type);

/* A log entry as carried in a message or returned by introspection: a
 * read-only view (its index is implied by its position). */
struct raft_entry {
    int64_t term;
    const uint8_t *data; /* the command: opaque bytes */
    size_t len;
};

/* One message. The fields of `type`'s union member are meaningful; every
 * message has type, from, to and term (the sender's currentTerm). Field
 * names follow Figure 2 (and Figure 13 for InstallSnapshot). */
struct raft_msg {
    enum raft_msg_type type;
    int from; /* sender's peer id */
    int to;   /* destination peer id */
    int64_t term;
    union {
        /* RequestVote RPC: invoked by candidates to gather votes.
         * The candidate is `from`. */
        struct {
            int64_t last_log_index; /* index of candidate's last log entry */
            int64_t last_log_term;  /* term of candidate's last log entry */
        } rv;
        /* RequestVote reply. */
        struct {
            bool vote_granted; /* true means candidate received vote */
        } rvr;
        /* AppendEntries RPC: invoked by the leader (`from`) to replicate
         * log entries; also used as heartbeat (n_entries == 0). */
        struct {
            int64_t prev_log_index; /* index of entry preceding new ones */
            int64_t prev_log_term;  /* term of prev_log_index entry */
            int64_t leader_commit;  /* leader's commitIndex */
            const struct raft_entry *entries; /* n_entries entries */
            size_t n_entries;
        } ae;
        /* AppendEntries reply. On failure (success == false, same term)
         * the follower says where its log diverges, so the leader can
         * back up nextIndex by a whole term per round trip:
         *   conflict_term: term of the follower's entry at prev_log_index,
         *                  or 0 if its log is too short to have one;
         *   conflict_index: first index the follower holds with
         *                  conflict_term (0 when conflict_term is 0);
         *   log_len:       follower's last log index + 1.
         * (6.5840 calls these XTerm, XIndex and XLen.) */
        struct {
            bool success; /* follower contained entry matching prev_log_* */
            int64_t conflict_term;
            int64_t conflict_index;
            int64_t log_len;
        } aer;
        /* InstallSnapshot RPC: invoked by the leader to send a follower
         * the whole snapshot in one message (no offset/chunks). */
        struct {
            int64_t last_included_index; /* snapshot replaces entries up
                                            through and including this */
            int64_t last_included_term;  /* term of last_included_index */
            const uint8_t *data;         /* the service's snapshot bytes */
            size_t len;
        } is;
        /* InstallSnapshot reply has only `term`. */
    };
    /* Set by raft_core_take_update(): the message may leave before the
     * update it came with is durable (a leader's AppendEntries once its
     * term is durable; see the top of this file). */
    bool early;
    /* Storage of a message made by the core (entries and their bytes, or
     * the snapshot copy): one block freed by raft_msg_free(). NULL for
     * messages whose pointers are borrowed (e.g. decoded from the wire). */
    void *owned;
};

/* Free a message taken with an update (and its storage). */
void raft_msg_free(struct raft_msg *m);

/* ------------------------------------------------------------------------
 * Life cycle */

struct raft_core;

/* A new peer in term 0 with an empty log, as a follower whose election
 * timer starts at now_ms. cfg is copied. Returns owned; NULL if cfg is
 * invalid. Call raft_core_restore() next if there is persisted state. */
struct raft_core *raft_core_new(const struct raft_core_config *cfg,
                                uint64_t now_ms);
void raft_core_free(struct raft_core *c);

/* Reload what raft_core_encode_state() produced (state) and the snapshot
 * saved with it, right after raft_core_new() and before any event. An
 * empty state (len 0) means a fresh peer. Afterwards commitIndex and
 * lastApplied equal the snapshot index: the service restores the snapshot
 * from its persister itself, as in 6.5840, so the first item from
 * raft_core_next_apply() is the command at snapshot_index + 1.
 * Returns 0, or ERR_CORRUPT (the core is then unchanged). The bytes are
 * copied. */
int raft_core_restore(struct raft_core *c, const uint8_t *state,
                      size_t state_len, const uint8_t *snap,
                      size_t snap_len);

/* ------------------------------------------------------------------------
 * Events */

/* Time passes. Followers and candidates start an election when their
 * timeout has elapsed; a leader sends AppendEntries (or InstallSnapshot)
 * to each peer it has not sent to for heartbeat_ms. Call it again no
 * later than raft_core_next_deadline(). */
void raft_core_tick(struct raft_core *c, uint64_t now_ms);
/* When raft_core_tick() next has something to do (absolute ms;
 * UINT64_MAX for never, e.g. the leader of a one-peer cluster). Any other
 * event may move it earlier (e.g. winning an election). */
uint64_t raft_core_next_deadline(const struct raft_core *c);

/* A request arrived (req->type is RequestVote, AppendEntries or
 * InstallSnapshot; req->to is ignored). Fills *reply (which owns nothing:
 * no free needed). Returns 0, or ERR_BADARGS for a message that is not a
 * request or claims an impossible sender/field (nothing changes; send no
 * reply). req is borrowed: the core copies what it keeps. */
int raft_core_recv_request(struct raft_core *c, const struct raft_msg *req,
                           struct raft_msg *reply, uint64_t now_ms);
/* The reply to a request this core sent (req as popped, reply as received;
 * both borrowed). Ignored if it does not match req or is stale. */
void raft_core_recv_reply(struct raft_core *c, const struct raft_msg *req,
                          const struct raft_msg *reply, uint64_t now_ms);
/* A request this core sent got no reply (dropped, timed out, peer down).
 * Lets the leader resend sooner; never required for correctness. */
void raft_core_send_failed(struct raft_core *c, const struct raft_msg *req,
                           uint64_t now_ms);

/* Leader: append a command (bytes copied) and start replicating it at
 * once. Returns 0 with its *index and the current *term, or
 * ERR_WRONG_LEADER if this peer is not the leader (index/term untouched;
 * either pointer may be NULL). */
int raft_core_propose(struct raft_core *c, const void *cmd, size_t len,
                      uint64_t now_ms, int64_t *index, int64_t *term);

/* The service has a snapshot (bytes copied) of its state through index:
 * discard log entries through index. A no-op (returns 0) if index is not
 * above the current snapshot index; ERR_INVAL if index is beyond what has
 * been handed out by raft_core_next_apply(). */
int raft_core_compact(struct raft_core *c, int64_t index, const void *snap,
                      size_t len);

/* ------------------------------------------------------------------------
 * Updates */

/* What a durable update proves; raft_core_persisted_upto() takes it back. */
struct raft_mark {
    int64_t term;       /* currentTerm when the update was taken */
    int64_t last_index; /* the log's last index then, and its term */
    int64_t last_term;
};

/* Everything the caller must do after events, since the last update.
 * Store the parts in this order, so that a crash keeping any prefix of the
 * writes leaves a state that restores: drop stored entries from log_from,
 * the snapshot (with the head), the hard state, then the entries
 * log_from..last_index above snap_index. The whole state is also
 * available as one blob (raft_core_encode_state()). */
struct raft_update {
    /* Hard state (Figure 2's currentTerm and votedFor). */
    bool hard_changed;
    int64_t term;
    int voted_for;
    /* A new snapshot through snap_index (bytes borrowed until the next
     * event); snap_index/snap_term are current even when unchanged. */
    bool snap_changed;
    int64_t snap_index;
    int64_t snap_term;
    const uint8_t *snap;
    size_t snap_len;
    /* The log changed from log_from on (appended or truncated; INT64_MAX:
     * unchanged): stored entries from there go, the core's entries from
     * there through last_index are stored (raft_core_encode_entry()). */
    int64_t log_from;
    int64_t last_index;
    /* Requests to send, in order; the caller owns each (raft_msg_free())
     * and must hold those without msg->early until this update is
     * durable. The array itself is the core's, valid until the next
     * raft_core_take_update(). */
    struct raft_msg **msgs;
    size_t n_msgs;
    /* Once this update and all before it are durable. */
    struct raft_mark mark;
};

/* True if there is an update to take (persistent state changed, or
 * requests wait). */
bool raft_core_has_update(const struct raft_core *c);
/* Take what changed since the last take (possibly nothing: *u then has
 * no changes and no messages, and a caller may still need to wait for
 * earlier updates before replying). */
void raft_core_take_update(struct raft_core *c, struct raft_update *u);
/* True if u carries state to store (not just messages). */
bool raft_update_changed(const struct raft_update *u);
/* The caller made the update with this mark durable (and every update
 * taken before it). A leader counts its own log in the commit quorum
 * only up to such a mark; acknowledging late or never is safe (only
 * slower), acknowledging what is not durable is not. */
void raft_core_persisted_upto(struct raft_core *c, const struct raft_mark *m,
                              uint64_t now_ms);

/* The persistent state (currentTerm, votedFor, snapshot index and term,
 * log) as one blob, in the compact binary format of raft/encode.c:
 *     head ‖ uvarint(number of entries) ‖ entry record ‖ ...
 * Save it together with raft_core_snapshot(). */
void raft_core_encode_state(const struct raft_core *c, struct buf *out);
/* The current snapshot bytes (borrowed; valid until the next event), NULL
 * and *len 0 if there is none. */
const uint8_t *raft_core_snapshot(const struct raft_core *c, size_t *len);
/* The parts of that blob, for incremental storage of an update: the head
 * (currentTerm, votedFor, snapshot index and term) and the record of the
 * entry at index (snapshot_index < index <= last). */
void raft_core_encode_head(const struct raft_core *c, struct buf *out);
void raft_core_encode_entry(const struct raft_core *c, int64_t index,
                            struct buf *out);

/* Something for the service, in log order. */
struct raft_apply {
    bool is_snapshot;  /* false: a committed command */
    int64_t index;     /* command index, or the snapshot's last index */
    int64_t term;      /* the entry's term, or the snapshot's last term */
    const uint8_t *data; /* command or snapshot bytes; borrowed until the
                            next call into the core */
    size_t len;
};
/* True if raft_core_next_apply() has something. */
bool raft_core_has_apply(const struct raft_core *c);
/* Take the next item: a snapshot received from the leader (which moves
 * lastApplied forward to its index), or the command at lastApplied + 1
 * once committed (Figure 2: "If commitIndex > lastApplied: increment
 * lastApplied, apply log[lastApplied] to state machine"). Returns false
 * if nothing is ready. The service never moves backwards: a snapshot is
 * handed out only if it is beyond everything handed out before. */
bool raft_core_next_apply(struct raft_core *c, struct raft_apply *out);

/* ------------------------------------------------------------------------
 * Introspection (read-only; for the driver, tests and the simulator's
 * invariant checks). */

int raft_core_id(const struct raft_core *c);
int raft_core_npeers(const struct raft_core *c);
int64_t raft_core_term(const struct raft_core *c);
enum raft_role raft_core_role(const struct raft_core *c);
/* Peer voted for in the current term, or -1. */
int raft_core_voted_for(const struct raft_core *c);
/* Leader of the current term if known (self when leader), or -1. */
int raft_core_leader(const struct raft_core *c);
int64_t raft_core_commit_index(const struct raft_core *c);
/* Highest index handed out by raft_core_next_apply(). */
int64_t raft_core_last_applied(const struct raft_core *c);
/* Index and term of the last entry covered by the snapshot (0, 0 if none). */
int64_t raft_core_snapshot_index(const struct raft_core *c);
int64_t raft_core_snapshot_term(const struct raft_core *c);
/* Index of the last log entry (the snapshot index if the log is empty). */
int64_t raft_core_last_index(const struct raft_core *c);
/* Term of the entry at index, for snapshot_index <= index <= last_index
 * (0 for index 0); -1 outside that range. */
int64_t raft_core_term_at(const struct raft_core *c, int64_t index);
/* The entry at index (snapshot_index < index <= last_index), borrowed
 * until the next event; false outside that range. */
bool raft_core_entry(const struct raft_core *c, int64_t index,
                     struct raft_entry *out);
/* Leader's view of a peer (next and match index); false if not leader or
 * peer is out of range or self. */
bool raft_core_progress(const struct raft_core *c, int peer,
                        int64_t *next_index, int64_t *match_index);

#endif /* RAFT_RAFT_CORE_H_ */
