/* wc.c - word count: Map emits (word, "1") for every maximal run of
 * letters; Reduce outputs how many values a word has. */
#include "mr/apps/apps_util.h"
#include "mr/mr_app.h"

int Map(const char *filename, const char *contents, size_t len,
        mr_emit_fn emit, void *ctx)
{
    (void)filename;
    mrapp_emit_words(contents, len, emit, ctx);
    return 0;
}

int Reduce(const char *key, size_t key_len, const char *const *values,
           const size_t *value_lens, size_t n, mr_output_fn output, void *ctx)
{
    (void)key, (void)key_len, (void)values, (void)value_lens;
    mrapp_output_int((long long)n, output, ctx);
    return 0;
}
