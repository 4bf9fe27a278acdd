/* dist.h - MapReduce without a shared file system (mrcoordinator -D,
 * mrworker -D DIR): the MapReduce paper's design on the project's RPC.
 *
 * Inputs are split at line boundaries into map tasks of about split_bytes
 * (the paper's 16-64 MB; a line is never cut, so line-oriented apps give
 * the same result as mrsequential). Workers read their split from the
 * coordinator over RPC, keep map outputs in their own directory and serve
 * them to reducers over RPC (service "MRWorker", method Fetch, in chunks
 * of at most MR_DIST_FETCH_CHUNK bytes). The coordinator records which worker
 * holds each finished map task. Workers renew a lease with heartbeats; a
 * worker whose lease lapses, or from which a reducer reports a failed
 * fetch, is dead: its running tasks and its finished map tasks (their
 * output died with it) run again. Close to the end of a phase idle
 * workers run backup copies of tasks still in progress; the first
 * completion wins and outputs are renamed into place atomically, so a
 * duplicate is harmless. Reduce tasks sort externally within a memory
 * budget (mr/xsort.h) and write mr-out-Y into the worker's output
 * directory, fsynced.
 *
 * Coordinator RPC service "MRCoord" (msgpack maps):
 *   Register    {a: worker's Fetch address}        -> {w: id, ls: lease ms}
 *   Heartbeat   {w}                                -> {dead: bool}
 *   GetTask     {w}  -> {k: kind, id, nm, nr, f: file name, o: offset,
 *                        n: length (map), l: [address per map] (reduce),
 *                        dead: bool}
 *   ReadInput   {id: map task, o: offset, n: max}   -> {d: bytes}
 *   TaskDone    {w, k, id}                          -> {}
 *   TaskFailed  {w, k, id, why}                     -> {}
 *   FetchFailed {w, id: reduce task, m: map task, a: address} -> {}
 * Worker RPC service "MRWorker":
 *   Fetch       {m, r, o: offset, n: max}           -> {d: bytes, sz: size}
 *
 * Threads: both sides are thread-safe; the coordinator state is guarded by
 * one mutex, the worker runs tasks on its main thread and serves Fetch and
 * heartbeats on others. */
#ifndef MR_DIST_H_
#define MR_DIST_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mr/mr.h"

#define MR_DIST_DEFAULT_SPLIT (64u << 20)
/* Backups start once at most this fraction of a phase's tasks is left. */
#define MR_DIST_DEFAULT_BACKUP 0.1
#define MR_DIST_DEFAULT_LEASE_MS 3000
#define MR_DIST_DEFAULT_MEM (64u << 20)
/* Largest payload of one ReadInput reply (the map task holds its whole
 * split anyway) and of one Fetch reply (small: a reducer's buffers for it,
 * on both ends, count against its memory budget). */
#define MR_DIST_CHUNK (1u << 20)
#define MR_DIST_FETCH_CHUNK (256u << 10)

/* ------------------------------------------------------------------------
 * Splits */
struct mr_split {
    int file;            /* index into the input files */
    uint64_t off, len;   /* byte range of whole lines */
};

/* Cut each file into splits of about split_bytes ending after a newline
 * (or at end of file); an empty file gives one empty split so that Map
 * still sees it. Returns 0 and an owned array, or ERR_IO with errno set
 * and the file's name in msg. */
int mr_split_files(const char *const *files, int nfiles, uint64_t split_bytes,
                   struct mr_split **out, int *nout, char *msg, size_t n);

/* ------------------------------------------------------------------------
 * Coordinator */
struct mr_dcoord_opts {
    int nreduce;            /* 0: MR_DEFAULT_NREDUCE */
    uint64_t split_bytes;   /* 0: MR_DIST_DEFAULT_SPLIT */
    double backup_frac;     /* <0: default; 0: no backup tasks */
    uint64_t lease_ms;      /* 0: MR_DIST_DEFAULT_LEASE_MS */
    int max_failures;       /* 0: MR_DEFAULT_MAX_FAILURES */
};

struct mr_dcoord;
/* Split the inputs (reads them) and prepare the job. NULL with why in msg. */
struct mr_dcoord *mr_dcoord_new(const char *const *files, int nfiles,
                                const struct mr_dcoord_opts *o, char *msg,
                                size_t n);
/* As mr_coord_listen. */
int mr_dcoord_listen(struct mr_dcoord *c, const char *addr);
const char *mr_dcoord_addr(const struct mr_dcoord *c);
int mr_dcoord_nmap(const struct mr_dcoord *c);
/* As mr_coord_wait / mr_coord_failed. */
bool mr_dcoord_wait(struct mr_dcoord *c, uint64_t timeout_ms);
bool mr_dcoord_failed(struct mr_dcoord *c, char *msg, size_t n);
/* Counters for logs and tests: task executions started, backups started,
 * map tasks re-run because their worker died, workers declared dead. */
struct mr_dcoord_stats {
    int started, backups, reruns, dead;
};
void mr_dcoord_stats(struct mr_dcoord *c, struct mr_dcoord_stats *s);
void mr_dcoord_free(struct mr_dcoord *c);

/* ------------------------------------------------------------------------
 * Worker */
struct mr_dworker_opts {
    const char *addr, *addr_file; /* the coordinator, as mr_worker_opts */
    const char *dir;     /* map outputs (created if missing) */
    const char *out_dir; /* reduce outputs; NULL: dir */
    const char *listen;  /* Fetch server; NULL: "127.0.0.1:0" */
    const char *advertise; /* address given to others; NULL: bound one */
    size_t mem_budget;   /* reduce sort budget; 0: MR_DIST_DEFAULT_MEM */
    uint64_t gone_ms;    /* as mr_worker_opts */
    bool verbose;        /* per-task lines (with reduce peak RSS) on stderr */
    struct mr_worker_stats *stats;
};

/* Serve map outputs and run tasks until the job is over (0), or an error
 * (printed to stderr). */
int mr_dworker_run(const struct mr_app *app, const struct mr_dworker_opts *o);

#endif /* MR_DIST_H_ */
