/* straggler.c - word count (as wc.c) with injected slowness, for the
 * backup-task and worker-crash tests of the distributed mode.
 *
 * Environment (all optional):
 *   MR_STRAGGLER_MAP_MS     every Map call sleeps this long (the "work")
 *   MR_STRAGGLER_FILE       the first execution of the map task(s) of the
 *   MR_STRAGGLER_DIR        input whose name ends with this sleeps 10 times
 *                           as long: it ran on a slow machine. "First" is
 *                           decided by creating DIR/straggled-<n> with
 *                           O_EXCL, so a backup copy runs at normal speed.
 *   MR_STRAGGLER_REDUCE_MS  the first Reduce call of this process sleeps
 *                           this long (holds a reduce task on a worker). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mr/apps/apps_util.h"
#include "mr/mr_app.h"

static unsigned long env_ms(const char *name)
{
    const char *v = getenv(name);
    return v ? strtoul(v, NULL, 10) : 0;
}

/* True if this is the first execution of a map over the straggler file. */
static int first_straggler(const char *filename)
{
    const char *f = getenv("MR_STRAGGLER_FILE");
    const char *dir = getenv("MR_STRAGGLER_DIR");
    size_t fl = f ? strlen(f) : 0, nl = strlen(filename);
    if (!f || !dir || !fl || nl < fl || strcmp(filename + nl - fl, f) != 0)
        return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/straggled-%s", dir,
             strrchr(f, '/') ? strrchr(f, '/') + 1 : f);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

int Map(const char *filename, const char *contents, size_t len,
        mr_emit_fn emit, void *ctx)
{
    unsigned long ms = env_ms("MR_STRAGGLER_MAP_MS");
    mrapp_sleep_ms(first_straggler(filename) ? 10 * ms : ms);
    mrapp_emit_words(contents, len, emit, ctx);
    return 0;
}

int Reduce(const char *key, size_t key_len, const char *const *values,
           const size_t *value_lens, size_t n, mr_output_fn output, void *ctx)
{
    (void)key, (void)key_len, (void)values, (void)value_lens;
    static int slept;
    if (!slept) {
        slept = 1;
        mrapp_sleep_ms(env_ms("MR_STRAGGLER_REDUCE_MS"));
    }
    mrapp_output_int((long long)n, output, ctx);
    return 0;
}
