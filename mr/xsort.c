/* xsort.c - external sort for reduce tasks: in-memory batches up to a
 * budget, sorted runs in unlinked temporary files, k-way heap merge. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "mr/mr_internal.h"
#include "mr/xsort.h"

#define RUN_BUF (64u << 10)

struct ent {
    uint64_t koff; /* key at arena + koff, value at koff + klen + 1 */
    uint32_t klen, vlen;
};

struct run {
    int fd;
    char *rbuf; /* RUN_BUF bytes */
    size_t rpos, rlen;
    struct buf cur; /* current record: key '\0' value '\0' */
    size_t klen, vlen;
    bool eof;
};

struct mr_xsort {
    char *dir;
    /* One region of arena_cap bytes: records (key '\0' value '\0') grow
     * from the front, their index (ents, nent entries) down from the
     * back, so small and large records use the budget equally well. */
    char *arena;
    size_t arena_used, arena_cap;
    struct ent *ents; /* arena + arena_cap - nent * sizeof *ents */
    size_t nent;
    struct run *runs;
    size_t nruns;
    bool merging, started;
    size_t next_ent;  /* in-memory iteration */
    size_t *heap;     /* run indices, min-heap by current key */
    size_t nheap;
    struct buf gkey, gvals; /* the group being returned (merge path) */
    const char **vp;
    size_t *vl;
    size_t vcap;
};

struct mr_xsort *mr_xsort_new(const char *dir, size_t budget)
{
    if (budget < (64u << 10))
        budget = 64u << 10;
    struct mr_xsort *x = xcalloc(1, sizeof *x);
    x->dir = xstrdup(dir ? dir : "");
    /* Allocated once; pages not yet touched cost no memory. */
    x->arena_cap = budget & ~(size_t)7;
    x->arena = xmalloc(x->arena_cap);
    x->ents = (struct ent *)(x->arena + x->arena_cap);
    return x;
}

static int key_cmp3(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c)
        return c;
    return (al > bl) - (al < bl);
}

static int ent_cmp(const void *pa, const void *pb, void *arena)
{
    const struct ent *a = pa, *b = pb;
    return key_cmp3((const char *)arena + a->koff, a->klen,
                    (const char *)arena + b->koff, b->klen);
}

/* In-place sort of the index (glibc's qsort_r would malloc a copy as
 * large as the index: memory the budget does not have). Quicksort with a
 * median-of-three pivot, insertion sort for short ranges, recursion on
 * the smaller side only. */
static void ent_swap(struct ent *a, struct ent *b)
{
    struct ent t = *a;
    *a = *b;
    *b = t;
}

static void ent_sort(struct ent *e, size_t n, const char *arena)
{
    void *ar = (void *)(uintptr_t)arena;
    while (n > 16) {
        size_t mid = n / 2;
        if (ent_cmp(&e[mid], &e[0], ar) < 0)
            ent_swap(&e[mid], &e[0]);
        if (ent_cmp(&e[n - 1], &e[0], ar) < 0)
            ent_swap(&e[n - 1], &e[0]);
        if (ent_cmp(&e[n - 1], &e[mid], ar) < 0)
            ent_swap(&e[n - 1], &e[mid]);
        struct ent pivot = e[mid];
        size_t i = 0, j = n - 1;
        for (;;) {
            while (ent_cmp(&e[i], &pivot, ar) < 0)
                i++;
            while (ent_cmp(&pivot, &e[j], ar) < 0)
                j--;
            if (i >= j)
                break;
            ent_swap(&e[i++], &e[j--]);
        }
        /* [0, j] <= pivot <= [j+1, n) */
        size_t left = j + 1;
        if (left < n - left) {
            ent_sort(e, left, arena);
            e += left;
            n -= left;
        } else {
            ent_sort(e + left, n - left, arena);
            n = left;
        }
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && ent_cmp(&e[j], &e[j - 1], ar) < 0; j--)
            ent_swap(&e[j], &e[j - 1]);
}

static int write_full(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return ERR_IO;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Sort the batch in memory and write it as a new run. */
static int spill(struct mr_xsort *x)
{
    if (x->nent == 0)
        return 0;
    ent_sort(x->ents, x->nent, x->arena);
    char *path;
    int fd = mr_tmp_create(x->dir, &path);
    if (fd < 0)
        return ERR_IO;
    /* Unlinked at once: the run lives only as long as the descriptor, so
     * a crashed reduce leaves no file behind. */
    unlink(path);
    free(path);
    struct buf w = BUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < x->nent && rc == 0; i++) {
        const struct ent *e = &x->ents[i];
        mr_rec_append(&w, x->arena + e->koff, e->klen,
                      x->arena + e->koff + e->klen + 1, e->vlen);
        if (w.len >= RUN_BUF) {
            rc = write_full(fd, w.data, w.len);
            w.len = 0;
        }
    }
    if (rc == 0 && w.len)
        rc = write_full(fd, w.data, w.len);
    buf_free(&w);
    if (rc != 0 || lseek(fd, 0, SEEK_SET) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return ERR_IO;
    }
    x->runs = xrealloc(x->runs, (x->nruns + 1) * sizeof *x->runs);
    x->runs[x->nruns++] = (struct run){.fd = fd};
    x->nent = 0;
    x->arena_used = 0;
    x->ents = (struct ent *)(x->arena + x->arena_cap);
    return 0;
}

int mr_xsort_add(struct mr_xsort *x, const char *key, size_t klen,
                 const char *val, size_t vlen)
{
    size_t need = klen + vlen + 2;
    size_t room = (size_t)((char *)x->ents - x->arena) - x->arena_used;
    if (need + sizeof(struct ent) > room) {
        int rc = spill(x);
        if (rc != 0)
            return rc;
        if (need + sizeof(struct ent) > x->arena_cap) {
            /* one record larger than the budget */
            x->arena_cap = (need + sizeof(struct ent) + 7) & ~(size_t)7;
            free(x->arena);
            x->arena = xmalloc(x->arena_cap);
            x->ents = (struct ent *)(x->arena + x->arena_cap);
        }
    }
    x->ents--;
    x->nent++;
    struct ent *e = x->ents;
    e->koff = x->arena_used;
    e->klen = (uint32_t)klen;
    e->vlen = (uint32_t)vlen;
    char *p = x->arena + x->arena_used;
    memcpy(p, key, klen);
    p[klen] = 0;
    memcpy(p + klen + 1, val, vlen);
    p[klen + 1 + vlen] = 0;
    x->arena_used += need;
    return 0;
}

size_t mr_xsort_runs(const struct mr_xsort *x)
{
    return x->nruns;
}

/* ------------------------------------------------------------------------
 * Reading runs */
static int rd_fill(struct run *r)
{
    for (;;) {
        ssize_t n = read(r->fd, r->rbuf, RUN_BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ERR_IO;
        r->rpos = 0;
        r->rlen = (size_t)n;
        return 0;
    }
}

/* n bytes into dst. 0, 1 at a clean EOF before any byte, or an error. */
static int rd_bytes(struct run *r, void *dst, size_t n)
{
    char *d = dst;
    size_t got = 0;
    while (got < n) {
        if (r->rpos == r->rlen) {
            if (rd_fill(r) != 0)
                return ERR_IO;
            if (r->rlen == 0)
                return got == 0 ? 1 : ERR_CORRUPT;
        }
        size_t k = r->rlen - r->rpos;
        if (k > n - got)
            k = n - got;
        memcpy(d + got, r->rbuf + r->rpos, k);
        r->rpos += k;
        got += k;
    }
    return 0;
}

static int rd_varint(struct run *r, size_t *out, bool first)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        uint8_t c;
        int rc = rd_bytes(r, &c, 1);
        if (rc == 1)
            return first && shift == 0 ? 1 : ERR_CORRUPT;
        if (rc)
            return rc;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            if (v > MR_MAX_FIELD)
                return ERR_CORRUPT;
            *out = (size_t)v;
            return 0;
        }
    }
    return ERR_CORRUPT;
}

/* Advance r to its next record (r->eof at the end). */
static int rd_next(struct run *r)
{
    size_t kl, vl;
    int rc = rd_varint(r, &kl, true);
    if (rc == 1) {
        r->eof = true;
        return 0;
    }
    if (rc || (rc = rd_varint(r, &vl, false)) != 0)
        return rc < 0 ? rc : ERR_CORRUPT;
    buf_clear(&r->cur);
    buf_reserve(&r->cur, kl + vl + 2);
    if ((rc = rd_bytes(r, r->cur.data, kl + vl + 2)) != 0)
        return rc < 0 ? rc : ERR_CORRUPT;
    r->cur.len = kl + vl + 2;
    r->klen = kl;
    r->vlen = vl;
    return 0;
}

static int run_cmp(const struct mr_xsort *x, size_t a, size_t b)
{
    const struct run *ra = &x->runs[a], *rb = &x->runs[b];
    return key_cmp3((const char *)ra->cur.data, ra->klen,
                    (const char *)rb->cur.data, rb->klen);
}

static void sift_down(struct mr_xsort *x, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < x->nheap && run_cmp(x, x->heap[l], x->heap[m]) < 0)
            m = l;
        if (l + 1 < x->nheap && run_cmp(x, x->heap[l + 1], x->heap[m]) < 0)
            m = l + 1;
        if (m == i)
            return;
        size_t t = x->heap[i];
        x->heap[i] = x->heap[m];
        x->heap[m] = t;
        i = m;
    }
}

static int start_merge(struct mr_xsort *x)
{
    int rc = spill(x);
    if (rc)
        return rc;
    /* The batch memory is not needed any more: the merge reads runs. */
    free(x->arena);
    x->arena = NULL;
    x->ents = NULL;
    x->merging = true;
    x->heap = xmalloc(x->nruns * sizeof *x->heap);
    for (size_t i = 0; i < x->nruns; i++) {
        struct run *r = &x->runs[i];
        r->rbuf = xmalloc(RUN_BUF);
        if ((rc = rd_next(r)) != 0)
            return rc;
        if (!r->eof)
            x->heap[x->nheap++] = i;
    }
    for (size_t i = x->nheap; i-- > 0;)
        sift_down(x, i);
    return 0;
}

static void vals_reserve(struct mr_xsort *x, size_t n)
{
    if (n <= x->vcap)
        return;
    x->vcap = n > 2 * x->vcap ? n : 2 * x->vcap;
    x->vp = xrealloc(x->vp, x->vcap * sizeof *x->vp);
    x->vl = xrealloc(x->vl, x->vcap * sizeof *x->vl);
}

int mr_xsort_next(struct mr_xsort *x, const char **key, size_t *klen,
                  const char *const **vals, const size_t **lens, size_t *n)
{
    if (!x->started) {
        x->started = true;
        if (x->nruns > 0) {
            int rc = start_merge(x);
            if (rc)
                return rc;
        } else {
            ent_sort(x->ents, x->nent, x->arena);
        }
    }
    size_t cnt = 0;
    if (!x->merging) { /* everything fitted: values point into the arena */
        if (x->next_ent >= x->nent)
            return 0;
        const struct ent *f = &x->ents[x->next_ent];
        do {
            const struct ent *e = &x->ents[x->next_ent];
            vals_reserve(x, cnt + 1);
            x->vp[cnt] = x->arena + e->koff + e->klen + 1;
            x->vl[cnt++] = e->vlen;
            x->next_ent++;
        } while (x->next_ent < x->nent &&
                 ent_cmp(f, &x->ents[x->next_ent], x->arena) == 0);
        *key = x->arena + f->koff;
        *klen = f->klen;
    } else {
        if (x->nheap == 0)
            return 0;
        struct run *top = &x->runs[x->heap[0]];
        buf_clear(&x->gkey);
        buf_append(&x->gkey, top->cur.data, top->klen + 1);
        buf_clear(&x->gvals);
        /* Offsets first (gvals may move while it grows), pointers after. */
        while (x->nheap > 0) {
            top = &x->runs[x->heap[0]];
            if (key_cmp3((const char *)top->cur.data, top->klen,
                         (const char *)x->gkey.data, x->gkey.len - 1) != 0)
                break;
            vals_reserve(x, cnt + 1);
            x->vl[cnt] = top->vlen;
            x->vp[cnt++] = (const char *)(uintptr_t)x->gvals.len;
            buf_append(&x->gvals, top->cur.data + top->klen + 1,
                       top->vlen + 1);
            int rc = rd_next(top);
            if (rc)
                return rc;
            if (top->eof)
                x->heap[0] = x->heap[--x->nheap];
            sift_down(x, 0);
        }
        for (size_t i = 0; i < cnt; i++)
            x->vp[i] = (const char *)x->gvals.data + (uintptr_t)x->vp[i];
        *key = (const char *)x->gkey.data;
        *klen = x->gkey.len - 1;
    }
    *vals = x->vp;
    *lens = x->vl;
    *n = cnt;
    return 1;
}

void mr_xsort_free(struct mr_xsort *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->nruns; i++) {
        close(x->runs[i].fd);
        free(x->runs[i].rbuf);
        buf_free(&x->runs[i].cur);
    }
    free(x->runs);
    free(x->heap);
    free(x->arena);
    free(x->dir);
    buf_free(&x->gkey);
    buf_free(&x->gvals);
    free(x->vp);
    free(x->vl);
    free(x);
}
