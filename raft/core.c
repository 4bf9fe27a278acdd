/* core.c - life cycle of the Raft core, role changes, event dispatch,
 * the updates handed to the caller and introspection. The protocol itself is
 * in election.c, replication.c and snapshot.c. */
/* SOLUTION FILE */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "raft/raft_internal.h"

void raft_core_config_init(struct raft_core_config *cfg, int id, int n,
                           uint64_t seed)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->id = id;
    cfg->n = n;
    cfg->seed = seed;
    cfg->heartbeat_ms = RAFT_HEARTBEAT_MS;
    cfg->election_min_ms = RAFT_ELECTION_MIN_MS;
    cfg->election_max_ms = RAFT_ELECTION_MAX_MS;
    cfg->commit_notice_ms = RAFT_COMMIT_NOTICE_MS;
    cfg->max_batch_bytes = RAFT_MAX_BATCH_BYTES;
    cfg->batch_ms = RAFT_BATCH_MS;
}

const char *raft_role_name(enum raft_role role)
{
    switch (role) {
    case RAFT_FOLLOWER:
        return "follower";
    case RAFT_CANDIDATE:
        return "candidate";
    case RAFT_LEADER:
        return "leader";
    }
    return "?";
}

const char *raft_msg_type_name(enum raft_msg_type type)
{
    switch (type) {
    case RAFT_MSG_REQUEST_VOTE:
        return "RequestVote";
    case RAFT_MSG_REQUEST_VOTE_REPLY:
        return "RequestVoteReply";
    case RAFT_MSG_APPEND_ENTRIES:
        return "AppendEntries";
    case RAFT_MSG_APPEND_ENTRIES_REPLY:
        return "AppendEntriesReply";
    case RAFT_MSG_INSTALL_SNAPSHOT:
        return "InstallSnapshot";
    case RAFT_MSG_INSTALL_SNAPSHOT_REPLY:
        return "InstallSnapshotReply";
    }
    return "?";
}

void raft_msg_free(struct raft_msg *m)
{
    if (!m)
        return;
    free(m->owned);
    free(m);
}

/* ------------------------------------------------------------------------
 * Life cycle */

struct raft_core *raft_core_new(const struct raft_core_config *cfg,
                                uint64_t now_ms)
{
    if (cfg->n < 1 || cfg->n > RAFT_MAX_PEERS || cfg->id < 0 ||
        cfg->id >= cfg->n || cfg->heartbeat_ms == 0 ||
        cfg->election_min_ms == 0 ||
        cfg->election_max_ms < cfg->election_min_ms)
        return NULL;
    struct raft_core *c = xcalloc(1, sizeof(*c));
    c->cfg = *cfg;
    if (c->cfg.max_batch_bytes == 0)
        c->cfg.max_batch_bytes = RAFT_MAX_BATCH_BYTES;
    rng_seed(&c->rng, cfg->seed);
    c->voted_for = -1;
    c->taken_vote = -1;
    raft_log_init(&c->log);
    c->role = RAFT_FOLLOWER;
    c->leader = -1;
    raft_core_reset_election_timer(c, now_ms);
    return c;
}

void raft_core_free(struct raft_core *c)
{
    if (!c)
        return;
    /* (Messages taken with an update are the caller's.) */
    for (size_t i = 0; i < c->out_len; i++)
        raft_msg_free(c->out[i]);
    free(c->out);
    free(c->taken);
    raft_log_free(&c->log);
    free(c->snap);
    free(c);
}

int raft_core_restore(struct raft_core *c, const uint8_t *state,
                      size_t state_len, const uint8_t *snap, size_t snap_len)
{
    if (state_len == 0)
        return 0;
    struct raft_persisted p;
    int rc = raft_state_decode(state, state_len, c->cfg.n, &p);
    if (rc != 0)
        return rc;
    raft_log_free(&c->log);
    c->log = p.log;
    c->current_term = p.current_term;
#ifndef RAFT_BUG_FORGET_VOTE
    c->voted_for = p.voted_for;
#else /* planted bug for labs/raft's extra tests: votedFor not restored */
    c->voted_for = -1;
#endif
    raft_snapshot_set(c, snap, snap_len);
    /* What was just loaded is what is stored, and durable. */
    c->snap_dirty = false;
    c->log.changed_from = INT64_MAX;
    c->log.durable = raft_log_last_index(&c->log);
    c->taken_term = c->durable_term = c->current_term;
    c->taken_vote = c->voted_for;
    /* Everything in the snapshot was committed and the service restores
     * it from its persister, so start applying just after it. */
    c->commit_index = c->log.snap_index;
    c->last_applied = c->log.snap_index;
    log_debug("PERS", c->cfg.id,
              "restored T%lld vote=%d snap=%lld/T%lld last=%lld",
              (long long)c->current_term, c->voted_for,
              (long long)c->log.snap_index, (long long)c->log.snap_term,
              (long long)raft_log_last_index(&c->log));
    return 0;
}

/* ------------------------------------------------------------------------
 * Shared helpers */

void raft_core_reset_election_timer(struct raft_core *c, uint64_t now_ms)
{
    uint64_t span = c->cfg.election_max_ms - c->cfg.election_min_ms;
    c->election_deadline_ms =
        now_ms + c->cfg.election_min_ms + rng_below(&c->rng, span ? span : 1);
}

void raft_core_become_follower(struct raft_core *c, int64_t term,
                               uint64_t now_ms)
{
    bool was_leader = c->role == RAFT_LEADER;
    if (term > c->current_term) {
        log_debug("VOTE", c->cfg.id, "T%lld -> T%lld, %s -> follower",
                  (long long)c->current_term, (long long)term,
                  raft_role_name(c->role));
        c->current_term = term;
        c->voted_for = -1;
        c->leader = -1;
    }
    c->role = RAFT_FOLLOWER;
    /* A leader ran no election timer; give it a fresh one. */
    if (was_leader)
        raft_core_reset_election_timer(c, now_ms);
}

void raft_core_emit(struct raft_core *c, struct raft_msg *m)
{
    m->from = c->cfg.id;
    m->term = c->current_term;
    if (c->out_len == c->out_cap) {
        c->out_cap = c->out_cap ? 2 * c->out_cap : 16;
        c->out = xrealloc(c->out, c->out_cap * sizeof(*c->out));
    }
    c->out[c->out_len++] = m;
}

/* ------------------------------------------------------------------------
 * Events */

void raft_core_tick(struct raft_core *c, uint64_t now_ms)
{
    if (c->role == RAFT_LEADER) {
        if (raft_replication_has_quorum(c, now_ms)) {
            raft_replication_tick(c, now_ms);
            return;
        }
        /* Check quorum (raft_core.h): no majority has answered for a
         * while, so we may well have been deposed. */
        log_debug("LEAD", c->cfg.id, "no reply from a majority for %u ms "
                  "in T%lld: stepping down", 2 * c->cfg.election_max_ms,
                  (long long)c->current_term);
        raft_core_become_follower(c, c->current_term, now_ms);
        c->leader = -1;
        return;
    }
    /* Figure 2, Followers: "If election timeout elapses without receiving
     * AppendEntries RPC from current leader or granting vote to candidate:
     * convert to candidate". Candidates: "If election timeout elapses:
     * start new election". */
    if (now_ms >= c->election_deadline_ms) {
        log_debug("TIMR", c->cfg.id, "election timeout in T%lld as %s",
                  (long long)c->current_term, raft_role_name(c->role));
        raft_election_start(c, now_ms);
    }
}

uint64_t raft_core_next_deadline(const struct raft_core *c)
{
    if (c->role != RAFT_LEADER)
        return c->election_deadline_ms;
    uint64_t d = UINT64_MAX;
    for (int i = 0; i < c->cfg.n; i++) {
        const struct raft_progress *p = &c->peers[i];
        if (i == c->cfg.id)
            continue;
        uint64_t t = p->last_sent_ms + c->cfg.heartbeat_ms;
        if (t < d)
            d = t;
        /* A due commit notice waits for an in-flight message's reply. */
        if (p->commit_due_ms && !p->inflight && p->commit_due_ms < d)
            d = p->commit_due_ms;
    }
    if (c->batch_due_ms && c->batch_due_ms < d)
        d = c->batch_due_ms;
    return d;
}

/* Cheap sanity checks on a request from the network; the protocol code
 * then only meets values it can do arithmetic on. */
static bool request_valid(const struct raft_core *c, const struct raft_msg *m)
{
    if (m->from < 0 || m->from >= c->cfg.n || m->from == c->cfg.id)
        return false;
    if (m->term < 0 || m->term > RAFT_MAX_TERM ||
        m->term - c->current_term > RAFT_MAX_TERM_JUMP)
        return false;
    switch (m->type) {
    case RAFT_MSG_REQUEST_VOTE:
        return m->rv.last_log_index >= 0 &&
               m->rv.last_log_index <= RAFT_MAX_INDEX &&
               m->rv.last_log_term >= 0 && m->rv.last_log_term <= m->term;
    case RAFT_MSG_APPEND_ENTRIES:
        if (m->ae.prev_log_index < 0 ||
            m->ae.prev_log_index > RAFT_MAX_INDEX ||
            m->ae.prev_log_term < 0 || m->ae.prev_log_term > m->term ||
            m->ae.leader_commit < 0 ||
            m->ae.leader_commit > RAFT_MAX_INDEX ||
            m->ae.n_entries > (size_t)RAFT_MAX_INDEX ||
            (m->ae.n_entries > 0 && !m->ae.entries))
            return false;
        for (size_t i = 0; i < m->ae.n_entries; i++) {
            const struct raft_entry *e = &m->ae.entries[i];
            if (e->term < 0 || e->term > m->term || (e->len && !e->data))
                return false;
        }
        return true;
    case RAFT_MSG_INSTALL_SNAPSHOT:
        return m->is.last_included_index >= 0 &&
               m->is.last_included_index <= RAFT_MAX_INDEX &&
               m->is.last_included_term >= 0 &&
               m->is.last_included_term <= m->term &&
               (m->is.len == 0 || m->is.data);
    default:
        return false;
    }
}

int raft_core_recv_request(struct raft_core *c, const struct raft_msg *req,
                           struct raft_msg *reply, uint64_t now_ms)
{
    memset(reply, 0, sizeof(*reply));
    if (!request_valid(c, req))
        return ERR_BADARGS;
    reply->from = c->cfg.id;
    reply->to = req->from;
    switch (req->type) {
    case RAFT_MSG_REQUEST_VOTE:
        raft_election_recv_request_vote(c, req, reply, now_ms);
        break;
    case RAFT_MSG_APPEND_ENTRIES:
        raft_replication_recv_append_entries(c, req, reply, now_ms);
        break;
    case RAFT_MSG_INSTALL_SNAPSHOT:
        raft_snapshot_recv_install_snapshot(c, req, reply, now_ms);
        break;
    default:
        return ERR_BADARGS;
    }
    reply->type = (enum raft_msg_type)(req->type + 1);
    reply->term = c->current_term;
    return 0;
}

void raft_core_recv_reply(struct raft_core *c, const struct raft_msg *req,
                          const struct raft_msg *reply, uint64_t now_ms)
{
    if (req->from != c->cfg.id || req->to < 0 || req->to >= c->cfg.n ||
        req->to == c->cfg.id || reply->type != req->type + 1 ||
        reply->term < 0 || reply->term > RAFT_MAX_TERM ||
        reply->term - c->current_term > RAFT_MAX_TERM_JUMP)
        return;
    /* Figure 2, All Servers: "If RPC request or response contains term
     * T > currentTerm: set currentTerm = T, convert to follower". */
    if (reply->term > c->current_term) {
        raft_core_become_follower(c, reply->term, now_ms);
        return;
    }
    switch (req->type) {
    case RAFT_MSG_REQUEST_VOTE:
        raft_election_recv_request_vote_reply(c, req, reply, now_ms);
        break;
    case RAFT_MSG_APPEND_ENTRIES:
        raft_replication_recv_append_entries_reply(c, req, reply, now_ms);
        break;
    case RAFT_MSG_INSTALL_SNAPSHOT:
        raft_snapshot_recv_install_snapshot_reply(c, req, reply, now_ms);
        break;
    default:
        break;
    }
}

void raft_core_send_failed(struct raft_core *c, const struct raft_msg *req,
                           uint64_t now_ms)
{
    (void)now_ms;
    if (c->role != RAFT_LEADER || req->from != c->cfg.id ||
        req->term != c->current_term || req->to < 0 || req->to >= c->cfg.n ||
        req->to == c->cfg.id)
        return;
    /* The lost message no longer holds back new entries; they go out with
     * the next proposal or heartbeat (not at once, so that an unreachable
     * peer does not turn failures into a stream of retries). */
    if (req->type == RAFT_MSG_INSTALL_SNAPSHOT ||
        (req->type == RAFT_MSG_APPEND_ENTRIES && req->ae.n_entries > 0))
        c->peers[req->to].inflight = false;
}

int raft_core_propose(struct raft_core *c, const void *cmd, size_t len,
                      uint64_t now_ms, int64_t *index, int64_t *term)
{
    if (c->role != RAFT_LEADER)
        return ERR_WRONG_LEADER;
    /* Figure 2, Leaders: "If command received from client: append entry
     * to local log, respond after entry applied to state machine". */
    raft_log_append(&c->log, c->current_term, cmd, len);
    int64_t idx = raft_log_last_index(&c->log);
    log_debug("LEAD", c->cfg.id, "start index %lld in T%lld (%zu bytes)",
              (long long)idx, (long long)c->current_term, len);
    if (index)
        *index = idx;
    if (term)
        *term = c->current_term;
    /* A one-peer cluster commits on its own; otherwise replicate at the
     * end of the batch window (RAFT_BATCH_MS), which the first proposal
     * after the last send opens, rather than at the next heartbeat. */
    raft_replication_advance_commit(c, now_ms);
    if (c->cfg.batch_ms && c->batch_due_ms == 0)
        c->batch_due_ms = now_ms + c->cfg.batch_ms;
    raft_replication_flush(c, now_ms);
    return 0;
}

int raft_core_compact(struct raft_core *c, int64_t index, const void *snap,
                      size_t len)
{
    if (index <= c->log.snap_index)
        return 0;
    if (index > c->last_applied)
        return ERR_INVAL;
    int64_t term = raft_log_term_at(&c->log, index);
    assert(term >= 0);
    raft_log_compact(&c->log, index, term);
    raft_snapshot_set(c, snap, len);
    log_debug("SNAP", c->cfg.id, "service snapshot through %lld/T%lld, "
              "%zu bytes, log now %lld..%lld", (long long)index,
              (long long)term, len, (long long)index + 1,
              (long long)raft_log_last_index(&c->log));
    return 0;
}

/* ------------------------------------------------------------------------
 * Updates and applying */

bool raft_core_has_update(const struct raft_core *c)
{
    return c->out_len > 0 || c->snap_dirty ||
           c->log.changed_from != INT64_MAX ||
           c->current_term != c->taken_term || c->voted_for != c->taken_vote;
}

void raft_core_take_update(struct raft_core *c, struct raft_update *u)
{
    memset(u, 0, sizeof(*u));
    u->hard_changed =
        c->current_term != c->taken_term || c->voted_for != c->taken_vote;
    u->term = c->current_term;
    u->voted_for = c->voted_for;
    u->snap_changed = c->snap_dirty;
    u->snap_index = c->log.snap_index;
    u->snap_term = c->log.snap_term;
    u->snap = c->snap;
    u->snap_len = c->snap_len;
    u->log_from = c->log.changed_from;
    u->last_index = raft_log_last_index(&c->log);
    u->mark.term = c->current_term;
    u->mark.last_index = u->last_index;
    u->mark.last_term = raft_log_last_term(&c->log);
    /* §10.2.1: a leader's AppendEntries need not wait for its own disk,
     * provided its term is durable (else a crash could let it vote again
     * in a term it led). Everything else waits for the update. */
    bool early_ok = c->role == RAFT_LEADER &&
                    c->durable_term == c->current_term;
    for (size_t i = 0; i < c->out_len; i++) {
        struct raft_msg *m = c->out[i];
        m->early = early_ok && m->type == RAFT_MSG_APPEND_ENTRIES &&
                   m->term == c->current_term;
    }
    /* Hand out the filled array; the next messages go to the other one. */
    struct raft_msg **t = c->taken;
    size_t tcap = c->taken_cap;
    c->taken = c->out;
    c->taken_cap = c->out_cap;
    u->msgs = c->taken;
    u->n_msgs = c->out_len;
    c->out = t;
    c->out_cap = tcap;
    c->out_len = 0;

    c->taken_term = c->current_term;
    c->taken_vote = c->voted_for;
    c->snap_dirty = false;
    c->log.changed_from = INT64_MAX;
}

bool raft_update_changed(const struct raft_update *u)
{
    return u->hard_changed || u->snap_changed || u->log_from != INT64_MAX;
}

void raft_core_persisted_upto(struct raft_core *c, const struct raft_mark *m,
                              uint64_t now_ms)
{
    if (m->term > c->durable_term)
        c->durable_term = m->term;
    /* The entry at last_index still has the stored term: by Log Matching
     * the stored entries through it are the ones in memory (a truncation
     * since then lowered log.durable below anything it removed). */
    if (m->last_index > c->log.durable &&
        raft_log_term_at(&c->log, m->last_index) == m->last_term) {
        c->log.durable = m->last_index;
        raft_replication_advance_commit(c, now_ms); /* counts us now */
    }
}

void raft_core_encode_state(const struct raft_core *c, struct buf *out)
{
    raft_state_encode(c, out);
}

void raft_core_encode_head(const struct raft_core *c, struct buf *out)
{
    raft_state_encode_head(c, out);
}

void raft_core_encode_entry(const struct raft_core *c, int64_t index,
                            struct buf *out)
{
    const struct raft_log_entry *e = raft_log_get(&c->log, index);
    assert(e);
    raft_state_encode_entry(e->term, e->data, e->len, out);
}

const uint8_t *raft_core_snapshot(const struct raft_core *c, size_t *len)
{
    *len = c->snap_len;
    return c->snap;
}

bool raft_core_has_apply(const struct raft_core *c)
{
    return c->log.snap_index > c->last_applied ||
           c->commit_index > c->last_applied;
}

bool raft_core_next_apply(struct raft_core *c, struct raft_apply *out)
{
    memset(out, 0, sizeof(*out));
    if (c->log.snap_index > c->last_applied) {
        /* A snapshot from the leader replaced state we had not applied. */
        out->is_snapshot = true;
        out->index = c->log.snap_index;
        out->term = c->log.snap_term;
        out->data = c->snap;
        out->len = c->snap_len;
        c->last_applied = c->log.snap_index;
        return true;
    }
    if (c->commit_index > c->last_applied) {
        const struct raft_log_entry *e =
            raft_log_get(&c->log, c->last_applied + 1);
        assert(e); /* commit_index <= last index, snap_index <= applied */
        c->last_applied++;
        out->index = c->last_applied;
        out->term = e->term;
        out->data = e->data;
        out->len = e->len;
        return true;
    }
    return false;
}

/* ------------------------------------------------------------------------
 * Introspection */

int raft_core_id(const struct raft_core *c) { return c->cfg.id; }
int raft_core_npeers(const struct raft_core *c) { return c->cfg.n; }
int64_t raft_core_term(const struct raft_core *c) { return c->current_term; }
enum raft_role raft_core_role(const struct raft_core *c) { return c->role; }
int raft_core_voted_for(const struct raft_core *c) { return c->voted_for; }
int raft_core_leader(const struct raft_core *c) { return c->leader; }

int64_t raft_core_commit_index(const struct raft_core *c)
{
    return c->commit_index;
}

int64_t raft_core_last_applied(const struct raft_core *c)
{
    return c->last_applied;
}

int64_t raft_core_snapshot_index(const struct raft_core *c)
{
    return c->log.snap_index;
}

int64_t raft_core_snapshot_term(const struct raft_core *c)
{
    return c->log.snap_term;
}

int64_t raft_core_last_index(const struct raft_core *c)
{
    return raft_log_last_index(&c->log);
}

int64_t raft_core_term_at(const struct raft_core *c, int64_t index)
{
    return raft_log_term_at(&c->log, index);
}

bool raft_core_entry(const struct raft_core *c, int64_t index,
                     struct raft_entry *out)
{
    const struct raft_log_entry *e = raft_log_get(&c->log, index);
    if (!e)
        return false;
    out->term = e->term;
    out->data = e->data;
    out->len = e->len;
    return true;
}

bool raft_core_progress(const struct raft_core *c, int peer,
                        int64_t *next_index, int64_t *match_index)
{
    if (c->role != RAFT_LEADER || peer < 0 || peer >= c->cfg.n ||
        peer == c->cfg.id)
        return false;
    if (next_index)
        *next_index = c->peers[peer].next_index;
    if (match_index)
        *match_index = c->peers[peer].match_index;
    return true;
}
