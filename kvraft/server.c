/* server.c - lab 4 KV server: RPC handlers that submit commands to Raft and
 * wait for their application, the applier thread that executes committed
 * commands (with duplicate detection), and snapshots (see kvraft.h). */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/queue.h"
#include "kvraft/kvraft.h"
#include "kvraft/kvraft_internal.h"
#include "kvsrv/kv_map.h"

/* How long a handler waits for its command to be applied before telling
 * the clerk to try elsewhere, and how often it re-checks leadership while
 * waiting (a deposed leader's entry may never be applied). */
#define KV_WAIT_MAX_MS 1000
#define KV_LEADER_CHECK_MS 50

/* A handler waiting for its command. Matched by identity (client, seq):
 * any application of the same (client, seq) means the operation took
 * effect, exactly once thanks to the dedup table; an application at the
 * index it was given that carries another identity means its entry was
 * overwritten by a new leader. */
struct waiter {
    struct waiter *next;
    struct waiter *prev;
    uint64_t client;
    uint64_t seq;
    int64_t index; /* 0 until raft_start returned */
    int64_t term;
    bool done;
    int result;    /* ERR_OK, ERR_NO_KEY or ERR_WRONG_LEADER */
    bool want_value;
    char *value;   /* owned; Get result */
    size_t vlen;
    /* Signalled when done is set or the server dies. One per waiter, so
     * an application wakes only the handlers it decides (a shared
     * broadcast would wake all of them for every entry). */
    pthread_cond_t cv;
};

struct kv_server {
    int me;
    int64_t maxraftstate;
    struct raft *rf;            /* owned */
    struct queue *applyq;       /* owned; raft pushes, the applier pops */
    struct persister *persister; /* borrowed */
    pthread_t applier;
    bool applier_started;

    pthread_mutex_t mu;
    /* guarded by mu: */
    bool dead;
    bool killed;              /* kv_kill ran (only touched by kv_kill) */
    struct kv_map *store;
    struct kv_dedup *dedup;
    int64_t last_applied;
    struct waiter waiters;    /* circular list head */
    uint64_t nsnapshots;
    uint64_t ninstalls;
};

/* ---- commands ---------------------------------------------------------- */

void kv_op_encode(const struct kv_op *op, struct buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_msgpack_write);
    msgpack_pack_map(&pk, op->type == KV_OP_GET ? 4 : 5);
    rpc_pack_kv_i64(&pk, "o", op->type);
    rpc_pack_kv_str(&pk, "k", op->key, op->klen);
    if (op->type != KV_OP_GET)
        rpc_pack_kv_str(&pk, "v", op->val, op->vlen);
    rpc_pack_kv_u64(&pk, "c", op->client);
    rpc_pack_kv_u64(&pk, "s", op->seq);
}

/* Decode into op (pointers borrow from u, which the caller destroys). */
int kv_op_decode(const void *data, size_t len, msgpack_unpacked *u,
                 struct kv_op *op)
{
    size_t off = 0;
    if (msgpack_unpack_next(u, data, len, &off) != MSGPACK_UNPACK_SUCCESS)
        return ERR_CORRUPT;
    struct rpc_dec d;
    rpc_dec_init(&d, &u->data);
    memset(op, 0, sizeof(*op));
    op->type = rpc_dec_int(&d, "o", -1);
    op->key = rpc_dec_bytes(&d, "k", &op->klen);
    op->val = rpc_dec_bytes(&d, "v", &op->vlen);
    op->client = rpc_dec_u64(&d, "c", 0);
    op->seq = rpc_dec_u64(&d, "s", 0);
    if (d.err || op->type < KV_OP_GET || op->type > KV_OP_APPEND)
        return ERR_CORRUPT;
    if (!op->key)
        op->key = "";
    if (!op->val)
        op->val = "";
    return 0;
}

/* ---- snapshots --------------------------------------------------------- */

struct snap_enc {
    msgpack_packer *pk;
};

static void enc_pair(void *ctx, const char *key, size_t klen,
                     const char *val, size_t vlen)
{
    struct snap_enc *e = ctx;
    rpc_pack_str(e->pk, key, klen);
    rpc_pack_str(e->pk, val, vlen);
}

static void enc_client(void *ctx, const struct kv_dedup_entry *de)
{
    struct snap_enc *e = ctx;
    msgpack_pack_uint64(e->pk, de->client);
    msgpack_pack_uint64(e->pk, de->seq);
}

void kv_snapshot_encode(struct kv_map *store, struct kv_dedup *dedup,
                        int64_t last_applied, struct buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_msgpack_write);
    struct snap_enc e = {&pk};
    msgpack_pack_map(&pk, 3);
    rpc_pack_kv_i64(&pk, "i", last_applied);
    rpc_pack_key(&pk, "kv");
    msgpack_pack_array(&pk, (uint32_t)(2 * kv_map_count(store)));
    kv_map_foreach(store, enc_pair, &e);
    rpc_pack_key(&pk, "d");
    msgpack_pack_array(&pk, (uint32_t)(2 * kv_dedup_count(dedup)));
    kv_dedup_foreach(dedup, enc_client, &e);
}

int kv_snapshot_decode(const void *data, size_t len, struct kv_map *store,
                       struct kv_dedup *dedup, int64_t *last_applied)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = ERR_CORRUPT;
    size_t off = 0;
    if (msgpack_unpack_next(&u, data, len, &off) != MSGPACK_UNPACK_SUCCESS)
        goto out;
    struct rpc_dec d;
    rpc_dec_init(&d, &u.data);
    int64_t idx = rpc_dec_i64(&d, "i", 0);
    const msgpack_object *kvs = NULL, *cls = NULL;
    uint32_t nkv = rpc_dec_array(&d, "kv", &kvs);
    uint32_t ncl = rpc_dec_array(&d, "d", &cls);
    if (d.err || nkv % 2 || ncl % 2)
        goto out;
    kv_map_clear(store);
    kv_dedup_clear(dedup);
    for (uint32_t i = 0; i < nkv; i += 2) {
        const char *k, *v;
        size_t kl, vl;
        if (rpc_obj_bytes(&kvs[i], &k, &kl) ||
            rpc_obj_bytes(&kvs[i + 1], &v, &vl))
            goto out;
        kv_map_put(store, k, kl, v, vl);
    }
    for (uint32_t i = 0; i < ncl; i += 2) {
        uint64_t c, s;
        if (rpc_obj_u64(&cls[i], &c) || rpc_obj_u64(&cls[i + 1], &s) ||
            s == 0)
            goto out;
        kv_dedup_record(dedup, c, s, NULL, 0);
    }
    *last_applied = idx;
    rc = 0;
out:
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* ---- applier ----------------------------------------------------------- */

/* Finish every waiter that this application decides (op is NULL for an
 * undecodable entry or an installed snapshot covering `index`). Called
 * with mu. */
static void settle_waiters_locked(struct kv_server *kv, int64_t index,
                                  const struct kv_op *op, int result,
                                  const char *val, size_t vlen)
{
    for (struct waiter *w = kv->waiters.next; w != &kv->waiters;
         w = w->next) {
        if (w->done)
            continue;
        int r;
        if (op && op->seq != 0 && w->seq == op->seq &&
            w->client == op->client) {
            r = result; /* our operation (or an earlier copy of it) */
        } else if (op && op->seq == 0 && w->seq == 0 && w->index == index) {
            /* Anonymous command (a client that sends no seq): match by
             * position; an equal term makes it the same entry. */
            r = w->term == op->term ? result : ERR_WRONG_LEADER;
        } else if (w->index != 0 && w->index <= index) {
            /* Its slot holds another entry (or a snapshot skipped it):
             * a new leader overwrote it. */
            r = ERR_WRONG_LEADER;
        } else {
            continue;
        }
        w->done = true;
        w->result = r;
        if (w->want_value && r == ERR_OK) {
            w->value = buf_strndup(val, vlen);
            w->vlen = vlen;
        }
        pthread_cond_signal(&w->cv);
    }
}

static void apply_command(struct kv_server *kv, struct raft_apply_msg *m)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    struct kv_op op;
    int drc = kv_op_decode(m->command, m->command_len, &u, &op);

    pthread_mutex_lock(&kv->mu);
    if (m->command_index <= kv->last_applied) {
        /* Already covered by a snapshot we restored or installed. */
        pthread_mutex_unlock(&kv->mu);
        msgpack_unpacked_destroy(&u);
        return;
    }
    if (m->command_index != kv->last_applied + 1)
        log_warn("KV", kv->me, "apply gap: last %lld, got %lld",
                 (long long)kv->last_applied, (long long)m->command_index);
    kv->last_applied = m->command_index;
    if (drc != 0) {
        log_warn("KV", kv->me, "undecodable command at %lld",
                 (long long)m->command_index);
        settle_waiters_locked(kv, m->command_index, NULL, ERR_WRONG_LEADER,
                              NULL, 0);
        pthread_mutex_unlock(&kv->mu);
        msgpack_unpacked_destroy(&u);
        return;
    }
    op.term = m->command_term;
    int result = ERR_OK;
    const char *val = NULL;
    size_t vlen = 0;
    if (op.type == KV_OP_GET) {
        val = kv_map_get(kv->store, op.key, op.klen, &vlen);
        if (!val) {
            result = ERR_NO_KEY;
            val = "";
        }
    } else {
        struct kv_dedup_entry *e = kv_dedup_find(kv->dedup, op.client);
        if (op.seq != 0 && e && op.seq <= e->seq) {
            log_debug("KV", kv->me, "dup c=%llx s=%llu at %lld",
                      (unsigned long long)op.client,
                      (unsigned long long)op.seq,
                      (long long)m->command_index);
        } else {
            if (op.type == KV_OP_PUT)
                kv_map_put(kv->store, op.key, op.klen, op.val, op.vlen);
            else
                kv_map_append(kv->store, op.key, op.klen, op.val, op.vlen,
                              NULL, NULL);
            if (op.seq != 0)
                kv_dedup_record(kv->dedup, op.client, op.seq, NULL, 0);
        }
    }
    settle_waiters_locked(kv, m->command_index, &op, result, val, vlen);
    pthread_mutex_unlock(&kv->mu);
    msgpack_unpacked_destroy(&u);
}

static void apply_snapshot(struct kv_server *kv, struct raft_apply_msg *m)
{
    struct kv_map *store = kv_map_new();
    struct kv_dedup *dedup = kv_dedup_new();
    int64_t idx = 0;
    if (kv_snapshot_decode(m->snapshot, m->snapshot_len, store, dedup,
                           &idx) != 0) {
        log_error("KV", kv->me, "corrupt snapshot at %lld (%zu bytes)",
                  (long long)m->snapshot_index, m->snapshot_len);
        kv_map_free(store);
        kv_dedup_free(dedup);
        return;
    }
    pthread_mutex_lock(&kv->mu);
    if (m->snapshot_index > kv->last_applied) {
        struct kv_map *os = kv->store;
        struct kv_dedup *od = kv->dedup;
        kv->store = store;
        kv->dedup = dedup;
        store = os;
        dedup = od;
        kv->last_applied = m->snapshot_index;
        kv->ninstalls++;
        settle_waiters_locked(kv, m->snapshot_index, NULL, ERR_WRONG_LEADER,
                              NULL, 0);
        log_info("KV", kv->me, "installed snapshot through %lld",
                 (long long)m->snapshot_index);
    }
    pthread_mutex_unlock(&kv->mu);
    kv_map_free(store);
    kv_dedup_free(dedup);
}

/* Hand Raft a snapshot when its persisted state nears maxraftstate. Called
 * by the applier only, without mu held (raft calls must not nest in it). */
static void maybe_snapshot(struct kv_server *kv)
{
    if (kv->maxraftstate <= 0)
        return;
    size_t size = raft_state_size(kv->rf);
    if ((int64_t)size < kv->maxraftstate * 9 / 10)
        return;
    struct buf b = BUF_INIT;
    pthread_mutex_lock(&kv->mu);
    int64_t idx = kv->last_applied;
    kv_snapshot_encode(kv->store, kv->dedup, idx, &b);
    kv->nsnapshots++;
    pthread_mutex_unlock(&kv->mu);
    log_debug("KV", kv->me, "snapshot through %lld: %zu bytes (raft %zu)",
              (long long)idx, b.len, size);
    raft_snapshot(kv->rf, idx, b.data, b.len);
    buf_free(&b);
}

static void *applier_main(void *arg)
{
    struct kv_server *kv = arg;
    void *item;
    while (queue_pop(kv->applyq, &item) == 0) {
        struct raft_apply_msg *m = item;
        if (m->command_valid) {
            apply_command(kv, m);
            raft_apply_msg_free(m);
            maybe_snapshot(kv);
        } else {
            if (m->snapshot_valid)
                apply_snapshot(kv, m);
            raft_apply_msg_free(m);
        }
    }
    return NULL;
}

/* ---- handlers ---------------------------------------------------------- */

/* Submit op and wait for its application. Returns ERR_OK, ERR_NO_KEY or
 * ERR_WRONG_LEADER; a Get's value goes to *val (owned). */
static int submit_and_wait(struct kv_server *kv, struct kv_op *op,
                           char **val, size_t *vlen)
{
    struct waiter w = {.client = op->client, .seq = op->seq,
                       .want_value = op->type == KV_OP_GET};
    clock_cond_init(&w.cv);
    pthread_mutex_lock(&kv->mu);
    if (kv->dead) {
        pthread_mutex_unlock(&kv->mu);
        pthread_cond_destroy(&w.cv);
        return ERR_WRONG_LEADER;
    }
    if (op->type != KV_OP_GET && op->seq != 0) {
        /* Already applied here, hence committed: answer at once, no
         * matter whether we lead (a retry after a lost reply). */
        struct kv_dedup_entry *e = kv_dedup_find(kv->dedup, op->client);
        if (e && op->seq <= e->seq) {
            pthread_mutex_unlock(&kv->mu);
            pthread_cond_destroy(&w.cv);
            return ERR_OK;
        }
    }
    /* Register before submitting so the application cannot slip past us
     * (with identity matching the index is not needed to recognise it). */
    w.prev = kv->waiters.prev;
    w.next = &kv->waiters;
    kv->waiters.prev->next = &w;
    kv->waiters.prev = &w;
    pthread_mutex_unlock(&kv->mu);

    struct buf cmd = BUF_INIT;
    kv_op_encode(op, &cmd);
    int64_t index = 0, term = 0;
    bool leader = raft_start(kv->rf, cmd.data, cmd.len, &index, &term);
    buf_free(&cmd);

    pthread_mutex_lock(&kv->mu);
    if (!leader) {
        if (!w.done) {
            w.done = true;
            w.result = ERR_WRONG_LEADER;
        }
    } else if (!w.done) {
        w.index = index;
        w.term = term;
        if (op->seq == 0 && index <= kv->last_applied) {
            /* Anonymous and already applied: its result is gone. */
            w.done = true;
            w.result = ERR_WRONG_LEADER;
        }
    }
    uint64_t deadline = clock_now_ms() + KV_WAIT_MAX_MS;
    while (!w.done && !kv->dead) {
        uint64_t now = clock_now_ms();
        if (now >= deadline)
            break;
        uint64_t wait = deadline - now;
        if (wait > KV_LEADER_CHECK_MS)
            wait = KV_LEADER_CHECK_MS;
        if (clock_cond_wait_ms(&w.cv, &kv->mu, wait) == ERR_TIMEOUT &&
            !w.done && !kv->dead) {
            /* Raft must be called without mu. w stays registered, so a
             * concurrent application still finds it. */
            pthread_mutex_unlock(&kv->mu);
            int64_t t;
            bool still;
            raft_get_state(kv->rf, &t, &still);
            pthread_mutex_lock(&kv->mu);
            if (!w.done && (!still || t != term)) {
                w.done = true;
                w.result = ERR_WRONG_LEADER;
            }
        }
    }
    int result = w.done ? w.result : ERR_WRONG_LEADER;
    w.prev->next = w.next;
    w.next->prev = w.prev;
    pthread_mutex_unlock(&kv->mu);
    pthread_cond_destroy(&w.cv);
    if (result == ERR_OK && w.value) {
        *val = w.value;
        *vlen = w.vlen;
    } else {
        free(w.value);
    }
    return result;
}

static int decode_args(const msgpack_object *args, struct kv_op *op,
                       int type)
{
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    memset(op, 0, sizeof(*op));
    op->type = type;
    op->key = rpc_dec_bytes(&d, "k", &op->klen);
    op->val = rpc_dec_bytes(&d, "v", &op->vlen);
    op->client = rpc_dec_u64(&d, "c", 0);
    op->seq = rpc_dec_u64(&d, "s", 0);
    if (d.err)
        return ERR_BADARGS;
    if (!op->key)
        op->key = "";
    if (!op->val)
        op->val = "";
    if (type == KV_OP_GET)
        op->vlen = 0;
    return 0;
}

static int h_get(void *svc, const msgpack_object *args, msgpack_packer *reply)
{
    struct kv_server *kv = svc;
    struct kv_op op;
    if (decode_args(args, &op, KV_OP_GET))
        return ERR_BADARGS;
    char *val = NULL;
    size_t vlen = 0;
    int r = submit_and_wait(kv, &op, &val, &vlen);
    msgpack_pack_map(reply, 2);
    rpc_pack_kv_cstr(reply, "e", err_name(r));
    rpc_pack_kv_str(reply, "v", val ? val : "", val ? vlen : 0);
    free(val);
    return 0;
}

static int put_append(struct kv_server *kv, const msgpack_object *args,
                      msgpack_packer *reply, int type)
{
    struct kv_op op;
    if (decode_args(args, &op, type))
        return ERR_BADARGS;
    char *val = NULL;
    size_t vlen = 0;
    int r = submit_and_wait(kv, &op, &val, &vlen);
    free(val);
    msgpack_pack_map(reply, 1);
    rpc_pack_kv_cstr(reply, "e", err_name(r));
    return 0;
}

static int h_put(void *svc, const msgpack_object *args, msgpack_packer *reply)
{
    return put_append(svc, args, reply, KV_OP_PUT);
}

static int h_append(void *svc, const msgpack_object *args,
                    msgpack_packer *reply)
{
    return put_append(svc, args, reply, KV_OP_APPEND);
}

/* Status: leadership and progress, for operators and scripts (which
 * server to kill, is a daemon alive). Raft is called without mu. */
static int h_status(void *svc, const msgpack_object *args,
                    msgpack_packer *reply)
{
    (void)args;
    struct kv_server *kv = svc;
    int64_t term = 0;
    bool leader = false;
    raft_get_state(kv->rf, &term, &leader);
    struct kv_server_stats st;
    kv_server_get_stats(kv, &st);
    msgpack_pack_map(reply, 6);
    rpc_pack_kv_i64(reply, "me", kv->me);
    rpc_pack_kv_bool(reply, "l", leader);
    rpc_pack_kv_i64(reply, "t", term);
    rpc_pack_kv_i64(reply, "a", st.last_applied);
    rpc_pack_kv_u64(reply, "k", st.keys);
    rpc_pack_kv_u64(reply, "r", raft_state_size(kv->rf));
    return 0;
}

/* Get/Put/Append block until their command is applied: worker threads.
 * Status never waits. */
static const struct rpc_method kv_methods[] = {
    {"Get", h_get, 0},
    {"Put", h_put, 0},
    {"Append", h_append, 0},
    {"Status", h_status, RPC_INLINE},
};

/* ---- lifecycle --------------------------------------------------------- */

struct kv_server *kv_server_start(struct rpc_end **peers, int n, int me,
                                  struct persister *persister,
                                  int64_t maxraftstate)
{
    struct kv_server *kv = xcalloc(1, sizeof(*kv));
    kv->me = me;
    kv->maxraftstate = maxraftstate;
    kv->persister = persister;
    pthread_mutex_init(&kv->mu, NULL);
    kv->waiters.next = kv->waiters.prev = &kv->waiters;
    kv->store = kv_map_new();
    kv->dedup = kv_dedup_new();

    /* Restore before Raft starts delivering entries that follow it. */
    struct buf snap = BUF_INIT;
    persister_read_snapshot(persister, &snap);
    if (snap.len > 0) {
        int64_t idx = 0;
        if (kv_snapshot_decode(snap.data, snap.len, kv->store, kv->dedup,
                               &idx) == 0) {
            kv->last_applied = idx;
        } else {
            log_error("KV", me, "corrupt snapshot in persister (%zu bytes)",
                      snap.len);
            kv_map_clear(kv->store);
            kv_dedup_clear(kv->dedup);
        }
    }
    buf_free(&snap);

    /* Unbounded: Raft never blocks on us, so raft_kill can always join its
     * threads even if our applier is busy. */
    kv->applyq = queue_new(0);
    kv->rf = raft_make(peers, n, me, persister, kv->applyq);
    if (pthread_create(&kv->applier, NULL, applier_main, kv) != 0)
        abort();
    kv->applier_started = true;
    return kv;
}

int kv_server_register(struct kv_server *kv, struct rpc_server *srv)
{
    int rc = rpc_server_add_service(srv, "KVServer", kv, kv_methods,
                                    sizeof(kv_methods) /
                                        sizeof(kv_methods[0]));
    if (rc)
        return rc;
    return raft_register(kv->rf, srv);
}

struct raft *kv_server_raft(struct kv_server *kv) { return kv->rf; }

void kv_kill(struct kv_server *kv)
{
    pthread_mutex_lock(&kv->mu);
    bool first = !kv->killed;
    kv->killed = true;
    kv->dead = true;
    for (struct waiter *w = kv->waiters.next; w != &kv->waiters; w = w->next)
        pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&kv->mu);
    if (!first)
        return;
    raft_kill(kv->rf); /* after this nothing is pushed to applyq */
    queue_close(kv->applyq);
    if (kv->applier_started) {
        pthread_join(kv->applier, NULL);
        kv->applier_started = false;
    }
}

static void free_apply_msg(void *item) { raft_apply_msg_free(item); }

void kv_free(struct kv_server *kv)
{
    if (!kv)
        return;
    kv_kill(kv);
    raft_free(kv->rf);
    queue_free(kv->applyq, free_apply_msg);
    kv_map_free(kv->store);
    kv_dedup_free(kv->dedup);
    pthread_mutex_destroy(&kv->mu);
    free(kv);
}

void kv_server_get_stats(struct kv_server *kv, struct kv_server_stats *out)
{
    pthread_mutex_lock(&kv->mu);
    out->last_applied = kv->last_applied;
    out->keys = kv_map_count(kv->store);
    out->clients = kv_dedup_count(kv->dedup);
    out->snapshots = kv->nsnapshots;
    out->installs = kv->ninstalls;
    pthread_mutex_unlock(&kv->mu);
}
