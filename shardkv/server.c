/* server.c - a shardkv replica (see shardkv.h): the client handlers, the
 * commands applied through the rsm layer (client ops, configuration
 * changes, shard installs and deletes), snapshots, the controller poller
 * and the migration pusher. */
/* SOLUTION FILE */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "kvsrv/kv_map.h"
#include "raft/rsm.h"
#include "shardkv/shardkv.h"

/* How often the leader retries pushing shards that still wait for their
 * new owner (it is also woken at once when a configuration is applied). */
#define SKV_PUSH_RETRY_MS 50

enum skv_cmd {
    CMD_GET = 0,
    CMD_PUT = 1,
    CMD_APPEND = 2,
    CMD_CONFIG = 3,
    CMD_INSTALL = 4,
    CMD_DELETE = 5,
};

struct shard {
    int state;            /* enum skv_shard_state */
    struct kv_map *data;  /* owned, never NULL (empty when not held) */
};

struct end_cache_entry {
    char *name;           /* owned */
    struct rpc_end *end;  /* borrowed from make_end's owner */
};

struct skv_server {
    int me;
    int gid;
    struct rsm *rsm;        /* owned */
    struct sc_clerk *ctrl;  /* owned; used by the poller thread only */
    skv_make_end_fn make_end;
    void *make_end_ctx;
    pthread_t poller, pusher;
    bool threads_started;

    pthread_mutex_t mu;
    pthread_cond_t cond; /* a configuration was applied, or dead */
    /* guarded by mu: */
    bool dead;
    bool killed;
    struct sc_config cur;  /* the configuration the group is in */
    struct sc_config prev; /* the one before (for logs and status) */
    struct shard shards[SC_NSHARDS];
    /* Per shard: the Raft term in which this replica, as leader, put an
     * install of the shard (for cur) into the log; 0: none. Such an entry
     * stays in the log while the term lasts, so a retried Install waits
     * for it instead of appending another copy of the data (a large shard
     * can take longer than one rsm wait to commit, and each copy would
     * make the next commit slower still). */
    int64_t install_term[SC_NSHARDS];
    struct end_cache_entry *ends;
    size_t nends;
    uint64_t installs_sent, installs_received, deletes;
};

/* ---- state helpers (all _locked: caller holds mu) ------------------------ */

static bool settled_locked(const struct skv_server *kv)
{
    for (int s = 0; s < SC_NSHARDS; s++)
        if (kv->shards[s].state == SKV_PULLING ||
            kv->shards[s].state == SKV_SENDING)
            return false;
    return true;
}

/* Move to configuration next (num = cur.num + 1) if the current one is
 * finished; see shardkv.h for the per-shard transitions. */
static void apply_config_locked(struct skv_server *kv,
                                const struct sc_config *next)
{
    if (next->num != kv->cur.num + 1 || !settled_locked(kv))
        return; /* a duplicate, or submitted against an older state */
    memset(kv->install_term, 0, sizeof(kv->install_term));
    for (int s = 0; s < SC_NSHARDS; s++) {
        struct shard *sh = &kv->shards[s];
        int was = kv->cur.shards[s], will = next->shards[s];
        if (will == kv->gid) {
            if (was == kv->gid) {
                sh->state = SKV_SERVING;
            } else if (was == 0) {
                kv_map_clear(sh->data); /* never assigned: starts empty */
                sh->state = SKV_SERVING;
            } else {
                kv_map_clear(sh->data);
                sh->state = SKV_PULLING;
            }
        } else if (was == kv->gid && will != 0) {
            sh->state = SKV_SENDING; /* keep the data until delivered */
        } else {
            kv_map_clear(sh->data);
            sh->state = SKV_ABSENT;
        }
    }
    sc_config_free(&kv->prev);
    kv->prev = kv->cur;
    sc_config_copy(&kv->cur, next);
    log_info("SKV", kv->me, "g%d: config %lld applied", kv->gid,
             (long long)next->num);
}

/* ---- commands ---------------------------------------------------------------
 * msgpack maps: {t: CMD_GET, k} {t: CMD_PUT/APPEND, k, v} {t: CMD_CONFIG, cf}
 * {t: CMD_INSTALL, a: the Install RPC's arguments as received}
 * {t: CMD_DELETE, n, sh: [shard...]}.
 * Replies: one byte -err (0 = OK), then a Get's value. */

static void reply_err(struct buf *reply, int err)
{
    buf_append_byte(reply, (uint8_t)-err);
}

static void encode_op(int type, const char *k, size_t klen, const char *v,
                      size_t vlen, struct buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_msgpack_write);
    msgpack_pack_map(&pk, type == CMD_GET ? 2 : 3);
    rpc_pack_kv_i64(&pk, "t", type);
    rpc_pack_kv_str(&pk, "k", k, klen);
    if (type != CMD_GET)
        rpc_pack_kv_str(&pk, "v", v, vlen);
}

static void encode_delete(int64_t num, const int *shards, int n,
                          struct buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_msgpack_write);
    msgpack_pack_map(&pk, 3);
    rpc_pack_kv_i64(&pk, "t", CMD_DELETE);
    rpc_pack_kv_i64(&pk, "n", num);
    rpc_pack_key(&pk, "sh");
    msgpack_pack_array(&pk, (size_t)n);
    for (int i = 0; i < n; i++)
        msgpack_pack_int(&pk, shards[i]);
}

/* Read a list of shard numbers; 0 or ERR_BADARGS. */
static int decode_shards(const msgpack_object *items, uint32_t n, int *out)
{
    if (n > SC_NSHARDS)
        return ERR_BADARGS;
    for (uint32_t i = 0; i < n; i++) {
        int64_t s;
        if (rpc_obj_i64(&items[i], &s) || s < 0 || s >= SC_NSHARDS)
            return ERR_BADARGS;
        out[i] = (int)s;
    }
    return 0;
}

/* Load a flat [k, v, k, v...] array into m (cleared first). */
static int load_pairs(struct kv_map *m, const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size % 2)
        return ERR_BADARGS;
    kv_map_clear(m);
    for (uint32_t i = 0; i < o->via.array.size; i += 2) {
        const char *k, *v;
        size_t kl, vl;
        if (rpc_obj_bytes(&o->via.array.ptr[i], &k, &kl) ||
            rpc_obj_bytes(&o->via.array.ptr[i + 1], &v, &vl))
            return ERR_BADARGS;
        kv_map_put(m, k, kl, v, vl);
    }
    return 0;
}

static void pack_pair(void *ctx, const char *key, size_t klen,
                      const char *val, size_t vlen)
{
    msgpack_packer *pk = ctx;
    rpc_pack_str(pk, key, klen);
    rpc_pack_str(pk, val, vlen);
}

static void pack_pairs(msgpack_packer *pk, const struct kv_map *m)
{
    msgpack_pack_array(pk, 2 * kv_map_count(m));
    kv_map_foreach(m, pack_pair, pk);
}

/* A client op (Get/Put/Append): only on a SERVING shard. */
static bool apply_client_op(struct skv_server *kv, int type,
                            struct rpc_dec *d, struct buf *reply)
{
    size_t klen = 0, vlen = 0;
    const char *k = rpc_dec_bytes(d, "k", &klen);
    const char *v = rpc_dec_bytes(d, "v", &vlen);
    if (d->err || !k || (type != CMD_GET && !v)) {
        reply_err(reply, ERR_BADARGS);
        return true;
    }
    int s = sc_key2shard(k, klen);
    pthread_mutex_lock(&kv->mu);
    struct shard *sh = &kv->shards[s];
#ifndef SKV_BUG_NO_APPLY_CHECK
    if (sh->state != SKV_SERVING) {
#else /* planted bug for measuring lab 5's tests: ownership is checked only
       * by the handler, when the command is submitted */
    if (false) {
#endif
        pthread_mutex_unlock(&kv->mu);
        reply_err(reply, ERR_WRONG_GROUP);
        return false; /* no effect: a retry must be applied again */
    }
    if (type == CMD_GET) {
        size_t len = 0;
        const char *val = kv_map_get(sh->data, k, klen, &len);
        reply_err(reply, val ? ERR_OK : ERR_NO_KEY);
        if (val)
            buf_append(reply, val, len);
    } else {
        if (type == CMD_PUT)
            kv_map_put(sh->data, k, klen, v, vlen);
        else
            kv_map_append(sh->data, k, klen, v, vlen, NULL, NULL);
        reply_err(reply, ERR_OK);
    }
    pthread_mutex_unlock(&kv->mu);
    return true;
}

/* Install pushed shards if we are at their configuration and still wait
 * for them; merge the sender's dedup table with them. */
static void apply_install(struct skv_server *kv, const msgpack_object *a,
                          struct buf *reply)
{
    struct rpc_dec d;
    rpc_dec_init(&d, a);
    int64_t num = rpc_dec_i64(&d, "n", -1);
    const msgpack_object *items = NULL, *datas = NULL;
    uint32_t n = rpc_dec_array(&d, "sh", &items);
    uint32_t nd = rpc_dec_array(&d, "d", &datas);
    size_t xlen = 0;
    const char *x = rpc_dec_bytes(&d, "x", &xlen);
    int shards[SC_NSHARDS];
    if (d.err || nd != n || decode_shards(items, n, shards)) {
        reply_err(reply, ERR_BADARGS);
        return;
    }
    int installed = 0;
    pthread_mutex_lock(&kv->mu);
    if (num > kv->cur.num) {
        pthread_mutex_unlock(&kv->mu);
        reply_err(reply, ERR_NOT_READY);
        return;
    }
    if (num == kv->cur.num) {
        for (uint32_t i = 0; i < n; i++) {
            struct shard *sh = &kv->shards[shards[i]];
            if (sh->state != SKV_PULLING)
                continue; /* already installed (a duplicate push) */
            if (load_pairs(sh->data, &datas[i]) != 0) {
                kv_map_clear(sh->data);
                log_error("SKV", kv->me, "g%d: bad data for shard %d",
                          kv->gid, shards[i]);
                continue;
            }
            sh->state = SKV_SERVING;
            installed++;
        }
        kv->installs_received += (uint64_t)installed;
        pthread_cond_broadcast(&kv->cond); /* Install handlers waiting */
    }
    pthread_mutex_unlock(&kv->mu);
    /* Merge the table while still inside this entry's application, so
     * every replica has it before any later client op is applied. */
    if (installed && x && rsm_dedup_merge(kv->rsm, x, xlen) != 0)
        log_error("SKV", kv->me, "g%d: bad dedup table in install", kv->gid);
    if (installed)
        log_info("SKV", kv->me, "g%d: installed %d shard(s) of config %lld",
                 kv->gid, installed, (long long)num);
    reply_err(reply, ERR_OK);
}

/* The new owner has the shards: drop our copy (challenge 1). */
static void apply_delete(struct skv_server *kv, struct rpc_dec *d,
                         struct buf *reply)
{
    int64_t num = rpc_dec_i64(d, "n", -1);
    const msgpack_object *items = NULL;
    uint32_t n = rpc_dec_array(d, "sh", &items);
    int shards[SC_NSHARDS];
    if (d->err || decode_shards(items, n, shards)) {
        reply_err(reply, ERR_BADARGS);
        return;
    }
    pthread_mutex_lock(&kv->mu);
    if (num == kv->cur.num) {
        for (uint32_t i = 0; i < n; i++) {
            struct shard *sh = &kv->shards[shards[i]];
            if (sh->state == SKV_SENDING) {
                kv_map_clear(sh->data);
                sh->state = SKV_ABSENT;
                kv->deletes++;
            }
        }
        /* The group may be able to move on now. */
        pthread_cond_broadcast(&kv->cond);
    }
    pthread_mutex_unlock(&kv->mu);
    reply_err(reply, ERR_OK);
}

static bool skv_apply(void *svc, const void *data, size_t len, int64_t index,
                      struct buf *reply)
{
    struct skv_server *kv = svc;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    bool took_effect = true;
    if (msgpack_unpack_next(&u, data, len, &off) != MSGPACK_UNPACK_SUCCESS) {
        log_warn("SKV", kv->me, "undecodable command at %lld",
                 (long long)index);
        reply_err(reply, ERR_BADARGS);
        goto out;
    }
    struct rpc_dec d;
    rpc_dec_init(&d, &u.data);
    int type = rpc_dec_int(&d, "t", -1);
    switch (type) {
    case CMD_GET:
    case CMD_PUT:
    case CMD_APPEND:
        took_effect = apply_client_op(kv, type, &d, reply);
        break;
    case CMD_CONFIG: {
        const msgpack_object *cf = rpc_dec_field(&d, "cf");
        struct sc_config next;
        if (!cf || sc_config_unpack(cf, &next) != 0) {
            reply_err(reply, ERR_BADARGS);
            break;
        }
        pthread_mutex_lock(&kv->mu);
        apply_config_locked(kv, &next);
        pthread_cond_broadcast(&kv->cond); /* poller and pusher */
        pthread_mutex_unlock(&kv->mu);
        sc_config_free(&next);
        reply_err(reply, ERR_OK);
        break;
    }
    case CMD_INSTALL: {
        const msgpack_object *a = rpc_dec_field(&d, "a");
        if (!a)
            reply_err(reply, ERR_BADARGS);
        else
            apply_install(kv, a, reply);
        break;
    }
    case CMD_DELETE:
        apply_delete(kv, &d, reply);
        break;
    default:
        reply_err(reply, ERR_BADARGS);
        break;
    }
out:
    msgpack_unpacked_destroy(&u);
    return took_effect;
}

/* ---- snapshots ------------------------------------------------------------
 * {c: cur config, p: prev config, st: [state per shard],
 *  d: [[k, v, ...] per shard]} */

static void skv_snapshot(void *svc, struct buf *out)
{
    struct skv_server *kv = svc;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_msgpack_write);
    pthread_mutex_lock(&kv->mu);
    msgpack_pack_map(&pk, 4);
    rpc_pack_key(&pk, "c");
    sc_config_pack(&pk, &kv->cur);
    rpc_pack_key(&pk, "p");
    sc_config_pack(&pk, &kv->prev);
    rpc_pack_key(&pk, "st");
    msgpack_pack_array(&pk, SC_NSHARDS);
    for (int s = 0; s < SC_NSHARDS; s++)
        msgpack_pack_int(&pk, kv->shards[s].state);
    rpc_pack_key(&pk, "d");
    msgpack_pack_array(&pk, SC_NSHARDS);
    for (int s = 0; s < SC_NSHARDS; s++)
        pack_pairs(&pk, kv->shards[s].data);
    pthread_mutex_unlock(&kv->mu);
}

static int skv_restore(void *svc, const void *data, size_t len)
{
    struct skv_server *kv = svc;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int rc = ERR_CORRUPT;
    struct sc_config cur, prev;
    sc_config_init(&cur);
    sc_config_init(&prev);
    struct shard shards[SC_NSHARDS];
    for (int s = 0; s < SC_NSHARDS; s++)
        shards[s] = (struct shard){SKV_ABSENT, kv_map_new()};
    if (msgpack_unpack_next(&u, data, len, &off) != MSGPACK_UNPACK_SUCCESS)
        goto out;
    struct rpc_dec d;
    rpc_dec_init(&d, &u.data);
    const msgpack_object *c = rpc_dec_field(&d, "c");
    const msgpack_object *p = rpc_dec_field(&d, "p");
    const msgpack_object *st = NULL, *ds = NULL;
    uint32_t nst = rpc_dec_array(&d, "st", &st);
    uint32_t nds = rpc_dec_array(&d, "d", &ds);
    if (d.err || !c || !p || nst != SC_NSHARDS || nds != SC_NSHARDS ||
        sc_config_unpack(c, &cur) || sc_config_unpack(p, &prev))
        goto out;
    for (int s = 0; s < SC_NSHARDS; s++) {
        int64_t v;
        if (rpc_obj_i64(&st[s], &v) || v < SKV_ABSENT || v > SKV_SENDING ||
            load_pairs(shards[s].data, &ds[s]))
            goto out;
        shards[s].state = (int)v;
    }
    pthread_mutex_lock(&kv->mu);
    sc_config_free(&kv->cur);
    sc_config_free(&kv->prev);
    kv->cur = cur;
    kv->prev = prev;
    sc_config_init(&cur);
    sc_config_init(&prev);
    for (int s = 0; s < SC_NSHARDS; s++) {
        struct shard t = kv->shards[s];
        kv->shards[s] = shards[s];
        shards[s] = t;
    }
    pthread_cond_broadcast(&kv->cond);
    pthread_mutex_unlock(&kv->mu);
    rc = 0;
out:
    for (int s = 0; s < SC_NSHARDS; s++)
        kv_map_free(shards[s].data);
    sc_config_free(&cur);
    sc_config_free(&prev);
    msgpack_unpacked_destroy(&u);
    return rc;
}

static const struct rsm_ops skv_rsm_ops = {skv_apply, skv_snapshot,
                                           skv_restore};

/* ---- ends to other groups ---------------------------------------------------- */

static struct rpc_end *get_end(struct skv_server *kv, const char *name)
{
    pthread_mutex_lock(&kv->mu);
    for (size_t i = 0; i < kv->nends; i++)
        if (strcmp(kv->ends[i].name, name) == 0) {
            struct rpc_end *e = kv->ends[i].end;
            pthread_mutex_unlock(&kv->mu);
            return e;
        }
    pthread_mutex_unlock(&kv->mu);
    /* make_end may take the tester's or daemon's own lock: not under ours.
     * Only the pusher calls this, so no other thread races us to add it. */
    struct rpc_end *e = kv->make_end(kv->make_end_ctx, name);
    if (!e)
        return NULL;
    pthread_mutex_lock(&kv->mu);
    kv->ends = xrealloc(kv->ends, (kv->nends + 1) * sizeof(*kv->ends));
    kv->ends[kv->nends++] = (struct end_cache_entry){xstrdup(name), e};
    pthread_mutex_unlock(&kv->mu);
    return e;
}

/* ---- background threads ---------------------------------------------------- */

/* Sleep up to ms or until woken (a configuration applied, or kill).
 * Returns false once dead. */
static bool nap(struct skv_server *kv, uint64_t ms)
{
    pthread_mutex_lock(&kv->mu);
    if (!kv->dead)
        clock_cond_wait_ms(&kv->cond, &kv->mu, ms);
    bool alive = !kv->dead;
    pthread_mutex_unlock(&kv->mu);
    return alive;
}

static bool is_dead(struct skv_server *kv)
{
    pthread_mutex_lock(&kv->mu);
    bool dead = kv->dead;
    pthread_mutex_unlock(&kv->mu);
    return dead;
}

/* Ask the controller for the configuration after ours and, when the group
 * has finished the current one, submit it. Leader only. */
static void *poller_main(void *arg)
{
    struct skv_server *kv = arg;
    while (nap(kv, SKV_POLL_MS)) {
        if (!rsm_is_leader(kv->rsm))
            continue;
        pthread_mutex_lock(&kv->mu);
        bool settled = settled_locked(kv);
        int64_t num = kv->cur.num;
        pthread_mutex_unlock(&kv->mu);
        if (!settled)
            continue;
        struct sc_config next;
        if (sc_clerk_query_once(kv->ctrl, num + 1, &next) != 0)
            continue;
        if (next.num == num + 1) {
            struct buf cmd = BUF_INIT, res = BUF_INIT;
            msgpack_packer pk;
            msgpack_packer_init(&pk, &cmd, buf_msgpack_write);
            msgpack_pack_map(&pk, 2);
            rpc_pack_kv_i64(&pk, "t", CMD_CONFIG);
            rpc_pack_key(&pk, "cf");
            sc_config_pack(&pk, &next);
            log_debug("SKV", kv->me, "g%d: submitting config %lld", kv->gid,
                      (long long)next.num);
            rsm_submit(kv->rsm, 0, 0, cmd.data, cmd.len, &res);
            buf_free(&cmd);
            buf_free(&res);
        }
        sc_config_free(&next);
    }
    return NULL;
}

/* One push: shards of configuration num for group target. */
struct push {
    int target;
    int64_t num;
    int shards[SC_NSHARDS];
    int n;
    char **servers; /* owned copies of the target's server names */
    int nservers;
    struct buf args; /* the encoded Install arguments */
};

static int enc_raw(msgpack_packer *pk, const void *p)
{
    const struct buf *b = p;
    return pk->callback(pk->data, (const char *)b->data, b->len) ? ERR_IO : 0;
}

static int dec_err(const msgpack_object *obj, void *out)
{
    struct rpc_dec d;
    rpc_dec_init(&d, obj);
    size_t elen = 0;
    const char *e = rpc_dec_bytes(&d, "e", &elen);
    if (d.err || !e)
        return ERR_PROTO;
    *(int *)out = err_parse(e, elen);
    return 0;
}

/* Deliver one push to some server of the target group; on OK, delete our
 * copy through the log. */
static void push_one(struct skv_server *kv, struct push *p)
{
    for (int i = 0; i < p->nservers && !is_dead(kv); i++) {
        struct rpc_end *e = get_end(kv, p->servers[i]);
        if (!e)
            continue;
        int err = ERR_WRONG_LEADER;
        int rc = rpc_call(e, "ShardKV.Install", enc_raw, &p->args, dec_err,
                          &err);
        if (rc != 0 || err == ERR_WRONG_LEADER)
            continue;
        if (err == ERR_NOT_READY)
            return; /* it has not reached our configuration yet */
        if (err != ERR_OK) {
            log_warn("SKV", kv->me, "g%d: install to g%d refused: %s",
                     kv->gid, p->target, err_name(err));
            return;
        }
        pthread_mutex_lock(&kv->mu);
        kv->installs_sent += (uint64_t)p->n;
        pthread_mutex_unlock(&kv->mu);
        log_info("SKV", kv->me, "g%d: g%d has %d shard(s) of config %lld",
                 kv->gid, p->target, p->n, (long long)p->num);
        struct buf cmd = BUF_INIT, res = BUF_INIT;
        encode_delete(p->num, p->shards, p->n, &cmd);
        rsm_submit(kv->rsm, 0, 0, cmd.data, cmd.len, &res);
        buf_free(&cmd);
        buf_free(&res);
        return;
    }
}

/* Collect, under mu, one push per target group of our SENDING shards. */
static int collect_pushes_locked(struct skv_server *kv, struct push *out)
{
    int np = 0;
    for (int s = 0; s < SC_NSHARDS; s++) {
        if (kv->shards[s].state != SKV_SENDING)
            continue;
        int target = kv->cur.shards[s];
        int k = 0;
        while (k < np && out[k].target != target)
            k++;
        if (k == np) {
            const struct sc_group *g = sc_config_group(&kv->cur, target);
            if (!g)
                continue; /* cannot happen: the config names its groups */
            out[np] = (struct push){.target = target, .num = kv->cur.num};
            out[np].servers = xcalloc((size_t)g->nservers + 1, sizeof(char *));
            for (int j = 0; j < g->nservers; j++)
                out[np].servers[j] = xstrdup(g->servers[j]);
            out[np].nservers = g->nservers;
            np++;
        }
        out[k].shards[out[k].n++] = s;
    }
    /* Encode each push's data now, while the shards cannot change (they
     * are frozen anyway: no client op applies to a SENDING shard). */
    for (int k = 0; k < np; k++) {
        msgpack_packer pk;
        msgpack_packer_init(&pk, &out[k].args, buf_msgpack_write);
        msgpack_pack_map(&pk, 5);
        rpc_pack_kv_i64(&pk, "g", kv->gid);
        rpc_pack_kv_i64(&pk, "n", out[k].num);
        rpc_pack_key(&pk, "sh");
        msgpack_pack_array(&pk, (size_t)out[k].n);
        for (int i = 0; i < out[k].n; i++)
            msgpack_pack_int(&pk, out[k].shards[i]);
        rpc_pack_key(&pk, "d");
        msgpack_pack_array(&pk, (size_t)out[k].n);
        for (int i = 0; i < out[k].n; i++)
            pack_pairs(&pk, kv->shards[out[k].shards[i]].data);
        /* "x" (the dedup table) is appended outside mu. */
    }
    return np;
}

static void *pusher_main(void *arg)
{
    struct skv_server *kv = arg;
    while (nap(kv, SKV_PUSH_RETRY_MS)) {
        if (!rsm_is_leader(kv->rsm))
            continue;
        struct push pushes[SC_NSHARDS];
        pthread_mutex_lock(&kv->mu);
        int np = collect_pushes_locked(kv, pushes);
        pthread_mutex_unlock(&kv->mu);
        for (int k = 0; k < np; k++) {
            /* The table after the config change: it holds every request
             * applied to these shards before they froze. */
            msgpack_packer pk;
            msgpack_packer_init(&pk, &pushes[k].args, buf_msgpack_write);
            rpc_pack_key(&pk, "x");
            struct buf x = BUF_INIT;
            rsm_dedup_export(kv->rsm, &x);
            rpc_pack_bin(&pk, x.data, x.len);
            buf_free(&x);
            push_one(kv, &pushes[k]);
            for (int j = 0; j < pushes[k].nservers; j++)
                free(pushes[k].servers[j]);
            free(pushes[k].servers);
            buf_free(&pushes[k].args);
        }
    }
    return NULL;
}

/* ---- handlers ----------------------------------------------------------------- */

/* Is the key's shard one we serve right now? (A cheap early answer; the
 * authoritative check is made when the command is applied.) */
static bool serving(struct skv_server *kv, const char *k, size_t klen)
{
    int s = sc_key2shard(k, klen);
    pthread_mutex_lock(&kv->mu);
    bool ok = kv->shards[s].state == SKV_SERVING && !kv->dead;
    pthread_mutex_unlock(&kv->mu);
    return ok;
}

static int h_get(void *svc, const msgpack_object *args, msgpack_packer *reply)
{
    struct skv_server *kv = svc;
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    size_t klen = 0;
    const char *k = rpc_dec_bytes(&d, "k", &klen);
    if (d.err)
        return ERR_BADARGS;
    if (!k)
        k = "";
    int err = ERR_WRONG_GROUP;
    struct buf res = BUF_INIT;
    if (serving(kv, k, klen)) {
        struct buf cmd = BUF_INIT;
        encode_op(CMD_GET, k, klen, NULL, 0, &cmd);
        /* Reads are not deduplicated: re-executing one is harmless. */
        err = rsm_submit(kv->rsm, 0, 0, cmd.data, cmd.len, &res);
        buf_free(&cmd);
        if (err == ERR_OK)
            err = res.len > 0 ? -(int)res.data[0] : ERR_WRONG_LEADER;
    }
    msgpack_pack_map(reply, 2);
    rpc_pack_kv_cstr(reply, "e", err_name(err));
    if (err == ERR_OK)
        rpc_pack_kv_str(reply, "v", res.data + 1, res.len - 1);
    else
        rpc_pack_kv_str(reply, "v", "", 0);
    buf_free(&res);
    return 0;
}

static int h_put_append(void *svc, const msgpack_object *args,
                        msgpack_packer *reply)
{
    struct skv_server *kv = svc;
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    size_t klen = 0, vlen = 0, olen = 0;
    const char *k = rpc_dec_bytes(&d, "k", &klen);
    const char *v = rpc_dec_bytes(&d, "v", &vlen);
    const char *o = rpc_dec_bytes(&d, "o", &olen);
    uint64_t client = rpc_dec_u64(&d, "c", 0);
    uint64_t seq = rpc_dec_u64(&d, "s", 0);
    if (d.err || !o)
        return ERR_BADARGS;
    int type;
    if (olen == 3 && memcmp(o, "Put", 3) == 0)
        type = CMD_PUT;
    else if (olen == 6 && memcmp(o, "Append", 6) == 0)
        type = CMD_APPEND;
    else
        return ERR_BADARGS;
    if (!k)
        k = "";
    if (!v)
        v = "";
    int err = ERR_WRONG_GROUP;
    if (serving(kv, k, klen)) {
        struct buf cmd = BUF_INIT, res = BUF_INIT;
        encode_op(type, k, klen, v, vlen, &cmd);
        err = rsm_submit(kv->rsm, client, seq, cmd.data, cmd.len, &res);
        /* An empty reply: an older request of a client that moved on. */
        if (err == ERR_OK && res.len > 0)
            err = -(int)res.data[0];
        buf_free(&cmd);
        buf_free(&res);
    }
    msgpack_pack_map(reply, 1);
    rpc_pack_kv_cstr(reply, "e", err_name(err));
    return 0;
}

static bool shards_pulling_locked(const struct skv_server *kv,
                                  const int *shards, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (kv->shards[shards[i]].state == SKV_PULLING)
            return true;
    return false;
}

/* Another group pushes shards of configuration n to us. */
static int h_install(void *svc, const msgpack_object *args,
                     msgpack_packer *reply)
{
    struct skv_server *kv = svc;
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    int64_t num = rpc_dec_i64(&d, "n", -1);
    const msgpack_object *items = NULL;
    uint32_t n = rpc_dec_array(&d, "sh", &items);
    int shards[SC_NSHARDS];
    if (d.err || num < 0 || decode_shards(items, n, shards))
        return ERR_BADARGS;
    int64_t term = 0;
    bool leader = false;
    raft_get_state(rsm_raft(kv->rsm), &term, &leader);
    int err;
    pthread_mutex_lock(&kv->mu);
    bool need = false, pending = false;
    if (num < kv->cur.num) {
        err = ERR_OK; /* we moved past num: we had to have them */
    } else if (num > kv->cur.num) {
        err = ERR_NOT_READY;
    } else {
        err = ERR_OK;
        for (uint32_t i = 0; i < n; i++) {
            if (kv->shards[shards[i]].state != SKV_PULLING)
                continue;
            if (leader && kv->install_term[shards[i]] == term)
                pending = true; /* our entry is in the log already */
            else
                need = true;
        }
        for (uint32_t i = 0; need && leader && i < n; i++)
            kv->install_term[shards[i]] = term;
    }
    if (!need && pending) {
        /* A retry of a push whose entry we appended in this term: wait
         * for that entry to be applied rather than append another. */
        uint64_t deadline = clock_now_ns() + RSM_WAIT_MAX_MS * 1000000ull;
        while (!kv->dead && kv->cur.num == num &&
               shards_pulling_locked(kv, shards, n) &&
               clock_cond_wait_until(&kv->cond, &kv->mu, deadline) == 0)
            ;
        if (kv->cur.num == num && shards_pulling_locked(kv, shards, n))
            err = ERR_NOT_READY; /* the sender retries a little later */
    }
    pthread_mutex_unlock(&kv->mu);
    if (need) {
        /* Through the log, so every replica installs it at the same
         * point. The command carries the arguments exactly as received. */
        struct buf cmd = BUF_INIT, res = BUF_INIT;
        msgpack_packer pk;
        msgpack_packer_init(&pk, &cmd, buf_msgpack_write);
        msgpack_pack_map(&pk, 2);
        rpc_pack_kv_i64(&pk, "t", CMD_INSTALL);
        rpc_pack_key(&pk, "a");
        msgpack_pack_object(&pk, *args);
        err = rsm_submit(kv->rsm, 0, 0, cmd.data, cmd.len, &res);
        if (err == ERR_OK)
            err = res.len > 0 ? -(int)res.data[0] : ERR_WRONG_LEADER;
        buf_free(&cmd);
        buf_free(&res);
    }
    msgpack_pack_map(reply, 1);
    rpc_pack_kv_cstr(reply, "e", err_name(err));
    return 0;
}

static int h_status(void *svc, const msgpack_object *args,
                    msgpack_packer *reply)
{
    (void)args;
    struct skv_server *kv = svc;
    int64_t term = 0;
    bool leader = false;
    raft_get_state(rsm_raft(kv->rsm), &term, &leader);
    struct skv_server_stats st;
    skv_server_get_stats(kv, &st);
    msgpack_pack_map(reply, 8);
    rpc_pack_kv_i64(reply, "me", kv->me);
    rpc_pack_kv_i64(reply, "g", kv->gid);
    rpc_pack_kv_bool(reply, "l", leader);
    rpc_pack_kv_i64(reply, "t", term);
    rpc_pack_kv_i64(reply, "a", st.last_applied);
    rpc_pack_kv_i64(reply, "n", st.config_num);
    rpc_pack_key(reply, "st");
    msgpack_pack_array(reply, SC_NSHARDS);
    for (int s = 0; s < SC_NSHARDS; s++)
        msgpack_pack_int(reply, st.state[s]);
    rpc_pack_kv_u64(reply, "k", st.keys);
    return 0;
}

static const struct rpc_method skv_methods[] = {
    {"Get", h_get, 0},
    {"PutAppend", h_put_append, 0},
    {"Install", h_install, 0},
    {"Status", h_status, RPC_INLINE},
};

/* ---- lifecycle ------------------------------------------------------------------ */

struct skv_server *skv_server_start(struct rpc_end **peers, int n, int me,
                                    struct persister *persister,
                                    int64_t maxraftstate, int gid,
                                    struct rpc_end **ctrlers, int nctrlers,
                                    skv_make_end_fn make_end, void *ctx)
{
    struct skv_server *kv = xcalloc(1, sizeof(*kv));
    kv->me = me;
    kv->gid = gid;
    kv->make_end = make_end;
    kv->make_end_ctx = ctx;
    pthread_mutex_init(&kv->mu, NULL);
    clock_cond_init(&kv->cond);
    sc_config_init(&kv->cur);
    sc_config_init(&kv->prev);
    for (int s = 0; s < SC_NSHARDS; s++)
        kv->shards[s] = (struct shard){SKV_ABSENT, kv_map_new()};
    kv->ctrl = sc_clerk_new(ctrlers, nctrlers, 0);
    /* May call skv_restore before returning: the state above is ready. */
    kv->rsm = rsm_start(peers, n, me, persister, maxraftstate, &skv_rsm_ops,
                        kv);
    if (pthread_create(&kv->poller, NULL, poller_main, kv) != 0 ||
        pthread_create(&kv->pusher, NULL, pusher_main, kv) != 0)
        abort();
    kv->threads_started = true;
    return kv;
}

int skv_server_register(struct skv_server *kv, struct rpc_server *srv)
{
    int rc = rpc_server_add_service(srv, "ShardKV", kv, skv_methods,
                                    sizeof(skv_methods) /
                                        sizeof(skv_methods[0]));
    return rc ? rc : rsm_register(kv->rsm, srv);
}

struct raft *skv_server_raft(struct skv_server *kv)
{
    return rsm_raft(kv->rsm);
}

void skv_kill(struct skv_server *kv)
{
    pthread_mutex_lock(&kv->mu);
    bool first = !kv->killed;
    kv->killed = true;
    kv->dead = true;
    pthread_cond_broadcast(&kv->cond);
    pthread_mutex_unlock(&kv->mu);
    if (!first)
        return;
    rsm_kill(kv->rsm); /* submitters (handlers, our threads) return */
    if (kv->threads_started) {
        pthread_join(kv->poller, NULL);
        pthread_join(kv->pusher, NULL);
        kv->threads_started = false;
    }
}

void skv_free(struct skv_server *kv)
{
    if (!kv)
        return;
    skv_kill(kv);
    rsm_free(kv->rsm);
    sc_clerk_free(kv->ctrl);
    for (int s = 0; s < SC_NSHARDS; s++)
        kv_map_free(kv->shards[s].data);
    sc_config_free(&kv->cur);
    sc_config_free(&kv->prev);
    for (size_t i = 0; i < kv->nends; i++)
        free(kv->ends[i].name);
    free(kv->ends);
    pthread_mutex_destroy(&kv->mu);
    pthread_cond_destroy(&kv->cond);
    free(kv);
}

void skv_server_get_stats(struct skv_server *kv, struct skv_server_stats *out)
{
    struct rsm_stats rs;
    rsm_stats(kv->rsm, &rs);
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&kv->mu);
    out->gid = kv->gid;
    out->last_applied = rs.last_applied;
    out->clients = rs.clients;
    out->config_num = kv->cur.num;
    for (int s = 0; s < SC_NSHARDS; s++) {
        out->state[s] = kv->shards[s].state;
        out->keys += kv_map_count(kv->shards[s].data);
    }
    out->installs_sent = kv->installs_sent;
    out->installs_received = kv->installs_received;
    out->deletes = kv->deletes;
    pthread_mutex_unlock(&kv->mu);
}
