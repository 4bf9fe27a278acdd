/* dcoord.c - the coordinator of the distributed mode (mr/dist.h): splits,
 * worker leases, re-running the map tasks of dead workers, backup tasks.
 *
 * Task states: IDLE, RUNNING (by one worker, or two once a backup copy
 * started), DONE. A DONE map task remembers the worker holding its
 * output; if that worker dies before every reduce task is DONE the map
 * task goes back to IDLE (MapReduce paper §3.3). All map tasks must be
 * DONE before a reduce task is handed out, so a reduce always gets a
 * complete list of locations. A reaper thread declares workers dead when
 * their lease lapses; GetTask long-polls like the lab coordinator's. */
/* SOLUTION FILE */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "mr/dist.h"
#include "mr/mr_internal.h"
#include "rpc/rpc.h"

#define POLL_MS 500
#define REAP_TICK_MS 100

enum { T_IDLE, T_RUNNING, T_DONE };

struct dtask {
    int state;
    int runner[2]; /* worker ids, -1 = none */
    uint64_t started_ms;
    int holder;    /* DONE map: the worker with its output */
    int failures;
};

struct dwork {
    char *addr;
    uint64_t seen_ms;
    bool dead;
};

struct mr_dcoord {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char **files;
    int nfiles;
    struct mr_split *splits;
    int nmap, nreduce;
    struct dtask *maps, *reduces;
    int maps_done, reduces_done;
    struct dwork *workers;
    int nworkers;
    double backup_frac;
    uint64_t lease_ms;
    int max_failures;
    bool failed, closing;
    char why[512];
    struct mr_dcoord_stats st;
    pthread_t reaper;
    bool reaper_on;
    struct rpc_server *srv;
    char addr[256];
};

struct mr_dcoord *mr_dcoord_new(const char *const *files, int nfiles,
                                const struct mr_dcoord_opts *opts, char *msg,
                                size_t n)
{
    struct mr_dcoord_opts o = opts ? *opts : (struct mr_dcoord_opts){0};
    if (nfiles < 1 || o.nreduce < 0) {
        mr_msg(msg, n, "no input files");
        return NULL;
    }
    struct mr_split *sp;
    int nsp;
    if (mr_split_files(files, nfiles, o.split_bytes, &sp, &nsp, msg, n) != 0)
        return NULL;
    struct mr_dcoord *c = xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    clock_cond_init(&c->cv);
    c->nfiles = nfiles;
    c->files = xcalloc((size_t)nfiles, sizeof *c->files);
    for (int i = 0; i < nfiles; i++)
        c->files[i] = xstrdup(files[i]);
    c->splits = sp;
    c->nmap = nsp;
    c->nreduce = o.nreduce ? o.nreduce : MR_DEFAULT_NREDUCE;
    c->backup_frac = o.backup_frac < 0 ? MR_DIST_DEFAULT_BACKUP
                                       : o.backup_frac;
    c->lease_ms = o.lease_ms ? o.lease_ms : MR_DIST_DEFAULT_LEASE_MS;
    c->max_failures = o.max_failures ? o.max_failures
                                     : MR_DEFAULT_MAX_FAILURES;
    c->maps = xcalloc((size_t)c->nmap, sizeof *c->maps);
    c->reduces = xcalloc((size_t)c->nreduce, sizeof *c->reduces);
    for (int i = 0; i < c->nmap; i++)
        c->maps[i] = (struct dtask){T_IDLE, {-1, -1}, 0, -1, 0};
    for (int i = 0; i < c->nreduce; i++)
        c->reduces[i] = (struct dtask){T_IDLE, {-1, -1}, 0, -1, 0};
    return c;
}

static bool over_locked(const struct mr_dcoord *c)
{
    return c->closing || c->failed || c->reduces_done == c->nreduce;
}

static bool alive_locked(const struct mr_dcoord *c, int w)
{
    return w >= 0 && w < c->nworkers && !c->workers[w].dead;
}

/* Worker w no longer runs t (finished, failed or died). */
static void drop_runner(struct dtask *t, int w)
{
    for (int i = 0; i < 2; i++)
        if (t->runner[i] == w)
            t->runner[i] = -1;
    if (t->state == T_RUNNING && t->runner[0] < 0 && t->runner[1] < 0)
        t->state = T_IDLE;
}

static void declare_dead_locked(struct mr_dcoord *c, int w, const char *why)
{
    if (!alive_locked(c, w))
        return;
    c->workers[w].dead = true;
    c->st.dead++;
    log_warn("MR", -1, "worker %d (%s) is dead: %s", w, c->workers[w].addr,
             why);
    for (int i = 0; i < c->nmap; i++) {
        struct dtask *t = &c->maps[i];
        drop_runner(t, w);
        /* Its map outputs died with it: needed again unless the reduce
         * phase is over. */
        if (t->state == T_DONE && t->holder == w &&
            c->reduces_done < c->nreduce) {
            t->state = T_IDLE;
            t->holder = -1;
            c->maps_done--;
            c->st.reruns++;
            log_warn("MR", -1, "map task %d runs again: its output was on "
                     "worker %d", i, w);
        }
    }
    for (int i = 0; i < c->nreduce; i++)
        drop_runner(&c->reduces[i], w);
    pthread_cond_broadcast(&c->cv);
}

static void *reaper_main(void *arg)
{
    struct mr_dcoord *c = arg;
    pthread_mutex_lock(&c->mu);
    uint64_t last = clock_now_ms();
    while (!c->closing) {
        uint64_t now = clock_now_ms();
        /* If this process was not scheduled for a while, heartbeats may be
         * waiting unread: a fresh lease for everyone, not a massacre. */
        if (now - last > c->lease_ms / 2)
            for (int w = 0; w < c->nworkers; w++)
                c->workers[w].seen_ms = now;
        last = now;
        for (int w = 0; w < c->nworkers; w++)
            if (!c->workers[w].dead &&
                now - c->workers[w].seen_ms > c->lease_ms)
                declare_dead_locked(c, w, "lease expired");
        clock_cond_wait_until(&c->cv, &c->mu,
                              (now + REAP_TICK_MS) * 1000000ull);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* A task for worker w in ts[0..n): an idle one, else (close to the end
 * of the phase) a backup copy of the oldest task running on one worker. */
static int pick_locked(struct mr_dcoord *c, struct dtask *ts, int n,
                       int left, int w, bool *backup)
{
    *backup = false;
    for (int i = 0; i < n; i++)
        if (ts[i].state == T_IDLE)
            return i;
    if (c->backup_frac <= 0 || left > (int)ceil(c->backup_frac * n))
        return -1;
    int best = -1;
    for (int i = 0; i < n; i++) {
        struct dtask *t = &ts[i];
        if (t->state == T_RUNNING && (t->runner[0] < 0 || t->runner[1] < 0) &&
            t->runner[0] != w && t->runner[1] != w &&
            (best < 0 || t->started_ms < ts[best].started_ms))
            best = i;
    }
    *backup = best >= 0;
    return best;
}

struct dtask_out {
    int kind, id;
    bool dead;
};

static void get_task(struct mr_dcoord *c, int w, struct dtask_out *out)
{
    memset(out, 0, sizeof *out);
    uint64_t give_up = clock_now_ms() + POLL_MS;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        if (!alive_locked(c, w)) {
            out->kind = MR_TASK_EXIT;
            out->dead = true;
            break;
        }
        c->workers[w].seen_ms = clock_now_ms();
        if (over_locked(c)) {
            out->kind = MR_TASK_EXIT;
            break;
        }
        bool map_phase = c->maps_done < c->nmap;
        struct dtask *ts = map_phase ? c->maps : c->reduces;
        int n = map_phase ? c->nmap : c->nreduce;
        int left = map_phase ? c->nmap - c->maps_done
                             : c->nreduce - c->reduces_done;
        bool backup;
        int i = pick_locked(c, ts, n, left, w, &backup);
        if (i >= 0) {
            struct dtask *t = &ts[i];
            if (backup) {
                c->st.backups++;
                log_info("MR", -1, "backup of %s task %d -> worker %d",
                         map_phase ? "map" : "reduce", i, w);
            } else {
                t->state = T_RUNNING;
                t->started_ms = clock_now_ms();
            }
            t->runner[t->runner[0] < 0 ? 0 : 1] = w;
            c->st.started++;
            out->kind = map_phase ? MR_TASK_MAP : MR_TASK_REDUCE;
            out->id = i;
            break;
        }
        uint64_t now = clock_now_ms();
        if (now >= give_up) {
            out->kind = MR_TASK_WAIT;
            break;
        }
        clock_cond_wait_until(&c->cv, &c->mu, give_up * 1000000ull);
    }
    pthread_mutex_unlock(&c->mu);
}

static struct dtask *task_locked(struct mr_dcoord *c, int kind, int id)
{
    if (kind == MR_TASK_MAP && id >= 0 && id < c->nmap)
        return &c->maps[id];
    if (kind == MR_TASK_REDUCE && id >= 0 && id < c->nreduce)
        return &c->reduces[id];
    return NULL;
}

static void task_done(struct mr_dcoord *c, int w, int kind, int id)
{
    pthread_mutex_lock(&c->mu);
    struct dtask *t = task_locked(c, kind, id);
    /* A dead worker's map output is gone (or will be treated as gone);
     * a reduce output is final wherever it was renamed. */
    if (t && (alive_locked(c, w) || kind == MR_TASK_REDUCE)) {
        drop_runner(t, w);
        if (t->state != T_DONE &&
            (kind == MR_TASK_MAP || c->maps_done == c->nmap)) {
            t->state = T_DONE;
            t->holder = w;
            if (kind == MR_TASK_MAP)
                c->maps_done++;
            else
                c->reduces_done++;
            log_info("MR", -1, "%s task %d done by worker %d",
                     kind == MR_TASK_MAP ? "map" : "reduce", id, w);
            pthread_cond_broadcast(&c->cv);
        }
    }
    pthread_mutex_unlock(&c->mu);
}

static void task_failed(struct mr_dcoord *c, int w, int kind, int id,
                        const char *why)
{
    pthread_mutex_lock(&c->mu);
    struct dtask *t = task_locked(c, kind, id);
    if (t && t->state != T_DONE) {
        drop_runner(t, w);
        t->failures++;
        log_warn("MR", -1, "%s task %d failed on worker %d (%d/%d): %s",
                 kind == MR_TASK_MAP ? "map" : "reduce", id, w, t->failures,
                 c->max_failures, why ? why : "?");
        if (t->failures >= c->max_failures && !c->failed) {
            c->failed = true;
            snprintf(c->why, sizeof c->why, "%s task %d failed %d times: %s",
                     kind == MR_TASK_MAP ? "map" : "reduce", id, t->failures,
                     why ? why : "?");
        }
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
}

/* Reducer w could not fetch map task m's output from addr. */
static void fetch_failed(struct mr_dcoord *c, int w, int r, int m,
                         const char *addr)
{
    pthread_mutex_lock(&c->mu);
    /* After the job, a backup reducer's failed fetch (the map worker has
     * exited) means nothing. */
    if (!over_locked(c) && m >= 0 && m < c->nmap &&
        c->maps[m].state == T_DONE) {
        int h = c->maps[m].holder;
        if (alive_locked(c, h) && addr && strcmp(c->workers[h].addr, addr) == 0)
            declare_dead_locked(c, h, "a reducer cannot fetch from it");
    }
    if (r >= 0 && r < c->nreduce)
        drop_runner(&c->reduces[r], w);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* ------------------------------------------------------------------------
 * RPC */
static int h_register(void *svc, const msgpack_object *args,
                      msgpack_packer *reply)
{
    struct mr_dcoord *c = svc;
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    char *a = rpc_dec_strdup(&d, "a");
    if (d.err || !a || !*a) {
        free(a);
        return ERR_BADARGS;
    }
    pthread_mutex_lock(&c->mu);
    int w = c->nworkers++;
    c->workers = xrealloc(c->workers, (size_t)c->nworkers * sizeof
                          *c->workers);
    c->workers[w] = (struct dwork){a, clock_now_ms(), false};
    pthread_mutex_unlock(&c->mu);
    log_info("MR", -1, "worker %d registered, serving at %s", w, a);
    msgpack_pack_map(reply, 2);
    rpc_pack_kv_i64(reply, "w", w);
    rpc_pack_kv_u64(reply, "ls", c->lease_ms);
    return 0;
}

static int h_heartbeat(void *svc, const msgpack_object *args,
                       msgpack_packer *reply)
{
    struct mr_dcoord *c = svc;
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    int w = rpc_dec_int(&d, "w", -1);
    if (d.err)
        return d.err;
    pthread_mutex_lock(&c->mu);
    bool alive = alive_locked(c, w);
    if (alive)
        c->workers[w].seen_ms = clock_now_ms();
    pthread_mutex_unlock(&c->mu);
    msgpack_pack_map(reply, 1);
    rpc_pack_kv_bool(reply, "dead", !alive);
    return 0;
}

static int h_get_task(void *svc, const msgpack_object *args,
                      msgpack_packer *reply)
{
    struct mr_dcoord *c = svc;
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    int w = rpc_dec_int(&d, "w", -1);
    if (d.err)
        return d.err;
    struct dtask_out t;
    get_task(c, w, &t);
    if (t.kind == MR_TASK_MAP) {
        /* Splits and files never change: no lock needed to read them. */
        const struct mr_split *s = &c->splits[t.id];
        msgpack_pack_map(reply, 7);
        rpc_pack_kv_cstr(reply, "f", c->files[s->file]);
        rpc_pack_kv_u64(reply, "o", s->off);
        rpc_pack_kv_u64(reply, "n", s->len);
    } else if (t.kind == MR_TASK_REDUCE) {
        msgpack_pack_map(reply, 5);
        rpc_pack_key(reply, "l");
        pthread_mutex_lock(&c->mu);
        msgpack_pack_array(reply, (size_t)c->nmap);
        for (int m = 0; m < c->nmap; m++) {
            int h = c->maps[m].holder;
            rpc_pack_cstr(reply, h >= 0 ? c->workers[h].addr : "");
        }
        pthread_mutex_unlock(&c->mu);
    } else {
        msgpack_pack_map(reply, 5);
        rpc_pack_kv_bool(reply, "dead", t.dead);
    }
    rpc_pack_kv_i64(reply, "k", t.kind);
    rpc_pack_kv_i64(reply, "id", t.id);
    rpc_pack_kv_i64(reply, "nm", c->nmap);
    rpc_pack_kv_i64(reply, "nr", c->nreduce);
    return 0;
}

static int h_read_input(void *svc, const msgpack_object *args,
                        msgpack_packer *reply)
{
    struct mr_dcoord *c = svc;
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    int id = rpc_dec_int(&d, "id", -1);
    uint64_t off = rpc_dec_u64(&d, "o", 0);
    uint64_t n = rpc_dec_u64(&d, "n", 0);
    if (d.err || id < 0 || id >= c->nmap)
        return ERR_BADARGS;
    const struct mr_split *s = &c->splits[id];
    if (off > s->len)
        return ERR_BADARGS;
    if (n > MR_DIST_CHUNK)
        n = MR_DIST_CHUNK;
    if (n > s->len - off)
        n = s->len - off;
    char *b = xmalloc(n ? n : 1);
    int fd = open(c->files[s->file], O_RDONLY | O_CLOEXEC);
    int rc = fd < 0 ? ERR_IO : mr_pread_full(fd, b, n, s->off + off);
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (rc != 0) { /* the input changed or vanished under us */
        log_warn("MR", -1, "cannot read %s: %s", c->files[s->file],
                 e ? strerror(e) : "file shrank");
        free(b);
        return ERR_IO;
    }
    msgpack_pack_map(reply, 1);
    rpc_pack_kv_bin(reply, "d", b, n);
    free(b);
    return 0;
}

/* The fields of TaskDone, TaskFailed and FetchFailed. */
struct report {
    int w, kind, id, m;
    char *text; /* why / a: owned */
};

static int dec_report(const msgpack_object *args, struct report *r,
                      const char *text_key)
{
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    r->w = rpc_dec_int(&d, "w", -1);
    r->kind = rpc_dec_int(&d, "k", 0);
    r->id = rpc_dec_int(&d, "id", -1);
    r->m = rpc_dec_int(&d, "m", -1);
    r->text = rpc_dec_strdup(&d, text_key);
    if (d.err) {
        free(r->text);
        r->text = NULL;
    }
    return d.err;
}

static int h_task_done(void *svc, const msgpack_object *args,
                       msgpack_packer *reply)
{
    struct report r;
    int err = dec_report(args, &r, "why");
    if (err)
        return err;
    task_done(svc, r.w, r.kind, r.id);
    free(r.text);
    msgpack_pack_map(reply, 0);
    return 0;
}

static int h_task_failed(void *svc, const msgpack_object *args,
                         msgpack_packer *reply)
{
    struct report r;
    int err = dec_report(args, &r, "why");
    if (err)
        return err;
    task_failed(svc, r.w, r.kind, r.id, r.text);
    free(r.text);
    msgpack_pack_map(reply, 0);
    return 0;
}

static int h_fetch_failed(void *svc, const msgpack_object *args,
                          msgpack_packer *reply)
{
    struct report r;
    int err = dec_report(args, &r, "a");
    if (err)
        return err;
    fetch_failed(svc, r.w, r.id, r.m, r.text);
    free(r.text);
    msgpack_pack_map(reply, 0);
    return 0;
}

static const struct rpc_method dcoord_methods[] = {
    {"Register", h_register, RPC_INLINE},
    {"Heartbeat", h_heartbeat, RPC_INLINE},
    {"GetTask", h_get_task, 0}, /* long-polls */
    {"ReadInput", h_read_input, 0},
    {"TaskDone", h_task_done, RPC_INLINE},
    {"TaskFailed", h_task_failed, RPC_INLINE},
    {"FetchFailed", h_fetch_failed, RPC_INLINE},
};

int mr_dcoord_listen(struct mr_dcoord *c, const char *addr)
{
    if (c->srv)
        return ERR_EXISTS;
    struct rpc_server *s = rpc_server_new();
    int rc = rpc_server_add_service(s, "MRCoord", c, dcoord_methods,
                                    sizeof dcoord_methods /
                                        sizeof dcoord_methods[0]);
    if (rc == 0)
        rc = rpc_server_listen(s, addr);
    if (rc != 0) {
        rpc_server_close(s);
        return rc;
    }
    c->srv = s;
    snprintf(c->addr, sizeof c->addr, "%s", rpc_server_addr(s));
    if (pthread_create(&c->reaper, NULL, reaper_main, c) == 0)
        c->reaper_on = true;
    return 0;
}

const char *mr_dcoord_addr(const struct mr_dcoord *c)
{
    return c->addr;
}

int mr_dcoord_nmap(const struct mr_dcoord *c)
{
    return c->nmap;
}

bool mr_dcoord_wait(struct mr_dcoord *c, uint64_t timeout_ms)
{
    uint64_t dl = clock_now_ns() + timeout_ms * 1000000ull;
    pthread_mutex_lock(&c->mu);
    while (!c->failed && c->reduces_done < c->nreduce && clock_now_ns() < dl)
        clock_cond_wait_until(&c->cv, &c->mu, dl);
    bool over = c->failed || c->reduces_done == c->nreduce;
    pthread_mutex_unlock(&c->mu);
    return over;
}

bool mr_dcoord_failed(struct mr_dcoord *c, char *msg, size_t n)
{
    pthread_mutex_lock(&c->mu);
    bool f = c->failed;
    if (f)
        mr_msg(msg, n, "%s", c->why);
    pthread_mutex_unlock(&c->mu);
    return f;
}

void mr_dcoord_stats(struct mr_dcoord *c, struct mr_dcoord_stats *s)
{
    pthread_mutex_lock(&c->mu);
    *s = c->st;
    pthread_mutex_unlock(&c->mu);
}

void mr_dcoord_free(struct mr_dcoord *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->closing = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (c->reaper_on)
        pthread_join(c->reaper, NULL);
    if (c->srv)
        rpc_server_close(c->srv);
    for (int i = 0; i < c->nfiles; i++)
        free(c->files[i]);
    free(c->files);
    for (int i = 0; i < c->nworkers; i++)
        free(c->workers[i].addr);
    free(c->workers);
    free(c->splits);
    free(c->maps);
    free(c->reduces);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
