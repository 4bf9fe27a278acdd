/* config.h - the Raft tester's cluster helpers (6.5840 raft/config.go in C):
 * n Raft peers over labnet (loopback TCP with labrpc's fault model), crash
 * and restart with persister copies, connect/disconnect, leader and
 * agreement checks, the appliers that check every applied command, and the
 * summary line.
 *
 * Commands are encoded by the tester as msgpack objects (an int, or a str
 * for TestRPCBytes3B) and compared byte for byte; Raft sees opaque bytes.
 * 3D snapshots are msgpack [lastIncludedIndex, [log[0], ..., log[idx]]]
 * (log[0] is nil), the same content the Go tester gob-encodes.
 *
 * Any failed check is fatal (tester_fatalf), with the Go tester's message.
 * Thread-safe: tests call these helpers from several threads (churn
 * clients, concurrent one()s). */
#ifndef LABS_RAFT_CONFIG_H_
#define LABS_RAFT_CONFIG_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "The tester generously allows solutions to complete elections in one
 * second (much more than the paper's range of timeouts)." */
#define RAFT_ELECTION_TIMEOUT_MS 1000
/* 3D: the applier snapshots at every index i with (i+1) % 10 == 0. */
#define SNAPSHOT_INTERVAL 10
/* 3D: persisted Raft state must stay below this many bytes. */
#define MAXLOGSIZE 2000

/* ---- commands ------------------------------------------------------------- */

/* A command as the tester encodes it: msgpack bytes. Small ones live
 * inline; rcmd_str() allocates (free with rcmd_free()). Copyable by value
 * only while it is small. */
#define RCMD_INLINE 16
struct rcmd {
    size_t len;
    uint8_t *heap;                /* NULL: bytes are in small[] */
    uint8_t small[RCMD_INLINE];
};

/* Go's Start(x) with an int x. */
struct rcmd rcmd_int(int64_t v);
/* A string command (s is copied). */
struct rcmd rcmd_str(const char *s, size_t n);
void rcmd_free(struct rcmd *c);
static inline const uint8_t *rcmd_bytes(const struct rcmd *c)
{
    return c->heap ? c->heap : c->small;
}
/* True (and *v set) if the command is a msgpack int. */
bool rcmd_to_int(const struct rcmd *c, int64_t *v);
/* Go's %v of the value: "123", the string (long ones shortened), "<nil>". */
void rcmd_format(const uint8_t *p, size_t len, char *buf, size_t n);

/* ---- the cluster ------------------------------------------------------------ */

struct rcfg;

enum rcfg_applier {
    RCFG_APPLIER,      /* checks commands; ignores snapshots (3A-3C) */
    RCFG_APPLIER_SNAP, /* also ingests snapshots and makes one every 10 (3D) */
};

/* make_config(t, n, unreliable, snapshot): a fresh network (seeded from the
 * test seed) with LongDelays(true), n Rafts started and all connected. The
 * per-test time limit counts from here. */
struct rcfg *rcfg_make(int n, bool unreliable, bool snapshot);
/* Kill every Raft, free everything, then checkTimeout(). */
void rcfg_cleanup(struct rcfg *cfg);

/* Summary: begin prints "<desc> ..."; end runs checkTimeout and prints
 * "  ... Passed --  <secs>  <n> <nrpc> <nbytes> <ncmds>". */
void rcfg_begin(struct rcfg *cfg, const char *desc);
void rcfg_end(struct rcfg *cfg);

/* Start or re-start server i: crash it first, give the new instance fresh
 * random end names (disabled until connect(i)), a copy of the old
 * persister, and, if that holds a snapshot, ingest it as the service
 * would. */
void rcfg_start1(struct rcfg *cfg, int i, enum rcfg_applier applier);
/* Disconnect and kill server i; its persister is replaced by a copy so
 * that whatever the dying instance writes afterwards is lost. */
void rcfg_crash1(struct rcfg *cfg, int i);
/* Attach / detach server i to / from the network (both directions, only
 * towards connected peers). */
void rcfg_connect(struct rcfg *cfg, int i);
void rcfg_disconnect(struct rcfg *cfg, int i);
bool rcfg_is_connected(struct rcfg *cfg, int i);
/* Whether server i has a running instance (Go: cfg.rafts[i] != nil). */
bool rcfg_is_up(struct rcfg *cfg, int i);

void rcfg_set_unreliable(struct rcfg *cfg, bool unreliable);
void rcfg_set_long_reordering(struct rcfg *cfg, bool on);

/* Raft calls on server i's current instance; a crashed server behaves
 * like a non-leader (start returns false, get_state gives term -1). */
bool rcfg_start(struct rcfg *cfg, int i, const struct rcmd *cmd,
                int64_t *index, int64_t *term);
void rcfg_get_state(struct rcfg *cfg, int i, int64_t *term, bool *is_leader);

/* ---- checks --------------------------------------------------------------- */

/* Up to 10 rounds of 450-549 ms: the leader of the highest term among the
 * connected servers; fatal if some term has two leaders or none appears. */
int rcfg_check_one_leader(struct rcfg *cfg);
/* All connected servers agree on the term; returns it. */
int64_t rcfg_check_terms(struct rcfg *cfg);
/* No connected server thinks it is the leader. */
void rcfg_check_no_leader(struct rcfg *cfg);
/* How many servers applied index, and (if cmd) the command (owned copy:
 * rcmd_free it; len 0 if none). Fatal if they differ. */
int rcfg_n_committed(struct rcfg *cfg, int64_t index, struct rcmd *cmd);
/* Wait (up to ~30 polls with backoff) for n servers to apply index; fatal
 * if they don't. Returns false if start_term > -1 and some Raft moved past
 * it (Go returns -1); otherwise true with the command in *cmd (if given). */
bool rcfg_wait(struct rcfg *cfg, int64_t index, int n, int64_t start_term,
               struct rcmd *cmd);
/* Submit cmd until expected servers apply it (10 s overall, 2 s per
 * attempt; a failed attempt is fatal unless retry). Returns its index. */
int64_t rcfg_one(struct rcfg *cfg, const struct rcmd *cmd, int expected,
                 bool retry);
static inline int64_t rcfg_one_int(struct rcfg *cfg, int64_t v, int expected,
                                   bool retry)
{
    struct rcmd c = rcmd_int(v);
    return rcfg_one(cfg, &c, expected, retry);
}

/* Largest persisted Raft state over the servers (Go's LogSize). */
size_t rcfg_log_size(struct rcfg *cfg);
/* Requests dispatched to server i (labrpc GetCount). */
uint64_t rcfg_rpc_count(struct rcfg *cfg, int i);
/* Calls sent by anyone / request + delivered reply bytes. */
uint64_t rcfg_rpc_total(struct rcfg *cfg);
uint64_t rcfg_bytes_total(struct rcfg *cfg);
/* checkTimeout(): fatal once the test has run longer than 120 s. */
void rcfg_check_timeout(struct rcfg *cfg);

int rcfg_n(const struct rcfg *cfg);

#endif /* LABS_RAFT_CONFIG_H_ */
