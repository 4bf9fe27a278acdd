/* raft_tap.h - records the apply messages the services of labs 4 and 5
 * consume, without their cooperation (students write raft/rsm.c too).
 *
 * The lab 4 and 5 test binaries are linked with TIMELINE_TAP_LDFLAGS
 * (-Wl,--wrap=raft_make; labs/timeline/module.mk) and raft_tap.c: every
 * raft_make() call of the code under test goes through the tap, which puts
 * a pop observer (common/queue.h) on the apply queue it is given and then
 * calls the real raft_make. Each message the service pops is recorded as a
 * TIMELINE_APPLY event (index, term, the command's printable bytes or
 * "snapshot N B") in the lane of the server whose persister Raft got: the
 * configs name that persister with timeline_tap_persister() before they
 * start the server. A Raft made with an unnamed persister records in lane
 * "peer<me>".
 *
 * Assumes, as raft.h says, that only struct raft_apply_msg pointers travel
 * on the apply queue (a NULL item, e.g. a wake-up sentinel, is skipped).
 * Thread-safe: the name table is guarded by a mutex; observers run on the
 * service's applier thread. */
#ifndef LABS_TIMELINE_RAFT_TAP_H_
#define LABS_TIMELINE_RAFT_TAP_H_

/* The next Raft made with persister (borrowed, compared by address only)
 * records its applies in the lane of server `lane` (copied). */
void timeline_tap_persister(const void *persister, const char *lane);

#endif /* LABS_TIMELINE_RAFT_TAP_H_ */
