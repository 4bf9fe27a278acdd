/* rsm.c - the replicated state machine layer (see rsm.h): the command
 * envelope, the dedup table, submit-and-wait, the applier thread and
 * snapshots. */
/* SOLUTION FILE */
#include "raft/rsm.h"

#include <msgpack.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/queue.h"
#include "common/rand.h"

/* ---- dedup table --------------------------------------------------------
 * Open addressing on the client id (0 marks a free slot; client 0 is never
 * stored). Entries are never deleted: a client's entry lives as long as
 * the service, as in 6.5840 (the table is one small slot per client). */

struct dedup_slot {
    uint64_t client;
    uint64_t seq;
    uint8_t *reply; /* owned; NULL when empty */
    size_t reply_len;
};

struct dedup {
    struct dedup_slot *slots;
    size_t cap; /* power of two, or 0 */
    size_t count;
    size_t reply_bytes;
};

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static void dedup_clear(struct dedup *d)
{
    for (size_t i = 0; i < d->cap; i++)
        free(d->slots[i].reply);
    free(d->slots);
    memset(d, 0, sizeof(*d));
}

static struct dedup_slot *dedup_find(const struct dedup *d, uint64_t client)
{
    if (d->cap == 0 || client == 0)
        return NULL;
    for (size_t i = mix64(client) & (d->cap - 1);; i = (i + 1) & (d->cap - 1)) {
        if (d->slots[i].client == client)
            return &d->slots[i];
        if (d->slots[i].client == 0)
            return NULL;
    }
}

static struct dedup_slot *dedup_slot_for(struct dedup *d, uint64_t client);

static void dedup_grow(struct dedup *d)
{
    struct dedup old = *d;
    d->cap = old.cap ? old.cap * 2 : 16;
    d->slots = xcalloc(d->cap, sizeof(*d->slots));
    d->count = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].client != 0)
            *dedup_slot_for(d, old.slots[i].client) = old.slots[i];
    free(old.slots);
}

/* The slot of client, created (seq 0, no reply) if absent. */
static struct dedup_slot *dedup_slot_for(struct dedup *d, uint64_t client)
{
    if ((d->count + 1) * 10 > d->cap * 7)
        dedup_grow(d);
    size_t i = mix64(client) & (d->cap - 1);
    while (d->slots[i].client != 0 && d->slots[i].client != client)
        i = (i + 1) & (d->cap - 1);
    if (d->slots[i].client == 0) {
        d->slots[i].client = client;
        d->count++;
    }
    return &d->slots[i];
}

/* Record that client's request seq took effect with this reply (copied).
 * Only moves forward. */
static void dedup_record(struct dedup *d, uint64_t client, uint64_t seq,
                         const void *reply, size_t len)
{
    struct dedup_slot *s = dedup_slot_for(d, client);
    if (seq <= s->seq && s->seq != 0)
        return;
    d->reply_bytes -= s->reply_len;
    free(s->reply);
    s->reply = NULL;
    s->reply_len = 0;
    s->seq = seq;
    if (len > 0) {
        s->reply = xmalloc(len);
        memcpy(s->reply, reply, len);
        s->reply_len = len;
        d->reply_bytes += len;
    }
}

/* Wire form of the table: a flat array [client, seq, reply, ...]. */
static void dedup_pack(msgpack_packer *pk, const struct dedup *d)
{
    msgpack_pack_array(pk, (uint32_t)(3 * d->count));
    for (size_t i = 0; i < d->cap; i++) {
        const struct dedup_slot *s = &d->slots[i];
        if (s->client == 0)
            continue;
        msgpack_pack_uint64(pk, s->client);
        msgpack_pack_uint64(pk, s->seq);
        rpc_pack_bin(pk, s->reply, s->reply_len);
    }
}

/* Fold a packed table into d (larger seq wins). 0 or ERR_CORRUPT, in which
 * case d may hold part of it (callers decode into a scratch table first
 * when that matters). */
static int dedup_unpack_into(struct dedup *d, const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size % 3 != 0)
        return ERR_CORRUPT;
    const msgpack_object *it = o->via.array.ptr;
    for (uint32_t i = 0; i < o->via.array.size; i += 3) {
        uint64_t c, s;
        const char *p;
        size_t len;
        if (rpc_obj_u64(&it[i], &c) || rpc_obj_u64(&it[i + 1], &s) ||
            rpc_obj_bytes(&it[i + 2], &p, &len) || c == 0 || s == 0)
            return ERR_CORRUPT;
        dedup_record(d, c, s, p, len);
    }
    return 0;
}

/* ---- the rsm ------------------------------------------------------------- */

/* A submitter waiting for its command (on its stack, linked under mu). */
struct waiter {
    struct waiter *next, *prev;
    uint64_t client, seq; /* identity of the entry */
    int64_t index;        /* 0 until raft_start returned */
    int64_t term;
    bool done;
    int result;           /* ERR_OK or ERR_WRONG_LEADER */
    struct buf *reply;    /* the submitter's; filled under mu */
    /* Signalled when done is set or the rsm dies. One per waiter, so an
     * application wakes only the submitter it decides: a shared broadcast
     * would wake every waiting handler for every applied entry. */
    pthread_cond_t cv;
};

struct rsm {
    int me;
    int64_t maxraftstate;
    const struct rsm_ops *ops; /* borrowed */
    void *svc;                 /* borrowed */
    struct raft *rf;           /* owned */
    struct queue *applyq;      /* owned: Raft pushes, the applier pops */
    pthread_t applier;
    bool applier_started;
    /* Command bytes applied since the last snapshot taken or installed
     * (applier thread only; see maybe_snapshot). */
    size_t applied_since_snap;

    pthread_mutex_t mu;
    /* guarded by mu: */
    bool dead;
    bool killed; /* rsm_kill ran */
    int64_t last_applied;
    struct dedup dedup;
    struct waiter waiters; /* circular list head */
    uint64_t nonce_base;   /* random: anonymous identities never repeat */
    uint64_t nonce_next;
    uint64_t napplied, nduplicates, nsnapshots, ninstalls;
};

/* ---- envelope ------------------------------------------------------------ */

static void envelope_encode(uint64_t client, uint64_t seq, const void *cmd,
                            size_t len, struct buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_msgpack_write);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint64(&pk, client);
    msgpack_pack_uint64(&pk, seq);
    rpc_pack_bin(&pk, cmd, len);
}

/* Decode an envelope; *cmd borrows from u (or data). 0 or ERR_CORRUPT. */
static int envelope_decode(const void *data, size_t len, msgpack_unpacked *u,
                           uint64_t *client, uint64_t *seq, const char **cmd,
                           size_t *cmd_len)
{
    size_t off = 0;
    if (msgpack_unpack_next(u, data, len, &off) != MSGPACK_UNPACK_SUCCESS)
        return ERR_CORRUPT;
    const msgpack_object *o = &u->data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3 ||
        rpc_obj_u64(&o->via.array.ptr[0], client) ||
        rpc_obj_u64(&o->via.array.ptr[1], seq) ||
        rpc_obj_bytes(&o->via.array.ptr[2], cmd, cmd_len))
        return ERR_CORRUPT;
    return 0;
}

/* ---- snapshots ------------------------------------------------------------
 * {i: last applied index, d: dedup table, s: the service's bytes} */

/* Decode a snapshot into scratch state. 0 or ERR_CORRUPT. *svc borrows
 * from u. */
static int snapshot_decode(const void *data, size_t len, msgpack_unpacked *u,
                           int64_t *idx, struct dedup *d, const char **svc,
                           size_t *svc_len)
{
    size_t off = 0;
    if (msgpack_unpack_next(u, data, len, &off) != MSGPACK_UNPACK_SUCCESS)
        return ERR_CORRUPT;
    struct rpc_dec dec;
    rpc_dec_init(&dec, &u->data);
    *idx = rpc_dec_i64(&dec, "i", -1);
    const msgpack_object *dobj = rpc_dec_field(&dec, "d");
    *svc = rpc_dec_bytes(&dec, "s", svc_len);
    if (dec.err || *idx < 0 || !dobj || !*svc)
        return ERR_CORRUPT;
    if (dedup_unpack_into(d, dobj) != 0) {
        dedup_clear(d);
        return ERR_CORRUPT;
    }
    return 0;
}

/* Restore a snapshot (bytes borrowed) if it is ahead of what we applied:
 * the service's part through its callback, then ours. Called by rsm_start
 * and the applier only. Returns true if it was installed; *bad (if not
 * NULL) says it could not be: it does not decode or the service refused
 * it. */
static bool install_snapshot_ex(struct rsm *r, const void *data, size_t len,
                                bool *bad)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    struct dedup d = {0};
    int64_t idx = 0;
    const char *svc = NULL;
    size_t svc_len = 0;
    bool installed = false;
    if (snapshot_decode(data, len, &u, &idx, &d, &svc, &svc_len) != 0) {
        log_error("RSM", r->me, "corrupt snapshot (%zu bytes) ignored", len);
        if (bad)
            *bad = true;
        goto out;
    }
    pthread_mutex_lock(&r->mu);
    bool ahead = idx > r->last_applied;
    pthread_mutex_unlock(&r->mu);
    if (!ahead)
        goto out;
    /* Only the applier (or rsm_start, before it exists) changes
     * last_applied, so nothing moved meanwhile. */
    if (r->ops->restore(r->svc, svc, svc_len) != 0) {
        log_error("RSM", r->me, "service refused snapshot through %lld",
                  (long long)idx);
        if (bad)
            *bad = true;
        goto out;
    }
    pthread_mutex_lock(&r->mu);
    struct dedup old = r->dedup;
    r->dedup = d;
    d = old;
    r->last_applied = idx;
    /* Every waiter whose entry the snapshot covers lost its result (it
     * may have been applied, but its reply is gone): let it retry. */
    for (struct waiter *w = r->waiters.next; w != &r->waiters; w = w->next) {
        if (!w->done && w->index != 0 && w->index <= idx) {
            w->done = true;
            w->result = ERR_WRONG_LEADER;
            pthread_cond_signal(&w->cv);
        }
    }
    pthread_mutex_unlock(&r->mu);
    installed = true;
    log_info("RSM", r->me, "installed snapshot through %lld (%zu bytes)",
             (long long)idx, len);
out:
    dedup_clear(&d);
    msgpack_unpacked_destroy(&u);
    return installed;
}

static bool install_snapshot(struct rsm *r, const void *data, size_t len)
{
    return install_snapshot_ex(r, data, len, NULL);
}

/* Hand Raft a snapshot once its persisted state nears maxraftstate. On the
 * applier thread, so no entry is applied while the service encodes. */
static void maybe_snapshot(struct rsm *r)
{
    if (r->maxraftstate <= 0)
        return;
    size_t size = raft_state_size(r->rf);
    if ((int64_t)size < r->maxraftstate * 9 / 10)
        return;
    /* Behind Raft (committed entries still queued for us)? Entries not yet
     * applied cannot be trimmed, so the state stays above the threshold
     * until we catch up, and snapshotting after every entry - encoding the
     * whole service each time - would only slow the catching up (seen:
     * a 100 KB store snapshotted per entry, the applier falling ever
     * further behind and the log outgrowing 8 x maxraftstate). So while
     * behind, snapshot once half of maxraftstate worth of entries has been
     * applied since the last snapshot. */
    if (queue_len(r->applyq) > 0 &&
        (int64_t)r->applied_since_snap < r->maxraftstate / 2)
        return;
    r->applied_since_snap = 0;
    struct buf svc = BUF_INIT, out = BUF_INIT;
    r->ops->snapshot(r->svc, &svc);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out, buf_msgpack_write);
    pthread_mutex_lock(&r->mu);
    int64_t idx = r->last_applied;
    msgpack_pack_map(&pk, 3);
    rpc_pack_kv_i64(&pk, "i", idx);
    rpc_pack_key(&pk, "d");
#ifndef RSM_BUG_SNAPSHOT_NO_DEDUP
    dedup_pack(&pk, &r->dedup);
#else /* planted bug for labs/kvraft's extra test: the table is left out */
    msgpack_pack_array(&pk, 0);
#endif
    r->nsnapshots++;
    pthread_mutex_unlock(&r->mu);
    rpc_pack_kv_bin(&pk, "s", svc.data, svc.len);
    log_debug("RSM", r->me, "snapshot through %lld: %zu bytes (raft %zu)",
              (long long)idx, out.len, size);
    raft_snapshot(r->rf, idx, out.data, out.len);
    buf_free(&svc);
    buf_free(&out);
}

/* ---- applier ---------------------------------------------------------------- */

/* Answer the waiters this application decides. Called with mu. */
static void settle_locked(struct rsm *r, int64_t index, bool valid,
                          uint64_t client, uint64_t seq, const void *reply,
                          size_t reply_len)
{
    for (struct waiter *w = r->waiters.next; w != &r->waiters; w = w->next) {
        if (w->done)
            continue;
        if (valid && w->client == client && w->seq == seq) {
            w->result = ERR_OK;
            buf_clear(w->reply);
            buf_append(w->reply, reply, reply_len);
        } else if (w->index != 0 && w->index <= index) {
            /* Its slot holds another entry: a new leader overwrote it. */
            w->result = ERR_WRONG_LEADER;
        } else {
            continue;
        }
        w->done = true;
        pthread_cond_signal(&w->cv);
    }
}

static void apply_command(struct rsm *r, const struct raft_apply_msg *m)
{
    int64_t index = m->command_index;
    pthread_mutex_lock(&r->mu);
    bool stale = index <= r->last_applied;
    if (!stale && index != r->last_applied + 1)
        log_warn("RSM", r->me, "apply gap: last %lld, got %lld",
                 (long long)r->last_applied, (long long)index);
    pthread_mutex_unlock(&r->mu);
    if (stale)
        return; /* covered by a snapshot we restored */

    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    uint64_t client = 0, seq = 0;
    const char *cmd = NULL;
    size_t cmd_len = 0;
    bool valid = envelope_decode(m->command, m->command_len, &u, &client,
                                 &seq, &cmd, &cmd_len) == 0;
    if (!valid)
        log_warn("RSM", r->me, "undecodable entry at %lld ignored",
                 (long long)index);

    /* Duplicate? Only the applier changes the table, so the answer cannot
     * change before we record below. */
    struct buf reply = BUF_INIT;
    bool dup = false;
    if (valid && client != 0) {
        pthread_mutex_lock(&r->mu);
        struct dedup_slot *s = dedup_find(&r->dedup, client);
        if (s && seq <= s->seq) {
            dup = true;
            if (seq == s->seq)
                buf_append(&reply, s->reply, s->reply_len);
            r->nduplicates++;
        }
        pthread_mutex_unlock(&r->mu);
    }
    bool took_effect = false;
    if (valid && !dup)
        took_effect = r->ops->apply(r->svc, cmd, cmd_len, index, &reply);

    pthread_mutex_lock(&r->mu);
    r->last_applied = index;
    r->napplied++;
    if (took_effect && client != 0)
        dedup_record(&r->dedup, client, seq, reply.data, reply.len);
    settle_locked(r, index, valid, client, seq, reply.data, reply.len);
    pthread_mutex_unlock(&r->mu);
    buf_free(&reply);
    msgpack_unpacked_destroy(&u);
}

static void *applier_main(void *arg)
{
    struct rsm *r = arg;
    void *item;
    while (queue_pop(r->applyq, &item) == 0) {
        struct raft_apply_msg *m = item;
        if (m->command_valid) {
            r->applied_since_snap += m->command_len;
            apply_command(r, m);
            raft_apply_msg_free(m);
            maybe_snapshot(r);
        } else {
            if (m->snapshot_valid &&
                install_snapshot(r, m->snapshot, m->snapshot_len)) {
                r->applied_since_snap = 0;
                pthread_mutex_lock(&r->mu);
                r->ninstalls++;
#ifdef RSM_BUG_INSTALL_NO_DEDUP /* planted bug for labs/kvraft's extra
                                 * test: an InstallSnapshot restores the
                                 * service's state but not the table */
                dedup_clear(&r->dedup);
#endif
                pthread_mutex_unlock(&r->mu);
            }
            raft_apply_msg_free(m);
        }
    }
    return NULL;
}

/* ---- submit ----------------------------------------------------------------- */

int rsm_submit(struct rsm *r, uint64_t client, uint64_t seq, const void *cmd,
               size_t len, struct buf *reply)
{
    buf_clear(reply);
    struct waiter w = {.client = client, .seq = seq, .reply = reply};
    pthread_mutex_lock(&r->mu);
    if (r->dead) {
        pthread_mutex_unlock(&r->mu);
        return ERR_WRONG_LEADER;
    }
    if (client != 0) {
        /* Took effect here already, hence committed: answer at once,
         * leader or not (a retry after a lost reply). */
        struct dedup_slot *s = dedup_find(&r->dedup, client);
        if (s && seq <= s->seq) {
            if (seq == s->seq)
                buf_append(reply, s->reply, s->reply_len);
            pthread_mutex_unlock(&r->mu);
            return ERR_OK;
        }
    } else {
        w.seq = r->nonce_base + r->nonce_next++;
    }
    /* Register before submitting, so the application cannot slip past
     * us: identity matching does not need the index. */
    clock_cond_init(&w.cv);
    w.prev = r->waiters.prev;
    w.next = &r->waiters;
    r->waiters.prev->next = &w;
    r->waiters.prev = &w;
    pthread_mutex_unlock(&r->mu);

    struct buf env = BUF_INIT;
    envelope_encode(w.client, w.seq, cmd, len, &env);
    int64_t index = 0, term = 0;
    bool leader = raft_start(r->rf, env.data, env.len, &index, &term);
    buf_free(&env);

    pthread_mutex_lock(&r->mu);
    if (!w.done) {
        if (!leader) {
            w.done = true;
            w.result = ERR_WRONG_LEADER;
        } else {
            w.index = index;
            w.term = term;
            if (index <= r->last_applied) {
                /* Something else was applied at our index already. */
                w.done = true;
                w.result = ERR_WRONG_LEADER;
            }
        }
    }
    uint64_t deadline = clock_now_ms() + RSM_WAIT_MAX_MS;
    while (!w.done && !r->dead) {
        uint64_t now = clock_now_ms();
        if (now >= deadline)
            break;
        uint64_t wait = deadline - now;
        if (wait > RSM_LEADER_CHECK_MS)
            wait = RSM_LEADER_CHECK_MS;
        if (clock_cond_wait_ms(&w.cv, &r->mu, wait) == ERR_TIMEOUT &&
            !w.done && !r->dead) {
            /* A deposed leader's entry may never be applied here: stop
             * waiting once the term moved on. Raft is called without mu;
             * w stays registered, so an application still finds it. */
            pthread_mutex_unlock(&r->mu);
            int64_t t = 0;
            bool still = false;
            raft_get_state(r->rf, &t, &still);
            pthread_mutex_lock(&r->mu);
            if (!w.done && (!still || t != term)) {
                w.done = true;
                w.result = ERR_WRONG_LEADER;
            }
        }
    }
    int result = w.done ? w.result : ERR_WRONG_LEADER;
    w.prev->next = w.next;
    w.next->prev = w.prev;
    pthread_mutex_unlock(&r->mu);
    pthread_cond_destroy(&w.cv);
    if (result != ERR_OK)
        buf_clear(reply);
    return result;
}

/* ---- dedup in transit ------------------------------------------------------- */

void rsm_dedup_export(struct rsm *r, struct buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_msgpack_write);
    pthread_mutex_lock(&r->mu);
    dedup_pack(&pk, &r->dedup);
    pthread_mutex_unlock(&r->mu);
}

int rsm_dedup_merge(struct rsm *r, const void *data, size_t len)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    struct dedup d = {0};
    size_t off = 0;
    int rc = ERR_CORRUPT;
    if (msgpack_unpack_next(&u, data, len, &off) == MSGPACK_UNPACK_SUCCESS &&
        dedup_unpack_into(&d, &u.data) == 0) {
        pthread_mutex_lock(&r->mu);
        for (size_t i = 0; i < d.cap; i++)
            if (d.slots[i].client != 0)
                dedup_record(&r->dedup, d.slots[i].client, d.slots[i].seq,
                             d.slots[i].reply, d.slots[i].reply_len);
        pthread_mutex_unlock(&r->mu);
        rc = 0;
    }
    dedup_clear(&d);
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* ---- lifecycle -------------------------------------------------------------- */

struct rsm *rsm_start(struct rpc_end **peers, int n, int me,
                      struct persister *persister, int64_t maxraftstate,
                      const struct rsm_ops *ops, void *svc)
{
    struct rsm *r = xcalloc(1, sizeof(*r));
    r->me = me;
    r->maxraftstate = maxraftstate;
    r->ops = ops;
    r->svc = svc;
    pthread_mutex_init(&r->mu, NULL);
    r->waiters.next = r->waiters.prev = &r->waiters;
    /* Anonymous identities: a random 64-bit base per instance, so an
     * entry submitted by an earlier incarnation of this peer can never be
     * mistaken for ours. Never 0 (seq 0 is not special, but keep it
     * distinct from "unset" in logs). */
    r->nonce_base = rng_os_seed() | 1;

    /* Restore before Raft starts delivering the entries that follow. */
    struct buf snap = BUF_INIT;
    persister_read_snapshot(persister, &snap);
    bool bad = false;
    if (snap.len > 0)
        install_snapshot_ex(r, snap.data, snap.len, &bad);
    if (bad) {
        /* Serving without it would silently lose everything it holds
         * (and Raft, which trusts it, would never resend those entries). */
        fprintf(stderr, "rsm S%d: the persisted snapshot (%zu bytes, in %s) "
                "does not decode: refusing to start without it\n", me,
                snap.len, persister_where(persister));
        exit(1);
    }
    buf_free(&snap);

    /* Unbounded: Raft never blocks on us, so raft_kill can always join its
     * threads even while the applier is busy. */
    r->applyq = queue_new(0);
    r->rf = raft_make(peers, n, me, persister, r->applyq);
    if (pthread_create(&r->applier, NULL, applier_main, r) != 0)
        abort();
    r->applier_started = true;
    return r;
}

int rsm_register(struct rsm *r, struct rpc_server *srv)
{
    return raft_register(r->rf, srv);
}

struct raft *rsm_raft(struct rsm *r) { return r->rf; }

bool rsm_is_leader(struct rsm *r)
{
    int64_t term = 0;
    bool leader = false;
    raft_get_state(r->rf, &term, &leader);
    return leader;
}

void rsm_stats(struct rsm *r, struct rsm_stats *out)
{
    pthread_mutex_lock(&r->mu);
    out->last_applied = r->last_applied;
    out->clients = r->dedup.count;
    out->dedup_bytes = r->dedup.reply_bytes;
    out->applied = r->napplied;
    out->duplicates = r->nduplicates;
    out->snapshots = r->nsnapshots;
    out->installs = r->ninstalls;
    pthread_mutex_unlock(&r->mu);
}

void rsm_kill(struct rsm *r)
{
    pthread_mutex_lock(&r->mu);
    bool first = !r->killed;
    r->killed = true;
    r->dead = true;
    for (struct waiter *w = r->waiters.next; w != &r->waiters; w = w->next)
        pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&r->mu);
    if (!first)
        return;
    raft_kill(r->rf); /* after this nothing is pushed to applyq */
    queue_close(r->applyq);
    if (r->applier_started) {
        pthread_join(r->applier, NULL);
        r->applier_started = false;
    }
}

static void free_apply_msg(void *item) { raft_apply_msg_free(item); }

void rsm_free(struct rsm *r)
{
    if (!r)
        return;
    rsm_kill(r);
    raft_free(r->rf);
    queue_free(r->applyq, free_apply_msg);
    dedup_clear(&r->dedup);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
