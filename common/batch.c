/* batch.c - kvcli/skvcli batch input parsing and record escaping (see
 * batch.h). */
#include "common/batch.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Next token of line[*pos..len) into out (NUL-terminated). 1: a token,
 * 0: end of line, -1: error (*why set). */
static int next_token(const char *line, size_t len, size_t *pos,
                      struct buf *out, const char **why)
{
    size_t i = *pos;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    buf_clear(out);
    if (i >= len) {
        *pos = i;
        return 0;
    }
    if (line[i] != '"') {
        size_t s = i;
        while (i < len && line[i] != ' ' && line[i] != '\t' &&
               line[i] != '\r') {
            if (line[i] == '"' || line[i] == '\\' || line[i] == '\0') {
                *why = "quote, backslash or NUL in an unquoted token (quote "
                       "it: \"...\")";
                return -1;
            }
            i++;
        }
        buf_append(out, line + s, i - s);
        buf_append_byte(out, 0);
        *pos = i;
        return 1;
    }
    for (i++;; i++) {
        if (i >= len) {
            *why = "unterminated quoted string";
            return -1;
        }
        char c = line[i];
        if (c == '"')
            break;
        if (c == '\0') {
            *why = "NUL byte (not representable)";
            return -1;
        }
        if (c != '\\') {
            buf_append_byte(out, (uint8_t)c);
            continue;
        }
        if (++i >= len) {
            *why = "backslash at end of line";
            return -1;
        }
        switch (line[i]) {
        case '\\': buf_append_byte(out, '\\'); break;
        case '"': buf_append_byte(out, '"'); break;
        case 'n': buf_append_byte(out, '\n'); break;
        case 'r': buf_append_byte(out, '\r'); break;
        case 't': buf_append_byte(out, '\t'); break;
        case 'x': {
            int h = i + 2 < len ? hexval(line[i + 1]) : -1;
            int l = h >= 0 ? hexval(line[i + 2]) : -1;
            if (l < 0) {
                *why = "bad \\x escape (want \\xHH)";
                return -1;
            }
            if (h == 0 && l == 0) {
                *why = "\\x00: NUL is not representable";
                return -1;
            }
            buf_append_byte(out, (uint8_t)(h * 16 + l));
            i += 2;
            break;
        }
        default:
            *why = "unknown escape (use \\\\ \\\" \\n \\r \\t \\xHH)";
            return -1;
        }
    }
    i++; /* the closing quote */
    if (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
        *why = "text right after a closing quote";
        return -1;
    }
    buf_append_byte(out, 0);
    *pos = i;
    return 1;
}

static int parse_line(const char *line, size_t len, struct batch_op *op,
                      const char **why)
{
    struct buf tok = BUF_INIT;
    char *t[4] = {NULL, NULL, NULL, NULL};
    int n = 0, r;
    size_t pos = 0;
    while ((r = next_token(line, len, &pos, &tok, why)) == 1) {
        if (n == 3) {
            *why = "too many fields";
            r = -1;
            break;
        }
        t[n++] = xstrdup((const char *)tok.data);
    }
    buf_free(&tok);
    if (r == 0 && n > 0) {
        bool get = strcmp(t[0], "get") == 0;
        bool pa = strcmp(t[0], "put") == 0 || strcmp(t[0], "append") == 0;
        if ((get && n == 2) || (pa && n == 3)) {
            snprintf(op->op, sizeof(op->op), "%s", t[0]);
            free(t[0]);
            op->key = t[1];
            op->val = t[2];
            return 1;
        }
        *why = "want 'get K', 'put K V' or 'append K V'";
        r = -1;
    }
    for (int i = 0; i < n; i++)
        free(t[i]);
    return r;
}

int batch_read(FILE *f, const char *prog, struct batch *b)
{
    memset(b, 0, sizeof(*b));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t l = (size_t)len;
        if (l > 0 && line[l - 1] == '\n')
            l--;
        if (l > 0 && line[0] == '#')
            continue;
        if (b->n == b->cap) {
            b->cap = b->cap ? 2 * b->cap : 64;
            b->ops = xrealloc(b->ops, b->cap * sizeof(*b->ops));
        }
        const char *why = NULL;
        int r = parse_line(line, l, &b->ops[b->n], &why);
        if (r < 0) {
            fprintf(stderr, "%s: batch line %ld: %s; nothing was sent\n",
                    prog, lineno, why);
            rc = -1;
            break;
        }
        if (r == 1)
            b->n++;
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "%s: reading batch input failed\n", prog);
        rc = -1;
    }
    free(line);
    if (rc < 0)
        batch_free(b);
    return rc;
}

void batch_free(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->ops[i].key);
        free(b->ops[i].val);
    }
    free(b->ops);
    memset(b, 0, sizeof(*b));
}

void batch_put_field(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '\t': fputs("\\t", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\\': fputs("\\\\", f); break;
        default: fputc(*s, f);
        }
    }
}
