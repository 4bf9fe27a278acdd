/* test_driver.c - smoke tests of the threaded driver (raft.h) over real
 * loopback RPC (plain rpc_end/rpc_server, no fault injection): three peers
 * elect a leader, commit commands, snapshot, survive a restart from their
 * persisters, and shut down cleanly; with file-backed persisters too,
 * where writes become durable only after an fsync (the driver's
 * asynchronous path: early AppendEntries, late acknowledgements). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/persister.h"
#include "common/queue.h"
#include "raft/raft.h"
#include "rpc/rpc.h"
#include "rpc/tests/rpc_testlib.h"

#define N 3
#define MAXCMD 4096
#define SNAP_EVERY 10

/* One peer: its Raft, server, outgoing ends, persister, and a consumer
 * thread standing in for the service. */
struct node {
    struct cluster *cl;
    int id;
    struct raft *rf;
    struct rpc_server *srv;
    struct rpc_end *ends[N];
    struct persister *pers;
    struct queue *applyq;
    pthread_t consumer;
    bool running;
};

struct cluster {
    struct node nodes[N];
    pthread_mutex_t mu;
    /* What each peer applied: cmds[i][index] (0: nothing yet). */
    int64_t cmds[N][MAXCMD];
    int64_t applied[N];
    bool snapshots; /* consumers call raft_snapshot every SNAP_EVERY */
    const char *dir; /* file-backed persisters in dir/<i> (NULL: memory) */
    char err[256];
};

static void fail_locked(struct cluster *cl, const char *msg)
{
    if (!cl->err[0])
        snprintf(cl->err, sizeof(cl->err), "%s", msg);
}

/* The "service": checks order, records commands, snapshots periodically
 * (from this thread, synchronously, as the 6.5840 tester does). The
 * snapshot is just the applied prefix, encoded as int64s. */
static void *consumer_main(void *arg)
{
    struct node *nd = arg;
    struct cluster *cl = nd->cl;
    void *item;
    while (queue_pop(nd->applyq, &item) == 0) {
        struct raft_apply_msg *m = item;
        pthread_mutex_lock(&cl->mu);
        int i = nd->id;
        if (m->snapshot_valid) {
            size_t n = m->snapshot_len / sizeof(int64_t);
            if ((int64_t)n != m->snapshot_index + 1 ||
                m->snapshot_index <= cl->applied[i])
                fail_locked(cl, "bad snapshot");
            else {
                memcpy(cl->cmds[i], m->snapshot, m->snapshot_len);
                cl->applied[i] = m->snapshot_index;
            }
        } else if (m->command_valid) {
            int64_t v = 0;
            if (m->command_index != cl->applied[i] + 1)
                fail_locked(cl, "apply out of order");
            else if (m->command_len != sizeof(v) ||
                     m->command_index >= MAXCMD)
                fail_locked(cl, "bad command");
            else {
                memcpy(&v, m->command, sizeof(v));
                cl->cmds[i][m->command_index] = v;
                cl->applied[i] = m->command_index;
                for (int j = 0; j < N; j++)
                    if (cl->applied[j] >= m->command_index &&
                        cl->cmds[j][m->command_index] != v)
                        fail_locked(cl, "peers applied different commands");
            }
        }
        bool snap = cl->snapshots && m->command_valid &&
                    m->command_index % SNAP_EVERY == 0;
        int64_t index = m->command_index;
        struct buf b = BUF_INIT;
        if (snap)
            buf_append(&b, cl->cmds[i], (size_t)(index + 1) * sizeof(int64_t));
        pthread_mutex_unlock(&cl->mu);
        if (snap)
            raft_snapshot(nd->rf, index, b.data, b.len);
        buf_free(&b);
        raft_apply_msg_free(m);
    }
    return NULL;
}

/* Start (or restart) peer i: a fresh server and fresh outgoing ends; the
 * others' ends to i are pointed at the new address. */
static void node_start(struct cluster *cl, int i)
{
    struct node *nd = &cl->nodes[i];
    nd->cl = cl;
    nd->id = i;
    nd->srv = rpc_server_new();
    assert_int_equal(rpc_server_listen(nd->srv, "127.0.0.1:0"), 0);
    for (int j = 0; j < N; j++) {
        if (j == i)
            continue;
        int err;
        const char *addr = cl->nodes[j].srv ? rpc_server_addr(cl->nodes[j].srv)
                                            : NULL;
        nd->ends[j] = rpc_end_new(addr, &err);
        assert_non_null(nd->ends[j]);
        rpc_end_set_timeout(nd->ends[j], 1000);
        /* Others' ends to i follow i to its new address. */
        if (cl->nodes[j].ends[i])
            assert_int_equal(rpc_end_set_addr(cl->nodes[j].ends[i],
                                              rpc_server_addr(nd->srv)),
                             0);
    }
    if (!nd->pers && cl->dir) {
        char path[512];
        int err;
        snprintf(path, sizeof(path), "%s/%d", cl->dir, i);
        nd->pers = persister_open_dir(path, &err);
        assert_non_null(nd->pers);
    }
    if (!nd->pers)
        nd->pers = persister_new_mem();
    pthread_mutex_lock(&cl->mu);
    /* Mimic the service restoring its snapshot. */
    struct buf snap = BUF_INIT;
    persister_read_snapshot(nd->pers, &snap);
    cl->applied[i] = 0;
    if (snap.len) {
        memcpy(cl->cmds[i], snap.data, snap.len);
        cl->applied[i] = (int64_t)(snap.len / sizeof(int64_t)) - 1;
    }
    buf_free(&snap);
    pthread_mutex_unlock(&cl->mu);
    nd->applyq = queue_new(1);
    nd->rf = raft_make(nd->ends, N, i, nd->pers, nd->applyq);
    assert_int_equal(raft_register(nd->rf, nd->srv), 0);
    pthread_create(&nd->consumer, NULL, consumer_main, nd);
    nd->running = true;
}

/* Crash peer i: kill, stop its server, hand a copy of its persister to
 * the next incarnation (a zombie could only touch the old one). */
static void node_crash(struct cluster *cl, int i)
{
    struct node *nd = &cl->nodes[i];
    if (!nd->running)
        return;
    raft_kill(nd->rf);
    rpc_server_close(nd->srv);
    nd->srv = NULL;
    queue_close(nd->applyq);
    pthread_join(nd->consumer, NULL);
    raft_free(nd->rf);
    nd->rf = NULL;
    queue_free(nd->applyq, (void (*)(void *))raft_apply_msg_free);
    for (int j = 0; j < N; j++) {
        if (nd->ends[j])
            rpc_end_free(nd->ends[j]);
        nd->ends[j] = NULL;
    }
    /* A file-backed peer comes back from its files. */
    struct persister *copy = cl->dir ? NULL : persister_copy(nd->pers);
    persister_free(nd->pers);
    nd->pers = copy;
    nd->running = false;
}

static struct cluster *cluster_new_in(bool snapshots, const char *dir)
{
    struct cluster *cl = calloc(1, sizeof(*cl));
    pthread_mutex_init(&cl->mu, NULL);
    cl->snapshots = snapshots;
    cl->dir = dir;
    /* Ends to peers not started yet get their address when they start. */
    for (int i = 0; i < N; i++)
        node_start(cl, i);
    return cl;
}

static struct cluster *cluster_new(bool snapshots)
{
    return cluster_new_in(snapshots, NULL);
}

static void cluster_free(struct cluster *cl)
{
    for (int i = 0; i < N; i++)
        node_crash(cl, i);
    for (int i = 0; i < N; i++)
        persister_free(cl->nodes[i].pers);
    assert_string_equal(cl->err, "");
    pthread_mutex_destroy(&cl->mu);
    free(cl);
}

/* The leader, after waiting up to 5 s for exactly one. */
static int wait_leader(struct cluster *cl)
{
    for (int tries = 0; tries < 100; tries++) {
        int leader = -1, count = 0;
        int64_t best = -1;
        for (int i = 0; i < N; i++) {
            if (!cl->nodes[i].running)
                continue;
            int64_t t;
            bool l;
            raft_get_state(cl->nodes[i].rf, &t, &l);
            if (l && t > best) {
                best = t;
                leader = i;
                count++;
            }
        }
        if (leader >= 0)
            return leader;
        clock_sleep_ms(50);
    }
    fail();
    return -1;
}

/* Submit v until some leader accepts it and all `want` running peers
 * have applied it (like the tester's one()). Returns its index. */
static int64_t one(struct cluster *cl, int64_t v, int want)
{
    uint64_t t0 = clock_now_ms();
    while (clock_now_ms() - t0 < 10000) {
        int64_t index = -1, term;
        for (int i = 0; i < N && index < 0; i++) {
            if (!cl->nodes[i].running)
                continue;
            if (!raft_start(cl->nodes[i].rf, &v, sizeof(v), &index, &term))
                index = -1;
        }
        if (index < 0) {
            clock_sleep_ms(50);
            continue;
        }
        uint64_t t1 = clock_now_ms();
        while (clock_now_ms() - t1 < 2000) {
            int n = 0;
            pthread_mutex_lock(&cl->mu);
            for (int i = 0; i < N; i++)
                if (cl->applied[i] >= index && cl->cmds[i][index] == v)
                    n++;
            pthread_mutex_unlock(&cl->mu);
            if (n >= want)
                return index;
            clock_sleep_ms(5);
        }
    }
    fail_msg("one(%lld) failed to reach agreement", (long long)v);
    return -1;
}

/* Three peers elect one leader; the others agree on its term. */
static void test_election(void **state)
{
    (void)state;
    struct cluster *cl = cluster_new(false);
    wait_leader(cl);
    /* Like the tester's checkOneLeader, look again a little later (right
     * at the first election a slow peer may still start its own). */
    clock_sleep_ms(500);
    int l = wait_leader(cl);
    int64_t lt;
    bool isl;
    raft_get_state(cl->nodes[l].rf, &lt, &isl);
    assert_true(lt >= 1);
    clock_sleep_ms(300);
    for (int i = 0; i < N; i++) {
        int64_t t;
        raft_get_state(cl->nodes[i].rf, &t, &isl);
        assert_int_equal(t, lt);
    }
    cluster_free(cl);
}

/* Commands commit on every peer, in order, with the right indices; a
 * follower refuses raft_start. */
static void test_agreement(void **state)
{
    (void)state;
    struct cluster *cl = cluster_new(false);
    int l = wait_leader(cl);
    int64_t idx, term;
    int64_t v = 5;
    assert_false(raft_start(cl->nodes[(l + 1) % N].rf, &v, sizeof(v), &idx,
                            &term));
    for (int64_t k = 1; k <= 30; k++)
        assert_int_equal(one(cl, 100 + k, N), k);
    /* A burst of concurrent starts commits too. */
    int64_t last = 0;
    for (int64_t k = 0; k < 50; k++)
        if (raft_start(cl->nodes[l].rf, &k, sizeof(k), &idx, &term))
            last = idx;
    assert_true(last > 30);
    assert_true(one(cl, 999, N) > last);
    assert_int_equal(raft_state_size(cl->nodes[l].rf) > 0, 1);
    cluster_free(cl);
}

/* Crash a follower, commit without it, restart it: it catches up. Then
 * restart everybody: state survives in the persisters. */
static void test_restart(void **state)
{
    (void)state;
    struct cluster *cl = cluster_new(false);
    wait_leader(cl);
    one(cl, 1, N);
    int l = wait_leader(cl);
    int f = (l + 1) % N;
    node_crash(cl, f);
    for (int k = 2; k <= 10; k++)
        one(cl, k, N - 1);
    node_start(cl, f);
    one(cl, 11, N);
    for (int i = 0; i < N; i++)
        node_crash(cl, i);
    for (int i = 0; i < N; i++)
        node_start(cl, i);
    assert_int_equal(one(cl, 12, N), 12);
    cluster_free(cl);
}

/* With the service snapshotting every 10 entries, a follower that was
 * down catches up through InstallSnapshot, and a restarted peer resumes
 * right after its snapshot; the persisted state stays small. */
static void test_snapshots(void **state)
{
    (void)state;
    struct cluster *cl = cluster_new(true);
    wait_leader(cl);
    one(cl, 1, N);
    int l = wait_leader(cl);
    int f = (l + 1) % N;
    node_crash(cl, f);
    for (int k = 2; k <= 35; k++)
        one(cl, k, N - 1);
    for (int i = 0; i < N; i++)
        if (cl->nodes[i].running)
            assert_true(raft_state_size(cl->nodes[i].rf) < 2000);
    node_start(cl, f);
    one(cl, 36, N);
    pthread_mutex_lock(&cl->mu);
    assert_int_equal(cl->applied[f], 36);
    pthread_mutex_unlock(&cl->mu);
    for (int i = 0; i < N; i++)
        node_crash(cl, i);
    for (int i = 0; i < N; i++)
        node_start(cl, i);
    assert_int_equal(one(cl, 37, N), 37);
    cluster_free(cl);
}

/* raft_kill is prompt even with a follower unreachable, and twice is
 * harmless; a killed peer refuses raft_start. */
static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* File-backed persisters: every write is durable only after an fsync, so
 * the driver takes its asynchronous path (AppendEntries sent before the
 * leader's fsync, which the sender runs after the call; the leader counted
 * in the quorum only once acknowledged). Commands commit, a burst
 * commits, and every peer comes back from its files with what it
 * acknowledged. */
static void test_file_storage(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_raft_driver.XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct cluster *cl = cluster_new_in(true, dir);
    wait_leader(cl);
    for (int64_t k = 1; k <= 25; k++)
        assert_int_equal(one(cl, 100 + k, N), k);
    int l = wait_leader(cl);
    int64_t idx, term, last = 0;
    for (int64_t k = 0; k < 40; k++)
        if (raft_start(cl->nodes[l].rf, &k, sizeof(k), &idx, &term))
            last = idx;
    assert_true(one(cl, 999, N) > last);
    for (int i = 0; i < N; i++)
        node_crash(cl, i);
    memset(cl->applied, 0, sizeof(cl->applied));
    memset(cl->cmds, 0, sizeof(cl->cmds));
    for (int i = 0; i < N; i++)
        node_start(cl, i);
    assert_true(one(cl, 1000, N) > last + 1);
    cluster_free(cl);
    assert_int_equal(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* A one-peer cluster on a file-backed persister: nobody else would run
 * its fsync, so its applier does, and each command commits once durable. */
static void test_file_single_peer(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_raft_driver.XXXXXX";
    assert_non_null(mkdtemp(dir));
    int err;
    struct persister *ps = persister_open_dir(dir, &err);
    assert_non_null(ps);
    struct queue *q = queue_new(16);
    struct rpc_end *none[1] = {NULL};
    struct raft *rf = raft_make(none, 1, 0, ps, q);
    bool leader = false;
    for (int tries = 0; tries < 100 && !leader; tries++) {
        raft_get_state(rf, NULL, &leader);
        if (!leader)
            clock_sleep_ms(20);
    }
    assert_true(leader);
    for (int64_t k = 1; k <= 5; k++) {
        int64_t idx, term;
        assert_true(raft_start(rf, &k, sizeof(k), &idx, &term));
        assert_int_equal(idx, k);
        void *item;
        assert_int_equal(queue_pop_timeout(q, &item, 2000), 0);
        struct raft_apply_msg *m = item;
        assert_true(m->command_valid);
        assert_int_equal(m->command_index, k);
        raft_apply_msg_free(m);
    }
    raft_free(rf);
    queue_free(q, (void (*)(void *))raft_apply_msg_free);
    persister_free(ps);
    assert_int_equal(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

struct sampler {
    pthread_t th;
    atomic_bool stop;
    int most;
};

static void *sampler_main(void *arg)
{
    struct sampler *sm = arg;
    while (!atomic_load(&sm->stop)) {
        int t = test_process_threads();
        if (t > sm->most)
            sm->most = t;
        clock_sleep_ms(1);
    }
    return NULL;
}

/* A follower that accepts connections but never answers (a frozen
 * process; here a listening socket nobody reads, standing in for a
 * crashed peer): every heartbeat to it stays outstanding until its
 * 3 s timeout.
 * The leader keeps a fixed number of threads for it (rpc_call_async)
 * instead of one blocked thread per outstanding call, and keeps
 * committing with the other follower. */
static void test_silent_peer_threads(void **state)
{
    (void)state;
    struct cluster *cl = cluster_new(false);
    wait_leader(cl);
    one(cl, 1, N);
    int l = wait_leader(cl);
    int silent = (l + 1) % N;
    char addr[64];
    int hole = raw_black_hole(addr, sizeof(addr));
    assert_true(hole >= 0);
    node_crash(cl, silent); /* so that it cannot campaign meanwhile */
    int before = test_process_threads();
    assert_int_equal(rpc_end_set_addr(cl->nodes[l].ends[silent], addr), 0);
    rpc_end_set_timeout(cl->nodes[l].ends[silent], 3000);
    struct sampler sm = {.most = before};
    atomic_init(&sm.stop, false);
    pthread_create(&sm.th, NULL, sampler_main, &sm);
    for (int64_t k = 2; k <= 20; k++) {
        assert_int_equal(one(cl, k, N - 1), k);
        clock_sleep_ms(150);
    }
    atomic_store(&sm.stop, true);
    pthread_join(sm.th, NULL);
    printf("threads: %d before, at most %d with a silent follower\n",
           before, sm.most);
    /* The leader's sender and rpc completion thread for the new address. */
    assert_true(sm.most <= before + 4);
    int64_t t;
    bool isl;
    raft_get_state(cl->nodes[l].rf, &t, &isl);
    assert_true(isl);
    uint64_t t0 = clock_now_ms();
    cluster_free(cl); /* kill completes the calls still outstanding */
    assert_true(clock_now_ms() - t0 < 2000);
    close(hole);
}

static void test_kill(void **state)
{
    (void)state;
    struct cluster *cl = cluster_new(false);
    wait_leader(cl);
    one(cl, 1, N);
    struct node *nd = &cl->nodes[0];
    uint64_t t0 = clock_now_ms();
    raft_kill(nd->rf);
    raft_kill(nd->rf);
    assert_true(clock_now_ms() - t0 < 2000);
    int64_t v = 1, idx, term;
    assert_false(raft_start(nd->rf, &v, sizeof(v), &idx, &term));
    cluster_free(cl);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_election),
        cmocka_unit_test(test_agreement),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_snapshots),
        cmocka_unit_test(test_kill),
        cmocka_unit_test(test_silent_peer_threads),
        cmocka_unit_test(test_file_storage),
        cmocka_unit_test(test_file_single_peer),
    };
    return cmocka_run_group_tests_name("raft_driver", tests, NULL, NULL);
}
