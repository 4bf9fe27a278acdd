/* mtiming.c - checks that map tasks run in parallel: each Map reports its
 * start time and how many map workers were running at the same time. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "mr/apps/apps_util.h"
#include "mr/mr_app.h"

int Map(const char *filename, const char *contents, size_t len,
        mr_emit_fn emit, void *ctx)
{
    (void)filename, (void)contents, (void)len;
    struct timespec t0;
    clock_gettime(CLOCK_REALTIME, &t0);
    double ts = (double)t0.tv_sec + (double)t0.tv_nsec / 1e9;
    int pid = (int)getpid();
    int n = mrapp_nparallel("map");
    char k[64], v[64];
    int kl = snprintf(k, sizeof k, "times-%d", pid);
    int vl = snprintf(v, sizeof v, "%.1f", ts);
    emit(ctx, k, (size_t)kl, v, (size_t)vl);
    kl = snprintf(k, sizeof k, "parallel-%d", pid);
    vl = snprintf(v, sizeof v, "%d", n);
    emit(ctx, k, (size_t)kl, v, (size_t)vl);
    return 0;
}

int Reduce(const char *key, size_t key_len, const char *const *values,
           const size_t *value_lens, size_t n, mr_output_fn output, void *ctx)
{
    (void)key, (void)key_len;
    /* Sort the values to make the output deterministic. */
    mrapp_output_sorted_join(values, value_lens, n, " ", output, ctx);
    return 0;
}
