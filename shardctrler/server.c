/* server.c - the shard controller replica (see shardctrler.h): RPC
 * handlers that submit commands through the rsm layer, and the rsm
 * callbacks that apply them to the configuration history. */
/* SOLUTION FILE */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "raft/rsm.h"
#include "shardctrler/shardctrler.h"

enum sc_op { SC_JOIN = 1, SC_LEAVE = 2, SC_MOVE = 3, SC_QUERY = 4 };

struct sc_server {
    int me;
    struct rsm *rsm; /* owned */

    pthread_mutex_t mu;
    /* guarded by mu (written only by the rsm applier): */
    struct sc_config *configs; /* configs[i].num == i */
    size_t nconfigs;
    size_t cap;
};

/* ---- history ------------------------------------------------------------ */

static void history_free_locked(struct sc_server *sc)
{
    for (size_t i = 0; i < sc->nconfigs; i++)
        sc_config_free(&sc->configs[i]);
    free(sc->configs);
    sc->configs = NULL;
    sc->nconfigs = sc->cap = 0;
}

/* Append c (taken) as the next configuration. */
static void history_push_locked(struct sc_server *sc, struct sc_config *c)
{
    if (sc->nconfigs == sc->cap) {
        sc->cap = sc->cap ? sc->cap * 2 : 16;
        sc->configs = xrealloc(sc->configs, sc->cap * sizeof(*sc->configs));
    }
    sc->configs[sc->nconfigs++] = *c;
    sc_config_init(c);
}

static const struct sc_config *history_get_locked(struct sc_server *sc,
                                                  int64_t num)
{
    if (num < 0 || (uint64_t)num >= sc->nconfigs)
        num = (int64_t)sc->nconfigs - 1;
    return &sc->configs[num];
}

/* ---- commands -----------------------------------------------------------
 * Encoded as msgpack maps: {t: op, g: groups/gids, sh: shard, n: num}. The
 * groups of a Join keep the order the client gave (the config sorts them
 * by gid, so the result is the same on every replica). */

struct sc_cmd {
    int op;
    struct sc_group *groups; /* Join: owned */
    int ngroups;
    int *gids; /* Leave: owned */
    int ngids;
    int shard, gid; /* Move */
    int64_t num;    /* Query */
};

static void sc_cmd_free(struct sc_cmd *c)
{
    for (int i = 0; i < c->ngroups; i++) {
        for (int j = 0; j < c->groups[i].nservers; j++)
            free(c->groups[i].servers[j]);
        free(c->groups[i].servers);
    }
    free(c->groups);
    free(c->gids);
    memset(c, 0, sizeof(*c));
}

static void pack_groups(msgpack_packer *pk, const struct sc_group *g, int n)
{
    msgpack_pack_array(pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        msgpack_pack_array(pk, 2);
        msgpack_pack_int(pk, g[i].gid);
        msgpack_pack_array(pk, (size_t)g[i].nservers);
        for (int j = 0; j < g[i].nservers; j++)
            rpc_pack_cstr(pk, g[i].servers[j]);
    }
}

static void sc_cmd_encode(const struct sc_cmd *c, struct buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_msgpack_write);
    switch (c->op) {
    case SC_JOIN:
        msgpack_pack_map(&pk, 2);
        rpc_pack_kv_i64(&pk, "t", SC_JOIN);
        rpc_pack_key(&pk, "g");
        pack_groups(&pk, c->groups, c->ngroups);
        break;
    case SC_LEAVE:
        msgpack_pack_map(&pk, 2);
        rpc_pack_kv_i64(&pk, "t", SC_LEAVE);
        rpc_pack_key(&pk, "g");
        msgpack_pack_array(&pk, (size_t)c->ngids);
        for (int i = 0; i < c->ngids; i++)
            msgpack_pack_int(&pk, c->gids[i]);
        break;
    case SC_MOVE:
        msgpack_pack_map(&pk, 3);
        rpc_pack_kv_i64(&pk, "t", SC_MOVE);
        rpc_pack_kv_i64(&pk, "sh", c->shard);
        rpc_pack_kv_i64(&pk, "g", c->gid);
        break;
    default:
        msgpack_pack_map(&pk, 2);
        rpc_pack_kv_i64(&pk, "t", SC_QUERY);
        rpc_pack_kv_i64(&pk, "n", c->num);
        break;
    }
}

static int obj_int(const msgpack_object *o, int *out)
{
    int64_t v;
    if (rpc_obj_i64(o, &v) || v < INT32_MIN || v > INT32_MAX)
        return ERR_BADARGS;
    *out = (int)v;
    return 0;
}

/* Decode the fields of op `op` from a map (a command or RPC args) into c
 * (owned copies). 0 or ERR_BADARGS (c then empty). */
static int sc_cmd_decode_fields(const msgpack_object *obj, int op,
                                struct sc_cmd *c)
{
    memset(c, 0, sizeof(*c));
    c->op = op;
    struct rpc_dec d;
    rpc_dec_init(&d, obj);
    const msgpack_object *items = NULL;
    uint32_t n = 0;
    switch (op) {
    case SC_JOIN:
        n = rpc_dec_array(&d, "g", &items);
        if (d.err)
            goto bad;
        c->groups = xcalloc((size_t)n + 1, sizeof(*c->groups));
        for (uint32_t i = 0; i < n; i++) {
            const msgpack_object *g = &items[i];
            struct sc_group *sg = &c->groups[c->ngroups];
            if (g->type != MSGPACK_OBJECT_ARRAY || g->via.array.size != 2 ||
                obj_int(&g->via.array.ptr[0], &sg->gid) ||
                g->via.array.ptr[1].type != MSGPACK_OBJECT_ARRAY)
                goto bad;
            c->ngroups++;
            const msgpack_object_array *sv = &g->via.array.ptr[1].via.array;
            sg->servers = xcalloc((size_t)sv->size + 1, sizeof(char *));
            for (uint32_t j = 0; j < sv->size; j++) {
                const char *p;
                size_t len;
                if (rpc_obj_bytes(&sv->ptr[j], &p, &len))
                    goto bad;
                sg->servers[sg->nservers++] = buf_strndup(p, len);
            }
        }
        return 0;
    case SC_LEAVE:
        n = rpc_dec_array(&d, "g", &items);
        if (d.err)
            goto bad;
        c->gids = xcalloc((size_t)n + 1, sizeof(int));
        for (uint32_t i = 0; i < n; i++, c->ngids++)
            if (obj_int(&items[i], &c->gids[i]))
                goto bad;
        return 0;
    case SC_MOVE:
        c->shard = rpc_dec_int(&d, "sh", -1);
        c->gid = rpc_dec_int(&d, "g", 0);
        return d.err ? ERR_BADARGS : 0;
    case SC_QUERY:
        c->num = rpc_dec_i64(&d, "n", -1);
        return d.err ? ERR_BADARGS : 0;
    default:
        break;
    }
bad:
    sc_cmd_free(c);
    return ERR_BADARGS;
}

/* ---- rsm callbacks -------------------------------------------------------
 * Reply bytes: one byte holding -err (0 = OK), then, for a Query, the
 * packed configuration. */

static bool sc_apply(void *svc, const void *data, size_t len, int64_t index,
                     struct buf *reply)
{
    struct sc_server *sc = svc;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    struct sc_cmd c;
    int rc = ERR_BADARGS;
    if (msgpack_unpack_next(&u, data, len, &off) == MSGPACK_UNPACK_SUCCESS) {
        struct rpc_dec d;
        rpc_dec_init(&d, &u.data);
        int op = rpc_dec_int(&d, "t", 0);
        rc = d.err ? ERR_BADARGS : sc_cmd_decode_fields(&u.data, op, &c);
    }
    msgpack_unpacked_destroy(&u);
    if (rc != 0) {
        log_warn("CTRL", sc->me, "undecodable command at %lld",
                 (long long)index);
        buf_append_byte(reply, (uint8_t)-ERR_BADARGS);
        return true;
    }

    pthread_mutex_lock(&sc->mu);
    const struct sc_config *latest = history_get_locked(sc, -1);
    if (c.op == SC_QUERY) {
        const struct sc_config *q = history_get_locked(sc, c.num);
        buf_append_byte(reply, 0);
        msgpack_packer pk;
        msgpack_packer_init(&pk, reply, buf_msgpack_write);
        sc_config_pack(&pk, q);
    } else {
        struct sc_config next;
        sc_config_copy(&next, latest);
        if (c.op == SC_JOIN)
            rc = sc_config_join(&next, c.groups, c.ngroups);
        else if (c.op == SC_LEAVE)
            rc = sc_config_leave(&next, c.gids, c.ngids);
        else
            rc = sc_config_move(&next, c.shard, c.gid);
        if (rc == 0) {
            log_debug("CTRL", sc->me, "config %lld at index %lld",
                      (long long)next.num, (long long)index);
            history_push_locked(sc, &next);
        } else {
            sc_config_free(&next);
        }
        buf_append_byte(reply, (uint8_t)-rc);
    }
    pthread_mutex_unlock(&sc->mu);
    sc_cmd_free(&c);
    /* Rejections (EINVAL) are deterministic: recording them lets a retry
     * get the same answer. */
    return true;
}

static void sc_snapshot(void *svc, struct buf *out)
{
    struct sc_server *sc = svc;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_msgpack_write);
    pthread_mutex_lock(&sc->mu);
    msgpack_pack_array(&pk, sc->nconfigs);
    for (size_t i = 0; i < sc->nconfigs; i++)
        sc_config_pack(&pk, &sc->configs[i]);
    pthread_mutex_unlock(&sc->mu);
}

static int sc_restore(void *svc, const void *data, size_t len)
{
    struct sc_server *sc = svc;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int rc = ERR_CORRUPT;
    struct sc_config *cs = NULL;
    uint32_t n = 0, ok = 0;
    if (msgpack_unpack_next(&u, data, len, &off) != MSGPACK_UNPACK_SUCCESS ||
        u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size == 0)
        goto out;
    n = u.data.via.array.size;
    cs = xcalloc(n, sizeof(*cs));
    for (; ok < n; ok++)
        if (sc_config_unpack(&u.data.via.array.ptr[ok], &cs[ok]) != 0 ||
            cs[ok].num != (int64_t)ok)
            goto out;
    pthread_mutex_lock(&sc->mu);
    history_free_locked(sc);
    sc->configs = cs;
    sc->nconfigs = sc->cap = n;
    pthread_mutex_unlock(&sc->mu);
    cs = NULL;
    rc = 0;
out:
    if (cs) {
        for (uint32_t i = 0; i <= ok && i < n; i++)
            sc_config_free(&cs[i]);
        free(cs);
    }
    msgpack_unpacked_destroy(&u);
    return rc;
}

static const struct rsm_ops sc_rsm_ops = {sc_apply, sc_snapshot, sc_restore};

/* ---- handlers ------------------------------------------------------------- */

/* Submit c and reply {e} (plus cf for a Query) from the applied result. */
static int submit_and_reply(struct sc_server *sc, const struct sc_cmd *c,
                            uint64_t client, uint64_t seq,
                            msgpack_packer *reply)
{
    struct buf cmd = BUF_INIT, res = BUF_INIT;
    sc_cmd_encode(c, &cmd);
    int rc = rsm_submit(sc->rsm, client, seq, cmd.data, cmd.len, &res);
    buf_free(&cmd);
    if (rc == ERR_OK && res.len > 0)
        rc = -(int)res.data[0];
    else if (rc == ERR_OK && c->op == SC_QUERY)
        rc = ERR_WRONG_LEADER; /* cannot happen: queries are anonymous */
    bool cfg = rc == ERR_OK && c->op == SC_QUERY && res.len > 1;
    msgpack_pack_map(reply, cfg ? 2 : 1);
    rpc_pack_kv_cstr(reply, "e", err_name(rc));
    if (cfg) {
        /* The packed configuration, copied through as it is. */
        /* apply() packed it: copy the bytes through unchanged. */
        rpc_pack_key(reply, "cf");
        reply->callback(reply->data, (const char *)res.data + 1,
                        res.len - 1);
    }
    buf_free(&res);
    return 0;
}

static int handle_op(void *svc, const msgpack_object *args,
                     msgpack_packer *reply, int op)
{
    struct sc_server *sc = svc;
    struct sc_cmd c;
    if (sc_cmd_decode_fields(args, op, &c) != 0)
        return ERR_BADARGS;
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    uint64_t client = rpc_dec_u64(&d, "c", 0);
    uint64_t seq = rpc_dec_u64(&d, "s", 0);
    int rc = d.err ? ERR_BADARGS
                   : submit_and_reply(sc, &c, client, seq, reply);
    sc_cmd_free(&c);
    return rc;
}

static int h_join(void *svc, const msgpack_object *args,
                  msgpack_packer *reply)
{
    return handle_op(svc, args, reply, SC_JOIN);
}

static int h_leave(void *svc, const msgpack_object *args,
                   msgpack_packer *reply)
{
    return handle_op(svc, args, reply, SC_LEAVE);
}

static int h_move(void *svc, const msgpack_object *args,
                  msgpack_packer *reply)
{
    return handle_op(svc, args, reply, SC_MOVE);
}

static int h_query(void *svc, const msgpack_object *args,
                   msgpack_packer *reply)
{
    struct sc_server *sc = svc;
    struct rpc_dec d;
    rpc_dec_init(&d, args);
    int64_t num = rpc_dec_i64(&d, "n", -1);
    if (d.err)
        return ERR_BADARGS;
    /* A configuration we already have never changes: answer at once. */
    pthread_mutex_lock(&sc->mu);
    if (num >= 0 && (uint64_t)num < sc->nconfigs) {
        msgpack_pack_map(reply, 2);
        rpc_pack_kv_cstr(reply, "e", "OK");
        rpc_pack_key(reply, "cf");
        sc_config_pack(reply, &sc->configs[num]);
        pthread_mutex_unlock(&sc->mu);
        return 0;
    }
    pthread_mutex_unlock(&sc->mu);
    struct sc_cmd c = {.op = SC_QUERY, .num = num};
    return submit_and_reply(sc, &c, 0, 0, reply);
}

static int h_status(void *svc, const msgpack_object *args,
                    msgpack_packer *reply)
{
    (void)args;
    struct sc_server *sc = svc;
    int64_t term = 0;
    bool leader = false;
    raft_get_state(rsm_raft(sc->rsm), &term, &leader);
    struct sc_server_stats st;
    sc_server_get_stats(sc, &st);
    msgpack_pack_map(reply, 5);
    rpc_pack_kv_i64(reply, "me", sc->me);
    rpc_pack_kv_bool(reply, "l", leader);
    rpc_pack_kv_i64(reply, "t", term);
    rpc_pack_kv_i64(reply, "a", st.last_applied);
    rpc_pack_kv_i64(reply, "n", st.latest);
    return 0;
}

/* Join/Leave/Move/Query may wait for the log: worker threads. */
static const struct rpc_method sc_methods[] = {
    {"Join", h_join, 0},
    {"Leave", h_leave, 0},
    {"Move", h_move, 0},
    {"Query", h_query, 0},
    {"Status", h_status, RPC_INLINE},
};

/* ---- lifecycle ---------------------------------------------------------- */

struct sc_server *sc_server_start(struct rpc_end **peers, int n, int me,
                                  struct persister *persister,
                                  int64_t maxraftstate)
{
    struct sc_server *sc = xcalloc(1, sizeof(*sc));
    sc->me = me;
    pthread_mutex_init(&sc->mu, NULL);
    struct sc_config c0;
    sc_config_init(&c0); /* configuration 0: no groups */
    history_push_locked(sc, &c0);
    sc->rsm = rsm_start(peers, n, me, persister, maxraftstate, &sc_rsm_ops,
                        sc);
    return sc;
}

int sc_server_register(struct sc_server *sc, struct rpc_server *srv)
{
    int rc = rpc_server_add_service(srv, "ShardCtrler", sc, sc_methods,
                                    sizeof(sc_methods) /
                                        sizeof(sc_methods[0]));
    return rc ? rc : rsm_register(sc->rsm, srv);
}

struct raft *sc_server_raft(struct sc_server *sc) { return rsm_raft(sc->rsm); }

void sc_kill(struct sc_server *sc) { rsm_kill(sc->rsm); }

void sc_free(struct sc_server *sc)
{
    if (!sc)
        return;
    rsm_free(sc->rsm);
    history_free_locked(sc);
    pthread_mutex_destroy(&sc->mu);
    free(sc);
}

void sc_server_get_stats(struct sc_server *sc, struct sc_server_stats *out)
{
    struct rsm_stats rs;
    rsm_stats(sc->rsm, &rs);
    pthread_mutex_lock(&sc->mu);
    out->last_applied = rs.last_applied;
    out->nconfigs = sc->nconfigs;
    out->latest = (int64_t)sc->nconfigs - 1;
    pthread_mutex_unlock(&sc->mu);
}

void sc_server_config(struct sc_server *sc, int64_t num,
                      struct sc_config *out)
{
    pthread_mutex_lock(&sc->mu);
    sc_config_copy(out, history_get_locked(sc, num));
    pthread_mutex_unlock(&sc->mu);
}
