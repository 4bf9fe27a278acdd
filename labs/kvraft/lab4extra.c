/* lab4extra.c - directed scenario tests for lab 4, beyond the Go suite
 * (extra credit, graded separately from the Go-equivalent points).
 *
 * A server whose snapshot leaves out the duplicate table (or does not
 * restore it) passes every graded 4B test: a retry of an applied request
 * usually arrives while the table is still in memory. These tests drive
 * the ordinary tester step by step into the case where it is not: an
 * Append is applied but its reply is lost, and the servers snapshot past
 * it; then
 *
 *   TestLostReplyRestart4X  all servers restart from their snapshots;
 *   TestLostReplyInstall4X  a server that lacked the Append gets it in an
 *                           InstallSnapshot and becomes the leader;
 *
 * and the clerk's retry of the same request must not be applied a second
 * time.
 *
 * Run them with `make test-lab4-extra` or build/release/tests/lab4extra.
 * `make test-lab4-extra-teeth` (instructors) checks they catch the bugs
 * planted in raft/rsm.c (RSM_BUG_SNAPSHOT_NO_DEDUP: both tests;
 * RSM_BUG_INSTALL_NO_DEDUP: the InstallSnapshot one) in at least 9 of 10
 * runs. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "labs/kvraft/config.h"
#include "labs/tester/tester.h"

#define fatalf tester_fatalf

enum { NSERVERS = 3 };
/* As the graded 4B tests: a few dozen small Puts cross it several times. */
#define MAXRAFTSTATE 1000

static char *get(struct kv4cfg *cfg, struct kv4_client *c, const char *key)
{
    char *v = kv_clerk_get(c->ck, key, NULL);
    if (!v)
        fatalf("Get(%s): clerk shut down", key);
    kv4cfg_op(cfg);
    return v;
}

static void put(struct kv4cfg *cfg, struct kv4_client *c, const char *key,
                const char *value)
{
    if (kv_clerk_put(c->ck, key, value) != 0)
        fatalf("Put(%s): clerk shut down", key);
    kv4cfg_op(cfg);
}

/* The Append whose reply gets lost, on its own thread. */
struct pending {
    struct kv4cfg *cfg;
    struct kv4_client *ck;
    const char *key;
    atomic_bool done;
};

static void *append_main(void *arg)
{
    struct pending *p = arg;
    if (kv_clerk_append(p->ck->ck, p->key, "A") != 0)
        fatalf("Append(%s): clerk shut down", p->key);
    kv4cfg_op(p->cfg);
    atomic_store(&p->done, true);
    return NULL;
}

static bool wait_done(struct pending *p, uint64_t ms)
{
    uint64_t deadline = clock_now_ms() + ms;
    while (!atomic_load(&p->done)) {
        if (clock_now_ms() >= deadline)
            return false;
        clock_sleep_ms(5);
    }
    return true;
}

/* A round's cast: the three servers' roles and the two clerks. */
struct round {
    struct kv4cfg *cfg;
    int r;
    char key[16];
    int l, f1, f2;
    struct kv4_client *ck1; /* the test's: its Append's reply is lost */
    struct kv4_client *ck2; /* the round's: commits and fills */
    struct pending p;
    pthread_t t;
    bool armed; /* the Append was applied before its retry */
};

static int all[NSERVERS] = {0, 1, 2};

/* The common start; leaves F2 cut off, ck1 cut off and retrying, and
 * ck2 talking to L and F1:
 *  - ck1 Puts key=0 (it learns the leader L); every server is cut off
 *    from the others, so nothing can commit and nobody else can win;
 *  - ck1 sends Append(key, A): L logs it and waits; ck1 is then cut off
 *    from every server, so no reply can reach it, and it keeps retrying;
 *  - L and F1 reconnect: F1's log lacks the Append, so only L can win
 *    the new term; ck2's Put there commits the Append (key = 0A);
 *  - ck2 Puts enough for L and F1 to snapshot past the Append: its log
 *    entries are gone, only the duplicate table in the snapshots
 *    remembers it. */
static void arm(struct round *rd)
{
    struct kv4cfg *cfg = rd->cfg;
    snprintf(rd->key, sizeof rd->key, "x%d", rd->r);
    put(cfg, rd->ck1, rd->key, "0");
    if (!kv4cfg_leader(cfg, &rd->l))
        fatalf("no leader after a Put completed");
    for (int i = 0; i < NSERVERS; i++)
        kv4cfg_disconnect(cfg, i, all, NSERVERS);

    rd->p = (struct pending){.cfg = cfg, .ck = rd->ck1, .key = rd->key};
    atomic_init(&rd->p.done, false);
    tester_spawn(&rd->t, append_main, &rd->p);
    clock_sleep_ms(500); /* it reaches L at once: ck1 talked to L last */
    kv4cfg_disconnect_client(cfg, rd->ck1, all, NSERVERS);
    if (atomic_load(&rd->p.done))
        fatalf("Append(%s) completed while no server could reach another",
               rd->key);

    rd->f1 = (rd->l + 1) % NSERVERS;
    rd->f2 = (rd->l + 2) % NSERVERS;
    kv4cfg_connect(cfg, rd->l, &rd->f1, 1);
    int lf1[2] = {rd->l, rd->f1};
    rd->ck2 = kv4cfg_make_client(cfg, lf1, 2);
    put(cfg, rd->ck2, "y", "1");
    char *v = get(cfg, rd->ck2, rd->key);
    rd->armed = strcmp(v, "0A") == 0;
    if (!rd->armed && strcmp(v, "0") != 0)
        fatalf("Get(%s): expected 0 or 0A, received %s", rd->key, v);
    free(v);

    char fk[16], fv[32];
    for (int k = 0; k < 40; k++) {
        snprintf(fk, sizeof fk, "f%d", k);
        snprintf(fv, sizeof fv, "filler-%d-%012d", rd->r, k);
        put(cfg, rd->ck2, fk, fv);
    }
    if (kv4cfg_snapshot_size(cfg) == 0)
        fatalf("no server took a snapshot (maxraftstate %d): this test "
               "needs lab 4B", MAXRAFTSTATE);
}

/* The common end: ck1 reaches the servers in to[]; its retry of the same
 * request must be answered without applying it again: key must read 0A
 * (through ck2, which must reach the same servers), not 0AA. */
static bool settle(struct round *rd, const int *to, int nto,
                   const char *how)
{
    struct kv4cfg *cfg = rd->cfg;
    kv4cfg_connect_client(cfg, rd->ck1, to, nto);
    if (!wait_done(&rd->p, 15000))
        fatalf("Append(%s) did not complete after %s", rd->key, how);
    pthread_join(rd->t, NULL);
    char *v = get(cfg, rd->ck2, rd->key);
    if (rd->armed && strcmp(v, "0AA") == 0)
        fatalf("Get(%s): expected 0A, received 0AA: the retry of an Append "
               "that was applied before a snapshot was applied again after "
               "%s (the duplicate table must be part of the snapshot, and "
               "restored from it)", rd->key, how);
    if (strcmp(v, "0A") != 0)
        fatalf("Get(%s): expected:\n0A\nreceived:\n%s", rd->key, v);
    free(v);
    kv4cfg_delete_client(cfg, rd->ck2);
    return rd->armed;
}

/* Restart: F2 rejoins, then all three restart from their snapshots, and
 * ck1's retry reaches whichever leads. */
static bool restart_round(struct kv4cfg *cfg, struct kv4_client *ck1, int r)
{
    struct round rd = {.cfg = cfg, .r = r, .ck1 = ck1};
    arm(&rd);
    kv4cfg_connect_all(cfg);
    kv4cfg_connect_client(cfg, rd.ck2, all, NSERVERS);
    put(cfg, rd.ck2, "z", "1");
    for (int i = 0; i < NSERVERS; i++)
        kv4cfg_shutdown_server(cfg, i);
    clock_sleep_ms(KV4_ELECTION_TIMEOUT_MS);
    for (int i = 0; i < NSERVERS; i++)
        kv4cfg_start_server(cfg, i);
    kv4cfg_connect_all(cfg);
    return settle(&rd, all, NSERVERS, "a restart from it");
}

/* InstallSnapshot: F1 is cut off and F2 joins L alone, so F2 gets L's
 * snapshot (it lacks the Append, which L's log no longer holds) and a
 * Put F1 lacks; L crashes, so F2 (the longer log) must win with F1; ck1's
 * retry and ck2's Get reach F2 only. */
static bool install_round(struct kv4cfg *cfg, struct kv4_client *ck1, int r)
{
    struct round rd = {.cfg = cfg, .r = r, .ck1 = ck1};
    arm(&rd);
    kv4cfg_disconnect(cfg, rd.f1, all, NSERVERS);
    kv4cfg_connect(cfg, rd.f2, &rd.l, 1);
    put(cfg, rd.ck2, "z", "1"); /* through L, committed with F2 */
    kv4cfg_shutdown_server(cfg, rd.l);
    kv4cfg_connect(cfg, rd.f1, &rd.f2, 1);
    kv4cfg_disconnect_client(cfg, rd.ck2, all, NSERVERS);
    kv4cfg_connect_client(cfg, rd.ck2, &rd.f2, 1);
    bool armed = settle(&rd, &rd.f2, 1, "an InstallSnapshot of it");
    kv4cfg_start_server(cfg, rd.l);
    kv4cfg_connect_all(cfg);
    kv4cfg_connect_client(cfg, ck1, all, NSERVERS);
    return armed;
}

/* One round that got the Append into the log is enough; a round that did
 * not (a clerk slow to find the leader) is tried again. */
static void lost_reply_test(const char *desc,
                            bool (*round)(struct kv4cfg *,
                                          struct kv4_client *, int))
{
    struct kv4cfg *cfg = kv4cfg_make(NSERVERS, false, MAXRAFTSTATE);
    struct kv4_client *ck1 = kv4cfg_make_client_all(cfg);
    kv4cfg_begin(cfg, desc);
    bool armed = false;
    for (int r = 0; r < 3 && !armed; r++)
        armed = round(cfg, ck1, r);
    if (!armed)
        printf("  (note: no round had the Append logged before its clerk "
               "was cut off)\n");
    kv4cfg_end(cfg);
    kv4cfg_cleanup(cfg);
}

static void test_lost_reply_restart(void)
{
    lost_reply_test("Test: a lost reply, a snapshot, a restart (4X)",
                    restart_round);
}

static void test_lost_reply_install(void)
{
    lost_reply_test("Test: a lost reply, a snapshot, an InstallSnapshot (4X)",
                    install_round);
}

static const struct tester_test tests[] = {
    {"TestLostReplyRestart4X", "4X", test_lost_reply_restart},
    {"TestLostReplyInstall4X", "4X", test_lost_reply_install},
};

int main(int argc, char **argv)
{
    return tester_main(argc, argv, "lab4extra", tests,
                       sizeof(tests) / sizeof(tests[0]));
}
