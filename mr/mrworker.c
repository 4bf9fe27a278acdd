/* mrworker.c - `mrworker [options] xxx.so`: load a MapReduce app and run
 * tasks for a coordinator until the job is over. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/log.h"
#include "mr/mr.h"
#include "mr/mr_internal.h"

/* Print the usage (to stdout for --help, rc 0) and exit with rc. */
static void usage(int rc)
{
    FILE *f = rc ? stderr : stdout;
    fprintf(f, "Usage: mrworker xxx.so\n");
    fprintf(f,
            "options:\n"
            "  -a ADDR   coordinator address (default $" MR_ADDR_ENV " or "
            MR_DEFAULT_ADDR ")\n"
            "  -f FILE   read the coordinator address from FILE (see "
            "mrcoordinator -f)\n"
            "  -g SEC    exit once the coordinator has been unreachable for "
            "SEC seconds\n"
            "            (default 3)\n"
            "  -v        at exit, print the tasks done and the peak RSS\n");
    exit(rc);
}

int main(int argc, char **argv)
{
    if (daemon_help_or_version(argc, argv, "mrworker"))
        usage(0);
    struct mr_worker_opts o = {0};
    struct mr_worker_stats stats = {0, 0};
    bool verbose = false;
    o.addr = getenv(MR_ADDR_ENV);
    int opt;
    while ((opt = getopt(argc, argv, "+a:f:g:vh")) != -1) {
        switch (opt) {
        case 'a': o.addr = optarg; o.addr_file = NULL; break;
        case 'f': o.addr_file = optarg; o.addr = NULL; break;
        case 'g': {
            char *end;
            errno = 0;
            double s = strtod(optarg, &end);
            if (errno || *end || s <= 0 || s > 1e6)
                usage(1);
            o.gone_ms = (uint64_t)(s * 1000);
            break;
        }
        case 'v': verbose = true; o.stats = &stats; break;
        default: usage(1);
        }
    }
    if (argc - optind != 1)
        usage(1);
    if ((!o.addr || !*o.addr) && !o.addr_file)
        o.addr = MR_DEFAULT_ADDR;
    log_init();
    if (!getenv("LABLOG"))
        log_set_level(LOG_WARN);
    signal(SIGPIPE, SIG_IGN);

    mr_tune_malloc();
    struct mr_app app;
    char msg[1024];
    if (mr_app_load(&app, argv[optind], msg, sizeof msg) != 0) {
        fprintf(stderr, "mrworker: %s\n", msg);
        return 1;
    }
    int rc = mr_worker_run(&app, &o);
    mr_app_unload(&app);
    if (verbose) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        fprintf(stderr, "mrworker: %d map and %d reduce tasks done, peak "
                "RSS %ld KB\n", stats.maps, stats.reduces, ru.ru_maxrss);
    }
    return rc == 0 ? 0 : 1;
}
