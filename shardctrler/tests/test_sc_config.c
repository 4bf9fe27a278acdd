/* test_sc_config.c - the rebalancer: balance, determinism and minimal
 * movement (checked against a brute-force optimum), plus the wire form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/rand.h"
#include "shardctrler/sc_config.h"

static struct sc_group mk_group(int gid)
{
    static char a[] = "a", b[] = "b";
    static char *servers[] = {a, b};
    return (struct sc_group){gid, 2, servers};
}

static void assert_balanced(const struct sc_config *c)
{
    if (c->ngroups == 0) {
        for (int s = 0; s < SC_NSHARDS; s++)
            assert_int_equal(c->shards[s], 0);
        return;
    }
    int min = 1 << 30, max = 0;
    for (int i = 0; i < c->ngroups; i++) {
        int n = 0;
        for (int s = 0; s < SC_NSHARDS; s++)
            n += c->shards[s] == c->groups[i].gid;
        min = n < min ? n : min;
        max = n > max ? n : max;
    }
    for (int s = 0; s < SC_NSHARDS; s++)
        assert_non_null(sc_config_group(c, c->shards[s]));
    assert_true(max <= min + 1);
}

/* Fewest moves any balanced assignment could need from `before` for the
 * groups of `after`: try every choice of which groups get the +1 slots. */
static int brute_force_min_moves(const struct sc_config *before,
                                 const struct sc_config *after)
{
    int n = after->ngroups;
    if (n == 0) { /* every shard must go back to gid 0 */
        int m = 0;
        for (int s = 0; s < SC_NSHARDS; s++)
            m += before->shards[s] != 0;
        return m;
    }
    int cur[64] = {0}, fixed_free = 0;
    for (int s = 0; s < SC_NSHARDS; s++) {
        int gi = -1;
        for (int i = 0; i < n; i++)
            if (after->groups[i].gid == before->shards[s])
                gi = i;
        if (gi < 0)
            fixed_free++;
        else
            cur[gi]++;
    }
    int base = SC_NSHARDS / n, extra = SC_NSHARDS % n, best = 1 << 30;
    for (unsigned mask = 0; mask < (1u << n); mask++) {
        if (__builtin_popcount(mask) != extra)
            continue;
        int moves = fixed_free;
        for (int i = 0; i < n; i++) {
            int t = base + ((mask >> i) & 1);
            moves += cur[i] > t ? cur[i] - t : 0;
        }
        best = moves < best ? moves : best;
    }
    return best;
}

static int moved(const struct sc_config *a, const struct sc_config *b)
{
    int m = 0;
    for (int s = 0; s < SC_NSHARDS; s++)
        m += a->shards[s] != b->shards[s];
    return m;
}

/* The 6.5840 TestMinimalAgain schedule: join 1, 2; join 3 moves only
 * shards to 3 (<= 4); leave 1 moves only gid 1's shards (<= 4). */
static void test_minimal_again(void **state)
{
    (void)state;
    struct sc_config c, c1, c2;
    sc_config_init(&c);
    struct sc_group g1 = mk_group(1), g2 = mk_group(2), g3 = mk_group(3);
    sc_config_join(&c, &g1, 1);
    sc_config_join(&c, &g2, 1);
    sc_config_copy(&c1, &c);
    sc_config_join(&c, &g3, 1);
    assert_balanced(&c);
    for (int s = 0; s < SC_NSHARDS; s++)
        if (c.shards[s] != 3)
            assert_int_equal(c.shards[s], c1.shards[s]);
    assert_true(moved(&c1, &c) <= SC_NSHARDS / 3 + 1);
    sc_config_copy(&c2, &c);
    int one = 1;
    sc_config_leave(&c, &one, 1);
    assert_balanced(&c);
    for (int s = 0; s < SC_NSHARDS; s++)
        if (c2.shards[s] != 1)
            assert_int_equal(c.shards[s], c2.shards[s]);
    assert_true(moved(&c2, &c) <= SC_NSHARDS / 3 + 1);
    assert_int_equal(c.num, 4);
    sc_config_free(&c);
    sc_config_free(&c1);
    sc_config_free(&c2);
}

/* Random join/leave/move sequences (up to 12 groups, more than shards):
 * always balanced, identical when replayed (determinism), and every step
 * moves exactly the brute-force minimum number of shards. */
static void test_random_sequences(void **state)
{
    (void)state;
    struct rng r;
    rng_seed(&r, 5840);
    for (int trial = 0; trial < 300; trial++) {
        struct sc_config c, replay;
        sc_config_init(&c);
        sc_config_init(&replay);
        for (int step = 0; step < 30; step++) {
            struct sc_config before;
            sc_config_copy(&before, &c);
            int op = (int)rng_below(&r, 3), gid = 1 + (int)rng_below(&r, 12);
            if (op == 0) {
                struct sc_group g = mk_group(gid);
                sc_config_join(&c, &g, 1);
                sc_config_join(&replay, &g, 1);
            } else if (op == 1) {
                sc_config_leave(&c, &gid, 1);
                sc_config_leave(&replay, &gid, 1);
            } else {
                int shard = (int)rng_below(&r, SC_NSHARDS);
                int rc = sc_config_move(&c, shard, gid);
                assert_int_equal(rc, sc_config_move(&replay, shard, gid));
                sc_config_free(&before);
                continue; /* moves may unbalance on purpose */
            }
            assert_true(sc_config_equal(&c, &replay));
            assert_balanced(&c);
            assert_int_equal(moved(&before, &c),
                             brute_force_min_moves(&before, &c));
            sc_config_free(&before);
        }
        sc_config_free(&c);
        sc_config_free(&replay);
    }
}

/* Join keeps server lists in order; pack/unpack round-trips; garbage is
 * rejected without leaks. */
static void test_wire(void **state)
{
    (void)state;
    struct sc_config c, d;
    sc_config_init(&c);
    char x[] = "x", y[] = "y", z[] = "z";
    char *servers[] = {x, y, z};
    struct sc_group g = {7, 3, servers};
    struct sc_group g2 = mk_group(9);
    sc_config_join(&c, &g, 1);
    sc_config_join(&c, &g2, 1);
    assert_string_equal(sc_config_group(&c, 7)->servers[2], "z");
    struct buf b = BUF_INIT;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, buf_msgpack_write);
    sc_config_pack(&pk, &c);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, (const char *)b.data, b.len, &off),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(sc_config_unpack(&u.data, &d), 0);
    assert_true(sc_config_equal(&c, &d));
    sc_config_free(&d);
    msgpack_unpacked_destroy(&u);

    /* A map with the wrong shard count is rejected. */
    buf_clear(&b);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "s", 1);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_int(&pk, 1);
    msgpack_unpacked_init(&u);
    off = 0;
    msgpack_unpack_next(&u, (const char *)b.data, b.len, &off);
    assert_int_not_equal(sc_config_unpack(&u.data, &d), 0);
    msgpack_unpacked_destroy(&u);
    buf_free(&b);
    sc_config_free(&c);

    assert_int_equal(sc_key2shard("", 0), 0);
    assert_int_equal(sc_key2shard("0", 1), 8); /* '0' = 48 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_again),
        cmocka_unit_test(test_random_sequences),
        cmocka_unit_test(test_wire),
    };
    return cmocka_run_group_tests_name("sc_config", tests, NULL, NULL);
}
