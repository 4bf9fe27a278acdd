/* lab3extra.c - directed scenario tests for lab 3, beyond the Go suite
 * (extra credit, graded separately from the Go-equivalent points).
 *
 * The graded tests reach the classic Raft bugs' situations only by
 * chance: two bugs planted in the reference passed all 28 of them. These
 * tests drive the ordinary tester (network, crashes, restarts) step by
 * step into those situations, so a solution with the bug fails at once:
 *
 *   TestFigure8Scenario3X  Figure 8 of the Raft paper: a leader commits an
 *                          entry of an earlier term by counting replicas;
 *                          a later leader overwrites it.
 *   TestRestartedVoter3X   a voter that restarts within a term must not
 *                          vote again in it (votedFor is persistent state):
 *                          otherwise two leaders win the same term.
 *
 * Run them with `make test-lab3-extra` or build/release/tests/lab3extra.
 * `make test-lab3-extra-teeth` (instructors) checks each catches its
 * planted bug in the reference (RAFT_BUG_COMMIT_OLD_TERM,
 * RAFT_BUG_FORGET_VOTE) in at least 9 of 10 runs. */
#include <inttypes.h>
#include <stdio.h>

#include "common/clock.h"
#include "labs/raft/config.h"
#include "labs/tester/tester.h"

#define fatalf tester_fatalf

static int64_t term_of(struct rcfg *cfg, int i)
{
    int64_t term;
    bool leader;
    rcfg_get_state(cfg, i, &term, &leader);
    return term;
}

/* Start cmd on server i, which must be the leader; returns the index. */
static int64_t start_on(struct rcfg *cfg, int i, int64_t v)
{
    struct rcmd c = rcmd_int(v);
    int64_t index, term;
    if (!rcfg_start(cfg, i, &c, &index, &term))
        fatalf("server %d is not the leader any more (scenario lost its "
               "setup)", i);
    return index;
}

/* Figure 8 (Raft paper, §5.4.2), with five servers:
 *  (a) leader S1 of term T1 gets entry X at index i onto S2 only;
 *  (b) S1 crashes; S5 becomes leader of term T2 with S3, S4 and takes
 *      entry Y at index i, then crashes before sending it;
 *  (c) S1 restarts and S1 or S2 leads term T3 with S3: X reaches a
 *      majority, but it is of term T1 < T3, so it must NOT be committed
 *      (only an entry of the leader's own term commits by counting);
 *  (d) S1 and S2 go away; S5 restarts and leads with S3, S4 (its last
 *      term T2 beats X's T1), and commits Y at index i with a new entry.
 * A solution that committed X in (c) has applied X at i on some servers;
 * Y at i then fails the applier's check. */
static void test_figure8_scenario(void)
{
    const int n = 5;
    struct rcfg *cfg = rcfg_make(n, false, false);
    rcfg_begin(cfg, "Test (3X): Figure 8, step by step");

    rcfg_one_int(cfg, 101, n, true);

    /* (a) */
    int s1 = rcfg_check_one_leader(cfg);
    int s2 = (s1 + 1) % n;
    int rest[3];
    for (int k = 0, j = 0; k < n; k++)
        if (k != s1 && k != s2)
            rest[j++] = k;
    for (int k = 0; k < 3; k++)
        rcfg_disconnect(cfg, rest[k]);
    int64_t i = start_on(cfg, s1, 102);
    clock_sleep_ms(300); /* X reaches s2 */

    /* (b) */
    rcfg_crash1(cfg, s1);
    rcfg_disconnect(cfg, s2);
    for (int k = 0; k < 3; k++)
        rcfg_connect(cfg, rest[k]);
    int s5 = rcfg_check_one_leader(cfg);
    int others[2];
    for (int k = 0, j = 0; k < 3; k++)
        if (rest[k] != s5)
            others[j++] = rest[k];
    rcfg_disconnect(cfg, others[0]);
    rcfg_disconnect(cfg, others[1]);
    int64_t iy = start_on(cfg, s5, 103);
    if (iy != i)
        fatalf("leader %d put a new command at index %" PRId64 ", expected "
               "%" PRId64, s5, iy, i);
    clock_sleep_ms(50);
    rcfg_crash1(cfg, s5);

    /* (c) */
    int s3 = others[0], s4 = others[1];
    rcfg_start1(cfg, s1, RCFG_APPLIER);
    rcfg_connect(cfg, s1);
    rcfg_connect(cfg, s2);
    rcfg_connect(cfg, s3);
    int l3 = rcfg_check_one_leader(cfg);
    if (l3 != s1 && l3 != s2)
        fatalf("server %d won an election without the longest log", l3);
    clock_sleep_ms(1000); /* time to (wrongly) commit and apply X */

    /* (d) */
    rcfg_disconnect(cfg, s1);
    rcfg_disconnect(cfg, s2);
    rcfg_start1(cfg, s5, RCFG_APPLIER);
    rcfg_connect(cfg, s5);
    rcfg_connect(cfg, s4);
    rcfg_one_int(cfg, 104, 3, true); /* commits Y at i too */
    if (rcfg_n_committed(cfg, i, NULL) == 0)
        fatalf("index %" PRId64 " not committed after a later entry", i);

    /* Everyone agrees at the end. */
    rcfg_connect(cfg, s1);
    rcfg_connect(cfg, s2);
    rcfg_one_int(cfg, 105, n, true);
    rcfg_end(cfg);
    rcfg_cleanup(cfg);
}

/* One round of the restarted-voter scenario; false if the terms did not
 * line up (the round proves nothing, and the caller tries another). With
 * five servers:
 *  - all follow a leader L of term T-1; B crashes at term T-1;
 *  - L crashes; A wins term T with the votes of V and W;
 *  - A, V and W crash (V and W persisted "voted for A in T");
 *  - B restarts alone; delay_ms later V and W restart and join it. B's
 *    first election timeout then ends (usually) before theirs: B asks
 *    for votes in term T, which V and W already gave to A. */
static bool restarted_voter_round(struct rcfg *cfg, int round,
                                  uint64_t delay_ms)
{
    const int n = 5;
    int l = rcfg_check_one_leader(cfg);
    int64_t t0 = rcfg_check_terms(cfg);
    int b = (l + 1 + round) % n;
    if (b == l)
        b = (b + 1) % n;
    if (term_of(cfg, b) != t0)
        return false;
    rcfg_crash1(cfg, b);
    rcfg_crash1(cfg, l);
    int a = rcfg_check_one_leader(cfg);
    int64_t ta = term_of(cfg, a);
    int vw[2];
    for (int k = 0, j = 0; k < n; k++)
        if (k != l && k != b && k != a)
            vw[j++] = k;
    bool aligned = ta == t0 + 1;
    rcfg_crash1(cfg, a);
    rcfg_crash1(cfg, vw[0]);
    rcfg_crash1(cfg, vw[1]);

    rcfg_start1(cfg, b, RCFG_APPLIER);
    rcfg_connect(cfg, b);
    clock_sleep_ms(delay_ms);
    for (int k = 0; k < 2; k++) {
        rcfg_start1(cfg, vw[k], RCFG_APPLIER);
        rcfg_connect(cfg, vw[k]);
    }
    clock_sleep_ms(2 * RAFT_ELECTION_TIMEOUT_MS);
    int trio[3] = {b, vw[0], vw[1]};
    for (int k = 0; k < 3; k++) {
        int64_t term;
        bool leader;
        rcfg_get_state(cfg, trio[k], &term, &leader);
        if (aligned && leader && term == ta)
            fatalf("term %" PRId64 " has two leaders: %d and %d (a voter "
                   "that restarted in term %" PRId64 " voted again)",
                   ta, a, trio[k], ta);
    }

    /* Back to five. */
    rcfg_start1(cfg, a, RCFG_APPLIER);
    rcfg_start1(cfg, l, RCFG_APPLIER);
    rcfg_connect(cfg, a);
    rcfg_connect(cfg, l);
    rcfg_one_int(cfg, 200 + round, n, true);
    return aligned;
}

static void test_restarted_voter(void)
{
    const int n = 5;
    struct rcfg *cfg = rcfg_make(n, false, false);
    rcfg_begin(cfg, "Test (3X): a voter restarting within a term");
    rcfg_one_int(cfg, 100, n, true);
    /* B must time out after V and W are back but before they do: with
     * election timeouts in [lo, 2*lo] a head start just over lo does it
     * (the reference: 300-600 ms); a longer one suits slower timers. */
    static const uint64_t delays[] = {320, 320, 320, 320, 320, 700};
    int aligned = 0;
    for (int r = 0; r < (int)(sizeof(delays) / sizeof(delays[0])); r++)
        aligned += restarted_voter_round(cfg, r, delays[r]);
    if (aligned == 0)
        printf("  (note: no round had the terms lined up)\n");
    rcfg_end(cfg);
    rcfg_cleanup(cfg);
}

static const struct tester_test tests[] = {
    {"TestFigure8Scenario3X", "3X", test_figure8_scenario},
    {"TestRestartedVoter3X", "3X", test_restarted_voter},
};

int main(int argc, char **argv)
{
    return tester_main(argc, argv, "lab3extra", tests,
                       sizeof(tests) / sizeof(tests[0]));
}
