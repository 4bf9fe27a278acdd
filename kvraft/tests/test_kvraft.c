/* test_kvraft.c - unit tests for kvraft/: the command and map codecs,
 * and a 3-server cluster over plain loopback TCP (no fault injection):
 * operations, leader failover, and restart from the persisters with
 * snapshots, the dedup table surviving it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/persister.h"
#include "kvraft/kvraft.h"
#include "kvraft/kvraft_internal.h"
#include "kvsrv/kv_map.h"
#include "rpc/rpc.h"

static void test_op_codec(void **state)
{
    (void)state;
    struct kv_op op = {.type = KV_OP_APPEND, .key = "k\0ey", .klen = 4,
                       .val = "value", .vlen = 5};
    struct buf b = BUF_INIT;
    kv_op_encode(&op, &b);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    struct kv_op out;
    assert_int_equal(kv_op_decode(b.data, b.len, &u, &out), 0);
    assert_int_equal(out.type, KV_OP_APPEND);
    assert_int_equal(out.klen, 4);
    assert_memory_equal(out.key, "k\0ey", 4);
    assert_int_equal(out.vlen, 5);
    assert_memory_equal(out.val, "value", 5);
    msgpack_unpacked_destroy(&u);
    /* Small: these bytes (plus rsm's envelope) are what maxraftstate
     * counts. */
    assert_true(b.len <= 20);

    /* Garbage and truncation are rejected, not trusted. */
    msgpack_unpacked_init(&u);
    assert_int_equal(kv_op_decode(b.data, b.len - 3, &u, &out), ERR_CORRUPT);
    msgpack_unpacked_destroy(&u);
    msgpack_unpacked_init(&u);
    assert_int_equal(kv_op_decode("\xc1\xc1", 2, &u, &out), ERR_CORRUPT);
    msgpack_unpacked_destroy(&u);
    buf_free(&b);
}

static void test_snapshot_codec(void **state)
{
    (void)state;
    struct kv_map *m = kv_map_new();
    char k[16];
    for (int i = 0; i < 100; i++) {
        int n = snprintf(k, sizeof k, "k%d", i);
        kv_map_put(m, k, (size_t)n, k, (size_t)n);
    }
    struct buf b = BUF_INIT;
    kv_snapshot_encode(m, &b);

    struct kv_map *m2 = kv_map_new();
    kv_map_put(m2, "stale", 5, "x", 1);
    assert_int_equal(kv_snapshot_decode(b.data, b.len, m2), 0);
    assert_int_equal(kv_map_count(m2), 100);
    for (int i = 0; i < 100; i++) {
        int n = snprintf(k, sizeof k, "k%d", i);
        assert_string_equal(kv_map_get(m2, k, (size_t)n, NULL), k);
    }
    /* Corrupt input leaves the map as it was. */
    assert_int_equal(kv_snapshot_decode(b.data, b.len / 2, m2), ERR_CORRUPT);
    assert_int_equal(kv_map_count(m2), 100);

    /* One key: far below TestSnapshotSize4B's 500 bytes even with rsm's
     * index and dedup table around it. */
    kv_map_clear(m);
    kv_map_put(m, "x", 1, "1", 1);
    buf_clear(&b);
    kv_snapshot_encode(m, &b);
    assert_true(b.len < 10);

    buf_free(&b);
    kv_map_free(m);
    kv_map_free(m2);
}

/* ---- a real cluster --------------------------------------------------------- */

#define N 3

struct cluster {
    struct persister *ps[N];
    struct kv_server *kv[N];
    struct rpc_server *srv[N];
    struct rpc_end *peer_ends[N][N]; /* [i][j]: i's end to j */
    struct rpc_end *client_ends[N];
    char addrs[N][64];
    int64_t maxraftstate;
};

static void start_server(struct cluster *c, int i)
{
    c->srv[i] = rpc_server_new();
    c->kv[i] = kv_server_start(c->peer_ends[i], N, i, c->ps[i],
                               c->maxraftstate);
    assert_int_equal(kv_server_register(c->kv[i], c->srv[i]), 0);
    assert_int_equal(rpc_server_listen(c->srv[i], c->addrs[i]), 0);
}

static void stop_server(struct cluster *c, int i)
{
    kv_kill(c->kv[i]);
    rpc_server_close(c->srv[i]);
    kv_free(c->kv[i]);
    c->kv[i] = NULL;
    c->srv[i] = NULL;
    for (int j = 0; j < N; j++) {
        if (c->peer_ends[i][j]) {
            rpc_end_free(c->peer_ends[i][j]);
            c->peer_ends[i][j] = NULL;
        }
    }
}

static void make_peer_ends(struct cluster *c, int i)
{
    for (int j = 0; j < N; j++) {
        if (j == i)
            continue;
        int err = 0;
        c->peer_ends[i][j] = rpc_end_new(c->addrs[j], &err);
        assert_non_null(c->peer_ends[i][j]);
        rpc_end_set_timeout(c->peer_ends[i][j], 1000);
    }
}

static struct cluster *cluster_new(int64_t maxraftstate)
{
    struct cluster *c = calloc(1, sizeof(*c));
    c->maxraftstate = maxraftstate;
    /* Listen on port 0 once to learn free ports, then reuse them so that
     * peers (and restarts) know the addresses in advance. */
    for (int i = 0; i < N; i++) {
        struct rpc_server *s = rpc_server_new();
        assert_int_equal(rpc_server_listen(s, "127.0.0.1:0"), 0);
        snprintf(c->addrs[i], sizeof c->addrs[i], "%s",
                 rpc_server_addr(s));
        rpc_server_close(s);
    }
    for (int i = 0; i < N; i++) {
        c->ps[i] = persister_new_mem();
        make_peer_ends(c, i);
    }
    for (int i = 0; i < N; i++)
        start_server(c, i);
    for (int i = 0; i < N; i++) {
        int err = 0;
        c->client_ends[i] = rpc_end_new(c->addrs[i], &err);
        rpc_end_set_timeout(c->client_ends[i], 2000);
    }
    return c;
}

static void cluster_free(struct cluster *c)
{
    for (int i = 0; i < N; i++)
        if (c->kv[i])
            stop_server(c, i);
    for (int i = 0; i < N; i++) {
        rpc_end_shutdown(c->client_ends[i]);
        rpc_end_free(c->client_ends[i]);
        persister_free(c->ps[i]);
    }
    free(c);
}

static int leader_of(struct cluster *c)
{
    for (int k = 0; k < 100; k++) {
        for (int i = 0; i < N; i++) {
            if (!c->kv[i])
                continue;
            int64_t term;
            bool leader;
            raft_get_state(kv_server_raft(c->kv[i]), &term, &leader);
            if (leader)
                return i;
        }
        clock_sleep_ms(50);
    }
    return -1;
}

static void expect(struct kv_clerk *ck, const char *key, const char *want)
{
    char *v = kv_clerk_get(ck, key, NULL);
    assert_non_null(v);
    assert_string_equal(v, want);
    free(v);
}

/* Operations, a leader crash with failover, and the clerk's retries. */
static void test_cluster_failover(void **state)
{
    (void)state;
    struct cluster *c = cluster_new(-1);
    struct kv_clerk *ck = kv_clerk_new(c->client_ends, N, 0);
    expect(ck, "missing", "");
    assert_int_equal(kv_clerk_put(ck, "a", "1"), 0);
    assert_int_equal(kv_clerk_append(ck, "a", "2"), 0);
    expect(ck, "a", "12");

    int l = leader_of(c);
    assert_true(l >= 0);
    stop_server(c, l);
    assert_int_equal(kv_clerk_append(ck, "a", "3"), 0);
    expect(ck, "a", "123");
    make_peer_ends(c, l);
    start_server(c, l);
    for (int i = 0; i < 20; i++)
        assert_int_equal(kv_clerk_append(ck, "b", "x"), 0);
    expect(ck, "b", "xxxxxxxxxxxxxxxxxxxx");
    kv_clerk_free(ck);
    cluster_free(c);
}

/* With a small maxraftstate, state is snapshotted and Raft's log trimmed;
 * after every server restarts, data and the dedup table are back, so a
 * retransmitted Append with an old seq is not applied twice. */
static void test_cluster_snapshot_restart(void **state)
{
    (void)state;
    struct cluster *c = cluster_new(1000);
    struct kv_clerk *ck = kv_clerk_new(c->client_ends, N, 0);
    char v[32];
    for (int i = 0; i < 200; i++) {
        snprintf(v, sizeof v, "%d;", i);
        assert_int_equal(kv_clerk_append(ck, "k", v), 0);
    }
    for (int i = 0; i < N; i++)
        assert_true(persister_state_size(c->ps[i]) <= 8000);
    size_t snaps = 0;
    for (int i = 0; i < N; i++)
        snaps += persister_snapshot_size(c->ps[i]) > 0;
    assert_true(snaps >= 2);
    char *before = kv_clerk_get(ck, "k", NULL);

    for (int i = 0; i < N; i++)
        stop_server(c, i);
    for (int i = 0; i < N; i++)
        make_peer_ends(c, i);
    for (int i = 0; i < N; i++)
        start_server(c, i);
    expect(ck, "k", before);

    /* A stale retransmission of the clerk's first Append (seq 1): a
     * second clerk with the same id starts again at seq 1. It must be
     * answered OK from the restored dedup table, not applied. */
    struct kv_clerk *stale = kv_clerk_new(c->client_ends, N, kv_clerk_id(ck));
    assert_int_equal(kv_clerk_append(stale, "k", "DUP"), 0);
    kv_clerk_free(stale);
    expect(ck, "k", before);
    free(before);

    struct kv_server_stats st;
    kv_server_get_stats(c->kv[leader_of(c)], &st);
    assert_true(st.clients >= 1);
    kv_clerk_free(ck);
    cluster_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_op_codec),
        cmocka_unit_test(test_snapshot_codec),
        cmocka_unit_test(test_cluster_failover),
        cmocka_unit_test(test_cluster_snapshot_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
