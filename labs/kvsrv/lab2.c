/* lab2.c - the 9 graded tests of 6.5840 (Spring 2024) lab 2, the
 * single-server KV store (graded-tests.md §6): same names, titles,
 * schedules and limits. Run them with the lab runner (one process per
 * test), e.g. `make test-lab2`, or directly:
 *   build/release/tests/lab2 --list
 *   build/release/tests/lab2 [--seed N] TestBasic2
 *
 * Memory tests (C port). The Go tests read the whole process's HeapAlloc
 * after a GC. Here heapcount.c replaces malloc & co. in this binary and
 * counts every live heap block of the process (server, clerks, RPC layer,
 * libc, msgpack-c), so the same limits apply to the same quantity: the
 * 10 MiB tests bound the absolute heap in integer MiB as Go does, the
 * many-client tests its growth per client after the clients exist. C has
 * no GC, so nothing is left for a collector: freed is freed. Sanitizer
 * builds own malloc; there the tests fall back to what the server's given
 * tables hold (kvsrv_mem_bytes), and say so.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "labs/kvsrv/config.h"
#include "labs/kvsrv/heapcount.h"
#include "labs/kvsrv/kvtest.h"
#include "labs/porcupine/porcupine.h"
#include "labs/tester/tester.h"

#define fatalf tester_fatalf

#define MIB (1u << 20)

/* ---- operation wrappers: count ops, record history ---------------------- */

static char *op_get(struct kv2cfg *cfg, struct kv2_client *c, const char *key,
                    struct porcupine_history *log, int cli)
{
    int64_t start = porcupine_now_ns();
    char *v = kvsrv_clerk_get(c->ck, key, NULL);
    int64_t end = porcupine_now_ns();
    if (!v)
        fatalf("Get(%s) returned NULL: the clerk gave up although its end "
               "was not shut down (a clerk must retry until a reply arrives)",
               key);
    kv2cfg_op(cfg);
    if (log)
        porcupine_kv_record(log, cli, PORCUPINE_KV_GET, key, "", v, start,
                            end);
    return v;
}

static void op_put(struct kv2cfg *cfg, struct kv2_client *c, const char *key,
                   const char *value, struct porcupine_history *log, int cli)
{
    int64_t start = porcupine_now_ns();
    if (kvsrv_clerk_put(c->ck, key, value) != 0)
        fatalf("Put(%s) returned an error: the clerk gave up although its "
               "end was not shut down (a clerk must retry until a reply "
               "arrives)", key);
    int64_t end = porcupine_now_ns();
    kv2cfg_op(cfg);
    if (log)
        porcupine_kv_record(log, cli, PORCUPINE_KV_PUT, key, value, NULL,
                            start, end);
}

/* Lab 2's Append returns the old value: logged as op 3. */
static char *op_append(struct kv2cfg *cfg, struct kv2_client *c,
                       const char *key, const char *value,
                       struct porcupine_history *log, int cli)
{
    int64_t start = porcupine_now_ns();
    char *last = kvsrv_clerk_append(c->ck, key, value, NULL);
    int64_t end = porcupine_now_ns();
    if (!last)
        fatalf("Append(%s) returned NULL: the clerk gave up although its "
               "end was not shut down (a clerk must retry until a reply "
               "arrives)", key);
    kv2cfg_op(cfg);
    if (log)
        porcupine_kv_record(log, cli, PORCUPINE_KV_APPEND_OLD, key, value,
                            last, start, end);
    return last;
}

/* ---- checks --------------------------------------------------------------- */

static bool in_history(const char *ov, const char *nv)
{
    return strstr(nv, ov) != NULL;
}

/* Random letters, like the Go tests' randValue (owned). */
static char *rand_value(size_t n)
{
    static const char letters[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    char *b = xmalloc(n + 1);
    uint64_t r = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 8 == 0)
            r = (uint64_t)tester_rand_int();
        b[i] = letters[(r & 0xff) % 52];
        r >>= 8;
    }
    b[n] = '\0';
    return b;
}

/* ---- GenericTest ------------------------------------------------------------ */

struct generic {
    struct kv2cfg *cfg;
    struct porcupine_history *log;
    int nclients;
    bool randomkeys;
    atomic_int done_clients;
};

struct generic_client {
    struct generic *g;
    int cli;
    int j; /* appends (and puts) done: Go sends it on clnts[cli] */
};

static void *generic_client_main(void *arg)
{
    struct generic_client *gc = arg;
    struct generic *g = gc->g;
    int cli = gc->cli;
    struct kv2_client *myck = kv2cfg_make_client(g->cfg);
    struct buf last = BUF_INIT; /* only used when not randomkeys */
    buf_append_byte(&last, 0);
    last.len = 0;
    char key[32], nv[64];
    int j = 0;
    if (!g->randomkeys) {
        snprintf(key, sizeof key, "%d", cli);
        op_put(g->cfg, myck, key, "", g->log, cli);
    }
    while (atomic_load(&g->done_clients) == 0) {
        if (g->randomkeys)
            snprintf(key, sizeof key, "%d",
                     (int)tester_rand_below((uint64_t)g->nclients));
        else
            snprintf(key, sizeof key, "%d", cli);
        snprintf(nv, sizeof nv, "x %d %d y", cli, j);
        if (tester_rand_int() % 1000 < 500) {
            char *l = op_append(g->cfg, myck, key, nv, g->log, cli);
            if (!g->randomkeys) {
                if (j > 0) {
                    char o[64];
                    snprintf(o, sizeof o, "x %d %d y", cli, j - 1);
                    if (!in_history(o, l))
                        fatalf("an Append was lost: Append returned an old "
                               "value without this client's previous append "
                               "'%s' - was an Append dropped, or did a retry "
                               "get another request's saved reply?\n"
                               "    returned old value: '%s'", o, l);
                }
                if (in_history(nv, l))
                    fatalf("an Append was applied twice: the old value it "
                           "returned already contains its own '%s' - was a "
                           "retransmitted request executed again instead of "
                           "answered from the duplicate table?\n"
                           "    returned old value: '%s'", nv, l);
                buf_append(&last, nv, strlen(nv));
                buf_append_byte(&last, 0);
                last.len--;
            }
            free(l);
            j++;
        } else if (g->randomkeys && tester_rand_int() % 1000 < 100) {
            /* only with random keys: it would break the Get check. */
            op_put(g->cfg, myck, key, nv, g->log, cli);
            j++;
        } else {
            char *v = op_get(g->cfg, myck, key, g->log, cli);
            if (!g->randomkeys && strcmp(v, (char *)last.data) != 0) {
                const char *w = (const char *)last.data;
                size_t d = 0; /* first differing byte */
                while (w[d] && w[d] == v[d])
                    d++;
                size_t from = d > 40 ? d - 40 : 0;
                fatalf("Get(%s) returned a wrong value (%zu bytes instead "
                       "of %zu, first difference at byte %zu): %s\n"
                       "    wanted from byte %zu: '%.80s'\n"
                       "    got from byte %zu:    '%.80s'", key, strlen(v),
                       last.len, d,
                       strlen(v) > last.len
                           ? "longer than this client's appends - an Append "
                             "applied twice (a retry executed again?)"
                           : "an Append lost or applied out of order, or a "
                             "Put/Append acknowledged without being "
                             "executed?",
                       from, w + from, from, v + from);
            }
            free(v);
        }
    }
    buf_free(&last);
    kv2cfg_delete_client(g->cfg, myck);
    gc->j = j;
    return NULL;
}

/* One or more clients submit Append/Get operations to the server for some
 * time; then the test checks that every appended value is present, once
 * and in order, for each client's key, and that the history linearizes. */
static void generic_test(int nclients, bool unreliable, bool randomkeys)
{
    enum { NITER = 3, TIME_S = 1 };
    char title[128] = "Test: ";
    if (unreliable) /* the network drops RPC requests and replies. */
        strcat(title, "unreliable net, ");
    if (randomkeys)
        strcat(title, "random keys, ");
    strcat(title, nclients > 1 ? "many clients" : "one client");

    struct kv2cfg *cfg = kv2cfg_make(unreliable);
    kv2cfg_begin(cfg, title);
    struct generic g = {.cfg = cfg, .nclients = nclients,
                        .randomkeys = randomkeys};
    g.log = porcupine_kv_history_new();
    atomic_init(&g.done_clients, 0);
    struct kv2_client *ck = kv2cfg_make_client(cfg);

    struct generic_client *gcs = xcalloc((size_t)nclients, sizeof(*gcs));
    pthread_t *th = xcalloc((size_t)nclients, sizeof(*th));
    for (int i = 0; i < NITER; i++) {
        atomic_store(&g.done_clients, 0);
        for (int c = 0; c < nclients; c++) {
            gcs[c] = (struct generic_client){.g = &g, .cli = c};
            tester_spawn(&th[c], generic_client_main, &gcs[c]);
        }
        clock_sleep_ms(TIME_S * 1000);
        atomic_store(&g.done_clients, 1); /* tell clients to quit */
        for (int c = 0; c < nclients; c++) {
            pthread_join(th[c], NULL);
            char key[32];
            snprintf(key, sizeof key, "%d", c);
            char *v = op_get(cfg, ck, key, g.log, 0);
            if (!randomkeys)
                kvtest_check_clnt_appends(c, v, gcs[c].j);
            free(v);
        }
    }
    kvtest_check_linearizable(g.log);
    kv2cfg_end(cfg);

    free(th);
    free(gcs);
    porcupine_history_free(g.log);
    kv2cfg_cleanup(cfg);
}

static void test_basic2(void) { generic_test(1, false, false); }
static void test_concurrent2(void) { generic_test(5, false, false); }
static void test_unreliable2(void) { generic_test(5, true, false); }

/* ---- TestUnreliableOneKey2 --------------------------------------------------- */

struct onekey_client {
    struct kv2cfg *cfg;
    int me;
    int upto;
};

static void *onekey_client_main(void *arg)
{
    struct onekey_client *oc = arg;
    struct kv2_client *myck = kv2cfg_make_client(oc->cfg);
    for (int n = 0; n < oc->upto; n++) {
        char nv[64];
        snprintf(nv, sizeof nv, "x %d %d y", oc->me, n);
        char *ov = op_append(oc->cfg, myck, "k", nv, NULL, -1);
        if (in_history(nv, ov))
            fatalf("an Append was applied twice: the old value it returned "
                   "already contains its own '%s' - was a retransmitted "
                   "request executed again instead of answered from the "
                   "duplicate table?\n    returned old value: '%s'", nv, ov);
        free(ov);
    }
    kv2cfg_delete_client(oc->cfg, myck);
    return NULL;
}

static void test_unreliable_one_key2(void)
{
    struct kv2cfg *cfg = kv2cfg_make(true);
    struct kv2_client *ck = kv2cfg_make_client(cfg);
    kv2cfg_begin(cfg, "Test: concurrent append to same key, unreliable");
    op_put(cfg, ck, "k", "", NULL, -1);

    enum { NCLIENT = 5, UPTO = 10 };
    pthread_t th[NCLIENT];
    struct onekey_client oc[NCLIENT];
    for (int i = 0; i < NCLIENT; i++) {
        oc[i] = (struct onekey_client){cfg, i, UPTO};
        tester_spawn(&th[i], onekey_client_main, &oc[i]);
    }
    for (int i = 0; i < NCLIENT; i++)
        pthread_join(th[i], NULL);
    int counts[NCLIENT];
    for (int i = 0; i < NCLIENT; i++)
        counts[i] = UPTO;
    char *vx = op_get(cfg, ck, "k", NULL, -1);
    kvtest_check_concurrent_appends(vx, counts, NCLIENT);
    free(vx);
    kv2cfg_end(cfg);
    kv2cfg_cleanup(cfg);
}

/* ---- memory tests ------------------------------------------------------------ */

/* The heap the memory tests measure: the whole process's live heap (Go's
 * HeapAlloc), or in sanitizer builds the server's tables. */
static size_t mem_now(struct kv2cfg *cfg)
{
    if (heapcount_active())
        return heapcount_bytes();
    static bool said;
    if (!said) {
        said = true;
        printf("note: sanitizer build: measuring the server's tables, not "
               "the whole heap\n");
    }
    return kv2cfg_server_mem(cfg);
}

/* Fail a memory test: what the process's heap holds (mem_now: the server,
 * the clerks and the network, as Go's HeapAlloc) against the limit, the
 * server's own tables (kvsrv_mem_bytes: store + duplicate table + saved
 * replies) and clients in its duplicate table, and the likely cause. A
 * macro so that the message carries the caller's line. */
#define mem_fatal(cfg, held, cmp, limit, cause)                               \
    fatalf("the test process holds too much memory: heap %zu bytes (%.2f "    \
           "MiB), limit %s %zu bytes (%.0f MiB); of it the server's tables " \
           "(store + duplicate table + saved replies) %zu bytes, %zu "        \
           "clients in the duplicate table - likely cause: %s",              \
           (size_t)(held), (double)(held) / MIB, cmp, (size_t)(limit),        \
           (double)(limit) / MIB, kv2cfg_server_mem(cfg),                     \
           kv2cfg_server_clients(cfg), cause)

static void test_mem_get2(void)
{
    const size_t MEM = 10; /* in MiB */
    struct kv2cfg *cfg = kv2cfg_make(true);
    struct kv2_client *ck0 = kv2cfg_make_client(cfg);
    struct kv2_client *ck1 = kv2cfg_make_client(cfg);
    kv2cfg_begin(cfg, "Test: memory use get");

    char *rd = rand_value(MIB * MEM);
    if (kvsrv_clerk_put(ck0->ck, "k", rd) != 0)
        fatalf("Put returned an error: the clerk gave up although its "
               "end was not shut down");
    size_t n = 0;
    char *v = kvsrv_clerk_get(ck0->ck, "k", &n);
    if (!v || n != MIB * MEM)
        fatalf("Get of a 10 MiB value returned %zu bytes instead of %zu: "
               "the Put did not store it, or Get returned something else",
               v ? n : 0, (size_t)(MIB * MEM));
    free(v);
    v = kvsrv_clerk_get(ck1->ck, "k", &n);
    if (!v || n != MIB * MEM)
        fatalf("Get of a 10 MiB value returned %zu bytes instead of %zu: "
               "the Put did not store it, or Get returned something else",
               v ? n : 0, (size_t)(MIB * MEM));
    free(v);
    free(rd);
    if (kvsrv_clerk_put(ck0->ck, "k", "0") != 0)
        fatalf("Put returned an error: the clerk gave up although its "
               "end was not shut down");

    size_t held = mem_now(cfg);
    size_t m = held / MIB;
    if (m >= MEM)
        mem_fatal(cfg, held, "under", MEM * MIB,
                  "after two Gets of a 10 MiB value and a Put of \"0\" the "
                  "server should hold almost nothing: is a Get reply cached "
                  "per client, or the replaced 10 MiB value not freed?");

    kv2cfg_delete_client(cfg, ck0);
    kv2cfg_delete_client(cfg, ck1);
    kv2cfg_end(cfg);
    kv2cfg_cleanup(cfg);
}

static void test_mem_put2(void)
{
    const size_t MEM = 10; /* in MiB */
    struct kv2cfg *cfg = kv2cfg_make(false);
    struct kv2_client *ck0 = kv2cfg_make_client(cfg);
    struct kv2_client *ck1 = kv2cfg_make_client(cfg);
    kv2cfg_begin(cfg, "Test: memory use put");

    char *rd = rand_value(MIB * MEM);
    if (kvsrv_clerk_put(ck0->ck, "k", rd) != 0 ||
        kvsrv_clerk_put(ck1->ck, "k", "") != 0)
        fatalf("Put returned an error: the clerk gave up although its "
               "end was not shut down");
    free(rd);

    size_t held = mem_now(cfg);
    size_t m = held / MIB;
    if (m >= MEM)
        mem_fatal(cfg, held, "under", MEM * MIB,
                  "after a 10 MiB value was replaced by \"\" the server "
                  "should hold almost nothing: is the Put value kept in the "
                  "duplicate table (never cache a Put), or the old value not "
                  "freed?");
    kv2cfg_end(cfg);
    kv2cfg_cleanup(cfg);
}

static void test_mem_append2(void)
{
    const size_t MEM = 10; /* in MiB */
    struct kv2cfg *cfg = kv2cfg_make(false);
    struct kv2_client *ck0 = kv2cfg_make_client(cfg);
    struct kv2_client *ck1 = kv2cfg_make_client(cfg);
    kv2cfg_begin(cfg, "Test: memory use append");

    char *rd0 = rand_value(MIB * MEM);
    char *old = kvsrv_clerk_append(ck0->ck, "k", rd0, NULL);
    if (!old)
        fatalf("Append returned NULL: the clerk gave up although its "
               "end was not shut down");
    free(old);
    free(rd0);
    char *rd1 = rand_value(MIB * MEM);
    old = kvsrv_clerk_append(ck1->ck, "k", rd1, NULL);
    if (!old)
        fatalf("Append returned NULL: the clerk gave up although its "
               "end was not shut down");
    free(old);
    free(rd1);

    /* The 20 MiB value plus ck1's saved reply (the 10 MiB old value, kept
     * until ck1's next request shows it arrived). */
    size_t held = mem_now(cfg);
    size_t m = held / MIB;
    if (m > 3 * MEM)
        mem_fatal(cfg, held, "under", (3 * MEM + 1) * MIB,
                  "the 20 MiB value plus one saved 10 MiB old value is "
                  "allowed: are values kept twice, or a client's saved "
                  "reply not freed when it sends its next request?");
    kv2cfg_end(cfg);
    kv2cfg_cleanup(cfg);
}

/* Many clients, one request each: the server's growth per client is what
 * its duplicate detection costs. */
static void mem_many(bool puts)
{
    enum { NCLIENT = 100000, MEM = 1000 };
    struct kv2cfg *cfg = kv2cfg_make(false);
    char *v = rand_value(MEM);
    if (!puts) {
        struct kv2_client *ck = kv2cfg_make_client(cfg);
        if (kvsrv_clerk_put(ck->ck, "0", "") != 0)
            fatalf("Put returned an error: the clerk gave up although its "
                   "end was not shut down");
        kv2cfg_delete_client(cfg, ck);
    }
    struct kv2_client **cks = xcalloc(NCLIENT, sizeof(*cks));
    for (int i = 0; i < NCLIENT; i++)
        cks[i] = kv2cfg_make_client(cfg);
    /* allow threads started by the network to start */
    clock_sleep_ms(1000);

    kv2cfg_begin(cfg, puts ? "Test: memory use many puts"
                           : "Test: memory use many gets");
    size_t m0 = mem_now(cfg);
    for (int i = 0; i < NCLIENT; i++) {
        if (puts) {
            if (kvsrv_clerk_put(cks[i]->ck, "k", v) != 0)
                fatalf("Put returned an error: the clerk gave up although its "
                       "end was not shut down");
        } else {
            char *g = kvsrv_clerk_get(cks[i]->ck, "0", NULL);
            if (!g)
                fatalf("Get returned NULL: the clerk gave up although its "
                       "end was not shut down");
            free(g);
        }
    }
    clock_sleep_ms(1000);
    size_t m1 = mem_now(cfg);
    double f = ((double)m1 - (double)m0) / NCLIENT;
    if (puts) {
        if (m1 > m0 + (size_t)NCLIENT * 200)
            fatalf("the process heap (server, clerks, network) grew by %.2f bytes per client, over the "
                   "limit of 200 (%zu bytes before and %zu after %d clients "
                   "did one Put of 1000 bytes each, %zu clients in the "
                   "duplicate table) - likely cause: a duplicate-table entry "
                   "holds more than (id, seq, reply pointer): is the Put "
                   "value cached, or something allocated per request?",
                   f, m0, m1, NCLIENT, kv2cfg_server_clients(cfg));
        /* C port: also make sure the Puts really created client state
         * (a dedup table that forgets clients would pass the limit). */
        if (kv2cfg_server_clients(cfg) < NCLIENT)
            fatalf("the duplicate table tracks %zu clients after %d "
                   "clients did one Put each (kvsrv_dedup_clients): a Put "
                   "must record its client's seq, or a retry would be "
                   "executed twice", kv2cfg_server_clients(cfg), NCLIENT);
    } else if (m1 >= m0 + (size_t)NCLIENT * 10) {
        fatalf("the process heap (server, clerks, network) grew by %.2f bytes per client, the limit is "
               "under 10 (%zu bytes before and %zu after %d clients did one "
               "Get each, %zu clients in the duplicate table) - likely "
               "cause: a Get creates per-client state (keep none: a Get "
               "changes nothing, so re-executing it is harmless)",
               f, m0, m1, NCLIENT, kv2cfg_server_clients(cfg));
    }
    /* Newest first: labnet keeps a server's ends in a list with the
     * newest at the head, so this order makes each removal O(1). */
    for (int i = NCLIENT - 1; i >= 0; i--)
        kv2cfg_delete_client(cfg, cks[i]);
    free(cks);
    free(v);
    kv2cfg_end(cfg);
    kv2cfg_cleanup(cfg);
}

static void test_mem_put_many(void) { mem_many(true); }
static void test_mem_get_many(void) { mem_many(false); }

static const struct tester_test tests[] = {
    {"TestBasic2", "2", test_basic2},
    {"TestConcurrent2", "2", test_concurrent2},
    {"TestUnreliable2", "2", test_unreliable2},
    {"TestUnreliableOneKey2", "2", test_unreliable_one_key2},
    {"TestMemGet2", "2", test_mem_get2},
    {"TestMemPut2", "2", test_mem_put2},
    {"TestMemAppend2", "2", test_mem_append2},
    {"TestMemPutMany", "2", test_mem_put_many},
    {"TestMemGetMany", "2", test_mem_get_many},
};

int main(int argc, char **argv)
{
    return tester_main(argc, argv, "lab2", tests,
                       sizeof(tests) / sizeof(tests[0]));
}
