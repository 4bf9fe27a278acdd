/* persist_internal.h - what persister.c (the in-memory model and the
 * public API) shares with persist_file.c (the files behind it).
 *
 * Locking: p->mu protects every field; the file functions are called with
 * it held, except pfile_sync_fd()'s fsync (see persister_sync()). */
#ifndef COMMON_PERSIST_INTERNAL_H_
#define COMMON_PERSIST_INTERNAL_H_

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* One log record (owned copy). */
struct prec {
    uint8_t *data;
    size_t len;
};

struct pfile;

struct persister {
    pthread_mutex_t mu;
    pthread_cond_t sync_cv; /* a group fsync finished */
    bool log_mode;
    struct buf state; /* blob view: the state */
    struct buf snap;  /* both views */
    struct buf head;  /* log view */
    struct prec *recs; /* log view: recs[rstart .. rstart+nrec) */
    size_t rstart, nrec, rcap;
    int64_t first;     /* index of recs[rstart] (snapshot index + 1) */
    size_t rec_bytes;  /* sum of the records' lengths */
    uint64_t written;  /* sequence number of the last write */
    /* Every write through this one is on the disk. Written under mu;
     * also read without it, so that waiting for what is already durable
     * (always, in memory) costs no lock. */
    _Atomic uint64_t durable;
    bool syncing;      /* a thread is in the group fsync */
    struct pfile *file; /* NULL for the in-memory persister */
};

/* The in-memory model (persister.c). */
int64_t plog_last(const struct persister *p);
void plog_truncate(struct persister *p, int64_t index);
int plog_append(struct persister *p, int64_t index, const void *rec,
                size_t len);
void plog_compact(struct persister *p, int64_t index);
void plog_clear(struct persister *p);
void plog_set_head(struct persister *p, const void *head, size_t len);

/* The files (persist_file.c). Each returns 0, ERR_IO or ERR_CORRUPT, and
 * prints the failing file and errno text to stderr. */
int pfile_open(const char *dir, struct persister *p);
void pfile_close(struct persister *p);
/* The data directory (borrowed). */
const char *pfile_dir(const struct persister *p);
/* Write the whole in-memory store (either view) as a checkpoint: the
 * snapshot file, atomically, then delete every segment (all they hold is
 * in the checkpoint) and start a new one. Durable on return; counts as
 * one write (p->written, p->durable). On error the store is unusable. */
int pfile_checkpoint(struct persister *p);
/* Largest record payload the file store takes (its length is a u32 and
 * recovery refuses anything larger). */
#define PFILE_MAX_RECORD ((size_t)1 << 29)
/* Queue one record (written at the next pfile_flush). */
enum prec_type {
    PREC_HEAD = 1,
    PREC_ENTRY = 2,
    PREC_TRUNCATE = 3,
};
void pfile_record(struct persister *p, enum prec_type type, uint64_t seq,
                  int64_t index, const void *data, size_t len);
/* Write queued records to the current segment (rolling over to a new one
 * when it is full). */
int pfile_flush(struct persister *p);
/* The descriptor the group fsync syncs (stable while p->syncing). */
int pfile_sync_fd(struct persister *p);
/* fdatasync(fd), reporting errors with the segment's name. */
int pfile_fsync(struct persister *p, int fd);
/* Wait (on p->sync_cv, releasing p->mu) until no group fsync runs. */
void pfile_wait_no_sync(struct persister *p);

/* Fault hook for the crash-point test: the n-th I/O boundary from now
 * (each write, fsync, rename, unlink, truncate, file creation; and each
 * write once more, dying after half of its bytes) ends the process with
 * _exit(PFILE_CRASH_EXIT). 0 turns it off. Process-wide. */
#define PFILE_CRASH_EXIT 86
void pfile_crash_at(long n);

#endif /* COMMON_PERSIST_INTERNAL_H_ */
