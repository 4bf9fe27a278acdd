/* indexer.c - inverted index: Map emits (word, document) once per distinct
 * word of the document; Reduce outputs "<count> <sorted,comma,joined
 * documents>". */
#include <stdlib.h>
#include <string.h>

#include "mr/apps/apps_util.h"
#include "mr/mr_app.h"

struct word {
    const char *p;
    size_t n;
};

static size_t hash(const char *p, size_t n)
{
    size_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

int Map(const char *document, const char *contents, size_t len,
        mr_emit_fn emit, void *ctx)
{
    size_t cap = 1024, used = 0;
    struct word *set = calloc(cap, sizeof *set);
    if (!set)
        return 1;
    size_t doclen = strlen(document);
    const unsigned char *p = (const unsigned char *)contents;
    size_t i = 0;
    while (i < len) {
        while (i < len && !mrapp_is_letter(p[i]))
            i++;
        size_t start = i;
        while (i < len && mrapp_is_letter(p[i]))
            i++;
        if (i == start)
            continue;
        const char *w = contents + start;
        size_t n = i - start;
        size_t j = hash(w, n) & (cap - 1);
        while (set[j].p && !(set[j].n == n && memcmp(set[j].p, w, n) == 0))
            j = (j + 1) & (cap - 1);
        if (set[j].p)
            continue; /* seen in this document */
        set[j] = (struct word){w, n};
        emit(ctx, w, n, document, doclen);
        if (2 * ++used > cap) { /* grow */
            size_t ncap = cap * 2;
            struct word *ns = calloc(ncap, sizeof *ns);
            if (!ns) {
                free(set);
                return 1;
            }
            for (size_t k = 0; k < cap; k++) {
                if (!set[k].p)
                    continue;
                size_t m = hash(set[k].p, set[k].n) & (ncap - 1);
                while (ns[m].p)
                    m = (m + 1) & (ncap - 1);
                ns[m] = set[k];
            }
            free(set);
            set = ns;
            cap = ncap;
        }
    }
    free(set);
    return 0;
}

int Reduce(const char *key, size_t key_len, const char *const *values,
           const size_t *value_lens, size_t n, mr_output_fn output, void *ctx)
{
    (void)key, (void)key_len;
    mrapp_output_int((long long)n, output, ctx);
    output(ctx, " ", 1);
    mrapp_output_sorted_join(values, value_lens, n, ",", output, ctx);
    return 0;
}
