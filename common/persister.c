/* persister.c - the two persisters behind persister.h.
 *
 * Both keep the current state and snapshot in memory (reads never touch
 * the disk). The file-backed one also writes them, on every save, to one
 * file `<dir>/raft.state`:
 *
 *   offset  size  field
 *        0     4  magic "RPST"
 *        4     4  format version (1), little-endian
 *        8     8  state length, little-endian
 *       16     8  snapshot length, little-endian
 *       24     4  CRC-32 (IEEE) of bytes 0..23 followed by state and snapshot
 *       28     -  state bytes, then snapshot bytes
 *
 * A save writes `<dir>/raft.state.tmp`, fsyncs it, renames it over
 * raft.state and fsyncs the directory, so after a crash at any moment the
 * file holds either the old pair or the new one. Opening checks the magic,
 * version, lengths against the file size, and the checksum: any mismatch
 * is ERR_CORRUPT, never a silently different state. */
#include "common/persister.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/err.h"

#define PERSIST_MAGIC "RPST"
#define PERSIST_VERSION 1u
#define PERSIST_HDR 28
#define PERSIST_FILE "raft.state"
#define PERSIST_TMP "raft.state.tmp"

struct persister {
    pthread_mutex_t mu;
    struct buf state;
    struct buf snap;
    char *dir; /* NULL for the in-memory persister */
};

/* ------------------------------------------------------------------------
 * CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

/* Continue a CRC over n more bytes (start with crc = 0). */
static uint32_t crc32_update(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&crc_once, crc_init);
    const uint8_t *b = p;
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = crc_table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* ------------------------------------------------------------------------
 * Common parts */

static struct persister *persister_alloc(void)
{
    struct persister *p = xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    buf_init(&p->state);
    buf_init(&p->snap);
    return p;
}

struct persister *persister_new_mem(void)
{
    return persister_alloc();
}

struct persister *persister_copy(struct persister *p)
{
    struct persister *q = persister_alloc();
    pthread_mutex_lock(&p->mu);
    buf_append(&q->state, p->state.data, p->state.len);
    buf_append(&q->snap, p->snap.data, p->snap.len);
    pthread_mutex_unlock(&p->mu);
    return q;
}

void persister_free(struct persister *p)
{
    if (!p)
        return;
    buf_free(&p->state);
    buf_free(&p->snap);
    free(p->dir);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void persister_read_state(struct persister *p, struct buf *out)
{
    buf_clear(out);
    pthread_mutex_lock(&p->mu);
    buf_append(out, p->state.data, p->state.len);
    pthread_mutex_unlock(&p->mu);
}

void persister_read_snapshot(struct persister *p, struct buf *out)
{
    buf_clear(out);
    pthread_mutex_lock(&p->mu);
    buf_append(out, p->snap.data, p->snap.len);
    pthread_mutex_unlock(&p->mu);
}

size_t persister_state_size(struct persister *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->state.len;
    pthread_mutex_unlock(&p->mu);
    return n;
}

size_t persister_snapshot_size(struct persister *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->snap.len;
    pthread_mutex_unlock(&p->mu);
    return n;
}

/* ------------------------------------------------------------------------
 * Files */

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = xmalloc(n);
    snprintf(s, n, "%s/%s", dir, name);
    return s;
}

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return ERR_IO;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ERR_IO;
    int rc = fsync(fd) == 0 ? 0 : ERR_IO;
    close(fd);
    return rc;
}

/* Write the pair to dir/raft.state atomically (temp file, fsync, rename,
 * fsync the directory). */
static int file_save(const char *dir, const void *state, size_t state_len,
                     const void *snap, size_t snap_len)
{
    uint8_t hdr[PERSIST_HDR];
    memcpy(hdr, PERSIST_MAGIC, 4);
    put_le(hdr + 4, PERSIST_VERSION, 4);
    put_le(hdr + 8, state_len, 8);
    put_le(hdr + 16, snap_len, 8);
    uint32_t crc = crc32_update(0, hdr, 24);
    crc = crc32_update(crc, state, state_len);
    crc = crc32_update(crc, snap, snap_len);
    put_le(hdr + 24, crc, 4);

    char *tmp = path_join(dir, PERSIST_TMP);
    char *final = path_join(dir, PERSIST_FILE);
    int rc = ERR_IO;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        goto out;
    if (write_all(fd, hdr, sizeof(hdr)) != 0 ||
        write_all(fd, state, state_len) != 0 ||
        write_all(fd, snap, snap_len) != 0 || fsync(fd) != 0) {
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (close(fd) != 0 || rename(tmp, final) != 0) {
        unlink(tmp);
        goto out;
    }
    rc = fsync_dir(dir);
out:
    free(tmp);
    free(final);
    return rc;
}

/* Read and verify dir/raft.state into p. A missing file is an empty
 * state. */
static int file_load(struct persister *p)
{
    char *path = path_join(p->dir, PERSIST_FILE);
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return errno == ENOENT ? 0 : ERR_IO;
    struct buf all = BUF_INIT;
    uint8_t chunk[65536];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = ERR_IO;
            goto out;
        }
        if (r == 0)
            break;
        buf_append(&all, chunk, (size_t)r);
    }
    if (all.len < PERSIST_HDR || memcmp(all.data, PERSIST_MAGIC, 4) != 0 ||
        get_le(all.data + 4, 4) != PERSIST_VERSION) {
        rc = ERR_CORRUPT;
        goto out;
    }
    uint64_t state_len = get_le(all.data + 8, 8);
    uint64_t snap_len = get_le(all.data + 16, 8);
    uint64_t body = all.len - PERSIST_HDR;
    if (state_len > body || snap_len != body - state_len) {
        rc = ERR_CORRUPT;
        goto out;
    }
    uint32_t crc = crc32_update(0, all.data, 24);
    crc = crc32_update(crc, all.data + PERSIST_HDR, (size_t)body);
    if (crc != (uint32_t)get_le(all.data + 24, 4)) {
        rc = ERR_CORRUPT;
        goto out;
    }
    buf_append(&p->state, all.data + PERSIST_HDR, (size_t)state_len);
    buf_append(&p->snap, all.data + PERSIST_HDR + state_len,
               (size_t)snap_len);
out:
    close(fd);
    buf_free(&all);
    return rc;
}

struct persister *persister_open_dir(const char *dir, int *err)
{
    int rc = 0;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        rc = ERR_IO;
        goto fail;
    }
    struct persister *p = persister_alloc();
    p->dir = xstrdup(dir);
    /* A temp file is a save that never got renamed: not the state. */
    char *tmp = path_join(dir, PERSIST_TMP);
    unlink(tmp);
    free(tmp);
    rc = file_load(p);
    if (rc != 0) {
        persister_free(p);
        goto fail;
    }
    if (err)
        *err = 0;
    return p;
fail:
    if (err)
        *err = rc;
    return NULL;
}

/* Replace *dst with a copy of n bytes at src. src may point into *dst
 * (re-saving what was read): then build the copy first. */
static void replace_copy(struct buf *dst, const void *src, size_t n)
{
    const uint8_t *s = src;
    bool aliases = n && dst->data && s >= dst->data && s < dst->data + dst->len;
    /* A much smaller value (a snapshot after shards were deleted) gets a
     * fresh allocation rather than pinning the old peak. */
    if (aliases || dst->cap > 2 * n + 4096) {
        struct buf nb = BUF_INIT;
        buf_append(&nb, src, n);
        buf_free(dst);
        *dst = nb;
        return;
    }
    /* Reuse the allocation: Raft saves on every entry and command. */
    buf_clear(dst);
    buf_append(dst, src, n);
}

int persister_save(struct persister *p, const void *state, size_t state_len,
                   const void *snap, size_t snap_len)
{
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    if (p->dir)
        rc = file_save(p->dir, state, state_len, snap, snap_len);
    if (rc == 0) {
        /* Copy semantics: the caller may reuse its buffers at once. */
        replace_copy(&p->state, state, state_len);
        replace_copy(&p->snap, snap, snap_len);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int persister_save_state(struct persister *p, const void *state,
                         size_t state_len)
{
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    /* The file holds the pair, so it is rewritten whole; only the
     * in-memory copy of the snapshot is spared. */
    if (p->dir)
        rc = file_save(p->dir, state, state_len, p->snap.data, p->snap.len);
    if (rc == 0)
        replace_copy(&p->state, state, state_len);
    pthread_mutex_unlock(&p->mu);
    return rc;
}
