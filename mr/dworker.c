/* dworker.c - the worker of the distributed mode (mr/dist.h): runs map
 * tasks into its own directory, serves their outputs to reducers over RPC,
 * runs reduce tasks by fetching partitions in chunks and sorting them
 * externally, and keeps its lease with the coordinator alive. */
#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "mr/dist.h"
#include "mr/mr_internal.h"
#include "mr/xsort.h"
#include "rpc/rpc.h"

#define DEFAULT_GONE_MS 3000
#define RETRY_SLEEP_MS 100
#define CALL_TIMEOUT_MS 10000
#define MAP_FLUSH_BYTES (256u << 10)

struct dw {
    const struct mr_app *app;
    const struct mr_dworker_opts *o;
    char dir[4096], out_dir[4096]; /* each "" or ending in '/' */
    struct rpc_server *srv;
    struct rpc_end *coord;
    int id;           /* -1 until registered; written under mu */
    uint64_t lease_ms; /* written under mu */
    char *split; /* the last map task's input buffer (main thread only) */
    size_t split_cap;
    /* Peers serving map outputs, one end per address (main thread only). */
    struct peer {
        char *addr;
        struct rpc_end *end;
    } *peers;
    size_t npeers;
    /* Heartbeat thread. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    pthread_t hb;
};

/* ------------------------------------------------------------------------
 * Fetch server: a chunk of one of our map outputs. */
static int h_fetch(void *svc, const msgpack_object *args,
                   msgpack_packer *reply)
{
    struct dw *w = svc;
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    int m = rpc_dec_int(&d, "m", -1);
    int r = rpc_dec_int(&d, "r", -1);
    uint64_t off = rpc_dec_u64(&d, "o", 0);
    uint64_t n = rpc_dec_u64(&d, "n", 0);
    if (d.err || m < 0 || r < 0)
        return ERR_BADARGS;
    if (n > MR_DIST_FETCH_CHUNK)
        n = MR_DIST_FETCH_CHUNK;
    char path[4200];
    snprintf(path, sizeof path, "%smr-%d-%d", w->dir, m, r);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        return ERR_NOTFOUND;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (off > size)
        off = size;
    if (n > size - off)
        n = size - off;
    char *b = xmalloc(n ? n : 1);
    int rc = mr_pread_full(fd, b, n, off);
    close(fd);
    if (rc != 0) {
        free(b);
        return ERR_IO;
    }
    msgpack_pack_map(reply, 2);
    rpc_pack_kv_bin(reply, "d", b, n);
    rpc_pack_kv_u64(reply, "sz", size);
    free(b);
    return 0;
}

static const struct rpc_method dw_methods[] = {
    {"Fetch", h_fetch, 0},
};

/* ------------------------------------------------------------------------
 * Coordinator calls */
struct req {
    int w, kind, id, m;
    const char *why, *addr;
    uint64_t off, n;
};

static int enc_req(msgpack_packer *pk, const void *args)
{
    const struct req *q = args;
    msgpack_pack_map(pk, 7);
    rpc_pack_kv_i64(pk, "w", q->w);
    rpc_pack_kv_i64(pk, "k", q->kind);
    rpc_pack_kv_i64(pk, "id", q->id);
    rpc_pack_kv_i64(pk, "m", q->m);
    rpc_pack_kv_u64(pk, "o", q->off);
    rpc_pack_kv_u64(pk, "n", q->n);
    rpc_pack_kv_cstr(pk, q->why ? "why" : "a",
                     q->why ? q->why : q->addr ? q->addr : "");
    return 0;
}

static int enc_register(msgpack_packer *pk, const void *args)
{
    msgpack_pack_map(pk, 1);
    rpc_pack_kv_cstr(pk, "a", args);
    return 0;
}

struct reg {
    int id;
    uint64_t lease_ms;
};

static int dec_register(const msgpack_object *obj, void *out)
{
    struct reg *r = out;
    struct rpc_dec d;
    rpc_dec_init(&d, obj);
    r->id = rpc_dec_int(&d, "w", -1);
    r->lease_ms = rpc_dec_u64(&d, "ls", MR_DIST_DEFAULT_LEASE_MS);
    return d.err ? d.err : r->id < 0 ? ERR_BADARGS : 0;
}

static int dec_dead(const msgpack_object *obj, void *out)
{
    struct rpc_dec d;
    rpc_dec_init(&d, obj);
    *(bool *)out = rpc_dec_bool(&d, "dead", false);
    return d.err;
}

static void *hb_main(void *arg)
{
    struct dw *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        uint64_t period = w->lease_ms / 4 ? w->lease_ms / 4 : 1;
        clock_cond_wait_until(&w->cv, &w->mu,
                              (clock_now_ms() + period) * 1000000ull);
        if (w->stop)
            break;
        struct req q = {.w = w->id};
        pthread_mutex_unlock(&w->mu);
        bool dead = false;
        if (q.w >= 0) /* (the main thread notices death and re-registers) */
            rpc_call(w->coord, "MRCoord.Heartbeat", enc_req, &q, dec_dead,
                     &dead);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

struct task {
    int kind, id, nmap, nreduce;
    bool dead;
    char *file;    /* map */
    uint64_t off, len;
    char **locs;   /* reduce: nmap addresses */
};

static void task_free(struct task *t)
{
    free(t->file);
    for (int i = 0; t->locs && i < t->nmap; i++)
        free(t->locs[i]);
    free(t->locs);
    memset(t, 0, sizeof *t);
}

static int dec_task(const msgpack_object *obj, void *out)
{
    struct task *t = out;
    struct rpc_dec d;
    rpc_dec_init(&d, obj);
    t->kind = rpc_dec_int(&d, "k", MR_TASK_WAIT);
    t->id = rpc_dec_int(&d, "id", -1);
    t->nmap = rpc_dec_int(&d, "nm", 0);
    t->nreduce = rpc_dec_int(&d, "nr", 0);
    t->dead = rpc_dec_bool(&d, "dead", false);
    t->file = rpc_dec_strdup(&d, "f");
    t->off = rpc_dec_u64(&d, "o", 0);
    t->len = rpc_dec_u64(&d, "n", 0);
    const msgpack_object *items;
    uint32_t nl = rpc_dec_array(&d, "l", &items);
    if (!d.err && t->kind == MR_TASK_REDUCE) {
        if (t->nmap < 1 || nl != (uint32_t)t->nmap)
            d.err = ERR_BADARGS;
        else
            t->locs = xcalloc(nl, sizeof *t->locs);
        for (uint32_t i = 0; !d.err && i < nl; i++) {
            const char *p;
            size_t n;
            if (rpc_obj_bytes(&items[i], &p, &n) != 0) {
                d.err = ERR_BADARGS;
                break;
            }
            t->locs[i] = xmalloc(n + 1);
            memcpy(t->locs[i], p, n);
            t->locs[i][n] = 0;
        }
    }
    if (!d.err && ((t->kind == MR_TASK_MAP &&
                    (!t->file || t->nreduce < 1 || t->nreduce > 1000000 ||
                     t->id < 0 || t->len > ((uint64_t)1 << 40))) ||
                   (t->kind == MR_TASK_REDUCE && t->id < 0) ||
                   t->kind < MR_TASK_WAIT || t->kind > MR_TASK_EXIT))
        d.err = ERR_BADARGS;
    if (d.err)
        task_free(t);
    return d.err;
}

/* ------------------------------------------------------------------------
 * Map */
struct chunk_dst {
    char *p;
    size_t got, cap;
};

static int dec_chunk(const msgpack_object *obj, void *out)
{
    struct chunk_dst *c = out;
    struct rpc_dec d;
    rpc_dec_init(&d, obj);
    size_t n;
    const char *p = rpc_dec_bytes(&d, "d", &n);
    if (d.err || !p || n > c->cap - c->got)
        return ERR_PROTO;
    memcpy(c->p + c->got, p, n);
    c->got += n;
    return 0;
}

struct emit_ctx {
    struct mr_outfile *outs;
    uint32_t nreduce;
    bool toobig;
};

static void emit(void *ctx, const char *key, size_t klen, const char *val,
                 size_t vlen)
{
    struct emit_ctx *m = ctx;
    if (klen > MR_MAX_FIELD || vlen > MR_MAX_FIELD) {
        m->toobig = true;
        return;
    }
    struct mr_outfile *f = &m->outs[mr_ihash(key, klen) % m->nreduce];
    mr_rec_append(&f->b, key, klen, val, vlen);
    if (f->b.len > MAP_FLUSH_BYTES)
        mr_out_flush(f, 0);
}

/* Map tasks: keep freed memory for reuse (RPC buffers of every chunk would
 * otherwise be fresh pages). Reduce tasks: the memory budget must hold for
 * the whole process, so give memory back, buffers of 128 KiB and more
 * straight to the system when freed. */
static void malloc_mode(bool keep)
{
#ifdef __GLIBC__
    static int mode = -1;
    if (mode == (int)keep)
        return;
    mode = keep;
    mallopt(M_MMAP_THRESHOLD, keep ? 32 << 20 : 128 << 10);
    mallopt(M_TRIM_THRESHOLD, keep ? 512 << 20 : 1 << 20);
    if (!keep)
        malloc_trim(0);
#else
    (void)keep;
#endif
}

static int do_map(struct dw *w, const struct task *t, char *msg, size_t n)
{
    /* The split buffer is kept for the next map task (fresh memory for
     * every split costs a page fault per 4 KiB); a reduce frees it. */
    if (w->split_cap < t->len + 1) {
        free(w->split);
        w->split_cap = t->len + 1;
        w->split = xmalloc(w->split_cap);
    }
    malloc_mode(true);
    struct chunk_dst c = {w->split, 0, t->len};
    int rc = 0;
    while (c.got < c.cap) {
        size_t before = c.got;
        struct req q = {.w = w->id, .id = t->id, .off = c.got,
                        .n = MR_DIST_CHUNK};
        rc = rpc_call(w->coord, "MRCoord.ReadInput", enc_req, &q, dec_chunk,
                      &c);
        if (rc == 0 && c.got == before)
            rc = ERR_PROTO;
        if (rc) {
            mr_msg(msg, n, "cannot read split %d of %s from the "
                   "coordinator: %s", t->id, t->file, err_msg(rc));
            return ERR_IO;
        }
    }
    c.p[c.got] = 0;
    struct mr_outfile *outs = xcalloc((size_t)t->nreduce, sizeof *outs);
    int opened = 0;
    char name[4200];
    for (; opened < t->nreduce; opened++) {
        snprintf(name, sizeof name, "%smr-%d-%d", w->dir, t->id, opened);
        if (mr_out_open(&outs[opened], name) != 0) {
            mr_msg(msg, n, "cannot create a temporary for %s: %s", name,
                   strerror(errno));
            rc = ERR_IO;
            goto out;
        }
    }
    struct emit_ctx m = {outs, (uint32_t)t->nreduce, false};
    if (w->app->map(t->file, c.p, c.got, emit, &m) != 0) {
        mr_msg(msg, n, "Map failed on %s", t->file);
        rc = ERR_REMOTE;
        goto out;
    }
    if (m.toobig) {
        mr_msg(msg, n, "Map on %s emitted a key or value over 4 GiB",
               t->file);
        rc = ERR_TOOBIG;
        goto out;
    }
    for (int y = 0; y < t->nreduce && rc == 0; y++) {
        snprintf(name, sizeof name, "%smr-%d-%d", w->dir, t->id, y);
        if (mr_out_commit(&outs[y]) != 0) {
            mr_msg(msg, n, "cannot write %s: %s", name, strerror(errno));
            rc = ERR_IO;
        }
    }
out:
    for (int y = 0; y < opened; y++)
        mr_out_abort(&outs[y]);
    free(outs);
    return rc;
}

/* ------------------------------------------------------------------------
 * Reduce */
struct fetch_dst {
    struct mr_xsort *xs;
    struct buf carry; /* a record cut by the chunk boundary */
    uint64_t size, got;
    size_t nrec;
    int err;
};

/* Feed the complete records of carry+chunk to the sorter. */
static int dec_fetch(const msgpack_object *obj, void *out)
{
    struct fetch_dst *f = out;
    struct rpc_dec d;
    rpc_dec_init(&d, obj);
    size_t n;
    const char *p = rpc_dec_bytes(&d, "d", &n);
    f->size = rpc_dec_u64(&d, "sz", 0);
    if (d.err || !p)
        return ERR_PROTO;
    f->got += n;
    buf_append(&f->carry, p, n);
    struct mr_rec_reader r = {(const char *)f->carry.data,
                              (const char *)f->carry.data + f->carry.len};
    const char *k, *v;
    size_t kl, vl;
    const char *last = r.p;
    int got;
    while ((got = mr_rec_next(&r, &k, &kl, &v, &vl)) == 1) {
        if (mr_xsort_add(f->xs, k, kl, v, vl) != 0) {
            f->err = ERR_IO;
            return 0;
        }
        f->nrec++;
        last = r.p;
    }
    /* A truncated tail waits for the next chunk (ERR_CORRUPT here only
     * means "incomplete" until the whole file has arrived). */
    size_t used = (size_t)(last - (const char *)f->carry.data);
    memmove(f->carry.data, f->carry.data + used, f->carry.len - used);
    f->carry.len -= used;
    return 0;
}

static struct rpc_end *peer_end(struct dw *w, const char *addr)
{
    for (size_t i = 0; i < w->npeers; i++)
        if (strcmp(w->peers[i].addr, addr) == 0)
            return w->peers[i].end;
    int err;
    struct rpc_end *e = rpc_end_new(addr, &err);
    if (!e)
        return NULL;
    rpc_end_set_timeout(e, CALL_TIMEOUT_MS);
    w->peers = xrealloc(w->peers, (w->npeers + 1) * sizeof *w->peers);
    w->peers[w->npeers++] = (struct peer){xstrdup(addr), e};
    return e;
}

/* Reset the peak RSS (VmHWM) so that it measures what follows. */
static void rss_reset(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (write(fd, "5", 1) < 0) { /* kernels before 4.0: lifetime peak */
        }
        close(fd);
    }
}

static long rss_peak_kb(void)
{
    char *s;
    size_t n;
    if (mr_read_file("/proc/self/status", &s, &n) != 0)
        return -1;
    char *p = strstr(s, "VmHWM:");
    long kb = p ? strtol(p + 6, NULL, 10) : -1;
    free(s);
    return kb;
}

static void out_append(void *ctx, const char *data, size_t len)
{
    buf_append(ctx, data, len);
}

static int enc_fetch(msgpack_packer *pk, const void *args)
{
    const struct req *q = args;
    msgpack_pack_map(pk, 4);
    rpc_pack_kv_i64(pk, "m", q->m);
    rpc_pack_kv_i64(pk, "r", q->id);
    rpc_pack_kv_u64(pk, "o", q->off);
    rpc_pack_kv_u64(pk, "n", q->n);
    return 0;
}

/* 0 done, 1 a fetch failed (reported; the task is dropped), <0 error. */
static int do_reduce(struct dw *w, const struct task *t, char *msg, size_t n)
{
    size_t budget = w->o->mem_budget ? w->o->mem_budget
                                     : MR_DIST_DEFAULT_MEM;
    free(w->split);
    w->split = NULL;
    w->split_cap = 0;
    malloc_mode(false);
    rss_reset();
    /* Half the budget for sorted batches: the rest covers the program,
     * RPC buffers (a chunk arrives, is decoded and copied), the merge's
     * read buffers and malloc slack. */
    struct fetch_dst f = {.xs = mr_xsort_new(w->dir, budget / 2)};
    int rc = 0;
    for (int m = 0; m < t->nmap && rc == 0; m++) {
        struct rpc_end *e = t->locs[m][0] ? peer_end(w, t->locs[m]) : NULL;
        f.got = 0;
        f.carry.len = 0;
        do {
            struct req q = {.w = w->id, .m = m, .id = t->id, .off = f.got,
                            .n = MR_DIST_FETCH_CHUNK};
            uint64_t before = f.got;
            int err = e ? rpc_call(e, "MRWorker.Fetch", enc_fetch, &q,
                                   dec_fetch, &f)
                        : ERR_UNREACHABLE;
            if (err == 0 && f.err) {
                mr_msg(msg, n, "cannot spill a sorted run in %s: %s",
                       w->dir[0] ? w->dir : ".", strerror(errno));
                rc = ERR_IO;
                break;
            }
            if (err == 0 && f.got == before && f.got < f.size)
                err = ERR_PROTO;
            if (err != 0) {
                log_warn("MR", -1, "reduce task %d: cannot fetch map %d's "
                         "output from %s: %s", t->id, m,
                         t->locs[m][0] ? t->locs[m] : "(nowhere)",
                         err_msg(err));
                struct req ff = {.w = w->id, .id = t->id, .m = m,
                                 .addr = t->locs[m]};
                rpc_call(w->coord, "MRCoord.FetchFailed", enc_req, &ff, NULL,
                         NULL);
                rc = 1;
                break;
            }
        } while (f.got < f.size);
        if (rc == 0 && f.carry.len) {
            mr_msg(msg, n, "corrupt intermediate file mr-%d-%d from %s", m,
                   t->id, t->locs[m]);
            rc = ERR_CORRUPT;
        }
    }
    struct mr_outfile out;
    bool opened = false;
    struct buf line = BUF_INIT;
    char name[4200];
    snprintf(name, sizeof name, "%smr-out-%d", w->out_dir, t->id);
    if (rc == 0 && mr_out_open(&out, name) != 0) {
        mr_msg(msg, n, "cannot create a temporary for %s: %s", name,
               strerror(errno));
        rc = ERR_IO;
    }
    opened = rc == 0;
    out.durable = true;
    const char *k;
    size_t kl, nv;
    const char *const *vals;
    const size_t *lens;
    int got;
    while (rc == 0 && (got = mr_xsort_next(f.xs, &k, &kl, &vals, &lens,
                                           &nv)) != 0) {
        if (got < 0) {
            mr_msg(msg, n, "reduce task %d: reading sorted runs: %s", t->id,
                   err_msg(got));
            rc = got;
            break;
        }
        buf_clear(&line);
        buf_append(&line, k, kl);
        buf_append_byte(&line, ' ');
        if (w->app->reduce(k, kl, vals, lens, nv, out_append, &line) != 0) {
            mr_msg(msg, n, "Reduce failed on a key in task %d", t->id);
            rc = ERR_REMOTE;
            break;
        }
        buf_append_byte(&line, '\n');
        mr_out_write(&out, line.data, line.len);
    }
    if (rc == 0) {
        opened = false;
        if (mr_out_commit(&out) != 0) {
            mr_msg(msg, n, "cannot write %s: %s", name, strerror(errno));
            rc = ERR_IO;
        }
    }
    if (opened)
        mr_out_abort(&out);
    if (w->o->verbose && rc == 0)
        fprintf(stderr, "mrworker: reduce task %d: %zu records, %zu sorted "
                "runs, budget %zu KB, peak RSS %ld KB\n", t->id, f.nrec,
                mr_xsort_runs(f.xs), budget >> 10, rss_peak_kb());
    mr_xsort_free(f.xs);
    buf_free(&f.carry);
    buf_free(&line);
    return rc;
}

/* ------------------------------------------------------------------------
 * The loop */
static int set_dir(char *dst, size_t n, const char *dir)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -1;
    size_t l = strlen(dir);
    if (l + 2 > n) {
        errno = ENAMETOOLONG;
        return -1;
    }
    snprintf(dst, n, "%s%s", dir, dir[l - 1] == '/' ? "" : "/");
    return 0;
}

int mr_dworker_run(const struct mr_app *app, const struct mr_dworker_opts *o)
{
    struct dw w = {.app = app, .o = o, .id = -1};
    if (!o->dir || !o->dir[0] || set_dir(w.dir, sizeof w.dir, o->dir) < 0 ||
        set_dir(w.out_dir, sizeof w.out_dir,
                o->out_dir ? o->out_dir : o->dir) < 0) {
        fprintf(stderr, "mrworker: cannot use directory %s: %s\n",
                o->out_dir && w.dir[0] ? o->out_dir : o->dir,
                strerror(errno));
        return ERR_IO;
    }
    mr_tmp_sweep(w.dir);
    mr_tmp_sweep(w.out_dir);
#ifdef __GLIBC__
    /* Keep RPC threads from each holding a malloc arena of their own. */
    mallopt(M_ARENA_MAX, 2);
#endif
    const char *listen = o->listen ? o->listen : "127.0.0.1:0";
    w.srv = rpc_server_new();
    rpc_server_add_service(w.srv, "MRWorker", &w, dw_methods, 1);
    int rc = rpc_server_listen(w.srv, listen);
    if (rc != 0) {
        fprintf(stderr, "mrworker: cannot listen on %s: %s\n", listen,
                err_msg(rc));
        rpc_server_close(w.srv);
        return rc;
    }
    const char *me = o->advertise ? o->advertise : rpc_server_addr(w.srv);
    pthread_mutex_init(&w.mu, NULL);
    clock_cond_init(&w.cv);
    uint64_t gone_ms = o->gone_ms ? o->gone_ms : DEFAULT_GONE_MS;
    uint64_t failing_since = 0;
    bool ever = false, hb_on = false;
    char msg[1024], where[512];
    snprintf(where, sizeof where, "%s", o->addr ? o->addr : o->addr_file);
    rc = 0;
    for (;;) {
        int err = 0;
        if (!w.coord) {
            char *a = o->addr ? xstrdup(o->addr)
                              : mr_read_addr_file(o->addr_file);
            if (a) {
                w.coord = rpc_end_new(a, &err);
                if (!w.coord) {
                    fprintf(stderr, "mrworker: bad coordinator address %s: "
                            "%s\n", a, err_msg(err));
                    free(a);
                    rc = ERR_ADDR;
                    break;
                }
                rpc_end_set_timeout(w.coord, CALL_TIMEOUT_MS);
                free(a);
            }
        }
        struct task t = {0};
        struct reg reg = {-1, 0};
        if (!w.coord)
            err = ERR_UNREACHABLE;
        else if (w.id < 0)
            err = rpc_call(w.coord, "MRCoord.Register", enc_register, me,
                           dec_register, &reg);
        else
            err = rpc_call(w.coord, "MRCoord.GetTask", enc_req,
                           &(struct req){.w = w.id}, dec_task, &t);
        if (err == ERR_NOMETHOD || err == ERR_BADARGS || err == ERR_PROTO) {
            fprintf(stderr, "mrworker: %s does not speak the distributed "
                    "coordinator protocol (mrcoordinator -D): %s\n", where,
                    err_msg(err));
            rc = err;
            break;
        }
        if (err != 0) {
            uint64_t now = clock_now_ms();
            if (!failing_since)
                failing_since = now;
            if (now - failing_since >= gone_ms) {
                if (!ever) {
                    fprintf(stderr, "mrworker: cannot reach the coordinator "
                            "at %s: %s\n", where, err_msg(err));
                    rc = ERR_UNREACHABLE;
                }
                break;
            }
            clock_sleep_ms(RETRY_SLEEP_MS);
            continue;
        }
        failing_since = 0;
        ever = true;
        if (w.id < 0) { /* that call was Register */
            pthread_mutex_lock(&w.mu);
            w.id = reg.id;
            w.lease_ms = reg.lease_ms;
            pthread_mutex_unlock(&w.mu);
            if (!hb_on)
                hb_on = pthread_create(&w.hb, NULL, hb_main, &w) == 0;
            log_info("MR", -1, "registered as worker %d, serving at %s",
                     w.id, me);
            continue;
        }
        if (t.kind == MR_TASK_EXIT) {
            bool dead = t.dead;
            task_free(&t);
            if (!dead)
                break;
            /* A false alarm (we were too slow to renew the lease, or a
             * reducer could not reach us): our map outputs no longer
             * count. Join again as a new worker. */
            log_warn("MR", -1, "the coordinator declared worker %d dead "
                     "(lease lapsed or a failed fetch); registering again",
                     w.id);
            pthread_mutex_lock(&w.mu);
            w.id = -1;
            pthread_mutex_unlock(&w.mu);
            continue;
        }
        if (t.kind == MR_TASK_WAIT)
            continue;
        msg[0] = 0;
        int trc = t.kind == MR_TASK_MAP ? do_map(&w, &t, msg, sizeof msg)
                                        : do_reduce(&w, &t, msg, sizeof msg);
        struct req q = {.w = w.id, .kind = t.kind, .id = t.id,
                        .why = trc < 0 ? msg : NULL};
        if (trc < 0) {
            fprintf(stderr, "mrworker: %s task %d failed: %s\n",
                    t.kind == MR_TASK_MAP ? "map" : "reduce", t.id, msg);
            rpc_call(w.coord, "MRCoord.TaskFailed", enc_req, &q, NULL, NULL);
            task_free(&t);
            rc = trc;
            break;
        }
        if (trc == 0) {
            if (o->stats && t.kind == MR_TASK_MAP)
                o->stats->maps++;
            else if (o->stats)
                o->stats->reduces++;
            rpc_call(w.coord, "MRCoord.TaskDone", enc_req, &q, NULL, NULL);
        }
        task_free(&t);
    }
    if (hb_on) {
        pthread_mutex_lock(&w.mu);
        w.stop = true;
        pthread_cond_broadcast(&w.cv);
        pthread_mutex_unlock(&w.mu);
        pthread_join(w.hb, NULL);
    }
    rpc_server_close(w.srv);
    if (w.coord) {
        rpc_end_shutdown(w.coord);
        rpc_end_free(w.coord);
    }
    for (size_t i = 0; i < w.npeers; i++) {
        rpc_end_shutdown(w.peers[i].end);
        rpc_end_free(w.peers[i].end);
        free(w.peers[i].addr);
    }
    free(w.peers);
    free(w.split);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    mr_tmp_sweep(w.dir);
    mr_tmp_sweep(w.out_dir);
    return rc;
}
