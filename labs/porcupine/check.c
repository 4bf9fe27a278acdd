/* check.c - the linearizability search (Porcupine's checker.go).
 *
 * Per partition: every op becomes a call entry and a return entry, sorted
 * by time (calls before returns at equal times: such ops overlap). The
 * entries form a doubly linked list; the search walks it from the front:
 *   - at a call, try to linearize that op now: if the model accepts it and
 *     (linearized set + op, new state) is not in the cache, remember it,
 *     push (op, old state), lift the op's two entries out of the list and
 *     restart from the front;
 *   - at a return, the op it belongs to should already have been
 *     linearized (its response came back before anything else was tried),
 *     so the last choice was wrong: pop it, put its entries back and try
 *     the next candidate after it; with nothing to pop, there is no
 *     linearization.
 * An empty list means every op is linearized. Lifting and unlifting are
 * LIFO, so a removed node's own prev/next still say where it goes back
 * ("dancing links").
 *
 * Partitions run on a small pool (the calling thread plus helpers, one per
 * CPU in all), smallest first; a kill flag stops them when the time budget runs out (or,
 * without info, at the first illegal one). */
#include "labs/porcupine/porcupine_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"

const char *porcupine_result_name(enum porcupine_result r)
{
    switch (r) {
    case PORCUPINE_OK:
        return "Ok";
    case PORCUPINE_ILLEGAL:
        return "Illegal";
    case PORCUPINE_UNKNOWN:
        return "Unknown";
    }
    return "?";
}

/* --- entries and the linked list ---------------------------------------- */

struct entry {
    int64_t time;
    uint32_t id;
    bool is_return;
};

static int entry_cmp(const void *pa, const void *pb)
{
    const struct entry *a = pa, *b = pb;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    /* At equal times calls come first, so the two ops count as concurrent. */
    if (a->is_return != b->is_return)
        return a->is_return ? 1 : -1;
    /* Porcupine's sort is unstable here; fix an order for repeatability. */
    return a->id < b->id ? -1 : a->id > b->id;
}

struct node {
    struct node *next;
    struct node *prev;
    struct node *match; /* call: its return node; return: NULL */
    uint32_t id;
};

static void lift(struct node *call)
{
    call->prev->next = call->next;
    call->next->prev = call->prev; /* a call is always followed by a node */
    struct node *ret = call->match;
    ret->prev->next = ret->next;
    if (ret->next)
        ret->next->prev = ret->prev;
}

static void unlift(struct node *call)
{
    struct node *ret = call->match;
    ret->prev->next = ret;
    if (ret->next)
        ret->next->prev = ret;
    call->prev->next = call;
    call->next->prev = call;
}

/* --- partial linearizations (verbose mode) -------------------------------- */

/* A snapshot of the search stack, shared by every op whose longest
 * linearizable prefix it is. */
struct snap {
    size_t refs;
    size_t len;
    uint32_t ids[];
};

static void snap_set(struct snap **slot, struct snap *s)
{
    s->refs++;
    struct snap *old = *slot;
    *slot = s;
    if (old && --old->refs == 0)
        free(old);
}

struct frame {
    struct node *call;
    const void *state; /* state before this op */
};

static struct snap *snap_of_stack(const struct frame *calls, size_t depth)
{
    struct snap *s = xmalloc(sizeof(*s) + depth * sizeof(uint32_t));
    s->refs = 0;
    s->len = depth;
    for (size_t i = 0; i < depth; i++)
        s->ids[i] = calls[i].call->id;
    return s;
}

/* Porcupine's rule: at each backtrack, the current stack becomes the
 * longest prefix of every op on it that has none as long. */
static void record_longest(struct snap **longest, const struct frame *calls,
                           size_t depth)
{
    struct snap *s = NULL;
    for (size_t i = 0; i < depth; i++) {
        uint32_t id = calls[i].call->id;
        if (!longest[id] || depth > longest[id]->len) {
            if (!s)
                s = snap_of_stack(calls, depth);
            snap_set(&longest[id], s);
        }
    }
}

/* --- one partition -------------------------------------------------------- */

struct run {
    const struct porcupine_model *model;
    const struct porcupine_op *ops;
    struct porcupine_part *parts;
    size_t nparts;
    size_t *order; /* partitions, smallest first */
    bool verbose;
    uint64_t deadline_ns; /* 0: none */
    atomic_size_t next;
    atomic_int kill;
};

struct snap_ref {
    struct snap *s;
    size_t first; /* order of first appearance */
};

static int snap_ref_cmp(const void *pa, const void *pb)
{
    const struct snap_ref *a = pa, *b = pb;
    if (a->s->len != b->s->len)
        return a->s->len > b->s->len ? -1 : 1;
    return a->first < b->first ? -1 : a->first > b->first;
}

/* Turn the per-op longest prefixes into the partition's distinct partial
 * linearizations, longest first (ties: order of first appearance). */
static void collect_partials(struct porcupine_part *p, struct snap **longest)
{
    size_t n = p->n;
    struct snap_ref *uniq = xmalloc((n ? n : 1) * sizeof(*uniq));
    size_t nu = 0;
    for (size_t i = 0; i < n; i++) {
        struct snap *s = longest[i];
        if (!s || s->refs == 0)
            continue;
        uniq[nu].s = s;
        uniq[nu].first = nu;
        nu++;
        /* Mark as collected (the count is not needed any more). */
        s->refs = 0;
    }
    qsort(uniq, nu, sizeof(*uniq), snap_ref_cmp);
    /* An illegal partition whose very first step failed has no prefix at
     * all; record the empty one so the visualization can still show the
     * illegal first steps. */
    bool add_empty = nu == 0 && p->result == PORCUPINE_ILLEGAL;
    p->npartials = nu + add_empty;
    p->partials = xcalloc(p->npartials ? p->npartials : 1,
                          sizeof(*p->partials));
    for (size_t k = 0; k < nu; k++) {
        struct porcupine_partial *pl = &p->partials[k];
        pl->len = uniq[k].s->len;
        pl->ops = xmalloc((pl->len ? pl->len : 1) * sizeof(size_t));
        for (size_t j = 0; j < pl->len; j++)
            pl->ops[j] = p->ops[uniq[k].s->ids[j]];
        free(uniq[k].s);
    }
    if (add_empty)
        p->partials[nu].ops = xmalloc(sizeof(size_t));
    free(uniq);
}

static void check_partition(struct run *r, struct porcupine_part *p)
{
    const struct porcupine_model *m = r->model;
    size_t n = p->n;
    const void **in = xmalloc(n * sizeof(*in));
    const void **out = xmalloc(n * sizeof(*out));
    struct entry *entries = xmalloc(2 * n * sizeof(*entries));
    for (size_t i = 0; i < n; i++) {
        const struct porcupine_op *op = &r->ops[p->ops[i]];
        in[i] = op->input;
        out[i] = op->output;
        /* A return before its call would break the list's invariant that
         * every call is followed by its return; treat it as instant. */
        int64_t ret = op->return_ns < op->call_ns ? op->call_ns : op->return_ns;
        entries[2 * i] = (struct entry){op->call_ns, (uint32_t)i, false};
        entries[2 * i + 1] = (struct entry){ret, (uint32_t)i, true};
    }
    qsort(entries, 2 * n, sizeof(*entries), entry_cmp);

    /* nodes[0] is the sentinel head. */
    struct node *nodes = xcalloc(2 * n + 1, sizeof(*nodes));
    struct node **ret_of = xmalloc(n * sizeof(*ret_of));
    struct node *head = &nodes[0];
    for (size_t i = 0; i < 2 * n; i++) {
        struct node *nd = &nodes[i + 1];
        nd->id = entries[i].id;
        nd->prev = &nodes[i];
        nodes[i].next = nd;
        if (entries[i].is_return)
            ret_of[nd->id] = nd;
    }
    for (size_t i = 0; i < 2 * n; i++)
        if (!entries[i].is_return)
            nodes[i + 1].match = ret_of[entries[i].id];
    free(entries);

    size_t nwords = (n + 63) / 64;
    uint64_t *bits = xcalloc(nwords ? nwords : 1, sizeof(uint64_t));
    /* Zobrist keys: the set's hash is the XOR of its members' keys, so it
     * updates in O(1) as ops are linearized and un-linearized. */
    uint64_t *zkey = xmalloc(n * sizeof(uint64_t));
    for (size_t i = 0; i < n; i++)
        zkey[i] = porcupine_mix64(0x9e3779b97f4a7c15ull * (i + 1));
    uint64_t zhash = 0;

    struct porcupine_arena arena;
    arena_init(&arena);
    struct cache cache;
    cache_init(&cache, nwords, m->equal);
    struct frame *calls = xmalloc(n * sizeof(*calls));
    size_t depth = 0;
    struct snap **longest = r->verbose ? xcalloc(n, sizeof(*longest)) : NULL;

    const void *state = m->init(&arena);
    struct node *e = head->next;
    enum porcupine_result result = PORCUPINE_OK;
    unsigned iter = 0;
    while (head->next) {
        /* Every worker watches the clock itself (cheaply, every 256 steps),
         * so no watcher thread is needed and one partition runs on the
         * caller's thread alone. */
        if (r->deadline_ns && (++iter & 255) == 0 &&
            clock_now_ns() >= r->deadline_ns)
            atomic_store(&r->kill, 1);
        if (atomic_load_explicit(&r->kill, memory_order_relaxed)) {
            result = PORCUPINE_UNKNOWN;
            break;
        }
        if (e->match) {
            uint32_t id = e->id;
            struct arena_mark mark = arena_mark(&arena);
            const void *next = NULL;
            if (m->step(&arena, state, in[id], out[id], &next)) {
                bits[id / 64] |= (uint64_t)1 << (id % 64);
                uint64_t z = zhash ^ zkey[id];
                uint64_t sh = m->hash ? m->hash(next) : 0;
                uint64_t h = porcupine_mix64(z ^ porcupine_mix64(sh + 0x632be59bd9b4e019ull));
                if (cache_insert(&cache, &arena, h, bits, next)) {
                    calls[depth].call = e;
                    calls[depth].state = state;
                    depth++;
                    state = next;
                    zhash = z;
                    lift(e);
                    e = head->next;
                    continue;
                }
                bits[id / 64] &= ~((uint64_t)1 << (id % 64));
            }
            /* Nothing from this step is kept. */
            arena_reset(&arena, mark);
            e = e->next;
        } else {
            if (depth == 0) {
                result = PORCUPINE_ILLEGAL;
                break;
            }
            if (longest)
                record_longest(longest, calls, depth);
            depth--;
            e = calls[depth].call;
            state = calls[depth].state;
            bits[e->id / 64] &= ~((uint64_t)1 << (e->id % 64));
            zhash ^= zkey[e->id];
            unlift(e);
            e = e->next;
        }
    }
    p->result = result;
    if (longest) {
        if (result == PORCUPINE_OK) {
            /* Every op's longest prefix is the full linearization. */
            struct snap *s = snap_of_stack(calls, depth);
            for (size_t i = 0; i < n; i++)
                snap_set(&longest[i], s);
        }
        collect_partials(p, longest);
        free(longest);
    }

    free(calls);
    cache_destroy(&cache);
    arena_destroy(&arena);
    free(zkey);
    free(bits);
    free(ret_of);
    free(nodes);
    free(out);
    free(in);
}

/* --- the parallel driver --------------------------------------------------- */

static void *worker(void *arg)
{
    struct run *r = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&r->next, 1);
        if (i >= r->nparts)
            break;
        struct porcupine_part *p = &r->parts[r->order[i]];
        if (r->deadline_ns && clock_now_ns() >= r->deadline_ns)
            atomic_store(&r->kill, 1);
        if (atomic_load(&r->kill)) {
            p->result = PORCUPINE_UNKNOWN; /* never started */
            if (r->verbose)
                p->partials = xcalloc(1, sizeof(*p->partials));
        } else {
            check_partition(r, p);
            /* Without info nobody needs the other partitions once one is
             * illegal (Porcupine's non-verbose early exit). */
            if (p->result == PORCUPINE_ILLEGAL && !r->verbose)
                atomic_store(&r->kill, 1);
        }
    }
    return NULL;
}

/* Online CPUs, read once (sysconf reads a /sys file on every call). */
static size_t ncpus(void)
{
    static atomic_long cached;
    long n = atomic_load_explicit(&cached, memory_order_relaxed);
    if (n <= 0) {
        n = sysconf(_SC_NPROCESSORS_ONLN);
        if (n <= 0)
            n = 1;
        atomic_store_explicit(&cached, n, memory_order_relaxed);
    }
    return (size_t)n;
}

static size_t nthreads_for(size_t nparts)
{
    size_t t = ncpus();
    if (t > 16)
        t = 16;
    return t < nparts ? t : nparts;
}

static struct porcupine_part *make_partitions(const struct porcupine_model *m,
                                              const struct porcupine_op *ops,
                                              size_t n, size_t *nparts_out)
{
    size_t *part_of = xmalloc((n ? n : 1) * sizeof(size_t));
    size_t nparts = 1;
    if (m->partition)
        nparts = m->partition(ops, n, part_of);
    else
        for (size_t i = 0; i < n; i++)
            part_of[i] = 0;
    if (n == 0)
        nparts = 0;
    struct porcupine_part *parts = xcalloc(nparts ? nparts : 1, sizeof(*parts));
    for (size_t i = 0; i < n; i++) {
        if (part_of[i] >= nparts)
            abort(); /* a broken partition function */
        parts[part_of[i]].n++;
    }
    for (size_t p = 0; p < nparts; p++) {
        parts[p].ops = xmalloc((parts[p].n ? parts[p].n : 1) * sizeof(size_t));
        parts[p].n = 0;
    }
    for (size_t i = 0; i < n; i++) {
        struct porcupine_part *p = &parts[part_of[i]];
        p->ops[p->n++] = i;
    }
    free(part_of);
    *nparts_out = nparts;
    return parts;
}

static void free_parts(struct porcupine_part *parts, size_t nparts)
{
    for (size_t p = 0; p < nparts; p++) {
        for (size_t k = 0; k < parts[p].npartials; k++)
            free(parts[p].partials[k].ops);
        free(parts[p].partials);
        free(parts[p].ops);
    }
    free(parts);
}

enum porcupine_result porcupine_check(const struct porcupine_model *model,
                                      const struct porcupine_op *ops,
                                      size_t n, uint64_t timeout_ms,
                                      struct porcupine_info **info)
{
    struct run r;
    memset(&r, 0, sizeof(r));
    r.model = model;
    r.ops = ops;
    r.verbose = info != NULL;
    r.deadline_ns = timeout_ms ? clock_now_ns() + timeout_ms * 1000000ull : 0;
    r.parts = make_partitions(model, ops, n, &r.nparts);
    atomic_init(&r.next, 0);
    atomic_init(&r.kill, 0);

    /* Smallest first. Go's Porcupine starts every partition at once, so a
     * small partition is always checked even when big ones use the whole
     * budget; a pool taking the largest first would leave small ones
     * unstarted (Unknown, a pass) behind big ones that time out. Shortest
     * first, every partition smaller than the ones running at the
     * deadline has been checked, which is as much as Go's time-sliced
     * goroutines finish. */
    r.order = xmalloc((r.nparts ? r.nparts : 1) * sizeof(size_t));
    for (size_t i = 0; i < r.nparts; i++) {
        size_t j = i;
        while (j > 0 && r.parts[r.order[j - 1]].n > r.parts[i].n) {
            r.order[j] = r.order[j - 1];
            j--;
        }
        r.order[j] = i;
    }

    /* The caller is one of the workers. */
    size_t nt = nthreads_for(r.nparts);
    pthread_t *threads = xmalloc((nt ? nt : 1) * sizeof(pthread_t));
    for (size_t t = 1; t < nt; t++)
        if (pthread_create(&threads[t], NULL, worker, &r) != 0)
            abort();
    worker(&r);
    for (size_t t = 1; t < nt; t++)
        pthread_join(threads[t], NULL);
    free(threads);
    free(r.order);

    enum porcupine_result result = PORCUPINE_OK;
    for (size_t p = 0; p < r.nparts; p++) {
        if (r.parts[p].result == PORCUPINE_ILLEGAL) {
            result = PORCUPINE_ILLEGAL;
            break;
        }
        if (r.parts[p].result == PORCUPINE_UNKNOWN)
            result = PORCUPINE_UNKNOWN;
    }

    if (info) {
        struct porcupine_info *inf = xcalloc(1, sizeof(*inf));
        inf->ops = ops;
        inf->nops = n;
        inf->result = result;
        inf->nparts = r.nparts;
        inf->parts = r.parts;
        *info = inf;
    } else {
        free_parts(r.parts, r.nparts);
    }
    return result;
}

void porcupine_info_free(struct porcupine_info *info)
{
    if (!info)
        return;
    free_parts(info->parts, info->nparts);
    free(info);
}

enum porcupine_result porcupine_info_result(const struct porcupine_info *info)
{
    return info->result;
}

size_t porcupine_info_partitions(const struct porcupine_info *info)
{
    return info->nparts;
}

enum porcupine_result
porcupine_info_partition_result(const struct porcupine_info *info, size_t p)
{
    return info->parts[p].result;
}

const size_t *porcupine_info_partition_ops(const struct porcupine_info *info,
                                           size_t p, size_t *n)
{
    *n = info->parts[p].n;
    return info->parts[p].ops;
}

size_t porcupine_info_partials(const struct porcupine_info *info, size_t p)
{
    return info->parts[p].npartials;
}

const size_t *porcupine_info_partial(const struct porcupine_info *info,
                                     size_t p, size_t k, size_t *len)
{
    *len = info->parts[p].partials[k].len;
    return info->parts[p].partials[k].ops;
}
