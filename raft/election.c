/* election.c - leader election (Raft §5.2, §5.4.1): starting an election,
 * the RequestVote RPC, and counting votes. */
/* SOLUTION FILE */
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "raft/raft_internal.h"

/* Figure 2, Candidates: "On conversion to candidate, start election:
 * increment currentTerm, vote for self, reset election timer, send
 * RequestVote RPCs to all other servers." */
void raft_election_start(struct raft_core *c, uint64_t now_ms)
{
    if (c->current_term >= RAFT_MAX_TERM) {
        /* Never persist a term the state decoder refuses. */
        log_error("VOTE", c->cfg.id, "term at its bound: no election");
        raft_core_reset_election_timer(c, now_ms);
        return;
    }
    c->role = RAFT_CANDIDATE;
    c->current_term++;
    c->voted_for = c->cfg.id;
    c->leader = -1;
    raft_core_reset_election_timer(c, now_ms);
    for (int i = 0; i < c->cfg.n; i++)
        c->peers[i].vote_granted = (i == c->cfg.id);
    log_debug("VOTE", c->cfg.id, "start election for T%lld, last %lld/T%lld",
              (long long)c->current_term,
              (long long)raft_log_last_index(&c->log),
              (long long)raft_log_last_term(&c->log));

    if (raft_core_quorum(c) == 1) { /* a cluster of one */
        raft_replication_become_leader(c, now_ms);
        return;
    }
    for (int i = 0; i < c->cfg.n; i++) {
        if (i == c->cfg.id)
            continue;
        struct raft_msg *m = xcalloc(1, sizeof(*m));
        m->type = RAFT_MSG_REQUEST_VOTE;
        m->to = i;
        m->rv.last_log_index = raft_log_last_index(&c->log);
        m->rv.last_log_term = raft_log_last_term(&c->log);
        raft_core_emit(c, m);
    }
}

/* §5.4.1: "Raft determines which of two logs is more up-to-date by
 * comparing the index and term of the last entries in the logs. If the
 * logs have last entries with different terms, then the log with the
 * later term is more up-to-date. If the logs end with the same term, then
 * whichever log is longer is more up-to-date." */
static bool candidate_up_to_date(const struct raft_core *c,
                                 const struct raft_msg *req)
{
    int64_t my_term = raft_log_last_term(&c->log);
    if (req->rv.last_log_term != my_term)
        return req->rv.last_log_term > my_term;
    return req->rv.last_log_index >= raft_log_last_index(&c->log);
}

/* RequestVote RPC, receiver implementation (Figure 2):
 *   1. Reply false if term < currentTerm (§5.1)
 *   2. If votedFor is null or candidateId, and candidate's log is at least
 *      as up-to-date as receiver's log, grant vote (§5.2, §5.4) */
void raft_election_recv_request_vote(struct raft_core *c,
                                     const struct raft_msg *req,
                                     struct raft_msg *reply, uint64_t now_ms)
{
    if (req->term > c->current_term)
        raft_core_become_follower(c, req->term, now_ms);
    reply->rvr.vote_granted = false;
    if (req->term < c->current_term) {
        log_debug("VOTE", c->cfg.id, "deny S%d: its T%lld < T%lld",
                  req->from, (long long)req->term,
                  (long long)c->current_term);
        return;
    }
    if (c->voted_for != -1 && c->voted_for != req->from) {
        log_debug("VOTE", c->cfg.id, "deny S%d: already voted S%d in T%lld",
                  req->from, c->voted_for, (long long)c->current_term);
        return;
    }
#ifndef RAFT_BUG_VOTE_WITHOUT_UPTODATE
    if (!candidate_up_to_date(c, req)) {
#else /* planted bug for labs/sim's teeth check: skip the §5.4.1 check */
    if (false && !candidate_up_to_date(c, req)) {
#endif
        log_debug("VOTE", c->cfg.id,
                  "deny S%d: its log %lld/T%lld behind mine %lld/T%lld",
                  req->from, (long long)req->rv.last_log_index,
                  (long long)req->rv.last_log_term,
                  (long long)raft_log_last_index(&c->log),
                  (long long)raft_log_last_term(&c->log));
        return;
    }
    c->voted_for = req->from; /* on disk before the reply (raft_core.h) */
    reply->rvr.vote_granted = true;
    /* Granting a vote resets the election timer (Figure 2, Followers). */
    raft_core_reset_election_timer(c, now_ms);
    log_debug("VOTE", c->cfg.id, "grant S%d in T%lld", req->from,
              (long long)c->current_term);
}

/* Figure 2, Candidates: "If votes received from majority of servers:
 * become leader." Votes are counted per peer, so a duplicated reply
 * cannot count twice. */
void raft_election_recv_request_vote_reply(struct raft_core *c,
                                           const struct raft_msg *req,
                                           const struct raft_msg *reply,
                                           uint64_t now_ms)
{
    if (c->role != RAFT_CANDIDATE || req->term != c->current_term ||
        !reply->rvr.vote_granted)
        return;
    c->peers[req->to].vote_granted = true;
    int votes = 0;
    for (int i = 0; i < c->cfg.n; i++)
        votes += c->peers[i].vote_granted;
    log_debug("VOTE", c->cfg.id, "vote from S%d in T%lld (%d/%d)", req->to,
              (long long)c->current_term, votes, c->cfg.n);
    if (votes >= raft_core_quorum(c))
        raft_replication_become_leader(c, now_ms);
}
