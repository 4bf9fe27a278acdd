/* timeline.h - the event recorder behind the HTML timeline of a failing
 * graded test: the tester, the test network and the lab configs record
 * what happened (RPCs and their fates, crashes, partitions, terms and
 * roles, start calls, applies, client operations, the failed check); on a
 * failure the tester writes the record to $LAB_TIMELINE, and
 * test-scripts/timeline.py turns it into one self-contained HTML page.
 *
 * Recording is always on (no student cooperation) unless LAB_TIMELINE=off.
 * Events are fixed-size records in two in-memory rings: a bulk ring for
 * the high-rate kinds (RPCs, applies, client operations) and a control
 * ring for the rare ones (crashes, connectivity, roles, starts, the
 * failure), so a flood of RPCs never evicts who was leader. A ring that
 * wrapped keeps its newest events and the file says how many were lost
 * ("truncated"). Nothing is formatted until the failure.
 *
 * Thread-safe and lock-free on the recording path: a slot is claimed
 * with one atomic add and published with a release store of its sequence
 * number. Lane names are interned under a mutex (rare: once per server
 * name). Strings passed in are borrowed and copied (truncated to
 * TIMELINE_TEXT bytes). All functions are cheap no-ops when disabled. */
#ifndef LABS_TIMELINE_TIMELINE_H_
#define LABS_TIMELINE_TIMELINE_H_

#include <stdbool.h>
#include <stdint.h>

#define TIMELINE_TEXT 40 /* bytes of text kept per event, NUL included */
/* Ring sizes (events). A 120 s lab-4 test records ~150k bulk events; the
 * newest 2^17 (the seconds before a failure, which is what a reader needs)
 * bound the file to ~6 MB and keep the page quick to open. */
#define TIMELINE_BULK_LEN (1u << 17)
#define TIMELINE_CTRL_LEN (1u << 15)
#define TIMELINE_MAX_LANES 256

/* Event kinds; the numbers are part of the file format (timeline.py). */
enum timeline_kind {
    /* bulk ring */
    TIMELINE_RPC_SEND = 1,    /* a=end b=call; text=method */
    TIMELINE_RPC_NOSERVER,    /* a=end b=call c=delay ms; failed, not sent */
    TIMELINE_RPC_DROP_REQ,    /* a=end b=call; request lost */
    TIMELINE_RPC_REPLY,       /* a=end b=call c=extra delay ms; delivered */
    TIMELINE_RPC_DROP_REPLY,  /* a=end b=call; reply lost (handler ran) */
    TIMELINE_RPC_DEAD,        /* a=end b=call; server killed/cut: no reply */
    TIMELINE_APPLY,           /* lane a=index b=term; text=command */
    TIMELINE_OP,              /* lane a=start us b=1 ok/0 failed; text */
    /* control ring */
    TIMELINE_END_NEW = 32,    /* a=end; text=end name */
    TIMELINE_END_OWNER,       /* lane=owner; text=end name */
    TIMELINE_END_CONNECT,     /* lane=server a=end */
    TIMELINE_END_ENABLE,      /* a=end b=on */
    TIMELINE_SERVER_UP,       /* lane */
    TIMELINE_SERVER_DOWN,     /* lane */
    TIMELINE_STATE,           /* lane a=term b=1 leader/0 not */
    TIMELINE_START,           /* lane a=index b=term c=1 ok/0; text=command */
    TIMELINE_NET,             /* a=reliable b=long reordering c=long delays */
    TIMELINE_NOTE,            /* lane (or -1); text */
    TIMELINE_FAIL,            /* text=file:line: message */
};

/* Read LAB_TIMELINE once (path of the record written on failure; "off"
 * disables recording). Called by tester_main; idempotent. */
void timeline_init(void);
bool timeline_enabled(void);
/* Forget everything recorded and start a test's record. name borrowed. */
void timeline_test_begin(const char *name, uint64_t seed);

/* The id of a lane (a server name as labnet knows it, "clients"...),
 * made on first use; -1 when disabled. */
int timeline_lane(const char *name);

/* Record one event. lane may be -1; text may be NULL. */
void timeline_event(enum timeline_kind kind, int lane, int64_t a, int64_t b,
                    int64_t c, const char *text);
/* Record a server's term and role, only when it changed since the last
 * report for that lane (callers poll raft_get_state often). */
void timeline_state(const char *lane, int64_t term, bool leader);
/* The end named endname sends on behalf of the server lane (peer ends);
 * ends without an owner belong to the "clients" lane. */
void timeline_end_owner(const char *endname, const char *lane);

/* A client operation of a KV lab, in the "clients" lane: client cli's op
 * (Get/Put/Append) on key with value (the value put, or the one a Get
 * returned; may be NULL), started and ended at start_ns/end_ns
 * (porcupine_now_ns() readings: only their difference is used). */
void timeline_op(int cli, const char *op, const char *key, const char *val,
                 int64_t start_ns, int64_t end_ns);

/* The failed check (text may be long; it is kept whole) and write the
 * record to $LAB_TIMELINE. Called once, from the tester's failure path;
 * other threads may still be recording. Returns the path written or NULL. */
const char *timeline_fail(const char *file, int line, const char *msg);

#endif /* LABS_TIMELINE_TIMELINE_H_ */
