/* test_mr.c - unit tests for mr/: ihash, the intermediate record codec,
 * the coordinator's scheduling rules, map/reduce tasks against the
 * sequential reference, failure paths, and a whole job over RPC with
 * in-process workers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "mr/mr.h"
#include "mr/mr_internal.h"

/* ------------------------------------------------------------------------
 * A word-count app linked in (no dlopen needed). */
static int is_letter(unsigned char c)
{
    return (unsigned char)((c | 0x20) - 'a') < 26;
}

static int t_map(const char *filename, const char *contents, size_t len,
                 mr_emit_fn emit, void *ctx)
{
    (void)filename;
    size_t i = 0;
    while (i < len) {
        while (i < len && !is_letter((unsigned char)contents[i]))
            i++;
        size_t s = i;
        while (i < len && is_letter((unsigned char)contents[i]))
            i++;
        if (i > s)
            emit(ctx, contents + s, i - s, "1", 1);
    }
    return 0;
}

static int t_reduce(const char *key, size_t klen, const char *const *values,
                    const size_t *lens, size_t n, mr_output_fn output,
                    void *ctx)
{
    assert_int_equal(key[klen], 0); /* NUL-terminated, as promised */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(values[i][lens[i]], 0);
    char b[32];
    int k = snprintf(b, sizeof b, "%zu", n);
    output(ctx, b, (size_t)k);
    return 0;
}

static int t_map_fail(const char *f, const char *c, size_t l, mr_emit_fn e,
                      void *ctx)
{
    e(ctx, "x", 1, "1", 1); /* emits, then fails: nothing may be visible */
    (void)f, (void)c, (void)l;
    return 1;
}

static const struct mr_app wc_app = {NULL, t_map, t_reduce};

/* Run each test in a fresh temporary directory. */
static char tmpdir[256];
static char olddir[4096];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "%s/test_mr.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir) || !getcwd(olddir, sizeof olddir) ||
        chdir(tmpdir) < 0)
        return -1;
    return 0;
}

static int teardown_dir(void **state)
{
    (void)state;
    DIR *d = opendir(".");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            unlink(e->d_name);
    if (d)
        closedir(d);
    if (chdir(olddir) < 0)
        return -1;
    rmdir(tmpdir);
    return 0;
}

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(name, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *slurp(const char *name)
{
    char *d;
    size_t n;
    if (mr_read_file(name, &d, &n) != 0)
        return NULL;
    return d;
}

static bool exists(const char *name)
{
    return access(name, F_OK) == 0;
}

static int count_prefix(const char *prefix)
{
    int n = 0;
    DIR *d = opendir(".");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    if (d)
        closedir(d);
    return n;
}

static int line_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Concatenate files, drop empty lines, sort (the test-mr.sh comparison). */
static char *sorted_lines(const char *const *files, int n)
{
    struct buf all = BUF_INIT;
    for (int i = 0; i < n; i++) {
        char *d = slurp(files[i]);
        assert_non_null(d);
        buf_append(&all, d, strlen(d));
        free(d);
    }
    buf_append_byte(&all, 0);
    char **lines = NULL;
    size_t nl = 0;
    for (char *s = strtok((char *)all.data, "\n"); s; s = strtok(NULL, "\n")) {
        lines = xrealloc(lines, (nl + 1) * sizeof *lines);
        lines[nl++] = s;
    }
    qsort(lines, nl, sizeof *lines, line_cmp);
    struct buf out = BUF_INIT;
    for (size_t i = 0; i < nl; i++) {
        buf_append(&out, lines[i], strlen(lines[i]));
        buf_append_byte(&out, '\n');
    }
    buf_append_byte(&out, 0);
    free(lines);
    buf_free(&all);
    size_t len;
    return (char *)buf_release(&out, &len);
}

static const char *const inputs[] = {"in-a.txt", "in-b.txt", "in-c.txt"};

static void write_inputs(void)
{
    write_file(inputs[0], "The quick brown fox jumps over the lazy dog.\n"
                          "the THE The, fox!\n");
    write_file(inputs[1], "Dog eat dog; a zebra and an aardvark.\n\n");
    write_file(inputs[2], ""); /* empty input is fine */
}

static char *out_files[16];

static char *job_output(int nreduce)
{
    for (int y = 0; y < nreduce; y++) {
        char name[64];
        mr_out_name(name, sizeof name, y);
        out_files[y] = xstrdup(name);
    }
    char *s = sorted_lines((const char *const *)out_files, nreduce);
    for (int y = 0; y < nreduce; y++)
        free(out_files[y]);
    return s;
}

/* ------------------------------------------------------------------------ */
static void test_ihash(void **state)
{
    (void)state;
    /* FNV-1a 32-bit reference values, masked to 31 bits. */
    assert_int_equal(mr_ihash("", 0), 0x811c9dc5u & 0x7fffffffu);
    assert_int_equal(mr_ihash("a", 1), 0xe40c292cu & 0x7fffffffu);
    assert_int_equal(mr_ihash("foobar", 6), 0xbf9cf968u & 0x7fffffffu);
}

static void test_records(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    char big[300];
    memset(big, 'k', sizeof big);
    mr_rec_append(&b, "a", 1, "1", 1);
    mr_rec_append(&b, big, sizeof big, "v\0w", 3); /* 2-byte varint, NUL */
    mr_rec_append(&b, "", 0, "", 0);
    struct mr_rec_reader r = {(const char *)b.data,
                              (const char *)b.data + b.len};
    const char *k, *v;
    size_t kl, vl;
    assert_int_equal(mr_rec_next(&r, &k, &kl, &v, &vl), 1);
    assert_int_equal(kl, 1);
    assert_memory_equal(k, "a", 2);
    assert_memory_equal(v, "1", 2);
    assert_int_equal(mr_rec_next(&r, &k, &kl, &v, &vl), 1);
    assert_int_equal(kl, 300);
    assert_int_equal(vl, 3);
    assert_memory_equal(v, "v\0w", 4);
    assert_int_equal(mr_rec_next(&r, &k, &kl, &v, &vl), 1);
    assert_int_equal(kl + vl, 0);
    assert_int_equal(mr_rec_next(&r, &k, &kl, &v, &vl), 0);
    /* Every truncation of a record is detected, never over-read. */
    for (size_t cut = 1; cut < b.len; cut++) {
        struct mr_rec_reader t = {(const char *)b.data,
                                  (const char *)b.data + cut};
        int rc;
        while ((rc = mr_rec_next(&t, &k, &kl, &v, &vl)) == 1)
            ;
        if (cut != 6 && cut != b.len - 4) /* record boundaries */
            assert_int_equal(rc, ERR_CORRUPT);
    }
    buf_free(&b);
}

/* A scheduling rule of lab 1 (mr_internal.h): a failure says which, in
 * words, rather than cmocka's bare "0x1 != 0". */
#define rule(cond, ...)                                                      \
    do {                                                                     \
        if (!(cond))                                                         \
            fail_msg(__VA_ARGS__);                                           \
    } while (0)

/* Map tasks are handed out to different callers at once; nothing is
 * re-issued before the timeout; reduce waits for every map; Done. */
static void test_schedule(void **state)
{
    (void)state;
    const char *files[] = {"f0", "f1", "f2"};
    struct mr_coord_opts o = {.nreduce = 2, .task_timeout_ms = 400};
    struct mr_coord *c = mr_coord_new(files, 3, &o);
    assert_non_null(c);
    struct mr_task t;
    for (int i = 0; i < 3; i++) {
        mr_coord_get_task(c, 0, &t);
        rule(t.kind == MR_TASK_MAP && t.id == i,
             "GetTask #%d returned kind %d id %d, expected map task %d: hand "
             "out each idle map task to the next caller, in order", i + 1,
             t.kind, t.id, i);
        assert_string_equal(t.file, files[i]);
        rule(t.nreduce == 2, "GetTask returned nreduce %d, expected 2 (the "
             "opts given to mr_coord_new)", t.nreduce);
    }
    uint64_t t0 = clock_now_ms();
    mr_coord_get_task(c, 100, &t);
    rule(t.kind == MR_TASK_WAIT, "with every map task running, GetTask "
         "returned kind %d, expected WAIT (0): a task is re-issued only after "
         "task_timeout_ms, and reduces wait for every map", t.kind);
    rule(clock_now_ms() - t0 >= 90, "GetTask with nothing to hand out "
         "returned after %llu ms, expected to wait wait_ms (100)",
         (unsigned long long)(clock_now_ms() - t0));
    mr_coord_task_done(c, MR_TASK_MAP, 0);
    mr_coord_task_done(c, MR_TASK_MAP, 1);
    mr_coord_task_done(c, MR_TASK_REDUCE, 0); /* too early: ignored */
    mr_coord_get_task(c, 0, &t);
    rule(t.kind == MR_TASK_WAIT, "map 2 still runs (within its timeout), "
         "but GetTask returned kind %d instead of WAIT: reduces must wait "
         "for every map, and a report for a task never handed out (reduce "
         "0 here) must be ignored", t.kind);
    rule(mr_coord_issued(c, MR_TASK_MAP, 2) == 1, "map 2 was handed out %d "
         "times before its timeout, expected once",
         mr_coord_issued(c, MR_TASK_MAP, 2));
    /* A waiter gets map 2 back once its holder is presumed dead. */
    mr_coord_get_task(c, 2000, &t);
    rule(t.kind == MR_TASK_MAP && t.id == 2, "a worker waiting 2 s got kind "
         "%d id %d, expected map 2 again once its holder was silent for "
         "task_timeout_ms (400): re-issue timed-out tasks", t.kind, t.id);
    rule(clock_now_ms() - t0 >= 390, "map 2 was re-issued after %llu ms, "
         "before its 400 ms timeout",
         (unsigned long long)(clock_now_ms() - t0));
    assert_int_equal(mr_coord_issued(c, MR_TASK_MAP, 2), 2);
    mr_coord_task_done(c, MR_TASK_MAP, 2);
    mr_coord_task_done(c, MR_TASK_MAP, 2); /* the straggler: harmless */
    rule(!mr_coord_done(c), "Done() is true before any reduce task ran");
    mr_coord_get_task(c, 0, &t);
    rule(t.kind == MR_TASK_REDUCE && t.id == 0 && t.nmap == 3,
         "after every map finished GetTask returned kind %d id %d nmap %d, "
         "expected reduce 0 with nmap 3", t.kind, t.id, t.nmap);
    mr_coord_get_task(c, 0, &t);
    rule(t.kind == MR_TASK_REDUCE && t.id == 1, "the second GetTask of the "
         "reduce phase returned kind %d id %d, expected reduce 1", t.kind,
         t.id);
    mr_coord_task_done(c, MR_TASK_REDUCE, 1);
    rule(!mr_coord_done(c), "Done() is true with reduce 0 still running: "
         "the job is over only when every mr-out-Y is final");
    assert_false(mr_coord_wait(c, 10));
    mr_coord_task_done(c, MR_TASK_REDUCE, 0);
    rule(mr_coord_done(c), "Done() is false after every reduce reported "
         "done");
    assert_true(mr_coord_wait(c, 0));
    assert_false(mr_coord_failed(c, NULL, 0));
    mr_coord_get_task(c, 0, &t);
    rule(t.kind == MR_TASK_EXIT, "GetTask after the job ended returned kind "
         "%d, expected EXIT (3)", t.kind);
    for (int i = 0; i < 3; i++)
        rule(mr_coord_issued(c, MR_TASK_MAP, i) == (i == 2 ? 2 : 1),
             "map %d was handed out %d times, expected %d", i,
             mr_coord_issued(c, MR_TASK_MAP, i), i == 2 ? 2 : 1);
    mr_coord_free(c);
}

struct waiter {
    struct mr_coord *c;
    struct mr_task t;
    uint64_t waited;
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;
    uint64_t t0 = clock_now_ms();
    mr_coord_get_task(w->c, 5000, &w->t);
    w->waited = clock_now_ms() - t0;
    return NULL;
}

/* A long-polling GetTask wakes as soon as the map phase ends. */
static void test_long_poll(void **state)
{
    (void)state;
    const char *files[] = {"f0"};
    struct mr_coord *c = mr_coord_new(files, 1, NULL);
    struct mr_task t;
    mr_coord_get_task(c, 0, &t);
    assert_int_equal(t.kind, MR_TASK_MAP);
    struct waiter w = {c, {0}, 0};
    pthread_t th;
    pthread_create(&th, NULL, wait_thread, &w);
    clock_sleep_ms(100);
    mr_coord_task_done(c, MR_TASK_MAP, 0);
    pthread_join(th, NULL);
    assert_int_equal(w.t.kind, MR_TASK_REDUCE);
    assert_int_equal(w.t.nreduce, MR_DEFAULT_NREDUCE);
    assert_true(w.waited < 2000);
    mr_coord_free(c);
}

/* Reported failures re-issue at once; too many fail the job. */
static void test_failures(void **state)
{
    (void)state;
    const char *files[] = {"f0"};
    struct mr_coord_opts o = {.nreduce = 1, .max_failures = 2};
    struct mr_coord *c = mr_coord_new(files, 1, &o);
    struct mr_task t;
    mr_coord_get_task(c, 0, &t);
    mr_coord_task_failed(c, MR_TASK_MAP, 0, "disk on fire");
    mr_coord_get_task(c, 0, &t);
    assert_int_equal(t.kind, MR_TASK_MAP);
    assert_int_equal(t.id, 0);
    mr_coord_task_failed(c, MR_TASK_MAP, 0, "disk on fire");
    char why[256];
    assert_true(mr_coord_failed(c, why, sizeof why));
    assert_non_null(strstr(why, "disk on fire"));
    assert_true(mr_coord_wait(c, 0));
    mr_coord_get_task(c, 0, &t);
    assert_int_equal(t.kind, MR_TASK_EXIT);
    assert_false(mr_coord_done(c));
    mr_coord_free(c);
    assert_null(mr_coord_new(files, 0, NULL));
}

/* The distributed tasks give the sequential reference's output. */
static void test_tasks_match_sequential(void **state)
{
    (void)state;
    write_inputs();
    char msg[256];
    assert_int_equal(mr_sequential(&wc_app, inputs, 3, "seq-out", msg,
                                   sizeof msg), 0);
    const char *seqf[] = {"seq-out"};
    char *want = sorted_lines(seqf, 1);
    assert_non_null(strstr(want, "the 2\n"));
    assert_non_null(strstr(want, "The 2\n"));
    assert_non_null(strstr(want, "THE 1\n"));
    for (int x = 0; x < 3; x++)
        assert_int_equal(mr_do_map(&wc_app, x, inputs[x], 4, msg, sizeof msg),
                         0);
    assert_true(exists("mr-2-3")); /* empty partitions exist too */
    for (int y = 0; y < 4; y++)
        assert_int_equal(mr_do_reduce(&wc_app, y, 3, msg, sizeof msg), 0);
    char *got = job_output(4);
    assert_string_equal(got, want);
    /* Each mr-out-Y is in key order, and only its own keys. */
    char *o1 = slurp("mr-out-1");
    char prev[64] = "";
    for (char *s = strtok(o1, "\n"); s; s = strtok(NULL, "\n")) {
        char *sp = strchr(s, ' ');
        *sp = 0;
        assert_true(strcmp(prev, s) < 0);
        assert_int_equal(mr_ihash(s, strlen(s)) % 4, 1);
        snprintf(prev, sizeof prev, "%s", s);
    }
    free(o1);
    assert_int_equal(count_prefix("mr-tmp-"), 0);
    free(got);
    free(want);
}

static void test_task_errors(void **state)
{
    (void)state;
    write_inputs();
    char msg[256];
    /* Missing input: message, no intermediate files, no temporaries. */
    assert_int_equal(mr_do_map(&wc_app, 0, "nope.txt", 3, msg, sizeof msg),
                     ERR_IO);
    assert_non_null(strstr(msg, "nope.txt"));
    /* An app failure leaves nothing behind either. */
    struct mr_app bad = {NULL, t_map_fail, t_reduce};
    assert_int_equal(mr_do_map(&bad, 0, inputs[0], 3, msg, sizeof msg),
                     ERR_REMOTE);
    assert_int_equal(count_prefix("mr-0-"), 0);
    assert_int_equal(count_prefix("mr-tmp-"), 0);
    /* A reduce with a missing intermediate file fails without output. */
    assert_int_equal(mr_do_map(&wc_app, 0, inputs[0], 2, msg, sizeof msg), 0);
    assert_int_equal(mr_do_reduce(&wc_app, 1, 2, msg, sizeof msg), ERR_IO);
    assert_non_null(strstr(msg, "mr-1-1"));
    assert_false(exists("mr-out-1"));
    /* A corrupt intermediate file is detected. */
    write_file("mr-1-1", "\005\001ab");
    assert_int_equal(mr_do_reduce(&wc_app, 1, 2, msg, sizeof msg),
                     ERR_CORRUPT);
    assert_false(exists("mr-out-1"));
    assert_int_equal(count_prefix("mr-tmp-"), 0);
}

struct worker_arg {
    const char *addr;
    int rc;
};

static void *worker_thread(void *arg)
{
    struct worker_arg *w = arg;
    struct mr_worker_opts o = {.addr = w->addr, .gone_ms = 1000};
    w->rc = mr_worker_run(&wc_app, &o);
    return NULL;
}

/* A whole job over loopback TCP with two in-process workers. */
static void test_job_over_rpc(void **state)
{
    (void)state;
    write_inputs();
    char msg[256];
    assert_int_equal(mr_sequential(&wc_app, inputs, 3, "seq-out", msg,
                                   sizeof msg), 0);
    const char *seqf[] = {"seq-out"};
    char *want = sorted_lines(seqf, 1);
    unlink("seq-out");

    struct mr_coord_opts o = {.nreduce = 5};
    struct mr_coord *c = mr_coord_new(inputs, 3, &o);
    assert_int_equal(mr_coord_listen(c, "127.0.0.1:0"), 0);
    assert_non_null(strchr(mr_coord_addr(c), ':'));
    struct worker_arg w[2] = {{mr_coord_addr(c), -1},
                              {mr_coord_addr(c), -1}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, worker_thread, &w[i]);
    assert_true(mr_coord_wait(c, 20000));
    assert_true(mr_coord_done(c));
    char *got = job_output(5);
    assert_string_equal(got, want);
    for (int i = 0; i < 3; i++)
        assert_int_equal(mr_coord_issued(c, MR_TASK_MAP, i), 1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(mr_coord_issued(c, MR_TASK_REDUCE, i), 1);
    clock_sleep_ms(600); /* linger: workers learn the job is over */
    mr_coord_free(c);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].rc, 0);
    }
    free(got);
    free(want);
}

/* A worker with nobody to talk to gives up with an error. */
static void test_worker_unreachable(void **state)
{
    (void)state;
    struct mr_worker_opts o = {.addr = "unix:no-such-socket",
                               .gone_ms = 300};
    assert_int_equal(mr_worker_run(&wc_app, &o), ERR_UNREACHABLE);
}

/* Two coordinators cannot share a unix socket; a stale file is replaced. */
static void test_unix_in_use(void **state)
{
    (void)state;
    write_file("sock", "stale");
    const char *files[] = {"f0"};
    struct mr_coord *a = mr_coord_new(files, 1, NULL);
    struct mr_coord *b = mr_coord_new(files, 1, NULL);
    assert_int_equal(mr_coord_listen(a, "unix:sock"), 0);
    assert_int_equal(mr_coord_listen(b, "unix:sock"), ERR_EXISTS);
    mr_coord_free(b);
    mr_coord_free(a);
    assert_false(exists("sock")); /* removed at exit */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ihash),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_long_poll),
        cmocka_unit_test(test_failures),
        cmocka_unit_test_setup_teardown(test_tasks_match_sequential,
                                        setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_task_errors, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_job_over_rpc, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_worker_unreachable, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_unix_in_use, setup_dir,
                                        teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
