/* test_core_random.c - randomized schedules for the Raft core: a seeded
 * simulated network that delays, reorders, duplicates and drops messages,
 * partitions peers and crashes/restarts them from their persisted state,
 * while a fake service applies commands and snapshots every 10 entries.
 * After every step it checks Election Safety, Log Matching on committed
 * entries and State Machine Safety; at the end the network heals and a
 * last command must commit everywhere (liveness). Each peer also keeps
 * its state through raft/store.c in an in-memory persister: its blob must
 * equal raft_core_encode_state() after every save, and a restart reads
 * that blob. Updates are carried out by raft_ready_run() (raft/ready.h),
 * as in the driver and labs/sim.
 *
 * This is a small cousin of labs/sim (the full simulator); it exists so
 * the core's unit tests alone exercise thousands of fault schedules.
 * RAFT_RANDOM_SEEDS=<n> runs more seeds. */
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
#include "common/rand.h"
#include "common/persister.h"
#include "raft/raft_core.h"
#include "raft/ready.h"
#include "raft/store.h"

#define MAXN 5
#define MAXIDX 4096
#define MAXFLIGHT 4096

struct flight {
    struct raft_msg *req; /* owned */
    struct raft_msg reply;
    bool is_reply;        /* request delivered; reply on its way back */
    int from_inc;         /* sender's incarnation */
    uint64_t at;          /* delivery time */
};

struct sim {
    struct rng rng;
    int n;
    uint64_t now;
    struct raft_core *c[MAXN];
    int inc[MAXN];        /* incarnation, bumped on restart */
    bool alive[MAXN];
    bool link[MAXN][MAXN];
    struct buf state[MAXN], snap[MAXN];
    struct persister *ps[MAXN]; /* the same state, stored incrementally */
    struct raft_store store[MAXN];
    /* The fake service: applied[i] commands, each a 64-bit value. */
    int64_t applied[MAXN];
    int64_t vals[MAXN][MAXIDX];
    /* Ground truth: the value committed at each index (0 = unknown). */
    int64_t committed[MAXIDX];
    /* Leader of each term seen so far. */
    int leader_of[1 << 14];
    struct flight fl[MAXFLIGHT];
    int nfl;
    int64_t next_val;
    bool snapshots;
};

static void die(struct sim *s, const char *what, uint64_t seed)
{
    fail_msg("seed %llu t=%llu: %s", (unsigned long long)seed,
             (unsigned long long)s->now, what);
}

static struct raft_core *make_core(struct sim *s, int i)
{
    struct raft_core_config cfg;
    raft_core_config_init(&cfg, i, s->n, rng_next(&s->rng));
    return raft_core_new(&cfg, s->now);
}

/* Store update u of peer i twice (the blob, and incrementally through
 * raft/store.c) and check that both say the same. */
static void persist(struct sim *s, int i, const struct raft_update *u)
{
    struct raft_core *c = s->c[i];
    buf_clear(&s->state[i]);
    raft_core_encode_state(c, &s->state[i]);
    buf_clear(&s->snap[i]);
    buf_append(&s->snap[i], u->snap, u->snap_len);
    uint64_t ticket;
    assert_int_equal(raft_store_save(&s->store[i], c, u, &ticket), 0);
    assert_true(persister_synced(s->ps[i], ticket));
    /* The incremental store stands for exactly the same blob. */
    struct buf blob = BUF_INIT;
    persister_read_state(s->ps[i], &blob);
    assert_int_equal(blob.len, s->state[i].len);
    assert_memory_equal(blob.data, s->state[i].data, blob.len);
    assert_int_equal(persister_state_size(s->ps[i]), blob.len);
    persister_read_snapshot(s->ps[i], &blob);
    assert_int_equal(blob.len, s->snap[i].len);
    if (blob.len)
        assert_memory_equal(blob.data, s->snap[i].data, blob.len);
    buf_free(&blob);
}

static void check_apply(struct sim *s, int i, uint64_t seed,
                        const struct raft_apply *ap)
{
    struct raft_apply a = *ap;
    if (a.index >= MAXIDX)
        die(s, "index too large for the test", seed);
    if (a.is_snapshot) {
        /* The snapshot is the applied values 1..index. */
        if (a.index <= s->applied[i])
            die(s, "snapshot moves the service backwards", seed);
        if (a.len != (size_t)a.index * sizeof(int64_t))
            die(s, "snapshot size", seed);
        memcpy(&s->vals[i][1], a.data, a.len);
        s->applied[i] = a.index;
    } else {
        if (a.index != s->applied[i] + 1)
            die(s, "apply out of order", seed);
        int64_t v;
        if (a.len != sizeof(v))
            die(s, "bad command", seed);
        memcpy(&v, a.data, sizeof(v));
        s->vals[i][a.index] = v;
        s->applied[i] = a.index;
    }
    /* State Machine Safety: one value per index, ever. */
    for (int64_t k = s->applied[i]; k >= 1 && k > s->applied[i] - 64; k--) {
        if (s->committed[k] == 0)
            s->committed[k] = s->vals[i][k];
        else if (s->committed[k] != s->vals[i][k])
            die(s, "two different values applied at one index", seed);
    }
    /* (raft_ready_run() stores the compaction's update.) */
    if (s->snapshots && !a.is_snapshot && a.index % 10 == 0)
        raft_core_compact(s->c[i], a.index, &s->vals[i][1],
                          (size_t)a.index * sizeof(int64_t));
}

static void check_invariants(struct sim *s, uint64_t seed)
{
    for (int i = 0; i < s->n; i++) {
        if (!s->alive[i])
            continue;
        struct raft_core *c = s->c[i];
        /* Election Safety: at most one leader per term. */
        if (raft_core_role(c) == RAFT_LEADER) {
            int64_t t = raft_core_term(c);
            if (t >= (1 << 14))
                die(s, "term too large for the test", seed);
            if (s->leader_of[t] == -1)
                s->leader_of[t] = i;
            else if (s->leader_of[t] != i)
                die(s, "two leaders in one term", seed);
        }
        if (raft_core_commit_index(c) > raft_core_last_index(c))
            die(s, "commit index beyond the log", seed);
        /* Committed entries held in the log match what was applied. */
        int64_t from = raft_core_snapshot_index(c) + 1;
        for (int64_t k = from; k <= raft_core_commit_index(c); k++) {
            struct raft_entry e;
            if (!raft_core_entry(c, k, &e))
                die(s, "committed entry missing", seed);
            int64_t v;
            memcpy(&v, e.data, sizeof(v));
            if (s->committed[k] != 0 && s->committed[k] != v)
                die(s, "committed entry differs", seed);
        }
    }
    /* Log Matching: same index and term means same entry, pairwise. */
    for (int i = 0; i < s->n; i++)
        for (int j = i + 1; j < s->n; j++) {
            struct raft_core *a = s->c[i], *b = s->c[j];
            int64_t lo = raft_core_snapshot_index(a);
            if (raft_core_snapshot_index(b) > lo)
                lo = raft_core_snapshot_index(b);
            int64_t hi = raft_core_last_index(a);
            if (raft_core_last_index(b) < hi)
                hi = raft_core_last_index(b);
            bool same = false;
            for (int64_t k = hi; k > lo; k--) {
                struct raft_entry ea, eb;
                raft_core_entry(a, k, &ea);
                raft_core_entry(b, k, &eb);
                if (ea.term == eb.term)
                    same = true;
                if (same && (ea.term != eb.term ||
                             memcmp(ea.data, eb.data, sizeof(int64_t)) != 0))
                    die(s, "Log Matching violated", seed);
            }
        }
}

/* raft_ready_run()'s callbacks: peer i's disk (durable at once), the
 * network, the service. */
struct ready_ctx {
    struct sim *s;
    int i;
    int dup_pct;
    uint64_t seed;
    struct flight *reply; /* the request whose reply is released */
};

static enum raft_ready_stored ready_persist(void *ctx, struct raft_core *c,
                                            const struct raft_update *u)
{
    struct ready_ctx *r = ctx;
    (void)c;
    if (raft_update_changed(u))
        persist(r->s, r->i, u);
    return RAFT_READY_DURABLE;
}

static void ready_apply(void *ctx, const struct raft_apply *a)
{
    struct ready_ctx *r = ctx;
    check_apply(r->s, r->i, r->seed, a);
}

static void ready_reply(void *ctx, const struct raft_msg *reply, bool held)
{
    struct ready_ctx *r = ctx;
    struct sim *s = r->s;
    struct flight *f = r->reply;
    assert_false(held);
    f->reply = *reply;
    f->is_reply = true;
    f->at = s->now + 1 + rng_below(&s->rng, 30);
    s->fl[s->nfl++] = *f;
}

static void ready_send(void *ctx, struct raft_msg *m, bool held)
{
    struct ready_ctx *r = ctx;
    struct sim *s = r->s;
    int i = r->i, dup_pct = r->dup_pct;
    assert_false(held);
    /* (One slot stays free for a reply.) */
    if (s->nfl >= MAXFLIGHT - 2) { /* network full: lost */
        raft_core_send_failed(s->c[i], m, s->now);
        raft_msg_free(m);
        return;
    }
    int copies = (int)rng_below(&s->rng, 100) < dup_pct ? 2 : 1;
    for (int k = 0; k < copies; k++) {
        struct raft_msg *req = m;
        if (k == 1) { /* a duplicate of a message and its payload */
            req = calloc(1, sizeof(*req));
            *req = *m;
            req->owned = NULL;
            if (m->type == RAFT_MSG_APPEND_ENTRIES && m->ae.n_entries) {
                size_t bytes = m->ae.n_entries * sizeof(struct raft_entry);
                for (size_t e = 0; e < m->ae.n_entries; e++)
                    bytes += m->ae.entries[e].len;
                uint8_t *blk = malloc(bytes);
                struct raft_entry *es = (struct raft_entry *)(void *)blk;
                uint8_t *d = blk + m->ae.n_entries * sizeof(*es);
                for (size_t e = 0; e < m->ae.n_entries; e++) {
                    es[e] = m->ae.entries[e];
                    memcpy(d, m->ae.entries[e].data, es[e].len);
                    es[e].data = d;
                    d += es[e].len;
                }
                req->ae.entries = es;
                req->owned = blk;
            } else if (m->type == RAFT_MSG_INSTALL_SNAPSHOT && m->is.len) {
                uint8_t *blk = malloc(m->is.len);
                memcpy(blk, m->is.data, m->is.len);
                req->is.data = blk;
                req->owned = blk;
            }
        }
        struct flight *f = &s->fl[s->nfl++];
        memset(f, 0, sizeof(*f));
        f->req = req;
        f->from_inc = s->inc[i];
        f->at = s->now + 1 + rng_below(&s->rng, 30);
        if (rng_below(&s->rng, 100) < 3) /* long delay */
            f->at += rng_below(&s->rng, 2000);
    }
}

static const struct raft_ready_ops ready_ops = {
    .persist = ready_persist,
    .send = ready_send,
    .reply = ready_reply,
    .apply = ready_apply,
};

/* After an event at peer i: store, send, apply (and release the reply of
 * request f, if given). */
static void settle(struct sim *s, int i, int dup_pct, uint64_t seed,
                   struct flight *f)
{
    struct ready_ctx r = {s, i, dup_pct, seed, f};
    assert_true(raft_ready_run(s->c[i], &ready_ops, &r, f ? &f->reply : NULL,
                               s->now));
}

static void crash(struct sim *s, int i)
{
    s->alive[i] = false;
}

static void restart(struct sim *s, int i, uint64_t seed)
{
    raft_core_free(s->c[i]);
    s->c[i] = make_core(s, i);
    /* Restart from what the incremental store holds. */
    struct buf st = BUF_INIT;
    persister_read_state(s->ps[i], &st);
    if (raft_core_restore(s->c[i], st.data, st.len, s->snap[i].data,
                          s->snap[i].len) != 0)
        die(s, "restore failed", seed);
    buf_free(&st);
    raft_store_close(&s->store[i]);
    assert_int_equal(raft_store_open(&s->store[i], s->ps[i], s->c[i]), 0);
    s->inc[i]++;
    s->alive[i] = true;
    /* The service restores its snapshot. */
    int64_t si = raft_core_snapshot_index(s->c[i]);
    if (si > 0)
        memcpy(&s->vals[i][1], s->snap[i].data, (size_t)si * sizeof(int64_t));
    s->applied[i] = si;
}

static void deliver(struct sim *s, int k, int drop_pct, uint64_t seed)
{
    struct flight f = s->fl[k];
    s->fl[k] = s->fl[--s->nfl];
    int src = f.req->from, dst = f.req->to;
    bool ok = (int)rng_below(&s->rng, 100) >= drop_pct && s->link[src][dst];
    if (!f.is_reply) {
        if (ok && s->alive[dst]) {
            if (raft_core_recv_request(s->c[dst], f.req, &f.reply, s->now) !=
                0)
                die(s, "request refused", seed);
            settle(s, dst, 0, seed, &f); /* queues the reply */
            return;
        }
        if (s->alive[src] && s->inc[src] == f.from_inc)
            raft_core_send_failed(s->c[src], f.req, s->now);
    } else if (s->alive[src] && s->inc[src] == f.from_inc) {
        if (ok)
            raft_core_recv_reply(s->c[src], f.req, &f.reply, s->now);
        else
            raft_core_send_failed(s->c[src], f.req, s->now);
    }
    if (s->alive[src] && s->inc[src] == f.from_inc)
        settle(s, src, 0, seed, NULL);
    raft_msg_free(f.req);
}

static void run_seed(uint64_t seed, int n, bool snapshots)
{
    struct sim *s = calloc(1, sizeof(*s));
    rng_seed(&s->rng, seed);
    s->n = n;
    s->snapshots = snapshots;
    for (size_t t = 0; t < sizeof(s->leader_of) / sizeof(int); t++)
        s->leader_of[t] = -1;
    for (int i = 0; i < n; i++) {
        s->c[i] = make_core(s, i);
        s->ps[i] = persister_new_mem();
        assert_int_equal(raft_store_open(&s->store[i], s->ps[i], s->c[i]), 0);
        s->alive[i] = true;
        for (int j = 0; j < n; j++)
            s->link[i][j] = true;
    }
    int drop = (int)rng_below(&s->rng, 20);
    int dup = (int)rng_below(&s->rng, 10);
    uint64_t end = 20000; /* simulated ms of chaos */
    while (s->now < end) {
        s->now += 1 + rng_below(&s->rng, 5);
        uint64_t r = rng_below(&s->rng, 1000);
        if (r < 3) { /* partition: random links down */
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    s->link[i][j] = rng_below(&s->rng, 100) < 70;
        } else if (r < 8) { /* heal */
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    s->link[i][j] = true;
        } else if (r < 10) { /* crash or restart a random peer */
            int i = (int)rng_below(&s->rng, (uint64_t)n);
            if (s->alive[i])
                crash(s, i);
            else
                restart(s, i, seed);
        } else if (r < 60) { /* a client proposes to whoever leads */
            for (int i = 0; i < n; i++) {
                if (!s->alive[i] || raft_core_role(s->c[i]) != RAFT_LEADER)
                    continue;
                int64_t v = ++s->next_val;
                if (raft_core_last_index(s->c[i]) < MAXIDX - 200)
                    raft_core_propose(s->c[i], &v, sizeof(v), s->now, NULL,
                                      NULL);
                settle(s, i, dup, seed, NULL);
            }
        }
        for (int i = 0; i < n; i++) {
            if (!s->alive[i])
                continue;
            if (raft_core_next_deadline(s->c[i]) <= s->now) {
                raft_core_tick(s->c[i], s->now);
                settle(s, i, dup, seed, NULL);
            }
        }
        for (int k = 0; k < s->nfl;) {
            if (s->fl[k].at <= s->now)
                deliver(s, k, drop, seed); /* moves another flight to k */
            else
                k++;
        }
        check_invariants(s, seed);
    }
    /* Heal everything: a last command must commit on all peers. */
    for (int i = 0; i < n; i++) {
        if (!s->alive[i])
            restart(s, i, seed);
        for (int j = 0; j < n; j++)
            s->link[i][j] = true;
    }
    int64_t target = -1;
    int64_t v = 0;
    uint64_t deadline = s->now + 10000, proposed_at = 0;
    bool done = false;
    while (s->now < deadline && !done) {
        s->now += 1;
        if (target > 0 && s->now - proposed_at > 2000)
            target = -1; /* lost in a leader change: propose again */
        for (int i = 0; i < n; i++) {
            if (target < 0 && raft_core_role(s->c[i]) == RAFT_LEADER) {
                v = ++s->next_val;
                proposed_at = s->now;
                raft_core_propose(s->c[i], &v, sizeof(v), s->now, &target,
                                  NULL);
                settle(s, i, 0, seed, NULL);
            }
            if (raft_core_next_deadline(s->c[i]) <= s->now) {
                raft_core_tick(s->c[i], s->now);
                settle(s, i, 0, seed, NULL);
            }
        }
        for (int k = 0; k < s->nfl;) {
            if (s->fl[k].at <= s->now)
                deliver(s, k, 0, seed);
            else
                k++;
        }
        check_invariants(s, seed);
        if (target > 0) {
            done = true;
            for (int i = 0; i < n; i++)
                if (s->applied[i] < target || s->vals[i][target] != v)
                    done = false;
        }
    }
    if (!done)
        die(s, "no agreement after healing", seed);
    if (getenv("RAFT_RANDOM_VERBOSE")) {
        int terms = 0;
        for (size_t t = 0; t < sizeof(s->leader_of) / sizeof(int); t++)
            terms += s->leader_of[t] != -1;
        printf("seed %llu n=%d: %lld committed, %d leaders, snapshot at "
               "%lld, drop %d%% dup %d%%\n", (unsigned long long)seed, n,
               (long long)target, terms,
               (long long)raft_core_snapshot_index(s->c[0]), drop, dup);
    }
    for (int k = 0; k < s->nfl; k++)
        raft_msg_free(s->fl[k].req);
    for (int i = 0; i < n; i++) {
        raft_core_free(s->c[i]);
        raft_store_close(&s->store[i]);
        persister_free(s->ps[i]);
        buf_free(&s->state[i]);
        buf_free(&s->snap[i]);
    }
    free(s);
}

static int nseeds(void)
{
    const char *e = getenv("RAFT_RANDOM_SEEDS");
    return e ? atoi(e) : 30;
}

static void test_random_3(void **state)
{
    (void)state;
    for (int k = 0; k < nseeds(); k++)
        run_seed(1000 + (uint64_t)k, 3, false);
}

static void test_random_5(void **state)
{
    (void)state;
    for (int k = 0; k < nseeds(); k++)
        run_seed(2000 + (uint64_t)k, 5, false);
}

static void test_random_snapshots(void **state)
{
    (void)state;
    for (int k = 0; k < nseeds(); k++)
        run_seed(3000 + (uint64_t)k, 3 + 2 * (k % 2), true);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_3),
        cmocka_unit_test(test_random_5),
        cmocka_unit_test(test_random_snapshots),
    };
    return cmocka_run_group_tests_name("raft_core_random", tests, NULL, NULL);
}
