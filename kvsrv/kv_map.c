/* kv_map.c - chained string hash map and open-addressing duplicate table,
 * both with running byte totals (see kv_map.h). */
#include "kvsrv/kv_map.h"

#include <assert.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

size_t kv_chunk_bytes(const void *p)
{
    /* glibc charges the usable size plus a size word per chunk; counting
     * the header too keeps the totals honest for many small entries. */
    return p ? malloc_usable_size((void *)p) + sizeof(size_t) : 0;
}

/* FNV-1a: keys are short, this is fast enough and needs no seed (the
 * service is not exposed to adversarial keys at a scale where flooding a
 * chain matters; chains are bounded by the load factor anyway). */
static uint64_t hash_bytes(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* ---- store ------------------------------------------------------------- */

struct kv_entry {
    struct kv_entry *next;
    uint64_t hash;
    char *val; /* owned, vlen bytes + NUL */
    size_t vlen;
    size_t klen;
    char key[]; /* klen bytes + NUL */
};

struct kv_map {
    struct kv_entry **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
    size_t bytes; /* entries + values; the bucket array is added on demand */
};

#define KV_MAP_MIN_BUCKETS 16

struct kv_map *kv_map_new(void)
{
    struct kv_map *m = xcalloc(1, sizeof(*m));
    m->nbuckets = KV_MAP_MIN_BUCKETS;
    m->buckets = xcalloc(m->nbuckets, sizeof(*m->buckets));
    return m;
}

static void entry_free(struct kv_entry *e)
{
    free(e->val);
    free(e);
}

void kv_map_clear(struct kv_map *m)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct kv_entry *e = m->buckets[i];
        while (e) {
            struct kv_entry *next = e->next;
            entry_free(e);
            e = next;
        }
    }
    free(m->buckets);
    m->nbuckets = KV_MAP_MIN_BUCKETS;
    m->buckets = xcalloc(m->nbuckets, sizeof(*m->buckets));
    m->count = 0;
    m->bytes = 0;
}

void kv_map_free(struct kv_map *m)
{
    if (!m)
        return;
    kv_map_clear(m);
    free(m->buckets);
    free(m);
}

static struct kv_entry **find_slot(const struct kv_map *m, const void *key,
                                   size_t klen, uint64_t h)
{
    struct kv_entry **pp = &m->buckets[h & (m->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->next) {
        struct kv_entry *e = *pp;
        if (e->hash == h && e->klen == klen &&
            (klen == 0 || memcmp(e->key, key, klen) == 0))
            return pp;
    }
    return pp;
}

static void grow(struct kv_map *m)
{
    size_t n = m->nbuckets * 2;
    struct kv_entry **nb = xcalloc(n, sizeof(*nb));
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct kv_entry *e = m->buckets[i];
        while (e) {
            struct kv_entry *next = e->next;
            struct kv_entry **slot = &nb[e->hash & (n - 1)];
            e->next = *slot;
            *slot = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = nb;
    m->nbuckets = n;
}

static char *dup_val(const void *val, size_t vlen)
{
    char *v = xmalloc(vlen + 1);
    if (vlen)
        memcpy(v, val, vlen);
    v[vlen] = '\0';
    return v;
}

/* Find key, inserting an empty value if absent. */
static struct kv_entry *get_or_insert(struct kv_map *m, const void *key,
                                      size_t klen)
{
    uint64_t h = hash_bytes(key, klen);
    struct kv_entry **pp = find_slot(m, key, klen, h);
    if (*pp)
        return *pp;
    struct kv_entry *e = xmalloc(sizeof(*e) + klen + 1);
    e->next = NULL;
    e->hash = h;
    e->val = dup_val("", 0);
    e->vlen = 0;
    e->klen = klen;
    if (klen)
        memcpy(e->key, key, klen);
    e->key[klen] = '\0';
    *pp = e;
    m->count++;
    m->bytes += kv_chunk_bytes(e) + kv_chunk_bytes(e->val);
    if (m->count > m->nbuckets)
        grow(m);
    return e;
}

const char *kv_map_get(const struct kv_map *m, const void *key, size_t klen,
                       size_t *vlen)
{
    struct kv_entry *e = *find_slot(m, key, klen, hash_bytes(key, klen));
    if (!e) {
        if (vlen)
            *vlen = 0;
        return NULL;
    }
    if (vlen)
        *vlen = e->vlen;
    return e->val;
}

void kv_map_put(struct kv_map *m, const void *key, size_t klen,
                const void *val, size_t vlen)
{
    struct kv_entry *e = get_or_insert(m, key, klen);
    m->bytes -= kv_chunk_bytes(e->val);
    free(e->val);
    e->val = dup_val(val, vlen);
    e->vlen = vlen;
    m->bytes += kv_chunk_bytes(e->val);
}

void kv_map_append(struct kv_map *m, const void *key, size_t klen,
                   const void *val, size_t vlen, char **old_out,
                   size_t *old_len)
{
    struct kv_entry *e = get_or_insert(m, key, klen);
    if (old_out) {
        *old_out = dup_val(e->val, e->vlen);
        if (old_len)
            *old_len = e->vlen;
    }
    if (vlen == 0)
        return;
    /* Exact-size realloc, like Go's string concatenation: the memory
     * tests bound what a 10 MiB value may cost. */
    m->bytes -= kv_chunk_bytes(e->val);
    e->val = xrealloc(e->val, e->vlen + vlen + 1);
    memcpy(e->val + e->vlen, val, vlen);
    e->vlen += vlen;
    e->val[e->vlen] = '\0';
    m->bytes += kv_chunk_bytes(e->val);
}

bool kv_map_delete(struct kv_map *m, const void *key, size_t klen)
{
    struct kv_entry **pp = find_slot(m, key, klen, hash_bytes(key, klen));
    struct kv_entry *e = *pp;
    if (!e)
        return false;
    *pp = e->next;
    m->bytes -= kv_chunk_bytes(e) + kv_chunk_bytes(e->val);
    m->count--;
    entry_free(e);
    return true;
}

size_t kv_map_count(const struct kv_map *m) { return m->count; }

size_t kv_map_mem_bytes(const struct kv_map *m)
{
    return m->bytes + kv_chunk_bytes(m->buckets) + kv_chunk_bytes(m);
}

void kv_map_foreach(const struct kv_map *m, kv_map_visit_fn fn, void *ctx)
{
    for (size_t i = 0; i < m->nbuckets; i++)
        for (struct kv_entry *e = m->buckets[i]; e; e = e->next)
            fn(ctx, e->key, e->klen, e->val, e->vlen);
}

/* ---- duplicate detection ----------------------------------------------- */

/* A slot is empty when seq == 0: sequence numbers start at 1. */
struct kv_dedup {
    struct kv_dedup_entry *slots;
    size_t cap; /* power of two */
    size_t count;
    size_t reply_bytes;
};

#define KV_DEDUP_MIN_CAP 16

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

struct kv_dedup *kv_dedup_new(void)
{
    struct kv_dedup *d = xcalloc(1, sizeof(*d));
    d->cap = KV_DEDUP_MIN_CAP;
    d->slots = xcalloc(d->cap, sizeof(*d->slots));
    return d;
}

void kv_dedup_clear(struct kv_dedup *d)
{
    for (size_t i = 0; i < d->cap; i++)
        free(d->slots[i].reply);
    free(d->slots);
    d->cap = KV_DEDUP_MIN_CAP;
    d->slots = xcalloc(d->cap, sizeof(*d->slots));
    d->count = 0;
    d->reply_bytes = 0;
}

void kv_dedup_free(struct kv_dedup *d)
{
    if (!d)
        return;
    kv_dedup_clear(d);
    free(d->slots);
    free(d);
}

static struct kv_dedup_entry *probe(struct kv_dedup_entry *slots, size_t cap,
                                    uint64_t client)
{
    size_t i = mix64(client) & (cap - 1);
    while (slots[i].seq != 0 && slots[i].client != client)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

struct kv_dedup_entry *kv_dedup_find(struct kv_dedup *d, uint64_t client)
{
    struct kv_dedup_entry *e = probe(d->slots, d->cap, client);
    return e->seq ? e : NULL;
}

static void dedup_grow(struct kv_dedup *d)
{
    size_t ncap = d->cap * 2;
    struct kv_dedup_entry *ns = xcalloc(ncap, sizeof(*ns));
    for (size_t i = 0; i < d->cap; i++)
        if (d->slots[i].seq)
            *probe(ns, ncap, d->slots[i].client) = d->slots[i];
    free(d->slots);
    d->slots = ns;
    d->cap = ncap;
}

struct kv_dedup_entry *kv_dedup_record(struct kv_dedup *d, uint64_t client,
                                       uint64_t seq, char *reply,
                                       size_t reply_len)
{
    assert(seq != 0);
    /* Keep the load factor <= 3/4 so probes stay short. */
    if ((d->count + 1) * 4 > d->cap * 3)
        dedup_grow(d);
    struct kv_dedup_entry *e = probe(d->slots, d->cap, client);
    if (e->seq == 0) {
        e->client = client;
        d->count++;
    } else {
        d->reply_bytes -= kv_chunk_bytes(e->reply);
        free(e->reply);
    }
    e->seq = seq;
    e->reply = reply;
    e->reply_len = reply ? reply_len : 0;
    d->reply_bytes += kv_chunk_bytes(reply);
    return e;
}

size_t kv_dedup_count(const struct kv_dedup *d) { return d->count; }

size_t kv_dedup_mem_bytes(const struct kv_dedup *d)
{
    return d->reply_bytes + kv_chunk_bytes(d->slots) + kv_chunk_bytes(d);
}

void kv_dedup_foreach(const struct kv_dedup *d, kv_dedup_visit_fn fn,
                      void *ctx)
{
    for (size_t i = 0; i < d->cap; i++)
        if (d->slots[i].seq)
            fn(ctx, &d->slots[i]);
}
