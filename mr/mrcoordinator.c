/* mrcoordinator.c - `mrcoordinator [options] inputfiles...`: serve one
 * MapReduce job (one map task per input file) to mrworker processes, exit
 * once every mr-out-* is final (after lingering about a second so workers
 * learn the job is done, as 6.5840's main does). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"
#include "mr/dist.h"
#include "mr/mr.h"
#include "mr/mr_internal.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void usage_to(FILE *out, int status)
{
    fprintf(out, "Usage: mrcoordinator inputfiles...\n");
    fprintf(out,
            "options:\n"
            "  -a ADDR   listen address: host:port (port 0 = any free port)\n"
            "            or unix:PATH; default $" MR_ADDR_ENV " or "
            MR_DEFAULT_ADDR "\n"
            "  -f FILE   write the bound address to FILE (removed at exit);\n"
            "            workers can read it with mrworker -f FILE\n"
            "  -r N      number of reduce tasks (default %d)\n"
            "  -t SEC    re-issue a task not done after SEC seconds "
            "(default %d;\n"
            "            shared-directory mode only)\n"
            "  -l SEC    linger after the job is done (default 1)\n"
            "  -v        print progress to stderr\n"
            "distributed mode (no shared directory; workers run mrworker "
            "-D DIR):\n"
            "  -D        serve inputs and track map outputs over RPC\n"
            "  -s MB     input split size in MiB (default %u); splits end "
            "at a newline\n"
            "  -b FRAC   back up in-progress tasks once at most FRAC of a "
            "phase's\n"
            "            tasks is left (default %.2f; 0 = no backup tasks)\n"
            "  -L SEC    a worker silent this long is dead and its map "
            "outputs are\n"
            "            recomputed (default %d)\n"
            "  -h, --help  this text\n",
            MR_DEFAULT_NREDUCE, MR_DEFAULT_TASK_TIMEOUT_MS / 1000,
            MR_DIST_DEFAULT_SPLIT >> 20, MR_DIST_DEFAULT_BACKUP,
            MR_DIST_DEFAULT_LEASE_MS / 1000);
    exit(status);
}

/* Print the usage (to stdout for --help, rc 0) and exit with rc. */
static void usage(int rc)
{
    usage_to(rc ? stderr : stdout, rc);
}

static double parse_secs(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < 0 || v > 1e6)
        usage(1);
    return v;
}

/* Why listening on addr failed, for the message: the RPC layer says only
 * "bad address" or "I/O error", so try the bind ourselves to get errno
 * (address in use, not available on this host, permission denied...). */
static const char *listen_why(const char *addr, int rc)
{
    if (rc == ERR_ADDR)
        return err_msg(rc);
    int fd = -1, e = 0;
    if (strncmp(addr, "unix:", 5) == 0) {
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof sa);
        sa.sun_family = AF_UNIX;
        if (strlen(addr + 5) >= sizeof sa.sun_path)
            return "socket path too long";
        strcpy(sa.sun_path, addr + 5);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
            e = errno;
        else if (fd >= 0)
            unlink(sa.sun_path);
    } else {
        char host[256];
        const char *colon = strrchr(addr, ':');
        if (!colon || (size_t)(colon - addr) >= sizeof host)
            return err_msg(rc);
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = 0;
        char *h = host;
        if (h[0] == '[') { /* [v6addr]:port */
            h++;
            h[strcspn(h, "]")] = 0;
        }
        struct addrinfo hints, *ai = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE;
        if (getaddrinfo(h[0] ? h : NULL, colon + 1, &hints, &ai) != 0 || !ai)
            return "cannot resolve the host";
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd >= 0)
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (fd >= 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
            e = errno;
        freeaddrinfo(ai);
    }
    if (fd >= 0)
        close(fd);
    return e ? strerror(e) : err_msg(rc);
}

/* Write the address atomically so a reader never sees half of it. */
static int write_addr_file(const char *path, const char *addr)
{
    struct mr_outfile f;
    if (mr_out_open(&f, path) != 0)
        return ERR_IO;
    mr_out_write(&f, addr, strlen(addr));
    mr_out_write(&f, "\n", 1);
    return mr_out_commit(&f);
}

/* Wait for the end of the job (or a signal), report, linger. */
static int wait_job(void *c, bool (*wait)(void *, uint64_t),
                    bool (*failed)(void *, char *, size_t), double linger,
                    bool verbose)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    uint64_t t0 = clock_now_ms();
    while (!wait(c, 200) && !stop_signal)
        ;
    int status = 0;
    char why[600];
    if (stop_signal) {
        fprintf(stderr, "mrcoordinator: stopped by signal %d before the "
                "job finished\n", (int)stop_signal);
        return 1;
    }
    if (failed(c, why, sizeof why)) {
        fprintf(stderr, "mrcoordinator: job failed: %s\n", why);
        status = 1;
    } else if (verbose) {
        fprintf(stderr, "mrcoordinator: job done in %.2f s\n",
                (double)(clock_now_ms() - t0) / 1000.0);
    }
    /* Workers asking now are told to exit. */
    uint64_t until = clock_now_ms() + (uint64_t)(linger * 1000);
    while (!stop_signal && clock_now_ms() < until)
        clock_sleep_ms(50);
    return status;
}

static bool lab_wait(void *c, uint64_t ms) { return mr_coord_wait(c, ms); }
static bool lab_failed(void *c, char *m, size_t n)
{
    return mr_coord_failed(c, m, n);
}
static bool dist_wait(void *c, uint64_t ms) { return mr_dcoord_wait(c, ms); }
static bool dist_failed(void *c, char *m, size_t n)
{
    return mr_dcoord_failed(c, m, n);
}

static int run_dist(const char *const *files, int nfiles,
                    const struct mr_dcoord_opts *d, const char *addr,
                    const char *addr_file, double linger, bool verbose)
{
    char msg[1024];
    struct mr_dcoord *c = mr_dcoord_new(files, nfiles, d, msg, sizeof msg);
    if (!c) {
        fprintf(stderr, "mrcoordinator: %s\n", msg);
        return 1;
    }
    int rc = mr_dcoord_listen(c, addr);
    if (rc != 0) {
        fprintf(stderr, "mrcoordinator: cannot listen on %s: %s\n", addr,
                listen_why(addr, rc));
        mr_dcoord_free(c);
        return 1;
    }
    if (addr_file && write_addr_file(addr_file, mr_dcoord_addr(c)) != 0) {
        fprintf(stderr, "mrcoordinator: cannot write %s: %s\n", addr_file,
                strerror(errno));
        mr_dcoord_free(c);
        return 1;
    }
    if (verbose)
        fprintf(stderr, "mrcoordinator: distributed mode, listening on %s: "
                "%d map tasks (splits), %d reduce tasks\n", mr_dcoord_addr(c),
                mr_dcoord_nmap(c), d->nreduce ? d->nreduce
                                              : MR_DEFAULT_NREDUCE);
    int status = wait_job(c, dist_wait, dist_failed, linger, verbose);
    struct mr_dcoord_stats st;
    mr_dcoord_stats(c, &st);
    if (verbose)
        fprintf(stderr, "mrcoordinator: %d task executions, %d backups, "
                "%d workers dead, %d map tasks re-run\n", st.started,
                st.backups, st.dead, st.reruns);
    if (addr_file)
        unlink(addr_file);
    mr_dcoord_free(c);
    return status;
}

int main(int argc, char **argv)
{
    if (daemon_help_or_version(argc, argv, "mrcoordinator"))
        usage(0);
    const char *addr = getenv(MR_ADDR_ENV);
    const char *addr_file = NULL;
    struct mr_coord_opts o = {0};
    struct mr_dcoord_opts d = {.backup_frac = -1};
    bool dist = false, dist_flags = false;
    double linger = 1.0;
    bool verbose = false;
    int opt;
    while ((opt = getopt(argc, argv, "+a:f:r:t:l:vhDs:b:L:")) != -1) {
        switch (opt) {
        case 'h': usage_to(stdout, 0); break;
        case 'D': dist = true; break;
        case 's': {
            double mb = parse_secs(optarg);
            d.split_bytes = (uint64_t)(mb * 1048576);
            if (!d.split_bytes)
                usage(1);
            dist_flags = true;
            break;
        }
        case 'b': {
            double f = parse_secs(optarg);
            if (f > 1)
                usage(1);
            d.backup_frac = f;
            dist_flags = true;
            break;
        }
        case 'L':
            d.lease_ms = (uint64_t)(parse_secs(optarg) * 1000);
            if (!d.lease_ms)
                usage(1);
            dist_flags = true;
            break;
        case 'a': addr = optarg; break;
        case 'f': addr_file = optarg; break;
        case 'r': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > 100000)
                usage(1);
            o.nreduce = (int)n;
            break;
        }
        case 't': {
            double s = parse_secs(optarg);
            o.task_timeout_ms = (uint64_t)(s * 1000);
            if (!o.task_timeout_ms)
                usage(1);
            break;
        }
        case 'l': linger = parse_secs(optarg); break;
        case 'v': verbose = true; break;
        default: usage(1);
        }
    }
    int nfiles = argc - optind;
    if (nfiles < 1 || (dist_flags && !dist))
        usage(1);
    if (!addr || !*addr)
        addr = MR_DEFAULT_ADDR;
    log_init();
    if (!getenv("LABLOG"))
        log_set_level(LOG_WARN);
    signal(SIGPIPE, SIG_IGN);

    /* Fail early and clearly on inputs no worker could read. */
    for (int i = optind; i < argc; i++) {
        struct stat st;
        int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
            errno = EISDIR;
        else if (fd >= 0)
            errno = 0;
        if (fd >= 0)
            close(fd);
        if (fd < 0 || errno == EISDIR) {
            fprintf(stderr, "mrcoordinator: cannot read %s: %s\n", argv[i],
                    strerror(errno));
            return 1;
        }
    }

    if (dist) {
        d.nreduce = o.nreduce;
        return run_dist((const char *const *)argv + optind, nfiles, &d, addr,
                        addr_file, linger, verbose);
    }
    struct mr_coord *c =
        mr_coord_new((const char *const *)argv + optind, nfiles, &o);
    if (!c)
        usage(1);
    int rc = mr_coord_listen(c, addr);
    if (rc == ERR_EXISTS) {
        fprintf(stderr, "mrcoordinator: another coordinator is already "
                "listening on %s\n", addr);
        mr_coord_free(c);
        return 1;
    }
    if (rc != 0) {
        fprintf(stderr, "mrcoordinator: cannot listen on %s: %s%s\n", addr,
                listen_why(addr, rc),
                rc == ERR_ADDR ? " (use host:port or unix:PATH)"
                               : "; choose another address with -a or $"
                                 MR_ADDR_ENV);
        mr_coord_free(c);
        return 1;
    }
    if (addr_file && write_addr_file(addr_file, mr_coord_addr(c)) != 0) {
        fprintf(stderr, "mrcoordinator: cannot write %s: %s\n", addr_file,
                strerror(errno));
        mr_coord_free(c);
        return 1;
    }
    if (verbose)
        fprintf(stderr, "mrcoordinator: listening on %s: %d map tasks, %d "
                "reduce tasks\n", mr_coord_addr(c), nfiles,
                o.nreduce ? o.nreduce : MR_DEFAULT_NREDUCE);

    int status = wait_job(c, lab_wait, lab_failed, linger, verbose);
    if (addr_file)
        unlink(addr_file);
    mr_coord_free(c);
    return status;
}
