/* config.h - the lab 4 tester's helpers (6.5840 kvraft/config.go in C): n
 * KV servers (each hosting KVServer + Raft on one rpc_server) over labnet
 * (loopback TCP with labrpc's fault model, no long delays), crash/restart
 * with persister copies and DeleteServer semantics, partitions in which
 * clients keep their own connectivity, log/snapshot sizes, the operation
 * counter and the summary line "  ... Passed --  %4.1f  %d %5d %4d".
 *
 * Failed checks are fatal (tester_fatalf). Thread-safe: the partitioner
 * and client threads call these helpers concurrently with the test. */
#ifndef LABS_KVRAFT_CONFIG_H_
#define LABS_KVRAFT_CONFIG_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvraft/kvraft.h"

/* "The tester generously allows solutions to complete elections in one
 * second." */
#define KV4_ELECTION_TIMEOUT_MS 1000

struct kv4cfg;

/* A test clerk: the system clerk over its own n ends (random names; the
 * clerk sees them shuffled, as Go's random_handles does). */
struct kv4_client {
    struct kv_clerk *ck;
    char (*endnames)[24];   /* [n]: endnames[j] leads to server j */
    struct kv4_client *prev, *next; /* the config's list (its lock) */
};

/* make_config(t, n, unreliable, maxraftstate): start every server, connect
 * all, Reliable(!unreliable). The 120 s limit counts from the test start. */
struct kv4cfg *kv4cfg_make(int n, bool unreliable, int64_t maxraftstate);
/* Kill every server, free everything (clients too), then checkTimeout. */
void kv4cfg_cleanup(struct kv4cfg *cfg);
int kv4cfg_n(const struct kv4cfg *cfg);

/* begin prints "<desc> ..." and zeroes the counters; end runs checkTimeout
 * and prints the Passed line. op counts one clerk operation. */
void kv4cfg_begin(struct kv4cfg *cfg, const char *desc);
void kv4cfg_end(struct kv4cfg *cfg);
void kv4cfg_op(struct kv4cfg *cfg);

/* Server-to-server connectivity. `to`/`from` list server indices. */
void kv4cfg_connect(struct kv4cfg *cfg, int i, const int *to, int nto);
void kv4cfg_disconnect(struct kv4cfg *cfg, int i, const int *from, int nfrom);
void kv4cfg_connect_all(struct kv4cfg *cfg);
/* Servers in p1 talk only to p1, those in p2 only to p2. Clients keep
 * their own connectivity. */
void kv4cfg_partition(struct kv4cfg *cfg, const int *p1, int n1,
                      const int *p2, int n2);
/* Put the current leader in the minority: p1 gets n/2+1 servers, p2 gets
 * n/2 with the leader last. Arrays must hold n entries. */
void kv4cfg_make_partition(struct kv4cfg *cfg, int *p1, int *n1, int *p2,
                           int *n2);
/* Whether some server believes it leads; its index in *leader. */
bool kv4cfg_leader(struct kv4cfg *cfg, int *leader);

/* A clerk whose ends to the servers in `to` are enabled (the others
 * exist, disabled). */
struct kv4_client *kv4cfg_make_client(struct kv4cfg *cfg, const int *to,
                                      int nto);
struct kv4_client *kv4cfg_make_client_all(struct kv4cfg *cfg);
void kv4cfg_delete_client(struct kv4cfg *cfg, struct kv4_client *c);
void kv4cfg_connect_client(struct kv4cfg *cfg, struct kv4_client *c,
                           const int *to, int nto);
void kv4cfg_disconnect_client(struct kv4cfg *cfg, struct kv4_client *c,
                              const int *from, int nfrom);

/* Isolate server i, DeleteServer it (so no reply of a dying instance gets
 * through), give it a copy of its persister and kill it. */
void kv4cfg_shutdown_server(struct kv4cfg *cfg, int i);
/* Start server i with fresh end names (disabled until connected) and a
 * copy of its persister. Shuts it down first if it is running. */
void kv4cfg_start_server(struct kv4cfg *cfg, int i);

/* Largest persisted Raft state / snapshot over the servers. */
size_t kv4cfg_log_size(struct kv4cfg *cfg);
size_t kv4cfg_snapshot_size(struct kv4cfg *cfg);
/* Total RPC sends (labrpc GetTotalCount). */
uint64_t kv4cfg_rpc_total(struct kv4cfg *cfg);

#endif /* LABS_KVRAFT_CONFIG_H_ */
