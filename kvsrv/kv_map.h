/* kv_map.h - the key/value store and duplicate table shared by the KV
 * services (kvsrv, kvraft; usable by shardkv), with exact byte accounting.
 *
 * struct kv_map maps byte-string keys to byte-string values (chained hash
 * table; keys and values may hold any bytes, values are stored with a NUL
 * after them so callers may treat them as C strings).
 *
 * struct kv_dedup maps a 64-bit client id to the last sequence number the
 * service executed for that client, plus that request's reply bytes when the
 * reply carries data (kvsrv's Append returns the old value). Open
 * addressing: one 32-byte slot per client, so a client costs ~43 bytes at
 * the maximum load factor and nothing is allocated per request.
 *
 * Byte accounting: both tables keep a running total of the heap they hold,
 * measured with malloc_usable_size() plus one word of allocator header per
 * chunk, i.e. what the allocator really charges. The kvsrv memory tests
 * assert limits on these totals the way the Go tests assert them on the
 * heap (see labs/kvsrv/).
 *
 * Neither table locks: the owning server guards it with its mutex. */
#ifndef KVSRV_KV_MAP_H_
#define KVSRV_KV_MAP_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- store ------------------------------------------------------------- */
struct kv_map;

/* Returns owned; free with kv_map_free(). */
struct kv_map *kv_map_new(void);
void kv_map_free(struct kv_map *m);
/* Remove every key (the table keeps its minimum size). */
void kv_map_clear(struct kv_map *m);

/* The value of key, borrowed (valid until the next change to that key), or
 * NULL if absent. *vlen gets its length (0 when absent). */
const char *kv_map_get(const struct kv_map *m, const void *key, size_t klen,
                       size_t *vlen);
/* Set key to a copy of val (inserting it if absent). */
void kv_map_put(struct kv_map *m, const void *key, size_t klen,
                const void *val, size_t vlen);
/* Append a copy of val to key's value (an absent key counts as ""). If
 * old_out is not NULL it receives an owned, NUL-terminated copy of the
 * value before the append and *old_len its length (kvsrv's Append). */
void kv_map_append(struct kv_map *m, const void *key, size_t klen,
                   const void *val, size_t vlen, char **old_out,
                   size_t *old_len);
/* Remove key; returns true if it was present. */
bool kv_map_delete(struct kv_map *m, const void *key, size_t klen);

size_t kv_map_count(const struct kv_map *m);
/* Heap bytes held by the table (entries, keys, values, bucket array). */
size_t kv_map_mem_bytes(const struct kv_map *m);

/* Visit every pair (in no particular order); fn borrows key and value and
 * must not modify the map. */
typedef void (*kv_map_visit_fn)(void *ctx, const char *key, size_t klen,
                                const char *val, size_t vlen);
void kv_map_foreach(const struct kv_map *m, kv_map_visit_fn fn, void *ctx);

/* ---- duplicate detection ----------------------------------------------- */
struct kv_dedup;

struct kv_dedup_entry {
    uint64_t client;
    uint64_t seq;    /* last sequence number executed for client */
    char *reply;     /* owned; NULL when the reply carries no data */
    size_t reply_len;
};

/* Returns owned; free with kv_dedup_free(). */
struct kv_dedup *kv_dedup_new(void);
void kv_dedup_free(struct kv_dedup *d);
void kv_dedup_clear(struct kv_dedup *d);

/* The entry of client, borrowed (valid until the next insert), or NULL. */
struct kv_dedup_entry *kv_dedup_find(struct kv_dedup *d, uint64_t client);
/* Record that client's request seq was executed, replacing (and freeing)
 * the previous reply: a client sends request seq only after it got the
 * reply to seq-1, so the old reply can never be asked for again. reply is
 * taken (owned by the table afterwards; may be NULL). Returns the entry.
 * seq must be >= 1: 0 marks an empty slot and is asserted against, so a
 * handler must reject a request whose seq is 0 (reply ERR_BADARGS, i.e.
 * return it from the handler) before recording it - otherwise any client
 * that sends seq 0 crashes the server. Clerks number from 1. */
struct kv_dedup_entry *kv_dedup_record(struct kv_dedup *d, uint64_t client,
                                       uint64_t seq, char *reply,
                                       size_t reply_len);

size_t kv_dedup_count(const struct kv_dedup *d);
size_t kv_dedup_mem_bytes(const struct kv_dedup *d);
/* Visit every entry (in no particular order). */
typedef void (*kv_dedup_visit_fn)(void *ctx, const struct kv_dedup_entry *e);
void kv_dedup_foreach(const struct kv_dedup *d, kv_dedup_visit_fn fn,
                      void *ctx);

/* Heap bytes the allocator charges for a chunk returned by malloc (0 for
 * NULL): usable size plus one word of header. */
size_t kv_chunk_bytes(const void *p);

#endif /* KVSRV_KV_MAP_H_ */
