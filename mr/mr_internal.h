/* mr_internal.h - internals shared by the mr/ sources and unit tests:
 * intermediate record codec, whole-file reads, atomic output files, and the
 * coordinator's scheduling core (without RPC).
 *
 * Intermediate file format (mr-X-Y): records back to back, no header:
 *     varint(key_len) varint(value_len) key '\0' value '\0'
 * varint is unsigned LEB128. The NULs let the reducer hand the app
 * NUL-terminated strings that point straight into the file buffer. */
#ifndef MR_MR_INTERNAL_H_
#define MR_MR_INTERNAL_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Largest key or value a record may carry (keeps lengths in 32 bits). */
#define MR_MAX_FIELD ((size_t)UINT32_MAX - 1)
/* Worst-case framing bytes of one record (two 10-byte varints + 2 NULs). */
#define MR_REC_OVERHEAD 22

/* Append one record to b. */
void mr_rec_append(struct buf *b, const char *key, size_t klen,
                   const char *val, size_t vlen);

/* Cursor over a buffer of records. */
struct mr_rec_reader {
    const char *p, *end;
};
/* Next record: 1 and fields set, 0 at the clean end, ERR_CORRUPT for a
 * truncated or malformed buffer. Pointers point into the buffer. */
int mr_rec_next(struct mr_rec_reader *r, const char **key, size_t *klen,
                const char **val, size_t *vlen);

/* Read a whole file into an owned buffer with a NUL appended (not counted
 * in *len). 0, or ERR_IO with errno set. */
int mr_read_file(const char *path, char **data, size_t *len);

/* Temporary files are named mr-tmp-<pid>-<host>-XXXXXX so that a later
 * worker on the same host can tell a crashed writer's leftovers (pid gone)
 * from a live writer's file. */
#define MR_TMP_PREFIX "mr-tmp-"
/* Create and open (O_CLOEXEC) a fresh temporary dir_prefix + "mr-tmp-...";
 * dir_prefix is "" or ends with '/'. Returns the fd and an owned *path, or
 * -1 with errno set. */
int mr_tmp_create(const char *dir_prefix, char **path);
/* Remove this host's temporaries in dir (NULL: ".") whose writer process
 * no longer exists. Returns how many were removed. Workers call it when
 * they start and when they exit. */
int mr_tmp_sweep(const char *dir);

/* A file written in full under a temporary name (mr-tmp-*, in the same
 * directory) and renamed over `final` by mr_out_commit. */
struct mr_outfile {
    int fd;
    char *tmp;   /* owned */
    char *final; /* owned */
    struct buf b;
    int err; /* sticky errno of a failed write */
    /* Set by the caller for job outputs: commit fsyncs the file before the
     * rename and the directory after it. Intermediate files need not be
     * durable: a crash loses the worker's task anyway. */
    bool durable;
};
/* 0, or ERR_IO with errno set. */
int mr_out_open(struct mr_outfile *f, const char *final);
/* Buffered append (flushes at 1 MiB); errors are sticky, seen at commit. */
void mr_out_write(struct mr_outfile *f, const void *p, size_t n);
/* Write the buffer out if it is over `threshold` bytes. */
void mr_out_flush(struct mr_outfile *f, size_t threshold);
/* Flush, close and rename into place. 0, or ERR_IO with errno set (the
 * temporary is removed). Frees the names either way. */
int mr_out_commit(struct mr_outfile *f);
/* Close and remove the temporary. Safe after commit or on a zeroed file. */
void mr_out_abort(struct mr_outfile *f);

/* pread exactly n bytes at off (retrying short reads and EINTR). 0, or
 * ERR_IO with errno set (0 if the file ended first). */
int mr_pread_full(int fd, void *buf, size_t n, uint64_t off);

/* The address in a file written by `mrcoordinator -f` (its first line):
 * owned, or NULL if the file is missing or empty. */
char *mr_read_addr_file(const char *path);

/* "mr-X-Y" and "mr-out-Y" into buf. */
void mr_inter_name(char *buf, size_t n, int map_id, int reduce_id);
void mr_out_name(char *buf, size_t n, int reduce_id);

/* Malloc policy for task processes (mrworker, mrsequential): reuse freed
 * memory across tasks instead of unmapping it. */
void mr_tune_malloc(void);

/* Copy the message into a caller buffer, printf-style. */
void mr_msg(char *msg, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------------
 * Coordinator scheduling core (the RPC handlers are thin wrappers). */
enum mr_task_kind {
    MR_TASK_WAIT = 0, /* nothing to hand out now; ask again */
    MR_TASK_MAP = 1,
    MR_TASK_REDUCE = 2,
    MR_TASK_EXIT = 3, /* the job is over (done or failed): exit */
};

struct mr_task {
    int kind;        /* enum mr_task_kind */
    int id;          /* map: file index; reduce: partition */
    const char *file; /* map input (borrowed from the coordinator) */
    int nmap, nreduce;
};

struct mr_coord;
/* Hand out a task: an idle one, else one whose holder has not reported
 * within the task timeout. With none available, waits up to wait_ms for
 * one (or the end of the job) and then returns MR_TASK_WAIT. */
void mr_coord_get_task(struct mr_coord *c, uint64_t wait_ms,
                       struct mr_task *t);
/* A worker finished (kind,id). Idempotent; stale duplicates, and reports
 * for a task that was never handed out (e.g. a reduce during the map
 * phase), are ignored. */
void mr_coord_task_done(struct mr_coord *c, int kind, int id);
/* A worker could not do (kind,id): make it idle again at once, and fail the
 * job once it has failed max_failures times. */
void mr_coord_task_failed(struct mr_coord *c, int kind, int id,
                          const char *why);
/* Number of times (kind,id) was handed out (for tests and logs). */
int mr_coord_issued(struct mr_coord *c, int kind, int id);

#endif /* MR_MR_INTERNAL_H_ */
