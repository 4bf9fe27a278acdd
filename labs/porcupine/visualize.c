/* visualize.c - turn a porcupine_info into the HTML page: computes the
 * per-partition data (ops, partial linearizations with the state after
 * each step, the illegal next candidates) as JSON and wraps it in the page
 * template; plus the temp-file helper and the tests' check-and-report. */
#include "labs/porcupine/porcupine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"

/* Descriptions are cut to this many bytes (values can be megabytes). */
enum { OP_DESC_MAX = 400, STATE_DESC_MAX = 800 };

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len;
    uint32_t min;
    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xe0) == 0xc0) {
        len = 2;
        min = 0x80;
    } else if ((p[0] & 0xf0) == 0xe0) {
        len = 3;
        min = 0x800;
    } else if ((p[0] & 0xf8) == 0xf0) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    uint32_t cp = p[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    /* U+2028/2029 end lines in old JS engines; escape them. */
    if (cp == 0x2028 || cp == 0x2029)
        return 0;
    return len;
}

/* JSON string body, safe inside <script>: no '<', '>', '&' and no invalid
 * UTF-8 (replaced by U+FFFD). */
static void json_chars(struct buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            buf_append_byte(b, '\\');
            buf_append_byte(b, c);
            i++;
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            buf_printf(b, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            buf_append_byte(b, c);
            i++;
        } else {
            size_t l = utf8_len(p + i, n - i);
            if (l) {
                buf_append(b, p + i, l);
                i += l;
            } else {
                buf_printf(b, "\\ufffd");
                i++;
            }
        }
    }
}

/* A JSON string, shortened to about max bytes: the head and the tail
 * survive (the tail of a KV value holds the latest appends). */
static void json_str(struct buf *b, const char *s, size_t n, size_t max)
{
    buf_append_byte(b, '"');
    if (n <= max) {
        json_chars(b, s, n);
    } else {
        size_t head = max / 4, tail = max - head;
        json_chars(b, s, head);
        char mid[64];
        snprintf(mid, sizeof(mid), " \xe2\x80\xa6(%zu bytes)\xe2\x80\xa6 ",
                 n - head - tail);
        json_chars(b, mid, strlen(mid));
        json_chars(b, s + n - tail, tail);
    }
    buf_append_byte(b, '"');
}

struct span {
    int64_t t0;
    int64_t tmax; /* latest finite time */
};

static int64_t op_end(const struct porcupine_op *op)
{
    return op->return_ns < op->call_ns ? op->call_ns : op->return_ns;
}

static void partition_json(struct buf *b, const struct porcupine_model *m,
                           const struct porcupine_info *info, size_t pi,
                           const struct span *sp, size_t *local)
{
    const struct porcupine_part *p = &info->parts[pi];
    const struct porcupine_op *ops = info->ops;
    struct buf tmp = BUF_INIT;
    for (size_t i = 0; i < p->n; i++)
        local[p->ops[i]] = i;

    buf_printf(b, "{\"name\":");
    if (m->describe_partition && p->n) {
        m->describe_partition(ops[p->ops[0]].input, &tmp);
        json_str(b, (const char *)tmp.data, tmp.len, OP_DESC_MAX);
    } else {
        buf_printf(b, "\"partition %zu\"", pi);
    }
    buf_printf(b, ",\"status\":\"%s\"",
               p->result == PORCUPINE_OK        ? "ok"
               : p->result == PORCUPINE_ILLEGAL ? "illegal"
                                                : "unknown");

    struct porcupine_arena arena;
    arena_init(&arena);
    const void *init = m->init(&arena);
    buf_clear(&tmp);
    m->describe_state(init, &tmp);
    buf_printf(b, ",\"init\":");
    json_str(b, (const char *)tmp.data, tmp.len, STATE_DESC_MAX);

    /* Times relative to the first call; an op that never returned ends
     * just after everything else. */
    buf_printf(b, ",\"ops\":[");
    for (size_t i = 0; i < p->n; i++) {
        const struct porcupine_op *op = &ops[p->ops[i]];
        bool pending = op->return_ns == PORCUPINE_NEVER;
        int64_t s = op->call_ns - sp->t0;
        int64_t e = pending ? sp->tmax - sp->t0 + 1 : op_end(op) - sp->t0;
        buf_clear(&tmp);
        m->describe_op(op->input, op->output, &tmp);
        buf_printf(b, "%s{\"c\":%d,\"s\":%lld,\"e\":%lld,\"p\":%d,\"d\":",
                   i ? "," : "", op->client_id < 0 ? 0 : op->client_id,
                   (long long)s, (long long)e, pending);
        json_str(b, (const char *)tmp.data, tmp.len, OP_DESC_MAX);
        buf_append_byte(b, '}');
    }
    buf_printf(b, "]");

    long *largest = xmalloc((p->n ? p->n : 1) * sizeof(long));
    for (size_t i = 0; i < p->n; i++)
        largest[i] = -1;
    bool *in = xmalloc(p->n ? p->n : 1);
    buf_printf(b, ",\"partials\":[");
    for (size_t k = 0; k < p->npartials; k++) {
        const struct porcupine_partial *pl = &p->partials[k];
        memset(in, 0, p->n ? p->n : 1);
        buf_printf(b, "%s{\"ids\":[", k ? "," : "");
        for (size_t j = 0; j < pl->len; j++) {
            size_t id = local[pl->ops[j]];
            in[id] = true;
            /* Partials are longest first, so the first one wins. */
            if (largest[id] < 0)
                largest[id] = (long)k;
            buf_printf(b, "%s%zu", j ? "," : "", id);
        }
        /* Replay the model to describe the state after each step. */
        buf_printf(b, "],\"states\":[");
        const void *state = init;
        for (size_t j = 0; j < pl->len; j++) {
            const struct porcupine_op *op = &ops[pl->ops[j]];
            const void *next = NULL;
            buf_clear(&tmp);
            if (m->step(&arena, state, op->input, op->output, &next)) {
                state = next;
                m->describe_state(state, &tmp);
            } else {
                /* Cannot happen for a prefix the search accepted. */
                buf_printf(&tmp, "<model rejected this step on replay>");
            }
            buf_printf(b, "%s", j ? "," : "");
            json_str(b, (const char *)tmp.data, tmp.len, STATE_DESC_MAX);
        }
        /* The ops that could come next by real time (called before every
         * remaining op returned), none of which extends this prefix. */
        buf_printf(b, "],\"next\":[");
        int64_t min_end = PORCUPINE_NEVER;
        for (size_t i = 0; i < p->n; i++)
            if (!in[i] && op_end(&ops[p->ops[i]]) < min_end)
                min_end = op_end(&ops[p->ops[i]]);
        bool first = true;
        if (p->result != PORCUPINE_OK)
            for (size_t i = 0; i < p->n; i++)
                if (!in[i] && ops[p->ops[i]].call_ns <= min_end) {
                    buf_printf(b, "%s%zu", first ? "" : ",", i);
                    first = false;
                }
        buf_printf(b, "]}");
    }
    buf_printf(b, "],\"largest\":[");
    for (size_t i = 0; i < p->n; i++)
        buf_printf(b, "%s%ld", i ? "," : "", largest[i]);
    buf_printf(b, "]}");
    free(in);
    free(largest);
    arena_destroy(&arena);
    buf_free(&tmp);
}

static void visualization_json(struct buf *b, const struct porcupine_model *m,
                               const struct porcupine_info *info)
{
    struct span sp = {INT64_MAX, INT64_MIN};
    int max_client = 0;
    for (size_t i = 0; i < info->nops; i++) {
        const struct porcupine_op *op = &info->ops[i];
        if (op->call_ns < sp.t0)
            sp.t0 = op->call_ns;
        if (op->call_ns > sp.tmax)
            sp.tmax = op->call_ns;
        if (op->return_ns != PORCUPINE_NEVER && op_end(op) > sp.tmax)
            sp.tmax = op_end(op);
        if (op->client_id > max_client)
            max_client = op->client_id;
    }
    if (info->nops == 0)
        sp.t0 = sp.tmax = 0;
    buf_printf(b, "{\"result\":\"%s\",\"nclients\":%d,\"partitions\":[",
               porcupine_result_name(info->result), max_client + 1);
    size_t *local = xmalloc((info->nops ? info->nops : 1) * sizeof(size_t));
    for (size_t pi = 0; pi < info->nparts; pi++) {
        if (pi)
            buf_append_byte(b, ',');
        partition_json(b, m, info, pi, &sp, local);
    }
    free(local);
    buf_printf(b, "]}");
}

int porcupine_visualize_file(const struct porcupine_model *model,
                             const struct porcupine_info *info, FILE *f)
{
    struct buf json = BUF_INIT;
    visualization_json(&json, model, info);
    fputs(porcupine_vis_head, f);
    fwrite(json.data, 1, json.len, f);
    fputs(porcupine_vis_tail, f);
    buf_free(&json);
    return fflush(f) == 0 && !ferror(f) ? 0 : ERR_IO;
}

int porcupine_visualize(const struct porcupine_model *model,
                        const struct porcupine_info *info, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return ERR_IO;
    int rc = porcupine_visualize_file(model, info, f);
    if (fclose(f) != 0)
        rc = ERR_IO;
    return rc;
}

int porcupine_visualize_tmp(const struct porcupine_model *model,
                            const struct porcupine_info *info,
                            char **path_out)
{
    if (path_out)
        *path_out = NULL;
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    struct buf path = BUF_INIT;
    buf_printf(&path, "%s/porcupine-XXXXXX.html", dir);
    buf_append_byte(&path, '\0');
    char *p = (char *)path.data;
    int fd = mkstemps(p, 5);
    if (fd < 0) {
        printf("info: failed to create temp file for visualization\n");
        fflush(stdout);
        buf_free(&path);
        return ERR_IO;
    }
    FILE *f = fdopen(fd, "w");
    int rc = f ? porcupine_visualize_file(model, info, f) : ERR_IO;
    if (f ? fclose(f) != 0 : close(fd) != 0)
        rc = ERR_IO;
    if (rc == 0)
        printf("info: wrote history visualization to %s\n", p);
    else
        printf("info: failed to write history visualization to %s\n", p);
    fflush(stdout);
    if (path_out && rc == 0)
        *path_out = (char *)buf_release(&path, NULL);
    buf_free(&path);
    return rc;
}

enum porcupine_result porcupine_check_report(const struct porcupine_model *model,
                                             const struct porcupine_op *ops,
                                             size_t n, uint64_t timeout_ms)
{
    struct porcupine_info *info = NULL;
    enum porcupine_result r = porcupine_check(model, ops, n, timeout_ms, &info);
    if (r == PORCUPINE_ILLEGAL) {
        porcupine_visualize_tmp(model, info, NULL);
    } else if (r == PORCUPINE_UNKNOWN) {
        /* Go's semantics: a timeout counts as ok. Say what that means, so
         * a pass is not mistaken for a checked history. */
        printf("info: linearizability check timed out, assuming history is "
               "ok (%zu operations not checked within %llu ms: the pass "
               "says nothing about linearizability)\n",
               n, (unsigned long long)timeout_ms);
        fflush(stdout);
    }
    porcupine_info_free(info);
    return r;
}
