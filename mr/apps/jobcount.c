/* jobcount.c - counts map executions: every Map leaves a file
 * mr-worker-jobcount-<pid>-<n> and takes 2-5 s; Reduce outputs how many
 * such files exist. Exactly one per map task means no task ran twice. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mr/apps/apps_util.h"
#include "mr/mr_app.h"

static int count;

int Map(const char *filename, const char *contents, size_t len,
        mr_emit_fn emit, void *ctx)
{
    (void)filename, (void)contents, (void)len;
    char f[128];
    snprintf(f, sizeof f, "mr-worker-jobcount-%d-%d", (int)getpid(), count);
    count++;
    int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return 1;
    int ok = write(fd, "x", 1) == 1;
    close(fd);
    if (!ok)
        return 1;
    mrapp_sleep_ms(2000 + mrapp_random_below(3000));
    emit(ctx, "a", 1, "x", 1);
    return 0;
}

int Reduce(const char *key, size_t key_len, const char *const *values,
           const size_t *value_lens, size_t n, mr_output_fn output, void *ctx)
{
    (void)key, (void)key_len, (void)values, (void)value_lens, (void)n;
    DIR *d = opendir(".");
    if (!d)
        return 1;
    long long invocations = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "mr-worker-jobcount", 18) == 0)
            invocations++;
    closedir(d);
    mrapp_output_int(invocations, output, ctx);
    return 0;
}
