/* rtiming.c - checks that reduce tasks run in parallel: Map emits ten keys
 * a..j; each Reduce takes a second and reports how many reduce workers were
 * running at the same time. */
#include "mr/apps/apps_util.h"
#include "mr/mr_app.h"

int Map(const char *filename, const char *contents, size_t len,
        mr_emit_fn emit, void *ctx)
{
    (void)filename, (void)contents, (void)len;
    for (char c = 'a'; c <= 'j'; c++)
        emit(ctx, &c, 1, "1", 1);
    return 0;
}

int Reduce(const char *key, size_t key_len, const char *const *values,
           const size_t *value_lens, size_t n, mr_output_fn output, void *ctx)
{
    (void)key, (void)key_len, (void)values, (void)value_lens, (void)n;
    mrapp_output_int(mrapp_nparallel("reduce"), output, ctx);
    return 0;
}
