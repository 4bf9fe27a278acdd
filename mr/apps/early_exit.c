/* early_exit.c - Map emits (filename, "1"); Reduce sleeps 3 s for keys
 * containing "sherlock" or "tom", then outputs the count. Used to check that
 * no worker or coordinator exits before all output is final. */
#include <string.h>

#include "mr/apps/apps_util.h"
#include "mr/mr_app.h"

int Map(const char *filename, const char *contents, size_t len,
        mr_emit_fn emit, void *ctx)
{
    (void)contents, (void)len;
    emit(ctx, filename, strlen(filename), "1", 1);
    return 0;
}

int Reduce(const char *key, size_t key_len, const char *const *values,
           const size_t *value_lens, size_t n, mr_output_fn output, void *ctx)
{
    (void)key_len, (void)values, (void)value_lens;
    /* Some reduce tasks take long: a worker that exits early shows. */
    if (strstr(key, "sherlock") || strstr(key, "tom"))
        mrapp_sleep_ms(3000);
    mrapp_output_int((long long)n, output, ctx);
    return 0;
}
