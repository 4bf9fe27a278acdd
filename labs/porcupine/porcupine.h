/* porcupine.h - linearizability checker: Porcupine's algorithm in C.
 *
 * The KV tests record every client operation (what was asked, what came
 * back, when it was called and when it returned) and ask whether some
 * sequential order of those operations, consistent with real time, would
 * have produced exactly those results on a single copy of the data. This
 * is the checker of the 6.5840 skeleton (graded-tests.md §8): Wing & Gong
 * backtracking search with Lowe's memoization over (linearized set, state),
 * history split per key (P-compositionality), partitions searched in
 * parallel threads under a time budget. On Illegal it can write a
 * self-contained HTML page showing the per-client timeline, the longest
 * linearizable prefix and the illegal next steps.
 *
 * Typical use in a KV test:
 *
 *     struct porcupine_history *h = porcupine_kv_history_new();
 *     ...each client thread, around each clerk call:
 *     int64_t t0 = porcupine_now_ns();
 *     char *v = kv_get(ck, key);
 *     porcupine_kv_record(h, client, PORCUPINE_KV_GET, key, "", v,
 *                         t0, porcupine_now_ns());
 *     ...after the clients stopped:
 *     size_t n;
 *     const struct porcupine_op *ops = porcupine_history_ops(h, &n);
 *     if (porcupine_check_report(&porcupine_kv_model, ops, n, 1000) ==
 *         PORCUPINE_ILLEGAL)
 *         fail("history is not linearizable");
 *     porcupine_history_free(h);
 *
 * Ownership: operations *borrow* their inputs/outputs (the history
 * recorder owns them); a porcupine_info *borrows* the ops array given to
 * porcupine_check, which must outlive it. Models are immutable tables of
 * pure functions and may be called from several threads at once.
 *
 * An operation that never returned (its client was still waiting when the
 * test ended) has return_ns == PORCUPINE_NEVER and output NULL: it may take
 * effect at any point after its call, or never, and a model must accept any
 * response for it. */
#ifndef LABS_PORCUPINE_PORCUPINE_H_
#define LABS_PORCUPINE_PORCUPINE_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/buf.h"

/* Return time of an operation that never returned ("infinity"). */
#define PORCUPINE_NEVER INT64_MAX

enum porcupine_result {
    PORCUPINE_OK = 0,      /* linearizable */
    PORCUPINE_ILLEGAL = 1, /* some partition has no linearization */
    PORCUPINE_UNKNOWN = 2, /* the time budget ran out first */
};

/* "Ok", "Illegal", "Unknown" (Porcupine's names). */
const char *porcupine_result_name(enum porcupine_result r);

struct porcupine_op {
    int client_id;      /* >= 0; only the visualization uses it (lanes) */
    const void *input;  /* borrowed; model-specific */
    const void *output; /* borrowed; NULL if the op never returned */
    int64_t call_ns;    /* any monotonic clock, same for all ops */
    int64_t return_ns;  /* >= call_ns, or PORCUPINE_NEVER */
};

/* Bump allocator the checker hands to a model for its states. Everything
 * allocated from it lives until the check (or visualization) ends; the
 * checker rewinds it after a step whose result it does not keep, so a
 * step must not stash arena memory anywhere but in the state it returns. */
struct porcupine_arena;
/* 16-byte aligned; aborts on out-of-memory. */
void *porcupine_arena_alloc(struct porcupine_arena *a, size_t size);
/* For calling a model's init/step outside a check (tests, tools). Returns
 * owned; porcupine_arena_free releases everything allocated from it. */
struct porcupine_arena *porcupine_arena_new(void);
void porcupine_arena_free(struct porcupine_arena *a);

/* A sequential specification. States, inputs and outputs are opaque to the
 * checker. States must be immutable once returned (the search keeps old
 * ones on its stack and in its cache). Every callback must be thread-safe
 * (partitions are checked concurrently). */
struct porcupine_model {
    /* Optional (NULL: one partition). Split the history into independent
     * sub-histories: set part_of[i] in [0, nparts) for every op and return
     * nparts; partitions are presented in that order. */
    size_t (*partition)(const struct porcupine_op *ops, size_t n,
                        size_t *part_of);
    /* Initial state (from the arena, or static). */
    const void *(*init)(struct porcupine_arena *a);
    /* Is `output` a legal response to `input` in `state`? If so, set *next
     * to the resulting state (may be `state` itself). output NULL means the
     * op never returned: accept any response. */
    bool (*step)(struct porcupine_arena *a, const void *state,
                 const void *input, const void *output, const void **next);
    /* Optional (NULL: pointer equality). */
    bool (*equal)(const void *a, const void *b);
    /* Optional (NULL: all states hash alike). Equal states must hash
     * alike; a good hash keeps the memoization cache fast. */
    uint64_t (*hash)(const void *state);
    /* Append a one-line description of an operation / a state. */
    void (*describe_op)(const void *input, const void *output,
                        struct buf *out);
    void (*describe_state)(const void *state, struct buf *out);
    /* Optional: name a partition (for the visualization) from the input of
     * any operation in it, e.g. "key 'x'". */
    void (*describe_partition)(const void *input, struct buf *out);
};

/* What the search found, for the visualization and for tests. Opaque. */
struct porcupine_info;

/* Check ops[0..n) against the model. timeout_ms == 0 means no limit; when
 * the budget runs out the partitions still running are stopped and the
 * result is Unknown (unless one already finished Illegal).
 *
 * With info == NULL the check stops at the first illegal partition. With
 * info != NULL every partition runs to completion (or the timeout) and
 * records its longest linearizable prefixes (Porcupine's verbose mode);
 * *info is set to an owned object (free with porcupine_info_free) that
 * borrows `ops`. */
enum porcupine_result porcupine_check(const struct porcupine_model *model,
                                      const struct porcupine_op *ops,
                                      size_t n, uint64_t timeout_ms,
                                      struct porcupine_info **info);
void porcupine_info_free(struct porcupine_info *info);

/* Info accessors. Op numbers are indexes into the ops array. */
enum porcupine_result porcupine_info_result(const struct porcupine_info *info);
size_t porcupine_info_partitions(const struct porcupine_info *info);
/* Ok, Illegal, or Unknown (stopped by the timeout or never started). */
enum porcupine_result
porcupine_info_partition_result(const struct porcupine_info *info, size_t p);
/* The ops of partition p, in history order (borrowed, *n set). */
const size_t *porcupine_info_partition_ops(const struct porcupine_info *info,
                                           size_t p, size_t *n);
/* Distinct partial linearizations of partition p, longest first. For an
 * Ok partition there is exactly one, the full linearization. */
size_t porcupine_info_partials(const struct porcupine_info *info, size_t p);
const size_t *porcupine_info_partial(const struct porcupine_info *info,
                                     size_t p, size_t k, size_t *len);

/* Write the HTML visualization (self-contained: inline CSS/JS/SVG).
 * Returns 0 or ERR_IO. */
int porcupine_visualize_file(const struct porcupine_model *model,
                             const struct porcupine_info *info, FILE *f);
int porcupine_visualize(const struct porcupine_model *model,
                        const struct porcupine_info *info, const char *path);
/* Write it to a new file $TMPDIR/porcupine-XXXXXX.html (TMPDIR defaults to
 * /tmp) and print, as the Go tests do, "info: wrote history visualization
 * to <path>" (or the failure message). If path_out is not NULL it receives
 * the path (returns owned). Returns 0 or ERR_IO. */
int porcupine_visualize_tmp(const struct porcupine_model *model,
                            const struct porcupine_info *info,
                            char **path_out);

/* The 6.5840 tests' final step: check in verbose mode; on Illegal write
 * the visualization with porcupine_visualize_tmp; on Unknown print "info:
 * linearizability check timed out, assuming history is ok". The caller
 * fails the test on PORCUPINE_ILLEGAL. */
enum porcupine_result porcupine_check_report(const struct porcupine_model *model,
                                             const struct porcupine_op *ops,
                                             size_t n, uint64_t timeout_ms);

/* --- history recorder -------------------------------------------------
 * Thread-safe log of operations for tests whose clients run concurrently.
 * It owns every input and output given to it and frees them with the
 * destructors passed at creation (NULL: not freed). */
struct porcupine_history;

/* Monotonic nanoseconds (clock_now_ns) as the recorder's time base. */
int64_t porcupine_now_ns(void);

/* Returns owned; free with porcupine_history_free. */
struct porcupine_history *porcupine_history_new(void (*free_input)(void *),
                                                void (*free_output)(void *));
void porcupine_history_free(struct porcupine_history *h);
/* Record a finished op (takes input and output). Returns its op number. */
size_t porcupine_history_add(struct porcupine_history *h, int client_id,
                             void *input, void *output, int64_t call_ns,
                             int64_t return_ns);
/* Record the call of an op now (takes input); until porcupine_history_end
 * it counts as never returned. Returns its op number. */
size_t porcupine_history_begin(struct porcupine_history *h, int client_id,
                               void *input);
/* Record the return of op `id` now (takes output). */
void porcupine_history_end(struct porcupine_history *h, size_t id,
                           void *output);
/* The ops recorded so far (borrowed; valid until the next add/begin/end or
 * free). Do not call while other threads are still recording. */
const struct porcupine_op *porcupine_history_ops(struct porcupine_history *h,
                                                 size_t *n);

/* --- the KV model (models.KvModel) -------------------------------------
 * One partition per key, in sorted-key order; the state is one key's value,
 * initially "". get is legal iff it returned the current value; put
 * replaces it; append appends; append-returning-old-value (lab 2) is legal
 * iff it returned the value before appending. */
enum porcupine_kv_opcode {
    PORCUPINE_KV_GET = 0,
    PORCUPINE_KV_PUT = 1,
    PORCUPINE_KV_APPEND = 2,
    PORCUPINE_KV_APPEND_OLD = 3,
};

extern const struct porcupine_model porcupine_kv_model;

struct porcupine_kv_input;
struct porcupine_kv_output;

/* Owned copies of key and value (value is ignored for get; NULL = "").
 * Aborts on an unknown opcode. */
struct porcupine_kv_input *porcupine_kv_input_new(int op, const char *key,
                                                  const char *value);
/* Owned copy of the returned value (what get or append-old returned). */
struct porcupine_kv_output *porcupine_kv_output_new(const char *value);
/* Destructors, typed for porcupine_history_new. */
void porcupine_kv_input_free(void *input);
void porcupine_kv_output_free(void *output);

/* A recorder that owns KV inputs/outputs. */
struct porcupine_history *porcupine_kv_history_new(void);
/* Record a finished KV op. out_value: what get/append-old returned (NULL
 * for put/append, whose output is unused). */
size_t porcupine_kv_record(struct porcupine_history *h, int client_id, int op,
                           const char *key, const char *value,
                           const char *out_value, int64_t call_ns,
                           int64_t return_ns);
/* Two-phase form for ops that may never return. */
size_t porcupine_kv_begin(struct porcupine_history *h, int client_id, int op,
                          const char *key, const char *value);
void porcupine_kv_end(struct porcupine_history *h, size_t id,
                      const char *out_value);

#endif /* LABS_PORCUPINE_PORCUPINE_H_ */
