/* config.c - the Raft tester's cluster helpers (see config.h). Structure and
 * messages follow 6.5840's raft/config.go; C-specific parts are the
 * instance lifetime (a crashed Raft is joined and freed, where Go leaves it
 * to the garbage collector) and the byte encoding of commands. */
#include "labs/raft/config.h"

#include <inttypes.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/persister.h"
#include "common/queue.h"
#include "labs/net/labnet.h"
#include "labs/tester/tester.h"
#include "labs/timeline/timeline.h"
#include "raft/raft.h"
#include "rpc/rpc.h"

/* Go's applyCh is unbuffered; a queue of one keeps Raft's apply path as
 * tightly coupled to the applier (which calls raft_snapshot() from the
 * consuming thread) as in the original, so a Raft that holds its lock
 * while pushing deadlocks here too instead of only under kvraft. */
#define APPLY_QUEUE_CAP 1
#define ENDNAME_LEN 20

/* ---- commands ----------------------------------------------------------------- */

static int rcmd_write(void *data, const char *p, size_t n)
{
    struct rcmd *c = data;
    if (c->len + n > RCMD_INLINE)
        return -1;
    memcpy(c->small + c->len, p, n);
    c->len += n;
    return 0;
}

struct rcmd rcmd_int(int64_t v)
{
    struct rcmd c;
    memset(&c, 0, sizeof(c));
    msgpack_packer pk;
    msgpack_packer_init(&pk, &c, rcmd_write);
    if (msgpack_pack_int64(&pk, v) != 0)
        abort(); /* at most 9 bytes: cannot happen */
    return c;
}

struct rcmd rcmd_str(const char *s, size_t n)
{
    struct rcmd c;
    memset(&c, 0, sizeof(c));
    struct buf b = BUF_INIT;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, buf_msgpack_write);
    msgpack_pack_str_with_body(&pk, s, n);
    c.heap = buf_release(&b, &c.len);
    return c;
}

void rcmd_free(struct rcmd *c)
{
    free(c->heap);
    memset(c, 0, sizeof(*c));
}

static bool bytes_to_int(const uint8_t *p, size_t len, int64_t *v)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    bool ok = false;
    if (len > 0 &&
        msgpack_unpack_next(&u, (const char *)p, len, &off) ==
            MSGPACK_UNPACK_SUCCESS &&
        off == len) {
        if (u.data.type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
            u.data.via.u64 <= INT64_MAX) {
            *v = (int64_t)u.data.via.u64;
            ok = true;
        } else if (u.data.type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
            *v = u.data.via.i64;
            ok = true;
        }
    }
    msgpack_unpacked_destroy(&u);
    return ok;
}

bool rcmd_to_int(const struct rcmd *c, int64_t *v)
{
    return bytes_to_int(rcmd_bytes(c), c->len, v);
}

void rcmd_format(const uint8_t *p, size_t len, char *buf, size_t n)
{
    int64_t v;
    if (p == NULL) {
        snprintf(buf, n, "<nil>");
        return;
    }
    if (bytes_to_int(p, len, &v)) {
        snprintf(buf, n, "%" PRId64, v);
        return;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, (const char *)p, len, &off) ==
        MSGPACK_UNPACK_SUCCESS) {
        if (u.data.type == MSGPACK_OBJECT_NIL) {
            snprintf(buf, n, "<nil>");
        } else if (u.data.type == MSGPACK_OBJECT_STR) {
            /* Go prints the whole 5000-char string; a prefix is enough. */
            int sz = (int)u.data.via.str.size;
            if (sz > 40)
                snprintf(buf, n, "%.40s...(%d chars)", u.data.via.str.ptr, sz);
            else
                snprintf(buf, n, "%.*s", sz, u.data.via.str.ptr);
        } else {
            snprintf(buf, n, "<%zu-byte value>", len);
        }
    } else {
        snprintf(buf, n, "<%zu undecodable bytes>", len);
    }
    msgpack_unpacked_destroy(&u);
}

/* ---- the cluster -------------------------------------------------------------- */

/* One applied command of one server's log (data == NULL: not applied). */
struct centry {
    uint8_t *data;
    size_t len;
};

/* cfg.logs[i]: what server i applied, by index (Go: map[int]interface{}). */
struct clog {
    struct centry *v;
    size_t cap; /* valid indices 0..cap-1 */
};

/* One running Raft instance: created by start1, torn down by crash1. */
struct rinst {
    struct rcfg *cfg;
    int me;
    enum rcfg_applier kind;
    struct raft *rf;
    struct rpc_server *srv;
    struct queue *applyq;
    pthread_t applier;
    char **endnames;        /* [n]; NULL for self */
    struct rpc_end **ends;  /* [n]; owned by the network */
    int refs;               /* callers inside rf (cfg->mu) */
    atomic_bool killed;
};

struct rcfg {
    pthread_mutex_t mu;
    pthread_cond_t refs_cond; /* a rinst's refs dropped to 0 */
    int n;
    bool snapshot;
    struct labnet *net;
    char (*names)[16];          /* server names "0".."n-1" */
    struct rinst **inst;        /* Go: rafts[] (NULL = crashed) */
    bool *connected;
    struct persister **saved;
    struct clog *logs;
    int64_t *last_applied;
    int64_t max_index;
    int64_t max_index0;
    uint64_t rpcs0;
    uint64_t bytes0;
    uint64_t t0_ns;
    atomic_int finished;
};

int rcfg_n(const struct rcfg *cfg) { return cfg->n; }

static struct centry *log_at(struct clog *l, int64_t index)
{
    if (index < 0 || (uint64_t)index >= l->cap || l->v[index].data == NULL)
        return NULL;
    return &l->v[index];
}

static void log_set(struct clog *l, int64_t index, const void *p, size_t len)
{
    if ((uint64_t)index >= l->cap) {
        size_t cap = l->cap ? l->cap : 64;
        while (cap <= (uint64_t)index)
            cap *= 2;
        l->v = xrealloc(l->v, cap * sizeof(*l->v));
        memset(l->v + l->cap, 0, (cap - l->cap) * sizeof(*l->v));
        l->cap = cap;
    }
    struct centry *e = &l->v[index];
    free(e->data);
    e->data = xmalloc(len ? len : 1);
    memcpy(e->data, p, len);
    e->len = len;
}

static void log_clear(struct clog *l)
{
    for (size_t k = 0; k < l->cap; k++)
        free(l->v[k].data);
    free(l->v);
    l->v = NULL;
    l->cap = 0;
}

static bool entry_eq(const struct centry *a, const struct centry *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* Hold a reference to server i's instance so it is not freed while the
 * caller is inside Raft (crash1 waits for references to drop). */
static struct rinst *inst_get(struct rcfg *cfg, int i)
{
    pthread_mutex_lock(&cfg->mu);
    struct rinst *in = cfg->inst[i];
    if (in)
        in->refs++;
    pthread_mutex_unlock(&cfg->mu);
    return in;
}

static void inst_put(struct rcfg *cfg, struct rinst *in)
{
    pthread_mutex_lock(&cfg->mu);
    if (--in->refs == 0)
        pthread_cond_broadcast(&cfg->refs_cond);
    pthread_mutex_unlock(&cfg->mu);
}

bool rcfg_start(struct rcfg *cfg, int i, const struct rcmd *cmd,
                int64_t *index, int64_t *term)
{
    int64_t idx = -1, t = -1;
    bool ok = false;
    struct rinst *in = inst_get(cfg, i);
    if (in) {
        ok = raft_start(in->rf, rcmd_bytes(cmd), cmd->len, &idx, &t);
        inst_put(cfg, in);
        char c[TIMELINE_TEXT];
        rcmd_format(rcmd_bytes(cmd), cmd->len, c, sizeof(c));
        timeline_event(TIMELINE_START, timeline_lane(cfg->names[i]), idx, t,
                       ok, c);
    }
    if (index)
        *index = ok ? idx : -1;
    if (term)
        *term = t;
    return ok;
}

void rcfg_get_state(struct rcfg *cfg, int i, int64_t *term, bool *is_leader)
{
    int64_t t = -1;
    bool l = false;
    struct rinst *in = inst_get(cfg, i);
    if (in) {
        raft_get_state(in->rf, &t, &l);
        inst_put(cfg, in);
        timeline_state(cfg->names[i], t, l);
    }
    if (term)
        *term = t;
    if (is_leader)
        *is_leader = l;
}

bool rcfg_is_connected(struct rcfg *cfg, int i)
{
    pthread_mutex_lock(&cfg->mu);
    bool c = cfg->connected[i];
    pthread_mutex_unlock(&cfg->mu);
    return c;
}

bool rcfg_is_up(struct rcfg *cfg, int i)
{
    pthread_mutex_lock(&cfg->mu);
    bool up = cfg->inst[i] != NULL;
    pthread_mutex_unlock(&cfg->mu);
    return up;
}

/* ---- applying ----------------------------------------------------------------------- */

/* checkLogs: record server i's applied command at index, after checking no
 * other server applied something different there. Returns an error message
 * (in err) or "" and whether index-1 was applied by i. Requires cfg->mu. */
static bool check_logs_locked(struct rcfg *cfg, int i, int64_t index,
                              const uint8_t *cmd, size_t len, char *err,
                              size_t errlen)
{
    struct centry mine = {(uint8_t *)cmd, len};
    err[0] = '\0';
    for (int j = 0; j < cfg->n; j++) {
        struct centry *old = log_at(&cfg->logs[j], index);
        if (old && !entry_eq(old, &mine)) {
            /* some server has already committed a different value for
             * this entry! */
            char a[96], b[96];
            rcmd_format(cmd, len, a, sizeof(a));
            rcmd_format(old->data, old->len, b, sizeof(b));
            if (j == i)
                snprintf(err, errlen, "server %d applied %s at index %"
                         PRId64 " where it had applied %s before a restart "
                         "- committed entries were lost across the "
                         "restart: are currentTerm, votedFor and the log "
                         "persisted (persister_save) before replying to "
                         "any RPC, and read back in raft_make?", i, a,
                         index, b);
            else
                snprintf(err, errlen, "server %d applied %s at index %"
                         PRId64 " where server %d applied %s - a committed "
                         "entry was overwritten or a leader was elected "
                         "without the newest log: check the election "
                         "restriction (up-to-date log), the commit rule "
                         "(only the current term's entries by counting), "
                         "and that currentTerm/votedFor/log are persisted "
                         "before replying", i, a, index, j, b);
        }
    }
    bool prevok = log_at(&cfg->logs[i], index - 1) != NULL;
    log_set(&cfg->logs[i], index, cmd, len);
    if (index > cfg->max_index)
        cfg->max_index = index;
    return prevok;
}

/* Snapshot bytes: msgpack [lastIncludedIndex, [log[0..index]]], where
 * each element is the command's own msgpack object (nil if absent). */
static int snap_write(void *data, const char *p, size_t n)
{
    buf_append(data, p, n);
    return 0;
}

static void encode_snapshot_locked(struct rcfg *cfg, int i, int64_t index,
                                   struct buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, snap_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_int64(&pk, index);
    msgpack_pack_array(&pk, (uint32_t)(index + 1));
    for (int64_t j = 0; j <= index; j++) {
        struct centry *e = log_at(&cfg->logs[i], j);
        if (e)
            buf_append(out, e->data, e->len);
        else
            msgpack_pack_nil(&pk);
    }
}

/* ingestSnap: replace server i's log by the snapshot's. index is the apply
 * message's SnapshotIndex, or -1 when start1 restores from the persister.
 * Returns "" or an error message in err. Requires cfg->mu. */
static void ingest_snap_locked(struct rcfg *cfg, int i, const uint8_t *snap,
                               size_t len, int64_t index, char *err,
                               size_t errlen)
{
    err[0] = '\0';
    if (snap == NULL || len == 0)
        tester_fatalf("a snapshot delivered or restored is empty: "
                      "raft_persister's snapshot, or the ApplyMsg's "
                      "snapshot bytes, lost what raft_snapshot() was given");
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int64_t last_included = -1;
    const msgpack_object *xlog = NULL;
    uint32_t nlog = 0;
    if (msgpack_unpack_next(&u, (const char *)snap, len, &off) ==
            MSGPACK_UNPACK_SUCCESS &&
        u.data.type == MSGPACK_OBJECT_ARRAY && u.data.via.array.size == 2 &&
        rpc_obj_i64(&u.data.via.array.ptr[0], &last_included) == 0 &&
        u.data.via.array.ptr[1].type == MSGPACK_OBJECT_ARRAY) {
        xlog = u.data.via.array.ptr[1].via.array.ptr;
        nlog = u.data.via.array.ptr[1].via.array.size;
    } else {
        msgpack_unpacked_destroy(&u);
        tester_fatalf("a snapshot does not decode as the tester's (index, "
                      "log) encoding: the bytes given to raft_snapshot() were "
                      "changed, truncated or mixed with another snapshot");
    }
    if (index != -1 && index != last_included) {
        snprintf(err, errlen, "server %d was sent a snapshot whose "
                 "content ends at index %" PRId64 " but the apply message "
                 "says snapshot_index %" PRId64 " - the index and the bytes "
                 "of an InstallSnapshot got out of step", i, last_included,
                 index);
        msgpack_unpacked_destroy(&u);
        return;
    }
    log_clear(&cfg->logs[i]);
    struct buf b = BUF_INIT;
    for (uint32_t j = 0; j < nlog; j++) {
        buf_clear(&b);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &b, snap_write);
        msgpack_pack_object(&pk, xlog[j]);
        log_set(&cfg->logs[i], j, b.data, b.len);
    }
    buf_free(&b);
    cfg->last_applied[i] = last_included;
    msgpack_unpacked_destroy(&u);
}

/* applier: check every applied command against the other servers' logs;
 * ignore snapshots. */
static void apply_plain(struct rinst *in, struct raft_apply_msg *m)
{
    struct rcfg *cfg = in->cfg;
    if (!m->command_valid)
        return; /* ignore other types of ApplyMsg */
    char err[1024];
    pthread_mutex_lock(&cfg->mu);
    bool prevok = check_logs_locked(cfg, in->me, m->command_index, m->command,
                                    m->command_len, err, sizeof(err));
    pthread_mutex_unlock(&cfg->mu);
    if (m->command_index > 1 && !prevok)
        snprintf(err, sizeof(err), "server %d applied index %" PRId64
                 " before index %" PRId64 " - apply committed entries in "
                 "order, each once, with no gap", in->me, m->command_index,
                 m->command_index - 1);
    if (err[0])
        tester_fatalf("%s", err);
}

/* applierSnap: also ingest snapshots, insist on consecutive indices, and
 * snapshot at every index i with (i+1) % SNAPSHOT_INTERVAL == 0, calling
 * Raft synchronously from this (the consuming) thread. */
static void apply_snap(struct rinst *in, struct raft_apply_msg *m)
{
    struct rcfg *cfg = in->cfg;
    int i = in->me;
    char err[1024];
    err[0] = '\0';
    if (m->snapshot_valid) {
        pthread_mutex_lock(&cfg->mu);
        ingest_snap_locked(cfg, i, m->snapshot, m->snapshot_len,
                           m->snapshot_index, err, sizeof(err));
        pthread_mutex_unlock(&cfg->mu);
    } else if (m->command_valid) {
        pthread_mutex_lock(&cfg->mu);
        int64_t expected = cfg->last_applied[i] + 1;
        pthread_mutex_unlock(&cfg->mu);
        if (m->command_index != expected)
            snprintf(err, sizeof(err), "server %d applied index %" PRId64
                     " but the next index to apply was %" PRId64 " - apply "
                     "each committed entry once, in order; after a snapshot "
                     "resume at snapshot index + 1 (lastApplied must follow "
                     "an installed snapshot)", i, m->command_index, expected);
        if (!err[0]) {
            pthread_mutex_lock(&cfg->mu);
            bool prevok = check_logs_locked(cfg, i, m->command_index,
                                            m->command, m->command_len, err,
                                            sizeof(err));
            pthread_mutex_unlock(&cfg->mu);
            if (m->command_index > 1 && !prevok)
                snprintf(err, sizeof(err), "server %d applied index %"
                         PRId64 " before index %" PRId64 " - apply committed "
                         "entries in order, each once, with no gap", i,
                         m->command_index, m->command_index - 1);
        }
        if (err[0])
            tester_fatalf("%s", err);

        pthread_mutex_lock(&cfg->mu);
        cfg->last_applied[i] = m->command_index;
        struct buf snap = BUF_INIT;
        bool take = (m->command_index + 1) % SNAPSHOT_INTERVAL == 0;
        if (take)
            encode_snapshot_locked(cfg, i, m->command_index, &snap);
        pthread_mutex_unlock(&cfg->mu);
        /* A killed instance's leftover messages are still checked above,
         * but snapshotting into it is pointless. */
        if (take && !atomic_load(&in->killed))
            raft_snapshot(in->rf, m->command_index, snap.data, snap.len);
        buf_free(&snap);
    }
    /* else: ignore other types of ApplyMsg */
    if (err[0])
        tester_fatalf("%s", err);
}

/* Record an apply message in the timeline (before it is checked, so the
 * entry a failing check complains about is on the page). */
static void timeline_apply(int lane, const struct raft_apply_msg *m)
{
    char c[TIMELINE_TEXT] = "snapshot";
    if (m->command_valid)
        rcmd_format(m->command, m->command_len, c, sizeof(c));
    timeline_event(TIMELINE_APPLY, lane,
                   m->command_valid ? m->command_index : m->snapshot_index,
                   m->command_valid ? m->command_term : m->snapshot_term, 0, c);
}

static void *applier_main(void *arg)
{
    struct rinst *in = arg;
    void *item;
    int lane = timeline_lane(in->cfg->names[in->me]);
    while (queue_pop(in->applyq, &item) == 0) {
        struct raft_apply_msg *m = item;
        timeline_apply(lane, m);
        if (in->kind == RCFG_APPLIER_SNAP)
            apply_snap(in, m);
        else
            apply_plain(in, m);
        raft_apply_msg_free(m);
    }
    return NULL;
}

static void free_apply_msg(void *item) { raft_apply_msg_free(item); }

/* ---- connectivity ---------------------------------------------------------------- */

static void enable_locked(struct rcfg *cfg, int from, int to, bool on)
{
    struct rinst *in = cfg->inst[from];
    if (in && in->endnames[to])
        labnet_enable(cfg->net, in->endnames[to], on);
}

void rcfg_connect(struct rcfg *cfg, int i)
{
    pthread_mutex_lock(&cfg->mu);
    cfg->connected[i] = true;
    for (int j = 0; j < cfg->n; j++) /* outgoing ClientEnds */
        if (cfg->connected[j])
            enable_locked(cfg, i, j, true);
    for (int j = 0; j < cfg->n; j++) /* incoming ClientEnds */
        if (cfg->connected[j])
            enable_locked(cfg, j, i, true);
    pthread_mutex_unlock(&cfg->mu);
}

void rcfg_disconnect(struct rcfg *cfg, int i)
{
    pthread_mutex_lock(&cfg->mu);
    cfg->connected[i] = false;
    for (int j = 0; j < cfg->n; j++)
        enable_locked(cfg, i, j, false);
    for (int j = 0; j < cfg->n; j++)
        enable_locked(cfg, j, i, false);
    pthread_mutex_unlock(&cfg->mu);
}

void rcfg_set_unreliable(struct rcfg *cfg, bool unreliable)
{
    labnet_reliable(cfg->net, !unreliable);
}

void rcfg_set_long_reordering(struct rcfg *cfg, bool on)
{
    labnet_long_reordering(cfg->net, on);
}

/* ---- crash / start ------------------------------------------------------------------ */

void rcfg_crash1(struct rcfg *cfg, int i)
{
    rcfg_disconnect(cfg, i);
    /* disable client connections to the server; replies of calls it is
     * handling now are suppressed. */
    labnet_delete_server(cfg->net, cfg->names[i]);

    /* A fresh persister, in case the old instance continues to update the
     * Persister, but with the old one's content, so that Make() always
     * gets the last persisted state. */
    pthread_mutex_lock(&cfg->mu);
    struct persister *old = cfg->saved[i];
    if (old)
        cfg->saved[i] = persister_copy(old);
    struct rinst *in = cfg->inst[i];
    cfg->inst[i] = NULL;
    pthread_mutex_unlock(&cfg->mu);

    if (in) {
        raft_kill(in->rf);
        atomic_store(&in->killed, true);
        rpc_server_close(in->srv);
        /* The applier drains what Raft pushed before it died (still
         * checked), then sees the closed queue. */
        queue_close(in->applyq);
        pthread_join(in->applier, NULL);
        pthread_mutex_lock(&cfg->mu);
        while (in->refs > 0)
            pthread_cond_wait(&cfg->refs_cond, &cfg->mu);
        pthread_mutex_unlock(&cfg->mu);
        raft_free(in->rf);
        queue_free(in->applyq, free_apply_msg);
        for (int j = 0; j < cfg->n; j++) {
            if (in->endnames[j]) {
                labnet_delete_end(cfg->net, in->endnames[j]);
                free(in->endnames[j]);
            }
        }
        free(in->endnames);
        free(in->ends);
        free(in);
    }
    /* Only now is nobody using the old persister. */
    if (old)
        persister_free(old);
}

void rcfg_start1(struct rcfg *cfg, int i, enum rcfg_applier applier)
{
    rcfg_crash1(cfg, i);

    struct rinst *in = xcalloc(1, sizeof(*in));
    in->cfg = cfg;
    in->me = i;
    in->kind = applier;
    atomic_init(&in->killed, false);

    /* A fresh set of outgoing ClientEnd names, so that the old crashed
     * instance's ClientEnds can't send; they start disabled. */
    in->endnames = xcalloc((size_t)cfg->n, sizeof(char *));
    in->ends = xcalloc((size_t)cfg->n, sizeof(struct rpc_end *));
    for (int j = 0; j < cfg->n; j++) {
        if (j == i)
            continue; /* Raft never calls itself: peers[me] may be NULL */
        in->endnames[j] = xmalloc(ENDNAME_LEN + 1);
        tester_randstring(in->endnames[j], ENDNAME_LEN);
        in->ends[j] = labnet_make_end(cfg->net, in->endnames[j]);
        timeline_end_owner(in->endnames[j], cfg->names[i]);
        labnet_connect(cfg->net, in->endnames[j], cfg->names[j]);
    }

    pthread_mutex_lock(&cfg->mu);
    cfg->last_applied[i] = 0;
    /* A fresh persister, so the old instance doesn't overwrite the new
     * instance's persisted state, with the old one's content. */
    if (cfg->saved[i]) {
        struct persister *p = persister_copy(cfg->saved[i]);
        persister_free(cfg->saved[i]);
        cfg->saved[i] = p;
        struct buf snap = BUF_INIT;
        persister_read_snapshot(p, &snap);
        if (snap.len > 0) {
            /* mimic KV server and process snapshot now. */
            char err[1024];
            ingest_snap_locked(cfg, i, snap.data, snap.len, -1, err,
                               sizeof(err));
            if (err[0])
                tester_fatalf("%s", err);
        }
        buf_free(&snap);
    } else {
        cfg->saved[i] = persister_new_mem();
    }
    struct persister *pers = cfg->saved[i];
    pthread_mutex_unlock(&cfg->mu);

    in->applyq = queue_new(APPLY_QUEUE_CAP);
    in->rf = raft_make(in->ends, cfg->n, i, pers, in->applyq);
    if (in->rf == NULL)
        tester_fatalf("raft_make(%d) failed", i);
    in->srv = rpc_server_new();
    int rc = raft_register(in->rf, in->srv);
    if (rc != 0)
        tester_fatalf("raft_register(%d): %s", i, err_name(rc));
    rc = rpc_server_listen(in->srv, "127.0.0.1:0");
    if (rc != 0)
        tester_fatalf("rpc_server_listen for server %d: %s", i, err_name(rc));

    pthread_mutex_lock(&cfg->mu);
    cfg->inst[i] = in;
    pthread_mutex_unlock(&cfg->mu);

    if (pthread_create(&in->applier, NULL, applier_main, in) != 0)
        tester_fatalf("pthread_create failed");

    labnet_add_server(cfg->net, cfg->names[i], in->srv);
}

/* ---- make / cleanup --------------------------------------------------------- */

static void dump_state(void *ctx)
{
    struct rcfg *cfg = ctx;
    bool locked = false;
    for (int k = 0; k < 100 && !locked; k++) {
        locked = pthread_mutex_trylock(&cfg->mu) == 0;
        if (!locked)
            clock_sleep_ms(10);
    }
    if (!locked) {
        printf("    (cluster state unavailable: config lock busy)\n");
        return;
    }
    printf("    cluster: %d servers, highest applied index %" PRId64 "\n",
           cfg->n, cfg->max_index);
    for (int i = 0; i < cfg->n; i++) {
        int64_t hi = 0;
        for (size_t k = 0; k < cfg->logs[i].cap; k++)
            if (cfg->logs[i].v[k].data)
                hi = (int64_t)k;
        printf("    server %d: %-7s %-12s applied through %" PRId64
               ", persisted state %zu bytes\n", i,
               cfg->inst[i] ? "up" : "crashed",
               cfg->connected[i] ? "connected" : "disconnected", hi,
               cfg->saved[i] ? persister_state_size(cfg->saved[i]) : 0);
    }
    pthread_mutex_unlock(&cfg->mu);
}

struct rcfg *rcfg_make(int n, bool unreliable, bool snapshot)
{
    static atomic_flag cpu_warned = ATOMIC_FLAG_INIT;
    if (!atomic_flag_test_and_set(&cpu_warned) && sysconf(_SC_NPROCESSORS_ONLN) < 2)
        tester_printf("warning: only one CPU, which may conceal locking bugs\n");

    struct rcfg *cfg = xcalloc(1, sizeof(*cfg));
    pthread_mutex_init(&cfg->mu, NULL);
    pthread_cond_init(&cfg->refs_cond, NULL);
    atomic_init(&cfg->finished, 0);
    cfg->n = n;
    cfg->snapshot = snapshot;
    cfg->net = labnet_new(tester_derive_seed(1));
    cfg->names = xcalloc((size_t)n, sizeof(*cfg->names));
    cfg->inst = xcalloc((size_t)n, sizeof(*cfg->inst));
    cfg->connected = xcalloc((size_t)n, sizeof(bool));
    cfg->saved = xcalloc((size_t)n, sizeof(*cfg->saved));
    cfg->logs = xcalloc((size_t)n, sizeof(*cfg->logs));
    cfg->last_applied = xcalloc((size_t)n, sizeof(int64_t));
    for (int i = 0; i < n; i++)
        snprintf(cfg->names[i], sizeof(cfg->names[i]), "%d", i);
    tester_set_dump(dump_state, cfg);

    rcfg_set_unreliable(cfg, unreliable);
    labnet_long_delays(cfg->net, true);

    /* create a full set of Rafts, then connect everyone. */
    for (int i = 0; i < n; i++)
        rcfg_start1(cfg, i, snapshot ? RCFG_APPLIER_SNAP : RCFG_APPLIER);
    for (int i = 0; i < n; i++)
        rcfg_connect(cfg, i);
    return cfg;
}

void rcfg_cleanup(struct rcfg *cfg)
{
    atomic_store(&cfg->finished, 1);
    for (int i = 0; i < cfg->n; i++)
        rcfg_crash1(cfg, i);
    labnet_free(cfg->net);
    tester_set_dump(NULL, NULL);
    for (int i = 0; i < cfg->n; i++) {
        if (cfg->saved[i])
            persister_free(cfg->saved[i]);
        log_clear(&cfg->logs[i]);
    }
    free(cfg->names);
    free(cfg->inst);
    free(cfg->connected);
    free(cfg->saved);
    free(cfg->logs);
    free(cfg->last_applied);
    pthread_cond_destroy(&cfg->refs_cond);
    pthread_mutex_destroy(&cfg->mu);
    free(cfg);
    tester_check_timeout();
}

/* ---- summary ----------------------------------------------------------------------- */

uint64_t rcfg_rpc_total(struct rcfg *cfg) { return labnet_total_count(cfg->net); }
uint64_t rcfg_bytes_total(struct rcfg *cfg) { return labnet_total_bytes(cfg->net); }

uint64_t rcfg_rpc_count(struct rcfg *cfg, int i)
{
    return labnet_count(cfg->net, cfg->names[i]);
}

void rcfg_check_timeout(struct rcfg *cfg)
{
    (void)cfg;
    tester_check_timeout();
}

void rcfg_begin(struct rcfg *cfg, const char *desc)
{
    tester_begin(desc);
    cfg->t0_ns = clock_now_ns();
    cfg->rpcs0 = rcfg_rpc_total(cfg);
    cfg->bytes0 = rcfg_bytes_total(cfg);
    pthread_mutex_lock(&cfg->mu);
    cfg->max_index0 = cfg->max_index;
    pthread_mutex_unlock(&cfg->mu);
}

void rcfg_end(struct rcfg *cfg)
{
    rcfg_check_timeout(cfg);
    double t = (double)(clock_now_ns() - cfg->t0_ns) / 1e9; /* real time */
    uint64_t nrpc = rcfg_rpc_total(cfg) - cfg->rpcs0;      /* RPC sends */
    uint64_t nbytes = rcfg_bytes_total(cfg) - cfg->bytes0;  /* bytes */
    pthread_mutex_lock(&cfg->mu);
    int64_t ncmds = cfg->max_index - cfg->max_index0; /* agreements */
    pthread_mutex_unlock(&cfg->mu);
    tester_passed("  %4.1f  %d %4" PRIu64 " %7" PRIu64 " %4" PRId64 "\n", t,
                  cfg->n, nrpc, nbytes, ncmds);
}

/* ---- checks ---------------------------------------------------------------------- */

int rcfg_check_one_leader(struct rcfg *cfg)
{
    for (int iters = 0; iters < 10; iters++) {
        clock_sleep_ms(450 + tester_rand_below(100));

        /* leaders by term: at most one per term, so a small table will do */
        int64_t terms[64];
        int who[64], count[64], nterms = 0;
        for (int i = 0; i < cfg->n; i++) {
            if (!rcfg_is_connected(cfg, i))
                continue;
            int64_t term;
            bool leader;
            rcfg_get_state(cfg, i, &term, &leader);
            if (!leader)
                continue;
            int k;
            for (k = 0; k < nterms; k++)
                if (terms[k] == term)
                    break;
            if (k == nterms) {
                terms[k] = term;
                who[k] = i;
                count[k] = 0;
                nterms++;
            }
            count[k]++;
        }
        int64_t last_term_with_leader = -1;
        int leader = -1;
        for (int k = 0; k < nterms; k++) {
            if (count[k] > 1)
                tester_fatalf("term %" PRId64 " has %d leaders (at most 1 "
                              "allowed) - a server voted twice in one term "
                              "(votedFor not checked, or not persisted "
                              "across a restart) or counted votes from an "
                              "older term", terms[k], count[k]);
            if (terms[k] > last_term_with_leader) {
                last_term_with_leader = terms[k];
                leader = who[k];
            }
        }
        if (nterms != 0)
            return leader;
    }
    tester_fatalf("no leader was elected among the connected servers "
                  "within 5 seconds - election timeouts not firing or not "
                  "randomized, RequestVote not sent/answered/counted, or "
                  "votes refused (the up-to-date check, a stuck votedFor)");
}

int64_t rcfg_check_terms(struct rcfg *cfg)
{
    int64_t term = -1;
    for (int i = 0; i < cfg->n; i++) {
        if (!rcfg_is_connected(cfg, i))
            continue;
        int64_t xterm;
        rcfg_get_state(cfg, i, &xterm, NULL);
        if (term == -1)
            term = xterm;
        else if (term != xterm)
            tester_fatalf("connected servers disagree on the term (server %d "
                          "has %" PRId64 ", another %" PRId64 ") after a quiet "
                          "period - a server that sees a higher term in any "
                          "RPC request or reply must adopt it", i, xterm,
                          term);
    }
    return term;
}

void rcfg_check_no_leader(struct rcfg *cfg)
{
    for (int i = 0; i < cfg->n; i++) {
        if (!rcfg_is_connected(cfg, i))
            continue;
        bool leader;
        rcfg_get_state(cfg, i, NULL, &leader);
        if (leader)
            tester_fatalf("server %d claims to be leader but no majority "
                          "is connected to it - a leader needs a majority's "
                          "votes, and a stale leader must step down when it "
                          "sees a higher term", i);
    }
}

int rcfg_n_committed(struct rcfg *cfg, int64_t index, struct rcmd *cmd)
{
    int count = 0;
    const struct centry *first = NULL;
    pthread_mutex_lock(&cfg->mu);
    for (int i = 0; i < cfg->n; i++) {
        struct centry *e = log_at(&cfg->logs[i], index);
        if (!e)
            continue;
        if (count > 0 && !entry_eq(first, e)) {
            char a[96], b[96];
            rcmd_format(first->data, first->len, a, sizeof(a));
            rcmd_format(e->data, e->len, b, sizeof(b));
            tester_fatalf("two servers committed different commands at "
                          "index %" PRId64 " (%s and %s) - a committed entry "
                          "was overwritten: check the election restriction, "
                          "the commit rule, and that state is persisted "
                          "before replying", index, a, b);
        }
        count++;
        first = e;
    }
    if (cmd) {
        memset(cmd, 0, sizeof(*cmd));
        if (first) {
            cmd->len = first->len;
            if (first->len <= RCMD_INLINE) {
                memcpy(cmd->small, first->data, first->len);
            } else {
                cmd->heap = xmalloc(first->len);
                memcpy(cmd->heap, first->data, first->len);
            }
        }
    }
    pthread_mutex_unlock(&cfg->mu);
    return count;
}

bool rcfg_wait(struct rcfg *cfg, int64_t index, int n, int64_t start_term,
               struct rcmd *cmd)
{
    uint64_t to = 10;
    for (int iters = 0; iters < 30; iters++) {
        if (rcfg_n_committed(cfg, index, NULL) >= n)
            break;
        clock_sleep_ms(to);
        if (to < 1000)
            to *= 2;
        if (start_term > -1) {
            for (int i = 0; i < cfg->n; i++) {
                int64_t t;
                rcfg_get_state(cfg, i, &t, NULL);
                if (t > start_term)
                    return false; /* someone has moved on; can no longer
                                   * guarantee that we'll "win" */
            }
        }
    }
    struct rcmd c;
    int nd = rcfg_n_committed(cfg, index, &c);
    if (nd < n)
        tester_fatalf("only %d servers committed index %" PRId64 ", wanted %d "
                      "- the leader does not replicate to all connected "
                      "followers or does not advance their commitIndex "
                      "(leaderCommit in AppendEntries)", nd, index, n);
    if (cmd)
        *cmd = c;
    else
        rcmd_free(&c);
    return true;
}

int64_t rcfg_one(struct rcfg *cfg, const struct rcmd *cmd, int expected,
                 bool retry)
{
    uint64_t t0 = clock_now_ns();
    int starts = 0;
    bool accepted = false; /* some raft_start() returned true (message only) */
    while (clock_now_ns() - t0 < 10000000000ull &&
           !atomic_load(&cfg->finished)) {
        /* try all the servers, maybe one is the leader. */
        int64_t index = -1;
        for (int si = 0; si < cfg->n; si++) {
            starts = (starts + 1) % cfg->n;
            if (!rcfg_is_connected(cfg, starts))
                continue;
            int64_t index1;
            if (rcfg_start(cfg, starts, cmd, &index1, NULL)) {
                index = index1;
                break;
            }
        }
        if (index != -1) {
            accepted = true;
            /* somebody claimed to be the leader and to have submitted our
             * command; wait a while for agreement. */
            uint64_t t1 = clock_now_ns();
            while (clock_now_ns() - t1 < 2000000000ull) {
                struct rcmd got;
                int nd = rcfg_n_committed(cfg, index, &got);
                bool same = got.len == cmd->len &&
                            memcmp(rcmd_bytes(&got), rcmd_bytes(cmd),
                                   cmd->len) == 0;
                rcmd_free(&got);
                if (nd > 0 && nd >= expected && same)
                    return index; /* committed, and it was our command */
                clock_sleep_ms(20);
            }
            if (!retry) {
                char s[96];
                rcmd_format(rcmd_bytes(cmd), cmd->len, s, sizeof(s));
                tester_fatalf("the command %s was started at index %" PRId64
                              " but not committed by %d servers within 2 "
                              "seconds - the leader does not replicate or "
                              "commit (nextIndex back-off, the commit rule, "
                              "applying committed entries)", s, index,
                              expected);
            }
        } else {
            clock_sleep_ms(50);
        }
    }
    if (!atomic_load(&cfg->finished)) {
        char s[96];
        rcmd_format(rcmd_bytes(cmd), cmd->len, s, sizeof(s));
        if (!accepted)
            tester_fatalf("the command %s was not committed within 10 "
                          "seconds: no connected server accepted it - "
                          "raft_start() returned false on every one (no "
                          "leader elected, or raft_start not written yet)",
                          s);
        tester_fatalf("the command %s was not committed by %d servers "
                      "within 10 seconds although a leader accepted it - "
                      "the leader does not replicate or commit, or keeps "
                      "losing leadership (replication, nextIndex back-off, "
                      "commit rule)", s, expected);
    }
    return -1;
}

size_t rcfg_log_size(struct rcfg *cfg)
{
    size_t logsize = 0;
    pthread_mutex_lock(&cfg->mu);
    for (int i = 0; i < cfg->n; i++) {
        size_t n = cfg->saved[i] ? persister_state_size(cfg->saved[i]) : 0;
        if (n > logsize)
            logsize = n;
    }
    pthread_mutex_unlock(&cfg->mu);
    return logsize;
}
