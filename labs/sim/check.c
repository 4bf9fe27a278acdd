/* check.c - the invariants (Raft paper, Figure 3), checked after every
 * step, plus the persist-before-send rule (held messages and replies
 * leave only with what they claim on the disk), the durable-commit rule
 * (a leader's new commit index is on a majority of disks: its early
 * AppendEntries may run ahead of its own) and the core's contracts.
 *
 * Ground truth is learned as the run goes, from every peer:
 *   truth[index]     the committed (term, command) and the service hash
 *                    after it, from commit indices and applies;
 *   leader_of[term]  who led each term, across all time;
 *   lm (hash table)  the first (command, previous term) seen at each
 *                    (index, term) in any log.
 * Checks stay cheap: a peer's log is walked from its top only as far as it
 * changed since the last step (a correct core only changes a suffix; a
 * whole-log walk also runs at elections, restarts, every 64 changes and
 * at the end). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "labs/sim/sim_internal.h"

void sim_fail(struct sim_world *w, const char *invariant, const char *fmt,
              ...)
{
    if (w->failed)
        return; /* the first violation is the one to explain */
    w->failed = true;
    w->invariant = invariant;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->why, sizeof(w->why), fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------------
 * Tables */

static struct sim_truth *truth_at(struct sim_world *w, int64_t index)
{
    if ((size_t)index >= w->truth_cap) {
        size_t cap = w->truth_cap ? w->truth_cap : 1024;
        while (cap <= (size_t)index)
            cap *= 2;
        w->truth = xrealloc(w->truth, cap * sizeof(*w->truth));
        memset(w->truth + w->truth_cap, 0,
               (cap - w->truth_cap) * sizeof(*w->truth));
        w->truth_cap = cap;
    }
    if (index > w->truth_max)
        w->truth_max = index;
    return &w->truth[index];
}

static int *leader_slot(struct sim_world *w, int64_t term)
{
    if ((size_t)term >= w->leader_cap) {
        size_t cap = w->leader_cap ? w->leader_cap : 256;
        while (cap <= (size_t)term)
            cap *= 2;
        w->leader_of = xrealloc(w->leader_of, cap * sizeof(int));
        for (size_t t = w->leader_cap; t < cap; t++)
            w->leader_of[t] = -1;
        w->leader_cap = cap;
    }
    if (term > w->max_term)
        w->max_term = term;
    return &w->leader_of[term];
}

static size_t lm_hash(int64_t index, int64_t term)
{
    return (size_t)sim_mix((uint64_t)index * UINT64_C(0x9e3779b97f4a7c15) ^
                           (uint64_t)term);
}

static void lm_grow(struct sim_world *w)
{
    struct sim_lm_slot *old = w->lm;
    size_t old_cap = w->lm_cap, cap = old_cap ? 2 * old_cap : 4096;
    w->lm = xcalloc(cap, sizeof(*w->lm));
    w->lm_cap = cap;
    for (size_t k = 0; k < old_cap; k++) {
        if (old[k].gen != w->lm_gen)
            continue;
        size_t h = lm_hash(old[k].index, old[k].term) & (cap - 1);
        while (w->lm[h].gen == w->lm_gen)
            h = (h + 1) & (cap - 1);
        w->lm[h] = old[k];
    }
    free(old);
}

/* The slot of (index, term); *fresh if nobody had that entry before. */
static struct sim_lm_slot *lm_get(struct sim_world *w, int64_t index,
                                  int64_t term, bool *fresh)
{
    if (2 * (w->lm_len + 1) > w->lm_cap)
        lm_grow(w);
    size_t mask = w->lm_cap - 1, h = lm_hash(index, term) & mask;
    for (;;) {
        struct sim_lm_slot *s = &w->lm[h];
        if (s->gen != w->lm_gen) {
            s->gen = w->lm_gen;
            s->index = index;
            s->term = term;
            w->lm_len++;
            *fresh = true;
            return s;
        }
        if (s->index == index && s->term == term) {
            *fresh = false;
            return s;
        }
        h = (h + 1) & mask;
    }
}

void sim_check_reset(struct sim_world *w)
{
    if (w->truth)
        memset(w->truth, 0, (size_t)(w->truth_max + 1) * sizeof(*w->truth));
    w->truth_max = 0;
    for (int64_t t = 0; t <= w->max_term && (size_t)t < w->leader_cap; t++)
        w->leader_of[t] = -1;
    w->max_term = 0;
    if (++w->lm_gen == 0) { /* wrapped: stale stamps could look current */
        memset(w->lm, 0, w->lm_cap * sizeof(*w->lm));
        w->lm_gen = 1;
    }
    w->lm_len = 0;
}

void sim_check_free(struct sim_world *w)
{
    free(w->truth);
    free(w->leader_of);
    free(w->lm);
    w->truth = NULL;
    w->leader_of = NULL;
    w->lm = NULL;
    w->truth_cap = w->leader_cap = w->lm_cap = 0;
}

/* ------------------------------------------------------------------------
 * Helpers */

/* Does peer c hold the committed entry t at index (or cover it with its
 * snapshot)? */
static bool holds(const struct raft_core *c, int64_t index,
                  const struct sim_truth *t)
{
    int64_t si = raft_core_snapshot_index(c);
    if (index < si)
        return true;
    if (index == si)
        return raft_core_snapshot_term(c) == t->term;
    struct raft_entry e;
    if (!raft_core_entry(c, index, &e) || e.term != t->term)
        return false;
    uint64_t id;
    return !(t->flags & SIM_T_CMD) ||
           (sim_cmd_id(e.data, e.len, &id) && id == t->cmd);
}

static void explain_missing(struct sim_world *w, int leader, int64_t term,
                            int64_t index, const struct sim_truth *t)
{
    const struct raft_core *c = w->peer[leader].core;
    int64_t have = raft_core_term_at(c, index);
    char there[48];
    if (have < 0)
        snprintf(there, sizeof(there), "no entry there");
    else
        snprintf(there, sizeof(there), "T%lld there", (long long)have);
    sim_fail(w, "Leader Completeness",
             "S%d leads T%lld but lacks index %lld (T%lld, cmd %llu), "
             "committed in a term <= %lld (first reported by S%d); it has "
             "%s (snapshot %lld, last %lld)",
             leader, (long long)term, (long long)index, (long long)t->term,
             (unsigned long long)(t->cmd & ~SIM_CMD_FINAL),
             (long long)t->bound, t->who, there,
             (long long)raft_core_snapshot_index(c),
             (long long)raft_core_last_index(c));
}

/* Leader Completeness when a commit becomes known (or is found to be from
 * an earlier term than thought): every current leader of a later term
 * must hold it. */
static void leaders_hold(struct sim_world *w, int64_t index)
{
    const struct sim_truth *t = &w->truth[index];
    for (int j = 0; j < w->n && !w->failed; j++) {
        const struct raft_core *c = w->peer[j].core;
        if (!c || raft_core_role(c) != RAFT_LEADER)
            continue;
        int64_t term = raft_core_term(c);
        if (term > t->bound && !holds(c, index, t))
            explain_missing(w, j, term, index, t);
    }
}

/* Peer i, in term `bound`, considers (index, term, cmd) committed. The
 * entry was committed in a term <= bound: a follower's commit index comes
 * from a leader of its current term or earlier. */
static void record_commit(struct sim_world *w, int i, int64_t index,
                          int64_t term, uint64_t cmd, bool have_cmd,
                          int64_t bound)
{
    if (index <= 0)
        return;
    struct sim_truth *t = truth_at(w, index);
    if (!(t->flags & SIM_T_COMMITTED)) {
        t->flags |= SIM_T_COMMITTED;
        t->term = term;
        t->bound = bound;
        t->who = (int8_t)i;
        if (have_cmd) {
            t->cmd = cmd;
            t->flags |= SIM_T_CMD;
        }
        leaders_hold(w, index);
        return;
    }
    if (t->term != term) {
        sim_fail(w, "State Machine Safety",
                 "S%d committed index %lld with term %lld, but S%d "
                 "committed it with term %lld", i, (long long)index,
                 (long long)term, t->who, (long long)t->term);
        return;
    }
    if (have_cmd) {
        if (!(t->flags & SIM_T_CMD)) {
            t->cmd = cmd;
            t->flags |= SIM_T_CMD;
        } else if (t->cmd != cmd) {
            sim_fail(w, "State Machine Safety",
                     "S%d committed cmd %llu at index %lld (T%lld), but S%d "
                     "committed cmd %llu there", i,
                     (unsigned long long)(cmd & ~SIM_CMD_FINAL),
                     (long long)index, (long long)term, t->who,
                     (unsigned long long)(t->cmd & ~SIM_CMD_FINAL));
            return;
        }
    }
    if (bound < t->bound) {
        t->bound = bound;
        leaders_hold(w, index);
    }
}

void sim_check_applied(struct sim_world *w, int i, int64_t index,
                       int64_t term, uint64_t cmd, bool have_cmd,
                       uint64_t hash)
{
    /* Applied implies committed. */
    record_commit(w, i, index, term, cmd, have_cmd,
                  raft_core_term(w->peer[i].core));
    if (w->failed)
        return;
    struct sim_truth *t = truth_at(w, index);
    if (!(t->flags & SIM_T_HASH)) {
        t->hash = hash;
        t->flags |= SIM_T_HASH;
    } else if (t->hash != hash) {
        sim_fail(w, "State Machine Safety",
                 "S%d's service state after index %lld (T%lld) differs from "
                 "another peer's: different commands were applied at or "
                 "before it", i, (long long)index, (long long)term);
    }
}

/* ------------------------------------------------------------------------
 * Log Matching */

/* Every entry (index, term) must carry the command and follow the term
 * that the first holder of (index, term) had: by induction, two logs
 * agreeing at (index, term) agree on everything before it that both
 * retain. Walks down from the top while entries differ from what peer i
 * had at the last check (all of them when full). */
static void log_walk(struct sim_world *w, int i, bool full)
{
    const struct raft_core *c = w->peer[i].core;
    struct sim_shadow *sh = &w->peer[i].sh;
    int64_t last = raft_core_last_index(c), si = raft_core_snapshot_index(c);
    if ((size_t)last >= sh->log_cap) {
        size_t cap = sh->log_cap ? sh->log_cap : 1024;
        while (cap <= (size_t)last)
            cap *= 2;
        sh->log = xrealloc(sh->log, cap * sizeof(*sh->log));
        sh->log_cap = cap;
    }
    bool changed = false;
    for (int64_t idx = last; idx > si; idx--) {
        struct raft_entry e;
        uint64_t id;
        if (!raft_core_entry(c, idx, &e)) {
            sim_fail(w, "Core contract",
                     "S%d: no entry %lld though its log spans %lld..%lld", i,
                     (long long)idx, (long long)si + 1, (long long)last);
            return;
        }
        if (!sim_cmd_id(e.data, e.len, &id)) {
            sim_fail(w, "Log Matching",
                     "S%d holds index %lld (T%lld) with %zu bytes that no "
                     "client proposed", i, (long long)idx,
                     (long long)e.term, e.len);
            return;
        }
        if (!full && idx <= sh->log_last && sh->log[idx].term == e.term &&
            sh->log[idx].cmd == id)
            break; /* unchanged from here down */
        int64_t prev = raft_core_term_at(c, idx - 1);
        bool fresh;
        struct sim_lm_slot *s = lm_get(w, idx, e.term, &fresh);
        if (fresh) {
            s->cmd = id;
            s->prev_term = prev;
            s->who = (int8_t)i;
        } else if (s->cmd != id || s->prev_term != prev) {
            sim_fail(w, "Log Matching",
                     "S%d holds index %lld T%lld = cmd %llu after an entry "
                     "of T%lld; S%d held index %lld T%lld = cmd %llu after "
                     "T%lld", i, (long long)idx, (long long)e.term,
                     (unsigned long long)(id & ~SIM_CMD_FINAL),
                     (long long)prev, s->who, (long long)idx,
                     (long long)e.term,
                     (unsigned long long)(s->cmd & ~SIM_CMD_FINAL),
                     (long long)s->prev_term);
            return;
        }
        sh->log[idx].term = e.term;
        sh->log[idx].cmd = id;
        changed = true;
    }
    sh->log_last = last;
    if (changed && !full && (++sh->log_changes & 63) == 0)
        log_walk(w, i, true);
}

/* ------------------------------------------------------------------------
 * Persistence */

void sim_disk_view_of(const struct raft_core *c, struct sim_disk_view *v)
{
    v->term = raft_core_term(c);
    v->vote = raft_core_voted_for(c);
    v->snap_index = raft_core_snapshot_index(c);
    v->snap_term = raft_core_snapshot_term(c);
    v->last = raft_core_last_index(c);
    v->last_term = raft_core_term_at(c, v->last);
}

void sim_check_durable(struct sim_world *w, int i,
                       const struct sim_disk_view *v)
{
    struct sim_shadow *sh = &w->peer[i].sh;
    sh->p_term = v->term;
    sh->p_vote = v->vote;
    sh->p_snap_index = v->snap_index;
    sh->p_snap_term = v->snap_term;
    sh->p_last = v->last;
    sh->p_last_term = v->last_term;
}

void sim_check_persisted(struct sim_world *w, int i)
{
    struct sim_disk_view v;
    sim_disk_view_of(w->peer[i].core, &v);
    sim_check_durable(w, i, &v);
}

/* Persistent state that changed must come with an update. */
static void disk_current(struct sim_world *w, int i)
{
    const struct raft_core *c = w->peer[i].core;
    const struct sim_shadow *sh = &w->peer[i].sh;
    if (raft_core_has_update(c) || w->peer[i].nwrites)
        return; /* (a slow write is on its way) */
    int64_t last = raft_core_last_index(c);
    if (raft_core_term(c) != sh->p_term ||
        raft_core_voted_for(c) != sh->p_vote ||
        raft_core_snapshot_index(c) != sh->p_snap_index ||
        raft_core_snapshot_term(c) != sh->p_snap_term || last != sh->p_last ||
        raft_core_term_at(c, last) != sh->p_last_term)
        sim_fail(w, "Persistence",
                 "S%d changed persistent state without an update: now "
                 "T%lld vote %d snap %lld/T%lld last %lld/T%lld, on disk "
                 "T%lld vote %d snap %lld/T%lld last %lld/T%lld",
                 i, (long long)raft_core_term(c), raft_core_voted_for(c),
                 (long long)raft_core_snapshot_index(c),
                 (long long)raft_core_snapshot_term(c), (long long)last,
                 (long long)raft_core_term_at(c, last),
                 (long long)sh->p_term, sh->p_vote,
                 (long long)sh->p_snap_index, (long long)sh->p_snap_term,
                 (long long)sh->p_last, (long long)sh->p_last_term);
}

void sim_check_outgoing(struct sim_world *w, int i, const struct raft_msg *m,
                        const struct raft_msg *reply)
{
    const struct sim_shadow *sh = &w->peer[i].sh;
    const char *rule = "Persist-before-send";
    if (!reply) {
        if (m->term > sh->p_term) {
            sim_fail(w, rule, "S%d sent %s in T%lld with T%lld on disk", i,
                     raft_msg_type_name(m->type), (long long)m->term,
                     (long long)sh->p_term);
            return;
        }
        switch (m->type) {
        case RAFT_MSG_REQUEST_VOTE:
            if (sh->p_term == m->term && sh->p_vote != i)
                sim_fail(w, rule,
                         "S%d asked for votes in T%lld with vote %d on disk",
                         i, (long long)m->term, sh->p_vote);
            else if (m->rv.last_log_index > sh->p_last)
                sim_fail(w, rule,
                         "S%d asked for votes with last index %lld, disk "
                         "holds %lld", i, (long long)m->rv.last_log_index,
                         (long long)sh->p_last);
            break;
        case RAFT_MSG_APPEND_ENTRIES:
            /* A leader's early AppendEntries may run ahead of its disk
             * (§10.2.1); durable_quorum() checks what that allows. */
            if (!m->early &&
                m->ae.prev_log_index + (int64_t)m->ae.n_entries > sh->p_last)
                sim_fail(w, rule,
                         "S%d sent entries through %lld, disk holds %lld", i,
                         (long long)(m->ae.prev_log_index +
                                     (int64_t)m->ae.n_entries),
                         (long long)sh->p_last);
            break;
        case RAFT_MSG_INSTALL_SNAPSHOT:
            if (m->is.last_included_index > sh->p_snap_index)
                sim_fail(w, rule,
                         "S%d sent snapshot %lld, disk holds snapshot %lld",
                         i, (long long)m->is.last_included_index,
                         (long long)sh->p_snap_index);
            break;
        default:
            sim_fail(w, "Core contract", "S%d popped a %s as a request", i,
                     raft_msg_type_name(m->type));
        }
        return;
    }
    if (reply->term > sh->p_term) {
        sim_fail(w, rule, "S%d answered %s in T%lld with T%lld on disk", i,
                 raft_msg_type_name(m->type), (long long)reply->term,
                 (long long)sh->p_term);
        return;
    }
    switch (m->type) {
    case RAFT_MSG_REQUEST_VOTE:
        if (reply->rvr.vote_granted &&
            (sh->p_term != reply->term || sh->p_vote != m->from))
            sim_fail(w, rule,
                     "S%d granted S%d its vote in T%lld with T%lld vote %d "
                     "on disk", i, m->from, (long long)reply->term,
                     (long long)sh->p_term, sh->p_vote);
        break;
    case RAFT_MSG_APPEND_ENTRIES:
        if (reply->aer.success &&
            m->ae.prev_log_index + (int64_t)m->ae.n_entries > sh->p_last)
            sim_fail(w, rule,
                     "S%d acknowledged entries through %lld, disk holds %lld",
                     i,
                     (long long)(m->ae.prev_log_index +
                                 (int64_t)m->ae.n_entries),
                     (long long)sh->p_last);
        break;
    case RAFT_MSG_INSTALL_SNAPSHOT:
        if (reply->term == m->term && m->is.last_included_index > sh->p_last)
            sim_fail(w, rule,
                     "S%d acknowledged snapshot %lld, disk holds through %lld",
                     i, (long long)m->is.last_included_index,
                     (long long)sh->p_last);
        break;
    default:
        break;
    }
}

void sim_check_booted(struct sim_world *w, int i)
{
    const struct raft_core *c = w->peer[i].core;
    struct sim_shadow *sh = &w->peer[i].sh;
    int64_t last = raft_core_last_index(c), si = raft_core_snapshot_index(c);
    if (raft_core_term(c) != sh->p_term ||
        raft_core_voted_for(c) != sh->p_vote || si != sh->p_snap_index ||
        raft_core_snapshot_term(c) != sh->p_snap_term || last != sh->p_last ||
        raft_core_term_at(c, last) != sh->p_last_term) {
        sim_fail(w, "Persistence",
                 "S%d came back as T%lld vote %d snap %lld/T%lld last "
                 "%lld/T%lld but persisted T%lld vote %d snap %lld/T%lld "
                 "last %lld/T%lld",
                 i, (long long)raft_core_term(c), raft_core_voted_for(c),
                 (long long)si, (long long)raft_core_snapshot_term(c),
                 (long long)last, (long long)raft_core_term_at(c, last),
                 (long long)sh->p_term, sh->p_vote,
                 (long long)sh->p_snap_index, (long long)sh->p_snap_term,
                 (long long)sh->p_last, (long long)sh->p_last_term);
        return;
    }
    if (raft_core_commit_index(c) != si || raft_core_last_applied(c) != si ||
        raft_core_role(c) != RAFT_FOLLOWER)
        sim_fail(w, "Core contract",
                 "S%d restored as %s with commit %lld, applied %lld (both "
                 "should be the snapshot index %lld)", i,
                 raft_role_name(raft_core_role(c)),
                 (long long)raft_core_commit_index(c),
                 (long long)raft_core_last_applied(c), (long long)si);
    sh->term = raft_core_term(c);
    sh->commit_seen = si;
    sh->lao_term = 0;
    sh->log_last = -1;
    sh->log_changes = 0;
    log_walk(w, i, true);
}

/* ------------------------------------------------------------------------
 * Per step */

/* Leader Completeness at an election: the new leader of `term` holds
 * every entry known to be committed in an earlier term. */
static void new_leader_complete(struct sim_world *w, int i, int64_t term)
{
    const struct raft_core *c = w->peer[i].core;
    int64_t from = raft_core_snapshot_index(c);
    for (int64_t idx = from > 1 ? from : 1; idx <= w->truth_max; idx++) {
        const struct sim_truth *t = &w->truth[idx];
        if ((t->flags & SIM_T_COMMITTED) && t->bound < term &&
            !holds(c, idx, t)) {
            explain_missing(w, i, term, idx, t);
            return;
        }
    }
}

/* Leader Append-Only: while leader of a term, the entry at the previous
 * last index stays put (same term, same command) and the log never
 * shrinks. */
static void append_only(struct sim_world *w, int i, int64_t term)
{
    const struct raft_core *c = w->peer[i].core;
    struct sim_shadow *sh = &w->peer[i].sh;
    int64_t last = raft_core_last_index(c), si = raft_core_snapshot_index(c);
    struct raft_entry e;
    uint64_t id = 0;
    if (sh->lao_term == term) {
        if (last < sh->lao_last) {
            sim_fail(w, "Leader Append-Only",
                     "S%d, leader of T%lld, shrank its log from %lld to %lld",
                     i, (long long)term, (long long)sh->lao_last,
                     (long long)last);
            return;
        }
        if (sh->lao_last > si &&
            (!raft_core_entry(c, sh->lao_last, &e) ||
             !sim_cmd_id(e.data, e.len, &id) || e.term != sh->lao_last_term ||
             id != sh->lao_cmd)) {
            sim_fail(w, "Leader Append-Only",
                     "S%d, leader of T%lld, replaced its entry %lld "
                     "(T%lld cmd %llu)", i, (long long)term,
                     (long long)sh->lao_last, (long long)sh->lao_last_term,
                     (unsigned long long)(sh->lao_cmd & ~SIM_CMD_FINAL));
            return;
        }
    }
    sh->lao_term = term;
    sh->lao_last = last;
    sh->lao_last_term = raft_core_term_at(c, last);
    sh->lao_cmd = 0;
    if (last > si && raft_core_entry(c, last, &e) &&
        sim_cmd_id(e.data, e.len, &id))
        sh->lao_cmd = id;
}

/* Election Safety: peer i leads `term`, and nobody else ever did. The
 * first time, the new leader must hold every committed entry. */
static void note_leader(struct sim_world *w, int i, int64_t term)
{
    const struct raft_core *c = w->peer[i].core;
    int *slot = leader_slot(w, term);
    if (*slot < 0) {
        *slot = i;
        w->stats.elections++;
        int64_t last = raft_core_last_index(c);
        sim_trace_note(w, SIM_TR_LEADER, i, -1, term, last,
                       raft_core_term_at(c, last));
        w->peer[i].sh.lao_term = 0;
        log_walk(w, i, true);
        if (!w->failed)
            new_leader_complete(w, i, term);
    } else if (*slot != i) {
        sim_fail(w, "Election Safety",
                 "S%d and S%d are both leaders of term %lld", *slot, i,
                 (long long)term);
    }
}

/* A leader's new commit index must be on the disks of a majority: it
 * may send entries before its own copy is durable (§10.2.1), but counts
 * itself only once it is. (Disks record the last index only, so this
 * checks lengths, which suffices against counting an unwritten copy.) */
static void durable_quorum(struct sim_world *w, int i, int64_t commit)
{
    int have = 0;
    for (int j = 0; j < w->n; j++)
        have += w->peer[j].sh.p_last >= commit;
    if (2 * have <= w->n)
        sim_fail(w, "Durable commit",
                 "S%d committed %lld as leader of T%lld, but only %d of %d "
                 "disks hold that index", i, (long long)commit,
                 (long long)raft_core_term(w->peer[i].core), have, w->n);
}

static void check_peer(struct sim_world *w, int i)
{
    struct sim_peer *p = &w->peer[i];
    const struct raft_core *c = p->core;
    struct sim_shadow *sh = &p->sh;
    int64_t term = raft_core_term(c);
    if (term < sh->term) {
        sim_fail(w, "Core contract", "S%d's term went back from %lld to %lld",
                 i, (long long)sh->term, (long long)term);
        return;
    }
    sh->term = term;
    disk_current(w, i);
    int64_t commit = raft_core_commit_index(c);
    int64_t applied = raft_core_last_applied(c);
    int64_t last = raft_core_last_index(c);
    int64_t si = raft_core_snapshot_index(c);
    if (!(si <= applied && applied <= commit && commit <= last) ||
        applied != p->svc.applied || commit < sh->commit_seen ||
        raft_core_has_apply(c)) {
        sim_fail(w, "Core contract",
                 "S%d: snapshot %lld, applied %lld (service %lld), commit "
                 "%lld (was %lld), last %lld, has_apply %d", i,
                 (long long)si, (long long)applied, (long long)p->svc.applied,
                 (long long)commit, (long long)sh->commit_seen,
                 (long long)last, raft_core_has_apply(c));
        return;
    }

    /* Election Safety: at most one leader per term, over all time. */
    enum raft_role role = raft_core_role(c);
    int claimed = raft_core_leader(c);
    if (role == RAFT_LEADER) {
        note_leader(w, i, term);
        if (claimed != i && !w->failed)
            sim_fail(w, "Core contract", "S%d leads T%lld but names S%d",
                     i, (long long)term, claimed);
        if (!w->failed)
            append_only(w, i, term);
    } else {
        sh->lao_term = 0;
        if (claimed >= 0 && *leader_slot(w, term) != claimed)
            sim_fail(w, "Election Safety",
                     "S%d follows S%d as leader of T%lld, but %s", i,
                     claimed, (long long)term,
                     *leader_slot(w, term) < 0 ? "nobody won that term"
                                               : "another peer led it");
    }
    if (w->failed)
        return;

    if (role == RAFT_LEADER && commit > sh->commit_seen && commit > si)
        durable_quorum(w, i, commit);
    if (w->failed)
        return;
    /* Commits: any peer's commit index is evidence of a commit decision. */
    int64_t from = sh->commit_seen + 1;
    if (from < si)
        from = si;
    for (int64_t idx = from; idx <= commit && !w->failed; idx++) {
        if (idx == si) {
            record_commit(w, i, idx, raft_core_snapshot_term(c), 0, false,
                          term);
            continue;
        }
        struct raft_entry e;
        uint64_t id = 0;
        bool have = raft_core_entry(c, idx, &e) &&
                    sim_cmd_id(e.data, e.len, &id);
        record_commit(w, i, idx, raft_core_term_at(c, idx), id, have, term);
    }
    sh->commit_seen = commit;
    if (!w->failed)
        log_walk(w, i, w->opt.full_check);
}

void sim_check_crashing(struct sim_world *w, int i)
{
    const struct raft_core *c = w->peer[i].core;
    if (raft_core_role(c) != RAFT_LEADER)
        return;
    /* It won an election in this event and may have told the others
     * (early heartbeats): the win counts as if the step had ended. */
    note_leader(w, i, raft_core_term(c));
}

void sim_check_step(struct sim_world *w)
{
    for (int i = 0; i < w->n && !w->failed; i++)
        if (w->peer[i].core)
            check_peer(w, i);
}

void sim_check_final(struct sim_world *w)
{
    for (int i = 0; i < w->n && !w->failed; i++)
        if (w->peer[i].core)
            log_walk(w, i, true);
}
