/* store.h - the driver's incremental storage: what changed in the core
 * since the last save, written to a persister's log view
 * (persister_log_*) instead of re-encoding the whole state.
 *
 * Cost per save is that of the change (new entries, a head of a few bytes)
 * whatever the size of the log or the snapshot. The whole-blob view stays
 * byte-identical to raft_core_encode_state() with the snapshot, so
 * raft_state_size() and a restart read the same as before.
 *
 * Not thread-safe: the driver calls it under its mutex. persister_sync()
 * of the returned ticket (without the mutex) makes the save durable. */
/* SOLUTION FILE */
#ifndef RAFT_STORE_H_
#define RAFT_STORE_H_

#include <stdint.h>

#include "common/buf.h"
#include "common/persister.h"
#include "raft/raft_core.h"

struct raft_store {
    struct persister *ps; /* borrowed */
    /* The head as last stored: a save writes it only when it changed. */
    int64_t term;
    int vote;
    int64_t snap_index;
    int64_t snap_term;
    struct buf scratch;
};

/* Right after raft_core_restore() from ps: switch ps to the log view if
 * it is not in it (writing the core's whole state once) and note what is
 * stored. 0 or the persister's error. */
int raft_store_open(struct raft_store *s, struct persister *ps,
                    const struct raft_core *c);
void raft_store_close(struct raft_store *s);
/* Write update u, just taken from c, and hand it to the file. *ticket:
 * what persister_sync() must cover before anything that depends on this
 * state leaves the process (then raft_core_persisted_upto(&u->mark)). */
int raft_store_save(struct raft_store *s, const struct raft_core *c,
                    const struct raft_update *u, uint64_t *ticket);

#endif /* RAFT_STORE_H_ */
