/* model_kv.c - the KV model of the 6.5840 tests (models.KvModel): one
 * partition per key; the state is that key's value.
 *
 * Values can grow long (lab 2 runs ~20k appends per key), and the search
 * keeps every state it memoizes, so a state is not a flat copy of the
 * value: it is a rope node "parent value + this op's appended bytes" whose
 * bytes are borrowed from the op's input (inputs outlive the check). Each
 * node carries the value's length and a polynomial hash mod 2^61-1
 * (extended in O(1) per append), so the memo cache can hash states and
 * unequal states are nearly always told apart in O(1); equal ones are
 * still compared byte for byte, so the check stays exact. Every
 * FLATTEN_DEPTH appends the rope is copied flat, bounding the walk a
 * comparison makes. */
#include "labs/porcupine/porcupine_internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

struct kv_state {
    const struct kv_state *parent; /* value before seg; NULL for a root */
    const char *seg;               /* borrowed or arena memory */
    size_t seg_len;
    size_t len;    /* whole value */
    uint64_t hash; /* of the whole value */
    uint32_t depth;
};

struct porcupine_kv_input {
    int op;
    char *key;
    size_t key_len;
    char *value;
    size_t value_len;
    uint64_t hash;        /* of value */
    uint64_t pow;         /* HASH_BASE^value_len */
    struct kv_state root; /* the state a put leaves: no allocation per put */
};

/* No hash here: outputs can be long and numerous (every get's value), and
 * comparing from the end rejects a wrong value at its first segment. */
struct porcupine_kv_output {
    char *value;
    size_t len;
};

enum { FLATTEN_DEPTH = 32 };

#define HASH_MOD ((1ull << 61) - 1)
#define HASH_BASE 0x1e9f3a6b5c7d8e1ull /* < HASH_MOD */

static uint64_t mulmod(uint64_t a, uint64_t b)
{
    unsigned __int128 p = (unsigned __int128)a * b;
    uint64_t lo = (uint64_t)(p & HASH_MOD);
    uint64_t hi = (uint64_t)(p >> 61);
    uint64_t s = lo + hi;
    return s >= HASH_MOD ? s - HASH_MOD : s;
}

static uint64_t addmod(uint64_t a, uint64_t b)
{
    uint64_t s = a + b;
    return s >= HASH_MOD ? s - HASH_MOD : s;
}

/* hash(s) = sum (s[i]+1) * B^(len-1-i); hash(s t) = hash(s) B^|t| + hash(t). */
static void hash_bytes(const char *p, size_t n, uint64_t *hash, uint64_t *pow)
{
    uint64_t h = 0, pw = 1;
    for (size_t i = 0; i < n; i++) {
        h = addmod(mulmod(h, HASH_BASE), (uint64_t)(unsigned char)p[i] + 1);
        pw = mulmod(pw, HASH_BASE);
    }
    *hash = h;
    *pow = pw;
}

static const struct kv_state empty_state = {NULL, "", 0, 0, 0, 0};

/* --- inputs and outputs ---------------------------------------------------- */

struct porcupine_kv_input *porcupine_kv_input_new(int op, const char *key,
                                                  const char *value)
{
    if (op < PORCUPINE_KV_GET || op > PORCUPINE_KV_APPEND_OLD)
        abort();
    if (!value || op == PORCUPINE_KV_GET)
        value = "";
    struct porcupine_kv_input *in = xcalloc(1, sizeof(*in));
    in->op = op;
    in->key_len = strlen(key);
    in->key = buf_strndup(key, in->key_len);
    in->value_len = strlen(value);
    in->value = buf_strndup(value, in->value_len);
    hash_bytes(in->value, in->value_len, &in->hash, &in->pow);
    in->root = (struct kv_state){NULL, in->value, in->value_len,
                                 in->value_len, in->hash, 1};
    return in;
}

struct porcupine_kv_output *porcupine_kv_output_new(const char *value)
{
    struct porcupine_kv_output *out = xcalloc(1, sizeof(*out));
    out->len = strlen(value);
    out->value = buf_strndup(value, out->len);
    return out;
}

void porcupine_kv_input_free(void *p)
{
    struct porcupine_kv_input *in = p;
    if (!in)
        return;
    free(in->key);
    free(in->value);
    free(in);
}

void porcupine_kv_output_free(void *p)
{
    struct porcupine_kv_output *out = p;
    if (!out)
        return;
    free(out->value);
    free(out);
}

/* --- rope helpers ----------------------------------------------------------- */

/* Copy the whole value into dst (len bytes), walking back from the end. */
static void rope_copy(const struct kv_state *s, char *dst)
{
    size_t off = s->len;
    for (; s; s = s->parent) {
        off -= s->seg_len;
        if (s->seg_len)
            memcpy(dst + off, s->seg, s->seg_len);
    }
}

/* Compared from the end: two values of one key differ first in their
 * latest appends. */
static bool rope_eq_flat(const struct kv_state *s, const char *p, size_t len)
{
    if (s->len != len)
        return false;
    size_t off = len;
    for (; s; s = s->parent) {
        off -= s->seg_len;
        if (s->seg_len && memcmp(s->seg, p + off, s->seg_len) != 0)
            return false;
    }
    return true;
}

/* Byte comparison of two ropes of equal length, from the end, segment
 * boundaries falling wherever they fall. */
static bool rope_eq_rope(const struct kv_state *a, const struct kv_state *b)
{
    size_t ra = a->seg_len, rb = b->seg_len; /* bytes left in each segment */
    while (a && b) {
        if (ra == 0) {
            a = a->parent;
            if (a)
                ra = a->seg_len;
            continue;
        }
        if (rb == 0) {
            b = b->parent;
            if (b)
                rb = b->seg_len;
            continue;
        }
        size_t k = ra < rb ? ra : rb;
        if (memcmp(a->seg + ra - k, b->seg + rb - k, k) != 0)
            return false;
        ra -= k;
        rb -= k;
    }
    return true; /* lengths are equal, so both ran out together */
}

static bool kv_equal(const void *pa, const void *pb)
{
    const struct kv_state *a = pa, *b = pb;
    if (a == b)
        return true;
    if (a->len != b->len || a->hash != b->hash)
        return false;
    return rope_eq_rope(a, b);
}

static uint64_t kv_hash(const void *p)
{
    const struct kv_state *s = p;
    return s->hash ^ porcupine_mix64(s->len);
}

static const struct kv_state *kv_append(struct porcupine_arena *a,
                                        const struct kv_state *s,
                                        const struct porcupine_kv_input *in)
{
    if (in->value_len == 0)
        return s;
    struct kv_state *n = porcupine_arena_alloc(a, sizeof(*n));
    n->len = s->len + in->value_len;
    n->hash = addmod(mulmod(s->hash, in->pow), in->hash);
    if (s->depth + 1 > FLATTEN_DEPTH) {
        char *flat = porcupine_arena_alloc(a, n->len);
        rope_copy(s, flat);
        memcpy(flat + s->len, in->value, in->value_len);
        n->parent = NULL;
        n->seg = flat;
        n->seg_len = n->len;
        n->depth = 1;
    } else {
        n->parent = s->len ? s : NULL; /* drop an empty prefix */
        n->seg = in->value;
        n->seg_len = in->value_len;
        n->depth = n->parent ? s->depth + 1 : 1;
    }
    return n;
}

/* --- the model ----------------------------------------------------------------- */

static const void *kv_init(struct porcupine_arena *a)
{
    (void)a;
    return &empty_state;
}

static bool kv_step(struct porcupine_arena *a, const void *state,
                    const void *input, const void *output, const void **next)
{
    const struct kv_state *s = state;
    const struct porcupine_kv_input *in = input;
    const struct porcupine_kv_output *out = output;
    switch (in->op) {
    case PORCUPINE_KV_GET:
        *next = s;
        return !out || rope_eq_flat(s, out->value, out->len);
    case PORCUPINE_KV_PUT:
        *next = in->value_len ? &in->root : &empty_state;
        return true;
    case PORCUPINE_KV_APPEND:
        *next = kv_append(a, s, in);
        return true;
    case PORCUPINE_KV_APPEND_OLD:
        if (out && !rope_eq_flat(s, out->value, out->len))
            return false;
        *next = kv_append(a, s, in);
        return true;
    }
    return false;
}

/* Keys in sorted order, as models.KvModel returns its partitions. */
static int key_cmp(const struct porcupine_kv_input *a,
                   const struct porcupine_kv_input *b)
{
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = memcmp(a->key, b->key, n);
    if (c)
        return c;
    return a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
}

static int idx_cmp(const void *pa, const void *pb, void *arg)
{
    const struct porcupine_op *ops = arg;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    int c = key_cmp(ops[a].input, ops[b].input);
    if (c)
        return c;
    return a < b ? -1 : a > b;
}

static size_t kv_partition(const struct porcupine_op *ops, size_t n,
                           size_t *part_of)
{
    size_t *idx = xmalloc((n ? n : 1) * sizeof(size_t));
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    qsort_r(idx, n, sizeof(size_t), idx_cmp, (void *)ops);
    size_t nparts = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || key_cmp(ops[idx[i - 1]].input, ops[idx[i]].input) != 0)
            nparts++;
        part_of[idx[i]] = nparts - 1;
    }
    free(idx);
    return nparts;
}

static void append_value(struct buf *b, const char *p, size_t n)
{
    buf_append_byte(b, '\'');
    buf_append(b, p, n);
    buf_append_byte(b, '\'');
}

static void kv_describe_op(const void *input, const void *output,
                           struct buf *b)
{
    const struct porcupine_kv_input *in = input;
    const struct porcupine_kv_output *out = output;
    switch (in->op) {
    case PORCUPINE_KV_GET:
        buf_printf(b, "get(");
        append_value(b, in->key, in->key_len);
        buf_printf(b, ") -> ");
        if (out)
            append_value(b, out->value, out->len);
        else
            buf_printf(b, "?");
        return;
    case PORCUPINE_KV_PUT:
    case PORCUPINE_KV_APPEND:
    case PORCUPINE_KV_APPEND_OLD:
        buf_printf(b, in->op == PORCUPINE_KV_PUT ? "put(" : "append(");
        append_value(b, in->key, in->key_len);
        buf_printf(b, ", ");
        append_value(b, in->value, in->value_len);
        buf_printf(b, ")");
        /* Go's model prints op 3 as "<invalid>"; showing the returned old
         * value is what a student needs to see. */
        if (in->op == PORCUPINE_KV_APPEND_OLD) {
            buf_printf(b, " -> ");
            if (out)
                append_value(b, out->value, out->len);
            else
                buf_printf(b, "?");
        }
        return;
    }
    buf_printf(b, "<invalid>");
}

static void kv_describe_state(const void *state, struct buf *b)
{
    const struct kv_state *s = state;
    buf_append_byte(b, '\'');
    buf_reserve(b, s->len + 1);
    rope_copy(s, (char *)b->data + b->len);
    b->len += s->len;
    buf_append_byte(b, '\'');
}

static void kv_describe_partition(const void *input, struct buf *b)
{
    const struct porcupine_kv_input *in = input;
    buf_printf(b, "key ");
    append_value(b, in->key, in->key_len);
}

const struct porcupine_model porcupine_kv_model = {
    .partition = kv_partition,
    .init = kv_init,
    .step = kv_step,
    .equal = kv_equal,
    .hash = kv_hash,
    .describe_op = kv_describe_op,
    .describe_state = kv_describe_state,
    .describe_partition = kv_describe_partition,
};

/* --- recording helpers -------------------------------------------------------- */

struct porcupine_history *porcupine_kv_history_new(void)
{
    return porcupine_history_new(porcupine_kv_input_free,
                                 porcupine_kv_output_free);
}

size_t porcupine_kv_record(struct porcupine_history *h, int client_id, int op,
                           const char *key, const char *value,
                           const char *out_value, int64_t call_ns,
                           int64_t return_ns)
{
    return porcupine_history_add(
        h, client_id, porcupine_kv_input_new(op, key, value),
        out_value ? porcupine_kv_output_new(out_value) : NULL, call_ns,
        return_ns);
}

size_t porcupine_kv_begin(struct porcupine_history *h, int client_id, int op,
                          const char *key, const char *value)
{
    return porcupine_history_begin(h, client_id,
                                   porcupine_kv_input_new(op, key, value));
}

void porcupine_kv_end(struct porcupine_history *h, size_t id,
                      const char *out_value)
{
    porcupine_history_end(h, id,
                          out_value ? porcupine_kv_output_new(out_value) : NULL);
}
