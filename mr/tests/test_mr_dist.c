/* test_mr_dist.c - unit tests for the distributed mode's pieces: the
 * external sort (spilled runs merged into the same groups an in-memory
 * sort gives) and input splits (whole lines, covering every byte). */
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
#include "common/err.h"
#include "mr/dist.h"
#include "mr/mr_internal.h"
#include "mr/xsort.h"

static char dir[] = "/tmp/test_mr_dist.XXXXXX";

/* Keys k<i % nkeys> with values v<i>; the groups must come out in key
 * order with every value exactly once, whatever the budget. */
static void check_sort(size_t budget, int n, int nkeys, bool expect_runs)
{
    char d[64];
    snprintf(d, sizeof d, "%s/", dir);
    struct mr_xsort *x = mr_xsort_new(d, budget);
    char k[32], v[32];
    for (int i = 0; i < n; i++) {
        /* scrambled arrival order */
        int j = (int)((uint64_t)i * 2654435761u % (uint64_t)n);
        snprintf(k, sizeof k, "k%d", j % nkeys);
        snprintf(v, sizeof v, "%d", j);
        assert_int_equal(mr_xsort_add(x, k, strlen(k), v, strlen(v)), 0);
    }
    assert_true(expect_runs ? mr_xsort_runs(x) > 1 : mr_xsort_runs(x) == 0);
    char *seen = calloc((size_t)n, 1);
    struct buf prev = BUF_INIT;
    const char *key;
    size_t kl, nv;
    const char *const *vals;
    const size_t *lens;
    int groups = 0, total = 0, rc;
    while ((rc = mr_xsort_next(x, &key, &kl, &vals, &lens, &nv)) == 1) {
        assert_int_equal(key[kl], 0);
        if (prev.len) { /* strictly increasing keys */
            size_t m = prev.len < kl ? prev.len : kl;
            int c = memcmp(prev.data, key, m);
            assert_true(c < 0 || (c == 0 && prev.len < kl));
        }
        buf_clear(&prev);
        buf_append(&prev, key, kl);
        for (size_t i = 0; i < nv; i++) {
            int j = atoi(vals[i]);
            assert_int_equal(strlen(vals[i]), lens[i]);
            assert_true(j >= 0 && j < n && !seen[j]);
            assert_int_equal(j % nkeys, atoi(key + 1));
            seen[j] = 1;
        }
        groups++;
        total += (int)nv;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(groups, nkeys < n ? nkeys : n);
    assert_int_equal(total, n);
    free(seen);
    buf_free(&prev);
    mr_xsort_free(x);
}

static void test_xsort_memory(void **state)
{
    (void)state;
    check_sort(1u << 20, 20000, 997, false);
}

static void test_xsort_spills(void **state)
{
    (void)state;
    check_sort(64u << 10, 200000, 5003, true); /* ~60 runs */
    check_sort(64u << 10, 50000, 3, true);     /* hot keys across runs */
}

static void test_splits(void **state)
{
    (void)state;
    char f1[128], f2[128];
    snprintf(f1, sizeof f1, "%s/a.txt", dir);
    snprintf(f2, sizeof f2, "%s/empty.txt", dir);
    FILE *fp = fopen(f1, "w");
    for (int i = 0; i < 1000; i++)
        fprintf(fp, "line %d %.*s\n", i, i % 50, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    long size = ftell(fp);
    fclose(fp);
    fclose(fopen(f2, "w"));
    const char *files[] = {f1, f2, "/nonexistent/x"};
    struct mr_split *s;
    int n;
    char msg[256];
    assert_int_equal(mr_split_files(files, 2, 1000, &s, &n, msg, sizeof msg), 0);
    char *data;
    size_t len;
    assert_int_equal(mr_read_file(f1, &data, &len), 0);
    uint64_t pos = 0;
    int i = 0;
    for (; i < n && s[i].file == 0; i++) {
        assert_int_equal(s[i].off, pos);
        assert_true(s[i].len >= 1000 || s[i].off + s[i].len == (uint64_t)size);
        assert_true(s[i].len < 1000 + 100); /* ends at the next newline */
        assert_int_equal(data[s[i].off + s[i].len - 1], '\n');
        pos += s[i].len;
    }
    assert_int_equal(pos, (uint64_t)size);
    assert_true(i > 30);
    assert_int_equal(n, i + 1); /* the empty file: one empty split */
    assert_int_equal(s[i].file, 1);
    assert_int_equal(s[i].len, 0);
    free(s);
    free(data);
    assert_int_equal(mr_split_files(files, 3, 1000, &s, &n, msg, sizeof msg),
                     ERR_IO);
    assert_non_null(strstr(msg, "cannot read /nonexistent/x"));
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xsort_memory),
        cmocka_unit_test(test_xsort_spills),
        cmocka_unit_test(test_splits),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
