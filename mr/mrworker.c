/* mrworker.c - `mrworker [options] xxx.so`: load a MapReduce app and run
 * tasks for a coordinator until the job is over. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <string.h>

#include "common/daemon.h"
#include "common/log.h"
#include "mr/dist.h"
#include "mr/mr.h"
#include "mr/mr_internal.h"

static void usage_to(FILE *out, int status)
{
    fprintf(out, "Usage: mrworker xxx.so\n");
    fprintf(out,
            "options:\n"
            "  -a ADDR   coordinator address (default $" MR_ADDR_ENV " or "
            MR_DEFAULT_ADDR ")\n"
            "  -f FILE   read the coordinator address from FILE (see "
            "mrcoordinator -f)\n"
            "  -g SEC    exit once the coordinator has been unreachable for "
            "SEC seconds\n"
            "            (default 3)\n"
            "  -v        at exit, print the tasks done and the peak RSS\n"
            "distributed mode (with mrcoordinator -D; nothing shared but "
            "the network):\n"
            "  -D DIR    keep map outputs in DIR (created) and serve them to "
            "reducers\n"
            "  -o DIR    write reduce outputs mr-out-* to DIR (default: the "
            "-D DIR)\n"
            "  -A ADDR   serve map outputs on ADDR (default 127.0.0.1:0)\n"
            "  -P ADDR   address other workers use to reach -A (default: "
            "the bound one)\n"
            "  -m MB     memory budget of a reduce task in MiB (default %u); "
            "a larger\n"
            "            partition is sorted externally in DIR\n"
            "  -h, --help  this text\n",
            MR_DIST_DEFAULT_MEM >> 20);
    exit(status);
}

/* Print the usage (to stdout for --help, rc 0) and exit with rc. */
static void usage(int rc)
{
    usage_to(rc ? stderr : stdout, rc);
}

static double parse_pos(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v <= 0 || v > 1e6)
        usage(1);
    return v;
}

int main(int argc, char **argv)
{
    if (daemon_help_or_version(argc, argv, "mrworker"))
        usage(0);
    struct mr_worker_opts o = {0};
    struct mr_worker_stats stats = {0, 0};
    bool verbose = false;
    struct mr_dworker_opts d = {0};
    o.addr = getenv(MR_ADDR_ENV);
    int opt;
    while ((opt = getopt(argc, argv, "+a:f:g:vhD:o:A:P:m:")) != -1) {
        switch (opt) {
        case 'h': usage_to(stdout, 0); break;
        case 'D': d.dir = optarg; break;
        case 'o': d.out_dir = optarg; break;
        case 'A': d.listen = optarg; break;
        case 'P': d.advertise = optarg; break;
        case 'm': d.mem_budget = (size_t)(parse_pos(optarg) * 1048576); break;
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
    if (argc - optind != 1 ||
        (!d.dir && (d.out_dir || d.listen || d.advertise || d.mem_budget)))
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
    int rc;
    if (d.dir) {
        d.addr = o.addr;
        d.addr_file = o.addr_file;
        d.gone_ms = o.gone_ms;
        d.verbose = verbose;
        d.stats = o.stats;
        rc = mr_dworker_run(&app, &d);
    } else {
        rc = mr_worker_run(&app, &o);
    }
    mr_app_unload(&app);
    if (verbose) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        fprintf(stderr, "mrworker: %d map and %d reduce tasks done, peak "
                "RSS %ld KB\n", stats.maps, stats.reduces, ru.ru_maxrss);
    }
    return rc == 0 ? 0 : 1;
}
