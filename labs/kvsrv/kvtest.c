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
            tester_fatalf("%d missing element %s in Append result %s", clnt,
                          wanted, v);
        if (last_index(v, wanted) != off)
            tester_fatalf("duplicate element %s in Append result", wanted);
        if (lastoff && off <= lastoff)
            tester_fatalf("wrong order for element %s in Append result",
                          wanted);
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
        tester_fatalf("history is not linearizable");
}
