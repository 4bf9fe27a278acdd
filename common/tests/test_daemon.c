/* test_daemon.c - unit tests for common/daemon.c: the command-line list
 * and number parsing the daemons rely on to reject bad input, and the
 * data-directory persister surviving a reopen (what a restart after
 * SIGKILL does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/daemon.h"

static void test_split_list(void **state)
{
    (void)state;
    char *out[3];
    assert_int_equal(daemon_split_list("a:1,bb:2,c", out, 3), 3);
    assert_string_equal(out[0], "a:1");
    assert_string_equal(out[1], "bb:2");
    assert_string_equal(out[2], "c");
    daemon_free_list(out, 3);
    assert_null(out[0]);
    assert_int_equal(daemon_split_list("one", out, 3), 1);
    assert_string_equal(out[0], "one");
    daemon_free_list(out, 1);
    /* Empty entries and too many entries are rejected (and nothing
     * leaks: the partial list is freed, which ASan checks). */
    assert_int_equal(daemon_split_list("", out, 3), -1);
    assert_int_equal(daemon_split_list("a,,b", out, 3), -1);
    assert_int_equal(daemon_split_list("a,b,", out, 3), -1);
    assert_int_equal(daemon_split_list("a,b,c,d", out, 3), -1);
}

static void test_parse_ll(void **state)
{
    (void)state;
    long long v = 7;
    assert_true(daemon_parse_ll("42", 0, 100, &v));
    assert_int_equal(v, 42);
    assert_true(daemon_parse_ll("-1", -1, 100, &v));
    assert_int_equal(v, -1);
    v = 7;
    assert_false(daemon_parse_ll("101", 0, 100, &v));
    assert_false(daemon_parse_ll("-2", -1, 100, &v));
    assert_false(daemon_parse_ll("", 0, 100, &v));
    assert_false(daemon_parse_ll("4x", 0, 100, &v));
    assert_false(daemon_parse_ll("99999999999999999999", 0, 100, &v));
    assert_int_equal(v, 7); /* untouched on failure */
}

static void test_data_dir(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/test-daemon-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    char dir[sizeof tmpl + 8];
    snprintf(dir, sizeof dir, "%s/data", tmpl);
    struct persister *p = daemon_open_data_dir("test", dir);
    assert_non_null(p); /* created the missing directory */
    assert_int_equal(persister_save(p, "state", 5, "snap", 4), 0);
    persister_free(p);
    p = daemon_open_data_dir("test", dir); /* a restart */
    assert_non_null(p);
    struct buf b = {0};
    persister_read_state(p, &b);
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.data, "state", 5);
    persister_read_snapshot(p, &b);
    assert_int_equal(b.len, 4);
    buf_free(&b);
    persister_free(p);
    /* A path under a regular file cannot be a data directory. */
    char bad[sizeof dir + 8];
    snprintf(bad, sizeof bad, "%s/x", dir);
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    fclose(f);
    char under[sizeof bad + 8];
    snprintf(under, sizeof under, "%s/y", bad);
    assert_null(daemon_open_data_dir("test", under));
    char cmd[sizeof tmpl + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpl);
    assert_int_equal(system(cmd), 0);
}

/* The daemons replicate at once unless the user chose a batch window. */
static void test_default_batching(void **state)
{
    (void)state;
    unsetenv("RAFT_BATCH_MS");
    daemon_default_batching();
    assert_string_equal(getenv("RAFT_BATCH_MS"), "0");
    setenv("RAFT_BATCH_MS", "7", 1);
    daemon_default_batching();
    assert_string_equal(getenv("RAFT_BATCH_MS"), "7");
    unsetenv("RAFT_BATCH_MS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_list),
        cmocka_unit_test(test_parse_ll),
        cmocka_unit_test(test_data_dir),
        cmocka_unit_test(test_default_batching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
