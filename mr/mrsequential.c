/* mrsequential.c - `mrsequential xxx.so inputfiles...`: the simple
 * sequential MapReduce, whose mr-out-0 is the reference output the tests
 * compare the distributed runs against. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/daemon.h"
#include "mr/mr.h"
#include "mr/mr_internal.h"

/* Print the usage (to stdout for --help, rc 0) and exit with rc. */
static void usage(int rc)
{
    FILE *f = rc ? stderr : stdout;
    fprintf(f, "Usage: mrsequential xxx.so inputfiles...\n");
    fprintf(f, "options:\n"
                    "  -o FILE   output file (default mr-out-0)\n");
    exit(rc);
}

int main(int argc, char **argv)
{
    if (daemon_help_or_version(argc, argv, "mrsequential"))
        usage(0);
    const char *out = "mr-out-0";
    int opt;
    while ((opt = getopt(argc, argv, "+o:h")) != -1) {
        switch (opt) {
        case 'o': out = optarg; break;
        default: usage(1);
        }
    }
    if (argc - optind < 2)
        usage(1);
    mr_tune_malloc();
    struct mr_app app;
    char msg[1024];
    if (mr_app_load(&app, argv[optind], msg, sizeof msg) != 0) {
        fprintf(stderr, "mrsequential: %s\n", msg);
        return 1;
    }
    int rc = mr_sequential(&app, (const char *const *)argv + optind + 1,
                           argc - optind - 1, out, msg, sizeof msg);
    mr_app_unload(&app);
    if (rc != 0) {
        fprintf(stderr, "mrsequential: %s\n", msg);
        return 1;
    }
    return 0;
}
