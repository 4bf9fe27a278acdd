/* arena.c - chunked bump allocator with rewind, for model states. */
#include "labs/porcupine/porcupine_internal.h"

#include <stdlib.h>

#include "common/buf.h"

struct arena_chunk {
    struct arena_chunk *next;
    size_t size;
    _Alignas(16) unsigned char data[];
};

enum { ARENA_FIRST_CHUNK = 64 * 1024, ARENA_MAX_CHUNK = 8 * 1024 * 1024 };

static struct arena_chunk *chunk_new(size_t size)
{
    struct arena_chunk *c = xmalloc(sizeof(*c) + size);
    c->next = NULL;
    c->size = size;
    return c;
}

void arena_init(struct porcupine_arena *a)
{
    a->first = chunk_new(ARENA_FIRST_CHUNK);
    a->cur = a->first;
    a->used = 0;
    a->next_size = 2 * ARENA_FIRST_CHUNK;
}

void arena_destroy(struct porcupine_arena *a)
{
    struct arena_chunk *c = a->first;
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->first = a->cur = NULL;
}

void *porcupine_arena_alloc(struct porcupine_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (size == 0)
        size = 16;
    while (a->cur->size - a->used < size) {
        /* After a rewind the chunks past cur are free for reuse; a chunk too
         * small for this request gets a new one spliced in before it. */
        struct arena_chunk *next = a->cur->next;
        if (!next || next->size < size) {
            size_t sz = a->next_size;
            while (sz < size)
                sz *= 2;
            if (a->next_size < ARENA_MAX_CHUNK)
                a->next_size *= 2;
            struct arena_chunk *c = chunk_new(sz);
            c->next = next;
            a->cur->next = c;
            next = c;
        }
        a->cur = next;
        a->used = 0;
    }
    void *p = a->cur->data + a->used;
    a->used += size;
    return p;
}

struct porcupine_arena *porcupine_arena_new(void)
{
    struct porcupine_arena *a = xmalloc(sizeof(*a));
    arena_init(a);
    return a;
}

void porcupine_arena_free(struct porcupine_arena *a)
{
    if (!a)
        return;
    arena_destroy(a);
    free(a);
}
