/* persister.h - where Raft (and the service's snapshot) survive a crash.
 *
 * Two implementations behind one interface:
 *   - in memory, with 6.5840 copy semantics (the tester gives a restarted
 *     peer a copy, so a zombie instance writing to the old one does no
 *     harm);
 *   - file-backed for daemons: state and snapshot are written together to a
 *     temporary file, fsync'd, renamed over the old one, and the directory
 *     fsync'd, so a SIGKILL at any moment leaves the old or the new pair.
 *
 * save() stores copies of both blobs atomically; passing NULL/0 for the
 * snapshot erases it. save_state() replaces the state and keeps the
 * snapshot. Thread-safe (one mutex per persister). */
#ifndef COMMON_PERSISTER_H_
#define COMMON_PERSISTER_H_

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct persister;

/* Returns owned; free with persister_free(). */
struct persister *persister_new_mem(void);
/* Open (creating if needed) a file-backed persister in dir. Returns owned,
 * or NULL with *err set (ERR_IO, ERR_CORRUPT). */
struct persister *persister_open_dir(const char *dir, int *err);
/* New in-memory persister holding the same state and snapshot. */
struct persister *persister_copy(struct persister *p);
void persister_free(struct persister *p);

/* Atomically replace state and snapshot. Returns 0 or ERR_IO (file). */
int persister_save(struct persister *p, const void *state, size_t state_len,
                   const void *snap, size_t snap_len);
/* Replace the state and keep the snapshot: what Raft calls for a new term,
 * vote or log entry, so a large snapshot is not copied on every entry.
 * Same atomicity and errors as persister_save(). */
int persister_save_state(struct persister *p, const void *state,
                         size_t state_len);
/* Copies into out (cleared first). */
void persister_read_state(struct persister *p, struct buf *out);
void persister_read_snapshot(struct persister *p, struct buf *out);
size_t persister_state_size(struct persister *p);
size_t persister_snapshot_size(struct persister *p);

#endif /* COMMON_PERSISTER_H_ */
