/* persist_file.c - the file-backed store behind persister.h: a checkpoint
 * file plus a segmented append-only log of checksummed records.
 *
 * Files in the data directory:
 *
 *   checkpoint        the whole store as of one write (sequence number
 *                     lsn0): written to checkpoint.tmp, fsync'd, renamed,
 *                     directory fsync'd. Taken on every persister_save()
 *                     and persister_log_snapshot() (log compaction), so its
 *                     cost is that of the snapshot, not of every entry.
 *   log-<seq>.seg     records written after it, in order; a new segment
 *                     (seq + 1) starts when one reaches SEG_BYTES, and a
 *                     checkpoint deletes them all (what they held is in it).
 *
 * Checkpoint (integers little-endian):
 *   0  magic "RCKP"   4  version (1)   8  view (0 blob, 1 log)
 *   12 CRC-32 of every byte but these four
 *   16 lsn0 (u64)     24 first index (i64; log view)
 *   32 head/state length (u64)   40 record count (u64)
 *   48 snapshot length (u64)
 *   56 head (or the blob state), then per record a u64 length and its
 *      bytes, then the snapshot.
 *
 * Segment: "RSEG", version (u32), seq (u64); then records:
 *   u32 body length, u32 CRC-32 of those 4 bytes, u32 CRC-32 of the body,
 *   body = type (u8), lsn (u64), index (i64), payload. (The length has
 *   its own checksum so that a damaged length is not mistaken for a
 *   record cut short by a crash.) Types: HEAD (payload = new head), ENTRY
 *   (index, payload = record), TRUNCATE (drop records >= index).
 *
 * Recovery: load the checkpoint; replay every record with lsn > lsn0 in
 * (segment, offset) order; lsns must increase and entries must extend the
 * log by one. A bad record (short, bad length or checksum) in the newest
 * segment is a torn append (the crash came before its fsync, so nobody
 * was told it was stored): the segment is cut there. Anything else -
 * a bad checkpoint, damage in an older segment, records that do not fit
 * - is ERR_CORRUPT naming the file: loading a different state than the
 * one acknowledged would break Raft's promises. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crc32.h"
#include "common/err.h"
#include "common/persist_internal.h"

#define CKPT_MAGIC "RCKP"
#define SEG_MAGIC "RSEG"
#define FORMAT_VERSION 1u
#define CKPT_HDR 56
#define SEG_HDR 16
#define REC_HDR 12
#define REC_BODY_MIN 17 /* type, lsn, index */
#define REC_MAX (REC_BODY_MIN + PFILE_MAX_RECORD)
/* A segment this large gets a successor. */
#define SEG_BYTES (16u << 20)
#define CKPT_FILE "checkpoint"
#define CKPT_TMP "checkpoint.tmp"

struct pfile {
    char *dir;
    int fd;           /* current segment (O_APPEND), -1 if none */
    uint64_t seq;     /* its number */
    size_t size;      /* its length */
    uint64_t *old;    /* older segments still on disk, ascending */
    size_t nold, capold;
    struct buf pending; /* records queued for the next write(2) */
    bool broken;        /* a write failed: refuse further writes */
};

/* ------------------------------------------------------------------------
 * Crash-point hook (tests): every write, fsync, rename, unlink, truncate
 * and file creation below is a numbered point at which the process can
 * be made to die, and every write a second point at which it dies with
 * only half of the bytes written. */

static atomic_long crash_countdown; /* 0: off */

void pfile_crash_at(long n)
{
    atomic_store(&crash_countdown, n);
}

/* Counts one point; true if the process must die here. */
static bool crash_due(void)
{
    long v = atomic_load(&crash_countdown);
    while (v > 0 && !atomic_compare_exchange_weak(&crash_countdown, &v,
                                                  v - 1))
        ;
    return v == 1;
}

static void crash_point(void)
{
    if (crash_due())
        _exit(PFILE_CRASH_EXIT);
}

/* ------------------------------------------------------------------------
 * Helpers */

static int fail_io(const char *what, const char *path)
{
    fprintf(stderr, "persister: %s %s: %s\n", what, path, strerror(errno));
    return ERR_IO;
}

static int fail_corrupt(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail_corrupt(const char *path, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "persister: %s is corrupt: ", path);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return ERR_CORRUPT;
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

static char *path_of(const struct pfile *f, const char *name)
{
    size_t n = strlen(f->dir) + strlen(name) + 2;
    char *s = xmalloc(n);
    snprintf(s, n, "%s/%s", f->dir, name);
    return s;
}

static char *seg_path(const struct pfile *f, uint64_t seq)
{
    char name[64];
    snprintf(name, sizeof(name), "log-%016" PRIx64 ".seg", seq);
    return path_of(f, name);
}

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    crash_point();
    if (crash_due()) {
        ssize_t w = write(fd, b, n / 2); /* a torn write */
        (void)w;
        _exit(PFILE_CRASH_EXIT);
    }
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static int fsync_dir(const struct pfile *f)
{
    int fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fail_io("cannot open directory", f->dir);
    crash_point();
    int rc = fsync(fd) == 0 ? 0 : fail_io("cannot fsync directory", f->dir);
    close(fd);
    return rc;
}

/* Read the whole file at path into out. ENOENT gives *missing. */
static int read_file(const char *path, struct buf *out, bool *missing)
{
    *missing = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            *missing = true;
            return 0;
        }
        return fail_io("cannot open", path);
    }
    uint8_t chunk[65536];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int rc = fail_io("cannot read", path);
            close(fd);
            return rc;
        }
        if (r == 0)
            break;
        buf_append(out, chunk, (size_t)r);
    }
    close(fd);
    return 0;
}

/* ------------------------------------------------------------------------
 * Segments */

/* Create segment seq and make it the current one. */
static int seg_create(struct pfile *f, uint64_t seq)
{
    char *path = seg_path(f, seq);
    int rc = 0;
    crash_point();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
                  0644);
    if (fd < 0) {
        rc = fail_io("cannot create", path);
        goto out;
    }
    uint8_t hdr[SEG_HDR];
    memcpy(hdr, SEG_MAGIC, 4);
    put_le(hdr + 4, FORMAT_VERSION, 4);
    put_le(hdr + 8, seq, 8);
    /* The header and the directory entry are durable before any record
     * in the segment can be acknowledged. */
    if (write_all(fd, hdr, sizeof(hdr)) != 0 || (crash_point(), 0) ||
        fdatasync(fd) != 0) {
        rc = fail_io("cannot write", path);
        close(fd);
        goto out;
    }
    rc = fsync_dir(f);
    if (rc != 0) {
        close(fd);
        goto out;
    }
    f->fd = fd;
    f->seq = seq;
    f->size = SEG_HDR;
out:
    free(path);
    return rc;
}

static void seg_unlink(struct pfile *f, uint64_t seq)
{
    char *path = seg_path(f, seq);
    crash_point();
    if (unlink(path) != 0 && errno != ENOENT)
        fail_io("cannot delete", path); /* reported; harmless to keep */
    free(path);
}

/* The current segment is full: sync it and start the next one. */
static int seg_roll(struct persister *p)
{
    struct pfile *f = p->file;
    pfile_wait_no_sync(p);
    if (f->fd >= 0) {
        int rc = pfile_fsync(p, f->fd);
        if (rc != 0)
            return rc;
        close(f->fd);
        f->fd = -1;
        if (f->nold == f->capold) {
            f->capold = f->capold ? 2 * f->capold : 8;
            f->old = xrealloc(f->old, f->capold * sizeof(*f->old));
        }
        f->old[f->nold++] = f->seq;
    }
    return seg_create(f, f->seq + 1);
}

void pfile_record(struct persister *p, enum prec_type type, uint64_t seq,
                  int64_t index, const void *data, size_t len)
{
    struct pfile *f = p->file;
    uint8_t hdr[REC_HDR + REC_BODY_MIN];
    put_le(hdr, REC_BODY_MIN + len, 4);
    put_le(hdr + 4, crc32_update(0, hdr, 4), 4);
    hdr[REC_HDR] = (uint8_t)type;
    put_le(hdr + REC_HDR + 1, seq, 8);
    put_le(hdr + REC_HDR + 9, (uint64_t)index, 8);
    uint32_t crc = crc32_update(0, hdr + REC_HDR, REC_BODY_MIN);
    crc = crc32_update(crc, data, len);
    put_le(hdr + 8, crc, 4);
    buf_append(&f->pending, hdr, sizeof(hdr));
    buf_append(&f->pending, data, len);
}

int pfile_flush(struct persister *p)
{
    struct pfile *f = p->file;
    if (f->broken)
        return ERR_IO;
    if (f->pending.len == 0)
        return 0;
    if (f->fd < 0 || (f->size > SEG_HDR &&
                      f->size + f->pending.len > SEG_BYTES)) {
        int rc = seg_roll(p);
        if (rc != 0) {
            f->broken = true;
            return rc;
        }
    }
    if (write_all(f->fd, f->pending.data, f->pending.len) != 0) {
        char *path = seg_path(f, f->seq);
        fail_io("cannot write", path);
        free(path);
        f->broken = true;
        return ERR_IO;
    }
    f->size += f->pending.len;
    buf_clear(&f->pending);
    return 0;
}

int pfile_sync_fd(struct persister *p)
{
    return p->file->fd;
}

int pfile_fsync(struct persister *p, int fd)
{
    if (fd < 0)
        return 0;
    crash_point();
    if (fdatasync(fd) == 0)
        return 0;
    /* Which segment: fd is the current one (rolls wait for us). */
    char *path = seg_path(p->file, p->file->seq);
    int rc = fail_io("cannot fsync", path);
    free(path);
    return rc;
}

void pfile_wait_no_sync(struct persister *p)
{
    while (p->syncing)
        pthread_cond_wait(&p->sync_cv, &p->mu);
}

/* ------------------------------------------------------------------------
 * Checkpoint */

static void ckpt_encode(const struct persister *p, uint64_t lsn0,
                        struct buf *out)
{
    const struct buf *head = p->log_mode ? &p->head : &p->state;
    size_t n = CKPT_HDR + head->len + p->snap.len;
    if (p->log_mode)
        n += 8 * p->nrec + p->rec_bytes;
    buf_reserve(out, n);
    uint8_t hdr[CKPT_HDR];
    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, CKPT_MAGIC, 4);
    put_le(hdr + 4, FORMAT_VERSION, 4);
    put_le(hdr + 8, p->log_mode ? 1 : 0, 4);
    put_le(hdr + 16, lsn0, 8);
    put_le(hdr + 24, (uint64_t)p->first, 8);
    put_le(hdr + 32, head->len, 8);
    put_le(hdr + 40, p->log_mode ? p->nrec : 0, 8);
    put_le(hdr + 48, p->snap.len, 8);
    buf_append(out, hdr, sizeof(hdr));
    buf_append(out, head->data, head->len);
    if (p->log_mode) {
        for (size_t i = 0; i < p->nrec; i++) {
            const struct prec *r = &p->recs[p->rstart + i];
            uint8_t len[8];
            put_le(len, r->len, 8);
            buf_append(out, len, 8);
            buf_append(out, r->data, r->len);
        }
    }
    buf_append(out, p->snap.data, p->snap.len);
    uint32_t crc = crc32_update(0, out->data, 12);
    crc = crc32_update(crc, out->data + 16, out->len - 16);
    put_le(out->data + 12, crc, 4);
}

int pfile_checkpoint(struct persister *p)
{
    struct pfile *f = p->file;
    if (f->broken)
        return ERR_IO;
    /* Pending and unsynced records are all in the checkpoint. */
    pfile_wait_no_sync(p);
    buf_clear(&f->pending);
    uint64_t lsn0 = p->written + 1;
    struct buf img = BUF_INIT;
    ckpt_encode(p, lsn0, &img);
    char *tmp = path_of(f, CKPT_TMP), *final = path_of(f, CKPT_FILE);
    int rc = 0;
    crash_point();
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = fail_io("cannot create", tmp);
        goto out;
    }
    if (write_all(fd, img.data, img.len) != 0 || (crash_point(), 0) ||
        fsync(fd) != 0) {
        rc = fail_io("cannot write", tmp);
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (close(fd) != 0) {
        rc = fail_io("cannot close", tmp);
        goto out;
    }
    crash_point();
    if (rename(tmp, final) != 0) {
        rc = fail_io("cannot rename to checkpoint", tmp);
        unlink(tmp);
        goto out;
    }
    rc = fsync_dir(f);
    if (rc != 0)
        goto out;
    p->written = lsn0;
    atomic_store(&p->durable, lsn0);
    /* Everything in the segments is older than the checkpoint. */
    for (size_t i = 0; i < f->nold; i++)
        seg_unlink(f, f->old[i]);
    f->nold = 0;
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
        seg_unlink(f, f->seq);
    }
    rc = seg_create(f, f->seq + 1);
out:
    if (rc != 0)
        f->broken = true;
    free(tmp);
    free(final);
    buf_free(&img);
    return rc;
}

/* Load the checkpoint into p; *lsn0 = its sequence number (0 if none). */
static int ckpt_load(struct persister *p, uint64_t *lsn0)
{
    struct pfile *f = p->file;
    char *path = path_of(f, CKPT_FILE);
    struct buf img = BUF_INIT;
    bool missing;
    int rc = read_file(path, &img, &missing);
    *lsn0 = 0;
    if (rc != 0 || missing)
        goto out;
    const uint8_t *b = img.data;
    if (img.len < CKPT_HDR || memcmp(b, CKPT_MAGIC, 4) != 0 ||
        get_le(b + 4, 4) != FORMAT_VERSION || get_le(b + 8, 4) > 1) {
        rc = fail_corrupt(path, "bad header");
        goto out;
    }
    uint32_t crc = crc32_update(0, b, 12);
    crc = crc32_update(crc, b + 16, img.len - 16);
    if (crc != (uint32_t)get_le(b + 12, 4)) {
        rc = fail_corrupt(path, "checksum mismatch");
        goto out;
    }
    bool log_mode = get_le(b + 8, 4) == 1;
    *lsn0 = get_le(b + 16, 8);
    int64_t first = (int64_t)get_le(b + 24, 8);
    uint64_t head_len = get_le(b + 32, 8), nrec = get_le(b + 40, 8);
    uint64_t snap_len = get_le(b + 48, 8);
    size_t off = CKPT_HDR, left = img.len - CKPT_HDR;
    if (head_len > left || first < 1 || (!log_mode && nrec != 0)) {
        rc = fail_corrupt(path, "bad lengths");
        goto out;
    }
    p->log_mode = log_mode;
    buf_append(log_mode ? &p->head : &p->state, b + off, head_len);
    off += head_len, left -= head_len;
    p->first = first;
    for (uint64_t i = 0; i < nrec; i++) {
        uint64_t len = left >= 8 ? get_le(b + off, 8) : UINT64_MAX;
        if (left < 8 || len > left - 8) {
            rc = fail_corrupt(path, "bad record length");
            goto out;
        }
        off += 8, left -= 8;
        plog_append(p, first + (int64_t)i, b + off, len);
        off += len, left -= len;
    }
    if (snap_len != left) {
        rc = fail_corrupt(path, "bad snapshot length");
        goto out;
    }
    buf_append(&p->snap, b + off, snap_len);
out:
    free(path);
    buf_free(&img);
    return rc;
}

/* ------------------------------------------------------------------------
 * Recovery */

struct replay {
    uint64_t lsn0;
    uint64_t last_lsn;
};

/* Apply one record (already checksummed). */
static int replay_record(struct persister *p, struct replay *rp,
                         const char *path, const uint8_t *body, size_t len)
{
    unsigned type = body[0];
    uint64_t lsn = get_le(body + 1, 8);
    int64_t index = (int64_t)get_le(body + 9, 8);
    const uint8_t *data = body + REC_BODY_MIN;
    size_t dlen = len - REC_BODY_MIN;
    if (lsn <= rp->last_lsn && rp->last_lsn > rp->lsn0)
        return fail_corrupt(path, "record %" PRIu64 " out of order", lsn);
    if (lsn <= rp->lsn0)
        return 0; /* in the checkpoint already */
    rp->last_lsn = lsn;
    if (!p->log_mode)
        return fail_corrupt(path, "log records after a whole-state save");
    switch (type) {
    case PREC_HEAD:
        plog_set_head(p, data, dlen);
        return 0;
    case PREC_TRUNCATE:
        plog_truncate(p, index);
        return 0;
    case PREC_ENTRY:
        if (plog_append(p, index, data, dlen) != 0)
            return fail_corrupt(path, "entry %" PRId64 " does not follow "
                                "%" PRId64, index, plog_last(p));
        return 0;
    default:
        return fail_corrupt(path, "unknown record type %u", type);
    }
}

/* A bad record in the newest segment is a torn append (cut it) if it is
 * the last thing in the file: a short header, a sound length that runs to
 * or past the end, or nothing but zeros from it on (space the file system
 * allocated but whose data never arrived). A bad record with data after
 * it is damage to what may have been acknowledged. */
static bool torn_tail(const uint8_t *p, size_t left)
{
    if (left < REC_HDR)
        return true;
    bool len_ok = crc32_update(0, p, 4) == (uint32_t)get_le(p + 4, 4);
    if (len_ok && get_le(p, 4) >= left - REC_HDR)
        return true;
    for (size_t i = 0; i < left; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/* Replay one segment. In the newest one (last) a bad record is a torn
 * append: the file is cut there. */
static int replay_segment(struct persister *p, struct replay *rp,
                          uint64_t seq, bool last)
{
    struct pfile *f = p->file;
    char *path = seg_path(f, seq);
    struct buf img = BUF_INIT;
    bool missing;
    int rc = read_file(path, &img, &missing);
    if (rc != 0 || missing)
        goto out;
    const uint8_t *b = img.data;
    size_t off = 0;
    if (img.len < SEG_HDR || memcmp(b, SEG_MAGIC, 4) != 0 ||
        get_le(b + 4, 4) != FORMAT_VERSION || get_le(b + 8, 8) != seq) {
        bool zeros = true;
        for (size_t i = 0; i < img.len && zeros; i++)
            zeros = b[i] == 0;
        if (!last || (img.len >= SEG_HDR && !zeros)) {
            rc = fail_corrupt(path, "bad segment header");
            goto out;
        }
        /* Created, but the crash came before its header was written:
         * nothing in it. Delete it, or it would be an older segment with
         * a bad header once the next one is created. */
        fprintf(stderr, "persister: %s: deleting a segment whose header "
                "was never written\n", path);
        crash_point();
        if (unlink(path) != 0)
            rc = fail_io("cannot delete", path);
        goto out;
    } else {
        off = SEG_HDR;
        while (off < img.len) {
            size_t left = img.len - off;
            uint64_t len = left >= REC_HDR ? get_le(b + off, 4) : 0;
            bool ok = left >= REC_HDR &&
                      crc32_update(0, b + off, 4) ==
                          (uint32_t)get_le(b + off + 4, 4) &&
                      len >= REC_BODY_MIN && len <= REC_MAX &&
                      len <= left - REC_HDR &&
                      crc32_update(0, b + off + REC_HDR, len) ==
                          (uint32_t)get_le(b + off + 8, 4);
            if (!ok) {
                if (!last || !torn_tail(b + off, left)) {
                    rc = fail_corrupt(path, "bad record at offset %zu", off);
                    goto out;
                }
                break;
            }
            rc = replay_record(p, rp, path, b + off + REC_HDR, len);
            if (rc != 0)
                goto out;
            off += REC_HDR + len;
        }
    }
    if (off < img.len || img.len < SEG_HDR) {
        fprintf(stderr, "persister: %s: cutting a torn tail of %zu bytes "
                "at offset %zu\n", path, img.len - off, off);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        crash_point();
        if (fd < 0 || ftruncate(fd, (off_t)off) != 0 || fdatasync(fd) != 0)
            rc = fail_io("cannot cut", path);
        if (fd >= 0)
            close(fd);
    }
out:
    free(path);
    buf_free(&img);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The segment numbers in the directory, ascending. */
static int list_segments(struct pfile *f)
{
    DIR *d = opendir(f->dir);
    if (!d)
        return fail_io("cannot list", f->dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint64_t seq;
        char tail[8];
        if (sscanf(e->d_name, "log-%16" SCNx64 "%7s", &seq, tail) != 2 ||
            strcmp(tail, ".seg") != 0 || strlen(e->d_name) != 24)
            continue;
        if (f->nold == f->capold) {
            f->capold = f->capold ? 2 * f->capold : 8;
            f->old = xrealloc(f->old, f->capold * sizeof(*f->old));
        }
        f->old[f->nold++] = seq;
    }
    closedir(d);
    if (f->nold > 1)
        qsort(f->old, f->nold, sizeof(*f->old), cmp_u64);
    return 0;
}

int pfile_open(const char *dir, struct persister *p)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return fail_io("cannot create", dir);
    struct pfile *f = xcalloc(1, sizeof(*f));
    f->dir = xstrdup(dir);
    f->fd = -1;
    buf_init(&f->pending);
    p->file = f;
    /* A temp checkpoint is one that never got renamed: not the state. */
    char *tmp = path_of(f, CKPT_TMP);
    unlink(tmp);
    free(tmp);
    struct replay rp = {0, 0};
    int rc = ckpt_load(p, &rp.lsn0);
    if (rc == 0)
        rc = list_segments(f);
    for (size_t i = 0; rc == 0 && i < f->nold; i++)
        rc = replay_segment(p, &rp, f->old[i], i + 1 == f->nold);
    if (rc != 0)
        return rc;
    p->written = rp.last_lsn > rp.lsn0 ? rp.last_lsn : rp.lsn0;
    atomic_store(&p->durable, p->written);
    uint64_t next = f->nold ? f->old[f->nold - 1] + 1 : 1;
    if (!p->log_mode) {
        /* Left over from before the last whole-state save. */
        for (size_t i = 0; i < f->nold; i++)
            seg_unlink(f, f->old[i]);
        f->nold = 0;
    }
    f->seq = next - 1;
    return seg_create(f, next);
}

void pfile_close(struct persister *p)
{
    struct pfile *f = p->file;
    /* Records flushed but never synced are not acknowledged: a clean
     * close still syncs them, as a daemon's exit should. */
    if (f->fd >= 0) {
        if (!f->broken && f->pending.len)
            pfile_flush(p);
        if (f->fd >= 0) {
            fdatasync(f->fd);
            close(f->fd);
        }
    }
    buf_free(&f->pending);
    free(f->old);
    free(f->dir);
    free(f);
    p->file = NULL;
}

const char *pfile_dir(const struct persister *p)
{
    return p->file->dir;
}
