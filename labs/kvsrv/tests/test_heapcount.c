/* test_heapcount.c - heapcount.c counts every heap block of the process:
 * direct malloc/calloc/realloc/aligned allocations, libc's internal ones
 * (strdup) and a shared library's (msgpack-c's sbuffer), and gives every
 * byte back on free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "labs/kvsrv/heapcount.h"

#define MIB (1u << 20)

/* Keeps the compiler from eliding an unused malloc/free pair. */
static void *volatile sink;

static void test_counts_everything(void **state)
{
    (void)state;
    if (!heapcount_active())
        skip(); /* a sanitizer owns malloc */
    size_t base = heapcount_bytes();

    char *a = malloc(MIB);
    sink = a;
    assert_true(heapcount_bytes() >= base + MIB);
    char *b = calloc(1, MIB);
    sink = b;
    assert_true(heapcount_bytes() >= base + 2 * MIB);
    a = realloc(a, 3 * MIB);
    assert_true(heapcount_bytes() >= base + 4 * MIB);
    void *c = NULL;
    assert_int_equal(posix_memalign(&c, 4096, MIB), 0);
    sink = c;
    assert_true(heapcount_bytes() >= base + 5 * MIB);
    memset(a, 'x', 3 * MIB - 1);
    a[3 * MIB - 1] = '\0';
    char *d = strdup(a); /* libc's own malloc call */
    sink = d;
    assert_true(heapcount_bytes() >= base + 8 * MIB);
    msgpack_sbuffer sb; /* a shared library's */
    msgpack_sbuffer_init(&sb);
    msgpack_sbuffer_write(&sb, a, MIB);
    assert_true(heapcount_bytes() >= base + 9 * MIB);

    msgpack_sbuffer_destroy(&sb);
    free(d);
    free(c);
    free(b);
    free(a);
    assert_int_equal(heapcount_bytes(), base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_everything),
    };
    return cmocka_run_group_tests_name("heapcount", tests, NULL, NULL);
}
