/* raft.h - Raft with the 6.5840 API, speaking msgpack-rpc to its peers.
 * (The reference solution is a threaded driver, raft/driver.c, around a
 * deterministic core, raft/raft_core.h; a handout's raft.c may be built
 * any way that keeps this interface.)
 *
 * Usage (as the tester and the KV services do):
 *   struct raft *rf = raft_make(peers, n, me, persister, apply_q);
 *   raft_register(rf, server);          // host the "Raft" service
 *   raft_start(rf, cmd, len, &idx, &term) on the leader ...
 *   ... the service pops struct raft_apply_msg * from apply_q ...
 *   raft_kill(rf); raft_free(rf);
 *
 * Commands are opaque byte strings (the service encodes them). Log indices
 * are 1-based. Thread-safe; the driver never holds its lock while pushing
 * to the apply queue, so the service may call raft_snapshot()/raft_start()
 * from the thread that consumes apply messages. */
#ifndef RAFT_RAFT_H_
#define RAFT_RAFT_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/persister.h"
#include "common/queue.h"
#include "rpc/rpc.h"

struct raft;

/* One message on the apply queue. Exactly one of command_valid and
 * snapshot_valid is set. The consumer owns the message: free it with
 * raft_apply_msg_free(). */
struct raft_apply_msg {
    bool command_valid;
    uint8_t *command; /* owned by the message */
    size_t command_len;
    int64_t command_index;
    int64_t command_term;

    bool snapshot_valid;
    uint8_t *snapshot; /* owned by the message */
    size_t snapshot_len;
    int64_t snapshot_term;
    int64_t snapshot_index;
};
void raft_apply_msg_free(struct raft_apply_msg *m);

/* Create peer `me` of npeers. peers[i] is the end to peer i (peers[me] is
 * unused and may be NULL); the array is copied, the ends are borrowed and
 * must outlive raft_free(). The persister is borrowed (state is restored
 * from it). Apply messages are pushed to apply (borrowed). Returns
 * quickly; background threads start at once. */
struct raft *raft_make(struct rpc_end **peers, int npeers, int me,
                       struct persister *persister, struct queue *apply);
/* Host the "Raft" service (RequestVote, AppendEntries, InstallSnapshot) on
 * a server; call before peers can reach it. */
int raft_register(struct raft *rf, struct rpc_server *srv);

/* Propose a command. Returns true if this peer believes it is the leader,
 * with the index the command will have if committed and the current term.
 * Returns false at once otherwise (also after raft_kill). */
bool raft_start(struct raft *rf, const void *cmd, size_t len, int64_t *index,
                int64_t *term);
/* Current term and whether this peer believes it is the leader. */
void raft_get_state(struct raft *rf, int64_t *term, bool *is_leader);
/* The service has a snapshot of everything through index (bytes copied);
 * Raft trims its log. Called on every peer. */
void raft_snapshot(struct raft *rf, int64_t index, const void *snap,
                   size_t len);
/* Size of the persisted Raft state (for maxraftstate decisions). */
size_t raft_state_size(struct raft *rf);

/* Stop: joins every thread, shuts down its peer ends so no call stays
 * blocked; after it returns no message or apply leaves the instance.
 * Safe to call twice. */
void raft_kill(struct raft *rf);
/* Free a killed instance. */
void raft_free(struct raft *rf);

#endif /* RAFT_RAFT_H_ */
