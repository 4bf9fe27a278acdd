/* sim.c - KV history generators and the brute-force oracle used to test
 * the checker against an independent, obviously-correct definition. */
#include "labs/porcupine/tests/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

/* --- small random histories ---------------------------------------------- */

struct lp_ref {
    int64_t lp;
    size_t i;
};

static int lp_cmp(const void *pa, const void *pb)
{
    const struct lp_ref *a = pa, *b = pb;
    if (a->lp != b->lp)
        return a->lp < b->lp ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

size_t porcupine_test_random_history(struct rng *r, struct sim_op *ops)
{
    static const char *const vals[] = {"1", "2", "x", "ab"};
    size_t n = 1 + rng_below(r, SIM_MAX_OPS);
    int nkeys = 1 + (int)rng_below(r, 2);
    struct lp_ref lps[SIM_MAX_OPS];
    size_t nlp = 0;
    for (size_t i = 0; i < n; i++) {
        struct sim_op *o = &ops[i];
        memset(o, 0, sizeof(*o));
        o->client = (int)rng_below(r, 4);
        o->op = (int)rng_below(r, 4);
        snprintf(o->key, sizeof(o->key), "%c", 'a' + (int)rng_below(r, nkeys));
        if (o->op != PORCUPINE_KV_GET)
            snprintf(o->value, sizeof(o->value), "%s", vals[rng_below(r, 4)]);
        /* Small integer times make equal timestamps common. */
        o->call = (int64_t)rng_below(r, 12);
        o->ret = o->call + (int64_t)rng_below(r, 8);
        bool pending = rng_below(r, 10) == 0;
        if (pending)
            o->ret = PORCUPINE_NEVER;
        /* Linearization point in quarter ticks, inside [call, ret]; a
         * pending op takes effect later or never. */
        if (!pending)
            lps[nlp++] = (struct lp_ref){
                4 * o->call + (int64_t)rng_below(r, (uint64_t)(4 * (o->ret - o->call) + 1)),
                i};
        else if (rng_below(r, 2))
            lps[nlp++] = (struct lp_ref){4 * o->call + (int64_t)rng_below(r, 80), i};
    }
    /* Run the ops sequentially at their linearization points. */
    qsort(lps, nlp, sizeof(lps[0]), lp_cmp);
    char st[2][SIM_VAL] = {"", ""};
    for (size_t k = 0; k < nlp; k++) {
        struct sim_op *o = &ops[lps[k].i];
        char *s = st[o->key[0] - 'a'];
        bool pending = o->ret == PORCUPINE_NEVER;
        if ((o->op == PORCUPINE_KV_GET || o->op == PORCUPINE_KV_APPEND_OLD) &&
            !pending) {
            o->has_out = true;
            snprintf(o->out, sizeof(o->out), "%s", s);
        }
        if (o->op == PORCUPINE_KV_PUT)
            snprintf(s, SIM_VAL, "%s", o->value);
        else if (o->op != PORCUPINE_KV_GET)
            strncat(s, o->value, SIM_VAL - strlen(s) - 1);
    }
    /* Perturb some outputs so about half the histories are illegal. */
    if (rng_below(r, 10) < 4) {
        size_t cand[SIM_MAX_OPS], nc = 0;
        for (size_t i = 0; i < n; i++)
            if (ops[i].has_out)
                cand[nc++] = i;
        if (nc) {
            struct sim_op *o = &ops[cand[rng_below(r, nc)]];
            size_t len = strlen(o->out);
            switch (rng_below(r, 4)) {
            case 0:
                o->out[0] = '\0';
                break;
            case 1:
                snprintf(o->out, sizeof(o->out), "%s", vals[rng_below(r, 4)]);
                break;
            case 2:
                if (len)
                    o->out[len - 1] = '\0';
                break;
            default:
                strncat(o->out, vals[rng_below(r, 4)], SIM_VAL - len - 1);
                break;
            }
        }
    }
    return n;
}

/* --- the oracle ------------------------------------------------------------ */

static bool dfs(const struct sim_op *ops, size_t n, unsigned used,
                char st[2][2 * SIM_VAL])
{
    if (used == (1u << n) - 1)
        return true;
    for (size_t i = 0; i < n; i++) {
        if (used & (1u << i))
            continue;
        bool first = true; /* no remaining op returned before i was called */
        for (size_t j = 0; j < n && first; j++)
            if (j != i && !(used & (1u << j)) && ops[j].ret < ops[i].call)
                first = false;
        if (!first)
            continue;
        const struct sim_op *o = &ops[i];
        char next[2][2 * SIM_VAL];
        memcpy(next, st, sizeof(next));
        char *s = next[o->key[0] - 'a'];
        bool ok = true;
        switch (o->op) {
        case PORCUPINE_KV_GET:
            ok = !o->has_out || strcmp(o->out, s) == 0;
            break;
        case PORCUPINE_KV_PUT:
            snprintf(s, 2 * SIM_VAL, "%s", o->value);
            break;
        case PORCUPINE_KV_APPEND:
            strncat(s, o->value, 2 * SIM_VAL - strlen(s) - 1);
            break;
        default:
            ok = !o->has_out || strcmp(o->out, s) == 0;
            strncat(s, o->value, 2 * SIM_VAL - strlen(s) - 1);
            break;
        }
        if (ok && dfs(ops, n, used | (1u << i), next))
            return true;
    }
    return false;
}

bool porcupine_test_brute_force(const struct sim_op *ops, size_t n)
{
    char st[2][2 * SIM_VAL] = {"", ""};
    return dfs(ops, n, 0, st);
}

void porcupine_test_record(struct porcupine_history *h,
                           const struct sim_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        porcupine_kv_record(h, ops[i].client, ops[i].op, ops[i].key,
                            ops[i].value, ops[i].has_out ? ops[i].out : NULL,
                            ops[i].call, ops[i].ret);
}

/* --- synthetic long executions ------------------------------------------------ */

struct sop {
    int client;
    int op;
    int key;
    char value[40];
    int64_t call, ret, lp;
    bool pending, applied;
    char *out;
};

size_t porcupine_test_simulate(struct porcupine_history *h, struct rng *r,
                               int nclients, int nkeys, int64_t duration_ns,
                               int64_t lat_min, int64_t lat_max,
                               int slow_pct, bool append_old)
{
    const int64_t base = 1000000000; /* arbitrary clock origin */
    size_t n = 0, cap = 1024;
    struct sop *ops = xmalloc(cap * sizeof(*ops));
    for (int c = 0; c < nclients; c++) {
        int64_t t = rng_range(r, 0, 1000000);
        int j = 0;
        while (t < duration_ns) {
            if (n == cap) {
                cap *= 2;
                ops = xrealloc(ops, cap * sizeof(*ops));
            }
            struct sop *o = &ops[n++];
            memset(o, 0, sizeof(*o));
            o->client = c;
            o->key = nkeys > 0 ? (int)rng_below(r, (uint64_t)nkeys) : c;
            uint64_t dice = rng_below(r, 100);
            if (dice < 50)
                o->op = append_old ? PORCUPINE_KV_APPEND_OLD : PORCUPINE_KV_APPEND;
            else if (dice < 60 && nkeys > 0)
                o->op = PORCUPINE_KV_PUT;
            else
                o->op = PORCUPINE_KV_GET;
            if (o->op != PORCUPINE_KV_GET)
                snprintf(o->value, sizeof(o->value), "x %d %d y", c, j++);
            int64_t lat = (int)rng_below(r, 100) < slow_pct
                              ? rng_range(r, 100000000, 1500000000)
                              : rng_range(r, lat_min, lat_max);
            o->call = base + t;
            o->ret = base + t + lat;
            o->lp = o->call + rng_range(r, 0, lat);
            o->applied = true;
            if (t + lat > duration_ns) {
                /* Still in flight at the end: it may or may not have taken
                 * effect, and its reply never came. */
                o->pending = true;
                o->applied = rng_below(r, 2) == 0;
            }
            t += lat + rng_range(r, 0, 100000);
        }
    }
    struct lp_ref *order = xmalloc(n * sizeof(*order));
    size_t norder = 0;
    for (size_t i = 0; i < n; i++)
        if (ops[i].applied)
            order[norder++] = (struct lp_ref){ops[i].lp, i};
    qsort(order, norder, sizeof(*order), lp_cmp);
    int nk = nkeys > 0 ? nkeys : nclients;
    struct buf *vals = xcalloc((size_t)nk, sizeof(*vals));
    for (size_t k = 0; k < norder; k++) {
        struct sop *o = &ops[order[k].i];
        struct buf *v = &vals[o->key];
        if ((o->op == PORCUPINE_KV_GET || o->op == PORCUPINE_KV_APPEND_OLD) &&
            !o->pending)
            o->out = buf_strndup(v->data ? (const char *)v->data : "", v->len);
        if (o->op == PORCUPINE_KV_PUT)
            buf_clear(v);
        if (o->op != PORCUPINE_KV_GET)
            buf_append(v, o->value, strlen(o->value));
    }
    for (size_t i = 0; i < n; i++) {
        struct sop *o = &ops[i];
        char key[16];
        snprintf(key, sizeof(key), "%d", o->key);
        porcupine_kv_record(h, o->client, o->op, key, o->value, o->out, o->call,
                            o->pending ? PORCUPINE_NEVER : o->ret);
        free(o->out);
    }
    for (int k = 0; k < nk; k++)
        buf_free(&vals[k]);
    free(vals);
    free(order);
    free(ops);
    return n;
}
