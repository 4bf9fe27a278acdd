/* persister.c - the persister API (persister.h) over an in-memory model;
 * the file-backed store (persist_file.c) writes the same changes to disk.
 *
 * Both keep the current state and snapshot in memory (reads never touch
 * the disk). In the log view the state is kept as its parts - head and
 * one record per entry - and the blob is built only when asked for
 * (persister_read_state(), at a restart); its size is kept up to date so
 * raft_state_size() stays O(1). */
#include "common/persister.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/persist_internal.h"

/* ------------------------------------------------------------------------
 * The in-memory log model */

static size_t uvarint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

int64_t plog_last(const struct persister *p)
{
    return p->first + (int64_t)p->nrec - 1;
}

void plog_truncate(struct persister *p, int64_t index)
{
    if (index < p->first)
        index = p->first;
    while (plog_last(p) >= index) {
        struct prec *r = &p->recs[p->rstart + --p->nrec];
        p->rec_bytes -= r->len;
        free(r->data);
    }
}

int plog_append(struct persister *p, int64_t index, const void *rec,
                size_t len)
{
    if (index != plog_last(p) + 1)
        return ERR_INVAL;
    if (p->rstart + p->nrec == p->rcap) {
        if (p->rstart > p->rcap / 2) {
            /* Mostly compacted away: slide down instead of growing. */
            memmove(p->recs, p->recs + p->rstart,
                    p->nrec * sizeof(*p->recs));
            p->rstart = 0;
        } else {
            p->rcap = p->rcap ? 2 * p->rcap : 64;
            p->recs = xrealloc(p->recs, p->rcap * sizeof(*p->recs));
        }
    }
    struct prec *r = &p->recs[p->rstart + p->nrec++];
    r->len = len;
    r->data = NULL;
    if (len) {
        r->data = xmalloc(len);
        memcpy(r->data, rec, len);
    }
    p->rec_bytes += len;
    return 0;
}

void plog_compact(struct persister *p, int64_t index)
{
    while (p->nrec > 0 && p->first <= index) {
        struct prec *r = &p->recs[p->rstart++];
        p->nrec--;
        p->first++;
        p->rec_bytes -= r->len;
        free(r->data);
    }
    if (p->nrec == 0) {
        p->rstart = 0;
        p->first = index + 1;
    }
    /* Give memory back when the log shrank a lot. */
    if (p->rcap > 256 && p->nrec < p->rcap / 8) {
        memmove(p->recs, p->recs + p->rstart, p->nrec * sizeof(*p->recs));
        p->rstart = 0;
        p->rcap = p->nrec * 2 > 64 ? p->nrec * 2 : 64;
        p->recs = xrealloc(p->recs, p->rcap * sizeof(*p->recs));
    }
}

void plog_clear(struct persister *p)
{
    plog_truncate(p, p->first);
    free(p->recs);
    p->recs = NULL;
    p->rstart = p->nrec = p->rcap = 0;
    p->first = 1;
    p->rec_bytes = 0;
    buf_free(&p->head);
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
    buf_clear(dst);
    buf_append(dst, src, n);
}

void plog_set_head(struct persister *p, const void *head, size_t len)
{
    replace_copy(&p->head, head, len);
}

static size_t plog_blob_size(const struct persister *p)
{
    return p->head.len + uvarint_len(p->nrec) + p->rec_bytes;
}

static void plog_blob(const struct persister *p, struct buf *out)
{
    buf_reserve(out, plog_blob_size(p));
    buf_append(out, p->head.data, p->head.len);
    uint64_t v = p->nrec;
    while (v >= 0x80) {
        buf_append_byte(out, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    buf_append_byte(out, (uint8_t)v);
    for (size_t i = 0; i < p->nrec; i++) {
        const struct prec *r = &p->recs[p->rstart + i];
        buf_append(out, r->data, r->len);
    }
}

/* ------------------------------------------------------------------------
 * Life cycle */

static struct persister *persister_alloc(void)
{
    struct persister *p = xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    clock_cond_init(&p->sync_cv);
    buf_init(&p->state);
    buf_init(&p->snap);
    buf_init(&p->head);
    p->first = 1;
    return p;
}

struct persister *persister_new_mem(void)
{
    return persister_alloc();
}

struct persister *persister_open_dir(const char *dir, int *err)
{
    struct persister *p = persister_alloc();
    int rc = pfile_open(dir, p);
    if (rc != 0) {
        persister_free(p);
        p = NULL;
    }
    if (err)
        *err = rc;
    return p;
}

struct persister *persister_copy(struct persister *p)
{
    struct persister *q = persister_alloc();
    pthread_mutex_lock(&p->mu);
    q->log_mode = p->log_mode;
    buf_append(&q->state, p->state.data, p->state.len);
    buf_append(&q->snap, p->snap.data, p->snap.len);
    buf_append(&q->head, p->head.data, p->head.len);
    q->first = p->first;
    for (size_t i = 0; i < p->nrec; i++) {
        const struct prec *r = &p->recs[p->rstart + i];
        plog_append(q, q->first + (int64_t)i, r->data, r->len);
    }
    pthread_mutex_unlock(&p->mu);
    return q;
}

const char *persister_where(const struct persister *p)
{
    return p->file ? pfile_dir(p) : "memory";
}

void persister_free(struct persister *p)
{
    if (!p)
        return;
    if (p->file)
        pfile_close(p);
    plog_clear(p);
    buf_free(&p->state);
    buf_free(&p->snap);
    pthread_cond_destroy(&p->sync_cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* ------------------------------------------------------------------------
 * Whole-blob view */

int persister_save(struct persister *p, const void *state, size_t state_len,
                   const void *snap, size_t snap_len)
{
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    /* Copy semantics: the caller may reuse its buffers at once. */
    replace_copy(&p->state, state, state_len);
    replace_copy(&p->snap, snap, snap_len);
    plog_clear(p);
    p->log_mode = false;
    if (p->file) {
        rc = pfile_checkpoint(p);
    } else {
        p->written++;
        p->durable = p->written;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int persister_save_state(struct persister *p, const void *state,
                         size_t state_len)
{
    pthread_mutex_lock(&p->mu);
    /* The snapshot stays; in the file it is rewritten with the state. */
    struct buf snap = BUF_INIT;
    buf_append(&snap, p->snap.data, p->snap.len);
    pthread_mutex_unlock(&p->mu);
    int rc = persister_save(p, state, state_len, snap.data, snap.len);
    buf_free(&snap);
    return rc;
}

void persister_read_state(struct persister *p, struct buf *out)
{
    buf_clear(out);
    pthread_mutex_lock(&p->mu);
    if (p->log_mode)
        plog_blob(p, out);
    else
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
    size_t n = p->log_mode ? plog_blob_size(p) : p->state.len;
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
 * Incremental log view */

bool persister_log_active(struct persister *p)
{
    pthread_mutex_lock(&p->mu);
    bool on = p->log_mode;
    pthread_mutex_unlock(&p->mu);
    return on;
}

/* A write to the in-memory model is durable at once. */
static void mem_written(struct persister *p)
{
    p->written++;
    if (!p->file)
        p->durable = p->written;
}

int persister_log_snapshot(struct persister *p, int64_t index,
                           const void *head, size_t head_len,
                           const void *snap, size_t snap_len)
{
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    if (index < 0 || (p->log_mode && p->nrec > 0 && index < p->first - 1)) {
        rc = ERR_INVAL;
        goto out;
    }
    if (!p->log_mode) {
        plog_clear(p);
        buf_free(&p->state);
        p->log_mode = true;
    }
    plog_compact(p, index);
    plog_set_head(p, head, head_len);
    replace_copy(&p->snap, snap, snap_len);
    if (p->file)
        rc = pfile_checkpoint(p);
    else
        mem_written(p);
out:
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int persister_log_head(struct persister *p, const void *head, size_t len)
{
    pthread_mutex_lock(&p->mu);
    int rc = ERR_INVAL;
    if (p->file && len > PFILE_MAX_RECORD) {
        rc = ERR_TOOBIG;
    } else if (p->log_mode) {
        mem_written(p);
        if (p->file)
            pfile_record(p, PREC_HEAD, p->written, 0, head, len);
        plog_set_head(p, head, len);
        rc = 0;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int persister_log_truncate(struct persister *p, int64_t index)
{
    pthread_mutex_lock(&p->mu);
    int rc = ERR_INVAL;
    if (p->log_mode) {
        rc = 0;
        if (p->nrec > 0 && index <= plog_last(p)) {
            mem_written(p);
            if (p->file)
                pfile_record(p, PREC_TRUNCATE, p->written, index, NULL, 0);
            plog_truncate(p, index);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int persister_log_append(struct persister *p, int64_t index, const void *rec,
                         size_t len)
{
    pthread_mutex_lock(&p->mu);
    int rc = ERR_INVAL;
    if (p->file && len > PFILE_MAX_RECORD) {
        rc = ERR_TOOBIG;
    } else if (p->log_mode && index == plog_last(p) + 1) {
        mem_written(p);
        if (p->file)
            pfile_record(p, PREC_ENTRY, p->written, index, rec, len);
        rc = plog_append(p, index, rec, len);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int persister_log_flush(struct persister *p, uint64_t *ticket)
{
    pthread_mutex_lock(&p->mu);
    int rc = p->file ? pfile_flush(p) : 0;
    if (ticket)
        *ticket = p->written;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

bool persister_synced(struct persister *p, uint64_t ticket)
{
    return atomic_load(&p->durable) >= ticket;
}

int persister_sync(struct persister *p, uint64_t ticket)
{
    int rc = 0;
    if (atomic_load(&p->durable) >= ticket)
        return 0;
    pthread_mutex_lock(&p->mu);
    while (rc == 0 && p->durable < ticket) {
        if (p->syncing) {
            /* Someone's fsync is under way; it may cover us. */
            pthread_cond_wait(&p->sync_cv, &p->mu);
            continue;
        }
        /* Lead a group fsync covering every write so far. */
        rc = pfile_flush(p);
        if (rc != 0)
            break;
        p->syncing = true;
        uint64_t target = p->written;
        int fd = pfile_sync_fd(p);
        pthread_mutex_unlock(&p->mu);
        rc = pfile_fsync(p, fd);
        pthread_mutex_lock(&p->mu);
        p->syncing = false;
        if (rc == 0 && target > p->durable)
            p->durable = target;
        pthread_cond_broadcast(&p->sync_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int64_t persister_log_first(struct persister *p)
{
    pthread_mutex_lock(&p->mu);
    int64_t f = p->first;
    pthread_mutex_unlock(&p->mu);
    return f;
}

size_t persister_log_count(struct persister *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->nrec;
    pthread_mutex_unlock(&p->mu);
    return n;
}
