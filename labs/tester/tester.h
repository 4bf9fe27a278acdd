/* tester.h - generic harness for the graded lab tests: a test registry and
 * main(), seeds, fatal failures, a per-test watchdog and summary lines.
 *
 * Every lab test binary (lab2, lab3, lab4, lab5) is
 *
 *   static const struct tester_test tests[] = {
 *       {"TestInitialElection3A", "3A", test_initial_election},
 *       ...
 *   };
 *   int main(int argc, char **argv)
 *   {
 *       return tester_main(argc, argv, "lab3", tests,
 *                          sizeof(tests) / sizeof(tests[0]));
 *   }
 *
 * and then supports
 *   lab3 --list                  test names in file order
 *   lab3 [--seed N] Test...      run those tests, in this process
 *   lab3 [--seed N] -run REGEX   run the tests whose name matches (go test -run)
 *   lab3 --timeout S             per-test limit (default 120; 0 = none)
 * It always prints "seed: N" first; each test's randomness is derived from
 * (N, test name), so "lab3 --seed N TestX" replays TestX's random choices
 * (thread interleavings still vary). Process isolation per test is the
 * runner's job (test-scripts/run-lab.py), as is the 600 s budget per lab.
 *
 * A failure is fatal to the process, like log.Fatalf in the Go tester:
 * tester_fatalf() prints "--- FAIL: TestX (1.23s)", the message with its
 * file:line, the seed and a replay command, then exits with status 1. It
 * may be called from any thread. A test passes by returning.
 *
 * How a failure message speaks (students read it without the test source):
 * its first line says, in plain words, what went wrong and the likely cause
 * ("an Append was applied twice: ... - was a retransmitted request executed
 * again?"), every number labelled and limits stated; the runner prints that
 * line alone in its summary. Details (values, per-server state) go on
 * further lines, indented, and stay in the log.
 *
 * Each test's run is recorded (labs/timeline/timeline.h); a failure writes
 * the record to $LAB_TIMELINE for the runner's HTML timeline. For testing
 * those tools, TESTER_INJECT_FAIL=S makes the watchdog fail every test
 * that is still running S seconds after it started. */
#ifndef LABS_TESTER_TESTER_H_
#define LABS_TESTER_TESTER_H_

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>

/* Per-test wall-clock limit of labs 2-5 (graded-tests.md §3.3). */
#define TESTER_DEFAULT_TIMEOUT_S 120

struct tester_test {
    const char *name; /* "TestInitialElection3A" */
    const char *part; /* "3A" (informational; the runner filters by name) */
    void (*fn)(void);
};

/* Parse the command line, run the chosen tests in order, return the exit
 * status (0: all passed, 2: usage error; a failure never returns). `lab` is
 * the binary's short name, used in messages. tests is borrowed. */
int tester_main(int argc, char **argv, const char *lab,
                const struct tester_test *tests, size_t ntests);

/* ---- the running test ---------------------------------------------------- */

/* Name of the running test ("" outside a test). */
const char *tester_test_name(void);
/* The running test's seed (derived from the run seed and the name). */
uint64_t tester_seed(void);
/* An independent child seed of the running test's seed, e.g. for the
 * simulated network, so its choices follow the test seed too. */
uint64_t tester_derive_seed(uint64_t stream);
/* Seconds since the running test started. */
double tester_test_elapsed(void);

/* ---- randomness (thread-safe, seeded from the test seed) ----------------- */

/* Go's rand.Int(): uniform non-negative 63-bit integer. */
int64_t tester_rand_int(void);
/* Go's rand.Int31(). */
int32_t tester_rand_int31(void);
/* Uniform in [0, n); 0 if n == 0. */
uint64_t tester_rand_below(uint64_t n);
/* n random letters/digits into buf, then a NUL (buf holds n+1 bytes). Used
 * for labrpc end names and string commands (Go's randstring). */
void tester_randstring(char *buf, size_t n);

/* ---- failure --------------------------------------------------------------- */

/* Report a failure of the running test and exit(1); see the header
 * comment. Thread-safe: the first caller wins, later callers block. */
noreturn void tester_fatal_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
noreturn void tester_vfatal_at(const char *file, int line, const char *fmt,
                               va_list ap) __attribute__((format(printf, 3, 0)));
#define tester_fatalf(...) tester_fatal_at(__FILE__, __LINE__, __VA_ARGS__)

/* A lab config may register one function that prints its state (which
 * servers are up/connected, what they applied...) after the failure
 * message: students see the situation without rerunning with logs. It runs
 * on the failing thread, possibly while that thread holds the config's
 * lock, so it must only try-lock. NULL removes it. */
void tester_set_dump(void (*dump)(void *ctx), void *ctx);

/* Fail with "test took longer than <limit> seconds" if the running test
 * has exceeded its limit (the Go tester's checkTimeout(); the watchdog
 * thread also fires by itself at the limit, so a hung test ends too). */
void tester_check_timeout(void);

/* Start a test thread (clerk, churner, ...) with a 512 KiB stack: tests
 * start hundreds at once, and the default 8 MiB reservations add up under
 * the sanitizers. Fails the test if the thread cannot be created. */
void tester_spawn(pthread_t *t, void *(*fn)(void *), void *arg);

/* ---- summary lines ------------------------------------------------------- */

/* Print "<desc> ...\n" (e.g. "Test (3A): initial election ...") and start
 * the clock that tester_begin_elapsed() reads. */
void tester_begin(const char *desc);
/* Seconds since tester_begin(). */
double tester_begin_elapsed(void);
/* Print "  ... Passed --" followed by the lab's formatted statistics, e.g.
 * tester_passed("  %4.1f  %d %4d %7d %4d\n", t, npeers, nrpc, nbytes, n). */
void tester_passed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* printf to stdout with the harness's output lock (lines from concurrent
 * threads stay whole), e.g. for warnings. */
void tester_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* LABS_TESTER_TESTER_H_ */
