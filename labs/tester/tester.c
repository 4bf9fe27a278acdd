/* tester.c - registry/main, seeds, fatal failures, watchdog, summary lines
 * for the graded lab tests (see tester.h). */
#include "labs/tester/tester.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/rand.h"
#include "labs/timeline/timeline.h"

/* The harness state. Written by the main thread between tests; read by any
 * thread during a test (the fields a test reads do not change while it
 * runs), except where a lock is named. */
static struct {
    const char *argv0;
    const char *lab;
    uint64_t run_seed;
    unsigned timeout_s; /* 0 = no limit */
    bool verbose;

    const char *test_name; /* NULL between tests */
    uint64_t test_seed;
    uint64_t test_start_ns;
    _Atomic uint64_t begin_ns;

    pthread_mutex_t rng_mu; /* guards rng */
    struct rng rng;

    pthread_mutex_t out_mu; /* whole lines on stdout */

    pthread_mutex_t dump_mu; /* guards dump, dump_ctx */
    void (*dump)(void *ctx);
    void *dump_ctx;

    /* watchdog: wd_mu guards the wd_ fields */
    pthread_mutex_t wd_mu;
    pthread_cond_t wd_cond;
    pthread_t wd_thread;
    bool wd_started;
    bool wd_quit;
    uint64_t wd_deadline_ns; /* 0 = disarmed */
    uint64_t inject_ns;      /* TESTER_INJECT_FAIL deadline, 0 = none */
} T = {
    .rng_mu = PTHREAD_MUTEX_INITIALIZER,
    .out_mu = PTHREAD_MUTEX_INITIALIZER,
    .dump_mu = PTHREAD_MUTEX_INITIALIZER,
    .wd_mu = PTHREAD_MUTEX_INITIALIZER,
    .timeout_s = TESTER_DEFAULT_TIMEOUT_S,
};

static atomic_int fatal_started;

/* ---- small helpers --------------------------------------------------------- */

static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

const char *tester_test_name(void) { return T.test_name ? T.test_name : ""; }
uint64_t tester_seed(void) { return T.test_seed; }

uint64_t tester_derive_seed(uint64_t stream)
{
    return rng_derive(T.test_seed, stream + 1);
}

double tester_test_elapsed(void)
{
    return (double)(clock_now_ns() - T.test_start_ns) / 1e9;
}

/* ---- randomness -------------------------------------------------------------- */

int64_t tester_rand_int(void)
{
    pthread_mutex_lock(&T.rng_mu);
    uint64_t x = rng_next(&T.rng);
    pthread_mutex_unlock(&T.rng_mu);
    return (int64_t)(x >> 1);
}

int32_t tester_rand_int31(void)
{
    pthread_mutex_lock(&T.rng_mu);
    uint64_t x = rng_next(&T.rng);
    pthread_mutex_unlock(&T.rng_mu);
    return (int32_t)(x >> 33);
}

uint64_t tester_rand_below(uint64_t n)
{
    pthread_mutex_lock(&T.rng_mu);
    uint64_t x = rng_below(&T.rng, n);
    pthread_mutex_unlock(&T.rng_mu);
    return x;
}

void tester_randstring(char *buf, size_t n)
{
    pthread_mutex_lock(&T.rng_mu);
    rng_alnum(&T.rng, buf, n);
    pthread_mutex_unlock(&T.rng_mu);
    buf[n] = '\0';
}

/* ---- output ---------------------------------------------------------------------- */

void tester_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&T.out_mu);
    vfprintf(stdout, fmt, ap);
    fflush(stdout);
    pthread_mutex_unlock(&T.out_mu);
    va_end(ap);
}

void tester_begin(const char *desc)
{
    tester_printf("%s ...\n", desc);
    /* Mark the debug log (if on) so a trace shows where the test starts. */
    log_info("TEST", -1, "%s ... (%s, seed %" PRIu64 ")", desc,
             tester_test_name(), T.run_seed);
    atomic_store(&T.begin_ns, clock_now_ns());
}

double tester_begin_elapsed(void)
{
    return (double)(clock_now_ns() - atomic_load(&T.begin_ns)) / 1e9;
}

void tester_passed(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&T.out_mu);
    fputs("  ... Passed --", stdout);
    vfprintf(stdout, fmt, ap);
    fflush(stdout);
    pthread_mutex_unlock(&T.out_mu);
    va_end(ap);
}

/* ---- failure ------------------------------------------------------------------------ */

void tester_set_dump(void (*dump)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&T.dump_mu);
    T.dump = dump;
    T.dump_ctx = ctx;
    pthread_mutex_unlock(&T.dump_mu);
}

noreturn void tester_vfatal_at(const char *file, int line, const char *fmt,
                               va_list ap)
{
    if (atomic_exchange(&fatal_started, 1)) {
        /* Another thread is already reporting; it will exit the process. */
        for (;;)
            pause();
    }
    /* Take the output lock if we can, but never wait forever: the failing
     * thread may be the one holding it. */
    bool locked = false;
    for (int i = 0; i < 100 && !locked; i++) {
        locked = pthread_mutex_trylock(&T.out_mu) == 0;
        if (!locked)
            clock_sleep_ms(10);
    }
    char msg[4096];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (T.test_name) {
        fprintf(stdout, "--- FAIL: %s (%.2fs)\n", T.test_name,
                tester_test_elapsed());
        if (file)
            fprintf(stdout, "    %s:%d: %s\n", base_name(file), line, msg);
        else
            fprintf(stdout, "    %s\n", msg);
    } else {
        fprintf(stdout, "%s: %s\n", T.lab ? T.lab : "tester", msg);
    }
    fflush(stdout);
    if (T.test_name)
        timeline_fail(file ? base_name(file) : NULL, line, msg);
    if (log_enabled(LOG_INFO, "TEST"))
        log_printf(LOG_INFO, "TEST", -1, "FAIL %s: %s", tester_test_name(), msg);

    void (*dump)(void *) = NULL;
    void *dump_ctx = NULL;
    if (pthread_mutex_trylock(&T.dump_mu) == 0) {
        dump = T.dump;
        dump_ctx = T.dump_ctx;
        pthread_mutex_unlock(&T.dump_mu);
    }
    if (dump && T.test_name) {
        dump(dump_ctx);
        fflush(stdout);
    }
    if (T.test_name)
        fprintf(stdout, "    seed: %" PRIu64 "; replay: %s --seed %" PRIu64
                " %s\n", T.run_seed, T.argv0, T.run_seed, T.test_name);
    fputs("FAIL\n", stdout);
    fflush(stdout);
    fflush(stderr);
    /* Like log.Fatalf: no cleanup, no leak report; the process is the unit
     * of isolation. */
    _exit(1);
}

noreturn void tester_fatal_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tester_vfatal_at(file, line, fmt, ap);
}

void tester_check_timeout(void)
{
    if (T.timeout_s && T.test_name &&
        clock_now_ns() - T.test_start_ns > (uint64_t)T.timeout_s * 1000000000ull)
        tester_fatalf("test took longer than %u seconds", T.timeout_s);
}

/* ---- watchdog ---------------------------------------------------------------- */

static void *watchdog_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&T.wd_mu);
    while (!T.wd_quit) {
        if (T.wd_deadline_ns == 0) {
            pthread_cond_wait(&T.wd_cond, &T.wd_mu);
            continue;
        }
        uint64_t deadline = T.wd_deadline_ns;
        if (T.inject_ns && T.inject_ns < deadline)
            deadline = T.inject_ns;
        if (clock_now_ns() >= deadline) {
            bool injected = deadline == T.inject_ns;
            pthread_mutex_unlock(&T.wd_mu);
            if (injected)
                tester_fatal_at(NULL, 0, "injected failure at %.1f s "
                                "(TESTER_INJECT_FAIL)", tester_test_elapsed());
            tester_fatal_at(NULL, 0, "test took longer than %u seconds",
                            T.timeout_s);
        }
        clock_cond_wait_until(&T.wd_cond, &T.wd_mu, deadline);
    }
    pthread_mutex_unlock(&T.wd_mu);
    return NULL;
}

static void watchdog_arm(uint64_t deadline_ns, uint64_t inject_ns)
{
    pthread_mutex_lock(&T.wd_mu);
    if (!T.wd_started) {
        clock_cond_init(&T.wd_cond);
        if (pthread_create(&T.wd_thread, NULL, watchdog_main, NULL) != 0) {
            perror("tester: pthread_create");
            abort();
        }
        T.wd_started = true;
    }
    T.wd_deadline_ns = deadline_ns;
    T.inject_ns = inject_ns;
    pthread_cond_signal(&T.wd_cond);
    pthread_mutex_unlock(&T.wd_mu);
}

static void watchdog_stop(void)
{
    pthread_mutex_lock(&T.wd_mu);
    bool started = T.wd_started;
    T.wd_quit = true;
    if (started)
        pthread_cond_signal(&T.wd_cond);
    pthread_mutex_unlock(&T.wd_mu);
    if (started) {
        pthread_join(T.wd_thread, NULL);
        pthread_cond_destroy(&T.wd_cond);
    }
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s [--seed N] [--timeout S] [-v] [-run REGEX] [Test...]\n"
            "       %s --list\n"
            "Runs the named tests (default: all) one after another in this\n"
            "process; test-scripts/run-lab.py runs each in its own process.\n"
            "  --seed N     replay a run (each test derives its seed from N)\n"
            "  --timeout S  per-test limit in seconds (default %d, 0 = none)\n"
            "  -run REGEX   run the tests whose names match (like go test)\n"
            "  -v           print === RUN / --- PASS lines\n",
            T.argv0, T.argv0, TESTER_DEFAULT_TIMEOUT_S);
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-')
        return false;
    *out = v;
    return true;
}

static void run_one(const struct tester_test *t)
{
    T.test_name = t->name;
    T.test_seed = rng_derive(T.run_seed, name_hash(t->name));
    pthread_mutex_lock(&T.rng_mu);
    rng_seed(&T.rng, T.test_seed);
    pthread_mutex_unlock(&T.rng_mu);
    T.test_start_ns = clock_now_ns();
    atomic_store(&T.begin_ns, T.test_start_ns);
    if (T.verbose)
        tester_printf("=== RUN   %s\n", t->name);
    timeline_test_begin(t->name, T.run_seed);
    /* A failure on demand, so the timeline tools can be tested on real
     * runs: the watchdog fails the test after that many seconds. */
    const char *inject = getenv("TESTER_INJECT_FAIL");
    uint64_t inject_ns = 0;
    if (inject && *inject)
        inject_ns = T.test_start_ns + (uint64_t)(atof(inject) * 1e9);
    if (T.timeout_s || inject_ns)
        watchdog_arm(T.timeout_s ? T.test_start_ns +
                                       (uint64_t)T.timeout_s * 1000000000ull
                                 : UINT64_MAX / 2,
                     inject_ns);

    t->fn();

    tester_check_timeout();
    if (T.wd_started)
        watchdog_arm(0, 0);
    if (T.verbose)
        tester_printf("--- PASS: %s (%.2fs)\n", t->name, tester_test_elapsed());
    tester_set_dump(NULL, NULL);
    T.test_name = NULL;
}

int tester_main(int argc, char **argv, const char *lab,
                const struct tester_test *tests, size_t ntests)
{
    T.argv0 = argc > 0 ? argv[0] : lab;
    T.lab = lab;
    /* Output goes to a pipe under the runner: keep it line-buffered so it
     * streams and nothing is lost when a failure _exit()s. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    timeline_init();

    bool have_seed = false, list = false;
    const char *run_re = NULL;
    bool *chosen = calloc(ntests ? ntests : 1, sizeof(bool));
    size_t nchosen = 0;
    if (!chosen)
        abort();

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        /* Options with a value accept "--opt V" and "--opt=V". */
        static const char *const valopts[] = {"--seed", "--timeout", "-run",
                                              "--run"};
        const char *opt = NULL, *val = NULL;
        for (size_t o = 0; o < sizeof(valopts) / sizeof(valopts[0]); o++) {
            size_t n = strlen(valopts[o]);
            if (strncmp(a, valopts[o], n) == 0 && (a[n] == '\0' || a[n] == '=')) {
                opt = valopts[o];
                if (a[n] == '=') {
                    val = a + n + 1;
                } else if (i + 1 < argc) {
                    val = argv[++i];
                } else {
                    fprintf(stderr, "%s: %s needs a value\n", lab, a);
                    goto usage_error;
                }
                break;
            }
        }
        if (opt && strcmp(opt, "--seed") == 0) {
            if (!parse_u64(val, &T.run_seed)) {
                fprintf(stderr, "%s: bad seed '%s'\n", lab, val);
                goto usage_error;
            }
            have_seed = true;
        } else if (opt && strcmp(opt, "--timeout") == 0) {
            uint64_t s;
            if (!parse_u64(val, &s) || s > 86400) {
                fprintf(stderr, "%s: bad timeout '%s'\n", lab, val);
                goto usage_error;
            }
            T.timeout_s = (unsigned)s;
        } else if (opt) {
            run_re = val;
        } else if (strcmp(a, "--list") == 0) {
            list = true;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            T.verbose = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            free(chosen);
            return 0;
        } else if (a[0] == '-') {
            fprintf(stderr, "%s: unknown option '%s'\n", lab, a);
            usage(stderr);
            goto usage_error;
        } else {
            size_t k;
            for (k = 0; k < ntests; k++)
                if (strcmp(tests[k].name, a) == 0)
                    break;
            if (k == ntests) {
                fprintf(stderr, "%s: no test named '%s' (see --list)\n", lab, a);
                goto usage_error;
            }
            if (!chosen[k])
                nchosen++;
            chosen[k] = true;
        }
    }

    if (list) {
        for (size_t k = 0; k < ntests; k++)
            printf("%s\n", tests[k].name);
        free(chosen);
        return 0;
    }

    if (run_re) {
        regex_t re;
        if (regcomp(&re, run_re, REG_EXTENDED | REG_NOSUB) != 0) {
            fprintf(stderr, "%s: bad regex '%s'\n", lab, run_re);
            goto usage_error;
        }
        for (size_t k = 0; k < ntests; k++)
            if (!chosen[k] && regexec(&re, tests[k].name, 0, NULL, 0) == 0) {
                chosen[k] = true;
                nchosen++;
            }
        regfree(&re);
        if (nchosen == 0) {
            fprintf(stderr, "%s: no test matches '%s'\n", lab, run_re);
            goto usage_error;
        }
    } else if (nchosen == 0) {
        for (size_t k = 0; k < ntests; k++)
            chosen[k] = true;
    }

    if (!have_seed)
        T.run_seed = rng_os_seed() >> 1; /* keep it printable as int64 too */
    printf("seed: %" PRIu64 "\n", T.run_seed);
    fflush(stdout);

    /* Tests run in file order, whatever the order of the arguments. */
    for (size_t k = 0; k < ntests; k++)
        if (chosen[k])
            run_one(&tests[k]);

    watchdog_stop();
    free(chosen);
    printf("PASS\n");
    fflush(stdout);
    return 0;

usage_error:
    free(chosen);
    return 2;
}

void tester_spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 512 * 1024);
    int rc = pthread_create(t, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        tester_fatalf("pthread_create failed: %s", strerror(rc));
}
