/* config.h - the lab 2 tester's helpers (6.5840 kvsrv/config.go in C): one
 * KV server named "0" behind labnet (loopback TCP with labrpc's fault
 * model, no long delays), clerks with their own random end names, the
 * operation counter and the summary line
 *   "  ... Passed -- t %4.1f nrpc %5d ops %4d".
 * Failed checks are fatal (tester_fatalf). Thread-safe. */
#ifndef LABS_KVSRV_CONFIG_H_
#define LABS_KVSRV_CONFIG_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvsrv/kvsrv.h"

struct kv2cfg;

/* A test clerk: the system clerk plus the labnet end it owns. */
struct kv2_client {
    struct kvsrv_clerk *ck;
    struct rpc_end *end;
    char endname[24];
    struct kv2_client *prev, *next; /* the config's list (its lock) */
};

/* make_config(t, unreliable): start the server, Reliable(!unreliable). */
struct kv2cfg *kv2cfg_make(bool unreliable);
/* Stop the server, free everything (clients not deleted too), then
 * checkTimeout(). */
void kv2cfg_cleanup(struct kv2cfg *cfg);

/* A clerk with a fresh random end name, connected and enabled. */
struct kv2_client *kv2cfg_make_client(struct kv2cfg *cfg);
/* Delete the clerk and its end (DeleteEnd). */
void kv2cfg_delete_client(struct kv2cfg *cfg, struct kv2_client *c);

/* Summary: begin prints "<desc> ..." and zeroes the counters; end runs
 * checkTimeout and prints the Passed line. */
void kv2cfg_begin(struct kv2cfg *cfg, const char *desc);
void kv2cfg_end(struct kv2cfg *cfg);
/* Count one clerk operation (the Get/Put/Append wrappers call it). */
void kv2cfg_op(struct kv2cfg *cfg);

/* Heap bytes the server holds (kvsrv_mem_bytes): the C stand-in for Go's
 * HeapAlloc in the memory tests (see lab2.c). */
size_t kv2cfg_server_mem(struct kv2cfg *cfg);
size_t kv2cfg_server_clients(struct kv2cfg *cfg);

#endif /* LABS_KVSRV_CONFIG_H_ */
