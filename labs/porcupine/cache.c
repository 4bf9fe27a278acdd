/* cache.c - Lowe's memoization table: which (linearized set, state) pairs
 * the search has already reached, so it never explores one twice.
 *
 * Open addressing with linear probing. Porcupine keys its map by a weak
 * bitset hash (popcount XOR words) and compares states linearly in each
 * bucket; here the key mixes a Zobrist hash of the set with the state's
 * own hash, so buckets stay short even when many states share one set. */
#include "labs/porcupine/porcupine_internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

struct cache_slot {
    uint64_t hash;
    const void *state;
    const uint64_t *words; /* bitset words [lo, lo+cnt); arena memory */
    uint32_t lo;           /* words below lo are all ones */
    uint32_t cnt;          /* words from lo+cnt on are zero */
    bool used;
};

void cache_init(struct cache *c, size_t nwords,
                bool (*equal)(const void *, const void *))
{
    c->cap = 1024;
    c->slots = xcalloc(c->cap, sizeof(*c->slots));
    c->len = 0;
    c->nwords = nwords;
    c->equal = equal;
}

void cache_destroy(struct cache *c)
{
    free(c->slots);
    c->slots = NULL;
}

/* The compressed extent of a bitset: [lo, hi) holds every word that is
 * neither all ones (below) nor zero (above). */
static void bits_span(const uint64_t *bits, size_t nwords, uint32_t *lo,
                      uint32_t *cnt)
{
    size_t l = 0;
    while (l < nwords && bits[l] == ~(uint64_t)0)
        l++;
    size_t h = nwords;
    while (h > l && bits[h - 1] == 0)
        h--;
    *lo = (uint32_t)l;
    *cnt = (uint32_t)(h - l);
}

static bool slot_matches(const struct cache *c, const struct cache_slot *s,
                         uint64_t hash, const uint64_t *bits,
                         const void *state)
{
    if (s->hash != hash)
        return false;
    uint32_t lo, cnt;
    bits_span(bits, c->nwords, &lo, &cnt);
    if (lo != s->lo || cnt != s->cnt ||
        (cnt && memcmp(bits + lo, s->words, cnt * sizeof(uint64_t)) != 0))
        return false;
    return c->equal ? c->equal(s->state, state) : s->state == state;
}

static void cache_grow(struct cache *c)
{
    size_t ncap = c->cap * 2;
    struct cache_slot *ns = xcalloc(ncap, sizeof(*ns));
    for (size_t i = 0; i < c->cap; i++) {
        if (!c->slots[i].used)
            continue;
        size_t j = c->slots[i].hash & (ncap - 1);
        while (ns[j].used)
            j = (j + 1) & (ncap - 1);
        ns[j] = c->slots[i];
    }
    free(c->slots);
    c->slots = ns;
    c->cap = ncap;
}

bool cache_insert(struct cache *c, struct porcupine_arena *a, uint64_t hash,
                  const uint64_t *bits, const void *state)
{
    size_t mask = c->cap - 1;
    size_t i = hash & mask;
    while (c->slots[i].used) {
        if (slot_matches(c, &c->slots[i], hash, bits, state))
            return false;
        i = (i + 1) & mask;
    }
    struct cache_slot *s = &c->slots[i];
    s->used = true;
    s->hash = hash;
    s->state = state;
    bits_span(bits, c->nwords, &s->lo, &s->cnt);
    if (s->cnt) {
        uint64_t *w = porcupine_arena_alloc(a, s->cnt * sizeof(uint64_t));
        memcpy(w, bits + s->lo, s->cnt * sizeof(uint64_t));
        s->words = w;
    } else {
        s->words = NULL;
    }
    /* Keep the load at most one half so probe runs stay short. */
    if (++c->len * 2 > c->cap)
        cache_grow(c);
    return true;
}
