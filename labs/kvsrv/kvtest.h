/* kvtest.h - checks shared by the KV lab testers (lab 2 in labs/kvsrv,
 * lab 4 in labs/kvraft): the Go tests' checkClntAppends /
 * checkConcurrentAppends and the porcupine linearizability check with its
 * 1 s budget (graded-tests.md §4.3, §4.6, §6).
 *
 * Every check that fails is fatal (tester_fatalf) with the Go message.
 * Pure functions of their arguments: callable from any thread. */
#ifndef LABS_KVSRV_KVTEST_H_
#define LABS_KVSRV_KVTEST_H_

#include "labs/porcupine/porcupine.h"

/* porcupine's time budget in the KV tests (linearizabilityCheckTimeout). */
#define KVTEST_LINEARIZABILITY_TIMEOUT_MS 1000

/* Every "x clnt j y" for j < count appears in v exactly once, in order
 * ("missing element", "duplicate element", "wrong order"). */
void kvtest_check_clnt_appends(int clnt, const char *v, int count);
/* kvtest_check_clnt_appends for clients 0..nclients-1 with counts[i]. */
void kvtest_check_concurrent_appends(const char *v, const int *counts,
                                     int nclients);
/* Fails with "history is not linearizable" (after writing the HTML view)
 * if porcupine finds the history illegal; a timed-out check passes with
 * porcupine's info line, as in Go. The history is borrowed. */
void kvtest_check_linearizable(struct porcupine_history *log);

#endif /* LABS_KVSRV_KVTEST_H_ */
