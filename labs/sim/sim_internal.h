/* sim_internal.h - what the simulator's files share: the world (profile,
 * peers, network, service models, checker state, trace) and each file's
 * entry points.
 *
 *   world.c    schedule life cycle and the event loop
 *   peer.c     boot, crash, restart; the core's updates after events
 *   disk.c     the slow disk: writes durable later, messages held till then
 *   net.c      messages in flight: a heap of timed events
 *   fault.c    the fault profile and the fault injector (nemesis)
 *   service.c  the per-peer state machine and the clients
 *   check.c    the invariants
 *   trace.c    the ring of recent events, the failure report */
#ifndef LABS_SIM_SIM_INTERNAL_H_
#define LABS_SIM_SIM_INTERNAL_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/rand.h"
#include "labs/sim/sim.h"
#include "raft/raft_core.h"

#define SIM_MAX_PEERS RAFT_MAX_PEERS
#define SIM_TRACE_LEN 64
#define SIM_NONE UINT64_MAX /* "no such time" */

/* Commands of the liveness phase carry this bit in their id. */
#define SIM_CMD_FINAL (UINT64_C(1) << 63)
/* Every command starts with its 8-byte id (little-endian). */
#define SIM_CMD_HDR 8

/* Probabilities are in parts per million. */
#define SIM_PPM 1000000u

/* ------------------------------------------------------------------------
 * The fault profile: drawn from the seed at the start of a schedule. */
struct sim_profile {
    int n;
    /* network */
    uint32_t drop_req, drop_rep; /* ppm lost */
    uint32_t dup_req, dup_rep;   /* ppm delivered twice */
    uint32_t spurious_fail;      /* ppm: send_failed for a delivered RPC */
    uint32_t delay_min, delay_max;      /* ms */
    uint32_t long_delay, long_delay_max; /* ppm, ms: stragglers */
    uint32_t fail_after_max; /* ms until a lost RPC reports failure */
    /* faults */
    uint32_t fault_mean_ms; /* 0: no faults at all */
    uint32_t w_partition, w_oneway, w_heal, w_crash; /* action weights */
    uint32_t nemesis;   /* ppm: a fault aims at the current leader */
    uint32_t mid_crash; /* ppm: a crash strikes during the next event */
    uint32_t down_max_ms;
    /* service and clients */
    int snap_every;        /* compact every K applied entries (0: never) */
    uint32_t snap_pad_max; /* extra snapshot bytes */
    uint32_t client_mean_ms;
    uint32_t burst;   /* ppm: propose several commands at once */
    int64_t window;   /* clients wait while a leader has this many
                         uncommitted entries (closed loop, as real clients
                         wait for replies) */
    uint32_t pad_max; /* extra command bytes */
    /* the cores' configuration */
    uint32_t heartbeat_ms, election_min_ms, election_max_ms;
    size_t max_batch_bytes;
    uint32_t batch_ms;    /* the batch window (0: proposals sent at once) */
    uint32_t tick_jitter; /* a driver ticks up to this late */
    uint32_t disk_delay_max; /* ms until a write is durable (0: at once) */
};

/* ------------------------------------------------------------------------
 * Network: requests popped from cores, and timed events that refer to
 * them. Both live in pools indexed by uint32_t (free lists), so steady
 * state allocates nothing but what the core allocates for messages. */
enum sim_ev_kind {
    SIM_EV_REQUEST = 1, /* a copy of a request reaches its destination */
    SIM_EV_REPLY = 2,   /* a reply reaches the requester */
    SIM_EV_FAILED = 3,  /* the requester learns the RPC failed */
};

struct sim_wire {
    struct raft_msg *msg; /* owned: as popped from the sender */
    uint32_t refs;        /* events still pointing here */
    uint32_t src_inc;     /* sender's incarnation when it sent */
    uint32_t next_free;
};

struct sim_event {
    uint32_t wire;
    uint8_t kind;
    bool primary; /* the original copy: it decides reply vs failure */
    struct raft_msg reply; /* SIM_EV_REPLY; owns nothing */
    uint32_t next_free;
};

struct sim_heap_item {
    uint64_t at;
    uint64_t seq; /* ties break in send order */
    uint32_t ev;
};

struct sim_net {
    struct sim_wire *wires;
    uint32_t wire_cap, wire_free;
    struct sim_event *evs;
    uint32_t ev_cap, ev_free;
    struct sim_heap_item *heap;
    size_t heap_len, heap_cap;
    uint64_t seq;
};

/* ------------------------------------------------------------------------
 * Peers. */

/* The service: a state machine whose state is a hash chain over the
 * applied commands, so equal hashes at an index mean equal histories. */
struct sim_service {
    int64_t applied; /* last index applied (command or snapshot) */
    int64_t term;    /* term of that index */
    uint64_t hash;   /* state after applying through `applied` */
    int64_t snap_at; /* index of the last snapshot taken or installed */
};

/* The checker's view of one log slot. */
struct sim_slot {
    int64_t term;
    uint64_t cmd;
};

/* What the checker remembers about a peer. */
struct sim_shadow {
    /* What the last persist step saved (survives crashes, like the disk). */
    int64_t p_term, p_snap_index, p_snap_term, p_last, p_last_term;
    int p_vote;
    /* Volatile, per incarnation. */
    int64_t term;        /* for "terms never go backwards" */
    int64_t commit_seen; /* commits up to here were recorded */
    /* Leader Append-Only baseline while leader of lao_term. */
    int64_t lao_term, lao_last, lao_last_term;
    uint64_t lao_cmd;
    /* Incremental Log Matching: the slots last checked, indexed by
     * absolute index (valid for log_snap < index <= log_last). */
    struct sim_slot *log;
    size_t log_cap;
    int64_t log_last;
    uint32_t log_changes;
};

/* What a peer's disk holds (the persistent state's summary). */
struct sim_disk_view {
    int64_t term, snap_index, snap_term, last, last_term;
    int vote;
};

struct sim_write; /* disk.c */

struct sim_peer {
    struct raft_core *core; /* NULL while down */
    uint32_t inc;           /* incarnation: bumped by each crash */
    uint64_t deadline;      /* core's next deadline when last asked */
    uint64_t tick_at;       /* when the driver ticks it (SIM_NONE: down) */
    uint64_t restart_at;    /* SIM_NONE unless down with a restart due */
    bool crash_pending;     /* crash during the next event, unpersisted */
    struct buf disk_state;  /* the persister: raft_core_encode_state() */
    struct buf disk_snap;   /*                and raft_core_snapshot() */
    struct sim_write **writes; /* not yet durable, oldest first */
    size_t nwrites, cap_writes;
    struct sim_service svc;
    struct sim_shadow sh;
};

/* ------------------------------------------------------------------------
 * Checker state. */

#define SIM_T_COMMITTED 1u /* term (and bound) known */
#define SIM_T_CMD 2u       /* cmd known */
#define SIM_T_HASH 4u      /* hash known */

/* Ground truth about one index, learned from every peer's commits and
 * applies; any disagreement is a State Machine Safety violation. */
struct sim_truth {
    int64_t term;
    uint64_t cmd;
    uint64_t hash;  /* service state after applying through this index */
    int64_t bound;  /* the entry was committed in a term <= bound */
    int8_t who;     /* peer that first reported it */
    uint8_t flags;
};

/* Log Matching: the first (cmd, previous term) seen at (index, term). */
struct sim_lm_slot {
    int64_t index, term;
    uint64_t cmd;
    int64_t prev_term;
    uint32_t gen; /* schedule generation; stale slots are empty */
    int8_t who;
};

/* ------------------------------------------------------------------------
 * Trace. */
enum sim_tr_kind {
    SIM_TR_TICK = 1,
    SIM_TR_REQ,      /* request handled: reply outcome in flag/d */
    SIM_TR_REPLY,    /* reply handled by the requester */
    SIM_TR_FAILED,   /* send_failed */
    SIM_TR_LOST,     /* a request or reply found its path cut or peer down */
    SIM_TR_PROPOSE,
    SIM_TR_REJECTED, /* propose to a non-leader */
    SIM_TR_CRASH,
    SIM_TR_RESTART,
    SIM_TR_PARTITION,
    SIM_TR_CUT,
    SIM_TR_HEAL,
    SIM_TR_LEADER,
    SIM_TR_INSTALL, /* service installed a snapshot */
    SIM_TR_COMPACT,
    SIM_TR_LIVENESS,
    SIM_TR_DURABLE, /* a slow write reached the disk */
};

struct sim_trace_rec {
    uint64_t at, step;
    uint8_t kind, mtype;
    int8_t peer, other;
    bool flag;
    int64_t term, rterm, a, b, c, d, e;
};

struct sim_trace {
    struct sim_trace_rec r[SIM_TRACE_LEN];
    uint64_t count;
    uint64_t digest;
};

/* ------------------------------------------------------------------------
 * The world. */
struct sim_stats {
    uint64_t messages, elections, crashes, partitions, installs;
};

struct sim_world {
    struct sim_options opt;
    uint64_t seed;
    struct rng rng;
    struct sim_profile prof;
    int n;
    uint64_t now;
    uint64_t steps;
    bool live;  /* liveness phase: healed, no loss */
    struct sim_peer peer[SIM_MAX_PEERS];
    bool link[SIM_MAX_PEERS][SIM_MAX_PEERS]; /* [from][to] delivers */
    struct sim_net net;
    uint64_t client_at, fault_at;
    uint64_t next_cmd;
    struct buf scratch;
    /* liveness */
    uint64_t live_deadline;
    int64_t final_index; /* first index where a final command applied */
    int final_leader;
    int64_t final_term;
    uint64_t final_at;
    /* checker */
    struct sim_truth *truth;
    size_t truth_cap;
    int64_t truth_max;
    int *leader_of; /* by term; -1: none yet */
    size_t leader_cap;
    int64_t max_term;
    struct sim_lm_slot *lm;
    size_t lm_cap, lm_len;
    uint32_t lm_gen;
    /* the first violation */
    bool failed;
    const char *invariant;
    char why[512];
    struct sim_stats stats;
    struct sim_trace trace;
    bool running; /* a schedule is in progress (for sim_report_abort) */
};

/* world.c */
/* True with probability ppm / SIM_PPM (draws nothing when ppm is 0). */
bool sim_chance(struct sim_world *w, uint32_t ppm);
/* A 64-bit mixing function (splitmix64's finaliser). */
uint64_t sim_mix(uint64_t x);

/* peer.c */
void sim_peer_boot(struct sim_world *w, int i);
void sim_peer_crash(struct sim_world *w, int i);
void sim_peer_restart(struct sim_world *w, int i);
/* After an event at peer i: PERSIST, then SEND (reply_to's reply first,
 * if given), then APPLY, as raft_core.h prescribes; a pending crash
 * strikes before the persist instead. */
void sim_peer_settle(struct sim_world *w, int i, uint32_t wire, bool primary,
                     const struct raft_msg *reply);
void sim_peer_tick(struct sim_world *w, int i);
/* The up leader with the highest term, or -1. */
int sim_peer_leader(const struct sim_world *w);

/* disk.c */
/* When peer p's oldest pending write is durable (SIM_NONE: none). */
uint64_t sim_disk_next(const struct sim_peer *p);
/* Peer i wrote update u (durable later, after every earlier write). */
void sim_disk_write(struct sim_world *w, int i, const struct raft_core *c,
                    const struct raft_update *u);
/* A request, or the reply to `wire`, waits for the newest write. */
void sim_disk_hold_msg(struct sim_world *w, int i, struct raft_msg *m);
void sim_disk_hold_reply(struct sim_world *w, int i, uint32_t wire,
                         bool primary, const struct raft_msg *reply);
/* The oldest write of peer i is durable: store it, release what it held,
 * acknowledge it to the core and carry out what follows. */
void sim_disk_step(struct sim_world *w, int i);
/* Forget peer i's pending writes (a crash: notify the requesters of held
 * replies; or the end of a schedule). */
void sim_disk_drop(struct sim_world *w, int i, bool notify);

/* net.c */
void sim_net_free(struct sim_net *n);
/* Drop everything in flight (end of a schedule). */
void sim_net_clear(struct sim_net *n);
/* Time of the next network event, or SIM_NONE. */
uint64_t sim_net_next(const struct sim_net *n);
/* Hand a popped request to the network (takes m). */
void sim_net_send_request(struct sim_world *w, int src, struct raft_msg *m);
/* The reply to the request in `wire` (NULL: the responder crashed before
 * answering; the requester will see a failure). */
void sim_net_send_reply(struct sim_world *w, uint32_t wire, bool primary,
                        const struct raft_msg *reply);
/* Keep the request in `wire` (for a reply sent later) / let it go. */
void sim_net_hold(struct sim_world *w, uint32_t wire);
void sim_net_release(struct sim_world *w, uint32_t wire);
/* Deliver the next network event (now == its time). Events meant for a
 * crashed incarnation find it gone (its `inc` changed) and vanish. */
void sim_net_deliver(struct sim_world *w);

/* fault.c */
void sim_profile_draw(struct sim_world *w);
void sim_fault_step(struct sim_world *w);
/* End of the fault phase: restart every peer, reconnect, stop losses. */
void sim_fault_heal(struct sim_world *w);
/* Delivery delay for a message sent now. */
uint64_t sim_fault_delay(struct sim_world *w);

/* service.c */
void sim_service_reset(struct sim_service *s);
/* The service of peer i takes the next raft_core_next_apply() item. */
void sim_service_apply(struct sim_world *w, int i, const struct raft_apply *a);
/* Restore peer i's service from its persisted snapshot after a restart. */
void sim_service_restore(struct sim_world *w, int i);
void sim_client_step(struct sim_world *w);
/* The id of a command (its first 8 bytes); false if too short. */
bool sim_cmd_id(const uint8_t *data, size_t len, uint64_t *id);
/* Same, and the pad bytes are what the client wrote. */
bool sim_cmd_valid(const uint8_t *data, size_t len, uint64_t *id);

/* check.c */
void sim_fail(struct sim_world *w, const char *invariant, const char *fmt,
              ...) __attribute__((format(printf, 3, 4)));
void sim_check_reset(struct sim_world *w);
void sim_check_free(struct sim_world *w);
/* After every step. */
void sim_check_step(struct sim_world *w);
/* The summary of c's persistent state. */
void sim_disk_view_of(const struct raft_core *c, struct sim_disk_view *v);
/* Peer i's disk now holds v (durable): remember it. */
void sim_check_durable(struct sim_world *w, int i,
                       const struct sim_disk_view *v);
/* Peer i persisted its current state, durable at once. */
void sim_check_persisted(struct sim_world *w, int i);
/* Peer i booted or restarted from its disk: compare, reset its shadow. */
void sim_check_booted(struct sim_world *w, int i);
/* The service of peer i applied command `cmd` at index (term) and is now
 * in state `hash`; or installed a snapshot (cmd unknown, have_cmd false). */
void sim_check_applied(struct sim_world *w, int i, int64_t index,
                       int64_t term, uint64_t cmd, bool have_cmd,
                       uint64_t hash);
/* Persist-before-send: peer i is about to send request m (reply NULL) or
 * the reply to m; what the message claims must already be on its disk. */
void sim_check_outgoing(struct sim_world *w, int i, const struct raft_msg *m,
                        const struct raft_msg *reply);
/* Peer i crashes midway through an event, after its early messages
 * left: note what they may have told the others (a won election). */
void sim_check_crashing(struct sim_world *w, int i);
/* End of schedule: whole-log checks on every peer. */
void sim_check_final(struct sim_world *w);

/* trace.c */
void sim_trace_reset(struct sim_trace *t);
void sim_trace_add(struct sim_world *w, const struct sim_trace_rec *r);
/* Shorthand for records without message fields. */
void sim_trace_note(struct sim_world *w, enum sim_tr_kind kind, int peer,
                    int other, int64_t term, int64_t a, int64_t b);
/* A request handled (SIM_TR_REQ at peer, from other) or a reply handled
 * (SIM_TR_REPLY at peer, from other). */
void sim_trace_msg(struct sim_world *w, enum sim_tr_kind kind, int peer,
                   int other, const struct raft_msg *req,
                   const struct raft_msg *reply);
/* --verbose: the seed and its profile, before the first event. */
void sim_trace_start(struct sim_world *w);
void sim_report(struct sim_world *w);

#endif /* LABS_SIM_SIM_INTERNAL_H_ */
