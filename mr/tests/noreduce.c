/* noreduce.c - a broken app with Map but no Reduce (for test-mr-errors). */
#include "mr/mr_app.h"

int Map(const char *filename, const char *contents, size_t len,
        mr_emit_fn emit, void *ctx)
{
    (void)filename, (void)contents, (void)len, (void)emit, (void)ctx;
    return 0;
}
