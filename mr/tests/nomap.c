/* nomap.c - a broken app with Reduce but no Map (for test-mr-errors). */
#include "mr/mr_app.h"

int Reduce(const char *key, size_t key_len, const char *const *values,
           const size_t *value_lens, size_t n, mr_output_fn output, void *ctx)
{
    (void)key, (void)key_len, (void)values, (void)value_lens, (void)n;
    output(ctx, "", 0);
    return 0;
}
