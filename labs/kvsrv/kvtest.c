/* kvtest.c - checks shared by the lab 2 and lab 4 testers (kvtest.h). */
#include "labs/kvsrv/kvtest.h"

#include <stdio.h>
#include <string.h>

#include "labs/tester/tester.h"

/* The last occurrence of needle in hay, or NULL. */
static const char *last_index(const char *hay, const char *needle)
{
    const char *last = NULL;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        last = p;
    return last;
}

void kvtest_check_clnt_appends(int clnt, const char *v, int count)
{
    const char *lastoff = NULL;
    char wanted[64];
    for (int j = 0; j < count; j++) {
        snprintf(wanted, sizeof wanted, "x %d %d y", clnt, j);
        const char *off = strstr(v, wanted);
        if (!off)
            tester_fatalf("an Append was lost: client %d's append '%s' is "
                          "missing from the final value of its key (%zu "
                          "bytes) although the clerk call returned - was a "
                          "request answered from the duplicate table without "
                          "being executed, or overwritten?\n"
                          "    final value: '%.200s%s'", clnt, wanted,
                          strlen(v), v, strlen(v) > 200 ? "..." : "");
        if (last_index(v, wanted) != off)
            tester_fatalf("an Append was applied twice: '%s' appears more "
                          "than once in the final value - was a "
                          "retransmitted request executed again instead of "
                          "answered from the duplicate table?", wanted);
        if (lastoff && off <= lastoff)
            tester_fatalf("Appends applied out of order: '%s' comes before "
                          "an earlier append of the same client in the final "
                          "value - was an old retransmission executed after "
                          "a newer request?", wanted);
        lastoff = off;
    }
}

void kvtest_check_concurrent_appends(const char *v, const int *counts,
                                     int nclients)
{
    for (int i = 0; i < nclients; i++)
        kvtest_check_clnt_appends(i, v, counts[i]);
}

void kvtest_check_linearizable(struct porcupine_history *log)
{
    size_t n = 0;
    const struct porcupine_op *ops = porcupine_history_ops(log, &n);
    if (porcupine_check_report(&porcupine_kv_model, ops, n,
                               KVTEST_LINEARIZABILITY_TIMEOUT_MS) ==
        PORCUPINE_ILLEGAL)
        tester_fatalf("history is not linearizable: some Get or Append "
                      "returned a value no order of the operations explains "
                      "(a stale read, a lost or doubled write, or a reply "
                      "sent before the operation took effect); the HTML "
                      "view written above shows the operation that cannot "
                      "be placed");
}
