/* test_persist_crash.c - the crash-point test of the file-backed
 * persister: a child process runs a fixed workload of log-view writes
 * (appends, truncations, heads, snapshots; a sync after every few, each
 * acknowledged on a pipe once it returns) and is killed at the n-th I/O
 * boundary, for every n until the workload completes: before each write,
 * fsync, rename, unlink, truncate and file creation, and halfway through
 * each write (pfile_crash_at()). A second child then reopens the
 * directory and is killed during recovery, at each of its first I/O
 * boundaries. After each run the parent reopens the directory and checks
 * that it opens (a crash never leaves a state the store refuses), that
 * what it holds is exactly the state after one of the workload's writes
 * (nothing half-applied) and not earlier than the last acknowledged one
 * (nothing acknowledged lost). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/persist_internal.h"
#include "common/persister.h"
#include "common/tests/testdir.h"
#include "common/rand.h"

#define NOPS 60
#define SYNC_EVERY 3
/* Recovery crash points tried after each workload crash. */
#define RECOVERY_POINTS 4

/* The state after each write: blob and snapshot. */
struct states {
    struct buf blob[NOPS], snap[NOPS];
};

/* Run the workload on p. After op i (if st) record the state; after each
 * sync write i to ack_fd (if >= 0). */
static void workload(struct persister *p, struct states *st, int ack_fd)
{
    struct rng r;
    rng_seed(&r, 42);
    int64_t last = 0, first = 1;
    char rec[64];
    for (int i = 0; i < NOPS; i++) {
        unsigned dice = (unsigned)rng_below(&r, 100);
        int rc = 0;
        if (i == 0 || dice < 6) {
            /* Snapshot somewhere in the log (or at its end). */
            int64_t at = first - 1 + (int64_t)rng_below(&r,
                         (uint64_t)(last - first + 2));
            int n = snprintf(rec, sizeof(rec), "snapshot-%d-%lld", i,
                             (long long)at);
            char head[32];
            int hn = snprintf(head, sizeof(head), "H%d", i);
            rc = persister_log_snapshot(p, at, head, (size_t)hn, rec,
                                        (size_t)n);
            first = at + 1;
            if (last < at)
                last = at;
        } else if (dice < 16 && last >= first) {
            int64_t at = last - (int64_t)rng_below(&r, 3);
            if (at < first)
                at = first;
            rc = persister_log_truncate(p, at);
            last = at - 1;
        } else if (dice < 26) {
            char head[32];
            int hn = snprintf(head, sizeof(head), "head-%d", i);
            rc = persister_log_head(p, head, (size_t)hn);
        } else {
            /* Entries of various sizes, some large. */
            size_t len = rng_below(&r, 4) == 0 ? 3000 : 20;
            char *e = malloc(len);
            memset(e, 'a' + i % 26, len);
            snprintf(e, len, "entry-%lld-%d", (long long)last + 1, i);
            rc = persister_log_append(p, last + 1, e, len);
            free(e);
            last++;
        }
        if (rc != 0) {
            fprintf(stderr, "workload op %d failed: %d\n", i, rc);
            _exit(3);
        }
        uint64_t ticket;
        if (persister_log_flush(p, &ticket) != 0)
            _exit(4);
        if (i % SYNC_EVERY == SYNC_EVERY - 1) {
            if (persister_sync(p, ticket) != 0)
                _exit(5);
            if (ack_fd >= 0 && write(ack_fd, &i, sizeof(i)) != sizeof(i))
                _exit(6);
        }
        if (st) {
            persister_read_state(p, &st->blob[i]);
            persister_read_snapshot(p, &st->snap[i]);
        }
    }
}


/* Fork a child that crashes at point n of fn(dir, ack_fd). Returns its
 * exit status (PFILE_CRASH_EXIT if it crashed). */
static int run_child(const char *dir, long n, bool do_workload, int ack_fd)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        pfile_crash_at(n);
        int err;
        struct persister *p = persister_open_dir(dir, &err);
        if (!p)
            _exit(2);
        if (do_workload)
            workload(p, NULL, ack_fd);
        persister_free(p);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* The recovered state: must be the state after some op >= acked. */
static void check_recovered(const char *dir, const struct states *st,
                            int acked, long point, long rpoint)
{
    int err = 0;
    struct persister *p = persister_open_dir(dir, &err);
    if (!p)
        fail_msg("crash point %ld/%ld: reopening failed: %s", point,
                 rpoint, err_msg(err));
    struct buf blob = BUF_INIT, snap = BUF_INIT;
    persister_read_state(p, &blob);
    persister_read_snapshot(p, &snap);
    int match = -2;
    if (blob.len == 0 && snap.len == 0 && !persister_log_active(p))
        match = -1; /* the empty store before the first write */
    /* The latest op with that state (some ops change nothing). */
    for (int i = NOPS - 1; i >= 0 && match == -2; i--)
        if (blob.len == st->blob[i].len && snap.len == st->snap[i].len &&
            memcmp(blob.data, st->blob[i].data, blob.len) == 0 &&
            memcmp(snap.data, st->snap[i].data, snap.len) == 0)
            match = i;
    if (match == -2)
        fail_msg("crash point %ld/%ld: recovered a state no write produced",
                 point, rpoint);
    if (match < acked)
        fail_msg("crash point %ld/%ld: recovered the state after op %d, but op "
                 "%d was acknowledged", point, rpoint, match, acked);
    buf_free(&blob);
    buf_free(&snap);
    persister_free(p);
}

static void test_crash_points(void **state)
{
    (void)state;
    struct states *st = calloc(1, sizeof(*st));
    struct persister *m = persister_new_mem();
    workload(m, st, -1);
    persister_free(m);

    char tmpl[] = "/tmp/test_persist_crash.XXXXXX";
    char *base = mkdtemp(tmpl);
    assert_non_null(base);
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/data", base);
    long points = 0;
    for (long n = 1;; n++) {
        testdir_remove(dir);
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        int code = run_child(dir, n, true, fds[1]);
        close(fds[1]);
        int acked = -1, i;
        while (read(fds[0], &i, sizeof(i)) == sizeof(i))
            acked = i;
        close(fds[0]);
        if (code == 0) { /* ran to the end: every point was tried */
            assert_int_equal(acked, NOPS - 1 - (NOPS % SYNC_EVERY));
            check_recovered(dir, st, acked, n, 0);
            break;
        }
        assert_int_equal(code, PFILE_CRASH_EXIT);
        points++;
        /* Crash again while recovering, then recover for real. */
        for (long k = 1; k <= RECOVERY_POINTS; k++) {
            int c2 = run_child(dir, k, false, -1);
            assert_true(c2 == 0 || c2 == PFILE_CRASH_EXIT);
            check_recovered(dir, st, acked, n, k);
        }
    }
    printf("    %ld crash points, each also crashed at %d points of its "
           "recovery\n", points, RECOVERY_POINTS);
    assert_true(points > 100);
    testdir_remove(dir);
    rmdir(base);
    for (int i = 0; i < NOPS; i++) {
        buf_free(&st->blob[i]);
        buf_free(&st->snap[i]);
    }
    free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_points),
    };
    return cmocka_run_group_tests_name("persist_crash", tests, NULL, NULL);
}
