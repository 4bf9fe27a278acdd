/* sim.h - KV history generators and a brute-force linearizability oracle
 * for the porcupine tests. */
#ifndef LABS_PORCUPINE_TESTS_SIM_H_
#define LABS_PORCUPINE_TESTS_SIM_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/rand.h"
#include "labs/porcupine/porcupine.h"

enum { SIM_MAX_OPS = 7, SIM_VAL = 64 };

/* One KV op in plain form (small values only). */
struct sim_op {
    int client;
    int op;       /* PORCUPINE_KV_* */
    char key[4];
    char value[8];
    bool has_out; /* false: put/append, or never returned */
    char out[SIM_VAL];
    int64_t call;
    int64_t ret; /* PORCUPINE_NEVER if it never returned */
};

/* A random small history (1..SIM_MAX_OPS ops, 1-2 keys, overlapping
 * intervals with frequent equal timestamps): outputs come from a real
 * sequential execution at random linearization points, then are perturbed
 * at random, so about half the histories are linearizable. */
size_t porcupine_test_random_history(struct rng *r, struct sim_op *ops);

/* The oracle: try every order of all ops that respects real time (a
 * before b iff a.ret < b.call) on a plain KV map. */
bool porcupine_test_brute_force(const struct sim_op *ops, size_t n);

/* Append sim ops to a KV history recorder. */
void porcupine_test_record(struct porcupine_history *h,
                           const struct sim_op *ops, size_t n);

/* Record a synthetic linearizable execution in virtual time: nclients
 * clients, each running ops back to back for duration_ns over nkeys
 * random keys (nkeys <= 0: each client its own key, as without
 * randomkeys) (50% append "x c j y", 10% put, else get; op 3 instead of
 * append if append_old). Latencies are lat_min..lat_max ns, except that
 * slow_pct% of ops take 0.1-1.5 s (as under partitions); ops still running
 * at the end never return. Each op takes effect at a random point of its
 * interval. Returns the number of ops recorded. */
size_t porcupine_test_simulate(struct porcupine_history *h, struct rng *r,
                               int nclients, int nkeys, int64_t duration_ns,
                               int64_t lat_min, int64_t lat_max,
                               int slow_pct, bool append_old);

#endif /* LABS_PORCUPINE_TESTS_SIM_H_ */
