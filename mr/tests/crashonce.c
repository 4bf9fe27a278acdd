/* crashonce.c - word count that crashes its worker once per phase (for
 * test-mr-errors.sh): the first Map and the first Reduce to run in the
 * directory emit part of their output and then _exit(1), leaving partial
 * temporaries behind; later calls (marker files exist) behave like wc. */
#include <fcntl.h>
#include <unistd.h>

#include "mr/apps/apps_util.h"
#include "mr/mr_app.h"

/* True exactly once per marker name (O_EXCL creation). */
static int first_time(const char *marker)
{
    int fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

int Map(const char *filename, const char *contents, size_t len,
        mr_emit_fn emit, void *ctx)
{
    int crash = first_time("crashonce-map");
    (void)filename;
    size_t i = 0, words = 0;
    while (i < len) {
        while (i < len && !mrapp_is_letter((unsigned char)contents[i]))
            i++;
        size_t start = i;
        while (i < len && mrapp_is_letter((unsigned char)contents[i]))
            i++;
        if (i > start)
            emit(ctx, contents + start, i - start, "1", 1);
        if (crash && ++words == 200000)
            _exit(1); /* mid-task, after flushing some partitions */
    }
    if (crash)
        _exit(1);
    return 0;
}

int Reduce(const char *key, size_t key_len, const char *const *values,
           const size_t *value_lens, size_t n, mr_output_fn output, void *ctx)
{
    (void)key, (void)key_len, (void)values, (void)value_lens;
    if (first_time("crashonce-reduce")) {
        output(ctx, "partial", 7);
        _exit(1);
    }
    mrapp_output_int((long long)n, output, ctx);
    return 0;
}
