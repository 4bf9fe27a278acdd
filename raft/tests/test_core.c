/* test_core.c - unit tests of the deterministic Raft core (raft_core.h),
 * driven by hand-fed events: elections, vote rules, the AppendEntries
 * consistency check and its conflict hints, the commit rule, snapshots,
 * persistence, restart. A tiny synchronous "network" (struct cluster)
 * delivers messages in FIFO order for the multi-peer tests. Every core's
 * updates go through raft_ready_run() (raft/ready.h) with a synchronous
 * "disk", into one outbox the tests pop from (pop()). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "raft/raft_core.h"
#include "raft/ready.h"

/* ------------------------------------------------------------------------
 * Fixture: up to 5 cores, a fake persister per core, a FIFO network */

#define MAXN 5

struct cluster {
    int n;
    uint64_t now;
    struct raft_core *c[MAXN];
    bool up[MAXN];         /* connected to the network */
    struct buf state[MAXN]; /* "persisted" state and snapshot */
    struct buf snap[MAXN];
    int64_t applied[MAXN]; /* last index the fake service applied */
    int64_t napplied_snap[MAXN];
    uint64_t delivered;    /* requests delivered */
    uint32_t batch_ms;     /* the cores' batch window */
};

/* Proposals go out at once in these tests (batch_ms 0), which step the
 * protocol message by message; test_batch_window covers the window. */
static struct raft_core *new_core_batch(int id, int n, uint64_t seed,
                                        uint64_t now, uint32_t batch_ms)
{
    struct raft_core_config cfg;
    raft_core_config_init(&cfg, id, n, seed);
    cfg.batch_ms = batch_ms;
    struct raft_core *c = raft_core_new(&cfg, now);
    assert_non_null(c);
    return c;
}

static struct raft_core *new_core_at(int id, int n, uint64_t seed,
                                     uint64_t now)
{
    return new_core_batch(id, n, seed, now, 0);
}

static struct raft_core *new_core(int id, int n, uint64_t seed)
{
    return new_core_at(id, n, seed, 0);
}

/* raft_ready_run()'s callbacks for the tests: a disk that is durable at
 * once (the state blob and the snapshot, if given), an outbox for
 * requests, and the reply of an event handed back. */
struct disk {
    struct raft_core *c;
    struct buf *state, *snap; /* NULL: not kept */
    bool changed;             /* some update carried state */
    bool replied;             /* the event's reply was released */
};

#define MAXOUT 4096
static struct {
    struct raft_core *c;
    struct raft_msg *m;
} outq[MAXOUT];
static size_t outn;

static enum raft_ready_stored disk_persist(void *ctx, struct raft_core *c,
                                           const struct raft_update *u)
{
    struct disk *d = ctx;
    if (!raft_update_changed(u))
        return RAFT_READY_DURABLE;
    d->changed = true;
    if (d->state) {
        buf_clear(d->state);
        raft_core_encode_state(c, d->state);
        buf_clear(d->snap);
        if (u->snap_len)
            buf_append(d->snap, u->snap, u->snap_len);
    }
    return RAFT_READY_DURABLE;
}

static void outbox_send(void *ctx, struct raft_msg *m, bool held)
{
    struct disk *d = ctx;
    assert_false(held);
    assert_true(outn < MAXOUT);
    outq[outn].c = d->c;
    outq[outn].m = m;
    outn++;
}

static void disk_reply(void *ctx, const struct raft_msg *reply, bool held)
{
    struct disk *d = ctx;
    (void)reply;
    assert_false(held);
    d->replied = true;
}

static const struct raft_ready_ops test_ops = {
    .persist = disk_persist,
    .send = outbox_send,
    .reply = disk_reply,
    .apply = NULL, /* apply() below checks the order itself */
};

/* Carry out c's updates (state kept in state/snap if not NULL); true if
 * any of them carried state to store. */
static bool settle_to(struct raft_core *c, struct buf *state, struct buf *snap)
{
    struct disk d = {c, state, snap, false, false};
    assert_true(raft_ready_run(c, &test_ops, &d, NULL, 0));
    return d.changed;
}

static bool settle(struct raft_core *c)
{
    return settle_to(c, NULL, NULL);
}

/* c's next request, once its updates are carried out; NULL if none. */
static struct raft_msg *pop(struct raft_core *c)
{
    settle(c);
    for (size_t k = 0; k < outn; k++) {
        if (outq[k].c != c)
            continue;
        struct raft_msg *m = outq[k].m;
        memmove(&outq[k], &outq[k + 1], (outn - k - 1) * sizeof(outq[0]));
        outn--;
        return m;
    }
    return NULL;
}

static void core_free(struct raft_core *c)
{
    size_t keep = 0;
    for (size_t k = 0; k < outn; k++) {
        if (outq[k].c == c)
            raft_msg_free(outq[k].m);
        else
            outq[keep++] = outq[k];
    }
    outn = keep;
    raft_core_free(c);
}

static void persist(struct cluster *cl, int i)
{
    settle_to(cl->c[i], &cl->state[i], &cl->snap[i]);
}

/* Peer `to` handles request m; its reply reaches the sender once the
 * update it depends on is stored. */
static void deliver(struct cluster *cl, int from, const struct raft_msg *m)
{
    int to = m->to;
    struct raft_msg reply;
    assert_int_equal(raft_core_recv_request(cl->c[to], m, &reply, cl->now),
                     0);
    struct disk d = {cl->c[to], &cl->state[to], &cl->snap[to], false, false};
    assert_true(raft_ready_run(cl->c[to], &test_ops, &d, &reply, cl->now));
    assert_true(d.replied);
    raft_core_recv_reply(cl->c[from], m, &reply, cl->now);
}

/* Apply whatever is ready, checking the 6.5840 applier rules: commands
 * arrive in order with no gaps, snapshots only move forward. */
static void apply(struct cluster *cl, int i)
{
    struct raft_apply a;
    while (raft_core_next_apply(cl->c[i], &a)) {
        if (a.is_snapshot) {
            assert_true(a.index > cl->applied[i]);
            cl->applied[i] = a.index;
            cl->napplied_snap[i]++;
        } else {
            assert_int_equal(a.index, cl->applied[i] + 1);
            cl->applied[i] = a.index;
        }
    }
}

static void cluster_init_batch(struct cluster *cl, int n, uint32_t batch_ms)
{
    memset(cl, 0, sizeof(*cl));
    cl->n = n;
    cl->batch_ms = batch_ms;
    for (int i = 0; i < n; i++) {
        cl->c[i] = new_core_batch(i, n, 1000 + (uint64_t)i, 0, batch_ms);
        cl->up[i] = true;
        buf_init(&cl->state[i]);
        buf_init(&cl->snap[i]);
    }
}

static void cluster_init(struct cluster *cl, int n)
{
    cluster_init_batch(cl, n, 0);
}

static void cluster_free(struct cluster *cl)
{
    for (int i = 0; i < cl->n; i++) {
        core_free(cl->c[i]);
        buf_free(&cl->state[i]);
        buf_free(&cl->snap[i]);
    }
}

/* Crash peer i and restart it from its persisted state. */
static void cluster_restart(struct cluster *cl, int i)
{
    core_free(cl->c[i]);
    cl->c[i] = new_core_batch(i, cl->n, 7000 + cl->now * 31 + (uint64_t)i,
                              cl->now, cl->batch_ms);
    assert_int_equal(raft_core_restore(cl->c[i], cl->state[i].data,
                                       cl->state[i].len, cl->snap[i].data,
                                       cl->snap[i].len),
                     0);
    cl->applied[i] = raft_core_snapshot_index(cl->c[i]);
}

/* Deliver every queued message (and the ones they cause) in FIFO order.
 * Messages to or from a disconnected peer fail. */
static void cluster_settle(struct cluster *cl)
{
    bool progress = true;
    while (progress) {
        progress = false;
        for (int i = 0; i < cl->n; i++) {
            persist(cl, i);
            struct raft_msg *m;
            while ((m = pop(cl->c[i])) != NULL) {
                progress = true;
                int to = m->to;
                if (!cl->up[i] || !cl->up[to]) {
                    raft_core_send_failed(cl->c[i], m, cl->now);
                } else {
                    cl->delivered++;
                    deliver(cl, i, m);
                    apply(cl, to);
                }
                raft_msg_free(m);
                persist(cl, i);
            }
            apply(cl, i);
        }
    }
}

/* Advance time in 10 ms ticks, settling the network after each. */
static void cluster_run(struct cluster *cl, uint64_t ms)
{
    uint64_t end = cl->now + ms;
    while (cl->now < end) {
        cl->now += 10;
        for (int i = 0; i < cl->n; i++)
            raft_core_tick(cl->c[i], cl->now);
        cluster_settle(cl);
    }
}

static int cluster_leader(struct cluster *cl)
{
    int leader = -1;
    int64_t best = -1;
    for (int i = 0; i < cl->n; i++)
        if (cl->up[i] && raft_core_role(cl->c[i]) == RAFT_LEADER &&
            raft_core_term(cl->c[i]) > best) {
            best = raft_core_term(cl->c[i]);
            leader = i;
        }
    return leader;
}

static int64_t propose_str(struct cluster *cl, int i, const char *s)
{
    int64_t index = -1, term = -1;
    assert_int_equal(raft_core_propose(cl->c[i], s, strlen(s), cl->now,
                                       &index, &term),
                     0);
    return index;
}

/* An AppendEntries request (no entries) from peer `from`. */
static struct raft_msg ae_req(int from, int64_t term, int64_t prev,
                              int64_t prev_term, int64_t commit)
{
    struct raft_msg m = {0};
    m.type = RAFT_MSG_APPEND_ENTRIES;
    m.from = from;
    m.term = term;
    m.ae.prev_log_index = prev;
    m.ae.prev_log_term = prev_term;
    m.ae.leader_commit = commit;
    return m;
}

/* Append entries with the given terms directly to a lone core by feeding
 * it an AppendEntries from a fake leader (peer `from` in term `term`). */
static void feed_entries(struct raft_core *c, int from, int64_t term,
                         int64_t prev, int64_t prev_term,
                         const int64_t *terms, size_t n, int64_t commit)
{
    struct raft_entry es[64];
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++) {
        es[i].term = terms[i];
        es[i].data = (const uint8_t *)"x";
        es[i].len = 1;
    }
    struct raft_msg m = ae_req(from, term, prev, prev_term, commit);
    m.ae.entries = es;
    m.ae.n_entries = n;
    struct raft_msg reply;
    assert_int_equal(raft_core_recv_request(c, &m, &reply, 0), 0);
    assert_true(reply.aer.success);
    settle(c);
}

static struct raft_msg vote_req(int from, int64_t term, int64_t last_index,
                                int64_t last_term)
{
    struct raft_msg m = {0};
    m.type = RAFT_MSG_REQUEST_VOTE;
    m.from = from;
    m.term = term;
    m.rv.last_log_index = last_index;
    m.rv.last_log_term = last_term;
    return m;
}

/* A positive reply of the given type in term (a granted vote, a
 * successful AppendEntries). */
static struct raft_msg yes_reply(enum raft_msg_type type, int64_t term)
{
    struct raft_msg m = {0};
    m.type = type;
    m.term = term;
    if (type == RAFT_MSG_REQUEST_VOTE_REPLY)
        m.rvr.vote_granted = true;
    else
        m.aer.success = true;
    return m;
}

/* ------------------------------------------------------------------------
 * Elections */

/* A follower that hears nothing becomes a candidate when its randomized
 * timeout expires (within [300, 600) ms), votes for itself, bumps its term,
 * must persist before asking for votes, then asks every other peer. */
static void test_election_on_timeout(void **state)
{
    (void)state;
    struct raft_core *c = new_core(0, 3, 42);
    uint64_t d = raft_core_next_deadline(c);
    assert_true(d >= RAFT_ELECTION_MIN_MS && d < RAFT_ELECTION_MAX_MS);
    raft_core_tick(c, d - 1);
    assert_int_equal(raft_core_role(c), RAFT_FOLLOWER);
    assert_false(settle(c));
    raft_core_tick(c, d);
    assert_int_equal(raft_core_role(c), RAFT_CANDIDATE);
    assert_int_equal(raft_core_term(c), 1);
    assert_int_equal(raft_core_voted_for(c), 0);
    assert_true(settle(c));
    settle(c);
    int seen = 0;
    struct raft_msg *m;
    while ((m = pop(c)) != NULL) {
        assert_int_equal(m->type, RAFT_MSG_REQUEST_VOTE);
        assert_int_equal(m->term, 1);
        assert_int_equal(m->from, 0);
        seen |= 1 << m->to;
        raft_msg_free(m);
    }
    assert_int_equal(seen, 0x6);
    /* The next timeout starts another election in a new term. */
    uint64_t d2 = raft_core_next_deadline(c);
    assert_true(d2 >= d + RAFT_ELECTION_MIN_MS);
    raft_core_tick(c, d2);
    assert_int_equal(raft_core_term(c), 2);
    core_free(c);
}

/* One granted vote out of two peers is a majority of three. Duplicate
 * replies don't count twice; stale-term replies count not at all. */
static void test_election_counting(void **state)
{
    (void)state;
    struct raft_core *c = new_core(0, 5, 1);
    raft_core_tick(c, 1000);
    settle(c);
    struct raft_msg *reqs[4];
    for (int i = 0; i < 4; i++)
        reqs[i] = pop(c);
    struct raft_msg yes = yes_reply(RAFT_MSG_REQUEST_VOTE_REPLY, 1);
    raft_core_recv_reply(c, reqs[0], &yes, 1001);
    raft_core_recv_reply(c, reqs[0], &yes, 1001); /* duplicate */
    assert_int_equal(raft_core_role(c), RAFT_CANDIDATE);
    raft_core_recv_reply(c, reqs[1], &yes, 1002);
    assert_int_equal(raft_core_role(c), RAFT_LEADER);
    assert_int_equal(raft_core_leader(c), 0);
    /* A leader sends heartbeats to everybody at once. */
    int hb = 0;
    struct raft_msg *m;
    while ((m = pop(c)) != NULL) {
        assert_int_equal(m->type, RAFT_MSG_APPEND_ENTRIES);
        assert_int_equal(m->ae.n_entries, 0);
        hb++;
        raft_msg_free(m);
    }
    assert_int_equal(hb, 4);
    /* A reply with a higher term makes it step down. */
    struct raft_msg higher = yes;
    higher.term = 5;
    higher.rvr.vote_granted = false;
    raft_core_recv_reply(c, reqs[2], &higher, 1003);
    assert_int_equal(raft_core_role(c), RAFT_FOLLOWER);
    assert_int_equal(raft_core_term(c), 5);
    assert_int_equal(raft_core_voted_for(c), -1);
    assert_true(settle(c));
    for (int i = 0; i < 4; i++)
        raft_msg_free(reqs[i]);
    core_free(c);
}

/* RequestVote receiver rules: reject lower terms; one vote per term;
 * §5.4.1 up-to-date check (later last term wins, same term: longer wins);
 * a higher term clears the old vote. */
static void test_vote_rules(void **state)
{
    (void)state;
    struct raft_core *c = new_core(0, 3, 3);
    const int64_t terms[] = {1, 1, 2};
    feed_entries(c, 1, 2, 0, 0, terms, 3, 0); /* log: T1 T1 T2, term 2 */
    assert_int_equal(raft_core_term(c), 2);
    struct raft_msg reply;

    struct raft_msg r = vote_req(2, 1, 10, 1); /* stale term */
    assert_int_equal(raft_core_recv_request(c, &r, &reply, 0), 0);
    assert_false(reply.rvr.vote_granted);
    assert_int_equal(reply.term, 2);

    r = vote_req(2, 3, 10, 1); /* longer, but older last term */
    assert_int_equal(raft_core_recv_request(c, &r, &reply, 0), 0);
    assert_false(reply.rvr.vote_granted);
    assert_int_equal(raft_core_term(c), 3); /* term adopted anyway */
    assert_int_equal(raft_core_voted_for(c), -1);

    r = vote_req(2, 3, 2, 2); /* same last term, shorter */
    assert_int_equal(raft_core_recv_request(c, &r, &reply, 0), 0);
    assert_false(reply.rvr.vote_granted);

    r = vote_req(2, 3, 3, 2); /* same last term, same length: ok */
    settle(c);
    assert_int_equal(raft_core_recv_request(c, &r, &reply, 0), 0);
    assert_true(reply.rvr.vote_granted);
    assert_int_equal(raft_core_voted_for(c), 2);
    assert_true(settle(c)); /* vote must be on disk */
    settle(c);

    r = vote_req(2, 3, 3, 2); /* same candidate again (lost reply) */
    assert_int_equal(raft_core_recv_request(c, &r, &reply, 0), 0);
    assert_true(reply.rvr.vote_granted);

    r = vote_req(1, 3, 9, 3); /* other candidate, same term */
    assert_int_equal(raft_core_recv_request(c, &r, &reply, 0), 0);
    assert_false(reply.rvr.vote_granted);

    r = vote_req(1, 4, 1, 3); /* new term, later last term: ok */
    assert_int_equal(raft_core_recv_request(c, &r, &reply, 0), 0);
    assert_true(reply.rvr.vote_granted);
    assert_int_equal(raft_core_voted_for(c), 1);

    /* Malformed requests change nothing. */
    r = vote_req(0, 9, 0, 0); /* from self */
    assert_int_equal(raft_core_recv_request(c, &r, &reply, 0), ERR_BADARGS);
    r = vote_req(7, 9, 0, 0); /* no such peer */
    assert_int_equal(raft_core_recv_request(c, &r, &reply, 0), ERR_BADARGS);
    r = vote_req(1, -1, 0, 0);
    assert_int_equal(raft_core_recv_request(c, &r, &reply, 0), ERR_BADARGS);
    assert_int_equal(raft_core_term(c), 4);
    core_free(c);
}

/* A granted vote resets the election timer; a denied one doesn't. */
static void test_vote_resets_timer(void **state)
{
    (void)state;
    struct raft_core *c = new_core(0, 3, 5);
    uint64_t d0 = raft_core_next_deadline(c);
    struct raft_msg reply;
    struct raft_msg r = vote_req(1, 1, 0, 0);
    assert_int_equal(raft_core_recv_request(c, &r, &reply, 250), 0);
    assert_true(reply.rvr.vote_granted);
    assert_true(raft_core_next_deadline(c) >= 250 + RAFT_ELECTION_MIN_MS);
    uint64_t d1 = raft_core_next_deadline(c);
    r = vote_req(2, 1, 0, 0);
    assert_int_equal(raft_core_recv_request(c, &r, &reply, 260), 0);
    assert_false(reply.rvr.vote_granted);
    assert_true(raft_core_next_deadline(c) == d1);
    (void)d0;
    core_free(c);
}

/* ------------------------------------------------------------------------
 * AppendEntries */

/* The consistency check and the fast-backup hints (XTerm/XIndex/XLen). */
static void test_append_consistency(void **state)
{
    (void)state;
    struct raft_core *c = new_core(0, 3, 9);
    const int64_t terms[] = {1, 1, 2, 2, 2}; /* indices 1..5 */
    feed_entries(c, 1, 2, 0, 0, terms, 5, 0);
    struct raft_msg reply;

    /* Too short: no entry at 7. */
    struct raft_msg m = ae_req(1, 3, 7, 3, 0);
    assert_int_equal(raft_core_recv_request(c, &m, &reply, 0), 0);
    assert_false(reply.aer.success);
    assert_int_equal(reply.aer.conflict_term, 0);
    assert_int_equal(reply.aer.log_len, 6);
    assert_int_equal(reply.term, 3);

    /* Wrong term at 5: conflict term 2, which starts at 3. */
    m = ae_req(1, 3, 5, 3, 0);
    assert_int_equal(raft_core_recv_request(c, &m, &reply, 0), 0);
    assert_false(reply.aer.success);
    assert_int_equal(reply.aer.conflict_term, 2);
    assert_int_equal(reply.aer.conflict_index, 3);

    /* Stale leader: rejected with our term, nothing changes. */
    m = ae_req(2, 1, 0, 0, 0);
    assert_int_equal(raft_core_recv_request(c, &m, &reply, 0), 0);
    assert_false(reply.aer.success);
    assert_int_equal(reply.term, 3);
    assert_int_equal(raft_core_leader(c), 1);

    /* Matching prefix at 3, conflicting entry at 4: truncate 4..5 and
     * append; commit = min(leaderCommit, last new entry). */
    settle(c);
    const int64_t nt[] = {3};
    struct raft_entry es[1] = {{3, (const uint8_t *)"y", 1}};
    (void)nt;
    m = ae_req(1, 3, 3, 2, 100);
    m.ae.entries = es;
    m.ae.n_entries = 1;
    assert_int_equal(raft_core_recv_request(c, &m, &reply, 0), 0);
    assert_true(reply.aer.success);
    assert_true(settle(c));
    assert_int_equal(raft_core_last_index(c), 4);
    assert_int_equal(raft_core_term_at(c, 4), 3);
    assert_int_equal(raft_core_commit_index(c), 4);
    settle(c);

    /* A delayed, older AppendEntries whose entries we already hold does
     * not truncate anything (and needs no persist). */
    struct raft_entry old[1] = {{2, (const uint8_t *)"x", 1}};
    m = ae_req(1, 3, 2, 1, 0);
    m.ae.entries = old;
    m.ae.n_entries = 1;
    assert_int_equal(raft_core_recv_request(c, &m, &reply, 0), 0);
    assert_true(reply.aer.success);
    assert_int_equal(raft_core_last_index(c), 4);
    assert_false(settle(c));

    /* An entry that would replace a committed one is refused. */
    struct raft_entry bad[1] = {{3, (const uint8_t *)"z", 1}};
    m = ae_req(1, 3, 2, 1, 0);
    m.ae.entries = bad;
    m.ae.n_entries = 1;
    assert_int_equal(raft_core_recv_request(c, &m, &reply, 0), 0);
    assert_false(reply.aer.success);
    assert_int_equal(raft_core_term_at(c, 3), 2);

    /* Commit never passes the last entry the leader vouched for. */
    m = ae_req(1, 3, 4, 3, 100);
    assert_int_equal(raft_core_recv_request(c, &m, &reply, 0), 0);
    assert_int_equal(raft_core_commit_index(c), 4);
    core_free(c);
}

/* A candidate that hears from a leader of its term becomes a follower. */
static void test_append_converts_candidate(void **state)
{
    (void)state;
    struct raft_core *c = new_core(0, 3, 11);
    raft_core_tick(c, 1000);
    assert_int_equal(raft_core_role(c), RAFT_CANDIDATE);
    settle(c);
    struct raft_msg m = ae_req(2, 1, 0, 0, 0), reply;
    assert_int_equal(raft_core_recv_request(c, &m, &reply, 1001), 0);
    assert_true(reply.aer.success);
    assert_int_equal(raft_core_role(c), RAFT_FOLLOWER);
    assert_int_equal(raft_core_leader(c), 2);
    assert_int_equal(raft_core_voted_for(c), 0); /* the vote stays */
    core_free(c);
}

/* ------------------------------------------------------------------------
 * Multi-peer scenarios */

/* Three peers elect one leader, which replicates and commits proposals;
 * every peer applies them in order. */
static void test_cluster_basic(void **state)
{
    (void)state;
    struct cluster cl;
    cluster_init(&cl, 3);
    cluster_run(&cl, 1000);
    int l = cluster_leader(&cl);
    assert_true(l >= 0);
    int64_t t = raft_core_term(cl.c[l]);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(raft_core_term(cl.c[i]), t);
        assert_int_equal(raft_core_leader(cl.c[i]), l);
    }
    /* Not the leader: refused. */
    int f = (l + 1) % 3;
    assert_int_equal(raft_core_propose(cl.c[f], "x", 1, cl.now, NULL, NULL),
                     ERR_WRONG_LEADER);

    assert_int_equal(propose_str(&cl, l, "a"), 1);
    assert_int_equal(propose_str(&cl, l, "b"), 2);
    assert_int_equal(propose_str(&cl, l, "c"), 3);
    cluster_settle(&cl);
    assert_int_equal(raft_core_commit_index(cl.c[l]), 3);
    assert_int_equal(cl.applied[l], 3);
    /* Followers learn the new commit index from the commit notice, well
     * before the next heartbeat. */
    for (int i = 0; i < 3; i++)
        if (i != l)
            assert_true(raft_core_commit_index(cl.c[i]) < 3);
    cl.now += RAFT_COMMIT_NOTICE_MS;
    raft_core_tick(cl.c[l], cl.now);
    cluster_settle(&cl);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(raft_core_commit_index(cl.c[i]), 3);
        assert_int_equal(cl.applied[i], 3);
        struct raft_entry e;
        assert_true(raft_core_entry(cl.c[i], 2, &e));
        assert_int_equal(e.len, 1);
        assert_memory_equal(e.data, "b", 1);
    }
    /* Idle: one heartbeat per peer per 100 ms, nothing more. */
    uint64_t before = cl.delivered;
    cluster_run(&cl, 1000);
    uint64_t idle = cl.delivered - before;
    assert_true(idle >= 18 && idle <= 20);
    assert_int_equal(raft_core_term(cl.c[l]), t); /* no elections */
    cluster_free(&cl);
}

/* Proposals made while entries are in flight are batched, and each entry
 * reaches each follower once (TestRPCBytes3B, TestCount3B). */
static void test_cluster_batching(void **state)
{
    (void)state;
    struct cluster cl;
    cluster_init(&cl, 3);
    cluster_run(&cl, 1000);
    int l = cluster_leader(&cl);
    uint64_t before = cl.delivered;
    /* 12 proposals before the network runs: the first goes out at once,
     * the rest wait for its reply and travel as one batch. */
    for (int i = 0; i < 12; i++)
        propose_str(&cl, l, "cmd");
    cluster_settle(&cl);
    /* 2 x (first entry, batch of 11) */
    assert_int_equal(cl.delivered - before, 4);
    assert_int_equal(cl.applied[l], 12);
    /* ... then one commit notice each. */
    cluster_run(&cl, 30);
    assert_int_equal(cl.delivered - before, 6);
    for (int i = 0; i < 3; i++)
        assert_int_equal(cl.applied[i], 12);
    cluster_free(&cl);
}

/* Deliver the leader's queued messages, except that AppendEntries to
 * peer `slow` carrying entries are counted in *with and dropped (a slow
 * link: neither delivered nor failed); bare ones to it are counted in
 * *without and delivered. */
static void slow_link(struct cluster *cl, int l, int slow, int *with,
                      int *without)
{
    struct raft_msg *m;
    persist(cl, l);
    while ((m = pop(cl->c[l])) != NULL) {
        bool drop = false;
        if (m->to == slow && m->type == RAFT_MSG_APPEND_ENTRIES) {
            drop = m->ae.n_entries > 0;
            (*(drop ? with : without))++;
        }
        if (!drop) {
            deliver(cl, l, m);
            apply(cl, m->to);
        }
        raft_msg_free(m);
        persist(cl, l);
    }
}

/* RAFT_RESEND_UNIT: an unacknowledged small entry is resent with every
 * heartbeat; a 1 MiB one only once it has had 5 heartbeat intervals (one,
 * plus one per 256 KiB) to arrive, bare heartbeats keeping the follower
 * quiet meanwhile. */
/* RAFT_BATCH_MS: proposals wait for the batch window to close and then
 * share one AppendEntries per follower; the window shows in the core's
 * next deadline, so a driver's ticker wakes for it. */
static void test_batch_window(void **state)
{
    (void)state;
    const uint32_t window = 5;
    struct cluster cl;
    cluster_init_batch(&cl, 3, window);
    cluster_run(&cl, 1000);
    int l = cluster_leader(&cl);
    assert_true(l >= 0);
    int64_t commit = raft_core_commit_index(cl.c[l]);
    uint64_t before = cl.delivered;
    /* (A heartbeat went out at a 10 ms tick <= now: none is due within
     * the window.) */
    propose_str(&cl, l, "a");
    cl.now += 1;
    propose_str(&cl, l, "b"); /* the window stays where "a" opened it */
    propose_str(&cl, l, "c");
    assert_int_equal(raft_core_next_deadline(cl.c[l]), cl.now - 1 + window);
    cluster_settle(&cl);
    assert_int_equal(cl.delivered, before);
    cl.now += window - 2;
    raft_core_tick(cl.c[l], cl.now);
    cluster_settle(&cl);
    assert_int_equal(cl.delivered, before); /* still open */
    cl.now += 1;
    raft_core_tick(cl.c[l], cl.now);
    cluster_settle(&cl);
    /* One message per follower carried all three entries. */
    assert_int_equal(cl.delivered - before, 2);
    assert_int_equal(raft_core_commit_index(cl.c[l]), commit + 3);
    assert_int_equal(cl.applied[l], commit + 3);
    /* Closed: the next proposal opens a new window. */
    before = cl.delivered;
    propose_str(&cl, l, "d");
    cluster_settle(&cl);
    assert_int_equal(cl.delivered, before);
    assert_int_equal(raft_core_next_deadline(cl.c[l]), cl.now + window);
    cl.now += window;
    raft_core_tick(cl.c[l], cl.now);
    cluster_settle(&cl);
    assert_int_equal(cl.delivered - before, 2);
    assert_int_equal(raft_core_commit_index(cl.c[l]), commit + 4);
    cluster_free(&cl);
}

static void test_large_message_resend(void **state)
{
    (void)state;
    for (int round = 0; round < 2; round++) {
        bool large = round == 1;
        struct cluster cl;
        cluster_init(&cl, 3);
        cluster_run(&cl, 1000);
        int l = cluster_leader(&cl);
        int f = (l + 1) % 3;
        size_t len = large ? 1u << 20 : 1;
        char *cmd = calloc(1, len);
        assert_non_null(cmd);
        assert_int_equal(
            raft_core_propose(cl.c[l], cmd, len, cl.now, NULL, NULL), 0);
        free(cmd);
        int with = 0, without = 0;
        slow_link(&cl, l, f, &with, &without);
        assert_int_equal(with, 1);
        uint64_t sent = cl.now;
        for (cl.now = sent + 10; cl.now < sent + 500; cl.now += 10) {
            raft_core_tick(cl.c[l], cl.now);
            slow_link(&cl, l, f, &with, &without);
        }
        if (!large) {
            assert_int_equal(with, 5); /* at 0, 100, 200, 300, 400 ms */
            assert_int_equal(without, 0);
        } else {
            assert_int_equal(with, 1);
            assert_int_equal(without, 4);
            raft_core_tick(cl.c[l], cl.now); /* sent + 500 ms */
            slow_link(&cl, l, f, &with, &without);
            assert_int_equal(with, 2);
            /* That copy was lost too; the next one, 500 ms later, is
             * delivered. */
            cluster_run(&cl, 600);
            assert_int_equal(cluster_leader(&cl), l);
            assert_int_equal(cl.applied[f], raft_core_last_index(cl.c[l]));
        }
        cluster_free(&cl);
    }
}

/* Check quorum: a leader cut off from every peer steps down (same term,
 * no leader known) once two maximum election timeouts pass without a
 * reply; one that hears from a majority stays, however long it runs. */
static void test_check_quorum(void **state)
{
    (void)state;
    struct cluster cl;
    cluster_init(&cl, 5);
    cluster_run(&cl, 1000);
    int l = cluster_leader(&cl);
    assert_true(l >= 0);
    int64_t term = raft_core_term(cl.c[l]);
    /* Two followers down: a majority (3 of 5) still answers. */
    cl.up[(l + 1) % 5] = cl.up[(l + 2) % 5] = false;
    cluster_run(&cl, 5000);
    assert_int_equal(cluster_leader(&cl), l);
    assert_int_equal(raft_core_term(cl.c[l]), term);
    /* Alone: only the leader ticks (the others would elect a new one). */
    for (int i = 0; i < 5; i++)
        cl.up[i] = i == l;
    uint64_t cut = cl.now;
    uint64_t window = 2 * RAFT_ELECTION_MAX_MS;
    /* (The last replies came with the last heartbeat, up to 100 ms before
     * the cut.) */
    while (cl.now < cut + window - RAFT_HEARTBEAT_MS - 10) {
        cl.now += 10;
        raft_core_tick(cl.c[l], cl.now);
        cluster_settle(&cl);
        assert_int_equal(raft_core_role(cl.c[l]), RAFT_LEADER);
    }
    while (cl.now < cut + window + 10) {
        cl.now += 10;
        raft_core_tick(cl.c[l], cl.now);
        cluster_settle(&cl);
    }
    assert_int_equal(raft_core_role(cl.c[l]), RAFT_FOLLOWER);
    assert_int_equal(raft_core_term(cl.c[l]), term);
    assert_int_equal(raft_core_leader(cl.c[l]), -1);
    cluster_free(&cl);
}

/* §5.4.2 / Figure 8: a leader does not commit an entry from an earlier
 * term by counting replicas, only once an entry of its own term is stored
 * on a majority. */
static void test_commit_rule_current_term_only(void **state)
{
    (void)state;
    /* Peer 0 has an uncommitted entry from term 1 (index 1); it wins an
     * election for term 2 and replicates index 1 to peer 1. */
    struct raft_core *c = new_core(0, 3, 77);
    const int64_t t1[] = {1};
    feed_entries(c, 2, 1, 0, 0, t1, 1, 0);
    raft_core_tick(c, 5000); /* candidate in term 2 */
    settle(c);
    struct raft_msg *rv1 = pop(c);
    struct raft_msg *rv2 = pop(c);
    struct raft_msg yes = yes_reply(RAFT_MSG_REQUEST_VOTE_REPLY, 2);
    raft_core_recv_reply(c, rv1, &yes, 5001);
    assert_int_equal(raft_core_role(c), RAFT_LEADER);
    raft_msg_free(rv1);
    raft_msg_free(rv2);

    /* The heartbeat to peer 1 starts at prev 1. Peer 1 lacks it and says
     * so; the leader backs up and sends index 1. */
    struct raft_msg *hb = pop(c);
    if (hb->to != 1) {
        raft_msg_free(hb);
        hb = pop(c);
    }
    assert_int_equal(hb->to, 1);
    assert_int_equal(hb->ae.prev_log_index, 1);
    struct raft_msg rej = {0};
    rej.type = RAFT_MSG_APPEND_ENTRIES_REPLY;
    rej.term = 2;
    rej.aer.success = false;
    rej.aer.log_len = 1;
    raft_core_recv_reply(c, hb, &rej, 5002);
    raft_msg_free(hb);
    struct raft_msg *m;
    struct raft_msg *resend = NULL;
    while ((m = pop(c)) != NULL) {
        if (m->to == 1 && m->ae.n_entries == 1)
            resend = m;
        else
            raft_msg_free(m);
    }
    assert_non_null(resend);
    assert_int_equal(resend->ae.prev_log_index, 0);
    struct raft_msg ok = yes_reply(RAFT_MSG_APPEND_ENTRIES_REPLY, 2);
    raft_core_recv_reply(c, resend, &ok, 5003);
    raft_msg_free(resend);
    /* Index 1 (term 1) is on a majority, but not committed. */
    int64_t next, match;
    assert_true(raft_core_progress(c, 1, &next, &match));
    assert_int_equal(match, 1);
    assert_int_equal(raft_core_commit_index(c), 0);

    /* A term-2 entry replicated to peer 1 commits both. */
    int64_t idx;
    assert_int_equal(raft_core_propose(c, "n", 1, 5004, &idx, NULL), 0);
    assert_int_equal(idx, 2);
    settle(c);
    struct raft_msg *ae = NULL;
    while ((m = pop(c)) != NULL) {
        if (m->to == 1)
            ae = m;
        else
            raft_msg_free(m);
    }
    assert_non_null(ae);
    assert_int_equal(ae->ae.prev_log_index, 1);
    raft_core_recv_reply(c, ae, &ok, 5005);
    raft_msg_free(ae);
    assert_int_equal(raft_core_commit_index(c), 2);
    while ((m = pop(c)) != NULL)
        raft_msg_free(m);
    core_free(c);
}

/* TestBackup3B in miniature: a leader with a long divergent log history
 * brings followers back in a few round trips per conflicting term, not
 * one per entry. */
static void test_fast_backup(void **state)
{
    (void)state;
    struct cluster cl;
    cluster_init(&cl, 5);
    cluster_run(&cl, 1000);
    int l1 = cluster_leader(&cl);
    propose_str(&cl, l1, "first");
    cluster_settle(&cl);
    /* Leader plus one follower partitioned: 50 uncommitted entries. */
    int f1 = (l1 + 1) % 5;
    for (int i = 0; i < 5; i++)
        cl.up[i] = (i == l1 || i == f1);
    for (int i = 0; i < 50; i++)
        propose_str(&cl, l1, "lost");
    cluster_settle(&cl);
    /* The other three elect a leader and commit 50 entries. */
    for (int i = 0; i < 5; i++)
        cl.up[i] = !(i == l1 || i == f1);
    cluster_run(&cl, 2000);
    int l2 = cluster_leader(&cl);
    assert_true(l2 >= 0 && l2 != l1 && l2 != f1);
    for (int i = 0; i < 50; i++)
        propose_str(&cl, l2, "kept");
    cluster_settle(&cl);
    assert_int_equal(raft_core_commit_index(cl.c[l2]), 51);
    /* Everyone reconnects; the old pair must be repaired quickly. */
    for (int i = 0; i < 5; i++)
        cl.up[i] = true;
    uint64_t before = cl.delivered;
    cluster_run(&cl, 2000);
    int l3 = cluster_leader(&cl);
    assert_true(l3 >= 0);
    propose_str(&cl, l3, "last");
    cluster_run(&cl, 30);
    for (int i = 0; i < 5; i++)
        assert_int_equal(cl.applied[i], 52);
    /* 2 s of heartbeats is ~80 messages; repairing must add few more. */
    assert_true(cl.delivered - before < 120);
    cluster_free(&cl);
}

/* ------------------------------------------------------------------------
 * Snapshots */

/* The service's snapshot trims the log; a follower that fell behind the
 * snapshot gets InstallSnapshot, applies it (moving forward only), and
 * continues with commands after it. */
static void test_snapshot_install(void **state)
{
    (void)state;
    struct cluster cl;
    cluster_init(&cl, 3);
    cluster_run(&cl, 1000);
    int l = cluster_leader(&cl);
    int lag = (l + 1) % 3;
    cl.up[lag] = false;
    for (int i = 0; i < 20; i++)
        propose_str(&cl, l, "v");
    cluster_run(&cl, 30);
    assert_int_equal(cl.applied[l], 20);
    /* Snapshots beyond what was applied are refused; below the current
     * snapshot they are no-ops. */
    assert_int_equal(raft_core_compact(cl.c[l], 21, "S", 1), ERR_INVAL);
    for (int i = 0; i < 3; i++) {
        if (i == lag)
            continue;
        assert_int_equal(raft_core_compact(cl.c[i], 15, "SNAP15", 6), 0);
        assert_int_equal(raft_core_snapshot_index(cl.c[i]), 15);
        assert_int_equal(raft_core_last_index(cl.c[i]), 20);
        assert_int_equal(raft_core_term_at(cl.c[i], 14), -1);
        assert_int_equal(raft_core_compact(cl.c[i], 10, "old", 3), 0);
        assert_int_equal(raft_core_snapshot_index(cl.c[i]), 15);
    }
    cl.up[lag] = true;
    cluster_run(&cl, 300);
    assert_int_equal(cl.napplied_snap[lag], 1);
    assert_int_equal(raft_core_snapshot_index(cl.c[lag]), 15);
    assert_int_equal(cl.applied[lag], 20);
    size_t len;
    const uint8_t *s = raft_core_snapshot(cl.c[lag], &len);
    assert_int_equal(len, 6);
    assert_memory_equal(s, "SNAP15", 6);

    /* An InstallSnapshot at or below the commit index is ignored. */
    struct raft_msg m = {0}, reply;
    m.type = RAFT_MSG_INSTALL_SNAPSHOT;
    m.from = l;
    m.term = raft_core_term(cl.c[l]);
    m.is.last_included_index = 18;
    m.is.last_included_term = raft_core_term(cl.c[l]);
    m.is.data = (const uint8_t *)"older";
    m.is.len = 5;
    assert_int_equal(raft_core_recv_request(cl.c[lag], &m, &reply, cl.now), 0);
    assert_int_equal(raft_core_snapshot_index(cl.c[lag]), 15);
    assert_false(raft_core_has_apply(cl.c[lag]));

    /* One with a matching entry keeps the log after it. */
    int64_t next_cmd = propose_str(&cl, l, "w");
    assert_int_equal(next_cmd, 21);
    cl.up[lag] = false;
    propose_str(&cl, l, "w2");
    cluster_settle(&cl);
    cluster_free(&cl);
}

/* Follower side of Figure 13: a snapshot covering entries we have (with
 * the same term) keeps the suffix; otherwise the whole log goes. */
static void test_snapshot_keeps_suffix(void **state)
{
    (void)state;
    struct raft_core *c = new_core(1, 3, 5);
    const int64_t terms[] = {1, 1, 1, 2, 2};
    feed_entries(c, 0, 2, 0, 0, terms, 5, 0);
    struct raft_msg m = {0}, reply;
    m.type = RAFT_MSG_INSTALL_SNAPSHOT;
    m.from = 0;
    m.term = 2;
    m.is.last_included_index = 3;
    m.is.last_included_term = 1;
    m.is.data = (const uint8_t *)"s3";
    m.is.len = 2;
    assert_int_equal(raft_core_recv_request(c, &m, &reply, 0), 0);
    assert_int_equal(reply.type, RAFT_MSG_INSTALL_SNAPSHOT_REPLY);
    assert_int_equal(raft_core_snapshot_index(c), 3);
    assert_int_equal(raft_core_last_index(c), 5);
    assert_int_equal(raft_core_commit_index(c), 3);
    struct raft_apply a;
    assert_true(raft_core_next_apply(c, &a));
    assert_true(a.is_snapshot);
    assert_int_equal(a.index, 3);
    assert_int_equal(a.term, 1);
    assert_false(raft_core_next_apply(c, &a));
    settle(c);

    /* Mismatching term at the snapshot point: discard the entire log. */
    m.term = 3;
    m.is.last_included_index = 5;
    m.is.last_included_term = 3;
    assert_int_equal(raft_core_recv_request(c, &m, &reply, 0), 0);
    assert_int_equal(raft_core_snapshot_index(c), 5);
    assert_int_equal(raft_core_snapshot_term(c), 3);
    assert_int_equal(raft_core_last_index(c), 5);
    assert_true(raft_core_next_apply(c, &a));
    assert_true(a.is_snapshot && a.index == 5);

    /* AppendEntries that overlap the snapshot: the part inside it is
     * skipped, the rest appended. */
    struct raft_entry es[3] = {{3, (const uint8_t *)"a", 1},
                               {3, (const uint8_t *)"b", 1},
                               {3, (const uint8_t *)"c", 1}};
    m = ae_req(0, 3, 4, 2, 7);
    m.ae.entries = es;
    m.ae.n_entries = 3;
    assert_int_equal(raft_core_recv_request(c, &m, &reply, 0), 0);
    assert_true(reply.aer.success);
    assert_int_equal(raft_core_last_index(c), 7);
    assert_int_equal(raft_core_commit_index(c), 7);
    struct raft_entry e;
    assert_true(raft_core_entry(c, 6, &e));
    assert_memory_equal(e.data, "b", 1);
    core_free(c);
}

/* ------------------------------------------------------------------------
 * Persistence */

/* encode -> restore gives the same term, vote, snapshot point and log;
 * every truncation or a flipped version byte is ERR_CORRUPT. */
static void test_persist_round_trip(void **state)
{
    (void)state;
    struct raft_core *c = new_core(1, 3, 5);
    const int64_t terms[] = {1, 2, 2, 3};
    feed_entries(c, 0, 3, 0, 0, terms, 4, 3);
    struct raft_msg r = vote_req(2, 4, 10, 3), reply;
    assert_int_equal(raft_core_recv_request(c, &r, &reply, 0), 0);
    struct raft_apply a;
    while (raft_core_next_apply(c, &a))
        ;
    /* A vote changes the hard state, not the snapshot or the log; a
     * compaction the snapshot only. */
    struct raft_update u;
    raft_core_take_update(c, &u);
    assert_true(raft_update_changed(&u));
    assert_true(u.hard_changed);
    assert_false(u.snap_changed);
    assert_int_equal(u.term, 4);
    assert_int_equal(u.voted_for, 2);
    raft_core_persisted_upto(c, &u.mark, 0);
    assert_int_equal(raft_core_compact(c, 2, "snap", 4), 0);
    raft_core_take_update(c, &u);
    assert_true(u.snap_changed);
    assert_false(u.hard_changed);
    assert_int_equal(u.snap_index, 2);
    assert_int_equal(u.snap_len, 4);
    raft_core_take_update(c, &u);
    assert_false(raft_update_changed(&u));
    struct buf b = BUF_INIT;
    raft_core_encode_state(c, &b);

    struct raft_core *d = new_core(1, 3, 6);
    assert_int_equal(raft_core_restore(d, b.data, b.len,
                                       (const uint8_t *)"snap", 4),
                     0);
    assert_int_equal(raft_core_term(d), 4);
    assert_int_equal(raft_core_voted_for(d), 2);
    assert_int_equal(raft_core_snapshot_index(d), 2);
    assert_int_equal(raft_core_snapshot_term(d), 2);
    assert_int_equal(raft_core_last_index(d), 4);
    assert_int_equal(raft_core_term_at(d, 3), 2);
    assert_int_equal(raft_core_term_at(d, 4), 3);
    assert_int_equal(raft_core_commit_index(d), 2);
    assert_int_equal(raft_core_last_applied(d), 2);
    struct buf b2 = BUF_INIT;
    raft_core_encode_state(d, &b2);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.data, b2.data, b.len);

    for (size_t cut = 1; cut < b.len; cut++) {
        struct raft_core *e = new_core(1, 3, 7);
        assert_int_equal(raft_core_restore(e, b.data, cut, NULL, 0),
                         ERR_CORRUPT);
        assert_int_equal(raft_core_term(e), 0);
        core_free(e);
    }
    b.data[0] ^= 0xff;
    struct raft_core *e = new_core(1, 3, 7);
    assert_int_equal(raft_core_restore(e, b.data, b.len, NULL, 0),
                     ERR_CORRUPT);
    /* votedFor out of range */
    b.data[0] ^= 0xff;
    b.data[2] = 9;
    assert_int_equal(raft_core_restore(e, b.data, b.len, NULL, 0),
                     ERR_CORRUPT);
    core_free(e);
    buf_free(&b);
    buf_free(&b2);
    core_free(c);
    core_free(d);
}

/* Garbage never crashes the decoder. */
static void test_persist_fuzz(void **state)
{
    (void)state;
    uint64_t x = 12345;
    uint8_t bytes[64];
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(x % sizeof(bytes));
        for (size_t i = 0; i < n; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            bytes[i] = (uint8_t)(x >> 56);
        }
        if (n)
            bytes[0] = 1; /* get past the version byte */
        struct raft_core *c = new_core(0, 3, 1);
        (void)raft_core_restore(c, bytes, n, NULL, 0);
        core_free(c);
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    }
}

/* The persisted state stays small: ten small commands (3D's
 * SnapShotInterval) take well under 3D's 2000-byte MAXLOGSIZE. */
static void test_persist_size(void **state)
{
    (void)state;
    struct raft_core *c = new_core(0, 3, 1);
    const int64_t terms[10] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
    feed_entries(c, 1, 7, 0, 0, terms, 10, 0); /* 1-byte commands */
    struct buf b = BUF_INIT;
    raft_core_encode_state(c, &b);
    printf("persisted state, 10 one-byte entries: %zu bytes\n", b.len);
    assert_true(b.len <= 6 + 10 * 3);
    buf_free(&b);
    core_free(c);
}

/* A restarted peer keeps term, vote and log, starts applying after its
 * snapshot, and re-learns the commit index from the leader. */
static void test_restart(void **state)
{
    (void)state;
    struct cluster cl;
    cluster_init(&cl, 3);
    cluster_run(&cl, 1000);
    int l = cluster_leader(&cl);
    for (int i = 0; i < 12; i++)
        propose_str(&cl, l, "e");
    cluster_run(&cl, 30);
    int f = (l + 1) % 3;
    assert_int_equal(raft_core_compact(cl.c[f], 10, "ten", 3), 0);
    cluster_settle(&cl);
    int64_t term = raft_core_term(cl.c[f]);
    cluster_restart(&cl, f);
    assert_int_equal(raft_core_term(cl.c[f]), term);
    assert_int_equal(raft_core_snapshot_index(cl.c[f]), 10);
    assert_int_equal(raft_core_last_index(cl.c[f]), 12);
    assert_int_equal(raft_core_last_applied(cl.c[f]), 10);
    cl.applied[f] = 10;
    /* The first thing applied after the restart is command 11. */
    struct raft_apply a;
    assert_false(raft_core_next_apply(cl.c[f], &a));
    cluster_run(&cl, 200);
    assert_int_equal(cl.applied[f], 12);

    /* Restart everybody: the cluster recovers and continues. */
    for (int i = 0; i < 3; i++)
        cluster_restart(&cl, i);
    cluster_run(&cl, 1500);
    l = cluster_leader(&cl);
    assert_true(l >= 0);
    assert_int_equal(propose_str(&cl, l, "after"), 13);
    cluster_run(&cl, 30);
    for (int i = 0; i < 3; i++)
        assert_int_equal(cl.applied[i], 13);
    cluster_free(&cl);
}

/* A cluster of one commits on its own. */
static void test_single_peer(void **state)
{
    (void)state;
    struct raft_core *c = new_core(0, 1, 1);
    raft_core_tick(c, 1000);
    assert_int_equal(raft_core_role(c), RAFT_LEADER);
    int64_t idx;
    assert_int_equal(raft_core_propose(c, "x", 1, 1001, &idx, NULL), 0);
    /* Committed once its own copy is durable, and not before. */
    assert_int_equal(raft_core_commit_index(c), 0);
    settle(c);
    assert_int_equal(raft_core_commit_index(c), 1);
    assert_null(pop(c));
    core_free(c);
}

/* ------------------------------------------------------------------------
 * The update/acknowledge contract (raft_core.h, raft/ready.h) */

/* A three-peer leader of term 1 whose term is durable; its heartbeats
 * are discarded. */
static struct raft_core *new_leader(void)
{
    struct raft_core *c = new_core(0, 3, 21);
    raft_core_tick(c, 1000);
    struct raft_msg *rv = pop(c); /* settles: term and vote durable */
    struct raft_msg yes = yes_reply(RAFT_MSG_REQUEST_VOTE_REPLY, 1);
    raft_core_recv_reply(c, rv, &yes, 1001);
    raft_msg_free(rv);
    assert_int_equal(raft_core_role(c), RAFT_LEADER);
    struct raft_msg *m;
    while ((m = pop(c)) != NULL)
        raft_msg_free(m);
    return c;
}

/* Raft thesis §10.2.1: the leader sends a new entry before its own copy
 * is durable, but counts itself in the commit quorum only once the
 * caller acknowledges it. */
static void test_leader_sends_before_durable(void **state)
{
    (void)state;
    struct raft_core *c = new_leader();
    int64_t idx;
    assert_int_equal(raft_core_propose(c, "x", 1, 1100, &idx, NULL), 0);
    struct raft_update u;
    raft_core_take_update(c, &u);
    assert_int_equal(u.log_from, idx);
    assert_int_equal(u.last_index, idx);
    assert_false(u.hard_changed);
    assert_int_equal(u.n_msgs, 2);
    struct raft_msg *ae[2] = {u.msgs[0], u.msgs[1]};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(ae[k]->type, RAFT_MSG_APPEND_ENTRIES);
        assert_int_equal(ae[k]->ae.n_entries, 1);
        assert_true(ae[k]->early); /* may leave now */
    }
    struct raft_mark mark = u.mark;
    /* One follower has it; with the leader's unwritten copy that would be
     * two of three, but the leader does not count yet. */
    struct raft_msg ok = yes_reply(RAFT_MSG_APPEND_ENTRIES_REPLY, 1);
    raft_core_recv_reply(c, ae[0], &ok, 1101);
    int64_t match;
    assert_true(raft_core_progress(c, ae[0]->to, NULL, &match));
    assert_int_equal(match, idx);
    assert_int_equal(raft_core_commit_index(c), 0);
    /* Its own write is durable: now it counts. */
    raft_core_persisted_upto(c, &mark, 1102);
    assert_int_equal(raft_core_commit_index(c), idx);
    raft_core_recv_reply(c, ae[1], &ok, 1103);

    /* The other way round: acknowledged first, committed by the first
     * follower's reply. And both followers commit without the leader. */
    assert_int_equal(raft_core_propose(c, "y", 1, 1200, &idx, NULL), 0);
    raft_core_take_update(c, &u);
    mark = u.mark;
    struct raft_msg *ae2[2] = {NULL, NULL};
    for (size_t k = 0; k < u.n_msgs; k++) {
        if (u.msgs[k]->ae.n_entries && !ae2[u.msgs[k]->to - 1])
            ae2[u.msgs[k]->to - 1] = u.msgs[k];
        else
            raft_msg_free(u.msgs[k]);
    }
    assert_non_null(ae2[0]);
    assert_non_null(ae2[1]);
    raft_core_recv_reply(c, ae2[0], &ok, 1201);
    assert_int_equal(raft_core_commit_index(c), idx - 1);
    raft_core_recv_reply(c, ae2[1], &ok, 1202);
    assert_int_equal(raft_core_commit_index(c), idx);
    /* A late acknowledgement of an older mark changes nothing. */
    raft_core_persisted_upto(c, &mark, 1203);
    assert_int_equal(raft_core_commit_index(c), idx);
    for (int k = 0; k < 2; k++) {
        raft_msg_free(ae[k]);
        raft_msg_free(ae2[k]);
    }
    core_free(c);
}

/* A stand-in for an asynchronous disk: every update is durable "later",
 * and what raft_ready_run() releases is recorded. */
struct slow_disk {
    enum raft_ready_stored answer;
    int sent, held, replies, held_replies;
    struct raft_mark mark; /* of the last update */
};

static enum raft_ready_stored slow_persist(void *ctx, struct raft_core *c,
                                           const struct raft_update *u)
{
    struct slow_disk *d = ctx;
    (void)c;
    d->mark = u->mark;
    return d->answer;
}

static void slow_send(void *ctx, struct raft_msg *m, bool held)
{
    struct slow_disk *d = ctx;
    d->sent++;
    d->held += held;
    raft_msg_free(m);
}

static void slow_reply(void *ctx, const struct raft_msg *reply, bool held)
{
    struct slow_disk *d = ctx;
    (void)reply;
    d->replies++;
    d->held_replies += held;
}

static const struct raft_ready_ops slow_ops = {
    .persist = slow_persist,
    .send = slow_send,
    .reply = slow_reply,
    .apply = NULL,
};

/* Figure 2: a follower's reply (an acknowledged entry, a vote) and a
 * candidate's RequestVote are held until their update is durable; a
 * leader's AppendEntries are not; a crash midway loses the held ones. */
static void test_reply_held_until_durable(void **state)
{
    (void)state;
    struct slow_disk d = {RAFT_READY_PENDING, 0, 0, 0, 0, {0, 0, 0}};
    struct raft_core *c = new_core(1, 3, 31);
    struct raft_entry es[1] = {{1, (const uint8_t *)"x", 1}};
    struct raft_msg m = ae_req(0, 1, 0, 0, 0), reply;
    m.ae.entries = es;
    m.ae.n_entries = 1;
    assert_int_equal(raft_core_recv_request(c, &m, &reply, 10), 0);
    assert_true(reply.aer.success);
    assert_true(raft_ready_run(c, &slow_ops, &d, &reply, 10));
    assert_int_equal(d.replies, 1);
    assert_int_equal(d.held_replies, 1); /* not before the entry is stored */
    assert_int_equal(d.mark.last_index, 1);
    /* A vote: held too. */
    struct raft_msg rv = vote_req(2, 2, 1, 1);
    assert_int_equal(raft_core_recv_request(c, &rv, &reply, 20), 0);
    assert_true(reply.rvr.vote_granted);
    assert_true(raft_ready_run(c, &slow_ops, &d, &reply, 20));
    assert_int_equal(d.held_replies, 2);
    assert_int_equal(d.mark.term, 2);
    /* A reply that changes nothing still waits (earlier writes may be
     * pending): the caller's persist decides, and said PENDING. */
    assert_int_equal(raft_core_recv_request(c, &rv, &reply, 30), 0);
    assert_true(raft_ready_run(c, &slow_ops, &d, &reply, 30));
    assert_int_equal(d.held_replies, 3);
    /* Once the disk is durable at once, nothing is held. */
    d.answer = RAFT_READY_DURABLE;
    assert_int_equal(raft_core_recv_request(c, &rv, &reply, 40), 0);
    assert_true(raft_ready_run(c, &slow_ops, &d, &reply, 40));
    assert_int_equal(d.replies, 4);
    assert_int_equal(d.held_replies, 3);
    core_free(c);

    /* A candidate's RequestVotes are held; a crash midway (LOST) drops
     * them, and the reply. */
    c = new_core(0, 3, 32);
    d = (struct slow_disk){RAFT_READY_PENDING, 0, 0, 0, 0, {0, 0, 0}};
    raft_core_tick(c, 1000);
    assert_true(raft_ready_run(c, &slow_ops, &d, NULL, 1000));
    assert_int_equal(d.sent, 2);
    assert_int_equal(d.held, 2);
    core_free(c);
    c = new_core(0, 3, 32);
    d.answer = RAFT_READY_LOST;
    d.sent = d.held = 0;
    raft_core_tick(c, 1000);
    assert_false(raft_ready_run(c, &slow_ops, &d, NULL, 1000));
    assert_int_equal(d.sent, 0);
    core_free(c);

    /* A leader's AppendEntries go out even when the update is lost (the
     * crash comes after the send). */
    c = new_leader();
    d = (struct slow_disk){RAFT_READY_LOST, 0, 0, 0, 0, {0, 0, 0}};
    assert_int_equal(raft_core_propose(c, "y", 1, 1100, NULL, NULL), 0);
    assert_false(raft_ready_run(c, &slow_ops, &d, NULL, 1100));
    assert_int_equal(d.sent, 2);
    assert_int_equal(d.held, 0);
    core_free(c);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_election_on_timeout),
        cmocka_unit_test(test_election_counting),
        cmocka_unit_test(test_vote_rules),
        cmocka_unit_test(test_vote_resets_timer),
        cmocka_unit_test(test_append_consistency),
        cmocka_unit_test(test_append_converts_candidate),
        cmocka_unit_test(test_cluster_basic),
        cmocka_unit_test(test_cluster_batching),
        cmocka_unit_test(test_batch_window),
        cmocka_unit_test(test_large_message_resend),
        cmocka_unit_test(test_check_quorum),
        cmocka_unit_test(test_commit_rule_current_term_only),
        cmocka_unit_test(test_fast_backup),
        cmocka_unit_test(test_snapshot_install),
        cmocka_unit_test(test_snapshot_keeps_suffix),
        cmocka_unit_test(test_persist_round_trip),
        cmocka_unit_test(test_persist_fuzz),
        cmocka_unit_test(test_persist_size),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_single_peer),
        cmocka_unit_test(test_leader_sends_before_durable),
        cmocka_unit_test(test_reply_held_until_durable),
    };
    return cmocka_run_group_tests_name("raft_core", tests, NULL, NULL);
}
