/* kvsrv.h - lab 2: a single-server linearizable key/value service with
 * at-most-once Put/Append under lost replies, and its clerk.
 *
 * Service "KVServer" (msgpack-rpc; args and results are maps):
 *   Get    {k: key}                          -> {v: value}  ("" if absent)
 *   Put    {k: key, v: value, c: client, s: seq} -> {}
 *   Append {k: key, v: value, c: client, s: seq} -> {v: old value}
 * Keys and values are byte strings (str or bin). c is the clerk's random
 * 64-bit id and s its request number (1, 2, ...; a clerk has at most one
 * request outstanding and retries it with the same s until a reply
 * arrives).
 *
 * Duplicate detection keeps, per client, the last executed s and, for an
 * Append, the old value it returned. Request s+1 proves the reply to s was
 * received, so that reply is freed as soon as s+1 arrives. A Get changes
 * nothing and needs no per-client state at all. A request older than the
 * client's last s can only be a stale retransmission whose caller has moved
 * on; it is answered without executing.
 *
 * Memory: kvsrv_mem_bytes() is the heap the server holds (store + dedup
 * table), as the allocator charges it; the lab 2 memory tests assert their
 * limits on it (labs/kvsrv/ documents the mapping from Go's heap).
 *
 * Locking: one mutex per server, held only while touching the tables
 * (handlers never block, so they run inline on the RPC reader thread). A
 * clerk is used by one thread at a time. */
#ifndef KVSRV_KVSRV_H_
#define KVSRV_KVSRV_H_

#include <stddef.h>
#include <stdint.h>

#include "rpc/rpc.h"

/* ---- server ------------------------------------------------------------ */
struct kvsrv;

/* Returns owned; free with kvsrv_free(). */
struct kvsrv *kvsrv_new(void);
/* Host the "KVServer" service on srv (borrowed; kv must outlive it). */
int kvsrv_register(struct kvsrv *kv, struct rpc_server *srv);
/* Free; close the rpc_server hosting it first. */
void kvsrv_free(struct kvsrv *kv);

/* Heap bytes held by the server (values, keys, dedup state). */
size_t kvsrv_mem_bytes(struct kvsrv *kv);
/* Number of clients with duplicate-detection state. */
size_t kvsrv_dedup_clients(struct kvsrv *kv);

/* ---- clerk ------------------------------------------------------------- */
struct kvsrv_clerk;

/* A clerk talking to the server through end (borrowed; must outlive the
 * clerk). client_id 0 picks a random id from the OS. Returns owned. */
struct kvsrv_clerk *kvsrv_clerk_new(struct rpc_end *end, uint64_t client_id);
void kvsrv_clerk_free(struct kvsrv_clerk *ck);
uint64_t kvsrv_clerk_id(const struct kvsrv_clerk *ck);

/* Each call retries until a reply arrives. It gives up only if the end is
 * shut down (ERR_CLOSED), so a tester can stop stuck clerks. */

/* Returns the value ("" if absent) as an owned NUL-terminated string (its
 * length in *len if len is not NULL), or NULL on ERR_CLOSED. */
char *kvsrv_clerk_get(struct kvsrv_clerk *ck, const char *key, size_t *len);
/* 0 or ERR_CLOSED. */
int kvsrv_clerk_put(struct kvsrv_clerk *ck, const char *key,
                    const char *value);
/* Appends value; returns the OLD value (owned), or NULL on ERR_CLOSED. */
char *kvsrv_clerk_append(struct kvsrv_clerk *ck, const char *key,
                         const char *value, size_t *old_len);
/* Same, with explicit lengths for binary-safe use. */
int kvsrv_clerk_put_n(struct kvsrv_clerk *ck, const char *key, size_t klen,
                      const char *value, size_t vlen);
char *kvsrv_clerk_append_n(struct kvsrv_clerk *ck, const char *key,
                           size_t klen, const char *value, size_t vlen,
                           size_t *old_len);

#endif /* KVSRV_KVSRV_H_ */
