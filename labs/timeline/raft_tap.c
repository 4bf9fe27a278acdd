/* raft_tap.c - the apply messages of labs 4 and 5, observed through a
 * link-time wrapper of raft_make (see raft_tap.h). */
#include "labs/timeline/raft_tap.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/queue.h"
#include "labs/timeline/timeline.h"
#include "raft/raft.h"

/* Persister -> lane. A lab 5 run starts tens of servers; an entry whose
 * persister was freed is only ever overwritten (addresses are reused, and
 * the config names each persister again right before it is used). */
#define TAP_SLOTS 128
static struct {
    pthread_mutex_t mu;
    const void *pers[TAP_SLOTS];
    int lane[TAP_SLOTS];
    int next; /* round-robin victim when full */
} TAP = {.mu = PTHREAD_MUTEX_INITIALIZER};

void timeline_tap_persister(const void *persister, const char *lane)
{
    int id = timeline_lane(lane);
    if (id < 0)
        return;
    pthread_mutex_lock(&TAP.mu);
    int slot = -1;
    for (int i = 0; i < TAP_SLOTS && slot < 0; i++)
        if (TAP.pers[i] == persister)
            slot = i;
    for (int i = 0; i < TAP_SLOTS && slot < 0; i++)
        if (!TAP.pers[i])
            slot = i;
    if (slot < 0)
        slot = TAP.next++ % TAP_SLOTS;
    TAP.pers[slot] = persister;
    TAP.lane[slot] = id;
    pthread_mutex_unlock(&TAP.mu);
}

static int lane_of(const void *persister, int me)
{
    int id = -1;
    pthread_mutex_lock(&TAP.mu);
    for (int i = 0; i < TAP_SLOTS && id < 0; i++)
        if (TAP.pers[i] == persister)
            id = TAP.lane[i];
    pthread_mutex_unlock(&TAP.mu);
    if (id < 0) {
        char name[24];
        snprintf(name, sizeof name, "peer%d", me);
        id = timeline_lane(name);
    }
    return id;
}

/* Commands are the service's bytes (an encoding of its own): keep the
 * printable ones, a run of others shown as one '.', so that keys and
 * values fit in the event's text. */
static void printable(const uint8_t *p, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < cap; i++) {
        bool text = p[i] >= 0x20 && p[i] < 0x7f;
        if (text)
            out[n++] = (char)p[i];
        else if (n == 0 || out[n - 1] != '.')
            out[n++] = '.';
    }
    out[n] = '\0';
}

static void on_apply(void *ctx, void *item)
{
    const struct raft_apply_msg *m = item;
    if (!m)
        return;
    char text[TIMELINE_TEXT];
    if (m->command_valid)
        printable(m->command, m->command_len, text, sizeof text);
    else
        snprintf(text, sizeof text, "snapshot %zu B", m->snapshot_len);
    timeline_event(TIMELINE_APPLY, (int)(intptr_t)ctx,
                   m->command_valid ? m->command_index : m->snapshot_index,
                   m->command_valid ? m->command_term : m->snapshot_term, 0,
                   text);
}

struct raft *__real_raft_make(struct rpc_end **peers, int npeers, int me,
                              struct persister *persister, struct queue *apply);
struct raft *__wrap_raft_make(struct rpc_end **peers, int npeers, int me,
                              struct persister *persister, struct queue *apply);

struct raft *__wrap_raft_make(struct rpc_end **peers, int npeers, int me,
                              struct persister *persister, struct queue *apply)
{
    if (apply && timeline_enabled()) {
        int lane = lane_of(persister, me);
        if (lane >= 0)
            queue_set_pop_observer(apply, on_apply, (void *)(intptr_t)lane);
    }
    return __real_raft_make(peers, npeers, me, persister, apply);
}
