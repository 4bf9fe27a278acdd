/* fsync_spy.c - LD_PRELOAD shim for test-mr-errors.sh: logs every fsync
 * (with the path of its descriptor) and rename to $MR_SPY_LOG, then calls
 * the real function, so the test can check that outputs are made durable
 * before and after they are renamed into place. */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void spy_log(const char *what, const char *a, const char *b)
{
    const char *path = getenv("MR_SPY_LOG");
    if (!path)
        return;
    char line[8400];
    int n = snprintf(line, sizeof line, "%s %s%s%s\n", what, a, b ? " " : "",
                     b ? b : "");
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    if (write(fd, line, (size_t)n) < 0) { /* best effort */
    }
    close(fd);
}

int fsync(int fd)
{
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    spy_log("fsync", target, NULL);
    int (*real)(int);
    void *sym = dlsym(RTLD_NEXT, "fsync");
    memcpy(&real, &sym, sizeof real);
    return real(fd);
}

int rename(const char *from, const char *to)
{
    char cwd[4096] = "";
    if (to[0] != '/' && getcwd(cwd, sizeof cwd - 1))
        strcat(cwd, "/");
    char full[8200];
    snprintf(full, sizeof full, "%s%s", cwd, to);
    spy_log("rename", from, full);
    int (*real)(const char *, const char *);
    void *sym = dlsym(RTLD_NEXT, "rename");
    memcpy(&real, &sym, sizeof real);
    return real(from, to);
}
