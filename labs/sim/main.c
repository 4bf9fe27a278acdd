/* main.c - raftsim's command line: run one seed or a range of seeds, print
 * progress and a summary. Wall-clock time is read here only, for the
 * events/s figure; it never reaches a schedule.
 *
 *   raftsim [--seeds N] [--seed S] [--peers N] [--steps M] [--verbose]
 *
 * --seed S alone replays schedule S; --seeds N runs N schedules starting
 * at --seed (default 1). --expect-violation (for the planted-bug builds)
 * stops at the first violation and succeeds only if there was one. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/daemon.h"
#include "labs/sim/sim.h"

static struct sim_world *the_world; /* for the fatal-signal handler */

/* A core assert() (or a crash) must not lose the seed: print the report,
 * best effort, then die of the same signal. */
static void on_fatal(int sig)
{
    sim_report_abort(the_world);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [--seeds N] [--seed S] [--peers N] [--steps M]\n"
            "          [--liveness-ms T] [--verbose] [--full-check]\n"
            "          [--stop] [--expect-violation] [--quiet]\n"
            "  --seeds N           run N schedules (default 1000, or 1 with "
            "--seed)\n"
            "  --seed S            first seed (default 1); alone: replay S\n"
            "  --peers N           cluster size (default: 3, 5 or 7 by "
            "seed)\n"
            "  --steps M           events in the fault phase (default %d)\n"
            "  --liveness-ms T     recovery bound after healing (default "
            "%d)\n"
            "  --verbose           print every event\n"
            "  --full-check        re-check whole logs after every event\n"
            "  --stop              stop at the first violation\n"
            "  --expect-violation  stop at the first violation; exit 0 iff "
            "one was found\n"
            "  --quiet             summary only\n",
            prog, SIM_DEFAULT_STEPS, SIM_DEFAULT_LIVENESS_MS);
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

struct totals {
    uint64_t runs, steps, sim_ms, messages, elections, committed, crashes,
        partitions, snapshots, violations;
};

static void add(struct totals *t, const struct sim_result *r)
{
    t->runs++;
    t->steps += r->steps;
    t->sim_ms += r->sim_ms;
    t->messages += r->messages;
    t->elections += r->elections;
    t->committed += r->committed;
    t->crashes += r->crashes;
    t->partitions += r->partitions;
    t->snapshots += r->snapshots;
    t->violations += r->violated;
}

static void progress(const struct totals *t, uint64_t of, double secs)
{
    printf("  %llu/%llu schedules, %llu steps, %llu violations, %.0f "
           "events/s\n", (unsigned long long)t->runs,
           (unsigned long long)of, (unsigned long long)t->steps,
           (unsigned long long)t->violations,
           secs > 0 ? (double)t->steps / secs : 0.0);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (daemon_help_or_version(argc, argv, "raftsim")) {
        usage(stdout, argv[0]);
        return 0;
    }
    struct sim_options opt = {
        .peers = 0,
        .steps = SIM_DEFAULT_STEPS,
        .liveness_ms = SIM_DEFAULT_LIVENESS_MS,
        .verbose = false,
        .full_check = false,
        .prog = argv[0],
    };
    uint64_t first = 1, count = 0, v;
    bool have_seed = false, expect = false, stop = false, quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--seeds") && parse_u64(val, &count) == 0 && count) {
            i++;
        } else if (!strcmp(a, "--seed") && parse_u64(val, &first) == 0) {
            have_seed = true;
            i++;
        } else if (!strcmp(a, "--peers") && parse_u64(val, &v) == 0 &&
                   v >= 1 && v <= 16) {
            opt.peers = (int)v;
            i++;
        } else if (!strcmp(a, "--steps") && parse_u64(val, &opt.steps) == 0) {
            i++;
        } else if (!strcmp(a, "--liveness-ms") &&
                   parse_u64(val, &opt.liveness_ms) == 0) {
            i++;
        } else if (!strcmp(a, "--verbose")) {
            opt.verbose = true;
        } else if (!strcmp(a, "--full-check")) {
            opt.full_check = true;
        } else if (!strcmp(a, "--stop")) {
            stop = true;
        } else if (!strcmp(a, "--expect-violation")) {
            expect = stop = true;
        } else if (!strcmp(a, "--quiet")) {
            quiet = true;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout, argv[0]);
            return 0;
        } else {
            fprintf(stderr, "%s: bad argument '%s'%s\n", argv[0], a,
                    val && a[0] == '-' ? " (or its value)" : "");
            usage(stderr, argv[0]);
            return 2;
        }
    }
    if (count == 0)
        count = have_seed ? 1 : 1000;

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fatal;
    sa.sa_flags = (int)SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGABRT, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);

    struct sim_world *w = sim_world_new();
    the_world = w;
    struct totals t;
    memset(&t, 0, sizeof(t));
    uint64_t every = count >= 20 ? count / 10 : 0, bad_seed = 0;
    const char *bad_invariant = NULL;
    uint64_t t0 = clock_now_ns();
    for (uint64_t k = 0; k < count; k++) {
        uint64_t seed = first + k;
        struct sim_result r;
        sim_run(w, seed, &opt, &r);
        add(&t, &r);
        if (count == 1 && !quiet)
            printf("seed %llu: %d peers, %llu steps, %llu ms simulated, "
                   "%llu messages, %llu elections, %llu committed, %llu "
                   "crashes, %llu snapshots installed: %s (digest "
                   "%016llx)\n",
                   (unsigned long long)seed, r.peers,
                   (unsigned long long)r.steps, (unsigned long long)r.sim_ms,
                   (unsigned long long)r.messages,
                   (unsigned long long)r.elections,
                   (unsigned long long)r.committed,
                   (unsigned long long)r.crashes,
                   (unsigned long long)r.snapshots,
                   r.violated ? r.invariant : "ok",
                   (unsigned long long)r.digest);
        if (r.violated && !bad_invariant) {
            bad_seed = seed;
            bad_invariant = r.invariant;
        }
        if (r.violated && stop)
            break;
        if (every && (k + 1) % every == 0 && !quiet)
            progress(&t, count, (double)(clock_now_ns() - t0) / 1e9);
    }
    double secs = (double)(clock_now_ns() - t0) / 1e9;
    the_world = NULL;
    sim_world_free(w);

    printf("raftsim: %llu schedules, %llu steps (%llu messages, %llu "
           "elections, %llu crashes, %llu partitions, %llu snapshots "
           "installed, %.0f s simulated), %llu violations; %.1f s, %.0f "
           "events/s, %.0f schedules/min\n",
           (unsigned long long)t.runs, (unsigned long long)t.steps,
           (unsigned long long)t.messages, (unsigned long long)t.elections,
           (unsigned long long)t.crashes, (unsigned long long)t.partitions,
           (unsigned long long)t.snapshots, (double)t.sim_ms / 1000.0,
           (unsigned long long)t.violations, secs,
           secs > 0 ? (double)t.steps / secs : 0.0,
           secs > 0 ? (double)t.runs * 60.0 / secs : 0.0);
    if (t.violations)
        printf("raftsim: first violation: %s at seed %llu (replay: %s --seed "
               "%llu)\n", bad_invariant, (unsigned long long)bad_seed,
               argv[0], (unsigned long long)bad_seed);
    if (expect) {
        if (t.violations) {
            printf("teeth: %s caught the planted bug: %s after %llu "
                   "schedule(s) (seed %llu)\n", argv[0], bad_invariant,
                   (unsigned long long)t.runs, (unsigned long long)bad_seed);
            return 0;
        }
        printf("teeth: %s found NO violation in %llu schedules: the checker "
               "missed the planted bug\n", argv[0],
               (unsigned long long)t.runs);
        return 1;
    }
    return t.violations ? 1 : 0;
}
