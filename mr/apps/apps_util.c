/* apps_util.c - helpers shared by the bundled MapReduce apps. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "mr/apps/apps_util.h"

void mrapp_sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static uint64_t os_random(void)
{
    uint64_t v;
    if (getrandom(&v, sizeof v, 0) == (ssize_t)sizeof v)
        return v;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t r = read(fd, &v, sizeof v);
        close(fd);
        if (r == (ssize_t)sizeof v)
            return v;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
}

uint64_t mrapp_random_below(uint64_t n)
{
    if (n == 0)
        return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n; /* reject the bias */
    for (;;) {
        uint64_t v = os_random();
        if (v < limit)
            return v % n;
    }
}

int mrapp_nparallel(const char *phase)
{
    /* Create a file so that other workers see we run at the same time. */
    char mine[128], prefix[128];
    snprintf(mine, sizeof mine, "mr-worker-%s-%d", phase, (int)getpid());
    int plen = snprintf(prefix, sizeof prefix, "mr-worker-%s-", phase);
    int fd = open(mine, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd >= 0) {
        if (write(fd, "x", 1) != 1) {
            /* the file's existence is what counts */
        }
        close(fd);
    }
    /* Are other workers running? Find their pids from the file names. */
    int ret = 0;
    DIR *d = opendir(".");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            /* Like Go's Sscanf("mr-worker-<phase>-%d"): leading digits. */
            if (strncmp(e->d_name, prefix, (size_t)plen) != 0)
                continue;
            char *end;
            long pid = strtol(e->d_name + plen, &end, 10);
            if (end != e->d_name + plen && pid > 0 && pid < INT32_MAX &&
                kill((pid_t)pid, 0) == 0)
                ret++;
        }
        closedir(d);
    }
    mrapp_sleep_ms(1000);
    unlink(mine);
    return ret;
}

struct sv {
    const char *p;
    size_t n;
};

static int sv_cmp(const void *a, const void *b)
{
    const struct sv *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, n);
    if (c)
        return c;
    return (x->n > y->n) - (x->n < y->n);
}

void mrapp_output_sorted_join(const char *const *values, const size_t *lens,
                              size_t n, const char *sep, mr_output_fn output,
                              void *ctx)
{
    struct sv *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        abort();
    for (size_t i = 0; i < n; i++)
        v[i] = (struct sv){values[i], lens[i]};
    qsort(v, n, sizeof *v, sv_cmp);
    size_t seplen = strlen(sep);
    for (size_t i = 0; i < n; i++) {
        if (i)
            output(ctx, sep, seplen);
        output(ctx, v[i].p, v[i].n);
    }
    free(v);
}

void mrapp_output_int(long long v, mr_output_fn output, void *ctx)
{
    char b[32];
    int k = snprintf(b, sizeof b, "%lld", v);
    output(ctx, b, (size_t)k);
}

void mrapp_emit_words(const char *contents, size_t len, mr_emit_fn emit,
                      void *ctx)
{
    const unsigned char *p = (const unsigned char *)contents;
    size_t i = 0;
    while (i < len) {
        while (i < len && !mrapp_is_letter(p[i]))
            i++;
        size_t start = i;
        while (i < len && mrapp_is_letter(p[i]))
            i++;
        if (i > start)
            emit(ctx, contents + start, i - start, "1", 1);
    }
}
