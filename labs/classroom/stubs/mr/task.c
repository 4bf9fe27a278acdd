/* task.c - executing one map or one reduce task (the worker's real work).
 *
 * Lab 1: write these two functions (their contract is in mr/mr.h).
 *
 * Map: read the input file, call the app's Map, partition the emitted pairs
 * by mr_ihash(key) % nreduce into the intermediate files mr-<id>-<r>.
 * Reduce: read mr-<m>-<id> for every map task m, group the values by key,
 * call the app's Reduce once per key in sorted key order and write
 * "<key> <value>\n" lines to mr-out-<id>.
 *
 * mr/mr_internal.h has helpers: the intermediate record codec
 * (mr_rec_append, mr_rec_next), whole-file reads (mr_read_file) and output
 * files renamed into place when complete (mr_out_open ... mr_out_commit).
 * mr/sequential.c runs a whole job in one process: read it. */
#include "common/err.h"
#include "mr/mr.h"
#include "mr/mr_internal.h"

int mr_do_map(const struct mr_app *app, int id, const char *file, int nreduce,
              char *msg, size_t n)
{
    (void)app, (void)id, (void)nreduce;
    mr_msg(msg, n, "map of %s: not implemented", file);
    return ERR_IO;
}

int mr_do_reduce(const struct mr_app *app, int id, int nmap, char *msg,
                 size_t n)
{
    (void)app, (void)nmap;
    mr_msg(msg, n, "reduce task %d: not implemented", id);
    return ERR_IO;
}
