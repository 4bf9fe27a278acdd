/* mr.h - MapReduce (lab 1): coordinator, worker and sequential runner.
 *
 * The three programs (mrcoordinator, mrworker, mrsequential) are thin
 * mains over this API; the app ABI they load is in mr/mr_app.h.
 *
 * Job layout, as in 6.5840: one map task per input file, nReduce reduce
 * tasks (10 by default). Map task X writes intermediate files mr-X-Y
 * (Y = ihash(key) % nReduce) and reduce task Y writes mr-out-Y, one line
 * "<key> <value>\n" per distinct key in sorted key order. All files are
 * written in the current directory of the process (a directory shared by
 * every worker), through a temporary file (mr-tmp-*) renamed into place
 * when complete, so a crashed or duplicate task never exposes a partial
 * file. Intermediate record format: see mr_internal.h. (The distributed
 * mode, where nothing is shared but the network, is mr/dist.h.)
 *
 * Coordinator and workers talk msgpack-rpc (rpc/rpc.h) over TCP or a unix
 * socket; the service is "Coordinator" with methods GetTask, TaskDone and
 * TaskFailed (fields in coordinator.c). */
#ifndef MR_MR_H_
#define MR_MR_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mr/mr_app.h"

#define MR_DEFAULT_NREDUCE 10
#define MR_DEFAULT_ADDR "127.0.0.1:5840"
/* Environment variable naming the coordinator address (flags override). */
#define MR_ADDR_ENV "MR_COORDINATOR"
/* A task not reported done within this time is given to another worker. */
#define MR_DEFAULT_TASK_TIMEOUT_MS 10000
/* A task reported failed this many times fails the whole job. */
#define MR_DEFAULT_MAX_FAILURES 3

/* 6.5840's ihash: FNV-1a 32-bit & 0x7fffffff; bucket = ihash % nReduce. */
uint32_t mr_ihash(const char *key, size_t len);

/* ------------------------------------------------------------------------
 * Apps (plugins) */
struct mr_app {
    void *handle;
    mr_map_fn map;
    mr_reduce_fn reduce;
};

/* dlopen path (a bare name is taken relative to the current directory, as
 * Go's plugin.Open does) and look up Map and Reduce. On failure returns
 * ERR_NOTFOUND and writes 6.5840's message into msg ("cannot load plugin
 * X: why", "cannot find Map in X", "cannot find Reduce in X"). */
int mr_app_load(struct mr_app *app, const char *path, char *msg, size_t n);
void mr_app_unload(struct mr_app *app);

/* ------------------------------------------------------------------------
 * Coordinator */
struct mr_coord;

struct mr_coord_opts {
    int nreduce;              /* 0 means MR_DEFAULT_NREDUCE */
    uint64_t task_timeout_ms; /* 0 means MR_DEFAULT_TASK_TIMEOUT_MS */
    int max_failures;         /* 0 means MR_DEFAULT_MAX_FAILURES */
};

/* A coordinator for one job over files (copied). Does no I/O. Returns owned
 * (free with mr_coord_free), NULL if nfiles < 1 or opts are invalid. */
struct mr_coord *mr_coord_new(const char *const *files, int nfiles,
                              const struct mr_coord_opts *opts);
/* Serve the Coordinator RPC service on addr ("host:port", port 0 picks a
 * free one, or "unix:/path"). 0, or ERR_EXISTS if a coordinator already
 * answers on that unix socket, or the RPC layer's ERR_ADDR/ERR_IO. */
int mr_coord_listen(struct mr_coord *c, const char *addr);
/* The bound address (borrowed; "" before listen). */
const char *mr_coord_addr(const struct mr_coord *c);
/* 6.5840's Done(): true once every reduce output is final. */
bool mr_coord_done(struct mr_coord *c);
/* True once the job failed (a task failed max_failures times); msg (may be
 * NULL) receives the reason. */
bool mr_coord_failed(struct mr_coord *c, char *msg, size_t n);
/* Block up to timeout_ms until the job is done or failed. True if so. */
bool mr_coord_wait(struct mr_coord *c, uint64_t timeout_ms);
/* Stop serving (waking blocked handlers), free everything. */
void mr_coord_free(struct mr_coord *c);

/* ------------------------------------------------------------------------
 * Worker */
struct mr_worker_opts {
    const char *addr;      /* coordinator address (NULL: addr_file) */
    const char *addr_file; /* read the address from this file instead */
    /* The worker exits (status 0, "job done") once the coordinator has been
     * unreachable this long; 0 means 3000. */
    uint64_t gone_ms;
    /* If not NULL, counts of the tasks this worker completed. */
    struct mr_worker_stats *stats;
};

struct mr_worker_stats {
    int maps, reduces;
};

/* Run tasks until the coordinator says the job is over (0) or has been
 * unreachable for gone_ms (0). A task that cannot be done (unreadable
 * input, app failure, I/O error) is reported to the coordinator and the
 * function returns ERR_IO/ERR_REMOTE after printing why to stderr. */
int mr_worker_run(const struct mr_app *app, const struct mr_worker_opts *o);

/* Map task `id` over `file`: writes mr-<id>-<0..nreduce-1> in the current
 * directory. 0 or a negative code with why in msg. */
int mr_do_map(const struct mr_app *app, int id, const char *file, int nreduce,
              char *msg, size_t n);
/* Reduce task `id`: reads mr-<0..nmap-1>-<id>, writes mr-out-<id>. */
int mr_do_reduce(const struct mr_app *app, int id, int nmap, char *msg,
                 size_t n);

/* ------------------------------------------------------------------------
 * Sequential reference (mrsequential): map every file, sort all pairs by
 * key, reduce, write out_path ("mr-out-0"). 0 or a negative code with why
 * in msg. */
int mr_sequential(const struct mr_app *app, const char *const *files,
                  int nfiles, const char *out_path, char *msg, size_t n);

#endif /* MR_MR_H_ */
