/* sc_config.c - shard configurations: join/leave/move and the deterministic
 * minimal-movement rebalancer described in sc_config.h. */
#include "shardctrler/sc_config.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "rpc/rpc.h"

void sc_config_init(struct sc_config *c)
{
    memset(c, 0, sizeof(*c));
}

static void sc_group_free(struct sc_group *g)
{
    for (int i = 0; i < g->nservers; i++)
        free(g->servers[i]);
    free(g->servers);
    g->servers = NULL;
    g->nservers = 0;
}

static void sc_group_copy(struct sc_group *dst, const struct sc_group *src)
{
    dst->gid = src->gid;
    dst->nservers = src->nservers;
    dst->servers = xcalloc((size_t)src->nservers + 1, sizeof(char *));
    for (int i = 0; i < src->nservers; i++)
        dst->servers[i] = xstrdup(src->servers[i]);
}

void sc_config_free(struct sc_config *c)
{
    for (int i = 0; i < c->ngroups; i++)
        sc_group_free(&c->groups[i]);
    free(c->groups);
    sc_config_init(c);
}

void sc_config_copy(struct sc_config *dst, const struct sc_config *src)
{
    dst->num = src->num;
    memcpy(dst->shards, src->shards, sizeof(dst->shards));
    dst->ngroups = src->ngroups;
    dst->groups = xcalloc((size_t)src->ngroups + 1, sizeof(struct sc_group));
    for (int i = 0; i < src->ngroups; i++)
        sc_group_copy(&dst->groups[i], &src->groups[i]);
}

bool sc_config_equal(const struct sc_config *a, const struct sc_config *b)
{
    if (a->num != b->num || a->ngroups != b->ngroups ||
        memcmp(a->shards, b->shards, sizeof(a->shards)) != 0)
        return false;
    for (int i = 0; i < a->ngroups; i++) {
        const struct sc_group *x = &a->groups[i], *y = &b->groups[i];
        if (x->gid != y->gid || x->nservers != y->nservers)
            return false;
        for (int j = 0; j < x->nservers; j++)
            if (strcmp(x->servers[j], y->servers[j]) != 0)
                return false;
    }
    return true;
}

static int sc_group_index(const struct sc_config *c, int gid)
{
    int lo = 0, hi = c->ngroups - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (c->groups[mid].gid == gid)
            return mid;
        if (c->groups[mid].gid < gid)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

const struct sc_group *sc_config_group(const struct sc_config *c, int gid)
{
    int i = sc_group_index(c, gid);
    return i < 0 ? NULL : &c->groups[i];
}

/* Insert keeping groups sorted by gid; replaces an existing gid. */
static void sc_config_put_group(struct sc_config *c, const struct sc_group *g)
{
    int i = sc_group_index(c, g->gid);
    if (i >= 0) {
        sc_group_free(&c->groups[i]);
        sc_group_copy(&c->groups[i], g);
        return;
    }
    c->groups = xrealloc(c->groups,
                         ((size_t)c->ngroups + 1) * sizeof(struct sc_group));
    int pos = c->ngroups;
    while (pos > 0 && c->groups[pos - 1].gid > g->gid) {
        c->groups[pos] = c->groups[pos - 1];
        pos--;
    }
    sc_group_copy(&c->groups[pos], g);
    c->ngroups++;
}

/* SOLUTION BEGIN */
void sc_config_rebalance(struct sc_config *c)
{
    int n = c->ngroups;
    if (n == 0) {
        for (int s = 0; s < SC_NSHARDS; s++)
            c->shards[s] = 0;
        return;
    }
    /* Current counts; shards of unknown groups (or gid 0) are free. */
    int *count = xcalloc((size_t)n, sizeof(int));
    bool free_shard[SC_NSHARDS];
    for (int s = 0; s < SC_NSHARDS; s++) {
        int gi = c->shards[s] ? sc_group_index(c, c->shards[s]) : -1;
        free_shard[s] = gi < 0;
        if (gi >= 0)
            count[gi]++;
    }
    /* Targets: base for everyone; the "+1" slots go to the groups holding
     * the most shards now (ties: smaller gid), so that as few shards as
     * possible have to move. Groups are sorted by gid, so a stable pick of
     * the max-count remaining group breaks ties by gid. */
    int base = SC_NSHARDS / n, extra = SC_NSHARDS % n;
    int *target = xcalloc((size_t)n, sizeof(int));
    bool *got_extra = xcalloc((size_t)n, sizeof(bool));
    for (int i = 0; i < n; i++)
        target[i] = base;
    for (int k = 0; k < extra; k++) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (!got_extra[i] && (best < 0 || count[i] > count[best]))
                best = i;
        got_extra[best] = true;
        target[best]++;
    }
    /* Release the excess of over-full groups: their highest shards. */
    for (int s = SC_NSHARDS - 1; s >= 0; s--) {
        if (free_shard[s])
            continue;
        int gi = sc_group_index(c, c->shards[s]);
        if (count[gi] > target[gi]) {
            count[gi]--;
            free_shard[s] = true;
        }
    }
    /* Hand free shards, lowest first, to under-full groups, lowest gid
     * first. Totals match exactly, so every free shard finds a home. */
    int gi = 0;
    for (int s = 0; s < SC_NSHARDS; s++) {
        if (!free_shard[s])
            continue;
        while (gi < n && count[gi] >= target[gi])
            gi++;
        c->shards[s] = c->groups[gi].gid;
        count[gi]++;
    }
    free(count);
    free(target);
    free(got_extra);
}

int sc_config_join(struct sc_config *c, const struct sc_group *groups, int n)
{
    for (int i = 0; i < n; i++)
        if (groups[i].gid <= 0)
            return ERR_INVAL;
    for (int i = 0; i < n; i++)
        sc_config_put_group(c, &groups[i]);
    c->num++;
    sc_config_rebalance(c);
    return 0;
}

int sc_config_leave(struct sc_config *c, const int *gids, int n)
{
    for (int k = 0; k < n; k++) {
        int i = sc_group_index(c, gids[k]);
        if (i < 0)
            continue;
        sc_group_free(&c->groups[i]);
        memmove(&c->groups[i], &c->groups[i + 1],
                (size_t)(c->ngroups - i - 1) * sizeof(struct sc_group));
        c->ngroups--;
        for (int s = 0; s < SC_NSHARDS; s++)
            if (c->shards[s] == gids[k])
                c->shards[s] = 0;
    }
    c->num++;
    sc_config_rebalance(c);
    return 0;
}

int sc_config_move(struct sc_config *c, int shard, int gid)
{
    if (shard < 0 || shard >= SC_NSHARDS || sc_group_index(c, gid) < 0)
        return ERR_INVAL;
    c->shards[shard] = gid;
    c->num++;
    return 0;
}
/* SOLUTION STUB
// Lab 5A: the next configuration after Join/Leave/Move (contracts in
// sc_config.h). Rebalance deterministically with as few moves as
// possible: every replica must compute the same configuration.
void sc_config_rebalance(struct sc_config *c)
{
    (void)c;
}

int sc_config_join(struct sc_config *c, const struct sc_group *groups, int n)
{
    (void)c, (void)groups, (void)n;
    return 0;
}

int sc_config_leave(struct sc_config *c, const int *gids, int n)
{
    (void)c, (void)gids, (void)n;
    return 0;
}

int sc_config_move(struct sc_config *c, int shard, int gid)
{
    (void)c, (void)shard, (void)gid;
    return 0;
}
*/
/* SOLUTION END */

void sc_config_pack(msgpack_packer *pk, const struct sc_config *c)
{
    msgpack_pack_map(pk, 3);
    rpc_pack_kv_i64(pk, "n", c->num);
    rpc_pack_key(pk, "s");
    msgpack_pack_array(pk, SC_NSHARDS);
    for (int s = 0; s < SC_NSHARDS; s++)
        msgpack_pack_int(pk, c->shards[s]);
    rpc_pack_key(pk, "g");
    msgpack_pack_array(pk, (size_t)c->ngroups);
    for (int i = 0; i < c->ngroups; i++) {
        const struct sc_group *g = &c->groups[i];
        msgpack_pack_array(pk, 2);
        msgpack_pack_int(pk, g->gid);
        msgpack_pack_array(pk, (size_t)g->nservers);
        for (int j = 0; j < g->nservers; j++)
            rpc_pack_cstr(pk, g->servers[j]);
    }
}

/* Decode one [gid, [servers]] pair into g (owned strings). */
static int sc_group_unpack(const msgpack_object *o, struct sc_group *g)
{
    int64_t gid;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2 ||
        rpc_obj_i64(&o->via.array.ptr[0], &gid) != 0 || gid <= 0 ||
        gid > INT32_MAX || o->via.array.ptr[1].type != MSGPACK_OBJECT_ARRAY)
        return ERR_BADARGS;
    const msgpack_object_array *sv = &o->via.array.ptr[1].via.array;
    g->gid = (int)gid;
    g->nservers = 0;
    g->servers = xcalloc((size_t)sv->size + 1, sizeof(char *));
    for (uint32_t j = 0; j < sv->size; j++) {
        const char *p;
        size_t len;
        if (rpc_obj_bytes(&sv->ptr[j], &p, &len) != 0)
            return ERR_BADARGS;
        g->servers[g->nservers++] = buf_strndup(p, len);
    }
    return 0;
}

int sc_config_unpack(const msgpack_object *o, struct sc_config *c)
{
    sc_config_init(c);
    struct rpc_dec d;
    rpc_dec_init(&d, o);
    c->num = rpc_dec_i64(&d, "n", 0);
    const msgpack_object *sh;
    uint32_t ns = rpc_dec_array(&d, "s", &sh);
    const msgpack_object *gs;
    uint32_t ng = rpc_dec_array(&d, "g", &gs);
    if (d.err || ns != SC_NSHARDS || c->num < 0)
        goto bad;
    for (int s = 0; s < SC_NSHARDS; s++) {
        int64_t gid;
        if (rpc_obj_i64(&sh[s], &gid) != 0 || gid < 0 || gid > INT32_MAX)
            goto bad;
        c->shards[s] = (int)gid;
    }
    for (uint32_t i = 0; i < ng; i++) {
        struct sc_group g = {0, 0, NULL};
        int rc = sc_group_unpack(&gs[i], &g);
        if (rc == 0 && sc_group_index(c, g.gid) < 0)
            sc_config_put_group(c, &g);
        else
            rc = ERR_BADARGS;
        if (g.servers)
            sc_group_free(&g);
        if (rc)
            goto bad;
    }
    return 0;
bad:
    sc_config_free(c);
    return ERR_BADARGS;
}

int sc_key2shard(const char *key, size_t len)
{
    return len == 0 ? 0 : (unsigned char)key[0] % SC_NSHARDS;
}
