/* gen_persist_seeds.c - seed corpus for fuzz_persist: data directories
 * written by the real file persister (blob view, log view with records,
 * snapshots, several segments), each packed in fuzz_persist's input
 * format. Usage: gen_persist_seeds OUTDIR */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/persister.h"
#include "common/tests/testdir.h"

static const char *names[4] = {
    "checkpoint",
    "log-0000000000000001.seg",
    "log-0000000000000002.seg",
    "log-0000000000000003.seg",
};

/* Pack dir's files into out/seed-N. */
static void pack(const char *dir, const char *out, int n)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/seed-%d", out, n);
    FILE *o = fopen(path, "wb");
    if (!o) {
        perror(path);
        exit(1);
    }
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        unsigned char chunk[65535];
        size_t len;
        while ((len = fread(chunk, 1, sizeof(chunk), f)) > 0) {
            unsigned char hdr[3] = {(unsigned char)i, (unsigned char)len,
                                    (unsigned char)(len >> 8)};
            fwrite(hdr, 1, 3, o);
            fwrite(chunk, 1, len, o);
        }
        fclose(f);
    }
    fclose(o);
}

static void sync_all(struct persister *p)
{
    uint64_t t;
    persister_log_flush(p, &t);
    persister_sync(p, t);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_persist_seeds OUTDIR\n");
        return 2;
    }
    char tmpl[] = "/tmp/gen_persist_seeds.XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir)
        return 1;
    int err, n = 0;
    /* Blob view. */
    struct persister *p = persister_open_dir(dir, &err);
    persister_save(p, "state", 5, "snap", 4);
    persister_free(p);
    pack(dir, argv[1], n++);
    /* Log view, growing over three opens (three segments). */
    testdir_clear(dir);
    int64_t next = 1;
    for (int round = 0; round < 3; round++) {
        p = persister_open_dir(dir, &err);
        if (round == 0)
            persister_log_snapshot(p, 0, "H0", 2, NULL, 0);
        for (int i = 0; i < 5; i++) {
            char rec[32];
            int len = snprintf(rec, sizeof(rec), "entry-%lld",
                               (long long)next);
            persister_log_append(p, next++, rec, (size_t)len);
        }
        persister_log_head(p, "H1", 2);
        persister_log_truncate(p, next - 2);
        next -= 2;
        sync_all(p);
        persister_free(p);
        pack(dir, argv[1], n++);
    }
    /* A snapshot with records after it. */
    p = persister_open_dir(dir, &err);
    persister_log_snapshot(p, 4, "H2", 2, "snapshot-4", 10);
    persister_log_append(p, next++, "after", 5);
    sync_all(p);
    persister_free(p);
    pack(dir, argv[1], n++);
    testdir_clear(dir);
    rmdir(dir);
    printf("gen_persist_seeds: %d seeds in %s\n", n, argv[1]);
    return 0;
}
