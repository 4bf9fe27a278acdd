/* histcheck.c - kv-histcheck: check a history recorded by `kvcli batch`
 * processes against a real cluster (test-scripts/test-kv-daemons.sh).
 *
 *   kv-histcheck [-t TIMEOUT_MS] [-f FINAL] HISTORY...
 *
 * Each file holds records "<client>\t<op>\t<key>\t<value>\t<output>\t
 * <call_ns>\t<return_ns>\t<status>" (see kvraft/kvcli_main.c). Checks:
 *   1. the whole history (FINAL included) is linearizable under the KV
 *      model (porcupine; an operation with status "timeout" may or may not
 *      have taken effect and is given an unbounded return time);
 *   2. with -f FINAL, a file of Gets run after the load, every append that
 *      was acknowledged appears exactly once in its key's final value, and
 *      no unacknowledged one appears twice (append values must be unique
 *      tokens none of which is a substring of another's concatenation,
 *      e.g. "a<proc>_<n>.").
 * On a linearizability violation the HTML visualization is written to
 * $TMPDIR. Prints one summary line; exit 0 if all checks pass, 1 if not,
 * 2 on usage or input errors. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/daemon.h"
#include "labs/porcupine/porcupine.h"

struct rec {
    uint64_t client;
    int op;
    char *key, *value, *output;
    int64_t call, ret;
    bool ok;
    bool final;
};

static struct rec *recs;
static size_t nrecs, caprecs;

static char *field(char **p)
{
    char *s = *p;
    if (!s)
        return NULL;
    char *t = strchr(s, '\t');
    if (t) {
        *t = '\0';
        *p = t + 1;
    } else {
        char *nl = strchr(s, '\n');
        if (nl)
            *nl = '\0';
        *p = NULL;
    }
    return s;
}

static int load(const char *path, bool final)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "kv-histcheck: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        char *p = line;
        char *fs[8];
        for (int i = 0; i < 8; i++)
            fs[i] = field(&p);
        if (!fs[7]) {
            fprintf(stderr, "kv-histcheck: %s:%d: malformed record\n", path,
                    lineno);
            fclose(f);
            free(line);
            return -1;
        }
        struct rec r = {0};
        r.client = strtoull(fs[0], NULL, 10);
        if (strcmp(fs[1], "get") == 0)
            r.op = PORCUPINE_KV_GET;
        else if (strcmp(fs[1], "put") == 0)
            r.op = PORCUPINE_KV_PUT;
        else if (strcmp(fs[1], "append") == 0)
            r.op = PORCUPINE_KV_APPEND;
        else {
            fprintf(stderr, "kv-histcheck: %s:%d: bad op %s\n", path, lineno,
                    fs[1]);
            fclose(f);
            free(line);
            return -1;
        }
        r.key = xstrdup(fs[2]);
        r.value = xstrdup(fs[3]);
        r.output = xstrdup(fs[4]);
        r.call = strtoll(fs[5], NULL, 10);
        r.ret = strtoll(fs[6], NULL, 10);
        r.ok = strcmp(fs[7], "ok") == 0;
        if (!r.ok)
            r.ret = PORCUPINE_NEVER;
        r.final = final;
        if (nrecs == caprecs) {
            caprecs = caprecs ? 2 * caprecs : 256;
            recs = xrealloc(recs, caprecs * sizeof(*recs));
        }
        recs[nrecs++] = r;
    }
    free(line);
    fclose(f);
    return 0;
}

static size_t count_occurrences(const char *hay, const char *needle)
{
    size_t n = 0;
    size_t len = strlen(needle);
    if (len == 0)
        return 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + len, needle))
        n++;
    return n;
}

int main(int argc, char **argv)
{
    uint64_t timeout_ms = 10000;
    const char *final_path = NULL;
    if (daemon_help_or_version(argc, argv, "kv-histcheck")) {
        printf("usage: kv-histcheck [-t TIMEOUT_MS] [-f FINAL] HISTORY...\n");
        return 0;
    }
    int opt;
    while ((opt = getopt(argc, argv, "t:f:")) != -1) {
        switch (opt) {
        case 't': timeout_ms = strtoull(optarg, NULL, 10); break;
        case 'f': final_path = optarg; break;
        default:
            fprintf(stderr, "usage: kv-histcheck [-t TIMEOUT_MS] [-f FINAL] "
                            "HISTORY...\n");
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: kv-histcheck [-t TIMEOUT_MS] [-f FINAL] "
                        "HISTORY...\n");
        return 2;
    }
    for (int i = optind; i < argc; i++)
        if (load(argv[i], false) != 0)
            return 2;
    if (final_path && load(final_path, true) != 0)
        return 2;

    /* Client ids are 64-bit randoms; porcupine wants small lane numbers. */
    uint64_t *ids = xcalloc(nrecs + 1, sizeof(uint64_t));
    size_t nids = 0;
    struct porcupine_history *h = porcupine_kv_history_new();
    size_t acked = 0, pending = 0;
    for (size_t i = 0; i < nrecs; i++) {
        struct rec *r = &recs[i];
        size_t lane = 0;
        while (lane < nids && ids[lane] != r->client)
            lane++;
        if (lane == nids)
            ids[nids++] = r->client;
        if (r->ok) {
            porcupine_kv_record(h, (int)lane, r->op, r->key, r->value,
                                r->op == PORCUPINE_KV_GET ? r->output : NULL,
                                r->call, r->ret);
            acked++;
        } else {
            /* Unknown outcome: called at its real time, never returned. */
            porcupine_history_add(
                h, (int)lane, porcupine_kv_input_new(r->op, r->key, r->value),
                NULL, r->call, PORCUPINE_NEVER);
            pending++;
        }
    }
    size_t nops = 0;
    const struct porcupine_op *ops = porcupine_history_ops(h, &nops);
    enum porcupine_result res =
        porcupine_check_report(&porcupine_kv_model, ops, nops, timeout_ms);
    int failed = res == PORCUPINE_ILLEGAL;

    size_t lost = 0, dups = 0, checked = 0;
    if (final_path) {
        for (size_t i = 0; i < nrecs; i++) {
            struct rec *r = &recs[i];
            if (r->final || r->op != PORCUPINE_KV_APPEND)
                continue;
            /* the last final read of this key */
            const char *fv = NULL;
            for (size_t k = 0; k < nrecs; k++)
                if (recs[k].final && recs[k].ok &&
                    recs[k].op == PORCUPINE_KV_GET &&
                    strcmp(recs[k].key, r->key) == 0)
                    fv = recs[k].output;
            if (!fv) {
                fprintf(stderr, "kv-histcheck: no final read of key %s\n",
                        r->key);
                return 2;
            }
            size_t c = count_occurrences(fv, r->value);
            if (r->ok) {
                checked++;
                if (c == 0) {
                    printf("LOST acknowledged append %s to %s\n", r->value,
                           r->key);
                    lost++;
                }
            }
            if (c > 1) {
                printf("DUPLICATE append %s to %s (%zu times)\n", r->value,
                       r->key, c);
                dups++;
            }
        }
        if (lost || dups)
            failed = 1;
    }
    printf("kv-histcheck: %zu ops (%zu acknowledged, %zu unknown), "
           "%zu clients: linearizability %s; acknowledged appends checked "
           "%zu, lost %zu, duplicated %zu: %s\n",
           nrecs, acked, pending, nids, porcupine_result_name(res), checked,
           lost, dups, failed ? "FAIL" : "PASS");
    porcupine_history_free(h);
    for (size_t i = 0; i < nrecs; i++) {
        free(recs[i].key);
        free(recs[i].value);
        free(recs[i].output);
    }
    free(recs);
    free(ids);
    return failed ? 1 : 0;
}
