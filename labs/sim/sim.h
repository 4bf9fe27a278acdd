/* sim.h - raftsim: a seeded, deterministic simulator for the Raft core.
 *
 * One schedule = one seed. The seed drives a single struct rng that makes
 * every choice: cluster size (unless forced), the fault profile, message
 * delays, drops, duplicates, partitions, crashes, client commands, and the
 * seeds of the cores' own rngs. Time is simulated (ms); nothing reads the
 * wall clock, iterates in pointer order or starts a thread, so a seed
 * replays bit for bit.
 *
 * A schedule has two phases:
 *   fault phase     `steps` events under the drawn fault profile;
 *   liveness phase  everything heals (all peers up, full connectivity, no
 *                   loss); a leader must be elected and a new command must
 *                   be applied on every peer within `liveness_ms`.
 * After every event the checker (check.c) verifies Election Safety, Leader
 * Append-Only, Log Matching, Leader Completeness, State Machine Safety, the
 * persist-before-send rule and the core's documented contracts. */
#ifndef LABS_SIM_SIM_H_
#define LABS_SIM_SIM_H_

#include <stdbool.h>
#include <stdint.h>

#define SIM_DEFAULT_STEPS 6000
#define SIM_DEFAULT_LIVENESS_MS 10000

struct sim_options {
    int peers;            /* 0: drawn from the seed (3, 5 or 7) */
    uint64_t steps;       /* events in the fault phase */
    uint64_t liveness_ms; /* bound on recovery after healing */
    bool verbose;         /* print every event as it happens */
    bool full_check;      /* re-check whole logs after every event (slow) */
    const char *prog;     /* argv[0], for the replay line of a report */
};

/* What one schedule did (counters summed by the CLI). */
struct sim_result {
    bool violated;
    const char *invariant; /* which one, if violated (static string) */
    uint64_t steps;
    uint64_t sim_ms;
    uint64_t messages;  /* requests and replies delivered */
    uint64_t elections; /* terms that got a leader */
    uint64_t committed; /* highest index known committed */
    uint64_t crashes;
    uint64_t partitions;
    uint64_t snapshots; /* snapshots installed from a leader */
    uint64_t digest;    /* hash of the whole trace: equal on replay */
    int peers;
};

/* The simulator's state; reused across schedules so that buffers are
 * allocated once (not per step). */
struct sim_world;

/* Returns owned. */
struct sim_world *sim_world_new(void);
void sim_world_free(struct sim_world *w);
/* Run the schedule of `seed`. On a violation, prints a report (seed,
 * invariant, peer states, recent events, replay command) to stdout. */
void sim_run(struct sim_world *w, uint64_t seed,
             const struct sim_options *opt, struct sim_result *res);
/* Print the report of the schedule in progress (for a crash handler:
 * best effort, e.g. when the core's own assert() fires). */
void sim_report_abort(struct sim_world *w);

#endif /* LABS_SIM_SIM_H_ */
