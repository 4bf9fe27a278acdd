/* test_persister.c - unit tests for common/persister.c: the in-memory
 * persister's copy semantics and the file-backed one's atomic saves and
 * corruption detection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/persister.h"
#include "common/tests/testdir.h"

static void expect_pair(struct persister *p, const char *state,
                        const char *snap)
{
    struct buf b = BUF_INIT;
    persister_read_state(p, &b);
    assert_int_equal(b.len, strlen(state));
    if (b.len)
        assert_memory_equal(b.data, state, b.len);
    assert_int_equal(persister_state_size(p), strlen(state));
    persister_read_snapshot(p, &b);
    assert_int_equal(b.len, strlen(snap));
    if (b.len)
        assert_memory_equal(b.data, snap, b.len);
    assert_int_equal(persister_snapshot_size(p), strlen(snap));
    buf_free(&b);
}

/* Save stores copies; read returns copies; copy() is independent of the
 * original afterwards (the 6.5840 tester relies on this: a zombie peer
 * writing to the old persister must not affect the restarted one). */
static void test_mem_copy_semantics(void **state)
{
    (void)state;
    struct persister *p = persister_new_mem();
    expect_pair(p, "", "");
    char st[] = "state-1", sn[] = "snap-1";
    assert_int_equal(persister_save(p, st, strlen(st), sn, strlen(sn)), 0);
    st[0] = 'X'; /* caller's buffer is not referenced */
    expect_pair(p, "state-1", "snap-1");

    struct persister *q = persister_copy(p);
    assert_int_equal(persister_save(p, "zombie", 6, NULL, 0), 0);
    expect_pair(p, "zombie", ""); /* NULL snapshot erases it */
    expect_pair(q, "state-1", "snap-1");

    /* Re-saving what was read (aliasing its own buffers) works. */
    struct buf b = BUF_INIT, s = BUF_INIT;
    persister_read_state(q, &b);
    persister_read_snapshot(q, &s);
    assert_int_equal(persister_save(q, b.data, b.len, s.data, s.len), 0);
    expect_pair(q, "state-1", "snap-1");
    buf_free(&b);
    buf_free(&s);
    persister_free(p);
    persister_free(q);
}

/* save_state() replaces the state and keeps the snapshot; a shrunken value
 * and a re-save of what was read come back intact. */
static void test_mem_save_state(void **state)
{
    (void)state;
    struct persister *p = persister_new_mem();
    assert_int_equal(persister_save_state(p, "s0", 2), 0);
    expect_pair(p, "s0", "");
    assert_int_equal(persister_save(p, "state-1", 7, "snap-1", 6), 0);
    assert_int_equal(persister_save_state(p, "state-22", 8), 0);
    expect_pair(p, "state-22", "snap-1");
    struct buf b = BUF_INIT;
    persister_read_state(p, &b);
    assert_int_equal(persister_save_state(p, b.data, b.len), 0);
    expect_pair(p, "state-22", "snap-1");
    buf_free(&b);
    /* From 1 MiB down to 1 byte: still exact. */
    size_t big = 1 << 20;
    char *blob = calloc(1, big);
    assert_non_null(blob);
    memset(blob, 'x', big);
    assert_int_equal(persister_save(p, blob, big, blob, big), 0);
    assert_int_equal(persister_state_size(p), big);
    assert_int_equal(persister_save(p, "y", 1, "z", 1), 0);
    expect_pair(p, "y", "z");
    free(blob);
    persister_free(p);
}

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/test_persister.XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}


/* A file-backed persister survives a reopen; a missing directory is
 * created; a leftover temp file (a save cut short) is ignored. */
static void test_file_reopen(void **state)
{
    (void)state;
    char *base = make_tmpdir();
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/data", base);
    int err = -1;
    struct persister *p = persister_open_dir(dir, &err);
    assert_non_null(p);
    assert_int_equal(err, 0);
    expect_pair(p, "", "");
    assert_int_equal(persister_save(p, "abc", 3, "snapshot", 8), 0);
    assert_int_equal(persister_save(p, "abcd", 4, "snapshot2", 9), 0);
    persister_free(p);
    p = persister_open_dir(dir, &err);
    assert_non_null(p);
    expect_pair(p, "abcd", "snapshot2");
    /* save_state() keeps the snapshot on disk too. */
    assert_int_equal(persister_save_state(p, "abcde", 5), 0);
    persister_free(p);
    p = persister_open_dir(dir, &err);
    assert_non_null(p);
    expect_pair(p, "abcde", "snapshot2");
    assert_int_equal(persister_save(p, "abcd", 4, "snapshot2", 9), 0);
    persister_free(p);

    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s/checkpoint.tmp", dir);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs("half-written garbage", f);
    fclose(f);

    p = persister_open_dir(dir, &err);
    assert_non_null(p);
    expect_pair(p, "abcd", "snapshot2");
    assert_int_not_equal(access(tmp, F_OK), 0);
    struct persister *q = persister_copy(p); /* in memory */
    expect_pair(q, "abcd", "snapshot2");
    persister_free(q);
    /* Empty values round-trip too. */
    assert_int_equal(persister_save(p, NULL, 0, NULL, 0), 0);
    persister_free(p);
    p = persister_open_dir(dir, &err);
    assert_non_null(p);
    expect_pair(p, "", "");
    persister_free(p);
    testdir_remove(dir);
    rmdir(base);
    free(base);
}

/* Every single-byte change and every truncation of the file is detected
 * as ERR_CORRUPT. */
static void test_file_corruption(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    int err;
    struct persister *p = persister_open_dir(dir, &err);
    assert_non_null(p);
    assert_int_equal(persister_save(p, "raft-state", 10, "snap", 4), 0);
    persister_free(p);

    char path[1024];
    snprintf(path, sizeof(path), "%s/checkpoint", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    size_t size = (size_t)st.st_size;
    assert_int_equal(size, 56 + 10 + 4);
    uint8_t orig[128];
    int fd = open(path, O_RDONLY);
    assert_int_equal(read(fd, orig, size), (ssize_t)size);
    close(fd);

    for (size_t i = 0; i < size; i++) {
        uint8_t bad[128];
        memcpy(bad, orig, size);
        bad[i] ^= 0x01;
        fd = open(path, O_WRONLY | O_TRUNC);
        assert_int_equal(write(fd, bad, size), (ssize_t)size);
        close(fd);
        err = 0;
        assert_null(persister_open_dir(dir, &err));
        assert_int_equal(err, ERR_CORRUPT);
    }
    for (size_t cut = 0; cut < size; cut++) {
        fd = open(path, O_WRONLY | O_TRUNC);
        assert_int_equal(write(fd, orig, cut), (ssize_t)cut);
        close(fd);
        err = 0;
        assert_null(persister_open_dir(dir, &err));
        assert_int_equal(err, ERR_CORRUPT);
    }
    /* The intact file still opens. */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, orig, size), (ssize_t)size);
    close(fd);
    p = persister_open_dir(dir, &err);
    assert_non_null(p);
    expect_pair(p, "raft-state", "snap");
    persister_free(p);
    testdir_remove(dir);
    free(dir);
}

/* An unusable directory is ERR_IO. */
static void test_file_bad_dir(void **state)
{
    (void)state;
    int err = 0;
    assert_null(persister_open_dir("/proc/definitely/not/here", &err));
    assert_int_equal(err, ERR_IO);
}

struct hammer {
    struct persister *p;
    int id;
};

static void *hammer_thread(void *arg)
{
    struct hammer *h = arg;
    struct buf b = BUF_INIT, s = BUF_INIT;
    for (int i = 0; i < 2000; i++) {
        char st[32], sn[32];
        int n = snprintf(st, sizeof(st), "s%d-%d", h->id, i);
        int m = snprintf(sn, sizeof(sn), "n%d-%d", h->id, i);
        persister_save(h->p, st, (size_t)n, sn, (size_t)m);
        persister_read_state(h->p, &b);
        persister_read_snapshot(h->p, &s);
        (void)persister_state_size(h->p);
    }
    buf_free(&b);
    buf_free(&s);
    return NULL;
}

/* Concurrent saves and reads are safe; state and snapshot always come
 * from the same save. */
static void test_mem_concurrent(void **state)
{
    (void)state;
    struct persister *p = persister_new_mem();
    pthread_t t[4];
    struct hammer h[4];
    for (int i = 0; i < 4; i++) {
        h[i].p = p;
        h[i].id = i;
        pthread_create(&t[i], NULL, hammer_thread, &h[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    struct buf b = BUF_INIT, s = BUF_INIT;
    persister_read_state(p, &b);
    persister_read_snapshot(p, &s);
    assert_true(b.len > 1 && s.len == b.len);
    assert_memory_equal(b.data + 1, s.data + 1, b.len - 1);
    buf_free(&b);
    buf_free(&s);
    persister_free(p);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mem_copy_semantics),
        cmocka_unit_test(test_mem_save_state),
        cmocka_unit_test(test_file_reopen),
        cmocka_unit_test(test_file_corruption),
        cmocka_unit_test(test_file_bad_dir),
        cmocka_unit_test(test_mem_concurrent),
    };
    return cmocka_run_group_tests_name("persister", tests, NULL, NULL);
}
