/* persister.h - where Raft (and the service's snapshot) survive a crash.
 *
 * Two views of one store:
 *   - the 6.5840 whole-blob view: persister_save() / persister_read_*() /
 *     persister_state_size() of an opaque state blob and a snapshot, as
 *     students use it;
 *   - an incremental log view (persister_log_*) for Raft implementations
 *     that store each change once instead of re-writing the whole state:
 *     the state is a head (currentTerm, votedFor, snapshot point: opaque
 *     bytes) followed by one record per log entry, at consecutive indices
 *     first .. last where first = snapshot index + 1. Its blob is
 *
 *         head ‖ uvarint(number of records) ‖ record ‖ record ‖ ...
 *
 *     (uvarint: LEB128, 7 bits per byte, low bits first), so
 *     persister_read_state() and persister_state_size() of a log-view
 *     store return exactly what they would after persister_save() of that
 *     blob (raft/encode.c's format is built this way). The cost of an
 *     append is independent of the size of the log and the snapshot.
 *
 * Two implementations behind one interface:
 *   - in memory, with 6.5840 copy semantics (the tester gives a restarted
 *     peer a copy, so a zombie instance writing to the old one does no
 *     harm); every write is durable at once;
 *   - file-backed for daemons (persist_file.c): a segmented append-only
 *     log of checksummed records, the snapshot in its own file written
 *     atomically. A write is in the file when the call returns and on the
 *     disk once persister_sync() of its ticket returns: writes from
 *     concurrent callers share one fsync (group commit), and the fsync
 *     runs without the caller's locks.
 *
 * A store is in one view at a time: persister_save() switches it to the
 * blob view, persister_log_snapshot() to the log view; the other log
 * calls need the log view (ERR_INVAL otherwise).
 *
 * Thread-safe (one mutex per persister; persister_sync() waits on it
 * without holding it across the fsync). Errors of the file-backed store
 * are also printed to stderr with the file name and errno text. */
#ifndef COMMON_PERSISTER_H_
#define COMMON_PERSISTER_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct persister;

/* Returns owned; free with persister_free(). */
struct persister *persister_new_mem(void);
/* Open (creating if needed) a file-backed persister in dir, recovering
 * what it holds: a torn tail of the newest log segment (a crash during an
 * append) is cut off; any other damage is ERR_CORRUPT, never skipped.
 * Returns owned, or NULL with *err set (ERR_IO, ERR_CORRUPT) and the
 * reason (file name, errno text) printed to stderr. */
struct persister *persister_open_dir(const char *dir, int *err);
/* New in-memory persister holding the same state and snapshot (in the
 * same view). */
struct persister *persister_copy(struct persister *p);
void persister_free(struct persister *p);
/* Where it keeps its data, for error messages: the data directory of a
 * file-backed persister, "memory" otherwise. Borrowed; valid until free. */
const char *persister_where(const struct persister *p);

/* ------------------------------------------------------------------------
 * Whole-blob view (6.5840) */

/* Atomically replace state and snapshot; durable on return. Returns 0 or
 * ERR_IO (file). */
int persister_save(struct persister *p, const void *state, size_t state_len,
                   const void *snap, size_t snap_len);
/* Replace the state and keep the snapshot. Same atomicity and errors as
 * persister_save(). */
int persister_save_state(struct persister *p, const void *state,
                         size_t state_len);
/* Copies into out (cleared first). In the log view the blob is built. */
void persister_read_state(struct persister *p, struct buf *out);
void persister_read_snapshot(struct persister *p, struct buf *out);
/* O(1) in both views. */
size_t persister_state_size(struct persister *p);
size_t persister_snapshot_size(struct persister *p);

/* ------------------------------------------------------------------------
 * Incremental log view */

/* True once the store is in the log view. */
bool persister_log_active(struct persister *p);
/* Install a snapshot through index with the head that goes with it:
 * records at indices <= index are dropped, those after are kept (the
 * caller truncates first if they do not follow the snapshot). Switches a
 * blob-view store to the log view (with no records). Durable on return,
 * together with every earlier write. ERR_INVAL if index is below
 * first - 1 while records remain. */
int persister_log_snapshot(struct persister *p, int64_t index,
                           const void *head, size_t head_len,
                           const void *snap, size_t snap_len);
/* Replace the head. */
int persister_log_head(struct persister *p, const void *head, size_t len);
/* Drop the records at index and after (no-op if there are none). */
int persister_log_truncate(struct persister *p, int64_t index);
/* Store the record for index, which must be last + 1 (first if there
 * are no records): ERR_INVAL otherwise. Truncate first to overwrite.
 * The file store takes records (and heads) up to 512 MiB (ERR_TOOBIG). */
int persister_log_append(struct persister *p, int64_t index, const void *rec,
                         size_t len);
/* Hand the writes so far to the file (one write(2) for a batch of
 * records) and return in *ticket what to pass to persister_sync() to wait
 * for them to be durable. */
int persister_log_flush(struct persister *p, uint64_t *ticket);
/* Return once every write up to ticket is on the disk. The first caller
 * fsyncs for everyone waiting; call it without holding locks that the
 * writers need. 0 or ERR_IO. */
int persister_sync(struct persister *p, uint64_t ticket);
/* True if every write up to ticket is on the disk already (never waits). */
bool persister_synced(struct persister *p, uint64_t ticket);

/* The head and the number of records (for tests and tools). */
int64_t persister_log_first(struct persister *p);
size_t persister_log_count(struct persister *p);

#endif /* COMMON_PERSISTER_H_ */
