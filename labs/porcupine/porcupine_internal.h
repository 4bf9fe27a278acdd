/* porcupine_internal.h - pieces shared by the checker's own files: the
 * arena, the memoization cache, and the layout of porcupine_info. */
#ifndef LABS_PORCUPINE_PORCUPINE_INTERNAL_H_
#define LABS_PORCUPINE_PORCUPINE_INTERNAL_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "labs/porcupine/porcupine.h"

/* --- arena (arena.c) ----------------------------------------------------
 * Chunked bump allocator with rewind: the search allocates a candidate
 * state per step and rewinds when it does not keep it, so a check makes
 * no per-step malloc calls. */
struct arena_chunk;

struct porcupine_arena {
    struct arena_chunk *first; /* chunks in allocation order */
    struct arena_chunk *cur;   /* chunk being filled */
    size_t used;               /* bytes used in cur */
    size_t next_size;          /* size of the next new chunk */
};

struct arena_mark {
    struct arena_chunk *chunk;
    size_t used;
};

void arena_init(struct porcupine_arena *a);
void arena_destroy(struct porcupine_arena *a);
static inline struct arena_mark arena_mark(const struct porcupine_arena *a)
{
    struct arena_mark m = {a->cur, a->used};
    return m;
}
/* Forget everything allocated since m (the chunks are kept for reuse). */
static inline void arena_reset(struct porcupine_arena *a, struct arena_mark m)
{
    a->cur = m.chunk;
    a->used = m.used;
}

/* --- hashing ------------------------------------------------------------ */
/* Finalizer of splitmix64: a cheap, well-mixing 64-bit permutation. */
static inline uint64_t porcupine_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

/* --- memoization cache (cache.c) ----------------------------------------
 * Set of (linearized bitset, model state) pairs, Lowe's memo table. The
 * caller supplies the hash (Zobrist hash of the bitset mixed with the
 * state's hash) and the full current bitset; entries store the bitset
 * compressed (leading all-ones words and trailing zero words elided), as
 * linearized sets are nearly always a prefix plus a few stragglers. */
struct cache_slot;

struct cache {
    struct cache_slot *slots;
    size_t cap; /* power of two */
    size_t len;
    size_t nwords; /* bitset words */
    bool (*equal)(const void *, const void *);
};

void cache_init(struct cache *c, size_t nwords,
                bool (*equal)(const void *, const void *));
void cache_destroy(struct cache *c);
/* Insert unless present; true if it was inserted. Copies of the bitset
 * are allocated from the arena. */
bool cache_insert(struct cache *c, struct porcupine_arena *a, uint64_t hash,
                  const uint64_t *bits, const void *state);

/* --- results (check.c) --------------------------------------------------- */
struct porcupine_partial {
    size_t len;
    size_t *ops; /* op numbers (indexes into the ops array) */
};

struct porcupine_part {
    size_t n;
    size_t *ops; /* op numbers, history order */
    enum porcupine_result result;
    size_t npartials;
    struct porcupine_partial *partials; /* longest first */
};

struct porcupine_info {
    const struct porcupine_op *ops; /* borrowed */
    size_t nops;
    enum porcupine_result result;
    size_t nparts;
    struct porcupine_part *parts;
};

/* --- visualization page (vis_template.c) --------------------------------
 * The page is head + JSON data + tail. */
extern const char porcupine_vis_head[];
extern const char porcupine_vis_tail[];

#endif /* LABS_PORCUPINE_PORCUPINE_INTERNAL_H_ */
