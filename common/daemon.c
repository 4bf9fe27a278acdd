/* daemon.c - command-line and process helpers shared by the daemons and
 * CLIs (see daemon.h). */
#include "common/daemon.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"

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

struct persister *daemon_open_data_dir(const char *prog, const char *dir)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: cannot create %s: %s\n", prog, dir,
                strerror(errno));
        return NULL;
    }
    int err = 0;
    struct persister *ps = persister_open_dir(dir, &err);
    if (!ps)
        fprintf(stderr, "%s: cannot open data directory %s: %s\n", prog, dir,
                err_msg(err));
    return ps;
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

void daemon_default_log(void)
{
    if (!getenv("LABLOG"))
        log_set_level(LOG_WARN);
}
