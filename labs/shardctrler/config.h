/* config.h - the lab 5A shardctrler tester's helpers (6.5840
 * shardctrler/config.go in C): n controller replicas (each hosting
 * ShardCtrler + Raft on one rpc_server) over labnet (loopback TCP with
 * labrpc's fault model, no long delays), crash/restart with persister
 * copies and DeleteServer semantics, clerks with their own (shuffled)
 * ends, and Leader().
 *
 * Failed checks are fatal (tester_fatalf). Thread-safe: client threads
 * call these helpers concurrently with the test. */
#ifndef LABS_SHARDCTRLER_CONFIG_H_
#define LABS_SHARDCTRLER_CONFIG_H_

#include <stdbool.h>

#include "shardctrler/shardctrler.h"

struct sc5cfg;

/* make_config(t, n, unreliable). The 120 s limit counts from test start. */
struct sc5cfg *sc5cfg_make(int n, bool unreliable);
/* Kill every server, free everything (clerks too), then checkTimeout. */
void sc5cfg_cleanup(struct sc5cfg *cfg);
int sc5cfg_n(const struct sc5cfg *cfg);

/* A clerk whose ends to every server are enabled (cfg.makeClient(cfg.All())),
 * shuffled as Go's random_handles does. Owned by the config (freed by
 * cleanup). */
struct sc_clerk *sc5cfg_make_client(struct sc5cfg *cfg);

void sc5cfg_connect_all(struct sc5cfg *cfg);
/* Isolate server i, DeleteServer it, keep a copy of its persister, kill
 * it. */
void sc5cfg_shutdown_server(struct sc5cfg *cfg, int i);
/* Start server i with fresh end names and a copy of its persister (does
 * not connect it: call sc5cfg_connect_all). */
void sc5cfg_start_server(struct sc5cfg *cfg, int i);
/* Whether a running server believes it leads; its index in *leader. */
bool sc5cfg_leader(struct sc5cfg *cfg, int *leader);
/* Query server i's own copy of configuration num (-1: latest) without
 * going through the log; false if it is down. */
bool sc5cfg_server_config(struct sc5cfg *cfg, int i, int64_t num,
                          struct sc_config *out);

#endif /* LABS_SHARDCTRLER_CONFIG_H_ */
