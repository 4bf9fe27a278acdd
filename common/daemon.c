/* daemon.c - command-line and process helpers shared by the daemons and
 * CLIs (see daemon.h). */
#include "common/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/version.h"

int daemon_split_list(const char *s, char **out, int max)
{
    int n = 0;
    const char *p = s;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == 0 || n == max) {
            daemon_free_list(out, n);
            return -1;
        }
        out[n++] = buf_strndup(p, len);
        if (!c)
            return n;
        p = c + 1;
    }
}

void daemon_free_list(char **list, int n)
{
    for (int i = 0; i < n; i++) {
        free(list[i]);
        list[i] = NULL;
    }
}

bool daemon_parse_ll(const char *s, long long lo, long long hi,
                     long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* The lock file's descriptor: held (and the lock with it) until exit. */
static int lock_fd = -1;
/* The directory locked (and then opened) by this process (owned). */
static char *data_dir;

int daemon_lock_data_dir(const char *prog, const char *dir)
{
    if (data_dir && strcmp(data_dir, dir) == 0)
        return 0; /* ours already (a restart inside one process) */
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/LOCK", dir) >= sizeof(path)) {
        fprintf(stderr, "%s: data directory name too long: %s\n", prog, dir);
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        fprintf(stderr, "%s: cannot open lock file %s: %s\n", prog, path,
                strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        if (e == EWOULDBLOCK)
            fprintf(stderr, "%s: data directory %s is in use by another "
                            "process (pid %s, lock %s); not starting\n",
                    prog, dir, pid[0] ? pid : "unknown", path);
        else
            fprintf(stderr, "%s: cannot lock %s: %s\n", prog, path,
                    strerror(e));
        close(fd);
        return -1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, path,
                strerror(errno));
        close(fd);
        return -1;
    }
    if (lock_fd >= 0)
        close(lock_fd);
    lock_fd = fd;
    free(data_dir);
    data_dir = xstrdup(dir);
    return 0;
}

struct persister *daemon_open_data_dir(const char *prog, const char *dir)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: cannot create %s: %s\n", prog, dir,
                strerror(errno));
        return NULL;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: data directory %s: %s\n", prog, dir,
                strerror(S_ISDIR(st.st_mode) ? errno : ENOTDIR));
        return NULL;
    }
    /* Before anything in it is touched: a second daemon on the same
     * directory would delete the first one's temporary files. */
    if (daemon_lock_data_dir(prog, dir) != 0)
        return NULL;
    int err = 0;
    errno = 0;
    struct persister *ps = persister_open_dir(dir, &err);
    if (!ps)
        fprintf(stderr, "%s: cannot open data directory %s: %s%s%s\n", prog,
                dir, err_msg(err), errno ? ": " : "",
                errno ? strerror(errno) : "");
    return ps;
}

void daemon_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl); /* best effort: the cap adapts */
    }
}

void daemon_block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int daemon_wait_signal(const sigset_t *set)
{
    int sig = 0;
    while (sigwait(set, &sig) != 0)
        ;
    return sig;
}

int daemon_help_or_version(int argc, char **argv, const char *prog)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("%s %s\n", prog, LAB_VERSION);
            exit(0);
        }
        if (strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

void daemon_default_log(void)
{
    if (!getenv("LABLOG"))
        log_set_level(LOG_WARN);
}

void daemon_default_batching(void)
{
    setenv("RAFT_BATCH_MS", "0", 0);
}
