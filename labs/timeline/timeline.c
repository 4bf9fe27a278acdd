/* timeline.c - the event recorder (see timeline.h): two lock-free rings of
 * fixed-size records, formatted into a text file only on failure. */
#include "labs/timeline/timeline.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/clock.h"
#include "common/log.h"


/* Every field is a relaxed atomic: a slot is rewritten each time the ring
 * wraps, possibly by another thread, and the failure's writer reads slots
 * while tests still record; plain stores would be data races (and would
 * fail the ThreadSanitizer runs). On x86-64 these are plain moves. */
#define TIMELINE_TEXT_WORDS (TIMELINE_TEXT / 8)
struct timeline_rec {
    _Atomic uint64_t seq; /* claim number + 1 once published; 0 = empty */
    _Atomic int64_t t_us; /* since timeline_init */
    _Atomic int64_t a, b, c;
    _Atomic uint32_t kind_lane; /* kind << 16 | (uint16_t)lane */
    _Atomic uint64_t text[TIMELINE_TEXT_WORDS];
};

#define RLX memory_order_relaxed
_Static_assert(TIMELINE_TEXT % 8 == 0, "text is stored in whole words");

/* Does the word hold a zero byte (the string's end)? */
static bool has_nul(uint64_t v)
{
    return ((v - 0x0101010101010101ull) & ~v & 0x8080808080808080ull) != 0;
}

struct timeline_ring {
    struct timeline_rec *r; /* mmap'd: untouched pages cost nothing */
    uint32_t len;           /* power of two */
    _Atomic uint64_t next;  /* claims so far */
    _Atomic uint64_t base;  /* claims before the current test began */
};

static struct {
    pthread_once_t once;
    bool on;
    const char *path;   /* from the environment; NULL: never written */
    uint64_t t0_ns;
    struct timeline_ring bulk, ctrl;

    pthread_mutex_t mu; /* guards the lane table's growth */
    char *lanes[TIMELINE_MAX_LANES];
    _Atomic int nlanes;
    /* Last reported (term << 1 | leader) + 1 per lane; 0 = none. */
    _Atomic int64_t last_state[TIMELINE_MAX_LANES];

    char test[128];
    uint64_t seed;
    char fail[4096];
} TL = {
    .once = PTHREAD_ONCE_INIT,
    .mu = PTHREAD_MUTEX_INITIALIZER,
};

/* The rings come from mmap, not malloc: lab 2's memory tests count the
 * whole malloc heap (labs/kvsrv/heapcount.c, like Go's HeapAlloc) against
 * limits meant for the student's server, and the tester's own recording
 * (several MiB of address space, zero pages until written) must not be
 * charged to it. Never unmapped: the record lives as long as the test.
 *
 * Transparent huge pages where the kernel offers them: a full ring is
 * ~3,500 small pages, and taking a fault for each as the ring fills (and
 * tearing them down at exit) was most of what recording cost a test
 * process; with 2 MiB pages it is a handful. The mapping is aligned by
 * hand because huge pages only back 2 MiB-aligned ranges. */
#define RING_HUGE (2u << 20)
static void ring_alloc(struct timeline_ring *g, uint32_t len)
{
    size_t bytes = (size_t)len * sizeof(*g->r);
    void *p = mmap(NULL, bytes + RING_HUGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        abort();
    uintptr_t a = ((uintptr_t)p + RING_HUGE - 1) & ~(uintptr_t)(RING_HUGE - 1);
#ifdef MADV_HUGEPAGE
    (void)madvise((void *)a, bytes, MADV_HUGEPAGE); /* a hint: may fail */
#endif
    g->r = (struct timeline_rec *)a;
    g->len = len;
}

static void timeline_init_once(void)
{
    const char *p = getenv("LAB_TIMELINE");
    TL.on = !(p && strcmp(p, "off") == 0);
    TL.path = (p && *p && TL.on) ? p : NULL;
    /* The debug log counts milliseconds from its own init: start both
     * clocks together so LABLOG lines line up with the events. */
    log_init();
    TL.t0_ns = clock_now_ns();
    if (TL.on) {
        ring_alloc(&TL.bulk, TIMELINE_BULK_LEN);
        ring_alloc(&TL.ctrl, TIMELINE_CTRL_LEN);
    }
}

void timeline_init(void) { pthread_once(&TL.once, timeline_init_once); }

bool timeline_enabled(void)
{
    timeline_init();
    return TL.on;
}

/* A new test's record starts after the claims made so far. The slots are
 * not cleared (that touched every page of both rings): a slot holds claim
 * n exactly when its seq is n + 1, so older claims are never mistaken for
 * the new test's. */
static void ring_restart(struct timeline_ring *g)
{
    atomic_store(&g->base, atomic_load(&g->next));
}

void timeline_test_begin(const char *name, uint64_t seed)
{
    if (!timeline_enabled())
        return;
    /* Several tests in one process (not the runner's way): each record
     * holds only its own test's events. */
    ring_restart(&TL.bulk);
    ring_restart(&TL.ctrl);
    for (int i = 0; i < TIMELINE_MAX_LANES; i++)
        atomic_store(&TL.last_state[i], 0);
    snprintf(TL.test, sizeof(TL.test), "%s", name);
    TL.seed = seed;
    TL.fail[0] = '\0';
}

int timeline_lane(const char *name)
{
    if (!timeline_enabled() || !name)
        return -1;
    int n = atomic_load(&TL.nlanes);
    for (int i = 0; i < n; i++)
        if (strcmp(TL.lanes[i], name) == 0)
            return i;
    pthread_mutex_lock(&TL.mu);
    n = atomic_load(&TL.nlanes);
    int id = -1;
    for (int i = 0; i < n && id < 0; i++)
        if (strcmp(TL.lanes[i], name) == 0)
            id = i;
    if (id < 0 && n < TIMELINE_MAX_LANES) {
        TL.lanes[n] = strdup(name);
        if (!TL.lanes[n])
            abort();
        atomic_store(&TL.nlanes, n + 1); /* publishes lanes[n] */
        id = n;
    }
    pthread_mutex_unlock(&TL.mu);
    return id;
}

void timeline_event(enum timeline_kind kind, int lane, int64_t a, int64_t b,
                    int64_t c, const char *text)
{
    if (!timeline_enabled())
        return;
    struct timeline_ring *g = kind >= TIMELINE_END_NEW ? &TL.ctrl : &TL.bulk;
    uint64_t n = atomic_fetch_add_explicit(&g->next, 1, memory_order_relaxed);
    struct timeline_rec *r = &g->r[n & (g->len - 1)];
    /* Unpublish first, so a reader never pairs the old seq with new
     * fields (the writer of the failure re-checks seq after copying). */
    atomic_store_explicit(&r->seq, 0, RLX);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&r->t_us, (int64_t)((clock_now_ns() - TL.t0_ns) / 1000), RLX);
    atomic_store_explicit(&r->a, a, RLX);
    atomic_store_explicit(&r->b, b, RLX);
    atomic_store_explicit(&r->c, c, RLX);
    atomic_store_explicit(&r->kind_lane,
                          (uint32_t)kind << 16 | (uint16_t)(int16_t)lane, RLX);
    uint64_t w[TIMELINE_TEXT_WORDS] = {0};
    if (text)
        memcpy(w, text, strnlen(text, TIMELINE_TEXT - 1));
    for (int i = 0; i < TIMELINE_TEXT_WORDS; i++) {
        atomic_store_explicit(&r->text[i], w[i], RLX);
        if (has_nul(w[i]))
            break; /* the rest is never read */
    }
    atomic_store_explicit(&r->seq, n + 1, memory_order_release);
}

void timeline_state(const char *lane, int64_t term, bool leader)
{
    int id = timeline_lane(lane);
    if (id < 0)
        return;
    int64_t v = (term * 2 + (leader ? 1 : 0)) + 1;
    if (atomic_exchange(&TL.last_state[id], v) != v)
        timeline_event(TIMELINE_STATE, id, term, leader, 0, NULL);
}

void timeline_end_owner(const char *endname, const char *lane)
{
    timeline_event(TIMELINE_END_OWNER, timeline_lane(lane), 0, 0, 0, endname);
}

void timeline_op(int cli, const char *op, const char *key, const char *val,
                 int64_t start_ns, int64_t end_ns)
{
    if (!timeline_enabled())
        return;
    char t[TIMELINE_TEXT];
    snprintf(t, sizeof(t), "c%d %s %s %s", cli, op, key, val ? val : "");
    timeline_event(TIMELINE_OP, timeline_lane("clients"),
                   (end_ns - start_ns) / 1000, 1, cli, t);
}

/* Text fields end the line: keep them on one line. */
static void put_text(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
}

static void write_ring(FILE *f, const char *name, struct timeline_ring *g)
{
    uint64_t next = atomic_load(&g->next);
    uint64_t first = next > g->len ? next - g->len : 0;
    uint64_t base = atomic_load(&g->base);
    if (first < base)
        first = base;
    /* Counted from the test's start: "first" is how many of its events
     * the ring no longer holds. */
    fprintf(f, "ring %s %" PRIu64 " %" PRIu64 "\n", name, next - base,
            first - base);
    for (uint64_t n = first; n < next; n++) {
        struct timeline_rec *src = &g->r[n & (g->len - 1)];
        if (atomic_load_explicit(&src->seq, memory_order_acquire) != n + 1)
            continue; /* not yet published, or overwritten meanwhile */
        int64_t t_us = atomic_load_explicit(&src->t_us, RLX);
        int64_t a = atomic_load_explicit(&src->a, RLX);
        int64_t b = atomic_load_explicit(&src->b, RLX);
        int64_t c = atomic_load_explicit(&src->c, RLX);
        uint32_t kl = atomic_load_explicit(&src->kind_lane, RLX);
        uint64_t w[TIMELINE_TEXT_WORDS + 1] = {0}; /* + a NUL word */
        for (int i = 0; i < TIMELINE_TEXT_WORDS; i++) {
            w[i] = atomic_load_explicit(&src->text[i], RLX);
            if (has_nul(w[i]))
                break;
        }
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&src->seq, RLX) != n + 1)
            continue; /* rewritten while we read it */
        char text[sizeof(w)];
        memcpy(text, w, sizeof(w));
        text[TIMELINE_TEXT - 1] = '\0';
        fprintf(f, "%" PRId64 " %d %d %" PRId64 " %" PRId64 " %" PRId64 " ",
                t_us, (int)(kl >> 16), (int)(int16_t)(kl & 0xffff), a, b, c);
        put_text(f, text);
        fputc('\n', f);
    }
}

const char *timeline_fail(const char *file, int line, const char *msg)
{
    if (!timeline_enabled())
        return NULL;
    if (file)
        snprintf(TL.fail, sizeof(TL.fail), "%s:%d: %s", file, line, msg);
    else
        snprintf(TL.fail, sizeof(TL.fail), "%s", msg);
    timeline_event(TIMELINE_FAIL, -1, 0, 0, 0, NULL);
    if (!TL.path)
        return NULL;
    FILE *f = fopen(TL.path, "w");
    if (!f)
        return NULL;
    setvbuf(f, NULL, _IOFBF, 1 << 16);
    fprintf(f, "# lab timeline v1\n");
    fprintf(f, "test %s\nseed %" PRIu64 "\n", TL.test, TL.seed);
    fputs("fail ", f);
    put_text(f, TL.fail);
    fputc('\n', f);
    int n = atomic_load(&TL.nlanes);
    for (int i = 0; i < n; i++)
        fprintf(f, "lane %d %s\n", i, TL.lanes[i]);
    write_ring(f, "ctrl", &TL.ctrl);
    write_ring(f, "bulk", &TL.bulk);
    bool ok = fclose(f) == 0;
    return ok ? TL.path : NULL;
}
