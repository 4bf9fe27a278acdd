/* test_persist_log.c - unit tests for the persister's incremental log
 * view: the blob it stands for, the file store's recovery (reopen, torn
 * tails cut, other damage refused) and group commit from many threads. */
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

/* The model: what the blob must be. */
struct model {
    struct buf head;
    char recs[400][16];
    int64_t first;
    size_t n;
};

static void model_blob(const struct model *m, struct buf *out)
{
    buf_clear(out);
    buf_append(out, m->head.data, m->head.len);
    uint64_t v = m->n;
    while (v >= 0x80) {
        buf_append_byte(out, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    buf_append_byte(out, (uint8_t)v);
    for (size_t i = 0; i < m->n; i++)
        buf_append(out, m->recs[i], strlen(m->recs[i]));
}

static void expect_model(struct persister *p, const struct model *m,
                         const char *snap)
{
    struct buf want = BUF_INIT, got = BUF_INIT;
    model_blob(m, &want);
    persister_read_state(p, &got);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.data, want.data, want.len);
    assert_int_equal(persister_state_size(p), want.len);
    persister_read_snapshot(p, &got);
    assert_int_equal(got.len, strlen(snap));
    if (got.len)
        assert_memory_equal(got.data, snap, got.len);
    assert_int_equal(persister_log_first(p), m->first);
    assert_int_equal(persister_log_count(p), m->n);
    buf_free(&want);
    buf_free(&got);
}

static void m_append(struct persister *p, struct model *m, const char *tag)
{
    int64_t index = m->first + (int64_t)m->n;
    snprintf(m->recs[m->n], sizeof(m->recs[0]), "%s%lld", tag,
             (long long)index);
    assert_int_equal(persister_log_append(p, index, m->recs[m->n],
                                          strlen(m->recs[m->n])), 0);
    m->n++;
}

static void m_head(struct persister *p, struct model *m, const char *h)
{
    buf_clear(&m->head);
    buf_append(&m->head, h, strlen(h));
    assert_int_equal(persister_log_head(p, h, strlen(h)), 0);
}

static void m_truncate(struct persister *p, struct model *m, int64_t index)
{
    assert_int_equal(persister_log_truncate(p, index), 0);
    if (index < m->first)
        index = m->first;
    if (index < m->first + (int64_t)m->n)
        m->n = (size_t)(index - m->first);
}

static void m_snapshot(struct persister *p, struct model *m, int64_t index,
                       const char *h, const char *snap)
{
    assert_int_equal(persister_log_snapshot(p, index, h, strlen(h), snap,
                                            strlen(snap)), 0);
    buf_clear(&m->head);
    buf_append(&m->head, h, strlen(h));
    size_t drop = 0;
    while (drop < m->n && m->first + (int64_t)drop <= index)
        drop++;
    memmove(m->recs, m->recs + drop, (m->n - drop) * sizeof(m->recs[0]));
    m->n -= drop;
    m->first = index + 1;
}

/* A run of operations exercising every call; afterwards p holds m. */
static void script(struct persister *p, struct model *m)
{
    memset(m, 0, sizeof(*m));
    buf_init(&m->head);
    m->first = 1;
    /* Only the blob view until the first snapshot. */
    assert_int_equal(persister_log_append(p, 1, "x", 1), ERR_INVAL);
    m_snapshot(p, m, 0, "H0", "");
    for (int i = 0; i < 200; i++) /* a count over 127: two varint bytes */
        m_append(p, m, "a");
    assert_int_equal(persister_log_append(p, 5, "x", 1), ERR_INVAL);
    m_head(p, m, "H1");
    m_truncate(p, m, 150);
    m_append(p, m, "b");
    m_snapshot(p, m, 100, "H2", "snap-100");
    m_append(p, m, "c");
    m_truncate(p, m, 500); /* nothing to drop */
    /* Below the snapshot with records left: refused. */
    assert_int_equal(persister_log_snapshot(p, 50, "h", 1, "s", 1),
                     ERR_INVAL);
    /* InstallSnapshot past the log: truncate all, then snapshot. */
    m_truncate(p, m, 1);
    m_snapshot(p, m, 300, "H3", "snap-300");
    for (int i = 0; i < 10; i++)
        m_append(p, m, "d");
    m_head(p, m, "H4");
}

static void test_mem_log_view(void **state)
{
    (void)state;
    struct persister *p = persister_new_mem();
    struct model m;
    script(p, &m);
    expect_model(p, &m, "snap-300");
    /* A copy holds the same, independently. */
    struct persister *q = persister_copy(p);
    m_append(p, &m, "e");
    m.n--;
    expect_model(q, &m, "snap-300");
    /* persister_save() switches back to the blob view. */
    assert_int_equal(persister_save(q, "blob", 4, "s", 1), 0);
    assert_false(persister_log_active(q));
    assert_int_equal(persister_state_size(q), 4);
    persister_free(q);
    persister_free(p);
    buf_free(&m.head);
}

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/test_persist_log.XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}


/* Names of the segment files, ascending; returns how many. */
static int segments(const char *dir, char names[][1024], int max)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "log-", 4) == 0 && n < max)
            snprintf(names[n++], 1024, "%s/%s", dir, e->d_name);
    closedir(d);
    qsort(names, (size_t)n, 1024,
          (int (*)(const void *, const void *))strcmp);
    return n;
}

static void sync_all(struct persister *p)
{
    uint64_t t;
    assert_int_equal(persister_log_flush(p, &t), 0);
    assert_int_equal(persister_sync(p, t), 0);
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* The file store holds what the memory model holds, across reopens; a
 * snapshot (checkpoint) leaves one fresh segment. */
static void test_file_log_reopen(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    int err;
    struct persister *p = persister_open_dir(dir, &err);
    assert_non_null(p);
    struct model m;
    script(p, &m);
    sync_all(p);
    expect_model(p, &m, "snap-300");
    char names[8][1024];
    assert_int_equal(segments(dir, names, 8), 1);
    persister_free(p);
    p = persister_open_dir(dir, &err);
    assert_non_null(p);
    expect_model(p, &m, "snap-300");
    /* Records written after a reopen go to a new segment. */
    m_append(p, &m, "f");
    m_head(p, &m, "H5");
    sync_all(p);
    persister_free(p);
    assert_int_equal(segments(dir, names, 8), 2);
    p = persister_open_dir(dir, &err);
    assert_non_null(p);
    expect_model(p, &m, "snap-300");
    persister_free(p);
    testdir_remove(dir);
    free(dir);
    buf_free(&m.head);
}

/* A directory holding script()'s state, reopened: further records go to
 * a second segment. Returns the open persister; *dir is owned. */
static struct persister *scripted_dir(char **dir, struct model *m)
{
    *dir = make_tmpdir();
    int err;
    struct persister *p = persister_open_dir(*dir, &err);
    assert_non_null(p);
    script(p, m);
    sync_all(p);
    persister_free(p);
    p = persister_open_dir(*dir, &err);
    assert_non_null(p);
    return p;
}

/* Cutting the newest segment anywhere inside its last record (a crash
 * during the append) loses exactly that record; zeros after it too. */
static void test_file_torn_tail(void **state)
{
    (void)state;
    char *dir;
    int err;
    struct model m;
    struct persister *p = scripted_dir(&dir, &m);
    char names[8][1024];
    assert_int_equal(segments(dir, names, 8), 2);
    off_t before = file_size(names[1]);
    m_append(p, &m, "g");
    sync_all(p);
    persister_free(p);
    off_t after = file_size(names[1]);
    assert_true(after > before);
    uint8_t full[256];
    int fd = open(names[1], O_RDONLY);
    assert_int_equal(read(fd, full, (size_t)after), (ssize_t)after);
    close(fd);
    struct model shorter = m;
    shorter.n--;
    for (off_t cut = before; cut <= after; cut++) {
        fd = open(names[1], O_WRONLY | O_TRUNC);
        assert_int_equal(write(fd, full, (size_t)cut), (ssize_t)cut);
        if (cut == before) { /* allocated but never written */
            uint8_t zeros[40] = {0};
            assert_int_equal(write(fd, zeros, sizeof(zeros)),
                             (ssize_t)sizeof(zeros));
        }
        close(fd);
        p = persister_open_dir(dir, &err);
        assert_non_null(p);
        expect_model(p, cut == after ? &m : &shorter, "snap-300");
        persister_free(p);
        /* Each open added an empty segment: drop it again. */
        assert_int_equal(segments(dir, names, 8), 3);
        unlink(names[2]);
    }
    testdir_remove(dir);
    free(dir);
    buf_free(&m.head);
}

/* Damage that is not a torn tail is ERR_CORRUPT, never skipped: any byte
 * of the checkpoint, any byte of an older segment, a record in the middle
 * of the newest one. */
static void test_file_corruption_refused(void **state)
{
    (void)state;
    char *dir;
    int err;
    struct model m;
    struct persister *p = scripted_dir(&dir, &m);
    m_append(p, &m, "h");
    m_append(p, &m, "h");
    sync_all(p);
    persister_free(p);
    char names[8][1024];
    assert_int_equal(segments(dir, names, 8), 2);
    char ckpt[1024];
    snprintf(ckpt, sizeof(ckpt), "%s/checkpoint", dir);
    const char *files[3] = {ckpt, names[0], names[1]};
    for (int f = 0; f < 3; f++) {
        off_t size = file_size(files[f]);
        uint8_t *orig = malloc((size_t)size);
        int fd = open(files[f], O_RDONLY);
        assert_int_equal(read(fd, orig, (size_t)size), (ssize_t)size);
        close(fd);
        /* In the newest segment: only bytes of its first record (the
         * second one after it makes it no tail). */
        off_t lo = 0, hi = size;
        if (f == 2)
            lo = 16, hi = 16 + 12 + 17 + 4;
        for (off_t i = lo; i < hi; i++) {
            orig[i] ^= 0x10;
            fd = open(files[f], O_WRONLY | O_TRUNC);
            assert_int_equal(write(fd, orig, (size_t)size), (ssize_t)size);
            close(fd);
            orig[i] ^= 0x10;
            err = 0;
            p = persister_open_dir(dir, &err);
            if (p) {
                fprintf(stderr, "file %d byte %lld not detected\n", f,
                        (long long)i);
                persister_free(p);
            }
            assert_null(p);
            assert_int_equal(err, ERR_CORRUPT);
        }
        fd = open(files[f], O_WRONLY | O_TRUNC);
        assert_int_equal(write(fd, orig, (size_t)size), (ssize_t)size);
        close(fd);
        free(orig);
    }
    p = persister_open_dir(dir, &err);
    assert_non_null(p);
    expect_model(p, &m, "snap-300");
    persister_free(p);
    testdir_remove(dir);
    free(dir);
    buf_free(&m.head);
}

struct writer {
    struct persister *p;
    pthread_mutex_t *mu;
    int64_t *next;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < 100; i++) {
        uint64_t t;
        pthread_mutex_lock(w->mu);
        int64_t index = (*w->next)++;
        char rec[32];
        int n = snprintf(rec, sizeof(rec), "r%lld", (long long)index);
        assert_int_equal(persister_log_append(w->p, index, rec, (size_t)n),
                         0);
        assert_int_equal(persister_log_flush(w->p, &t), 0);
        pthread_mutex_unlock(w->mu);
        assert_int_equal(persister_sync(w->p, t), 0);
    }
    return NULL;
}

/* Writers append under their own lock and sync without it: every record
 * is there after a reopen. */
static void test_file_group_commit(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    int err;
    struct persister *p = persister_open_dir(dir, &err);
    assert_int_equal(persister_log_snapshot(p, 0, "H", 1, NULL, 0), 0);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    int64_t next = 1;
    struct writer w = {p, &mu, &next};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, writer_main, &w);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    persister_free(p);
    p = persister_open_dir(dir, &err);
    assert_non_null(p);
    assert_int_equal(persister_log_count(p), 400);
    persister_free(p);
    testdir_remove(dir);
    free(dir);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mem_log_view),
        cmocka_unit_test(test_file_log_reopen),
        cmocka_unit_test(test_file_torn_tail),
        cmocka_unit_test(test_file_corruption_refused),
        cmocka_unit_test(test_file_group_commit),
    };
    return cmocka_run_group_tests_name("persist_log", tests, NULL, NULL);
}
