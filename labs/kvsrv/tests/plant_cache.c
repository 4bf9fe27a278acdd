/* plant_cache.c - a planted bug for the lab 2 memory tests: the server
 * keeps a private copy of the latest Put value outside the given tables
 * (a "reply cache" of its own), which kvsrv_mem_bytes() cannot see.
 * Linked into lab2-plant-cache with -Wl,--wrap=kv_map_put; the whole-heap
 * measurement must make TestMemPut2 fail on it. */
#include <stdlib.h>
#include <string.h>

#include "kvsrv/kv_map.h"

void __real_kv_map_put(struct kv_map *m, const void *key, size_t klen,
                       const void *val, size_t vlen);
void __wrap_kv_map_put(struct kv_map *m, const void *key, size_t klen,
                       const void *val, size_t vlen);

static void *plant_cached; /* the server's private copy */

void __wrap_kv_map_put(struct kv_map *m, const void *key, size_t klen,
                       const void *val, size_t vlen)
{
    if (vlen > 0) { /* the bug: keep the last non-empty value */
        void *c = malloc(vlen);
        if (c) {
            memcpy(c, val, vlen);
            free(plant_cached);
            plant_cached = c;
        }
    }
    __real_kv_map_put(m, key, klen, val, vlen);
}
