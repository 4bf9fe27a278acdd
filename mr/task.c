/* task.c - executing one map or one reduce task (the worker's real work).
 *
 * Map: read the input whole, call the app's Map, partition each emitted pair
 * by ihash(key) % nReduce into one buffered output per reduce task, and
 * rename the nReduce files into place at the end (all of them, empty ones
 * too, so a reduce task can tell a missing file from an empty partition).
 *
 * Reduce: read mr-X-Y for every map task X, group the records by key with a
 * hash table (values keep their arrival order; 6.5840 makes no promise
 * about value order), sort only the distinct keys, call Reduce per key and
 * write the lines through a temporary file renamed to mr-out-Y. Memory is
 * proportional to this reduce task's partition, never to the whole job. */
/* SOLUTION FILE */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "mr/mr.h"
#include "mr/mr_internal.h"

/* Per-partition buffer flushed to its file beyond this many bytes. */
#define MAP_FLUSH_BYTES (256u << 10)

struct map_ctx {
    struct mr_outfile *outs;
    uint32_t nreduce;
    int err; /* ERR_TOOBIG if the app emitted an over-long field */
};

static void map_emit(void *ctx, const char *key, size_t klen,
                     const char *val, size_t vlen)
{
    struct map_ctx *m = ctx;
    if (klen > MR_MAX_FIELD || vlen > MR_MAX_FIELD) {
        m->err = ERR_TOOBIG;
        return;
    }
    struct mr_outfile *f = &m->outs[mr_ihash(key, klen) % m->nreduce];
    mr_rec_append(&f->b, key, klen, val, vlen);
    if (f->b.len > MAP_FLUSH_BYTES)
        mr_out_flush(f, 0);
}

int mr_do_map(const struct mr_app *app, int id, const char *file, int nreduce,
              char *msg, size_t n)
{
    char *data;
    size_t len;
    if (mr_read_file(file, &data, &len) != 0) {
        mr_msg(msg, n, "cannot read %s: %s", file, strerror(errno));
        return ERR_IO;
    }
    struct mr_outfile *outs = xcalloc((size_t)nreduce, sizeof *outs);
    int rc = 0, opened = 0;
    char name[64];
    for (; opened < nreduce; opened++) {
        mr_inter_name(name, sizeof name, id, opened);
        if (mr_out_open(&outs[opened], name) != 0) {
            mr_msg(msg, n, "cannot create a temporary for %s: %s", name,
                   strerror(errno));
            rc = ERR_IO;
            goto out;
        }
    }
    struct map_ctx m = {outs, (uint32_t)nreduce, 0};
    if (app->map(file, data, len, map_emit, &m) != 0) {
        mr_msg(msg, n, "Map failed on %s", file);
        rc = ERR_REMOTE;
        goto out;
    }
    if (m.err) {
        mr_msg(msg, n, "Map on %s emitted a key or value over 4 GiB", file);
        rc = m.err;
        goto out;
    }
    for (int y = 0; y < nreduce; y++) {
        if (outs[y].err) {
            errno = outs[y].err;
            mr_msg(msg, n, "cannot write %s: %s", outs[y].final,
                   strerror(errno));
            rc = ERR_IO;
            goto out;
        }
    }
    for (int y = 0; y < nreduce; y++) {
        mr_inter_name(name, sizeof name, id, y);
        if (mr_out_commit(&outs[y]) != 0) {
            mr_msg(msg, n, "cannot write %s: %s", name, strerror(errno));
            rc = ERR_IO;
            goto out;
        }
    }
out:
    for (int y = 0; y < opened; y++)
        mr_out_abort(&outs[y]); /* no-op for committed files */
    free(outs);
    free(data);
    return rc;
}

/* ------------------------------------------------------------------------
 * Reduce
 *
 * Pass 1 parses every record, finds or adds its key in an open-addressing
 * hash table and notes the key's id per record (4 bytes, sequential). The
 * distinct keys are then sorted, each key gets a slice of one values array
 * (counting sort), and pass 2 re-reads the records in the same order and
 * drops each value pointer into its key's slice. Reduce then gets
 * contiguous arrays straight out of that array. (A linked list per key was
 * three times slower: following it is a cache miss per value.) */
struct kent {
    const char *key;
    uint32_t klen;
    uint32_t hash;
    uint32_t count;
    uint32_t pos; /* next free index of this key's slice in pass 2 */
};

struct group {
    struct kent *keys;
    size_t nkeys, capkeys;
    uint32_t *slots; /* index+1 into keys; 0 = empty */
    size_t nslots;   /* power of two */
    uint32_t *rid;   /* key id of each record, in input order */
    size_t nrec, caprec;
};

static inline uint32_t group_hash(const char *k, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 16777619u;
    }
    /* FNV's low bits mix poorly; fold the high bits down. */
    return h ^ (h >> 15);
}

static void group_rehash(struct group *g)
{
    size_t ns = g->nslots ? g->nslots * 2 : 4096;
    uint32_t *s = xcalloc(ns, sizeof *s);
    for (size_t i = 0; i < g->nkeys; i++) {
        size_t j = g->keys[i].hash & (ns - 1);
        while (s[j])
            j = (j + 1) & (ns - 1);
        s[j] = (uint32_t)i + 1;
    }
    free(g->slots);
    g->slots = s;
    g->nslots = ns;
}

static int group_add(struct group *g, const char *k, size_t kl)
{
    if (g->nrec >= UINT32_MAX - 1 || g->nkeys >= UINT32_MAX - 1)
        return ERR_TOOBIG;
    if (2 * (g->nkeys + 1) > g->nslots)
        group_rehash(g);
    uint32_t h = group_hash(k, kl);
    size_t j = h & (g->nslots - 1);
    uint32_t id = UINT32_MAX;
    while (g->slots[j]) {
        struct kent *c = &g->keys[g->slots[j] - 1];
        if (c->hash == h && c->klen == kl && memcmp(c->key, k, kl) == 0) {
            id = g->slots[j] - 1;
            break;
        }
        j = (j + 1) & (g->nslots - 1);
    }
    if (id == UINT32_MAX) {
        if (g->nkeys == g->capkeys) {
            g->capkeys = g->capkeys ? g->capkeys * 2 : 4096;
            g->keys = xrealloc(g->keys, g->capkeys * sizeof *g->keys);
        }
        id = (uint32_t)g->nkeys;
        g->keys[g->nkeys] = (struct kent){k, (uint32_t)kl, h, 0, 0};
        g->slots[j] = (uint32_t)++g->nkeys;
    }
    g->keys[id].count++;
    if (g->nrec == g->caprec) {
        g->caprec = g->caprec ? g->caprec * 2 : 65536;
        g->rid = xrealloc(g->rid, g->caprec * sizeof *g->rid);
    }
    g->rid[g->nrec++] = id;
    return 0;
}

/* Go's string order: bytewise, a proper prefix first. */
static int key_cmp(const void *a, const void *b, void *keys)
{
    const struct kent *x = (const struct kent *)keys + *(const uint32_t *)a;
    const struct kent *y = (const struct kent *)keys + *(const uint32_t *)b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    return (x->klen > y->klen) - (x->klen < y->klen);
}

static void out_append(void *ctx, const char *data, size_t len)
{
    buf_append(ctx, data, len);
}

int mr_do_reduce(const struct mr_app *app, int id, int nmap, char *msg,
                 size_t n)
{
    char **bufs = xcalloc((size_t)nmap, sizeof *bufs);
    size_t *blens = xcalloc((size_t)nmap, sizeof *blens);
    struct group g = {0};
    uint32_t *order = NULL;
    const char **vals = NULL;
    size_t *lens = NULL;
    struct buf line = BUF_INIT;
    struct mr_outfile out;
    bool opened = false;
    int rc = 0;
    char name[64];
    const char *k, *v;
    size_t kl, vl;

    for (int x = 0; x < nmap; x++) {
        mr_inter_name(name, sizeof name, x, id);
        if (mr_read_file(name, &bufs[x], &blens[x]) != 0) {
            mr_msg(msg, n, "cannot read intermediate file %s: %s", name,
                   strerror(errno));
            rc = ERR_IO;
            goto out;
        }
        struct mr_rec_reader r = {bufs[x], bufs[x] + blens[x]};
        int got;
        while ((got = mr_rec_next(&r, &k, &kl, &v, &vl)) == 1) {
            if ((rc = group_add(&g, k, kl)) != 0) {
                mr_msg(msg, n, "reduce task %d: too many records", id);
                goto out;
            }
        }
        if (got < 0) {
            mr_msg(msg, n, "corrupt intermediate file %s", name);
            rc = ERR_CORRUPT;
            goto out;
        }
    }

    /* Sort the distinct keys; give each a slice of vals/lens. */
    order = xmalloc((g.nkeys ? g.nkeys : 1) * sizeof *order);
    for (size_t i = 0; i < g.nkeys; i++)
        order[i] = (uint32_t)i;
    qsort_r(order, g.nkeys, sizeof *order, key_cmp, g.keys);
    uint32_t pos = 0;
    for (size_t i = 0; i < g.nkeys; i++) {
        g.keys[order[i]].pos = pos;
        pos += g.keys[order[i]].count;
    }
    vals = xmalloc((g.nrec ? g.nrec : 1) * sizeof *vals);
    lens = xmalloc((g.nrec ? g.nrec : 1) * sizeof *lens);
    size_t ri = 0;
    for (int x = 0; x < nmap; x++) {
        struct mr_rec_reader r = {bufs[x], bufs[x] + blens[x]};
        while (mr_rec_next(&r, &k, &kl, &v, &vl) == 1) {
            uint32_t p = g.keys[g.rid[ri++]].pos++;
            vals[p] = v;
            lens[p] = vl;
        }
    }
    free(g.rid);
    g.rid = NULL;

    mr_out_name(name, sizeof name, id);
    if (mr_out_open(&out, name) != 0) {
        mr_msg(msg, n, "cannot create a temporary for %s: %s", name,
               strerror(errno));
        rc = ERR_IO;
        goto out;
    }
    opened = true;
    out.durable = true;
    size_t first = 0;
    for (size_t i = 0; i < g.nkeys; i++) {
        const struct kent *e = &g.keys[order[i]];
        buf_clear(&line);
        buf_append(&line, e->key, e->klen);
        buf_append_byte(&line, ' ');
        if (app->reduce(e->key, e->klen, vals + first, lens + first, e->count,
                        out_append, &line) != 0) {
            mr_msg(msg, n, "Reduce failed on a key in task %d", id);
            rc = ERR_REMOTE;
            goto out;
        }
        first += e->count;
        buf_append_byte(&line, '\n');
        mr_out_write(&out, line.data, line.len);
    }
    opened = false;
    if (mr_out_commit(&out) != 0) {
        mr_msg(msg, n, "cannot write %s: %s", name, strerror(errno));
        rc = ERR_IO;
    }
out:
    if (opened)
        mr_out_abort(&out);
    for (int x = 0; x < nmap; x++)
        free(bufs[x]);
    free(bufs);
    free(blens);
    free(g.keys);
    free(g.slots);
    free(g.rid);
    free(order);
    free(vals);
    free(lens);
    buf_free(&line);
    return rc;
}
