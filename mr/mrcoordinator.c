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
#include "mr/mr.h"
#include "mr/mr_internal.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

/* Print the usage (to stdout for --help, rc 0) and exit with rc. */
static void usage(int rc)
{
    FILE *f = rc ? stderr : stdout;
    fprintf(f, "Usage: mrcoordinator inputfiles...\n");
    fprintf(f,
            "options:\n"
            "  -a ADDR   listen address: host:port (port 0 = any free port)\n"
            "            or unix:PATH; default $" MR_ADDR_ENV " or "
            MR_DEFAULT_ADDR "\n"
            "  -f FILE   write the bound address to FILE (removed at exit);\n"
            "            workers can read it with mrworker -f FILE\n"
            "  -r N      number of reduce tasks (default %d)\n"
            "  -t SEC    re-issue a task not done after SEC seconds "
            "(default %d)\n"
            "  -l SEC    linger after the job is done (default 1)\n"
            "  -v        print progress to stderr\n",
            MR_DEFAULT_NREDUCE, MR_DEFAULT_TASK_TIMEOUT_MS / 1000);
    exit(rc);
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

int main(int argc, char **argv)
{
    if (daemon_help_or_version(argc, argv, "mrcoordinator"))
        usage(0);
    const char *addr = getenv(MR_ADDR_ENV);
    const char *addr_file = NULL;
    struct mr_coord_opts o = {0};
    double linger = 1.0;
    bool verbose = false;
    int opt;
    while ((opt = getopt(argc, argv, "+a:f:r:t:l:vh")) != -1) {
        switch (opt) {
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
    if (nfiles < 1)
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

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    uint64_t t0 = clock_now_ms();
    while (!mr_coord_wait(c, 200) && !stop_signal)
        ;
    int status = 0;
    char why[600];
    if (stop_signal) {
        fprintf(stderr, "mrcoordinator: stopped by signal %d before the "
                "job finished\n", (int)stop_signal);
        status = 1;
    } else {
        if (mr_coord_failed(c, why, sizeof why)) {
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
    }
    if (addr_file)
        unlink(addr_file);
    mr_coord_free(c);
    return status;
}
