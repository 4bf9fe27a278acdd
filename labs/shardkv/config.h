/* config.h - the lab 5 shardkv tester's helpers (6.5840 shardkv/config.go
 * in C): a controller service of 3 replicas ("ctlr-<random>", fresh
 * persisters, never restarted) with its own clerk for join/leave, and 3
 * replica groups (gids 100, 101, 102) of n servers named "server-<gid>-<i>",
 * all over labnet (loopback TCP with labrpc's fault model, no long delays;
 * Reliable(!unreliable) applies to the whole network). Groups start at
 * once but are not joined until the test says so.
 *
 * Servers reach each other (and clerks reach servers) through make_end:
 * a fresh labnet end per name, enabled. C port: the ends a server made are
 * shut down when it is shut down (in Go its goroutines are just
 * abandoned); this lets kill join the server's threads at once.
 *
 * Failed checks are fatal (tester_fatalf). Thread-safe. */
#ifndef LABS_SHARDKV_CONFIG_H_
#define LABS_SHARDKV_CONFIG_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shardkv/shardkv.h"

#define SKV5_NGROUPS 3
#define SKV5_NCTRLERS 3

struct skv5cfg;
struct skv5ctl; /* a controller service (the main one, or another) */

/* A test clerk (cfg.makeClient()). ck is the system clerk. */
struct skv5client {
    struct skv_clerk *ck;
    int id; /* 0, 1, ... in order of creation (the timeline's c<id>) */
    /* private to config.c: */
    struct skv5cfg *cfg;
    char (*endnames)[24]; /* every end it owns (guarded by the cfg lock) */
    size_t nendnames;
    bool shut;
    struct skv5client *prev, *next;
};

/* make_config(t, n, unreliable, maxraftstate). */
struct skv5cfg *skv5cfg_make(int n, bool unreliable, int64_t maxraftstate);
/* Shut everything down, free it (clients too), then checkTimeout. Client
 * threads must have returned (see skv5cfg_client_shutdown). */
void skv5cfg_cleanup(struct skv5cfg *cfg);
int skv5cfg_n(const struct skv5cfg *cfg);
int64_t skv5cfg_maxraftstate(const struct skv5cfg *cfg);
void skv5cfg_reliable(struct skv5cfg *cfg, bool reliable);

/* Test headers/footers: "<desc> ...", "  ... Passed" (plus checkTimeout). */
void skv5cfg_begin(struct skv5cfg *cfg, const char *desc);
void skv5cfg_end(struct skv5cfg *cfg);

/* Clerks of the main controller service, or of another one. */
struct skv5client *skv5cfg_make_client(struct skv5cfg *cfg);
struct skv5client *skv5cfg_make_client_ctl(struct skv5cfg *cfg,
                                           struct skv5ctl *ctl);
/* Shut every end of the clerk down: an operation blocked in it (e.g. on a
 * dead group) returns with an error, so its thread can be joined. */
void skv5cfg_client_shutdown(struct skv5cfg *cfg, struct skv5client *c);
/* Free the clerk (its thread must not be using it). */
void skv5cfg_delete_client(struct skv5cfg *cfg, struct skv5client *c);

/* gid of group gi (100 + gi). */
int skv5cfg_gid(const struct skv5cfg *cfg, int gi);
/* Join/Leave groups (by index) through the main controller's clerk. */
void skv5cfg_join(struct skv5cfg *cfg, int gi);
void skv5cfg_joinm(struct skv5cfg *cfg, const int *gis, int n);
void skv5cfg_leave(struct skv5cfg *cfg, int gi);
void skv5cfg_leavem(struct skv5cfg *cfg, const int *gis, int n);
/* Query(num) through the main controller's clerk (cfg.mck.Query). */
void skv5cfg_query(struct skv5cfg *cfg, int64_t num, struct sc_config *out);

/* A second controller service (StartCtrlerService), and joins through
 * it. Freed by cleanup. */
struct skv5ctl *skv5cfg_start_ctrler_service(struct skv5cfg *cfg);
void skv5cfg_ctljoin(struct skv5cfg *cfg, int gi, struct skv5ctl *ctl);

void skv5cfg_shutdown_server(struct skv5cfg *cfg, int gi, int i);
void skv5cfg_shutdown_group(struct skv5cfg *cfg, int gi);
void skv5cfg_start_server(struct skv5cfg *cfg, int gi, int i);
void skv5cfg_start_group(struct skv5cfg *cfg, int gi);

/* checklogs(): every server's Raft state <= 8*maxraftstate, or no snapshot
 * when maxraftstate < 0. */
void skv5cfg_checklogs(struct skv5cfg *cfg);
/* Server (gi, i)'s persisted Raft state and snapshot sizes. */
void skv5cfg_sizes(struct skv5cfg *cfg, int gi, int i, size_t *raft,
                   size_t *snap);

#endif /* LABS_SHARDKV_CONFIG_H_ */
