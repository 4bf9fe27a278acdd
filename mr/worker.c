/* worker.c - the MapReduce worker loop: ask the coordinator for a task, do
 * it, report it, until told to exit or the coordinator is gone.
 *
 * "Gone" follows the 6.5840 hint (a worker that cannot contact the
 * coordinator may assume the job is done): once calls have been failing
 * for gone_ms, the worker exits with status 0, or with an error if it never
 * reached a coordinator at all (a wrong address deserves a message). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "mr/mr.h"
#include "mr/mr_internal.h"
#include "rpc/rpc.h"

#define DEFAULT_GONE_MS 3000
#define RETRY_SLEEP_MS 100
/* Per-call bound; GetTask long-polls for at most 0.5 s on the server. */
#define CALL_TIMEOUT_MS 5000

struct task_reply {
    int kind, id, nmap, nreduce;
    char *file; /* owned */
};

struct report {
    int kind, id;
    const char *why;
};

static int enc_get_task(msgpack_packer *pk, const void *args)
{
    (void)args;
    msgpack_pack_map(pk, 1);
    rpc_pack_kv_i64(pk, "w", (int64_t)getpid());
    return 0;
}

static int dec_task(const msgpack_object *obj, void *out)
{
    struct task_reply *t = out;
    struct rpc_dec d;
    rpc_dec_init(&d, obj);
    t->kind = rpc_dec_int(&d, "k", MR_TASK_WAIT);
    t->id = rpc_dec_int(&d, "id", -1);
    t->nmap = rpc_dec_int(&d, "nm", 0);
    t->nreduce = rpc_dec_int(&d, "nr", 0);
    t->file = rpc_dec_strdup(&d, "f");
    if (d.err) {
        free(t->file);
        t->file = NULL;
        return d.err;
    }
    /* Validate before use: the coordinator is another process. */
    if ((t->kind == MR_TASK_MAP && (!t->file || t->nreduce < 1 ||
                                    t->nreduce > 1000000 || t->id < 0)) ||
        (t->kind == MR_TASK_REDUCE &&
         (t->nmap < 1 || t->nmap > 100000000 || t->id < 0)) ||
        t->kind < MR_TASK_WAIT || t->kind > MR_TASK_EXIT) {
        free(t->file);
        t->file = NULL;
        return ERR_BADARGS;
    }
    return 0;
}

static int enc_report(msgpack_packer *pk, const void *args)
{
    const struct report *r = args;
    msgpack_pack_map(pk, r->why ? 3 : 2);
    rpc_pack_kv_i64(pk, "k", r->kind);
    rpc_pack_kv_i64(pk, "id", r->id);
    if (r->why)
        rpc_pack_kv_cstr(pk, "why", r->why);
    return 0;
}

int mr_worker_run(const struct mr_app *app, const struct mr_worker_opts *o)
{
    uint64_t gone_ms = o->gone_ms ? o->gone_ms : DEFAULT_GONE_MS;
    char where[512];
    if (o->addr)
        snprintf(where, sizeof where, "%s", o->addr);
    else
        snprintf(where, sizeof where, "the address in %s", o->addr_file);
    struct rpc_end *end = NULL;
    uint64_t failing_since = 0;
    bool ever_reached = false;
    int last_err = 0, rc = 0;
    char msg[1024];

    /* Temporaries of workers that crashed here earlier: nobody else will
     * ever remove them (the names are random, never reused). */
    mr_tmp_sweep(NULL);
    for (;;) {
        if (!end) {
            char *a = o->addr ? xstrdup(o->addr) : mr_read_addr_file(o->addr_file);
            if (a) {
                int err = 0;
                end = rpc_end_new(a, &err);
                if (!end) {
                    fprintf(stderr, "mrworker: bad coordinator address %s: "
                            "%s\n", a, err_msg(err));
                    free(a);
                    return ERR_ADDR;
                }
                rpc_end_set_timeout(end, CALL_TIMEOUT_MS);
                free(a);
            } else {
                last_err = ERR_NOTFOUND;
            }
        }
        struct task_reply t = {0};
        int err = end ? rpc_call(end, "Coordinator.GetTask", enc_get_task,
                                 NULL, dec_task, &t)
                      : ERR_UNREACHABLE;
        if (err == ERR_NOMETHOD || err == ERR_BADARGS || err == ERR_PROTO) {
            fprintf(stderr, "mrworker: %s does not speak the coordinator "
                    "protocol: %s\n", where, err_msg(err));
            rc = err;
            break;
        }
        if (err != 0) {
            if (end)
                last_err = err;
            uint64_t now = clock_now_ms();
            if (!failing_since)
                failing_since = now;
            if (now - failing_since >= gone_ms) {
                if (ever_reached) {
                    log_info("MR", -1, "coordinator gone; exiting");
                    rc = 0;
                } else {
                    fprintf(stderr, "mrworker: cannot reach the coordinator "
                            "at %s: %s\n", where,
                            last_err == ERR_NOTFOUND && !end
                                ? "address file missing or empty"
                                : err_msg(last_err));
                    rc = ERR_UNREACHABLE;
                }
                break;
            }
            clock_sleep_ms(RETRY_SLEEP_MS);
            continue;
        }
        failing_since = 0;
        ever_reached = true;

        if (t.kind == MR_TASK_EXIT)
            break;
        if (t.kind == MR_TASK_WAIT)
            continue; /* the coordinator already waited for us */

        int trc;
        msg[0] = 0;
        if (t.kind == MR_TASK_MAP) {
            log_info("MR", -1, "map task %d: %s", t.id, t.file);
            trc = mr_do_map(app, t.id, t.file, t.nreduce, msg, sizeof msg);
        } else {
            log_info("MR", -1, "reduce task %d", t.id);
            trc = mr_do_reduce(app, t.id, t.nmap, msg, sizeof msg);
        }
        free(t.file);
        struct report r = {t.kind, t.id, trc ? msg : NULL};
        if (trc != 0) {
            /* Tell the coordinator so the task is re-issued at once (best
             * effort: otherwise it times out), and stop, like a crash. */
            fprintf(stderr, "mrworker: %s task %d failed: %s\n",
                    t.kind == MR_TASK_MAP ? "map" : "reduce", t.id, msg);
            rpc_call(end, "Coordinator.TaskFailed", enc_report, &r, NULL,
                     NULL);
            rc = trc;
            break;
        }
        if (o->stats) {
            if (t.kind == MR_TASK_MAP)
                o->stats->maps++;
            else
                o->stats->reduces++;
        }
        /* A lost report is harmless: the coordinator re-issues the task
         * after its timeout, and the next GetTask notices a dead one. */
        rpc_call(end, "Coordinator.TaskDone", enc_report, &r, NULL, NULL);
    }
    if (end) {
        rpc_end_shutdown(end);
        rpc_end_free(end);
    }
    mr_tmp_sweep(NULL); /* and those of workers that crashed meanwhile */
    return rc;
}
