/* snapshot.c - log compaction (Raft §7): keeping the service's snapshot,
 * and the InstallSnapshot RPC that brings a lagging follower past entries
 * the leader has discarded. The whole snapshot travels in one message
 * (Figure 13's offset/done chunking is not used). */
/* SOLUTION FILE */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "raft/raft_internal.h"

void raft_snapshot_set(struct raft_core *c, const void *data, size_t len)
{
    free(c->snap);
    c->snap = NULL;
    c->snap_dirty = true;
    c->snap_len = len;
    if (len) {
        c->snap = xmalloc(len);
        memcpy(c->snap, data, len);
    }
}

void raft_snapshot_send(struct raft_core *c, int peer, uint64_t now_ms)
{
    struct raft_progress *p = &c->peers[peer];
    struct raft_msg *m = xcalloc(1, sizeof(*m));
    m->type = RAFT_MSG_INSTALL_SNAPSHOT;
    m->to = peer;
    m->is.last_included_index = c->log.snap_index;
    m->is.last_included_term = c->log.snap_term;
    if (c->snap_len) {
        m->owned = xmalloc(c->snap_len);
        memcpy(m->owned, c->snap, c->snap_len);
        m->is.data = m->owned;
        m->is.len = c->snap_len;
    }
    p->inflight = true;
    p->inflight_ms = now_ms;
    p->inflight_bytes = c->snap_len;
    p->last_sent_ms = now_ms;
    log_debug("SNAP", c->cfg.id, "-> S%d snapshot through %lld/T%lld "
              "(%zu bytes)", peer, (long long)c->log.snap_index,
              (long long)c->log.snap_term, c->snap_len);
    raft_core_emit(c, m);
}

/* InstallSnapshot RPC, receiver implementation (Figure 13, without
 * chunks):
 *   1. Reply immediately if term < currentTerm
 *   5. Save snapshot file, discard any existing or partial snapshot with a
 *      smaller index
 *   6. If existing log entry has same index and term as snapshot's last
 *      included entry, retain log entries following it and reply
 *   7. Discard the entire log
 *   8. Reset state machine using snapshot contents
 * A snapshot that is not beyond our commitIndex is ignored: we already
 * have (or have applied) everything it holds, and installing it would move
 * the service backwards. */
void raft_snapshot_recv_install_snapshot(struct raft_core *c,
                                         const struct raft_msg *req,
                                         struct raft_msg *reply,
                                         uint64_t now_ms)
{
    (void)reply; /* carries only the term */
    if (req->term < c->current_term) /* 1. */
        return;
    raft_core_become_follower(c, req->term, now_ms);
    c->leader = req->from;
    raft_core_reset_election_timer(c, now_ms);

    int64_t index = req->is.last_included_index;
    int64_t term = req->is.last_included_term;
    if (index <= c->commit_index) {
        log_debug("SNAP", c->cfg.id, "<- S%d snapshot through %lld ignored: "
                  "commit is %lld", req->from, (long long)index,
                  (long long)c->commit_index);
        return;
    }
    if (raft_log_term_at(&c->log, index) == term) {
        raft_log_compact(&c->log, index, term); /* 6. */
    } else {
        raft_log_truncate_from(&c->log, c->log.snap_index + 1); /* 7. */
        raft_log_compact(&c->log, index, term);
    }
    raft_snapshot_set(c, req->is.data, req->is.len); /* 5. */
    c->commit_index = index;
    /* 8. happens through raft_core_next_apply(), which hands the snapshot
     * to the service because snapshot index > lastApplied. */
    log_debug("SNAP", c->cfg.id, "<- S%d installed snapshot through "
              "%lld/T%lld (%zu bytes), log now ends at %lld", req->from,
              (long long)index, (long long)term, req->is.len,
              (long long)raft_log_last_index(&c->log));
}

/* The follower now holds everything through the snapshot's last index. */
void raft_snapshot_recv_install_snapshot_reply(struct raft_core *c,
                                               const struct raft_msg *req,
                                               const struct raft_msg *reply,
                                               uint64_t now_ms)
{
    (void)reply;
    if (c->role != RAFT_LEADER || req->term != c->current_term)
        return;
    struct raft_progress *p = &c->peers[req->to];
    p->inflight = false;
    p->acked_ms = now_ms;
    int64_t index = req->is.last_included_index;
    if (index > p->match_index) {
        p->match_index = index;
        raft_replication_advance_commit(c, now_ms);
    }
    if (p->next_index < p->match_index + 1)
        p->next_index = p->match_index + 1;
    raft_replication_flush(c, now_ms);
}
