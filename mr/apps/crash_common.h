/* crash_common.h - the body shared by crash.c and nocrash.c (6.5840's
 * crash.go/nocrash.go); MAYBE_CRASH() is the only difference. */
#ifndef MR_APPS_CRASH_COMMON_H_
#define MR_APPS_CRASH_COMMON_H_

#include <stdio.h>
#include <string.h>

#include "mr/apps/apps_util.h"
#include "mr/mr_app.h"

static void maybe_crash(void);

int Map(const char *filename, const char *contents, size_t len,
        mr_emit_fn emit, void *ctx)
{
    maybe_crash();
    char b[32];
    size_t fl = strlen(filename);
    emit(ctx, "a", 1, filename, fl);
    int n = snprintf(b, sizeof b, "%zu", fl);
    emit(ctx, "b", 1, b, (size_t)n);
    n = snprintf(b, sizeof b, "%zu", len);
    emit(ctx, "c", 1, b, (size_t)n);
    (void)contents;
    emit(ctx, "d", 1, "xyzzy", 5);
    return 0;
}

int Reduce(const char *key, size_t key_len, const char *const *values,
           const size_t *value_lens, size_t n, mr_output_fn output, void *ctx)
{
    (void)key, (void)key_len;
    maybe_crash();
    /* Sort the values to make the output deterministic. */
    mrapp_output_sorted_join(values, value_lens, n, " ", output, ctx);
    return 0;
}

#endif /* MR_APPS_CRASH_COMMON_H_ */
