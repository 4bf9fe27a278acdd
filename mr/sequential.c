/* sequential.c - the simple reference (6.5840's mrsequential.go): map every
 * input, collect all pairs, sort them by key, reduce each group, write one
 * output file. Deliberately the plain algorithm, so it can be trusted as
 * the expected output of the distributed runs; its memory grows with the
 * whole input. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "mr/mr.h"
#include "mr/mr_internal.h"

/* A pair: key at arena+koff (NUL-terminated), value right after its NUL. */
struct kv {
    uint64_t koff;
    uint32_t klen, vlen;
};

struct seq {
    struct buf arena;
    struct kv *kvs;
    size_t n, cap;
    int err;
};

static void seq_emit(void *ctx, const char *key, size_t klen, const char *val,
                     size_t vlen)
{
    struct seq *s = ctx;
    if (klen > MR_MAX_FIELD || vlen > MR_MAX_FIELD) {
        s->err = ERR_TOOBIG;
        return;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->kvs = xrealloc(s->kvs, s->cap * sizeof *s->kvs);
    }
    s->kvs[s->n++] = (struct kv){s->arena.len, (uint32_t)klen, (uint32_t)vlen};
    buf_reserve(&s->arena, klen + vlen + 2);
    buf_append(&s->arena, key, klen);
    buf_append_byte(&s->arena, 0);
    buf_append(&s->arena, val, vlen);
    buf_append_byte(&s->arena, 0);
}

static int kv_cmp(const void *a, const void *b, void *arena)
{
    const struct kv *x = a, *y = b;
    const char *base = arena;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(base + x->koff, base + y->koff, n);
    if (c)
        return c;
    return (x->klen > y->klen) - (x->klen < y->klen);
}

static void out_append(void *ctx, const char *data, size_t len)
{
    buf_append(ctx, data, len);
}

int mr_sequential(const struct mr_app *app, const char *const *files,
                  int nfiles, const char *out_path, char *msg, size_t n)
{
    struct seq s = {BUF_INIT, NULL, 0, 0, 0};
    const char **vals = NULL;
    size_t *lens = NULL;
    struct buf line = BUF_INIT;
    struct mr_outfile out;
    bool opened = false;
    int rc = 0;

    /* Read each input file, pass it to Map, accumulate the output. */
    for (int i = 0; i < nfiles; i++) {
        char *data;
        size_t len;
        if (mr_read_file(files[i], &data, &len) != 0) {
            mr_msg(msg, n, "cannot read %s: %s", files[i], strerror(errno));
            rc = ERR_IO;
            goto out;
        }
        int r = app->map(files[i], data, len, seq_emit, &s);
        free(data);
        if (r != 0) {
            mr_msg(msg, n, "Map failed on %s", files[i]);
            rc = ERR_REMOTE;
            goto out;
        }
        if (s.err) {
            mr_msg(msg, n, "Map on %s emitted a key or value over 4 GiB",
                   files[i]);
            rc = s.err;
            goto out;
        }
    }

    /* A big difference from real MapReduce: all the intermediate data is in
     * one place, rather than partitioned into NxM buckets. */
    qsort_r(s.kvs, s.n, sizeof *s.kvs, kv_cmp, s.arena.data);

    if (mr_out_open(&out, out_path) != 0) {
        mr_msg(msg, n, "cannot create a temporary for %s: %s", out_path,
               strerror(errno));
        rc = ERR_IO;
        goto out;
    }
    opened = true;
    out.durable = true;
    size_t cap = 0;
    /* Call Reduce on each distinct key and print the result. */
    for (size_t i = 0; i < s.n;) {
        size_t j = i + 1;
        while (j < s.n && kv_cmp(&s.kvs[i], &s.kvs[j], s.arena.data) == 0)
            j++;
        if (j - i > cap) {
            cap = j - i;
            vals = xrealloc(vals, cap * sizeof *vals);
            lens = xrealloc(lens, cap * sizeof *lens);
        }
        const char *key = (const char *)s.arena.data + s.kvs[i].koff;
        for (size_t k = i; k < j; k++) {
            vals[k - i] = (const char *)s.arena.data + s.kvs[k].koff +
                          s.kvs[k].klen + 1;
            lens[k - i] = s.kvs[k].vlen;
        }
        buf_clear(&line);
        buf_append(&line, key, s.kvs[i].klen);
        buf_append_byte(&line, ' ');
        if (app->reduce(key, s.kvs[i].klen, vals, lens, j - i, out_append,
                        &line) != 0) {
            mr_msg(msg, n, "Reduce failed");
            rc = ERR_REMOTE;
            goto out;
        }
        buf_append_byte(&line, '\n');
        mr_out_write(&out, line.data, line.len);
        i = j;
    }
    opened = false;
    if (mr_out_commit(&out) != 0) {
        mr_msg(msg, n, "cannot write %s: %s", out_path, strerror(errno));
        rc = ERR_IO;
    }
out:
    if (opened)
        mr_out_abort(&out);
    buf_free(&s.arena);
    free(s.kvs);
    free(vals);
    free(lens);
    buf_free(&line);
    return rc;
}
