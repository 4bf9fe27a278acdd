/* replication.c - log replication (Raft §5.3, §5.4): the leader's
 * AppendEntries sending and pacing, the follower's consistency check, fast
 * nextIndex backup, and the commit rule. */
/* SOLUTION FILE */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "raft/raft_internal.h"

/* Figure 2, Leaders: "Upon election: send initial empty AppendEntries
 * RPCs (heartbeat) to each server". nextIndex starts just past the
 * leader's last entry, matchIndex at 0. */
void raft_replication_become_leader(struct raft_core *c, uint64_t now_ms)
{
    c->role = RAFT_LEADER;
    c->leader = c->cfg.id;
    int64_t last = raft_log_last_index(&c->log);
    for (int i = 0; i < c->cfg.n; i++) {
        struct raft_progress *p = &c->peers[i];
        p->next_index = last + 1;
        p->match_index = 0;
        p->last_sent_ms = 0;
        p->sent_commit = 0;
        p->commit_due_ms = 0;
        p->inflight = false;
        p->acked_ms = now_ms; /* a fresh leader gets a full window */
    }
    c->batch_due_ms = 0;
    log_debug("LEAD", c->cfg.id, "leader for T%lld, last %lld/T%lld",
              (long long)c->current_term, (long long)last,
              (long long)raft_log_last_term(&c->log));
    for (int i = 0; i < c->cfg.n; i++)
        if (i != c->cfg.id)
            raft_replication_send(c, i, now_ms);
    raft_replication_advance_commit(c, now_ms); /* a cluster of one */
}

/* Figure 2, Leaders: "If last log index >= nextIndex for a follower: send
 * AppendEntries RPC with log entries starting at nextIndex". One message
 * carries a batch of up to max_batch_bytes (always at least one entry). */
static void send_append(struct raft_core *c, int peer, uint64_t now_ms,
                        bool with_entries)
{
    struct raft_progress *p = &c->peers[peer];
    if (with_entries && p->next_index <= c->log.snap_index) {
        /* The entries it needs were compacted away (§7). */
        raft_snapshot_send(c, peer, now_ms);
        return;
    }
    /* A bare heartbeat checks the last entry we know, or the snapshot's
     * if the follower is behind it (its reply may then be a rejection,
     * which the reply handler ignores as not about nextIndex). */
    int64_t prev = p->next_index - 1;
    if (prev < c->log.snap_index)
        prev = c->log.snap_index;
#ifdef RAFT_BUG_RESEND_PREV /* planted bug for labs/raft's extra tests: */
    if (with_entries && prev > c->log.snap_index && /* redundant resend */
        prev < raft_log_last_index(&c->log))
        prev--;
#endif
    int64_t last = with_entries ? raft_log_last_index(&c->log) : prev;
    size_t n = 0, bytes = 0;
    for (int64_t i = prev + 1; i <= last; i++) {
        size_t cost = raft_log_get(&c->log, i)->len + 16;
        if (n > 0 && bytes + cost > c->cfg.max_batch_bytes)
            break;
        bytes += raft_log_get(&c->log, i)->len;
        n++;
    }

    /* One block holds the entry array followed by the command bytes. */
    struct raft_msg *m = xcalloc(1, sizeof(*m));
    m->type = RAFT_MSG_APPEND_ENTRIES;
    m->to = peer;
    m->ae.prev_log_index = prev;
    m->ae.prev_log_term = raft_log_term_at(&c->log, prev);
    m->ae.leader_commit = c->commit_index;
    if (n > 0) {
        size_t hdr = n * sizeof(struct raft_entry);
        uint8_t *block = xmalloc(hdr + bytes);
        struct raft_entry *es = (struct raft_entry *)(void *)block;
        uint8_t *data = block + hdr;
        for (size_t k = 0; k < n; k++) {
#ifndef RAFT_BUG_RESEND_PREV
            const struct raft_log_entry *e =
                raft_log_get(&c->log, p->next_index + (int64_t)k);
#else
            const struct raft_log_entry *e =
                raft_log_get(&c->log, prev + 1 + (int64_t)k);
#endif
            es[k].term = e->term;
            es[k].len = e->len;
            es[k].data = data;
            if (e->len)
                memcpy(data, e->data, e->len);
            data += e->len;
        }
        m->owned = block;
        m->ae.entries = es;
        m->ae.n_entries = n;
        p->inflight = true;
        p->inflight_ms = now_ms;
        p->inflight_bytes = bytes;
    }
    p->last_sent_ms = now_ms;
    p->sent_commit = c->commit_index;
    p->commit_due_ms = 0;
    if (n > 0)
        log_debug("APND", c->cfg.id, "-> S%d entries %lld..%lld (prev "
                  "%lld/T%lld) commit %lld", peer,
                  (long long)prev + 1, (long long)prev + (long long)n,
                  (long long)m->ae.prev_log_index,
                  (long long)m->ae.prev_log_term,
                  (long long)c->commit_index);
    else
        log_trace("APND", c->cfg.id, "-> S%d heartbeat (prev %lld/T%lld) "
                  "commit %lld", peer, (long long)m->ae.prev_log_index,
                  (long long)m->ae.prev_log_term,
                  (long long)c->commit_index);
    raft_core_emit(c, m);
}

void raft_replication_send(struct raft_core *c, int peer, uint64_t now_ms)
{
    send_append(c, peer, now_ms, true);
}

/* See RAFT_RESEND_UNIT: may the heartbeat resend the message in flight? */
static bool resend_due(const struct raft_core *c,
                       const struct raft_progress *p, uint64_t now_ms)
{
    if (!p->inflight)
        return true;
    uint64_t wait = (uint64_t)c->cfg.heartbeat_ms *
                    (1 + p->inflight_bytes / RAFT_RESEND_UNIT);
    if (wait > RAFT_RESEND_MAX_MS)
        wait = RAFT_RESEND_MAX_MS;
    if (wait < c->cfg.heartbeat_ms)
        wait = c->cfg.heartbeat_ms;
    return now_ms >= p->inflight_ms + wait;
}

void raft_replication_flush(struct raft_core *c, uint64_t now_ms)
{
    if (c->role != RAFT_LEADER)
        return;
    bool ready = c->batch_due_ms == 0 || now_ms >= c->batch_due_ms;
    if (ready)
        c->batch_due_ms = 0;
    int64_t last = raft_log_last_index(&c->log);
    for (int i = 0; i < c->cfg.n; i++) {
        struct raft_progress *p = &c->peers[i];
        if (i == c->cfg.id || p->inflight)
            continue;
        if ((ready && p->next_index <= last) ||
            (p->commit_due_ms && now_ms >= p->commit_due_ms))
            raft_replication_send(c, i, now_ms);
    }
}

/* Figure 2, Leaders: "repeat during idle periods to prevent election
 * timeouts (§5.2)". Every message to a peer counts as its heartbeat, so an
 * idle peer hears from us once per heartbeat_ms and a busy one no more
 * often than the traffic itself. A heartbeat also retransmits entries not
 * yet acknowledged (the earlier message or its reply may be lost), unless
 * a large message has not yet had time to arrive (RAFT_RESEND_UNIT). */
void raft_replication_tick(struct raft_core *c, uint64_t now_ms)
{
    for (int i = 0; i < c->cfg.n; i++) {
        if (i == c->cfg.id)
            continue;
        struct raft_progress *p = &c->peers[i];
        if (now_ms >= p->last_sent_ms + c->cfg.heartbeat_ms)
            send_append(c, i, now_ms, resend_due(c, p, now_ms));
    }
    raft_replication_flush(c, now_ms); /* commit notices now due */
}

/* Check quorum (see raft_core.h): has a majority, counting ourselves,
 * replied within two maximum election timeouts? */
bool raft_replication_has_quorum(const struct raft_core *c, uint64_t now_ms)
{
    uint64_t window = 2 * (uint64_t)c->cfg.election_max_ms;
    int live = 1;
    for (int i = 0; i < c->cfg.n; i++)
        if (i != c->cfg.id && now_ms < c->peers[i].acked_ms + window)
            live++;
    return 2 * live > c->cfg.n;
}

static int cmp_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

/* Figure 2, Leaders: "If there exists an N such that N > commitIndex, a
 * majority of matchIndex[i] >= N, and log[N].term == currentTerm: set
 * commitIndex = N (§5.3, §5.4)". Entries from earlier terms are never
 * committed by counting replicas (§5.4.2, Figure 8); they become committed
 * indirectly when an entry of the current term is. */
void raft_replication_advance_commit(struct raft_core *c, uint64_t now_ms)
{
    if (c->role != RAFT_LEADER)
        return;
    int64_t match[RAFT_MAX_PEERS];
    for (int i = 0; i < c->cfg.n; i++)
#ifndef RAFT_BUG_COUNT_SELF_EARLY
        match[i] = i == c->cfg.id ? c->log.durable /* §10.2.1 */
                                  : c->peers[i].match_index;
#else /* planted bug for labs/sim's teeth check: self counted unwritten */
        match[i] = i == c->cfg.id ? raft_log_last_index(&c->log)
                                  : c->peers[i].match_index;
#endif
    qsort(match, (size_t)c->cfg.n, sizeof(match[0]), cmp_desc);
    int64_t n = match[raft_core_quorum(c) - 1]; /* held by a majority */
    if (n > c->commit_index &&
#ifndef RAFT_BUG_COMMIT_OLD_TERM
        raft_log_term_at(&c->log, n) == c->current_term) {
#else /* planted bug for labs/sim's teeth check: Figure 8's mistake */
        raft_log_term_at(&c->log, n) <= c->current_term) {
#endif
        log_debug("CMIT", c->cfg.id, "commit %lld -> %lld in T%lld",
                  (long long)c->commit_index, (long long)n,
                  (long long)c->current_term);
        c->commit_index = n;
        /* Followers learn it with the next message they get, or from a
         * notice commit_notice_ms from now. */
        for (int i = 0; i < c->cfg.n; i++) {
            struct raft_progress *p = &c->peers[i];
            if (i != c->cfg.id && p->commit_due_ms == 0)
                p->commit_due_ms = now_ms + c->cfg.commit_notice_ms;
        }
    }
}

/* Fill the failure hints of a rejected AppendEntries: the follower's
 * term at prev_log_index (if it has that entry) and where that term
 * starts, plus its log length. */
static void reject(struct raft_core *c, int64_t prev, struct raft_msg *reply)
{
    int64_t last = raft_log_last_index(&c->log);
    reply->aer.success = false;
    reply->aer.log_len = last + 1;
    if (prev > last) {
        reply->aer.conflict_term = 0;
        reply->aer.conflict_index = 0;
    } else {
        reply->aer.conflict_term = raft_log_term_at(&c->log, prev);
        reply->aer.conflict_index = raft_log_first_index_of_term(&c->log, prev);
    }
}

/* AppendEntries RPC, receiver implementation (Figure 2):
 *   1. Reply false if term < currentTerm (§5.1)
 *   2. Reply false if log doesn't contain an entry at prevLogIndex whose
 *      term matches prevLogTerm (§5.3)
 *   3. If an existing entry conflicts with a new one (same index but
 *      different terms), delete the existing entry and all that follow it
 *      (§5.3)
 *   4. Append any new entries not already in the log
 *   5. If leaderCommit > commitIndex, set commitIndex =
 *      min(leaderCommit, index of last new entry) */
void raft_replication_recv_append_entries(struct raft_core *c,
                                          const struct raft_msg *req,
                                          struct raft_msg *reply,
                                          uint64_t now_ms)
{
    /* 1. */
    if (req->term < c->current_term) {
        reply->aer.success = false;
        return;
    }
    /* Figure 2, Candidates: "If AppendEntries RPC received from new
     * leader: convert to follower". Either way, this is the current
     * leader: reset the election timer. */
    raft_core_become_follower(c, req->term, now_ms);
    c->leader = req->from;
    raft_core_reset_election_timer(c, now_ms);

    int64_t prev = req->ae.prev_log_index;
    int64_t prev_term = req->ae.prev_log_term;
    const struct raft_entry *es = req->ae.entries;
    size_t n = req->ae.n_entries;
    int64_t last_new = prev + (int64_t)n; /* index of last new entry */

    /* Entries through snapshot_index are committed and already in our
     * snapshot; only the rest needs checking. */
    if (prev < c->log.snap_index) {
        int64_t skip = c->log.snap_index - prev;
        if ((int64_t)n <= skip)
            n = 0, es = NULL;
        else
            es += skip, n -= (size_t)skip;
        prev = c->log.snap_index;
        prev_term = c->log.snap_term;
    }

    /* 2. */
    if (raft_log_term_at(&c->log, prev) != prev_term) {
        reject(c, prev, reply);
        log_debug("APND", c->cfg.id, "<- S%d reject prev %lld/T%lld: "
                  "conflict T%lld at %lld, len %lld", req->from,
                  (long long)prev, (long long)prev_term,
                  (long long)reply->aer.conflict_term,
                  (long long)reply->aer.conflict_index,
                  (long long)reply->aer.log_len);
        return;
    }

    /* 3. and 4. An entry we already hold with the same term is the same
     * entry (Log Matching), so a delayed or duplicated message never
     * truncates anything it agrees with. */
    int64_t index = prev;
    for (size_t i = 0; i < n; i++) {
        index++;
        int64_t have = raft_log_term_at(&c->log, index);
        if (have == es[i].term)
            continue;
        if (have != -1) {
            if (index <= c->commit_index) {
                /* Would delete a committed entry: impossible with a correct
                 * leader. Refuse rather than break State Machine Safety. */
                log_error("APND", c->cfg.id, "S%d conflicts with committed "
                          "index %lld; ignored", req->from, (long long)index);
                reject(c, prev, reply);
                return;
            }
            raft_log_truncate_from(&c->log, index);
        }
        for (; i < n; i++)
            raft_log_append(&c->log, es[i].term, es[i].data, es[i].len);
        log_debug("APND", c->cfg.id, "<- S%d appended through %lld",
                  req->from, (long long)raft_log_last_index(&c->log));
        break;
    }

    /* 5. */
    if (req->ae.leader_commit > c->commit_index) {
        int64_t commit = req->ae.leader_commit;
        if (commit > last_new)
            commit = last_new;
        if (commit > c->commit_index) {
            log_debug("CMIT", c->cfg.id, "commit %lld -> %lld (leader S%d)",
                      (long long)c->commit_index, (long long)commit,
                      req->from);
            c->commit_index = commit;
        }
    }
    reply->aer.success = true;
}

/* The leader learns the follower's answer. Figure 2, Leaders:
 *   "If successful: update nextIndex and matchIndex for follower (§5.3)"
 *   "If AppendEntries fails because of log inconsistency: decrement
 *    nextIndex and retry (§5.3)"
 * Instead of one index at a time, the follower's hints skip a whole
 * conflicting term per round trip (the 6.5840 "fast backup"):
 *   - no entry at prev_log_index: nextIndex = its log length;
 *   - leader has conflict_term: nextIndex = leader's last entry of that
 *     term + 1;
 *   - leader lacks it: nextIndex = conflict_index. */
void raft_replication_recv_append_entries_reply(struct raft_core *c,
                                                const struct raft_msg *req,
                                                const struct raft_msg *reply,
                                                uint64_t now_ms)
{
    if (c->role != RAFT_LEADER || req->term != c->current_term)
        return; /* stale: from an earlier term or role */
    int peer = req->to;
    struct raft_progress *p = &c->peers[peer];
    p->acked_ms = now_ms;
    if (req->ae.n_entries > 0)
        p->inflight = false;

    if (reply->aer.success) {
        int64_t match = req->ae.prev_log_index + (int64_t)req->ae.n_entries;
        if (match > p->match_index) {
            p->match_index = match;
            raft_replication_advance_commit(c, now_ms);
        }
        if (p->next_index < p->match_index + 1)
            p->next_index = p->match_index + 1;
    } else if (reply->term == c->current_term &&
               req->ae.prev_log_index == p->next_index - 1) {
        /* (A rejection of an older probe says nothing new: ignored.) */
        int64_t prev = req->ae.prev_log_index;
        int64_t next;
        if (reply->aer.conflict_term == 0) {
            next = reply->aer.log_len;
        } else {
            int64_t last_of_term = raft_log_last_index_of_term(
                &c->log, prev, reply->aer.conflict_term);
            next = last_of_term ? last_of_term + 1 : reply->aer.conflict_index;
        }
        if (next > prev) /* prev was rejected, so it cannot stay */
            next = prev;
        if (next < p->match_index + 1)
            next = p->match_index + 1;
        if (next < 1)
            next = 1;
        log_debug("APND", c->cfg.id, "S%d rejected prev %lld: next %lld -> "
                  "%lld", peer, (long long)prev, (long long)p->next_index,
                  (long long)next);
        p->next_index = next;
    }
    raft_replication_flush(c, now_ms);
}
