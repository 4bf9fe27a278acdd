/* wire.h - Raft messages on the wire: msgpack maps with short keys.
 *
 * Each request is the single argument of a msgpack-rpc call
 * ("Raft.RequestVote", "Raft.AppendEntries", "Raft.InstallSnapshot") and
 * its reply is the call's result. Keys (every integer packed in its
 * shortest msgpack form; commands and snapshots as msgpack bin):
 *
 *   RequestVote          {t: term, f: candidate, li: lastLogIndex,
 *                         lt: lastLogTerm}
 *     reply              {t: term, g: voteGranted}
 *   AppendEntries        {t: term, f: leader, pi: prevLogIndex,
 *                         pt: prevLogTerm, c: leaderCommit,
 *                         e: [[term, command], ...]}   (e omitted if empty)
 *     reply              {t: term, s: success}  and on failure also
 *                        {xt: conflictTerm, xi: conflictIndex, xl: logLen}
 *   InstallSnapshot      {t: term, f: leader, li: lastIncludedIndex,
 *                         lt: lastIncludedTerm, d: snapshot}
 *     reply              {t: term}
 *
 * An AppendEntries with one 5000-byte command is about 5025 bytes
 * (5030 with the msgpack-rpc envelope); a heartbeat about 20.
 * Unknown keys are ignored and missing ones read as 0/false, so the
 * format can grow. Decoding validates every type and bounds the entry
 * count; a malformed message yields ERR_BADARGS, never a crash. */
/* SOLUTION FILE */
#ifndef RAFT_WIRE_H_
#define RAFT_WIRE_H_

#include <msgpack.h>

#include "raft/raft_core.h"

/* Most entries one decoded AppendEntries may carry. */
#define RAFT_WIRE_MAX_ENTRIES 65536

/* "Raft.RequestVote", ... for a request type; NULL for a reply type. */
const char *raft_wire_method(enum raft_msg_type type);
/* Method name without the service ("RequestVote"). */
const char *raft_wire_method_short(enum raft_msg_type type);

/* Pack m as one msgpack map (any of the six types). Returns 0. */
int raft_wire_encode(msgpack_packer *pk, const struct raft_msg *m);

/* Decode a map of the given type into *out (zeroed first). Commands and
 * snapshot bytes point into obj (borrowed: valid while obj is); an entry
 * array is allocated into out->owned: release with raft_wire_clear().
 * Replies carry no from/to on the wire: set them from the call.
 * Returns 0 or ERR_BADARGS (out then owns nothing). */
int raft_wire_decode(const msgpack_object *obj, enum raft_msg_type type,
                     struct raft_msg *out);
/* Free what raft_wire_decode() allocated (not the struct itself). */
void raft_wire_clear(struct raft_msg *m);

#endif /* RAFT_WIRE_H_ */
