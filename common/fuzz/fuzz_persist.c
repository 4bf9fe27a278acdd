/* fuzz_persist.c - libFuzzer target for the file persister's recovery
 * path: whatever bytes are in the data directory, persister_open_dir()
 * either refuses them (ERR_CORRUPT / ERR_IO) or loads a state that is
 * self-consistent and stays what it was across a write and a reopen.
 *
 * Input: chunks of [u8 file][u16 length, little-endian][bytes]; file % 4
 * selects checkpoint, log-..01.seg, log-..02.seg or log-..03.seg (a later
 * chunk for the same file appends to it). Seeds: gen_persist_seeds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/persister.h"
#include "common/tests/testdir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *names[4] = {
    "checkpoint",
    "log-0000000000000001.seg",
    "log-0000000000000002.seg",
    "log-0000000000000003.seg",
};

static char dir[256];

static void setup(void)
{
    if (dir[0])
        return;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof(dir), "%s/fuzz_persist.XXXXXX", base);
    if (!mkdtemp(dir))
        abort();
}

static void write_files(const uint8_t *data, size_t size)
{
    FILE *f[4] = {NULL, NULL, NULL, NULL};
    size_t off = 0;
    while (off + 3 <= size) {
        unsigned which = data[off] % 4;
        size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;
        off += 3;
        if (len > size - off)
            len = size - off;
        if (!f[which]) {
            char path[512];
            snprintf(path, sizeof(path), "%s/%s", dir, names[which]);
            f[which] = fopen(path, "wb");
            if (!f[which])
                abort();
        }
        if (len && fwrite(data + off, 1, len, f[which]) != len)
            abort();
        off += len;
    }
    for (int i = 0; i < 4; i++)
        if (f[i])
            fclose(f[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    testdir_clear(dir);
    write_files(data, size);
    int err = 0;
    struct persister *p = persister_open_dir(dir, &err);
    if (!p) {
        if (err != ERR_CORRUPT && err != ERR_IO)
            abort();
        return 0;
    }
    struct buf before = BUF_INIT, after = BUF_INIT, snap = BUF_INIT;
    persister_read_state(p, &before);
    if (before.len != persister_state_size(p))
        abort();
    persister_read_snapshot(p, &snap);
    if (snap.len != persister_snapshot_size(p))
        abort();
    if (persister_log_active(p)) {
        /* A write on top of the recovered state, then a reopen: the
         * state is the recovered one plus that record. */
        int64_t next = persister_log_first(p) +
                       (int64_t)persister_log_count(p);
        uint64_t ticket;
        if (persister_log_append(p, next, "fz", 2) != 0 ||
            persister_log_flush(p, &ticket) != 0 ||
            persister_sync(p, ticket) != 0)
            abort();
        persister_read_state(p, &before);
    }
    persister_free(p);
    p = persister_open_dir(dir, &err);
    if (!p)
        abort(); /* what we wrote ourselves must load */
    persister_read_state(p, &after);
    if (after.len != before.len ||
        (after.len && memcmp(after.data, before.data, after.len) != 0))
        abort();
    persister_read_snapshot(p, &after);
    if (after.len != snap.len ||
        (after.len && memcmp(after.data, snap.data, after.len) != 0))
        abort();
    persister_free(p);
    buf_free(&before);
    buf_free(&after);
    buf_free(&snap);
    return 0;
}
